#!/usr/bin/env bash
# test_cli_redteam.sh — the twelfth session's attacks on the `cos` CLI, each
# a way it lost data: keys that name another object than the one listed
# (a leading "/" that libcos drops, "." and ".." segments that COS resolves),
# and --dryrun of rb and mb, which removed and made buckets. Every wait is for
# an event; `timeout` only keeps a regression from hanging the suite.
set -u
. "$(dirname "$0")/lib.sh"
COS=$COS_CLI_BIN
start_server
B=cos://red-1250000000
D=cos://redto-1250000000
echo one > "$TEST_TMP/one"
echo two > "$TEST_TMP/two"
check "mb" $COS mb $B
check "mb of a second bucket" $COS mb $D

# --- mv -r into a bucket's root: "p//x" is "/x" there, which libcos sends as
# "x"; "p/x" and "p//x" both landed on "x" and both sources were deleted
$COS cp "$TEST_TMP/one" $B/p/x -q
$COS cp "$TEST_TMP/two" $B/p//x -q
$COS mv -r $B/p $D >"$TEST_TMP/out" 2>"$TEST_TMP/err"; rc=$?
check "mv -r of p/x and p//x into a bucket's root fails (exit 1)" test $rc -eq 1
check "... says which key and why" grep -q "/x: UnsafeName" "$TEST_TMP/err"
check "... p//x stays where it was" bash -c "$COS cat $B/p//x | grep -qx two"
check "... p/x moved as itself" bash -c "$COS cat $D/x | grep -qx one && ! $COS stat $B/p/x"
check "... nothing else was made in the destination" bash -c "test \"\$($COS ls $D -r)\" = '$D/x'"
$COS cp -r $B/p $D >/dev/null 2>&1; rc=$?
check "cp -r of p//x into a bucket's root fails too" test $rc -eq 1
check "... and leaves x as it was" bash -c "$COS cat $D/x | grep -qx one"

# --- "." and ".." segments: COS reads "q/a/../y" as "q/y" in every path
# (GET, PUT, DELETE, a copy source), so mv -r of it would copy and delete
# another object than the one listed
$COS cp "$TEST_TMP/one" "$B/q/a/../y" -q
$COS cp "$TEST_TMP/two" "$B/q/./z" -q
$COS cp "$TEST_TMP/one" "$B/q/ok" -q
$COS mv -r $B/q $B/moved >"$TEST_TMP/out" 2>"$TEST_TMP/err"; rc=$?
check "mv -r of keys with . and .. segments fails (exit 1)" test $rc -eq 1
check "... names a/../y" grep -q "a/\.\./y: UnsafeName" "$TEST_TMP/err"
check "... names ./z" grep -q "\./z: UnsafeName" "$TEST_TMP/err"
check "... q/a/../y stays" $COS stat "$B/q/a/../y"
check "... q/./z stays" $COS stat "$B/q/./z"
check "... nothing was made for them" bash -c "test \"\$($COS ls $B/moved/ -r)\" = '$B/moved/ok'"
check "... the plain key moved" bash -c "! $COS stat $B/q/ok"
$COS cp -r "$TEST_TMP/src" $B/./dotroot >/dev/null 2>"$TEST_TMP/err"; rc=$?
check "cp -r into a prefix with a . segment is refused (exit 2)" test $rc -eq 2
check "... and says which prefix" grep -q "dotroot/ has a . or .. segment" "$TEST_TMP/err"
# a bulk delete names keys exactly (not a path): sync --delete still removes them
mkdir -p "$TEST_TMP/src"
echo keep > "$TEST_TMP/src/y"
$COS cp "$TEST_TMP/one" "$B/s/a/../y" -q
check "sync --delete of a tree" bash -c "$COS sync $TEST_TMP/src $B/s --delete -q"
check "... deleted s/a/../y, which the source lacks" bash -c "test \"\$($COS ls $B/s/ -r)\" = '$B/s/y'"
check "... and kept s/y" bash -c "$COS cat $B/s/y | grep -qx keep"

# --- every leading "/" is dropped: cos://b///x is the object x (libcos drops
# the second one), so mv of it onto x is a move onto itself
$COS cp "$TEST_TMP/one" $B/x -q
$COS mv $B///x $B/x >/dev/null 2>"$TEST_TMP/err"; rc=$?
check "mv cos://b///x cos://b/x is refused as a move onto itself (exit 2)" test $rc -eq 2
check "... says why" grep -q "same object" "$TEST_TMP/err"
check "... x survives" bash -c "$COS cat $B/x | grep -qx one"
check "cat cos://b///x reads x" bash -c "$COS cat $B///x | grep -qx one"

# --- a tree deeper than the walk goes (255 directories) was skipped as a
# symlink loop: cp -r exited 0 without its files, sync --delete deleted their copies
d="$TEST_TMP/deep"
for _ in $(seq 1 260); do d="$d/d"; done
mkdir -p "$d"
echo deep > "$d/f"
echo top > "$TEST_TMP/deep/top"
rel=${d#"$TEST_TMP/deep/"}
$COS cp -r "$TEST_TMP/deep" $B/deep -q 2>"$TEST_TMP/err"; rc=$?
check "cp -r of a tree too deep to walk fails (exit 1)" test $rc -eq 1
check "... and says it is too deep, not a loop" bash -c "grep -q 'directories deep; not read' $TEST_TMP/err && ! grep -q 'symlink loop' $TEST_TMP/err"
$COS cp "$d/f" "$B/deep/$rel/f" -q
$COS sync "$TEST_TMP/deep" $B/deep --delete -q 2>/dev/null; rc=$?
check "sync --delete of it fails (exit 1)" test $rc -eq 1
check "... and deletes nothing it could not list" bash -c "$COS cat '$B/deep/$rel/f' | grep -qx deep"

# --- an empty local path ("$DIR" with DIR unset) names nothing: a tree
# download joined it as "/KEY", the root directory
EMPTY=""
for cmd in "cp -r" "mv -r" "sync" "sync --delete" "cp" "mv"; do
  src=$B/p; case $cmd in cp|mv) src=$B/x ;; esac
  $COS $cmd $src "$EMPTY" >/dev/null 2>"$TEST_TMP/err"; rc=$?
  check "$cmd into an empty local path is refused (exit 2)" test $rc -eq 2
  check "... and says why" grep -q "empty path" "$TEST_TMP/err"
done
check "... the source stays" bash -c "$COS cat $B/x | grep -qx one"
$COS cp "$EMPTY" $B/fromempty >/dev/null 2>"$TEST_TMP/err"; rc=$?
check "cp from an empty local path is refused (exit 2)" test $rc -eq 2

# --- --dryrun does nothing: rb --dryrun removed the bucket
E=cos://empty-1250000000
check "mb of an empty bucket" $COS mb $E -q
check "rb --dryrun says what it would do" bash -c "$COS rb $E --dryrun | grep -qx '(dryrun) removed $E'"
check "... and keeps the bucket" bash -c "$COS ls | grep -qx $E"
check "rb --dryrun --output json says dryrun" bash -c "$COS rb $E --dryrun --output json | grep -q '\"dryrun\":true'"
check "... and keeps the bucket" bash -c "$COS ls | grep -qx $E"
check "mb --dryrun makes nothing" bash -c "$COS mb cos://notmade-1250000000 --dryrun | grep -q '(dryrun) made' && ! $COS ls | grep -q notmade"
# config --dryrun rewrote the profile
printf '[default]\nsecret_id = keepid\nsecret_key = keepkey\n' > "$TEST_TMP/cfg"
cp "$TEST_TMP/cfg" "$TEST_TMP/cfg.before"
printf 'newid\nnewkey\n\n\n' | COS_CONFIG="$TEST_TMP/cfg" $COS config --dryrun >"$TEST_TMP/out" 2>/dev/null; rc=$?
check "config --dryrun exits 0 and says dryrun" bash -c "test $rc -eq 0 && grep -q '(dryrun)' $TEST_TMP/out"
check "... and leaves the file as it was" cmp "$TEST_TMP/cfg" "$TEST_TMP/cfg.before"
# rb --force --dryrun aborted every unfinished upload, then removed the bucket
M=cos://mpu-1250000000
check "mb of a bucket with an unfinished upload" $COS mb $M -q
mkfifo "$TEST_TMP/fifo"
# (cos itself in the background, not under timeout: the kill must reach it;
# were it to die early, head ends on SIGPIPE)
$COS cp - $M/big --chunk-size 1048576 <"$TEST_TMP/fifo" >/dev/null 2>&1 &
cpid=$!
exec 3>"$TEST_TMP/fifo"
# all of it taken means part 2 was read, which starts once part 1 is stored
head -c $((2 * 1048576 + 200000)) /dev/zero >&3 2>/dev/null
kill -9 $cpid 2>/dev/null; wait $cpid 2>/dev/null
exec 3>&-
check "the killed upload stored no object" bash -c "! $COS stat $M/big"
$COS cp "$TEST_TMP/one" $M/obj -q
$COS rb $M >/dev/null 2>&1; rc=$?
check "the unfinished upload and the object keep the bucket (rb fails)" test $rc -ne 0
check "rb --force --dryrun lists what it would delete" bash -c "$COS rb $M --force --dryrun | grep -q '(dryrun) delete: $M/obj'"
check "... keeps the bucket" bash -c "$COS ls | grep -qx $M"
check "... keeps the object" $COS stat $M/obj
$COS rm $M/obj -q
$COS rb $M >"$TEST_TMP/out" 2>&1; rc=$?
check "... keeps the unfinished upload (rb without --force still refused)" test $rc -ne 0
check "rb --force removes it all" $COS rb $M --force -q
check "... the bucket is gone" bash -c "! $COS ls | grep -q mpu-"

# --- the same through the S3 dialect (s3:// URLs, SigV4) against cos-server
export AWS_ACCESS_KEY_ID=$COS_SECRET_ID AWS_SECRET_ACCESS_KEY=$COS_SECRET_KEY AWS_ENDPOINT_URL="http://$COS_ENDPOINT"
S=s3://red-1250000000
$COS cp "$TEST_TMP/one" $S/s3p/x -q
$COS cp "$TEST_TMP/two" $S/s3p//x -q
$COS mb s3://s3to-1250000000 -q
$COS mv -r $S/s3p s3://s3to-1250000000 >/dev/null 2>&1; rc=$?
check "s3: mv -r of p/x and p//x into a bucket's root fails (exit 1)" test $rc -eq 1
check "... p//x stays where it was" bash -c "$COS cat $S/s3p//x | grep -qx two"
check "... p/x moved as itself" bash -c "$COS cat s3://s3to-1250000000/x | grep -qx one"
$COS rb s3://s3to-1250000000 --force --dryrun >/dev/null 2>&1
check "s3: rb --force --dryrun keeps the bucket and its object" bash -c "$COS cat s3://s3to-1250000000/x | grep -qx one"

finish

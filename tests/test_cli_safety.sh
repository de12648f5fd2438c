#!/usr/bin/env bash
# test_cli_safety.sh — no cos command destroys data it was not asked to, and
# every bulk operation ends: same-object moves refused, a prefix means KEY/,
# a key with \r is listed and deleted, symlink loops are not followed, and
# against a hostile server (tests/support/hostile_cos.js) a listing whose
# marker does not advance, a bulk delete that deletes nothing and <Error>
# entries all stop the command with an error. `timeout` only keeps a
# regression from hanging the suite; no assertion depends on time.
set -u
. "$(dirname "$0")/lib.sh"
COS=$COS_CLI_BIN
start_server
B=cos://safety-1250000000
echo x > "$TEST_TMP/f"
check "mb" $COS mb $B

# --- mv onto the same object
$COS cp "$TEST_TMP/f" $B/docs/x -q
$COS mv $B/docs/x $B/docs/ >/dev/null 2>"$TEST_TMP/err"; rc=$?
check "mv onto its own prefix is refused (exit 2)" test $rc -eq 2
check "mv onto itself says why" grep -q "same object" "$TEST_TMP/err"
check "the object survives mv onto itself" $COS stat $B/docs/x
$COS mv $B/docs/x $B/docs/x >/dev/null 2>&1; rc=$?
check "mv onto the same key is refused" test $rc -eq 2
check "the object survives mv onto the same key" $COS stat $B/docs/x
# a leading "/" of a key is dropped (libcos, as the SDKs): //x is the object x,
# which mv copied onto itself and then deleted
$COS mv $B/docs/x $B//docs/x >/dev/null 2>&1; rc=$?
check "mv onto the same key spelt with a leading / is refused" test $rc -eq 2
check "the object survives mv onto //its key" $COS stat $B/docs/x
$COS mv $B//docs/x $B/docs/x >/dev/null 2>&1; rc=$?
check "mv from the same key spelt with a leading / is refused" test $rc -eq 2
check "the object survives mv from //its key" $COS stat $B/docs/x
check "//KEY names the object KEY for every command" bash -c "$COS ls $B//docs/ | grep -q 'docs/x'"
$COS rm -r --force $B// >/dev/null 2>&1; rc=$?
check "rm -r cos://b// is the whole bucket: refused without --all" test $rc -eq 2
check "nothing deleted by rm -r cos://b//" $COS stat $B/docs/x
$COS mv -r $B/docs $B/docs/sub >/dev/null 2>&1; rc=$?
check "mv -r of a prefix into itself is refused" test $rc -eq 2
check "nothing moved by the refused mv -r" bash -c "$COS ls $B -r | grep -qx 'cos://safety-1250000000/docs/x'"
$COS cp $B/docs/x $B/docs/ >/dev/null 2>&1; rc=$?
check "cp onto itself without changes is refused" test $rc -eq 2
check "cp onto itself with --meta rewrites the metadata" bash -c "$COS cp $B/docs/x $B/docs/x --meta k=v -q && $COS stat $B/docs/x --output json | grep -q '\"k\":\"v\"'"

# --- rm -r cos://b/logs means logs/
for k in logs/1 logs/sub/2 logs-archive/3 logs2/4 logsheet.xlsx logs; do $COS cp "$TEST_TMP/f" "$B/$k" -q; done
check "du counts only logs/" bash -c "$COS du $B/logs | grep -q '^2 objects'"
check "rm -r --dryrun deletes nothing" bash -c "$COS rm -r $B/logs --force --dryrun | grep -q '(dryrun) delete: cos://safety-1250000000/logs/1' && $COS stat $B/logs/1"
check "rm -r logs" $COS rm -r $B/logs --force
for k in logs-archive/3 logs2/4 logsheet.xlsx logs; do
  check "rm -r logs kept $k" $COS stat "$B/$k"
done
$COS stat $B/logs/1 >/dev/null 2>&1; check "rm -r logs removed logs/1" test $? -eq 4
$COS stat $B/logs/sub/2 >/dev/null 2>&1; check "rm -r logs removed logs/sub/2" test $? -eq 4
check "rm -r asks first without --force" bash -c "$COS rm -r $B/logs2 </dev/null; test \$? -eq 2 && $COS stat $B/logs2/4"
# --- rm -r with no key is the whole bucket: `rm -r --force "cos://b/$DIR"` with DIR empty
EMPTY=""
for u in "$B" "$B/" "$B/$EMPTY"; do
  $COS rm -r --force "$u" >/dev/null 2>"$TEST_TMP/err"; rc=$?
  check "rm -r --force $u without --all is refused (exit 2)" test $rc -eq 2
  check "... and says why" grep -q "every object in the bucket" "$TEST_TMP/err"
  check "... and deletes nothing" $COS stat $B/logs2/4
done
check "rm -r --all of a whole bucket works" bash -c "$COS mb cos://wipe-1250000000 && $COS cp $TEST_TMP/f cos://wipe-1250000000/a/b -q && $COS rm -r --force --all cos://wipe-1250000000 -q && test -z \"\$($COS ls cos://wipe-1250000000 -r)\""
check "rm -r --exclude keeps what is excluded" bash -c "$COS cp $TEST_TMP/f $B/ex/a.log -q && $COS cp $TEST_TMP/f $B/ex/b.txt -q && $COS rm -r $B/ex --force --exclude '*.log' -q && $COS stat $B/ex/a.log && ! $COS stat $B/ex/b.txt"

# --- listings and bulk deletes over more than one page (1000 keys)
mkdir -p "$TEST_TMP/many"
for i in $(seq 1 1100); do echo $i > "$TEST_TMP/many/f$i"; done
check "cp -r of 1100 files" bash -c "$COS cp -r $TEST_TMP/many $B/many -q"
check "du pages through 1100 keys" bash -c "$COS du $B/many | grep -q '^1100 objects'"
check "sync pages through both sides" bash -c "$COS sync $TEST_TMP/many $B/many --size-only | grep -q '0 transferred (0 B), 1100 unchanged'"
check "rm -r deletes 1100 keys page by page" bash -c "$COS rm -r $B/many --force | grep -q 'rm: 1100 deleted, 0 failed'"
check "... all of them" bash -c "$COS du $B/many | grep -q '^0 objects'"

# --- a key with a carriage return is listed and deleted (it looped forever)
CR=$(printf 'cr/a\rb')
$COS cp "$TEST_TMP/f" "$B/$CR" -q
check "a \\r key is listed as it is" bash -c "$COS ls $B/cr/ --output json | node -e 'const a=JSON.parse(require(\"fs\").readFileSync(0));if(a.length!==1||a[0].key!==\"cr/a\\rb\")process.exit(1)'"
timeout 60 $COS rm -r $B/cr --force >"$TEST_TMP/out" 2>&1; rc=$?
check "rm -r of a \\r key ends, with success" test $rc -eq 0
check "rm -r reports the \\r key deleted" grep -q "1 deleted" "$TEST_TMP/out"
check "the \\r key is gone" bash -c "test \"\$($COS ls $B/cr/ -r)\" = ''"
CRF=$(printf 'lone\rkey')
$COS cp "$TEST_TMP/f" "$B/$CRF" -q
check "rm of one \\r key" $COS rm "$B/$CRF"
check "sync copes with a \\r key" bash -c "$COS cp $TEST_TMP/f '$B/crs/$CR' -q && timeout 60 $COS sync $B/crs $B/crs2 -q && $COS stat '$B/crs2/$CR'"

# --- symlink loops
mkdir -p "$TEST_TMP/tree/sub"; echo 1 > "$TEST_TMP/tree/sub/one"; ln -s .. "$TEST_TMP/tree/sub/up"; ln -s . "$TEST_TMP/tree/self"
timeout 120 $COS cp -r "$TEST_TMP/tree" $B/tree >"$TEST_TMP/out" 2>"$TEST_TMP/err"; rc=$?
check "cp -r over symlink loops ends" test $rc -eq 0
check "cp -r uploads the file once" bash -c "test \$($COS ls $B/tree/ -r | wc -l) -eq 1"
check "cp -r says it did not follow the loop" grep -q "symlink loop" "$TEST_TMP/err"
timeout 120 $COS sync "$TEST_TMP/tree" $B/tree2 -q 2>/dev/null; rc=$?
check "sync over symlink loops ends" test $rc -eq 0
check "sync uploads the file once" bash -c "test \$($COS ls $B/tree2/ -r | wc -l) -eq 1"

ln -s "$TEST_TMP/tree/sub/one" "$TEST_TMP/tree/link-to-one"
check "--no-follow-symlinks skips every symlink" bash -c "$COS cp -r $TEST_TMP/tree $B/tree3 --no-follow-symlinks -q 2>$TEST_TMP/err && test \$($COS ls $B/tree3/ -r | wc -l) -eq 1 && ! grep -q loop $TEST_TMP/err"
check "symlinks to files are followed by default" bash -c "$COS cp -r $TEST_TMP/tree $B/tree4 -q 2>/dev/null && $COS stat $B/tree4/link-to-one"

# --- sync --delete from an empty source is refused
mkdir -p "$TEST_TMP/empty"
$COS sync "$TEST_TMP/empty" $B/tree2 --delete >/dev/null 2>&1; rc=$?
check "sync --delete from an empty directory is refused" test $rc -eq 2
check "... and deleted nothing" $COS stat $B/tree2/sub/one
$COS sync "$TEST_TMP/missing" $B/tree2 --delete >/dev/null 2>&1; rc=$?
check "sync from a missing directory exits 4" test $rc -eq 4
check "... and deleted nothing" $COS stat $B/tree2/sub/one

# --- sync --delete into a whole bucket (no prefix: a script's "cos://b/$DIR/"
# with DIR empty) deletes every object the source lacks: refused without --all
mkdir -p "$TEST_TMP/one"; echo 1 > "$TEST_TMP/one/only"
$COS cp "$TEST_TMP/f" $B/bystander/keep -q
DIR=""
$COS sync "$TEST_TMP/one" "$B/$DIR/" --delete >/dev/null 2>"$TEST_TMP/err"; rc=$?
check "sync --delete into cos://b// (an empty prefix variable) is refused (exit 2)" test $rc -eq 2
check "sync --delete into a whole bucket says --all" grep -q -- "--all" "$TEST_TMP/err"
$COS sync "$TEST_TMP/one" "$B" --delete >/dev/null 2>&1; rc=$?
check "sync --delete into cos://b is refused (exit 2)" test $rc -eq 2
check "nothing of the bucket deleted by the refused syncs" $COS stat $B/bystander/keep
check "sync --delete --dryrun into a whole bucket shows what would go" bash -c \
  "$COS sync '$TEST_TMP/one' $B --delete --dryrun | grep -q '(dryrun) delete: $B/bystander/keep' && $COS stat $B/bystander/keep"
$COS rm $B/bystander/keep -q
# the same downward: "$DIR/" with DIR empty is the root directory (--dryrun:
# refused all the same, and a regression would delete nothing)
$COS sync $B/tree2 "$DIR/" --delete --dryrun >/dev/null 2>"$TEST_TMP/err"; rc=$?
check "sync --delete into / is refused (exit 2)" test $rc -eq 2
check "sync --delete into / says --all" grep -q -- "--all" "$TEST_TMP/err"
$COS mv -r "$DIR/" $B/everything --dryrun >/dev/null 2>"$TEST_TMP/err"; rc=$?
check "mv -r of / is refused (exit 2)" test $rc -eq 2
check "mv -r of / says --all" grep -q -- "--all" "$TEST_TMP/err"
# and mv -r of a whole bucket ("cos://b/$DIR" with DIR empty) empties it: every
# object copied, then deleted, as rm -r of the bucket would; --all, as rm -r wants
check "mb for mv -r of a whole bucket" $COS mb cos://mvall-1250000000
$COS cp "$TEST_TMP/f" cos://mvall-1250000000/keep/a -q
mkdir -p "$TEST_TMP/mvout"
for u in "cos://mvall-1250000000/$DIR" "cos://mvall-1250000000" "cos://mvall-1250000000//"; do
  $COS mv -r "$u" "$TEST_TMP/mvout/" >/dev/null 2>"$TEST_TMP/err"; rc=$?
  check "mv -r $u (a whole bucket) without --all is refused (exit 2)" test $rc -eq 2
  check "mv -r of a whole bucket says --all" grep -q -- "--all" "$TEST_TMP/err"
  check "nothing moved out of the bucket by mv -r $u" $COS stat cos://mvall-1250000000/keep/a
done
check "mv -r --dryrun of a whole bucket shows what would go" bash -c \
  "$COS mv -r cos://mvall-1250000000 '$TEST_TMP/mvout/' --dryrun | grep -q '(dryrun) move' && $COS stat cos://mvall-1250000000/keep/a"
check "mv -r --all of a whole bucket moves it" bash -c \
  "$COS mv -r --all cos://mvall-1250000000 '$TEST_TMP/mvout/' -q && test -f '$TEST_TMP/mvout/keep/a' && test -z \"\$($COS ls cos://mvall-1250000000 -r)\""

# --- sync --delete into a directory holding a symlink to another directory:
# what lies behind the link is outside the destination and is never deleted
mkdir -p "$TEST_TMP/ls-src" "$TEST_TMP/ls-outside" "$TEST_TMP/ls-dst"
echo a > "$TEST_TMP/ls-src/a"; echo keep > "$TEST_TMP/ls-outside/precious"
ln -s "$TEST_TMP/ls-outside" "$TEST_TMP/ls-dst/shared"
check "sync up a one-file tree" $COS sync "$TEST_TMP/ls-src" $B/ls -q
$COS sync $B/ls "$TEST_TMP/ls-dst" --delete >"$TEST_TMP/out" 2>"$TEST_TMP/err"; rc=$?
check "sync --delete down with a symlinked directory in the destination succeeds" test $rc -eq 0
check "... deletes nothing behind the symlink" test -f "$TEST_TMP/ls-outside/precious"
check "... says it did not descend it" grep -q "symlink to a directory" "$TEST_TMP/err"
check "... and downloaded the file" test -f "$TEST_TMP/ls-dst/a"

# --- a file of the source that cannot be read is a failure, and sync --delete
# then deletes nothing (it deleted the remote copy of the unreadable file).
# As root permissions do not apply: the command runs as nobody.
mkdir -p "$TEST_TMP/ur/src/locked"; echo 1 > "$TEST_TMP/ur/src/top"; echo 2 > "$TEST_TMP/ur/src/locked/inner"
check "sync up a tree with a subdirectory" $COS sync "$TEST_TMP/ur/src" $B/ur -q
AS=""
if [ "$(id -u)" = 0 ]; then
  chmod o+x "$TEST_TMP"; chown -R nobody "$TEST_TMP/ur"
  AS="setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME=$TEST_TMP/ur"
fi
chmod 644 "$TEST_TMP/ur/src/locked" # names readable, files not reachable
$AS $COS sync "$TEST_TMP/ur/src" $B/ur --delete >"$TEST_TMP/out" 2>"$TEST_TMP/err"; rc=$?
chmod 755 "$TEST_TMP/ur/src/locked"
check "sync --delete with an unreadable file fails (exit 1)" test $rc -eq 1
check "... says what could not be read" grep -q "could not be read" "$TEST_TMP/err"
check "... and keeps the copy of the unreadable file" $COS stat $B/ur/locked/inner

# --- a subdirectory that cannot be opened, and one whose listing fails
# midway (readdir's error was taken for the end of the directory): both fail
# the command, and sync --delete deletes no remote copy of what is still there
mkdir -p "$TEST_TMP/ur/src2/sealed"; echo 1 > "$TEST_TMP/ur/src2/top"; echo 2 > "$TEST_TMP/ur/src2/sealed/inner"
check "sync up a tree with a subdirectory to seal" $COS sync "$TEST_TMP/ur/src2" $B/ur2 -q
[ "$(id -u)" = 0 ] && chown -R nobody "$TEST_TMP/ur/src2"
chmod 000 "$TEST_TMP/ur/src2/sealed"
$AS $COS sync "$TEST_TMP/ur/src2" $B/ur2 --delete >"$TEST_TMP/out" 2>"$TEST_TMP/err"; rc=$?
chmod 755 "$TEST_TMP/ur/src2/sealed"
check "sync --delete with a subdirectory that cannot be opened fails (exit 1)" test $rc -eq 1
check "... says which" grep -q "cannot open .*sealed" "$TEST_TMP/err"
check "... and keeps the copy of what is inside" $COS stat $B/ur2/sealed/inner
mkdir -p "$TEST_TMP/rd/src/big"; for i in $(seq 1 20); do echo $i > "$TEST_TMP/rd/src/big/f$i"; done
check "sync up a directory of 20 files" $COS sync "$TEST_TMP/rd/src" $B/rd -q
env LD_PRELOAD="$COS_READDIR_FAULT_LIB" COS_TEST_READDIR_FAIL=/rd/src/big \
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
  $COS sync "$TEST_TMP/rd/src" $B/rd --delete >"$TEST_TMP/out" 2>"$TEST_TMP/err"; rc=$?
check "sync --delete over a directory whose listing fails midway fails (exit 1)" test $rc -eq 1
check "... says the directory could not be read to its end" grep -q "cannot read the directory .*big to its end" "$TEST_TMP/err"
check "... and deletes no remote copy" bash -c "test \$($COS ls $B/rd/ -r | wc -l) -eq 20"
env LD_PRELOAD="$COS_READDIR_FAULT_LIB" COS_TEST_READDIR_FAIL=/rd/src/big \
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
  $COS cp -r "$TEST_TMP/rd/src" $B/rd-cp -q >/dev/null 2>&1; rc=$?
check "cp -r of a directory whose listing fails midway fails (exit 1)" test $rc -eq 1

# --- mv -r of a tree holding a symlink to a directory: what lies behind the
# link is uploaded but stays where it is (it is not part of the tree)
mkdir -p "$TEST_TMP/mvl/tree" "$TEST_TMP/mvl/elsewhere"
echo 1 > "$TEST_TMP/mvl/tree/own"; echo keep > "$TEST_TMP/mvl/elsewhere/precious"
ln -s "$TEST_TMP/mvl/elsewhere" "$TEST_TMP/mvl/tree/shared"
$COS mv -r "$TEST_TMP/mvl/tree" $B/mvl >"$TEST_TMP/out" 2>"$TEST_TMP/err"; rc=$?
check "mv -r through a symlinked directory succeeds" test $rc -eq 0
check "... uploads what is behind the link" $COS stat $B/mvl/shared/precious
check "... removes the tree's own file" test ! -e "$TEST_TMP/mvl/tree/own"
check "... and leaves the file behind the link" test -f "$TEST_TMP/mvl/elsewhere/precious"

# --- a FIFO or a device is no file to upload: refused at once (a FIFO
# without a writer hung the upload for ever, /dev/zero has no end)
mkfifo "$TEST_TMP/fifo"
timeout 60 $COS cp "$TEST_TMP/fifo" $B/fifo 2>"$TEST_TMP/err"; rc=$?
check "cp of a FIFO is refused (exit 2), without waiting for a writer" test $rc -eq 2
check "... saying it is no regular file" grep -q "not a regular file" "$TEST_TMP/err"
timeout 60 $COS cp /dev/zero $B/zero 2>"$TEST_TMP/err"; rc=$?
check "cp of /dev/zero is refused (exit 2)" test $rc -eq 2
check "... and nothing was uploaded" bash -c "! $COS stat $B/fifo && ! $COS stat $B/zero"

# --- a device or FIFO as a download's destination is written in place:
# renaming the downloaded file over /dev/null replaced the device (as root)
printf 'into a device\n' > "$TEST_TMP/dev-src"
$COS cp "$TEST_TMP/dev-src" $B/devsrc -q
if mknod "$TEST_TMP/null" c 1 3 2>/dev/null; then
  timeout 60 $COS cp $B/devsrc "$TEST_TMP/null" -q; rc=$?
  check "cp to a character device succeeds" test $rc -eq 0
  check "... and the device is still a device" test -c "$TEST_TMP/null"
  check "... with no partial file beside it" test ! -e "$TEST_TMP/null.cos-partial"
else
  echo "# mknod not permitted: the character-device case is skipped"
fi
# the shell holds the FIFO open while cat starts, so neither side waits on
# the other's open(); cat sees the end once cp and the shell have closed it
exec 7<>"$TEST_TMP/fifo"
(exec 7>&-; timeout 60 cat "$TEST_TMP/fifo" > "$TEST_TMP/fifo.out") & READER=$!
timeout 60 $COS cp $B/devsrc "$TEST_TMP/fifo" -q 7>&-; rc=$?
exec 7>&-
wait $READER
check "cp to a FIFO with a reader writes into it" test $rc -eq 0 -a -p "$TEST_TMP/fifo"
check "... what the reader gets is the object" cmp "$TEST_TMP/fifo.out" "$TEST_TMP/dev-src"

# --- mv says what it did: "move:" lines and, in JSON, "move" items with the
# sources counted as deleted (it printed copy: lines and "deleted":0)
printf 'moving\n' > "$TEST_TMP/mv1"
$COS mv "$TEST_TMP/mv1" $B/mvr/one >"$TEST_TMP/out" 2>&1; rc=$?
check "mv local->cos says move:" bash -c "test $rc -eq 0 && grep -qx 'move: $TEST_TMP/mv1 -> $B/mvr/one' '$TEST_TMP/out' && ! grep -q '^upload:' '$TEST_TMP/out'"
$COS mv $B/mvr/one $B/mvr/two --output json >"$TEST_TMP/out" 2>&1
check "mv cos->cos --json: one move item, deleted 1, moved 1" node -e '
const o=JSON.parse(require("fs").readFileSync(process.argv[1]));
if(o.items.length!==1||o.items[0].action!=="move"||o.deleted!==1||o.moved!==1||o.transferred!==1||o.failed!==0)process.exit(1)' "$TEST_TMP/out"
check "... and the source is gone" bash -c "! $COS stat $B/mvr/one 2>/dev/null"
$COS mv $B/mvr/two "$TEST_TMP/mv2" >"$TEST_TMP/out" 2>&1
check "mv cos->local says move:" grep -qx "move: $B/mvr/two -> $TEST_TMP/mv2" "$TEST_TMP/out"
mkdir -p "$TEST_TMP/mvtree/s"; echo a > "$TEST_TMP/mvtree/a"; echo b > "$TEST_TMP/mvtree/s/b"
$COS mv -r "$TEST_TMP/mvtree" $B/mvt >"$TEST_TMP/out" 2>&1
check "mv -r: a move: line per file" test "$(grep -c '^move: ' "$TEST_TMP/out")" -eq 2
check "mv -r: the summary says moved" grep -q '^mv: 2 moved (4 B), 0 copied but not removed, 0 unchanged, 0 failed$' "$TEST_TMP/out"
$COS mv -r $B/mvt $B/mvt2 --output json >"$TEST_TMP/out" 2>&1
check "mv -r cos->cos --json counts both sources deleted" node -e '
const o=JSON.parse(require("fs").readFileSync(process.argv[1]));
if(o.items.filter(i=>i.action==="move").length!==2||o.deleted!==2||o.moved!==2)process.exit(1)' "$TEST_TMP/out"
$COS mv -r $B/mvt2 "$TEST_TMP/mvback" --dryrun >"$TEST_TMP/out" 2>&1
check "mv --dryrun says what would move" test "$(grep -c '^(dryrun) move: ' "$TEST_TMP/out")" -eq 2

# --- mv local->cos: a file written between the upload and the unlink is
# kept and reported (the write was lost). The test-only hook appends a byte
# right before the check, as such a writer would.
printf 'original\n' > "$TEST_TMP/mvw"
COS_CLI_TEST_HOOK=mv-write-before-unlink $COS mv "$TEST_TMP/mvw" $B/mvw >"$TEST_TMP/out" 2>"$TEST_TMP/err"; rc=$?
check "mv of a file changed before the unlink fails (exit 1)" test $rc -eq 1
check "... keeps the file, with the write" bash -c "test \"\$(cat '$TEST_TMP/mvw')\" = \"\$(printf 'original\\n!')\""
check "... says why" grep -q "SourceChanged: copied, not removed: the file changed" "$TEST_TMP/err"
check "... reports the copy it made, not a move" grep -qx "upload: $TEST_TMP/mvw -> $B/mvw" "$TEST_TMP/out"
check "... and leaves nothing aside" bash -c "test -z \"\$(ls -A '$TEST_TMP' | grep cos-mv)\""
check "the object has what was uploaded" bash -c "test \"\$($COS cat $B/mvw)\" = original"
printf 'original\n' > "$TEST_TMP/mva"
COS_CLI_TEST_HOOK=mv-write-aside $COS mv "$TEST_TMP/mva" $B/mva >"$TEST_TMP/out" 2>"$TEST_TMP/err"; rc=$?
check "mv of a file written once set aside fails (exit 1)" test $rc -eq 1
check "... puts it back under its name, with the write" bash -c "test \"\$(cat '$TEST_TMP/mva')\" = \"\$(printf 'original\\n!')\""
check "... says why" grep -q "SourceChanged: copied, not removed: the file changed" "$TEST_TMP/err"
check "... and leaves nothing aside" bash -c "test -z \"\$(ls -A '$TEST_TMP' | grep cos-mv)\""
printf 'untouched\n' > "$TEST_TMP/mvu"
check "an unchanged file is moved" bash -c "$COS mv '$TEST_TMP/mvu' $B/mvu -q && test ! -e '$TEST_TMP/mvu' && test -z \"\$(ls -A '$TEST_TMP' | grep cos-mv)\""

# --- a download whose destination is a symlink writes through it: the link
# stays, its target (in another directory) gets the bytes
mkdir -p "$TEST_TMP/lnk" "$TEST_TMP/far"
echo old > "$TEST_TMP/far/target"
ln -s ../far/target "$TEST_TMP/lnk/dest"
check "cp cos->symlink" $COS cp $B/devsrc "$TEST_TMP/lnk/dest" -q
check "... the link stays a link" test -L "$TEST_TMP/lnk/dest"
check "... its target has the object" cmp "$TEST_TMP/far/target" "$TEST_TMP/dev-src"
check "... nothing left beside either" bash -c "test \"\$(ls -A '$TEST_TMP/lnk')\" = dest && test \"\$(ls -A '$TEST_TMP/far')\" = target"

# --- a cos:// URL that does not parse (a key of 1024 bytes or more) is
# refused, never taken for a local path (it was written as ./cos:/...)
LONGK=$(printf 'd%.0s/' $(seq 1 520))
mkdir -p "$TEST_TMP/wd"
(cd "$TEST_TMP/wd" && $COS cp -r $B/docs "$B/$LONGK" 2>"$TEST_TMP/err"); rc=$?
check "cp -r onto a too-long cos:// URL is refused (exit 2)" test $rc -eq 2
check "... says why" grep -q "not a usable URL" "$TEST_TMP/err"
check "... and wrote nothing locally" test ! -e "$TEST_TMP/wd/cos:"

# --- a hostile server: every bulk operation stops
HPORT_FILE="$TEST_TMP/hport"; HLOG="$TEST_TMP/hostile.log"
node "$(dirname "$0")/support/hostile_cos.js" "$HPORT_FILE" "$HLOG" &
HPID=$!
for _ in $(seq 1 2400); do [ -s "$HPORT_FILE" ] && break; kill -0 $HPID 2>/dev/null || break; sleep 0.025; done
H="env COS_ENDPOINT=127.0.0.1:$(cat "$HPORT_FILE") $COS"
for cmd in "ls cos://loop-1250000000/p -r" "du cos://loop-1250000000/p" "rm -r cos://loop-1250000000/p --force" \
           "sync cos://loop-1250000000/p $TEST_TMP/hostile-down" "cp -r cos://loop-1250000000/p $TEST_TMP/hostile-down"; do
  timeout 60 $H $cmd >/dev/null 2>"$TEST_TMP/err"; rc=$?
  check "$cmd: a marker that does not advance stops it (exit 1)" test $rc -eq 1
  check "$cmd: says the listing did not advance" grep -q "did not advance" "$TEST_TMP/err"
done
timeout 60 $H ls cos://creep-1250000000/ -r >/dev/null 2>"$TEST_TMP/err"; rc=$?
check "a marker that advances over nothing forever stops ls" test $rc -eq 1
timeout 60 $H rm -r cos://errs-1250000000/p --force >/dev/null 2>"$TEST_TMP/err"; rc=$?
check "<Error> entries fail rm -r" test $rc -eq 1
check "every <Error> entry is reported" test "$(grep -c 'AccessDenied: not yours' "$TEST_TMP/err")" -eq 3
timeout 60 $H rm -r cos://none-1250000000/p --force >/dev/null 2>"$TEST_TMP/err"; rc=$?
check "a bulk delete that deletes nothing stops rm -r" test $rc -eq 1
check "... saying so" grep -q "deleted none" "$TEST_TMP/err"
check "errors are in the JSON report too" bash -c "timeout 60 $H rm -r cos://errs-1250000000/p --force --output json 2>/dev/null | node -e 'const o=JSON.parse(require(\"fs\").readFileSync(0));if(o.failed!==3||o.items.filter(i=>i.code===\"AccessDenied\").length!==3)process.exit(1)'"
: > "$HLOG"
timeout 60 $H rm -r cos://outside-1250000000/logs --force >/dev/null 2>"$TEST_TMP/err"
check "rm -r deletes what the server listed under logs/" grep -q "key logs/inside" "$HLOG"
check "rm -r never deletes what lies outside logs/, whatever the server lists" bash -c "! grep -q 'key logs-archive\\|key logsheet' '$HLOG'"
# keys that would leave the destination directory (p/../../escape) are refused
mkdir -p "$TEST_TMP/down/in"
timeout 60 $H cp -r cos://dotdot-1250000000/p "$TEST_TMP/down/in" >/dev/null 2>"$TEST_TMP/err"; rc=$?
check "cp -r refuses keys that climb out of the directory (exit 1)" test $rc -eq 1
check "nothing written outside the destination" test ! -e "$TEST_TMP/escape" -a ! -e "$TEST_TMP/down/escape"
check "each refusal names the key" test "$(grep -c UnsafeName "$TEST_TMP/err")" -eq 3
timeout 60 $H sync cos://dotdot-1250000000/p "$TEST_TMP/down/in" >/dev/null 2>&1; rc=$?
check "sync refuses them too" test $rc -eq 1 -a ! -e "$TEST_TMP/escape"
# a server-side copy names the source in its region: --region, else the profile's
: > "$HLOG"
$H cp cos://src-1250000000/k cos://dst-1250000000/k --region ap-beijing -q 2>"$TEST_TMP/err"
check "cos->cos copy names the source in --region" grep -q "copy-source src-1250000000.cos.ap-beijing.myqcloud.com/k" "$HLOG"
mkdir -p "$HOME/.config/cos"
printf '[default]\nregion = ap-nanjing\n[profile far]\nregion = ap-chengdu\n' > "$HOME/.config/cos/config"
: > "$HLOG"
env -u COS_REGION $H cp cos://src-1250000000/k cos://dst-1250000000/k --profile far -q 2>"$TEST_TMP/err"
check "cos->cos copy names the source in the profile's region" grep -q "copy-source src-1250000000.cos.ap-chengdu.myqcloud.com/k" "$HLOG"
: > "$HLOG"
env -u COS_REGION $H cp cos://src-1250000000/k cos://dst-1250000000/k -q 2>"$TEST_TMP/err"
check "... or in [default]'s region" grep -q "copy-source src-1250000000.cos.ap-nanjing.myqcloud.com/k" "$HLOG"
rm -f "$HOME/.config/cos/config"
kill $HPID 2>/dev/null; wait $HPID 2>/dev/null

check "rb --force" $COS rb $B --force
finish

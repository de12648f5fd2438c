#!/usr/bin/env bash
# test_cli_xfer.sh — cos cp, mv and sync in every direction (local<->cos,
# cos->cos), recursive, with --delete, --dryrun, --exclude/--include, change
# detection by size, CRC-64 and --mtime, '-' for standard input and output,
# the upload flags, --output json, and the progress line on a terminal.
set -u
. "$(dirname "$0")/lib.sh"
COS=$COS_CLI_BIN
start_server
B=cos://xfer-1250000000
check "mb" $COS mb $B
json() { node -e "const o=JSON.parse(require('fs').readFileSync(0));process.exit(($1)?0:1)"; }
count() { "$COS" ls "$1" -r | wc -l; }
same_files() { [ "$(cd "$1" && find . -type f | sort | xargs md5sum)" = "$(cd "$2" && find . -type f | sort | xargs md5sum)" ]; }
export -f json count same_files; export COS

# a tree with subdirectories
T="$TEST_TMP/tree"
mkdir -p "$T/sub/deep" "$T/logs"
echo one > "$T/a.txt"; echo two > "$T/sub/b.txt"; echo three > "$T/sub/deep/c.txt"
echo log > "$T/logs/x.log"; echo log2 > "$T/sub/y.log"

# --- sync local -> cos descends into subdirectories
check "sync up" bash -c "$COS sync $T $B/s | grep -q '5 transferred'"
check "sync up reached sub/deep" $COS stat $B/s/sub/deep/c.txt
check "sync up again: nothing to do" bash -c "$COS sync $T $B/s | grep -q '0 transferred (0 B), 5 unchanged'"
echo TWO > "$T/sub/b.txt"   # same size, other bytes: only CRC-64 tells
check "sync finds a same-size change by CRC-64" bash -c "$COS sync $T $B/s | grep -q '1 transferred (4 B), 4 unchanged'"
check "... and uploads it" bash -c "$COS cat $B/s/sub/b.txt | grep -q TWO"
echo tWO > "$T/sub/b.txt"; touch -d '2001-01-01' "$T/sub/b.txt"
check "--size-only does not see it" bash -c "$COS sync $T $B/s --size-only | grep -q '0 transferred'"
check "--mtime does not see an older file" bash -c "$COS sync $T $B/s --mtime | grep -q '0 transferred'"
touch -d '2099-01-01' "$T/sub/b.txt"
check "--mtime sees a newer file" bash -c "$COS sync $T $B/s --mtime | grep -q '1 transferred'"
check "--dryrun changes nothing" bash -c "echo new > $T/new.txt && $COS sync $T $B/s --dryrun | grep -q '(dryrun) upload: $T/new.txt' && ! $COS stat $B/s/new.txt"
rm -f "$T/new.txt"

# --- exclude / include: the last match wins
check "sync --exclude" bash -c "$COS sync $T $B/ex --exclude '*.log' -q && test \$(count $B/ex/) -eq 3"
check "sync --exclude then --include" bash -c "$COS sync $T $B/ex2 --exclude '*' --include 'sub/*' -q && test \$(count $B/ex2/) -eq 3 && $COS stat $B/ex2/sub/deep/c.txt"

# --- sync cos -> local, cos -> cos
D="$TEST_TMP/down"
check "sync down" bash -c "$COS sync $B/s $D | grep -q '5 transferred'"
check "sync down is byte-exact" same_files "$T" "$D"
check "sync down again: nothing to do" bash -c "$COS sync $B/s $D | grep -q '0 transferred'"
check "sync down --mtime again: nothing to do (mtimes kept)" bash -c "$COS sync $B/s $D --mtime | grep -q '0 transferred'"
check "sync cos->cos" bash -c "$COS sync $B/s $B/s2 | grep -q '5 transferred' && $COS sync $B/s $B/s2 | grep -q '5 unchanged'"

# --- --delete in each direction
rm "$T/logs/x.log"
check "sync up --delete" bash -c "$COS sync $T $B/s --delete | grep -q '0 transferred (0 B), 4 unchanged, 1 deleted'"
check "sync cos->cos --delete" bash -c "$COS sync $B/s $B/s2 --delete | grep -q '1 deleted' && ! $COS stat $B/s2/logs/x.log"
echo stray > "$D/stray"
check "sync down --dryrun --delete keeps the file" bash -c "$COS sync $B/s $D --delete --dryrun | grep -q '(dryrun) delete: $D/stray' && test -f $D/stray"
check "sync down --delete" bash -c "$COS sync $B/s $D --delete | grep -q '2 deleted' && test ! -e $D/stray && test ! -e $D/logs/x.log"
check "sync --delete keeps what is excluded" bash -c "$COS sync $T $B/s2 --delete --exclude 'sub/*' -q && $COS stat $B/s2/sub/b.txt"

# --- cp -r and mv -r in every direction
check "cp -r up" bash -c "$COS cp -r $T $B/c | grep -q '4 transferred'"
check "cp -r down" bash -c "$COS cp -r $B/c $TEST_TMP/c && same_files $T $TEST_TMP/c"
# the copy source carries the key URL-encoded: a space, '+', '%' and UTF-8 survive
check "cp cos->cos of an odd key" bash -c "$COS cp $T/a.txt '$B/odd/a b+100%ü.txt' -q && $COS cp '$B/odd/a b+100%ü.txt' $B/odd/back.txt -q && $COS cat $B/odd/back.txt | grep -qx one"
check "cp -r cos->cos" bash -c "$COS cp -r $B/c $B/c2 -q && test \$(count $B/c2/) -eq 4"
check "cp -r --exclude" bash -c "$COS cp -r $T $B/c3 --exclude '*.log' -q && test \$(count $B/c3/) -eq 3"
check "cp -r --dryrun" bash -c "$COS cp -r $T $B/c4 --dryrun | grep -q '(dryrun) upload' && test \$(count $B/c4/) -eq 0"
cp -r "$T" "$TEST_TMP/mvsrc"
check "mv -r up removes the local files" bash -c "$COS mv -r $TEST_TMP/mvsrc $B/m -q && test \$(count $B/m/) -eq 4 && test -z \"\$(find $TEST_TMP/mvsrc -type f)\""
check "mv -r cos->cos removes the sources" bash -c "$COS mv -r $B/m $B/m2 -q && test \$(count $B/m/) -eq 0 && test \$(count $B/m2/) -eq 4"
check "mv -r down removes the objects" bash -c "$COS mv -r $B/m2 $TEST_TMP/m2 -q && test \$(count $B/m2/) -eq 0 && same_files $T $TEST_TMP/m2"
check "mv one object down" bash -c "$COS cp $T/a.txt $B/one.txt -q && $COS mv $B/one.txt $TEST_TMP/one.txt -q && ! $COS stat $B/one.txt && grep -q one $TEST_TMP/one.txt"
$COS cp "$T" $B/x >/dev/null 2>&1; check "cp of a directory without -r exits 2" test $? -eq 2
$COS cp $B/c/ "$TEST_TMP/x" >/dev/null 2>&1; check "cp of a prefix without -r exits 2" test $? -eq 2
$COS cp "$TEST_TMP/nothing" $B/x >/dev/null 2>&1; check "cp of a missing file exits 4" test $? -eq 4
$COS cp "$T/a.txt" "$TEST_TMP/b.txt" >/dev/null 2>&1; check "cp local->local exits 2" test $? -eq 2

# --- standard input and output
head -c 3000000 /dev/urandom > "$TEST_TMP/r.bin"
check "cp - (one part)" bash -c "echo piped | $COS cp - $B/pipe.txt -q && $COS cat $B/pipe.txt | grep -q piped"
check "cp - (multipart)" bash -c "$COS cp - $B/pipe.bin --chunk-size 1048576 -q < $TEST_TMP/r.bin"
check "cp cos://... - is byte-exact" bash -c "$COS cp $B/pipe.bin - | cmp - $TEST_TMP/r.bin"
check "cp cos://... - writes nothing else to stdout" bash -c "test \$($COS cp $B/pipe.txt - | wc -c) -eq 6"
check "no local file named -" test ! -e ./-
check "an empty standard input makes an empty object" bash -c "$COS cp - $B/empty -q </dev/null && $COS stat $B/empty --output json | grep -q '\"size\":0,'"
# Ctrl-C while standard input is still open stores nothing (not a cut-short object)
mkfifo "$TEST_TMP/in"
$COS cp - $B/cut.bin --chunk-size 1048576 < "$TEST_TMP/in" >/dev/null 2>"$TEST_TMP/cut.err" &
CPID=$!
exec 8>"$TEST_TMP/in"
head -c 2500000 /dev/urandom >&8
kill -INT $CPID; wait $CPID; rc=$?
exec 8>&-
check "an interrupted stream exits 130" test $rc -eq 130
$COS stat $B/cut.bin >/dev/null 2>&1; check "an interrupted stream stores nothing" test $? -eq 4
$COS cp - $B/dir/ </dev/null >/dev/null 2>&1; check "cp - to a prefix exits 2" test $? -eq 2

# --- upload flags
check "upload with flags" $COS cp "$T/a.txt" $B/flags.txt --storage-class STANDARD_IA --meta owner=ann --meta team=x \
  --content-type text/x-test --cache-control max-age=60 --acl public-read -q
check "stat shows the flags" bash -c "$COS stat $B/flags.txt --output json | node -e '
const o=JSON.parse(require(\"fs\").readFileSync(0));
if(o.storage_class!==\"STANDARD_IA\"||o.content_type!==\"text/x-test\"||o.cache_control!==\"max-age=60\"||o.meta.owner!==\"ann\"||o.meta.team!==\"x\")process.exit(1)'"
check "--acl public-read lets anyone read" curl -sf "http://$COS_ENDPOINT/xfer-1250000000/flags.txt"
check "a copy with --meta replaces the metadata" bash -c "$COS cp $B/flags.txt $B/flags2.txt --meta owner=bob -q && $COS stat $B/flags2.txt --output json | grep -q '\"owner\":\"bob\"'"
check "a copy without flags keeps the metadata" bash -c "$COS cp $B/flags.txt $B/flags3.txt -q && $COS stat $B/flags3.txt --output json | grep -q '\"owner\":\"ann\"'"
check "flags apply to streamed uploads" bash -c "echo s | $COS cp - $B/flags4.txt --content-type text/x-s --meta k=v -q && $COS stat $B/flags4.txt --output json | grep -q '\"content_type\":\"text/x-s\"'"
$COS cp "$T/a.txt" $B/x --sse KMS >/dev/null 2>&1; check "--sse other than AES256 exits 2" test $? -eq 2
$COS cp "$T/a.txt" $B/x --meta novalue >/dev/null 2>&1; check "--meta without = exits 2" test $? -eq 2
# the headers on the wire, seen by a recording server
HPORT_FILE="$TEST_TMP/hport"; HLOG="$TEST_TMP/hostile.log"
node "$(dirname "$0")/support/hostile_cos.js" "$HPORT_FILE" "$HLOG" &
HPID=$!
for _ in $(seq 1 2400); do [ -s "$HPORT_FILE" ] && break; kill -0 $HPID 2>/dev/null || break; sleep 0.025; done
COS_ENDPOINT=127.0.0.1:$(cat "$HPORT_FILE") $COS cp "$T/a.txt" cos://rec-1250000000/k --sse AES256 --acl private \
  --storage-class ARCHIVE --meta m=1 --content-type text/x-r --cache-control no-cache -q 2>/dev/null
for h in x-cos-server-side-encryption=AES256 x-cos-acl=private x-cos-storage-class=ARCHIVE x-cos-meta-m=1 \
         content-type=text/x-r cache-control=no-cache; do
  check "upload sends $h" grep -q "put /k .*$h" "$HLOG"
done
kill $HPID 2>/dev/null; wait $HPID 2>/dev/null

# --- --output json on every command, stable fields
check "cp --output json" bash -c "$COS cp $T/a.txt $B/j.txt --output json | json 'o.command===\"cp\"&&o.transferred===1&&o.items[0].action===\"upload\"&&o.items[0].destination===\"$B/j.txt\"&&o.items[0].size===4&&o.exit_code===0'"
check "sync --output json" bash -c "$COS sync $T $B/s --output json | json 'o.command===\"sync\"&&o.unchanged===4&&o.transferred===0&&Array.isArray(o.items)'"
check "rm --output json" bash -c "$COS rm $B/j.txt --output json | json 'o.deleted===1&&o.items[0].action===\"delete\"'"
check "du --output json" bash -c "$COS du $B/s --output json | json 'o.objects===4&&o.prefix===\"s/\"'"
check "ls buckets --output json" bash -c "$COS ls --output json | json 'o.some(b=>b.name===\"xfer-1250000000\")'"
check "mb/rb --output json" bash -c "$COS mb cos://tmpj-1250000000 --output json | json 'o.action===\"made\"' && $COS rb cos://tmpj-1250000000 --output json | json 'o.action===\"removed\"'"
check "sign --output json" bash -c "$COS sign --method get --key a --output json | json 'o.authorization.startsWith(\"q-sign-algorithm=sha1\")'"
check "--version --output json" bash -c "$COS --version --output json | json 'typeof o.version===\"string\"'"

# --- Ctrl-C during a tree pauses every transfer; the same command resumes; mv keeps its sources
mkdir -p "$TEST_TMP/bigtree"
for i in 1 2 3; do head -c 30000000 /dev/urandom > "$TEST_TMP/bigtree/f$i"; done
$COS mv -r "$TEST_TMP/bigtree" $B/big --chunk-size 1048576 --parallel 1 >/dev/null 2>"$TEST_TMP/int.err" &
CPID=$!
for _ in $(seq 1 2400); do grep -qs '"n":' "$HOME"/.cache/cos-c/*.json && break; kill -0 $CPID 2>/dev/null || break; sleep 0.05; done
kill -INT $CPID; wait $CPID; rc=$?
if [ $rc -eq 130 ]; then
  check "an interrupted mv -r says how to resume" grep -q "run the same command again" "$TEST_TMP/int.err"
  check "an interrupted mv -r removed no source it had not copied" bash -c "n=\$(ls $TEST_TMP/bigtree | wc -l); c=\$($COS ls $B/big/ -r | wc -l); test \$((n + c)) -ge 3"
  $COS mv -r "$TEST_TMP/bigtree" $B/big --chunk-size 1048576 >/dev/null 2>"$TEST_TMP/resume.err"; rc=$?
  check "the rerun finishes the move" test $rc -eq 0 -a -z "$(ls "$TEST_TMP/bigtree")"
  check "the rerun resumed" grep -q "resumed" "$TEST_TMP/resume.err"
else
  ok "mv -r finished before the interrupt (fast machine)"
fi
check "every file arrived whole" bash -c "test \$($COS ls $B/big/ -r | wc -l) -eq 3 && $COS du $B/big | grep -q '^3 objects, 90000000 bytes'"

# --- one aggregate progress line, on a terminal only
if command -v script >/dev/null; then
  script -qc "$COS sync $T $B/tty" /dev/null > "$TEST_TMP/tty.out" 2>&1
  check "a terminal gets the progress line" grep -q "files, .* of " "$TEST_TMP/tty.out"
  check "the progress line is one line, redrawn in place" bash -c "test \$(tr '\\r' '\\n' < $TEST_TMP/tty.out | grep -c 'files, ') -ge 1 && ! grep -a 'files, ' $TEST_TMP/tty.out | grep -qv $'\\r'"
fi
check "a pipe gets no progress line" bash -c "! $COS sync $T $B/tty2 2>&1 | grep -q 'files, '"

check "rb --force" $COS rb $B --force
finish

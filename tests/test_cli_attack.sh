#!/usr/bin/env bash
# test_cli_attack.sh — the cos CLI attacked, third round: a tree download
# never writes through a symlink that leads outside its destination, and
# objects named as a download's partial file and checkpoint (x.cos-partial,
# x.cos-partial.json) come down beside x intact; keys
# and servers' messages with terminal escape sequences never reach a
# terminal raw (scripts reading a pipe still get the exact bytes); a
# download over a private file keeps it private; names with newlines,
# leading '-', '%', '+', spaces, '?', '#', tabs and UTF-8 go up and come
# back exactly (cp -r, sync, both ways); and every failure has its
# documented exit code. `timeout` only keeps a regression from hanging the
# suite; no assertion depends on time.
set -u
. "$(dirname "$0")/lib.sh"
COS=$COS_CLI_BIN
start_server
B=cos://attack-1250000000
check "mb" $COS mb $B
T=$TEST_TMP

# --- a symlink inside the destination of a tree download
mkdir -p "$T/src/sub" "$T/outside" "$T/dest" "$T/dest2/real" "$T/dest3"
echo inside > "$T/src/sub/x"
echo top > "$T/src/top"
check "upload a tree" $COS cp -r "$T/src" $B/tree -q
ln -s "$T/outside" "$T/dest/sub"
$COS cp -r $B/tree "$T/dest" >"$T/out" 2>"$T/err"; rc=$?
check "cp -r through a symlink leading outside fails (exit 1)" test $rc -eq 1
check "... says why" grep -q "UnsafePath" "$T/err"
check "... writes nothing outside the destination" test ! -e "$T/outside/x"
check "... and still downloads the rest" test -f "$T/dest/top"
$COS sync $B/tree "$T/dest" >/dev/null 2>&1; rc=$?
check "sync down through that symlink fails too (exit 1)" test $rc -eq 1
check "... and writes nothing outside" test ! -e "$T/outside/x"
mkdir -p "$T/dest/deep"; ln -s ../../outside "$T/dest/deep/sub"
$COS cp -r $B/tree "$T/dest/deep" >/dev/null 2>&1; rc=$?
check "a relative link climbing out is refused as well" test $rc -eq 1
check "... nothing written through it" test ! -e "$T/outside/x"
ln -s "$T/outside/top" "$T/dest3/top"
$COS cp -r $B/tree "$T/dest3" >/dev/null 2>&1; rc=$?
check "a file that is a link to outside the destination is not written through" test $rc -eq 1
check "... the outside file was not created" test ! -e "$T/outside/top"
ln -s "$T/nowhere" "$T/dest3/sub"
$COS cp -r $B/tree "$T/dest3" >/dev/null 2>&1
check "a dangling link is not written through" test ! -e "$T/nowhere"
ln -s real "$T/dest2/sub"
check "a link that stays inside the destination is followed" bash -c "$COS cp -r $B/tree '$T/dest2' -q && test \"\$(cat '$T/dest2/real/x')\" = inside"
check "a single download names its path: it goes through the link, as cp(1)" \
  bash -c "$COS cp $B/tree/sub/x '$T/dest/sub/single' -q && test -f '$T/outside/single'"

# a single download to a symlink that leads to no file: cp(1) refuses it (a
# link planted in a shared directory would have the file created where it leads)
ln -s "$T/outside/made-by-link" "$T/dest/dangling"
$COS cp $B/tree/top "$T/dest/dangling" >/dev/null 2>"$T/err"; rc=$?
check "a single download to a dangling symlink is refused, as cp(1) (exit 1)" test $rc -eq 1
check "... says why" grep -q "UnsafePath" "$T/err"
check "... creates nothing where the link leads" test ! -e "$T/outside/made-by-link"
check "... and leaves the link" test -L "$T/dest/dangling"
echo old > "$T/outside/existing"; ln -s "$T/outside/existing" "$T/dest/tofile"
check "a single download to a symlink to a file writes through it, as cp(1)" \
  bash -c "$COS cp $B/tree/top '$T/dest/tofile' -q && test \"\$(cat '$T/outside/existing')\" = top && test -L '$T/dest/tofile'"

# --- objects named as a download's partial file and checkpoint, beside it
P="$T/pp"; mkdir -p "$P"
head -c 3000000 /dev/urandom > "$P/a"
echo "an object named a.cos-partial" > "$P/a.cos-partial"
echo '{"note":"an object, not a checkpoint"}' > "$P/a.cos-partial.json"
check "upload a, a.cos-partial, a.cos-partial.json" $COS cp -r "$P" $B/pp -q
for i in 1 2 3; do
  rm -rf "$T/ppd"
  $COS cp -r $B/pp "$T/ppd" >/dev/null 2>"$T/err"; rc=$?
  check "cp -r of the three ($i): exit 0" test $rc -eq 0
  check "... all three exact ($i)" diff -r "$P" "$T/ppd"
done
check "sync down over them: all unchanged" bash -c "$COS sync $B/pp '$T/ppd' | grep -q '0 transferred (0 B), 3 unchanged'"
head -c 3000000 /dev/urandom > "$P/a"
check "a changed a syncs down beside them" bash -c "$COS sync '$P' $B/pp -q && $COS sync $B/pp '$T/ppd' -q && diff -r '$P' '$T/ppd'"
check "... leaving no temporary behind" test "$(ls -A "$T/ppd" | wc -l)" -eq 3

# --- a file that became a dangling symlink (its disk unmounted) is no file gone
mkdir -p "$T/dl" "$T/mnt"; echo data > "$T/mnt/a"; ln -s "$T/mnt/a" "$T/dl/a"; echo b > "$T/dl/b"
$COS sync "$T/dl" $B/dl -q
rm "$T/mnt/a"
$COS sync "$T/dl" $B/dl --delete >/dev/null 2>"$T/err"; rc=$?
check "sync --delete with a dangling symlink in the source fails (exit 1)" test $rc -eq 1
check "... and keeps the copy of what the link named" $COS stat $B/dl/a

# --- a download over a private file keeps it private
echo secret > "$T/priv"; chmod 600 "$T/priv"
$COS cp "$T/priv" $B/priv -q
echo older > "$T/mine"; chmod 600 "$T/mine"
check "download over a 0600 file" $COS cp $B/priv "$T/mine" -q
check "... it stays 0600" test "$(stat -c %a "$T/mine")" = 600
head -c 3000000 /dev/urandom > "$T/bigpriv"
$COS cp "$T/bigpriv" $B/bigpriv -q
echo older > "$T/mine2"; chmod 640 "$T/mine2"
check "a multipart download over a 0640 file keeps 0640" bash -c "$COS cp $B/bigpriv '$T/mine2' -q && test \"\$(stat -c %a '$T/mine2')\" = 640"
check "sync down keeps a 0600 file's mode" bash -c "mkdir -p '$T/sd' && echo old > '$T/sd/priv' && chmod 600 '$T/sd/priv' && $COS cp $B/priv $B/sd/priv -q && $COS sync $B/sd '$T/sd' -q && test \"\$(cat '$T/sd/priv')\" = secret && test \"\$(stat -c %a '$T/sd/priv')\" = 600"

# --- hostile file names: up and back, exactly
N="$T/names"; mkdir -p "$N/dir with space"
names=($'new\nline' '-dash' '--long' '%41' '%%' 'a+b' 'sp ace' 'q?x' 'h#x' 'amp&x=y' $'tab\tx' $'caf\xc3\xa9' $'cr\rx' 'dir with space/in ner' '~t' "quote'\""
       'semi;colon' 'a,b' 'br[ack]et' '{}' 'at@x' 'dollar$x' 'star*x' 'pipe|x' 'lt<gt>' 'back\slash' 'bang!x' '^caret' '`tick')
for n in "${names[@]}"; do printf '%s' "$n" > "$N/$n"; done
check "cp -r up with hostile names" $COS cp -r "$N" $B/names -q
check "each name is one key" test "$($COS ls $B/names -r --output json | node -e 'console.log(JSON.parse(require("fs").readFileSync(0)).length)')" = "${#names[@]}"
check "cp -r down with hostile names" $COS cp -r $B/names "$T/back" -q
check "the names and bytes came back exactly" diff -r "$N" "$T/back"
check "sync up finds nothing to do" bash -c "$COS sync '$N' $B/names | grep -q '0 transferred (0 B), ${#names[@]} unchanged'"
check "sync down finds nothing to do" bash -c "$COS sync $B/names '$T/back' | grep -q '0 transferred (0 B), ${#names[@]} unchanged'"
check "cp -r back into the same directory it came from" $COS cp -r $B/names "$N" -q
check "... leaves exactly the same tree" diff -r "$N" "$T/back"
check "... and no extra files" test "$(find "$N" -type f -print0 | tr -cd '\0' | wc -c)" -eq "${#names[@]}"
printf changed > "$N/-dash"
check "sync up sends the changed '-dash'" bash -c "$COS sync '$N' $B/names | grep -q '1 transferred'"
check "sync down brings it back" bash -c "$COS sync $B/names '$T/back' -q && test \"\$(cat -- '$T/back/-dash')\" = changed"
rm -- "$N/-dash" "$N/%41"
check "sync --delete removes exactly the two gone" bash -c "$COS sync '$N' $B/names --delete | grep -q '2 deleted' && $COS stat $B/names/%%"
check "'-' after -- is a file, not an option" bash -c "cd '$N' && $COS cp -q -- --long $B/dash/ && $COS stat $B/dash/--long"

# the same names through the S3 dialect (cos-server's), and presigned URLs of some
S3ENV="env AWS_ACCESS_KEY_ID=$COS_SECRET_ID AWS_SECRET_ACCESS_KEY=$COS_SECRET_KEY AWS_ENDPOINT_URL=http://$COS_ENDPOINT AWS_REGION=ap-guangzhou"
S=s3://s3names-1250000000
check "s3: mb" $S3ENV $COS mb $S
check "s3: cp -r up with hostile names" $S3ENV $COS cp -r "$N" $S/n -q
check "s3: cp -r down" $S3ENV $COS cp -r $S/n "$T/back-s3" -q
check "s3: the names and bytes came back exactly" diff -r "$N" "$T/back-s3"
check "s3: sync finds nothing to do" bash -c "$S3ENV $COS sync '$N' $S/n | grep -q '0 transferred (0 B)'"
for f in 'sp ace' 'a+b' '%%' 'q?x' 'h#x' 'amp&x=y'; do
  check "presigned URL of '$f' (cos://)" bash -c "test \"\$(curl -s \"\$($COS presign '$B/names/$f')\")\" = '$f'"
  check "presigned URL of '$f' (s3://)" bash -c "test \"\$(curl -s \"\$($S3ENV $COS presign '$S/n/$f')\")\" = '$f'"
done

# --output json: valid UTF-8 whatever the names, and every failed file is an item
mkdir -p "$T/j"; echo x > "$T/j/"$'\xff\xfe'; echo y > "$T/j/ok"
$COS cp -r "$T/j" $B/j --output json > "$T/j.json" 2>/dev/null; rc=$?
check "a name cos-server refuses (no UTF-8) fails the tree (exit 1)" test $rc -eq 1
check "the JSON report is UTF-8 and names the failed file exactly (surrogateescape)" /usr/bin/python3 -c '
import json, os, sys
d = json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))
errs = [i for i in d["items"] if i["action"] == "error"]
assert d["failed"] == 1 and len(errs) == 1, d
assert os.fsencode(errs[0]["source"]).endswith(b"/\xff\xfe"), errs
assert errs[0]["message"], errs
assert [i["action"] for i in d["items"] if i["source"].endswith("/ok")] == ["upload"], d
' "$T/j.json"

# a single file that fails is an "error" item too (cp of a missing local
# file, rm in a missing bucket: "failed":0 and no item, exit 4)
$COS cp "$T/no-such-file" $B/nf --output json > "$T/nf.json" 2>/dev/null; rc=$?
check "cp of a missing file: exit 4" test $rc -eq 4
check "... and its JSON report names it as failed" /usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
e = [i for i in d["items"] if i["action"] == "error"]
assert d["failed"] == 1 and len(e) == 1 and e[0]["source"].endswith("/no-such-file"), d
' "$T/nf.json"
$COS rm cos://no-such-bucket-1250000000/k --output json > "$T/rm.json" 2>/dev/null; rc=$?
check "rm in a missing bucket: exit 4" test $rc -eq 4
check "... and its JSON report names the key as failed" /usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
e = [i for i in d["items"] if i["action"] == "error"]
assert d["failed"] == 1 and len(e) == 1 and e[0]["source"] == "cos://no-such-bucket-1250000000/k" and e[0]["code"] == "NoSuchBucket", d
' "$T/rm.json"

# another's file put under FILE.cos-partial in the instant the download
# renames it: the download fails and that file goes back under its name,
# also where renameat2 is missing (it stayed as FILE.cos-tmp-XXXXXX)
echo mine > "$T/racesrc"; check "upload for the rename race" $COS cp "$T/racesrc" $B/race -q
for norename2 in "" 1; do
  rm -rf "$T/race"; mkdir -p "$T/race"
  env LD_PRELOAD="$COS_RENAME_RACE_LIB" COS_TEST_RENAME_RACE=1 ${norename2:+COS_TEST_NO_RENAMEAT2=1} \
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
    $COS cp $B/race "$T/race/f" >/dev/null 2>&1; rc=$?
  check "rename race${norename2:+ (no renameat2)}: the download fails (exit 1)" test $rc -eq 1
  check "... the other's file is back under its name" grep -qx "another's" "$T/race/f.cos-partial"
  check "... no temporary left" bash -c "! ls '$T/race' | grep -q cos-tmp"
done

# the symlink race of a tree download: once the CLI has checked the
# destination, dest/sub is swapped for a link leading outside, or a link is
# planted at the file's own name (swap_dir.so does it when the download's
# HEAD goes out); nothing may be written through either (the partial file,
# its checkpoint and the rename followed both)
rm -rf "$T/sw" && mkdir -p "$T/sw/dest/sub" "$T/sw/out" "$T/sw/dest2/sub" "$T/sw/out2"
echo victim > "$T/sw/out2/victim"
env LD_PRELOAD="$COS_SWAP_DIR_LIB" COS_TEST_SWAP_KEY=/tree/sub/x COS_TEST_SWAP_TO="$T/sw/out" \
  COS_TEST_SWAP_DIR="$T/sw/dest/sub" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
  $COS cp -r $B/tree "$T/sw/dest" >/dev/null 2>"$T/sw.err"
check "race: the directory was swapped for a link" test -L "$T/sw/dest/sub"
check "... nothing written outside through it" bash -c "[ -z \"\$(ls -A '$T/sw/out')\" ]"
check "... the file went to the directory checked" grep -qx inside "$T/sw/dest/sub.moved/x"
env LD_PRELOAD="$COS_SWAP_DIR_LIB" COS_TEST_SWAP_KEY=/tree/sub/x COS_TEST_SWAP_TO="$T/sw/out2/victim" \
  COS_TEST_SWAP_LINK="$T/sw/dest2/sub/x" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
  $COS cp -r $B/tree "$T/sw/dest2" >/dev/null 2>"$T/sw2.err"; rc=$?
check "race: a link planted at the file's name is replaced (exit 0)" test $rc -eq 0
check "... the file it named is untouched" grep -qx victim "$T/sw/out2/victim"
check "... nothing else written there" bash -c "[ \"\$(ls -A '$T/sw/out2')\" = victim ]"
check "... the download is a file of its own" bash -c "[ ! -L '$T/sw/dest2/sub/x' ] && grep -qx inside '$T/sw/dest2/sub/x'"

# and for a single download: a dangling link planted at its name after the
# CLI looked (the destination was no link then) is replaced, not written
# through (the old code created the file it led to)
rm -rf "$T/sw3" && mkdir -p "$T/sw3/dest" "$T/sw3/out"
env LD_PRELOAD="$COS_SWAP_DIR_LIB" COS_TEST_SWAP_KEY=/tree/top COS_TEST_SWAP_TO="$T/sw3/out/planted" \
  COS_TEST_SWAP_LINK="$T/sw3/dest/top" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
  $COS cp $B/tree/top "$T/sw3/dest/top" >/dev/null 2>"$T/sw3.err"; rc=$?
check "race: a link planted at a single download's name is replaced (exit 0)" test $rc -eq 0
check "... nothing created where it led" test ! -e "$T/sw3/out/planted"
check "... the download is a file of its own" bash -c "[ ! -L '$T/sw3/dest/top' ] && grep -qx top '$T/sw3/dest/top'"

# the same swap at the moment the directories for a file are made (between
# the check and the open-once step): a directory made by path went through
# the new link and was created outside (LEFTOUT: mkdirs_for); now every one
# is made relative to its parent opened and checked to be inside
rm -rf "$T/mk" && mkdir -p "$T/mk/src/sub/deep" "$T/mk/dest/sub" "$T/mk/out"
echo deep > "$T/mk/src/sub/deep/y"
check "a tree with a deeper directory goes up" $COS cp -r "$T/mk/src" $B/mktree -q
env LD_PRELOAD="$COS_SWAP_DIR_LIB" COS_TEST_SWAP_AT=mkdir COS_TEST_SWAP_TO="$T/mk/out" \
  COS_TEST_SWAP_DIR="$T/mk/dest/sub" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
  $COS cp -r $B/mktree "$T/mk/dest" >/dev/null 2>"$T/mk.err"; rc=$?
check "race at mkdir: the directory was swapped for a link" test -L "$T/mk/dest/sub"
check "... no directory made outside through it" bash -c "[ -z \"\$(ls -A '$T/mk/out')\" ]"
check "... the file is reported (UnsafePath, exit 1)" bash -c "[ $rc -eq 1 ] && grep -q UnsafePath '$T/mk.err'"

# a local error of a tree download names the file as the user wrote the
# destination, not the directory descriptor libcos was given
# (/proc/self/fd/N/...): files may not grow here (ulimit -f 0, SIGXFSZ ignored)
rm -rf "$T/fz" && mkdir -p "$T/fz"
# (its messages through a pipe: a file would not take them either)
(trap '' XFSZ; ulimit -f 0; exec $COS cp -r $B/tree "$T/fz" 2>&1 >/dev/null) | cat >"$T/fz.err"; rc=${PIPESTATUS[0]}
check "a tree download that cannot write fails (exit 1)" test $rc -eq 1
check "... its error names the destination's path" grep -q "$T/fz/sub/x.cos-partial" "$T/fz.err"
check "... not a descriptor's" bash -c "! grep -q /proc/self/fd '$T/fz.err'"

# forged checkpoint objects: a bucket holding x, x.cos-partial (other bytes
# of x's size and CRC-64: CRC-64 is linear, 8 bytes make any value) and
# x.cos-partial.json (a checkpoint naming x's ETag and that CRC with every
# part done): a second cp -r into the same place "resumed" x from those
# bytes, which passed the CRC check. A checkpoint now names its partial
# file (device and inode): one the download did not write is never resumed.
rm -rf "$T/fg" && mkdir -p "$T/fg/src" "$T/fg/dest"
printf 'genuine-bytes\n' > "$T/fg/src/x"
cat > "$T/fg/forge.py" <<'PYEOF'
import sys
P = 0xC96C5795D7870F42
M = (1 << 64) - 1
T = []
for i in range(256):
    c = i
    for _ in range(8): c = (c >> 1) ^ P if c & 1 else c >> 1
    T.append(c)
def crc(b):
    c = M
    for x in b: c = T[(c ^ x) & 0xff] ^ (c >> 8)
    return c ^ M
def forge(prefix, target):
    # crc(prefix + x) is affine in the 64 bits of x: solve over GF(2)
    base = crc(prefix + bytes(8))
    cols = []
    for k in range(64):
        x = bytearray(8); x[k // 8] |= 1 << (k % 8)
        cols.append(crc(prefix + bytes(x)) ^ base)
    want = target ^ base
    rows = [(cols[k], 1 << k) for k in range(64)]  # (image, combination)
    basis = {}
    for img, comb in rows:
        for bit in range(63, -1, -1):
            if not (img >> bit) & 1: continue
            if bit in basis: img ^= basis[bit][0]; comb ^= basis[bit][1]
            else: basis[bit] = (img, comb); break
    sol = 0
    for bit in range(63, -1, -1):
        if (want >> bit) & 1:
            want ^= basis[bit][0]; sol ^= basis[bit][1]
    assert want == 0
    return prefix + sol.to_bytes(8, "little")
genuine = open(sys.argv[1], "rb").read()
out = forge(b"FORGED"[:len(genuine) - 8], crc(genuine))
assert len(out) == len(genuine) and crc(out) == crc(genuine) and out != genuine
open(sys.argv[2], "wb").write(out)
print(crc(genuine))
PYEOF
crc=$(/usr/bin/python3 "$T/fg/forge.py" "$T/fg/src/x" "$T/fg/src/x.cos-partial")
check "upload x for the forged checkpoint" $COS cp "$T/fg/src/x" $B/fg/x -q
etag=$($COS stat $B/fg/x | sed -n 's/^ETag: *//p' | tr -d '"')
check "... its CRC-64 is the one forged" test "$($COS stat $B/fg/x | sed -n 's/^CRC-64: *//p')" = "$crc"
check "upload the forged partial file" $COS cp "$T/fg/src/x.cos-partial" $B/fg/x.cos-partial -q
for q in '\"' ''; do # the ETag as a store sends it, quoted, and bare
  printf '{"upload_id":"%s","parts":[{"n":1,"crc":"%s","etag":""}]}\n' "$q$etag$q" "$crc" > "$T/fg/src/ck.json"
  check "upload a forged checkpoint${q:+ (quoted ETag)}" $COS cp "$T/fg/src/ck.json" $B/fg/x.cos-partial.json -q
  rm -rf "$T/fg/dest"; mkdir -p "$T/fg/dest"
  $COS cp -r $B/fg "$T/fg/dest" -q >/dev/null 2>&1
  $COS cp -r $B/fg "$T/fg/dest" -q >/dev/null 2>&1
  check "forged checkpoint${q:+ (quoted ETag)}: x is the object's bytes after a second cp -r" cmp -s "$T/fg/src/x" "$T/fg/dest/x"
done

# a write-protected file (0444) is not replaced by a user who may not write
# it (cp(1) refuses too); it was replaced, its protection ignored
RUNAS=""
[ "$(id -u)" = 0 ] && RUNAS="setpriv --reuid=65534 --regid=65534 --clear-groups"
mkdir -p "$T/rodir"; chmod 755 "$T"; chmod 777 "$T/rodir"
$RUNAS sh -c "echo keep > '$T/rodir/ro' && chmod 0444 '$T/rodir/ro'"
$RUNAS env HOME="$T/rodir" $COS cp $B/race "$T/rodir/ro" > /dev/null 2>"$T/ro.err"; rc=$?
check "a download over a write-protected file fails" test $rc -ne 0
check "... says why" grep -q "Permission denied" "$T/ro.err"
check "... and keeps it" grep -qx keep "$T/rodir/ro"
check "... nothing left beside it" bash -c "[ \$(ls '$T/rodir' | wc -l) -eq 1 ]"

# a key with a right-to-left override: "invoice<U+202E>fdp.exe" showed as
# "invoiceexe.pdf" on a terminal (the override is no C0/C1 control)
RLO=$(printf '\342\200\256')
echo z > "$T/bidi.txt"
check "upload a key with a right-to-left override" $COS cp "$T/bidi.txt" "$B/bidi/invoice${RLO}fdp.exe" -q
timeout 60 script -qec "$COS ls $B/bidi/" /dev/null > "$T/tty" 2>&1
check "ls on a terminal: a bidi override in a key is escaped" bash -c "grep -qF 'invoice\u202efdp.exe' '$T/tty' && ! grep -qF '$RLO' '$T/tty'"
timeout 60 script -qec "$COS cp -r $B/bidi '$T/bididown'" /dev/null > "$T/tty" 2>&1
check "... and in cp -r's report lines" bash -c "grep -qF '\u202efdp.exe' '$T/tty' && ! grep -qF '$RLO' '$T/tty'"
ZWSP=$(printf '\342\200\213')
check "upload a key with a zero-width space" $COS cp "$T/bidi.txt" "$B/bidi/a${ZWSP}b" -q
timeout 60 script -qec "$COS ls $B/bidi/" /dev/null > "$T/tty" 2>&1
check "... it is escaped on a terminal (it looked like the key ab)" bash -c "grep -qF 'a\u200bb' '$T/tty' && ! grep -qF '$ZWSP' '$T/tty'"
$COS ls $B/bidi/ > "$T/pipe" 2>&1
check "... kept exact into a pipe" grep -qF "invoice${RLO}fdp.exe" "$T/pipe"

# --- terminal escape sequences in keys and servers' answers
HPORT_FILE="$T/hport"; HLOG="$T/hostile.log"
node "$(dirname "$0")/support/hostile_cos.js" "$HPORT_FILE" "$HLOG" &
HPID=$!
for _ in $(seq 1 2400); do [ -s "$HPORT_FILE" ] && break; kill -0 $HPID 2>/dev/null || break; sleep 0.025; done
HEP="127.0.0.1:$(cat "$HPORT_FILE")"
H="env COS_ENDPOINT=$HEP $COS"
ESC=$(printf '\033'); C1=$(printf '\302\233'); RAW9B=$(printf '\233')
# `script` gives the command a terminal; its output is the terminal's
on_tty() { COS_ENDPOINT=$HEP timeout 60 script -qec "$1" /dev/null; }
on_tty "$COS ls cos://escape-1250000000/p/" > "$T/tty" 2>&1
check "ls on a terminal shows the keys" grep -q 'title' "$T/tty"
check "... with no raw ESC" bash -c "! grep -q \"\$(printf '\033')\" '$T/tty'"
check "... and no C1 CSI" bash -c "! grep -q \"\$(printf '\302\233')\" '$T/tty'"
check "... escaped where they were" grep -qF 'p/\x1b]0;pwned\x07title' "$T/tty"
check "... C1 escaped as \\u009b" grep -qF 'c1\u009b31mred' "$T/tty"
on_tty "$COS ls -l cos://escape-1250000000/p/" > "$T/tty" 2>&1
check "ls -l on a terminal: no raw ESC" bash -c "grep -q title '$T/tty' && ! grep -q \"\$(printf '\033')\" '$T/tty'"
$H ls cos://escape-1250000000/p/ > "$T/pipe" 2>&1
check "ls into a pipe keeps the exact bytes (scripts)" grep -qF "p/${ESC}[2Jclear" "$T/pipe"
check "... the JSON output is escaped JSON" bash -c "$H ls cos://escape-1250000000/p/ --output json | node -e 'const a=JSON.parse(require(\"fs\").readFileSync(0));if(a[0].key!==\"p/\\u001b]0;pwned\\u0007title\")process.exit(1)'"
on_tty "$COS stat cos://escape-1250000000/p/k" > "$T/tty" 2>&1
check "stat on a terminal: a server's header values escaped" bash -c "grep -qF 'text/\x9b2Jplain' '$T/tty' && ! grep -q \"\$(printf '\233')\" '$T/tty'"
on_tty "$COS cat cos://escape-1250000000/p/k" > "$T/tty" 2>&1
check "an error message from the server: escaped on a terminal" bash -c "grep -q 'AccessDenied' '$T/tty' && grep -qF 'no\u009b2J way' '$T/tty' && ! grep -q \"\$(printf '\302\233')\" '$T/tty'"
on_tty "$COS cp -r cos://escape-1250000000/p '$T/escdown'" > "$T/tty" 2>&1
check "cp -r's report lines on a terminal: no raw ESC" bash -c "grep -q 'title' '$T/tty' && ! grep -q \"\$(printf '\033')\" '$T/tty'"
# a listing naming a key outside the prefix is warned about: the key escaped
on_tty "$COS ls cos://escout-1250000000/p/" > "$T/tty" 2>&1
check "a listed key outside the prefix: warned about, escaped on a terminal" bash -c "grep -q 'outside the prefix' '$T/tty' && grep -qF '\x1b]0;pwned' '$T/tty' && ! grep -q \"\$(printf '\033')\" '$T/tty'"
# a body cut midway: the bytes written once, a failure, the old file kept
$H cat cos://cut-1250000000/k > "$T/cut.out" 2>/dev/null; rc=$?
check "cat of a body cut midway fails" test $rc -ne 0
check "... having written the half it got, once" test "$(stat -c %s "$T/cut.out")" -eq 500
echo old > "$T/cutf"
$H cp cos://cut-1250000000/k "$T/cutf" >/dev/null 2>&1; rc=$?
check "cp of a body cut midway fails" test $rc -ne 0
check "... and keeps the old file" test "$(cat "$T/cutf")" = old
check "... with nothing left beside it" test "$(ls -A "$T" | grep -c '^cutf')" -eq 1
kill $HPID 2>/dev/null; wait $HPID 2>/dev/null

# --- exit codes of failures (docs/cli.md: 1 failure, 2 usage, 3 auth, 4 not found, 5 network)
$COS cp $B/no/such "$T/nothing" >/dev/null 2>&1; rc=$?
check "download of a missing key: exit 4" test $rc -eq 4
check "... creates no file" test ! -e "$T/nothing"
echo keep > "$T/kept"
$COS cp $B/no/such "$T/kept" >/dev/null 2>&1; rc=$?
check "download of a missing key over a file: exit 4" test $rc -eq 4
check "... the file is untouched" test "$(cat "$T/kept")" = keep
$COS stat $B/no/such >/dev/null 2>&1; check "stat of a missing key: exit 4" test $? -eq 4
$COS cat $B/no/such >/dev/null 2>&1; check "cat of a missing key: exit 4" test $? -eq 4
$COS ls cos://nosuch-1250000000/ >/dev/null 2>&1; check "ls of a missing bucket: exit 4" test $? -eq 4
$COS cp -r cos://nosuch-1250000000/p "$T/nb" >/dev/null 2>"$T/err"; rc=$?
check "cp -r from a missing bucket: exit 4" test $rc -eq 4
check "... says NoSuchBucket, and nothing about a directory" bash -c "grep -q NoSuchBucket '$T/err' && ! grep -q 'not a directory' '$T/err'"
$COS mv -r $B/tree "$T/dest" >/dev/null 2>&1; rc=$?
check "mv -r through a symlink leading outside fails (exit 1)" test $rc -eq 1
check "... and the objects it could not write stay" $COS stat $B/tree/sub/x
check "... nothing outside" test ! -e "$T/outside/x"
$COS cp "$T/no-such-file" $B/x >/dev/null 2>&1; rc=$?
check "upload of a missing file: exit 4" test $rc -eq 4
COS_SECRET_KEY=wrongwrongwrongwrongwrongwrong00 $COS ls $B >/dev/null 2>&1; rc=$?
check "a wrong secret key: exit 3" test $rc -eq 3
COS_SECRET_ID= COS_SECRET_KEY= $COS ls $B >/dev/null 2>&1; rc=$?
check "no credentials: exit 3" test $rc -eq 3
# a port nothing listens on: the server's, once it is stopped
DEAD=$COS_ENDPOINT
$COS cp $B/priv "$T/p2" -q; stop_server
COS_ENDPOINT=$DEAD $COS cp $B/priv "$T/p2" >/dev/null 2>&1; rc=$?
check "no server: exit 5" test $rc -eq 5
check "... the local file is untouched" test "$(cat "$T/p2")" = secret
$COS cp >/dev/null 2>&1; check "cp with no arguments: exit 2" test $? -eq 2
$COS frobnicate >/dev/null 2>&1; check "an unknown command: exit 2" test $? -eq 2
$COS ls --no-such-option >/dev/null 2>&1; check "an unknown option: exit 2" test $? -eq 2
finish

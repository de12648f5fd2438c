#!/usr/bin/env bash
# test_cli.sh — the cos CLI against a private cos-server: subcommands, output
# formats, exit codes, config precedence, secrets never printed, resume after Ctrl-C.
set -u
. "$(dirname "$0")/lib.sh"
COS=$COS_CLI_BIN
start_server
B=cos://clitest-1250000000

check "help lists every command" bash -c "$COS --help | grep -q presign && $COS --help | grep -q sync"
check "subcommand help" bash -c "$COS cp --help | grep -q 'usage: cos cp'"
$COS bogus >/dev/null 2>&1; check "unknown command exits 2" test $? -eq 2
check "mb" $COS mb $B
$COS mb $B >/dev/null 2>"$TEST_TMP/err"; rc=$?
check "mb twice fails with the COS code" grep -q BucketAlreadyExists "$TEST_TMP/err"
check "error line carries the request id" grep -q "request id" "$TEST_TMP/err"
check "mb twice exit code 1" test $rc -eq 1
echo hello > "$TEST_TMP/a.txt"
head -c 5000000 /dev/urandom > "$TEST_TMP/big.bin"
check "cp up" $COS cp "$TEST_TMP/a.txt" $B/dir/a.txt
check "cp up multipart" $COS cp "$TEST_TMP/big.bin" $B/dir/big.bin --chunk-size 1048576
check "ls shows keys" bash -c "$COS ls $B -r | grep -q 'cos://clitest-1250000000/dir/big.bin'"
check "ls without -r shows the directory" bash -c "$COS ls $B | grep -q 'dir/'"
check "ls --json parses" bash -c "$COS ls $B -r --json | node -e 'const a=JSON.parse(require(\"fs\").readFileSync(0));if(a.length!==2)process.exit(1)'"
check "stat --json size" bash -c "$COS stat $B/dir/big.bin --json | node -e 'const o=JSON.parse(require(\"fs\").readFileSync(0));if(o.size!==5000000)process.exit(1)'"
check "cat" bash -c "$COS cat $B/dir/a.txt | grep -q hello"
check "cp down" $COS cp $B/dir/big.bin "$TEST_TMP/big.back"
check "download is byte-exact" cmp "$TEST_TMP/big.bin" "$TEST_TMP/big.back"
$COS stat $B/nope >/dev/null 2>&1; check "not found exits 4" test $? -eq 4
COS_SECRET_KEY=wrong $COS ls $B >/dev/null 2>&1; check "bad key exits 3" test $? -eq 3
check "no secret in verbose output" bash -c "! $COS ls $B -v 2>&1 | grep -q cosLOCALdevelopmentSECRETkey"
URL=$($COS presign $B/dir/a.txt)
check "presigned URL works with curl" bash -c "curl -sf --connect-to ::127.0.0.1:$PORT '$URL' | grep -q hello"
check "du counts" bash -c "$COS du $B | grep -q '^2 objects'"
check "cos->cos copy" $COS cp $B/dir/a.txt $B/copy/a.txt
check "mv" $COS mv $B/copy/a.txt $B/moved/a.txt
$COS stat $B/copy/a.txt >/dev/null 2>&1; check "mv removed the source" test $? -eq 4
mkdir -p "$TEST_TMP/sync"; echo one > "$TEST_TMP/sync/1"; echo two > "$TEST_TMP/sync/2"
check "sync uploads" bash -c "$COS sync $TEST_TMP/sync $B/s | grep -q '2 uploaded'"
echo three > "$TEST_TMP/sync/2"
check "sync uploads only what changed" bash -c "$COS sync $TEST_TMP/sync $B/s | grep -q '1 uploaded, 1 unchanged'"
# config precedence: flag > env > profile file
mkdir -p "$HOME/.config/cos"
printf '[default]\nsecret_id = wrong\nsecret_key = wrong\n[profile good]\nsecret_id = %s\nsecret_key = %s\n' "$COS_SECRET_ID" "$COS_SECRET_KEY" > "$HOME/.config/cos/config"
check "profile from the config file" env -u COS_SECRET_ID -u COS_SECRET_KEY $COS ls $B --profile good
env -u COS_SECRET_ID -u COS_SECRET_KEY $COS ls $B >/dev/null 2>&1; check "default profile used when no env" test $? -eq 3
check "env beats the file" $COS ls $B
check "flag beats env" bash -c "COS_SECRET_KEY=wrong $COS ls $B --secret-key $COS_SECRET_KEY"
# sign: reproduce vector 2 of tests/data/sign.json
AUTH=$($COS sign --secret-id AKIDEXAMPLEexampleEXAMPLEexample1234 --secret-key secretKEYexampleSECRETkeyEXAMPLE12 \
  --method put --key a.txt --query acl= --header "Host: examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com" \
  --key-time "1700000000;1700000900")
check "sign matches the official SDK" test "$AUTH" = "q-sign-algorithm=sha1&q-ak=AKIDEXAMPLEexampleEXAMPLEexample1234&q-sign-time=1700000000;1700000900&q-key-time=1700000000;1700000900&q-header-list=host&q-url-param-list=acl&q-signature=8635453b1af5ad4a47eb29dce1f62e03d589071a"
# Ctrl-C during an upload pauses; the same command resumes
head -c 120000000 /dev/urandom > "$TEST_TMP/huge.bin"
$COS cp "$TEST_TMP/huge.bin" $B/huge.bin --chunk-size 1048576 --parallel 1 >/dev/null 2>"$TEST_TMP/int.err" &
CP=$!
# interrupt once a part is recorded in the checkpoint (not after a fixed time:
# a slow build may not have finished one by then)
for _ in $(seq 1 200); do
  grep -qs '"n":' "$HOME"/.cache/cos-c/*.json && break
  sleep 0.05
done
kill -INT $CP; wait $CP; rc=$?
if [ $rc -eq 130 ]; then
  check "interrupted upload says how to resume" grep -q "run the same command again" "$TEST_TMP/int.err"
  $COS cp "$TEST_TMP/huge.bin" $B/huge.bin --chunk-size 1048576 2>"$TEST_TMP/resume.err" >/dev/null
  check "rerun resumes" grep -q "resumed" "$TEST_TMP/resume.err"
else
  ok "upload finished before the interrupt (fast machine)"
fi
check "resumed object is byte-exact" bash -c "$COS cp $B/huge.bin $TEST_TMP/huge.back && cmp $TEST_TMP/huge.bin $TEST_TMP/huge.back"
$COS rb $B >/dev/null 2>&1; check "rb refuses a non-empty bucket" test $? -ne 0
check "rb --force" $COS rb $B --force
mkdir -p "$TEST_TMP/tree/sub"; echo 1 > "$TEST_TMP/tree/a"; echo 22 > "$TEST_TMP/tree/sub/b"
check "cp -r a directory" bash -c "$COS cp -r $TEST_TMP/tree cos://clitest2-1250000000/t/ 2>&1 | grep -q 'copied 2 files' || ($COS mb cos://clitest2-1250000000 >/dev/null && $COS cp -r $TEST_TMP/tree cos://clitest2-1250000000/t/ | grep -q 'copied 2 files')"
check "cp -r keeps the tree" bash -c "$COS cat cos://clitest2-1250000000/t/sub/b | grep -q 22"
check "man page generated" bash -c "test -s $COS_BUILD_DIR/cos.1 && grep -q presign $COS_BUILD_DIR/cos.1"
finish

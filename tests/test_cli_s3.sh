#!/usr/bin/env bash
# test_cli_s3.sh — the cos CLI on s3:// URLs against OpenStack Swift + s3api
# (tests/support/swift_rig.py), which checks every SigV4 signature: settings
# from AWS_* variables and from ~/.aws profiles, mb/ls/cp/cat/stat/rm/sync/
# rb, multipart uploads, server-side copies, sync's change detection by MD5
# (an S3 store keeps no CRC-64), presigned URLs, a wrong secret refused, and
# cos:// and s3:// never mixed in one command.
set -u
. "$(dirname "$0")/lib.sh"
COS=$COS_CLI_BIN
RIG="$COS_SOURCE_DIR/tests/support/swift_rig.py"
if [ ! -x /usr/bin/swift-proxy-server ]; then
  echo "OpenStack Swift is not installed (scripts/install-deps.sh installs it)"; exit 1
fi
mkdir -p "$TEST_TMP/swift"
/usr/bin/python3 "$RIG" "$TEST_TMP/swift" "$TEST_TMP/swift.port" >"$TEST_TMP/rig.log" 2>&1 &
RIG_PID=$!
trap 'kill $RIG_PID 2>/dev/null; wait $RIG_PID 2>/dev/null; stop_server; rm -rf "$TEST_TMP"' EXIT
for _ in $(seq 1 1200); do [ -s "$TEST_TMP/swift.port" ] && break; kill -0 $RIG_PID 2>/dev/null || break; sleep 0.05; done
if [ ! -s "$TEST_TMP/swift.port" ]; then cat "$TEST_TMP/rig.log"; echo "0 passed, 1 failed"; exit 1; fi
grep '^swift_rig:' "$TEST_TMP/rig.log"
PORT=$(cat "$TEST_TMP/swift.port")

# lib.sh's COS_* settings stay set: an s3:// command must not use them
export AWS_ACCESS_KEY_ID=test:tester AWS_SECRET_ACCESS_KEY=testing AWS_ENDPOINT_URL="http://127.0.0.1:$PORT/"
unset AWS_REGION AWS_DEFAULT_REGION AWS_PROFILE AWS_SESSION_TOKEN
B=s3://cli-s3
same_files() { [ "$(cd "$1" && find . -type f | sort | xargs md5sum)" = "$(cd "$2" && find . -type f | sort | xargs md5sum)" ]; }
export -f same_files; export COS B

check "mb s3://" $COS mb $B
check "ls s3:// lists the bucket as s3://" bash -c "$COS ls s3:// | grep -qx 's3://cli-s3'"
check "mb of an existing bucket fails" bash -c "! $COS mb $B 2>/dev/null"

# one object up and down, small and multipart (7 MiB: two S3 parts of 5 MiB + 2 MiB)
echo "hello s3" > "$TEST_TMP/small.txt"
head -c 7340033 /dev/urandom > "$TEST_TMP/big.bin"
check "cp up (small)" $COS cp "$TEST_TMP/small.txt" $B/dir/small.txt
check "cp up (7 MiB, multipart)" $COS cp "$TEST_TMP/big.bin" $B/dir/big.bin
check "cat" bash -c "$COS cat $B/dir/small.txt | grep -qx 'hello s3'"
check "cp down is byte for byte" bash -c "$COS cp $B/dir/big.bin $TEST_TMP/big.back -q && cmp $TEST_TMP/big.bin $TEST_TMP/big.back"
check "stat shows the size" bash -c "$COS stat $B/dir/big.bin | grep -q 7340033"
check "stat --json" bash -c "$COS stat $B/dir/big.bin --json | grep -q '\"size\":7340033'"
# An S3 store keeps no CRC-64: stat says unknown (null), never a CRC-64 of 0.
check "stat --json: the CRC-64 of an S3 object is null, not \"0\"" bash -c "$COS stat $B/dir/big.bin --json | grep -q '\"crc64\":null'"
check "stat: no CRC-64 line for an S3 object" bash -c "$COS stat $B/dir/big.bin > $TEST_TMP/stat.txt && grep -q '^Size' $TEST_TMP/stat.txt && ! grep -q 'CRC-64' $TEST_TMP/stat.txt"
check "ls -r prints s3:// URLs" bash -c "$COS ls $B/ -r | grep -qx 's3://cli-s3/dir/big.bin'"
check "ls of a prefix shows the DIR" bash -c "$COS ls $B/ | grep -q 'DIR.*s3://cli-s3/dir/'"
check "du" bash -c "$COS du $B/dir | grep -q '^2 objects, 7340042 bytes'"
check "cp - uploads standard input" bash -c "echo piped | $COS cp - $B/piped.txt && $COS cat $B/piped.txt | grep -qx piped"
check "cp s3->s3 (server-side copy) keeps the bytes" \
  bash -c "$COS cp $B/dir/big.bin $B/copy/big.bin -q && $COS cp $B/copy/big.bin $TEST_TMP/copy.back -q && cmp $TEST_TMP/big.bin $TEST_TMP/copy.back"
check "cp s3->s3 of a key with a space, '+', '%' and UTF-8" \
  bash -c "$COS cp $B/dir/small.txt '$B/odd/a b+100%ü.txt' -q && $COS cp '$B/odd/a b+100%ü.txt' $B/odd/back.txt -q && $COS cat $B/odd/back.txt | grep -qx 'hello s3'"
check "cp --meta reaches S3 metadata" \
  bash -c "$COS cp $TEST_TMP/small.txt $B/meta.txt --meta color=blue -q && $COS stat $B/meta.txt | grep -qi 'color.*blue'"
check "a missing object: exit 4" bash -c "$COS stat $B/never-was 2>/dev/null; test \$? -eq 4"

# sync: a tree up, nothing to do the second time, a same-size change found by MD5
T="$TEST_TMP/tree"
mkdir -p "$T/sub/deep"
echo one > "$T/a.txt"; echo two > "$T/sub/b.txt"; echo three > "$T/sub/deep/c.txt"
check "sync up" bash -c "$COS sync $T $B/s | grep -q '3 transferred'"
check "sync up again: nothing to do (MD5 = ETag)" bash -c "$COS sync $T $B/s | grep -q '0 transferred (0 B), 3 unchanged'"
echo TWO > "$T/sub/b.txt"
check "sync finds a same-size change by MD5" bash -c "$COS sync $T $B/s | grep -q '1 transferred (4 B), 2 unchanged'"
check "sync down makes the same tree" bash -c "$COS sync $B/s $TEST_TMP/down -q && same_files $T $TEST_TMP/down"
rm "$T/a.txt"
check "sync --delete removes what the source lacks" bash -c "$COS sync $T $B/s --delete -q && ! $COS stat $B/s/a.txt 2>/dev/null"
check "sync s3->s3" bash -c "$COS sync $B/s $B/s2 -q && $COS cp -r $B/s2 $TEST_TMP/s2 -q && same_files $T $TEST_TMP/s2"

# past one page of a listing (the rig's Swift answers at most 100 keys a page: two pages)
M="$TEST_TMP/many"; mkdir -p "$M"
for i in $(seq 1 150); do echo "$i" > "$M/f$i"; done
check "sync up 150 files" bash -c "$COS sync $M $B/many -q && test \$($COS ls $B/many/ -r | wc -l) -eq 150"
check "du past one page" bash -c "$COS du $B/many | grep -q '^150 objects'"
check "rm -r past one page" bash -c "$COS rm $B/many -r --force -q && test -z \"\$($COS ls $B/many/ -r)\""

# presigned URLs reach the store they were made for (SigV4 query, UNSIGNED-PAYLOAD)
check "presign GET works with curl" bash -c "curl -sf \"\$($COS presign $B/dir/small.txt)\" | grep -qx 'hello s3'"
check "presign PUT works with curl" \
  bash -c "curl -sf -X PUT -H 'Content-Type:' --data-binary @$TEST_TMP/small.txt \"\$($COS presign $B/put.txt --method PUT)\" && $COS cat $B/put.txt | grep -qx 'hello s3'"

# refusals
check "a wrong secret: exit 3, SignatureDoesNotMatch" \
  bash -c "AWS_SECRET_ACCESS_KEY=wrong $COS ls $B/ 2>$TEST_TMP/err; test \$? -eq 3 && grep -q SignatureDoesNotMatch $TEST_TMP/err"
check "no credentials: exit 3 naming AWS_ACCESS_KEY_ID" \
  bash -c "env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY $COS ls $B/ 2>$TEST_TMP/err; test \$? -eq 3 && grep -q AWS_ACCESS_KEY_ID $TEST_TMP/err"
check "cos:// and s3:// in one command: exit 2" \
  bash -c "$COS cp $B/dir/small.txt cos://other-1250000000/x 2>$TEST_TMP/err; test \$? -eq 2 && grep -q 's3://' $TEST_TMP/err"
check "the secret never reaches the output" bash -c "! grep -rq testing $TEST_TMP/err"

# settings from ~/.aws (a profile names the endpoint, the key and the region)
mkdir -p "$HOME/.aws"
printf '[default]\naws_access_key_id = nobody\naws_secret_access_key = nothing\n\n[swift]\naws_access_key_id = test:tester\naws_secret_access_key = testing\n' > "$HOME/.aws/credentials"
printf '[profile swift]\nregion = us-east-1\nendpoint_url = http://127.0.0.1:%s\n' "$PORT" > "$HOME/.aws/config"
check "--profile from ~/.aws" \
  bash -c "env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_ENDPOINT_URL $COS ls $B/dir/ --profile swift | grep -q small.txt"
check "AWS_PROFILE from ~/.aws" \
  bash -c "env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_ENDPOINT_URL AWS_PROFILE=swift $COS cat $B/dir/small.txt | grep -qx 'hello s3'"
check "--profile beats the environment" \
  bash -c "AWS_SECRET_ACCESS_KEY=wrong $COS ls $B/dir/ --profile swift | grep -q small.txt"
check "[default] of ~/.aws is used when nothing else is" \
  bash -c "env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY $COS ls $B/ 2>/dev/null; test \$? -eq 3"
check "an unknown profile: exit 2 naming it" bash -c "$COS ls $B/ --profile nope 2>&1 | grep -q \"profile 'nope'\""

# rm and rb
check "rm one object" bash -c "$COS rm $B/piped.txt -q && ! $COS stat $B/piped.txt 2>/dev/null"
check "rm -r --force a prefix" bash -c "$COS rm $B/s2 -r --force -q && test -z \"\$($COS ls $B/s2/ -r)\""
check "rb of a non-empty bucket fails" bash -c "! $COS rb $B 2>/dev/null"
check "rb --force" bash -c "$COS rb $B --force -q && ! $COS ls s3:// | grep -q cli-s3"
finish

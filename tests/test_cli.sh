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
# sizes that overflow or carry a sign are usage errors, not wrapped to another size (fuzz_cli_args)
$COS ls $B --chunk-size 17179869184G >/dev/null 2>&1; check "an overflowing --chunk-size exits 2" test $? -eq 2
$COS ls $B --chunk-size " -1" >/dev/null 2>&1; check "a signed --chunk-size exits 2" test $? -eq 2
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
# docs/cli.md: errors are "cos: OP: Code: message (request id ID)"; a transfer's named the URL
# alone ("cos: cos://...: ..."), and one refused before sending said only "invalid argument"
COS_SECRET_KEY=wrong $COS cp "$TEST_TMP/a.txt" $B/dir/denied.txt 2> "$TEST_TMP/cperr"
check "a failed cp: cos: cp: URL: Code: message (request id ...)" grep -q "^cos: cp: $B/dir/denied.txt: SignatureDoesNotMatch: .*(request id " "$TEST_TMP/cperr"
AWS_ACCESS_KEY_ID=a AWS_SECRET_ACCESS_KEY=b AWS_ENDPOINT_URL=http://$COS_ENDPOINT $COS cp "$TEST_TMP/a.txt" s3://ab/x 2> "$TEST_TMP/cperr2"
check "a cp refused before sending says why" grep -q "^cos: cp: s3://ab/x: Bucket should be an S3 bucket name" "$TEST_TMP/cperr2"
# docs/cli.md: every item of cp/mv/sync/rm --json has the fields it names, null when unknown
check "cp/rm --json: every item has action, source, destination, size, code and message" bash -c "( $COS cp '$TEST_TMP/a.txt' $B/json/a.txt --json && $COS rm $B/json/a.txt --json ) | node -e '
  const docs=require(\"fs\").readFileSync(0,\"utf8\").trim().split(\"\\n\").map(JSON.parse);
  const want=[\"action\",\"source\",\"destination\",\"size\",\"code\",\"message\"];
  for (const d of docs) for (const i of d.items) for (const f of want) if (!(f in i)) { console.error(\"missing\", f, JSON.stringify(i)); process.exit(1); }
  if (docs.length!==2||docs[1].items[0].action!==\"delete\"||docs[1].items[0].size!==null||docs[0].items[0].code!==null) process.exit(1);'"
# stat of s3:// against cos-server's S3 dialect: the storage class and encryption come as
# x-amz-* headers (they were shown as STANDARD and null), and no CRC-64 is known (it was "0").
( export AWS_ACCESS_KEY_ID=$COS_SECRET_ID AWS_SECRET_ACCESS_KEY=$COS_SECRET_KEY AWS_ENDPOINT_URL=http://$COS_ENDPOINT
  $COS mb s3://clitest-s3 -q && $COS cp "$TEST_TMP/a.txt" s3://clitest-s3/ia.txt --storage-class STANDARD_IA --sse AES256 -q &&
  $COS stat s3://clitest-s3/ia.txt > "$TEST_TMP/s3stat.txt" && $COS stat s3://clitest-s3/ia.txt --json > "$TEST_TMP/s3stat.json" )
check "stat s3://: the storage class the S3 dialect answers" grep -q 'Storage-Class: STANDARD_IA' "$TEST_TMP/s3stat.txt"
check "stat s3://: the encryption" grep -q 'Encryption:    AES256' "$TEST_TMP/s3stat.txt"
check "stat s3://: no CRC-64 line" bash -c "grep -q '^Size' '$TEST_TMP/s3stat.txt' && ! grep -q CRC-64 '$TEST_TMP/s3stat.txt'"
check "stat s3:// --json: crc64 null, storage class and sse" bash -c "node -e 'const o=JSON.parse(require(\"fs\").readFileSync(0));if(o.crc64!==null||o.storage_class!==\"STANDARD_IA\"||o.sse!==\"AES256\")process.exit(1)' < '$TEST_TMP/s3stat.json'"
check "stat cos:// --json: the CRC-64 as a string" bash -c "$COS stat $B/dir/big.bin --json | grep -q '\"crc64\":\"[0-9]'"
COS_SECRET_KEY=wrong $COS ls $B >/dev/null 2>&1; check "bad key exits 3" test $? -eq 3
check "no secret in verbose output" bash -c "! $COS ls $B -v 2>&1 | grep -q cosLOCALdevelopmentSECRETkey"
URL=$($COS presign $B/dir/a.txt)
check "presigned URL names the endpoint in use" bash -c "echo '$URL' | grep -q '^http://127.0.0.1:$PORT/'"
check "presigned URL works with plain curl" bash -c "curl -sf '$URL' | grep -q hello"
check "presign --output json" bash -c "$COS presign $B/dir/a.txt --output json | node -e 'const o=JSON.parse(require(\"fs\").readFileSync(0));if(!o.url.startsWith(\"http://127.0.0.1:\"))process.exit(1)'"
PUTURL=$($COS presign $B/dir/put.txt --method PUT)
check "presigned PUT works with plain curl" bash -c "echo put | curl -sf -X PUT --data-binary @- '$PUTURL' && $COS cat $B/dir/put.txt | grep -q put"
$COS rm $B/dir/put.txt -q
check "du counts" bash -c "$COS du $B | grep -q '^2 objects'"
check "cos->cos copy" $COS cp $B/dir/a.txt $B/copy/a.txt
check "mv" $COS mv $B/copy/a.txt $B/moved/a.txt
$COS stat $B/copy/a.txt >/dev/null 2>&1; check "mv removed the source" test $? -eq 4
mkdir -p "$TEST_TMP/sync"; echo one > "$TEST_TMP/sync/1"; echo two > "$TEST_TMP/sync/2"
check "sync uploads" bash -c "$COS sync $TEST_TMP/sync $B/s | grep -q '2 transferred'"
echo three > "$TEST_TMP/sync/2"
check "sync uploads only what changed" bash -c "$COS sync $TEST_TMP/sync $B/s | grep -q '1 transferred (6 B), 1 unchanged'"
# config precedence: flag > env > profile file; a profile falls back to [default]
mkdir -p "$HOME/.config/cos"
printf '[default]\nsecret_id = wrong\nsecret_key = wrong\n[profile good]\nsecret_id = %s\nsecret_key = %s\n' "$COS_SECRET_ID" "$COS_SECRET_KEY" > "$HOME/.config/cos/config"
check "profile from the config file" env -u COS_SECRET_ID -u COS_SECRET_KEY $COS ls $B --profile good
env -u COS_SECRET_ID -u COS_SECRET_KEY $COS ls $B >/dev/null 2>&1; check "default profile used when no env" test $? -eq 3
check "env beats the file" $COS ls $B
check "flag beats env" bash -c "COS_SECRET_KEY=wrong $COS ls $B --secret-key $COS_SECRET_KEY"
check "--profile beats the environment" env COS_SECRET_KEY=wrong COS_SECRET_ID=wrong $COS ls $B --profile good
check "COS_PROFILE names the profile" env -u COS_SECRET_ID -u COS_SECRET_KEY COS_PROFILE=good $COS ls $B
env -u COS_SECRET_ID -u COS_SECRET_KEY $COS ls $B --profile goood >/dev/null 2>"$TEST_TMP/err"; rc=$?
check "an unknown profile exits 2" test $rc -eq 2
check "an unknown profile is named in the error" grep -q "profile 'goood' not found" "$TEST_TMP/err"
# the example of docs/cli.md: credentials in [default], the endpoint in [profile local]
printf '[default]\nsecret_id = %s\nsecret_key = %s\nregion = ap-guangzhou\n\n[profile local]\nendpoint = %s\n' "$COS_SECRET_ID" "$COS_SECRET_KEY" "$COS_ENDPOINT" > "$HOME/.config/cos/config"
check "a profile falls back to [default] (the docs' example)" env -u COS_SECRET_ID -u COS_SECRET_KEY -u COS_ENDPOINT $COS ls $B --profile local
# flags anywhere on the line
check "flags before the command" $COS --output json --endpoint "$COS_ENDPOINT" ls $B
check "--output json before the command gives JSON" bash -c "$COS --output json ls $B -r | node -e 'JSON.parse(require(\"fs\").readFileSync(0))'"
check "--flag=value" bash -c "$COS ls $B --output=json | node -e 'JSON.parse(require(\"fs\").readFileSync(0))'"
$COS ls $B --output yaml >/dev/null 2>&1; check "--output yaml exits 2" test $? -eq 2
$COS ls $B --bogus >/dev/null 2>&1; check "an unknown option exits 2" test $? -eq 2
check "--version" bash -c "$COS --version | grep -q '^cos [0-9]'"
check "--version after a command" bash -c "$COS ls --version | grep -q '^cos [0-9]'"
check "--help before the command" bash -c "$COS --help cp | grep -q 'usage: cos cp'"
# cos config writes a profile (answers on standard input), keeps the others, mode 0600
rm -f "$HOME/.config/cos/config"
printf '%s\n%s\nap-guangzhou\n%s\n' "$COS_SECRET_ID" "$COS_SECRET_KEY" "$COS_ENDPOINT" | $COS config --profile mine >/dev/null
check "cos config writes the profile" env -u COS_SECRET_ID -u COS_SECRET_KEY -u COS_ENDPOINT $COS ls $B --profile mine
check "the config file is private" test "$(stat -c %a "$HOME/.config/cos/config")" = 600
printf 'AKIDother\n\n\n\n' | $COS config >/dev/null
check "cos config of [default] keeps [profile mine]" env -u COS_SECRET_ID -u COS_SECRET_KEY -u COS_ENDPOINT $COS ls $B --profile mine
check "cos config writes [default]" grep -q "secret_id = AKIDother" "$HOME/.config/cos/config"
printf '\nnewsecret\n\n\n' | $COS config --profile mine >/dev/null
check "an empty answer keeps the value" bash -c "grep -A4 'profile mine' $HOME/.config/cos/config | grep -q 'secret_id = $COS_SECRET_ID' && grep -q 'secret_key = newsecret' $HOME/.config/cos/config"
# on a terminal the prompts show no character of the current secret key (its
# last four were shown: on the screen and in any log of the session) and the
# file's other values with their control characters escaped
printf '[profile shown]\nsecret_id = AKIDshown\033]0;retitled\007\nsecret_key = topSECRETtail9876\n' >> "$HOME/.config/cos/config"
printf '\n\n\n\n' | timeout 60 script -qec "$COS config --profile shown" /dev/null > "$TEST_TMP/cfgtty" 2>&1
check "cos config prompts on a terminal" grep -q "SecretKey" "$TEST_TMP/cfgtty"
check "cos config shows none of the secret key on a terminal" bash -c "! grep -q 9876 '$TEST_TMP/cfgtty'"
check "cos config escapes the file's control characters on a terminal" bash -c "grep -q AKIDshown '$TEST_TMP/cfgtty' && ! grep -q \$'\033]0;' '$TEST_TMP/cfgtty'"
check "cos config on a terminal keeps the values" grep -q "secret_key = topSECRETtail9876" "$HOME/.config/cos/config"
# a config file that is a symlink (dotfiles) is rewritten where it points:
# the link stays a link (it was replaced by a file of its own)
mkdir -p "$TEST_TMP/dotfiles"
mv "$HOME/.config/cos/config" "$TEST_TMP/dotfiles/cos-config"
ln -s "$TEST_TMP/dotfiles/cos-config" "$HOME/.config/cos/config"
printf 'AKIDlinked\n\n\n\n' | $COS config --profile linked >/dev/null
check "cos config keeps a symlinked config a symlink" test -L "$HOME/.config/cos/config"
check "cos config writes through the symlink" grep -q "secret_id = AKIDlinked" "$TEST_TMP/dotfiles/cos-config"
check "the symlinked config keeps [profile mine]" grep -q "profile mine" "$TEST_TMP/dotfiles/cos-config"
# a line over 4 KiB (a temporary key's security_token) is read whole and
# kept whole: fgets cut it in two (the token truncated, and cos config wrote
# the two halves as two lines)
LONG_TOKEN=$(head -c 6000 /dev/zero | tr '\0' 'T')
printf '[profile longtok]\nsecret_id = %s\nsecret_key = %s\nregion = ap-guangzhou\nendpoint = %s\nsecurity_token = %s\n' \
  "$COS_SECRET_ID" "$COS_SECRET_KEY" "$COS_ENDPOINT" "$LONG_TOKEN" >> "$HOME/.config/cos/config"
printf 'AKIDthird\nk3\n\n\n' | $COS config --profile third >/dev/null
check "cos config keeps another profile's 6000-byte line whole" grep -qx "security_token = $LONG_TOKEN" "$HOME/.config/cos/config"
check "no line of the token's second half" bash -c "! grep -qx 'T*' '$HOME/.config/cos/config'"
check "a profile's 6000-byte token is read whole (a presigned URL carries it)" bash -c \
  "env -u COS_SECRET_ID -u COS_SECRET_KEY -u COS_ENDPOINT $COS presign $B/k --profile longtok | grep -q 'token=${LONG_TOKEN}&\\|token=${LONG_TOKEN}\$'"
rm -f "$HOME/.config/cos/config"
# keeping the secret key out of ps: a file, standard input, and a flag blanked once read
printf '%s\n' "$COS_SECRET_KEY" > "$TEST_TMP/key"
check "--secret-key-file" env -u COS_SECRET_KEY $COS ls $B --secret-key-file "$TEST_TMP/key"
check "--secret-key-file -" bash -c "printf '%s\n' $COS_SECRET_KEY | env -u COS_SECRET_KEY $COS ls $B --secret-key-file -"
mkfifo "$TEST_TMP/fifo"
env -u COS_SECRET_KEY $COS cp - $B/fifo.txt --secret-key "$COS_SECRET_KEY" < "$TEST_TMP/fifo" >/dev/null 2>&1 &
CPID=$!
exec 7>"$TEST_TMP/fifo"  # the copy waits on standard input while we look at its command line
for _ in $(seq 1 1200); do tr '\0' ' ' < /proc/$CPID/cmdline 2>/dev/null | grep -q xxxxxxxx && break; sleep 0.05; done
check "a --secret-key is blanked from the command line (ps)" bash -c "! tr '\\0' ' ' < /proc/$CPID/cmdline | grep -q $COS_SECRET_KEY"
echo fifo >&7; exec 7>&-
wait $CPID; check "... and still used" test $? -eq 0
# so is a --token (a temporary key's security token)
env $COS cp - $B/fifo2.txt --token "tokenSECRETvalue123" < "$TEST_TMP/fifo" >/dev/null 2>&1 &
CPID=$!
exec 7>"$TEST_TMP/fifo"
for _ in $(seq 1 1200); do tr '\0' ' ' < /proc/$CPID/cmdline 2>/dev/null | grep -q xxxxxxxx && break; sleep 0.05; done
check "a --token is blanked from the command line (ps)" bash -c "! tr '\\0' ' ' < /proc/$CPID/cmdline | grep -q tokenSECRETvalue123"
exec 7>&-; wait $CPID
# an endpoint without a scheme is http only on this machine: anywhere else
# signed requests would go out in the clear
check "no scheme, a remote host: https" bash -c "COS_ENDPOINT=cos.example.com:8443 $COS presign $B/k | grep -q '^https://cos.example.com:8443/'"
check "no scheme, 127.0.0.1: http" bash -c "COS_ENDPOINT=127.0.0.1:9 $COS presign $B/k | grep -q '^http://127.0.0.1:9/'"
check "no scheme, localhost: http" bash -c "COS_ENDPOINT=localhost:9 $COS presign $B/k | grep -q '^http://localhost:9/'"
check "a look-alike of 127.0.0.1 is remote: https" bash -c "COS_ENDPOINT=127.0.0.1.example.com $COS presign $B/k | grep -q '^https://'"
check "http:// when asked" bash -c "COS_ENDPOINT=http://cos.example.com $COS presign $B/k | grep -q '^http://cos.example.com/'"
check "s3://, no scheme, a remote host: https" bash -c "AWS_ACCESS_KEY_ID=a AWS_SECRET_ACCESS_KEY=b AWS_ENDPOINT_URL=s3.example.com $COS presign s3://bkt/k | grep -q '^https://'"
# bash completion
$COS completion bash > "$TEST_TMP/comp.bash"
check "completion script loads" bash -c "source $TEST_TMP/comp.bash && complete -p cos | grep -q _cos"
check "completion completes commands" bash -c "source $TEST_TMP/comp.bash && COMP_WORDS=(cos sy) COMP_CWORD=1 && _cos && test \"\${COMPREPLY[*]}\" = sync"
check "completion completes options" bash -c "source $TEST_TMP/comp.bash && COMP_WORDS=(cos cp --storage-) COMP_CWORD=2 && _cos && test \"\${COMPREPLY[*]}\" = --storage-class"
check "completion is installed with the build" test -s "$COS_BUILD_DIR/cos.bash-completion"
# sign: reproduce vector 2 of tests/data/sign.json
AUTH=$($COS sign --secret-id AKIDEXAMPLEexampleEXAMPLEexample1234 --secret-key secretKEYexampleSECRETkeyEXAMPLE12 \
  --method put --key a.txt --query acl= --header "Host: examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com" \
  --key-time "1700000000;1700000900")
check "sign matches the official SDK" test "$AUTH" = "q-sign-algorithm=sha1&q-ak=AKIDEXAMPLEexampleEXAMPLEexample1234&q-sign-time=1700000000;1700000900&q-key-time=1700000000;1700000900&q-header-list=host&q-url-param-list=acl&q-signature=8635453b1af5ad4a47eb29dce1f62e03d589071a"
check "sign takes the key from the environment" bash -c "COS_SECRET_ID=AKIDEXAMPLEexampleEXAMPLEexample1234 COS_SECRET_KEY=secretKEYexampleSECRETkeyEXAMPLE12 $COS sign --method put --key a.txt --query acl= --header 'Host: examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com' --key-time '1700000000;1700000900' | grep -q q-signature=8635453b1af5ad4a47eb29dce1f62e03d589071a"
printf '[profile signer]\nsecret_id = AKIDEXAMPLEexampleEXAMPLEexample1234\nsecret_key = secretKEYexampleSECRETkeyEXAMPLE12\n' > "$HOME/.config/cos/config"
check "sign takes the key from a profile" bash -c "$COS sign --profile signer --method put --key a.txt --query acl= --header 'Host: examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com' --key-time '1700000000;1700000900' | grep -q q-signature=8635453b1af5ad4a47eb29dce1f62e03d589071a"
rm -f "$HOME/.config/cos/config"
env -u COS_SECRET_ID -u COS_SECRET_KEY $COS sign --method get --key a >/dev/null 2>&1; check "sign without a key exits 3" test $? -eq 3
# Ctrl-C during an upload pauses; the same command resumes
head -c 120000000 /dev/urandom > "$TEST_TMP/huge.bin"
$COS cp "$TEST_TMP/huge.bin" $B/huge.bin --chunk-size 1048576 --parallel 1 >/dev/null 2>"$TEST_TMP/int.err" &
CP=$!
# interrupt once a part is recorded in the checkpoint (not after a fixed time:
# a slow build may not have finished one by then)
for _ in $(seq 1 2400); do
  grep -qs '"n":' "$HOME"/.cache/cos-c/*.json && break
  kill -0 $CP 2>/dev/null || break
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
check "cp -r a directory" bash -c "$COS mb cos://clitest2-1250000000 >/dev/null && $COS cp -r $TEST_TMP/tree cos://clitest2-1250000000/t/ | grep -q '2 transferred'"
check "cp -r keeps the tree" bash -c "$COS cat cos://clitest2-1250000000/t/sub/b | grep -q 22"
check "man page generated" bash -c "test -s $COS_BUILD_DIR/cos.1 && grep -q presign $COS_BUILD_DIR/cos.1"
finish

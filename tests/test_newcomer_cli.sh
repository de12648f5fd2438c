#!/usr/bin/env bash
# test_newcomer_cli.sh — the script a newcomer writes from docs/cli.md alone:
# every documented command once, as the doc shows it, with what the doc says
# it prints and its exit code, against a fresh cos-server.
set -u
. "$(dirname "$0")/lib.sh"
start_server
COS=$COS_CLI_BIN
B=newcomer-1250000000
W="$TEST_TMP/w"; mkdir -p "$W/tree/sub" && cd "$W" || exit 1
printf 'hello\n' > tree/a.txt
head -c 3000000 /dev/urandom > tree/sub/big.bin
printf 'x' > tree/sub/c.txt

check "--version" "$COS" --version
check "--version --output json is one JSON document with version" bash -c '"$0" --version --output json | node -e "const j=JSON.parse(require(\"fs\").readFileSync(0));process.exit(j.version?0:1)"' "$COS"
check "mb" "$COS" mb "cos://$B"
check "mb again is a failure" bash -c '! "$0" mb "cos://$1"' "$COS" "$B"
check "ls lists the bucket" bash -c '"$0" ls | grep -q "$1"' "$COS" "$B"
check "cp file cos://b/dir/ uploads to dir/file" "$COS" cp tree/a.txt "cos://$B/dir/"
check "and stat finds dir/a.txt" "$COS" stat "cos://$B/dir/a.txt"
check "cat prints the bytes" bash -c '[ "$("$0" cat "cos://$1/dir/a.txt")" = hello ]' "$COS" "$B"
check "cp - uploads standard input" bash -c 'printf stdin | "$0" cp - "cos://$1/dir/stdin.txt"' "$COS" "$B"
check "cp cos://... - writes only the bytes" bash -c '[ "$("$0" cp "cos://$1/dir/stdin.txt" -)" = stdin ]' "$COS" "$B"
mkdir -p down
check "cp cos://b/dir/file . downloads into the directory" bash -c 'cd down && "$0" cp "cos://$1/dir/a.txt" . && cmp a.txt ../tree/a.txt' "$COS" "$B"
check "cp -r dir cos://b/p makes p/a.txt and p/sub/..." "$COS" cp -r tree "cos://$B/p"
check "ls -r lists p/sub/big.bin" bash -c '"$0" ls -r "cos://$1/p" | grep -q "p/sub/big.bin"' "$COS" "$B"
check "ls -l shows sizes" bash -c '"$0" ls -l "cos://$1/p/sub/" | grep -q 3000000' "$COS" "$B"
check "ls --output json has key/size" bash -c '"$0" ls -r "cos://$1/p" --output json | node -e "const j=JSON.parse(require(\"fs\").readFileSync(0));process.exit(j.some(o=>o.key===\"p/sub/big.bin\"&&o.size===3000000)?0:1)"' "$COS" "$B"
check "du counts 3 objects under p" bash -c '"$0" du "cos://$1/p" --output json | node -e "const j=JSON.parse(require(\"fs\").readFileSync(0));process.exit(j.objects===3&&j.bytes===3000007?0:1)"' "$COS" "$B"
check "cp -r down makes the tree again" bash -c '"$0" cp -r "cos://$1/p" back && diff -r tree back' "$COS" "$B"
check "sync up reports 0 transferred when nothing changed" bash -c '"$0" sync tree "cos://$1/p" | grep -q "sync: 0 transferred"' "$COS" "$B"
printf 'changed\n' > tree/a.txt
rm tree/sub/c.txt
check "sync --delete up: 1 transferred, 1 deleted" bash -c '"$0" sync --delete tree "cos://$1/p" | grep -q "sync: 1 transferred .*1 deleted"' "$COS" "$B"
check "sync down" bash -c '"$0" sync --delete "cos://$1/p" back && diff -r tree back' "$COS" "$B"
check "--dryrun does nothing" bash -c '"$0" rm -r --force --dryrun "cos://$1/p" | grep -q "(dryrun) delete" && "$0" stat "cos://$1/p/a.txt"' "$COS" "$B"
check "mv object" bash -c '"$0" mv "cos://$1/dir/a.txt" "cos://$1/moved/a.txt" | grep -q "move:" && ! "$0" stat "cos://$1/dir/a.txt" 2>/dev/null' "$COS" "$B"
"$COS" stat "cos://$B/no/such" >/dev/null 2>&1; rc=$?
check "stat of a missing object exits 4 (got $rc)" test "$rc" = 4
COS_SECRET_KEY=wrongwrongwrongwrongwrongwrong00 "$COS" ls "cos://$B" >/dev/null 2>"$TEST_TMP/auth.err"; rc=$?
check "a wrong key exits 3 (got $rc)" test "$rc" = 3
check "and the error line is cos: OP: Code: message (request id ...)" grep -Eq '^cos: .*: SignatureDoesNotMatch: .*\(request id [^)]+\)' "$TEST_TMP/auth.err"
check "and the secret is not printed" bash -c '! grep -q wrongwrong "$0"' "$TEST_TMP/auth.err"
"$COS" rm -r --force "cos://$B" >/dev/null 2>&1; rc=$?
check "rm -r --force of a whole bucket without --all exits 2 (got $rc)" test "$rc" = 2
url=$("$COS" presign "cos://$B/p/a.txt" --expires 60)
check "presign makes a URL the endpoint answers" bash -c '[ "$(curl -sf "$0")" = changed ]' "$url"
check "presign --output json" bash -c '"$0" presign "cos://$1/p/a.txt" --output json | node -e "const j=JSON.parse(require(\"fs\").readFileSync(0));process.exit(j.url&&j.expires?0:1)"' "$COS" "$B"
check "sign prints an Authorization" bash -c '"$0" sign --method GET --key a.txt | grep -q "q-sign-algorithm=sha1"' "$COS"
check "sign --output json" bash -c '"$0" sign --method put --pathname /a --header "content-type:text/plain" --output json | grep -q authorization' "$COS"
check "completion bash is a script" bash -c '"$0" completion bash | grep -q complete' "$COS"
check "--help" "$COS" --help
check "cp --help" "$COS" cp --help
# empty things: an empty file, an empty standard input, an empty object, an empty prefix
: > empty.txt
check "cp of an empty file up" "$COS" cp empty.txt "cos://$B/e/empty.txt"
check "cp of an empty standard input up" bash -c ': | "$0" cp - "cos://$1/e/stdin-empty"' "$COS" "$B"
check "stat of it says size 0" bash -c '"$0" stat "cos://$1/e/stdin-empty" --output json | node -e "const j=JSON.parse(require(\"fs\").readFileSync(0));process.exit(j.size===0?0:1)"' "$COS" "$B"
check "cat of an empty object prints nothing, exit 0" bash -c '[ -z "$("$0" cat "cos://$1/e/empty.txt")" ]' "$COS" "$B"
check "cp of an empty object down makes an empty file" bash -c 'rm -f got && "$0" cp "cos://$1/e/empty.txt" got && [ -f got ] && [ ! -s got ]' "$COS" "$B"
check "ls of a prefix with nothing under it: exit 0, no output" bash -c '[ -z "$("$0" ls "cos://$1/nothing-here/")" ]' "$COS" "$B"
# odd names both ways
mkdir -p odd && printf 1 > "odd/sp ace+plus%25 中.txt" && printf 2 > "odd/-dash"
check "cp -r of odd names up" "$COS" cp -r odd "cos://$B/odd"
check "and down, the same names and bytes" bash -c '"$0" cp -r "cos://$1/odd" oddback && diff -r odd oddback' "$COS" "$B"
check "rm -r --force of a prefix" bash -c '"$0" rm -r --force "cos://$1/odd" >/dev/null && [ -z "$("$0" ls "cos://$1/odd/")" ]' "$COS" "$B"
# cos config, answers on standard input, then a profile that names only the endpoint
printf '%s\n%s\n%s\n%s\n' "$COS_SECRET_ID" "$COS_SECRET_KEY" ap-guangzhou "$COS_ENDPOINT" | env -u COS_SECRET_ID -u COS_SECRET_KEY "$COS" config >/dev/null 2>&1
check "cos config writes a private file" bash -c '[ "$(stat -c %a "$HOME/.config/cos/config")" = 600 ]'
check "and ls works from it alone" env -u COS_SECRET_ID -u COS_SECRET_KEY -u COS_ENDPOINT -u COS_REGION "$COS" ls "cos://$B"
"$COS" ls --profile nosuch >/dev/null 2>&1; rc=$?
check "an unknown profile exits 2 (got $rc)" test "$rc" = 2
# s3:// against cos-server's S3 endpoint
export AWS_ACCESS_KEY_ID=$COS_SECRET_ID AWS_SECRET_ACCESS_KEY=$COS_SECRET_KEY AWS_ENDPOINT_URL=http://$COS_ENDPOINT AWS_REGION=ap-guangzhou
check "s3:// mb" "$COS" mb s3://s3side-1250000000
check "s3:// cp -r up" "$COS" cp -r tree s3://s3side-1250000000/t
check "s3:// ls" bash -c '"$0" ls -r s3://s3side-1250000000/t | grep -q big.bin' "$COS"
check "s3:// sync down" bash -c '"$0" sync s3://s3side-1250000000/t s3back && diff -r tree s3back' "$COS"
url=$("$COS" presign s3://s3side-1250000000/t/a.txt --expires 60)
check "s3:// presign is SigV4 and fetches" bash -c 'grep -q X-Amz-Signature <<<"$0" && [ "$(curl -sf "$0")" = changed ]' "$url"
check "cos:// and s3:// in one command exit 2" bash -c '"$0" cp "cos://$1/p/a.txt" s3://s3side-1250000000/x; [ $? = 2 ]' "$COS" "$B"
check "s3:// rb --force" "$COS" rb --force s3://s3side-1250000000
check "rb --force empties and removes" "$COS" rb --force "cos://$B"
check "and the bucket is gone" bash -c '! "$0" ls | grep -q "$1"' "$COS" "$B"
finish

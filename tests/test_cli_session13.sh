#!/usr/bin/env bash
# test_cli_session13.sh — the thirteenth session's attacks on the `cos` CLI:
# a password in an endpoint URL (echoed by curl's errors and copied into
# presigned URLs handed to others), and an interrupted download's
# leftovers (FILE.cos-partial, FILE.cos-partial.json) uploaded by a later
# sync or cp -r as if they were files of the tree. Every wait is for an event.
set -u
. "$(dirname "$0")/lib.sh"
COS=$COS_CLI_BIN
start_server
B=cos://s13-1250000000
check "mb" $COS mb $B -q

# --- a password in the endpoint: never printed, whatever the command, the
# dialect, -v, or where the endpoint came from (flag, environment, profile)
PW=s3cretPW9
echo x > "$TEST_TMP/x"
for ep in "http://alice:$PW@$COS_ENDPOINT" "alice:$PW@$COS_ENDPOINT" "https://alice:$PW@$COS_ENDPOINT/" \
          "ftp://alice:$PW@$COS_ENDPOINT" "http://$COS_ENDPOINT/?token=$PW" "http://$COS_ENDPOINT#$PW"; do
  for cmd in "ls $B" "cp $TEST_TMP/x $B/x" "presign $B/x" "stat $B/x -v" "sync $TEST_TMP $B/t" \
             "ls s3://s13-1250000000" "presign s3://s13-1250000000/x"; do
    AWS_ACCESS_KEY_ID=$COS_SECRET_ID AWS_SECRET_ACCESS_KEY=$COS_SECRET_KEY \
      $COS $cmd --endpoint "$ep" >"$TEST_TMP/out" 2>&1; rc=$?
    check "$cmd --endpoint with a secret in it: refused (exit 2)" test $rc -eq 2
    check "... and the secret is nowhere in what it printed" bash -c "! grep -q $PW $TEST_TMP/out"
  done
  COS_ENDPOINT=$ep $COS ls $B >"$TEST_TMP/out" 2>&1; rc=$?
  check "COS_ENDPOINT with a secret in it: refused (exit 2), not printed" \
    bash -c "test $rc -eq 2 && ! grep -q $PW $TEST_TMP/out"
done
mkdir -p "$HOME/.config/cos"
printf '[default]\nsecret_id = %s\nsecret_key = %s\nendpoint = http://bob:%s@%s\n' \
  "$COS_SECRET_ID" "$COS_SECRET_KEY" "$PW" "$COS_ENDPOINT" > "$HOME/.config/cos/config"
(unset COS_ENDPOINT; $COS ls $B -v) >"$TEST_TMP/out" 2>&1; rc=$?
check "a profile's endpoint with a secret in it: refused (exit 2), not printed" \
  bash -c "test $rc -eq 2 && ! grep -q $PW $TEST_TMP/out"
printf '\n\n\n\n' | (unset COS_ENDPOINT; $COS config) >"$TEST_TMP/out" 2>&1; rc=$?
check "config keeping that endpoint: refused (exit 2), not printed" \
  bash -c "test $rc -eq 2 && ! grep -q $PW $TEST_TMP/out"
check "... and the profile is unchanged" grep -q "bob:$PW@" "$HOME/.config/cos/config"
rm -f "$HOME/.config/cos/config"
printf 'id\nkey\nap-guangzhou\nhttp://carol:%s@127.0.0.1:1\n' "$PW" | $COS config >"$TEST_TMP/out" 2>&1; rc=$?
check "config given an endpoint with a secret: refused (exit 2), not printed, nothing written" \
  bash -c "test $rc -eq 2 && ! grep -q $PW $TEST_TMP/out && ! test -e $HOME/.config/cos/config"
check "a plain endpoint still works" $COS ls $B

# --- an interrupted download's leftovers are no files of the tree: uploaded,
# "f" would gain the objects f.cos-partial (its first bytes, then zeros) and
# f.cos-partial.json (a checkpoint); files of those names that are not
# libcos's (no checkpoint of its form beside them) are the user's and go up
T="$TEST_TMP/tree"
mkdir -p "$T/d"
echo whole > "$T/d/f"
head -c 1000 /dev/zero > "$T/d/f.cos-partial"
printf '{"upload_id":"\\"abc\\"","file_dev":"1","file_ino":"2","parts":[]}\n' > "$T/d/f.cos-partial.json"
head -c 10 /dev/zero > "$T/d/g.cos-partial" # gone: no checkpoint beside it
echo "my notes" > "$T/d/h.cos-partial.json"   # not libcos's form
# a live download's temporary (libcos marks its own: user.cos-c.temporary)
head -c 1000 /dev/zero > "$T/d/big.iso.cos-tmp-Ab12Cd"
python3 -c 'import os,sys; os.setxattr(sys.argv[1], "user.cos-c.temporary", b"1")' "$T/d/big.iso.cos-tmp-Ab12Cd"
check "sync up of a tree with a download's leftovers" $COS sync "$T" $B/up -q
$COS ls $B/up/ -r | sed "s#^$B/up/##" | sort > "$TEST_TMP/listed"
printf 'd/f\nd/g.cos-partial\nd/h.cos-partial.json\n' > "$TEST_TMP/want"
check "... uploads the files and the user's look-alikes, not the leftovers" diff "$TEST_TMP/want" "$TEST_TMP/listed"
check "cp -r up of it" $COS cp -r "$T" $B/cp -q
$COS ls $B/cp/ -r | sed "s#^$B/cp/##" | sort > "$TEST_TMP/listed"
check "... the same" diff "$TEST_TMP/want" "$TEST_TMP/listed"
finish

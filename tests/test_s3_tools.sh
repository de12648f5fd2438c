#!/usr/bin/env bash
# test_s3_tools.sh — Debian's S3 tools (aws-cli, s3cmd, rclone, python3-boto3)
# against a fresh cos-server, unchanged, pointed at it path-style by endpoint
# URL (http://127.0.0.1:PORT) with the server's keys: buckets, small and
# multipart objects, paged listings, sync twice, copy in place with new
# metadata, presigned URLs fetched by curl, tags and metadata, recursive
# removal, rclone check, wrong secrets, temporary keys, and every payload mode
# and checksum (tests/s3_payloads.py).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
AWS=/usr/bin/aws PY=/usr/bin/python3   # Debian's, not whatever else is first on PATH
for t in $AWS /usr/bin/s3cmd /usr/bin/rclone; do
  [ -x "$t" ] || { echo "$t is missing: run scripts/install-deps.sh"; echo "0 passed, 1 failed"; exit 1; }
done
$PY -c 'import boto3' 2>/dev/null || { echo "python3-boto3 is missing: run scripts/install-deps.sh"; echo "0 passed, 1 failed"; exit 1; }
. "$HERE/lib.sh"
start_server --sts-open
EP="http://127.0.0.1:$PORT"
T=$TEST_TMP

# only the tools' own settings, and only loopback: nothing of the caller's AWS environment
unset AWS_CA_BUNDLE AWS_PROFILE AWS_ENDPOINT_URL AWS_SESSION_TOKEN AWS_REGION
export NO_PROXY=127.0.0.1 no_proxy=127.0.0.1
# aws-cli: its own config file (multipart from 5 MiB, no pager, no IMDS lookups)
export AWS_ACCESS_KEY_ID=$COS_SECRET_ID AWS_SECRET_ACCESS_KEY=$COS_SECRET_KEY AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE=$T/aws-config AWS_SHARED_CREDENTIALS_FILE=$T/aws-creds AWS_EC2_METADATA_DISABLED=true AWS_PAGER=
printf '[default]\ns3 =\n    multipart_threshold = 5MB\n    multipart_chunksize = 5MB\n    addressing_style = path\n' >"$AWS_CONFIG_FILE"
aws() { $AWS --endpoint-url "$EP" "$@"; }

# data: 45 small files, one of 13 MB (three parts)
mkdir -p "$T/src/sub" "$T/dl"
for i in $(seq -w 1 45); do echo "file $i $RANDOM" >"$T/src/sub/f$i.txt"; done
head -c 13000000 /dev/urandom >"$T/src/big.bin"
echo hello >"$T/small.txt"

B=tools-bucket
# ---------------------------------------------------------------- aws-cli
check "aws: make a bucket (S3 name)" aws s3 mb s3://$B
check "aws: upload a small object" aws s3 cp "$T/small.txt" s3://$B/small.txt
check "aws: upload a multipart object" aws s3 cp "$T/src/big.bin" s3://$B/big.bin
aws s3 cp s3://$B/big.bin "$T/dl/big.bin" >/dev/null 2>&1
check "aws: multipart object downloads intact" cmp "$T/src/big.bin" "$T/dl/big.bin"
etag=$(aws s3api head-object --bucket $B --key big.bin --query ETag --output text 2>/dev/null)
check "aws: multipart ETag has the part count (-3)" grep -q -- '-3"\?$' <<<"$etag"
aws s3 cp s3://$B/small.txt "$T/dl/small.txt" >/dev/null 2>&1
check "aws: small object downloads intact" cmp "$T/small.txt" "$T/dl/small.txt"
out=$(aws s3 sync "$T/src" s3://$B/tree 2>&1)
check "aws: first sync uploads everything" test "$(grep -o 'upload: ' <<<"$out" | wc -l)" -eq 46
out=$(aws s3 sync "$T/src" s3://$B/tree 2>&1); rc=$?
check "aws: second sync transfers nothing" test $rc -eq 0 -a -z "$out"
n=$(aws s3 ls --recursive --page-size 10 s3://$B/tree/ 2>/dev/null | wc -l)
check "aws: recursive listing over 5 pages sees all 46 ($n)" test "$n" -eq 46
n=$(aws s3api list-objects-v2 --bucket $B --prefix tree/sub/ --page-size 7 --query 'Contents[].Key' --output text 2>/dev/null | wc -w)
check "aws: list-objects-v2 paginates with continuation tokens ($n)" test "$n" -eq 45
aws s3 cp s3://$B/big.bin s3://$B/big.bin --metadata-directive REPLACE --metadata colour=blue --content-type text/x-test >/dev/null 2>&1
meta=$(aws s3api head-object --bucket $B --key big.bin 2>/dev/null)
check "aws: copy in place replaces the metadata" grep -q '"colour": "blue"' <<<"$meta"
aws s3 cp s3://$B/big.bin "$T/dl/big2.bin" >/dev/null 2>&1
check "aws: copy in place keeps the bytes" cmp "$T/src/big.bin" "$T/dl/big2.bin"
url=$(aws s3 presign s3://$B/small.txt --expires-in 300 2>/dev/null)
check "aws: presigned URL fetched by curl" cmp <(curl -sf "$url") "$T/small.txt"
check "aws: presigned GET URL refused for PUT" test "$(curl -s -o /dev/null -w '%{http_code}' -X PUT --data x "$url")" = 403
check "aws: presigned URL with a parameter added is refused" test "$(curl -s -o /dev/null -w '%{http_code}' "$url&response-content-type=text/html")" = 403
check "aws: presigned URL does not reach another key" test "$(curl -s -o /dev/null -w '%{http_code}' "${url/small.txt/big.bin}")" = 403
aws s3api put-object-tagging --bucket $B --key small.txt --tagging 'TagSet=[{Key=team,Value=red}]' >/dev/null 2>&1
check "aws: tags round-trip" grep -q '"Value": "red"' <<<"$(aws s3api get-object-tagging --bucket $B --key small.txt 2>/dev/null)"
aws s3api put-object --bucket $B --key meta.txt --body "$T/small.txt" --metadata k1=v1,k2=v2 >/dev/null 2>&1
meta=$(aws s3api head-object --bucket $B --key meta.txt 2>/dev/null)
check "aws: metadata round-trips" grep -q '"k2": "v2"' <<<"$meta"
out=$(AWS_SECRET_ACCESS_KEY=wrong-secret aws s3 ls s3://$B/ 2>&1)
check "aws: a wrong secret gives SignatureDoesNotMatch" grep -q SignatureDoesNotMatch <<<"$out"
out=$(AWS_ACCESS_KEY_ID=AKIDnoSuchKey aws s3 ls s3://$B/ 2>&1)
check "aws: an unknown key gives InvalidAccessKeyId" grep -q InvalidAccessKeyId <<<"$out"

# ---------------------------------------------------------------- s3cmd (SigV4, and SigV2 with --signature-v2)
cat >"$T/s3cfg" <<EOF
[default]
access_key = $COS_SECRET_ID
secret_key = $COS_SECRET_KEY
host_base = 127.0.0.1:$PORT
host_bucket = 127.0.0.1:$PORT
use_https = False
signature_v2 = False
EOF
s3c() { /usr/bin/s3cmd -c "$T/s3cfg" --no-progress "$@"; }
check "s3cmd: make a bucket" s3c mb s3://s3cmd-bucket
check "s3cmd: upload" s3c put "$T/src/big.bin" s3://s3cmd-bucket/big.bin
check "s3cmd: download intact" bash -c "$(declare -f s3c); T=$T; s3c get --force s3://s3cmd-bucket/big.bin '$T/dl/s3cmd.bin' && cmp '$T/src/big.bin' '$T/dl/s3cmd.bin'"
check "s3cmd: sync a tree" s3c sync "$T/src/" s3://s3cmd-bucket/tree/
out=$(s3c sync "$T/src/" s3://s3cmd-bucket/tree/ 2>&1)
check "s3cmd: second sync uploads nothing" bash -c "! grep -q upload: <<<'$out'"
check "s3cmd: lists all 46" test "$(s3c ls -r s3://s3cmd-bucket/tree/ 2>/dev/null | wc -l)" -eq 46
check "s3cmd (SigV2): lists" test "$(s3c --signature-v2 ls -r s3://s3cmd-bucket/tree/sub/ 2>/dev/null | wc -l)" -eq 45
check "s3cmd (SigV2): downloads" s3c --signature-v2 get --force s3://s3cmd-bucket/tree/sub/f01.txt "$T/dl/v2.txt"
check "s3cmd (SigV2): intact" cmp "$T/src/sub/f01.txt" "$T/dl/v2.txt"
out=$(/usr/bin/s3cmd -c "$T/s3cfg" --secret_key=wrong-secret ls s3://s3cmd-bucket/ 2>&1)
check "s3cmd: a wrong secret gives SignatureDoesNotMatch" grep -q SignatureDoesNotMatch <<<"$out"
check "s3cmd: remove recursively" s3c del -r --force s3://s3cmd-bucket/
check "s3cmd: nothing left" test -z "$(s3c ls -r s3://s3cmd-bucket/ 2>/dev/null)"

# ---------------------------------------------------------------- rclone
export RCLONE_CONFIG=$T/rclone.conf
cat >"$RCLONE_CONFIG" <<EOF
[cs]
type = s3
provider = Other
access_key_id = $COS_SECRET_ID
secret_access_key = $COS_SECRET_KEY
endpoint = $EP
region = us-east-1
force_path_style = true
[bad]
type = s3
provider = Other
access_key_id = $COS_SECRET_ID
secret_access_key = wrong-secret
endpoint = $EP
region = us-east-1
force_path_style = true
EOF
rc_() { /usr/bin/rclone --config "$RCLONE_CONFIG" -q --s3-upload-cutoff 5M --s3-chunk-size 5M "$@"; }
check "rclone: make a bucket" rc_ mkdir cs:rclone-bucket
check "rclone: sync a tree (multipart big file)" rc_ sync "$T/src" cs:rclone-bucket/tree
out=$(/usr/bin/rclone --config "$RCLONE_CONFIG" -v sync "$T/src" cs:rclone-bucket/tree 2>&1)
check "rclone: second sync transfers nothing" bash -c "! grep -qi 'Copied' <<<'$out'"
check "rclone: check is clean" rc_ check "$T/src" cs:rclone-bucket/tree
check "rclone: download intact" rc_ copyto cs:rclone-bucket/tree/big.bin "$T/dl/rclone.bin"
check "rclone: downloaded bytes" cmp "$T/src/big.bin" "$T/dl/rclone.bin"
check "rclone: lists all 46" test "$(rc_ lsf -R --files-only cs:rclone-bucket/tree 2>/dev/null | wc -l)" -eq 46
out=$(/usr/bin/rclone --config "$RCLONE_CONFIG" --low-level-retries 1 --retries 1 lsf bad:rclone-bucket 2>&1)
check "rclone: a wrong secret gives SignatureDoesNotMatch" grep -q SignatureDoesNotMatch <<<"$out"
check "rclone: purge" rc_ purge cs:rclone-bucket/tree
check "rclone: nothing left" test -z "$(rc_ lsf -R cs:rclone-bucket 2>/dev/null)"

# ---------------------------------------------------------------- aws-cli: remove recursively
check "aws: remove recursively" aws s3 rm --recursive s3://$B/tree
check "aws: nothing left under the prefix" test -z "$(aws s3 ls --recursive s3://$B/tree/ 2>/dev/null)"

# ---------------------------------------------------------------- boto3: payload modes, checksums, attacks
aws s3 mb s3://payloads >/dev/null 2>&1
$PY "$HERE/s3_payloads.py" "$EP" payloads "$COS_SECRET_ID" "$COS_SECRET_KEY" >"$T/payloads.out" 2>&1
while read -r line; do
  case "$line" in "ok - "*) ok "boto3: ${line#ok - }" ;; "not ok - "*) bad "boto3: ${line#not ok - }" ;; esac
done <"$T/payloads.out"
grep -q '^0 failed' "$T/payloads.out" || { bad "boto3: s3_payloads.py finished"; tail -5 "$T/payloads.out"; }

# boto3 itself: multipart with a checksum, presign, temporary keys (x-amz-security-token)
$PY - "$EP" "$COS_SECRET_ID" "$COS_SECRET_KEY" >"$T/boto3.out" 2>&1 <<'EOF'
import json, sys, urllib.request, urllib.parse
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
ep, ak, sk = sys.argv[1:4]
def client(a=ak, s=sk, token=None, sv="s3v4"):
    return boto3.client("s3", endpoint_url=ep, aws_access_key_id=a, aws_secret_access_key=s, aws_session_token=token,
                        region_name="us-east-1", config=Config(signature_version=sv, s3={"addressing_style": "path"},
                                                               retries={"max_attempts": 1}))
def report(good, name):
    print(("ok - " if good else "not ok - ") + name)
def code(fn):
    try:
        fn()
        return "OK"
    except ClientError as e:
        return e.response["Error"]["Code"]
s3 = client()
b = "tmpkeys-1250000000"
s3.create_bucket(Bucket=b)
# multipart with CRC32 per part
up = s3.create_multipart_upload(Bucket=b, Key="mp", ChecksumAlgorithm="CRC32")
parts = []
for n, data in ((1, b"a" * (5 << 20)), (2, b"tail")):
    r = s3.upload_part(Bucket=b, Key="mp", UploadId=up["UploadId"], PartNumber=n, Body=data, ChecksumAlgorithm="CRC32")
    parts.append({"PartNumber": n, "ETag": r["ETag"], "ChecksumCRC32": r.get("ChecksumCRC32")})
report(all(p["ChecksumCRC32"] for p in parts), "upload_part echoes the part's CRC32")
report(up.get("ChecksumAlgorithm") == "CRC32", "create_multipart_upload answers its checksum algorithm")
done = s3.complete_multipart_upload(Bucket=b, Key="mp", UploadId=up["UploadId"], MultipartUpload={"Parts": parts})
report(s3.get_object(Bucket=b, Key="mp")["Body"].read() == b"a" * (5 << 20) + b"tail", "multipart with checksums intact")
# S3's composite: CRC32 over the parts' big-endian CRC32s, then "-N"
import base64, zlib
raw = b"".join((zlib.crc32(d) & 0xFFFFFFFF).to_bytes(4, "big") for d in (b"a" * (5 << 20), b"tail"))
want = base64.b64encode((zlib.crc32(raw) & 0xFFFFFFFF).to_bytes(4, "big")).decode() + "-2"
report(done.get("ChecksumCRC32") == want, "complete_multipart_upload answers the composite CRC32 (%s)" % done.get("ChecksumCRC32"))
h = s3.head_object(Bucket=b, Key="mp", ChecksumMode="ENABLED")
report(h.get("ChecksumCRC32") == want, "head_object returns the multipart object's composite CRC32")
# SigV2 (botocore's "s3" signer)
v2 = client(sv="s3")
v2.put_object(Bucket=b, Key="v2/obj", Body=b"v2 body")
report(v2.get_object(Bucket=b, Key="v2/obj")["Body"].read() == b"v2 body", "SigV2 header put and get")
u = v2.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "v2/obj"}, ExpiresIn=300)
report(urllib.request.urlopen(u).read() == b"v2 body", "SigV2 presigned URL")
report(code(lambda: client(s="wrong", sv="s3").get_object(Bucket=b, Key="v2/obj")) == "SignatureDoesNotMatch",
       "SigV2 with a wrong secret is refused")
# temporary keys from /sts, used through x-amz-security-token
q = urllib.parse.urlencode({"bucket": b, "allowPrefix": "tmp/*", "allowActions": "name/cos:PutObject,name/cos:GetObject"})
cred = json.load(urllib.request.urlopen(ep + "/sts?" + q))["credentials"]
t = client(cred["tmpSecretId"], cred["tmpSecretKey"], cred["sessionToken"])
report(code(lambda: t.put_object(Bucket=b, Key="tmp/ok", Body=b"x")) == "OK", "a temporary key writes inside its policy")
report(code(lambda: t.put_object(Bucket=b, Key="other/no", Body=b"x")) == "AccessDenied",
       "a temporary key is refused outside its policy")
report(code(lambda: t.delete_object(Bucket=b, Key="tmp/ok")) == "AccessDenied",
       "a temporary key is refused an action its policy lacks")
report(code(lambda: client(cred["tmpSecretId"], cred["tmpSecretKey"], "forged-token").get_object(Bucket=b, Key="tmp/ok"))
       in ("InvalidAccessKeyId", "InvalidToken"), "a temporary key with another token is refused")
report(code(lambda: client(cred["tmpSecretId"], cred["tmpSecretKey"]).get_object(Bucket=b, Key="tmp/ok"))
       in ("InvalidAccessKeyId", "InvalidToken"), "a temporary key without its token is refused")
report(code(lambda: client(cred["tmpSecretId"], sk, cred["sessionToken"]).get_object(Bucket=b, Key="tmp/ok"))
       == "SignatureDoesNotMatch", "a temporary key id with the owner's secret is refused")
report(code(lambda: client(ak, cred["tmpSecretKey"]).get_object(Bucket=b, Key="tmp/ok")) == "SignatureDoesNotMatch",
       "the owner's key id with a temporary secret is refused")
pu = t.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "tmp/ok"}, ExpiresIn=300)
report(urllib.request.urlopen(pu).read() == b"x", "a temporary key's presigned URL (X-Amz-Security-Token)")
# SELECT Object Content in S3's dialect: its request's root, GZIP, and the event stream boto3 checks (CRCs)
import gzip
s3.put_object(Bucket=b, Key="sel.csv.gz", Body=gzip.compress(b"name,age\nann,31\nbo,22\n"))
ev = list(s3.select_object_content(Bucket=b, Key="sel.csv.gz", ExpressionType="SQL",
                                   Expression="SELECT s.name FROM S3Object s WHERE CAST(s.age AS INT) > 30",
                                   InputSerialization={"CSV": {"FileHeaderInfo": "USE"}, "CompressionType": "GZIP"},
                                   OutputSerialization={"JSON": {}})["Payload"])
report([e["Records"]["Payload"] for e in ev if "Records" in e] == [b'{"name":"ann"}\n'] and "End" in ev[-1],
       "select_object_content over a gzip CSV")
print("done")
EOF
while read -r line; do
  case "$line" in "ok - "*) ok "boto3: ${line#ok - }" ;; "not ok - "*) bad "boto3: ${line#not ok - }" ;; esac
done <"$T/boto3.out"
grep -qx done "$T/boto3.out" || { bad "boto3: the script finished"; tail -8 "$T/boto3.out"; }

finish

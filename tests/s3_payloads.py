#!/usr/bin/python3
"""Every S3 payload mode and checksum against cos-server, and the attacks on
them (tests/test_s3_tools.sh runs it with Debian's python3-botocore).

Headers are signed by botocore's own SigV4 signer; what botocore does not
produce (aws-chunked bodies with chunk signatures, trailers, CRC-32C and
CRC-64/NVME values) is built here from the published formats, independently
of the server's code. Prints "ok - ..." / "not ok - ..." lines.

usage: s3_payloads.py ENDPOINT BUCKET ACCESS_KEY SECRET_KEY
"""
import base64
import hashlib
import hmac
import http.client
import sys
import urllib.parse
import zlib

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ENDPOINT, BUCKET, AK, SK = sys.argv[1:5]
HOST = urllib.parse.urlparse(ENDPOINT).netloc
REGION = "us-east-1"
EMPTY = hashlib.sha256(b"").hexdigest()
failures = 0


def report(good, name, detail=""):
    global failures
    if good:
        print("ok - " + name)
    else:
        failures += 1
        print("not ok - %s %s" % (name, detail))


# ------------------------------------------------------------ checksums (reflected CRCs, table-driven)
def crc_table(poly, width):
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


T32C = crc_table(0x82F63B78, 32)
T64N = crc_table(0x9A6C9329AC4BC9B5, 64)


def crc_reflected(table, data, mask):
    c = mask
    for b in data:
        c = table[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ mask


def checksum(alg, data):
    if alg == "crc32":
        raw = (zlib.crc32(data) & 0xFFFFFFFF).to_bytes(4, "big")
    elif alg == "crc32c":
        raw = crc_reflected(T32C, data, 0xFFFFFFFF).to_bytes(4, "big")
    elif alg == "crc64nvme":
        raw = crc_reflected(T64N, data, 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")
    elif alg == "sha1":
        raw = hashlib.sha1(data).digest()
    else:
        raw = hashlib.sha256(data).digest()
    return base64.b64encode(raw).decode()


assert crc_reflected(T32C, b"123456789", 0xFFFFFFFF) == 0xE3069283
assert crc_reflected(T64N, b"123456789", 0xFFFFFFFFFFFFFFFF) == 0xAE8B14860A799888


# ------------------------------------------------------------ requests
class PayloadAuth(S3SigV4Auth):
    """botocore's S3 signer, with the x-amz-content-sha256 the caller chose (it would hash the body)."""

    def __init__(self, creds, payload):
        super().__init__(creds, "s3", REGION)
        self.fixed_payload = payload

    def payload(self, request):
        return self.fixed_payload


def signed_headers(method, key, headers, secret=SK, token=None, query=""):
    url = "%s/%s/%s%s" % (ENDPOINT, BUCKET, urllib.parse.quote(key), query)
    headers = dict(headers)
    payload = headers.pop("x-amz-content-sha256", EMPTY)
    req = AWSRequest(method=method, url=url, headers=headers, data=b"")
    PayloadAuth(Credentials(AK, secret, token), payload).add_auth(req)
    return dict(req.headers.items())


def send(method, key, body=b"", headers=None, query=""):
    conn = http.client.HTTPConnection(HOST, timeout=60)
    path = "/%s/%s%s" % (BUCKET, urllib.parse.quote(key), query)
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    status = resp.status
    hdrs = {k.lower(): v for k, v in resp.getheaders()}
    conn.close()
    return status, hdrs, data


def code_of(data):
    s = data.decode("utf-8", "replace")
    if "<Code>" not in s:
        return ""
    return s.split("<Code>")[1].split("</Code>")[0]


def get(key, mode=False):
    h = {"x-amz-checksum-mode": "ENABLED"} if mode else {}
    if mode:
        h["x-amz-content-sha256"] = EMPTY
    h = signed_headers("GET", key, dict(h, **{"x-amz-content-sha256": EMPTY}))
    return send("GET", key, headers=h)


def absent(key):
    return get(key)[0] == 404


# ------------------------------------------------------------ aws-chunked
def signing_key(secret, day):
    k = hmac.new(("AWS4" + secret).encode(), day.encode(), hashlib.sha256).digest()
    for part in (REGION, "s3", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return k


def chunked_put(key, pieces, mode, trailer=None, tamper=None, drop_final=False, size_line=None, swap=None,
                secret=SK, checksum_header=None):
    """PUT pieces as aws-chunked; tamper=(i, bytes) changes chunk i after signing."""
    decoded = sum(len(p) for p in pieces)
    h = {"x-amz-content-sha256": mode, "Content-Encoding": "aws-chunked",
         "x-amz-decoded-content-length": str(decoded)}
    if trailer:
        h["x-amz-trailer"] = trailer[0]
    if checksum_header:
        h[checksum_header[0]] = checksum_header[1]
    h = signed_headers("PUT", key, h, secret=secret)
    auth = h["Authorization"]
    assert h["X-Amz-Content-SHA256"] == mode
    seed = auth.split("Signature=")[1].strip()
    date = h["X-Amz-Date"]
    k = signing_key(secret, date[:8])
    scope = "%s/%s/s3/aws4_request" % (date[:8], REGION)
    signed = mode.startswith("STREAMING-AWS4")
    prev = seed
    out = []
    chunks = list(pieces) + [b""]
    sigs = []
    for data in chunks:
        if signed:
            sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", date, scope, prev, EMPTY, hashlib.sha256(data).hexdigest()])
            prev = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
            sigs.append(prev)
    if swap:
        sigs[swap[0]], sigs[swap[1]] = sigs[swap[1]], sigs[swap[0]]
    for i, data in enumerate(chunks):
        if tamper and tamper[0] == i:
            data = tamper[1]
        ext = ";chunk-signature=" + sigs[i] if signed else ""
        line = size_line if (size_line and i == 0) else "%x%s" % (len(data), ext)
        if data:
            out.append(line.encode() + b"\r\n" + data + b"\r\n")
        elif not drop_final:
            out.append(line.encode() + b"\r\n")
    body = b"".join(out)
    if not drop_final:
        if trailer:
            tl = "%s:%s\n" % trailer
            body += tl.replace("\n", "\r\n").encode()
            if signed:
                sts = "\n".join(["AWS4-HMAC-SHA256-TRAILER", date, scope, prev, hashlib.sha256(tl.encode()).hexdigest()])
                tsig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
                body += ("x-amz-trailer-signature:%s\r\n" % tsig).encode()
        body += b"\r\n"
    return send("PUT", key, body, h)


def main():
    data = bytes(range(256)) * 300  # 76,800 bytes: two 64 KiB-ish chunks
    pieces = [data[:65536], data[65536:], ]

    # signed payload: the hex SHA-256
    h = signed_headers("PUT", "signed", {"x-amz-content-sha256": hashlib.sha256(data).hexdigest()})
    st, _, _ = send("PUT", "signed", data, h)
    report(st == 200 and get("signed")[2] == data, "signed payload stored intact")
    h = signed_headers("PUT", "badsha", {"x-amz-content-sha256": hashlib.sha256(b"other").hexdigest()})
    st, _, body = send("PUT", "badsha", data, h)
    report(st == 400 and code_of(body) == "XAmzContentSHA256Mismatch" and absent("badsha"),
           "a body that is not the signed SHA-256 is refused and not stored", (st, body[:200]))

    # UNSIGNED-PAYLOAD
    h = signed_headers("PUT", "unsigned", {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    st, _, _ = send("PUT", "unsigned", data, h)
    report(st == 200 and get("unsigned")[2] == data, "UNSIGNED-PAYLOAD stored intact")

    # aws-chunked with chunk signatures
    st, _, body = chunked_put("chunked", pieces, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    g = get("chunked")
    report(st == 200 and g[2] == data, "aws-chunked signed chunks stored decoded", (st, body[:300]))
    report("aws-chunked" not in g[1].get("content-encoding", ""), "aws-chunked is not kept as the object's encoding")
    st, _, body = chunked_put("tampered", pieces, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                              tamper=(1, b"X" + pieces[1][1:]))
    report(st == 403 and code_of(body) == "SignatureDoesNotMatch" and absent("tampered"),
           "a tampered chunk is refused and nothing is stored", (st, body[:200]))
    st, _, body = chunked_put("swapped", [data[:40000], data[:40000]], "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                              swap=(0, 1))
    report(st == 403 and absent("swapped"), "chunk signatures replayed out of order are refused", (st, body[:200]))
    st, _, body = chunked_put("truncated", pieces, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", drop_final=True)
    report(st == 400 and code_of(body) == "IncompleteBody" and absent("truncated"),
           "a truncated aws-chunked body is refused and nothing is stored", (st, body[:200]))
    st, _, body = chunked_put("hugeline", pieces, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", size_line="f" * 5000)
    report(st in (400, 403) and absent("hugeline"), "a huge chunk-size line is refused", (st, body[:200]))
    st, _, body = chunked_put("hugesize", pieces, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                              size_line="ffffffffffffffffffff;chunk-signature=" + "0" * 64)
    report(st in (400, 403) and absent("hugesize"), "a chunk size past 2^64 is refused", (st, body[:200]))
    st, _, body = chunked_put("wrongkey", pieces, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", secret="not-the-secret")
    report(st == 403 and code_of(body) == "SignatureDoesNotMatch" and absent("wrongkey"),
           "aws-chunked signed with the wrong secret is refused", (st, body[:200]))

    # trailers: unsigned chunks, each algorithm; and the signed form
    for alg in ("crc32", "crc32c", "crc64nvme", "sha1", "sha256"):
        name = "x-amz-checksum-" + alg
        st, hd, body = chunked_put("trailer-" + alg, pieces, "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                                   trailer=(name, checksum(alg, data)))
        g = get("trailer-" + alg, mode=True)
        report(st == 200 and g[2] == data and g[1].get(name) == checksum(alg, data),
               "trailer checksum %s verified, stored and returned" % alg, (st, body[:300], g[1].get(name)))
        st, _, body = chunked_put("badtrailer-" + alg, pieces, "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                                  trailer=(name, checksum(alg, b"something else")))
        report(st == 400 and code_of(body) == "BadDigest" and absent("badtrailer-" + alg),
               "a wrong trailer %s is refused and nothing is stored" % alg, (st, body[:200]))
        # the same algorithm in a header with a signed payload
        h = signed_headers("PUT", "hdr-" + alg, {"x-amz-content-sha256": hashlib.sha256(data).hexdigest(),
                                                  name: checksum(alg, data)})
        st, hd, body = send("PUT", "hdr-" + alg, data, h)
        report(st == 200 and hd.get(name) == checksum(alg, data), "header checksum %s verified and echoed" % alg,
               (st, body[:200]))
        h = signed_headers("PUT", "badhdr-" + alg, {"x-amz-content-sha256": "UNSIGNED-PAYLOAD",
                                                     name: checksum(alg, b"x")})
        st, _, body = send("PUT", "badhdr-" + alg, data, h)
        report(st == 400 and code_of(body) == "BadDigest" and absent("badhdr-" + alg),
               "a wrong header %s is refused and nothing is stored" % alg, (st, body[:200]))
    st, _, body = chunked_put("strailer", pieces, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
                              trailer=("x-amz-checksum-crc32c", checksum("crc32c", data)))
    report(st == 200 and get("strailer")[2] == data, "signed chunks with a signed trailer", (st, body[:300]))
    st, _, body = chunked_put("strailer-bad", pieces, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
                              trailer=("x-amz-checksum-crc32c", checksum("crc32c", data)), secret="nope")
    report(st == 403 and absent("strailer-bad"), "a signed trailer with the wrong key is refused", (st, body[:200]))

    # an x-amz-* header added after signing
    h = signed_headers("PUT", "extra", {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    h["x-amz-checksum-crc32"] = checksum("crc32", b"abc")
    st, _, body = send("PUT", "extra", b"abc", h)
    report(st == 403 and absent("extra"), "an x-amz-* header added after signing is refused", (st, body[:200]))
    # a query parameter added after signing
    h = signed_headers("GET", "signed", {"x-amz-content-sha256": EMPTY})
    st, _, body = send("GET", "signed", headers=h, query="?response-content-type=text/html")
    report(st == 403 and code_of(body) == "SignatureDoesNotMatch", "a query parameter added after signing is refused")

    print("%d failed" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

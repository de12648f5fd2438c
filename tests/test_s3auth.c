/*
 * test_s3auth.c — cos-server's AWS signature verifier.
 *
 * 1. The computations (server/s3sig.c, compiled in) against signatures made
 *    elsewhere: AWS's published SigV4 examples for S3 (header, presigned,
 *    aws-chunked chain) and vectors made with python3-botocore 1.29 (odd
 *    keys, empty parameters, folded header values, security tokens).
 * 2. The server: requests signed at run time by libcos's own SigV4 signer,
 *    then tampered with (key, secret, date, region, a signed header, an
 *    unsigned x-amz-* header, a parameter added to a presigned URL, another
 *    method, an expired URL): each must be refused, and nothing stored.
 * 3. Browser POST forms signed the AWS way (V2, V4): accepted as signed;
 *    a forged signature, an edited policy, a field or key the policy does not
 *    allow, an expired or empty policy refused, and nothing stored.
 */
#define _GNU_SOURCE
#include "testlib.h"
#include "s3sig.h"
#include "signer.h"
#include "cos/sign.h"
#include "cos/hash.h"
#include "util.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#define AWS_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

static char *v4_sig(const char *secret, const char *amz_date, const char *region, const char *method,
                    const char *path, const cos_kv *q, size_t nq, const cos_kv *h, size_t nh, const char *signed_headers,
                    const char *payload)
{
    char day[9];
    snprintf(day, sizeof day, "%.8s", amz_date);
    unsigned char key[32];
    s3_signing_key(secret, day, region, "s3", key);
    char *creq = s3_canonical_request(method, path, q, nq, h, nh, signed_headers, payload);
    char scope[128], sig[65];
    snprintf(scope, sizeof scope, "%s/%s/s3/aws4_request", day, region);
    s3_v4_signature(key, amz_date, scope, creq, sig, NULL);
    free(creq);
    return strdup(sig);
}

/* ------------------------------------------------------------ AWS's published examples */

static void test_aws_get_object_example(void)
{
    const cos_kv h[] = { { "Host", "examplebucket.s3.amazonaws.com" }, { "Range", "bytes=0-9" },
                         { "x-amz-content-sha256", S3_EMPTY_SHA256 }, { "x-amz-date", "20130524T000000Z" },
                         { "User-Agent", "not signed" } };
    char *sig = v4_sig(AWS_SECRET, "20130524T000000Z", "us-east-1", "GET", "/test.txt", NULL, 0, h, 5,
                       "host;range;x-amz-content-sha256;x-amz-date", S3_EMPTY_SHA256);
    CHECK_STR(sig, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    free(sig);
}

static void test_aws_put_object_example(void)
{
    const char *body_sha = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072";
    const cos_kv h[] = { { "Host", "examplebucket.s3.amazonaws.com" }, { "Date", "Fri, 24 May 2013 00:00:00 GMT" },
                         { "x-amz-date", "20130524T000000Z" }, { "x-amz-storage-class", "REDUCED_REDUNDANCY" },
                         { "x-amz-content-sha256", body_sha } };
    /* the key "test$file.text" is decoded here: the server encodes it once, as S3 does */
    char *sig = v4_sig(AWS_SECRET, "20130524T000000Z", "us-east-1", "PUT", "/test$file.text", NULL, 0, h, 5,
                       "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class", body_sha);
    CHECK_STR(sig, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
    free(sig);
}

static void test_aws_list_and_lifecycle_examples(void)
{
    const cos_kv h[] = { { "Host", "examplebucket.s3.amazonaws.com" }, { "x-amz-date", "20130524T000000Z" },
                         { "x-amz-content-sha256", S3_EMPTY_SHA256 } };
    const cos_kv lc[] = { { "lifecycle", "" } };
    char *sig = v4_sig(AWS_SECRET, "20130524T000000Z", "us-east-1", "GET", "/", lc, 1, h, 3,
                       "host;x-amz-content-sha256;x-amz-date", S3_EMPTY_SHA256);
    CHECK_STR(sig, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
    free(sig);
    const cos_kv list[] = { { "prefix", "J" }, { "max-keys", "2" } }; /* out of order: sorted by the server */
    sig = v4_sig(AWS_SECRET, "20130524T000000Z", "us-east-1", "GET", "/", list, 2, h, 3,
                 "host;x-amz-content-sha256;x-amz-date", S3_EMPTY_SHA256);
    CHECK_STR(sig, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
    free(sig);
}

static void test_aws_presigned_example(void)
{
    const cos_kv h[] = { { "Host", "examplebucket.s3.amazonaws.com" } };
    const cos_kv q[] = { { "X-Amz-Algorithm", "AWS4-HMAC-SHA256" },
                         { "X-Amz-Credential", "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request" },
                         { "X-Amz-Date", "20130524T000000Z" }, { "X-Amz-Expires", "86400" },
                         { "X-Amz-SignedHeaders", "host" } };
    char *sig = v4_sig(AWS_SECRET, "20130524T000000Z", "us-east-1", "GET", "/test.txt", q, 5, h, 1, "host",
                       "UNSIGNED-PAYLOAD");
    CHECK_STR(sig, "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
    free(sig);
}

static void test_aws_chunked_example(void)
{
    const cos_kv h[] = { { "Host", "s3.amazonaws.com" }, { "x-amz-date", "20130524T000000Z" },
                         { "x-amz-storage-class", "REDUCED_REDUNDANCY" },
                         { "x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" },
                         { "Content-Encoding", "aws-chunked" }, { "x-amz-decoded-content-length", "66560" },
                         { "Content-Length", "66824" } };
    char *seed = v4_sig(AWS_SECRET, "20130524T000000Z", "us-east-1", "PUT", "/examplebucket/chunkObject.txt", NULL, 0,
                        h, 7, "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
                              "x-amz-decoded-content-length;x-amz-storage-class",
                        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
    CHECK_STR(seed, "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
    unsigned char key[32];
    s3_signing_key(AWS_SECRET, "20130524", "us-east-1", "s3", key);
    const char *scope = "20130524/us-east-1/s3/aws4_request";
    static const char *const want[] = { "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
                                        "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
                                        "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9" };
    const size_t sizes[] = { 65536, 1024, 0 };
    char *buf = malloc(65536);
    memset(buf, 'a', 65536);
    char prev[65], sig[65], hash[65];
    snprintf(prev, sizeof prev, "%s", seed);
    for (int i = 0; i < 3; i++) {
        cos_sha256_hex(buf, sizes[i], hash);
        s3_chunk_signature(key, "20130524T000000Z", scope, prev, hash, sig);
        CHECK_STR(sig, want[i]);
        memcpy(prev, sig, 65);
    }
    /* the chain: the same chunk signed after another seed is another signature (no replay) */
    s3_chunk_signature(key, "20130524T000000Z", scope, want[0], hash, sig);
    CHECK(strcmp(sig, want[2]) != 0);
    free(buf);
    free(seed);
}

/* ------------------------------------------------------------ vectors made with python3-botocore 1.29 */

static void test_botocore_vectors(void)
{
    /* GET of an odd key with a response override and an empty parameter; a header with blanks to fold */
    const cos_kv h1[] = { { "Host", "127.0.0.1:9000" }, { "Range", "bytes=0-9" }, { "X-Amz-Meta-Two", "  a   b  " },
                          { "X-Amz-Date", "20260102T030405Z" }, { "X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD" } };
    const cos_kv q1[] = { { "response-content-type", "text/plain" }, { "versionId", "" } };
    char *sig = v4_sig(TEST_SECRET_KEY, "20260102T030405Z", "ap-guangzhou", "GET",
                       "/bkt-1250000000/dir/a b+c&d=%\xc3\xa9~x_y-z.txt", q1, 2, h1, 5,
                       "host;range;x-amz-content-sha256;x-amz-date;x-amz-meta-two", "UNSIGNED-PAYLOAD");
    CHECK_STR(sig, "8073d4af25645219f65d85bcdd847109ee9474d9032bbf236b352387e85f2155");
    free(sig);
    /* PUT ?tagging with a security token and a signed body hash */
    const char *sha = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";
    const cos_kv h2[] = { { "Host", "127.0.0.1:9000" }, { "Content-Type", "application/xml" },
                          { "X-Amz-Date", "20260102T030405Z" }, { "X-Amz-Security-Token", "TOKEN/with+chars=" },
                          { "X-Amz-Content-SHA256", sha } };
    const cos_kv q2[] = { { "tagging", "" } };
    sig = v4_sig(TEST_SECRET_KEY, "20260102T030405Z", "ap-guangzhou", "PUT", "/bkt-1250000000/k", q2, 1, h2, 5,
                 "content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token", sha);
    CHECK_STR(sig, "dabb30ae3c4e58921558f2d9e8408cc20783d07e764d6a39c2e0c42a1b740ffa");
    free(sig);
    /* a presigned URL with a token */
    const cos_kv h3[] = { { "Host", "127.0.0.1:9000" } };
    const cos_kv q3[] = { { "X-Amz-Algorithm", "AWS4-HMAC-SHA256" },
                          { "X-Amz-Credential", TEST_SECRET_ID "/20260102/us-east-1/s3/aws4_request" },
                          { "X-Amz-Date", "20260102T030405Z" }, { "X-Amz-Expires", "600" },
                          { "X-Amz-SignedHeaders", "host" }, { "X-Amz-Security-Token", "TOK" } };
    sig = v4_sig(TEST_SECRET_KEY, "20260102T030405Z", "us-east-1", "GET", "/bkt-1250000000/some key.txt", q3, 6, h3,
                 1, "host", "UNSIGNED-PAYLOAD");
    CHECK_STR(sig, "2b2a5ea07e39e48d69fcc20f6c036cf292b9fe4b69a0ece41a7a57f8d7403b8c");
    free(sig);
    /* SigV2 (botocore's HmacV1Auth) over its string to sign */
    const char *sts = "PUT\n1B2M2Y8AsgTpgAmY7PhCfg==\ntext/plain\nFri, 02 Jan 2026 03:04:05 GMT\n"
                      "x-amz-meta-a:1\nx-amz-meta-b:2\n/bkt-1250000000/v2%20key?acl";
    char v2[64];
    s3_v2_signature(TEST_SECRET_KEY, sts, strlen(sts), v2);
    CHECK_STR(v2, "CT1/2RQWxmpLAS9fdySGem3sZPE=");
}

/* Each tampering changes the signature the verifier computes. */
static void test_tampering_changes_the_signature(void)
{
    const cos_kv h[] = { { "Host", "examplebucket.s3.amazonaws.com" }, { "Range", "bytes=0-9" },
                         { "x-amz-content-sha256", S3_EMPTY_SHA256 }, { "x-amz-date", "20130524T000000Z" } };
    const char *sh = "host;range;x-amz-content-sha256;x-amz-date";
    const char *good = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";
    char *s[6];
    s[0] = v4_sig("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEx", "20130524T000000Z", "us-east-1", "GET", "/test.txt",
                  NULL, 0, h, 4, sh, S3_EMPTY_SHA256);                                      /* secret */
    s[1] = v4_sig(AWS_SECRET, "20130525T000000Z", "us-east-1", "GET", "/test.txt", NULL, 0, h, 4, sh,
                  S3_EMPTY_SHA256);                                                         /* date */
    s[2] = v4_sig(AWS_SECRET, "20130524T000000Z", "eu-west-1", "GET", "/test.txt", NULL, 0, h, 4, sh,
                  S3_EMPTY_SHA256);                                                         /* region */
    const cos_kv h2[] = { { "Host", "examplebucket.s3.amazonaws.com" }, { "Range", "bytes=0-99" },
                          { "x-amz-content-sha256", S3_EMPTY_SHA256 }, { "x-amz-date", "20130524T000000Z" } };
    s[3] = v4_sig(AWS_SECRET, "20130524T000000Z", "us-east-1", "GET", "/test.txt", NULL, 0, h2, 4, sh,
                  S3_EMPTY_SHA256);                                                         /* signed header */
    const cos_kv q[] = { { "acl", "" } };
    s[4] = v4_sig(AWS_SECRET, "20130524T000000Z", "us-east-1", "GET", "/test.txt", q, 1, h, 4, sh,
                  S3_EMPTY_SHA256);                                                         /* a parameter */
    s[5] = v4_sig(AWS_SECRET, "20130524T000000Z", "us-east-1", "PUT", "/test.txt", NULL, 0, h, 4, sh,
                  S3_EMPTY_SHA256);                                                         /* method */
    for (int i = 0; i < 6; i++) {
        CHECK(strcmp(s[i], good) != 0);
        free(s[i]);
    }
}

/* ------------------------------------------------------------ the server */

static test_server srv;
static bool srv_up;

static int send_raw(const char *req, char **body)
{
    int status = 0;
    if (test_http_raw(&srv, req, strlen(req), &status, body) != 0) return -1;
    return status;
}

static bool has_code(const char *body, const char *code)
{
    char want[128];
    snprintf(want, sizeof want, "<Code>%s</Code>", code);
    return body && strstr(body, want);
}

typedef struct signed_req {
    const char *method, *path, *secret, *access_key, *region;
    const char *extra_name, *extra_value; /* one more header, signed */
    int64_t time;
    const char *payload;
} signed_req;

/* A request signed by libcos's SigV4 signer (not the server's code); the raw text, malloc'd. */
static char *sign_request(const signed_req *s, const char *after_signing, const char *body)
{
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", srv.port);
    cos_kv h[2] = { { "host", host }, { s->extra_name, s->extra_value } };
    cos_sigv4_params p = COS_SIGV4_PARAMS_INIT;
    p.access_key = s->access_key ? s->access_key : TEST_SECRET_ID;
    p.secret_key = s->secret ? s->secret : TEST_SECRET_KEY;
    p.region = s->region ? s->region : "us-east-1";
    p.method = s->method;
    p.encoded_path = s->path;
    p.headers = h;
    p.header_count = s->extra_name ? 2 : 1;
    p.payload_hash = s->payload ? s->payload : "UNSIGNED-PAYLOAD";
    p.time = s->time;
    cos_sigv4_result res;
    cos_error *err = NULL;
    if (cos_sigv4_sign(&p, &res, &err) != 0) {
        cos_error_free(err);
        return NULL;
    }
    char *out = NULL;
    size_t blen = body ? strlen(body) : 0;
    if (asprintf(&out, "%s %s HTTP/1.1\r\nHost: %s\r\nx-amz-date: %s\r\nx-amz-content-sha256: %s\r\n%s%s%s%s"
                       "Authorization: %s\r\n%sContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                 s->method, s->path, host, res.amz_date, res.content_sha256, s->extra_name ? s->extra_name : "",
                 s->extra_name ? ": " : "", s->extra_name ? s->extra_value : "", s->extra_name ? "\r\n" : "",
                 res.authorization, after_signing ? after_signing : "", blen, body ? body : "") < 0)
        out = NULL;
    cos_sigv4_result_free(&res);
    return out;
}

static int run_signed(const signed_req *s, const char *after_signing, const char *body, char **resp)
{
    char *raw = sign_request(s, after_signing, body);
    if (!raw) return -1;
    int st = send_raw(raw, resp);
    free(raw);
    return st;
}

static bool object_absent(const char *path)
{
    signed_req g = { .method = "GET", .path = path };
    char *b = NULL;
    int st = run_signed(&g, NULL, NULL, &b);
    free(b);
    return st == 404;
}

static void test_server_accepts_libcos_sigv4(void)
{
    signed_req put = { .method = "PUT", .path = "/s3auth-1250000000/ok.txt" };
    char *b = NULL;
    CHECK_INT(run_signed(&put, NULL, "hello", &b), 200);
    free(b);
    signed_req get = { .method = "GET", .path = "/s3auth-1250000000/ok.txt" };
    b = NULL;
    CHECK_INT(run_signed(&get, NULL, NULL, &b), 200);
    CHECK(b && strstr(b, "hello"));
    free(b);
    /* the bucket's own region is accepted too */
    signed_req reg = { .method = "GET", .path = "/s3auth-1250000000/ok.txt", .region = "ap-guangzhou" };
    b = NULL;
    CHECK_INT(run_signed(&reg, NULL, NULL, &b), 200);
    free(b);
}

static void test_server_refuses_tampering(void)
{
    char *b = NULL;
    /* wrong secret */
    signed_req s = { .method = "PUT", .path = "/s3auth-1250000000/t1", .secret = "not-the-secret" };
    CHECK_INT(run_signed(&s, NULL, "x", &b), 403);
    CHECK(has_code(b, "SignatureDoesNotMatch"));
    free(b), b = NULL;
    CHECK(object_absent("/s3auth-1250000000/t1"));
    /* unknown key */
    s = (signed_req){ .method = "PUT", .path = "/s3auth-1250000000/t2", .access_key = "AKIDnotAKeyOfThisServer" };
    CHECK_INT(run_signed(&s, NULL, "x", &b), 403);
    CHECK(has_code(b, "InvalidAccessKeyId"));
    free(b), b = NULL;
    /* an hour off */
    s = (signed_req){ .method = "PUT", .path = "/s3auth-1250000000/t3", .time = (int64_t)time(NULL) - 3600 };
    CHECK_INT(run_signed(&s, NULL, "x", &b), 403);
    CHECK(has_code(b, "RequestTimeTooSkewed"));
    free(b), b = NULL;
    /* a region that is neither the bucket's nor us-east-1 */
    s = (signed_req){ .method = "PUT", .path = "/s3auth-1250000000/t4", .region = "eu-west-1" };
    CHECK_INT(run_signed(&s, NULL, "x", &b), 400);
    CHECK(has_code(b, "AuthorizationHeaderMalformed"));
    free(b), b = NULL;
    CHECK(object_absent("/s3auth-1250000000/t4"));
    /* a signed header's value changed: the signed x-amz-meta is sent, then another value */
    s = (signed_req){ .method = "PUT", .path = "/s3auth-1250000000/t5", .extra_name = "x-amz-meta-who",
                      .extra_value = "alice" };
    char *raw = sign_request(&s, NULL, "x");
    char *at = raw ? strstr(raw, "x-amz-meta-who: alice") : NULL;
    CHECK(at != NULL);
    if (at) memcpy(at + 16, "mallo", 5);
    CHECK_INT(send_raw(raw, &b), 403);
    CHECK(has_code(b, "SignatureDoesNotMatch"));
    free(raw);
    free(b), b = NULL;
    CHECK(object_absent("/s3auth-1250000000/t5"));
    /* an x-amz-* header added after signing */
    s = (signed_req){ .method = "PUT", .path = "/s3auth-1250000000/t6" };
    CHECK_INT(run_signed(&s, "x-amz-meta-late: 1\r\n", "x", &b), 403);
    CHECK(has_code(b, "AccessDenied"));
    free(b), b = NULL;
    CHECK(object_absent("/s3auth-1250000000/t6"));
    /* an x-cos-* header added after signing (the server reads those too) */
    int st = run_signed(&s, "x-cos-acl: public-read\r\n", "x", &b);
    CHECK(st == 403 || st == 400); /* refused as unsigned, or as COS's name in an S3 request */
    free(b), b = NULL;
    CHECK(object_absent("/s3auth-1250000000/t6"));
    /* the signed SHA-256 is not the body's */
    s = (signed_req){ .method = "PUT", .path = "/s3auth-1250000000/t7",
                      .payload = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" /* "hello" */ };
    CHECK_INT(run_signed(&s, NULL, "HELLO", &b), 400);
    CHECK(has_code(b, "XAmzContentSHA256Mismatch"));
    free(b), b = NULL;
    CHECK(object_absent("/s3auth-1250000000/t7"));
    CHECK_INT(run_signed(&s, NULL, "hello", &b), 200);
    free(b), b = NULL;
    /* a garbled Authorization */
    CHECK_INT(send_raw("GET /s3auth-1250000000/ok.txt HTTP/1.1\r\nHost: x\r\nx-amz-date: 20260101T000000Z\r\n"
                       "Authorization: AWS4-HMAC-SHA256 Credential=a/b\r\nConnection: close\r\n\r\n", &b), 400);
    CHECK(has_code(b, "AuthorizationHeaderMalformed"));
    free(b), b = NULL;
}

/* Not inlined: GCC -O3 then reads the URL it returns as a dangling pointer to its local. */
__attribute__((noinline)) static char *presign(const char *path, int expires, int64_t t, const char *secret)
{
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", srv.port);
    cos_kv h = { "host", host };
    cos_sigv4_params p = COS_SIGV4_PARAMS_INIT;
    p.access_key = TEST_SECRET_ID;
    p.secret_key = secret ? secret : TEST_SECRET_KEY;
    p.region = "us-east-1";
    p.method = "GET";
    p.encoded_path = path;
    p.headers = &h;
    p.header_count = 1;
    p.time = t;
    char *q = NULL;
    cos_error *err = NULL;
    if (cos_sigv4_presign(&p, expires, &q, &err) != 0) cos_error_free(err);
    return q;
}

static int fetch(const char *method, const char *path, const char *query, const char *extra, char **body)
{
    char *raw = NULL;
    if (asprintf(&raw, "%s %s?%s%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                 method, path, query, extra ? extra : "", srv.port) < 0)
        return -1;
    int st = send_raw(raw, body);
    free(raw);
    return st;
}

static void test_server_presigned(void)
{
    char *q = presign("/s3auth-1250000000/ok.txt", 300, 0, NULL), *b = NULL;
    CHECK(q != NULL);
    if (!q) return;
    CHECK_INT(fetch("GET", "/s3auth-1250000000/ok.txt", q, NULL, &b), 200);
    CHECK(b && strstr(b, "hello"));
    free(b), b = NULL;
    /* another method with the same URL */
    CHECK_INT(fetch("DELETE", "/s3auth-1250000000/ok.txt", q, NULL, &b), 403);
    free(b), b = NULL;
    CHECK_INT(fetch("PUT", "/s3auth-1250000000/ok.txt", q, NULL, &b), 403);
    free(b), b = NULL;
    /* a parameter added: a sub-resource, or an answer override */
    CHECK_INT(fetch("GET", "/s3auth-1250000000/ok.txt", q, "&acl", &b), 403);
    free(b), b = NULL;
    CHECK_INT(fetch("GET", "/s3auth-1250000000/ok.txt", q, "&response-content-type=text%2Fhtml", &b), 403);
    free(b), b = NULL;
    /* another key */
    CHECK_INT(fetch("GET", "/s3auth-1250000000/other.txt", q, NULL, &b), 403);
    free(b), b = NULL;
    /* an x-amz-* header sent with a presigned URL is not signed by it */
    char *raw = NULL;
    if (asprintf(&raw, "GET /s3auth-1250000000/ok.txt?%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nx-amz-meta-x: 1\r\n"
                       "Connection: close\r\n\r\n", q, srv.port) > 0) {
        CHECK_INT(send_raw(raw, &b), 403);
        free(raw);
        free(b), b = NULL;
    }
    free(q);
    /* expired: signed 20 minutes ago for 10 */
    q = presign("/s3auth-1250000000/ok.txt", 600, (int64_t)time(NULL) - 1200, NULL);
    CHECK_INT(fetch("GET", "/s3auth-1250000000/ok.txt", q, NULL, &b), 403);
    CHECK(has_code(b, "AccessDenied"));
    free(b), b = NULL;
    free(q);
    /* the wrong secret */
    q = presign("/s3auth-1250000000/ok.txt", 300, 0, "wrong");
    CHECK_INT(fetch("GET", "/s3auth-1250000000/ok.txt", q, NULL, &b), 403);
    CHECK(has_code(b, "SignatureDoesNotMatch"));
    free(b), b = NULL;
    free(q);
    /* X-Amz-Expires past a week (libcos will not sign one: edited into a URL it signed) */
    q = presign("/s3auth-1250000000/ok.txt", 300, 0, NULL);
    char *at = q ? strstr(q, "X-Amz-Expires=300&") : NULL;
    CHECK(at != NULL);
    char *longer = NULL;
    if (at && asprintf(&longer, "%.*sX-Amz-Expires=700000%s", (int)(at - q), q, at + 17) < 0) longer = NULL;
    free(q);
    q = longer;
    CHECK_INT(fetch("GET", "/s3auth-1250000000/ok.txt", q ? q : "", NULL, &b), 400);
    CHECK(has_code(b, "AuthorizationQueryParametersError"));
    free(b), b = NULL;
    free(q);
}

static void test_server_sigv2_query_expired(void)
{
    char *b = NULL;
    char q[256];
    snprintf(q, sizeof q, "AWSAccessKeyId=%s&Expires=%lld&Signature=abc%%3D", TEST_SECRET_ID,
             (long long)time(NULL) - 10);
    CHECK_INT(fetch("GET", "/s3auth-1250000000/ok.txt", q, NULL, &b), 403);
    CHECK(has_code(b, "AccessDenied"));
    free(b), b = NULL;
    snprintf(q, sizeof q, "AWSAccessKeyId=%s&Expires=%lld&Signature=abc%%3D", TEST_SECRET_ID,
             (long long)time(NULL) + 100);
    CHECK_INT(fetch("GET", "/s3auth-1250000000/ok.txt", q, NULL, &b), 403);
    CHECK(has_code(b, "SignatureDoesNotMatch"));
    free(b);
}

/* aws-chunked bodies the server must refuse without storing anything. */
static void test_server_chunked_refusals(void)
{
    char *b = NULL;
    signed_req s = { .method = "PUT", .path = "/s3auth-1250000000/c1", .payload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                     .extra_name = "x-amz-decoded-content-length", .extra_value = "5" };
    /* a chunk whose signature is not the chain's */
    CHECK_INT(run_signed(&s, NULL, "5;chunk-signature=0000000000000000000000000000000000000000000000000000000000000000"
                                   "\r\nhello\r\n0;chunk-signature=0000000000000000000000000000000000000000000000000000"
                                   "000000000000\r\n\r\n", &b), 403);
    CHECK(has_code(b, "SignatureDoesNotMatch"));
    free(b), b = NULL;
    CHECK(object_absent("/s3auth-1250000000/c1"));
    /* a size line longer than any chunk's */
    char *big = malloc(70000);
    memset(big, 'f', 69990);
    strcpy(big + 69990, "\r\n");
    CHECK_INT(run_signed(&s, NULL, big, &b), 400);
    free(big);
    free(b), b = NULL;
    CHECK(object_absent("/s3auth-1250000000/c1"));
    /* a chunk claiming more than x-amz-decoded-content-length */
    CHECK_INT(run_signed(&s, NULL, "ffffffff;chunk-signature=00000000000000000000000000000000000000000000000000000000000"
                                   "00000\r\nhello", &b), 400);
    free(b), b = NULL;
    /* unsigned chunks with no trailer end */
    s = (signed_req){ .method = "PUT", .path = "/s3auth-1250000000/c2", .payload = "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                      .extra_name = "x-amz-decoded-content-length", .extra_value = "5" };
    CHECK_INT(run_signed(&s, NULL, "5\r\nhello\r\n", &b), 400);
    CHECK(has_code(b, "IncompleteBody"));
    free(b), b = NULL;
    CHECK(object_absent("/s3auth-1250000000/c2"));
    /* and complete: stored decoded */
    CHECK_INT(run_signed(&s, NULL, "5\r\nhello\r\n0\r\n\r\n", &b), 200);
    free(b), b = NULL;
    signed_req g = { .method = "GET", .path = "/s3auth-1250000000/c2" };
    CHECK_INT(run_signed(&g, NULL, NULL, &b), 200);
    CHECK(b && strcmp(b, "hello") == 0);
    free(b);
}

/* ------------------------------------------------------------ POST forms signed the AWS way */

#define FORM_BUCKET "s3auth-1250000000"

/* A policy document expiring in_s seconds from now, with the given conditions (JSON array items). */
static char *form_policy(long in_s, const char *conditions)
{
    time_t t = time(NULL) + in_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    char exp[32];
    strftime(exp, sizeof exp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    char *json = NULL, *b64 = NULL;
    if (asprintf(&json, "{\"expiration\": \"%s\", \"conditions\": [%s]}", exp, conditions) < 0) return NULL;
    b64 = malloc(strlen(json) * 2 + 8);
    if (b64) cos_base64_encode((const unsigned char *)json, strlen(json), b64);
    free(json);
    return b64;
}

/* SigV2 of a form: base64 HMAC-SHA1(secret, policy), computed with OpenSSL here, not with s3sig.c. */
static void form_sig_v2(const char *secret, const char *policy, char out[64])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    HMAC(EVP_sha1(), secret, (int)strlen(secret), (const unsigned char *)policy, strlen(policy), mac, &n);
    cos_base64_encode(mac, n, out);
}

/* POST a multipart form (fields as name, value pairs, NULL-terminated) with file content; the status. */
static int post_form_raw(const char *const *fields, const char *content, char **body)
{
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", srv.port);
    cos_buf b = COS_BUF_INIT;
    for (size_t i = 0; fields[i]; i += 2)
        cos_buf_printf(&b, "--XXB\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n", fields[i], fields[i + 1]);
    cos_buf_printf(&b, "--XXB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.txt\"\r\n\r\n%s\r\n--XXB--\r\n",
                   content);
    char *req = NULL;
    int st = -1;
    if (asprintf(&req, "POST /" FORM_BUCKET " HTTP/1.1\r\nHost: %s\r\nContent-Type: multipart/form-data; boundary=XXB\r\n"
                       "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", host, b.len, b.data) >= 0)
        st = send_raw(req, body);
    free(req);
    cos_buf_free(&b);
    return st;
}

#define STD_CONDS "{\"bucket\": \"" FORM_BUCKET "\"}, [\"starts-with\", \"$key\", \"form/\"], {\"acl\": \"private\"}, " \
                  "[\"starts-with\", \"$Content-Type\", \"text/\"], [\"content-length-range\", 0, 64]"

static int post_v2(const char *key, const char *policy, const char *sig, const char *extra_name, const char *extra_value,
                   const char *content, char **body)
{
    const char *f[] = { "key", key, "AWSAccessKeyId", TEST_SECRET_ID, "acl", "private", "policy", policy,
                        "signature", sig, "Content-Type", "text/plain", extra_name, extra_value, NULL };
    return post_form_raw(f, content, body);
}

static void test_server_post_form_v2(void)
{
    char *pol = form_policy(600, STD_CONDS ", [\"starts-with\", \"$x-amz-meta-color\", \"\"]"), sig[64];
    form_sig_v2(TEST_SECRET_KEY, pol, sig);
    char *b = NULL;
    /* as signed: stored, 204 (S3's default) */
    CHECK_INT(post_v2("form/ok.txt", pol, sig, "x-amz-meta-color", "red", "form data", &b), 204);
    free(b), b = NULL;
    signed_req g = { .method = "GET", .path = "/" FORM_BUCKET "/form/ok.txt" };
    CHECK_INT(run_signed(&g, NULL, NULL, &b), 200);
    CHECK(b && strcmp(b, "form data") == 0);
    free(b), b = NULL;
    /* a signature that is not the policy's */
    char bad[64];
    snprintf(bad, sizeof bad, "%s", sig);
    bad[0] = bad[0] == 'A' ? 'B' : 'A';
    CHECK_INT(post_v2("form/t1.txt", pol, bad, NULL, NULL, "x", &b), 403);
    CHECK(has_code(b, "SignatureDoesNotMatch"));
    free(b), b = NULL;
    CHECK(object_absent("/" FORM_BUCKET "/form/t1.txt"));
    /* the policy edited after signing (a wider key prefix), the old signature kept */
    char *wide = form_policy(600, "{\"bucket\": \"" FORM_BUCKET "\"}, [\"starts-with\", \"$key\", \"\"], {\"acl\": \"private\"}, "
                                  "[\"starts-with\", \"$Content-Type\", \"text/\"]");
    CHECK_INT(post_v2("other/t2.txt", wide, sig, NULL, NULL, "x", &b), 403);
    free(b), b = NULL;
    CHECK(object_absent("/" FORM_BUCKET "/other/t2.txt"));
    /* another secret, an unknown key id */
    char other[64];
    form_sig_v2("not-the-secret", pol, other);
    CHECK_INT(post_v2("form/t3.txt", pol, other, NULL, NULL, "x", &b), 403);
    free(b), b = NULL;
    const char *unknown[] = { "key", "form/t3.txt", "AWSAccessKeyId", "AKIDnobodyNOBODY", "acl", "private", "policy", pol,
                              "signature", sig, "Content-Type", "text/plain", NULL };
    CHECK_INT(post_form_raw(unknown, "x", &b), 403);
    free(b), b = NULL;
    CHECK(object_absent("/" FORM_BUCKET "/form/t3.txt"));
    /* a key outside the policy's prefix */
    CHECK_INT(post_v2("secret/t4.txt", pol, sig, NULL, NULL, "x", &b), 403);
    CHECK(has_code(b, "AccessDenied"));
    free(b), b = NULL;
    CHECK(object_absent("/" FORM_BUCKET "/secret/t4.txt"));
    /* a field no condition names (here another ACL's worth: x-amz-meta-other, a storage class) */
    CHECK_INT(post_v2("form/t5.txt", pol, sig, "x-amz-storage-class", "ARCHIVE", "x", &b), 403);
    CHECK(has_code(b, "AccessDenied"));
    free(b), b = NULL;
    CHECK(object_absent("/" FORM_BUCKET "/form/t5.txt"));
    /* x-ignore-* is S3's documented exception */
    CHECK_INT(post_v2("form/t6.txt", pol, sig, "x-ignore-me", "1", "x", &b), 204);
    free(b), b = NULL;
    /* larger than content-length-range */
    CHECK_INT(post_v2("form/t7.txt", pol, sig, NULL, NULL,
                      "0123456789012345678901234567890123456789012345678901234567890123456789", &b), 400);
    CHECK(has_code(b, "EntityTooLarge"));
    free(b), b = NULL;
    CHECK(object_absent("/" FORM_BUCKET "/form/t7.txt"));
    /* success_action_status 201: a PostResponse naming the key */
    char *pol201 = form_policy(600, STD_CONDS ", {\"success_action_status\": \"201\"}"), sig201[64];
    form_sig_v2(TEST_SECRET_KEY, pol201, sig201);
    CHECK_INT(post_v2("form/t8.txt", pol201, sig201, "success_action_status", "201", "x", &b), 201);
    CHECK(b && strstr(b, "<Key>form/t8.txt</Key>"));
    free(b), b = NULL;
    /* expired; {} as a condition; no conditions at all */
    char *old = form_policy(-60, STD_CONDS), osig[64];
    form_sig_v2(TEST_SECRET_KEY, old, osig);
    CHECK_INT(post_v2("form/t9.txt", old, osig, NULL, NULL, "x", &b), 403);
    free(b), b = NULL;
    char *empty = form_policy(600, "{}"), esig[64];
    form_sig_v2(TEST_SECRET_KEY, empty, esig);
    CHECK_INT(post_v2("form/t9.txt", empty, esig, NULL, NULL, "x", &b), 400);
    free(b), b = NULL;
    CHECK(object_absent("/" FORM_BUCKET "/form/t9.txt"));
    free(pol), free(wide), free(pol201), free(old), free(empty);
}

static void test_server_post_form_v4(void)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char day[16], amz_date[32], cred[160];
    strftime(day, sizeof day, "%Y%m%d", &tm);
    strftime(amz_date, sizeof amz_date, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(cred, sizeof cred, "%s/%s/us-east-1/s3/aws4_request", TEST_SECRET_ID, day);
    char conds[1024];
    snprintf(conds, sizeof conds, STD_CONDS ", {\"x-amz-algorithm\": \"AWS4-HMAC-SHA256\"}, {\"x-amz-credential\": \"%s\"}, "
                                  "{\"x-amz-date\": \"%s\"}", cred, amz_date);
    char *pol = form_policy(600, conds);
    unsigned char key[32], mac[32];
    char sig[65];
    s3_signing_key(TEST_SECRET_KEY, day, "us-east-1", "s3", key);
    cos_hmac_sha256(key, 32, pol, strlen(pol), mac);
    cos_hex_encode(mac, 32, sig);
    const char *f[] = { "key", "form/v4.txt", "acl", "private", "Content-Type", "text/plain", "x-amz-algorithm",
                        "AWS4-HMAC-SHA256", "x-amz-credential", cred, "x-amz-date", amz_date, "policy", pol,
                        "x-amz-signature", sig, NULL };
    char *b = NULL;
    CHECK_INT(post_form_raw(f, "v4 data", &b), 204);
    free(b), b = NULL;
    CHECK(!object_absent("/" FORM_BUCKET "/form/v4.txt"));
    /* the same signature under another key name in the form: refused by the policy */
    const char *g[] = { "key", "elsewhere.txt", "acl", "private", "Content-Type", "text/plain", "x-amz-algorithm",
                        "AWS4-HMAC-SHA256", "x-amz-credential", cred, "x-amz-date", amz_date, "policy", pol,
                        "x-amz-signature", sig, NULL };
    CHECK_INT(post_form_raw(g, "x", &b), 403);
    free(b), b = NULL;
    CHECK(object_absent("/" FORM_BUCKET "/elsewhere.txt"));
    /* a signature with another region's key does not verify */
    s3_signing_key(TEST_SECRET_KEY, day, "eu-west-1", "s3", key);
    cos_hmac_sha256(key, 32, pol, strlen(pol), mac);
    cos_hex_encode(mac, 32, sig);
    const char *h[] = { "key", "form/v4b.txt", "acl", "private", "Content-Type", "text/plain", "x-amz-algorithm",
                        "AWS4-HMAC-SHA256", "x-amz-credential", cred, "x-amz-date", amz_date, "policy", pol,
                        "x-amz-signature", sig, NULL };
    CHECK_INT(post_form_raw(h, "x", &b), 403);
    CHECK(has_code(b, "SignatureDoesNotMatch"));
    free(b), b = NULL;
    CHECK(object_absent("/" FORM_BUCKET "/form/v4b.txt"));
    free(pol);
}

/* A body that fails its checksum may not have had the length it claimed
 * either: the answer closes the connection, so bytes past Content-Length
 * never become the start of the next request (botocore retries BadDigest on
 * the same connection, and its retry arrived as "rPUT ..."). */
static void test_server_bad_digest_closes(void)
{
    signed_req put = { .method = "PUT", .path = "/s3auth-1250000000/digest.txt", .extra_name = "x-amz-checksum-crc32",
                       .extra_value = "dv+Mqg==" /* CRC32 of "bar" */ };
    char *raw = sign_request(&put, NULL, "ba"); /* Content-Length: 2 */
    CHECK(raw != NULL);
    if (!raw) return;
    /* as botocore's retried SigV2 PUT did: the headers and "bar" where Content-Length said 2 */
    char *head_end = strstr(raw, "\r\n\r\n");
    CHECK(head_end != NULL);
    if (!head_end) {
        free(raw);
        return;
    }
    size_t hlen = (size_t)(head_end + 4 - raw);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = { 10, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char resp[16384];
    size_t got = 0;
    bool closed = false;
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        send(fd, raw, hlen, MSG_NOSIGNAL) == (ssize_t)hlen) {
        ssize_t n = 0;
        if (send(fd, "bar", 3, MSG_NOSIGNAL) == 3) {
            /* read until the server closes; a server that keeps the connection
               open leaves the stray "r" to start the next request */
            while (got < sizeof resp - 1 && (n = recv(fd, resp + got, sizeof resp - 1 - got, 0)) > 0) got += (size_t)n;
            closed = n == 0;
        }
    }
    resp[got] = '\0';
    if (fd >= 0) close(fd);
    CHECK(strncmp(resp, "HTTP/1.1 400", 12) == 0);
    CHECK(has_code(resp, "BadDigest"));
    CHECK(closed);
    free(raw);
    CHECK(object_absent("/s3auth-1250000000/digest.txt"));
}

/* A checksum value that cannot be one is S3's BadDigest (as s3-tests'
 * test_object_checksum_sha256 asserts), and nothing is stored. */
static void test_server_malformed_checksum(void)
{
    signed_req put = { .method = "PUT", .path = "/s3auth-1250000000/ck.txt", .extra_name = "x-amz-checksum-sha256",
                       .extra_value = "bad" };
    char *b = NULL;
    CHECK_INT(run_signed(&put, NULL, "hello", &b), 400);
    CHECK(has_code(b, "BadDigest"));
    free(b);
    CHECK(object_absent("/s3auth-1250000000/ck.txt"));
}

/* An Authorization whose first part has no '=' before its comma (the fuzzer's
 * find): the '=' of the next part was taken for its own, and the length between
 * them came out negative (ASan aborted the server on the allocation). */
static void test_server_malformed_v4_parts(void)
{
    static const char *const AUTHS[] = {
        "AWS4-HMAC-SHA256 Junk/aws4_request, SignedHeaders=host, Signature=00",
        "AWS4-HMAC-SHA256 ,,, =, Credential=, SignedHeaders=host",
        "AWS4-HMAC-SHA256 Credential",
    };
    for (size_t i = 0; i < sizeof AUTHS / sizeof AUTHS[0]; i++) {
        char req[512];
        snprintf(req, sizeof req, "GET /s3auth-1250000000/k HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: %s\r\n"
                 "Connection: close\r\n\r\n", srv.port, AUTHS[i]);
        char *b = NULL;
        CHECK_INT(send_raw(req, &b), 400);
        CHECK(has_code(b, "AuthorizationHeaderMalformed"));
        free(b);
    }
    CHECK(object_absent("/s3auth-1250000000/k")); /* and the server still answers */
}

static void setup(void)
{
    srv_up = test_server_start(&srv, NULL) == 0;
    CHECK(srv_up);
    if (srv_up) test_put_bucket_on(&srv, "s3auth-1250000000");
}

int main(void)
{
    RUN(test_aws_get_object_example);
    RUN(test_aws_put_object_example);
    RUN(test_aws_list_and_lifecycle_examples);
    RUN(test_aws_presigned_example);
    RUN(test_aws_chunked_example);
    RUN(test_botocore_vectors);
    RUN(test_tampering_changes_the_signature);
    RUN(setup);
    if (srv_up) {
        RUN(test_server_accepts_libcos_sigv4);
        RUN(test_server_refuses_tampering);
        RUN(test_server_presigned);
        RUN(test_server_sigv2_query_expired);
        RUN(test_server_chunked_refusals);
        RUN(test_server_post_form_v2);
        RUN(test_server_post_form_v4);
        RUN(test_server_bad_digest_closes);
        RUN(test_server_malformed_checksum);
        RUN(test_server_malformed_v4_parts);
        test_server_stop(&srv, false);
    }
    return test_report();
}

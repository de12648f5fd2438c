/*
 * test_s3_gaps.c — cos-server's answers where ceph/s3-tests found S3's
 * dialect short (docs/compatibility.md, "S3: ceph/s3-tests"), each checked
 * on the wire with requests signed by libcos's own SigV4 signer:
 *
 * 1. Expect: 100-continue: a PUT its headers already condemn (anonymous on
 *    a private bucket, a wrong signature, in either dialect) is refused
 *    before "100 Continue", so its body is never read; an allowed one gets
 *    100 and is stored. What only the body shows (its hash, its MD5), a grant
 *    withdrawn or the bucket deleted meanwhile are decided again at its end;
 *    a write that passed every check is not committed into a bucket deleted
 *    since (test_put_racing_bucket_delete).
 * 2. GET/HEAD ?partNumber=N: a multipart object's part N with Content-Range
 *    and x-amz-mp-parts-count; part 1 of a plain object is all of it; a part
 *    past the last is 400 InvalidPart.
 * 3. GetObjectAttributes (?attributes): ETag, ObjectSize, StorageClass,
 *    ObjectParts (paged), Checksum, VersionId, SSE-C's key required.
 * 4. Validation S3 makes: lifecycle rules, SSE-C beside another SSE header,
 *    an UploadPartCopy range past its source.
 * 6. x-amz-expiration on PUT, GET and HEAD: the enabled Expiration rule
 *    (prefix, tags) that takes the object first, and when.
 * 7. An unsigned request to a missing bucket is 404 NoSuchBucket (S3's
 *    answer; it carries no dialect), and an existing bucket stays closed.
 * 8. CompleteMultipartUpload's x-amz-checksum-* is the object's composite
 *    checksum: the parts are held to it; a repeated Complete answers it.
 * 9. CORS headers of a real request that names Access-Control-Request-Method.
 */
#define _GNU_SOURCE
#include "testlib.h"
#include "cos/sign.h"
#include "cos/hash.h"
#include "checksum.h"
#include "signer.h"
#include "util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define BUCKET "s3gaps-1250000000"
#define MIB (1024u * 1024u)

static test_server srv;
static bool srv_up;

/* ------------------------------------------------------------ the wire */

static int connect_server(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = { 60, 0 }; /* a safety net against a hang, never a measurement */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

typedef struct resp {
    int status;
    char *head;   /* status line and headers */
    char *body;   /* NUL-terminated too */
    size_t body_len;
} resp;

static void resp_free(resp *r)
{
    free(r->head);
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* A header's value in a response head (static buffer), or NULL. */
static const char *resp_header(const resp *r, const char *name)
{
    static char val[512];
    size_t n = strlen(name);
    for (const char *p = r->head ? strstr(r->head, "\r\n") : NULL; p && p[2]; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (!strncasecmp(line, name, n) && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ') v++;
            size_t len = strcspn(v, "\r\n");
            if (len >= sizeof val) len = sizeof val - 1;
            memcpy(val, v, len);
            val[len] = '\0';
            return val;
        }
    }
    return NULL;
}

/* Read until the peer closes; split into head and body. 0, or -1 with no HTTP answer. */
static int read_response(int fd, resp *out)
{
    char *all = NULL;
    size_t len = 0, cap = 0;
    char buf[65536];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
        if (len + (size_t)n + 1 > cap) {
            cap = (len + (size_t)n + 1) * 2;
            all = realloc(all, cap);
        }
        memcpy(all + len, buf, (size_t)n);
        len += (size_t)n;
        all[len] = '\0';
    }
    memset(out, 0, sizeof *out);
    if (!all || sscanf(all, "HTTP/1.%*d %d", &out->status) != 1) {
        free(all);
        return -1;
    }
    char *sep = strstr(all, "\r\n\r\n");
    size_t head_len = sep ? (size_t)(sep - all) : len;
    out->head = strndup(all, head_len);
    size_t off = sep ? head_len + 4 : len;
    out->body_len = len - off;
    out->body = malloc(out->body_len + 1);
    memcpy(out->body, all + off, out->body_len);
    out->body[out->body_len] = '\0';
    free(all);
    return 0;
}

static bool send_all(int fd, const void *p, size_t len)
{
    return test_send_all(fd, p, len);
}

/* An S3 request signed with SigV4 (UNSIGNED-PAYLOAD) by libcos: path is
 * /BUCKET/KEY (URL-safe), q the query (URL-safe values; "" = no value),
 * extra headers signed too. 0 with *out filled, or -1. */
#define ALT_ID "AKIDs3gapsALT000000000000000000000000"
#define ALT_KEY "s3gapsALTsecretKEY000000000000000"
static const char *call_id = TEST_SECRET_ID, *call_key = TEST_SECRET_KEY; /* who signs s3_call's requests */

/* Sign s3_call's requests as the second account (alt) or as the owner. */
static void as_alt(bool on)
{
    call_id = on ? ALT_ID : TEST_SECRET_ID;
    call_key = on ? ALT_KEY : TEST_SECRET_KEY;
}

static int s3_call(const char *method, const char *path, const cos_kv *q, size_t nq, const cos_kv *h, size_t nh,
                   const void *body, size_t blen, resp *out)
{
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", srv.port);
    cos_kv hs[16];
    size_t n = 0;
    hs[n++] = (cos_kv){ "host", host };
    for (size_t i = 0; i < nh && n < 16; i++) hs[n++] = h[i];
    cos_sigv4_params p = COS_SIGV4_PARAMS_INIT;
    p.access_key = call_id;
    p.secret_key = call_key;
    p.region = "us-east-1";
    p.method = method;
    p.encoded_path = path;
    p.query = q;
    p.query_count = nq;
    p.headers = hs;
    p.header_count = n;
    p.payload_hash = "UNSIGNED-PAYLOAD";
    cos_sigv4_result res;
    cos_error *err = NULL;
    if (cos_sigv4_sign(&p, &res, &err) != 0) {
        cos_error_free(err);
        return -1;
    }
    char *head = NULL;
    size_t hl = 0;
    FILE *f = open_memstream(&head, &hl);
    fprintf(f, "%s %s", method, path);
    for (size_t i = 0; i < nq; i++)
        fprintf(f, "%c%s%s%s", i ? '&' : '?', q[i].name, *q[i].value ? "=" : "", q[i].value);
    fprintf(f, " HTTP/1.1\r\nHost: %s\r\nx-amz-date: %s\r\nx-amz-content-sha256: %s\r\nAuthorization: %s\r\n", host,
            res.amz_date, res.content_sha256, res.authorization);
    for (size_t i = 0; i < nh; i++) fprintf(f, "%s: %s\r\n", h[i].name, h[i].value);
    fprintf(f, "Content-Length: %zu\r\nConnection: close\r\n\r\n", blen);
    fclose(f);
    cos_sigv4_result_free(&res);
    int fd = connect_server();
    int rc = -1;
    if (fd >= 0 && send_all(fd, head, hl) && (!blen || send_all(fd, body, blen))) rc = read_response(fd, out);
    if (fd >= 0) close(fd);
    free(head);
    return rc;
}

/* The status of a simple call, its answer dropped. */
static int s3_status(const char *method, const char *path, const cos_kv *q, size_t nq, const cos_kv *h, size_t nh,
                     const void *body, size_t blen)
{
    resp r;
    if (s3_call(method, path, q, nq, h, nh, body, blen, &r) != 0) return -1;
    int st = r.status;
    resp_free(&r);
    return st;
}

static bool has_code(const resp *r, const char *code)
{
    char want[128];
    snprintf(want, sizeof want, "<Code>%s</Code>", code);
    return r->body && strstr(r->body, want);
}

/* The text of the first <name> element of an XML body (static buffer), or NULL. */
static const char *xml_text(const char *xml, const char *name)
{
    static char val[512];
    char open[96];
    snprintf(open, sizeof open, "<%s>", name);
    const char *p = xml ? strstr(xml, open) : NULL;
    if (!p) return NULL;
    p += strlen(open);
    size_t len = strcspn(p, "<");
    if (len >= sizeof val) len = sizeof val - 1;
    memcpy(val, p, len);
    val[len] = '\0';
    return val;
}

/* ------------------------------------------------------------ 1. 100-continue */

/* Send a request's head with Expect: 100-continue and read the first answer
 * (an interim 100 or the final one) without sending the body. Its status, or
 * -1. *closed: the server then closed the connection (the body unread). */
static int expect_continue(const char *head_fmt_tail, bool *closed)
{
    int fd = connect_server();
    if (fd < 0) return -1;
    char *req = NULL;
    if (asprintf(&req, "%sContent-Length: 123\r\nExpect: 100-continue\r\n\r\n", head_fmt_tail) < 0) {
        close(fd);
        return -1;
    }
    int status = -1;
    if (send_all(fd, req, strlen(req))) {
        char buf[4096];
        ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
        if (n > 0) {
            buf[n] = '\0';
            if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) status = -1;
            if (closed) {
                /* drain whatever else came; a closed connection reads 0 */
                *closed = false;
                if (status != 100) {
                    ssize_t m;
                    while ((m = recv(fd, buf, sizeof buf, 0)) > 0) {}
                    *closed = m == 0;
                }
            }
        }
    }
    free(req);
    close(fd);
    return status;
}

static bool object_exists(const char *path)
{
    return s3_status("HEAD", path, NULL, 0, NULL, 0, NULL, 0) == 200;
}

/* The head of a PUT of `path` signed with SigV4 for 127.0.0.1:PORT by
 * (call_id, secret), its body hashed as `sha`, then `tail` (more header
 * lines and the blank line, or ""): 0, or -1 if it cannot be signed. */
static int signed_put_head(char *out, size_t cap, const char *path, const char *secret, const char *sha,
                           const char *tail)
{
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", srv.port);
    cos_kv h4[] = { { "host", host } };
    cos_sigv4_params p = COS_SIGV4_PARAMS_INIT;
    p.access_key = call_id;
    p.secret_key = secret;
    p.region = "us-east-1";
    p.method = "PUT";
    p.encoded_path = path;
    p.headers = h4;
    p.header_count = 1;
    p.payload_hash = sha;
    cos_sigv4_result res;
    cos_error *err = NULL;
    if (cos_sigv4_sign(&p, &res, &err) != 0) {
        cos_error_free(err);
        return -1;
    }
    snprintf(out, cap, "PUT %s HTTP/1.1\r\nHost: %s\r\nx-amz-date: %s\r\nx-amz-content-sha256: %s\r\n"
             "Authorization: %s\r\n%s", path, host, res.amz_date, res.content_sha256, res.authorization, tail);
    cos_sigv4_result_free(&res);
    return 0;
}

static void test_continue_refused_before_body(void)
{
    char head[512];
    /* anonymous (COS's dialect: no x-amz-* at all) on a private bucket */
    snprintf(head, sizeof head, "PUT /" BUCKET "/anon.txt HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n", srv.port);
    bool closed = false;
    CHECK_INT(expect_continue(head, &closed), 403);
    CHECK(closed);
    /* a COS signature with a wrong secret */
    cos_sign_params sp = COS_SIGN_PARAMS_INIT;
    sp.secret_id = TEST_SECRET_ID;
    sp.secret_key = "not-the-secret-key-000000000000000";
    sp.method = "PUT";
    sp.pathname = "/cosbad.txt";
    char hosth[96];
    snprintf(hosth, sizeof hosth, BUCKET ".cos.ap-guangzhou.myqcloud.com");
    cos_kv sh[] = { { "host", hosth } };
    sp.headers = sh;
    sp.header_count = 1;
    char *auth = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_sign(&sp, &auth, NULL, &err), err);
    snprintf(head, sizeof head, "PUT /cosbad.txt HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\n", hosth,
             auth ? auth : "");
    free(auth);
    CHECK_INT(expect_continue(head, NULL), 403);
    /* SigV4 with a wrong secret */
    CHECK(signed_put_head(head, sizeof head, "/" BUCKET "/v4bad.txt", "wrong-secret", "UNSIGNED-PAYLOAD", "") == 0);
    CHECK_INT(expect_continue(head, NULL), 403);
    /* SigV4 (right key) to a bucket that does not exist: S3 names it at once */
    CHECK(signed_put_head(head, sizeof head, "/nosuch-1250000000/x.txt", TEST_SECRET_KEY, "UNSIGNED-PAYLOAD", "") == 0);
    CHECK_INT(expect_continue(head, NULL), 404);
    CHECK(!object_exists("/" BUCKET "/anon.txt"));
    CHECK(!object_exists("/" BUCKET "/v4bad.txt"));
}

static void test_continue_allowed_then_stored(void)
{
    /* signed: 100, then the body, then 200 */
    char head[1024];
    CHECK(signed_put_head(head, sizeof head, "/" BUCKET "/cont.txt", TEST_SECRET_KEY, "UNSIGNED-PAYLOAD",
                          "Content-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n") == 0);
    int fd = connect_server();
    CHECK(fd >= 0);
    if (fd < 0) return;
    CHECK(send_all(fd, head, strlen(head)));
    char buf[256];
    ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    CHECK(!strncmp(buf, "HTTP/1.1 100", 12));
    CHECK(send_all(fd, "hello", 5));
    resp r;
    CHECK(read_response(fd, &r) == 0);
    CHECK_INT(r.status, 200);
    resp_free(&r);
    close(fd);
    CHECK(object_exists("/" BUCKET "/cont.txt"));

    /* anonymous on a public-read-write bucket: 100 (the ACL admits it) */
    cos_kv acl[] = { { "x-amz-acl", "public-read-write" } };
    CHECK_INT(s3_status("PUT", "/s3gaps-pub-1250000000", NULL, 0, acl, 1, NULL, 0), 200);
    snprintf(head, sizeof head, "PUT /s3gaps-pub-1250000000/anon.txt HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n", srv.port);
    CHECK_INT(expect_continue(head, NULL), 100);
}

/* A large body sent without Expect is read (answering before it would cut
 * the client off) but, refused from its headers, never stored: no temp file
 * appears under ROOT/tmp (inotify sees every create there before the answer). */
static void test_refused_body_not_stored(void)
{
    char dir[300];
    snprintf(dir, sizeof dir, "%s/tmp", srv.root);
    int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    CHECK(in >= 0);
    if (in < 0) return;
    CHECK(inotify_add_watch(in, dir, IN_CREATE) >= 0);
    size_t n = 1u << 20;
    char *body = malloc(n);
    memset(body, 'x', n);
    char head[512];
    /* anonymous, then a wrong COS signature */
    const char *auths[] = { "", "Authorization: q-sign-algorithm=sha1&q-ak=" TEST_SECRET_ID "&q-sign-time=1;9999999999"
                                "&q-key-time=1;9999999999&q-header-list=&q-url-param-list=&q-signature="
                                "0000000000000000000000000000000000000000\r\n" };
    for (size_t i = 0; i < 2; i++) {
        snprintf(head, sizeof head, "PUT /" BUCKET "/big%zu.bin HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s"
                 "Content-Length: %zu\r\nConnection: close\r\n\r\n", i, srv.port, auths[i], n);
        int fd = connect_server();
        CHECK(fd >= 0);
        if (fd < 0) break;
        CHECK(send_all(fd, head, strlen(head)) && send_all(fd, body, n));
        resp r;
        CHECK(read_response(fd, &r) == 0);
        CHECK_INT(r.status, 403);
        resp_free(&r);
        close(fd);
    }
    char ev[4096];
    ssize_t got = read(in, ev, sizeof ev);
    CHECK(got < 0); /* nothing was created: EAGAIN */
    close(in);
    /* the same body signed: stored (the watch saw files then) */
    CHECK_INT(s3_status("PUT", "/" BUCKET "/big-ok.bin", NULL, 0, NULL, 0, body, n), 200);
    free(body);
}

/* ------------------------------------------------------------ 1b. what the headers let through, the body's end decides again */

/* Whether the first answer read from fd is "100 Continue". */
static bool got_continue(int fd)
{
    char buf[256];
    memset(buf, 0, sizeof buf);
    return fd >= 0 && recv(fd, buf, sizeof buf - 1, 0) > 0 && !strncmp(buf, "HTTP/1.1 100", 12);
}

/* A signed S3 PUT's head with Expect: 100-continue (body_len bytes to
 * follow), sent on a new connection: its descriptor after "100 Continue"
 * was read, or -1 (any other first answer). sha: x-amz-content-sha256. */
static int continue_put(const char *path, size_t body_len, const char *sha)
{
    char tail[128], head[1024];
    snprintf(tail, sizeof tail, "Content-Length: %zu\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n", body_len);
    if (signed_put_head(head, sizeof head, path, call_key, sha, tail) != 0) return -1;
    int fd = connect_server();
    if (fd < 0) return -1;
    if (!send_all(fd, head, strlen(head)) || !got_continue(fd)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The final answer to a body sent after "100 Continue". */
static int finish_put(int fd, const void *body, size_t len, resp *r)
{
    int rc = send_all(fd, body, len) ? read_response(fd, r) : -1;
    close(fd);
    return rc;
}

/* Headers that pass, then a body that fails what only the body can show
 * (its signed SHA-256, its Content-MD5 in COS's dialect): refused, nothing
 * stored; and a refused head followed at once by its "body" holding a second
 * request: one answer, the connection closed, the second never served. */
static void test_continue_body_checked_at_its_end(void)
{
    const char *path = "/" BUCKET "/cont-sha.txt";
    char sha[65];
    cos_sha256_hex("hello", 5, sha);
    int fd = continue_put(path, 5, sha);
    CHECK(fd >= 0);
    resp r;
    if (fd >= 0) {
        CHECK(finish_put(fd, "HELLO", 5, &r) == 0);
        CHECK_INT(r.status, 400);
        CHECK(has_code(&r, "XAmzContentSHA256Mismatch"));
        resp_free(&r);
    }
    CHECK(!object_exists(path));

    /* anonymous on a public-read-write bucket, COS's dialect, a wrong Content-MD5 */
    char head[512];
    snprintf(head, sizeof head, "PUT /s3gaps-pub-1250000000/cont-md5.txt HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
             "Content-MD5: XUFAKrxLKna5cZ2REBfFkg==\r\nContent-Length: 5\r\nExpect: 100-continue\r\n"
             "Connection: close\r\n\r\n", srv.port);
    fd = connect_server();
    CHECK(fd >= 0 && send_all(fd, head, strlen(head)));
    CHECK(got_continue(fd));
    if (fd >= 0) {
        CHECK(finish_put(fd, "HELLO", 5, &r) == 0);
        CHECK_INT(r.status, 400);
        resp_free(&r);
    }
    CHECK(!object_exists("/s3gaps-pub-1250000000/cont-md5.txt"));

    /* refused (anonymous, private bucket); its 40 bytes of "body" are a request of their own */
    char smuggled[256];
    int sl = snprintf(smuggled, sizeof smuggled, "PUT /s3gaps-pub-1250000000/smuggled HTTP/1.1\r\nHost: x\r\n"
                      "Content-Length: 1\r\n\r\nS");
    snprintf(head, sizeof head, "PUT /" BUCKET "/refused.txt HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Length: %d\r\n"
             "Expect: 100-continue\r\n\r\n%s", srv.port, sl, smuggled);
    fd = connect_server();
    CHECK(fd >= 0 && send_all(fd, head, strlen(head)));
    if (fd >= 0) {
        CHECK(read_response(fd, &r) == 0);
        CHECK_INT(r.status, 403);
        CHECK(r.body && !strstr(r.body, "HTTP/1.")); /* one answer only */
        resp_free(&r);
        close(fd);
    }
    CHECK(!object_exists("/s3gaps-pub-1250000000/smuggled"));
}

/* Expect: 100-continue with a chunked body (refused before it; allowed:
 * stored whole) and on a presigned URL (a wrong signature refused before the
 * body, the right one stored). */
static void test_continue_chunked_and_presigned(void)
{
    char head[2048];
    snprintf(head, sizeof head, "PUT /" BUCKET "/chunked-anon HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
             "Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n", srv.port);
    int fd = connect_server();
    CHECK(fd >= 0 && send_all(fd, head, strlen(head)));
    resp r;
    if (fd >= 0) {
        CHECK(read_response(fd, &r) == 0); /* answered without a 100, and closed */
        CHECK_INT(r.status, 403);
        resp_free(&r);
        close(fd);
    }
    CHECK(!object_exists("/" BUCKET "/chunked-anon"));

    /* signed, chunked */
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", srv.port);
    cos_kv h4[] = { { "host", host } };
    cos_sigv4_params p = COS_SIGV4_PARAMS_INIT;
    p.access_key = TEST_SECRET_ID;
    p.secret_key = TEST_SECRET_KEY;
    p.region = "us-east-1";
    p.method = "PUT";
    p.encoded_path = "/" BUCKET "/chunked-ok";
    p.headers = h4;
    p.header_count = 1;
    p.payload_hash = "UNSIGNED-PAYLOAD";
    cos_sigv4_result res;
    cos_error *err = NULL;
    CHECK_OK(cos_sigv4_sign(&p, &res, &err), err);
    snprintf(head, sizeof head, "PUT /" BUCKET "/chunked-ok HTTP/1.1\r\nHost: %s\r\nx-amz-date: %s\r\n"
             "x-amz-content-sha256: UNSIGNED-PAYLOAD\r\nAuthorization: %s\r\nTransfer-Encoding: chunked\r\n"
             "Expect: 100-continue\r\nConnection: close\r\n\r\n", host, res.amz_date, res.authorization);
    cos_sigv4_result_free(&res);
    fd = connect_server();
    CHECK(fd >= 0 && send_all(fd, head, strlen(head)));
    CHECK(got_continue(fd));
    if (fd >= 0) {
        const char *chunks = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
        CHECK(finish_put(fd, chunks, strlen(chunks), &r) == 0);
        CHECK_INT(r.status, 200);
        resp_free(&r);
    }
    CHECK(s3_call("GET", "/" BUCKET "/chunked-ok", NULL, 0, NULL, 0, NULL, 0, &r) == 0);
    CHECK(r.status == 200 && r.body_len == 11 && !memcmp(r.body, "hello world", 11));
    resp_free(&r);

    /* presigned: the right URL gets 100, a tampered one is refused before its body */
    p.encoded_path = "/" BUCKET "/presigned";
    char *query = NULL;
    CHECK_OK(cos_sigv4_presign(&p, 600, &query, &err), err);
    for (int tamper = 1; tamper >= 0 && query; tamper--) {
        char *q = cos_strdup(query);
        if (tamper) q[strlen(q) - 1] = q[strlen(q) - 1] == '0' ? '1' : '0'; /* the signature's last digit */
        snprintf(head, sizeof head, "PUT /" BUCKET "/presigned?%s HTTP/1.1\r\nHost: %s\r\nContent-Length: 4\r\n"
                 "Expect: 100-continue\r\nConnection: close\r\n\r\n", q, host);
        free(q);
        fd = connect_server();
        CHECK(fd >= 0 && send_all(fd, head, strlen(head)));
        if (tamper) {
            CHECK(fd >= 0 && read_response(fd, &r) == 0);
            CHECK_INT(r.status, 403);
            resp_free(&r);
            if (fd >= 0) close(fd);
            CHECK(!object_exists("/" BUCKET "/presigned"));
        } else {
            CHECK(got_continue(fd));
            CHECK(fd >= 0 && finish_put(fd, "sign", 4, &r) == 0);
            CHECK_INT(r.status, 200);
            resp_free(&r);
            CHECK(object_exists("/" BUCKET "/presigned"));
        }
    }
    free(query);
}

/* A grant withdrawn between "100 Continue" and the body's end: the request is
 * decided again with the body, and refused. */
static void test_continue_grant_withdrawn(void)
{
    const char *b = "s3gaps-grant-1250000000";
    char path[96], policy[512];
    snprintf(path, sizeof path, "/%s", b);
    CHECK_INT(s3_status("PUT", path, NULL, 0, NULL, 0, NULL, 0), 200);
    snprintf(policy, sizeof policy, "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
             "\"Principal\":{\"AWS\":\"*\"},\"Action\":\"s3:PutObject\",\"Resource\":\"arn:aws:s3:::%s/*\"}]}", b);
    cos_kv pq[] = { { "policy", "" } };
    CHECK_INT(s3_status("PUT", path, pq, 1, NULL, 0, policy, strlen(policy)), 204);
    as_alt(true);
    int fd = continue_put("/s3gaps-grant-1250000000/late.txt", 4, "UNSIGNED-PAYLOAD");
    as_alt(false);
    CHECK(fd >= 0);
    CHECK_INT(s3_status("DELETE", path, pq, 1, NULL, 0, NULL, 0), 204);
    resp r;
    if (fd >= 0) {
        CHECK(finish_put(fd, "late", 4, &r) == 0);
        CHECK_INT(r.status, 403);
        resp_free(&r);
    }
    CHECK(!object_exists("/s3gaps-grant-1250000000/late.txt"));
}

/* The bucket deleted between "100 Continue" and the body's end (S3's
 * dialect, signed; COS's, anonymous on a public-read-write bucket): no
 * acknowledgement, and a bucket made again with that name is empty. */
static void test_continue_bucket_deleted(void)
{
    const char *b = "/s3gaps-gone-1250000000";
    cos_kv acl[] = { { "x-amz-acl", "public-read-write" } };
    CHECK_INT(s3_status("PUT", b, NULL, 0, acl, 1, NULL, 0), 200);
    int fd = continue_put("/s3gaps-gone-1250000000/k", 4, "UNSIGNED-PAYLOAD");
    CHECK(fd >= 0);
    CHECK_INT(s3_status("DELETE", b, NULL, 0, NULL, 0, NULL, 0), 204);
    resp r;
    if (fd >= 0) {
        CHECK(finish_put(fd, "gone", 4, &r) == 0);
        CHECK_INT(r.status, 404);
        resp_free(&r);
    }
    CHECK_INT(s3_status("PUT", b, NULL, 0, acl, 1, NULL, 0), 200);
    CHECK(!object_exists("/s3gaps-gone-1250000000/k"));
    char head[512];
    snprintf(head, sizeof head, "PUT /s3gaps-gone-1250000000/anon HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
             "Content-Length: 4\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n", srv.port);
    fd = connect_server();
    CHECK(fd >= 0 && send_all(fd, head, strlen(head)));
    CHECK(got_continue(fd));
    CHECK_INT(s3_status("DELETE", b, NULL, 0, NULL, 0, NULL, 0), 204);
    if (fd >= 0) {
        CHECK(finish_put(fd, "anon", 4, &r) == 0);
        CHECK(r.status >= 400);
        resp_free(&r);
    }
    CHECK_INT(s3_status("PUT", b, NULL, 0, NULL, 0, NULL, 0), 200);
    CHECK(!object_exists("/s3gaps-gone-1250000000/anon"));
}

/* The bucket deleted while a PUT that passed every check is still on its way
 * to the commit (held there by x-cos-traffic-limit's pacing, about 1 s): the
 * write is not acknowledged into a bucket that is gone, nor does it reappear
 * in a bucket made again with the name. The DELETE is sent once the body's
 * file leaves ROOT/tmp (inotify), which happens only after the checks; should
 * it still arrive after the commit, it finds the bucket not empty. */
static void test_put_racing_bucket_delete(void)
{
    const char *b = "/s3gaps-race-1250000000";
    cos_kv acl[] = { { "x-amz-acl", "public-read-write" } };
    CHECK_INT(s3_status("PUT", b, NULL, 0, acl, 1, NULL, 0), 200);
    char dir[300];
    snprintf(dir, sizeof dir, "%s/tmp", srv.root);
    int in = inotify_init1(IN_CLOEXEC);
    CHECK(in >= 0 && inotify_add_watch(in, dir, IN_MOVED_FROM) >= 0);
    size_t n = MIB; /* 1 s at 8 Mbit/s */
    char *body = malloc(n);
    memset(body, 'r', n);
    char head[512];
    snprintf(head, sizeof head, "PUT /s3gaps-race-1250000000/paced HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
             "x-cos-traffic-limit: 8388608\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", srv.port, n);
    int fd = connect_server();
    CHECK(fd >= 0 && send_all(fd, head, strlen(head)) && send_all(fd, body, n));
    free(body);
    struct pollfd pfd = { .fd = in, .events = POLLIN };
    CHECK(in >= 0 && poll(&pfd, 1, 60000) == 1); /* a safety net against a hang, never a measurement */
    if (in >= 0) close(in);
    int del = s3_status("DELETE", b, NULL, 0, NULL, 0, NULL, 0);
    resp r = { 0 };
    CHECK(fd >= 0 && read_response(fd, &r) == 0);
    if (fd >= 0) close(fd);
    if (del == 204) {
        CHECK_INT(r.status, 404);
        CHECK(has_code(&r, "NoSuchBucket"));
        CHECK_INT(s3_status("PUT", b, NULL, 0, NULL, 0, NULL, 0), 200);
        CHECK(!object_exists("/s3gaps-race-1250000000/paced"));
    } else {
        CHECK_INT(del, 409);
        CHECK_INT(r.status, 200);
        CHECK(object_exists("/s3gaps-race-1250000000/paced"));
    }
    resp_free(&r);
}

/* ------------------------------------------------------------ 2. GET/HEAD ?partNumber */

#define SSEC_ALG "x-amz-server-side-encryption-customer-algorithm"
#define SSEC_KEY "x-amz-server-side-encryption-customer-key"
#define SSEC_MD5 "x-amz-server-side-encryption-customer-key-MD5"
static const cos_kv SSEC[] = { { SSEC_ALG, "AES256" },
                               { SSEC_KEY, "pO3upElrwuEXSoFwCfnZPdSsmt/xWeFa0N9KgDijwVs=" },
                               { SSEC_MD5, "DWygnHRtgiJ77HCm+1rvHw==" } };

/* Part i's bytes: its own letter, so a part served from the wrong offset shows. */
static unsigned char *part_bytes(int i, size_t len)
{
    unsigned char *b = malloc(len ? len : 1);
    for (size_t k = 0; k < len; k++) b[k] = (unsigned char)('a' + i + (k % 7 == 6 ? 1 : 0));
    return b;
}

/* A multipart upload of n parts of sizes[] (extra headers on each request, e.g. SSE-C),
 * completed; its ETag (with quotes) into etag. 0 or -1. */
static int multipart_object(const char *path, const size_t *sizes, int n, const cos_kv *h, size_t nh, char etag[80],
                            char upload_id[80])
{
    resp r;
    cos_kv q[2] = { { "uploads", "" } };
    if (s3_call("POST", path, q, 1, h, nh, NULL, 0, &r) != 0) return -1;
    const char *id = r.status == 200 ? xml_text(r.body, "UploadId") : NULL;
    snprintf(upload_id, 80, "%s", id ? id : "");
    resp_free(&r);
    if (!*upload_id) return -1;
    char *xml = NULL;
    size_t xl = 0;
    FILE *f = open_memstream(&xml, &xl);
    fprintf(f, "<CompleteMultipartUpload>");
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        char num[16];
        snprintf(num, sizeof num, "%d", i + 1);
        cos_kv pq[] = { { "partNumber", num }, { "uploadId", upload_id } };
        unsigned char *b = part_bytes(i, sizes[i]);
        rc = s3_call("PUT", path, pq, 2, h, nh, b, sizes[i], &r);
        free(b);
        if (rc == 0 && r.status == 200 && resp_header(&r, "ETag"))
            fprintf(f, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", i + 1, resp_header(&r, "ETag"));
        else
            rc = -1;
        resp_free(&r);
    }
    fprintf(f, "</CompleteMultipartUpload>");
    fclose(f);
    if (rc == 0 && etag) {
        /* before Complete the object is not there, parts or not */
        cos_kv gq[] = { { "partNumber", "1" } };
        resp g;
        if (s3_call("GET", path, gq, 1, h, nh, NULL, 0, &g) == 0) {
            CHECK_INT(g.status, 404);
            CHECK(has_code(&g, "NoSuchKey"));
            resp_free(&g);
        }
    }
    cos_kv cq[] = { { "uploadId", upload_id } };
    if (rc == 0 && s3_call("POST", path, cq, 1, h, nh, xml, xl, &r) == 0) {
        const char *e = r.status == 200 ? xml_text(r.body, "ETag") : NULL;
        rc = e ? 0 : -1;
        if (e && etag) /* "&quot;HEX-N&quot;" in the document: the header's form */
            snprintf(etag, 80, "\"%.*s\"", (int)strcspn(e + (strncmp(e, "&quot;", 6) ? 0 : 6), "&\""),
                     e + (strncmp(e, "&quot;", 6) ? 0 : 6));
        resp_free(&r);
    } else {
        rc = -1;
    }
    free(xml);
    return rc;
}

/* GET (or HEAD) part n of path: checks the answer against the part's bytes. */
static void check_part(const char *path, int n, const size_t *sizes, int count, const char *etag, bool head,
                       const cos_kv *h, size_t nh)
{
    char num[16];
    snprintf(num, sizeof num, "%d", n);
    cos_kv q[] = { { "partNumber", num } };
    resp r;
    CHECK(s3_call(head ? "HEAD" : "GET", path, q, 1, h, nh, NULL, 0, &r) == 0);
    CHECK_INT(r.status, 206);
    uint64_t start = 0, total = 0;
    for (int i = 0; i < count; i++) {
        if (i < n - 1) start += sizes[i];
        total += sizes[i];
    }
    char want[96];
    snprintf(want, sizeof want, "bytes %llu-%llu/%llu", (unsigned long long)start,
             (unsigned long long)(start + sizes[n - 1] - 1), (unsigned long long)total);
    CHECK_STR(resp_header(&r, "Content-Range"), want);
    snprintf(want, sizeof want, "%zu", sizes[n - 1]);
    CHECK_STR(resp_header(&r, "Content-Length"), want);
    snprintf(want, sizeof want, "%d", count);
    CHECK_STR(resp_header(&r, "x-amz-mp-parts-count"), want);
    CHECK_STR(resp_header(&r, "ETag"), etag);
    if (!head) {
        unsigned char *b = part_bytes(n - 1, sizes[n - 1]);
        CHECK(r.body_len == sizes[n - 1] && memcmp(r.body, b, sizes[n - 1]) == 0);
        free(b);
    }
    resp_free(&r);
}

static void test_get_part_of_multipart(void)
{
    const char *path = "/" BUCKET "/parts.bin";
    const size_t sizes[] = { MIB, MIB + 17, 100 };
    char etag[80], uid[80];
    CHECK(multipart_object(path, sizes, 3, NULL, 0, etag, uid) == 0);
    for (int n = 1; n <= 3; n++) {
        check_part(path, n, sizes, 3, etag, false, NULL, 0);
        check_part(path, n, sizes, 3, etag, true, NULL, 0);
    }
    resp r;
    cos_kv past[] = { { "partNumber", "4" } };
    CHECK(s3_call("GET", path, past, 1, NULL, 0, NULL, 0, &r) == 0);
    CHECK_INT(r.status, 400);
    CHECK(has_code(&r, "InvalidPart"));
    resp_free(&r);
    cos_kv zero[] = { { "partNumber", "0" } };
    CHECK(s3_call("GET", path, zero, 1, NULL, 0, NULL, 0, &r) == 0);
    CHECK_INT(r.status, 400);
    CHECK(has_code(&r, "InvalidArgument"));
    resp_free(&r);
    cos_kv one[] = { { "partNumber", "1" } };
    cos_kv range[] = { { "Range", "bytes=0-1" } };
    CHECK(s3_call("GET", path, one, 1, range, 1, NULL, 0, &r) == 0);
    CHECK_INT(r.status, 400);
    resp_free(&r);
}

static void test_get_part_of_plain_and_encrypted(void)
{
    const char *path = "/" BUCKET "/plain.txt";
    CHECK_INT(s3_status("PUT", path, NULL, 0, NULL, 0, "body", 4), 200);
    resp r;
    cos_kv one[] = { { "partNumber", "1" } }, two[] = { { "partNumber", "2" } };
    CHECK(s3_call("GET", path, one, 1, NULL, 0, NULL, 0, &r) == 0);
    CHECK(r.status == 200 || r.status == 206);
    CHECK(r.body_len == 4 && !memcmp(r.body, "body", 4));
    CHECK(!resp_header(&r, "x-amz-mp-parts-count"));
    resp_free(&r);
    CHECK(s3_call("GET", path, two, 1, NULL, 0, NULL, 0, &r) == 0);
    CHECK_INT(r.status, 400);
    CHECK(has_code(&r, "InvalidPart"));
    resp_free(&r);

    /* SSE-C: each part decrypts from its own offset; a part past the end is
       InvalidPart even without the key */
    const char *enc = "/" BUCKET "/parts-ssec.bin";
    const size_t sizes[] = { MIB + 5, 333 };
    char etag[80], uid[80];
    CHECK(multipart_object(enc, sizes, 2, SSEC, 3, etag, uid) == 0);
    check_part(enc, 2, sizes, 2, etag, false, SSEC, 3);
    check_part(enc, 1, sizes, 2, etag, false, SSEC, 3);
    cos_kv three[] = { { "partNumber", "3" } };
    CHECK(s3_call("GET", enc, three, 1, NULL, 0, NULL, 0, &r) == 0);
    CHECK_INT(r.status, 400);
    CHECK(has_code(&r, "InvalidPart"));
    resp_free(&r);
    CHECK(s3_call("GET", enc, two, 1, NULL, 0, NULL, 0, &r) == 0); /* without its key: no bytes */
    CHECK_INT(r.status, 400);
    CHECK(!has_code(&r, "InvalidPart"));
    resp_free(&r);
}

/* ------------------------------------------------------------ 3. GetObjectAttributes */

static const cos_kv ALL_ATTRS = { "x-amz-object-attributes", "ETag,Checksum,ObjectParts,StorageClass,ObjectSize" };

/* GET ?attributes (versionId when vid) with extra headers after the attribute list. */
static int attributes(const char *path, const char *vid, const cos_kv *extra, size_t nextra, resp *out)
{
    cos_kv h[8];
    size_t n = 0;
    h[n++] = ALL_ATTRS;
    for (size_t i = 0; i < nextra && n < 8; i++) h[n++] = extra[i];
    cos_kv q[2] = { { "attributes", "" }, { "versionId", vid ? vid : "" } };
    return s3_call("GET", path, q, vid ? 2 : 1, h, n, NULL, 0, out);
}

static void test_attributes_plain(void)
{
    const char *path = "/" BUCKET "/attrs.txt";
    resp w;
    CHECK(s3_call("PUT", path, NULL, 0, NULL, 0, "foo", 3, &w) == 0);
    char etag[80];
    snprintf(etag, sizeof etag, "%.*s", (int)strcspn(resp_header(&w, "ETag") + 1, "\""), resp_header(&w, "ETag") + 1);
    resp_free(&w);
    resp r;
    CHECK(attributes(path, NULL, NULL, 0, &r) == 0);
    CHECK_INT(r.status, 200);
    CHECK_STR(xml_text(r.body, "ETag"), etag);
    CHECK_STR(xml_text(r.body, "ObjectSize"), "3");
    CHECK_STR(xml_text(r.body, "StorageClass"), "STANDARD");
    CHECK(!strstr(r.body, "<ObjectParts>"));
    CHECK(!strstr(r.body, "<Checksum>"));
    CHECK(!resp_header(&r, "x-amz-version-id"));
    CHECK(resp_header(&r, "Last-Modified") != NULL);
    resp_free(&r);
    /* only what was asked */
    cos_kv only[] = { { "x-amz-object-attributes", "ObjectSize" } };
    cos_kv q[] = { { "attributes", "" } };
    CHECK(s3_call("GET", path, q, 1, only, 1, NULL, 0, &r) == 0);
    CHECK_INT(r.status, 200);
    CHECK_STR(xml_text(r.body, "ObjectSize"), "3");
    CHECK(!strstr(r.body, "<ETag>"));
    resp_free(&r);
    /* none, or a name S3 does not know: 400 */
    CHECK(s3_call("GET", path, q, 1, NULL, 0, NULL, 0, &r) == 0);
    CHECK_INT(r.status, 400);
    resp_free(&r);
    cos_kv bad[] = { { "x-amz-object-attributes", "ETag,Owner" } };
    CHECK(s3_call("GET", path, q, 1, bad, 1, NULL, 0, &r) == 0);
    CHECK_INT(r.status, 400);
    resp_free(&r);
    /* a missing key */
    CHECK(attributes("/" BUCKET "/no-such-key", NULL, NULL, 0, &r) == 0);
    CHECK_INT(r.status, 404);
    CHECK(has_code(&r, "NoSuchKey"));
    resp_free(&r);
    /* with a checksum it was verified against (SHA-256 of "foo") */
    cos_kv ck[] = { { "x-amz-checksum-sha256", "LCa0a2j/xo/5m0U8HTBBNBNCLXBkg7+g+YpeiGJm564=" } };
    CHECK_INT(s3_status("PUT", "/" BUCKET "/attrs-ck.txt", NULL, 0, ck, 1, "foo", 3), 200);
    CHECK(attributes("/" BUCKET "/attrs-ck.txt", NULL, NULL, 0, &r) == 0);
    CHECK_INT(r.status, 200);
    CHECK_STR(xml_text(r.body, "ChecksumSHA256"), "LCa0a2j/xo/5m0U8HTBBNBNCLXBkg7+g+YpeiGJm564=");
    resp_free(&r);
}

static void test_attributes_multipart_paged(void)
{
    const char *path = "/" BUCKET "/attrs-mp.bin";
    const size_t sizes[] = { MIB, MIB + 1, MIB + 2, 10 };
    char etag[80], uid[80];
    CHECK(multipart_object(path, sizes, 4, NULL, 0, etag, uid) == 0);
    resp r;
    CHECK(attributes(path, NULL, NULL, 0, &r) == 0);
    CHECK_INT(r.status, 200);
    char want[96];
    snprintf(want, sizeof want, "%.*s", (int)strlen(etag) - 2, etag + 1);
    CHECK_STR(xml_text(r.body, "ETag"), want);
    snprintf(want, sizeof want, "%zu", sizes[0] + sizes[1] + sizes[2] + sizes[3]);
    CHECK_STR(xml_text(r.body, "ObjectSize"), want);
    CHECK_STR(xml_text(r.body, "PartsCount"), "4");
    CHECK_STR(xml_text(r.body, "IsTruncated"), "false");
    CHECK_INT(test_count_of(r.body, "<Part>"), 4);
    snprintf(want, sizeof want, "<PartNumber>3</PartNumber><Size>%zu</Size>", sizes[2]);
    CHECK(strstr(r.body, want) != NULL);
    resp_free(&r);
    /* one part a page, after part 2 */
    cos_kv page[] = { { "x-amz-max-parts", "1" }, { "x-amz-part-number-marker", "2" } };
    CHECK(attributes(path, NULL, page, 2, &r) == 0);
    CHECK_INT(r.status, 200);
    CHECK_STR(xml_text(r.body, "PartsCount"), "4");
    CHECK_STR(xml_text(r.body, "MaxParts"), "1");
    CHECK_STR(xml_text(r.body, "PartNumberMarker"), "2");
    CHECK_STR(xml_text(r.body, "NextPartNumberMarker"), "3");
    CHECK_STR(xml_text(r.body, "IsTruncated"), "true");
    CHECK_INT(test_count_of(r.body, "<Part>"), 1);
    CHECK_STR(xml_text(r.body, "PartNumber"), "3");
    resp_free(&r);
    cos_kv rest[] = { { "x-amz-max-parts", "10" }, { "x-amz-part-number-marker", "3" } };
    CHECK(attributes(path, NULL, rest, 2, &r) == 0);
    CHECK_STR(xml_text(r.body, "IsTruncated"), "false");
    CHECK_INT(test_count_of(r.body, "<Part>"), 1);
    CHECK_STR(xml_text(r.body, "PartNumber"), "4");
    resp_free(&r);
}

static void test_attributes_multipart_checksums(void)
{
    /* an upload that asked for CRC32C: each part's checksum, and the composite one */
    const char *path = "/" BUCKET "/attrs-mpck.bin";
    const size_t sizes[] = { MIB, 77 };
    cos_kv alg[] = { { "x-amz-checksum-algorithm", "CRC32C" } };
    char uid[80];
    resp r;
    cos_kv q[] = { { "uploads", "" } };
    CHECK(s3_call("POST", path, q, 1, alg, 1, NULL, 0, &r) == 0);
    snprintf(uid, sizeof uid, "%s", xml_text(r.body, "UploadId") ? xml_text(r.body, "UploadId") : "");
    resp_free(&r);
    char part_ck[2][COS_CKSUM_B64_MAX + 8] = { "", "" };
    char xml[1024];
    size_t xl = (size_t)snprintf(xml, sizeof xml, "<CompleteMultipartUpload>");
    for (int i = 0; i < 2; i++) {
        unsigned char *b = part_bytes(i, sizes[i]);
        char num[8];
        snprintf(num, sizeof num, "%d", i + 1);
        cos_kv pq[] = { { "partNumber", num }, { "uploadId", uid } };
        CHECK(s3_call("PUT", path, pq, 2, NULL, 0, b, sizes[i], &r) == 0);
        CHECK_INT(r.status, 200);
        xl += (size_t)snprintf(xml + xl, sizeof xml - xl, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>",
                               i + 1, resp_header(&r, "ETag") ? resp_header(&r, "ETag") : "");
        resp_free(&r);
        /* the part's CRC32C, computed here: 4 big-endian bytes, base64 */
        uint32_t c = cos_crc32c(0, b, sizes[i]);
        unsigned char be[4] = { (unsigned char)(c >> 24), (unsigned char)(c >> 16), (unsigned char)(c >> 8),
                                (unsigned char)c };
        cos_base64_encode(be, 4, part_ck[i]);
        free(b);
    }
    xl += (size_t)snprintf(xml + xl, sizeof xml - xl, "</CompleteMultipartUpload>");
    cos_kv cq[] = { { "uploadId", uid } };
    CHECK(s3_call("POST", path, cq, 1, NULL, 0, xml, xl, &r) == 0);
    CHECK_INT(r.status, 200);
    char composite[96];
    snprintf(composite, sizeof composite, "%s", xml_text(r.body, "ChecksumCRC32C") ? xml_text(r.body, "ChecksumCRC32C") : "?");
    resp_free(&r);
    CHECK(attributes(path, NULL, NULL, 0, &r) == 0);
    CHECK_INT(r.status, 200);
    const char *whole = strstr(r.body, "<Checksum>");
    CHECK(whole && xml_text(whole, "ChecksumCRC32C") && !strcmp(xml_text(whole, "ChecksumCRC32C"), composite));
    const char *p1 = strstr(r.body, "<Part>"), *p2 = p1 ? strstr(p1 + 1, "<Part>") : NULL;
    CHECK(p1 && p2);
    if (p1 && p2) {
        CHECK_STR(xml_text(p1, "ChecksumCRC32C"), part_ck[0]);
        CHECK_STR(xml_text(p2, "ChecksumCRC32C"), part_ck[1]);
    }
    resp_free(&r);
}

static void test_attributes_versions_and_ssec(void)
{
    const char *vb = "/s3gaps-ver-1250000000";
    CHECK_INT(s3_status("PUT", vb, NULL, 0, NULL, 0, NULL, 0), 200);
    const char *vers = "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>";
    cos_kv vq[] = { { "versioning", "" } };
    CHECK_INT(s3_status("PUT", vb, vq, 1, NULL, 0, vers, strlen(vers)), 200);
    const char *path = "/s3gaps-ver-1250000000/v.txt";
    resp w;
    CHECK(s3_call("PUT", path, NULL, 0, NULL, 0, "one", 3, &w) == 0);
    char v1[80];
    snprintf(v1, sizeof v1, "%s", resp_header(&w, "x-amz-version-id") ? resp_header(&w, "x-amz-version-id") : "");
    resp_free(&w);
    CHECK(*v1);
    CHECK_INT(s3_status("PUT", path, NULL, 0, NULL, 0, "second", 6), 200);
    resp r;
    CHECK(attributes(path, NULL, NULL, 0, &r) == 0);
    CHECK_STR(xml_text(r.body, "ObjectSize"), "6");
    CHECK(resp_header(&r, "x-amz-version-id") && strcmp(resp_header(&r, "x-amz-version-id"), v1) != 0);
    resp_free(&r);
    CHECK(attributes(path, v1, NULL, 0, &r) == 0);
    CHECK_INT(r.status, 200);
    CHECK_STR(xml_text(r.body, "ObjectSize"), "3");
    CHECK_STR(resp_header(&r, "x-amz-version-id"), v1);
    resp_free(&r);

    /* ListObjectVersions names the bucket's owner as GET Bucket and the ACLs do */
    cos_kv lv[] = { { "versions", "" } };
    CHECK(s3_call("GET", vb, lv, 1, NULL, 0, NULL, 0, &r) == 0);
    CHECK_INT(r.status, 200);
    CHECK_STR(xml_text(strstr(r.body ? r.body : "", "<Owner>"), "DisplayName"), TEST_APPID);
    resp_free(&r);

    /* SSE-C: not without the key */
    const char *enc = "/" BUCKET "/attrs-ssec.txt";
    CHECK_INT(s3_status("PUT", enc, NULL, 0, SSEC, 3, "secret", 6), 200);
    CHECK(attributes(enc, NULL, NULL, 0, &r) == 0);
    CHECK_INT(r.status, 400);
    CHECK(!strstr(r.body, "<ObjectSize>"));
    resp_free(&r);
    CHECK(attributes(enc, NULL, SSEC, 3, &r) == 0);
    CHECK_INT(r.status, 200);
    CHECK_STR(xml_text(r.body, "ObjectSize"), "6");
    resp_free(&r);
}

static void test_attributes_authorized_like_a_read(void)
{
    /* anonymous on a private bucket: refused; on a public-read object: allowed */
    char req[512];
    snprintf(req, sizeof req, "GET /" BUCKET "/attrs.txt?attributes HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
             "x-amz-object-attributes: ObjectSize\r\nConnection: close\r\n\r\n", srv.port);
    int status = 0;
    char *body = NULL;
    CHECK(test_http_raw(&srv, req, strlen(req), &status, &body) == 0);
    CHECK_INT(status, 403);
    CHECK(!body || !strstr(body, "<ObjectSize>"));
    free(body);
    cos_kv acl[] = { { "x-amz-acl", "public-read" } };
    CHECK_INT(s3_status("PUT", "/" BUCKET "/attrs-pub.txt", NULL, 0, acl, 1, "pub", 3), 200);
    snprintf(req, sizeof req, "GET /" BUCKET "/attrs-pub.txt?attributes HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
             "x-amz-object-attributes: ObjectSize\r\nConnection: close\r\n\r\n", srv.port);
    body = NULL;
    CHECK(test_http_raw(&srv, req, strlen(req), &status, &body) == 0);
    CHECK_INT(status, 200);
    CHECK(body && strstr(body, "<ObjectSize>3</ObjectSize>"));
    free(body);
}

/* ?partNumber and ?attributes, attacked: odd numbers and paging values are
 * 400 (never the whole object, never a 500); another account without a
 * grant, or with s3:GetObject but not s3:GetObjectVersion, learns nothing of
 * the object or of an older version; a delete marker's version is 405; an
 * SSE-C object with a wrong key gives no bytes and no attributes; an object
 * made by UploadPartCopy has its parts. */
static void test_parts_and_attributes_attacked(void)
{
    const char *vb = "/s3gaps-pa-1250000000", *path = "/s3gaps-pa-1250000000/mp";
    CHECK_INT(s3_status("PUT", vb, NULL, 0, NULL, 0, NULL, 0), 200);
    const char *vers = "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>";
    cos_kv vq[] = { { "versioning", "" } };
    CHECK_INT(s3_status("PUT", vb, vq, 1, NULL, 0, vers, strlen(vers)), 200);
    const size_t sizes[] = { MIB + 5, 333 };
    char etag[80], uid[80];
    CHECK(multipart_object(path, sizes, 2, NULL, 0, etag, uid) == 0);
    resp r;
    CHECK(s3_call("HEAD", path, NULL, 0, NULL, 0, NULL, 0, &r) == 0);
    char old[80];
    snprintf(old, sizeof old, "%s", resp_header(&r, "x-amz-version-id") ? resp_header(&r, "x-amz-version-id") : "");
    resp_free(&r);
    CHECK(*old);
    CHECK_INT(s3_status("PUT", path, NULL, 0, NULL, 0, "now", 3), 200);

    static const char *const BAD_PARTS[] = { "0", "-1", "10001", "1x", "99999999999999999999", "0x1",
                                             "-9223372036854775808" };
    for (size_t i = 0; i < COS_ARRAY_LEN(BAD_PARTS); i++) {
        cos_kv q[] = { { "partNumber", BAD_PARTS[i] }, { "versionId", old } };
        CHECK(s3_call("GET", path, q, 2, NULL, 0, NULL, 0, &r) == 0);
        if (r.status != 400) test_fail(__FILE__, __LINE__, "partNumber=%s: %d", BAD_PARTS[i], r.status);
        CHECK(r.body_len < 1000); /* an error document, not the object */
        resp_free(&r);
        CHECK_INT(s3_status("HEAD", path, q, 2, NULL, 0, NULL, 0), 400);
    }
    static const char *const BAD_PAGING[][2] = { { "max-parts", "-1" }, { "max-parts", "1001" },
                                                 { "max-parts", "x" }, { "max-parts", "99999999999" },
                                                 { "part-number-marker", "-1" }, { "part-number-marker", "10001" },
                                                 { "part-number-marker", "4294967297" } };
    for (size_t i = 0; i < COS_ARRAY_LEN(BAD_PAGING); i++) {
        cos_kv h[] = { { BAD_PAGING[i][0], BAD_PAGING[i][1] } };
        char name[64];
        snprintf(name, sizeof name, "x-amz-%s", BAD_PAGING[i][0]);
        h[0].name = name;
        CHECK(attributes(path, old, h, 1, &r) == 0);
        if (r.status != 400) test_fail(__FILE__, __LINE__, "%s=%s: %d", name, BAD_PAGING[i][1], r.status);
        resp_free(&r);
    }
    /* a marker past the last part: no parts, not truncated */
    cos_kv past[] = { { "x-amz-part-number-marker", "10000" } };
    CHECK(attributes(path, old, past, 1, &r) == 0);
    CHECK_INT(r.status, 200);
    CHECK(!strstr(r.body, "<Part>") && strstr(r.body, "<IsTruncated>false</IsTruncated>"));
    resp_free(&r);

    /* another account: nothing without a grant */
    cos_kv one[] = { { "partNumber", "1" } }, one_old[] = { { "partNumber", "1" }, { "versionId", old } };
    as_alt(true);
    CHECK_INT(s3_status("GET", path, one, 1, NULL, 0, NULL, 0), 403);
    CHECK_INT(s3_status("HEAD", path, one, 1, NULL, 0, NULL, 0), 403);
    CHECK(attributes(path, NULL, NULL, 0, &r) == 0);
    CHECK_INT(r.status, 403);
    CHECK(!strstr(r.body, "<ObjectSize>"));
    resp_free(&r);
    as_alt(false);
    /* with s3:GetObject only: the current version, not an older one */
    char policy[512];
    snprintf(policy, sizeof policy, "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
             "\"Principal\":{\"AWS\":\"*\"},\"Action\":[\"s3:GetObject\",\"s3:GetObjectAttributes\"],"
             "\"Resource\":\"arn:aws:s3:::s3gaps-pa-1250000000/*\"}]}");
    cos_kv pq[] = { { "policy", "" } };
    CHECK_INT(s3_status("PUT", vb, pq, 1, NULL, 0, policy, strlen(policy)), 204);
    as_alt(true);
    CHECK(s3_call("GET", path, one, 1, NULL, 0, NULL, 0, &r) == 0);
    CHECK(r.status == 200 || r.status == 206);
    CHECK(r.body_len == 3 && !memcmp(r.body, "now", 3));
    resp_free(&r);
    CHECK_INT(s3_status("GET", path, one_old, 2, NULL, 0, NULL, 0), 403);
    CHECK_INT(s3_status("HEAD", path, one_old, 2, NULL, 0, NULL, 0), 403);
    CHECK(attributes(path, NULL, NULL, 0, &r) == 0);
    CHECK_INT(r.status, 200);
    resp_free(&r);
    CHECK(attributes(path, old, NULL, 0, &r) == 0);
    CHECK_INT(r.status, 403);
    CHECK(!strstr(r.body, "<ObjectSize>"));
    resp_free(&r);
    as_alt(false);
    CHECK_INT(s3_status("DELETE", vb, pq, 1, NULL, 0, NULL, 0), 204);

    /* a delete marker's version: 405, with and without partNumber */
    CHECK(s3_call("DELETE", path, NULL, 0, NULL, 0, NULL, 0, &r) == 0);
    char dm[80];
    snprintf(dm, sizeof dm, "%s", resp_header(&r, "x-amz-version-id") ? resp_header(&r, "x-amz-version-id") : "");
    resp_free(&r);
    CHECK(*dm);
    cos_kv dmq[] = { { "partNumber", "1" }, { "versionId", dm } };
    CHECK_INT(s3_status("GET", path, dmq, 2, NULL, 0, NULL, 0), 405);
    CHECK(attributes(path, dm, NULL, 0, &r) == 0);
    CHECK_INT(r.status, 405);
    resp_free(&r);
    /* the older multipart version still answers by part */
    cos_kv two_old[] = { { "partNumber", "2" }, { "versionId", old } };
    CHECK(s3_call("GET", path, two_old, 2, NULL, 0, NULL, 0, &r) == 0);
    CHECK_INT(r.status, 206);
    CHECK_INT((int)r.body_len, 333);
    resp_free(&r);

    /* SSE-C with a wrong key: no bytes, no attributes */
    const char *enc = "/" BUCKET "/pa-ssec.bin";
    CHECK_INT(s3_status("PUT", enc, NULL, 0, SSEC, 3, "secretbytes", 11), 200);
    static const cos_kv WRONG[] = { { SSEC_ALG, "AES256" },
                                    { "x-amz-server-side-encryption-customer-key",
                                      "MTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTE=" },
                                    { "x-amz-server-side-encryption-customer-key-MD5", "q6Hs4ygW1Ik9wgw5mgcnJg==" } };
    CHECK(s3_call("GET", enc, one, 1, WRONG, 3, NULL, 0, &r) == 0);
    CHECK(r.status == 400 || r.status == 403);
    CHECK(!memmem(r.body, r.body_len, "secretbytes", 11));
    resp_free(&r);
    CHECK(attributes(enc, NULL, WRONG, 3, &r) == 0);
    CHECK(r.status == 400 || r.status == 403);
    CHECK(!strstr(r.body, "<ObjectSize>"));
    resp_free(&r);

    /* UploadPartCopy: the parts it made are the object's parts */
    const char *src = "/" BUCKET "/pa-src.bin", *dst = "/" BUCKET "/pa-copied";
    unsigned char *sb = part_bytes(0, MIB + 5);
    CHECK_INT(s3_status("PUT", src, NULL, 0, NULL, 0, sb, MIB + 5), 200);
    free(sb);
    cos_kv uq[] = { { "uploads", "" } };
    CHECK(s3_call("POST", dst, uq, 1, NULL, 0, NULL, 0, &r) == 0);
    char up[80];
    snprintf(up, sizeof up, "%s", xml_text(r.body, "UploadId") ? xml_text(r.body, "UploadId") : "");
    resp_free(&r);
    char xml[1024];
    int xl = snprintf(xml, sizeof xml, "<CompleteMultipartUpload>");
    for (int i = 1; i <= 2; i++) {
        char num[8];
        snprintf(num, sizeof num, "%d", i);
        cos_kv q[] = { { "partNumber", num }, { "uploadId", up } };
        cos_kv h[] = { { "x-amz-copy-source", BUCKET "/pa-src.bin" }, { "x-amz-copy-source-range", "bytes=0-1048580" } };
        if (i == 2) h[1].value = "bytes=10-342";
        CHECK(s3_call("PUT", dst, q, 2, h, 2, NULL, 0, &r) == 0);
        CHECK_INT(r.status, 200);
        const char *e = xml_text(r.body, "ETag");
        char et[80];
        snprintf(et, sizeof et, "%s", e ? e : "");
        resp_free(&r);
        xl += snprintf(xml + xl, sizeof xml - (size_t)xl, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>",
                       i, et);
    }
    xl += snprintf(xml + xl, sizeof xml - (size_t)xl, "</CompleteMultipartUpload>");
    cos_kv cq[] = { { "uploadId", up } };
    CHECK_INT(s3_status("POST", dst, cq, 1, NULL, 0, xml, (size_t)xl), 200);
    CHECK(attributes(dst, NULL, NULL, 0, &r) == 0);
    CHECK_INT(r.status, 200);
    CHECK_STR(xml_text(r.body, "PartsCount"), "2");
    CHECK_STR(xml_text(r.body, "ObjectSize"), "1048914");
    const char *p2 = strstr(r.body ? r.body : "", "<PartNumber>2</PartNumber>");
    CHECK(p2 && !strncmp(p2 + strlen("<PartNumber>2</PartNumber>"), "<Size>333</Size>", 16));
    resp_free(&r);
    cos_kv two[] = { { "partNumber", "2" } };
    CHECK(s3_call("GET", dst, two, 1, NULL, 0, NULL, 0, &r) == 0);
    CHECK_INT(r.status, 206);
    unsigned char *want = part_bytes(0, MIB + 5);
    CHECK(r.body_len == 333 && !memcmp(r.body, want + 10, 333));
    free(want);
    resp_free(&r);
}

static void test_complete_repeated(void)
{
    const char *path = "/" BUCKET "/twice.bin";
    resp r;
    cos_kv q[] = { { "uploads", "" } };
    CHECK(s3_call("POST", path, q, 1, NULL, 0, NULL, 0, &r) == 0);
    char uid[80];
    snprintf(uid, sizeof uid, "%s", xml_text(r.body, "UploadId") ? xml_text(r.body, "UploadId") : "");
    resp_free(&r);
    cos_kv pq[] = { { "partNumber", "1" }, { "uploadId", uid } };
    CHECK(s3_call("PUT", path, pq, 2, NULL, 0, "one part", 8, &r) == 0);
    char xml[256], other[256];
    snprintf(xml, sizeof xml, "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part>"
             "</CompleteMultipartUpload>", resp_header(&r, "ETag") ? resp_header(&r, "ETag") : "");
    resp_free(&r);
    snprintf(other, sizeof other, "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"%032d\"</ETag>"
             "</Part></CompleteMultipartUpload>", 0);
    cos_kv cq[] = { { "uploadId", uid } };
    CHECK(s3_call("POST", path, cq, 1, NULL, 0, xml, strlen(xml), &r) == 0);
    CHECK_INT(r.status, 200);
    char first[80];
    snprintf(first, sizeof first, "%s", xml_text(r.body, "ETag") ? xml_text(r.body, "ETag") : "?");
    resp_free(&r);
    /* again, as a client whose answer was lost retries: the same answer */
    CHECK(s3_call("POST", path, cq, 1, NULL, 0, xml, strlen(xml), &r) == 0);
    CHECK_INT(r.status, 200);
    CHECK_STR(xml_text(r.body, "ETag"), first);
    resp_free(&r);
    /* other parts, or once the key holds something else: the upload is gone */
    CHECK(s3_call("POST", path, cq, 1, NULL, 0, other, strlen(other), &r) == 0);
    CHECK_INT(r.status, 404);
    CHECK(has_code(&r, "NoSuchUpload"));
    resp_free(&r);
    const char *short_etag = "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"a</ETag></Part>"
                             "</CompleteMultipartUpload>";
    CHECK(s3_call("POST", path, cq, 1, NULL, 0, short_etag, strlen(short_etag), &r) == 0);
    CHECK_INT(r.status, 404);
    resp_free(&r);
    CHECK_INT(s3_status("PUT", path, NULL, 0, NULL, 0, "replaced", 8), 200);
    CHECK(s3_call("POST", path, cq, 1, NULL, 0, xml, strlen(xml), &r) == 0);
    CHECK_INT(r.status, 404);
    resp_free(&r);
}

/* ------------------------------------------------------------ 4. who started an upload */

static void test_upload_initiator_named(void)
{
    const char *b = "/s3gaps-mpown-1250000000";
    cos_kv acl[] = { { "x-amz-acl", "public-read-write" } };
    CHECK_INT(s3_status("PUT", b, NULL, 0, acl, 1, NULL, 0), 200);
    resp r;
    cos_kv q[] = { { "uploads", "" } };
    CHECK(s3_call("POST", "/s3gaps-mpown-1250000000/mine", q, 1, NULL, 0, NULL, 0, &r) == 0);
    char mine[80];
    snprintf(mine, sizeof mine, "%s", xml_text(r.body, "UploadId") ? xml_text(r.body, "UploadId") : "");
    resp_free(&r);
    as_alt(true); /* another account, which the bucket's ACL lets write */
    CHECK(s3_call("POST", "/s3gaps-mpown-1250000000/theirs", q, 1, NULL, 0, NULL, 0, &r) == 0);
    CHECK_INT(r.status, 200);
    char theirs[80];
    snprintf(theirs, sizeof theirs, "%s", xml_text(r.body, "UploadId") ? xml_text(r.body, "UploadId") : "");
    resp_free(&r);
    as_alt(false);
    CHECK(s3_call("GET", b, q, 1, NULL, 0, NULL, 0, &r) == 0);
    CHECK_INT(r.status, 200);
    /* in key order: mine, then theirs; each names who started it */
    const char *u1 = strstr(r.body ? r.body : "", "<Upload>"), *u2 = u1 ? strstr(u1 + 1, "<Upload>") : NULL;
    CHECK(u1 && u2);
    if (u1 && u2) {
        CHECK_STR(xml_text(u1, "UploadId"), mine);
        CHECK_STR(xml_text(strstr(u1, "<Initiator>"), "ID"), "qcs::cam::uin/" TEST_APPID ":uin/" TEST_APPID);
        CHECK_STR(xml_text(strstr(u1, "<Initiator>"), "DisplayName"), TEST_APPID);
        CHECK_STR(xml_text(strstr(u1, "<Owner>"), "ID"), "qcs::cam::uin/" TEST_APPID ":uin/" TEST_APPID);
        CHECK_STR(xml_text(u2, "UploadId"), theirs);
        CHECK_STR(xml_text(strstr(u2, "<Initiator>"), "ID"), "alt");
        CHECK_STR(xml_text(strstr(u2, "<Initiator>"), "DisplayName"), "alt");
        CHECK_STR(xml_text(strstr(u2, "<Owner>"), "ID"), "alt");
    }
    resp_free(&r);
    cos_kv lq[] = { { "uploadId", theirs } };
    CHECK(s3_call("GET", "/s3gaps-mpown-1250000000/theirs", lq, 1, NULL, 0, NULL, 0, &r) == 0);
    CHECK_INT(r.status, 200);
    CHECK_STR(xml_text(strstr(r.body ? r.body : "", "<Initiator>"), "ID"), "alt");
    CHECK_STR(xml_text(strstr(r.body ? r.body : "", "<Owner>"), "DisplayName"), "alt");
    resp_free(&r);
}

/* ------------------------------------------------------------ 4b. who owns an object (ObjectOwnership) */

/* A bucket with the given ObjectOwnership and a policy letting every account do anything in it. */
static void ownership_bucket(const char *name, const char *ownership)
{
    char path[96], policy[512], doc[256];
    snprintf(path, sizeof path, "/%s", name);
    CHECK_INT(s3_status("PUT", path, NULL, 0, NULL, 0, NULL, 0), 200);
    snprintf(doc, sizeof doc, "<OwnershipControls><Rule><ObjectOwnership>%s</ObjectOwnership></Rule>"
             "</OwnershipControls>", ownership);
    cos_kv oq[] = { { "ownershipControls", "" } };
    CHECK_INT(s3_status("PUT", path, oq, 1, NULL, 0, doc, strlen(doc)), 200);
    snprintf(policy, sizeof policy, "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
             "\"Principal\":{\"AWS\":\"*\"},\"Action\":\"*\",\"Resource\":[\"arn:aws:s3:::%s\","
             "\"arn:aws:s3:::%s/*\"]}]}", name, name);
    cos_kv pq[] = { { "policy", "" } };
    CHECK_INT(s3_status("PUT", path, pq, 1, NULL, 0, policy, strlen(policy)), 204);
}

/* The Owner ID of an object's ACL, asked by the main account (static buffer). */
static const char *acl_owner(const char *path)
{
    static char id[128];
    resp r;
    cos_kv q[] = { { "acl", "" } };
    id[0] = '\0';
    if (s3_call("GET", path, q, 1, NULL, 0, NULL, 0, &r) == 0 && r.status == 200) {
        const char *o = strstr(r.body, "<Owner>");
        snprintf(id, sizeof id, "%s", o && xml_text(o, "ID") ? xml_text(o, "ID") : "");
    }
    resp_free(&r);
    return id;
}

#define MAIN_ID_STR "qcs::cam::uin/" TEST_APPID ":uin/" TEST_APPID

/* The grantee of FULL_CONTROL in the ACL of path ("" when none). */
static const char *acl_full_control(const char *path)
{
    static char id[128];
    resp r;
    cos_kv q[] = { { "acl", "" } };
    id[0] = '\0';
    if (s3_call("GET", path, q, 1, NULL, 0, NULL, 0, &r) == 0 && r.status == 200) {
        const char *full = strstr(r.body, "<Permission>FULL_CONTROL</Permission>");
        const char *g = full;
        while (g && g > r.body && strncmp(g, "<Grant>", 7) != 0) g--;
        char grant[1024] = "";
        if (g && full) snprintf(grant, sizeof grant, "%.*s", (int)(full - g), g);
        const char *x = xml_text(grant, "ID");
        snprintf(id, sizeof id, "%s", x ? x : "");
    }
    resp_free(&r);
    return id;
}

static void test_object_ownership(void)
{
    cos_kv bofc[] = { { "x-amz-acl", "bucket-owner-full-control" } }, priv[] = { { "x-amz-acl", "private" } };
    /* ObjectWriter: what another account writes is its own */
    ownership_bucket("s3gaps-ow-1250000000", "ObjectWriter");
    as_alt(true);
    CHECK_INT(s3_status("PUT", "/s3gaps-ow-1250000000/a", NULL, 0, NULL, 0, "a", 1), 200);
    CHECK_INT(s3_status("PUT", "/s3gaps-ow-1250000000/b", NULL, 0, bofc, 1, "b", 1), 200);
    as_alt(false);
    CHECK_INT(s3_status("PUT", "/s3gaps-ow-1250000000/mine", NULL, 0, NULL, 0, "m", 1), 200);
    as_alt(true);
    cos_kv copy_mine[] = { { "x-amz-copy-source", "s3gaps-ow-1250000000/mine" } };
    CHECK_INT(s3_status("PUT", "/s3gaps-ow-1250000000/c", NULL, 0, copy_mine, 1, NULL, 0), 200);
    const size_t sizes[] = { 10 };
    char etag[80], uid[80];
    CHECK(multipart_object("/s3gaps-ow-1250000000/mp", sizes, 1, NULL, 0, etag, uid) == 0);
    as_alt(false);
    CHECK_STR(acl_owner("/s3gaps-ow-1250000000/a"), "alt");
    CHECK_STR(acl_owner("/s3gaps-ow-1250000000/b"), "alt");
    CHECK_STR(acl_owner("/s3gaps-ow-1250000000/c"), "alt"); /* a copy is its writer's */
    CHECK_STR(acl_owner("/s3gaps-ow-1250000000/mp"), "alt");
    CHECK_STR(acl_owner("/s3gaps-ow-1250000000/mine"), MAIN_ID_STR);

    /* BucketOwnerPreferred: bucket-owner-full-control gives it to the bucket's owner */
    ownership_bucket("s3gaps-bop-1250000000", "BucketOwnerPreferred");
    as_alt(true);
    CHECK_INT(s3_status("PUT", "/s3gaps-bop-1250000000/a", NULL, 0, NULL, 0, "a", 1), 200);
    CHECK_INT(s3_status("PUT", "/s3gaps-bop-1250000000/b", NULL, 0, bofc, 1, "b", 1), 200);
    resp r;
    cos_kv uq[] = { { "uploads", "" } };
    CHECK(s3_call("POST", "/s3gaps-bop-1250000000/up", uq, 1, bofc, 1, NULL, 0, &r) == 0);
    char up[80];
    snprintf(up, sizeof up, "%s", xml_text(r.body, "UploadId") ? xml_text(r.body, "UploadId") : "");
    resp_free(&r);
    as_alt(false);
    CHECK_STR(acl_owner("/s3gaps-bop-1250000000/a"), "alt");
    CHECK_STR(acl_owner("/s3gaps-bop-1250000000/b"), MAIN_ID_STR);
    cos_kv lq[] = { { "uploadId", up } };
    CHECK(s3_call("GET", "/s3gaps-bop-1250000000/up", lq, 1, NULL, 0, NULL, 0, &r) == 0);
    CHECK_STR(xml_text(strstr(r.body ? r.body : "", "<Initiator>"), "ID"), "alt");
    CHECK_STR(xml_text(strstr(r.body ? r.body : "", "<Owner>"), "ID"), MAIN_ID_STR);
    resp_free(&r);

    /* BucketOwnerEnforced: everything is the bucket owner's, and ACLs are refused */
    ownership_bucket("s3gaps-boe-1250000000", "BucketOwnerEnforced");
    as_alt(true);
    CHECK_INT(s3_status("PUT", "/s3gaps-boe-1250000000/a", NULL, 0, NULL, 0, "a", 1), 200);
    CHECK_INT(s3_status("PUT", "/s3gaps-boe-1250000000/b", NULL, 0, bofc, 1, "b", 1), 200);
    CHECK(s3_call("PUT", "/s3gaps-boe-1250000000/p", NULL, 0, priv, 1, "p", 1, &r) == 0);
    CHECK_INT(r.status, 400);
    CHECK(has_code(&r, "AccessControlListNotSupported"));
    resp_free(&r);
    CHECK(s3_call("POST", "/s3gaps-boe-1250000000/up", uq, 1, priv, 1, NULL, 0, &r) == 0);
    CHECK(has_code(&r, "AccessControlListNotSupported"));
    resp_free(&r);
    as_alt(false);
    cos_kv aq[] = { { "acl", "" } };
    CHECK(s3_call("PUT", "/s3gaps-boe-1250000000", aq, 1, priv, 1, NULL, 0, &r) == 0);
    CHECK(has_code(&r, "AccessControlListNotSupported"));
    resp_free(&r);
    CHECK(s3_call("PUT", "/s3gaps-boe-1250000000/a", aq, 1, priv, 1, NULL, 0, &r) == 0);
    CHECK(has_code(&r, "AccessControlListNotSupported"));
    resp_free(&r);
    CHECK(!object_exists("/s3gaps-boe-1250000000/p"));
    CHECK_STR(acl_owner("/s3gaps-boe-1250000000/a"), MAIN_ID_STR);
    CHECK_STR(acl_owner("/s3gaps-boe-1250000000/b"), MAIN_ID_STR);
}

/* The owner an object records (ObjectWriter: the account that wrote it)
 * names it in its ACL, and an object's owner has FULL_CONTROL of it (S3's
 * object context; COS: "the resource owner always has FULL_CONTROL"): with a
 * policy that lets it only upload, the writer reads what it wrote and its
 * ACL, but cos-server keeps the rest stricter than S3: it neither changes
 * the ACL (it would publish or share what the bucket's owner only let it
 * write) nor deletes it (the bucket's permissions decide) nor publishes it
 * while writing (PutObjectAcl); the bucket's owner keeps every right, and
 * its copy of the object (metadata copied) is its own. */
static void test_recorded_owner_grants_nothing(void)
{
    const char *b = "s3gaps-own-1250000000", *obj = "/s3gaps-own-1250000000/theirs";
    char path[96], policy[512];
    snprintf(path, sizeof path, "/%s", b);
    CHECK_INT(s3_status("PUT", path, NULL, 0, NULL, 0, NULL, 0), 200);
    const char *doc = "<OwnershipControls><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule>"
                      "</OwnershipControls>";
    cos_kv oq[] = { { "ownershipControls", "" } };
    CHECK_INT(s3_status("PUT", path, oq, 1, NULL, 0, doc, strlen(doc)), 200);
    snprintf(policy, sizeof policy, "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
             "\"Principal\":{\"AWS\":\"*\"},\"Action\":\"s3:PutObject\",\"Resource\":\"arn:aws:s3:::%s/*\"}]}", b);
    cos_kv pq[] = { { "policy", "" } };
    CHECK_INT(s3_status("PUT", path, pq, 1, NULL, 0, policy, strlen(policy)), 204);
    cos_kv aq[] = { { "acl", "" } }, pub[] = { { "x-amz-acl", "public-read" } };
    cos_kv meta[] = { { "x-amz-meta-who", "alt" } };
    as_alt(true);
    CHECK_INT(s3_status("PUT", obj, NULL, 0, meta, 1, "alt's bytes", 11), 200);
    CHECK_INT(s3_status("PUT", "/s3gaps-own-1250000000/published", NULL, 0, pub, 1, "x", 1), 403);
    CHECK_INT(s3_status("GET", obj, NULL, 0, NULL, 0, NULL, 0), 200);
    CHECK_INT(s3_status("HEAD", obj, NULL, 0, NULL, 0, NULL, 0), 200);
    CHECK_INT(s3_status("GET", obj, aq, 1, NULL, 0, NULL, 0), 200);
    CHECK_INT(s3_status("PUT", obj, aq, 1, pub, 1, NULL, 0), 403);
    CHECK_INT(s3_status("DELETE", obj, NULL, 0, NULL, 0, NULL, 0), 403);
    cos_kv attrs[] = { { "attributes", "" } };
    cos_kv ah[] = { { "x-amz-object-attributes", "ObjectSize" } };
    CHECK_INT(s3_status("GET", obj, attrs, 1, ah, 1, NULL, 0), 200);
    /* another writer's object in the same bucket is not its own */
    as_alt(false);
    CHECK_INT(s3_status("PUT", "/s3gaps-own-1250000000/mains", NULL, 0, NULL, 0, "main's bytes", 12), 200);
    as_alt(true);
    CHECK_INT(s3_status("GET", "/s3gaps-own-1250000000/mains", NULL, 0, NULL, 0, NULL, 0), 403);
    as_alt(false);
    CHECK_STR(acl_owner(obj), "alt");
    CHECK_STR(acl_full_control(obj), MAIN_ID_STR); /* not the writer's: it has no right (above) */
    CHECK(!object_exists("/s3gaps-own-1250000000/published"));
    /* anonymous: nothing either */
    char req[512];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n", obj, srv.port);
    int status = 0;
    char *body = NULL;
    CHECK(test_http_raw(&srv, req, strlen(req), &status, &body) == 0);
    CHECK_INT(status, 403);
    CHECK(!body || !strstr(body, "alt's bytes"));
    free(body);
    /* the bucket's owner reads it, copies it (its copy is its own), deletes it */
    resp r;
    CHECK(s3_call("GET", obj, NULL, 0, NULL, 0, NULL, 0, &r) == 0);
    CHECK_INT(r.status, 200);
    CHECK(r.body_len == 11 && !memcmp(r.body, "alt's bytes", 11));
    resp_free(&r);
    cos_kv cp[] = { { "x-amz-copy-source", "s3gaps-own-1250000000/theirs" } };
    CHECK_INT(s3_status("PUT", "/s3gaps-own-1250000000/mine", NULL, 0, cp, 1, NULL, 0), 200);
    CHECK_STR(acl_owner("/s3gaps-own-1250000000/mine"), MAIN_ID_STR);
    CHECK(s3_call("HEAD", "/s3gaps-own-1250000000/mine", NULL, 0, NULL, 0, NULL, 0, &r) == 0);
    CHECK_STR(resp_header(&r, "x-amz-meta-who"), "alt");
    resp_free(&r);
    CHECK_INT(s3_status("DELETE", obj, NULL, 0, NULL, 0, NULL, 0), 204);
}

/* A HEAD of a missing key is 404 to whoever may list that key (S3), 403 to
 * others; an existing key stays 403 without GetObject. */
static void test_missing_key_404_to_listers(void)
{
    const char *b = "s3gaps-lister-1250000000";
    char path[96], policy[600];
    snprintf(path, sizeof path, "/%s", b);
    CHECK_INT(s3_status("PUT", path, NULL, 0, NULL, 0, NULL, 0), 200);
    snprintf(policy, sizeof policy, "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
             "\"Principal\":{\"AWS\":\"*\"},\"Action\":\"s3:ListBucket\",\"Resource\":\"arn:aws:s3:::%s\","
             "\"Condition\":{\"StringLike\":{\"s3:prefix\":\"public/*\"}}}]}", b);
    cos_kv pq[] = { { "policy", "" } };
    CHECK_INT(s3_status("PUT", path, pq, 1, NULL, 0, policy, strlen(policy)), 204);
    CHECK_INT(s3_status("PUT", "/s3gaps-lister-1250000000/public/there", NULL, 0, NULL, 0, "x", 1), 200);
    as_alt(true);
    CHECK_INT(s3_status("HEAD", "/s3gaps-lister-1250000000/public/object", NULL, 0, NULL, 0, NULL, 0), 404);
    resp r;
    CHECK(s3_call("GET", "/s3gaps-lister-1250000000/public/object", NULL, 0, NULL, 0, NULL, 0, &r) == 0);
    CHECK_INT(r.status, 404);
    CHECK(has_code(&r, "NoSuchKey"));
    resp_free(&r);
    CHECK_INT(s3_status("HEAD", "/s3gaps-lister-1250000000/private/object", NULL, 0, NULL, 0, NULL, 0), 403);
    CHECK_INT(s3_status("HEAD", "/s3gaps-lister-1250000000/public/there", NULL, 0, NULL, 0, NULL, 0), 403);
    CHECK(s3_call("GET", "/s3gaps-lister-1250000000/public/there", NULL, 0, NULL, 0, NULL, 0, &r) == 0);
    CHECK_INT(r.status, 403);
    CHECK(has_code(&r, "AccessDenied")); /* never its bytes */
    resp_free(&r);
    as_alt(false);
}

/* ------------------------------------------------------------ 5. what S3 refuses */

static int put_lifecycle(const char *rules, resp *out)
{
    char *xml = NULL;
    if (asprintf(&xml, "<LifecycleConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">%s"
                       "</LifecycleConfiguration>", rules) < 0)
        return -1;
    cos_kv q[] = { { "lifecycle", "" } };
    int rc = s3_call("PUT", "/" BUCKET, q, 1, NULL, 0, xml, strlen(xml), out);
    free(xml);
    return rc;
}

static void check_lifecycle_refused(const char *rules, const char *code)
{
    resp r;
    CHECK(put_lifecycle(rules, &r) == 0);
    CHECK_INT(r.status, 400);
    if (!has_code(&r, code)) test_fail(__FILE__, __LINE__, "%s: wanted %s, got %s", rules, code, r.body);
    resp_free(&r);
}

static void test_lifecycle_validated(void)
{
    char long_id[300];
    memset(long_id, 'a', 256);
    long_id[256] = '\0';
    char rule[600];
    snprintf(rule, sizeof rule, "<Rule><ID>%s</ID><Expiration><Days>2</Days></Expiration><Prefix>t/</Prefix>"
             "<Status>Enabled</Status></Rule>", long_id);
    check_lifecycle_refused(rule, "InvalidArgument");
    check_lifecycle_refused("<Rule><ID>r1</ID><Expiration><Days>1</Days></Expiration><Prefix>a/</Prefix><Status>Enabled"
                            "</Status></Rule><Rule><ID>r1</ID><Expiration><Days>2</Days></Expiration><Prefix>b/"
                            "</Prefix><Status>Enabled</Status></Rule>", "InvalidArgument");
    check_lifecycle_refused("<Rule><ID>r1</ID><Expiration><Days>0</Days></Expiration><Prefix>a/</Prefix><Status>Enabled"
                            "</Status></Rule>", "InvalidArgument");
    check_lifecycle_refused("<Rule><ID>r1</ID><Expiration><Date>1970-08-22T19:08:21Z</Date></Expiration><Prefix>a/"
                            "</Prefix><Status>Enabled</Status></Rule>", "InvalidArgument");
    check_lifecycle_refused("<Rule><ID>r1</ID><Transition><Date>20220927</Date><StorageClass>ARCHIVE</StorageClass>"
                            "</Transition><Prefix>a/</Prefix><Status>Enabled</Status></Rule>", "InvalidArgument");
    check_lifecycle_refused("<Rule><ID>r1</ID><Expiration><Days>1</Days></Expiration><Prefix>a/</Prefix><Status>on"
                            "</Status></Rule>", "MalformedXML");
    /* at midnight, in UTC or at an offset (COS's form): kept */
    resp r;
    CHECK(put_lifecycle("<Rule><ID>d1</ID><Expiration><Date>2017-09-27T00:00:00Z</Date></Expiration><Prefix>a/"
                        "</Prefix><Status>Enabled</Status></Rule><Rule><ID>d2</ID><Expiration><Date>"
                        "2030-01-01T00:00:00+08:00</Date></Expiration><Prefix>b/</Prefix><Status>Enabled</Status>"
                        "</Rule>", &r) == 0);
    CHECK_INT(r.status, 200);
    resp_free(&r);
    /* rules without an ID get one each */
    CHECK(put_lifecycle("<Rule><Expiration><Days>31</Days></Expiration><Prefix>t1/</Prefix><Status>Enabled</Status>"
                        "</Rule><Rule><Expiration><Days>120</Days></Expiration><Prefix>t2/</Prefix><Status>Enabled"
                        "</Status></Rule>", &r) == 0);
    CHECK_INT(r.status, 200);
    resp_free(&r);
    cos_kv q[] = { { "lifecycle", "" } };
    CHECK(s3_call("GET", "/" BUCKET, q, 1, NULL, 0, NULL, 0, &r) == 0);
    CHECK_INT(r.status, 200);
    CHECK_INT(test_count_of(r.body, "<Rule>"), 2);
    CHECK_INT(test_count_of(r.body, "<ID>"), 2);
    const char *id1 = xml_text(r.body, "ID");
    CHECK(id1 && *id1);
    resp_free(&r);
    CHECK_INT(s3_status("DELETE", "/" BUCKET, q, 1, NULL, 0, NULL, 0), 204);
}

static void test_ssec_beside_sse_refused(void)
{
    cos_kv both[] = { { "x-amz-server-side-encryption", "AES256" }, SSEC[0], SSEC[1], SSEC[2] };
    resp r;
    CHECK(s3_call("PUT", "/" BUCKET "/conflict.txt", NULL, 0, both, 4, "x", 1, &r) == 0);
    CHECK_INT(r.status, 400);
    CHECK(has_code(&r, "InvalidArgument"));
    resp_free(&r);
    cos_kv kms[] = { { "x-amz-server-side-encryption", "aws:kms" },
                     { "x-amz-server-side-encryption-aws-kms-key-id", "fool-me-once" }, SSEC[0], SSEC[1], SSEC[2] };
    CHECK(s3_call("PUT", "/" BUCKET "/conflict.txt", NULL, 0, kms, 5, "x", 1, &r) == 0);
    CHECK_INT(r.status, 400);
    resp_free(&r);
    CHECK(!object_exists("/" BUCKET "/conflict.txt"));
}

static void test_copy_range_past_source(void)
{
    CHECK_INT(s3_status("PUT", "/" BUCKET "/five.txt", NULL, 0, NULL, 0, "12345", 5), 200);
    resp r;
    cos_kv q[] = { { "uploads", "" } };
    CHECK(s3_call("POST", "/" BUCKET "/dest", q, 1, NULL, 0, NULL, 0, &r) == 0);
    char uid[80];
    snprintf(uid, sizeof uid, "%s", xml_text(r.body, "UploadId") ? xml_text(r.body, "UploadId") : "");
    resp_free(&r);
    cos_kv pq[] = { { "partNumber", "1" }, { "uploadId", uid } };
    cos_kv past[] = { { "x-amz-copy-source", BUCKET "/five.txt" }, { "x-amz-copy-source-range", "bytes=0-21" } };
    CHECK(s3_call("PUT", "/" BUCKET "/dest", pq, 2, past, 2, NULL, 0, &r) == 0);
    CHECK(r.status == 400 || r.status == 416);
    CHECK(has_code(&r, "InvalidRange"));
    resp_free(&r);
    cos_kv bad[] = { { "x-amz-copy-source", BUCKET "/five.txt" }, { "x-amz-copy-source-range", "bytes=0-bar" } };
    CHECK(s3_call("PUT", "/" BUCKET "/dest", pq, 2, bad, 2, NULL, 0, &r) == 0);
    CHECK_INT(r.status, 400);
    CHECK(has_code(&r, "InvalidArgument"));
    resp_free(&r);
}

static void test_bucket_recreated_only_as_it_is(void)
{
    cos_kv pub[] = { { "x-amz-acl", "public-read" } };
    CHECK_INT(s3_status("PUT", "/s3gaps-re1-1250000000", NULL, 0, pub, 1, NULL, 0), 200);
    resp r;
    CHECK(s3_call("PUT", "/s3gaps-re1-1250000000", NULL, 0, NULL, 0, NULL, 0, &r) == 0); /* asks for private */
    CHECK_INT(r.status, 409);
    CHECK(has_code(&r, "BucketAlreadyExists"));
    resp_free(&r);
    CHECK_INT(s3_status("PUT", "/s3gaps-re1-1250000000", NULL, 0, pub, 1, NULL, 0), 200); /* as it is: 200 */
    CHECK_INT(s3_status("PUT", "/s3gaps-re2-1250000000", NULL, 0, NULL, 0, NULL, 0), 200);
    CHECK_INT(s3_status("PUT", "/s3gaps-re2-1250000000", NULL, 0, NULL, 0, NULL, 0), 200);
    CHECK_INT(s3_status("PUT", "/s3gaps-re2-1250000000", NULL, 0, pub, 1, NULL, 0), 409);
    /* the ACL it has is the one it had */
    cos_kv aq[] = { { "acl", "" } };
    CHECK(s3_call("GET", "/s3gaps-re2-1250000000", aq, 1, NULL, 0, NULL, 0, &r) == 0);
    CHECK(r.body && !strstr(r.body, "AllUsers"));
    resp_free(&r);
}

static void test_header_tags_by_key(void)
{
    cos_kv tg[] = { { "x-amz-tagging", "foo=bar&bar" } };
    CHECK_INT(s3_status("PUT", "/" BUCKET "/tagged.txt", NULL, 0, tg, 1, "t", 1), 200);
    resp r;
    cos_kv q[] = { { "tagging", "" } };
    CHECK(s3_call("GET", "/" BUCKET "/tagged.txt", q, 1, NULL, 0, NULL, 0, &r) == 0);
    CHECK_INT(r.status, 200);
    const char *bar = r.body ? strstr(r.body, "<Key>bar</Key>") : NULL, *foo = r.body ? strstr(r.body, "<Key>foo</Key>") : NULL;
    CHECK(bar && foo && bar < foo);
    resp_free(&r);
}

static void test_c1_key_unparsable(void)
{
    /* "\xC2\xAE\xC2\x8A-": U+00AE, then U+008A (a C1 control) */
    resp r;
    CHECK(s3_call("GET", "/" BUCKET "/%C2%AE%C2%8A-", NULL, 0, NULL, 0, NULL, 0, &r) == 0);
    CHECK_INT(r.status, 400);
    CHECK(has_code(&r, "InvalidURI") && strstr(r.body, "Couldn&apos;t parse the specified URI."));
    resp_free(&r);
}

/* ------------------------------------------------------------ 6. x-amz-expiration */

#define EXP_BUCKET "s3exp-1250000000"

/* S3's expiry for an object written at t under a rule of `days`: t + days, up to the next midnight UTC. */
static void expiry_for(time_t t, int days, char out[64])
{
    time_t at = ((t + (time_t)days * 86400) / 86400 + 1) * 86400;
    struct tm tm;
    gmtime_r(&at, &tm);
    strftime(out, 64, "expiry-date=\"%a, %d %b %Y %H:%M:%S GMT\"", &tm);
}

/* The x-amz-expiration a call answers names `rule` and an expiry `days` after a time in [t0, t1]. */
static void check_expiration(const resp *r, time_t t0, time_t t1, int days, const char *rule)
{
    const char *h = resp_header(r, "x-amz-expiration");
    char a[64], b[64], want_rule[80];
    expiry_for(t0, days, a);
    expiry_for(t1, days, b); /* the call may cross midnight */
    snprintf(want_rule, sizeof want_rule, ", rule-id=\"%s\"", rule);
    if (!h || (strncmp(h, a, strlen(a)) && strncmp(h, b, strlen(b))) || !strstr(h, want_rule))
        test_fail(__FILE__, __LINE__, "x-amz-expiration: wanted %s%s, got %s", a, want_rule, h ? h : "(none)");
}

static void test_lifecycle_expiration_header(void)
{
    CHECK_INT(s3_status("PUT", "/" EXP_BUCKET, NULL, 0, NULL, 0, NULL, 0), 200);
    static const char LC[] =
        "<LifecycleConfiguration><Rule><ID>off</ID><Prefix></Prefix><Status>Disabled</Status><Expiration><Date>"
        "2001-01-01T00:00:00Z</Date></Expiration></Rule>"
        "<Rule><ID>r1</ID><Prefix>days1/</Prefix><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>"
        "</Rule>"
        "<Rule><ID>r2</ID><Filter><And><Prefix>tagged/</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></And>"
        "</Filter><Status>Enabled</Status><Expiration><Days>3</Days></Expiration></Rule>"
        "<Rule><ID>r3</ID><Filter><Tag><Key>k2</Key><Value>v2</Value></Tag></Filter><Status>Enabled</Status>"
        "<Expiration><Date>2040-01-01T00:00:00Z</Date></Expiration></Rule></LifecycleConfiguration>";
    cos_kv lq[] = { { "lifecycle", "" } };
    CHECK_INT(s3_status("PUT", "/" EXP_BUCKET, lq, 1, NULL, 0, LC, strlen(LC)), 200);
    resp r;
    /* a rule-level Prefix: PUT, HEAD and GET name rule r1, a day after the write */
    time_t t0 = time(NULL);
    CHECK(s3_call("PUT", "/" EXP_BUCKET "/days1/a", NULL, 0, NULL, 0, "bar", 3, &r) == 0);
    time_t t1 = time(NULL);
    CHECK_INT(r.status, 200);
    check_expiration(&r, t0, t1, 1, "r1");
    resp_free(&r);
    CHECK(s3_call("HEAD", "/" EXP_BUCKET "/days1/a", NULL, 0, NULL, 0, NULL, 0, &r) == 0);
    CHECK_INT(r.status, 200);
    check_expiration(&r, t0, t1, 1, "r1");
    resp_free(&r);
    CHECK(s3_call("GET", "/" EXP_BUCKET "/days1/a", NULL, 0, NULL, 0, NULL, 0, &r) == 0);
    CHECK_INT(r.status, 200);
    check_expiration(&r, t0, t1, 1, "r1");
    resp_free(&r);
    /* no rule takes it (the disabled one would): no header */
    CHECK(s3_call("PUT", "/" EXP_BUCKET "/other/a", NULL, 0, NULL, 0, "bar", 3, &r) == 0);
    CHECK_INT(r.status, 200);
    CHECK(resp_header(&r, "x-amz-expiration") == NULL);
    resp_free(&r);
    /* prefix and tag both: without the tag, nothing; with it, r2 */
    CHECK(s3_call("PUT", "/" EXP_BUCKET "/tagged/a", NULL, 0, NULL, 0, "bar", 3, &r) == 0);
    CHECK(resp_header(&r, "x-amz-expiration") == NULL);
    resp_free(&r);
    cos_kv tag_v[] = { { "x-amz-tagging", "k=v" } };
    t0 = time(NULL);
    CHECK(s3_call("PUT", "/" EXP_BUCKET "/tagged/b", NULL, 0, tag_v, 1, "bar", 3, &r) == 0);
    t1 = time(NULL);
    check_expiration(&r, t0, t1, 3, "r2");
    resp_free(&r);
    /* a filter's single Tag, with a Date; of two rules that take it, the earlier expiry */
    cos_kv tag_both[] = { { "x-amz-tagging", "k=v&k2=v2" } };
    CHECK(s3_call("PUT", "/" EXP_BUCKET "/tagged/c", NULL, 0, tag_both, 1, "bar", 3, &r) == 0);
    check_expiration(&r, t0, time(NULL), 3, "r2");
    resp_free(&r);
    /* tags put later count on HEAD */
    static const char TAGS[] = "<Tagging><TagSet><Tag><Key>k2</Key><Value>v2</Value></Tag></TagSet></Tagging>";
    cos_kv tq[] = { { "tagging", "" } };
    CHECK_INT(s3_status("PUT", "/" EXP_BUCKET "/other/a", tq, 1, NULL, 0, TAGS, strlen(TAGS)), 200);
    CHECK(s3_call("HEAD", "/" EXP_BUCKET "/other/a", NULL, 0, NULL, 0, NULL, 0, &r) == 0);
    const char *h = resp_header(&r, "x-amz-expiration");
    CHECK(h && !strcmp(h, "expiry-date=\"Sun, 01 Jan 2040 00:00:00 GMT\", rule-id=\"r3\""));
    resp_free(&r);
    /* the lifecycle deleted: no header */
    CHECK_INT(s3_status("DELETE", "/" EXP_BUCKET, lq, 1, NULL, 0, NULL, 0), 204);
    CHECK(s3_call("HEAD", "/" EXP_BUCKET "/days1/a", NULL, 0, NULL, 0, NULL, 0, &r) == 0);
    CHECK_INT(r.status, 200);
    CHECK(resp_header(&r, "x-amz-expiration") == NULL);
    resp_free(&r);
}

/* ------------------------------------------------------------ 7. unsigned requests to a missing bucket */

/* An unsigned request (no dialect: what an S3 tool's anonymous client sends). Its status, or -1. */
static int unsigned_call(const char *method, const char *path, resp *out)
{
    char head[512];
    int n = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Length: 0\r\n"
                     "Connection: close\r\n\r\n", method, path, srv.port);
    int fd = connect_server();
    int rc = -1;
    if (fd >= 0 && send_all(fd, head, (size_t)n)) rc = read_response(fd, out);
    if (fd >= 0) close(fd);
    return rc == 0 ? out->status : -1;
}

static void test_unsigned_missing_bucket(void)
{
    static const char *const CALLS[][2] = { { "GET", "/gone-1250000000/foo" }, { "DELETE", "/gone-1250000000/foo" },
                                            { "GET", "/gone-1250000000" }, { "PUT", "/gone-1250000000/foo" } };
    for (size_t i = 0; i < sizeof CALLS / sizeof CALLS[0]; i++) {
        resp r;
        CHECK_INT(unsigned_call(CALLS[i][0], CALLS[i][1], &r), 404);
        if (!has_code(&r, "NoSuchBucket"))
            test_fail(__FILE__, __LINE__, "%s %s: %s", CALLS[i][0], CALLS[i][1], r.body ? r.body : "");
        resp_free(&r);
    }
    /* an existing private bucket stays closed: its keys, there or not, and its listing */
    CHECK_INT(s3_status("PUT", "/" BUCKET "/unsigned-probe", NULL, 0, NULL, 0, "x", 1), 200);
    static const char *const CLOSED[][2] = { { "GET", "/" BUCKET "/unsigned-probe" },
                                             { "GET", "/" BUCKET "/no-such-key" },
                                             { "DELETE", "/" BUCKET "/unsigned-probe" }, { "GET", "/" BUCKET },
                                             { "PUT", "/" BUCKET "/unsigned-write" } };
    for (size_t i = 0; i < sizeof CLOSED / sizeof CLOSED[0]; i++) {
        resp r;
        CHECK_INT(unsigned_call(CLOSED[i][0], CLOSED[i][1], &r), 403);
        resp_free(&r);
    }
    CHECK(object_exists("/" BUCKET "/unsigned-probe"));
    CHECK(!object_exists("/" BUCKET "/unsigned-write"));
    /* creating a bucket still takes a signature */
    resp r;
    CHECK_INT(unsigned_call("PUT", "/gone-1250000000", &r), 403);
    resp_free(&r);
}

/* ------------------------------------------------------------ 8. Complete's x-amz-checksum-* */

/* CompleteMultipartUpload's x-amz-checksum-* is the object's composite checksum (S3), not the
 * XML body's: the parts are held to it, and a repeated Complete answers it again. */
static void test_complete_checksum_held(void)
{
    const char *path = "/" BUCKET "/complete-ck.bin";
    cos_kv alg[] = { { "x-amz-checksum-algorithm", "CRC32C" } };
    cos_kv q[] = { { "uploads", "" } };
    resp r;
    CHECK(s3_call("POST", path, q, 1, alg, 1, NULL, 0, &r) == 0);
    char uid[80];
    snprintf(uid, sizeof uid, "%s", xml_text(r.body, "UploadId") ? xml_text(r.body, "UploadId") : "");
    resp_free(&r);
    static const char BODY[] = "the only part";
    cos_kv pq[] = { { "partNumber", "1" }, { "uploadId", uid } };
    CHECK(s3_call("PUT", path, pq, 2, NULL, 0, BODY, strlen(BODY), &r) == 0);
    CHECK_INT(r.status, 200);
    char xml[256];
    size_t xl = (size_t)snprintf(xml, sizeof xml, "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s"
                                 "</ETag></Part></CompleteMultipartUpload>",
                                 resp_header(&r, "ETag") ? resp_header(&r, "ETag") : "");
    resp_free(&r);
    /* the composite: CRC32C of the part's CRC32C (4 big-endian bytes), base64, "-1" */
    uint32_t c = cos_crc32c(0, BODY, strlen(BODY));
    unsigned char be[4] = { (unsigned char)(c >> 24), (unsigned char)(c >> 16), (unsigned char)(c >> 8),
                            (unsigned char)c };
    uint32_t cc = cos_crc32c(0, be, 4);
    unsigned char cbe[4] = { (unsigned char)(cc >> 24), (unsigned char)(cc >> 16), (unsigned char)(cc >> 8),
                             (unsigned char)cc };
    char composite[32], wrong[32], b64[16];
    cos_base64_encode(cbe, 4, b64);
    snprintf(composite, sizeof composite, "%s-1", b64);
    cbe[0] ^= 1;
    cos_base64_encode(cbe, 4, b64);
    snprintf(wrong, sizeof wrong, "%s-1", b64);
    cos_kv cq[] = { { "uploadId", uid } };
    /* not the checksum, or one of another algorithm: refused, and the upload stays to complete */
    const cos_kv bad[][1] = { { { "x-amz-checksum-crc32c", "bad" } }, { { "x-amz-checksum-crc32c", wrong } },
                              { { "x-amz-checksum-crc32", composite } } };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(s3_call("POST", path, cq, 1, bad[i], 1, xml, xl, &r) == 0);
        CHECK_INT(r.status, 400);
        if (!has_code(&r, "BadDigest")) test_fail(__FILE__, __LINE__, "%s: %s", bad[i][0].value, r.body);
        resp_free(&r);
    }
    CHECK(!object_exists(path));
    cos_kv good[] = { { "x-amz-checksum-crc32c", composite } };
    CHECK(s3_call("POST", path, cq, 1, good, 1, xml, xl, &r) == 0);
    CHECK_INT(r.status, 200);
    CHECK_STR(xml_text(r.body, "ChecksumCRC32C"), composite);
    resp_free(&r);
    /* repeated: the same answer, the checksum with it; a wrong one is still refused */
    CHECK(s3_call("POST", path, cq, 1, good, 1, xml, xl, &r) == 0);
    CHECK_INT(r.status, 200);
    CHECK_STR(xml_text(r.body, "ChecksumCRC32C"), composite);
    resp_free(&r);
    CHECK(s3_call("POST", path, cq, 1, bad[1], 1, xml, xl, &r) == 0);
    CHECK_INT(r.status, 400);
    CHECK(has_code(&r, "BadDigest"));
    resp_free(&r);
}

/* ------------------------------------------------------------ 9. CORS on a real request */

/* A real (not preflight) request is matched on its Origin and on the method an
 * Access-Control-Request-Method names, else its own (ceph/s3-tests'
 * test_cors_origin_response, RGW's reading); a refused preflight stays bare. */
static void test_cors_asked_method(void)
{
    static const char CORS[] = "<CORSConfiguration><CORSRule><AllowedOrigin>*suffix</AllowedOrigin><AllowedMethod>GET"
                               "</AllowedMethod></CORSRule></CORSConfiguration>";
    cos_kv cq[] = { { "cors", "" } };
    CHECK_INT(s3_status("PUT", "/" BUCKET, cq, 1, NULL, 0, CORS, strlen(CORS)), 200);
    char head[512];
    resp r;
    /* an unsigned PUT (refused: the bucket is private) asking for GET: the GET rule's headers */
    int n = snprintf(head, sizeof head, "PUT /" BUCKET "/cors-probe HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nOrigin: foo.suffix"
                     "\r\nAccess-Control-Request-Method: GET\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", srv.port);
    int fd = connect_server();
    CHECK(fd >= 0 && send_all(fd, head, (size_t)n) && read_response(fd, &r) == 0);
    if (fd >= 0) close(fd);
    CHECK_INT(r.status, 403);
    CHECK(resp_header(&r, "Access-Control-Allow-Origin") && !strcmp(resp_header(&r, "Access-Control-Allow-Origin"),
                                                                      "foo.suffix"));
    CHECK(resp_header(&r, "Access-Control-Allow-Methods") &&
          !strcmp(resp_header(&r, "Access-Control-Allow-Methods"), "GET"));
    resp_free(&r);
    CHECK(!object_exists("/" BUCKET "/cors-probe"));
    /* the same PUT without it: its own method, which no rule allows */
    n = snprintf(head, sizeof head, "PUT /" BUCKET "/cors-probe HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nOrigin: foo.suffix\r\n"
                 "Content-Length: 0\r\nConnection: close\r\n\r\n", srv.port);
    fd = connect_server();
    CHECK(fd >= 0 && send_all(fd, head, (size_t)n) && read_response(fd, &r) == 0);
    if (fd >= 0) close(fd);
    CHECK_INT(r.status, 403);
    CHECK(resp_header(&r, "Access-Control-Allow-Origin") == NULL);
    resp_free(&r);
    /* a preflight refused for its headers gets none */
    n = snprintf(head, sizeof head, "OPTIONS /" BUCKET "/cors-probe HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nOrigin: foo.suffix"
                 "\r\nAccess-Control-Request-Method: GET\r\nAccess-Control-Request-Headers: x-amz-meta-h\r\n"
                 "Content-Length: 0\r\nConnection: close\r\n\r\n", srv.port);
    fd = connect_server();
    CHECK(fd >= 0 && send_all(fd, head, (size_t)n) && read_response(fd, &r) == 0);
    if (fd >= 0) close(fd);
    CHECK_INT(r.status, 403);
    CHECK(resp_header(&r, "Access-Control-Allow-Origin") == NULL);
    resp_free(&r);
    CHECK_INT(s3_status("DELETE", "/" BUCKET, cq, 1, NULL, 0, NULL, 0), 204);
}

/* ------------------------------------------------------------ setup */

static void setup(void)
{
    const char *args[] = { "--extra-key", ALT_ID ":" ALT_KEY ":alt", NULL };
    srv_up = test_server_start(&srv, args) == 0;
    CHECK(srv_up);
    if (srv_up) CHECK_INT(s3_status("PUT", "/" BUCKET, NULL, 0, NULL, 0, NULL, 0), 200);
}

int main(void)
{
    RUN(setup);
    if (srv_up) {
        RUN(test_continue_refused_before_body);
        RUN(test_continue_allowed_then_stored);
        RUN(test_refused_body_not_stored);
        RUN(test_continue_body_checked_at_its_end);
        RUN(test_continue_grant_withdrawn);
        RUN(test_continue_chunked_and_presigned);
        RUN(test_continue_bucket_deleted);
        RUN(test_put_racing_bucket_delete);
        RUN(test_get_part_of_multipart);
        RUN(test_get_part_of_plain_and_encrypted);
        RUN(test_attributes_plain);
        RUN(test_attributes_multipart_paged);
        RUN(test_attributes_multipart_checksums);
        RUN(test_attributes_versions_and_ssec);
        RUN(test_attributes_authorized_like_a_read);
        RUN(test_parts_and_attributes_attacked);
        RUN(test_complete_repeated);
        RUN(test_upload_initiator_named);
        RUN(test_object_ownership);
        RUN(test_recorded_owner_grants_nothing);
        RUN(test_missing_key_404_to_listers);
        RUN(test_lifecycle_validated);
        RUN(test_ssec_beside_sse_refused);
        RUN(test_copy_range_past_source);
        RUN(test_c1_key_unparsable);
        RUN(test_header_tags_by_key);
        RUN(test_bucket_recreated_only_as_it_is);
        RUN(test_lifecycle_expiration_header);
        RUN(test_unsigned_missing_bucket);
        RUN(test_complete_checksum_held);
        RUN(test_cors_asked_method);
        test_server_stop(&srv, false);
    }
    return test_report();
}

/* test_integrity.c — what libcos does with answers it must not trust and
 * files it must not clobber. Against a small hostile HTTP server in this
 * process: a store that sends no CRC-64 and inverts every byte (caught by
 * the MD5 ETag, on download and upload), one that stalls after the headers
 * (fails in a bounded number of attempts), endless listings and error
 * bodies (bounded memory). Against cos-server: keys with "." and ".."
 * segments, a symlink planted at DEST.cos-partial, a failed download's
 * partial file, and the official SDKs' UploadAddMetaMd5, UseRawKey,
 * AutoSwitchHost and a before-send hook. Hangs fail by a watchdog. */
#define _GNU_SOURCE
#include "testlib.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUCKET "integrity-" TEST_APPID
#define MIB (1024u * 1024u)

static test_server g_srv;
static char *g_dir;

/* ------------------------------------------------------------------ the hostile server */

enum mode { M_INVERT, M_PUT_BAD_ETAG, M_PUT_GOOD_ETAG, M_STALL, M_ENDLESS_LIST, M_ENDLESS_ERROR, M_LOOP_LIST, M_CREEP_LIST,
            M_V2_CYCLE, M_V2_EMPTY, M_INVERT_BAD_CRC, M_INVERT_NUM_CRC, M_APPEND };
static _Atomic int g_mode;
static _Atomic int g_requests;
static int g_port;
static unsigned char *g_obj;       /* the object the M_INVERT store holds */
static size_t g_obj_len;
static char g_obj_md5[33];
static unsigned char g_app[4096];  /* the object M_APPEND keeps */
static size_t g_app_len;
static _Atomic int g_app_lie;      /* M_APPEND answers a CRC-64 off by one */
static pthread_mutex_t g_app_lock = PTHREAD_MUTEX_INITIALIZER;
static struct { char key[64]; uint64_t len, crc; } g_keys[128]; /* M_APPEND's other keys: length and CRC only */

static void md5_hex(const void *buf, size_t len, char hex[33])
{
    unsigned char d[16];
    cos_md5_digest(buf, len, d);
    cos_hex_encode(d, 16, hex);
}

static void *conn_main(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char req[16384];
    size_t got;
    char *end = test_recv_head(fd, req, sizeof req, &got);
    if (!end) {
        close(fd);
        return NULL;
    }
    atomic_fetch_add(&g_requests, 1);
    char method[16] = "";
    sscanf(req, "%15s", method);
    size_t clen = 0;
    const char *cl = strcasestr(req, "\r\nContent-Length:");
    if (cl) clen = strtoul(cl + 17, NULL, 10);
    size_t have = got - (size_t)(end + 4 - req);
    unsigned char *body = malloc(clen + 1);
    memcpy(body, end + 4, have < clen ? have : clen);
    while (have < clen) {
        ssize_t n = recv(fd, body + have, clen - have, 0);
        if (n <= 0) break;
        have += (size_t)n;
    }
    char hdr[1024];
    int mode = atomic_load(&g_mode);
    if (mode == M_INVERT || mode == M_INVERT_BAD_CRC || mode == M_INVERT_NUM_CRC) {
        size_t first = 0, last = g_obj_len - 1;
        const char *range = strcasestr(req, "\r\nRange: bytes=");
        if (range) sscanf(range + 15, "%zu-%zu", &first, &last);
        bool head = !strcmp(method, "HEAD");
        int n = snprintf(hdr, sizeof hdr,
                         "HTTP/1.1 %s\r\nContent-Length: %zu\r\nETag: \"%s\"\r\nx-cos-request-id: fake\r\n%s%s"
                         "Connection: close\r\n\r\n",
                         range ? "206 Partial Content" : "200 OK", head ? g_obj_len : last - first + 1, g_obj_md5,
                         range ? "Accept-Ranges: bytes\r\n" : "",
                         mode == M_INVERT_BAD_CRC   ? "x-cos-hash-crc64ecma: not-a-number\r\n"
                         : mode == M_INVERT_NUM_CRC ? "x-cos-hash-crc64ecma: 12345\r\n"
                                                    : "");
        test_send_all(fd, hdr, (size_t)n);
        if (!head) {
            unsigned char *inv = malloc(last - first + 1);
            for (size_t i = first; i <= last; i++) inv[i - first] = (unsigned char)~g_obj[i];
            test_send_all(fd, inv, last - first + 1);
            free(inv);
        }
    } else if (mode == M_APPEND) {
        /* AppendObject as COS answers it: the whole object's CRC-64 (or a wrong one) */
        unsigned long long pos = 0;
        const char *p = strstr(req, "position=");
        if (p) pos = strtoull(p + 9, NULL, 10);
        char key[64] = "";
        sscanf(req, "%*s /%63[^? ]", key);
        pthread_mutex_lock(&g_app_lock);
        int n;
        int slot = -1;
        for (int i = 0; strcmp(key, "app") && i < 128 && slot < 0; i++)
            if (!strcmp(g_keys[i].key, key) || !g_keys[i].key[0]) slot = i;
        if (slot >= 0 && !g_keys[slot].key[0]) snprintf(g_keys[slot].key, sizeof g_keys[slot].key, "%s", key);
        if (slot >= 0 && pos == g_keys[slot].len) { /* another key: its length and CRC are all it keeps */
            g_keys[slot].crc = cos_crc64_combine(g_keys[slot].crc, cos_crc64(0, body, have), have);
            g_keys[slot].len += have;
            uint64_t crc = g_keys[slot].crc ^ (atomic_load(&g_app_lie) ? 1u : 0u);
            n = snprintf(hdr, sizeof hdr, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nx-cos-hash-crc64ecma: %llu\r\n"
                         "ETag: \"x\"\r\nx-cos-request-id: fake\r\nConnection: close\r\n\r\n", (unsigned long long)crc);
        } else if (slot >= 0 || pos != g_app_len || g_app_len + have > sizeof g_app) {
            static const char xml[] = "<?xml version=\"1.0\"?><Error><Code>PositionNotEqualToLength</Code>"
                                      "<Message>position</Message></Error>";
            n = snprintf(hdr, sizeof hdr, "HTTP/1.1 409 Conflict\r\nContent-Length: %zu\r\nContent-Type: application/xml\r\n"
                         "x-cos-request-id: fake\r\nConnection: close\r\n\r\n%s", sizeof xml - 1, xml);
        } else {
            memcpy(g_app + g_app_len, body, have);
            g_app_len += have;
            uint64_t crc = cos_crc64(0, g_app, g_app_len) ^ (atomic_load(&g_app_lie) ? 1u : 0u);
            n = snprintf(hdr, sizeof hdr, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nx-cos-hash-crc64ecma: %llu\r\n"
                         "x-cos-next-append-position: %zu\r\nETag: \"x\"\r\nx-cos-request-id: fake\r\n"
                         "Connection: close\r\n\r\n", (unsigned long long)crc, g_app_len);
        }
        pthread_mutex_unlock(&g_app_lock);
        test_send_all(fd, hdr, (size_t)n);
    } else if ((mode == M_PUT_BAD_ETAG || mode == M_PUT_GOOD_ETAG) && !strcmp(method, "POST") && strstr(req, "?uploads")) {
        static const char xml[] = "<?xml version=\"1.0\"?><InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
                                  "<UploadId>fake-upload</UploadId></InitiateMultipartUploadResult>";
        int n = snprintf(hdr, sizeof hdr, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nContent-Type: application/xml\r\n"
                         "x-cos-request-id: fake\r\nConnection: close\r\n\r\n%s", sizeof xml - 1, xml);
        test_send_all(fd, hdr, (size_t)n);
    } else if (mode == M_PUT_BAD_ETAG || mode == M_PUT_GOOD_ETAG) {
        char md5[33];
        if (mode == M_PUT_BAD_ETAG)
            for (size_t i = 0; i < have; i++) body[i] = (unsigned char)~body[i];
        md5_hex(body, have, md5);
        int n = snprintf(hdr, sizeof hdr, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nETag: \"%s\"\r\n"
                         "x-cos-request-id: fake\r\nConnection: close\r\n\r\n", md5);
        test_send_all(fd, hdr, (size_t)n);
    } else if (mode == M_STALL) {
        bool head = !strcmp(method, "HEAD");
        int n = snprintf(hdr, sizeof hdr, "HTTP/1.1 %s\r\nContent-Length: %u\r\nETag: \"stall\"\r\n"
                         "x-cos-request-id: fake\r\nConnection: close\r\n\r\n",
                         strcasestr(req, "\r\nRange:") ? "206 Partial Content" : "200 OK",
                         head ? 20 * MIB : strcasestr(req, "\r\nRange:") ? 8 * MIB : 20 * MIB);
        test_send_all(fd, hdr, (size_t)n);
        if (!head) {
            test_send_all(fd, "x", 1); /* then nothing, until the client gives up */
            struct pollfd p = { fd, POLLIN, 0 };
            char c;
            while (poll(&p, 1, 60000) > 0 && recv(fd, &c, 1, 0) > 0) {
            }
        }
    } else if (mode == M_V2_CYCLE || mode == M_V2_EMPTY) {
        /* ListObjectsV2 pages whose tokens never end: a cycle of two tokens
           (A: k2, B: k1 again, A: k2...), or empty pages, each with a new token */
        char token[512] = "";
        const char *t = strstr(req, "continuation-token=");
        if (t) sscanf(t + 19, "%500[^& \r\n]", token);
        char xml[2048];
        int xl = mode == M_V2_CYCLE
                     ? snprintf(xml, sizeof xml, "<?xml version=\"1.0\"?><ListBucketResult><Name>b</Name>"
                                "<IsTruncated>true</IsTruncated><NextContinuationToken>%s</NextContinuationToken>"
                                "<Contents><Key>%s</Key><Size>1</Size></Contents></ListBucketResult>",
                                !strcmp(token, "A") ? "B" : "A", !strcmp(token, "A") ? "k2" : "k1")
                     : snprintf(xml, sizeof xml, "<?xml version=\"1.0\"?><ListBucketResult><Name>b</Name>"
                                "<IsTruncated>true</IsTruncated><NextContinuationToken>%sT</NextContinuationToken>"
                                "</ListBucketResult>", token);
        int n = snprintf(hdr, sizeof hdr, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Type: application/xml\r\n"
                         "x-amz-request-id: fake\r\nConnection: close\r\n\r\n", xl);
        test_send_all(fd, hdr, (size_t)n);
        test_send_all(fd, xml, (size_t)xl);
    } else if (mode == M_LOOP_LIST || mode == M_CREEP_LIST) {
        /* truncated pages that never end: the same key and marker again and
           again, or empty pages whose marker creeps on ("z", "zz", ...) */
        char marker[512] = "";
        const char *m = strstr(req, "marker=");
        if (m) sscanf(m + 7, "%500[^& \r\n]", marker);
        char xml[2048];
        int xl = mode == M_LOOP_LIST
                     ? snprintf(xml, sizeof xml, "<?xml version=\"1.0\"?><ListBucketResult><Name>b</Name>"
                                "<IsTruncated>true</IsTruncated><NextMarker>k1</NextMarker><Contents><Key>k1</Key>"
                                "<Size>1</Size></Contents></ListBucketResult>")
                     : snprintf(xml, sizeof xml, "<?xml version=\"1.0\"?><ListBucketResult><Name>b</Name>"
                                "<IsTruncated>true</IsTruncated><NextMarker>%sz</NextMarker></ListBucketResult>", marker);
        int n = snprintf(hdr, sizeof hdr, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Type: application/xml\r\n"
                         "x-cos-request-id: fake\r\nConnection: close\r\n\r\n", xl);
        test_send_all(fd, hdr, (size_t)n);
        test_send_all(fd, xml, (size_t)xl);
    } else { /* endless answers */
        bool err = mode == M_ENDLESS_ERROR;
        int n = snprintf(hdr, sizeof hdr, "HTTP/1.1 %s\r\nContent-Type: application/xml\r\nConnection: close\r\n\r\n%s",
                         err ? "500 Internal Server Error" : "200 OK",
                         err ? "<?xml version=\"1.0\"?><Error><Code>InternalError</Code><Message>"
                             : "<?xml version=\"1.0\"?><ListBucketResult><Name>b</Name>");
        bool ok = test_send_all(fd, hdr, (size_t)n);
        static const char item[] = "<Contents><Key>endless/key-that-never-ends</Key><Size>1</Size></Contents>";
        char chunk[64 * 1024];
        size_t per = sizeof item - 1, fill = 0;
        while (fill + per <= sizeof chunk) {
            memcpy(chunk + fill, item, per);
            fill += per;
        }
        for (size_t sent = 0; ok && sent < (1u << 30); sent += fill) ok = test_send_all(fd, chunk, fill);
    }
    free(body);
    shutdown(fd, SHUT_WR);
    close(fd);
    return NULL;
}

static void start_hostile(void)
{
    int ls = test_listen_loopback(&g_port);
    CHECK(ls >= 0);
    test_serve_forever(ls, conn_main);
    g_obj_len = 300 * 1024 + 7;
    g_obj = malloc(g_obj_len);
    test_lcg_fill(g_obj, g_obj_len, 77);
    md5_hex(g_obj, g_obj_len, g_obj_md5);
}

static cos_client *hostile_client(int stall_ms)
{
    cos_config cfg;
    cos_config_init(&cfg);
    cfg.region = "ap-guangzhou";
    cfg.protocol = "http:";
    cfg.secret_id = TEST_SECRET_ID;
    cfg.secret_key = TEST_SECRET_KEY;
    char ep[64];
    snprintf(ep, sizeof ep, "127.0.0.1:%d", g_port);
    cfg.connect_to = ep;
    cfg.stall_timeout_ms = stall_ms;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    return c;
}

static void path(char *out, const char *name) { snprintf(out, 512, "%s/%s", g_dir, name); }

/* ------------------------------------------------------------------ 11. integrity without CRC-64 */

static void test_inverted_download_caught_by_md5(void)
{
    cos_client *c = hostile_client(0);
    atomic_store(&g_mode, M_INVERT);
    /* a CRC-64 header that is no number is no CRC-64: the MD5 is checked
       instead (it switched every check off: the inverted bytes were a success) */
    for (int bad_crc = 1; bad_crc >= 0; bad_crc--) {
        atomic_store(&g_mode, bad_crc ? M_INVERT_BAD_CRC : M_INVERT);
        cos_request g = COS_REQUEST_INIT;
        g.bucket = BUCKET;
        g.key = "inverted";
        cos_result *gr = NULL;
        cos_error *ge = NULL;
        CHECK_INT(cos_get_object(c, &g, &gr, &ge), COS_ERR_INTEGRITY);
        cos_result_free(gr);
        cos_error_free(ge);
    }
    test_watch(60, "downloads from a store that inverts bytes", &g_srv);
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = "inverted";
    cos_result *res = NULL;
    cos_error *err = NULL;
    int rc = cos_get_object(c, &r, &res, &err);
    CHECK_INT(rc, COS_ERR_INTEGRITY);
    if (err) CHECK(strstr(cos_error_message(err), "MD5") != NULL);
    cos_error_free(err);
    err = NULL;
    cos_result_free(res);
    /* downloadFile: ranged GETs, checked as a whole; nothing left behind */
    char dst[512], partial[600];
    path(dst, "inverted.out");
    snprintf(partial, sizeof partial, "%s.cos-partial", dst);
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = BUCKET;
    p.key = "inverted";
    p.file_path = dst;
    p.chunk_size = MIB;
    rc = cos_download_file(c, &p, NULL, &err);
    CHECK_INT(rc, COS_ERR_INTEGRITY);
    cos_error_free(err);
    CHECK(!test_exists(dst));
    CHECK(!test_exists(partial));
    test_unwatch();
    cos_client_free(c);
}

/* A client of the fake server in the S3 dialect. */
static cos_client *s3_client(void)
{
    char hp[32];
    snprintf(hp, sizeof hp, "127.0.0.1:%d", g_port);
    return test_s3_client(hp, "us-east-1", 0); /* 0: the default retries */
}

/* In the S3 dialect the x-cos-hash-crc64ecma of an answer is not checked
 * (an S3 store cannot answer for it), so it must not stand in for the MD5
 * either: a GET whose answer carried one was checked by nothing. */
static void test_s3_dialect_ignores_crc64_for_md5(void)
{
    cos_client *c = s3_client();
    cos_error *err = NULL;
    if (!c) return;
    test_watch(60, "S3-dialect downloads with a CRC-64 header", &g_srv);
    atomic_store(&g_mode, M_INVERT_NUM_CRC);
    cos_request g = COS_REQUEST_INIT;
    g.bucket = "inverted-s3";
    g.key = "inverted";
    cos_result *res = NULL;
    CHECK_INT(cos_get_object(c, &g, &res, &err), COS_ERR_INTEGRITY);
    if (err) CHECK(strstr(cos_error_message(err), "MD5") != NULL);
    cos_result_free(res);
    cos_error_free(err);
    test_unwatch();
    cos_client_free(c);
}

static void test_upload_etag_checked_without_crc(void)
{
    cos_client *c = hostile_client(0);
    char src[512];
    path(src, "up.bin");
    test_write_lcg_file(src, 100000, 4);
    test_watch(60, "uploads to a store whose ETag is not the MD5 sent", &g_srv);
    for (int pass = 0; pass < 2; pass++) { /* the first learns the store sends no CRC-64; the second hashes as it sends */
        atomic_store(&g_mode, M_PUT_BAD_ETAG);
        cos_request r = COS_REQUEST_INIT;
        r.bucket = BUCKET;
        r.key = "up.bin";
        r.body.data = "hello, world";
        r.body.size = 12;
        cos_result *res = NULL;
        cos_error *err = NULL;
        CHECK_INT(cos_put_object(c, &r, &res, &err), COS_ERR_INTEGRITY);
        cos_error_free(err);
        err = NULL;
        r.body.data = NULL;
        r.body.size = 0;
        r.body.file_path = src;
        r.body.file_length = -1;
        CHECK_INT(cos_put_object(c, &r, &res, &err), COS_ERR_INTEGRITY);
        cos_error_free(err);
        err = NULL;
        /* the parts of a multipart upload (sent from a callback body) */
        cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
        p.bucket = BUCKET;
        p.key = "up.bin";
        p.file_path = src;
        p.no_resume = true;
        p.slice_size = 1000;
        CHECK_INT(cos_slice_upload_file(c, &p, NULL, &err), COS_ERR_INTEGRITY);
        cos_error_free(err);
        err = NULL;
        /* uploadFile's simple upload (postObject by default): the form's file part */
        cos_transfer_params sp = COS_TRANSFER_PARAMS_INIT;
        sp.bucket = BUCKET;
        sp.key = "post.bin";
        sp.file_path = src;
        CHECK_INT(cos_upload_file(c, &sp, NULL, &err), COS_ERR_INTEGRITY);
        cos_error_free(err);
        err = NULL;
        atomic_store(&g_mode, M_PUT_GOOD_ETAG);
        CHECK_OK(cos_put_object(c, &r, &res, &err), err); /* a store that tells the truth passes */
        cos_result_free(res);
        res = NULL;
    }
    test_unwatch();
    cos_client_free(c);
}

/* One appendObject of `text` at pos; its rc (the error freed), the answer's CRC-64 in *crc. */
static int append(cos_client *c, const char *key, uint64_t pos, const char *text, const uint64_t *base, uint64_t *crc,
                  char *msg, size_t msg_cap)
{
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = key;
    r.position = pos;
    r.body.data = text;
    r.body.size = strlen(text);
    if (base) {
        r.append_base_crc64 = *base;
        r.has_append_base_crc64 = true;
    }
    cos_result *res = NULL;
    cos_error *err = NULL;
    int rc = cos_append_object(c, &r, &res, &err);
    if (msg) snprintf(msg, msg_cap, "%s", err ? cos_error_message(err) : "");
    if (res && crc) {
        CHECK(res->has_crc64);
        *crc = res->crc64;
    }
    cos_result_free(res);
    cos_error_free(err);
    return rc;
}

/* AppendObject against a store that answers a wrong CRC-64 for the whole
 * object: at position 0 the data's own CRC tells; later, the CRC before
 * (given by the caller, or remembered from this client's last append)
 * combined with the data's. Appends are never resent (the data is there). */
static void test_append_crc_checked(void)
{
    cos_client *c = hostile_client(0);
    test_watch(60, "appends to a store that lies about the CRC-64", &g_srv);
    atomic_store(&g_mode, M_APPEND);
    const char *a = "first bytes|", *b = "second bytes|", *d = "third|";
    char msg[1024];
    uint64_t crc = 0, want = cos_crc64(0, a, strlen(a));
    /* position 0, a lie: caught (it was a success) */
    g_app_len = 0;
    atomic_store(&g_app_lie, 1);
    atomic_store(&g_requests, 0);
    CHECK_INT(append(c, "app", 0, a, NULL, NULL, msg, sizeof msg), COS_ERR_INTEGRITY);
    CHECK(strstr(msg, "CRC-64") && strstr(msg, "position 0"));
    CHECK_INT(atomic_load(&g_requests), 1); /* not sent again */
    /* the truth at 0, then a lie at 12: the client remembers what its append was answered with */
    g_app_len = 0;
    atomic_store(&g_app_lie, 0);
    CHECK_INT(append(c, "app", 0, a, NULL, &crc, NULL, 0), 0);
    CHECK(crc == want);
    atomic_store(&g_app_lie, 1);
    CHECK_INT(append(c, "app", strlen(a), b, NULL, NULL, msg, sizeof msg), COS_ERR_INTEGRITY);
    printf("remembered: %s\n", msg);
    CHECK(strstr(msg, "last append") != NULL);
    /* the caller's CRC before: checked without any memory (another client) */
    cos_client *other = hostile_client(0);
    size_t len = g_app_len;
    uint64_t before = cos_crc64(0, g_app, g_app_len);
    CHECK_INT(append(other, "app", len, d, &before, NULL, msg, sizeof msg), COS_ERR_INTEGRITY);
    CHECK(strstr(msg, "append_base_crc64") != NULL);
    atomic_store(&g_app_lie, 0);
    len = g_app_len;
    before = cos_crc64(0, g_app, g_app_len);
    CHECK_INT(append(other, "app", len, d, &before, &crc, NULL, 0), 0);
    CHECK(crc == cos_crc64(0, g_app, g_app_len));
    /* chained by the returned CRC, and by memory, both truthful */
    CHECK_INT(append(other, "app", g_app_len, b, &crc, &crc, NULL, 0), 0);
    CHECK_INT(append(other, "app", g_app_len, a, NULL, &crc, NULL, 0), 0);
    CHECK(crc == cos_crc64(0, g_app, g_app_len));
    /* a caller's wrong CRC before: a truthful store's answer does not match it */
    uint64_t wrong = crc ^ 2;
    CHECK_INT(append(other, "app", g_app_len, d, &wrong, NULL, NULL, 0), COS_ERR_INTEGRITY);
    /* without a known CRC before (no memory at this length, none given), nothing to check: a success */
    atomic_store(&g_app_lie, 1);
    cos_client *third = hostile_client(0);
    CHECK_INT(append(third, "app", g_app_len, d, NULL, NULL, NULL, 0), 0);
    cos_client_free(third);
    cos_client_free(other);
    atomic_store(&g_app_lie, 0);
    test_unwatch();
    cos_client_free(c);
}

typedef struct appender { cos_client *c; int first, count, failures; } appender;
static void *append_keys(void *ud)
{
    appender *a = ud;
    for (int i = a->first; i < a->first + a->count; i++) {
        char key[32];
        snprintf(key, sizeof key, "many-%03d", i);
        if (append(a->c, key, 0, "one|", NULL, NULL, NULL, 0) || append(a->c, key, 4, "two|", NULL, NULL, NULL, 0))
            a->failures++;
    }
    return NULL;
}

/* The memory of the client's own appends is shared by threads (4 append
 * to 40 objects at once, each checked) and bounded: of 40 objects appended
 * to in order, a lie about the 32 newest is caught, one about an older
 * (forgotten) one cannot be and passes unchecked. */
static void test_append_memory_bounded(void)
{
    cos_client *c = hostile_client(0);
    test_watch(120, "appends from 4 threads", &g_srv);
    atomic_store(&g_mode, M_APPEND);
    atomic_store(&g_app_lie, 0);
    appender a[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (appender){ c, i * 10, 10, 0 };
        CHECK(pthread_create(&th[i], NULL, append_keys, &a[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT(a[i].failures, 0);
    }
    /* in order now: of 40 objects appended to, the client remembers the last 32 */
    for (int i = 0; i < 40; i++) {
        char key[32];
        snprintf(key, sizeof key, "seq-%03d", i);
        CHECK_INT(append(c, key, 0, "one|", NULL, NULL, NULL, 0), 0);
    }
    atomic_store(&g_app_lie, 1);
    char msg[1024];
    CHECK_INT(append(c, "seq-039", 4, "two|", NULL, NULL, msg, sizeof msg), COS_ERR_INTEGRITY); /* the newest: checked */
    CHECK(strstr(msg, "last append") != NULL);
    CHECK_INT(append(c, "seq-008", 4, "two|", NULL, NULL, NULL, 0), COS_ERR_INTEGRITY); /* the 32nd newest: still */
    CHECK_INT(append(c, "seq-007", 4, "two|", NULL, NULL, NULL, 0), 0); /* the 33rd: forgotten, so unchecked */
    atomic_store(&g_app_lie, 0);
    test_unwatch();
    cos_client_free(c);
}

/* The same promise against cos-server, which tells the truth: chains of
 * appends by memory and by the returned CRC pass and return the object's
 * CRC-64; a caller's wrong CRC before is an integrity error. */
static void test_append_crc_cos_server(void)
{
    cos_client *c = test_client(&g_srv);
    cos_client *c2 = test_client(&g_srv);
    char all[256] = "";
    const char *pieces[] = { "alpha,", "beta,", "gamma,", "delta" };
    uint64_t crc = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t pos = strlen(all);
        /* odd pieces from a second client, chained by the CRC the first one's result returned */
        int rc = (i % 2) ? append(c2, "appended", pos, pieces[i], &crc, &crc, NULL, 0)
                         : append(c, "appended", pos, pieces[i], NULL, &crc, NULL, 0);
        CHECK_INT(rc, 0);
        strcat(all, pieces[i]);
        CHECK(crc == cos_crc64(0, all, strlen(all)));
    }
    uint64_t wrong = crc + 1;
    char msg[1024];
    CHECK_INT(append(c2, "appended", strlen(all), "!", &wrong, NULL, msg, sizeof msg), COS_ERR_INTEGRITY);
    CHECK(strstr(msg, "was appended") != NULL);
    cos_client_free(c2);
    cos_client_free(c);
}

/* LEFTOUT (the stale append CRC): another writer replaced the object with
 * one of the same length between two of this client's appends; the CRC the
 * client remembered was the old object's, and its next append, stored
 * intact, failed with COS_ERR_INTEGRITY. Now such a mismatch reads the
 * object back: the one the server's CRC describes, ending with the bytes
 * sent, is a success (sync and async); a lie still fails (test_append_crc_checked). */
static void replace_with(cos_client *c, const char *key, const char *text)
{
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = key;
    cos_error *err = NULL;
    CHECK_OK(cos_delete_object(c, &r, NULL, &err), err);
    CHECK_INT(append(c, key, 0, text, NULL, NULL, NULL, 0), 0);
}

static void test_append_memory_goes_stale(void)
{
    cos_client *c = test_client(&g_srv), *other = test_client(&g_srv);
    uint64_t crc = 0;
    char msg[1024] = "";
    CHECK_INT(append(c, "stale", 0, "first|", NULL, NULL, NULL, 0), 0); /* remembered: 6 bytes */
    replace_with(other, "stale", "other|");                              /* another object of 6 */
    int rc = append(c, "stale", 6, "more", NULL, &crc, msg, sizeof msg);
    if (rc) printf("  the append after the replacement: %d %s\n", rc, msg);
    CHECK_INT(rc, 0);
    CHECK(crc == cos_crc64(0, "other|more", 10));
    /* async: the same check runs on a worker */
    replace_with(other, "stale", "OTHER|MORE");
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = "stale";
    r.position = 10;
    r.body.data = "!";
    r.body.size = 1;
    cos_future *f = cos_future_new();
    CHECK_INT(cos_append_object_async(c, &r, cos_future_done, f), 0);
    cos_result *res = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_future_wait(f, &res, &err), err);
    CHECK(res && res->has_crc64 && res->crc64 == cos_crc64(0, "OTHER|MORE!", 11));
    cos_result_free(res);
    cos_future_free(f);
    /* and the memory follows: the next append is checked against the new CRC */
    CHECK_INT(append(c, "stale", 11, "?", NULL, &crc, NULL, 0), 0);
    CHECK(crc == cos_crc64(0, "OTHER|MORE!?", 12));
    cos_client_free(other);
    cos_client_free(c);
}

/* ------------------------------------------------------------------ 10. bounded retries and answers */

static void test_stall_after_headers_is_bounded(void)
{
    cos_client *c = hostile_client(1000);
    atomic_store(&g_mode, M_STALL);
    atomic_store(&g_requests, 0);
    test_watch(90, "a store that stalls after the headers", &g_srv);
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = "stall";
    cos_result *res = NULL;
    cos_error *err = NULL;
    CHECK_INT(cos_get_object(c, &r, &res, &err), COS_ERR_TIMEOUT);
    cos_error_free(err);
    err = NULL;
    CHECK(atomic_load(&g_requests) <= 2); /* a stall is tried once more, not max_retries times */
    /* downloadFile of 20 MiB: 3 ranges, each tried twice at most, no part retries on top */
    atomic_store(&g_requests, 0);
    char dst[512];
    path(dst, "stall.out");
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = BUCKET;
    p.key = "stall";
    p.file_path = dst;
    CHECK_INT(cos_download_file(c, &p, NULL, &err), COS_ERR_TIMEOUT);
    cos_error_free(err);
    int n = atomic_load(&g_requests);
    printf("stalled downloadFile: %d requests\n", n);
    CHECK(n <= 1 + 3 * 2);
    test_unwatch();
    cos_client_free(c);
}

static void test_endless_answers_are_bounded(void)
{
    cos_client *c = hostile_client(0);
    test_watch(120, "endless listings and error bodies", &g_srv);
    atomic_store(&g_mode, M_ENDLESS_LIST);
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    cos_result *res = NULL;
    cos_error *err = NULL;
    CHECK_INT(cos_get_bucket(c, &r, &res, &err), COS_ERR_PARSE);
    if (err) CHECK(strstr(cos_error_message(err), "MiB") != NULL);
    cos_error_free(err);
    err = NULL;
    atomic_store(&g_mode, M_ENDLESS_ERROR);
    atomic_store(&g_requests, 0);
    r.key = "x";
    CHECK_INT(cos_head_object(c, &r, &res, &err), COS_ERR_SERVER); /* HEAD: no body read at all */
    cos_error_free(err);
    err = NULL;
    CHECK_INT(cos_get_object_acl(c, &r, &res, &err), COS_ERR_SERVER);
    if (err) CHECK_INT(err->http_status, 500);
    cos_error_free(err);
    CHECK(atomic_load(&g_requests) <= 2 * (1 + 3)); /* each call: the first try and max_retries more */
    test_unwatch();
    cos_client_free(c);
}

/* cos_object_iter against listings that never end: a NextMarker that does
 * not advance made the iteration yield the same key for ever, and empty
 * truncated pages made it ask for ever; both end with COS_ERR_PARSE. */
static void test_endless_iterations_end(void)
{
    cos_client *c = hostile_client(0);
    test_watch(120, "cos_object_iter over a listing that never ends", &g_srv);
    int modes[2] = { M_LOOP_LIST, M_CREEP_LIST };
    for (int i = 0; i < 2; i++) {
        atomic_store(&g_mode, modes[i]);
        atomic_store(&g_requests, 0);
        cos_request r = COS_REQUEST_INIT;
        r.bucket = BUCKET;
        cos_object_iter *it = NULL;
        cos_error *err = NULL;
        CHECK_OK(cos_object_iter_new(&it, c, &r, &err), err);
        const cos_object_summary *o = NULL;
        int rc, seen = 0;
        while ((rc = cos_object_iter_next(it, &o, &err)) == 1 && seen < 100000) seen++;
        CHECK_INT(rc, COS_ERR_PARSE);
        CHECK(err && strstr(cos_error_message(err), "never end"));
        cos_error_free(err);
        err = NULL;
        CHECK_INT(cos_object_iter_next(it, &o, &err), 0); /* and after that, the end */
        CHECK(atomic_load(&g_requests) <= 101);
        cos_object_iter_free(it);
    }
    test_unwatch();
    cos_client_free(c);
}

/* The same in the S3 dialect (ListObjectsV2, opaque continuation tokens):
 * a cycle of tokens (keys come back) and empty pages with ever new tokens
 * made cos_object_iter_next go on for ever; both end with COS_ERR_PARSE. */
static void test_endless_v2_iterations_end(void)
{
    cos_client *c = s3_client();
    cos_error *err = NULL;
    if (!c) return;
    test_watch(120, "cos_object_iter over a ListObjectsV2 listing that never ends", &g_srv);
    int modes[2] = { M_V2_CYCLE, M_V2_EMPTY };
    for (int i = 0; i < 2; i++) {
        atomic_store(&g_mode, modes[i]);
        atomic_store(&g_requests, 0);
        cos_request r = COS_REQUEST_INIT;
        r.bucket = "endless-v2";
        cos_object_iter *it = NULL;
        CHECK_OK(cos_object_iter_new(&it, c, &r, &err), err);
        const cos_object_summary *o = NULL;
        int rc, seen = 0;
        while ((rc = cos_object_iter_next(it, &o, &err)) == 1 && seen < 1000) seen++;
        CHECK_INT(rc, COS_ERR_PARSE);
        CHECK(err && strstr(cos_error_message(err), "never end"));
        printf("ListObjectsV2 %s: %s\n", i ? "empty pages" : "token cycle", err ? cos_error_message(err) : "");
        cos_error_free(err);
        err = NULL;
        CHECK_INT(cos_object_iter_next(it, &o, &err), 0);
        CHECK(atomic_load(&g_requests) <= 101);
        cos_object_iter_free(it);
    }
    test_unwatch();
    cos_client_free(c);
}

/* ------------------------------------------------------------------ 11. files and keys, against cos-server */

static cos_client *server_client(void (*tweak)(cos_config *))
{
    cos_config cfg;
    test_config(&cfg, &g_srv);
    if (tweak) tweak(&cfg);
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    return c;
}

static void put_text(cos_client *c, const char *key, const char *text)
{
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = key;
    r.body.data = text;
    r.body.size = strlen(text);
    cos_result *res = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_put_object(c, &r, &res, &err), err);
    cos_result_free(res);
}

static bool listed(cos_client *c, const char *prefix, const char *key)
{
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.prefix = prefix;
    cos_result *res = NULL;
    cos_error *err = NULL;
    bool found = false;
    CHECK_OK(cos_get_bucket(c, &r, &res, &err), err);
    for (size_t i = 0; res && res->output.list_objects && i < res->output.list_objects->contents_count; i++)
        found |= !strcmp(res->output.list_objects->contents[i].key, key);
    cos_result_free(res);
    return found;
}

static void test_dot_segment_keys(void)
{
    cos_client *c = server_client(NULL);
    const char *keys[] = { "dots/./one", "dots/x/../two", "dots/three/.", "dots/four/.." };
    for (size_t i = 0; i < 4; i++) {
        put_text(c, keys[i], keys[i]);
        CHECK(listed(c, "dots/", keys[i])); /* stored as written, not resolved */
        cos_request r = COS_REQUEST_INIT;
        r.bucket = BUCKET;
        r.key = keys[i];
        cos_result *res = NULL;
        cos_error *err = NULL;
        CHECK_OK(cos_get_object(c, &r, &res, &err), err);
        if (res) CHECK(res->body_size == strlen(keys[i]) && !memcmp(res->body, keys[i], res->body_size));
        cos_result_free(res);
        res = NULL;
        CHECK_OK(cos_delete_object(c, &r, &res, &err), err);
        cos_result_free(res);
    }
    CHECK(!listed(c, "dots/", "dots/one"));
    cos_client_free(c);
}

static void test_partial_file_safety(void)
{
    cos_client *c = server_client(NULL);
    char src[512], dst[512], partial[600], victim[512];
    path(src, "safe.bin");
    path(dst, "safe.out");
    path(victim, "victim.txt");
    snprintf(partial, sizeof partial, "%s.cos-partial", dst);
    test_write_lcg_file(src, 3 * MIB + 3, 14);
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = BUCKET;
    p.key = "safe.bin";
    p.file_path = src;
    cos_error *err = NULL;
    CHECK_OK(cos_upload_file(c, &p, NULL, &err), err);
    /* a symlink planted where the partial file goes must not be written through */
    FILE *f = fopen(victim, "w");
    fputs("precious", f);
    fclose(f);
    CHECK(symlink(victim, partial) == 0);
    p.file_path = dst;
    CHECK_OK(cos_download_file(c, &p, NULL, &err), err);
    CHECK(test_files_equal(src, dst) == 0);
    char buf[32] = "";
    f = fopen(victim, "r");
    CHECK(f && fgets(buf, sizeof buf, f));
    if (f) fclose(f);
    CHECK_STR(buf, "precious");
    /* a download that fails leaves no partial file (nothing to resume) */
    unlink(dst);
    test_set_faults(c, &g_srv, "[{\"method\":\"GET\",\"match\":\"safe.bin\",\"action\":\"status\",\"code\":\"AccessDenied\",\"times\":100}]");
    CHECK(cos_download_file(c, &p, NULL, &err) != 0);
    cos_error_free(err);
    err = NULL;
    CHECK(!test_exists(partial));
    CHECK(!test_exists(dst));
    test_set_faults(c, &g_srv, NULL);
    cos_client_free(c);
}

/* ------------------------------------------------------------------ 14. the SDKs' options */

static void tweak_meta_raw(cos_config *cfg)
{
    cfg->upload_add_meta_md5 = true;
    cfg->use_raw_key = true;
}

static int add_header(void *ud, cos_outgoing *o)
{
    (*(int *)ud)++;
    if (!strcmp(cos_outgoing_method(o), "PUT")) return cos_outgoing_set_header(o, "x-cos-meta-hook", "added");
    return 0;
}

static int g_hook_calls;
static void tweak_hook(cos_config *cfg)
{
    cfg->before_send = add_header;
    cfg->before_send_user_data = &g_hook_calls;
}

static char g_switch_map[256];
static void tweak_switch(cos_config *cfg)
{
    cfg->auto_switch_host = true;
    cfg->connect_to = g_switch_map;
}

static const char *head_header(cos_client *c, const char *key, const char *name, char *out, size_t cap)
{
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = key;
    cos_result *res = NULL;
    cos_error *err = NULL;
    out[0] = '\0';
    CHECK_OK(cos_head_object(c, &r, &res, &err), err);
    const char *v = cos_result_header(res, name);
    if (v) snprintf(out, cap, "%s", v);
    cos_result_free(res);
    return v ? out : NULL;
}

static void test_sdk_options(void)
{
    /* UploadAddMetaMd5 and UseRawKey */
    cos_client *c = server_client(tweak_meta_raw);
    put_text(c, "/raw-key", "raw");
    CHECK(listed(c, "/", "/raw-key")); /* the leading "/" is part of the key */
    char v[64], md5[33];
    md5_hex("raw", 3, md5);
    CHECK(head_header(c, "/raw-key", "x-cos-meta-md5", v, sizeof v) != NULL);
    CHECK_STR(v, md5);
    cos_client_free(c);
    /* the before-send hook adds a (signed) header */
    c = server_client(tweak_hook);
    put_text(c, "hooked", "x");
    CHECK(g_hook_calls >= 1);
    CHECK(head_header(c, "hooked", "x-cos-meta-hook", v, sizeof v) != NULL);
    CHECK_STR(v, "added");
    cos_client_free(c);
    /* AutoSwitchHost: the main domain is unreachable, the backup answers */
    int dead_port = 0;
    int ds = test_listen_loopback(&dead_port);
    close(ds); /* nothing listens there now: connections are refused */
    snprintf(g_switch_map, sizeof g_switch_map, "%s.cos.ap-guangzhou.myqcloud.com:80:127.0.0.1:%d,%s.cos.ap-guangzhou.tencentcos.cn:80:%s",
             BUCKET, dead_port, BUCKET, g_srv.endpoint);
    c = server_client(tweak_switch);
    test_watch(60, "AutoSwitchHost", &g_srv);
    put_text(c, "switched", "y");
    test_unwatch();
    cos_client_free(c);
    c = server_client(NULL);
    CHECK(listed(c, "switched", "switched"));
    cos_client_free(c);
}

int main(void)
{
    start_hostile();
    const char *args[] = { "--faults", NULL };
    if (test_server_start(&g_srv, args) != 0) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    g_dir = test_tmpdir("integrity");
    test_put_bucket_on(&g_srv, BUCKET);
    RUN(test_inverted_download_caught_by_md5);
    RUN(test_s3_dialect_ignores_crc64_for_md5);
    RUN(test_upload_etag_checked_without_crc);
    RUN(test_append_crc_checked);
    RUN(test_append_memory_bounded);
    RUN(test_append_crc_cos_server);
    RUN(test_append_memory_goes_stale);
    RUN(test_stall_after_headers_is_bounded);
    RUN(test_endless_answers_are_bounded);
    RUN(test_endless_iterations_end);
    RUN(test_endless_v2_iterations_end);
    RUN(test_dot_segment_keys);
    RUN(test_partial_file_safety);
    RUN(test_sdk_options);
    test_server_stop(&g_srv, false);
    test_rmtree(g_dir);
    free(g_dir);
    free(g_obj);
    return test_report();
}

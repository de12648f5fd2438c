/* test_hostile_answers.c — libcos against a server that answers badly, in
 * this process on a loopback port: a body shorter or longer than its
 * Content-Length, a connection closed mid-body, endless response headers,
 * a storm of 503s, a server that accepts and never answers or dribbles a
 * byte at a time, and an AppendObject or CompleteMultipartUpload whose
 * answer is lost after the server acted on it. Sync calls, async calls and
 * downloadFile: each ends (a watchdog, never a timed assertion, catches a
 * hang) with a clear error or a correct result, a download never leaves a
 * file that looks complete, and an append is never applied twice. */
#define _GNU_SOURCE
#include "testlib.h"
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BUCKET "answers-1250000000"

enum mode { M_SHORT, M_LONG, M_HEADERS, M_BIG_HEADER, M_503, M_SILENT, M_DRIBBLE, M_APPEND, M_COMPLETE, M_UPLOAD, M_NO_RANGE,
            M_REPLACED, M_REPLACED_DEAF, M_COMPLETE_ERR200, M_NO_TAG, M_IF_MATCH_REFUSED, M_MANY_HEADERS };
static _Atomic int g_mode;
static _Atomic int g_requests;
static int g_port;
static char *g_dir;
static unsigned char *g_obj;
static size_t g_obj_len;
static char g_obj_crc[32];

#define MAX_STAMPS 64
static int64_t g_stamp[MAX_STAMPS]; /* when each request arrived (monotonic ms) */

/* M_APPEND's object, and whether the next append's answer is lost (after it is applied) */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static char g_app[4096];
static size_t g_app_len;
static bool g_lose_next;
static bool g_completed;
static uint64_t g_up_len, g_up_crc; /* M_UPLOAD: the object once completed */
static bool g_replaced;              /* M_REPLACED*: the object was replaced after its first GET */
static _Atomic int g_if_match;       /* requests that carried If-Match */

/* M_MANY_HEADERS: how many x-cos-meta-hN headers (and one more of 48 KiB),
 * and the length of the value of header k */
#define MANY_HEADERS 300
static size_t many_header_len(int k) { return (size_t)(k * 37 % 700); }

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait (at most a minute) for the client to give up and close. */
static void wait_for_close(int fd)
{
    struct pollfd p = { fd, POLLIN, 0 };
    char c[256];
    while (poll(&p, 1, 60000) > 0 && recv(fd, c, sizeof c, 0) > 0) {
    }
}

static void send_xml(int fd, const char *status, const char *xml, const char *extra)
{
    char hdr[1024];
    int n = snprintf(hdr, sizeof hdr, "HTTP/1.1 %s\r\nContent-Type: application/xml\r\nContent-Length: %zu\r\n"
                     "x-cos-request-id: hostile\r\n%sConnection: close\r\n\r\n", status, strlen(xml), extra ? extra : "");
    test_send_all(fd, hdr, (size_t)n);
    test_send_all(fd, xml, strlen(xml));
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
    int i = atomic_fetch_add(&g_requests, 1);
    if (i < MAX_STAMPS) g_stamp[i] = mono_ms();
    char method[16] = "";
    sscanf(req, "%15s", method);
    bool head = !strcmp(method, "HEAD");
    size_t clen = 0;
    const char *cl = strcasestr(req, "\r\nContent-Length:");
    if (cl) clen = strtoul(cl + 17, NULL, 10);
    size_t have = got - (size_t)(end + 4 - req);
    char *body = malloc(clen + 1);
    if (have > clen) have = clen;
    memcpy(body, end + 4, have);
    while (have < clen) {
        ssize_t n = recv(fd, body + have, clen - have, 0);
        if (n <= 0) break;
        have += (size_t)n;
    }
    char hdr[1024];
    int mode = atomic_load(&g_mode);
    size_t first = 0, last = g_obj_len - 1;
    const char *range = strcasestr(req, "\r\nRange: bytes=");
    if (range) sscanf(range + 15, "%zu-%zu", &first, &last);
    if (last >= g_obj_len) last = g_obj_len - 1;
    size_t len = last - first + 1;
    if (mode == M_IF_MATCH_REFUSED) { /* a store whose If-Match never matches its own multipart ETag */
        if (strcasestr(req, "\r\nIf-Match:")) {
            send_xml(fd, "412 Precondition Failed", "<?xml version=\"1.0\"?><Error><Code>PreconditionFailed</Code>"
                     "<Message>At least one of the pre-conditions you specified did not hold</Message></Error>", NULL);
        } else {
            int n = snprintf(hdr, sizeof hdr, "HTTP/1.1 %s\r\nContent-Length: %zu\r\nETag: \"v1-3\"\r\n"
                             "x-cos-request-id: hostile\r\nConnection: close\r\n\r\n",
                             range ? "206 Partial Content" : "200 OK", head ? g_obj_len : len);
            test_send_all(fd, hdr, (size_t)n);
            if (!head) test_send_all(fd, g_obj + first, len);
        }
    } else if (mode == M_NO_TAG) {
        /* a store that sends neither ETag nor CRC-64; while g_lose_next is
           set its third range is cut short, and g_replaced serves other bytes */
        pthread_mutex_lock(&g_lock);
        bool v2 = g_replaced, cut = g_lose_next && first >= 2 * 1024 * 1024;
        pthread_mutex_unlock(&g_lock);
        int n = snprintf(hdr, sizeof hdr, "HTTP/1.1 %s\r\nContent-Length: %zu\r\nx-cos-request-id: hostile\r\n"
                         "Connection: close\r\n\r\n", range ? "206 Partial Content" : "200 OK", head ? g_obj_len : len);
        test_send_all(fd, hdr, (size_t)n);
        if (!head) {
            unsigned char *b = malloc(len);
            for (size_t k = 0; k < len; k++) b[k] = v2 ? g_obj[first + k] ^ 0x5a : g_obj[first + k];
            test_send_all(fd, b, cut ? len / 2 : len);
            free(b);
        }
    } else if (mode == M_REPLACED || mode == M_REPLACED_DEAF) {
        /* an S3-like store (no CRC-64, a multipart ETag) whose object is
           replaced, same size, right after its first GET; M_REPLACED
           honours If-Match, M_REPLACED_DEAF ignores it */
        pthread_mutex_lock(&g_lock);
        bool v2 = g_replaced;
        if (!head) g_replaced = true;
        pthread_mutex_unlock(&g_lock);
        const char *etag = v2 ? "\"v2-3\"" : "\"v1-3\"";
        const char *im = strcasestr(req, "\r\nIf-Match:");
        if (im) atomic_fetch_add(&g_if_match, 1);
        char want[64] = "";
        if (im) sscanf(im + 11, " %63[^\r]", want);
        if (im && mode == M_REPLACED && strcmp(want, etag) != 0) {
            send_xml(fd, "412 Precondition Failed", "<?xml version=\"1.0\"?><Error><Code>PreconditionFailed</Code>"
                     "<Message>At least one of the pre-conditions you specified did not hold</Message></Error>", NULL);
        } else {
            int n = snprintf(hdr, sizeof hdr, "HTTP/1.1 %s\r\nContent-Length: %zu\r\nETag: %s\r\n"
                             "x-cos-request-id: hostile\r\nConnection: close\r\n\r\n",
                             range ? "206 Partial Content" : "200 OK", head ? g_obj_len : len, etag);
            test_send_all(fd, hdr, (size_t)n);
            if (!head && v2) {
                unsigned char *other = malloc(len);
                for (size_t k = 0; k < len; k++) other[k] = g_obj[first + k] ^ 0x5a;
                test_send_all(fd, other, len);
                free(other);
            } else if (!head) {
                test_send_all(fd, g_obj + first, len);
            }
        }
    } else if (mode == M_NO_RANGE) { /* every GET gets the whole object, Range or not */
        int n = snprintf(hdr, sizeof hdr, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nx-cos-hash-crc64ecma: %s\r\n"
                         "ETag: \"a-1\"\r\nx-cos-request-id: hostile\r\nConnection: close\r\n\r\n", g_obj_len, g_obj_crc);
        test_send_all(fd, hdr, (size_t)n);
        if (!head) test_send_all(fd, g_obj, g_obj_len);
    } else if (mode == M_SHORT || mode == M_LONG) {
        /* the whole object's CRC-64 (as COS sends on a ranged GET too) */
        int n = snprintf(hdr, sizeof hdr, "HTTP/1.1 %s\r\nContent-Length: %zu\r\nx-cos-hash-crc64ecma: %s\r\n"
                         "ETag: \"a-1\"\r\nx-cos-request-id: hostile\r\nConnection: close\r\n\r\n",
                         range ? "206 Partial Content" : "200 OK", head ? g_obj_len : len, g_obj_crc);
        test_send_all(fd, hdr, (size_t)n);
        if (!head && mode == M_SHORT) {
            test_send_all(fd, g_obj + first, len / 2); /* then the connection closes */
        } else if (!head) {
            test_send_all(fd, g_obj + first, len);
            char junk[1000];
            memset(junk, 'J', sizeof junk);
            test_send_all(fd, junk, sizeof junk); /* more than Content-Length said */
        }
    } else if (mode == M_HEADERS || mode == M_BIG_HEADER) {
        bool ok = test_send_all(fd, "HTTP/1.1 200 OK\r\n", 17);
        char line[128];
        if (mode == M_HEADERS) { /* headers that never end */
            for (long k = 0; ok && k < 20000000; k++) {
                int n = snprintf(line, sizeof line, "x-cos-meta-junk-%ld: %s\r\n", k, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
                ok = test_send_all(fd, line, (size_t)n);
            }
        } else { /* one header line that never ends */
            ok = test_send_all(fd, "x-cos-meta-big: ", 16);
            memset(line, 'b', sizeof line);
            for (long k = 0; ok && k < 20000000; k++) ok = test_send_all(fd, line, sizeof line);
        }
    } else if (mode == M_MANY_HEADERS) {
        /* an interim answer whose headers must not stay, then MANY_HEADERS
           headers of growing sizes and one of 48 KiB: the block that keeps
           them (engine.c) regrows and moves them many times */
        static const char interim[] = "HTTP/1.1 100 Continue\r\nx-cos-meta-interim: gone\r\n\r\n",
                          start[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nx-cos-request-id: many\r\n";
        bool ok = test_send_all(fd, interim, sizeof interim - 1);
        ok = ok && test_send_all(fd, start, sizeof start - 1);
        char *line = malloc(64 + 48 * 1024);
        for (int k = 0; ok && line && k <= MANY_HEADERS; k++) {
            size_t vlen = k < MANY_HEADERS ? many_header_len(k) : 48 * 1024;
            int n = snprintf(line, 64, "x-cos-meta-h%d: ", k);
            for (size_t j = 0; j < vlen; j++) line[(size_t)n + j] = (char)('a' + (k + (int)j) % 26);
            memcpy(line + (size_t)n + vlen, "\r\n", 2);
            ok = test_send_all(fd, line, (size_t)n + vlen + 2);
        }
        free(line);
        static const char tail[] = "\r\nhello"; /* the blank line, the body */
        if (ok) test_send_all(fd, tail, sizeof tail - 1);
    } else if (mode == M_503) {
        send_xml(fd, "503 Service Unavailable",
                 "<?xml version=\"1.0\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>"
                 "<RequestId>hostile</RequestId></Error>", NULL);
    } else if (mode == M_SILENT) {
        wait_for_close(fd);
    } else if (mode == M_DRIBBLE) {
        static const char slow[] = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nx-cos-request-id: hostile\r\n";
        struct pollfd p = { fd, POLLIN, 0 };
        for (size_t k = 0; k < sizeof slow - 1; k++) { /* a byte, then a pause (ends when the client closes) */
            if (!test_send_all(fd, slow + k, 1)) break;
            if (poll(&p, 1, 300) > 0) break;
        }
        wait_for_close(fd);
    } else if (mode == M_APPEND) {
        uint64_t pos = 0;
        const char *ps = strstr(req, "position=");
        if (ps) pos = strtoull(ps + 9, NULL, 10);
        pthread_mutex_lock(&g_lock);
        bool lose = g_lose_next;
        g_lose_next = false;
        if (!ps || pos != g_app_len) {
            pthread_mutex_unlock(&g_lock);
            send_xml(fd, "409 Conflict",
                     "<?xml version=\"1.0\"?><Error><Code>PositionNotEqualToLength</Code>"
                     "<Message>Position is not equal to the length of the object</Message></Error>", NULL);
        } else {
            memcpy(g_app + g_app_len, body, have < sizeof g_app - g_app_len ? have : 0);
            g_app_len += have;
            char next[64];
            snprintf(next, sizeof next, "x-cos-next-append-position: %zu\r\n", g_app_len);
            pthread_mutex_unlock(&g_lock);
            if (!lose) send_xml(fd, "200 OK", "", next); /* lost: applied, then the connection drops */
        }
    } else if (mode == M_COMPLETE) {
        pthread_mutex_lock(&g_lock);
        bool lose = g_lose_next, done = g_completed;
        g_lose_next = false;
        g_completed = true;
        pthread_mutex_unlock(&g_lock);
        if (done)
            send_xml(fd, "404 Not Found",
                     "<?xml version=\"1.0\"?><Error><Code>NoSuchUpload</Code><Message>The specified upload does not "
                     "exist.</Message></Error>", NULL);
        else if (!lose)
            send_xml(fd, "200 OK",
                     "<?xml version=\"1.0\"?><CompleteMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
                     "<ETag>\"x-1\"</ETag></CompleteMultipartUploadResult>", NULL);
    } else if (mode == M_COMPLETE_ERR200) {
        /* S3 answers a CompleteMultipartUpload that fails after it began with
           200 and an <Error> body (here with a namespace, and after the
           whitespace S3 sends to keep the connection alive), or 200 and nothing */
        if (!strcmp(method, "POST") && strstr(req, "?uploads")) {
            send_xml(fd, "200 OK", "<?xml version=\"1.0\"?><InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
                                   "<UploadId>up1</UploadId></InitiateMultipartUploadResult>", NULL);
        } else if (!strcmp(method, "PUT")) {
            unsigned char d[16];
            char md5[33], extra[256];
            cos_md5_digest(body, have, d);
            cos_hex_encode(d, 16, md5);
            snprintf(extra, sizeof extra, "ETag: \"%s\"\r\nx-cos-hash-crc64ecma: %llu\r\n", md5,
                     (unsigned long long)cos_crc64(0, body, have));
            send_xml(fd, "200 OK", "", extra);
        } else if (!strcmp(method, "POST")) {
            pthread_mutex_lock(&g_lock);
            bool empty = g_lose_next;
            pthread_mutex_unlock(&g_lock);
            send_xml(fd, "200 OK", empty ? "" :
                     "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n   \n   \n<Error xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                     "<Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message>"
                     "<RequestId>hostile</RequestId></Error>", NULL);
        } else {
            send_xml(fd, "404 Not Found", head ? "" : "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code></Error>", NULL);
        }
    } else if (mode == M_UPLOAD) { /* a multipart upload whose Complete answer is lost once it is done */
        pthread_mutex_lock(&g_lock);
        bool done = g_completed;
        pthread_mutex_unlock(&g_lock);
        if (!strcmp(method, "POST") && strstr(req, "?uploads")) {
            send_xml(fd, "200 OK", "<?xml version=\"1.0\"?><InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key>"
                                   "<UploadId>up1</UploadId></InitiateMultipartUploadResult>", NULL);
        } else if (!strcmp(method, "PUT")) {
            unsigned char d[16];
            char md5[33], extra[256];
            cos_md5_digest(body, have, d);
            cos_hex_encode(d, 16, md5);
            snprintf(extra, sizeof extra, "ETag: \"%s\"\r\nx-cos-hash-crc64ecma: %llu\r\n", md5,
                     (unsigned long long)cos_crc64(0, body, have));
            send_xml(fd, "200 OK", "", extra);
        } else if (!strcmp(method, "POST")) {
            pthread_mutex_lock(&g_lock);
            g_completed = true;
            pthread_mutex_unlock(&g_lock);
            if (done)
                send_xml(fd, "404 Not Found", "<?xml version=\"1.0\"?><Error><Code>NoSuchUpload</Code>"
                                              "<Message>The specified upload does not exist.</Message></Error>", NULL);
            /* else: completed, and the answer is lost */
        } else if (head && done) {
            int n = snprintf(hdr, sizeof hdr, "HTTP/1.1 200 OK\r\nContent-Length: %llu\r\nx-cos-hash-crc64ecma: %llu\r\n"
                             "ETag: \"x-2\"\r\nx-cos-request-id: hostile\r\nConnection: close\r\n\r\n",
                             (unsigned long long)g_up_len, (unsigned long long)g_up_crc);
            test_send_all(fd, hdr, (size_t)n);
        } else {
            send_xml(fd, "404 Not Found", head ? "" : "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code></Error>", NULL);
        }
    }
    free(body);
    shutdown(fd, SHUT_WR);
    close(fd);
    return NULL;
}

static void start_hostile(void)
{
    test_start_fake_server(&g_port, conn_main);
    g_obj_len = 2 * 1024 * 1024 + 300 * 1024 + 7; /* three 1 MiB ranges for downloadFile */
    g_obj = malloc(g_obj_len);
    test_lcg_fill(g_obj, g_obj_len, 25);
    snprintf(g_obj_crc, sizeof g_obj_crc, "%llu", (unsigned long long)cos_crc64(0, g_obj, g_obj_len));
}

static cos_client *client(int stall_ms, int timeout_ms)
{
    cos_config cfg;
    cos_config_init(&cfg);
    cfg.region = "ap-guangzhou";
    cfg.protocol = "http:";
    cfg.secret_id = "AKIDhostileanswers0000000000000000000";
    cfg.secret_key = "hostileanswerssecret";
    char ep[64];
    snprintf(ep, sizeof ep, "127.0.0.1:%d", g_port);
    cfg.connect_to = ep;
    cfg.stall_timeout_ms = stall_ms;
    cfg.timeout_ms = timeout_ms;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    return c;
}

static void path(char *out, const char *name) { snprintf(out, 512, "%s/%s", g_dir, name); }

/* Names in the test directory starting with `stem`, other than `except`. */
static int leftovers(const char *stem, const char *except)
{
    DIR *d = opendir(g_dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (!strncmp(e->d_name, stem, strlen(stem)) && (!except || strcmp(e->d_name, except))) n++;
    if (d) closedir(d);
    return n;
}

typedef struct waiter {
    pthread_mutex_t m;
    pthread_cond_t cv;
    bool done;
    int rc;
    cos_result *res;
    cos_error *err;
} waiter;

static void on_done(void *ud, int rc, cos_result *res, cos_error *err)
{
    waiter *w = ud;
    pthread_mutex_lock(&w->m);
    w->rc = rc;
    w->res = res;
    w->err = err;
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->m);
}

/* cos_get_object_async, waited for; the error's message into msg. */
static int get_async(cos_client *c, const char *key, char *msg, size_t cap)
{
    waiter w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0, NULL, NULL };
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = key;
    CHECK_INT(cos_get_object_async(c, &r, on_done, &w), 0);
    pthread_mutex_lock(&w.m);
    while (!w.done) pthread_cond_wait(&w.cv, &w.m);
    pthread_mutex_unlock(&w.m);
    snprintf(msg, cap, "%s", w.err ? cos_error_message(w.err) : "");
    cos_result_free(w.res);
    cos_error_free(w.err);
    return w.rc;
}

static int get_sync(cos_client *c, const char *key, const char *to_file, cos_result **res, char *msg, size_t cap)
{
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = key;
    r.sink.file_path = to_file;
    cos_error *err = NULL;
    *res = NULL;
    int rc = cos_get_object(c, &r, res, &err);
    snprintf(msg, cap, "%s", err ? cos_error_message(err) : "");
    cos_error_free(err);
    return rc;
}

static int download(cos_client *c, const char *key, const char *dst, char *msg, size_t cap)
{
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = BUCKET;
    p.key = key;
    p.file_path = dst;
    p.no_resume = true;
    cos_error *err = NULL;
    int rc = cos_download_file(c, &p, NULL, &err);
    snprintf(msg, cap, "%s", err ? cos_error_message(err) : "");
    cos_error_free(err);
    return rc;
}

/* ------------------------------------------------------------------ bodies */

static void test_short_body(void)
{
    cos_client *c = client(0, 0);
    atomic_store(&g_mode, M_SHORT);
    test_watch(120, "bodies shorter than their Content-Length", NULL);
    char msg[512], dst[512];
    cos_result *res = NULL;
    atomic_store(&g_requests, 0);
    CHECK_INT(get_sync(c, "short", NULL, &res, msg, sizeof msg), COS_ERR_NETWORK);
    CHECK(res == NULL);
    printf("short body: %s\n", msg);
    CHECK(strstr(msg, "GET") != NULL);
    CHECK_INT(atomic_load(&g_requests), 1 + 3); /* the first try and max_retries more */
    /* into a file: nothing at the path, no temporary file left */
    path(dst, "short.out");
    CHECK(get_sync(c, "short", dst, &res, msg, sizeof msg) == COS_ERR_NETWORK);
    CHECK(!test_exists(dst));
    CHECK_INT(leftovers("short.out", NULL), 0);
    CHECK_INT(get_async(c, "short", msg, sizeof msg), COS_ERR_NETWORK);
    /* downloadFile: ranged GETs into DEST.cos-partial; DEST never appears */
    path(dst, "short-dl.out");
    CHECK(download(c, "short", dst, msg, sizeof msg) != 0);
    printf("short body, downloadFile: %s\n", msg);
    CHECK(!test_exists(dst));
    CHECK_INT(leftovers("short-dl.out", NULL), 0);
    test_unwatch();
    cos_client_free(c);
}

static void test_long_body(void)
{
    cos_client *c = client(0, 0);
    atomic_store(&g_mode, M_LONG);
    test_watch(120, "bodies longer than their Content-Length", NULL);
    char msg[512], dst[512];
    cos_result *res = NULL;
    /* the bytes past Content-Length are not part of the object */
    CHECK_INT(get_sync(c, "long", NULL, &res, msg, sizeof msg), 0);
    if (res) {
        CHECK_INT(res->body_size, g_obj_len);
        CHECK(res->body && !memcmp(res->body, g_obj, g_obj_len));
    }
    cos_result_free(res);
    path(dst, "long.out");
    CHECK_INT(download(c, "long", dst, msg, sizeof msg), 0);
    struct stat st;
    CHECK(stat(dst, &st) == 0 && (size_t)st.st_size == g_obj_len);
    test_unwatch();
    cos_client_free(c);
}

/* downloadFile from a server that ignores Range: a clear error, no file */
static void test_range_ignored(void)
{
    cos_client *c = client(0, 0);
    atomic_store(&g_mode, M_NO_RANGE);
    test_watch(120, "a server that ignores Range", NULL);
    char dst[512];
    path(dst, "norange.out");
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = BUCKET;
    p.key = "norange";
    p.file_path = dst;
    p.no_resume = true;
    p.chunk_size = 1024 * 1024; /* three ranges */
    cos_error *err = NULL;
    CHECK(cos_download_file(c, &p, NULL, &err) != 0);
    printf("Range ignored, downloadFile: %s\n", err ? cos_error_message(err) : "");
    CHECK(err && strstr(cos_error_message(err), "whole object") != NULL);
    cos_error_free(err);
    CHECK(!test_exists(dst));
    CHECK_INT(leftovers("norange.out", NULL), 0);
    test_unwatch();
    cos_client_free(c);
}

/* downloadFile of an object replaced between its ranges, from a store that
 * sends no CRC-64 and a multipart ETag (nothing to check the whole against):
 * every range asks If-Match the HEAD's ETag, and a range of another ETag (a
 * store that ignores If-Match) fails too; no file, nothing left to resume
 * from. The old code wrote the first range of one version and the rest of
 * the other, and called it a success. */
static void test_object_replaced_between_ranges(void)
{
    cos_client *c = client(0, 0);
    test_watch(120, "an object replaced between the ranges of a download", NULL);
    for (int deaf = 0; deaf < 2; deaf++) {
        atomic_store(&g_mode, deaf ? M_REPLACED_DEAF : M_REPLACED);
        pthread_mutex_lock(&g_lock);
        g_replaced = false;
        pthread_mutex_unlock(&g_lock);
        atomic_store(&g_if_match, 0);
        char dst[512];
        path(dst, deaf ? "replaced-deaf.out" : "replaced.out");
        cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
        p.bucket = BUCKET;
        p.key = "replaced";
        p.file_path = dst;
        p.chunk_size = 1024 * 1024; /* three ranges, one at a time */
        p.parallel = 1;
        cos_error *err = NULL;
        CHECK(cos_download_file(c, &p, NULL, &err) != 0);
        printf("object replaced between ranges%s: %s\n", deaf ? " (If-Match ignored)" : "",
               err ? cos_error_message(err) : "");
        CHECK(err && strstr(cos_error_message(err), "changed during the download") != NULL);
        cos_error_free(err);
        CHECK(atomic_load(&g_if_match) >= 2);
        CHECK(!test_exists(dst));
        CHECK_INT(leftovers(deaf ? "replaced-deaf.out" : "replaced.out", NULL), 0);
    }
    /* a store that answers 412 to its own ETag: the download goes on without If-Match */
    atomic_store(&g_mode, M_IF_MATCH_REFUSED);
    char dst[512];
    path(dst, "ifmatch.out");
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = BUCKET;
    p.key = "ifmatch";
    p.file_path = dst;
    p.chunk_size = 1024 * 1024;
    cos_error *err = NULL;
    CHECK_OK(cos_download_file(c, &p, NULL, &err), err);
    FILE *f = fopen(dst, "rb");
    unsigned char *got = malloc(g_obj_len + 1);
    size_t n = f ? fread(got, 1, g_obj_len + 1, f) : 0;
    if (f) fclose(f);
    CHECK(n == g_obj_len && !memcmp(got, g_obj, g_obj_len));
    free(got);
    test_unwatch();
    cos_client_free(c);
}

/* A download from a store that sends no ETag (and no CRC-64) fails part-way
 * and keeps its partial file; the object is then replaced. Nothing can tell
 * the kept ranges are still the object's, so none is resumed: the old code
 * matched the empty ETag of the checkpoint with the empty ETag of the HEAD
 * and stitched the old ranges to the new one. */
static void test_no_etag_no_resume(void)
{
    cos_client *c = client(0, 0);
    atomic_store(&g_mode, M_NO_TAG);
    test_watch(120, "resuming a download from a store without ETags", NULL);
    char dst[512];
    path(dst, "notag.out");
    pthread_mutex_lock(&g_lock);
    g_replaced = false;
    g_lose_next = true;
    pthread_mutex_unlock(&g_lock);
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = BUCKET;
    p.key = "notag";
    p.file_path = dst;
    p.chunk_size = 1024 * 1024;
    p.parallel = 1;
    cos_error *err = NULL;
    CHECK(cos_download_file(c, &p, NULL, &err) != 0);
    cos_error_free(err);
    err = NULL;
    pthread_mutex_lock(&g_lock);
    g_replaced = true;
    g_lose_next = false;
    pthread_mutex_unlock(&g_lock);
    cos_transfer_result *res = NULL;
    CHECK_OK(cos_download_file(c, &p, &res, &err), err);
    if (res) CHECK_INT(res->parts_resumed, 0);
    cos_transfer_result_free(res);
    FILE *f = fopen(dst, "rb");
    unsigned char *got = malloc(g_obj_len);
    size_t n = f ? fread(got, 1, g_obj_len, f) : 0;
    if (f) fclose(f);
    CHECK_INT(n, g_obj_len);
    size_t wrong = 0;
    for (size_t k = 0; k < n; k++) wrong += got[k] != (g_obj[k] ^ 0x5a);
    CHECK_INT(wrong, 0);
    free(got);
    test_unwatch();
    cos_client_free(c);
}

/* ------------------------------------------------------------------ headers */

static void test_endless_headers(void)
{
    cos_client *c = client(0, 0);
    test_watch(120, "endless response headers", NULL);
    char msg[512];
    cos_result *res = NULL;
    int modes[2] = { M_HEADERS, M_BIG_HEADER };
    for (int i = 0; i < 2; i++) {
        atomic_store(&g_mode, modes[i]);
        atomic_store(&g_requests, 0);
        int rc = get_sync(c, "headers", NULL, &res, msg, sizeof msg);
        printf("%s: rc=%d %s\n", i ? "one endless header" : "endless headers", rc, msg);
        CHECK(rc != 0 && res == NULL);
        CHECK(strstr(msg, "header") != NULL);
        CHECK(atomic_load(&g_requests) <= 1 + 3);
        CHECK(get_async(c, "headers", msg, sizeof msg) != 0);
        CHECK(strstr(msg, "header") != NULL);
    }
    test_unwatch();
    cos_client_free(c);
}

/* Every header of an answer with hundreds of them (after an interim 100
 * answer's, which do not stay), in a result of a sync and of an async GET,
 * each value whole: what the one block that holds them keeps when it
 * regrows. */
static bool many_headers_whole(const cos_result *res)
{
    bool ok = res && res->body_size == 5 && !memcmp(res->body, "hello", 5) &&
              res->header_count == 2 + MANY_HEADERS + 1 && !cos_result_header(res, "x-cos-meta-interim") &&
              res->request_id && !strcmp(res->request_id, "many");
    for (int k = 0; ok && k <= MANY_HEADERS; k++) {
        char name[32];
        snprintf(name, sizeof name, "x-cos-meta-h%d", k);
        const char *v = cos_result_header(res, name);
        size_t vlen = k < MANY_HEADERS ? many_header_len(k) : 48 * 1024;
        ok = v && strlen(v) == vlen;
        for (size_t j = 0; ok && j < vlen; j++) ok = v[j] == (char)('a' + (k + (int)j) % 26);
        if (!ok) printf("header %d: %s\n", k, v ? "altered" : "missing");
    }
    return ok;
}

static void test_many_headers(void)
{
    cos_client *c = client(0, 0);
    test_watch(120, "hundreds of response headers", NULL);
    atomic_store(&g_mode, M_MANY_HEADERS);
    for (int i = 0; i < 2; i++) { /* twice: a kept handle, a result that took the last block */
        char msg[512];
        cos_result *res = NULL;
        CHECK_INT(get_sync(c, "many", NULL, &res, msg, sizeof msg), 0);
        CHECK(many_headers_whole(res));
        cos_result_free(res);
        waiter w = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0, NULL, NULL };
        cos_request r = COS_REQUEST_INIT;
        r.bucket = BUCKET;
        r.key = "many";
        CHECK_INT(cos_get_object_async(c, &r, on_done, &w), 0);
        pthread_mutex_lock(&w.m);
        while (!w.done) pthread_cond_wait(&w.cv, &w.m);
        pthread_mutex_unlock(&w.m);
        if (w.rc) printf("async: %s\n", cos_error_message(w.err));
        CHECK_INT(w.rc, 0);
        CHECK(many_headers_whole(w.res));
        cos_result_free(w.res);
        cos_error_free(w.err);
    }
    test_unwatch();
    cos_client_free(c);
}

/* ------------------------------------------------------------------ 5xx */

static void test_503_storm(void)
{
    cos_client *c = client(0, 0);
    atomic_store(&g_mode, M_503);
    test_watch(120, "a storm of 503s", NULL);
    atomic_store(&g_requests, 0);
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = "busy";
    cos_result *res = NULL;
    cos_error *err = NULL;
    CHECK_INT(cos_get_object(c, &r, &res, &err), COS_ERR_SERVER);
    CHECK(err != NULL);
    if (err) {
        printf("503 storm: %s\n", cos_error_message(err));
        CHECK_INT(err->http_status, 503);
        CHECK_STR(err->code, "SlowDown");
        CHECK_INT(err->retries, 3);
        CHECK(strstr(cos_error_message(err), "HTTP 503 SlowDown, after 3 retries") != NULL); /* what happened */
    }
    cos_error_free(err);
    CHECK_INT(atomic_load(&g_requests), 1 + 3);
    /* each retry waited for its back-off (at least 50 ms, 100, 200: a sleep
       never ends early, so this lower bound cannot fail by load) */
    for (int i = 1; i < 4; i++) CHECK(g_stamp[i] - g_stamp[i - 1] >= (50LL << (i - 1)));
    char msg[512];
    atomic_store(&g_requests, 0);
    CHECK_INT(get_async(c, "busy", msg, sizeof msg), COS_ERR_SERVER);
    CHECK_INT(atomic_load(&g_requests), 1 + 3);
    test_unwatch();
    cos_client_free(c);
}

/* ------------------------------------------------------------------ silence */

static void test_silent_and_dribbling_servers(void)
{
    test_watch(180, "a server that never answers, or a byte at a time", NULL);
    char msg[512], dst[512];
    cos_result *res = NULL;
    int modes[2] = { M_SILENT, M_DRIBBLE };
    for (int i = 0; i < 2; i++) {
        atomic_store(&g_mode, modes[i]);
        cos_client *c = client(1000, 0); /* the stall timeout ends it */
        atomic_store(&g_requests, 0);
        CHECK_INT(get_sync(c, "silent", NULL, &res, msg, sizeof msg), COS_ERR_TIMEOUT);
        printf("%s: %s\n", i ? "dribbling" : "silent", msg);
        CHECK(atomic_load(&g_requests) <= 2); /* a stall is tried once more */
        CHECK_INT(get_async(c, "silent", msg, sizeof msg), COS_ERR_TIMEOUT);
        cos_request r = COS_REQUEST_INIT;
        r.bucket = BUCKET;
        r.key = "silent-put";
        r.body.data = "data";
        r.body.size = 4;
        cos_error *err = NULL;
        CHECK_INT(cos_put_object(c, &r, &res, &err), COS_ERR_TIMEOUT);
        cos_error_free(err);
        path(dst, i ? "dribble.out" : "silent.out");
        CHECK(get_sync(c, "silent", dst, &res, msg, sizeof msg) == COS_ERR_TIMEOUT);
        CHECK(!test_exists(dst));
        CHECK_INT(leftovers(i ? "dribble.out" : "silent.out", NULL), 0);
        CHECK(download(c, "silent", dst, msg, sizeof msg) != 0);
        CHECK(!test_exists(dst));
        cos_client_free(c);
        c = client(0, 1500); /* the whole-request timeout ends it */
        CHECK_INT(get_sync(c, "silent", NULL, &res, msg, sizeof msg), COS_ERR_TIMEOUT);
        cos_client_free(c);
    }
    test_unwatch();
}

/* ------------------------------------------------------------------ lost answers */

static void test_append_answer_lost(void)
{
    cos_client *c = client(0, 0);
    atomic_store(&g_mode, M_APPEND);
    test_watch(60, "an append whose answer is lost", NULL);
    pthread_mutex_lock(&g_lock);
    g_app_len = 0;
    g_lose_next = true;
    pthread_mutex_unlock(&g_lock);
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = "log";
    r.position = 0;
    r.body.data = "hello";
    r.body.size = 5;
    cos_result *res = NULL;
    cos_error *err = NULL;
    int rc = cos_append_object(c, &r, &res, &err);
    printf("append, answer lost: rc=%d %s\n", rc, err ? cos_error_message(err) : "");
    /* a clear error or a result, never the bytes twice */
    CHECK_INT(g_app_len, 5);
    CHECK(!memcmp(g_app, "hello", 5));
    if (rc) {
        CHECK(err && err->code && !strcmp(err->code, "PositionNotEqualToLength"));
        CHECK(err && strstr(cos_error_message(err), "may have") != NULL); /* says the first try may have appended */
    }
    cos_error_free(err);
    err = NULL;
    cos_result_free(res);
    res = NULL;
    r.position = 5;
    r.body.data = " world";
    r.body.size = 6;
    CHECK_OK(cos_append_object(c, &r, &res, &err), err);
    cos_result_free(res);
    CHECK_INT(g_app_len, 11);
    CHECK(!memcmp(g_app, "hello world", 11));
    test_unwatch();
    cos_client_free(c);
}

static void test_complete_answer_lost(void)
{
    cos_client *c = client(0, 0);
    atomic_store(&g_mode, M_COMPLETE);
    test_watch(60, "a CompleteMultipartUpload whose answer is lost", NULL);
    pthread_mutex_lock(&g_lock);
    g_completed = false;
    g_lose_next = true;
    pthread_mutex_unlock(&g_lock);
    cos_complete_part part = { 1, (char *)"\"x\"", NULL };
    cos_complete_multipart_upload in = { &part, 1 };
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = "big";
    r.upload_id = "up1";
    r.input.complete = &in;
    cos_result *res = NULL;
    cos_error *err = NULL;
    int rc = cos_multipart_complete(c, &r, &res, &err);
    printf("complete, answer lost: rc=%d %s\n", rc, err ? cos_error_message(err) : "");
    CHECK(rc != 0);
    CHECK(err && err->code && !strcmp(err->code, "NoSuchUpload"));
    CHECK(err && strstr(cos_error_message(err), "may have") != NULL); /* not "no such upload", flatly */
    cos_error_free(err);
    cos_result_free(res);
    test_unwatch();
    cos_client_free(c);
}

/* sliceUploadFile whose Complete was carried out but not answered: the
 * retry's NoSuchUpload is checked against the object (size and CRC-64),
 * and the upload succeeds instead of failing after it happened. */
static void test_slice_upload_complete_lost(void)
{
    cos_client *c = client(0, 0);
    char src[512];
    path(src, "up.bin");
    test_write_lcg_file(src, 250000, 9);
    uint64_t crc = 0;
    CHECK(cos_crc64_file(src, 0, -1, &crc) == 0);
    pthread_mutex_lock(&g_lock);
    g_completed = false;
    g_up_len = 250000;
    g_up_crc = crc;
    pthread_mutex_unlock(&g_lock);
    atomic_store(&g_mode, M_UPLOAD);
    test_watch(60, "sliceUploadFile whose Complete answer is lost", NULL);
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = BUCKET;
    p.key = "big";
    p.file_path = src;
    p.no_resume = true;
    p.slice_size = 100000;
    cos_transfer_result *res = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_slice_upload_file(c, &p, &res, &err), err);
    if (res) CHECK_INT(res->crc64, crc);
    cos_transfer_result_free(res);
    /* and an object that is not the file's is no success */
    pthread_mutex_lock(&g_lock);
    g_completed = false;
    g_up_crc = crc + 1;
    pthread_mutex_unlock(&g_lock);
    CHECK(cos_slice_upload_file(c, &p, NULL, &err) != 0);
    CHECK(err && err->code && !strcmp(err->code, "NoSuchUpload"));
    cos_error_free(err);
    err = NULL;
    /* someone else completed the upload before this Complete's first try
       (another process resuming the same checkpoint): the object is the
       file's, so that is a success too (it was a NoSuchUpload error) */
    pthread_mutex_lock(&g_lock);
    g_completed = true;
    g_up_crc = crc;
    pthread_mutex_unlock(&g_lock);
    CHECK_OK(cos_slice_upload_file(c, &p, &res, &err), err);
    if (res) CHECK_INT(res->crc64, crc);
    cos_transfer_result_free(res);
    test_unwatch();
    cos_client_free(c);
}

/* CompleteMultipartUpload answered 200 with an <Error> body (S3 does this
 * once it has begun to answer) or 200 with no result at all: neither the
 * plain call nor sliceUploadFile is a success. */
static void test_complete_error_in_200(void)
{
    cos_client *c = client(0, 0);
    atomic_store(&g_mode, M_COMPLETE_ERR200);
    test_watch(120, "CompleteMultipartUpload answered 200 with an error", NULL);
    char src[512];
    path(src, "err200.bin");
    test_write_lcg_file(src, 300000, 8);
    for (int empty = 0; empty < 2; empty++) {
        pthread_mutex_lock(&g_lock);
        g_lose_next = empty;
        pthread_mutex_unlock(&g_lock);
        cos_complete_part cp = { .part_number = 1, .etag = "\"x\"" };
        cos_complete_multipart_upload cm = { &cp, 1 };
        cos_request r = COS_REQUEST_INIT;
        r.bucket = BUCKET;
        r.key = "err200";
        r.upload_id = "up1";
        r.input.complete = &cm;
        cos_result *res = NULL;
        cos_error *err = NULL;
        int rc = cos_multipart_complete(c, &r, &res, &err);
        printf("Complete, 200 with %s: rc=%d %s\n", empty ? "no body" : "<Error xmlns>", rc, err ? cos_error_message(err) : "");
        CHECK(rc != 0);
        if (!empty) CHECK(err && err->code && !strcmp(err->code, "InternalError"));
        cos_result_free(res);
        cos_error_free(err);
        err = NULL;
        cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
        p.bucket = BUCKET;
        p.key = "err200";
        p.file_path = src;
        p.no_resume = true;
        p.slice_size = 100000;
        cos_transfer_result *tr = NULL;
        CHECK(cos_slice_upload_file(c, &p, &tr, &err) != 0);
        printf("sliceUploadFile, Complete 200 with %s: %s\n", empty ? "no body" : "<Error xmlns>", err ? cos_error_message(err) : "");
        CHECK(tr == NULL);
        cos_transfer_result_free(tr);
        cos_error_free(err);
    }
    pthread_mutex_lock(&g_lock);
    g_lose_next = false;
    pthread_mutex_unlock(&g_lock);
    test_unwatch();
    cos_client_free(c);
}

int main(void)
{
    start_hostile();
    g_dir = test_tmpdir("answers");
    RUN(test_short_body);
    RUN(test_long_body);
    RUN(test_range_ignored);
    RUN(test_object_replaced_between_ranges);
    RUN(test_no_etag_no_resume);
    RUN(test_endless_headers);
    RUN(test_many_headers);
    RUN(test_503_storm);
    RUN(test_silent_and_dribbling_servers);
    RUN(test_append_answer_lost);
    RUN(test_complete_answer_lost);
    RUN(test_slice_upload_complete_lost);
    RUN(test_complete_error_in_200);
    test_rmtree(g_dir);
    free(g_dir);
    free(g_obj);
    return test_report();
}

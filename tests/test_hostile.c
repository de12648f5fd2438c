/* test_hostile.c — cos-server against hostile clients, over raw sockets so
 * nothing normalises the bytes first: path traversal, oversized headers,
 * absurd part numbers and part lists, bad UTF-8 and NUL bytes in keys,
 * expired and replayed signatures, temporary keys trying to leave their
 * scope. Each gets a clear 4xx with a COS error code, nothing escapes the
 * data directory, and the server keeps serving. */
#define _GNU_SOURCE
#include "testlib.h"
#include "signer.h"
#include "util.h"
#include "cos/hash.h"
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static test_server g_srv;
#define BUCKET "hostile-" TEST_APPID
#define HOST BUCKET ".cos.ap-guangzhou.myqcloud.com"

typedef struct creds {
    const char *id, *key, *token;
} creds;
static const creds DEV = { TEST_SECRET_ID, TEST_SECRET_KEY, NULL };

typedef struct reply {
    int status;
    char *body;
} reply;

/* Sends METHOD TARGET (raw bytes, as given) signed for sign_path (the decoded
 * path the signature covers; NULL = anonymous) with keys c, optional query
 * pairs to sign, extra header lines ("Name: v\r\n"...), and a body. */
static reply send_req(const char *method, const char *target, const char *sign_path, const creds *c,
                      const cos_kv *query, size_t nquery, int64_t start, int64_t end, const char *extra,
                      const char *body, size_t blen)
{
    char *auth = NULL;
    if (sign_path) {
        cos_sign_params p = COS_SIGN_PARAMS_INIT;
        p.secret_id = c->id;
        p.secret_key = c->key;
        p.method = method;
        p.pathname = sign_path;
        p.query = query;
        p.query_count = nquery;
        p.host = HOST;
        p.start_time = start;
        p.end_time = end;
        cos_error *err = NULL;
        if (cos_sign(&p, &auth, NULL, &err) != 0) test_fail(__FILE__, __LINE__, "sign: %s", cos_error_message(err));
        cos_error_free(err);
    }
    size_t cap = strlen(target) + (extra ? strlen(extra) : 0) + blen + 1024;
    char *raw = malloc(cap);
    int n = snprintf(raw, cap, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %zu\r\nConnection: close\r\n", method, target,
                 HOST, blen);
    if (auth) n += snprintf(raw + n, cap - (size_t)n, "Authorization: %s\r\n", auth);
    if (c && c->token) n += snprintf(raw + n, cap - (size_t)n, "x-cos-security-token: %s\r\n", c->token);
    if (extra) n += snprintf(raw + n, cap - (size_t)n, "%s", extra);
    n += snprintf(raw + n, cap - (size_t)n, "\r\n");
    if (blen) memcpy(raw + n, body, blen);
    reply r = { 0, NULL };
    test_http_raw(&g_srv, raw, (size_t)n + blen, &r.status, &r.body);
    free(raw);
    free(auth);
    return r;
}

static reply simple(const char *method, const char *target, const char *sign_path, const char *body)
{
    return send_req(method, target, sign_path, &DEV, NULL, 0, 0, 0, NULL, body, body ? strlen(body) : 0);
}

/* The reply is status with <Code>code</Code> (code NULL: any code); frees it. */
static void check_reply(reply r, int status, const char *code, int line)
{
    char want[64] = "";
    if (code) snprintf(want, sizeof want, "<Code>%s</Code>", code);
    if (r.status != status || (code && !(r.body && strstr(r.body, want))))
        test_fail(__FILE__, line, "expected %d %s, got %d: %.300s", status, code ? code : "", r.status,
                  r.body ? r.body : "(no body)");
    free(r.body);
}
#define CHECK_REPLY(rep, st, code) check_reply((rep), (st), (code), __LINE__)

static void server_still_serves(void)
{
    CHECK_REPLY(simple("PUT", "/alive.txt", "/alive.txt", "yes"), 200, NULL);
    CHECK_REPLY(simple("GET", "/alive.txt", "/alive.txt", NULL), 200, NULL);
}

static void test_path_traversal(void)
{
    CHECK_REPLY(simple("PUT", "/../../outside.txt", "/../../outside.txt", "x"), 400, "InvalidURI");
    CHECK_REPLY(simple("PUT", "/a/../../outside.txt", "/a/../../outside.txt", "x"), 400, "InvalidURI");
    CHECK_REPLY(simple("GET", "/%2e%2e/%2e%2e/etc/passwd", "/../../etc/passwd", NULL), 400, "InvalidURI");
    CHECK_REPLY(simple("GET", "/..%2f..%2fetc%2fpasswd", "/../../etc/passwd", NULL), 400, "InvalidURI");
    /* nothing was written next to (or above) the data directory */
    char path[600];
    snprintf(path, sizeof path, "%s/../outside.txt", g_srv.root);
    CHECK(access(path, F_OK) != 0);
    snprintf(path, sizeof path, "%s/outside.txt", g_srv.root);
    CHECK(access(path, F_OK) != 0);
    /* a key that merely contains dots is an ordinary key */
    CHECK_REPLY(simple("PUT", "/a/..b/c..", "/a/..b/c..", "dots"), 200, NULL);
    server_still_serves();
}

static void test_oversized_headers(void)
{
    size_t big = 300 * 1024;
    char *extra = malloc(big + 32);
    memcpy(extra, "X-Big: ", 7);
    memset(extra + 7, 'a', big);
    memcpy(extra + 7 + big, "\r\n", 3);
    reply r = send_req("GET", "/alive.txt", "/alive.txt", &DEV, NULL, 0, 0, 0, extra, NULL, 0);
    CHECK(r.status >= 400 && r.status < 500);
    free(r.body);
    free(extra);
    /* ten thousand small headers */
    size_t cap = 10000 * 24;
    extra = malloc(cap);
    size_t n = 0;
    for (int i = 0; i < 10000; i++) n += (size_t)snprintf(extra + n, cap - n, "X-H%05d: v\r\n", i);
    r = send_req("GET", "/alive.txt", "/alive.txt", &DEV, NULL, 0, 0, 0, extra, NULL, 0);
    CHECK(r.status >= 400 && r.status < 500);
    free(r.body);
    free(extra);
    /* a key longer than COS allows */
    char key[1200] = "/";
    memset(key + 1, 'k', 1000);
    key[1001] = '\0';
    CHECK_REPLY(simple("PUT", key, key, "x"), 400, "KeyTooLong");
    server_still_serves();
}

/* A head of tens of KiB within what COS allows still gets its answer: the
 * server's per-connection memory (main.c, CONN_POOL) was made smaller. */
static void test_large_head(void)
{
    size_t big = 24 * 1024;
    char *extra = malloc(big + 64);
    size_t n = 0;
    for (int i = 0; n + 120 < big; i++) n += (size_t)snprintf(extra + n, big + 64 - n, "X-Pad-%03d: %0100d\r\n", i, i);
    reply r = send_req("GET", "/alive.txt", "/alive.txt", &DEV, NULL, 0, 0, 0, extra, NULL, 0);
    CHECK_INT(r.status, 200);
    CHECK(r.body && strcmp(r.body, "yes") == 0);
    free(r.body);
    free(extra);
}

/* A large body that arrives in pieces of many sizes (Nagle off, one send
 * each) is kept byte for byte with its MD5 as ETag: the server gathers a
 * body's small pieces into batches before writing them (main.c,
 * req_body_sink), so pieces that straddle a batch, the first 64 KiB and the
 * last piece must all land in order. */
static void test_body_in_pieces(void)
{
    size_t len = (3u << 20) + 777;
    char *body = malloc(len + 1);
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        body[i] = (char)('a' + x % 26);
    }
    body[len] = '\0';
    cos_sign_params p = COS_SIGN_PARAMS_INIT;
    p.secret_id = DEV.id;
    p.secret_key = DEV.key;
    p.method = "PUT";
    p.pathname = "/pieces.txt";
    p.host = HOST;
    char *auth = NULL;
    cos_error *err = NULL;
    if (cos_sign(&p, &auth, NULL, &err) != 0) test_fail(__FILE__, __LINE__, "sign: %s", cos_error_message(err));
    cos_error_free(err);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)g_srv.port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = { 60, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    CHECK(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
    char head[2048];
    int hn = snprintf(head, sizeof head, "PUT /pieces.txt HTTP/1.1\r\nHost: %s\r\nContent-Length: %zu\r\n"
                      "Authorization: %s\r\nConnection: close\r\n\r\n", HOST, len, auth);
    CHECK(test_send_all(fd, head, (size_t)hn));
    static const size_t PIECES[] = { 1, 7, 1000, 4096, 70000, 33333, 65536, 131072, 600000, 5, 524287, 524289 };
    for (size_t off = 0, i = 0; off < len; i++) {
        size_t n = PIECES[i % COS_ARRAY_LEN(PIECES)];
        if (n > len - off) n = len - off;
        CHECK(test_send_all(fd, body + off, n));
        off += n;
    }
    char resp[4096];
    size_t got = 0;
    ssize_t k;
    while (got < sizeof resp - 1 && (k = recv(fd, resp + got, sizeof resp - 1 - got, 0)) > 0) got += (size_t)k;
    resp[got] = '\0';
    close(fd);
    unsigned char md5[16];
    char hex[33], want[48];
    cos_md5_digest(body, len, md5);
    cos_hex_encode(md5, 16, hex);
    snprintf(want, sizeof want, "ETag: \"%s\"", hex);
    CHECK(strncmp(resp, "HTTP/1.1 200", 12) == 0);
    CHECK(strcasestr(resp, want) != NULL);
    reply r = simple("GET", "/pieces.txt", "/pieces.txt", NULL);
    CHECK_INT(r.status, 200);
    CHECK(r.body && strlen(r.body) == len && memcmp(r.body, body, len) == 0);
    free(r.body);
    free(auth);
    free(body);
}

static int temp_files(void)
{
    char path[400];
    snprintf(path, sizeof path, "%s/tmp", g_srv.root);
    DIR *d = opendir(path);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) n += e->d_name[0] != '.';
    if (d) closedir(d);
    return n;
}

/* A client that sends part of a body and closes is let go as soon as its
 * close arrives, its temp file removed: not at the server's 120 s body
 * timeout, which libmicrohttpd's edge-triggered reads left it to whenever
 * the close was queued behind the last bytes read (700 KB and 3 MB cut
 * bodies held their files for two minutes). The 60 s below is a bound on
 * liveness, half that timeout, not a measure of speed. */
static void test_cut_bodies_let_go(void)
{
    static const size_t SENT[] = { 70000, 700000, 2097485, 3000000 };
    char *junk = malloc(3000000);
    memset(junk, 'j', 3000000);
    cos_sign_params p = COS_SIGN_PARAMS_INIT;
    p.secret_id = DEV.id;
    p.secret_key = DEV.key;
    p.method = "PUT";
    p.pathname = "/cut.bin";
    p.host = HOST;
    char *auth = NULL;
    CHECK(cos_sign(&p, &auth, NULL, NULL) == 0);
    for (size_t i = 0; auth && i < COS_ARRAY_LEN(SENT); i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)g_srv.port) };
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        CHECK(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
        char head[2048];
        int hn = snprintf(head, sizeof head, "PUT /cut.bin HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n"
                          "Authorization: %s\r\n\r\n", HOST, 6 << 20, auth);
        CHECK(test_send_all(fd, head, (size_t)hn) && test_send_all(fd, junk, SENT[i]));
        close(fd);
        int left = 1;
        for (int t = 0; t < 600 && (left = temp_files()) != 0; t++) cos_sleep_ms_for_tests(100);
        if (left) test_fail(__FILE__, __LINE__, "a body cut at %zu bytes still holds %d temp file(s)", SENT[i], left);
        CHECK_REPLY(simple("GET", "/cut.bin", "/cut.bin", NULL), 404, "NoSuchKey");
    }
    free(auth);
    free(junk);
    server_still_serves();
}

/* One counter of the server's own process (/proc/PID/status or io line "Name:"), or -1. */
static long long proc_value(const char *file, const char *name)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/%s", g_srv.pid, file);
    FILE *f = fopen(path, "re");
    long long v = -1;
    size_t n = strlen(name);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, name, n)) v = atoll(line + n);
    if (f) fclose(f);
    return v;
}

/* Bytes sent to or from loopback port and not yet read, over every TCP connection (/proc/net/tcp), or -1. */
static long long bytes_queued(int port)
{
    FILE *f = fopen("/proc/net/tcp", "re");
    char line[512];
    long long sum = 0;
    if (!f) return -1;
    while (fgets(line, sizeof line, f)) {
        unsigned lport, rport, tx, rx;
        if (sscanf(line, " %*d: %*x:%x %*x:%x %*x %x:%x", &lport, &rport, &tx, &rx) != 4) continue;
        if ((int)lport == port) sum += rx;  /* the server's side: received, not yet read */
        if ((int)rport == port) sum += tx;  /* ours: sent, not yet acknowledged */
    }
    fclose(f);
    return sum;
}

/* Bodies that stall part way hold what the server gathered of them until the
 * body timeout. main.c gathers a large body's small pieces into 512 KiB
 * batches: one per connection, unbounded, let a client holding many stalled
 * uploads (the connection limit is up to 20000) take 576 KiB of the server's
 * memory with each (here 300 of them took 160 MiB more, 53 MiB bounded). The batches held at
 * once are bounded; past that, pieces are written as they come. */
static void test_stalled_bodies_bounded(void)
{
    enum { CONNS = 300, SENT = 600000 };
    char *junk = malloc(SENT);
    memset(junk, 's', SENT);
    cos_sign_params p = COS_SIGN_PARAMS_INIT;
    p.secret_id = DEV.id;
    p.secret_key = DEV.key;
    p.method = "PUT";
    p.pathname = "/stalled.bin";
    p.host = HOST;
    char *auth = NULL;
    CHECK(cos_sign(&p, &auth, NULL, NULL) == 0);
    long long rss0 = proc_value("status", "RssAnon:"); /* the hasher's file mappings are not the server's memory */
    CHECK(rss0 > 0);
    int fds[CONNS];
    for (int i = 0; i < CONNS; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)g_srv.port) };
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        CHECK(connect(fds[i], (struct sockaddr *)&sa, sizeof sa) == 0);
        char head[2048];
        int hn = snprintf(head, sizeof head, "PUT /stalled.bin HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n"
                          "Authorization: %s\r\n\r\n", HOST, 6 << 20, auth);
        CHECK(test_send_all(fds[i], head, (size_t)hn) && test_send_all(fds[i], junk, SENT));
    }
    /* until the server has read every byte sent: nothing queued on either side of its
       connections (a bound on liveness, not a measure of speed) */
    long long queued = -1;
    for (int t = 0; t < 600 && (queued = bytes_queued(g_srv.port)) != 0; t++) cos_sleep_ms_for_tests(100);
    CHECK(queued == 0);
    long long grew_mib = (proc_value("status", "RssAnon:") - rss0) / 1024;
    printf("  %d stalled bodies: %lld MiB more\n", CONNS, grew_mib);
#if defined(__SANITIZE_ADDRESS__)
    /* AddressSanitizer's redzones and its quarantine of freed blocks add ~50 MiB
       here (101 MiB seen under load); unbounded batches take far more */
    const long long limit = 160;
#else
    const long long limit = 100;
#endif
    if (grew_mib > limit) test_fail(__FILE__, __LINE__, "%d stalled bodies of %d bytes took %lld MiB", CONNS, SENT, grew_mib);
    for (int i = 0; i < CONNS; i++) close(fds[i]);
    int left = 1;
    for (int t = 0; t < 600 && (left = temp_files()) != 0; t++) cos_sleep_ms_for_tests(100);
    CHECK(left == 0);
    free(auth);
    free(junk);
    server_still_serves();
}

/* A body followed at once by the next requests on the same connection, all
 * in one write: the close peek after a short piece (main.c, peer_closed) and
 * the gathering of pieces (sink_write) must neither eat nor misread the bytes
 * after the body, whatever body length leaves them in the same read. */
static void test_pipelined_after_body(void)
{
    static const size_t LEN[] = { 1, 65537, 524289, 700001 };
    for (size_t i = 0; i < COS_ARRAY_LEN(LEN); i++) {
        size_t n = LEN[i];
        char *a = malloc(n), *auth[3] = { NULL, NULL, NULL };
        for (size_t j = 0; j < n; j++) a[j] = (char)('a' + (j * 7 + j / 251) % 26);
        static const char *const METHOD[] = { "PUT", "PUT", "GET" }, *const PATH[] = { "/pipe-a", "/pipe-b", "/pipe-a" };
        for (int k = 0; k < 3; k++) {
            cos_sign_params p = COS_SIGN_PARAMS_INIT;
            p.secret_id = DEV.id;
            p.secret_key = DEV.key;
            p.method = METHOD[k];
            p.pathname = PATH[k];
            p.host = HOST;
            CHECK(cos_sign(&p, &auth[k], NULL, NULL) == 0);
        }
        cos_buf req = COS_BUF_INIT;
        cos_buf_printf(&req, "PUT /pipe-a HTTP/1.1\r\nHost: %s\r\nContent-Length: %zu\r\nAuthorization: %s\r\n\r\n", HOST, n,
                       auth[0]);
        cos_buf_append(&req, a, n);
        cos_buf_printf(&req, "PUT /pipe-b HTTP/1.1\r\nHost: %s\r\nContent-Length: 3\r\nAuthorization: %s\r\n\r\nbbb"
                             "GET /pipe-a HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\nConnection: close\r\n\r\n",
                       HOST, auth[1], HOST, auth[2]);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)g_srv.port) };
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        CHECK(connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0);
        CHECK(test_send_all(fd, req.data, req.len));
        cos_buf got = COS_BUF_INIT;
        char buf[65536];
        ssize_t r;
        while ((r = read(fd, buf, sizeof buf)) > 0) cos_buf_append(&got, buf, (size_t)r);
        close(fd);
        /* three answers, all 200, the last one A whole */
        int oks = 0;
        for (const char *q = got.data; q && (q = strstr(q, "HTTP/1.1 200")) != NULL; q++) oks++;
        const char *last = got.data ? strstr(got.data, "\r\n\r\n") : NULL;
        for (const char *q = last; q && (q = strstr(q + 4, "HTTP/1.1 ")) != NULL;) last = strstr(q, "\r\n\r\n");
        if (oks != 3 || !last || got.len - (size_t)(last + 4 - got.data) != n || memcmp(last + 4, a, n) != 0)
            test_fail(__FILE__, __LINE__, "a body of %zu bytes followed by two requests: %d answers 200, %zu bytes in all",
                      n, oks, got.len);
        CHECK_REPLY(simple("GET", "/pipe-b", "/pipe-b", NULL), 200, NULL);
        cos_buf_free(&got);
        cos_buf_free(&req);
        for (int k = 0; k < 3; k++) free(auth[k]);
        free(a);
    }
}

static char *start_upload(void)
{
    cos_config cfg;
    test_config(&cfg, &g_srv);
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = "parts.bin";
    cos_result *res = NULL;
    CHECK_OK(cos_multipart_init(c, &r, &res, &err), err);
    char *id = res && res->output.initiate ? strdup(res->output.initiate->upload_id) : strdup("none");
    cos_result_free(res);
    cos_client_free(c);
    return id;
}

static void test_part_numbers(void)
{
    char *id = start_upload();
    static const char *const BAD[] = { "0", "-1", "10001", "99999999999999999999999", "1e3", "", "7abc" };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        char target[256];
        snprintf(target, sizeof target, "/parts.bin?partNumber=%s&uploadId=%s", BAD[i], id);
        cos_kv q[] = { { "partNumber", BAD[i] }, { "uploadId", id } };
        reply r = send_req("PUT", target, "/parts.bin", &DEV, q, 2, 0, 0, NULL, "data", 4);
        if (r.status != 400 || !r.body || !strstr(r.body, "<Code>InvalidArgument</Code>"))
            test_fail(__FILE__, __LINE__, "partNumber=%s: %d %.200s", BAD[i], r.status, r.body ? r.body : "");
        free(r.body);
    }
    /* a CompleteMultipartUpload naming 20,000 parts, none of them uploaded */
    size_t cap = 20000 * 80 + 128;
    char *xml = malloc(cap);
    size_t n = (size_t)snprintf(xml, cap, "<CompleteMultipartUpload>");
    for (int i = 1; i <= 20000; i++)
        n += (size_t)snprintf(xml + n, cap - n, "<Part><PartNumber>%d</PartNumber><ETag>\"x\"</ETag></Part>", i);
    n += (size_t)snprintf(xml + n, cap - n, "</CompleteMultipartUpload>");
    char target[256];
    snprintf(target, sizeof target, "/parts.bin?uploadId=%s", id);
    cos_kv q[] = { { "uploadId", id } };
    reply r = send_req("POST", target, "/parts.bin", &DEV, q, 1, 0, 0, NULL, xml, n);
    CHECK(r.status == 400);
    CHECK(r.body && (strstr(r.body, "<Code>InvalidPart</Code>") || strstr(r.body, "<Code>InvalidArgument</Code>") ||
                     strstr(r.body, "<Code>MalformedXML</Code>")));
    free(r.body);
    /* and a body that is not XML at all */
    memset(xml, '<', n);
    r = send_req("POST", target, "/parts.bin", &DEV, q, 1, 0, 0, NULL, xml, n);
    CHECK_REPLY(r, 400, "MalformedXML");
    free(xml);
    free(id);
    server_still_serves();
}

/* GET/HEAD ?partNumber with no number (empty, or no "=") names no part:
 * 400 InvalidArgument as S3 answers, never the whole object. */
static void test_empty_part_number(void)
{
    CHECK_REPLY(simple("PUT", "/whole.txt", "/whole.txt", "the whole object"), 200, NULL);
    static const char *const TARGETS[] = { "/whole.txt?partNumber=", "/whole.txt?partNumber" };
    for (size_t i = 0; i < COS_ARRAY_LEN(TARGETS); i++) {
        cos_kv q[] = { { "partNumber", "" } };
        reply r = send_req("GET", TARGETS[i], "/whole.txt", &DEV, q, 1, 0, 0, NULL, NULL, 0);
        if (r.status != 400 || !r.body || !strstr(r.body, "<Code>InvalidArgument</Code>"))
            test_fail(__FILE__, __LINE__, "GET %s: %d %.200s", TARGETS[i], r.status, r.body ? r.body : "");
        free(r.body);
        r = send_req("HEAD", TARGETS[i], "/whole.txt", &DEV, q, 1, 0, 0, NULL, NULL, 0);
        if (r.status != 400) test_fail(__FILE__, __LINE__, "HEAD %s: %d", TARGETS[i], r.status);
        free(r.body);
    }
    /* part 1 of a simple object is still all of it */
    cos_kv one[] = { { "partNumber", "1" } };
    reply r = send_req("GET", "/whole.txt?partNumber=1", "/whole.txt", &DEV, one, 1, 0, 0, NULL, NULL, 0);
    CHECK(r.status == 200 || r.status == 206);
    CHECK(r.body && strcmp(r.body, "the whole object") == 0);
    free(r.body);
}

/* An object another account writes (into a bucket whose ACL lets anyone
 * write) is owned by that account, which reads it and its ACL and no more
 * (authz.c): the ACL answer (COS's dialect here) names it Owner with READ and
 * READ_ACP, and gives FULL_CONTROL to the bucket's account, the one that has
 * it. Before, the writer was named FULL_CONTROL, a right it did not have. */
#define OTHER_ID "AKIDhostileOTHERaccount0000000000000"
#define OTHER_KEY "hostileOTHERaccountSECRET00000000"
static void test_writer_acl_tells_the_truth(void)
{
    static const creds OTHER = { OTHER_ID, OTHER_KEY, NULL };
    static const char PUB[] = "<AccessControlPolicy><Owner><ID>qcs::cam::uin/" TEST_APPID ":uin/" TEST_APPID
                              "</ID></Owner><AccessControlList><Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/"
                              "XMLSchema-instance\" xsi:type=\"Group\"><URI>http://cam.qcloud.com/groups/global/"
                              "AllUsers</URI></Grantee><Permission>WRITE</Permission></Grant></AccessControlList>"
                              "</AccessControlPolicy>";
    cos_kv aq[] = { { "acl", "" } };
    CHECK_REPLY(send_req("PUT", "/?acl", "/", &DEV, aq, 1, 0, 0, NULL, PUB, strlen(PUB)), 200, NULL);
    CHECK_REPLY(send_req("PUT", "/theirs.txt", "/theirs.txt", &OTHER, NULL, 0, 0, 0, NULL, "theirs", 6), 200, NULL);
    CHECK_REPLY(send_req("PUT", "/?acl", "/", &DEV, aq, 1, 0, 0, NULL, NULL, 0), 200, NULL); /* private again */
    /* what the ACL answer says the writer has, it has; no more */
    CHECK_REPLY(send_req("GET", "/theirs.txt", "/theirs.txt", &OTHER, NULL, 0, 0, 0, NULL, NULL, 0), 200, NULL);
    static const char READ_ALL[] = "<AccessControlPolicy><Owner><ID>other</ID></Owner><AccessControlList><Grant><Grantee "
                                   "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"Group\"><URI>"
                                   "http://cam.qcloud.com/groups/global/AllUsers</URI></Grantee><Permission>READ"
                                   "</Permission></Grant></AccessControlList></AccessControlPolicy>";
    CHECK_REPLY(send_req("PUT", "/theirs.txt?acl", "/theirs.txt", &OTHER, aq, 1, 0, 0, NULL, READ_ALL, strlen(READ_ALL)),
                403, "AccessDenied");
    reply r = send_req("GET", "/theirs.txt?acl", "/theirs.txt", &DEV, aq, 1, 0, 0, NULL, NULL, 0);
    CHECK_INT(r.status, 200);
    const char *owner = r.body ? strstr(r.body, "<Owner>") : NULL;
    const char *full = r.body ? strstr(r.body, "FULL_CONTROL") : NULL;
    CHECK(owner && strstr(owner, "<ID>other</ID>") && strstr(owner, "<ID>other</ID>") < strstr(owner, "</Owner>"));
    /* the grant before FULL_CONTROL names the owner's account, not "other" */
    const char *grant = full ? full : "";
    while (grant > (r.body ? r.body : grant) && strncmp(grant, "<Grant>", 7) != 0) grant--;
    CHECK(full && strstr(grant, "uin/" TEST_APPID) && strstr(grant, "uin/" TEST_APPID) < full);
    CHECK(full && !(strstr(grant, "<ID>other</ID>") && strstr(grant, "<ID>other</ID>") < full));
    /* and a grant names the writer READ */
    const char *wr = full ? strstr(full, "<ID>other</ID>") : NULL;
    CHECK(wr && strstr(wr, "<Permission>READ</Permission>"));
    free(r.body);
}

/* Regression (fuzz_server): a form part whose Content-Disposition has no
 * usable name= crashed the server. */
static void test_form_parts(void)
{
    static const char body[] = "--XX\r\nContent-Disposiion: form-data; name=\"key\"\r\n\r\nform.txt\r\n"
                               "--XX\r\nContent-Disposition: form-data\r\n\r\nnameless\r\n"
                               "--XX\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\ndata\r\n--XX--\r\n";
    reply r = send_req("POST", "/", NULL, NULL, NULL, 0, 0, 0, "Content-Type: multipart/form-data; boundary=XX\r\n",
                       body, sizeof body - 1);
    CHECK(r.status >= 400 && r.status < 500);
    free(r.body);
    server_still_serves();
}

/* A form whose fields are huge or countless (anonymous, before any
 * signature is read): refused as EntityTooLarge, at a cost linear in what
 * was sent. Before, each piece of a field copied the whole field again: a
 * 30 MB field took 10 s of the server's CPU, 300 MB a quarter of an hour. */
static void test_form_field_floods(void)
{
    size_t big = 8u << 20;
    static const char pre[] = "--BB\r\nContent-Disposition: form-data; name=\"x-cos-meta-a\"\r\n\r\n";
    static const char post[] = "\r\n--BB\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nbig.txt\r\n"
                               "--BB\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\ndata\r\n--BB--\r\n";
    char *body = malloc(sizeof pre + big + sizeof post);
    memcpy(body, pre, sizeof pre - 1);
    memset(body + sizeof pre - 1, 'a', big);
    memcpy(body + sizeof pre - 1 + big, post, sizeof post - 1);
    reply r = send_req("POST", "/", NULL, NULL, NULL, 0, 0, 0, "Content-Type: multipart/form-data; boundary=BB\r\n",
                       body, sizeof pre - 1 + big + sizeof post - 1);
    free(body);
    CHECK_REPLY(r, 400, "EntityTooLarge");
    /* and 100,000 fields of a few bytes each */
    cos_buf b = COS_BUF_INIT;
    for (int i = 0; i < 100000; i++) cos_buf_printf(&b, "--BB\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\nv\r\n", i);
    cos_buf_puts(&b, "--BB\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\ndata\r\n--BB--\r\n");
    r = send_req("POST", "/", NULL, NULL, NULL, 0, 0, 0, "Content-Type: multipart/form-data; boundary=BB\r\n", b.data, b.len);
    cos_buf_free(&b);
    CHECK_REPLY(r, 400, "EntityTooLarge");
    CHECK_REPLY(simple("GET", "/big.txt", "/big.txt", NULL), 404, "NoSuchKey");
    server_still_serves();
}

/* POST Object with a policy, as a browser form would send it: the policy's
 * signature, expiration and conditions are all enforced. */
static const char *g_form_tail = "\r\n--BB--\r\n"; /* what ends the file part (test_form_truncated) */
static reply post_policy(const char *policy_json, const char *key, size_t file_len, const char *sign_for)
{
    char b64[2048], key_time[64], sign_key[41], sha[41], sig[41];
    int64_t now = (int64_t)time(NULL);
    snprintf(key_time, sizeof key_time, "%lld;%lld", (long long)now - 1, (long long)now + 900);
    const char *signed_text = sign_for ? sign_for : policy_json;
    cos_base64_encode((const unsigned char *)policy_json, strlen(policy_json), b64);
    cos_hmac_sha1_hex(TEST_SECRET_KEY, strlen(TEST_SECRET_KEY), key_time, strlen(key_time), sign_key);
    cos_sha1_hex(signed_text, strlen(signed_text), sha);
    cos_hmac_sha1_hex(sign_key, 40, sha, 40, sig);
    char file[512];
    memset(file, 'f', sizeof file);
    char *body = malloc(8192);
    int n = 0;
#define FIELD(name, value) n += snprintf(body + n, 8192 - (size_t)n, \
    "--BB\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n", name, value)
    FIELD("key", key);
    FIELD("policy", b64);
    FIELD("q-sign-algorithm", "sha1");
    FIELD("q-ak", TEST_SECRET_ID);
    FIELD("q-key-time", key_time);
    FIELD("q-signature", sig);
    FIELD("Content-Type", "text/plain");
#undef FIELD
    n += snprintf(body + n, 8192 - (size_t)n, "--BB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.txt\"\r\n\r\n");
    memcpy(body + n, file, file_len);
    n += (int)file_len;
    n += snprintf(body + n, 8192 - (size_t)n, "%s", g_form_tail);
    reply r = send_req("POST", "/", NULL, NULL, NULL, 0, 0, 0, "Content-Type: multipart/form-data; boundary=BB\r\n",
                       body, (size_t)n);
    free(body);
    return r;
}

static void test_post_policy(void)
{
    char exp_ok[64], exp_old[64], policy[1024];
    time_t now = time(NULL), later = now + 3600, before = now - 3600;
    strftime(exp_ok, sizeof exp_ok, "%Y-%m-%dT%H:%M:%S.000Z", gmtime(&later));
    strftime(exp_old, sizeof exp_old, "%Y-%m-%dT%H:%M:%S.000Z", gmtime(&before));
    const char *conds = "[{\"bucket\":\"" BUCKET "\"},[\"starts-with\",\"$key\",\"uploads/\"],"
                        "[\"content-length-range\",1,100],[\"eq\",\"$Content-Type\",\"text/plain\"],"
                        "{\"q-sign-algorithm\":\"sha1\"},{\"q-ak\":\"" TEST_SECRET_ID "\"}]";
    snprintf(policy, sizeof policy, "{\"expiration\":\"%s\",\"conditions\":%s}", exp_ok, conds);
    CHECK_REPLY(post_policy(policy, "uploads/form.txt", 10, NULL), 200, NULL);
    reply g = simple("GET", "/uploads/form.txt", "/uploads/form.txt", NULL);
    CHECK_INT(g.status, 200);
    CHECK(g.body && strcmp(g.body, "ffffffffff") == 0);
    free(g.body);
    CHECK_REPLY(post_policy(policy, "elsewhere/form.txt", 10, NULL), 403, "AccessDenied");
    CHECK_REPLY(post_policy(policy, "uploads/big.txt", 200, NULL), 400, "EntityTooLarge");
    CHECK_REPLY(post_policy(policy, "uploads/empty.txt", 0, NULL), 400, "EntityTooSmall");
    /* a policy other than the one signed */
    char widened[1024];
    snprintf(widened, sizeof widened, "{\"expiration\":\"%s\",\"conditions\":[]}", exp_ok);
    CHECK_REPLY(post_policy(widened, "elsewhere/form.txt", 10, policy), 403, "SignatureDoesNotMatch");
    char old[1024];
    snprintf(old, sizeof old, "{\"expiration\":\"%s\",\"conditions\":%s}", exp_old, conds);
    CHECK_REPLY(post_policy(old, "uploads/late.txt", 10, NULL), 403, "AccessDenied");
    CHECK_REPLY(post_policy("{\"conditions\":[]}", "uploads/x.txt", 10, NULL), 400, "InvalidPolicyDocument");
    /* nothing the refused forms carried was stored */
    CHECK_REPLY(simple("HEAD", "/elsewhere/form.txt", "/elsewhere/form.txt", NULL), 404, NULL);
    CHECK_REPLY(simple("HEAD", "/uploads/big.txt", "/uploads/big.txt", NULL), 404, NULL);
}

/* A form whose body ends inside its file part (no closing boundary, or a
 * cut one), its Content-Length honest: the file's end was never seen, so
 * what arrived may be a truncated upload. Refused (4xx), nothing stored;
 * the closing boundary without its "--" ending, or with the final CRLF
 * missing, still ends the part. */
static void test_form_truncated(void)
{
    char exp_ok[64], policy[1024];
    time_t later = time(NULL) + 3600;
    strftime(exp_ok, sizeof exp_ok, "%Y-%m-%dT%H:%M:%S.000Z", gmtime(&later));
    snprintf(policy, sizeof policy, "{\"expiration\":\"%s\",\"conditions\":[{\"bucket\":\"" BUCKET "\"}]}", exp_ok);
    const char *cut[] = { "", "\r\n", "\r\n--B", "\r\n--BB-" };
    for (size_t i = 0; i < sizeof cut / sizeof *cut; i++) {
        char key[64];
        snprintf(key, sizeof key, "cutform/%zu.txt", i);
        g_form_tail = cut[i];
        reply r = post_policy(policy, key, 300, NULL);
        if (r.status < 400 || r.status >= 500)
            test_fail(__FILE__, __LINE__, "a form cut inside its file part (tail \"%s\"): %d", cut[i], r.status);
        free(r.body);
        char path[80];
        snprintf(path, sizeof path, "/%s", key);
        reply h = simple("HEAD", path, path, NULL);
        if (h.status != 404) test_fail(__FILE__, __LINE__, "a cut form stored %s: HEAD %d", key, h.status);
        free(h.body);
    }
    /* closed: with or without the last CRLF (an epilogue after it was already refused, by
       libmicrohttpd's processor) */
    const char *closed[] = { "\r\n--BB--", "\r\n--BB--\r\n" };
    for (size_t i = 0; i < sizeof closed / sizeof *closed; i++) {
        g_form_tail = closed[i];
        reply r = post_policy(policy, "cutform/whole.txt", 300, NULL);
        if (r.status != 200) test_fail(__FILE__, __LINE__, "a closed form (tail %zu): %d %.300s", i, r.status, r.body ? r.body : "");
        free(r.body);
    }
    g_form_tail = "\r\n--BB--\r\n";
    server_still_serves();
}

/* Every byte of body is a character XML 1.0 can carry, in well-formed UTF-8:
 * what a client's XML parser needs to read the error's Code and Message. */
static bool xml_chars_ok(const char *body)
{
    const unsigned char *s = (const unsigned char *)(body ? body : "");
    uint32_t cp = 0;
    for (size_t n; *s; s += n)
        if (!(n = cos_utf8_len(s, &cp)) || (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r')) return false;
    return true;
}

/* A key refused for its bytes gets InvalidURI in an error body a client can
 * still parse (the body names the path: those bytes are percent-encoded). */
static void refused_key(const char *target, const char *sign_path, int line)
{
    reply r = simple("PUT", target, sign_path, "refused");
    if (!xml_chars_ok(r.body)) test_fail(__FILE__, line, "PUT %s: the error body is not well-formed XML", target);
    check_reply(r, 400, "InvalidURI", line);
}

static void test_key_bytes(void)
{
    refused_key("/%C3%28", "/\xC3\x28", __LINE__);
    refused_key("/%FF%FE", "/\xFF\xFE", __LINE__);
    refused_key("/%ED%A0%80", "/\xED\xA0\x80", __LINE__);
    refused_key("/a%00b", "/a", __LINE__);
    refused_key("/%00", "/", __LINE__);
    refused_key("/a%1Bb", "/a\x1B" "b", __LINE__);
    refused_key("/%01%02%7F", "/\x01\x02\x7F", __LINE__);
    /* nothing was stored under the truncated name */
    CHECK_REPLY(simple("HEAD", "/a", "/a", NULL), 404, NULL);
    /* well-formed UTF-8 is fine */
    CHECK_REPLY(simple("PUT", "/%E4%BD%A0%E5%A5%BD.txt", "/\xE4\xBD\xA0\xE5\xA5\xBD.txt", "hello"), 200, NULL);
    server_still_serves();
}

static void test_signatures(void)
{
    int64_t now = (int64_t)time(NULL);
    /* expired an hour ago */
    CHECK_REPLY(send_req("GET", "/alive.txt", "/alive.txt", &DEV, NULL, 0, now - 7200, now - 3600, NULL, NULL, 0), 403,
                "AccessDenied");
    /* a signature captured for one request, replayed on others */
    cos_sign_params p = COS_SIGN_PARAMS_INIT;
    p.secret_id = TEST_SECRET_ID;
    p.secret_key = TEST_SECRET_KEY;
    p.method = "GET";
    p.pathname = "/alive.txt";
    p.host = HOST;
    char *auth = NULL;
    CHECK(cos_sign(&p, &auth, NULL, NULL) == 0);
    char extra[1024];
    snprintf(extra, sizeof extra, "Authorization: %s\r\n", auth);
    reply r = send_req("GET", "/other.txt", NULL, NULL, NULL, 0, 0, 0, extra, NULL, 0);
    CHECK_REPLY(r, 403, "SignatureDoesNotMatch");
    r = send_req("DELETE", "/alive.txt", NULL, NULL, NULL, 0, 0, 0, extra, NULL, 0);
    CHECK_REPLY(r, 403, "SignatureDoesNotMatch");
    r = send_req("PUT", "/alive.txt", NULL, NULL, NULL, 0, 0, 0, extra, "overwrite", 9);
    CHECK_REPLY(r, 403, "SignatureDoesNotMatch");
    /* the object survived every attempt */
    r = simple("GET", "/alive.txt", "/alive.txt", NULL);
    CHECK_INT(r.status, 200);
    CHECK(r.body && strcmp(r.body, "yes") == 0);
    free(r.body);
    /* a wrong key id, and garbage */
    creds stranger = { "AKIDnobodyNOBODYnobody000000000000000", TEST_SECRET_KEY, NULL };
    CHECK_REPLY(send_req("GET", "/alive.txt", "/alive.txt", &stranger, NULL, 0, 0, 0, NULL, NULL, 0), 403,
                "InvalidAccessKeyId");
    CHECK_REPLY(send_req("GET", "/alive.txt", NULL, NULL, NULL, 0, 0, 0, "Authorization: q-sign-algorithm=md5&&&\r\n",
                         NULL, 0),
                403, NULL);
    /* a key time that is not START;END (or ends before it starts) is refused as such, before any signature */
    static const char *const BAD_TIMES[] = { "", ";", "abc;def", "5", "5;", ";5", "10;5", "x1;2", "1;x2", "1,2" };
    const char *kt = strstr(auth, "q-key-time="), *kt_end = kt ? strchr(kt, '&') : NULL;
    CHECK(kt && kt_end);
    for (size_t i = 0; kt && kt_end && i < COS_ARRAY_LEN(BAD_TIMES); i++) {
        snprintf(extra, sizeof extra, "Authorization: %.*sq-key-time=%s%s\r\n", (int)(kt - auth), auth, BAD_TIMES[i], kt_end);
        r = send_req("GET", "/alive.txt", NULL, NULL, NULL, 0, 0, 0, extra, NULL, 0);
        CHECK(r.body && strstr(r.body, "malformed q-key-time"));
        CHECK_REPLY(r, 403, "AccessDenied");
    }
    free(auth);
}

/* Temporary keys from cos-server's /sts limited to home/alice/ (the shape
 * qcloud-cos-sts builds from allowPrefix). */
static reply as_alice(const creds *alice, const char *m, const char *target, const char *path, const char *body)
{
    return send_req(m, target, path, alice, NULL, 0, 0, 0, NULL, body, body ? strlen(body) : 0);
}

static void test_scope_escapes(void)
{
    CHECK_REPLY(simple("PUT", "/home/bob/secret", "/home/bob/secret", "bob's"), 200, NULL);
    char raw[512];
    int n = snprintf(raw, sizeof raw,
                     "GET /sts?bucket=%s&region=ap-guangzhou&allowPrefix=home/alice/*&durationSeconds=900 HTTP/1.1\r\n"
                     "Host: 127.0.0.1\r\nConnection: close\r\n\r\n",
                     BUCKET);
    int status = 0;
    char *body = NULL;
    CHECK(test_http_raw(&g_srv, raw, (size_t)n, &status, &body) == 0);
    CHECK_INT(status, 200);
    char *id = test_json_str(body, "tmpSecretId"), *key = test_json_str(body, "tmpSecretKey"),
         *token = test_json_str(body, "sessionToken");
    free(body);
    CHECK(id && key && token);
    if (!id || !key || !token) {
        free(id), free(key), free(token);
        return;
    }
    creds alice = { id, key, token };
#define AS_ALICE(m, target, path, b) as_alice(&alice, m, target, path, b)
    CHECK_REPLY(AS_ALICE("PUT", "/home/alice/mine", "/home/alice/mine", "ok"), 200, NULL);
    CHECK_REPLY(AS_ALICE("GET", "/home/bob/secret", "/home/bob/secret", NULL), 403, "AccessDenied");
    CHECK_REPLY(AS_ALICE("PUT", "/home/bob/secret", "/home/bob/secret", "mine now"), 403, "AccessDenied");
    CHECK_REPLY(AS_ALICE("DELETE", "/home/bob/secret", "/home/bob/secret", NULL), 403, "AccessDenied");
    /* dot segments are literal key bytes, never a way out of the prefix */
    reply r = AS_ALICE("GET", "/home/alice/../bob/secret", "/home/alice/../bob/secret", NULL);
    CHECK(r.status == 400 || r.status == 403 || r.status == 404);
    CHECK(!r.body || !strstr(r.body, "bob's"));
    free(r.body);
    r = AS_ALICE("GET", "/home/alice/%2e%2e/bob/secret", "/home/alice/../bob/secret", NULL);
    CHECK(r.status == 400 || r.status == 403 || r.status == 404);
    CHECK(!r.body || !strstr(r.body, "bob's"));
    free(r.body);
    /* a prefix look-alike */
    CHECK_REPLY(AS_ALICE("PUT", "/home/alicebob/x", "/home/alicebob/x", "x"), 403, "AccessDenied");
    /* listing the bucket and acting on it are outside the scope too */
    CHECK_REPLY(AS_ALICE("GET", "/", "/", NULL), 403, "AccessDenied");
    CHECK_REPLY(AS_ALICE("DELETE", "/", "/", NULL), 403, "AccessDenied");
    /* the token is bound to its key: a stolen token with the permanent id does not widen anything */
    creds mixed = { TEST_SECRET_ID, key, token };
    CHECK_REPLY(send_req("GET", "/home/bob/secret", "/home/bob/secret", &mixed, NULL, 0, 0, 0, NULL, NULL, 0), 403,
                NULL);
    /* bob's object is untouched */
    r = simple("GET", "/home/bob/secret", "/home/bob/secret", NULL);
    CHECK_INT(r.status, 200);
    CHECK(r.body && strcmp(r.body, "bob's") == 0);
    free(r.body);
#undef AS_ALICE
    free(id);
    free(key);
    free(token);
}

int main(void)
{
    const char *args[] = { "--sts-open", "--extra-key", OTHER_ID ":" OTHER_KEY ":other", NULL };
    if (test_server_start(&g_srv, args) != 0) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    CHECK_REPLY(simple("PUT", "/", "/", NULL), 200, NULL); /* the bucket */
    RUN(test_path_traversal);
    RUN(test_form_truncated);
    RUN(test_oversized_headers);
    RUN(test_large_head);
    RUN(test_body_in_pieces);
    RUN(test_cut_bodies_let_go);
    RUN(test_stalled_bodies_bounded);
    RUN(test_pipelined_after_body);
    RUN(test_part_numbers);
    RUN(test_empty_part_number);
    RUN(test_writer_acl_tells_the_truth);
    RUN(test_form_parts);
    RUN(test_form_field_floods);
    RUN(test_post_policy);
    RUN(test_key_bytes);
    RUN(test_signatures);
    RUN(test_scope_escapes);
    test_server_stop(&g_srv, false);
    return test_report();
}

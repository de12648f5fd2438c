/* test_form_framing.c — postObject's multipart/form-data, which engine.c
 * frames itself (curl's mime API cost a file ~100k instructions more than a
 * PUT), held byte for byte to what curl's mime API makes of the same fields,
 * file name and body, its boundary aside: names and file names with quotes,
 * CR and LF, file names whose extension gives the file part a Content-Type
 * (in any case) or none, empty and binary bodies, a body holding a boundary
 * of curl's shape. Both sent to a recording server in this process. Then a
 * postObject from libcos there: one Content-Type with the boundary the body
 * uses, a Content-Length that is the body's; and through cos-server, files
 * with such names uploaded by cos_upload_file (postObject, the default) and
 * read back whole. */
#define _GNU_SOURCE
#include "testlib.h"
#include "engine.h"
#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUCKET "form-" TEST_APPID

static int g_port;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static char *g_head, *g_body; /* the last request's */
static size_t g_body_len;

/* Reads requests on one connection (bodies by Content-Length), keeps the
 * last one's head and body, answers 200 with no body. */
static void *conn_main(void *arg)
{
    int fd = (int)(intptr_t)arg;
    cos_buf in = COS_BUF_INIT;
    char chunk[65536];
    for (;;) {
        char *end;
        while (!(end = in.data ? memmem(in.data, in.len, "\r\n\r\n", 4) : NULL)) {
            ssize_t n = recv(fd, chunk, sizeof chunk, 0);
            if (n <= 0 || cos_buf_append(&in, chunk, (size_t)n)) goto out;
        }
        size_t head_len = (size_t)(end - in.data) + 4;
        const char *cl = strcasestr(in.data, "\r\nContent-Length:");
        size_t body = cl && cl < end ? (size_t)strtoull(cl + 17, NULL, 10) : 0;
        while (in.len < head_len + body) {
            ssize_t n = recv(fd, chunk, sizeof chunk, 0);
            if (n <= 0 || cos_buf_append(&in, chunk, (size_t)n)) goto out;
        }
        pthread_mutex_lock(&g_lock);
        free(g_head);
        free(g_body);
        g_head = strndup(in.data, head_len);
        g_body = malloc(body + 1);
        memcpy(g_body, in.data + head_len, body);
        g_body_len = body;
        pthread_mutex_unlock(&g_lock);
        memmove(in.data, in.data + head_len + body, in.len - head_len - body);
        in.len -= head_len + body;
        static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nx-cos-request-id: form\r\n\r\n";
        if (!test_send_all(fd, ok, sizeof ok - 1)) break;
    }
out:
    cos_buf_free(&in);
    close(fd);
    return NULL;
}

/* The boundary of a head's "Content-Type: multipart/form-data; boundary=B" (malloc'd), or NULL; *count: such lines. */
static char *boundary_of(const char *head, int *count)
{
    char *b = NULL;
    *count = 0;
    for (const char *p = strcasestr(head, "\r\nContent-Type:"); p; p = strcasestr(p + 2, "\r\nContent-Type:")) {
        (*count)++;
        const char *v = strstr(p, "boundary=");
        if (v && !b && v < strstr(p + 2, "\r\n")) b = strndup(v + 9, strcspn(v + 9, "\r\n"));
    }
    return b;
}

/* The body with every `from` replaced by `to` (same length). */
static void swap_boundary(char *body, size_t len, const char *from, const char *to)
{
    size_t n = strlen(from);
    for (char *p = body; p && (size_t)(p - body) + n <= len; p++) {
        p = memmem(p, len - (size_t)(p - body), from, n);
        if (!p) break;
        memcpy(p, to, n);
    }
}

typedef struct memsrc { const char *data; size_t len, pos; } memsrc;
static size_t mem_read(char *buf, size_t size, size_t n, void *ud)
{
    memsrc *m = ud;
    size_t k = size * n < m->len - m->pos ? size * n : m->len - m->pos;
    memcpy(buf, m->data + m->pos, k);
    m->pos += k;
    return k;
}

typedef struct form_case {
    const char *names[3], *values[3];
    const char *filename;
    const char *body;
    size_t body_len;
} form_case;

/* curl's mime API with the case's fields and the body as a callback part named by filename,
   as the engine built forms before: the body it sent, its boundary swapped for `boundary` */
static char *curl_form(const form_case *fc, const char *boundary, size_t *len)
{
    CURL *c = curl_easy_init();
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", g_port);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_mime *m = curl_mime_init(c);
    for (int i = 0; i < 3 && fc->names[i]; i++) {
        curl_mimepart *p = curl_mime_addpart(m);
        curl_mime_name(p, fc->names[i]);
        curl_mime_data(p, fc->values[i], CURL_ZERO_TERMINATED);
    }
    memsrc src = { fc->body, fc->body_len, 0 };
    curl_mimepart *p = curl_mime_addpart(m);
    curl_mime_name(p, "file");
    curl_mime_filename(p, fc->filename);
    curl_mime_data_cb(p, (curl_off_t)fc->body_len, mem_read, NULL, NULL, &src);
    curl_easy_setopt(c, CURLOPT_MIMEPOST, m);
    CURLcode rc = curl_easy_perform(c);
    CHECK_INT(rc, CURLE_OK);
    curl_mime_free(m);
    curl_easy_cleanup(c);
    pthread_mutex_lock(&g_lock);
    char *body = g_body, *head = g_head;
    *len = g_body_len;
    g_body = g_head = NULL;
    pthread_mutex_unlock(&g_lock);
    int types = 0;
    char *b = head ? boundary_of(head, &types) : NULL;
    CHECK(b && strlen(b) == strlen(boundary));
    if (b && body && strlen(b) == strlen(boundary)) swap_boundary(body, *len, b, boundary);
    free(b);
    free(head);
    return body;
}

static void test_frames_as_curl_does(void)
{
    static const char bin[] = { 0, 1, '\r', '\n', '-', '-', (char)0xff, 0 };
    static const char fake_boundary[] = "\r\n--------------------------0123456789abcdef--\r\nx";
    const form_case cases[] = {
        { { "key", "Signature" }, { "a/b c.txt", "q-sign-algorithm=sha1&q-ak=X" }, "a.txt", "hello\n", 6 },
        { { "key", "x-cos-meta-a" }, { "k", "v\"q\r\nw" }, "PHOTO.JPG", "", 0 },
        { { "na\"me", "cr\rlf\n" }, { "1", "2" }, "we\"ird\r\nname.bin", bin, sizeof bin },
        { { "key" }, { "k" }, "plain", fake_boundary, sizeof fake_boundary - 1 },
        { { "key" }, { "k" }, "x.HTML", "<p>", 3 },
        { { "key" }, { "k" }, ".xml", "<a/>", 4 },
        { { 0 }, { 0 }, "file", "z", 1 },
    };
    const char *boundary = "------------------------fedcba9876543210";
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const form_case *fc = &cases[i];
        size_t theirs_len = 0;
        char *theirs = curl_form(fc, boundary, &theirs_len);
        cos_http h;
        memset(&h, 0, sizeof h);
        cos_form_field fields[3];
        size_t n = 0;
        for (; n < 3 && fc->names[n]; n++) fields[n] = (cos_form_field){ (char *)fc->names[n], (char *)fc->values[n] };
        h.form = fields;
        h.form_count = n;
        h.form_filename = fc->filename;
        CHECK_INT(engine_form_frame(&h, boundary), 0);
        cos_buf ours = COS_BUF_INIT;
        cos_buf_append(&ours, h.form_frame, h.form_head_len);
        cos_buf_append(&ours, fc->body, fc->body_len);
        cos_buf_append(&ours, h.form_frame + h.form_head_len, h.form_tail_len);
        bool same = theirs && theirs_len == ours.len && !memcmp(theirs, ours.data, ours.len);
        if (!same)
            test_fail(__FILE__, __LINE__, "case %zu (%s): framed %zu bytes, curl %zu:\n--- ours\n%.*s\n--- curl's\n%.*s", i,
                      fc->filename, ours.len, theirs_len, (int)ours.len, ours.data, (int)theirs_len, theirs ? theirs : "");
        char want_type[128];
        snprintf(want_type, sizeof want_type, "Content-Type: multipart/form-data; boundary=%s", boundary);
        CHECK_STR(h.form_type, want_type);
        free(h.form_frame);
        cos_buf_free(&ours);
        free(theirs);
    }
}

/* A client of the recording server; NULL (a failure) if it cannot be made. */
static cos_client *recorder_client(void)
{
    test_server fake = { .port = g_port };
    snprintf(fake.endpoint, sizeof fake.endpoint, "127.0.0.1:%d", g_port);
    cos_config cfg;
    test_config(&cfg, &fake);
    return test_client_of(&cfg);
}

/* A postObject from libcos to the recording server: its head names the boundary its body uses, once. */
static void test_libcos_post_head(void)
{
    cos_client *c = recorder_client();
    if (!c) {
        CHECK(c != NULL);
        return;
    }
    char *dir = test_tmpdir("formhead");
    char path[512];
    snprintf(path, sizeof path, "%s/pic.png", dir);
    test_write_lcg_file(path, 70000, 9);
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = "pic.png";
    r.body.file_path = path;
    cos_result *res = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_call(c, COS_OP_POST_OBJECT, &r, &res, &err), err);
    cos_result_free(res);
    pthread_mutex_lock(&g_lock);
    char *head = g_head, *body = g_body;
    size_t len = g_body_len;
    g_head = g_body = NULL;
    pthread_mutex_unlock(&g_lock);
    CHECK(head && body);
    if (head && body) {
        int types = 0;
        char *b = boundary_of(head, &types);
        CHECK_INT(types, 1);
        CHECK(b && strlen(b) == 40 && !strncmp(b, "------------------------", 24));
        char *cl = strcasestr(head, "\r\nContent-Length:");
        CHECK(cl && strtoull(cl + 17, NULL, 10) == len);
        if (b) {
            char open[64], close_[64];
            snprintf(open, sizeof open, "--%s\r\n", b);
            snprintf(close_, sizeof close_, "\r\n--%s--\r\n", b);
            CHECK(len > strlen(open) + strlen(close_) && !memcmp(body, open, strlen(open)) &&
                  !memcmp(body + len - strlen(close_), close_, strlen(close_)));
            CHECK(memmem(body, len, "name=\"file\"; filename=\"pic.png\"\r\nContent-Type: image/png\r\n\r\n", 59) != NULL);
        }
        free(b);
    }
    free(head);
    free(body);
    cos_client_free(c);
    test_rmtree(dir);
    free(dir);
}

/* splitmix64's finalizer and its inverse (the old boundaries were it of a
 * seed plus a count times the golden ratio). */
static uint64_t inv_mul(uint64_t c)
{
    uint64_t x = c; /* Newton: each step doubles the correct low bits */
    for (int i = 0; i < 6; i++) x *= 2 - c * x;
    return x;
}
static uint64_t mix(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}
static uint64_t unmix(uint64_t x)
{
    x ^= (x >> 31) ^ (x >> 62);
    x *= inv_mul(0x94D049BB133111EBULL);
    x ^= (x >> 27) ^ (x >> 54);
    x *= inv_mul(0xBF58476D1CE4E5B9ULL);
    return x ^ (x >> 30) ^ (x >> 60);
}

/* One postObject from c to the recording server: its boundary's 16 hex digits as a number. */
static bool posted_boundary(cos_client *c, uint64_t *out)
{
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = "b.txt";
    r.body.data = "x";
    r.body.size = 1;
    cos_result *res = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_call(c, COS_OP_POST_OBJECT, &r, &res, &err), err);
    cos_result_free(res);
    cos_error_free(err);
    pthread_mutex_lock(&g_lock);
    int types = 0;
    char *b = g_head ? boundary_of(g_head, &types) : NULL;
    pthread_mutex_unlock(&g_lock);
    bool ok = b && strlen(b) == 40;
    if (ok) *out = strtoull(b + 24, NULL, 16);
    free(b);
    return ok;
}

/* Whoever saw one boundary (a server's log, a proxy) must not know the next:
 * a file it wrote could then end its part early and add form fields of its
 * own. The old boundaries, splitmix64 of a seed plus a count, were the next
 * one's inverse plus the golden ratio. */
static void test_boundary_not_predictable(void)
{
    cos_client *c = recorder_client();
    if (!c) return;
    CHECK(unmix(mix(0x0123456789abcdefULL)) == 0x0123456789abcdefULL); /* the inverse is one */
    uint64_t seen[6];
    int n = 0;
    for (; n < 6 && posted_boundary(c, &seen[n]); n++) {
    }
    CHECK_INT(n, 6);
    for (int i = 1; i < n; i++) {
        if (seen[i] == mix(unmix(seen[i - 1]) + 0x9E3779B97F4A7C15ULL))
            test_fail(__FILE__, __LINE__, "boundary %d was predicted from the one before it", i);
        for (int j = 0; j < i; j++) CHECK(seen[i] != seen[j]);
    }
    cos_client_free(c);
}

static char *read_whole(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cos_buf b = COS_BUF_INIT;
    char chunk[65536];
    size_t n;
    while (f && (n = fread(chunk, 1, sizeof chunk, f)) > 0) cos_buf_append(&b, chunk, n);
    if (f) fclose(f);
    *len = b.len;
    return b.data;
}

/* Through cos-server: files with odd names up by postObject (cos_upload_file's default), read back whole. */
static void test_odd_names_through_server(void)
{
    test_server srv = { 0 };
    if (test_server_start(&srv, NULL) != 0) {
        CHECK(!"cos-server started");
        return;
    }
    cos_client *c = test_client(&srv);
    test_put_bucket(c, BUCKET);
    char *dir = test_tmpdir("formsrv");
    const char *names[] = { "we\"ird.txt", "cr\rlf\nname.bin", "--------------------------0123456789abcdef", "a.JPEG" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[512], key[32];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        snprintf(key, sizeof key, "odd/%zu", i);
        test_write_lcg_file(path, 1000 + 30000 * i, (uint32_t)i);
        cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
        p.bucket = BUCKET;
        p.key = key;
        p.file_path = path;
        cos_transfer_result *tr = NULL;
        cos_error *err = NULL;
        CHECK_OK(cos_upload_file(c, &p, &tr, &err), err);
        CHECK(tr && !tr->multipart);
        cos_transfer_result_free(tr);
        size_t want_len = 0;
        char *want = read_whole(path, &want_len);
        cos_request r = COS_REQUEST_INIT;
        r.bucket = BUCKET;
        r.key = key;
        cos_result *res = NULL;
        CHECK_OK(cos_call(c, COS_OP_GET_OBJECT, &r, &res, &err), err);
        CHECK(res && want && res->body_size == want_len && !memcmp(res->body, want, want_len));
        cos_result_free(res);
        free(want);
    }
    cos_client_free(c);
    test_server_stop(&srv, false);
    test_rmtree(dir);
    free(dir);
}

int main(void)
{
    test_start_fake_server(&g_port, conn_main);
    test_watch(120, "forms", NULL);
    RUN(test_frames_as_curl_does);
    RUN(test_libcos_post_head);
    RUN(test_boundary_not_predictable);
    RUN(test_odd_names_through_server);
    test_unwatch();
    free(g_head);
    free(g_body);
    return test_report();
}

/* test_session_attack.c — the server code of the eighth session attacked by
 * someone other than its authors: the start after a crash that removes data
 * no row names, bucket reads shared between requests until a write changes
 * them, group commit, symlinks and object lock. Each attack stays as a
 * regression check, whether it held or was fixed (the fixed ones say what
 * they did before). */
#define _GNU_SOURCE
#include "testlib.h"
#include "util.h"
#include "url.h"
#include "cos/sign.h"
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#define APPID TEST_APPID
typedef struct creds { const char *id, *key; } creds;
static const creds OWNER = { TEST_SECRET_ID, TEST_SECRET_KEY };

typedef test_reply reply;
#define EXPECT(r, status, code) test_expect_reply((r), (status), (code), __FILE__, __LINE__)

/* method on bucket (virtual-hosted) at path with the query pairs q, signed
 * by who (NULL: anonymous) with the headers h (also sent), to port. */
static reply call(int port, const creds *who, const char *method, const char *bucket, const char *path,
                  const cos_kv *q, size_t nq, const cos_kv *h, size_t nh, const void *body, size_t blen)
{
    char *host = cos_sprintf("%s.cos.ap-guangzhou.myqcloud.com", bucket);
    cos_buf t = COS_BUF_INIT;
    cos_uri_encode(&t, path, strlen(path), true);
    for (size_t i = 0; i < nq; i++) {
        cos_buf_putc(&t, i ? '&' : '?');
        cos_uri_encode(&t, q[i].name, strlen(q[i].name), false);
        if (*q[i].value || !strcmp(q[i].name, "versionId")) cos_buf_putc(&t, '=');
        cos_uri_encode(&t, q[i].value, strlen(q[i].value), false);
    }
    char *auth = NULL;
    if (who) {
        cos_sign_params p = COS_SIGN_PARAMS_INIT;
        p.secret_id = who->id;
        p.secret_key = who->key;
        p.method = method;
        p.pathname = path;
        p.query = q;
        p.query_count = nq;
        p.headers = h;
        p.header_count = nh;
        p.host = host;
        cos_error *err = NULL;
        if (cos_sign(&p, &auth, NULL, &err) != 0) test_fail(__FILE__, __LINE__, "sign: %s", cos_error_message(err));
        cos_error_free(err);
    }
    cos_buf b = COS_BUF_INIT;
    cos_buf_printf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %zu\r\nConnection: close\r\n", method, t.data,
                   host, blen);
    if (auth) cos_buf_printf(&b, "Authorization: %s\r\n", auth);
    for (size_t i = 0; i < nh; i++) cos_buf_printf(&b, "%s: %s\r\n", h[i].name, h[i].value);
    cos_buf_puts(&b, "\r\n");
    if (blen) cos_buf_append(&b, body, blen);
    reply r = test_http_exchange(port, b.data, b.len);
    cos_buf_free(&b);
    cos_buf_free(&t);
    free(auth);
    free(host);
    return r;
}

static reply simple(int port, const creds *who, const char *method, const char *bucket, const char *path,
                    const char *body)
{
    return call(port, who, method, bucket, path, NULL, 0, NULL, 0, body, body ? strlen(body) : 0);
}

/* Start a second cos-server on s's root (its own port file and log): 0 if it started. */
static int start_on_same_root(const test_server *s, test_server *b)
{
    memset(b, 0, sizeof *b);
    snprintf(b->root, sizeof b->root, "%s", s->root);
    snprintf(b->log_path, sizeof b->log_path, "%s.second.log", s->root);
    char port_file[300];
    snprintf(port_file, sizeof port_file, "%s.second.port", s->root);
    unlink(port_file);
    const char *argv[] = { getenv("COS_SERVER_BIN"), "--root", s->root, "--listen", "127.0.0.1:0", "--port-file",
                           port_file, "--secret-id", TEST_SECRET_ID, "--secret-key", TEST_SECRET_KEY, "--appid",
                           TEST_APPID, NULL };
    int rc = test_spawn_listener(b, argv, port_file);
    unlink(port_file);
    return rc;
}

static bool log_has(const char *path, const char *what)
{
    size_t n = 0;
    char *text = NULL;
    FILE *f = fopen(path, "r");
    if (f) {
        text = malloc(1 << 16);
        n = text ? fread(text, 1, (1 << 16) - 1, f) : 0;
        if (text) text[n] = '\0';
        fclose(f);
    }
    bool has = text && strstr(text, what);
    free(text);
    return has;
}

/* Two servers on one root. Nothing stopped a second start: it removed the
 * first's bodies in flight as unnamed (a body is renamed into data/ before
 * its row commits: the first then acknowledged objects whose data was gone),
 * and what it wrote the first never saw, because the first shares its bucket
 * reads until ITS OWN writer changes them: a bucket made private through the
 * second stayed public-read through the first, for good. Now a second start
 * on a root in use is refused, with a message, and the first serves on. */
static void test_second_server_on_root(void)
{
    const char *bucket = "sa-two-" APPID;
    test_server a = { 0 };
    CHECK(test_server_start(&a, NULL) == 0);
    if (!a.pid) return;
    EXPECT(call(a.port, &OWNER, "PUT", bucket, "/", NULL, 0, (cos_kv[]){ { "x-cos-acl", "public-read" } }, 1, NULL, 0),
           200, NULL);
    EXPECT(simple(a.port, &OWNER, "PUT", bucket, "/k", "hello"), 200, NULL);
    EXPECT(simple(a.port, NULL, "GET", bucket, "/k", NULL), 200, NULL); /* the bucket's read is now shared */
    test_server b;
    if (start_on_same_root(&a, &b) == 0) {
        test_fail(__FILE__, __LINE__, "a second cos-server started on a root in use");
        /* what that let happen: the first keeps serving the bucket as it was before the second changed it */
        EXPECT(call(b.port, &OWNER, "PUT", bucket, "/", (cos_kv[]){ { "acl", "" } }, 1,
                    (cos_kv[]){ { "x-cos-acl", "private" } }, 1, NULL, 0),
               200, NULL);
        EXPECT(simple(a.port, NULL, "GET", bucket, "/k", NULL), 403, "AccessDenied");
        test_server_stop(&b, true);
    } else {
        CHECK(log_has(b.log_path, "in use"));
    }
    reply r = simple(a.port, NULL, "GET", bucket, "/k", NULL);
    CHECK_INT(r.status, 200);
    CHECK(r.body && !strcmp(r.body, "hello"));
    test_reply_free(&r);
    unlink(b.log_path);
    test_server_stop(&a, false);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    RUN(test_second_server_on_root);
    return test_report();
}

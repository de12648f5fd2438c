/* test_request_head.c — the head of the requests libcos sends, as a server
 * reads it. Where no proxy is in the way, engine.c packs the request line's
 * end and the header lines curl does not write itself into the request
 * target (curl copies that whole; the header list it writes a byte at a
 * time), with libcos's User-Agent last so curl's " HTTP/1.1" ends it.
 * Checked here against a recording server in this process: every header
 * once (one Host, the signed one or the caller's; one User-Agent, the
 * configured one, or the caller's as given, unpacked; one Content-Length),
 * headers with blank values not sent,
 * no Accept or Expect, for synchronous and async calls, PUT, GET and HEAD;
 * and through a proxy (configured, or from the environment) nothing
 * packed. Hangs fail by a watchdog. */
#define _GNU_SOURCE
#include "testlib.h"
#include "signer.h"
#include <pthread.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUCKET "head-" TEST_APPID
#define HOST BUCKET ".cos.ap-guangzhou.myqcloud.com"

static int g_port;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static char *g_last; /* the last request's head */

/* Reads requests on one connection (bodies by Content-Length), keeps each
 * head, answers 200 with no body. */
static void *conn_main(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[16384];
    size_t got = 0;
    for (;;) {
        char *head = test_next_request(fd, buf, sizeof buf, &got);
        if (!head) break;
        pthread_mutex_lock(&g_lock);
        free(g_last);
        g_last = head;
        pthread_mutex_unlock(&g_lock);
        static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nx-cos-request-id: head\r\n\r\n";
        if (!test_send_all(fd, ok, sizeof ok - 1)) break;
    }
    close(fd);
    return NULL;
}

static char *take_last(void)
{
    pthread_mutex_lock(&g_lock);
    char *h = g_last;
    g_last = NULL;
    pthread_mutex_unlock(&g_lock);
    return h;
}

#define header_count test_header_count

static void expect_header(const char *head, const char *name, const char *value, int line)
{
    char *v = NULL;
    int n = header_count(head, name, &v);
    if (n != 1) test_fail(__FILE__, line, "%s sent %d times in:\n%s", name, n, head);
    else if (value && strcmp(v, value) != 0) test_fail(__FILE__, line, "%s: \"%s\", not \"%s\"", name, v, value);
    free(v);
}
#define EXPECT_HEADER(head, name, value) expect_header(head, name, value, __LINE__)
#define EXPECT_NO_HEADER(head, name) CHECK_INT(header_count(head, name, NULL), 0)

static cos_client *client(const char *user_agent, const char *proxy)
{
    test_server fake = { .port = g_port }; /* (this process's recording server) */
    snprintf(fake.endpoint, sizeof fake.endpoint, "127.0.0.1:%d", g_port);
    cos_config cfg;
    test_config(&cfg, &fake);
    if (proxy) cfg.connect_to = NULL;
    cfg.proxy = proxy;
    cfg.user_agent = user_agent;
    cfg.max_retries = -1;
    return test_client_of(&cfg);
}

static char *call(cos_client *c, cos_op op, const char *key, const cos_kv *headers, size_t nh, const char *body)
{
    cos_request r = test_generic_request(NULL, BUCKET, key, NULL, NULL, 0, headers, nh, body);
    cos_result *res = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_call(c, op, &r, &res, &err), err);
    cos_result_free(res);
    cos_error_free(err);
    char *h = take_last();
    if (!h) test_fail(__FILE__, __LINE__, "no request recorded");
    return h ? h : strdup("\r\n\r\n");
}

static void test_sync_get_and_head(void)
{
    cos_client *c = client(NULL, NULL);
    for (int i = 0; i < 2; i++) {
        char *h = call(c, i ? COS_OP_HEAD_OBJECT : COS_OP_GET_OBJECT, "a/b c.txt", NULL, 0, NULL);
        CHECK(strncmp(h, i ? "HEAD /a/b%20c.txt HTTP/1.1\r\n" : "GET /a/b%20c.txt HTTP/1.1\r\n", i ? 28 : 27) == 0);
        EXPECT_HEADER(h, "Host", HOST);
        EXPECT_HEADER(h, "User-Agent", "cos-c/" COS_VERSION_STRING " HTTP/1.1"); /* packed */
        EXPECT_HEADER(h, "Authorization", NULL);
        EXPECT_NO_HEADER(h, "Accept");
        EXPECT_NO_HEADER(h, "Expect");
        EXPECT_NO_HEADER(h, "Content-Type");
        char *auth = NULL;
        header_count(h, "Authorization", &auth);
        cos_auth_fields f;
        CHECK(auth && cos_auth_parse(auth, &f) == 0);
        if (auth && f.header_list) CHECK_STR(f.header_list, "host");
        cos_auth_fields_free(&f);
        free(auth);
        free(h);
    }
    cos_client_free(c);
}

static void test_sync_put_headers(void)
{
    cos_client *c = client("myapp/2", NULL);
    const cos_kv hs[] = { { "Content-Type", "text/plain" }, { "x-cos-meta-color", "blue" },
                          { "Cache-Control", "no-cache" }, { "x-cos-meta-blank", "" } };
    char *h = call(c, COS_OP_PUT_OBJECT, "k", hs, 4, "hello");
    CHECK(strncmp(h, "PUT /k HTTP/1.1\r\n", 17) == 0);
    EXPECT_HEADER(h, "Host", HOST);
    EXPECT_HEADER(h, "User-Agent", "myapp/2 HTTP/1.1");
    EXPECT_HEADER(h, "Content-Type", "text/plain");
    EXPECT_HEADER(h, "Content-Length", "5");
    EXPECT_HEADER(h, "x-cos-meta-color", "blue");
    EXPECT_HEADER(h, "Cache-Control", "no-cache");
    EXPECT_NO_HEADER(h, "x-cos-meta-blank"); /* blank: not sent, as curl's list does it */
    EXPECT_NO_HEADER(h, "Expect");
    free(h);
    /* the caller's own Host replaces libcos's */
    const cos_kv host[] = { { "Host", "other.example.com" } };
    h = call(c, COS_OP_GET_OBJECT, "k", host, 1, NULL);
    EXPECT_HEADER(h, "User-Agent", "myapp/2 HTTP/1.1");
    EXPECT_HEADER(h, "Host", "other.example.com");
    free(h);
    /* and the caller's own User-Agent goes as given: not packed */
    const cos_kv ua[] = { { "User-Agent", "req/3" }, { "x-cos-meta-color", "red" } };
    h = call(c, COS_OP_GET_OBJECT, "k", ua, 2, NULL);
    EXPECT_HEADER(h, "User-Agent", "req/3");
    EXPECT_HEADER(h, "Host", HOST);
    EXPECT_HEADER(h, "x-cos-meta-color", "red");
    free(h);
    /* a value with a tab and bytes >= 0x80 is packed as it is (a name that is
       no token is refused before anything is sent: test_session11_attack) */
    const cos_kv odd[] = { { "x-cos-meta-odd", "caf\xc3\xa9\tz" } };
    h = call(c, COS_OP_GET_OBJECT, "k", odd, 1, NULL);
    EXPECT_HEADER(h, "User-Agent", "myapp/2 HTTP/1.1");
    EXPECT_HEADER(h, "Host", HOST);
    EXPECT_HEADER(h, "x-cos-meta-odd", "caf\xc3\xa9\tz");
    free(h);
    cos_client_free(c);
}

typedef struct waiter {
    test_latch done;
    int rc;
} waiter;

static void on_done(void *ud, int rc, cos_result *res, cos_error *err)
{
    waiter *w = ud;
    w->rc = rc;
    cos_result_free(res);
    cos_error_free(err);
    test_latch_add(&w->done);
}

static void test_async_get(void)
{
    cos_client *c = client(NULL, NULL);
    waiter w = { TEST_LATCH_INIT, -1 };
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = "async";
    CHECK_INT(cos_call_async(c, COS_OP_GET_OBJECT, &r, on_done, &w), 0);
    test_latch_wait(&w.done, 1);
    CHECK_INT(w.rc, 0);
    char *h = take_last();
    CHECK(h != NULL);
    if (h) {
        CHECK(strncmp(h, "GET /async HTTP/1.1\r\n", 21) == 0);
        EXPECT_HEADER(h, "Host", HOST);
        EXPECT_HEADER(h, "User-Agent", "cos-c/" COS_VERSION_STRING " HTTP/1.1");
        EXPECT_HEADER(h, "Authorization", NULL);
    }
    free(h);
    cos_client_free(c);
}

/* Through a proxy, nothing is packed (a proxy not tunnelling takes the
 * target for an absolute URL): the header list, as before. */
static void check_proxied(cos_client *c)
{
    char *h = call(c, COS_OP_GET_OBJECT, "p", NULL, 0, NULL);
    CHECK(strstr(h, "/p HTTP/1.1\r\n") != NULL);
    EXPECT_HEADER(h, "Host", HOST);
    EXPECT_HEADER(h, "User-Agent", "cos-c/" COS_VERSION_STRING);
    EXPECT_HEADER(h, "Authorization", NULL);
    free(h);
}

static void test_proxy_not_packed(void)
{
    char proxy[64];
    snprintf(proxy, sizeof proxy, "http://127.0.0.1:%d", g_port);
    cos_client *c = client(NULL, proxy);
    check_proxied(c);
    cos_client_free(c);
    /* one from the environment, as curl takes it */
    setenv("http_proxy", proxy, 1);
    c = client(NULL, NULL);
    check_proxied(c);
    cos_client_free(c);
    unsetenv("http_proxy");
}

int main(void)
{
    test_start_fake_server(&g_port, conn_main);
    test_watch(60, "requests to the recording server", NULL);
    RUN(test_sync_get_and_head);
    RUN(test_sync_put_headers);
    RUN(test_async_get);
    RUN(test_proxy_not_packed);
    test_unwatch();
    free(g_last);
    return test_report();
}

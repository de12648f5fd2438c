/* test_session11_attack.c — the request head libcos sends (packed into
 * curl's request target where no proxy is in the way, engine.c
 * setup_headers, or curl's header list), attacked from the caller's side
 * and the server's: a header name or value, a User-Agent, a temporary key
 * or an STS answer with a line break must not start another header or a
 * second request (refused before anything is sent); keys and query
 * parameters with control bytes, spaces, '#', '?' and bytes >= 0x80 stay one
 * encoded request line; a redirect is not followed (nothing signed goes
 * to the host it names); a retry, a re-sign after a clock-skew answer and
 * the AutoSwitchHost move each send one well-formed head with one Host,
 * the one signed. Against a recording server in this process; hangs fail
 * by a watchdog. */
#define _GNU_SOURCE
#include "testlib.h"
#include "signer.h"
#include <pthread.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUCKET "atk-" TEST_APPID
#define HOST BUCKET ".cos.ap-guangzhou.myqcloud.com"

static int g_port;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
#define MAX_HEADS 16
static char *g_heads[MAX_HEADS]; /* the heads received since the last take */
static int g_nheads;
static char *g_answers[4]; /* answers to give, in order, before the default 200 */
static int g_nanswers;

static const char OK_ANSWER[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nx-cos-request-id: atk\r\n\r\n";

/* Reads requests on one connection (bodies by Content-Length), keeps each
 * head, answers the next scripted answer or 200. */
static void *conn_main(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[16384];
    size_t got = 0;
    for (;;) {
        char *head = test_next_request(fd, buf, sizeof buf, &got);
        if (!head) break;
        char *answer = NULL;
        pthread_mutex_lock(&g_lock);
        if (g_nheads < MAX_HEADS) g_heads[g_nheads++] = head;
        else free(head);
        if (g_nanswers > 0) {
            answer = g_answers[0];
            memmove(g_answers, g_answers + 1, (size_t)--g_nanswers * sizeof *g_answers);
        }
        pthread_mutex_unlock(&g_lock);
        bool sent = answer ? test_send_all(fd, answer, strlen(answer)) : test_send_all(fd, OK_ANSWER, sizeof OK_ANSWER - 1);
        free(answer);
        if (!sent) break;
    }
    close(fd);
    return NULL;
}

/* The heads received since the last call (a NULL-ended array, caller frees). */
static int take_heads(char ***out)
{
    pthread_mutex_lock(&g_lock);
    int n = g_nheads;
    char **h = calloc((size_t)n + 1, sizeof *h);
    memcpy(h, g_heads, (size_t)n * sizeof *h);
    g_nheads = 0;
    for (int i = 0; i < g_nanswers; i++) free(g_answers[i]);
    g_nanswers = 0;
    pthread_mutex_unlock(&g_lock);
    *out = h;
    return n;
}
static void free_heads(char **h)
{
    for (int i = 0; h && h[i]; i++) free(h[i]);
    free(h);
}
static void script(const char *answer)
{
    pthread_mutex_lock(&g_lock);
    g_answers[g_nanswers++] = strdup(answer);
    pthread_mutex_unlock(&g_lock);
}

#define header_count test_header_count

/* A well-formed head: a request line of visible ASCII, then lines that
 * each hold one colon-separated header; no bare CR or LF anywhere. */
static bool head_well_formed(const char *head)
{
    const char *eol = strstr(head, "\r\n");
    if (!eol) return false;
    for (const unsigned char *p = (const unsigned char *)head; p < (const unsigned char *)eol; p++)
        if (*p < 0x20 || *p >= 0x7f) return false;
    if (test_count_of(head, " ") != 2 + test_count_of(eol, " ")) return false; /* method SP target SP version */
    for (const char *p = head; *p; p++) {
        if (*p == '\r' && p[1] != '\n') return false;
        if (*p == '\n' && (p == head || p[-1] != '\r')) return false;
    }
    for (const char *line = eol + 2; *line && strncmp(line, "\r\n", 2) != 0;) {
        const char *next = strstr(line, "\r\n");
        const char *colon = memchr(line, ':', (size_t)(next - line));
        if (!colon || colon == line) return false;
        for (const char *q = line; q < colon; q++)
            if (*q <= ' ' || *q >= 0x7f) return false;
        line = next + 2;
    }
    return true;
}

static cos_client *client_with(cos_config *cfg)
{
    cfg->max_retries = cfg->max_retries ? cfg->max_retries : -1;
    return test_client_of(cfg);
}

static void base_config(cos_config *cfg)
{
    test_server fake = { .port = g_port };
    snprintf(fake.endpoint, sizeof fake.endpoint, "127.0.0.1:%d", g_port);
    test_config(cfg, &fake);
    cfg->connect_to = NULL; /* set by the caller: test_config points at fake's stack copy */
}

static char g_connect_to[64];
static cos_client *client(void)
{
    cos_config cfg;
    base_config(&cfg);
    cfg.connect_to = g_connect_to;
    return client_with(&cfg);
}

/* One call, synchronous or async (through a future). */
static int call_either(cos_client *c, cos_op op, const cos_request *r, bool async, cos_result **res, cos_error **err)
{
    if (!async) return cos_call(c, op, r, res, err);
    cos_future *f = cos_future_new();
    int rc = cos_call_async(c, op, r, cos_future_done, f); /* refused up front: no error object */
    if (rc == 0) rc = cos_future_wait(f, res, err);
    cos_future_free(f);
    return rc;
}

/* One PUT with these headers, synchronous or async: its return code; the
 * error's kind in *kind. */
static int put_with(cos_client *c, bool async, const cos_kv *hs, size_t nh, int *kind)
{
    cos_request r = test_generic_request(NULL, BUCKET, "k", NULL, NULL, 0, hs, nh, "hello");
    cos_result *res = NULL;
    cos_error *err = NULL;
    int rc = call_either(c, COS_OP_PUT_OBJECT, &r, async, &res, &err);
    *kind = rc;
    cos_result_free(res);
    cos_error_free(err);
    return rc;
}

/* A header whose name or value holds a line break (or another control
 * byte) is refused before anything is sent: with it, a caller's metadata
 * value ("x-cos-meta-note: a\r\nx-cos-acl: public-read") set an ACL the
 * caller never asked for, or a second request rode in the first one's
 * head. Sync and async, packed (no proxy) or not (a header curl reads). */
static void test_header_line_breaks_refused(void)
{
    cos_client *c = client();
    static const cos_kv bad[][2] = {
        { { "x-cos-meta-note", "a\r\nx-cos-acl: public-read" }, { NULL, NULL } },
        { { "x-cos-meta-note", "a\nx-cos-acl: public-read" }, { NULL, NULL } },
        { { "x-cos-meta-note", "a\rx-cos-acl: public-read" }, { NULL, NULL } },
        { { "Content-Type", "text/plain\r\nx-cos-acl: public-read" }, { NULL, NULL } }, /* curl's list */
        { { "Cache-Control", "no-cache\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x" }, { NULL, NULL } },
        { { "x-cos-meta-a\r\nx-cos-acl", "public-read" }, { NULL, NULL } },
        { { "x-cos-acl: public-read\r\nx-cos-meta-a", "b" }, { NULL, NULL } },
        { { "x-cos-meta-a:b", "c" }, { NULL, NULL } },           /* the server would read "x-cos-meta-a" */
        { { "Transfer-Encoding ", "chunked" }, { NULL, NULL } }, /* space before the colon: smuggling */
        { { "x-cos-meta-a b", "c" }, { NULL, NULL } },
        { { "", "c" }, { NULL, NULL } },
        { { "x-cos-meta-bell", "a\007b" }, { NULL, NULL } },
        { { "x-cos-meta-ok", "fine" }, { "x-cos-meta-del", "a\177b" } },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        for (int async = 0; async < 2; async++) {
            int kind = 0;
            int rc = put_with(c, async, bad[i], bad[i][1].name ? 2 : 1, &kind);
            if (rc == 0 || kind != COS_ERR_INVALID_ARG)
                test_fail(__FILE__, __LINE__, "case %zu (%s): rc %d kind %d, not refused as an invalid argument", i,
                          async ? "async" : "sync", rc, kind);
            char **h = NULL;
            int n = take_heads(&h);
            if (n != 0) test_fail(__FILE__, __LINE__, "case %zu: %d request(s) sent:\n%s", i, n, h[0]);
            free_heads(h);
        }
    }
    /* the same through the request's own fields: metadata, conditions, a copy's source, a type */
    for (int f = 0; f < 5; f++) {
        const cos_kv meta[] = { { "note", "a\r\nx-cos-acl: public-read" }, { "a\r\nx-cos-acl", "public-read" } };
        cos_request r = test_generic_request(NULL, BUCKET, "k", NULL, NULL, 0, NULL, 0, "hello");
        cos_op op = COS_OP_PUT_OBJECT;
        if (f < 2) {
            r.meta = &meta[f];
            r.meta_count = 1;
        } else if (f == 2) {
            op = COS_OP_GET_OBJECT; /* a condition of reads */
            r.body.data = NULL;
            r.if_match = "\"x\"\r\nx-cos-acl: public-read";
        } else if (f == 3) {
            r.content_type = "text/plain\nx-cos-acl: public-read";
        } else {
            op = COS_OP_PUT_OBJECT_COPY;
            r.body.data = NULL;
            r.copy_source = BUCKET ".cos.ap-guangzhou.myqcloud.com/src\r\nx-cos-acl: public-read";
        }
        cos_result *res = NULL;
        cos_error *err = NULL;
        int rc = cos_call(c, op, &r, &res, &err);
        if (rc == 0 || !err || err->kind != COS_ERR_INVALID_ARG)
            test_fail(__FILE__, __LINE__, "field case %d: rc %d, not refused as an invalid argument", f, rc);
        cos_result_free(res);
        cos_error_free(err);
        char **h = NULL;
        int n = take_heads(&h);
        for (int j = 0; j < n; j++)
            if (header_count(h[j], "x-cos-acl", NULL)) test_fail(__FILE__, __LINE__, "field case %d: injected:\n%s", f, h[j]);
        free_heads(h);
    }
    /* what is allowed still goes, byte for byte: a tab, bytes >= 0x80, odd visible names */
    const cos_kv good[] = { { "x-cos-meta-utf8", "caf\xc3\xa9\tz" }, { "x-cos-meta-x_y.z~!", "v" } };
    int kind = 0;
    CHECK_INT(put_with(c, false, good, 2, &kind), 0);
    char **h = NULL;
    if (take_heads(&h) == 1) {
        char *v = NULL;
        CHECK_INT(header_count(h[0], "x-cos-meta-utf8", &v), 1);
        if (v) CHECK_STR(v, "caf\xc3\xa9\tz");
        free(v);
        CHECK_INT(header_count(h[0], "x-cos-meta-x_y.z~!", NULL), 1);
    } else {
        CHECK(!"one request");
    }
    free_heads(h);
    cos_client_free(c);
}

/* Headers that frame the body are the body's, not the caller's: a
 * Content-Length other than the body's, or a Transfer-Encoding, made the
 * server read a body of another length than was sent (the rest of it read
 * as a second request on the connection, unsigned: smuggled). Refused, or
 * sent with the body's own framing; never a second request. */
static void test_framing_headers(void)
{
    cos_client *c = client();
    static const char smuggled[] = "GET /smuggled HTTP/1.1\r\nHost: " HOST "\r\nContent-Length: 0\r\n\r\n";
    static const cos_kv framing[][1] = { { { "Content-Length", "0" } }, { { "Content-Length", "2" } },
                                         { { "Transfer-Encoding", "chunked" } }, { { "content-length", "99" } },
                                         { { "Transfer-Encoding", "identity" } }, { { "Connection", "close, Content-Length" } } };
    for (size_t i = 0; i < sizeof framing / sizeof framing[0]; i++) {
        for (int async = 0; async < 2; async++) {
            cos_request r = test_generic_request(NULL, BUCKET, "k", NULL, NULL, 0, framing[i], 1, smuggled);
            r.timeout_ms = 3000; /* a server waiting for a longer body than was sent: no hang */
            cos_result *res = NULL;
            cos_error *err = NULL;
            int rc = call_either(c, COS_OP_PUT_OBJECT, &r, async, &res, &err);
            cos_result_free(res);
            cos_error_free(err);
            char **h = NULL;
            int n = take_heads(&h);
            for (int j = 0; j < n; j++) {
                if (strstr(h[j], "/smuggled")) test_fail(__FILE__, __LINE__, "case %zu (%s): a second request:\n%s", i, async ? "async" : "sync", h[j]);
                char *cl = NULL;
                if (header_count(h[j], "Content-Length", &cl) == 1 && strtoul(cl, NULL, 10) != sizeof smuggled - 1)
                    test_fail(__FILE__, __LINE__, "case %zu (%s): Content-Length %s for a body of %zu", i, async ? "async" : "sync", cl, sizeof smuggled - 1);
                free(cl);
            }
            if (rc == 0 && n != 1) test_fail(__FILE__, __LINE__, "case %zu: %d requests", i, n);
            free_heads(h);
        }
    }
    /* the body's own length, as the SDK's ContentLength: sent */
    char len[32];
    snprintf(len, sizeof len, "%zu", sizeof smuggled - 1);
    const cos_kv same[] = { { "Content-Length", len } };
    cos_request r = test_generic_request(NULL, BUCKET, "k", NULL, NULL, 0, same, 1, smuggled);
    cos_result *res = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_call(c, COS_OP_PUT_OBJECT, &r, &res, &err), err);
    cos_result_free(res);
    cos_error_free(err);
    char **h = NULL;
    CHECK_INT(take_heads(&h), 1);
    free_heads(h);
    cos_client_free(c);
}


/* A read callback body whose source holds more bytes than body.length (it
 * grew) or fewer. More: curl sent whatever the callback gave, and the bytes
 * past the Content-Length were read by the server as a second, unsigned
 * request on the connection (a PUT of "hello" smuggled a GET); now the
 * callback is asked for the declared length only. Fewer: the server waited
 * for the rest until the call timed out (COS_ERR_TIMEOUT, or NETWORK for a
 * form); now COS_ERR_IO at the callback's end. PUT and postObject's form,
 * sync and async. */
typedef struct cb_source {
    const char *data;
    size_t len, at;
} cb_source;
static int64_t cb_source_read(void *ud, void *buf, size_t len)
{
    cb_source *s = ud;
    size_t n = COS_MIN(len, s->len - s->at);
    memcpy(buf, s->data + s->at, n);
    s->at += n;
    return (int64_t)n;
}
static void test_callback_body_not_its_length(void)
{
    cos_client *c = client();
    static const char body[] = "hello" "GET /smuggled HTTP/1.1\r\nHost: " HOST "\r\nContent-Length: 0\r\n\r\n";
    for (int shorter = 0; shorter < 2; shorter++)
        for (int form = 0; form < 2; form++)
            for (int async = 0; async < 2; async++) {
                cb_source src = { body, sizeof body - 1, 0 };
                cos_request r = test_generic_request(NULL, BUCKET, "k", NULL, NULL, 0, NULL, 0, NULL);
                r.body.read = cb_source_read;
                r.body.read_user_data = &src;
                r.body.length = shorter ? 200 : 5; /* 5: "hello", the rest is past it */
                r.timeout_ms = 20000;               /* the old code's wait for the rest: ended, not passed */
                cos_result *res = NULL;
                cos_error *err = NULL;
                int rc = call_either(c, form ? COS_OP_POST_OBJECT : COS_OP_PUT_OBJECT, &r, async, &res, &err);
                const char *what = form ? "form" : "PUT";
                if (rc != (shorter ? COS_ERR_IO : 0))
                    test_fail(__FILE__, __LINE__, "%s %s, %s body: rc %d (%s)", what, async ? "async" : "sync",
                              shorter ? "short" : "long", rc, err ? cos_error_message(err) : "no error");
                cos_result_free(res);
                cos_error_free(err);
                char **h = NULL;
                int n = take_heads(&h);
                for (int j = 0; j < n; j++) {
                    if (strstr(h[j], "/smuggled")) test_fail(__FILE__, __LINE__, "%s %s: a second request:\n%s", what, async ? "async" : "sync", h[j]);
                }
                if (!shorter && n != 1) test_fail(__FILE__, __LINE__, "%s %s: %d requests", what, async ? "async" : "sync", n);
                free_heads(h);
            }
    cos_client_free(c);
}

/* Proxy variables: read when the client is made (client.h). One set later
 * is not used (the request goes straight, its head as packed, not in
 * absolute form to a proxy); a configured proxy that no_proxy excludes
 * sends straight too, one well-formed head (nothing packed for a proxy). */
static void test_proxy_variables(void)
{
    cos_client *c = client();
    char proxy[64];
    snprintf(proxy, sizeof proxy, "http://127.0.0.1:%d", g_port);
    setenv("http_proxy", proxy, 1);
    setenv("ALL_PROXY", proxy, 1);
    int kind = 0;
    CHECK_INT(put_with(c, false, NULL, 0, &kind), 0);
    CHECK_INT(put_with(c, true, NULL, 0, &kind), 0);
    char **h = NULL;
    int n = take_heads(&h);
    CHECK_INT(n, 2);
    for (int i = 0; i < n; i++) {
        CHECK(strncmp(h[i], "PUT /k HTTP/1.1\r\n", 17) == 0); /* not "PUT http://..." to a proxy */
        CHECK(head_well_formed(h[i]));
        CHECK_INT(header_count(h[i], "Host", NULL), 1);
    }
    free_heads(h);
    unsetenv("http_proxy");
    unsetenv("ALL_PROXY");
    cos_client_free(c);

    cos_config cfg;
    base_config(&cfg);
    cfg.connect_to = g_connect_to;
    cfg.proxy = "http://127.0.0.1:1"; /* nothing there */
    setenv("no_proxy", "*", 1);
    c = client_with(&cfg);
    CHECK_INT(put_with(c, false, NULL, 0, &kind), 0);
    CHECK_INT(put_with(c, true, NULL, 0, &kind), 0);
    n = take_heads(&h);
    CHECK_INT(n, 2);
    for (int i = 0; i < n; i++) {
        CHECK(strncmp(h[i], "PUT /k HTTP/1.1\r\n", 17) == 0);
        CHECK(head_well_formed(h[i]));
        CHECK_INT(header_count(h[i], "Host", NULL), 1);
        CHECK_INT(header_count(h[i], "User-Agent", NULL), 1);
        CHECK_INT(header_count(h[i], "Authorization", NULL), 1);
    }
    free_heads(h);
    unsetenv("no_proxy");
    cos_client_free(c);
}

/* A presigned URL's security token is appended as the SDKs append it
 * (base64's '/', '+', '=' as they are), but a token (an STS service's) with
 * '&' or '#' added parameters nobody signed or cut the URL. */
static int token_creds(void *ud, const cos_auth_request *req, cos_credentials_sink *sink, cos_error **err)
{
    (void)req;
    (void)err;
    int64_t now = (int64_t)time(NULL);
    return cos_credentials_set(sink, TEST_SECRET_ID, TEST_SECRET_KEY, (const char *)ud, now - 10, now + 3600);
}

static void test_presigned_token_stays_one_parameter(void)
{
    static const char *const tokens[][2] = {
        { "TOKEN/with+chars=", "x-cos-security-token=TOKEN/with+chars=" },
        { "tok&response-content-type=text%2Fhtml#x", "x-cos-security-token=tok%26response-content-type=text%2Fhtml%23x" },
    };
    for (size_t i = 0; i < 2; i++) {
        cos_config cfg;
        base_config(&cfg);
        cfg.connect_to = g_connect_to;
        cfg.secret_id = cfg.secret_key = NULL;
        cfg.get_authorization = token_creds;
        cfg.credentials_user_data = (void *)tokens[i][0];
        cos_client *c = client_with(&cfg);
        cos_url_params u = COS_URL_PARAMS_INIT;
        u.bucket = BUCKET;
        u.key = "a.txt";
        char *url = NULL;
        cos_error *err = NULL;
        CHECK_OK(cos_get_object_url(c, &u, &url, &err), err);
        cos_error_free(err);
        if (url) {
            const char *q = strstr(url, "x-cos-security-token=");
            if (!q || strcmp(q, tokens[i][1]) != 0) test_fail(__FILE__, __LINE__, "token %zu: %s", i, url);
            CHECK(strchr(url, '#') == NULL);
            CHECK(strstr(url, "&response-content-type") == NULL);
        }
        free(url);
        cos_client_free(c);
    }
}

/* A configured User-Agent with a line break: refused when the client is made. */
static void test_user_agent_line_break_refused(void)
{
    cos_config cfg;
    base_config(&cfg);
    cfg.connect_to = g_connect_to;
    cfg.user_agent = "app/1\r\nx-cos-acl: public-read";
    cos_client *c = NULL;
    cos_error *err = NULL;
    int rc = cos_client_new(&c, &cfg, &err);
    CHECK(rc != 0);
    if (rc == 0) {
        int kind = 0;
        put_with(c, false, NULL, 0, &kind);
        cos_client_free(c);
    } else {
        CHECK_INT(err ? (int)err->kind : 0, COS_ERR_INVALID_ARG);
    }
    cos_error_free(err);
    char **h = NULL;
    CHECK_INT(take_heads(&h), 0);
    free_heads(h);
}

/* Temporary keys from a credential callback (or an STS service's JSON, where
 * "\r\n" is an escape away): a token or key id with a line break is no key. */
typedef struct cred_case {
    const char *id, *token, *authorization;
} cred_case;

static int bad_creds(void *ud, const cos_auth_request *req, cos_credentials_sink *sink, cos_error **err)
{
    (void)req;
    (void)err;
    const cred_case *cc = ud;
    int64_t now = (int64_t)time(NULL);
    if (cc->authorization) return cos_authorization_set(sink, cc->authorization, cc->token);
    return cos_credentials_set(sink, cc->id, TEST_SECRET_KEY, cc->token, now - 10, now + 3600);
}

static void test_credential_line_breaks_refused(void)
{
    static const cred_case cases[] = {
        { TEST_SECRET_ID, "tok\r\nx-cos-acl: public-read", NULL },
        { TEST_SECRET_ID "\r\nx-cos-acl: public-read", NULL, NULL },
        { NULL, NULL, "q-sign-algorithm=sha1\r\nx-cos-acl: public-read" },
        { NULL, "tok\nx", "q-sign-algorithm=sha1&q-ak=x" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cos_config cfg;
        base_config(&cfg);
        cfg.connect_to = g_connect_to;
        cfg.secret_id = cfg.secret_key = NULL;
        cfg.get_authorization = bad_creds;
        cfg.credentials_user_data = (void *)&cases[i];
        cos_client *c = client_with(&cfg);
        int kind = 0;
        int rc = put_with(c, false, NULL, 0, &kind);
        if (rc == 0) test_fail(__FILE__, __LINE__, "credential case %zu: sent", i);
        char **h = NULL;
        int n = take_heads(&h);
        if (n != 0) test_fail(__FILE__, __LINE__, "credential case %zu: %d request(s) sent:\n%s", i, n, h[0]);
        free_heads(h);
        cos_client_free(c);
    }
}

/* Keys and query parameters with every awkward byte: one request line, the
 * bytes percent-encoded, nothing after it but headers. */
static void test_odd_keys_and_query_one_line(void)
{
    cos_client *c = client();
    static const char *const keys[] = { "a\r\nHost: evil\r\n\r\nGET /x HTTP/1.1", "sp ace#frag?q=1&x", "tab\there",
                                        "caf\xc3\xa9/\xff\x80", "a/../b", "x\x01\x7fy", "%0d%0a" };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const cos_kv q[] = { { "versionId", "v\r\nx: y" }, { "response-content-disposition", "attachment; filename=\"a\r\nb.txt\"" },
                             { "x\r\ny #", "1 2" } };
        cos_request r = test_generic_request(NULL, BUCKET, keys[i], NULL, q, 3, NULL, 0, NULL);
        cos_result *res = NULL;
        cos_error *err = NULL;
        int rc = cos_call(c, COS_OP_GET_OBJECT, &r, &res, &err);
        cos_result_free(res);
        cos_error_free(err);
        char **h = NULL;
        int n = take_heads(&h);
        if (rc == 0) {
            CHECK_INT(n, 1);
            if (n == 1) {
                if (!head_well_formed(h[0])) test_fail(__FILE__, __LINE__, "key %zu: head not well formed:\n%s", i, h[0]);
                CHECK_INT(header_count(h[0], "Host", NULL), 1);
                CHECK_INT(header_count(h[0], "x", NULL), 0);
            }
        } else {
            CHECK_INT(n, 0); /* refused: nothing sent */
        }
        free_heads(h);
    }
    /* a generic request's own URL with a line break or a space: refused, nothing sent */
    static const char *const urls[] = { "http://" HOST "/a\r\nx-cos-acl: public-read", "http://" HOST "/a b HTTP/1.1\r\nx: y" };
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        cos_request r = test_generic_request("GET", BUCKET, "k", NULL, NULL, 0, NULL, 0, NULL);
        r.url = urls[i];
        cos_result *res = NULL;
        cos_error *err = NULL;
        int rc = cos_call(c, COS_OP_REQUEST, &r, &res, &err);
        cos_result_free(res);
        cos_error_free(err);
        char **h = NULL;
        int n = take_heads(&h);
        if (n) {
            if (!head_well_formed(h[0])) test_fail(__FILE__, __LINE__, "url %zu: head not well formed:\n%s", i, h[0]);
            CHECK_INT(header_count(h[0], "x-cos-acl", NULL), 0);
        }
        (void)rc;
        free_heads(h);
    }
    cos_client_free(c);
}

/* A hostile server's redirect is an answer, not an instruction: nothing goes
 * to the host it names (curl follows no Location for libcos). */
static void test_redirect_not_followed(void)
{
    cos_config cfg;
    base_config(&cfg);
    cfg.connect_to = g_connect_to; /* every host reaches this server: a follow would show up here */
    cfg.max_retries = 2;
    cos_client *c = client_with(&cfg);
    static const int codes[] = { 301, 302, 303, 307, 308 };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        for (int async = 0; async < 2; async++) {
            char ans[256];
            snprintf(ans, sizeof ans, "HTTP/1.1 %d Moved\r\nLocation: http://evil.example:%d/stolen\r\nContent-Length: 0\r\n"
                     "x-cos-request-id: atk\r\n\r\n", codes[i], g_port);
            script(ans);
            int kind = 0;
            int rc = put_with(c, async, NULL, 0, &kind);
            CHECK(rc != 0);
            char **h = NULL;
            int n = take_heads(&h);
            for (int j = 0; j < n; j++) {
                CHECK(strstr(h[j], "/stolen") == NULL);
                CHECK(strstr(h[j], "evil.example") == NULL);
            }
            CHECK(n >= 1);
            free_heads(h);
        }
    }
    cos_client_free(c);
}

/* The head of a retried exchange: one Host (the signed one), one of every
 * header, x-cos-sdk-retry once; after a clock-skew answer a new signature
 * whose time is the server's; after AutoSwitchHost the backup host, signed. */
static void check_signed_host(const char *head, const char *host)
{
    char *auth = NULL, *sent_host = NULL;
    CHECK_INT(header_count(head, "Authorization", &auth), 1);
    CHECK_INT(header_count(head, "Host", &sent_host), 1);
    if (sent_host) CHECK_STR(sent_host, host);
    cos_auth_fields f;
    if (auth && cos_auth_parse(auth, &f) == 0) {
        CHECK(f.header_list && strstr(f.header_list, "host"));
        cos_auth_fields_free(&f);
    } else {
        CHECK(!"an Authorization that parses");
    }
    if (!head_well_formed(head)) test_fail(__FILE__, __LINE__, "head not well formed:\n%s", head);
    free(auth);
    free(sent_host);
}

static void test_retry_heads(void)
{
    cos_config cfg;
    base_config(&cfg);
    cfg.connect_to = g_connect_to;
    cfg.max_retries = 3;
    cfg.auto_switch_host = true;
    cos_client *c = client_with(&cfg);
    const cos_kv hs[] = { { "x-cos-meta-color", "blue" } };
    /* a 503 from COS (request id): the same host again */
    script("HTTP/1.1 503 Slow Down\r\nContent-Length: 0\r\nx-cos-request-id: atk\r\n\r\n");
    int kind = 0;
    CHECK_INT(put_with(c, false, hs, 1, &kind), 0);
    char **h = NULL;
    int n = take_heads(&h);
    CHECK_INT(n, 2);
    for (int i = 0; i < n; i++) {
        check_signed_host(h[i], HOST);
        CHECK_INT(header_count(h[i], "x-cos-meta-color", NULL), 1);
        CHECK_INT(header_count(h[i], "x-cos-sdk-retry", NULL), i > 0);
    }
    free_heads(h);
    /* a clock-skew answer: signed again from the server's Date (two hours
       ahead: a Date more than a day off is not believed, test_session13_attack) */
    static const char skew[] = "<Error><Code>RequestTimeTooSkewed</Code><Message>skew</Message></Error>";
    char ans[512], date[64];
    time_t ahead = time(NULL) + 7200;
    struct tm tm;
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&ahead, &tm));
    snprintf(ans, sizeof ans, "HTTP/1.1 403 Forbidden\r\nDate: %s\r\n"
             "Content-Type: application/xml\r\nContent-Length: %zu\r\nx-cos-request-id: atk\r\n\r\n%s",
             date, sizeof skew - 1, skew);
    script(ans);
    CHECK_INT(put_with(c, true, hs, 1, &kind), 0);
    n = take_heads(&h);
    CHECK_INT(n, 2);
    if (n == 2) {
        check_signed_host(h[0], HOST);
        check_signed_host(h[1], HOST);
        char *a1 = NULL;
        header_count(h[1], "Authorization", &a1);
        const char *st = a1 ? strstr(a1, "q-sign-time=") : NULL;
        long long signed_at = st ? strtoll(st + 12, NULL, 10) : 0;
        CHECK(signed_at >= (long long)ahead - 5 && signed_at <= (long long)ahead + 120);
        free(a1);
    }
    free_heads(h);
    /* not COS (no request id): the backup domain, its own Host signed */
    script("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
    CHECK_INT(put_with(c, false, hs, 1, &kind), 0);
    n = take_heads(&h);
    CHECK_INT(n, 2);
    if (n == 2) {
        check_signed_host(h[0], HOST);
        check_signed_host(h[1], BUCKET ".cos.ap-guangzhou.tencentcos.cn");
    }
    free_heads(h);
    cos_client_free(c);
}

/* Against cos-server, which checks the signature: values with a tab, bytes
 * >= 0x80, inner runs of spaces and names in mixed case go out as signed
 * (a packed head that differed from what was signed is a 403) and come
 * back as sent; sync and async, PUT then HEAD. */
static void test_odd_values_signed_as_sent(void)
{
    test_server srv = { 0 };
    if (test_server_start(&srv, NULL) != 0) {
        CHECK(!"cos-server starts");
        return;
    }
    cos_client *c = test_client(&srv);
    test_put_bucket(c, "odd-" TEST_APPID);
    static const char *const values[] = { "caf\xc3\xa9 \xe2\x98\x95", "a\tb", "two  spaces", "x=1&y=2;q-sign-time=0",
                                          "\xff\xfe raw", "%0d%0a", " padded\t " };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        for (int async = 0; async < 2; async++) {
            const cos_kv hs[] = { { "X-Cos-Meta-Odd", values[i] }, { "Content-Disposition", "attachment; filename=\"\xe6\x96\x87.txt\"" } };
            cos_request r = test_generic_request(NULL, "odd-" TEST_APPID, "o", NULL, NULL, 0, hs, 2, "body");
            cos_result *res = NULL;
            cos_error *err = NULL;
            int rc = call_either(c, COS_OP_PUT_OBJECT, &r, async, &res, &err);
            if (rc) test_fail(__FILE__, __LINE__, "value %zu (%s): %s", i, async ? "async" : "sync", cos_error_message(err));
            cos_result_free(res);
            cos_error_free(err);
            res = NULL;
            err = NULL;
            cos_request h = COS_REQUEST_INIT;
            h.bucket = "odd-" TEST_APPID;
            h.key = "o";
            CHECK_OK(cos_call(c, COS_OP_HEAD_OBJECT, &h, &res, &err), err);
            const char *got = res ? cos_result_header(res, "x-cos-meta-odd") : NULL;
            const char *want = strcmp(values[i], " padded\t ") == 0 ? "padded" : values[i]; /* OWS is no part of a value */
            if (!got || strcmp(got, want) != 0) test_fail(__FILE__, __LINE__, "value %zu came back as \"%s\"", i, got ? got : "(none)");
            cos_result_free(res);
            cos_error_free(err);
        }
    }
    cos_client_free(c);
    test_server_stop(&srv, false);
}

/* cos_client_free with an async transfer midway: the transfer stops,
 * canceled, its done callback runs once, and what it left is resumable: a
 * new client's same transfer finishes with the exact bytes (nothing lost or
 * mixed up by a checkpoint written as the free came). Freed at a few
 * moments; the progress callback only slows the transfer (a free from a
 * thread of its own while the callback sleeps). */
typedef struct xfer_state {
    test_latch moved;  /* some bytes moved */
    test_latch done;
    int calls, rc;
} xfer_state;

static void xfer_progress(void *ud, const cos_progress *p)
{
    xfer_state *x = ud;
    if (p->loaded > 0 && test_latch_count(&x->moved) == 0) test_latch_add(&x->moved);
    usleep(3000);
}

static void xfer_done(void *ud, cos_task_id id, int rc, cos_transfer_result *res, cos_error *err)
{
    (void)id;
    xfer_state *x = ud;
    x->rc = rc;
    x->calls++;
    cos_transfer_result_free(res);
    cos_error_free(err);
    test_latch_add(&x->done);
}

static void test_free_midway_transfers_resume(void)
{
    test_server srv = { 0 };
    if (test_server_start(&srv, NULL) != 0) {
        CHECK(!"cos-server starts");
        return;
    }
    char *dir = test_tmpdir("free-midway");
    char src[512], dst[512];
    snprintf(src, sizeof src, "%s/src.bin", dir);
    snprintf(dst, sizeof dst, "%s/dst.bin", dir);
    CHECK_INT(test_write_lcg_file(src, 12u << 20, 41), 0);
    cos_client *c0 = test_client(&srv);
    test_put_bucket(c0, "free-" TEST_APPID);
    cos_client_free(c0);
    for (int round = 0; round < 8; round++) {
        bool up = round % 2 == 0;
        cos_config cfg;
        test_config(&cfg, &srv);
        cfg.chunk_parallel_limit = 2;
        cfg.progress_interval_ms = 1; /* "moved" as soon as bytes move */
        cos_client *c = test_client_of(&cfg);
        cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
        p.bucket = "free-" TEST_APPID;
        p.key = "big.bin";
        p.file_path = up ? src : dst;
        p.slice_size = 1u << 20;
        p.chunk_size = 1u << 20;
        xfer_state x = { TEST_LATCH_INIT, TEST_LATCH_INIT, 0, 0 };
        p.on_progress = xfer_progress;
        p.progress_user_data = &x;
        int rc = up ? cos_upload_file_async(c, &p, xfer_done, &x, NULL) : cos_download_file_async(c, &p, xfer_done, &x, NULL);
        CHECK_INT(rc, 0);
        if (rc == 0) test_latch_wait(&x.moved, 1);
        if (round % 4 >= 2) usleep(20 * 1000);
        cos_client_free(c);
        CHECK_INT(x.calls, rc == 0 ? 1 : 0); /* free waited for it, once */
        if (x.rc != 0 && x.rc != COS_ERR_CANCELED) test_fail(__FILE__, __LINE__, "round %d: rc %d", round, x.rc);
        /* the same transfer again, by a new client: the exact bytes */
        c = test_client_of(&cfg);
        p.on_progress = NULL;
        cos_transfer_result *res = NULL;
        cos_error *err = NULL;
        rc = up ? cos_upload_file(c, &p, &res, &err) : cos_download_file(c, &p, &res, &err);
        if (rc) test_fail(__FILE__, __LINE__, "round %d: resumed: %s", round, cos_error_message(err));
        cos_transfer_result_free(res);
        cos_error_free(err);
        if (up) { /* read it back */
            cos_transfer_params d = p;
            d.file_path = dst;
            unlink(dst);
            err = NULL;
            if (cos_download_file(c, &d, NULL, &err)) test_fail(__FILE__, __LINE__, "read back: %s", cos_error_message(err));
            cos_error_free(err);
        }
        if (test_files_equal(src, dst) != 0) test_fail(__FILE__, __LINE__, "round %d (%s): the bytes differ", round, up ? "upload" : "download");
        if (!up) unlink(dst);
        cos_client_free(c);
    }
    test_rmtree(dir);
    free(dir);
    test_server_stop(&srv, false);
}

int main(void)
{
    test_start_fake_server(&g_port, conn_main);
    snprintf(g_connect_to, sizeof g_connect_to, "127.0.0.1:%d", g_port);
    test_watch(120, "requests to the recording server", NULL);
    RUN(test_header_line_breaks_refused);
    RUN(test_framing_headers);
    RUN(test_callback_body_not_its_length);
    RUN(test_user_agent_line_break_refused);
    RUN(test_proxy_variables);
    RUN(test_presigned_token_stays_one_parameter);
    RUN(test_credential_line_breaks_refused);
    RUN(test_odd_keys_and_query_one_line);
    RUN(test_redirect_not_followed);
    RUN(test_retry_heads);
    RUN(test_odd_values_signed_as_sent);
    RUN(test_free_midway_transfers_resume);
    test_unwatch();
    char **h = NULL;
    take_heads(&h);
    free_heads(h);
    return test_report();
}

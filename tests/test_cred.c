/* test_cred.c — the four ways of getting credentials, caching and single flight, and the metrics/log hooks. */
#define _GNU_SOURCE
#include "testlib.h"
#include <pthread.h>
#include <time.h>

static test_server g_srv;
static char g_sts_url[256];
#define BUCKET "credtest-" TEST_APPID

typedef struct counted { int calls; pthread_mutex_t m; int mode; } counted;

/* A backend: temporary keys from cos-server's /sts, counted. */
static int tmp_key_cb(void *ud, const cos_auth_request *req, cos_credentials_sink *sink, cos_error **err)
{
    counted *c = ud;
    pthread_mutex_lock(&c->m);
    c->calls++;
    pthread_mutex_unlock(&c->m);
    cos_sleep_ms_for_tests(50); /* a slow backend: others must wait, not call again */
    return cos_sts_url_provider(g_sts_url, req, sink, err);
}

/* A backend that computes the Authorization itself (never cached). */
static int auth_cb(void *ud, const cos_auth_request *req, cos_credentials_sink *sink, cos_error **err)
{
    counted *c = ud;
    pthread_mutex_lock(&c->m);
    c->calls++;
    pthread_mutex_unlock(&c->m);
    cos_sign_params p;
    test_sign_params_for(&p, req);
    char host[256];
    snprintf(host, sizeof host, "%s.cos.%s.myqcloud.com", req->bucket, req->region);
    p.host = host;
    char *auth = NULL;
    int rc = cos_sign(&p, &auth, NULL, err);
    if (rc == 0) rc = cos_authorization_set(sink, auth, NULL);
    free(auth);
    return rc;
}

static int failing_cb(void *ud, const cos_auth_request *req, cos_credentials_sink *sink, cos_error **err)
{
    (void)ud; (void)req; (void)sink;
    if (err) *err = NULL;
    return -1;
}

static cos_client *client_with(cos_credentials_fn fn, bool sts, void *ud, bool scope)
{
    cos_config cfg;
    test_config(&cfg, &g_srv);
    cfg.secret_id = cfg.secret_key = NULL;
    if (sts) cfg.get_sts = fn;
    else cfg.get_authorization = fn;
    cfg.credentials_user_data = ud;
    cfg.scope_limit = scope;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    return c;
}

static int head_bucket(cos_client *c, const char *key)
{
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = key;
    cos_result *res = NULL;
    cos_error *err = NULL;
    int rc = key ? cos_put_object(c, &r, &res, &err) : cos_head_bucket(c, &r, &res, &err);
    if (rc) fprintf(stderr, "  request failed: %s\n", cos_error_message(err));
    cos_result_free(res);
    cos_error_free(err);
    return rc;
}

typedef struct thr { cos_client *c; int rc; } thr;
static void *thread_main(void *arg)
{
    thr *t = arg;
    t->rc = head_bucket(t->c, NULL);
    return NULL;
}

static void test_temporary_key_single_flight(void)
{
    counted k = { 0, PTHREAD_MUTEX_INITIALIZER, 0 };
    cos_client *c = client_with(tmp_key_cb, false, &k, false);
    if (!c) return;
    pthread_t th[8];
    thr ts[8];
    for (int i = 0; i < 8; i++) {
        ts[i].c = c;
        pthread_create(&th[i], NULL, thread_main, &ts[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT(ts[i].rc, 0);
    }
    CHECK_INT(k.calls, 1); /* fetched once, then cached */
    CHECK_INT(head_bucket(c, NULL), 0);
    CHECK_INT(k.calls, 1);
    cos_client_free(c);
}

static void test_scope_limit(void)
{
    counted k = { 0, PTHREAD_MUTEX_INITIALIZER, 0 };
    cos_client *c = client_with(tmp_key_cb, false, &k, true);
    if (!c) return;
    CHECK_INT(head_bucket(c, "s/a"), 0);
    CHECK_INT(head_bucket(c, "s/a"), 0);
    CHECK_INT(k.calls, 1);
    CHECK_INT(head_bucket(c, "s/b"), 0); /* another scope: another key */
    CHECK_INT(k.calls, 2);
    cos_client_free(c);
}

static void test_get_sts(void)
{
    counted k = { 0, PTHREAD_MUTEX_INITIALIZER, 0 };
    cos_client *c = client_with(tmp_key_cb, true, &k, false);
    if (!c) return;
    CHECK_INT(head_bucket(c, "sts.txt"), 0);
    CHECK_INT(k.calls, 1);
    cos_client_free(c);
}

static void test_authorization_callback(void)
{
    counted k = { 0, PTHREAD_MUTEX_INITIALIZER, 0 };
    cos_client *c = client_with(auth_cb, false, &k, false);
    if (!c) return;
    CHECK_INT(head_bucket(c, NULL), 0);
    CHECK_INT(head_bucket(c, "auth.txt"), 0);
    CHECK_INT(k.calls, 2); /* an Authorization is per request */
    cos_client_free(c);
}

/* A backend whose clock runs 2 minutes ahead of ours: its keys start "in the
 * future" by the local clock (COS, on the backend's clock, accepts them). */
static int ahead_key_cb(void *ud, const cos_auth_request *req, cos_credentials_sink *sink, cos_error **err)
{
    (void)req; (void)err;
    counted *c = ud;
    pthread_mutex_lock(&c->m);
    c->calls++;
    pthread_mutex_unlock(&c->m);
    int64_t now = (int64_t)time(NULL);
    return cos_credentials_set(sink, TEST_SECRET_ID, TEST_SECRET_KEY, NULL, now + 120, now + 3600);
}

static void test_key_starting_ahead_is_cached(void)
{
    counted k = { 0, PTHREAD_MUTEX_INITIALIZER, 0 };
    cos_client *c = client_with(ahead_key_cb, false, &k, false);
    if (!c) return;
    for (int i = 0; i < 4; i++) CHECK_INT(head_bucket(c, NULL), 0);
    CHECK_INT(k.calls, 1); /* fetched once, not once per request */
    cos_client_free(c);
}

static void test_callback_failure(void)
{
    cos_client *c = client_with(failing_cb, false, NULL, false);
    if (!c) return;
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    cos_result *res = NULL;
    cos_error *err = NULL;
    CHECK(cos_head_bucket(c, &r, &res, &err) == COS_ERR_AUTH);
    CHECK(err && err->message && *err->message);
    cos_error_free(err);
    cos_client_free(c);
}

static void test_config_modes(void)
{
    cos_config cfg;
    test_config(&cfg, &g_srv);
    cfg.get_authorization = auth_cb;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK(cos_client_new(&c, &cfg, &err) == COS_ERR_INVALID_ARG); /* two ways at once */
    CHECK_STR(err ? err->field : NULL, "get_authorization");
    cos_error_free(err);
    err = NULL;
    test_config(&cfg, &g_srv); /* a permanent key and get_sts: the field named is get_sts */
    cfg.get_sts = auth_cb;
    CHECK(cos_client_new(&c, &cfg, &err) == COS_ERR_INVALID_ARG);
    CHECK_STR(err ? err->field : NULL, "get_sts");
    CHECK(err && strstr(err->message, "secret_id and get_sts"));
    cos_error_free(err);
    err = NULL;
    test_config(&cfg, &g_srv);
    cfg.secret_id = NULL;
    cfg.secret_key = NULL;
    CHECK(cos_client_new(&c, &cfg, &err) == COS_ERR_INVALID_ARG);
    CHECK_STR(err ? err->field : NULL, "secret_id");
    cos_error_free(err);
}

typedef struct seen { int metrics; int last_status; char op[64]; int secret_logged; int logs; } seen;
static void on_metrics(void *ud, const cos_request_metrics *m)
{
    seen *s = ud;
    s->metrics++;
    s->last_status = m->http_status;
    snprintf(s->op, sizeof s->op, "%s", m->op);
}
static void on_log(void *ud, cos_log_level lvl, const char *msg)
{
    (void)lvl;
    seen *s = ud;
    s->logs++;
    if (strstr(msg, TEST_SECRET_KEY) || strstr(msg, "q-signature")) s->secret_logged = 1;
}

static void test_metrics_and_log(void)
{
    seen s = { 0 };
    cos_config cfg;
    test_config(&cfg, &g_srv);
    cfg.metrics = on_metrics;
    cfg.metrics_user_data = &s;
    cfg.log = on_log;
    cfg.log_user_data = &s;
    cfg.log_level = COS_LOG_DEBUG;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    if (!c) return;
    CHECK_INT(head_bucket(c, "m.txt"), 0);
    CHECK_INT(s.metrics, 1);
    CHECK_INT(s.last_status, 200);
    CHECK_STR(s.op, "putObject");
    CHECK(s.logs > 0);
    CHECK_INT(s.secret_logged, 0);
    cos_client_free(c);
}

int main(void)
{
    const char *args[] = { "--sts-open", NULL };
    if (test_server_start(&g_srv, args) != 0) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    snprintf(g_sts_url, sizeof g_sts_url, "http://%s/sts?bucket=%s&region=ap-guangzhou&allowPrefix=*", g_srv.endpoint,
             BUCKET);
    test_put_bucket_on(&g_srv, BUCKET);
    RUN(test_temporary_key_single_flight);
    RUN(test_scope_limit);
    RUN(test_get_sts);
    RUN(test_authorization_callback);
    RUN(test_key_starting_ahead_is_cached);
    RUN(test_callback_failure);
    RUN(test_config_modes);
    RUN(test_metrics_and_log);
    test_server_stop(&g_srv, false);
    return test_report();
}

/* test_tls.c — HTTPS end to end: cos-server with --tls-cert/--tls-key and a
 * certificate made here by openssl; libcos trusting it through ca_file, refusing
 * a server its CA did not sign (a clear error, no retry storm), and talking to
 * it with tls_insecure set; and a zeroed config (as C++ and FFI make one)
 * verifying, not trusting whatever answers. */
#define _GNU_SOURCE
#include "testlib.h"
#include <stdlib.h>
#include <string.h>

static test_server g_srv;
static char *g_dir;
static char g_ca[512], g_other_ca[512];
#define BUCKET "tlstest-" TEST_APPID

/* A self-signed certificate for the virtual-hosted names libcos will ask for. */
static int make_cert(const char *dir, const char *name)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
             "-keyout '%s/%s.key' -out '%s/%s.pem' -subj '/CN=cos-c test %s' "
             "-addext 'subjectAltName=DNS:*.cos.ap-guangzhou.myqcloud.com,DNS:service.cos.myqcloud.com,IP:127.0.0.1' "
             ">/dev/null 2>&1",
             dir, name, dir, name, name);
    return system(cmd);
}

static cos_client *client(const char *ca, bool verify)
{
    cos_config cfg;
    test_config(&cfg, &g_srv);
    cfg.protocol = "https:";
    cfg.ca_file = ca;
    cfg.tls_insecure = !verify;
    cfg.max_retries = -1; /* a bad certificate must fail at once */
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    return c;
}

static int put_get(cos_client *c, const char *key, cos_error **err)
{
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = key;
    r.body.data = "over TLS";
    r.body.size = 8;
    cos_result *res = NULL;
    int rc = cos_put_object(c, &r, &res, err);
    cos_result_free(res);
    if (rc) return rc;
    res = NULL;
    cos_request g = COS_REQUEST_INIT;
    g.bucket = BUCKET;
    g.key = key;
    rc = cos_get_object(c, &g, &res, err);
    if (rc == 0) CHECK(res->body_size == 8 && memcmp(res->body, "over TLS", 8) == 0);
    cos_result_free(res);
    return rc;
}

/* The request head over TLS: packed for a synchronous call (HTTP/1.1), a
 * header list for an async one; metadata with a tab, UTF-8 and padding is
 * signed as sent either way (a difference is a 403) and reads back. */
static void test_odd_metadata_over_tls(void)
{
    cos_client *c = client(g_ca, true);
    static const char *const values[][2] = { { "caf\xc3\xa9\tz", "caf\xc3\xa9\tz" }, { " padded ", "padded" } };
    for (size_t i = 0; i < 2; i++) {
        for (int async = 0; async < 2; async++) {
            const cos_kv meta[] = { { "odd", values[i][0] } };
            cos_request r = COS_REQUEST_INIT;
            r.bucket = BUCKET;
            r.key = "odd.txt";
            r.meta = meta;
            r.meta_count = 1;
            r.body.data = "x";
            r.body.size = 1;
            cos_result *res = NULL;
            cos_error *err = NULL;
            int rc;
            if (async) {
                cos_future *f = cos_future_new();
                rc = cos_put_object_async(c, &r, cos_future_done, f);
                if (rc == 0) rc = cos_future_wait(f, &res, &err);
                cos_future_free(f);
            } else {
                rc = cos_put_object(c, &r, &res, &err);
            }
            CHECK_OK(rc, err);
            cos_result_free(res);
            cos_error_free(err);
            res = NULL;
            err = NULL;
            cos_request h = COS_REQUEST_INIT;
            h.bucket = BUCKET;
            h.key = "odd.txt";
            CHECK_OK(cos_head_object(c, &h, &res, &err), err);
            const char *got = res ? cos_result_header(res, "x-cos-meta-odd") : NULL;
            CHECK(got && strcmp(got, values[i][1]) == 0);
            cos_result_free(res);
            cos_error_free(err);
        }
    }
    cos_client_free(c);
}

static void test_trusted_ca(void)
{
    cos_client *c = client(g_ca, true);
    cos_error *err = NULL;
    CHECK_OK(put_get(c, "trusted.txt", &err), err);
    cos_client_free(c);
}

static void test_wrong_ca_fails_clearly(void)
{
    cos_client *c = client(g_other_ca, true);
    cos_error *err = NULL;
    int rc = put_get(c, "never.txt", &err);
    CHECK(rc != 0);
    CHECK(err != NULL);
    if (err) {
        CHECK_INT(err->kind, COS_ERR_NETWORK);
        CHECK_INT((err ? err->http_status : -1), 0);
        const char *m = cos_error_message(err);
        CHECK(m && (strcasestr(m, "certificate") || strcasestr(m, "SSL")));
    }
    cos_error_free(err);
    cos_client_free(c);
    /* and nothing reached the store */
    c = client(g_ca, true);
    cos_request h = COS_REQUEST_INIT;
    h.bucket = BUCKET;
    h.key = "never.txt";
    cos_result *res = NULL;
    err = NULL;
    CHECK(cos_head_object(c, &h, &res, &err) != 0);
    CHECK_INT((err ? err->http_status : -1), 404);
    cos_error_free(err);
    cos_result_free(res);
    cos_client_free(c);
}

static void test_verify_off(void)
{
    cos_client *c = client(NULL, false);
    cos_error *err = NULL;
    CHECK_OK(put_get(c, "unverified.txt", &err), err);
    cos_client_free(c);
}

/* memset 0 + version, as C++ value-initialisation or an FFI binding gives:
 * the safe configuration, so the self-signed server is refused. */
static void test_zeroed_config_verifies(void)
{
    cos_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.version = COS_CONFIG_VERSION;
    cfg.region = "ap-guangzhou";
    cfg.protocol = "https:";
    cfg.secret_id = TEST_SECRET_ID;
    cfg.secret_key = TEST_SECRET_KEY;
    cfg.connect_to = g_srv.endpoint;
    cfg.max_retries = -1;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    if (!c) return;
    CHECK(put_get(c, "zeroed.txt", &err) != 0);
    CHECK(err != NULL && err->kind == COS_ERR_NETWORK);
    const char *m = cos_error_message(err);
    CHECK(strcasestr(m, "certificate") || strcasestr(m, "SSL"));
    cos_error_free(err);
    cos_client_free(c);
}

static void test_plain_http_to_tls_port(void)
{
    cos_config cfg;
    test_config(&cfg, &g_srv); /* http: against the HTTPS listener */
    cfg.max_retries = -1;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    CHECK(put_get(c, "plain.txt", &err) != 0);
    CHECK(err != NULL && err->kind == COS_ERR_NETWORK);
    cos_error_free(err);
    cos_client_free(c);
}

int main(void)
{
    g_dir = test_tmpdir("tls");
    if (make_cert(g_dir, "server") != 0 || make_cert(g_dir, "other") != 0) {
        printf("openssl could not make a certificate\n0 passed, 1 failed\n");
        return 1;
    }
    snprintf(g_ca, sizeof g_ca, "%s/server.pem", g_dir);
    snprintf(g_other_ca, sizeof g_other_ca, "%s/other.pem", g_dir);
    char key[512];
    snprintf(key, sizeof key, "%s/server.key", g_dir);
    const char *args[] = { "--tls-cert", g_ca, "--tls-key", key, NULL };
    if (test_server_start(&g_srv, args) != 0) {
        printf("cos-server did not start with TLS\n0 passed, 1 failed\n");
        return 1;
    }
    cos_client *admin = client(g_ca, true);
    test_put_bucket(admin, BUCKET);
    cos_client_free(admin);
    RUN(test_trusted_ca);
    RUN(test_odd_metadata_over_tls);
    RUN(test_wrong_ca_fails_clearly);
    RUN(test_verify_off);
    RUN(test_zeroed_config_verifies);
    RUN(test_plain_http_to_tls_port);
    test_server_stop(&g_srv, false);
    test_rmtree(g_dir);
    free(g_dir);
    return test_report();
}

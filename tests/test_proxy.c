/* test_proxy.c — libcos through an HTTP proxy (cfg.proxy): a forward proxy
 * (tests/support/proxy.js, Node) relays to cos-server; requests, bodies and
 * a multipart upload go through it and it logs each one. */
#define _GNU_SOURCE
#include "testlib.h"
#include <stdlib.h>
#include <string.h>

static test_server g_srv, g_proxy;
static char g_log[600];
#define BUCKET "proxytest-" TEST_APPID

static int count_lines(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char line[2048];
    int n = 0;
    while (fgets(line, sizeof line, f))
        if (!needle || strstr(line, needle)) n++;
    fclose(f);
    return n;
}

static void test_through_proxy(void)
{
    cos_config cfg;
    test_config(&cfg, &g_srv);
    cfg.connect_to = NULL; /* the proxy, not the client, reaches the server */
    char proxy[96];
    snprintf(proxy, sizeof proxy, "http://%s", g_proxy.endpoint);
    cfg.proxy = proxy;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    test_put_bucket(c, BUCKET);
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = "via/proxy.txt";
    r.body.data = "proxied";
    r.body.size = 7;
    cos_result *res = NULL;
    CHECK_OK(cos_put_object(c, &r, &res, &err), err);
    cos_result_free(res);
    res = NULL;
    cos_request g = COS_REQUEST_INIT;
    g.bucket = BUCKET;
    g.key = "via/proxy.txt";
    CHECK_OK(cos_get_object(c, &g, &res, &err), err);
    CHECK(res && res->body_size == 7 && memcmp(res->body, "proxied", 7) == 0);
    cos_result_free(res);
    /* a multipart upload: many requests on the proxy's connections */
    char *dir = test_tmpdir("proxy");
    char src[600], back[600];
    snprintf(src, sizeof src, "%s/src.bin", dir);
    snprintf(back, sizeof back, "%s/back.bin", dir);
    CHECK(test_write_lcg_file(src, 3u * 1048576 + 5, 3) == 0);
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = BUCKET;
    p.key = "via/big.bin";
    p.file_path = src;
    p.no_resume = true;
    CHECK_OK(cos_upload_file(c, &p, NULL, &err), err);
    p.file_path = back;
    CHECK_OK(cos_download_file(c, &p, NULL, &err), err);
    CHECK(test_files_equal(src, back) == 0);
    test_rmtree(dir);
    free(dir);
    cos_client_free(c);
    /* every request went through the proxy, in absolute form */
    CHECK(count_lines(g_log, "PUT http://" BUCKET ".cos.ap-guangzhou.myqcloud.com/via/proxy.txt") == 1);
    CHECK(count_lines(g_log, "GET http://" BUCKET ".cos.ap-guangzhou.myqcloud.com/via/proxy.txt") == 1);
    CHECK(count_lines(g_log, "partNumber=") >= 4);
}

static void test_proxy_down(void)
{
    cos_config cfg;
    test_config(&cfg, &g_srv);
    cfg.connect_to = NULL;
    cfg.proxy = "http://127.0.0.1:1"; /* nothing listens there */
    cfg.max_retries = -1;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    cos_request h = COS_REQUEST_INIT;
    h.bucket = BUCKET;
    h.key = "via/proxy.txt";
    cos_result *res = NULL;
    CHECK(cos_head_object(c, &h, &res, &err) != 0);
    CHECK(err && err->kind == COS_ERR_NETWORK && err->http_status == 0);
    cos_error_free(err);
    cos_result_free(res);
    cos_client_free(c);
}

int main(void)
{
    if (test_server_start(&g_srv, NULL) != 0) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    char *d = test_tmpdir("proxy-root");
    snprintf(g_proxy.root, sizeof g_proxy.root, "%s", d);
    free(d);
    char port_file[600], target[16], script[600];
    snprintf(port_file, sizeof port_file, "%s/port", g_proxy.root);
    snprintf(g_log, sizeof g_log, "%s/requests.log", g_proxy.root);
    snprintf(target, sizeof target, "%d", g_srv.port);
    const char *src = getenv("COS_SOURCE_DIR");
    snprintf(script, sizeof script, "%s/tests/support/proxy.js", src ? src : ".");
    const char *argv[] = { "node", script, port_file, target, g_log, NULL };
    if (test_spawn_listener(&g_proxy, argv, port_file) != 0) {
        printf("the proxy did not start\n0 passed, 1 failed\n");
        test_server_stop(&g_srv, false);
        return 1;
    }
    RUN(test_through_proxy);
    RUN(test_proxy_down);
    test_server_stop(&g_proxy, false);
    test_server_stop(&g_srv, false);
    return test_report();
}

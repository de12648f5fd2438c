/* test_inflight.c — requests in flight, against cos-server. Two promises:
 *  - a request the server does not answer still ends at once when its task
 *    is canceled, on the synchronous path (a simple upload runs on the
 *    task's thread) as on a network thread (a multipart part): nothing
 *    moves on its socket, so only the cancel check wakes it. (The server
 *    holds a request without holding a thread, so the abort that follows
 *    the cancel is served meanwhile: test_stall.)
 *  - one network thread carries many requests at once, and every answer
 *    reaches its own callback, with its own body.
 * A hang fails by a watchdog, never by a timed assertion. */
#define _GNU_SOURCE
#include "testlib.h"
#include <pthread.h>
#include <unistd.h>

static test_server g_srv;
static char *g_dir;
#define BUCKET "inflight-" TEST_APPID

static void path(char *out, const char *name) { snprintf(out, 512, "%s/%s", g_dir, name); }

static cos_task_state state_of(cos_client *c, cos_task_id id)
{
    cos_task_info *l = NULL;
    size_t n = 0;
    cos_task_state s = COS_TASK_ERROR;
    cos_task_list(c, &l, &n);
    for (size_t i = 0; i < n; i++)
        if (l[i].id == id) s = l[i].state;
    cos_task_list_free(l, n);
    return s;
}

/* Upload `size` bytes to `key`, whose request the server holds for a
 * minute; cancel the task once it runs; it must end canceled. The stall
 * timeout is longer than the watchdog, so only the cancel can end it. */
static void cancel_stalled(const char *key, uint64_t size, const char *what)
{
    test_server srv;
    memset(&srv, 0, sizeof srv);
    const char *args[] = { "--faults", NULL };
    if (test_server_start(&srv, args) != 0) {
        CHECK(!"cos-server starts");
        return;
    }
    test_put_bucket_on(&srv, BUCKET);
    cos_config cfg;
    test_config(&cfg, &srv);
    cfg.simple_upload_method = COS_SIMPLE_UPLOAD_PUT; /* PUT /key: the fault matches the key */
    cfg.stall_timeout_ms = 600000;
    cfg.slice_size = 1024 * 1024;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    if (!c) {
        test_server_stop(&srv, false);
        return;
    }
    char rules[256];
    snprintf(rules, sizeof rules, "[{\"method\":\"PUT\",\"match\":\"%s\",\"action\":\"stall\",\"ms\":60000,\"times\":1}]", key);
    test_set_faults(c, &srv, rules);
    char src[512];
    path(src, key);
    test_write_lcg_file(src, size, 21);
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = BUCKET;
    p.key = key;
    p.file_path = src;
    p.no_resume = true;
    p.parallel = 1;
    cos_task_id id = 0;
    test_watch(45, what, &srv);
    CHECK_INT(cos_upload_file_async(c, &p, NULL, NULL, &id), 0);
    while (state_of(c, id) != COS_TASK_RUNNING) usleep(5000);
    usleep(300000); /* (its request is on its way, or held: either way the cancel must end it) */
    CHECK_OK(cos_task_cancel(c, id, &err), err);
    cos_transfer_result *res = NULL;
    CHECK_INT(cos_task_wait(c, id, &res, &err), COS_ERR_CANCELED);
    cos_transfer_result_free(res);
    cos_error_free(err);
    test_unwatch();
    cos_client_free(c);
    test_server_stop(&srv, false);
}

static void test_cancel_stalled_simple_upload(void)
{
    cancel_stalled("stall-simple.bin", 1000, "canceling a simple upload (on the task's thread) that the server holds");
}

static void test_cancel_stalled_part(void)
{
    /* 3 parts of 1 MiB: the first part's request is held */
    cancel_stalled("stall-parts.bin", 3 * 1024 * 1024, "canceling a multipart upload whose part the server holds");
}

/* ------------------------------------------------------------------ many on one network thread */

#define MANY 200

typedef struct many {
    pthread_mutex_t m;
    pthread_cond_t cv;
    int done, bad;
} many;

typedef struct one_get {
    many *all;
    int i;
} one_get;

static size_t body_size(int i) { return 100 + (size_t)i * 37; }

static void got(void *ud, int rc, cos_result *res, cos_error *err)
{
    one_get *g = ud;
    bool ok = rc == 0 && res && res->body_size == body_size(g->i);
    if (ok) {
        unsigned char *want = malloc(body_size(g->i));
        test_lcg_fill(want, body_size(g->i), (uint32_t)g->i);
        ok = memcmp(want, res->body, body_size(g->i)) == 0;
        free(want);
    }
    if (!ok) fprintf(stderr, "GET %d: rc=%d %s\n", g->i, rc, err ? cos_error_message(err) : "wrong body");
    cos_result_free(res);
    cos_error_free(err);
    pthread_mutex_lock(&g->all->m);
    g->all->done++;
    if (!ok) g->all->bad++;
    pthread_cond_signal(&g->all->cv);
    pthread_mutex_unlock(&g->all->m);
}

static void test_many_on_one_network_thread(void)
{
    cos_config cfg;
    test_config(&cfg, &g_srv);
    cfg.network_threads = 1;
    cfg.max_connections = 64;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    if (!c) return;
    unsigned char *buf = malloc(body_size(MANY));
    for (int i = 0; i < MANY; i++) {
        char key[32];
        snprintf(key, sizeof key, "many/%03d", i);
        test_lcg_fill(buf, body_size(i), (uint32_t)i);
        cos_request r = COS_REQUEST_INIT;
        r.bucket = BUCKET;
        r.key = key;
        r.body.data = buf;
        r.body.size = body_size(i);
        cos_result *res = NULL;
        CHECK_OK(cos_put_object(c, &r, &res, &err), err);
        cos_result_free(res);
    }
    free(buf);
    test_watch(60, "200 GETs at once on one network thread", &g_srv);
    many all = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0 };
    static one_get gets[MANY];
    for (int i = 0; i < MANY; i++) {
        char key[32];
        snprintf(key, sizeof key, "many/%03d", i);
        gets[i] = (one_get){ &all, i };
        cos_request r = COS_REQUEST_INIT;
        r.bucket = BUCKET;
        r.key = key;
        CHECK_INT(cos_get_object_async(c, &r, got, &gets[i]), 0);
    }
    pthread_mutex_lock(&all.m);
    while (all.done < MANY) pthread_cond_wait(&all.cv, &all.m);
    pthread_mutex_unlock(&all.m);
    test_unwatch();
    CHECK_INT(all.bad, 0);
    cos_client_free(c);
}

int main(void)
{
    if (test_server_start(&g_srv, NULL) != 0) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    g_dir = test_tmpdir("inflight");
    test_put_bucket_on(&g_srv, BUCKET);
    RUN(test_many_on_one_network_thread);
    RUN(test_cancel_stalled_simple_upload);
    RUN(test_cancel_stalled_part);
    test_server_stop(&g_srv, false);
    test_rmtree(g_dir);
    free(g_dir);
    return test_report();
}

/* test_async_retry.c — an async call's retry waits on a timer, not on a
 * worker: with one worker thread, a request in a retry's back-off must not
 * hold up the completion of every other async call. It slept on the worker
 * for the whole back-off, so N failing requests stalled a client with N
 * workers. Against cos-server with --faults. The back-off is made an hour
 * long (a test-only knob of libcos) and then ended by the test, so what is
 * checked is an order of callbacks, never a duration; a hang fails by the
 * watchdog. */
#define _GNU_SOURCE
#include "testlib.h"
#include <stdatomic.h>
#include <time.h>

#define BUCKET "asyncretry-" TEST_APPID

/* libcos's test-only knobs (src/ops.c; not in a public header). */
extern _Atomic int64_t cos_backoff_ms_for_tests;
void cos_client_fire_timers_for_tests(cos_client *c);

static test_server g_srv;
static test_latch g_retry_scheduled = TEST_LATCH_INIT;
static test_latch g_done = TEST_LATCH_INIT;
static _Atomic int g_order;

typedef struct outcome {
    int rc;
    int order;   /* 1 = completed first */
    int retries;
} outcome;
static outcome g_a, g_b;

static void on_log(void *ud, cos_log_level level, const char *message)
{
    (void)ud;
    (void)level;
    if (strstr(message, "retry 1 in")) test_latch_add(&g_retry_scheduled);
}

static void done_a(void *ud, int rc, cos_result *res, cos_error *err)
{
    (void)ud;
    g_a.rc = rc;
    g_a.retries = res ? res->retries : err ? err->retries : -1;
    g_a.order = atomic_fetch_add(&g_order, 1) + 1;
    cos_result_free(res);
    cos_error_free(err);
    test_latch_add(&g_done);
}

static void done_b(void *ud, int rc, cos_result *res, cos_error *err)
{
    (void)ud;
    g_b.rc = rc;
    g_b.order = atomic_fetch_add(&g_order, 1) + 1;
    cos_result_free(res);
    cos_error_free(err);
    test_latch_add(&g_done);
}

static void put(cos_client *c, const char *key)
{
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = key;
    r.body.data = key;
    r.body.size = strlen(key);
    cos_result *res = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_put_object(c, &r, &res, &err), err);
    cos_result_free(res);
}

static void test_backoff_does_not_hold_the_worker(void)
{
    cos_client *admin = test_client(&g_srv);
    put(admin, "retry-a");
    put(admin, "held-b");
    cos_config cfg;
    test_config(&cfg, &g_srv);
    cfg.worker_threads = 1;
    cfg.log = on_log;
    cfg.log_level = COS_LOG_DEBUG;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    if (!c) return;
    test_watch(120, "an async call completing while another waits for its retry", &g_srv);
    atomic_store(&cos_backoff_ms_for_tests, 3600 * 1000); /* an hour: it ends when the test says so */
    /* B is held by the server until the test lets it go; A fails once (503) and retries */
    test_set_faults(admin, &g_srv,
                    "[{\"method\":\"GET\",\"match\":\"held-b\",\"action\":\"stall\",\"ms\":100000,\"times\":1},"
                    "{\"method\":\"GET\",\"match\":\"retry-a\",\"action\":\"status\",\"code\":\"SlowDown\",\"times\":1}]");
    cos_request b = COS_REQUEST_INIT;
    b.bucket = BUCKET;
    b.key = "held-b";
    CHECK_INT(cos_get_object_async(c, &b, done_b, NULL), 0);
    cos_request a = COS_REQUEST_INIT;
    a.bucket = BUCKET;
    a.key = "retry-a";
    CHECK_INT(cos_get_object_async(c, &a, done_a, NULL), 0);
    /* A's 503 was handled by the only worker and its retry put off (an hour) */
    test_latch_wait(&g_retry_scheduled, 1);
    /* now B's answer comes: the worker must be free to complete it */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    test_set_faults(admin, &g_srv, NULL);
    test_latch_wait(&g_done, 1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("B completed %.1f ms after its answer was let go, A still in its back-off (not an assertion)\n",
           (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    CHECK_INT(g_b.order, 1);
    CHECK_INT(g_b.rc, 0);
    CHECK_INT(g_a.order, 0); /* A still waits for its retry */
    /* end A's back-off: it retries, succeeds, completes second */
    cos_client_fire_timers_for_tests(c);
    test_latch_wait(&g_done, 2);
    CHECK_INT(g_a.order, 2);
    CHECK_INT(g_a.rc, 0);
    CHECK_INT(g_a.retries, 1);
    atomic_store(&cos_backoff_ms_for_tests, -1);
    test_unwatch();
    cos_client_free(c);
    cos_client_free(admin);
}

static test_latch g_many = TEST_LATCH_INIT;
static _Atomic int g_many_ok, g_many_retried;
static void done_many(void *ud, int rc, cos_result *res, cos_error *err)
{
    (void)ud;
    if (rc == 0) atomic_fetch_add(&g_many_ok, 1);
    if (res && res->retries == 1) atomic_fetch_add(&g_many_retried, 1);
    cos_result_free(res);
    cos_error_free(err);
    test_latch_add(&g_many);
}

/* Many async calls in their back-offs at once (each due at its own time,
 * the real back-off), one worker: every one retries once and completes. */
static void test_many_backoffs(void)
{
    cos_client *admin = test_client(&g_srv);
    cos_config cfg;
    test_config(&cfg, &g_srv);
    cfg.worker_threads = 1;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    if (!c) return;
    test_watch(120, "32 async calls retrying at once", &g_srv);
    test_set_faults(admin, &g_srv, "[{\"method\":\"GET\",\"match\":\"retry-a\",\"action\":\"status\",\"code\":\"SlowDown\",\"times\":32}]");
    for (int i = 0; i < 32; i++) {
        cos_request a = COS_REQUEST_INIT;
        a.bucket = BUCKET;
        a.key = "retry-a";
        CHECK_INT(cos_get_object_async(c, &a, done_many, NULL), 0);
    }
    test_latch_wait(&g_many, 32);
    CHECK_INT(atomic_load(&g_many_ok), 32);
    CHECK_INT(atomic_load(&g_many_retried), 32);
    test_set_faults(admin, &g_srv, NULL);
    test_unwatch();
    cos_client_free(c);
    cos_client_free(admin);
}

int main(void)
{
    const char *args[] = { "--faults", NULL };
    if (test_server_start(&g_srv, args) != 0) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    test_put_bucket_on(&g_srv, BUCKET);
    RUN(test_backoff_does_not_hold_the_worker);
    RUN(test_many_backoffs);
    test_server_stop(&g_srv, false);
    return test_report();
}

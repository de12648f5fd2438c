/* test_async_retry.c — an async call's retry waits on a timer, not on a
 * worker: with one worker thread, a request in a retry's back-off must not
 * hold up the completion of every other async call. It slept on the worker
 * for the whole back-off, so N failing requests stalled a client with N
 * workers. Likewise a transfer's part in its back-off holds neither its
 * task's thread nor a cancel. Against cos-server with --faults. The back-off is made an hour
 * long (a test-only knob of libcos) and then ended by the test, so what is
 * checked is an order of callbacks, never a duration; a hang fails by the
 * watchdog. */
#define _GNU_SOURCE
#include "testlib.h"
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

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
    if (res) atomic_fetch_add(&g_many_retried, res->retries); /* every 503 retried: 32 in all */
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
    /* the server fails the first 32 GETs it sees: a slow first request (valgrind)
       can come after another call's retry, which then fails twice, so the
       retries are counted in all, not one per call */
    CHECK_INT(atomic_load(&g_many_retried), 32);
    test_set_faults(admin, &g_srv, NULL);
    test_unwatch();
    cos_client_free(c);
    cos_client_free(admin);
}

/* A transfer's part whose request waits out a retry's back-off holds
 * nothing: not the task's thread (the other part is recorded meanwhile),
 * not a cancel. The part's request slept through its back-off on the task's
 * thread: a cancel waited for the whole back-off (here an hour: the
 * watchdog), and so did every other part's completion. */
static test_latch g_part_retry = TEST_LATCH_INIT;
static test_latch g_task_done = TEST_LATCH_INIT;
static _Atomic int g_task_rc = -1;
static _Atomic uint64_t g_task_size;

static void on_part_log(void *ud, cos_log_level level, const char *message)
{
    (void)ud;
    (void)level;
    if (strstr(message, "retry 1 in")) test_latch_add(&g_part_retry);
}

static void task_done(void *ud, cos_task_id id, int rc, cos_transfer_result *res, cos_error *err)
{
    (void)ud;
    (void)id;
    atomic_store(&g_task_size, res ? res->size : 0);
    atomic_store(&g_task_rc, rc);
    if (rc && rc != COS_ERR_CANCELED) test_fail(__FILE__, __LINE__, "the upload: %s", err ? cos_error_message(err) : "?");
    cos_transfer_result_free(res);
    cos_error_free(err);
    test_latch_add(&g_task_done);
}

static cos_client *part_client(void)
{
    cos_config cfg;
    test_config(&cfg, &g_srv);
    cfg.log = on_part_log;
    cfg.log_level = COS_LOG_DEBUG;
    cfg.chunk_parallel_limit = 2;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    return c;
}

static void test_part_backoff_holds_no_task(void)
{
    cos_client *admin = test_client(&g_srv);
    cos_client *c = part_client();
    if (!c) return;
    char *dir = test_tmpdir("partretry");
    char path[512];
    snprintf(path, sizeof path, "%s/two-parts", dir);
    CHECK_INT(test_write_lcg_file(path, 2u << 20, 7), 0);
    test_watch(120, "a transfer's part in its retry's back-off (a cancel, the other part)", &g_srv);
    atomic_store(&cos_backoff_ms_for_tests, 3600 * 1000);
    for (int round = 0; round < 2; round++) {
        /* part 1 fails once (503) and waits an hour to be sent again */
        test_set_faults(admin, &g_srv,
                        "[{\"method\":\"PUT\",\"match\":\"partNumber=1\",\"action\":\"status\",\"code\":\"SlowDown\",\"times\":1}]");
        cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
        p.bucket = BUCKET;
        p.key = round ? "two-parts-done" : "two-parts-canceled";
        p.file_path = path;
        p.slice_size = 1u << 20;
        p.chunk_size = 1u << 20;
        p.no_resume = true;
        cos_task_id id = 0;
        int before = test_latch_count(&g_task_done);
        int retried = test_latch_count(&g_part_retry);
        CHECK_INT(cos_upload_file_async(c, &p, task_done, NULL, &id), 0);
        test_latch_wait(&g_part_retry, retried + 1); /* part 1 is in its back-off */
        if (round == 0) {
            /* a cancel ends the task now, not when the back-off is over */
            cos_error *err = NULL;
            CHECK_OK(cos_task_cancel(c, id, &err), err);
            test_latch_wait(&g_task_done, before + 1);
            CHECK_INT(atomic_load(&g_task_rc), COS_ERR_CANCELED);
        } else {
            /* the back-off ends: part 1 is sent again and the upload completes whole.
               The log line comes just before the timer is set: fired until it ran */
            while (test_latch_count(&g_task_done) < before + 1) {
                cos_client_fire_timers_for_tests(c);
                usleep(10000);
            }
            CHECK_INT(atomic_load(&g_task_rc), 0);
            CHECK_INT((long long)atomic_load(&g_task_size), 2LL << 20);
            cos_request h = COS_REQUEST_INIT;
            h.bucket = BUCKET;
            h.key = p.key;
            cos_result *res = NULL;
            cos_error *err = NULL;
            CHECK_OK(cos_head_object(c, &h, &res, &err), err);
            if (res) CHECK_INT((long long)res->content_length, 2LL << 20);
            cos_result_free(res);
        }
    }
    atomic_store(&cos_backoff_ms_for_tests, -1);
    test_set_faults(admin, &g_srv, NULL);
    test_unwatch();
    cos_client_free(c);
    cos_client_free(admin);
    test_rmtree(dir);
    free(dir);
}

/* The client's only task, polled until ok() holds for it. */
static void wait_for_the_task(cos_client *c, bool (*ok)(const cos_task_info *t))
{
    for (;;) {
        cos_task_info *list = NULL;
        size_t n = 0;
        CHECK_INT(cos_task_list(c, &list, &n), 0);
        bool done = n == 1 && ok(&list[0]);
        cos_task_list_free(list, n);
        if (done) return;
        usleep(10000);
    }
}

/* one of two 1 MiB parts sent: the other is failing or in its back-off */
static bool half_loaded(const cos_task_info *t) { return t->loaded >= (1u << 20) && t->loaded < (2u << 20); }
static bool is_paused(const cos_task_info *t) { return t->state == COS_TASK_PAUSED; }

/* Two 1 MiB parts on two lanes, part 1 failing once (SlowDown) into a
 * back-off of backoff_ms; returns once part 2 is sent and part 1 waits. */
typedef struct {
    cos_client *admin, *c;
    char *dir;
    cos_task_id id;
    int before; /* g_task_done's count before the task */
} two_part_upload;

static bool start_two_part_upload(two_part_upload *u, const char *key, unsigned seed, int backoff_ms,
                                  const char *what)
{
    memset(u, 0, sizeof *u);
    u->admin = test_client(&g_srv);
    cos_config cfg;
    test_config(&cfg, &g_srv);
    cfg.max_retries = -1;
    cfg.chunk_parallel_limit = 2;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&u->c, &cfg, &err), err);
    if (!u->c) {
        cos_client_free(u->admin);
        return false;
    }
    u->dir = test_tmpdir(key);
    char path[512];
    snprintf(path, sizeof path, "%s/two-parts", u->dir);
    CHECK_INT(test_write_lcg_file(path, 2u << 20, seed), 0);
    test_watch(120, what, &g_srv);
    atomic_store(&cos_backoff_ms_for_tests, backoff_ms);
    test_set_faults(u->admin, &g_srv,
                    "[{\"method\":\"PUT\",\"match\":\"partNumber=1\",\"action\":\"status\",\"code\":\"SlowDown\",\"times\":1}]");
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = BUCKET;
    p.key = key;
    p.file_path = path;
    p.slice_size = 1u << 20;
    p.chunk_size = 1u << 20;
    p.no_resume = true;
    u->before = test_latch_count(&g_task_done);
    CHECK_INT(cos_upload_file_async(u->c, &p, task_done, NULL, &u->id), 0);
    /* part 1 has failed once (the server used its fault) and part 2 is
       done: the task now waits out part 1's back-off */
    wait_for_the_task(u->c, half_loaded);
    return true;
}

static void end_two_part_upload(two_part_upload *u)
{
    atomic_store(&cos_backoff_ms_for_tests, -1);
    test_set_faults(u->admin, &g_srv, NULL);
    cos_client_free(u->c); /* runs a back-off left behind, if any, now */
    test_unwatch();
    cos_client_free(u->admin);
    test_rmtree(u->dir);
    free(u->dir);
}

/* A part that failed as a whole (no request-level retries) is tried again
 * after a back-off during which the task still answers a cancel at once. */
static void test_part_retry_backoff_cancel(void)
{
    two_part_upload u;
    if (!start_two_part_upload(&u, "part-retry-canceled", 9, 3600 * 1000, "a part in its back-off, then a cancel"))
        return;
    cos_error *err = NULL;
    CHECK_OK(cos_task_cancel(u.c, u.id, &err), err);
    test_latch_wait(&g_task_done, u.before + 1);
    CHECK_INT(atomic_load(&g_task_rc), COS_ERR_CANCELED);
    end_two_part_upload(&u);
}

/* A part in its back-off, the task paused, then restarted: it completes
 * with the file's bytes, its callback once; the back-off left behind is
 * never a second run of the part, nor (at cos_client_free, which runs
 * delayed jobs at once) a touch of the finished task (ASan). The restarted
 * task waits out what is left of the part's back-off (1.5 s here: the
 * pause lands inside it unless the machine is very slow, which only makes
 * the test weaker, never wrong). */
static void test_part_backoff_pause_restart(void)
{
    two_part_upload u;
    if (!start_two_part_upload(&u, "part-retry-paused", 11, 1500, "a part in its back-off, the task paused and restarted"))
        return;
    cos_error *err = NULL;
    CHECK_OK(cos_task_pause(u.c, u.id, &err), err);
    wait_for_the_task(u.c, is_paused); /* it reports paused once what was in flight has stopped */
    CHECK_INT(test_latch_count(&g_task_done), u.before); /* a pause ends nothing */
    atomic_store(&cos_backoff_ms_for_tests, -1);
    CHECK_OK(cos_task_restart(u.c, u.id, &err), err);
    test_latch_wait(&g_task_done, u.before + 1);
    CHECK_INT(atomic_load(&g_task_rc), 0);
    /* the object is the file */
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = "part-retry-paused";
    cos_result *res = NULL;
    CHECK_OK(cos_get_object(u.admin, &r, &res, &err), err);
    unsigned char *want = malloc(2u << 20);
    test_lcg_fill(want, 2u << 20, 11);
    CHECK(res && res->body_size == (2u << 20) && !memcmp(res->body, want, 2u << 20));
    free(want);
    cos_result_free(res);
    int done_before_free = test_latch_count(&g_task_done);
    end_two_part_upload(&u);
    CHECK_INT(test_latch_count(&g_task_done), done_before_free); /* the back-off left behind ended nothing twice */
}

/* cos_client_free "waits for in-flight async operations": one in its
 * retry's back-off (an hour here) held the free for the whole back-off; it
 * now ends at once, COS_ERR_CANCELED, its callback run. */
static test_latch g_free_retry = TEST_LATCH_INIT;
static test_latch g_free_done = TEST_LATCH_INIT;
static int g_free_rc = -99;

static void on_free_log(void *ud, cos_log_level level, const char *message)
{
    (void)ud;
    (void)level;
    if (strstr(message, "retry 1 in")) test_latch_add(&g_free_retry);
}

static void free_done(void *ud, int rc, cos_result *res, cos_error *err)
{
    (void)ud;
    g_free_rc = rc;
    cos_result_free(res);
    cos_error_free(err);
    test_latch_add(&g_free_done);
}

static void test_free_during_backoff(void)
{
    cos_client *admin = test_client(&g_srv);
    cos_config cfg;
    test_config(&cfg, &g_srv);
    cfg.log = on_free_log;
    cfg.log_level = COS_LOG_DEBUG;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    if (!c) return;
    test_watch(120, "cos_client_free with an async call in its retry's back-off", &g_srv);
    atomic_store(&cos_backoff_ms_for_tests, 3600 * 1000);
    test_set_faults(admin, &g_srv, "[{\"method\":\"GET\",\"match\":\"retry-a\",\"action\":\"status\",\"code\":\"SlowDown\",\"times\":1}]");
    cos_request a = COS_REQUEST_INIT;
    a.bucket = BUCKET;
    a.key = "retry-a";
    CHECK_INT(cos_get_object_async(c, &a, free_done, NULL), 0);
    test_latch_wait(&g_free_retry, 1);
    cos_client_free(c); /* returns now, not in an hour */
    CHECK_INT(test_latch_count(&g_free_done), 1);
    CHECK_INT(g_free_rc, COS_ERR_CANCELED);
    atomic_store(&cos_backoff_ms_for_tests, -1);
    test_set_faults(admin, &g_srv, NULL);
    test_unwatch();
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
    RUN(test_part_backoff_holds_no_task);
    RUN(test_part_retry_backoff_cancel);
    RUN(test_part_backoff_pause_restart);
    RUN(test_free_during_backoff);
    test_server_stop(&g_srv, false);
    return test_report();
}

/*
 * test_async_attack: the async path's new gathering of small requests on
 * one network thread (engine.c, pick_lane), attacked with what it was not
 * measured on: many LARGE answers read into memory at once (a "small"
 * exchange by its shape, megabytes by its size), past a lane's connections;
 * futures freed while their calls are in flight; the client freed with
 * dozens of them in flight. Every answer must reach its own callback, whole
 * and exactly once. A hang fails by the watchdog, never a timed assertion.
 */
#define _GNU_SOURCE
#include "testlib.h"
#include <pthread.h>

static test_server g_srv;
#define BUCKET "async-attack-" TEST_APPID
#define BIG (1u << 20)
#define N 48

static unsigned char *g_want;

typedef struct tally {
    pthread_mutex_t m;
    pthread_cond_t cv;
    int done, bad, canceled, calls[N];
} tally;

typedef struct one { tally *t; int i; } one;

static void check_done(void *ud, int rc, cos_result *res, cos_error *err)
{
    one *o = ud;
    bool ok = rc == 0 && res && res->body_size == BIG && memcmp(res->body, g_want, BIG) == 0;
    bool canceled = rc == COS_ERR_CANCELED;
    if (!ok && !canceled)
        fprintf(stderr, "GET %d: rc %d %s (%zu bytes)\n", o->i, rc, err ? cos_error_message(err) : "",
                res ? res->body_size : 0);
    cos_result_free(res);
    cos_error_free(err);
    pthread_mutex_lock(&o->t->m);
    o->t->calls[o->i]++;
    o->t->done++;
    if (canceled) o->t->canceled++;
    else if (!ok) o->t->bad++;
    pthread_cond_broadcast(&o->t->cv);
    pthread_mutex_unlock(&o->t->m);
}

static cos_client *small_lanes_client(void)
{
    cos_config cfg;
    test_config(&cfg, &g_srv);
    cfg.network_threads = 2;
    cfg.max_connections = 8; /* 4 per lane: most of the GETs go past a lane's connections */
    cfg.timeout_ms = 120000;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    return c;
}

/* N async GETs of the 1 MiB object into memory, tallied in t. */
static void start_large_gets(cos_client *c, tally *t, one ones[N])
{
    for (int i = 0; i < N; i++) {
        ones[i] = (one){ t, i };
        cos_request r = COS_REQUEST_INIT;
        r.bucket = BUCKET;
        r.key = "big";
        CHECK_INT(cos_get_object_async(c, &r, check_done, &ones[i]), 0);
    }
}

/* N GETs of 1 MiB into memory at once: each whole, each once. */
static void test_many_large_gets_in_memory(void)
{
    cos_client *c = small_lanes_client();
    if (!c) return;
    test_watch(120, "many large in-memory async GETs", &g_srv);
    static tally t = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, { 0 } };
    static one ones[N];
    start_large_gets(c, &t, ones);
    pthread_mutex_lock(&t.m);
    while (t.done < N) pthread_cond_wait(&t.cv, &t.m);
    pthread_mutex_unlock(&t.m);
    CHECK_INT(t.bad, 0);
    CHECK_INT(t.canceled, 0);
    for (int i = 0; i < N; i++) CHECK_INT(t.calls[i], 1);
    test_unwatch();
    cos_client_free(c);
}

/* Futures of large GETs freed at once, in flight, every other one; the
 * rest waited for and whole. (ASan / valgrind see a write into a freed
 * future.) */
static void test_futures_freed_in_flight(void)
{
    cos_client *c = small_lanes_client();
    if (!c) return;
    test_watch(120, "futures freed in flight", &g_srv);
    cos_future *f[N];
    for (int i = 0; i < N; i++) {
        f[i] = cos_future_new();
        cos_request r = COS_REQUEST_INIT;
        r.bucket = BUCKET;
        r.key = "big";
        CHECK_INT(cos_get_object_async(c, &r, cos_future_done, f[i]), 0);
        if (i % 2) {
            cos_future_free(f[i]);
            f[i] = NULL;
        }
    }
    for (int i = 0; i < N; i += 2) {
        cos_result *res = NULL;
        cos_error *err = NULL;
        int rc = cos_future_wait(f[i], &res, &err);
        CHECK_OK(rc, err);
        CHECK(res && res->body_size == BIG && memcmp(res->body, g_want, BIG) == 0);
        cos_result_free(res);
        cos_error_free(err);
        cos_future_free(f[i]);
    }
    test_unwatch();
    cos_client_free(c);
}

/* The client freed with N large GETs in flight: each callback runs once
 * (its answer whole, or COS_ERR_CANCELED), all before the free returns. */
static void test_free_with_large_gets_in_flight(void)
{
    cos_client *c = small_lanes_client();
    if (!c) return;
    test_watch(120, "a client freed with large GETs in flight", &g_srv);
    static tally t = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, { 0 } };
    static one ones[N];
    start_large_gets(c, &t, ones);
    cos_client_free(c);
    pthread_mutex_lock(&t.m);
    int done = t.done;
    pthread_mutex_unlock(&t.m);
    CHECK_INT(done, N);
    CHECK_INT(t.bad, 0);
    for (int i = 0; i < N; i++) CHECK_INT(t.calls[i], 1);
    printf("  %d of %d canceled by the free\n", t.canceled, N);
    test_unwatch();
}

int main(void)
{
    if (test_server_start(&g_srv, NULL) != 0) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    cos_client *c = test_client(&g_srv);
    test_put_bucket(c, BUCKET);
    g_want = malloc(BIG);
    test_lcg_fill(g_want, BIG, 7);
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = "big";
    r.body.data = g_want;
    r.body.size = BIG;
    cos_result *res = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_put_object(c, &r, &res, &err), err);
    cos_result_free(res);
    cos_client_free(c);
    RUN(test_many_large_gets_in_memory);
    RUN(test_futures_freed_in_flight);
    RUN(test_free_with_large_gets_in_flight);
    free(g_want);
    test_server_stop(&g_srv, false);
    return test_report();
}

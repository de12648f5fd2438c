/* test_workers.c — the worker pool that runs async completions (engine.c):
 *  - every job runs exactly once with many posters; wake-ups held by a
 *    network thread's pass reach every idle worker at the flush; delayed
 *    jobs run when due and when the timers are fired; a worker that blocks
 *    gets a stand-in;
 *  - async calls from many threads at once, each PUT's callback submitting
 *    a GET of its key: every callback once, on a worker, never on a
 *    submitting thread, with one worker thread and with the default.
 * Waits are for events, with bounds that only end a hung test; a hang
 * fails by the watchdog. */
#define _GNU_SOURCE
#include "testlib.h"
#include "engine.h"
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

/* Wait (bounded, 60 s: only a hung test reaches it) until *v >= want. */
static bool wait_at_least(atomic_int *v, int want)
{
    for (long i = 0; i < 60L * 1000 * 10; i++) {
        if (atomic_load(v) >= want) return true;
        usleep(100);
    }
    return atomic_load(v) >= want;
}

/* Wait (bounded as above) until the pool has n idle workers. */
static bool wait_idle(cos_workers *w, int n)
{
    for (long i = 0; i < 60L * 1000 * 10; i++) {
        if (workers_idle_for_tests(w) == n) return true;
        usleep(100);
    }
    return false;
}

static void count_job(void *arg) { atomic_fetch_add((atomic_int *)arg, 1); }

typedef struct poster {
    cos_workers *w;
    atomic_int *ran;
    int jobs;
    atomic_int posted;
} poster;

static void *post_jobs(void *arg)
{
    poster *p = arg;
    for (int i = 0; i < p->jobs; i++) {
        CHECK(workers_post(p->w, count_job, p->ran) == 0);
        atomic_fetch_add(&p->posted, 1);
    }
    return NULL;
}

static void test_every_job_once_with_many_posters(void)
{
    cos_workers *w = NULL;
    CHECK(workers_new(&w, 3) == 0);
    if (!w) return;
    enum { POSTERS = 4, EACH = 5000 };
    atomic_int ran = 0;
    poster p[POSTERS];
    pthread_t t[POSTERS];
    for (int i = 0; i < POSTERS; i++) {
        p[i] = (poster){ w, &ran, EACH, 0 };
        CHECK(pthread_create(&t[i], NULL, post_jobs, &p[i]) == 0);
    }
    for (int i = 0; i < POSTERS; i++) pthread_join(t[i], NULL);
    CHECK(wait_at_least(&ran, POSTERS * EACH));
    workers_free(w);
    CHECK_INT(atomic_load(&ran), POSTERS * EACH); /* and none twice */
}

/* ---- held wake-ups (a network thread's pass): each of N jobs waits for all N
   to have started, which only N distinct workers awake at once can do */
typedef struct gather {
    pthread_mutex_t m;
    pthread_cond_t cv;
    int started, n;
    atomic_int done;
} gather;

static void gather_job(void *arg)
{
    gather *g = arg;
    pthread_mutex_lock(&g->m);
    g->started++;
    pthread_cond_broadcast(&g->cv);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 60; /* only a hung test waits this long */
    while (g->started < g->n)
        if (pthread_cond_timedwait(&g->cv, &g->m, &until) == ETIMEDOUT) break;
    pthread_mutex_unlock(&g->m);
    atomic_fetch_add(&g->done, 1);
}

typedef struct held_poster {
    cos_workers *w;
    gather *g;
} held_poster;

static void *post_held(void *arg)
{
    held_poster *h = arg;
    workers_hold();
    for (int i = 0; i < h->g->n; i++) CHECK(workers_post(h->w, gather_job, h->g) == 0);
    workers_flush();
    return NULL;
}

static void test_held_wakes_reach_every_idle_worker(void)
{
    cos_workers *w = NULL;
    enum { N = 4 };
    CHECK(workers_new(&w, N) == 0);
    if (!w) return;
    CHECK(wait_idle(w, N));
    for (int round = 0; round < 3; round++) {
        gather g = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, N, 0 };
        held_poster h = { w, &g };
        pthread_t t;
        CHECK(pthread_create(&t, NULL, post_held, &h) == 0);
        pthread_join(t, NULL);
        CHECK(wait_at_least(&g.done, N));
        CHECK_INT(g.started, N);
        CHECK(wait_idle(w, N));
    }
    workers_free(w);
}

static void test_delayed_jobs(void)
{
    cos_workers *w = NULL;
    CHECK(workers_new(&w, 2) == 0);
    if (!w) return;
    atomic_int soon = 0, late = 0;
    CHECK(workers_post_after(w, 5, count_job, &soon) == 0);
    CHECK(workers_post_after(w, 3600 * 1000, count_job, &late) == 0); /* an hour */
    CHECK(wait_at_least(&soon, 1)); /* an idle worker's timed wait ends when it is due */
    CHECK_INT(atomic_load(&late), 0);
    workers_fire_timers(w);
    CHECK(wait_at_least(&late, 1));
    CHECK(workers_post_after(w, 3600 * 1000, count_job, &late) == 0);
    workers_free(w); /* runs what still waits */
    CHECK_INT(atomic_load(&late), 2);
}

/* ---- a worker that blocks (a future waited for in a callback) gets a stand-in */
typedef struct blocker {
    cos_workers *w;
    atomic_int other_ran, done;
} blocker;

static void other_job(void *arg) { atomic_fetch_add(&((blocker *)arg)->other_ran, 1); }

static void blocking_job(void *arg)
{
    blocker *b = arg;
    workers_block_begin();
    CHECK(workers_post(b->w, other_job, b) == 0);
    CHECK(wait_at_least(&b->other_ran, 1)); /* only a stand-in can run it: this is the one worker */
    workers_block_end();
    atomic_fetch_add(&b->done, 1);
}

static void test_blocked_worker_gets_a_stand_in(void)
{
    blocker b = { NULL, 0, 0 };
    CHECK(workers_new(&b.w, 1) == 0);
    if (!b.w) return;
    CHECK(workers_post(b.w, blocking_job, &b) == 0);
    CHECK(wait_at_least(&b.done, 1));
    CHECK_INT(atomic_load(&b.other_ran), 1);
    workers_free(b.w);
}

/* ---- the promises of cos_done_fn on the new pool, against cos-server: many
   threads submitting at once, each PUT's callback submitting a GET of its
   key, every callback once, on a worker (never a submitting thread), with
   one worker thread and with the default */
static test_server g_srv;
static bool g_have_srv;
#define BUCKET "workers-" TEST_APPID
#define SUBMITTERS 8
#define EACH_SUBMITS 40

typedef struct chain_run {
    cos_client *c;
    pthread_t submitters[SUBMITTERS];
    atomic_int puts, gets, bad, on_submitter;
    pthread_barrier_t start; /* every submitter is known before the first submission */
} chain_run;

typedef struct chain {
    chain_run *run;
    char key[32];
    char body[64];
} chain;

static void chain_check_thread(chain_run *r)
{
    for (int i = 0; i < SUBMITTERS; i++)
        if (pthread_equal(pthread_self(), r->submitters[i])) atomic_fetch_add(&r->on_submitter, 1);
}

static void chain_got(void *ud, int rc, cos_result *res, cos_error *err)
{
    chain *k = ud;
    chain_check_thread(k->run);
    if (rc || !res || res->body_size != strlen(k->body) || memcmp(res->body, k->body, res->body_size) != 0)
        atomic_fetch_add(&k->run->bad, 1);
    cos_result_free(res);
    cos_error_free(err);
    atomic_fetch_add(&k->run->gets, 1);
    free(k);
}

static void chain_put(void *ud, int rc, cos_result *res, cos_error *err)
{
    chain *k = ud;
    chain_check_thread(k->run);
    cos_result_free(res);
    cos_error_free(err);
    atomic_fetch_add(&k->run->puts, 1);
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = k->key;
    if (rc || cos_get_object_async(k->run->c, &r, chain_got, k) != 0) { /* the chain ends here: counted */
        atomic_fetch_add(&k->run->bad, 1);
        atomic_fetch_add(&k->run->gets, 1);
        free(k);
    }
}

typedef struct submitter_arg {
    chain_run *run;
    int index;
} submitter_arg;

static void *submit_chains(void *arg)
{
    submitter_arg *a = arg;
    pthread_barrier_wait(&a->run->start);
    for (int i = 0; i < EACH_SUBMITS; i++) {
        chain *k = calloc(1, sizeof *k);
        k->run = a->run;
        snprintf(k->key, sizeof k->key, "chain/%d/%d", a->index, i);
        snprintf(k->body, sizeof k->body, "body of %d/%d", a->index, i);
        cos_request r = COS_REQUEST_INIT;
        r.bucket = BUCKET;
        r.key = k->key;
        r.body.data = k->body;
        r.body.size = strlen(k->body);
        if (cos_put_object_async(a->run->c, &r, chain_put, k) != 0) {
            atomic_fetch_add(&a->run->bad, 1);
            atomic_fetch_add(&a->run->puts, 1);
            atomic_fetch_add(&a->run->gets, 1);
            free(k);
        }
    }
    return NULL;
}

static void chains_with_workers(int worker_threads)
{
    if (!g_have_srv) {
        CHECK(g_have_srv);
        return;
    }
    cos_config cfg;
    test_config(&cfg, &g_srv);
    cfg.worker_threads = worker_threads;
    chain_run run = { 0 };
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&run.c, &cfg, &err), err);
    if (!run.c) return;
    submitter_arg args[SUBMITTERS];
    pthread_barrier_init(&run.start, NULL, SUBMITTERS + 1);
    for (int i = 0; i < SUBMITTERS; i++) {
        args[i] = (submitter_arg){ &run, i };
        CHECK(pthread_create(&run.submitters[i], NULL, submit_chains, &args[i]) == 0);
    }
    pthread_barrier_wait(&run.start);
    for (int i = 0; i < SUBMITTERS; i++) pthread_join(run.submitters[i], NULL);
    CHECK(wait_at_least(&run.gets, SUBMITTERS * EACH_SUBMITS));
    cos_client_free(run.c);
    pthread_barrier_destroy(&run.start);
    CHECK_INT(atomic_load(&run.puts), SUBMITTERS * EACH_SUBMITS);
    CHECK_INT(atomic_load(&run.gets), SUBMITTERS * EACH_SUBMITS);
    CHECK_INT(atomic_load(&run.bad), 0);
    CHECK_INT(atomic_load(&run.on_submitter), 0);
}

static void test_async_chains_one_worker(void) { chains_with_workers(1); }
static void test_async_chains_default_workers(void) { chains_with_workers(0); }

int main(void)
{
    g_have_srv = test_server_start(&g_srv, NULL) == 0;
    if (g_have_srv) test_put_bucket_on(&g_srv, BUCKET);
    test_watch(300, "worker pool", g_have_srv ? &g_srv : NULL);
    RUN(test_every_job_once_with_many_posters);
    RUN(test_held_wakes_reach_every_idle_worker);
    RUN(test_delayed_jobs);
    RUN(test_blocked_worker_gets_a_stand_in);
    RUN(test_async_chains_one_worker);
    RUN(test_async_chains_default_workers);
    test_unwatch();
    if (g_have_srv) test_server_stop(&g_srv, false);
    return test_report();
}

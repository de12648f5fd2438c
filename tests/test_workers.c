/* test_workers.c — the worker pool that runs async completions (engine.c),
 * driven directly: idle workers wait on a semaphore whose posts are tokens
 * (a wake-up counted per idle worker, posted now or at a network thread's
 * flush), so these check what the tokens must keep: every job runs exactly
 * once whoever posts it and however many post at once; wake-ups held for a
 * flush give each idle worker one (jobs that meet on a barrier all run);
 * delayed jobs run when due, at a fire, and at the free; a worker that
 * blocks gets a stand-in. A hang fails by a watchdog (alarm), never by CI's
 * timeout. No server. */
#define _GNU_SOURCE
#include "testlib.h"
#include "engine.h"
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

#define POSTERS 8
#define PER_POSTER 4000

static _Atomic int g_runs[POSTERS * PER_POSTER];
static atomic_int g_ran;

static void count_job(void *arg)
{
    atomic_fetch_add(&g_runs[(intptr_t)arg], 1);
    atomic_fetch_add(&g_ran, 1);
}

typedef struct poster {
    cos_workers *w;
    int first;
    bool hold; /* post as a network thread does: held, flushed every 7 jobs */
} poster;

static void *post_many(void *arg)
{
    poster *p = arg;
    if (p->hold) workers_hold();
    for (int i = 0; i < PER_POSTER; i++) {
        CHECK(workers_post(p->w, count_job, (void *)(intptr_t)(p->first + i)) == 0);
        if (p->hold && i % 7 == 6) workers_flush();
    }
    if (p->hold) workers_flush();
    return NULL;
}

/* Every job of many posters at once, some holding their wake-ups, runs
 * exactly once, on pools of 1, 2 and 5 workers. */
static void test_every_job_once(void)
{
    int sizes[] = { 1, 2, 5 };
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        for (int i = 0; i < POSTERS * PER_POSTER; i++) atomic_store(&g_runs[i], 0);
        atomic_store(&g_ran, 0);
        cos_workers *w = NULL;
        CHECK(workers_new(&w, sizes[s]) == 0);
        pthread_t t[POSTERS];
        poster p[POSTERS];
        for (int i = 0; i < POSTERS; i++) {
            p[i] = (poster){ w, i * PER_POSTER, i % 2 == 1 };
            pthread_create(&t[i], NULL, post_many, &p[i]);
        }
        for (int i = 0; i < POSTERS; i++) pthread_join(t[i], NULL);
        /* workers_free drains the queue: everything has run once it returns */
        workers_free(w);
        CHECK_INT(atomic_load(&g_ran), POSTERS * PER_POSTER);
        int wrong = 0;
        for (int i = 0; i < POSTERS * PER_POSTER; i++) wrong += atomic_load(&g_runs[i]) != 1;
        CHECK_INT(wrong, 0);
    }
}

/* Jobs that wait for each other: each needs a worker of its own at once. */
typedef struct meeting {
    test_latch arrived;
    int n;
} meeting;

static void meet(void *arg)
{
    meeting *m = arg;
    test_latch_add(&m->arrived);
    test_latch_wait(&m->arrived, m->n);
}

static void *post_held(void *arg)
{
    void **a = arg;
    cos_workers *w = a[0];
    meeting *m = a[1];
    workers_hold();
    for (int i = 0; i < m->n; i++) CHECK(workers_post(w, meet, m) == 0);
    workers_flush();
    return NULL;
}

/* Four jobs meeting on a latch, posted held and flushed at once by another
 * thread (a network thread's pass), on a pool of four idle workers: the
 * flush owes each worker its wake-up. Twice: the second round meets
 * workers that have been woken before (no wake-up left over or missing). */
static void test_held_wakes_reach_every_idle_worker(void)
{
    cos_workers *w = NULL;
    CHECK(workers_new(&w, 4) == 0);
    for (int round = 0; round < 2; round++) {
        cos_sleep_ms_for_tests(50); /* (the workers are idle: the round tests wake-ups, not queue pickup) */
        meeting m = { TEST_LATCH_INIT, 4 };
        void *a[2] = { w, &m };
        pthread_t t;
        pthread_create(&t, NULL, post_held, a);
        pthread_join(t, NULL);
        test_latch_wait(&m.arrived, 4);
        workers_free(w); /* waits for the four to return */
        w = NULL;
        if (round == 0) CHECK(workers_new(&w, 4) == 0);
    }
}

static atomic_int g_delayed;
static void delayed_job(void *arg)
{
    (void)arg;
    atomic_fetch_add(&g_delayed, 1);
}

/* Delayed jobs mixed with immediate ones run: the soon ones when due (a
 * worker sleeping without a deadline is woken to take one), the far ones
 * at a fire of the timers, the rest at the free. */
static void test_delayed_jobs(void)
{
    atomic_store(&g_delayed, 0);
    atomic_store(&g_ran, 0);
    cos_workers *w = NULL;
    CHECK(workers_new(&w, 2) == 0);
    for (int i = 0; i < 20; i++) {
        CHECK(workers_post_after(w, 1 + i % 5, delayed_job, NULL) == 0);
        CHECK(workers_post(w, count_job, (void *)(intptr_t)i) == 0);
    }
    while (atomic_load(&g_delayed) < 20) cos_sleep_ms_for_tests(2);
    CHECK(workers_post_after(w, 3600 * 1000, delayed_job, NULL) == 0);
    workers_fire_timers(w);
    while (atomic_load(&g_delayed) < 21) cos_sleep_ms_for_tests(2);
    CHECK(workers_post_after(w, 3600 * 1000, delayed_job, NULL) == 0);
    workers_free(w); /* runs it at once */
    CHECK_INT(atomic_load(&g_delayed), 22);
    CHECK_INT(atomic_load(&g_ran), 20);
}

typedef struct blocker {
    cos_workers *w;
    test_latch second_ran;
} blocker;

static void second(void *arg) { test_latch_add(&((blocker *)arg)->second_ran); }

static void first_blocks(void *arg)
{
    blocker *b = arg;
    CHECK(workers_post(b->w, second, b) == 0);
    workers_block_begin(); /* waiting for libcos: a stand-in takes the queue */
    test_latch_wait(&b->second_ran, 1);
    workers_block_end();
}

/* One worker whose job waits for a job it posted: a stand-in runs that one. */
static void test_blocked_worker_gets_a_stand_in(void)
{
    blocker b = { NULL, TEST_LATCH_INIT };
    CHECK(workers_new(&b.w, 1) == 0);
    CHECK(workers_post(b.w, first_blocks, &b) == 0);
    test_latch_wait(&b.second_ran, 1);
    workers_free(b.w);
}

int main(void)
{
    alarm(120); /* a lost wake-up hangs: fail, do not wait for CI */
    RUN(test_every_job_once);
    RUN(test_held_wakes_reach_every_idle_worker);
    RUN(test_delayed_jobs);
    RUN(test_blocked_worker_gets_a_stand_in);
    return test_report();
}

/* bench.h — what the benchmark programs share: a client config for a
 * cos-server on loopback (development keys), a monotonic clock, and this
 * process's CPU seconds and peak RSS. */
#ifndef COS_BENCH_H
#define COS_BENCH_H
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include "cos/cos.h"
#include "measure.h"

static inline void bench_config(cos_config *cfg, const char *endpoint)
{
    cos_config_init(cfg);
    cfg->region = "ap-guangzhou";
    cfg->protocol = "http:";
    cfg->connect_to = endpoint;
    cfg->secret_id = "AKIDcosLOCALdevelopment0000000000000";
    cfg->secret_key = "cosLOCALdevelopmentSECRETkey00000";
    /* experiments with the client's threads (0 or unset: the defaults) */
    const char *v = getenv("BENCH_NETWORK_THREADS");
    if (v) cfg->network_threads = atoi(v);
    if ((v = getenv("BENCH_WORKER_THREADS"))) cfg->worker_threads = atoi(v);
}

/* CPU seconds (user + system) and peak RSS in MiB so far. */
static inline void bench_usage(double *cpu, long *rss_mib)
{
    bench_usage_t u = bench_usage_now();
    *cpu = u.cpu_s;
    *rss_mib = u.rss_mib;
}
/* A window of async requests: at most `limit` in flight, failures counted. */
typedef struct bench_window {
    pthread_mutex_t m;
    pthread_cond_t cv;
    int in_flight, failed;
} bench_window;
#define BENCH_WINDOW_INIT { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0 }

/* The completion of a request sent through a window (cos_done_fn). */
static inline void bench_window_done(void *ud, int rc, cos_result *res, cos_error *err)
{
    bench_window *w = ud;
    if (rc) fprintf(stderr, "failed: %s\n", cos_error_message(err));
    cos_result_free(res);
    cos_error_free(err);
    pthread_mutex_lock(&w->m);
    w->in_flight--;
    if (rc) w->failed++;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->m);
}

/* Wait until fewer than limit requests are in flight, and count one more. */
static inline void bench_window_enter(bench_window *w, int limit)
{
    pthread_mutex_lock(&w->m);
    while (w->in_flight >= limit) pthread_cond_wait(&w->cv, &w->m);
    w->in_flight++;
    pthread_mutex_unlock(&w->m);
}

/* Wait for every request in flight; the number that failed. */
static inline int bench_window_drain(bench_window *w)
{
    pthread_mutex_lock(&w->m);
    while (w->in_flight > 0) pthread_cond_wait(&w->cv, &w->m);
    pthread_mutex_unlock(&w->m);
    return w->failed;
}
#endif

/* bench_ops.c — request-rate workloads of the benchmark:
 *   bench_ops small   ENDPOINT BUCKET COUNT INFLIGHT  PUT then GET COUNT 4 KiB objects, async calls, INFLIGHT at a time
 *   bench_ops threads ENDPOINT BUCKET COUNT THREADS   the same with synchronous calls on THREADS threads
 *   bench_ops seq     ENDPOINT BUCKET COUNT           the same, one synchronous call at a time (latency percentiles)
 *   bench_ops list    ENDPOINT BUCKET COUNT           create COUNT keys (untimed), then list them all
 *   bench_ops one     ENDPOINT BUCKET COUNT THREADS put|get|head|delete [async]
 *                     one kind of request only, on keys one/NNNNNN (put them first for get,
 *                     head and delete), so a profiler attached to the server sees that kind alone
 * prints "metric value" lines (measure.h: op/s, CPU microseconds and context
 * switches per request, p50/p99) or, for list, "list_s keys cpu_s rss_mib". */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench.h"

/* Run `count` requests (op on key i), `limit` at a time; seconds taken, or -1. */
static double run(cos_client *c, cos_op op, const char *bucket, const char *prefix, int count, int limit,
                  const void *body, size_t size)
{
    bench_window w = BENCH_WINDOW_INIT;
    double t0 = bench_now();
    for (int i = 0; i < count; i++) {
        char key[64];
        snprintf(key, sizeof key, "%s%06d", prefix, i);
        cos_request r = COS_REQUEST_INIT;
        r.bucket = bucket;
        r.key = key;
        r.body.data = body;
        r.body.size = size;
        bench_window_enter(&w, limit);
        if (cos_call_async(c, op, &r, bench_window_done, &w) != 0) return -1;
    }
    return bench_window_drain(&w) ? -1 : bench_now() - t0;
}

/* Synchronous calls: `threads` threads share COUNT requests. */
typedef struct sync_job {
    cos_client *c;
    cos_op op;
    const char *bucket, *prefix;
    int count;
    atomic_int next, failed;
    const void *body;
    size_t size;
    double *lat; /* per-request seconds, when wanted */
} sync_job;

static void *sync_thread(void *arg)
{
    sync_job *j = arg;
    for (;;) {
        int i = atomic_fetch_add(&j->next, 1);
        if (i >= j->count) break;
        char key[64];
        snprintf(key, sizeof key, "%s%06d", j->prefix, i);
        cos_request r = COS_REQUEST_INIT;
        r.bucket = j->bucket;
        r.key = key;
        r.body.data = j->body;
        r.body.size = j->size;
        cos_result *res = NULL;
        cos_error *err = NULL;
        double t0 = j->lat ? bench_now() : 0;
        if (cos_call(j->c, j->op, &r, &res, &err) != 0) {
            fprintf(stderr, "failed: %s\n", cos_error_message(err));
            atomic_fetch_add(&j->failed, 1);
        } else if (j->op == COS_OP_GET_OBJECT && res->body_size != 4096) {
            fprintf(stderr, "GET %s: %zu bytes\n", key, res->body_size);
            atomic_fetch_add(&j->failed, 1);
        }
        if (j->lat) j->lat[i] = bench_now() - t0;
        cos_result_free(res);
        cos_error_free(err);
    }
    return NULL;
}

/* One phase of sync calls, reported as `name` (with percentiles when seq). */
static int sync_phase(cos_client *c, const char *name, cos_op op, const char *bucket, const char *prefix, int count,
                      int threads, const void *body, size_t size)
{
    sync_job j = { c, op, bucket, prefix, count, 0, 0, body, size, NULL };
    if (threads == 1) j.lat = calloc((size_t)count, sizeof *j.lat);
    bench_thread_stats(NULL);
    bench_usage_t u0 = bench_usage_now();
    double t0 = bench_now();
    pthread_t t[256];
    if (threads > 256) threads = 256;
    for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, sync_thread, &j);
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    double secs = bench_now() - t0;
    bench_usage_t u1 = bench_usage_now();
    bench_thread_stats(name);
    if (j.failed) return -1;
    bench_report(name, count, secs, u0, u1);
    if (j.lat) {
        bench_dump_latencies(name, j.lat, count);
        printf("%s_p50_us %.1f\n", name, bench_percentile(j.lat, count, 50) * 1e6);
        printf("%s_p99_us %.1f\n", name, bench_percentile(j.lat, count, 99) * 1e6);
        free(j.lat);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: bench_ops small|list ENDPOINT BUCKET COUNT [INFLIGHT]\n");
        return 2;
    }
    cos_config cfg;
    bench_config(&cfg, argv[2]);
    cos_client *c = NULL;
    if (cos_client_new(&c, &cfg, NULL)) return 1;
    int count = atoi(argv[4]);
    double cpu;
    long rss;
    int rc = 0;
    static char body[4096];
    memset(body, 'x', sizeof body);
    if (!strcmp(argv[1], "small")) {
        int limit = argc > 5 ? atoi(argv[5]) : 16;
        bench_thread_stats(NULL);
        bench_usage_t u0 = bench_usage_now();
        double put = run(c, COS_OP_PUT_OBJECT, argv[3], "small/", count, limit, body, sizeof body);
        bench_usage_t u1 = bench_usage_now();
        bench_thread_stats("put");
        double get = put < 0 ? -1 : run(c, COS_OP_GET_OBJECT, argv[3], "small/", count, limit, NULL, 0);
        bench_usage_t u2 = bench_usage_now();
        bench_thread_stats("get");
        if (put < 0 || get < 0) rc = 1;
        else {
            bench_report("put", count, put, u0, u1);
            bench_report("get", count, get, u1, u2);
            printf("cpu_s %.2f\nrss_mib %ld\n", u2.cpu_s, u2.rss_mib);
        }
    } else if (!strcmp(argv[1], "threads") || !strcmp(argv[1], "seq")) {
        bool seq = !strcmp(argv[1], "seq");
        int threads = seq ? 1 : argc > 5 ? atoi(argv[5]) : 16;
        const char *prefix = seq ? "seq/" : "threads/";
        if (sync_phase(c, seq ? "seq_put" : "put", COS_OP_PUT_OBJECT, argv[3], prefix, count, threads, body, sizeof body) ||
            sync_phase(c, seq ? "seq_get" : "get", COS_OP_GET_OBJECT, argv[3], prefix, count, threads, NULL, 0))
            rc = 1;
    } else if (!strcmp(argv[1], "one") && argc > 6) {
        cos_op op = !strcmp(argv[6], "put")      ? COS_OP_PUT_OBJECT
                    : !strcmp(argv[6], "get")    ? COS_OP_GET_OBJECT
                    : !strcmp(argv[6], "delete") ? COS_OP_DELETE_OBJECT
                                                 : COS_OP_HEAD_OBJECT;
        bool put = op == COS_OP_PUT_OBJECT;
        int n = atoi(argv[5]);
        if (argc > 7 && !strcmp(argv[7], "async")) {
            bench_usage_t u0 = bench_usage_now();
            double secs = run(c, op, argv[3], "one/", count, n, put ? body : NULL, put ? sizeof body : 0);
            bench_usage_t u1 = bench_usage_now();
            if (secs < 0) rc = 1;
            else bench_report(argv[6], count, secs, u0, u1);
        } else if (sync_phase(c, argv[6], op, argv[3], "one/", count, n, put ? body : NULL, put ? sizeof body : 0))
            rc = 1;
    } else {
        if (run(c, COS_OP_PUT_OBJECT, argv[3], "list/", count, 16, "", 0) < 0) return 1;
        cos_request r = COS_REQUEST_INIT;
        r.bucket = argv[3];
        r.prefix = "list/";
        r.max_keys = 1000;
        double t0 = bench_now();
        cos_object_iter *it = NULL;
        const cos_object_summary *o;
        int n = 0;
        if (cos_object_iter_new(&it, c, &r, NULL)) return 1;
        while ((rc = cos_object_iter_next(it, &o, NULL)) == 1) n++;
        cos_object_iter_free(it);
        double secs = bench_now() - t0;
        bench_usage(&cpu, &rss);
        if (rc < 0 || n != count) rc = 1;
        else printf("%.3f %d %.2f %ld\n", secs, n, cpu, rss);
    }
    cos_client_free(c);
    return rc;
}

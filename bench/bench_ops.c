/* bench_ops.c — request-rate workloads of the benchmark, with libcos's async API:
 *   bench_ops small ENDPOINT BUCKET COUNT INFLIGHT   PUT then GET COUNT 4 KiB objects
 *   bench_ops list  ENDPOINT BUCKET COUNT            create COUNT keys (untimed), then list them all
 * prints "put_ops_s get_ops_s cpu_s rss_mib" or "list_s keys cpu_s rss_mib". */
#define _GNU_SOURCE
#include <pthread.h>
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
    if (!strcmp(argv[1], "small")) {
        int limit = argc > 5 ? atoi(argv[5]) : 16;
        static char body[4096];
        memset(body, 'x', sizeof body);
        double put = run(c, COS_OP_PUT_OBJECT, argv[3], "small/", count, limit, body, sizeof body);
        double get = put < 0 ? -1 : run(c, COS_OP_GET_OBJECT, argv[3], "small/", count, limit, NULL, 0);
        bench_usage(&cpu, &rss);
        if (put < 0 || get < 0) rc = 1;
        else printf("%.0f %.0f %.2f %ld\n", count / put, count / get, cpu, rss);
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

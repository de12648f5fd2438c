/* bench_scale.c — the store at scale, through the API only (issue #15):
 *   bench_scale fill    ENDPOINT BUCKET FROM TO INFLIGHT
 *       PUT keys FROM..TO-1 (empty bodies), INFLIGHT at a time; prints "ops_s"
 *   bench_scale measure ENDPOINT BUCKET N [LISTERS]
 *       with the bucket holding keys 0..N-1: 1,000-key pages at the start,
 *       middle and end; delimiter listings; then HEAD / GET / PUT latency
 *       idle and while LISTERS threads (default 4) list pages nonstop.
 *       Prints "name milliseconds" lines (medians; p99 for latencies).
 * Key i is "k/dDD/IIIIIIII" with DD = i % 100: a hundred "directories",
 * so a delimiter listing of "k/" rolls N keys up into 100 prefixes. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench.h"

#define DIRS 100

static void key_of(long i, char *out, size_t n) { snprintf(out, n, "k/d%02ld/%08ld", i % DIRS, i); }

static int fill(cos_client *c, const char *bucket, long from, long to, int limit)
{
    bench_window w = BENCH_WINDOW_INIT;
    double t0 = bench_now();
    for (long i = from; i < to && !w.failed; i++) {
        char key[64];
        key_of(i, key, sizeof key);
        cos_request r = COS_REQUEST_INIT;
        r.bucket = bucket;
        r.key = key;
        r.body.data = "";
        r.body.size = 0;
        bench_window_enter(&w, limit);
        if (cos_call_async(c, COS_OP_PUT_OBJECT, &r, bench_window_done, &w) != 0) return 1;
    }
    if (bench_window_drain(&w)) return 1;
    printf("%.0f\n", (double)(to - from) / (bench_now() - t0));
    return 0;
}

/* One listing; its time in ms, or -1. *n gets the entries it returned. */
static double list_once(cos_client *c, const char *bucket, const char *prefix, const char *delim, const char *marker,
                        size_t *n)
{
    cos_request r = COS_REQUEST_INIT;
    r.bucket = bucket;
    r.prefix = prefix;
    r.delimiter = delim;
    r.marker = marker;
    r.max_keys = 1000;
    cos_result *res = NULL;
    cos_error *err = NULL;
    double t0 = bench_now();
    int rc = cos_call(c, COS_OP_GET_BUCKET, &r, &res, &err);
    double ms = (bench_now() - t0) * 1000;
    if (rc) {
        fprintf(stderr, "list failed: %s\n", cos_error_message(err));
        cos_error_free(err);
        return -1;
    }
    if (n) *n = res->output.list_objects->contents_count + res->output.list_objects->common_prefixes_count;
    cos_result_free(res);
    return ms;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    int i = (int)(p * (n - 1) + 0.5);
    return v[i];
}

/* Median of `reps` listings; -1 if one failed or returned fewer than `want` entries. */
static double list_median(cos_client *c, const char *bucket, const char *prefix, const char *delim, const char *marker,
                          size_t want, int reps)
{
    double v[64];
    for (int i = 0; i < reps; i++) {
        size_t n = 0;
        v[i] = list_once(c, bucket, prefix, delim, marker, &n);
        if (v[i] < 0 || n < want) {
            fprintf(stderr, "listing %s|%s|%s returned %zu entries, wanted %zu\n", prefix ? prefix : "",
                    delim ? delim : "", marker ? marker : "", n, want);
            return -1;
        }
    }
    return pct(v, reps, 0.5);
}

typedef struct lister {
    pthread_t t;
    cos_config cfg;
    const char *bucket;
    long n;
    atomic_bool *stop;
    atomic_long *pages;
    unsigned seed;
} lister;

/* Pages at random depths, nonstop, on its own client. */
static void *lister_main(void *arg)
{
    lister *l = arg;
    cos_client *c = NULL;
    if (cos_client_new(&c, &l->cfg, NULL)) return NULL;
    while (!atomic_load(l->stop)) {
        char marker[64];
        key_of(rand_r(&l->seed) % l->n, marker, sizeof marker);
        if (list_once(c, l->bucket, NULL, NULL, marker, NULL) >= 0) atomic_fetch_add(l->pages, 1);
    }
    cos_client_free(c);
    return NULL;
}

/* REPS sequential requests of op; median and p99 in ms. */
static int latency(cos_client *c, cos_op op, const char *bucket, long n, int reps, double *med, double *p99)
{
    double *v = calloc((size_t)reps, sizeof *v);
    unsigned seed = 7;
    for (int i = 0; i < reps; i++) {
        char key[64];
        if (op == COS_OP_PUT_OBJECT) snprintf(key, sizeof key, "lat/%06d", i); /* keys outside the listed range */
        else key_of(rand_r(&seed) % n, key, sizeof key);
        cos_request r = COS_REQUEST_INIT;
        r.bucket = bucket;
        r.key = key;
        r.body.data = "x";
        r.body.size = op == COS_OP_PUT_OBJECT ? 1 : 0;
        cos_result *res = NULL;
        cos_error *err = NULL;
        double t0 = bench_now();
        int rc = cos_call(c, op, &r, &res, &err);
        v[i] = (bench_now() - t0) * 1000;
        cos_result_free(res);
        if (rc) {
            fprintf(stderr, "%s %s failed: %s\n", cos_op_name(op), key, cos_error_message(err));
            cos_error_free(err);
            free(v);
            return -1;
        }
    }
    *med = pct(v, reps, 0.5);
    *p99 = pct(v, reps, 0.99);
    free(v);
    return 0;
}

static int latencies(cos_client *c, const char *bucket, long n, const char *tag, int reps)
{
    static const struct { cos_op op; const char *name; } OPS[] = {
        { COS_OP_HEAD_OBJECT, "head" }, { COS_OP_GET_OBJECT, "get" }, { COS_OP_PUT_OBJECT, "put" } };
    for (size_t i = 0; i < sizeof OPS / sizeof *OPS; i++) {
        double med, p99;
        if (latency(c, OPS[i].op, bucket, n, reps, &med, &p99)) return 1;
        printf("%s_%s_ms %.2f\n%s_%s_p99_ms %.2f\n", OPS[i].name, tag, med, OPS[i].name, tag, p99);
    }
    return 0;
}

static int measure(cos_client *c, const cos_config *cfg, const char *bucket, long n, int nlisters)
{
    char marker[64], prefix[32];
    key_of(DIRS / 2, marker, sizeof marker);                  /* the first key of the middle directory */
    marker[strlen(marker) - 8] = '\0';                        /* "k/d50/": just before it */
    long per_dir = n / DIRS;
    double v;
    const int reps = 7;
    if ((v = list_median(c, bucket, NULL, NULL, NULL, 1000, reps)) < 0) return 1;
    printf("page_start_ms %.2f\n", v);
    /* after "k/d50/" come the keys of directories 50..99 only: fewer than a page below 2,000 keys
       (the listing is right to return them all untruncated; wanting 1,000 stopped the run at 1,000 keys) */
    long after_middle = n / DIRS * (DIRS - DIRS / 2) + (n % DIRS > DIRS / 2 ? n % DIRS - DIRS / 2 : 0);
    if ((v = list_median(c, bucket, NULL, NULL, marker, after_middle < 1000 ? (size_t)after_middle : 1000, reps)) < 0)
        return 1;
    printf("page_middle_ms %.2f\n", v);
    char end_marker[64]; /* 1,000 keys before the end */
    if (per_dir > 1000) key_of(DIRS - 1 + (long)DIRS * (per_dir - 1001), end_marker, sizeof end_marker);
    else snprintf(end_marker, sizeof end_marker, "k/d%02ld/", DIRS - (1000 + per_dir - 1) / (per_dir ? per_dir : 1));
    if ((v = list_median(c, bucket, NULL, NULL, end_marker, n >= 1000 ? 1000 : 1, reps)) < 0) return 1;
    printf("page_end_ms %.2f\n", v);
    /* N keys roll up into DIRS common prefixes: the listing must skip, not walk */
    if ((v = list_median(c, bucket, "k/", "/", NULL, DIRS, reps)) < 0) return 1;
    printf("delimiter_root_ms %.2f\n", v);
    snprintf(prefix, sizeof prefix, "k/d%02d/", DIRS / 2);
    if ((v = list_median(c, bucket, prefix, "/", NULL, per_dir > 1000 ? 1000 : (size_t)per_dir, reps)) < 0) return 1;
    printf("delimiter_dir_ms %.2f\n", v);
    if (latencies(c, bucket, n, "idle", 200)) return 1;
    atomic_bool stop = false;
    atomic_long pages = 0;
    lister *ls = calloc((size_t)nlisters, sizeof *ls);
    for (int i = 0; i < nlisters; i++) {
        ls[i] = (lister){ .cfg = *cfg, .bucket = bucket, .n = n, .stop = &stop, .pages = &pages, .seed = (unsigned)i + 1 };
        pthread_create(&ls[i].t, NULL, lister_main, &ls[i]);
    }
    double t0 = bench_now();
    int rc = latencies(c, bucket, n, "listing", 60); /* behind a slow store each can take seconds */
    double secs = bench_now() - t0;
    atomic_store(&stop, true);
    for (int i = 0; i < nlisters; i++) pthread_join(ls[i].t, NULL);
    free(ls);
    printf("listing_pages_s %.1f\n", (double)atomic_load(&pages) / secs);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: bench_scale fill ENDPOINT BUCKET FROM TO INFLIGHT\n"
                        "       bench_scale measure ENDPOINT BUCKET N [LISTERS]\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0); /* figures appear as they are measured */
    cos_config cfg;
    bench_config(&cfg, argv[2]);
    cfg.max_retries = -1; /* a failure is reported, not hidden by retries */
    cos_client *c = NULL;
    if (cos_client_new(&c, &cfg, NULL)) return 1;
    int rc;
    if (!strcmp(argv[1], "fill") && argc >= 7)
        rc = fill(c, argv[3], atol(argv[4]), atol(argv[5]), atoi(argv[6]));
    else if (!strcmp(argv[1], "measure"))
        rc = measure(c, &cfg, argv[3], atol(argv[4]), argc > 5 ? atoi(argv[5]) : 4);
    else
        rc = 2;
    cos_client_free(c);
    return rc;
}

/* measure.h — what every benchmark program measures the same way, whatever
 * SDK it drives (no SDK header here: cos-c-sdk-v5's names clash with ours):
 * a monotonic clock, the process's CPU time, context switches and peak RSS
 * (getrusage: all threads), latency percentiles, and a tree of files. */
#ifndef COS_BENCH_MEASURE_H
#define COS_BENCH_MEASURE_H
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

static inline double bench_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The process so far: CPU seconds (user + system), context switches
 * (voluntary + involuntary), peak RSS in MiB. */
typedef struct bench_usage_t {
    double cpu_s;
    double sys_s; /* of cpu_s, in the kernel */
    long ctxsw;
    long rss_mib;
    long vctxsw; /* of ctxsw, voluntary (waits): the program's own, where involuntary ones come from the load */
} bench_usage_t;

static inline bench_usage_t bench_usage_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    bench_usage_t u = { (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
                            (double)ru.ru_stime.tv_usec / 1e6,
                        (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6, ru.ru_nvcsw + ru.ru_nivcsw,
                        ru.ru_maxrss / 1024, ru.ru_nvcsw };
    return u;
}

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The p-th percentile (0..100) of n samples (sorted in place). */
static inline double bench_percentile(double *v, int n, double p)
{
    if (n <= 0) return 0;
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    int i = (int)(p / 100.0 * (n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

/* Per-request latencies in the order they were taken, appended to the file
 * $BENCH_LAT_OUT as "name index microseconds" lines when it is set (tails:
 * histograms of two SDKs from one run, and whether slow requests recur
 * every Nth one). Call before bench_percentile, which sorts. */
static inline void bench_dump_latencies(const char *name, const double *v, int n)
{
    const char *path = getenv("BENCH_LAT_OUT");
    FILE *f = path && *path ? fopen(path, "a") : NULL;
    if (!f) return;
    for (int i = 0; i < n; i++) fprintf(f, "%s %d %.1f\n", name, i, v[i] * 1e6);
    fclose(f);
}

/* One phase of a workload: requests, seconds, and the process's CPU and
 * context switches over it, printed as "name_metric value" lines. */
static inline void bench_report(const char *name, int requests, double secs, bench_usage_t before, bench_usage_t after)
{
    printf("%s_ops_s %.1f\n", name, requests / secs);
    printf("%s_cpu_us %.1f\n", name, (after.cpu_s - before.cpu_s) * 1e6 / requests);
    printf("%s_sys_us %.1f\n", name, (after.sys_s - before.sys_s) * 1e6 / requests);
    printf("%s_ctxsw %.2f\n", name, (double)(after.ctxsw - before.ctxsw) / requests);
    printf("%s_vctxsw %.2f\n", name, (double)(after.vctxsw - before.vctxsw) / requests);
}

/* Each thread of this process (BENCH_THREADS=1): the time it ran and the
 * time it waited, runnable, for a core (the kernel's schedstat), in ms
 * since the last call, one line per thread in the order they were made.
 * A thread that waits for a core as long as it runs is where a pipeline of
 * threads backs up. */
static inline void bench_thread_stats(const char *name)
{
    static struct { long tid; unsigned long long run, wait, slices; } prev[256];
    static int nprev;
    if (!getenv("BENCH_THREADS")) return;
    DIR *d = opendir("/proc/self/task");
    if (!d) return;
    long tids[256];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 256)
        if (e->d_name[0] != '.') tids[n++] = atol(e->d_name);
    closedir(d);
    for (int i = 1; i < n; i++) /* creation order: ids grow */
        for (int j = i; j > 0 && tids[j - 1] > tids[j]; j--) {
            long t = tids[j];
            tids[j] = tids[j - 1];
            tids[j - 1] = t;
        }
    for (int i = 0; i < n; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/task/%ld/schedstat", tids[i]);
        FILE *f = fopen(path, "r");
        unsigned long long run = 0, wait = 0, slices = 0;
        if (!f) continue;
        if (fscanf(f, "%llu %llu %llu", &run, &wait, &slices) != 3) run = wait = slices = 0;
        fclose(f);
        int k = 0;
        while (k < nprev && prev[k].tid != tids[i]) k++;
        unsigned long long r0 = k < nprev ? prev[k].run : 0, w0 = k < nprev ? prev[k].wait : 0,
                           s0 = k < nprev ? prev[k].slices : 0;
        if (k == nprev && nprev < 256) nprev++;
        prev[k].tid = tids[i];
        prev[k].run = run;
        prev[k].wait = wait;
        prev[k].slices = slices;
        if (name && run - r0 > 1000000)
            fprintf(stderr, "%s thread %d: run %.1f ms, runnable-waiting %.1f ms, %llu slices\n", name, i,
                    (double)(run - r0) / 1e6, (double)(wait - w0) / 1e6, slices - s0);
    }
}

/* Every regular file under dir (paths relative to it), appended to *list. */
typedef struct bench_files {
    char **rel;
    size_t count, cap;
    unsigned long long bytes;
} bench_files;

static inline int bench_files_scan(bench_files *f, const char *root, const char *sub)
{
    char path[4096];
    int n = snprintf(path, sizeof path, "%s%s%s", root, *sub ? "/" : "", sub);
    if (n < 0 || (size_t)n >= sizeof path) return -1; /* too deep for this walker */
    DIR *d = opendir(path);
    if (!d) return -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char rel[4096], full[8192];
        int rn = snprintf(rel, sizeof rel, "%s%s%s", sub, *sub ? "/" : "", e->d_name);
        int fn = snprintf(full, sizeof full, "%s/%s", root, rel);
        if (rn < 0 || (size_t)rn >= sizeof rel || fn < 0 || (size_t)fn >= sizeof full) {
            closedir(d);
            return -1;
        }
        struct stat st;
        if (stat(full, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            if (bench_files_scan(f, root, rel) != 0) {
                closedir(d);
                return -1;
            }
        } else if (S_ISREG(st.st_mode)) {
            if (f->count == f->cap) {
                f->cap = f->cap ? f->cap * 2 : 1024;
                f->rel = realloc(f->rel, f->cap * sizeof *f->rel);
                if (!f->rel) return -1;
            }
            f->rel[f->count++] = strdup(rel);
            f->bytes += (unsigned long long)st.st_size;
        }
    }
    closedir(d);
    return 0;
}
#endif

/* csdk_bench.c — the benchmark's workloads with the official C SDK
 * (cos-c-sdk-v5), written against its public API the way its demo uses it:
 * a memory pool and request options per call, one global curl handle pool.
 * bench/run.sh compiles it against a checkout built outside this tree
 * (COS_C_SDK_DIR=... or --c-sdk DIR); nothing of that SDK is part of cos-c.
 *
 *   csdk_bench seq   ENDPOINT BUCKET COUNT          COUNT 4 KiB PUTs, then GETs, one at a time
 *   csdk_bench small ENDPOINT BUCKET COUNT THREADS  the same, THREADS threads at once (its way of 16 in flight)
 *   csdk_bench up|down ENDPOINT BUCKET KEY FILE PART_MIB THREADS   resumable upload / download
 *   csdk_bench files ENDPOINT BUCKET DIR THREADS    every file under DIR, cos_put_object_from_file in THREADS threads
 *
 * Requests reach cos-server the way scripts/sdk-suites.sh sends the SDK's own
 * suite there: the real host name (BUCKET.cos.REGION.myqcloud.com) through
 * http_proxy=ENDPOINT, which cos-server accepts. Prints "metric value" lines
 * (measure.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cos_api.h"
#include "cos_http_io.h"
#include "cos_log.h"
#include "../measure.h"

static const char *g_bucket;
static char g_body[4096];

static cos_request_options_t *options_new(cos_pool_t *p)
{
    cos_request_options_t *o = cos_request_options_create(p);
    o->config = cos_config_create(p);
    cos_str_set(&o->config->endpoint, "cos.ap-guangzhou.myqcloud.com");
    cos_str_set(&o->config->access_key_id, "AKIDcosLOCALdevelopment0000000000000");
    cos_str_set(&o->config->access_key_secret, "cosLOCALdevelopmentSECRETkey00000");
    cos_str_set(&o->config->appid, "1250000000");
    o->config->is_cname = 0;
    o->ctl = cos_http_controller_create(p, 0);
    return o;
}

static int fail(cos_status_t *s, const char *what)
{
    fprintf(stderr, "csdk_bench: %s failed: %d %s %s\n", what, s ? s->code : -1, s && s->error_code ? s->error_code : "",
            s && s->error_msg ? s->error_msg : "");
    return -1;
}

/* One 4 KiB PUT or GET of key, as a program would make it. */
static int one(int put, const char *key)
{
    cos_pool_t *p = NULL;
    cos_pool_create(&p, NULL);
    cos_request_options_t *o = options_new(p);
    cos_string_t bucket, object;
    cos_str_set(&bucket, g_bucket);
    cos_str_set(&object, key);
    cos_table_t *resp_headers = NULL;
    cos_list_t buffer;
    cos_list_init(&buffer);
    cos_status_t *s;
    int rc = 0;
    if (put) {
        cos_buf_t *content = cos_buf_pack(p, g_body, sizeof g_body);
        cos_list_add_tail(&content->node, &buffer);
        s = cos_put_object_from_buffer(o, &bucket, &object, &buffer, NULL, &resp_headers);
    } else {
        s = cos_get_object_to_buffer(o, &bucket, &object, NULL, NULL, &buffer, &resp_headers);
        if (cos_status_is_ok(s) && cos_buf_list_len(&buffer) != (int64_t)sizeof g_body) {
            fprintf(stderr, "csdk_bench: GET %s: %lld bytes\n", key, (long long)cos_buf_list_len(&buffer));
            rc = -1;
        }
    }
    if (!cos_status_is_ok(s)) rc = fail(s, put ? "PUT" : "GET");
    cos_pool_destroy(p);
    return rc;
}

/* ------------------------------------------------------------------ seq / small */

typedef struct job {
    int put, count;
    atomic_int next;
    atomic_int failed;
    const char *prefix;
    double *lat; /* seq: per-request seconds */
} job;

static void *small_thread(void *arg)
{
    job *j = arg;
    for (;;) {
        int i = atomic_fetch_add(&j->next, 1);
        if (i >= j->count) break;
        char key[64];
        snprintf(key, sizeof key, "%s%06d", j->prefix, i);
        double t0 = j->lat ? bench_now() : 0;
        if (one(j->put, key) != 0) atomic_fetch_add(&j->failed, 1);
        if (j->lat) j->lat[i] = bench_now() - t0;
    }
    return NULL;
}

/* Run fn(arg) on `threads` threads (at most 256) and wait: the seconds it
 * took, with the process's usage before and after. */
static double run_threads(void *(*fn)(void *), void *arg, int threads, bench_usage_t *u0, bench_usage_t *u1)
{
    pthread_t t[256];
    if (threads > 256) threads = 256;
    *u0 = bench_usage_now();
    double t0 = bench_now();
    for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, fn, arg);
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    double secs = bench_now() - t0;
    *u1 = bench_usage_now();
    return secs;
}

/* Run count PUTs or GETs on `threads` threads; reports them as `name`. */
static int phase(const char *name, int put, int count, int threads, int latencies)
{
    job j = { put, count, 0, 0, latencies ? "cseq/" : "csmall/", NULL };
    if (latencies) j.lat = calloc((size_t)count, sizeof *j.lat);
    bench_usage_t u0, u1;
    double secs = run_threads(small_thread, &j, threads, &u0, &u1);
    if (j.failed) return -1;
    bench_report(name, count, secs, u0, u1);
    if (latencies) {
        bench_dump_latencies(name, j.lat, count);
        printf("%s_p50_us %.1f\n", name, bench_percentile(j.lat, count, 50) * 1e6);
        printf("%s_p99_us %.1f\n", name, bench_percentile(j.lat, count, 99) * 1e6);
        free(j.lat);
    }
    return 0;
}

/* ------------------------------------------------------------------ files */

typedef struct files_job {
    bench_files f;
    const char *dir;
    atomic_size_t next;
    atomic_int failed;
} files_job;

static void *files_thread(void *arg)
{
    files_job *j = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&j->next, 1);
        if (i >= j->f.count) break;
        char path[8192], key[4200];
        snprintf(path, sizeof path, "%s/%s", j->dir, j->f.rel[i]);
        snprintf(key, sizeof key, "cfiles/%s", j->f.rel[i]);
        cos_pool_t *p = NULL;
        cos_pool_create(&p, NULL);
        cos_request_options_t *o = options_new(p);
        cos_string_t bucket, object, file;
        cos_str_set(&bucket, g_bucket);
        cos_str_set(&object, key);
        cos_str_set(&file, path);
        cos_table_t *resp_headers = NULL;
        cos_status_t *s = cos_put_object_from_file(o, &bucket, &object, &file, NULL, &resp_headers);
        if (!cos_status_is_ok(s)) {
            fail(s, "PUT from file");
            atomic_fetch_add(&j->failed, 1);
        }
        cos_pool_destroy(p);
    }
    return NULL;
}

static int files(const char *dir, int threads)
{
    files_job j = { { 0 }, dir, 0, 0 };
    if (bench_files_scan(&j.f, dir, "") != 0 || j.f.count == 0) {
        fprintf(stderr, "csdk_bench: no files under %s\n", dir);
        return -1;
    }
    bench_usage_t u0, u1;
    double secs = run_threads(files_thread, &j, threads, &u0, &u1);
    if (j.failed) return -1;
    printf("files_s %.1f\nfiles_mb_s %.1f\nfiles_cpu_s %.2f\nfiles_rss_mib %ld\nfiles_ctxsw %.2f\n", j.f.count / secs,
           (double)j.f.bytes / secs / 1e6, u1.cpu_s - u0.cpu_s, u1.rss_mib, (double)(u1.ctxsw - u0.ctxsw) / (double)j.f.count);
    return 0;
}

/* ------------------------------------------------------------------ big file */

static int transfer(int up, const char *key, const char *path, int part_mib, int threads)
{
    cos_pool_t *p = NULL;
    cos_pool_create(&p, NULL);
    cos_request_options_t *o = options_new(p);
    cos_string_t bucket, object, file;
    cos_str_set(&bucket, g_bucket);
    cos_str_set(&object, key);
    cos_str_set(&file, path);
    cos_resumable_clt_params_t *clt = cos_create_resumable_clt_params_content(p, (int64_t)part_mib << 20, threads, COS_FALSE, NULL);
    bench_usage_t u0 = bench_usage_now();
    double t0 = bench_now();
    cos_status_t *s;
    if (up) {
        cos_table_t *resp_headers = NULL;
        s = cos_resumable_upload_file(o, &bucket, &object, &file, NULL, NULL, clt, NULL, &resp_headers, NULL);
    } else {
        s = cos_resumable_download_file(o, &bucket, &object, &file, NULL, NULL, clt, NULL);
    }
    double secs = bench_now() - t0;
    bench_usage_t u1 = bench_usage_now();
    int rc = 0;
    if (!cos_status_is_ok(s)) rc = fail(s, up ? "resumable upload" : "resumable download");
    cos_pool_destroy(p);
    if (rc) return rc;
    struct stat st;
    if (stat(path, &st) != 0) return -1;
    /* the same first line as bench_transfer: "MB/s seconds ..." */
    printf("%.1f MB/s %.2f s cpu %.2f s rss %ld MiB\n", (double)st.st_size / secs / 1e6, secs, u1.cpu_s - u0.cpu_s, u1.rss_mib);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: csdk_bench seq|small|up|down|files ENDPOINT BUCKET ...\n");
        return 2;
    }
    char proxy[300];
    snprintf(proxy, sizeof proxy, "http://%s", argv[2]);
    setenv("http_proxy", proxy, 1);
    setenv("HTTP_PROXY", proxy, 1);
    unsetenv("no_proxy");
    unsetenv("NO_PROXY");
    g_bucket = argv[3];
    memset(g_body, 'x', sizeof g_body);
    if (cos_http_io_initialize(NULL, 0) != COSE_OK) return 1;
    cos_log_set_level(COS_LOG_ERROR);
    int rc = 0;
    const char *mode = argv[1];
    if (!strcmp(mode, "seq") || !strcmp(mode, "small")) {
        int count = atoi(argv[4]);
        int threads = !strcmp(mode, "seq") ? 1 : argc > 5 ? atoi(argv[5]) : 16;
        int lat = !strcmp(mode, "seq");
        rc = phase(lat ? "seq_put" : "put", 1, count, threads, lat) || phase(lat ? "seq_get" : "get", 0, count, threads, lat);
    } else if ((!strcmp(mode, "up") || !strcmp(mode, "down")) && argc > 7) {
        rc = transfer(!strcmp(mode, "up"), argv[4], argv[5], atoi(argv[6]), atoi(argv[7]));
    } else if (!strcmp(mode, "files")) {
        rc = files(argv[4], argc > 5 ? atoi(argv[5]) : 16);
    } else {
        fprintf(stderr, "csdk_bench: unknown mode %s\n", mode);
        rc = 2;
    }
    cos_http_io_deinitialize();
    return rc ? 1 : 0;
}

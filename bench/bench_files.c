/* bench_files.c — the many-files workload with libcos's uploadFiles:
 *   bench_files ENDPOINT BUCKET DIR [PARALLEL]
 * every regular file under DIR (key files/RELATIVE_PATH), FileParallelLimit
 * PARALLEL (default 16, the threads cos-c-sdk-v5's side gets); prints
 * "metric value" lines: files/s, MB/s, CPU seconds, peak RSS, context
 * switches per file (measure.h). BENCH_SIMPLE_UPLOAD=put: putObject, not
 * the default postObject, for the files up to SliceSize.
 *   bench_files gen DIR COUNT
 * writes the tree: COUNT files in 100 directories, sizes 4 KiB to 1 MiB,
 * log-uniform (as many files of 4-8 KiB as of 512 KiB-1 MiB), random bytes,
 * the same tree every time. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include "bench.h"

static uint64_t rng_state = 0x2101;
static uint64_t rng(void) /* xorshift64*: the same tree on every machine */
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

static int gen(const char *dir, int count)
{
    enum { LO = 4096, HI = 1 << 20 };
    unsigned char *blob = malloc(HI);
    if (!blob || mkdir(dir, 0755) != 0) return 1;
    for (size_t i = 0; i < HI; i += 8) {
        uint64_t r = rng();
        memcpy(blob + i, &r, 8);
    }
    for (int i = 0; i < count; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/d%02d", dir, i % 100);
        if (i < 100 && mkdir(path, 0755) != 0) return 1;
        double u = (double)(rng() >> 11) / 9007199254740992.0;
        size_t size = (size_t)exp(log((double)LO) + u * (log((double)HI) - log((double)LO)));
        size_t off = (size_t)(rng() % (HI - size + 1));
        snprintf(path, sizeof path, "%s/d%02d/f%05d.bin", dir, i % 100, i);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(blob + off, 1, size, f) != size || fclose(f) != 0) return 1;
    }
    free(blob);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "gen")) return gen(argv[2], atoi(argv[3]));
    if (argc < 4) {
        fprintf(stderr, "usage: bench_files ENDPOINT BUCKET DIR [PARALLEL]\n");
        return 2;
    }
    cos_config cfg;
    bench_config(&cfg, argv[1]);
    cfg.file_parallel_limit = argc > 4 ? atoi(argv[4]) : 16;
    /* BENCH_SIMPLE_UPLOAD=put: putObject for the files up to SliceSize, as
       the C and Node.js SDKs and `cos cp` do (the default is postObject, the
       Mini Program SDK's) */
    const char *how = getenv("BENCH_SIMPLE_UPLOAD");
    if (how && !strcmp(how, "put")) cfg.simple_upload_method = COS_SIMPLE_UPLOAD_PUT;
    bench_files f = { 0 };
    if (bench_files_scan(&f, argv[3], "") != 0 || f.count == 0) {
        fprintf(stderr, "bench_files: no files under %s\n", argv[3]);
        return 1;
    }
    cos_transfer_params *tp = calloc(f.count, sizeof *tp);
    char **paths = calloc(f.count, sizeof *paths), **keys = calloc(f.count, sizeof *keys);
    if (!tp || !paths || !keys) return 1;
    for (size_t i = 0; i < f.count; i++) {
        if (asprintf(&paths[i], "%s/%s", argv[3], f.rel[i]) < 0 || asprintf(&keys[i], "files/%s", f.rel[i]) < 0) return 1;
        cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
        p.bucket = argv[2];
        p.key = keys[i];
        p.file_path = paths[i];
        p.no_resume = true;
        tp[i] = p;
    }
    cos_client *c = NULL;
    cos_error *err = NULL;
    if (cos_client_new(&c, &cfg, &err)) return 1;
    cos_upload_files_params up = COS_UPLOAD_FILES_PARAMS_INIT;
    up.files = tp;
    up.file_count = f.count;
    bench_usage_t u0 = bench_usage_now();
    double t0 = bench_now();
    int rc = cos_upload_files(c, &up, &err);
    double secs = bench_now() - t0;
    bench_usage_t u1 = bench_usage_now();
    if (rc) {
        fprintf(stderr, "bench_files: %s\n", cos_error_message(err));
        return 1;
    }
    printf("files_s %.1f\nfiles_mb_s %.1f\nfiles_cpu_s %.2f\nfiles_rss_mib %ld\nfiles_ctxsw %.2f\n", f.count / secs,
           (double)f.bytes / secs / 1e6, u1.cpu_s - u0.cpu_s, u1.rss_mib, (double)(u1.ctxsw - u0.ctxsw) / (double)f.count);
    cos_client_free(c);
    for (size_t i = 0; i < f.count; i++) {
        free(paths[i]);
        free(keys[i]);
        free(f.rel[i]);
    }
    free(paths);
    free(keys);
    free(tp);
    free(f.rel);
    return 0;
}

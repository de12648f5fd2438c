/* bench_transfer.c — one libcos upload or download of a file against a server,
 * printing MB/s, wall time, CPU seconds and peak RSS.
 *   bench_transfer up|down ENDPOINT BUCKET KEY FILE [CHUNK_MIB PARALLEL] */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench.h"

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: bench_transfer up|down ENDPOINT BUCKET KEY FILE [CHUNK_MIB PARALLEL]\n");
        return 2;
    }
    cos_config cfg;
    bench_config(&cfg, argv[2]);
    cfg.checkpoint_dir = "/tmp/cos-bench-checkpoints";
    if (argc > 7) {
        cfg.chunk_size = (uint64_t)atoi(argv[6]) << 20;
        cfg.chunk_parallel_limit = atoi(argv[7]);
    }
    cos_client *c = NULL;
    cos_error *err = NULL;
    if (cos_client_new(&c, &cfg, &err)) return 1;
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = argv[3];
    p.key = argv[4];
    p.file_path = argv[5];
    p.no_resume = true;
    double t0 = bench_now();
    cos_transfer_result *res = NULL;
    int rc = !strcmp(argv[1], "up") ? cos_upload_file(c, &p, &res, &err) : cos_download_file(c, &p, &res, &err);
    double secs = bench_now() - t0;
    if (rc) {
        fprintf(stderr, "failed: %s\n", cos_error_message(err));
        return 1;
    }
    double cpu;
    long rss;
    bench_usage(&cpu, &rss);
    printf("%.1f MB/s %.2f s cpu %.2f s rss %ld MiB\n", (double)res->size / secs / 1e6, secs, cpu, rss);
    cos_transfer_result_free(res);
    cos_client_free(c);
    return 0;
}

/*
 * upload_file.c — "Upload a file with progress" (uploadFile): a simple upload
 * up to SliceSize, a parallel multipart upload above it, resumable either way.
 */
#include "example.h"

static void on_progress(void *user_data, const cos_progress *p)
{
    (void)user_data;
    printf("  %5.1f%%  %llu / %llu bytes  %.1f MB/s\n", p->percent * 100, (unsigned long long)p->loaded,
           (unsigned long long)p->total, p->speed / 1e6);
}

int main(void)
{
    cos_config cfg = COS_CONFIG_INIT;
    cfg.progress_interval_ms = 100;          /* ProgressInterval (default 1000) */
    cos_client *c = example_client(&cfg);
    if (example_make_file("upload_file.bin", 5u << 20)) { perror("upload_file.bin"); return 1; }

    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = EXAMPLE_BUCKET;
    p.key = "uploads/upload_file.bin";
    p.file_path = "upload_file.bin";
    p.slice_size = 1u << 20;                 /* multipart above 1 MiB (SliceSize) */
    p.on_progress = on_progress;
    cos_transfer_result *res = NULL;
    cos_error *err = NULL;
    if (cos_upload_file(c, &p, &res, &err)) return example_fail("uploadFile", err);
    printf("uploaded %llu bytes in %d parts, ETag %s, CRC-64 %llu verified\n", (unsigned long long)res->size,
           res->part_count, res->etag, (unsigned long long)res->crc64);
    cos_transfer_result_free(res);
    cos_client_free(c);
    return 0;
}

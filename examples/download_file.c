/*
 * download_file.c — "Download a large file" (downloadFile): parallel ranged
 * GETs into a temporary file, CRC-64 checked against the server's, renamed
 * into place; an interrupted download resumes.
 */
#include "example.h"

int main(void)
{
    cos_config cfg = COS_CONFIG_INIT;
    cfg.chunk_parallel_limit = 4;            /* ranges in flight */
    cos_client *c = example_client(&cfg);
    if (example_make_file("big.bin", 6u << 20)) { perror("big.bin"); return 1; }
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = EXAMPLE_BUCKET;
    p.key = "downloads/big.bin";
    p.file_path = "big.bin";
    cos_error *err = NULL;
    if (cos_upload_file(c, &p, NULL, &err)) return example_fail("uploadFile", err);

    p.file_path = "big.copy.bin";
    p.chunk_size = 1u << 20;                 /* range size */
    cos_transfer_result *res = NULL;
    if (cos_download_file(c, &p, &res, &err)) return example_fail("downloadFile", err);
    printf("downloaded %llu bytes in %d ranges, CRC-64 %llu verified\n", (unsigned long long)res->size,
           res->part_count, (unsigned long long)res->crc64);
    cos_transfer_result_free(res);
    cos_client_free(c);
    return 0;
}

/*
 * slice_copy_file.c — "Copy an object" (sliceCopyFile): a single
 * putObjectCopy up to CopySliceSize, parallel uploadPartCopy above it; the
 * data never passes through this machine.
 */
#include "example.h"

int main(void)
{
    cos_config cfg = COS_CONFIG_INIT;
    cos_client *c = example_client(&cfg);
    if (example_make_file("copy_source.bin", 3u << 20)) { perror("copy_source.bin"); return 1; }
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = EXAMPLE_BUCKET;
    p.key = "copy/source.bin";
    p.file_path = "copy_source.bin";
    cos_error *err = NULL;
    if (cos_upload_file(c, &p, NULL, &err)) return example_fail("uploadFile", err);

    cos_transfer_params cp = COS_TRANSFER_PARAMS_INIT;
    cp.bucket = EXAMPLE_BUCKET;              /* destination */
    cp.key = "copy/destination.bin";
    cp.copy_source = EXAMPLE_BUCKET ".cos." EXAMPLE_REGION ".myqcloud.com/copy/source.bin";
    cp.slice_size = 1u << 20;                /* CopySliceSize: copy in parts above 1 MiB */
    cp.chunk_size = 1u << 20;                /* CopyChunkSize */
    cos_transfer_result *res = NULL;
    if (cos_slice_copy_file(c, &cp, &res, &err)) return example_fail("sliceCopyFile", err);
    printf("copied %llu bytes in %d parts, ETag %s\n", (unsigned long long)res->size, res->part_count, res->etag);
    cos_transfer_result_free(res);
    cos_client_free(c);
    return 0;
}

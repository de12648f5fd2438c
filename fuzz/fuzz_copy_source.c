/* fuzz_copy_source.c — sliceCopyFile's CopySource as libcos reads it:
 * COS's "bucket-appid.cos.region.myqcloud.com/key" and S3's "[/]bucket/key"
 * (key URL-encoded), in-process. Properties: a source taken has a bucket, a
 * region and a key; the S3 form's bucket has no '/'. */
#define _GNU_SOURCE
/* transfer.c's static parsers: this TU replaces the library's transfer.o */
#include "../src/transfer.c"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char *src = cos_strndup((const char *)data, size);
    if (!src) return 0;
    char *bucket = NULL, *region = NULL, *key = NULL;
    if (parse_source(src, &bucket, &region, &key) == 0 && (!bucket || !region || !key)) abort();
    /* parse_s3_source frees what it is given first, as its caller relies on */
    if (parse_s3_source(src, "ap-guangzhou", &bucket, &region, &key) == 0 &&
        (!bucket || !*bucket || strchr(bucket, '/') || !region || !key || !*key))
        abort();
    free(bucket);
    free(region);
    free(key);
    free(src);
    return 0;
}

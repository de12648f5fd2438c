/* micro.c — figures of the hot paths: CRC-64 (ISA-L and portable), MD5, COS signatures
 * per second on one core, and parsing a 1,000-entry listing. Prints "name value unit". */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cos/cos.h"
#include "hash_internal.h"
#include "util.h"
#include "xml.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

enum { ROUNDS = 7 }; /* each figure is the median of ROUNDS rounds: this host is noisy */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

int main(void)
{
    size_t n = 256u << 20;
    unsigned char *buf = malloc(n);
    for (size_t i = 0; i < n; i++) buf[i] = (unsigned char)(i * 2654435761u >> 24);
    volatile uint64_t sink = 0;
    /* In cache (1 MiB, the size of a default part's read buffer): the
     * algorithm's rate; over 256 MiB: what memory bandwidth leaves of it. */
    double rates[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        double t = now();
        for (int i = 0; i < 256; i++) sink ^= cos_crc64(0, buf + (size_t)(i % 4) * 1024, 1u << 20);
        rates[r] = 256.0 * (1u << 20) / (now() - t) / 1e9;
    }
    printf("crc64 %.2f GB/s\n", median(rates, ROUNDS));
    double t = now();
    for (int r = 0; r < 4; r++) sink ^= cos_crc64(0, buf, n);
    printf("crc64_256mib %.2f GB/s\n", 4.0 * n / (now() - t) / 1e9);
    t = now();
    sink ^= cos_crc64_portable(0, buf, n);
    printf("crc64_portable %.2f GB/s\n", (double)n / (now() - t) / 1e9);
    unsigned char d[16];
    t = now();
    cos_md5_digest(buf, n, d);
    printf("md5 %.2f GB/s\n", (double)n / (now() - t) / 1e9);
    cos_kv h[] = { { "Content-Type", "application/octet-stream" }, { "Content-Length", "1048576" } };
    cos_kv q[] = { { "partNumber", "7" }, { "uploadId", "1585130821cbb7df1d11846c073ad648" } };
    cos_sign_params p = COS_SIGN_PARAMS_INIT;
    p.secret_id = "AKIDEXAMPLEexampleEXAMPLEexample1234";
    p.secret_key = "secretKEYexampleSECRETkeyEXAMPLE12";
    p.method = "PUT";
    p.key = "videos/2026/a.mp4";
    p.headers = h;
    p.header_count = 2;
    p.query = q;
    p.query_count = 2;
    p.host = "examplebucket-1250000000.cos.ap-guangzhou.myqcloud.com";
    p.start_time = 1700000000;
    p.end_time = 1700000900;
    /* MICRO_QUICK: fewer signatures, for emulated targets (qemu-user runs
     * them ~100x slower; scripts/cross-test.sh with CROSS_BENCH=1) */
    int iters = getenv("MICRO_QUICK") ? 5000 : 100000;
    for (int r = 0; r < ROUNDS; r++) {
        t = now();
        for (int i = 0; i < iters; i++) {
            char *a = NULL;
            cos_sign(&p, &a, NULL, NULL);
            free(a);
        }
        rates[r] = iters / (now() - t);
    }
    printf("signatures %.0f per second (one core)\n", median(rates, ROUNDS));
    cos_buf x = COS_BUF_INIT;
    cos_buf_puts(&x, "<ListBucketResult><Name>b-1250000000</Name><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>");
    for (int i = 0; i < 1000; i++)
        cos_buf_printf(&x, "<Contents><Key>dir/object-%04d.bin</Key><LastModified>2026-11-24T18:55:41.000Z</LastModified>"
                           "<ETag>\"0123456789abcdef0123456789abcdef\"</ETag><Size>%d</Size><Owner><ID>1250000000</ID>"
                           "<DisplayName>1250000000</DisplayName></Owner><StorageClass>STANDARD</StorageClass></Contents>", i, i * 1000);
    cos_buf_puts(&x, "</ListBucketResult>");
    int reps = 200;
    t = now();
    for (int i = 0; i < reps; i++) {
        void *o = NULL;
        cos_xml_parse(&cos_xs_list_objects_result, x.data, x.len, &o, NULL);
        cos_xml_free(&cos_xs_list_objects_result, o);
    }
    printf("xml_listing_1000 %.3f ms per parse\n", (now() - t) * 1000 / reps);
    cos_buf_free(&x);
    free(buf);
    return (int)(sink & 0);
}

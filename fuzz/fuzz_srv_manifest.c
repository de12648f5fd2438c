/* fuzz_srv_manifest.c — cos-server's multipart manifests (store.c's
 * manifest_parse): the "ID SIZE" line per part a completed upload's data
 * names, read back as a crash or a damaged disk may have left it.
 * Input: the manifest's bytes.
 * Properties: accepted, it is exactly what data_write_manifest writes for
 * the segments it returned (so nothing of a damaged one is silently kept),
 * and every id is a plain name (letters and digits: never a path), not a
 * manifest's; refused, nothing is returned. */
#define _GNU_SOURCE
#include "server.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char **ids = NULL;
    uint64_t *sizes = NULL;
    size_t n = 0;
    int rc = manifest_parse((const char *)data, size, &ids, &sizes, &n);
    if (rc != 0) {
        if (ids || sizes || n) abort();
        return 0;
    }
    if (!n) abort();
    cos_buf again = COS_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        if (!ids[i][0] || ids[i][0] == MANIFEST_MARK || strspn(ids[i], "0123456789abcdefghijklmnopqrstuvwxyz"
                                                                      "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(ids[i]))
            abort();
        cos_buf_printf(&again, "%s %llu\n", ids[i], (unsigned long long)sizes[i]);
        free(ids[i]);
    }
    if (again.len != size || memcmp(again.data, data, size) != 0) abort();
    cos_buf_free(&again);
    free(ids);
    free(sizes);
    return 0;
}

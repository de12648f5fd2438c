/* fuzz_auth.c — the Authorization / presigned-query parser cos-server trusts first. */
#include <stdlib.h>
#include "signer.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char *s = cos_strndup((const char *)data, size);
    if (!s) return 0;
    cos_auth_fields f = { 0 };
    if (cos_auth_parse(s, &f) == 0 && f.key_time) {
        char sig[41];
        cos_kv kv = { "host", "x" };
        cos_sign_compute("k", "get", "/", f.key_time, &kv, 1, &kv, 1, sig, NULL, NULL);
    }
    cos_auth_fields_free(&f);
    free(s);
    return 0;
}

/* fuzz_json.c — the JSON reader (STS answers, policies, /sts bodies) on arbitrary bytes. */
#include <stdlib.h>
#include "json.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char *msg = NULL;
    cos_json *j = cos_json_parse((const char *)data, size, &msg);
    if (j) {
        cos_buf b = COS_BUF_INIT;
        for (size_t i = 0; i < j->count; i++) cos_json_put_str(&b, j->items[i].str);
        cos_buf_free(&b);
    }
    cos_json_free(j);
    free(msg);
    return 0;
}

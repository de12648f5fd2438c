/* fuzz_srv_select_sql.c — cos-server's SELECT expressions (server/select.c):
 * the SQL parser, then, for what it accepts, the evaluator over a few fixed
 * CSV records (strings, numbers, empty fields, a missing column).
 * Input: the expression's bytes.
 * Properties: no crash, leak or undefined behaviour; refused, a code is
 * named; accepted, the answer is whole event-stream messages whose CRCs
 * hold, ending in End or in one error event. */
#define _GNU_SOURCE
#include "select.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static uint32_t be32(const unsigned char *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* the last message's kind: 'E' End, 'e' error; aborts on bad framing */
static char check_stream(const unsigned char *p, size_t n)
{
    char last = 0;
    while (n) {
        if (n < 16) abort();
        uint32_t total = be32(p), hl = be32(p + 4);
        if (be32(p + 8) != crc32(0, p, 8) || total > n || total < 16 + hl || be32(p + total - 4) != crc32(0, p, total - 4))
            abort();
        last = memmem(p + 12, hl, "error", 5) ? 'e' : memmem(p + 12, hl, "End", 3) ? 'E' : 'r';
        p += total;
        n -= total;
    }
    return last;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static const char CSV[] = "1,abc,-2.5\n,x,\n9223372036854775807,\"q,\"\"\",0\n7\n";
    sel_query *q = NULL;
    const char *code = NULL;
    char msg[256];
    if (sel_compile_sql((const char *)data, size, &q, &code, msg, sizeof msg) != 0) {
        if (q || !code || !*code) abort();
        return 0;
    }
    sel_run *r = sel_run_new(q);
    cos_buf out = COS_BUF_INIT;
    sel_run_feed(r, CSV, sizeof CSV - 1, &out);
    sel_run_end(r, &out);
    char last = check_stream((const unsigned char *)out.data, out.len);
    if (last != 'E' && last != 'e') abort();
    cos_buf_free(&out);
    sel_run_free(r);
    sel_query_free(q);
    return 0;
}

/* fuzz_resp_headers.c — what libcos reads from an answer's headers: curl's
 * header lines split by the engine's own callback, then every header value
 * libcos parses (ETag and W/ ETags for the MD5 check, x-cos-hash-crc64ecma and
 * Content-Length as numbers, Date / Last-Modified for clock skew,
 * x-cos-meta-* names, ISO 8601 times of listings, URL-encoded names).
 * In-process and fast; the checks are properties, not only "no crash":
 * formatted dates and numbers read back to what was written. */
#define _GNU_SOURCE
/* engine.c's static header callback, as curl calls it: this TU replaces the
   library's engine.o (the static archive does not pull it in twice). */
#include "../src/engine.c"
#include "url.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void check_date_round_trip(int64_t t)
{
    char out[32];
    /* only what COS can send: 4-digit years (the formatter's own range) */
    if (t < -62167219200LL || t > 253402300799LL) return;
    cos_http_date_format(t, out);
    if (cos_http_date_parse(out) != t) abort();
}

static void use_headers(cos_http *h)
{
    const cos_kvlist *l = &h->resp_headers;
    (void)http_etag_is_md5(l->items, l->count);
    static const unsigned char md5[16] = { 0xd4, 0x1d, 0x8c, 0xd9, 0x8f, 0x00, 0xb2, 0x04,
                                           0xe9, 0x80, 0x09, 0x98, 0xec, 0xf8, 0x42, 0x7e };
    (void)http_etag_matches(cos_kvlist_get(l, "ETag"), md5);
    uint64_t u;
    int64_t i;
    const char *crc = cos_kvlist_get(l, "x-cos-hash-crc64ecma");
    if (crc && cos_parse_u64(crc, &u) == 0) {
        char back[32];
        snprintf(back, sizeof back, "%llu", (unsigned long long)u);
        uint64_t again;
        if (cos_parse_u64(back, &again) != 0 || again != u) abort();
    }
    const char *cl = cos_kvlist_get(l, "Content-Length");
    if (cl) (void)cos_parse_u64(cl, &u);
    const char *ra = cos_kvlist_get(l, "Retry-After");
    if (ra) (void)cos_parse_i64(ra, &i);
    static const char *const DATES[] = { "Date", "Last-Modified", "Expires", "x-cos-restore-expiry-date" };
    for (size_t k = 0; k < COS_ARRAY_LEN(DATES); k++) {
        const char *d = cos_kvlist_get(l, DATES[k]);
        if (!d) continue;
        int64_t t = cos_http_date_parse(d);
        if (t >= 0) check_date_round_trip(t);
        int64_t ms = cos_iso8601_parse(d);
        (void)ms;
    }
    for (size_t k = 0; k < l->count; k++) {
        const char *name = l->items[k].name, *v = l->items[k].value;
        if (cos_starts_with_ci(name, "x-cos-meta-") || cos_starts_with_ci(name, "x-amz-meta-")) {
            char *dec = cos_uri_decode(v, strlen(v));
            free(dec);
        }
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    cos_http h;
    memset(&h, 0, sizeof h);
    /* curl hands the callback one line at a time, its CRLF included */
    char *copy = malloc(size + 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    size_t pos = 0;
    while (pos < size) {
        const char *nl = memchr(copy + pos, '\n', size - pos);
        size_t n = nl ? (size_t)(nl - (copy + pos)) + 1 : size - pos;
        if (header_cb(copy + pos, 1, n, &h) != n) break;
        pos += n;
    }
    use_headers(&h);
    /* a parsed ISO 8601 time of a listing: its own format reads back */
    int64_t ms = cos_iso8601_parse(copy);
    if (ms >= 0 && ms < 253402300799999LL) {
        char out[32];
        cos_iso8601_format(ms, out);
        if (cos_iso8601_parse(out) != ms) abort();
    }
    resp_headers_clear(&h);
    free(copy);
    return 0;
}

/* fuzz_srv_headers.c — cos-server's parsers of request header and query
 * values, in-process: Range and x-cos-copy-source-range against an object
 * size, If-Match / If-None-Match ETag lists, If-(Un)Modified-Since dates,
 * x-cos-copy-source, x-cos-tagging / x-amz-tagging (a query string of tags),
 * lifecycle dates, URL decoding. Input: 8 bytes of object size, then the value.
 * Properties: a satisfiable range lies inside the object; tags built from a
 * header read back as the same number of tags; a copy source names a bucket
 * and a non-empty key. */
#define _GNU_SOURCE
/* handlers.c's static parsers: this TU stands in for handlers.c (CMake links
   the rest of the server, see fuzz/CMakeLists.txt) */
#include "../server/handlers.c"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size < 8) return 0;
    uint64_t osize = 0;
    memcpy(&osize, data, 8);
    /* small sizes mostly (where the edges are), any size sometimes */
    if (!(osize >> 63)) osize %= 4096;
    data += 8;
    size -= 8;
    char *h = malloc(size + 1);
    if (!h) return 0;
    memcpy(h, data, size);
    h[size] = '\0';

    uint64_t start = 7, end = 7;
    int rr = parse_range(h, osize, &start, &end);
    if (rr == 0 && (start > end || end >= osize)) abort();
    if (rr != 0 && rr != 1 && rr != -1 && rr != -2) abort();

    (void)etag_match(h, "\"d41d8cd98f00b204e9800998ecf8427e\"");
    (void)etag_match(h, "\"\"");
    (void)etag_match(h, "");
    (void)cos_http_date_parse(h);
    (void)lifecycle_date_ok(h, false);
    (void)lifecycle_date_ok(h, true);

    char *b = NULL, *k = NULL;
    if (parse_copy_source(h, &b, &k) == 0 && (!b || !k || !*k)) abort();
    free(b);
    free(k);

    char *xml = NULL;
    if (tagging_from_query(h, &xml) == 0 && xml) {
        cos_tagging *t = NULL;
        if (cos_xml_parse(&cos_xs_tagging, xml, strlen(xml), (void **)&t, NULL) != 0 || !t || t->tags_count < 1 ||
            t->tags_count > 10)
            abort();
        cos_xml_free(&cos_xs_tagging, t);
    }
    free(xml);
    free(cos_uri_decode(h, size));
    free(h);
    return 0;
}

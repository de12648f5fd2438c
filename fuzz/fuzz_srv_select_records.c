/* fuzz_srv_select_records.c — cos-server's SELECT record readers
 * (server/select.c): CSV with each header mode, quote and comment
 * settings, JSON documents and lines, raw or gzip, the object's bytes
 * fed whole and in pieces.
 * Input: byte 0 picks the input settings, byte 1 the piece size, the rest
 * is the object.
 * Properties: no crash, leak or undefined behaviour; the answer is whole
 * event-stream messages with good CRCs ending in End or an error event;
 * and the same records come out whatever the piece size. */
#define _GNU_SOURCE
#include "select.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static uint32_t be32(const unsigned char *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* the Records payloads (and the error, if any) of an answer; aborts on bad framing */
static void records(const unsigned char *p, size_t n, cos_buf *recs)
{
    while (n) {
        if (n < 16) abort();
        uint32_t total = be32(p), hl = be32(p + 4);
        if (be32(p + 8) != crc32(0, p, 8) || total > n || total < 16 + hl || be32(p + total - 4) != crc32(0, p, total - 4))
            abort();
        if (memmem(p + 12, hl, "Records", 7)) cos_buf_append(recs, p + 12 + hl, total - 16 - hl);
        if (memmem(p + 12, hl, "error", 5)) cos_buf_puts(recs, "<error>");
        p += total;
        n -= total;
    }
}

static void run(const sel_query *q, const unsigned char *data, size_t size, size_t piece, cos_buf *recs)
{
    sel_run *r = sel_run_new(q);
    if (!r) abort();
    cos_buf out = COS_BUF_INIT;
    for (size_t off = 0; off < size; off += piece)
        if (sel_run_feed(r, data + off, size - off < piece ? size - off : piece, &out)) break;
    sel_run_end(r, &out);
    records((const unsigned char *)out.data, out.len, recs);
    cos_buf_free(&out);
    sel_run_free(r);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size < 2) return 0;
    unsigned mode = data[0];
    size_t piece = (size_t)data[1] % 17 + 1;
    data += 2;
    size -= 2;
    static const char *const INPUTS[] = {
        "<CSV><FileHeaderInfo>NONE</FileHeaderInfo></CSV>",
        "<CSV><FileHeaderInfo>USE</FileHeaderInfo><Comments>#</Comments></CSV>",
        "<CSV><FileHeaderInfo>IGNORE</FileHeaderInfo><AllowQuotedRecordDelimiter>TRUE</AllowQuotedRecordDelimiter></CSV>",
        ("<CSV><RecordDelimiter>\\r\\n</RecordDelimiter><FieldDelimiter>;</FieldDelimiter><QuoteCharacter>'</QuoteCharacter>"
         "<QuoteEscapeCharacter>\\\\</QuoteEscapeCharacter></CSV>"),
        "<JSON><Type>DOCUMENT</Type></JSON>",
        "<JSON><Type>LINES</Type></JSON>",
    };
    static const char *const QUERIES[] = { "SELECT * FROM COSObject", "SELECT _1, s.a.b, name FROM COSObject s WHERE _2 > 1 OR a IS NOT MISSING" };
    char doc[1024];
    snprintf(doc, sizeof doc,
             "<SelectRequest><Expression>%s</Expression><ExpressionType>SQL</ExpressionType><InputSerialization>"
             "<CompressionType>%s</CompressionType>%s</InputSerialization><OutputSerialization>%s</OutputSerialization>"
             "</SelectRequest>",
             QUERIES[(mode >> 4) & 1], mode & 8 ? "GZIP" : "NONE", INPUTS[(mode & 7) % 6],
             mode & 32 ? "<JSON/>" : "<CSV><QuoteFields>ASNEEDED</QuoteFields></CSV>");
    sel_query *q = NULL;
    const char *code = NULL;
    char msg[256];
    if (sel_compile(doc, strlen(doc), &q, &code, msg, sizeof msg) != 0) abort();
    cos_buf whole = COS_BUF_INIT, pieces = COS_BUF_INIT;
    run(q, data, size, size ? size : 1, &whole);
    run(q, data, size, piece, &pieces);
    if (whole.len != pieces.len || (whole.len && memcmp(whole.data, pieces.data, whole.len) != 0)) abort();
    cos_buf_free(&whole);
    cos_buf_free(&pieces);
    sel_query_free(q);
    return 0;
}

/* test_select.c — SELECT Object Content (POST /key?select&select-type=2).
 *
 * First the engine (server/select.c, compiled in): every answer decoded as a
 * client decodes COS's event stream (both CRC-32s checked), each input fed
 * whole and in 1- and 7-byte pieces, which must answer the same. Then through
 * cos-server with libcos's generic request: the answer's status, framing and
 * records, errors before the stream (400 with COS's code, 501 for Parquet),
 * an error event mid-stream, authorization as GetObject, and an object larger
 * than one read piece. Before this, cos-server answered 501 to all of it. */
#include "testlib.h"
#include "util.h"
#include "select.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

/* ---------------------------------------------------------------- reading the event stream */

typedef struct decoded {
    cos_buf records;
    char events[1024];  /* event types in order, comma-separated; "error" for an error message */
    char code[64];      /* the error event's code */
    char stats[512];    /* the Stats payload */
    bool framing_ok;    /* every prelude and message CRC right, nothing left over */
} decoded;

static uint32_t be32(const unsigned char *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

static void decode(const void *data, size_t n, decoded *d)
{
    const unsigned char *p = data;
    memset(d, 0, sizeof *d);
    d->framing_ok = true;
    while (n) {
        if (n < 16) {
            d->framing_ok = false;
            return;
        }
        uint32_t total = be32(p), hl = be32(p + 4);
        if (be32(p + 8) != crc32(0, p, 8) || total > n || total < 16 + hl ||
            be32(p + total - 4) != crc32(0, p, total - 4)) {
            d->framing_ok = false;
            return;
        }
        char type[64] = "", mtype[32] = "", ecode[64] = "";
        for (size_t off = 12; off < 12 + hl;) {
            size_t nl = p[off];
            const unsigned char *name = p + off + 1;
            if (p[off + 1 + nl] != 7) d->framing_ok = false;
            size_t vl = (size_t)p[off + 2 + nl] << 8 | p[off + 3 + nl];
            const unsigned char *v = p + off + 4 + nl;
            char *dst = nl == 11 && !memcmp(name, ":event-type", 11)     ? type
                        : nl == 13 && !memcmp(name, ":message-type", 13) ? mtype
                        : nl == 11 && !memcmp(name, ":error-code", 11)   ? ecode
                                                                          : NULL;
            if (dst) snprintf(dst, 64 > 32 && dst == mtype ? 32 : 64, "%.*s", (int)vl, (const char *)v);
            off += 4 + nl + vl;
        }
        const unsigned char *payload = p + 12 + hl;
        size_t plen = total - 16 - hl;
        const char *what = !strcmp(mtype, "error") ? "error" : type;
        size_t el = strlen(d->events);
        snprintf(d->events + el, sizeof d->events - el, "%s%s", el ? "," : "", what);
        if (!strcmp(mtype, "error")) snprintf(d->code, sizeof d->code, "%s", ecode);
        if (!strcmp(type, "Records")) cos_buf_append(&d->records, payload, plen);
        if (!strcmp(type, "Stats")) snprintf(d->stats, sizeof d->stats, "%.*s", (int)plen, (const char *)payload);
        p += total;
        n -= total;
    }
}

static char *recs(decoded *d) /* the records as a string */
{
    cos_buf_putc(&d->records, 0);
    d->records.len--;
    return d->records.data ? d->records.data : (char *)"";
}

/* ---------------------------------------------------------------- the engine */

static char *request_doc(const char *sql, const char *input, const char *output)
{
    return cos_sprintf("<?xml version=\"1.0\" encoding=\"UTF-8\"?><SelectRequest><Expression>%s</Expression>"
                       "<ExpressionType>SQL</ExpressionType><InputSerialization>%s</InputSerialization>"
                       "<OutputSerialization>%s</OutputSerialization></SelectRequest>",
                       sql, input, output);
}

static void run_pieces(const char *doc, const void *in, size_t len, size_t piece, decoded *d)
{
    sel_query *q = NULL;
    const char *code = NULL;
    char msg[256];
    memset(d, 0, sizeof *d);
    if (sel_compile(doc, strlen(doc), &q, &code, msg, sizeof msg) != 0) {
        snprintf(d->code, sizeof d->code, "compile:%s", code);
        return;
    }
    sel_run *r = sel_run_new(q);
    cos_buf out = COS_BUF_INIT;
    const char *p = in;
    for (size_t off = 0; off < len; off += piece)
        if (sel_run_feed(r, p + off, COS_MIN(piece, len - off), &out)) break;
    sel_run_end(r, &out);
    sel_run_free(r);
    sel_query_free(q);
    decode(out.data, out.len, d);
    cos_buf_free(&out);
}

/* The answer's records, the same whole and in pieces; NULL (and a failure) otherwise. Caller frees. */
static char *select_records(const char *sql, const char *input, const char *output, const char *data, char *code_out)
{
    char *doc = request_doc(sql, input, output);
    decoded whole, one, seven;
    size_t len = strlen(data);
    run_pieces(doc, data, len, len ? len : 1, &whole);
    run_pieces(doc, data, len, 1, &one);
    run_pieces(doc, data, len, 7, &seven);
    free(doc);
    if (code_out) strcpy(code_out, whole.code);
    CHECK(whole.framing_ok || whole.code[0] == 'c');
    char *w = cos_strdup(recs(&whole));
    if (strcmp(w, recs(&one)) != 0 || strcmp(w, recs(&seven)) != 0 || strcmp(whole.events, one.events) != 0 ||
        strcmp(whole.code, seven.code) != 0)
        test_fail(__FILE__, __LINE__, "pieces answer differently for %s: [%s] [%s] [%s]", sql, w, recs(&one), recs(&seven));
    if (!whole.code[0] && strstr(whole.events, "End") == NULL)
        test_fail(__FILE__, __LINE__, "no End event for %s: %s", sql, whole.events);
    cos_buf_free(&whole.records);
    cos_buf_free(&one.records);
    cos_buf_free(&seven.records);
    return w;
}

#define CSV_IN(hdr) "<CSV><FileHeaderInfo>" hdr "</FileHeaderInfo></CSV>"
#define CSV_OUT "<CSV></CSV>"
#define JSON_OUT "<JSON><RecordDelimiter>\\n</RecordDelimiter></JSON>"
static const char PEOPLE[] = "name,age,city\n"
                             "alice,30,\"Paris, FR\"\n"
                             "# a comment line is data unless Comments says so\n"
                             "bob,25,\"He said \"\"hi\"\"\"\r\n"
                             "carol,41,\n"
                             "\n"
                             "dave,,Oslo";

#define EXPECT_SELECT(sql, in, out, data, want)                                   \
    do {                                                                           \
        char code_[96] = "";                                                       \
        char *got_ = select_records(sql, in, out, data, code_);                   \
        if (strcmp(got_, want) != 0 || code_[0])                                   \
            test_fail(__FILE__, __LINE__, "%s:\n got [%s] %s\nwant [%s]", sql, got_, code_, want); \
        free(got_);                                                                \
    } while (0)

#define EXPECT_ERROR(sql, in, out, data, want_code)                               \
    do {                                                                           \
        char code_[96] = "";                                                       \
        free(select_records(sql, in, out, data, code_));                          \
        CHECK_STR(code_, want_code);                                               \
    } while (0)

static void test_csv(void)
{
    EXPECT_SELECT("SELECT * FROM COSObject", CSV_IN("USE"), CSV_OUT, PEOPLE,
                  "alice,30,\"Paris, FR\"\n# a comment line is data unless Comments says so\n"
                  "bob,25,\"He said \"\"hi\"\"\"\ncarol,41,\ndave,,Oslo\n");
    const char *skip = "<CSV><FileHeaderInfo>USE</FileHeaderInfo><Comments>#</Comments></CSV>";
    EXPECT_SELECT("SELECT name, city FROM COSObject WHERE age &gt; 26", skip, CSV_OUT, PEOPLE,
                  "alice,\"Paris, FR\"\ncarol,\n");
    EXPECT_SELECT("SELECT s.name AS who, CAST(s.age AS INT) + 1 FROM COSObject s WHERE s.age BETWEEN 20 AND 30",
                  skip, JSON_OUT, PEOPLE, "{\"who\":\"alice\",\"_2\":31}\n{\"who\":\"bob\",\"_2\":26}\n");
    EXPECT_SELECT("SELECT _1, _3 FROM COSObject WHERE _2 = '' OR _3 LIKE '%\"hi\"%'", skip, CSV_OUT, PEOPLE,
                  "bob,\"He said \"\"hi\"\"\"\ndave,Oslo\n");
    EXPECT_SELECT("SELECT _1 FROM COSObject LIMIT 2", CSV_IN("NONE"), CSV_OUT, PEOPLE, "name\nalice\n");
    EXPECT_SELECT("SELECT _1 FROM COSObject LIMIT 1;", CSV_IN("IGNORE"), CSV_OUT, PEOPLE, "alice\n");
    EXPECT_SELECT("SELECT \"name\" FROM COSObject WHERE city IS NULL OR name IN ('alice', 'zed')", skip, CSV_OUT,
                  PEOPLE, "alice\n");
    EXPECT_SELECT("SELECT name FROM COSObject WHERE city = ''", skip, CSV_OUT, PEOPLE, "carol\n");
    EXPECT_SELECT("SELECT UPPER(name), CHAR_LENGTH(city), SUBSTRING(name FROM 2 FOR 2), LOWER('AbC') || '-' "
                  "FROM COSObject WHERE NOT age &lt; 40",
                  skip, CSV_OUT, PEOPLE, "CAROL,0,ar,abc-\n");
    EXPECT_SELECT("SELECT COUNT(*), SUM(age), MIN(age), MAX(age), AVG(age), COUNT(age) FROM COSObject WHERE age &lt;&gt; ''",
                  skip, CSV_OUT, PEOPLE, "3,96,25,41,32.0,3\n");
    EXPECT_SELECT("SELECT COUNT(*) FROM COSObject WHERE name = 'nobody'", skip, JSON_OUT, PEOPLE, "{\"_1\":0}\n");
    /* other delimiters, ALWAYS quoted output */
    EXPECT_SELECT("SELECT * FROM COSObject",
                  "<CSV><RecordDelimiter>;</RecordDelimiter><FieldDelimiter>|</FieldDelimiter>"
                  "<QuoteCharacter>'</QuoteCharacter><AllowQuotedRecordDelimiter>TRUE</AllowQuotedRecordDelimiter></CSV>",
                  "<CSV><QuoteFields>ALWAYS</QuoteFields><FieldDelimiter>\\t</FieldDelimiter></CSV>", "a|'b;c'|d;e|f",
                  "\"a\"\t\"b;c\"\t\"d\"\n\"e\"\t\"f\"\n");
    /* a record with no end of its quote: an error event after what came before */
    EXPECT_ERROR("SELECT * FROM COSObject", CSV_IN("NONE"), CSV_OUT, "a,b\n\"c,d\n", "CSVParsingError");
    EXPECT_ERROR("SELECT * FROM COSObject", CSV_IN("NONE"), CSV_OUT, "a\n\"b\nc\"\n", "CSVParsingError");
    EXPECT_SELECT("SELECT * FROM COSObject",
                  "<CSV><AllowQuotedRecordDelimiter>TRUE</AllowQuotedRecordDelimiter></CSV>", JSON_OUT,
                  "\"b\nc\",d\n", "{\"_1\":\"b\\nc\",\"_2\":\"d\"}\n");
    EXPECT_ERROR("SELECT age / 0 FROM COSObject", skip, CSV_OUT, PEOPLE, "DivisionByZero");
    EXPECT_ERROR("SELECT SUM(name) FROM COSObject", skip, CSV_OUT, PEOPLE, "InvalidCast");
}

#define JSON_LINES "<JSON><Type>LINES</Type></JSON>"
#define JSON_DOC "<JSON><Type>DOCUMENT</Type></JSON>"

static void test_json(void)
{
    /* the official Python suite's test_select_object: JSON lines to CSV */
    EXPECT_SELECT("Select * from COSObject", JSON_LINES, "<CSV><RecordDelimiter>\\n</RecordDelimiter></CSV>",
                  "{\"name\": \"cos\", \"age\": \"999\"}\n{\"name\": \"cos\", \"age\": \"999\"}\n", "cos,999\ncos,999\n");
    /* the Node.js suite's selectObjectContent: a document comes back as it was, compact */
    EXPECT_SELECT("Select * from COSObject", JSON_DOC, JSON_OUT, "{\"a\":123,\"b\":\"1700000000000\",\"c\":{\"d\":456}}",
                  "{\"a\":123,\"b\":\"1700000000000\",\"c\":{\"d\":456}}\n");
    EXPECT_ERROR("Select * from COSObject", JSON_DOC, JSON_OUT, "{\"a\":123,\"b\":\"1\",\"c\":{\"d\":456}",
                 "JSONParsingError");
    const char *doc = "{\"id\": 1, \"s\": {\"a\": {\"b\": \"x\"}}, \"tags\": [\"t0\", \"t1\"], \"n\": 1.50}\n"
                      "  {\"id\": 2, \"s\": {\"a\": {\"b\": \"y\\u00e9\"}}, \"tags\": [], \"n\": null}\n"
                      "{\"id\": 3, \"s\": {}, \"n\": 7e2}";
    EXPECT_SELECT("SELECT o.id, o.s.a.b, o.tags[1] AS t FROM COSObject o", JSON_DOC, JSON_OUT, doc,
                  "{\"id\":1,\"b\":\"x\",\"t\":\"t1\"}\n{\"id\":2,\"b\":\"y\xc3\xa9\"}\n{\"id\":3}\n");
    EXPECT_SELECT("SELECT id FROM COSObject WHERE s.a.b IS MISSING", JSON_DOC, CSV_OUT, doc, "3\n");
    EXPECT_SELECT("SELECT id, n FROM COSObject WHERE n IS NOT NULL AND n &gt; 1", JSON_DOC, CSV_OUT, doc,
                  "1,1.50\n3,7e2\n");
    EXPECT_SELECT("SELECT SUM(n), COUNT(n), MAX(id) FROM COSObject", JSON_DOC, JSON_OUT, doc,
                  "{\"_1\":701.5,\"_2\":2,\"_3\":3}\n");
    EXPECT_SELECT("SELECT s FROM COSObject WHERE id = 1", JSON_DOC, CSV_OUT, doc, "\"{\"\"a\"\":{\"\"b\"\":\"\"x\"\"}}\"\n");
    EXPECT_ERROR("SELECT * FROM COSObject", JSON_LINES, JSON_OUT, "{\"a\":1} {\"a\":2}\n", "JSONParsingError");
    /* COSObject[*]: a top-level array's elements are the records; alias.* is * */
    EXPECT_SELECT("SELECT d.* FROM COSObject[*] d WHERE d.a &gt; 1", JSON_DOC, JSON_OUT, "[{\"a\":1},{\"a\":2},{\"a\":3}]",
                  "{\"a\":2}\n{\"a\":3}\n");
    EXPECT_SELECT("SELECT COUNT(*) FROM COSObject[*]", JSON_DOC, CSV_OUT, "[1,2,3] [4]", "4\n");
    EXPECT_ERROR("SELECT * FROM COSObject", JSON_DOC, JSON_OUT, "{\"a\":1}\n{\"a\":tru}", "JSONParsingError");
}

static void test_refused_before_any_record(void)
{
    static const struct { const char *sql, *in, *code; } CASES[] = {
        { "SELECT FROM COSObject", CSV_IN("NONE"), "ParseUnexpectedToken" },
        { "SELECT * FROM elsewhere", CSV_IN("NONE"), "ParseUnexpectedToken" },
        { "SELECT *", CSV_IN("NONE"), "ParseSelectMissingFrom" },
        { "DELETE FROM COSObject", CSV_IN("NONE"), "ParseExpectedKeywordSelect" },
        { "SELECT _1 FROM COSObject WHERE", CSV_IN("NONE"), "ParseExpectedExpression" },
        { "SELECT nosuch(_1) FROM COSObject", CSV_IN("NONE"), "UnsupportedFunction" },
        { "SELECT _1, COUNT(*) FROM COSObject", CSV_IN("NONE"), "UnsupportedSyntax" },
        { "SELECT _1 FROM COSObject WHERE COUNT(*) &gt; 1", CSV_IN("NONE"), "UnsupportedSyntax" },
        { "SELECT 'abc FROM COSObject", CSV_IN("NONE"), "ParseUnexpectedToken" },
        { "SELECT * FROM COSObject", "<Parquet/>", "NotImplemented" },
        { "SELECT * FROM COSObject", "<CompressionType>BZIP2</CompressionType>" CSV_IN("NONE"), "NotImplemented" },
        { "SELECT * FROM COSObject", "<CompressionType>ZIP</CompressionType>" CSV_IN("NONE"), "InvalidCompressionFormat" },
        { "SELECT * FROM COSObject", CSV_IN("SOME"), "InvalidFileHeaderInfo" },
        { "SELECT * FROM COSObject", "<JSON><Type>TABLE</Type></JSON>", "InvalidJsonType" },
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        char *doc = request_doc(CASES[i].sql, CASES[i].in, CSV_OUT);
        sel_query *q = NULL;
        const char *code = NULL;
        char msg[256];
        if (sel_compile(doc, strlen(doc), &q, &code, msg, sizeof msg) == 0) {
            test_fail(__FILE__, __LINE__, "compiled: %s / %s", CASES[i].sql, CASES[i].in);
            sel_query_free(q);
        } else if (strcmp(code, CASES[i].code) != 0) {
            test_fail(__FILE__, __LINE__, "%s / %s: %s (%s), want %s", CASES[i].sql, CASES[i].in, code, msg, CASES[i].code);
        }
        free(doc);
    }
    sel_query *q = NULL;
    const char *code = NULL;
    char msg[256];
    CHECK(sel_compile("<SelectRequest><Expression>", 28, &q, &code, msg, sizeof msg) != 0);
    CHECK_STR(code, "MalformedXML");
}

static void gzip_of(const char *in, size_t len, cos_buf *out)
{
    z_stream z = { 0 };
    CHECK(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    unsigned char buf[4096];
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)len;
    int rc;
    do {
        z.next_out = buf;
        z.avail_out = sizeof buf;
        rc = deflate(&z, Z_FINISH);
        cos_buf_append(out, buf, sizeof buf - z.avail_out);
    } while (rc == Z_OK);
    deflateEnd(&z);
}

static void test_gzip_and_big_records(void)
{
    cos_buf gz = COS_BUF_INIT;
    gzip_of(PEOPLE, strlen(PEOPLE), &gz);
    gzip_of("\nerin,52,Rome\n", 14, &gz); /* a second gzip member, as `cat a.gz b.gz` makes */
    char *doc = request_doc("SELECT name FROM COSObject WHERE age &gt;= 30",
                            "<CompressionType>GZIP</CompressionType>"
                            "<CSV><FileHeaderInfo>USE</FileHeaderInfo><Comments>#</Comments></CSV>",
                            CSV_OUT);
    for (size_t piece = 1; piece <= gz.len; piece = piece * 5 + 2) {
        decoded d;
        run_pieces(doc, gz.data, gz.len, piece, &d);
        CHECK(d.framing_ok);
        CHECK_STR(recs(&d), "alice\ncarol\nerin\n");
        CHECK_STR(d.events, "Records,Stats,End");
        CHECK(strstr(d.stats, "<BytesReturned>17</BytesReturned>") != NULL);
        cos_buf_free(&d.records);
    }
    decoded d;
    run_pieces(doc, "not gzip at all", 15, 15, &d);
    CHECK_STR(d.code, "InvalidCompressionFormat");
    CHECK_STR(d.events, "error");
    cos_buf_free(&d.records);
    run_pieces(doc, gz.data, gz.len / 2, 64, &d); /* cut short */
    CHECK_STR(d.code, "InvalidCompressionFormat");
    cos_buf_free(&d.records);
    free(doc);
    cos_buf_free(&gz);

    /* a record past 1 MiB: refused once it is that long, with what came before kept */
    size_t big = SEL_MAX_RECORD + 100;
    char *data = malloc(big + 16);
    memcpy(data, "first\n", 6);
    memset(data + 6, 'x', big);
    data[6 + big] = 0;
    doc = request_doc("SELECT * FROM COSObject", CSV_IN("NONE"), CSV_OUT);
    run_pieces(doc, data, big + 6, 64 << 10, &d);
    CHECK_STR(d.code, "OverMaxRecordSize");
    CHECK_STR(d.events, "Records,error");
    CHECK_STR(recs(&d), "first\n");
    cos_buf_free(&d.records);
    free(doc);
    free(data);

    /* 10 MiB that match nothing: Cont events keep the answer moving, then Stats and End */
    size_t quiet = 10u << 20;
    data = malloc(quiet);
    for (size_t i = 0; i < quiet; i += 8) memcpy(data + i, "1,2,3,4\n", 8);
    doc = request_doc("SELECT * FROM COSObject WHERE _1 = '9'", CSV_IN("NONE"), CSV_OUT);
    run_pieces(doc, data, quiet, 64 << 10, &d);
    CHECK_STR(d.events, "Cont,Cont,Stats,End");
    cos_buf_free(&d.records);
    free(doc);
    free(data);

    /* progress asked: Progress before Stats */
    doc = cos_sprintf("<SelectRequest><Expression>SELECT * FROM COSObject</Expression><ExpressionType>SQL</ExpressionType>"
                      "<InputSerialization>" CSV_IN("NONE") "</InputSerialization><OutputSerialization>" CSV_OUT
                      "</OutputSerialization><RequestProgress><Enabled>TRUE</Enabled></RequestProgress></SelectRequest>");
    run_pieces(doc, "a\n", 2, 2, &d);
    CHECK_STR(d.events, "Records,Progress,Stats,End");
    cos_buf_free(&d.records);
    free(doc);
}

/* ---------------------------------------------------------------- through cos-server */

static test_server g_s;
static cos_client *g_c;
#define BUCKET "select-" TEST_APPID

typedef struct answer {
    int status;
    char code[64];
    decoded d;
} answer;

static answer post_select(cos_client *c, const char *key, const char *doc, const char *type)
{
    cos_kv q[] = { { "select-type", type } };
    cos_request r = test_generic_request("POST", BUCKET, key, "select", q, type ? 1 : 0, NULL, 0, doc);
    cos_result *res = NULL;
    cos_error *err = NULL;
    answer a;
    memset(&a, 0, sizeof a);
    if (cos_send_request(c, &r, &res, &err) == 0) {
        a.status = res->http_status;
        decode(res->body, res->body_size, &a.d);
    } else {
        a.status = err ? err->http_status : 0;
        snprintf(a.code, sizeof a.code, "%s", err && err->code ? err->code : "");
    }
    cos_result_free(res);
    cos_error_free(err);
    return a;
}

static void test_server_select(void)
{
    test_put_object_on(&g_s, BUCKET, "people.csv", PEOPLE);
    char *doc = request_doc("SELECT name, age FROM COSObject WHERE age &lt;&gt; '' AND CAST(age AS INT) &gt; 26",
                            "<CompressionType>NONE</CompressionType>"
                            "<CSV><FileHeaderInfo>USE</FileHeaderInfo><Comments>#</Comments></CSV>",
                            JSON_OUT);
    answer a = post_select(g_c, "people.csv", doc, "2");
    CHECK_INT(a.status, 200);
    CHECK(a.d.framing_ok);
    CHECK_STR(a.d.events, "Records,Stats,End");
    CHECK_STR(recs(&a.d), "{\"name\":\"alice\",\"age\":\"30\"}\n{\"name\":\"carol\",\"age\":\"41\"}\n");
    char scanned[64];
    snprintf(scanned, sizeof scanned, "<BytesScanned>%zu</BytesScanned>", strlen(PEOPLE));
    CHECK(strstr(a.d.stats, scanned) != NULL);
    cos_buf_free(&a.d.records);

    a = post_select(g_c, "people.csv", doc, "1"); /* only version 2 of the API */
    CHECK_INT(a.status, 400);
    a = post_select(g_c, "missing.csv", doc, "2");
    CHECK_INT(a.status, 404);
    CHECK_STR(a.code, "NoSuchKey");
    free(doc);

    doc = request_doc("SELECT name FROM COSObject WHERE", CSV_IN("USE"), CSV_OUT);
    a = post_select(g_c, "people.csv", doc, "2");
    CHECK_INT(a.status, 400);
    CHECK_STR(a.code, "ParseExpectedExpression");
    free(doc);
    doc = request_doc("SELECT * FROM COSObject", "<Parquet/>", CSV_OUT);
    a = post_select(g_c, "people.csv", doc, "2");
    CHECK_INT(a.status, 501);
    CHECK_STR(a.code, "NotImplemented");
    free(doc);
    a = post_select(g_c, "people.csv", "<SelectRequest>", "2");
    CHECK_INT(a.status, 400);
    CHECK_STR(a.code, "MalformedXML");

    /* the Node.js suite's second case: a document cut short is an error event after the 200 */
    test_put_object_on(&g_s, BUCKET, "1.json", "{\"a\":123,\"b\":\"5\",\"c\":{\"d\":456}");
    doc = request_doc("Select * from COSObject", JSON_DOC, JSON_OUT);
    a = post_select(g_c, "1.json", doc, "2");
    CHECK_INT(a.status, 200);
    CHECK_STR(a.d.events, "error");
    CHECK_STR(a.d.code, "JSONParsingError");
    cos_buf_free(&a.d.records);
    free(doc);
}

static void test_server_large_object(void)
{
    /* ~600 KiB in, read in several pieces and answered in several Records events */
    cos_buf big = COS_BUF_INIT;
    for (int i = 0; i < 40000; i++) cos_buf_printf(&big, "%d,row-%d,%d\n", i, i, i % 7);
    test_put_object_on(&g_s, BUCKET, "big.csv", big.data);
    char *doc = request_doc("SELECT COUNT(*), SUM(CAST(_3 AS INT)), MAX(_1) FROM COSObject", CSV_IN("NONE"), CSV_OUT);
    answer a = post_select(g_c, "big.csv", doc, "2");
    CHECK_INT(a.status, 200);
    long sum = 0;
    for (int i = 0; i < 40000; i++) sum += i % 7;
    char want[64];
    snprintf(want, sizeof want, "40000,%ld,39999\n", sum);
    CHECK_STR(recs(&a.d), want);
    cos_buf_free(&a.d.records);
    free(doc);
    doc = request_doc("SELECT _2 FROM COSObject WHERE _3 = '0'", CSV_IN("NONE"), CSV_OUT);
    a = post_select(g_c, "big.csv", doc, "2");
    CHECK_INT(a.status, 200);
    CHECK(a.d.framing_ok);
    CHECK(test_count_of(a.d.events, "Records") >= 1);
    CHECK_INT(test_count_of(recs(&a.d), "\n"), 5715);
    CHECK(strncmp(recs(&a.d), "row-0\nrow-7\n", 12) == 0);
    cos_buf_free(&a.d.records);
    free(doc);
    cos_buf_free(&big);
}

static void set_bucket_acl(const char *canned)
{
    cos_kv h = { "x-cos-acl", canned };
    cos_request r = test_generic_request("PUT", BUCKET, NULL, "acl", NULL, 0, &h, 1, NULL);
    cos_result *res = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_send_request(g_c, &r, &res, &err), err);
    cos_result_free(res);
}

static void test_server_authorized_as_get_object(void)
{
    test_put_object_on(&g_s, BUCKET, "people.csv", PEOPLE);
    char *doc = request_doc("SELECT * FROM COSObject", CSV_IN("NONE"), CSV_OUT);
    char host[64];
    snprintf(host, sizeof host, "%s.cos.ap-guangzhou.myqcloud.com", BUCKET);
    test_cos_call c = { "POST", host, "/people.csv?select&select-type=2", "/people.csv", NULL, NULL, NULL, NULL, 0,
                        NULL, 0, NULL, NULL, doc, strlen(doc) };
    test_reply x = test_cos_exchange(g_s.port, &c); /* anonymous, on a private bucket */
    CHECK_INT(x.status, 403);
    CHECK(x.body && strstr(x.body, "<Code>AccessDenied</Code>"));
    test_reply_free(&x);
    set_bucket_acl("public-read"); /* READ admits anonymous GetObject, so SELECT */
    x = test_cos_exchange(g_s.port, &c);
    CHECK_INT(x.status, 200); /* its records: test_server_select (this raw reader stops at the stream's NULs) */
    char *ct = test_reply_header(&x, "Content-Type");
    CHECK_STR(ct, "application/octet-stream");
    free(ct);
    test_reply_free(&x);
    set_bucket_acl("private");
    free(doc);
}

int main(void)
{
    RUN(test_csv);
    RUN(test_json);
    RUN(test_refused_before_any_record);
    RUN(test_gzip_and_big_records);
    if (test_server_start(&g_s, NULL) != 0) {
        fprintf(stderr, "cannot start cos-server\n");
        return 1;
    }
    g_c = test_client(&g_s);
    test_put_bucket_on(&g_s, BUCKET);
    RUN(test_server_select);
    RUN(test_server_large_object);
    RUN(test_server_authorized_as_get_object);
    cos_client_free(g_c);
    test_server_stop(&g_s, false);
    return test_report();
}

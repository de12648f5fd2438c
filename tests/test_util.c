/* test_util.c — the internal buffer, list, JSON and date helpers. */
#define _GNU_SOURCE
#include "testlib.h"
#include "json.h"
#include "util.h"
#include <time.h>

static void test_buf(void)
{
    cos_buf b = COS_BUF_INIT;
    for (int i = 0; i < 1000; i++) cos_buf_printf(&b, "%d,", i);
    CHECK(b.len > 3000);
    CHECK(strncmp(b.data, "0,1,2,", 6) == 0);
    char *s = cos_buf_detach(&b);
    CHECK(b.data == NULL);
    free(s);
}

static void test_kvlist(void)
{
    cos_kvlist l = COS_KVLIST_INIT;
    cos_kvlist_add(&l, "Content-Type", "text/plain");
    cos_kvlist_set(&l, "content-type", "image/png");
    cos_kvlist_add(&l, "x-cos-meta-a", "1");
    CHECK_INT(l.count, 2);
    CHECK_STR(cos_kvlist_get(&l, "CONTENT-TYPE"), "image/png");
    cos_kvlist_remove(&l, "x-cos-meta-a");
    CHECK_INT(l.count, 1);
    cos_kvlist_free(&l);
}

static void test_json(void)
{
    const char *doc = "{\"a\": [1, 2.5, \"x\\u4e2d\\n\"], \"b\": {\"c\": true, \"d\": null}, \"t\": \"1700000000\"}";
    char *msg = NULL;
    cos_json *j = cos_json_parse(doc, strlen(doc), &msg);
    CHECK(j != NULL);
    if (!j) return;
    const cos_json *a = cos_json_get(j, "a");
    CHECK_INT(a->count, 3);
    CHECK_STR(cos_json_at(a, 2)->str, "x\xe4\xb8\xad\n");
    CHECK(cos_json_get(cos_json_get(j, "b"), "c")->boolean);
    int64_t t = 0;
    CHECK(cos_json_get_i64(j, "t", &t));
    CHECK_INT(t, 1700000000);
    cos_json_free(j);
    CHECK(cos_json_parse("{\"a\":", 5, &msg) == NULL);
    CHECK(msg != NULL);
    free(msg);
    cos_buf b = COS_BUF_INIT;
    cos_json_put_str(&b, "q\"\\\x01");
    CHECK_STR(b.data, "\"q\\\"\\\\\\u0001\"");
    cos_buf_free(&b);
    /* a number past int64 is no integer (the cast was undefined: fuzz_sts_answer); one inside still is */
    const char *huge = "{\"e\": 1e300, \"s\": -1e300, \"m\": 9223372036854775808, \"k\": 1.5e9}";
    j = cos_json_parse(huge, strlen(huge), NULL);
    CHECK(j != NULL);
    t = 7;
    CHECK(!cos_json_get_i64(j, "e", &t));
    CHECK(!cos_json_get_i64(j, "s", &t));
    CHECK(!cos_json_get_i64(j, "m", &t));
    CHECK_INT(t, 7);
    CHECK(cos_json_get_i64(j, "k", &t));
    CHECK_INT(t, 1500000000);
    cos_json_free(j);
}

static void test_dates(void)
{
    char d[32];
    cos_http_date_format(1700000000, d);
    CHECK_STR(d, "Tue, 14 Nov 2023 22:13:20 GMT");
    CHECK_INT(cos_http_date_parse(d), 1700000000);
    /* the same text as gmtime_r and printf across leap days, century years,
       before 1970 and at the edges of a day */
    static const int64_t WHEN[] = { 0, -1, 86399, 86400, 951782400, 951868799, 951868800, 4107542400LL,
                                    4107628799LL, -2208988800LL, -62135596800LL, 253402300799LL, 1709164800,
                                    1709251199, 2147483647, 2147483648LL, -86401 };
    for (size_t i = 0; i < COS_ARRAY_LEN(WHEN) + 2000; i++) {
        int64_t t = i < COS_ARRAY_LEN(WHEN) ? WHEN[i] : (int64_t)(i * 7919 * 86400 / 13) - 5000000000LL + (int64_t)i * 3607;
        time_t tt = (time_t)t;
        struct tm tm;
        char want[64];
        gmtime_r(&tt, &tm);
        static const char *const WD[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
        static const char *const MO[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
        snprintf(want, sizeof want, "%s, %02d %s %04d %02d:%02d:%02d GMT", WD[tm.tm_wday], tm.tm_mday, MO[tm.tm_mon],
                 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
        cos_http_date_format(t, d);
        if (strcmp(d, want) != 0) test_fail(__FILE__, __LINE__, "%lld: %s, want %s", (long long)t, d, want);
        CHECK_INT(cos_http_date_parse(d), t);
    }
    cos_iso8601_format(1700000000123LL, d);
    CHECK_STR(d, "2023-11-14T22:13:20.123Z");
    CHECK_INT(cos_iso8601_parse(d), 1700000000123LL);
}

/* Dates from outside (an answer's Date, a policy's expiration, a retention
 * date): out-of-range fields are malformed, not normalized nor overflowed
 * (fuzz_resp_headers found a signed overflow in each parser); a fraction of
 * a second is a fraction, whatever its number of digits. */
static void test_dates_hostile(void)
{
    CHECK_INT(cos_http_date_parse("Sat, 28 Nov -2147483648 05:43:26 GMT"), -1);
    CHECK_INT(cos_http_date_parse("Sat, 28 Nov 2147483647 05:43:26 GMT"), -1);
    CHECK_INT(cos_http_date_parse("Sat, 28 Nov 2026 25:43:26 GMT"), -1);
    CHECK_INT(cos_http_date_parse("Sat, 28 Nov 2026 05:43:2147483647 GMT"), -1);
    CHECK_INT(cos_http_date_parse("Sat, 0 Nov 2026 05:43:26 GMT"), -1);
    CHECK_INT(cos_http_date_parse("Sat, 28 Nov 2026 05:43:26 GMT"), 1795844606);
    CHECK_INT(cos_iso8601_parse("2147483647-11-28T05:43:26.000Z"), -1);
    CHECK_INT(cos_iso8601_parse("2026-13-28T05:43:26.000Z"), -1);
    CHECK_INT(cos_iso8601_parse("2026-11-28T05:43:26.2147483647Z"), 1795844606214LL);
    CHECK_INT(cos_iso8601_parse("2026-11-28T05:43:26.5Z"), 1795844606500LL);
    CHECK_INT(cos_iso8601_parse("2026-11-28T05:43:26.123456Z"), 1795844606123LL);
    CHECK_INT(cos_iso8601_parse("2026-11-28T05:43:26Z"), 1795844606000LL);
    CHECK_INT(cos_iso8601_parse("2026-11-28T05:43:26.Z"), -1);
}

/* Decimal parsing at its bounds (CRC-64 headers carry all 20 digits). */
static void test_parse_u64(void)
{
    uint64_t v = 7;
    CHECK(cos_parse_u64("18446744073709551615", &v) == 0);
    CHECK(v == UINT64_MAX);
    CHECK(cos_parse_u64("18446744073709551614", &v) == 0);
    CHECK(v == UINT64_MAX - 1);
    CHECK(cos_parse_u64("1844674407370955161", &v) == 0);
    CHECK(v == UINT64_MAX / 10);
    v = 7;
    CHECK(cos_parse_u64("18446744073709551616", &v) != 0);
    CHECK(cos_parse_u64("18446744073709551620", &v) != 0);
    CHECK(cos_parse_u64("99999999999999999999", &v) != 0);
    CHECK(cos_parse_u64("184467440737095516150", &v) != 0);
    CHECK(cos_parse_u64("", &v) != 0);
    CHECK(cos_parse_u64("12a", &v) != 0);
    CHECK(cos_parse_u64("-1", &v) != 0);
    CHECK(v == 7); /* untouched on failure */
    CHECK(cos_parse_u64("0", &v) == 0 && v == 0);
    CHECK(cos_parse_u64("00012", &v) == 0 && v == 12);
    int64_t i = 0;
    CHECK(cos_parse_i64("-9223372036854775807", &i) == 0 && i == -INT64_MAX);
    CHECK(cos_parse_i64("9223372036854775808", &i) != 0);
}

int main(void)
{
    RUN(test_buf);
    RUN(test_parse_u64);
    RUN(test_kvlist);
    RUN(test_json);
    RUN(test_dates);
    RUN(test_dates_hostile);
    return test_report();
}

/* test_sigv4.c — AWS Signature V4 (S3 mode) against the AWS SDK's own signer (tests/data/sigv4.json). */
#define _GNU_SOURCE
#include "testlib.h"
#include "json.h"
#include "signer.h"
#include <time.h>

static void test_sigv4_vectors(void)
{
    size_t len;
    char *text = test_read_data("sigv4.json", &len);
    cos_json *j = text ? cos_json_parse(text, len, NULL) : NULL;
    free(text);
    CHECK(j != NULL);
    const cos_json *cases = cos_json_get(j, "cases");
    CHECK(cases && cases->count >= 5);
    for (size_t i = 0; cases && i < cases->count; i++) {
        const cos_json *c = &cases->items[i];
        const cos_json *hj = cos_json_get(c, "headers"), *qj = cos_json_get(c, "query");
        size_t nh = hj ? hj->count : 0, nq = qj ? qj->count : 0;
        cos_kv *h = calloc(nh + 1, sizeof *h), *q = calloc(nq + 1, sizeof *q);
        h[0] = (cos_kv){ "host", cos_json_get_str(c, "host") };
        for (size_t k = 0; k < nh; k++) h[k + 1] = (cos_kv){ hj->items[k].key, hj->items[k].str };
        for (size_t k = 0; k < nq; k++) q[k] = (cos_kv){ qj->items[k].key, qj->items[k].str };
        const char *date = cos_json_get_str(c, "date");
        struct tm tm = { 0 };
        sscanf(date, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec);
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        const char *payload = cos_json_get_str(c, "payload");
        char hash[65];
        if (strcmp(payload, "UNSIGNED-PAYLOAD") != 0) cos_sha256_hex(payload, strlen(payload), hash);
        cos_sigv4_params p = COS_SIGV4_PARAMS_INIT;
        p.access_key = cos_json_get_str(c, "access_key");
        p.secret_key = cos_json_get_str(c, "secret_key");
        p.region = cos_json_get_str(c, "region");
        p.service = cos_json_get_str(c, "service");
        p.method = cos_json_get_str(c, "method");
        p.encoded_path = cos_json_get_str(c, "encoded_path");
        p.query = q;
        p.query_count = nq;
        p.headers = h;
        p.header_count = nh + 1;
        p.payload_hash = strcmp(payload, "UNSIGNED-PAYLOAD") == 0 ? payload : hash;
        p.time = (int64_t)timegm(&tm);
        cos_sigv4_result r;
        cos_error *err = NULL;
        CHECK_OK(cos_sigv4_sign(&p, &r, &err), err);
        const cos_json *exp = cos_json_get(c, "expected");
        if (r.authorization && strcmp(r.authorization, cos_json_get_str(exp, "authorization")) != 0)
            test_fail(__FILE__, __LINE__, "case %zu:\n got  %s\n want %s\n%s", i + 1, r.authorization,
                      cos_json_get_str(exp, "authorization"), r.canonical_request);
        CHECK_STR(r.amz_date, cos_json_get_str(exp, "x_amz_date"));
        CHECK_STR(r.content_sha256, cos_json_get_str(exp, "x_amz_content_sha256"));
        cos_sigv4_result_free(&r);
        int64_t expires = 0;
        cos_json_get_i64(c, "presign_expires", &expires);
        char *query = NULL;
        CHECK_OK(cos_sigv4_presign(&p, (int)expires, &query, &err), err);
        const char *want_sig = cos_json_get_str(cos_json_get(c, "presign_query"), "X-Amz-Signature");
        if (query && want_sig && !strstr(query, want_sig))
            test_fail(__FILE__, __LINE__, "presign case %zu: %s lacks %s", i + 1, query, want_sig);
        free(query);
        free(h);
        free(q);
    }
    cos_json_free(j);
}

int main(void)
{
    RUN(test_sigv4_vectors);
    return test_report();
}

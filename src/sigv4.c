/*
 * sigv4.c — AWS Signature Version 4 in S3 mode (the path is signed as sent,
 * not encoded twice), so one client can talk to S3-compatible stores too.
 * tests/data/sigv4.json (made by the AWS SDK's own signer) pins it down.
 */
#define _GNU_SOURCE
#include "signer.h"
#include "url.h"
#include "cos/hash.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

typedef struct v4_pair {
    char *name;
    char *value;
} v4_pair;

static int cmp_pair(const void *a, const void *b)
{
    const v4_pair *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

static void v4_free_pairs(v4_pair *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].name);
        free(p[i].value);
    }
    free(p);
}

/* RFC 3986 unreserved only: cos_uri_encode also escapes !'()* so it matches. */
static char *enc(const char *s)
{
    cos_buf b = COS_BUF_INIT;
    cos_uri_encode(&b, s ? s : "", s ? strlen(s) : 0, false);
    return cos_buf_detach(&b);
}

/* Header value: trimmed, inner runs of spaces folded to one. */
static char *fold_value(const char *v)
{
    cos_buf b = COS_BUF_INIT;
    cos_buf_puts(&b, "");
    bool space = false;
    while (*v == ' ' || *v == '\t') v++;
    for (; *v; v++) {
        if (*v == ' ' || *v == '\t') {
            space = true;
            continue;
        }
        if (space) cos_buf_putc(&b, ' ');
        space = false;
        cos_buf_putc(&b, *v);
    }
    return cos_buf_detach(&b);
}

static bool v4_unsigned_header(const char *name)
{
    return strcasecmp(name, "user-agent") == 0 || strcasecmp(name, "date") == 0 ||
           strcasecmp(name, "authorization") == 0 || strcasecmp(name, "expect") == 0 ||
           strcasecmp(name, "x-amzn-trace-id") == 0;
}

/* "content-type;host": the lower-cased names, sorted, as SignedHeaders lists them. */
static char *signed_header_names(const cos_kv *h, size_t n)
{
    v4_pair *ps = calloc(n ? n : 1, sizeof *ps);
    if (!ps) return NULL;
    for (size_t i = 0; i < n; i++) {
        ps[i].name = cos_strdup(h[i].name);
        ps[i].value = cos_strdup("");
        if (ps[i].name) cos_str_lower(ps[i].name);
    }
    qsort(ps, n, sizeof *ps, cmp_pair);
    cos_buf b = COS_BUF_INIT;
    cos_buf_puts(&b, "");
    for (size_t i = 0; i < n; i++) cos_buf_printf(&b, "%s%s", i ? ";" : "", ps[i].name ? ps[i].name : "");
    v4_free_pairs(ps, n);
    return cos_buf_detach(&b);
}

static void signing_key(const char *secret, const char *day, const char *region, const char *service,
                        unsigned char out[32])
{
    char k0[256];
    snprintf(k0, sizeof k0, "AWS4%s", secret);
    unsigned char k1[32], k2[32], k3[32];
    cos_hmac_sha256(k0, strlen(k0), day, strlen(day), k1);
    cos_hmac_sha256(k1, 32, region, strlen(region), k2);
    cos_hmac_sha256(k2, 32, service, strlen(service), k3);
    cos_hmac_sha256(k3, 32, "aws4_request", 12, out);
}

/* The canonical request and the signature over the given query and headers. */
static int v4_core(const cos_sigv4_params *p, const char *amz_date, const cos_kv *query, size_t nq,
                   const cos_kv *headers, size_t nh, const char *payload_hash, char **canonical_out,
                   char **sts_out, char **signed_headers_out, char sig_hex[65])
{
    v4_pair *qs = calloc(nq ? nq : 1, sizeof *qs), *hs = calloc(nh ? nh : 1, sizeof *hs);
    if (!qs || !hs) {
        free(qs);
        free(hs);
        return COS_ERR_NOMEM;
    }
    for (size_t i = 0; i < nq; i++) {
        qs[i].name = enc(query[i].name);
        qs[i].value = enc(query[i].value);
    }
    size_t n_signed = 0;
    for (size_t i = 0; i < nh; i++) {
        if (v4_unsigned_header(headers[i].name)) continue;
        hs[n_signed].name = cos_strdup(headers[i].name);
        cos_str_lower(hs[n_signed].name);
        hs[n_signed].value = fold_value(headers[i].value ? headers[i].value : "");
        n_signed++;
    }
    qsort(qs, nq, sizeof *qs, cmp_pair);
    qsort(hs, n_signed, sizeof *hs, cmp_pair);

    cos_buf c = COS_BUF_INIT, sh = COS_BUF_INIT;
    cos_buf_printf(&c, "%s\n%s\n", p->method, cos_str_empty(p->encoded_path) ? "/" : p->encoded_path);
    for (size_t i = 0; i < nq; i++) cos_buf_printf(&c, "%s%s=%s", i ? "&" : "", qs[i].name, qs[i].value);
    cos_buf_putc(&c, '\n');
    for (size_t i = 0; i < n_signed; i++) {
        cos_buf_printf(&c, "%s:%s\n", hs[i].name, hs[i].value);
        cos_buf_printf(&sh, "%s%s", i ? ";" : "", hs[i].name);
    }
    cos_buf_printf(&c, "\n%s\n%s", sh.data ? sh.data : "", payload_hash);

    char day[9];
    memcpy(day, amz_date, 8);
    day[8] = '\0';
    const char *service = p->service ? p->service : "s3";
    char creq_hash[65];
    cos_sha256_hex(c.data, c.len, creq_hash);
    char *sts = cos_sprintf("AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s", amz_date, day, p->region, service,
                            creq_hash);
    unsigned char key[32], sig[32];
    signing_key(p->secret_key, day, p->region, service, key);
    cos_hmac_sha256(key, 32, sts, strlen(sts), sig);
    cos_hex_encode(sig, 32, sig_hex);

    *canonical_out = cos_buf_detach(&c);
    *sts_out = sts;
    *signed_headers_out = cos_buf_detach(&sh);
    v4_free_pairs(qs, nq);
    v4_free_pairs(hs, n_signed);
    return 0;
}

static void format_amz_date(int64_t t, char out[17])
{
    time_t tt = (time_t)(t ? t : time(NULL));
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static const size_t SIGV4_PARAMS_SIZES[] = { [COS_SIGV4_PARAMS_VERSION] = sizeof(cos_sigv4_params) };

int cos_sigv4_sign(const cos_sigv4_params *params, cos_sigv4_result *out, cos_error **err)
{
    cos_err_reset(err);
    if (!out) return cos_err_invalid(err, "out", "NULL out");
    memset(out, 0, sizeof *out);
    cos_sigv4_params pv;
    if (COS_OPTIONS_IN(&pv, params, "cos_sigv4_params", "COS_SIGV4_PARAMS_INIT", SIGV4_PARAMS_SIZES, err))
        return COS_ERR_INVALID_ARG;
    const cos_sigv4_params *p = &pv;
    if (cos_str_empty(p->access_key) || cos_str_empty(p->secret_key))
        return cos_err_invalid(err, "secret_id", "SigV4 needs an access key and a secret key");
    if (cos_str_empty(p->region)) return cos_err_invalid(err, "region", "SigV4 needs a region");
    char amz_date[17];
    format_amz_date(p->time, amz_date);
    const char *payload = p->payload_hash ? p->payload_hash
                                          : "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    size_t nh = p->header_count;
    cos_kv *hs = calloc(nh + 3, sizeof *hs);
    if (!hs) return cos_err_set(err, COS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < p->header_count; i++) hs[i] = p->headers[i];
    hs[nh++] = (cos_kv){ "x-amz-date", amz_date };
    hs[nh++] = (cos_kv){ "x-amz-content-sha256", payload };
    if (!cos_str_empty(p->session_token)) hs[nh++] = (cos_kv){ "x-amz-security-token", p->session_token };
    char *canon = NULL, *sts = NULL, *sh = NULL, sig[65];
    int rc = v4_core(p, amz_date, p->query, p->query_count, hs, nh, payload, &canon, &sts, &sh, sig);
    free(hs);
    if (rc) return cos_err_set(err, COS_ERR_NOMEM, "out of memory");
    char day[9];
    memcpy(day, amz_date, 8);
    day[8] = '\0';
    out->authorization = cos_sprintf("AWS4-HMAC-SHA256 Credential=%s/%s/%s/%s/aws4_request, SignedHeaders=%s, "
                                     "Signature=%s", p->access_key, day, p->region, p->service ? p->service : "s3",
                                     sh, sig);
    out->amz_date = cos_strdup(amz_date);
    out->content_sha256 = cos_strdup(payload);
    out->canonical_request = canon;
    out->string_to_sign = sts;
    free(sh);
    return 0;
}

int cos_sigv4_presign(const cos_sigv4_params *params, int expires, char **query, cos_error **err)
{
    cos_err_reset(err);
    if (!query) return cos_err_invalid(err, "query", "NULL query");
    *query = NULL;
    cos_sigv4_params pv;
    if (COS_OPTIONS_IN(&pv, params, "cos_sigv4_params", "COS_SIGV4_PARAMS_INIT", SIGV4_PARAMS_SIZES, err))
        return COS_ERR_INVALID_ARG;
    const cos_sigv4_params *p = &pv;
    if (cos_str_empty(p->access_key) || cos_str_empty(p->secret_key) || cos_str_empty(p->region))
        return cos_err_invalid(err, "secret_id", "SigV4 presigning needs keys and a region");
    if (expires > 604800)
        return cos_err_invalid(err, "expires", "a SigV4 presigned URL lasts at most 604800 s (7 days), got %d", expires);
    char amz_date[17], day[9], exp[24];
    format_amz_date(p->time, amz_date);
    memcpy(day, amz_date, 8);
    day[8] = '\0';
    snprintf(exp, sizeof exp, "%d", expires > 0 ? expires : 900);
    const char *service = p->service ? p->service : "s3";
    char *cred = cos_sprintf("%s/%s/%s/%s/aws4_request", p->access_key, day, p->region, service);
    /* Signed: host (always) and every other header the URL is to be used
       with; X-Amz-SignedHeaders names them, and is itself signed. */
    size_t nh = 0;
    cos_kv *hs = calloc(p->header_count + 1, sizeof *hs);
    char *names = NULL;
    if (hs) {
        const char *host = cos_kv_find(p->headers, p->header_count, "host");
        hs[nh++] = (cos_kv){ "host", host ? host : "" };
        for (size_t i = 0; i < p->header_count; i++)
            if (strcasecmp(p->headers[i].name, "host") != 0 && !v4_unsigned_header(p->headers[i].name))
                hs[nh++] = p->headers[i];
        names = signed_header_names(hs, nh);
    }
    size_t nq = p->query_count;
    cos_kv *q = calloc(nq + 7, sizeof *q);
    if (!q || !cred || !hs || !names) {
        free(q);
        free(cred);
        free(hs);
        free(names);
        return cos_err_set(err, COS_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < p->query_count; i++) q[i] = p->query[i];
    q[nq++] = (cos_kv){ "X-Amz-Algorithm", "AWS4-HMAC-SHA256" };
    q[nq++] = (cos_kv){ "X-Amz-Credential", cred };
    q[nq++] = (cos_kv){ "X-Amz-Date", amz_date };
    q[nq++] = (cos_kv){ "X-Amz-Expires", exp };
    q[nq++] = (cos_kv){ "X-Amz-SignedHeaders", names };
    if (!cos_str_empty(p->session_token)) q[nq++] = (cos_kv){ "X-Amz-Security-Token", p->session_token };
    char *canon = NULL, *sts = NULL, *sh = NULL, sig[65];
    /* The body of a presigned request is not known when the URL is made:
       S3 signs the constant UNSIGNED-PAYLOAD (AWS's documented example and
       botocore agree, tests/data/sigv4_presign.json). */
    const char *presign_payload = p->payload_hash ? p->payload_hash : "UNSIGNED-PAYLOAD";
    int rc = v4_core(p, amz_date, q, nq, hs, nh, presign_payload, &canon, &sts, &sh, sig);
    if (rc == 0) {
        cos_buf b = COS_BUF_INIT;
        for (size_t i = 0; i < nq; i++) {
            char *n = enc(q[i].name), *v = enc(q[i].value);
            cos_buf_printf(&b, "%s%s=%s", i ? "&" : "", n, v);
            free(n);
            free(v);
        }
        cos_buf_printf(&b, "&X-Amz-Signature=%s", sig);
        *query = cos_buf_detach(&b);
    }
    free(canon);
    free(sts);
    free(sh);
    free(q);
    free(cred);
    free(hs);
    free(names);
    return rc ? cos_err_set(err, COS_ERR_NOMEM, "out of memory") : 0;
}

void cos_sigv4_result_free(cos_sigv4_result *r)
{
    if (!r) return;
    free(r->authorization);
    free(r->amz_date);
    free(r->content_sha256);
    free(r->canonical_request);
    free(r->string_to_sign);
    memset(r, 0, sizeof *r);
}

/*
 * sign.c — the COS request signature (q-sign-algorithm=sha1), byte for byte
 * the official SDK's util.getAuth, and the parser of Authorization values
 * that cos-server uses to verify them. tests/data/sign.json pins it down.
 *
 * Hot path (hundreds of thousands of signatures a second): one-shot HMAC and
 * SHA-1 from libcrypto, stack buffers for digests.
 */
#define _GNU_SOURCE
#include "signer.h"
#include "url.h"
#include "cos/hash.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const SIGNED_HEADERS[] = {
    "cache-control", "content-disposition", "content-encoding", "content-length", "content-md5",
    "content-type", "expect", "expires", "host", "if-match", "if-modified-since", "if-none-match",
    "if-unmodified-since", "origin", "range", "transfer-encoding", "pic-operations",
};

bool cos_sign_header_allowed(const char *name)
{
    if (strcasestr(name, "x-cos-") || strcasestr(name, "x-ci-")) return true;
    for (size_t i = 0; i < sizeof SIGNED_HEADERS / sizeof SIGNED_HEADERS[0]; i++)
        if (strcasecmp(name, SIGNED_HEADERS[i]) == 0) return true;
    return false;
}

void cos_sha1_hex(const void *data, size_t len, char out[41])
{
    unsigned char d[SHA_DIGEST_LENGTH];
    SHA1(data, len, d);
    cos_hex_encode(d, sizeof d, out);
}

void cos_hmac_sha1_hex(const void *key, size_t klen, const void *data, size_t len, char out[41])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    HMAC(EVP_sha1(), key, (int)klen, data, len, d, &n);
    cos_hex_encode(d, n, out);
}

void cos_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256(data, len, d);
    cos_hex_encode(d, sizeof d, out);
}

void cos_hmac_sha256(const void *key, size_t klen, const void *data, size_t len, unsigned char out[32])
{
    unsigned int n = 32;
    HMAC(EVP_sha256(), key, (int)klen, data, len, out, &n);
}

/* One name=value pair prepared for the FormatString. */
typedef struct sign_pair {
    char *sort_key;   /* lower-cased raw name: the SDK sorts on it for the FormatString */
    char *enc_name;   /* encoded, lower-cased name: what the lists carry */
    char *enc_value;  /* encoded value */
} sign_pair;

static int cmp_sort_key(const void *a, const void *b)
{
    return strcmp(((const sign_pair *)a)->sort_key, ((const sign_pair *)b)->sort_key);
}

static int cmp_enc_name(const void *a, const void *b)
{
    return strcmp(((const sign_pair *)a)->enc_name, ((const sign_pair *)b)->enc_name);
}

static void free_pairs(sign_pair *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].sort_key);
        free(p[i].enc_name);
        free(p[i].enc_value);
    }
    free(p);
}

static sign_pair *prepare(const cos_kv *kv, size_t n)
{
    sign_pair *p = calloc(n ? n : 1, sizeof *p);
    if (!p) return NULL;
    cos_buf b = COS_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        p[i].sort_key = cos_strdup(kv[i].name);
        cos_str_lower(p[i].sort_key);
        cos_buf_reset(&b);
        cos_uri_encode(&b, kv[i].name, strlen(kv[i].name), false);
        p[i].enc_name = cos_strdup(b.data ? b.data : "");
        cos_str_lower(p[i].enc_name);
        cos_buf_reset(&b);
        const char *v = kv[i].value ? kv[i].value : "";
        cos_uri_encode(&b, v, strlen(v), false);
        p[i].enc_value = cos_strdup(b.data ? b.data : "");
        if (!p[i].sort_key || !p[i].enc_name || !p[i].enc_value) {
            cos_buf_free(&b);
            free_pairs(p, n);
            return NULL;
        }
    }
    cos_buf_free(&b);
    return p;
}

/* "name=value&..." in the SDK's order (raw names, case-insensitively). */
static void put_pairs(cos_buf *out, sign_pair *p, size_t n)
{
    qsort(p, n, sizeof *p, cmp_sort_key);
    for (size_t i = 0; i < n; i++) {
        if (i) cos_buf_putc(out, '&');
        cos_buf_puts(out, p[i].enc_name);
        cos_buf_putc(out, '=');
        cos_buf_puts(out, p[i].enc_value);
    }
}

/* "a;b" of the encoded names, sorted. */
static void put_list(cos_buf *out, sign_pair *p, size_t n)
{
    qsort(p, n, sizeof *p, cmp_enc_name);
    for (size_t i = 0; i < n; i++) {
        if (i) cos_buf_putc(out, ';');
        cos_buf_puts(out, p[i].enc_name);
    }
}

/* Core: signature plus (optionally) both lists, from already selected pairs. */
static int sign_core(const char *secret_key, const char *method, const char *pathname, const char *key_time,
                     const cos_kv *params, size_t nparams, const cos_kv *headers, size_t nheaders,
                     char sig_hex[41], cos_buf *format_out, cos_buf *sts_out, cos_buf *param_list,
                     cos_buf *header_list)
{
    sign_pair *pp = prepare(params, nparams), *hp = prepare(headers, nheaders);
    if (!pp || !hp) {
        if (pp) free_pairs(pp, nparams);
        if (hp) free_pairs(hp, nheaders);
        return COS_ERR_NOMEM;
    }
    cos_buf fs = COS_BUF_INIT;
    cos_buf_reserve(&fs, 256);
    for (const char *m = method ? method : "get"; *m; m++)
        cos_buf_putc(&fs, (char)(*m >= 'A' && *m <= 'Z' ? *m + 32 : *m));
    cos_buf_putc(&fs, '\n');
    cos_buf_puts(&fs, pathname);
    cos_buf_putc(&fs, '\n');
    put_pairs(&fs, pp, nparams);
    cos_buf_putc(&fs, '\n');
    put_pairs(&fs, hp, nheaders);
    cos_buf_putc(&fs, '\n');

    char sign_key[41], fs_sha[41];
    cos_hmac_sha1_hex(secret_key, strlen(secret_key), key_time, strlen(key_time), sign_key);
    cos_sha1_hex(fs.data, fs.len, fs_sha);
    char sts[256];
    int n = snprintf(sts, sizeof sts, "sha1\n%s\n%s\n", key_time, fs_sha);
    int rc = 0;
    if (n < 0 || (size_t)n >= sizeof sts) {
        rc = COS_ERR_INVALID_ARG;
    } else {
        cos_hmac_sha1_hex(sign_key, 40, sts, (size_t)n, sig_hex);
        if (format_out) cos_buf_append(format_out, fs.data, fs.len);
        if (sts_out) cos_buf_append(sts_out, sts, (size_t)n);
        if (param_list) put_list(param_list, pp, nparams);
        if (header_list) put_list(header_list, hp, nheaders);
    }
    cos_buf_free(&fs);
    free_pairs(pp, nparams);
    free_pairs(hp, nheaders);
    return rc;
}

int cos_sign_compute(const char *secret_key, const char *method, const char *pathname, const char *key_time,
                     const cos_kv *params, size_t nparams, const cos_kv *headers, size_t nheaders,
                     char sig_hex[41], cos_buf *format_string, cos_buf *string_to_sign)
{
    return sign_core(secret_key, method, pathname, key_time, params, nparams, headers, nheaders, sig_hex,
                     format_string, string_to_sign, NULL, NULL);
}

int cos_sign(const cos_sign_params *p, char **authorization, cos_sign_debug *debug, cos_error **err)
{
    if (cos_str_empty(p->secret_id)) return cos_err_invalid(err, "secret_id", "missing SecretId");
    if (cos_str_empty(p->secret_key)) return cos_err_invalid(err, "secret_key", "missing SecretKey");

    /* Only signable headers take part; the Host is added unless given or disabled. */
    cos_kv stack_headers[32];
    cos_kv *hs = stack_headers;
    if (p->header_count + 1 > sizeof stack_headers / sizeof stack_headers[0]) {
        hs = malloc((p->header_count + 1) * sizeof *hs);
        if (!hs) return cos_err_set(err, COS_ERR_NOMEM, "out of memory");
    }
    size_t nh = 0;
    bool has_host = false;
    for (size_t i = 0; i < p->header_count; i++) {
        if (!cos_sign_header_allowed(p->headers[i].name)) continue;
        if (strcasecmp(p->headers[i].name, "host") == 0) has_host = true;
        hs[nh++] = p->headers[i];
    }
    if (!has_host && p->sign_host && !cos_str_empty(p->host)) hs[nh++] = (cos_kv){ "Host", p->host };

    char path_buf[1024];
    const char *pathname = p->pathname;
    char *path_heap = NULL;
    if (!pathname) {
        const char *key = p->key ? p->key : "";
        if (key[0] == '/') {
            pathname = key;
        } else if (strlen(key) + 2 <= sizeof path_buf) {
            path_buf[0] = '/';
            strcpy(path_buf + 1, key);
            pathname = path_buf;
        } else {
            path_heap = cos_sprintf("/%s", key);
            pathname = path_heap;
        }
    }

    char key_time[48];
    int64_t start = p->start_time ? p->start_time : (int64_t)time(NULL) - 1;
    int64_t end = p->end_time ? p->end_time : start + (p->expires ? p->expires : 900);
    snprintf(key_time, sizeof key_time, "%lld;%lld", (long long)start, (long long)end);

    char sig[41];
    cos_buf fs = COS_BUF_INIT, sts = COS_BUF_INIT, plist = COS_BUF_INIT, hlist = COS_BUF_INIT;
    int rc = sign_core(p->secret_key, p->method, pathname ? pathname : "/", key_time, p->query, p->query_count,
                       hs, nh, sig, debug ? &fs : NULL, debug ? &sts : NULL, &plist, &hlist);
    if (rc == 0) {
        *authorization = cos_sprintf("q-sign-algorithm=sha1&q-ak=%s&q-sign-time=%s&q-key-time=%s"
                                     "&q-header-list=%s&q-url-param-list=%s&q-signature=%s",
                                     p->secret_id, key_time, key_time, hlist.data ? hlist.data : "",
                                     plist.data ? plist.data : "", sig);
        if (!*authorization) rc = COS_ERR_NOMEM;
        if (debug) {
            debug->format_string = cos_buf_detach(&fs);
            debug->string_to_sign = cos_buf_detach(&sts);
            debug->key_time = cos_strdup(key_time);
        }
    }
    if (rc) cos_err_set(err, (cos_error_kind)rc, "could not compute the signature");
    cos_buf_free(&fs);
    cos_buf_free(&sts);
    cos_buf_free(&plist);
    cos_buf_free(&hlist);
    free(path_heap);
    if (hs != stack_headers) free(hs);
    return rc;
}

void cos_sign_debug_free(cos_sign_debug *d)
{
    if (!d) return;
    free(d->format_string);
    free(d->string_to_sign);
    free(d->key_time);
    d->format_string = d->string_to_sign = d->key_time = NULL;
}

/* ------------------------------------------------------------------ parsing */

int cos_auth_parse(const char *authorization, cos_auth_fields *out)
{
    memset(out, 0, sizeof *out);
    if (!authorization) return -1;
    struct { const char *name; char **dst; } map[] = {
        { "q-sign-algorithm", &out->algorithm }, { "q-ak", &out->ak }, { "q-sign-time", &out->sign_time },
        { "q-key-time", &out->key_time }, { "q-header-list", &out->header_list },
        { "q-url-param-list", &out->url_param_list }, { "q-signature", &out->signature },
    };
    const char *p = authorization;
    while (*p) {
        const char *amp = strchr(p, '&');
        size_t seg = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', seg);
        if (eq) {
            size_t nlen = (size_t)(eq - p);
            for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
                if (strlen(map[i].name) == nlen && strncasecmp(p, map[i].name, nlen) == 0 && !*map[i].dst) {
                    *map[i].dst = cos_uri_decode(eq + 1, seg - nlen - 1);
                    if (!*map[i].dst) {
                        cos_auth_fields_free(out);
                        return -1;
                    }
                }
            }
        }
        p += seg;
        if (*p == '&') p++;
    }
    if (!out->algorithm || !out->ak || !out->key_time || !out->signature || !out->header_list ||
        !out->url_param_list) {
        cos_auth_fields_free(out);
        return -1;
    }
    if (!out->sign_time) out->sign_time = cos_strdup(out->key_time);
    return 0;
}

void cos_auth_fields_free(cos_auth_fields *f)
{
    free(f->algorithm);
    free(f->ak);
    free(f->sign_time);
    free(f->key_time);
    free(f->header_list);
    free(f->url_param_list);
    free(f->signature);
    memset(f, 0, sizeof *f);
}

/*
 * sign.c — the COS request signature (q-sign-algorithm=sha1), byte for byte
 * the official SDK's util.getAuth, and the parser of Authorization values
 * that cos-server uses to verify them. tests/data/sign.json pins it down.
 *
 * Hot path (hundreds of thousands of signatures a second): libcrypto's
 * low-level SHA-1 (see hmac_key), the SignKey kept per thread, stack buffers
 * for digests.
 */
#define _GNU_SOURCE
/* SHA1_Init/Update/Final are deprecated in OpenSSL 3, not removed: see hmac_key */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "signer.h"
#include "url.h"
#include "cos/hash.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *const SIGNED_HEADERS[] = {
    "cache-control", "content-disposition", "content-encoding", "content-length", "content-md5",
    "content-type", "expect", "expires", "host", "if-match", "if-modified-since", "if-none-match",
    "if-unmodified-since", "origin", "range", "transfer-encoding", "pic-operations",
};

/* Case-insensitive "contains" for short ASCII names; strcasestr's two-way
 * search costs more than the whole comparison here. */
static bool contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    char first = (char)(needle[0] | 32); /* needles here start with a letter */
    for (; *hay; hay++)
        if ((*hay | 32) == first && strncasecmp(hay, needle, n) == 0) return true;
    return false;
}

bool cos_sign_header_allowed(const char *name)
{
    /* The SDK lower-cases the name and looks for the prefix anywhere in it. */
    if (contains_nocase(name, "x-cos-") || contains_nocase(name, "x-ci-")) return true;
    for (size_t i = 0; i < sizeof SIGNED_HEADERS / sizeof SIGNED_HEADERS[0]; i++)
        if (strcasecmp(name, SIGNED_HEADERS[i]) == 0) return true;
    return false;
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

/* SHA-1 through libcrypto's SHA1_Init/Update/Final: deprecated by OpenSSL 3
 * in favour of EVP, but built, and the same assembly underneath. Through EVP
 * a digest of the one or two blocks a signature hashes cost ~3,000
 * instructions of provider dispatch (callgrind), more than the hashing; a
 * signature makes five. A SHA_CTX is plain data: an HMAC key's inner and
 * outer states are computed once and copied for each message. */
/* (Not SHA1(): in OpenSSL 3 that one-shot goes through EVP and a fetch.) */
static void sha1(const void *data, size_t len, unsigned char out[SHA_DIGEST_LENGTH])
{
    SHA_CTX c;
    SHA1_Init(&c);
    SHA1_Update(&c, data, len);
    SHA1_Final(out, &c);
}

typedef struct hmac_key {
    SHA_CTX inner, outer;
} hmac_key;

static void hmac_key_init(hmac_key *hk, const void *key, size_t klen)
{
    enum { BLOCK = 64 };
    unsigned char k[BLOCK] = { 0 }, pad[BLOCK];
    if (klen > BLOCK) sha1(key, klen, k);
    else memcpy(k, key, klen);
    for (int i = 0; i < BLOCK; i++) pad[i] = k[i] ^ 0x36;
    SHA1_Init(&hk->inner);
    SHA1_Update(&hk->inner, pad, BLOCK);
    for (int i = 0; i < BLOCK; i++) pad[i] = k[i] ^ 0x5c;
    SHA1_Init(&hk->outer);
    SHA1_Update(&hk->outer, pad, BLOCK);
    OPENSSL_cleanse(k, sizeof k);
    OPENSSL_cleanse(pad, sizeof pad);
}

static void hmac_run(const hmac_key *hk, const void *msg, size_t mlen, unsigned char out[SHA_DIGEST_LENGTH])
{
    SHA_CTX c = hk->inner;
    unsigned char inner[SHA_DIGEST_LENGTH];
    SHA1_Update(&c, msg, mlen);
    SHA1_Final(inner, &c);
    c = hk->outer;
    SHA1_Update(&c, inner, sizeof inner);
    SHA1_Final(out, &c);
    OPENSSL_cleanse(&c, sizeof c);
}

/* HMAC-SHA1 (RFC 2104). */
static void hmac_sha1(const void *key, size_t klen, const void *msg, size_t mlen, unsigned char out[SHA_DIGEST_LENGTH])
{
    hmac_key hk;
    hmac_key_init(&hk, key, klen);
    hmac_run(&hk, msg, mlen, out);
    OPENSSL_cleanse(&hk, sizeof hk);
}

/* The SignKey, HMAC(SecretKey, KeyTime), of the thread's last signature,
 * and its HMAC states: a client's KeyTime stays the same for a second, so
 * consecutive signatures share it and three of a signature's five SHA-1
 * runs are saved. Kept per thread (no lock), wiped when the thread ends. */
typedef struct signkey_cache {
    char secret[128];
    size_t secret_len;
    char key_time[48];
    char sign_key[41];
    hmac_key hk; /* of sign_key */
} signkey_cache;

static pthread_key_t g_signkey_key;
static bool g_signkey_ok;
static pthread_once_t g_signkey_once = PTHREAD_ONCE_INIT;

static void signkey_free(void *p)
{
    OPENSSL_cleanse(p, sizeof(signkey_cache));
    free(p);
}

static void signkey_init_once(void) { g_signkey_ok = pthread_key_create(&g_signkey_key, signkey_free) == 0; }

void cos_sha1_hex(const void *data, size_t len, char out[41])
{
    unsigned char d[SHA_DIGEST_LENGTH];
    sha1(data, len, d);
    cos_hex_encode(d, sizeof d, out);
}

void cos_hmac_sha1_hex(const void *key, size_t klen, const void *data, size_t len, char out[41])
{
    unsigned char d[SHA_DIGEST_LENGTH];
    hmac_sha1(key, klen, data, len, d);
    cos_hex_encode(d, sizeof d, out);
}

/* One name=value pair prepared for the FormatString; the strings live in
 * one arena per signature rather than three allocations per pair. */
typedef struct sign_pair {
    const char *sort_key;  /* lower-cased raw name: the SDK sorts on it for the FormatString */
    const char *enc_name;  /* encoded, lower-cased name: what the lists carry */
    const char *enc_value; /* encoded value */
} sign_pair;

static int cmp_sort_key(const void *a, const void *b)
{
    return strcmp(((const sign_pair *)a)->sort_key, ((const sign_pair *)b)->sort_key);
}

static int cmp_enc_name(const void *a, const void *b)
{
    return strcmp(((const sign_pair *)a)->enc_name, ((const sign_pair *)b)->enc_name);
}

/* Appends a NUL-terminated lower-cased copy of s (encoded if asked); returns its offset. */
static size_t arena_put(cos_buf *arena, const char *s, bool encode, bool lower)
{
    size_t off = arena->len;
    if (encode) cos_uri_encode(arena, s, strlen(s), false);
    else cos_buf_puts(arena, s);
    if (lower)
        for (size_t i = off; i < arena->len; i++)
            if (arena->data[i] >= 'A' && arena->data[i] <= 'Z') arena->data[i] += 32;
    cos_buf_putc(arena, '\0');
    return off;
}

/* Fills p[0..n) from the two lists (params first); the pointers point into
 * arena, which must outlive them. */
static int prepare(sign_pair *p, const cos_kv *params, size_t np, const cos_kv *headers, size_t nh, cos_buf *arena)
{
    size_t n = np + nh, stack_offs[3 * 32];
    size_t *offs = n <= 32 ? stack_offs : malloc(3 * n * sizeof *offs);
    if (!offs) return COS_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const cos_kv *kv = i < np ? &params[i] : &headers[i - np];
        offs[3 * i] = arena_put(arena, kv->name, false, true);
        offs[3 * i + 1] = arena_put(arena, kv->name, true, true);
        offs[3 * i + 2] = arena_put(arena, kv->value ? kv->value : "", true, false);
    }
    /* Offsets, not pointers, while writing: the arena may move as it grows. */
    int rc = n && !arena->data ? COS_ERR_NOMEM : 0;
    for (size_t i = 0; i < n && !rc; i++)
        p[i] = (sign_pair){ arena->data + offs[3 * i], arena->data + offs[3 * i + 1], arena->data + offs[3 * i + 2] };
    if (offs != stack_offs) free(offs);
    return rc;
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

/* The thread's SignKey cache entry for this secret and KeyTime, filled
 * (sign_key = hex(HMAC(secret_key, key_time)) and its HMAC states) unless
 * it already holds them; NULL without memory, or for a secret too long to
 * keep: then *tmp is filled instead and returned. */
static const signkey_cache *sign_key_get(const char *secret_key, const char *key_time, signkey_cache *tmp)
{
    pthread_once(&g_signkey_once, signkey_init_once);
    size_t sl = strlen(secret_key), kl = strlen(key_time);
    bool fits = sl < sizeof tmp->secret && kl < sizeof tmp->key_time;
    signkey_cache *sk = g_signkey_ok && fits ? pthread_getspecific(g_signkey_key) : NULL;
    if (!sk && g_signkey_ok && fits) {
        sk = calloc(1, sizeof *sk);
        if (sk && pthread_setspecific(g_signkey_key, sk) != 0) {
            free(sk);
            sk = NULL;
        }
    }
    if (sk && sk->secret_len == sl && sk->sign_key[0] && memcmp(sk->secret, secret_key, sl) == 0 &&
        strcmp(sk->key_time, key_time) == 0)
        return sk;
    signkey_cache *out = sk ? sk : tmp;
    unsigned char d[SHA_DIGEST_LENGTH];
    hmac_sha1(secret_key, sl, key_time, kl, d);
    cos_hex_encode(d, sizeof d, out->sign_key);
    hmac_key_init(&out->hk, out->sign_key, 40);
    if (sk) {
        memcpy(sk->secret, secret_key, sl + 1);
        sk->secret_len = sl;
        memcpy(sk->key_time, key_time, kl + 1);
    }
    return out;
}

/* Core: the signature and, when auth_tail is given, the end of the
 * Authorization ("&q-header-list=...&q-url-param-list=...&q-signature=..."). */
static int sign_core(const char *secret_key, const char *method, const char *pathname, const char *key_time,
                     const cos_kv *params, size_t nparams, const cos_kv *headers, size_t nheaders,
                     char sig_hex[41], cos_buf *format_out, cos_buf *sts_out, cos_buf *auth_tail)
{
    sign_pair stack_pairs[32];
    size_t total = nparams + nheaders;
    sign_pair *pairs = total <= 32 ? stack_pairs : malloc(total * sizeof *pairs);
    if (!pairs) return COS_ERR_NOMEM;
    sign_pair *pp = pairs, *hp = pairs + nparams;
    if (!method) method = "get";
    /* The pairs point into arena, which nothing appends to once prepare()
       has resolved them; the FormatString gets its own buffer. */
    cos_buf arena = COS_BUF_INIT, fs = COS_BUF_INIT;
    int rc = cos_buf_reserve(&arena, 512) || cos_buf_reserve(&fs, 512) ? COS_ERR_NOMEM : 0;
    if (!rc) rc = prepare(pairs, params, nparams, headers, nheaders, &arena);
    if (!rc) {
        for (const char *m = method; *m; m++)
            cos_buf_putc(&fs, (char)(*m >= 'A' && *m <= 'Z' ? *m + 32 : *m));
        cos_buf_putc(&fs, '\n');
        cos_buf_puts(&fs, pathname);
        cos_buf_putc(&fs, '\n');
        put_pairs(&fs, pp, nparams);
        cos_buf_putc(&fs, '\n');
        put_pairs(&fs, hp, nheaders);
        cos_buf_putc(&fs, '\n');
        if (!fs.data) rc = COS_ERR_NOMEM;
    }
    /* SignKey = HMAC(SecretKey, KeyTime); StringToSign = "sha1\n" KeyTime "\n"
     * SHA1(FormatString) "\n"; Signature = HMAC(SignKey, StringToSign). */
    char sts[256];
    int n = 0;
    unsigned char d[SHA_DIGEST_LENGTH];
    char fs_sha[41];
    signkey_cache tmp;
    const signkey_cache *sk = NULL;
    if (!rc) {
        sk = sign_key_get(secret_key, key_time, &tmp);
        sha1(fs.data, fs.len, d);
    }
    if (!rc) {
        cos_hex_encode(d, sizeof d, fs_sha);
        size_t kt = strlen(key_time);
        if (kt + 48 > sizeof sts) {
            rc = COS_ERR_INVALID_ARG;
        } else {
            memcpy(sts, "sha1\n", 5);
            memcpy(sts + 5, key_time, kt);
            sts[5 + kt] = '\n';
            memcpy(sts + 6 + kt, fs_sha, 40);
            sts[46 + kt] = '\n';
            n = (int)(47 + kt);
        }
    }
    if (!rc) hmac_run(&sk->hk, sts, (size_t)n, d);
    if (!rc) cos_hex_encode(d, sizeof d, sig_hex);
    if (sk == &tmp) OPENSSL_cleanse(&tmp, sizeof tmp);
    if (!rc) {
        if (format_out) cos_buf_append(format_out, fs.data, fs.len);
        if (sts_out) cos_buf_append(sts_out, sts, (size_t)n);
        if (auth_tail) {
            cos_buf_puts(auth_tail, "&q-header-list=");
            put_list(auth_tail, hp, nheaders);
            cos_buf_puts(auth_tail, "&q-url-param-list=");
            put_list(auth_tail, pp, nparams);
            cos_buf_puts(auth_tail, "&q-signature=");
            cos_buf_puts(auth_tail, sig_hex);
        }
    }
    cos_buf_free(&fs);
    cos_buf_free(&arena);
    if (pairs != stack_pairs) free(pairs);
    return rc;
}

int cos_sign_compute(const char *secret_key, const char *method, const char *pathname, const char *key_time,
                     const cos_kv *params, size_t nparams, const cos_kv *headers, size_t nheaders,
                     char sig_hex[41], cos_buf *format_string, cos_buf *string_to_sign)
{
    return sign_core(secret_key, method, pathname, key_time, params, nparams, headers, nheaders, sig_hex,
                     format_string, string_to_sign, NULL);
}

/* Writes v in decimal (no NUL); returns the end. snprintf's formatting
 * machinery was a tenth of a signature's time. */
static char *put_decimal(char *w, int64_t v)
{
    char tmp[24];
    int n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do tmp[n++] = (char)('0' + u % 10); while (u /= 10);
    if (v < 0) *w++ = '-';
    while (n) *w++ = tmp[--n];
    return w;
}

static const size_t SIGN_PARAMS_SIZES[] = { [COS_SIGN_PARAMS_VERSION] = sizeof(cos_sign_params) };

int cos_sign(const cos_sign_params *params, char **authorization, cos_sign_debug *debug, cos_error **err)
{
    cos_err_reset(err);
    if (!authorization) return cos_err_invalid(err, "authorization", "NULL authorization");
    *authorization = NULL;
    if (debug) memset(debug, 0, sizeof *debug);
    cos_sign_params pv;
    if (COS_OPTIONS_IN(&pv, params, "cos_sign_params", "COS_SIGN_PARAMS_INIT", SIGN_PARAMS_SIZES, err))
        return COS_ERR_INVALID_ARG;
    const cos_sign_params *p = &pv;
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
    if (!has_host && !p->no_sign_host && !cos_str_empty(p->host)) hs[nh++] = (cos_kv){ "Host", p->host };

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
    char *w = put_decimal(key_time, start);
    *w++ = ';';
    *put_decimal(w, end) = '\0';

    char sig[41];
    cos_buf fs = COS_BUF_INIT, sts = COS_BUF_INIT, a = COS_BUF_INIT;
    const char *head[] = { "q-sign-algorithm=sha1&q-ak=", p->secret_id, "&q-sign-time=", key_time,
                           "&q-key-time=", key_time };
    cos_buf_reserve(&a, 256);
    for (size_t i = 0; i < sizeof head / sizeof head[0]; i++) cos_buf_puts(&a, head[i]);
    int rc = sign_core(p->secret_key, p->method, pathname ? pathname : "/", key_time, p->query, p->query_count,
                       hs, nh, sig, debug ? &fs : NULL, debug ? &sts : NULL, &a);
    if (rc == 0 && !a.data) rc = COS_ERR_NOMEM;
    if (rc == 0) {
        *authorization = cos_buf_detach(&a);
        if (debug) {
            debug->format_string = cos_buf_detach(&fs);
            debug->string_to_sign = cos_buf_detach(&sts);
            debug->key_time = cos_strdup(key_time);
        }
    }
    if (rc) cos_err_set(err, (cos_error_kind)rc, "could not compute the signature");
    cos_buf_free(&a);
    cos_buf_free(&fs);
    cos_buf_free(&sts);
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

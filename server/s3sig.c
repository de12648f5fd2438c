/*
 * s3sig.c — AWS Signature V4 and V2 as cos-server verifies them (see s3sig.h).
 * S3's form of SigV4: the path is encoded once and not normalized.
 */
#define _GNU_SOURCE
#include "s3sig.h"
#include "signer.h"
#include "url.h"
#include "cos/hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char *enc(const char *s, bool keep_slash)
{
    cos_buf b = COS_BUF_INIT;
    cos_buf_puts(&b, "");
    cos_uri_encode(&b, s ? s : "", s ? strlen(s) : 0, keep_slash);
    return cos_buf_detach(&b);
}

typedef struct pair { char *name, *value; } pair;

static int cmp_pair(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

/* A header value as SigV4 signs it: trimmed, inner blanks folded to one space. */
static void put_folded(cos_buf *out, const char *v)
{
    while (*v == ' ' || *v == '\t') v++;
    bool blank = false;
    for (; *v; v++) {
        if (*v == ' ' || *v == '\t') {
            blank = true;
            continue;
        }
        if (blank) cos_buf_putc(out, ' ');
        blank = false;
        cos_buf_putc(out, *v);
    }
}

char *s3_canonical_request(const char *method, const char *path, const cos_kv *query, size_t nquery,
                           const cos_kv *headers, size_t nheaders, const char *signed_headers, const char *payload)
{
    cos_buf c = COS_BUF_INIT;
    char *p = enc(path && *path ? path : "/", true);
    cos_buf_printf(&c, "%s\n%s\n", method, p);
    free(p);
    pair *q = calloc(nquery ? nquery : 1, sizeof *q);
    for (size_t i = 0; q && i < nquery; i++) {
        q[i].name = enc(query[i].name, false);
        q[i].value = enc(query[i].value, false);
    }
    if (q) qsort(q, nquery, sizeof *q, cmp_pair);
    for (size_t i = 0; q && i < nquery; i++) {
        cos_buf_printf(&c, "%s%s=%s", i ? "&" : "", q[i].name, q[i].value);
        free(q[i].name);
        free(q[i].value);
    }
    free(q);
    cos_buf_putc(&c, '\n');
    char *sh = cos_strdup(signed_headers ? signed_headers : "");
    cos_str_lower(sh);
    for (const char *s = sh; *s;) {
        const char *semi = strchr(s, ';');
        size_t len = semi ? (size_t)(semi - s) : strlen(s);
        cos_buf_printf(&c, "%.*s:", (int)len, s);
        int seen = 0;
        for (size_t i = 0; i < nheaders; i++) {
            if (strlen(headers[i].name) != len || strncasecmp(headers[i].name, s, len) != 0) continue;
            if (seen++) cos_buf_putc(&c, ',');
            put_folded(&c, headers[i].value ? headers[i].value : "");
        }
        cos_buf_putc(&c, '\n');
        s = semi ? semi + 1 : s + len;
    }
    cos_buf_printf(&c, "\n%s\n%s", sh, payload ? payload : "");
    free(sh);
    return cos_buf_detach(&c);
}

static void hmac256(const unsigned char *key, size_t klen, const char *msg, size_t mlen, unsigned char out[32])
{
    cos_hmac_sha256(key, klen, msg, mlen, out);
}

void s3_signing_key(const char *secret, const char *day, const char *region, const char *service,
                    unsigned char key[32])
{
    char *k0 = cos_sprintf("AWS4%s", secret);
    unsigned char k1[32], k2[32], k3[32];
    hmac256((const unsigned char *)k0, strlen(k0), day, strlen(day), k1);
    hmac256(k1, 32, region, strlen(region), k2);
    hmac256(k2, 32, service, strlen(service), k3);
    hmac256(k3, 32, "aws4_request", 12, key);
    OPENSSL_cleanse(k0, strlen(k0));
    OPENSSL_cleanse(k1, sizeof k1);
    free(k0);
}

static void sign_hex(const unsigned char key[32], const char *sts, char sig[65])
{
    unsigned char mac[32];
    hmac256(key, 32, sts, strlen(sts), mac);
    cos_hex_encode(mac, 32, sig);
}

void s3_v4_signature(const unsigned char key[32], const char *amz_date, const char *scope, const char *canonical,
                     char sig[65], char **string_to_sign)
{
    char hash[65];
    cos_sha256_hex(canonical, strlen(canonical), hash);
    char *sts = cos_sprintf("AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope, hash);
    sign_hex(key, sts, sig);
    if (string_to_sign) *string_to_sign = sts;
    else free(sts);
}

void s3_chunk_signature(const unsigned char key[32], const char *amz_date, const char *scope, const char *prev,
                        const char *chunk_sha256_hex, char sig[65])
{
    char *sts = cos_sprintf("AWS4-HMAC-SHA256-PAYLOAD\n%s\n%s\n%s\n" S3_EMPTY_SHA256 "\n%s", amz_date, scope, prev,
                            chunk_sha256_hex);
    sign_hex(key, sts, sig);
    free(sts);
}

void s3_trailer_signature(const unsigned char key[32], const char *amz_date, const char *scope, const char *prev,
                          const char *canonical_trailer, size_t len, char sig[65])
{
    char hash[65];
    cos_sha256_hex(canonical_trailer, len, hash);
    char *sts = cos_sprintf("AWS4-HMAC-SHA256-TRAILER\n%s\n%s\n%s\n%s", amz_date, scope, prev, hash);
    sign_hex(key, sts, sig);
    free(sts);
}

void s3_v2_signature(const char *secret, const char *string_to_sign, size_t len, char out[64])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mlen = 0;
    HMAC(EVP_sha1(), secret, (int)strlen(secret), (const unsigned char *)string_to_sign, len, mac, &mlen);
    cos_base64_encode(mac, mlen, out);
}

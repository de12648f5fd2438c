/*
 * checksum.c — S3's additional checksums (see checksum.h). The three CRCs
 * are reflected, init and final XOR all-ones, so one slicing-by-8 routine
 * serves them all, each with its own tables; CRC-32 and CRC-32C use ISA-L
 * when the build has it. SHA-1/SHA-256 are OpenSSL's.
 */
#include "checksum.h"
#include "cos/hash.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifdef COS_HAVE_ISAL
#include <isa-l/crc.h>
#endif

typedef struct {
    uint64_t poly; /* bit-reversed generator polynomial */
    uint64_t t[8][256];
} crc_tables;

static crc_tables g_crc32 = { .poly = 0xEDB88320u };
static crc_tables g_crc32c = { .poly = 0x82F63B78u };
static crc_tables g_crc64nvme = { .poly = 0x9A6C9329AC4BC9B5ULL }; /* 0xAD93D23594C93659 reversed */

static void build(crc_tables *c)
{
    for (unsigned n = 0; n < 256; n++) {
        uint64_t v = n;
        for (int k = 0; k < 8; k++) v = (v & 1) ? (v >> 1) ^ c->poly : v >> 1;
        c->t[0][n] = v;
    }
    for (unsigned n = 0; n < 256; n++) {
        uint64_t v = c->t[0][n];
        for (int k = 1; k < 8; k++) {
            v = c->t[0][v & 0xff] ^ (v >> 8);
            c->t[k][n] = v;
        }
    }
}

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static void build_all(void)
{
    build(&g_crc32);
    build(&g_crc32c);
    build(&g_crc64nvme);
}

static inline uint64_t cksum_load_le64(const unsigned char *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

/* Slicing-by-8 on a CRC held in the low bits of a 64-bit word: for a 32-bit
 * CRC the XOR with the next eight bytes simply leaves the upper four bytes
 * as data, which the tables' construction already accounts for. */
static uint64_t crc_reflected(const crc_tables *c, uint64_t mask, uint64_t crc, const void *buf, size_t len)
{
    pthread_once(&g_once, build_all);
    const unsigned char *p = buf;
    crc = ~crc & mask;
    while (len >= 8) {
        crc ^= cksum_load_le64(p);
        crc = c->t[7][crc & 0xff] ^ c->t[6][(crc >> 8) & 0xff] ^ c->t[5][(crc >> 16) & 0xff] ^
              c->t[4][(crc >> 24) & 0xff] ^ c->t[3][(crc >> 32) & 0xff] ^ c->t[2][(crc >> 40) & 0xff] ^
              c->t[1][(crc >> 48) & 0xff] ^ c->t[0][crc >> 56];
        p += 8;
        len -= 8;
    }
    while (len--) crc = c->t[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc & mask;
}

uint32_t cos_crc32_portable(uint32_t crc, const void *buf, size_t len)
{
    return (uint32_t)crc_reflected(&g_crc32, 0xffffffffu, crc, buf, len);
}

uint32_t cos_crc32c_portable(uint32_t crc, const void *buf, size_t len)
{
    return (uint32_t)crc_reflected(&g_crc32c, 0xffffffffu, crc, buf, len);
}

uint64_t cos_crc64nvme(uint64_t crc, const void *buf, size_t len)
{
    return crc_reflected(&g_crc64nvme, ~0ULL, crc, buf, len);
}

uint32_t cos_crc32(uint32_t crc, const void *buf, size_t len)
{
#ifdef COS_HAVE_ISAL
    return crc32_gzip_refl(crc, buf, len); /* inverts on entry and exit, like zlib */
#else
    return cos_crc32_portable(crc, buf, len);
#endif
}

uint32_t cos_crc32c(uint32_t crc, const void *buf, size_t len)
{
#ifdef COS_HAVE_ISAL
    /* ISA-L's iSCSI CRC neither inverts the seed nor the result. */
    return ~crc32_iscsi((unsigned char *)buf, (int)len, ~crc);
#else
    return cos_crc32c_portable(crc, buf, len);
#endif
}

/* ---------------------------------------------------------------- the running checksum */

static const struct {
    const char *name, *header;
} ALGS[] = {
    [COS_CKSUM_NONE] = { "", "" },
    [COS_CKSUM_CRC32] = { "CRC32", "x-amz-checksum-crc32" },
    [COS_CKSUM_CRC32C] = { "CRC32C", "x-amz-checksum-crc32c" },
    [COS_CKSUM_CRC64NVME] = { "CRC64NVME", "x-amz-checksum-crc64nvme" },
    [COS_CKSUM_SHA1] = { "SHA1", "x-amz-checksum-sha1" },
    [COS_CKSUM_SHA256] = { "SHA256", "x-amz-checksum-sha256" },
};

cos_cksum_alg cos_cksum_from_name(const char *name)
{
    if (!name) return COS_CKSUM_NONE;
    for (int a = COS_CKSUM_CRC32; a <= COS_CKSUM_SHA256; a++)
        if (strcasecmp(name, ALGS[a].name) == 0) return (cos_cksum_alg)a;
    return COS_CKSUM_NONE;
}

const char *cos_cksum_name(cos_cksum_alg alg)
{
    return alg > COS_CKSUM_NONE && alg <= COS_CKSUM_SHA256 ? ALGS[alg].name : NULL;
}

const char *cos_cksum_header(cos_cksum_alg alg)
{
    return alg > COS_CKSUM_NONE && alg <= COS_CKSUM_SHA256 ? ALGS[alg].header : NULL;
}

struct cos_cksum {
    cos_cksum_alg alg;
    uint64_t crc;
    EVP_MD_CTX *md;
};

cos_cksum *cos_cksum_new(cos_cksum_alg alg)
{
    if (alg <= COS_CKSUM_NONE || alg > COS_CKSUM_SHA256) return NULL;
    cos_cksum *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->alg = alg;
    if (alg == COS_CKSUM_SHA1 || alg == COS_CKSUM_SHA256) {
        c->md = EVP_MD_CTX_new();
        if (!c->md || !EVP_DigestInit_ex(c->md, alg == COS_CKSUM_SHA1 ? EVP_sha1() : EVP_sha256(), NULL)) {
            cos_cksum_free(c);
            return NULL;
        }
    }
    return c;
}

void cos_cksum_update(cos_cksum *c, const void *buf, size_t len)
{
    if (!c || !len) return;
    switch (c->alg) {
    case COS_CKSUM_CRC32: c->crc = cos_crc32((uint32_t)c->crc, buf, len); break;
    case COS_CKSUM_CRC32C: c->crc = cos_crc32c((uint32_t)c->crc, buf, len); break;
    case COS_CKSUM_CRC64NVME: c->crc = cos_crc64nvme(c->crc, buf, len); break;
    default: EVP_DigestUpdate(c->md, buf, len); break;
    }
}

size_t cos_cksum_raw(const cos_cksum *c, unsigned char out[32])
{
    size_t n = 0;
    switch (c->alg) {
    case COS_CKSUM_CRC32:
    case COS_CKSUM_CRC32C: n = 4; break;
    case COS_CKSUM_CRC64NVME: n = 8; break;
    default: {
        /* a copy, so the running digest can go on */
        EVP_MD_CTX *tmp = EVP_MD_CTX_new();
        unsigned len = 0;
        if (tmp && EVP_MD_CTX_copy_ex(tmp, c->md) && EVP_DigestFinal_ex(tmp, out, &len)) n = len;
        EVP_MD_CTX_free(tmp);
        return n;
    }
    }
    for (size_t i = 0; i < n; i++) out[i] = (unsigned char)(c->crc >> (8 * (n - 1 - i)));
    return n;
}

size_t cos_cksum_b64(const cos_cksum *c, char out[COS_CKSUM_B64_MAX])
{
    unsigned char raw[32];
    size_t n = cos_cksum_raw(c, raw);
    if (!n) {
        out[0] = '\0';
        return 0;
    }
    return cos_base64_encode(raw, n, out);
}

void cos_cksum_free(cos_cksum *c)
{
    if (!c) return;
    EVP_MD_CTX_free(c->md);
    free(c);
}

size_t cos_cksum_composite(cos_cksum_alg alg, const char *const *parts_b64, size_t n,
                           char out[COS_CKSUM_COMPOSITE_MAX])
{
    cos_cksum *all = cos_cksum_new(alg);
    if (!all) return 0;
    unsigned char raw[32];
    size_t want = cos_cksum_raw(all, raw); /* the digest length of alg */
    bool ok = n > 0;
    for (size_t i = 0; ok && i < n; i++) {
        unsigned char part[48];
        const char *b = parts_b64[i];
        /* base64 of at most 32 bytes: anything longer is not a checksum of alg */
        ok = b && strlen(b) <= 44 && cos_base64_decode(b, part) == (int64_t)want;
        if (ok) cos_cksum_update(all, part, want);
    }
    size_t len = 0;
    if (ok) {
        char b64[COS_CKSUM_B64_MAX];
        cos_cksum_b64(all, b64);
        int w = snprintf(out, COS_CKSUM_COMPOSITE_MAX, "%s-%zu", b64, n);
        len = w > 0 && w < COS_CKSUM_COMPOSITE_MAX ? (size_t)w : 0;
    }
    cos_cksum_free(all);
    return len;
}

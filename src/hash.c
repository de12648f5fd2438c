/*
 * hash.c — CRC-64/ECMA-182 (as COS sends it in x-cos-hash-crc64ecma), MD5,
 * hex and base64. CRC-64 goes through ISA-L's carry-less-multiply folding
 * when available (>10 GB/s); the portable slicing-by-8 table is the fallback
 * and the reference the tests hold ISA-L to.
 */
#define _GNU_SOURCE
#include "cos/hash.h"
#include "cos/error.h"
#include "hash_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef COS_HAVE_ISAL
#include <isa-l/crc64.h>
#endif

#define CRC64_POLY_REFLECTED 0xC96C5795D7870F42ULL /* 0x42F0E1EBA9EA3693 bit-reversed */

static uint64_t g_table[8][256];
static pthread_once_t g_table_once = PTHREAD_ONCE_INIT;

static void build_table(void)
{
    for (unsigned n = 0; n < 256; n++) {
        uint64_t c = n;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ CRC64_POLY_REFLECTED : c >> 1;
        g_table[0][n] = c;
    }
    for (unsigned n = 0; n < 256; n++) {
        uint64_t c = g_table[0][n];
        for (int k = 1; k < 8; k++) {
            c = g_table[0][c & 0xff] ^ (c >> 8);
            g_table[k][n] = c;
        }
    }
}

/* Eight bytes as a little-endian integer: the reflected CRC consumes the
 * lowest-addressed byte first, whatever the host's byte order. One load plus
 * (on big-endian hosts: s390x, some MIPS/PowerPC) one byte swap. */
static inline uint64_t load_le64(const unsigned char *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    w = __builtin_bswap64(w);
#elif !defined(__BYTE_ORDER__)
    w = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
        (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
#endif
    return w;
}

uint64_t cos_crc64_portable(uint64_t crc, const void *buf, size_t len)
{
    pthread_once(&g_table_once, build_table);
    const unsigned char *p = buf;
    crc = ~crc;
    /* Byte-wise up to an 8-byte boundary so the word loads are aligned
     * (strict-alignment cores and 32-bit ARM's ldrd want that). */
    while (len && ((uintptr_t)p & 7)) {
        crc = g_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
        len--;
    }
    while (len >= 8) {
        crc ^= load_le64(p);
        crc = g_table[7][crc & 0xff] ^ g_table[6][(crc >> 8) & 0xff] ^ g_table[5][(crc >> 16) & 0xff] ^
              g_table[4][(crc >> 24) & 0xff] ^ g_table[3][(crc >> 32) & 0xff] ^
              g_table[2][(crc >> 40) & 0xff] ^ g_table[1][(crc >> 48) & 0xff] ^ g_table[0][crc >> 56];
        p += 8;
        len -= 8;
    }
    while (len--) crc = g_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

uint64_t cos_crc64(uint64_t crc, const void *buf, size_t len)
{
#ifdef COS_HAVE_ISAL
    /* ISA-L inverts the seed on entry and the result on exit, like us. */
    return crc64_ecma_refl(crc, buf, len);
#else
    return cos_crc64_portable(crc, buf, len);
#endif
}

/* a * b mod P in CRC-64/XZ's reflected order (x^0 is the top bit). */
static uint64_t multmodp(uint64_t a, uint64_t b)
{
    uint64_t m = 1ULL << 63, p = 0;
    for (;;) {
        if (a & m) {
            p ^= b;
            if ((a & (m - 1)) == 0) break;
        }
        m >>= 1;
        b = b & 1 ? (b >> 1) ^ CRC64_POLY_REFLECTED : b >> 1;
    }
    return p;
}

/* crc(A || B) = crc(A) * x^(8 |B|) mod P, xor crc(B): the shift is built by
 * repeated squaring, a few dozen multiplications instead of zlib's older
 * 64x64 matrix squarings (~60x less work per combine). */
uint64_t cos_crc64_combine(uint64_t crc_a, uint64_t crc_b, uint64_t len_b)
{
    uint64_t shift = 1ULL << 63;   /* x^0 */
    uint64_t square = 1ULL << 55;  /* x^8: one byte */
    for (; len_b; len_b >>= 1) {
        if (len_b & 1) shift = multmodp(square, shift);
        if (len_b > 1) square = multmodp(square, square);
    }
    return multmodp(shift, crc_a) ^ crc_b;
}

/* ------------------------------------------------------------------ MD5 */

struct cos_md5 {
    EVP_MD_CTX *ctx;
};

cos_md5 *cos_md5_new(void)
{
    cos_md5 *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->ctx = EVP_MD_CTX_new();
    if (!m->ctx || !EVP_DigestInit_ex(m->ctx, EVP_md5(), NULL)) {
        cos_md5_free(m);
        return NULL;
    }
    return m;
}

void cos_md5_update(cos_md5 *m, const void *buf, size_t len)
{
    if (len) EVP_DigestUpdate(m->ctx, buf, len);
}

void cos_md5_final(cos_md5 *m, unsigned char digest[16])
{
    unsigned int n = 16;
    EVP_DigestFinal_ex(m->ctx, digest, &n);
    EVP_DigestInit_ex(m->ctx, EVP_md5(), NULL);
}

void cos_md5_free(cos_md5 *m)
{
    if (!m) return;
    EVP_MD_CTX_free(m->ctx);
    free(m);
}

void cos_md5_digest(const void *buf, size_t len, unsigned char digest[16])
{
    unsigned int n = 16;
    EVP_Digest(buf, len, digest, &n, EVP_md5(), NULL);
}

void cos_hex_encode(const unsigned char *in, size_t len, char *out)
{
    static const char HEX[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = HEX[in[i] >> 4];
        out[2 * i + 1] = HEX[in[i] & 15];
    }
    out[2 * len] = '\0';
}

size_t cos_base64_encode(const unsigned char *in, size_t len, char *out)
{
    return (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

int64_t cos_base64_decode(const char *in, unsigned char *out)
{
    size_t n = strlen(in);
    if (n % 4) return -1;
    int r = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n);
    if (r < 0) return -1;
    /* EVP_DecodeBlock counts padding as zero bytes: take them back. */
    if (n >= 1 && in[n - 1] == '=') r--;
    if (n >= 2 && in[n - 2] == '=') r--;
    return r;
}

int cos_crc64_fd(int fd, uint64_t offset, int64_t length, uint64_t *crc_out)
{
    size_t cap = 1 << 20;
    unsigned char *buf = malloc(cap);
    if (!buf) return COS_ERR_NOMEM;
    uint64_t crc = 0, pos = offset;
    uint64_t left = length < 0 ? UINT64_MAX : (uint64_t)length;
    int rc = 0;
    while (left) {
        size_t want = left < cap ? (size_t)left : cap;
        ssize_t n = pread(fd, buf, want, (off_t)pos);
        if (n < 0) {
            if (errno == EINTR) continue;
            rc = COS_ERR_IO;
            break;
        }
        if (n == 0) {
            if (length >= 0) rc = COS_ERR_IO; /* file shorter than the range */
            break;
        }
        crc = cos_crc64(crc, buf, (size_t)n);
        pos += (uint64_t)n;
        left -= (uint64_t)n;
    }
    free(buf);
    if (rc == 0) *crc_out = crc;
    return rc;
}

int cos_crc64_file(const char *path, uint64_t offset, int64_t length, uint64_t *crc_out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return COS_ERR_IO;
    int rc = cos_crc64_fd(fd, offset, length, crc_out);
    close(fd);
    return rc;
}

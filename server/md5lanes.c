/* md5lanes.c — RFC 1321 MD5, one stream on this thread or up to 8 side by
 * side: interleaved in scalar registers or in SSE2, AVX2 or AVX-512VL lanes,
 * whichever is fastest here (see md5lanes.h for why). Every path expands the
 * same list of 64 steps; tests/test_md5lanes.c checks each against OpenSSL. */
#define _GNU_SOURCE
#include "md5lanes.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define MD5_HAVE_AVX2 1
#include <immintrin.h>
#endif

static const uint32_t K[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
};

/* S(round function, the four working variables in this step's order, message word, step, shift) */
#define MD5_STEPS(S) \
    S(F1, a,b,c,d, 0, 0, 7) S(F1, d,a,b,c, 1, 1, 12) S(F1, c,d,a,b, 2, 2, 17) S(F1, b,c,d,a, 3, 3, 22) \
    S(F1, a,b,c,d, 4, 4, 7) S(F1, d,a,b,c, 5, 5, 12) S(F1, c,d,a,b, 6, 6, 17) S(F1, b,c,d,a, 7, 7, 22) \
    S(F1, a,b,c,d, 8, 8, 7) S(F1, d,a,b,c, 9, 9, 12) S(F1, c,d,a,b, 10, 10, 17) S(F1, b,c,d,a, 11, 11, 22) \
    S(F1, a,b,c,d, 12, 12, 7) S(F1, d,a,b,c, 13, 13, 12) S(F1, c,d,a,b, 14, 14, 17) S(F1, b,c,d,a, 15, 15, 22) \
    S(F2, a,b,c,d, 1, 16, 5) S(F2, d,a,b,c, 6, 17, 9) S(F2, c,d,a,b, 11, 18, 14) S(F2, b,c,d,a, 0, 19, 20) \
    S(F2, a,b,c,d, 5, 20, 5) S(F2, d,a,b,c, 10, 21, 9) S(F2, c,d,a,b, 15, 22, 14) S(F2, b,c,d,a, 4, 23, 20) \
    S(F2, a,b,c,d, 9, 24, 5) S(F2, d,a,b,c, 14, 25, 9) S(F2, c,d,a,b, 3, 26, 14) S(F2, b,c,d,a, 8, 27, 20) \
    S(F2, a,b,c,d, 13, 28, 5) S(F2, d,a,b,c, 2, 29, 9) S(F2, c,d,a,b, 7, 30, 14) S(F2, b,c,d,a, 12, 31, 20) \
    S(F3, a,b,c,d, 5, 32, 4) S(F3, d,a,b,c, 8, 33, 11) S(F3, c,d,a,b, 11, 34, 16) S(F3, b,c,d,a, 14, 35, 23) \
    S(F3, a,b,c,d, 1, 36, 4) S(F3, d,a,b,c, 4, 37, 11) S(F3, c,d,a,b, 7, 38, 16) S(F3, b,c,d,a, 10, 39, 23) \
    S(F3, a,b,c,d, 13, 40, 4) S(F3, d,a,b,c, 0, 41, 11) S(F3, c,d,a,b, 3, 42, 16) S(F3, b,c,d,a, 6, 43, 23) \
    S(F3, a,b,c,d, 9, 44, 4) S(F3, d,a,b,c, 12, 45, 11) S(F3, c,d,a,b, 15, 46, 16) S(F3, b,c,d,a, 2, 47, 23) \
    S(F4, a,b,c,d, 0, 48, 6) S(F4, d,a,b,c, 7, 49, 10) S(F4, c,d,a,b, 14, 50, 15) S(F4, b,c,d,a, 5, 51, 21) \
    S(F4, a,b,c,d, 12, 52, 6) S(F4, d,a,b,c, 3, 53, 10) S(F4, c,d,a,b, 10, 54, 15) S(F4, b,c,d,a, 1, 55, 21) \
    S(F4, a,b,c,d, 8, 56, 6) S(F4, d,a,b,c, 15, 57, 10) S(F4, c,d,a,b, 6, 58, 15) S(F4, b,c,d,a, 13, 59, 21) \
    S(F4, a,b,c,d, 4, 60, 6) S(F4, d,a,b,c, 11, 61, 10) S(F4, c,d,a,b, 2, 62, 15) S(F4, b,c,d,a, 9, 63, 21)

/* ---------------------------------------------------------------- one stream */

/* Each step waits for b, the step before's result: what does not depend on b
 * (a + word + constant, and half of F2) is added first, off that chain, so
 * after b come only the b-terms of F, one add, the rotation and + b. F2's
 * halves have no bit in common, so they are added instead of ORed. */
#define F1(t, b, c, d) ((t) + ((d) ^ ((b) & ((c) ^ (d)))))
#define F2(t, b, c, d) (((t) + (~(d) & (c))) + ((b) & (d)))
#define F3(t, b, c, d) ((t) + ((b) ^ (c) ^ (d)))
#define F4(t, b, c, d) ((t) + ((c) ^ ((b) | ~(d))))
#define SCALAR_STEP(f, a, b, c, d, g, i, s) \
    a = f(a + (m[g] + K[i]), b, c, d);      \
    a = ((a << s) | (a >> (32 - s))) + b;

static void blocks_scalar(uint32_t h[4], const unsigned char *p, size_t n)
{
    for (; n--; p += MD5_BLOCK) {
        uint32_t m[16];
        for (int i = 0; i < 16; i++) /* little-endian words on any host */
            m[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 |
                   (uint32_t)p[4 * i + 3] << 24;
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
        MD5_STEPS(SCALAR_STEP)
        h[0] += a, h[1] += b, h[2] += c, h[3] += d;
    }
}

/* ---------------------------------------------------------------- 2-4 streams, interleaved
 * A stream's steps form one chain; a core runs several chains at once
 * when their instructions come interleaved. Where a vector operation takes
 * 2 cycles (AMD Zen 5 here), 2-4 streams side by side in scalar registers
 * beat the same streams in vector lanes: 1.48 / 1.9 / 1.8 GB/s for 2 / 3 /
 * 4 streams against 0.51 / 0.72 / 0.92 with SSE2 and 0.62 / 0.87 / 1.16
 * with AVX-512VL (md5_lanes_blocks picks, see pick_small). */
#define X_DECL(j) uint32_t a##j = h##j[0], b##j = h##j[1], c##j = h##j[2], d##j = h##j[3];
/* words read where used (one load each on a little-endian host), not copied first: 1.5x faster */
#define X_STEP(j, f, a, b, c, d, g, i, s)                                                                  \
    a##j = f(a##j + (le32(p##j + 4 * g) + K[i]), b##j, c##j, d##j);                                        \
    a##j = ((a##j << s) | (a##j >> (32 - s))) + b##j;
#define X_FIN(j) h##j[0] += a##j, h##j[1] += b##j, h##j[2] += c##j, h##j[3] += d##j, p##j += MD5_BLOCK;
#define X2_STEP(f, a, b, c, d, g, i, s) X_STEP(0, f, a, b, c, d, g, i, s) X_STEP(1, f, a, b, c, d, g, i, s)
#define X3_STEP(f, a, b, c, d, g, i, s) X2_STEP(f, a, b, c, d, g, i, s) X_STEP(2, f, a, b, c, d, g, i, s)
#define X4_STEP(f, a, b, c, d, g, i, s) X3_STEP(f, a, b, c, d, g, i, s) X_STEP(3, f, a, b, c, d, g, i, s)

static inline uint32_t le32(const unsigned char *p) /* a little-endian word on any host */
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void blocks_x2(uint32_t *h0, uint32_t *h1, const unsigned char *p0, const unsigned char *p1, size_t n)
{
    for (; n--;) {
        X_DECL(0) X_DECL(1)
        MD5_STEPS(X2_STEP)
        X_FIN(0) X_FIN(1)
    }
}

static void blocks_x3(uint32_t *h0, uint32_t *h1, uint32_t *h2, const unsigned char *p0, const unsigned char *p1,
                      const unsigned char *p2, size_t n)
{
    for (; n--;) {
        X_DECL(0) X_DECL(1) X_DECL(2)
        MD5_STEPS(X3_STEP)
        X_FIN(0) X_FIN(1) X_FIN(2)
    }
}

static void blocks_x4(uint32_t *h0, uint32_t *h1, uint32_t *h2, uint32_t *h3, const unsigned char *p0,
                      const unsigned char *p1, const unsigned char *p2, const unsigned char *p3, size_t n)
{
    for (; n--;) {
        X_DECL(0) X_DECL(1) X_DECL(2) X_DECL(3)
        MD5_STEPS(X4_STEP)
        X_FIN(0) X_FIN(1) X_FIN(2) X_FIN(3)
    }
}

/* Up to 4 streams of any lengths: while some have blocks left, those go
 * side by side for as many blocks as the shortest of them has. */
static void blocks_interleaved(md5_stream *const *s, const unsigned char *const *data, const size_t *nblocks, int n)
{
    size_t done[4] = { 0 };
    for (;;) {
        int live[4], k = 0;
        size_t run = SIZE_MAX;
        for (int l = 0; l < n; l++)
            if (done[l] < nblocks[l]) {
                live[k++] = l;
                if (nblocks[l] - done[l] < run) run = nblocks[l] - done[l];
            }
        if (!k) return;
        const unsigned char *p[4];
        uint32_t *h[4];
        for (int i = 0; i < k; i++) {
            p[i] = data[live[i]] + done[live[i]] * MD5_BLOCK;
            h[i] = s[live[i]]->h;
            done[live[i]] += run;
        }
        if (k == 4) blocks_x4(h[0], h[1], h[2], h[3], p[0], p[1], p[2], p[3], run);
        else if (k == 3) blocks_x3(h[0], h[1], h[2], p[0], p[1], p[2], run);
        else if (k == 2) blocks_x2(h[0], h[1], p[0], p[1], run);
        else blocks_scalar(h[0], p[0], run);
    }
}

void md5_stream_init(md5_stream *m)
{
    memset(m, 0, sizeof *m);
    m->h[0] = 0x67452301, m->h[1] = 0xefcdab89, m->h[2] = 0x98badcfe, m->h[3] = 0x10325476;
}

void md5_stream_update(md5_stream *m, const void *data, size_t len)
{
    const unsigned char *p = data;
    m->len += len;
    if (m->tail_len) {
        size_t take = MD5_BLOCK - m->tail_len < len ? MD5_BLOCK - m->tail_len : len;
        memcpy(m->tail + m->tail_len, p, take);
        m->tail_len += take, p += take, len -= take;
        if (m->tail_len < MD5_BLOCK) return;
        blocks_scalar(m->h, m->tail, 1);
        m->tail_len = 0;
    }
    blocks_scalar(m->h, p, len / MD5_BLOCK);
    p += len - len % MD5_BLOCK;
    memcpy(m->tail, p, len % MD5_BLOCK);
    m->tail_len = len % MD5_BLOCK;
}

void md5_stream_final(md5_stream *m, unsigned char out[16])
{
    uint64_t bits = m->len * 8;
    unsigned char pad[2 * MD5_BLOCK] = { 0x80 };
    size_t padlen = (m->tail_len < 56 ? 56 : 120) - m->tail_len;
    for (int i = 0; i < 8; i++) pad[padlen + (size_t)i] = (unsigned char)(bits >> (8 * i));
    uint64_t len = m->len;
    md5_stream_update(m, pad, padlen + 8);
    m->len = len;
    for (int i = 0; i < 16; i++) out[i] = (unsigned char)(m->h[i / 4] >> (8 * (i % 4)));
}

/* ---------------------------------------------------------------- 8 lanes */

#ifdef MD5_HAVE_AVX2
/* words 0..15 of 4 blocks, transposed: w[j] holds word j of p[0..3] */
static inline void load4(const unsigned char *const p[4], __m128i w[16])
{
    for (int q = 0; q < 4; q++) {
        __m128i r0 = _mm_loadu_si128((const __m128i *)(p[0] + 16 * q));
        __m128i r1 = _mm_loadu_si128((const __m128i *)(p[1] + 16 * q));
        __m128i r2 = _mm_loadu_si128((const __m128i *)(p[2] + 16 * q));
        __m128i r3 = _mm_loadu_si128((const __m128i *)(p[3] + 16 * q));
        __m128i t0 = _mm_unpacklo_epi32(r0, r1), t1 = _mm_unpackhi_epi32(r0, r1);
        __m128i t2 = _mm_unpacklo_epi32(r2, r3), t3 = _mm_unpackhi_epi32(r2, r3);
        w[4 * q] = _mm_unpacklo_epi64(t0, t2);
        w[4 * q + 1] = _mm_unpackhi_epi64(t0, t2);
        w[4 * q + 2] = _mm_unpacklo_epi64(t1, t3);
        w[4 * q + 3] = _mm_unpackhi_epi64(t1, t3);
    }
}

/* The lanes' chaining values in and out of registers: h[j][l] is word j of lane l's. */
static size_t lanes_gather(md5_stream *const *s, const size_t *nblocks, int n, uint32_t h[4][8])
{
    size_t most = 0;
    for (int l = 0; l < n; l++) {
        for (int j = 0; j < 4; j++) h[j][l] = s[l]->h[j];
        if (nblocks[l] > most) most = nblocks[l];
    }
    return most;
}

static void lanes_scatter(md5_stream *const *s, int n, uint32_t h[4][8])
{
    for (int l = 0; l < n; l++)
        for (int j = 0; j < 4; j++) s[l]->h[j] = h[j][l];
}

#define V_ROTL(x, s) _mm256_or_si256(_mm256_slli_epi32(x, s), _mm256_srli_epi32(x, 32 - (s)))
/* as F1..F4 above: t (a + word + constant) is added before b is known */
#define V_F1(t, b, c, d) _mm256_add_epi32(t, _mm256_xor_si256(d, _mm256_and_si256(b, _mm256_xor_si256(c, d))))
#define V_F2(t, b, c, d) _mm256_add_epi32(_mm256_add_epi32(t, _mm256_andnot_si256(d, c)), _mm256_and_si256(b, d))
#define V_F3(t, b, c, d) _mm256_add_epi32(t, _mm256_xor_si256(b, _mm256_xor_si256(c, d)))
#define V_F4(t, b, c, d) _mm256_add_epi32(t, _mm256_xor_si256(c, _mm256_or_si256(b, _mm256_xor_si256(d, ones))))
#define VECTOR_STEP(f, a, b, c, d, g, i, s)                                                                \
    a = V_##f(_mm256_add_epi32(a, _mm256_add_epi32(w[g], _mm256_set1_epi32((int)K[i]))), b, c, d);        \
    a = _mm256_add_epi32(V_ROTL(a, s), b);

/* rows r[0..7] (8 words of lanes 0..7) -> columns (word j of every lane) */
__attribute__((target("avx2"))) static inline void transpose8(__m256i r[8], __m256i *out)
{
    __m256i t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_epi32(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_epi32(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = _mm256_unpacklo_epi64(t[i], t[i + 2]);
        u[i + 1] = _mm256_unpackhi_epi64(t[i], t[i + 2]);
        u[i + 2] = _mm256_unpacklo_epi64(t[i + 1], t[i + 3]);
        u[i + 3] = _mm256_unpackhi_epi64(t[i + 1], t[i + 3]);
    }
    for (int i = 0; i < 4; i++) {
        out[i] = _mm256_permute2x128_si256(u[i], u[i + 4], 0x20);
        out[i + 4] = _mm256_permute2x128_si256(u[i], u[i + 4], 0x31);
    }
}

__attribute__((target("avx2"))) static void blocks_avx2(md5_stream *const *s, const unsigned char *const *data,
                                                         const size_t *nblocks, int n)
{
    static const unsigned char idle[MD5_BLOCK];
    uint32_t hv[4][8] = { { 0 } };
    size_t most = lanes_gather(s, nblocks, n, hv);
    __m256i h0 = _mm256_loadu_si256((const __m256i *)hv[0]), h1 = _mm256_loadu_si256((const __m256i *)hv[1]);
    __m256i h2 = _mm256_loadu_si256((const __m256i *)hv[2]), h3 = _mm256_loadu_si256((const __m256i *)hv[3]);
    const __m256i ones = _mm256_set1_epi32(-1);
    for (size_t k = 0; k < most; k++) {
        __m256i r[8], w[16];
        int32_t live[8];
        for (int l = 0; l < 8; l++) {
            bool on = l < n && k < nblocks[l];
            const unsigned char *p = on ? data[l] + k * MD5_BLOCK : idle;
            live[l] = on ? -1 : 0;
            r[l] = _mm256_loadu_si256((const __m256i *)p);
        }
        transpose8(r, w);
        for (int l = 0; l < 8; l++) {
            const unsigned char *p = live[l] ? data[l] + k * MD5_BLOCK : idle;
            r[l] = _mm256_loadu_si256((const __m256i *)(p + 32));
        }
        transpose8(r, w + 8);
        __m256i a = h0, b = h1, c = h2, d = h3;
        MD5_STEPS(VECTOR_STEP)
        /* a lane without a block this round keeps its chaining value */
        __m256i mask = _mm256_loadu_si256((const __m256i *)live);
        h0 = _mm256_add_epi32(h0, _mm256_and_si256(a, mask));
        h1 = _mm256_add_epi32(h1, _mm256_and_si256(b, mask));
        h2 = _mm256_add_epi32(h2, _mm256_and_si256(c, mask));
        h3 = _mm256_add_epi32(h3, _mm256_and_si256(d, mask));
    }
    _mm256_storeu_si256((__m256i *)hv[0], h0), _mm256_storeu_si256((__m256i *)hv[1], h1);
    _mm256_storeu_si256((__m256i *)hv[2], h2), _mm256_storeu_si256((__m256i *)hv[3], h3);
    lanes_scatter(s, n, hv);
}

/* ---------------------------------------------------------------- 4 lanes (SSE2) */

/* Some x86-64 cores execute a 256-bit operation as two 128-bit halves: there
 * 4 streams cost as much in 128-bit lanes as in half-empty 256-bit ones. */
#define X_ROTL(x, s) _mm_or_si128(_mm_slli_epi32(x, s), _mm_srli_epi32(x, 32 - (s)))
#define X_F1(t, b, c, d) _mm_add_epi32(t, _mm_xor_si128(d, _mm_and_si128(b, _mm_xor_si128(c, d))))
#define X_F2(t, b, c, d) _mm_add_epi32(_mm_add_epi32(t, _mm_andnot_si128(d, c)), _mm_and_si128(b, d))
#define X_F3(t, b, c, d) _mm_add_epi32(t, _mm_xor_si128(b, _mm_xor_si128(c, d)))
#define X_F4(t, b, c, d) _mm_add_epi32(t, _mm_xor_si128(c, _mm_or_si128(b, _mm_xor_si128(d, ones))))
#define SSE_STEP(f, a, b, c, d, g, i, s)                                                                   \
    a = X_##f(_mm_add_epi32(a, _mm_add_epi32(w[g], _mm_set1_epi32((int)K[i]))), b, c, d);                 \
    a = _mm_add_epi32(X_ROTL(a, s), b);

static void blocks_sse(md5_stream *const *s, const unsigned char *const *data, const size_t *nblocks, int n)
{
    static const unsigned char idle[MD5_BLOCK];
    uint32_t hv[4][4] = { { 0 } };
    size_t most = 0, second = 0; /* the longest stream's blocks, and the next longest's */
    int top = 0;
    for (int l = 0; l < n; l++) {
        for (int j = 0; j < 4; j++) hv[j][l] = s[l]->h[j];
        if (nblocks[l] > most) second = most, most = nblocks[l], top = l;
        else if (nblocks[l] > second) second = nblocks[l];
    }
    __m128i h0 = _mm_loadu_si128((const __m128i *)hv[0]), h1 = _mm_loadu_si128((const __m128i *)hv[1]);
    __m128i h2 = _mm_loadu_si128((const __m128i *)hv[2]), h3 = _mm_loadu_si128((const __m128i *)hv[3]);
    const __m128i ones = _mm_set1_epi32(-1);
    /* past the second longest only one lane would be live: a whole vector
       step per block costs more than the one stream alone (0.4 against 0.58 GB/s) */
    for (size_t k = 0; k < second; k++) {
        const unsigned char *p[4];
        int32_t live[4];
        for (int l = 0; l < 4; l++) {
            bool on = l < n && k < nblocks[l];
            p[l] = on ? data[l] + k * MD5_BLOCK : idle;
            live[l] = on ? -1 : 0;
        }
        __m128i w[16];
        load4(p, w);
        __m128i a = h0, b = h1, c = h2, d = h3;
        MD5_STEPS(SSE_STEP)
        __m128i mask = _mm_loadu_si128((const __m128i *)live);
        h0 = _mm_add_epi32(h0, _mm_and_si128(a, mask));
        h1 = _mm_add_epi32(h1, _mm_and_si128(b, mask));
        h2 = _mm_add_epi32(h2, _mm_and_si128(c, mask));
        h3 = _mm_add_epi32(h3, _mm_and_si128(d, mask));
    }
    _mm_storeu_si128((__m128i *)hv[0], h0), _mm_storeu_si128((__m128i *)hv[1], h1);
    _mm_storeu_si128((__m128i *)hv[2], h2), _mm_storeu_si128((__m128i *)hv[3], h3);
    for (int l = 0; l < n; l++)
        for (int j = 0; j < 4; j++) s[l]->h[j] = hv[j][l];
    if (most > second) blocks_scalar(s[top]->h, data[top] + second * MD5_BLOCK, most - second);
}

static bool have_avx2(void)
{
    static int known; /* 0 unknown, 1 no, 2 yes; a benign race: every thread computes the same */
    if (!known) known = __builtin_cpu_supports("avx2") ? 2 : 1;
    return known == 2;
}

/* ---------------------------------------------------------------- AVX-512VL
 * Each step waits for the one before: its chain (F of b, the add, the
 * rotation, + b) is what a block costs, in any lane count. AVX-512VL has
 * F in one instruction (vpternlogd) and the rotation in one (vprold): 4
 * operations on the chain instead of 6 (SSE2, AVX2) or 5 (scalar), in
 * 128- or 256-bit registers alike. Where a vector operation takes 2 cycles
 * (Zen 5) that is 8 against the scalar 5, and only lanes make up for it:
 * pick_paths decides. A lane without a block this round is masked off. */
/* vpternlogd's table of each round function, of (b, c, d) as (0xf0, 0xcc, 0xaa) */
enum { T_F1 = 0xca, T_F2 = 0xe4, T_F3 = 0x96, T_F4 = 0x39 };
#define Z_STEP(W, f, a, b, c, d, g, i, s)                                                                  \
    a = W##_add_epi32(a, W##_add_epi32(w[g], W##_set1_epi32((int)K[i])));                                  \
    a = W##_add_epi32(W##_rol_epi32(W##_add_epi32(a, W##_ternarylogic_epi32(b, c, d, T_##f)), s), b);
#define Z4_STEP(f, a, b, c, d, g, i, s) Z_STEP(_mm, f, a, b, c, d, g, i, s)
#define Z8_STEP(f, a, b, c, d, g, i, s) Z_STEP(_mm256, f, a, b, c, d, g, i, s)

/* Block k of each of width lanes into p (an idle block past a lane's end);
 * bit l set where lane l has one. */
static unsigned lanes_at(const unsigned char *const *data, const size_t *nblocks, int n, size_t k, int width,
                         const unsigned char **p)
{
    static const unsigned char idle[MD5_BLOCK];
    unsigned live = 0;
    for (int l = 0; l < width; l++) {
        bool on = l < n && k < nblocks[l];
        p[l] = on ? data[l] + k * MD5_BLOCK : idle;
        live |= (unsigned)on << l;
    }
    return live;
}

/* words 0..15 of 8 blocks, transposed: w[j] holds word j of p[0..7] */
__attribute__((target("avx2"))) static inline void load8(const unsigned char *const p[8], __m256i w[16])
{
    __m256i r[8];
    for (int l = 0; l < 8; l++) r[l] = _mm256_loadu_si256((const __m256i *)p[l]);
    transpose8(r, w);
    for (int l = 0; l < 8; l++) r[l] = _mm256_loadu_si256((const __m256i *)(p[l] + 32));
    transpose8(r, w + 8);
}

/* up to `width` lanes in V registers (W the intrinsics' prefix, LD and ST their loads and stores) */
#define AVX512_LANES(name, V, W, LD, ST, width, LOAD, STEP)                                                  \
    __attribute__((target("avx512f,avx512vl"))) static void name(md5_stream *const *s,                       \
                                                                 const unsigned char *const *data,           \
                                                                 const size_t *nblocks, int n)               \
    {                                                                                                        \
        uint32_t hv[4][8] = { { 0 } };                                                                       \
        size_t most = lanes_gather(s, nblocks, n, hv);                                                       \
        V h0 = LD((const V *)hv[0]), h1 = LD((const V *)hv[1]), h2 = LD((const V *)hv[2]),                   \
          h3 = LD((const V *)hv[3]);                                                                         \
        for (size_t k = 0; k < most; k++) {                                                                  \
            const unsigned char *p[width];                                                                   \
            __mmask8 live = (__mmask8)lanes_at(data, nblocks, n, k, width, p);                               \
            V w[16];                                                                                         \
            LOAD(p, w);                                                                                      \
            V a = h0, b = h1, c = h2, d = h3;                                                                \
            MD5_STEPS(STEP)                                                                                  \
            h0 = W##_mask_add_epi32(h0, live, h0, a), h1 = W##_mask_add_epi32(h1, live, h1, b);              \
            h2 = W##_mask_add_epi32(h2, live, h2, c), h3 = W##_mask_add_epi32(h3, live, h3, d);              \
        }                                                                                                    \
        ST((V *)hv[0], h0), ST((V *)hv[1], h1), ST((V *)hv[2], h2), ST((V *)hv[3], h3);                      \
        lanes_scatter(s, n, hv);                                                                             \
    }
AVX512_LANES(blocks_avx512_4, __m128i, _mm, _mm_loadu_si128, _mm_storeu_si128, 4, load4, Z4_STEP)
AVX512_LANES(blocks_avx512_8, __m256i, _mm256, _mm256_loadu_si256, _mm256_storeu_si256, 8, load8, Z8_STEP)

static bool have_avx512(void)
{
    static int known; /* as have_avx2's */
    if (!known) known = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") ? 2 : 1;
    return known == 2;
}
#endif

/* ---------------------------------------------------------------- choosing */

typedef void lanes_fn(md5_stream *const *s, const unsigned char *const *data, const size_t *nblocks, int n);

static void lanes_scalar(md5_stream *const *s, const unsigned char *const *data, const size_t *nblocks, int n)
{
    for (int l = 0; l < n; l++) blocks_scalar(s[l]->h, data[l], nblocks[l]);
}

static void lanes_interleaved(md5_stream *const *s, const unsigned char *const *data, const size_t *nblocks, int n)
{
    for (int i = 0; i < n; i += 4) blocks_interleaved(s + i, data + i, nblocks + i, n - i < 4 ? n - i : 4);
}

#ifdef MD5_HAVE_AVX2
static void lanes_sse(md5_stream *const *s, const unsigned char *const *data, const size_t *nblocks, int n)
{
    if (n > 4) lanes_scalar(s, data, nblocks, n);
    else blocks_sse(s, data, nblocks, n);
}

static void lanes_avx2(md5_stream *const *s, const unsigned char *const *data, const size_t *nblocks, int n)
{
    if (!have_avx2()) lanes_scalar(s, data, nblocks, n);
    else blocks_avx2(s, data, nblocks, n);
}

static void lanes_avx512(md5_stream *const *s, const unsigned char *const *data, const size_t *nblocks, int n)
{
    if (!have_avx512()) lanes_scalar(s, data, nblocks, n);
    else if (n <= 4) blocks_avx512_4(s, data, nblocks, n);
    else blocks_avx512_8(s, data, nblocks, n);
}
#endif

static const struct { lanes_fn *fn; const char *name; } PATHS[] = {
    [MD5_PATH_SCALAR] = { lanes_scalar, "scalar" },
    [MD5_PATH_INTERLEAVED] = { lanes_interleaved, "interleaved" },
#ifdef MD5_HAVE_AVX2
    [MD5_PATH_SSE2] = { lanes_sse, "sse2" },
    [MD5_PATH_AVX2] = { lanes_avx2, "avx2" },
    [MD5_PATH_AVX512] = { lanes_avx512, "avx512vl" },
#endif
};

/* Which path is fastest depends on the core (the latency of its vector
 * operations, how many scalar ones it runs at once), so each count of
 * streams takes the path that hashed a few KiB fastest here, once. */
static pthread_once_t picked_once = PTHREAD_ONCE_INIT;
static int picked[MD5_LANES + 1];
static char picked_text[160]; /* "1 scalar, 2 interleaved, ..." for logs and benches */
static int forced = MD5_PATH_AUTO;

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* SSE2 lanes take 2-4 streams (one alone, or more, go to the scalar code) */
static bool trial_fits(int path, int n) { return path != MD5_PATH_SSE2 || (n > 1 && n <= 4); }

static void pick_paths(void)
{
    enum { TRIAL_BLOCKS = 128 };
    static const unsigned char zeros[MD5_LANES * TRIAL_BLOCKS * MD5_BLOCK]; /* the bytes do not change the time */
    int cands[] = { MD5_PATH_SCALAR, MD5_PATH_INTERLEAVED,
#ifdef MD5_HAVE_AVX2
                    MD5_PATH_SSE2, have_avx2() ? MD5_PATH_AVX2 : MD5_PATH_SCALAR,
                    have_avx512() ? MD5_PATH_AVX512 : MD5_PATH_SCALAR
#endif
    };
    for (int n = 1; n <= MD5_LANES; n++) {
        md5_stream st[MD5_LANES], *sp[MD5_LANES];
        const unsigned char *data[MD5_LANES];
        size_t nblocks[MD5_LANES];
        for (int l = 0; l < n; l++) {
            md5_stream_init(&st[l]);
            sp[l] = &st[l];
            data[l] = zeros + (size_t)l * TRIAL_BLOCKS * MD5_BLOCK;
            nblocks[l] = TRIAL_BLOCKS;
        }
        enum { NC = sizeof cands / sizeof *cands };
        double least[NC] = { 0 };
        /* the least of 5 trials, the paths taking turns: a disturbed moment is no path's cost */
        for (int rep = 0; rep < 5; rep++)
            for (size_t c = 0; c < NC; c++) {
                if (!trial_fits(cands[c], n)) continue;
                double t0 = thread_cpu_s();
                PATHS[cands[c]].fn(sp, data, nblocks, n);
                double t = thread_cpu_s() - t0;
                if (rep == 0 || t < least[c]) least[c] = t;
            }
        size_t best = 0;
        for (size_t c = 1; c < NC; c++)
            if (trial_fits(cands[c], n) && least[c] < least[best]) best = c;
        picked[n] = cands[best];
        size_t at = strlen(picked_text);
        snprintf(picked_text + at, sizeof picked_text - at, "%s%d %s", n > 1 ? ", " : "", n, PATHS[picked[n]].name);
    }
}

int md5_lanes_force(int path)
{
    int was = forced;
    forced = path >= MD5_PATH_AUTO && path < (int)(sizeof PATHS / sizeof *PATHS) && (!path || PATHS[path].fn) ? path
                                                                                                             : MD5_PATH_SCALAR;
    return was;
}

static int path_for(int n)
{
    if (forced != MD5_PATH_AUTO) return forced;
    pthread_once(&picked_once, pick_paths);
    return picked[n < 1 ? 1 : n > MD5_LANES ? MD5_LANES : n];
}

void md5_lanes_blocks(md5_stream *const *s, const unsigned char *const *data, const size_t *nblocks, int n)
{
    for (int l = 0; l < n; l++) s[l]->len += (uint64_t)nblocks[l] * MD5_BLOCK;
    if (n > 0) PATHS[path_for(n)].fn(s, data, nblocks, n);
}

const char *md5_lanes_path(void)
{
    if (forced != MD5_PATH_AUTO) return PATHS[forced].name;
    pthread_once(&picked_once, pick_paths);
    return picked_text;
}

/* test_md5lanes.c — cos-server's own MD5 (server/md5lanes.c) against
 * OpenSSL's through cos_md5: one stream fed in odd pieces, and 1 to 8
 * streams advanced side by side with different block counts (idle lanes,
 * lanes that stop early, one lane far longer than the rest, the longest tied), then finished with their tails. A wrong ETag here
 * would be a wrong ETag on every stored object. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cos/hash.h"
#include "md5lanes.h"

static int failures;
#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
            failures++;                                                         \
        }                                                                       \
    } while (0)

static uint64_t rng = 0x2545F4914F6CDD1Du;
static uint32_t next(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

static void reference(const unsigned char *p, size_t len, unsigned char out[16])
{
    cos_md5 *m = cos_md5_new();
    cos_md5_update(m, p, len);
    cos_md5_final(m, out);
    cos_md5_free(m);
}

static void check_paths(const unsigned char *buf, size_t max);

int main(void)
{
    enum { MAX = 1 << 16 };
    unsigned char *buf = malloc(8 * (size_t)MAX);
    for (size_t i = 0; i < 8 * (size_t)MAX; i++) buf[i] = (unsigned char)next();
    unsigned char got[16];

    /* RFC 1321's own examples */
    md5_stream m;
    md5_stream_init(&m);
    md5_stream_final(&m, got);
    CHECK(!memcmp(got, "\xd4\x1d\x8c\xd9\x8f\x00\xb2\x04\xe9\x80\x09\x98\xec\xf8\x42\x7e", 16), "md5 of nothing");
    md5_stream_init(&m);
    md5_stream_update(&m, "abc", 3);
    md5_stream_final(&m, got);
    CHECK(!memcmp(got, "\x90\x01\x50\x98\x3c\xd2\x4f\xb0\xd6\x96\x3f\x7d\x28\xe1\x7f\x72", 16), "md5 of abc");

    /* every path, then the one chosen per count of streams: the choice alone would
       leave the others untested here (a wrong ETag only on another machine) */
    for (int path = MD5_PATH_SCALAR; path < MD5_PATHS; path++) {
        md5_lanes_force(path);
        check_paths(buf, MAX);
    }
    md5_lanes_force(MD5_PATH_AUTO);
    check_paths(buf, MAX);
    free(buf);
    if (failures) {
        fprintf(stderr, "%d failures\n", failures);
        return 1;
    }
    printf("ok\n");
    return 0;
}

static void check_paths(const unsigned char *buf, size_t max)
{
    unsigned char want[16], got[16];
    md5_stream m;
    /* one stream, every length around the padding boundaries, in random pieces, and long ones */
    for (size_t len = 0; len < 300 + 3 * max; len += len < 300 ? 1 : max - 1) {
        md5_stream_init(&m);
        for (size_t off = 0; off < len;) {
            size_t piece = len < 300 ? next() % 70 : next() % max;
            if (piece > len - off) piece = len - off;
            md5_stream_update(&m, buf + off, piece);
            off += piece;
        }
        md5_stream_final(&m, got);
        reference(buf, len, want);
        CHECK(!memcmp(got, want, 16), "%s, one stream of %zu bytes", md5_lanes_path(), len);
    }

    /* n streams side by side, each with its own block count (0 included), then a tail */
    printf("md5 lanes path: %s\n", md5_lanes_path());
    fflush(stdout);
    for (int round = 0; round < 200; round++) {
        int n = 1 + (int)(next() % MD5_LANES);
        md5_stream st[MD5_LANES], *sp[MD5_LANES];
        const unsigned char *data[MD5_LANES];
        size_t nblocks[MD5_LANES], tail[MD5_LANES];
        for (int l = 0; l < n; l++) {
            md5_stream_init(&st[l]);
            sp[l] = &st[l];
            data[l] = buf + (size_t)l * max + next() % 64; /* unaligned on purpose */
            nblocks[l] = round % 7 == 0 ? 0 : next() % (max / MD5_BLOCK - 2);
            if (round % 5 == 1) nblocks[l] = l == 0 ? max / MD5_BLOCK - 2 : next() % 8; /* one lane far longer: its rest alone */
            if (round % 5 == 2) nblocks[l] = l < 2 ? 500 : next() % 500;              /* the longest tied */
            tail[l] = next() % 64;
        }
        /* in two calls, so a state carried between calls is exercised too */
        size_t first[MD5_LANES];
        const unsigned char *rest[MD5_LANES];
        size_t second[MD5_LANES];
        for (int l = 0; l < n; l++) {
            first[l] = nblocks[l] / 2;
            second[l] = nblocks[l] - first[l];
            rest[l] = data[l] + first[l] * MD5_BLOCK;
        }
        md5_lanes_blocks(sp, data, first, n);
        md5_lanes_blocks(sp, rest, second, n);
        for (int l = 0; l < n; l++) {
            size_t len = nblocks[l] * MD5_BLOCK + tail[l];
            md5_stream_update(&st[l], data[l] + nblocks[l] * MD5_BLOCK, tail[l]);
            md5_stream_final(&st[l], got);
            reference(data[l], len, want);
            CHECK(!memcmp(got, want, 16), "%s, round %d: lane %d of %d, %zu bytes", md5_lanes_path(), round, l, n, len);
        }
    }
}

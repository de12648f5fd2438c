/* test_hash.c — CRC-64 (ISA-L and portable), combine, MD5, base64 against tests/data vectors. */
#include "testlib.h"
#include "hash_internal.h"
#include "checksum.h"
#include "json.h"

static unsigned char *gen_input(const cos_json *c, size_t *len)
{
    int64_t n = 0;
    cos_json_get_i64(c, "len", &n);
    const char *hex = cos_json_get_str(c, "hex_input");
    const char *gen = cos_json_get_str(c, "gen");
    unsigned char *buf = malloc((size_t)n + 1);
    if (hex) {
        for (int64_t i = 0; i < n; i++) {
            unsigned v;
            sscanf(hex + 2 * i, "%2x", &v);
            buf[i] = (unsigned char)v;
        }
    } else if (gen && strcmp(gen, "zeros") == 0) {
        memset(buf, 0, (size_t)n);
    } else {
        int64_t seed = 0;
        cos_json_get_i64(c, "seed", &seed);
        test_lcg_fill(buf, (size_t)n, (uint32_t)seed);
    }
    *len = (size_t)n;
    return buf;
}

static cos_json *load(const char *name)
{
    size_t len;
    char *text = test_read_data(name, &len);
    CHECK(text != NULL);
    cos_json *j = text ? cos_json_parse(text, len, NULL) : NULL;
    free(text);
    CHECK(j != NULL);
    return j;
}

static uint64_t u64(const char *s)
{
    uint64_t v = 0;
    cos_parse_u64(s, &v);
    return v;
}

static void test_crc64_vectors(void)
{
    cos_json *j = load("crc64.json");
    const cos_json *cases = cos_json_get(j, "cases");
    CHECK(cases && cases->count >= 5);
    for (size_t i = 0; cases && i < cases->count; i++) {
        const cos_json *c = &cases->items[i];
        size_t len;
        unsigned char *buf = gen_input(c, &len);
        uint64_t want = u64(cos_json_get_str(c, "crc64"));
        CHECK(cos_crc64(0, buf, len) == want);
        CHECK(cos_crc64_portable(0, buf, len) == want);
        /* chained in uneven pieces gives the same value */
        uint64_t crc = 0;
        for (size_t off = 0; off < len;) {
            size_t n = COS_MIN(len - off, (size_t)(off % 7919 + 1));
            crc = cos_crc64(crc, buf + off, n);
            off += n;
        }
        CHECK(crc == want);
        free(buf);
    }
    cos_json_free(j);
}

/* Bit at a time, straight from the definition (reflected ECMA-182, init and
 * final xor all ones): no table, no word loads, no byte order. */
static uint64_t crc64_bitwise(const unsigned char *p, size_t len)
{
    uint64_t crc = ~0ULL;
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++) crc = (crc & 1) ? (crc >> 1) ^ 0xC96C5795D7870F42ULL : crc >> 1;
    }
    return ~crc;
}

/* The slicing-by-8 path at every alignment and across its byte-wise head
 * and tail, split at every point: where word loads, byte order (s390x) or
 * strict alignment (armhf) would go wrong. */
static void test_crc64_alignments(void)
{
    unsigned char *buf = malloc(4096 + 8);
    test_lcg_fill(buf, 4096 + 8, 23);
    int bad = 0;
    for (size_t off = 0; off < 8; off++) {
        for (size_t len = 0; len <= 80; len++) {
            uint64_t want = crc64_bitwise(buf + off, len);
            if (cos_crc64_portable(0, buf + off, len) != want || cos_crc64(0, buf + off, len) != want) bad++;
            for (size_t cut = 0; cut <= len; cut += 3)
                if (cos_crc64_portable(cos_crc64_portable(0, buf + off, cut), buf + off + cut, len - cut) != want) bad++;
        }
        if (cos_crc64_portable(0, buf + off, 4096) != crc64_bitwise(buf + off, 4096)) bad++;
    }
    CHECK_INT(bad, 0);
    free(buf);
}

static void test_crc64_combine(void)
{
    cos_json *j = load("crc64.json");
    const cos_json *cases = cos_json_get(j, "combine");
    CHECK(cases && cases->count > 0);
    for (size_t i = 0; cases && i < cases->count; i++) {
        const cos_json *c = &cases->items[i];
        int64_t seed = 0, total = 0, cut = 0;
        cos_json_get_i64(c, "seed", &seed);
        cos_json_get_i64(c, "total_len", &total);
        cos_json_get_i64(c, "cut", &cut);
        uint64_t a = u64(cos_json_get_str(c, "crc_a")), b = u64(cos_json_get_str(c, "crc_b"));
        int64_t len_b = 0;
        cos_json_get_i64(c, "len_b", &len_b);
        CHECK(cos_crc64_combine(a, b, (uint64_t)len_b) == u64(cos_json_get_str(c, "crc_ab")));
        unsigned char *buf = malloc((size_t)total);
        test_lcg_fill(buf, (size_t)total, (uint32_t)seed);
        CHECK(cos_crc64(0, buf, (size_t)cut) == a);
        CHECK(cos_crc64(0, buf + cut, (size_t)(total - cut)) == b);
        free(buf);
    }
    cos_json_free(j);
    /* every length class the shift is built from: 0, single bits, all ones, odd sizes */
    static const size_t lens[] = { 0, 1, 2, 3, 7, 8, 9, 63, 64, 255, 4096, 65537, 1048575 };
    unsigned char *buf = malloc(100 + 1048575);
    if (!buf) return;
    test_lcg_fill(buf, 100 + 1048575, 7);
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        uint64_t a = cos_crc64(0, buf, 100), b = cos_crc64(0, buf + 100, lens[i]);
        CHECK(cos_crc64_combine(a, b, lens[i]) == cos_crc64(0, buf, 100 + lens[i]));
    }
    free(buf);
}

static void test_md5_vectors(void)
{
    cos_json *j = load("md5.json");
    const cos_json *cases = cos_json_get(j, "cases");
    for (size_t i = 0; cases && i < cases->count; i++) {
        const cos_json *c = &cases->items[i];
        const char *in = cos_json_get_str(c, "input_utf8");
        size_t len;
        unsigned char *buf;
        if (in) {
            len = strlen(in);
            buf = (unsigned char *)cos_strdup(in);
        } else {
            buf = gen_input(c, &len);
        }
        unsigned char d[16];
        char hex[33], b64[25];
        cos_md5_digest(buf, len, d);
        cos_hex_encode(d, 16, hex);
        CHECK_STR(hex, cos_json_get_str(c, "hex"));
        cos_base64_encode(d, 16, b64);
        CHECK_STR(b64, cos_json_get_str(c, "content_md5"));
        /* incremental equals one-shot */
        cos_md5 *m = cos_md5_new();
        cos_md5_update(m, buf, len / 3);
        cos_md5_update(m, buf + len / 3, len - len / 3);
        unsigned char d2[16];
        cos_md5_final(m, d2);
        CHECK(memcmp(d, d2, 16) == 0);
        cos_md5_free(m);
        free(buf);
    }
    /* multipart ETag: md5 of the raw part digests, "-N" */
    const cos_json *mp = cos_json_get(j, "multipart_etag");
    const cos_json *parts = cos_json_get(mp, "parts");
    unsigned char cat[16 * 16];
    size_t np = parts ? parts->count : 0;
    for (size_t i = 0; i < np; i++) {
        size_t len;
        unsigned char *buf = gen_input(&parts->items[i], &len);
        cos_md5_digest(buf, len, cat + 16 * i);
        free(buf);
    }
    unsigned char d[16];
    char hex[33], etag[64];
    cos_md5_digest(cat, 16 * np, d);
    cos_hex_encode(d, 16, hex);
    snprintf(etag, sizeof etag, "\"%s-%zu\"", hex, np);
    CHECK_STR(etag, cos_json_get_str(mp, "etag"));
    cos_json_free(j);
}

static void test_base64(void)
{
    const char *in[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
    const char *out[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
    for (size_t i = 0; i < 7; i++) {
        char b[16];
        unsigned char d[16];
        cos_base64_encode((const unsigned char *)in[i], strlen(in[i]), b);
        CHECK_STR(b, out[i]);
        int64_t n = cos_base64_decode(b, d);
        CHECK_INT(n, (int64_t)strlen(in[i]));
        CHECK(memcmp(d, in[i], (size_t)n) == 0);
    }
    unsigned char d[8];
    CHECK(cos_base64_decode("abc", d) < 0);
}

static void test_crc64_file(void)
{
    char *dir = test_tmpdir("hash");
    char path[512];
    snprintf(path, sizeof path, "%s/f", dir);
    CHECK(test_write_lcg_file(path, 3145745, 42) == 0);
    uint64_t crc = 0;
    CHECK(cos_crc64_file(path, 0, -1, &crc) == 0);
    CHECK(crc == 13383876874133907764ULL);
    unsigned char *buf = malloc(3145745);
    test_lcg_fill(buf, 3145745, 42);
    CHECK(cos_crc64_file(path, 1000, 5000, &crc) == 0);
    CHECK(crc == cos_crc64(0, buf + 1000, 5000));
    CHECK(cos_crc64_file(path, 3145740, 100, &crc) != 0); /* past the end */
    CHECK(cos_crc64_file("/nonexistent/x", 0, -1, &crc) != 0);
    free(buf);
    test_rmtree(dir);
    free(dir);
}

/* Bit-at-a-time in the polynomial's normal (unreflected) form, with input and
 * output reflection done by hand: an independent reference for the tables. */
static uint64_t reflect(uint64_t v, int width)
{
    uint64_t r = 0;
    for (int i = 0; i < width; i++)
        if (v & (1ULL << i)) r |= 1ULL << (width - 1 - i);
    return r;
}

static uint64_t crc_bitwise(uint64_t poly, int width, const unsigned char *p, size_t len)
{
    uint64_t top = 1ULL << (width - 1), mask = width == 64 ? ~0ULL : (1ULL << width) - 1, crc = mask;
    for (size_t i = 0; i < len; i++) {
        crc ^= reflect(p[i], 8) << (width - 8);
        for (int k = 0; k < 8; k++) crc = (crc & top) ? ((crc << 1) ^ poly) & mask : (crc << 1) & mask;
    }
    return reflect(crc, width) ^ mask;
}

static void test_s3_checksums(void)
{
    /* catalogue check values of "123456789" */
    CHECK(cos_crc32(0, "123456789", 9) == 0xCBF43926u);
    CHECK(cos_crc32c(0, "123456789", 9) == 0xE3069283u);
    CHECK(cos_crc64nvme(0, "123456789", 9) == 0xAE8B14860A799888ULL);
    CHECK(cos_crc32_portable(0, "123456789", 9) == 0xCBF43926u);
    CHECK(cos_crc32c_portable(0, "123456789", 9) == 0xE3069283u);
    /* 10,243 bytes: values from python3-awscrt (aws-c-checksums) */
    size_t n = 256 * 40 + 3;
    unsigned char *buf = malloc(n);
    for (size_t i = 0; i < n - 3; i++) buf[i] = (unsigned char)i;
    memcpy(buf + n - 3, "xyz", 3);
    CHECK(cos_crc32(0, buf, n) == 0x5e2b91f0u);
    CHECK(cos_crc32c(0, buf, n) == 0x7b5dad44u);
    /* every length and alignment, accelerated == portable == bitwise, and chaining */
    for (size_t off = 0; off < 8; off++)
        for (size_t len = 0; len < 70; len += 3) {
            const unsigned char *p = buf + off * 13;
            CHECK(cos_crc32(0, p, len) == (uint32_t)crc_bitwise(0x04C11DB7u, 32, p, len));
            CHECK(cos_crc32c(0, p, len) == (uint32_t)crc_bitwise(0x1EDC6F41u, 32, p, len));
            CHECK(cos_crc64nvme(0, p, len) == crc_bitwise(0xAD93D23594C93659ULL, 64, p, len));
            CHECK(cos_crc32c(cos_crc32c(0, p, len / 2), p + len / 2, len - len / 2) == cos_crc32c(0, p, len));
            CHECK(cos_crc64nvme(cos_crc64nvme(0, p, len / 3), p + len / 3, len - len / 3) ==
                  cos_crc64nvme(0, p, len));
        }
    CHECK(cos_crc32c(0, buf, n) == cos_crc32c_portable(0, buf, n));
    CHECK(cos_crc32(0, buf, n) == cos_crc32_portable(0, buf, n));

    /* the running form: base64 of the big-endian value, SHA-* as digests */
    static const struct {
        cos_cksum_alg alg;
        const char *name, *header, *b64;
    } V[] = {
        { COS_CKSUM_CRC32, "crc32", "x-amz-checksum-crc32", "y/Q5Jg==" },
        { COS_CKSUM_CRC32C, "CRC32C", "x-amz-checksum-crc32c", "4waSgw==" },
        { COS_CKSUM_CRC64NVME, "Crc64Nvme", "x-amz-checksum-crc64nvme", "rosUhgp5mIg=" },
        { COS_CKSUM_SHA1, "SHA1", "x-amz-checksum-sha1", "98O8HYCOBHMq32eZZczDTKeuNEE=" },
        { COS_CKSUM_SHA256, "sha256", "x-amz-checksum-sha256", "FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU=" },
    };
    for (size_t i = 0; i < sizeof V / sizeof V[0]; i++) {
        CHECK(cos_cksum_from_name(V[i].name) == V[i].alg);
        CHECK_STR(cos_cksum_header(V[i].alg), V[i].header);
        cos_cksum *c = cos_cksum_new(V[i].alg);
        CHECK(c != NULL);
        cos_cksum_update(c, "1234", 4);
        cos_cksum_update(c, "56789", 5);
        char b64[COS_CKSUM_B64_MAX];
        cos_cksum_b64(c, b64);
        CHECK_STR(b64, V[i].b64);
        cos_cksum_free(c);
    }
    CHECK(cos_cksum_from_name("md5") == COS_CKSUM_NONE);
    CHECK(cos_cksum_from_name(NULL) == COS_CKSUM_NONE);
    CHECK(cos_cksum_new(COS_CKSUM_NONE) == NULL);
    free(buf);
}

int main(void)
{
    RUN(test_crc64_vectors);
    RUN(test_crc64_alignments);
    RUN(test_crc64_combine);
    RUN(test_md5_vectors);
    RUN(test_base64);
    RUN(test_crc64_file);
    RUN(test_s3_checksums);
    return test_report();
}

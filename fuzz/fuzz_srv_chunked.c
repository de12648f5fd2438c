/* fuzz_srv_chunked.c — cos-server's aws-chunked body decoder (SigV4
 * streaming: "hex;chunk-signature=..." lines, data, CRLFs, the trailer with
 * x-amz-checksum-* and x-amz-trailer-signature) and the SigV4 Authorization
 * header and X-Amz-Date parsers, in-process.
 * Input: a mode byte, a split byte, then the body (or the header).
 * Properties: the decoder is a stream, so the body cut into pieces anywhere
 * decodes to the same bytes and the same verdict as in one piece; what it
 * passes on never exceeds what it received nor x-amz-decoded-content-length.
 * Signed bodies past their first chunk: with the mode's top bit, the input is
 * a list of chunks (a length byte, its data; a 0 ends it) that this harness
 * signs, each chained to the one before, then whatever input is left is
 * sent raw after the last chunk's line (the trailer, or garbage): random
 * signatures never pass the first chunk. A body of well-formed chunks and
 * no trailer must then decode to their data, accepted. */
#define _GNU_SOURCE
/* s3auth.c's static decoder: this TU stands in for s3auth.c (CMake links the
   rest of the server, see fuzz/CMakeLists.txt) */
#include "../server/s3auth.c"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

#define SEED_DATE "20261128T054326Z"
#define SEED_SCOPE "20261128/us-east-1/s3/aws4_request"

typedef struct outcome {
    const char *code;
    int cs;
    uint64_t decoded;
    cos_buf body;
    char *trailer_checksum;
} outcome;

static void run(unsigned mode, const unsigned char *d, size_t n, size_t piece, outcome *out)
{
    req *r = calloc(1, sizeof *r);
    s3_state *s = calloc(1, sizeof *s);
    if (!r || !s) abort();
    r->s3 = s;
    r->method = "PUT";
    s->kind = AUTH_V4_HEADER;
    static const int MODES[] = { PAY_STREAM_UNSIGNED_TRAILER, PAY_STREAM_SIGNED, PAY_STREAM_SIGNED_TRAILER };
    s->mode = MODES[mode % 3];
    s->decoded_expected = mode & 4 ? 100 : -1;
    s->sha = EVP_MD_CTX_new();
    EVP_DigestInit_ex(s->sha, EVP_sha256(), NULL);
    if (mode & 8) { /* x-amz-trailer: x-amz-checksum-crc32 (or another) */
        s->ck = 1 + (int)((mode >> 4) % COS_ARRAY_LEN(CK_NAMES));
        s->ck_trailer = true;
        s->ckctx = cos_cksum_new(CK_ALGS[s->ck - 1]);
    }
    if (s->mode != PAY_STREAM_UNSIGNED_TRAILER) { /* as after a SigV4 header: a key and a seed signature */
        s->day = cos_strdup("20261128");
        s->region = cos_strdup("us-east-1");
        s->service = cos_strdup("s3");
        snprintf(s->amz_date, sizeof s->amz_date, SEED_DATE);
        s3_signing_key("secret", s->day, s->region, s->service, s->key);
        s->have_key = true;
        memset(s->prev_sig, 'a', 64);
    }
    for (size_t off = 0; off < n;) {
        size_t take = piece && n - off > piece ? piece : n - off;
        s3_body(r, (const char *)d + off, take);
        off += take;
    }
    if (s->received != n || s->decoded > n || r->body.len != s->decoded) abort();
    if (s->decoded_expected >= 0 && s->decoded > (uint64_t)s->decoded_expected) abort();
    out->code = s->body_code;
    out->cs = s->cs;
    out->decoded = s->decoded;
    out->body = r->body;
    out->trailer_checksum = s->trailer_checksum ? cos_strdup(s->trailer_checksum) : NULL;
    s3_end(r);
    free(r);
}

/* The wire form of the chunks listed in d (a length byte, then that much data; a 0 or the input's end is the
 * last chunk), each signed as run() expects, then the rest of d raw ("\r\n" when none): *plain gets their
 * data, *tail whether anything followed. */
static void sign_chunks(const unsigned char *d, size_t n, cos_buf *wire, cos_buf *plain, bool *tail)
{
    unsigned char key[32];
    s3_signing_key("secret", "20261128", "us-east-1", "s3", key);
    char prev[65];
    memset(prev, 'a', 64);
    prev[64] = '\0';
    size_t off = 0;
    for (;;) {
        size_t len = off < n ? d[off++] : 0;
        if (len > n - off) len = n - off;
        char hex[65], sig[65];
        cos_sha256_hex(d + off, len, hex);
        s3_chunk_signature(key, SEED_DATE, SEED_SCOPE, prev, hex, sig);
        cos_buf_printf(wire, "%zx;chunk-signature=%s\r\n", len, sig);
        memcpy(prev, sig, 65);
        if (!len) break;
        cos_buf_append(wire, d + off, len);
        cos_buf_puts(wire, "\r\n");
        cos_buf_append(plain, d + off, len);
        off += len;
    }
    *tail = off < n;
    if (*tail) cos_buf_append(wire, d + off, n - off);
    else cos_buf_puts(wire, "\r\n");
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size < 2) return 0;
    unsigned mode = data[0];
    size_t piece = 1 + data[1] % 17;
    data += 2;
    size -= 2;
    if (mode != 0xff && (mode & 0x80) && (mode & 0x7f) % 3 != 0) { /* signed modes, chunks signed here */
        mode &= 0x7f;
        cos_buf wire = COS_BUF_INIT, plain = COS_BUF_INIT;
        bool tail = false;
        sign_chunks(data, size, &wire, &plain, &tail);
        outcome whole = { 0 }, pieces = { 0 };
        run(mode, (const unsigned char *)wire.data, wire.len, 0, &whole);
        run(mode, (const unsigned char *)wire.data, wire.len, piece, &pieces);
        if (whole.code != pieces.code || whole.decoded != pieces.decoded || whole.body.len != pieces.body.len ||
            (whole.body.len && memcmp(whole.body.data, pieces.body.data, whole.body.len)))
            abort();
        /* well-formed, signed, no trailer asked for nor sent, within the declared length: accepted whole */
        if (!tail && (mode % 3) == 1 && !(mode & 8) && (!(mode & 4) || plain.len <= 100) &&
            (whole.code || whole.body.len != plain.len || (plain.len && memcmp(whole.body.data, plain.data, plain.len))))
            abort();
        cos_buf_free(&whole.body);
        cos_buf_free(&pieces.body);
        free(whole.trailer_checksum);
        free(pieces.trailer_checksum);
        cos_buf_free(&wire);
        cos_buf_free(&plain);
        return 0;
    }
    if (mode == 0xff) { /* the Authorization header and the dates */
        char *h = cos_strndup((const char *)data, size);
        if (!h) return 0;
        s3_state s;
        memset(&s, 0, sizeof s);
        parse_v4_header(&s, h);
        if (!s.parse_code && (!s.ak || !s.day || strlen(s.day) != 8 || !s.region || !s.service || !s.signature ||
                              !s.signed_headers))
            abort();
        free(s.ak);
        free(s.day);
        free(s.region);
        free(s.service);
        free(s.signed_headers);
        free(s.signature);
        (void)parse_amz_date(h);
        (void)parse_http_date(h);
        free(h);
        return 0;
    }
    outcome whole = { 0 }, pieces = { 0 };
    run(mode, data, size, 0, &whole);
    run(mode, data, size, piece, &pieces);
    if (whole.code != pieces.code || whole.cs != pieces.cs || whole.decoded != pieces.decoded ||
        whole.body.len != pieces.body.len || (whole.body.len && memcmp(whole.body.data, pieces.body.data, whole.body.len)) ||
        !whole.trailer_checksum != !pieces.trailer_checksum ||
        (whole.trailer_checksum && strcmp(whole.trailer_checksum, pieces.trailer_checksum)))
        abort();
    cos_buf_free(&whole.body);
    cos_buf_free(&pieces.body);
    free(whole.trailer_checksum);
    free(pieces.trailer_checksum);
    return 0;
}

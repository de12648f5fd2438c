/*
 * s3auth.c — AWS signatures and S3's request bodies, so S3 tools reach the
 * same principals and the same authorization as COS-signed requests.
 *
 * Signatures: SigV4 in the Authorization header and in presigned query
 * strings (service s3; the scope's region is the bucket's own or us-east-1,
 * the region tools default to; see docs/cos-server.md), and SigV2 (header
 * "AWS AK:sig", query AWSAccessKeyId/Expires/Signature). The key is the
 * server's own or a temporary key from /sts with its x-amz-security-token
 * (auth.c resolves both). As with COS's signature, every x-amz-* and x-cos-*
 * header and every query parameter the server acts on must be signed.
 *
 * Bodies: a filter between libmicrohttpd and req_body_sink that holds the
 * body to what the headers promise, BEFORE any handler commits it:
 * x-amz-content-sha256 as a hex SHA-256 (XAmzContentSHA256Mismatch),
 * UNSIGNED-PAYLOAD, aws-chunked with a signature per chunk
 * (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]) or without
 * (STREAMING-UNSIGNED-PAYLOAD-TRAILER), trailers carrying
 * x-amz-checksum-*, and x-amz-checksum-* verified over the decoded bytes.
 * Nothing is buffered: chunks are hashed and passed on as they arrive, and
 * a failure stops the bytes (the unfinished data file is dropped when the
 * request ends).
 */
#define _GNU_SOURCE
#include "server.h"
#include "signer.h"
#include "url.h"
#include "checksum.h"
#include "s3sig.h"
#include "cos/hash.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define EMPTY_SHA256 S3_EMPTY_SHA256
#define MAX_SKEW_S (15 * 60)            /* S3's window for a request's own time */
#define MAX_PRESIGN_S (7 * 24 * 3600)   /* X-Amz-Expires at most a week, as S3 */
#define MAX_CHUNK_LINE 256              /* "hex;chunk-signature=<64 hex>" is ~100 bytes */
#define MAX_TRAILER 4096
#define MAX_CHUNK_SIZE ((uint64_t)5 << 30) /* S3's largest single PUT; a chunk is never more */
#define DEFAULT_REGION "us-east-1"

enum auth_kind { AUTH_NONE, AUTH_V4_HEADER, AUTH_V4_QUERY, AUTH_V2_HEADER, AUTH_V2_QUERY };
enum pay_mode { PAY_NONE, PAY_HEX, PAY_UNSIGNED, PAY_STREAM_SIGNED, PAY_STREAM_SIGNED_TRAILER, PAY_STREAM_UNSIGNED_TRAILER };
enum chunk_state { CS_SIZE, CS_DATA, CS_DATA_CRLF, CS_TRAILER, CS_DONE };

typedef struct s3_state {
    int kind;
    /* SigV4 (header or query) */
    char *ak, *day, *region, *service, *signed_headers, *signature, *token;
    char amz_date[17];
    int64_t req_time, expires;       /* the request's own time; a presign's lifetime */
    const char *parse_code;          /* a malformed signature, answered at authentication */
    char parse_msg[200];
    unsigned char key[32];           /* the signing key, derived before the body (chunk signatures) */
    bool have_key;
    /* the body */
    int mode;
    char want_sha[65];
    EVP_MD_CTX *sha;                 /* PAY_HEX: the whole body; streaming signed: the current chunk */
    int cs;
    char line[MAX_CHUNK_LINE + 1];
    size_t line_len;
    uint64_t remaining;
    char chunk_sig[65], prev_sig[65];
    uint64_t received, decoded;
    int64_t decoded_expected;        /* x-amz-decoded-content-length, -1 absent */
    cos_buf trailer;                 /* the trailer as received */
    char *trailer_checksum;          /* x-amz-checksum-* value the trailer carried */
    const char *body_code;           /* the body's first failure */
    char body_msg[200];
    /* x-amz-checksum-* */
    int ck;                          /* index in CK_NAMES + 1, 0 none */
    cos_cksum *ckctx;
    char *ck_want;                   /* the header's value; NULL when it comes in the trailer or not at all */
    bool ck_trailer;                 /* x-amz-trailer names it */
    char ck_got[COS_CKSUM_B64_MAX];                 /* base64 of what was received, once verified */
} s3_state;

/* ------------------------------------------------------------ small helpers */

static const char *const CK_NAMES[] = { "crc32", "crc32c", "crc64nvme", "sha1", "sha256" };
static const cos_cksum_alg CK_ALGS[] = { COS_CKSUM_CRC32, COS_CKSUM_CRC32C, COS_CKSUM_CRC64NVME, COS_CKSUM_SHA1,
                                         COS_CKSUM_SHA256 };

static int ck_by_name(const char *name) /* 1-based index, 0 unknown */
{
    for (size_t i = 0; i < COS_ARRAY_LEN(CK_NAMES); i++)
        if (name && strcasecmp(name, CK_NAMES[i]) == 0) return (int)i + 1;
    return 0;
}

static bool is_hex64(const char *s)
{
    if (!s || strlen(s) != 64) return false;
    for (int i = 0; i < 64; i++)
        if (!isxdigit((unsigned char)s[i])) return false;
    return true;
}

static void body_fail(s3_state *s, const char *code, const char *fmt, ...) COS_PRINTF(3, 4);
static void body_fail(s3_state *s, const char *code, const char *fmt, ...)
{
    if (s->body_code) return;
    s->body_code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->body_msg, sizeof s->body_msg, fmt, ap);
    va_end(ap);
}

static void parse_fail(s3_state *s, const char *code, const char *fmt, ...) COS_PRINTF(3, 4);
static void parse_fail(s3_state *s, const char *code, const char *fmt, ...)
{
    if (s->parse_code) return;
    s->parse_code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->parse_msg, sizeof s->parse_msg, fmt, ap);
    va_end(ap);
}

/* "20130524T000000Z" -> Unix seconds, -1 if malformed. */
static int64_t parse_amz_date(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!s || strlen(s) != 16) return -1;
    const char *end = strptime(s, "%Y%m%dT%H%M%SZ", &tm);
    if (!end || *end) return -1;
    return (int64_t)timegm(&tm);
}

/* RFC 1123 ("Fri, 24 May 2013 00:00:00 GMT"), what SigV2's Date carries; -1 if malformed. */
static int64_t parse_http_date(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = s ? strptime(s, "%a, %d %b %Y %H:%M:%S", &tm) : NULL;
    if (!end) return -1;
    while (*end == ' ') end++;
    if (strcmp(end, "GMT") != 0 && strcmp(end, "+0000") != 0 && strcmp(end, "UTC") != 0) return -1;
    return (int64_t)timegm(&tm);
}


static bool sig_equal(const char *a, const char *b)
{
    size_t n = strlen(a);
    return n == strlen(b) && CRYPTO_memcmp(a, b, n) == 0;
}

/* ------------------------------------------------------------ which requests are S3's */

bool s3_auth_header(const char *name)
{
    static const char *const OURS[] = { "x-amz-date", "x-amz-content-sha256", "x-amz-security-token",
                                        "x-amz-decoded-content-length", "x-amz-trailer", "x-amz-checksum-algorithm",
                                        "x-amz-sdk-checksum-algorithm", "x-amz-checksum-mode" };
    for (size_t i = 0; i < COS_ARRAY_LEN(OURS); i++)
        if (strcasecmp(name, OURS[i]) == 0) return true;
    return ck_by_name(cos_starts_with_ci(name, "x-amz-checksum-") ? name + 15 : NULL) != 0;
}

static int auth_kind_of(req *r)
{
    const char *auth = req_header(r, "Authorization");
    if (auth && cos_starts_with_ci(auth, "AWS4-")) return AUTH_V4_HEADER;
    if (auth && cos_starts_with_ci(auth, "AWS ")) return AUTH_V2_HEADER;
    if (auth) return AUTH_NONE; /* COS's own */
    if (req_arg(r, "X-Amz-Algorithm") || req_arg(r, "X-Amz-Signature") || req_arg(r, "X-Amz-Credential"))
        return AUTH_V4_QUERY;
    if (req_arg(r, "AWSAccessKeyId") || (req_arg(r, "Signature") && req_arg(r, "Expires"))) return AUTH_V2_QUERY;
    return AUTH_NONE;
}

/* "AWS4-HMAC-SHA256 Credential=AK/DAY/REGION/s3/aws4_request, SignedHeaders=a;b, Signature=hex" */
static void parse_v4_header(s3_state *s, const char *auth)
{
    const char *p = auth + strcspn(auth, " ");
    if (strncmp(auth, "AWS4-HMAC-SHA256 ", 17) != 0) {
        parse_fail(s, "AuthorizationHeaderMalformed", "The authorization header is malformed; the algorithm must be "
                                                      "AWS4-HMAC-SHA256.");
        return;
    }
    char *cred = NULL;
    while (*p) {
        while (*p == ' ' || *p == ',') p++;
        const char *end = p + strcspn(p, ",");
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (!eq) { /* a part without '=' ("X, Credential=..."): skipped; an '=' past its comma is another part's */
            p = end;
            continue;
        }
        char *raw = cos_strndup(eq + 1, (size_t)(end - eq - 1));
        char *v = cos_strdup(cos_str_trim(raw));
        free(raw);
        size_t nlen = (size_t)(eq - p);
        char **slot = nlen == 10 && !strncmp(p, "Credential", 10) ? &cred
                      : nlen == 13 && !strncmp(p, "SignedHeaders", 13) ? &s->signed_headers
                      : nlen == 9 && !strncmp(p, "Signature", 9) ? &s->signature : NULL;
        if (slot && !*slot) *slot = v;
        else free(v);
        p = end;
    }
    if (!cred || !s->signed_headers || !s->signature) {
        parse_fail(s, "AuthorizationHeaderMalformed", "The authorization header is malformed; it needs Credential, "
                                                      "SignedHeaders and Signature.");
        free(cred);
        return;
    }
    /* AK/DAY/REGION/SERVICE/aws4_request (the key id itself has no '/') */
    char *parts[5] = { 0 };
    char *save = NULL, *tok = strtok_r(cred, "/", &save);
    int n = 0;
    for (; tok && n < 5; tok = strtok_r(NULL, "/", &save)) parts[n++] = tok;
    if (n != 5 || tok || strcmp(parts[4], "aws4_request") != 0 || strlen(parts[1]) != 8) {
        parse_fail(s, "AuthorizationHeaderMalformed", "The authorization header is malformed; the Credential is not "
                                                      "AK/YYYYMMDD/REGION/s3/aws4_request.");
    } else {
        s->ak = cos_strdup(parts[0]);
        s->day = cos_strdup(parts[1]);
        s->region = cos_strdup(parts[2]);
        s->service = cos_strdup(parts[3]);
    }
    free(cred);
}

static void parse_v4_query(req *r, s3_state *s)
{
    const char *alg = req_arg(r, "X-Amz-Algorithm"), *cred = req_arg(r, "X-Amz-Credential"),
               *date = req_arg(r, "X-Amz-Date"), *exp = req_arg(r, "X-Amz-Expires"),
               *sh = req_arg(r, "X-Amz-SignedHeaders"), *sig = req_arg(r, "X-Amz-Signature");
    if (!alg || !cred || !date || !exp || !sh || !sig) {
        parse_fail(s, "AuthorizationQueryParametersError", "Query-string authentication version 4 requires the "
                   "X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
                   "X-Amz-Expires parameters.");
        return;
    }
    if (strcmp(alg, "AWS4-HMAC-SHA256") != 0) {
        parse_fail(s, "AuthorizationQueryParametersError", "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
        return;
    }
    char *hdr = cos_sprintf("AWS4-HMAC-SHA256 Credential=%s, SignedHeaders=%s, Signature=%s", cred, sh, sig);
    parse_v4_header(s, hdr);
    free(hdr);
    if (s->parse_code) {
        s->parse_code = "AuthorizationQueryParametersError";
        return;
    }
    int64_t e = -1;
    if (cos_parse_i64(exp, &e) != 0 || e < 1 || e > MAX_PRESIGN_S) {
        parse_fail(s, "AuthorizationQueryParametersError", "X-Amz-Expires must be a number of seconds from 1 to "
                                                           "604800 (seven days).");
        return;
    }
    s->expires = e;
    snprintf(s->amz_date, sizeof s->amz_date, "%s", date);
}

/* The payload mode from x-amz-content-sha256; the checksum the request promises. */
static void setup_body(req *r, s3_state *s)
{
    const char *h = req_header(r, "x-amz-content-sha256");
    /* a presigned URL may carry the payload hash it signed as a parameter: then the body is held to it
       (before, the signature used it and the body went unchecked) */
    const char *q = s->kind == AUTH_V4_QUERY && !h ? req_arg(r, "X-Amz-Content-Sha256") : NULL;
    if (q && is_hex64(q)) h = q;
    s->decoded_expected = -1;
    if (!h) s->mode = PAY_NONE;
    else if (!strcmp(h, "UNSIGNED-PAYLOAD")) s->mode = PAY_UNSIGNED;
    else if (!strcmp(h, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")) s->mode = PAY_STREAM_SIGNED;
    else if (!strcmp(h, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER")) s->mode = PAY_STREAM_SIGNED_TRAILER;
    else if (!strcmp(h, "STREAMING-UNSIGNED-PAYLOAD-TRAILER")) s->mode = PAY_STREAM_UNSIGNED_TRAILER;
    else if (is_hex64(h)) {
        s->mode = PAY_HEX;
        snprintf(s->want_sha, sizeof s->want_sha, "%s", h);
        for (char *c = s->want_sha; *c; c++) *c = (char)tolower((unsigned char)*c);
    } else {
        s->mode = PAY_NONE;
        body_fail(s, "InvalidArgument", "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a STREAMING-* mode or the "
                                        "hex SHA-256 of the body.");
    }
    bool streaming = s->mode >= PAY_STREAM_SIGNED;
    if (s->mode == PAY_HEX || streaming) s->sha = EVP_MD_CTX_new();
    if (s->sha) EVP_DigestInit_ex(s->sha, EVP_sha256(), NULL);
    if (streaming) {
        const char *dl = req_header(r, "x-amz-decoded-content-length");
        uint64_t v;
        if (dl && cos_parse_u64(dl, &v) == 0 && v <= INT64_MAX) s->decoded_expected = (int64_t)v;
        else if (dl) body_fail(s, "InvalidArgument", "x-amz-decoded-content-length is not a number.");
        else if (s->mode == PAY_STREAM_SIGNED) /* S3 needs it to know the object's size */
            body_fail(s, "MissingContentLength", "You must provide x-amz-decoded-content-length with aws-chunked.");
    }

    /* x-amz-checksum-*: one algorithm, its value in a header or the trailer, or only asked for */
    const char *alg_name = req_header(r, "x-amz-sdk-checksum-algorithm");
    if (!alg_name) alg_name = req_header(r, "x-amz-checksum-algorithm");
    int ck = alg_name ? ck_by_name(alg_name) : 0;
    if (alg_name && !ck) body_fail(s, "InvalidRequest", "Checksum algorithm provided is unsupported.");
    int from_header = 0;
    /* on CompleteMultipartUpload x-amz-checksum-* is the object's composite checksum, not the
       body's: complete_upload holds the parts to it (s3_complete_checksum_ok) */
    bool complete = !strcmp(r->method, "POST") && req_arg(r, "uploadId");
    for (size_t i = 0; !complete && i < COS_ARRAY_LEN(CK_NAMES); i++) {
        char name[40];
        snprintf(name, sizeof name, "x-amz-checksum-%s", CK_NAMES[i]);
        const char *v = req_header(r, name);
        if (!v) continue;
        if (from_header++) body_fail(s, "InvalidRequest", "Expecting a single x-amz-checksum- header. Multiple "
                                                          "checksum Types are not allowed.");
        if (ck && ck != (int)i + 1)
            body_fail(s, "InvalidRequest", "Value for x-amz-sdk-checksum-algorithm header is invalid.");
        ck = (int)i + 1;
        s->ck_want = cos_strdup(v);
    }
    const char *trailer = req_header(r, "x-amz-trailer");
    if (trailer) {
        int t = cos_starts_with_ci(trailer, "x-amz-checksum-") ? ck_by_name(trailer + 15) : 0;
        if (!t || from_header || !streaming || s->mode == PAY_STREAM_SIGNED || (ck && ck != t))
            body_fail(s, "InvalidRequest", "x-amz-trailer must name one x-amz-checksum-* with a -TRAILER "
                                           "aws-chunked body and no checksum header.");
        ck = t;
        s->ck_trailer = true;
    }
    if (ck) {
        s->ck = ck;
        s->ckctx = cos_cksum_new(CK_ALGS[ck - 1]);
    }
}

static enum MHD_Result any_amz_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    (void)value;
    if (strncasecmp(key, "x-amz-", 6) != 0) return MHD_YES;
    *(bool *)cls = true;
    return MHD_NO;
}

void s3_begin(req *r)
{
    int kind = auth_kind_of(r);
    /* the body forms are named by x-amz-* headers: one pass over the headers
       when there is none (a COS request), instead of nine searches */
    bool amz = false;
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, any_amz_header, &amz);
    bool body_form = amz && (req_header(r, "x-amz-content-sha256") || req_header(r, "x-amz-trailer") ||
                             req_header(r, "x-amz-sdk-checksum-algorithm") || req_header(r, "x-amz-checksum-algorithm"));
    for (size_t i = 0; i < COS_ARRAY_LEN(CK_NAMES) && amz && !body_form; i++) {
        char name[40];
        snprintf(name, sizeof name, "x-amz-checksum-%s", CK_NAMES[i]);
        body_form = req_header(r, name) != NULL;
    }
    if (kind == AUTH_NONE && !body_form) return;
    s3_state *s = calloc(1, sizeof *s);
    if (!s) return;
    r->s3 = s;
    s->kind = kind;
    if (kind == AUTH_V4_HEADER) {
        parse_v4_header(s, req_header(r, "Authorization"));
        const char *d = req_header(r, "x-amz-date");
        int64_t t = d ? parse_amz_date(d) : parse_http_date(req_header(r, "Date"));
        if (t < 0) {
            parse_fail(s, "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header");
        } else {
            struct tm tm;
            time_t tt = (time_t)t;
            gmtime_r(&tt, &tm);
            strftime(s->amz_date, sizeof s->amz_date, "%Y%m%dT%H%M%SZ", &tm);
        }
        s->req_time = t;
        s->token = cos_strdup(req_header(r, "x-amz-security-token"));
    } else if (kind == AUTH_V4_QUERY) {
        parse_v4_query(r, s);
        s->req_time = parse_amz_date(s->amz_date);
        if (!s->parse_code && s->req_time < 0)
            parse_fail(s, "AuthorizationQueryParametersError", "X-Amz-Date must be in the ISO8601 Long Format "
                                                               "\"yyyyMMdd'T'HHmmss'Z'\"");
        s->token = cos_strdup(req_arg(r, "X-Amz-Security-Token"));
    }
    if ((kind == AUTH_V4_HEADER || kind == AUTH_V4_QUERY) && !s->parse_code) {
        if (strncmp(s->amz_date, s->day, 8) != 0)
            parse_fail(s, kind == AUTH_V4_HEADER ? "AuthorizationHeaderMalformed" : "AuthorizationQueryParametersError",
                       "Invalid credential date \"%s\". This date is not the same as X-Amz-Date: \"%.8s\".", s->day,
                       s->amz_date);
        const sts_key *k;
        const char *code, *msg;
        const char *secret = auth_lookup_key(r->srv, s->ak, s->token, &k, &code, &msg);
        if (secret && !s->parse_code) { /* verified with the rest at authentication; the chunks need it sooner */
            s3_signing_key(secret, s->day, s->region, s->service, s->key);
            s->have_key = true;
        }
        sts_key_release(r->srv->sts, k); /* the secret is in s->key now */
        snprintf(s->prev_sig, sizeof s->prev_sig, "%.64s", s->signature ? s->signature : "");
    }
    setup_body(r, s);
    if (s->mode >= PAY_STREAM_SIGNED && s->mode != PAY_STREAM_UNSIGNED_TRAILER && kind != AUTH_V4_HEADER)
        body_fail(s, "InvalidRequest", "Signed aws-chunked payloads need a SigV4 Authorization header.");
}

void s3_end(req *r)
{
    s3_state *s = r->s3;
    if (!s) return;
    free(s->ak);
    free(s->day);
    free(s->region);
    free(s->service);
    free(s->signed_headers);
    free(s->signature);
    free(s->token);
    if (s->sha) EVP_MD_CTX_free(s->sha);
    cos_buf_free(&s->trailer);
    free(s->trailer_checksum);
    free(s->ck_want);
    cos_cksum_free(s->ckctx);
    OPENSSL_cleanse(s->key, sizeof s->key);
    free(s);
    r->s3 = NULL;
}

/* ------------------------------------------------------------ the body filter */

static void pass_on(req *r, s3_state *s, const char *d, size_t n)
{
    if (!n || s->body_code) return;
    s->decoded += n;
    if (s->ckctx) cos_cksum_update(s->ckctx, d, n);
    if (s->sha && s->mode != PAY_STREAM_UNSIGNED_TRAILER) EVP_DigestUpdate(s->sha, d, n);
    req_body_sink(r, d, n);
}

/* The signature of the chunk whose data was hashed into s->sha, chained to the previous one. */
static bool chunk_signature_ok(s3_state *s)
{
    unsigned char dg[32];
    unsigned int dlen = 0;
    char hex[65];
    EVP_DigestFinal_ex(s->sha, dg, &dlen);
    EVP_DigestInit_ex(s->sha, EVP_sha256(), NULL);
    cos_hex_encode(dg, 32, hex);
    if (!s->have_key) return false;
    char want[65], scope[160];
    snprintf(scope, sizeof scope, "%s/%s/%s/aws4_request", s->day, s->region, s->service);
    s3_chunk_signature(s->key, s->amz_date, scope, s->prev_sig, hex, want);
    if (!sig_equal(want, s->chunk_sig)) return false;
    memcpy(s->prev_sig, want, 65);
    return true;
}

static bool signed_chunks(const s3_state *s)
{
    return s->mode == PAY_STREAM_SIGNED || s->mode == PAY_STREAM_SIGNED_TRAILER;
}

/* "hex[;chunk-signature=sig]" */
static void chunk_line(s3_state *s)
{
    const char *p = s->line;
    uint64_t size = 0;
    int digits = 0;
    for (; isxdigit((unsigned char)*p); p++, digits++) {
        if (digits == 11) { /* 0x100000000000 is past any chunk: stop before it overflows */
            body_fail(s, "InvalidChunkSizeError", "an aws-chunked chunk size is too large.");
            return;
        }
        int c = tolower((unsigned char)*p);
        size = size * 16 + (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    if (!digits || size > MAX_CHUNK_SIZE) {
        body_fail(s, "IncompleteBody", "an aws-chunked chunk does not start with its hex size.");
        return;
    }
    if (signed_chunks(s)) {
        if (strncmp(p, ";chunk-signature=", 17) != 0 || !is_hex64(p + 17)) {
            body_fail(s, "SignatureDoesNotMatch", "an aws-chunked chunk has no chunk-signature.");
            return;
        }
        memcpy(s->chunk_sig, p + 17, 64);
        s->chunk_sig[64] = '\0';
        for (char *c = s->chunk_sig; *c; c++) *c = (char)tolower((unsigned char)*c);
    } else if (*p && *p != ';') {
        body_fail(s, "IncompleteBody", "an aws-chunked chunk size line is malformed.");
        return;
    }
    if (s->decoded_expected >= 0 && s->decoded + size > (uint64_t)s->decoded_expected) {
        body_fail(s, "IncompleteBody", "the aws-chunked body is longer than x-amz-decoded-content-length.");
        return;
    }
    s->remaining = size;
    if (size) {
        s->cs = CS_DATA;
        return;
    }
    /* the last chunk: its signature covers the empty data */
    if (signed_chunks(s) && !chunk_signature_ok(s)) {
        body_fail(s, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you "
                                              "provided for the last aws-chunked chunk.");
        return;
    }
    s->cs = CS_TRAILER;
}

/* The trailer is complete: its checksum and (signed form) its signature. */
static void trailer_done(s3_state *s)
{
    cos_buf canon = COS_BUF_INIT;
    cos_buf_puts(&canon, "");
    char *sig = NULL;
    for (char *line = s->trailer.data ? s->trailer.data : (char *)""; *line;) {
        char *nl = strstr(line, "\r\n");
        if (!nl) break;
        *nl = '\0';
        char *colon = strchr(line, ':');
        if (colon) {
            *colon = '\0';
            char *v = colon + 1;
            while (*v == ' ') v++;
            if (!strcasecmp(line, "x-amz-trailer-signature")) {
                free(sig);
                sig = cos_strdup(v);
            } else {
                cos_str_lower(line);
                cos_buf_printf(&canon, "%s:%s\n", line, v);
                if (s->ck_trailer && cos_starts_with(line, "x-amz-checksum-") && ck_by_name(line + 15) == s->ck) {
                    free(s->trailer_checksum);
                    s->trailer_checksum = cos_strdup(v);
                } else if (!cos_starts_with(line, "x-amz-checksum-")) {
                    body_fail(s, "InvalidRequest", "The trailer has a header other than x-amz-checksum-*.");
                } else {
                    body_fail(s, "InvalidRequest", "The trailer's checksum is not the one x-amz-trailer names.");
                }
            }
        }
        line = nl + 2;
    }
    if (s->mode == PAY_STREAM_SIGNED_TRAILER) {
        char want[65], scope[160];
        snprintf(scope, sizeof scope, "%s/%s/%s/aws4_request", s->day, s->region, s->service);
        s3_trailer_signature(s->key, s->amz_date, scope, s->prev_sig, canon.data, canon.len, want);
        if (!s->have_key || !sig || !sig_equal(want, sig))
            body_fail(s, "SignatureDoesNotMatch", "The trailer's x-amz-trailer-signature does not match.");
    }
    if (s->ck_trailer && !s->trailer_checksum)
        body_fail(s, "InvalidRequest", "x-amz-trailer was declared but the trailer has no such checksum.");
    free(sig);
    cos_buf_free(&canon);
    s->cs = CS_DONE;
}

static void chunked(req *r, s3_state *s, const char *d, size_t n)
{
    while (n && !s->body_code) {
        switch (s->cs) {
        case CS_SIZE:
        case CS_TRAILER: {
            char c = *d++;
            n--;
            if (s->cs == CS_TRAILER) {
                if (s->trailer.len >= MAX_TRAILER) {
                    body_fail(s, "InvalidRequest", "The aws-chunked trailer is too long.");
                    break;
                }
                cos_buf_putc(&s->trailer, c);
                size_t tl = s->trailer.len;
                /* an empty line ends it: "\r\n" at its very start or "\r\n\r\n" */
                if ((tl == 2 && !memcmp(s->trailer.data, "\r\n", 2)) ||
                    (tl >= 4 && !memcmp(s->trailer.data + tl - 4, "\r\n\r\n", 4)))
                    trailer_done(s);
                break;
            }
            if (c == '\n') {
                if (!s->line_len || s->line[s->line_len - 1] != '\r') {
                    body_fail(s, "IncompleteBody", "an aws-chunked size line does not end in CRLF.");
                    break;
                }
                s->line[s->line_len - 1] = '\0';
                s->line_len = 0;
                chunk_line(s);
            } else if (s->line_len >= MAX_CHUNK_LINE) {
                body_fail(s, "IncompleteBody", "an aws-chunked size line is too long.");
            } else {
                s->line[s->line_len++] = c;
            }
            break;
        }
        case CS_DATA: {
            size_t take = n < s->remaining ? n : (size_t)s->remaining;
            pass_on(r, s, d, take);
            d += take;
            n -= take;
            s->remaining -= take;
            if (!s->remaining) {
                s->cs = CS_DATA_CRLF;
                s->line_len = 0;
            }
            break;
        }
        case CS_DATA_CRLF:
            if (*d != "\r\n"[s->line_len]) {
                body_fail(s, "IncompleteBody", "an aws-chunked chunk is longer than its size.");
                break;
            }
            d++;
            n--;
            if (++s->line_len == 2) {
                s->line_len = 0;
                s->cs = CS_SIZE;
                if (signed_chunks(s) && !chunk_signature_ok(s))
                    body_fail(s, "SignatureDoesNotMatch", "The request signature we calculated does not match the "
                                                          "signature you provided for an aws-chunked chunk.");
            }
            break;
        case CS_DONE:
            body_fail(s, "IncompleteBody", "There are bytes after the end of the aws-chunked body.");
            break;
        }
    }
}

void s3_body(req *r, const char *data, size_t len)
{
    s3_state *s = r->s3;
    s->received += len;
    if (s->body_code) return; /* refused already: the rest is dropped */
    if (s->mode >= PAY_STREAM_SIGNED) chunked(r, s, data, len);
    else pass_on(r, s, data, len);
}

/* ------------------------------------------------------------ verifying the body */

int s3_body_verify(req *r, enum MHD_Result *ret)
{
    s3_state *s = r->s3;
    if (!s) return 0;
    if (!s->body_code && s->mode >= PAY_STREAM_SIGNED && s->cs != CS_DONE)
        body_fail(s, "IncompleteBody", "The aws-chunked body ended before its last chunk.");
    if (!s->body_code && s->mode >= PAY_STREAM_SIGNED && s->decoded_expected >= 0 &&
        s->decoded != (uint64_t)s->decoded_expected)
        body_fail(s, "IncompleteBody", "You did not provide the number of bytes specified by "
                                       "x-amz-decoded-content-length.");
    if (!s->body_code && s->mode == PAY_HEX) {
        unsigned char dg[32];
        unsigned int dlen = 0;
        char hex[65];
        EVP_DigestFinal_ex(s->sha, dg, &dlen);
        cos_hex_encode(dg, 32, hex);
        if (strcmp(hex, s->want_sha) != 0)
            body_fail(s, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what "
                                                      "was computed.");
    }
    if (!s->body_code && s->ck && !s->ckctx) body_fail(s, "InternalError", "out of memory");
    if (!s->body_code && s->ck) {
        unsigned char dg[32];
        size_t dlen = cos_cksum_raw(s->ckctx, dg);
        cos_cksum_b64(s->ckctx, s->ck_got);
        const char *want = s->ck_trailer ? s->trailer_checksum : s->ck_want;
        unsigned char tmp[96];
        if (want && (strlen(want) > 64 || cos_base64_decode(want, tmp) != (int64_t)dlen))
            /* S3 answers a value that cannot be a checksum as one that does not match (s3-tests'
               test_object_checksum_sha256 sends "bad"): nothing is stored either way */
            body_fail(s, "BadDigest", "Value for x-amz-checksum-%s header is invalid: not the checksum of the body.",
                      CK_NAMES[s->ck - 1]);
        else if (want && strcmp(want, s->ck_got) != 0)
            body_fail(s, "BadDigest", "The %s you specified did not match the calculated checksum.",
                      CK_NAMES[s->ck - 1]);
    }
    if (!s->body_code) return 0;
    s->ck_got[0] = '\0';
    if (r->w_open) { /* the body is refused: its data file never becomes an object */
        data_abort(&r->w);
        r->w_open = false;
    }
    *ret = send_error(r, s->body_code, "%s", s->body_msg);
    return -1;
}

/* ------------------------------------------------------------ SigV4 */

typedef struct pair { char *name, *value; } pair;


typedef struct kv_walk { cos_kvlist *list; bool presigned; } kv_walk;

static enum MHD_Result collect_kv(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    kv_walk *w = cls;
    if (kind == MHD_GET_ARGUMENT_KIND && w->presigned && strcmp(key, "X-Amz-Signature") == 0) return MHD_YES;
    cos_kvlist_add(w->list, key, value ? value : "");
    return MHD_YES;
}

static bool in_signed_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *semi = strchr(p, ';');
        size_t len = semi ? (size_t)(semi - p) : strlen(p);
        if (len == n && strncasecmp(p, name, n) == 0) return true;
        p = semi ? semi + 1 : p + len;
    }
    return false;
}

typedef struct cover { const char *list; char *missing; } cover;

static enum MHD_Result check_cover(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    (void)value;
    cover *c = cls;
    if ((cos_starts_with_ci(key, "x-amz-") || cos_starts_with_ci(key, "x-cos-")) && !in_signed_list(c->list, key)) {
        c->missing = cos_strdup(key);
        return MHD_NO;
    }
    return MHD_YES;
}

static bool v4_matches(req *r, s3_state *s, const char *payload, char **sts_out)
{
    cos_kvlist q = COS_KVLIST_INIT, h = COS_KVLIST_INIT;
    kv_walk wq = { &q, s->kind == AUTH_V4_QUERY }, wh = { &h, false };
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_kv, &wq);
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, collect_kv, &wh);
    char *creq = s3_canonical_request(r->method, r->path, q.items, q.count, h.items, h.count, s->signed_headers,
                                      payload);
    cos_kvlist_free(&q);
    cos_kvlist_free(&h);
    char want[65], scope[160];
    snprintf(scope, sizeof scope, "%s/%s/%s/aws4_request", s->day, s->region, s->service);
    s3_v4_signature(s->key, s->amz_date, scope, creq, want, sts_out);
    free(creq);
    char *got = cos_strdup(s->signature);
    cos_str_lower(got);
    bool ok = sig_equal(want, got);
    free(got);
    return ok;
}

/* The regions a scope may name: the bucket's own, and us-east-1 (what tools sign with by default). */
static int check_region(req *r, s3_state *s, enum MHD_Result *ret)
{
    if (!strcmp(s->region, DEFAULT_REGION) || !r->bucket) return 0;
    char *region = NULL;
    int rc = store_bucket_get(r->srv->st, r->bucket, &region, NULL, NULL);
    bool ok = rc != 0 || !region || !strcmp(region, s->region);
    if (!ok) {
        const char *code = s->kind == AUTH_V4_HEADER ? "AuthorizationHeaderMalformed" : "AuthorizationQueryParametersError";
        *ret = send_error(r, code, "The authorization header is malformed; the region '%s' is wrong; expecting '%s' "
                          "(or us-east-1).", s->region, region);
    }
    free(region);
    return ok ? 0 : -1;
}

static int v4_authenticate(req *r, s3_state *s, enum MHD_Result *ret)
{
    if (s->parse_code) {
        *ret = send_error(r, s->parse_code, "%s", s->parse_msg);
        return -1;
    }
    if (strcmp(s->service, "s3") != 0) {
        *ret = send_error(r, "AuthorizationHeaderMalformed", "The authorization header is malformed; incorrect "
                          "service \"%s\". This endpoint belongs to \"s3\".", s->service);
        return -1;
    }
    int64_t now = cos_now_ms() / 1000;
    if (s->kind == AUTH_V4_HEADER && (s->req_time > now + MAX_SKEW_S || s->req_time < now - MAX_SKEW_S)) {
        *ret = send_error(r, "RequestTimeTooSkewed", "The difference between the request time and the current time "
                                                     "is too large.");
        return -1;
    }
    if (s->kind == AUTH_V4_QUERY) {
        if (s->req_time > now + MAX_SKEW_S) {
            *ret = send_error(r, "AccessDenied", "Request is not valid yet");
            return -1;
        }
        if (now > s->req_time + s->expires) {
            *ret = send_error(r, "AccessDenied", "Request has expired");
            return -1;
        }
    }
    if (!auth_resolve_key(r, s->ak, s->token, ret)) return -1;
    if (!s->have_key) { /* resolved now but not before the body: a key that appeared meanwhile */
        *ret = send_error(r, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.");
        return -1;
    }
    if (!in_signed_list(s->signed_headers, "host")) {
        *ret = send_error(r, "AccessDenied", "The host header must be signed.");
        return -1;
    }
    cover c = { s->signed_headers, NULL };
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, check_cover, &c);
    if (c.missing) {
        *ret = send_error(r, "AccessDenied", "There were headers present in the request which were not signed: %s",
                          c.missing);
        free(c.missing);
        return -1;
    }
    const char *payload = req_header(r, "x-amz-content-sha256");
    if (s->kind == AUTH_V4_HEADER && !payload) {
        *ret = send_error(r, "InvalidRequest", "Missing required header for this request: x-amz-content-sha256");
        return -1;
    }
    if (!payload) payload = req_arg(r, "X-Amz-Content-Sha256");
    char *sts = NULL;
    bool ok = v4_matches(r, s, payload ? payload : "UNSIGNED-PAYLOAD", &sts);
    /* a presigner that hashed an empty body (libcos's, the AWS SDKs' generic one): only an empty body matches */
    if (!ok && !payload && s->kind == AUTH_V4_QUERY && s->received == 0) {
        char *other = NULL;
        ok = v4_matches(r, s, EMPTY_SHA256, &other);
        free(other);
    }
    if (!ok) {
        *ret = send_error_sts(r, "SignatureDoesNotMatch", "The request signature we calculated does not match the "
                              "signature you provided. Check your key and signing method.", sts, NULL);
        free(sts);
        return -1;
    }
    free(sts);
    /* the body is bound by its hash (verified as it arrives) or by a signed Content-MD5 */
    r->body_signed = s->mode == PAY_HEX || (req_header(r, "Content-MD5") && in_signed_list(s->signed_headers, "content-md5"));
    /* after the signature: a wrong secret is named as such even when the region is wrong too */
    return check_region(r, s, ret);
}

/* ------------------------------------------------------------ SigV2 */

/* The sub-resources SigV2 signs (S3's list, and response-* overrides). */
static const char *const V2_SUBRESOURCES[] = {
    "acl", "cors", "delete", "encryption", "lifecycle", "location", "logging", "notification", "partNumber",
    "policy", "replication", "requestPayment", "response-cache-control", "response-content-disposition",
    "response-content-encoding", "response-content-language", "response-content-type", "response-expires",
    "restore", "tagging", "torrent", "uploadId", "uploads", "versionId", "versioning", "versions", "website",
};
/* What SigV2 leaves unsigned and S3 still reads: a listing's paging and shape. Allowed with a
 * header signature only (a presigned URL may not be widened by anyone who holds it). */
static const char *const V2_LISTING[] = { "prefix", "delimiter", "marker", "max-keys", "encoding-type", "list-type",
                                          "continuation-token", "start-after", "fetch-owner", "key-marker",
                                          "upload-id-marker", "version-id-marker", "max-uploads", "max-parts",
                                          "part-number-marker" };
static const char *const V2_AUTH[] = { "AWSAccessKeyId", "Expires", "Signature", "x-amz-security-token" };

static bool in_names(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0) return true;
    return false;
}

typedef struct v2_walk { pair *p; size_t n, cap; bool presigned; char *unsigned_param; cos_buf *amz; } v2_walk;

static enum MHD_Result v2_query(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    v2_walk *w = cls;
    if (in_names(V2_SUBRESOURCES, COS_ARRAY_LEN(V2_SUBRESOURCES), key)) {
        if (w->n == w->cap) {
            w->cap = w->cap ? w->cap * 2 : 8;
            w->p = realloc(w->p, w->cap * sizeof *w->p);
        }
        w->p[w->n].name = cos_strdup(key);
        w->p[w->n].value = value ? cos_strdup(value) : NULL;
        w->n++;
    } else if (!in_names(V2_AUTH, COS_ARRAY_LEN(V2_AUTH), key) &&
               (w->presigned || !in_names(V2_LISTING, COS_ARRAY_LEN(V2_LISTING), key)) && !w->unsigned_param) {
        w->unsigned_param = cos_strdup(key);
    }
    return MHD_YES;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const pair *)a)->name, ((const pair *)b)->name);
}

typedef struct amz_walk { pair *p; size_t n, cap; bool cos_header; } amz_walk;

static enum MHD_Result v2_amz(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    amz_walk *w = cls;
    if (cos_starts_with_ci(key, "x-cos-")) w->cos_header = true;
    if (!cos_starts_with_ci(key, "x-amz-")) return MHD_YES;
    char *name = cos_strdup(key);
    cos_str_lower(name);
    char *raw = cos_strdup(value ? value : "");
    char *v = cos_strdup(cos_str_trim(raw));
    free(raw);
    for (size_t i = 0; i < w->n; i++)
        if (!strcmp(w->p[i].name, name)) { /* repeats join with "," */
            char *j = cos_sprintf("%s,%s", w->p[i].value, v);
            free(w->p[i].value);
            w->p[i].value = j;
            free(name);
            free(v);
            return MHD_YES;
        }
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 8;
        w->p = realloc(w->p, w->cap * sizeof *w->p);
    }
    w->p[w->n].name = name;
    w->p[w->n].value = v;
    w->n++;
    return MHD_YES;
}

static void free_pairs(pair *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].name);
        free(p[i].value);
    }
    free(p);
}

static int v2_authenticate(req *r, s3_state *s, enum MHD_Result *ret)
{
    bool presigned = s->kind == AUTH_V2_QUERY;
    char *ak = NULL, *sig = NULL;
    const char *token = req_header(r, "x-amz-security-token");
    if (!token) token = req_arg(r, "x-amz-security-token");
    int64_t now = cos_now_ms() / 1000;
    const char *date_line = NULL;
    if (presigned) {
        const char *a = req_arg(r, "AWSAccessKeyId"), *e = req_arg(r, "Expires"), *g = req_arg(r, "Signature");
        int64_t exp;
        if (!a || !e || !g || cos_parse_i64(e, &exp) != 0) {
            *ret = send_error(r, "AccessDenied", "Query-string authentication requires the Signature, Expires and "
                                                 "AWSAccessKeyId parameters");
            return -1;
        }
        if (now > exp) {
            *ret = send_error(r, "AccessDenied", "Request has expired");
            return -1;
        }
        ak = cos_strdup(a);
        sig = cos_strdup(g);
        date_line = e;
    } else {
        const char *auth = req_header(r, "Authorization") + 4;
        while (*auth == ' ') auth++;
        const char *colon = strrchr(auth, ':');
        if (!colon || colon == auth || !colon[1]) {
            *ret = send_error(r, "InvalidArgument", "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature");
            return -1;
        }
        ak = cos_strndup(auth, (size_t)(colon - auth));
        sig = cos_strdup(colon + 1);
        const char *xd = req_header(r, "x-amz-date"), *d = req_header(r, "Date");
        int64_t t = xd ? parse_http_date(xd) : parse_http_date(d);
        if (t < 0) {
            free(ak);
            free(sig);
            *ret = send_error(r, "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header");
            return -1;
        }
        if (t > now + MAX_SKEW_S || t < now - MAX_SKEW_S) {
            free(ak);
            free(sig);
            *ret = send_error(r, "RequestTimeTooSkewed", "The difference between the request time and the current "
                                                         "time is too large.");
            return -1;
        }
        date_line = xd ? "" : d; /* with x-amz-date, Date's line is empty (x-amz-date is signed among the amz headers) */
    }
    const char *secret = auth_resolve_key(r, ak, token, ret);
    free(ak);
    if (!secret) {
        free(sig);
        return -1;
    }
    v2_walk q = { NULL, 0, 0, presigned, NULL, NULL };
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, v2_query, &q);
    amz_walk a = { NULL, 0, 0, false };
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, v2_amz, &a);
    int rc = 0;
    if (q.unsigned_param || a.cos_header || s->mode >= PAY_STREAM_SIGNED) {
        *ret = q.unsigned_param ? send_error(r, "AccessDenied", "Access Denied: parameter %s is not covered by a SigV2 "
                                             "signature; use SigV4.", q.unsigned_param)
               : a.cos_header ? send_error(r, "AccessDenied", "Access Denied: SigV2 does not sign x-cos-* headers; use "
                                           "x-amz-* or SigV4.")
                              : send_error(r, "InvalidRequest", "aws-chunked bodies need SigV4.");
        rc = -1;
    }
    if (rc == 0) {
        if (q.n) qsort(q.p, q.n, sizeof *q.p, cmp_name);
        if (a.n) qsort(a.p, a.n, sizeof *a.p, cmp_name);
        cos_buf b = COS_BUF_INIT;
        const char *md5 = req_header(r, "Content-MD5"), *ct = req_header(r, "Content-Type");
        cos_buf_printf(&b, "%s\n%s\n%s\n%s\n", r->method, md5 ? md5 : "", ct ? ct : "", date_line ? date_line : "");
        for (size_t i = 0; i < a.n; i++) cos_buf_printf(&b, "%s:%s\n", a.p[i].name, a.p[i].value);
        /* the resource: /BUCKET/ for a bucket, /BUCKET/KEY for an object, however the request addressed it */
        if (r->bucket) {
            cos_buf_printf(&b, "/%s/", r->bucket);
            if (r->key) cos_uri_encode(&b, r->key, strlen(r->key), true);
        } else {
            cos_buf_putc(&b, '/');
        }
        for (size_t i = 0; i < q.n; i++)
            cos_buf_printf(&b, "%c%s%s%s", i ? '&' : '?', q.p[i].name, q.p[i].value ? "=" : "",
                           q.p[i].value ? q.p[i].value : "");
        char want[64];
        s3_v2_signature(secret, b.data, b.len, want);
        if (!sig_equal(want, sig)) {
            *ret = send_error_sts(r, "SignatureDoesNotMatch", "The request signature we calculated does not match "
                                  "the signature you provided. Check your key and signing method.", b.data, NULL);
            rc = -1;
        }
        r->body_signed = rc == 0 && md5 && *md5; /* SigV2 always signs Content-MD5 */
        cos_buf_free(&b);
    }
    free(q.unsigned_param);
    free_pairs(q.p, q.n);
    free_pairs(a.p, a.n);
    free(sig);
    return rc;
}

/* ------------------------------------------------------------ entry points */

int s3_authenticate_signature(req *r, enum MHD_Result *ret)
{
    s3_state *s = r->s3;
    if (!s || s->kind == AUTH_NONE) return 1;
    return s->kind == AUTH_V2_HEADER || s->kind == AUTH_V2_QUERY ? v2_authenticate(r, s, ret)
                                                                  : v4_authenticate(r, s, ret);
}

int s3_authenticate(req *r, enum MHD_Result *ret)
{
    int rc = s3_authenticate_signature(r, ret);
    if (rc == 1) return 1;
    if (rc != 0) {
        if (r->w_open) { /* refused: the body never becomes an object */
            data_abort(&r->w);
            r->w_open = false;
        }
        return -1;
    }
    return s3_body_verify(r, ret);
}

/* The headers an object keeps from an S3 body: Content-Encoding without the
 * transfer's aws-chunked, and the checksum it was verified against. */
static void keep_header(void *ud, const char *name, const char *value)
{
    cos_buf *b = ud;
    if (!cos_streq_ci(name, "Content-Encoding")) {
        objhdr_add(b, name, value);
        return;
    }
    /* "aws-chunked" or "aws-chunked, gzip": keep only the codings of the object itself */
    cos_buf keep = COS_BUF_INIT;
    cos_buf_puts(&keep, "");
    char *copy = cos_strdup(value), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        t = cos_str_trim(t);
        if (*t && strcasecmp(t, "aws-chunked") != 0) cos_buf_printf(&keep, "%s%s", keep.len ? ", " : "", t);
    }
    if (keep.len) objhdr_add(b, name, keep.data);
    free(copy);
    cos_buf_free(&keep);
}

void s3_object_headers(req *r, char **headers)
{
    s3_state *s = r->s3;
    if (!s) return;
    cos_buf b = COS_BUF_INIT;
    cos_buf_puts(&b, "");
    objhdr_each(*headers, keep_header, &b);
    if (s->ck && s->ck_got[0]) {
        char name[48];
        snprintf(name, sizeof name, "x-cos-internal-checksum-%s", CK_NAMES[s->ck - 1]);
        objhdr_add(&b, name, s->ck_got);
    }
    free(*headers);
    *headers = cos_buf_detach(&b);
}

void s3_answer_checksum(req *r, struct MHD_Response *resp, const char *headers, bool stored_only)
{
    char name[48];
    if (!stored_only) { /* a write's answer echoes what it verified */
        s3_state *s = r->s3;
        if (s && s->ck && s->ck_got[0]) {
            snprintf(name, sizeof name, "x-amz-checksum-%s", CK_NAMES[s->ck - 1]);
            MHD_add_response_header(resp, name, s->ck_got);
        }
        return;
    }
    const char *mode = req_header(r, "x-amz-checksum-mode");
    if (!mode || strcasecmp(mode, "ENABLED") != 0 || !headers) return;
    for (size_t i = 0; i < COS_ARRAY_LEN(CK_NAMES); i++) {
        snprintf(name, sizeof name, "x-cos-internal-checksum-%s", CK_NAMES[i]);
        char *v = objhdr_get(headers, name);
        if (!v) continue;
        snprintf(name, sizeof name, "x-amz-checksum-%s", CK_NAMES[i]);
        MHD_add_response_header(resp, name, v);
        free(v);
    }
}

/* ------------------------------------------------------------ multipart checksums */

#define UPLOAD_CK_RECORD "x-cos-internal-checksum-algorithm"

void s3_upload_checksum(req *r, char **headers, struct MHD_Response *resp)
{
    const char *alg = req_header(r, "x-amz-checksum-algorithm");
    if (!alg) alg = req_header(r, "x-amz-sdk-checksum-algorithm");
    int ck = alg ? ck_by_name(alg) : 0;
    if (!ck) return;
    if (headers) {
        cos_buf b = COS_BUF_INIT;
        cos_buf_puts(&b, *headers ? *headers : "");
        objhdr_add(&b, UPLOAD_CK_RECORD, CK_NAMES[ck - 1]);
        free(*headers);
        *headers = cos_buf_detach(&b);
    }
    if (resp) {
        char up[16];
        snprintf(up, sizeof up, "%s", CK_NAMES[ck - 1]);
        for (char *c = up; *c; c++) *c = (char)toupper((unsigned char)*c);
        MHD_add_response_header(resp, "x-amz-checksum-algorithm", up);
    }
}

static bool has_sse(const char *headers)
{
    char *v = objhdr_get(headers, "x-cos-server-side-encryption");
    char *c = objhdr_get(headers, "x-cos-server-side-encryption-customer-algorithm");
    bool on = v || c;
    free(v);
    free(c);
    return on;
}

/* S3's checksum of a multipart object: the algorithm over the parts' own
 * checksums, then "-N". The parts' checksums are not kept, so they are
 * computed again from the parts' data here (only for uploads started with an
 * algorithm; a read of the whole object). NULL when the upload asked for
 * none, its parts are encrypted, or a part cannot be read. */
char *s3_multipart_checksum(req *r, const char *upload_headers, const char *const *data_ids, size_t n,
                            char **record_name)
{
    char *alg = objhdr_get(upload_headers, UPLOAD_CK_RECORD);
    int ck = alg ? ck_by_name(alg) : 0;
    free(alg);
    if (!ck || has_sse(upload_headers)) return NULL;
    cos_cksum *all = cos_cksum_new(CK_ALGS[ck - 1]);
    unsigned char *buf = malloc(1 << 20);
    bool ok = all && buf;
    for (size_t i = 0; ok && i < n; i++) {
        data_reader dr;
        if (data_open(r->srv->st, data_ids[i], &dr) != 0) {
            ok = false;
            break;
        }
        cos_cksum *part = cos_cksum_new(CK_ALGS[ck - 1]);
        ok = part != NULL;
        for (uint64_t off = 0; ok && off < dr.total;) {
            ssize_t got = data_pread(&dr, buf, 1 << 20, off);
            if (got <= 0) ok = false;
            else {
                cos_cksum_update(part, buf, (size_t)got);
                off += (uint64_t)got;
            }
        }
        if (ok) {
            unsigned char raw[32];
            size_t len = cos_cksum_raw(part, raw);
            cos_cksum_update(all, raw, len);
        }
        cos_cksum_free(part);
        data_close(&dr);
    }
    char *out = NULL;
    if (ok) {
        char b64[COS_CKSUM_B64_MAX];
        cos_cksum_b64(all, b64);
        out = cos_sprintf("%s-%zu", b64, n);
        *record_name = cos_sprintf("x-cos-internal-checksum-%s", CK_NAMES[ck - 1]);
    }
    cos_cksum_free(all);
    free(buf);
    return out;
}

bool s3_complete_checksum_ok(req *r, const char *upload_headers, const char *const *data_ids, size_t n,
                             enum MHD_Result *ret)
{
    if (!r->is_s3) return true;
    const char *want = NULL;
    int ck = 0;
    for (size_t i = 0; i < COS_ARRAY_LEN(CK_NAMES); i++) {
        char name[40];
        snprintf(name, sizeof name, "x-amz-checksum-%s", CK_NAMES[i]);
        const char *v = req_header(r, name);
        if (!v) continue;
        if (want) {
            *ret = send_error(r, "InvalidRequest", "Expecting a single x-amz-checksum- header. Multiple checksum "
                                                   "Types are not allowed.");
            return false;
        }
        want = v;
        ck = (int)i + 1;
    }
    if (!want) return true;
    char *record = NULL, *got = s3_multipart_checksum(r, upload_headers, data_ids, n, &record);
    char expected_record[64];
    snprintf(expected_record, sizeof expected_record, "x-cos-internal-checksum-%s", CK_NAMES[ck - 1]);
    /* an upload started without this algorithm has no such checksum to promise */
    bool ok = got && record && !strcmp(record, expected_record) && !strcmp(got, want);
    free(got);
    free(record);
    if (!ok)
        *ret = send_error(r, "BadDigest", "The %s you specified did not match the calculated checksum.",
                          CK_NAMES[ck - 1]);
    return ok;
}

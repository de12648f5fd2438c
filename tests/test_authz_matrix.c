/* test_authz_matrix.c — cos-server's authorization checked systematically:
 * generated from the server's own operation table (server/authz_ops.inc,
 * which authz.c compiles as OPS), every operation x every kind of principal
 * x both dialects (COS: q-sign, S3: SigV4) x private, public-read and
 * public-read-write buckets.
 *
 * Each cell is one well-formed request. The expected answer comes from the
 * row itself (its action, its ACL permission, its flags) and the model of
 * docs/cos-server.md "Authorization", never from a hand-written list of
 * answers: a refused cell must be 403 and change nothing (the owner's view of
 * the bucket, its objects, ACLs, tags, configurations and uploads is compared
 * before and after each group of cells); an allowed one must be authorized.
 * A row the test cannot make a request for fails it, and so does an
 * operation of libcos's table (COS_OPERATIONS) that has no row: an operation
 * added later without its authorization rule (or without a cell here) fails.
 *
 * Then what a table of single requests does not reach: every versioned row on
 * a private old version, copies whose source is another account's private
 * object, a temporary key's multi-delete outside its prefix, unimplemented
 * operations (SELECT), presigned PUTs with unsigned headers, /sts and
 * /-/faults, every row sent to the console's listener, and anonymous clients
 * (48 flooding keep-alive connections, 64 stalled readers of a large public
 * object) that must not lock the owner out. One server (and one with
 * --console), requests over kept-alive connections (libcurl).
 * MATRIX_SHOW_EITHER=1 / MATRIX_SHOW_OWNER=1 print the cells that may go
 * either way and the owner's non-2xx answers. */
#define _GNU_SOURCE
#include "testlib.h"
#include "util.h"
#include "url.h"
#include "server.h"
#include "signer.h"
#include "s3sig.h"
#include "cos/sign.h"
#include "cos/hash.h"
#include <curl/curl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- the server's table */

#define A(x) "name/cos:" x
static const op_def OPS[] = {
#include "authz_ops.inc"
};
#undef A

static test_server g_srv;
#define APPID TEST_APPID
#define REGION "ap-guangzhou"
/* private, public-read, public-read-write, and private with grants: READ, WRITE and READ_ACP to another
 * account (its ACL), a few actions to a sub-user (its policy) */
enum { B_PRIV, B_PUBR, B_PUBRW, B_GRANT, NB };
static const char *const BUCKETS[NB] = { "mx-priv-" APPID, "mx-pubr-" APPID, "mx-pubrw-" APPID, "mx-grant-" APPID };
static const char *const CANNED[NB] = { "private", "public-read", "public-read-write", "private" };
#define ELSE_BUCKET "mx-else-" APPID    /* the owner's, where one temporary key is scoped */
#define LOCK_BUCKET "mx-lock-" APPID    /* the owner's, versioned and locked: where its lock requests succeed */
#define OTHERS_BUCKET "mx-other-" APPID /* the second account's */
#define OBJ "obj.txt"
static char *g_upload[NB]; /* the owner's upload of OBJ in each bucket */

typedef struct creds { const char *id, *key, *token; } creds;
static const creds OWNER = { TEST_SECRET_ID, TEST_SECRET_KEY, NULL };
static const creds OTHER = { "AKIDmxOTHERaccount000000000000000000", "mxOTHERaccountSECRETkey0000000000", NULL };
#define OTHER_ACCOUNT "mx-other-account"
/* a sub-user of the owner's account (CAM: uin/OWNER:uin/SUB) holding no grant */
static const creds SUBU = { "AKIDmxSUBUSERkey00000000000000000000", "mxSUBUSERsecretKEY000000000000000", NULL };
#define SUB_ACCOUNT "qcs::cam::uin/" APPID ":uin/700000000001"
/* what B_GRANT's policy allows the sub-user (on every resource of the bucket) */
static const char *const SUB_ACTIONS[] = { "name/cos:GetBucketCORS", "name/cos:PutObjectTagging", "name/cos:GetObject" };
#define GRANT_POLICY                                                                                                   \
    "{\"statement\":[{\"principal\":{\"qcs\":[\"" SUB_ACCOUNT "\"]},\"effect\":\"allow\",\"action\":"           \
    "[\"name/cos:GetBucketCORS\",\"name/cos:PutObjectTagging\",\"name/cos:GetObject\"],\"resource\":"             \
    "[\"qcs::cos:" REGION ":uid/" APPID ":mx-grant-" APPID "/*\"]}]}"

enum principal {
    P_OWNER,      /* the owner's permanent key */
    P_ANON,       /* no signature */
    P_OTHER,      /* another account's permanent key */
    P_SUB,        /* a sub-user's key with no grant */
    P_STS_BUCKET, /* the owner's temporary key, name/cos:* on another bucket */
    P_STS_PREFIX, /* the owner's temporary key, name/cos:* on other/ of each bucket */
    P_STS_RO,     /* the owner's temporary key, read-only actions on each bucket */
    P_PRESIGN,    /* the owner's presigned URL for another operation on the same resource, replayed */
    P_FORM,       /* a POST form signed by the owner whose policy covers another key */
    P_STS_OTHER,  /* another account's temporary key, name/cos:* on everything: never wider than that account */
    P_STS_SUB,    /* the sub-user's temporary key, name/cos:* on everything: never wider than the sub-user */
    NP
};
static const char *const PNAME[NP] = { "owner", "anonymous", "other-account", "sub-user", "sts-other-bucket",
                                       "sts-other-prefix", "sts-read-only", "presigned-other-op", "form-other-key",
                                       "other-account-sts", "sub-user-sts" };
static creds g_sts[NP];

static const char *const RO_ACTIONS[] = { "name/cos:GetObject", "name/cos:HeadObject", "name/cos:GetBucket",
                                          "name/cos:HeadBucket" };

/* ---------------------------------------------------------------- HTTP over kept-alive connections */

typedef struct reply { long status; char *body; size_t blen; char *head; } reply;

static void reply_free(reply *r)
{
    free(r->body);
    free(r->head);
    r->body = r->head = NULL;
}

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    cos_buf_append(ud, p, sz * n);
    return sz * n;
}

static CURL *g_curl;
static unsigned long g_requests;
static int g_port_override; /* set: requests go to this port (the console's listener) */

/* method at target (raw, as sent) with Host host and raw header lines hdrs; body as given. */
static reply http(CURL *c, const char *method, const char *host, const char *target, const cos_kv *hdrs, size_t nh,
                  const char *body, size_t blen)
{
    curl_easy_reset(c); /* keeps the connection */
    char *url = cos_sprintf("http://127.0.0.1:%d%s", g_port_override ? g_port_override : g_srv.port, target);
    struct curl_slist *l = NULL;
    char *hl = cos_sprintf("Host: %s", host);
    l = curl_slist_append(l, hl);
    free(hl);
    l = curl_slist_append(l, "Expect:");
    l = curl_slist_append(l, "Accept:");
    bool ctype = false;
    for (size_t i = 0; i < nh; i++) {
        char *line = cos_sprintf("%s: %s", hdrs[i].name, hdrs[i].value);
        l = curl_slist_append(l, line);
        free(line);
        if (!strcasecmp(hdrs[i].name, "Content-Type")) ctype = true;
    }
    if (!ctype) l = curl_slist_append(l, body ? "Content-Type: application/xml" : "Content-Type:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, l);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    if (!strcmp(method, "HEAD")) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        if (body || !strcmp(method, "PUT") || !strcmp(method, "POST")) {
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)(body ? blen : 0));
        }
    }
    cos_buf b = COS_BUF_INIT, h = COS_BUF_INIT;
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
    reply r = { 0, NULL, 0, NULL };
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    cos_buf_putc(&b, '\0');
    cos_buf_putc(&h, '\0');
    r.blen = b.len - 1;
    r.body = cos_buf_detach(&b);
    r.head = cos_buf_detach(&h);
    curl_slist_free_all(l);
    free(url);
    g_requests++;
    return r;
}

static char *xml_value(const char *body, const char *tag) { return test_xml_value(body, tag); }

static char *reply_header(const reply *r, const char *name)
{
    test_reply t = { (int)r->status, r->head, r->body };
    return test_reply_header(&t, name);
}

/* ---------------------------------------------------------------- requests in either dialect */

/* COS (virtual host, q-sign), S3 (virtual host, SigV4), S3 path-style (127.0.0.1:PORT/BUCKET/KEY, as most
 * S3 tools address it) */
enum dialect { D_COS, D_S3, D_S3P, ND };
static const char *const DNAME[ND] = { "cos", "s3", "s3-path" };

typedef struct rq {
    const char *method;
    int level;          /* L_SERVICE, L_BUCKET, L_OBJECT */
    const char *bucket;
    char key[128];      /* without the leading slash */
    cos_kv q[4];        /* query parameters (decoded); names/values static or in vals */
    size_t nq;
    cos_kv h[6];        /* headers, COS's names (x-cos-*: x-amz-* in S3's dialect) */
    size_t nh;
    char vals[6][256];  /* storage for computed values */
    char *body;         /* malloc'd */
    size_t blen;
    bool form;          /* body is a multipart form (boundary BB) */
} rq;

static void rq_free(rq *r)
{
    free(r->body);
    r->body = NULL;
}

static const char *rq_val(rq *r, int slot, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static const char *rq_val(rq *r, int slot, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->vals[slot], sizeof r->vals[slot], fmt, ap);
    va_end(ap);
    return r->vals[slot];
}

static void put_encoded(cos_buf *b, const char *s)
{
    cos_uri_encode(b, s, strlen(s), false); /* RFC 3986's unreserved kept, the rest %XX */
}

static char *host_for(const rq *r, int d)
{
    if (d == D_S3P) return cos_sprintf("127.0.0.1:%d", g_port_override ? g_port_override : g_srv.port);
    if (r->level == L_SERVICE) return cos_strdup(d == D_COS ? "service.cos.myqcloud.com" : "s3.example.test");
    return d == D_COS ? cos_sprintf("%s.cos." REGION ".myqcloud.com", r->bucket) : cos_sprintf("%s.s3.example.test", r->bucket);
}

static char *path_of(const rq *r, int d)
{
    if (d == D_S3P && r->level != L_SERVICE)
        return r->level == L_OBJECT ? cos_sprintf("/%s/%s", r->bucket, r->key) : cos_sprintf("/%s", r->bucket);
    return r->level == L_OBJECT ? cos_sprintf("/%s", r->key) : cos_strdup("/");
}

/* "?a=b&c" from the request's parameters ("" when none); extra appended as is */
static char *query_of(const rq *r, const char *extra)
{
    cos_buf b = COS_BUF_INIT;
    for (size_t i = 0; i < r->nq; i++) {
        cos_buf_putc(&b, i ? '&' : '?');
        put_encoded(&b, r->q[i].name);
        if (*r->q[i].value) {
            cos_buf_putc(&b, '=');
            put_encoded(&b, r->q[i].value);
        }
    }
    if (extra && *extra) cos_buf_printf(&b, "%s%s", r->nq ? "&" : "?", extra);
    cos_buf_putc(&b, '\0');
    return cos_buf_detach(&b);
}

/* The request's headers in a dialect: x-cos-* become x-amz-*. */
static void dialect_headers(const rq *r, int d, cos_kv *out, char names[][64])
{
    for (size_t i = 0; i < r->nh; i++) {
        if (d != D_COS && !strncasecmp(r->h[i].name, "x-cos-", 6)) {
            snprintf(names[i], 64, "x-amz-%s", r->h[i].name + 6);
            out[i] = (cos_kv){ names[i], r->h[i].value };
        } else {
            out[i] = r->h[i];
        }
    }
}

/* Send r in dialect d signed by who (NULL: unsigned). */
static reply send_rq(CURL *c, const rq *r, int d, const creds *who)
{
    char *host = host_for(r, d), *path = path_of(r, d), *query = query_of(r, NULL);
    char names[8][64];
    cos_kv h[12];
    dialect_headers(r, d, h, names);
    size_t nh = r->nh;
    char md5[32] = "";
    if (r->body && !r->form) {
        unsigned char dg[16];
        cos_md5_digest(r->body, r->blen, dg);
        cos_base64_encode(dg, 16, md5);
        h[nh++] = (cos_kv){ "Content-MD5", md5 };
    }
    char *target = cos_sprintf("%s%s", path, query);
    char *auth = NULL;
    cos_sigv4_result res = { 0 };
    bool signed_v4 = false;
    if (who && d == D_COS) {
        auth = test_cos_auth(who->id, who->key, r->method, path, host, r->q, r->nq, h, nh);
        h[nh++] = (cos_kv){ "Authorization", auth ? auth : "" };
        if (who->token) h[nh++] = (cos_kv){ "x-cos-security-token", who->token };
    } else if (who) {
        cos_kv sh[12];
        size_t ns = 0;
        sh[ns++] = (cos_kv){ "host", host };
        for (size_t i = 0; i < nh; i++) sh[ns++] = h[i];
        char sha[65];
        cos_sha256_hex(r->body ? r->body : "", r->body ? r->blen : 0, sha);
        cos_sigv4_params p = COS_SIGV4_PARAMS_INIT;
        p.access_key = who->id;
        p.secret_key = who->key;
        p.session_token = who->token;
        p.region = "us-east-1";
        p.method = r->method;
        p.encoded_path = path;
        p.query = r->q;
        p.query_count = r->nq;
        p.headers = sh;
        p.header_count = ns;
        p.payload_hash = sha;
        cos_error *err = NULL;
        if (cos_sigv4_sign(&p, &res, &err) != 0) {
            test_fail(__FILE__, __LINE__, "sigv4: %s", cos_error_message(err));
            cos_error_free(err);
        } else {
            signed_v4 = true;
            h[nh++] = (cos_kv){ "Authorization", res.authorization };
            h[nh++] = (cos_kv){ "x-amz-date", res.amz_date };
            h[nh++] = (cos_kv){ "x-amz-content-sha256", res.content_sha256 };
            if (who->token) h[nh++] = (cos_kv){ "x-amz-security-token", who->token };
        }
    }
    if (r->form) h[nh++] = (cos_kv){ "Content-Type", "multipart/form-data; boundary=BB" };
    reply out = http(c, r->method, host, target, h, nh, r->body, r->blen);
    if (signed_v4) cos_sigv4_result_free(&res);
    free(auth);
    free(target);
    free(query);
    free(path);
    free(host);
    return out;
}

/* The owner's presigned query (malloc'd, NULL on failure) for method on path at host in dialect d. */
static char *owner_presign(int d, const char *method, const char *host, const char *path)
{
    char *sig = NULL;
    if (d == D_COS) {
        cos_sign_params p = COS_SIGN_PARAMS_INIT;
        p.secret_id = OWNER.id;
        p.secret_key = OWNER.key;
        p.method = method;
        p.pathname = path;
        p.host = host;
        cos_sign(&p, &sig, NULL, NULL);
    } else {
        cos_kv hs[] = { { "host", host } };
        cos_sigv4_params p = COS_SIGV4_PARAMS_INIT;
        p.access_key = OWNER.id;
        p.secret_key = OWNER.key;
        p.region = "us-east-1";
        p.method = method;
        p.encoded_path = path;
        p.headers = hs;
        p.header_count = 1;
        if (cos_sigv4_presign(&p, 600, &sig, NULL) != 0) sig = NULL;
    }
    return sig;
}

/* The owner's presigned URL for another operation on r's resource (a GET of it without parameters,
 * or a PUT when r is that GET), replayed with r's method, parameters, headers and body, unsigned. */
static reply send_presigned_other(CURL *c, const rq *r, int d)
{
    char *host = host_for(r, d), *path = path_of(r, d);
    const char *signed_method = !strcmp(r->method, "GET") && r->nq == 0 ? "PUT" : "GET";
    char *sig = owner_presign(d, signed_method, host, path);
    char *query = query_of(r, sig ? sig : "");
    char *target = cos_sprintf("%s%s", path, query);
    char names[8][64];
    cos_kv h[8];
    dialect_headers(r, d, h, names);
    size_t nh = r->nh;
    if (r->form) h[nh++] = (cos_kv){ "Content-Type", "multipart/form-data; boundary=BB" };
    reply out = http(c, r->method, host, target, h, nh, r->body, r->blen);
    free(target);
    free(query);
    free(sig);
    free(path);
    free(host);
    return out;
}

/* ---------------------------------------------------------------- POST forms */

static char *b64(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(n * 4 / 3 + 8);
    cos_base64_encode((const unsigned char *)s, n, out);
    return out;
}

/* A form for key in bucket: signed by who with a policy whose keys start with key_prefix (who NULL:
 * anonymous, no policy), COS's q-sign fields or (s3) S3's SigV4 ones. */
static char *form_body_in(const creds *who, const char *bucket, const char *key, const char *key_prefix, bool s3,
                          size_t *len)
{
    cos_buf b = COS_BUF_INIT;
#define FIELD(n, v) cos_buf_printf(&b, "--BB\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n", (n), (v))
    if (who && s3) {
        char day[9], amz_date[17], cred[200];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(day, sizeof day, "%Y%m%d", &tm);
        strftime(amz_date, sizeof amz_date, "%Y%m%dT%H%M%SZ", &tm);
        snprintf(cred, sizeof cred, "%s/%s/us-east-1/s3/aws4_request", who->id, day);
        cos_buf pj = COS_BUF_INIT;
        cos_buf_printf(&pj, "{\"expiration\":\"2099-01-01T00:00:00.000Z\",\"conditions\":[{\"bucket\":\"%s\"},"
                            "[\"starts-with\",\"$key\",\"%s\"],{\"x-amz-algorithm\":\"AWS4-HMAC-SHA256\"},"
                            "{\"x-amz-credential\":\"%s\"},{\"x-amz-date\":\"%s\"}", bucket, key_prefix, cred, amz_date);
        if (who->token) cos_buf_printf(&pj, ",{\"x-amz-security-token\":\"%s\"}", who->token);
        cos_buf_puts(&pj, "]}");
        cos_buf_putc(&pj, '\0');
        char *pol = b64(pj.data);
        unsigned char sk[32], mac[32];
        char sig[65];
        s3_signing_key(who->key, day, "us-east-1", "s3", sk);
        cos_hmac_sha256(sk, 32, pol, strlen(pol), mac);
        cos_hex_encode(mac, 32, sig);
        FIELD("policy", pol);
        FIELD("x-amz-algorithm", "AWS4-HMAC-SHA256");
        FIELD("x-amz-credential", cred);
        FIELD("x-amz-date", amz_date);
        FIELD("x-amz-signature", sig);
        if (who->token) FIELD("x-amz-security-token", who->token);
        free(pol);
        cos_buf_free(&pj);
    } else if (who) {
        char kt[64];
        long long now = (long long)time(NULL);
        snprintf(kt, sizeof kt, "%lld;%lld", now - 60, now + 600);
        char *policy = cos_sprintf("{\"expiration\":\"2099-01-01T00:00:00.000Z\",\"conditions\":[{\"bucket\":\"%s\"},"
                                   "[\"starts-with\",\"$key\",\"%s\"]]}", bucket, key_prefix);
        char sign_key[41], sha[41], sig[41];
        cos_hmac_sha1_hex(who->key, strlen(who->key), kt, strlen(kt), sign_key);
        cos_sha1_hex(policy, strlen(policy), sha);
        cos_hmac_sha1_hex(sign_key, 40, sha, 40, sig);
        char *pol = b64(policy);
        FIELD("policy", pol);
        FIELD("q-sign-algorithm", "sha1");
        FIELD("q-ak", who->id);
        FIELD("q-key-time", kt);
        FIELD("q-signature", sig);
        if (who->token) FIELD("x-cos-security-token", who->token);
        free(pol);
        free(policy);
    }
    FIELD("key", key);
#undef FIELD
    cos_buf_puts(&b, "--BB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.txt\"\r\n\r\nform bytes\r\n--BB--\r\n");
    *len = b.len;
    cos_buf_putc(&b, '\0');
    return cos_buf_detach(&b);
}

static char *form_body(const creds *who, const char *bucket, const char *key, const char *key_prefix, size_t *len)
{
    return form_body_in(who, bucket, key, key_prefix, false, len);
}

/* ---------------------------------------------------------------- one request per row */

static bool is_mutating(const char *method) { return strcmp(method, "GET") && strcmp(method, "HEAD") && strcmp(method, "OPTIONS"); }

static void set_body(rq *r, char *body)
{
    r->body = body;
    r->blen = strlen(body);
}

/* The request of row o on bucket bk: what an attacker sends (owner = false: a write that would
 * change what the bucket holds), or the owner's well-formed equivalent that leaves the fixture in
 * place (owner = true). false when the test does not know the row: the matrix fails. */
static bool build(const op_def *o, int bk, bool owner, rq *r)
{
    memset(r, 0, sizeof *r);
    r->method = o->method;
    r->level = o->level;
    r->bucket = BUCKETS[bk];
    const char *mark = owner ? "owner" : "attacker";
    if (o->level == L_OBJECT) snprintf(r->key, sizeof r->key, "%s", OBJ);
    if (o->sub && strcmp(o->sub, "uploadId") != 0) r->q[r->nq++] = (cos_kv){ o->sub, "" };
    const char *s = o->sub ? o->sub : "";
    bool put = !strcmp(o->method, "PUT"), post = !strcmp(o->method, "POST");
    if (o->flags & OPF_PREFLIGHT) {
        if (o->level == L_OBJECT) snprintf(r->key, sizeof r->key, "%s", OBJ);
        r->h[r->nh++] = (cos_kv){ "Origin", "http://example.org" };
        r->h[r->nh++] = (cos_kv){ "Access-Control-Request-Method", "PUT" };
        return true;
    }
    if (o->flags & OPF_FORM) {
        r->form = true;
        r->body = form_body(NULL, r->bucket, OBJ, "", &r->blen); /* the principal's own form is made at sending */
        return true;
    }
    if (o->flags & OPF_COPY) {
        r->h[r->nh++] = (cos_kv){ "x-cos-copy-source", rq_val(r, 0, "/%s/%s", BUCKETS[bk], OBJ) };
        if (!strcmp(s, "uploadId")) {
            r->q[r->nq++] = (cos_kv){ "partNumber", "2" };
            r->q[r->nq++] = (cos_kv){ "uploadId", g_upload[bk] };
        } else if (owner) {
            snprintf(r->key, sizeof r->key, "copy.txt");
        }
        return true;
    }
    if (o->level == L_SERVICE) return !strcmp(o->method, "GET");
    if (!*s) { /* the plain operations */
        if (o->level == L_OBJECT && put) set_body(r, cos_sprintf(owner ? "original bytes of %s" : "%s bytes", owner ? BUCKETS[bk] : mark));
        return true;
    }
    if (!strcmp(s, "uploadId")) {
        r->q[r->nq++] = (cos_kv){ "uploadId", g_upload[bk] };
        if (put) {
            r->q[r->nq++] = (cos_kv){ "partNumber", "2" };
            set_body(r, cos_sprintf("%s part", mark));
        } else if (post) {
            set_body(r, cos_strdup("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"00\"</ETag></Part>"
                                   "</CompleteMultipartUpload>"));
        }
        return true;
    }
    if (!strcmp(s, "uploads") || !strcmp(s, "location") || !strcmp(s, "versions") || !strcmp(s, "policyStatus") ||
        !strcmp(s, "attributes")) {
        if (!strcmp(s, "attributes")) r->h[r->nh++] = (cos_kv){ "x-cos-object-attributes", "ETag,ObjectSize" };
        return true;
    }
    if (!strcmp(s, "inventory")) {
        if (o->op != COS_OP_LIST_BUCKET_INVENTORY) r->q[r->nq++] = (cos_kv){ "id", "inv1" };
        if (put)
            set_body(r, cos_sprintf("<InventoryConfiguration><Id>inv1</Id><IsEnabled>true</IsEnabled><Destination>"
                                    "<COSBucketDestination><Format>CSV</Format><AccountId>%s</AccountId><Bucket>"
                                    "qcs::cos:" REGION "::%s</Bucket><Prefix>%s</Prefix></COSBucketDestination></Destination>"
                                    "<Schedule><Frequency>Daily</Frequency></Schedule><Filter><Prefix>x/</Prefix></Filter>"
                                    "<IncludedObjectVersions>All</IncludedObjectVersions></InventoryConfiguration>",
                                    APPID, BUCKETS[bk], mark));
        return true;
    }
    if (!put && !post) return true; /* GET / DELETE of a sub-resource */
    if (!strcmp(s, "acl")) {
        const char *canned = !owner ? "public-read-write" : o->level == L_OBJECT ? "default" : CANNED[bk];
        r->h[r->nh++] = (cos_kv){ "x-cos-acl", canned };
    } else if (!strcmp(s, "cors")) {
        set_body(r, cos_sprintf("<CORSConfiguration><CORSRule><AllowedOrigin>http://%s.example</AllowedOrigin>"
                                "<AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>", mark));
    } else if (!strcmp(s, "policy")) {
        if (owner && bk == B_GRANT)
            set_body(r, cos_strdup(GRANT_POLICY));
        else if (owner)
            set_body(r, cos_sprintf("{\"statement\":[{\"principal\":{\"qcs\":[\"qcs::cam::uin/" APPID ":uin/" APPID "\"]},"
                                    "\"effect\":\"allow\",\"action\":[\"name/cos:GetObject\"],\"resource\":"
                                    "[\"qcs::cos:" REGION ":uid/" APPID ":%s/nothing/*\"]}]}", BUCKETS[bk]));
        else
            set_body(r, cos_strdup("{\"statement\":[{\"principal\":{\"qcs\":[\"*\"]},\"effect\":\"allow\","
                                   "\"action\":[\"*\"],\"resource\":[\"*\"]}]}"));
    } else if (!strcmp(s, "tagging")) {
        set_body(r, cos_sprintf("<Tagging><TagSet><Tag><Key>who</Key><Value>%s</Value></Tag></TagSet></Tagging>", mark));
    } else if (!strcmp(s, "lifecycle")) {
        set_body(r, cos_sprintf("<LifecycleConfiguration><Rule><ID>%s</ID><Filter><Prefix>nothing/</Prefix></Filter>"
                                "<Status>Enabled</Status><Expiration><Days>3650</Days></Expiration></Rule>"
                                "</LifecycleConfiguration>", mark));
    } else if (!strcmp(s, "versioning")) {
        set_body(r, cos_sprintf("<VersioningConfiguration><Status>%s</Status></VersioningConfiguration>",
                                owner ? "Suspended" : "Enabled"));
    } else if (!strcmp(s, "replication")) {
        set_body(r, cos_sprintf("<ReplicationConfiguration><Role>qcs::cam::uin/" APPID ":uin/" APPID "</Role><Rule><ID>%s"
                                "</ID><Status>Enabled</Status><Prefix>nothing/</Prefix><Destination><Bucket>qcs::cos:"
                                REGION "::" ELSE_BUCKET "</Bucket></Destination></Rule></ReplicationConfiguration>", mark));
    } else if (!strcmp(s, "website")) {
        set_body(r, cos_sprintf("<WebsiteConfiguration><IndexDocument><Suffix>%s.html</Suffix></IndexDocument>"
                                "</WebsiteConfiguration>", mark));
    } else if (!strcmp(s, "referer")) {
        set_body(r, cos_sprintf("<RefererConfiguration><Status>%s</Status><RefererType>White-List</RefererType>"
                                "<DomainList><Domain>%s.example</Domain></DomainList><EmptyReferConfiguration>Deny"
                                "</EmptyReferConfiguration></RefererConfiguration>", owner ? "Disabled" : "Enabled", mark));
    } else if (!strcmp(s, "domain")) {
        set_body(r, cos_sprintf("<DomainConfiguration><DomainRule><Status>ENABLED</Status><Name>%s.example.com</Name>"
                                "<Type>REST</Type></DomainRule></DomainConfiguration>", mark));
    } else if (!strcmp(s, "origin")) {
        set_body(r, cos_sprintf("<OriginConfiguration><OriginRule><RulePriority>1</RulePriority><OriginType>Proxy"
                                "</OriginType><OriginCondition><HTTPStatusCode>404</HTTPStatusCode><Prefix>nothing/"
                                "</Prefix></OriginCondition><OriginParameter><Protocol>HTTP</Protocol></OriginParameter>"
                                "<OriginInfo><HostInfo><HostName>%s.example</HostName></HostInfo></OriginInfo>"
                                "</OriginRule></OriginConfiguration>", mark));
    } else if (!strcmp(s, "logging")) {
        set_body(r, cos_sprintf("<BucketLoggingStatus><LoggingEnabled><TargetBucket>%s</TargetBucket><TargetPrefix>%s/"
                                "</TargetPrefix></LoggingEnabled></BucketLoggingStatus>", BUCKETS[bk], mark));
    } else if (!strcmp(s, "accelerate")) {
        set_body(r, cos_sprintf("<AccelerateConfiguration><Status>%s</Status></AccelerateConfiguration>",
                                owner ? "Suspended" : "Enabled"));
    } else if (!strcmp(s, "intelligenttiering")) {
        set_body(r, cos_sprintf("<IntelligentTieringConfiguration><Status>%s</Status><Transition><Days>30</Days>"
                                "<RequestFrequent>1</RequestFrequent></Transition></IntelligentTieringConfiguration>",
                                owner ? "Suspended" : "Enabled"));
    } else if (!strcmp(s, "encryption")) {
        set_body(r, cos_strdup("<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault>"
                               "<SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule>"
                               "</ServerSideEncryptionConfiguration>"));
    } else if (!strcmp(s, "publicAccessBlock")) {
        const char *v = owner ? "false" : "true";
        set_body(r, cos_sprintf("<PublicAccessBlockConfiguration><BlockPublicAcls>%s</BlockPublicAcls><IgnorePublicAcls>"
                                "%s</IgnorePublicAcls><BlockPublicPolicy>%s</BlockPublicPolicy><RestrictPublicBuckets>%s"
                                "</RestrictPublicBuckets></PublicAccessBlockConfiguration>", v, v, v, v));
    } else if (!strcmp(s, "ownershipControls")) {
        set_body(r, cos_sprintf("<OwnershipControls><Rule><ObjectOwnership>%s</ObjectOwnership></Rule></OwnershipControls>",
                                owner ? "ObjectWriter" : "BucketOwnerEnforced"));
    } else if (!strcmp(s, "object-lock")) {
        if (owner) r->bucket = LOCK_BUCKET;
        if (owner)
            set_body(r, cos_strdup("<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled>"
                                   "</ObjectLockConfiguration>"));
        else
            set_body(r, cos_strdup("<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule>"
                                   "<DefaultRetention><Mode>COMPLIANCE</Mode><Days>3650</Days></DefaultRetention></Rule>"
                                   "</ObjectLockConfiguration>"));
    } else if (!strcmp(s, "retention")) {
        if (owner) r->bucket = LOCK_BUCKET;
        if (owner) snprintf(r->key, sizeof r->key, "locked.txt");
        set_body(r, cos_strdup("<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>2099-01-01T00:00:00.000Z"
                               "</RetainUntilDate></Retention>"));
    } else if (!strcmp(s, "restore")) {
        set_body(r, cos_strdup("<RestoreRequest><Days>1</Days><CASJobParameters><Tier>Standard</Tier></CASJobParameters>"
                               "</RestoreRequest>"));
    } else if (!strcmp(s, "append")) {
        if (owner) snprintf(r->key, sizeof r->key, "app-%ld.txt", (long)g_requests);
        r->q[r->nq++] = (cos_kv){ "position", "0" };
        set_body(r, cos_sprintf("%s appended", mark));
    } else if (!strcmp(s, "symlink")) {
        if (owner) snprintf(r->key, sizeof r->key, "link.txt");
        r->h[r->nh++] = (cos_kv){ "x-cos-symlink-target", owner ? OBJ : "elsewhere.txt" };
    } else if (!strcmp(s, "select")) {
        r->q[r->nq++] = (cos_kv){ "select-type", "2" };
        set_body(r, cos_strdup("<SelectRequest><Expression>SELECT * FROM COSObject</Expression><ExpressionType>SQL"
                               "</ExpressionType><InputSerialization><CSV/></InputSerialization><OutputSerialization>"
                               "<CSV/></OutputSerialization></SelectRequest>"));
    } else if (!strcmp(s, "uploads")) {
        return true;
    } else if (!strcmp(s, "delete")) {
        set_body(r, cos_strdup(owner ? "<Delete><Quiet>false</Quiet><Object><Key>gone.txt</Key></Object></Delete>"
                                     : "<Delete><Quiet>false</Quiet><Object><Key>" OBJ "</Key></Object></Delete>"));
    } else {
        return false;
    }
    return true;
}

/* ---------------------------------------------------------------- what each principal may do */

enum { MUST_ALLOW, MUST_REFUSE, EITHER };

static unsigned canned_grants(int bk, bool account)
{
    /* granted to the other account by id: READ_ACP is the bucket's ACL only, never inherited by objects */
    if (bk == B_GRANT) return account ? ACL_READ | ACL_WRITE | ACL_READ_ACP : 0;
    return bk == B_PUBR ? ACL_READ : bk == B_PUBRW ? ACL_READ | ACL_WRITE : 0;
}

/* The ACL permission that admits others to row o, as docs/cos-server.md states COS's rules (READ:
 * reading objects and listing; WRITE: every write and delete of objects, uploads, forms and
 * multi-deletes; READ_ACP / WRITE_ACP: the ACLs; none: every configuration, ListMultipartUploads,
 * versions, tags, restore, retention, the bucket itself). Written here on its own, not read from
 * the row: a row whose ACL column grants more than this fails test_table_is_covered, and the
 * matrix expects this, so a wrong table cannot make its own cells pass. */
static unsigned doc_acl(const op_def *o)
{
    const char *s = o->sub ? o->sub : "";
    bool get = !strcmp(o->method, "GET") || !strcmp(o->method, "HEAD");
    if (o->flags & OPF_PREFLIGHT) return 0;
    if (o->flags & (OPF_FORM | OPF_COPY)) return ACL_WRITE;
    if (o->level == L_BUCKET) {
        if (!*s) return get ? ACL_READ : 0;
        if (!strcmp(s, "acl")) return get ? ACL_READ_ACP : ACL_WRITE_ACP;
        if (!strcmp(s, "delete")) return ACL_WRITE;
        return 0;
    }
    if (o->level != L_OBJECT) return 0;
    if (!*s || !strcmp(s, "symlink")) return get ? ACL_READ : ACL_WRITE;
    if (!strcmp(s, "attributes") || !strcmp(s, "select")) return ACL_READ; /* SELECT reads the object */
    if (!strcmp(s, "acl")) return get ? ACL_READ_ACP : ACL_WRITE_ACP;
    if (!strcmp(s, "uploadId") || !strcmp(s, "uploads") || !strcmp(s, "append")) return ACL_WRITE;
    return 0;
}

/* What an ACL lets anonymous callers (and, with `account`, another account) do with row o on bk:
 * canned ACLs grant data permissions only, never ACP on objects (never inherited). */
static bool acl_allows(const op_def *o, int bk, int d, bool account)
{
    unsigned need = doc_acl(o);
    if (!need) return false;
    unsigned g = canned_grants(bk, account);
    if (o->level == L_OBJECT) {
        g &= ~(unsigned)(ACL_READ_ACP | ACL_WRITE_ACP);
        /* S3: an object without an ACL of its own is its owner's alone, whatever the bucket grants
           other accounts (COS's "default" inherits the bucket's) */
        if (account && d != D_COS) g &= ~(unsigned)ACL_READ;
    }
    if (!(g & need)) return false;
    if (o->flags & OPF_COPY) { /* the source, OBJ of the same bucket, is read too */
        unsigned sg = canned_grants(bk, account);
        if (account && d != D_COS) sg = 0;
        if (!(sg & ACL_READ)) return false;
    }
    return true;
}

static bool ro_allows(const op_def *o)
{
    if (o->flags & (OPF_COPY | OPF_FORM)) return false;
    for (size_t i = 0; i < COS_ARRAY_LEN(RO_ACTIONS); i++)
        if (!strcmp(o->action, RO_ACTIONS[i]) || (o->alt_action && !strcmp(o->alt_action, RO_ACTIONS[i]))) return true;
    return false;
}

static int expect(const op_def *o, int p, int bk, int d)
{
    if (o->flags & OPF_PREFLIGHT) return EITHER; /* anonymous by design: the CORS rules decide */
    /* any account's permanent key lists its own buckets (checked apart: never the owner's) */
    if (o->level == L_SERVICE)
        return p == P_OWNER || p == P_OTHER || p == P_SUB || p == P_STS_OTHER || p == P_STS_SUB ? MUST_ALLOW : MUST_REFUSE;
    bool anon_ok = acl_allows(o, bk, d, false);
    (void)anon_ok;
    switch (p) {
    case P_OWNER: return MUST_ALLOW;
    case P_ANON: return anon_ok ? MUST_ALLOW : MUST_REFUSE;
    case P_OTHER: return acl_allows(o, bk, d, true) && (bk != B_GRANT || p == P_OTHER) ? MUST_ALLOW : MUST_REFUSE;
    case P_SUB:
        if (bk == B_GRANT) { /* what the bucket policy names it for, nothing else (the ACL's grants are another's) */
            if (o->flags & (OPF_COPY | OPF_FORM)) return MUST_REFUSE;
            for (size_t i = 0; i < COS_ARRAY_LEN(SUB_ACTIONS); i++)
                if (!strcmp(o->action, SUB_ACTIONS[i]) || (o->alt_action && !strcmp(o->alt_action, SUB_ACTIONS[i])))
                    return MUST_ALLOW;
            return MUST_REFUSE;
        }
        return acl_allows(o, bk, d, true) ? MUST_ALLOW : MUST_REFUSE;
    case P_STS_RO:
        return ro_allows(o) ? MUST_ALLOW : MUST_REFUSE;
    /* a temporary key is what its policy allows, whatever an ACL grants everyone (stricter than COS:
       docs/compatibility.md); a presigned URL replayed for another operation is nobody's */
    case P_STS_BUCKET:
    case P_STS_PREFIX:
    case P_PRESIGN: return MUST_REFUSE;
    case P_FORM: return MUST_REFUSE;
    case P_STS_OTHER: return expect(o, P_OTHER, bk, d);
    case P_STS_SUB: return expect(o, P_SUB, bk, d);
    }
    return EITHER;
}

/* Whether principal p has a cell for row o (forms are for the form row only). */
static bool applies(const op_def *o, int p)
{
    if (p == P_FORM) return (o->flags & OPF_FORM) != 0;
    return true;
}

/* Send row o's request as p. */
static reply send_as(CURL *c, const op_def *o, rq *r, int p, int d)
{
    if (p == P_PRESIGN) return send_presigned_other(c, r, d);
    const creds *who = p == P_OWNER ? &OWNER : p == P_ANON ? NULL : p == P_OTHER ? &OTHER : p == P_SUB ? &SUBU
                     : p == P_FORM ? &OWNER : &g_sts[p];
    if (o->flags & OPF_FORM) { /* the credentials are the form's own fields */
        free(r->body);
        r->body = form_body_in(who, r->bucket, OBJ, p == P_FORM ? "elsewhere/" : "", d != D_COS, &r->blen);
        return send_rq(c, r, d, NULL);
    }
    return send_rq(c, r, d, who);
}

/* ---------------------------------------------------------------- the owner's view of a bucket */

static reply owner_get(CURL *c, int bk, const char *key, const char *sub, const char *sub_value)
{
    rq r;
    memset(&r, 0, sizeof r);
    r.method = "GET";
    r.level = key ? L_OBJECT : L_BUCKET;
    r.bucket = BUCKETS[bk];
    if (key) snprintf(r.key, sizeof r.key, "%s", key);
    if (sub) r.q[r.nq++] = (cos_kv){ sub, sub_value ? sub_value : "" };
    return send_rq(c, &r, D_COS, &OWNER);
}

/* Everything a refused request could have changed, as the owner reads it. */
static char *snapshot(CURL *c, int bk)
{
    static const char *const BUCKET_SUBS[] = { NULL, "versions", "uploads", "acl", "policy", "cors", "tagging", "lifecycle",
                                               "versioning", "replication", "website", "referer", "domain", "origin",
                                               "logging", "inventory", "accelerate", "encryption", "intelligenttiering",
                                               "publicAccessBlock", "ownershipControls", "object-lock" };
    static const char *const OBJECT_SUBS[] = { NULL, "acl", "tagging", "retention", "uploadId" };
    cos_buf b = COS_BUF_INIT;
    for (size_t i = 0; i < COS_ARRAY_LEN(BUCKET_SUBS) + COS_ARRAY_LEN(OBJECT_SUBS); i++) {
        bool obj = i >= COS_ARRAY_LEN(BUCKET_SUBS);
        const char *sub = obj ? OBJECT_SUBS[i - COS_ARRAY_LEN(BUCKET_SUBS)] : BUCKET_SUBS[i];
        reply r = owner_get(c, bk, obj ? OBJ : NULL, sub, sub && !strcmp(sub, "uploadId") ? g_upload[bk] : NULL);
        cos_buf_printf(&b, "%s%s%s: %ld ", obj ? "/" OBJ : "/", sub ? "?" : "", sub ? sub : "", r.status);
        if (r.status == 200) {
            cos_buf_append(&b, r.body, r.blen);
            char *etag = reply_header(&r, "ETag");
            cos_buf_printf(&b, " etag=%s", etag ? etag : "");
            free(etag);
        } else {
            char *code = xml_value(r.body, "Code");
            cos_buf_puts(&b, code ? code : "");
            free(code);
        }
        cos_buf_putc(&b, '\n');
        reply_free(&r);
    }
    cos_buf_putc(&b, '\0');
    return cos_buf_detach(&b);
}

/* The first line where two snapshots differ (for the failure message). */
static void report_diff(const char *what, const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    while (a > what && 0) a--;
    test_fail(__FILE__, __LINE__, "%s changed the bucket: before \"%.160s\" after \"%.160s\"", what, a, b);
}

static void owner_put_obj(CURL *c, int bk, const char *key, const char *body)
{
    rq r;
    memset(&r, 0, sizeof r);
    r.method = "PUT";
    r.level = L_OBJECT;
    r.bucket = BUCKETS[bk];
    snprintf(r.key, sizeof r.key, "%s", key);
    r.body = cos_strdup(body);
    r.blen = strlen(body);
    reply x = send_rq(c, &r, D_COS, &OWNER);
    if (x.status != 200) test_fail(__FILE__, __LINE__, "owner PUT %s/%s: %ld %.200s", BUCKETS[bk], key, x.status, x.body);
    reply_free(&x);
    rq_free(&r);
}

static void new_upload(CURL *c, int bk)
{
    rq r;
    memset(&r, 0, sizeof r);
    r.method = "POST";
    r.level = L_OBJECT;
    r.bucket = BUCKETS[bk];
    snprintf(r.key, sizeof r.key, OBJ);
    r.q[r.nq++] = (cos_kv){ "uploads", "" };
    reply x = send_rq(c, &r, D_COS, &OWNER);
    free(g_upload[bk]);
    g_upload[bk] = xml_value(x.body, "UploadId");
    if (!g_upload[bk]) {
        test_fail(__FILE__, __LINE__, "initiate: %ld %.200s", x.status, x.body);
        g_upload[bk] = cos_strdup("none");
    }
    reply_free(&x);
    memset(&r, 0, sizeof r);
    r.method = "PUT";
    r.level = L_OBJECT;
    r.bucket = BUCKETS[bk];
    snprintf(r.key, sizeof r.key, OBJ);
    r.q[r.nq++] = (cos_kv){ "partNumber", "1" };
    r.q[r.nq++] = (cos_kv){ "uploadId", g_upload[bk] };
    r.body = cos_strdup("the owner's part");
    r.blen = strlen(r.body);
    x = send_rq(c, &r, D_COS, &OWNER);
    if (x.status != 200) test_fail(__FILE__, __LINE__, "part: %ld %.200s", x.status, x.body);
    reply_free(&x);
    rq_free(&r);
}

/* Put back what an allowed write may have changed: OBJ, its tags and ACL, the owner's upload. */
static void owner_call(const char *method, const char *bucket, const char *key, const char *sub, const cos_kv *h,
                       size_t nh, const char *body, long want);
static const cos_kv GRANT_HEADERS[] = { { "x-cos-grant-read", "id=\"" OTHER_ACCOUNT "\"" },
                                        { "x-cos-grant-write", "id=\"" OTHER_ACCOUNT "\"" },
                                        { "x-cos-grant-read-acp", "id=\"" OTHER_ACCOUNT "\"" } };

static void reset_bucket(CURL *c, int bk)
{
    if (bk == B_GRANT) {
        owner_call("PUT", BUCKETS[bk], NULL, "acl", GRANT_HEADERS, 3, NULL, 200);
        owner_call("PUT", BUCKETS[bk], NULL, "policy", NULL, 0, GRANT_POLICY, 204);
    }
    char *orig = cos_sprintf("original bytes of %s", BUCKETS[bk]);
    owner_put_obj(c, bk, OBJ, orig);
    free(orig);
    reply x = owner_get(c, bk, OBJ, "uploadId", g_upload[bk]);
    if (x.status != 200) new_upload(c, bk);
    reply_free(&x);
}

/* ---------------------------------------------------------------- the matrix */

static unsigned g_cells, g_cells_refused, g_cells_allowed, g_cells_either, g_rows_covered;

/* Whether answer x to the cell is a refusal that did nothing: 403, or for a signed multi-delete
 * (checked per key) a 200 whose every entry is an AccessDenied error. */
static bool is_code(const reply *x, const char *code)
{
    char *c = xml_value(x->body, "Code");
    bool is = c && !strcmp(c, code);
    free(c);
    return is;
}

/* a 403 of authorization (HEAD has no body to say which) */
static bool denied(const op_def *o, const reply *x)
{
    return x->status == 403 && (!strcmp(o->method, "HEAD") || is_code(x, "AccessDenied") ||
                                is_code(x, "SignatureDoesNotMatch"));
}

static bool refused(const op_def *o, int p, const reply *x)
{
    if (denied(o, x)) return true;
    if ((o->flags & OPF_PER_KEY) && p != P_ANON && p != P_PRESIGN && x->status == 200 && x->body &&
        strstr(x->body, "AccessDenied") && !strstr(x->body, "<Deleted>"))
        return true;
    /* another account's PUT Bucket on an existing name: BucketAlreadyExists, nothing created */
    if (o->op == COS_OP_PUT_BUCKET && (p == P_OTHER || p == P_SUB || p == P_STS_OTHER || p == P_STS_SUB) &&
        x->status == 409)
        return true;
    return false;
}

/* The owner's well-formed request succeeds: 2xx, or an answer about the state it found (the bucket
 * exists or is not empty, nothing configured yet, the object is not archived or not a symlink, the
 * upload's part list is the fixture's, S3 has no symlink header). */
static bool owner_succeeded(const op_def *o, const reply *x)
{
    if (x->status >= 200 && x->status <= 299) return true;
    if (o->flags & OPF_PREFLIGHT) return x->status == 403; /* no CORS rule: refused to any origin */
    static const char *const STATE[] = { "BucketNotEmpty", "BucketAlreadyExists", "BucketAlreadyOwnedByYou",
                                         "ObjectLockConfigurationNotFoundError", "NoSuchObjectLockConfiguration",
                                         "InvalidObjectState", "InvalidPart", "NoSuchKey" };
    for (size_t i = 0; i < COS_ARRAY_LEN(STATE); i++)
        if (is_code(x, STATE[i])) return true;
    if (o->sub && !strcmp(o->sub, "symlink") && is_code(x, "InvalidArgument")) return true;
    if (!strcmp(o->method, "GET") && o->sub && !strncmp(o->sub, "retention", 9) && is_code(x, "NoSuchObjectLockConfiguration"))
        return true;
    return false;
}

static bool authorized(const op_def *o, const reply *x)
{
    return x->status != 0 && x->status < 500 && !denied(o, x);
}

static void cell_fail(const op_def *o, int p, int bk, int d, const char *want, const reply *x)
{
    test_fail(__FILE__, __LINE__, "%s %s%s%s%s [%s] as %s on %s: expected %s, got %ld %.240s", o->method,
              o->level == L_OBJECT ? "/obj" : "/", o->sub ? "?" : "", o->sub ? o->sub : "",
              o->flags & OPF_COPY ? " (copy)" : o->flags & OPF_FORM ? " (form)" : "", DNAME[d], PNAME[p], BUCKETS[bk], want,
              x->status, x->body ? x->body : "");
}

/* A cell that may go either way: counted, and shown under MATRIX_SHOW_EITHER. */
static void cell_either(const op_def *o, int p, int bk, int d, const reply *x)
{
    g_cells_either++;
    if (getenv("MATRIX_SHOW_EITHER"))
        printf("    either: %s %s?%s %s %s %s -> %ld\n", o->method, o->level == L_OBJECT ? "/obj" : "/",
               o->sub ? o->sub : "", DNAME[d], PNAME[p], BUCKETS[bk], x->status);
}

/* Every row has a request in both dialects, and every libcos operation a row. */
static void test_table_is_covered(void)
{
    bool has[COS_OP_COUNT + 1] = { false };
    for (size_t i = 0; i < COS_ARRAY_LEN(OPS); i++) {
        const op_def *o = &OPS[i];
        has[o->op] = true;
        rq r;
        bool ok = build(o, B_PRIV, false, &r);
        rq_free(&r);
        ok = ok && build(o, B_PRIV, true, &r);
        rq_free(&r);
        if (o->acl != doc_acl(o))
            test_fail(__FILE__, __LINE__, "row %zu (%s %s ?%s) admits ACL permission %u, the documented rule %u", i,
                      o->method, o->action, o->sub ? o->sub : "", o->acl, doc_acl(o));
        if (!ok)
            test_fail(__FILE__, __LINE__, "row %zu (%s %s ?%s) has no request in the matrix: add one to build()", i,
                      o->method, o->action, o->sub ? o->sub : "");
        else
            g_rows_covered++;
    }
#define COVERED_(fn, NAME, api, in, out) \
    if (COS_OP_##NAME != COS_OP_REQUEST && !has[COS_OP_##NAME]) \
        test_fail(__FILE__, __LINE__, "libcos's %s has no row in server/authz_ops.inc (no authorization rule)", api);
    COS_OPERATIONS(COVERED_)
#undef COVERED_
}

/* One dialect: the refused cells (state compared per principal and bucket), then the allowed ones
 * of other principals, then the owner's. */
static void run_matrix(int d)
{
    CURL *c = g_curl;
    for (int bk = 0; bk < NB; bk++) reset_bucket(c, bk);
    for (int p = 0; p < NP; p++) {
        if (p == P_OWNER) continue;
        for (int bk = 0; bk < NB; bk++) {
            char *before = snapshot(c, bk);
            char what[128];
            snprintf(what, sizeof what, "[%s] %s's refused requests on %s", DNAME[d], PNAME[p], BUCKETS[bk]);
            for (size_t i = 0; i < COS_ARRAY_LEN(OPS); i++) {
                const op_def *o = &OPS[i];
                if (!applies(o, p)) continue;
                int e = expect(o, p, bk, d);
                if (e == MUST_ALLOW || (e == EITHER && is_mutating(o->method))) continue;
                rq r;
                if (!build(o, bk, false, &r)) {
                    rq_free(&r);
                    continue; /* test_table_is_covered says so */
                }
                reply x = send_as(c, o, &r, p, d);
                g_cells++;
                if (e == MUST_REFUSE) {
                    g_cells_refused++;
                    if (!refused(o, p, &x)) cell_fail(o, p, bk, d, "403", &x);
                } else {
                    cell_either(o, p, bk, d, &x);
                }
                reply_free(&x);
                rq_free(&r);
            }
            char *after = snapshot(c, bk);
            if (strcmp(before, after) != 0) {
                report_diff(what, before, after);
                reset_bucket(c, bk);
            }
            free(before);
            free(after);
        }
    }
    /* allowed cells of other principals, and writes that anyone may do */
    for (int p = 0; p < NP; p++) {
        if (p == P_OWNER) continue;
        for (int bk = 0; bk < NB; bk++)
            for (size_t i = 0; i < COS_ARRAY_LEN(OPS); i++) {
                const op_def *o = &OPS[i];
                if (!applies(o, p)) continue;
                int e = expect(o, p, bk, d);
                if (e == MUST_REFUSE || (e == EITHER && !is_mutating(o->method))) continue;
                rq r;
                if (!build(o, bk, false, &r)) {
                    rq_free(&r);
                    continue;
                }
                reply x = send_as(c, o, &r, p, d);
                g_cells++;
                if (e == MUST_ALLOW) {
                    g_cells_allowed++;
                    /* GetService lists the caller's own buckets: never the owner's to another account */
                    if (!authorized(o, &x) || (o->level == L_SERVICE && strstr(x.body, BUCKETS[B_PRIV])))
                        cell_fail(o, p, bk, d, "authorized", &x);
                } else {
                    cell_either(o, p, bk, d, &x);
                }
                reply_free(&x);
                rq_free(&r);
                if (is_mutating(o->method)) reset_bucket(c, bk);
            }
    }
    /* the owner: every operation */
    for (int bk = 0; bk < NB; bk++)
        for (size_t i = 0; i < COS_ARRAY_LEN(OPS); i++) {
            const op_def *o = &OPS[i];
            rq r;
            if (!build(o, bk, true, &r)) {
                rq_free(&r);
                continue;
            }
            if (o->flags & OPF_FORM) { /* the owner's own form, for the key it names */
                free(r.body);
                r.body = form_body_in(&OWNER, r.bucket, OBJ, "", d != D_COS, &r.blen);
                r.form = true;
            }
            reply x = (o->flags & OPF_FORM) ? send_rq(c, &r, d, NULL) : send_rq(c, &r, d, &OWNER);
            g_cells++;
            if (getenv("MATRIX_SHOW_OWNER") && (x.status < 200 || x.status > 299)) {
                char *code = xml_value(x.body, "Code");
                printf("    owner: %s %s?%s%s %s %s -> %ld %s\n", o->method, o->level == L_OBJECT ? "/obj" : "/",
                       o->sub ? o->sub : "", o->flags & OPF_COPY ? "(copy)" : o->flags & OPF_FORM ? "(form)" : "", DNAME[d],
                       BUCKETS[bk], x.status, code ? code : "");
                free(code);
            }
            if (expect(o, P_OWNER, bk, d) == MUST_ALLOW || (o->flags & OPF_PREFLIGHT)) {
                g_cells_allowed++;
                if (!owner_succeeded(o, &x)) cell_fail(o, P_OWNER, bk, d, "success", &x);
                if (!(o->flags & OPF_PREFLIGHT) && (!authorized(o, &x) || (o->level == L_SERVICE && !strstr(x.body, BUCKETS[B_PRIV]))))
                    cell_fail(o, P_OWNER, bk, d, "authorized", &x);
            } else {
                g_cells_either++;
            }
            reply_free(&x);
            rq_free(&r);
            if (is_mutating(o->method)) reset_bucket(c, bk);
        }
}

static void test_matrix_cos(void) { run_matrix(D_COS); }
static void test_matrix_s3(void) { run_matrix(D_S3); }
static void test_matrix_s3_path_style(void) { run_matrix(D_S3P); }

/* ---------------------------------------------------------------- setup */

static void owner_call(const char *method, const char *bucket, const char *key, const char *sub, const cos_kv *h,
                       size_t nh, const char *body, long want)
{
    rq r;
    memset(&r, 0, sizeof r);
    r.method = method;
    r.level = key ? L_OBJECT : L_BUCKET;
    r.bucket = bucket;
    if (key) snprintf(r.key, sizeof r.key, "%s", key);
    if (sub) r.q[r.nq++] = (cos_kv){ sub, "" };
    for (size_t i = 0; i < nh; i++) r.h[r.nh++] = h[i];
    if (body) {
        r.body = cos_strdup(body);
        r.blen = strlen(body);
    }
    reply x = send_rq(g_curl, &r, D_COS, &OWNER);
    if (x.status != want) test_fail(__FILE__, __LINE__, "setup %s %s/%s: %ld %.200s", method, bucket, key ? key : "", x.status, x.body);
    reply_free(&x);
    rq_free(&r);
}

static creds sts_key_of(const creds *who, const char *policy)
{
    test_tmpkey k = test_sts_key(g_srv.port, who->id, who->key, NULL, policy, __FILE__, __LINE__);
    return (creds){ k.id, k.key, k.token };
}

static creds owner_sts_key(const char *policy)
{
    test_tmpkey k = test_sts_key(g_srv.port, OWNER.id, OWNER.key, NULL, policy, __FILE__, __LINE__);
    return (creds){ k.id, k.key, k.token };
}

static void setup(void)
{
    for (int bk = 0; bk < NB; bk++) {
        cos_kv acl[] = { { "x-cos-acl", CANNED[bk] } };
        owner_call("PUT", BUCKETS[bk], NULL, NULL, acl, 1, NULL, 200);
        if (bk == B_GRANT) reset_bucket(g_curl, bk);
        owner_put_obj(g_curl, bk, "locked.txt", "kept");
        new_upload(g_curl, bk);
    }
    owner_call("PUT", ELSE_BUCKET, NULL, NULL, NULL, 0, NULL, 200);
    owner_call("PUT", LOCK_BUCKET, NULL, NULL, NULL, 0, NULL, 200);
    owner_call("PUT", LOCK_BUCKET, NULL, "versioning", NULL, 0,
               "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>", 200);
    owner_call("PUT", LOCK_BUCKET, "locked.txt", NULL, NULL, 0, "kept", 200);
    cos_buf pb = COS_BUF_INIT;
    cos_buf_puts(&pb, "{\"version\":\"2.0\",\"statement\":[{\"effect\":\"allow\",\"action\":[\"name/cos:*\"],\"resource\":["
                      "\"qcs::cos:" REGION ":uid/" APPID ":" ELSE_BUCKET "/*\"]}]}");
    g_sts[P_STS_BUCKET] = owner_sts_key(pb.data);
    cos_buf_free(&pb);
    cos_buf_puts(&pb, "{\"version\":\"2.0\",\"statement\":[{\"effect\":\"allow\",\"action\":[\"name/cos:*\"],\"resource\":[");
    for (int bk = 0; bk < NB; bk++)
        cos_buf_printf(&pb, "%s\"qcs::cos:" REGION ":uid/" APPID ":%s/other/*\"", bk ? "," : "", BUCKETS[bk]);
    cos_buf_puts(&pb, "]}]}");
    g_sts[P_STS_PREFIX] = owner_sts_key(pb.data);
    cos_buf_free(&pb);
    cos_buf_puts(&pb, "{\"version\":\"2.0\",\"statement\":[{\"effect\":\"allow\",\"action\":[");
    for (size_t i = 0; i < COS_ARRAY_LEN(RO_ACTIONS); i++) cos_buf_printf(&pb, "%s\"%s\"", i ? "," : "", RO_ACTIONS[i]);
    cos_buf_puts(&pb, "],\"resource\":[");
    for (int bk = 0; bk < NB; bk++)
        cos_buf_printf(&pb, "%s\"qcs::cos:" REGION ":uid/" APPID ":%s/*\"", bk ? "," : "", BUCKETS[bk]);
    cos_buf_puts(&pb, "]}]}");
    g_sts[P_STS_RO] = owner_sts_key(pb.data);
    cos_buf_free(&pb);
    static const char everything[] = "{\"version\":\"2.0\",\"statement\":[{\"effect\":\"allow\",\"action\":"
                                     "[\"name/cos:*\"],\"resource\":[\"*\"]}]}";
    g_sts[P_STS_OTHER] = sts_key_of(&OTHER, everything);
    g_sts[P_STS_SUB] = sts_key_of(&SUBU, everything);
    /* the second account's bucket and private object */
    rq r;
    memset(&r, 0, sizeof r);
    r.method = "PUT";
    r.level = L_BUCKET;
    r.bucket = OTHERS_BUCKET;
    reply x = send_rq(g_curl, &r, D_COS, &OTHER);
    if (x.status != 200) test_fail(__FILE__, __LINE__, "other's bucket: %ld %.200s", x.status, x.body);
    reply_free(&x);
    r.level = L_OBJECT;
    snprintf(r.key, sizeof r.key, "secret.txt");
    r.body = cos_strdup("the other account's secret");
    r.blen = strlen(r.body);
    x = send_rq(g_curl, &r, D_COS, &OTHER);
    if (x.status != 200) test_fail(__FILE__, __LINE__, "other's object: %ld %.200s", x.status, x.body);
    reply_free(&x);
    rq_free(&r);
}


/* ---------------------------------------------------------------- what single rows do not reach */

static rq mk(const char *method, const char *bucket, const char *key)
{
    rq r;
    memset(&r, 0, sizeof r);
    r.method = method;
    r.level = !bucket ? L_SERVICE : key ? L_OBJECT : L_BUCKET;
    r.bucket = bucket;
    if (key) snprintf(r.key, sizeof r.key, "%s", key);
    return r;
}

static long status_of(reply x)
{
    long st = x.status;
    reply_free(&x);
    return st;
}

static bool owner_has(const char *bucket, const char *key)
{
    rq r = mk("HEAD", bucket, key);
    return status_of(send_rq(g_curl, &r, D_COS, bucket && !strcmp(bucket, OTHERS_BUCKET) ? &OTHER : &OWNER)) == 200;
}

/* A copy's source is read as the caller: another account's private object, a private object
 * behind a public symlink, never reachable by a copy or a part copy, in either dialect. */
static void test_copy_sources(void)
{
    CURL *c = g_curl;
    /* in the public-read bucket: a private object, and a symlink to it that inherits public-read */
    cos_kv priv[] = { { "x-cos-acl", "private" } };
    owner_call("PUT", BUCKETS[B_PUBR], "hidden.txt", NULL, priv, 1, "hidden bytes", 200);
    cos_kv target[] = { { "x-cos-symlink-target", "hidden.txt" } };
    owner_call("PUT", BUCKETS[B_PUBR], "link-hidden", "symlink", target, 1, NULL, 200);
    char *before = snapshot(c, B_PRIV), *before_rw = snapshot(c, B_PUBRW);
    struct { const creds *who; const char *src; } cases[] = {
        { &OWNER, "/" OTHERS_BUCKET "/secret.txt" },     /* the owner, from another account's private object */
        { &OTHER, "/mx-priv-" APPID "/" OBJ },           /* another account, from the owner's private object */
        { &SUBU, "/mx-priv-" APPID "/" OBJ },
        { NULL, "/mx-priv-" APPID "/" OBJ },             /* anonymous */
        { NULL, "/mx-pubr-" APPID "/hidden.txt" },
        { &g_sts[P_STS_PREFIX], "/mx-priv-" APPID "/" OBJ }, /* a key for other/ copying in from outside it */
    };
    for (int d = 0; d < ND; d++)
        for (size_t i = 0; i < COS_ARRAY_LEN(cases); i++) {
            /* into the public-read-write bucket (which anyone may write) or, for the owner and the
               key for other/, the private one */
            bool own = cases[i].who == &OWNER || cases[i].who == &g_sts[P_STS_PREFIX];
            int dst = own ? B_PRIV : B_PUBRW;
            rq r = mk("PUT", BUCKETS[dst], "other/stolen.txt");
            r.h[r.nh++] = (cos_kv){ "x-cos-copy-source", cases[i].src };
            reply x = send_rq(c, &r, d, cases[i].who);
            if (x.status != 403) test_fail(__FILE__, __LINE__, "[%s] copy from %s: %ld %.200s", DNAME[d], cases[i].src, x.status, x.body);
            reply_free(&x);
            r.q[r.nq++] = (cos_kv){ "partNumber", "3" };
            r.q[r.nq++] = (cos_kv){ "uploadId", g_upload[dst] };
            snprintf(r.key, sizeof r.key, OBJ);
            x = send_rq(c, &r, d, cases[i].who);
            if (x.status != 403) test_fail(__FILE__, __LINE__, "[%s] part copy from %s: %ld %.200s", DNAME[d], cases[i].src, x.status, x.body);
            reply_free(&x);
            CHECK(!owner_has(BUCKETS[dst], "other/stolen.txt"));
        }
    char *after = snapshot(c, B_PRIV), *after_rw = snapshot(c, B_PUBRW);
    if (strcmp(before, after)) report_diff("refused copies", before, after);
    if (strcmp(before_rw, after_rw)) report_diff("refused copies", before_rw, after_rw);
    free(before);
    free(after);
    free(before_rw);
    free(after_rw);
    /* a public symlink to the private object: read, it is refused (its target decides); copied, it is
       the symlink object itself that is copied (its data is the target's key, which ?symlink shows
       anyone anyway), never the target's bytes */
    rq g = mk("GET", BUCKETS[B_PUBR], "link-hidden");
    CHECK_INT(status_of(send_rq(c, &g, D_COS, NULL)), 403);
    CHECK_INT(status_of(send_rq(c, &g, D_S3, NULL)), 403);
    CHECK_INT(status_of(send_rq(c, &g, D_COS, &OTHER)), 403);
    for (int d = 0; d < ND; d++)
        for (int w = 0; w < 2; w++) {
            rq r = mk("PUT", BUCKETS[B_PUBRW], "other/via-link.txt");
            r.h[r.nh++] = (cos_kv){ "x-cos-copy-source", "/mx-pubr-" APPID "/link-hidden" };
            reply x = send_rq(c, &r, d, w ? &OTHER : NULL);
            reply_free(&x);
            rq rd = mk("GET", BUCKETS[B_PUBRW], "other/via-link.txt");
            x = send_rq(c, &rd, D_COS, &OWNER);
            if (x.status == 200 && x.body && strstr(x.body, "hidden bytes"))
                test_fail(__FILE__, __LINE__, "[%s] a copy of a public symlink copied its private target", DNAME[d]);
            reply_free(&x);
            rq del = mk("DELETE", BUCKETS[B_PUBRW], "other/via-link.txt");
            status_of(send_rq(c, &del, D_COS, &OWNER));
        }
    /* what is allowed still is: the owner copies its own object, anyone copies a public one into public-read-write */
    rq ok = mk("PUT", BUCKETS[B_PRIV], "copied.txt");
    ok.h[ok.nh++] = (cos_kv){ "x-cos-copy-source", "/mx-pubr-" APPID "/hidden.txt" };
    CHECK_INT(status_of(send_rq(c, &ok, D_COS, &OWNER)), 200);
    rq anon = mk("PUT", BUCKETS[B_PUBRW], "copied.txt");
    anon.h[anon.nh++] = (cos_kv){ "x-cos-copy-source", "/mx-pubr-" APPID "/locked.txt" };
    CHECK_INT(status_of(send_rq(c, &anon, D_COS, NULL)), 200);
}

/* A temporary key for other/ deleting in bulk: the keys outside its prefix are refused one by one
 * and stay; the one inside goes. */
static void test_batch_delete_outside_prefix(void)
{
    CURL *c = g_curl;
    for (int d = 0; d < ND; d++) {
        owner_put_obj(c, B_PRIV, "other/mine.txt", "inside the key's prefix");
        rq r = mk("POST", BUCKETS[B_PRIV], NULL);
        r.q[r.nq++] = (cos_kv){ "delete", "" };
        set_body(&r, cos_strdup("<Delete><Quiet>false</Quiet><Object><Key>" OBJ "</Key></Object><Object><Key>locked.txt"
                                "</Key></Object><Object><Key>other/mine.txt</Key></Object><Object><Key>other/../" OBJ
                                "</Key></Object></Delete>"));
        reply x = send_rq(c, &r, d, &g_sts[P_STS_PREFIX]);
        CHECK_INT(x.status, 200);
        CHECK(x.body && strstr(x.body, "<Deleted><Key>other/mine.txt</Key>"));
        CHECK(x.body && !strstr(x.body, "<Deleted><Key>" OBJ) && !strstr(x.body, "<Deleted><Key>locked.txt"));
        reply_free(&x);
        rq_free(&r);
        CHECK(owner_has(BUCKETS[B_PRIV], OBJ));
        CHECK(owner_has(BUCKETS[B_PRIV], "locked.txt"));
        CHECK(!owner_has(BUCKETS[B_PRIV], "other/mine.txt"));
    }
}

/* Operations cos-server does not implement (legal holds, rename) answer the same to everyone
 * and change nothing. */
static void test_unimplemented_change_nothing(void)
{
    CURL *c = g_curl;
    char *before = snapshot(c, B_PUBRW);
    static const char *const SUBS[] = { "legal-hold", "rename" };
    const creds *whos[] = { NULL, &OTHER, &OWNER };
    for (int d = 0; d < ND; d++)
        for (size_t i = 0; i < COS_ARRAY_LEN(SUBS); i++)
            for (size_t w = 0; w < COS_ARRAY_LEN(whos); w++) {
                rq r = mk("PUT", BUCKETS[B_PUBRW], OBJ);
                r.q[r.nq++] = (cos_kv){ SUBS[i], "" };
                if (!strcmp(SUBS[i], "rename")) r.h[r.nh++] = (cos_kv){ "x-cos-rename-source", "locked.txt" };
                set_body(&r, cos_strdup("<LegalHold><Status>ON</Status></LegalHold>"));
                reply x = send_rq(c, &r, d, whos[w]);
                if (x.status != 501 && x.status != 403)
                    test_fail(__FILE__, __LINE__, "[%s] ?%s: %ld %.200s", DNAME[d], SUBS[i], x.status, x.body);
                reply_free(&x);
                rq_free(&r);
            }
    char *after = snapshot(c, B_PUBRW);
    if (strcmp(before, after)) report_diff("unimplemented operations", before, after);
    free(before);
    free(after);
}

/* /sts and /-/faults: only the owner's permanent key (and, for /sts, any account's for itself). */
static void test_endpoints(void)
{
    CURL *c = g_curl;
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", g_srv.port);
    const char *pol = "{\"version\":\"2.0\",\"statement\":[{\"effect\":\"allow\",\"action\":[\"name/cos:*\"],"
                      "\"resource\":[\"*\"]}]}";
    cos_buf t = COS_BUF_INIT;
    cos_buf_puts(&t, "/sts?policy=");
    put_encoded(&t, pol);
    cos_kv q[] = { { "policy", pol } };
    for (int p = 0; p < NP; p++) {
        if (p == P_FORM) continue;
        const creds *who = p == P_OWNER ? &OWNER : p == P_ANON ? NULL : p == P_OTHER ? &OTHER : p == P_SUB ? &SUBU : &g_sts[p];
        cos_kv h[3];
        size_t nh = 0;
        char *auth = NULL;
        char *target = NULL;
        if (p == P_PRESIGN) { /* the owner's signature for a GET of an object, at /sts */
            char *sig = owner_presign(D_COS, "GET", host, "/" OBJ);
            target = cos_sprintf("%s&%s", t.data, sig ? sig : "");
            free(sig);
        } else {
            target = cos_strdup(t.data);
            if (who) {
                auth = test_cos_auth(who->id, who->key, "GET", "/sts", host, q, 1, NULL, 0);
                h[nh++] = (cos_kv){ "Authorization", auth };
                if (who->token) h[nh++] = (cos_kv){ "x-cos-security-token", who->token };
            }
        }
        reply x = http(c, "GET", host, target, h, nh, NULL, 0);
        bool want = p == P_OWNER || p == P_OTHER || p == P_SUB;
        if ((x.status == 200) != want) test_fail(__FILE__, __LINE__, "/sts as %s: %ld %.200s", PNAME[p], x.status, x.body);
        if (x.status == 200 && p != P_OWNER) { /* a key of the caller's own account: no wider than it */
            test_reply tr = { (int)x.status, x.head, x.body };
            test_tmpkey k = test_tmpkey_of(&tr, __FILE__, __LINE__);
            x.head = x.body = NULL;
            creds kc = { k.id, k.key, k.token };
            rq g = mk("GET", BUCKETS[B_PRIV], OBJ);
            CHECK_INT(status_of(send_rq(c, &g, D_COS, &kc)), 403);
            rq w = mk("PUT", BUCKETS[B_PUBR], OBJ);
            set_body(&w, cos_strdup("through a key"));
            CHECK_INT(status_of(send_rq(c, &w, D_COS, &kc)), 403);
            rq_free(&w);
            test_tmpkey_free(&k);
        }
        reply_free(&x);
        free(auth);
        free(target);
        /* /-/faults: the owner's permanent key only (the rules stay empty) */
        nh = 0;
        auth = NULL;
        static const char rules[] = "[{\"method\":\"GET\",\"match\":\"" OBJ "\",\"action\":\"500\"}]";
        if (who && p != P_PRESIGN) {
            auth = test_cos_auth(who->id, who->key, p == P_OWNER ? "DELETE" : "PUT", "/-/faults", host, NULL, 0, NULL, 0);
            h[nh++] = (cos_kv){ "Authorization", auth };
            if (who->token) h[nh++] = (cos_kv){ "x-cos-security-token", who->token };
        }
        x = p == P_OWNER ? http(c, "DELETE", host, "/-/faults", h, nh, NULL, 0)
                         : http(c, "PUT", host, "/-/faults", h, nh, rules, strlen(rules));
        if ((x.status == 200) != (p == P_OWNER) || (p != P_OWNER && x.status != 403))
            test_fail(__FILE__, __LINE__, "/-/faults as %s: %ld %.200s", PNAME[p], x.status, x.body);
        reply_free(&x);
        free(auth);
        rq g = mk("GET", BUCKETS[B_PUBR], OBJ);
        CHECK_INT(status_of(send_rq(c, &g, D_COS, NULL)), 200); /* no fault was set */
    }
    cos_buf_free(&t);
}

/* A presigned URL with what it did not sign: an ACL, a copy source, tags, a storage class, a
 * metadata directive, in either dialect's names. */
static void test_presigned_added_headers(void)
{
    CURL *c = g_curl;
    static const char *const ADDED[][2] = {
        { "x-cos-acl", "public-read" }, { "x-amz-acl", "public-read" },
        { "x-cos-grant-read", "uri=\"http://cam.qcloud.com/groups/global/AllUsers\"" },
        { "x-cos-copy-source", "/" OTHERS_BUCKET "/secret.txt" }, { "x-amz-copy-source", "/mx-priv-" APPID "/" OBJ },
        { "x-cos-tagging", "a=b" }, { "x-cos-storage-class", "ARCHIVE" }, { "x-cos-metadata-directive", "Replaced" },
        { "x-cos-meta-added", "1" }, { "x-cos-forbid-overwrite", "false" },
    };
    char *before = snapshot(c, B_PRIV);
    for (int d = 0; d < ND; d++)
        for (size_t i = 0; i < COS_ARRAY_LEN(ADDED); i++) {
            rq r = mk("PUT", BUCKETS[B_PRIV], "other/presigned.txt");
            set_body(&r, cos_strdup("presigned bytes"));
            char *host = host_for(&r, d), *ppath = path_of(&r, d);
            char *sig = owner_presign(d, "PUT", host, ppath); /* ppath is "/other/presigned.txt" in COS's dialect */
            char *target = cos_sprintf("%s?%s", ppath, sig ? sig : "");
            cos_kv h[] = { { ADDED[i][0], ADDED[i][1] } };
            reply x = http(c, "PUT", host, target, h, 1, r.body, r.blen);
            /* S3's dialect refuses COS's headers outright (400 InvalidArgument): refused too */
            bool mixed = d != D_COS && !strncmp(ADDED[i][0], "x-cos-", 6) && x.status == 400;
            if (x.status != 403 && !mixed)
                test_fail(__FILE__, __LINE__, "[%s] presigned PUT + %s: %ld %.200s", DNAME[d], ADDED[i][0], x.status, x.body);
            reply_free(&x);
            free(target);
            free(sig);
            free(host);
            free(ppath);
            rq_free(&r);
        }
    char *after = snapshot(c, B_PRIV);
    if (strcmp(before, after)) report_diff("presigned PUTs with added headers", before, after);
    free(before);
    free(after);
}

/* Anonymous clients keeping many connections busy with refused requests do not lock the owner out:
 * each of its requests is answered (no time is asserted; the watchdog only bounds a hang). */
enum { FLOODERS = 48, FLOOD_REQUESTS = 60 };
static volatile int g_flood_stop;

static void *flooder(void *arg)
{
    (void)arg;
    CURL *c = curl_easy_init();
    for (int i = 0; i < FLOOD_REQUESTS && !g_flood_stop; i++) {
        rq r = mk(i % 2 ? "PUT" : "GET", BUCKETS[B_PRIV], i % 3 ? OBJ : NULL);
        if (i % 2) set_body(&r, cos_strdup("flood"));
        reply x = send_rq(c, &r, i % 4 == 0 ? D_S3 : D_COS, NULL);
        reply_free(&x);
        rq_free(&r);
    }
    curl_easy_cleanup(c);
    return NULL;
}

static void test_anonymous_flood_leaves_the_owner_in(void)
{
    test_watch(120, "anonymous flood", &g_srv);
    pthread_t t[FLOODERS];
    for (int i = 0; i < FLOODERS; i++) pthread_create(&t[i], NULL, flooder, NULL);
    CURL *c = curl_easy_init();
    int ok = 0;
    for (int i = 0; i < 40; i++) {
        rq r = mk("GET", BUCKETS[B_PRIV], OBJ);
        reply x = send_rq(c, &r, i % 2 ? D_S3 : D_COS, &OWNER);
        ok += x.status == 200 && x.body && !strcmp(x.body, "original bytes of " "mx-priv-" APPID);
        reply_free(&x);
    }
    curl_easy_cleanup(c);
    g_flood_stop = 1;
    for (int i = 0; i < FLOODERS; i++) pthread_join(t[i], NULL);
    CHECK_INT(ok, 40);
    /* then anonymous readers of a large public object that never read their answers: each holds a
       connection whose answer cannot be sent, never a thread the owner needs */
    size_t big_len = 8u << 20;
    char *big = malloc(big_len + 1);
    memset(big, 'b', big_len);
    big[big_len] = '\0';
    owner_put_obj(g_curl, B_PUBR, "big.bin", big);
    free(big);
    enum { STALLED = 64 };
    int fds[STALLED];
    char hreq[256];
    int rl = snprintf(hreq, sizeof hreq, "GET /big.bin HTTP/1.1\r\nHost: %s.cos." REGION ".myqcloud.com\r\n\r\n",
                      BUCKETS[B_PUBR]);
    for (int i = 0; i < STALLED; i++) {
        fds[i] = test_connect(g_srv.port);
        if (fds[i] >= 0) {
            int small = 4096;
            setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
            test_send_all(fds[i], hreq, (size_t)rl);
        }
    }
    c = curl_easy_init();
    ok = 0;
    for (int i = 0; i < 20; i++) {
        rq r = mk(i % 2 ? "PUT" : "GET", BUCKETS[B_PRIV], i % 2 ? "other/while-stalled.txt" : OBJ);
        if (i % 2) set_body(&r, cos_strdup("written while anonymous readers stall"));
        reply x = send_rq(c, &r, D_COS, &OWNER);
        ok += x.status == 200;
        reply_free(&x);
        rq_free(&r);
    }
    curl_easy_cleanup(c);
    struct linger reset = { 1, 0 };
    for (int i = 0; i < STALLED; i++)
        if (fds[i] >= 0) {
            setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
            close(fds[i]);
        }
    test_unwatch();
    CHECK_INT(ok, 20);
    rq g = mk("GET", BUCKETS[B_PRIV], OBJ);
    reply x = send_rq(g_curl, &g, D_COS, &OWNER);
    CHECK(x.status == 200 && !strcmp(x.body, "original bytes of mx-priv-" APPID));
    reply_free(&x);
}

/* The console's listener (--console) serves its page and config.json and nothing of the store: every
 * operation of the table, signed by the owner in either dialect or unsigned, addressed to a bucket
 * or to the listener itself, gets one of its own answers and changes nothing. */
static void test_console_listener_reaches_no_operation(void)
{
    char *stub = test_console_stub("mx-console");
    const char *args[] = { "--sts-open", "--console", "--console-dir", stub, NULL };
    test_server main_srv = g_srv, srv;
    memset(&srv, 0, sizeof srv);
    if (test_server_start(&srv, args) != 0) {
        test_fail(__FILE__, __LINE__, "a server with --console did not start");
        test_rmtree(stub);
        free(stub);
        return;
    }
    g_srv = srv;
    char *main_upload = g_upload[B_PRIV];
    g_upload[B_PRIV] = NULL;
    int cport = test_console_port(&srv);
    CHECK(cport > 0);
    cos_kv acl[] = { { "x-cos-acl", "private" } };
    owner_call("PUT", BUCKETS[B_PRIV], NULL, NULL, acl, 1, NULL, 200);
    reset_bucket(g_curl, B_PRIV);
    char *before = snapshot(g_curl, B_PRIV);
    unsigned sent = 0;
    for (int d = 0; cport > 0 && d < ND; d++)
        for (size_t i = 0; i < COS_ARRAY_LEN(OPS); i++) {
            const op_def *o = &OPS[i];
            rq r;
            if (!build(o, B_PRIV, false, &r)) {
                rq_free(&r);
                continue;
            }
            for (int who = 0; who < 2; who++) {
                g_port_override = cport;
                reply x = send_rq(g_curl, &r, d, who ? &OWNER : NULL);
                g_port_override = 0;
                sent++;
                /* the listener's own answers: not found, not allowed, no body taken, not its name, its page */
                bool page = x.status == 200 && x.body && !strcmp(x.body, TEST_CONSOLE_PAGE); /* GET / */
                if (x.status != 404 && x.status != 405 && x.status != 413 && x.status != 421 && !page)
                    test_fail(__FILE__, __LINE__, "[%s] %s %s?%s on the console's listener: %ld %.200s", DNAME[d],
                              o->method, o->level == L_OBJECT ? "/obj" : "/", o->sub ? o->sub : "", x.status, x.body);
                reply_free(&x);
            }
            rq_free(&r);
        }
    printf("    %u requests to the console's listener\n", sent);
    char *after = snapshot(g_curl, B_PRIV);
    if (strcmp(before, after)) report_diff("requests to the console's listener", before, after);
    free(before);
    free(after);
    free(g_upload[B_PRIV]);
    g_upload[B_PRIV] = main_upload;
    g_srv = main_srv;
    test_server_stop(&srv, false);
    test_rmtree(stub);
    free(stub);
}

/* One version of an object (?versionId=) is decided on that version: in a versioned
 * public-read-write bucket whose current version is public, the private old one is refused to
 * everyone but the owner by every operation of the table that takes a versionId (OPF_VERSIONED),
 * and a version is never deleted by an ACL's WRITE (only the owner erases history). */
#define VERS_BUCKET "mx-vers-" APPID
static void test_versions(void)
{
    CURL *c = g_curl;
    cos_kv rw[] = { { "x-cos-acl", "public-read-write" } };
    owner_call("PUT", VERS_BUCKET, NULL, NULL, rw, 1, NULL, 200);
    owner_call("PUT", VERS_BUCKET, NULL, "versioning", NULL, 0,
               "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>", 200);
    char *vid[2] = { NULL, NULL };
    for (int v = 0; v < 2; v++) {
        rq r = mk("PUT", VERS_BUCKET, OBJ);
        if (!v) r.h[r.nh++] = (cos_kv){ "x-cos-acl", "private" };
        set_body(&r, cos_strdup(v ? "v2 public" : "v1 secret"));
        reply x = send_rq(c, &r, D_COS, &OWNER);
        CHECK_INT(x.status, 200);
        vid[v] = reply_header(&x, "x-cos-version-id");
        reply_free(&x);
        rq_free(&r);
    }
    if (!vid[0] || !vid[1]) {
        test_fail(__FILE__, __LINE__, "no version ids");
        free(vid[0]);
        free(vid[1]);
        return;
    }
    /* the owner's view of the old version */
    cos_buf view = COS_BUF_INIT;
    static const char *const SUBS[] = { NULL, "acl", "tagging", "retention" };
#define VIEW(buf)                                                                                    \
    do {                                                                                             \
        for (size_t k = 0; k < COS_ARRAY_LEN(SUBS); k++) {                                           \
            rq g = mk("GET", VERS_BUCKET, OBJ);                                                      \
            g.q[g.nq++] = (cos_kv){ "versionId", vid[0] };                                           \
            if (SUBS[k]) g.q[g.nq++] = (cos_kv){ SUBS[k], "" };                                      \
            reply y = send_rq(c, &g, D_COS, &OWNER);                                                 \
            cos_buf_printf(&(buf), "%ld %s\n", y.status, y.status == 200 ? y.body : "");             \
            reply_free(&y);                                                                          \
        }                                                                                            \
        rq l = mk("GET", VERS_BUCKET, NULL);                                                         \
        l.q[l.nq++] = (cos_kv){ "versions", "" };                                                    \
        reply y = send_rq(c, &l, D_COS, &OWNER);                                                     \
        cos_buf_printf(&(buf), "%ld %s\n", y.status, y.body);                                        \
        reply_free(&y);                                                                              \
        cos_buf_putc(&(buf), '\0');                                                                  \
    } while (0)
    VIEW(view);
    static const int WHO[] = { P_ANON, P_OTHER, P_SUB, P_STS_BUCKET, P_STS_PREFIX, P_STS_RO, P_PRESIGN, P_STS_OTHER,
                               P_STS_SUB };
    unsigned cells = 0;
    for (int d = 0; d < ND; d++)
        for (size_t i = 0; i < COS_ARRAY_LEN(OPS); i++) {
            const op_def *o = &OPS[i];
            if (!(o->flags & OPF_VERSIONED)) continue;
            for (size_t w = 0; w < COS_ARRAY_LEN(WHO); w++) {
                rq r;
                build(o, B_PUBRW, false, &r);
                r.bucket = VERS_BUCKET;
                r.q[r.nq++] = (cos_kv){ "versionId", vid[0] };
                reply x = send_as(c, o, &r, WHO[w], d);
                cells++;
                if (!denied(o, &x)) cell_fail(o, WHO[w], B_PUBRW, d, "403 (the private old version)", &x);
                reply_free(&x);
                rq_free(&r);
            }
            /* the current, public version's reads stay open to anyone */
            if (doc_acl(o) == ACL_READ && (!o->sub || !strcmp(o->sub, "attributes"))) {
                rq r;
                build(o, B_PUBRW, false, &r);
                r.bucket = VERS_BUCKET;
                r.q[r.nq++] = (cos_kv){ "versionId", vid[1] };
                reply x = send_rq(c, &r, d, NULL);
                if (!authorized(o, &x)) cell_fail(o, P_ANON, B_PUBRW, d, "the public version", &x);
                reply_free(&x);
                rq_free(&r);
            }
        }
    cos_buf after = COS_BUF_INIT;
    VIEW(after);
#undef VIEW
    if (strcmp(view.data, after.data)) report_diff("refused requests on an old version", view.data, after.data);
    printf("    %u cells on an old version\n", cells);
    cos_buf_free(&view);
    cos_buf_free(&after);
    free(vid[0]);
    free(vid[1]);
}

/* A symlink inside a temporary key's prefix whose target is outside it: reading through it is
 * decided on the target as well (refused), the link itself stays the key's. */
static void test_symlink_out_of_scope(void)
{
    CURL *c = g_curl;
    cos_kv target[] = { { "x-cos-symlink-target", OBJ } };
    owner_call("PUT", BUCKETS[B_PRIV], "other/link", "symlink", target, 1, NULL, 200);
    const creds *k = &g_sts[P_STS_PREFIX];
    for (int d = 0; d < ND; d++) {
        static const char *const METHODS[] = { "GET", "HEAD" };
        for (size_t i = 0; i < COS_ARRAY_LEN(METHODS); i++) {
            rq r = mk(METHODS[i], BUCKETS[B_PRIV], "other/link");
            reply x = send_rq(c, &r, d, k);
            if (x.status != 403 || (x.body && strstr(x.body, "original bytes")))
                test_fail(__FILE__, __LINE__, "[%s] %s through a symlink out of scope: %ld %.200s", DNAME[d], METHODS[i],
                          x.status, x.body);
            reply_free(&x);
        }
        rq l = mk("GET", BUCKETS[B_PRIV], "other/link");
        l.q[l.nq++] = (cos_kv){ "symlink", "" };
        reply x = send_rq(c, &l, d, k);
        if (d == D_COS) CHECK_INT(x.status, 200); /* the link itself is inside the prefix */
        CHECK(!x.body || !strstr(x.body, "original bytes"));
        reply_free(&x);
        /* a copy of the link, inside the prefix, is the link's text */
        rq cp = mk("PUT", BUCKETS[B_PRIV], "other/link-copy");
        cp.h[cp.nh++] = (cos_kv){ "x-cos-copy-source", "/mx-priv-" APPID "/other/link" };
        x = send_rq(c, &cp, d, k);
        reply_free(&x);
        rq g = mk("GET", BUCKETS[B_PRIV], "other/link-copy");
        x = send_rq(c, &g, D_COS, &OWNER);
        CHECK(!x.body || !strstr(x.body, "original bytes"));
        reply_free(&x);
    }
}

int main(void)
{
    const char *args[] = { "--sts", "--faults", "--s3-domain", "example.test", "--extra-key",
                           "AKIDmxOTHERaccount000000000000000000:mxOTHERaccountSECRETkey0000000000:" OTHER_ACCOUNT,
                           "--extra-key", "AKIDmxSUBUSERkey00000000000000000000:mxSUBUSERsecretKEY000000000000000:" SUB_ACCOUNT,
                           NULL };
    if (test_server_start(&g_srv, args) != 0) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    g_curl = curl_easy_init();
    setup();
    RUN(test_table_is_covered);
    RUN(test_matrix_cos);
    RUN(test_matrix_s3);
    RUN(test_matrix_s3_path_style);
    RUN(test_versions);
    RUN(test_copy_sources);
    RUN(test_symlink_out_of_scope);
    RUN(test_batch_delete_outside_prefix);
    RUN(test_unimplemented_change_nothing);
    RUN(test_presigned_added_headers);
    RUN(test_endpoints);
    RUN(test_anonymous_flood_leaves_the_owner_in);
    RUN(test_console_listener_reaches_no_operation);
    printf("    %zu rows (%u with requests) x %d principals x %d dialects x %d buckets: %u cells (%u refused, %u allowed, "
           "%u either), %lu requests\n",
           COS_ARRAY_LEN(OPS), g_rows_covered, NP, ND, NB, g_cells, g_cells_refused, g_cells_allowed, g_cells_either, g_requests);
    for (int p = 0; p < NP; p++) test_tmpkey_free(&(test_tmpkey){ (char *)g_sts[p].id, (char *)g_sts[p].key, (char *)g_sts[p].token });
    for (int bk = 0; bk < NB; bk++) free(g_upload[bk]);
    curl_easy_cleanup(g_curl);
    curl_global_cleanup();
    test_server_stop(&g_srv, false);
    return test_report();
}

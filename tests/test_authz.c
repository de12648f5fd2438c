/* test_authz.c — cos-server's authorization model (server/authz.c), tried as
 * an attacker would: raw sockets, a signer, other principals, unsigned
 * parameters, copies, policies, hostile forms, a flood of connections.
 *
 * First a decision table that reads like COS's permission documentation
 * (who, what, where -> allowed or not); then one test per hole of issue #14
 * (each failed on the server before authz.c), and NotImplemented for the
 * COS sub-resources cos-server does not implement. */
#define _GNU_SOURCE
#include "testlib.h"
#include "util.h"
#include "signer.h"
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static test_server g_srv;
#define APPID TEST_APPID
#define SHARED "shared-" APPID   /* private; users get keys for u/ */
#define PRIV "private-" APPID    /* private, nobody but the owner */
#define PUBR "pubr-" APPID       /* public-read */
#define PUBRW "pubrw-" APPID     /* public-read-write */

typedef test_tmpkey creds; /* id, key, token */
static creds OWNER = { TEST_SECRET_ID, TEST_SECRET_KEY, NULL };
#define ANON NULL

typedef test_reply reply;
#define reply_free test_reply_free

static char *host_of(const char *bucket)
{
    return bucket ? cos_sprintf("%s.cos.ap-guangzhou.myqcloud.com", bucket) : cos_strdup("service.cos.myqcloud.com");
}

/* method on bucket (NULL: the service) at target (raw, as sent), signed for
 * sign_path by c (ANON: unsigned) with the query pairs q and headers h (both
 * sent and signed), plus raw header lines `unsigned_hdrs` the signature does not cover. */
typedef struct call {
    const char *method, *bucket, *target, *sign_path;
    const creds *who;
    const cos_kv *q;
    size_t nq;
    const cos_kv *h;
    size_t nh;
    const char *unsigned_hdrs;
    const char *body;
    size_t blen;
    const char *host; /* overrides the bucket's host */
    bool sign_all;    /* sign every header in h (x-amz-* too), which the SDK's signer leaves out */
} call;

/* A COS Authorization over the Host and every header of c, by the
 * signature's own rules (signer.h): how a client in S3's header names would
 * sign them with COS's algorithm. */
static char *sign_every_header(const call *c, const char *host)
{
    char kt[64];
    long long now = (long long)time(NULL);
    snprintf(kt, sizeof kt, "%lld;%lld", now - 60, now + 600);
    cos_kv hs[16];
    size_t n = 0;
    hs[n++] = (cos_kv){ "host", host };
    for (size_t i = 0; i < c->nh && n < 16; i++) hs[n++] = c->h[i];
    char sig[41];
    cos_sign_compute(c->who->key, c->method, c->sign_path, kt, c->q, c->nq, hs, n, sig, NULL, NULL);
    cos_buf b = COS_BUF_INIT;
    cos_buf_printf(&b, "q-sign-algorithm=sha1&q-ak=%s&q-sign-time=%s&q-key-time=%s&q-header-list=", c->who->id, kt, kt);
    for (size_t i = 0; i < n; i++) {
        char *lower = cos_strdup(hs[i].name);
        cos_str_lower(lower);
        cos_buf_printf(&b, "%s%s", i ? ";" : "", lower);
        free(lower);
    }
    cos_buf_puts(&b, "&q-url-param-list=");
    for (size_t i = 0; i < c->nq; i++) cos_buf_printf(&b, "%s%s", i ? ";" : "", c->q[i].name);
    cos_buf_printf(&b, "&q-signature=%s", sig);
    return cos_buf_detach(&b);
}

static reply do_call(const call *c)
{
    char *host = c->host ? cos_strdup(c->host) : host_of(c->bucket);
    char *all = c->who && c->sign_all ? sign_every_header(c, host) : NULL;
    test_cos_call t = { c->method, host, c->target, c->sign_path, c->who ? c->who->id : NULL, c->who ? c->who->key : NULL,
                        c->who ? c->who->token : NULL, c->q, c->nq, c->h, c->nh, all, c->unsigned_hdrs, c->body, c->blen };
    reply r = test_cos_exchange(g_srv.port, &t);
    free(all);
    free(host);
    return r;
}

static reply simple(const creds *who, const char *method, const char *bucket, const char *target, const char *body)
{
    call c = { method, bucket, target, target, who, NULL, 0, NULL, 0, NULL, body, body ? strlen(body) : 0, NULL };
    return do_call(&c);
}

/* One sub-resource (?name, signed) on target. */
static reply sub(const creds *who, const char *method, const char *bucket, const char *path, const char *name,
                 const char *body)
{
    char target[1024];
    snprintf(target, sizeof target, "%s?%s", path, name);
    cos_kv q[] = { { name, "" } };
    call c = { method, bucket, target, path, who, q, 1, NULL, 0, NULL, body, body ? strlen(body) : 0, NULL };
    return do_call(&c);
}

#define EXPECT(r, status, code) test_expect_reply((r), (status), (code), __FILE__, __LINE__)

/* The body of a GET by the owner, or NULL if it is not 200. */
static char *owner_get(const char *bucket, const char *key_path)
{
    reply r = simple(&OWNER, "GET", bucket, key_path, NULL);
    char *body = r.status == 200 ? r.body : NULL;
    if (r.status != 200) free(r.body);
    free(r.head);
    return body;
}

static bool exists(const char *bucket, const char *key_path)
{
    reply r = simple(&OWNER, "HEAD", bucket, key_path, NULL);
    bool e = r.status == 200;
    reply_free(&r);
    return e;
}

/* ---------------------------------------------------------------- temporary keys */


/* GET /sts?QUERY signed with the owner's key (the server runs with --sts). */
static reply sts_as(const creds *who, const cos_kv *q, size_t nq)
{
    cos_buf t = COS_BUF_INIT;
    cos_buf_puts(&t, "/sts");
    for (size_t i = 0; i < nq; i++) {
        cos_buf_printf(&t, "%c%s=", i ? '&' : '?', q[i].name);
        for (const unsigned char *p = (const unsigned char *)q[i].value; *p; p++)
            if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-_.~", *p))
                cos_buf_putc(&t, (char)*p);
            else
                cos_buf_printf(&t, "%%%02X", *p);
    }
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", g_srv.port);
    call c = { "GET", NULL, t.data, "/sts", who, q, nq, NULL, 0, NULL, NULL, 0, host };
    reply r = do_call(&c);
    cos_buf_free(&t);
    return r;
}

static reply sts_get(const cos_kv *q, size_t nq, bool sign) { return sts_as(sign ? &OWNER : ANON, q, nq); }

/* POST /sts with a JSON body, signed by the owner with the body's Content-MD5 (a body the
 * signature does not bind is refused: anyone could replay the request with another policy). */
static reply sts_post(const char *body, size_t len)
{
    char host[64], md5[32];
    unsigned char d[16];
    snprintf(host, sizeof host, "127.0.0.1:%d", g_srv.port);
    cos_md5_digest(body, len, d);
    cos_base64_encode(d, 16, md5);
    cos_kv h[] = { { "Content-MD5", md5 } };
    call c = { "POST", NULL, "/sts", "/sts", &OWNER, NULL, 0, h, 1, NULL, body, len, host };
    return do_call(&c);
}

static creds temp_key(const char *bucket, const char *prefix, const char *actions)
{
    cos_kv q[3] = { { "bucket", bucket }, { "allowPrefix", prefix }, { "allowActions", actions } };
    reply r = sts_get(q, actions ? 3 : 2, true);
    return test_tmpkey_of(&r, __FILE__, __LINE__);
}

static void put_policy(const char *bucket, const char *json)
{
    EXPECT(sub(&OWNER, "PUT", bucket, "/", "policy", json), 204, NULL);
}

/* ---------------------------------------------------------------- the decision table */

typedef enum principal { OWNER_KEY, ANONYMOUS, U_KEY /* a temporary key for SHARED u/ with name/cos:* */ } principal;
static creds g_ukey;

static const struct row {
    principal who;
    const char *method, *bucket, *target, *sub; /* sub: a sub-resource, signed */
    int status;
    const char *doc; /* the rule, as COS's documentation states it */
} TABLE[] = {
    { OWNER_KEY, "GET", PRIV, "/secret.txt", NULL, 200, "the owner's permanent key may do anything" },
    { OWNER_KEY, "GET", PRIV, "/", "acl", 200, "... including reading a private bucket's ACL" },
    { ANONYMOUS, "GET", PRIV, "/secret.txt", NULL, 403, "private: anonymous callers get nothing" },
    { ANONYMOUS, "GET", PRIV, "/", NULL, 403, "private: no anonymous listing" },
    { ANONYMOUS, "GET", PUBR, "/a.txt", NULL, 200, "public-read: anyone reads objects" },
    { ANONYMOUS, "HEAD", PUBR, "/a.txt", NULL, 200, "public-read: anyone heads objects" },
    { ANONYMOUS, "GET", PUBR, "/", NULL, 200, "public-read: anyone lists the objects" },
    { ANONYMOUS, "PUT", PUBR, "/new.txt", NULL, 403, "public-read: writing stays the owner's" },
    { ANONYMOUS, "DELETE", PUBR, "/a.txt", NULL, 403, "public-read: deleting stays the owner's" },
    { ANONYMOUS, "GET", PUBR, "/", "uploads", 403, "canned ACLs are about objects: no multipart listing" },
    { ANONYMOUS, "GET", PUBR, "/", "policy", 403, "canned ACLs are about objects: not the policy" },
    { ANONYMOUS, "GET", PUBR, "/", "acl", 403, "canned ACLs are about objects: not the ACL" },
    { ANONYMOUS, "GET", PUBR, "/a.txt", "acl", 403, "canned ACLs are about objects: not an object's ACL" },
    { ANONYMOUS, "GET", PUBR, "/", "cors", 403, "canned ACLs are about objects: no configuration" },
    { ANONYMOUS, "PUT", PUBRW, "/anon.txt", NULL, 200, "public-read-write: anyone writes objects" },
    { ANONYMOUS, "GET", PUBRW, "/anon.txt", NULL, 200, "public-read-write: anyone reads objects" },
    { ANONYMOUS, "PUT", PUBRW, "/", "policy", 403, "public-read-write: never the policy" },
    { ANONYMOUS, "PUT", PUBRW, "/", "acl", 403, "public-read-write: never the ACL" },
    { ANONYMOUS, "PUT", PUBRW, "/", "lifecycle", 403, "public-read-write: never the configuration" },
    { ANONYMOUS, "PUT", PUBRW, "/anon.txt", "acl", 403, "public-read-write: never an object's ACL" },
    { ANONYMOUS, "DELETE", PUBRW, "/", NULL, 403, "public-read-write: never the bucket itself" },
    { ANONYMOUS, "GET", NULL, "/", NULL, 403, "GetService needs a signature" },
    { U_KEY, "PUT", SHARED, "/u/k.txt", NULL, 200, "a temporary key does what its policy allows" },
    { U_KEY, "GET", SHARED, "/u/k.txt", NULL, 200, "... on the resources it names" },
    { U_KEY, "GET", SHARED, "/hr/salaries.txt", NULL, 403, "... and nothing outside them" },
    { U_KEY, "PUT", SHARED, "/ux.txt", NULL, 403, "a prefix is not a string prefix of the key's name: u/ is not ux" },
    { U_KEY, "GET", PRIV, "/secret.txt", NULL, 403, "... nor in another bucket" },
    { U_KEY, "GET", SHARED, "/", NULL, 403, "listing the whole bucket is outside u/*" },
    { U_KEY, "GET", NULL, "/", NULL, 403, "GetService needs the resource *" },
    { U_KEY, "PUT", SHARED, "/", "acl", 403, "bucket configuration is outside u/*" },
};

static void test_decision_table(void)
{
    for (size_t i = 0; i < COS_ARRAY_LEN(TABLE); i++) {
        const struct row *t = &TABLE[i];
        const creds *c = t->who == OWNER_KEY ? &OWNER : t->who == U_KEY ? &g_ukey : ANON;
        const char *body = !strcmp(t->method, "PUT") && !t->sub ? "data" : NULL;
        if (t->sub && !strcmp(t->sub, "policy") && !strcmp(t->method, "PUT"))
            body = "{\"statement\":[{\"principal\":{\"qcs\":[\"*\"]},\"effect\":\"allow\",\"action\":[\"*\"],\"resource\":[\"*\"]}]}";
        if (t->sub && !strcmp(t->sub, "lifecycle"))
            body = "<LifecycleConfiguration><Rule><ID>x</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days>"
                   "</Expiration></Rule></LifecycleConfiguration>";
        if (t->sub && !strcmp(t->sub, "acl") && !strcmp(t->method, "PUT")) body = NULL;
        reply r = t->sub ? sub(c, t->method, t->bucket, t->target, t->sub, body) : simple(c, t->method, t->bucket, t->target, body);
        if (r.status != t->status)
            test_fail(__FILE__, __LINE__, "row %zu (%s %s%s%s%s as %s): %s — expected %d, got %d %.200s", i, t->method,
                      t->bucket ? t->bucket : "", t->target, t->sub ? "?" : "", t->sub ? t->sub : "",
                      t->who == OWNER_KEY ? "owner" : t->who == U_KEY ? "u/ key" : "anonymous", t->doc, t->status, r.status,
                      r.body ? r.body : "");
        reply_free(&r);
    }
    /* what the refused rows tried did not happen */
    CHECK(!exists(PUBR, "/new.txt"));
    CHECK(exists(PUBR, "/a.txt"));
    reply r = sub(&OWNER, "GET", PUBRW, "/", "policy", NULL);
    CHECK_INT(r.status, 404);
    reply_free(&r);
}

/* ---------------------------------------------------------------- 1: /sts */

static void test_sts_is_not_open(void)
{
    cos_kv q[] = { { "bucket", SHARED }, { "allowPrefix", "public/*" } };
    EXPECT(sts_get(q, 2, false), 403, "AccessDenied"); /* unsigned: refused */
    reply r = sts_get(q, 2, true);
    CHECK_INT(r.status, 200);
    reply_free(&r);
    /* a key must be scoped: no bucket, no prefix, a body that is not JSON */
    cos_kv nobucket[] = { { "allowPrefix", "public/*" } };
    r = sts_get(nobucket, 1, true);
    CHECK_INT(r.status, 400);
    reply_free(&r);
    cos_kv noprefix[] = { { "bucket", SHARED } };
    r = sts_get(noprefix, 1, true);
    CHECK_INT(r.status, 400);
    reply_free(&r);
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", g_srv.port);
    static const char bad_json[] = "{\"bucket\":\"" SHARED "\",\"allowPrefix\":\"u/*\",";
    r = sts_post(bad_json, sizeof bad_json - 1);
    CHECK_INT(r.status, 400);
    CHECK(!r.body || !strstr(r.body, "tmpSecretId"));
    reply_free(&r);
    /* allowActions in a JSON body is honoured */
    static const char body[] = "{\"bucket\":\"" SHARED "\",\"allowPrefix\":\"u/*\",\"allowActions\":[\"name/cos:GetObject\"]}";
    /* signed without binding its body: refused (before, a replay could carry any policy) */
    call c2 = { "POST", NULL, "/sts", "/sts", &OWNER, NULL, 0, NULL, 0, NULL, body, sizeof body - 1, host };
    r = do_call(&c2);
    CHECK_INT(r.status, 403);
    CHECK(!r.body || !strstr(r.body, "tmpSecretId"));
    reply_free(&r);
    r = sts_post(body, sizeof body - 1);
    CHECK_INT(r.status, 200);
    creds k = { test_json_str(r.body, "tmpSecretId"), test_json_str(r.body, "tmpSecretKey"), test_json_str(r.body, "sessionToken") };
    reply_free(&r);
    if (k.id && k.key && k.token) {
        EXPECT(simple(&k, "GET", SHARED, "/u/mine.txt", NULL), 200, NULL);
        EXPECT(simple(&k, "PUT", SHARED, "/u/mine.txt", "overwritten"), 403, "AccessDenied");
        EXPECT(simple(&k, "DELETE", SHARED, "/u/mine.txt", NULL), 403, "AccessDenied");
    } else {
        CHECK(!"a key for the JSON body");
    }
    test_tmpkey_free(&k);
    /* a body's own "policy" is its top-level one: one nested in another field (a backend that
       forwards its client's data beside its own policy) is not taken for it. Before, the first
       "policy" in the text was issued */
    static const char nested[] =
        "{\"client\":{\"policy\":{\"version\":\"2.0\",\"statement\":[{\"effect\":\"allow\",\"action\":[\"*\"],"
        "\"resource\":[\"*\"]}]}},\"policy\":{\"version\":\"2.0\",\"statement\":[{\"effect\":\"allow\","
        "\"action\":[\"name/cos:GetObject\"],\"resource\":[\"qcs::cos:ap-guangzhou:uid/" APPID ":" SHARED "/u/*\"]}]}}";
    r = sts_post(nested, sizeof nested - 1);
    CHECK_INT(r.status, 200);
    creds n = { test_json_str(r.body, "tmpSecretId"), test_json_str(r.body, "tmpSecretKey"), test_json_str(r.body, "sessionToken") };
    reply_free(&r);
    if (n.id && n.key && n.token) {
        EXPECT(simple(&n, "GET", SHARED, "/u/mine.txt", NULL), 200, NULL);
        EXPECT(simple(&n, "GET", PRIV, "/secret.txt", NULL), 403, "AccessDenied");
        EXPECT(simple(&n, "PUT", SHARED, "/u/mine.txt", "overwritten"), 403, "AccessDenied");
    } else {
        CHECK(!"a key for the nested body");
    }
    test_tmpkey_free(&n);
    char *mine = owner_get(SHARED, "/u/mine.txt");
    CHECK(mine && !strcmp(mine, "mine"));
    free(mine);
}

/* A temporary key without a policy (as an older server stored them) is allowed nothing. */
static void test_policyless_key_gets_nothing(void)
{
    /* written before the server started: see main() */
    creds k = { "AKIDnopolicyNOPOLICYnopolicy00000000", "nopolicysecretNOPOLICYSECRET0000", "nopolicytoken" };
    EXPECT(simple(&k, "GET", PRIV, "/secret.txt", NULL), 403, "AccessDenied");
    EXPECT(simple(&k, "PUT", PRIV, "/secret.txt", "pwned"), 403, "AccessDenied");
    EXPECT(simple(&k, "DELETE", PRIV, "/secret.txt", NULL), 403, "AccessDenied");
    char *s = owner_get(PRIV, "/secret.txt");
    CHECK(s && !strcmp(s, "top secret"));
    free(s);
    creds legacy = { "AKIDnoaccountNOACCOUNTnoaccount00000", "noaccountsecretNOACCOUNTSECRET00", "noaccounttoken" };
    EXPECT(simple(&legacy, "GET", PRIV, "/secret.txt", NULL), 403, "AccessDenied");
    EXPECT(simple(&legacy, "PUT", PRIV, "/secret.txt", "pwned"), 403, "AccessDenied");
}

/* ---------------------------------------------------------------- 2: copies */

static reply copy_as(const creds *who, const char *bucket, const char *dest, const char *source)
{
    cos_kv h[] = { { "x-cos-copy-source", source } };
    call c = { "PUT", bucket, dest, dest, who, NULL, 0, h, 1, NULL, NULL, 0, NULL };
    return do_call(&c);
}

static void test_copy_needs_the_source(void)
{
    EXPECT(copy_as(&g_ukey, SHARED, "/u/stolen.txt", SHARED ".cos.ap-guangzhou.myqcloud.com/hr/salaries.txt"), 403,
           "AccessDenied");
    EXPECT(copy_as(&g_ukey, SHARED, "/u/stolen2.txt", "/" PRIV "/secret.txt"), 403, "AccessDenied");
    EXPECT(copy_as(ANON, PUBRW, "/stolen3.txt", PRIV ".cos.ap-guangzhou.myqcloud.com/secret.txt"), 403, "AccessDenied");
    CHECK(!exists(SHARED, "/u/stolen.txt") && !exists(SHARED, "/u/stolen2.txt") && !exists(PUBRW, "/stolen3.txt"));
    /* within the key's scope a copy works */
    EXPECT(copy_as(&g_ukey, SHARED, "/u/copy.txt", SHARED ".cos.ap-guangzhou.myqcloud.com/u/mine.txt"), 200, NULL);
    /* and a public-read source may be copied by anyone who may write */
    EXPECT(copy_as(ANON, PUBRW, "/from-pubr.txt", PUBR ".cos.ap-guangzhou.myqcloud.com/a.txt"), 200, NULL);
    /* Upload Part - Copy, then Complete: the same check */
    reply r = sub(&g_ukey, "POST", SHARED, "/u/parts.bin", "uploads", NULL);
    CHECK_INT(r.status, 200);
    char *upload_id = NULL;
    const char *u = r.body ? strstr(r.body, "<UploadId>") : NULL;
    if (u) upload_id = strndup(u + 10, strcspn(u + 10, "<"));
    reply_free(&r);
    if (!upload_id) {
        CHECK(!"an upload id");
        return;
    }
    char target[256];
    snprintf(target, sizeof target, "/u/parts.bin?partNumber=1&uploadId=%s", upload_id);
    cos_kv q[] = { { "partNumber", "1" }, { "uploadId", upload_id } };
    cos_kv h[] = { { "x-cos-copy-source", SHARED ".cos.ap-guangzhou.myqcloud.com/hr/salaries.txt" } };
    call c = { "PUT", SHARED, target, "/u/parts.bin", &g_ukey, q, 2, h, 1, NULL, NULL, 0, NULL };
    EXPECT(do_call(&c), 403, "AccessDenied");
    free(upload_id);
}

/* ---------------------------------------------------------------- 3: bucket policies */

static void test_policy_principals_are_exact(void)
{
    /* a policy for some user's sub-accounts does not grant anonymous callers */
    put_policy(PRIV, "{\"statement\":[{\"principal\":{\"qcs\":[\"qcs::cam::uin/100000000001:uin/*\"]},\"effect\":\"allow\","
                     "\"action\":[\"name/cos:GetObject\"],\"resource\":[\"qcs::cos:ap-guangzhou:uid/" APPID ":" PRIV "/*\"]}]}");
    EXPECT(simple(ANON, "GET", PRIV, "/secret.txt", NULL), 403, "AccessDenied");
    EXPECT(sub(&OWNER, "DELETE", PRIV, "/", "policy", NULL), 204, NULL);
    /* a statement without a principal would be everyone's: refused */
    EXPECT(sub(&OWNER, "PUT", PRIV, "/", "policy",
               "{\"statement\":[{\"effect\":\"allow\",\"action\":[\"name/cos:GetObject\"],\"resource\":[\"*\"]}]}"),
           400, "MalformedPolicy");
    EXPECT(sub(&OWNER, "PUT", PRIV, "/", "policy",
               "{\"statement\":[{\"principal\":{\"qcs\":[\"*\"]},\"effect\":\"Allow!\",\"action\":[\"*\"],\"resource\":[\"*\"]}]}"),
           400, "MalformedPolicy");
    EXPECT(simple(ANON, "GET", PRIV, "/secret.txt", NULL), 403, "AccessDenied");
    /* COS's anonymous principal, in a Deny, beats a public-read ACL */
    put_policy(PUBR, "{\"statement\":[{\"principal\":{\"qcs\":[\"qcs::cam::anyone:anyone\"]},\"effect\":\"deny\","
                     "\"action\":[\"name/cos:GetObject\"],\"resource\":[\"qcs::cos:ap-guangzhou:uid/" APPID ":" PUBR "/a.txt\"]}]}");
    EXPECT(simple(ANON, "GET", PUBR, "/a.txt", NULL), 403, "AccessDenied");
    EXPECT(sub(&OWNER, "DELETE", PUBR, "/", "policy", NULL), 204, NULL);
    EXPECT(simple(ANON, "GET", PUBR, "/a.txt", NULL), 200, NULL);
    /* and it grants, in an Allow */
    put_policy(PRIV, "{\"statement\":[{\"principal\":{\"qcs\":[\"qcs::cam::anyone:anyone\"]},\"effect\":\"allow\","
                     "\"action\":[\"name/cos:GetObject\"],\"resource\":[\"qcs::cos:ap-guangzhou:uid/" APPID ":" PRIV "/open/*\"]}]}");
    EXPECT(simple(&OWNER, "PUT", PRIV, "/open/x.txt", "x"), 200, NULL);
    EXPECT(simple(ANON, "GET", PRIV, "/open/x.txt", NULL), 200, NULL);
    EXPECT(simple(ANON, "GET", PRIV, "/secret.txt", NULL), 403, "AccessDenied");
    EXPECT(sub(&OWNER, "DELETE", PRIV, "/", "policy", NULL), 204, NULL);
}

/* A bucket policy is parsed once per text and kept per server thread
 * (authz.c, bucket_policy): a new policy, one of the very same length, a
 * deleted one and two buckets' policies in turn must each decide the very
 * next request on every thread (a few dozen requests reach them all). */
static void test_policy_change_seen_at_once(void)
{
    enum { ROUNDS = 40 };
#define OPEN_POLICY(prefix) "{\"statement\":[{\"principal\":{\"qcs\":[\"qcs::cam::anyone:anyone\"]},\"effect\":\"allow\"," \
                            "\"action\":[\"name/cos:GetObject\"],\"resource\":[\"qcs::cos:ap-guangzhou:uid/" APPID ":" PRIV "/" prefix "/*\"]}]}"
    EXPECT(simple(&OWNER, "PUT", PRIV, "/open/x.txt", "x"), 200, NULL);
    EXPECT(simple(&OWNER, "PUT", PRIV, "/opex/y.txt", "y"), 200, NULL);
    put_policy(PRIV, OPEN_POLICY("open"));
    for (int i = 0; i < ROUNDS; i++) EXPECT(simple(ANON, "GET", PRIV, "/open/x.txt", NULL), 200, NULL);
    put_policy(PRIV, OPEN_POLICY("opex")); /* the same length, one byte apart */
    for (int i = 0; i < ROUNDS; i++) {
        EXPECT(simple(ANON, "GET", PRIV, "/open/x.txt", NULL), 403, "AccessDenied");
        EXPECT(simple(ANON, "GET", PRIV, "/opex/y.txt", NULL), 200, NULL);
    }
    /* two buckets' policies in turn: each request gets its own bucket's */
    put_policy(PUBR, "{\"statement\":[{\"principal\":{\"qcs\":[\"qcs::cam::anyone:anyone\"]},\"effect\":\"deny\","
                     "\"action\":[\"name/cos:GetObject\"],\"resource\":[\"qcs::cos:ap-guangzhou:uid/" APPID ":" PUBR "/a.txt\"]}]}");
    for (int i = 0; i < ROUNDS; i++) {
        EXPECT(simple(ANON, "GET", PUBR, "/a.txt", NULL), 403, "AccessDenied");
        EXPECT(simple(ANON, "GET", PRIV, "/opex/y.txt", NULL), 200, NULL);
    }
    EXPECT(sub(&OWNER, "DELETE", PUBR, "/", "policy", NULL), 204, NULL);
    EXPECT(sub(&OWNER, "DELETE", PRIV, "/", "policy", NULL), 204, NULL);
    for (int i = 0; i < ROUNDS; i++) {
        EXPECT(simple(ANON, "GET", PRIV, "/opex/y.txt", NULL), 403, "AccessDenied");
        EXPECT(simple(ANON, "GET", PUBR, "/a.txt", NULL), 200, NULL);
    }
#undef OPEN_POLICY
}

static void test_policy_deny_per_key(void)
{
    EXPECT(simple(&OWNER, "PUT", SHARED, "/u/keep.txt", "keep"), 200, NULL);
    EXPECT(simple(&OWNER, "PUT", SHARED, "/u/drop.txt", "drop"), 200, NULL);
    put_policy(SHARED, "{\"statement\":[{\"principal\":{\"qcs\":[\"qcs::cam::anyone:anyone\"]},\"effect\":\"deny\","
                       "\"action\":[\"name/cos:DeleteObject\",\"name/cos:GetObject\"],"
                       "\"resource\":[\"qcs::cos:ap-guangzhou:uid/" APPID ":" SHARED "/u/keep.txt\"]}]}");
    /* a multi-delete is DeleteObject on each key: the denied one is an <Error> and survives */
    static const char del[] = "<Delete><Quiet>false</Quiet><Object><Key>u/keep.txt</Key></Object>"
                              "<Object><Key>u/drop.txt</Key></Object></Delete>";
    reply r = sub(&g_ukey, "POST", SHARED, "/", "delete", del);
    CHECK_INT(r.status, 200);
    CHECK(r.body && strstr(r.body, "<Error><Key>u/keep.txt</Key>") && strstr(r.body, "<Code>AccessDenied</Code>"));
    CHECK(r.body && strstr(r.body, "<Deleted><Key>u/drop.txt</Key>"));
    reply_free(&r);
    CHECK(exists(SHARED, "/u/keep.txt"));
    CHECK(!exists(SHARED, "/u/drop.txt"));
    /* the owner's permanent key (the account's root) is not limited by the bucket policy */
    char *kept = owner_get(SHARED, "/u/keep.txt");
    CHECK(kept && !strcmp(kept, "keep"));
    free(kept);
    /* a Deny on GetObject is not bypassed by a copy */
    EXPECT(copy_as(&g_ukey, SHARED, "/u/keep-copy.txt", SHARED ".cos.ap-guangzhou.myqcloud.com/u/keep.txt"), 403,
           "AccessDenied");
    EXPECT(sub(&OWNER, "DELETE", SHARED, "/", "policy", NULL), 204, NULL);
}

/* A multipart/form-data POST Object with the given extra fields. */
static reply post_form(const char *bucket, const char *key, const char *field, const char *value)
{
    cos_buf b = COS_BUF_INIT;
    cos_buf_printf(&b, "--BB\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\n%s\r\n", key);
    if (field) cos_buf_printf(&b, "--BB\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n", field, value);
    cos_buf_puts(&b, "--BB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.txt\"\r\n\r\nform data\r\n--BB--\r\n");
    call c = { "POST", bucket, "/", NULL, ANON, NULL, 0, NULL, 0, "Content-Type: multipart/form-data; boundary=BB\r\n",
               b.data, b.len, NULL };
    reply r = do_call(&c);
    cos_buf_free(&b);
    return r;
}

static void test_policy_deny_put_covers_forms(void)
{
    put_policy(PUBRW, "{\"statement\":[{\"principal\":{\"qcs\":[\"qcs::cam::anyone:anyone\"]},\"effect\":\"deny\","
                      "\"action\":[\"name/cos:PutObject\"],\"resource\":[\"qcs::cos:ap-guangzhou:uid/" APPID ":" PUBRW "/locked/*\"]}]}");
    EXPECT(simple(ANON, "PUT", PUBRW, "/locked/a.txt", "x"), 403, "AccessDenied");
    EXPECT(post_form(PUBRW, "locked/a.txt", NULL, NULL), 403, "AccessDenied");
    CHECK(!exists(PUBRW, "/locked/a.txt"));
    EXPECT(post_form(PUBRW, "open/a.txt", NULL, NULL), 200, NULL);
    EXPECT(sub(&OWNER, "DELETE", PUBRW, "/", "policy", NULL), 204, NULL);
}

/* Setting an ACL while writing is also PutObjectACL (PutBucketACL for a
 * bucket): a key allowed only to upload, or an anonymous writer of a
 * public-read-write bucket, cannot publish what it writes to everyone
 * (before: x-cos-acl: public-read on the PUT made the object world-readable). */
static void test_writing_an_acl_needs_the_acl_permission(void)
{
    creds k = temp_key(SHARED, "u/*", "name/cos:PutObject,name/cos:InitiateMultipartUpload,name/cos:PutBucket");
    static const char all_users[] = "uri=\"http://cam.qcloud.com/groups/global/AllUsers\"";
    call c1 = { "PUT", SHARED, "/u/pub.txt", "/u/pub.txt", &k, NULL, 0, (cos_kv[]){ { "x-cos-acl", "public-read" } }, 1,
                NULL, "leak", 4, NULL };
    EXPECT(do_call(&c1), 403, "AccessDenied");
    call c2 = { "PUT", SHARED, "/u/pub.txt", "/u/pub.txt", &k, NULL, 0, (cos_kv[]){ { "x-cos-grant-read", all_users } }, 1,
                NULL, "leak", 4, NULL };
    EXPECT(do_call(&c2), 403, "AccessDenied");
    call c3 = { "POST", SHARED, "/u/pub.txt?uploads", "/u/pub.txt", &k, (cos_kv[]){ { "uploads", "" } }, 1,
                (cos_kv[]){ { "x-cos-acl", "public-read" } }, 1, NULL, NULL, 0, NULL };
    EXPECT(do_call(&c3), 403, "AccessDenied");
    EXPECT(simple(ANON, "GET", SHARED, "/u/pub.txt", NULL), 403, "AccessDenied");
    /* without an ACL (or with "default", which inherits) the upload is what the key may do */
    call c4 = { "PUT", SHARED, "/u/pub.txt", "/u/pub.txt", &k, NULL, 0, (cos_kv[]){ { "x-cos-acl", "default" } }, 1,
                NULL, "fine", 4, NULL };
    EXPECT(do_call(&c4), 200, NULL);
    EXPECT(simple(ANON, "GET", SHARED, "/u/pub.txt", NULL), 403, "AccessDenied");
    test_tmpkey_free(&k);
    /* anonymous writers: WRITE on the bucket is not WRITE_ACP on what they write */
    call a1 = { "PUT", PUBRW, "/anon-pub.txt", "/anon-pub.txt", ANON, NULL, 0, NULL, 0, "x-cos-acl: public-read-write\r\n",
                "x", 1, NULL };
    EXPECT(do_call(&a1), 403, "AccessDenied");
    EXPECT(post_form(PUBRW, "anon-form.txt", "acl", "public-read-write"), 403, "AccessDenied");
    CHECK(!exists(PUBRW, "/anon-pub.txt"));
    CHECK(!exists(PUBRW, "/anon-form.txt"));
    EXPECT(post_form(PUBRW, "anon-form.txt", NULL, NULL), 200, NULL);
    /* a key with PutObjectACL too may */
    k = temp_key(SHARED, "u/*", "name/cos:PutObject,name/cos:PutObjectACL");
    EXPECT(do_call(&(call){ "PUT", SHARED, "/u/pub2.txt", "/u/pub2.txt", &k, NULL, 0,
                            (cos_kv[]){ { "x-cos-acl", "public-read" } }, 1, NULL, "shared", 6, NULL }), 200, NULL);
    EXPECT(simple(ANON, "GET", SHARED, "/u/pub2.txt", NULL), 200, NULL);
    test_tmpkey_free(&k);
}

/* Tagging while writing is also PutObjectTagging: tags can decide access
 * (s3:ExistingObjectTag), so a key allowed only to upload cannot tag its
 * way into a policy that opens tagged objects. Before, x-cos-tagging on
 * the PUT made the object readable to everyone under such a policy. */
static void test_writing_tags_needs_the_tagging_permission(void)
{
    put_policy(SHARED, "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\","
                       "\"Resource\":\"arn:aws:s3:::" SHARED "/u/*\",\"Condition\":{\"StringEquals\":"
                       "{\"s3:ExistingObjectTag/public\":\"yes\"}}}]}");
    creds k = temp_key(SHARED, "u/*", "name/cos:PutObject,name/cos:InitiateMultipartUpload");
    call c1 = { "PUT", SHARED, "/u/tagged.txt", "/u/tagged.txt", &k, NULL, 0, (cos_kv[]){ { "x-cos-tagging", "public=yes" } },
                1, NULL, "leak", 4, NULL };
    EXPECT(do_call(&c1), 403, "AccessDenied");
    call c2 = { "POST", SHARED, "/u/tagged.txt?uploads", "/u/tagged.txt", &k, (cos_kv[]){ { "uploads", "" } }, 1,
                (cos_kv[]){ { "x-cos-tagging", "public=yes" } }, 1, NULL, NULL, 0, NULL };
    EXPECT(do_call(&c2), 403, "AccessDenied");
    EXPECT(simple(ANON, "GET", SHARED, "/u/tagged.txt", NULL), 403, "AccessDenied");
    EXPECT(simple(&k, "PUT", SHARED, "/u/tagged.txt", "untagged"), 200, NULL);
    EXPECT(simple(ANON, "GET", SHARED, "/u/tagged.txt", NULL), 403, "AccessDenied");
    test_tmpkey_free(&k);
    /* the owner tags, and the policy opens what it tagged */
    call o = { "PUT", SHARED, "/u/tagged.txt", "/u/tagged.txt", &OWNER, NULL, 0, (cos_kv[]){ { "x-cos-tagging", "public=yes" } },
               1, NULL, "public", 6, NULL };
    EXPECT(do_call(&o), 200, NULL);
    EXPECT(simple(ANON, "GET", SHARED, "/u/tagged.txt", NULL), 200, NULL);
    EXPECT(sub(&OWNER, "DELETE", SHARED, "/", "policy", NULL), 204, NULL);
}

/* COS's hotlink protection (PUT /?referer) is kept for unsigned requests, as
 * COS keeps it (signed ones are not checked). Before, the configuration was
 * stored and answered back but admitted every Referer. */
static void test_referer_protection_is_kept(void)
{
#define REF_GET(ref) do_call(&(call){ "GET", PUBR, "/a.txt", "/a.txt", ANON, NULL, 0, NULL, 0, ref, NULL, 0, NULL })
    EXPECT(sub(&OWNER, "PUT", PUBR, "/", "referer",
               "<RefererConfiguration><Status>Enabled</Status><RefererType>White-List</RefererType><DomainList>"
               "<Domain>*.example.com</Domain><Domain>shop.test:8080</Domain></DomainList>"
               "<EmptyReferConfiguration>Deny</EmptyReferConfiguration></RefererConfiguration>"), 200, NULL);
    EXPECT(REF_GET(NULL), 403, "AccessDenied");
    EXPECT(REF_GET("Referer: https://evil.test/\r\n"), 403, "AccessDenied");
    EXPECT(REF_GET("Referer: https://evil.test/a.example.com/\r\n"), 403, "AccessDenied");
    EXPECT(REF_GET("Referer: https://shop.test/\r\n"), 403, "AccessDenied");
    EXPECT(REF_GET("Referer: https://www.example.com/page\r\n"), 200, NULL);
    EXPECT(REF_GET("Referer: http://a.b.EXAMPLE.com\r\n"), 200, NULL);
    EXPECT(REF_GET("Referer: http://shop.test:8080/cart\r\n"), 200, NULL);
    EXPECT(simple(&OWNER, "GET", PUBR, "/a.txt", NULL), 200, NULL); /* signed: not checked */
    EXPECT(sub(&OWNER, "PUT", PUBR, "/", "referer",
               "<RefererConfiguration><Status>Enabled</Status><RefererType>Black-List</RefererType><DomainList>"
               "<Domain>evil.test</Domain></DomainList><EmptyReferConfiguration>Allow</EmptyReferConfiguration>"
               "</RefererConfiguration>"), 200, NULL);
    EXPECT(REF_GET(NULL), 200, NULL);
    EXPECT(REF_GET("Referer: https://evil.test/x\r\n"), 403, "AccessDenied");
    EXPECT(REF_GET("Referer: https://good.test/x\r\n"), 200, NULL);
    EXPECT(sub(&OWNER, "PUT", PUBR, "/", "referer",
               "<RefererConfiguration><Status>Disabled</Status><RefererType>White-List</RefererType><DomainList>"
               "<Domain>nowhere.test</Domain></DomainList></RefererConfiguration>"), 200, NULL);
    EXPECT(REF_GET(NULL), 200, NULL);
#undef REF_GET
}

/* ---------------------------------------------------------------- 5: what a signature covers */

/* A presigned target for key (signing only host), as libcos and the SDKs make them. */
static char *presigned(const char *method, const char *bucket, const char *path)
{
    char *host = host_of(bucket), *auth = NULL;
    cos_sign_params p = COS_SIGN_PARAMS_INIT;
    p.secret_id = OWNER.id;
    p.secret_key = OWNER.key;
    p.method = method;
    p.pathname = path;
    p.host = host;
    cos_sign(&p, &auth, NULL, NULL);
    char *t = cos_sprintf("%s?%s", path, auth ? auth : "");
    free(auth);
    free(host);
    return t;
}

static void test_signature_covers_the_operation(void)
{
    char *put = presigned("PUT", SHARED, "/u/presigned.txt");
    char *t = cos_sprintf("%s&acl", put);
    call c = { "PUT", SHARED, t, NULL, ANON, NULL, 0, NULL, 0, "x-cos-acl: public-read\r\n", NULL, 0, NULL };
    EXPECT(do_call(&c), 403, "AccessDenied"); /* now a PutObjectACL */
    free(t);
    t = cos_sprintf("%s&tagging", put);
    static const char tags[] = "<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>";
    call c2 = { "PUT", SHARED, t, NULL, ANON, NULL, 0, NULL, 0, NULL, tags, sizeof tags - 1, NULL };
    EXPECT(do_call(&c2), 403, "AccessDenied");
    free(t);
    /* an added x-cos-copy-source makes it a copy of anything */
    call c3 = { "PUT", SHARED, put, NULL, ANON, NULL, 0, NULL, 0,
                "x-cos-copy-source: " PRIV ".cos.ap-guangzhou.myqcloud.com/secret.txt\r\n", NULL, 0, NULL };
    EXPECT(do_call(&c3), 403, "AccessDenied");
    CHECK(!exists(SHARED, "/u/presigned.txt"));
    /* the URL as made works */
    call ok = { "PUT", SHARED, put, NULL, ANON, NULL, 0, NULL, 0, NULL, "p", 1, NULL };
    EXPECT(do_call(&ok), 200, NULL);
    free(put);
    char *get = presigned("GET", SHARED, "/u/presigned.txt");
    t = cos_sprintf("%s&response-content-type=text%%2Fhtml", get);
    call c4 = { "GET", SHARED, t, NULL, ANON, NULL, 0, NULL, 0, NULL, NULL, 0, NULL };
    EXPECT(do_call(&c4), 403, "AccessDenied");
    free(t);
    call c5 = { "GET", SHARED, get, NULL, ANON, NULL, 0, NULL, 0, NULL, NULL, 0, NULL };
    EXPECT(do_call(&c5), 200, NULL);
    free(get);
    /* a header-signed request with an unsigned sub-resource added */
    call c6 = { "GET", SHARED, "/?policy", "/", &OWNER, NULL, 0, NULL, 0, NULL, NULL, 0, NULL };
    EXPECT(do_call(&c6), 403, "AccessDenied");
}

/* ---------------------------------------------------------------- 6 and 10: POST forms */

static void test_form_keys_are_checked(void)
{
    EXPECT(post_form(PUBRW, "../../../escape.txt", NULL, NULL), 400, "InvalidURI");
    EXPECT(post_form(PUBRW, "bad\xff\xfe.txt", NULL, NULL), 400, "InvalidURI");
    EXPECT(post_form(PUBRW, "ctl\x01.txt", NULL, NULL), 400, NULL);
    char *longkey = malloc(2001);
    memset(longkey, 'k', 2000);
    longkey[2000] = '\0';
    EXPECT(post_form(PUBRW, longkey, NULL, NULL), 400, "KeyTooLong");
    free(longkey);
    char root_file[600];
    snprintf(root_file, sizeof root_file, "%s/../escape.txt", g_srv.root);
    CHECK(access(root_file, F_OK) != 0);
}

static void test_form_fields_cannot_inject_headers(void)
{
    EXPECT(post_form(PUBRW, "inj.txt", "x-cos-meta-a", "x\r\nSet-Cookie: session=stolen"), 400, "InvalidArgument");
    EXPECT(post_form(PUBRW, "inj.txt", "Content-Type", "text/plain\nAccess-Control-Allow-Origin: *"), 400, "InvalidArgument");
    CHECK(!exists(PUBRW, "/inj.txt"));
    /* a header's text that looks like another header is only text */
    EXPECT(post_form(PUBRW, "look.txt", "x-cos-meta-a", "x-cos-object-type: appendable"), 200, NULL);
    char target[] = "/look.txt?append&position=9";
    cos_kv q[] = { { "append", "" }, { "position", "9" } };
    call c = { "POST", PUBRW, target, "/look.txt", &OWNER, q, 2, NULL, 0, NULL, "more", 4, NULL };
    EXPECT(do_call(&c), 409, "ObjectNotAppendable");
    reply r = simple(ANON, "GET", PUBRW, "/look.txt", NULL);
    CHECK_INT(r.status, 200);
    CHECK(r.head && !strcasestr(r.head, "Set-Cookie") && !strcasestr(r.head, "Access-Control-Allow-Origin"));
    reply_free(&r);
}

/* ---------------------------------------------------------------- 7: a flood of connections */

static void test_connection_flood(void)
{
    enum { WANT = 3000 };
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    int n = rl.rlim_cur > WANT + 64 ? WANT : (int)rl.rlim_cur - 64;
    int *fds = calloc((size_t)n, sizeof *fds);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)g_srv.port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int opened = 0;
    for (int i = 0; i < n; i++) { /* half-open: connected, half a request line, then silence */
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (fds[i] < 0) break;
        if (connect(fds[i], (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS) {
            close(fds[i]);
            fds[i] = -1;
            continue;
        }
        send(fds[i], "GET / HT", 8, MSG_NOSIGNAL);
        opened++;
    }
    printf("    holding %d half-open connections\n", opened);
    /* another process is served while they are held (the alarm is the failure bound, not a measurement) */
    pid_t pid = fork();
    if (pid == 0) {
        free(fds); /* the child's copy (valgrind checks the child too) */
        alarm(90);
        reply r = simple(ANON, "GET", PUBR, "/a.txt", NULL);
        int ok = r.status == 200 && r.body && !strcmp(r.body, "public");
        reply_free(&r);
        test_tmpkey_free(&g_ukey);
        _exit(ok ? 0 : 1);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    /* closed with a reset: thousands of TIME_WAIT ports would stay taken for a
       minute, and another test picking a "free" port could not bind it */
    struct linger reset = { 1, 0 };
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0) {
            setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
            close(fds[i]);
        }
    free(fds);
    /* a connection that never sends its request is closed by the server (the
       90 s receive timeout is the failure bound: the header timeout is 30 s) */
    int silent = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval tv = { 90, 0 };
    setsockopt(silent, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    CHECK(connect(silent, (struct sockaddr *)&sa, sizeof sa) == 0);
    char byte;
    CHECK(recv(silent, &byte, 1, 0) == 0); /* EOF, not EAGAIN */
    close(silent);
    /* and after they are gone */
    pid = fork();
    if (pid == 0) {
        alarm(90);
        reply r = simple(ANON, "GET", PUBR, "/a.txt", NULL);
        int ok = r.status == 200;
        reply_free(&r);
        test_tmpkey_free(&g_ukey);
        _exit(ok ? 0 : 1);
    }
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* ---------------------------------------------------------------- 8: prefix-scoped listings */

static void test_scoped_key_can_list_its_prefix(void)
{
    creds k = temp_key(SHARED, "u/alice/*", "name/cos:PutObject,name/cos:InitiateMultipartUpload,"
                                            "name/cos:ListMultipartUploads,name/cos:ListParts,name/cos:UploadPart,"
                                            "name/cos:CompleteMultipartUpload,name/cos:AbortMultipartUpload,name/cos:GetBucket");
    if (!k.id) return;
    /* what the official SDK's sliceUploadFile sends first */
    call c = { "GET", SHARED, "/?uploads&prefix=u%2Falice%2Fbig.bin", "/", &k,
               (cos_kv[]){ { "uploads", "" }, { "prefix", "u/alice/big.bin" } }, 2, NULL, 0, NULL, NULL, 0, NULL };
    EXPECT(do_call(&c), 200, NULL);
    call l = { "GET", SHARED, "/?prefix=u%2Falice%2F", "/", &k, (cos_kv[]){ { "prefix", "u/alice/" } }, 1, NULL, 0,
               NULL, NULL, 0, NULL };
    EXPECT(do_call(&l), 200, NULL);
    /* a listing outside the prefix is not */
    call c2 = { "GET", SHARED, "/?uploads&prefix=u%2F", "/", &k, (cos_kv[]){ { "uploads", "" }, { "prefix", "u/" } }, 2,
                NULL, 0, NULL, NULL, 0, NULL };
    EXPECT(do_call(&c2), 403, "AccessDenied");
    EXPECT(sub(&k, "GET", SHARED, "/", "uploads", NULL), 403, "AccessDenied");
    call l2 = { "GET", SHARED, "/?prefix=u%2Falice", "/", &k, (cos_kv[]){ { "prefix", "u/alice" } }, 1, NULL, 0, NULL,
                NULL, 0, NULL };
    EXPECT(do_call(&l2), 403, "AccessDenied"); /* would list u/alicebob/ too */
    test_tmpkey_free(&k);
}

/* ---------------------------------------------------------------- 9: the Host header */

static void test_host_cannot_rewrite_the_resource(void)
{
    /* the region pasted into the resource would have made it match the key's shared/u/ */
    char host[256];
    snprintf(host, sizeof host, PRIV ".cos.ap-guangzhou:uid/" APPID ":" SHARED "/u/.myqcloud.com:%d", g_srv.port);
    call c = { "GET", PRIV, "/secret.txt", "/secret.txt", &g_ukey, NULL, 0, NULL, 0, NULL, NULL, 0, host };
    reply r = do_call(&c);
    CHECK(r.status >= 400 && r.status < 500);
    CHECK(!r.body || !strstr(r.body, "top secret"));
    reply_free(&r);
    /* another region than the bucket's is refused, even to the owner */
    call c2 = { "GET", PRIV, "/secret.txt", "/secret.txt", &OWNER, NULL, 0, NULL, 0, NULL, NULL, 0,
                PRIV ".cos.ap-beijing.myqcloud.com" };
    EXPECT(do_call(&c2), 403, "AccessDenied");
    /* and a Deny written for the bucket's region is not skipped by naming another */
    put_policy(PUBR, "{\"statement\":[{\"principal\":{\"qcs\":[\"*\"]},\"effect\":\"deny\",\"action\":[\"name/cos:GetObject\"],"
                     "\"resource\":[\"qcs::cos:ap-guangzhou:uid/" APPID ":" PUBR "/*\"]}]}");
    call c3 = { "GET", PUBR, "/a.txt", NULL, ANON, NULL, 0, NULL, 0, NULL, NULL, 0, PUBR ".cos.ap-shanghai.myqcloud.com" };
    EXPECT(do_call(&c3), 403, "AccessDenied");
    EXPECT(sub(&OWNER, "DELETE", PUBR, "/", "policy", NULL), 204, NULL);
}

/* ---------------------------------------------------------------- 11 */

static void test_service_files_and_log(void)
{
    EXPECT(simple(&g_ukey, "GET", NULL, "/", NULL), 403, "AccessDenied");
    reply r = simple(&OWNER, "GET", NULL, "/", NULL);
    CHECK_INT(r.status, 200);
    CHECK(r.body && strstr(r.body, SHARED));
    reply_free(&r);
    static const char *const PRIVATE[] = { "sts.json", "meta.db", "data", "" };
    for (size_t i = 0; i < COS_ARRAY_LEN(PRIVATE); i++) {
        char p[600];
        snprintf(p, sizeof p, "%s/%s", g_srv.root, PRIVATE[i]);
        struct stat st;
        CHECK(stat(p, &st) == 0);
        if ((st.st_mode & 077) != 0) test_fail(__FILE__, __LINE__, "%s is mode %o", p, (unsigned)(st.st_mode & 0777));
    }
    /* a line break in the path cannot forge a log line */
    reply f = simple(ANON, "GET", PUBR, "/x%0AGET%20/forged%20200%201%201ms%20FORGED", NULL);
    reply_free(&f);
    FILE *log = fopen(g_srv.log_path, "r");
    CHECK(log != NULL);
    char line[4096];
    bool forged = false, seen = false;
    while (log && fgets(line, sizeof line, log)) {
        if (!strncmp(line, "GET /forged", 11)) forged = true;
        if (strstr(line, "FORGED")) seen = true;
    }
    if (log) fclose(log);
    CHECK(!forged);
    CHECK(seen); /* logged, escaped, on its own line */
}

/* ---------------------------------------------------------------- 12 */

static void test_sign_parameter_and_acl_grants(void)
{
    /* ?sign=<the Authorization, URL-encoded> */
    char *host = host_of(PRIV), *auth = NULL;
    cos_sign_params p = COS_SIGN_PARAMS_INIT;
    p.secret_id = OWNER.id;
    p.secret_key = OWNER.key;
    p.method = "GET";
    p.pathname = "/secret.txt";
    p.host = host;
    cos_sign(&p, &auth, NULL, NULL);
    cos_buf t = COS_BUF_INIT;
    cos_buf_puts(&t, "/secret.txt?sign=");
    for (const unsigned char *c = (const unsigned char *)(auth ? auth : ""); *c; c++)
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || strchr("-_.~", *c))
            cos_buf_putc(&t, (char)*c);
        else
            cos_buf_printf(&t, "%%%02X", *c);
    call c = { "GET", PRIV, t.data, NULL, ANON, NULL, 0, NULL, 0, NULL, NULL, 0, NULL };
    reply r = do_call(&c);
    CHECK_INT(r.status, 200);
    CHECK(r.body && !strcmp(r.body, "top secret"));
    reply_free(&r);
    cos_buf_free(&t);
    free(auth);
    free(host);
    /* explicit grants are stored and returned exactly */
    static const char acl[] =
        "<AccessControlPolicy><Owner><ID>qcs::cam::uin/" APPID ":uin/" APPID "</ID></Owner><AccessControlList>"
        "<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"CanonicalUser\">"
        "<ID>qcs::cam::uin/100000000001:uin/100000000002</ID></Grantee><Permission>READ</Permission></Grant>"
        "<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"Group\">"
        "<URI>http://cam.qcloud.com/groups/global/AllUsers</URI></Grantee><Permission>READ_ACP</Permission></Grant>"
        "</AccessControlList></AccessControlPolicy>";
    EXPECT(sub(&OWNER, "PUT", PRIV, "/secret.txt", "acl", acl), 200, NULL);
    r = sub(&OWNER, "GET", PRIV, "/secret.txt", "acl", NULL);
    CHECK_INT(r.status, 200);
    CHECK(r.body && strstr(r.body, "qcs::cam::uin/100000000001:uin/100000000002") && strstr(r.body, "READ_ACP"));
    reply_free(&r);
    /* and they mean what they say: AllUsers may read the ACL, not the object */
    EXPECT(sub(ANON, "GET", PRIV, "/secret.txt", "acl", NULL), 200, NULL);
    EXPECT(simple(ANON, "GET", PRIV, "/secret.txt", NULL), 403, "AccessDenied");
    EXPECT(sub(ANON, "PUT", PRIV, "/secret.txt", "acl", acl), 403, "AccessDenied");
    /* the same through x-cos-grant-* headers */
    cos_kv g[] = { { "x-cos-grant-read", "uri=\"http://cam.qcloud.com/groups/global/AllUsers\"" },
                   { "x-cos-grant-full-control", "id=\"qcs::cam::uin/100000000001:uin/100000000003\"" } };
    call c2 = { "PUT", PRIV, "/secret.txt?acl", "/secret.txt", &OWNER, (cos_kv[]){ { "acl", "" } }, 1, g, 2, NULL, NULL, 0, NULL };
    EXPECT(do_call(&c2), 200, NULL);
    r = sub(&OWNER, "GET", PRIV, "/secret.txt", "acl", NULL);
    CHECK(r.body && strstr(r.body, "uin/100000000003") && strstr(r.body, "FULL_CONTROL"));
    reply_free(&r);
    EXPECT(simple(ANON, "GET", PRIV, "/secret.txt", NULL), 200, NULL);
    EXPECT(sub(ANON, "GET", PRIV, "/secret.txt", "acl", NULL), 403, "AccessDenied");
    EXPECT(sub(&OWNER, "PUT", PRIV, "/secret.txt", "acl", NULL), 200, NULL); /* back to private */
    EXPECT(simple(ANON, "GET", PRIV, "/secret.txt", NULL), 403, "AccessDenied");
}

/* ---------------------------------------------------------------- #18 item 1 */

/* A second account (--extra-key ID:SECRET:ACCOUNT) is a stranger to the
 * owner's buckets and the owner to its: refused everywhere nothing grants
 * it, its own buckets listed to it alone, and no way to take over a name. */
static creds OTHER = { "AKIDotherACCOUNTother0000000000000000", "otherACCOUNTsecretKEY000000000000", NULL };
#define THEIRS "theirs-" APPID

static void test_second_account_is_a_stranger(void)
{
    /* the owner's data: nothing of it, whatever the operation */
    EXPECT(simple(&OTHER, "GET", PRIV, "/secret.txt", NULL), 403, "AccessDenied");
    EXPECT(simple(&OTHER, "HEAD", PRIV, "/secret.txt", NULL), 403, NULL);
    EXPECT(simple(&OTHER, "PUT", PRIV, "/secret.txt", "overwritten"), 403, "AccessDenied");
    EXPECT(simple(&OTHER, "DELETE", PRIV, "/secret.txt", NULL), 403, "AccessDenied");
    EXPECT(simple(&OTHER, "GET", PRIV, "/", NULL), 403, "AccessDenied");
    EXPECT(simple(&OTHER, "DELETE", PRIV, "/", NULL), 403, "AccessDenied");
    EXPECT(sub(&OTHER, "GET", PRIV, "/", "acl", NULL), 403, "AccessDenied");
    EXPECT(sub(&OTHER, "PUT", PRIV, "/", "policy", "{\"Statement\":[]}"), 403, "AccessDenied");
    EXPECT(sub(&OTHER, "GET", PRIV, "/secret.txt", "acl", NULL), 403, "AccessDenied");
    EXPECT(sub(&OTHER, "POST", PRIV, "/new.txt", "uploads", NULL), 403, "AccessDenied");
    /* its name cannot be taken over: the bucket stays the owner's, unchanged */
    call take = { "PUT", PRIV, "/", "/", &OTHER, NULL, 0, (cos_kv[]){ { "x-cos-acl", "public-read-write" } }, 1, NULL, NULL, 0, NULL };
    EXPECT(do_call(&take), 409, "BucketAlreadyExists");
    EXPECT(simple(ANON, "GET", PRIV, "/secret.txt", NULL), 403, "AccessDenied");
    char *body = owner_get(PRIV, "/secret.txt");
    CHECK(body && !strcmp(body, "top secret"));
    free(body);
    /* copies out of the owner's bucket into its own are refused too */
    EXPECT(simple(&OTHER, "PUT", THEIRS, "/", NULL), 200, NULL);
    EXPECT(copy_as(&OTHER, THEIRS, "/stolen.txt", "/" PRIV "/secret.txt"), 403, "AccessDenied");
    /* what the owner made public it may read, as anyone may; no more */
    body = NULL;
    reply g = simple(&OTHER, "GET", PUBR, "/a.txt", NULL);
    CHECK(g.status == 200 && g.body && !strcmp(g.body, "public"));
    reply_free(&g);
    EXPECT(simple(&OTHER, "PUT", PUBR, "/a.txt", "defaced"), 403, "AccessDenied");
    /* each account lists its own buckets only */
    reply l = simple(&OTHER, "GET", NULL, "/", NULL);
    CHECK(l.status == 200 && l.body && strstr(l.body, THEIRS) && !strstr(l.body, PRIV) && !strstr(l.body, SHARED));
    reply_free(&l);
    l = simple(&OWNER, "GET", NULL, "/", NULL);
    CHECK(l.status == 200 && l.body && strstr(l.body, PRIV) && !strstr(l.body, THEIRS));
    reply_free(&l);
    /* and the owner's key is a stranger to the other account's bucket */
    EXPECT(simple(&OTHER, "PUT", THEIRS, "/mine.txt", "theirs"), 200, NULL);
    EXPECT(simple(&OWNER, "GET", THEIRS, "/mine.txt", NULL), 403, "AccessDenied");
    EXPECT(simple(&OWNER, "PUT", THEIRS, "/mine.txt", "x"), 403, "AccessDenied");
    EXPECT(simple(&OWNER, "DELETE", THEIRS, "/", NULL), 403, "AccessDenied");
    /* a grant to its canonical id lets it read exactly that */
    const char *grant = "<AccessControlPolicy><Owner><ID>other</ID></Owner><AccessControlList><Grant>"
                        "<Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"CanonicalUser\">"
                        "<ID>qcs::cam::uin/" APPID ":uin/" APPID "</ID></Grantee><Permission>READ</Permission></Grant>"
                        "</AccessControlList></AccessControlPolicy>";
    EXPECT(sub(&OTHER, "PUT", THEIRS, "/", "acl", grant), 200, NULL);
    EXPECT(simple(&OWNER, "GET", THEIRS, "/", NULL), 200, NULL);
    EXPECT(simple(&OWNER, "PUT", THEIRS, "/mine.txt", "x"), 403, "AccessDenied");
}

/* A temporary key is never wider than the account that asked for it: a
 * second account's permanent key may get keys from /sts, but they act as
 * that account (before: as the server's owner, so a policy on "*" opened
 * every bucket of the owner), and the owner's key for "*" does not reach a
 * second account's bucket its permanent key could not touch. */
static void test_temporary_keys_stay_within_their_account(void)
{
    static const char everything[] = "{\"version\":\"2.0\",\"statement\":[{\"effect\":\"allow\","
                                     "\"action\":[\"name/cos:*\"],\"resource\":[\"*\"]}]}";
    cos_kv q[] = { { "policy", everything } };
    reply r = sts_as(&OTHER, q, 1);
    creds k = { test_json_str(r.body, "tmpSecretId"), test_json_str(r.body, "tmpSecretKey"), test_json_str(r.body, "sessionToken") };
    CHECK_INT(r.status, 200);
    reply_free(&r);
    if (k.id && k.key && k.token) {
        EXPECT(simple(&k, "GET", PRIV, "/secret.txt", NULL), 403, "AccessDenied");
        EXPECT(simple(&k, "PUT", PRIV, "/secret.txt", "pwned"), 403, "AccessDenied");
        EXPECT(simple(&k, "DELETE", PRIV, "/secret.txt", NULL), 403, "AccessDenied");
        EXPECT(simple(&k, "GET", PRIV, "/", NULL), 403, "AccessDenied");
        EXPECT(sub(&k, "PUT", PRIV, "/", "acl", "<AccessControlPolicy/>"), 403, "AccessDenied");
        EXPECT(sub(&k, "DELETE", PRIV, "/", "policy", NULL), 403, "AccessDenied");
        EXPECT(copy_as(&k, THEIRS, "/stolen2.txt", "/" PRIV "/secret.txt"), 403, "AccessDenied");
        /* what its account owns it reaches, and it lists that account's buckets */
        EXPECT(simple(&k, "PUT", THEIRS, "/tmp.txt", "by the key"), 200, NULL);
        reply l = simple(&k, "GET", NULL, "/", NULL);
        CHECK(l.status == 200 && l.body && strstr(l.body, THEIRS) && !strstr(l.body, PRIV));
        reply_free(&l);
        /* what it acts for is kept with it (ROOT/sts.json), so a restart changes nothing */
        char path[600];
        snprintf(path, sizeof path, "%s/sts.json", g_srv.root);
        FILE *f = fopen(path, "r");
        char buf[65536] = "";
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        buf[n] = '\0';
        if (f) fclose(f);
        char *entry = strstr(buf, k.id);
        CHECK(entry && strstr(entry, "\"account\":\"other\""));
        /* and a bucket it creates is its account's */
        EXPECT(simple(&k, "PUT", "theirs2-" APPID, "/", NULL), 200, NULL);
        EXPECT(simple(&OWNER, "GET", "theirs2-" APPID, "/", NULL), 403, "AccessDenied");
        EXPECT(simple(&OTHER, "GET", "theirs2-" APPID, "/", NULL), 200, NULL);
    }
    test_tmpkey_free(&k);
    char *s = owner_get(PRIV, "/secret.txt");
    CHECK(s && !strcmp(s, "top secret"));
    free(s);
    /* the owner's key for everything: the second account's bucket stays out of reach */
    r = sts_as(&OWNER, q, 1);
    creds o = { test_json_str(r.body, "tmpSecretId"), test_json_str(r.body, "tmpSecretKey"), test_json_str(r.body, "sessionToken") };
    CHECK_INT(r.status, 200);
    reply_free(&r);
    if (o.id && o.key && o.token) {
        EXPECT(simple(&o, "PUT", THEIRS, "/mine.txt", "overwritten"), 403, "AccessDenied");
        EXPECT(simple(&o, "DELETE", THEIRS, "/mine.txt", NULL), 403, "AccessDenied");
        EXPECT(sub(&o, "GET", THEIRS, "/", "acl", NULL), 403, "AccessDenied");
        EXPECT(sub(&o, "PUT", THEIRS, "/", "policy", "{\"Statement\":[]}"), 403, "AccessDenied");
        EXPECT(simple(&o, "DELETE", THEIRS, "/", NULL), 403, "AccessDenied");
        EXPECT(simple(&o, "GET", PRIV, "/secret.txt", NULL), 200, NULL);
    }
    test_tmpkey_free(&o);
    reply m = simple(&OTHER, "GET", THEIRS, "/mine.txt", NULL);
    CHECK(m.status == 200 && m.body && !strcmp(m.body, "theirs"));
    reply_free(&m);
}

static void test_unimplemented_subresources_change_nothing(void)
{
    EXPECT(simple(&OWNER, "PUT", "empty-" APPID, "/", NULL), 200, NULL);
    call c = { "DELETE", "empty-" APPID, "/?domaincertificate&domainname=x", "/", &OWNER,
               (cos_kv[]){ { "domaincertificate", "" }, { "domainname", "x" } }, 2, NULL, 0, NULL, NULL, 0, NULL };
    EXPECT(do_call(&c), 501, "NotImplemented");
    EXPECT(simple(&OWNER, "HEAD", "empty-" APPID, "/", NULL), 200, NULL); /* still there */
    /* legal holds are not kept, so never acknowledged (symlinks, object lock and retention are: test_symlink_lock) */
    EXPECT(sub(&OWNER, "PUT", SHARED, "/held", "legal-hold", "<LegalHold><Status>ON</Status></LegalHold>"), 501,
           "NotImplemented");
    CHECK(!exists(SHARED, "/held"));
    /* SELECT (select_http.c) only reads: without select-type=2 it is refused, and writes nothing */
    EXPECT(sub(&OWNER, "POST", SHARED, "/query", "select", "<SelectRequest/>"), 400, "InvalidArgument");
    CHECK(!exists(SHARED, "/query"));
    EXPECT(sub(&OWNER, "PUT", SHARED, "/ch", "live", "<LiveChannelConfiguration/>"), 501, "NotImplemented");
    CHECK(!exists(SHARED, "/ch"));
    EXPECT(sub(&OWNER, "GET", SHARED, "/", "intelligent-tiering", NULL), 501, "NotImplemented");
}

/* ---------------------------------------------------------------- S3's dialect (#19) */

/* A header's value in a reply's header block (malloc'd), or NULL. */
static char *head_value(const reply *r, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = r->head ? r->head : ""; (p = strchr(p, '\n')) != NULL;) {
        p++;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ') v++;
            return strndup(v, strcspn(v, "\r\n"));
        }
    }
    return NULL;
}

/* An anonymous request in S3's dialect (x-amz-* headers, no signature). */
static reply s3_anon(const char *method, const char *bucket, const char *target, const cos_kv *h, size_t nh,
                     const char *body)
{
    call c = { method, bucket, target, target, ANON, NULL, 0, h, nh, NULL, body, body ? strlen(body) : 0, NULL };
    return do_call(&c);
}

/* An x-amz-copy-source copies the bytes: before #19 it was ignored, and the
 * "copy" was an empty PUT over the destination. In place with
 * x-amz-metadata-directive REPLACE it keeps the bytes and takes the new
 * x-amz-meta-*, which the answers name as S3 does. */
static void test_s3_copy_keeps_bytes(void)
{
    EXPECT(simple(&OWNER, "PUT", PUBRW, "/keep.txt", "precious bytes"), 200, NULL);
    cos_kv cp[] = { { "x-amz-copy-source", "/" PUBRW "/keep.txt" } };
    reply r = s3_anon("PUT", PUBRW, "/copy.txt", cp, 1, NULL);
    CHECK(r.status == 200 && r.body && strstr(r.body, "<CopyObjectResult"));
    reply_free(&r);
    char *body = owner_get(PUBRW, "/copy.txt");
    CHECK_STR(body ? body : "(none)", "precious bytes");
    free(body);
    cos_kv in_place[] = { { "x-amz-copy-source", "/" PUBRW "/keep.txt" }, { "x-amz-metadata-directive", "REPLACE" },
                          { "x-amz-meta-colour", "blue" }, { "Content-Type", "text/x-kept" } };
    r = s3_anon("PUT", PUBRW, "/keep.txt", in_place, 4, NULL);
    CHECK_INT(r.status, 200);
    reply_free(&r);
    body = owner_get(PUBRW, "/keep.txt");
    CHECK_STR(body ? body : "(none)", "precious bytes");
    free(body);
    cos_kv amz[] = { { "x-amz-content-sha256", "UNSIGNED-PAYLOAD" } };
    r = s3_anon("HEAD", PUBRW, "/keep.txt", amz, 1, NULL);
    CHECK_INT(r.status, 200);
    char *meta = head_value(&r, "x-amz-meta-colour"), *rid = head_value(&r, "x-amz-request-id");
    char *cosmeta = head_value(&r, "x-cos-meta-colour"), *ct = head_value(&r, "Content-Type");
    CHECK_STR(meta ? meta : "(none)", "blue");
    CHECK(rid != NULL && cosmeta == NULL);
    CHECK_STR(ct ? ct : "(none)", "text/x-kept");
    free(meta);
    free(rid);
    free(cosmeta);
    free(ct);
    reply_free(&r);
    /* the same object read in COS's dialect: COS's names, as before */
    r = simple(&OWNER, "HEAD", PUBRW, "/keep.txt", NULL);
    meta = head_value(&r, "x-cos-meta-colour");
    rid = head_value(&r, "x-amz-request-id");
    CHECK_STR(meta ? meta : "(none)", "blue");
    CHECK(rid == NULL);
    free(meta);
    free(rid);
    reply_free(&r);
}

/* What makes an anonymous request S3's dialect when it carries no other x-amz-* header. */
static const cos_kv S3_MARK[] = { { "x-amz-content-sha256", "UNSIGNED-PAYLOAD" } };

/* Whether any file under dir holds needle (data files, the metadata db and its WAL). */
static bool tree_holds(const char *dir, const char *needle)
{
    DIR *d = opendir(dir);
    bool found = false;
    struct dirent *e;
    while (d && !found && (e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *path = cos_sprintf("%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            found = tree_holds(path, needle);
        } else if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            FILE *f = fopen(path, "rb");
            char *buf = f && st.st_size > 0 ? malloc((size_t)st.st_size) : NULL;
            if (buf && fread(buf, 1, (size_t)st.st_size, f) == (size_t)st.st_size)
                found = memmem(buf, (size_t)st.st_size, needle, strlen(needle)) != NULL;
            free(buf);
            if (f) fclose(f);
        }
        free(path);
    }
    if (d) closedir(d);
    return found;
}

/* S3's SSE-KMS (#19): the body is encrypted at rest under the local key
 * service's key of the id given (before, aws:kms was only recorded and the
 * bytes stayed plain), the id is echoed on PUT, HEAD and copies, a copy can
 * move the object to another key, and a KMS write names its key. */
static void test_s3_sse_kms(void)
{
    const char *plain = "kms-plaintext-7f3a9c";
    cos_kv kms1[] = { { "x-amz-server-side-encryption", "aws:kms" },
                      { "x-amz-server-side-encryption-aws-kms-key-id", "testkey-1" } };
    reply r = s3_anon("PUT", PUBRW, "/kms.txt", kms1, 2, plain);
    CHECK_INT(r.status, 200);
    char *id = head_value(&r, "x-amz-server-side-encryption-aws-kms-key-id");
    CHECK_STR(id ? id : "(none)", "testkey-1");
    free(id);
    reply_free(&r);
    CHECK(!tree_holds(g_srv.root, plain));
    r = s3_anon("GET", PUBRW, "/kms.txt", S3_MARK, 1, NULL);
    CHECK(r.status == 200 && r.body && strstr(r.body, plain));
    id = head_value(&r, "x-amz-server-side-encryption-aws-kms-key-id");
    CHECK_STR(id ? id : "(none)", "testkey-1");
    free(id);
    reply_free(&r);
    /* a copy re-encrypts under another key */
    cos_kv cp[] = { { "x-amz-copy-source", "/" PUBRW "/kms.txt" }, { "x-amz-server-side-encryption", "aws:kms" },
                    { "x-amz-server-side-encryption-aws-kms-key-id", "testkey-2" } };
    r = s3_anon("PUT", PUBRW, "/kms2.txt", cp, 3, NULL);
    CHECK_INT(r.status, 200);
    id = head_value(&r, "x-amz-server-side-encryption-aws-kms-key-id");
    CHECK_STR(id ? id : "(none)", "testkey-2");
    free(id);
    reply_free(&r);
    r = s3_anon("GET", PUBRW, "/kms2.txt", S3_MARK, 1, NULL);
    CHECK(r.status == 200 && r.body && strstr(r.body, plain));
    reply_free(&r);
    CHECK(!tree_holds(g_srv.root, plain));
    /* aws:kms without a key id, or a key id without aws:kms: 400 */
    r = s3_anon("PUT", PUBRW, "/kms3.txt", kms1, 1, "x");
    CHECK_INT(r.status, 400);
    reply_free(&r);
    r = s3_anon("PUT", PUBRW, "/kms3.txt", kms1 + 1, 1, "x");
    CHECK_INT(r.status, 400);
    reply_free(&r);
    /* a read that names an encryption: 400 */
    r = s3_anon("GET", PUBRW, "/kms.txt", kms1, 2, NULL);
    CHECK_INT(r.status, 400);
    reply_free(&r);
    /* SSE-C in S3: a HEAD needs the key too, and a wrong key is 400 */
    cos_kv ssec[] = { { "x-amz-server-side-encryption-customer-algorithm", "AES256" },
                      { "x-amz-server-side-encryption-customer-key", "pO3upElrwuEXSoFwCfnZPdSsmt/xWeFa0N9KgDijwVs=" },
                      { "x-amz-server-side-encryption-customer-key-MD5", "DWygnHRtgiJ77HCm+1rvHw==" } };
    cos_kv other[] = { { "x-amz-server-side-encryption-customer-algorithm", "AES256" },
                       { "x-amz-server-side-encryption-customer-key", "6b+WOZ1T3cqZMxgThRcXAQBrS5mXKdDUphvpxptl9/4=" },
                       { "x-amz-server-side-encryption-customer-key-MD5", "arxBvwY2V4SiOne6yppVPQ==" } };
    EXPECT(s3_anon("PUT", PUBRW, "/ssec.txt", ssec, 3, "customer"), 200, NULL);
    r = s3_anon("HEAD", PUBRW, "/ssec.txt", S3_MARK, 1, NULL);
    CHECK_INT(r.status, 400);
    reply_free(&r);
    r = s3_anon("GET", PUBRW, "/ssec.txt", other, 3, NULL);
    CHECK_INT(r.status, 400);
    reply_free(&r);
    r = s3_anon("GET", PUBRW, "/ssec.txt", ssec, 3, NULL);
    CHECK(r.status == 200 && r.body && strstr(r.body, "customer"));
    reply_free(&r);
}

/* S3's answers around versions and metadata (#19): a GET/HEAD of a deleted
 * key says whether a delete marker hides it, a write to a suspended bucket
 * names no version, and an empty x-amz-meta-* value comes back. */
static void test_s3_delete_marker_and_meta(void)
{
    const char *b = "s3ver-" APPID;
    cos_kv pub[] = { { "x-cos-acl", "public-read-write" } };
    call mk = { "PUT", b, "/", "/", &OWNER, NULL, 0, pub, 1, NULL, NULL, 0, NULL };
    reply r = do_call(&mk);
    CHECK_INT(r.status, 200);
    reply_free(&r);
    EXPECT(s3_anon("PUT", b, "/gone.txt", S3_MARK, 1, "x"), 200, NULL);
    EXPECT(s3_anon("DELETE", b, "/gone.txt", S3_MARK, 1, NULL), 204, NULL);
    r = s3_anon("HEAD", b, "/gone.txt", S3_MARK, 1, NULL);
    CHECK_INT(r.status, 404);
    char *dm = head_value(&r, "x-amz-delete-marker");
    CHECK_STR(dm ? dm : "(none)", "false");
    free(dm);
    reply_free(&r);
    const char *enabled = "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>";
    EXPECT(sub(&OWNER, "PUT", b, "/", "versioning", enabled), 200, NULL);
    EXPECT(s3_anon("PUT", b, "/v.txt", S3_MARK, 1, "x"), 200, NULL);
    EXPECT(s3_anon("DELETE", b, "/v.txt", S3_MARK, 1, NULL), 204, NULL);
    r = s3_anon("HEAD", b, "/v.txt", S3_MARK, 1, NULL);
    CHECK_INT(r.status, 404);
    dm = head_value(&r, "x-amz-delete-marker");
    CHECK_STR(dm ? dm : "(none)", "true");
    free(dm);
    reply_free(&r);
    const char *suspended = "<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>";
    EXPECT(sub(&OWNER, "PUT", b, "/", "versioning", suspended), 200, NULL);
    cos_kv empty[] = { { "x-amz-meta-empty", "" } };
    r = s3_anon("PUT", b, "/s.txt", empty, 1, "x");
    CHECK_INT(r.status, 200);
    char *vid = head_value(&r, "x-amz-version-id");
    CHECK(vid == NULL);
    free(vid);
    reply_free(&r);
    r = s3_anon("HEAD", b, "/s.txt", S3_MARK, 1, NULL);
    CHECK_INT(r.status, 200);
    char *meta = head_value(&r, "x-amz-meta-empty");
    CHECK(meta != NULL);
    free(meta);
    reply_free(&r);
}

/* No value reaches a handler without the signature the request was checked
 * by: a mix of x-cos-* and x-amz-* is refused, a COS signature must cover the
 * x-amz-* headers it carries, an AWS signature that does not verify (or a
 * presigned query) is refused, and an x-amz-* promise cos-server does not
 * keep (object lock) is NotImplemented. Nothing changes in each case. */
static void test_s3_dialect_smuggles_nothing(void)
{
    EXPECT(simple(&OWNER, "PUT", PUBRW, "/victim.txt", "victim bytes"), 200, NULL);
    EXPECT(simple(&OWNER, "PUT", PRIV, "/victim.txt", "private victim"), 200, NULL);
    cos_kv mix[] = { { "x-amz-copy-source", "/" PUBRW "/keep.txt" }, { "x-cos-copy-source", "/" PRIV "/secret.txt" } };
    EXPECT(s3_anon("PUT", PUBRW, "/victim.txt", mix, 2, NULL), 400, "InvalidArgument");
    cos_kv mix2[] = { { "x-amz-meta-a", "1" }, { "x-cos-acl", "public-read" } };
    EXPECT(s3_anon("PUT", PUBRW, "/victim.txt", mix2, 2, "x"), 400, "InvalidArgument");
    /* the owner signed a plain PUT; an x-amz-copy-source rides along unsigned */
    call c = { "PUT", PRIV, "/victim.txt", "/victim.txt", &OWNER, NULL, 0, NULL, 0,
               "x-amz-copy-source: /" PRIV "/secret.txt\r\n", NULL, 0, NULL };
    EXPECT(do_call(&c), 403, "AccessDenied");
    /* signed, it is a real copy */
    cos_kv signed_cp[] = { { "x-amz-copy-source", "/" PRIV "/secret.txt" } };
    call ok = { "PUT", PRIV, "/copied.txt", "/copied.txt", &OWNER, NULL, 0, signed_cp, 1, NULL, NULL, 0, NULL, true };
    EXPECT(do_call(&ok), 200, NULL);
    char *body = owner_get(PRIV, "/copied.txt");
    CHECK_STR(body ? body : "(none)", "top secret");
    free(body);
    call v4 = { "PUT", PRIV, "/victim.txt", "/victim.txt", ANON, NULL, 0, NULL, 0,
                "Authorization: AWS4-HMAC-SHA256 Credential=AKID/20261127/us-east-1/s3/aws4_request, "
                "SignedHeaders=host, Signature=00\r\nx-amz-copy-source: /" PRIV "/secret.txt\r\n", NULL, 0, NULL };
    reply r = do_call(&v4);
    CHECK_INT(r.status, 403);
    reply_free(&r);
    call pre = { "PUT", PRIV, "/victim.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00", "/victim.txt", ANON,
                 NULL, 0, NULL, 0, NULL, "overwritten", 11, NULL };
    r = do_call(&pre);
    CHECK(r.status == 400 || r.status == 403); /* an incomplete presigned query: S3's 400, or 403 */
    reply_free(&r);
    cos_kv lock[] = { { "x-amz-object-lock-mode", "COMPLIANCE" }, { "x-amz-object-lock-retain-until-date", "2030-01-01T00:00:00Z" } };
    EXPECT(s3_anon("PUT", PUBRW, "/victim.txt", lock, 2, "locked?"), 501, "NotImplemented");
    /* conditions and expectations are kept, not ignored */
    cos_kv inm[] = { { "x-amz-content-sha256", "UNSIGNED-PAYLOAD" }, { "If-None-Match", "*" } };
    EXPECT(s3_anon("PUT", PUBRW, "/victim.txt", inm, 2, "overwritten"), 412, "PreconditionFailed");
    cos_kv im[] = { { "x-amz-content-sha256", "UNSIGNED-PAYLOAD" }, { "If-Match", "\"0123\"" } };
    EXPECT(s3_anon("PUT", PUBRW, "/victim.txt", im, 2, "overwritten"), 412, "PreconditionFailed");
    cos_kv owner[] = { { "x-amz-expected-bucket-owner", "999999" } };
    EXPECT(s3_anon("PUT", PUBRW, "/victim.txt", owner, 1, "overwritten"), 403, "AccessDenied");
    EXPECT(s3_anon("PUT", PUBRW, "/fresh.txt", inm, 2, "fresh"), 200, NULL);
    cos_kv cond[] = { { "x-amz-copy-source", "/" PUBRW "/keep.txt" }, { "x-amz-copy-source-if-match", "\"0123\"" } };
    EXPECT(s3_anon("PUT", PUBRW, "/victim.txt", cond, 2, NULL), 412, "PreconditionFailed");
    cos_kv cond2[] = { { "x-amz-copy-source", "/" PUBRW "/keep.txt" }, { "x-amz-copy-source-if-none-match", "*" } };
    EXPECT(s3_anon("PUT", PUBRW, "/victim.txt", cond2, 2, NULL), 412, "PreconditionFailed");
    /* a header S3 itself does not act on is ignored, as S3 does */
    cos_kv ua[] = { { "x-amz-user-agent", "test" } };
    EXPECT(s3_anon("PUT", PUBRW, "/other.txt", ua, 1, "other"), 200, NULL);
    body = owner_get(PUBRW, "/victim.txt");
    CHECK_STR(body ? body : "(none)", "victim bytes");
    free(body);
    body = owner_get(PRIV, "/victim.txt");
    CHECK_STR(body ? body : "(none)", "private victim");
    free(body);
}

/* S3's answers: its error shape (HostId, the path as Resource), the empty
 * TagSet of an untagged object, and ListObjectsV2 paged to the end. */
static void test_s3_answers(void)
{
    cos_kv amz[] = { { "x-amz-content-sha256", "UNSIGNED-PAYLOAD" } };
    reply r = s3_anon("GET", PUBRW, "/no-such-key", amz, 1, NULL);
    CHECK_INT(r.status, 404);
    CHECK(r.body && strstr(r.body, "<Code>NoSuchKey</Code>") && strstr(r.body, "<HostId>") &&
          strstr(r.body, "<Resource>/no-such-key</Resource>") && !strstr(r.body, "<TraceId>"));
    reply_free(&r);
    r = sub(&OWNER, "GET", PUBRW, "/keep.txt", "tagging", NULL);
    CHECK(r.status == 200 && r.body && strstr(r.body, "<TagSet></TagSet>"));
    reply_free(&r);
    for (int i = 0; i < 7; i++) {
        char path[64];
        snprintf(path, sizeof path, "/v2/k%d%s", i, i == 6 ? "/deep" : "");
        EXPECT(simple(&OWNER, "PUT", PUBRW, path, "x"), 200, NULL);
    }
    /* pages of 2 until the end: every key once, in order */
    cos_buf seen = COS_BUF_INIT;
    char *token = NULL;
    int pages = 0;
    for (; pages < 10; pages++) {
        char target[512];
        snprintf(target, sizeof target, "/?list-type=2&prefix=v2/&max-keys=2%s%s", token ? "&continuation-token=" : "",
                 token ? token : "");
        r = s3_anon("GET", PUBRW, target, amz, 1, NULL);
        CHECK_INT(r.status, 200);
        for (const char *k = r.body; k && (k = strstr(k, "<Key>")) != NULL; k += 5)
            cos_buf_printf(&seen, "%.*s,", (int)strcspn(k + 5, "<"), k + 5);
        CHECK(r.body && strstr(r.body, "<KeyCount>") && !strstr(r.body, "<Owner>"));
        free(token);
        token = NULL;
        const char *n = r.body ? strstr(r.body, "<NextContinuationToken>") : NULL;
        if (n) {
            n += strlen("<NextContinuationToken>");
            cos_buf t = COS_BUF_INIT;
            for (const char *p = n; *p && *p != '<'; p++)
                if (*p == '+' || *p == '/' || *p == '=') cos_buf_printf(&t, "%%%02X", *p);
                else cos_buf_putc(&t, *p);
            token = cos_buf_detach(&t);
        }
        reply_free(&r);
        if (!token) break;
    }
    CHECK_INT(pages, 3);
    CHECK_STR(seen.data ? seen.data : "", "v2/k0,v2/k1,v2/k2,v2/k3,v2/k4,v2/k5,v2/k6/deep,");
    cos_buf_free(&seen);
    r = s3_anon("GET", PUBRW, "/?list-type=2&prefix=v2/&start-after=v2/k4&delimiter=/&fetch-owner=true", amz, 1, NULL);
    CHECK(r.status == 200 && r.body && strstr(r.body, "<KeyCount>2</KeyCount>") &&
          strstr(r.body, "<Key>v2/k5</Key><LastModified>") && strstr(r.body, "<Prefix>v2/k6/</Prefix>") &&
          strstr(r.body, "<Owner><ID>") && strstr(r.body, "<StartAfter>v2/k4</StartAfter>"));
    reply_free(&r);
    r = s3_anon("GET", PUBRW, "/?list-type=2&prefix=v2/k6/&encoding-type=url", amz, 1, NULL);
    CHECK(r.status == 200 && r.body && strstr(r.body, "<Key>v2%2Fk6%2Fdeep</Key>") == NULL &&
          strstr(r.body, "<Key>v2/k6/deep</Key>") && strstr(r.body, "<EncodingType>url</EncodingType>"));
    reply_free(&r);
    EXPECT(s3_anon("GET", PUBRW, "/?list-type=2&continuation-token=%21%21", amz, 1, NULL), 400, "InvalidArgument");
}

/* S3 bucket names (no -APPID) in S3's dialect, with the region of
 * CreateBucketConfiguration and GetBucketLocation; COS's dialect still
 * wants -APPID. S3 virtual hosts under --s3-domain, path style beside them. */
static void test_s3_buckets_and_hosts(void)
{
    char host[128];
    snprintf(host, sizeof host, "127.0.0.1:%d", g_srv.port);
    cos_kv acl[] = { { "x-amz-acl", "public-read" } };
    const char *cfg = "<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>";
    call mb = { "PUT", NULL, "/plain-s3-name", "/plain-s3-name", &OWNER, NULL, 0, acl, 1, NULL, cfg, strlen(cfg), host, true };
    EXPECT(do_call(&mb), 200, NULL);
    call cosmb = { "PUT", NULL, "/plain-cos-name", "/plain-cos-name", &OWNER, NULL, 0, NULL, 0, NULL, NULL, 0, host };
    EXPECT(do_call(&cosmb), 400, "InvalidBucketName");
    cos_kv shortname[] = { { "x-amz-acl", "private" } };
    call tiny = { "PUT", NULL, "/ab", "/ab", &OWNER, NULL, 0, shortname, 1, NULL, NULL, 0, host, true };
    EXPECT(do_call(&tiny), 400, "InvalidBucketName");
    call loc = { "GET", NULL, "/plain-s3-name?location", "/plain-s3-name", &OWNER, (cos_kv[]){ { "location", "" } }, 1,
                 NULL, 0, NULL, NULL, 0, host };
    reply r = do_call(&loc);
    CHECK(r.status == 200 && r.body && strstr(r.body, ">eu-west-1</LocationConstraint>"));
    reply_free(&r);
    call put = { "PUT", NULL, "/plain-s3-name/hello.txt", "/plain-s3-name/hello.txt", &OWNER, NULL, 0, NULL, 0, NULL,
                 "hello", 5, host };
    EXPECT(do_call(&put), 200, NULL);
    static const char *const HOSTS[][2] = { { "plain-s3-name.s3.example.test", "/hello.txt" },
                                            { "plain-s3-name.example.test", "/hello.txt" },
                                            { "s3.example.test", "/plain-s3-name/hello.txt" },
                                            { "example.test", "/plain-s3-name/hello.txt" } };
    for (size_t i = 0; i < COS_ARRAY_LEN(HOSTS); i++) {
        call get = { "GET", NULL, HOSTS[i][1], HOSTS[i][1], ANON, NULL, 0, NULL, 0, NULL, NULL, 0, HOSTS[i][0] };
        r = do_call(&get);
        if (r.status != 200 || !r.body || strcmp(r.body, "hello") != 0)
            test_fail(__FILE__, __LINE__, "%s%s: %d %.200s", HOSTS[i][0], HOSTS[i][1], r.status, r.body ? r.body : "");
        reply_free(&r);
    }
    /* another domain that merely ends the same way names no bucket of ours */
    call other = { "GET", NULL, "/hello.txt", "/hello.txt", ANON, NULL, 0, NULL, 0, NULL, NULL, 0, "plain-s3-name.notexample.test" };
    r = do_call(&other);
    CHECK(r.status != 200);
    reply_free(&r);
}

/* ---------------------------------------------------------------- setup */

/* S3's PublicAccessBlock, OwnershipControls and PolicyStatus (#19): before,
 * every one of them was NotImplemented and nothing guarded public access. */
#define PAB(acls, ignore, policy, restrict)                                                                    \
    "<PublicAccessBlockConfiguration><BlockPublicAcls>" acls "</BlockPublicAcls><IgnorePublicAcls>" ignore \
    "</IgnorePublicAcls><BlockPublicPolicy>" policy "</BlockPublicPolicy><RestrictPublicBuckets>" restrict   \
    "</RestrictPublicBuckets></PublicAccessBlockConfiguration>"
/* The x-cos-version-id header of an answer (malloc'd), or NULL. */
static char *version_of(const reply *r)
{
    const char *h = r->head ? strcasestr(r->head, "\r\nx-cos-version-id: ") : NULL;
    if (!h) return NULL;
    h += strlen("\r\nx-cos-version-id: ");
    return strndup(h, strcspn(h, "\r\n"));
}

/* S3's statements name what the request does in S3's words: one version of
 * an object is s3:GetObjectVersion / s3:DeleteObjectVersion (the common
 * "never delete history" Deny), a lifecycle is s3:PutLifecycleConfiguration.
 * Before, those Denies matched nothing: versions were deleted for good and a
 * lifecycle (expiring every object) was put despite them. */
static void test_s3_policy_names_versions_and_configurations(void)
{
#define VB "vers-" APPID
    EXPECT(simple(&OWNER, "PUT", VB, "/", NULL), 200, NULL);
    EXPECT(sub(&OWNER, "PUT", VB, "/", "versioning",
               "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"), 200, NULL);
    reply p1 = simple(&OWNER, "PUT", VB, "/v/x.txt", "first");
    char *v1 = version_of(&p1);
    reply_free(&p1);
    EXPECT(simple(&OWNER, "PUT", VB, "/v/x.txt", "second"), 200, NULL);
    CHECK(v1 != NULL);
    put_policy(VB, "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:*\","
                   "\"Resource\":[\"arn:aws:s3:::" VB "\",\"arn:aws:s3:::" VB "/*\"]},"
                   "{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":[\"s3:DeleteObjectVersion\","
                   "\"s3:GetObjectVersion\",\"s3:PutLifecycleConfiguration\",\"s3:PutBucketPolicy\","
                   "\"s3:DeleteBucketPolicy\"],\"Resource\":[\"arn:aws:s3:::" VB "\",\"arn:aws:s3:::" VB "/*\"]}]}");
    if (v1) {
        char *t = cos_sprintf("/v/x.txt?versionId=%s", v1);
        call del = { "DELETE", VB, t, "/v/x.txt", ANON, NULL, 0, NULL, 0, NULL, NULL, 0, NULL };
        EXPECT(do_call(&del), 403, "AccessDenied");
        call get = { "GET", VB, t, "/v/x.txt", ANON, NULL, 0, NULL, 0, NULL, NULL, 0, NULL };
        EXPECT(do_call(&get), 403, "AccessDenied");
        free(t);
        /* nor one by one in a multi-delete */
        char *body = cos_sprintf("<Delete><Object><Key>v/x.txt</Key><VersionId>%s</VersionId></Object></Delete>", v1);
        reply m = sub(ANON, "POST", VB, "/", "delete", body);
        CHECK(m.status == 200 && m.body && strstr(m.body, "<Code>AccessDenied</Code>") && !strstr(m.body, "<Deleted>"));
        reply_free(&m);
        free(body);
        /* the version is still there */
        char *ot = cos_sprintf("/v/x.txt?versionId=%s", v1);
        cos_kv q[] = { { "versionId", v1 } };
        call og = { "GET", VB, ot, "/v/x.txt", &OWNER, q, 1, NULL, 0, NULL, NULL, 0, NULL };
        reply o = do_call(&og);
        CHECK(o.status == 200 && o.body && !strcmp(o.body, "first"));
        reply_free(&o);
        free(ot);
    }
    /* the latest version is s3:GetObject, allowed */
    reply g = simple(ANON, "GET", VB, "/v/x.txt", NULL);
    CHECK(g.status == 200 && g.body && !strcmp(g.body, "second"));
    reply_free(&g);
    EXPECT(sub(ANON, "PUT", VB, "/", "lifecycle",
               "<LifecycleConfiguration><Rule><ID>r</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status>"
               "<Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>"), 403, "AccessDenied");
    reply l = sub(&OWNER, "GET", VB, "/", "lifecycle", NULL);
    CHECK(l.status == 404);
    reply_free(&l);
    EXPECT(sub(&OWNER, "DELETE", VB, "/", "policy", NULL), 204, NULL);
    free(v1);
#undef VB
}

/* One version of an object is read under that version's ACL: a private
 * object replaced by a public one (a redacted copy, say) stays private as
 * an old version. Before, the current version's ACL decided, and "null"
 * (the version of what was there before versioning) needs no guessing. */
static void test_old_versions_keep_their_acl(void)
{
#define VP "vpub-" APPID
    call mk = { "PUT", VP, "/", "/", &OWNER, NULL, 0, (cos_kv[]){ { "x-cos-acl", "public-read" } }, 1, NULL, NULL, 0, NULL };
    EXPECT(do_call(&mk), 200, NULL);
    call secret = { "PUT", VP, "/doc.txt", "/doc.txt", &OWNER, NULL, 0, (cos_kv[]){ { "x-cos-acl", "private" } }, 1, NULL,
                    "unredacted", 10, NULL };
    EXPECT(do_call(&secret), 200, NULL);
    EXPECT(simple(ANON, "GET", VP, "/doc.txt", NULL), 403, "AccessDenied");
    EXPECT(sub(&OWNER, "PUT", VP, "/", "versioning",
               "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"), 200, NULL);
    EXPECT(simple(&OWNER, "PUT", VP, "/doc.txt", "redacted"), 200, NULL);
    reply g = simple(ANON, "GET", VP, "/doc.txt", NULL);
    CHECK(g.status == 200 && g.body && !strcmp(g.body, "redacted"));
    reply_free(&g);
    call old = { "GET", VP, "/doc.txt?versionId=null", "/doc.txt", ANON, NULL, 0, NULL, 0, NULL, NULL, 0, NULL };
    EXPECT(do_call(&old), 403, "AccessDenied");
    call old_acl = { "GET", VP, "/doc.txt?versionId=null&acl", "/doc.txt", ANON, NULL, 0, NULL, 0, NULL, NULL, 0, NULL };
    EXPECT(do_call(&old_acl), 403, "AccessDenied");
    /* nor copied out by someone who may read the current version */
    EXPECT(copy_as(&OTHER, THEIRS, "/old.txt", "/" VP "/doc.txt?versionId=null"), 403, "AccessDenied");
    /* the owner still reads it */
    cos_kv q[] = { { "versionId", "null" } };
    call own = { "GET", VP, "/doc.txt?versionId=null", "/doc.txt", &OWNER, q, 1, NULL, 0, NULL, NULL, 0, NULL };
    reply o = do_call(&own);
    CHECK(o.status == 200 && o.body && !strcmp(o.body, "unredacted"));
    reply_free(&o);
#undef VP
}

/* A public-read-write bucket with versioning: anyone may overwrite or hide
 * (a delete marker), nobody but the owner deletes a version for good, as in
 * S3 (only the bucket owner's WRITE deletes versions). Before, an anonymous
 * DELETE ?versionId= (or a multi-delete naming versions) erased history. */
static void test_public_writers_cannot_erase_history(void)
{
#define VW "vrw-" APPID
    call mk = { "PUT", VW, "/", "/", &OWNER, NULL, 0, (cos_kv[]){ { "x-cos-acl", "public-read-write" } }, 1, NULL, NULL, 0, NULL };
    EXPECT(do_call(&mk), 200, NULL);
    EXPECT(sub(&OWNER, "PUT", VW, "/", "versioning",
               "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"), 200, NULL);
    reply p1 = simple(&OWNER, "PUT", VW, "/doc.txt", "original");
    char *v1 = version_of(&p1);
    reply_free(&p1);
    CHECK(v1 != NULL);
    EXPECT(simple(ANON, "PUT", VW, "/doc.txt", "defaced"), 200, NULL);
    if (v1) {
        char *t = cos_sprintf("/doc.txt?versionId=%s", v1);
        call del = { "DELETE", VW, t, "/doc.txt", ANON, NULL, 0, NULL, 0, NULL, NULL, 0, NULL };
        EXPECT(do_call(&del), 403, "AccessDenied");
        free(t);
        char *body = cos_sprintf("<Delete><Object><Key>doc.txt</Key><VersionId>%s</VersionId></Object></Delete>", v1);
        reply m = sub(ANON, "POST", VW, "/", "delete", body);
        CHECK(m.status == 200 && m.body && strstr(m.body, "<Code>AccessDenied</Code>") && !strstr(m.body, "<Deleted>"));
        reply_free(&m);
        free(body);
    }
    /* hiding it is a write like any other */
    EXPECT(simple(ANON, "DELETE", VW, "/doc.txt", NULL), 204, NULL);
    if (v1) {
        char *ot = cos_sprintf("/doc.txt?versionId=%s", v1);
        cos_kv q[] = { { "versionId", v1 } };
        call og = { "GET", VW, ot, "/doc.txt", &OWNER, q, 1, NULL, 0, NULL, NULL, 0, NULL };
        reply o = do_call(&og);
        CHECK(o.status == 200 && o.body && !strcmp(o.body, "original"));
        reply_free(&o);
        free(ot);
    }
    free(v1);
#undef VW
}

static void test_public_access_block(void)
{
    EXPECT(sub(&OWNER, "GET", PUBR, "/", "publicAccessBlock", NULL), 404, "NoSuchPublicAccessBlockConfiguration");
    /* configuration is the owner's: not anonymous callers', not a key scoped to objects */
    EXPECT(sub(ANON, "PUT", PUBRW, "/", "publicAccessBlock", PAB("false", "false", "false", "false")), 403, "AccessDenied");
    EXPECT(sub(&g_ukey, "PUT", SHARED, "/", "publicAccessBlock", PAB("false", "false", "false", "false")), 403,
           "AccessDenied");
    EXPECT(sub(ANON, "GET", PUBR, "/", "policyStatus", NULL), 403, "AccessDenied");
    EXPECT(sub(&OWNER, "PUT", PUBR, "/", "publicAccessBlock", PAB("maybe", "false", "false", "false")), 400, "MalformedXML");
    reply st = sub(&OWNER, "GET", PUBR, "/", "policyStatus", NULL);
    CHECK_INT(st.status, 200);
    CHECK(st.body && strstr(st.body, "<IsPublic>true</IsPublic>"));
    reply_free(&st);
    /* IgnorePublicAcls: the public-read ACL stops admitting anonymous readers */
    EXPECT(simple(ANON, "GET", PUBR, "/a.txt", NULL), 200, NULL);
    EXPECT(sub(&OWNER, "PUT", PUBR, "/", "publicAccessBlock", PAB("true", "true", "true", "false")), 200, NULL);
    reply g = sub(&OWNER, "GET", PUBR, "/", "publicAccessBlock", NULL);
    CHECK(g.status == 200 && g.body && strstr(g.body, "<IgnorePublicAcls>true</IgnorePublicAcls>") &&
          strstr(g.body, "<RestrictPublicBuckets>false</RestrictPublicBuckets>"));
    reply_free(&g);
    EXPECT(simple(ANON, "GET", PUBR, "/a.txt", NULL), 403, "AccessDenied");
    /* BlockPublicAcls: a public canned ACL is refused, on the bucket and on an object */
    call acl = { "PUT", PUBR, "/?acl", "/", &OWNER, (cos_kv[]){ { "acl", "" } }, 1,
                 (cos_kv[]){ { "x-cos-acl", "public-read-write" } }, 1, NULL, NULL, 0, NULL };
    EXPECT(do_call(&acl), 403, "AccessDenied");
    call obj = { "PUT", PUBR, "/b.txt", "/b.txt", &OWNER, NULL, 0, (cos_kv[]){ { "x-cos-acl", "public-read" } }, 1,
                 NULL, "b", 1, NULL };
    EXPECT(do_call(&obj), 403, "AccessDenied");
    CHECK(!exists(PUBR, "/b.txt"));
    /* BlockPublicPolicy: a policy that opens the bucket to everyone is refused */
    EXPECT(sub(&OWNER, "PUT", PUBR, "/", "policy",
               "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"*\"},\"Action\":\"s3:PutObject\","
               "\"Resource\":\"arn:aws:s3:::" PUBR "/*\"}]}"),
           403, "AccessDenied");
    EXPECT(sub(&OWNER, "DELETE", PUBR, "/", "publicAccessBlock", NULL), 204, NULL);
    EXPECT(simple(ANON, "GET", PUBR, "/a.txt", NULL), 200, NULL);
    /* ... and in a browser form's acl field */
    EXPECT(sub(&OWNER, "PUT", PUBRW, "/", "publicAccessBlock", PAB("true", "false", "false", "false")), 200, NULL);
    EXPECT(post_form(PUBRW, "pab-form.txt", "acl", "public-read"), 403, "AccessDenied");
    CHECK(!exists(PUBRW, "/pab-form.txt"));
    EXPECT(sub(&OWNER, "DELETE", PUBRW, "/", "publicAccessBlock", NULL), 204, NULL);
    /* RestrictPublicBuckets: a public policy admits no anonymous caller */
    put_policy(PRIV, "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\","
                     "\"Resource\":\"arn:aws:s3:::" PRIV "/open/*\"}]}");
    EXPECT(simple(&OWNER, "PUT", PRIV, "/open/r.txt", "r"), 200, NULL);
    EXPECT(simple(ANON, "GET", PRIV, "/open/r.txt", NULL), 200, NULL);
    EXPECT(sub(&OWNER, "PUT", PRIV, "/", "publicAccessBlock", PAB("false", "false", "false", "true")), 200, NULL);
    EXPECT(simple(ANON, "GET", PRIV, "/open/r.txt", NULL), 403, "AccessDenied");
    EXPECT(sub(&OWNER, "DELETE", PRIV, "/", "publicAccessBlock", NULL), 204, NULL);
    EXPECT(sub(&OWNER, "DELETE", PRIV, "/", "policy", NULL), 204, NULL);
    /* OwnershipControls: BucketOwnerEnforced turns ACLs off */
    EXPECT(sub(&OWNER, "GET", SHARED, "/", "ownershipControls", NULL), 404, "OwnershipControlsNotFoundError");
    EXPECT(sub(&OWNER, "PUT", PUBR, "/", "ownershipControls",
               "<OwnershipControls><Rule><ObjectOwnership>BucketOwnerEnforced</ObjectOwnership></Rule></OwnershipControls>"),
           400, "InvalidBucketAclWithObjectOwnership");
    EXPECT(sub(&OWNER, "PUT", SHARED, "/", "ownershipControls",
               "<OwnershipControls><Rule><ObjectOwnership>Anyone</ObjectOwnership></Rule></OwnershipControls>"),
           400, "MalformedXML");
    EXPECT(sub(&OWNER, "PUT", SHARED, "/", "ownershipControls",
               "<OwnershipControls><Rule><ObjectOwnership>BucketOwnerEnforced</ObjectOwnership></Rule></OwnershipControls>"),
           200, NULL);
    call oacl = { "PUT", SHARED, "/?acl", "/", &OWNER, (cos_kv[]){ { "acl", "" } }, 1,
                  (cos_kv[]){ { "x-cos-acl", "public-read" } }, 1, NULL, NULL, 0, NULL };
    EXPECT(do_call(&oacl), 400, "AccessControlListNotSupported");
    EXPECT(sub(&OWNER, "DELETE", SHARED, "/", "ownershipControls", NULL), 204, NULL);
    EXPECT(sub(&OWNER, "GET", SHARED, "/", "ownershipControls", NULL), 404, "OwnershipControlsNotFoundError");
    /* asked for at creation: kept, or the bucket is not created */
    call bad = { "PUT", "owned-" APPID, "/", "/", &OWNER, NULL, 0, (cos_kv[]){ { "x-cos-object-ownership", "Nobody" } }, 1,
                 NULL, NULL, 0, NULL };
    EXPECT(do_call(&bad), 400, "InvalidArgument");
    EXPECT(simple(&OWNER, "HEAD", "owned-" APPID, "/", NULL), 404, NULL);
    call good = { "PUT", "owned-" APPID, "/", "/", &OWNER, NULL, 0,
                  (cos_kv[]){ { "x-cos-object-ownership", "BucketOwnerEnforced" } }, 1, NULL, NULL, 0, NULL };
    EXPECT(do_call(&good), 200, NULL);
    reply oc = sub(&OWNER, "GET", "owned-" APPID, "/", "ownershipControls", NULL);
    CHECK(oc.status == 200 && oc.body && strstr(oc.body, "<ObjectOwnership>BucketOwnerEnforced</ObjectOwnership>"));
    reply_free(&oc);
}

/* S3's policy language: an Allow with a condition the server cannot
 * evaluate grants nothing; one it can evaluate grants only when it holds. */
static void test_s3_policy_conditions(void)
{
    EXPECT(sub(&OWNER, "PUT", PRIV, "/", "policy", "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":[\"*\"]},\"Action\":\"s3:ListBucket\","
                     "\"Resource\":\"arn:aws:s3:::" PRIV "\",\"Condition\":{\"StringEquals\":{\"s3:prefix\":\"open/\"}}},"
                     "{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::"
                     PRIV "/*\",\"Condition\":{\"ArnLike\":{\"aws:SourceArn\":\"arn:*\"}}}]}"),
           400, "MalformedPolicy");
    /* not put: ArnLike is no operator cos-server evaluates */
    EXPECT(simple(ANON, "GET", PRIV, "/secret.txt", NULL), 403, "AccessDenied");
    put_policy(PRIV, "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":[\"*\"]},\"Action\":\"s3:ListBucket\","
                     "\"Resource\":\"arn:aws:s3:::" PRIV "\",\"Condition\":{\"StringEquals\":{\"s3:prefix\":\"open/\"}}},"
                     "{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::"
                     PRIV "/*\",\"Condition\":{\"StringEquals\":{\"aws:username\":\"x\"}}}]}");
    EXPECT(simple(ANON, "GET", PRIV, "/secret.txt", NULL), 403, "AccessDenied");
    call ok = { "GET", PRIV, "/?prefix=open/", "/", ANON, NULL, 0, NULL, 0, NULL, NULL, 0, NULL };
    EXPECT(do_call(&ok), 200, NULL);
    call no = { "GET", PRIV, "/?prefix=", "/", ANON, NULL, 0, NULL, 0, NULL, NULL, 0, NULL };
    EXPECT(do_call(&no), 403, "AccessDenied");
    /* s3:ExistingObjectTag: the stored object's tags */
    call tagged = { "PUT", PRIV, "/open/tagged.txt", "/open/tagged.txt", &OWNER, NULL, 0,
                    (cos_kv[]){ { "x-cos-tagging", "sec=pub" } }, 1, NULL, "t", 1, NULL };
    EXPECT(do_call(&tagged), 200, NULL);
    put_policy(PRIV, "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":"
                     "\"arn:aws:s3:::" PRIV "/*\",\"Condition\":{\"StringEquals\":{\"s3:ExistingObjectTag/sec\":\"pub\"}}}]}");
    EXPECT(simple(ANON, "GET", PRIV, "/open/tagged.txt", NULL), 200, NULL);
    EXPECT(simple(ANON, "GET", PRIV, "/open/r.txt", NULL), 403, "AccessDenied");
    EXPECT(simple(ANON, "GET", PRIV, "/secret.txt", NULL), 403, "AccessDenied");
    /* aws:SourceIp: the caller's address (loopback here) */
    put_policy(PRIV, "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":"
                     "\"arn:aws:s3:::" PRIV "/open/*\",\"Condition\":{\"IpAddress\":{\"aws:SourceIp\":\"10.0.0.0/8\"}}}]}");
    EXPECT(simple(ANON, "GET", PRIV, "/open/r.txt", NULL), 403, "AccessDenied");
    put_policy(PRIV, "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":"
                     "\"arn:aws:s3:::" PRIV "/open/*\",\"Condition\":{\"IpAddress\":{\"aws:SourceIp\":\"127.0.0.1/32\"}}}]}");
    EXPECT(simple(ANON, "GET", PRIV, "/open/r.txt", NULL), 200, NULL);
    EXPECT(simple(ANON, "GET", PRIV, "/secret.txt", NULL), 403, "AccessDenied");
    EXPECT(sub(&OWNER, "DELETE", PRIV, "/", "policy", NULL), 204, NULL);
}

int main(void)
{
    /* a policy-less temporary key, as servers before this one issued them */
    char *root = test_tmpdir("authz");
    snprintf(g_srv.root, sizeof g_srv.root, "%s", root);
    free(root);
    char path[600];
    snprintf(path, sizeof path, "%s/sts.json", g_srv.root);
    FILE *f = fopen(path, "w");
    if (f) {
        /* and one with a policy for everything but not the account it acts for (any account's
           key could have asked for it): it keeps no rights either */
        fprintf(f, "[{\"id\":\"AKIDnopolicyNOPOLICYnopolicy00000000\",\"key\":\"nopolicysecretNOPOLICYSECRET0000\","
                   "\"token\":\"nopolicytoken\",\"start\":1,\"expired\":%lld},\n"
                   "{\"id\":\"AKIDnoaccountNOACCOUNTnoaccount00000\",\"key\":\"noaccountsecretNOACCOUNTSECRET00\","
                   "\"token\":\"noaccounttoken\",\"start\":1,\"expired\":%lld,\"policy\":\"{\\\"version\\\":\\\"2.0\\\","
                   "\\\"statement\\\":[{\\\"effect\\\":\\\"allow\\\",\\\"action\\\":[\\\"*\\\"],"
                   "\\\"resource\\\":[\\\"*\\\"]}]}\"}]\n",
                (long long)time(NULL) + 3600, (long long)time(NULL) + 3600);
        fclose(f);
    }
    const char *args[] = { "--sts", "--s3-domain", "example.test", "--extra-key",
                           "AKIDotherACCOUNTother0000000000000000:otherACCOUNTsecretKEY000000000000:other", NULL };
    if (test_server_start(&g_srv, args) != 0) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    EXPECT(simple(&OWNER, "PUT", SHARED, "/", NULL), 200, NULL);
    EXPECT(simple(&OWNER, "PUT", PRIV, "/", NULL), 200, NULL);
    call pr = { "PUT", PUBR, "/", "/", &OWNER, NULL, 0, (cos_kv[]){ { "x-cos-acl", "public-read" } }, 1, NULL, NULL, 0, NULL };
    EXPECT(do_call(&pr), 200, NULL);
    call prw = { "PUT", PUBRW, "/", "/", &OWNER, NULL, 0, (cos_kv[]){ { "x-cos-acl", "public-read-write" } }, 1, NULL, NULL, 0, NULL };
    EXPECT(do_call(&prw), 200, NULL);
    EXPECT(simple(&OWNER, "PUT", SHARED, "/hr/salaries.txt", "salaries"), 200, NULL);
    EXPECT(simple(&OWNER, "PUT", SHARED, "/u/mine.txt", "mine"), 200, NULL);
    EXPECT(simple(&OWNER, "PUT", PRIV, "/secret.txt", "top secret"), 200, NULL);
    EXPECT(simple(&OWNER, "PUT", PUBR, "/a.txt", "public"), 200, NULL);
    g_ukey = temp_key(SHARED, "u/*", NULL);
    RUN(test_decision_table);
    RUN(test_s3_sse_kms);
    RUN(test_s3_delete_marker_and_meta);
    RUN(test_sts_is_not_open);
    RUN(test_policyless_key_gets_nothing);
    RUN(test_copy_needs_the_source);
    RUN(test_policy_principals_are_exact);
    RUN(test_policy_change_seen_at_once);
    RUN(test_policy_deny_per_key);
    RUN(test_policy_deny_put_covers_forms);
    RUN(test_writing_an_acl_needs_the_acl_permission);
    RUN(test_referer_protection_is_kept);
    RUN(test_writing_tags_needs_the_tagging_permission);
    RUN(test_signature_covers_the_operation);
    RUN(test_form_keys_are_checked);
    RUN(test_form_fields_cannot_inject_headers);
    RUN(test_scoped_key_can_list_its_prefix);
    RUN(test_host_cannot_rewrite_the_resource);
    RUN(test_service_files_and_log);
    RUN(test_sign_parameter_and_acl_grants);
    RUN(test_unimplemented_subresources_change_nothing);
    RUN(test_second_account_is_a_stranger);
    RUN(test_temporary_keys_stay_within_their_account);
    RUN(test_old_versions_keep_their_acl);
    RUN(test_public_writers_cannot_erase_history);
    RUN(test_s3_copy_keeps_bytes);
    RUN(test_s3_dialect_smuggles_nothing);
    RUN(test_s3_answers);
    RUN(test_s3_buckets_and_hosts);
    RUN(test_public_access_block);
    RUN(test_s3_policy_conditions);
    RUN(test_s3_policy_names_versions_and_configurations);
    RUN(test_connection_flood);
    test_tmpkey_free(&g_ukey);
    test_server_stop(&g_srv, false);
    return test_report();
}

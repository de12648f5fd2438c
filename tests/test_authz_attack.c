/* test_authz_attack.c — cos-server's authorization attacked again, as an
 * outside reviewer would after test_authz.c: other principals (a second
 * account with a grant on one version, temporary keys, anonymous callers),
 * presigned URLs replayed for other operations, buckets, methods and paths
 * (COS's q-sign-* and S3's SigV4 / SigV2), copies and multipart uploads
 * reaching what the caller cannot read, reads and copies racing a rewrite,
 * hostile bucket policies and ACL grants, PublicAccessBlock, POST forms.
 * Each attack stays here as a regression check, whether it held or was
 * fixed (the fixed ones say what they did before). */
#define _GNU_SOURCE
#include "testlib.h"
#include "util.h"
#include "signer.h"
#include "cos/sign.h"
#include "cos/hash.h"
#include "url.h"
#include "s3sig.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

static test_server g_srv;
static int g_port; /* set: requests go to this port instead (test_read_racing_a_rewrite's own server) */
#define APPID TEST_APPID
#define PRIV "atk-priv-" APPID   /* private */
#define PUBR "atk-pubr-" APPID   /* public-read */
#define PUBRW "atk-pubrw-" APPID /* public-read-write */
#define VERS "atk-vers-" APPID   /* private, versioned */
#define OTHERS "atk-other-" APPID /* the second account's */

typedef struct creds { const char *id, *key, *token; } creds;
static const creds OWNER = { TEST_SECRET_ID, TEST_SECRET_KEY, NULL };
static const creds OTHER = { "AKIDatkOTHERaccount00000000000000000", "atkOTHERaccountSECRETkey000000000", NULL };
#define OTHER_ID "atk-other-account"
#define ANON NULL

typedef test_reply reply;
#define reply_free test_reply_free

/* Send raw bytes, read the whole answer (Connection: close). */
static reply raw_http(const void *data, size_t len)
{
    return test_http_exchange(g_port ? g_port : g_srv.port, data, len);
}

static char *host_of(const char *bucket)
{
    return cos_sprintf("%s.cos.ap-guangzhou.myqcloud.com", bucket);
}

/* A COS request: method on bucket at target (raw, as sent), signed by who
 * (ANON: unsigned) for sign_path with the query pairs q and the headers h
 * (both signed; h is also sent), plus raw header lines `extra` the signature
 * does not cover; host overrides the bucket's. */
typedef struct call {
    const char *method, *bucket, *target, *sign_path;
    const creds *who;
    const cos_kv *q;
    size_t nq;
    const cos_kv *h;
    size_t nh;
    const char *extra;
    const char *body;
    size_t blen;
    const char *host;
} call;

static reply do_call(const call *c)
{
    char *host = c->host ? cos_strdup(c->host) : host_of(c->bucket);
    test_cos_call t = { c->method, host, c->target, c->sign_path, c->who ? c->who->id : NULL, c->who ? c->who->key : NULL,
                        c->who ? c->who->token : NULL, c->q, c->nq, c->h, c->nh, NULL, c->extra, c->body, c->blen };
    reply r = test_cos_exchange(g_port ? g_port : g_srv.port, &t);
    free(host);
    return r;
}

static reply simple(const creds *who, const char *method, const char *bucket, const char *path, const char *body)
{
    call c = { method, bucket, path, path, who, NULL, 0, NULL, 0, NULL, body, body ? strlen(body) : 0, NULL };
    return do_call(&c);
}

/* path?name (one sub-resource), signed with it */
static reply sub(const creds *who, const char *method, const char *bucket, const char *path, const char *name,
                 const char *body)
{
    char *target = cos_sprintf("%s?%s", path, name);
    cos_kv q[] = { { name, "" } };
    call c = { method, bucket, target, path, who, q, 1, NULL, 0, NULL, body, body ? strlen(body) : 0, NULL };
    reply r = do_call(&c);
    free(target);
    return r;
}

/* path?name&versionId=vid, both signed; h (nh) more signed headers */
static reply sub_version(const creds *who, const char *method, const char *bucket, const char *path, const char *name,
                         const char *vid, const cos_kv *h, size_t nh, const char *body)
{
    char *target = name ? cos_sprintf("%s?%s&versionId=%s", path, name, vid) : cos_sprintf("%s?versionId=%s", path, vid);
    cos_kv q[] = { { "versionId", vid }, { name ? name : "", "" } };
    call c = { method, bucket, target, path, who, q, name ? 2 : 1, h, nh, NULL, body, body ? strlen(body) : 0, NULL };
    reply r = do_call(&c);
    free(target);
    return r;
}

#define EXPECT(r, status, code) test_expect_reply((r), (status), (code), __FILE__, __LINE__)

/* The body of a GET by the owner (of path, with an optional raw query), or NULL if it is not 200. */
static char *owner_get(const char *bucket, const char *path)
{
    reply r = simple(&OWNER, "GET", bucket, path, NULL);
    char *body = r.status == 200 ? r.body : NULL;
    if (r.status != 200) free(r.body);
    free(r.head);
    return body;
}

static bool exists(const char *bucket, const char *path)
{
    reply r = simple(&OWNER, "HEAD", bucket, path, NULL);
    bool e = r.status == 200;
    reply_free(&r);
    return e;
}

/* PUT by the owner; the version id it answers (malloc'd, "" when none). */
static char *owner_put(const char *bucket, const char *path, const char *body, const cos_kv *h, size_t nh)
{
    call c = { "PUT", bucket, path, path, &OWNER, NULL, 0, h, nh, NULL, body, strlen(body), NULL };
    reply r = do_call(&c);
    if (r.status != 200) test_fail(__FILE__, __LINE__, "PUT %s: %d %.200s", path, r.status, r.body ? r.body : "");
    char *v = test_reply_header(&r, "x-cos-version-id");
    reply_free(&r);
    return v ? v : cos_strdup("");
}

/* A query-string value, percent-encoded. */
static void put_encoded(cos_buf *b, const char *s)
{
    cos_uri_encode(b, s, strlen(s), false); /* RFC 3986's unreserved kept, the rest %XX */
}

/* ---------------------------------------------------------------- temporary keys */

typedef test_tmpkey tmpkey;
#define sts_key(who, policy) test_sts_key(g_srv.port, (who)->id, (who)->key, (who)->token, (policy), __FILE__, __LINE__)

#define RES(bucket, path) "qcs::cos:ap-guangzhou:uid/" APPID ":" bucket "/" path

/* ---------------------------------------------------------------- 1: one version's ACL and tags */

/* An object's ACL and tags are each version's own (?acl&versionId=, ?tagging&versionId= act on that
 * version), so a grant on the current version must not reach an older one through them. Before the
 * fix authz.c checked these operations against the current version while the handler acted on the
 * named one: a second account granted FULL_CONTROL on the current version read and rewrote a private
 * old version's ACL (then read the version itself) and its tags. */
static void test_version_acl_and_tags_are_the_versions_own(void)
{
    static const char grant_other[] = "id=\"" OTHER_ID "\"";
    char *old = owner_put(VERS, "/v.txt", "old secret", NULL, 0);
    CHECK(old && *old);
    call tag = { "PUT", VERS, "/v.txt?tagging", "/v.txt", &OWNER, (cos_kv[]){ { "tagging", "" } }, 1, NULL, 0, NULL,
                 "<Tagging><TagSet><Tag><Key>class</Key><Value>secret</Value></Tag></TagSet></Tagging>", 84, NULL };
    char *vtarget = cos_sprintf("/v.txt?tagging&versionId=%s", old);
    tag.target = vtarget;
    tag.q = (cos_kv[]){ { "tagging", "" }, { "versionId", old } };
    tag.nq = 2;
    tag.blen = strlen(tag.body);
    EXPECT(do_call(&tag), 200, NULL);
    free(vtarget);
    char *cur = owner_put(VERS, "/v.txt", "new, shared", NULL, 0);
    CHECK(cur && *cur && strcmp(cur, old) != 0);
    /* tags on an object of the bucket owner's: nothing grants them to another account */
    EXPECT(sub(&OTHER, "GET", VERS, "/v.txt", "tagging", NULL), 403, "AccessDenied");
    cos_kv share[] = { { "x-cos-grant-full-control", grant_other } };
    EXPECT(sub_version(&OWNER, "PUT", VERS, "/v.txt", "acl", cur, share, 1, NULL), 200, NULL);
    /* what the grant allows: the current version, its ACL */
    EXPECT(simple(&OTHER, "GET", VERS, "/v.txt", NULL), 200, NULL);
    EXPECT(sub(&OTHER, "GET", VERS, "/v.txt", "acl", NULL), 200, NULL);
    /* held before: the old version itself */
    EXPECT(sub_version(&OTHER, "GET", VERS, "/v.txt", NULL, old, NULL, 0, NULL), 403, "AccessDenied");
    /* fixed: its ACL, read and rewritten, and its tags */
    EXPECT(sub_version(&OTHER, "GET", VERS, "/v.txt", "acl", old, NULL, 0, NULL), 403, "AccessDenied");
    cos_kv pub[] = { { "x-cos-acl", "public-read" } };
    EXPECT(sub_version(&OTHER, "PUT", VERS, "/v.txt", "acl", old, pub, 1, NULL), 403, "AccessDenied");
    cos_kv me[] = { { "x-cos-grant-full-control", grant_other } };
    EXPECT(sub_version(&OTHER, "PUT", VERS, "/v.txt", "acl", old, me, 1, NULL), 403, "AccessDenied");
    EXPECT(sub_version(ANON, "GET", VERS, "/v.txt", NULL, old, NULL, 0, NULL), 403, "AccessDenied");
    EXPECT(sub_version(&OTHER, "GET", VERS, "/v.txt", NULL, old, NULL, 0, NULL), 403, "AccessDenied");
    /* tags have no ACL permission: only the owner (or a policy) reaches them, any version */
    EXPECT(sub_version(&OTHER, "GET", VERS, "/v.txt", "tagging", old, NULL, 0, NULL), 403, "AccessDenied");
    EXPECT(sub_version(&OTHER, "DELETE", VERS, "/v.txt", "tagging", old, NULL, 0, NULL), 403, "AccessDenied");
    /* the old version is as it was */
    reply r = sub_version(&OWNER, "GET", VERS, "/v.txt", "acl", old, NULL, 0, NULL);
    CHECK_INT(r.status, 200);
    CHECK(r.body && !strstr(r.body, OTHER_ID) && !strstr(r.body, "AllUsers"));
    reply_free(&r);
    r = sub_version(&OWNER, "GET", VERS, "/v.txt", "tagging", old, NULL, 0, NULL);
    CHECK(r.status == 200 && r.body && strstr(r.body, "<Value>secret</Value>"));
    reply_free(&r);
    /* and a grant on the old version itself does open it (the version's own ACL decides) */
    EXPECT(sub_version(&OWNER, "PUT", VERS, "/v.txt", "acl", old, me, 1, NULL), 200, NULL);
    EXPECT(sub_version(&OTHER, "GET", VERS, "/v.txt", "acl", old, NULL, 0, NULL), 200, NULL);
    EXPECT(sub_version(&OTHER, "GET", VERS, "/v.txt", NULL, old, NULL, 0, NULL), 200, NULL);
    /* a policy that denies S3's ...VersionAcl / ...VersionTagging actions holds them */
    tmpkey k = sts_key(&OWNER, "{\"version\":\"2.0\",\"statement\":[{\"effect\":\"allow\",\"action\":[\"name/cos:*\"],"
                               "\"resource\":[\"" RES(VERS, "*") "\"]}]}");
    EXPECT(sub(&OWNER, "PUT", VERS, "/", "policy",
               "{\"Statement\":[{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":[\"s3:GetObjectVersionTagging\","
               "\"s3:PutObjectVersionAcl\"],\"Resource\":\"arn:aws:s3:::" VERS "/*\"}]}"), 204, NULL);
    creds kc = { k.id, k.key, k.token };
    EXPECT(sub(&kc, "GET", VERS, "/v.txt", "tagging", NULL), 200, NULL);
    EXPECT(sub_version(&kc, "GET", VERS, "/v.txt", "tagging", old, NULL, 0, NULL), 403, "AccessDenied");
    EXPECT(sub_version(&kc, "PUT", VERS, "/v.txt", "acl", old, pub, 1, NULL), 403, "AccessDenied");
    EXPECT(sub(&OWNER, "DELETE", VERS, "/", "policy", NULL), 204, NULL);
    test_tmpkey_free(&k);
    free(old);
    free(cur);
}

/* ---------------------------------------------------------------- 2: presigned URLs replayed */

/* A presigned target (COS's query form) for method on bucket/path, signing host (and the query q). */
static char *presigned(const creds *who, const char *method, const char *bucket, const char *path, const cos_kv *q,
                       size_t nq, bool sign_host)
{
    char *host = host_of(bucket);
    cos_sign_params p = COS_SIGN_PARAMS_INIT;
    p.secret_id = who->id;
    p.secret_key = who->key;
    p.method = method;
    p.pathname = path;
    p.query = q;
    p.query_count = nq;
    p.host = host;
    p.no_sign_host = !sign_host;
    char *auth = NULL;
    cos_sign(&p, &auth, NULL, NULL);
    cos_buf t = COS_BUF_INIT;
    cos_buf_puts(&t, path);
    cos_buf_putc(&t, '?');
    for (size_t i = 0; i < nq; i++) {
        put_encoded(&t, q[i].name);
        cos_buf_putc(&t, '=');
        put_encoded(&t, q[i].value);
        cos_buf_putc(&t, '&');
    }
    cos_buf_puts(&t, auth ? auth : "");
    if (who->token) {
        cos_buf_puts(&t, "&x-cos-security-token=");
        put_encoded(&t, who->token);
    }
    free(auth);
    free(host);
    return cos_buf_detach(&t);
}

static reply anon_target(const char *method, const char *bucket, const char *target, const char *extra, const char *body)
{
    call c = { method, bucket, target, NULL, ANON, NULL, 0, NULL, 0, extra, body, body ? strlen(body) : 0, NULL };
    return do_call(&c);
}

static void test_presigned_urls_replayed(void)
{
    char *get = presigned(&OWNER, "GET", PRIV, "/secret.txt", NULL, 0, true);
    EXPECT(anon_target("GET", PRIV, get, NULL, NULL), 200, NULL);
    /* another bucket of the same owner, the same path: the Host is signed */
    EXPECT(anon_target("GET", PUBRW, get, NULL, NULL), 403, NULL);
    /* path style for the same object: the signed path was /secret.txt */
    char *ps = cos_sprintf("/" PRIV "%s", get);
    call c = { "GET", NULL, ps, NULL, ANON, NULL, 0, NULL, 0, NULL, NULL, 0, "cos.ap-guangzhou.myqcloud.com" };
    reply r = do_call(&c);
    CHECK(r.status == 403 && (!r.body || !strstr(r.body, "top secret")));
    reply_free(&r);
    free(ps);
    /* other methods */
    EXPECT(anon_target("HEAD", PRIV, get, NULL, NULL), 403, NULL);
    EXPECT(anon_target("DELETE", PRIV, get, NULL, NULL), 403, "SignatureDoesNotMatch");
    EXPECT(anon_target("PUT", PRIV, get, NULL, "overwritten"), 403, "SignatureDoesNotMatch");
    /* the same key spelled otherwise: %2F, a dot segment, a doubled slash, case */
    static const char *const OTHER_PATHS[] = { "/secret%2Etxt", "/./secret.txt", "//secret.txt", "/Secret.txt",
                                               "/secret.txt%00", "/secret.txt/" };
    for (size_t i = 0; i < COS_ARRAY_LEN(OTHER_PATHS); i++) {
        char *t = cos_sprintf("%s%s", OTHER_PATHS[i], strchr(get, '?'));
        reply x = anon_target("GET", PRIV, t, NULL, NULL);
        if (x.status == 200 && !strcmp(OTHER_PATHS[i], "/secret%2Etxt")) { /* the same key, decoded: fine */
            reply_free(&x);
        } else {
            if (x.status < 400 || (x.body && strstr(x.body, "top secret")))
                test_fail(__FILE__, __LINE__, "%s: %d %.200s", OTHER_PATHS[i], x.status, x.body ? x.body : "");
            reply_free(&x);
        }
        free(t);
    }
    /* operations added as parameters or headers, signed or not */
    static const char *const ADDED[] = { "&acl", "&tagging", "&uploads", "&restore", "&append&position=0",
                                         "&versionId=null", "&response-content-type=text%2Fhtml", "&policy",
                                         "&q-url-param-list=acl&acl", "&ACL", "&Acl=", "&delete", "&versions",
                                         "&partNumber=1", "&x-cos-traffic-limit=819200" };
    for (size_t i = 0; i < COS_ARRAY_LEN(ADDED); i++) {
        char *t = cos_sprintf("%s%s", get, ADDED[i]);
        reply x = anon_target("GET", PRIV, t, NULL, NULL);
        if (x.status != 403) test_fail(__FILE__, __LINE__, "%s: %d %.200s", ADDED[i], x.status, x.body ? x.body : "");
        reply_free(&x);
        free(t);
    }
    free(get);
    /* a presigned PUT: no ACL, copy, tags, metadata directive or storage class smuggled in */
    char *put = presigned(&OWNER, "PUT", PRIV, "/upload.txt", NULL, 0, true);
    static const char *const HDRS[] = { "x-cos-acl: public-read\r\n",
                                        "x-cos-grant-read: uri=\"http://cam.qcloud.com/groups/global/AllUsers\"\r\n",
                                        "x-cos-copy-source: " PRIV ".cos.ap-guangzhou.myqcloud.com/secret.txt\r\n",
                                        "x-cos-tagging: a=b\r\n", "X-COS-ACL: public-read\r\n",
                                        "x-amz-acl: public-read\r\n", "x-cos-forbid-overwrite: false\r\n" };
    for (size_t i = 0; i < COS_ARRAY_LEN(HDRS); i++) {
        reply x = anon_target("PUT", PRIV, put, HDRS[i], "data");
        if (x.status < 400) test_fail(__FILE__, __LINE__, "%s: %d", HDRS[i], x.status);
        reply_free(&x);
    }
    CHECK(!exists(PRIV, "/upload.txt"));
    EXPECT(anon_target("PUT", PRIV, put, NULL, "data"), 200, NULL);
    /* and a POST ?append at the same path is another operation */
    char *ap = cos_sprintf("%s&append&position=4", put);
    EXPECT(anon_target("POST", PRIV, ap, NULL, "more"), 403, NULL);
    free(ap);
    free(put);
    /* duplicated signed parameters: the list names prefix once, the request sends two */
    cos_kv q[] = { { "prefix", "pub/" } };
    char *list = presigned(&OWNER, "GET", PRIV, "/", q, 1, true);
    EXPECT(anon_target("GET", PRIV, list, NULL, NULL), 200, NULL);
    char *dup = cos_sprintf("%s&prefix=", list);
    EXPECT(anon_target("GET", PRIV, dup, NULL, NULL), 403, NULL);
    free(dup);
    dup = cos_sprintf("/?prefix=&%s", list + 2);
    EXPECT(anon_target("GET", PRIV, dup, NULL, NULL), 403, NULL);
    free(dup);
    free(list);
    /* a signature's own fields twice: the second q-signature, q-ak or q-key-time changes nothing */
    char *g2 = presigned(&OWNER, "GET", PRIV, "/secret.txt", NULL, 0, true);
    char *t2 = cos_sprintf("%s&q-ak=AKIDsomeoneELSE&q-key-time=1;99999999999", g2);
    reply x = anon_target("GET", PRIV, t2, NULL, NULL);
    CHECK(x.status == 200 || x.status == 403); /* either reading; never another key's */
    reply_free(&x);
    free(t2);
    free(g2);
}

/* A temporary key's presigned URL: scoped, and no wider after it expires or with another's token. */
static void test_temporary_key_urls(void)
{
    tmpkey k = sts_key(&OWNER, "{\"version\":\"2.0\",\"statement\":[{\"effect\":\"allow\",\"action\":[\"name/cos:GetObject\"],"
                               "\"resource\":[\"" RES(PRIV, "pub/*") "\"]}]}");
    creds kc = { k.id, k.key, k.token };
    char *ok = presigned(&kc, "GET", PRIV, "/pub/x.txt", NULL, 0, true);
    EXPECT(anon_target("GET", PRIV, ok, NULL, NULL), 200, NULL);
    free(ok);
    /* paths that would leave pub/ after a normalization cos-server never does */
    static const char *const ESCAPES[] = { "/pub/../secret.txt", "/pub/%2e%2e/secret.txt", "/pub%2F..%2Fsecret.txt",
                                           "/pub/./../secret.txt" };
    for (size_t i = 0; i < COS_ARRAY_LEN(ESCAPES); i++) {
        char *dec = cos_uri_decode(ESCAPES[i], strlen(ESCAPES[i]));
        char *u = presigned(&kc, "GET", PRIV, dec, NULL, 0, true);
        char *t = cos_sprintf("%s%s", ESCAPES[i], strchr(u, '?'));
        reply x = anon_target("GET", PRIV, t, NULL, NULL);
        if (x.status < 400 || (x.body && strstr(x.body, "top secret")))
            test_fail(__FILE__, __LINE__, "%s: %d %.200s", ESCAPES[i], x.status, x.body ? x.body : "");
        reply_free(&x);
        free(t);
        free(u);
        free(dec);
    }
    EXPECT(simple(&kc, "GET", PRIV, "/secret.txt", NULL), 403, "AccessDenied");
    /* its token on another key, another token on it */
    tmpkey k2 = sts_key(&OWNER, "{\"version\":\"2.0\",\"statement\":[{\"effect\":\"allow\",\"action\":[\"name/cos:*\"],"
                                "\"resource\":[\"" RES(PUBRW, "*") "\"]}]}");
    creds mixed = { k.id, k.key, k2.token };
    EXPECT(simple(&mixed, "GET", PRIV, "/pub/x.txt", NULL), 403, "InvalidAccessKeyId");
    creds no_token = { k.id, k.key, NULL };
    EXPECT(simple(&no_token, "GET", PRIV, "/pub/x.txt", NULL), 403, "InvalidAccessKeyId");
    /* the second key's scope is its own, whatever the first's signature */
    creds k2c = { k2.id, k2.key, k2.token };
    EXPECT(simple(&k2c, "GET", PRIV, "/pub/x.txt", NULL), 403, "AccessDenied");
    /* an owner's key for everything cannot mint a wider one: /sts takes the permanent key only */
    tmpkey all = sts_key(&OWNER, "{\"version\":\"2.0\",\"statement\":[{\"effect\":\"allow\",\"action\":[\"*\"],"
                                 "\"resource\":[\"*\"]}]}");
    creds allc = { all.id, all.key, all.token };
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", g_srv.port);
    call c = { "GET", NULL, "/sts?policy=%7B%7D", "/sts", &kc, (cos_kv[]){ { "policy", "{}" } }, 1, NULL, 0, NULL, NULL,
               0, host };
    EXPECT(do_call(&c), 403, "AccessDenied");
    c.who = &allc;
    EXPECT(do_call(&c), 403, "AccessDenied");
    test_tmpkey_free(&all);
    test_tmpkey_free(&k2);
    test_tmpkey_free(&k);
}

/* A signed POST /sts whose body the signature does not bind: anyone who saw the request (a log, a
 * proxy) could send it again with a policy of their own within its key time. Fixed: the body's
 * Content-MD5 must be signed (COS), or SigV4's payload hash covers it. */
static void test_sts_body_is_bound_to_the_signature(void)
{
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", g_srv.port);
    static const char narrow[] = "{\"bucket\":\"" PRIV "\",\"allowPrefix\":\"pub/*\",\"allowActions\":[\"name/cos:GetObject\"]}";
    static const char wide[] = "{\"policy\":{\"version\":\"2.0\",\"statement\":[{\"effect\":\"allow\","
                               "\"action\":[\"*\"],\"resource\":[\"*\"]}]}}";
    /* signed without its body: refused, whatever the body */
    call bare = { "POST", NULL, "/sts", "/sts", &OWNER, NULL, 0, NULL, 0, NULL, wide, sizeof wide - 1, host };
    reply r = do_call(&bare);
    CHECK_INT(r.status, 403);
    CHECK(!r.body || !strstr(r.body, "tmpSecretId"));
    reply_free(&r);
    /* signed with the narrow body's Content-MD5, sent with the wide body: refused */
    unsigned char d[16];
    char md5[32];
    cos_md5_digest(narrow, sizeof narrow - 1, d);
    cos_base64_encode(d, 16, md5);
    cos_kv h[] = { { "Content-MD5", md5 } };
    call swapped = { "POST", NULL, "/sts", "/sts", &OWNER, NULL, 0, h, 1, NULL, wide, sizeof wide - 1, host };
    r = do_call(&swapped);
    CHECK_INT(r.status, 400);
    CHECK(!r.body || !strstr(r.body, "tmpSecretId"));
    reply_free(&r);
    /* a Content-MD5 sent but not signed binds nothing */
    char *line = cos_sprintf("Content-MD5: %s\r\n", md5);
    call unsigned_md5 = { "POST", NULL, "/sts", "/sts", &OWNER, NULL, 0, NULL, 0, line, narrow, sizeof narrow - 1, host };
    EXPECT(do_call(&unsigned_md5), 403, "AccessDenied");
    free(line);
    /* as signed: a key for pub/ only */
    call ok = { "POST", NULL, "/sts", "/sts", &OWNER, NULL, 0, h, 1, NULL, narrow, sizeof narrow - 1, host };
    r = do_call(&ok);
    CHECK_INT(r.status, 200);
    creds k = { test_json_str(r.body, "tmpSecretId"), test_json_str(r.body, "tmpSecretKey"), test_json_str(r.body, "sessionToken") };
    reply_free(&r);
    if (k.id && k.key && k.token) {
        EXPECT(simple(&k, "GET", PRIV, "/pub/x.txt", NULL), 200, NULL);
        EXPECT(simple(&k, "GET", PRIV, "/secret.txt", NULL), 403, "AccessDenied");
    }
    free((char *)k.id);
    free((char *)k.key);
    free((char *)k.token);
    /* SigV4 with the body's hash binds it */
    char sha[65];
    cos_sha256_hex(narrow, sizeof narrow - 1, sha);
    cos_kv hs[] = { { "host", host } };
    cos_sigv4_params p = COS_SIGV4_PARAMS_INIT;
    p.access_key = OWNER.id;
    p.secret_key = OWNER.key;
    p.region = "us-east-1";
    p.method = "POST";
    p.encoded_path = "/sts";
    p.headers = hs;
    p.header_count = 1;
    p.payload_hash = sha;
    cos_sigv4_result res;
    if (cos_sigv4_sign(&p, &res, NULL) == 0) {
        const char *const bodies[] = { narrow, wide };
        for (int i = 0; i < 2; i++) {
            char *req = cos_sprintf("POST /sts HTTP/1.1\r\nHost: %s\r\nx-amz-date: %s\r\nx-amz-content-sha256: %s\r\n"
                                    "Authorization: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                                    host, res.amz_date, res.content_sha256, res.authorization, strlen(bodies[i]), bodies[i]);
            reply x = raw_http(req, strlen(req));
            if (i == 0) CHECK_INT(x.status, 200);
            else CHECK(x.status >= 400 && (!x.body || !strstr(x.body, "tmpSecretId")));
            reply_free(&x);
            free(req);
        }
        cos_sigv4_result_free(&res);
    }
}

/* Signatures outside their time, and temporary keys past their expiry (written to ROOT/sts.json
 * before the server started: see main). */
static reply signed_at(const creds *who, int64_t start, int64_t end, const char *path)
{
    char *host = host_of(PRIV);
    cos_sign_params p = COS_SIGN_PARAMS_INIT;
    p.secret_id = who->id;
    p.secret_key = who->key;
    p.method = "GET";
    p.pathname = path;
    p.host = host;
    p.start_time = start;
    p.end_time = end;
    char *auth = NULL;
    cos_sign(&p, &auth, NULL, NULL);
    char *extra = cos_sprintf("Authorization: %s\r\n%s%s%s", auth ? auth : "", who->token ? "x-cos-security-token: " : "",
                              who->token ? who->token : "", who->token ? "\r\n" : "");
    call c = { "GET", PRIV, path, NULL, ANON, NULL, 0, NULL, 0, extra, NULL, 0, host };
    reply r = do_call(&c);
    free(extra);
    free(auth);
    free(host);
    return r;
}

static reply s3_call_get_secret(const creds *who);

static const creds EXPIRED = { "AKIDatkEXPIREDkey0000000000000000000", "atkEXPIREDsecretKEY00000000000000", "atkexpiredtoken" };

static void test_times_and_expired_keys(void)
{
    int64_t now = (int64_t)time(NULL);
    EXPECT(signed_at(&OWNER, now - 60, now + 60, "/secret.txt"), 200, NULL);
    EXPECT(signed_at(&OWNER, now - 120, now - 10, "/secret.txt"), 403, "AccessDenied");
    EXPECT(signed_at(&OWNER, now + 3600, now + 7200, "/secret.txt"), 403, "RequestTimeTooSkewed");
    EXPECT(signed_at(&OWNER, now + 60, now - 60, "/secret.txt"), 403, "AccessDenied");
    /* a key time that outlives the temporary key it signs with: the key's expiry decides */
    EXPECT(signed_at(&EXPIRED, now - 60, now + 86400, "/secret.txt"), 403, NULL);
    EXPECT(s3_call_get_secret(&EXPIRED), 403, NULL);
}

/* ---------------------------------------------------------------- 3: copies */

static void test_copies_reach_nothing_unreadable(void)
{
    /* a public current version over a private old one: a copy naming the old one is refused */
    char *old = owner_put(VERS, "/c.txt", "old private", NULL, 0);
    char *cur = owner_put(VERS, "/c.txt", "current public", (cos_kv[]){ { "x-cos-acl", "public-read" } }, 1);
    EXPECT(simple(&OTHER, "PUT", OTHERS, "/", NULL), 200, NULL);
    static const char *const FORMS[] = { "/" VERS "/c.txt?versionId=%s", VERS ".cos.ap-guangzhou.myqcloud.com/c.txt?versionId=%s",
                                         VERS ".cos.ap-guangzhou.myqcloud.com/c%%2Etxt?versionId=%s",
                                         VERS ".cos.ap-guangzhou.myqcloud.com/c.txt?x=1&versionId=%s" };
    for (size_t i = 0; i < COS_ARRAY_LEN(FORMS); i++) {
        char *src = cos_sprintf(FORMS[i], old);
        cos_kv h[] = { { "x-cos-copy-source", src } };
        call cp = { "PUT", OTHERS, "/stolen.txt", "/stolen.txt", &OTHER, NULL, 0, h, 1, NULL, NULL, 0, NULL };
        reply r = do_call(&cp);
        if (r.status == 200) { /* only the current, public version may have been copied */
            reply g = simple(&OTHER, "GET", OTHERS, "/stolen.txt", NULL);
            CHECK(g.body && strcmp(g.body, "old private") != 0);
            if (g.body && !strcmp(g.body, "old private")) test_fail(__FILE__, __LINE__, "copied the old version: %s", src);
            reply_free(&g);
        }
        reply_free(&r);
        free(src);
    }
    /* the current version it may copy */
    cos_kv h[] = { { "x-cos-copy-source", "/" VERS "/c.txt" } };
    call cp = { "PUT", OTHERS, "/copied.txt", "/copied.txt", &OTHER, NULL, 0, h, 1, NULL, NULL, 0, NULL };
    EXPECT(do_call(&cp), 200, NULL);
    /* Upload Part - Copy from the owner's private bucket into its own upload */
    reply r = sub(&OTHER, "POST", OTHERS, "/big.bin", "uploads", NULL);
    CHECK_INT(r.status, 200);
    const char *u = r.body ? strstr(r.body, "<UploadId>") : NULL;
    char *upload = u ? strndup(u + 10, strcspn(u + 10, "<")) : NULL;
    reply_free(&r);
    if (upload) {
        char *target = cos_sprintf("/big.bin?partNumber=1&uploadId=%s", upload);
        static const char *const SRCS[] = { "/" PRIV "/secret.txt", PRIV ".cos.ap-guangzhou.myqcloud.com/secret.txt",
                                            "/" PRIV "/secret%2Etxt", PRIV ".cos.ap-beijing.myqcloud.com/secret.txt" };
        for (size_t i = 0; i < COS_ARRAY_LEN(SRCS); i++) {
            cos_kv hh[] = { { "x-cos-copy-source", SRCS[i] } };
            cos_kv q[] = { { "partNumber", "1" }, { "uploadId", upload } };
            call pc = { "PUT", OTHERS, target, "/big.bin", &OTHER, q, 2, hh, 1, NULL, NULL, 0, NULL };
            EXPECT(do_call(&pc), 403, "AccessDenied");
        }
        /* the source's Range does not change whose it is */
        cos_kv hr[] = { { "x-cos-copy-source", "/" PRIV "/secret.txt" }, { "x-cos-copy-source-range", "bytes=0-2" } };
        cos_kv q[] = { { "partNumber", "1" }, { "uploadId", upload } };
        call pc = { "PUT", OTHERS, target, "/big.bin", &OTHER, q, 2, hr, 2, NULL, NULL, 0, NULL };
        EXPECT(do_call(&pc), 403, "AccessDenied");
        free(target);
        free(upload);
    }
    free(old);
    free(cur);
}

/* ---------------------------------------------------------------- 4: others' uploads */

static char *upload_id_of(reply r)
{
    const char *u = r.body ? strstr(r.body, "<UploadId>") : NULL;
    char *id = u ? strndup(u + 10, strcspn(u + 10, "<")) : NULL;
    reply_free(&r);
    return id;
}

static reply upload_call(const creds *who, const char *method, const char *bucket, const char *path, const char *upload,
                         const char *part, const char *body)
{
    char *target = part ? cos_sprintf("%s?partNumber=%s&uploadId=%s", path, part, upload)
                        : cos_sprintf("%s?uploadId=%s", path, upload);
    cos_kv q[] = { { "uploadId", upload }, { "partNumber", part ? part : "" } };
    call c = { method, bucket, target, path, who, q, part ? 2 : 1, NULL, 0, NULL, body, body ? strlen(body) : 0, NULL };
    reply r = do_call(&c);
    free(target);
    return r;
}

static void test_others_uploads(void)
{
    char *upload = upload_id_of(sub(&OWNER, "POST", PRIV, "/hr/payroll.bin", "uploads", NULL));
    CHECK(upload != NULL);
    if (!upload) return;
    EXPECT(upload_call(&OWNER, "PUT", PRIV, "/hr/payroll.bin", upload, "1", "owner's part"), 200, NULL);
    tmpkey k = sts_key(&OWNER, "{\"version\":\"2.0\",\"statement\":[{\"effect\":\"allow\",\"action\":[\"name/cos:*\"],"
                               "\"resource\":[\"" RES(PRIV, "u/*") "\"]}]}");
    creds kc = { k.id, k.key, k.token };
    /* the upload named at a path the key may use: no such upload there */
    EXPECT(upload_call(&kc, "GET", PRIV, "/u/x.bin", upload, NULL, NULL), 404, "NoSuchUpload");
    EXPECT(upload_call(&kc, "PUT", PRIV, "/u/x.bin", upload, "2", "injected"), 404, "NoSuchUpload");
    EXPECT(upload_call(&kc, "DELETE", PRIV, "/u/x.bin", upload, NULL, NULL), 404, "NoSuchUpload");
    static const char done[] = "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part>"
                               "</CompleteMultipartUpload>";
    EXPECT(upload_call(&kc, "POST", PRIV, "/u/x.bin", upload, NULL, done), 404, "NoSuchUpload");
    /* at its own path: not the key's */
    EXPECT(upload_call(&kc, "GET", PRIV, "/hr/payroll.bin", upload, NULL, NULL), 403, "AccessDenied");
    EXPECT(upload_call(&kc, "PUT", PRIV, "/hr/payroll.bin", upload, "2", "injected"), 403, "AccessDenied");
    EXPECT(upload_call(&kc, "DELETE", PRIV, "/hr/payroll.bin", upload, NULL, NULL), 403, "AccessDenied");
    EXPECT(upload_call(&kc, "POST", PRIV, "/hr/payroll.bin", upload, NULL, done), 403, "AccessDenied");
    /* nor to another account, nor anonymous */
    EXPECT(upload_call(&OTHER, "GET", PRIV, "/hr/payroll.bin", upload, NULL, NULL), 403, "AccessDenied");
    EXPECT(upload_call(&OTHER, "DELETE", PRIV, "/hr/payroll.bin", upload, NULL, NULL), 403, "AccessDenied");
    EXPECT(upload_call(ANON, "DELETE", PRIV, "/hr/payroll.bin", upload, NULL, NULL), 403, "AccessDenied");
    /* the owner's upload is intact */
    reply r = upload_call(&OWNER, "GET", PRIV, "/hr/payroll.bin", upload, NULL, NULL);
    CHECK(r.status == 200 && r.body && strstr(r.body, "<PartNumber>1</PartNumber>") &&
          !strstr(r.body, "<PartNumber>2</PartNumber>"));
    reply_free(&r);
    /* nor are uploads listed to them */
    EXPECT(sub(&kc, "GET", PRIV, "/", "uploads", NULL), 403, "AccessDenied");
    EXPECT(sub(&OTHER, "GET", PRIV, "/", "uploads", NULL), 403, "AccessDenied");
    EXPECT(upload_call(&OWNER, "DELETE", PRIV, "/hr/payroll.bin", upload, NULL, NULL), 204, NULL);
    test_tmpkey_free(&k);
    free(upload);
}

/* Upload ids are the keys to others' uploads: READ on a bucket does not list them (S3's ACL would),
 * since whoever may also write (a public-read-write bucket) could then abort or complete another
 * writer's upload; without the id, nothing of an upload is reachable. */
static void test_uploads_stay_unlisted(void)
{
    char *upload = upload_id_of(sub(&OWNER, "POST", PUBRW, "/big/in-progress.bin", "uploads", NULL));
    CHECK(upload != NULL);
    if (!upload) return;
    EXPECT(sub(ANON, "GET", PUBRW, "/", "uploads", NULL), 403, "AccessDenied");
    EXPECT(sub(ANON, "GET", PUBR, "/", "uploads", NULL), 403, "AccessDenied");
    call l = { "GET", PUBRW, "/?uploads&prefix=big%2F", "/", ANON, NULL, 0, NULL, 0, NULL, NULL, 0, NULL };
    EXPECT(do_call(&l), 403, "AccessDenied");
    EXPECT(sub(ANON, "GET", PUBRW, "/", "versions", NULL), 403, "AccessDenied");
    /* a guessed id is no upload */
    EXPECT(upload_call(ANON, "DELETE", PUBRW, "/big/in-progress.bin", "00000000000000000000000000000000", NULL, NULL), 404,
           "NoSuchUpload");
    reply r = upload_call(&OWNER, "GET", PUBRW, "/big/in-progress.bin", upload, NULL, NULL);
    CHECK_INT(r.status, 200);
    reply_free(&r);
    EXPECT(upload_call(&OWNER, "DELETE", PUBRW, "/big/in-progress.bin", upload, NULL, NULL), 204, NULL);
    free(upload);
}

/* ---------------------------------------------------------------- 5: policies */

static void test_hostile_policies(void)
{
    /* conditions the server cannot evaluate: an Allow grants nothing, a Deny applies */
    EXPECT(sub(&OWNER, "PUT", PUBR, "/", "policy",
               "{\"Statement\":[{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":"
               "\"arn:aws:s3:::" PUBR "/*\",\"Condition\":{\"Bool\":{\"aws:SecureTransport\":\"false\"}}}]}"), 204, NULL);
    EXPECT(simple(ANON, "GET", PUBR, "/a.txt", NULL), 403, "AccessDenied");
    EXPECT(sub(&OWNER, "PUT", PRIV, "/", "policy",
               "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":"
               "\"arn:aws:s3:::" PRIV "/*\",\"Condition\":{\"Bool\":{\"aws:SecureTransport\":\"true\"}}}]}"), 204, NULL);
    EXPECT(simple(ANON, "GET", PRIV, "/secret.txt", NULL), 403, "AccessDenied");
    /* a Deny with a negated condition on a header the caller controls still denies without it */
    EXPECT(sub(&OWNER, "PUT", PUBR, "/", "policy",
               "{\"Statement\":[{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":"
               "\"arn:aws:s3:::" PUBR "/*\",\"Condition\":{\"StringNotEquals\":{\"aws:Referer\":\"https://ok.test/\"}}}]}"),
           204, NULL);
    EXPECT(simple(ANON, "GET", PUBR, "/a.txt", NULL), 403, "AccessDenied");
    call ref = { "GET", PUBR, "/a.txt", NULL, ANON, NULL, 0, NULL, 0, "Referer: https://ok.test/\r\n", NULL, 0, NULL };
    EXPECT(do_call(&ref), 200, NULL);
    /* IAM's '?' wildcard (one character) in an ARN, an action, a StringLike: a Deny written with it
       covers what it says (before: '?' was read as itself, and such a Deny covered nothing) */
    static const char *const QDENY[] = {
        "{\"Statement\":[{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":"
        "\"arn:aws:s3:::" PUBR "/?.txt\"}]}",
        "{\"Statement\":[{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:GetObj?ct\",\"Resource\":"
        "\"arn:aws:s3:::" PUBR "/*\"}]}",
        "{\"Statement\":[{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":"
        "\"arn:aws:s3:::atk-pub?-" APPID "/*\"}]}",
        "{\"Statement\":[{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":"
        "\"arn:aws:s3:::" PUBR "/*\",\"Condition\":{\"StringLike\":{\"aws:UserAgent\":\"curl/?.*\"}}}]}",
    };
    for (size_t i = 0; i < COS_ARRAY_LEN(QDENY); i++) {
        EXPECT(sub(&OWNER, "PUT", PUBR, "/", "policy", QDENY[i]), 204, NULL);
        call ua = { "GET", PUBR, "/a.txt", NULL, ANON, NULL, 0, NULL, 0, "User-Agent: curl/8.1\r\n", NULL, 0, NULL };
        reply r = do_call(&ua);
        if (r.status != 403) test_fail(__FILE__, __LINE__, "deny %zu with '?' did not apply: %d", i, r.status);
        reply_free(&r);
    }
    /* and an Allow with '?' grants one character, no more */
    EXPECT(sub(&OWNER, "PUT", PRIV, "/", "policy",
               "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":"
               "\"arn:aws:s3:::" PRIV "/pub/?.txt\"}]}"), 204, NULL);
    EXPECT(simple(ANON, "GET", PRIV, "/pub/x.txt", NULL), 200, NULL);
    EXPECT(simple(ANON, "GET", PRIV, "/secret.txt", NULL), 403, "AccessDenied");
    EXPECT(sub(&OWNER, "DELETE", PRIV, "/", "policy", NULL), 204, NULL);
    EXPECT(sub(&OWNER, "DELETE", PUBR, "/", "policy", NULL), 204, NULL);
    /* documents that are not policies: refused, nothing stored, the server still answers */
    cos_buf deep = COS_BUF_INIT;
    cos_buf_puts(&deep, "{\"Statement\":");
    for (int i = 0; i < 100000; i++) cos_buf_putc(&deep, '[');
    for (int i = 0; i < 100000; i++) cos_buf_putc(&deep, ']');
    cos_buf_putc(&deep, '}');
    const char *const BAD[] = {
        deep.data,
        "{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"*\",\"Resource\":\"*\"}}",
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":7,\"Resource\":\"*\"}]}",
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":[7,null],\"Resource\":\"*\"}]}",
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"qcs\":[]},\"Action\":\"*\",\"Resource\":\"*\"}]}",
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"qcs\":7},\"Action\":\"*\",\"Resource\":\"*\"}]}",
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"CanonicalUser\":\"x\"},\"Action\":\"*\",\"Resource\":\"*\"}]}",
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"NotAction\":\"s3:DeleteObject\",\"Resource\":\"*\"}]}",
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":"
        "{\"StringEquals\":{\"s3:prefix\":[]}}}]}",
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":"
        "{\"date_equal_ish\":{\"qcs:ip\":\"0.0.0.0/0\"}}}]}", /* (ip_equal is COS's IpAddress: known since) */
    };
    /* ambiguous documents (a field twice, or in both of its spellings) are refused, not read one way */
    const char *const AMBIGUOUS[] = {
        "{\"Statement\":[],\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"*\",\"Resource\":\"*\"}]}",
        "{\"statement\":[{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"*\",\"Resource\":\"*\"}],"
        "\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"*\",\"Resource\":\"*\"}]}",
        "{\"Statement\":[{\"effect\":\"allow\",\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"*\",\"Resource\":\"*\"}]}",
        "{\"Statement\":[{\"Effect\":\"Deny\",\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"*\",\"Resource\":\"*\"}]}",
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"action\":\"*\","
        "\"Resource\":\"*\"}]}",
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"qcs\":[\"" OTHER_ID "\"]},\"principal\":\"*\","
        "\"Action\":\"*\",\"Resource\":\"*\"}]}",
        "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"*\",\"Resource\":\"*\","
        "\"Condition\":{\"IpAddress\":{\"aws:SourceIp\":\"10.0.0.0/8\"}},\"condition\":{}}]}",
    };
    for (size_t i = 0; i < COS_ARRAY_LEN(AMBIGUOUS); i++) {
        reply r = sub(&OWNER, "PUT", PRIV, "/", "policy", AMBIGUOUS[i]);
        if (r.status != 400 || !r.body || !strstr(r.body, "MalformedPolicy"))
            test_fail(__FILE__, __LINE__, "ambiguous policy %zu: %d %.200s", i, r.status, r.body ? r.body : "");
        reply_free(&r);
        EXPECT(simple(ANON, "GET", PRIV, "/secret.txt", NULL), 403, "AccessDenied");
    }
    for (size_t i = 0; i < COS_ARRAY_LEN(BAD); i++) {
        reply r = sub(&OWNER, "PUT", PRIV, "/", "policy", BAD[i]);
        if (r.status == 204) { /* accepted: then it must not open the bucket */
            reply g = simple(ANON, "GET", PRIV, "/secret.txt", NULL);
            if (g.status == 200) test_fail(__FILE__, __LINE__, "policy %zu opened the bucket", i);
            reply_free(&g);
            reply d = simple(ANON, "DELETE", PRIV, "/secret.txt", NULL);
            if (d.status < 300) test_fail(__FILE__, __LINE__, "policy %zu let anyone delete", i);
            reply_free(&d);
        } else if (r.status != 400) {
            test_fail(__FILE__, __LINE__, "policy %zu: %d %.200s", i, r.status, r.body ? r.body : "");
        }
        reply_free(&r);
    }
    cos_buf_free(&deep);
    EXPECT(sub(&OWNER, "DELETE", PRIV, "/", "policy", NULL), 204, NULL);
    char *s = owner_get(PRIV, "/secret.txt");
    CHECK(s && !strcmp(s, "top secret"));
    free(s);
    /* another account cannot write a policy that names itself */
    EXPECT(sub(&OTHER, "PUT", PRIV, "/", "policy",
               "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"qcs\":[\"" OTHER_ID "\"]},\"Action\":\"*\","
               "\"Resource\":\"*\"}]}"), 403, "AccessDenied");
}

/* An object's owner always has FULL_CONTROL of it (COS's ACL rules; S3's ObjectWriter): another
 * account granted WRITE on a bucket owns what it writes there and may read it back and manage its
 * ACL (before: it was locked out of its own objects). Nothing else: not the bucket owner's objects,
 * not through a copy, not after BucketOwnerEnforced, and anonymous writes make the bucket's owner
 * the owner (before, an anonymous write to a second account's public bucket named the server's
 * owner as the object's). */
static void test_writers_own_what_they_write(void)
{
#define SHAREDW "atk-sharedw-" APPID
    EXPECT(simple(&OWNER, "PUT", SHAREDW, "/", NULL), 200, NULL);
    call grant = { "PUT", SHAREDW, "/?acl", "/", &OWNER, (cos_kv[]){ { "acl", "" } }, 1,
                   (cos_kv[]){ { "x-cos-grant-write", "id=\"" OTHER_ID "\"" } }, 1, NULL, NULL, 0, NULL };
    EXPECT(do_call(&grant), 200, NULL);
    EXPECT(simple(&OWNER, "PUT", SHAREDW, "/owners.txt", "the owner's"), 200, NULL);
    EXPECT(simple(&OTHER, "PUT", SHAREDW, "/theirs.txt", "written by the other account"), 200, NULL);
    reply r = simple(&OTHER, "GET", SHAREDW, "/theirs.txt", NULL);
    CHECK(r.status == 200 && r.body && !strcmp(r.body, "written by the other account"));
    reply_free(&r);
    EXPECT(simple(&OTHER, "HEAD", SHAREDW, "/theirs.txt", NULL), 200, NULL);
    EXPECT(sub(&OTHER, "GET", SHAREDW, "/theirs.txt", "acl", NULL), 200, NULL);
    /* but not its ACL changed: a bucket that lets an account write never lets it publish what it
       wrote (COS and S3 would: cos-server stays stricter) */
    cos_kv public_acl[] = { { "x-cos-acl", "public-read" } };
    call publish = { "PUT", SHAREDW, "/theirs.txt?acl", "/theirs.txt", &OTHER, (cos_kv[]){ { "acl", "" } }, 1, public_acl, 1,
                     NULL, NULL, 0, NULL };
    EXPECT(do_call(&publish), 403, "AccessDenied");
    EXPECT(simple(ANON, "GET", SHAREDW, "/theirs.txt", NULL), 403, "AccessDenied");
    /* the bucket's owner keeps its bucket: it reads the object too (COS: the root account owns its bucket) */
    EXPECT(simple(&OWNER, "GET", SHAREDW, "/theirs.txt", NULL), 200, NULL);
    /* nothing of the owner's objects, nor of the bucket */
    EXPECT(simple(&OTHER, "GET", SHAREDW, "/owners.txt", NULL), 403, "AccessDenied");
    EXPECT(sub(&OTHER, "GET", SHAREDW, "/owners.txt", "acl", NULL), 403, "AccessDenied");
    EXPECT(simple(&OTHER, "GET", SHAREDW, "/", NULL), 403, "AccessDenied");
    EXPECT(sub(&OTHER, "GET", SHAREDW, "/", "acl", NULL), 403, "AccessDenied");
    /* a copy names its source: the other account's copy of the owner's object is refused, and its
       own object copied into its own bucket is its own */
    EXPECT(simple(&OTHER, "PUT", OTHERS, "/", NULL), 409, NULL); /* made earlier */
    cos_kv own_src[] = { { "x-cos-copy-source", "/" SHAREDW "/owners.txt" } };
    call c1 = { "PUT", OTHERS, "/stolen-owners.txt", "/stolen-owners.txt", &OTHER, NULL, 0, own_src, 1, NULL, NULL, 0, NULL };
    EXPECT(do_call(&c1), 403, "AccessDenied");
    cos_kv their_src[] = { { "x-cos-copy-source", "/" SHAREDW "/theirs.txt" } };
    call c2 = { "PUT", OTHERS, "/copy-of-theirs.txt", "/copy-of-theirs.txt", &OTHER, NULL, 0, their_src, 1, NULL, NULL, 0, NULL };
    EXPECT(do_call(&c2), 200, NULL);
    /* the owner's copy of the other account's object is the owner's, not theirs */
    cos_kv src2[] = { { "x-cos-copy-source", "/" SHAREDW "/theirs.txt" } };
    call c3 = { "PUT", PRIV, "/owners-copy.txt", "/owners-copy.txt", &OWNER, NULL, 0, src2, 1, NULL, NULL, 0, NULL };
    EXPECT(do_call(&c3), 200, NULL);
    EXPECT(simple(&OTHER, "GET", PRIV, "/owners-copy.txt", NULL), 403, "AccessDenied");
    /* once the bucket's ObjectOwnership gives every object to the bucket's owner, the writer's rights go */
    EXPECT(sub(&OWNER, "PUT", SHAREDW, "/", "ownershipControls",
               "<OwnershipControls><Rule><ObjectOwnership>BucketOwnerEnforced</ObjectOwnership></Rule></OwnershipControls>"),
           200, NULL);
    EXPECT(simple(&OTHER, "GET", SHAREDW, "/theirs.txt", NULL), 403, "AccessDenied");
    EXPECT(sub(&OWNER, "DELETE", SHAREDW, "/", "ownershipControls", NULL), 204, NULL);
    EXPECT(simple(&OTHER, "GET", SHAREDW, "/theirs.txt", NULL), 200, NULL);
    /* anonymous writes into the other account's public bucket belong to that account, never to the
       server's owner */
    call pub = { "PUT", OTHERS, "/?acl", "/", &OTHER, (cos_kv[]){ { "acl", "" } }, 1,
                 (cos_kv[]){ { "x-cos-acl", "public-read-write" } }, 1, NULL, NULL, 0, NULL };
    EXPECT(do_call(&pub), 200, NULL);
    EXPECT(simple(ANON, "PUT", OTHERS, "/anon.txt", "anonymous"), 200, NULL);
    EXPECT(sub(&OWNER, "GET", OTHERS, "/anon.txt", "acl", NULL), 403, "AccessDenied");
    EXPECT(sub(&OWNER, "PUT", OTHERS, "/anon.txt", "acl", NULL), 403, "AccessDenied");
    reply a = sub(&OTHER, "GET", OTHERS, "/anon.txt", "acl", NULL);
    CHECK(a.status == 200 && a.body && strstr(a.body, OTHER_ID));
    reply_free(&a);
    call priv = { "PUT", OTHERS, "/?acl", "/", &OTHER, (cos_kv[]){ { "acl", "" } }, 1,
                  (cos_kv[]){ { "x-cos-acl", "private" } }, 1, NULL, NULL, 0, NULL };
    EXPECT(do_call(&priv), 200, NULL);
#undef SHAREDW
}

/* who PUTs bucket/path with the headers h (a body, or a copy when h names its source): whatever the
 * answer, the object must not come out anonymously readable (what names the case). */
static void write_stays_private(const creds *who, const char *bucket, const char *path, const cos_kv *h, size_t nh,
                                const char *body, const char *what)
{
    call put = { "PUT", bucket, path, path, who, NULL, 0, h, nh, NULL, body, body ? strlen(body) : 0, NULL };
    reply r = do_call(&put);
    reply_free(&r);
    reply g = simple(ANON, "GET", bucket, path, NULL);
    if (g.status == 200)
        test_fail(__FILE__, __LINE__, "%s made %s public (asked by %s: %s)", what, path, h[nh - 1].name, h[nh - 1].value);
    reply_free(&g);
}

/* who writes bucket's PREFIX-mp.bin by a multipart upload and PREFIX-append.txt by an append, each
 * asking for public-read: neither may come out anonymously readable (what names the rule broken). */
static void multipart_and_append_stay_private(const creds *who, const char *bucket, const char *prefix, const char *what)
{
    cos_kv pub[] = { { "x-cos-acl", "public-read" } };
    char *mp = cos_sprintf("%s-mp.bin", prefix), *mp_target = cos_sprintf("%s?uploads", mp);
    call init = { "POST", bucket, mp_target, mp, who, (cos_kv[]){ { "uploads", "" } }, 1, pub, 1, NULL, NULL, 0, NULL };
    char *upload = upload_id_of(do_call(&init));
    if (upload) {
        reply pr = upload_call(who, "PUT", bucket, mp, upload, "1", "only part");
        char *etag = test_reply_header(&pr, "ETag");
        reply_free(&pr);
        char *done = cos_sprintf("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part>"
                                 "</CompleteMultipartUpload>", etag ? etag : "");
        reply d = upload_call(who, "POST", bucket, mp, upload, NULL, done);
        reply_free(&d);
        reply mg = simple(ANON, "GET", bucket, mp, NULL);
        if (mg.status == 200) test_fail(__FILE__, __LINE__, "%s: a multipart upload came out public", what);
        reply_free(&mg);
        free(done);
        free(etag);
        free(upload);
    }
    char *ap = cos_sprintf("%s-append.txt", prefix), *ap_target = cos_sprintf("%s?append&position=0", ap);
    call a1 = { "POST", bucket, ap_target, ap, who, (cos_kv[]){ { "append", "" }, { "position", "0" } }, 2, pub, 1, NULL,
                "one", 3, NULL };
    reply ar = do_call(&a1);
    reply_free(&ar);
    reply ag = simple(ANON, "GET", bucket, ap, NULL);
    if (ag.status == 200) test_fail(__FILE__, __LINE__, "%s: an append came out public", what);
    reply_free(&ag);
    free(mp);
    free(mp_target);
    free(ap);
    free(ap_target);
}

/* An account granted WRITE on another account's bucket never publishes what
 * it writes (it may not change the object's ACL afterwards: test above),
 * however it asks in the write itself: x-cos-acl or a grant header on a PUT,
 * a copy of its own object onto itself, a multipart upload, an append. Each
 * is refused, or the object stays unreadable to anonymous. */
static void test_writer_cannot_publish_in_the_write(void)
{
#define SHAREDP "atk-sharedp-" APPID
    EXPECT(simple(&OWNER, "PUT", SHAREDP, "/", NULL), 200, NULL);
    call grant = { "PUT", SHAREDP, "/?acl", "/", &OWNER, (cos_kv[]){ { "acl", "" } }, 1,
                   (cos_kv[]){ { "x-cos-grant-write", "id=\"" OTHER_ID "\"" } }, 1, NULL, NULL, 0, NULL };
    EXPECT(do_call(&grant), 200, NULL);
    const cos_kv asks[][1] = { { { "x-cos-acl", "public-read" } }, { { "x-cos-acl", "public-read-write" } },
                               { { "x-cos-grant-read", "uri=\"http://cam.qcloud.com/groups/global/AllUsers\"" } },
                               { { "x-cos-grant-full-control", "uri=\"http://cam.qcloud.com/groups/global/AllUsers\"" } } };
    for (size_t i = 0; i < sizeof asks / sizeof *asks; i++) {
        char path[64];
        snprintf(path, sizeof path, "/pub-put-%zu.txt", i);
        write_stays_private(&OTHER, SHAREDP, path, asks[i], 1, "published?", "a writer granted WRITE: a PUT");
    }
    /* its own object copied onto itself with a public ACL */
    EXPECT(simple(&OTHER, "PUT", SHAREDP, "/mine.txt", "mine"), 200, NULL);
    cos_kv cp[] = { { "x-cos-copy-source", "/" SHAREDP "/mine.txt" }, { "x-cos-metadata-directive", "Replaced" },
                    { "x-cos-acl", "public-read" } };
    write_stays_private(&OTHER, SHAREDP, "/mine.txt", cp, 3, NULL, "a writer granted WRITE: a copy onto itself");
    multipart_and_append_stay_private(&OTHER, SHAREDP, "/pub", "a writer granted WRITE");
#undef SHAREDP
}

/* The ACL a write asks for is the one its object gets, whichever way it is written. Before, a copy
 * and a multipart upload dropped x-cos-acl, and every write dropped x-cos-grant-*: "private" (or a
 * grant to one account) asked for in a public-read bucket was acknowledged, and the object
 * inherited the bucket's public-read. */
static void test_asked_acl_is_applied(void)
{
    cos_kv priv[] = { { "x-cos-acl", "private" } };
    call put = { "PUT", PUBR, "/asked-put.txt", "/asked-put.txt", &OWNER, NULL, 0, priv, 1, NULL, "put", 3, NULL };
    EXPECT(do_call(&put), 200, NULL);
    EXPECT(simple(ANON, "GET", PUBR, "/asked-put.txt", NULL), 403, "AccessDenied");
    cos_kv cp[] = { { "x-cos-copy-source", PUBR ".cos.ap-guangzhou.myqcloud.com/a.txt" }, { "x-cos-acl", "private" } };
    call copy = { "PUT", PUBR, "/asked-copy.txt", "/asked-copy.txt", &OWNER, NULL, 0, cp, 2, NULL, NULL, 0, NULL };
    EXPECT(do_call(&copy), 200, NULL);
    EXPECT(simple(ANON, "GET", PUBR, "/asked-copy.txt", NULL), 403, "AccessDenied");
    call init = { "POST", PUBR, "/asked-mp.bin?uploads", "/asked-mp.bin", &OWNER, (cos_kv[]){ { "uploads", "" } }, 1, priv,
                  1, NULL, NULL, 0, NULL };
    char *upload = upload_id_of(do_call(&init));
    CHECK(upload != NULL);
    if (upload) {
        reply pr = upload_call(&OWNER, "PUT", PUBR, "/asked-mp.bin", upload, "1", "only part");
        char *etag = test_reply_header(&pr, "ETag");
        CHECK_INT(pr.status, 200);
        reply_free(&pr);
        char *done = cos_sprintf("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part>"
                                 "</CompleteMultipartUpload>", etag ? etag : "");
        EXPECT(upload_call(&OWNER, "POST", PUBR, "/asked-mp.bin", upload, NULL, done), 200, NULL);
        EXPECT(simple(ANON, "GET", PUBR, "/asked-mp.bin", NULL), 403, "AccessDenied");
        char *got = owner_get(PUBR, "/asked-mp.bin");
        CHECK(got && !strcmp(got, "only part"));
        free(got);
        free(done);
        free(etag);
        free(upload);
    }
    /* grants by header: the named account reads it, anyone else does not */
    cos_kv grant[] = { { "x-cos-grant-read", "id=\"" OTHER_ID "\"" } };
    call g = { "PUT", PUBR, "/asked-grant.txt", "/asked-grant.txt", &OWNER, NULL, 0, grant, 1, NULL, "granted", 7, NULL };
    EXPECT(do_call(&g), 200, NULL);
    EXPECT(simple(ANON, "GET", PUBR, "/asked-grant.txt", NULL), 403, "AccessDenied");
    EXPECT(simple(&OTHER, "GET", PUBR, "/asked-grant.txt", NULL), 200, NULL);
    reply a = sub(&OWNER, "GET", PUBR, "/asked-grant.txt", "acl", NULL);
    CHECK(a.status == 200 && a.body && strstr(a.body, OTHER_ID) && strstr(a.body, "READ"));
    reply_free(&a);
    /* a malformed grant is refused, nothing written */
    cos_kv bad[] = { { "x-cos-grant-read", "everyone" } };
    call b = { "PUT", PUBR, "/asked-bad.txt", "/asked-bad.txt", &OWNER, NULL, 0, bad, 1, NULL, "bad", 3, NULL };
    EXPECT(do_call(&b), 400, "InvalidArgument");
    CHECK(!exists(PUBR, "/asked-bad.txt"));
    /* appends: the first one's ACL is the object's, and later appends keep its ACL and tags (before,
       each append reset them: a private appendable object in a public-read bucket became public) */
    call a1 = { "POST", PUBR, "/asked-append.txt?append&position=0", "/asked-append.txt", &OWNER,
                (cos_kv[]){ { "append", "" }, { "position", "0" } }, 2, priv, 1, NULL, "one", 3, NULL };
    EXPECT(do_call(&a1), 200, NULL);
    EXPECT(simple(ANON, "GET", PUBR, "/asked-append.txt", NULL), 403, "AccessDenied");
    call tag = { "PUT", PUBR, "/asked-append.txt?tagging", "/asked-append.txt", &OWNER, (cos_kv[]){ { "tagging", "" } }, 1,
                 NULL, 0, NULL, "<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>", 75, NULL };
    EXPECT(do_call(&tag), 200, NULL);
    call a2 = { "POST", PUBR, "/asked-append.txt?append&position=3", "/asked-append.txt", &OWNER,
                (cos_kv[]){ { "append", "" }, { "position", "3" } }, 2, NULL, 0, NULL, "two", 3, NULL };
    EXPECT(do_call(&a2), 200, NULL);
    EXPECT(simple(ANON, "GET", PUBR, "/asked-append.txt", NULL), 403, "AccessDenied");
    char *both = owner_get(PUBR, "/asked-append.txt");
    CHECK(both && !strcmp(both, "onetwo"));
    free(both);
    reply t = sub(&OWNER, "GET", PUBR, "/asked-append.txt", "tagging", NULL);
    CHECK(t.status == 200 && t.body && strstr(t.body, "<Key>k</Key>"));
    reply_free(&t);
    /* a bucket created with grant headers has them (before: acknowledged and dropped) */
    call mk = { "PUT", "atk-granted-" APPID, "/", "/", &OWNER, NULL, 0,
                (cos_kv[]){ { "x-cos-grant-read", "id=\"" OTHER_ID "\"" } }, 1, NULL, NULL, 0, NULL };
    EXPECT(do_call(&mk), 200, NULL);
    EXPECT(simple(&OTHER, "GET", "atk-granted-" APPID, "/", NULL), 200, NULL);
    EXPECT(simple(ANON, "GET", "atk-granted-" APPID, "/", NULL), 403, "AccessDenied");
    EXPECT(simple(&OTHER, "PUT", "atk-granted-" APPID, "/x.txt", "x"), 403, "AccessDenied");
    call mkbad = { "PUT", "atk-badgrant-" APPID, "/", "/", &OWNER, NULL, 0, (cos_kv[]){ { "x-cos-grant-read", "all" } }, 1,
                   NULL, NULL, 0, NULL };
    EXPECT(do_call(&mkbad), 400, "InvalidArgument");
    EXPECT(simple(&OWNER, "HEAD", "atk-badgrant-" APPID, "/", NULL), 404, NULL);
    /* and without any, the bucket's ACL still decides (COS's default) */
    EXPECT(simple(&OWNER, "PUT", PUBR, "/asked-none.txt", "none"), 200, NULL);
    EXPECT(simple(ANON, "GET", PUBR, "/asked-none.txt", NULL), 200, NULL);
}

/* A grant on an object lets its grantee manage that object's ACL (the write is pinned to the object
 * authorization read: one that replaced it meanwhile is left alone, 503), and no other object's,
 * even under the same key. */
static void test_acl_grants_follow_the_object(void)
{
    cos_kv share[] = { { "x-cos-grant-full-control", "id=\"" OTHER_ID "\"" } };
    call put = { "PUT", PRIV, "/shared-acl.txt", "/shared-acl.txt", &OWNER, NULL, 0, share, 1, NULL, "shared", 6, NULL };
    EXPECT(do_call(&put), 200, NULL);
    static const char open_acl[] =
        "<AccessControlPolicy><Owner><ID>x</ID></Owner><AccessControlList>"
        "<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"CanonicalUser\"><ID>" OTHER_ID
        "</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant>"
        "<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"Group\"><URI>"
        "http://cam.qcloud.com/groups/global/AllUsers</URI></Grantee><Permission>READ</Permission></Grant>"
        "</AccessControlList></AccessControlPolicy>";
    EXPECT(sub(&OTHER, "PUT", PRIV, "/shared-acl.txt", "acl", open_acl), 200, NULL);
    EXPECT(simple(ANON, "GET", PRIV, "/shared-acl.txt", NULL), 200, NULL);
    /* the key rewritten by its owner, private: the grant went with the old object */
    EXPECT(simple(&OWNER, "PUT", PRIV, "/shared-acl.txt", "rewritten, private"), 200, NULL);
    EXPECT(sub(&OTHER, "PUT", PRIV, "/shared-acl.txt", "acl", open_acl), 403, "AccessDenied");
    EXPECT(sub(&OTHER, "GET", PRIV, "/shared-acl.txt", "acl", NULL), 403, "AccessDenied");
    EXPECT(simple(ANON, "GET", PRIV, "/shared-acl.txt", NULL), 403, "AccessDenied");
}

/* ---------------------------------------------------------------- 6: ACL grants to odd principals */

static void test_odd_grantees_open_nothing(void)
{
    static const char *const GRANTS[] = {
        "id=\"*\"", "id=\"\"", "id=\"qcs::cam::anyone:anyone\"", "uri=\"http://cam.qcloud.com/groups/global/allusers\"",
        "uri=\"http://cam.qcloud.com/groups/global/AllUsers \"", "id=\"owner\"", "id=\"anonymous\"",
        "id=\"" OTHER_ID "\", id=\"x\"" };
    for (size_t i = 0; i < COS_ARRAY_LEN(GRANTS); i++) {
        cos_kv h[] = { { "x-cos-grant-read", GRANTS[i] } };
        call c = { "PUT", PRIV, "/odd.txt", "/odd.txt", &OWNER, NULL, 0, h, 1, NULL, "odd", 3, NULL };
        reply r = do_call(&c);
        if (r.status == 200) {
            reply g = simple(ANON, "GET", PRIV, "/odd.txt", NULL);
            if (g.status == 200) test_fail(__FILE__, __LINE__, "grant %s opened the object to anyone", GRANTS[i]);
            reply_free(&g);
        }
        reply_free(&r);
    }
    /* an ACL document naming another owner does not hand the object over */
    static const char acl[] =
        "<AccessControlPolicy><Owner><ID>" OTHER_ID "</ID></Owner><AccessControlList></AccessControlList></AccessControlPolicy>";
    reply r = sub(&OWNER, "PUT", PRIV, "/odd.txt", "acl", acl);
    reply_free(&r);
    EXPECT(simple(&OTHER, "GET", PRIV, "/odd.txt", NULL), 403, "AccessDenied");
    EXPECT(sub(&OTHER, "PUT", PRIV, "/odd.txt", "acl", acl), 403, "AccessDenied");
    /* the creation of an existing bucket of another account changes nothing of it */
    call take = { "PUT", PRIV, "/", "/", &OTHER, NULL, 0,
                  (cos_kv[]){ { "x-cos-object-ownership", "BucketOwnerPreferred" }, { "x-cos-acl", "public-read" } }, 2,
                  NULL, NULL, 0, NULL };
    EXPECT(do_call(&take), 409, "BucketAlreadyExists");
    EXPECT(sub(&OWNER, "GET", PRIV, "/", "ownershipControls", NULL), 404, NULL);
    EXPECT(simple(ANON, "GET", PRIV, "/secret.txt", NULL), 403, "AccessDenied");
}

/* S3's PublicAccessBlock is a promise: nothing public gets through it. Before, an ACL document
 * naming AllUsers with an XML character reference ("All&#85;sers", which the ACL's reader decodes)
 * passed BlockPublicAcls, and a public policy with a condition on what the caller chooses
 * (aws:UserAgent "*") passed BlockPublicPolicy and RestrictPublicBuckets as "not public". */
static void test_public_access_block_holds(void)
{
    static const char pab_acls[] = "<PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls>"
                                   "</PublicAccessBlockConfiguration>";
    EXPECT(simple(&OWNER, "PUT", PRIV, "/pab.txt", "pab"), 200, NULL);
    EXPECT(sub(&OWNER, "PUT", PRIV, "/", "publicAccessBlock", pab_acls), 200, NULL);
    static const char *const ENCODED[] = { "All&#85;sers", "All&#x55;sers", "&#65;llUsers", "Authenticated&#85;sers" };
    for (size_t i = 0; i < COS_ARRAY_LEN(ENCODED); i++) {
        char *acl = cos_sprintf(
            "<AccessControlPolicy><Owner><ID>qcs::cam::uin/" APPID ":uin/" APPID "</ID></Owner><AccessControlList>"
            "<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"Group\">"
            "<URI>http://cam.qcloud.com/groups/global/%s</URI></Grantee><Permission>READ</Permission></Grant>"
            "</AccessControlList></AccessControlPolicy>", ENCODED[i]);
        EXPECT(sub(&OWNER, "PUT", PRIV, "/pab.txt", "acl", acl), 403, "AccessDenied");
        EXPECT(sub(&OWNER, "PUT", PRIV, "/", "acl", acl), 403, "AccessDenied");
        free(acl);
    }
    EXPECT(simple(ANON, "GET", PRIV, "/pab.txt", NULL), 403, "AccessDenied");
    EXPECT(simple(ANON, "GET", PRIV, "/", NULL), 403, "AccessDenied");
    /* public policies: an Allow to everyone limited only by what the caller says is public */
    static const char pab_policy[] = "<PublicAccessBlockConfiguration><BlockPublicPolicy>true</BlockPublicPolicy>"
                                     "<RestrictPublicBuckets>true</RestrictPublicBuckets></PublicAccessBlockConfiguration>";
#define OPEN_WHEN(cond) "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\"," \
                        "\"Resource\":\"arn:aws:s3:::" PRIV "/*\",\"Condition\":" cond "}]}"
    static const char *const PUBLIC[] = {
        OPEN_WHEN("{\"StringLike\":{\"aws:UserAgent\":\"*\"}}"),
        OPEN_WHEN("{\"StringNotEquals\":{\"aws:Referer\":\"x\"}}"),
        OPEN_WHEN("{\"IpAddress\":{\"aws:SourceIp\":\"0.0.0.0/0\"}}"),
        OPEN_WHEN("{\"NotIpAddress\":{\"aws:SourceIp\":\"10.9.9.9/32\"}}"),
        OPEN_WHEN("{\"Null\":{\"s3:x-amz-server-side-encryption\":\"true\"}}"),
    };
    for (size_t i = 0; i < COS_ARRAY_LEN(PUBLIC); i++) {
        /* written before the block: RestrictPublicBuckets keeps anonymous callers out */
        EXPECT(sub(&OWNER, "DELETE", PRIV, "/", "publicAccessBlock", NULL), 204, NULL);
        EXPECT(sub(&OWNER, "PUT", PRIV, "/", "policy", PUBLIC[i]), 204, NULL);
        call ua = { "GET", PRIV, "/pab.txt", NULL, ANON, NULL, 0, NULL, 0, "User-Agent: t\r\n", NULL, 0, NULL };
        reply open = do_call(&ua);
        CHECK_INT(open.status, 200); /* the policy as written does open it */
        reply_free(&open);
        EXPECT(sub(&OWNER, "PUT", PRIV, "/", "publicAccessBlock", pab_policy), 200, NULL);
        reply r = do_call(&ua);
        if (r.status != 403) test_fail(__FILE__, __LINE__, "RestrictPublicBuckets let policy %zu through: %d", i, r.status);
        reply_free(&r);
        reply ps = sub(&OWNER, "GET", PRIV, "/", "policyStatus", NULL);
        CHECK(ps.body && strstr(ps.body, "<IsPublic>true</IsPublic>"));
        reply_free(&ps);
        /* and BlockPublicPolicy refuses to store it again */
        EXPECT(sub(&OWNER, "DELETE", PRIV, "/", "policy", NULL), 204, NULL);
        r = sub(&OWNER, "PUT", PRIV, "/", "policy", PUBLIC[i]);
        if (r.status != 403) test_fail(__FILE__, __LINE__, "BlockPublicPolicy stored policy %zu: %d", i, r.status);
        reply_free(&r);
    }
    /* a fixed, narrow address range is not public (S3's rule) */
    EXPECT(sub(&OWNER, "PUT", PRIV, "/", "policy", OPEN_WHEN("{\"IpAddress\":{\"aws:SourceIp\":\"127.0.0.0/8\"}}")), 204,
           NULL);
    EXPECT(simple(ANON, "GET", PRIV, "/pab.txt", NULL), 200, NULL);
#undef OPEN_WHEN
    EXPECT(sub(&OWNER, "DELETE", PRIV, "/", "policy", NULL), 204, NULL);
    EXPECT(sub(&OWNER, "DELETE", PRIV, "/", "publicAccessBlock", NULL), 204, NULL);
    EXPECT(simple(ANON, "GET", PRIV, "/pab.txt", NULL), 403, "AccessDenied");
}

/* BlockPublicAcls against public ACLs asked in the writes themselves (not
 * a PUT ?acl): x-cos-acl and AllUsers grant headers on a PUT, a copy, a
 * multipart upload, an append; the bucket's own ACL by header. Each is
 * refused or leaves nothing anonymously readable. */
static void test_public_access_block_on_writes(void)
{
#define PABW "atk-pabw-" APPID
    EXPECT(simple(&OWNER, "PUT", PABW, "/", NULL), 200, NULL);
    EXPECT(simple(&OWNER, "PUT", PABW, "/src.txt", "source"), 200, NULL);
    EXPECT(sub(&OWNER, "PUT", PABW, "/", "publicAccessBlock",
               "<PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls></PublicAccessBlockConfiguration>"),
           200, NULL);
    const cos_kv asks[][1] = { { { "x-cos-acl", "public-read" } }, { { "x-cos-acl", "public-read-write" } },
                               { { "x-cos-grant-read", "uri=\"http://cam.qcloud.com/groups/global/AllUsers\"" } },
                               { { "x-amz-acl", "public-read" } } };
    for (size_t i = 0; i < sizeof asks / sizeof *asks; i++) {
        char path[64];
        snprintf(path, sizeof path, "/pabw-put-%zu.txt", i);
        write_stays_private(&OWNER, PABW, path, asks[i], 1, "public?", "under BlockPublicAcls: a PUT");
        cos_kv cp[] = { { "x-cos-copy-source", "/" PABW "/src.txt" }, asks[i][0] };
        char cpath[64];
        snprintf(cpath, sizeof cpath, "/pabw-copy-%zu.txt", i);
        write_stays_private(&OWNER, PABW, cpath, cp, 2, NULL, "under BlockPublicAcls: a copy");
    }
    multipart_and_append_stay_private(&OWNER, PABW, "/pabw", "under BlockPublicAcls");
    cos_kv pub[] = { { "x-cos-acl", "public-read" } };
    /* the bucket's ACL by header */
    call bacl = { "PUT", PABW, "/?acl", "/", &OWNER, (cos_kv[]){ { "acl", "" } }, 1, pub, 1, NULL, NULL, 0, NULL };
    reply br = do_call(&bacl);
    reply_free(&br);
    EXPECT(simple(ANON, "GET", PABW, "/", NULL), 403, "AccessDenied");
    EXPECT(simple(ANON, "GET", PABW, "/src.txt", NULL), 403, "AccessDenied");
#undef PABW
}

/* ---------------------------------------------------------------- 7: POST forms */

static char *b64(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(n * 4 / 3 + 8);
    cos_base64_encode((const unsigned char *)s, n, out);
    return out;
}

/* A COS policy form by who for bucket: the policy JSON, then fields (name, value pairs, NULL-ended) before the file. */
static reply cos_form(const creds *who, const char *bucket, const char *policy_json, const char *const *fields)
{
    char kt[64];
    long long now = (long long)time(NULL);
    snprintf(kt, sizeof kt, "%lld;%lld", now - 60, now + 600);
    char *pol = b64(policy_json);
    char sign_key[41], sha[41], sig[41];
    cos_hmac_sha1_hex(who->key, strlen(who->key), kt, strlen(kt), sign_key);
    cos_sha1_hex(policy_json, strlen(policy_json), sha);
    cos_hmac_sha1_hex(sign_key, 40, sha, 40, sig);
    cos_buf b = COS_BUF_INIT;
#define FIELD(n, v) cos_buf_printf(&b, "--BB\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n", (n), (v))
    FIELD("policy", pol);
    FIELD("q-sign-algorithm", "sha1");
    FIELD("q-ak", who->id);
    FIELD("q-key-time", kt);
    FIELD("q-signature", sig);
    for (size_t i = 0; fields && fields[i]; i += 2) FIELD(fields[i], fields[i + 1]);
#undef FIELD
    cos_buf_puts(&b, "--BB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.txt\"\r\n\r\nform data\r\n--BB--\r\n");
    call c = { "POST", bucket, "/", NULL, ANON, NULL, 0, NULL, 0, "Content-Type: multipart/form-data; boundary=BB\r\n",
               b.data, b.len, NULL };
    reply r = do_call(&c);
    cos_buf_free(&b);
    free(pol);
    return r;
}

/* An anonymous form: fields (name, value pairs, NULL-ended) before the file. */
static reply anon_form(const char *bucket, const char *const *fields)
{
    cos_buf b = COS_BUF_INIT;
    for (size_t i = 0; fields && fields[i]; i += 2)
        cos_buf_printf(&b, "--BB\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n", fields[i], fields[i + 1]);
    cos_buf_puts(&b, "--BB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.txt\"\r\n\r\nform data\r\n--BB--\r\n");
    call c = { "POST", bucket, "/", NULL, ANON, NULL, 0, NULL, 0, "Content-Type: multipart/form-data; boundary=BB\r\n",
               b.data, b.len, NULL };
    reply r = do_call(&c);
    cos_buf_free(&b);
    return r;
}

/* A policy's conditions see what the handlers apply: a form's fields, which stand in for headers, and
 * values the handlers take in any case. Before, a Deny on the storage class or a request tag did not
 * see a form's fields, nor a Deny on ARCHIVE or REPLACE the same words in other cases. */
static void test_conditions_see_what_handlers_apply(void)
{
    EXPECT(sub(&OWNER, "PUT", PUBRW, "/", "policy",
               "{\"Statement\":[{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:PutObject\",\"Resource\":"
               "\"arn:aws:s3:::" PUBRW "/*\",\"Condition\":{\"StringEquals\":{\"s3:x-amz-storage-class\":\"ARCHIVE\"}}},"
               "{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:PutObjectTagging\",\"Resource\":"
               "\"arn:aws:s3:::" PUBRW "/*\"},"
               "{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:PutObject\",\"Resource\":"
               "\"arn:aws:s3:::" PUBRW "/*\",\"Condition\":{\"StringEquals\":{\"s3:RequestObjectTag/class\":\"secret\"}}}]}"),
           204, NULL);
    call hdr = { "PUT", PUBRW, "/cold.txt", NULL, ANON, NULL, 0, NULL, 0, "x-cos-storage-class: ARCHIVE\r\n", "c", 1, NULL };
    EXPECT(do_call(&hdr), 403, "AccessDenied");
    const char *cold[] = { "key", "cold-form.txt", "x-cos-storage-class", "ARCHIVE", NULL };
    EXPECT(anon_form(PUBRW, cold), 403, "AccessDenied");
    const char *cold_ci[] = { "key", "cold-form.txt", "X-Cos-Storage-Class", "archive", NULL };
    reply r = anon_form(PUBRW, cold_ci);
    CHECK(r.status == 403 || r.status == 400); /* another spelling of the value is no way around it */
    reply_free(&r);
    CHECK(!exists(PUBRW, "/cold-form.txt"));
    const char *secret[] = { "key", "tagged-form.txt", "x-cos-tagging", "class=secret", NULL };
    EXPECT(anon_form(PUBRW, secret), 403, "AccessDenied");
    CHECK(!exists(PUBRW, "/tagged-form.txt"));
    const char *fine[] = { "key", "tagged-form.txt", "x-cos-tagging", "class=open", NULL };
    EXPECT(anon_form(PUBRW, fine), 200, NULL);
    /* a value the handler takes in any case is compared by its meaning */
    call lower = { "PUT", PUBRW, "/cold.txt", NULL, ANON, NULL, 0, NULL, 0, "x-cos-storage-class: Archive\r\n", "c", 1, NULL };
    EXPECT(do_call(&lower), 403, "AccessDenied");
    CHECK(!exists(PUBRW, "/cold.txt"));
    EXPECT(sub(&OWNER, "PUT", PUBRW, "/", "policy",
               "{\"Statement\":[{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":\"s3:PutObject\",\"Resource\":"
               "\"arn:aws:s3:::" PUBRW "/*\",\"Condition\":{\"StringEquals\":{\"s3:x-amz-metadata-directive\":\"REPLACE\"}}}]}"),
           204, NULL);
    static const char *const DIRECTIVES[] = { "REPLACE", "replace", "Replaced", "rEpLaCeD" };
    for (size_t i = 0; i < COS_ARRAY_LEN(DIRECTIVES); i++) {
        char *hdrs = cos_sprintf("x-cos-copy-source: " PUBR ".cos.ap-guangzhou.myqcloud.com/a.txt\r\n"
                                 "x-cos-metadata-directive: %s\r\nContent-Type: text/html\r\n", DIRECTIVES[i]);
        call cp = { "PUT", PUBRW, "/replaced.txt", NULL, ANON, NULL, 0, NULL, 0, hdrs, NULL, 0, NULL };
        reply x = do_call(&cp);
        if (x.status != 403) test_fail(__FILE__, __LINE__, "directive %s: %d", DIRECTIVES[i], x.status);
        reply_free(&x);
        free(hdrs);
    }
    CHECK(!exists(PUBRW, "/replaced.txt"));
    call cp = { "PUT", PUBRW, "/copied.txt", NULL, ANON, NULL, 0, NULL, 0,
                "x-cos-copy-source: " PUBR ".cos.ap-guangzhou.myqcloud.com/a.txt\r\nx-cos-metadata-directive: Copy\r\n",
                NULL, 0, NULL };
    EXPECT(do_call(&cp), 200, NULL);
    EXPECT(sub(&OWNER, "DELETE", PUBRW, "/", "policy", NULL), 204, NULL);
}

#define FORM_POLICY(bucket, prefix) \
    "{\"expiration\":\"2099-01-01T00:00:00.000Z\",\"conditions\":[{\"bucket\":\"" bucket "\"}," \
    "[\"starts-with\",\"$key\",\"" prefix "\"]]}"

/* BlockPublicAcls against a form's acl field (the form's processor is freed
 * once its body is in; the request is still known as a form). */
static void test_public_access_block_on_forms(void)
{
    const char *pub[] = { "key", "up/form-public.txt", "acl", "public-read", NULL };
    reply r = cos_form(&OWNER, "atk-pabw-" APPID, FORM_POLICY("atk-pabw-" APPID, "up/"), pub);
    CHECK_INT(r.status, 403);
    reply_free(&r);
    EXPECT(simple(ANON, "GET", "atk-pabw-" APPID, "/up/form-public.txt", NULL), 403, "AccessDenied");
    const char *plain[] = { "key", "up/form-plain.txt", NULL };
    EXPECT(cos_form(&OWNER, "atk-pabw-" APPID, FORM_POLICY("atk-pabw-" APPID, "up/"), plain), 200, NULL);
}

static void test_forms(void)
{
    /* the form as signed */
    const char *ok[] = { "key", "up/ok.txt", NULL };
    EXPECT(cos_form(&OWNER, PRIV, FORM_POLICY(PRIV, "up/"), ok), 200, NULL);
    /* used on another bucket of the signer's: its bucket condition refuses */
    EXPECT(cos_form(&OWNER, PUBRW, FORM_POLICY(PRIV, "up/"), ok), 403, "AccessDenied");
    CHECK(!exists(PUBRW, "/up/ok.txt"));
    /* a key outside the prefix, as one field, as two, after the file */
    const char *out[] = { "key", "secret.txt", NULL };
    EXPECT(cos_form(&OWNER, PRIV, FORM_POLICY(PRIV, "up/"), out), 403, "AccessDenied");
    /* two key fields are one key (their text joined: "up/../secret.txt", a key of its own, inside up/) */
    const char *two[] = { "key", "up/", "key", "../secret.txt", NULL };
    reply r = cos_form(&OWNER, PRIV, FORM_POLICY(PRIV, "up/"), two);
    reply_free(&r);
    char *s = owner_get(PRIV, "/secret.txt");
    CHECK(s && !strcmp(s, "top secret"));
    free(s);
    /* the signer's rights bound the form: a temporary key for up/ cannot sign one for the whole bucket */
    tmpkey k = sts_key(&OWNER, "{\"version\":\"2.0\",\"statement\":[{\"effect\":\"allow\",\"action\":[\"name/cos:PostObject\","
                               "\"name/cos:PutObject\"],\"resource\":[\"" RES(PRIV, "up/*") "\"]}]}");
    creds kc = { k.id, k.key, k.token };
    const char *tok_out[] = { "key", "secret.txt", "x-cos-security-token", k.token, NULL };
    EXPECT(cos_form(&kc, PRIV, FORM_POLICY(PRIV, ""), tok_out), 403, "AccessDenied");
    const char *tok_ok[] = { "key", "up/by-key.txt", "x-cos-security-token", k.token, NULL };
    EXPECT(cos_form(&kc, PRIV, FORM_POLICY(PRIV, ""), tok_ok), 200, NULL);
    /* ... nor publish what it uploads */
    const char *tok_acl[] = { "key", "up/pub.txt", "x-cos-security-token", k.token, "x-cos-acl", "public-read", NULL };
    EXPECT(cos_form(&kc, PRIV, FORM_POLICY(PRIV, ""), tok_acl), 403, "AccessDenied");
    const char *tok_grant[] = { "key", "up/pub.txt", "x-cos-security-token", k.token, "x-cos-grant-read",
                                "uri=\"http://cam.qcloud.com/groups/global/AllUsers\"", NULL };
    EXPECT(cos_form(&kc, PRIV, FORM_POLICY(PRIV, ""), tok_grant), 403, "AccessDenied");
    EXPECT(simple(ANON, "GET", PRIV, "/up/pub.txt", NULL), 403, "AccessDenied");
    /* a form signed by the key without its token is nobody's */
    EXPECT(cos_form(&kc, PRIV, FORM_POLICY(PRIV, ""), ok), 403, "InvalidAccessKeyId");
    test_tmpkey_free(&k);
    /* an anonymous form cannot name a key outside what the bucket policy opens */
    EXPECT(sub(&OWNER, "PUT", PRIV, "/", "policy",
               "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:PutObject\",\"Resource\":"
               "\"arn:aws:s3:::" PRIV "/drop/*\"}]}"), 204, NULL);
    cos_buf b = COS_BUF_INIT;
    cos_buf_puts(&b, "--BB\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\ndrop/\r\n"
                     "--BB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.txt\"\r\n\r\nx\r\n"
                     "--BB\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\n/../secret.txt\r\n--BB--\r\n");
    call c = { "POST", PRIV, "/", NULL, ANON, NULL, 0, NULL, 0, "Content-Type: multipart/form-data; boundary=BB\r\n",
               b.data, b.len, NULL };
    r = do_call(&c); /* "drop//../secret.txt": a key of its own inside drop/, or refused */
    reply_free(&r);
    cos_buf_free(&b);
    EXPECT(sub(&OWNER, "DELETE", PRIV, "/", "policy", NULL), 204, NULL);
    s = owner_get(PRIV, "/secret.txt");
    CHECK(s && !strcmp(s, "top secret"));
    free(s);
}

/* ---------------------------------------------------------------- 8: the S3 dialect */

/* A SigV4 request, path style on 127.0.0.1 (every header in h is signed; extra is not). */
static reply s3_call(const creds *who, const char *method, const char *path, const cos_kv *q, size_t nq, const cos_kv *h,
                     size_t nh, const char *extra, const char *body)
{
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", g_srv.port);
    cos_kv hs[8];
    size_t n = 0;
    hs[n++] = (cos_kv){ "host", host };
    for (size_t i = 0; i < nh && n < 8; i++) hs[n++] = h[i];
    char sha[65];
    cos_sha256_hex(body ? body : "", body ? strlen(body) : 0, sha);
    cos_sigv4_params p = COS_SIGV4_PARAMS_INIT;
    p.access_key = who->id;
    p.secret_key = who->key;
    p.session_token = who->token;
    p.region = "us-east-1";
    p.method = method;
    p.encoded_path = path;
    p.query = q;
    p.query_count = nq;
    p.headers = hs;
    p.header_count = n;
    p.payload_hash = sha;
    cos_sigv4_result res;
    cos_error *err = NULL;
    if (cos_sigv4_sign(&p, &res, &err) != 0) {
        test_fail(__FILE__, __LINE__, "sigv4: %s", cos_error_message(err));
        cos_error_free(err);
        return (reply){ 0, NULL, NULL };
    }
    cos_buf b = COS_BUF_INIT;
    cos_buf_printf(&b, "%s %s", method, path);
    for (size_t i = 0; i < nq; i++) {
        cos_buf_putc(&b, i ? '&' : '?');
        put_encoded(&b, q[i].name);
        cos_buf_putc(&b, '=');
        put_encoded(&b, q[i].value);
    }
    cos_buf_printf(&b, " HTTP/1.1\r\nHost: %s\r\nx-amz-date: %s\r\nx-amz-content-sha256: %s\r\nAuthorization: %s\r\n",
                   host, res.amz_date, res.content_sha256, res.authorization);
    if (who->token) cos_buf_printf(&b, "x-amz-security-token: %s\r\n", who->token);
    for (size_t i = 0; i < nh; i++) cos_buf_printf(&b, "%s: %s\r\n", h[i].name, h[i].value);
    if (extra) cos_buf_puts(&b, extra);
    cos_buf_printf(&b, "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", body ? strlen(body) : 0, body ? body : "");
    cos_sigv4_result_free(&res);
    reply r = raw_http(b.data, b.len);
    cos_buf_free(&b);
    return r;
}

/* A SigV4 presigned target for method on path (signing only host). */
static char *s3_presigned(const creds *who, const char *method, const char *path, const cos_kv *q, size_t nq, int expires)
{
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", g_srv.port);
    cos_kv hs[] = { { "host", host } };
    cos_sigv4_params p = COS_SIGV4_PARAMS_INIT;
    p.access_key = who->id;
    p.secret_key = who->key;
    p.session_token = who->token;
    p.region = "us-east-1";
    p.method = method;
    p.encoded_path = path;
    p.query = q;
    p.query_count = nq;
    p.headers = hs;
    p.header_count = 1;
    char *query = NULL;
    cos_error *err = NULL;
    if (cos_sigv4_presign(&p, expires, &query, &err) != 0) {
        test_fail(__FILE__, __LINE__, "presign: %s", cos_error_message(err));
        cos_error_free(err);
        return NULL;
    }
    char *t = cos_sprintf("%s?%s", path, query);
    free(query);
    return t;
}

static reply s3_raw(const char *method, const char *target, const char *extra, const char *body)
{
    char *req = cos_sprintf("%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%sContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                            method, target, g_srv.port, extra ? extra : "", body ? strlen(body) : 0, body ? body : "");
    reply r = raw_http(req, strlen(req));
    free(req);
    return r;
}

static reply s3_call_get_secret(const creds *who)
{
    return s3_call(who, "GET", "/" PRIV "/secret.txt", NULL, 0, NULL, 0, NULL, NULL);
}

static void test_s3_presigned_urls_replayed(void)
{
    char *get = s3_presigned(&OWNER, "GET", "/" PRIV "/secret.txt", NULL, 0, 600);
    reply r = s3_raw("GET", get, NULL, NULL);
    CHECK(r.status == 200 && r.body && !strcmp(r.body, "top secret"));
    reply_free(&r);
    static const char *const ADDED[] = { "&acl", "&tagging", "&versionId=null", "&response-content-type=text%2Fhtml",
                                         "&attributes", "&uploads", "&policy", "&x-id=PutObject",
                                         "&X-Amz-Expires=604800", "&X-Amz-Date=20300101T000000Z" };
    for (size_t i = 0; i < COS_ARRAY_LEN(ADDED); i++) {
        char *t = cos_sprintf("%s%s", get, ADDED[i]);
        reply x = s3_raw("GET", t, NULL, NULL);
        if (x.status < 400) test_fail(__FILE__, __LINE__, "%s: %d", ADDED[i], x.status);
        reply_free(&x);
        free(t);
    }
    /* a second X-Amz-Signature is never the one checked, and the first still covers everything */
    char *two = cos_sprintf("%s&X-Amz-Signature=00", get);
    r = s3_raw("GET", two, NULL, NULL);
    CHECK(r.status == 200 || r.status == 403);
    reply_free(&r);
    free(two);
    char *first = cos_sprintf("%s", get);
    char *sig = strstr(first, "X-Amz-Signature=");
    if (sig) {
        char *bogus = cos_sprintf("%.*sX-Amz-Signature=%064d&%s", (int)(sig - first), first, 0, sig);
        EXPECT(s3_raw("GET", bogus, NULL, NULL), 403, NULL);
        free(bogus);
    }
    free(first);
    EXPECT(s3_raw("DELETE", get, NULL, NULL), 403, "SignatureDoesNotMatch");
    EXPECT(s3_raw("PUT", get, NULL, "overwritten"), 403, "SignatureDoesNotMatch");
    /* another bucket, the same key and signature */
    char *other = cos_sprintf("/" PUBRW "%s", get + strlen("/" PRIV));
    EXPECT(s3_raw("GET", other, NULL, NULL), 403, "SignatureDoesNotMatch");
    free(other);
    /* a Host that names the bucket virtually: the signed path and host differ */
    char vhost[128];
    snprintf(vhost, sizeof vhost, "Host: " PRIV ".s3.example.test\r\n");
    char *vt = cos_sprintf("%s", get + strlen("/" PRIV));
    char *vreq = cos_sprintf("GET %s HTTP/1.1\r\n%sConnection: close\r\n\r\n", vt, vhost);
    r = raw_http(vreq, strlen(vreq));
    CHECK(r.status == 403);
    reply_free(&r);
    free(vreq);
    free(vt);
    free(get);
    /* a presigned PUT: unsigned x-amz-* headers refused, nothing stored */
    char *put = s3_presigned(&OWNER, "PUT", "/" PRIV "/s3-put.txt", NULL, 0, 600);
    static const char *const HDRS[] = { "x-amz-acl: public-read\r\n", "x-amz-copy-source: /" PRIV "/secret.txt\r\n",
                                        "x-amz-tagging: a=b\r\n", "X-Amz-Grant-Read: uri=\"http://acs.amazonaws.com/groups/global/AllUsers\"\r\n",
                                        "x-cos-acl: public-read\r\n", "x-amz-metadata-directive: REPLACE\r\n" };
    for (size_t i = 0; i < COS_ARRAY_LEN(HDRS); i++) {
        reply x = s3_raw("PUT", put, HDRS[i], "data");
        if (x.status < 400) test_fail(__FILE__, __LINE__, "%s: %d", HDRS[i], x.status);
        reply_free(&x);
    }
    CHECK(!exists(PRIV, "/s3-put.txt"));
    EXPECT(s3_raw("PUT", put, NULL, "data"), 200, NULL);
    free(put);
    /* expiry: beyond S3's seven days is no URL */
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", g_srv.port);
    long long now = (long long)time(NULL);
    char date[32];
    time_t t0 = (time_t)(now - 10 * 86400);
    strftime(date, sizeof date, "%Y%m%dT%H%M%SZ", gmtime(&t0));
    char *old = cos_sprintf("/" PRIV "/secret.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=" TEST_SECRET_ID
                            "%%2F%.8s%%2Fus-east-1%%2Fs3%%2Faws4_request&X-Amz-Date=%s&X-Amz-Expires=999999999"
                            "&X-Amz-SignedHeaders=host&X-Amz-Signature=00", date, date);
    r = s3_raw("GET", old, NULL, NULL);
    CHECK(r.status == 400 || r.status == 403);
    CHECK(!r.body || !strstr(r.body, "top secret"));
    reply_free(&r);
    free(old);
}

/* A presigned PUT that signs its payload hash as a parameter (X-Amz-Content-Sha256) promises that
 * body: another one is refused and not stored. Before, the signature used the parameter and the body
 * was never compared with it. */
static void test_s3_presigned_payload_hash(void)
{
    char sha[65];
    cos_sha256_hex("promised", 8, sha);
    cos_kv q[] = { { "X-Amz-Content-Sha256", sha } };
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", g_srv.port);
    cos_kv hs[] = { { "host", host } };
    cos_sigv4_params p = COS_SIGV4_PARAMS_INIT;
    p.access_key = OWNER.id;
    p.secret_key = OWNER.key;
    p.region = "us-east-1";
    p.method = "PUT";
    p.encoded_path = "/" PRIV "/hashed.txt";
    p.query = q;
    p.query_count = 1;
    p.headers = hs;
    p.header_count = 1;
    p.payload_hash = sha;
    char *query = NULL;
    if (cos_sigv4_presign(&p, 600, &query, NULL) != 0) {
        CHECK(!"presign");
        return;
    }
    char *t = cos_sprintf("/" PRIV "/hashed.txt?%s", query);
    reply r = s3_raw("PUT", t, NULL, "replaced");
    CHECK(r.status == 400 || r.status == 403);
    CHECK(r.body && strstr(r.body, "XAmzContentSHA256Mismatch"));
    reply_free(&r);
    CHECK(!exists(PRIV, "/hashed.txt"));
    /* nor with an (unsigned) x-amz-content-sha256 header of the replayer's that would take
       the place of the signed parameter: UNSIGNED-PAYLOAD, or the hash of its own body */
    char other_sha[128];
    cos_sha256_hex("replaced", 8, sha);
    snprintf(other_sha, sizeof other_sha, "x-amz-content-sha256: %s\r\n", sha);
    const char *swaps[] = { "x-amz-content-sha256: UNSIGNED-PAYLOAD\r\n", other_sha };
    for (size_t i = 0; i < 2; i++) {
        reply x = s3_raw("PUT", t, swaps[i], "replaced");
        if (x.status < 400) test_fail(__FILE__, __LINE__, "a presigned hash swapped by header %zu: %d", i, x.status);
        reply_free(&x);
        CHECK(!exists(PRIV, "/hashed.txt"));
    }
    EXPECT(s3_raw("PUT", t, NULL, "promised"), 200, NULL);
    char *b = owner_get(PRIV, "/hashed.txt");
    CHECK(b && !strcmp(b, "promised"));
    free(b);
    free(t);
    free(query);
}

static void test_s3_header_auth(void)
{
    /* a header signature with an unsigned x-amz-* header added */
    reply r = s3_call(&OWNER, "PUT", "/" PRIV "/s3h.txt", NULL, 0, NULL, 0, "x-amz-acl: public-read\r\n", "d");
    CHECK_INT(r.status, 403);
    reply_free(&r);
    /* a body that is not the one hashed */
    char *raw_sha = NULL;
    {
        char sha[65];
        cos_sha256_hex("good", 4, sha);
        raw_sha = cos_strdup(sha);
    }
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", g_srv.port);
    cos_kv hs[] = { { "host", host } };
    cos_sigv4_params p = COS_SIGV4_PARAMS_INIT;
    p.access_key = OWNER.id;
    p.secret_key = OWNER.key;
    p.region = "us-east-1";
    p.method = "PUT";
    p.encoded_path = "/" PRIV "/swap.txt";
    p.headers = hs;
    p.header_count = 1;
    p.payload_hash = raw_sha;
    cos_sigv4_result res;
    if (cos_sigv4_sign(&p, &res, NULL) == 0) {
        char *req = cos_sprintf("PUT /" PRIV "/swap.txt HTTP/1.1\r\nHost: %s\r\nx-amz-date: %s\r\nx-amz-content-sha256: %s\r\n"
                                "Authorization: %s\r\nContent-Length: 4\r\nConnection: close\r\n\r\nevil",
                                host, res.amz_date, res.content_sha256, res.authorization);
        r = raw_http(req, strlen(req));
        CHECK(r.status == 400 || r.status == 403);
        reply_free(&r);
        free(req);
        cos_sigv4_result_free(&res);
    }
    free(raw_sha);
    CHECK(!exists(PRIV, "/swap.txt"));
    /* the other account in S3's names: a stranger too, whatever it signs */
    EXPECT(s3_call(&OTHER, "GET", "/" PRIV "/secret.txt", NULL, 0, NULL, 0, NULL, NULL), 403, "AccessDenied");
    cos_kv acl[] = { { "acl", "" } };
    EXPECT(s3_call(&OTHER, "GET", "/" PRIV "/secret.txt", acl, 1, NULL, 0, NULL, NULL), 403, "AccessDenied");
    cos_kv cp[] = { { "x-amz-copy-source", "/" PRIV "/secret.txt" } };
    EXPECT(s3_call(&OTHER, "PUT", "/" OTHERS "/s3-stolen.txt", NULL, 0, cp, 1, NULL, NULL), 403, "AccessDenied");
    /* a temporary key in S3's names: scoped like in COS's */
    tmpkey k = sts_key(&OWNER, "{\"version\":\"2.0\",\"statement\":[{\"effect\":\"allow\",\"action\":[\"name/cos:*\"],"
                               "\"resource\":[\"" RES(PRIV, "u/*") "\"]}]}");
    creds kc = { k.id, k.key, k.token };
    EXPECT(s3_call(&kc, "PUT", "/" PRIV "/u/s3k.txt", NULL, 0, NULL, 0, NULL, "k"), 200, NULL);
    EXPECT(s3_call(&kc, "GET", "/" PRIV "/secret.txt", NULL, 0, NULL, 0, NULL, NULL), 403, "AccessDenied");
    cos_kv cp2[] = { { "x-amz-copy-source", "/" PRIV "/secret.txt" } };
    EXPECT(s3_call(&kc, "PUT", "/" PRIV "/u/s3-stolen.txt", NULL, 0, cp2, 1, NULL, NULL), 403, "AccessDenied");
    cos_kv list[] = { { "list-type", "2" }, { "prefix", "u/" } };
    EXPECT(s3_call(&kc, "GET", "/" PRIV, list, 2, NULL, 0, NULL, NULL), 200, NULL);
    cos_kv list_all[] = { { "list-type", "2" } };
    EXPECT(s3_call(&kc, "GET", "/" PRIV, list_all, 1, NULL, 0, NULL, NULL), 403, "AccessDenied");
    /* its token is needed */
    creds no_token = { k.id, k.key, NULL };
    reply x = s3_call(&no_token, "GET", "/" PRIV "/u/s3k.txt", NULL, 0, NULL, 0, NULL, NULL);
    CHECK_INT(x.status, 403);
    reply_free(&x);
    test_tmpkey_free(&k);
    /* SigV2 query auth: every parameter it does not sign is refused */
    char exp[32];
    snprintf(exp, sizeof exp, "%lld", (long long)time(NULL) + 600);
    char *sts = cos_sprintf("GET\n\n\n%s\n/" PRIV "/secret.txt", exp);
    char sig[64];
    s3_v2_signature(OWNER.key, sts, strlen(sts), sig); /* base64(HMAC-SHA1(secret, string to sign)) */
    cos_buf t = COS_BUF_INIT;
    cos_buf_printf(&t, "/" PRIV "/secret.txt?AWSAccessKeyId=%s&Expires=%s&Signature=", OWNER.id, exp);
    put_encoded(&t, sig);
    reply ok = s3_raw("GET", t.data, NULL, NULL);
    CHECK(ok.status == 200 && ok.body && !strcmp(ok.body, "top secret"));
    reply_free(&ok);
    static const char *const V2_ADDED[] = { "&attributes", "&publicAccessBlock", "&ownershipControls", "&policyStatus",
                                            "&referer", "&append", "&prefix=x", "&inventory", "&acl" };
    for (size_t i = 0; i < COS_ARRAY_LEN(V2_ADDED); i++) {
        char *tt = cos_sprintf("%s%s", t.data, V2_ADDED[i]);
        reply y = s3_raw("GET", tt, NULL, NULL);
        if (y.status < 400) test_fail(__FILE__, __LINE__, "SigV2 %s: %d", V2_ADDED[i], y.status);
        reply_free(&y);
        free(tt);
    }
    cos_buf_free(&t);
    free(sts);
}

/* A read racing a rewrite: GET decided on a public object serves that object or decides again, never
 * the private one that replaced it. The server of its own waits 30 ms before every 4th open of a
 * data file (tests/preload/slow_open.c), so a GET's row-to-open window is wide enough for the rewrite
 * to land in it; before, the GET started over on the new row without deciding again and served the
 * private bytes to an anonymous caller. Bodies are over 64 KiB (smaller ones live in SQLite). */
#define RACE_SIZE (100 * 1024)
static volatile int g_race_done;
static int g_race_leaks, g_race_reads;
static pthread_mutex_t g_race_lock = PTHREAD_MUTEX_INITIALIZER;

static void *race_reader(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&g_race_done, __ATOMIC_ACQUIRE)) {
        reply r = simple(ANON, "GET", PUBR, "/race.bin", NULL);
        pthread_mutex_lock(&g_race_lock);
        g_race_reads++;
        if (r.status == 200 && r.body && r.body[0] == 'S') g_race_leaks++;
        pthread_mutex_unlock(&g_race_lock);
        reply_free(&r);
    }
    return NULL;
}

/* The same race through a copy: an anonymous copy of the public object into a public-read-write
 * bucket copies the object it was allowed to, never the private one replacing it. */
static int g_copy_leaks, g_copies;

static void *race_copier(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&g_race_done, __ATOMIC_ACQUIRE)) {
        call c = { "PUT", PUBRW, "/copied.bin", NULL, ANON, NULL, 0, NULL, 0,
                   "x-cos-copy-source: " PUBR ".cos.ap-guangzhou.myqcloud.com/race.bin\r\n", NULL, 0, NULL };
        reply r = do_call(&c);
        if (r.status == 200) {
            reply g = simple(&OWNER, "GET", PUBRW, "/copied.bin", NULL);
            pthread_mutex_lock(&g_race_lock);
            g_copies++;
            if (g.status == 200 && g.body && g.body[0] == 'S') g_copy_leaks++;
            pthread_mutex_unlock(&g_race_lock);
            reply_free(&g);
        }
        reply_free(&r);
    }
    return NULL;
}

static void test_read_racing_a_rewrite(void)
{
    const char *lib = getenv("COS_SLOW_OPEN_LIB");
    test_server slow;
    memset(&slow, 0, sizeof slow);
    char *root = test_tmpdir("authz-race");
    snprintf(slow.root, sizeof slow.root, "%s", root);
    free(root);
    char under[300];
    snprintf(under, sizeof under, "%s/data/", slow.root);
    const char *was = getenv("ASAN_OPTIONS");
    char *old_asan = was ? cos_strdup(was) : NULL;
    char *asan = cos_sprintf("%s%sverify_asan_link_order=0", was ? was : "", was ? ":" : "");
    if (lib) {
        setenv("LD_PRELOAD", lib, 1);
        setenv("COS_TEST_SLOW_OPEN_UNDER", under, 1);
        setenv("COS_TEST_SLOW_OPEN_MS", "30", 1);
        setenv("ASAN_OPTIONS", asan, 1);
    }
    int started = test_server_start(&slow, NULL);
    unsetenv("LD_PRELOAD");
    if (old_asan) setenv("ASAN_OPTIONS", old_asan, 1);
    else unsetenv("ASAN_OPTIONS");
    free(old_asan);
    free(asan);
    CHECK(started == 0);
    if (started != 0) return;
    g_port = slow.port;
    char *pub = malloc(RACE_SIZE + 1), *secret = malloc(RACE_SIZE + 1);
    memset(pub, 'P', RACE_SIZE);
    memset(secret, 'S', RACE_SIZE);
    pub[RACE_SIZE] = secret[RACE_SIZE] = '\0';
    call pr = { "PUT", PUBR, "/", "/", &OWNER, NULL, 0, (cos_kv[]){ { "x-cos-acl", "public-read" } }, 1, NULL, NULL, 0, NULL };
    EXPECT(do_call(&pr), 200, NULL);
    call prw = { "PUT", PUBRW, "/", "/", &OWNER, NULL, 0, (cos_kv[]){ { "x-cos-acl", "public-read-write" } }, 1, NULL, NULL, 0,
                 NULL };
    EXPECT(do_call(&prw), 200, NULL);
    EXPECT(simple(&OWNER, "PUT", PUBR, "/race.bin", pub), 200, NULL);
    g_race_done = 0;
    g_race_leaks = g_race_reads = g_copy_leaks = g_copies = 0;
    pthread_t readers[3];
    for (int i = 0; i < 2; i++) pthread_create(&readers[i], NULL, race_reader, NULL);
    pthread_create(&readers[2], NULL, race_copier, NULL);
    cos_kv priv[] = { { "x-cos-acl", "private" } };
    for (int i = 0; i < 30; i++) { /* public, private, public, ...: the private one is never anyone's */
        bool secret_turn = i % 2 == 0;
        call w = { "PUT", PUBR, "/race.bin", "/race.bin", &OWNER, NULL, 0, secret_turn ? priv : NULL, secret_turn ? 1 : 0,
                   NULL, secret_turn ? secret : pub, RACE_SIZE, NULL };
        reply r = do_call(&w);
        CHECK_INT(r.status, 200);
        reply_free(&r);
    }
    __atomic_store_n(&g_race_done, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 3; i++) pthread_join(readers[i], NULL);
    printf("    %d anonymous reads and %d copies racing 30 rewrites%s\n", g_race_reads, g_copies,
           lib ? " (slowed opens)" : "");
    if (g_race_leaks) test_fail(__FILE__, __LINE__, "%d anonymous reads got the private object", g_race_leaks);
    if (g_copy_leaks) test_fail(__FILE__, __LINE__, "%d anonymous copies got the private object", g_copy_leaks);
    g_port = 0;
    free(pub);
    free(secret);
    test_server_stop(&slow, false);
}

int main(void)
{
    /* an expired temporary key with a policy for everything, as the store kept it */
    char *root = test_tmpdir("authz-attack");
    snprintf(g_srv.root, sizeof g_srv.root, "%s", root);
    free(root);
    char path[600];
    snprintf(path, sizeof path, "%s/sts.json", g_srv.root);
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "[{\"id\":\"%s\",\"key\":\"%s\",\"token\":\"%s\",\"start\":1,\"expired\":%lld,\"account\":\"\","
                   "\"policy\":\"{\\\"version\\\":\\\"2.0\\\",\\\"statement\\\":[{\\\"effect\\\":\\\"allow\\\","
                   "\\\"action\\\":[\\\"*\\\"],\\\"resource\\\":[\\\"*\\\"]}]}\"}]\n",
                EXPIRED.id, EXPIRED.key, EXPIRED.token, (long long)time(NULL) - 5);
        fclose(f);
    }
    const char *args[] = { "--sts", "--s3-domain", "example.test", "--extra-key",
                           "AKIDatkOTHERaccount00000000000000000:atkOTHERaccountSECRETkey000000000:" OTHER_ID, NULL };
    if (test_server_start(&g_srv, args) != 0) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    EXPECT(simple(&OWNER, "PUT", PRIV, "/", NULL), 200, NULL);
    EXPECT(simple(&OWNER, "PUT", VERS, "/", NULL), 200, NULL);
    EXPECT(sub(&OWNER, "PUT", VERS, "/", "versioning",
               "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"), 200, NULL);
    call pr = { "PUT", PUBR, "/", "/", &OWNER, NULL, 0, (cos_kv[]){ { "x-cos-acl", "public-read" } }, 1, NULL, NULL, 0, NULL };
    EXPECT(do_call(&pr), 200, NULL);
    call prw = { "PUT", PUBRW, "/", "/", &OWNER, NULL, 0, (cos_kv[]){ { "x-cos-acl", "public-read-write" } }, 1, NULL, NULL, 0, NULL };
    EXPECT(do_call(&prw), 200, NULL);
    EXPECT(simple(&OWNER, "PUT", PRIV, "/secret.txt", "top secret"), 200, NULL);
    EXPECT(simple(&OWNER, "PUT", PRIV, "/pub/x.txt", "x"), 200, NULL);
    EXPECT(simple(&OWNER, "PUT", PUBR, "/a.txt", "public"), 200, NULL);
    RUN(test_version_acl_and_tags_are_the_versions_own);
    RUN(test_presigned_urls_replayed);
    RUN(test_temporary_key_urls);
    RUN(test_sts_body_is_bound_to_the_signature);
    RUN(test_times_and_expired_keys);
    RUN(test_copies_reach_nothing_unreadable);
    RUN(test_others_uploads);
    RUN(test_uploads_stay_unlisted);
    RUN(test_writer_cannot_publish_in_the_write);
    RUN(test_public_access_block_on_writes);
    RUN(test_public_access_block_on_forms);
    RUN(test_hostile_policies);
    RUN(test_odd_grantees_open_nothing);
    RUN(test_writers_own_what_they_write);
    RUN(test_asked_acl_is_applied);
    RUN(test_acl_grants_follow_the_object);
    RUN(test_public_access_block_holds);
    RUN(test_forms);
    RUN(test_conditions_see_what_handlers_apply);
    RUN(test_s3_presigned_urls_replayed);
    RUN(test_s3_header_auth);
    RUN(test_s3_presigned_payload_hash);
    RUN(test_read_racing_a_rewrite);
    test_server_stop(&g_srv, false);
    return test_report();
}

/* test_symlink_lock.c — COS's symlinks and object lock configuration as
 * cos-server keeps them (server/symlink.c, server/objlock.c;
 * docs/compatibility.md): PUT/GET ?symlink, GET/HEAD through a symlink
 * serving its target, and a symlink attacked: it never lets anyone read a
 * target they may not read (anonymous readers, public-read symlinks to
 * private targets, public-read-write buckets, temporary keys scoped to a
 * prefix), dangling targets, chains and loops, copies, deletes, versions.
 * Object lock: the configuration in COS's format, never disabled, never
 * next to suspended versioning; retention enforced (a multi-delete answers
 * per key), its dates dropped with their objects. */
#define _GNU_SOURCE
#include "testlib.h"
#include "cos/hash.h"
#include "cos/sign.h"
#include "util.h"
#include <sqlite3.h>
#include <time.h>

static test_server g_srv;
#define APPID TEST_APPID
#define SYM "symlinks-" APPID
#define VSYM "symvers-" APPID
#define PUBRW "sympubrw-" APPID
#define LOCK "locked-" APPID
#define SUSP "locksusp-" APPID
#define RET "retain-" APPID
#define VRET "vretain-" APPID
#define LOCKRW "lockrw-" APPID
#define RETCLEAN "retclean-" APPID

typedef test_tmpkey creds; /* id, key, token */
static creds OWNER = { TEST_SECRET_ID, TEST_SECRET_KEY, NULL };
#define ANON NULL

typedef test_reply reply;
/* A raw header line do_call sends and does not sign (NULL: none). */
static const char *g_unsigned_line;
#define EXPECT(r, status, code) test_expect_reply((r), (status), (code), __FILE__, __LINE__)

/* method on bucket at path (plain, percent-encoded as given) with the query pairs q (sent and signed) and headers
 * h (sent and signed), signed by who (ANON: unsigned); body as given. */
static reply do_call(const creds *who, const char *method, const char *bucket, const char *path, const cos_kv *q,
                     size_t nq, const cos_kv *h, size_t nh, const char *body)
{
    char *host = bucket ? cos_sprintf("%s.cos.ap-guangzhou.myqcloud.com", bucket) : cos_sprintf("127.0.0.1:%d", g_srv.port);
    cos_buf t = COS_BUF_INIT;
    cos_buf_puts(&t, path);
    for (size_t i = 0; i < nq; i++) {
        cos_buf_printf(&t, "%c%s", i ? '&' : '?', q[i].name);
        if (*q[i].value) {
            cos_buf_putc(&t, '=');
            for (const unsigned char *c = (const unsigned char *)q[i].value; *c; c++)
                if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || strchr("-_.~", *c))
                    cos_buf_putc(&t, (char)*c);
                else
                    cos_buf_printf(&t, "%%%02X", *c);
        }
    }
    test_cos_call c = { method, host, t.data, path, who ? who->id : NULL, who ? who->key : NULL, who ? who->token : NULL,
                        q, nq, h, nh, NULL, g_unsigned_line, body, body ? strlen(body) : 0 };
    reply r = test_cos_exchange(g_srv.port, &c);
    cos_buf_free(&t);
    free(host);
    return r;
}

static reply simple(const creds *who, const char *method, const char *bucket, const char *path, const char *body)
{
    return do_call(who, method, bucket, path, NULL, 0, NULL, 0, body);
}

static reply sub(const creds *who, const char *method, const char *bucket, const char *path, const char *name,
                 const char *body)
{
    cos_kv q[] = { { name, "" } };
    return do_call(who, method, bucket, path, q, 1, NULL, 0, body);
}

/* PUT ?symlink at path pointing to target, with one more header (x-cos-acl, ...) when name is set. */
static reply put_symlink(const creds *who, const char *bucket, const char *path, const char *target, const char *name,
                         const char *value)
{
    cos_kv q[] = { { "symlink", "" } };
    cos_kv h[] = { { "x-cos-symlink-target", target }, { name ? name : "", value ? value : "" } };
    return do_call(who, "PUT", bucket, path, q, 1, h, name ? 2 : 1, NULL);
}

/* The body of a 200 GET (malloc'd), or NULL with the failure recorded. */
static char *get_ok(const creds *who, const char *bucket, const char *path)
{
    reply r = simple(who, "GET", bucket, path, NULL);
    if (r.status != 200) {
        test_fail(__FILE__, __LINE__, "GET %s: %d %.300s", path, r.status, r.body ? r.body : "");
        test_reply_free(&r);
        return NULL;
    }
    char *body = r.body ? r.body : cos_strdup("");
    r.body = NULL;
    test_reply_free(&r);
    return body;
}

static void put_ok(const char *bucket, const char *path, const char *body, const char *acl)
{
    cos_kv h[] = { { "x-cos-acl", acl ? acl : "" } };
    EXPECT(do_call(&OWNER, "PUT", bucket, path, NULL, 0, h, acl ? 1 : 0, body), 200, NULL);
}

static reply sts_get(const cos_kv *q, size_t nq)
{
    cos_buf t = COS_BUF_INIT;
    cos_buf_puts(&t, "/sts");
    reply r = do_call(&OWNER, "GET", NULL, t.data, q, nq, NULL, 0, NULL);
    cos_buf_free(&t);
    return r;
}

/* A temporary key for bucket's keys under prefix with these actions. */
static creds temp_key(const char *bucket, const char *prefix, const char *actions)
{
    cos_kv q[3] = { { "bucket", bucket }, { "allowPrefix", prefix }, { "allowActions", actions } };
    reply r = sts_get(q, 3);
    return test_tmpkey_of(&r, __FILE__, __LINE__);
}

/* ---------------------------------------------------------------- symlinks */

static void test_symlink_basics(void)
{
    /* COS: a symlink is an object whose GET and HEAD serve its target's data and metadata; GET ?symlink names
       the target in x-cos-symlink-target */
    put_ok(SYM, "/docs/t.txt", "hello world", NULL);
    EXPECT(put_symlink(&OWNER, SYM, "/l.txt", "docs/t.txt", NULL, NULL), 200, NULL);
    reply r = sub(&OWNER, "GET", SYM, "/l.txt", "symlink", NULL);
    CHECK_INT(r.status, 200);
    char *t = test_reply_header(&r, "x-cos-symlink-target");
    CHECK_STR(t, "docs/t.txt");
    free(t);
    /* COS: the symlink's ETag is the MD5 of the path it stores */
    unsigned char d[16];
    char hex[33], want[40];
    cos_md5_digest("docs/t.txt", 10, d);
    cos_hex_encode(d, 16, hex);
    snprintf(want, sizeof want, "\"%s\"", hex);
    char *se = test_reply_header(&r, "ETag");
    CHECK_STR(se, want);
    free(se);
    test_reply_free(&r);
    char *body = get_ok(&OWNER, SYM, "/l.txt");
    CHECK_STR(body, "hello world");
    free(body);
    reply target = simple(&OWNER, "HEAD", SYM, "/docs/t.txt", NULL);
    r = simple(&OWNER, "HEAD", SYM, "/l.txt", NULL);
    CHECK_INT(r.status, 200);
    char *len = test_reply_header(&r, "Content-Length"), *etag = test_reply_header(&r, "ETag");
    char *tetag = test_reply_header(&target, "ETag");
    CHECK_STR(len, "11");
    CHECK_STR(etag, tetag);
    free(len);
    free(etag);
    free(tetag);
    test_reply_free(&r);
    test_reply_free(&target);
    /* a range is of the target's data */
    cos_kv range[] = { { "Range", "bytes=6-10" } };
    r = do_call(&OWNER, "GET", SYM, "/l.txt", NULL, 0, range, 1, NULL);
    CHECK_INT(r.status, 206);
    CHECK_STR(r.body, "world");
    test_reply_free(&r);
    /* the symlink object itself is listed (its data is the target's key) */
    r = simple(&OWNER, "GET", SYM, "/", NULL);
    CHECK(r.body && strstr(r.body, "<Key>l.txt</Key>"));
    test_reply_free(&r);
}

static void test_symlink_bad_requests(void)
{
    /* no target, a target naming the bucket or the symlink itself, a body: 400, nothing stored */
    EXPECT(sub(&OWNER, "PUT", SYM, "/bad", "symlink", NULL), 400, "InvalidArgument");
    EXPECT(put_symlink(&OWNER, SYM, "/bad", "", NULL, NULL), 400, "InvalidArgument");
    EXPECT(put_symlink(&OWNER, SYM, "/bad", "bad", NULL, NULL), 400, "InvalidArgument");
    EXPECT(put_symlink(&OWNER, SYM, "/bad", "../x", NULL, NULL), 400, "InvalidArgument");
    EXPECT(put_symlink(&OWNER, SYM, "/bad", "a/../..", NULL, NULL), 400, "InvalidArgument");
    cos_kv q[] = { { "symlink", "" } };
    cos_kv h[] = { { "x-cos-symlink-target", "docs/t.txt" } };
    EXPECT(do_call(&OWNER, "PUT", SYM, "/bad", q, 1, h, 1, "some data"), 400, "InvalidArgument");
    EXPECT(simple(&OWNER, "HEAD", SYM, "/bad", NULL), 404, NULL);
    /* the target must be signed: a captured (or presigned) PUT ?symlink cannot be replayed pointing elsewhere */
    g_unsigned_line = "x-cos-symlink-target: private/secret.txt\r\n";
    EXPECT(sub(&OWNER, "PUT", SYM, "/bad", "symlink", NULL), 403, "AccessDenied");
    g_unsigned_line = NULL;
    EXPECT(simple(&OWNER, "HEAD", SYM, "/bad", NULL), 404, NULL);
    /* GET ?symlink of a plain object, of a missing key, of a version that is not there */
    EXPECT(sub(&OWNER, "GET", SYM, "/docs/t.txt", "symlink", NULL), 400, "InvalidArgument");
    EXPECT(sub(&OWNER, "GET", SYM, "/nothing-here", "symlink", NULL), 404, "NoSuchKey");
    cos_kv vq[] = { { "symlink", "" }, { "versionId", "invalid-version-id" } };
    EXPECT(do_call(&OWNER, "GET", SYM, "/l.txt", vq, 2, NULL, 0, NULL), 404, "NoSuchVersion");
    /* no other method on ?symlink */
    EXPECT(sub(&OWNER, "DELETE", SYM, "/l.txt", "symlink", NULL), 405, NULL);
}

static void test_symlink_dangling_chain_loop(void)
{
    put_ok(SYM, "/gone.txt", "soon gone", NULL);
    EXPECT(put_symlink(&OWNER, SYM, "/dangling", "gone.txt", NULL, NULL), 200, NULL);
    EXPECT(simple(&OWNER, "DELETE", SYM, "/gone.txt", NULL), 204, NULL);
    EXPECT(simple(&OWNER, "GET", SYM, "/dangling", NULL), 404, "NoSuchKey");
    EXPECT(simple(&OWNER, "HEAD", SYM, "/dangling", NULL), 404, NULL);
    reply r = sub(&OWNER, "GET", SYM, "/dangling", "symlink", NULL); /* the symlink itself is still there */
    CHECK_INT(r.status, 200);
    test_reply_free(&r);
    /* it follows whatever is at the target's key now */
    put_ok(SYM, "/gone.txt", "back again", NULL);
    char *body = get_ok(&OWNER, SYM, "/dangling");
    CHECK_STR(body, "back again");
    free(body);
    /* one level only: a symlink to a symlink is not followed, so a loop cannot spin */
    EXPECT(put_symlink(&OWNER, SYM, "/chain", "l.txt", NULL, NULL), 200, NULL);
    EXPECT(simple(&OWNER, "GET", SYM, "/chain", NULL), 404, "NoSuchKey");
    EXPECT(put_symlink(&OWNER, SYM, "/loop-a", "loop-b", NULL, NULL), 200, NULL);
    EXPECT(put_symlink(&OWNER, SYM, "/loop-b", "loop-a", NULL, NULL), 200, NULL);
    EXPECT(simple(&OWNER, "GET", SYM, "/loop-a", NULL), 404, "NoSuchKey");
    EXPECT(simple(&OWNER, "HEAD", SYM, "/loop-b", NULL), 404, NULL);
}

static void test_symlink_copy_delete(void)
{
    /* a copy of a symlink copies the symlink object (its data is the target's key), never the target's data;
       the copy is a plain object */
    EXPECT(put_symlink(&OWNER, SYM, "/tocopy", "docs/t.txt", NULL, NULL), 200, NULL);
    cos_kv ch[] = { { "x-cos-copy-source", SYM ".cos.ap-guangzhou.myqcloud.com/tocopy" } };
    EXPECT(do_call(&OWNER, "PUT", SYM, "/copied", NULL, 0, ch, 1, NULL), 200, NULL);
    char *body = get_ok(&OWNER, SYM, "/copied");
    CHECK_STR(body, "docs/t.txt");
    free(body);
    EXPECT(sub(&OWNER, "GET", SYM, "/copied", "symlink", NULL), 400, "InvalidArgument");
    /* DELETE removes the symlink, never its target */
    EXPECT(simple(&OWNER, "DELETE", SYM, "/tocopy", NULL), 204, NULL);
    EXPECT(simple(&OWNER, "GET", SYM, "/tocopy", NULL), 404, "NoSuchKey");
    body = get_ok(&OWNER, SYM, "/docs/t.txt");
    CHECK_STR(body, "hello world");
    free(body);
    /* the record that makes an object a symlink is the server's own: a client naming it on a plain PUT makes a
       plain object */
    cos_kv inj[] = { { "x-cos-internal-symlink-target", "docs/t.txt" } };
    EXPECT(do_call(&OWNER, "PUT", SYM, "/injected", NULL, 0, inj, 1, "mine"), 200, NULL);
    body = get_ok(&OWNER, SYM, "/injected");
    CHECK_STR(body, "mine");
    free(body);
    EXPECT(sub(&OWNER, "GET", SYM, "/injected", "symlink", NULL), 400, "InvalidArgument");
    cos_kv meta[] = { { "x-cos-meta-note", "x-cos-internal-symlink-target: docs/t.txt" } };
    EXPECT(do_call(&OWNER, "PUT", SYM, "/injected2", NULL, 0, meta, 1, "mine too"), 200, NULL);
    body = get_ok(&OWNER, SYM, "/injected2");
    CHECK_STR(body, "mine too");
    free(body);
    /* a plain PUT over a symlink makes a plain object */
    EXPECT(put_symlink(&OWNER, SYM, "/over", "docs/t.txt", NULL, NULL), 200, NULL);
    put_ok(SYM, "/over", "plain now", NULL);
    body = get_ok(&OWNER, SYM, "/over");
    CHECK_STR(body, "plain now");
    free(body);
}

static void test_symlink_never_widens_access(void)
{
    /* a public-read symlink to a private target: anonymous readers get the symlink itself (GET ?symlink), never
       the target's data or metadata */
    put_ok(SYM, "/private/secret.txt", "top secret", NULL);
    EXPECT(put_symlink(&OWNER, SYM, "/pub/link", "private/secret.txt", "x-cos-acl", "public-read"), 200, NULL);
    reply r = simple(ANON, "GET", SYM, "/pub/link", NULL);
    CHECK_INT(r.status, 403);
    CHECK(!r.body || !strstr(r.body, "top secret"));
    test_reply_free(&r);
    r = simple(ANON, "HEAD", SYM, "/pub/link", NULL);
    CHECK_INT(r.status, 403);
    char *len = test_reply_header(&r, "Content-Length");
    CHECK(!len || strcmp(len, "10") != 0); /* not even the target's size */
    free(len);
    test_reply_free(&r);
    cos_kv range[] = { { "Range", "bytes=0-2" } };
    EXPECT(do_call(ANON, "GET", SYM, "/pub/link", NULL, 0, range, 1, NULL), 403, "AccessDenied");
    r = sub(ANON, "GET", SYM, "/pub/link", "symlink", NULL);
    CHECK_INT(r.status, 200);
    test_reply_free(&r);
    /* a private symlink to a public target: the symlink's own ACL is checked too */
    put_ok(SYM, "/pub/open.txt", "open data", "public-read");
    EXPECT(put_symlink(&OWNER, SYM, "/private/link", "pub/open.txt", NULL, NULL), 200, NULL);
    EXPECT(simple(ANON, "GET", SYM, "/private/link", NULL), 403, "AccessDenied");
    /* both public: the target's data */
    EXPECT(put_symlink(&OWNER, SYM, "/pub/link2", "pub/open.txt", "x-cos-acl", "public-read"), 200, NULL);
    char *body = get_ok(ANON, SYM, "/pub/link2");
    CHECK_STR(body, "open data");
    free(body);
    /* the target made private later: the decision follows the target as it is now */
    cos_kv acl[] = { { "x-cos-acl", "private" } };
    cos_kv aq[] = { { "acl", "" } };
    EXPECT(do_call(&OWNER, "PUT", SYM, "/pub/open.txt", aq, 1, acl, 1, NULL), 200, NULL);
    EXPECT(simple(ANON, "GET", SYM, "/pub/link2", NULL), 403, "AccessDenied");

    /* a temporary key for pub/ only: it may make a symlink there to anything (COS does not check the target when
       making one), and read through it only what it may read itself */
    creds k = temp_key(SYM, "pub/*", "name/cos:PutObject,name/cos:GetObject,name/cos:HeadObject");
    EXPECT(put_symlink(&k, SYM, "/pub/mine", "private/secret.txt", NULL, NULL), 200, NULL);
    r = simple(&k, "GET", SYM, "/pub/mine", NULL);
    CHECK_INT(r.status, 403);
    CHECK(!r.body || !strstr(r.body, "top secret"));
    test_reply_free(&r);
    EXPECT(simple(&k, "HEAD", SYM, "/pub/mine", NULL), 403, NULL);
    EXPECT(simple(&k, "GET", SYM, "/private/secret.txt", NULL), 403, "AccessDenied"); /* as without a symlink */
    put_ok(SYM, "/pub/t2.txt", "inside the prefix", NULL);
    EXPECT(put_symlink(&k, SYM, "/pub/ok", "pub/t2.txt", NULL, NULL), 200, NULL);
    body = get_ok(&k, SYM, "/pub/ok");
    CHECK_STR(body, "inside the prefix");
    free(body);
    /* nor can it make one outside its prefix */
    EXPECT(put_symlink(&k, SYM, "/private/evil", "pub/t2.txt", NULL, NULL), 403, "AccessDenied");
    test_tmpkey_free(&k);
    /* the symlink's own actions are named too: GetSymlink alone reads the symlink, not the target */
    k = temp_key(SYM, "pub/*", "name/cos:GetSymlink");
    r = sub(&k, "GET", SYM, "/pub/ok", "symlink", NULL);
    CHECK_INT(r.status, 200);
    test_reply_free(&r);
    EXPECT(simple(&k, "GET", SYM, "/pub/ok", NULL), 403, "AccessDenied");
    test_tmpkey_free(&k);

    /* a public-read-write bucket: anyone may write a symlink, and still reads through it only what is readable
       to anyone */
    put_ok(PUBRW, "/secret.txt", "bucket owner's secret", "private");
    EXPECT(put_symlink(ANON, PUBRW, "/peek", "secret.txt", NULL, NULL), 200, NULL);
    r = simple(ANON, "GET", PUBRW, "/peek", NULL);
    CHECK_INT(r.status, 403);
    CHECK(!r.body || !strstr(r.body, "owner's secret"));
    test_reply_free(&r);
    EXPECT(simple(ANON, "HEAD", PUBRW, "/peek", NULL), 403, NULL);
    /* and a symlink named like another bucket's key is a key of its own bucket */
    put_ok(SYM, "/x.txt", "in " SYM, NULL);
    EXPECT(put_symlink(ANON, PUBRW, "/cross", "/" SYM "/x.txt", NULL, NULL), 200, NULL);
    EXPECT(simple(ANON, "GET", PUBRW, "/cross", NULL), 404, "NoSuchKey");
}

static void test_symlink_versions(void)
{
    /* a symlink has versions of its own (PUT answers x-cos-version-id, GET ?symlink&versionId= reads one); each
       follows its target's current version */
    EXPECT(sub(&OWNER, "PUT", VSYM, "/", "versioning", "<VersioningConfiguration><Status>Enabled</Status>"
                                                      "</VersioningConfiguration>"), 200, NULL);
    put_ok(VSYM, "/a.txt", "a one", NULL);
    put_ok(VSYM, "/b.txt", "b one", NULL);
    reply r = put_symlink(&OWNER, VSYM, "/l", "a.txt", NULL, NULL);
    CHECK_INT(r.status, 200);
    char *v1 = test_reply_header(&r, "x-cos-version-id");
    CHECK(v1 && *v1 && strcmp(v1, "null") != 0);
    test_reply_free(&r);
    r = put_symlink(&OWNER, VSYM, "/l", "b.txt", NULL, NULL);
    char *v2 = test_reply_header(&r, "x-cos-version-id");
    CHECK(v2 && v1 && strcmp(v1, v2) != 0);
    test_reply_free(&r);
    if (!v1 || !v2) {
        free(v1);
        free(v2);
        return;
    }
    cos_kv q1[] = { { "symlink", "" }, { "versionId", v1 } };
    r = do_call(&OWNER, "GET", VSYM, "/l", q1, 2, NULL, 0, NULL);
    CHECK_INT(r.status, 200);
    char *t = test_reply_header(&r, "x-cos-symlink-target"), *vv = test_reply_header(&r, "x-cos-version-id");
    CHECK_STR(t, "a.txt");
    CHECK_STR(vv, v1);
    free(t);
    free(vv);
    test_reply_free(&r);
    char *body = get_ok(&OWNER, VSYM, "/l");
    CHECK_STR(body, "b one");
    free(body);
    /* the older version of the symlink, read through: its target's current data */
    put_ok(VSYM, "/a.txt", "a two", NULL);
    cos_kv g1[] = { { "versionId", v1 } };
    r = do_call(&OWNER, "GET", VSYM, "/l", g1, 1, NULL, 0, NULL);
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body, "a two");
    test_reply_free(&r);
    /* a target hidden by a delete marker is gone for the symlink too */
    EXPECT(simple(&OWNER, "DELETE", VSYM, "/b.txt", NULL), 204, NULL);
    EXPECT(simple(&OWNER, "GET", VSYM, "/l", NULL), 404, "NoSuchKey");
    /* deleting the symlink leaves a marker; its versions stay readable */
    EXPECT(simple(&OWNER, "DELETE", VSYM, "/l", NULL), 204, NULL);
    EXPECT(sub(&OWNER, "GET", VSYM, "/l", "symlink", NULL), 404, "NoSuchKey");
    r = do_call(&OWNER, "GET", VSYM, "/l", q1, 2, NULL, 0, NULL);
    CHECK_INT(r.status, 200);
    test_reply_free(&r);
    free(v1);
    free(v2);
}

/* ---------------------------------------------------------------- object lock */

static const char ENABLE[] = "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled>"
                             "</ObjectLockConfiguration>";

static void test_object_lock_configuration(void)
{
    EXPECT(sub(&OWNER, "GET", LOCK, "/", "object-lock", NULL), 404, "ObjectLockConfigurationNotFoundError");
    /* COS's values only: Enabled; a DefaultRetention of COMPLIANCE for 1 to 36500 Days */
    static const char *const BAD[] = {
        "<ObjectLockConfiguration><ObjectLockEnabled>Disabled</ObjectLockEnabled></ObjectLockConfiguration>",
        "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention>"
        "<Mode>GOVERNANCE</Mode><Days>30</Days></DefaultRetention></Rule></ObjectLockConfiguration>",
        "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention>"
        "<Mode>COMPLIANCE</Mode><Days>0</Days></DefaultRetention></Rule></ObjectLockConfiguration>",
        "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention>"
        "<Days>36501</Days></DefaultRetention></Rule></ObjectLockConfiguration>",
        "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention>"
        "<Mode>COMPLIANCE</Mode><Years>1</Years></DefaultRetention></Rule></ObjectLockConfiguration>",
        "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention>"
        "<Mode>COMPLIANCE</Mode></DefaultRetention></Rule></ObjectLockConfiguration>",
        "<ObjectLockConfiguration>", "" };
    for (size_t i = 0; i < sizeof BAD / sizeof *BAD; i++)
        EXPECT(sub(&OWNER, "PUT", LOCK, "/", "object-lock", *BAD[i] ? BAD[i] : NULL), 400, "MalformedXML");
    EXPECT(sub(&OWNER, "GET", LOCK, "/", "object-lock", NULL), 404, "ObjectLockConfigurationNotFoundError");
    /* only the owner (or whom a policy allows) configures it */
    EXPECT(sub(ANON, "PUT", LOCK, "/", "object-lock", ENABLE), 403, "AccessDenied");
    EXPECT(sub(&OWNER, "PUT", LOCK, "/", "object-lock", ENABLE), 200, NULL);
    reply r = sub(&OWNER, "GET", LOCK, "/", "object-lock", NULL);
    CHECK_INT(r.status, 200);
    CHECK(r.body && strstr(r.body, "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled>"
                                   "</ObjectLockConfiguration>"));
    test_reply_free(&r);
    EXPECT(sub(ANON, "GET", LOCK, "/", "object-lock", NULL), 403, "AccessDenied");
    EXPECT(sub(&OWNER, "PUT", LOCK, "/", "object-lock",
               "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention>"
               "<Days>30</Days></DefaultRetention></Rule></ObjectLockConfiguration>"), 200, NULL);
    r = sub(&OWNER, "GET", LOCK, "/", "object-lock", NULL);
    CHECK(r.body && strstr(r.body, "<Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>30</Days>"
                                   "</DefaultRetention></Rule>"));
    test_reply_free(&r);
    /* once enabled, never disabled: no DELETE, no Disabled */
    EXPECT(sub(&OWNER, "DELETE", LOCK, "/", "object-lock", NULL), 405, NULL);
    EXPECT(sub(&OWNER, "PUT", LOCK, "/", "object-lock",
               "<ObjectLockConfiguration><ObjectLockEnabled>Disabled</ObjectLockEnabled></ObjectLockConfiguration>"),
           400, "MalformedXML");
    r = sub(&OWNER, "GET", LOCK, "/", "object-lock", NULL);
    CHECK(r.body && strstr(r.body, "Enabled"));
    test_reply_free(&r);
    /* versioning cannot be suspended next to it; enabling stays allowed */
    EXPECT(sub(&OWNER, "PUT", LOCK, "/", "versioning",
               "<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>"), 409,
           "InvalidBucketState");
    r = sub(&OWNER, "GET", LOCK, "/", "versioning", NULL);
    CHECK(r.body && !strstr(r.body, "Suspended"));
    test_reply_free(&r);
    EXPECT(sub(&OWNER, "PUT", LOCK, "/", "versioning",
               "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"), 200, NULL);
    /* nor enabled in a bucket whose versioning is suspended */
    EXPECT(sub(&OWNER, "PUT", SUSP, "/", "versioning",
               "<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>"), 200, NULL);
    EXPECT(sub(&OWNER, "PUT", SUSP, "/", "object-lock", ENABLE), 409, "InvalidBucketState");
    EXPECT(sub(&OWNER, "GET", SUSP, "/", "object-lock", NULL), 404, "ObjectLockConfigurationNotFoundError");
}

static reply s3_call(const char *method, const char *path, const char *sub_name, const char *body);

static const char RULE_1DAY[] = "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule>"
                                "<DefaultRetention><Mode>COMPLIANCE</Mode><Days>1</Days></DefaultRetention></Rule>"
                                "</ObjectLockConfiguration>";

/* The RetainUntilDate GET ?retention answers for path (ms), -1 when not 200. */
static int64_t retain_until(const char *bucket, const char *path)
{
    reply r = sub(&OWNER, "GET", bucket, path, "retention", NULL);
    int64_t ms = -1;
    const char *a = r.status == 200 && r.body ? strstr(r.body, "<RetainUntilDate>") : NULL;
    if (a) {
        char iso[40];
        snprintf(iso, sizeof iso, "%.24s", a + 17);
        ms = cos_iso8601_parse(iso);
    }
    test_reply_free(&r);
    return ms;
}

static reply retention_put(const char *bucket, const char *path, const char *iso)
{
    char *doc = cos_sprintf("<Retention><RetainUntilDate>%s</RetainUntilDate></Retention>", iso);
    reply r = sub(&OWNER, "PUT", bucket, path, "retention", doc);
    free(doc);
    return r;
}

static void test_retention_unversioned(void)
{
    /* COS: an object under retention cannot be overwritten or deleted, by anyone, by any path */
    EXPECT(sub(&OWNER, "PUT", RET, "/", "object-lock", RULE_1DAY), 200, NULL);
    put_ok(RET, "/a", "kept", NULL);
    put_ok(RET, "/src", "other data", NULL);
    int64_t until = retain_until(RET, "/a"), now = (int64_t)time(NULL) * 1000;
    CHECK(until > now + 86400000LL - 600000 && until < now + 86400000LL + 600000); /* written now, kept a day */
    EXPECT(do_call(&OWNER, "PUT", RET, "/a", NULL, 0, NULL, 0, "overwritten"), 403, "AccessDenied");
    EXPECT(simple(&OWNER, "DELETE", RET, "/a", NULL), 403, "AccessDenied");
    cos_kv ch[] = { { "x-cos-copy-source", RET ".cos.ap-guangzhou.myqcloud.com/src" } };
    EXPECT(do_call(&OWNER, "PUT", RET, "/a", NULL, 0, ch, 1, NULL), 403, "AccessDenied");
    cos_kv self[] = { { "x-cos-copy-source", RET ".cos.ap-guangzhou.myqcloud.com/a" },
                      { "x-cos-metadata-directive", "Replaced" } };
    EXPECT(do_call(&OWNER, "PUT", RET, "/a", NULL, 0, self, 2, NULL), 403, "AccessDenied");
    EXPECT(put_symlink(&OWNER, RET, "/a", "src", NULL, NULL), 403, "AccessDenied");
    /* a multipart upload may start; its completion over the object is refused */
    reply r = sub(&OWNER, "POST", RET, "/a", "uploads", NULL);
    const char *u = r.body ? strstr(r.body, "<UploadId>") : NULL;
    char upload[128] = "";
    if (u) snprintf(upload, sizeof upload, "%.*s", (int)strcspn(u + 10, "<"), u + 10);
    test_reply_free(&r);
    CHECK(*upload);
    cos_kv pq[] = { { "partNumber", "1" }, { "uploadId", upload } };
    r = do_call(&OWNER, "PUT", RET, "/a", pq, 2, NULL, 0, "part data");
    char *etag = test_reply_header(&r, "ETag");
    test_reply_free(&r);
    char *done = cos_sprintf("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part>"
                             "</CompleteMultipartUpload>", etag ? etag : "");
    cos_kv cq[] = { { "uploadId", upload } };
    EXPECT(do_call(&OWNER, "POST", RET, "/a", cq, 1, NULL, 0, done), 403, "AccessDenied");
    free(done);
    free(etag);
    EXPECT(do_call(&OWNER, "DELETE", RET, "/a", cq, 1, NULL, 0, NULL), 204, NULL);
    /* a multi-delete naming them: each retained key an <Error> of its own, nothing deleted */
    r = sub(&OWNER, "POST", RET, "/", "delete",
            "<Delete><Object><Key>src</Key></Object><Object><Key>a</Key></Object></Delete>");
    CHECK_INT(r.status, 200);
    CHECK(r.body && !strstr(r.body, "<Deleted>") && test_count_of(r.body, "<Code>AccessDenied</Code>") == 2);
    CHECK(r.body && strstr(r.body, "<Key>src</Key>") && strstr(r.body, "<Key>a</Key>"));
    test_reply_free(&r);
    /* nor in S3's dialect */
    EXPECT(s3_call("DELETE", "/" RET "/a", NULL, NULL), 403, "AccessDenied");
    EXPECT(s3_call("PUT", "/" RET "/a", NULL, "s3 overwrite"), 403, "AccessDenied");
    char *body = get_ok(&OWNER, RET, "/a");
    CHECK_STR(body, "kept");
    free(body);
    body = get_ok(&OWNER, RET, "/src");
    CHECK_STR(body, "other data");
    free(body);
    /* an appendable object is retained from its first append: nothing may be added */
    cos_kv a0[] = { { "append", "" }, { "position", "0" } };
    EXPECT(do_call(&OWNER, "POST", RET, "/log", a0, 2, NULL, 0, "line 1\n"), 200, NULL);
    cos_kv a1[] = { { "append", "" }, { "position", "7" } };
    EXPECT(do_call(&OWNER, "POST", RET, "/log", a1, 2, NULL, 0, "line 2\n"), 403, "AccessDenied");

    /* retention only grows: shorter 403, longer kept */
    r = retention_put(RET, "/a", "2020-01-01T00:00:00.000Z");
    CHECK_INT(r.status, 400); /* in the past */
    test_reply_free(&r);
    char soon[32];
    cos_iso8601_format(now + 3600000, soon);
    EXPECT(retention_put(RET, "/a", soon), 403, "AccessDenied");
    EXPECT(retention_put(RET, "/a", "2099-01-01T00:00:00.000Z"), 200, NULL);
    CHECK(retain_until(RET, "/a") == cos_iso8601_parse("2099-01-01T00:00:00.000Z"));
    EXPECT(retention_put(RET, "/a", "2098-01-01T00:00:00.000Z"), 403, "AccessDenied");

    /* the rule removed: objects written since are free, those written before stay kept */
    EXPECT(sub(&OWNER, "PUT", RET, "/", "object-lock", ENABLE), 200, NULL);
    EXPECT(simple(&OWNER, "DELETE", RET, "/a", NULL), 403, "AccessDenied");
    EXPECT(simple(&OWNER, "DELETE", RET, "/src", NULL), 403, "AccessDenied");
    put_ok(RET, "/free", "free", NULL);
    put_ok(RET, "/free", "free again", NULL);
    EXPECT(sub(&OWNER, "GET", RET, "/free", "retention", NULL), 404, "NoSuchObjectLockConfiguration");
    /* ... until a retention is set on it */
    EXPECT(retention_put(RET, "/free", "2099-01-01T00:00:00.000Z"), 200, NULL);
    EXPECT(simple(&OWNER, "DELETE", RET, "/free", NULL), 403, "AccessDenied");
    /* a new rule is not applied to what was written before it */
    put_ok(RET, "/late", "late", NULL);
    EXPECT(sub(&OWNER, "PUT", RET, "/", "object-lock", RULE_1DAY), 200, NULL);
    /* a multi-delete of a free key and a retained one deletes the free one (COS, S3: an answer per key) */
    r = sub(&OWNER, "POST", RET, "/", "delete",
            "<Delete><Object><Key>late</Key></Object><Object><Key>a</Key></Object></Delete>");
    CHECK_INT(r.status, 200);
    CHECK(r.body && strstr(r.body, "<Deleted><Key>late</Key>"));
    CHECK(r.body && strstr(r.body, "<Error><Key>a</Key>") && test_count_of(r.body, "<Code>AccessDenied</Code>") == 1);
    test_reply_free(&r);
    EXPECT(simple(&OWNER, "GET", RET, "/late", NULL), 404, "NoSuchKey");
    body = get_ok(&OWNER, RET, "/a");
    CHECK_STR(body, "kept");
    free(body);
    /* quiet: the retained key's <Error> only */
    r = sub(&OWNER, "POST", RET, "/", "delete",
            "<Delete><Quiet>true</Quiet><Object><Key>gone</Key></Object><Object><Key>a</Key></Object></Delete>");
    CHECK_INT(r.status, 200);
    CHECK(r.body && !strstr(r.body, "<Deleted>") && strstr(r.body, "<Error><Key>a</Key>"));
    test_reply_free(&r);
    /* who may not set retention, does not */
    EXPECT(sub(ANON, "PUT", RET, "/log", "retention",
               "<Retention><RetainUntilDate>2099-01-01T00:00:00.000Z</RetainUntilDate></Retention>"), 403,
           "AccessDenied");
    /* and a bucket without the lock has no retention to set */
    EXPECT(retention_put(SYM, "/docs/t.txt", "2099-01-01T00:00:00.000Z"), 400, "InvalidRequest");
    EXPECT(sub(&OWNER, "GET", SYM, "/docs/t.txt", "retention", NULL), 404, "NoSuchObjectLockConfiguration");
}

static char g_vold[128]; /* a version written before the versioned bucket's rule */

static void test_retention_versioned(void)
{
    /* with versioning, as in S3: writes make versions and DELETE makes a marker; a retained version itself is
       never deleted */
    EXPECT(sub(&OWNER, "PUT", VRET, "/", "versioning", "<VersioningConfiguration><Status>Enabled</Status>"
                                                      "</VersioningConfiguration>"), 200, NULL);
    reply r = do_call(&OWNER, "PUT", VRET, "/old", NULL, 0, NULL, 0, "before the rule");
    char *vold = test_reply_header(&r, "x-cos-version-id");
    test_reply_free(&r);
    CHECK(vold != NULL);
    snprintf(g_vold, sizeof g_vold, "%s", vold ? vold : "none");
    free(vold);
    EXPECT(sub(&OWNER, "PUT", VRET, "/", "object-lock", RULE_1DAY), 200, NULL);
    r = do_call(&OWNER, "PUT", VRET, "/v", NULL, 0, NULL, 0, "one");
    char *v1 = test_reply_header(&r, "x-cos-version-id");
    test_reply_free(&r);
    CHECK(v1 != NULL);
    if (!v1) return;
    put_ok(VRET, "/v", "two", NULL);
    r = simple(&OWNER, "DELETE", VRET, "/v", NULL);
    CHECK_INT(r.status, 204);
    char *marker = test_reply_header(&r, "x-cos-version-id");
    test_reply_free(&r);
    cos_kv vq[] = { { "versionId", v1 } };
    EXPECT(do_call(&OWNER, "DELETE", VRET, "/v", vq, 1, NULL, 0, NULL), 403, "AccessDenied");
    /* in a multi-delete, the retained version is an <Error> naming it; a version with no retention goes (the
       rule holds for versions written under it: one written before the rule is free) */
    char *doc = cos_sprintf("<Delete><Object><Key>v</Key><VersionId>%s</VersionId></Object>"
                            "<Object><Key>old</Key><VersionId>%s</VersionId></Object></Delete>", v1, g_vold);
    r = sub(&OWNER, "POST", VRET, "/", "delete", doc);
    CHECK_INT(r.status, 200);
    char *want = cos_sprintf("<Error><Key>v</Key><VersionId>%s</VersionId><Code>AccessDenied</Code>", v1);
    CHECK(r.body && strstr(r.body, want));
    CHECK(r.body && strstr(r.body, "<Deleted><Key>old</Key>"));
    free(want);
    test_reply_free(&r);
    free(doc);
    cos_kv oq[] = { { "versionId", g_vold } };
    EXPECT(do_call(&OWNER, "GET", VRET, "/old", oq, 1, NULL, 0, NULL), 404, NULL);
    EXPECT(s3_call("DELETE", "/" VRET "/v", NULL, NULL), 204, NULL); /* another marker */
    r = do_call(&OWNER, "GET", VRET, "/v", vq, 1, NULL, 0, NULL);
    CHECK_INT(r.status, 200);
    CHECK_STR(r.body, "one");
    test_reply_free(&r);
    /* a delete marker holds no data: it may go */
    if (marker) {
        cos_kv mq[] = { { "versionId", marker } };
        EXPECT(do_call(&OWNER, "DELETE", VRET, "/v", mq, 1, NULL, 0, NULL), 204, NULL);
    }
    /* the version's retention, named by versionId */
    cos_kv rq[] = { { "retention", "" }, { "versionId", v1 } };
    r = do_call(&OWNER, "GET", VRET, "/v", rq, 2, NULL, 0, NULL);
    CHECK_INT(r.status, 200);
    CHECK(r.body && strstr(r.body, "<RetainUntilDate>"));
    test_reply_free(&r);
    free(marker);
    free(v1);
}

static void test_retention_public_writers(void)
{
    /* a public-read-write bucket: anyone may write a new key, no one may replace or delete a retained one, by PUT,
       by a browser's form, by DELETE */
    EXPECT(sub(&OWNER, "PUT", LOCKRW, "/", "object-lock", RULE_1DAY), 200, NULL);
    EXPECT(simple(ANON, "PUT", LOCKRW, "/w", "first"), 200, NULL);
    EXPECT(simple(ANON, "PUT", LOCKRW, "/w", "second"), 403, "AccessDenied");
    const char *form = "--BB\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nw\r\n"
                       "--BB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.txt\"\r\n\r\n"
                       "form data\r\n--BB--\r\n";
    cos_kv ct[] = { { "Content-Type", "multipart/form-data; boundary=BB" } };
    EXPECT(do_call(ANON, "POST", LOCKRW, "/", NULL, 0, ct, 1, form), 403, "AccessDenied");
    EXPECT(simple(ANON, "DELETE", LOCKRW, "/w", NULL), 403, "AccessDenied");
    EXPECT(simple(&OWNER, "DELETE", LOCKRW, "/w", NULL), 403, "AccessDenied");
    char *body = get_ok(ANON, LOCKRW, "/w");
    CHECK_STR(body, "first");
    free(body);
    /* a form to a new key is a new retained object */
    const char *form2 = "--BB\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nw2\r\n"
                        "--BB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.txt\"\r\n\r\n"
                        "form data\r\n--BB--\r\n";
    EXPECT(do_call(ANON, "POST", LOCKRW, "/", NULL, 0, ct, 1, form2), 200, NULL);
    EXPECT(simple(ANON, "DELETE", LOCKRW, "/w2", NULL), 403, "AccessDenied");
}

static void test_retention_headers_refused(void)
{
    /* retention asked for by a write's headers is not kept that way: 501, nothing stored (a 200 would promise a
       lock the object does not have) */
    cos_kv h[] = { { "x-cos-object-lock-mode", "COMPLIANCE" },
                   { "x-cos-object-lock-retain-until-date", "2099-01-01T00:00:00.000Z" } };
    EXPECT(do_call(&OWNER, "PUT", LOCK, "/kept.txt", NULL, 0, h, 2, "keep me"), 501, "NotImplemented");
    EXPECT(simple(&OWNER, "HEAD", LOCK, "/kept.txt", NULL), 404, NULL);
    cos_kv one[] = { { "x-cos-object-lock-retain-until-date", "2099-01-01T00:00:00.000Z" } };
    cos_kv uq[] = { { "uploads", "" } };
    EXPECT(do_call(&OWNER, "POST", LOCK, "/kept.txt", uq, 1, one, 1, NULL), 501, "NotImplemented");
    /* legal holds are not implemented either */
    EXPECT(sub(&OWNER, "PUT", LOCK, "/kept.txt", "legal-hold", "<LegalHold><Status>ON</Status></LegalHold>"), 501,
           "NotImplemented");
}

/* A SigV4-signed S3 request (path-style: /BUCKET/...), as an S3 tool sends it. */
static reply s3_call(const char *method, const char *path, const char *sub_name, const char *body)
{
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", g_srv.port);
    cos_kv hs[] = { { "host", host } };
    cos_kv q[] = { { sub_name ? sub_name : "", "" } };
    cos_sigv4_params p = COS_SIGV4_PARAMS_INIT;
    p.access_key = TEST_SECRET_ID;
    p.secret_key = TEST_SECRET_KEY;
    p.region = "us-east-1";
    p.method = method;
    p.encoded_path = path;
    p.query = q;
    p.query_count = sub_name ? 1 : 0;
    p.headers = hs;
    p.header_count = 1;
    p.payload_hash = "UNSIGNED-PAYLOAD";
    cos_sigv4_result res;
    cos_error *err = NULL;
    reply r = { 0, NULL, NULL };
    if (cos_sigv4_sign(&p, &res, &err) != 0) {
        test_fail(__FILE__, __LINE__, "sigv4: %s", cos_error_message(err));
        cos_error_free(err);
        return r;
    }
    size_t blen = body ? strlen(body) : 0;
    char *req = cos_sprintf("%s %s%s%s HTTP/1.1\r\nHost: %s\r\nx-amz-date: %s\r\nx-amz-content-sha256: %s\r\n"
                            "Authorization: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                            method, path, sub_name ? "?" : "", sub_name ? sub_name : "", host, res.amz_date,
                            res.content_sha256, res.authorization, blen, body ? body : "");
    cos_sigv4_result_free(&res);
    r = test_http_exchange(g_srv.port, req, strlen(req));
    free(req);
    return r;
}

static void test_object_lock_s3_dialect(void)
{
    /* S3 enables object lock on an existing bucket only when its versioning is enabled (else 409
       InvalidBucketState), and its lock headers are refused as COS's are */
    const char *path = "/s3lock-" APPID;
    EXPECT(s3_call("PUT", path, NULL, NULL), 200, NULL);
    EXPECT(s3_call("PUT", path, "object-lock", ENABLE), 409, "InvalidBucketState");
    EXPECT(s3_call("GET", path, "object-lock", NULL), 404, "ObjectLockConfigurationNotFoundError");
    EXPECT(s3_call("PUT", path, "versioning", "<VersioningConfiguration><Status>Enabled</Status>"
                                              "</VersioningConfiguration>"), 200, NULL);
    EXPECT(s3_call("PUT", path, "object-lock", ENABLE), 200, NULL);
    reply r = s3_call("GET", path, "object-lock", NULL);
    CHECK_INT(r.status, 200);
    CHECK(r.body && strstr(r.body, "<ObjectLockEnabled>Enabled</ObjectLockEnabled>"));
    test_reply_free(&r);
    EXPECT(s3_call("PUT", path, "versioning", "<VersioningConfiguration><Status>Suspended</Status>"
                                              "</VersioningConfiguration>"), 409, "InvalidBucketState");
}

/* The rows of retention dates left in meta.db for bucket. */
static int retention_rows(const char *bucket)
{
    char *path = test_db_snapshot(g_srv.root); /* the server's own is its alone */
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int n = -1;
    if (path && sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT count(*) FROM configs WHERE bucket = ?1 AND kind LIKE 'retention:%'", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, bucket, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    test_db_snapshot_free(path);
    return n;
}

/* A retention date set by PUT ?retention was kept for ever, a row per version, also once its object was
 * deleted after the date: now destroying an object whose retention is over takes its row too. */
static void test_retention_rows_cleaned(void)
{
    EXPECT(simple(&OWNER, "PUT", RETCLEAN, "/", NULL), 200, NULL);
    EXPECT(sub(&OWNER, "PUT", RETCLEAN, "/", "object-lock", ENABLE), 200, NULL);
    put_ok(RETCLEAN, "/short", "kept a moment", NULL);
    int64_t until = (int64_t)time(NULL) * 1000 + 2000;
    char iso[32];
    cos_iso8601_format(until, iso);
    EXPECT(retention_put(RETCLEAN, "/short", iso), 200, NULL);
    CHECK_INT(retention_rows(RETCLEAN), 1);
    EXPECT(simple(&OWNER, "DELETE", RETCLEAN, "/short", NULL), 403, "AccessDenied");
    while (cos_now_ms() <= until) cos_sleep_ms_for_tests(100); /* the date passes: the clock, not a race */
    EXPECT(simple(&OWNER, "DELETE", RETCLEAN, "/short", NULL), 204, NULL);
    CHECK_INT(retention_rows(RETCLEAN), 0);
}

int main(void)
{
    const char *args[] = { "--sts", NULL };
    if (test_server_start(&g_srv, args) != 0) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    EXPECT(simple(&OWNER, "PUT", SYM, "/", NULL), 200, NULL);
    EXPECT(simple(&OWNER, "PUT", VSYM, "/", NULL), 200, NULL);
    cos_kv prw[] = { { "x-cos-acl", "public-read-write" } };
    EXPECT(do_call(&OWNER, "PUT", PUBRW, "/", NULL, 0, prw, 1, NULL), 200, NULL);
    EXPECT(simple(&OWNER, "PUT", LOCK, "/", NULL), 200, NULL);
    EXPECT(simple(&OWNER, "PUT", SUSP, "/", NULL), 200, NULL);
    EXPECT(simple(&OWNER, "PUT", RET, "/", NULL), 200, NULL);
    EXPECT(simple(&OWNER, "PUT", VRET, "/", NULL), 200, NULL);
    EXPECT(do_call(&OWNER, "PUT", LOCKRW, "/", NULL, 0, prw, 1, NULL), 200, NULL);
    RUN(test_symlink_basics);
    RUN(test_symlink_bad_requests);
    RUN(test_symlink_dangling_chain_loop);
    RUN(test_symlink_copy_delete);
    RUN(test_symlink_never_widens_access);
    RUN(test_symlink_versions);
    RUN(test_object_lock_configuration);
    RUN(test_retention_unversioned);
    RUN(test_retention_versioned);
    RUN(test_retention_public_writers);
    RUN(test_retention_rows_cleaned);
    RUN(test_retention_headers_refused);
    RUN(test_object_lock_s3_dialect);
    test_server_stop(&g_srv, getenv("KEEP_ROOT") != NULL);
    return test_report();
}

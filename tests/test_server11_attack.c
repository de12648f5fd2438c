/* test_server11_attack.c — cos-server's authorization attacked once more
 * (the eleventh session's red team): bucket policies in COS's own grammar
 * (its condition operators such as ip_equal and string_equal, its keys
 * qcs:ip and cos:versionid), and a multi-delete whose entries each name a
 * version: every entry must be decided on its own version, as its own
 * DELETE ?versionId= would be. Each attack stays as a regression check. */
#define _GNU_SOURCE
#include "testlib.h"
#include "util.h"
#include <pthread.h>
#include <stdatomic.h>

#define HOST(b) b "-" TEST_APPID ".cos.ap-guangzhou.myqcloud.com"
#define RES(b) "qcs::cos:ap-guangzhou:uid/" TEST_APPID ":" b "-" TEST_APPID "/*"
#define EXPECT(r, status, code) test_expect_reply((r), (status), (code), __FILE__, __LINE__)

static test_server g_srv;
static const test_tmpkey OWNER = { TEST_SECRET_ID, TEST_SECRET_KEY, NULL };
#define ANON NULL

/* METHOD host/path?q (a value "" sent as a bare name) signed by who (ANON: unsigned), with body. */
static test_reply call_q(const test_tmpkey *who, const char *host, const char *method, const char *path,
                         const cos_kv *q, size_t nq, const char *body)
{
    cos_buf t = COS_BUF_INIT;
    cos_buf_puts(&t, path);
    for (size_t i = 0; i < nq; i++)
        cos_buf_printf(&t, "%s%s%s%s", i ? "&" : "?", q[i].name, *q[i].value ? "=" : "", q[i].value);
    test_cos_call c = { method, host, t.data, path, who ? who->id : NULL, who ? who->key : NULL,
                        who ? who->token : NULL, q, nq, NULL, 0, NULL, NULL, body, body ? strlen(body) : 0 };
    test_reply r = test_cos_exchange(g_srv.port, &c);
    cos_buf_free(&t);
    return r;
}

/* The same with one parameter or none: ?qname, or ?qname=qvalue. */
static test_reply call_as(const test_tmpkey *who, const char *host, const char *method, const char *path,
                          const char *qname, const char *qvalue, const char *body)
{
    cos_kv q[1] = { { qname, qvalue ? qvalue : "" } };
    return call_q(who, host, method, path, q, qname ? 1 : 0, body);
}

/* PUT host/path by the owner: the version id answered (malloc'd; "" when none). */
static char *put_by_owner(const char *host, const char *path, const char *body)
{
    test_reply r = call_as(&OWNER, host, "PUT", path, NULL, NULL, body);
    CHECK_INT(r.status, 200);
    char *vid = test_reply_header(&r, "x-cos-version-id");
    test_reply_free(&r);
    return vid ? vid : cos_strdup("");
}

/* The body of host/path at version vid (NULL: current) as the owner reads it, NULL unless 200. */
static char *owner_body(const char *host, const char *path, const char *vid)
{
    test_reply r = call_as(&OWNER, host, "GET", path, vid ? "versionId" : NULL, vid, NULL);
    char *b = r.status == 200 && r.body ? cos_strdup(r.body) : NULL;
    test_reply_free(&r);
    return b;
}

static void put_policy(const char *host, const char *policy, int status)
{
    test_reply r = call_as(&OWNER, host, "PUT", "/", "policy", NULL, policy);
    if (r.status != status)
        test_fail(__FILE__, __LINE__, "PUT ?policy: %d, not %d: %s", r.status, status, r.body ? r.body : "");
    test_reply_free(&r);
}

/* A new bucket (name, at host) with versioning enabled. */
static void versioned_bucket(const char *name, const char *host)
{
    test_put_bucket_on(&g_srv, name);
    EXPECT(call_as(&OWNER, host, "PUT", "/", "versioning", NULL,
                   "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"), 200, NULL);
}

/* ---------------------------------------------------------------- COS's condition grammar */

#define GPOL_HEAD "{\"version\":\"2.0\",\"statement\":[{\"principal\":{\"qcs\":[\"qcs::cam::anyone:anyone\"]},"
#define GB "grammar"

/* COS writes conditions as "ip_equal": {"qcs:ip": [...]} (its docs' own example); they were refused as
 * MalformedPolicy, so a policy copied from COS's documentation could not be put at all. */
static void test_cos_condition_grammar(void)
{
    test_put_bucket_on(&g_srv, GB "-" TEST_APPID);
    free(put_by_owner(HOST(GB), "/a.txt", "grammar"));
    EXPECT(call_as(ANON, HOST(GB), "GET", "/a.txt", NULL, NULL, NULL), 403, "AccessDenied");
    /* allowed from loopback only: this client is there */
    put_policy(HOST(GB), GPOL_HEAD "\"effect\":\"allow\",\"action\":[\"name/cos:GetObject\"],\"resource\":[\"" RES(GB)
               "\"],\"condition\":{\"ip_equal\":{\"qcs:ip\":[\"127.0.0.1/32\",\"101.226.100.185\"]}}}]}", 204);
    test_reply r = call_as(ANON, HOST(GB), "GET", "/a.txt", NULL, NULL, NULL);
    CHECK_INT(r.status, 200);
    CHECK(r.body && !strcmp(r.body, "grammar"));
    test_reply_free(&r);
    /* from elsewhere only: not this client */
    put_policy(HOST(GB), GPOL_HEAD "\"effect\":\"allow\",\"action\":[\"name/cos:GetObject\"],\"resource\":[\"" RES(GB)
               "\"],\"condition\":{\"ip_equal\":{\"qcs:ip\":\"10.0.0.0/8\"}}}]}", 204);
    EXPECT(call_as(ANON, HOST(GB), "GET", "/a.txt", NULL, NULL, NULL), 403, "AccessDenied");
    /* allowed, but denied outside 10/8: the Deny (ip_not_equal) holds for loopback */
    put_policy(HOST(GB), GPOL_HEAD "\"effect\":\"allow\",\"action\":[\"name/cos:GetObject\"],\"resource\":[\"" RES(GB)
               "\"]},{\"principal\":{\"qcs\":[\"qcs::cam::anyone:anyone\"]},\"effect\":\"deny\",\"action\":"
               "[\"name/cos:GetObject\"],\"resource\":[\"" RES(GB) "\"],\"condition\":{\"ip_not_equal\":"
               "{\"qcs:ip\":[\"10.0.0.0/8\"]}}}]}", 204);
    EXPECT(call_as(ANON, HOST(GB), "GET", "/a.txt", NULL, NULL, NULL), 403, "AccessDenied");
    /* _if_exist: a key the request does not carry lets the statement apply */
    put_policy(HOST(GB), GPOL_HEAD "\"effect\":\"allow\",\"action\":[\"name/cos:GetObject\"],\"resource\":[\"" RES(GB)
               "\"],\"condition\":{\"string_equal_if_exist\":{\"cos:response-content-type\":\"text/plain\"}}}]}", 204);
    EXPECT(call_as(ANON, HOST(GB), "GET", "/a.txt", NULL, NULL, NULL), 200, NULL);
    EXPECT(call_as(ANON, HOST(GB), "GET", "/a.txt", "response-content-type", "text/html", NULL), 403, NULL);
    /* cos:secure-transport (bool_equal): this server speaks plain HTTP */
    put_policy(HOST(GB), GPOL_HEAD "\"effect\":\"allow\",\"action\":[\"name/cos:GetObject\"],\"resource\":[\"" RES(GB)
               "\"],\"condition\":{\"bool_equal\":{\"cos:secure-transport\":\"false\"}}}]}", 204);
    EXPECT(call_as(ANON, HOST(GB), "GET", "/a.txt", NULL, NULL, NULL), 200, NULL);
    put_policy(HOST(GB), GPOL_HEAD "\"effect\":\"allow\",\"action\":[\"name/cos:GetObject\"],\"resource\":[\"" RES(GB)
               "\"],\"condition\":{\"bool_equal\":{\"cos:secure-transport\":\"true\"}}}]}", 204);
    EXPECT(call_as(ANON, HOST(GB), "GET", "/a.txt", NULL, NULL, NULL), 403, "AccessDenied");
    /* cos:content-type: a form's object takes its Content-Type field, which the condition sees (not the
       request's multipart/form-data header) */
    put_policy(HOST(GB), GPOL_HEAD "\"effect\":\"allow\",\"action\":[\"name/cos:PutObject\"],\"resource\":[\"" RES(GB)
               "\"]},{\"principal\":{\"qcs\":[\"qcs::cam::anyone:anyone\"]},\"effect\":\"deny\",\"action\":"
               "[\"name/cos:PutObject\"],\"resource\":[\"" RES(GB) "\"],\"condition\":{\"string_equal\":"
               "{\"cos:content-type\":\"text/html\"}}}]}", 204);
    for (int html = 0; html < 2; html++) {
        char *form = cos_sprintf("--XyZ\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nform-%d.txt\r\n"
                                 "--XyZ\r\nContent-Disposition: form-data; name=\"Content-Type\"\r\n\r\n%s\r\n"
                                 "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n\r\n"
                                 "<script>x</script>\r\n--XyZ--\r\n", html, html ? "text/html" : "text/plain");
        char *req = cos_sprintf("POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n"
                                "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", HOST(GB), strlen(form), form);
        test_reply fr = test_http_exchange(g_srv.port, req, strlen(req));
        if (html) EXPECT(fr, 403, "AccessDenied");
        else CHECK(fr.status == 204 || fr.status == 200);
        if (!html) test_reply_free(&fr);
        free(req);
        free(form);
    }
    EXPECT(call_as(&OWNER, HOST(GB), "HEAD", "/form-1.txt", NULL, NULL, NULL), 404, NULL);
    /* an operator neither grammar has is still refused, never ignored (an ignored condition widens an Allow) */
    put_policy(HOST(GB), GPOL_HEAD "\"effect\":\"allow\",\"action\":[\"name/cos:GetObject\"],\"resource\":[\"" RES(GB)
               "\"],\"condition\":{\"ip_equal_somehow\":{\"qcs:ip\":\"10.0.0.0/8\"}}}]}", 400);
    EXPECT(call_as(&OWNER, HOST(GB), "DELETE", "/", "policy", NULL, NULL), 204, NULL);
}

/* ---------------------------------------------------------------- cos:versionid */

#define VB "vcond"
static const char VB_HOST[] = HOST(VB);

/* A delete of versions decided per version: a bucket policy that denies deleting one version (cos:versionid,
 * COS's documented key) holds for DELETE ?versionId= and for that version's entry of a multi-delete, whose
 * other entries go. Before, the policy was refused (its grammar) and, in S3's grammar, the key was one the
 * server could not say: a Deny on it denied every delete of every version. */
static void test_versionid_condition_per_entry(void)
{
    versioned_bucket(VB "-" TEST_APPID, VB_HOST);
    char *v1 = put_by_owner(VB_HOST, "/k", "one"), *v2 = put_by_owner(VB_HOST, "/k", "two");
    char *v3 = put_by_owner(VB_HOST, "/k2", "three");
    CHECK(*v1 && *v2 && *v3);
    char *pol = cos_sprintf(GPOL_HEAD "\"effect\":\"deny\",\"action\":[\"name/cos:DeleteObject\"],\"resource\":[\""
                            RES(VB) "\"],\"condition\":{\"string_equal\":{\"cos:versionid\":\"%s\"}}},"
                            "{\"principal\":{\"qcs\":[\"qcs::cam::anyone:anyone\"]},\"effect\":\"allow\",\"action\":"
                            "[\"name/cos:GetObject\"],\"resource\":[\"" RES(VB) "\"],\"condition\":{\"string_equal\":"
                            "{\"cos:versionid\":\"%s\"}}}]}", v1, v3);
    put_policy(VB_HOST, pol, 204);
    free(pol);
    /* a temporary key that may delete anything in the bucket: the bucket policy's Deny still holds */
    test_tmpkey tk = test_sts_key(g_srv.port, TEST_SECRET_ID, TEST_SECRET_KEY, NULL,
                                  "{\"version\":\"2.0\",\"statement\":[{\"effect\":\"allow\",\"action\":"
                                  "[\"name/cos:DeleteObject\",\"name/cos:GetObject\"],\"resource\":[\"" RES(VB) "\"]}]}",
                                  __FILE__, __LINE__);
    if (!tk.id) goto out;
    EXPECT(call_as(&tk, VB_HOST, "DELETE", "/k", "versionId", v1, NULL), 403, "AccessDenied");
    /* the same version in a multi-delete: an <Error> of its own, the other version deleted */
    char *doc = cos_sprintf("<Delete><Object><Key>k</Key><VersionId>%s</VersionId></Object>"
                            "<Object><Key>k</Key><VersionId>%s</VersionId></Object></Delete>", v1, v2);
    test_reply r = call_as(&tk, VB_HOST, "POST", "/", "delete", NULL, doc);
    CHECK_INT(r.status, 200);
    char *refused = cos_sprintf("<Error><Key>k</Key><VersionId>%s</VersionId><Code>AccessDenied</Code>", v1);
    char *gone = cos_sprintf("<Deleted><Key>k</Key><VersionId>%s</VersionId>", v2);
    CHECK(r.body && strstr(r.body, refused));
    CHECK(r.body && strstr(r.body, gone));
    test_reply_free(&r);
    /* quiet mode lists the refusal too */
    free(doc);
    doc = cos_sprintf("<Delete><Quiet>true</Quiet><Object><Key>k</Key><VersionId>%s</VersionId></Object></Delete>", v1);
    r = call_as(&tk, VB_HOST, "POST", "/", "delete", NULL, doc);
    CHECK_INT(r.status, 200);
    CHECK(r.body && strstr(r.body, refused));
    test_reply_free(&r);
    free(doc);
    free(refused);
    free(gone);
    char *b = owner_body(VB_HOST, "/k", v1);
    CHECK(b && !strcmp(b, "one"));
    free(b);
    b = owner_body(VB_HOST, "/k", v2);
    CHECK(b == NULL);
    free(b);
    /* the current version (no versionId) is not the denied one: a DELETE makes a marker */
    EXPECT(call_as(&tk, VB_HOST, "DELETE", "/k2", NULL, NULL, NULL), 204, NULL);
    /* an Allow on one version: that version alone, not the current one nor another */
    r = call_as(ANON, VB_HOST, "GET", "/k2", "versionId", v3, NULL);
    CHECK_INT(r.status, 200);
    CHECK(r.body && !strcmp(r.body, "three"));
    test_reply_free(&r);
    EXPECT(call_as(ANON, VB_HOST, "GET", "/k", "versionId", v1, NULL), 403, "AccessDenied");
    free(put_by_owner(VB_HOST, "/k2", "four"));
    EXPECT(call_as(ANON, VB_HOST, "GET", "/k2", NULL, NULL, NULL), 403, "AccessDenied");
out:
    test_tmpkey_free(&tk);
    free(v1);
    free(v2);
    free(v3);
}

/* POST ?restore names a version too (it restores that one): a Deny on one version holds for it. Before,
 * the operation was decided without its versionId, so such a Deny met no version and let it through. */
static void test_versionid_condition_restore(void)
{
    const char *host = HOST("vrestore");
    versioned_bucket("vrestore-" TEST_APPID, host);
    char *vid[2] = { NULL, NULL };
    for (int i = 0; i < 2; i++) {
        cos_kv h[] = { { "x-cos-storage-class", "ARCHIVE" } };
        test_cos_call c = { "PUT", host, "/cold", "/cold", TEST_SECRET_ID, TEST_SECRET_KEY, NULL, NULL, 0, h, 1,
                            NULL, NULL, i ? "second" : "first", i ? 6 : 5 };
        test_reply r = test_cos_exchange(g_srv.port, &c);
        CHECK_INT(r.status, 200);
        vid[i] = test_reply_header(&r, "x-cos-version-id");
        test_reply_free(&r);
    }
    if (!vid[0] || !vid[1]) {
        test_fail(__FILE__, __LINE__, "no version ids");
        goto out;
    }
    char *pol = cos_sprintf(GPOL_HEAD "\"effect\":\"deny\",\"action\":[\"name/cos:PostObjectRestore\"],\"resource\":"
                            "[\"" RES("vrestore") "\"],\"condition\":{\"string_equal\":{\"cos:versionid\":\"%s\"}}}]}",
                            vid[0]);
    put_policy(host, pol, 204);
    free(pol);
    test_tmpkey tk = test_sts_key(g_srv.port, TEST_SECRET_ID, TEST_SECRET_KEY, NULL,
                                  "{\"version\":\"2.0\",\"statement\":[{\"effect\":\"allow\",\"action\":"
                                  "[\"name/cos:PostObjectRestore\"],\"resource\":[\"" RES("vrestore") "\"]}]}",
                                  __FILE__, __LINE__);
    static const char days[] = "<RestoreRequest><Days>1</Days><CASJobParameters><Tier>Standard</Tier>"
                               "</CASJobParameters></RestoreRequest>";
    for (int i = 0; tk.id && i < 2; i++) {
        cos_kv q[] = { { "restore", "" }, { "versionId", vid[i] } };
        test_reply r = call_q(&tk, host, "POST", "/cold", q, 2, days);
        if (i == 0) EXPECT(r, 403, "AccessDenied");
        else EXPECT(r, 202, NULL);
    }
    test_tmpkey_free(&tk);
out:
    free(vid[0]);
    free(vid[1]);
}

/* ---------------------------------------------------------------- s3:ExistingObjectTag of a version */

/* PUT host/path by the owner with the tags given (x-cos-tagging): its version id (malloc'd, "" if none). */
static char *put_tagged(const char *host, const char *path, const char *body, const char *tags)
{
    cos_kv h[] = { { "x-cos-tagging", tags } };
    test_cos_call c = { "PUT", host, path, path, TEST_SECRET_ID, TEST_SECRET_KEY, NULL, NULL, 0, h, 1, NULL, NULL,
                        body, strlen(body) };
    test_reply r = test_cos_exchange(g_srv.port, &c);
    CHECK_INT(r.status, 200);
    char *vid = test_reply_header(&r, "x-cos-version-id");
    test_reply_free(&r);
    return vid ? vid : cos_strdup("");
}

/* Tags are each version's own: a condition on the object's tags decides an access to one version
 * (?versionId=, a multi-delete's entry) on that version's tags. Before, it read the current version's:
 * an old version tagged private was served to anyone once a version tagged public replaced it, and a
 * version tagged to be kept was deleted once a newer one without the tag was current. */
static void test_existing_tag_of_the_version(void)
{
    const char *host = HOST("vtags");
    versioned_bucket("vtags-" TEST_APPID, host);
    char *priv = put_tagged(host, "/doc", "private draft", "public=no&keep=yes");
    char *pub = put_tagged(host, "/doc", "public text", "public=yes");
    CHECK(*priv && *pub);
    put_policy(host, GPOL_HEAD "\"effect\":\"allow\",\"action\":[\"name/cos:GetObject\"],\"resource\":[\""
               RES("vtags") "\"],\"condition\":{\"StringEquals\":{\"s3:ExistingObjectTag/public\":\"yes\"}}},"
               "{\"principal\":{\"qcs\":[\"qcs::cam::anyone:anyone\"]},\"effect\":\"deny\",\"action\":"
               "[\"name/cos:DeleteObject\"],\"resource\":[\"" RES("vtags") "\"],\"condition\":{\"StringEquals\":"
               "{\"s3:ExistingObjectTag/keep\":\"yes\"}}}]}", 204);
    test_reply r = call_as(ANON, host, "GET", "/doc", NULL, NULL, NULL);
    CHECK_INT(r.status, 200);
    CHECK(r.body && !strcmp(r.body, "public text"));
    test_reply_free(&r);
    r = call_as(ANON, host, "GET", "/doc", "versionId", priv, NULL);
    if (r.status == 200) test_fail(__FILE__, __LINE__, "the private version was served: %s", r.body ? r.body : "");
    EXPECT(r, 403, "AccessDenied");
    test_tmpkey tk = test_sts_key(g_srv.port, TEST_SECRET_ID, TEST_SECRET_KEY, NULL,
                                  "{\"version\":\"2.0\",\"statement\":[{\"effect\":\"allow\",\"action\":"
                                  "[\"name/cos:DeleteObject\"],\"resource\":[\"" RES("vtags") "\"]}]}",
                                  __FILE__, __LINE__);
    if (tk.id) {
        EXPECT(call_as(&tk, host, "DELETE", "/doc", "versionId", priv, NULL), 403, "AccessDenied");
        char *doc = cos_sprintf("<Delete><Object><Key>doc</Key><VersionId>%s</VersionId></Object></Delete>", priv);
        r = call_as(&tk, host, "POST", "/", "delete", NULL, doc);
        CHECK_INT(r.status, 200);
        CHECK(r.body && strstr(r.body, "<Code>AccessDenied</Code>") && !strstr(r.body, "<Deleted>"));
        test_reply_free(&r);
        free(doc);
    }
    test_tmpkey_free(&tk);
    char *b = owner_body(host, "/doc", priv);
    CHECK(b && !strcmp(b, "private draft"));
    free(b);
    /* and the other way round: an old version tagged public is served while a private one is current (it
       was 503 SlowDown: the current version's row was pinned as the one decided on, never the one served) */
    char *old_pub = put_tagged(host, "/doc2", "was public", "public=yes");
    free(put_tagged(host, "/doc2", "now private", "public=no"));
    r = call_as(ANON, host, "GET", "/doc2", "versionId", old_pub, NULL);
    CHECK_INT(r.status, 200);
    CHECK(r.body && !strcmp(r.body, "was public"));
    test_reply_free(&r);
    EXPECT(call_as(ANON, host, "GET", "/doc2", NULL, NULL, NULL), 403, "AccessDenied");
    free(old_pub);
    free(priv);
    free(pub);
}

/* ---------------------------------------------------------------- delete markers for keys that cannot be */

/* In a versioned bucket a DELETE of an absent key leaves a delete marker, so a DELETE could make a key no
 * write may: one with a control character XML cannot carry made every ListObjectVersions of the bucket
 * unparsable (anyone with WRITE, a public-read-write bucket's anonymous callers included), and a
 * multi-delete's entries "", "/", "./", "../x" made markers too, the one for "" listed nowhere and
 * keeping the bucket from ever being deleted (BucketNotEmpty for good). */
static void test_no_marker_for_impossible_keys(void)
{
    const char *host = HOST("vkeys");
    versioned_bucket("vkeys-" TEST_APPID, host);
    test_reply r = call_as(&OWNER, host, "POST", "/", "delete", NULL,
                           "<Delete><Object><Key></Key></Object><Object><Key>/</Key></Object><Object><Key>a/../../b</Key>"
                           "</Object><Object><Key>./</Key></Object><Object><Key>../x</Key></Object></Delete>");
    CHECK_INT(r.status, 200);
    CHECK(r.body && test_count_of(r.body, "<Deleted>") == 5 && !strstr(r.body, "<DeleteMarker>"));
    test_reply_free(&r);
    test_cos_call ctl = { "DELETE", host, "/bad%01key", "/bad\x01key", TEST_SECRET_ID, TEST_SECRET_KEY, NULL, NULL, 0,
                          NULL, 0, NULL, NULL, NULL, 0 };
    r = test_cos_exchange(g_srv.port, &ctl);
    CHECK_INT(r.status, 204);
    char *dm = test_reply_header(&r, "x-cos-delete-marker");
    CHECK(dm == NULL);
    free(dm);
    test_reply_free(&r);
    /* an absent key that could exist still gets its marker, as in COS and S3 */
    r = call_as(&OWNER, host, "DELETE", "/gone", NULL, NULL, NULL);
    CHECK_INT(r.status, 204);
    dm = test_reply_header(&r, "x-cos-delete-marker");
    char *vid = test_reply_header(&r, "x-cos-version-id");
    CHECK(dm && !strcmp(dm, "true") && vid);
    free(dm);
    test_reply_free(&r);
    r = call_as(&OWNER, host, "GET", "/", "versions", NULL, NULL);
    CHECK_INT(r.status, 200);
    CHECK(r.body && test_count_of(r.body, "<DeleteMarker>") == 1 && strstr(r.body, "<Key>gone</Key>"));
    CHECK(r.body && !strchr(r.body, '\x01'));
    test_reply_free(&r);
    if (vid) EXPECT(call_as(&OWNER, host, "DELETE", "/gone", "versionId", vid, NULL), 204, NULL);
    free(vid);
    /* nothing else was left: the bucket can go */
    EXPECT(call_as(&OWNER, host, "DELETE", "/", NULL, NULL, NULL), 204, NULL);
}

/* ---------------------------------------------------------------- suspending versioning as the lock goes on */

/* A request answered on a thread of its own. */
typedef struct bg_call {
    const char *host, *method, *qname, *body;
    test_reply r;
    _Atomic int done;
    pthread_t th;
} bg_call;

static void *bg_run(void *p)
{
    bg_call *b = p;
    b->r = call_as(&OWNER, b->host, b->method, "/", b->qname, NULL, b->body);
    atomic_store(&b->done, 1);
    return NULL;
}

/* A bucket's versioning and its object lock are decided one after the other: a suspend decided (lock off)
 * but not yet written while the lock is enabled (versioning on) let both through, the lock then on in a
 * suspended bucket, where writes replace the null version whatever its retention. Held here by the "pause"
 * fault between the suspend's check and its write. */
static void test_suspend_racing_lock(void)
{
    const char *host = HOST("vlock");
    versioned_bucket("vlock-" TEST_APPID, host);
    test_set_faults(NULL, &g_srv, "[{\"method\":\"PUT\",\"match\":\"versioning\",\"action\":\"pause\",\"times\":1}]");
    bg_call sus = { host, "PUT", "versioning",
                    "<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>", { 0 }, 0, 0 };
    bg_call lock = { host, "PUT", "object-lock", "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled>"
                     "</ObjectLockConfiguration>", { 0 }, 0, 0 };
    pthread_create(&sus.th, NULL, bg_run, &sus);
    CHECK(test_wait_paused(&g_srv, 1));
    pthread_create(&lock.th, NULL, bg_run, &lock);
    /* the enabling goes through at once, or waits for the suspend: either way the outcome is checked below */
    for (int i = 0; i < 200 && !atomic_load(&lock.done); i++) cos_sleep_ms_for_tests(10);
    test_set_faults(NULL, &g_srv, NULL);
    pthread_join(sus.th, NULL);
    pthread_join(lock.th, NULL);
    test_reply v = call_as(&OWNER, host, "GET", "/", "versioning", NULL, NULL);
    test_reply l = call_as(&OWNER, host, "GET", "/", "object-lock", NULL, NULL);
    bool suspended = v.body && strstr(v.body, "<Status>Suspended</Status>");
    bool locked = l.status == 200;
    if (suspended && locked)
        test_fail(__FILE__, __LINE__, "object lock enabled in a suspended bucket (suspend %d, lock %d)", sus.r.status,
                  lock.r.status);
    /* each answer tells the truth about the state left */
    CHECK(sus.r.status == 200 ? suspended : !suspended);
    CHECK(lock.r.status == 200 ? locked : !locked);
    test_reply_free(&v);
    test_reply_free(&l);
    test_reply_free(&sus.r);
    test_reply_free(&lock.r);
}

int main(void)
{
    const char *args[] = { "--sts", "--faults", NULL };
    if (test_server_start(&g_srv, args) != 0) {
        fprintf(stderr, "cannot start cos-server\n");
        return 1;
    }
    RUN(test_cos_condition_grammar);
    RUN(test_versionid_condition_per_entry);
    RUN(test_versionid_condition_restore);
    RUN(test_no_marker_for_impossible_keys);
    RUN(test_existing_tag_of_the_version);
    RUN(test_suspend_racing_lock);
    test_server_stop(&g_srv, false);
    return test_report();
}

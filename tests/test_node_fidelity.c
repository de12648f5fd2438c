/* test_node_fidelity.c — what cos-nodejs-sdk-v5's own test suite (test/test.js,
 * run against cos-server by scripts/sdk-suites.sh --node) expects of COS, held
 * here on the wire, each failing on the server before it:
 *   - a signed query parameter whose name needs URL-encoding (",;&=" ...) is
 *     matched against q-url-param-list in all three places a signature can
 *     be (the Authorization header, the q-* query form and the sign= form);
 *     an unsigned parameter is still refused;
 *   - an empty x-cos-grant-* header (the SDK sends GrantRead: "" unsigned)
 *     grants nothing and needs no signature; a non-empty one still does;
 *   - a lifecycle Date at Beijing's midnight written in UTC
 *     (2018-07-29T16:00:00.000Z) is taken in COS's dialect and answered as put;
 *   - an empty Content-Type on Initiate Multipart Upload is none: the
 *     completed object gets the key's type, as a PUT does;
 *   - GET ?policy answers the top-level "statement" as "Statement";
 *   - List Inventory Configurations answers each configuration as GET does
 *     (Destination's Encryption was dropped);
 *   - PUT ?acl with x-cos-acl and x-cos-grant-* both keeps the grants (with
 *     the canned ACL's public grants): they were dropped for the canned name;
 *   - a V4 signature (getV4Auth) as ?sign= reads the object it names and
 *     nothing else: another key, another method, an extra parameter, an
 *     expired or a forged one are refused. */
#define _GNU_SOURCE
#include "testlib.h"
#include "util.h"
#include "url.h"
#include "signer.h"
#include "cos/hash.h"
#include <time.h>

#define B "nodefid-" TEST_APPID
#define HOST B ".cos.ap-guangzhou.myqcloud.com"
#define EXPECT(r, status, code) test_expect_reply((r), (status), (code), __FILE__, __LINE__)

static test_server g_srv;

/* A request signed by the owner for path with the query pairs q and headers h
 * (signed), sent to target, plus raw unsigned header lines extra. */
static test_reply owner_call(const char *method, const char *target, const char *path, const cos_kv *q, size_t nq,
                             const cos_kv *h, size_t nh, const char *extra, const char *body)
{
    test_cos_call c = { method, HOST, target, path, TEST_SECRET_ID, TEST_SECRET_KEY, NULL, q, nq, h, nh, NULL, extra,
                        body, body ? strlen(body) : 0 };
    return test_cos_exchange(g_srv.port, &c);
}

/* the same with a ready Authorization (NULL: none) */
static test_reply raw_call(const char *method, const char *target, const char *auth, const char *extra,
                           const char *body)
{
    test_cos_call c = { method, HOST, target, NULL, NULL, NULL, NULL, NULL, 0, NULL, 0, auth, extra,
                        body, body ? strlen(body) : 0 };
    return test_cos_exchange(g_srv.port, &c);
}

static void put_object(const char *key, const char *body)
{
    char *path = cos_sprintf("/%s", key);
    EXPECT(owner_call("PUT", path, path, NULL, 0, NULL, 0, NULL, body), 200, NULL);
    free(path);
}

static void test_signed_params_that_need_encoding(void)
{
    put_object("p.txt", "pbody");
    /* test.js's name, and one with the list's own separator */
    static const char *const NAMES[] = { "qwertyQWERTY,./;'[]\\-=0987`~!@#$%^&*()_+{}|\":>?<", "a;b", "a,b", "x y" };
    for (size_t i = 0; i < COS_ARRAY_LEN(NAMES); i++) {
        cos_kv q[] = { { NAMES[i], NAMES[i] } };
        char *n = test_query_encode(NAMES[i]);
        char *target = cos_sprintf("/p.txt?%s=%s", n, n);
        /* the header form */
        test_reply r = owner_call("GET", target, "/p.txt", q, 1, NULL, 0, NULL, NULL);
        if (r.status != 200) fprintf(stderr, "header form, name %s: %d\n", NAMES[i], r.status);
        EXPECT(r, 200, NULL);
        /* the sign= form: the whole Authorization URL-encoded */
        char *auth = test_cos_auth(TEST_SECRET_ID, TEST_SECRET_KEY, "GET", "/p.txt", HOST, q, 1, NULL, 0);
        char *ea = test_query_encode(auth);
        char *t2 = cos_sprintf("/p.txt?sign=%s&%s=%s", ea, n, n);
        r = raw_call("GET", t2, NULL, NULL, NULL);
        if (r.status != 200) fprintf(stderr, "sign= form, name %s: %d\n", NAMES[i], r.status);
        EXPECT(r, 200, NULL);
        /* the q-* form: the Authorization's fields as query parameters, as
           test.js's getAuth() test writes them (its text appended as is) */
        char *t3 = cos_sprintf("/p.txt?%s&%s=%s", auth, n, n);
        r = raw_call("GET", t3, NULL, NULL, NULL);
        if (strchr(NAMES[i], ';')) { /* ambiguous once the query is decoded: not promised */
            test_reply_free(&r);
        } else {
            if (r.status != 200) fprintf(stderr, "q-* form, name %s: %d\n", NAMES[i], r.status);
            EXPECT(r, 200, NULL);
        }
        /* a parameter left out of the signature is still refused */
        char *t4 = cos_sprintf("/p.txt?sign=%s&%s=%s&response-content-type=text%%2Fhtml", ea, n, n);
        EXPECT(raw_call("GET", t4, NULL, NULL, NULL), 403, "AccessDenied");
        free(n);
        free(target);
        free(auth);
        free(ea);
        free(t2);
        free(t3);
        free(t4);
    }
}

static void test_empty_grant_header_unsigned(void)
{
    cos_kv q[] = { { "acl", "" } };
    cos_kv h[] = { { "x-cos-acl", "private" } };
    /* what putBucketAcl sends with the grants getBucketAcl decoded as "" */
    EXPECT(owner_call("PUT", "/?acl", "/", q, 1, h, 1, "x-cos-grant-read: \r\nx-cos-grant-write: \r\n", NULL), 200,
           NULL);
    /* a grant that says something must be signed */
    EXPECT(owner_call("PUT", "/?acl", "/", q, 1, h, 1, "x-cos-grant-read: id=\"qcs::cam::uin/1:uin/1\"\r\n", NULL), 403,
           "AccessDenied");
    put_object("acl.txt", "x");
    EXPECT(owner_call("PUT", "/acl.txt?acl", "/acl.txt", q, 1, h, 1, "x-cos-grant-full-control: \r\n", NULL), 200,
           NULL);
}

static void test_lifecycle_beijing_midnight(void)
{
    static const char DOC[] = "<LifecycleConfiguration><Rule><ID>1</ID><Filter><Prefix>test_</Prefix></Filter>"
                              "<Status>Enabled</Status><Transition><Date>2018-07-29T16:00:00.000Z</Date>"
                              "<StorageClass>STANDARD_IA</StorageClass></Transition></Rule></LifecycleConfiguration>";
    cos_kv q[] = { { "lifecycle", "" } };
    EXPECT(owner_call("PUT", "/?lifecycle", "/", q, 1, NULL, 0, NULL, DOC), 200, NULL);
    test_reply r = owner_call("GET", "/?lifecycle", "/", q, 1, NULL, 0, NULL, NULL);
    CHECK_INT(r.status, 200);
    CHECK(r.body && strstr(r.body, "<Date>2018-07-29T16:00:00.000Z</Date>"));
    test_reply_free(&r);
    /* any other hour is still no date */
    static const char NOON[] = "<LifecycleConfiguration><Rule><ID>1</ID><Filter><Prefix>t</Prefix></Filter>"
                               "<Status>Enabled</Status><Transition><Date>2018-07-29T12:00:00.000Z</Date>"
                               "<StorageClass>STANDARD_IA</StorageClass></Transition></Rule></LifecycleConfiguration>";
    EXPECT(owner_call("PUT", "/?lifecycle", "/", q, 1, NULL, 0, NULL, NOON), 400, "InvalidArgument");
}

static void test_initiate_empty_content_type(void)
{
    cos_kv q[] = { { "uploads", "" } };
    test_reply r = owner_call("POST", "/mp.txt?uploads", "/mp.txt", q, 1, NULL, 0, "Content-Type: \r\n", NULL);
    CHECK_INT(r.status, 200);
    char *id = test_xml_value(r.body, "UploadId");
    test_reply_free(&r);
    CHECK(id != NULL);
    if (!id) return;
    cos_kv qp[] = { { "partNumber", "1" }, { "uploadId", id } };
    char *t = cos_sprintf("/mp.txt?partNumber=1&uploadId=%s", id);
    r = owner_call("PUT", t, "/mp.txt", qp, 2, NULL, 0, NULL, "part one");
    char *etag = test_reply_header(&r, "ETag");
    CHECK_INT(r.status, 200);
    test_reply_free(&r);
    char *doc = cos_sprintf("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part>"
                            "</CompleteMultipartUpload>", etag ? etag : "");
    cos_kv qc[] = { { "uploadId", id } };
    char *tc = cos_sprintf("/mp.txt?uploadId=%s", id);
    EXPECT(owner_call("POST", tc, "/mp.txt", qc, 1, NULL, 0, NULL, doc), 200, NULL);
    r = owner_call("HEAD", "/mp.txt", "/mp.txt", NULL, 0, NULL, 0, NULL, NULL);
    char *ct = test_reply_header(&r, "Content-Type");
    CHECK_STR(ct, "text/plain");
    test_reply_free(&r);
    free(ct);
    free(doc);
    free(tc);
    free(t);
    free(etag);
    free(id);
}

static void test_policy_statement_key(void)
{
    static const char POL[] =
        "{\"version\":\"2.0\",\"statement\":[{\"principal\":{\"qcs\":[\"qcs::cam::uin/10001:uin/10001\"]},"
        "\"effect\":\"allow\",\"action\":[\"name/cos:GetObject\"],"
        "\"resource\":[\"qcs::cos:ap-guangzhou:uid/" TEST_APPID ":" B "/statement/*\"]}]}";
    cos_kv q[] = { { "policy", "" } };
    EXPECT(owner_call("PUT", "/?policy", "/", q, 1, NULL, 0, NULL, POL), 204, NULL);
    test_reply r = owner_call("GET", "/?policy", "/", q, 1, NULL, 0, NULL, NULL);
    CHECK_INT(r.status, 200);
    CHECK(r.body && strstr(r.body, "\"Statement\":[{"));
    CHECK(r.body && !strstr(r.body, "\"statement\""));
    /* the rest as put, values included */
    CHECK(r.body && strstr(r.body, "\"resource\":[") && strstr(r.body, "/statement/*"));
    test_reply_free(&r);
}

static void test_inventory_list_as_get(void)
{
    static const char DOC[] =
        "<InventoryConfiguration><Id>inv1</Id><IsEnabled>true</IsEnabled><Destination><COSBucketDestination>"
        "<Format>CSV</Format><AccountId>" TEST_APPID "</AccountId><Bucket>qcs::cos:ap-guangzhou::" B "</Bucket>"
        "<Prefix>inventory_prefix_1</Prefix><Encryption><SSE-COS></SSE-COS></Encryption></COSBucketDestination>"
        "</Destination><Schedule><Frequency>Daily</Frequency></Schedule><Filter><Prefix>myPrefix</Prefix></Filter>"
        "<IncludedObjectVersions>All</IncludedObjectVersions><OptionalFields><Field>Size</Field></OptionalFields>"
        "</InventoryConfiguration>";
    cos_kv q[] = { { "inventory", "" }, { "id", "inv1" } };
    EXPECT(owner_call("PUT", "/?inventory&id=inv1", "/", q, 2, NULL, 0, NULL, DOC), 200, NULL);
    test_reply r = owner_call("GET", "/?inventory", "/", q, 1, NULL, 0, NULL, NULL);
    CHECK_INT(r.status, 200);
    CHECK(r.body && strstr(r.body, "<ListInventoryConfigurationResult>"));
    CHECK(r.body && strstr(r.body, "<Encryption><SSE-COS></SSE-COS></Encryption>"));
    CHECK(r.body && strstr(r.body, "<Id>inv1</Id>"));
    CHECK(r.body && strstr(r.body, "<IsTruncated>false</IsTruncated>"));
    test_reply_free(&r);
    /* an id given only as ?id= is still listed with it */
    static const char NOID[] =
        "<InventoryConfiguration><IsEnabled>true</IsEnabled><Destination><COSBucketDestination>"
        "<Format>CSV</Format><Bucket>qcs::cos:ap-guangzhou::" B "</Bucket></COSBucketDestination></Destination>"
        "<Schedule><Frequency>Daily</Frequency></Schedule><IncludedObjectVersions>All</IncludedObjectVersions>"
        "</InventoryConfiguration>";
    cos_kv q2[] = { { "inventory", "" }, { "id", "inv2" } };
    test_reply p = owner_call("PUT", "/?inventory&id=inv2", "/", q2, 2, NULL, 0, NULL, NOID);
    if (p.status == 200) {
        test_reply_free(&p);
        r = owner_call("GET", "/?inventory", "/", q2, 1, NULL, 0, NULL, NULL);
        CHECK(r.body && strstr(r.body, "<InventoryConfiguration><Id>inv2</Id><IsEnabled>"));
        test_reply_free(&r);
    } else {
        test_reply_free(&p);
    }
}

/* What cos-nodejs-sdk-v5's getV4Auth makes for key in B, URL-encoded for a
 * query (malloc'd): base64(HMAC-SHA1(secret, plain) || plain). */
static char *v4_sign(const char *secret, const char *key, long long t, long long e, const char *f_override)
{
    char *plain = f_override ? cos_sprintf("a=" TEST_APPID "&b=nodefid&k=" TEST_SECRET_ID "&t=%lld&e=%lld&r=12345&f=%s",
                                           t, e, f_override)
                             : cos_sprintf("a=" TEST_APPID "&b=nodefid&k=" TEST_SECRET_ID "&t=%lld&e=%lld&r=12345&f=/"
                                           TEST_APPID "/nodefid/%s", t, e, key);
    char *out = test_v4_sign(secret, plain);
    free(plain);
    return out;
}

static void test_v4_download_signature(void)
{
    put_object("v4.txt", "v4 body");
    put_object("other.txt", "other");
    long long now = (long long)time(NULL);
    char *s = v4_sign(TEST_SECRET_KEY, "v4.txt", now, now + 900, NULL);
    char *t = cos_sprintf("/v4.txt?sign=%s", s);
    test_reply r = raw_call("GET", t, NULL, NULL, NULL);
    CHECK_INT(r.status, 200);
    CHECK(r.body && !strcmp(r.body, "v4 body"));
    test_reply_free(&r);
    EXPECT(raw_call("HEAD", t, NULL, NULL, NULL), 200, NULL);
    /* no other object, method, parameter or header */
    char *o = cos_sprintf("/other.txt?sign=%s", s);
    EXPECT(raw_call("GET", o, NULL, NULL, NULL), 403, NULL);
    EXPECT(raw_call("DELETE", t, NULL, NULL, NULL), 403, NULL);
    EXPECT(raw_call("PUT", t, NULL, NULL, "overwritten"), 403, NULL);
    char *x = cos_sprintf("/v4.txt?sign=%s&acl", s);
    EXPECT(raw_call("GET", x, NULL, NULL, NULL), 403, NULL);
    EXPECT(raw_call("GET", t, NULL, "x-cos-traffic-limit: 819200\r\n", NULL), 403, NULL);
    /* a wrong secret, an expired one, a multi-effect one (f empty) */
    char *bad = v4_sign("not the secret", "v4.txt", now, now + 900, NULL);
    char *tb = cos_sprintf("/v4.txt?sign=%s", bad);
    EXPECT(raw_call("GET", tb, NULL, NULL, NULL), 403, "SignatureDoesNotMatch");
    char *old = v4_sign(TEST_SECRET_KEY, "v4.txt", now - 2000, now - 1000, NULL);
    char *to = cos_sprintf("/v4.txt?sign=%s", old);
    EXPECT(raw_call("GET", to, NULL, NULL, NULL), 403, "AccessDenied");
    char *multi = v4_sign(TEST_SECRET_KEY, "v4.txt", now, now + 900, "");
    char *tm = cos_sprintf("/v4.txt?sign=%s", multi);
    EXPECT(raw_call("GET", tm, NULL, NULL, NULL), 403, "AccessDenied");
    EXPECT(raw_call("GET", "/v4.txt?sign=bm90IGEgc2lnbmF0dXJl", NULL, NULL, NULL), 403, "AccessDenied");
    /* the object is untouched */
    r = owner_call("GET", "/v4.txt", "/v4.txt", NULL, 0, NULL, 0, NULL, NULL);
    CHECK(r.body && !strcmp(r.body, "v4 body"));
    test_reply_free(&r);
    free(s);
    free(t);
    free(o);
    free(x);
    free(bad);
    free(tb);
    free(old);
    free(to);
    free(multi);
    free(tm);
}

static void test_acl_canned_and_grants(void)
{
    cos_kv q[] = { { "acl", "" } };
    cos_kv h[] = { { "x-cos-acl", "private" }, { "x-cos-grant-read", "id=\"qcs::cam::uin/10002:uin/10002\"" } };
    EXPECT(owner_call("PUT", "/?acl", "/", q, 1, h, 2, NULL, NULL), 200, NULL);
    test_reply r = owner_call("GET", "/?acl", "/", q, 1, NULL, 0, NULL, NULL);
    CHECK(r.body && strstr(r.body, "<ID>qcs::cam::uin/10002:uin/10002</ID>"));
    CHECK(r.body && !strstr(r.body, "AllUsers"));
    test_reply_free(&r);
    /* public-read adds everyone's READ to the grants */
    cos_kv h2[] = { { "x-cos-acl", "public-read" }, { "x-cos-grant-write", "id=\"qcs::cam::uin/10003:uin/10003\"" } };
    EXPECT(owner_call("PUT", "/?acl", "/", q, 1, h2, 2, NULL, NULL), 200, NULL);
    r = owner_call("GET", "/?acl", "/", q, 1, NULL, 0, NULL, NULL);
    CHECK(r.body && strstr(r.body, "<ID>qcs::cam::uin/10003:uin/10003</ID>"));
    CHECK(r.body && strstr(r.body, "AllUsers</URI></Grantee><Permission>READ</Permission>"));
    test_reply_free(&r);
    /* and anyone may read an object now, as public-read says */
    put_object("pub.txt", "public");
    EXPECT(raw_call("GET", "/pub.txt", NULL, NULL, NULL), 200, NULL);
    /* a malformed grant is refused and changes nothing */
    cos_kv h3[] = { { "x-cos-acl", "private" }, { "x-cos-grant-read", "nonsense" } };
    EXPECT(owner_call("PUT", "/?acl", "/", q, 1, h3, 2, NULL, NULL), 400, NULL);
    EXPECT(raw_call("GET", "/pub.txt", NULL, NULL, NULL), 200, NULL);
    /* back to private for the other tests */
    cos_kv h4[] = { { "x-cos-acl", "private" } };
    EXPECT(owner_call("PUT", "/?acl", "/", q, 1, h4, 1, NULL, NULL), 200, NULL);
    EXPECT(raw_call("GET", "/pub.txt", NULL, NULL, NULL), 403, NULL);
}

int main(void)
{
    if (test_server_start(&g_srv, NULL) != 0) return 1;
    test_put_bucket_on(&g_srv, B);
    RUN(test_signed_params_that_need_encoding);
    RUN(test_empty_grant_header_unsigned);
    RUN(test_lifecycle_beijing_midnight);
    RUN(test_initiate_empty_content_type);
    RUN(test_policy_statement_key);
    RUN(test_inventory_list_as_get);
    RUN(test_v4_download_signature);
    RUN(test_acl_canned_and_grants);
    test_server_stop(&g_srv, false);
    return test_report();
}

/* test_session9_attack.c — the server code of the ninth session attacked by
 * someone other than its authors: the V4 download signature (?sign= in
 * getV4Auth's form), signed parameter names matched URL-encoded or decoded,
 * empty x-cos-grant-* headers taken unsigned, x-cos-acl with grants, and
 * DELETEs and PUTs of one key sharing write transactions. Each attack stays
 * as a regression check, whether it held or was fixed (a fixed one says
 * what it did before). */
#define _GNU_SOURCE
#include "testlib.h"
#include "util.h"
#include "url.h"
#include "signer.h"
#include "cos/hash.h"
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#define SHORT "sess9"
#define B SHORT "-" TEST_APPID
#define HOST B ".cos.ap-guangzhou.myqcloud.com"
#define DASHED "x-y-" TEST_APPID /* a bucket whose short name has a '-' */
#define OTHER_ID "AKIDs9OTHERaccount000000000000000000"
#define OTHER_KEY "s9OTHERaccountSECRETkey0000000000"
#define EXPECT(r, status, code) test_expect_reply((r), (status), (code), __FILE__, __LINE__)

static test_server g_srv;

/* signed by the owner for path with q and h, sent to target with the raw lines extra */
static test_reply owner_call(const char *host, const char *method, const char *target, const char *path, const cos_kv *q,
                             size_t nq, const cos_kv *h, size_t nh, const char *extra, const char *body)
{
    test_cos_call c = { method, host, target, path, TEST_SECRET_ID, TEST_SECRET_KEY, NULL, q, nq, h, nh, NULL, extra,
                        body, body ? strlen(body) : 0 };
    return test_cos_exchange(g_srv.port, &c);
}

static test_reply raw_call(const char *host, const char *method, const char *target, const char *auth, const char *extra)
{
    test_cos_call c = { method, host, target, NULL, NULL, NULL, NULL, NULL, 0, NULL, 0, auth, extra, NULL, 0 };
    return test_cos_exchange(g_srv.port, &c);
}

static void put_object(const char *host, const char *key, const char *body)
{
    char *path = cos_sprintf("/%s", key);
    EXPECT(owner_call(host, "PUT", path, path, NULL, 0, NULL, 0, NULL, body), 200, NULL);
    free(path);
}

/* GET (or HEAD) target on host with ?sign=sign appended (after '?' or '&') and the raw lines extra */
static test_reply v4_get(const char *host, const char *method, const char *path, const char *sign, const char *more,
                         const char *extra)
{
    char *t = cos_sprintf("%s?sign=%s%s", path, sign, more ? more : "");
    test_reply r = raw_call(host, method, t, NULL, extra);
    free(t);
    return r;
}

/* A V4 signature reads only the object it names, in the bucket it names, by
 * the key that made it, and only as far as that key may read. */
static void test_v4_sign_confined(void)
{
    put_object(HOST, "v4", "v4 body");
    put_object(HOST, "v4x", "other body");
    put_object(HOST, "d/x", "dx");
    long long now = (long long)time(NULL);
    char *plain = cos_sprintf("a=" TEST_APPID "&b=" SHORT "&k=" TEST_SECRET_ID "&t=%lld&e=%lld&r=1&f=/" TEST_APPID
                              "/" SHORT "/v4", now, now + 900);
    char *s = test_v4_sign(TEST_SECRET_KEY, plain);
    test_reply r = v4_get(HOST, "GET", "/v4", s, NULL, NULL);
    CHECK_INT(r.status, 200);
    CHECK(r.body && !strcmp(r.body, "v4 body"));
    test_reply_free(&r);
    /* a Range is still a read of that object */
    r = v4_get(HOST, "GET", "/v4", s, NULL, "Range: bytes=0-1\r\n");
    CHECK_INT(r.status, 206);
    CHECK(r.body && !strcmp(r.body, "v4"));
    test_reply_free(&r);
    /* a key sharing its prefix, its "directory", double slashes */
    EXPECT(v4_get(HOST, "GET", "/v4x", s, NULL, NULL), 403, "AccessDenied");
    EXPECT(v4_get(HOST, "GET", "/v4/", s, NULL, NULL), 403, NULL);
    EXPECT(v4_get(HOST, "GET", "//v4", s, NULL, NULL), 403, NULL);
    /* the same short name in another bucket (the dashed one, same appid) */
    EXPECT(v4_get(DASHED ".cos.ap-guangzhou.myqcloud.com", "GET", "/v4", s, NULL, NULL), 403, NULL);
    /* parameters that would shape the answer or pick a version, unsigned */
    EXPECT(v4_get(HOST, "GET", "/v4", s, "&response-content-type=text%2Fhtml", NULL), 403, "AccessDenied");
    EXPECT(v4_get(HOST, "GET", "/v4", s, "&versionId=null", NULL), 403, "AccessDenied");
    EXPECT(v4_get(HOST, "GET", "/v4", s, "&tagging", NULL), 403, "AccessDenied");
    /* a header the V4 text does not cover, in either dialect's spelling */
    EXPECT(v4_get(HOST, "GET", "/v4", s, NULL, "x-amz-server-side-encryption-customer-algorithm: AES256\r\n"), 403,
           NULL);
    /* a forged Authorization beside it is judged, not skipped */
    EXPECT(v4_get(HOST, "GET", "/v4", s, NULL, "Authorization: q-sign-algorithm=sha1&q-ak=x&q-signature=y\r\n"), 403,
           NULL);
    /* the signature's own text altered: another object, another key id */
    char *forged = cos_sprintf("%sx", plain); /* f=.../v4x */
    char *fs = test_v4_sign("not the secret", forged);
    EXPECT(v4_get(HOST, "GET", "/v4x", fs, NULL, NULL), 403, "SignatureDoesNotMatch");
    /* the other account's own key: a valid signature, but it may not read the owner's private object */
    char *po = cos_sprintf("a=" TEST_APPID "&b=" SHORT "&k=" OTHER_ID "&t=%lld&e=%lld&r=1&f=/" TEST_APPID "/" SHORT
                           "/v4", now, now + 900);
    char *so = test_v4_sign(OTHER_KEY, po);
    EXPECT(v4_get(HOST, "GET", "/v4", so, NULL, NULL), 403, "AccessDenied");
    /* the owner's id HMAC'd with the other account's secret */
    char *sx = test_v4_sign(OTHER_KEY, plain);
    EXPECT(v4_get(HOST, "GET", "/v4", sx, NULL, NULL), 403, "SignatureDoesNotMatch");
    /* an unknown key id, a time far ahead, an expiry that is no number, a NUL in the text */
    char *pu = cos_sprintf("a=" TEST_APPID "&b=" SHORT "&k=AKIDnobody&t=%lld&e=%lld&r=1&f=/" TEST_APPID "/" SHORT "/v4",
                           now, now + 900);
    char *su = test_v4_sign(TEST_SECRET_KEY, pu);
    EXPECT(v4_get(HOST, "GET", "/v4", su, NULL, NULL), 403, NULL);
    char *pt = cos_sprintf("a=" TEST_APPID "&b=" SHORT "&k=" TEST_SECRET_ID "&t=%lld&e=%lld&r=1&f=/" TEST_APPID "/" SHORT
                           "/v4", now + 5000, now + 9000);
    char *st = test_v4_sign(TEST_SECRET_KEY, pt);
    EXPECT(v4_get(HOST, "GET", "/v4", st, NULL, NULL), 403, "RequestTimeTooSkewed");
    char *pe = cos_sprintf("a=" TEST_APPID "&b=" SHORT "&k=" TEST_SECRET_ID "&t=%lld&e=never&r=1&f=/" TEST_APPID "/" SHORT
                           "/v4", now);
    char *se = test_v4_sign(TEST_SECRET_KEY, pe);
    EXPECT(v4_get(HOST, "GET", "/v4", se, NULL, NULL), 403, "AccessDenied");
    /* a key with a slash: its f names it with the slash as is (getV4Auth keeps '/') */
    char *pd = cos_sprintf("a=" TEST_APPID "&b=" SHORT "&k=" TEST_SECRET_ID "&t=%lld&e=%lld&r=1&f=/" TEST_APPID "/" SHORT
                           "/d/x", now, now + 900);
    char *sd = test_v4_sign(TEST_SECRET_KEY, pd);
    EXPECT(v4_get(HOST, "GET", "/d/x", sd, NULL, NULL), 200, NULL);
    EXPECT(v4_get(HOST, "GET", "/d//x", sd, NULL, NULL), 403, NULL);
    EXPECT(v4_get(HOST, "GET", "/d/./x", sd, NULL, NULL), 403, NULL);
    EXPECT(v4_get(HOST, "GET", "/e/../d/x", sd, NULL, NULL), 403, NULL);
    /* never a write */
    EXPECT(v4_get(HOST, "PUT", "/v4", s, NULL, NULL), 403, NULL);
    EXPECT(v4_get(HOST, "DELETE", "/v4", s, NULL, NULL), 403, NULL);
    EXPECT(v4_get(HOST, "POST", "/v4", s, "&restore", NULL), 403, NULL);
    r = owner_call(HOST, "GET", "/v4", "/v4", NULL, 0, NULL, 0, NULL, NULL);
    CHECK(r.body && !strcmp(r.body, "v4 body"));
    test_reply_free(&r);
    free(plain);
    free(s);
    free(forged);
    free(fs);
    free(po);
    free(so);
    free(sx);
    free(pu);
    free(su);
    free(pt);
    free(st);
    free(pe);
    free(se);
    free(pd);
    free(sd);
}

/* A signed parameter's name matches the list URL-encoded or as it is: a
 * parameter literally named like another's encoded form is a different
 * parameter, and the signature (over the names encoded) must not verify. */
static void test_param_names_not_confused(void)
{
    put_object(HOST, "pn", "pn body");
    cos_kv q[] = { { "a;b", "1" } };
    /* signed for "a;b" (listed as a%3bb), sent with a parameter literally named "a%3bb" */
    EXPECT(owner_call(HOST, "GET", "/pn?a%3Bb=1", "/pn", q, 1, NULL, 0, NULL, NULL), 200, NULL);
    EXPECT(owner_call(HOST, "GET", "/pn?a%253bb=1", "/pn", q, 1, NULL, 0, NULL, NULL), 403, NULL);
    EXPECT(owner_call(HOST, "GET", "/pn?a%3Bb=1&a%253bb=1", "/pn", q, 1, NULL, 0, NULL, NULL), 403, NULL);
    /* signed for a parameter literally named "%61cl": "acl" is not it */
    cos_kv q2[] = { { "%61cl", "" } };
    EXPECT(owner_call(HOST, "GET", "/pn?acl", "/pn", q2, 1, NULL, 0, NULL, NULL), 403, NULL);
    EXPECT(owner_call(HOST, "PUT", "/pn?acl", "/pn", q2, 1, NULL, 0, "x-cos-acl: public-read\r\n", NULL), 403, NULL);
    /* the sign= form with the same swap */
    char *auth = test_cos_auth(TEST_SECRET_ID, TEST_SECRET_KEY, "GET", "/pn", HOST, q, 1, NULL, 0);
    char *ea = test_query_encode(auth);
    char *t = cos_sprintf("/pn?sign=%s&a%%253bb=1", ea);
    EXPECT(raw_call(HOST, "GET", t, NULL, NULL), 403, NULL);
    free(auth);
    free(ea);
    free(t);
    EXPECT(raw_call(HOST, "GET", "/pn", NULL, NULL), 403, NULL); /* still private */
}

/* Only an empty grant header goes unsigned: one that says something, hidden
 * after an empty one of the same name or in S3's spelling, is refused; and
 * the object stays private. */
static void test_empty_grants_only(void)
{
    put_object(HOST, "g", "g body");
    cos_kv q[] = { { "acl", "" } };
    cos_kv h[] = { { "x-cos-acl", "private" } };
    static const char *const HIDDEN[] = {
        "x-cos-grant-read: \r\nx-cos-grant-read: uri=\"http://cam.qcloud.com/groups/global/AllUsers\"\r\n",
        "x-cos-grant-read: uri=\"http://cam.qcloud.com/groups/global/AllUsers\"\r\nx-cos-grant-read: \r\n",
        "x-amz-grant-read: \r\nx-amz-grant-full-control: uri=\"http://acs.amazonaws.com/groups/global/AllUsers\"\r\n",
        "x-cos-grant-read: \t uri=\"http://cam.qcloud.com/groups/global/AllUsers\"\r\n",
        "x-cos-grant-write-acp:   \r\nx-cos-grant-full-control: , uri=\"http://cam.qcloud.com/groups/global/AllUsers\"\r\n",
    };
    for (size_t i = 0; i < COS_ARRAY_LEN(HIDDEN); i++) {
        test_reply r = owner_call(HOST, "PUT", "/g?acl", "/g", q, 1, h, 1, HIDDEN[i], NULL);
        /* refused (403 unsigned, or 400 for mixing the dialects' names) */
        if (r.status != 403 && r.status != 400) test_fail(__FILE__, __LINE__, "hidden grant %zu: %d", i, r.status);
        test_reply_free(&r);
        EXPECT(raw_call(HOST, "GET", "/g", NULL, NULL), 403, NULL);
    }
    /* an empty one beside a signed canned ACL changes nothing */
    EXPECT(owner_call(HOST, "PUT", "/g?acl", "/g", q, 1, h, 1, "x-cos-grant-read: \r\n", NULL), 200, NULL);
    EXPECT(raw_call(HOST, "GET", "/g", NULL, NULL), 403, NULL);
    /* nor on a PUT of the object itself: still private */
    EXPECT(owner_call(HOST, "PUT", "/g2", "/g2", NULL, 0, NULL, 0, "x-cos-grant-read: \r\nx-cos-grant-full-control: \r\n",
                      "g2"),
           200, NULL);
    EXPECT(raw_call(HOST, "GET", "/g2", NULL, NULL), 403, NULL);
}

/* PUTs and DELETEs of the same keys at once, batched: every answer agrees
 * with what a GET then reads (the last acknowledged write of each key's
 * only writer), and conditional creates race to exactly one winner. */
enum { PD_THREADS = 8, PD_ROUNDS = 12 };
typedef struct pd_job {
    int t;
    int last;         /* the round of the last acknowledged write: >= 0 a PUT of that round, -1 a DELETE, -2 none */
    int failed;
    atomic_int *created;
} pd_job;

static void *pd_worker(void *arg)
{
    pd_job *j = arg;
    char path[64];
    snprintf(path, sizeof path, "/pd/%d", j->t);
    for (int i = 0; i < PD_ROUNDS; i++) {
        if (i % 3 == 2) {
            test_reply r = owner_call(HOST, "DELETE", path, path, NULL, 0, NULL, 0, NULL, NULL);
            if (r.status == 204) j->last = -1;
            else j->failed++;
            test_reply_free(&r);
        } else {
            char body[48];
            snprintf(body, sizeof body, "t%d-r%d", j->t, i);
            test_reply r = owner_call(HOST, "PUT", path, path, NULL, 0, NULL, 0, NULL, body);
            if (r.status == 200) j->last = i;
            else j->failed++;
            test_reply_free(&r);
        }
        /* and all threads race to create one key once per round */
        char once[64];
        snprintf(once, sizeof once, "/once/%d", i);
        cos_kv h[] = { { "x-cos-forbid-overwrite", "true" } };
        test_reply r = owner_call(HOST, "PUT", once, once, NULL, 0, h, 1, NULL, path);
        if (r.status == 200) atomic_fetch_add(&j->created[i], 1);
        else if (r.status != 409) j->failed++;
        test_reply_free(&r);
    }
    return NULL;
}

static void test_batched_put_delete_answers(void)
{
    static atomic_int created[PD_ROUNDS];
    pd_job jobs[PD_THREADS];
    pthread_t th[PD_THREADS];
    for (int i = 0; i < PD_ROUNDS; i++) atomic_init(&created[i], 0);
    for (int t = 0; t < PD_THREADS; t++) {
        jobs[t] = (pd_job){ t, -2, 0, created };
        pthread_create(&th[t], NULL, pd_worker, &jobs[t]);
    }
    for (int t = 0; t < PD_THREADS; t++) pthread_join(th[t], NULL);
    for (int i = 0; i < PD_ROUNDS; i++) CHECK_INT(atomic_load(&created[i]), 1);
    for (int t = 0; t < PD_THREADS; t++) {
        CHECK_INT(jobs[t].failed, 0);
        char path[64], want[48];
        snprintf(path, sizeof path, "/pd/%d", t);
        test_reply r = owner_call(HOST, "GET", path, path, NULL, 0, NULL, 0, NULL, NULL);
        if (jobs[t].last == -1) {
            CHECK_INT(r.status, 404);
        } else {
            snprintf(want, sizeof want, "t%d-r%d", t, jobs[t].last);
            CHECK_INT(r.status, 200);
            CHECK(r.body && !strcmp(r.body, want));
        }
        test_reply_free(&r);
    }
}

int main(void)
{
    const char *args[] = { "--extra-key", OTHER_ID ":" OTHER_KEY ":100000000077", NULL };
    if (test_server_start(&g_srv, args) != 0) return 1;
    test_put_bucket_on(&g_srv, B);
    test_put_bucket_on(&g_srv, DASHED);
    put_object(DASHED ".cos.ap-guangzhou.myqcloud.com", "v4", "dashed body");
    RUN(test_v4_sign_confined);
    RUN(test_param_names_not_confused);
    RUN(test_empty_grants_only);
    RUN(test_batched_put_delete_answers);
    test_server_stop(&g_srv, false);
    return test_report();
}

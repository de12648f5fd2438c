/* test_cos_fidelity.c — cos-server keeps the promises COS's documentation
 * makes where a client relying on them would otherwise lose data or be
 * told something false:
 *   - x-cos-forbid-overwrite: true (PUT, POST form, copy, Initiate and
 *     Complete Multipart) leaves an existing key alone on a bucket whose
 *     versioning was never enabled (409 FileAlreadyExists), also when writers
 *     race for a new key (exactly one wins), and has no effect on a
 *     versioned bucket;
 *   - AppendObject on a versioned bucket makes no versions and loses none
 *     (appendable objects take no part in versioning);
 *   - POST ?restore&versionId= restores that version, and an unknown one is
 *     404 NoSuchVersion;
 *   - a copy (PUT Object - Copy, Upload Part - Copy) whose source is
 *     replaced or deleted while it runs copies one whole version, with its
 *     ETag, or answers 404 NoSuchKey: never a 500, never a mix;
 *   - more than 2 KB of user metadata (x-cos-meta-* / x-amz-meta-*) is
 *     refused (400 MetadataTooLarge) on PUT, POST, copy with REPLACED
 *     metadata and Initiate, in both dialects. */
#define _GNU_SOURCE
#include "testlib.h"
#include "cos/hash.h"
#include "util.h"

#include <pthread.h>
#include <stdint.h>

#define B "fidelity-" TEST_APPID     /* versioning never enabled */
#define BV "fidelityv-" TEST_APPID   /* versioning Enabled */
#define BS "fidelitys-" TEST_APPID   /* versioning Suspended */
#define BF "fidelityf-" TEST_APPID   /* public-read-write, for anonymous forms */
#define HOST(b) b ".cos.ap-guangzhou.myqcloud.com"

static cos_client *g_c;
static test_server g_s;

typedef struct answer {
    int status;
    char code[64];
    char *body;
    size_t len;
    char etag[80];
} answer;

static answer call_on(cos_client *c, const char *bucket, const char *method, const char *key, const char *action,
                      const cos_kv *q, size_t nq, const cos_kv *h, size_t nh, const void *body, size_t len)
{
    cos_request r = COS_REQUEST_INIT;
    r.method = method;
    r.bucket = bucket;
    r.key = key;
    r.action = action;
    r.query = q;
    r.query_count = nq;
    r.headers = h;
    r.header_count = nh;
    r.body.data = body;
    r.body.size = len;
    cos_result *res = NULL;
    cos_error *err = NULL;
    answer a = { 0, "", NULL, 0, "" };
    if (cos_send_request(c, &r, &res, &err) == 0) {
        a.status = res->http_status;
        a.len = res->body_size;
        a.body = malloc(a.len + 1);
        if (a.len) memcpy(a.body, res->body, a.len);
        a.body[a.len] = '\0';
        snprintf(a.etag, sizeof a.etag, "%s", res->etag ? res->etag : "");
    } else if (err) {
        a.status = err->http_status;
        snprintf(a.code, sizeof a.code, "%s", err->code ? err->code : "");
    }
    cos_result_free(res);
    cos_error_free(err);
    return a;
}

static answer call(const char *bucket, const char *method, const char *key, const char *action, const cos_kv *q,
                   size_t nq, const cos_kv *h, size_t nh, const char *body)
{
    return call_on(g_c, bucket, method, key, action, q, nq, h, nh, body, body ? strlen(body) : 0);
}

/* The status (and code, when an error) of one call; its body freed. */
#define EXPECT(a_, status_, code_) do { answer e_ = (a_); \
    if (e_.status != (status_) || ((code_) && strcmp(e_.code, (code_) ? (code_) : "") != 0)) \
        test_fail(__FILE__, __LINE__, "answered %d %s, not %d %s", e_.status, e_.code, (status_), (code_) ? (code_) : ""); \
    free(e_.body); } while (0)

static const cos_kv FORBID = { "x-cos-forbid-overwrite", "true" };

static void put_body(const char *bucket, const char *key, const char *body)
{
    EXPECT(call(bucket, "PUT", key, NULL, NULL, 0, NULL, 0, body), 200, NULL);
}

/* GET's body is `want`. */
static void check_body(const char *bucket, const char *key, const char *want, int line)
{
    answer a = call(bucket, "GET", key, NULL, NULL, 0, NULL, 0, NULL);
    if (a.status != 200 || strcmp(a.body, want) != 0)
        test_fail(__FILE__, line, "%s/%s answered %d \"%s\", not \"%s\"", bucket, key, a.status, a.body ? a.body : "",
                  want);
    free(a.body);
}
#define CHECK_BODY(b, k, w) check_body(b, k, w, __LINE__)

static void set_versioning(const char *bucket, const char *status)
{
    char *doc = cos_sprintf("<VersioningConfiguration><Status>%s</Status></VersioningConfiguration>", status);
    EXPECT(call(bucket, "PUT", NULL, "versioning", NULL, 0, NULL, 0, doc), 200, NULL);
    free(doc);
}

/* ---------------------------------------------------------------- x-cos-forbid-overwrite */

static void test_forbid_overwrite_put(void)
{
    put_body(B, "kept", "first");
    EXPECT(call(B, "PUT", "kept", NULL, NULL, 0, &FORBID, 1, "second"), 409, "FileAlreadyExists");
    CHECK_BODY(B, "kept", "first");
    cos_kv upper = { "x-cos-forbid-overwrite", "TRUE" }; /* the value is case-insensitive */
    EXPECT(call(B, "PUT", "kept", NULL, NULL, 0, &upper, 1, "third"), 409, "FileAlreadyExists");
    CHECK_BODY(B, "kept", "first");
    cos_kv off = { "x-cos-forbid-overwrite", "false" };
    EXPECT(call(B, "PUT", "kept", NULL, NULL, 0, &off, 1, "fourth"), 200, NULL);
    CHECK_BODY(B, "kept", "fourth");
    /* a new key is written, once */
    EXPECT(call(B, "PUT", "new-once", NULL, NULL, 0, &FORBID, 1, "made"), 200, NULL);
    EXPECT(call(B, "PUT", "new-once", NULL, NULL, 0, &FORBID, 1, "again"), 409, "FileAlreadyExists");
    CHECK_BODY(B, "new-once", "made");
}

static void test_forbid_overwrite_copy(void)
{
    put_body(B, "copy-src", "source bytes");
    put_body(B, "copy-dst", "destination bytes");
    cos_kv h[] = { { "x-cos-copy-source", HOST(B) "/copy-src" }, FORBID };
    EXPECT(call(B, "PUT", "copy-dst", NULL, NULL, 0, h, 2, NULL), 409, "FileAlreadyExists");
    CHECK_BODY(B, "copy-dst", "destination bytes");
    EXPECT(call(B, "PUT", "copy-new", NULL, NULL, 0, h, 2, NULL), 200, NULL);
    CHECK_BODY(B, "copy-new", "source bytes");
}

static char *upload_id_of(const char *body)
{
    const char *p = body ? strstr(body, "<UploadId>") : NULL;
    return p ? cos_strndup(p + 10, strcspn(p + 10, "<")) : NULL;
}

static void test_forbid_overwrite_multipart(void)
{
    put_body(B, "mp-existing", "there before");
    cos_kv u = { "uploads", "" };
    EXPECT(call(B, "POST", "mp-existing", "uploads", &u, 1, &FORBID, 1, NULL), 409, "FileAlreadyExists");
    /* the key appears between Initiate and Complete: Complete checks again */
    answer a = call(B, "POST", "mp-late", "uploads", &u, 1, &FORBID, 1, NULL);
    CHECK(a.status == 200);
    char *id = upload_id_of(a.body);
    free(a.body);
    CHECK(id != NULL);
    if (!id) return;
    cos_kv pq[] = { { "partNumber", "1" }, { "uploadId", id } };
    a = call(B, "PUT", "mp-late", NULL, pq, 2, NULL, 0, "the upload's part");
    CHECK(a.status == 200);
    char *doc = cos_sprintf("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part>"
                            "</CompleteMultipartUpload>", a.etag);
    free(a.body);
    put_body(B, "mp-late", "written meanwhile");
    cos_kv cq = { "uploadId", id };
    EXPECT(call(B, "POST", "mp-late", NULL, &cq, 1, &FORBID, 1, doc), 409, "FileAlreadyExists");
    CHECK_BODY(B, "mp-late", "written meanwhile");
    /* the refused Complete left the upload as it was: without the header it completes */
    EXPECT(call(B, "POST", "mp-late", NULL, &cq, 1, NULL, 0, doc), 200, NULL);
    CHECK_BODY(B, "mp-late", "the upload's part");
    free(doc);
    free(id);
}

/* An anonymous form to the public-read-write bucket BF: the server's status and body. */
static int post_form(const char *key, const char *field, const char *value, const char *data, char **body)
{
    cos_buf f = COS_BUF_INIT;
    cos_buf_printf(&f, "--BB\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\n%s\r\n", key);
    if (field) cos_buf_printf(&f, "--BB\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n", field, value);
    cos_buf_printf(&f, "--BB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.txt\"\r\n\r\n%s\r\n--BB--\r\n",
                   data);
    char *req = cos_sprintf("POST / HTTP/1.1\r\nHost: " HOST(BF) "\r\nContent-Type: multipart/form-data; boundary=BB\r\n"
                            "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", f.len, f.data);
    int status = 0;
    char *b = NULL;
    test_http_raw(&g_s, req, strlen(req), &status, &b);
    free(req);
    cos_buf_free(&f);
    if (body) *body = b;
    else free(b);
    return status;
}

static void test_forbid_overwrite_post(void)
{
    CHECK_INT(post_form("form-key", NULL, NULL, "by form", NULL), 200);
    char *body = NULL;
    CHECK_INT(post_form("form-key", "x-cos-forbid-overwrite", "true", "overwriting form", &body), 409);
    CHECK(body && strstr(body, "<Code>FileAlreadyExists</Code>"));
    free(body);
    CHECK_BODY(BF, "form-key", "by form");
}

#define RACERS 8
static pthread_barrier_t g_start;
typedef struct racer { int id; char key[32]; int status; char code[64]; } racer;

static void *forbid_racer(void *arg)
{
    racer *me = arg;
    char body[32];
    snprintf(body, sizeof body, "racer-%d", me->id);
    pthread_barrier_wait(&g_start);
    answer a = call(B, "PUT", me->key, NULL, NULL, 0, &FORBID, 1, body);
    me->status = a.status;
    snprintf(me->code, sizeof me->code, "%s", a.code);
    free(a.body);
    return NULL;
}

/* Racing writers of one new key, each forbidding overwrites: exactly one is
 * acknowledged, the others are told FileAlreadyExists, and the key holds
 * the winner's bytes. */
static void test_forbid_overwrite_race(void)
{
    for (int round = 0; round < 12; round++) {
        racer rs[RACERS];
        pthread_t t[RACERS];
        pthread_barrier_init(&g_start, NULL, RACERS);
        for (int i = 0; i < RACERS; i++) {
            memset(&rs[i], 0, sizeof rs[i]);
            rs[i].id = i;
            snprintf(rs[i].key, sizeof rs[i].key, "raced-%d", round);
            pthread_create(&t[i], NULL, forbid_racer, &rs[i]);
        }
        int wins = 0, winner = -1;
        for (int i = 0; i < RACERS; i++) {
            pthread_join(t[i], NULL);
            if (rs[i].status == 200) {
                wins++;
                winner = i;
            } else if (rs[i].status != 409 || strcmp(rs[i].code, "FileAlreadyExists") != 0) {
                test_fail(__FILE__, __LINE__, "round %d: a racer answered %d %s", round, rs[i].status, rs[i].code);
            }
        }
        pthread_barrier_destroy(&g_start);
        if (wins != 1) test_fail(__FILE__, __LINE__, "round %d: %d racers were acknowledged, not exactly 1", round, wins);
        if (wins == 1) {
            char key[32], want[32];
            snprintf(key, sizeof key, "raced-%d", round);
            snprintf(want, sizeof want, "racer-%d", winner);
            CHECK_BODY(B, key, want);
        }
    }
}

/* Versioning Enabled or Suspended: the header has no effect (COS: Complete
 * Multipart Upload's x-cos-forbid-overwrite). */
static void test_forbid_overwrite_versioned(void)
{
    put_body(BV, "v-kept", "one");
    answer a = call(BV, "PUT", "v-kept", NULL, NULL, 0, &FORBID, 1, "two");
    CHECK_INT(a.status, 200);
    free(a.body);
    CHECK_BODY(BV, "v-kept", "two");
    put_body(BS, "s-kept", "one");
    a = call(BS, "PUT", "s-kept", NULL, NULL, 0, &FORBID, 1, "two");
    CHECK_INT(a.status, 200);
    free(a.body);
    CHECK_BODY(BS, "s-kept", "two");
}

/* ---------------------------------------------------------------- AppendObject and versioning */

static answer append(const char *bucket, const char *key, const char *pos, const char *data)
{
    cos_kv q = { "position", pos };
    return call(bucket, "POST", key, "append", &q, 1, NULL, 0, data);
}

/* COS's own Python suite appends on a bucket whose versioning it enabled
 * earlier; COS documents that appendable objects take no part in
 * versioning. So: appends work on versioned buckets, extend the object in
 * place without making versions, and the object they create is a version
 * of its own, apart from the key's others (before, it took the id "null"
 * and a later PUT, keeping it as non-current, replaced the key's real
 * "null" version: a version lost). */
static void test_append_on_versioned_buckets(void)
{
    /* never versioned */
    EXPECT(append(B, "log", "0", "abc"), 200, NULL);
    EXPECT(append(B, "log", "3", "def"), 200, NULL);
    CHECK_BODY(B, "log", "abcdef");
    /* Enabled, over a key with a null version and a delete marker */
    const char *vb = "fidelityl-" TEST_APPID;
    test_put_bucket(g_c, vb);
    put_body(vb, "log", "the null version");
    set_versioning(vb, "Enabled");
    EXPECT(call(vb, "DELETE", "log", NULL, NULL, 0, NULL, 0, NULL), 204, NULL);
    EXPECT(append(vb, "log", "0", "ap"), 200, NULL);
    EXPECT(append(vb, "log", "2", "pended"), 200, NULL);
    CHECK_BODY(vb, "log", "appended");
    answer a = call(vb, "GET", NULL, "versions", NULL, 0, NULL, 0, NULL);
    CHECK(a.status == 200);
    if (test_count_of(a.body, "<Version>") != 2 || test_count_of(a.body, "<DeleteMarker>") != 1)
        test_fail(__FILE__, __LINE__, "after two appends: %d versions and %d delete markers, not 2 and 1",
                  test_count_of(a.body, "<Version>"), test_count_of(a.body, "<DeleteMarker>"));
    free(a.body);
    put_body(vb, "log", "written over");
    cos_kv qnull = { "versionId", "null" };
    a = call(vb, "GET", "log", NULL, &qnull, 1, NULL, 0, NULL);
    if (a.status != 200 || strcmp(a.body, "the null version") != 0)
        test_fail(__FILE__, __LINE__, "the null version answered %d \"%s\"", a.status, a.body ? a.body : "");
    free(a.body);
    a = call(vb, "GET", NULL, "versions", NULL, 0, NULL, 0, NULL);
    CHECK(a.status == 200 && test_count_of(a.body, "<Version>") == 3 && test_count_of(a.body, "<DeleteMarker>") == 1);
    CHECK(a.body && strstr(a.body, "<Size>8</Size>")); /* the appended object, kept whole */
    free(a.body);
    CHECK_BODY(vb, "log", "written over");
    /* a normal object is still not appended to */
    EXPECT(append(vb, "log", "12", "x"), 409, "ObjectNotAppendable");
    /* Suspended */
    EXPECT(append(BS, "slog", "0", "abc"), 200, NULL);
    EXPECT(append(BS, "slog", "3", "def"), 200, NULL);
    CHECK_BODY(BS, "slog", "abcdef");
}

/* ---------------------------------------------------------------- POST ?restore&versionId= */

static char *put_version(const char *bucket, const char *key, const char *body, const cos_kv *h, size_t nh)
{
    cos_request r = COS_REQUEST_INIT;
    r.method = "PUT";
    r.bucket = bucket;
    r.key = key;
    r.headers = h;
    r.header_count = nh;
    r.body.data = body;
    r.body.size = strlen(body);
    cos_result *res = NULL;
    cos_error *err = NULL;
    char *vid = NULL;
    if (cos_send_request(g_c, &r, &res, &err) == 0 && res->version_id) vid = cos_strdup(res->version_id);
    cos_result_free(res);
    cos_error_free(err);
    return vid;
}

static void test_restore_names_a_version(void)
{
    static const char doc[] = "<RestoreRequest><Days>1</Days><CASJobParameters><Tier>Standard</Tier>"
                              "</CASJobParameters></RestoreRequest>";
    cos_kv archive = { "x-cos-storage-class", "ARCHIVE" };
    char *v1 = put_version(BV, "cold", "version one", &archive, 1);
    char *v2 = put_version(BV, "cold", "version two", &archive, 1);
    CHECK(v1 && v2 && strcmp(v1, v2) != 0);
    if (!v1 || !v2) return;
    cos_kv q1[] = { { "versionId", v1 } };
    EXPECT(call(BV, "POST", "cold", "restore", q1, 1, NULL, 0, doc), 202, NULL);
    /* (--restore-seconds 0) the named version is restored, the current one is not */
    answer a = call(BV, "GET", "cold", NULL, q1, 1, NULL, 0, NULL);
    if (a.status != 200 || strcmp(a.body, "version one") != 0)
        test_fail(__FILE__, __LINE__, "the restored version answered %d %s \"%s\"", a.status, a.code, a.body ? a.body : "");
    free(a.body);
    EXPECT(call(BV, "GET", "cold", NULL, NULL, 0, NULL, 0, NULL), 403, "InvalidObjectState");
    /* and the current one by its id */
    cos_kv q2[] = { { "versionId", v2 } };
    EXPECT(call(BV, "POST", "cold", "restore", q2, 1, NULL, 0, doc), 202, NULL);
    CHECK_BODY(BV, "cold", "version two");
    /* an unknown version is not the current one */
    cos_kv qx[] = { { "versionId", "MTg0NDUxnosuchversion" } };
    EXPECT(call(BV, "POST", "cold", "restore", qx, 1, NULL, 0, doc), 404, "NoSuchVersion");
    free(v1);
    free(v2);
}

/* ---------------------------------------------------------------- copies racing their source's writers */

#define COPIES 150
/* Body i of the source: "v<i>:" then filler; every third one large enough
 * to be a file of its own rather than a row's blob. (Not inlined: GCC's -O3
 * reads a write past the buffer into the inlined loop, a false positive.) */
__attribute__((noinline)) static size_t source_body(int i, char *buf, size_t cap)
{
    size_t len = i % 3 == 0 ? 96 * 1024 : 40 + (size_t)(i % 7);
    if (len > cap) len = cap;
    int n = snprintf(buf, cap, "v%d:", i);
    for (size_t k = (size_t)n; k < len; k++) buf[k] = (char)('a' + (i + (int)k) % 26);
    return len;
}

static void md5_hex(const void *p, size_t n, char out[33])
{
    unsigned char d[16];
    cos_md5_digest(p, n, d);
    cos_hex_encode(d, 16, out);
}

/* body is exactly source body i for some i, and etag (quoted or not) its MD5. */
static bool one_whole_version(const char *body, size_t len, const char *etag)
{
    int i = -1;
    if (!body || sscanf(body, "v%d:", &i) != 1 || i < 0) return false;
    static __thread char want[96 * 1024];
    size_t wl = source_body(i, want, sizeof want);
    if (wl != len || memcmp(want, body, len) != 0) return false;
    char hex[33];
    md5_hex(body, len, hex);
    return etag && strstr(etag, hex) != NULL;
}

static volatile int g_copiers_done;
#define MAXW 20000
static char g_md5[MAXW][33]; /* the MD5 of source body i, set before it is written */
static volatile int g_written;

static int g_puts, g_dels;
static void *source_writer(void *arg)
{
    (void)arg;
    static char buf[96 * 1024];
    for (int i = 1; !g_copiers_done && i < MAXW; i++) {
        if (i % 11 == 0) {
            answer a = call(B, "DELETE", "moving", NULL, NULL, 0, NULL, 0, NULL);
            free(a.body);
            g_dels++;
            continue;
        }
        size_t len = source_body(i, buf, sizeof buf);
        md5_hex(buf, len, g_md5[i]);
        __atomic_store_n(&g_written, i, __ATOMIC_RELEASE);
        answer a = call_on(g_c, B, "PUT", "moving", NULL, NULL, 0, NULL, 0, buf, len);
        __atomic_add_fetch(&g_puts, 1, __ATOMIC_RELEASE);
        if (a.status != 200) test_fail(__FILE__, __LINE__, "a source PUT answered %d %s", a.status, a.code);
        free(a.body);
    }
    return NULL;
}

typedef struct copier { int id; int copied, missing; } copier;

/* After a NoSuchKey (the source between a DELETE and the next PUT), let the
 * writer put it back rather than spend the copies on its absence (pacing
 * only: nothing is asserted on time). */
static void wait_for_writer(void)
{
    int seen = __atomic_load_n(&g_puts, __ATOMIC_ACQUIRE);
    for (int k = 0; k < 2000 && __atomic_load_n(&g_puts, __ATOMIC_ACQUIRE) == seen && !g_copiers_done; k++)
        cos_sleep_ms_for_tests(1);
}

static void *object_copier(void *arg)
{
    copier *me = arg;
    cos_kv h = { "x-cos-copy-source", HOST(B) "/moving" };
    char key[32];
    snprintf(key, sizeof key, "copy-of-%d", me->id);
    for (int j = 0; j < COPIES; j++) {
        answer a = call(B, "PUT", key, NULL, NULL, 0, &h, 1, NULL);
        if (a.status == 404 && !strcmp(a.code, "NoSuchKey")) {
            me->missing++;
            wait_for_writer();
        } else if (a.status != 200) {
            test_fail(__FILE__, __LINE__, "a copy of a source being replaced answered %d %s", a.status, a.code);
        } else {
            answer g = call(B, "GET", key, NULL, NULL, 0, NULL, 0, NULL);
            char hex[33];
            snprintf(hex, sizeof hex, "%.32s", g.etag + (g.etag[0] == '"'));
            if (g.status != 200 || !one_whole_version(g.body, g.len, g.etag) || !strstr(a.body, hex))
                test_fail(__FILE__, __LINE__, "a copy answered 200 but holds %zu bytes starting \"%.12s\" (ETag %s): not one "
                          "whole version of its source", g.len, g.body ? g.body : "", g.etag);
            else me->copied++;
            free(g.body);
        }
        free(a.body);
    }
    return NULL;
}

static void *part_copier(void *arg)
{
    copier *me = arg;
    cos_kv u = { "uploads", "" };
    answer a = call(B, "POST", "parts-of-moving", "uploads", &u, 1, NULL, 0, NULL);
    char *id = upload_id_of(a.body);
    free(a.body);
    if (!id) {
        test_fail(__FILE__, __LINE__, "no upload");
        return NULL;
    }
    cos_kv h = { "x-cos-copy-source", HOST(B) "/moving" };
    for (int j = 0; j < COPIES; j++) {
        char num[16];
        snprintf(num, sizeof num, "%d", j + 1);
        cos_kv q[] = { { "partNumber", num }, { "uploadId", id } };
        a = call(B, "PUT", "parts-of-moving", NULL, q, 2, &h, 1, NULL);
        if (a.status == 404 && !strcmp(a.code, "NoSuchKey")) {
            me->missing++;
            wait_for_writer();
        } else if (a.status != 200) {
            test_fail(__FILE__, __LINE__, "a part copy of a source being replaced answered %d %s", a.status, a.code);
        } else {
            /* the part's ETag is the MD5 of what it copied: one of the source's bodies */
            char hex[33] = "";
            const char *e = strstr(a.body, "<ETag>");
            if (e) {
                e += 6;
                while (*e == '"' || *e == '&' || *e == 'q' || *e == 'u' || *e == 'o' || *e == 't' || *e == ';') e++;
                snprintf(hex, sizeof hex, "%.32s", e);
            }
            bool found = false;
            for (int i = 0; hex[0] && !found && i <= g_written; i++) found = !strcmp(g_md5[i], hex);
            if (!found) test_fail(__FILE__, __LINE__, "a part copy answered 200 with ETag %s: no version's MD5", hex);
            else me->copied++;
        }
        free(a.body);
    }
    cos_kv aq = { "uploadId", id };
    a = call(B, "DELETE", "parts-of-moving", NULL, &aq, 1, NULL, 0, NULL);
    free(a.body);
    free(id);
    return NULL;
}

/* A server of its own whose every 4th open for reading of a data file waits
 * 30 ms (tests/preload/slow_open.c): the window between a request's reading
 * an object's row and opening its data, microseconds wide otherwise, is
 * then wide enough for a racing writer to replace or delete the object in
 * it, as it could on a loaded machine. g_c talks to it until
 * slow_server_stop. 0 or -1. */
static test_server g_slow;
static cos_client *g_saved;

static int slow_server_start(void)
{
    const char *lib = getenv("COS_SLOW_OPEN_LIB");
    memset(&g_slow, 0, sizeof g_slow);
    char *root = test_tmpdir("slowopen");
    if (!root) return -1;
    snprintf(g_slow.root, sizeof g_slow.root, "%s", root);
    free(root);
    char under[300];
    snprintf(under, sizeof under, "%s/data/", g_slow.root);
    const char *was = getenv("ASAN_OPTIONS");
    char *old_asan = was ? cos_strdup(was) : NULL;
    char *asan = cos_sprintf("%s%sverify_asan_link_order=0", was ? was : "", was ? ":" : "");
    if (lib) { /* the server inherits these; this process never reads them again */
        setenv("LD_PRELOAD", lib, 1);
        setenv("COS_TEST_SLOW_OPEN_UNDER", under, 1);
        setenv("COS_TEST_SLOW_OPEN_MS", "30", 1);
        setenv("ASAN_OPTIONS", asan, 1);
    } else {
        printf("  (COS_SLOW_OPEN_LIB not set: the race runs at its natural width)\n");
    }
    int started = test_server_start(&g_slow, NULL);
    unsetenv("LD_PRELOAD");
    if (old_asan) setenv("ASAN_OPTIONS", old_asan, 1);
    else unsetenv("ASAN_OPTIONS");
    free(old_asan);
    free(asan);
    if (started != 0) return -1;
    cos_config cfg;
    test_config(&cfg, &g_slow);
    cfg.max_retries = -1;
    cos_client *c2 = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c2, &cfg, &err), err);
    if (!c2) {
        test_server_stop(&g_slow, false);
        return -1;
    }
    g_saved = g_c;
    g_c = c2;
    test_put_bucket(g_c, B);
    return 0;
}

static void slow_server_stop(void)
{
    cos_client_free(g_c);
    g_c = g_saved;
    test_server_stop(&g_slow, false);
}

static void copy_race(void);

static void test_copy_while_source_replaced(void)
{
    int started = slow_server_start();
    CHECK(started == 0);
    if (started != 0) return;
    copy_race();
    slow_server_stop();
}

/* Appends racing at one position: each is acknowledged or told
 * PositionNotEqualToLength, never a 500 (an append that read the object
 * before another replaced it found its data gone), and the object is what
 * the acknowledged ones wrote. */
typedef struct appender { int id; int acked; } appender;

static void *racing_appender(void *arg)
{
    appender *me = arg;
    char chunk[16];
    memset(chunk, 'A' + me->id, sizeof chunk - 1);
    chunk[sizeof chunk - 1] = '\0';
    for (int i = 0; i < 40; i++) {
        char pos[32];
        cos_request r = COS_REQUEST_INIT;
        r.method = "GET"; /* the body's size is the position */
        r.bucket = B;
        r.key = "alog";
        cos_result *res = NULL;
        cos_error *err = NULL;
        snprintf(pos, sizeof pos, "0");
        if (cos_send_request(g_c, &r, &res, &err) == 0) snprintf(pos, sizeof pos, "%zu", res->body_size);
        cos_result_free(res);
        cos_error_free(err);
        answer a = append(B, "alog", pos, chunk);
        if (a.status == 200) me->acked++;
        else if (a.status != 409 || strcmp(a.code, "PositionNotEqualToLength") != 0)
            test_fail(__FILE__, __LINE__, "an append racing others answered %d %s", a.status, a.code);
        free(a.body);
    }
    return NULL;
}

static void test_appends_racing(void)
{
    int started = slow_server_start();
    CHECK(started == 0);
    if (started != 0) return;
    /* a start past 64 KiB: the object is a file, whose opening a racing append can outrun */
    static char start[70 * 1024];
    memset(start, 'S', sizeof start - 1);
    start[sizeof start - 1] = '\0';
    answer a0 = append(B, "alog", "0", start);
    CHECK_INT(a0.status, 200);
    free(a0.body);
    appender as[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        as[i] = (appender){ i, 0 };
        pthread_create(&t[i], NULL, racing_appender, &as[i]);
    }
    int acked = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        acked += as[i].acked;
    }
    answer a = call(B, "GET", "alog", NULL, NULL, 0, NULL, 0, NULL);
    if (a.status != 200 || a.len != sizeof start - 1 + (size_t)acked * 15)
        test_fail(__FILE__, __LINE__, "%d appends of 15 bytes were acknowledged after %zu; the object has %zu bytes", acked,
                  sizeof start - 1, a.len);
    free(a.body);
    printf("  appends: %d acknowledged of 160\n", acked);
    slow_server_stop();
}

/* GETs of the source while it is replaced: one whole version with its ETag,
 * NoSuchKey between a DELETE and the next PUT, or SlowDown when it was
 * replaced at every try; never a 500 (the old server's answer after three). */
static int g_slow_reads;
static void *source_reader(void *arg)
{
    copier *me = arg;
    for (int j = 0; j < COPIES; j++) {
        answer g = call(B, "GET", "moving", NULL, NULL, 0, NULL, 0, NULL);
        if (g.status == 404 && !strcmp(g.code, "NoSuchKey")) {
            me->missing++;
            wait_for_writer();
        } else if (g.status == 503 && !strcmp(g.code, "SlowDown")) {
            __atomic_add_fetch(&g_slow_reads, 1, __ATOMIC_RELAXED);
        } else if (g.status != 200 || !one_whole_version(g.body, g.len, g.etag)) {
            test_fail(__FILE__, __LINE__, "a GET of an object being replaced answered %d %s with %zu bytes", g.status,
                      g.code, g.len);
        } else {
            me->copied++;
        }
        free(g.body);
    }
    return NULL;
}

static void copy_race(void)
{
    g_copiers_done = 0;
    pthread_t w, c[4];
    copier cs[4] = { { 0, 0, 0 }, { 1, 0, 0 }, { 2, 0, 0 }, { 3, 0, 0 } };
    static char first[96 * 1024];
    size_t len = source_body(0, first, sizeof first);
    md5_hex(first, len, g_md5[0]);
    g_written = 0;
    answer a = call_on(g_c, B, "PUT", "moving", NULL, NULL, 0, NULL, 0, first, len);
    free(a.body);
    pthread_create(&w, NULL, source_writer, NULL);
    pthread_create(&c[0], NULL, object_copier, &cs[0]);
    pthread_create(&c[1], NULL, object_copier, &cs[1]);
    pthread_create(&c[2], NULL, part_copier, &cs[2]);
    pthread_create(&c[3], NULL, source_reader, &cs[3]);
    for (int i = 0; i < 4; i++) pthread_join(c[i], NULL);
    g_copiers_done = 1;
    pthread_join(w, NULL);
    printf("  writer: %d PUTs, %d DELETEs\n", g_puts, g_dels);
    printf("  copies: %d + %d whole, %d + %d NoSuchKey; part copies: %d whole, %d NoSuchKey\n", cs[0].copied,
           cs[1].copied, cs[0].missing, cs[1].missing, cs[2].copied, cs[2].missing);
    CHECK(cs[0].copied + cs[1].copied > 0);
    CHECK(cs[2].copied > 0);
    printf("  reads: %d whole, %d NoSuchKey, %d SlowDown\n", cs[3].copied, cs[3].missing, g_slow_reads);
    CHECK(cs[3].copied > 0);
}

/* Data that is gone while its row still names it is lost, not replaced:
 * GET says so (500 InternalError) at once, instead of retrying as for a
 * racing overwrite or calling it the writers' load (SlowDown). */
static void test_lost_data_is_an_error(void)
{
    static char big[70001]; /* over 64 KiB: a data file of its own, not a row's blob */
    memset(big, 'L', sizeof big - 1);
    put_body(B, "lost-data", big);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "find '%s/data' -type f -size 70000c -delete", g_s.root);
    CHECK(system(cmd) == 0);
    EXPECT(call(B, "GET", "lost-data", NULL, NULL, 0, NULL, 0, NULL), 500, "InternalError");
}

/* ---------------------------------------------------------------- user metadata: 2 KB */

static void test_metadata_limit(void)
{
    /* 2048 bytes of names (after the prefix) and values: kept; one more: refused whole */
    char v1[1024], v2[1100];
    memset(v1, 'x', sizeof v1 - 1);
    v1[sizeof v1 - 1] = '\0';
    size_t fill = 2048 - (sizeof v1 - 1) - 2 - 2; /* names "m1" and "m2" */
    memset(v2, 'y', fill);
    v2[fill] = '\0';
    cos_kv at[] = { { "x-cos-meta-m1", v1 }, { "x-cos-meta-m2", v2 } };
    EXPECT(call(B, "PUT", "meta-at", NULL, NULL, 0, at, 2, "ok"), 200, NULL);
    v2[fill] = 'y';
    v2[fill + 1] = '\0';
    EXPECT(call(B, "PUT", "meta-over", NULL, NULL, 0, at, 2, "no"), 400, "MetadataTooLarge");
    EXPECT(call(B, "GET", "meta-over", NULL, NULL, 0, NULL, 0, NULL), 404, "NoSuchKey");
    /* Initiate */
    cos_kv u = { "uploads", "" };
    EXPECT(call(B, "POST", "meta-mp", "uploads", &u, 1, at, 2, NULL), 400, "MetadataTooLarge");
    /* a copy with REPLACED metadata; with Copy the source's (small) metadata is kept */
    put_body(B, "meta-src", "src");
    cos_kv ch[] = { { "x-cos-copy-source", HOST(B) "/meta-src" }, { "x-cos-metadata-directive", "Replaced" }, at[0], at[1] };
    EXPECT(call(B, "PUT", "meta-copy", NULL, NULL, 0, ch, 4, NULL), 400, "MetadataTooLarge");
    EXPECT(call(B, "GET", "meta-copy", NULL, NULL, 0, NULL, 0, NULL), 404, "NoSuchKey");
    /* a form */
    char big[2100];
    memset(big, 'z', 2060);
    big[2060] = '\0';
    char *body = NULL;
    CHECK_INT(post_form("meta-form", "x-cos-meta-big", big, "form", &body), 400);
    CHECK(body && strstr(body, "<Code>MetadataTooLarge</Code>"));
    free(body);
    EXPECT(call(BF, "GET", "meta-form", NULL, NULL, 0, NULL, 0, NULL), 404, "NoSuchKey");
    /* the S3 dialect: x-amz-meta-*, S3's MetadataTooLarge */
    cos_client *s3 = test_s3_client(g_s.endpoint, "ap-guangzhou", -1);
    if (!s3) return;
    cos_kv amz[] = { { "x-amz-meta-m1", v1 }, { "x-amz-meta-m2", v2 } };
    answer a = call_on(s3, B, "PUT", "meta-s3", NULL, NULL, 0, amz, 2, "no", 2);
    if (a.status != 400 || strcmp(a.code, "MetadataTooLarge") != 0)
        test_fail(__FILE__, __LINE__, "S3 PUT with 2049 bytes of metadata answered %d %s", a.status, a.code);
    free(a.body);
    v2[fill] = '\0';
    a = call_on(s3, B, "PUT", "meta-s3", NULL, NULL, 0, amz, 2, "ok", 2);
    CHECK_INT(a.status, 200);
    free(a.body);
    cos_client_free(s3);
}

/* x-cos-forbid-overwrite where it is easy to miss: a copy of an object onto
 * itself (the way to change its metadata) is an overwrite, refused; a
 * form's field after its file is still honored. */
static void test_forbid_overwrite_attacked(void)
{
    cos_kv m1[] = { { "x-cos-meta-gen", "1" } };
    EXPECT(call(B, "PUT", "self", NULL, NULL, 0, m1, 1, "self bytes"), 200, NULL);
    cos_kv h[] = { { "x-cos-copy-source", HOST(B) "/self" }, { "x-cos-metadata-directive", "Replaced" },
                   { "x-cos-meta-gen", "2" }, FORBID };
    EXPECT(call(B, "PUT", "self", NULL, NULL, 0, h, 4, NULL), 409, "FileAlreadyExists");
    answer a = call(B, "HEAD", "self", NULL, NULL, 0, NULL, 0, NULL);
    CHECK_INT(a.status, 200);
    free(a.body);
    cos_request r = COS_REQUEST_INIT;
    r.method = "HEAD";
    r.bucket = B;
    r.key = "self";
    cos_result *res = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_send_request(g_c, &r, &res, &err), err);
    CHECK_STR(res ? cos_result_header(res, "x-cos-meta-gen") : NULL, "1");
    cos_result_free(res);
    CHECK_BODY(B, "self", "self bytes");

    /* a form whose forbid field comes after the file: still a refusal */
    char *body = NULL;
    CHECK_INT(post_form("form-late", NULL, NULL, "first", &body), 200);
    free(body);
    cos_buf f = COS_BUF_INIT;
    cos_buf_printf(&f, "--BB\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nform-late\r\n"
                       "--BB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.txt\"\r\n\r\nsecond\r\n"
                       "--BB\r\nContent-Disposition: form-data; name=\"x-cos-forbid-overwrite\"\r\n\r\ntrue\r\n--BB--\r\n");
    char *req = cos_sprintf("POST / HTTP/1.1\r\nHost: " HOST(BF) "\r\nContent-Type: multipart/form-data; boundary=BB\r\n"
                            "Content-Length: %zu\r\nConnection: close\r\n\r\n%s", f.len, f.data);
    int status = 0;
    CHECK(test_http_raw(&g_s, req, strlen(req), &status, &body) == 0);
    CHECK_INT(status, 409);
    free(body);
    free(req);
    cos_buf_free(&f);
    CHECK_BODY(BF, "form-late", "first");
}

int main(void)
{
    const char *args[] = { "--restore-seconds", "0", NULL };
    if (test_server_start(&g_s, args) != 0) {
        fprintf(stderr, "cannot start cos-server\n");
        return 1;
    }
    cos_config cfg;
    test_config(&cfg, &g_s);
    cfg.max_retries = -1; /* each answer seen as it is, not retried away */
    cos_error *err = NULL;
    if (cos_client_new(&g_c, &cfg, &err) != 0) {
        fprintf(stderr, "%s\n", cos_error_message(err));
        return 1;
    }
    test_put_bucket(g_c, B);
    test_put_bucket(g_c, BV);
    set_versioning(BV, "Enabled");
    test_put_bucket(g_c, BS);
    set_versioning(BS, "Enabled");
    set_versioning(BS, "Suspended");
    cos_kv prw = { "x-cos-acl", "public-read-write" };
    EXPECT(call(BF, "PUT", NULL, NULL, NULL, 0, &prw, 1, NULL), 200, NULL);
    RUN(test_lost_data_is_an_error);
    RUN(test_forbid_overwrite_put);
    RUN(test_forbid_overwrite_copy);
    RUN(test_forbid_overwrite_multipart);
    RUN(test_forbid_overwrite_post);
    RUN(test_forbid_overwrite_race);
    RUN(test_forbid_overwrite_versioned);
    RUN(test_forbid_overwrite_attacked);
    RUN(test_append_on_versioned_buckets);
    RUN(test_restore_names_a_version);
    RUN(test_copy_while_source_replaced);
    RUN(test_appends_racing);
    RUN(test_metadata_limit);
    cos_client_free(g_c);
    test_server_stop(&g_s, false);
    return test_report();
}

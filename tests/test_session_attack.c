/* test_session_attack.c — the server code of the eighth session attacked by
 * someone other than its authors: the start after a crash that removes data
 * no row names, bucket reads shared between requests until a write changes
 * them, group commit, symlinks and object lock. Each attack stays as a
 * regression check, whether it held or was fixed (the fixed ones say what
 * they did before). */
#define _GNU_SOURCE
#include "testlib.h"
#include "util.h"
#include "url.h"
#include "cos/sign.h"
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <strings.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#define APPID TEST_APPID
typedef struct creds { const char *id, *key; } creds;
static const creds OWNER = { TEST_SECRET_ID, TEST_SECRET_KEY };

typedef test_reply reply;
#define EXPECT(r, status, code) test_expect_reply((r), (status), (code), __FILE__, __LINE__)

/* method on bucket (virtual-hosted) at path with the query pairs q, signed
 * by who (NULL: anonymous) with the headers h (also sent), to port. */
static reply call(int port, const creds *who, const char *method, const char *bucket, const char *path,
                  const cos_kv *q, size_t nq, const cos_kv *h, size_t nh, const void *body, size_t blen)
{
    char *host = cos_sprintf("%s.cos.ap-guangzhou.myqcloud.com", bucket);
    cos_buf t = COS_BUF_INIT;
    cos_uri_encode(&t, path, strlen(path), true);
    for (size_t i = 0; i < nq; i++) {
        cos_buf_putc(&t, i ? '&' : '?');
        cos_uri_encode(&t, q[i].name, strlen(q[i].name), false);
        if (*q[i].value || !strcmp(q[i].name, "versionId")) cos_buf_putc(&t, '=');
        cos_uri_encode(&t, q[i].value, strlen(q[i].value), false);
    }
    test_cos_call c = { method, host, t.data, path, who ? who->id : NULL, who ? who->key : NULL, NULL, q, nq, h, nh,
                        NULL, NULL, body, blen };
    reply r = test_cos_exchange(port, &c);
    cos_buf_free(&t);
    free(host);
    return r;
}

static reply simple(int port, const creds *who, const char *method, const char *bucket, const char *path,
                    const char *body)
{
    return call(port, who, method, bucket, path, NULL, 0, NULL, 0, body, body ? strlen(body) : 0);
}

/* A body of len bytes, a pattern of seed. */
static char *pattern(size_t len, unsigned seed)
{
    char *b = malloc(len + 1);
    for (size_t i = 0; i < len; i++) b[i] = (char)('a' + (i * 7 + seed * 13 + i / 251) % 26);
    b[len] = '\0';
    return b;
}

/* GET bucket/path from port: the body is exactly want (len). */
static void expect_body(int port, const char *bucket, const char *path, const cos_kv *q, size_t nq, const char *want,
                        size_t len, int line)
{
    reply r = call(port, &OWNER, "GET", bucket, path, q, nq, NULL, 0, NULL, 0);
    bool same = r.status == 200 && r.body && strlen(r.body) == len && memcmp(r.body, want, len) == 0;
    if (!same)
        test_fail(__FILE__, line, "GET %s%s%s: status %d, %zu bytes, not the %zu written", path, nq ? "?" : "",
                  nq ? q[0].name : "", r.status, r.body ? strlen(r.body) : (size_t)0, len);
    test_reply_free(&r);
}

/* Start a second cos-server on s's root (its own port file and log): 0 if it started. */
static int start_on_same_root(const test_server *s, test_server *b)
{
    memset(b, 0, sizeof *b);
    snprintf(b->root, sizeof b->root, "%s", s->root);
    snprintf(b->log_path, sizeof b->log_path, "%s.second.log", s->root);
    char port_file[300];
    snprintf(port_file, sizeof port_file, "%s.second.port", s->root);
    unlink(port_file);
    const char *argv[] = { getenv("COS_SERVER_BIN"), "--root", s->root, "--listen", "127.0.0.1:0", "--port-file",
                           port_file, "--secret-id", TEST_SECRET_ID, "--secret-key", TEST_SECRET_KEY, "--appid",
                           TEST_APPID, NULL };
    int rc = test_spawn_listener(b, argv, port_file);
    unlink(port_file);
    return rc;
}

static bool log_has(const char *path, const char *what)
{
    size_t n = 0;
    char *text = NULL;
    FILE *f = fopen(path, "r");
    if (f) {
        text = malloc(1 << 16);
        n = text ? fread(text, 1, (1 << 16) - 1, f) : 0;
        if (text) text[n] = '\0';
        fclose(f);
    }
    bool has = text && strstr(text, what);
    free(text);
    return has;
}

/* Two servers on one root. Nothing stopped a second start: it removed the
 * first's bodies in flight as unnamed (a body is renamed into data/ before
 * its row commits: the first then acknowledged objects whose data was gone),
 * and what it wrote the first never saw, because the first shares its bucket
 * reads until ITS OWN writer changes them: a bucket made private through the
 * second stayed public-read through the first, for good. Now a second start
 * on a root in use is refused, with a message, and the first serves on. */
static void test_second_server_on_root(void)
{
    const char *bucket = "sa-two-" APPID;
    test_server a = { 0 };
    CHECK(test_server_start(&a, NULL) == 0);
    if (!a.pid) return;
    EXPECT(call(a.port, &OWNER, "PUT", bucket, "/", NULL, 0, (cos_kv[]){ { "x-cos-acl", "public-read" } }, 1, NULL, 0),
           200, NULL);
    EXPECT(simple(a.port, &OWNER, "PUT", bucket, "/k", "hello"), 200, NULL);
    EXPECT(simple(a.port, NULL, "GET", bucket, "/k", NULL), 200, NULL); /* the bucket's read is now shared */
    test_server b;
    if (start_on_same_root(&a, &b) == 0) {
        test_fail(__FILE__, __LINE__, "a second cos-server started on a root in use");
        /* what that let happen: the first keeps serving the bucket as it was before the second changed it */
        EXPECT(call(b.port, &OWNER, "PUT", bucket, "/", (cos_kv[]){ { "acl", "" } }, 1,
                    (cos_kv[]){ { "x-cos-acl", "private" } }, 1, NULL, 0),
               200, NULL);
        EXPECT(simple(a.port, NULL, "GET", bucket, "/k", NULL), 403, "AccessDenied");
        test_server_stop(&b, true);
    } else {
        CHECK(log_has(b.log_path, "in use"));
    }
    reply r = simple(a.port, NULL, "GET", bucket, "/k", NULL);
    CHECK_INT(r.status, 200);
    CHECK(r.body && !strcmp(r.body, "hello"));
    test_reply_free(&r);
    unlink(b.log_path);
    test_server_stop(&a, false);
}

/* A start after kill -9 removes data files and blobs no row names. Every
 * kind of object that names its data some other way than the one the pass
 * was written for must survive it whole: older versions and delete markers,
 * uploads in progress (parts small and large), completed multipart objects
 * (a manifest naming parts), appended objects, symlinks, SSE objects,
 * copies, archived objects, small bodies (blobs) and large (files). */
static void test_crash_keeps_every_kind(void)
{
    const char *vb = "sa-crashv-" APPID, *pb = "sa-crashp-" APPID;
    test_server a = { 0 };
    CHECK(test_server_start(&a, NULL) == 0);
    if (!a.pid) return;
    int port = a.port;
    char *big = pattern(200 << 10, 1), *big2 = pattern(300 << 10, 2), *part1 = pattern((1 << 20) + 17, 3);
    const size_t BIG = 200 << 10, BIG2 = 300 << 10, P1 = (1 << 20) + 17;
    EXPECT(simple(port, &OWNER, "PUT", vb, "/", NULL), 200, NULL);
    EXPECT(simple(port, &OWNER, "PUT", pb, "/", NULL), 200, NULL);
    const char *vers = "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>";
    EXPECT(call(port, &OWNER, "PUT", vb, "/", (cos_kv[]){ { "versioning", "" } }, 1, NULL, 0, vers, strlen(vers)), 200,
           NULL);
    /* versions: small and large older versions, a delete marker over one */
    reply r = simple(port, &OWNER, "PUT", vb, "/k", "one");
    char *v_one = test_reply_header(&r, "x-cos-version-id");
    test_reply_free(&r);
    r = call(port, &OWNER, "PUT", vb, "/k", NULL, 0, NULL, 0, big, BIG);
    char *v_big = test_reply_header(&r, "x-cos-version-id");
    test_reply_free(&r);
    EXPECT(simple(port, &OWNER, "PUT", vb, "/k", "three"), 200, NULL);
    EXPECT(call(port, &OWNER, "PUT", vb, "/gone", NULL, 0, NULL, 0, big2, BIG2), 200, NULL);
    EXPECT(simple(port, &OWNER, "DELETE", vb, "/gone", NULL), 204, NULL);
    CHECK(v_one && v_big);
    /* plain bucket */
    EXPECT(simple(port, &OWNER, "PUT", pb, "/small", "small body"), 200, NULL);
    EXPECT(call(port, &OWNER, "PUT", pb, "/large", NULL, 0, NULL, 0, big, BIG), 200, NULL);
    char *src = cos_sprintf("%s.cos.ap-guangzhou.myqcloud.com/large", pb);
    EXPECT(call(port, &OWNER, "PUT", pb, "/copy", NULL, 0, (cos_kv[]){ { "x-cos-copy-source", src } }, 1, NULL, 0), 200,
           NULL);
    free(src);
    EXPECT(call(port, &OWNER, "PUT", pb, "/enc", NULL, 0, (cos_kv[]){ { "x-cos-server-side-encryption", "AES256" } }, 1,
                big2, BIG2),
           200, NULL);
    EXPECT(call(port, &OWNER, "PUT", pb, "/ln", (cos_kv[]){ { "symlink", "" } }, 1,
                (cos_kv[]){ { "x-cos-symlink-target", "large" } }, 1, NULL, 0),
           200, NULL);
    EXPECT(call(port, &OWNER, "POST", pb, "/app", (cos_kv[]){ { "append", "" }, { "position", "0" } }, 2, NULL, 0, "abc", 3),
           200, NULL);
    char pos[32];
    snprintf(pos, sizeof pos, "%d", 3);
    EXPECT(call(port, &OWNER, "POST", pb, "/app", (cos_kv[]){ { "append", "" }, { "position", pos } }, 2, NULL, 0, big, BIG),
           200, NULL);
    EXPECT(call(port, &OWNER, "PUT", pb, "/arc", NULL, 0, (cos_kv[]){ { "x-cos-storage-class", "ARCHIVE" } }, 1, big, BIG),
           200, NULL);
    /* multipart: one completed (a manifest of a large and a small part), one in progress */
    char *ids[2] = { NULL, NULL }, *etags[2][2] = { { NULL, NULL }, { NULL, NULL } };
    const char *mkeys[2] = { "/mp-done", "/mp-open" };
    for (int u = 0; u < 2; u++) {
        r = call(port, &OWNER, "POST", pb, mkeys[u], (cos_kv[]){ { "uploads", "" } }, 1, NULL, 0, NULL, 0);
        ids[u] = test_xml_value(r.body, "UploadId");
        test_reply_free(&r);
        CHECK(ids[u] != NULL);
        if (!ids[u]) return;
        r = call(port, &OWNER, "PUT", pb, mkeys[u], (cos_kv[]){ { "partNumber", "1" }, { "uploadId", ids[u] } }, 2, NULL,
                 0, part1, P1);
        etags[u][0] = test_reply_header(&r, "ETag");
        test_reply_free(&r);
        r = call(port, &OWNER, "PUT", pb, mkeys[u], (cos_kv[]){ { "partNumber", "2" }, { "uploadId", ids[u] } }, 2, NULL,
                 0, "tail", 4);
        etags[u][1] = test_reply_header(&r, "ETag");
        test_reply_free(&r);
        CHECK(etags[u][0] && etags[u][1]);
    }
    char complete[2][512];
    for (int u = 0; u < 2; u++)
        snprintf(complete[u], sizeof complete[u],
                 "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part>"
                 "<Part><PartNumber>2</PartNumber><ETag>%s</ETag></Part></CompleteMultipartUpload>",
                 etags[u][0] ? etags[u][0] : "", etags[u][1] ? etags[u][1] : "");
    EXPECT(call(port, &OWNER, "POST", pb, mkeys[0], (cos_kv[]){ { "uploadId", ids[0] } }, 1, NULL, 0, complete[0],
                strlen(complete[0])),
           200, NULL);

    /* a body no row names, as a crash between a rename and its commit leaves: the pass must take it */
    char orphan[400];
    snprintf(orphan, sizeof orphan, "%s/data/ab", a.root);
    mkdir(orphan, 0755);
    snprintf(orphan, sizeof orphan, "%s/data/ab/ab0123456789abcdef0123456789abcd", a.root);
    FILE *of = fopen(orphan, "w");
    if (of) fclose(of);
    CHECK(test_exists(orphan));
    test_server_kill(&a); /* no clean close: the next start runs its pass */
    CHECK(test_server_start(&a, NULL) == 0);
    CHECK(!test_exists(orphan)); /* the pass ran */
    port = a.port;
    expect_body(port, vb, "/k", NULL, 0, "three", 5, __LINE__);
    expect_body(port, vb, "/k", (cos_kv[]){ { "versionId", v_one ? v_one : "" } }, 1, "one", 3, __LINE__);
    expect_body(port, vb, "/k", (cos_kv[]){ { "versionId", v_big ? v_big : "" } }, 1, big, BIG, __LINE__);
    EXPECT(simple(port, &OWNER, "DELETE", vb, "/gone", NULL), 204, NULL); /* a second marker: the versions stay */
    r = call(port, &OWNER, "GET", vb, "/", (cos_kv[]){ { "versions", "" }, { "prefix", "gone" } }, 2, NULL, 0, NULL, 0);
    char *gone_vid = NULL;
    if (r.body) { /* the one <Version> of gone (the markers are <DeleteMarker>) */
        const char *v = strstr(r.body, "<Version>");
        gone_vid = v ? test_xml_value(v, "VersionId") : NULL;
    }
    test_reply_free(&r);
    CHECK(gone_vid != NULL);
    if (gone_vid) expect_body(port, vb, "/gone", (cos_kv[]){ { "versionId", gone_vid } }, 1, big2, BIG2, __LINE__);
    free(gone_vid);
    expect_body(port, pb, "/small", NULL, 0, "small body", 10, __LINE__);
    expect_body(port, pb, "/large", NULL, 0, big, BIG, __LINE__);
    expect_body(port, pb, "/copy", NULL, 0, big, BIG, __LINE__);
    expect_body(port, pb, "/enc", NULL, 0, big2, BIG2, __LINE__);
    expect_body(port, pb, "/ln", NULL, 0, big, BIG, __LINE__);
    char *app = malloc(BIG + 4);
    memcpy(app, "abc", 3);
    memcpy(app + 3, big, BIG);
    app[BIG + 3] = '\0';
    expect_body(port, pb, "/app", NULL, 0, app, BIG + 3, __LINE__);
    r = call(port, &OWNER, "HEAD", pb, "/arc", NULL, 0, NULL, 0, NULL, 0);
    char *len = test_reply_header(&r, "Content-Length");
    CHECK_INT(r.status, 200);
    CHECK(len && atoll(len) == (long long)BIG);
    free(len);
    test_reply_free(&r);
    char *whole = malloc(P1 + 5);
    memcpy(whole, part1, P1);
    memcpy(whole + P1, "tail", 5);
    expect_body(port, pb, mkeys[0], NULL, 0, whole, P1 + 4, __LINE__);
    /* the upload in progress: its parts are there and complete it */
    EXPECT(call(port, &OWNER, "POST", pb, mkeys[1], (cos_kv[]){ { "uploadId", ids[1] } }, 1, NULL, 0, complete[1],
                strlen(complete[1])),
           200, NULL);
    expect_body(port, pb, mkeys[1], NULL, 0, whole, P1 + 4, __LINE__);
    /* and once more after another crash, with nothing written in between but those reads */
    test_server_kill(&a);
    CHECK(test_server_start(&a, NULL) == 0);
    expect_body(a.port, pb, mkeys[1], NULL, 0, whole, P1 + 4, __LINE__);
    expect_body(a.port, pb, "/app", NULL, 0, app, BIG + 3, __LINE__);
    expect_body(a.port, vb, "/k", (cos_kv[]){ { "versionId", v_big ? v_big : "" } }, 1, big, BIG, __LINE__);
    free(whole);
    free(app);
    for (int u = 0; u < 2; u++) {
        free(ids[u]);
        free(etags[u][0]);
        free(etags[u][1]);
    }
    free(v_one);
    free(v_big);
    free(big);
    free(big2);
    free(part1);
    test_server_stop(&a, false);
}

static const char LOCK_1DAY[] = "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule>"
                                "<DefaultRetention><Mode>COMPLIANCE</Mode><Days>1</Days></DefaultRetention></Rule>"
                                "</ObjectLockConfiguration>";

static reply sub_call(int port, const char *method, const char *bucket, const char *path, const char *sub,
                      const char *body)
{
    return call(port, &OWNER, method, bucket, path, (cos_kv[]){ { sub, "" } }, 1, NULL, 0, body, body ? strlen(body) : 0);
}

/* Routes to destroy a retained object that test_symlink_lock does not try:
 * its "null" version named outright (before and after versioning is
 * enabled over it), in a single DELETE and in a multi-delete, and the
 * object lock configuration deleted or disabled. */
static void test_retained_null_version(void)
{
    const char *bk = "sa-lock-" APPID;
    test_server a = { 0 };
    CHECK(test_server_start(&a, NULL) == 0);
    if (!a.pid) return;
    int port = a.port;
    EXPECT(simple(port, &OWNER, "PUT", bk, "/", NULL), 200, NULL);
    EXPECT(sub_call(port, "PUT", bk, "/", "object-lock", LOCK_1DAY), 200, NULL);
    EXPECT(simple(port, &OWNER, "PUT", bk, "/x", "kept"), 200, NULL);
    const cos_kv null_v[] = { { "versionId", "null" } };
    const char *multi = "<Delete><Object><Key>x</Key><VersionId>null</VersionId></Object></Delete>";
    for (int round = 0; round < 2; round++) { /* without versioning, then with it enabled over the object */
        reply r = call(port, &OWNER, "DELETE", bk, "/x", null_v, 1, NULL, 0, NULL, 0);
        CHECK(r.status == 403 || r.status == 404);
        test_reply_free(&r);
        r = sub_call(port, "POST", bk, "/", "delete", multi);
        CHECK(r.status == 403 || (r.status == 200 && r.body && !strstr(r.body, "<Deleted>")));
        test_reply_free(&r);
        expect_body(port, bk, "/x", NULL, 0, "kept", 4, __LINE__);
        if (round == 0) {
            const char *vers = "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>";
            EXPECT(sub_call(port, "PUT", bk, "/", "versioning", vers), 200, NULL);
        }
    }
    /* overwritten with versioning on: the retained null version stays, and still cannot be deleted */
    EXPECT(simple(port, &OWNER, "PUT", bk, "/x", "newer"), 200, NULL);
    reply r = call(port, &OWNER, "DELETE", bk, "/x", null_v, 1, NULL, 0, NULL, 0);
    CHECK(r.status == 403 || r.status == 404);
    test_reply_free(&r);
    r = sub_call(port, "POST", bk, "/", "delete", multi);
    CHECK(r.status == 403 || (r.status == 200 && r.body && !strstr(r.body, "<Deleted>")));
    test_reply_free(&r);
    expect_body(port, bk, "/x", null_v, 1, "kept", 4, __LINE__);
    /* the lock itself is never removed */
    r = sub_call(port, "DELETE", bk, "/", "object-lock", NULL);
    CHECK(r.status >= 400);
    test_reply_free(&r);
    r = sub_call(port, "GET", bk, "/", "object-lock", NULL);
    CHECK(r.status == 200 && r.body && strstr(r.body, "<Days>1</Days>"));
    test_reply_free(&r);
    /* nor versioning suspended under it */
    const char *susp = "<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>";
    r = sub_call(port, "PUT", bk, "/", "versioning", susp);
    CHECK(r.status >= 400);
    test_reply_free(&r);
    test_server_stop(&a, false);
}

/* A retention set on one object (PUT ?retention) is that object's: kept
 * by its data id. Empty objects: does one's retention hold the others? */
static void test_retention_of_empty_objects(void)
{
    const char *bk = "sa-empty-" APPID;
    test_server a = { 0 };
    CHECK(test_server_start(&a, NULL) == 0);
    if (!a.pid) return;
    int port = a.port;
    EXPECT(simple(port, &OWNER, "PUT", bk, "/", NULL), 200, NULL);
    EXPECT(sub_call(port, "PUT", bk, "/", "object-lock",
                    "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>"),
           200, NULL);
    EXPECT(simple(port, &OWNER, "PUT", bk, "/e1", ""), 200, NULL);
    EXPECT(simple(port, &OWNER, "PUT", bk, "/e2", ""), 200, NULL);
    EXPECT(simple(port, &OWNER, "PUT", bk, "/s1", "x"), 200, NULL);
    const char *ret = "<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>2099-01-01T00:00:00.000Z</RetainUntilDate>"
                      "</Retention>";
    EXPECT(sub_call(port, "PUT", bk, "/e1", "retention", ret), 200, NULL);
    EXPECT(simple(port, &OWNER, "DELETE", bk, "/e1", NULL), 403, "AccessDenied");
    EXPECT(simple(port, &OWNER, "GET", bk, "/e2?retention", NULL), 404, NULL);
    EXPECT(simple(port, &OWNER, "DELETE", bk, "/e2", NULL), 204, NULL);
    EXPECT(simple(port, &OWNER, "DELETE", bk, "/s1", NULL), 204, NULL);
    /* a new empty object at a free key is not retained either */
    EXPECT(simple(port, &OWNER, "PUT", bk, "/e3", ""), 200, NULL);
    EXPECT(simple(port, &OWNER, "DELETE", bk, "/e3", NULL), 204, NULL);
    test_server_stop(&a, false);
}

/* Files under root/data (the bodies), counted. */
static int count_data_files(const char *root)
{
    char *cmd = cos_sprintf("find '%s/data' -type f | wc -l", root);
    FILE *f = popen(cmd, "r");
    int n = -1;
    if (f && fscanf(f, "%d", &n) != 1) n = -1;
    if (f) pclose(f);
    free(cmd);
    return n;
}

static void move_db(const char *from_root, const char *to_dir, bool back)
{
    static const char *const NAMES[] = { "meta.db", "meta.db-wal", "meta.db-shm" };
    for (size_t i = 0; i < 3; i++) {
        char a[400], b[400];
        snprintf(a, sizeof a, "%s/%s", from_root, NAMES[i]);
        snprintf(b, sizeof b, "%s/%s", to_dir, NAMES[i]);
        if (back) {
            unlink(a);
            rename(b, a);
        } else {
            rename(a, b);
        }
    }
}

/* meta.db moved away (to look at it, or while a backup of it is restored)
 * after a crash: the start made a new, empty one and, the close not being
 * clean, removed every body as unnamed; meta.db put back then named data
 * that was gone. Now a start without meta.db beside data refuses, with a
 * message, and the data waits for its database. */
static void test_missing_meta_db_keeps_data(void)
{
    const char *bk = "sa-nodb-" APPID;
    test_server a = { 0 };
    CHECK(test_server_start(&a, NULL) == 0);
    if (!a.pid) return;
    char *big = pattern(200 << 10, 5);
    EXPECT(simple(a.port, &OWNER, "PUT", bk, "/", NULL), 200, NULL);
    EXPECT(call(a.port, &OWNER, "PUT", bk, "/big", NULL, 0, NULL, 0, big, 200 << 10), 200, NULL);
    EXPECT(simple(a.port, &OWNER, "PUT", bk, "/small", "small"), 200, NULL);
    test_server_kill(&a);
    int files = count_data_files(a.root);
    CHECK(files >= 1);
    char *aside = test_tmpdir("nodb-aside");
    move_db(a.root, aside, false);
    if (test_server_start(&a, NULL) == 0) {
        test_fail(__FILE__, __LINE__, "a start without meta.db beside data did not refuse");
        test_server_stop(&a, true);
    } else {
        CHECK(log_has(a.log_path, "holds object data"));
    }
    CHECK_INT(count_data_files(a.root), files);
    move_db(a.root, aside, true);
    CHECK(test_server_start(&a, NULL) == 0);
    expect_body(a.port, bk, "/big", NULL, 0, big, 200 << 10, __LINE__);
    expect_body(a.port, bk, "/small", NULL, 0, "small", 5, __LINE__);
    test_server_stop(&a, false);
    test_rmtree(aside);
    free(aside);
    free(big);
}

/* Object lock's guard serializes what destroys objects in a locked bucket
 * and what sets retention, but a request decided on the bucket's
 * configurations as it read them when it arrived: one that waited for the
 * guard (behind a long multi-delete) deleted an object whose retention was
 * set, and acknowledged, while it waited. Both answered success: a
 * retention acknowledged for an object then destroyed. Now what is read
 * under the guard is read anew. The race is tried a few times (it needs
 * the retention to take the guard first); no outcome here is timed. */
enum { HOLD_KEYS = 150, GUARD_TRIALS = 4 };
typedef struct held_call { int port; const char *bucket, *method, *path, *sub, *body; int status; } held_call;

static void *held_call_run(void *arg)
{
    held_call *h = arg;
    reply r = h->sub ? sub_call(h->port, h->method, h->bucket, h->path, h->sub, h->body)
                     : simple(h->port, &OWNER, h->method, h->bucket, h->path, h->body);
    h->status = r.status;
    test_reply_free(&r);
    return NULL;
}

static void test_retention_set_while_a_delete_waits(void)
{
    const char *bk = "sa-guard-" APPID;
    test_server a = { 0 };
    CHECK(test_server_start(&a, NULL) == 0);
    if (!a.pid) return;
    int port = a.port;
    EXPECT(simple(port, &OWNER, "PUT", bk, "/", NULL), 200, NULL);
    EXPECT(sub_call(port, "PUT", bk, "/", "object-lock",
                    "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>"),
           200, NULL);
    const char *ret = "<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>2099-01-01T00:00:00.000Z</RetainUntilDate>"
                      "</Retention>";
    int both = 0;
    for (int trial = 0; trial < GUARD_TRIALS; trial++) {
        cos_buf doc = COS_BUF_INIT;
        cos_buf_puts(&doc, "<Delete><Quiet>true</Quiet>");
        for (int i = 0; i < HOLD_KEYS; i++) {
            char key[32];
            snprintf(key, sizeof key, "/hold/%d", i);
            EXPECT(simple(port, &OWNER, "PUT", bk, key, "x"), 200, NULL);
            cos_buf_printf(&doc, "<Object><Key>%s</Key></Object>", key + 1);
        }
        cos_buf_puts(&doc, "</Delete>");
        EXPECT(simple(port, &OWNER, "PUT", bk, "/x", "keep me"), 200, NULL);
        /* the multi-delete holds the guard; the DELETE of x waits for it, with its reads made; the retention too */
        held_call hold = { port, bk, "POST", "/", "delete", doc.data, 0 };
        held_call del = { port, bk, "DELETE", "/x", NULL, NULL, 0 };
        held_call rput = { port, bk, "PUT", "/x", "retention", ret, 0 };
        pthread_t th, td, tr;
        pthread_create(&th, NULL, held_call_run, &hold);
        cos_sleep_ms_for_tests(30);
        pthread_create(&td, NULL, held_call_run, &del);
        cos_sleep_ms_for_tests(30);
        pthread_create(&tr, NULL, held_call_run, &rput);
        pthread_join(th, NULL);
        pthread_join(td, NULL);
        pthread_join(tr, NULL);
        cos_buf_free(&doc);
        CHECK_INT(hold.status, 200);
        reply r = simple(port, &OWNER, "HEAD", bk, "/x", NULL);
        bool there = r.status == 200;
        test_reply_free(&r);
        if (rput.status == 200) { /* retention acknowledged: x must be there, and the DELETE refused */
            if (del.status == 204 || !there) both++;
            CHECK(del.status == 403);
            CHECK(there);
            break; /* x is kept till 2099 */
        }
        CHECK_INT(rput.status, 404); /* x deleted first: no retention to set */
        CHECK_INT(del.status, 204);
        CHECK(!there);
    }
    CHECK_INT(both, 0);
    test_server_stop(&a, false);
}

/* The object lock enabled while a multi-delete that found it off is still
 * deleting (a bucket without versioning, which COS lets enable it), and
 * a key of that multi-delete written meanwhile, under the new default
 * retention: before, the multi-delete (never guarded: the lock was off
 * when it began) went on and deleted the retained object after its write
 * was acknowledged, a retention promised and broken. Now enabling the
 * lock waits for such requests to end. The multi-delete is seen under way
 * (its first key gone) before the lock is enabled; x is its last key. A
 * trial counts when the multi-delete was still deleting after x's write
 * was answered; the old code lost x in each. Nothing here is timed. */
enum { RUN_KEYS = 1000, RUN_TRIALS = 2 };
typedef struct multi_run { held_call call; _Atomic int done; } multi_run;

static void *multi_run_go(void *arg)
{
    multi_run *m = arg;
    held_call_run(&m->call);
    atomic_store(&m->done, 1);
    return NULL;
}

static void test_lock_enabled_while_a_delete_runs(void)
{
    test_server a = { 0 };
    CHECK(test_server_start(&a, NULL) == 0);
    if (!a.pid) return;
    int port = a.port;
    int exercised = 0;
    for (int trial = 0; trial < RUN_TRIALS; trial++) {
        char bk[64];
        snprintf(bk, sizeof bk, "sa-run%d-%s", trial, APPID);
        EXPECT(simple(port, &OWNER, "PUT", bk, "/", NULL), 200, NULL);
        cos_buf doc = COS_BUF_INIT;
        cos_buf_puts(&doc, "<Delete><Quiet>true</Quiet>");
        for (int i = 0; i < RUN_KEYS - 1; i++) {
            char key[32];
            snprintf(key, sizeof key, "/run/%d", i);
            EXPECT(simple(port, &OWNER, "PUT", bk, key, "x"), 200, NULL);
            cos_buf_printf(&doc, "<Object><Key>%s</Key></Object>", key + 1);
        }
        cos_buf_puts(&doc, "<Object><Key>x</Key></Object></Delete>");
        multi_run m = { { port, bk, "POST", "/", "delete", doc.data, 0 }, 0 };
        pthread_t t;
        pthread_create(&t, NULL, multi_run_go, &m);
        for (;;) { /* under way: its first key is gone (or it is over) */
            reply r = simple(port, &OWNER, "HEAD", bk, "/run/0", NULL);
            int st = r.status;
            test_reply_free(&r);
            if (st == 404 || atomic_load(&m.done)) break;
        }
        EXPECT(sub_call(port, "PUT", bk, "/", "object-lock", LOCK_1DAY), 200, NULL);
        EXPECT(simple(port, &OWNER, "PUT", bk, "/x", "retained"), 200, NULL);
        if (!atomic_load(&m.done)) exercised++;
        pthread_join(t, NULL);
        cos_buf_free(&doc);
        CHECK_INT(m.call.status, 200);
        expect_body(port, bk, "/x", NULL, 0, "retained", 8, __LINE__);
        reply r = sub_call(port, "GET", bk, "/x", "retention", NULL);
        CHECK(r.status == 200 && r.body && strstr(r.body, "<RetainUntilDate>"));
        test_reply_free(&r);
    }
    fprintf(stderr, "lock enabled during a multi-delete: %d of %d trials with it still deleting after x's write\n",
            exercised, RUN_TRIALS);
    test_server_stop(&a, false);
}

/* ------------------------------------------------ shared bucket reads (memo) */

/* Bucket reads are shared between requests until a write changes them
 * (store.c, memo_load). Hammered: one writer flips who may read (ACL
 * public-read / private, a Deny policy added / deleted), readers GET
 * anonymously all along, and no read may be decided by a configuration
 * older than one acknowledged before it was sent: its answer must be what
 * the last change acknowledged before it began allows, or what a change
 * sent before it ended allows. */
enum { FLIPS = 160, READERS = 4, MAX_READS = 20000 };
static struct {
    int port;
    const char *bucket;
    double sent[FLIPS + 1], acked[FLIPS + 1];
    _Atomic int done;
    pthread_mutex_t m;
    struct { double t0, t1; int status; } reads[MAX_READS];
    int nreads;
} g_flip;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool flip_allows(int k) { return k % 2 == 0; } /* after change k (0: the start, public-read) */

static void *flip_reader(void *arg)
{
    (void)arg;
    while (!atomic_load(&g_flip.done)) {
        double t0 = now_s();
        reply r = simple(g_flip.port, NULL, "GET", g_flip.bucket, "/obj", NULL);
        double t1 = now_s();
        pthread_mutex_lock(&g_flip.m);
        if (g_flip.nreads < MAX_READS) {
            g_flip.reads[g_flip.nreads].t0 = t0;
            g_flip.reads[g_flip.nreads].t1 = t1;
            g_flip.reads[g_flip.nreads].status = r.status;
            g_flip.nreads++;
        }
        pthread_mutex_unlock(&g_flip.m);
        test_reply_free(&r);
    }
    return NULL;
}

static void test_shared_reads_never_stale(void)
{
    const char *bk = "sa-flip-" APPID;
    test_server a = { 0 };
    CHECK(test_server_start(&a, NULL) == 0);
    if (!a.pid) return;
    g_flip.port = a.port;
    g_flip.bucket = bk;
    pthread_mutex_init(&g_flip.m, NULL);
    EXPECT(call(a.port, &OWNER, "PUT", bk, "/", NULL, 0, (cos_kv[]){ { "x-cos-acl", "public-read" } }, 1, NULL, 0), 200,
           NULL);
    EXPECT(simple(a.port, &OWNER, "PUT", bk, "/obj", "data"), 200, NULL);
    const char *deny = "{\"statement\":[{\"principal\":{\"qcs\":[\"qcs::cam::anyone:anyone\"]},\"effect\":\"deny\","
                       "\"action\":[\"name/cos:GetObject\"],\"resource\":[\"qcs::cos:ap-guangzhou:uid/" APPID ":"
                       "sa-flip-" APPID "/*\"]}]}";
    pthread_t th[READERS];
    for (int i = 0; i < READERS; i++) pthread_create(&th[i], NULL, flip_reader, NULL);
    for (int k = 1; k <= FLIPS; k++) {
        g_flip.sent[k] = now_s();
        reply r;
        switch (k % 4) {
        case 1: r = call(a.port, &OWNER, "PUT", bk, "/", (cos_kv[]){ { "acl", "" } }, 1,
                         (cos_kv[]){ { "x-cos-acl", "private" } }, 1, NULL, 0); break;
        case 2: r = call(a.port, &OWNER, "PUT", bk, "/", (cos_kv[]){ { "acl", "" } }, 1,
                         (cos_kv[]){ { "x-cos-acl", "public-read" } }, 1, NULL, 0); break;
        case 3: r = sub_call(a.port, "PUT", bk, "/", "policy", deny); break;
        default: r = sub_call(a.port, "DELETE", bk, "/", "policy", NULL); break;
        }
        g_flip.acked[k] = now_s();
        if (r.status < 200 || r.status > 299) test_fail(__FILE__, __LINE__, "change %d answered %d", k, r.status);
        test_reply_free(&r);
        /* and the very next read, by the writer itself, sees exactly it (no change in flight now) */
        r = simple(a.port, NULL, "GET", bk, "/obj", NULL);
        if (r.status != (flip_allows(k) ? 200 : 403))
            test_fail(__FILE__, __LINE__, "the read after change %d answered %d", k, r.status);
        test_reply_free(&r);
    }
    atomic_store(&g_flip.done, 1);
    for (int i = 0; i < READERS; i++) pthread_join(th[i], NULL);
    int stale = 0, allowed = 0, denied = 0;
    for (int n = 0; n < g_flip.nreads; n++) {
        double t0 = g_flip.reads[n].t0, t1 = g_flip.reads[n].t1;
        int st = g_flip.reads[n].status;
        int last = 0;
        for (int k = 1; k <= FLIPS; k++)
            if (g_flip.acked[k] < t0) last = k;
        bool may_allow = flip_allows(last), may_deny = !flip_allows(last);
        for (int k = last + 1; k <= FLIPS && g_flip.sent[k] < t1; k++) {
            if (flip_allows(k)) may_allow = true;
            else may_deny = true;
        }
        if (st == 200) allowed++;
        if (st == 403) denied++;
        if ((st == 200 && !may_allow) || (st == 403 && !may_deny) || (st != 200 && st != 403)) {
            if (stale++ < 3)
                test_fail(__FILE__, __LINE__, "a read begun after change %d was acknowledged answered %d", last, st);
        }
    }
    printf("  %d reads: %d allowed, %d denied, %d decided by an older configuration\n", g_flip.nreads, allowed, denied,
           stale);
    CHECK_INT(stale, 0);
    CHECK(allowed > 0 && denied > 0);
    pthread_mutex_destroy(&g_flip.m);
    test_server_stop(&a, false);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    RUN(test_second_server_on_root);
    RUN(test_crash_keeps_every_kind);
    RUN(test_missing_meta_db_keeps_data);
    RUN(test_retained_null_version);
    RUN(test_shared_reads_never_stale);
    RUN(test_retention_of_empty_objects);
    RUN(test_retention_set_while_a_delete_waits);
    RUN(test_lock_enabled_while_a_delete_runs);
    return test_report();
}

/* test_store_faults.c — cos-server never acknowledges a change it did not
 * commit (issue #15). Every kind of write (object PUT and copy, ACLs,
 * policy and every other bucket configuration, tags, deletes, multi-delete,
 * each multipart step, bucket create and delete) is sent while:
 *
 *   - the metadata database is locked (real: SQLite's write lock on
 *     meta.db, held by a connection the "lock_db" fault opens in the server:
 *     another process can no longer take it, which is checked too): every
 *     write must answer 503;
 *   - the disk is full (real: the server's root is a small tmpfs, filled
 *     by this test): a write must fail, or, if it answered 2xx, be there;
 *   - the database is read-only (real: the server, killed, restarts on
 *     the tmpfs remounted read-only): every write must answer 500;
 *
 * and once the condition is gone (lock released, space freed, remounted
 * read-write) the state must match every answer, and the same writes work.
 * The tmpfs needs a private mount namespace: root (as in CI) or an
 * unprivileged user namespace. Where neither is allowed, the two disk cases
 * are skipped with a message; the lock case always runs. */
#define _GNU_SOURCE
#include "testlib.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define B "faults-" TEST_APPID
#define EMPTY "empty-" TEST_APPID
#define FRESH "fresh-" TEST_APPID

static cos_client *g_c;
static char g_part_upload[64], g_done_upload[64], g_abort_upload[64], g_done_etag[80];

/* One request; its HTTP status (0 if none came) and body. */
static int http(const char *method, const char *bucket, const char *key, const char *action, const cos_kv *query,
                size_t nq, const cos_kv *hdrs, size_t nh, const char *body, char **out)
{
    cos_request r = test_generic_request(method, bucket, key, action, query, nq, hdrs, nh, body);
    cos_result *res = NULL;
    cos_error *err = NULL;
    int rc = cos_send_request(g_c, &r, &res, &err);
    int status = rc ? (err ? err->http_status : 0) : res->http_status;
    if (out) *out = cos_strdup(rc ? (err && err->code ? err->code : "") : res->body ? (char *)res->body : "");
    cos_result_free(res);
    cos_error_free(err);
    return status;
}

static int simple(const char *method, const char *bucket, const char *key, const char *action, const char *body,
                  char **out)
{
    return http(method, bucket, key, action, NULL, 0, NULL, 0, body, out);
}

static char *g_big; /* 100 KiB: kept in a file, not in SQLite */

static const char *const CONFIGS[][2] = {
    { "tagging", "<Tagging><!--faultmark--><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>" },
    { "lifecycle", "<LifecycleConfiguration><!--faultmark--></LifecycleConfiguration>" },
    { "versioning", "<VersioningConfiguration><!--faultmark--><Status>Suspended</Status></VersioningConfiguration>" },
    { "replication", "<ReplicationConfiguration><!--faultmark--></ReplicationConfiguration>" },
    { "website", "<WebsiteConfiguration><!--faultmark--></WebsiteConfiguration>" },
    { "referer", "<RefererConfiguration><!--faultmark--><Status>Disabled</Status><RefererType>White-List</RefererType>"
                 "</RefererConfiguration>" },
    { "domain", "<DomainConfiguration><!--faultmark--></DomainConfiguration>" },
    { "origin", "<OriginConfiguration><!--faultmark--></OriginConfiguration>" },
    { "logging", "<BucketLoggingStatus><!--faultmark--></BucketLoggingStatus>" },
    { "inventory", "<InventoryConfiguration><!--faultmark--><Id>inv1</Id></InventoryConfiguration>" },
    { "accelerate", "<AccelerateConfiguration><!--faultmark--><Status>Suspended</Status></AccelerateConfiguration>" },
    { "encryption", "<ServerSideEncryptionConfiguration><!--faultmark--></ServerSideEncryptionConfiguration>" },
};
#define NCONFIGS (sizeof CONFIGS / sizeof *CONFIGS)
#define POLICY "{\"version\":\"2.0\",\"statement\":[{\"principal\":{\"qcs\":[\"*\"]},\"effect\":\"deny\"," \
               "\"action\":[\"name/cos:*\"],\"resource\":[\"qcs::cos:ap-guangzhou:uid/" TEST_APPID ":" B "/*\"]}]}"

/* The writes, numbered; do_write sends one, probe says whether it happened. */
enum { W_PUT_NEW, W_PUT_OVER, W_PUT_BIG, W_COPY, W_BUCKET_ACL, W_OBJECT_ACL, W_POLICY, W_DELETE_CORS, W_PUT_TAGS,
       W_DELETE_TAGS, W_DELETE, W_MULTI_DELETE, W_INIT_UPLOAD, W_UPLOAD_PART, W_COMPLETE, W_ABORT, W_CREATE_BUCKET,
       W_DELETE_BUCKET, W_CONFIG0 };
#define NWRITES (W_CONFIG0 + (int)NCONFIGS)

static const char *write_name(int w)
{
    static const char *const N[] = { "PUT new object", "PUT over an object", "PUT 100 KiB object", "copy object",
                                      "bucket ACL", "object ACL", "bucket policy", "DELETE bucket CORS",
                                      "object tagging", "DELETE object tagging", "DELETE object", "multi-delete",
                                      "initiate multipart", "upload part", "complete multipart", "abort multipart",
                                      "create bucket", "delete bucket" };
    return w < W_CONFIG0 ? N[w] : CONFIGS[w - W_CONFIG0][0];
}

/* Send write w; its status. A multi-delete answers 200 with an entry per
 * key: 200 when both keys are <Deleted>, else the status its <Error> code
 * stands for (-1 when the entries disagree). */
static int do_write(int w)
{
    char *body = NULL;
    int st;
    switch (w) {
    case W_PUT_NEW: return simple("PUT", B, "new", NULL, "new-body", NULL);
    case W_PUT_OVER: return simple("PUT", B, "obj", NULL, "v2", NULL);
    case W_PUT_BIG: return simple("PUT", B, "big", NULL, g_big, NULL);
    case W_COPY: {
        cos_kv h = { "x-cos-copy-source", "/" B "/obj" };
        return http("PUT", B, "copy", NULL, NULL, 0, &h, 1, NULL, NULL);
    }
    case W_BUCKET_ACL: {
        cos_kv h = { "x-cos-acl", "private" };
        return http("PUT", B, NULL, "acl", NULL, 0, &h, 1, NULL, NULL);
    }
    case W_OBJECT_ACL: {
        cos_kv h = { "x-cos-acl", "public-read" };
        return http("PUT", B, "aclobj", "acl", NULL, 0, &h, 1, NULL, NULL);
    }
    case W_POLICY: return simple("PUT", B, NULL, "policy", POLICY, NULL);
    case W_DELETE_CORS: return simple("DELETE", B, NULL, "cors", NULL, NULL);
    case W_PUT_TAGS:
        return simple("PUT", B, "obj", "tagging", "<Tagging><TagSet><Tag><Key>t</Key><Value>tagv2</Value></Tag></TagSet></Tagging>", NULL);
    case W_DELETE_TAGS: return simple("DELETE", B, "tagged", "tagging", NULL, NULL);
    case W_DELETE: return simple("DELETE", B, "victim", NULL, NULL, NULL);
    case W_MULTI_DELETE:
        st = simple("POST", B, NULL, "delete",
                    "<Delete><Quiet>false</Quiet><Object><Key>m1</Key></Object><Object><Key>m2</Key></Object></Delete>", &body);
        if (st == 200 && body) {
            bool del = strstr(body, "<Deleted>") != NULL, er = strstr(body, "<Error>") != NULL;
            st = del && er ? -1 : er ? (strstr(body, "SlowDown") ? 503 : 500) : 200;
        }
        free(body);
        return st;
    case W_INIT_UPLOAD: return simple("POST", B, "mp-new", "uploads", NULL, NULL);
    case W_UPLOAD_PART: {
        cos_kv q[2] = { { "partNumber", "2" }, { "uploadId", g_part_upload } };
        return http("PUT", B, "mp-part", NULL, q, 2, NULL, 0, "part-two", NULL);
    }
    case W_COMPLETE: {
        cos_kv q = { "uploadId", g_done_upload };
        char *xml = cos_sprintf("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part>"
                                "</CompleteMultipartUpload>", g_done_etag);
        st = http("POST", B, "mp-done", NULL, &q, 1, NULL, 0, xml, NULL);
        free(xml);
        return st;
    }
    case W_ABORT: {
        cos_kv q = { "uploadId", g_abort_upload };
        return http("DELETE", B, "mp-abort", NULL, &q, 1, NULL, 0, NULL, NULL);
    }
    case W_CREATE_BUCKET: return simple("PUT", FRESH, NULL, NULL, NULL, NULL);
    case W_DELETE_BUCKET: return simple("DELETE", EMPTY, NULL, NULL, NULL, NULL);
    default: {
        const char *kind = CONFIGS[w - W_CONFIG0][0];
        cos_kv q = { "id", "inv1" };
        return http("PUT", B, NULL, kind, &q, !strcmp(kind, "inventory"), NULL, 0, CONFIGS[w - W_CONFIG0][1], NULL);
    }
    }
}

/* Whether write w happened: 1 yes, 0 no (the state before it), -1 neither. */
static int probe(int w)
{
    char *b = NULL;
    int st, out;
#define GET(bucket, key, action) (free(b), b = NULL, st = simple("GET", bucket, key, action, NULL, &b))
#define HAS(s) (b && strstr(b, s) != NULL)
    switch (w) {
    case W_PUT_NEW: GET(B, "new", NULL); out = st == 200 && HAS("new-body") ? 1 : st == 404 ? 0 : -1; break;
    case W_PUT_OVER: GET(B, "obj", NULL); out = st == 200 && HAS("v2") ? 1 : st == 200 && HAS("v1") ? 0 : -1; break;
    case W_PUT_BIG: GET(B, "big", NULL); out = st == 200 && b && strlen(b) == strlen(g_big) ? 1 : st == 404 ? 0 : -1; break;
    case W_COPY: GET(B, "copy", NULL); out = st == 200 ? 1 : st == 404 ? 0 : -1; break;
    case W_BUCKET_ACL: GET(B, NULL, "acl"); out = st != 200 ? -1 : HAS("AllUsers") ? 0 : 1; break;
    case W_OBJECT_ACL: GET(B, "aclobj", "acl"); out = st != 200 ? -1 : HAS("AllUsers") ? 1 : 0; break;
    case W_POLICY: GET(B, NULL, "policy"); out = st == 200 && HAS("deny") ? 1 : st == 404 ? 0 : -1; break;
    case W_DELETE_CORS: GET(B, NULL, "cors"); out = st == 404 ? 1 : st == 200 && HAS("keep.example") ? 0 : -1; break;
    case W_PUT_TAGS: GET(B, "obj", "tagging"); out = st != 200 ? -1 : HAS("tagv2") ? 1 : HAS("tagv1") ? 0 : -1; break;
    case W_DELETE_TAGS: GET(B, "tagged", "tagging"); out = st != 200 ? -1 : HAS("tagv1") ? 0 : 1; break;
    case W_DELETE: GET(B, "victim", NULL); out = st == 404 ? 1 : st == 200 ? 0 : -1; break;
    case W_MULTI_DELETE: {
        GET(B, "m1", NULL);
        int s1 = st;
        GET(B, "m2", NULL);
        out = s1 == 404 && st == 404 ? 1 : s1 == 200 && st == 200 ? 0 : -1;
        break;
    }
    case W_INIT_UPLOAD: GET(B, NULL, "uploads"); out = st != 200 ? -1 : HAS("mp-new") ? 1 : 0; break;
    case W_UPLOAD_PART: {
        cos_kv q = { "uploadId", g_part_upload };
        free(b);
        st = http("GET", B, "mp-part", NULL, &q, 1, NULL, 0, NULL, &b);
        out = st != 200 ? -1 : HAS("<PartNumber>2</PartNumber>") ? 1 : HAS("<PartNumber>1</PartNumber>") ? 0 : -1;
        break;
    }
    case W_COMPLETE: {
        GET(B, "mp-done", NULL);
        int s1 = st;
        GET(B, NULL, "uploads");
        out = s1 == 200 && st == 200 && !HAS(g_done_upload) ? 1 : s1 == 404 && HAS(g_done_upload) ? 0 : -1;
        break;
    }
    case W_ABORT: GET(B, NULL, "uploads"); out = st != 200 ? -1 : HAS(g_abort_upload) ? 0 : 1; break;
    case W_CREATE_BUCKET: GET(FRESH, NULL, NULL); out = st == 200 ? 1 : st == 404 ? 0 : -1; break;
    case W_DELETE_BUCKET: GET(EMPTY, NULL, NULL); out = st == 404 ? 1 : st == 200 ? 0 : -1; break;
    default: {
        const char *kind = CONFIGS[w - W_CONFIG0][0];
        cos_kv q = { "id", "inv1" };
        free(b);
        st = http("GET", B, NULL, kind, &q, !strcmp(kind, "inventory"), NULL, 0, NULL, &b);
        out = HAS("faultmark") ? 1 : 0;
        break;
    }
    }
#undef GET
#undef HAS
    if (out < 0) fprintf(stderr, "  probe of \"%s\": status %d, %.200s\n", write_name(w), st, b ? b : "");
    free(b);
    return out;
}

static int put_ok(const char *key, const char *body)
{
    int st = simple("PUT", B, key, NULL, body, NULL);
    if (st != 200) test_fail(__FILE__, __LINE__, "setup PUT %s: %d", key, st);
    return st;
}

/* An upload of `key`; its id to out; with part 1 ("part-one", ETag to etag) if wanted. */
static void start_upload(const char *key, char out[64], char *etag)
{
    char *b = NULL;
    CHECK_INT(simple("POST", B, key, "uploads", NULL, &b), 200);
    const char *p = b ? strstr(b, "<UploadId>") : NULL;
    const char *e = p ? strstr(p, "</UploadId>") : NULL;
    snprintf(out, 64, "%.*s", p && e ? (int)(e - p - 10) : 0, p ? p + 10 : "");
    free(b);
    cos_kv q[2] = { { "partNumber", "1" }, { "uploadId", out } };
    cos_request r = COS_REQUEST_INIT;
    r.method = "PUT";
    r.bucket = B;
    r.key = key;
    r.query = q;
    r.query_count = 2;
    r.body.data = "part-one";
    r.body.size = 8;
    cos_result *res = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_send_request(g_c, &r, &res, &err), err);
    for (size_t i = 0; res && etag && i < res->header_count; i++)
        if (!strcasecmp(res->headers[i].name, "ETag")) snprintf(etag, 80, "%s", res->headers[i].value);
    cos_result_free(res);
}

/* The state every write starts from. */
static void setup_state(void)
{
    cos_kv pub = { "x-cos-acl", "public-read" };
    CHECK_INT(http("PUT", B, NULL, NULL, NULL, 0, &pub, 1, NULL, NULL), 200);
    CHECK_INT(simple("PUT", EMPTY, NULL, NULL, NULL, NULL), 200);
    put_ok("obj", "v1");
    cos_kv priv = { "x-cos-acl", "private" }; /* its own ACL, whatever the bucket's becomes */
    CHECK_INT(http("PUT", B, "aclobj", NULL, NULL, 0, &priv, 1, "a", NULL), 200);
    put_ok("tagged", "t");
    put_ok("victim", "x");
    put_ok("m1", "x");
    put_ok("m2", "x");
    const char *tags = "<Tagging><TagSet><Tag><Key>t</Key><Value>tagv1</Value></Tag></TagSet></Tagging>";
    CHECK_INT(simple("PUT", B, "obj", "tagging", tags, NULL), 200);
    CHECK_INT(simple("PUT", B, "tagged", "tagging", tags, NULL), 200);
    CHECK_INT(simple("PUT", B, NULL, "cors",
                     "<CORSConfiguration><CORSRule><AllowedOrigin>http://keep.example</AllowedOrigin>"
                     "<AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>", NULL), 200);
    start_upload("mp-part", g_part_upload, NULL);
    start_upload("mp-done", g_done_upload, g_done_etag);
    start_upload("mp-abort", g_abort_upload, NULL);
    for (int w = 0; w < NWRITES; w++)
        if (probe(w) != 0) test_fail(__FILE__, __LINE__, "setup: \"%s\" is not in its starting state", write_name(w));
}

static void client_for(const test_server *s)
{
    cos_client_free(g_c);
    g_c = NULL;
    cos_config cfg;
    test_config(&cfg, s);
    cfg.max_retries = -1; /* every answer as the server gave it */
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&g_c, &cfg, &err), err);
}

/* Send every write under the condition: each answer is a failure with
 * `want` (or, when want is 0, any answer), recorded in status[]. */
static void writes_under(const char *cond, int want, int status[NWRITES])
{
    int failed = 0;
    for (int w = 0; w < NWRITES; w++) {
        status[w] = do_write(w);
        if (status[w] >= 500) failed++;
        if (want && status[w] != want)
            test_fail(__FILE__, __LINE__, "%s: \"%s\" answered %d, not %d", cond, write_name(w), status[w], want);
    }
    printf("  %s: %d of %d writes refused\n", cond, failed, NWRITES);
}

/* After the condition: each write happened exactly when it was acknowledged;
 * then the refused ones, sent again, work. */
static void check_after(const char *cond, const int status[NWRITES])
{
    for (int w = 0; w < NWRITES; w++) {
        int p = probe(w);
        bool acked = status[w] >= 200 && status[w] < 300;
        if (p < 0 || (acked && p != 1) || (!acked && p != 0))
            test_fail(__FILE__, __LINE__, "%s: \"%s\" answered %d but the change is %s", cond, write_name(w), status[w],
                      p < 0 ? "half made" : p ? "there" : "not there");
    }
    for (int w = 0; w < NWRITES; w++) {
        if (status[w] >= 200 && status[w] < 300) continue;
        int st = do_write(w);
        if (st < 200 || st >= 300 || probe(w) != 1)
            test_fail(__FILE__, __LINE__, "%s, once over: \"%s\" answered %d", cond, write_name(w), st);
    }
}

/* SQLite's write lock on meta.db taken in the server (the "lock_db" fault)
 * and held until the rules are cleared. */
#define LOCK_DB_RULE "[{\"match\":\"/lock-db\",\"action\":\"lock_db\"}]"
static void lock_db(const test_server *s)
{
    test_set_faults(g_c, s, LOCK_DB_RULE);
    CHECK_INT(simple("GET", B, "lock-db", NULL, NULL, NULL), 200);
}

/* Whether another process can take SQLite's write lock on the server's
 * meta.db (it could before the store kept its locks in memory: walvfs.c). */
static bool outsider_can_lock(const test_server *s)
{
    pid_t pid = fork();
    if (pid == 0) {
        char *path = cos_sprintf("%s/meta.db", s->root);
        sqlite3 *db = NULL;
        int ok = sqlite3_open(path, &db) == SQLITE_OK && sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL) == SQLITE_OK;
        _exit(ok ? 0 : 1);
    }
    int st = 0;
    return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void test_locked_database(void)
{
    test_server s = { 0 };
    const char *args[] = { "--busy-timeout-ms", "100", "--faults", NULL };
    if (test_server_start(&s, args) != 0) {
        CHECK(!"server start");
        return;
    }
    client_for(&s);
    setup_state();
    CHECK(!outsider_can_lock(&s)); /* meta.db is the server's alone: no other process writes under its feet */
    lock_db(&s);
    int status[NWRITES];
    writes_under("locked database", 503, status);
    test_set_faults(g_c, &s, NULL); /* the lock released */
    check_after("locked database", status);
    test_server_stop(&s, false);
}

#define DRAIN "lockdrain-" TEST_APPID
#define LOCK_ON "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>"

static void *put_in_flight(void *arg)
{
    *(int *)arg = simple("PUT", DRAIN, "in-flight", NULL, "data", NULL);
    return NULL;
}

/* Enabling object lock first waits for the writes already under way (they
 * found it off: server/objlock.c), at most --lock-drain-ms (10 s unless set):
 * a PUT held by the locked database outlasts it, and the enabling answers
 * 503 SlowDown with nothing changed; once the PUT is done, it is enabled. */
static void test_lock_enable_bounded(void)
{
    test_server s = { 0 };
    const char *args[] = { "--busy-timeout-ms", "3000", "--lock-drain-ms", "200", "--faults", NULL };
    if (test_server_start(&s, args) != 0) {
        CHECK(!"server start");
        return;
    }
    client_for(&s);
    CHECK_INT(simple("PUT", DRAIN, NULL, NULL, NULL, NULL), 200);
    lock_db(&s);
    int put_status = 0;
    pthread_t t;
    CHECK(pthread_create(&t, NULL, put_in_flight, &put_status) == 0);
    /* ordering only, never asserted on: if the enabling came first, it would wait for the database
       instead, and answer the same */
    cos_sleep_ms_for_tests(500);
    char *code = NULL;
    CHECK_INT(simple("PUT", DRAIN, NULL, "object-lock", LOCK_ON, &code), 503);
    CHECK_STR(code, "SlowDown");
    free(code);
    pthread_join(t, NULL);
    CHECK_INT(put_status, 503);
    test_set_faults(g_c, &s, NULL); /* the lock released */
    CHECK_INT(simple("GET", DRAIN, NULL, "object-lock", NULL, NULL), 404); /* nothing was changed */
    CHECK_INT(simple("PUT", DRAIN, NULL, "object-lock", LOCK_ON, NULL), 200);
    CHECK_INT(simple("GET", DRAIN, NULL, "object-lock", NULL, NULL), 200);
    test_server_stop(&s, false);
}

/* ---------------------------------------------------------------- tmpfs cases */

static bool write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY);
    if (fd < 0) return false;
    bool ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
    close(fd);
    return ok;
}

/* A mount namespace of our own (and the servers we start), where mounting a
 * tmpfs is allowed: as root directly, otherwise inside a user namespace. */
static bool private_mounts(void)
{
    if (unshare(CLONE_NEWNS) != 0) {
        uid_t uid = getuid();
        gid_t gid = getgid();
        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return false;
        char map[64];
        write_file("/proc/self/setgroups", "deny");
        snprintf(map, sizeof map, "0 %u 1", (unsigned)uid);
        if (!write_file("/proc/self/uid_map", map)) return false;
        snprintf(map, sizeof map, "0 %u 1", (unsigned)gid);
        if (!write_file("/proc/self/gid_map", map)) return false;
    }
    return mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) == 0;
}

/* The server's root is the tmpfs itself (its port file and log sit beside it). */
static bool mount_small_disk(test_server *s, const char *tag)
{
    char *d = test_tmpdir(tag);
    snprintf(s->root, sizeof s->root, "%s", d);
    free(d);
    if (mount("tmpfs", s->root, "tmpfs", 0, "size=16m") != 0) {
        fprintf(stderr, "mount tmpfs: %s\n", strerror(errno));
        return false;
    }
    return true;
}

static void unmount_small_disk(test_server *s)
{
    umount2(s->root, MNT_DETACH);
    rmdir(s->root);
}

/* Fill the disk to the last byte: 0, or -1 if it would not fill. */
static int fill_disk(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return -1;
    static char chunk[65536];
    for (size_t size = sizeof chunk; size >= 512; size /= 2)
        while (write(fd, chunk, size) == (ssize_t)size) {}
    bool full = errno == ENOSPC;
    close(fd);
    return full ? 0 : -1;
}

static void test_full_disk(void)
{
    test_server s = { 0 };
    if (!mount_small_disk(&s, "full")) {
        CHECK(!"mount");
        return;
    }
    if (test_server_start(&s, NULL) != 0) {
        CHECK(!"server start");
        unmount_small_disk(&s);
        return;
    }
    client_for(&s);
    setup_state();
    char *filler = cos_sprintf("%s/filler", s.root);
    CHECK(fill_disk(filler) == 0);
    int status[NWRITES];
    writes_under("full disk", 0, status); /* a change that still fitted may commit; then it must be there */
    int refused = 0;
    for (int w = 0; w < NWRITES; w++) refused += status[w] >= 500;
    CHECK(refused > NWRITES / 2); /* the disk was full: most writes cannot commit */
    unlink(filler); /* space returns */
    free(filler);
    check_after("full disk", status);
    test_server_stop(&s, false);
    unmount_small_disk(&s);
}

static void test_read_only_database(void)
{
    test_server s = { 0 };
    if (!mount_small_disk(&s, "ro")) {
        CHECK(!"mount");
        return;
    }
    if (test_server_start(&s, NULL) != 0) {
        CHECK(!"server start");
        unmount_small_disk(&s);
        return;
    }
    client_for(&s);
    setup_state();
    /* killed, so the WAL files stay and the database can be read read-only */
    test_server_kill(&s);
    CHECK(mount("none", s.root, "tmpfs", MS_REMOUNT | MS_RDONLY, NULL) == 0);
    int status[NWRITES];
    if (test_server_start(&s, NULL) == 0) {
        client_for(&s);
        writes_under("read-only database", 500, status);
        test_server_stop(&s, true);
    } else {
        CHECK(!"the server starts on a read-only database (reads still work)");
    }
    CHECK(mount("none", s.root, "tmpfs", MS_REMOUNT, NULL) == 0);
    CHECK(test_server_start(&s, NULL) == 0);
    client_for(&s);
    check_after("read-only database", status);
    test_server_stop(&s, false);
    unmount_small_disk(&s);
}

int main(void)
{
    /* before any thread exists: unshare(CLONE_NEWUSER) refuses threaded processes */
    bool mounts = private_mounts();
    g_big = malloc(100 * 1024 + 1);
    memset(g_big, 'b', 100 * 1024);
    g_big[100 * 1024] = '\0';
    RUN(test_locked_database);
    if (mounts) {
        RUN(test_full_disk);
        RUN(test_read_only_database);
    } else {
        printf("SKIP full disk and read-only database: no private mount namespace here "
               "(needs root or unprivileged user namespaces)\n");
    }
    RUN(test_lock_enable_bounded); /* threads: after the namespace's cases */
    cos_client_free(g_c);
    free(g_big);
    return test_report();
}

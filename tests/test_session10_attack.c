/* test_session10_attack.c — the ninth session's server and engine code
 * attacked by someone other than its authors: writes decided unversioned
 * that meet versioning enabled before their transaction (end to end over
 * HTTP, held at the exact point by the "pause" fault), batched writes whose
 * members fail in different ways side by side, and the socket-driven
 * engine with a thousand calls in flight and with descriptors running out.
 * Each attack stays as a regression check, whether it held or was fixed (a
 * fixed one says what it did before). */
#define _GNU_SOURCE
#include "testlib.h"
#include "util.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <unistd.h>

#define APPID_HOST(b) b "-" TEST_APPID ".cos.ap-guangzhou.myqcloud.com"
#define EXPECT(r, status, code) test_expect_reply((r), (status), (code), __FILE__, __LINE__)

static test_server g_srv;

/* METHOD host/path (?sub, or ?name=value when value) signed by the owner, with headers h and body */
static test_reply call(const char *host, const char *method, const char *path, const char *qname, const char *qvalue,
                       const cos_kv *h, size_t nh, const char *body)
{
    cos_kv q[1] = { { qname, qvalue ? qvalue : "" } };
    char *target = qname ? cos_sprintf("%s?%s%s%s", path, qname, qvalue ? "=" : "", qvalue ? qvalue : "")
                         : cos_strdup(path);
    test_cos_call c = { method, host, target, path, TEST_SECRET_ID, TEST_SECRET_KEY, NULL, q, qname ? 1 : 0, h, nh,
                        NULL, NULL, body, body ? strlen(body) : 0 };
    test_reply r = test_cos_exchange(g_srv.port, &c);
    free(target);
    return r;
}

static void set_versioning(const char *host, const char *status)
{
    char *doc = cos_sprintf("<VersioningConfiguration><Status>%s</Status></VersioningConfiguration>", status);
    EXPECT(call(host, "PUT", "/", "versioning", NULL, NULL, 0, doc), 200, NULL);
    free(doc);
}

/* PUT host/path with body under versioning: the version id answered (malloc'd; NULL, and a test failure, if none). */
static char *put_version(const char *host, const char *path, const char *body, int line)
{
    test_reply r = call(host, "PUT", path, NULL, NULL, NULL, 0, body);
    char *vid = r.status == 200 ? test_reply_header(&r, "x-cos-version-id") : NULL;
    if (!vid || !*vid) test_fail(__FILE__, line, "PUT %s: %d, version id %s", path, r.status, vid ? "empty" : "none");
    test_reply_free(&r);
    return vid;
}
#define PUT_VERSION(host, path, body) put_version((host), (path), (body), __LINE__)

/* A new bucket (name, at host) whose key path holds body. */
static void bucket_with(const char *name, const char *host, const char *path, const char *body)
{
    test_put_bucket_on(&g_srv, name);
    EXPECT(call(host, "PUT", path, NULL, NULL, NULL, 0, body), 200, NULL);
}

/* The body of host/path (at version vid when set), or NULL when the answer is not 200. */
static char *body_of(const char *host, const char *path, const char *vid)
{
    test_reply r = call(host, "GET", path, vid ? "versionId" : NULL, vid, NULL, 0, NULL);
    char *b = r.status == 200 && r.body ? cos_strdup(r.body) : NULL;
    test_reply_free(&r);
    return b;
}

static void check_body(const char *host, const char *path, const char *vid, const char *want, int line)
{
    char *b = body_of(host, path, vid);
    if (!b || strcmp(b, want) != 0)
        test_fail(__FILE__, line, "GET %s%s%s: \"%s\", not \"%s\"", path, vid ? "?versionId=" : "", vid ? vid : "",
                  b ? b : "(no 200)", want);
    free(b);
}
#define CHECK_BODY(host, path, vid, want) check_body((host), (path), (vid), (want), __LINE__)

static int count_of(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; p && (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

/* How many versions (not delete markers) GET ?versions lists in host's bucket, -1 when it fails. */
static int versions_in(const char *host)
{
    test_reply r = call(host, "GET", "/", "versions", NULL, NULL, 0, NULL);
    int n = r.status == 200 ? count_of(r.body, "<Version>") : -1;
    test_reply_free(&r);
    return n;
}

/* ------------------------------------------------------------ the "pause" fault */

static int g_held; /* requests the pause holds (bg_held); DELETE /-/faults lets them go */
static void pause_rules(const char *rules)
{
    test_set_faults(NULL, &g_srv, rules);
    if (!rules) g_held = 0;
}

/* Until n writes are held (they are in flight on their own threads). */
static void wait_paused(int n, int line)
{
    if (!test_wait_paused(&g_srv, n))
        test_fail(__FILE__, line, "%d writes held by the pause, not %d", test_faults_paused(&g_srv), n);
}

/* A request on a thread of its own, answered later (it meets a pause). */
typedef struct bg {
    const char *host, *method, *path, *qname, *qvalue, *body;
    cos_kv h[1];
    size_t nh;
    test_reply r;
    pthread_t th;
} bg;

static void *bg_run(void *p)
{
    bg *b = p;
    b->r = call(b->host, b->method, b->path, b->qname, b->qvalue, b->h, b->nh, b->body);
    return NULL;
}
/* Start b and wait until the pause holds it: one at a time, as a server
   thread the pause holds cannot take up another connection it accepted. */
static void bg_held(bg *b)
{
    pthread_create(&b->th, NULL, bg_run, b);
    wait_paused(++g_held, __LINE__);
}
static void bg_join(bg *b) { pthread_join(b->th, NULL); }

/* ------------------------------------------------------------ versioning enabled under a decided write */

/* held: a write of path decided unversioned, held by the pause. Versioning
 * is enabled and "v1" written over path and acknowledged; then held goes on.
 * It must answer 200 with a version of its own (written as `wrote`), v1 and
 * the null version from before (v0) kept: three versions in all. */
static void race_versioning_enabled(bg *held, const char *host, const char *path, const char *wrote, const char *v0)
{
    set_versioning(host, "Enabled");
    char *v1 = PUT_VERSION(host, path, "v1");
    pause_rules(NULL); /* lets the held write go on */
    bg_join(held);
    CHECK_INT(held->r.status, 200); /* 503 on the old code */
    char *v2 = test_reply_header(&held->r, "x-cos-version-id");
    CHECK(v2 && *v2 && v1 && strcmp(v1, v2) != 0);
    test_reply_free(&held->r);
    CHECK_BODY(host, path, NULL, wrote);
    if (v1) CHECK_BODY(host, path, v1, "v1");
    if (v2) CHECK_BODY(host, path, v2, wrote);
    CHECK_BODY(host, path, "null", v0);
    CHECK_INT(versions_in(host), 3);
    free(v1);
    free(v2);
}

/* A PUT that found its bucket unversioned, versioning enabled and a
 * versioned PUT acknowledged before its transaction: before, 503 SlowDown
 * (nothing written: replacing the row would have lost the version made
 * meanwhile; a client had to retry). Now it is made as a write under
 * versioning, as if it came after the change: a version of its own, the
 * one written meanwhile kept, and the null version from before kept too. */
static void test_put_meets_versioning_enabled(void)
{
    const char *host = APPID_HOST("s10put");
    bucket_with("s10put-" TEST_APPID, host, "/race", "v0");
    pause_rules("[{\"method\":\"PUT\",\"match\":\"/race\",\"action\":\"pause\",\"times\":1}]");
    bg stale = { .host = host, .method = "PUT", .path = "/race", .body = "stale" };
    bg_held(&stale); /* decided: unversioned */
    race_versioning_enabled(&stale, host, "/race", "stale", "v0");
}

/* The same with versioning Suspended by the time the stale PUT commits: it
 * is the null version (no version id answered), the version made while
 * Enabled kept. A copy decided unversioned meets the same (its own path). */
static void test_put_and_copy_meet_versioning_suspended(void)
{
    const char *host = APPID_HOST("s10sus");
    bucket_with("s10sus-" TEST_APPID, host, "/src", "source");
    EXPECT(call(host, "PUT", "/k", NULL, NULL, NULL, 0, "k0"), 200, NULL);
    EXPECT(call(host, "PUT", "/c", NULL, NULL, NULL, 0, "c0"), 200, NULL);
    pause_rules("[{\"method\":\"PUT\",\"match\":\"/k\",\"action\":\"pause\",\"times\":1},"
                "{\"method\":\"PUT\",\"match\":\"/c\",\"action\":\"pause\",\"times\":1}]");
    bg stale = { .host = host, .method = "PUT", .path = "/k", .body = "stale" };
    bg copy = { .host = host, .method = "PUT", .path = "/c", .h = { { "x-cos-copy-source", APPID_HOST("s10sus") "/src" } },
                .nh = 1 };
    bg_held(&stale);
    bg_held(&copy);
    set_versioning(host, "Enabled");
    char *vk = PUT_VERSION(host, "/k", "k1"), *vc = PUT_VERSION(host, "/c", "c1");
    set_versioning(host, "Suspended");
    pause_rules(NULL);
    bg_join(&stale);
    bg_join(&copy);
    CHECK_INT(stale.r.status, 200); /* 503 on the old code */
    CHECK_INT(copy.r.status, 200);  /* 503 on the old code */
    char *none = test_reply_header(&stale.r, "x-cos-version-id");
    CHECK(none == NULL); /* the null version is not named */
    free(none);
    test_reply_free(&stale.r);
    test_reply_free(&copy.r);
    CHECK_BODY(host, "/k", NULL, "stale");
    CHECK_BODY(host, "/k", "null", "stale");
    if (vk) CHECK_BODY(host, "/k", vk, "k1");
    CHECK_BODY(host, "/c", NULL, "source");
    if (vc) CHECK_BODY(host, "/c", vc, "c1");
    /* the null version from before versioning (k0, c0) was replaced by the stale writes, as Suspended writes do */
    CHECK_INT(versions_in(host), 5); /* src; k: stale, k1; c: copy, c1 */
    free(vk);
    free(vc);
}

/* A CompleteMultipartUpload decided unversioned meets the same: before,
 * 503 (the upload left to complete again); now a version of its own. */
static void test_complete_meets_versioning_enabled(void)
{
    const char *host = APPID_HOST("s10mpu");
    bucket_with("s10mpu-" TEST_APPID, host, "/m", "m0");
    test_reply r = call(host, "POST", "/m", "uploads", NULL, NULL, 0, NULL);
    CHECK_INT(r.status, 200);
    char *id = test_xml_value(r.body, "UploadId");
    test_reply_free(&r);
    if (!id) return;
    char *target = cos_sprintf("/m?partNumber=1&uploadId=%s", id);
    cos_kv q[] = { { "partNumber", "1" }, { "uploadId", id } };
    test_cos_call c = { "PUT", host, target, "/m", TEST_SECRET_ID, TEST_SECRET_KEY, NULL, q, 2, NULL, 0, NULL, NULL,
                        "the one part", 12 };
    r = test_cos_exchange(g_srv.port, &c);
    CHECK_INT(r.status, 200);
    char *etag = test_reply_header(&r, "ETag");
    test_reply_free(&r);
    char *doc = cos_sprintf("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part>"
                            "</CompleteMultipartUpload>", etag ? etag : "");
    pause_rules("[{\"method\":\"POST\",\"match\":\"uploadId\",\"action\":\"pause\",\"times\":1}]");
    bg done = { .host = host, .method = "POST", .path = "/m", .qname = "uploadId", .qvalue = id, .body = doc };
    bg_held(&done);
    race_versioning_enabled(&done, host, "/m", "the one part", "m0");
    free(doc);
    free(etag);
    free(target);
    free(id);
}

/* A DELETE decided unversioned (held) while versioning is enabled and a
 * version written: it leaves a delete marker, the version stays (i38a's
 * in-transaction re-check, now end to end over HTTP: held). */
static void test_delete_meets_versioning_enabled(void)
{
    const char *host = APPID_HOST("s10del");
    bucket_with("s10del-" TEST_APPID, host, "/d", "d0");
    pause_rules("[{\"method\":\"DELETE\",\"match\":\"/d\",\"action\":\"pause\",\"times\":1}]");
    bg del = { .host = host, .method = "DELETE", .path = "/d" };
    bg_held(&del);
    set_versioning(host, "Enabled");
    char *v1 = PUT_VERSION(host, "/d", "d1");
    pause_rules(NULL);
    bg_join(&del);
    CHECK_INT(del.r.status, 204);
    char *marker = test_reply_header(&del.r, "x-cos-delete-marker");
    CHECK(marker && !strcmp(marker, "true"));
    free(marker);
    test_reply_free(&del.r);
    char *cur = body_of(host, "/d", NULL);
    CHECK(cur == NULL);
    free(cur);
    if (v1) CHECK_BODY(host, "/d", v1, "d1");
    CHECK_BODY(host, "/d", "null", "d0");
    free(v1);
}

/* ------------------------------------------------------------ batched writes failing side by side */

/* Writes held until they all go at once, so that they share batches: PUTs
 * and DELETEs of one key, racing conditional creates of another, and PUTs
 * into a bucket deleted while they were held. Every answer must be true:
 * one create (x-cos-forbid-overwrite) wins, the others 409; the writes into the gone bucket 404 and
 * nothing of them stays; the key written and deleted ends as one of the
 * acknowledged states. (held) */
enum { MK_PUTS = 3, MK_DELS = 2, MC_CREATES = 4, GONE_PUTS = 2 };
static void test_batch_members_fail_alone(void)
{
    const char *host = APPID_HOST("s10mix"), *gone = APPID_HOST("s10gone");
    bucket_with("s10mix-" TEST_APPID, host, "/mk", "m0");
    test_put_bucket_on(&g_srv, "s10gone-" TEST_APPID);
    pause_rules("[{\"match\":\"/mk\",\"action\":\"pause\",\"times\":5},"
                "{\"method\":\"PUT\",\"match\":\"/mc\",\"action\":\"pause\",\"times\":4},"
                "{\"method\":\"PUT\",\"match\":\"/gone\",\"action\":\"pause\",\"times\":2}]");
    static const char *const BODIES[MK_PUTS] = { "a", "b", "c" };
    static const char *const CREATES[MC_CREATES] = { "c0", "c1", "c2", "c3" };
    bg mk[MK_PUTS + MK_DELS], mc[MC_CREATES], g[GONE_PUTS];
    for (int i = 0; i < MK_PUTS + MK_DELS; i++) {
        mk[i] = (bg){ .host = host, .method = i < MK_PUTS ? "PUT" : "DELETE", .path = "/mk",
                      .body = i < MK_PUTS ? BODIES[i] : NULL };
        bg_held(&mk[i]);
    }
    for (int i = 0; i < MC_CREATES; i++) {
        mc[i] = (bg){ .host = host, .method = "PUT", .path = "/mc", .body = CREATES[i],
                      .h = { { "x-cos-forbid-overwrite", "true" } }, .nh = 1 };
        bg_held(&mc[i]);
    }
    for (int i = 0; i < GONE_PUTS; i++) {
        g[i] = (bg){ .host = gone, .method = "PUT", .path = "/gone", .body = "lost?" };
        bg_held(&g[i]);
    }
    EXPECT(call(gone, "DELETE", "/", NULL, NULL, NULL, 0, NULL), 204, NULL); /* empty: the PUTs wrote no row yet */
    pause_rules(NULL);
    for (int i = 0; i < MK_PUTS + MK_DELS; i++) bg_join(&mk[i]);
    for (int i = 0; i < MC_CREATES; i++) bg_join(&mc[i]);
    for (int i = 0; i < GONE_PUTS; i++) bg_join(&g[i]);
    /* the key written and deleted: every answer a success; it ends as an acknowledged PUT's body or absent */
    bool any_delete_ok = false;
    for (int i = 0; i < MK_PUTS + MK_DELS; i++) {
        CHECK_INT(mk[i].r.status, i < MK_PUTS ? 200 : 204);
        if (i >= MK_PUTS && mk[i].r.status == 204) any_delete_ok = true;
    }
    char *end = body_of(host, "/mk", NULL);
    bool known = end == NULL ? any_delete_ok : false;
    for (int i = 0; end && i < MK_PUTS; i++)
        if (!strcmp(end, BODIES[i]) && mk[i].r.status == 200) known = true;
    if (!known) test_fail(__FILE__, __LINE__, "/mk ends as \"%s\", no acknowledged state", end ? end : "(absent)");
    free(end);
    /* the conditional creates: exactly one wins, and it is what is stored */
    int won = -1, wins = 0;
    for (int i = 0; i < MC_CREATES; i++) {
        if (mc[i].r.status == 200) won = i, wins++;
        else CHECK_INT(mc[i].r.status, 409); /* FileAlreadyExists */
    }
    CHECK_INT(wins, 1);
    if (won >= 0) CHECK_BODY(host, "/mc", NULL, CREATES[won]);
    /* into the bucket deleted meanwhile: refused, and nothing stays once it is made again */
    for (int i = 0; i < GONE_PUTS; i++) CHECK_INT(g[i].r.status, 404);
    test_put_bucket_on(&g_srv, "s10gone-" TEST_APPID);
    test_reply r = call(gone, "GET", "/", NULL, NULL, NULL, 0, NULL);
    CHECK_INT(r.status, 200);
    CHECK_INT(count_of(r.body, "<Contents>"), 0);
    test_reply_free(&r);
    for (int i = 0; i < MK_PUTS + MK_DELS; i++) test_reply_free(&mk[i].r);
    for (int i = 0; i < MC_CREATES; i++) test_reply_free(&mc[i].r);
    for (int i = 0; i < GONE_PUTS; i++) test_reply_free(&g[i].r);
}

/* ------------------------------------------------------------ the socket-driven engine */

#define ENG_BUCKET "s10eng-" TEST_APPID
enum { FLIGHT = 1000, FREE_AT = 400 };

typedef struct flight {
    atomic_int calls[FLIGHT]; /* each completion's count: exactly one */
    atomic_int finished, bad;
    cos_client *c;
    bool free_midway;
    test_latch all;
} flight;
typedef struct flight_ud { flight *f; int i; } flight_ud;

static void flight_done(void *ud, int rc, cos_result *res, cos_error *err)
{
    flight_ud *u = ud;
    flight *f = u->f;
    atomic_fetch_add(&f->calls[u->i], 1);
    /* a retry cut short by the free is COS_ERR_CANCELED; the drops heal by retrying */
    if (rc != 0 && !(f->free_midway && rc == COS_ERR_CANCELED)) atomic_fetch_add(&f->bad, 1);
    cos_result_free(res);
    cos_error_free(err);
    if (atomic_fetch_add(&f->finished, 1) + 1 == FREE_AT && f->free_midway)
        cos_client_free(f->c); /* from a completion, with hundreds in flight: deferred (client.h) */
    test_latch_add(&f->all);
}

/* A thousand calls in flight on one client (16 times its connections),
 * some of them cut off by the server (the connection closed unanswered),
 * then the same with the client freed from a completion callback while
 * ~600 are still in flight: every callback runs exactly once, a dropped
 * call is retried into a success, none is lost or hangs (the watchdog). (held) */
/* ENG_BUCKET and its one-byte object "one", once. */
static void eng_object(void)
{
    static bool made;
    if (made) return;
    made = true;
    test_put_bucket_on(&g_srv, ENG_BUCKET);
    test_put_object_on(&g_srv, ENG_BUCKET, "one", "1");
}

static void test_thousand_in_flight(void)
{
    eng_object();
    static flight f;
    static flight_ud uds[FLIGHT];
    int threads = test_thread_count();
    test_watch(120, "a thousand calls in flight", &g_srv);
    for (int round = 0; round < 2; round++) {
        pause_rules("[{\"method\":\"GET\",\"match\":\"/one\",\"action\":\"drop\",\"times\":40}]");
        for (int i = 0; i < FLIGHT; i++) atomic_init(&f.calls[i], 0);
        atomic_init(&f.finished, 0);
        atomic_init(&f.bad, 0);
        f.all = (test_latch)TEST_LATCH_INIT;
        f.free_midway = round == 1;
        f.c = test_client(&g_srv);
        cos_request r = COS_REQUEST_INIT;
        r.bucket = ENG_BUCKET;
        r.key = "one";
        int refused = 0;
        for (int i = 0; i < FLIGHT; i++) {
            uds[i] = (flight_ud){ &f, i };
            /* round 1: the client may be freed (deferred) while these are still being made */
            if (cos_get_object_async(f.c, &r, flight_done, &uds[i]) != 0) refused++, test_latch_add(&f.all);
            if (round == 1 && i == FREE_AT) break; /* the rest would race the free: not the caller's to do */
        }
        int made = round == 1 ? FREE_AT + 1 : FLIGHT;
        CHECK_INT(refused, 0);
        test_latch_wait(&f.all, made);
        if (round == 0) cos_client_free(f.c);
        int once = 0;
        for (int i = 0; i < made; i++) once += atomic_load(&f.calls[i]) == 1;
        CHECK_INT(once, made);
        CHECK_INT(atomic_load(&f.bad), 0);
        pause_rules(NULL);
    }
    /* the client freed from a callback is freed by a thread of its own, which
       closes its connections later: gone before the next test takes every
       descriptor (under load, one it closed then made a connection there, and
       36 of test_descriptors_run_out's 200 calls succeeded) */
    while (test_thread_count() > threads) cos_sleep_ms_for_tests(10);
    test_unwatch();
}

/* Descriptors run out (every one the soft limit allows is taken) with the
 * client's network threads up and no connection of theirs open yet: each
 * of 200 async calls fails with an error (none can connect), its callback
 * runs once, nothing hangs or crashes; a synchronous call on its kept
 * connection answers or fails cleanly; with descriptors back, the same
 * client works. (held) */
static void test_descriptors_run_out(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    eng_object();
    test_watch(120, "descriptors running out", &g_srv);
    static flight f;
    static flight_ud uds[200];
    cos_config cfg;
    test_config(&cfg, &g_srv);
    cfg.max_retries = -1; /* each failure is final: no back-off to wait out */
    f.c = test_client_of(&cfg);
    cos_request r = COS_REQUEST_INIT;
    r.bucket = ENG_BUCKET;
    r.key = "one";
    cos_error *err = NULL;
    CHECK_INT(cos_head_object(f.c, &r, NULL, &err), 0); /* a kept connection for synchronous calls */
    cos_error_free(err);
    err = NULL;
    for (int i = 0; i < 200; i++) atomic_init(&f.calls[i], 0);
    atomic_init(&f.finished, 0);
    atomic_init(&f.bad, 0);
    f.all = (test_latch)TEST_LATCH_INIT;
    f.free_midway = false;
    int top = 0;
    for (int fd = 0; fd < 65536; fd++)
        if (fcntl(fd, F_GETFD) != -1) top = fd + 1;
    struct rlimit low = { (rlim_t)top, rl.rlim_max };
    const char *pre = getenv("LD_PRELOAD");
    if (setrlimit(RLIMIT_NOFILE, &low) != 0) {
        /* valgrind keeps descriptors of its own at the top and refuses the change */
        if (!pre || !strstr(pre, "valgrind")) test_fail(__FILE__, __LINE__, "setrlimit: %s", strerror(errno));
        else printf("  (skipped under valgrind)\n");
        cos_client_free(f.c);
        test_unwatch();
        return;
    }
    int *fill = malloc((size_t)top * sizeof *fill), nfill = 0; /* the holes below the limit too */
    while (fill && nfill < top && (fill[nfill] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0) nfill++;
    CHECK(fill && nfill < top && errno == EMFILE);
    for (int i = 0; i < 200; i++) {
        uds[i] = (flight_ud){ &f, i };
        if (cos_get_object_async(f.c, &r, flight_done, &uds[i]) != 0) test_latch_add(&f.all);
    }
    test_latch_wait(&f.all, 200);
    int src = cos_head_object(f.c, &r, NULL, &err);
    CHECK(src == 0 || (src < 0 && err && cos_error_message(err)));
    cos_error_free(err);
    err = NULL;
    while (nfill > 0) close(fill[--nfill]);
    free(fill);
    setrlimit(RLIMIT_NOFILE, &rl);
    int once = 0;
    for (int i = 0; i < 200; i++) once += atomic_load(&f.calls[i]) == 1;
    CHECK_INT(once, 200);
    CHECK_INT(atomic_load(&f.bad), 200); /* no descriptor, no connection: every one failed */
    CHECK_INT(cos_head_object(f.c, &r, NULL, &err), 0);
    cos_error_free(err);
    err = NULL;
    atomic_init(&f.bad, 0); /* and the network threads connect again */
    for (int i = 0; i < 8; i++) {
        atomic_init(&f.calls[i], 0);
        if (cos_get_object_async(f.c, &r, flight_done, &uds[i]) != 0) test_latch_add(&f.all);
    }
    test_latch_wait(&f.all, 208);
    CHECK_INT(atomic_load(&f.bad), 0);
    cos_client_free(f.c);
    test_unwatch();
}

int main(void)
{
    const char *args[] = { "--faults", NULL };
    if (test_server_start(&g_srv, args) != 0) return 1;
    RUN(test_put_meets_versioning_enabled);
    RUN(test_put_and_copy_meet_versioning_suspended);
    RUN(test_complete_meets_versioning_enabled);
    RUN(test_delete_meets_versioning_enabled);
    RUN(test_batch_members_fail_alone);
    RUN(test_thousand_in_flight);
    RUN(test_descriptors_run_out);
    test_server_stop(&g_srv, false);
    return test_report();
}

/*
 * test_durability_lost: the metadata log's fsync fails under a running
 * cos-server (tests/preload/sync_fault.c makes it fail while a flag file
 * exists, as a failing disk does). The write whose commit it was is answered
 * 500, and from then on the server serves nothing from its store: not that
 * write, which a crash would lose though it was committed (before: served
 * with 200 until the next crash), not later writes (before: each committed
 * and visible, answered 500), not older objects either (the server cannot
 * tell which of its rows are durable) — 503 with a message that says to
 * restart. A restart recovers the last durable state and serves again.
 */
#define _GNU_SOURCE
#include "testlib.h"
#include "cos/sign.h"
#include "util.h"

#include <fcntl.h>
#include <unistd.h>

#define BUCKET "lost-" TEST_APPID

static test_server g_srv;

/* METHOD /BUCKET/KEY (path style), signed with the development keys; its
 * status, and its body in *body when body is not NULL. */
static int signed_call(const char *method, const char *path, const char *data, char **body)
{
    char host[64], auth[1024] = "";
    snprintf(host, sizeof host, "127.0.0.1:%d", g_srv.port);
    char *a = test_cos_auth(TEST_SECRET_ID, TEST_SECRET_KEY, method, path, host, NULL, 0, NULL, 0);
    snprintf(auth, sizeof auth, "%s", a ? a : "");
    free(a);
    size_t len = data ? strlen(data) : 0;
    char *req = cos_sprintf("%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\nContent-Length: %zu\r\n"
                            "Connection: close\r\n\r\n%s", method, path, host, auth, len, data ? data : "");
    int status = 0;
    char *b = NULL;
    if (test_http_raw(&g_srv, req, strlen(req), &status, &b) != 0) status = 0;
    free(req);
    if (body) *body = b;
    else free(b);
    return status;
}

#define BIG_BODY (200u << 10) /* past the store's inline size: a data file */

static char *make_body(char c, size_t n)
{
    char *b = malloc(n + 1);
    memset(b, c, n);
    b[n] = '\0';
    return b;
}

/* GET path after a restart: 404 when `old` is NULL and the write was lost, or 200 with `old` or `new`
   exactly; never a missing or damaged body. */
static void check_whole(const char *path, const char *old, const char *new)
{
    char *body = NULL;
    int st = signed_call("GET", path, NULL, &body);
    bool ok = (st == 404 && !old) ||
              (st == 200 && body && ((old && !strcmp(body, old)) || !strcmp(body, new)));
    if (!ok) test_fail(__FILE__, __LINE__, "GET %s after the restart: %d, %zu bytes", path, st, body ? strlen(body) : 0);
    free(body);
}

/* Stop the server and start it again on the same directory (with the preload still set for it). */
static int restart(const char *lib)
{
    test_server_stop(&g_srv, true);
    g_srv.pid = 0;
    const char *was = getenv("ASAN_OPTIONS");
    char *old_asan = was ? cos_strdup(was) : NULL;
    char *asan = cos_sprintf("%s%sverify_asan_link_order=0", was ? was : "", was ? ":" : "");
    setenv("LD_PRELOAD", lib, 1);
    setenv("ASAN_OPTIONS", asan, 1);
    int rc = test_server_start(&g_srv, NULL);
    unsetenv("LD_PRELOAD");
    if (old_asan) setenv("ASAN_OPTIONS", old_asan, 1);
    else unsetenv("ASAN_OPTIONS");
    free(old_asan);
    free(asan);
    if (rc == 0) return 0;
    CHECK(!"cos-server restarts");
    return -1;
}

static void flag_set(const char *flag, bool on)
{
    if (on) {
        int fd = open(flag, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        CHECK(fd >= 0);
        if (fd >= 0) close(fd);
    } else {
        unlink(flag);
    }
}

static void test_failed_sync_stops_serving(void)
{
    const char *lib = getenv("COS_SYNC_FAULT_LIB");
    if (!lib) {
        printf("  (COS_SYNC_FAULT_LIB not set: skipped)\n");
        return;
    }
    char *dir = test_tmpdir("synclost");
    char *flag = cos_sprintf("%s.flag", dir);
    test_rmtree(dir);
    free(dir);
    /* the server inherits these; this process never reads them again */
    const char *was = getenv("ASAN_OPTIONS");
    char *old_asan = was ? cos_strdup(was) : NULL;
    char *asan = cos_sprintf("%s%sverify_asan_link_order=0", was ? was : "", was ? ":" : "");
    setenv("LD_PRELOAD", lib, 1);
    setenv("COS_TEST_SYNC_FAIL_FLAG", flag, 1);
    setenv("ASAN_OPTIONS", asan, 1);
    int started = test_server_start(&g_srv, NULL);
    unsetenv("LD_PRELOAD");
    if (old_asan) setenv("ASAN_OPTIONS", old_asan, 1);
    else unsetenv("ASAN_OPTIONS");
    free(old_asan);
    free(asan);
    if (started != 0) {
        CHECK(!"cos-server starts");
        free(flag);
        return;
    }
    test_watch(120, "a server whose log cannot be synced", &g_srv);
    CHECK_INT(signed_call("PUT", "/" BUCKET "/", NULL, NULL), 200);
    CHECK_INT(signed_call("PUT", "/" BUCKET "/before", "durable", NULL), 200);
    char *bigold = make_body('a', BIG_BODY), *big = make_body('b', BIG_BODY), *big2 = make_body('c', BIG_BODY);
    CHECK_INT(signed_call("PUT", "/" BUCKET "/before-big", bigold, NULL), 200);

    flag_set(flag, true); /* the disk fails */
    char *body = NULL;
    CHECK_INT(signed_call("PUT", "/" BUCKET "/during", "not durable", &body), 500);
    CHECK(body && strstr(body, "fsync"));
    free(body);
    /* the failed write was committed: it must not be served as if it were there */
    body = NULL;
    int st = signed_call("GET", "/" BUCKET "/during", NULL, &body);
    if (st != 503) test_fail(__FILE__, __LINE__, "GET of the unacknowledged write: %d %.200s", st, body ? body : "");
    CHECK(body && strstr(body, "ServiceUnavailable") && strstr(body, "restart"));
    free(body);

    flag_set(flag, false); /* the disk works again: the dropped pages stay lost */
    CHECK_INT(signed_call("PUT", "/" BUCKET "/after", "later", NULL), 503);
    CHECK_INT(signed_call("GET", "/" BUCKET "/after", NULL, NULL), 503);
    CHECK_INT(signed_call("GET", "/" BUCKET "/before", NULL, NULL), 503);
    CHECK_INT(signed_call("GET", "/" BUCKET "/", NULL, NULL), 503);

    /* a restart recovers the last durable state, and serves it */
    if (restart(lib) == 0) { /* (the preload again, for the checks below; its flag is off) */
        body = NULL;
        CHECK_INT(signed_call("GET", "/" BUCKET "/before", NULL, &body), 200);
        CHECK(body && !strcmp(body, "durable"));
        free(body);
        CHECK_INT(signed_call("GET", "/" BUCKET "/after", NULL, NULL), 404); /* never committed */
        CHECK_INT(signed_call("PUT", "/" BUCKET "/again", "works", NULL), 200);

        /* A body kept in a file (past the inline size) whose commit's fsync
           fails, over an older body and as a new key. Answered 500, so either
           outcome is right after a restart, but whole: the old body or the new
           one, never a row whose file is gone (before: the failed commit's file
           was unlinked while its row stayed in the log, unsynced but there, and
           the restart served that row with no body). */
        flag_set(flag, true);
        CHECK_INT(signed_call("PUT", "/" BUCKET "/before-big", big2, NULL), 500);
        flag_set(flag, false);
        if (restart(lib) == 0) {
            check_whole("/" BUCKET "/before-big", bigold, big2);
            flag_set(flag, true);
            CHECK_INT(signed_call("PUT", "/" BUCKET "/during-big", big, NULL), 500);
            flag_set(flag, false);
            if (restart(lib) == 0) {
                check_whole("/" BUCKET "/during-big", NULL, big);
                check_whole("/" BUCKET "/before-big", bigold, big2);
            }
        }
    }
    test_unwatch();
    test_server_stop(&g_srv, false);
    free(flag);
    free(big);
    free(big2);
    free(bigold);
}

int main(void)
{
    RUN(test_failed_sync_stops_serving);
    return test_report();
}

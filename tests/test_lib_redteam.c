/*
 * test_lib_redteam.c — the second round's attacks on the ninth session's
 * libcos code (deferred cos_client_free, task waits from callbacks, the
 * sweep of killed downloads' temporaries), each a promise of a public
 * header that a program could break.
 */
#define _GNU_SOURCE
#include "testlib.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BUCKET "redteam-1250000000"

static test_server g_srv;
static char *g_dir;

/* ------------------------------------------------------------------ cos_client_free from a synchronous call's callbacks */

/* client.h: "Called from inside one of the client's own callbacks, it
 * returns at once and the client is freed by a thread of its own once that
 * callback returned." A plain synchronous call's progress and sink
 * callbacks, and its credential callback, run on the caller's thread, which
 * is neither a worker nor a task's: the client was freed at once, under the
 * call still running (ASan: heap use after free). */
typedef struct sync_free {
    cos_client *c;
    atomic_bool freed;
} sync_free;

static void free_in_progress(void *ud, const cos_progress *p)
{
    sync_free *b = ud;
    if (p->loaded == 0 || atomic_exchange(&b->freed, true)) return;
    cos_client_free(b->c);
}

static int free_in_sink(void *ud, const void *buf, size_t len)
{
    (void)buf;
    (void)len;
    sync_free *b = ud;
    if (!atomic_exchange(&b->freed, true)) cos_client_free(b->c);
    return 0;
}

static int free_in_cred(void *ud, const cos_auth_request *req, cos_credentials_sink *sink, cos_error **err)
{
    (void)req;
    (void)err;
    sync_free *b = ud;
    if (!atomic_exchange(&b->freed, true)) cos_client_free(b->c);
    return cos_credentials_set(sink, TEST_SECRET_ID, TEST_SECRET_KEY, NULL, 0, time(NULL) + 3600);
}

static void test_free_from_sync_callbacks(void)
{
    size_t big = 2u << 20;
    char *blob = malloc(big);
    test_lcg_fill((unsigned char *)blob, big, 7);
    {
        cos_client *c = test_client(&g_srv);
        cos_request r = COS_REQUEST_INIT;
        r.bucket = BUCKET;
        r.key = "free/blob";
        r.body.data = blob;
        r.body.size = big;
        cos_error *err = NULL;
        CHECK_INT(cos_put_object(c, &r, NULL, &err), 0);
        cos_error_free(err);
        cos_client_free(c);
    }
    test_watch(60, "cos_client_free from a synchronous call's callbacks", &g_srv);
    for (int how = 0; how < 4; how++) {
        cos_config cfg;
        test_config(&cfg, &g_srv);
        cfg.progress_interval_ms = 1;
        sync_free b = { NULL, false };
        if (how == 3) {
            cfg.secret_id = cfg.secret_key = NULL;
            cfg.get_authorization = free_in_cred;
            cfg.credentials_user_data = &b;
        }
        cos_client *c = test_client_of(&cfg);
        if (!c) break;
        b.c = c;
        cos_request r = COS_REQUEST_INIT;
        r.bucket = BUCKET;
        r.key = "free/blob";
        cos_error *err = NULL;
        int rc;
        if (how == 0) { /* a download's progress */
            r.on_progress = free_in_progress;
            r.progress_user_data = &b;
            rc = cos_get_object(c, &r, NULL, &err);
        } else if (how == 1) { /* an upload's progress */
            r.body.data = blob;
            r.body.size = big;
            r.on_progress = free_in_progress;
            r.progress_user_data = &b;
            rc = cos_put_object(c, &r, NULL, &err);
        } else if (how == 2) { /* a sink */
            r.sink.write = free_in_sink;
            r.sink.write_user_data = &b;
            rc = cos_get_object(c, &r, NULL, &err);
        } else { /* the credential callback */
            rc = cos_head_object(c, &r, NULL, &err);
        }
        CHECK(atomic_load(&b.freed));
        /* the call ends (done or canceled) without touching freed memory */
        CHECK(rc == 0 || rc == COS_ERR_CANCELED || rc == COS_ERR_AUTH);
        cos_error_free(err);
    }
    test_unwatch();
    free(blob);
}

/* ------------------------------------------------------------------ a task waited for from another's callback */

/* transfer.h: cos_task_wait is INVALID_ARG only for the task's own
 * callbacks; waiting for another task from a progress callback is allowed.
 * With FileParallelLimit = 1 the waiting task held the only slot: the task
 * waited for was taken by a runner that then waited for that slot for ever
 * (async and synchronous waiters alike). */
typedef struct wait_other {
    cos_client *c;
    const cos_transfer_params *b;
    bool files;
    atomic_ullong other;
    atomic_int waited;
    int rc;
} wait_other;

static void wait_other_progress(void *ud, const cos_progress *p)
{
    (void)p;
    wait_other *w = ud;
    if (atomic_exchange(&w->waited, 1)) return;
    if (w->files) { /* uploadFiles waits for its files the same way */
        cos_upload_files_params up = COS_UPLOAD_FILES_PARAMS_INIT;
        up.files = w->b;
        up.file_count = 1;
        cos_error *err = NULL;
        w->rc = cos_upload_files(w->c, &up, &err);
        if (w->rc) test_fail(__FILE__, __LINE__, "cos_upload_files: %s", cos_error_message(err));
        cos_error_free(err);
        return;
    }
    cos_task_id other = 0; /* started here, so it is queued behind this one's slot */
    if (cos_upload_file_async(w->c, w->b, NULL, NULL, &other) != 0) {
        test_fail(__FILE__, __LINE__, "cos_upload_file_async: %s", cos_error_message(cos_async_error()));
        return;
    }
    atomic_store(&w->other, other);
    cos_error *err = NULL;
    w->rc = cos_task_wait(w->c, other, NULL, &err);
    if (w->rc) test_fail(__FILE__, __LINE__, "cos_task_wait: %s", cos_error_message(err));
    cos_error_free(err);
}

static void test_wait_other_task_one_slot(void)
{
    char src[512];
    snprintf(src, sizeof src, "%s/one_slot.bin", g_dir);
    CHECK_INT(test_write_lcg_file(src, 3u << 20, 3), 0);
    test_watch(60, "a task waited for from another's progress callback, FileParallelLimit = 1", &g_srv);
    for (int mode = 0; mode < 4; mode++) {
        int sync = mode & 1;
        cos_config cfg;
        test_config(&cfg, &g_srv);
        cfg.file_parallel_limit = 1;
        cfg.progress_interval_ms = 1;
        cos_client *c = test_client_of(&cfg);
        if (!c) break;
        cos_transfer_params b = COS_TRANSFER_PARAMS_INIT;
        b.bucket = BUCKET;
        b.key = "slot/b.bin";
        b.file_path = src;
        wait_other w = { c, &b, mode >= 2, 0, 0, -99 };
        cos_transfer_params a = b;
        a.key = "slot/a.bin";
        a.on_progress = wait_other_progress;
        a.progress_user_data = &w;
        cos_error *err = NULL;
        if (!sync) {
            cos_task_id ida = 0;
            CHECK_INT(cos_upload_file_async(c, &a, NULL, NULL, &ida), 0);
            CHECK_INT(cos_task_wait(c, ida, NULL, &err), 0);
        } else {
            CHECK_INT(cos_upload_file(c, &a, NULL, &err), 0);
        }
        cos_error_free(err);
        err = NULL;
        if (mode < 2) CHECK_INT(cos_task_wait(c, (cos_task_id)atomic_load(&w.other), NULL, &err), 0);
        cos_error_free(err);
        CHECK_INT(atomic_load(&w.waited), 1);
        CHECK_INT(w.rc, 0);
        cos_client_free(c);
    }
    test_unwatch();
}

/* ------------------------------------------------------------------ cos_client_free from the task-list callback */

/* The task-list callback is one of the client's own callbacks: it runs on
 * the thread that adds the task, a synchronous transfer's caller's, which
 * then drives that task. Freed there at once, the task (and its manager)
 * were freed under the transfer about to run it. */
static void free_in_list_cb(void *ud)
{
    sync_free *b = ud;
    if (!atomic_exchange(&b->freed, true)) cos_client_free(b->c);
}

static void test_free_from_task_list_callback(void)
{
    char src[512];
    snprintf(src, sizeof src, "%s/listcb.bin", g_dir);
    CHECK_INT(test_write_lcg_file(src, 64u << 10, 5), 0);
    test_watch(60, "cos_client_free from the task-list callback", &g_srv);
    /* static: the runners of a client whose free was deferred still call it */
    static sync_free boxes[3];
    for (int sync = 0; sync < 3; sync++) {
        cos_client *c = test_client(&g_srv);
        sync_free *bp = &boxes[sync];
        bp->c = c;
        atomic_store(&bp->freed, false);
        cos_set_task_list_callback(c, free_in_list_cb, bp);
        cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
        p.bucket = BUCKET;
        p.key = "listcb/a.bin";
        p.file_path = src;
        if (sync == 2) { /* uploadFiles: the next files are added after the callback freed the client */
            cos_transfer_params files[3] = { p, p, p };
            files[1].key = "listcb/b.bin";
            files[2].key = "listcb/c.bin";
            cos_upload_files_params up = COS_UPLOAD_FILES_PARAMS_INIT;
            up.files = files;
            up.file_count = 3;
            cos_error *err = NULL;
            int rc = cos_upload_files(c, &up, &err);
            CHECK(rc == 0 || rc == COS_ERR_CANCELED);
            cos_error_free(err);
        } else if (sync) {
            cos_error *err = NULL;
            int rc = cos_upload_file(c, &p, NULL, &err);
            CHECK(rc == 0 || rc == COS_ERR_CANCELED);
            cos_error_free(err);
        } else {
            CHECK_INT(cos_upload_file_async(c, &p, NULL, NULL, NULL), 0);
        }
        CHECK(atomic_load(&bp->freed));
    }
    test_unwatch();
}

/* ------------------------------------------------------------------ submissions racing the network threads' passes */

/* The lanes are woken by an eventfd only when they wait in poll, and wake
 * their workers once per pass: submitters on many threads, on several
 * clients at once, each call's completion submitting the next one (from a
 * worker, while the lane is mid-pass), must all complete; a lost wake-up
 * hangs (the watchdog fails it). */
typedef struct chain {
    cos_client *c;
    atomic_int left;
    atomic_int failed;
    test_latch l;
} chain;

static void chain_done(void *ud, int rc, cos_result *res, cos_error *err)
{
    chain *ch = ud;
    if (rc) atomic_fetch_add(&ch->failed, 1);
    cos_result_free(res);
    cos_error_free(err);
    if (atomic_fetch_sub(&ch->left, 1) > 1) {
        cos_request r = COS_REQUEST_INIT;
        r.bucket = BUCKET;
        r.key = "flood/x";
        if (cos_head_object_async(ch->c, &r, chain_done, ch) == 0) return;
        atomic_fetch_add(&ch->failed, 1);
    }
    test_latch_add(&ch->l);
}

typedef struct flood_arg {
    cos_client *c;
    int n;
    atomic_int *failed;
    test_latch *l;
} flood_arg;

static void flood_done(void *ud, int rc, cos_result *res, cos_error *err)
{
    flood_arg *a = ud;
    if (rc) atomic_fetch_add(a->failed, 1);
    cos_result_free(res);
    cos_error_free(err);
    test_latch_add(a->l);
}

static void *flood_thread(void *arg)
{
    flood_arg *a = arg;
    for (int i = 0; i < a->n; i++) {
        cos_request r = COS_REQUEST_INIT;
        r.bucket = BUCKET;
        r.key = "flood/x";
        if (cos_head_object_async(a->c, &r, flood_done, a) != 0) {
            atomic_fetch_add(a->failed, 1);
            test_latch_add(a->l);
        }
        if (i % 7 == 0) sched_yield();
    }
    return NULL;
}

static void test_submissions_race_passes(void)
{
    test_put_object_on(&g_srv, BUCKET, "flood/x", "x");
    test_watch(120, "async submissions racing the network threads' passes", &g_srv);
    enum { CLIENTS = 3, THREADS = 4, PER = 60, CHAINS = 4, LINKS = 40 };
    cos_client *cs[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        cos_config cfg;
        test_config(&cfg, &g_srv);
        cfg.network_threads = 1 + i % 2;
        cfg.worker_threads = 1 + i;
        cs[i] = test_client_of(&cfg);
        if (!cs[i]) return;
    }
    atomic_int failed = 0;
    test_latch l = TEST_LATCH_INIT;
    flood_arg args[CLIENTS * THREADS];
    pthread_t th[CLIENTS * THREADS];
    chain chains[CLIENTS * CHAINS];
    for (int i = 0; i < CLIENTS * CHAINS; i++) {
        chain *ch = &chains[i];
        ch->c = cs[i % CLIENTS];
        atomic_init(&ch->left, LINKS);
        atomic_init(&ch->failed, 0);
        ch->l = (test_latch)TEST_LATCH_INIT;
        cos_request r = COS_REQUEST_INIT;
        r.bucket = BUCKET;
        r.key = "flood/x";
        CHECK_INT(cos_head_object_async(ch->c, &r, chain_done, ch), 0);
    }
    for (int i = 0; i < CLIENTS * THREADS; i++) {
        args[i] = (flood_arg){ cs[i % CLIENTS], PER, &failed, &l };
        pthread_create(&th[i], NULL, flood_thread, &args[i]);
    }
    for (int i = 0; i < CLIENTS * THREADS; i++) pthread_join(th[i], NULL);
    test_latch_wait(&l, CLIENTS * THREADS * PER);
    for (int i = 0; i < CLIENTS * CHAINS; i++) {
        test_latch_wait(&chains[i].l, 1);
        CHECK_INT(atomic_load(&chains[i].failed), 0);
    }
    CHECK_INT(atomic_load(&failed), 0);
    for (int i = 0; i < CLIENTS; i++) cos_client_free(cs[i]);
    test_unwatch();
}

/* ------------------------------------------------------------------ curl's timers with no socket activity */

/* A server that reads the request and never answers, and one that closes
 * each kept-alive connection right after its answer. Driven by their
 * sockets, the lanes and the synchronous exchanges run curl's timers only
 * when poll says they are due: the request's timeout must still fire
 * (COS_ERR_TIMEOUT) with nothing on the socket, and a connection the server
 * closed must not be reused into a failure. */
static atomic_int g_silent_conns;

static void *silent_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char head[8192];
    size_t got = 0;
    if (test_recv_head(fd, head, sizeof head, &got)) {
        atomic_fetch_add(&g_silent_conns, 1);
        char b[256];
        while (read(fd, b, sizeof b) > 0) { /* until the client gives up */
        }
    }
    close(fd);
    return NULL;
}

static void *closing_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char head[8192];
    size_t got = 0;
    if (test_recv_head(fd, head, sizeof head, &got)) {
        const char *a = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nETag: \"x\"\r\nx-cos-request-id: fake\r\n\r\nok";
        test_send_all(fd, a, strlen(a));
    }
    close(fd); /* kept alive as far as the client knows */
    return NULL;
}

typedef struct head_wait {
    int rc;
    test_latch l;
} head_wait;

static void head_done(void *ud, int rc, cos_result *res, cos_error *err)
{
    head_wait *w = ud;
    cos_result_free(res);
    cos_error_free(err);
    w->rc = rc;
    test_latch_add(&w->l);
}

/* HEAD r asynchronously and wait for the answer: its rc (a test failure, -99, if the call is refused). */
static int head_async(cos_client *c, const cos_request *r)
{
    head_wait w = { -99, TEST_LATCH_INIT };
    if (cos_head_object_async(c, r, head_done, &w) != 0) {
        test_fail(__FILE__, __LINE__, "cos_head_object_async refused %s", r->key);
        return -99;
    }
    test_latch_wait(&w.l, 1);
    return w.rc;
}

/* Put the one-byte object key; the request, body-less, to HEAD it. */
static cos_request put_one_byte(cos_client *c, const char *key)
{
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = key;
    r.body.data = "x";
    r.body.size = 1;
    cos_error *err = NULL;
    CHECK_INT(cos_put_object(c, &r, NULL, &err), 0);
    cos_error_free(err);
    r.body.data = NULL;
    r.body.size = 0;
    return r;
}

static void test_timers_without_sockets(void)
{
    int sport = 0, cport = 0;
    int sfd = test_listen_loopback(&sport), cfd = test_listen_loopback(&cport);
    if (sfd < 0 || cfd < 0) {
        test_fail(__FILE__, __LINE__, "no listener");
        return;
    }
    test_serve_forever(sfd, silent_conn);
    test_serve_forever(cfd, closing_conn);
    test_watch(60, "timeouts with no socket activity, closed kept-alive connections", &g_srv);
    for (int which = 0; which < 2; which++) {
        test_server fake = g_srv;
        fake.port = which ? cport : sport;
        snprintf(fake.endpoint, sizeof fake.endpoint, "127.0.0.1:%d", fake.port);
        cos_config cfg;
        test_config(&cfg, &fake);
        /* 300 ms against the silent server (it must time out: any bound does, a short one
           keeps the test short); a bound only for a hang against the answering one, which
           must succeed: 300 ms there failed a loaded machine's run, not the library */
        cfg.timeout_ms = which ? 120000 : 300;
        cfg.max_retries = -1;
        cos_client *c = test_client_of(&cfg);
        if (!c) break;
        for (int round = 0; round < 3; round++) {
            cos_request r = COS_REQUEST_INIT;
            r.bucket = BUCKET;
            r.key = "timer/x";
            cos_error *err = NULL;
            int rc = cos_head_object(c, &r, NULL, &err);
            if (which) CHECK_INT(rc, 0);
            else CHECK_INT(rc, COS_ERR_TIMEOUT);
            cos_error_free(err);
            rc = head_async(c, &r);
            if (which) CHECK_INT(rc, 0);
            else CHECK_INT(rc, COS_ERR_TIMEOUT);
        }
        cos_client_free(c);
    }
    CHECK(atomic_load(&g_silent_conns) >= 6);
    test_unwatch();
}

/* ------------------------------------------------------------------ descriptors above FD_SETSIZE */

/* Driven by poll, not select: sockets numbered above 1024 (a process with
 * many files open) must work on the lanes and in synchronous calls. */
static void test_descriptors_above_1024(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_max < 1200) {
        printf("  (skipped: RLIMIT_NOFILE below 1200)\n");
        return;
    }
    struct rlimit want = { rl.rlim_max < 2048 ? rl.rlim_max : 2048, rl.rlim_max };
    if (setrlimit(RLIMIT_NOFILE, &want) != 0) return;
    int fds[1100], n = 0;
    for (; n < 1100; n++)
        if ((fds[n] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) break;
    test_watch(60, "descriptors above 1024", &g_srv);
    cos_client *c = test_client(&g_srv); /* its eventfds and sockets above 1024 */
    cos_request r = put_one_byte(c, "flood/x");
    cos_error *err = NULL;
    CHECK_INT(cos_head_object(c, &r, NULL, &err), 0);
    cos_error_free(err);
    for (int i = 0; i < 8; i++) CHECK_INT(head_async(c, &r), 0);
    cos_client_free(c);
    test_unwatch();
    while (n > 0) close(fds[--n]);
    setrlimit(RLIMIT_NOFILE, &rl);
}

/* ------------------------------------------------------------------ fork */

/* A process that forks while its client's lanes wait in poll on their
 * eventfds: the child makes a client of its own and uses it (sync and
 * async), and the parent's client goes on working after the child's exit. */
static void test_fork_child_client(void)
{
    const char *pre = getenv("LD_PRELOAD");
    if (pre && strstr(pre, "valgrind")) { /* the child would report the parent's client (its threads gone) as lost */
        printf("  (skipped under valgrind)\n");
        return;
    }
    test_watch(60, "a client in a forked child", &g_srv);
    cos_client *c = test_client(&g_srv);
    cos_request r = put_one_byte(c, "fork/x");
    cos_error *err = NULL;
    head_async(c, &r); /* the lanes are started */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        alarm(30 * test_slow_factor());
        cos_client *k = test_client(&g_srv);
        cos_error *e = NULL;
        int rc = k ? cos_head_object(k, &r, NULL, &e) : -1;
        cos_error_free(e);
        head_wait w = { -99, TEST_LATCH_INIT };
        if (rc == 0 && cos_head_object_async(k, &r, head_done, &w) == 0) {
            test_latch_wait(&w.l, 1);
            rc = w.rc;
        }
        cos_client_free(k);
        _exit(rc == 0 ? 0 : 3);
    }
    CHECK(pid > 0);
    int st = 0;
    if (pid > 0) waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK_INT(cos_head_object(c, &r, NULL, &err), 0);
    cos_error_free(err);
    CHECK_INT(head_async(c, &r), 0);
    cos_client_free(c);
    test_unwatch();
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    g_dir = test_tmpdir("redteam");
    const char *args[] = { NULL };
    if (test_server_start(&g_srv, args) != 0) {
        printf("cannot start cos-server\n0 passed, 1 failed\n");
        return 1;
    }
    test_put_bucket_on(&g_srv, BUCKET);
    RUN(test_free_from_sync_callbacks);
    RUN(test_wait_other_task_one_slot);
    RUN(test_free_from_task_list_callback);
    RUN(test_submissions_race_passes);
    RUN(test_timers_without_sockets);
    RUN(test_descriptors_above_1024);
    RUN(test_fork_child_client);
    test_server_stop(&g_srv, false);
    test_rmtree(g_dir);
    free(g_dir);
    curl_global_cleanup();
    return test_report();
}

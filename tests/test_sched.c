/* test_sched.c — the promises of libcos's scheduler, against cos-server:
 * completion callbacks that call synchronous functions (multipart uploads,
 * futures with one worker thread, cos_client_free) never hang; uploadFiles
 * reports the right index and its all-files progress; pause and restart
 * (of paused and failed tasks) move states at once; 10,000 queued tasks hold
 * a bounded number of threads; abortUploadTask, isUploadRunning and
 * onTaskStart. A hang fails by a watchdog (alarm + abort), never by CI's
 * timeout. */
#define _GNU_SOURCE
#include "testlib.h"
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

static test_server g_srv;
static char *g_dir;
#define BUCKET "sched-" TEST_APPID
#define MIB (1024u * 1024u)

static void path(char *out, const char *name) { snprintf(out, 512, "%s/%s", g_dir, name); }

static cos_client *new_client(int workers, int file_parallel)
{
    cos_config cfg;
    test_config(&cfg, &g_srv);
    cfg.worker_threads = workers;
    cfg.file_parallel_limit = file_parallel;
    static char cp[512];
    snprintf(cp, sizeof cp, "%s/cp", g_dir);
    cfg.checkpoint_dir = cp;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    return c;
}

/* ------------------------------------------------------------------ 1. deadlock */

typedef struct sync_in_cb {
    cos_client *c;
    const char *file;
    const char *key;
    int rc;
    test_latch *done;
} sync_in_cb;

static void upload_in_callback(void *ud, int rc, cos_result *res, cos_error *err)
{
    sync_in_cb *s = ud;
    cos_result_free(res);
    cos_error_free(err);
    (void)rc;
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = BUCKET;
    p.key = s->key;
    p.file_path = s->file;
    p.no_resume = true;
    cos_error *e = NULL;
    s->rc = cos_upload_file(s->c, &p, NULL, &e); /* multipart: 3 MiB in 1 MiB parts */
    if (s->rc) fprintf(stderr, "upload in callback: %s\n", cos_error_message(e));
    cos_error_free(e);
    test_latch_add(s->done);
}

static void test_sync_multipart_in_callbacks(void)
{
    /* two callbacks (as many as the default worker threads) each run a
       synchronous multipart upload */
    cos_client *c = new_client(0, 0);
    char src[512];
    path(src, "three.bin");
    test_write_lcg_file(src, 3 * MIB + 17, 5);
    test_latch done = TEST_LATCH_INIT;
    sync_in_cb s[2] = { { c, src, "cb/one.bin", -1, &done }, { c, src, "cb/two.bin", -1, &done } };
    test_watch(120, "two callbacks running a synchronous multipart cos_upload_file", &g_srv);
    for (int i = 0; i < 2; i++) {
        cos_request r = COS_REQUEST_INIT;
        r.bucket = BUCKET;
        CHECK_INT(cos_head_bucket_async(c, &r, upload_in_callback, &s[i]), 0);
    }
    test_latch_wait(&done, 2);
    CHECK_INT(s[0].rc, 0);
    CHECK_INT(s[1].rc, 0);
    cos_client_free(c);
    test_unwatch();
}

typedef struct future_in_cb {
    cos_client *c;
    int rc;
    test_latch *done;
} future_in_cb;

static void wait_future_in_callback(void *ud, int rc, cos_result *res, cos_error *err)
{
    future_in_cb *s = ud;
    cos_result_free(res);
    cos_error_free(err);
    (void)rc;
    cos_future *f = cos_future_new();
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    s->rc = cos_head_bucket_async(s->c, &r, cos_future_done, f);
    if (s->rc == 0) s->rc = cos_future_wait(f, NULL, NULL);
    cos_future_free(f);
    test_latch_add(s->done);
}

static void test_future_in_callback_one_worker(void)
{
    cos_client *c = new_client(1, 0);
    test_latch done = TEST_LATCH_INIT;
    future_in_cb s = { c, -1, &done };
    test_watch(60, "a callback waiting on a future with worker_threads = 1", &g_srv);
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    CHECK_INT(cos_head_bucket_async(c, &r, wait_future_in_callback, &s), 0);
    test_latch_wait(&done, 1);
    CHECK_INT(s.rc, 0);
    cos_client_free(c);
    test_unwatch();
}

/* Completions that come in one pass of a network thread are queued at once
 * and their workers woken at the pass's end (engine.c, workers_flush): every
 * idle worker must still get one, so four callbacks that wait for each other
 * on a barrier, with worker_threads = 4, all run (one woken for the whole
 * pass would hang here). Eight calls: two rounds of the barrier. */
typedef struct barrier_cb {
    pthread_barrier_t barrier;
    test_latch done;
    atomic_int failed;
} barrier_cb;

static void meet_in_callback(void *ud, int rc, cos_result *res, cos_error *err)
{
    barrier_cb *b = ud;
    if (rc) atomic_fetch_add(&b->failed, 1);
    cos_result_free(res);
    cos_error_free(err);
    pthread_barrier_wait(&b->barrier);
    test_latch_add(&b->done);
}

static void test_callbacks_meeting_get_a_worker_each(void)
{
    cos_client *c = new_client(4, 0);
    barrier_cb b = { .done = TEST_LATCH_INIT };
    atomic_init(&b.failed, 0);
    pthread_barrier_init(&b.barrier, NULL, 4);
    test_watch(60, "four completion callbacks waiting for each other, worker_threads = 4", &g_srv);
    for (int i = 0; i < 8; i++) {
        cos_request r = COS_REQUEST_INIT;
        r.bucket = BUCKET;
        CHECK_INT(cos_head_bucket_async(c, &r, meet_in_callback, &b), 0);
    }
    test_latch_wait(&b.done, 8);
    CHECK_INT(atomic_load(&b.failed), 0);
    cos_client_free(c);
    test_unwatch();
    pthread_barrier_destroy(&b.barrier);
}

static void free_in_callback(void *ud, int rc, cos_result *res, cos_error *err)
{
    cos_result_free(res);
    cos_error_free(err);
    (void)rc;
    void **args = ud;
    cos_client_free(args[0]);
    test_latch_add(args[1]);
}

static void free_in_transfer_callback(void *ud, cos_task_id id, int rc, cos_transfer_result *res, cos_error *err)
{
    (void)id;
    (void)rc;
    cos_transfer_result_free(res);
    cos_error_free(err);
    void **args = ud;
    cos_client_free(args[0]);
    test_latch_add(args[1]);
}

static void test_client_free_in_callback(void)
{
    int base = test_thread_count();
    test_watch(60, "cos_client_free inside a completion callback", &g_srv);
    /* an operation's callback */
    cos_client *c = new_client(0, 0);
    test_latch done = TEST_LATCH_INIT;
    void *args[2] = { c, &done };
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    CHECK_INT(cos_head_bucket_async(c, &r, free_in_callback, args), 0);
    test_latch_wait(&done, 1);
    /* a transfer's callback */
    char src[512];
    path(src, "two.bin");
    test_write_lcg_file(src, 2 * MIB + 1, 6);
    cos_client *c2 = new_client(0, 0);
    test_latch done2 = TEST_LATCH_INIT;
    void *args2[2] = { c2, &done2 };
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = BUCKET;
    p.key = "cb/free.bin";
    p.file_path = src;
    CHECK_INT(cos_upload_file_async(c2, &p, free_in_transfer_callback, args2, NULL), 0);
    test_latch_wait(&done2, 1);
    /* both clients go away once their callbacks returned: every thread ends */
    while (test_thread_count() > base) usleep(10000);
    test_unwatch();
}

/* ------------------------------------------------------------------ 4. uploadFiles */

typedef struct files_seen {
    pthread_mutex_t m;
    int calls[4];
    int rc[4];
    int progress_calls;
    uint64_t last_loaded, last_total;
} files_seen;

static void on_file(void *ud, size_t index, int rc, const cos_transfer_result *res, const cos_error *err)
{
    (void)res;
    (void)err;
    files_seen *f = ud;
    pthread_mutex_lock(&f->m);
    if (index < 4) {
        f->calls[index]++;
        f->rc[index] = rc;
    }
    pthread_mutex_unlock(&f->m);
}

static void on_all_progress(void *ud, const cos_progress *p)
{
    files_seen *f = ud;
    pthread_mutex_lock(&f->m);
    f->progress_calls++;
    f->last_loaded = p->loaded;
    f->last_total = p->total;
    pthread_mutex_unlock(&f->m);
}

static void test_upload_files_index_and_progress(void)
{
    cos_client *c = new_client(0, 3);
    char a[512], b[512], missing[512];
    path(a, "fa.bin");
    path(b, "fb.bin");
    path(missing, "no-such-file.bin");
    test_write_lcg_file(a, 2 * MIB + 5, 7);
    test_write_lcg_file(b, 1000, 8);
    cos_transfer_params files[4];
    const char *paths[4] = { a, missing, b, missing };
    const char *keys[4] = { "files/a", "files/missing1", "files/b", "files/missing2" };
    for (int i = 0; i < 4; i++) {
        cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
        p.bucket = BUCKET;
        p.key = keys[i];
        p.file_path = paths[i];
        files[i] = p;
    }
    files_seen seen = { PTHREAD_MUTEX_INITIALIZER, { 0 }, { 0 }, 0, 0, 0 };
    cos_upload_files_params up = COS_UPLOAD_FILES_PARAMS_INIT;
    up.files = files;
    up.file_count = 4;
    up.on_file_done = on_file;
    up.file_done_user_data = &seen;
    up.on_progress = on_all_progress;
    up.progress_user_data = &seen;
    cos_error *err = NULL;
    test_watch(120, "uploadFiles", &g_srv);
    int rc = cos_upload_files(c, &up, &err);
    test_unwatch();
    CHECK(rc != 0); /* two files are missing */
    cos_error_free(err);
    for (int i = 0; i < 4; i++) CHECK_INT(seen.calls[i], 1);
    CHECK_INT(seen.rc[0], 0);
    CHECK(seen.rc[1] != 0);
    CHECK_INT(seen.rc[2], 0);
    CHECK(seen.rc[3] != 0);
    CHECK(seen.progress_calls > 0);
    CHECK(seen.last_loaded == 2 * MIB + 5 + 1000);
    cos_client_free(c);
}

/* ------------------------------------------------------------------ 5. restart a failed task, pause at once */

static cos_task_state state_of(cos_client *c, cos_task_id id)
{
    cos_task_info *l = NULL;
    size_t n = 0;
    cos_task_state s = (cos_task_state)-1;
    if (cos_task_list(c, &l, &n) != 0) return s;
    for (size_t i = 0; i < n; i++)
        if (l[i].id == id) s = l[i].state;
    cos_task_list_free(l, n);
    return s;
}

static void test_restart_failed_task(void)
{
    cos_client *c = new_client(0, 0);
    char src[512];
    path(src, "late.bin");
    test_write_lcg_file(src, 3000, 9);
    const char *late = "sched-late-" TEST_APPID;
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = late; /* does not exist yet: the task fails */
    p.key = "late.bin";
    p.file_path = src;
    cos_task_id id = 0;
    test_watch(60, "restarting a failed task", &g_srv);
    CHECK_INT(cos_upload_file_async(c, &p, NULL, NULL, &id), 0);
    cos_error *err = NULL;
    CHECK(cos_task_wait(c, id, NULL, &err) != 0);
    cos_error_free(err);
    err = NULL;
    CHECK_INT(state_of(c, id), COS_TASK_ERROR);
    test_put_bucket(c, late);
    CHECK_OK(cos_task_restart(c, id, &err), err); /* transfer.h: a paused or failed task */
    cos_transfer_result *res = NULL;
    CHECK_OK(cos_task_wait(c, id, &res, &err), err);
    CHECK(res != NULL);
    cos_transfer_result_free(res);
    CHECK_INT(state_of(c, id), COS_TASK_SUCCESS);
    test_unwatch();
    cos_client_free(c);
}

static void test_pause_states(void)
{
    /* one file at a time: A runs (its part 2 stalls on the server for 60 s),
       B waits behind it */
    cos_client *c = new_client(0, 1);
    test_set_faults(c, &g_srv, "[{\"method\":\"PUT\",\"match\":\"partNumber=2\",\"action\":\"stall\",\"ms\":60000,\"times\":1}]");
    char a[512], b[512];
    path(a, "pa.bin");
    path(b, "pb.bin");
    test_write_lcg_file(a, 4 * MIB, 10);
    test_write_lcg_file(b, 1000, 11);
    cos_transfer_params pa = COS_TRANSFER_PARAMS_INIT;
    pa.bucket = BUCKET;
    pa.key = "pause/a";
    pa.file_path = a;
    pa.no_resume = true;
    pa.parallel = 1;
    cos_transfer_params pb = pa;
    pb.key = "pause/b";
    pb.file_path = b;
    cos_task_id ia = 0, ib = 0;
    test_watch(45, "pausing a waiting task and a running one whose part stalls", &g_srv);
    CHECK_INT(cos_upload_file_async(c, &pa, NULL, NULL, &ia), 0);
    CHECK_INT(cos_upload_file_async(c, &pb, NULL, NULL, &ib), 0);
    while (state_of(c, ia) != COS_TASK_RUNNING) usleep(5000);
    CHECK_INT(state_of(c, ib), COS_TASK_WAITING);
    cos_error *err = NULL;
    CHECK_OK(cos_task_pause(c, ib, &err), err);
    CHECK_INT(state_of(c, ib), COS_TASK_PAUSED); /* waiting: paused at once */
    /* let A reach its stalled part, then pause it: its request is aborted,
       so it is paused long before the server's stall ends */
    cos_task_info *l = NULL;
    size_t n = 0;
    for (;;) {
        uint64_t loaded = 0;
        cos_task_list(c, &l, &n);
        for (size_t i = 0; i < n; i++)
            if (l[i].id == ia) loaded = l[i].loaded;
        cos_task_list_free(l, n);
        if (loaded >= MIB) break;
        usleep(5000);
    }
    CHECK_OK(cos_task_pause(c, ia, &err), err);
    while (state_of(c, ia) != COS_TASK_PAUSED) usleep(5000); /* the watchdog fails a task that stays "uploading" */
    CHECK(!cos_is_upload_running(c));
    CHECK_OK(cos_task_restart(c, ia, &err), err);
    CHECK_OK(cos_task_restart(c, ib, &err), err);
    CHECK(cos_is_upload_running(c));
    CHECK_OK(cos_task_wait(c, ia, NULL, &err), err);
    CHECK_OK(cos_task_wait(c, ib, NULL, &err), err);
    test_unwatch();
    test_set_faults(c, &g_srv, NULL);
    cos_client_free(c);
}

/* ------------------------------------------------------------------ 9. a queue holds tasks, not threads */

typedef struct gate {
    pthread_mutex_t m;
    pthread_cond_t cv;
    bool open;
    int waiting;
} gate;
static gate g_gate = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0 };

/* Credentials held back until the gate opens: the first tasks block in
 * signing, every other one stays queued. */
static int gated_credentials(void *ud, const cos_auth_request *req, cos_credentials_sink *sink, cos_error **err)
{
    (void)ud;
    (void)req;
    (void)err;
    pthread_mutex_lock(&g_gate.m);
    g_gate.waiting++;
    pthread_cond_broadcast(&g_gate.cv);
    while (!g_gate.open) pthread_cond_wait(&g_gate.cv, &g_gate.m);
    pthread_mutex_unlock(&g_gate.m);
    return cos_credentials_set(sink, TEST_SECRET_ID, TEST_SECRET_KEY, NULL, 0, 0);
}

static int g_ok, g_max_threads;
static void count_done(void *ud, cos_task_id id, int rc, cos_transfer_result *res, cos_error *err)
{
    (void)id;
    cos_transfer_result_free(res);
    cos_error_free(err);
    test_latch *l = ud;
    if (rc != 0 && rc != COS_ERR_CANCELED) fprintf(stderr, "task failed: rc=%d\n", rc);
    if (rc == 0) __atomic_add_fetch(&g_ok, 1, __ATOMIC_SEQ_CST);
    int n = test_thread_count();
    pthread_mutex_lock(&l->m);
    if (n > g_max_threads) g_max_threads = n;
    pthread_mutex_unlock(&l->m);
    test_latch_add(l);
}

static void test_ten_thousand_queued(void)
{
    enum { TASKS = 10000, PARALLEL = 3 };
    cos_config cfg;
    test_config(&cfg, &g_srv);
    cfg.secret_id = NULL;
    cfg.secret_key = NULL;
    cfg.get_authorization = gated_credentials;
    cfg.file_parallel_limit = PARALLEL;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    if (!c) return;
    char src[512];
    path(src, "tiny.txt");
    test_write_lcg_file(src, 100, 12);
    int base = test_thread_count();
    test_latch done = TEST_LATCH_INIT;
    test_watch(240, "10,000 queued uploads", &g_srv);
    static char keys[TASKS][24];
    static cos_task_id ids[TASKS];
    for (int i = 0; i < TASKS; i++) {
        snprintf(keys[i], sizeof keys[i], "q/%05d", i);
        cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
        p.bucket = BUCKET;
        p.key = keys[i];
        p.file_path = src;
        if (cos_upload_file_async(c, &p, count_done, &done, &ids[i]) != 0) {
            CHECK(0);
            break;
        }
    }
    /* the running tasks block on their credentials (one in the callback,
       the others behind it: credentials are fetched single-flight); the rest
       are queued: threads are the runners, not one per task */
    pthread_mutex_lock(&g_gate.m);
    while (g_gate.waiting < 1) pthread_cond_wait(&g_gate.cv, &g_gate.m);
    pthread_mutex_unlock(&g_gate.m);
    int queued_threads = test_thread_count() - base;
    printf("threads for %d queued tasks: %d (limit %d)\n", TASKS, queued_threads, PARALLEL);
    CHECK(queued_threads <= PARALLEL);
    CHECK(cos_is_upload_running(c));
    /* 200 run to the end; the rest are canceled while queued (under
       valgrind 10,000 uploads would take minutes) */
    for (int i = 200; i < TASKS; i++) cos_task_cancel(c, ids[i], NULL);
    pthread_mutex_lock(&g_gate.m);
    g_gate.open = true;
    pthread_cond_broadcast(&g_gate.cv);
    pthread_mutex_unlock(&g_gate.m);
    test_latch_wait(&done, TASKS);
    CHECK(__atomic_load_n(&g_ok, __ATOMIC_SEQ_CST) >= 200);
    printf("most threads while the queue ran: %d (limit %d)\n", g_max_threads - base, PARALLEL);
    CHECK(g_max_threads - base <= PARALLEL);
    while (test_thread_count() > base) usleep(1000); /* the runners leave once the queue is empty */
    test_unwatch();
    cos_client_free(c);
}

/* ------------------------------------------------------------------ 14. abortUploadTask, onTaskStart */

static void on_start(void *ud, cos_task_id id)
{
    (void)id;
    test_latch_add(ud);
}

static void test_abort_upload_task_and_start(void)
{
    cos_client *c = new_client(0, 0);
    test_latch started = TEST_LATCH_INIT;
    cos_set_task_start_callback(c, on_start, &started);
    cos_error *err = NULL;
    /* three unfinished uploads: two of key a, one of key b */
    const char *keys[3] = { "abort/a", "abort/a", "abort/b" };
    char *ids[3] = { NULL, NULL, NULL };
    for (int i = 0; i < 3; i++) {
        cos_request r = COS_REQUEST_INIT;
        r.bucket = BUCKET;
        r.key = keys[i];
        cos_result *res = NULL;
        CHECK_OK(cos_multipart_init(c, &r, &res, &err), err);
        if (res && res->output.initiate) ids[i] = strdup(res->output.initiate->upload_id);
        cos_result_free(res);
    }
    cos_abort_result *ar = NULL;
    cos_abort_params ap = COS_ABORT_PARAMS_INIT;
    ap.bucket = BUCKET;
    ap.key = "abort/a";
    ap.upload_id = ids[0];
    ap.level = COS_ABORT_TASK;
    CHECK_OK(cos_abort_upload_task(c, &ap, &ar, &err), err);
    CHECK(ar && ar->count == 1 && ar->failed == 0);
    cos_abort_result_free(ar);
    ap.level = COS_ABORT_FILE;
    ap.upload_id = NULL;
    CHECK_OK(cos_abort_upload_task(c, &ap, &ar, &err), err);
    CHECK(ar && ar->count == 1 && ar->failed == 0); /* only the other upload of abort/a */
    if (ar && ar->count == 1) CHECK_STR(ar->uploads[0].upload_id, ids[1]);
    cos_abort_result_free(ar);
    ap.level = COS_ABORT_BUCKET;
    ap.key = NULL;
    CHECK_OK(cos_abort_upload_task(c, &ap, &ar, &err), err);
    bool found_b = false;
    for (size_t i = 0; ar && i < ar->count; i++) found_b |= ar->uploads[i].upload_id && !strcmp(ar->uploads[i].upload_id, ids[2]);
    CHECK(found_b);
    cos_abort_result_free(ar);
    ap.level = COS_ABORT_TASK; /* the task level needs both key and UploadId */
    CHECK(cos_abort_upload_task(c, &ap, NULL, &err) == COS_ERR_INVALID_ARG);
    cos_error_free(err);
    err = NULL;
    for (int i = 0; i < 3; i++) free(ids[i]);
    /* onTaskStart runs when a task starts */
    char src[512];
    path(src, "start.bin");
    test_write_lcg_file(src, 10, 13);
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = BUCKET;
    p.key = "start.bin";
    p.file_path = src;
    CHECK_OK(cos_upload_file(c, &p, NULL, &err), err);
    CHECK_INT(started.count, 1);
    cos_client_free(c);
}

int main(void)
{
    const char *args[] = { "--faults", NULL };
    if (test_server_start(&g_srv, args) != 0) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    g_dir = test_tmpdir("sched");
    test_put_bucket_on(&g_srv, BUCKET);
    RUN(test_sync_multipart_in_callbacks);
    RUN(test_future_in_callback_one_worker);
    RUN(test_callbacks_meeting_get_a_worker_each);
    RUN(test_client_free_in_callback);
    RUN(test_upload_files_index_and_progress);
    RUN(test_restart_failed_task);
    RUN(test_pause_states);
    RUN(test_ten_thousand_queued);
    RUN(test_abort_upload_task_and_start);
    test_server_stop(&g_srv, false);
    test_rmtree(g_dir);
    free(g_dir);
    return test_report();
}

/* test_reentry.c — calling back into the client from inside each kind of
 * callback, against cos-server: before_send and the credential callback
 * running synchronous operations, a transfer cancelling itself or freeing
 * its client from its progress callback, the task-list and task-start
 * callbacks reading the task list and cancelling, and a client freed while
 * hundreds of async calls are in flight. Every async call's completion must
 * run exactly once; a hang fails by the watchdog (alarm + abort), never by a
 * timed assertion; the ASan build catches a use after free. */
#define _GNU_SOURCE
#include "testlib.h"
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static test_server g_srv;
static char *g_dir;
#define BUCKET "reentry-" TEST_APPID
#define MIB (1024u * 1024u)


static void path(char *out, const char *name) { snprintf(out, 512, "%s/%s", g_dir, name); }

/* ------------------------------------------------------------------ before_send */

static cos_client *g_hook_client;
static _Thread_local int g_in_hook;
static int g_hook_inner_rc = -1;
static pthread_mutex_t g_hook_mu = PTHREAD_MUTEX_INITIALIZER;
static int g_hook_inner_calls;

/* "Called before each request is signed and sent ... on the thread that
 * signs it": nothing says it may not call the client, so a synchronous
 * HEAD from inside it must work (once: the inner request runs the hook too). */
static int hook_calls_client(void *ud, cos_outgoing *o)
{
    (void)ud;
    (void)o;
    if (g_in_hook || !g_hook_client) return 0;
    g_in_hook = 1;
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    cos_result *res = NULL;
    cos_error *err = NULL;
    int rc = cos_head_bucket(g_hook_client, &r, &res, &err);
    cos_result_free(res);
    cos_error_free(err);
    pthread_mutex_lock(&g_hook_mu);
    g_hook_inner_rc = rc;
    g_hook_inner_calls++;
    pthread_mutex_unlock(&g_hook_mu);
    g_in_hook = 0;
    return 0;
}

static void count_done(void *ud, int rc, cos_result *res, cos_error *err)
{
    (void)rc;
    cos_result_free(res);
    cos_error_free(err);
    test_latch_add(ud);
}

static void test_before_send_calls_client(void)
{
    cos_config cfg;
    test_config(&cfg, &g_srv);
    cfg.before_send = hook_calls_client;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    if (!c) return;
    g_hook_client = c;
    test_watch(60, "before_send running a synchronous call on its own client", &g_srv);
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = "hook/sync";
    r.body.data = "x";
    r.body.size = 1;
    cos_result *res = NULL;
    CHECK_OK(cos_put_object(c, &r, &res, &err), err);
    cos_result_free(res);
    CHECK_INT(g_hook_inner_rc, 0);
    /* async: the hook runs where an async request is signed */
    test_latch done = TEST_LATCH_INIT;
    g_hook_inner_rc = -1;
    r.key = "hook/async";
    CHECK_INT(cos_put_object_async(c, &r, count_done, &done), 0);
    test_latch_wait(&done, 1);
    CHECK_INT(g_hook_inner_rc, 0);
    /* a multipart transfer: its parts are signed while the task runs */
    char src[512];
    path(src, "hook.bin");
    test_write_lcg_file(src, 3 * MIB + 5, 11);
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = BUCKET;
    p.key = "hook/multipart";
    p.file_path = src;
    p.no_resume = true;
    g_hook_inner_rc = -1;
    CHECK_OK(cos_upload_file(c, &p, NULL, &err), err);
    CHECK_INT(g_hook_inner_rc, 0);
    test_unwatch();
    g_hook_client = NULL;
    cos_client_free(c);
}

/* ------------------------------------------------------------------ credential callback */

static cos_client *g_cred_client;
static _Thread_local int g_in_cred;
static int g_cred_inner_rc = -99;

/* A getAuthorization that, before answering, asks its own client for
 * something (here a presigned URL, which needs a key too): it must either
 * work or fail with an error, never hang on the refresh it is part of. */
static int cred_calls_client(void *ud, const cos_auth_request *req, cos_credentials_sink *sink, cos_error **err)
{
    (void)ud;
    (void)req;
    (void)err;
    if (!g_in_cred && g_cred_client) {
        g_in_cred = 1;
        cos_url_params u = COS_URL_PARAMS_INIT;
        u.bucket = BUCKET;
        u.key = "cred/inner";
        char *url = NULL;
        cos_error *e = NULL;
        g_cred_inner_rc = cos_get_object_url(g_cred_client, &u, &url, &e);
        free(url);
        cos_error_free(e);
        g_in_cred = 0;
    }
    return cos_credentials_set(sink, "AKIDcosLOCALdevelopment0000000000000", "cosLOCALdevelopmentSECRETkey00000",
                               NULL, 0, 0);
}

static void test_credential_callback_calls_client(void)
{
    cos_config cfg;
    test_config(&cfg, &g_srv);
    cfg.secret_id = NULL;
    cfg.secret_key = NULL;
    cfg.get_authorization = cred_calls_client;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    if (!c) return;
    g_cred_client = c;
    test_watch(60, "a credential callback calling its own client", &g_srv);
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    cos_result *res = NULL;
    CHECK_OK(cos_head_bucket(c, &r, &res, &err), err);
    cos_result_free(res);
    /* the inner call returned, with the error that says why */
    CHECK_INT(g_cred_inner_rc, COS_ERR_AUTH);
    test_unwatch();
    g_cred_client = NULL;
    cos_client_free(c);
}

/* A credential callback that waits for an async call, or an async transfer,
 * of its own client: that call needs the key the callback is fetching. It
 * waited for the refresh that waited for it, for ever (documented as a
 * deadlock); now the call fails with COS_ERR_AUTH and the callback goes on.
 * One it starts without waiting for it fails alike if it runs before the
 * callback returns, else it gets a key as any call does (once: the key is
 * not cached, and a second callback must not start another). */
typedef struct inner_async {
    test_latch done;
    int rc;
    char message[256];
} inner_async;
static inner_async g_inner;
static int g_cred_mode; /* 0: wait for an async HEAD, 1: wait for an async upload, 2: start one, do not wait */
static test_latch g_nowait_done = TEST_LATCH_INIT;
static int g_nowait_rc = -99;
static int g_nowait_started;
static char g_upload_src[512];

static void inner_done(void *ud, int rc, cos_result *res, cos_error *err)
{
    inner_async *a = ud;
    a->rc = rc;
    snprintf(a->message, sizeof a->message, "%s", err ? cos_error_message(err) : "");
    cos_result_free(res);
    cos_error_free(err);
    test_latch_add(&a->done);
}

static void nowait_done(void *ud, int rc, cos_result *res, cos_error *err)
{
    (void)ud;
    g_nowait_rc = rc;
    cos_result_free(res);
    cos_error_free(err);
    test_latch_add(&g_nowait_done);
}

static void inner_task_done(void *ud, cos_task_id id, int rc, cos_transfer_result *res, cos_error *err)
{
    (void)id;
    inner_async *a = ud;
    a->rc = rc;
    snprintf(a->message, sizeof a->message, "%s", err ? cos_error_message(err) : "");
    cos_transfer_result_free(res);
    cos_error_free(err);
    test_latch_add(&a->done);
}

static int cred_waits_for_async(void *ud, const cos_auth_request *req, cos_credentials_sink *sink, cos_error **err)
{
    (void)ud;
    (void)req;
    (void)err;
    if (!g_in_cred && g_cred_client) {
        g_in_cred = 1;
        cos_request r = COS_REQUEST_INIT;
        r.bucket = BUCKET;
        if (g_cred_mode == 0) {
            CHECK_INT(cos_head_bucket_async(g_cred_client, &r, inner_done, &g_inner), 0);
            test_latch_wait(&g_inner.done, 1);
        } else if (g_cred_mode == 1) {
            cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
            p.bucket = BUCKET;
            p.key = "cred/inner-upload";
            p.file_path = g_upload_src;
            CHECK_INT(cos_upload_file_async(g_cred_client, &p, inner_task_done, &g_inner, NULL), 0);
            test_latch_wait(&g_inner.done, 1);
        } else if (!__atomic_exchange_n(&g_nowait_started, 1, __ATOMIC_SEQ_CST)) {
            CHECK_INT(cos_head_bucket_async(g_cred_client, &r, nowait_done, NULL), 0);
        }
        g_in_cred = 0;
    }
    return cos_credentials_set(sink, "AKIDcosLOCALdevelopment0000000000000", "cosLOCALdevelopmentSECRETkey00000",
                               NULL, 0, 0);
}

static void test_credential_callback_waits_for_async(void)
{
    path(g_upload_src, "eight.bin");
    for (g_cred_mode = 0; g_cred_mode < 3; g_cred_mode++) {
        cos_config cfg;
        test_config(&cfg, &g_srv);
        cfg.secret_id = NULL;
        cfg.secret_key = NULL;
        cfg.get_authorization = cred_waits_for_async;
        cos_client *c = NULL;
        cos_error *err = NULL;
        CHECK_OK(cos_client_new(&c, &cfg, &err), err);
        if (!c) return;
        memset(&g_inner, 0, sizeof g_inner);
        g_inner.done = (test_latch)TEST_LATCH_INIT;
        g_cred_client = c;
        test_watch(60, "a credential callback waiting for its own client's async call", &g_srv);
        cos_request r = COS_REQUEST_INIT;
        r.bucket = BUCKET;
        cos_result *res = NULL;
        CHECK_OK(cos_head_bucket(c, &r, &res, &err), err); /* the outer call gets its key */
        cos_result_free(res);
        if (g_cred_mode < 2) {
            printf("mode %d: the inner call ended with %d: %s\n", g_cred_mode, g_inner.rc, g_inner.message);
            CHECK_INT(g_inner.rc, COS_ERR_AUTH);
            CHECK(strstr(g_inner.message, "credential callback") != NULL);
        } else {
            /* not waited for: it fails only while the callback runs; after, it refreshes */
            test_latch_wait(&g_nowait_done, 1);
            printf("mode 2: the call not waited for ended with %d\n", g_nowait_rc);
            CHECK(g_nowait_rc == COS_ERR_AUTH || g_nowait_rc == 0);
        }
        /* the client is still good for calls made elsewhere */
        CHECK_OK(cos_head_bucket(c, &r, &res, &err), err);
        cos_result_free(res);
        test_unwatch();
        g_cred_client = NULL;
        cos_client_free(c);
    }
}

/* A credential callback that uses ANOTHER client (itself keyed by a
 * callback) for async calls and an async upload, and waits for them: the
 * re-entry check is per client, so they must work; and threads calling the
 * first client at once all get the one refresh's key. */
static cos_client *g_other_client;
static int g_other_cred_calls, g_outer_cred_calls;

static int cred_plain(void *ud, const cos_auth_request *req, cos_credentials_sink *sink, cos_error **err)
{
    (void)ud;
    (void)req;
    (void)err;
    __atomic_add_fetch(&g_other_cred_calls, 1, __ATOMIC_SEQ_CST);
    return cos_credentials_set(sink, "AKIDcosLOCALdevelopment0000000000000", "cosLOCALdevelopmentSECRETkey00000",
                               NULL, 0, 0);
}

static int cred_uses_other(void *ud, const cos_auth_request *req, cos_credentials_sink *sink, cos_error **err)
{
    (void)ud;
    (void)req;
    (void)err;
    __atomic_add_fetch(&g_outer_cred_calls, 1, __ATOMIC_SEQ_CST);
    inner_async head = { TEST_LATCH_INIT, -1, "" }, up = { TEST_LATCH_INIT, -1, "" };
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    CHECK_INT(cos_head_bucket_async(g_other_client, &r, inner_done, &head), 0);
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = BUCKET;
    p.key = "cred/other-client-upload";
    p.file_path = g_upload_src;
    CHECK_INT(cos_upload_file_async(g_other_client, &p, inner_task_done, &up, NULL), 0);
    cos_result *res = NULL;
    cos_error *e = NULL;
    int rc = cos_head_bucket(g_other_client, &r, &res, &e);
    if (rc) printf("  sync call on the other client: %d %s\n", rc, e ? cos_error_message(e) : "");
    CHECK_INT(rc, 0);
    cos_result_free(res);
    cos_error_free(e);
    test_latch_wait(&head.done, 1);
    test_latch_wait(&up.done, 1);
    if (head.rc || up.rc) printf("  other client: head %d (%s), upload %d (%s)\n", head.rc, head.message, up.rc, up.message);
    CHECK_INT(head.rc, 0);
    CHECK_INT(up.rc, 0);
    return cos_credentials_set(sink, "AKIDcosLOCALdevelopment0000000000000", "cosLOCALdevelopmentSECRETkey00000",
                               NULL, 0, 0);
}

static void *head_outer(void *arg)
{
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    cos_result *res = NULL;
    cos_error *err = NULL;
    *(int *)arg = cos_head_bucket(g_cred_client, &r, &res, &err);
    cos_result_free(res);
    cos_error_free(err);
    return NULL;
}

static void test_credential_callback_uses_another_client(void)
{
    path(g_upload_src, "eight.bin");
    cos_config cfg;
    test_config(&cfg, &g_srv);
    cfg.secret_id = NULL;
    cfg.secret_key = NULL;
    cfg.get_authorization = cred_plain;
    cos_client *other = NULL, *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&other, &cfg, &err), err);
    cfg.get_authorization = cred_uses_other;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    if (!c || !other) {
        cos_client_free(c);
        cos_client_free(other);
        return;
    }
    g_other_client = other;
    g_cred_client = c;
    test_watch(90, "a credential callback using another client", &g_srv);
    enum { THREADS = 6 };
    pthread_t th[THREADS];
    int rcs[THREADS];
    for (int i = 0; i < THREADS; i++) {
        rcs[i] = -1;
        pthread_create(&th[i], NULL, head_outer, &rcs[i]);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT(rcs[i], 0);
    }
    CHECK(g_outer_cred_calls >= 1);
    CHECK(g_other_cred_calls >= 1);
    test_unwatch();
    g_cred_client = NULL;
    g_other_client = NULL;
    cos_client_free(c);
    cos_client_free(other);
}

/* LEFTOUT: a transfer started inside the credential callback never
 * refreshed its key: every request it made counted as made inside that
 * callback, so once the key the callback had returned expired, the next part
 * failed with COS_ERR_AUTH. The transfer is queued behind the synchronous
 * upload whose key the callback fetches (FileParallelLimit 1), so it runs
 * only after the callback has returned, with the key it returned (expiring in
 * 32 s, i.e. unusable 2 s later); its progress callback waits until that key
 * is unusable, and the rest of the transfer must fetch a new one. */
static cos_client *g_long_client;
static int g_long_cred_calls;
static int64_t g_long_first_expiry;
static inner_async g_long;

static void long_progress(void *ud, const cos_progress *p)
{
    int *waited = ud;
    if (*waited || p->loaded == 0 || p->loaded >= p->total) return;
    *waited = 1;
    while ((int64_t)time(NULL) + 30 < g_long_first_expiry) usleep(50 * 1000); /* until the cache (30 s margin) drops it */
}

static int cred_starts_long_task(void *ud, const cos_auth_request *req, cos_credentials_sink *sink, cos_error **err)
{
    (void)ud;
    (void)req;
    (void)err;
    int64_t now = (int64_t)time(NULL);
    if (__atomic_add_fetch(&g_long_cred_calls, 1, __ATOMIC_SEQ_CST) == 1) {
        static int waited;
        cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
        p.bucket = BUCKET;
        p.key = "cred/long-upload";
        p.file_path = g_upload_src;
        p.no_resume = true;
        p.chunk_size = 1 * MIB;
        p.parallel = 1;
        p.on_progress = long_progress;
        p.progress_user_data = &waited;
        CHECK_INT(cos_slice_upload_file_async(g_long_client, &p, inner_task_done, &g_long, NULL), 0);
        g_long_first_expiry = now + 32;
        return cos_credentials_set(sink, TEST_SECRET_ID, TEST_SECRET_KEY, NULL, now - 1, g_long_first_expiry);
    }
    return cos_credentials_set(sink, TEST_SECRET_ID, TEST_SECRET_KEY, NULL, now - 1, now + 3600);
}

static void test_task_from_callback_refreshes_key(void)
{
    path(g_upload_src, "eight.bin");
    char small[512];
    path(small, "small.bin");
    test_write_lcg_file(small, 1000, 3);
    cos_config cfg;
    test_config(&cfg, &g_srv);
    cfg.secret_id = NULL;
    cfg.secret_key = NULL;
    cfg.get_authorization = cred_starts_long_task;
    cfg.file_parallel_limit = 1;
    cfg.progress_interval_ms = 1;
    cos_client *c = test_client_of(&cfg);
    if (!c) return;
    g_long_client = c;
    memset(&g_long, 0, sizeof g_long);
    g_long.done = (test_latch)TEST_LATCH_INIT;
    g_long.rc = -99;
    test_watch(60, "a transfer started inside the credential callback outliving its key", &g_srv);
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = BUCKET;
    p.key = "cred/small";
    p.file_path = small;
    cos_error *err = NULL;
    CHECK_OK(cos_upload_file(c, &p, NULL, &err), err); /* holds the one slot while the callback runs */
    test_latch_wait(&g_long.done, 1);
    if (g_long.rc) printf("  the long transfer: %d %s\n", g_long.rc, g_long.message);
    CHECK_INT(g_long.rc, 0);
    CHECK_INT(__atomic_load_n(&g_long_cred_calls, __ATOMIC_SEQ_CST), 2); /* it fetched a new key, once */
    test_unwatch();
    g_long_client = NULL;
    cos_client_free(c);
}

/* ------------------------------------------------------------------ transfers' callbacks */

typedef struct xfer_ctx {
    cos_client *c;
    cos_task_id id;
    pthread_mutex_t m;
    bool acted;
    int done_calls;
    int done_rc;
    test_latch *done;
    int action; /* 0: cancel own task, 1: free the client */
} xfer_ctx;

static void xfer_progress(void *ud, const cos_progress *p)
{
    xfer_ctx *x = ud;
    if (p->loaded == 0 || p->loaded >= p->total) return;
    pthread_mutex_lock(&x->m);
    bool go = !x->acted && x->id != 0;
    x->acted |= go;
    cos_task_id id = x->id;
    pthread_mutex_unlock(&x->m);
    if (!go) return;
    if (x->action == 0) cos_task_cancel(x->c, id, NULL);
    else cos_client_free(x->c);
}

static void xfer_done(void *ud, cos_task_id id, int rc, cos_transfer_result *res, cos_error *err)
{
    (void)id;
    xfer_ctx *x = ud;
    cos_transfer_result_free(res);
    cos_error_free(err);
    pthread_mutex_lock(&x->m);
    x->done_calls++;
    x->done_rc = rc;
    pthread_mutex_unlock(&x->m);
    test_latch_add(x->done);
}

static cos_client *slow_parts_client(void)
{
    cos_config cfg;
    test_config(&cfg, &g_srv);
    cfg.progress_interval_ms = 1;
    cfg.chunk_parallel_limit = 1; /* parts one after another: progress between them */
    static char cp[512];
    snprintf(cp, sizeof cp, "%s/cp", g_dir);
    cfg.checkpoint_dir = cp;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    return c;
}

static void run_progress_action(int action, bool download)
{
    cos_client *c = slow_parts_client();
    if (!c) return;
    char src[512], dst[512];
    path(src, "eight.bin");
    path(dst, action ? "eight.free.down" : "eight.cancel.down");
    if (download) {
        cos_transfer_params up = COS_TRANSFER_PARAMS_INIT;
        up.bucket = BUCKET;
        up.key = "xfer/eight";
        up.file_path = src;
        cos_error *err = NULL;
        CHECK_OK(cos_upload_file(c, &up, NULL, &err), err);
    }
    test_latch done = TEST_LATCH_INIT;
    xfer_ctx x = { .c = c, .m = PTHREAD_MUTEX_INITIALIZER, .done = &done, .action = action };
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = BUCKET;
    p.key = download ? "xfer/eight" : action ? "xfer/free" : "xfer/cancel";
    p.file_path = download ? dst : src;
    p.no_resume = true;
    p.chunk_size = 1 * MIB;
    p.on_progress = xfer_progress;
    p.progress_user_data = &x;
    cos_task_id id = 0;
    pthread_mutex_lock(&x.m);
    int rc = download ? cos_download_file_async(c, &p, xfer_done, &x, &id)
                      : cos_upload_file_async(c, &p, xfer_done, &x, &id);
    x.id = id;
    pthread_mutex_unlock(&x.m);
    CHECK_INT(rc, 0);
    if (rc) return;
    test_latch_wait(&done, 1);
    if (action == 0) {
        /* the task's slot is given back before done runs; free waits for the rest */
        cos_client_free(c);
    } else {
        /* the client frees itself once the callback returned; nothing else
           may be called on it. Give any stray second completion a chance. */
        usleep(200 * 1000);
    }
    pthread_mutex_lock(&x.m);
    CHECK(x.acted); /* the callback did act while the transfer ran */
    CHECK_INT(x.done_calls, 1);
    if (action == 0 && x.acted) CHECK_INT(x.done_rc, COS_ERR_CANCELED);
    pthread_mutex_unlock(&x.m);
    if (download) {
        /* a canceled or interrupted download never leaves the file in place */
        CHECK(access(dst, F_OK) != 0 || test_files_equal(src, dst) == 0);
    }
}

static void test_progress_cancels_own_task(void)
{
    test_watch(120, "a transfer cancelling itself from its progress callback", &g_srv);
    run_progress_action(0, false);
    run_progress_action(0, true);
    test_unwatch();
}

static void test_progress_frees_client(void)
{
    test_watch(120, "cos_client_free from a transfer's progress callback", &g_srv);
    run_progress_action(1, false);
    run_progress_action(1, true);
    test_unwatch();
}

/* ------------------------------------------------------------------ task-list and task-start callbacks */

typedef struct list_ctx {
    cos_client *c;
    pthread_mutex_t m;
    int list_calls, start_calls, canceled;
} list_ctx;

static void on_list(void *ud)
{
    list_ctx *x = ud;
    cos_task_info *l = NULL;
    size_t n = 0;
    /* the official SDK's onTaskUpdate is there to call getTaskList */
    cos_task_list(x->c, &l, &n);
    cos_task_list_free(l, n);
    (void)cos_is_upload_running(x->c);
    pthread_mutex_lock(&x->m);
    x->list_calls++;
    pthread_mutex_unlock(&x->m);
}

static void on_start(void *ud, cos_task_id id)
{
    list_ctx *x = ud;
    pthread_mutex_lock(&x->m);
    bool odd = (x->start_calls++ % 2) == 1;
    pthread_mutex_unlock(&x->m);
    if (odd && cos_task_cancel(x->c, id, NULL) == 0) {
        pthread_mutex_lock(&x->m);
        x->canceled++;
        pthread_mutex_unlock(&x->m);
    }
}

typedef struct many_done {
    pthread_mutex_t m;
    int calls[64];
    int canceled;
    test_latch *all;
} many_done;

static void many_xfer_done(void *ud, cos_task_id id, int rc, cos_transfer_result *res, cos_error *err)
{
    (void)id;
    many_done *d = ud;
    cos_transfer_result_free(res);
    cos_error_free(err);
    pthread_mutex_lock(&d->m);
    d->canceled += rc == COS_ERR_CANCELED;
    pthread_mutex_unlock(&d->m);
    test_latch_add(d->all);
}

static void test_task_callbacks_call_client(void)
{
    cos_client *c = slow_parts_client();
    if (!c) return;
    list_ctx x = { .c = c, .m = PTHREAD_MUTEX_INITIALIZER };
    cos_set_task_list_callback(c, on_list, &x);
    cos_set_task_start_callback(c, on_start, &x);
    test_watch(120, "task-list and task-start callbacks calling cos_task_list and cos_task_cancel", &g_srv);
    char src[512];
    path(src, "small.bin");
    test_write_lcg_file(src, 1000, 3);
    test_latch all = TEST_LATCH_INIT;
    many_done d = { .m = PTHREAD_MUTEX_INITIALIZER, .all = &all };
    enum { N = 12 };
    for (int i = 0; i < N; i++) {
        char key[64];
        snprintf(key, sizeof key, "list/%d", i);
        cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
        p.bucket = BUCKET;
        p.key = key;
        p.file_path = src;
        CHECK_INT(cos_upload_file_async(c, &p, many_xfer_done, &d, NULL), 0);
    }
    test_latch_wait(&all, N);
    usleep(100 * 1000);
    CHECK_INT(test_latch_count(&all), N); /* exactly once each */
    pthread_mutex_lock(&x.m);
    CHECK(x.list_calls > 0);
    CHECK_INT(x.start_calls, N);
    CHECK_INT(d.canceled, x.canceled);
    pthread_mutex_unlock(&x.m);
    cos_set_task_list_callback(c, NULL, NULL);
    cos_set_task_start_callback(c, NULL, NULL);
    cos_client_free(c);
    test_unwatch();
}

/* ------------------------------------------------------------------ free with calls in flight */

static void test_free_with_calls_in_flight(void)
{
    test_watch(120, "cos_client_free with 300 async calls in flight", &g_srv);
    for (int round = 0; round < 3; round++) {
        cos_client *c = test_client(&g_srv);
        test_latch done = TEST_LATCH_INIT;
        enum { N = 300 };
        int started = 0;
        for (int i = 0; i < N; i++) {
            cos_request r = COS_REQUEST_INIT;
            r.bucket = BUCKET;
            if (cos_head_bucket_async(c, &r, count_done, &done) == 0) started++;
        }
        if (round) usleep((useconds_t)round * 2000); /* some finished, some in flight, some queued */
        cos_client_free(c);
        /* free waited: every completion has run, exactly once */
        CHECK_INT(test_latch_count(&done), started);
        usleep(50 * 1000);
        CHECK_INT(test_latch_count(&done), started);
    }
    test_unwatch();
}

/* LEFTOUT: cos_client_free waited for async calls to a server that never
 * answers until the stall timeout ended them (30 s, up to a minute), and
 * their callbacks got a timeout, not COS_ERR_CANCELED. A server that reads
 * each request and then says nothing: once every request has reached it,
 * free must end them all, each callback once with COS_ERR_CANCELED, and
 * close every connection (the old code failed the watchdog first). */
static pthread_mutex_t g_silent_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_silent_cv = PTHREAD_COND_INITIALIZER;
static int g_silent_heads, g_silent_open;

static void *silent_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    pthread_mutex_lock(&g_silent_m);
    g_silent_open++;
    pthread_mutex_unlock(&g_silent_m);
    char buf[8192];
    size_t got = 0;
    if (test_recv_head(fd, buf, sizeof buf, &got)) {
        pthread_mutex_lock(&g_silent_m);
        g_silent_heads++;
        pthread_cond_broadcast(&g_silent_cv);
        pthread_mutex_unlock(&g_silent_m);
        while (recv(fd, buf, sizeof buf, 0) > 0) { /* the body, then silence until the client leaves */
        }
    }
    close(fd);
    pthread_mutex_lock(&g_silent_m);
    g_silent_open--;
    pthread_cond_broadcast(&g_silent_cv);
    pthread_mutex_unlock(&g_silent_m);
    return NULL;
}

typedef struct silent_done {
    pthread_mutex_t m;
    int calls, canceled;
} silent_done;

static void silent_call_done(void *ud, int rc, cos_result *res, cos_error *err)
{
    silent_done *d = ud;
    cos_result_free(res);
    cos_error_free(err);
    pthread_mutex_lock(&d->m);
    d->calls++;
    d->canceled += rc == COS_ERR_CANCELED;
    pthread_mutex_unlock(&d->m);
}

static void test_free_with_silent_server(void)
{
    int port = 0, ls = test_listen_loopback(&port);
    CHECK(ls >= 0);
    if (ls < 0) return;
    test_serve_forever(ls, silent_conn);
    char ep[64];
    snprintf(ep, sizeof ep, "127.0.0.1:%d", port);
    cos_config cfg;
    test_config(&cfg, &g_srv);
    cfg.connect_to = ep;
    cfg.max_retries = 0;
    cos_client *c = test_client_of(&cfg);
    if (!c) return;
    test_watch(20, "cos_client_free with async calls to a server that never answers", NULL);
    enum { N = 8 };
    silent_done d = { PTHREAD_MUTEX_INITIALIZER, 0, 0 };
    static char body[256 * 1024];
    for (int i = 0; i < N; i++) {
        cos_request r = COS_REQUEST_INIT;
        r.bucket = BUCKET;
        r.key = "silent/x";
        if (i % 2) { /* PUTs too, large enough not to go out with the headers */
            r.body.data = body;
            r.body.size = sizeof body;
            CHECK_INT(cos_put_object_async(c, &r, silent_call_done, &d), 0);
        } else {
            CHECK_INT(cos_get_object_async(c, &r, silent_call_done, &d), 0);
        }
    }
    pthread_mutex_lock(&g_silent_m);
    while (g_silent_heads < N) pthread_cond_wait(&g_silent_cv, &g_silent_m); /* all in flight, unanswered */
    pthread_mutex_unlock(&g_silent_m);
    cos_client_free(c);
    pthread_mutex_lock(&d.m);
    CHECK_INT(d.calls, N);
    CHECK_INT(d.canceled, N);
    pthread_mutex_unlock(&d.m);
    pthread_mutex_lock(&g_silent_m);
    while (g_silent_open > 0) pthread_cond_wait(&g_silent_cv, &g_silent_m); /* no connection left open */
    pthread_mutex_unlock(&g_silent_m);
    test_unwatch();
}

/* ------------------------------------------------------------------ cancels racing completions */

typedef struct race_ctx {
    cos_client *c;
    cos_task_id ids[200];
    int n;
} race_ctx;

static void *cancel_all(void *ud)
{
    race_ctx *x = ud;
    for (int round = 0; round < 3; round++)
        for (int i = x->n - 1; i >= 0; i--) cos_task_cancel(x->c, x->ids[i], NULL);
    return NULL;
}

static void test_cancels_race_completions(void)
{
    cos_client *c = slow_parts_client();
    if (!c) return;
    test_watch(120, "cancels racing the completions of 200 transfers", &g_srv);
    char src[512];
    path(src, "race.bin");
    test_write_lcg_file(src, 3000, 4);
    test_latch all = TEST_LATCH_INIT;
    many_done d = { .m = PTHREAD_MUTEX_INITIALIZER, .all = &all };
    race_ctx x = { .c = c };
    for (int i = 0; i < 200; i++) {
        char key[64];
        snprintf(key, sizeof key, "race/%d", i);
        cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
        p.bucket = BUCKET;
        p.key = key;
        p.file_path = src;
        if (cos_upload_file_async(c, &p, many_xfer_done, &d, &x.ids[x.n]) == 0) x.n++;
    }
    CHECK_INT(x.n, 200);
    pthread_t th[2];
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, cancel_all, &x);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    test_latch_wait(&all, x.n);
    cos_client_free(c); /* waits for anything still running */
    CHECK_INT(test_latch_count(&all), x.n); /* every done exactly once, canceled or not */
    test_unwatch();
}

/* ------------------------------------------------------------------ free from the task callbacks */

typedef struct free_ctx {
    cos_client *c;
    pthread_mutex_t m;
    bool freed;
} free_ctx;

static bool free_once(free_ctx *x)
{
    pthread_mutex_lock(&x->m);
    bool go = !x->freed;
    x->freed = true;
    pthread_mutex_unlock(&x->m);
    if (go) cos_client_free(x->c); /* "from inside one of the client's own callbacks, it returns at once" */
    return go;
}
static void free_on_start(void *ud, cos_task_id id)
{
    (void)id;
    free_once(ud);
}
/* and the call that freed stays in the callback a while: the free, deferred
   to a thread of its own, must not free the task list while this thread is
   still inside it (valgrind saw cb_leave read the freed list) */
static void free_on_list(void *ud)
{
    if (free_once(ud)) usleep(500 * 1000);
}

static void test_free_from_task_callbacks(void)
{
    test_watch(120, "cos_client_free from the task-start and task-list callbacks", &g_srv);
    char src[512];
    path(src, "small.bin");
    for (int which = 0; which < 2; which++) {
        cos_client *c = slow_parts_client();
        if (!c) return;
        free_ctx x = { .c = c, .m = PTHREAD_MUTEX_INITIALIZER };
        if (which == 0) cos_set_task_start_callback(c, free_on_start, &x);
        else cos_set_task_list_callback(c, free_on_list, &x);
        test_latch done = TEST_LATCH_INIT;
        xfer_ctx d = { .m = PTHREAD_MUTEX_INITIALIZER, .done = &done, .action = 2 };
        cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
        p.bucket = BUCKET;
        p.key = "freecb/x";
        p.file_path = src;
        int rc = cos_upload_file_async(c, &p, xfer_done, &d, NULL);
        CHECK_INT(rc, 0);
        if (rc == 0) test_latch_wait(&done, 1); /* the task still ends, once */
        usleep(100 * 1000);
        pthread_mutex_lock(&d.m);
        CHECK_INT(d.done_calls, 1);
        pthread_mutex_unlock(&d.m);
        pthread_mutex_lock(&x.m);
        CHECK(x.freed);
        pthread_mutex_unlock(&x.m);
    }
    test_unwatch();
}

int main(void)
{
    g_dir = test_tmpdir("reentry");
    if (test_server_start(&g_srv, NULL) != 0) {
        fprintf(stderr, "cannot start cos-server\n");
        return 1;
    }
    test_put_bucket_on(&g_srv, BUCKET);
    char src[512];
    path(src, "eight.bin");
    test_write_lcg_file(src, 8 * MIB + 3, 8);
    RUN(test_before_send_calls_client);
    RUN(test_credential_callback_calls_client);
    RUN(test_credential_callback_waits_for_async);
    RUN(test_credential_callback_uses_another_client);
    RUN(test_task_from_callback_refreshes_key);
    RUN(test_progress_cancels_own_task);
    RUN(test_progress_frees_client);
    RUN(test_task_callbacks_call_client);
    RUN(test_free_with_calls_in_flight);
    RUN(test_free_with_silent_server);
    RUN(test_cancels_race_completions);
    RUN(test_free_from_task_callbacks);
    test_server_stop(&g_srv, false);
    test_rmtree(g_dir);
    free(g_dir);
    return test_report();
}

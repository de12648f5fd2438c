/* test_contract.c — the promises the headers make, each tried against
 * cos-server the way a newcomer would use it: zero is safe (a zeroed
 * cos_url_params signs), a file body is the whole file and may not change
 * size under an upload, cos_result.location, async refusals described like
 * sync ones, the cos_error out-parameter's contract, per-request progress,
 * the version check of every options struct, and UploadIdCacheLimit. */
#define _GNU_SOURCE
#include "testlib.h"
#include <dirent.h>
#include <pthread.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static test_server g_srv;
static cos_client *g_c;
static char *g_dir;
#define BUCKET "contract-" TEST_APPID
#define HOST BUCKET ".cos.ap-guangzhou.myqcloud.com"
#define MIB (1024 * 1024)

static char *tmp_path(const char *name)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s", g_dir, name) < 0) return NULL;
    return p;
}

/* An error as a previous call would have left it. */
static cos_error *stale_error(void)
{
    cos_error e = { .kind = COS_ERR_INTERNAL, .message = "a previous call's error" };
    return cos_error_dup(&e);
}

static uint64_t object_size(const char *key)
{
    cos_request h = COS_REQUEST_INIT;
    h.bucket = BUCKET;
    h.key = key;
    cos_result *res = NULL;
    cos_error *err = NULL;
    uint64_t n = (uint64_t)-1;
    if (cos_head_object(g_c, &h, &res, &err) == 0) n = res->content_length;
    cos_result_free(res);
    cos_error_free(err);
    return n;
}

/* ---------------------------------------------------------------- item 2: zero is safe */

static void test_zeroed_url_params_sign(void)
{
    cos_url_params u;
    memset(&u, 0, sizeof u);
    u.version = COS_URL_PARAMS_VERSION;
    u.bucket = BUCKET;
    u.key = "signed.txt";
    char *url = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_get_object_url(g_c, &u, &url, &err), err);
    CHECK(url && strstr(url, "q-signature="));
    free(url);
    u.no_signature = true; /* asked for: a bare URL */
    CHECK_OK(cos_get_object_url(g_c, &u, &url, &err), err);
    CHECK(url && !strstr(url, "q-signature="));
    free(url);
}

static void test_zeroed_config_is_init(void)
{
    cos_config z, i = COS_CONFIG_INIT;
    memset(&z, 0, sizeof z);
    z.version = COS_CONFIG_VERSION;
    CHECK(memcmp(&z, &i, sizeof z) == 0);
    cos_config f;
    memset(&f, 0xff, sizeof f);
    cos_config_init(&f);
    CHECK(memcmp(&f, &i, sizeof f) == 0);
}

/* ---------------------------------------------------------------- item 3: file bodies */

static void test_file_body_is_whole_file(void)
{
    char *p = tmp_path("whole.bin");
    CHECK_INT(test_write_lcg_file(p, 300000, 7), 0);
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = "whole.bin";
    r.body.file_path = p; /* nothing else: the whole file */
    cos_result *res = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_put_object(g_c, &r, &res, &err), err);
    cos_result_free(res);
    CHECK_INT(object_size("whole.bin"), 300000);
    /* from an offset to the end */
    r.key = "tail.bin";
    r.body.file_offset = 100000;
    CHECK_OK(cos_put_object(g_c, &r, &res, &err), err);
    cos_result_free(res);
    CHECK_INT(object_size("tail.bin"), 200000);
    /* an explicit range */
    r.key = "range.bin";
    r.body.file_length = 5000;
    CHECK_OK(cos_put_object(g_c, &r, &res, &err), err);
    cos_result_free(res);
    CHECK_INT(object_size("range.bin"), 5000);
    /* postObject too */
    cos_request po = COS_REQUEST_INIT;
    po.bucket = BUCKET;
    po.key = "posted.bin";
    po.body.file_path = p;
    CHECK_OK(cos_post_object(g_c, &po, &res, &err), err);
    cos_result_free(res);
    CHECK_INT(object_size("posted.bin"), 300000);
    /* a range past the end is refused, naming the field */
    r.body.file_offset = 0;
    r.body.file_length = 300001;
    CHECK(cos_put_object(g_c, &r, &res, &err) == COS_ERR_INVALID_ARG);
    CHECK_STR(err ? err->field : NULL, "body.file_length");
    cos_error_free(err);
    free(p);
}

typedef struct resize { const char *path; bool grow; int calls; bool io_failed; } resize;

/* Runs during the upload (the first report comes before the body is sent,
 * the last after): changes the file's size under the request. */
static void resize_on_progress(void *ud, const cos_progress *pr)
{
    (void)pr;
    resize *z = ud;
    if (z->calls++) return;
    if (z->grow) {
        int fd = open(z->path, O_WRONLY | O_APPEND);
        if (fd < 0 || write(fd, "more bytes", 10) != 10) z->io_failed = true;
        if (fd >= 0) close(fd);
    } else if (truncate(z->path, 1000) != 0) {
        z->io_failed = true;
    }
}

static void check_resized_upload_fails(bool grow)
{
    char *p = tmp_path(grow ? "grows.bin" : "shrinks.bin");
    CHECK_INT(test_write_lcg_file(p, 8 * MIB, 11), 0);
    resize z = { p, grow, 0, false };
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = grow ? "grows.bin" : "shrinks.bin";
    r.body.file_path = p;
    r.on_progress = resize_on_progress;
    r.progress_user_data = &z;
    cos_result *res = NULL;
    cos_error *err = NULL;
    int rc = cos_put_object(g_c, &r, &res, &err);
    CHECK(z.calls > 0 && !z.io_failed);
    CHECK_INT(rc, COS_ERR_IO);
    CHECK(res == NULL);
    CHECK_STR(err ? err->field : NULL, "body.file_path");
    CHECK(err && strstr(cos_error_message(err), "changed size"));
    cos_error_free(err);
    cos_result_free(res);
    free(p);
}

static void grow_on_transfer_progress(void *ud, const cos_progress *pr)
{
    resize_on_progress(ud, pr);
}

static void test_file_changing_size_fails(void)
{
    check_resized_upload_fails(true);
    check_resized_upload_fails(false);
    /* a multipart uploadFile: the parts would hold the old size, the file has another */
    char *p = tmp_path("grows-mp.bin");
    CHECK_INT(test_write_lcg_file(p, 3 * MIB, 13), 0);
    resize z = { p, true, 0, false };
    cos_transfer_params up = COS_TRANSFER_PARAMS_INIT;
    up.bucket = BUCKET;
    up.key = "grows-mp.bin";
    up.file_path = p;
    up.slice_size = MIB;
    up.chunk_size = MIB;
    up.no_resume = true;
    up.on_progress = grow_on_transfer_progress;
    up.progress_user_data = &z;
    cos_transfer_result *tr = NULL;
    cos_error *err = NULL;
    CHECK_INT(cos_upload_file(g_c, &up, &tr, &err), COS_ERR_IO);
    CHECK(z.calls > 0 && !z.io_failed);
    CHECK(tr == NULL);
    CHECK(err && strstr(cos_error_message(err), "changed size"));
    CHECK_INT(object_size("grows-mp.bin"), (uint64_t)-1); /* nothing stored under the key */
    cos_error_free(err);
    cos_transfer_result_free(tr);
    free(p);
}

/* ---------------------------------------------------------------- item 6: location */

static void test_location(void)
{
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = "dir/loc.txt";
    r.body.data = "here";
    r.body.size = 4;
    cos_result *res = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_put_object(g_c, &r, &res, &err), err);
    CHECK_STR(res ? res->location : NULL, HOST "/dir/loc.txt");
    cos_result_free(res);
    res = NULL;
    CHECK_OK(cos_post_object(g_c, &r, &res, &err), err);
    CHECK_STR(res ? res->location : NULL, HOST "/dir/loc.txt");
    cos_result_free(res);
    res = NULL;
    /* multipart: init, one part, complete */
    cos_request m = COS_REQUEST_INIT;
    m.bucket = BUCKET;
    m.key = "mp.bin";
    CHECK_OK(cos_multipart_init(g_c, &m, &res, &err), err);
    char *uid = res && res->output.initiate ? strdup(res->output.initiate->upload_id) : NULL;
    cos_result_free(res);
    res = NULL;
    if (!uid) return;
    m.upload_id = uid;
    m.part_number = 1;
    m.body.data = "part one";
    m.body.size = 8;
    CHECK_OK(cos_multipart_upload(g_c, &m, &res, &err), err);
    cos_complete_part part = { 1, res ? (char *)res->etag : NULL };
    cos_complete_multipart_upload doc = { &part, 1 };
    m.input.complete = &doc;
    m.body.data = NULL;
    m.body.size = 0;
    cos_result *done = NULL;
    CHECK_OK(cos_multipart_complete(g_c, &m, &done, &err), err);
    CHECK(done && done->location && strstr(done->location, "mp.bin"));
    cos_result_free(done);
    cos_result_free(res);
    free(uid);
    /* a simple uploadFile reports it too */
    char *p = tmp_path("uf.bin");
    CHECK_INT(test_write_lcg_file(p, 4096, 3), 0);
    cos_transfer_params up = COS_TRANSFER_PARAMS_INIT;
    up.bucket = BUCKET;
    up.key = "uf.bin";
    up.file_path = p;
    cos_transfer_result *tr = NULL;
    CHECK_OK(cos_upload_file(g_c, &up, &tr, &err), err);
    CHECK(tr && !tr->multipart);
    CHECK_STR(tr ? tr->location : NULL, HOST "/uf.bin");
    cos_transfer_result_free(tr);
    free(p);
}

/* ---------------------------------------------------------------- item 8: errors and progress */

static void never_called(void *ud, int rc, cos_result *res, cos_error *err)
{
    (void)rc;
    *(int *)ud = 1;
    cos_result_free(res);
    cos_error_free(err);
}

static void never_called_transfer(void *ud, cos_task_id id, int rc, cos_transfer_result *res, cos_error *err)
{
    (void)id; (void)rc;
    *(int *)ud = 1;
    cos_transfer_result_free(res);
    cos_error_free(err);
}

static void test_async_refusal_has_detail(void)
{
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET; /* no key */
    cos_result *res = NULL;
    cos_error *sync_err = NULL;
    CHECK_INT(cos_put_object(g_c, &r, &res, &sync_err), COS_ERR_INVALID_ARG);
    int called = 0;
    CHECK_INT(cos_put_object_async(g_c, &r, never_called, &called), COS_ERR_INVALID_ARG);
    const cos_error *why = cos_async_error();
    CHECK(why != NULL);
    CHECK_STR(why ? why->field : NULL, "key");
    CHECK_STR(why ? why->message : NULL, sync_err ? sync_err->message : NULL);
    cos_error_free(sync_err);
    /* a bad bucket, through cos_call_async */
    r.bucket = "no_appid";
    r.key = "k";
    CHECK_INT(cos_call_async(g_c, COS_OP_GET_OBJECT, &r, never_called, &called), COS_ERR_INVALID_ARG);
    CHECK_STR(cos_async_error() ? cos_async_error()->field : NULL, "bucket");
    /* an accepted call clears it */
    r.bucket = BUCKET;
    r.key = "dir/loc.txt";
    cos_future *f = cos_future_new();
    CHECK_INT(cos_get_object_async(g_c, &r, cos_future_done, f), 0);
    CHECK(cos_async_error() == NULL);
    cos_error *err = NULL;
    CHECK_OK(cos_future_wait(f, &res, &err), err);
    cos_result_free(res);
    cos_future_free(f);
    /* transfers: each parameter error names its field, sync and async */
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = BUCKET;
    p.key = "t.bin";
    cos_task_id id = 0;
    CHECK_INT(cos_upload_file_async(g_c, &p, never_called_transfer, &called, &id), COS_ERR_INVALID_ARG);
    CHECK_STR(cos_async_error() ? cos_async_error()->field : NULL, "file_path");
    p.file_path = "/nonexistent";
    p.chunk_size = 1000;
    cos_transfer_result *tr = NULL;
    CHECK_INT(cos_upload_file(g_c, &p, &tr, &err), COS_ERR_INVALID_ARG);
    CHECK_STR(err ? err->field : NULL, "chunk_size");
    cos_error_free(err);
    err = NULL;
    cos_transfer_params cp = COS_TRANSFER_PARAMS_INIT;
    cp.bucket = BUCKET;
    cp.key = "copy.bin";
    CHECK_INT(cos_slice_copy_file(g_c, &cp, &tr, &err), COS_ERR_INVALID_ARG);
    CHECK_STR(err ? err->field : NULL, "copy_source");
    cos_error_free(err);
    err = NULL;
    /* uploadFiles says which file and which field */
    cos_transfer_params files[2] = { COS_TRANSFER_PARAMS_INIT, COS_TRANSFER_PARAMS_INIT };
    files[0].bucket = files[1].bucket = BUCKET;
    files[0].key = "a";
    files[1].key = "b";
    files[0].file_path = "/nonexistent";
    cos_upload_files_params ufp = COS_UPLOAD_FILES_PARAMS_INIT;
    ufp.files = files;
    ufp.file_count = 2;
    CHECK(cos_upload_files(g_c, &ufp, &err) != 0);
    CHECK(err != NULL);
    cos_error_free(err);
    err = NULL;
    files[0].file_path = NULL;
    files[1].file_path = NULL;
    CHECK_INT(cos_upload_files(g_c, &ufp, &err), COS_ERR_INVALID_ARG);
    CHECK_STR(err ? err->field : NULL, "file_path");
    CHECK(err && strstr(cos_error_message(err), "file 0"));
    cos_error_free(err);
    CHECK_INT(called, 0);
}

static void test_error_out_parameter_contract(void)
{
    /* a failure replaces (and frees: ASan/valgrind would see a leak) what was there */
    cos_error *err = stale_error();
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = "no/such/key";
    cos_result *res = (cos_result *)&r; /* must be set to NULL, not left */
    CHECK_INT(cos_get_object(g_c, &r, &res, &err), COS_ERR_SERVER);
    CHECK(res == NULL);
    CHECK(err && err->http_status == 404);
    /* a success leaves NULL, never the previous call's error */
    r.key = "dir/loc.txt";
    CHECK_INT(cos_head_object(g_c, &r, &res, &err), 0);
    CHECK(err == NULL);
    cos_result_free(res);
    /* the same holds for the other families of functions */
    err = stale_error();
    cos_url_params u = COS_URL_PARAMS_INIT;
    u.bucket = BUCKET;
    u.key = "x";
    char *url = NULL;
    CHECK_INT(cos_get_object_url(g_c, &u, &url, &err), 0);
    CHECK(err == NULL);
    free(url);
    err = stale_error();
    cos_sign_params sp = COS_SIGN_PARAMS_INIT;
    sp.secret_id = TEST_SECRET_ID;
    sp.secret_key = TEST_SECRET_KEY;
    sp.method = "get";
    sp.key = "x";
    char *auth = NULL;
    CHECK_INT(cos_sign(&sp, &auth, NULL, &err), 0);
    CHECK(err == NULL);
    free(auth);
    err = stale_error();
    char *p = tmp_path("contract-up.bin");
    CHECK_INT(test_write_lcg_file(p, 1000, 1), 0);
    cos_transfer_params up = COS_TRANSFER_PARAMS_INIT;
    up.bucket = BUCKET;
    up.key = "contract-up.bin";
    up.file_path = p;
    cos_transfer_result *tr = NULL;
    CHECK_INT(cos_upload_file(g_c, &up, &tr, &err), 0);
    CHECK(err == NULL);
    cos_transfer_result_free(tr);
    free(p);
    cos_error_free(err);
    /* a program that ignores a failed cos_object_iter_new goes on with NULL: an error, not a crash */
    err = NULL;
    const cos_object_summary *o = (const cos_object_summary *)&r;
    CHECK_INT(cos_object_iter_next(NULL, &o, &err), COS_ERR_INVALID_ARG);
    CHECK(o == NULL && err && err->field && !strcmp(err->field, "it"));
    cos_error_free(err);
}

typedef struct progress_seen { int calls; cos_progress last; bool total_zero_with_bytes; } progress_seen;
static void record_progress(void *ud, const cos_progress *p)
{
    progress_seen *s = ud;
    s->calls++;
    s->last = *p;
    if (p->total == 0 && p->loaded > 0) s->total_zero_with_bytes = true;
}

static void test_request_progress(void)
{
    char *p = tmp_path("progress.bin");
    CHECK_INT(test_write_lcg_file(p, 3 * MIB, 5), 0);
    progress_seen up = { 0 };
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = "progress.bin";
    r.body.file_path = p;
    r.on_progress = record_progress;
    r.progress_user_data = &up;
    cos_result *res = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_put_object(g_c, &r, &res, &err), err);
    cos_result_free(res);
    CHECK(up.calls >= 1);
    CHECK_INT(up.last.total, 3 * MIB);
    CHECK_INT(up.last.loaded, 3 * MIB);
    CHECK(up.last.speed > 0);
    CHECK(up.last.percent == 1.0);
    CHECK(!up.total_zero_with_bytes);
    progress_seen down = { 0 };
    cos_request g = COS_REQUEST_INIT;
    g.bucket = BUCKET;
    g.key = "progress.bin";
    char *out = tmp_path("progress.out");
    g.sink.file_path = out;
    g.on_progress = record_progress;
    g.progress_user_data = &down;
    CHECK_OK(cos_get_object(g_c, &g, &res, &err), err);
    cos_result_free(res);
    CHECK(down.calls >= 1);
    CHECK_INT(down.last.total, 3 * MIB);
    CHECK_INT(down.last.loaded, 3 * MIB);
    CHECK(down.last.speed > 0);
    CHECK(!down.total_zero_with_bytes);
    free(out);
    free(p);
}

/* ---------------------------------------------------------------- where a request's own callbacks run */

/* A body read from a callback and a sink written to one, each noting the
 * thread it ran on. */
typedef struct thread_seen {
    pthread_t caller;
    int reads, writes, reads_elsewhere, writes_elsewhere;
    size_t pos, got;
    const char *data;
    size_t size;
    pthread_mutex_t m;
    pthread_cond_t cv;
    bool done;
    int rc;
} thread_seen;

static int64_t seen_read(void *ud, void *buf, size_t len)
{
    thread_seen *t = ud;
    t->reads++;
    if (!pthread_equal(pthread_self(), t->caller)) t->reads_elsewhere++;
    size_t n = t->size - t->pos < len ? t->size - t->pos : len;
    memcpy(buf, t->data + t->pos, n);
    t->pos += n;
    return (int64_t)n;
}

static int seen_seek(void *ud, uint64_t off)
{
    ((thread_seen *)ud)->pos = (size_t)off;
    return 0;
}

static int seen_write(void *ud, const void *buf, size_t len)
{
    thread_seen *t = ud;
    t->writes++;
    if (!pthread_equal(pthread_self(), t->caller)) t->writes_elsewhere++;
    if (t->got + len > t->size || memcmp(t->data + t->got, buf, len) != 0) return -1;
    t->got += len;
    return 0;
}

static void seen_done(void *ud, int rc, cos_result *res, cos_error *err)
{
    thread_seen *t = ud;
    cos_result_free(res);
    cos_error_free(err);
    pthread_mutex_lock(&t->m);
    t->rc = rc;
    t->done = true;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->m);
}

/* docs/ownership.md: a synchronous call moves its bytes on the calling
 * thread (its body and sink callbacks run there: no hop to a network thread
 * and back), an async one on a network thread (never the caller's). */
static void test_sync_exchange_on_calling_thread(void)
{
    static char data[100000];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (char)(i * 7 + 3);
    for (int async = 0; async < 2; async++) {
        thread_seen t = { .caller = pthread_self(), .data = data, .size = sizeof data };
        pthread_mutex_init(&t.m, NULL);
        pthread_cond_init(&t.cv, NULL);
        cos_request r = COS_REQUEST_INIT;
        r.bucket = BUCKET;
        r.key = "threads.bin";
        r.body.read = seen_read;
        r.body.seek = seen_seek;
        r.body.read_user_data = &t;
        r.body.length = (int64_t)sizeof data;
        cos_result *res = NULL;
        cos_error *err = NULL;
        if (async) {
            CHECK_INT(cos_put_object_async(g_c, &r, seen_done, &t), 0);
            pthread_mutex_lock(&t.m);
            while (!t.done) pthread_cond_wait(&t.cv, &t.m);
            pthread_mutex_unlock(&t.m);
            CHECK_INT(t.rc, 0);
        } else {
            CHECK_OK(cos_put_object(g_c, &r, &res, &err), err);
            cos_result_free(res);
        }
        CHECK(t.reads > 0);
        CHECK_INT(t.reads_elsewhere, async ? t.reads : 0);
        cos_request g = COS_REQUEST_INIT;
        g.bucket = BUCKET;
        g.key = "threads.bin";
        g.sink.write = seen_write;
        g.sink.write_user_data = &t;
        t.done = false;
        if (async) {
            CHECK_INT(cos_get_object_async(g_c, &g, seen_done, &t), 0);
            pthread_mutex_lock(&t.m);
            while (!t.done) pthread_cond_wait(&t.cv, &t.m);
            pthread_mutex_unlock(&t.m);
            CHECK_INT(t.rc, 0);
        } else {
            CHECK_OK(cos_get_object(g_c, &g, &res, &err), err);
            cos_result_free(res);
        }
        CHECK_INT(t.got, sizeof data);
        CHECK(t.writes > 0);
        CHECK_INT(t.writes_elsewhere, async ? t.writes : 0);
        pthread_mutex_destroy(&t.m);
        pthread_cond_destroy(&t.cv);
    }
}

/* Bodies in memory up to 64 KiB go out with the headers in one write, larger
 * ones through the read callback: both arrive whole, CRC-checked, and a
 * handle that sent one serves the other (and a GET, a HEAD, a DELETE) next. */
static void test_memory_bodies_around_inline_limit(void)
{
    static char data[(64 << 10) + 1];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (char)(i * 13 + 1);
    size_t sizes[] = { 0, 1, (64 << 10) - 1, 64 << 10, (64 << 10) + 1, 4096 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        cos_request r = COS_REQUEST_INIT;
        r.bucket = BUCKET;
        r.key = "inline.bin";
        r.body.data = data;
        r.body.size = sizes[i];
        cos_result *res = NULL;
        cos_error *err = NULL;
        CHECK_OK(cos_put_object(g_c, &r, &res, &err), err);
        CHECK(res && res->has_crc64 && res->crc64 == cos_crc64(0, data, sizes[i]));
        cos_result_free(res);
        res = NULL;
        cos_request g = COS_REQUEST_INIT;
        g.bucket = BUCKET;
        g.key = "inline.bin";
        CHECK_OK(cos_get_object(g_c, &g, &res, &err), err);
        CHECK(res && res->body_size == sizes[i] && (sizes[i] == 0 || memcmp(res->body, data, sizes[i]) == 0));
        cos_result_free(res);
        res = NULL;
        CHECK_OK(cos_head_object(g_c, &g, &res, &err), err);
        CHECK(res && res->content_length == sizes[i]);
        cos_result_free(res);
        res = NULL;
    }
    cos_request d = COS_REQUEST_INIT;
    d.bucket = BUCKET;
    d.key = "inline.bin";
    cos_error *err = NULL;
    CHECK_OK(cos_delete_object(g_c, &d, NULL, &err), err);
    cos_result *res = NULL;
    CHECK_INT(cos_head_object(g_c, &d, &res, &err), COS_ERR_SERVER);
    cos_error_free(err);
}

/* ---------------------------------------------------------------- ABI: versions */

/* cos_request version 1 (before append_base_crc64) is still read, up to its
 * own size: what lies past it in the caller's memory is taken as zero, so a
 * wrong CRC there is never read; the same request as version 2 is checked. */
static void test_request_version_1_read(void)
{
    cos_client *fresh = test_client(&g_srv); /* remembers no append */
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = "appended-v1";
    r.body.data = "0123456789";
    r.body.size = 10;
    cos_result *res = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_append_object(g_c, &r, &res, &err), err);
    cos_result_free(res);
    res = NULL;
    r.position = 10;
    r.has_append_base_crc64 = true;
    r.append_base_crc64 = 42; /* not the object's CRC */
    r.version = 1;
    CHECK_OK(cos_append_object(fresh, &r, &res, &err), err);
    if (res) CHECK(res->has_crc64 && res->crc64 == cos_crc64(0, "01234567890123456789", 20));
    cos_result_free(res);
    res = NULL;
    r.position = 20;
    r.version = COS_REQUEST_VERSION;
    CHECK_INT(cos_append_object(fresh, &r, &res, &err), COS_ERR_INTEGRITY);
    cos_error_free(err);
    cos_client_free(fresh);
}

static void check_version_refused(int rc, cos_error *err, const char *type)
{
    CHECK_INT(rc, COS_ERR_INVALID_ARG);
    CHECK_STR(err ? err->field : NULL, "version");
    CHECK(err && strstr(cos_error_message(err), type));
    cos_error_free(err);
}

static void test_wrong_versions_refused(void)
{
    cos_config cfg;
    cos_client *c = NULL;
    int bad[] = { 0, 1, COS_CONFIG_VERSION + 1 }; /* never set, retired (inverted switches), from the future */
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        test_config(&cfg, &g_srv);
        cfg.version = bad[i];
        cos_error *err = NULL;
        {
        int rc_ = cos_client_new(&c, &cfg, &err);
        check_version_refused(rc_, err, "cos_config");
    }
        CHECK(c == NULL);
    }
    cos_error *err = NULL;
    cos_request r = COS_REQUEST_INIT;
    r.version = 0;
    r.bucket = BUCKET;
    r.key = "k";
    cos_result *res = NULL;
    {
        int rc_ = cos_get_object(g_c, &r, &res, &err);
        check_version_refused(rc_, err, "cos_request");
    }
    err = NULL;
    int called = 0;
    CHECK_INT(cos_get_object_async(g_c, &r, never_called, &called), COS_ERR_INVALID_ARG);
    CHECK_STR(cos_async_error() ? cos_async_error()->field : NULL, "version");
    cos_url_params u = COS_URL_PARAMS_INIT;
    u.version = 7;
    u.bucket = BUCKET;
    u.key = "k";
    char *url = NULL;
    {
        int rc_ = cos_get_object_url(g_c, &u, &url, &err);
        check_version_refused(rc_, err, "cos_url_params");
    }
    err = NULL;
    cos_transfer_params tp = COS_TRANSFER_PARAMS_INIT;
    tp.version = 0;
    tp.bucket = BUCKET;
    tp.key = "k";
    tp.file_path = "/etc/hostname";
    cos_transfer_result *tr = NULL;
    {
        int rc_ = cos_upload_file(g_c, &tp, &tr, &err);
        check_version_refused(rc_, err, "cos_transfer_params");
    }
    err = NULL;
    cos_upload_files_params ufp = { 0 };
    {
        int rc_ = cos_upload_files(g_c, &ufp, &err);
        check_version_refused(rc_, err, "cos_upload_files_params");
    }
    err = NULL;
    cos_sign_params sp = { 0 };
    sp.secret_id = TEST_SECRET_ID;
    sp.secret_key = TEST_SECRET_KEY;
    char *auth = NULL;
    {
        int rc_ = cos_sign(&sp, &auth, NULL, &err);
        check_version_refused(rc_, err, "cos_sign_params");
    }
    err = NULL;
    cos_sigv4_params v4 = { 0 };
    cos_sigv4_result v4r;
    {
        int rc_ = cos_sigv4_sign(&v4, &v4r, &err);
        check_version_refused(rc_, err, "cos_sigv4_params");
    }
    CHECK_INT(called, 0);
}

/* ---------------------------------------------------------------- item 12: UploadIdCacheLimit */

static int count_checkpoints(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (strlen(de->d_name) == 45 && strstr(de->d_name, ".json")) n++;
    closedir(d);
    return n;
}

static void test_upload_id_cache_limit(void)
{
    char *cpdir = tmp_path("checkpoints");
    mkdir(cpdir, 0700);
    /* five interrupted uploads remembered from earlier runs, oldest first */
    for (int i = 0; i < 5; i++) {
        char name[600];
        snprintf(name, sizeof name, "%s/%040d.json", cpdir, i);
        FILE *f = fopen(name, "w");
        if (f) {
            fputs("{\"upload_id\":\"gone\",\"parts\":[]}\n", f);
            fclose(f);
        }
        struct timespec ts[2] = { { 1000000 + i, 0 }, { 1000000 + i, 0 } };
        utimensat(AT_FDCWD, name, ts, 0);
    }
    FILE *other = NULL;
    char *keep = NULL;
    if (asprintf(&keep, "%s/notes.json", cpdir) >= 0) other = fopen(keep, "w"); /* not ours: left alone */
    if (other) fclose(other);
    cos_config cfg;
    test_config(&cfg, &g_srv);
    cfg.checkpoint_dir = cpdir;
    cfg.upload_id_cache_limit = 3;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    if (!c) return;
    /* a multipart upload remembers its id while it runs: count then */
    char *p = tmp_path("limit.bin");
    CHECK_INT(test_write_lcg_file(p, 3 * MIB, 9), 0);
    cos_transfer_params up = COS_TRANSFER_PARAMS_INIT;
    up.bucket = BUCKET;
    up.key = "limit.bin";
    up.file_path = p;
    up.slice_size = MIB;
    up.chunk_size = MIB;
    cos_transfer_result *tr = NULL;
    CHECK_OK(cos_upload_file(c, &up, &tr, &err), err);
    CHECK(tr && tr->multipart);
    cos_transfer_result_free(tr);
    /* the finished upload removed its own checkpoint; of the five old ones the newest two stay */
    CHECK_INT(count_checkpoints(cpdir), 2);
    char newest[512];
    snprintf(newest, sizeof newest, "%s/%040d.json", cpdir, 4);
    CHECK(access(newest, F_OK) == 0);
    snprintf(newest, sizeof newest, "%s/%040d.json", cpdir, 0);
    CHECK(access(newest, F_OK) != 0);
    CHECK(keep && access(keep, F_OK) == 0);
    cos_client_free(c);
    free(keep);
    free(p);
    free(cpdir);
}

/* ---------------------------------------------------------------- limits at their extremes */

/* Options at the far end of their type: a ChunkSize of UINT64_MAX cut a file
 * into no parts at all (an empty Complete, a download that wrote nothing and
 * failed its CRC); tens of thousands of network threads made cos_client_new
 * take minutes. The first must work, the second be refused up front. */
static void test_extreme_limits(void)
{
    char *src = tmp_path("extreme.bin"), *dst = tmp_path("extreme.down");
    test_write_lcg_file(src, 3 * 1024 * 1024 + 7, 21);
    cos_config cfg;
    test_config(&cfg, &g_srv);
    cfg.chunk_size = UINT64_MAX;
    cfg.copy_chunk_size = UINT64_MAX;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    if (c) {
        cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
        p.bucket = BUCKET;
        p.key = "extreme/chunk";
        p.file_path = src;
        CHECK_OK(cos_upload_file(c, &p, NULL, &err), err);
        p.file_path = dst;
        CHECK_OK(cos_download_file(c, &p, NULL, &err), err);
        CHECK(test_files_equal(src, dst) == 0);
        unlink(dst);
        p.chunk_size = UINT64_MAX; /* per call, on the client's usual settings */
        CHECK_OK(cos_download_file(g_c, &p, NULL, &err), err);
        CHECK(test_files_equal(src, dst) == 0);
        p.file_path = src;
        p.key = "extreme/chunk2";
        CHECK_OK(cos_upload_file(g_c, &p, NULL, &err), err);
        cos_client_free(c);
    }
    test_config(&cfg, &g_srv);
    cfg.network_threads = 100000;
    c = NULL;
    CHECK_INT(cos_client_new(&c, &cfg, &err), COS_ERR_INVALID_ARG);
    CHECK_STR(err ? err->field : NULL, "network_threads");
    CHECK(c == NULL);
    cos_error_free(err);
    unlink(dst);
    free(src);
    free(dst);
}

/* ---------------------------------------------------------------- keys that name no object */

/* A key made only of "/" and "." segments names no object: its path is the
 * bucket's. deleteObject("//") (one "/" dropped, as the SDK does) was a
 * DeleteBucket and deleted the empty bucket; a presigned URL for the key
 * "/" or "" (a server presigning a user's key) was a signed listing of
 * every key of the bucket. Both are refused; real names made of dots
 * ("...") are keys like any other. */
static void test_keys_naming_no_object(void)
{
    const char *empty_bucket = "nokey-" TEST_APPID;
    test_put_bucket(g_c, empty_bucket);
    const char *bad[] = { "//", "///", "/./", "/..", "//./.." };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cos_request r = COS_REQUEST_INIT;
        r.bucket = empty_bucket;
        r.key = bad[i];
        cos_result *res = NULL;
        cos_error *err = NULL;
        CHECK_INT(cos_delete_object(g_c, &r, &res, &err), COS_ERR_INVALID_ARG);
        CHECK(err && err->field && !strcmp(err->field, "key"));
        cos_error_free(err);
        err = NULL;
        r.body.data = "x";
        r.body.size = 1;
        CHECK_INT(cos_put_object(g_c, &r, &res, &err), COS_ERR_INVALID_ARG);
        cos_error_free(err);
        err = NULL;
        r.key = NULL;
        CHECK_OK(cos_head_bucket(g_c, &r, &res, &err), err); /* still there */
        cos_result_free(res);
    }
    const char *bad_url[] = { "", "/", "//", "./", ".." };
    for (size_t i = 0; i < sizeof bad_url / sizeof bad_url[0]; i++) {
        cos_url_params u = COS_URL_PARAMS_INIT;
        u.bucket = BUCKET;
        u.key = bad_url[i];
        char *url = NULL;
        cos_error *err = NULL;
        CHECK_INT(cos_get_object_url(g_c, &u, &url, &err), COS_ERR_INVALID_ARG);
        CHECK(url == NULL);
        CHECK(err && err->message && strstr(err->message, "names no object"));
        cos_error_free(err);
    }
    /* names made of dots are keys */
    cos_request r = COS_REQUEST_INIT;
    r.bucket = empty_bucket;
    r.key = "...";
    r.body.data = "dots";
    r.body.size = 4;
    cos_result *res = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_put_object(g_c, &r, &res, &err), err);
    cos_result_free(res);
    res = NULL;
    CHECK_OK(cos_delete_object(g_c, &r, &res, &err), err);
    cos_result_free(res);
    cos_url_params u = COS_URL_PARAMS_INIT;
    u.bucket = BUCKET;
    u.key = "...";
    char *url = NULL;
    CHECK_OK(cos_get_object_url(g_c, &u, &url, &err), err);
    free(url);
}

/* Keys that have a name segment but resolve to the bucket all the same
 * ("a/..", "a/b/../..", "x/./../"): COS resolves a path's dot segments (the
 * SDK's ObjectKeySimplifyCheck exists for it), so deleteObject of one is a
 * DeleteBucket there and putObjectAcl of one sets the bucket's ACL. They were
 * sent (only keys made of '/' and '.' alone were refused). Keys that still
 * name an object after resolving are sent. */
static void test_keys_resolving_to_bucket(void)
{
    const char *b = "resolve-" TEST_APPID;
    test_put_bucket(g_c, b);
    const char *bad[] = { "a/..", "a/../", "a/b/../..", "x/./../", "/a/..", "a//..", "../a/.." };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cos_request r = COS_REQUEST_INIT;
        r.bucket = b;
        r.key = bad[i];
        cos_result *res = NULL;
        cos_error *err = NULL;
        int rc = cos_delete_object(g_c, &r, &res, &err);
        if (rc != COS_ERR_INVALID_ARG) test_fail(__FILE__, __LINE__, "deleteObject(\"%s\") was sent: %d", bad[i], rc);
        cos_result_free(res);
        res = NULL;
        cos_error_free(err);
        err = NULL;
        r.acl = "public-read";
        rc = cos_put_object_acl(g_c, &r, &res, &err);
        if (rc != COS_ERR_INVALID_ARG) test_fail(__FILE__, __LINE__, "putObjectAcl(\"%s\") was sent: %d", bad[i], rc);
        cos_result_free(res);
        res = NULL;
        cos_error_free(err);
        err = NULL;
        r.acl = NULL;
        r.body.data = "x";
        r.body.size = 1;
        CHECK_INT(cos_put_object(g_c, &r, &res, &err), COS_ERR_INVALID_ARG);
        cos_result_free(res);
        res = NULL;
        cos_error_free(err);
        cos_url_params u = COS_URL_PARAMS_INIT;
        u.bucket = b;
        u.key = bad[i];
        char *url = NULL;
        err = NULL;
        CHECK_INT(cos_get_object_url(g_c, &u, &url, &err), COS_ERR_INVALID_ARG);
        CHECK(url == NULL);
        free(url);
        cos_error_free(err);
    }
    /* still names an object once resolved: sent */
    const char *good[] = { "./a", "a//b", "a/../b", "..a", "a/...", "a..", ".a/." };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        cos_request r = COS_REQUEST_INIT;
        r.bucket = b;
        r.key = good[i];
        r.body.data = "k";
        r.body.size = 1;
        cos_result *res = NULL;
        cos_error *err = NULL;
        int rc = cos_put_object(g_c, &r, &res, &err);
        if (rc != 0) test_fail(__FILE__, __LINE__, "putObject(\"%s\"): %d %s", good[i], rc, err ? cos_error_message(err) : "");
        cos_result_free(res);
        res = NULL;
        cos_error_free(err);
        err = NULL;
        CHECK_OK(cos_delete_object(g_c, &r, &res, &err), err);
        cos_result_free(res);
    }
}

/* ---------------------------------------------------------------- a future freed early */

/* A program that gives up on a future (an early return) frees it while its
 * call is still in flight. cos_future_done then wrote into freed memory
 * (valgrind and ASan: invalid write); now the free is deferred to the
 * outcome, which is discarded. The call is held in its credential callback
 * until the future is freed, so the order is certain. */
static test_latch g_cred_release = TEST_LATCH_INIT;
static int held_cred(void *ud, const cos_auth_request *req, cos_credentials_sink *sink, cos_error **err)
{
    (void)ud;
    (void)req;
    (void)err;
    test_latch_wait(&g_cred_release, 1);
    return cos_credentials_set(sink, TEST_SECRET_ID, TEST_SECRET_KEY, NULL, 0, 0);
}

static void test_future_freed_before_outcome(void)
{
    cos_config cfg;
    test_config(&cfg, &g_srv);
    cfg.secret_id = NULL;
    cfg.secret_key = NULL;
    cfg.get_authorization = held_cred;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    if (!c) return;
    test_watch(60, "a future freed before its outcome", &g_srv);
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    cos_future *f = cos_future_new();
    CHECK(f != NULL);
    CHECK_INT(cos_head_bucket_async(c, &r, cos_future_done, f), 0);
    cos_future_free(f);                /* its call waits in the credential callback */
    test_latch_add(&g_cred_release);   /* now it completes, into the freed future */
    cos_client_free(c);                /* waits for that completion */
    /* a future never handed to a call, and one whose call was refused, free at once */
    cos_future_free(cos_future_new());
    cos_client *c2 = test_client(&g_srv);
    f = cos_future_new();
    cos_request bad = COS_REQUEST_INIT; /* no bucket: refused up front, done never runs */
    CHECK(cos_head_bucket_async(c2, &bad, cos_future_done, f) != 0);
    cos_future_free(f);
    cos_client_free(c2);
    test_unwatch();
}

/* A file whose size says 0 but whose read() gives bytes (/proc, /sys): a
 * whole-file body sent st_size bytes and stored an empty object, rc 0 (a
 * silent truncation); uploadFile stored it too and then failed on the CRC.
 * Both refuse it up front now, and nothing is stored. */
static void test_procfs_body_refused(void)
{
    const char *proc = "/proc/self/status";
    struct stat st;
    if (stat(proc, &st) != 0 || st.st_size != 0) {
        printf("# no /proc/self/status of size 0 here: skipped\n");
        return;
    }
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = "proc-status";
    r.body.file_path = proc;
    cos_result *res = NULL;
    cos_error *err = NULL;
    CHECK_INT(cos_put_object(g_c, &r, &res, &err), COS_ERR_INVALID_ARG);
    CHECK(err && err->field && !strcmp(err->field, "body.file_path"));
    cos_result_free(res);
    cos_error_free(err);
    err = NULL;
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = BUCKET;
    p.key = "proc-status";
    p.file_path = proc;
    CHECK(cos_upload_file(g_c, &p, NULL, &err) != 0);
    cos_error_free(err);
    CHECK_INT(object_size("proc-status"), (uint64_t)-1); /* nothing stored */
}

int main(void)
{
    g_dir = test_tmpdir("contract");
    if (test_server_start(&g_srv, NULL) != 0) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    g_c = test_client(&g_srv);
    test_put_bucket(g_c, BUCKET);
    RUN(test_zeroed_config_is_init);
    RUN(test_zeroed_url_params_sign);
    RUN(test_file_body_is_whole_file);
    RUN(test_file_changing_size_fails);
    RUN(test_location);
    RUN(test_async_refusal_has_detail);
    RUN(test_error_out_parameter_contract);
    RUN(test_request_progress);
    RUN(test_sync_exchange_on_calling_thread);
    RUN(test_memory_bodies_around_inline_limit);
    RUN(test_wrong_versions_refused);
    RUN(test_request_version_1_read);
    RUN(test_upload_id_cache_limit);
    RUN(test_extreme_limits);
    RUN(test_keys_naming_no_object);
    RUN(test_keys_resolving_to_bucket);
    RUN(test_future_freed_before_outcome);
    RUN(test_procfs_body_refused);
    cos_client_free(g_c);
    test_server_stop(&g_srv, false);
    test_rmtree(g_dir);
    free(g_dir);
    return test_report();
}

/* test_crash.c — kill -9 cos-server during concurrent uploads, restart it on the same
 * data directory, and check that every acknowledged object is intact and nothing torn
 * is visible; repeated a few times at different moments. */
#define _GNU_SOURCE
#include "testlib.h"
#include <pthread.h>
#include <unistd.h>

#define BUCKET "crash-" TEST_APPID
#define N 48

typedef struct slot {
    char key[32];
    unsigned char *data;
    size_t len;
    uint64_t crc;
    int acked;     /* 1 when the server said 200 */
    int done;
} slot;

static pthread_mutex_t g_m = PTHREAD_MUTEX_INITIALIZER;

static void on_put(void *ud, int rc, cos_result *res, cos_error *err)
{
    slot *s = ud;
    pthread_mutex_lock(&g_m);
    s->acked = rc == 0;
    s->done = 1;
    pthread_mutex_unlock(&g_m);
    cos_result_free(res);
    cos_error_free(err);
}

static void one_round(test_server *srv, int round, int kill_after_ms)
{
    cos_config cfg;
    test_config(&cfg, srv);
    cfg.max_retries = -1; /* we want to see the failures, not hide them */
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    if (!c) return;
    slot *slots = calloc(N, sizeof *slots);
    for (int i = 0; i < N; i++) {
        snprintf(slots[i].key, sizeof slots[i].key, "r%d/obj-%02d", round, i);
        /* a third small enough to be stored in SQLite, the rest in files */
        slots[i].len = i % 3 == 0 ? (size_t)(1 + i * 1024) : (size_t)(64 * 1024 + i * 37 * 1024);
        slots[i].data = malloc(slots[i].len);
        test_lcg_fill(slots[i].data, slots[i].len, (uint32_t)(round * 1000 + i));
        slots[i].crc = cos_crc64(0, slots[i].data, slots[i].len);
        cos_request r = COS_REQUEST_INIT;
        r.bucket = BUCKET;
        r.key = slots[i].key;
        r.body.data = slots[i].data;
        r.body.size = slots[i].len;
        if (cos_put_object_async(c, &r, on_put, &slots[i]) != 0) slots[i].done = 1;
    }
    cos_sleep_ms_for_tests(kill_after_ms);
    test_server_kill(srv);
    for (int t = 0; t < 3000; t++) { /* every callback arrives, with an error or not */
        int done = 0;
        pthread_mutex_lock(&g_m);
        for (int i = 0; i < N; i++) done += slots[i].done;
        pthread_mutex_unlock(&g_m);
        if (done == N) break;
        cos_sleep_ms_for_tests(10);
    }
    cos_client_free(c);
    CHECK(test_server_start(srv, NULL) == 0); /* same root */
    test_config(&cfg, srv);
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    int acked = 0;
    for (int i = 0; i < N && c; i++) {
        cos_request g = COS_REQUEST_INIT;
        g.bucket = BUCKET;
        g.key = slots[i].key;
        cos_result *res = NULL;
        int rc = cos_get_object(c, &g, &res, &err); /* libcos checks the CRC of what it receives */
        if (slots[i].acked) {
            acked++;
            CHECK_OK(rc, err);
            CHECK(res && res->body_size == slots[i].len && cos_crc64(0, res->body, res->body_size) == slots[i].crc);
        } else if (rc == 0) { /* not acknowledged but present: then it must be whole */
            CHECK(res->body_size == slots[i].len && cos_crc64(0, res->body, res->body_size) == slots[i].crc);
        } else {
            CHECK(err && err->http_status == 404); /* absent, never torn */
            cos_error_free(err);
            err = NULL;
        }
        cos_result_free(res);
        free(slots[i].data);
    }
    fprintf(stderr, "  round %d: killed after %d ms, %d of %d uploads acknowledged, all intact\n", round, kill_after_ms,
            acked, N);
    free(slots);
    cos_client_free(c);
}

static void test_kill_during_uploads(void)
{
    test_server srv = { 0 };
    if (test_server_start(&srv, NULL) != 0) {
        CHECK(0);
        return;
    }
    test_put_bucket_on(&srv, BUCKET);
    int delays[] = { 2, 4, 8, 16 };
    for (int i = 0; i < 4; i++) one_round(&srv, i, delays[i]);
    test_server_stop(&srv, false);
}

/* Multipart: the server is killed while parts arrive and uploads complete;
 * a completed object (a manifest of its parts) is whole or absent. */
enum { MP_FILES = 6 };
typedef struct mp_slot {
    char key[32], path[300];
    uint64_t crc, len;
    int acked, done;
} mp_slot;

static void on_upload(void *ud, cos_task_id id, int rc, cos_transfer_result *res, cos_error *err)
{
    (void)id;
    mp_slot *s = ud;
    pthread_mutex_lock(&g_m);
    s->acked = rc == 0;
    s->done = 1;
    pthread_mutex_unlock(&g_m);
    cos_transfer_result_free(res);
    cos_error_free(err);
}

static void mp_round(test_server *srv, const char *dir, int round, int kill_after_ms)
{
    cos_config cfg;
    test_config(&cfg, srv);
    cfg.max_retries = -1;
    cfg.chunk_retry_times = -1;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    if (!c) return;
    mp_slot slots[MP_FILES];
    memset(slots, 0, sizeof slots);
    unsigned char *buf = malloc(4u << 20);
    for (int i = 0; i < MP_FILES; i++) {
        mp_slot *s = &slots[i];
        snprintf(s->key, sizeof s->key, "mp%d/obj-%d", round, i);
        snprintf(s->path, sizeof s->path, "%s/mp%d-%d.bin", dir, round, i);
        s->len = (3u << 20) + (uint64_t)i * 100 * 1024;
        test_lcg_fill(buf, (size_t)s->len, (uint32_t)(round * 100 + i + 7));
        s->crc = cos_crc64(0, buf, (size_t)s->len);
        FILE *f = fopen(s->path, "wb");
        CHECK(f && fwrite(buf, 1, (size_t)s->len, f) == s->len);
        if (f) fclose(f);
        cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
        p.bucket = BUCKET;
        p.key = s->key;
        p.file_path = s->path;
        p.chunk_size = 1u << 20;
        p.slice_size = 1u << 20;
        p.no_resume = true;
        if (cos_upload_file_async(c, &p, on_upload, s, NULL) != 0) s->done = 1;
    }
    free(buf);
    cos_sleep_ms_for_tests(kill_after_ms);
    test_server_kill(srv);
    for (int t = 0; t < 3000; t++) {
        int done = 0;
        pthread_mutex_lock(&g_m);
        for (int i = 0; i < MP_FILES; i++) done += slots[i].done;
        pthread_mutex_unlock(&g_m);
        if (done == MP_FILES) break;
        cos_sleep_ms_for_tests(10);
    }
    cos_client_free(c);
    CHECK(test_server_start(srv, NULL) == 0);
    test_config(&cfg, srv);
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    int acked = 0;
    for (int i = 0; i < MP_FILES && c; i++) {
        cos_request g = COS_REQUEST_INIT;
        g.bucket = BUCKET;
        g.key = slots[i].key;
        cos_result *res = NULL;
        int rc = cos_get_object(c, &g, &res, &err);
        if (slots[i].acked) acked++;
        if (rc == 0) {
            CHECK(res->body_size == slots[i].len && cos_crc64(0, res->body, res->body_size) == slots[i].crc);
        } else {
            CHECK(!slots[i].acked);
            CHECK(err && err->http_status == 404);
            cos_error_free(err);
            err = NULL;
        }
        cos_result_free(res);
        unlink(slots[i].path);
    }
    fprintf(stderr, "  multipart round %d: killed after %d ms, %d of %d uploads completed, all intact\n", round,
            kill_after_ms, acked, MP_FILES);
    cos_client_free(c);
}

static void test_kill_during_multipart(void)
{
    test_server srv = { 0 };
    if (test_server_start(&srv, NULL) != 0) {
        CHECK(0);
        return;
    }
    char *dir = test_tmpdir("crash-mp");
    test_put_bucket_on(&srv, BUCKET);
    int delays[] = { 10, 25, 45, 80 }; /* parts in flight, then completions in flight */
    for (int i = 0; i < 4; i++) mp_round(&srv, dir, i, delays[i]);
    test_server_stop(&srv, false);
    test_rmtree(dir);
    free(dir);
}

int main(void)
{
    RUN(test_kill_during_uploads);
    RUN(test_kill_during_multipart);
    return test_report();
}

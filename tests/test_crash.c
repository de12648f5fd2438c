/* test_crash.c — kill -9 cos-server during concurrent uploads, restart it on the same
 * data directory, and check that every acknowledged object is intact and nothing torn
 * is visible; repeated a few times at different moments. */
#define _GNU_SOURCE
#include "testlib.h"
#include <pthread.h>

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
        slots[i].len = (size_t)(64 * 1024 + i * 37 * 1024);
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
    cos_config cfg;
    test_config(&cfg, &srv);
    cos_client *c = NULL;
    cos_client_new(&c, &cfg, NULL);
    cos_request b = COS_REQUEST_INIT;
    b.bucket = BUCKET;
    cos_result *r = NULL;
    cos_put_bucket(c, &b, &r, NULL);
    cos_result_free(r);
    cos_client_free(c);
    int delays[] = { 2, 4, 8, 16 };
    for (int i = 0; i < 4; i++) one_round(&srv, i, delays[i]);
    test_server_stop(&srv, false);
}

int main(void)
{
    RUN(test_kill_during_uploads);
    return test_report();
}

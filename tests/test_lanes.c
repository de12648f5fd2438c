/* test_lanes.c — how async requests are spread over the network threads
 * (engine.c, pick_lane), against cos-server:
 *  - small requests (bodies and answers in memory) gather on one network
 *    thread: spread over two, each answer woke a thread of its own and the
 *    worker after it (issue #21: context switches per async request);
 *    but a lane takes no more of them than it has connections;
 *  - every answer still reaches its own callback with its own bytes.
 * Which thread moves a request's bytes is seen from its on_progress
 * callback, which runs there (docs/ownership.md). A hang fails by a
 * watchdog, never by a timed assertion. */
#define _GNU_SOURCE
#include "testlib.h"
#include <pthread.h>

static test_server g_srv;
static char *g_dir;
#define BUCKET "lanes-" TEST_APPID
#define WAVES 8
#define PER_WAVE 16

/* The distinct threads that reported progress. */
typedef struct seen {
    pthread_mutex_t m;
    pthread_t t[8];
    int n, reports;
} seen;

static void on_progress(void *ud, const cos_progress *p)
{
    (void)p;
    seen *s = ud;
    pthread_t me = pthread_self();
    pthread_mutex_lock(&s->m);
    s->reports++;
    bool known = false;
    for (int i = 0; i < s->n; i++)
        if (pthread_equal(s->t[i], me)) known = true;
    if (!known && s->n < 8) s->t[s->n++] = me;
    pthread_mutex_unlock(&s->m);
}

typedef struct wave {
    pthread_mutex_t m;
    pthread_cond_t cv;
    int done, bad;
} wave;

typedef struct one_req {
    wave *w;
    int i;
    bool get;
} one_req;

static size_t body_size(int i) { return 1000 + (size_t)i * 20; } /* at most 4 KiB: a small request */

static void done_cb(void *ud, int rc, cos_result *res, cos_error *err)
{
    one_req *o = ud;
    bool ok = rc == 0 && res;
    if (ok && o->get) {
        unsigned char want[4096];
        test_lcg_fill(want, body_size(o->i), (uint32_t)o->i);
        ok = res->body_size == body_size(o->i) && memcmp(res->body, want, res->body_size) == 0;
    }
    if (!ok) fprintf(stderr, "request %d: %s\n", o->i, err ? cos_error_message(err) : "wrong body");
    cos_result_free(res);
    cos_error_free(err);
    pthread_mutex_lock(&o->w->m);
    o->w->done++;
    if (!ok) o->w->bad++;
    pthread_cond_signal(&o->w->cv);
    pthread_mutex_unlock(&o->w->m);
}

/* WAVES waves of PER_WAVE requests at once, each wave awaited: PUTs of
 * bodies in memory (each borrowed until its request is done), or GETs of
 * what they wrote. */
static void run_waves(cos_client *c, bool get, seen *s)
{
    static one_req reqs[WAVES * PER_WAVE];
    unsigned char *bodies[PER_WAVE] = { 0 };
    for (int w = 0; w < WAVES; w++) {
        wave all = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0 };
        for (int j = 0; j < PER_WAVE; j++) {
            int i = w * PER_WAVE + j;
            char key[32];
            snprintf(key, sizeof key, "small/%03d", i);
            reqs[i] = (one_req){ &all, i, get };
            cos_request r = COS_REQUEST_INIT;
            r.bucket = BUCKET;
            r.key = key;
            r.on_progress = on_progress;
            r.progress_user_data = s;
            if (!get) {
                bodies[j] = malloc(body_size(i));
                test_lcg_fill(bodies[j], body_size(i), (uint32_t)i);
                r.body.data = bodies[j];
                r.body.size = body_size(i);
            }
            int rc = get ? cos_get_object_async(c, &r, done_cb, &reqs[i]) : cos_put_object_async(c, &r, done_cb, &reqs[i]);
            CHECK_INT(rc, 0);
            if (rc) { /* never called back: counted here */
                pthread_mutex_lock(&all.m);
                all.done++;
                all.bad++;
                pthread_mutex_unlock(&all.m);
            }
        }
        pthread_mutex_lock(&all.m);
        while (all.done < PER_WAVE) pthread_cond_wait(&all.cv, &all.m);
        pthread_mutex_unlock(&all.m);
        CHECK_INT(all.bad, 0);
        for (int j = 0; j < PER_WAVE; j++) {
            free(bodies[j]);
            bodies[j] = NULL;
        }
    }
}

static cos_client *two_lanes(int max_connections)
{
    cos_config cfg;
    test_config(&cfg, &g_srv);
    cfg.network_threads = 2;
    cfg.max_connections = max_connections;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    return c;
}

static void test_small_requests_gather_on_one_lane(void)
{
    cos_client *c = two_lanes(0);
    if (!c) return;
    test_watch(120, "small async requests on two lanes", &g_srv);
    seen puts = { PTHREAD_MUTEX_INITIALIZER, { 0 }, 0, 0 };
    run_waves(c, false, &puts);
    seen gets = { PTHREAD_MUTEX_INITIALIZER, { 0 }, 0, 0 };
    run_waves(c, true, &gets);
    test_unwatch();
    CHECK(puts.reports >= WAVES * PER_WAVE);
    CHECK(gets.reports >= WAVES * PER_WAVE);
    CHECK_INT(puts.n, 1);
    CHECK_INT(gets.n, 1);
    cos_client_free(c);
}

/* With one connection per lane, the second request at once goes to the
 * second lane rather than waiting inside the first for its connection. */
static void test_small_requests_spill_past_a_lanes_connections(void)
{
    cos_client *c = two_lanes(2);
    if (!c) return;
    test_watch(120, "small async requests on two lanes of one connection", &g_srv);
    seen puts = { PTHREAD_MUTEX_INITIALIZER, { 0 }, 0, 0 };
    run_waves(c, false, &puts);
    test_unwatch();
    CHECK(puts.reports >= WAVES * PER_WAVE);
    CHECK_INT(puts.n, 2);
    cos_client_free(c);
}

int main(void)
{
    if (test_server_start(&g_srv, NULL) != 0) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    g_dir = test_tmpdir("lanes");
    test_put_bucket_on(&g_srv, BUCKET);
    RUN(test_small_requests_gather_on_one_lane);
    RUN(test_small_requests_spill_past_a_lanes_connections);
    test_server_stop(&g_srv, false);
    test_rmtree(g_dir);
    free(g_dir);
    return test_report();
}

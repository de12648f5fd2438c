/* test_lanes.c — how async requests are spread over the network threads
 * (engine.c, pick_lane), against cos-server:
 *  - small requests (bodies and answers in memory) gather on one network
 *    thread: spread over two, each answer woke a thread of its own and the
 *    worker after it (issue #21: context switches per async request);
 *    but a lane takes no more of them than it has connections;
 *  - every answer still reaches its own callback with its own bytes.
 *  - a plain request (no callback of the user's while its bytes move)
 *    submitted while the network thread waits is sent by the submitting
 *    thread: the network thread wakes for its answer only, not also to send
 *    it (issue #21: context switches per async request); requests with
 *    on_progress still move their bytes on the network thread only, with
 *    plain ones sent from other threads beside them.
 * Which thread moves a request's bytes is seen from its on_progress
 * callback, which runs there (docs/ownership.md), and how often a thread
 * waited from its voluntary context switches (/proc). A hang fails by a
 * watchdog, never by a timed assertion. */
#define _GNU_SOURCE
#include "testlib.h"
#include <dirent.h>
#include <pthread.h>
#include <unistd.h>

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

/* The id of this process's one thread named name ("cos-net"), or 0 if
 * there is not exactly one. */
static long thread_named(const char *name)
{
    DIR *d = opendir("/proc/self/task");
    if (!d) return 0;
    long found = 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p[300], comm[32] = "";
        snprintf(p, sizeof p, "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(p, "r");
        if (!f) continue;
        if (fgets(comm, sizeof comm, f)) comm[strcspn(comm, "\n")] = '\0';
        fclose(f);
        if (!strcmp(comm, name)) {
            found = atol(e->d_name);
            n++;
        }
    }
    closedir(d);
    return n == 1 ? found : 0;
}

/* How many times thread tid waited (voluntary context switches). */
static long waits_of(long tid)
{
    char p[128], line[256];
    snprintf(p, sizeof p, "/proc/self/task/%ld/status", tid);
    FILE *f = fopen(p, "r");
    long v = -1;
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "voluntary_ctxt_switches: %ld", &v) == 1) break;
    fclose(f);
    return v;
}

typedef struct got {
    test_latch done;
    int bad, rc; /* how many failed; the last one's code */
} got;

static void got_cb(void *ud, int rc, cos_result *res, cos_error *err)
{
    got *g = ud;
    if (rc != 0) g->rc = rc;
    if (rc != 0 || !res || res->body_size != 1000 || memcmp(res->body, "xxxx", 4) != 0) {
        fprintf(stderr, "GET: %s\n", err ? cos_error_message(err) : "wrong body");
        __atomic_add_fetch(&g->bad, 1, __ATOMIC_RELAXED);
    }
    cos_result_free(res);
    cos_error_free(err);
    test_latch_add(&g->done);
}

#define SEQ_GETS 40

/* The 1000-byte object the GETs below read. */
static void put_plain(cos_client *c)
{
    char body[1000];
    memset(body, 'x', sizeof body);
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = "plain/one";
    r.body.data = body;
    r.body.size = sizeof body;
    cos_error *err = NULL;
    CHECK_OK(cos_put_object(c, &r, NULL, &err), err);
}

/* A client with one network thread (and max_retries), the object put. */
static cos_client *one_lane(int max_retries)
{
    cos_config cfg;
    test_config(&cfg, &g_srv);
    cfg.network_threads = 1;
    cfg.max_retries = max_retries;
    cos_client *c = test_client_of(&cfg);
    if (c) put_plain(c);
    return c;
}

/* GETs one at a time, each submitted while the network thread waits: old
 * code woke it for each submission (to send) and again for each answer,
 * two waits per request; sent by the submitter, one (the wait for the
 * answer). The answers come late and the submissions after a pause, so
 * that each wait is a sleep. */
static void test_idle_lane_not_woken_to_send(void)
{
    cos_client *c = one_lane(0);
    if (!c) return;
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = "plain/one";
    long tid = thread_named("cos-net");
    CHECK(tid != 0);
    if (!tid) {
        cos_client_free(c);
        return;
    }
    test_watch(120, "plain GETs one at a time", &g_srv);
    got g = { TEST_LATCH_INIT, 0, 0 };
    CHECK_INT(cos_get_object_async(c, &r, got_cb, &g), 0); /* the connection made */
    test_latch_wait(&g.done, 1);
    /* each answer a little late: the network thread surely sleeps for it */
    test_set_faults(c, &g_srv, "[{\"method\":\"GET\",\"match\":\"plain/one\",\"action\":\"stall\",\"ms\":3,\"times\":1000}]");
    long w0 = waits_of(tid);
    for (int i = 0; i < SEQ_GETS; i++) {
        usleep(2000); /* the network thread is asleep by now, not about to be */
        CHECK_INT(cos_get_object_async(c, &r, got_cb, &g), 0);
        test_latch_wait(&g.done, i + 2);
    }
    long waits = waits_of(tid) - w0;
    test_set_faults(c, &g_srv, NULL);
    test_unwatch();
    CHECK_INT(g.bad, 0);
    if (waits > SEQ_GETS * 3 / 2) test_fail(__FILE__, __LINE__, "the network thread waited %ld times for %d GETs", waits, SEQ_GETS);
    cos_client_free(c);
}

/* Plain GETs sent from four threads at once beside GETs with on_progress,
 * all on one network thread: every answer right, and every progress report
 * made on the network thread (the submitters send only plain requests, and
 * only while nothing else is on the lane). */
typedef struct mixer {
    cos_client *c;
    got *g;
    int n;
} mixer;

static void *plain_submitter(void *arg)
{
    mixer *m = arg;
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = "plain/one";
    for (int i = 0; i < m->n; i++) {
        if (cos_get_object_async(m->c, &r, got_cb, m->g) != 0) {
            __atomic_add_fetch(&m->g->bad, 1, __ATOMIC_RELAXED);
            test_latch_add(&m->g->done);
        }
    }
    return NULL;
}

static _Atomic int g_off_thread, g_reports;

static void progress_where(void *ud, const cos_progress *p)
{
    (void)ud;
    (void)p;
    char name[32] = "";
    pthread_getname_np(pthread_self(), name, sizeof name);
    if (strcmp(name, "cos-net") != 0) g_off_thread++;
    g_reports++;
}

static void test_progress_stays_on_network_thread(void)
{
    cos_client *c = one_lane(0);
    if (!c) return;
    test_watch(120, "plain and progress GETs together", &g_srv);
    got g = { TEST_LATCH_INIT, 0, 0 };
    enum { THREADS = 4, EACH = 48, WITH_PROGRESS = 48 };
    mixer m = { c, &g, EACH };
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, plain_submitter, &m);
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = "plain/one";
    r.on_progress = progress_where;
    for (int i = 0; i < WITH_PROGRESS; i++) CHECK_INT(cos_get_object_async(c, &r, got_cb, &g), 0);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    test_latch_wait(&g.done, THREADS * EACH + WITH_PROGRESS);
    test_unwatch();
    CHECK_INT(g.bad, 0);
    CHECK(g_reports >= WITH_PROGRESS);
    CHECK_INT(g_off_thread, 0);
    cos_client_free(c);
}

/* A request sent by its submitter while the network thread waits (its
 * wait set by the timers it knew) still times out: the submitter wakes the
 * thread when the new request's timer is due sooner. The server holds the
 * answer far longer than the timeout; the watchdog, not a clock, fails a
 * hang. */
static void test_directly_sent_request_times_out(void)
{
    cos_client *c = one_lane(-1);
    if (!c) return;
    test_watch(60, "a directly sent request's timeout", &g_srv);
    test_set_faults(c, &g_srv, "[{\"method\":\"GET\",\"match\":\"plain/one\",\"action\":\"stall\",\"ms\":100000,\"times\":1}]");
    usleep(20000); /* the network thread back in its wait */
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = "plain/one";
    r.timeout_ms = 200;
    got t = { TEST_LATCH_INIT, 0, 0 };
    CHECK_INT(cos_get_object_async(c, &r, got_cb, &t), 0);
    test_latch_wait(&t.done, 1);
    test_unwatch();
    CHECK_INT(t.bad, 1);
    CHECK_INT(t.rc, COS_ERR_TIMEOUT);
    test_set_faults(c, &g_srv, NULL); /* (lets the held request go) */
    cos_client_free(c);
}

int main(void)
{
    const char *args[] = { "--faults", NULL };
    if (test_server_start(&g_srv, args) != 0) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    g_dir = test_tmpdir("lanes");
    test_put_bucket_on(&g_srv, BUCKET);
    RUN(test_small_requests_gather_on_one_lane);
    RUN(test_small_requests_spill_past_a_lanes_connections);
    RUN(test_idle_lane_not_woken_to_send);
    RUN(test_progress_stays_on_network_thread);
    RUN(test_directly_sent_request_times_out);
    test_server_stop(&g_srv, false);
    test_rmtree(g_dir);
    free(g_dir);
    return test_report();
}

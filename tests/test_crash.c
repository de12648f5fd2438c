/* test_crash.c — kill -9 cos-server during concurrent uploads, restart it on the same
 * data directory, and check that every acknowledged object is intact and nothing torn
 * is visible; repeated a few times at different moments. A flood of small PUTs with
 * multi-page commits among them also leaves a database that passes integrity_check. */
#define _GNU_SOURCE
#include "testlib.h"
#include <pthread.h>
#include <sqlite3.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include "util.h"

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
static int g_done, g_acked; /* of this round's writes (under g_m) */
static pid_t g_kill_pid;    /* > 0: SIGKILL it at the g_kill_at-th acknowledgement (under g_m) */
static int g_kill_at;

/* Kill srv at the moment its `acks`-th write of this round is acknowledged,
 * from the callback that learns it: the others are then still in flight
 * (a thread that looked every millisecond came when most were answered,
 * 47 of 48, since one fsync acknowledges a batch). */
static void kill_at_ack(const test_server *srv, int acks)
{
    pthread_mutex_lock(&g_m);
    g_done = g_acked = 0; /* no callback of an earlier round is still to come */
    g_kill_pid = acks > 0 ? srv->pid : 0;
    g_kill_at = acks;
    pthread_mutex_unlock(&g_m);
}

/* A write ended (its callback, or a submission refused): recorded in its slot and counted. */
static void settle(int *done, int *acked, bool ok)
{
    pthread_mutex_lock(&g_m);
    *acked = ok;
    *done = 1;
    g_done++;
    g_acked += ok;
    if (ok && g_kill_pid > 0 && g_acked == g_kill_at) {
        kill(g_kill_pid, SIGKILL); /* reaped by kill_and_restart's test_server_kill */
        g_kill_pid = 0;
    }
    pthread_mutex_unlock(&g_m);
}

/* Wait until `total` writes have ended or at least min_acked (when > 0) are
 * acknowledged; step_ms is how often to look. The bound is only for a hung
 * test: it was 3000 looks (3 s at step 1), short enough under ASan on a
 * loaded machine to kill before min_acked and fail "acked >= 1". */
static void wait_writes(int total, int min_acked, int step_ms)
{
    for (int64_t end = cos_mono_ms() + 180000; cos_mono_ms() < end;) {
        pthread_mutex_lock(&g_m);
        bool enough = g_done == total || (min_acked > 0 && g_acked >= min_acked);
        pthread_mutex_unlock(&g_m);
        if (enough) return;
        cos_sleep_ms_for_tests(step_ms);
    }
}

/* Kill the server, let every callback arrive (with an error or not), start
 * it again on the same root and return a fresh client for the checks. */
/* Kill the server now (if a callback has not), and reap it. */
static void kill_server(test_server *srv)
{
    pthread_mutex_lock(&g_m);
    g_kill_pid = 0; /* (when every write ended before the kill_at_ack count) */
    pthread_mutex_unlock(&g_m);
    test_server_kill(srv);
}

static cos_client *kill_and_restart(test_server *srv, cos_client *c, int total)
{
    kill_server(srv);
    wait_writes(total, 0, 10);
    cos_client_free(c);
    CHECK(test_server_start(srv, NULL) == 0); /* same root */
    return test_client(srv);
}

static void on_put(void *ud, int rc, cos_result *res, cos_error *err)
{
    slot *s = ud;
    settle(&s->done, &s->acked, rc == 0);
    cos_result_free(res);
    cos_error_free(err);
}

/* Start an asynchronous PUT of s's bytes; a PUT that cannot start is settled as failed. */
static void put_slot(cos_client *c, slot *s)
{
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = s->key;
    r.body.data = s->data;
    r.body.size = s->len;
    if (cos_put_object_async(c, &r, on_put, s) != 0) settle(&s->done, &s->acked, false);
}

/* A client that never retries: the tests want to see the failures, not hide them. */
static cos_client *no_retry_client(const test_server *srv)
{
    cos_config cfg;
    test_config(&cfg, srv);
    cfg.max_retries = -1;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    return c;
}

static void one_round(test_server *srv, int round, int kill_after_acks)
{
    kill_at_ack(srv, kill_after_acks);
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
        put_slot(c, &slots[i]);
    }
    /* killed once kill_after_acks are acknowledged, not after a time: under ASan a fixed
       2-16 ms came before any acknowledgement, so nothing acknowledged was checked */
    wait_writes(N, kill_after_acks, 1);
    c = kill_and_restart(srv, c, N);
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
    CHECK(acked >= kill_after_acks); /* the kill came after them: the round checked that many */
    fprintf(stderr, "  round %d: killed after %d acknowledgements, %d of %d uploads acknowledged, all intact\n", round,
            kill_after_acks, acked, N);
    free(slots);
    cos_client_free(c);
}

/* Kill -9 while DELETEs run (batched with each other since the ninth
 * session; a file body is removed once its DELETE is durable): after the
 * restart every acknowledged DELETE is gone, and every other object is gone
 * or whole (a row brought back by the log never names a removed body). */
static void delete_round(test_server *srv, int round, int kill_after_acks)
{
    g_done = g_acked = 0;
    cos_client *c = no_retry_client(srv);
    if (!c) return;
    slot *slots = calloc(N, sizeof *slots);
    cos_error *err = NULL;
    for (int i = 0; i < N; i++) {
        snprintf(slots[i].key, sizeof slots[i].key, "d%d/obj-%02d", round, i);
        slots[i].len = i % 3 == 0 ? (size_t)(1 + i * 1024) : (size_t)(64 * 1024 + i * 1024);
        slots[i].data = malloc(slots[i].len);
        test_lcg_fill(slots[i].data, slots[i].len, (uint32_t)(round * 1000 + i + 500));
        slots[i].crc = cos_crc64(0, slots[i].data, slots[i].len);
        cos_request r = COS_REQUEST_INIT;
        r.bucket = BUCKET;
        r.key = slots[i].key;
        r.body.data = slots[i].data;
        r.body.size = slots[i].len;
        CHECK_OK(cos_put_object(c, &r, NULL, &err), err);
    }
    kill_at_ack(srv, kill_after_acks); /* the DELETEs' acknowledgements, not the PUTs' above */
    for (int i = 0; i < N; i++) {
        cos_request r = COS_REQUEST_INIT;
        r.bucket = BUCKET;
        r.key = slots[i].key;
        if (cos_delete_object_async(c, &r, on_put, &slots[i]) != 0) settle(&slots[i].done, &slots[i].acked, false);
    }
    /* killed once kill_after_acks are acknowledged, not after a time: under ASan on a loaded
       machine the 10-100 ms it was came before any DELETE was acknowledged (0 or 1 of 48) */
    wait_writes(N, kill_after_acks, 1);
    c = kill_and_restart(srv, c, N);
    int acked = 0;
    for (int i = 0; i < N && c; i++) {
        cos_request g = COS_REQUEST_INIT;
        g.bucket = BUCKET;
        g.key = slots[i].key;
        cos_result *res = NULL;
        int rc = cos_get_object(c, &g, &res, &err);
        if (slots[i].acked) acked++;
        if (rc == 0) { /* not deleted: then it must be whole, and not acknowledged as deleted */
            CHECK(!slots[i].acked);
            CHECK(res->body_size == slots[i].len && cos_crc64(0, res->body, res->body_size) == slots[i].crc);
        } else {
            if (!err || err->http_status != 404)
                test_fail(__FILE__, __LINE__, "%s after the restart: %d %s", slots[i].key, err ? err->http_status : 0,
                          err && err->message ? err->message : "");
            cos_error_free(err);
            err = NULL;
        }
        cos_result_free(res);
        free(slots[i].data);
    }
    fprintf(stderr, "  delete round %d: killed after %d acknowledgements, %d of %d DELETEs acknowledged, the rest gone or whole\n",
            round, kill_after_acks, acked, N);
    free(slots);
    cos_client_free(c);
}

/* Four rounds against one server, each round(srv, i, arg[i]). */
static void kill_rounds(void (*round)(test_server *, int, int), const int arg[4])
{
    test_server srv = { 0 };
    if (test_server_start(&srv, NULL) != 0) {
        CHECK(0);
        return;
    }
    test_put_bucket_on(&srv, BUCKET);
    for (int i = 0; i < 4; i++) round(&srv, i, arg[i]);
    test_server_stop(&srv, false);
}

static void test_kill_during_uploads(void) { kill_rounds(one_round, (const int[]){ 1, 6, 16, 32 }); }
static void test_kill_during_deletes(void) { kill_rounds(delete_round, (const int[]){ 1, 5, 15, 30 }); }

/* A graceful stop (SIGTERM) while small PUTs and DELETEs are in flight: the
 * writes gathered into one transaction (store.c, put_batched) are answered
 * or not, the server exits by itself (no hang with writes waiting for a
 * batch or its fsync, no abort), and after a restart every acknowledged PUT
 * is whole, every acknowledged DELETE gone, the rest old or new, never torn. */
#define STOP_N 64
typedef struct stop_slot {
    slot put;        /* a PUT of this round's key */
    char del_key[32]; /* a DELETE of the round before's key (acknowledged PUT) */
    int del_done, del_acked;
} stop_slot;

static void on_delete(void *ud, int rc, cos_result *res, cos_error *err)
{
    stop_slot *s = ud;
    settle(&s->del_done, &s->del_acked, rc == 0);
    cos_result_free(res);
    cos_error_free(err);
}

static stop_slot *g_stop_prev;

static void stop_round(test_server *srv, int round, int min_acked)
{
    stop_slot *prev = g_stop_prev;
    g_done = g_acked = 0;
    cos_client *c = no_retry_client(srv);
    if (!c) return;
    stop_slot *slots = calloc(STOP_N, sizeof *slots);
    int total = 0;
    for (int i = 0; i < STOP_N; i++) {
        slot *p = &slots[i].put;
        snprintf(p->key, sizeof p->key, "stop%d/obj-%02d", round, i);
        p->len = (size_t)(1 + (i % 8) * 1024); /* kept in SQLite: the batched path */
        p->data = malloc(p->len);
        test_lcg_fill(p->data, p->len, (uint32_t)(round * 1000 + i));
        p->crc = cos_crc64(0, p->data, p->len);
        put_slot(c, p);
        total++;
        if (prev && prev[i].put.acked) {
            snprintf(slots[i].del_key, sizeof slots[i].del_key, "%s", prev[i].put.key);
            cos_request r = COS_REQUEST_INIT;
            r.bucket = BUCKET;
            r.key = slots[i].del_key;
            if (cos_delete_object_async(c, &r, on_delete, &slots[i]) != 0)
                settle(&slots[i].del_done, &slots[i].del_acked, false);
            total++;
        }
    }
    wait_writes(total, min_acked, 1); /* stopped once enough are acknowledged (or all are done) */
    kill(srv->pid, SIGTERM);
    int status = 0;
    CHECK(waitpid(srv->pid, &status, 0) == srv->pid); /* a stop that hangs fails by the test's timeout */
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    srv->pid = 0;
    wait_writes(total, 0, 10);
    cos_client_free(c);
    CHECK(test_server_start(srv, NULL) == 0);
    c = test_client(srv);
    int acked = 0, deleted = 0;
    for (int i = 0; i < STOP_N && c; i++) {
        cos_error *err = NULL;
        cos_result *res = NULL;
        cos_request g = COS_REQUEST_INIT;
        g.bucket = BUCKET;
        g.key = slots[i].put.key;
        int rc = cos_get_object(c, &g, &res, &err);
        slot *p = &slots[i].put;
        if (p->acked) {
            acked++;
            CHECK_OK(rc, err);
        }
        if (rc == 0) CHECK(res->body_size == p->len && cos_crc64(0, res->body, res->body_size) == p->crc);
        else CHECK(!p->acked && err && err->http_status == 404);
        cos_result_free(res);
        cos_error_free(err);
        if (slots[i].del_key[0]) { /* the round before's object: gone if acknowledged, else whole or gone */
            err = NULL, res = NULL;
            g.key = slots[i].del_key;
            rc = cos_get_object(c, &g, &res, &err);
            if (slots[i].del_acked) {
                deleted++;
                CHECK(rc != 0 && err && err->http_status == 404);
            } else if (rc == 0) {
                CHECK(res->body_size == prev[i].put.len &&
                                    cos_crc64(0, res->body, res->body_size) == prev[i].put.crc);
            }
            cos_result_free(res);
            cos_error_free(err);
        }
    }
    fprintf(stderr, "  stop round %d: stopped after %d acknowledgements, %d of %d PUTs and %d DELETEs acknowledged, all whole\n",
            round, min_acked, acked, STOP_N, deleted);
    cos_client_free(c);
    if (prev) {
        for (int i = 0; i < STOP_N; i++) free(prev[i].put.data);
        free(prev);
    }
    g_stop_prev = slots; /* the next round deletes these */
}

static void test_stop_during_small_writes(void)
{
    g_stop_prev = NULL;
    kill_rounds(stop_round, (const int[]){ 1, 16, 40, 70 });
    if (g_stop_prev) {
        for (int i = 0; i < STOP_N; i++) free(g_stop_prev[i].put.data);
        free(g_stop_prev);
        g_stop_prev = NULL;
    }
}

/* The same keys written by several PUTs at once (the group commit shares one
 * fsync of the metadata log between concurrent writers): the server is
 * killed once `min_acked` of them are acknowledged. After the restart each
 * key holds one of the bodies sent to it, whole; a key with an acknowledged
 * PUT is there. */
#define SK_KEYS 8
#define SK_WRITERS 6
static void same_key_round(test_server *srv, int round, int min_acked)
{
    kill_at_ack(srv, min_acked);
    cos_client *c = no_retry_client(srv);
    cos_error *err = NULL;
    if (!c) return;
    slot *slots = calloc(SK_KEYS * SK_WRITERS, sizeof *slots);
    for (int i = 0; i < SK_KEYS * SK_WRITERS; i++) {
        int k = i % SK_KEYS, w = i / SK_KEYS;
        snprintf(slots[i].key, sizeof slots[i].key, "sk%d/obj-%02d", round, k);
        /* most inline in SQLite (4 KiB, what the group commit serves), some in files */
        slots[i].len = w == SK_WRITERS - 1 ? (size_t)(100 * 1024 + i * 512) : (size_t)(4096 + w * 16 + k);
        slots[i].data = malloc(slots[i].len);
        test_lcg_fill(slots[i].data, slots[i].len, (uint32_t)(round * 7919 + i));
        slots[i].crc = cos_crc64(0, slots[i].data, slots[i].len);
    }
    for (int i = 0; i < SK_KEYS * SK_WRITERS; i++) {
        put_slot(c, &slots[i]);
    }
    wait_writes(SK_KEYS * SK_WRITERS, min_acked, 1); /* kill once enough are acknowledged (or all are done) */
    c = kill_and_restart(srv, c, SK_KEYS * SK_WRITERS);
    int acked = 0;
    for (int k = 0; k < SK_KEYS && c; k++) {
        bool any_acked = false;
        for (int w = 0; w < SK_WRITERS; w++) any_acked = any_acked || slots[w * SK_KEYS + k].acked;
        cos_request g = COS_REQUEST_INIT;
        g.bucket = BUCKET;
        g.key = slots[k].key;
        cos_result *res = NULL;
        int rc = cos_get_object(c, &g, &res, &err);
        if (rc == 0) { /* one of the bodies sent to this key, whole */
            bool one = false;
            for (int w = 0; w < SK_WRITERS; w++) {
                const slot *sl = &slots[w * SK_KEYS + k];
                one = one || (res->body_size == sl->len && cos_crc64(0, res->body, res->body_size) == sl->crc);
            }
            CHECK(one);
        } else {
            CHECK(!any_acked); /* an acknowledged PUT is never lost */
            CHECK(err && err->http_status == 404);
            cos_error_free(err);
            err = NULL;
        }
        acked += any_acked;
        cos_result_free(res);
    }
    for (int i = 0; i < SK_KEYS * SK_WRITERS; i++) free(slots[i].data);
    fprintf(stderr, "  same-key round %d: killed after %d acknowledgements, %d of %d keys acknowledged, all whole\n",
            round, min_acked, acked, SK_KEYS);
    free(slots);
    cos_client_free(c);
}

static void test_kill_during_same_key_puts(void) { kill_rounds(same_key_round, (const int[]){ 1, 4, 12, 30 }); }

/* Multipart: the server is killed while parts arrive and uploads complete,
 * at a moment named by an event, not a time (under ASan fixed 10-80 ms came
 * before any part was stored): once `count` parts are stored (seen by
 * ListParts), or once `count` uploads completed. After the restart a
 * completed object (a manifest of its parts) is whole; one not completed is
 * absent; and every part still listed for an unfinished upload has its
 * chunk's exact size and MD5, never a torn body. */
enum { MP_FILES = 6, MP_CHUNK = 1 << 20 };
typedef struct mp_slot {
    char key[32], path[300];
    uint64_t crc, len;
    int acked, done;
} mp_slot;

static void on_upload(void *ud, cos_task_id id, int rc, cos_transfer_result *res, cos_error *err)
{
    (void)id;
    mp_slot *s = ud;
    settle(&s->done, &s->acked, rc == 0);
    cos_transfer_result_free(res);
    cos_error_free(err);
}

/* Calls fn(ud, key, upload id, part) for every part of every upload under prefix; the parts seen, or -1. */
static int mp_each_part(cos_client *c, const char *prefix,
                        void (*fn)(void *, const char *, const char *, const cos_part_info *), void *ud)
{
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.prefix = prefix;
    cos_result *res = NULL;
    if (cos_multipart_list(c, &r, &res, NULL) != 0 || !res->output.list_uploads) {
        cos_result_free(res);
        return -1;
    }
    int n = 0;
    const cos_list_multipart_uploads_result *l = res->output.list_uploads;
    for (size_t i = 0; i < l->uploads_count && n >= 0; i++) {
        cos_request p = COS_REQUEST_INIT;
        p.bucket = BUCKET;
        p.key = l->uploads[i].key;
        p.upload_id = l->uploads[i].upload_id;
        cos_result *pr = NULL;
        if (cos_multipart_list_part(c, &p, &pr, NULL) == 0 && pr->output.list_parts) {
            for (size_t j = 0; j < pr->output.list_parts->parts_count; j++) {
                if (fn) fn(ud, l->uploads[i].key, l->uploads[i].upload_id, &pr->output.list_parts->parts[j]);
                n++;
            }
        } else if (!pr || !pr->output.list_parts) {
            n = -1; /* (an upload completed meanwhile is a 404 here: counted as not known) */
        }
        cos_result_free(pr);
    }
    cos_result_free(res);
    return n;
}

/* Until `parts` parts are stored under prefix or every upload ended (a bound only ends a hung test). */
static void wait_parts_stored(cos_client *watch, const char *prefix, int parts)
{
    for (int64_t end = cos_mono_ms() + 180000; cos_mono_ms() < end;) {
        pthread_mutex_lock(&g_m);
        bool all = g_done == MP_FILES;
        pthread_mutex_unlock(&g_m);
        if (all || mp_each_part(watch, prefix, NULL, NULL) >= parts) return;
        cos_sleep_ms_for_tests(2);
    }
}

enum { MP_LEFT_MAX = 64 };
typedef struct mp_left {
    int slot, number;
    char upload_id[128], etag[40];
} mp_left;

typedef struct mp_check {
    mp_slot *slots;
    int round, parts;
    mp_left left[MP_LEFT_MAX]; /* the parts listed, in ListParts' order (by upload, by number) */
} mp_check;

/* A part left by an unfinished upload: its chunk of the file, exactly. */
static void mp_part_whole(void *ud, const char *key, const char *upload_id, const cos_part_info *part)
{
    mp_check *k = ud;
    int i = -1;
    for (int f = 0; f < MP_FILES; f++)
        if (!strcmp(k->slots[f].key, key)) i = f;
    CHECK(i >= 0 && !k->slots[i].acked); /* a completed upload lists no parts */
    if (i < 0) return;
    uint64_t off = (uint64_t)(part->part_number - 1) * MP_CHUNK, len = k->slots[i].len;
    size_t want = off < len ? (size_t)COS_MIN(len - off, (uint64_t)MP_CHUNK) : 0;
    unsigned char *buf = malloc(MP_CHUNK), d[16];
    char hex[40] = "\"";
    FILE *f = fopen(k->slots[i].path, "rb");
    bool got = f && fseek(f, (long)off, SEEK_SET) == 0 && fread(buf, 1, want, f) == want;
    if (f) fclose(f);
    cos_md5_digest(buf, want, d);
    cos_hex_encode(d, 16, hex + 1);
    strcat(hex, "\"");
    CHECK(got && part->size == want);
    if (!part->etag || strcmp(part->etag, hex))
        test_fail(__FILE__, __LINE__, "round %d: %s part %d: ETag %s, its bytes' MD5 %s", k->round, key,
                  part->part_number, part->etag ? part->etag : "(none)", hex);
    if (k->parts < MP_LEFT_MAX) {
        mp_left *e = &k->left[k->parts];
        e->slot = i;
        e->number = part->part_number;
        snprintf(e->upload_id, sizeof e->upload_id, "%s", upload_id);
        snprintf(e->etag, sizeof e->etag, "%s", part->etag ? part->etag : "");
    }
    k->parts++;
    free(buf);
}

/* Each unfinished upload completed with the parts it lists: the object is
 * their chunks of the file, byte for byte (a listed part whose size and ETag
 * are right but whose stored bytes were torn would show here). */
static void mp_complete_left(cos_client *c, const mp_check *k)
{
    CHECK(k->parts <= MP_LEFT_MAX);
    for (int a = 0, b; a < k->parts && a < MP_LEFT_MAX; a = b) {
        for (b = a; b < k->parts && b < MP_LEFT_MAX && !strcmp(k->left[b].upload_id, k->left[a].upload_id);) b++;
        const mp_slot *s = &k->slots[k->left[a].slot];
        cos_complete_part parts[MP_LEFT_MAX];
        unsigned char *want = malloc((size_t)(b - a) * MP_CHUNK);
        size_t total = 0;
        FILE *f = fopen(s->path, "rb");
        for (int j = a; j < b; j++) {
            parts[j - a] = (cos_complete_part){ .part_number = k->left[j].number, .etag = (char *)k->left[j].etag };
            uint64_t off = (uint64_t)(k->left[j].number - 1) * MP_CHUNK;
            if (f && fseek(f, (long)off, SEEK_SET) == 0) total += fread(want + total, 1, MP_CHUNK, f);
        }
        if (f) fclose(f);
        cos_complete_multipart_upload cm = { parts, (size_t)(b - a) };
        cos_request cr = COS_REQUEST_INIT;
        cr.bucket = BUCKET;
        cr.key = s->key;
        cr.upload_id = k->left[a].upload_id;
        cr.input.complete = &cm;
        cos_result *res = NULL;
        cos_error *err = NULL;
        CHECK_OK(cos_multipart_complete(c, &cr, &res, &err), err);
        cos_result_free(res);
        res = NULL;
        cos_request g = COS_REQUEST_INIT;
        g.bucket = BUCKET;
        g.key = s->key;
        CHECK_OK(cos_get_object(c, &g, &res, &err), err);
        if (res && (res->body_size != total || memcmp(res->body, want, total) != 0))
            test_fail(__FILE__, __LINE__, "round %d: %s completed from its %d parts left: %zu bytes, not their %zu",
                      k->round, s->key, b - a, res->body_size, total);
        cos_result_free(res);
        free(want);
    }
}

/* kill once `count` parts are stored (by_uploads false) or `count` uploads completed */
static void mp_round(test_server *srv, const char *dir, int round, bool by_uploads, int count)
{
    kill_at_ack(srv, by_uploads ? count : 0);
    cos_config cfg;
    test_config(&cfg, srv);
    cfg.max_retries = -1;
    cfg.chunk_retry_times = -1;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    if (!c) return;
    cos_client *watch = by_uploads ? NULL : no_retry_client(srv);
    char prefix[16];
    snprintf(prefix, sizeof prefix, "mp%d/", round);
    mp_slot slots[MP_FILES];
    memset(slots, 0, sizeof slots);
    unsigned char *buf = malloc(4u << 20);
    for (int i = 0; i < MP_FILES; i++) {
        mp_slot *s = &slots[i];
        snprintf(s->key, sizeof s->key, "%sobj-%d", prefix, i);
        snprintf(s->path, sizeof s->path, "%s/mp%d-%d.bin", dir, round, i);
        s->len = (3u << 20) + (uint64_t)i * 100 * 1024;
        test_lcg_fill(buf, (size_t)s->len, (uint32_t)(round * 100 + i + 7));
        s->crc = cos_crc64(0, buf, (size_t)s->len);
        FILE *f = fopen(s->path, "wb");
        CHECK(f && fwrite(buf, 1, (size_t)s->len, f) == s->len);
        if (f) fclose(f);
    }
    free(buf);
    for (int i = 0; i < MP_FILES; i++) { /* all files written first: the kill may come at once */
        mp_slot *s = &slots[i];
        cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
        p.bucket = BUCKET;
        p.key = s->key;
        p.file_path = s->path;
        p.chunk_size = MP_CHUNK;
        p.slice_size = MP_CHUNK;
        p.no_resume = true;
        if (cos_upload_file_async(c, &p, on_upload, s, NULL) != 0) settle(&s->done, &s->acked, false);
    }
    if (by_uploads) wait_writes(MP_FILES, count, 1);
    else wait_parts_stored(watch, prefix, count);
    c = kill_and_restart(srv, c, MP_FILES);
    cos_client_free(watch);
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
    }
    static mp_check k; /* (large: not on the stack) */
    memset(&k, 0, sizeof k);
    k.slots = slots;
    k.round = round;
    CHECK(!c || mp_each_part(c, prefix, mp_part_whole, &k) >= 0);
    if (c) mp_complete_left(c, &k);
    if (by_uploads) CHECK(acked >= count); /* the kill came after them: the round checked that many */
    for (int i = 0; i < MP_FILES; i++) unlink(slots[i].path);
    fprintf(stderr, "  multipart round %d: killed after %d %s, %d of %d uploads completed, all intact; %d parts left, each whole and completed into its bytes\n",
            round, count, by_uploads ? "completions" : "parts stored", acked, MP_FILES, k.parts);
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
    /* parts in flight, then completions in flight */
    mp_round(&srv, dir, 0, false, 1);
    mp_round(&srv, dir, 1, false, 6);
    mp_round(&srv, dir, 2, true, 1);
    mp_round(&srv, dir, 3, true, 4);
    test_server_stop(&srv, false);
    test_rmtree(dir);
    free(dir);
}

/* Parts: an UploadPart the server acknowledged survives a kill -9 that lands
 * while other parts arrive: after the restart ListParts has it with the ETag
 * it was acknowledged with (the MD5 of its bytes), and the upload completes
 * with it into the exact bytes. Parts of odd sizes, many at once: large
 * bodies are hashed side by side by the server's hashing thread and renamed
 * into place before their fsync (store.c data_finish). */
enum { AP_PARTS = 16 };
typedef struct ap_slot {
    int number;
    unsigned char *data;
    size_t len;
    char etag[40]; /* "…" as acknowledged */
    int acked, done;
} ap_slot;

static void on_part(void *ud, int rc, cos_result *res, cos_error *err)
{
    ap_slot *s = ud;
    if (rc == 0 && res && res->etag) snprintf(s->etag, sizeof s->etag, "%s", res->etag);
    settle(&s->done, &s->acked, rc == 0 && s->etag[0]);
    cos_result_free(res);
    cos_error_free(err);
}

static void ap_round(test_server *srv, int round, int min_acked)
{
    kill_at_ack(srv, min_acked);
    cos_client *c = no_retry_client(srv);
    cos_error *err = NULL;
    if (!c) return;
    char key[32];
    snprintf(key, sizeof key, "ap%d/obj", round);
    cos_request ini = COS_REQUEST_INIT;
    ini.bucket = BUCKET;
    ini.key = key;
    cos_result *res = NULL;
    CHECK_OK(cos_multipart_init(c, &ini, &res, &err), err);
    char *upload_id = res && res->output.initiate ? cos_strdup(res->output.initiate->upload_id) : NULL;
    cos_result_free(res);
    if (!upload_id) {
        cos_client_free(c);
        return;
    }
    ap_slot *slots = calloc(AP_PARTS, sizeof *slots);
    for (int i = 0; i < AP_PARTS; i++) {
        ap_slot *s = &slots[i];
        s->number = i + 1;
        s->len = (size_t)(1024 * 1024 + 1) + (size_t)i * 201 * 1024 + (size_t)i * 13; /* 1 MiB + 1 to ~4 MiB */
        s->data = malloc(s->len);
        test_lcg_fill(s->data, s->len, (uint32_t)(round * 1000 + i + 11));
        cos_request p = COS_REQUEST_INIT;
        p.bucket = BUCKET;
        p.key = key;
        p.upload_id = upload_id;
        p.part_number = s->number;
        p.body.data = s->data;
        p.body.size = s->len;
        if (cos_multipart_upload_async(c, &p, on_part, s) != 0) settle(&s->done, &s->acked, false);
    }
    /* kill as soon as min_acked parts are acknowledged: the rest are in flight or done */
    wait_writes(AP_PARTS, min_acked, 2);
    c = kill_and_restart(srv, c, AP_PARTS);
    int acked = 0;
    for (int i = 0; i < AP_PARTS; i++) {
        if (!slots[i].acked) continue;
        acked++;
        unsigned char d[16];
        char hex[40];
        cos_md5_digest(slots[i].data, slots[i].len, d);
        hex[0] = '"';
        cos_hex_encode(d, 16, hex + 1);
        strcat(hex, "\"");
        CHECK_STR(slots[i].etag, hex); /* acknowledged with the MD5 of its bytes */
    }
    CHECK(acked >= 1);
    cos_request lp = COS_REQUEST_INIT;
    lp.bucket = BUCKET;
    lp.key = key;
    lp.upload_id = upload_id;
    res = NULL;
    if (c) CHECK_OK(cos_multipart_list_part(c, &lp, &res, &err), err);
    cos_complete_part *parts = calloc(AP_PARTS, sizeof *parts);
    size_t nparts = 0, total = 0;
    if (res && res->output.list_parts) {
        const cos_list_parts_result *l = res->output.list_parts;
        for (int i = 0; i < AP_PARTS; i++) {
            if (!slots[i].acked) continue;
            const cos_part_info *found = NULL;
            for (size_t j = 0; j < l->parts_count; j++)
                if (l->parts[j].part_number == slots[i].number) found = &l->parts[j];
            CHECK(found != NULL);
            if (!found) continue;
            CHECK_STR(found->etag, slots[i].etag);
            CHECK(found->size == slots[i].len);
            parts[nparts].part_number = slots[i].number;
            parts[nparts++].etag = slots[i].etag;
            total += slots[i].len;
        }
    }
    cos_result_free(res);
    res = NULL;
    /* the acknowledged parts alone complete into exactly their bytes */
    cos_complete_multipart_upload cm = { parts, nparts };
    cos_request cr = COS_REQUEST_INIT;
    cr.bucket = BUCKET;
    cr.key = key;
    cr.upload_id = upload_id;
    cr.input.complete = &cm;
    if (c && nparts) CHECK_OK(cos_multipart_complete(c, &cr, &res, &err), err);
    cos_result_free(res);
    res = NULL;
    cos_request g = COS_REQUEST_INIT;
    g.bucket = BUCKET;
    g.key = key;
    if (c && nparts) CHECK_OK(cos_get_object(c, &g, &res, &err), err);
    if (res) {
        CHECK(res->body_size == total);
        size_t off = 0;
        for (size_t j = 0; j < nparts && res->body_size == total; j++) {
            const ap_slot *s = &slots[parts[j].part_number - 1];
            CHECK(memcmp(res->body + off, s->data, s->len) == 0);
            off += s->len;
        }
    }
    cos_result_free(res);
    fprintf(stderr, "  parts round %d: killed after %d of %d parts acknowledged, all there with their ETags\n", round,
            acked, AP_PARTS);
    for (int i = 0; i < AP_PARTS; i++) free(slots[i].data);
    free(slots);
    free(parts);
    free(upload_id);
    cos_client_free(c);
}

static void test_kill_after_parts_acked(void)
{
    test_server srv = { 0 };
    if (test_server_start(&srv, NULL) != 0) {
        CHECK(0);
        return;
    }
    test_put_bucket_on(&srv, BUCKET);
    int min_acked[] = { 1, 3, 6 };
    for (int i = 0; i < 3; i++) ap_round(&srv, i, min_acked[i]);
    test_server_stop(&srv, false);
}

/* A flood of small PUTs (tiny bodies, one commit each, gathered into the
 * log's single writes by walvfs.c) mixed with multi-page commits (bodies of
 * 40-63 KiB kept inline: one transaction of a dozen pages and more), killed
 * once `min_acked` are acknowledged. The database left behind, opened by
 * plain SQLite (not the server's VFS), recovers its log and passes
 * integrity_check; after the restart every acknowledged PUT is there, byte
 * for byte, and the others are absent or whole. */
#define FLOOD 160

static bool db_integrity_ok(const char *root)
{
    char path[320];
    snprintf(path, sizeof path, "%s/meta.db", root);
    sqlite3 *db = NULL;
    bool ok = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK;
    sqlite3_stmt *st = NULL;
    ok = ok && sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
         sqlite3_step(st) == SQLITE_ROW && !strcmp((const char *)sqlite3_column_text(st, 0), "ok");
    if (!ok) fprintf(stderr, "  integrity_check: %s\n", st && sqlite3_column_text(st, 0) ? (const char *)sqlite3_column_text(st, 0) : sqlite3_errmsg(db));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return ok;
}

static void flood_round(test_server *srv, int round, int min_acked)
{
    kill_at_ack(srv, min_acked);
    cos_client *c = no_retry_client(srv);
    cos_error *err = NULL;
    if (!c) return;
    slot *slots = calloc(FLOOD, sizeof *slots);
    for (int i = 0; i < FLOOD; i++) {
        snprintf(slots[i].key, sizeof slots[i].key, "fl%d/obj-%03d", round, i);
        slots[i].len = i % 5 == 4 ? (size_t)(40 * 1024 + i * 150) : (size_t)(1 + i % 97);
        slots[i].data = malloc(slots[i].len);
        test_lcg_fill(slots[i].data, slots[i].len, (uint32_t)(round * 4099 + i));
        slots[i].crc = cos_crc64(0, slots[i].data, slots[i].len);
    }
    for (int i = 0; i < FLOOD; i++) put_slot(c, &slots[i]);
    wait_writes(FLOOD, min_acked, 1);
    kill_server(srv);
    wait_writes(FLOOD, 0, 10);
    cos_client_free(c);
    CHECK(db_integrity_ok(srv->root));
    CHECK(test_server_start(srv, NULL) == 0);
    c = test_client(srv);
    int acked = 0;
    for (int i = 0; i < FLOOD && c; i++) {
        cos_request g = COS_REQUEST_INIT;
        g.bucket = BUCKET;
        g.key = slots[i].key;
        cos_result *res = NULL;
        int rc = cos_get_object(c, &g, &res, &err);
        if (rc == 0) {
            CHECK(res->body_size == slots[i].len && cos_crc64(0, res->body, res->body_size) == slots[i].crc);
        } else {
            CHECK(!slots[i].acked); /* an acknowledged PUT is never lost */
            CHECK(err && err->http_status == 404);
            cos_error_free(err);
            err = NULL;
        }
        acked += slots[i].acked;
        cos_result_free(res);
        free(slots[i].data);
    }
    fprintf(stderr, "  flood round %d: killed after %d acknowledgements, %d of %d acknowledged, all there\n", round,
            min_acked, acked, FLOOD);
    free(slots);
    cos_client_free(c);
}

static void test_kill_during_put_flood(void) { kill_rounds(flood_round, (const int[]){ 1, 10, 40, 100 }); }

int main(void)
{
    RUN(test_kill_during_uploads);
    RUN(test_kill_during_deletes);
    RUN(test_kill_during_same_key_puts);
    RUN(test_kill_during_multipart);
    RUN(test_kill_after_parts_acked);
    RUN(test_kill_during_put_flood);
    RUN(test_stop_during_small_writes);
    return test_report();
}

/* test_load.c — many clients at once against one cos-server: PROCS processes,
 * each with THREADS threads sharing one client, doing mixed put/get/list/
 * delete on a small set of overlapping keys. Every body names its writer and
 * carries a checksum, so a read can tell a whole write from a torn one. Each
 * operation's start and end (CLOCK_MONOTONIC, common to all processes) go to
 * a log; afterwards each key must hold the value of a write (or be absent
 * after a delete) that no other operation on that key definitely followed:
 * the last acknowledged write. Bounded by operation counts, not by time. */
#define _GNU_SOURCE
#include "testlib.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BUCKET "load-" TEST_APPID
enum { PROCS = 3, THREADS = 4, OPS = 120, KEYS = 12 };

static test_server g_srv;
static char g_logdir[512];

typedef enum { OP_PUT, OP_DEL } op_kind;
typedef struct logrec { /* one acknowledged write or delete */
    int key;
    op_kind kind;
    unsigned tag;       /* the writer's tag (proc, thread, seq); 0 for a delete */
    int64_t start_ns, end_ns;
} logrec;

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A body: "TAG <tag> LEN <n> SUM <sum>\n" then n bytes made from the tag.
 * One tag in 13 makes a body of 2.5 MiB, written with uploadFile as three
 * parts, so multipart objects are replaced and read concurrently too. */
enum { BIG = (5 << 19) + 4096, BODY_CAP = BIG + 64 };
static bool big_tag(unsigned tag) { return tag % 13 == 0; }
static size_t body_len(unsigned tag) { return big_tag(tag) ? (5u << 19) + tag % 4096 : (tag * 2654435761u) % 20000; }
static char body_byte(unsigned tag, size_t i) { return (char)('a' + (tag + i * 7) % 26); }

static size_t make_body(unsigned tag, char *buf, size_t cap)
{
    size_t n = body_len(tag);
    unsigned sum = 0;
    for (size_t i = 0; i < n; i++) sum = sum * 31 + (unsigned char)body_byte(tag, i);
    int h = snprintf(buf, cap, "TAG %u LEN %zu SUM %u\n", tag, n, sum);
    for (size_t i = 0; i < n && (size_t)h + i < cap; i++) buf[h + i] = body_byte(tag, i);
    return (size_t)h + n;
}

/* The tag of a whole body, or 0 if it is torn or foreign. */
static unsigned body_tag(const unsigned char *b, size_t len)
{
    unsigned tag = 0, sum = 0;
    size_t n = 0;
    int h = 0;
    char head[96];
    size_t hl = len < sizeof head - 1 ? len : sizeof head - 1;
    memcpy(head, b, hl);
    head[hl] = '\0';
    if (sscanf(head, "TAG %u LEN %zu SUM %u\n%n", &tag, &n, &sum, &h) != 3 || h <= 0) return 0;
    if (n != body_len(tag) || (size_t)h + n != len) return 0;
    char want[96];
    unsigned s = 0;
    for (size_t i = 0; i < n; i++) {
        if (b[h + i] != (unsigned char)body_byte(tag, i)) return 0;
        s = s * 31 + b[h + i];
    }
    snprintf(want, sizeof want, "TAG %u LEN %zu SUM %u\n", tag, n, s);
    return strncmp(want, head, (size_t)h) == 0 ? tag : 0;
}

typedef struct worker {
    cos_client *c;
    int proc, thread;
    logrec recs[OPS];
    int nrecs;
    int unexpected;     /* errors other than the expected ones */
    int torn;           /* reads that returned a body no writer wrote */
    int big;            /* multipart writes acknowledged */
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    unsigned seed = (unsigned)(w->proc * 1000 + w->thread * 17 + 1);
    char *buf = malloc(BODY_CAP);
    char path[700];
    snprintf(path, sizeof path, "%s/body-p%d-t%d.bin", g_logdir, w->proc, w->thread);
    for (int i = 0; i < OPS; i++) {
        int key = (int)(rand_r(&seed) % KEYS);
        char name[32];
        snprintf(name, sizeof name, "k%02d", key);
        cos_request r = COS_REQUEST_INIT;
        r.bucket = BUCKET;
        r.key = name;
        cos_result *res = NULL;
        cos_error *err = NULL;
        int what = (int)(rand_r(&seed) % 10);
        int64_t t0 = now_ns();
        if (what < 4) { /* put */
            unsigned tag = (unsigned)((w->proc + 1) * 1000000 + (w->thread + 1) * 10000 + i + 1);
            size_t len = make_body(tag, buf, BODY_CAP);
            int rc;
            if (big_tag(tag)) { /* multipart, through a file */
                FILE *f = fopen(path, "wb");
                rc = f && fwrite(buf, 1, len, f) == len ? 0 : -1;
                if (f) fclose(f);
                cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
                p.bucket = BUCKET;
                p.key = name;
                p.file_path = path;
                p.chunk_size = 1u << 20;
                p.slice_size = 1u << 20;
                p.no_resume = true;
                if (rc == 0) rc = cos_upload_file(w->c, &p, NULL, &err);
                w->big += rc == 0;
            } else {
                r.body.data = buf;
                r.body.size = len;
                rc = cos_put_object(w->c, &r, &res, &err);
            }
            if (rc == 0)
                w->recs[w->nrecs++] = (logrec){ key, OP_PUT, tag, t0, now_ns() };
            else
                w->unexpected++;
        } else if (what < 8) { /* get: a whole write, or absent */
            if (cos_get_object(w->c, &r, &res, &err) == 0) {
                if (!body_tag(res->body, res->body_size)) w->torn++;
            } else if (!err || err->http_status != 404) {
                w->unexpected++;
            }
        } else if (what < 9) { /* delete */
            if (cos_delete_object(w->c, &r, &res, &err) == 0)
                w->recs[w->nrecs++] = (logrec){ key, OP_DEL, 0, t0, now_ns() };
            else
                w->unexpected++;
        } else { /* list */
            cos_request l = COS_REQUEST_INIT;
            l.bucket = BUCKET;
            l.prefix = "k";
            if (cos_get_bucket(w->c, &l, &res, &err) != 0) w->unexpected++;
        }
        if (err && w->unexpected) fprintf(stderr, "p%d t%d op %d: %s\n", w->proc, w->thread, i, cos_error_message(err));
        cos_result_free(res);
        cos_error_free(err);
    }
    free(buf);
    return NULL;
}

/* One process: THREADS threads on one shared client; the log goes to a file. */
static int run_proc(int proc)
{
    cos_config cfg;
    test_config(&cfg, &g_srv);
    cos_client *c = NULL;
    if (cos_client_new(&c, &cfg, NULL) != 0) return 2;
    worker *ws = calloc(THREADS, sizeof *ws);
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++) {
        ws[t] = (worker){ .c = c, .proc = proc, .thread = t };
        pthread_create(&th[t], NULL, work, &ws[t]);
    }
    int bad = 0;
    char path[600];
    snprintf(path, sizeof path, "%s/proc%d.log", g_logdir, proc);
    FILE *f = fopen(path, "w");
    for (int t = 0; t < THREADS; t++) {
        pthread_join(th[t], NULL);
        bad += ws[t].unexpected + ws[t].torn;
        if (ws[t].torn) fprintf(stderr, "p%d t%d: %d torn reads\n", proc, t, ws[t].torn);
        if (t == 0) fprintf(stderr, "  process %d:", proc);
        fprintf(stderr, " t%d %d writes+deletes (%d multipart)%s", t, ws[t].nrecs, ws[t].big, t + 1 == THREADS ? "\n" : ",");
        for (int i = 0; f && i < ws[t].nrecs; i++) {
            logrec *l = &ws[t].recs[i];
            fprintf(f, "%d %d %u %lld %lld\n", l->key, (int)l->kind, l->tag, (long long)l->start_ns, (long long)l->end_ns);
        }
    }
    if (f) fclose(f);
    free(ws);
    cos_client_free(c);
    return bad ? 1 : 0;
}

static void test_mixed_load(void)
{
    pid_t pids[PROCS];
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        if (pids[p] == 0) _exit(run_proc(p));
    }
    for (int p = 0; p < PROCS; p++) {
        int st = 0;
        waitpid(pids[p], &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            test_fail(__FILE__, __LINE__, "process %d: %s %d", p, WIFEXITED(st) ? "exit" : "signal",
                      WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
    }
    /* gather the acknowledged writes and deletes */
    logrec *all = calloc(PROCS * THREADS * OPS, sizeof *all);
    size_t n = 0;
    for (int p = 0; p < PROCS; p++) {
        char path[600];
        snprintf(path, sizeof path, "%s/proc%d.log", g_logdir, p);
        FILE *f = fopen(path, "r");
        CHECK(f != NULL);
        int kind;
        long long a, b;
        while (f && n < (size_t)(PROCS * THREADS * OPS) &&
               fscanf(f, "%d %d %u %lld %lld", &all[n].key, &kind, &all[n].tag, &a, &b) == 5) {
            all[n].kind = (op_kind)kind;
            all[n].start_ns = a;
            all[n].end_ns = b;
            n++;
        }
        if (f) fclose(f);
    }
    CHECK(n > (size_t)(PROCS * THREADS * OPS) / 4);
    cos_config cfg;
    test_config(&cfg, &g_srv);
    cos_client *c = NULL;
    cos_client_new(&c, &cfg, NULL);
    for (int k = 0; k < KEYS; k++) {
        char name[32];
        snprintf(name, sizeof name, "k%02d", k);
        cos_request r = COS_REQUEST_INIT;
        r.bucket = BUCKET;
        r.key = name;
        cos_result *res = NULL;
        cos_error *err = NULL;
        unsigned final = 0;
        bool present = cos_get_object(c, &r, &res, &err) == 0;
        if (present) {
            final = body_tag(res->body, res->body_size);
            CHECK(final != 0);
        } else {
            CHECK(err && err->http_status == 404);
        }
        /* candidates: operations on k that no other operation on k started after */
        bool ok = false, any = false;
        for (size_t i = 0; i < n; i++) {
            if (all[i].key != k) continue;
            any = true;
            bool followed = false;
            for (size_t j = 0; j < n && !followed; j++)
                followed = all[j].key == k && j != i && all[j].start_ns > all[i].end_ns;
            if (followed) continue;
            if (present ? (all[i].kind == OP_PUT && all[i].tag == final) : all[i].kind == OP_DEL) ok = true;
        }
        if (!any) ok = !present; /* never written */
        if (!ok) test_fail(__FILE__, __LINE__, "%s holds %s%u, not its last acknowledged write", name,
                           present ? "tag " : "nothing", final);
        cos_result_free(res);
        cos_error_free(err);
    }
    cos_client_free(c);
    free(all);
}

int main(void)
{
    if (test_server_start(&g_srv, NULL) != 0) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    char *d = test_tmpdir("load");
    snprintf(g_logdir, sizeof g_logdir, "%s", d);
    free(d);
    test_put_bucket_on(&g_srv, BUCKET);
    RUN(test_mixed_load);
    test_rmtree(g_logdir);
    test_server_stop(&g_srv, false);
    return test_report();
}

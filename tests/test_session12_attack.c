/*
 * test_session12_attack.c — the twelfth session's attacks on libcos against
 * a cos-server of its own: what a transfer tells its caller (size, CRC-64)
 * must be what the server stored, whatever happens to the file meanwhile.
 */
#define _GNU_SOURCE
#include "testlib.h"

#include <curl/curl.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUCKET "attack12-1250000000"

static test_server g_srv;
static char *g_dir;
static const char *g_self; /* argv[0]: run again as the victim (not /proc/self/exe: under valgrind that is valgrind's) */

/* The object as stored: its size and CRC-64 (GET into memory). */
static bool stored_object(cos_client *c, const char *key, uint64_t *size, uint64_t *crc)
{
    cos_request r = test_generic_request(NULL, BUCKET, key, NULL, NULL, 0, NULL, 0, NULL);
    cos_result *res = NULL;
    cos_error *err = NULL;
    int rc = cos_call(c, COS_OP_GET_OBJECT, &r, &res, &err);
    CHECK_OK(rc, err);
    cos_error_free(err);
    if (rc) return false;
    *size = res->body_size;
    *crc = cos_crc64(0, res->body, res->body_size);
    cos_result_free(res);
    return true;
}

static uint64_t file_crc(const char *path, uint64_t *size)
{
    FILE *f = fopen(path, "rb");
    unsigned char buf[8192];
    uint64_t crc = 0;
    *size = 0;
    size_t n;
    while (f && (n = fread(buf, 1, sizeof buf, f)) > 0) {
        crc = cos_crc64(crc, buf, n);
        *size += n;
    }
    if (f) fclose(f);
    return crc;
}

/* ------------------------------------------------------------------ a simple upload's file replaced */

/* A simple upload measured its file through one descriptor (the task's
 * size, the progress total, the result's size) and sent it through another,
 * opened by name later: a file renamed over the path between the two (an
 * editor's save, a sync tool) was the one sent and stored, while the result
 * told the size of the first. Now the bytes sent are those of the file the
 * task opened and measured: the result, the file as it was, and the object
 * agree. The rename happens in the task-list callback at the task's
 * RUNNING state, which comes between the two opens. PUT and POST. */
typedef struct swap_on_run {
    cos_client *c;
    const char *from, *to;
    atomic_int swapped;
} swap_on_run;

static void swap_when_running(void *ud)
{
    swap_on_run *s = ud;
    if (atomic_load(&s->swapped)) return;
    cos_task_info *list = NULL;
    size_t n = 0;
    if (cos_task_list(s->c, &list, &n) != 0) return;
    for (size_t i = 0; i < n; i++)
        if (list[i].state == COS_TASK_RUNNING && !atomic_exchange(&s->swapped, 1)) CHECK(rename(s->from, s->to) == 0);
    cos_task_list_free(list, n);
}

static void test_simple_upload_file_replaced(void)
{
    for (int post = 0; post < 2; post++) {
        cos_config cfg;
        test_config(&cfg, &g_srv);
        cfg.simple_upload_method = post ? COS_SIMPLE_UPLOAD_POST : COS_SIMPLE_UPLOAD_PUT;
        cos_client *c = test_client_of(&cfg);
        if (!c) return;
        char path[512], other[512];
        snprintf(path, sizeof path, "%s/replaced-%d.bin", g_dir, post);
        snprintf(other, sizeof other, "%s/replacement-%d.bin", g_dir, post);
        CHECK_INT(test_write_lcg_file(path, 100000, 7), 0);
        CHECK_INT(test_write_lcg_file(other, 300000, 8), 0); /* larger, still one simple upload */
        uint64_t first_size, second_size;
        uint64_t first_crc = file_crc(path, &first_size);
        uint64_t second_crc = file_crc(other, &second_size);
        swap_on_run s = { c, other, path, 0 };
        cos_set_task_list_callback(c, swap_when_running, &s);
        cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
        p.bucket = BUCKET;
        p.key = post ? "replaced-post" : "replaced-put";
        p.file_path = path;
        cos_transfer_result *res = NULL;
        cos_error *err = NULL;
        int rc = cos_upload_file(c, &p, &res, &err);
        cos_set_task_list_callback(c, NULL, NULL);
        CHECK_OK(rc, err);
        CHECK(atomic_load(&s.swapped));
        uint64_t size = 0, crc = 0;
        if (res && stored_object(c, p.key, &size, &crc)) {
            if (res->size != size || res->crc64 != crc)
                test_fail(__FILE__, __LINE__, "%s: told size %llu CRC-64 %llu, stored %llu / %llu", post ? "POST" : "PUT",
                          (unsigned long long)res->size, (unsigned long long)res->crc64, (unsigned long long)size,
                          (unsigned long long)crc);
            if (size != first_size || crc != first_crc)
                test_fail(__FILE__, __LINE__, "%s: stored %llu bytes (the file opened had %llu, its replacement %llu%s)",
                          post ? "POST" : "PUT", (unsigned long long)size, (unsigned long long)first_size,
                          (unsigned long long)second_size, crc == second_crc ? ": the replacement was sent" : "");
        }
        cos_transfer_result_free(res);
        cos_error_free(err);
        cos_client_free(c);
    }
}

/* ------------------------------------------------------------------ changing the task-list callback */

/* transfer.h: cos_set_task_list_callback sets "or clears" the callback; a
 * caller then frees what it gave as user_data. The runners read the
 * callback and its user_data without the lock and called it after the
 * change had returned: the old callback ran on user_data its owner had
 * already let go (here marked dead; freed, a use after free), or the new
 * callback with the old user_data. Now a change returns once the old
 * callback's calls on other threads have ended. The callback below holds
 * its call open until its user_data is marked dead or a bound passes:
 * with the change waiting for it, it is never marked dead meanwhile. */
typedef struct list_ud {
    pthread_mutex_t m;
    pthread_cond_t cv;
    pthread_t owner;    /* its calls on the owner's thread (adding the task) are not held */
    bool inside, dead, used_dead;
} list_ud;

static void list_cb_holds(void *arg)
{
    list_ud *u = arg;
    pthread_mutex_lock(&u->m);
    if (u->dead) u->used_dead = true;
    if (pthread_equal(pthread_self(), u->owner)) {
        pthread_mutex_unlock(&u->m);
        return;
    }
    u->inside = true;
    pthread_cond_broadcast(&u->cv);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 2; /* only ends the wait of a change that does wait; no outcome hangs on it */
    while (!u->dead && pthread_cond_timedwait(&u->cv, &u->m, &until) == 0) {}
    if (u->dead) u->used_dead = true;
    pthread_mutex_unlock(&u->m);
}

static void test_callback_change_waits_for_calls(void)
{
    cos_client *c = test_client(&g_srv);
    char path[512];
    snprintf(path, sizeof path, "%s/listed.bin", g_dir);
    CHECK_INT(test_write_lcg_file(path, 1000, 3), 0);
    list_ud u = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, pthread_self(), false, false, false };
    cos_set_task_list_callback(c, list_cb_holds, &u);
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = BUCKET;
    p.key = "listed";
    p.file_path = path;
    cos_task_id id = 0;
    CHECK_INT(cos_upload_file_async(c, &p, NULL, NULL, &id), 0);
    pthread_mutex_lock(&u.m); /* a call on a runner thread is under way */
    while (!u.inside) pthread_cond_wait(&u.cv, &u.m);
    pthread_mutex_unlock(&u.m);
    cos_set_task_list_callback(c, NULL, NULL);
    pthread_mutex_lock(&u.m); /* the owner lets its user_data go */
    u.dead = true;
    pthread_cond_broadcast(&u.cv);
    pthread_mutex_unlock(&u.m);
    cos_transfer_result *res = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_task_wait(c, id, &res, &err), err);
    cos_transfer_result_free(res);
    cos_error_free(err);
    cos_client_free(c);
    CHECK(!u.used_dead);
}

/* ------------------------------------------------------------------ callbacks that submit, racing cos_client_free */

/* client.h: cos_client_free "ends its async operations and waits for their
 * callbacks". Completion callbacks that each submit the next call (a chain,
 * 16 of them) while another thread frees the client: every submission that
 * was accepted must complete exactly once before free returns, and one
 * made while the client is being freed is refused or completes; nothing
 * is lost, run twice, or run after free. */
typedef struct chain {
    cos_client *c;
    atomic_int accepted, completed, refused;
    test_latch some;
} chain;

static void chain_done(void *ud, int rc, cos_result *res, cos_error *err)
{
    chain *x = ud;
    (void)rc;
    cos_result_free(res);
    cos_error_free(err);
    atomic_fetch_add(&x->completed, 1);
    test_latch_add(&x->some);
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    if (cos_head_bucket_async(x->c, &r, chain_done, x) == 0) atomic_fetch_add(&x->accepted, 1);
    else atomic_fetch_add(&x->refused, 1);
}

static void test_free_racing_submitting_callbacks(void)
{
    test_watch(120, "cos_client_free racing callbacks that submit", &g_srv);
    for (int round = 0; round < 3; round++) {
        chain x = { .some = TEST_LATCH_INIT };
        x.c = test_client(&g_srv);
        for (int i = 0; i < 16; i++) {
            cos_request r = COS_REQUEST_INIT;
            r.bucket = BUCKET;
            if (cos_head_bucket_async(x.c, &r, chain_done, &x) == 0) atomic_fetch_add(&x.accepted, 1);
        }
        test_latch_wait(&x.some, 50 * (round + 1)); /* the chains are running */
        cos_client_free(x.c);
        int accepted = atomic_load(&x.accepted), completed = atomic_load(&x.completed);
        if (accepted != completed)
            test_fail(__FILE__, __LINE__, "round %d: %d calls accepted, %d completed when free returned", round, accepted, completed);
        CHECK(atomic_load(&x.refused) > 0); /* the chains ended by refusal */
    }
    test_unwatch();
}

/* The same with transfers: uploadFile's completion callback submitting the
 * next upload while the client is freed. */
static char g_chain_file[512];

static void xfer_chain_done(void *ud, cos_task_id id, int rc, cos_transfer_result *res, cos_error *err)
{
    chain *x = ud;
    (void)id;
    (void)rc;
    cos_transfer_result_free(res);
    cos_error_free(err);
    atomic_fetch_add(&x->completed, 1);
    test_latch_add(&x->some);
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = BUCKET;
    p.key = "chained";
    p.file_path = g_chain_file;
    if (cos_upload_file_async(x->c, &p, xfer_chain_done, x, NULL) == 0) atomic_fetch_add(&x->accepted, 1);
    else atomic_fetch_add(&x->refused, 1);
}

static void test_free_racing_submitting_transfers(void)
{
    test_watch(120, "cos_client_free racing transfer callbacks that submit", &g_srv);
    snprintf(g_chain_file, sizeof g_chain_file, "%s/chained.bin", g_dir);
    CHECK_INT(test_write_lcg_file(g_chain_file, 1000, 5), 0);
    chain x = { .some = TEST_LATCH_INIT };
    x.c = test_client(&g_srv);
    for (int i = 0; i < 4; i++) {
        cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
        p.bucket = BUCKET;
        p.key = "chained";
        p.file_path = g_chain_file;
        if (cos_upload_file_async(x.c, &p, xfer_chain_done, &x, NULL) == 0) atomic_fetch_add(&x.accepted, 1);
    }
    test_latch_wait(&x.some, 20);
    cos_client_free(x.c);
    int accepted = atomic_load(&x.accepted), completed = atomic_load(&x.completed);
    if (accepted != completed) test_fail(__FILE__, __LINE__, "%d transfers accepted, %d completed when free returned", accepted, completed);
    CHECK(atomic_load(&x.refused) > 0);
    test_unwatch();
}

/* ------------------------------------------------------------------ killed while writing a checkpoint */

/* A checkpoint is written to a temporary and renamed into place: a process
 * killed between the two left FILE.json.tmp-XXXXXX beside it for ever (in
 * the checkpoint directory, or beside a download's target), one more for
 * every such kill. Now the temporary has the form of a killed download's
 * (.cos-tmp-XXXXXX) and the next transfer of that checkpoint sweeps it once
 * it is stale (an hour old, not locked: as those). The victim is this
 * program run again ("victim PORT FILE CHECKPOINT_DIR"), preloaded with
 * rename_race's kill at its second checkpoint write; the resumed upload
 * must end with the object right and nothing left in the directory. */
static cos_transfer_params ckpt_params(const char *file)
{
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = BUCKET;
    p.key = "checkpointed";
    p.file_path = file;
    p.chunk_size = 1 << 20;
    p.parallel = 1;
    return p;
}

static cos_client *ckpt_client(int port, const char *dir)
{
    test_server s = { .port = port };
    snprintf(s.endpoint, sizeof s.endpoint, "127.0.0.1:%d", port);
    cos_config cfg;
    test_config(&cfg, &s);
    cfg.checkpoint_dir = dir;
    return test_client_of(&cfg);
}

static int victim_main(char **argv)
{
    cos_client *c = ckpt_client(atoi(argv[2]), argv[4]);
    cos_transfer_params p = ckpt_params(argv[3]);
    int rc = c ? cos_slice_upload_file(c, &p, NULL, NULL) : 1;
    cos_client_free(c);
    return rc ? 3 : 0; /* (the kill comes first) */
}

static void test_killed_at_checkpoint_write(void)
{
    const char *lib = getenv("COS_RENAME_RACE_LIB");
    if (!lib) {
        printf("# skipped: COS_RENAME_RACE_LIB not set (run through ctest)\n");
        return;
    }
    char file[512], dir[512], port[16];
    snprintf(file, sizeof file, "%s/checkpointed.bin", g_dir);
    snprintf(dir, sizeof dir, "%s/checkpoints", g_dir);
    snprintf(port, sizeof port, "%d", g_srv.port);
    CHECK_INT(test_write_lcg_file(file, 3u << 20, 11), 0);
    char preload[1024], asan[1024];
    snprintf(preload, sizeof preload, "LD_PRELOAD=%s", lib);
    const char *ao = getenv("ASAN_OPTIONS");
    snprintf(asan, sizeof asan, "ASAN_OPTIONS=%s%sverify_asan_link_order=0", ao ? ao : "", ao && *ao ? ":" : "");
    pid_t pid = fork(); /* (a child of this process only execs) */
    if (pid == 0) {
        putenv(preload);
        putenv(asan);
        putenv((char *)"COS_TEST_KILL_AT_CHECKPOINT=2");
        execl(g_self, g_self, "victim", port, file, dir, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
        test_fail(__FILE__, __LINE__, "the victim was not killed at its checkpoint (status %d)", status);
        return;
    }
    /* what the kill left, made stale: the checkpoint and its temporary */
    int left = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.') continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct timespec old[2] = { { time(NULL) - 7200, 0 }, { time(NULL) - 7200, 0 } };
        CHECK(utimensat(AT_FDCWD, p, old, 0) == 0);
        left++;
    }
    if (d) closedir(d);
    CHECK_INT(left, 2);
    cos_client *c = ckpt_client(g_srv.port, dir);
    if (!c) return;
    cos_transfer_params p = ckpt_params(file);
    cos_transfer_result *res = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_slice_upload_file(c, &p, &res, &err), err);
    if (res) CHECK_INT(res->parts_resumed, 1); /* the part the checkpoint before the kill held */
    uint64_t size = 0, crc = 0, fsize = 0;
    uint64_t fcrc = file_crc(file, &fsize);
    if (stored_object(c, p.key, &size, &crc)) CHECK(size == fsize && crc == fcrc);
    cos_transfer_result_free(res);
    cos_error_free(err);
    cos_client_free(c);
    d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.') test_fail(__FILE__, __LINE__, "left in the checkpoint directory: %s", e->d_name);
    if (d) closedir(d);
}

int main(int argc, char **argv)
{
    if (argc == 5 && !strcmp(argv[1], "victim")) return victim_main(argv);
    g_self = argv[0];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    g_dir = test_tmpdir("attack12");
    const char *args[] = { NULL };
    if (test_server_start(&g_srv, args) != 0) {
        printf("cannot start cos-server\n0 passed, 1 failed\n");
        return 1;
    }
    test_put_bucket_on(&g_srv, BUCKET);
    test_watch(240, "test_session12_attack", &g_srv);
    RUN(test_simple_upload_file_replaced);
    RUN(test_callback_change_waits_for_calls);
    RUN(test_free_racing_submitting_callbacks);
    RUN(test_free_racing_submitting_transfers);
    RUN(test_killed_at_checkpoint_write);
    test_unwatch();
    test_server_stop(&g_srv, false);
    test_rmtree(g_dir);
    free(g_dir);
    curl_global_cleanup();
    return test_report();
}

/* test_transfer.c — uploadFile, downloadFile, sliceCopyFile, uploadFiles, the task queue and resume, against cos-server. */
#define _GNU_SOURCE
#include "testlib.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <inttypes.h>
#include <unistd.h>

static test_server g_srv;
static cos_client *g_c;
static char *g_dir;
#define BUCKET "xfer-" TEST_APPID
#define MIB (1024u * 1024u)

static void path(char *out, const char *name) { snprintf(out, 512, "%s/%s", g_dir, name); }

typedef struct prog { int calls; double last; bool monotone; uint64_t last_loaded; } prog;
static void on_progress(void *ud, const cos_progress *p)
{
    prog *g = ud;
    if (p->loaded < g->last_loaded) g->monotone = false;
    g->last_loaded = p->loaded;
    g->last = p->percent;
    g->calls++;
}

static void test_upload_download(void)
{
    char src[512], dst[512], small[512], small_dst[512];
    path(src, "big.bin");
    path(dst, "big.out");
    path(small, "small.txt");
    path(small_dst, "small.out");
    test_write_lcg_file(src, 9 * MIB + 123, 21);
    test_write_lcg_file(small, 1000, 3);
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = BUCKET;
    p.key = "big.bin";
    p.file_path = src;
    prog pg = { 0, 0, true, 0 };
    p.on_progress = on_progress;
    p.progress_user_data = &pg;
    cos_transfer_result *res = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_upload_file(g_c, &p, &res, &err), err);
    if (res) {
        CHECK(res->multipart);
        CHECK_INT(res->part_count, 10);
        CHECK(strstr(res->etag, "-10\"") != NULL);
        uint64_t crc = 0;
        cos_crc64_file(src, 0, -1, &crc);
        CHECK(res->crc64 == crc);
    }
    cos_transfer_result_free(res);
    CHECK(pg.monotone);
    CHECK(pg.last == 1.0);
    /* simple upload below SliceSize (postObject by default) */
    cos_transfer_params s = COS_TRANSFER_PARAMS_INIT;
    s.bucket = BUCKET;
    s.key = "small.txt";
    s.file_path = small;
    CHECK_OK(cos_upload_file(g_c, &s, &res, &err), err);
    if (res) CHECK(!res->multipart);
    cos_transfer_result_free(res);
    /* download both back */
    cos_transfer_params d = COS_TRANSFER_PARAMS_INIT;
    d.bucket = BUCKET;
    d.key = "big.bin";
    d.file_path = dst;
    d.chunk_size = MIB;
    CHECK_OK(cos_download_file(g_c, &d, &res, &err), err);
    cos_transfer_result_free(res);
    CHECK(test_files_equal(src, dst) == 0);
    d.key = "small.txt";
    d.file_path = small_dst;
    CHECK_OK(cos_download_file(g_c, &d, &res, &err), err);
    cos_transfer_result_free(res);
    CHECK(test_files_equal(small, small_dst) == 0);
    /* missing object */
    d.key = "nope";
    CHECK(cos_download_file(g_c, &d, &res, &err) == COS_ERR_SERVER);
    CHECK_INT(err ? err->http_status : 0, 404);
    cos_error_free(err);
}

static void test_copy(void)
{
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = BUCKET;
    p.key = "big.copy";
    p.copy_source = BUCKET ".cos.ap-guangzhou.myqcloud.com/big.bin";
    p.slice_size = 2 * MIB; /* force uploadPartCopy */
    p.chunk_size = 2 * MIB;
    cos_transfer_result *res = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_slice_copy_file(g_c, &p, &res, &err), err);
    if (res) CHECK(res->multipart);
    cos_transfer_result_free(res);
    char src[512], dst[512];
    path(src, "big.bin");
    path(dst, "copy.out");
    cos_transfer_params d = COS_TRANSFER_PARAMS_INIT;
    d.bucket = BUCKET;
    d.key = "big.copy";
    d.file_path = dst;
    CHECK_OK(cos_download_file(g_c, &d, &res, &err), err);
    cos_transfer_result_free(res);
    CHECK(test_files_equal(src, dst) == 0);
    p.key = "small.copy";
    p.copy_source = BUCKET ".cos.ap-guangzhou.myqcloud.com/small.txt";
    p.slice_size = 0;
    CHECK_OK(cos_slice_copy_file(g_c, &p, &res, &err), err);
    if (res) CHECK(!res->multipart);
    cos_transfer_result_free(res);
    /* a %00 in the source's key is refused: decoded, it cut the key short and copied small.txt (fuzz_copy_source) */
    p.key = "nul.copy";
    p.copy_source = BUCKET ".cos.ap-guangzhou.myqcloud.com/small.txt%00.bak";
    res = NULL;
    CHECK_INT(cos_slice_copy_file(g_c, &p, &res, &err), COS_ERR_INVALID_ARG);
    cos_error_free(err);
    err = NULL;
    cos_transfer_result_free(res);
}

typedef struct files_seen { int calls, ok; pthread_mutex_t m; } files_seen;
static void on_file(void *ud, size_t idx, int rc, const cos_transfer_result *res, const cos_error *err)
{
    (void)idx; (void)res; (void)err;
    files_seen *f = ud;
    pthread_mutex_lock(&f->m);
    f->calls++;
    f->ok += rc == 0;
    pthread_mutex_unlock(&f->m);
}

/* n files TAG0..TAGn-1 of size(i) bytes, as uploadFiles' parameters (keys TAG/i) */
static void make_files(cos_transfer_params *files, char (*paths)[512], char (*keys)[32], int n, const char *tag,
                       uint64_t base, uint64_t step)
{
    for (int i = 0; i < n; i++) {
        snprintf(keys[i], sizeof keys[i], "%s/%d", tag, i);
        snprintf(paths[i], sizeof paths[i], "%s/%s%d", g_dir, tag, i);
        test_write_lcg_file(paths[i], base + step * (uint64_t)i, (uint32_t)i);
        cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
        p.bucket = BUCKET;
        p.key = keys[i];
        p.file_path = paths[i];
        files[i] = p;
    }
}

static void test_upload_files(void)
{
    cos_transfer_params files[5];
    char paths[5][512], keys[5][32];
    make_files(files, paths, keys, 5, "many", 700 * 1024, 700 * 1024);
    files_seen seen = { 0, 0, PTHREAD_MUTEX_INITIALIZER };
    cos_upload_files_params up = COS_UPLOAD_FILES_PARAMS_INIT;
    up.files = files;
    up.file_count = 5;
    up.on_file_done = on_file;
    up.file_done_user_data = &seen;
    cos_error *err = NULL;
    CHECK_OK(cos_upload_files(g_c, &up, &err), err);
    CHECK_INT(seen.calls, 5);
    CHECK_INT(seen.ok, 5);
    cos_task_info *list = NULL;
    size_t n = 0;
    CHECK(cos_task_list(g_c, &list, &n) == 0);
    CHECK(n >= 5);
    int success = 0;
    for (size_t i = 0; i < n; i++) success += list[i].state == COS_TASK_SUCCESS;
    CHECK(success >= 5);
    cos_task_list_free(list, n);
}

/* The caller of cos_upload_files sleeps until its last file is done: it was
 * woken (a futex wake by the runner, a context switch for the caller) by
 * every file's end, to find files still left. Counted by the caller's own
 * voluntary context switches over a batch of small files: about one per
 * file before, a handful now (the queue's locks can make it wait a little). */
static void test_upload_files_wakes_caller_once(void)
{
    enum { N = 200 };
    static cos_transfer_params files[N];
    static char paths[N][512], keys[N][32];
    make_files(files, paths, keys, N, "wake", 512, 0);
    files_seen seen = { 0, 0, PTHREAD_MUTEX_INITIALIZER };
    cos_upload_files_params up = COS_UPLOAD_FILES_PARAMS_INIT;
    up.files = files;
    up.file_count = N;
    up.on_file_done = on_file;
    up.file_done_user_data = &seen;
    cos_error *err = NULL;
    struct rusage r0, r1;
    getrusage(RUSAGE_THREAD, &r0);
    CHECK_OK(cos_upload_files(g_c, &up, &err), err);
    getrusage(RUSAGE_THREAD, &r1);
    CHECK_INT(seen.ok, N);
    long waits = r1.ru_nvcsw - r0.ru_nvcsw;
    printf("  the caller slept %ld times for %d files\n", waits, N);
    CHECK(waits < N / 4);
    for (int i = 0; i < N; i++) unlink(paths[i]);
}

/* Tasks found by id (cos_task_wait, pause, cancel) through an index, not a
 * walk of the queue: in a queue that trims as it goes (queue size 3), each
 * task is found until it is trimmed, waited for in pairs out of order, and
 * a trimmed one is "no task". The ids run past the index's size many times,
 * so they land on slots others (the first ones, kept) hold, and are moved
 * back when the ones they went past go. */
static void test_task_ids_after_trims(void)
{
    enum { N = 300, PINNED = 10 };
    cos_config cfg;
    test_config(&cfg, &g_srv);
    cfg.upload_queue_size = 3;
    cfg.file_parallel_limit = 4;
    cos_client *c = test_client_of(&cfg);
    if (!c) {
        CHECK(c != NULL);
        return;
    }
    char src[512];
    path(src, "ids.txt");
    test_write_lcg_file(src, 100, 5);
    static cos_task_id ids[N];
    int waited = 0, gone = 0;
    for (int i = 0; i < N; i++) {
        cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
        p.bucket = BUCKET;
        p.key = "ids.txt";
        p.file_path = src;
        CHECK(cos_upload_file_async(c, &p, NULL, NULL, &ids[i]) == 0);
        /* the first PINNED stay (not waited for: never trimmed), so later ids
           collide with them; the others in pairs, the later one first */
        for (int k = 0; i >= PINNED && i % 2 == 1 && k < 2; k++) {
            cos_error *err = NULL;
            CHECK_OK(cos_task_wait(c, ids[i - k], NULL, &err), err);
            cos_error_free(err);
            waited++;
        }
    }
    CHECK_INT(waited, N - PINNED);
    for (int i = 0; i < N; i++) { /* all waited for: the ones trimmed are gone, the last few stay */
        cos_error *err = NULL;
        int rc = cos_task_wait(c, ids[i], NULL, &err);
        if (rc == COS_ERR_INVALID_ARG && err && strstr(err->message, "no task")) gone++;
        else CHECK_OK(rc, err);
        cos_error_free(err);
    }
    CHECK(gone >= N - PINNED - 8);
    cos_task_info *list = NULL;
    size_t n = 0;
    CHECK(cos_task_list(c, &list, &n) == 0);
    CHECK_INT((int)n, N - gone);
    for (size_t i = 0; i < n; i++) { /* each listed task is found by its id */
        cos_error *err = NULL;
        CHECK_OK(cos_task_wait(c, list[i].id, NULL, &err), err);
        cos_error_free(err);
    }
    cos_task_list_free(list, n);
    cos_client_free(c);
}

/* A queue fed one task as the last one ends (cos cp -r keeps 8 going so)
 * has a runner waiting for the next: not a thread made, and one gone, per
 * task. Told by the threads the done callbacks run on. */
typedef struct tid_seen { pthread_mutex_t m; pthread_cond_t cv; int done; pid_t tids[64]; int ntids; } tid_seen;
static void on_done_tid(void *ud, cos_task_id id, int rc, cos_transfer_result *res, cos_error *err)
{
    (void)id;
    tid_seen *s = ud;
    pid_t me = gettid();
    pthread_mutex_lock(&s->m);
    bool known = false;
    for (int i = 0; i < s->ntids; i++) known |= s->tids[i] == me;
    if (!known && s->ntids < 64) s->tids[s->ntids++] = me;
    s->done += rc == 0;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->m);
    cos_transfer_result_free(res);
    cos_error_free(err);
}

static void test_runner_waits_for_next_task(void)
{
    enum { N = 30 };
    char src[512];
    path(src, "one-by-one.txt");
    test_write_lcg_file(src, 300, 4);
    tid_seen s = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, { 0 }, 0 };
    for (int i = 0; i < N; i++) {
        cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
        p.bucket = BUCKET;
        p.key = "one-by-one.txt";
        p.file_path = src;
        CHECK(cos_upload_file_async(g_c, &p, on_done_tid, &s, NULL) == 0);
        pthread_mutex_lock(&s.m);
        while (s.done < i + 1) pthread_cond_wait(&s.cv, &s.m);
        pthread_mutex_unlock(&s.m);
    }
    printf("  %d tasks, one at a time, ran on %d threads\n", N, s.ntids);
    CHECK(s.ntids <= 3);
}

typedef struct waiter { cos_client *c; } waiter;
static void on_slow_progress(void *ud, const cos_progress *p) { (void)ud; (void)p; }

static void test_pause_cancel(void)
{
    char src[512];
    path(src, "pause.bin");
    test_write_lcg_file(src, 12 * MIB, 8);
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = BUCKET;
    p.key = "pause.bin";
    p.file_path = src;
    p.parallel = 1;
    p.on_progress = on_slow_progress;
    cos_task_id id = 0;
    CHECK(cos_upload_file_async(g_c, &p, NULL, NULL, &id) == 0);
    cos_error *err = NULL;
    cos_task_pause(g_c, id, &err); /* may already be done on a fast machine: then this is an error, fine */
    cos_error_free(err);
    err = NULL;
    cos_task_restart(g_c, id, &err);
    cos_error_free(err);
    err = NULL;
    cos_transfer_result *res = NULL;
    CHECK_OK(cos_task_wait(g_c, id, &res, &err), err);
    cos_transfer_result_free(res);
    /* cancel leaves no upload behind */
    p.key = "cancel.bin";
    CHECK(cos_upload_file_async(g_c, &p, NULL, NULL, &id) == 0);
    cos_task_cancel(g_c, id, &err);
    cos_error_free(err);
    err = NULL;
    int rc = cos_task_wait(g_c, id, &res, &err);
    cos_transfer_result_free(res);
    if (rc == COS_ERR_CANCELED) {
        cos_request l = COS_REQUEST_INIT;
        l.bucket = BUCKET;
        l.prefix = "cancel.bin";
        cos_result *lr = NULL;
        CHECK_OK(cos_multipart_list(g_c, &l, &lr, &err), err);
        if (lr && lr->output.list_uploads) CHECK_INT(lr->output.list_uploads->uploads_count, 0);
        cos_result_free(lr);
    }
    cos_error_free(err);
}

static cos_client *main_client(void)
{
    cos_config cfg;
    test_config(&cfg, &g_srv);
    char cp[512];
    snprintf(cp, sizeof cp, "%s/cp-main", g_dir);
    cfg.checkpoint_dir = cp;
    cos_client *c = NULL;
    cos_error *err = NULL;
    if (cos_client_new(&c, &cfg, &err) != 0) CHECK_OK(-1, err);
    return c;
}

/* fork() while no other thread is alive: g_c's workers are stopped first
 * and the client made again in the parent. A child of a multi-threaded
 * process may only make async-signal-safe calls (POSIX), and qemu-user,
 * which runs these tests for other architectures (make cross-test), breaks
 * on thread creation in such a child. */
static pid_t fork_alone(void)
{
    cos_client_free(g_c);
    g_c = NULL;
    pid_t pid = fork();
    if (pid != 0) g_c = main_client();
    return pid;
}

static int g_hash_calls;
static void on_hash(void *ud, const cos_progress *p)
{
    (void)ud;
    if (p->total) g_hash_calls++;
}

static void die_halfway(void *ud, const cos_progress *p)
{
    (void)ud;
    if (p->percent >= 0.4 && p->percent < 1.0) raise(SIGKILL);
}

static void test_resume_after_kill(void)
{
    char src[512], dst[512], cp[512];
    path(src, "resume.bin");
    path(dst, "resume.out");
    path(cp, "checkpoints");
    test_write_lcg_file(src, 16 * MIB, 77);
    pid_t pid = fork_alone();
    if (pid == 0) { /* the child uploads and dies part-way */
        cos_config cfg;
        test_config(&cfg, &g_srv);
        cfg.checkpoint_dir = cp;
        cfg.progress_interval_ms = 1;
        cos_client *c = NULL;
        if (cos_client_new(&c, &cfg, NULL) != 0) _exit(3);
        cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
        p.bucket = BUCKET;
        p.key = "resume.bin";
        p.file_path = src;
        p.parallel = 1;
        p.on_progress = die_halfway;
        cos_upload_file(c, &p, NULL, NULL);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    cos_config cfg;
    test_config(&cfg, &g_srv);
    cfg.checkpoint_dir = cp;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = BUCKET;
    p.key = "resume.bin";
    p.file_path = src;
    p.on_hash_progress = on_hash;
    cos_transfer_result *res = NULL;
    CHECK_OK(cos_upload_file(c, &p, &res, &err), err);
    if (res) CHECK(res->parts_resumed > 0);
    CHECK(g_hash_calls > 0); /* parts found on the server were hashed and verified */
    cos_transfer_result_free(res);
    cos_transfer_params d = COS_TRANSFER_PARAMS_INIT;
    d.bucket = BUCKET;
    d.key = "resume.bin";
    d.file_path = dst;
    CHECK_OK(cos_download_file(c, &d, &res, &err), err);
    cos_transfer_result_free(res);
    CHECK(test_files_equal(src, dst) == 0);
    cos_client_free(c);
}

/* A child downloads resume.bin to `file_path` in 1 MiB chunks and is
 * killed halfway (die_halfway), leaving its partial file and checkpoint. */
static void download_killed_halfway(const char *file_path)
{
    pid_t pid = fork_alone();
    if (pid == 0) {
        cos_config cfg;
        test_config(&cfg, &g_srv);
        cfg.progress_interval_ms = 1;
        cos_client *c = NULL;
        if (cos_client_new(&c, &cfg, NULL) != 0) _exit(3);
        cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
        p.bucket = BUCKET;
        p.key = "resume.bin";
        p.file_path = file_path;
        p.chunk_size = MIB;
        p.parallel = 1;
        p.on_progress = die_halfway;
        cos_download_file(c, &p, NULL, NULL);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status));
}

static void test_download_resume_after_kill(void)
{
    char dst[512];
    path(dst, "dresume.out");
    download_killed_halfway(dst);
    cos_transfer_params d = COS_TRANSFER_PARAMS_INIT;
    d.bucket = BUCKET;
    d.key = "resume.bin";
    d.file_path = dst;
    d.chunk_size = MIB;
    cos_transfer_result *res = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_download_file(g_c, &d, &res, &err), err);
    if (res) CHECK(res->parts_resumed > 0);
    cos_transfer_result_free(res);
    char src[512];
    path(src, "resume.bin");
    CHECK(test_files_equal(src, dst) == 0);
}

/* A download that cannot get its disk space (a lowered RLIMIT_FSIZE stands
 * in for a full disk: the same refusal, no mount needed) fails at once with
 * the system's reason, and the file it would have replaced is untouched. */
static void test_download_no_space(void)
{
    char dst[512], partial[600];
    path(dst, "nospace.out");
    snprintf(partial, sizeof partial, "%s.cos-partial", dst);
    FILE *f = fopen(dst, "w");
    if (f) {
        fputs("precious", f);
        fclose(f);
    }
    struct rlimit old, low;
    CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
    low = old;
    low.rlim_cur = 2 * MIB;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    CHECK(setrlimit(RLIMIT_FSIZE, &low) == 0);
    cos_transfer_params d = COS_TRANSFER_PARAMS_INIT;
    d.bucket = BUCKET;
    d.key = "big.bin"; /* 9 MiB, from test_upload_download */
    d.file_path = dst;
    cos_error *err = NULL;
    int rc = cos_download_file(g_c, &d, NULL, &err);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    CHECK_INT(rc, COS_ERR_IO);
    CHECK(err && err->message && strstr(err->message, "too large"));
    cos_error_free(err);
    char buf[32] = { 0 };
    f = fopen(dst, "r");
    if (f) {
        CHECK(fread(buf, 1, sizeof buf - 1, f) == 8);
        fclose(f);
    }
    CHECK_STR(buf, "precious");
    CHECK(access(partial, F_OK) != 0);
}

static bool is_link(const char *p)
{
    struct stat st;
    return lstat(p, &st) == 0 && S_ISLNK(st.st_mode);
}

/* A destination that is a symlink is written through, as cp(1) and curl -o
 * do: the link stays and its target (in another directory, named relative
 * or absolute, or not there yet) gets the bytes; the partial file goes
 * beside the target, and a download killed halfway resumes through the
 * link. It replaced the link with a regular file. */
/* A link planted in a sticky world-writable directory (/tmp) by another
 * user is not followed, as fs.protected_symlinks keeps open() from doing:
 * else a root download there would rename its file over the link's target
 * (any file). The directory owner's and one's own links are followed. */
static void test_download_refuses_planted_symlink(void)
{
    if (geteuid() != 0) { /* another user's link takes root to make */
        printf("  (skipped: not root)\n");
        return;
    }
    char sticky[512], victim[512], planted[512], own[512], victim2[512];
    path(sticky, "sticky");
    CHECK(mkdir(sticky, 0777) == 0 && chmod(sticky, 01777) == 0);
    path(victim, "victim.txt");
    test_write_lcg_file(victim, 10, 7);
    char before[512];
    path(before, "victim.before");
    test_write_lcg_file(before, 10, 7);
    path(planted, "sticky/report.bin");
    CHECK(symlink(victim, planted) == 0 && lchown(planted, 65534, 65534) == 0);
    cos_transfer_params d = COS_TRANSFER_PARAMS_INIT;
    d.bucket = BUCKET;
    d.key = "big.bin";
    d.file_path = planted;
    cos_error *err = NULL;
    CHECK_INT(cos_download_file(g_c, &d, NULL, &err), COS_ERR_IO);
    CHECK(err && err->os_errno == EACCES);
    cos_error_free(err);
    err = NULL;
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = "big.bin";
    r.sink.file_path = planted;
    cos_result *res = NULL;
    CHECK_INT(cos_get_object(g_c, &r, &res, &err), COS_ERR_IO);
    cos_result_free(res);
    cos_error_free(err);
    err = NULL;
    CHECK(test_files_equal(before, victim) == 0); /* untouched */
    /* one's own link in the same directory is followed */
    path(own, "sticky/own.bin");
    path(victim2, "own-target.bin");
    CHECK(symlink(victim2, own) == 0);
    d.file_path = own;
    CHECK_OK(cos_download_file(g_c, &d, NULL, &err), err);
    char src[512];
    path(src, "big.bin");
    CHECK(test_files_equal(src, victim2) == 0);
}

static void test_download_through_symlink(void)
{
    char src[512], links[512], far[512], target[512], link[512], abs_target[512], abs_link[512], dangling[512],
        new_target[600], partial[600], beside_link[600];
    path(src, "big.bin"); /* 9 MiB, from test_upload_download */
    path(links, "links");
    path(far, "elsewhere");
    CHECK(mkdir(links, 0700) == 0 && mkdir(far, 0700) == 0);
    path(target, "elsewhere/target.bin");
    path(link, "links/to-target");
    test_write_lcg_file(target, 10, 1);
    CHECK(symlink("../elsewhere/target.bin", link) == 0); /* relative: from the link's directory */
    cos_transfer_params d = COS_TRANSFER_PARAMS_INIT;
    d.bucket = BUCKET;
    d.key = "big.bin";
    d.file_path = link;
    d.chunk_size = MIB;
    cos_error *err = NULL;
    CHECK_OK(cos_download_file(g_c, &d, NULL, &err), err);
    CHECK(is_link(link));
    CHECK(test_files_equal(src, target) == 0);
    snprintf(beside_link, sizeof beside_link, "%s.cos-partial", link);
    snprintf(partial, sizeof partial, "%s.cos-partial", target);
    CHECK(!test_exists(beside_link) && !test_exists(partial));
    /* getObject to a file: an absolute link, a chain of two */
    path(abs_target, "elsewhere/abs.bin");
    path(abs_link, "links/chain");
    test_write_lcg_file(abs_target, 10, 2);
    char mid[512];
    path(mid, "links/mid");
    CHECK(symlink(abs_target, mid) == 0 && symlink("mid", abs_link) == 0);
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = "big.bin";
    r.sink.file_path = abs_link;
    cos_result *res = NULL;
    CHECK_OK(cos_get_object(g_c, &r, &res, &err), err);
    cos_result_free(res);
    res = NULL;
    CHECK(is_link(abs_link) && is_link(mid));
    CHECK(test_files_equal(src, abs_target) == 0);
    /* a dangling link: its target is created (as curl -o and a shell's > do) */
    path(dangling, "links/dangling");
    path(new_target, "elsewhere/new.bin");
    CHECK(symlink(new_target, dangling) == 0);
    d.file_path = dangling;
    CHECK_OK(cos_download_file(g_c, &d, NULL, &err), err);
    CHECK(is_link(dangling));
    CHECK(test_files_equal(src, new_target) == 0);
    unlink(new_target);
    r.sink.file_path = dangling;
    CHECK_OK(cos_get_object(g_c, &r, &res, &err), err);
    cos_result_free(res);
    CHECK(is_link(dangling));
    CHECK(test_files_equal(src, new_target) == 0);
    /* a link to itself: a clear error, nothing written */
    char loop[512];
    path(loop, "links/loop");
    CHECK(symlink("loop", loop) == 0);
    d.file_path = loop;
    CHECK_INT(cos_download_file(g_c, &d, NULL, &err), COS_ERR_IO);
    CHECK(err && strstr(err->message, "loop"));
    cos_error_free(err);
    err = NULL;
    /* killed halfway through the link, resumed through it */
    char resumed[512], src2[512];
    path(src2, "resume.bin"); /* 16 MiB, from test_resume_after_kill */
    path(resumed, "elsewhere/resumed.bin");
    unlink(link);
    CHECK(symlink(resumed, link) == 0);
    download_killed_halfway(link);
    snprintf(partial, sizeof partial, "%s.cos-partial", resumed);
    CHECK(test_exists(partial) && !test_exists(beside_link)); /* beside the target */
    CHECK(is_link(link));
    d.file_path = link;
    d.key = "resume.bin";
    cos_transfer_result *tr = NULL;
    CHECK_OK(cos_download_file(g_c, &d, &tr, &err), err);
    if (tr) CHECK(tr->parts_resumed > 0);
    cos_transfer_result_free(tr);
    CHECK(is_link(link));
    CHECK(test_files_equal(src2, resumed) == 0);
    CHECK(!test_exists(partial));
}

/* A FIFO's reader: counts the bytes and their CRC-64 until the writer closes. */
typedef struct fifo_reader {
    char path[512];
    uint64_t n, crc;
    _Atomic cos_task_id pause_id; /* pause this task once the first bytes came (0: none) */
} fifo_reader;
static void *read_fifo(void *ud)
{
    fifo_reader *r = ud;
    int fd = open(r->path, O_RDONLY);
    char buf[65536];
    ssize_t k;
    while (fd >= 0 && (k = read(fd, buf, sizeof buf)) > 0) {
        r->crc = cos_crc64(r->crc, buf, (size_t)k);
        r->n += (uint64_t)k;
        cos_task_id id = atomic_exchange(&r->pause_id, 0);
        if (id) cos_task_pause(g_c, id, NULL);
    }
    if (fd >= 0) close(fd);
    return NULL;
}

/* A device or FIFO as a download's destination is written in place, never
 * replaced: renaming a partial file over /dev/null made it a regular file
 * (as root). downloadFile and getObject to a file alike. */
/* big.bin to `path` by getObject's file sink or by downloadFile. */
static int download_big_to(cos_client *c, const char *path, bool via_get, cos_error **err)
{
    if (via_get) {
        cos_request r = COS_REQUEST_INIT;
        r.bucket = BUCKET;
        r.key = "big.bin";
        r.sink.file_path = path;
        cos_result *res = NULL;
        int rc = cos_get_object(c, &r, &res, err);
        cos_result_free(res);
        return rc;
    }
    cos_transfer_params d = COS_TRANSFER_PARAMS_INIT;
    d.bucket = BUCKET;
    d.key = "big.bin";
    d.file_path = path;
    return cos_download_file(c, &d, NULL, err);
}

static void test_download_into_special_files(void)
{
    char src[512], fifo[512], dev[512], dir[512];
    path(src, "big.bin"); /* 9 MiB, from test_upload_download */
    path(fifo, "pipe");
    path(dev, "null");
    path(dir, "a-dir");
    uint64_t want = 0;
    cos_crc64_file(src, 0, -1, &want);
    CHECK(mkfifo(fifo, 0600) == 0);
    for (int via_get = 0; via_get < 2; via_get++) {
        fifo_reader rd = { .n = 0, .crc = 0 };
        snprintf(rd.path, sizeof rd.path, "%s", fifo);
        /* held open while the download runs, so the reader's open() returns and
           it sees the end even if the download never opens the FIFO */
        int hold = open(fifo, O_RDWR);
        CHECK(hold >= 0);
        pthread_t th;
        CHECK(pthread_create(&th, NULL, read_fifo, &rd) == 0);
        cos_error *err = NULL;
        int rc = download_big_to(g_c, fifo, via_get, &err);
        CHECK_OK(rc, err);
        cos_error_free(err);
        close(hold);
        pthread_join(th, NULL);
        CHECK(rd.n == 9 * MIB + 123);
        CHECK(rd.crc == want);
        struct stat st;
        CHECK(lstat(fifo, &st) == 0 && S_ISFIFO(st.st_mode));
    }
    /* paused once bytes are in the FIFO: they cannot be taken back, so the
       task fails and says why instead of sending the object again on restart */
    {
        fifo_reader rd = { .n = 0, .crc = 0 };
        snprintf(rd.path, sizeof rd.path, "%s", fifo);
        int hold = open(fifo, O_RDWR);
        CHECK(hold >= 0);
        cos_transfer_params d = COS_TRANSFER_PARAMS_INIT;
        d.bucket = BUCKET;
        d.key = "big.bin";
        d.file_path = fifo;
        cos_task_id id = 0;
        CHECK(cos_download_file_async(g_c, &d, NULL, NULL, &id) == 0);
        atomic_store(&rd.pause_id, id); /* the reader's next read pauses it: 9 MiB cannot fit in a pipe */
        pthread_t th;
        CHECK(pthread_create(&th, NULL, read_fifo, &rd) == 0);
        cos_error *err = NULL;
        CHECK_INT(cos_task_wait(g_c, id, NULL, &err), COS_ERR_CANCELED);
        CHECK(err && strstr(err->message, "cannot be paused"));
        cos_error_free(err);
        close(hold);
        pthread_join(th, NULL);
        CHECK(rd.n > 0 && rd.n < 9 * MIB + 123); /* what came before the pause, never sent twice */
    }
    /* nobody reading: a clear error at once, not a wait for ever */
    cos_transfer_params d = COS_TRANSFER_PARAMS_INIT;
    d.bucket = BUCKET;
    d.key = "big.bin";
    d.file_path = fifo;
    cos_error *err = NULL;
    CHECK_INT(cos_download_file(g_c, &d, NULL, &err), COS_ERR_IO);
    CHECK(err && strstr(err->message, "no process reads"));
    cos_error_free(err);
    err = NULL;
    /* a directory is refused, whatever it holds */
    CHECK(mkdir(dir, 0700) == 0);
    d.file_path = dir;
    CHECK_INT(cos_download_file(g_c, &d, NULL, &err), COS_ERR_INVALID_ARG);
    cos_error_free(err);
    err = NULL;
    /* a character device (the null device under another name; only root may make one) */
    if (mknod(dev, S_IFCHR | 0666, makedev(1, 3)) == 0) {
        d.file_path = dev;
        CHECK_OK(cos_download_file(g_c, &d, NULL, &err), err);
        cos_error_free(err);
        err = NULL;
        cos_request r = COS_REQUEST_INIT;
        r.bucket = BUCKET;
        r.key = "big.bin";
        r.sink.file_path = dev;
        cos_result *res = NULL;
        CHECK_OK(cos_get_object(g_c, &r, &res, &err), err);
        cos_result_free(res);
        cos_error_free(err);
        struct stat st;
        CHECK(lstat(dev, &st) == 0 && S_ISCHR(st.st_mode));
        char partial[600];
        snprintf(partial, sizeof partial, "%s.cos-partial", dev);
        CHECK(access(partial, F_OK) != 0);
    } else {
        printf("# mknod not permitted (not root): the character-device case is skipped\n");
    }
}

/* The reader of the FIFO reads a little and goes away. */
static void *read_then_leave(void *ud)
{
    int fd = *(int *)ud;
    char buf[65536];
    struct pollfd pf = { fd, POLLIN, 0 };
    size_t got = 0;
    while (got < 100000 && poll(&pf, 1, -1) > 0) {
        ssize_t k = read(fd, buf, sizeof buf);
        if (k <= 0) break;
        got += (size_t)k;
    }
    close(fd);
    return NULL;
}

/* A download into a FIFO whose reader leaves: write(2) raises SIGPIPE, which
 * killed a program that left it at its default disposition. The library
 * never kills its caller: the child below (SIGPIPE at SIG_DFL) gets the I/O
 * error saying the reader went away and exits normally. */
static void test_fifo_reader_leaves(void)
{
    char fifo[512];
    path(fifo, "pipe-leaves");
    CHECK(mkfifo(fifo, 0600) == 0);
    for (int via_get = 0; via_get < 2; via_get++) {
        pid_t pid = fork_alone();
        if (pid == 0) {
            signal(SIGPIPE, SIG_DFL);
            int rd = open(fifo, O_RDONLY | O_NONBLOCK); /* a reader before the download opens the FIFO */
            cos_config cfg;
            test_config(&cfg, &g_srv);
            cos_client *c = NULL;
            if (rd < 0 || cos_client_new(&c, &cfg, NULL) != 0) _exit(3);
            pthread_t th;
            if (pthread_create(&th, NULL, read_then_leave, &rd) != 0) _exit(3);
            cos_error *err = NULL;
            int rc = download_big_to(c, fifo, via_get, &err); /* 9 MiB: more than the pipe and the reader take */
            pthread_join(th, NULL);
            printf("# into a FIFO whose reader left (%s): rc=%d %s\n", via_get ? "getObject" : "downloadFile", rc,
                   err ? cos_error_message(err) : "");
            fflush(stdout);
            bool said = rc == COS_ERR_IO && err && strstr(cos_error_message(err), "reader went away");
            cos_error_free(err);
            cos_client_free(c);
            _exit(said ? 0 : 1);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        if (WIFSIGNALED(status)) printf("# the child was killed by signal %d\n", WTERMSIG(status));
    }
}

static int g_list_changes;
static void on_list(void *ud) { (void)ud; __atomic_add_fetch(&g_list_changes, 1, __ATOMIC_SEQ_CST); }

/* UploadQueueSize trims finished tasks; the list-changed callback fires; UploadCheckContentMd5
 * sends Content-MD5 with every part (the server checks it). */
static void test_queue_and_md5(void)
{
    cos_config cfg;
    test_config(&cfg, &g_srv);
    cfg.upload_queue_size = 3;
    cfg.upload_check_content_md5 = true;
    char cp[512];
    path(cp, "cp-queue");
    cfg.checkpoint_dir = cp;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    if (!c) return;
    cos_set_task_list_callback(c, on_list, NULL);
    char src[512];
    path(src, "queue.bin");
    test_write_lcg_file(src, 3 * MIB + 5, 123);
    for (int i = 0; i < 6; i++) {
        char key[32];
        snprintf(key, sizeof key, "queue/%d", i);
        cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
        p.bucket = BUCKET;
        p.key = key;
        p.file_path = src;
        p.no_resume = true;
        cos_transfer_result *res = NULL;
        CHECK_OK(cos_upload_file(c, &p, &res, &err), err);
        if (res) CHECK(res->multipart);
        cos_transfer_result_free(res);
    }
    cos_task_info *list = NULL;
    size_t n = 0;
    CHECK(cos_task_list(c, &list, &n) == 0);
    CHECK(n <= 3 + 1); /* finished tasks beyond UploadQueueSize were trimmed */
    cos_task_list_free(list, n);
    CHECK(g_list_changes >= 6 * 3); /* added, checking, running, success... */
    cos_client_free(c);
}

static void test_faults(void)
{
    /* the server fails some part uploads: retries still give a byte-exact object */
    test_server fs = { 0 };
    const char *args[] = { "--faults", NULL };
    if (test_server_start(&fs, args) != 0) {
        CHECK(0);
        return;
    }
    cos_config cfg;
    test_config(&cfg, &fs);
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    cos_request b = COS_REQUEST_INIT;
    b.bucket = BUCKET;
    cos_result *r = NULL;
    CHECK_OK(cos_put_bucket(c, &b, &r, &err), err);
    cos_result_free(r);
    const char *rules = "[{\"method\":\"PUT\",\"match\":\"partNumber=2\",\"action\":\"status\",\"code\":\"SlowDown\",\"times\":2},"
                        "{\"method\":\"PUT\",\"match\":\"partNumber=4\",\"action\":\"drop\",\"times\":1}]";
    test_set_faults(c, &fs, rules);
    char src[512], dst[512];
    path(src, "fault.bin");
    path(dst, "fault.out");
    test_write_lcg_file(src, 6 * MIB, 99);
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = BUCKET;
    p.key = "fault.bin";
    p.file_path = src;
    p.no_resume = true;
    cos_transfer_result *res = NULL;
    CHECK_OK(cos_upload_file(c, &p, &res, &err), err);
    cos_transfer_result_free(res);
    cos_transfer_params d = COS_TRANSFER_PARAMS_INIT;
    d.bucket = BUCKET;
    d.key = "fault.bin";
    d.file_path = dst;
    CHECK_OK(cos_download_file(c, &d, &res, &err), err);
    cos_transfer_result_free(res);
    CHECK(test_files_equal(src, dst) == 0);
    /* a wrong CRC on download is an error, never a silent success */
    const char *bad = "[{\"method\":\"GET\",\"match\":\"fault.bin\",\"action\":\"bad_crc\",\"times\":100}]";
    test_set_faults(c, &fs, bad);
    cos_request g = COS_REQUEST_INIT;
    g.bucket = BUCKET;
    g.key = "fault.bin";
    CHECK(cos_get_object(c, &g, &r, &err) == COS_ERR_INTEGRITY);
    cos_error_free(err);
    cos_client_free(c);
    test_server_stop(&fs, false);
}

/* ---- progress while a part is on its way ----
 * A one-range download from a server (a thread here) that sends half of the
 * range, then holds the rest until the task has reported progress between 0
 * and 100%, or 60 s have passed: only a report of the bytes in flight can
 * come in between, so the check cannot pass or fail by timing. */
#define HALT_SIZE (2u * MIB)
typedef struct halting_server {
    int lfd;
    pthread_mutex_t m;
    pthread_cond_t cv;
    bool seen_mid;      /* the task reported 0 < loaded < total */
    bool held;          /* the server is holding the second half */
    unsigned char *body;
} halting_server;

typedef struct halting_conn {
    halting_server *hs;
    int fd;
    pthread_t th;
} halting_conn;

/* One connection's requests, one at a time (the client keeps connections). */
static void *halting_conn_main(void *arg)
{
    halting_conn *hc = arg;
    halting_server *hs = hc->hs;
    int fd = hc->fd;
    char req[8192];
    size_t have = 0;
    for (;;) { /* requests on this connection, one at a time */
        char *end;
        while (!(end = memmem(req, have, "\r\n\r\n", 4))) {
            ssize_t n = have < sizeof req ? recv(fd, req + have, sizeof req - have, 0) : 0;
            if (n <= 0) goto closed;
            have += (size_t)n;
        }
        size_t hlen = (size_t)(end - req) + 4;
        bool head = strncmp(req, "HEAD ", 5) == 0;
        uint64_t a = 0, b = HALT_SIZE - 1;
        char *range = memmem(req, hlen, "Range: bytes=", 13);
        if (!range) range = memmem(req, hlen, "range: bytes=", 13);
        if (range) sscanf(range + 13, "%" SCNu64 "-%" SCNu64, &a, &b);
        if (b >= HALT_SIZE) b = HALT_SIZE - 1;
        bool partial = range && !head;
        char cr[96] = "";
        if (partial) snprintf(cr, sizeof cr, "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%u\r\n", a, b, HALT_SIZE);
        char hdr[512];
        int hn = snprintf(hdr, sizeof hdr,
                          "HTTP/1.1 %s\r\nContent-Length: %" PRIu64 "\r\nETag: \"halting\"\r\n"
                          "Last-Modified: Thu, 26 Nov 2026 00:00:00 GMT\r\nx-cos-request-id: halt\r\n"
                          "x-cos-hash-crc64ecma: %" PRIu64 "\r\n%s\r\n",
                          partial ? "206 Partial Content" : "200 OK", head ? (uint64_t)HALT_SIZE : b - a + 1,
                          cos_crc64(0, hs->body, HALT_SIZE), cr);
        (void)test_send_all(fd, hdr, (size_t)hn);
        if (!head) {
            uint64_t n = b - a + 1, half = n / 2;
            (void)test_send_all(fd, hs->body + a, (size_t)half);
            pthread_mutex_lock(&hs->m);
            hs->held = true;
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 60;
            while (!hs->seen_mid && pthread_cond_timedwait(&hs->cv, &hs->m, &until) == 0) {
            }
            hs->held = false;
            pthread_mutex_unlock(&hs->m);
            (void)test_send_all(fd, hs->body + a + half, (size_t)(n - half));
        }
        memmove(req, req + hlen, have - hlen);
        have -= hlen;
    }
closed:
    close(fd);
    return NULL;
}

static void *halting_main(void *arg)
{
    halting_server *hs = arg;
    halting_conn conns[8];
    int n = 0;
    for (; n < 8; n++) {
        conns[n].hs = hs;
        conns[n].fd = accept(hs->lfd, NULL, NULL);
        if (conns[n].fd < 0 || pthread_create(&conns[n].th, NULL, halting_conn_main, &conns[n]) != 0) {
            if (conns[n].fd >= 0) close(conns[n].fd);
            break;
        }
    }
    for (int i = 0; i < n; i++) pthread_join(conns[i].th, NULL);
    return NULL;
}

static void on_mid_progress(void *ud, const cos_progress *p)
{
    halting_server *hs = ud;
    if (p->loaded == 0 || p->loaded >= p->total) return;
    pthread_mutex_lock(&hs->m);
    if (hs->held) { /* reported while the server holds the rest: a mid-part report */
        hs->seen_mid = true;
        pthread_cond_broadcast(&hs->cv);
    }
    pthread_mutex_unlock(&hs->m);
}

static void test_progress_within_a_part(void)
{
    halting_server hs = { .lfd = socket(AF_INET, SOCK_STREAM, 0) };
    pthread_mutex_init(&hs.m, NULL);
    pthread_cond_init(&hs.cv, NULL);
    hs.body = malloc(HALT_SIZE);
    for (size_t i = 0; i < HALT_SIZE; i++) hs.body[i] = (unsigned char)(i * 7 + (i >> 12));
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof sa;
    CHECK(bind(hs.lfd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(hs.lfd, 8) == 0 &&
          getsockname(hs.lfd, (struct sockaddr *)&sa, &sl) == 0);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, halting_main, &hs) == 0);
    char where[64];
    snprintf(where, sizeof where, "127.0.0.1:%d", ntohs(sa.sin_port));
    cos_config cfg;
    test_config(&cfg, &g_srv);
    cfg.connect_to = where;
    cfg.progress_interval_ms = 5;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    char dst[512];
    path(dst, "halting.out");
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = BUCKET;
    p.key = "halting.bin";
    p.file_path = dst;
    p.chunk_size = HALT_SIZE; /* one range: without in-flight reports, nothing until 100% */
    p.parallel = 1;
    p.on_progress = on_mid_progress;
    p.progress_user_data = &hs;
    cos_transfer_result *res = NULL;
    CHECK_OK(cos_download_file(c, &p, &res, &err), err);
    CHECK(hs.seen_mid);
    cos_transfer_result_free(res);
    cos_client_free(c);
    shutdown(hs.lfd, SHUT_RDWR);
    close(hs.lfd);
    pthread_join(th, NULL);
    char src[512];
    path(src, "halting.src");
    FILE *f = fopen(src, "wb");
    CHECK(f && fwrite(hs.body, 1, HALT_SIZE, f) == HALT_SIZE);
    if (f) fclose(f);
    CHECK(test_files_equal(src, dst) == 0);
    free(hs.body);
    pthread_mutex_destroy(&hs.m);
    pthread_cond_destroy(&hs.cv);
}

/* ---- 100% once ----
 * transfer.h: on_progress is called "at most every ProgressInterval and once
 * at 100%". A download whose bytes were all in before its first report (one
 * range, or a fast loopback) was told 100% twice: by the running task and by
 * the final report of its success. Uploads and downloads, small and in parts. */
typedef struct full_count { int full; int calls; uint64_t last; } full_count;
static void on_full(void *ud, const cos_progress *p)
{
    full_count *f = ud;
    f->calls++;
    f->last = p->loaded;
    if (p->total && p->loaded == p->total) f->full++;
}

static void test_progress_full_once(void)
{
    static const uint64_t sizes[] = { 1000, MIB, MIB + 1, 3 * MIB + 5 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char src[512], dst[512];
        path(src, "full.bin");
        path(dst, "full.out");
        test_write_lcg_file(src, sizes[i], 40 + (int)i);
        cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
        p.bucket = BUCKET;
        p.key = "full.bin";
        p.file_path = src;
        full_count up = { 0, 0, 0 }, down = { 0, 0, 0 };
        p.on_progress = on_full;
        p.progress_user_data = &up;
        cos_error *err = NULL;
        CHECK_OK(cos_upload_file(g_c, &p, NULL, &err), err);
        CHECK_INT(up.full, 1);
        CHECK(up.last == sizes[i]);
        p.file_path = dst;
        p.progress_user_data = &down;
        CHECK_OK(cos_download_file(g_c, &p, NULL, &err), err);
        CHECK_INT(down.full, 1);
        CHECK(down.last == sizes[i]);
        cos_error_free(err);
    }
}

int main(void)
{
    if (test_server_start(&g_srv, NULL) != 0) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    g_dir = test_tmpdir("xfer");
    if (!(g_c = main_client())) return 1;
    test_put_bucket(g_c, BUCKET);
    RUN(test_upload_download);
    RUN(test_copy);
    RUN(test_upload_files);
    RUN(test_upload_files_wakes_caller_once);
    RUN(test_task_ids_after_trims);
    RUN(test_runner_waits_for_next_task);
    RUN(test_pause_cancel);
    RUN(test_resume_after_kill);
    RUN(test_download_resume_after_kill);
    RUN(test_download_no_space);
    RUN(test_download_into_special_files);
    RUN(test_download_through_symlink);
    RUN(test_download_refuses_planted_symlink);
    RUN(test_fifo_reader_leaves);
    RUN(test_queue_and_md5);
    RUN(test_faults);
    RUN(test_progress_within_a_part);
    RUN(test_progress_full_once);
    cos_client_free(g_c);
    test_server_stop(&g_srv, false);
    test_rmtree(g_dir);
    free(g_dir);
    return test_report();
}

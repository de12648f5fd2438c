/*
 * test_large.c — what breaks a C SDK on 32-bit targets (run by
 * `make cross-test` on armhf and arm64 under qemu-user, and with
 * -DCOS_TEST_LARGE=ON anywhere): a sparse file past 4 GiB uploaded and
 * downloaded, each killed half-way and resumed, byte-exact and CRC-checked
 * against the server's own CRC-64; a listing of more than 65,535 keys.
 *
 * Every crash child is forked while this process has no other thread:
 * fork() in a multi-threaded process is not supported by qemu-user.
 */
#define _GNU_SOURCE
#include "testlib.h"
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define BUCKET "large-" TEST_APPID
#define LIST_BUCKET "many-" TEST_APPID
#define GIB (1024ULL * 1024 * 1024)
/* Past 4 GiB by an odd amount: offsets, part counts and the last part's
 * length all overflow a 32-bit size_t if any of them is one. */
#define BIG_SIZE (4 * GIB + 3 * 1024 * 1024 + 17)
#define LIST_KEYS 65600

static test_server g_srv;
static char *g_dir;

static void path(char *out, const char *name)
{
    snprintf(out, 512, "%s/%s", g_dir, name);
}

/* Data where 32-bit arithmetic goes wrong: the start, either side of 2^31
 * and 2^32, and the end; zeros (holes) elsewhere. */
static const uint64_t MARKS[] = { 0, (1ULL << 31) - 7, (1ULL << 32) - 11, 1ULL << 32, (1ULL << 32) + 4097,
                                  BIG_SIZE - 100 };

static int write_sparse(const char *p)
{
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return -1;
    int rc = ftruncate(fd, (off_t)BIG_SIZE);
    for (size_t i = 0; rc == 0 && i < sizeof MARKS / sizeof MARKS[0]; i++) {
        char buf[100];
        int n = snprintf(buf, sizeof buf, "mark %zu at %" PRIu64 " ", i, MARKS[i]);
        memset(buf + n, 'a' + (int)i, sizeof buf - (size_t)n);
        if (pwrite(fd, buf, sizeof buf, (off_t)MARKS[i]) != (ssize_t)sizeof buf) rc = -1;
    }
    if (close(fd) != 0) rc = -1;
    return rc;
}

static void die_halfway(void *ud, const cos_progress *p)
{
    (void)ud;
    if (p->percent >= 0.5 && p->percent < 1.0) raise(SIGKILL);
}

/* Run fn in a child that is expected to be killed part-way (by die_halfway). */
static void run_killed(void (*fn)(void))
{
    pid_t pid = fork();
    if (pid == 0) {
        fn();
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

static cos_client *new_client(bool dying)
{
    cos_config cfg;
    test_config(&cfg, &g_srv);
    static char cp[512];
    path(cp, "checkpoints");
    cfg.checkpoint_dir = cp;
    if (dying) cfg.progress_interval_ms = 1;
    cos_client *c = NULL;
    cos_error *err = NULL;
    if (cos_client_new(&c, &cfg, &err) != 0) {
        CHECK_OK(-1, err);
        return NULL;
    }
    return c;
}

static void transfer_params(cos_transfer_params *p, const char *file, bool dying)
{
    static char f[512];
    path(f, file);
    cos_transfer_params init = COS_TRANSFER_PARAMS_INIT;
    *p = init;
    p->bucket = BUCKET;
    p->key = "big/sparse.bin";
    p->file_path = f;
    p->chunk_size = 8 * 1024 * 1024;
    if (dying) p->on_progress = die_halfway;
}

static void upload_and_die(void)
{
    cos_client *c = new_client(true);
    if (!c) _exit(3);
    cos_transfer_params p;
    transfer_params(&p, "sparse.bin", true);
    cos_upload_file(c, &p, NULL, NULL);
}

static void download_and_die(void)
{
    cos_client *c = new_client(true);
    if (!c) _exit(3);
    cos_transfer_params p;
    transfer_params(&p, "sparse.out", true);
    cos_download_file(c, &p, NULL, NULL);
}

static void test_big_file_resume(void)
{
    char src[512], dst[512];
    path(src, "sparse.bin");
    path(dst, "sparse.out");
    CHECK(sizeof(off_t) == 8); /* _FILE_OFFSET_BITS=64 reached every file */
    CHECK(write_sparse(src) == 0);
    uint64_t want_crc = 0;
    CHECK(cos_crc64_file(src, 0, -1, &want_crc) == 0);

    cos_client *c = new_client(false);
    if (!c) return;
    test_put_bucket(c, BUCKET);
    cos_client_free(c); /* no thread may be alive at fork() */

    run_killed(upload_and_die);
    c = new_client(false);
    cos_transfer_params p;
    transfer_params(&p, "sparse.bin", false);
    cos_transfer_result *res = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_upload_file(c, &p, &res, &err), err);
    if (res) {
        CHECK(res->parts_resumed > 0);
        CHECK(res->multipart);
        CHECK(res->size == BIG_SIZE);
        CHECK(res->crc64 == want_crc);
        printf("  upload: %d parts, %d resumed after the kill\n", res->part_count, res->parts_resumed);
    }
    cos_transfer_result_free(res);
    res = NULL;

    /* The server computed its CRC-64 on the host, with other code. */
    cos_request h = COS_REQUEST_INIT;
    h.bucket = BUCKET;
    h.key = "big/sparse.bin";
    cos_result *hr = NULL;
    CHECK_OK(cos_head_object(c, &h, &hr, &err), err);
    if (hr) {
        CHECK(hr->content_length == BIG_SIZE);
        CHECK(hr->has_crc64 && hr->crc64 == want_crc);
    }
    cos_result_free(hr);
    cos_client_free(c);

    run_killed(download_and_die);
    c = new_client(false);
    transfer_params(&p, "sparse.out", false);
    CHECK_OK(cos_download_file(c, &p, &res, &err), err);
    if (res) {
        CHECK(res->parts_resumed > 0);
        CHECK(res->size == BIG_SIZE);
        CHECK(res->crc64 == want_crc);
        printf("  download: %d parts, %d resumed after the kill\n", res->part_count, res->parts_resumed);
    }
    cos_transfer_result_free(res);
    cos_client_free(c);

    struct stat st;
    CHECK(stat(dst, &st) == 0 && (uint64_t)st.st_size == BIG_SIZE);
    CHECK(test_files_equal(src, dst) == 0);
    unlink(src);
    unlink(dst);
}

typedef struct put_state {
    cos_future *f[64];
} put_state;

static void test_listing_past_65535(void)
{
    cos_client *c = new_client(false);
    if (!c) return;
    test_put_bucket(c, LIST_BUCKET);
    /* 64 PUTs in flight at a time; keys sort in numeric order. */
    enum { WINDOW = 64 };
    cos_future *inflight[WINDOW] = { 0 };
    char keys[WINDOW][32];
    int failed = 0;
    for (int i = 0; i < LIST_KEYS + WINDOW; i++) {
        int slot = i % WINDOW;
        if (inflight[slot]) {
            cos_error *err = NULL;
            if (cos_future_wait(inflight[slot], NULL, &err) != 0) failed++;
            cos_error_free(err);
            cos_future_free(inflight[slot]);
            inflight[slot] = NULL;
        }
        if (i >= LIST_KEYS) continue;
        snprintf(keys[slot], sizeof keys[slot], "k/%06d", i);
        cos_request r = COS_REQUEST_INIT;
        r.bucket = LIST_BUCKET;
        r.key = keys[slot];
        r.body.data = keys[slot];
        r.body.size = strlen(keys[slot]);
        inflight[slot] = cos_future_new();
        if (cos_put_object_async(c, &r, cos_future_done, inflight[slot]) != 0) {
            failed++;
            cos_future_free(inflight[slot]);
            inflight[slot] = NULL;
        }
    }
    CHECK_INT(failed, 0);

    cos_request lr = COS_REQUEST_INIT;
    lr.bucket = LIST_BUCKET;
    lr.prefix = "k/";
    cos_object_iter *it = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_object_iter_new(&it, c, &lr, &err), err);
    long n = 0, out_of_order = 0;
    uint64_t bytes = 0;
    const cos_object_summary *o;
    int rc;
    while (it && (rc = cos_object_iter_next(it, &o, &err)) == 1) {
        char want[32];
        snprintf(want, sizeof want, "k/%06ld", n);
        if (strcmp(o->key, want) != 0) out_of_order++;
        bytes += o->size;
        n++;
    }
    if (it && rc < 0) CHECK_OK(rc, err);
    cos_object_iter_free(it);
    CHECK_INT(n, LIST_KEYS);
    CHECK_INT(out_of_order, 0);
    CHECK(bytes == (uint64_t)LIST_KEYS * 8);
    printf("  listed %ld keys\n", n);
    cos_client_free(c);
}

int main(void)
{
    g_dir = test_tmpdir("large");
    /* Durability is not under test here: spare the disk the fsyncs. */
    const char *args[] = { "--no-fsync", NULL };
    if (!g_dir || test_server_start(&g_srv, args) != 0) {
        fprintf(stderr, "cannot start cos-server\n");
        return 1;
    }
    RUN(test_big_file_resume);
    RUN(test_listing_past_65535);
    test_server_stop(&g_srv, false);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_dir);
    free(g_dir);
    return test_report();
}

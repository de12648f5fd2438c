/* test_resume_attacks.c — the promises of uploadFile / downloadFile /
 * sliceCopyFile about resuming and replacing, tried against cos-server:
 * another writer's unfinished upload of the same key is never taken over;
 * the same key twice in one uploadFiles batch has an upload per file (both
 * succeed, one file stays whole); a file changed after a crash (same size,
 * same mtime, other bytes) or an object replaced between a killed download
 * and its resume gives the new bytes; a checkpoint that is garbage, another
 * key's or hostile costs a restart, never wrong data; an upload aborted or
 * completed by someone else is started over; two processes resuming one
 * checkpoint end well; a copy source or a download's partial file replaced
 * midway is an error, never a mix. */
#define _GNU_SOURCE
#include "testlib.h"
#include <dirent.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static test_server g_srv;
static cos_client *g_c;
static char *g_dir;
#define BUCKET "resume-" TEST_APPID
#define MIB (1024u * 1024u)

static void path(char *out, const char *name) { snprintf(out, 512, "%s/%s", g_dir, name); }

static cos_client *new_client(const char *cpdir)
{
    cos_config cfg;
    test_config(&cfg, &g_srv);
    cfg.checkpoint_dir = cpdir;
    cfg.progress_interval_ms = 1;
    cos_client *c = NULL;
    cos_error *err = NULL;
    if (cos_client_new(&c, &cfg, &err) != 0) CHECK_OK(-1, err);
    return c;
}

/* A transfer of `file` to or from `key` in BUCKET, in parts of 1 MiB. */
static cos_transfer_params params(const char *key, const char *file)
{
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = BUCKET;
    p.key = key;
    p.file_path = file;
    p.chunk_size = MIB;
    return p;
}

/* fork() with no other thread alive (see test_transfer.c's fork_alone). */
static pid_t fork_alone(void)
{
    cos_client_free(g_c);
    g_c = NULL;
    pid_t pid = fork();
    if (pid != 0) {
        char cp[512];
        path(cp, "cp-main");
        g_c = new_client(cp);
    }
    return pid;
}

static void die_halfway(void *ud, const cos_progress *p)
{
    (void)ud;
    if (p->percent >= 0.4 && p->percent < 1.0) raise(SIGKILL);
}

/* A sliceUploadFile (or downloadFile) killed with SIGKILL in a child once
 * 40% is done, leaving its checkpoint (and a partial file) behind.
 * `fresh`: the upload does not resume an earlier one first. */
static void kill_halfway(bool download, const char *key, const char *file, const char *cp, bool fresh)
{
    pid_t pid = fork_alone();
    if (pid == 0) {
        cos_client *c = new_client(cp);
        cos_transfer_params p = params(key, file);
        p.parallel = 1;
        p.no_resume = fresh;
        p.on_progress = die_halfway;
        if (download) cos_download_file(c, &p, NULL, NULL);
        else cos_slice_upload_file(c, &p, NULL, NULL);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status));
}

/* The object's bytes equal the file's (downloaded with a plain GET). */
static bool object_is(const char *key, const char *file)
{
    char out[512];
    path(out, "check.out");
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = key;
    r.sink.file_path = out;
    cos_result *res = NULL;
    cos_error *err = NULL;
    int rc = cos_get_object(g_c, &r, &res, &err);
    cos_result_free(res);
    cos_error_free(err);
    bool same = rc == 0 && test_files_equal(out, file) == 0;
    unlink(out);
    return same;
}

static char *init_upload(const char *key)
{
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = key;
    cos_result *res = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_multipart_init(g_c, &r, &res, &err), err);
    char *id = res && res->output.initiate ? strdup(res->output.initiate->upload_id) : NULL;
    cos_result_free(res);
    return id;
}

static char *put_part(const char *key, const char *id, int n, const void *data, size_t len)
{
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = key;
    r.upload_id = id;
    r.part_number = n;
    r.body.data = data;
    r.body.size = len;
    cos_result *res = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_multipart_upload(g_c, &r, &res, &err), err);
    char *etag = res && res->etag ? strdup(res->etag) : NULL;
    cos_result_free(res);
    return etag;
}

/* Another writer has an upload of the key in flight (one part sent, not
 * completed) when uploadFile of a different file to that key starts with no
 * checkpoint. The official SDK reuses an upload found by listing only when
 * its parts are the file's; taking this one over would overwrite the other
 * writer's part and complete (or abort) its upload under it. */
static void test_foreign_upload_not_taken_over(void)
{
    const char *key = "shared/key.bin";
    char src[512];
    path(src, "mine.bin");
    test_write_lcg_file(src, 3 * MIB + 5, 11);
    size_t flen = MIB;
    unsigned char *foreign = malloc(flen);
    test_lcg_fill(foreign, flen, 99);
    char *id = init_upload(key);
    char *etag = id ? put_part(key, id, 1, foreign, flen) : NULL;
    CHECK(etag != NULL);
    cos_transfer_params p = params(key, src);
    cos_transfer_result *res = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_slice_upload_file(g_c, &p, &res, &err), err);
    if (res) {
        CHECK(res->upload_id && id && strcmp(res->upload_id, id) != 0); /* a new upload of its own */
        CHECK_INT(res->parts_resumed, 0);
    }
    cos_transfer_result_free(res);
    CHECK(object_is(key, src));
    /* the other writer's upload is still its own: it completes with its part */
    cos_complete_part cp = { .part_number = 1, .etag = etag };
    cos_complete_multipart_upload cm = { &cp, 1 };
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = key;
    r.upload_id = id;
    r.input.complete = &cm;
    cos_result *cr = NULL;
    CHECK_OK(cos_multipart_complete(g_c, &r, &cr, &err), err);
    cos_result_free(cr);
    char fpath[512];
    path(fpath, "foreign.bin");
    FILE *f = fopen(fpath, "wb");
    if (f) {
        fwrite(foreign, 1, flen, f);
        fclose(f);
    }
    CHECK(object_is(key, fpath));
    free(foreign);
    free(id);
    free(etag);
}

/* An upload found by listing whose parts are all the file's is resumed
 * (what the listing is for: a lost checkpoint). */
static void test_own_upload_found_by_listing_is_resumed(void)
{
    const char *key = "listed/key.bin";
    char src[512];
    path(src, "listed.bin");
    test_write_lcg_file(src, 3 * MIB + 5, 12);
    unsigned char *first = malloc(MIB);
    int fd = open(src, O_RDONLY);
    CHECK(fd >= 0 && read(fd, first, MIB) == (ssize_t)MIB);
    close(fd);
    char *id = init_upload(key);
    char *etag = id ? put_part(key, id, 1, first, MIB) : NULL;
    CHECK(etag != NULL);
    cos_transfer_params p = params(key, src);
    cos_transfer_result *res = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_slice_upload_file(g_c, &p, &res, &err), err);
    if (res) {
        CHECK(res->upload_id && id && !strcmp(res->upload_id, id));
        CHECK_INT(res->parts_resumed, 1);
    }
    cos_transfer_result_free(res);
    CHECK(object_is(key, src));
    free(first);
    free(id);
    free(etag);
}

typedef struct batch_seen {
    pthread_mutex_t m;
    int rc[2];
    int calls;
} batch_seen;

static void on_batch_file(void *ud, size_t index, int rc, const cos_transfer_result *res, const cos_error *err)
{
    (void)res;
    batch_seen *s = ud;
    pthread_mutex_lock(&s->m);
    if (index < 2) s->rc[index] = rc;
    s->calls++;
    pthread_mutex_unlock(&s->m);
    if (rc) printf("  batch: file %zu: %s\n", index, cos_error_message(err));
}

/* Two different files to one key in one uploadFiles batch, both multipart
 * and running at once: each ends (success or a clear error), and the object
 * is one of the files whole, never a mix of their parts. */
static void test_same_key_twice_in_a_batch(void)
{
    char a[512], b[512];
    path(a, "twice-a.bin");
    path(b, "twice-b.bin");
    test_write_lcg_file(a, 4 * MIB + 1, 21);
    test_write_lcg_file(b, 4 * MIB + 1, 22);
    for (int round = 0; round < 3; round++) {
        cos_transfer_params files[2];
        for (int i = 0; i < 2; i++) {
            cos_transfer_params p = params("twice.bin", i ? b : a);
            p.slice_size = MIB;
            p.parallel = 1;
            files[i] = p;
        }
        batch_seen seen = { PTHREAD_MUTEX_INITIALIZER, { -1, -1 }, 0 };
        cos_upload_files_params up = COS_UPLOAD_FILES_PARAMS_INIT;
        up.files = files;
        up.file_count = 2;
        up.on_file_done = on_batch_file;
        up.file_done_user_data = &seen;
        cos_error *err = NULL;
        cos_upload_files(g_c, &up, &err);
        cos_error_free(err);
        CHECK_INT(seen.calls, 2);
        /* each has an upload of its own: both succeed, the later one stays */
        CHECK_INT(seen.rc[0], 0);
        CHECK_INT(seen.rc[1], 0);
        CHECK(object_is("twice.bin", a) || object_is("twice.bin", b));
    }
}

/* Kill an upload part-way, change the file's bytes keeping its size and
 * mtime (so the checkpoint's name still matches), resume: the object is the
 * new bytes (parts on the server are verified by MD5, not trusted). */
static void test_file_changed_after_crash(void)
{
    char src[512], cp[512];
    path(src, "changed.bin");
    path(cp, "cp-changed");
    test_write_lcg_file(src, 6 * MIB, 31);
    kill_halfway(false, "changed.bin", src, cp, false);
    struct stat st;
    CHECK(stat(src, &st) == 0);
    test_write_lcg_file(src, 6 * MIB, 32); /* other bytes, same size */
    struct timespec ts[2] = { st.st_atim, st.st_mtim };
    CHECK(utimensat(AT_FDCWD, src, ts, 0) == 0); /* same mtime */
    cos_client *c = new_client(cp);
    cos_transfer_params p = params("changed.bin", src);
    cos_transfer_result *res = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_slice_upload_file(c, &p, &res, &err), err);
    if (res) CHECK_INT(res->parts_resumed, 0);
    cos_transfer_result_free(res);
    CHECK(object_is("changed.bin", src));
    cos_client_free(c);
}

/* Every file in dir gets `text` as its content. */
static int overwrite_all(const char *dir, const char *text)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        FILE *f = fopen(p, "w");
        if (!f) continue;
        fputs(text, f);
        fclose(f);
        n++;
    }
    if (d) closedir(d);
    return n;
}

/* Kill an upload part-way, then make its checkpoint garbage, another key's
 * upload, or hostile: the resume still uploads the file's exact bytes. */
static void test_hostile_upload_checkpoints(void)
{
    char src[512], cp[512];
    path(src, "cpfile.bin");
    path(cp, "cp-hostile");
    test_write_lcg_file(src, 5 * MIB + 3, 41);
    char *other = init_upload("some/other/key"); /* a live upload of another key */
    char other_cp[600];
    snprintf(other_cp, sizeof other_cp, "{\"upload_id\":\"%s\",\"parts\":[]}", other ? other : "x");
    const char *cps[] = {
        "", "{", "not json at all \xff\xfe", "{\"upload_id\":42}", "{\"upload_id\":\"\"}",
        "{\"upload_id\":\"../../x?uploads&acl\",\"ck\":\"CRC32C\",\"parts\":[{\"n\":-5,\"crc\":\"-1\"},{\"n\":99999999}]}",
        other_cp,
    };
    for (size_t i = 0; i < sizeof cps / sizeof *cps; i++) {
        kill_halfway(false, "cpfile.bin", src, cp, true); /* a fresh upload each round, its checkpoint then spoiled */
        CHECK(overwrite_all(cp, cps[i]) >= 1);
        cos_transfer_params p = params("cpfile.bin", src);
        cos_client *c = new_client(cp);
        cos_transfer_result *res = NULL;
        cos_error *err = NULL;
        CHECK_OK(cos_slice_upload_file(c, &p, &res, &err), err);
        if (res && other) CHECK(strcmp(res->upload_id, other) != 0);
        cos_transfer_result_free(res);
        CHECK(object_is("cpfile.bin", src));
        cos_client_free(c);
    }
    free(other);
}

/* Kill a download part-way, replace the object (same size, other bytes),
 * resume: the file is the new object, not the old one's first parts
 * stitched to the new one's last. */
static void test_download_object_replaced_after_crash(void)
{
    char v1[512], v2[512], dst[512];
    path(v1, "dl-v1.bin");
    path(v2, "dl-v2.bin");
    path(dst, "dl.out");
    test_write_lcg_file(v1, 6 * MIB, 51);
    test_write_lcg_file(v2, 6 * MIB, 52);
    cos_transfer_params u = COS_TRANSFER_PARAMS_INIT;
    u.bucket = BUCKET;
    u.key = "dl.bin";
    u.file_path = v1;
    cos_error *err = NULL;
    CHECK_OK(cos_upload_file(g_c, &u, NULL, &err), err);
    kill_halfway(true, "dl.bin", dst, NULL, false);
    char partial[600];
    snprintf(partial, sizeof partial, "%s.cos-partial", dst);
    CHECK(test_exists(partial));
    u.file_path = v2;
    CHECK_OK(cos_upload_file(g_c, &u, NULL, &err), err);
    cos_transfer_params p = params("dl.bin", dst);
    cos_transfer_result *res = NULL;
    CHECK_OK(cos_download_file(g_c, &p, &res, &err), err);
    if (res) CHECK_INT(res->parts_resumed, 0);
    cos_transfer_result_free(res);
    CHECK(test_files_equal(dst, v2) == 0);
    CHECK(!test_exists(partial));
}

/* Another download of the same destination (another process, another task)
 * unlinks DEST.cos-partial and starts its own there. The first one, done,
 * renamed by name: the other's unfinished file became DEST and the first
 * reported a success. Now it sees the name is no longer its file and fails;
 * the other's partial file is left to it. */
static char g_partial[600];
static bool g_swapped;
static void swap_partial(void *ud, const cos_progress *p)
{
    (void)ud;
    if (g_swapped || p->loaded == 0 || p->percent >= 1.0) return;
    g_swapped = true;
    unlink(g_partial); /* what open_partial does in the other download */
    int fd = open(g_partial, O_RDWR | O_CREAT | O_EXCL, 0644);
    if (fd >= 0) {
        CHECK(ftruncate(fd, (off_t)p->total) == 0); /* all zeros: the other's bytes have not come yet */
        close(fd);
    }
}

static void test_partial_replaced_by_another_download(void)
{
    char src[512], dst[512];
    path(src, "race-src.bin");
    path(dst, "race.out");
    test_write_lcg_file(src, 3 * MIB, 61);
    FILE *f = fopen(dst, "w");
    if (f) {
        fputs("the old file", f);
        fclose(f);
    }
    cos_transfer_params u = COS_TRANSFER_PARAMS_INIT;
    u.bucket = BUCKET;
    u.key = "race.bin";
    u.file_path = src;
    cos_error *err = NULL;
    CHECK_OK(cos_upload_file(g_c, &u, NULL, &err), err);
    snprintf(g_partial, sizeof g_partial, "%s.cos-partial", dst);
    g_swapped = false;
    cos_transfer_params p = params("race.bin", dst);
    p.parallel = 1;
    p.on_progress = swap_partial;
    int rc = cos_download_file(g_c, &p, NULL, &err);
    printf("  partial replaced: rc=%d %s\n", rc, err ? cos_error_message(err) : "");
    CHECK(g_swapped);
    CHECK_INT(rc, COS_ERR_IO);
    CHECK(err && strstr(cos_error_message(err), "another download") != NULL);
    cos_error_free(err);
    f = fopen(dst, "r");
    char buf[64] = "";
    if (f) {
        CHECK(fgets(buf, sizeof buf, f) != NULL);
        fclose(f);
    }
    CHECK_STR(buf, "the old file"); /* DEST untouched */
    CHECK(test_exists(g_partial));  /* the other's, left to it */
    unlink(g_partial);
}

/* sliceCopyFile whose source is replaced (same size) after its first part
 * copy: every UploadPartCopy is conditional on the source's ETag, so the
 * copy fails before Complete and the destination never holds a mix of two
 * versions. The old code completed the mix (and only then, where a CRC-64
 * was at hand, reported a mismatch; without one, a success). */
static char g_src_v2[512];
static bool g_replaced_src;
static void replace_source(void *ud, const cos_progress *p)
{
    (void)ud;
    if (g_replaced_src || p->loaded == 0 || p->percent >= 1.0) return;
    g_replaced_src = true;
    cos_transfer_params u = COS_TRANSFER_PARAMS_INIT;
    u.bucket = BUCKET;
    u.key = "copy-src.bin";
    u.file_path = g_src_v2;
    cos_error *err = NULL;
    CHECK_OK(cos_upload_file(g_c, &u, NULL, &err), err);
}

static void test_copy_source_replaced_midway(void)
{
    char v1[512];
    path(v1, "copy-v1.bin");
    path(g_src_v2, "copy-v2.bin");
    test_write_lcg_file(v1, 4 * MIB, 71);
    test_write_lcg_file(g_src_v2, 4 * MIB, 72);
    cos_transfer_params u = COS_TRANSFER_PARAMS_INIT;
    u.bucket = BUCKET;
    u.key = "copy-src.bin";
    u.file_path = v1;
    cos_error *err = NULL;
    CHECK_OK(cos_upload_file(g_c, &u, NULL, &err), err);
    g_replaced_src = false;
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = BUCKET;
    p.key = "copy-dst.bin";
    p.copy_source = BUCKET ".cos.ap-guangzhou.myqcloud.com/copy-src.bin";
    p.slice_size = MIB;
    p.chunk_size = MIB;
    p.parallel = 1;
    p.on_progress = replace_source;
    int rc = cos_slice_copy_file(g_c, &p, NULL, &err);
    printf("  copy source replaced: rc=%d %s\n", rc, err ? cos_error_message(err) : "");
    CHECK(g_replaced_src);
    CHECK(rc != 0);
    CHECK(err && strstr(cos_error_message(err), "changed during the copy") != NULL);
    cos_error_free(err);
    cos_request h = COS_REQUEST_INIT;
    h.bucket = BUCKET;
    h.key = "copy-dst.bin";
    cos_result *hr = NULL;
    err = NULL;
    CHECK(cos_head_object(g_c, &h, &hr, &err) != 0); /* no destination, mixed or not */
    cos_result_free(hr);
    cos_error_free(err);
}

/* Kill an upload part-way, then abort its upload, or complete it with the
 * parts it has (someone else's doing), and resume: a new upload of the
 * file's exact bytes, never a success of the partial object. */
static char *only_upload_of(const char *key)
{
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.prefix = key;
    cos_result *res = NULL;
    cos_error *err = NULL;
    char *id = NULL;
    CHECK_OK(cos_multipart_list(g_c, &r, &res, &err), err);
    cos_list_multipart_uploads_result *l = res ? res->output.list_uploads : NULL;
    for (size_t i = 0; l && i < l->uploads_count; i++)
        if (!strcmp(l->uploads[i].key, key)) id = strdup(l->uploads[i].upload_id);
    cos_result_free(res);
    return id;
}

static void test_upload_ended_by_someone_else(void)
{
    char src[512], cp[512];
    path(src, "ended.bin");
    path(cp, "cp-ended");
    test_write_lcg_file(src, 5 * MIB + 9, 81);
    for (int complete = 0; complete < 2; complete++) {
        kill_halfway(false, "ended.bin", src, cp, false);
        char *id = only_upload_of("ended.bin");
        CHECK(id != NULL);
        cos_request r = COS_REQUEST_INIT;
        r.bucket = BUCKET;
        r.key = "ended.bin";
        r.upload_id = id;
        cos_result *res = NULL;
        cos_error *err = NULL;
        if (!complete) {
            CHECK_OK(cos_multipart_abort(g_c, &r, &res, &err), err);
        } else { /* complete it with the parts it has */
            CHECK_OK(cos_multipart_list_part(g_c, &r, &res, &err), err);
            cos_list_parts_result *lp = res ? res->output.list_parts : NULL;
            size_t n = lp ? lp->parts_count : 0;
            cos_complete_part *parts = calloc(n ? n : 1, sizeof *parts);
            for (size_t i = 0; i < n; i++) {
                parts[i].part_number = lp->parts[i].part_number;
                parts[i].etag = lp->parts[i].etag;
            }
            cos_complete_multipart_upload cm = { parts, n };
            r.input.complete = &cm;
            cos_result *cr = NULL;
            CHECK(n > 0);
            CHECK_OK(cos_multipart_complete(g_c, &r, &cr, &err), err);
            cos_result_free(cr);
            free(parts);
        }
        cos_result_free(res);
        free(id);
        cos_client *c = new_client(cp);
        cos_transfer_params p = params("ended.bin", src);
        cos_transfer_result *tr = NULL;
        CHECK_OK(cos_slice_upload_file(c, &p, &tr, &err), err);
        if (tr) CHECK_INT(tr->parts_resumed, 0);
        cos_transfer_result_free(tr);
        CHECK(object_is("ended.bin", src));
        cos_client_free(c);
    }
}

/* Two processes resume the same checkpoint at once: each ends with success
 * or a clear error, at least one succeeds, the object is the file's bytes. */
static void test_two_processes_resume_one_checkpoint(void)
{
    char src[512], cp[512];
    path(src, "twoproc.bin");
    path(cp, "cp-twoproc");
    test_write_lcg_file(src, 8 * MIB + 3, 91);
    kill_halfway(false, "twoproc.bin", src, cp, false);
    cos_client_free(g_c); /* no thread alive across the forks */
    g_c = NULL;
    pid_t kids[2];
    for (int i = 0; i < 2; i++) {
        kids[i] = fork();
        if (kids[i] == 0) {
            cos_client *c = new_client(cp);
            cos_transfer_params p = params("twoproc.bin", src);
            cos_error *err = NULL;
            int rc = cos_slice_upload_file(c, &p, NULL, &err);
            if (rc) fprintf(stderr, "  resumer %d: %s\n", i, cos_error_message(err));
            cos_error_free(err);
            cos_client_free(c); /* under valgrind a leak in a child changes its exit status */
            _exit(rc ? 1 : 0);
        }
    }
    int ok = 0;
    for (int i = 0; i < 2; i++) {
        int status = 0;
        waitpid(kids[i], &status, 0);
        CHECK(WIFEXITED(status));
        ok += WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    char cpm[512];
    path(cpm, "cp-main");
    g_c = new_client(cpm);
    CHECK(ok >= 1);
    CHECK(object_is("twoproc.bin", src));
}

/* One file of a batch fails (it does not exist): the others still succeed,
 * the batch's rc is that failure, every file is reported once. */
static void test_batch_with_one_bad_file(void)
{
    char good[3][512];
    cos_transfer_params files[4];
    char keys[4][32];
    for (int i = 0; i < 4; i++) {
        cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
        snprintf(keys[i], sizeof keys[i], "batch/%d", i);
        p.bucket = BUCKET;
        p.key = keys[i];
        if (i == 1) {
            p.file_path = "/nonexistent/cos-c/file";
        } else {
            char *g = good[i < 1 ? i : i - 1];
            snprintf(g, 512, "%s/batch%d", g_dir, i);
            test_write_lcg_file(g, (uint64_t)(i + 1) * 600 * 1024, (uint32_t)(100 + i));
            p.file_path = g;
            p.slice_size = MIB;
        }
        files[i] = p;
    }
    batch_seen seen = { PTHREAD_MUTEX_INITIALIZER, { -1, -1 }, 0 };
    cos_upload_files_params up = COS_UPLOAD_FILES_PARAMS_INIT;
    up.files = files;
    up.file_count = 4;
    up.on_file_done = on_batch_file;
    up.file_done_user_data = &seen;
    cos_error *err = NULL;
    CHECK_INT(cos_upload_files(g_c, &up, &err), COS_ERR_IO);
    CHECK(err && strstr(cos_error_message(err), "/nonexistent/cos-c/file") != NULL);
    cos_error_free(err);
    CHECK_INT(seen.calls, 4);
    CHECK_INT(seen.rc[0], 0);
    CHECK_INT(seen.rc[1], COS_ERR_IO);
    for (int i = 0; i < 4; i++)
        if (i != 1) CHECK(object_is(keys[i], files[i].file_path));
}

/* Pause an upload part-way, change the file's bytes (same size), restart
 * the task in the same process: the parts done before the pause are the old
 * bytes. The old code kept them as done without a look, uploaded the rest
 * from the new bytes and completed a mix of both as a verified success (the
 * CRC-64 it checks is the parts' own). */
static _Atomic cos_task_id g_pause_id;
static _Atomic int g_paused_once;
static void pause_halfway(void *ud, const cos_progress *p)
{
    (void)ud;
    cos_task_id id = atomic_load(&g_pause_id); /* 0 until cos_upload_file_async has returned */
    if (id && p->percent >= 0.4 && p->percent < 1.0 && !atomic_exchange(&g_paused_once, 1))
        cos_task_pause(g_c, id, NULL);
}

static cos_task_state state_of(cos_task_id id)
{
    cos_task_info *l = NULL;
    size_t n = 0;
    cos_task_state st = COS_TASK_ERROR;
    cos_task_list(g_c, &l, &n);
    for (size_t i = 0; i < n; i++)
        if (l[i].id == id) st = l[i].state;
    cos_task_list_free(l, n);
    return st;
}

static void test_restart_after_the_file_changed(void)
{
    char src[512], other[512];
    path(src, "restart.bin");
    path(other, "restart-new.bin");
    test_write_lcg_file(src, 6 * MIB, 111);
    test_write_lcg_file(other, 6 * MIB, 112);
    atomic_store(&g_paused_once, 0);
    atomic_store(&g_pause_id, 0);
    cos_transfer_params p = params("restart.bin", src);
    p.slice_size = MIB;
    p.parallel = 1;
    p.on_progress = pause_halfway;
    cos_task_id id = 0;
    CHECK_INT(cos_upload_file_async(g_c, &p, NULL, NULL, &id), 0);
    atomic_store(&g_pause_id, id);
    cos_task_state st = COS_TASK_WAITING;
    for (int i = 0; i < 3000 && (st = state_of(id)) != COS_TASK_PAUSED && st != COS_TASK_SUCCESS && st != COS_TASK_ERROR; i++)
        cos_sleep_ms_for_tests(10);
    if (st != COS_TASK_PAUSED) { /* the id came too late for the callback: nothing to learn this run */
        printf("  SKIP: the upload was not paused (state %s)\n", cos_task_state_name(st));
        cos_task_wait(g_c, id, NULL, NULL);
        return;
    }
    CHECK(rename(other, src) == 0); /* other bytes, same size, same name */
    cos_error *err = NULL;
    CHECK_OK(cos_task_restart(g_c, id, &err), err);
    cos_transfer_result *res = NULL;
    int rc = cos_task_wait(g_c, id, &res, &err);
    printf("  restarted after the file changed: rc=%d %s\n", rc, err ? cos_error_message(err) : "");
    cos_error_free(err);
    cos_transfer_result_free(res);
    if (rc == 0) CHECK(object_is("restart.bin", src)); /* a success is the new bytes, whole */
    else {                                              /* or an error and no mixed object */
        cos_request h = COS_REQUEST_INIT;
        h.bucket = BUCKET;
        h.key = "restart.bin";
        cos_result *hr = NULL;
        CHECK(cos_head_object(g_c, &h, &hr, NULL) != 0);
        cos_result_free(hr);
    }
}

/* The file is written to (same size) while its parts are uploaded: the
 * upload is not completed (the old code completed a mix of the bytes before
 * and after the write, and every check passed: each part's CRC-64 is its own). */
static char g_write_path[512];
static _Atomic int g_written;
static void write_halfway(void *ud, const cos_progress *p)
{
    (void)ud;
    if (p->percent < 0.4 || p->percent >= 1.0 || atomic_exchange(&g_written, 1)) return;
    int fd = open(g_write_path, O_WRONLY);
    if (fd < 0) return;
    char junk[4096];
    memset(junk, 'W', sizeof junk);
    for (off_t off = 0; off < (off_t)(6 * MIB); off += (off_t)sizeof junk)
        CHECK(pwrite(fd, junk, sizeof junk, off) == (ssize_t)sizeof junk);
    close(fd);
}

static void test_file_written_during_upload(void)
{
    path(g_write_path, "written.bin");
    test_write_lcg_file(g_write_path, 6 * MIB, 121);
    atomic_store(&g_written, 0);
    cos_transfer_params p = params("written.bin", g_write_path);
    p.slice_size = MIB;
    p.parallel = 1;
    p.on_progress = write_halfway;
    cos_error *err = NULL;
    int rc = cos_upload_file(g_c, &p, NULL, &err);
    printf("  written during the upload: rc=%d %s\n", rc, err ? cos_error_message(err) : "");
    CHECK(atomic_load(&g_written));
    CHECK_INT(rc, COS_ERR_IO);
    CHECK(err && strstr(cos_error_message(err), "during the upload") != NULL);
    cos_error_free(err);
    cos_request h = COS_REQUEST_INIT;
    h.bucket = BUCKET;
    h.key = "written.bin";
    cos_result *hr = NULL;
    CHECK(cos_head_object(g_c, &h, &hr, NULL) != 0); /* no object: not a mix */
    cos_result_free(hr);
}

/* A directory where a download's checkpoint goes: the download still
 * works, and leaves no temporary checkpoint behind (one was left for ever). */
static void test_checkpoint_name_taken(void)
{
    char src[512], dst[512], cpdir[600], tmp[620];
    path(src, "taken.bin");
    path(dst, "taken.out");
    snprintf(cpdir, sizeof cpdir, "%s.cos-partial.json", dst);
    snprintf(tmp, sizeof tmp, "%s.tmp", cpdir);
    test_write_lcg_file(src, 3 * MIB, 131);
    cos_transfer_params u = COS_TRANSFER_PARAMS_INIT;
    u.bucket = BUCKET;
    u.key = "taken.bin";
    u.file_path = src;
    cos_error *err = NULL;
    CHECK_OK(cos_upload_file(g_c, &u, NULL, &err), err);
    CHECK(mkdir(cpdir, 0755) == 0);
    cos_transfer_params p = params("taken.bin", dst);
    CHECK_OK(cos_download_file(g_c, &p, NULL, &err), err);
    CHECK(test_files_equal(src, dst) == 0);
    CHECK(!test_exists(tmp));
    rmdir(cpdir);
}

int main(void)
{
    if (test_server_start(&g_srv, NULL) != 0) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    g_dir = test_tmpdir("resume");
    char cp[512];
    path(cp, "cp-main");
    if (!(g_c = new_client(cp))) return 1;
    test_put_bucket(g_c, BUCKET);
    test_watch(280, "resume attacks", &g_srv);
    RUN(test_foreign_upload_not_taken_over);
    RUN(test_own_upload_found_by_listing_is_resumed);
    RUN(test_same_key_twice_in_a_batch);
    RUN(test_file_changed_after_crash);
    RUN(test_hostile_upload_checkpoints);
    RUN(test_download_object_replaced_after_crash);
    RUN(test_partial_replaced_by_another_download);
    RUN(test_copy_source_replaced_midway);
    RUN(test_upload_ended_by_someone_else);
    RUN(test_two_processes_resume_one_checkpoint);
    RUN(test_batch_with_one_bad_file);
    RUN(test_restart_after_the_file_changed);
    RUN(test_file_written_during_upload);
    RUN(test_checkpoint_name_taken);
    test_unwatch();
    cos_client_free(g_c);
    test_server_stop(&g_srv, false);
    test_rmtree(g_dir);
    free(g_dir);
    return test_report();
}

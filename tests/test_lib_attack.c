/* test_lib_attack.c — libcos attacked, third round: what a download does to
 * the file it replaces (its data when the download fails midway in every way
 * a server can fail it, its permissions when it succeeds) and to the files
 * beside it under the names it reserves (FILE.cos-partial, .json), downloads into a
 * directory and a full device, and a file rewritten in place while a single
 * PUT sends it (COS's dialect and S3's, against an in-process server that
 * rewrites the file halfway through the body). */
#define _GNU_SOURCE
#include "testlib.h"
#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUCKET "attack-" TEST_APPID
#define MIB (1024u * 1024u)

static test_server g_srv;
static cos_client *g_c;
static char *g_dir;

static void path(char *out, const char *name) { snprintf(out, 512, "%s/%s", g_dir, name); }

static void write_text(const char *p, const char *text, mode_t mode)
{
    unlink(p);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, mode);
    CHECK(fd >= 0);
    if (fd < 0) return;
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    fchmod(fd, mode); /* whatever the umask */
    close(fd);
}

static bool file_is(const char *p, const char *text)
{
    char buf[256] = { 0 };
    int fd = open(p, O_RDONLY);
    if (fd < 0) return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    return n == (ssize_t)strlen(text) && !memcmp(buf, text, (size_t)n);
}

static unsigned mode_of(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0u;
}

/* Entries of g_dir other than the names given (a stray temporary or partial file). */
static int strays(const char *const *keep, size_t nkeep)
{
    DIR *d = opendir(g_dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        bool kept = false;
        for (size_t i = 0; i < nkeep; i++) kept |= !strcmp(e->d_name, keep[i]);
        if (!kept) {
            printf("#   stray file %s\n", e->d_name);
            n++;
        }
    }
    closedir(d);
    return n;
}

static void put_text(const char *key, const char *text)
{
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = key;
    r.body.data = text;
    r.body.size = strlen(text);
    cos_result *res = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_put_object(g_c, &r, &res, &err), err);
    cos_result_free(res);
}

static int get_to(const char *key, const char *file, cos_error **err)
{
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = key;
    r.sink.file_path = file;
    cos_result *res = NULL;
    int rc = cos_get_object(g_c, &r, &res, err);
    cos_result_free(res);
    return rc;
}

static int download_to(const char *key, const char *file, cos_error **err)
{
    cos_transfer_params d = COS_TRANSFER_PARAMS_INIT;
    d.bucket = BUCKET;
    d.key = key;
    d.file_path = file;
    d.no_resume = true; /* a failure leaves no partial file to resume */
    return cos_download_file(g_c, &d, NULL, err);
}

/* ---- a download replaces a file: its permissions stay ----
 * The download goes to a temporary file renamed over the old one, which
 * took the temporary's mode: a private 0600 file became 0644 (readable by
 * everyone) after downloadFile, and getObject made new files 0600. cp(1) and
 * curl -o write in place: the old file's mode stays, a new file gets 0666
 * less the umask. */
static void test_download_keeps_the_mode(void)
{
    char f[512];
    path(f, "private.txt");
    put_text("mode/obj", "new contents");
    mode_t old_umask = umask(022);
    for (int how = 0; how < 2; how++) {
        const char *what = how ? "getObject" : "downloadFile";
        static const unsigned MODES[] = { 0600, 0640, 0604 };
        for (size_t i = 0; i < sizeof MODES / sizeof *MODES; i++) {
            write_text(f, "old secret", MODES[i]);
            cos_error *err = NULL;
            CHECK_OK(how ? get_to("mode/obj", f, &err) : download_to("mode/obj", f, &err), err);
            CHECK(file_is(f, "new contents"));
            if (mode_of(f) != MODES[i]) test_fail(__FILE__, __LINE__, "%s over a %04o file left it %04o", what, MODES[i], mode_of(f));
        }
        unlink(f);
        umask(027);
        cos_error *err = NULL;
        CHECK_OK(how ? get_to("mode/obj", f, &err) : download_to("mode/obj", f, &err), err);
        if (mode_of(f) != 0640) test_fail(__FILE__, __LINE__, "%s made a new file %04o under umask 027", what, mode_of(f));
        unlink(f);
        umask(022);
        CHECK_OK(how ? get_to("mode/obj", f, &err) : download_to("mode/obj", f, &err), err);
        if (mode_of(f) != 0644) test_fail(__FILE__, __LINE__, "%s made a new file %04o under umask 022", what, mode_of(f));
        /* set-id bits of the old file are not given to downloaded bytes */
        write_text(f, "old", 04755);
        CHECK_OK(how ? get_to("mode/obj", f, &err) : download_to("mode/obj", f, &err), err);
        if (mode_of(f) != 0755) test_fail(__FILE__, __LINE__, "%s over a 4755 file left it %04o", what, mode_of(f));
        /* root replacing another user's file: the user keeps it */
        if (geteuid() == 0) {
            write_text(f, "old", 0640);
            CHECK(chown(f, 65534, 65534) == 0);
            CHECK_OK(how ? get_to("mode/obj", f, &err) : download_to("mode/obj", f, &err), err);
            struct stat st;
            CHECK(stat(f, &st) == 0 && st.st_uid == 65534 && st.st_gid == 65534 && (st.st_mode & 0777) == 0640);
        }
        unlink(f);
    }
    umask(old_umask);
}

/* ---- root replacing a planted file in a sticky shared directory ----
 * In /tmp (sticky, world-writable) anyone can create the name a root job
 * downloads to. Keeping that file's owner and mode gave the planter a
 * root download they own (0666: writable by anyone), to rewrite at will
 * after it was verified; cp(1) there is refused by fs.protected_regular.
 * A file owned by neither us nor the directory's owner in such a directory
 * is replaced as a new file is: ours, 0666 less the umask. */
static void test_planted_file_in_a_sticky_directory(void)
{
    if (geteuid() != 0) {
        printf("  (not root: skipped)\n");
        return;
    }
    char d[512], f[600];
    path(d, "sticky");
    CHECK(mkdir(d, 0700) == 0 && chmod(d, 01777) == 0);
    snprintf(f, sizeof f, "%s/out", d);
    put_text("sticky/obj", "root's bytes");
    mode_t old_umask = umask(022);
    for (int how = 0; how < 2; how++) {
        write_text(f, "planted", 0666);
        CHECK(chown(f, 65534, 65534) == 0);
        cos_error *err = NULL;
        CHECK_OK(how ? get_to("sticky/obj", f, &err) : download_to("sticky/obj", f, &err), err);
        CHECK(file_is(f, "root's bytes"));
        struct stat st;
        CHECK(stat(f, &st) == 0);
        if (st.st_uid != 0 || (st.st_mode & 0777) != 0644)
            test_fail(__FILE__, __LINE__, "%s over another user's file in a sticky directory: owner %u, mode %04o",
                      how ? "getObject" : "downloadFile", (unsigned)st.st_uid, (unsigned)(st.st_mode & 0777));
        /* the directory's owner's own file there keeps its owner */
        write_text(f, "mine", 0640);
        CHECK(chown(f, 0, 65534) == 0);
        CHECK_OK(how ? get_to("sticky/obj", f, &err) : download_to("sticky/obj", f, &err), err);
        CHECK(stat(f, &st) == 0 && st.st_gid == 65534 && (st.st_mode & 0777) == 0640);
        unlink(f);
    }
    umask(old_umask);
    rmdir(d);
}

/* ---- no /proc: the umask is still honoured ----
 * The umask was read from /proc/self/status, and without /proc (a chroot,
 * a container, early boot) 022 was assumed: under umask 077 a new
 * download became 0644, readable by everyone. Run in a child with an
 * empty /proc of its own (a mount namespace; skipped where none can be made). */
static void test_umask_without_proc(void)
{
    char f[512];
    path(f, "noproc.txt");
    unlink(f);
    put_text("noproc/obj", "private");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (unshare(CLONE_NEWNS) != 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0 ||
            mount("none", "/proc", "tmpfs", 0, NULL) != 0)
            _exit(77);
        umask(077);
        cos_client *c = test_client(&g_srv);
        int bad = 0;
        for (int how = 0; how < 2 && c; how++) {
            cos_request r = COS_REQUEST_INIT;
            r.bucket = BUCKET;
            r.key = "noproc/obj";
            r.sink.file_path = f;
            cos_result *res = NULL;
            cos_error *err = NULL;
            cos_transfer_params d = COS_TRANSFER_PARAMS_INIT;
            d.bucket = BUCKET;
            d.key = "noproc/obj";
            d.file_path = f;
            d.no_resume = true;
            int rc = how ? cos_get_object(c, &r, &res, &err) : cos_download_file(c, &d, NULL, &err);
            struct stat st;
            if (rc != 0 || stat(f, &st) != 0 || (st.st_mode & 0777) != 0600) {
                printf("  %s without /proc under umask 077: rc %d, mode %04o\n", how ? "getObject" : "downloadFile",
                       rc, rc == 0 ? (unsigned)(st.st_mode & 0777) : 0u);
                bad = 1;
            }
            fflush(stdout);
            cos_result_free(res);
            cos_error_free(err);
            unlink(f);
        }
        if (!c) _exit(2);
        cos_client_free(c);
        _exit(bad);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status));
    if (WEXITSTATUS(status) == 77) printf("  (no mount namespace here: skipped)\n");
    else CHECK_INT(WEXITSTATUS(status), 0);
}

/* ---- a failed download leaves the old file as it was ----
 * Every way the server can fail a GET (no such key, a 500 on every try, a
 * wrong CRC-64, the connection dropped), for getObject into a file and
 * downloadFile: the file keeps its bytes and mode and nothing is left
 * beside it. */
static void test_failed_download_keeps_the_old_file(void)
{
    char f[512];
    path(f, "keep.txt");
    char big[512];
    path(big, "big.src");
    test_write_lcg_file(big, 3 * MIB, 7);
    cos_transfer_params up = COS_TRANSFER_PARAMS_INIT;
    up.bucket = BUCKET;
    up.key = "keep/big";
    up.file_path = big;
    cos_error *err = NULL;
    CHECK_OK(cos_upload_file(g_c, &up, NULL, &err), err);
    static const struct {
        const char *rules, *key;
        int rc;
    } FAULTS[] = {
        { NULL, "keep/missing", COS_ERR_SERVER },
        { "[{\"method\":\"GET\",\"match\":\"keep/big\",\"action\":\"status\",\"code\":\"InternalError\",\"times\":1000}]",
          "keep/big", COS_ERR_SERVER },
        { "[{\"match\":\"keep/big\",\"action\":\"bad_crc\",\"times\":1000}]", "keep/big",
          COS_ERR_INTEGRITY },
        { "[{\"method\":\"GET\",\"match\":\"keep/big\",\"action\":\"drop\",\"times\":1000}]", "keep/big", -1 },
    };
    const char *keep[] = { "keep.txt", "big.src" };
    /* the disk full before the first byte (ftruncate of the partial file
       fails): the checkpoint written first to claim its name goes too */
    write_text(f, "precious", 0640);
    struct rlimit old, low;
    CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
    low = old;
    low.rlim_cur = 1 * MIB;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    CHECK(setrlimit(RLIMIT_FSIZE, &low) == 0);
    int frc = download_to("keep/big", f, &err);
    cos_transfer_params resumable = COS_TRANSFER_PARAMS_INIT;
    resumable.bucket = BUCKET;
    resumable.key = "keep/big";
    resumable.file_path = f;
    cos_error *err2 = NULL;
    int frc2 = cos_download_file(g_c, &resumable, NULL, &err2);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    CHECK_INT(frc, COS_ERR_IO);
    CHECK_INT(frc2, COS_ERR_IO);
    cos_error_free(err);
    cos_error_free(err2);
    err = NULL;
    CHECK(file_is(f, "precious"));
    CHECK_INT(strays(keep, 2), 0);
    for (size_t i = 0; i < sizeof FAULTS / sizeof *FAULTS; i++)
        for (int how = 0; how < 2; how++) {
            write_text(f, "precious", 0640);
            if (FAULTS[i].rules) test_set_faults(g_c, &g_srv, FAULTS[i].rules);
            int rc = how ? get_to(FAULTS[i].key, f, &err) : download_to(FAULTS[i].key, f, &err);
            test_set_faults(g_c, &g_srv, NULL);
            if (rc == 0 || (FAULTS[i].rc >= 0 && rc != FAULTS[i].rc))
                test_fail(__FILE__, __LINE__, "fault %zu, %s: rc %d (%s)", i, how ? "getObject" : "downloadFile", rc,
                          err ? cos_error_message(err) : "");
            cos_error_free(err);
            err = NULL;
            if (!file_is(f, "precious") || mode_of(f) != 0640)
                test_fail(__FILE__, __LINE__, "fault %zu, %s: the old file was changed (mode %04o)", i, how ? "getObject" : "downloadFile", mode_of(f));
            CHECK_INT(strays(keep, 2), 0);
        }
    unlink(f);
    unlink(big);
}

/* ---- names a download reserves beside its file ----
 * downloadFile keeps FILE.cos-partial and FILE.cos-partial.json beside
 * FILE. They removed or overwrote whatever was there: the user's own file of
 * that name (an object "x.cos-partial" downloaded beside "x"; a tree
 * uploaded with an interrupted download's leftovers in it, then downloaded
 * again), and in a tree download with the objects "x" and
 * "x.cos-partial.json", x's checkpoint replaced the other object's
 * downloaded bytes while both downloads reported success. Now another's
 * file there is left alone and the download goes to a temporary of its own
 * (not resumable), leaving nothing behind. */
static void test_reserved_names_of_others_kept(void)
{
    char f[512], partial[600], ck[620];
    path(f, "x");
    snprintf(partial, sizeof partial, "%s.cos-partial", f);
    snprintf(ck, sizeof ck, "%s.cos-partial.json", f);
    char big[512];
    path(big, "x.src");
    test_write_lcg_file(big, 5 * MIB, 17);
    cos_transfer_params up = COS_TRANSFER_PARAMS_INIT;
    up.bucket = BUCKET;
    up.key = "names/x";
    up.file_path = big;
    cos_error *err = NULL;
    CHECK_OK(cos_upload_file(g_c, &up, NULL, &err), err);
    const char *keep[] = { "x", "x.cos-partial", "x.cos-partial.json", "x.src" };
    static const struct { const char *partial, *ck; } CASES[] = {
        { "my own file", NULL }, { NULL, "{\"mine\": true}" }, { "kept", "[1,2,3]" },
    };
    for (size_t i = 0; i < sizeof CASES / sizeof *CASES; i++)
        for (int no_resume = 0; no_resume < 2; no_resume++) {
            write_text(f, "old x", 0644);
            if (CASES[i].partial) write_text(partial, CASES[i].partial, 0644);
            if (CASES[i].ck) write_text(ck, CASES[i].ck, 0644);
            cos_transfer_params d = COS_TRANSFER_PARAMS_INIT;
            d.bucket = BUCKET;
            d.key = "names/x";
            d.file_path = f;
            d.chunk_size = 1 * MIB; /* parts, and checkpoints between them */
            d.no_resume = no_resume;
            CHECK_OK(cos_download_file(g_c, &d, NULL, &err), err);
            if (test_files_equal(big, f) != 0) test_fail(__FILE__, __LINE__, "case %zu: x is not the object", i);
            if (CASES[i].partial && !file_is(partial, CASES[i].partial))
                test_fail(__FILE__, __LINE__, "case %zu: x.cos-partial, another file, was changed", i);
            if (CASES[i].ck && !file_is(ck, CASES[i].ck))
                test_fail(__FILE__, __LINE__, "case %zu: x.cos-partial.json, another file, was changed", i);
            CHECK(CASES[i].partial || !test_exists(partial));
            CHECK(CASES[i].ck || !test_exists(ck));
            CHECK_INT(strays(keep, 4), 0);
            unlink(partial);
            unlink(ck);
        }
    /* a failed download among such names leaves them and nothing else */
    write_text(f, "old x", 0644);
    write_text(partial, "mine", 0644);
    test_set_faults(g_c, &g_srv, "[{\"method\":\"GET\",\"match\":\"partNumber\",\"action\":\"drop\",\"times\":1000},"
                                 "{\"method\":\"GET\",\"match\":\"names/x\",\"action\":\"status\",\"code\":\"InternalError\",\"times\":1000}]");
    cos_transfer_params d = COS_TRANSFER_PARAMS_INIT;
    d.bucket = BUCKET;
    d.key = "names/x";
    d.file_path = f;
    CHECK(cos_download_file(g_c, &d, NULL, &err) != 0);
    test_set_faults(g_c, &g_srv, NULL);
    cos_error_free(err);
    err = NULL;
    CHECK(file_is(f, "old x"));
    CHECK(file_is(partial, "mine"));
    CHECK_INT(strays(keep, 4), 0);
    unlink(partial);
    unlink(f);
    unlink(big);
}

/* x's checkpoint name taken by another file while x downloads (what a tree
 * download of "x" and "x.cos-partial.json" does): the other file stays. */
/* ---- a directory or FIFO under a reserved name ----
 * Only regular files there were left alone: a directory "x.cos-partial"
 * (a tree with the objects "x" and "x.cos-partial/y") failed x's download
 * ("cannot write x.cos-partial: Is a directory"), and someone's FIFO or
 * socket named x.cos-partial was removed. Anything but a symlink found
 * there is now another's: the download goes to a temporary of its own. */
static void test_reserved_names_not_files(void)
{
    char f[512], partial[600], ck[620], inner[700];
    path(f, "y");
    snprintf(partial, sizeof partial, "%s.cos-partial", f);
    snprintf(ck, sizeof ck, "%s.cos-partial.json", f);
    put_text("names/y", "the object y");
    const char *keep[] = { "y", "y.cos-partial", "y.cos-partial.json" };
    for (int c = 0; c < 3; c++)
        for (int no_resume = 0; no_resume < 2; no_resume++) {
            write_text(f, "old y", 0644);
            const char *at = c == 2 ? ck : partial;
            if (c == 1) CHECK(mkfifo(at, 0600) == 0);
            else {
                CHECK(mkdir(at, 0755) == 0);
                snprintf(inner, sizeof inner, "%s/inside", at);
                write_text(inner, "kept", 0644);
            }
            cos_transfer_params d = COS_TRANSFER_PARAMS_INIT;
            d.bucket = BUCKET;
            d.key = "names/y";
            d.file_path = f;
            d.no_resume = no_resume;
            cos_error *err = NULL;
            int rc = cos_download_file(g_c, &d, NULL, &err);
            if (rc) test_fail(__FILE__, __LINE__, "case %d: %s", c, err && err->message ? err->message : "failed");
            cos_error_free(err);
            CHECK(file_is(f, "the object y"));
            struct stat st;
            if (c == 1) {
                if (lstat(at, &st) != 0 || !S_ISFIFO(st.st_mode)) test_fail(__FILE__, __LINE__, "a FIFO named y.cos-partial was removed");
                unlink(at);
            } else {
                CHECK(file_is(inner, "kept"));
                unlink(inner);
                rmdir(at);
            }
            CHECK_INT(strays(keep, 3), 0);
            unlink(ck);
            unlink(partial);
        }
    unlink(f);
}

/* ---- a download's temporary file is not inherited by child processes ----
 * getObject's FILE.cos-tmp-XXXXXX was opened without close-on-exec: a
 * program started by another thread meanwhile kept it open (and writable).
 * Looked at from the progress callback, while the file is open. */
static _Atomic int g_tmp_fds, g_tmp_inheritable;
static void look_at_fds(void *ud, const cos_progress *p)
{
    (void)ud;
    (void)p;
    DIR *d = opendir("/proc/self/fd");
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        char link[300], to[1024];
        snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(link, to, sizeof to - 1);
        if (n <= 0) continue;
        to[n] = '\0';
        if (!strstr(to, ".cos-tmp-")) continue;
        atomic_fetch_add(&g_tmp_fds, 1);
        int fl = fcntl(atoi(e->d_name), F_GETFD);
        if (fl >= 0 && !(fl & FD_CLOEXEC)) atomic_fetch_add(&g_tmp_inheritable, 1);
    }
    closedir(d);
}

static void test_temporary_not_inherited(void)
{
    char f[512];
    path(f, "cloexec.bin");
    put_text("cloexec/obj", "some bytes to download");
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = "cloexec/obj";
    r.sink.file_path = f;
    r.on_progress = look_at_fds;
    cos_result *res = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_get_object(g_c, &r, &res, &err), err);
    cos_result_free(res);
    if (access("/proc/self/fd", F_OK) == 0) CHECK(atomic_load(&g_tmp_fds) > 0);
    CHECK_INT(atomic_load(&g_tmp_inheritable), 0);
    unlink(f);
}

static char g_ck_path[620];
static _Atomic int g_ck_planted;
static void plant_checkpoint_name(void *ud, const cos_progress *p)
{
    (void)ud;
    if (atomic_load(&g_ck_planted) || p->loaded == 0 || p->percent >= 1.0) return;
    atomic_store(&g_ck_planted, 1);
    char tmp[700];
    snprintf(tmp, sizeof tmp, "%s.other", g_ck_path);
    write_text(tmp, "the object x.cos-partial.json", 0644);
    CHECK(rename(tmp, g_ck_path) == 0); /* as that object's download renames its file into place */
}

static void test_checkpoint_name_taken_midway(void)
{
    char src[512], f[512];
    path(src, "ck.src");
    path(f, "ckx");
    snprintf(g_ck_path, sizeof g_ck_path, "%s.cos-partial.json", f);
    test_write_lcg_file(src, 20 * MIB, 9);
    cos_transfer_params up = COS_TRANSFER_PARAMS_INIT;
    up.bucket = BUCKET;
    up.key = "names/ckx";
    up.file_path = src;
    cos_error *err = NULL;
    CHECK_OK(cos_upload_file(g_c, &up, NULL, &err), err);
    cos_transfer_params d = COS_TRANSFER_PARAMS_INIT;
    d.bucket = BUCKET;
    d.key = "names/ckx";
    d.file_path = f;
    d.chunk_size = 2 * MIB;
    d.parallel = 1;
    d.on_progress = plant_checkpoint_name;
    CHECK_OK(cos_download_file(g_c, &d, NULL, &err), err);
    CHECK(atomic_load(&g_ck_planted));
    CHECK(test_files_equal(src, f) == 0);
    CHECK(file_is(g_ck_path, "the object x.cos-partial.json"));
    unlink(g_ck_path);
    unlink(f);
    unlink(src);
}

/* ---- getObject into a file, answered 304 Not Modified ----
 * The conditional GET of a cache that is up to date: the file is the
 * object already; it must stay, not become the empty body of the 304. */
static void test_not_modified_keeps_the_file(void)
{
    char f[512];
    path(f, "cached.txt");
    put_text("cache/obj", "cached bytes");
    cos_request h = COS_REQUEST_INIT;
    h.bucket = BUCKET;
    h.key = "cache/obj";
    cos_result *hr = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_head_object(g_c, &h, &hr, &err), err);
    if (!hr || !hr->etag) {
        cos_result_free(hr);
        return;
    }
    write_text(f, "cached bytes", 0600);
    cos_kv cond = { "If-None-Match", hr->etag };
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = "cache/obj";
    r.headers = &cond;
    r.header_count = 1;
    r.sink.file_path = f;
    cos_result *res = NULL;
    int rc = cos_get_object(g_c, &r, &res, &err);
    if (rc == 0 && res) CHECK_INT(res->http_status, 304);
    cos_result_free(res);
    cos_error_free(err);
    CHECK(file_is(f, "cached bytes"));
    CHECK_INT(mode_of(f), 0600);
    const char *keep[] = { "cached.txt" };
    CHECK_INT(strays(keep, 1), 0);
    unlink(f);
    cos_result_free(hr);
}

/* ---- a key the server refuses, with an error body that is no XML ----
 * cos-server refuses a key with a control character (400 InvalidURI) and
 * echoes the key in <Resource>, which XML cannot carry: libcos said only
 * "HTTP 400 ... with no COS error body". The code and message are read
 * from such a body anyway. */
static void test_error_body_not_xml(void)
{
    static const char *const KEYS[] = { "esc\x1b[31mred", "bell\x07", "ff\xff\xfe" };
    for (size_t i = 0; i < sizeof KEYS / sizeof *KEYS; i++) {
        cos_request r = COS_REQUEST_INIT;
        r.bucket = BUCKET;
        r.key = KEYS[i];
        r.body.data = "x";
        r.body.size = 1;
        cos_result *res = NULL;
        cos_error *err = NULL;
        int rc = cos_put_object(g_c, &r, &res, &err);
        cos_result_free(res);
        if (rc == 0) continue; /* a server that takes the key: nothing to read */
        CHECK_INT(rc, COS_ERR_SERVER);
        if (err) {
            CHECK(err->code != NULL);
            if (err->code) CHECK_STR(err->code, "InvalidURI");
            CHECK(err->message && strstr(err->message, "not a valid object name"));
            CHECK_INT(err->http_status, 400);
        }
        cos_error_free(err);
    }
}

/* ---- downloads into what is not a file ---- */
static void test_download_into_a_directory_or_full_device(void)
{
    char d[512];
    path(d, "adir");
    CHECK(mkdir(d, 0755) == 0);
    char inside[600];
    snprintf(inside, sizeof inside, "%s/inner", d);
    write_text(inside, "inner", 0644);
    cos_error *err = NULL;
    CHECK_INT(get_to("mode/obj", d, &err), COS_ERR_INVALID_ARG);
    cos_error_free(err);
    err = NULL;
    CHECK_INT(download_to("mode/obj", d, &err), COS_ERR_INVALID_ARG);
    cos_error_free(err);
    err = NULL;
    CHECK(file_is(inside, "inner"));
    if (access("/dev/full", W_OK) == 0) {
        int rc = get_to("keep/big", "/dev/full", &err);
        CHECK_INT(rc, COS_ERR_IO);
        if (err) CHECK_INT(err->os_errno, ENOSPC);
        cos_error_free(err);
        err = NULL;
        rc = download_to("keep/big", "/dev/full", &err);
        CHECK_INT(rc, COS_ERR_IO);
        cos_error_free(err);
        err = NULL;
    }
    test_rmtree(d);
}

/* ---- a file rewritten in place while one PUT sends it ----
 * A server (a thread here) reads the first MiB of the body, rewrites the
 * file's last bytes in place (same size: a database or a log rotated by
 * copy), reads the rest and answers 200 with the CRC-64 of what it got, as
 * COS would (and the MD5 of it as the ETag, as an S3 store would). The
 * object is then neither version; the CRC-64 and MD5 of what was sent
 * match, so only the file's modification time can tell. */
#define TORN_SIZE (24u * MIB)
static char g_torn_path[512];
static _Atomic int g_torn_requests;
static _Atomic int g_torn_restore_mtime;

static void *torn_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char head[16384];
    size_t got = 0;
    char *end = test_recv_head(fd, head, sizeof head, &got);
    if (!end) {
        close(fd);
        return NULL;
    }
    atomic_fetch_add(&g_torn_requests, 1);
    const char *cl = strcasestr(head, "\r\nContent-Length:");
    size_t clen = cl ? strtoul(cl + 17, NULL, 10) : 0;
    if (strcasestr(head, "\r\nExpect: 100-continue")) test_send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25);
    size_t have = got - (size_t)(end + 4 - head);
    uint64_t crc = cos_crc64(0, end + 4, have);
    cos_md5 *md5 = cos_md5_new();
    cos_md5_update(md5, end + 4, have);
    bool rewritten = false;
    static char buf[65536];
    while (have < clen) {
        if (!rewritten && have >= MIB) { /* the rest is still in the file, not in flight */
            int w = open(g_torn_path, O_WRONLY);
            static char other[4096];
            memset(other, 'Z', sizeof other);
            struct stat before;
            bool have_before = w >= 0 && fstat(w, &before) == 0;
            if (w >= 0) {
                if (pwrite(w, other, sizeof other, TORN_SIZE - sizeof other) != (ssize_t)sizeof other) perror("pwrite");
                /* a writer that puts the modification time back (touch -d, rsync -t) */
                if (atomic_load(&g_torn_restore_mtime) && have_before) {
                    struct timespec ts[2] = { before.st_atim, before.st_mtim };
                    if (futimens(w, ts) != 0) perror("futimens");
                }
                close(w);
            }
            rewritten = true;
        }
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        crc = cos_crc64(crc, buf, (size_t)n);
        cos_md5_update(md5, buf, (size_t)n);
        have += (size_t)n;
    }
    unsigned char d[16];
    char hex[33];
    cos_md5_final(md5, d);
    cos_md5_free(md5);
    cos_hex_encode(d, 16, hex);
    char answer[512];
    int n = snprintf(answer, sizeof answer,
                     "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nETag: \"%s\"\r\n"
                     "x-cos-hash-crc64ecma: %llu\r\nx-cos-request-id: torn\r\nConnection: close\r\n\r\n",
                     hex, (unsigned long long)crc);
    test_send_all(fd, answer, (size_t)n);
    close(fd);
    return NULL;
}

static void test_file_rewritten_during_a_put(void)
{
    path(g_torn_path, "torn.bin");
    int port = 0;
    int lfd = test_listen_loopback(&port);
    CHECK(lfd >= 0);
    if (lfd < 0) return;
    test_serve_forever(lfd, torn_conn);
    char hp[64];
    snprintf(hp, sizeof hp, "127.0.0.1:%d", port);
    /* COS's dialect: putObject with the file as its body */
    cos_config cfg;
    test_server fake = { .port = port };
    snprintf(fake.endpoint, sizeof fake.endpoint, "%s", hp);
    test_config(&cfg, &fake);
    cfg.max_retries = 0;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    test_write_lcg_file(g_torn_path, TORN_SIZE, 5);
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = "torn.bin";
    r.body.file_path = g_torn_path;
    cos_result *res = NULL;
    int rc = c ? cos_put_object(c, &r, &res, &err) : -1;
    CHECK_INT(atomic_load(&g_torn_requests), 1);
    CHECK_INT(rc, COS_ERR_IO);
    if (err) CHECK(err->message && strstr(err->message, "written to"));
    cos_error_free(err);
    err = NULL;
    cos_result_free(res);
    cos_client_free(c);
    /* S3's dialect, uploadFile's single PUT (the store checks no CRC-64) */
    cos_client *s3 = test_s3_client(hp, "us-east-1", 0);
    test_write_lcg_file(g_torn_path, TORN_SIZE, 6);
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = "torn";
    p.key = "torn.bin";
    p.file_path = g_torn_path;
    p.slice_size = 64u * MIB; /* one PUT */
    p.no_resume = true;
    cos_transfer_result *tr = NULL;
    rc = s3 ? cos_upload_file(s3, &p, &tr, &err) : -1;
    CHECK_INT(atomic_load(&g_torn_requests), 2);
    if (rc == 0) test_fail(__FILE__, __LINE__, "a torn object was reported uploaded (S3 dialect)");
    cos_error_free(err);
    err = NULL;
    cos_transfer_result_free(tr);
    tr = NULL;
    /* the same, its modification time put back after the write: same size,
       same mtime; only the change time tells (it was reported uploaded) */
    atomic_store(&g_torn_restore_mtime, 1);
    test_write_lcg_file(g_torn_path, TORN_SIZE, 7);
    rc = s3 ? cos_upload_file(s3, &p, &tr, &err) : -1;
    CHECK_INT(atomic_load(&g_torn_requests), 3);
    if (rc == 0) test_fail(__FILE__, __LINE__, "a torn object was reported uploaded (mtime put back, S3 dialect)");
    cos_error_free(err);
    err = NULL;
    cos_transfer_result_free(tr);
    cos_client_free(s3);
    c = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    test_write_lcg_file(g_torn_path, TORN_SIZE, 8);
    res = NULL;
    rc = c ? cos_put_object(c, &r, &res, &err) : -1;
    CHECK_INT(atomic_load(&g_torn_requests), 4);
    CHECK_INT(rc, COS_ERR_IO);
    cos_error_free(err);
    cos_result_free(res);
    cos_client_free(c);
    atomic_store(&g_torn_restore_mtime, 0);
    unlink(g_torn_path);
}

/* ---- uploadFiles with files that cannot be uploaded ----
 * A directory, a FIFO nobody writes to, a missing file and a device among
 * good files: each bad one gets its own error through on_file_done (once),
 * the good ones are uploaded whole, the call returns the first failure and
 * nothing hangs (a watchdog, never a timed assertion). */
typedef struct batch { pthread_mutex_t m; int calls[8]; int rc[8]; } batch;
static void on_batch_done(void *ud, size_t index, int rc, const cos_transfer_result *res, const cos_error *err)
{
    (void)res;
    (void)err;
    batch *b = ud;
    pthread_mutex_lock(&b->m);
    if (index < 8) {
        b->calls[index]++;
        b->rc[index] = rc;
    }
    pthread_mutex_unlock(&b->m);
}

static void test_upload_files_with_bad_files(void)
{
    char good1[512], good2[512], dir[512], fifo[512], missing[512];
    path(good1, "good1");
    path(good2, "good2");
    path(dir, "a-directory");
    path(fifo, "a-fifo");
    path(missing, "missing");
    test_write_lcg_file(good1, 3000, 1);
    test_write_lcg_file(good2, 2 * MIB + 5, 2); /* multipart with a 1 MiB slice */
    CHECK(mkdir(dir, 0755) == 0);
    CHECK(mkfifo(fifo, 0600) == 0);
    const char *paths[] = { good1, dir, fifo, missing, "/dev/zero", good2 };
    const int want[] = { 0, COS_ERR_INVALID_ARG, COS_ERR_INVALID_ARG, COS_ERR_IO, COS_ERR_INVALID_ARG, 0 };
    enum { N = 6 };
    cos_transfer_params files[N];
    char keys[N][32];
    for (int i = 0; i < N; i++) {
        cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
        snprintf(keys[i], sizeof keys[i], "batch/%d", i);
        p.bucket = BUCKET;
        p.key = keys[i];
        p.file_path = paths[i];
        p.slice_size = MIB;
        files[i] = p;
    }
    batch b = { .m = PTHREAD_MUTEX_INITIALIZER };
    cos_upload_files_params up = COS_UPLOAD_FILES_PARAMS_INIT;
    up.files = files;
    up.file_count = N;
    up.on_file_done = on_batch_done;
    up.file_done_user_data = &b;
    cos_error *err = NULL;
    test_watch(120, "uploadFiles with a FIFO, a directory and a device", &g_srv);
    int rc = cos_upload_files(g_c, &up, &err);
    test_unwatch();
    CHECK(rc != 0);
    cos_error_free(err);
    err = NULL;
    for (int i = 0; i < N; i++) {
        if (b.calls[i] != 1) test_fail(__FILE__, __LINE__, "file %d: on_file_done called %d times", i, b.calls[i]);
        if (b.rc[i] != want[i]) test_fail(__FILE__, __LINE__, "file %d (%s): rc %d, not %d", i, paths[i], b.rc[i], want[i]);
    }
    for (int i = 0; i < N; i += N - 1) {
        char back[512];
        path(back, "batch.back");
        CHECK_INT(download_to(keys[i], back, &err), 0);
        cos_error_free(err);
        err = NULL;
        CHECK(test_files_equal(paths[i], back) == 0);
        unlink(back);
    }
    cos_request h = COS_REQUEST_INIT;
    h.bucket = BUCKET;
    for (int i = 1; i < N - 1; i++) { /* nothing stored for the bad ones */
        h.key = keys[i];
        cos_result *hr = NULL;
        CHECK(cos_head_object(g_c, &h, &hr, NULL) != 0);
        cos_result_free(hr);
    }
    rmdir(dir);
    unlink(fifo);
    unlink(good1);
    unlink(good2);
}

/* ---- a body cut midway, streamed to a callback ----
 * Bytes handed to a sink callback (cos cat, cp ... -) cannot be taken back:
 * a retry would hand them out twice. A server (a thread here) that sends
 * half of every body and closes: one request, an error, the half once. */
#define CUT_SIZE (256u * 1024u)
static _Atomic int g_cut_requests;
static void *cut_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char head[16384];
    size_t got = 0;
    if (test_recv_head(fd, head, sizeof head, &got)) {
        atomic_fetch_add(&g_cut_requests, 1);
        char hdr[256];
        int n = snprintf(hdr, sizeof hdr, "HTTP/1.1 200 OK\r\nContent-Length: %u\r\nETag: \"cut\"\r\n"
                         "x-cos-request-id: cut\r\nConnection: close\r\n\r\n", CUT_SIZE);
        test_send_all(fd, hdr, (size_t)n);
        static unsigned char half[CUT_SIZE / 2];
        memset(half, 'h', sizeof half);
        test_send_all(fd, half, sizeof half);
    }
    close(fd);
    return NULL;
}

typedef struct seen { size_t bytes; } seen;
static int count_bytes(void *ud, const void *buf, size_t len)
{
    (void)buf;
    ((seen *)ud)->bytes += len;
    return 0;
}

static void test_cut_body_to_a_callback_not_retried(void)
{
    int port = 0;
    int lfd = test_listen_loopback(&port);
    CHECK(lfd >= 0);
    if (lfd < 0) return;
    test_serve_forever(lfd, cut_conn);
    test_server fake = { .port = port };
    snprintf(fake.endpoint, sizeof fake.endpoint, "127.0.0.1:%d", port);
    cos_config cfg;
    test_config(&cfg, &fake);
    cfg.max_retries = 3;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    if (!c) return;
    seen sn = { 0 };
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = "cut";
    r.sink.write = count_bytes;
    r.sink.write_user_data = &sn;
    cos_result *res = NULL;
    int rc = cos_get_object(c, &r, &res, &err);
    CHECK(rc != 0);
    CHECK_INT(atomic_load(&g_cut_requests), 1);
    CHECK_INT(sn.bytes, CUT_SIZE / 2);
    cos_result_free(res);
    res = NULL;
    cos_error_free(err);
    err = NULL;
    /* into a file: retried (nothing was handed out), and the old file stays */
    char f[512];
    path(f, "cut.txt");
    write_text(f, "old", 0644);
    r.sink.write = NULL;
    r.sink.file_path = f;
    rc = cos_get_object(c, &r, &res, &err);
    CHECK(rc != 0);
    CHECK(atomic_load(&g_cut_requests) > 2);
    CHECK(file_is(f, "old"));
    const char *keep[] = { "cut.txt" };
    CHECK_INT(strays(keep, 1), 0);
    unlink(f);
    cos_result_free(res);
    cos_error_free(err);
    cos_client_free(c);
}

int main(void)
{
    g_dir = test_tmpdir("libattack");
    const char *args[] = { "--faults", NULL };
    if (test_server_start(&g_srv, args) != 0) {
        printf("cannot start cos-server\n0 passed, 1 failed\n");
        return 1;
    }
    g_c = test_client(&g_srv);
    test_put_bucket(g_c, BUCKET);
    RUN(test_download_keeps_the_mode);
    RUN(test_planted_file_in_a_sticky_directory);
    RUN(test_umask_without_proc);
    RUN(test_failed_download_keeps_the_old_file);
    RUN(test_reserved_names_of_others_kept);
    RUN(test_reserved_names_not_files);
    RUN(test_temporary_not_inherited);
    RUN(test_checkpoint_name_taken_midway);
    RUN(test_not_modified_keeps_the_file);
    RUN(test_error_body_not_xml);
    RUN(test_download_into_a_directory_or_full_device);
    RUN(test_file_rewritten_during_a_put);
    RUN(test_cut_body_to_a_callback_not_retried);
    RUN(test_upload_files_with_bad_files);
    cos_client_free(g_c);
    test_server_stop(&g_srv, false);
    test_rmtree(g_dir);
    free(g_dir);
    return test_report();
}

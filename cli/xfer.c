/*
 * xfer.c — cp, mv and sync in every direction (local<->cos, cos->cos), one
 * object or a whole tree, and '-' for standard input or output.
 *
 * A tree operation first lists both sides completely (a local walk that never
 * follows a directory symlink back into itself; a checked cos listing of the
 * prefix KEY/), then acts: nothing is ever decided from a half-made plan.
 * What is refused, because it would lose data nobody asked to lose: moving an
 * object onto itself, copying or syncing a prefix into itself, a key that
 * would leave the destination directory, and `sync --delete` from an empty
 * source (unless --force).
 */
#define _GNU_SOURCE
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ ends */

typedef enum { END_LOCAL, END_COS, END_STREAM } end_kind;

typedef struct endpoint {
    end_kind kind;
    const char *arg;   /* as typed */
    cos_url u;         /* END_COS */
} endpoint;


/* Percent-encode a key for a header, keeping RFC 3986's unreserved
 * characters and '/'. */
static void uri_encode_key(const char *key, char *out, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)key; *p && o + 4 < n; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || strchr("-_.~/", *p)) {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
}

static void parse_end(const char *arg, endpoint *e)
{
    memset(e, 0, sizeof *e);
    e->arg = arg;
    if (!strcmp(arg, "-")) e->kind = END_STREAM;
    else if (cli_parse_url(arg, &e->u)) e->kind = END_COS;
    else e->kind = END_LOCAL;
}

/* ------------------------------------------------------------------ filters */

bool cli_filter_pass(const cli_opts *o, const char *rel)
{
    bool pass = true; /* everything, then each --exclude/--include in order; the last match wins */
    for (int i = 0; i < o->nfilters; i++)
        if (fnmatch(o->filters[i], rel, 0) == 0) pass = o->filter_include[i];
    return pass;
}

/* ------------------------------------------------------------------ entries */

typedef struct entry {
    char *rel;        /* path below the root, '/'-separated */
    uint64_t size;
    int64_t mtime;    /* Unix seconds */
} entry;

typedef struct entries {
    entry *v;
    size_t n, cap;
    size_t unreadable; /* names seen but not listed (stat failed, too long): the listing is incomplete */
} entries;

static int entries_add(entries *es, const char *rel, uint64_t size, int64_t mtime)
{
    if (es->n == es->cap) {
        size_t cap = es->cap ? es->cap * 2 : 64;
        entry *v = realloc(es->v, cap * sizeof *v);
        if (!v) return -1;
        es->v = v;
        es->cap = cap;
    }
    char *r = strdup(rel);
    if (!r) return -1;
    es->v[es->n++] = (entry){ r, size, mtime };
    return 0;
}

static void entries_free(entries *es)
{
    for (size_t i = 0; i < es->n; i++) free(es->v[i].rel);
    free(es->v);
    memset(es, 0, sizeof *es);
}

static int cmp_entry(const void *a, const void *b) { return strcmp(((const entry *)a)->rel, ((const entry *)b)->rel); }

static entry *entries_find(const entries *es, const char *rel)
{
    if (!es->n) return NULL;
    entry key = { (char *)rel, 0, 0 };
    return bsearch(&key, es->v, es->n, sizeof *es->v, cmp_entry);
}

/* The directories from the root down to where a walk stands: a directory met
 * again on its own path is a symlink loop. */
typedef struct dir_id {
    dev_t dev;
    ino_t ino;
} dir_id;
#define MAX_DEPTH 256

/* Whether the checkpoint at `path` has libcos's form ({"upload_id":...,
 * "parts":[...], as transfer.c's checkpoint_write writes it): libcos takes
 * such a checkpoint and its partial file as its own, and overwrites both. */
static bool is_download_checkpoint(const char *path)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return false;
    char buf[4096]; /* "parts" follows the ETag, the checksum's name and the file's device and inode */
    struct stat st;
    ssize_t n = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? read(fd, buf, sizeof buf - 1) : -1;
    close(fd);
    if (n <= 0) return false;
    buf[n] = '\0';
    return !strncmp(buf, "{\"upload_id\":", 13) && strstr(buf, ",\"parts\":[");
}

/* Whether `path` (named `name`) is libcos's: a download's temporary, or an
 * interrupted download's FILE.cos-partial or its checkpoint
 * FILE.cos-partial.json (marked, or without the mark of older versions by
 * the checkpoint's form): a later download of FILE
 * resumes from them or overwrites them, so they are no files of the tree
 * (uploaded, they were the object's first bytes and zeros). A file of one
 * of those names without libcos's checkpoint beside it is the user's. */
static bool download_leftover(const char *path, const char *name)
{
    char mark[2];
    /* libcos marks its partial files, checkpoints and temporaries (util.c's
       cos_mark_temporary): a live download's too, whatever its name */
    if (getxattr(path, "user.cos-c.temporary", mark, sizeof mark) == 1) return true;
    static const char part[] = ".cos-partial", json[] = ".cos-partial.json";
    size_t n = strlen(name), pl = strlen(path);
    char ck[4200];
    if (n > sizeof json - 1 && !strcmp(name + n - (sizeof json - 1), json)) return is_download_checkpoint(path);
    if (n > sizeof part - 1 && !strcmp(name + n - (sizeof part - 1), part) && pl + 6 < sizeof ck) {
        snprintf(ck, sizeof ck, "%s.json", path);
        return is_download_checkpoint(ck);
    }
    return false;
}

/* `dest`: the walk lists a sync's destination, whose extra files --delete
 * removes: a symlink to a directory there is not descended, since what lies
 * behind it is outside the destination (deleting it would reach anywhere). */
static int walk_local(const cli_opts *o, const char *root, const char *rel, entries *out, dir_id *stack, int depth,
                      bool dest)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s%s%s", root, rel[0] ? "/" : "", rel);
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "cos: %s: cannot open %s: %s\n", o->cmd, cli_shown(stderr, dir), strerror(errno));
        return EXIT_FAIL;
    }
    int rc = 0;
    struct dirent *e;
    while (!rc) {
        /* readdir's NULL is the end only when errno stays 0: a directory
           listed in part would make sync --delete remove the remote copies
           of the files it did not list */
        errno = 0;
        if (!(e = readdir(d))) {
            if (errno) {
                fprintf(stderr, "cos: %s: cannot read the directory %s to its end: %s\n", o->cmd,
                        cli_shown(stderr, dir), strerror(errno));
                rc = EXIT_FAIL;
            }
            break;
        }
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char path[4096], child[4096];
        if ((size_t)snprintf(child, sizeof child, "%s%s%s", rel, rel[0] ? "/" : "", e->d_name) >= sizeof child ||
            (size_t)snprintf(path, sizeof path, "%s/%s", root, child) >= sizeof path) {
            fprintf(stderr, "cos: %s: path too long under %s; skipped\n", o->cmd, cli_shown(stderr, dir));
            out->unreadable++;
            continue;
        }
        struct stat st;
        if ((o->no_follow_symlinks ? lstat(path, &st) : stat(path, &st)) != 0) {
            int why = errno; /* before fprintf, which may change it */
            struct stat lst;
            fprintf(stderr, "cos: %s: %s: %s; skipped\n", o->cmd, cli_shown(stderr, path), strerror(why));
            /* only a name gone since readdir is no file of the tree; a dangling
               symlink (a link into an unmounted disk) is one that could not be
               read: sync --delete must not remove its copy */
            if (why != ENOENT || lstat(path, &lst) == 0) out->unreadable++;
            continue;
        }
        if (S_ISLNK(st.st_mode)) continue; /* --no-follow-symlinks */
        struct stat lst;
        if (dest && S_ISDIR(st.st_mode) && lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
            fprintf(stderr, "cos: %s: %s is a symlink to a directory; not descended (nothing behind it is deleted)\n",
                    o->cmd, cli_shown(stderr, path));
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            bool loop = false;
            for (int i = 0; i < depth; i++) loop |= stack[i].dev == st.st_dev && stack[i].ino == st.st_ino;
            if (loop) {
                fprintf(stderr, "cos: %s: %s leads back into a directory above it (symlink loop); not followed\n",
                        o->cmd, cli_shown(stderr, path));
                continue;
            }
            if (depth + 1 >= MAX_DEPTH) {
                /* a real directory left unread: the listing is incomplete (cp -r
                   exited 0 without its files, sync --delete removed their copies) */
                fprintf(stderr, "cos: %s: %s is more than %d directories deep; not read\n", o->cmd,
                        cli_shown(stderr, path), MAX_DEPTH - 1);
                out->unreadable++;
                continue;
            }
            stack[depth] = (dir_id){ st.st_dev, st.st_ino };
            rc = walk_local(o, root, child, out, stack, depth + 1, dest);
        } else if (S_ISREG(st.st_mode)) {
            if (!cli_filter_pass(o, child)) continue;
            if (download_leftover(path, e->d_name)) {
                if (!dest) /* a destination's are left alone too: --delete would lose a resumable download */
                    fprintf(stderr, "cos: %s: %s is an interrupted download's (libcos's); not a file of the tree\n",
                            o->cmd, cli_shown(stderr, path));
                continue;
            }
            if (entries_add(out, child, (uint64_t)st.st_size, (int64_t)st.st_mtime)) rc = EXIT_FAIL;
        }
    }
    closedir(d);
    return rc;
}

static int list_local(const cli_opts *o, const char *root, entries *out, bool dest)
{
    struct stat st;
    if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode)) return EXIT_NOTFOUND;
    dir_id stack[MAX_DEPTH];
    stack[0] = (dir_id){ st.st_dev, st.st_ino };
    return walk_local(o, root, "", out, stack, 1, dest);
}

static int64_t parse_iso(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!s || !strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) return 0;
    return (int64_t)timegm(&tm);
}

typedef struct cos_walk {
    const cli_opts *o;
    size_t plen;
    entries *out;
} cos_walk;

static int cos_page(void *ud, const cos_list_objects_result *l)
{
    cos_walk *w = ud;
    for (size_t i = 0; i < l->contents_count; i++) {
        const char *rel = l->contents[i].key + w->plen;
        size_t n = strlen(rel);
        if (!n || rel[n - 1] == '/') continue; /* the prefix itself, or a folder marker */
        if (!cli_filter_pass(w->o, rel)) continue;
        if (entries_add(w->out, rel, l->contents[i].size, parse_iso(l->contents[i].last_modified))) return EXIT_FAIL;
    }
    return 0;
}

static int list_cos(cos_client *c, const cli_opts *o, const char *bucket, const char *prefix, entries *out)
{
    cos_walk w = { o, strlen(prefix), out };
    return cli_list(c, o->cmd, bucket, prefix, NULL, cos_page, &w);
}

/* Whether rel is the name of another entry's partial download (libcos's
 * X.cos-partial and X.cos-partial.json beside a downloaded X). */
static bool names_a_partial(const entries *all, const char *rel)
{
    static const char *const SUFFIXES[] = { ".cos-partial", ".cos-partial.json" };
    size_t n = strlen(rel);
    for (size_t i = 0; i < sizeof SUFFIXES / sizeof *SUFFIXES; i++) {
        size_t k = strlen(SUFFIXES[i]);
        char base[4200];
        if (n > k && n - k < sizeof base && !strcmp(rel + n - k, SUFFIXES[i])) {
            snprintf(base, sizeof base, "%.*s", (int)(n - k), rel);
            if (entries_find(all, base)) return true;
        }
    }
    return false;
}

/* Whether a key has a "." or ".." segment: COS resolves them in a request's
 * path (include/cos/client.h), so GET, PUT, DELETE and a copy source of
 * "p/x/../y" act on "p/y", another object than the one listed. */
static bool has_dot_segment(const char *key)
{
    for (const char *p = key; *p;) {
        size_t n = strcspn(p, "/");
        if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) return true;
        p += n;
        if (*p == '/') p++;
    }
    return false;
}

/* A relative path from a key must stay below the destination directory. */
static bool safe_rel(const char *rel)
{
    return rel[0] && rel[0] != '/' && !strstr(rel, "//") && !has_dot_segment(rel);
}

static int mkdirs_for(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0777) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return 0;
}

static bool below(const char *root, const char *a);

/* 1 when the directory fd is below real_root (read through /proc), 0 when
 * not, -1 when that cannot be told (no /proc). */
static int fd_below(int fd, const char *real_root)
{
    char via[64], at[PATH_MAX];
    snprintf(via, sizeof via, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(via, at, sizeof at - 1);
    if (n <= 0 || at[0] != '/') return -1;
    at[n] = '\0';
    return below(real_root, at) ? 1 : 0;
}

/* mkdirs_for inside a tree download's destination `root`: each directory is
 * made with mkdirat() in its parent, opened a moment before and checked to
 * be inside (a link inside that stays inside is followed, as the download
 * follows it), never by a path that a directory swapped for a link since
 * the check could lead outside. -1 with errno (ELOOP: it leads outside
 * now). Without /proc, mkdirs_for (the path as checked). */
static int mkdirs_inside(const char *root, const char *path)
{
    char real_root[PATH_MAX], rel[4200];
    size_t rl = strlen(root);
    const char *slash = strrchr(path, '/');
    if (strncmp(path, root, rl) != 0 || !realpath(root, real_root)) return mkdirs_for(path);
    if (!slash || slash <= path + rl) return 0; /* the file is in root itself */
    snprintf(rel, sizeof rel, "%.*s", (int)(slash - (path + rl)), path + rl);
    int fd = open(real_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    if (fd_below(fd, real_root) != 1) {
        close(fd);
        return mkdirs_for(path);
    }
    for (char *p = rel; fd >= 0 && *p;) {
        while (*p == '/') p++;
        if (!*p) break;
        char *end = strchr(p, '/');
        if (end) *end = '\0';
        int next = -1;
        if (mkdirat(fd, p, 0777) == 0 || errno == EEXIST) {
            next = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (next < 0 && (errno == ELOOP || errno == ENOTDIR)) { /* a link: followed only while it stays inside */
                next = openat(fd, p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (next >= 0 && fd_below(next, real_root) != 1) {
                    close(next);
                    next = -1;
                    errno = ELOOP;
                }
            }
        }
        int e = errno;
        close(fd);
        errno = e;
        fd = next;
        p = end ? end + 1 : p + strlen(p);
    }
    if (fd < 0) return -1;
    close(fd);
    return 0;
}

/* ------------------------------------------------------------------ object headers */

typedef struct upload_hdrs {
    cos_kv meta[CLI_MAX_LIST];
    size_t nmeta;
    cos_kv hdr[4];
    size_t nhdr;
    char *owned[CLI_MAX_LIST];
} upload_hdrs;

static void hdrs_init(const cli_opts *o, upload_hdrs *h, bool copy)
{
    memset(h, 0, sizeof *h);
    for (int i = 0; i < o->nmeta; i++) {
        char *x = strdup(o->meta[i]);
        if (!x) continue;
        h->owned[i] = x;
        char *eq = strchr(x, '=');
        *eq = '\0';
        h->meta[h->nmeta++] = (cos_kv){ x, eq + 1 };
    }
    if (o->cache_control) h->hdr[h->nhdr++] = (cos_kv){ "Cache-Control", o->cache_control };
    if (o->sse) h->hdr[h->nhdr++] = (cos_kv){ "x-cos-server-side-encryption", o->sse };
    /* a copy keeps the source's metadata unless told otherwise */
    if (copy && (o->nmeta || o->content_type || o->cache_control))
        h->hdr[h->nhdr++] = (cos_kv){ "x-cos-metadata-directive", "Replaced" };
}

static void hdrs_free(upload_hdrs *h)
{
    for (int i = 0; i < CLI_MAX_LIST; i++) free(h->owned[i]);
}

static bool changes_object(const cli_opts *o)
{
    return o->nmeta || o->content_type || o->cache_control || o->storage_class || o->acl || o->sse;
}

/* ------------------------------------------------------------------ one transfer */

/*
 * The runner: up to RUNNER_SLOTS transfers in flight (libcos tasks), each
 * finished one reported, its source removed for mv, and on Ctrl-C every task
 * paused cleanly (they resume when the command is run again).
 *
 * Completions arrive on libcos worker threads into a global queue: a task
 * paused by Ctrl-C may still complete while the client is being freed, and
 * it must find the queue alive then.
 */
#define RUNNER_SLOTS 8

typedef struct completion {
    cos_task_id id;
    int rc;
    cos_transfer_result *res;
    cos_error *err;
} completion;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    completion v[4 * RUNNER_SLOTS]; /* never more than the tasks in flight */
    size_t n;
} Q = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, { { 0 } }, 0 };

static void on_task_done(void *ud, cos_task_id id, int rc, cos_transfer_result *res, cos_error *err)
{
    (void)ud;
    pthread_mutex_lock(&Q.mu);
    if (Q.n < sizeof Q.v / sizeof Q.v[0]) Q.v[Q.n++] = (completion){ id, rc, res, err };
    else { /* cannot happen: at most RUNNER_SLOTS tasks are ever started at once */
        cos_transfer_result_free(res);
        cos_error_free(err);
    }
    pthread_cond_broadcast(&Q.cv);
    pthread_mutex_unlock(&Q.mu);
}

typedef struct slot {
    bool busy;
    cos_task_id id;
    cos_task_kind kind;
    char sname[4200], dname[4200], sdisp[4300], ddisp[4300], copy_src[3400];
    const char *action;
    uint64_t size;
    int64_t mtime;
    struct stat read_st;  /* mv of a local file: the file as it was before the upload read it */
    bool have_read_st;
    int dir_fd;           /* tree download: the file's directory, opened without following links; -1 */
    bool through_link;    /* single download: its name is a symlink to a file, written through (as cp) */
    char wpath[4300];     /* the name libcos writes: through dir_fd when /proc allows */
    upload_hdrs h;
} slot;

typedef struct runner {
    cos_client *c;
    const cli_opts *o;
    const cli_settings *s;
    const endpoint *src, *dst;
    bool move;
    slot slots[RUNNER_SLOTS];
    int nslots, busy;
    int rc;     /* the first failure's exit code */
    bool stop;  /* a failure every further file would share (a bad key) */
    const char *local_root; /* a tree download's destination directory: nothing is written outside it */
} runner;

static void runner_init(runner *r, cos_client *c, const cli_opts *o, const cli_settings *s, const endpoint *src,
                        const endpoint *dst, bool move, int nslots)
{
    memset(r, 0, sizeof *r);
    r->c = c;
    r->o = o;
    r->s = s;
    r->src = src;
    r->dst = dst;
    r->move = move;
    r->nslots = nslots < 1 ? 1 : nslots > RUNNER_SLOTS ? RUNNER_SLOTS : nslots;
}

static void slot_close_dir(slot *sl)
{
    if (sl->dir_fd >= 0) close(sl->dir_fd);
    sl->dir_fd = -1;
}

static void set_mtime(const char *path, int64_t mtime)
{
    if (mtime <= 0) return;
    struct timespec ts[2] = { { (time_t)mtime, 0 }, { (time_t)mtime, 0 } };
    utimensat(AT_FDCWD, path, ts, 0);
}

/* What became of a source of mv once its copy succeeded. */
typedef enum { SRC_REMOVED, SRC_KEPT, SRC_FAILED } src_fate;
static src_fate remove_source(runner *r, slot *sl, char *code, size_t code_cap, char *msg, size_t msg_cap);

static void runner_fail(runner *r, int code)
{
    if (!r->rc) r->rc = code;
    if (code == EXIT_AUTH || code == EXIT_PAUSED) r->stop = true;
}

/* One object's failure, as docs/cli.md writes every error: "cos: OP: Code: message (request id ID)",
   the object named after the command. */
static int slot_fail(runner *r, slot *sl, int rc, cos_error *err)
{
    char what[4400];
    snprintf(what, sizeof what, "%s: %s", r->o->cmd, sl->action[0] == 'd' ? sl->sdisp : sl->ddisp);
    return cli_fail(what, rc, err);
}

/* A message naming the file by the directory libcos was given
 * (/proc/self/fd/N/name, slot_open_dir) names it as the user wrote it. */
static void name_as_given(const slot *sl, cos_error *err)
{
    size_t vl = strlen(sl->wpath);
    char *at = err && err->message && strcmp(sl->wpath, sl->dname) ? strstr(err->message, sl->wpath) : NULL;
    if (!at) return;
    size_t dl = strlen(sl->dname), len = strlen(err->message) - vl + dl;
    char *m = malloc(len + 1);
    if (!m) return;
    snprintf(m, len + 1, "%.*s%s%s", (int)(at - err->message), err->message, sl->dname, at + vl);
    free(err->message);
    err->message = m;
}

static void slot_finish(runner *r, slot *sl, const completion *cp)
{
    if (cp->rc) {
        name_as_given(sl, cp->err);
        cli_report_failure(sl->sdisp, sl->ddisp, cp->err);
        runner_fail(r, slot_fail(r, sl, cp->rc, cp->err));
    } else {
        cos_error_free(cp->err);
        if (cp->res && cp->res->parts_resumed) {
            cli_meter_clear();
            fprintf(stderr, "%s: resumed %d parts\n", cli_shown(stderr, sl->action[0] == 'd' ? sl->sdisp : sl->ddisp),
                    cp->res->parts_resumed);
        }
        uint64_t moved = cp->res ? cp->res->size : sl->size;
        if (sl->kind == COS_TASK_DOWNLOAD) set_mtime(sl->wpath, sl->mtime); /* sync --mtime sees it unchanged */
        cli_meter_file_done((int)(sl - r->slots), moved);
        /* mv reports what it did: "move" once the source is gone, else the
           copy it made and why the source stays */
        char code[64] = "", msg[8192] = "";
        src_fate fate = r->move ? remove_source(r, sl, code, sizeof code, msg, sizeof msg) : SRC_KEPT;
        cli_report_item(r->move && fate == SRC_REMOVED ? "move" : sl->action, sl->sdisp, sl->ddisp, moved, NULL, NULL);
        if (fate == SRC_FAILED) {
            cli_report_item("error", sl->sdisp, NULL, 0, code, msg);
            runner_fail(r, EXIT_FAIL);
        }
    }
    cos_transfer_result_free(cp->res);
    hdrs_free(&sl->h);
    slot_close_dir(sl);
    sl->busy = false;
    r->busy--;
}

/* Take what has completed; with `block`, wait for at least one. Ctrl-C pauses
 * every task in flight and returns EXIT_PAUSED. */
static int runner_reap(runner *r, bool block)
{
    for (;;) {
        completion got[4 * RUNNER_SLOTS];
        size_t n = 0;
        pthread_mutex_lock(&Q.mu);
        while (block && Q.n == 0 && !cli_interrupted) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += 100 * 1000 * 1000;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&Q.cv, &Q.mu, &until);
        }
        n = Q.n;
        memcpy(got, Q.v, n * sizeof *got);
        Q.n = 0;
        pthread_mutex_unlock(&Q.mu);
        for (size_t i = 0; i < n; i++) {
            slot *sl = NULL;
            for (int k = 0; k < r->nslots; k++)
                if (r->slots[k].busy && r->slots[k].id == got[i].id) sl = &r->slots[k];
            if (sl) slot_finish(r, sl, &got[i]);
            else {
                cos_transfer_result_free(got[i].res);
                cos_error_free(got[i].err);
            }
        }
        if (cli_interrupted && r->busy) {
            /* pause what is in flight and wait until each has stopped or finished */
            for (int k = 0; k < r->nslots; k++)
                if (r->slots[k].busy) cos_task_pause(r->c, r->slots[k].id, NULL);
            /* a task missing from the list counts as stopped; give up waiting after ~30 s */
            for (int round = 0; r->busy && round < 1500; round++) {
                cos_task_info *l = NULL;
                size_t ln = 0;
                int active = 0;
                cos_task_list(r->c, &l, &ln);
                for (int k = 0; k < r->nslots; k++) {
                    if (!r->slots[k].busy) continue;
                    for (size_t j = 0; j < ln; j++)
                        if (l[j].id == r->slots[k].id && (l[j].state == COS_TASK_WAITING ||
                                                          l[j].state == COS_TASK_CHECKING ||
                                                          l[j].state == COS_TASK_RUNNING))
                            active++;
                }
                cos_task_list_free(l, ln);
                if (!active) break;
                usleep(20000);
            }
            cli_meter_end();
            fprintf(stderr, "cos: %s: paused; run the same command again to resume\n", r->o->cmd);
            runner_fail(r, EXIT_PAUSED);
            return EXIT_PAUSED;
        }
        if (cli_interrupted) {
            runner_fail(r, EXIT_PAUSED);
            return EXIT_PAUSED;
        }
        if (n || !block) return 0;
    }
}

/* Whether `a` is `root` or below it (both resolved). */
static bool below(const char *root, const char *a)
{
    size_t n = strlen(root);
    return !strncmp(a, root, n) && (a[n] == '\0' || a[n] == '/' || (n == 1 && root[0] == '/'));
}

/* A tree download writes only inside its destination directory. A symlink
 * found there (dest/sub -> /etc, put there by the user or by anyone who can
 * write to the tree) would have the directories made and the file written
 * through it, outside: every existing component of `path` below `root`,
 * the file's own name included, that is a link must resolve inside the
 * root (links within the tree are followed). A dangling link cannot be
 * checked and is refused. What does not exist yet is made inside. A link
 * planted after this check is caught by slot_open_dir() and libcos's
 * no_follow. */
static bool stays_inside(const char *root, const char *path)
{
    char tmp[4200], real_root[PATH_MAX], real[PATH_MAX];
    size_t rl = strlen(root);
    if ((size_t)snprintf(tmp, sizeof tmp, "%s", path) >= sizeof tmp || strncmp(tmp, root, rl) != 0) return false;
    bool have_root = false;
    for (char *p = tmp + rl;; p++) {
        if (*p != '/' && *p != '\0') continue;
        char was = *p;
        *p = '\0';
        struct stat lst;
        bool component = p > tmp + rl && p[-1] != '/';
        if (component && lstat(tmp, &lst) != 0) return errno == ENOENT; /* made from here on, inside */
        if (component && S_ISLNK(lst.st_mode)) {
            if (!have_root && !realpath(root, real_root)) return false;
            have_root = true;
            if (!realpath(tmp, real) || !below(real_root, real)) return false;
        }
        if (!was) return true;
        *p = was;
    }
}

/* A tree download's file is written through its directory opened once
 * here, walked from the destination's real path with O_NOFOLLOW at every
 * component, and named to libcos as /proc/self/fd/N/name with no_follow:
 * a directory swapped for a link (dest/sub -> /etc) or a link planted at the
 * file's name at any moment after stays_inside() cannot lead the partial
 * file, its checkpoint, the temporary or the rename outside. 0; -1 with
 * errno when the directory is no longer where it was (a link now). Without
 * /proc, the path itself is used (the check above is all there is). */
static int slot_open_dir(slot *sl, const char *root)
{
    char dir[4200], real_root[PATH_MAX], real_dir[PATH_MAX];
    snprintf(sl->wpath, sizeof sl->wpath, "%s", sl->dname);
    sl->dir_fd = -1;
    const char *slash = strrchr(sl->dname, '/');
    if (!slash) return 0;
    snprintf(dir, sizeof dir, "%.*s", (int)(slash == sl->dname ? 1 : slash - sl->dname), sl->dname);
    if (!realpath(root, real_root) || !realpath(dir, real_dir)) return -1;
    if (!below(real_root, real_dir)) {
        errno = ELOOP;
        return -1;
    }
    int fd = open(real_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    for (char *p = real_dir + strlen(real_root); fd >= 0 && *p;) {
        while (*p == '/') p++;
        if (!*p) break;
        char *end = strchr(p, '/');
        if (end) *end = '\0';
        int next = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int e = errno;
        close(fd);
        errno = e;
        fd = next;
        p = end ? end + 1 : p + strlen(p);
    }
    if (fd < 0) return -1;
    char via[64];
    struct stat a, b;
    snprintf(via, sizeof via, "/proc/self/fd/%d", fd);
    if (stat(via, &a) != 0 || fstat(fd, &b) != 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
        close(fd); /* no /proc: the path as checked */
        return 0;
    }
    sl->dir_fd = fd;
    snprintf(sl->wpath, sizeof sl->wpath, "%s/%s", via, slash + 1);
    return 0;
}

/* Start copying one object or file (names: a local path, or a key in the
 * endpoint's bucket); waits for a free slot. */
static int runner_submit(runner *r, const char *sname, const char *dname, uint64_t size, int64_t mtime)
{
    const cli_opts *o = r->o;
    const endpoint *src = r->src, *dst = r->dst;
    while (r->busy == r->nslots && !r->stop)
        if (runner_reap(r, true) == EXIT_PAUSED) return EXIT_PAUSED;
    if (r->stop) return r->rc;
    slot *sl = NULL;
    for (int k = 0; k < r->nslots && !sl; k++)
        if (!r->slots[k].busy) sl = &r->slots[k];
    snprintf(sl->sname, sizeof sl->sname, "%s", sname);
    snprintf(sl->dname, sizeof sl->dname, "%s", dname);
    if (src->kind == END_COS) snprintf(sl->sdisp, sizeof sl->sdisp, "%s%s/%s", CLI_SCHEME, src->u.bucket, sname);
    else snprintf(sl->sdisp, sizeof sl->sdisp, "%s", sname);
    if (dst->kind == END_COS) snprintf(sl->ddisp, sizeof sl->ddisp, "%s%s/%s", CLI_SCHEME, dst->u.bucket, dname);
    else snprintf(sl->ddisp, sizeof sl->ddisp, "%s", dname);
    sl->kind = src->kind == END_LOCAL ? COS_TASK_UPLOAD : dst->kind == END_LOCAL ? COS_TASK_DOWNLOAD : COS_TASK_COPY;
    sl->action = sl->kind == COS_TASK_UPLOAD ? "upload" : sl->kind == COS_TASK_DOWNLOAD ? "download" : "copy";
    sl->size = size;
    sl->mtime = mtime;
    if (o->dryrun) {
        cli_report_item(r->move ? "move" : sl->action, sl->sdisp, sl->ddisp, size, NULL, NULL);
        return 0;
    }
    /* mv removes a local file only if it is still what was uploaded: taken
       before the upload reads it, so any change since keeps the file */
    sl->have_read_st = r->move && sl->kind == COS_TASK_UPLOAD && stat(sname, &sl->read_st) == 0;
    if (sl->kind == COS_TASK_DOWNLOAD && r->local_root && !stays_inside(r->local_root, dname)) {
        cli_report_item("error", sl->sdisp, sl->ddisp, 0, "UnsafePath",
                        "a symlink in the destination leads outside it; not written through");
        runner_fail(r, EXIT_FAIL);
        return 0;
    }
    if (sl->kind == COS_TASK_DOWNLOAD && (r->local_root ? mkdirs_inside(r->local_root, dname) : mkdirs_for(dname)) != 0) {
        if (errno == ELOOP)
            cli_report_item("error", sl->sdisp, sl->ddisp, 0, "UnsafePath",
                            "a directory of the destination changed into a symlink leading outside; not written through");
        else
            cli_report_item("error", sl->sdisp, sl->ddisp, 0, "LocalError", strerror(errno));
        runner_fail(r, EXIT_FAIL);
        return 0;
    }
    /* A single download names its path: a symlink there to an existing file
       is written through, as cp(1) does; one to nothing is refused, as cp(1)
       refuses ("not writing through dangling symlink"): it would create a
       file wherever it leads, e.g. a link planted in a shared directory. A
       link that appears after this look is replaced, not written through. */
    sl->through_link = false;
    if (sl->kind == COS_TASK_DOWNLOAD && !r->local_root) {
        struct stat lst, tst;
        if (lstat(dname, &lst) == 0 && S_ISLNK(lst.st_mode)) {
            if (stat(dname, &tst) != 0) {
                cli_report_item("error", sl->sdisp, sl->ddisp, 0, "UnsafePath",
                                "the destination is a symlink that leads to no file; not written through (as cp)");
                runner_fail(r, EXIT_FAIL);
                return 0;
            }
            sl->through_link = true;
        }
    }
    sl->dir_fd = -1;
    snprintf(sl->wpath, sizeof sl->wpath, "%s", dname);
    if (sl->kind == COS_TASK_DOWNLOAD && r->local_root && slot_open_dir(sl, r->local_root) != 0) {
        cli_report_item("error", sl->sdisp, sl->ddisp, 0, "UnsafePath",
                        "a directory of the destination changed into a symlink; not written through");
        runner_fail(r, EXIT_FAIL);
        return 0;
    }
    hdrs_init(o, &sl->h, src->kind == END_COS);
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.content_type = o->content_type;
    p.acl = o->acl;
    p.storage_class = o->storage_class;
    p.meta = sl->h.meta;
    p.meta_count = sl->h.nmeta;
    p.headers = sl->h.hdr;
    p.header_count = sl->h.nhdr;
    p.on_progress = cli_meter_progress;
    p.progress_user_data = (void *)(uintptr_t)(sl - r->slots);
    if (sl->kind == COS_TASK_UPLOAD) {
        p.bucket = dst->u.bucket;
        p.key = dname;
        p.file_path = sname;
    } else if (sl->kind == COS_TASK_DOWNLOAD) {
        p.bucket = src->u.bucket;
        p.key = sname;
        p.file_path = sl->wpath;
        p.no_follow = r->local_root != NULL || !sl->through_link; /* a link at the name is replaced, not written through */
    } else {
        /* the source's region: --region, else COS_REGION, else the profile's */
        /* the copy-source header carries the key URL-encoded (a space, '+',
           '%' or UTF-8 would otherwise name another key or none) */
        char enc[1024 * 3 + 1]; /* keys are at most 1024 bytes (cos_url) */
        uri_encode_key(sname, enc, sizeof enc);
        if (cli_s3) /* S3's x-amz-copy-source: /bucket/key on the same store */
            snprintf(sl->copy_src, sizeof sl->copy_src, "/%.127s/%s", src->u.bucket, enc);
        else
            snprintf(sl->copy_src, sizeof sl->copy_src, "%.127s.cos.%.64s.myqcloud.com/%s", src->u.bucket,
                     r->s->region ? r->s->region : "ap-guangzhou", enc);
        p.bucket = dst->u.bucket;
        p.key = dname;
        p.copy_source = sl->copy_src;
    }
    int rc = sl->kind == COS_TASK_UPLOAD     ? cos_upload_file_async(r->c, &p, on_task_done, NULL, &sl->id)
             : sl->kind == COS_TASK_DOWNLOAD ? cos_download_file_async(r->c, &p, on_task_done, NULL, &sl->id)
                                             : cos_slice_copy_file_async(r->c, &p, on_task_done, NULL, &sl->id);
    if (rc) {
        hdrs_free(&sl->h);
        slot_close_dir(sl);
        cos_error *refused = cos_error_dup(cos_async_error());
        cli_report_failure(sl->sdisp, sl->ddisp, refused);
        runner_fail(r, slot_fail(r, sl, rc, refused));
        return 0;
    }
    sl->busy = true;
    r->busy++;
    return 0;
}

/* Wait for everything in flight; the first failure's exit code. */
static int runner_finish(runner *r)
{
    while (r->busy)
        if (runner_reap(r, true) == EXIT_PAUSED) break;
    return r->rc;
}

/* ------------------------------------------------------------------ streams */

/* Fill buf from fd: the count read, short only at the end of the input;
 * -1 on a read error or an interrupt (never taken for the end). */
static ssize_t read_full(int fd, unsigned char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        if (cli_interrupted) return -1;
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            fprintf(stderr, "cos: reading standard input: %s\n", strerror(errno));
            return -1;
        }
        if (r == 0) break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* Standard input to an object: one PUT if it fits in a part, else a multipart
 * upload of parts read one at a time (memory stays at one part). */
static int stream_upload(cos_client *c, const cli_opts *o, const char *bucket, const char *key)
{
    uint64_t part = o->chunk_size ? o->chunk_size : 8u << 20;
    if (part < (1u << 20)) part = 1u << 20;
    unsigned char *buf = malloc(part);
    if (!buf) {
        fprintf(stderr, "cos: %s: out of memory\n", o->cmd);
        return EXIT_FAIL;
    }
    char disp[1200];
    snprintf(disp, sizeof disp, "%s%s/%s", CLI_SCHEME, bucket, key);
    upload_hdrs h;
    hdrs_init(o, &h, false);
    cos_request r = COS_REQUEST_INIT;
    r.bucket = bucket;
    r.key = key;
    r.content_type = o->content_type;
    r.acl = o->acl;
    r.storage_class = o->storage_class;
    r.meta = h.meta;
    r.meta_count = h.nmeta;
    r.headers = h.hdr;
    r.header_count = h.nhdr;
    ssize_t n = read_full(STDIN_FILENO, buf, part);
    uint64_t total = n > 0 ? (uint64_t)n : 0;
    cos_result *res = NULL;
    cos_error *err = NULL;
    int rc = 0;
    if (n < 0) rc = cli_interrupted ? EXIT_PAUSED : EXIT_FAIL;
    else if ((uint64_t)n < part) {
        r.body.data = buf;
        r.body.size = (size_t)n;
        int e = o->dryrun ? 0 : cos_put_object(c, &r, &res, &err);
        if (e) rc = cli_fail(o->cmd, e, err);
        cos_result_free(res);
    } else if (o->dryrun) {
        while ((n = read_full(STDIN_FILENO, buf, part)) > 0) total += (uint64_t)n;
        if (n < 0) rc = cli_interrupted ? EXIT_PAUSED : EXIT_FAIL;
    } else {
        int e = cos_multipart_init(c, &r, &res, &err);
        char *upload_id = NULL;
        if (e) rc = cli_fail(o->cmd, e, err);
        else if (!res->output.initiate || !res->output.initiate->upload_id) {
            fprintf(stderr, "cos: %s: the server gave no upload id\n", o->cmd);
            rc = EXIT_FAIL;
        } else {
            upload_id = strdup(res->output.initiate->upload_id);
        }
        cos_result_free(res);
        cos_complete_part *parts = NULL;
        size_t nparts = 0;
        while (!rc && upload_id && n > 0) {
            if (cli_interrupted) {
                rc = EXIT_PAUSED;
                break;
            }
            if (nparts == 10000) {
                fprintf(stderr, "cos: %s: more than 10000 parts; use a larger --chunk-size\n", o->cmd);
                rc = EXIT_USAGE;
                break;
            }
            cos_complete_part *np = realloc(parts, (nparts + 1) * sizeof *np);
            if (!np) {
                rc = EXIT_FAIL;
                break;
            }
            parts = np;
            cos_request pr = COS_REQUEST_INIT;
            pr.bucket = bucket;
            pr.key = key;
            pr.upload_id = upload_id;
            pr.part_number = (int)nparts + 1;
            pr.body.data = buf;
            pr.body.size = (size_t)n;
            res = NULL;
            err = NULL;
            e = cos_multipart_upload(c, &pr, &res, &err);
            if (e) {
                rc = cli_fail(o->cmd, e, err);
                break;
            }
            /* the whole element: fields the CLI does not use stay NULL */
            parts[nparts] = (cos_complete_part){ .part_number = (int)nparts + 1,
                                                 .etag = strdup(res->etag ? res->etag : "") };
            nparts++;
            cos_result_free(res);
            cos_progress pg = { total, 0, 0, 0 };
            cli_meter_progress(NULL, &pg); /* slot 0 */
            n = read_full(STDIN_FILENO, buf, part);
            if (n < 0) rc = cli_interrupted ? EXIT_PAUSED : EXIT_FAIL; /* never complete a cut-short stream */
            else total += (uint64_t)n;
        }
        if (!rc && upload_id) {
            cos_complete_multipart_upload cm = { parts, nparts };
            cos_request cr = COS_REQUEST_INIT;
            cr.bucket = bucket;
            cr.key = key;
            cr.upload_id = upload_id;
            cr.input.complete = &cm;
            res = NULL;
            err = NULL;
            e = cos_multipart_complete(c, &cr, &res, &err);
            if (e) rc = cli_fail(o->cmd, e, err);
            cos_result_free(res);
        }
        if (rc && upload_id) { /* nothing half-made stays behind */
            cos_request ar = COS_REQUEST_INIT;
            ar.bucket = bucket;
            ar.key = key;
            ar.upload_id = upload_id;
            res = NULL;
            cos_multipart_abort(c, &ar, &res, NULL);
            cos_result_free(res);
        }
        for (size_t i = 0; i < nparts; i++) free(parts[i].etag);
        free(parts);
        free(upload_id);
    }
    free(buf);
    hdrs_free(&h);
    if (rc == EXIT_PAUSED) fprintf(stderr, "cos: %s: interrupted; nothing was stored\n", o->cmd);
    if (!rc) {
        cli_meter_file_done(0, total);
        cli_report_item("upload", "-", disp, total, NULL, NULL);
    }
    return rc;
}

static int write_fd(void *ud, const void *buf, size_t len)
{
    int fd = *(int *)ud;
    const unsigned char *p = buf;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static int stream_download(cos_client *c, const cli_opts *o, const char *bucket, const char *key)
{
    int fd = STDOUT_FILENO;
    fflush(stdout);
    cos_request r = COS_REQUEST_INIT;
    r.bucket = bucket;
    r.key = key;
    r.sink.write = write_fd;
    r.sink.write_user_data = &fd;
    cos_result *res = NULL;
    cos_error *err = NULL;
    int rc = cos_get_object(c, &r, &res, &err);
    cos_result_free(res);
    return rc ? cli_fail(o->cmd, rc, err) : 0;
}

/* ------------------------------------------------------------------ commands */

static const char *base_name(const char *p)
{
    const char *b = strrchr(p, '/');
    return b ? b + 1 : p;
}

static bool prefixes_overlap(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    return !strncmp(a, b, la < lb ? la : lb);
}

/* cp and mv of one object or file. */
static int copy_single(cos_client *c, const cli_opts *o, const cli_settings *s, const endpoint *src, const endpoint *dst,
                       bool move)
{
    char sname[4200], dname[4200];
    uint64_t size = 0;
    int64_t mtime = 0;
    if (src->kind == END_STREAM) {
        if (dst->kind != END_COS || !dst->u.key[0] || dst->u.key[strlen(dst->u.key) - 1] == '/') {
            fprintf(stderr, "cos: %s: standard input goes to a named object, e.g. cos://BUCKET/KEY\n", o->cmd);
            return EXIT_USAGE;
        }
        if (move) {
            fprintf(stderr, "cos: mv: cannot remove standard input; use cp\n");
            return EXIT_USAGE;
        }
        return stream_upload(c, o, dst->u.bucket, dst->u.key);
    }
    if (src->kind == END_LOCAL) {
        struct stat st;
        if (stat(src->arg, &st) != 0) {
            int why = errno;
            /* a failed file: an "error" item of --output json too (it was only on stderr) */
            cli_report_item("error", src->arg, NULL, 0, why == ENOENT ? "NoSuchFile" : "LocalError", strerror(why));
            return why == ENOENT ? EXIT_NOTFOUND : EXIT_FAIL;
        }
        if (S_ISDIR(st.st_mode)) {
            fprintf(stderr, "cos: %s: %s is a directory (use -r)\n", o->cmd, src->arg);
            return EXIT_USAGE;
        }
        snprintf(sname, sizeof sname, "%s", src->arg);
        size = (uint64_t)st.st_size;
    } else {
        size_t kl = strlen(src->u.key);
        if (!kl || src->u.key[kl - 1] == '/') {
            fprintf(stderr, "cos: %s: %s names a prefix, not an object (use -r)\n", o->cmd, src->arg);
            return EXIT_USAGE;
        }
        snprintf(sname, sizeof sname, "%s", src->u.key);
    }
    const char *base = base_name(sname);
    if (dst->kind == END_STREAM) {
        if (src->kind != END_COS || move) {
            fprintf(stderr, "cos: %s: only `cp cos://BUCKET/KEY -` writes to standard output\n", o->cmd);
            return EXIT_USAGE;
        }
        return stream_download(c, o, src->u.bucket, src->u.key);
    }
    int len;
    if (dst->kind == END_COS) {
        size_t kl = strlen(dst->u.key);
        len = snprintf(dname, sizeof dname, "%s%s", dst->u.key, !kl || dst->u.key[kl - 1] == '/' ? base : "");
    } else {
        struct stat st;
        size_t dl = strlen(dst->arg);
        if ((stat(dst->arg, &st) == 0 && S_ISDIR(st.st_mode)) || (dl && dst->arg[dl - 1] == '/'))
            len = snprintf(dname, sizeof dname, "%s%s%s", dst->arg, dst->arg[dl - 1] == '/' ? "" : "/", base);
        else len = snprintf(dname, sizeof dname, "%s", dst->arg);
    }
    if (len < 0 || (size_t)len >= sizeof dname || (dst->kind == END_COS && strlen(dname) >= 1024)) {
        fprintf(stderr, "cos: %s: destination name too long\n", o->cmd);
        return EXIT_USAGE;
    }
    if (src->kind == END_COS && dst->kind == END_COS && !strcmp(src->u.bucket, dst->u.bucket) &&
        !strcmp(sname, dname)) {
        if (move) {
            fprintf(stderr, "cos: mv: %s%s/%s and its destination are the same object; nothing done\n",
                    CLI_SCHEME, src->u.bucket, sname);
            return EXIT_USAGE;
        }
        if (!changes_object(o)) {
            fprintf(stderr, "cos: cp: %s%s/%s onto itself changes nothing (give --meta, --storage-class, ...)\n",
                    CLI_SCHEME, src->u.bucket, sname);
            return EXIT_USAGE;
        }
    }
    cli_meter_start(o, 1, size);
    runner *r = calloc(1, sizeof *r);
    if (!r) return EXIT_FAIL;
    runner_init(r, c, o, s, src, dst, move, 1);
    runner_submit(r, sname, dname, size, mtime);
    int rc = runner_finish(r);
    free(r);
    return rc;
}

static int crc_of(cos_client *c, const endpoint *e, const char *name, uint64_t *crc)
{
    if (e->kind == END_LOCAL) return cos_crc64_file(name, 0, -1, crc) == 0 ? 0 : -1;
    cos_request h = COS_REQUEST_INIT;
    h.bucket = e->u.bucket;
    h.key = name;
    cos_result *res = NULL;
    int rc = cos_head_object(c, &h, &res, NULL);
    bool ok = rc == 0 && res->has_crc64;
    if (ok) *crc = res->crc64;
    cos_result_free(res);
    return ok ? 0 : -1;
}

/* The MD5 (hex) of a local file, or the MD5 an S3 store says it holds: the
 * ETag of a single-part object. A multipart ETag ("...-N") is no MD5 of the
 * bytes, so there is none (-1) and sync copies rather than guess. */
static int md5_of(cos_client *c, const endpoint *e, const char *name, char hex[33])
{
    if (e->kind == END_LOCAL) {
        FILE *f = fopen(name, "rb");
        if (!f) return -1;
        cos_md5 *m = cos_md5_new();
        unsigned char buf[65536], d[16];
        size_t n;
        while (m && (n = fread(buf, 1, sizeof buf, f)) > 0) cos_md5_update(m, buf, n);
        bool ok = m && !ferror(f);
        fclose(f);
        if (m) cos_md5_final(m, d);
        cos_md5_free(m);
        if (!ok) return -1;
        cos_hex_encode(d, 16, hex);
        hex[32] = '\0';
        return 0;
    }
    cos_request h = COS_REQUEST_INIT;
    h.bucket = e->u.bucket;
    h.key = name;
    cos_result *res = NULL;
    int rc = cos_head_object(c, &h, &res, NULL);
    const char *t = rc == 0 && res->etag ? res->etag : "";
    if (*t == '"') t++;
    size_t n = strspn(t, "0123456789abcdefABCDEF");
    bool ok = n == 32 && (t[32] == '"' || t[32] == '\0');
    if (ok) {
        for (int i = 0; i < 32; i++) hex[i] = (char)(t[i] >= 'A' && t[i] <= 'F' ? t[i] - 'A' + 'a' : t[i]);
        hex[32] = '\0';
    }
    cos_result_free(res);
    return ok ? 0 : -1;
}

/* Whether two objects of equal size hold the same bytes: their CRC-64 on
 * COS; on an S3 store, which keeps no CRC-64/ECMA, their MD5 (see md5_of). */
static bool same_content(cos_client *c, const endpoint *a, const char *an, const endpoint *b, const char *bn)
{
    if (cli_s3) {
        char x[33], y[33];
        return md5_of(c, a, an, x) == 0 && md5_of(c, b, bn, y) == 0 && strcmp(x, y) == 0;
    }
    uint64_t p = 0, q = 0;
    return crc_of(c, a, an, &p) == 0 && crc_of(c, b, bn, &q) == 0 && p == q;
}

/* root + rel as a name for the endpoint: a path for local, a key for cos.
 * -1 when too long, or for a key that names another object than the one
 * listed: a leading "/" (libcos drops it: "/x" at a bucket's root is "x", and
 * mv -r of "p/x" and "p//x" into one bucket's root moved both onto "x") or a
 * "." / ".." segment. */
static int join_raw(const endpoint *e, const char *root, const char *rel, char *out, size_t n)
{
    if (e->kind == END_LOCAL) {
        size_t rl = strlen(root);
        return (size_t)snprintf(out, n, "%s%s%s", root, rl && root[rl - 1] == '/' ? "" : "/", rel) < n ? 0 : -1;
    }
    return (size_t)snprintf(out, n, "%s%s", root, rel) < n && strlen(out) < 1024 ? 0 : -1;
}

static int join_name(const endpoint *e, const char *root, const char *rel, char *out, size_t n)
{
    if (join_raw(e, root, rel, out, n)) return -1;
    return e->kind == END_COS && (out[0] == '/' || has_dot_segment(out)) ? -1 : 0;
}

static int remove_one(cos_client *c, const cli_opts *o, const endpoint *e, const char *name)
{
    char disp[4200];
    if (e->kind == END_COS) snprintf(disp, sizeof disp, "%s%s/%s", CLI_SCHEME, e->u.bucket, name);
    else snprintf(disp, sizeof disp, "%s", name);
    if (o->dryrun) {
        cli_report_item("delete", disp, NULL, 0, NULL, NULL);
        return 0;
    }
    if (e->kind == END_LOCAL) {
        if (unlink(name) != 0) {
            cli_report_item("error", disp, NULL, 0, "LocalError", strerror(errno));
            return EXIT_FAIL;
        }
    } else {
        cos_request r = COS_REQUEST_INIT;
        r.bucket = e->u.bucket;
        r.key = name;
        cos_result *res = NULL;
        cos_error *err = NULL;
        int rc = cos_delete_object(c, &r, &res, &err);
        cos_result_free(res);
        if (rc) {
            cli_report_item("error", disp, NULL, 0, err && err->code ? err->code : "Error", cos_error_message(err));
            cos_error_free(err);
            return EXIT_FAIL;
        }
    }
    cli_report_item("delete", disp, NULL, 0, NULL, NULL);
    return 0;
}

/* Whether path (below root) is reached through a symlink to a directory: mv -r
 * uploads what lies behind one (symlinks are followed) but removes only what
 * is inside the tree it was asked to move, as mv(1) moves the link itself. */
static bool through_dir_link(const char *root, const char *path)
{
    size_t rl = strlen(root);
    char tmp[4200];
    if (strncmp(path, root, rl) || (size_t)snprintf(tmp, sizeof tmp, "%s", path) >= sizeof tmp) return false;
    for (char *p = tmp + rl + (tmp[rl] == '/'); *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        struct stat st;
        bool link = lstat(tmp, &st) == 0 && S_ISLNK(st.st_mode);
        *p = '/';
        if (link) return true;
    }
    return false;
}

static bool same_file(const struct stat *a, const struct stat *b, bool ctime_too)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           (!ctime_too || (a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec));
}

/* Test-only (docs/cli.md, "Testing hooks"): COS_CLI_TEST_HOOK=mv-write-before-unlink
 * appends a byte to a local source of mv right before the first check below,
 * mv-write-aside once it is set aside, as a writer between the upload's
 * verification and the unlink would (the second through a descriptor it
 * had open). */
static void test_hook_write(const char *path, const char *point)
{
    const char *h = getenv("COS_CLI_TEST_HOOK");
    if (!h || strcmp(h, point) != 0) return;
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd >= 0) {
        if (write(fd, "!", 1) != 1) {
        }
        close(fd);
    }
}

/* A local source of mv: removed only while it is the file that was
 * uploaded (same inode, size, mtime and ctime as before the upload read
 * it). It is renamed aside first, so a writer that opens it by name from
 * then on makes a new file instead of writing into one about to go, checked
 * again (inode, size, mtime: the rename changed its ctime), then unlinked. A
 * change keeps the file, back under its name. What is left: a write through
 * a descriptor opened earlier, between that last check and the unlink. */
static src_fate remove_local_source(slot *sl, char *code, size_t code_cap, char *msg, size_t msg_cap)
{
    struct stat now;
    test_hook_write(sl->sname, "mv-write-before-unlink");
    snprintf(code, code_cap, "LocalError");
    if (!sl->have_read_st) {
        snprintf(msg, msg_cap, "copied, not removed: its state before the upload is unknown");
        return SRC_FAILED;
    }
    if (stat(sl->sname, &now) != 0 || !same_file(&sl->read_st, &now, true)) {
        snprintf(code, code_cap, "SourceChanged");
        snprintf(msg, msg_cap, "copied, not removed: the file changed after the upload read it (upload it again)");
        return SRC_FAILED;
    }
    char aside[4400];
    const char *slash = strrchr(sl->sname, '/');
    int dl = slash ? (int)(slash - sl->sname + 1) : 0;
    snprintf(aside, sizeof aside, "%.*s.%s.cos-mv-%ld", dl, sl->sname, sl->sname + dl, (long)getpid());
    if (renameat2(AT_FDCWD, sl->sname, AT_FDCWD, aside, RENAME_NOREPLACE) != 0) {
        /* the name is taken, or the file system cannot rename so: unlink it as it is, checked just now */
        if (unlink(sl->sname) == 0) return SRC_REMOVED;
        snprintf(msg, msg_cap, "copied, not removed: %s", strerror(errno));
        return SRC_FAILED;
    }
    test_hook_write(aside, "mv-write-aside");
    struct stat lnk;
    bool is_link = lstat(aside, &lnk) == 0 && S_ISLNK(lnk.st_mode);
    if (stat(aside, &now) == 0 && same_file(&sl->read_st, &now, is_link)) {
        if (unlink(aside) == 0) return SRC_REMOVED;
        snprintf(msg, msg_cap, "copied, not removed: %s", strerror(errno));
    } else {
        snprintf(code, code_cap, "SourceChanged");
        snprintf(msg, msg_cap, "copied, not removed: the file changed after the upload read it (upload it again)");
    }
    /* back under its name, unless a new file took the name meanwhile */
    bool back = renameat2(AT_FDCWD, aside, AT_FDCWD, sl->sname, RENAME_NOREPLACE) == 0;
    if (!back && (errno == EINVAL || errno == ENOSYS)) back = link(aside, sl->sname) == 0 && unlink(aside) == 0;
    if (!back) {
        size_t n = strlen(msg);
        snprintf(msg + n, msg_cap - n, "; kept as %.2000s (%.2000s was made anew meanwhile)", aside, sl->sname);
    }
    return SRC_FAILED;
}

/* mv: the source of a finished copy goes; what became of it is reported by the caller. */
static src_fate remove_source(runner *r, slot *sl, char *code, size_t code_cap, char *msg, size_t msg_cap)
{
    if (r->src->kind == END_LOCAL && through_dir_link(r->src->arg, sl->sname)) {
        cli_meter_clear();
        fprintf(stderr, "cos: mv: %s lies behind a symlink to a directory: copied, not removed\n", sl->sname);
        return SRC_KEPT;
    }
    if (r->src->kind == END_LOCAL) return remove_local_source(sl, code, code_cap, msg, msg_cap);
    cos_request q = COS_REQUEST_INIT;
    q.bucket = r->src->u.bucket;
    q.key = sl->sname;
    cos_result *res = NULL;
    cos_error *err = NULL;
    int rc = cos_delete_object(r->c, &q, &res, &err);
    cos_result_free(res);
    if (!rc) return SRC_REMOVED;
    snprintf(code, code_cap, "%s", err && err->code ? err->code : "Error");
    snprintf(msg, msg_cap, "copied, not removed: %s", cos_error_message(err));
    cos_error_free(err);
    return SRC_FAILED;
}

typedef enum { TREE_CP, TREE_MV, TREE_SYNC } tree_mode;

static int tree(cos_client *c, const cli_opts *o, const cli_settings *s, const endpoint *src, const endpoint *dst,
                tree_mode mode)
{
    if (src->kind == END_STREAM || dst->kind == END_STREAM) {
        fprintf(stderr, "cos: %s: '-' is one object, not a tree\n", o->cmd);
        return EXIT_USAGE;
    }
    /* sync --delete into a bucket with no prefix deletes every object of the
       bucket the source lacks: as rm -r of a whole bucket, only with --all
       (a script's "cos://b/$DIR/" with an empty DIR is the whole bucket) */
    if (mode == TREE_SYNC && o->delete_extra && dst->kind == END_COS && !dst->u.key[0] && !o->all && !o->dryrun) {
        fprintf(stderr, "cos: sync --delete into %s%s/ names no prefix: every object of the bucket the source lacks "
                        "would be deleted; add --all if that is what you want\n", CLI_SCHEME, dst->u.bucket);
        return EXIT_USAGE;
    }
    /* mv -r of a whole bucket empties it (every object copied, then deleted):
       as rm -r of a whole bucket, only with --all */
    if (mode == TREE_MV && src->kind == END_COS && !src->u.key[0] && !o->all && !o->dryrun) {
        fprintf(stderr, "cos: mv -r %s%s/ names no prefix: every object of the bucket would be deleted once copied; "
                        "add --all if that is what you want\n", CLI_SCHEME, src->u.bucket);
        return EXIT_USAGE;
    }
    /* likewise a local destination that is the root directory ("$DIR/" with
       DIR empty): every file of the machine the source lacks (refused with
       --dryrun too, so that a test of this never risks the real thing) */
    char *real_dst = dst->kind == END_LOCAL && mode == TREE_SYNC && o->delete_extra && !o->all
                         ? realpath(dst->arg, NULL) : NULL;
    bool dst_is_root = real_dst && !strcmp(real_dst, "/");
    free(real_dst);
    if (dst_is_root) {
        fprintf(stderr, "cos: sync --delete into %s: that is the root directory, whose every file the source lacks "
                        "would be deleted; add --all if that is what you want\n", dst->arg);
        return EXIT_USAGE;
    }
    /* and mv -r of the root directory: every file of the machine uploaded, then removed */
    char *real_src = src->kind == END_LOCAL && mode == TREE_MV && !o->all ? realpath(src->arg, NULL) : NULL;
    bool src_is_root = real_src && !strcmp(real_src, "/");
    free(real_src);
    if (src_is_root) {
        fprintf(stderr, "cos: mv -r %s: that is the root directory, whose every file would be removed once uploaded; "
                        "add --all if that is what you want\n", src->arg);
        return EXIT_USAGE;
    }
    /* roots: a local directory, or a cos prefix taken as a directory (KEY/) */
    char sroot[4200], droot[4200];
    if (src->kind == END_COS) cli_dir_prefix(src->u.key, sroot, sizeof sroot);
    else snprintf(sroot, sizeof sroot, "%s", src->arg);
    if (dst->kind == END_COS) cli_dir_prefix(dst->u.key, droot, sizeof droot);
    else snprintf(droot, sizeof droot, "%s", dst->arg);
    const endpoint *ends[2] = { src, dst };
    const char *roots[2] = { sroot, droot };
    for (int i = 0; i < 2; i++)
        if (ends[i]->kind == END_COS && has_dot_segment(roots[i])) { /* every key below would be refused */
            fprintf(stderr, "cos: %s: %s%s/%s has a . or .. segment, which COS resolves in a path: it names "
                            "another prefix\n", o->cmd, CLI_SCHEME, ends[i]->u.bucket, roots[i]);
            return EXIT_USAGE;
        }
    if (src->kind == END_COS && dst->kind == END_COS && !strcmp(src->u.bucket, dst->u.bucket) &&
        prefixes_overlap(sroot, droot)) {
        fprintf(stderr, "cos: %s: %s%s/%s and %s%s/%s overlap; refusing to %s a prefix into itself\n", o->cmd,
                CLI_SCHEME, src->u.bucket, sroot, CLI_SCHEME, dst->u.bucket, droot, mode == TREE_SYNC ? "sync" : "copy");
        return EXIT_USAGE;
    }
    entries se = { 0 }, de = { 0 };
    int rc = src->kind == END_LOCAL ? list_local(o, sroot, &se, false) : list_cos(c, o, src->u.bucket, sroot, &se);
    /* a listing's 404 (NoSuchBucket) was reported as it came */
    if (rc == EXIT_NOTFOUND && src->kind == END_LOCAL)
        fprintf(stderr, "cos: %s: %s is not a directory\n", o->cmd, cli_shown(stderr, sroot));
    if (!rc && mode == TREE_SYNC) {
        if (dst->kind == END_LOCAL) {
            struct stat st;
            if (stat(droot, &st) == 0) {
                if (!S_ISDIR(st.st_mode)) {
                    fprintf(stderr, "cos: %s: %s is not a directory\n", o->cmd, droot);
                    rc = EXIT_USAGE;
                } else {
                    rc = list_local(o, droot, &de, true);
                }
            }
        } else {
            rc = list_cos(c, o, dst->u.bucket, droot, &de);
        }
    }
    if (rc) {
        entries_free(&se);
        entries_free(&de);
        return rc;
    }
    if (mode == TREE_SYNC && o->delete_extra && se.n == 0 && de.n > 0 && !o->force) {
        fprintf(stderr, "cos: sync: %s has nothing to copy, so --delete would remove all %zu files of %s; "
                        "add --force if that is what you want\n", src->arg, de.n, dst->arg);
        entries_free(&se);
        entries_free(&de);
        return EXIT_USAGE;
    }
    if (se.n > 1) qsort(se.v, se.n, sizeof *se.v, cmp_entry);
    if (de.n > 1) qsort(de.v, de.n, sizeof *de.v, cmp_entry);
    /* decide what to copy (with the names), then do it */
    bool *todo = calloc(se.n ? se.n : 1, sizeof *todo);
    if (!todo) {
        entries_free(&se);
        entries_free(&de);
        return EXIT_FAIL;
    }
    int files = 0;
    uint64_t bytes = 0;
    bool unsafe = false;
    char sname[4200], dname[4200];
    cli_report_begin(o);
    for (size_t i = 0; i < se.n && !cli_interrupted; i++) {
        entry *e = &se.v[i];
        if (join_name(src, sroot, e->rel, sname, sizeof sname) || join_name(dst, droot, e->rel, dname, sizeof dname) ||
            (dst->kind == END_LOCAL && !safe_rel(e->rel))) {
            cli_report_item("error", e->rel, NULL, 0, "UnsafeName",
                            "the name would leave the destination (.., empty component), names another object "
                            "(a key with a leading /, a . or .. segment) or is too long; skipped");
            unsafe = true;
            continue;
        }
        entry *d = mode == TREE_SYNC ? entries_find(&de, e->rel) : NULL;
        bool copy = true;
        if (d && d->size == e->size) {
            if (o->size_only) copy = false;
            else if (o->mtime) copy = e->mtime > d->mtime;
            else copy = !same_content(c, src, sname, dst, dname);
        }
        if (!copy) {
            char disp[4200 + 128]; /* sname, and a bucket of at most 63 */
            snprintf(disp, sizeof disp, "%s%.63s%s%s", src->kind == END_COS ? CLI_SCHEME : "",
                     src->kind == END_COS ? src->u.bucket : "", src->kind == END_COS ? "/" : "", sname);
            cli_report_item("skip", disp, NULL, e->size, NULL, NULL);
            continue;
        }
        todo[i] = true;
        files++;
        bytes += e->size;
    }
    cli_meter_start(o, files, bytes);
    runner *run = calloc(1, sizeof *run);
    if (!run) rc = EXIT_FAIL;
    else runner_init(run, c, o, s, src, dst, mode == TREE_MV, RUNNER_SLOTS);
    if (run && dst->kind == END_LOCAL) run->local_root = droot;
    /* a download of X keeps X.cos-partial and X.cos-partial.json beside X:
       objects of those names go down once the others are done, else the two
       downloads would share a name (libcos would fail X rather than mix them) */
    bool paused = false;
    for (int pass = 0; run && pass < 2 && !paused; pass++) {
        if (pass == 1 && runner_finish(run) == EXIT_PAUSED) break;
        for (size_t i = 0; i < se.n; i++) {
            if (!todo[i]) continue;
            if (run->stop || cli_interrupted) break;
            entry *e = &se.v[i];
            if ((dst->kind == END_LOCAL && names_a_partial(&se, e->rel)) != (pass == 1)) continue;
            join_name(src, sroot, e->rel, sname, sizeof sname);
            join_name(dst, droot, e->rel, dname, sizeof dname);
            if (runner_submit(run, sname, dname, e->size, e->mtime) == EXIT_PAUSED) {
                paused = true;
                break;
            }
        }
    }
    if (run) {
        rc = runner_finish(run);
        if (!rc && cli_interrupted) rc = EXIT_PAUSED;
        if (!rc && unsafe) rc = EXIT_FAIL;
        if (!rc && se.unreadable) { /* not copied: a failure, and no --delete (it would remove their copies) */
            fprintf(stderr, "cos: %s: %zu names under %s could not be read\n", o->cmd, se.unreadable, src->arg);
            rc = EXIT_FAIL;
        }
        free(run);
    }
    cli_meter_end();
    /* --delete only after every copy went through: never remove what has no copy,
       nor what the source holds but could not be listed (an unreadable file) */
    if (mode == TREE_SYNC && o->delete_extra && !rc && !cli_interrupted) {
        char **keys = calloc(de.n ? de.n : 1, sizeof *keys);
        size_t nk = 0;
        for (size_t i = 0; keys && i < de.n; i++) {
            if (entries_find(&se, de.v[i].rel)) continue;
            /* a bulk delete names keys exactly (XML, not a path) */
            if (join_raw(dst, droot, de.v[i].rel, dname, sizeof dname)) continue;
            if (dst->kind == END_COS) keys[nk++] = strdup(dname);
            else if (remove_one(c, o, dst, dname) && !rc) rc = EXIT_FAIL;
        }
        if (nk) {
            bool stalled = false;
            int r = cli_delete_keys(c, o, dst->u.bucket, keys, nk, &stalled);
            if (r && !rc) rc = r;
        }
        for (size_t i = 0; i < nk; i++) free(keys[i]);
        free(keys);
    } else if (mode == TREE_SYNC && o->delete_extra && rc) {
        fprintf(stderr, "cos: sync: not deleting anything at %s since some copies failed\n", dst->arg);
    }
    free(todo);
    entries_free(&se);
    entries_free(&de);
    return cli_report_end(rc);
}

static int check_pair(const cli_opts *o, const endpoint *src, const endpoint *dst)
{
    if (o->nargs != 2) return EXIT_USAGE;
    /* a URL that does not parse (a key of 1024 bytes or more, no bucket) is
       no local path either: it would be read, or written, as ./cos:/... */
    const endpoint *both[2] = { src, dst };
    for (int i = 0; i < 2; i++)
        if (both[i]->kind == END_LOCAL &&
            (!strncmp(both[i]->arg, "cos://", 6) || !strncmp(both[i]->arg, "s3://", 5))) {
            fprintf(stderr, "cos: %s: %.80s... is not a usable URL (cos://BUCKET/KEY, a key under 1024 bytes)\n",
                    o->cmd, both[i]->arg);
            return EXIT_USAGE;
        }
    /* an empty local path ("$DIR" with DIR unset): a tree download joined it
       as "/KEY", into the root directory, and was stopped only because the
       realpath of "" fails */
    for (int i = 0; i < 2; i++)
        if (both[i]->kind == END_LOCAL && !both[i]->arg[0]) {
            fprintf(stderr, "cos: %s: an empty path names no file or directory (an unset variable?)\n", o->cmd);
            return EXIT_USAGE;
        }
    if (src->kind != END_COS && dst->kind != END_COS) {
        fprintf(stderr, "cos: %s: one side must be a cos:// (or s3://) URL\n", o->cmd);
        return EXIT_USAGE;
    }
    if (src->kind == END_STREAM && dst->kind == END_STREAM) return EXIT_USAGE;
    return 0;
}

static int copy_cmd(cos_client *c, const cli_opts *o, const cli_settings *s, bool move)
{
    if (o->nargs != 2) {
        fprintf(stderr, "usage: cos %s SRC DST [-r] (see cos %s --help)\n", o->cmd, o->cmd);
        return EXIT_USAGE;
    }
    endpoint src, dst;
    parse_end(o->args[0], &src);
    parse_end(o->args[1], &dst);
    int rc = check_pair(o, &src, &dst);
    if (rc) return rc;
    if (o->recursive) {
        struct stat st;
        bool local_file = src.kind == END_LOCAL && stat(src.arg, &st) == 0 && !S_ISDIR(st.st_mode);
        if (!local_file) return tree(c, o, s, &src, &dst, move ? TREE_MV : TREE_CP);
    }
    bool to_stdout = dst.kind == END_STREAM;
    if (!to_stdout) cli_report_begin(o);
    rc = copy_single(c, o, s, &src, &dst, move);
    return to_stdout ? rc : cli_report_end(rc);
}

int cmd_cp(cos_client *c, const cli_opts *o, const cli_settings *s) { return copy_cmd(c, o, s, false); }

int cmd_mv(cos_client *c, const cli_opts *o, const cli_settings *s) { return copy_cmd(c, o, s, true); }

int cmd_sync(cos_client *c, const cli_opts *o, const cli_settings *s)
{
    if (o->nargs != 2) {
        fprintf(stderr, "usage: cos sync SRC DST (see cos sync --help)\n");
        return EXIT_USAGE;
    }
    endpoint src, dst;
    parse_end(o->args[0], &src);
    parse_end(o->args[1], &dst);
    int rc = check_pair(o, &src, &dst);
    if (rc) return rc;
    if (src.kind == END_LOCAL) {
        struct stat st;
        if (stat(src.arg, &st) != 0) {
            fprintf(stderr, "cos: sync: %s: %s\n", src.arg, strerror(errno));
            return errno == ENOENT ? EXIT_NOTFOUND : EXIT_FAIL;
        }
        if (!S_ISDIR(st.st_mode)) {
            fprintf(stderr, "cos: sync: %s is not a directory (cp copies one file)\n", src.arg);
            return EXIT_USAGE;
        }
    }
    return tree(c, o, s, &src, &dst, TREE_SYNC);
}

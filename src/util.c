/*
 * util.c — buffer, strings, name/value lists, errors and clocks (see util.h).
 */
#define _GNU_SOURCE
#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <sys/file.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- buffer */

int cos_buf_reserve(cos_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256; /* URLs, signatures, small XML: mostly one allocation, no regrowing */
    while (cap < b->len + extra + 1) {
        if (cap > SIZE_MAX / 2) return COS_ERR_NOMEM;
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p) return COS_ERR_NOMEM;
    b->data = p;
    b->cap = cap;
    b->data[b->len] = '\0'; /* a reserved but empty buffer is still a valid string */
    return 0;
}

int cos_buf_append(cos_buf *b, const void *p, size_t n)
{
    if (cos_buf_reserve(b, n)) return COS_ERR_NOMEM;
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int cos_buf_puts(cos_buf *b, const char *s) { return cos_buf_append(b, s, s ? strlen(s) : 0); }

int cos_buf_putc(cos_buf *b, char c) { return cos_buf_append(b, &c, 1); }

int cos_buf_printf(cos_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    int rc = 0;
    if (n < 0) {
        rc = COS_ERR_INTERNAL;
    } else if ((size_t)n < sizeof small) {
        rc = cos_buf_append(b, small, (size_t)n);
    } else if ((rc = cos_buf_reserve(b, (size_t)n)) == 0) {
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
    return rc;
}

void cos_buf_reset(cos_buf *b)
{
    b->len = 0;
    if (b->data) b->data[0] = '\0';
}

void cos_buf_free(cos_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *cos_buf_detach(cos_buf *b)
{
    char *p = b->data ? b->data : cos_strdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

/* ---------------------------------------------------------------- strings */

char *cos_strdup(const char *s) { return s ? strdup(s) : NULL; }

char *cos_strndup(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *cos_sprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *out = NULL;
    if (vasprintf(&out, fmt, ap) < 0) out = NULL;
    va_end(ap);
    return out;
}

bool cos_streq_ci(const char *a, const char *b)
{
    if (!a || !b) return a == b;
    return strcasecmp(a, b) == 0;
}

bool cos_str_empty(const char *s) { return !s || !*s; }

size_t cos_header_name_span(const char *s)
{
    /* tchar: "!#$%&'*+-.^_`|~", digits, letters */
    return strspn(s, "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
}
bool cos_header_name_ok(const char *s) { return s && *s && s[cos_header_name_span(s)] == '\0'; }
bool cos_header_value_ok(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f) return false;
    return s != NULL;
}

size_t cos_utf8_len(const unsigned char *s, uint32_t *cp)
{
    unsigned c = s[0];
    int n = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : -1;
    if (c == 0 || n < 0) return 0;
    uint32_t v = n == 0 ? c : n == 1 ? c & 0x1F : n == 2 ? c & 0x0F : c & 0x07;
    for (int i = 1; i <= n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    static const uint32_t MIN[] = { 0, 0x80, 0x800, 0x10000 };
    if (v < MIN[n] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    if (cp) *cp = v;
    return (size_t)n + 1;
}

bool cos_starts_with(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

bool cos_starts_with_ci(const char *s, const char *prefix)
{
    return s && strncasecmp(s, prefix, strlen(prefix)) == 0;
}

void cos_str_lower(char *s)
{
    for (; s && *s; s++) *s = (char)tolower((unsigned char)*s);
}

char *cos_str_trim(char *s)
{
    if (!s) return s;
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    return s;
}

int cos_parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s) return -1;
    uint64_t v = 0;
    /* overflow checked against constants rather than (UINT64_MAX - d) / 10
       per digit: a CRC-64 header has 20 digits and is read a few times per
       answer (callgrind: 1,570 -> 1,390 instructions per 4 KiB GET) */
    const uint64_t tenth = UINT64_MAX / 10;
    const unsigned last = (unsigned)(UINT64_MAX % 10);
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        unsigned d = (unsigned)(*s - '0');
        if (v > tenth || (v == tenth && d > last)) return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int cos_parse_i64(const char *s, int64_t *out)
{
    if (!s) return -1;
    bool neg = *s == '-';
    uint64_t v;
    if (cos_parse_u64(s + neg, &v)) return -1;
    if (v > (uint64_t)INT64_MAX) return -1;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

/* ---------------------------------------------------------------- kv lists */

int cos_kvlist_addn(cos_kvlist *l, const char *name, size_t nlen, const char *value, size_t vlen)
{
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        cos_kv *p = realloc(l->items, cap * sizeof *p);
        if (!p) return COS_ERR_NOMEM;
        l->items = p;
        l->cap = cap;
    }
    char *n = cos_strndup(name, nlen);
    char *v = cos_strndup(value ? value : "", value ? vlen : 0);
    if (!n || !v) {
        free(n);
        free(v);
        return COS_ERR_NOMEM;
    }
    l->items[l->count].name = n;
    l->items[l->count].value = v;
    l->count++;
    return 0;
}

int cos_kvlist_add(cos_kvlist *l, const char *name, const char *value)
{
    return cos_kvlist_addn(l, name, strlen(name), value, value ? strlen(value) : 0);
}

int cos_kvlist_set(cos_kvlist *l, const char *name, const char *value)
{
    for (size_t i = 0; i < l->count; i++) {
        if (cos_streq_ci(l->items[i].name, name)) {
            char *v = cos_strdup(value ? value : "");
            if (!v) return COS_ERR_NOMEM;
            free((char *)l->items[i].value);
            l->items[i].value = v;
            return 0;
        }
    }
    return cos_kvlist_add(l, name, value);
}

const char *cos_kv_find(const cos_kv *items, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (cos_streq_ci(items[i].name, name)) return items[i].value;
    return NULL;
}

const char *cos_kvlist_get(const cos_kvlist *l, const char *name)
{
    return cos_kv_find(l->items, l->count, name);
}

void cos_kvlist_remove(cos_kvlist *l, const char *name)
{
    size_t j = 0;
    for (size_t i = 0; i < l->count; i++) {
        if (cos_streq_ci(l->items[i].name, name)) {
            free((char *)l->items[i].name);
            free((char *)l->items[i].value);
        } else {
            l->items[j++] = l->items[i];
        }
    }
    l->count = j;
}

void cos_kvlist_free(cos_kvlist *l)
{
    for (size_t i = 0; i < l->count; i++) {
        free((char *)l->items[i].name);
        free((char *)l->items[i].value);
    }
    free(l->items);
    l->items = NULL;
    l->count = l->cap = 0;
}

/* ---------------------------------------------------------------- errors */

cos_error *cos_error_new(cos_error_kind kind, const char *message)
{
    cos_error *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    e->kind = kind;
    e->message = cos_strdup(message ? message : cos_error_kind_name(kind));
    return e;
}

static int err_vset(cos_error **err, cos_error_kind kind, const char *field, const char *fmt, va_list ap)
{
    if (!err) return kind;
    char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0) msg = NULL;
    cos_error *e = cos_error_new(kind, msg);
    free(msg);
    if (e && field) e->field = cos_strdup(field);
    cos_error_free(*err);
    *err = e;
    return kind;
}

int cos_err_set(cos_error **err, cos_error_kind kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = err_vset(err, kind, NULL, fmt, ap);
    va_end(ap);
    return rc;
}

int cos_err_invalid(cos_error **err, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = err_vset(err, COS_ERR_INVALID_ARG, field, fmt, ap);
    va_end(ap);
    return rc;
}

int cos_err_io(cos_error **err, int errnum, const char *what, const char *path)
{
    int rc = cos_err_set(err, COS_ERR_IO, "%s %s: %s", what, path ? path : "", strerror(errnum));
    if (err && *err) (*err)->os_errno = errnum;
    return rc;
}

int cos_open_special_dest(const char *path, bool no_follow, int *fd, cos_error **err)
{
    struct stat st;
    *fd = -1;
    /* no_follow: a link is replaced like a regular file, and one planted
       after this check fails the open (O_NOFOLLOW) */
    if ((no_follow ? lstat(path, &st) : stat(path, &st)) != 0 || S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) return 0;
    if (S_ISDIR(st.st_mode)) return cos_err_invalid(err, "file_path", "%s is a directory", path);
    /* non-blocking: a FIFO nobody reads fails (ENXIO) instead of hanging in open() */
    int f = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK | (no_follow ? O_NOFOLLOW : 0));
    if (f < 0) {
        if (errno == ENXIO) return cos_err_set(err, COS_ERR_IO, "cannot write %s: no process reads it", path);
        return cos_err_io(err, errno, "cannot open", path);
    }
    int fl = fcntl(f, F_GETFL);
    if (fl < 0 || fcntl(f, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        int e = errno;
        close(f);
        return cos_err_io(err, e, "cannot open", path);
    }
    *fd = f;
    return 1;
}

/* The rule of Linux's fs.protected_symlinks, which an open() through the
 * link would have applied and resolving it here bypasses: in a sticky
 * world-writable directory (/tmp), a link is followed only by its owner or
 * when the directory's owner owns it. Else another user's planted link
 * would have a root download rename its file over any target. */
static bool link_may_be_followed(const char *link, const struct stat *lst)
{
    const char *slash = strrchr(link, '/');
    char *dir = slash ? cos_sprintf("%.*s", (int)(slash == link ? 1 : slash - link), link) : cos_strdup(".");
    struct stat dst;
    bool ok = dir && stat(dir, &dst) == 0;
    free(dir);
    if (!ok) return false;
    if (!(dst.st_mode & S_ISVTX) || !(dst.st_mode & S_IWOTH)) return true;
    return lst->st_uid == geteuid() || lst->st_uid == dst.st_uid;
}

/* The umask a new file next to `target` gets, without changing it
 * (umask(2) sets it, racing other threads): Linux says it in
 * /proc/self/status. Without /proc (a chroot, a container, early boot) a
 * probe file created 0666 beside the target shows what the kernel takes
 * away; should even that fail, 077: a new file private rather than open. */
static mode_t current_umask(const char *target)
{
    FILE *f = fopen("/proc/self/status", "re");
    if (f) {
        char line[256];
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, "Umask:", 6)) {
                fclose(f);
                return (mode_t)strtoul(line + 6, NULL, 8) & 0777;
            }
        fclose(f); /* a kernel before 4.7: no Umask line */
    }
    mode_t m = 077;
    char *probe = cos_sprintf("%s.cos-umask-XXXXXX", target);
    int fd = probe ? mkostemp(probe, O_CLOEXEC) : -1; /* a free name, made again below with the mode asked */
    if (fd >= 0) {
        close(fd);
        unlink(probe);
        fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        struct stat st;
        if (fd >= 0 && fstat(fd, &st) == 0) m = ~st.st_mode & 0777;
        if (fd >= 0) {
            close(fd);
            unlink(probe);
        }
    }
    free(probe);
    return m;
}

/* Whether a file in a sticky directory others may write to (/tmp) was put
 * there by someone else than us or the directory's owner: fs.protected_regular
 * refuses root's open() of such a file, and neither its owner nor its mode
 * may pass to our download (a planter would own root's verified bytes). */
static bool planted_in_shared_dir(const char *target, const struct stat *st)
{
    if (st->st_uid == geteuid()) return false;
    const char *slash = strrchr(target, '/');
    char *dir = slash ? cos_sprintf("%.*s", (int)(slash == target ? 1 : slash - target), target) : cos_strdup(".");
    struct stat dst;
    bool ok = dir && stat(dir, &dst) == 0;
    free(dir);
    if (!ok) return true;
    return (dst.st_mode & S_ISVTX) && (dst.st_mode & (S_IWOTH | S_IWGRP)) && st->st_uid != dst.st_uid;
}

/* The mark of a temporary libcos made (an extended attribute): the sweep
 * removes only files that carry it, so a user's own file that merely has a
 * temporary's name ("report.pdf.cos-tmp-draft1", untouched for an hour) is
 * never deleted. Where the file system keeps no user attributes nothing is
 * marked, and a dead download's temporaries stay rather than risk a user's. */
static const char TEMP_MARK[] = "user.cos-c.temporary";

void cos_take_target_mode(int fd, const char *target)
{
    struct stat st;
    if (fremovexattr(fd, TEMP_MARK) != 0) { /* unmarked already, or no attributes here: nothing to take off */
    }
    /* lstat: the target is already the name the link led to; a link found
       there now was planted since and is replaced, not followed */
    if (lstat(target, &st) == 0 && S_ISREG(st.st_mode) && !planted_in_shared_dir(target, &st)) {
        /* root replacing a user's file: the user keeps it (as cp(1), writing in place, would) */
        if (geteuid() == 0 && fchown(fd, st.st_uid, st.st_gid) != 0) { /* best effort: the bytes matter more */
        }
        fchmod(fd, st.st_mode & 0777); /* after fchown, which may clear it */
    } else {
        fchmod(fd, 0666 & ~current_umask(target));
    }
}

int cos_target_write_protected(const char *target)
{
    struct stat st;
    if (lstat(target, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    if (faccessat(AT_FDCWD, target, W_OK, AT_EACCESS) == 0) return 0;
    return errno == EACCES || errno == EPERM || errno == EROFS ? errno : 0;
}

void cos_mark_temporary(int fd)
{
    if (fd >= 0 && fsetxattr(fd, TEMP_MARK, "1", 1, 0) != 0) { /* no user attributes here: never swept */
    }
}

void cos_lock_temporary(int fd)
{
    cos_mark_temporary(fd);
    if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0) { /* best effort: unlocked, it merely looks stale sooner */
    }
}

/* NAME is BASE.cos-tmp- and mkstemp's six characters */
static bool is_temporary_of(const char *name, const char *base, size_t bl)
{
    static const char tag[] = ".cos-tmp-";
    if (strncmp(name, base, bl) != 0 || strncmp(name + bl, tag, sizeof tag - 1) != 0) return false;
    const char *x = name + bl + sizeof tag - 1;
    size_t n = 0;
    for (; x[n]; n++)
        if (!isalnum((unsigned char)x[n])) return false;
    return n == 6;
}

/* Whether NAME has that form for some non-empty BASE. */
static bool is_temporary(const char *name)
{
    size_t n = strlen(name);
    return n > 15 && is_temporary_of(name, name, n - 15);
}

/* The directories this process has read (device, inode), each with the
 * temporaries found there and not yet judged: a tree download of many
 * files into one directory reads it once, not per file, and each file's
 * download judges its own name's (leftovers of a file not downloaded again
 * are not provably libcos's: a user may name files so). */
#define SWEPT_SLOTS 4096
static struct swept {
    dev_t dev;
    ino_t ino;
    bool used;
    char **left;
    size_t nleft;
} g_swept[SWEPT_SLOTS];
static size_t g_swept_count;
static pthread_mutex_t g_swept_mu = PTHREAD_MUTEX_INITIALIZER;

/* Read the directory's temporaries into s->left. */
static void swept_read(struct swept *s, int dfd)
{
    int lfd = dup(dfd);
    DIR *d = lfd >= 0 ? fdopendir(lfd) : NULL;
    if (!d) {
        if (lfd >= 0) close(lfd);
        return;
    }
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!is_temporary(e->d_name)) continue;
        if (s->nleft == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            char **n = realloc(s->left, ncap * sizeof *n);
            if (!n) break;
            s->left = n;
            cap = ncap;
        }
        if (!(s->left[s->nleft] = cos_strdup(e->d_name))) break;
        s->nleft++;
    }
    closedir(d);
}

/* The temporaries of BASE in the directory, taken off its list (the
 * directory read first if new to this process); NULL-terminated, or NULL. */
static char **swept_take(int dfd, const struct stat *ds, const char *base, size_t bl)
{
    pthread_mutex_lock(&g_swept_mu);
    struct swept *s = NULL;
    size_t i = ((size_t)ds->st_dev * 31u + (size_t)ds->st_ino) % SWEPT_SLOTS;
    for (size_t n = 0; n < SWEPT_SLOTS; n++, i = (i + 1) % SWEPT_SLOTS) {
        if (!g_swept[i].used) {
            if (g_swept_count + 1 < SWEPT_SLOTS) { /* full: sweep no more directories */
                s = &g_swept[i];
                s->used = true;
                s->dev = ds->st_dev;
                s->ino = ds->st_ino;
                g_swept_count++;
                swept_read(s, dfd);
            }
            break;
        }
        if (g_swept[i].dev == ds->st_dev && g_swept[i].ino == ds->st_ino) {
            s = &g_swept[i];
            break;
        }
    }
    char **mine = NULL;
    size_t n = 0;
    for (size_t j = 0; s && j < s->nleft;) {
        if (!is_temporary_of(s->left[j], base, bl)) {
            j++;
            continue;
        }
        char **m = realloc(mine, (n + 2) * sizeof *m);
        if (!m) break;
        mine = m;
        mine[n++] = s->left[j];
        mine[n] = NULL;
        s->left[j] = s->left[--s->nleft];
    }
    pthread_mutex_unlock(&g_swept_mu);
    return mine;
}

void cos_sweep_stale_temporaries(const char *target)
{
    const char *slash = strrchr(target, '/');
    const char *base = slash ? slash + 1 : target;
    size_t bl = strlen(base);
    if (!bl) return;
    char *dir = slash ? cos_strndup(target, slash == target ? 1 : (size_t)(slash - target)) : cos_strdup(".");
    int dfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    free(dir);
    struct stat ds;
    if (dfd < 0) return;
    char **names = fstat(dfd, &ds) == 0 ? swept_take(dfd, &ds, base, bl) : NULL;
    time_t now = time(NULL);
    for (size_t i = 0; names && names[i]; i++) {
        const char *name = names[i];
        struct stat st, fs;
        /* another user's, a link, a hard-linked or a recent one: not provably a dead download's */
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
            st.st_uid != geteuid() || st.st_nlink != 1 || st.st_mtime > now - 3600)
            continue;
        int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) continue;
        char mark[2];
        /* libcos's (marked), not locked: no live download holds it; still the file under that name when removed */
        if (fgetxattr(fd, TEMP_MARK, mark, sizeof mark) == 1 && fstat(fd, &fs) == 0 && fs.st_dev == st.st_dev &&
            fs.st_ino == st.st_ino &&
            flock(fd, LOCK_EX | LOCK_NB) == 0 && fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            st.st_dev == fs.st_dev && st.st_ino == fs.st_ino)
            unlinkat(dfd, name, 0);
        close(fd);
    }
    for (size_t i = 0; names && names[i]; i++) free(names[i]);
    free(names);
    close(dfd);
}

char *cos_download_target(const char *path)
{
    char *cur = cos_strdup(path);
    for (int hops = 0; cur; hops++) {
        struct stat st;
        if (lstat(cur, &st) != 0 || !S_ISLNK(st.st_mode)) return cur; /* absent or not a link: this name */
        if (!link_may_be_followed(cur, &st)) {
            free(cur);
            errno = EACCES;
            return NULL;
        }
        if (hops == 40) {
            free(cur);
            errno = ELOOP;
            return NULL;
        }
        size_t cap = (size_t)(st.st_size > 0 ? st.st_size : 255) + 1;
        char *to = malloc(cap);
        ssize_t n = to ? readlink(cur, to, cap) : -1;
        if (n < 0 || (size_t)n >= cap) { /* it changed under us: read it again */
            free(to);
            if (n < 0 && errno != EINVAL) {
                free(cur);
                return NULL;
            }
            continue;
        }
        to[n] = '\0';
        char *next;
        const char *slash = strrchr(cur, '/');
        if (to[0] == '/' || !slash) next = to;
        else {
            next = cos_sprintf("%.*s/%s", (int)(slash - cur), cur, to);
            free(to);
        }
        free(cur);
        cur = next;
    }
    errno = ENOMEM;
    return NULL;
}

int cos_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return w < 0 ? errno : ENOSPC;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int cos_write_all_nosigpipe(int fd, const void *buf, size_t len)
{
    sigset_t pipe_only, old, pending;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    /* one already pending (the program's own, blocked by it) is not ours to take */
    bool was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
    if (pthread_sigmask(SIG_BLOCK, &pipe_only, &old) != 0) return cos_write_all(fd, buf, len);
    int e = cos_write_all(fd, buf, len);
    if (e == EPIPE && !was_pending) {
        static const struct timespec now = { 0, 0 };
        while (sigtimedwait(&pipe_only, NULL, &now) < 0 && errno == EINTR) {
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return e;
}

void cos_err_reset(cos_error **err)
{
    if (!err) return;
    cos_error_free(*err);
    *err = NULL;
}

int cos_options_in(void *dst, size_t dst_size, const void *src, const char *type, const char *init_macro,
                   const size_t *sizes, size_t nsizes, cos_error **err)
{
    memset(dst, 0, dst_size);
    if (!src) return cos_err_invalid(err, type, "missing %s", type);
    int version;
    memcpy(&version, src, sizeof version); /* every options struct starts with int version */
    if (version > 0 && (size_t)version < nsizes && sizes[version] && sizes[version] <= dst_size) {
        memcpy(dst, src, sizes[version]);
        return 0;
    }
    char accepted[64] = "";
    size_t n = 0;
    for (size_t v = 1; v < nsizes; v++)
        if (sizes[v] && n < sizeof accepted - 12) n += (size_t)snprintf(accepted + n, sizeof accepted - n, "%s%zu", n ? ", " : "", v);
    const char *why = version == 0 ? " (a struct that was never initialised)"
                      : (size_t)version >= nsizes ? " (newer than this library)" : " (retired: see docs/abi.md)";
    int rc = cos_err_invalid(err, "version", "%s.version is %d%s; libcos %s accepts %s: start from %s", type, version,
                             why, COS_VERSION_STRING, accepted, init_macro);
    return rc;
}

void cos_error_free(cos_error *e)
{
    if (!e) return;
    free(e->code);
    free(e->message);
    free(e->request_id);
    free(e->trace_id);
    free(e->resource);
    free(e->field);
    free(e->string_to_sign);
    free(e->format_string);
    free(e);
}

cos_error *cos_error_dup(const cos_error *src)
{
    if (!src) return NULL;
    cos_error *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    *e = *src;
    e->code = cos_strdup(src->code);
    e->message = cos_strdup(src->message);
    e->request_id = cos_strdup(src->request_id);
    e->trace_id = cos_strdup(src->trace_id);
    e->resource = cos_strdup(src->resource);
    e->field = cos_strdup(src->field);
    e->string_to_sign = cos_strdup(src->string_to_sign);
    e->format_string = cos_strdup(src->format_string);
    return e;
}

const char *cos_error_message(const cos_error *e)
{
    return e && e->message ? e->message : "";
}

const char *cos_error_kind_name(cos_error_kind kind)
{
    switch (kind) {
    case COS_OK: return "success";
    case COS_ERR_INVALID_ARG: return "invalid argument";
    case COS_ERR_SERVER: return "server error";
    case COS_ERR_NETWORK: return "network error";
    case COS_ERR_TIMEOUT: return "timeout";
    case COS_ERR_INTEGRITY: return "integrity check failed";
    case COS_ERR_CANCELED: return "canceled";
    case COS_ERR_IO: return "I/O error";
    case COS_ERR_NOMEM: return "out of memory";
    case COS_ERR_AUTH: return "credentials error";
    case COS_ERR_PARSE: return "malformed response";
    case COS_ERR_INTERNAL: return "internal error";
    }
    return "unknown error";
}

const char *cos_version(void) { return COS_VERSION_STRING; }

/* ---------------------------------------------------------------- time */

int64_t cos_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t cos_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double cos_mono_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void cos_sleep_ms(int64_t ms)
{
    if (ms <= 0) return;
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static const char *const WDAY[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const MON[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static void put2(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10 % 10);
    p[1] = (char)('0' + v % 10);
}

/* Without gmtime_r (glibc takes its process-wide time zone lock even for
 * UTC) and printf: the server formats one for every object it answers with.
 * The civil date from the day count is the usual era/day-of-era reckoning of
 * the proleptic Gregorian calendar. */
void cos_http_date_format(int64_t unix_s, char out[32])
{
    int64_t days = unix_s / 86400, secs = unix_s % 86400;
    if (secs < 0) {
        secs += 86400;
        days--;
    }
    int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);                              /* day of the 400-year era */
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;     /* year of the era */
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                   /* day of the year from March 1 */
    unsigned mp = (5 * doy + 2) / 153, mday = doy - (153 * mp + 2) / 5 + 1, mon = mp < 10 ? mp + 3 : mp - 9;
    int64_t year = (int64_t)yoe + era * 400 + (mon <= 2);
    if (year >= 0 && year <= 9999) {
        /* "Www, DD Mon YYYY HH:MM:SS GMT" */
        memcpy(out, WDAY[((days + 4) % 7 + 7) % 7], 3); /* 1970-01-01 was a Thursday */
        memcpy(out + 3, ", ", 2);
        put2(out + 5, mday);
        out[7] = ' ';
        memcpy(out + 8, MON[mon - 1], 3);
        out[11] = ' ';
        put2(out + 12, (unsigned)(year / 100));
        put2(out + 14, (unsigned)(year % 100));
        out[16] = ' ';
        put2(out + 17, (unsigned)(secs / 3600));
        out[19] = ':';
        put2(out + 20, (unsigned)(secs / 60 % 60));
        out[22] = ':';
        put2(out + 23, (unsigned)(secs % 60));
        memcpy(out + 25, " GMT", 5);
        return;
    }
    time_t t = (time_t)unix_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%s, %02d %s %04d %02d:%02d:%02d GMT", WDAY[tm.tm_wday], tm.tm_mday,
             MON[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    snprintf(out, 32, "%.31s", tmp);
}

int64_t cos_http_date_parse(const char *s)
{
    if (!s) return -1;
    char wd[4], mon[4];
    int d, y, H, M, S;
    if (sscanf(s, "%3s, %d %3s %d %d:%d:%d", wd, &d, mon, &y, &H, &M, &S) != 7) return -1;
    /* an answer's or a request's own fields: out of range is malformed (and a
       huge year overflowed y - 1900: found by fuzz_resp_headers) */
    if (y < 0 || y > 9999 || d < 1 || d > 31 || H < 0 || H > 23 || M < 0 || M > 59 || S < 0 || S > 60) return -1;
    int m = -1;
    for (int i = 0; i < 12; i++)
        if (strcasecmp(mon, MON[i]) == 0) m = i;
    if (m < 0) return -1;
    struct tm tm = { .tm_sec = S, .tm_min = M, .tm_hour = H, .tm_mday = d, .tm_mon = m,
                     .tm_year = y - 1900 };
    return (int64_t)timegm(&tm);
}

void cos_iso8601_format(int64_t unix_ms, char out[32])
{
    time_t t = (time_t)(unix_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    int year = tm.tm_year + 1900, ms = (int)(unix_ms % 1000);
    if (year < 0 || year > 9999 || ms < 0) { /* outside what the digits below write */
        char tmp[64];
        snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", year, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
        snprintf(out, 32, "%.31s", tmp);
        return;
    }
    /* written digit by digit: a listing formats one per key, and snprintf was its largest cost */
    const int v[7] = { year, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms };
    static const int width[7] = { 4, 2, 2, 2, 2, 2, 3 };
    static const char after[7] = { '-', '-', 'T', ':', ':', '.', 'Z' };
    char *w = out;
    for (int i = 0; i < 7; i++) {
        for (int d = width[i] - 1, x = v[i]; d >= 0; d--, x /= 10) w[d] = (char)('0' + x % 10);
        w += width[i];
        *w++ = after[i];
    }
    *w = '\0';
}

int64_t cos_iso8601_parse(const char *s)
{
    if (!s) return -1;
    int y, mo, d, H, M, S, ms = 0, end = 0;
    if (sscanf(s, "%d-%d-%dT%d:%d:%d%n", &y, &mo, &d, &H, &M, &S, &end) < 6 || !end) return -1;
    /* out of range is malformed: a year of nine digits overflowed the
       milliseconds (found by fuzz_resp_headers) */
    if (y < 0 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || H < 0 || H > 23 || M < 0 || M > 59 || S < 0 ||
        S > 60)
        return -1;
    if (s[end] == '.') { /* a fraction of a second: ".5" is 500 ms, ".123456" 123 ms (not 5 and 123456) */
        const char *f = s + end + 1;
        int digits = 0;
        for (; *f >= '0' && *f <= '9'; f++, digits++)
            if (digits < 3) ms = ms * 10 + (*f - '0');
        if (!digits) return -1;
        for (; digits < 3; digits++) ms *= 10;
    }
    struct tm tm = { .tm_sec = S, .tm_min = M, .tm_hour = H, .tm_mday = d, .tm_mon = mo - 1,
                     .tm_year = y - 1900 };
    return (int64_t)timegm(&tm) * 1000 + ms;
}

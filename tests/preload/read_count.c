/* read_count.c — an LD_PRELOAD module for tests: counts what a process reads
 * from files under $COS_TEST_READ_COUNT_UNDER (bytes, through read and
 * pread, and opens) and writes "BYTES OPENS" to $COS_TEST_READ_COUNT_OUT when
 * it exits. test_many_files holds an upload of a tree to one pass over each
 * file's bytes with it (a second pass after each PUT doubled the reading). */
#define _GNU_SOURCE
#undef _FILE_OFFSET_BITS /* both open and open64 are defined here, each its own symbol */
#undef _TIME_BITS
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

enum { MAX_FD = 65536 };
static unsigned char watched[MAX_FD]; /* fds opened on a watched path (atomics: threads) */
static unsigned long long bytes, opens;

static bool is_watched(const char *path)
{
    const char *under = getenv("COS_TEST_READ_COUNT_UNDER");
    return under && path && !strncmp(path, under, strlen(under));
}

static int note_open(int fd, const char *path)
{
    if (fd >= 0 && fd < MAX_FD) {
        bool w = is_watched(path);
        __atomic_store_n(&watched[fd], (unsigned char)w, __ATOMIC_RELAXED);
        if (w) __atomic_add_fetch(&opens, 1, __ATOMIC_RELAXED);
    }
    return fd;
}

static ssize_t note_read(int fd, ssize_t n)
{
    if (n > 0 && fd >= 0 && fd < MAX_FD && __atomic_load_n(&watched[fd], __ATOMIC_RELAXED))
        __atomic_add_fetch(&bytes, (unsigned long long)n, __ATOMIC_RELAXED);
    return n;
}

static mode_t mode_of(int flags, va_list ap) { return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0; }

#define REAL(sym, type) ((type)dlsym(RTLD_NEXT, sym))

int open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t m = mode_of(flags, ap);
    va_end(ap);
    return note_open(REAL("open", int (*)(const char *, int, ...))(path, flags, m), path);
}

int open64(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t m = mode_of(flags, ap);
    va_end(ap);
    return note_open(REAL("open64", int (*)(const char *, int, ...))(path, flags, m), path);
}

/* (a relative path under a directory fd is not resolved: the tests name files by absolute paths) */
int openat(int dir, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t m = mode_of(flags, ap);
    va_end(ap);
    return note_open(REAL("openat", int (*)(int, const char *, int, ...))(dir, path, flags, m), path);
}

int openat64(int dir, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t m = mode_of(flags, ap);
    va_end(ap);
    return note_open(REAL("openat64", int (*)(int, const char *, int, ...))(dir, path, flags, m), path);
}

ssize_t read(int fd, void *buf, size_t n) { return note_read(fd, REAL("read", ssize_t (*)(int, void *, size_t))(fd, buf, n)); }

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
    return note_read(fd, REAL("pread", ssize_t (*)(int, void *, size_t, off_t))(fd, buf, n, off));
}

ssize_t pread64(int fd, void *buf, size_t n, off64_t off)
{
    return note_read(fd, REAL("pread64", ssize_t (*)(int, void *, size_t, off64_t))(fd, buf, n, off));
}

/* a number reused for a socket or a pipe reads nothing of the files */
int close(int fd)
{
    if (fd >= 0 && fd < MAX_FD) __atomic_store_n(&watched[fd], 0, __ATOMIC_RELAXED);
    return REAL("close", int (*)(int))(fd);
}

static void __attribute__((destructor)) report(void)
{
    const char *out = getenv("COS_TEST_READ_COUNT_OUT");
    if (!out) return;
    FILE *f = fopen(out, "w");
    if (!f) return;
    fprintf(f, "%llu %llu\n", __atomic_load_n(&bytes, __ATOMIC_RELAXED), __atomic_load_n(&opens, __ATOMIC_RELAXED));
    fclose(f);
}

/* slow_open.c — an LD_PRELOAD module for tests: every 4th open for reading
 * (open, or fopen, which glibc does not route through open) of a file under
 * $COS_TEST_SLOW_OPEN_UNDER waits $COS_TEST_SLOW_OPEN_MS before it happens. It widens, on demand, the window between a server's
 * reading an object's row and opening its data, where a racing overwrite
 * removes the file: a race that is otherwise microseconds wide. */
#define _GNU_SOURCE
#undef _FILE_OFFSET_BITS /* both open and open64 are defined here, each its own symbol */
#undef _TIME_BITS
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void maybe_wait(const char *path, int flags)
{
    static unsigned long count;
    const char *under = getenv("COS_TEST_SLOW_OPEN_UNDER"), *ms = getenv("COS_TEST_SLOW_OPEN_MS");
    if (!under || !ms || (flags & O_ACCMODE) != O_RDONLY || strncmp(path, under, strlen(under)) != 0) return;
    if (__atomic_add_fetch(&count, 1, __ATOMIC_RELAXED) % 4 != 0) return;
    long n = atol(ms);
    struct timespec ts = { n / 1000, (n % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* The libc function `sym` after maybe_wait; the mode only travels with O_CREAT / O_TMPFILE. */
static int slowed_open(const char *sym, const char *path, int flags, va_list ap)
{
    mode_t mode = (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
    maybe_wait(path, flags);
    int (*real)(const char *, int, ...) = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, sym);
    return real(path, flags, mode);
}

int open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    int fd = slowed_open("open", path, flags, ap);
    va_end(ap);
    return fd;
}

int open64(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    int fd = slowed_open("open64", path, flags, ap);
    va_end(ap);
    return fd;
}

/* A multipart object's manifest is read with fopen. */
static FILE *slowed_fopen(const char *sym, const char *path, const char *mode)
{
    if (mode && mode[0] == 'r' && !strchr(mode, '+')) maybe_wait(path, O_RDONLY);
    FILE *(*real)(const char *, const char *) = (FILE * (*)(const char *, const char *)) dlsym(RTLD_NEXT, sym);
    return real(path, mode);
}

FILE *fopen(const char *path, const char *mode) { return slowed_fopen("fopen", path, mode); }
FILE *fopen64(const char *path, const char *mode) { return slowed_fopen("fopen64", path, mode); }

/* sync_fault.c — an LD_PRELOAD module for tests: while the file named by
 * $COS_TEST_SYNC_FAIL_FLAG exists, fsync and fdatasync of a file whose
 * name ends in "-wal" (SQLite's log) fail with EIO, as on a failing disk;
 * with $COS_TEST_SYNC_FAIL_UNDER set, those of the files and directories
 * under that path instead (object data). No real filesystem here can be
 * made to fail an fsync on demand. With $COS_TEST_SYNC_SEEN set, an fsync
 * of a directory under $COS_TEST_SYNC_FAIL_UNDER first creates that file,
 * so a test sees when the server syncs one (failing or not). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static bool failing(int fd)
{
    const char *flag = getenv("COS_TEST_SYNC_FAIL_FLAG");
    if (!flag || access(flag, F_OK) != 0) return false;
    char link[64], path[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n < 4) return false;
    path[n] = '\0';
    const char *under = getenv("COS_TEST_SYNC_FAIL_UNDER");
    if (under && *under) return strncmp(path, under, strlen(under)) == 0;
    return strcmp(path + n - 4, "-wal") == 0;
}

static void note_dir(int fd)
{
    const char *seen = getenv("COS_TEST_SYNC_SEEN"), *under = getenv("COS_TEST_SYNC_FAIL_UNDER");
    struct stat st;
    if (!seen || !under || !*under || fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode)) return;
    char link[64], path[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0) return;
    path[n] = '\0';
    size_t ul = strlen(under);
    /* the prefix "ROOT/data/" names data/ itself as "ROOT/data" */
    if (strncmp(path, under, ul) != 0 && !(strncmp(path, under, ul - 1) == 0 && path[ul - 1] == '\0')) return;
    int m = open(seen, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (m >= 0) close(m);
}

int fdatasync(int fd)
{
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    if (failing(fd)) {
        errno = EIO;
        return -1;
    }
    return real(fd);
}

int fsync(int fd)
{
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    note_dir(fd);
    if (failing(fd)) {
        errno = EIO;
        return -1;
    }
    return real(fd);
}

/* swap_dir.c — an LD_PRELOAD module for tests: the symlink race of a tree
 * download made to happen. When the process sends the HEAD request of the
 * object whose path contains $COS_TEST_SWAP_KEY (" HTTP" after it), i.e.
 * after the CLI checked the destination and before libcos opens its files:
 *  - $COS_TEST_SWAP_DIR set: that directory is moved aside (DIR.moved) and
 *    a symlink to $COS_TEST_SWAP_TO put under its name;
 *  - $COS_TEST_SWAP_LINK set: a symlink to $COS_TEST_SWAP_TO is planted
 *    under that name (the file's own name).
 * With $COS_TEST_SWAP_AT=mkdir the same happens instead when the process
 * makes that directory (mkdir of $COS_TEST_SWAP_DIR, or mkdirat of its last
 * component): the moment between the CLI's check and the directories made
 * for the file.
 * Once per process. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static atomic_int done;

static void swap_now(void)
{
    const char *to = getenv("COS_TEST_SWAP_TO");
    const char *dir = getenv("COS_TEST_SWAP_DIR"), *link = getenv("COS_TEST_SWAP_LINK");
    if (dir) {
        char aside[4200];
        snprintf(aside, sizeof aside, "%s.moved", dir);
        if (rename(dir, aside) != 0) perror("swap_dir: rename");
        if (symlink(to, dir) != 0) perror("swap_dir: symlink");
    }
    if (link && symlink(to, link) != 0) perror("swap_dir: symlink");
}

static bool at_mkdir(void)
{
    const char *at = getenv("COS_TEST_SWAP_AT");
    return at && !strcmp(at, "mkdir") && getenv("COS_TEST_SWAP_TO") && getenv("COS_TEST_SWAP_DIR");
}

int mkdir(const char *path, mode_t mode)
{
    static int (*real)(const char *, mode_t);
    if (!real) real = (int (*)(const char *, mode_t))dlsym(RTLD_NEXT, "mkdir");
    if (at_mkdir() && !strcmp(path, getenv("COS_TEST_SWAP_DIR")) && !atomic_exchange(&done, 1)) swap_now();
    return real(path, mode);
}

int mkdirat(int dirfd, const char *name, mode_t mode)
{
    static int (*real)(int, const char *, mode_t);
    if (!real) real = (int (*)(int, const char *, mode_t))dlsym(RTLD_NEXT, "mkdirat");
    if (at_mkdir()) {
        const char *dir = getenv("COS_TEST_SWAP_DIR"), *last = strrchr(dir, '/');
        if (!strcmp(name, last ? last + 1 : dir) && !atomic_exchange(&done, 1)) swap_now();
    }
    return real(dirfd, name, mode);
}

static void maybe_swap(const void *buf, size_t len)
{
    const char *key = getenv("COS_TEST_SWAP_KEY"), *to = getenv("COS_TEST_SWAP_TO");
    if (at_mkdir() || !key || !to || len < 5 || memcmp(buf, "HEAD ", 5) != 0) return;
    char line[4096];
    size_t n = len < sizeof line - 1 ? len : sizeof line - 1;
    memcpy(line, buf, n);
    line[n] = '\0';
    char *eol = strstr(line, "\r\n");
    if (eol) *eol = '\0';
    char want[1100];
    snprintf(want, sizeof want, "%s HTTP", key);
    if (!strstr(line, want) || atomic_exchange(&done, 1)) return;
    swap_now();
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    static ssize_t (*real)(int, const void *, size_t, int);
    if (!real) real = (ssize_t(*)(int, const void *, size_t, int))dlsym(RTLD_NEXT, "send");
    maybe_swap(buf, len);
    return real(fd, buf, len, flags);
}

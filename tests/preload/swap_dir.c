/* swap_dir.c — an LD_PRELOAD module for tests: the symlink race of a tree
 * download made to happen. When the process sends the HEAD request of the
 * object whose path contains $COS_TEST_SWAP_KEY (" HTTP" after it), i.e.
 * after the CLI checked the destination and before libcos opens its files:
 *  - $COS_TEST_SWAP_DIR set: that directory is moved aside (DIR.moved) and
 *    a symlink to $COS_TEST_SWAP_TO put under its name;
 *  - $COS_TEST_SWAP_LINK set: a symlink to $COS_TEST_SWAP_TO is planted
 *    under that name (the file's own name).
 * Once per process. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static atomic_int done;

static void maybe_swap(const void *buf, size_t len)
{
    const char *key = getenv("COS_TEST_SWAP_KEY"), *to = getenv("COS_TEST_SWAP_TO");
    if (!key || !to || len < 5 || memcmp(buf, "HEAD ", 5) != 0) return;
    char line[4096];
    size_t n = len < sizeof line - 1 ? len : sizeof line - 1;
    memcpy(line, buf, n);
    line[n] = '\0';
    char *eol = strstr(line, "\r\n");
    if (eol) *eol = '\0';
    char want[1100];
    snprintf(want, sizeof want, "%s HTTP", key);
    if (!strstr(line, want) || atomic_exchange(&done, 1)) return;
    const char *dir = getenv("COS_TEST_SWAP_DIR"), *link = getenv("COS_TEST_SWAP_LINK");
    if (dir) {
        char aside[4200];
        snprintf(aside, sizeof aside, "%s.moved", dir);
        if (rename(dir, aside) != 0) perror("swap_dir: rename");
        if (symlink(to, dir) != 0) perror("swap_dir: symlink");
    }
    if (link && symlink(to, link) != 0) perror("swap_dir: symlink");
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    static ssize_t (*real)(int, const void *, size_t, int);
    if (!real) real = (ssize_t(*)(int, const void *, size_t, int))dlsym(RTLD_NEXT, "send");
    maybe_swap(buf, len);
    return real(fd, buf, len, flags);
}

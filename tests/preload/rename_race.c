/* rename_race.c — an LD_PRELOAD module for tests: with $COS_TEST_NO_RENAMEAT2
 * set, renameat2 fails EINVAL, as on a filesystem without RENAME_NOREPLACE;
 * with $COS_TEST_RENAME_RACE set, a download's rename of FILE.cos-partial to
 * a name of its own (FILE.cos-tmp-XXXXXX) first finds another's file put
 * under FILE.cos-partial (its own moved aside to FILE.cos-partial.aside):
 * the instant between libcos's check and its rename, made to happen; with
 * $COS_TEST_KILL_AT_CHECKPOINT=N the process dies at its Nth checkpoint
 * write, between the temporary and its rename (test_session12_attack). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int real_rename(const char *a, const char *b)
{
    static int (*real)(const char *, const char *);
    if (!real) real = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
    return real(a, b);
}

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), k = strlen(tail);
    return n >= k && !strcmp(s + n - k, tail);
}

int rename(const char *from, const char *to)
{
    /* $COS_TEST_KILL_AT_CHECKPOINT=N: killed (-9) at the Nth rename of a
       transfer's checkpoint (*.json) into place, its temporary written */
    static int checkpoints;
    const char *kill_at = getenv("COS_TEST_KILL_AT_CHECKPOINT");
    if (kill_at && ends_with(to, ".json") && ++checkpoints == atoi(kill_at)) raise(SIGKILL);
    if (getenv("COS_TEST_RENAME_RACE") && ends_with(from, ".cos-partial") && strstr(to, ".cos-tmp-")) {
        char aside[4200];
        snprintf(aside, sizeof aside, "%s.aside", from);
        if (real_rename(from, aside) == 0) {
            int fd = open(from, O_WRONLY | O_CREAT | O_EXCL, 0644);
            if (fd >= 0) {
                if (write(fd, "another's\n", 10) != 10) perror("write");
                close(fd);
            }
        }
    }
    return real_rename(from, to);
}

int renameat2(int olddirfd, const char *from, int newdirfd, const char *to, unsigned int flags)
{
    static int (*real)(int, const char *, int, const char *, unsigned int);
    if (getenv("COS_TEST_NO_RENAMEAT2")) {
        errno = EINVAL;
        return -1;
    }
    if (!real) real = (int (*)(int, const char *, int, const char *, unsigned int))dlsym(RTLD_NEXT, "renameat2");
    return real(olddirfd, from, newdirfd, to, flags);
}

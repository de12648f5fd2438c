/* readdir_fault.c — an LD_PRELOAD module for tests: reading the directory
 * whose path ends in $COS_TEST_READDIR_FAIL fails with EIO after its first
 * three entries, as a failing disk or a network filesystem does. No real
 * filesystem here can be made to fail readdir on demand. */
#define _GNU_SOURCE
#undef _FILE_OFFSET_BITS /* both readdir and readdir64 are defined here, each its own symbol */
#undef _TIME_BITS
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static DIR *g_bad;
static int g_seen;

DIR *opendir(const char *name)
{
    static DIR *(*real)(const char *);
    if (!real) real = (DIR * (*)(const char *)) dlsym(RTLD_NEXT, "opendir");
    DIR *d = real(name);
    const char *m = getenv("COS_TEST_READDIR_FAIL");
    size_t nl = strlen(name), ml = m ? strlen(m) : 0;
    if (d && ml && nl >= ml && !strcmp(name + nl - ml, m)) {
        g_bad = d;
        g_seen = 0;
    } else if (d == g_bad) { /* the address of a closed one, reused */
        g_bad = NULL;
    }
    return d;
}

struct dirent *readdir(DIR *d)
{
    static struct dirent *(*real)(DIR *);
    if (!real) real = (struct dirent * (*)(DIR *)) dlsym(RTLD_NEXT, "readdir");
    if (d == g_bad && g_bad && ++g_seen > 3) {
        errno = EIO;
        return NULL;
    }
    return real(d);
}

struct dirent64 *readdir64(DIR *d)
{
    static struct dirent64 *(*real)(DIR *);
    if (!real) real = (struct dirent64 * (*)(DIR *)) dlsym(RTLD_NEXT, "readdir64");
    if (d == g_bad && g_bad && ++g_seen > 3) {
        errno = EIO;
        return NULL;
    }
    return real(d);
}

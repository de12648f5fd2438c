/*
 * upload_ids.c — UploadIdCacheLimit: the upload ids kept for resuming
 * uploads live in checkpoint files (one per interrupted upload, named by
 * the SHA-1 of what identifies it) in checkpoint_dir. This keeps the newest
 * `limit` of them and forgets the rest, as the official SDK trims its
 * localStorage list: an upload that was forgotten starts over instead of
 * resuming (its parts stay on the server until aborted or expired by a
 * lifecycle rule).
 */
#define _GNU_SOURCE
#include "client_internal.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct cp_file {
    char *path;
    struct timespec mtime;
} cp_file;

/* Only our own files: 40 hex digits + ".json" (the directory may hold others). */
static bool is_checkpoint_name(const char *n)
{
    size_t i = 0;
    for (; i < 40; i++)
        if (!((n[i] >= '0' && n[i] <= '9') || (n[i] >= 'a' && n[i] <= 'f'))) return false;
    return strcmp(n + 40, ".json") == 0;
}

static int newest_first(const void *a, const void *b)
{
    const cp_file *x = a, *y = b;
    if (x->mtime.tv_sec != y->mtime.tv_sec) return x->mtime.tv_sec < y->mtime.tv_sec ? 1 : -1;
    if (x->mtime.tv_nsec != y->mtime.tv_nsec) return x->mtime.tv_nsec < y->mtime.tv_nsec ? 1 : -1;
    return strcmp(x->path, y->path);
}

void upload_id_cache_trim(const char *checkpoint, int limit)
{
    if (!checkpoint || limit <= 0) return;
    const char *slash = strrchr(checkpoint, '/');
    if (!slash) return;
    char *dir = cos_strndup(checkpoint, (size_t)(slash - checkpoint));
    DIR *d = dir ? opendir(dir) : NULL;
    if (!d) {
        free(dir);
        return;
    }
    cp_file *files = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!is_checkpoint_name(de->d_name)) continue;
        char *p = cos_sprintf("%s/%s", dir, de->d_name);
        struct stat st;
        if (!p || stat(p, &st) != 0) {
            free(p);
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            cp_file *nf = realloc(files, cap * sizeof *files);
            if (!nf) {
                free(p);
                break;
            }
            files = nf;
        }
        files[n].path = p;
        files[n++].mtime = st.st_mtim;
    }
    closedir(d);
    qsort(files, n, sizeof *files, newest_first);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        bool current = strcmp(files[i].path, checkpoint) == 0; /* the upload under way is never forgotten */
        if (current || kept < (size_t)limit - 1) {
            if (!current) kept++;
        } else {
            unlink(files[i].path);
        }
        free(files[i].path);
    }
    free(files);
    free(dir);
}

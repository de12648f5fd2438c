/* bench_disk.c — what the disk itself sustains for durable part writes: the
 * baseline cos-server's durable upload is measured against (issue #21).
 * WRITERS threads write TOTAL_MIB as files of PART_MIB each (parts taken from
 * one counter, as an uploader's parts are), in writes of WRITE_KIB, and make
 * each file durable the way any careful writer must: fsync the file, then
 * fsync its directory. No network, no hashing, no metadata database.
 *   bench_disk DIR TOTAL_MIB PART_MIB WRITERS [WRITE_KIB]
 * Prints "MB/s seconds"; the files are removed after the clock stops. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "bench.h"

static const char *dir;
static size_t part_bytes, write_bytes;
static int parts;
static atomic_int next_part;
static atomic_int failed;
static unsigned char *pattern;

static int write_part(int i)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/part-%06d", dir, i);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return -1;
    for (size_t done = 0; done < part_bytes;) {
        size_t want = part_bytes - done < write_bytes ? part_bytes - done : write_bytes;
        ssize_t n = write(fd, pattern + (done % part_bytes), want);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            close(fd);
            return -1;
        }
        done += (size_t)n;
    }
    int rc = fsync(fd);
    close(fd);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0) rc = -1;
    if (dfd >= 0) close(dfd);
    return rc;
}

static void *writer(void *arg)
{
    (void)arg;
    for (int i; (i = atomic_fetch_add(&next_part, 1)) < parts;)
        if (write_part(i) != 0) atomic_store(&failed, 1);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: bench_disk DIR TOTAL_MIB PART_MIB WRITERS [WRITE_KIB]\n");
        return 2;
    }
    dir = argv[1];
    long total_mib = atol(argv[2]), part_mib = atol(argv[3]);
    int writers = atoi(argv[4]);
    write_bytes = (size_t)(argc > 5 ? atol(argv[5]) : 256) << 10;
    if (total_mib <= 0 || part_mib <= 0 || writers <= 0 || writers > 256 || write_bytes == 0) {
        fprintf(stderr, "bench_disk: sizes and writers must be positive\n");
        return 2;
    }
    part_bytes = (size_t)part_mib << 20;
    parts = (int)((total_mib + part_mib - 1) / part_mib);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        perror(dir);
        return 1;
    }
    /* incompressible bytes, like the bench's upload file */
    pattern = malloc(part_bytes);
    if (!pattern) return 1;
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (size_t i = 0; i < part_bytes; i += 8) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        memcpy(pattern + i, &x, part_bytes - i < 8 ? part_bytes - i : 8);
    }
    pthread_t t[256];
    double t0 = bench_now();
    for (int i = 0; i < writers; i++) pthread_create(&t[i], NULL, writer, NULL);
    for (int i = 0; i < writers; i++) pthread_join(t[i], NULL);
    double secs = bench_now() - t0;
    for (int i = 0; i < parts; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/part-%06d", dir, i);
        unlink(path);
    }
    free(pattern);
    if (atomic_load(&failed)) {
        fprintf(stderr, "bench_disk: a write or fsync failed in %s\n", dir);
        return 1;
    }
    printf("%.1f MB/s %.2f s\n", (double)parts * (double)part_bytes / secs / 1e6, secs);
    return 0;
}

/* bench_queue.c — what a queued task costs: N async uploads queued on one
 * client while the running ones are held back (their credential callback
 * waits), then the memory and threads that the queue holds, per task.
 *   bench_queue ENDPOINT BUCKET N    prints "BYTES_PER_TASK THREADS N" */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "bench.h"

static pthread_mutex_t g_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static int g_open, g_waiting, g_done;

static int held_credentials(void *ud, const cos_auth_request *req, cos_credentials_sink *sink, cos_error **err)
{
    (void)ud;
    (void)req;
    (void)err;
    pthread_mutex_lock(&g_m);
    g_waiting++;
    pthread_cond_broadcast(&g_cv);
    while (!g_open) pthread_cond_wait(&g_cv, &g_m);
    pthread_mutex_unlock(&g_m);
    return cos_credentials_set(sink, "AKIDcosLOCALdevelopment0000000000000", "cosLOCALdevelopmentSECRETkey00000", NULL, 0, 0);
}

static void done(void *ud, cos_task_id id, int rc, cos_transfer_result *res, cos_error *err)
{
    (void)ud;
    (void)id;
    (void)rc;
    cos_transfer_result_free(res);
    cos_error_free(err);
    pthread_mutex_lock(&g_m);
    g_done++;
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_m);
}

static long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, res = 0;
    if (f && fscanf(f, "%ld %ld", &pages, &res) != 2) res = 0;
    if (f) fclose(f);
    return res * sysconf(_SC_PAGESIZE);
}

static int threads(void)
{
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    if (d) closedir(d);
    return n;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench_queue ENDPOINT BUCKET N\n");
        return 2;
    }
    int n = atoi(argv[3]);
    cos_config cfg;
    bench_config(&cfg, argv[1]);
    cfg.secret_id = cfg.secret_key = NULL;
    cfg.get_authorization = held_credentials;
    cos_client *c = NULL;
    cos_error *err = NULL;
    if (cos_client_new(&c, &cfg, &err)) return 1;
    char src[] = "/tmp/cos-bench-queue-XXXXXX";
    int fd = mkstemp(src);
    if (fd < 0 || write(fd, "queued", 6) != 6) return 1;
    close(fd);
    cos_task_id *ids = calloc((size_t)n, sizeof *ids);
    char key[32];
    int t0 = threads();
    long m0 = rss_bytes();
    for (int i = 0; i < n; i++) {
        snprintf(key, sizeof key, "queue/%06d", i);
        cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
        p.bucket = argv[2];
        p.key = key;
        p.file_path = src;
        if (cos_upload_file_async(c, &p, done, NULL, &ids[i])) return 1;
    }
    pthread_mutex_lock(&g_m);
    while (g_waiting < 1) pthread_cond_wait(&g_cv, &g_m);
    pthread_mutex_unlock(&g_m);
    long per_task = (rss_bytes() - m0) / n;
    int extra = threads() - t0;
    /* the queue is measured: cancel it, let the held ones go */
    for (int i = 0; i < n; i++) cos_task_cancel(c, ids[i], NULL);
    pthread_mutex_lock(&g_m);
    g_open = 1;
    pthread_cond_broadcast(&g_cv);
    while (g_done < n) pthread_cond_wait(&g_cv, &g_m);
    pthread_mutex_unlock(&g_m);
    printf("%ld %d %d\n", per_task, extra, n);
    cos_client_free(c);
    unlink(src);
    free(ids);
    return 0;
}

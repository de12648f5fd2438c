/*
 * test_session12_attack.c — the twelfth session's attacks on libcos against
 * a cos-server of its own: what a transfer tells its caller (size, CRC-64)
 * must be what the server stored, whatever happens to the file meanwhile.
 */
#define _GNU_SOURCE
#include "testlib.h"

#include <curl/curl.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUCKET "attack12-1250000000"

static test_server g_srv;
static char *g_dir;

/* The object as stored: its size and CRC-64 (GET into memory). */
static bool stored_object(cos_client *c, const char *key, uint64_t *size, uint64_t *crc)
{
    cos_request r = test_generic_request(NULL, BUCKET, key, NULL, NULL, 0, NULL, 0, NULL);
    cos_result *res = NULL;
    cos_error *err = NULL;
    int rc = cos_call(c, COS_OP_GET_OBJECT, &r, &res, &err);
    CHECK_OK(rc, err);
    cos_error_free(err);
    if (rc) return false;
    *size = res->body_size;
    *crc = cos_crc64(0, res->body, res->body_size);
    cos_result_free(res);
    return true;
}

static uint64_t file_crc(const char *path, uint64_t *size)
{
    FILE *f = fopen(path, "rb");
    unsigned char buf[8192];
    uint64_t crc = 0;
    *size = 0;
    size_t n;
    while (f && (n = fread(buf, 1, sizeof buf, f)) > 0) {
        crc = cos_crc64(crc, buf, n);
        *size += n;
    }
    if (f) fclose(f);
    return crc;
}

/* ------------------------------------------------------------------ a simple upload's file replaced */

/* A simple upload measured its file through one descriptor (the task's
 * size, the progress total, the result's size) and sent it through another,
 * opened by name later: a file renamed over the path between the two (an
 * editor's save, a sync tool) was the one sent and stored, while the result
 * told the size of the first. Now the bytes sent are those of the file the
 * task opened and measured: the result, the file as it was, and the object
 * agree. The rename happens in the task-list callback at the task's
 * RUNNING state, which comes between the two opens. PUT and POST. */
typedef struct swap_on_run {
    cos_client *c;
    const char *from, *to;
    atomic_int swapped;
} swap_on_run;

static void swap_when_running(void *ud)
{
    swap_on_run *s = ud;
    if (atomic_load(&s->swapped)) return;
    cos_task_info *list = NULL;
    size_t n = 0;
    if (cos_task_list(s->c, &list, &n) != 0) return;
    for (size_t i = 0; i < n; i++)
        if (list[i].state == COS_TASK_RUNNING && !atomic_exchange(&s->swapped, 1)) CHECK(rename(s->from, s->to) == 0);
    cos_task_list_free(list, n);
}

static void test_simple_upload_file_replaced(void)
{
    for (int post = 0; post < 2; post++) {
        cos_config cfg;
        test_config(&cfg, &g_srv);
        cfg.simple_upload_method = post ? COS_SIMPLE_UPLOAD_POST : COS_SIMPLE_UPLOAD_PUT;
        cos_client *c = test_client_of(&cfg);
        if (!c) return;
        char path[512], other[512];
        snprintf(path, sizeof path, "%s/replaced-%d.bin", g_dir, post);
        snprintf(other, sizeof other, "%s/replacement-%d.bin", g_dir, post);
        CHECK_INT(test_write_lcg_file(path, 100000, 7), 0);
        CHECK_INT(test_write_lcg_file(other, 300000, 8), 0); /* larger, still one simple upload */
        uint64_t first_size, second_size;
        uint64_t first_crc = file_crc(path, &first_size);
        uint64_t second_crc = file_crc(other, &second_size);
        swap_on_run s = { c, other, path, 0 };
        cos_set_task_list_callback(c, swap_when_running, &s);
        cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
        p.bucket = BUCKET;
        p.key = post ? "replaced-post" : "replaced-put";
        p.file_path = path;
        cos_transfer_result *res = NULL;
        cos_error *err = NULL;
        int rc = cos_upload_file(c, &p, &res, &err);
        cos_set_task_list_callback(c, NULL, NULL);
        CHECK_OK(rc, err);
        CHECK(atomic_load(&s.swapped));
        uint64_t size = 0, crc = 0;
        if (res && stored_object(c, p.key, &size, &crc)) {
            if (res->size != size || res->crc64 != crc)
                test_fail(__FILE__, __LINE__, "%s: told size %llu CRC-64 %llu, stored %llu / %llu", post ? "POST" : "PUT",
                          (unsigned long long)res->size, (unsigned long long)res->crc64, (unsigned long long)size,
                          (unsigned long long)crc);
            if (size != first_size || crc != first_crc)
                test_fail(__FILE__, __LINE__, "%s: stored %llu bytes (the file opened had %llu, its replacement %llu%s)",
                          post ? "POST" : "PUT", (unsigned long long)size, (unsigned long long)first_size,
                          (unsigned long long)second_size, crc == second_crc ? ": the replacement was sent" : "");
        }
        cos_transfer_result_free(res);
        cos_error_free(err);
        cos_client_free(c);
    }
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    g_dir = test_tmpdir("attack12");
    const char *args[] = { NULL };
    if (test_server_start(&g_srv, args) != 0) {
        printf("cannot start cos-server\n0 passed, 1 failed\n");
        return 1;
    }
    test_put_bucket_on(&g_srv, BUCKET);
    test_watch(240, "test_session12_attack", &g_srv);
    RUN(test_simple_upload_file_replaced);
    test_unwatch();
    test_server_stop(&g_srv, false);
    test_rmtree(g_dir);
    free(g_dir);
    curl_global_cleanup();
    return test_report();
}

/*
 * call_styles.c — the three ways to call any operation, the C counterparts
 * of the official SDK's callback, Promise and synchronous styles:
 *   1. plain synchronous call:  cos_head_object(c, &req, &res, &err)
 *   2. completion callback:     cos_head_object_async(c, &req, done, user_data)
 *   3. future (a Promise):      cos_head_object_async(c, &req, cos_future_done, f); cos_future_wait(f, ...)
 * All three share one client, from any thread.
 */
#include "example.h"
#include <pthread.h>

/* 2. The callback style: `done` owns res and err and runs on a worker thread. */
typedef struct completion {
    pthread_mutex_t m;
    pthread_cond_t cv;
    bool finished;
    int rc;
} completion;

static void on_done(void *user_data, int rc, cos_result *res, cos_error *err)
{
    completion *k = user_data;
    if (rc == 0) printf("callback: HTTP %d, ETag %s\n", res->http_status, res->etag);
    else example_fail("callback headObject", err), err = NULL;
    cos_result_free(res);
    cos_error_free(err);
    pthread_mutex_lock(&k->m);
    k->finished = true;
    k->rc = rc;
    pthread_cond_signal(&k->cv);
    pthread_mutex_unlock(&k->m);
}

int main(void)
{
    cos_config cfg = COS_CONFIG_INIT;
    cos_client *c = example_client(&cfg);
    if (example_put(c, "styles.txt", "three ways\n")) return 1;

    cos_request req = COS_REQUEST_INIT;
    req.bucket = EXAMPLE_BUCKET;
    req.key = "styles.txt";

    /* 1. synchronous */
    cos_result *res = NULL;
    cos_error *err = NULL;
    if (cos_head_object(c, &req, &res, &err)) return example_fail("headObject", err);
    printf("sync: HTTP %d, %llu bytes\n", res->http_status, (unsigned long long)res->content_length);
    cos_result_free(res);

    /* 2. callback */
    completion k = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0 };
    if (cos_head_object_async(c, &req, on_done, &k) != 0) return 1; /* refused up front: done never runs */
    pthread_mutex_lock(&k.m);
    while (!k.finished) pthread_cond_wait(&k.cv, &k.m);
    pthread_mutex_unlock(&k.m);
    if (k.rc) return 1;

    /* 3. future */
    cos_future *f = cos_future_new();
    if (!f || cos_head_object_async(c, &req, cos_future_done, f) != 0) return 1;
    /* ... do other work here ... */
    int rc = cos_future_wait(f, &res, &err);
    cos_future_free(f);
    if (rc) return example_fail("future headObject", err);
    printf("future: HTTP %d, CRC-64 %llu\n", res->http_status, (unsigned long long)res->crc64);
    cos_result_free(res);

    cos_client_free(c);
    return 0;
}

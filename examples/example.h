/*
 * example.h — the little every example shares: where the server is, a client
 * with a permanent key, and how to report an error. The examples run against
 * a local cos-server (COS_ENDPOINT=127.0.0.1:PORT); against real COS, leave
 * COS_ENDPOINT unset and set your own bucket in EXAMPLE_BUCKET.
 */
#ifndef EXAMPLE_H
#define EXAMPLE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cos/cos.h>

#define EXAMPLE_BUCKET "examplebucket-1250000000"
#define EXAMPLE_REGION "ap-guangzhou"

/* Where the bucket lives; with COS_ENDPOINT set, every host name resolves to it. */
static inline void example_where(cos_config *cfg)
{
    cfg->region = EXAMPLE_REGION;
    cfg->connect_to = getenv("COS_ENDPOINT");
    if (cfg->connect_to) cfg->protocol = "http:"; /* the local server speaks plain HTTP */
}

/* Print what went wrong, the way a support ticket wants it, and free the error. */
static inline int example_fail(const char *what, cos_error *err)
{
    fprintf(stderr, "%s failed: %s", what, cos_error_message(err));
    if (err && err->code) fprintf(stderr, " [%s, HTTP %d, request id %s]", err->code, err->http_status,
                                  err->request_id ? err->request_id : "-");
    fputc('\n', stderr);
    cos_error_free(err);
    return 1;
}

/* A client with the permanent key from COS_SECRET_ID / COS_SECRET_KEY (see init_permanent.c). */
static inline cos_client *example_client(cos_config *cfg)
{
    cfg->secret_id = getenv("COS_SECRET_ID");
    cfg->secret_key = getenv("COS_SECRET_KEY");
    example_where(cfg);
    cos_client *c = NULL;
    cos_error *err = NULL;
    if (cos_client_new(&c, cfg, &err)) {
        example_fail("cos_client_new", err);
        exit(1);
    }
    return c;
}

/* Write `size` bytes of a recognisable pattern to `path` (the file to upload). */
static inline int example_make_file(const char *path, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    for (size_t i = 0; i < size; i++) fputc((int)('a' + i % 26), f);
    return fclose(f);
}

/* Upload a small object, for the examples that need one to exist. */
static inline int example_put(cos_client *c, const char *key, const char *text)
{
    cos_request req = COS_REQUEST_INIT;
    req.bucket = EXAMPLE_BUCKET;
    req.key = key;
    req.body.data = text;
    req.body.size = strlen(text);
    cos_result *res = NULL;
    cos_error *err = NULL;
    if (cos_put_object(c, &req, &res, &err)) return example_fail("putObject", err);
    cos_result_free(res);
    return 0;
}

#endif

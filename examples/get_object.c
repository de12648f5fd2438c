/*
 * get_object.c — "Download an object" (getObject): into memory, into a file
 * (written to a temporary name and renamed once complete and CRC-checked),
 * or a byte range.
 */
#include "example.h"

int main(void)
{
    cos_config cfg = COS_CONFIG_INIT;
    cos_client *c = example_client(&cfg);
    if (example_put(c, "download/hello.txt", "Hello, COS!\n")) return 1;

    cos_request req = COS_REQUEST_INIT;
    req.bucket = EXAMPLE_BUCKET;
    req.key = "download/hello.txt";
    cos_result *res = NULL;
    cos_error *err = NULL;

    /* into memory: res->body, NUL-terminated */
    if (cos_get_object(c, &req, &res, &err)) return example_fail("getObject", err);
    printf("memory: %s", (const char *)res->body);
    cos_result_free(res);

    /* into a file */
    req.sink.file_path = "hello.txt";
    if (cos_get_object(c, &req, &res, &err)) return example_fail("getObject to file", err);
    printf("file: hello.txt, %llu bytes\n", (unsigned long long)res->content_length);
    cos_result_free(res);

    /* a range */
    req.sink.file_path = NULL;
    req.range = "bytes=0-4";
    if (cos_get_object(c, &req, &res, &err)) return example_fail("getObject range", err);
    printf("range: %.*s (HTTP %d)\n", (int)res->body_size, (const char *)res->body, res->http_status);
    cos_result_free(res);
    cos_client_free(c);
    return 0;
}

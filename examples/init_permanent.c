/*
 * init_permanent.c — "Initialise with a permanent key": the simplest way, for
 * servers and tools you control. Never ship a permanent key inside an app;
 * use a temporary key (init_sts.c) there.
 */
#include "example.h"

int main(void)
{
    cos_config cfg = COS_CONFIG_INIT;
    cfg.secret_id = getenv("COS_SECRET_ID");   /* SecretId */
    cfg.secret_key = getenv("COS_SECRET_KEY"); /* SecretKey */
    example_where(&cfg);

    cos_client *c = NULL;
    cos_error *err = NULL;
    if (cos_client_new(&c, &cfg, &err)) return example_fail("cos_client_new", err);

    cos_request req = COS_REQUEST_INIT;
    req.bucket = EXAMPLE_BUCKET;
    cos_result *res = NULL;
    int rc = cos_head_bucket(c, &req, &res, &err);
    if (rc == 0) printf("bucket %s is reachable with the permanent key (HTTP %d)\n", req.bucket, res->http_status);
    else example_fail("headBucket", err);
    cos_result_free(res);
    cos_client_free(c);
    return rc ? 1 : 0;
}

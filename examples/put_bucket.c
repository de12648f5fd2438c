/* put_bucket.c — "Create a bucket" (putBucket), then check it with headBucket. */
#include "example.h"

int main(void)
{
    cos_config cfg = COS_CONFIG_INIT;
    cos_client *c = example_client(&cfg);

    cos_request req = COS_REQUEST_INIT;
    req.bucket = "newbucket-1250000000";     /* BucketName-APPID */
    req.acl = "private";                     /* x-cos-acl, optional */
    cos_result *res = NULL;
    cos_error *err = NULL;
    if (cos_put_bucket(c, &req, &res, &err)) return example_fail("putBucket", err);
    printf("created %s: %s\n", req.bucket, res->location ? res->location : "(no Location)");
    cos_result_free(res);

    if (cos_head_bucket(c, &req, &res, &err)) return example_fail("headBucket", err);
    printf("headBucket: HTTP %d\n", res->http_status);
    cos_result_free(res);

    /* tidy up so the example can run again */
    if (cos_delete_bucket(c, &req, &res, &err)) return example_fail("deleteBucket", err);
    cos_result_free(res);
    cos_client_free(c);
    return 0;
}

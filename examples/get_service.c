/* get_service.c — "List buckets" (getService). */
#include "example.h"

int main(void)
{
    cos_config cfg = COS_CONFIG_INIT;
    cos_client *c = example_client(&cfg);

    cos_request req = COS_REQUEST_INIT;      /* req.region would list one region only */
    cos_result *res = NULL;
    cos_error *err = NULL;
    if (cos_get_service(c, &req, &res, &err)) return example_fail("getService", err);
    const cos_list_buckets_result *l = res->output.list_buckets;
    printf("%zu bucket(s)\n", l->buckets_count);
    for (size_t i = 0; i < l->buckets_count; i++)
        printf("  %-40s %-16s %s\n", l->buckets[i].name, l->buckets[i].location, l->buckets[i].creation_date);
    cos_result_free(res);
    cos_client_free(c);
    return 0;
}

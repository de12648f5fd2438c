/* delete_object.c — "Delete objects": one (deleteObject) and many in one request (deleteMultipleObject). */
#include "example.h"

int main(void)
{
    cos_config cfg = COS_CONFIG_INIT;
    cos_client *c = example_client(&cfg);
    if (example_put(c, "trash/1.txt", "1") || example_put(c, "trash/2.txt", "2") || example_put(c, "trash/3.txt", "3"))
        return 1;

    cos_request req = COS_REQUEST_INIT;
    req.bucket = EXAMPLE_BUCKET;
    req.key = "trash/1.txt";
    cos_result *res = NULL;
    cos_error *err = NULL;
    if (cos_delete_object(c, &req, &res, &err)) return example_fail("deleteObject", err);
    printf("deleteObject: HTTP %d\n", res->http_status);
    cos_result_free(res);

    cos_object_id ids[] = { { "trash/2.txt", NULL }, { "trash/3.txt", NULL } };
    cos_delete_request del = { .quiet = false, .objects = ids, .objects_count = 2 };
    req.key = NULL;
    req.input.delete_objects = &del;
    if (cos_delete_multiple_object(c, &req, &res, &err)) return example_fail("deleteMultipleObject", err);
    const cos_delete_result *d = res->output.deleted;
    for (size_t i = 0; i < d->deleted_count; i++) printf("deleted %s\n", d->deleted[i].key);
    for (size_t i = 0; i < d->errors_count; i++) printf("failed  %s: %s\n", d->errors[i].key, d->errors[i].code);
    int rc = d->deleted_count == 2 ? 0 : 1;
    cos_result_free(res);
    cos_client_free(c);
    return rc;
}

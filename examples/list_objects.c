/*
 * list_objects.c — "List objects by prefix" (getBucket): one page with a
 * delimiter, as folders; then every object under the prefix with the
 * iterator, which follows NextMarker for you.
 */
#include "example.h"

int main(void)
{
    cos_config cfg = COS_CONFIG_INIT;
    cos_client *c = example_client(&cfg);
    const char *keys[] = { "photos/2024/a.jpg", "photos/2024/b.jpg", "photos/2025/c.jpg", "photos/readme.txt" };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (example_put(c, keys[i], "x")) return 1;

    /* one level: objects and "folders" right under photos/ */
    cos_request req = COS_REQUEST_INIT;
    req.bucket = EXAMPLE_BUCKET;
    req.prefix = "photos/";
    req.delimiter = "/";
    cos_result *res = NULL;
    cos_error *err = NULL;
    if (cos_get_bucket(c, &req, &res, &err)) return example_fail("getBucket", err);
    const cos_list_objects_result *l = res->output.list_objects;
    for (size_t i = 0; i < l->common_prefixes_count; i++) printf("dir  %s\n", l->common_prefixes[i].prefix);
    for (size_t i = 0; i < l->contents_count; i++)
        printf("file %s (%llu bytes)\n", l->contents[i].key, (unsigned long long)l->contents[i].size);
    cos_result_free(res);

    /* everything under the prefix, two keys per page to show the paging */
    req.delimiter = NULL;
    req.max_keys = 2;
    cos_object_iter *it = NULL;
    if (cos_object_iter_new(&it, c, &req, &err)) return example_fail("iterator", err);
    const cos_object_summary *o;
    int n = 0, rc;
    while ((rc = cos_object_iter_next(it, &o, &err)) == 1) {
        printf("%2d. %s\n", ++n, o->key);
    }
    cos_object_iter_free(it);
    if (rc < 0) return example_fail("getBucket (paging)", err);
    cos_client_free(c);
    return n == 4 ? 0 : 1;
}

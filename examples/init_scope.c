/*
 * init_scope.c — "Initialise with a scoped temporary key" (ScopeLimit: true).
 * The callback is told the scope of each request (action, bucket, region,
 * key) and asks the backend for a key limited to exactly that; keys are
 * cached per scope. A key that leaks can then do only what it was made for.
 */
#include "example.h"
#include <stdatomic.h>

typedef struct backend {
    const char *sts_url;
    atomic_int keys_fetched;
} backend;

static int get_scoped_key(void *user_data, const cos_auth_request *req, cos_credentials_sink *sink,
                          cos_error **err)
{
    backend *b = user_data;
    const cos_scope *s = req->scope; /* one entry for a simple request */
    char url[2048];
    /* cos-server's /sts takes the parameters qcloud-cos-sts's getCredential does */
    snprintf(url, sizeof url, "%s?bucket=%s&region=%s&allowPrefix=%s&allowActions=%s", b->sts_url, s->bucket,
             s->region, s->prefix, s->action);
    atomic_fetch_add(&b->keys_fetched, 1);
    return cos_sts_url_provider(url, req, sink, err);
}

int main(void)
{
    backend b = { getenv("COS_STS_URL"), 0 };
    if (!b.sts_url) { fprintf(stderr, "set COS_STS_URL to your STS backend\n"); return 2; }

    cos_config cfg = COS_CONFIG_INIT;
    cfg.get_authorization = get_scoped_key;
    cfg.credentials_user_data = &b;
    cfg.scope_limit = true;
    example_where(&cfg);

    cos_client *c = NULL;
    cos_error *err = NULL;
    if (cos_client_new(&c, &cfg, &err)) return example_fail("cos_client_new", err);

    int rc = example_put(c, "scoped/a.txt", "a\n");         /* key 1: PutObject on scoped/a.txt */
    if (rc == 0) rc = example_put(c, "scoped/a.txt", "a2\n"); /* same scope: cached key */
    if (rc == 0) rc = example_put(c, "scoped/b.txt", "b\n");  /* key 2: another object */
    if (rc == 0) printf("3 uploads, %d scoped keys fetched\n", atomic_load(&b.keys_fetched));
    cos_client_free(c);
    return rc;
}

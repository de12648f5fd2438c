/*
 * init_sts.c — "Initialise with a temporary key from your backend"
 * (getAuthorization returning TmpSecretId/TmpSecretKey/SecurityToken/
 * StartTime/ExpiredTime). The key is fetched on first use, cached, and
 * fetched again shortly before ExpiredTime — once, however many threads need it.
 *
 * Your backend runs the STS server SDK (npm qcloud-cos-sts or the like);
 * here cos-server's development /sts plays that role (COS_STS_URL).
 * cos_sts_url_provider is a ready-made callback for that JSON shape; write
 * your own cos_credentials_fn for any other backend (see init_scope.c).
 */
#include "example.h"

int main(void)
{
    const char *sts_url = getenv("COS_STS_URL"); /* e.g. http://127.0.0.1:PORT/sts (cos-server --sts-open) */
    if (!sts_url) { fprintf(stderr, "set COS_STS_URL to your STS backend\n"); return 2; }

    /* ask for a key limited to what this program does: objects under sts/ of one bucket */
    char url[1024];
    snprintf(url, sizeof url, "%s?bucket=%s&region=%s&allowPrefix=sts/*", sts_url, EXAMPLE_BUCKET, EXAMPLE_REGION);

    cos_config cfg = COS_CONFIG_INIT;
    cfg.get_authorization = cos_sts_url_provider;    /* or cfg.get_sts: the getSTS flavour, same callback */
    cfg.credentials_user_data = url;
    example_where(&cfg);

    cos_client *c = NULL;
    cos_error *err = NULL;
    if (cos_client_new(&c, &cfg, &err)) return example_fail("cos_client_new", err);

    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++) /* three requests, one key: the cache at work */
        rc = example_put(c, "sts/hello.txt", "uploaded with a temporary key\n");
    if (rc == 0) printf("3 uploads signed with one temporary key from %s\n", sts_url);
    cos_client_free(c);
    return rc;
}

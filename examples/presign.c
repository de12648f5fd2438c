/*
 * presign.c — "Presigned URL" (getObjectUrl): a URL anyone can use, for a
 * limited time, without a key — here fetched with plain libcurl.
 */
#include "example.h"
#include <curl/curl.h>

int main(void)
{
    cos_config cfg = COS_CONFIG_INIT;
    cos_client *c = example_client(&cfg);
    if (example_put(c, "shared/report.txt", "quarterly figures\n")) return 1;

    cos_url_params u = COS_URL_PARAMS_INIT;
    u.bucket = EXAMPLE_BUCKET;
    u.key = "shared/report.txt";
    u.expires = 600;                          /* seconds (Expires) */
    char *url = NULL;
    cos_error *err = NULL;
    if (cos_get_object_url(c, &u, &url, &err)) return example_fail("getObjectUrl", err);
    printf("%s\n", url);

    /* any HTTP client can use it; CONNECT_TO only because the server is local */
    CURL *h = curl_easy_init();
    curl_easy_setopt(h, CURLOPT_URL, url);
    struct curl_slist *to = NULL;
    char map[300];
    if (getenv("COS_ENDPOINT")) {
        snprintf(map, sizeof map, "::%s", getenv("COS_ENDPOINT"));
        to = curl_slist_append(NULL, map);
        curl_easy_setopt(h, CURLOPT_CONNECT_TO, to);
    }
    CURLcode rc = curl_easy_perform(h);       /* the body goes to stdout */
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    curl_slist_free_all(to);
    free(url);
    cos_client_free(c);
    printf("HTTP %ld\n", status);
    return rc == CURLE_OK && status == 200 ? 0 : 1;
}

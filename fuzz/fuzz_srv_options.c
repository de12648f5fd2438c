/* fuzz_srv_options.c — cos-server's command line (server_main.c's
 * parse_options), in-process: nothing is started.
 * Input: the arguments, separated by NUL bytes (at most 64).
 * Properties: the answer is go on (-1), help (0) or a refusal (2); what it
 * goes on with is in range (timeouts 1..3600 s, the busy timeout and the
 * lock drain 0..3600000 ms, restore seconds 0..30 days, threads 1..1024, the extra keys
 * within their table, each with an id and a secret); the copies it made are
 * freed (LeakSanitizer). */
#define _GNU_SOURCE
/* server_main.c's static parser: this TU stands in for server_main.c, which
   the server archive leaves out (fuzz/CMakeLists.txt); its main is renamed */
#define main cos_server_main
#include "../server/server_main.c"
#undef main

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *argv[66] = { "cos-server" };
    int argc = 1;
    for (size_t off = 0; off < size && argc < 65;) { /* each NUL-ended piece an argument */
        argv[argc++] = text + off;
        off += strlen(text + off) + 1;
    }
    argv[argc] = NULL;
    server_config c;
    memset(&c, 0, sizeof c);
    int rc = parse_options(&c, argc, argv);
    if (rc != -1 && rc != 0 && rc != 2) abort();
    if (rc == -1) {
        if (c.header_timeout_s > 3600 || c.body_timeout_s > 3600 || c.rate_window_s > 3600) abort();
        if (c.busy_timeout_ms < 0 || c.busy_timeout_ms > 3600000 || c.lock_drain_ms < 0 || c.lock_drain_ms > 3600000)
            abort();
        if (c.restore_seconds < 0 || c.restore_seconds > 30 * 86400) abort();
        if (c.threads > 1024 || c.nextra_keys > COS_ARRAY_LEN(c.extra_keys)) abort();
        for (size_t i = 0; i < c.nextra_keys; i++)
            if (!c.extra_keys[i] || !*c.extra_keys[i] || !c.extra_secrets[i] || !*c.extra_secrets[i]) abort();
    }
    free_extra_keys(&c);
    free(text);
    return 0;
}

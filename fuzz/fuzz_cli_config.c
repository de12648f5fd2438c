/* fuzz_cli_config.c — the cos CLI's config file reader (~/.config/cos/config:
 * sections, profiles, key = value) on arbitrary bytes, with and without a
 * profile to look up. The first byte picks the profile. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static char g_path[] = "/tmp/fuzz_cli_config-XXXXXX";
static int g_fd = -1;

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (g_fd < 0) {
        g_fd = mkstemp(g_path);
        if (g_fd < 0) abort();
        setenv("COS_CONFIG", g_path, 1);
        unsetenv("COS_PROFILE");
        unsetenv("COS_SECRET_ID");
        unsetenv("COS_SECRET_KEY");
        unsetenv("COS_REGION");
        unsetenv("COS_ENDPOINT");
    }
    if (ftruncate(g_fd, 0) != 0) abort();
    if (size > 1 && pwrite(g_fd, data + 1, size - 1, 0) != (ssize_t)(size - 1)) abort();
    static const char *const profiles[] = { NULL, "default", "p", "local" };
    cli_opts o;
    memset(&o, 0, sizeof o);
    o.cmd = "ls";
    o.profile = profiles[size ? data[0] % 4 : 0];
    cli_settings s;
    if (cli_resolve(&o, &s) == 0) cli_settings_free(&s);
    return 0;
}

/*
 * util.c — the CLI's client setup (flags > environment > INI profile),
 * error reporting with distinct exit codes, and the progress bar.
 */
#define _GNU_SOURCE
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

volatile int cli_interrupted;

bool cli_parse_url(const char *s, cos_url *u)
{
    memset(u, 0, sizeof *u);
    if (strncmp(s, "cos://", 6) != 0) return false;
    const char *b = s + 6;
    const char *slash = strchr(b, '/');
    size_t n = slash ? (size_t)(slash - b) : strlen(b);
    if (n == 0 || n >= sizeof u->bucket) return false;
    memcpy(u->bucket, b, n);
    snprintf(u->key, sizeof u->key, "%s", slash ? slash + 1 : "");
    u->is_cos = true;
    return true;
}

/* ~/.config/cos/config: [default] / [profile NAME] sections of key = value. */
static char *ini_get(const char *profile, const char *name)
{
    const char *path = getenv("COS_CONFIG");
    char buf[1024];
    if (!path) {
        const char *home = getenv("HOME");
        if (!home) return NULL;
        snprintf(buf, sizeof buf, "%s/.config/cos/config", home);
        path = buf;
    }
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char line[1024], section[256] = "";
    char *found = NULL;
    const char *want = profile ? profile : "default";
    while (fgets(line, sizeof line, f)) {
        char *l = line;
        while (*l == ' ' || *l == '\t') l++;
        l[strcspn(l, "\r\n")] = '\0';
        if (*l == '#' || *l == ';' || !*l) continue;
        if (*l == '[') {
            char *e = strchr(l, ']');
            if (e) *e = '\0';
            const char *s = l + 1;
            if (!strncmp(s, "profile ", 8)) s += 8;
            snprintf(section, sizeof section, "%s", s);
            continue;
        }
        if (strcmp(section, want) != 0) continue;
        char *eq = strchr(l, '=');
        if (!eq) continue;
        *eq = '\0';
        char *k = l, *v = eq + 1;
        while (*v == ' ') v++;
        size_t kl = strlen(k);
        while (kl && (k[kl - 1] == ' ' || k[kl - 1] == '\t')) k[--kl] = '\0';
        if (!strcmp(k, name)) {
            free(found);
            found = strdup(v);
        }
    }
    fclose(f);
    return found;
}

static const char *pick(const char *flag, const char *env, const char *profile, const char *ini_name, char **owned)
{
    if (flag) return flag;
    const char *e = getenv(env);
    if (e && *e) return e;
    *owned = ini_get(profile, ini_name);
    return *owned;
}

int cli_client(const cli_opts *o, cos_client **out)
{
    cos_config cfg;
    cos_config_init(&cfg);
    const char *profile = o->profile ? o->profile : getenv("COS_PROFILE");
    char *own[8] = { 0 };
    cfg.secret_id = pick(o->secret_id, "COS_SECRET_ID", profile, "secret_id", &own[0]);
    cfg.secret_key = pick(o->secret_key, "COS_SECRET_KEY", profile, "secret_key", &own[1]);
    cfg.security_token = pick(o->token, "COS_SECURITY_TOKEN", profile, "security_token", &own[2]);
    cfg.region = pick(o->region, "COS_REGION", profile, "region", &own[3]);
    const char *endpoint = pick(o->endpoint, "COS_ENDPOINT", profile, "endpoint", &own[4]);
    const char *ps = getenv("COS_PATH_STYLE");
    char *ini_ps = NULL;
    if (!ps) ps = ini_ps = ini_get(profile, "path_style");
    if (!cfg.region) cfg.region = "ap-guangzhou";
    if (endpoint && *endpoint) {
        /* a local server: connect there, keep the virtual-hosted names (or path style) */
        cfg.protocol = "http:";
        if (!strncmp(endpoint, "https://", 8)) {
            cfg.protocol = "https:";
            endpoint += 8;
        } else if (!strncmp(endpoint, "http://", 7)) {
            endpoint += 7;
        }
        cfg.connect_to = endpoint;
    }
    cfg.force_path_style = o->path_style || (ps && (!strcmp(ps, "1") || !strcasecmp(ps, "true")));
    if (o->parallel > 0) cfg.chunk_parallel_limit = o->parallel;
    if (o->chunk_size) cfg.chunk_size = o->chunk_size;
    cfg.progress_interval_ms = 200;
    cfg.simple_upload_method = COS_SIMPLE_UPLOAD_PUT;
    if (!cfg.secret_id || !cfg.secret_key) {
        fprintf(stderr, "cos: no credentials: set --secret-id/--secret-key, COS_SECRET_ID/COS_SECRET_KEY, "
                        "or secret_id/secret_key in ~/.config/cos/config\n");
        for (int i = 0; i < 8; i++) free(own[i]);
        free(ini_ps);
        return EXIT_AUTH;
    }
    cos_error *err = NULL;
    int rc = cos_client_new(out, &cfg, &err);
    for (int i = 0; i < 8; i++) free(own[i]);
    free(ini_ps);
    if (rc) return cli_fail("configuration", rc, err);
    return 0;
}

int cli_fail(const char *what, int rc, cos_error *err)
{
    cli_progress_end();
    const char *code = err && err->code ? err->code : NULL;
    if (code)
        fprintf(stderr, "cos: %s: %s: %s (request id %s)\n", what, code, cos_error_message(err),
                err->request_id ? err->request_id : "-");
    else
        fprintf(stderr, "cos: %s: %s\n", what, err ? cos_error_message(err) : cos_error_kind_name((cos_error_kind)rc));
    int exit_code = EXIT_FAIL;
    if (rc == COS_ERR_INVALID_ARG) exit_code = EXIT_USAGE;
    else if (rc == COS_ERR_NETWORK || rc == COS_ERR_TIMEOUT) exit_code = EXIT_NETWORK;
    else if (rc == COS_ERR_CANCELED) exit_code = EXIT_PAUSED;
    else if (rc == COS_ERR_AUTH) exit_code = EXIT_AUTH;
    else if (code && (!strcmp(code, "AccessDenied") || !strcmp(code, "SignatureDoesNotMatch") ||
                      !strcmp(code, "InvalidAccessKeyId") || !strcmp(code, "RequestTimeTooSkewed")))
        exit_code = EXIT_AUTH;
    else if (err && err->http_status == 404) exit_code = EXIT_NOTFOUND;
    cos_error_free(err);
    return exit_code;
}

bool cli_tty(void) { return isatty(STDERR_FILENO) && isatty(STDOUT_FILENO); }

void cli_human(uint64_t b, char out[32])
{
    const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    double v = (double)b;
    int i = 0;
    while (v >= 1024 && i < 4) {
        v /= 1024;
        i++;
    }
    if (i == 0) snprintf(out, 32, "%llu B", (unsigned long long)b);
    else snprintf(out, 32, "%.1f %s", v, u[i]);
}

static bool g_bar_drawn;

void cli_progress(void *ud, const cos_progress *p)
{
    const char *label = ud;
    if (!cli_tty()) return; /* nothing but results when not on a terminal */
    char done[32], total[32], speed[32];
    cli_human(p->loaded, done);
    cli_human(p->total, total);
    cli_human((uint64_t)p->speed, speed);
    int width = 30, fill = (int)(p->percent * width);
    char bar[64];
    for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    double eta = p->speed > 0 ? (double)(p->total - p->loaded) / p->speed : 0;
    fprintf(stderr, "\r%-24.24s [%s] %5.1f%% %s/%s %s/s ETA %.0fs ", label ? label : "", bar, p->percent * 100, done,
            total, speed, eta);
    fflush(stderr);
    g_bar_drawn = true;
}

void cli_progress_end(void)
{
    if (g_bar_drawn) fputc('\n', stderr);
    g_bar_drawn = false;
}

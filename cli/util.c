/*
 * util.c — the CLI's settings (flags > environment > profile > [default]),
 * its client, error reporting with distinct exit codes, the aggregate
 * progress line, the report every command prints, and the two bulk
 * primitives that must always end: listings and bulk deletes.
 */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

volatile int cli_interrupted;
bool cli_s3;

bool cli_parse_url(const char *s, cos_url *u)
{
    memset(u, 0, sizeof *u);
    bool s3 = strncmp(s, "s3://", 5) == 0;
    if (!s3 && strncmp(s, "cos://", 6) != 0) return false;
    /* an s3:// URL in a cos:// command (or the reverse) is no URL here:
       cli_dialect has refused the mix already */
    if (s3 != cli_s3) return false;
    const char *b = s + (s3 ? 5 : 6);
    const char *slash = strchr(b, '/');
    size_t n = slash ? (size_t)(slash - b) : strlen(b);
    if (n == 0 || n >= sizeof u->bucket) return false;
    memcpy(u->bucket, b, n);
    if (slash && strlen(slash + 1) >= sizeof u->key) return false;
    /* libcos drops one leading "/" of a key, as the official SDKs do
       (UseRawKey off): cos://b//k is the object k. Every leading "/" is
       dropped here, so that the key every command compares and names in a
       copy source is the one libcos sends: mv's same-object check compared
       "/k" with "k" (cos://b///k), copied k onto itself and deleted it */
    const char *key = slash ? slash + 1 : "";
    while (key[0] == '/') key++;
    snprintf(u->key, sizeof u->key, "%s", key);
    u->is_cos = true;
    u->s3 = s3;
    return true;
}

int cli_dialect(const cli_opts *o)
{
    bool cos = false, s3 = false;
    for (int i = 0; i < o->nargs; i++) {
        if (!strncmp(o->args[i], "s3://", 5)) s3 = true;
        else if (!strncmp(o->args[i], "cos://", 6)) cos = true;
    }
    if (cos && s3) {
        fprintf(stderr, "cos: %s: cos:// and s3:// URLs in one command: each names a different store "
                        "(and signature); copy through a local file instead\n", o->cmd);
        return EXIT_USAGE;
    }
    cli_s3 = s3;
    return 0;
}

void cli_dir_prefix(const char *key, char *out, size_t n)
{
    size_t l = strlen(key);
    snprintf(out, n, "%s%s", key, l && key[l - 1] != '/' ? "/" : "");
}

/* ------------------------------------------------------------------ settings */

const char *cli_config_path(char *buf, size_t n)
{
    const char *path = getenv("COS_CONFIG");
    if (path && *path) return path;
    const char *home = getenv("HOME");
    if (!home) return NULL;
    snprintf(buf, n, "%s/.config/cos/config", home);
    return buf;
}

/* ~/.config/cos/config: [default] / [profile NAME] (or [NAME]) sections of key = value. */
typedef struct ini_entry {
    char *section, *key, *value;
} ini_entry;
typedef struct ini {
    ini_entry *e;
    size_t n;
    char **sections;
    size_t nsections;
} ini;

static void ini_free(ini *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->e[i].section);
        free(f->e[i].key);
        free(f->e[i].value);
    }
    for (size_t i = 0; i < f->nsections; i++) free(f->sections[i]);
    free(f->e);
    free(f->sections);
    memset(f, 0, sizeof *f);
}

static void ini_load(const char *path, ini *f)
{
    memset(f, 0, sizeof *f);
    FILE *fp = path ? fopen(path, "r") : NULL;
    if (!fp) return;
    /* getline: a line of any length (a temporary key's security_token can
       pass 4 KiB; fgets cut it in two, the key truncated) */
    char *line = NULL, section[256] = "";
    size_t line_cap = 0;
    while (getline(&line, &line_cap, fp) > 0) {
        char *l = line;
        while (*l == ' ' || *l == '\t') l++;
        l[strcspn(l, "\r\n")] = '\0';
        if (*l == '#' || *l == ';' || !*l) continue;
        if (*l == '[') {
            char *e = strchr(l, ']');
            if (e) *e = '\0';
            const char *s = l + 1;
            if (!strncmp(s, "profile ", 8)) s += 8;
            while (*s == ' ') s++;
            snprintf(section, sizeof section, "%s", s);
            char **ns = realloc(f->sections, (f->nsections + 1) * sizeof *ns);
            if (!ns) break;
            f->sections = ns;
            f->sections[f->nsections++] = strdup(section);
            continue;
        }
        char *eq = strchr(l, '=');
        if (!eq) continue;
        *eq = '\0';
        char *k = l, *v = eq + 1;
        while (*v == ' ' || *v == '\t') v++;
        size_t kl = strlen(k), vl = strlen(v);
        while (kl && (k[kl - 1] == ' ' || k[kl - 1] == '\t')) k[--kl] = '\0';
        while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t')) v[--vl] = '\0';
        ini_entry *ne = realloc(f->e, (f->n + 1) * sizeof *ne);
        if (!ne) break;
        f->e = ne;
        f->e[f->n++] = (ini_entry){ strdup(section), strdup(k), strdup(v) };
    }
    if (line) explicit_bzero(line, line_cap); /* it held secret keys */
    free(line);
    fclose(fp);
}

static bool ini_has(const ini *f, const char *section)
{
    for (size_t i = 0; i < f->nsections; i++)
        if (!strcmp(f->sections[i], section)) return true;
    return false;
}

static const char *ini_get(const ini *f, const char *section, const char *key)
{
    const char *found = NULL; /* the last one wins, as in most INI readers */
    for (size_t i = 0; section && i < f->n; i++)
        if (!strcmp(f->e[i].section, section) && !strcmp(f->e[i].key, key)) found = f->e[i].value;
    return found && *found ? found : NULL;
}

static char *read_secret_file(const char *path)
{
    FILE *fp = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!fp) {
        fprintf(stderr, "cos: --secret-key-file %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char line[1024] = "";
    char *ok = fgets(line, sizeof line, fp);
    if (fp != stdin) fclose(fp);
    line[strcspn(line, "\r\n")] = '\0';
    if (!ok || !line[0]) {
        fprintf(stderr, "cos: --secret-key-file %s: no key in it\n", path);
        return NULL;
    }
    char *s = strdup(line);
    memset(line, 0, sizeof line);
    return s;
}

/* --secret-key-file, when no --secret-key was given, wins over what the
 * environment or a profile said. */
static int apply_secret_key_file(const cli_opts *o, cli_settings *s)
{
    if (o->secret_key || !o->secret_key_file) return 0;
    char *k = read_secret_file(o->secret_key_file);
    if (!k) {
        cli_settings_free(s);
        return EXIT_USAGE;
    }
    free(s->secret_key);
    s->secret_key = k;
    return 0;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

/* An AWS shared file: $ENV, else ~/NAME. */
static const char *aws_file(const char *env, const char *name, char *buf, size_t n)
{
    const char *p = getenv(env);
    if (p && *p) return p;
    const char *home = getenv("HOME");
    if (!home) return NULL;
    snprintf(buf, n, "%s/%s", home, name);
    return buf;
}

/* s3:// settings, as aws-cli finds them: flags, then AWS_* variables, then
 * the profile (AWS_PROFILE or --profile, which beats the environment) of
 * ~/.aws/credentials and ~/.aws/config, then their [default]. */
static int resolve_s3(const cli_opts *o, cli_settings *s)
{
    const char *env_profile = getenv("AWS_PROFILE");
    if (env_profile && !*env_profile) env_profile = NULL;
    const char *profile = o->profile ? o->profile : env_profile;
    char cbuf[1024], kbuf[1024];
    const char *cred_path = aws_file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials", kbuf, sizeof kbuf);
    const char *conf_path = aws_file("AWS_CONFIG_FILE", ".aws/config", cbuf, sizeof cbuf);
    ini cred, conf;
    ini_load(cred_path, &cred);
    ini_load(conf_path, &conf);
    if (profile && strcmp(profile, "default") != 0 && !ini_has(&cred, profile) && !ini_has(&conf, profile)) {
        fprintf(stderr, "cos: profile '%s' not found in %s or %s\n", profile, cred_path ? cred_path : "~/.aws/credentials",
                conf_path ? conf_path : "~/.aws/config");
        ini_free(&cred);
        ini_free(&conf);
        return EXIT_USAGE;
    }
    if (profile && !strcmp(profile, "default")) profile = NULL;
    s->profile = dup_or_null(profile);
    struct { char **out; const char *flag, *env, *env2, *name; } F[] = {
        { &s->secret_id, o->secret_id, "AWS_ACCESS_KEY_ID", NULL, "aws_access_key_id" },
        { &s->secret_key, o->secret_key, "AWS_SECRET_ACCESS_KEY", NULL, "aws_secret_access_key" },
        { &s->token, o->token, "AWS_SESSION_TOKEN", NULL, "aws_session_token" },
        { &s->region, o->region, "AWS_REGION", "AWS_DEFAULT_REGION", "region" },
        { &s->endpoint, o->endpoint, "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "endpoint_url" },
        { &s->path_style, o->path_style ? "true" : NULL, "COS_PATH_STYLE", NULL, "path_style" },
    };
    for (size_t i = 0; i < sizeof F / sizeof F[0]; i++) {
        const char *v = F[i].flag;
        const char *env = getenv(F[i].env);
        if ((!env || !*env) && F[i].env2) env = getenv(F[i].env2);
        if (env && !*env) env = NULL;
        const char *in_profile = NULL, *in_default = NULL;
        if (profile) in_profile = ini_get(&cred, profile, F[i].name);
        if (profile && !in_profile) in_profile = ini_get(&conf, profile, F[i].name);
        in_default = ini_get(&cred, "default", F[i].name);
        if (!in_default) in_default = ini_get(&conf, "default", F[i].name);
        if (!v && o->profile) v = in_profile;
        if (!v) v = env;
        if (!v) v = in_profile;
        if (!v) v = in_default;
        *F[i].out = dup_or_null(v);
    }
    ini_free(&cred);
    ini_free(&conf);
    if (!s->region) s->region = strdup("us-east-1");
    return apply_secret_key_file(o, s);
}

int cli_resolve(const cli_opts *o, cli_settings *s)
{
    memset(s, 0, sizeof *s);
    if (cli_s3) return resolve_s3(o, s);
    const char *env_profile = getenv("COS_PROFILE");
    if (env_profile && !*env_profile) env_profile = NULL;
    const char *profile = o->profile ? o->profile : env_profile;
    char pbuf[1024];
    const char *path = cli_config_path(pbuf, sizeof pbuf);
    ini f;
    ini_load(path, &f);
    if (profile && strcmp(profile, "default") != 0 && !ini_has(&f, profile)) {
        fprintf(stderr, "cos: profile '%s' not found in %s", profile, path ? path : "~/.config/cos/config");
        if (f.nsections) {
            fprintf(stderr, " (profiles there:");
            for (size_t i = 0; i < f.nsections; i++) fprintf(stderr, " %s", f.sections[i]);
            fprintf(stderr, ")");
        }
        fprintf(stderr, "; `cos config --profile %s` writes it\n", profile);
        ini_free(&f);
        return EXIT_USAGE;
    }
    if (profile && !strcmp(profile, "default")) profile = NULL;
    s->profile = dup_or_null(profile);
    /* an explicit --profile beats the environment (as in aws-cli); COS_PROFILE does not */
    struct { char **out; const char *flag, *env, *name; } F[] = {
        { &s->secret_id, o->secret_id, "COS_SECRET_ID", "secret_id" },
        { &s->secret_key, o->secret_key, "COS_SECRET_KEY", "secret_key" },
        { &s->token, o->token, "COS_SECURITY_TOKEN", "security_token" },
        { &s->region, o->region, "COS_REGION", "region" },
        { &s->endpoint, o->endpoint, "COS_ENDPOINT", "endpoint" },
        { &s->path_style, o->path_style ? "true" : NULL, "COS_PATH_STYLE", "path_style" },
    };
    for (size_t i = 0; i < sizeof F / sizeof F[0]; i++) {
        const char *v = F[i].flag;
        const char *env = getenv(F[i].env);
        if (env && !*env) env = NULL;
        if (!v && o->profile) v = ini_get(&f, profile, F[i].name);
        if (!v) v = env;
        if (!v && profile) v = ini_get(&f, profile, F[i].name);
        if (!v) v = ini_get(&f, "default", F[i].name);
        *F[i].out = dup_or_null(v);
    }
    ini_free(&f);
    return apply_secret_key_file(o, s);
}

void cli_settings_free(cli_settings *s)
{
    if (s->secret_key) memset(s->secret_key, 0, strlen(s->secret_key));
    free(s->secret_id);
    free(s->secret_key);
    free(s->token);
    free(s->region);
    free(s->endpoint);
    free(s->path_style);
    free(s->profile);
    memset(s, 0, sizeof *s);
}

/* Whether an endpoint without a scheme ("HOST[:PORT]") names this machine.
 * Only there is plain http the default: elsewhere it would send signed
 * requests and the data in the clear to whoever sits on the way. */
static bool loopback_endpoint(const char *ep)
{
    char host[256];
    size_t n;
    if (ep[0] == '[') { /* [::1]:9000 */
        n = strcspn(ep + 1, "]");
        if (n >= sizeof host) return false;
        memcpy(host, ep + 1, n);
    } else {
        n = strcspn(ep, ":/");
        if (n >= sizeof host) return false;
        memcpy(host, ep, n);
    }
    host[n] = '\0';
    if (!strcasecmp(host, "localhost") || !strcmp(host, "::1")) return true;
    unsigned a, b, c, d;
    char extra;
    return sscanf(host, "%u.%u.%u.%u%c", &a, &b, &c, &d, &extra) == 4 && a == 127 && b < 256 && c < 256 && d < 256;
}

int cli_endpoint_refused(const char *ep)
{
    const char *s = strstr(ep, "://");
    const char *h = s ? s + 3 : ep;
    const char *why = NULL;
    if (strchr(ep, '@')) /* "user:password@host": COS takes neither there; the value goes to no terminal or log */
        why = "has an '@' (a user or password: not shown); the keys go in --secret-id/--secret-key or the profile";
    else if (s && !(s - ep == 4 && !strncasecmp(ep, "http", 4)) && !(s - ep == 5 && !strncasecmp(ep, "https", 5)))
        why = "has a scheme other than http:// or https://";
    else if (!*h || strpbrk(h, "/?#"))
        why = "has a path, a query or no host";
    if (!why) return 0;
    if (strchr(ep, '@')) fprintf(stderr, "cos: the endpoint %s\n", why);
    else { /* a query may hold a token: not shown either */
        char shown[512];
        snprintf(shown, sizeof shown, "%.*s", (int)strcspn(ep, "?#"), ep);
        fprintf(stderr, "cos: the endpoint \"%s%s\" %s: give HOST[:PORT] or http(s)://HOST[:PORT]\n",
                cli_shown(stderr, shown), ep[strcspn(ep, "?#")] ? "..." : "", why);
    }
    return EXIT_USAGE;
}

int cli_client(const cli_opts *o, const cli_settings *s, bool for_urls, cos_client **out)
{
    cos_config cfg;
    cos_config_init(&cfg);
    cfg.secret_id = s->secret_id;
    cfg.secret_key = s->secret_key;
    cfg.security_token = s->token;
    cfg.region = s->region ? s->region : "ap-guangzhou";
    const char *ps = s->path_style;
    cfg.force_path_style = ps && (!strcmp(ps, "1") || !strcasecmp(ps, "true") || !strcasecmp(ps, "yes"));
    const char *endpoint = s->endpoint;
    char endpoint_buf[512];
    if (endpoint && *endpoint) {
        /* "http://host:9000/" as AWS_ENDPOINT_URL often is: no trailing slash in a host */
        snprintf(endpoint_buf, sizeof endpoint_buf, "%s", endpoint);
        size_t n = strlen(endpoint_buf);
        while (n && endpoint_buf[n - 1] == '/') endpoint_buf[--n] = '\0';
        endpoint = endpoint_buf;
        int bad = cli_endpoint_refused(endpoint);
        if (bad) return bad;
    }
    char s3_endpoint[520];
    if (cli_s3) {
        /* the S3 dialect (SigV4, x-amz-* names, ListObjectsV2, S3's part
           rules); libcos addresses the bucket by the endpoint: path-style
           for an IP or localhost (or with --path-style), virtual-hosted
           otherwise; without one, COS's own S3 API by its names */
        cfg.dialect = COS_DIALECT_S3;
        if (endpoint && *endpoint) {
            bool scheme = !strncmp(endpoint, "http://", 7) || !strncmp(endpoint, "https://", 8);
            snprintf(s3_endpoint, sizeof s3_endpoint, "%s%s",
                     scheme ? "" : loopback_endpoint(endpoint) ? "http://" : "https://", endpoint);
            cfg.endpoint = s3_endpoint;
        }
    } else if (endpoint && *endpoint) {
        cfg.protocol = loopback_endpoint(endpoint) ? "http:" : "https:"; /* without a scheme */
        if (!strncmp(endpoint, "https://", 8)) {
            cfg.protocol = "https:";
            endpoint += 8;
        } else if (!strncmp(endpoint, "http://", 7)) {
            cfg.protocol = "http:";
            endpoint += 7;
        }
        if (for_urls) {
            /* a URL handed to someone else must name the endpoint itself, so the
             * bucket goes in the path */
            cfg.domain = endpoint;
            cfg.service_domain = endpoint;
            cfg.force_path_style = true;
        } else {
            /* connect there, keep the virtual-hosted names (or path style) */
            cfg.connect_to = endpoint;
        }
    }
    if (o->parallel > 0) cfg.chunk_parallel_limit = o->parallel;
    cfg.file_parallel_limit = 8; /* the files a tree operation keeps in flight (xfer.c) */
    if (o->chunk_size) cfg.chunk_size = o->chunk_size;
    cfg.progress_interval_ms = 200;
    cfg.simple_upload_method = COS_SIMPLE_UPLOAD_PUT;
    if ((!cfg.secret_id || !cfg.secret_key) && cli_s3) {
        fprintf(stderr, "cos: no credentials for s3://%s%s%s: set --secret-id with --secret-key (or --secret-key-file), "
                        "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or aws_access_key_id/aws_secret_access_key in "
                        "~/.aws/credentials\n",
                s->profile ? " (profile '" : "", s->profile ? s->profile : "", s->profile ? "')" : "");
        return EXIT_AUTH;
    }
    if (!cfg.secret_id || !cfg.secret_key) {
        fprintf(stderr, "cos: no credentials%s%s%s: set --secret-id with --secret-key (or --secret-key-file), "
                        "COS_SECRET_ID/COS_SECRET_KEY, or secret_id/secret_key in ~/.config/cos/config "
                        "(`cos config` writes it)\n",
                s->profile ? " in profile '" : "", s->profile ? s->profile : "", s->profile ? "' or [default]" : "");
        return EXIT_AUTH;
    }
    cos_error *err = NULL;
    int rc = cos_client_new(out, &cfg, &err);
    if (rc) return cli_fail("configuration", rc, err);
    return 0;
}



int cli_fail(const char *what, int rc, cos_error *err)
{
    cli_meter_clear();
    const char *code = err && err->code ? err->code : NULL;
    /* the code, message and request id come from the server; `what` may hold a key */
    if (code)
        fprintf(stderr, "cos: %s: %s: %s (request id %s)\n", cli_shown(stderr, what), cli_shown(stderr, code),
                cli_shown(stderr, cos_error_message(err)), cli_shown(stderr, err->request_id ? err->request_id : "-"));
    else
        fprintf(stderr, "cos: %s: %s\n", cli_shown(stderr, what),
                cli_shown(stderr, err ? cos_error_message(err) : cos_error_kind_name((cos_error_kind)rc)));
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

/* The length of the UTF-8 sequence at p and its code point, or 0 when p
 * starts no valid one. */
static size_t utf8_at(const unsigned char *p, uint32_t *cp)
{
    size_t n = p[0] >= 0xf0 && p[0] <= 0xf4 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 && p[0] < 0xe0 ? 2 : 0;
    if (!n || p[0] > 0xf4) return 0;
    uint32_t v = p[0] & (0xff >> (n + 1));
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) return 0;
        v = v << 6 | (p[i] & 0x3f);
    }
    if ((n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10ffff)) || (v >= 0xd800 && v <= 0xdfff)) return 0;
    *cp = v;
    return n;
}

/* Invisible characters that reorder or hide text on a terminal:
 * bidirectional overrides, embeddings, isolates and marks
 * ("invoice<U+202E>fdp.exe" shows as "invoiceexe.pdf", Trojan Source), the
 * line and paragraph separators, and the zero-width ones that make two
 * different keys look the same (soft hyphen, zero-width space and joiners,
 * word joiner, byte order mark). */
static bool reorders_text(uint32_t cp)
{
    return cp == 0x00ad || cp == 0x061c || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
           (cp >= 0x2060 && cp <= 0x2069) || cp == 0xfeff;
}

const char *cli_shown(FILE *f, const char *s)
{
    static _Thread_local char *slots[8];
    static _Thread_local unsigned next;
    if (!s) return s;
    const unsigned char *p = (const unsigned char *)s;
    bool clean = true;
    for (size_t i = 0; p[i] && clean; i++) clean = p[i] >= 0x20 && p[i] < 0x7f;
    /* the common case, printable ASCII, first: asking for the terminal is a
       system call (two per file of a cp -r's report) */
    if (clean || !isatty(fileno(f))) return s;
    char *out = malloc(strlen(s) * 6 + 1);
    if (!out) return "?";
    size_t o = 0;
    while (*p) {
        uint32_t cp = 0;
        size_t n = *p >= 0x80 ? utf8_at(p, &cp) : 1;
        if (*p < 0x20 || *p == 0x7f || !n) {
            o += (size_t)sprintf(out + o, "\\x%02x", *p);
            p++;
        } else if (n > 1 && (cp < 0xa0 || reorders_text(cp))) { /* C1 controls: CSI (U+009B) and the like */
            o += (size_t)sprintf(out + o, "\\u%04x", (unsigned)cp);
            p += n;
        } else {
            memcpy(out + o, p, n);
            o += n;
            p += n;
        }
    }
    out[o] = '\0';
    unsigned i = next++ % (sizeof slots / sizeof *slots);
    free(slots[i]);
    slots[i] = out;
    return out;
}

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

void json_str(const char *s)
{
    if (!s) { /* absent, as opposed to empty */
        fputs("null", stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') printf("\\%c", ch);
        else if (ch == '\n') fputs("\\n", stdout);
        else if (ch == '\r') fputs("\\r", stdout);
        else if (ch == '\t') fputs("\\t", stdout);
        else if (ch < 0x20 || ch == 0x7f) printf("\\u%04x", ch);
        else if (ch < 0x80) putchar(ch);
        else {
            /* JSON is UTF-8: a byte that is no UTF-8 (a file name in another
               encoding) is written as Python's surrogateescape does, \udcXX,
               which JSON parsers accept and os.fsencode turns back into it */
            uint32_t cp;
            size_t n = utf8_at((const unsigned char *)s, &cp);
            if (!n) printf("\\udc%02x", ch);
            else {
                fwrite(s, 1, n, stdout);
                s += n - 1;
            }
        }
    }
    putchar('"');
}

/* ------------------------------------------------------------------ progress */

/* One line for a whole command: files done of all, bytes done of all, speed.
 * Transfer callbacks run on worker threads, hence the lock. */
static struct {
    pthread_mutex_t mu;
    bool on, drawn;
    int files, done;
    uint64_t bytes, bytes_done;
    uint64_t loaded[CLI_METER_SLOTS]; /* of each transfer in flight */
    struct timespec start;
} M = { .mu = PTHREAD_MUTEX_INITIALIZER };

static double since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static void meter_draw_locked(void)
{
    char done[32], total[32], speed[32];
    uint64_t d = M.bytes_done;
    for (int i = 0; i < CLI_METER_SLOTS; i++) d += M.loaded[i];
    double secs = since(&M.start);
    cli_human(d, done);
    cli_human(M.bytes, total);
    cli_human(secs > 0 ? (uint64_t)((double)d / secs) : 0, speed);
    fprintf(stderr, "\r%d/%d files, %s of %s, %s/s   ", M.done, M.files, done, total, speed);
    fflush(stderr);
    M.drawn = true;
}

void cli_meter_start(const cli_opts *o, int files, uint64_t bytes)
{
    pthread_mutex_lock(&M.mu);
    M.on = !o->quiet && cli_tty();
    M.files = files;
    M.done = 0;
    M.bytes = bytes;
    M.bytes_done = 0;
    memset(M.loaded, 0, sizeof M.loaded);
    clock_gettime(CLOCK_MONOTONIC, &M.start);
    pthread_mutex_unlock(&M.mu);
}

void cli_meter_progress(void *ud, const cos_progress *p)
{
    uintptr_t slot = (uintptr_t)ud;
    pthread_mutex_lock(&M.mu);
    if (slot < CLI_METER_SLOTS) M.loaded[slot] = p->loaded;
    if (M.on) meter_draw_locked();
    pthread_mutex_unlock(&M.mu);
}

void cli_meter_file_done(int slot, uint64_t bytes)
{
    pthread_mutex_lock(&M.mu);
    M.done++;
    M.bytes_done += bytes;
    if (slot >= 0 && slot < CLI_METER_SLOTS) M.loaded[slot] = 0;
    if (M.on) meter_draw_locked();
    pthread_mutex_unlock(&M.mu);
}

/* Take the line off the screen so that a result can be printed; the next
 * progress report draws it again below. */
void cli_meter_clear(void)
{
    pthread_mutex_lock(&M.mu);
    if (M.drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    M.drawn = false;
    pthread_mutex_unlock(&M.mu);
}

static void meter_redraw(void)
{
    pthread_mutex_lock(&M.mu);
    if (M.on && M.done < M.files) meter_draw_locked();
    pthread_mutex_unlock(&M.mu);
}

void cli_meter_end(void)
{
    pthread_mutex_lock(&M.mu);
    if (M.drawn) {
        fputs("\r\033[K", stderr); /* erase the line: results follow on stdout */
        fflush(stderr);
    }
    M.drawn = false;
    M.on = false;
    pthread_mutex_unlock(&M.mu);
}

/* ------------------------------------------------------------------ report */

static struct {
    bool json, quiet, verbose, dryrun, summary, begun, first;
    const char *cmd;
    uint64_t transferred, bytes, unchanged, deleted, failed, moved;
} R;

void cli_report_begin(const cli_opts *o)
{
    memset(&R, 0, sizeof R);
    R.json = o->json;
    R.quiet = o->quiet;
    R.verbose = o->verbose;
    R.dryrun = o->dryrun;
    R.cmd = o->cmd;
    R.summary = o->recursive || !strcmp(o->cmd, "sync");
    R.begun = R.first = true;
    if (R.json) {
        printf("{\"command\":");
        json_str(o->cmd);
        printf(",\"dryrun\":%s,\"items\":[", o->dryrun ? "true" : "false");
    }
}

static void json_item(const char *action, const char *src, const char *dst, uint64_t size, const char *code,
                      const char *message)
{
    printf("%s{\"action\":", R.first ? "" : ",");
    json_str(action);
    /* every field docs/cli.md names is present, null where it does not apply or is unknown,
       so a consumer reads one shape */
    printf(",\"source\":");
    json_str(src);
    printf(",\"destination\":");
    json_str(dst);
    if (strcmp(action, "error") != 0 && strcmp(action, "delete") != 0)
        printf(",\"size\":%llu", (unsigned long long)size);
    else printf(",\"size\":null");
    printf(",\"code\":");
    json_str(code);
    printf(",\"message\":");
    json_str(message);
    printf("}");
    R.first = false;
}

void cli_report_item(const char *action, const char *src, const char *dst, uint64_t size, const char *code,
                     const char *message)
{
    bool is_error = !strcmp(action, "error");
    if (is_error) R.failed++;
    else if (!strcmp(action, "delete")) R.deleted++;
    else if (!strcmp(action, "skip")) R.unchanged++;
    else if (!strcmp(action, "move")) { /* copied, then its source removed */
        R.moved++;
        R.transferred++;
        R.bytes += size;
        R.deleted++;
    } else {
        R.transferred++;
        R.bytes += size;
    }
    cli_meter_clear();
    if (is_error) {
        fprintf(stderr, "cos: %s: %s%s%s: %s%s%s\n", R.cmd, cli_shown(stderr, src ? src : ""), dst ? " -> " : "",
                cli_shown(stderr, dst ? dst : ""), cli_shown(stderr, code ? code : ""), code ? ": " : "",
                cli_shown(stderr, message ? message : "failed"));
    }
    if (R.json) {
        json_item(action, src, dst, size, code, message);
        return;
    }
    if (is_error || R.quiet) return;
    if (!strcmp(action, "skip") && !R.verbose) return;
    printf("%s%s: %s%s%s\n", R.dryrun ? "(dryrun) " : "", action, cli_shown(stdout, src ? src : ""), dst ? " -> " : "",
           cli_shown(stdout, dst ? dst : ""));
    fflush(stdout);
    meter_redraw();
}

void cli_report_failure(const char *src, const char *dst, const cos_error *err)
{
    R.failed++;
    if (R.json)
        json_item("error", src, dst, 0, err && err->code ? err->code : err ? cos_error_kind_name(err->kind) : NULL,
                  err ? cos_error_message(err) : "failed");
}

void cli_report_count(const char *field, uint64_t n)
{
    if (!strcmp(field, "failed")) R.failed += n;
    else if (!strcmp(field, "unchanged")) R.unchanged += n;
}

int cli_report_end(int rc)
{
    if (!R.begun) return rc;
    R.begun = false;
    cli_meter_end();
    if (!rc && R.failed) rc = EXIT_FAIL;
    if (R.json) {
        printf("],\"transferred\":%llu,\"bytes\":%llu,\"unchanged\":%llu,\"deleted\":%llu,\"failed\":%llu,"
               "\"moved\":%llu,\"exit_code\":%d}\n",
               (unsigned long long)R.transferred, (unsigned long long)R.bytes, (unsigned long long)R.unchanged,
               (unsigned long long)R.deleted, (unsigned long long)R.failed, (unsigned long long)R.moved, rc);
    } else if (R.summary && !R.quiet && !strcmp(R.cmd, "mv")) {
        char h[32];
        cli_human(R.bytes, h);
        printf("%smv: %llu moved (%s), %llu copied but not removed, %llu unchanged, %llu failed\n",
               R.dryrun ? "(dryrun) " : "", (unsigned long long)R.moved, h,
               (unsigned long long)(R.transferred - R.moved), (unsigned long long)R.unchanged,
               (unsigned long long)R.failed);
    } else if (R.summary && !R.quiet && !strcmp(R.cmd, "rm")) {
        printf("%srm: %llu deleted, %llu failed\n", R.dryrun ? "(dryrun) " : "", (unsigned long long)R.deleted,
               (unsigned long long)R.failed);
    } else if (R.summary && !R.quiet) {
        char h[32];
        cli_human(R.bytes, h);
        printf("%s%s: %llu transferred (%s), %llu unchanged, %llu deleted, %llu failed\n", R.dryrun ? "(dryrun) " : "",
               R.cmd, (unsigned long long)R.transferred, h, (unsigned long long)R.unchanged,
               (unsigned long long)R.deleted, (unsigned long long)R.failed);
    }
    fflush(stdout);
    return rc;
}

/* ------------------------------------------------------------------ listing */

/* After this many truncated pages in a row with nothing in them, a listing is
 * not going anywhere (a server can advance the marker forever without
 * returning a key). */
#define EMPTY_PAGES_LIMIT 100

int cli_list(cos_client *c, const char *what, const char *bucket, const char *prefix, const char *delimiter,
             cli_page_fn fn, void *ud)
{
    char *marker = NULL;
    int empty_pages = 0, rc = 0;
    bool warned = false;
    size_t plen = strlen(prefix ? prefix : "");
    for (;;) {
        if (cli_interrupted) {
            rc = EXIT_PAUSED;
            break;
        }
        cos_request r = COS_REQUEST_INIT;
        r.bucket = bucket;
        r.prefix = prefix;
        r.delimiter = delimiter;
        r.marker = marker;
        r.max_keys = 1000;
        r.encoding_type = "url"; /* keys with control characters (\r) survive XML */
        cos_result *res = NULL;
        cos_error *err = NULL;
        int e = cos_get_bucket(c, &r, &res, &err);
        if (e) {
            rc = cli_fail(what, e, err);
            break;
        }
        cos_list_objects_result *l = res->output.list_objects;
        if (!l) {
            cos_result_free(res);
            break;
        }
        size_t all = l->contents_count;
        const char *last_key = all ? l->contents[all - 1].key : NULL; /* before any reordering */
        /* never act on what lies outside the prefix, whatever a server sends */
        size_t keep = 0;
        for (size_t i = 0; i < l->contents_count; i++) {
            if (l->contents[i].key && !strncmp(l->contents[i].key, prefix ? prefix : "", plen)) {
                if (keep != i) {
                    cos_object_summary t = l->contents[keep];
                    l->contents[keep] = l->contents[i];
                    l->contents[i] = t;
                }
                keep++;
            } else if (!warned) {
                fprintf(stderr, "cos: %s: the server listed '%s', outside the prefix '%s'; ignored\n", what,
                        cli_shown(stderr, l->contents[i].key ? l->contents[i].key : ""),
                        cli_shown(stderr, prefix ? prefix : ""));
                warned = true;
            }
        }
        l->contents_count = keep; /* the rest stay allocated and are freed with the result */
        rc = fn(ud, l);
        l->contents_count = all;
        const char *next = NULL;
        if (!rc && l->is_truncated) {
            next = l->next_marker && *l->next_marker ? l->next_marker
                   : last_key ? last_key
                   : l->common_prefixes_count ? l->common_prefixes[l->common_prefixes_count - 1].prefix : NULL;
            if (!next || (marker && strcmp(next, marker) <= 0)) {
                cli_meter_end();
                fprintf(stderr, "cos: %s: the listing of %s%s/%s did not advance (truncated, next marker '%s' "
                                "after '%s'); stopped\n",
                        what, CLI_SCHEME, bucket, prefix ? prefix : "", next ? next : "", marker ? marker : "");
                rc = EXIT_FAIL;
            } else if (all == 0 && l->common_prefixes_count == 0 && ++empty_pages >= EMPTY_PAGES_LIMIT) {
                cli_meter_end();
                fprintf(stderr, "cos: %s: %d truncated pages in a row listed nothing; stopped\n", what,
                        EMPTY_PAGES_LIMIT);
                rc = EXIT_FAIL;
            } else {
                if (all || l->common_prefixes_count) empty_pages = 0;
                free(marker);
                marker = strdup(next);
            }
        }
        bool more = !rc && l->is_truncated;
        cos_result_free(res);
        if (!more) break;
    }
    free(marker);
    return rc;
}

/* ------------------------------------------------------------------ bulk delete */

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int cli_delete_keys(cos_client *c, const cli_opts *o, const char *bucket, char **keys, size_t n, bool *stalled)
{
    *stalled = false;
    char url[1200];
    bool failed = false;
    for (size_t off = 0; off < n; off += 1000) {
        size_t m = n - off < 1000 ? n - off : 1000;
        if (o->dryrun) {
            for (size_t i = 0; i < m; i++) {
                snprintf(url, sizeof url, "%s%s/%s", CLI_SCHEME, bucket, keys[off + i]);
                cli_report_item("delete", url, NULL, 0, NULL, NULL);
            }
            continue;
        }
        if (cli_interrupted) return EXIT_PAUSED;
        cos_object_id *ids = calloc(m, sizeof *ids);
        char **sorted = malloc(m * sizeof *sorted);
        bool *seen = calloc(m, sizeof *seen);
        if (!ids || !sorted || !seen) {
            free(ids);
            free(sorted);
            free(seen);
            fprintf(stderr, "cos: %s: out of memory\n", o->cmd);
            return EXIT_FAIL;
        }
        for (size_t i = 0; i < m; i++) ids[i].key = sorted[i] = keys[off + i];
        qsort(sorted, m, sizeof *sorted, cmp_str);
        cos_delete_request dr = { false, ids, m }; /* not quiet: what was deleted is checked */
        cos_request d = COS_REQUEST_INIT;
        d.bucket = bucket;
        d.input.delete_objects = &dr;
        cos_result *res = NULL;
        cos_error *err = NULL;
        int rc = cos_delete_multiple_object(c, &d, &res, &err);
        free(ids);
        if (rc) {
            free(sorted);
            free(seen);
            return cli_fail(o->cmd, rc, err);
        }
        cos_delete_result *dres = res->output.deleted;
        size_t deleted = 0;
        for (size_t i = 0; dres && i < dres->deleted_count; i++) {
            const char *k = dres->deleted[i].key ? dres->deleted[i].key : "";
            char **hit = bsearch(&k, sorted, m, sizeof *sorted, cmp_str);
            if (!hit || seen[hit - sorted]) continue; /* not asked for, or told twice */
            seen[hit - sorted] = true;
            deleted++;
            snprintf(url, sizeof url, "%s%s/%s", CLI_SCHEME, bucket, k);
            cli_report_item("delete", url, NULL, 0, NULL, NULL);
        }
        for (size_t i = 0; dres && i < dres->errors_count; i++) {
            const char *k = dres->errors[i].key ? dres->errors[i].key : "";
            char **hit = bsearch(&k, sorted, m, sizeof *sorted, cmp_str);
            if (hit) seen[hit - sorted] = true;
            snprintf(url, sizeof url, "%s%s/%s", CLI_SCHEME, bucket, k);
            cli_report_item("error", url, NULL, 0, dres->errors[i].code ? dres->errors[i].code : "Error",
                            dres->errors[i].message ? dres->errors[i].message : "not deleted");
        }
        for (size_t i = 0; i < m; i++)
            if (!seen[i]) {
                snprintf(url, sizeof url, "%s%s/%s", CLI_SCHEME, bucket, sorted[i]);
                cli_report_item("error", url, NULL, 0, "NotConfirmed", "the server did not report this key deleted");
            }
        if (dres && dres->errors_count) failed = true;
        cos_result_free(res);
        free(sorted);
        free(seen);
        if (deleted == 0) {
            fprintf(stderr, "cos: %s: a bulk delete of %zu keys deleted none; stopped\n", o->cmd, m);
            *stalled = true;
            return EXIT_FAIL;
        }
    }
    return failed ? EXIT_FAIL : 0;
}

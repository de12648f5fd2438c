/*
 * config.c — `cos config`: ask for a profile's values and write them into
 * ~/.config/cos/config (or $COS_CONFIG), keeping every other section, with
 * the file private (0600) and replaced atomically.
 */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

/* The value of `name` in `section` of the file, or NULL (owned by the caller). */
static char *current_value(const char *path, const char *section, const char *name)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    char *line = NULL, cur[256] = "";
    size_t line_cap = 0;
    char *found = NULL;
    while (getline(&line, &line_cap, f) > 0) {
        char *l = line;
        while (*l == ' ' || *l == '\t') l++;
        l[strcspn(l, "\r\n")] = '\0';
        if (*l == '[') {
            char *e = strchr(l, ']');
            if (e) *e = '\0';
            const char *s = l + 1;
            if (!strncmp(s, "profile ", 8)) s += 8;
            snprintf(cur, sizeof cur, "%s", s);
            continue;
        }
        char *eq = strchr(l, '=');
        if (!eq || strcmp(cur, section) != 0) continue;
        *eq = '\0';
        char *k = l, *v = eq + 1;
        size_t kl = strlen(k);
        while (kl && (k[kl - 1] == ' ' || k[kl - 1] == '\t')) k[--kl] = '\0';
        while (*v == ' ' || *v == '\t') v++;
        if (!strcmp(k, name)) {
            free(found);
            found = strdup(v);
        }
    }
    free(line);
    fclose(f);
    return found;
}

/* One answer from standard input; on a terminal a secret is not echoed.
 * The prompt shows no character of a current secret (its last four went to
 * the terminal, and to any log of the session: secrets never reach a log),
 * and the other values of the file with their control characters escaped. */
static char *ask(const char *prompt, const char *current, bool secret)
{
    bool tty = isatty(STDIN_FILENO);
    if (tty) {
        if (secret) fprintf(stderr, "%s [%s]: ", prompt, current && *current ? "set, not shown" : "");
        else fprintf(stderr, "%s [%s]: ", prompt, current ? cli_shown(stderr, current) : "");
    }
    struct termios old, quiet;
    bool noecho = tty && secret && tcgetattr(STDIN_FILENO, &old) == 0;
    if (noecho) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    char line[1024] = "";
    char *ok = fgets(line, sizeof line, stdin);
    if (noecho) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    line[strcspn(line, "\r\n")] = '\0';
    char *v = line;
    while (*v == ' ' || *v == '\t') v++;
    size_t n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t')) v[--n] = '\0';
    /* empty (or end of input) keeps what was there */
    char *out = strdup(ok && *v ? v : current ? current : "");
    explicit_bzero(line, sizeof line);
    return out;
}

static bool section_is(const char *line, const char *section)
{
    const char *l = line;
    while (*l == ' ' || *l == '\t') l++;
    if (*l != '[') return false;
    l++;
    if (!strncmp(l, "profile ", 8)) l += 8;
    size_t n = strlen(section);
    return !strncmp(l, section, n) && l[n] == ']';
}

static int mkdir_parents(const char *path)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0700) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return 0;
}

/* The file with this profile's section replaced by names[i] = val[i]
 * (empty values left out), written to a private temporary and renamed over
 * it. */
static int write_profile(const char *path, const char *section, const char *const names[4], char *const val[4])
{
    if (mkdir_parents(path) != 0) {
        fprintf(stderr, "cos: config: cannot create the directory of %s: %s\n", path, strerror(errno));
        return EXIT_FAIL;
    }
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    mode_t old_mask = umask(077);
    FILE *out = fopen(tmp, "w");
    umask(old_mask);
    if (!out) {
        fprintf(stderr, "cos: config: cannot write %s: %s\n", tmp, strerror(errno));
        return EXIT_FAIL;
    }
    /* everything but this profile's section, as it was */
    FILE *in = fopen(path, "r");
    bool skipping = false;
    /* whole lines (getline): fgets cut a line over 4 KiB in two, and the
       newline added after the first half broke another profile's long
       security_token in two lines */
    char *line = NULL;
    size_t line_cap = 0;
    while (in && getline(&line, &line_cap, in) > 0) {
        const char *l = line;
        while (*l == ' ' || *l == '\t') l++;
        if (*l == '[') skipping = section_is(line, section);
        if (!skipping) fputs(line, out);
        if (!skipping && line[strlen(line) - 1] != '\n') fputc('\n', out);
    }
    free(line);
    if (in) fclose(in);
    if (strcmp(section, "default") != 0) fprintf(out, "[profile %s]\n", section);
    else fprintf(out, "[default]\n");
    for (int i = 0; i < 4; i++)
        if (val[i][0]) fprintf(out, "%s = %s\n", names[i], val[i]);
    bool ok = fflush(out) == 0 && fsync(fileno(out)) == 0;
    ok = fclose(out) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "cos: config: cannot write %s: %s\n", path, strerror(errno));
        unlink(tmp);
        return EXIT_FAIL;
    }
    return 0;
}

int cmd_config(const cli_opts *o)
{
    if (o->nargs) {
        fprintf(stderr, "usage: cos config [--profile NAME]\n");
        return EXIT_USAGE;
    }
    char buf[1024];
    const char *path = cli_config_path(buf, sizeof buf);
    if (!path) {
        fprintf(stderr, "cos: config: no HOME and no COS_CONFIG\n");
        return EXIT_FAIL;
    }
    /* A config that is a symlink (a dotfiles checkout) is rewritten where it
       points: renaming over the link replaced it with a file of its own,
       and the file it named never saw the change */
    struct stat lst;
    char *resolved = NULL;
    if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
        if (!(resolved = realpath(path, NULL))) {
            fprintf(stderr, "cos: config: %s is a symlink that cannot be followed: %s\n", path, strerror(errno));
            return EXIT_FAIL;
        }
        snprintf(buf, sizeof buf, "%s", resolved);
        free(resolved);
        path = buf;
    }
    const char *section = o->profile ? o->profile : "default";
    if (!*section || strpbrk(section, "[]\n\r")) {
        fprintf(stderr, "cos: config: '%s' is not a profile name\n", section);
        return EXIT_USAGE;
    }
    static const struct { const char *name, *prompt; bool secret; } F[] = {
        { "secret_id", "SecretId", false },
        { "secret_key", "SecretKey", true },
        { "region", "Region (e.g. ap-guangzhou)", false },
        { "endpoint", "Endpoint (HOST:PORT of a local server; empty for COS)", false },
    };
    char *val[4];
    for (int i = 0; i < 4; i++) {
        char *cur = current_value(path, section, F[i].name);
        /* an endpoint with "user:password@" in it is not shown either */
        bool secret = F[i].secret || (i == 3 && cur && strchr(cur, '@'));
        val[i] = ask(F[i].prompt, cur, secret);
        if (cur && secret) explicit_bzero(cur, strlen(cur));
        free(cur);
        if (!val[i]) {
            for (int j = 0; j < i; j++) free(val[j]);
            return EXIT_FAIL;
        }
    }
    int bad = *val[3] ? cli_endpoint_refused(val[3]) : 0; /* written, it would fail every command */
    if (bad) {
        explicit_bzero(val[1], strlen(val[1]));
        explicit_bzero(val[3], strlen(val[3]));
        for (int i = 0; i < 4; i++) free(val[i]);
        return bad;
    }
    /* --dryrun: asked, and nothing written (it rewrote the file) */
    const char *names[4] = { F[0].name, F[1].name, F[2].name, F[3].name };
    int wrc = o->dryrun ? 0 : write_profile(path, section, names, val);
    for (int i = 0; i < 4; i++) {
        if (F[i].secret) explicit_bzero(val[i], strlen(val[i]));
        free(val[i]);
    }
    if (wrc) return wrc;
    if (o->json) {
        printf("{\"profile\":");
        json_str(section);
        printf(",\"path\":");
        json_str(path);
        printf("%s}\n", o->dryrun ? ",\"dryrun\":true" : "");
    } else if (!o->quiet) {
        printf("%swrote profile %s to %s\n", o->dryrun ? "(dryrun) " : "", section, path);
    }
    return 0;
}

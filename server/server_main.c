/*
 * server_main.c — the cos-server command: flags and environment, the port
 * file, the banner, and a clean stop on SIGINT/SIGTERM. The server itself
 * is main.c's server_start/server_stop.
 */
#define _GNU_SOURCE
#include "server.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(void)
{
    fputs("usage: cos-server --root DIR [--listen 127.0.0.1:PORT] [--port-file FILE]\n"
          "                  [--secret-id ID --secret-key KEY] [--appid APPID] [--sts] [--sts-open] [--faults]\n"
          "                  (--sts: /sts for requests signed with the permanent key; --sts-open: for anyone,\n"
          "                   local browser work only)\n"
          "                  [--no-fsync]   (skip fsync: safe against kill -9, not power loss)\n"
          "                  [--no-direct-io] (large bodies through the page cache, not O_DIRECT)\n"
          "                  [--busy-timeout-ms MS]   (wait for a locked database; default 10000)\n"
          "                  [--lock-drain-ms MS]   (enabling object lock waits for writes in flight; default 10000;\n"
          "                   for tests)\n"
          "                  [--threads N]   (request threads; default 16)\n"
          "                  [--header-timeout S] [--body-timeout S]   (a request's head within S of the connection\n"
          "                   or the last answer, default 30; a body within S of its head plus 1 s per 500 bytes,\n"
          "                   and idle at most S, default 120)\n"
          "                  [--rate-window S]   (a body or an answer moves at least 500 bytes a second in each\n"
          "                   window of S seconds, default 30)\n"
          "                  [--sts-max-keys N]   (live temporary keys at most; default 10000)\n"
          "                  [--tls-cert FILE --tls-key FILE] [--quiet]\n"
          "                  [--console [--console-listen 127.0.0.1:PORT] [--console-dir DIR]]\n"
          "                                 (the web console; needs --sts-open)\n"
          "                  [--restore-seconds N]   (every archive restore takes N s; for tests)\n"
          "                  [--fault-bucket NAME|'*' [--fault-once]]   (keys name the answer: 500, 503r, shutdown, ...)\n"
          "                  [--s3-domain DOMAIN]   (S3 virtual hosts BUCKET.s3.DOMAIN and BUCKET.DOMAIN)\n"
          "                  [--extra-key ID:SECRET]...   (more permanent keys; with :ACCOUNT, of another account, e.g. for ceph/s3-tests)\n"
          "Environment: COS_SERVER_ROOT, COS_SERVER_LISTEN, COS_SERVER_SECRET_ID, COS_SERVER_SECRET_KEY,\n"
          "             COS_SERVER_APPID. Without keys it uses the development keys it prints.\n", stderr);
}

/* The port, written to a temp file and renamed, so a reader never sees half of it. */
static void write_port_file(const char *path, int port)
{
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) return;
    fprintf(f, "%d\n", port);
    fclose(f);
    rename(tmp, path);
}

/* The copies --extra-key made (ID, SECRET and ACCOUNT, all malloc'd). */
static void free_extra_keys(server_config *c)
{
    for (size_t i = 0; i < c->nextra_keys; i++) {
        free((char *)c->extra_keys[i]);
        free((char *)c->extra_secrets[i]);
        free((char *)c->extra_accounts[i]);
    }
    c->nextra_keys = 0;
}

static int run(server *srv, int argc, char **argv);

int main(int argc, char **argv)
{
    server srv;
    memset(&srv, 0, sizeof srv);
    int rc = run(&srv, argc, argv);
    free_extra_keys(&srv.cfg); /* every exit path: LeakSanitizer saw them at exit */
    return rc;
}

/* The command line into c: -1 to go on, or the exit status (0 after --help, 2 for a bad option, said on
 * stderr). Values point into argv; --extra-key's are copies (free_extra_keys). fuzz/fuzz_srv_options.c. */
static int parse_options(server_config *c, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name, field) if (strcmp(a, name) == 0 && v) { c->field = v; i++; continue; }
        OPT("--root", root) OPT("--listen", listen) OPT("--port-file", port_file) OPT("--secret-id", secret_id)
        OPT("--secret-key", secret_key) OPT("--appid", appid) OPT("--tls-cert", tls_cert) OPT("--tls-key", tls_key)
        OPT("--console-listen", console_listen) OPT("--console-dir", console_dir)
        OPT("--fault-bucket", fault_bucket) OPT("--s3-domain", s3_domain)
#undef OPT
        if (strcmp(a, "--extra-key") == 0 && v) {
            const char *colon = strchr(v, ':');
            const char *colon2 = colon ? strchr(colon + 1, ':') : NULL;
            if (!colon || colon == v || !colon[1] || colon2 == colon + 1 || (colon2 && !colon2[1]) ||
                c->nextra_keys >= COS_ARRAY_LEN(c->extra_keys)) {
                fprintf(stderr, "cos-server: --extra-key wants ID:SECRET[:ACCOUNT] (at most %zu)\n",
                        COS_ARRAY_LEN(c->extra_keys));
                return 2;
            }
            /* the server reads them on every request; freed by main */
            c->extra_keys[c->nextra_keys] = cos_strndup(v, (size_t)(colon - v));
            c->extra_secrets[c->nextra_keys] = colon2 ? cos_strndup(colon + 1, (size_t)(colon2 - colon - 1))
                                                      : cos_strdup(colon + 1);
            c->extra_accounts[c->nextra_keys] = colon2 ? cos_strdup(colon2 + 1) : NULL;
            c->nextra_keys++;
            i++;
            continue;
        }
        if (strcmp(a, "--restore-seconds") == 0 && v) {
            char *end = NULL;
            long n = strtol(v, &end, 10);
            if (!*v || *end || n < 0 || n > 30L * 86400) {
                fprintf(stderr, "cos-server: --restore-seconds wants 0..2592000\n");
                return 2;
            }
            c->restore_seconds = (int)n;
            c->restore_seconds_set = true;
            i++;
            continue;
        }
        if (strcmp(a, "--sts") == 0) { c->sts = true; continue; }
        if (strcmp(a, "--sts-open") == 0) { c->sts = c->sts_open = true; continue; }
        if (strcmp(a, "--console") == 0) { c->console = true; continue; }
        if (strcmp(a, "--faults") == 0) { c->faults = true; continue; }
        if (strcmp(a, "--fault-once") == 0) { c->fault_once = true; continue; }
        if (strcmp(a, "--quiet") == 0) { c->quiet = true; continue; }
        if (strcmp(a, "--no-fsync") == 0) { c->no_fsync = true; continue; }
        if (strcmp(a, "--no-direct-io") == 0) { c->no_direct_io = true; continue; }
        if ((strcmp(a, "--busy-timeout-ms") == 0 || strcmp(a, "--lock-drain-ms") == 0) && v) {
            char *end = NULL;
            long n = strtol(v, &end, 10);
            if (!*v || *end || n < 0 || n > 3600000) { /* atoi took "-5" and "10s" */
                fprintf(stderr, "cos-server: %s wants 0..3600000\n", a);
                return 2;
            }
            if (a[2] == 'b') c->busy_timeout_ms = (int)n;
            else c->lock_drain_ms = (int)n;
            i++;
            continue;
        }
        if ((strcmp(a, "--header-timeout") == 0 || strcmp(a, "--body-timeout") == 0 ||
             strcmp(a, "--rate-window") == 0) && v) {
            char *end = NULL;
            long n = strtol(v, &end, 10);
            if (!*v || *end || n < 1 || n > 3600) {
                fprintf(stderr, "cos-server: %s wants 1..3600 (seconds)\n", a);
                return 2;
            }
            if (a[2] == 'h') c->header_timeout_s = (unsigned)n;
            else if (a[2] == 'b') c->body_timeout_s = (unsigned)n;
            else c->rate_window_s = (unsigned)n;
            i++;
            continue;
        }
        if ((strcmp(a, "--threads") == 0 || strcmp(a, "--sts-max-keys") == 0) && v) {
            char *end = NULL;
            long n = strtol(v, &end, 10);
            bool threads = a[2] == 't';
            if (!*v || *end || n < 1 || n > (threads ? 1024 : 10000000)) {
                fprintf(stderr, "cos-server: %s wants 1..%d\n", a, threads ? 1024 : 10000000);
                return 2;
            }
            if (threads) c->threads = (unsigned)n;
            else c->sts_max_keys = (unsigned)n;
            i++;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { usage(); return 0; }
        fprintf(stderr, "cos-server: unknown or incomplete option %s\n", a);
        usage();
        return 2;
    }
    return -1;
}

static int run(server *srv, int argc, char **argv)
{
    server_config *c = &srv->cfg;
    c->root = getenv("COS_SERVER_ROOT");
    c->listen = getenv("COS_SERVER_LISTEN");
    c->secret_id = getenv("COS_SERVER_SECRET_ID");
    c->secret_key = getenv("COS_SERVER_SECRET_KEY");
    c->appid = getenv("COS_SERVER_APPID");
    int prc = parse_options(c, argc, argv);
    if (prc >= 0) return prc;
    if (!c->root) {
        usage();
        return 2;
    }
    if (c->console_listen || c->console_dir) c->console = true;
    if (c->console && !c->sts_open) {
        /* the page asks /sts for its keys unsigned, as a Mini Program asks its backend: that has to be said */
        fprintf(stderr, "cos-server: --console needs --sts-open (the console gets temporary keys from /sts "
                        "without a signature; see docs/browser.md)\n");
        return 2;
    }
    bool dev = !c->secret_id || !c->secret_key;
    umask(077); /* meta.db, data/, sts.json (every issued secret): the owner's alone */
    char *err = NULL;
    /* SIGINT/SIGTERM blocked before any thread exists (every thread inherits
       the mask) and taken here with sigwait: with a handler and pause(), a
       signal delivered to another thread, or between the check and pause(),
       left the server running until a second one (seen under valgrind) */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    int rc = server_start(srv, &err);
    if (rc != 0) {
        fprintf(stderr, "cos-server: %s\n", err ? err : "cannot start");
        free(err);
        return rc;
    }
    if (c->port_file) write_port_file(c->port_file, srv->port);
    char host[64] = "127.0.0.1";
    const char *colon = strrchr(c->listen, ':');
    if (colon) snprintf(host, sizeof host, "%.*s", (int)(colon - c->listen), c->listen);
    printf("cos-server listening on %s://%s:%d, data in %s, appid %s\n", srv->tls_cert_pem ? "https" : "http", host,
           srv->port, c->root, c->appid);
    if (dev) printf("development keys: SecretId %s SecretKey %s\n", c->secret_id, c->secret_key);
    if (c->sts) printf("temporary keys: http://%s:%d/sts%s\n", host, srv->port, c->sts_open ? " (open: unsigned requests too)" : "");
    if (srv->console_daemon) printf("console: %s/\n", srv->console_origins[0]);
    fflush(stdout);
    int sig;
    sigwait(&stop, &sig);
    server_stop(srv);
    printf("cos-server stopped\n");
    return 0;
}

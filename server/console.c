/*
 * console.c — the web console (--console): a few static files and the
 * official browser SDK (npm cos-js-sdk-v5, installed by server/console's
 * lockfile) served on a listener of their own, loopback unless
 * --console-listen says otherwise. Its own origin holds nothing but these
 * files, so no object served by the store can ever run as the console;
 * cors.c trusts that origin. The page gets temporary keys from /sts and
 * talks to the store like any other browser page (console/console.js).
 */
#define _GNU_SOURCE
#include "server.h"
#include "json.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef COS_CONSOLE_SOURCE_DIR
#define COS_CONSOLE_SOURCE_DIR ""
#endif
#ifndef COS_CONSOLE_INSTALL_DIR
#define COS_CONSOLE_INSTALL_DIR ""
#endif

#define SDK_FILE "cos-js-sdk-v5.min.js"
#define SDK_IN_NODE_MODULES "node_modules/cos-js-sdk-v5/dist/" SDK_FILE

static bool file_exists(const char *dir, const char *name)
{
    char *p = cos_sprintf("%s/%s", dir, name);
    struct stat st;
    bool ok = stat(p, &st) == 0 && S_ISREG(st.st_mode);
    free(p);
    return ok;
}

/* The console's files: --console-dir, else the source tree this binary was
 * built from, else the installed copy. */
static const char *find_dir(const server_config *c)
{
    if (c->console_dir) return c->console_dir;
    if (*COS_CONSOLE_SOURCE_DIR && file_exists(COS_CONSOLE_SOURCE_DIR, "index.html")) return COS_CONSOLE_SOURCE_DIR;
    return COS_CONSOLE_INSTALL_DIR;
}

static const struct { const char *path, *file, *type; } FILES[] = {
    { "/", "index.html", "text/html; charset=utf-8" },
    { "/index.html", "index.html", "text/html; charset=utf-8" },
    { "/console.js", "console.js", "text/javascript; charset=utf-8" },
    { "/console.css", "console.css", "text/css; charset=utf-8" },
    { "/" SDK_FILE, SDK_FILE, "text/javascript; charset=utf-8" },
};

bool console_origin(server *srv, const char *origin)
{
    if (!srv->console_daemon || !origin) return false;
    for (size_t i = 0; i < COS_ARRAY_LEN(srv->console_origins); i++)
        if (srv->console_origins[i][0] && !strcmp(srv->console_origins[i], origin)) return true;
    return false;
}

/* Only the names the console is reached by: a page elsewhere that rebinds
 * its own name to 127.0.0.1 gets nothing. */
static bool host_ok(server *srv, const char *host)
{
    if (!host) return false;
    for (size_t i = 0; i < COS_ARRAY_LEN(srv->console_origins); i++) {
        const char *o = srv->console_origins[i];
        if (*o && !strcmp(o + strlen("http://"), host)) return true;
    }
    return false;
}

static void api_base(server *srv, char *out, size_t n)
{
    char host[64] = "127.0.0.1";
    const char *colon = strrchr(srv->cfg.listen, ':');
    if (colon) snprintf(host, sizeof host, "%.*s", (int)(colon - srv->cfg.listen), srv->cfg.listen);
    if (!strcmp(host, "0.0.0.0")) snprintf(host, sizeof host, "127.0.0.1");
    snprintf(out, n, "%s:%d", host, srv->port);
}

/* What the page needs to know about the store it talks to. */
static char *config_json(server *srv)
{
    char base[96];
    api_base(srv, base, sizeof base);
    const char *proto = srv->tls_cert_pem ? "https:" : "http:";
    cos_buf b = COS_BUF_INIT;
    cos_buf_printf(&b, "{\"protocol\":\"%s\",\"serviceDomain\":\"%s\",\"stsUrl\":\"%s//%s/sts\",", proto, base, proto, base);
    /* every bucket is its own host: NAME-APPID.cos.REGION.localhost reaches
       loopback in browsers without any DNS setup */
    cos_buf_printf(&b, "\"domain\":\"{Bucket}.cos.{Region}.localhost:%d\",\"appid\":", srv->port);
    cos_json_put_str(&b, srv->cfg.appid);
    cos_buf_puts(&b, ",\"region\":\"ap-guangzhou\"}");
    return cos_buf_detach(&b);
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status, struct MHD_Response *resp,
                              const char *type, server *srv)
{
    char csp[512];
    /* the page may talk to the store (its bucket hosts and /sts) and nowhere else */
    snprintf(csp, sizeof csp,
             "default-src 'self'; connect-src 'self' %s//127.0.0.1:%d %s//*.localhost:%d; img-src 'self' data: blob:; "
             "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
             srv->tls_cert_pem ? "https:" : "http:", srv->port, srv->tls_cert_pem ? "https:" : "http:", srv->port);
    if (type) MHD_add_response_header(resp, "Content-Type", type);
    MHD_add_response_header(resp, "Content-Security-Policy", csp);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result text(struct MHD_Connection *conn, unsigned status, const char *msg, server *srv)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(msg), (void *)msg, MHD_RESPMEM_MUST_COPY);
    return answer(conn, status, resp, "text/plain; charset=utf-8", srv);
}

static enum MHD_Result on_console(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    (void)upload_data;
    server *srv = cls;
    if (!*con_cls) { /* headers only so far */
        *con_cls = srv;
        conns_console_head_in(srv, conn);
        /* nothing here takes a body: refused from its head, never read (a body
           trickled to a page that ignores it would hold the connection) */
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        uint64_t declared = 0;
        if ((cl && (cos_parse_u64(cl, &declared) != 0 || declared > 0)) ||
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING))
            return text(conn, 413, "the console takes no request body\n", srv);
        return MHD_YES;
    }
    if (*upload_data_size) { /* not reached: a body is refused above */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) return text(conn, 405, "method not allowed\n", srv);
    if (!host_ok(srv, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host")))
        return text(conn, 421, "this console answers only to the names it listens on\n", srv);
    if (!strcmp(url, "/config.json")) {
        char *j = config_json(srv);
        struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(j), j, MHD_RESPMEM_MUST_FREE);
        return answer(conn, 200, resp, "application/json", srv);
    }
    for (size_t i = 0; i < COS_ARRAY_LEN(FILES); i++) {
        if (strcmp(url, FILES[i].path) != 0) continue;
        char *p = cos_sprintf("%s/%s", srv->console_dir, FILES[i].file);
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0 && !strcmp(FILES[i].file, SDK_FILE)) { /* the source tree: served from npm's own copy */
            free(p);
            p = cos_sprintf("%s/%s", srv->console_dir, SDK_IN_NODE_MODULES);
            fd = open(p, O_RDONLY | O_CLOEXEC);
        }
        free(p);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0) {
            if (fd >= 0) close(fd);
            return text(conn, 404, "not found\n", srv);
        }
        struct MHD_Response *resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
        return answer(conn, 200, resp, FILES[i].type, srv);
    }
    return text(conn, 404, "not found\n", srv);
}

int console_start(server *srv, char **errmsg)
{
    server_config *c = &srv->cfg;
    const char *dir = find_dir(c);
    if (!*dir || !file_exists(dir, "index.html")) {
        *errmsg = cos_sprintf("--console: no console files in %s (use --console-dir)", *dir ? dir : "(none built in)");
        return 2;
    }
    if (!file_exists(dir, SDK_FILE) && !file_exists(dir, SDK_IN_NODE_MODULES)) {
        *errmsg = cos_sprintf("--console: cos-js-sdk-v5 is not installed in %s: run `npm ci --prefix %s` "
                              "(scripts/install-deps.sh does)", dir, dir);
        return 2;
    }
    char host[64] = "127.0.0.1";
    int port = srv->port ? srv->port + 1 : 0;
    if (c->console_listen) {
        const char *colon = strrchr(c->console_listen, ':');
        if (!colon) {
            *errmsg = cos_sprintf("--console-listen needs ADDRESS:PORT, got %s", c->console_listen);
            return 2;
        }
        snprintf(host, sizeof host, "%.*s", (int)(colon - c->console_listen), c->console_listen);
        port = atoi(colon + 1);
    } else {
        const char *colon = strrchr(c->listen, ':');
        if (colon && atoi(colon + 1) == 0) port = 0; /* the store's port was picked by the system: so is this one */
    }
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        *errmsg = cos_sprintf("--console-listen needs an IPv4 address:port, got %s", c->console_listen);
        return 2;
    }
    srv->console_dir = cos_strdup(dir);
    /* epoll, as the store's listener: select() drops every connection whose descriptor is past
       FD_SETSIZE, which all are once the store holds about a thousand */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | (c->quiet ? 0 : MHD_USE_ERROR_LOG);
    /* the store's head deadline here too (conns.c): libmicrohttpd's idle timeout restarts with every
       byte, so 64 trickling clients (the limit) kept everyone out of the console */
    const unsigned max_conns = 64;
    if (conns_console_start(srv, max_conns) != 0) {
        *errmsg = cos_sprintf("--console: cannot start its connection deadlines");
        return 1;
    }
    srv->console_daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_console, srv, MHD_OPTION_SOCK_ADDR,
                                           (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
                                           MHD_OPTION_CONNECTION_LIMIT, max_conns,
                                           MHD_OPTION_NOTIFY_CONNECTION, conns_console_notify, srv,
                                           MHD_OPTION_NOTIFY_COMPLETED, conns_console_request_done, srv, MHD_OPTION_END);
    if (!srv->console_daemon) {
        conns_console_stop(srv);
        *errmsg = cos_sprintf("--console cannot listen on %s:%d: %s", host, port, strerror(errno));
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->console_daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->console_port = info ? info->port : port;
    snprintf(srv->console_origins[0], sizeof srv->console_origins[0], "http://127.0.0.1:%d", srv->console_port);
    snprintf(srv->console_origins[1], sizeof srv->console_origins[1], "http://localhost:%d", srv->console_port);
    if (strcmp(host, "127.0.0.1") != 0 && strcmp(host, "0.0.0.0") != 0)
        snprintf(srv->console_origins[2], sizeof srv->console_origins[2], "http://%s:%d", host, srv->console_port);
    return 0;
}

void console_stop(server *srv)
{
    if (srv->console_daemon) MHD_stop_daemon(srv->console_daemon);
    srv->console_daemon = NULL;
    conns_console_stop(srv);
    free(srv->console_dir);
    srv->console_dir = NULL;
    memset(srv->console_origins, 0, sizeof srv->console_origins);
}

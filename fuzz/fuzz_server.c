/* fuzz_server.c — cos-server's HTTP handling, end to end: a server runs in
 * this process (server_start, a temp data directory) and every input becomes
 * one request over loopback. An input is "METHOD TARGET\n" header lines, a
 * blank line, then the body. Three in four inputs are signed with the
 * development keys before they are sent, so the fuzzer gets past
 * authentication into the handlers (ranges, query strings, XML and form
 * bodies, multipart); the rest go out as raw bytes, to exercise the parsing
 * in front of it, half of them to the web console's listener (--console,
 * stub files in a temp directory: its Host check, paths and refusals). A
 * crash or sanitizer report in any server thread aborts the process, which
 * is what libFuzzer reports. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include "server.h"
#include "signer.h"

#define BUCKET "fuzz-1250000000"
#define HOST BUCKET ".cos.ap-guangzhou.myqcloud.com"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static server g_srv;

/* Reads one response: until the server closes, the body announced by
 * Content-Length has arrived, or (after the headers) 50 ms pass quietly.
 * Keep-alive connections are not closed by the server, so waiting for EOF
 * alone would stall every request that did not ask for "Connection: close". */
static void read_response(int fd)
{
    static char buf[1 << 16];
    size_t have = 0;
    long need = -1; /* header bytes + body bytes, once known */
    for (;;) {
        bool headers_done = need >= 0 || memmem(buf, have, "\r\n\r\n", 4) != NULL;
        struct pollfd pfd = { fd, POLLIN, 0 };
        if (poll(&pfd, 1, headers_done ? 50 : 300) <= 0) return; /* a half-sent request gets no answer */
        ssize_t n = recv(fd, have < sizeof buf ? buf + have : buf, have < sizeof buf ? sizeof buf - have : sizeof buf, 0);
        if (n <= 0) return;
        if (have == 0 && getenv("FUZZ_SERVER_VERBOSE")) /* to check a seed corpus reaches the handlers */
            fprintf(stderr, "  -> %.*s\n", (int)strcspn(buf, "\r\n"), buf);
        if (have < sizeof buf) have += (size_t)n;
        if (need < 0) {
            const char *end = memmem(buf, have, "\r\n\r\n", 4);
            if (end) {
                const char *cl = memmem(buf, (size_t)(end - buf), "Content-Length: ", 16);
                need = (long)(end - buf) + 4 + (cl ? strtol(cl + 16, NULL, 10) : 0);
            }
        }
        if (need >= 0 && (long)have >= need && strncmp(buf, "HEAD", 4) != 0) return;
    }
}

static void exchange_on(int port, const char *req, size_t len)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return;
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = { 10, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
        size_t off = 0;
        while (off < len) {
            ssize_t n = send(fd, req + off, len - off, MSG_NOSIGNAL);
            if (n <= 0) break;
            off += (size_t)n;
        }
        shutdown(fd, SHUT_WR);
        read_response(fd);
    }
    close(fd);
}

static void exchange(const char *req, size_t len) { exchange_on(g_srv.port, req, len); }

/* The console's files, stubs: what it serves is not what is fuzzed. */
static char *console_stub(const char *root)
{
    char *dir = cos_sprintf("%s-console", root);
    if (mkdir(dir, 0700) != 0) abort();
    static const char *const FILES[] = { "index.html", "console.js", "console.css", "cos-js-sdk-v5.min.js" };
    for (size_t i = 0; i < sizeof FILES / sizeof *FILES; i++) {
        char *p = cos_sprintf("%s/%s", dir, FILES[i]);
        FILE *f = fopen(p, "w");
        if (!f) abort();
        fputs("stub\n", f);
        fclose(f);
        free(p);
    }
    return dir;
}

static void start_once(void)
{
    if (g_srv.listener) return;
    char tmpl[] = "/tmp/fuzz-server-XXXXXX";
    char *root = mkdtemp(tmpl);
    if (!root) abort();
    g_srv.cfg.root = strdup(root);
    g_srv.cfg.listen = "127.0.0.1:0";
    g_srv.cfg.quiet = true;
    g_srv.cfg.sts = true;
    g_srv.cfg.sts_open = true; /* the console needs it */
    g_srv.cfg.console = true;
    g_srv.cfg.console_listen = "127.0.0.1:0"; /* any free port: the API's + 1 may be taken */
    g_srv.cfg.console_dir = console_stub(root);
    g_srv.cfg.no_fsync = true; /* speed; durability is test_crash's business */
    g_srv.cfg.threads = 2;
    char *err = NULL;
    if (server_start(&g_srv, &err) != 0) {
        fprintf(stderr, "fuzz_server: %s\n", err ? err : "cannot start");
        abort();
    }
    static const char mb[] = "PUT / HTTP/1.1\r\nHost: " HOST "\r\nConnection: close\r\nAuthorization: %s\r\nContent-Length: 0\r\n\r\n";
    cos_sign_params p = COS_SIGN_PARAMS_INIT;
    p.secret_id = SERVER_DEV_SECRET_ID;
    p.secret_key = SERVER_DEV_SECRET_KEY;
    p.method = "PUT";
    p.pathname = "/";
    p.host = HOST;
    char *auth = NULL;
    cos_sign(&p, &auth, NULL, NULL);
    char req[1024];
    int n = snprintf(req, sizeof req, mb, auth ? auth : "");
    free(auth);
    exchange(req, (size_t)n);
}

/* Splits "a=b&c" into decoded pairs for the signature. */
static size_t parse_query(char *q, cos_kv *kv, size_t max)
{
    size_t n = 0;
    for (char *save = NULL, *t = strtok_r(q, "&", &save); t && n < max; t = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(t, '=');
        if (eq) *eq = '\0';
        kv[n].name = cos_uri_decode(t, strlen(t));
        kv[n].value = eq ? cos_uri_decode(eq + 1, strlen(eq + 1)) : strdup("");
        if (!kv[n].name || !kv[n].value) {
            free((char *)kv[n].name);
            free((char *)kv[n].value);
            break;
        }
        n++;
    }
    return n;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    start_once();
    if (size == 0) return 0;
    bool sign = data[0] % 4 != 0, console = data[0] % 8 == 4;
    data++;
    size--;
    if (!sign) {
        exchange_on(console ? g_srv.console_port : g_srv.port, (const char *)data, size);
        return 0;
    }
    /* METHOD TARGET \n headers \n\n body */
    const char *end = (const char *)data + size;
    const char *nl = memchr(data, '\n', size);
    if (!nl) return 0;
    char line[2048];
    size_t ll = (size_t)(nl - (const char *)data);
    if (ll >= sizeof line) return 0;
    memcpy(line, data, ll);
    line[ll] = '\0';
    char *sp = strchr(line, ' ');
    if (!sp || memchr(line, '\r', ll) || memchr(line, '\0', ll)) return 0;
    *sp = '\0';
    const char *method = line, *target = sp + 1;
    if (!*method || target[0] != '/') return 0;
    const char *hdr = nl + 1, *sep = NULL;
    for (const char *s = hdr; s + 1 < end; s++)
        if (s[0] == '\n' && s[1] == '\n') {
            sep = s;
            break;
        }
    const char *body = sep ? sep + 2 : end;
    size_t hlen = sep ? (size_t)(sep - hdr + 1) : (size_t)(end - hdr), blen = (size_t)(end - body);

    /* what the server will verify: the decoded path and the query pairs */
    char *path_q = strdup(target);
    char *qm = strchr(path_q, '?');
    cos_kv q[32];
    size_t nq = 0;
    if (qm) {
        *qm = '\0';
        nq = parse_query(qm + 1, q, 32);
    }
    char *path = cos_uri_decode(path_q, strlen(path_q));
    cos_sign_params p = COS_SIGN_PARAMS_INIT;
    p.secret_id = SERVER_DEV_SECRET_ID;
    p.secret_key = SERVER_DEV_SECRET_KEY;
    p.method = method;
    p.pathname = path ? path : "/";
    p.query = q;
    p.query_count = nq;
    p.host = HOST;
    char *auth = NULL;
    cos_sign(&p, &auth, NULL, NULL);

    /* header lines end in \n in the input and \r\n on the wire */
    size_t cap = ll + hlen * 2 + blen + 1024 + (auth ? strlen(auth) : 0);
    char *req = malloc(cap);
    size_t n = (size_t)snprintf(req, cap, "%s %s HTTP/1.1\r\nHost: " HOST "\r\nConnection: close\r\nContent-Length: %zu\r\n%s%s%s",
                                method, target, blen, auth ? "Authorization: " : "", auth ? auth : "",
                                auth ? "\r\n" : "");
    for (size_t i = 0; i < hlen; i++) {
        if (hdr[i] == '\n') req[n++] = '\r';
        req[n++] = hdr[i];
    }
    if (hlen && hdr[hlen - 1] != '\n') {
        req[n++] = '\r';
        req[n++] = '\n';
    }
    req[n++] = '\r';
    req[n++] = '\n';
    memcpy(req + n, body, blen);
    exchange(req, n + blen);

    free(req);
    free(auth);
    free(path);
    free(path_q);
    for (size_t i = 0; i < nq; i++) {
        free((char *)q[i].name);
        free((char *)q[i].value);
    }
    return 0;
}

/*
 * testlib.c — harness and cos-server launcher for the tests (see testlib.h).
 */
#define _GNU_SOURCE
#include "testlib.h"
#include "checksum.h"
#include "util.h"
#include "url.h"
#include "cos/sign.h"
#include "signer.h"
#include "cos/hash.h"

#include <errno.h>
#include <strings.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int g_passed, g_failed;
int test_failures_in_current;
static const char *g_current = "";

void test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "  FAIL %s (%s:%d): ", g_current, file, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    test_failures_in_current++;
}

void test_run(const char *name, void (*fn)(void))
{
    /* COS_TEST_ONLY=name runs one case of a suite, to chase a rare failure in a loop. */
    const char *only = getenv("COS_TEST_ONLY");
    if (only && *only && strcmp(only, name) != 0) return;
    g_current = name;
    test_failures_in_current = 0;
    fn();
    if (test_failures_in_current) {
        g_failed++;
        fprintf(stderr, "not ok %s\n", name);
    } else {
        g_passed++;
        fprintf(stderr, "ok %s\n", name);
    }
}

int test_report(void)
{
    printf("%d passed, %d failed\n", g_passed, g_failed);
    fflush(stdout);
    return g_failed ? 1 : 0;
}

char *test_read_data(const char *name, size_t *len)
{
    char path[1024];
    if (name[0] == '/') {
        snprintf(path, sizeof path, "%s", name);
    } else {
        const char *dir = getenv("COS_TEST_DATA");
        snprintf(path, sizeof path, "%s/%s", dir ? dir : "tests/data", name);
    }
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (!buf) return NULL;
    buf[n] = '\0';
    if (len) *len = (size_t)n;
    return buf;
}

char *test_tmpdir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    char *path = NULL;
    if (asprintf(&path, "%s/cos-test-%s-XXXXXX", base ? base : "/tmp", tag) < 0) return NULL;
    if (!mkdtemp(path)) {
        free(path);
        return NULL;
    }
    return path;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb; (void)flag; (void)ftw;
    return remove(p);
}

int test_count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; p && (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
    return n;
}

bool test_send_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0) return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

int test_listen_loopback(int *port)
{
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    if (ls < 0) return -1;
    struct sockaddr_in sa = { 0 };
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    socklen_t sl = sizeof sa;
    if (bind(ls, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(ls, 64) != 0 ||
        getsockname(ls, (struct sockaddr *)&sa, &sl) != 0) {
        close(ls);
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return ls;
}

char *test_recv_head(int fd, char *buf, size_t size, size_t *got)
{
    char *end = NULL;
    *got = 0;
    buf[0] = '\0';
    while (*got < size - 1 && !end) {
        ssize_t n = recv(fd, buf + *got, size - 1 - *got, 0);
        if (n <= 0) break;
        *got += (size_t)n;
        buf[*got] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    return end;
}

char *test_next_request(int fd, char *buf, size_t size, size_t *got)
{
    char *end = NULL;
    while (!(end = memmem(buf, *got, "\r\n\r\n", 4))) {
        if (*got == size) return NULL;
        ssize_t n = recv(fd, buf + *got, size - *got, 0);
        if (n <= 0) return NULL;
        *got += (size_t)n;
    }
    size_t head_len = (size_t)(end - buf) + 4;
    char *head = strndup(buf, head_len);
    unsigned long long body = 0;
    const char *cl = head ? strcasestr(head, "\r\nContent-Length:") : NULL;
    if (cl) body = strtoull(cl + 17, NULL, 10);
    memmove(buf, buf + head_len, *got - head_len);
    *got -= head_len;
    while (body > 0) {
        size_t take = *got < body ? *got : (size_t)body;
        memmove(buf, buf + take, *got - take);
        *got -= take;
        body -= take;
        if (body == 0) break;
        ssize_t n = recv(fd, buf, size, 0);
        if (n <= 0) {
            free(head);
            return NULL;
        }
        *got = (size_t)n;
    }
    return head;
}

int test_header_count(const char *head, const char *name, char **value)
{
    int n = 0;
    if (value) *value = NULL;
    size_t nl = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p && p[2] != '\r'; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            if (!n && value) {
                const char *v = line + nl + 1;
                while (*v == ' ') v++;
                *value = strndup(v, strcspn(v, "\r\n"));
            }
            n++;
        }
    }
    return n;
}

typedef struct serve_args {
    int fd;
    void *(*conn)(void *);
} serve_args;

static void *serve_main(void *arg)
{
    serve_args a = *(serve_args *)arg;
    free(arg);
    for (;;) {
        int fd = accept(a.fd, NULL, NULL);
        if (fd < 0) continue;
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &at, a.conn, (void *)(intptr_t)fd) != 0) close(fd);
        pthread_attr_destroy(&at);
    }
    return NULL;
}

void test_serve_forever(int listen_fd, void *(*conn)(void *))
{
    serve_args *a = malloc(sizeof *a);
    if (!a) test_fail(__FILE__, __LINE__, "out of memory");
    a->fd = listen_fd;
    a->conn = conn;
    pthread_t t;
    if (pthread_create(&t, NULL, serve_main, a) != 0) test_fail(__FILE__, __LINE__, "cannot start a server thread");
    pthread_detach(t);
}

void test_start_fake_server(int *port, void *(*conn)(void *))
{
    int ls = test_listen_loopback(port);
    if (ls < 0) {
        printf("0 passed, 1 failed\n");
        exit(1);
    }
    test_serve_forever(ls, conn);
}

void test_latch_add(test_latch *l)
{
    pthread_mutex_lock(&l->m);
    l->count++;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->m);
}

void test_latch_wait(test_latch *l, int n)
{
    pthread_mutex_lock(&l->m);
    while (l->count < n) pthread_cond_wait(&l->cv, &l->m);
    pthread_mutex_unlock(&l->m);
}

int test_latch_count(test_latch *l)
{
    pthread_mutex_lock(&l->m);
    int n = l->count;
    pthread_mutex_unlock(&l->m);
    return n;
}

static test_reply http_exchange(int port, const void *request, size_t len, bool half_close, int timeout_s);

/* METHOD /-/faults: the answer, waited for timeout_s at most. */
static test_reply faults_exchange(const test_server *s, const char *method, const char *body, const char *id,
                                  const char *secret, int timeout_s)
{
    char host[64], auth_line[1024] = "", md5_line[64] = "", md5[32] = "";
    snprintf(host, sizeof host, "127.0.0.1:%d", s->port);
    size_t body_len = body ? strlen(body) : 0;
    if (body_len) { /* the rules are bound to the signature by their signed Content-MD5 */
        unsigned char d[16];
        cos_md5_digest(body, body_len, d);
        cos_base64_encode(d, 16, md5);
        snprintf(md5_line, sizeof md5_line, "Content-MD5: %s\r\n", md5);
    }
    if (id) {
        cos_kv h[] = { { "Content-MD5", md5 } };
        char *auth = test_cos_auth(id, secret, method, "/-/faults", host, NULL, 0, h, body_len ? 1 : 0);
        snprintf(auth_line, sizeof auth_line, "Authorization: %s\r\n", auth ? auth : "");
        free(auth);
    }
    size_t blen = body ? strlen(body) : 0, cap = blen + 2048;
    char *req = malloc(cap);
    int n = snprintf(req, cap, "%s /-/faults HTTP/1.1\r\nHost: %s\r\n%s%sContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n%s", method, host, auth_line, md5_line, blen, body ? body : "");
    test_reply r = http_exchange(s->port, req, (size_t)n, true, timeout_s);
    free(req);
    return r;
}

int test_faults_request(const test_server *s, const char *method, const char *body, const char *id,
                        const char *secret)
{
    test_reply r = faults_exchange(s, method, body, id, secret, 30);
    int status = r.status;
    test_reply_free(&r);
    return status;
}

int test_faults_paused(const test_server *s) { return test_faults_count(s, "paused"); }

int test_faults_count(const test_server *s, const char *name)
{
    /* a short look, then a new connection: libmicrohttpd's worker accepts up
       to 10 queued connections at once (epoll), so this one may share a worker
       with a write the pause then holds, and wait there until the pause ends
       (seen under load: "0 writes held by the pause, not 10"); a new
       connection goes to a worker that is free */
    for (int attempt = 0; attempt < 30; attempt++) {
        test_reply r = faults_exchange(s, "GET", NULL, TEST_SECRET_ID, TEST_SECRET_KEY, 2);
        char *field = cos_sprintf("\"%s\":", name);
        const char *p = r.status == 200 && r.body ? strstr(r.body, field) : NULL;
        int n = p ? atoi(p + strlen(field)) : r.status == 200 ? 0 : -1; /* a count the server does not keep: 0 */
        free(field);
        test_reply_free(&r);
        if (n >= 0) return n;
    }
    return -1;
}

bool test_wait_paused(const test_server *s, int n)
{
    /* the pause holds a request 60 s at most (server/store.c): past that, a
       count never reached is a hung request, not a slow one */
    int64_t end = cos_mono_ms() + 50000;
    int now;
    while ((now = test_faults_paused(s)) != n && cos_mono_ms() < end) cos_sleep_ms_for_tests(10);
    return now == n;
}

void test_set_faults(cos_client *c, const test_server *s, const char *rules)
{
    (void)c; /* signed here: /-/faults wants the owner's key over its own path */
    int status = test_faults_request(s, rules ? "PUT" : "DELETE", rules, TEST_SECRET_ID, TEST_SECRET_KEY);
    if (status != 200) test_fail(__FILE__, __LINE__, "%s /-/faults: HTTP %d", rules ? "PUT" : "DELETE", status);
}

static bool copy_file(const char *from, const char *to)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0) return errno == ENOENT; /* no log: nothing to copy */
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = out >= 0;
    char buf[65536];
    ssize_t n;
    while (ok && (n = read(in, buf, sizeof buf)) != 0) ok = n > 0 && write(out, buf, (size_t)n) == n;
    close(in);
    if (out >= 0 && close(out) != 0) ok = false;
    return ok;
}

char *test_db_snapshot(const char *root)
{
    char dir[] = "/tmp/cos-dbcopy-XXXXXX";
    if (!mkdtemp(dir)) return NULL;
    char *path = cos_sprintf("%s/meta.db", dir);
    char *from = cos_sprintf("%s/meta.db", root), *from_wal = cos_sprintf("%s/meta.db-wal", root);
    char *to_wal = cos_sprintf("%s-wal", path);
    bool ok = copy_file(from, path) && copy_file(from_wal, to_wal);
    free(from);
    free(from_wal);
    free(to_wal);
    if (!ok) {
        test_db_snapshot_free(path);
        return NULL;
    }
    return path;
}

void test_db_snapshot_free(char *path)
{
    if (!path) return;
    char *slash = strrchr(path, '/');
    if (slash) {
        *slash = '\0';
        test_rmtree(path);
    }
    free(path);
}

bool test_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

void test_rmtree(const char *path)
{
    if (path && *path) nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void test_lcg_fill(unsigned char *buf, size_t len, uint32_t seed)
{
    uint32_t st = seed;
    for (size_t i = 0; i < len; i++) {
        st = st * 1664525u + 1013904223u;
        buf[i] = (unsigned char)(st >> 24);
    }
}

int test_write_lcg_file(const char *path, uint64_t len, uint32_t seed)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    unsigned char buf[65536];
    uint32_t st = seed;
    uint64_t left = len;
    while (left) {
        size_t n = left < sizeof buf ? (size_t)left : sizeof buf;
        for (size_t i = 0; i < n; i++) {
            st = st * 1664525u + 1013904223u;
            buf[i] = (unsigned char)(st >> 24);
        }
        if (fwrite(buf, 1, n, f) != n) {
            fclose(f);
            return -1;
        }
        left -= n;
    }
    return fclose(f) == 0 ? 0 : -1;
}

int test_files_equal(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int rc = (fa && fb) ? 0 : -1;
    unsigned char ba[65536], bb[65536];
    while (rc == 0) {
        size_t na = fread(ba, 1, sizeof ba, fa), nb = fread(bb, 1, sizeof bb, fb);
        if (na != nb || memcmp(ba, bb, na) != 0) rc = 1;
        if (na == 0) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return rc;
}

int test_server_start(test_server *s, const char *const *extra_args)
{
    const char *bin = getenv("COS_SERVER_BIN");
    if (!bin) {
        fprintf(stderr, "COS_SERVER_BIN is not set\n");
        return -1;
    }
    if (!s->root[0]) {
        char *d = test_tmpdir("server");
        if (!d) return -1;
        snprintf(s->root, sizeof s->root, "%s", d);
        free(d);
    }
    char port_file[300];
    snprintf(port_file, sizeof port_file, "%s.port", s->root);
    unlink(port_file);
    snprintf(s->log_path, sizeof s->log_path, "%s.log", s->root);

    const char *argv[64];
    int n = 0;
    argv[n++] = bin;
    argv[n++] = "--root";
    argv[n++] = s->root;
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    argv[n++] = "--port-file";
    argv[n++] = port_file;
    argv[n++] = "--secret-id";
    argv[n++] = TEST_SECRET_ID;
    argv[n++] = "--secret-key";
    argv[n++] = TEST_SECRET_KEY;
    argv[n++] = "--appid";
    argv[n++] = TEST_APPID;
    for (int i = 0; extra_args && extra_args[i] && n < 62; i++) argv[n++] = extra_args[i];
    argv[n] = NULL;

    return test_spawn_listener(s, argv, port_file);
}

int test_spawn_listener(test_server *s, const char *const *argv, const char *port_file)
{
    if (!s->log_path[0]) snprintf(s->log_path, sizeof s->log_path, "%s.log", s->root);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int fd = open(s->log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    s->pid = pid;
    /* Wait for the port file: the server writes it once it listens. */
    for (int i = 0; i < 3000; i++) {
        FILE *f = fopen(port_file, "r");
        if (f) {
            int port = 0;
            int ok = fscanf(f, "%d", &port);
            fclose(f);
            if (ok == 1 && port > 0) {
                s->port = port;
                snprintf(s->endpoint, sizeof s->endpoint, "127.0.0.1:%d", port);
                return 0;
            }
        }
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            fprintf(stderr, "%s exited early; log: %s\n", argv[0], s->log_path);
            s->pid = 0;
            return -1;
        }
        cos_sleep_ms_for_tests(10);
    }
    fprintf(stderr, "%s did not start; log: %s\n", argv[0], s->log_path);
    test_server_kill(s);
    return -1;
}

static void wait_pid(test_server *s, int timeout_ms)
{
    for (int waited = 0; s->pid > 0; waited += 10) {
        int status;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            s->pid = 0;
            return;
        }
        if (waited >= timeout_ms) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &status, 0);
            s->pid = 0;
            return;
        }
        cos_sleep_ms_for_tests(10);
    }
}

void test_server_stop(test_server *s, bool keep_root)
{
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        wait_pid(s, 5000);
    }
    if (!keep_root && s->root[0]) {
        test_rmtree(s->root);
        char p[320];
        snprintf(p, sizeof p, "%s.port", s->root);
        unlink(p);
        unlink(s->log_path);
        s->root[0] = '\0';
    }
}

void test_server_kill(test_server *s)
{
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        wait_pid(s, 5000);
    }
}

void test_config(cos_config *cfg, const test_server *s)
{
    cos_config_init(cfg);
    cfg->region = "ap-guangzhou";
    cfg->protocol = "http:";
    cfg->secret_id = TEST_SECRET_ID;
    cfg->secret_key = TEST_SECRET_KEY;
    cfg->connect_to = s->endpoint;
}

cos_client *test_client(const test_server *s)
{
    cos_config cfg;
    test_config(&cfg, s);
    cos_client *c = NULL;
    cos_error *err = NULL;
    if (cos_client_new(&c, &cfg, &err) != 0) {
        fprintf(stderr, "client: %s\n", cos_error_message(err));
        printf("0 passed, 1 failed\n");
        exit(1);
    }
    return c;
}

char *test_query_encode(const char *s)
{
    cos_buf b = COS_BUF_INIT;
    cos_uri_encode(&b, s, strlen(s), false);
    if (!b.data) cos_buf_puts(&b, "");
    return cos_buf_detach(&b);
}

char *test_v4_sign(const char *secret, const char *plain)
{
    char hex[41];
    cos_hmac_sha1_hex(secret, strlen(secret), plain, strlen(plain), hex);
    size_t pl = strlen(plain);
    unsigned char *raw = malloc(20 + pl);
    for (int i = 0; i < 20; i++) {
        unsigned v = 0;
        sscanf(hex + 2 * i, "%2x", &v);
        raw[i] = (unsigned char)v;
    }
    memcpy(raw + 20, plain, pl);
    char *b64 = malloc(((20 + pl) / 3 + 2) * 4 + 1);
    cos_base64_encode(raw, 20 + pl, b64);
    char *out = test_query_encode(b64);
    free(raw);
    free(b64);
    return out;
}

char *test_console_stub(const char *tag)
{
    char *dir = test_tmpdir(tag);
    static const char *const FILES[][2] = { { "index.html", TEST_CONSOLE_PAGE },
                                            { "cos-js-sdk-v5.min.js", "/* stub */" },
                                            { "console.js", "/* stub */" } };
    for (size_t i = 0; i < COS_ARRAY_LEN(FILES); i++) {
        char *p = cos_sprintf("%s/%s", dir, FILES[i][0]);
        FILE *f = fopen(p, "w");
        if (f) {
            fputs(FILES[i][1], f);
            fclose(f);
        }
        free(p);
    }
    return dir;
}

int test_console_port(const test_server *s)
{
    FILE *f = fopen(s->log_path, "r");
    char line[512];
    int port = 0;
    while (f && fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "console: http://127.0.0.1:");
        if (p) port = atoi(p + strlen("console: http://127.0.0.1:"));
    }
    if (f) fclose(f);
    return port;
}

cos_client *test_client_of(const cos_config *cfg)
{
    cos_client *c = NULL;
    cos_error *err = NULL;
    if (cos_client_new(&c, cfg, &err) != 0) {
        test_fail(__FILE__, __LINE__, "cos_client_new: %s", cos_error_message(err));
        cos_error_free(err);
        return NULL;
    }
    return c;
}

cos_client *test_s3_client(const char *host_port, const char *region, int max_retries)
{
    char endpoint[96];
    snprintf(endpoint, sizeof endpoint, "http://%s", host_port);
    cos_config cfg = COS_CONFIG_INIT;
    cfg.dialect = COS_DIALECT_S3;
    cfg.endpoint = endpoint;
    cfg.region = region;
    cfg.secret_id = TEST_SECRET_ID;
    cfg.secret_key = TEST_SECRET_KEY;
    cfg.max_retries = max_retries;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    return c;
}

static const char *volatile g_watch_what = "";
static volatile pid_t g_watch_pid;

static void on_watchdog(int sig)
{
    (void)sig; /* only async-signal-safe calls from here on */
    static const char m[] = "\nWATCHDOG: hung in ";
    ssize_t w = write(2, m, sizeof m - 1);
    w = write(2, g_watch_what, strlen(g_watch_what));
    w = write(2, "\n0 passed, 1 failed\n", 20);
    (void)w;
    if (g_watch_pid > 0) kill(g_watch_pid, SIGKILL); /* no server outlives the test */
    abort();
}

void test_sign_params_for(cos_sign_params *p, const cos_auth_request *req)
{
    *p = (cos_sign_params)COS_SIGN_PARAMS_INIT;
    p->secret_id = TEST_SECRET_ID;
    p->secret_key = TEST_SECRET_KEY;
    p->method = req->method;
    p->pathname = req->pathname;
    p->query = req->query;
    p->query_count = req->query_count;
    p->headers = req->headers;
    p->header_count = req->header_count;
}

int test_thread_count(void)
{
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    if (d) closedir(d);
    return n;
}

unsigned test_slow_factor(void)
{
    /* a bound for a hang is sized for a plain build; memcheck (its preload
       names it) runs code 20-50 times slower, ASan 2-3 times, and the CI
       machine is loaded besides: a watchdog that fires there is no hang */
    const char *pre = getenv("LD_PRELOAD");
    if (pre && strstr(pre, "vgpreload")) return 5;
#if defined(__SANITIZE_ADDRESS__)
    return 3;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return 3;
#endif
#endif
    return 1;
}

void test_watch(unsigned seconds, const char *what, const test_server *s)
{
    g_watch_what = what;
    g_watch_pid = s ? s->pid : 0;
    signal(SIGALRM, on_watchdog);
    alarm(seconds * test_slow_factor());
}

void test_unwatch(void) { alarm(0); }

void cos_sleep_ms_for_tests(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* One exchange on a fresh connection: send, optionally half-close, read until the server closes. */
static test_reply http_exchange(int port, const void *request, size_t len, bool half_close, int timeout_s)
{
    test_reply r = { 0, NULL, NULL };
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return r;
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = { timeout_s, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return r;
    }
    const char *p = request;
    size_t off = 0;
    while (off < len) { /* the server may answer (and close) before reading it all */
        ssize_t n = send(fd, p + off, len - off, MSG_NOSIGNAL);
        if (n <= 0) break;
        off += (size_t)n;
    }
    if (half_close) shutdown(fd, SHUT_WR);
    cos_buf b = COS_BUF_INIT;
    char buf[8192];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, 0)) > 0) cos_buf_append(&b, buf, (size_t)n);
    close(fd);
    if (b.data && sscanf(b.data, "HTTP/1.%*d %d", &r.status) == 1) {
        char *sep = strstr(b.data, "\r\n\r\n");
        r.head = strndup(b.data, sep ? (size_t)(sep - b.data) : b.len);
        r.body = strdup(sep ? sep + 4 : "");
    }
    cos_buf_free(&b);
    return r;
}

int test_http_raw(const test_server *s, const void *request, size_t len, int *status, char **body)
{
    test_reply r = http_exchange(s->port, request, len, true, 30);
    *status = r.status;
    if (body) *body = r.body;
    else free(r.body);
    free(r.head);
    return r.status ? 0 : -1;
}

int test_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

test_reply test_http_exchange(int port, const void *request, size_t len)
{
    return http_exchange(port, request, len, false, 60);
}

void test_reply_free(test_reply *r)
{
    free(r->head);
    free(r->body);
    r->head = r->body = NULL;
}

void test_expect_reply(test_reply r, int status, const char *code, const char *file, int line)
{
    char want[80] = "";
    if (code) snprintf(want, sizeof want, "<Code>%s</Code>", code);
    if (r.status != status || (code && !(r.body && strstr(r.body, want))))
        test_fail(file, line, "expected %d %s, got %d: %.300s", status, code ? code : "", r.status,
                  r.body ? r.body : "(no answer)");
    test_reply_free(&r);
}

char *test_cos_auth(const char *id, const char *key, const char *method, const char *path, const char *host,
                    const cos_kv *q, size_t nq, const cos_kv *h, size_t nh)
{
    cos_sign_params p = COS_SIGN_PARAMS_INIT;
    p.secret_id = id;
    p.secret_key = key;
    p.method = method;
    p.pathname = path;
    p.query = q;
    p.query_count = nq;
    p.headers = h;
    p.header_count = nh;
    p.host = host;
    char *auth = NULL;
    cos_error *err = NULL;
    if (cos_sign(&p, &auth, NULL, &err) != 0) test_fail(__FILE__, __LINE__, "sign: %s", cos_error_message(err));
    cos_error_free(err);
    return auth;
}

test_reply test_cos_exchange(int port, const test_cos_call *c)
{
    char *auth = NULL;
    if (c->id && !c->auth) auth = test_cos_auth(c->id, c->key, c->method, c->sign_path, c->host, c->q, c->nq, c->h, c->nh);
    const char *sent_auth = c->auth ? c->auth : auth;
    cos_buf b = COS_BUF_INIT;
    cos_buf_printf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %zu\r\nConnection: close\r\n", c->method, c->target,
                   c->host, c->blen);
    if (sent_auth) cos_buf_printf(&b, "Authorization: %s\r\n", sent_auth);
    if (c->token) cos_buf_printf(&b, "x-cos-security-token: %s\r\n", c->token);
    for (size_t i = 0; i < c->nh; i++) cos_buf_printf(&b, "%s: %s\r\n", c->h[i].name, c->h[i].value);
    if (c->extra) cos_buf_puts(&b, c->extra);
    cos_buf_puts(&b, "\r\n");
    if (c->blen) cos_buf_append(&b, c->body, c->blen);
    test_reply r = test_http_exchange(port, b.data, b.len);
    cos_buf_free(&b);
    free(auth);
    return r;
}

test_tmpkey test_sts_key(int port, const char *id, const char *key, const char *token, const char *policy,
                         const char *file, int line)
{
    char host[64];
    snprintf(host, sizeof host, "127.0.0.1:%d", port);
    cos_buf t = COS_BUF_INIT;
    cos_buf_puts(&t, "/sts?policy=");
    cos_uri_encode(&t, policy, strlen(policy), false);
    cos_kv q[] = { { "policy", policy } };
    test_cos_call c = { "GET", host, t.data, "/sts", id, key, token, q, 1, NULL, 0, NULL, NULL, NULL, 0 };
    test_reply r = test_cos_exchange(port, &c);
    cos_buf_free(&t);
    return test_tmpkey_of(&r, file, line);
}

test_tmpkey test_tmpkey_of(test_reply *r, const char *file, int line)
{
    test_tmpkey k = { test_json_str(r->body, "tmpSecretId"), test_json_str(r->body, "tmpSecretKey"),
                      test_json_str(r->body, "sessionToken") };
    if (r->status != 200 || !k.id || !k.key || !k.token)
        test_fail(file, line, "no temporary key: %d %.200s", r->status, r->body ? r->body : "");
    test_reply_free(r);
    return k;
}

long test_rss_kib(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
    if (f) fclose(f);
    return kib;
}

void test_tmpkey_free(test_tmpkey *k)
{
    free(k->id);
    free(k->key);
    free(k->token);
    k->id = k->key = k->token = NULL;
}

char *test_reply_header(const test_reply *r, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = r->head; p && *p;) {
        const char *eol = strstr(p, "\r\n");
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > n && !strncasecmp(p, name, n) && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ') v++;
            return strndup(v, len - (size_t)(v - p));
        }
        p = eol ? eol + 2 : p + len;
    }
    return NULL;
}

char *test_xml_value(const char *body, const char *tag)
{
    char open[64], close[64];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *a = body ? strstr(body, open) : NULL;
    const char *b = a ? strstr(a, close) : NULL;
    return b ? strndup(a + strlen(open), (size_t)(b - a - strlen(open))) : NULL;
}

cos_request test_generic_request(const char *method, const char *bucket, const char *key, const char *action,
                                 const cos_kv *query, size_t nq, const cos_kv *headers, size_t nh, const char *body)
{
    cos_request r = COS_REQUEST_INIT;
    r.method = method;
    r.bucket = bucket;
    r.key = key;
    r.action = action;
    r.query = query;
    r.query_count = nq;
    r.headers = headers;
    r.header_count = nh;
    if (body) {
        r.body.data = body;
        r.body.size = strlen(body);
    }
    return r;
}

int test_select_holds(const test_server *s, const char *bucket, const char *key, const cos_kv *h, size_t nh,
                      const char *doc, const char *want)
{
    cos_client *cl = test_client(s);
    cos_request rq = test_generic_request("POST", bucket, key, "select", (cos_kv[]){ { "select-type", "2" } }, 1,
                                          h, nh, doc);
    cos_result *res = NULL;
    cos_error *err = NULL;
    int rc = cos_send_request(cl, &rq, &res, &err) != 0 ? -1
             : res->body && memmem(res->body, res->body_size, want, strlen(want)) ? 1 : 0;
    cos_result_free(res);
    cos_error_free(err);
    cos_client_free(cl);
    return rc;
}

static void put_bucket_with_acl(cos_client *c, const char *bucket, const char *canned_acl)
{
    cos_kv acl = { "x-cos-acl", canned_acl };
    cos_request b = COS_REQUEST_INIT;
    b.bucket = bucket;
    b.headers = canned_acl ? &acl : NULL;
    b.header_count = canned_acl ? 1 : 0;
    cos_result *r = NULL;
    cos_error *err = NULL;
    if (!c || cos_put_bucket(c, &b, &r, &err) != 0)
        test_fail(__FILE__, __LINE__, "cannot create bucket %s: %s", bucket, c ? cos_error_message(err) : "no client");
    cos_result_free(r);
    cos_error_free(err);
}

void test_put_bucket(cos_client *c, const char *bucket)
{
    put_bucket_with_acl(c, bucket, NULL);
}

void test_put_bucket_acl_on(const test_server *s, const char *bucket, const char *canned_acl)
{
    cos_config cfg;
    test_config(&cfg, s);
    cos_client *c = NULL;
    cos_client_new(&c, &cfg, NULL);
    put_bucket_with_acl(c, bucket, canned_acl);
    cos_client_free(c);
}

void test_put_bucket_on(const test_server *s, const char *bucket)
{
    test_put_bucket_acl_on(s, bucket, NULL);
}

void test_put_object_on(const test_server *s, const char *bucket, const char *key, const char *data)
{
    cos_client *c = test_client(s);
    cos_request r = COS_REQUEST_INIT;
    r.bucket = bucket;
    r.key = key;
    r.body.data = data;
    r.body.size = strlen(data);
    cos_error *err = NULL;
    CHECK_INT(cos_put_object(c, &r, NULL, &err), 0);
    cos_error_free(err);
    cos_client_free(c);
}

int test_file_composite_crc32c(const char *path, uint64_t part, int parts, char *out)
{
    char cks[8][COS_CKSUM_B64_MAX];
    const char *ckp[8];
    if (parts < 1 || parts > 8) return -1;
    FILE *f = fopen(path, "rb");
    unsigned char *buf = malloc(part);
    int rc = f && buf ? 0 : -1;
    for (int i = 0; rc == 0 && i < parts; i++) {
        size_t n = fread(buf, 1, part, f);
        cos_cksum *ck = cos_cksum_new(COS_CKSUM_CRC32C);
        cos_cksum_update(ck, buf, n);
        cos_cksum_b64(ck, cks[i]);
        cos_cksum_free(ck);
        ckp[i] = cks[i];
    }
    if (f) fclose(f);
    free(buf);
    if (rc == 0 && cos_cksum_composite(COS_CKSUM_CRC32C, ckp, (size_t)parts, out) == 0) rc = -1;
    return rc;
}

char *test_json_str(const char *json, const char *name)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", name);
    const char *s = json ? strstr(json, pat) : NULL;
    if (!s) return NULL;
    s += strlen(pat);
    return strndup(s, strcspn(s, "\""));
}

/*
 * testlib.h — the tiny test harness of cos-c.
 *
 *   static void test_something(void) { CHECK(1 + 1 == 2); CHECK_STR(a, "x"); }
 *   int main(void) { RUN(test_something); return test_report(); }
 *
 * test_report() prints "N passed, N failed" (what CI reads) and returns the
 * exit status. Integration tests start a private cos-server with
 * test_server_start() and stop it with test_server_stop().
 */
#ifndef COS_TESTLIB_H
#define COS_TESTLIB_H

#include "cos/sign.h"
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cos/cos.h"

extern int test_failures_in_current;

void test_fail(const char *file, int line, const char *fmt, ...);
void test_run(const char *name, void (*fn)(void));
int test_report(void);

#define RUN(fn) test_run(#fn, fn)
#define CHECK(cond) do { if (!(cond)) test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond); } while (0)
#define CHECK_STR(a, b) do { const char *a_ = (a), *b_ = (b); \
    if (!a_ || !b_ || strcmp(a_, b_) != 0) test_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); } while (0)
#define CHECK_INT(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
    if (a_ != b_) test_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, a_, b_); } while (0)
/* rc must be 0; otherwise print the cos_error and free it. */
#define CHECK_OK(rc, err) do { int rc_ = (rc); if (rc_ != 0) { \
    test_fail(__FILE__, __LINE__, "%s failed: rc=%d %s%s%s", #rc, rc_, (err) ? cos_error_message(err) : "", \
              (err) && (err)->code ? " code=" : "", (err) && (err)->code ? (err)->code : ""); \
    cos_error_free(err); (err) = NULL; } } while (0)

/* Read a whole file (tests/data/NAME when relative); NULL if missing. Caller frees. */
char *test_read_data(const char *name, size_t *len);
/* The string value of "name" in a flat JSON text such as /sts answers (malloc'd), NULL if absent. */
char *test_json_str(const char *json, const char *name);

/* Development keys cos-server uses when none are given (documented in docs/cos-server.md). */
#define TEST_SECRET_ID "AKIDcosLOCALdevelopment0000000000000"
#define TEST_SECRET_KEY "cosLOCALdevelopmentSECRETkey00000"
#define TEST_APPID "1250000000"

typedef struct test_server {
    int pid;
    int port;
    char root[256];          /* temporary data directory (removed on stop) */
    char endpoint[64];       /* "127.0.0.1:PORT" */
    char log_path[300];      /* the server's stdout/stderr */
} test_server;

/*
 * Start cos-server (COS_SERVER_BIN) on a free loopback port with a new temp
 * root and the development keys. extra_args: NULL-terminated argv tail, or NULL.
 * Returns 0 on success. Reuses s->root if it is already set (restart).
 */
int test_server_start(test_server *s, const char *const *extra_args);
/* Start any server given its full argv (argv[0] looked up in PATH) that
 * writes its port to port_file once it listens; output goes to s->log_path
 * (default ROOT.log). test_server_stop stops it. */
int test_spawn_listener(test_server *s, const char *const *argv, const char *port_file);
/* Send raw bytes (a whole HTTP/1.1 request, as a hostile client would) to
 * the server and read until it closes. *status is the response's status (0
 * if none); *body (may be NULL) is the body, malloc'd. 0, or -1 when the
 * server sent no HTTP response at all. */
int test_http_raw(const test_server *s, const void *request, size_t len, int *status, char **body);
/* A blocking TCP connection to 127.0.0.1:port (close-on-exec), or -1. */
int test_connect(int port);
/* A raw exchange's answer: status 0 when none came; head (the header block) and body malloc'd. */
typedef struct test_reply { int status; char *head, *body; } test_reply;
/* Send raw bytes to 127.0.0.1:port on a fresh connection without half-closing it, and read the
 * answer until the server closes (requests carry Connection: close). */
test_reply test_http_exchange(int port, const void *request, size_t len);
void test_reply_free(test_reply *r);
/* Fails the test unless r has this status and, when code is set, that <Code>; frees r. */
void test_expect_reply(test_reply r, int status, const char *code, const char *file, int line);
/* The Authorization cos_sign makes (malloc'd) for method on path at host with the
 * query pairs q and headers h signed by id/key; NULL, the reason a test failure, on error. */
char *test_cos_auth(const char *id, const char *key, const char *method, const char *path, const char *host,
                    const cos_kv *q, size_t nq, const cos_kv *h, size_t nh);
/* A raw COS request as a hand-made client sends it: "METHOD target", Host, Content-Length,
 * Connection: close, then Authorization (signed by id/key for sign_path with q and h: id NULL
 * sends none), x-cos-security-token (when token), the headers h, the raw lines `extra` (each
 * ending in CRLF, not signed) and the body. The target is sent as given: it must carry q. */
typedef struct test_cos_call {
    const char *method, *host, *target, *sign_path;
    const char *id, *key, *token;
    const cos_kv *q;
    size_t nq;
    const cos_kv *h;
    size_t nh;
    const char *auth; /* when set: sent as the Authorization instead of signing */
    const char *extra;
    const void *body;
    size_t blen;
} test_cos_call;
/* Send it to 127.0.0.1:port (test_http_exchange) and return the answer. */
test_reply test_cos_exchange(int port, const test_cos_call *c);
/* The value of the header name in r's head (malloc'd; case-insensitive name), NULL if absent. */
char *test_reply_header(const test_reply *r, const char *name);
/* The text between <tag> and </tag> (the first) in body (malloc'd), NULL if absent. */
char *test_xml_value(const char *body, const char *tag);
/* s percent-encoded for a query value (RFC 3986's unreserved kept; malloc'd). */
char *test_query_encode(const char *s);
/* The sign= of cos-nodejs-sdk-v5's getV4Auth for the plain text given, keyed by secret:
 * base64(HMAC-SHA1(secret, plain) || plain), URL-encoded for a query (malloc'd). */
char *test_v4_sign(const char *secret, const char *plain);
/* A temporary key from cos-server's /sts (all malloc'd). */
typedef struct test_tmpkey { char *id, *key, *token; } test_tmpkey;
/* GET /sts?policy=POLICY on 127.0.0.1:port (Host: that address), signed by id/key (token: sent when
 * set); the key it answers, a test failure at file:line when it answers none. */
test_tmpkey test_sts_key(int port, const char *id, const char *key, const char *token, const char *policy,
                         const char *file, int line);
/* The key in an /sts answer r (which it frees); a test failure at file:line unless r is a 200 with one. */
test_tmpkey test_tmpkey_of(test_reply *r, const char *file, int line);
void test_tmpkey_free(test_tmpkey *k);
/* The resident set of process pid in KiB (VmRSS), -1 if unknown. */
long test_rss_kib(int pid);
/* Stop it (SIGTERM, then SIGKILL after 5 s) and remove its root unless keep_root. */
void test_server_stop(test_server *s, bool keep_root);
/* Kill -9 (for crash tests); the root is kept. */
void test_server_kill(test_server *s);

/* A cos_config pointing at the server: dev keys, region ap-guangzhou, http,
 * virtual-hosted names connected to 127.0.0.1:PORT. */
void test_config(cos_config *cfg, const test_server *s);

/* A client made from test_config(s); on failure the reason is printed and
 * the test exits as failed. */
cos_client *test_client(const test_server *s);
/* A client made from cfg (any config a test built); NULL, the reason a test
 * failure, if it cannot be made. */
cos_client *test_client_of(const cos_config *cfg);

/* A client of the S3 dialect for http://HOST_PORT (cos-server or a fake
 * server) with the development keys; max_retries as cos_config's. NULL, the
 * reason checked as a failure, if it cannot be made. */
cos_client *test_s3_client(const char *host_port, const char *region, int max_retries);

/* A watchdog for tests of hangs: unless test_unwatch() comes first, after
 * `seconds` it prints what hung, kills server s (if any) and aborts, so a
 * deadlock fails the test instead of hanging CI. */
/* Sign params for an Authorization callback's request with the development keys (host left to the caller). */
void test_sign_params_for(cos_sign_params *p, const cos_auth_request *req);
/* (seconds is for a plain build: stretched by test_slow_factor()) */
void test_watch(unsigned seconds, const char *what, const test_server *s);
/* How many threads this process has now (/proc/self/task). */
int test_thread_count(void);
/* 5 under valgrind, 3 under ASan, else 1: how much longer a bound that only
 * ends a hung test may be. */
unsigned test_slow_factor(void);
void test_unwatch(void);

/* Replace cos-server's fault rules (server/faults.c; the server runs with
 * --faults) with `rules`, a JSON array, or clear them (and let held requests
 * go) with NULL; test_fail on error. */
void test_set_faults(cos_client *c, const test_server *s, const char *rules);
/* METHOD /-/faults with body (NULL: none), signed with id/secret (id NULL:
 * unsigned); the answer's status, 0 when none came. */
int test_faults_request(const test_server *s, const char *method, const char *body, const char *id,
                        const char *secret);
/* How many requests the "pause" fault holds now (GET /-/faults, looked at
 * again on a new connection when an answer is slow), -1 when unknown. */
int test_faults_paused(const test_server *s);
/* Another count GET /-/faults answers (e.g. "dir_waits"); 0 when the server
 * does not keep it, -1 when no answer came. */
int test_faults_count(const test_server *s, const char *name);
/* Until the "pause" fault holds n requests: false if it does not within the
 * pause's own bound (a hung test, not a slow one). */
bool test_wait_paused(const test_server *s, int n);
/* Whether a path exists (lstat: a dangling symlink counts). */
bool test_exists(const char *path);
/* A copy of a running server's meta.db and its log, taken while it is idle
 * (no request in flight), in a temp dir of its own: another process cannot
 * open the server's own (it keeps its locks in memory: server/walvfs.c).
 * The copy's path (open it with SQLite), NULL on failure; freed with its
 * directory by test_db_snapshot_free. */
char *test_db_snapshot(const char *root);
void test_db_snapshot_free(char *path);

/* A request for cos_send_request (the generic operation): method, bucket,
 * key, action, query and headers as given, a NUL-terminated body or none. */
cos_request test_generic_request(const char *method, const char *bucket, const char *key, const char *action,
                                 const cos_kv *query, size_t nq, const cos_kv *headers, size_t nh, const char *body);
/* SELECT (POST ?select&select-type=2) of bucket/key with doc and headers h, by the owner through
 * libcos (the event stream holds NULs): 1 when the answer is a 200 whose stream holds want, 0 when
 * it does not, -1 when the request failed. */
int test_select_holds(const test_server *s, const char *bucket, const char *key, const cos_kv *h, size_t nh,
                      const char *doc, const char *want);

/* Create a bucket with client c / with a client for server s (with a canned
 * ACL such as "public-read-write", or NULL); test_fail on error. */
void test_put_bucket(cos_client *c, const char *bucket);
void test_put_bucket_on(const test_server *s, const char *bucket);
void test_put_bucket_acl_on(const test_server *s, const char *bucket, const char *canned_acl);
/* PUT bucket/key with the text data through a client of its own (a test failure if it fails). */
void test_put_object_on(const test_server *s, const char *bucket, const char *key, const char *data);

/* A stub web console for cos-server's --console-dir: a temp directory (tag names it; malloc'd,
 * test_rmtree it) with index.html (TEST_CONSOLE_PAGE) and stub scripts. */
#define TEST_CONSOLE_PAGE "<!doctype html><title>stub</title>"
char *test_console_stub(const char *tag);
/* The port of s's console listener, from its log line "console: http://127.0.0.1:PORT/"; 0 if none. */
int test_console_port(const test_server *s);
/* Make a temp directory under $TMPDIR; returns a static-lifetime-free malloc'd path. */
char *test_tmpdir(const char *tag);
/* rm -rf */
void test_rmtree(const char *path);
/* Send all of buf on a socket (no SIGPIPE); false if the peer went away. */
bool test_send_all(int fd, const void *buf, size_t len);
/* How many times needle occurs in hay (NULL: none), not overlapping. */
int test_count_of(const char *hay, const char *needle);
/* In-process fake servers: a socket listening on 127.0.0.1 at a free port
 * (-1 on failure), and a detached thread that accepts on it for ever and runs
 * conn((void *)(intptr_t)fd) on a detached thread per connection. */
int test_listen_loopback(int *port);
void test_serve_forever(int listen_fd, void *(*conn)(void *));
/* Both, for a test's fake server: its port in *port; a test program that
 * cannot listen ends there ("0 passed, 1 failed", exit 1). */
void test_start_fake_server(int *port, void *(*conn)(void *));
/* Read a request's head (up to and including its blank line) into buf, NUL
 * terminated; a pointer to the blank line's "\r\n\r\n", or NULL if the peer
 * went away or the head does not fit. Bytes of the body may follow it. */
char *test_recv_head(int fd, char *buf, size_t size, size_t *got);
/* The next request on a kept connection, for a recording server: its head
 * (malloc'd, NUL terminated), its body (by Content-Length) read and
 * dropped; NULL once the peer went away or a head does not fit. buf/got
 * carry what was read past it to the next call (start with *got = 0). */
char *test_next_request(int fd, char *buf, size_t size, size_t *got);
/* How many header lines of a request head have this name (any case);
 * *value (may be NULL) gets the first one's value, malloc'd. */
int test_header_count(const char *head, const char *name, char **value);
/* A counter threads wait on: test_latch_wait(l, n) returns once it is >= n. */
typedef struct test_latch {
    pthread_mutex_t m;
    pthread_cond_t cv;
    int count;
} test_latch;
#define TEST_LATCH_INIT { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 }
void test_latch_add(test_latch *l);
void test_latch_wait(test_latch *l, int n);
int test_latch_count(test_latch *l);
/* Write `len` LCG bytes (seed) to path; returns 0 on success. */
int test_write_lcg_file(const char *path, uint64_t len, uint32_t seed);
/* Fill buf with LCG bytes (the vectors' generator). */
void test_lcg_fill(unsigned char *buf, size_t len, uint32_t seed);
/* The composite CRC32C S3 keeps for a multipart upload of path cut in
 * part-byte parts (at most 8): base64 of the CRC32C of the parts'
 * CRC32Cs, then "-N". Into out (COS_CKSUM_COMPOSITE_MAX bytes); 0 on success. */
int test_file_composite_crc32c(const char *path, uint64_t part, int parts, char *out);
/* Compare two files byte for byte; 0 if equal. */
int test_files_equal(const char *a, const char *b);

/* Sleep (tests only). */
void cos_sleep_ms_for_tests(int ms);

#endif

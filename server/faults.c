/*
 * faults.c — fault injection for tests (enabled with --faults): PUT /-/faults
 * with a JSON list of rules makes matching requests fail the way networks and
 * servers do; DELETE /-/faults clears them. Both must be signed with the
 * server owner's permanent key (--secret-id/--secret-key).
 *   [{"method": "PUT", "match": "partNumber=2", "action": "status", "status": 503,
 *     "code": "SlowDown", "times": 1}, ...]
 * actions: status (an error response), drop (close the connection),
 * stall (hold the request "ms", then serve it), bad_crc (serve with a wrong
 * x-cos-hash-crc64ecma), fail_commit (the request's metadata commits after
 * the first "commits" fail as a full disk's would: what a crash or ENOSPC
 * between two of a request's commits leaves), pause (the request's object
 * write or DELETE waits, decided but not yet made, until DELETE /-/faults:
 * store_fault_pause), pause_dir (its body waits once it has made a new
 * data/ subdirectory, before the directory is durable), lock_db (SQLite's
 * write lock on meta.db taken and held, the request answered 200 once it
 * is: store_fault_lock_db) — "match" is a substring of "METHOD path?query".
 * DELETE /-/faults also lets every held request go on at once (and drops
 * lock_db's lock); GET /-/faults answers how many a pause holds and how
 * many bodies wait for another's directory ({"paused": N, "dir_waits": M}),
 * rules unchanged.
 *
 * A held request holds only itself: its connection is suspended
 * (MHD_suspend_connection) and a timer thread resumes it when its time is up.
 * Sleeping instead would hold the libmicrohttpd worker thread, and with it
 * every other connection that thread serves. Paced requests
 * (x-cos-traffic-limit, archive.c) pause the same way (server_hold), with
 * or without --faults.
 *
 * The fault bucket (--fault-bucket NAME, "*" for every bucket) is what the
 * official SDKs' retry tests talk to: its keys name the answer and nothing
 * is stored. "500", "503", "504", "400", "403", "404", "301", "302", "307",
 * "200", "204", "206": that status (3xx with a Location, 2xx with a body the
 * method expects); a trailing "r" adds x-cos-request-id, which is otherwise
 * left out (SDKs decide on it whether to switch domains); "shutdown" closes
 * the connection unanswered; "timeout" answers only after 31 s (past the
 * SDKs' 30 s default; held as a stall is). With --fault-once a failing key fails every other
 * request, so a client's first retry succeeds (the Python suite's mock); a
 * trailing "l" fails always regardless.
 */
#define _GNU_SOURCE
#include "server.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <strings.h>
#include <time.h>

typedef struct fault_rule {
    char *method, *match, *action, *code;
    int status, times, ms, commits;
} fault_rule;

/* ---------------------------------------------------------------- held requests */

typedef struct held {
    struct MHD_Connection *conn;
    int64_t until_ms; /* cos_mono_ms() */
    bool fault;       /* a stall: DELETE /-/faults lets it go (a pace is never cut short) */
    int watch_fd;     /* >= 0: let it go once its client has closed (server_hold_watched) */
    struct held *next;
} held;

struct fault_stalls {
    pthread_mutex_t lock;
    pthread_cond_t wake; /* on CLOCK_MONOTONIC, as cos_mono_ms */
    pthread_t timer;
    bool stopping;
    held *head;
};

/* Resume every held request whose time is up (with faults, every stall;
 * with all, every one); under fs->lock. */
static int64_t resume_due(struct fault_stalls *fs, bool faults, bool all)
{
    int64_t now = cos_mono_ms(), next = INT64_MAX;
    for (held **p = &fs->head; *p;) {
        held *h = *p;
        if (all || (faults && h->fault) || h->until_ms <= now) {
            *p = h->next;
            MHD_resume_connection(h->conn); /* its request (or its answer's reader) is called again */
            free(h);
        } else {
            if (h->until_ms < next) next = h->until_ms;
            p = &h->next;
        }
    }
    return next;
}

/* A suspended connection never reads, so libmicrohttpd cannot see its client
 * leave: a paced PUT whose client had gone held its slot, descriptor and
 * temp file until its pause ended (up to TRAFFIC_PAUSE_MAX_MS). Watched
 * holds are looked at every HOLD_WATCH_MS; one whose client has closed (or
 * shut down its sending side) is due now. Under fs->lock; the next look, or
 * INT64_MAX when nothing is watched. */
#define HOLD_WATCH_MS 500
static int64_t watch_gone(struct fault_stalls *fs)
{
    bool any = false;
    for (held *h = fs->head; h; h = h->next) {
        if (h->watch_fd < 0 || !h->until_ms) continue;
        any = true;
        struct pollfd p = { h->watch_fd, POLLRDHUP, 0 };
        if (poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) h->until_ms = 0;
    }
    return any ? cos_mono_ms() + HOLD_WATCH_MS : INT64_MAX;
}

static void *stall_timer(void *arg)
{
    struct fault_stalls *fs = arg;
    pthread_mutex_lock(&fs->lock);
    while (!fs->stopping) {
        int64_t look = watch_gone(fs);
        int64_t next = resume_due(fs, false, false);
        if (look < next) next = look;
        if (next == INT64_MAX) {
            pthread_cond_wait(&fs->wake, &fs->lock);
            continue;
        }
        struct timespec ts = { (time_t)(next / 1000), (long)(next % 1000) * 1000000L };
        pthread_cond_timedwait(&fs->wake, &fs->lock, &ts);
    }
    pthread_mutex_unlock(&fs->lock);
    return NULL;
}

int hold_start(server *s)
{
    struct fault_stalls *fs = calloc(1, sizeof *fs);
    if (!fs) return -1;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&fs->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&fs->lock, NULL);
    if (pthread_create(&fs->timer, NULL, stall_timer, fs) != 0) {
        pthread_cond_destroy(&fs->wake);
        pthread_mutex_destroy(&fs->lock);
        free(fs);
        return -1;
    }
    s->stalls = fs;
    return 0;
}

/* Let every held request go on now (DELETE /-/faults). */
static void release_held(server *s)
{
    struct fault_stalls *fs = s->stalls;
    if (!fs) return;
    pthread_mutex_lock(&fs->lock);
    resume_due(fs, true, false);
    pthread_mutex_unlock(&fs->lock);
}

/* Before the daemon stops: libmicrohttpd must not stop with a connection
 * suspended, so every held one is resumed and no new one is held. The
 * state itself stays until hold_free: a resumed request goes on calling
 * server_hold (each paced piece asks) until the daemon has stopped, and
 * freeing it here made that call lock a destroyed mutex (a stop that
 * hung for ever, about one in three under valgrind's timing). */
void hold_stop(server *s)
{
    struct fault_stalls *fs = s->stalls;
    if (!fs) return;
    pthread_mutex_lock(&fs->lock);
    bool joined = fs->stopping;
    fs->stopping = true;
    resume_due(fs, false, true);
    pthread_cond_signal(&fs->wake);
    pthread_mutex_unlock(&fs->lock);
    if (!joined) pthread_join(fs->timer, NULL);
}

/* After the daemon has stopped: nothing can call server_hold any more. */
void hold_free(server *s)
{
    struct fault_stalls *fs = s->stalls;
    if (!fs) return;
    hold_stop(s);
    pthread_cond_destroy(&fs->wake);
    pthread_mutex_destroy(&fs->lock);
    free(fs);
    s->stalls = NULL;
}

static bool hold_conn(server *s, struct MHD_Connection *conn, int64_t until_ms, bool fault, req *r, int after,
                      bool watch, bool registered)
{
    struct fault_stalls *fs = s->stalls;
    if (!fs) return false;
    held *h = calloc(1, sizeof *h);
    if (!h) return false;
    pthread_mutex_lock(&fs->lock);
    if (fs->stopping) {
        pthread_mutex_unlock(&fs->lock);
        free(h);
        return false;
    }
    if (r && r->fin_state == FIN_RUNNING) {
        /* on a finisher, its connection already suspended: held once its dispatch has
           returned (server_hold_registered), so the timer never resumes it mid-dispatch */
        pthread_mutex_unlock(&fs->lock);
        free(h);
        r->hold_until = until_ms;
        r->hold_fault = fault;
        r->fault_resume = after;
        return true;
    }
    h->conn = conn;
    h->until_ms = until_ms;
    h->fault = fault;
    h->watch_fd = -1;
    if (watch) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (ci) h->watch_fd = ci->connect_fd;
    }
    h->next = fs->head;
    fs->head = h;
    if (r) r->fault_resume = after;
    /* suspended before the timer can see it (it takes the lock to resume) */
    if (!registered) MHD_suspend_connection(conn);
    pthread_cond_signal(&fs->wake);
    pthread_mutex_unlock(&fs->lock);
    return true;
}

bool server_hold(server *s, struct MHD_Connection *conn, int64_t until_ms)
{
    return hold_conn(s, conn, until_ms, false, NULL, 0, false, false);
}

bool server_hold_watched(server *s, struct MHD_Connection *conn, int64_t until_ms)
{
    return hold_conn(s, conn, until_ms, false, NULL, 0, true, false);
}

/* Hold r's connection for ms, then dispatch it again, which then does
 * `after`. false when it cannot be held (the server is stopping): serve now. */
static bool hold(req *r, int64_t ms, int after)
{
    return hold_conn(r->srv, r->conn, cos_mono_ms() + (ms > 0 ? ms : 0), true, r, after, false, false);
}

bool server_hold_registered(server *s, req *r)
{
    int64_t until = r->hold_until;
    r->hold_until = 0;
    return hold_conn(s, r->conn, until, r->hold_fault, NULL, 0, false, true);
}

/* ---------------------------------------------------------------- rules */

void fault_clear(server *s)
{
    for (size_t i = 0; i < s->nfaults; i++) {
        free(s->faults[i].method);
        free(s->faults[i].match);
        free(s->faults[i].action);
        free(s->faults[i].code);
    }
    free(s->faults);
    s->faults = NULL;
    s->nfaults = 0;
}

enum MHD_Result fault_endpoint(req *r)
{
    server *s = r->srv;
    if (!s->cfg.faults) return send_error(r, "NoSuchBucket", "fault injection is off (start with --faults)");
    /* the rules make any request fail, stall or lie: only the owner's own
       account (its permanent key, not a temporary one, not another account's) */
    enum MHD_Result ret;
    if (authenticate(r, &ret) != 0) return ret;
    if (!r->principal || strcmp(r->principal, "owner") != 0 || r->account)
        return send_error(r, "AccessDenied", "/-/faults needs a request signed with the server owner's permanent key.");
    /* a COS signature covers no body: whoever saw one signed PUT of rules
       could send it again, within its key time, with rules of their own */
    if (r->body.len && !r->body_signed)
        return send_error(r, "AccessDenied", "Access Denied: the rules must be bound to the signature (their "
                                             "Content-MD5 among the signed headers).");
    if (r->body.len && !content_md5_ok(r, r->body.data, r->body.len, &ret)) return ret;
    if (!strcmp(r->method, "GET")) { /* the rules stay: how many requests a "pause" holds now */
        char *state = cos_sprintf("{\"ok\":true,\"paused\":%d,\"dir_waits\":%d}", store_fault_paused(),
                                  store_dir_waits());
        return send_buffer(r, 200, "application/json", state, strlen(state), NULL);
    }
    pthread_mutex_lock(&s->fault_lock);
    fault_clear(s);
    if (!strcmp(r->method, "PUT") || !strcmp(r->method, "POST")) {
        cos_json *j = cos_json_parse(r->body.data ? r->body.data : "", r->body.len, NULL);
        if (!j || j->type != COS_JSON_ARRAY) {
            pthread_mutex_unlock(&s->fault_lock);
            cos_json_free(j);
            return send_error(r, "MalformedXML", "fault rules must be a JSON array");
        }
        s->faults = calloc(j->count + 1, sizeof *s->faults);
        for (size_t i = 0; i < j->count; i++) {
            const cos_json *e = &j->items[i];
            fault_rule *f = &s->faults[s->nfaults++];
            f->method = cos_strdup(cos_json_get_str(e, "method"));
            f->match = cos_strdup(cos_json_get_str(e, "match"));
            f->action = cos_strdup(cos_json_get_str(e, "action") ? cos_json_get_str(e, "action") : "status");
            f->code = cos_strdup(cos_json_get_str(e, "code") ? cos_json_get_str(e, "code") : "InternalError");
            int64_t v = 0;
            f->status = cos_json_get_i64(e, "status", &v) ? (int)v : 500;
            f->times = cos_json_get_i64(e, "times", &v) ? (int)v : 1;
            f->ms = cos_json_get_i64(e, "ms", &v) ? (int)v : 1000;
            f->commits = cos_json_get_i64(e, "commits", &v) ? (int)v : 0;
        }
        cos_json_free(j);
    }
    pthread_mutex_unlock(&s->fault_lock);
    if (!strcmp(r->method, "DELETE")) {
        release_held(s);
        store_fault_release();
    }
    ret = send_buffer(r, 200, "application/json", cos_strdup("{\"ok\":true}"), 11, NULL);
    return ret;
}

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    cos_buf *b = cls;
    cos_buf_printf(b, "%s%s%s%s", b->len ? "&" : "?", key, value ? "=" : "", value ? value : "");
    return MHD_YES;
}

/* --fault-once: which keys failed last time (a short list: the suites use a few dozen). */
static struct { char key[64]; char host[128]; bool failed; } g_once[256];
static size_t g_nonce;

/* Whether this request to a fault key fails now (toggles per key and host). */
static bool once_fails(server *s, const char *key, const char *host)
{
    pthread_mutex_lock(&s->fault_lock);
    size_t i = 0;
    while (i < g_nonce && (strcmp(g_once[i].key, key) || strcmp(g_once[i].host, host))) i++;
    if (i == g_nonce && g_nonce < COS_ARRAY_LEN(g_once)) {
        snprintf(g_once[i].key, sizeof g_once[i].key, "%s", key);
        snprintf(g_once[i].host, sizeof g_once[i].host, "%s", host);
        g_once[i].failed = false;
        g_nonce++;
    }
    bool fail = i < g_nonce ? !g_once[i].failed : true;
    if (i < g_nonce) g_once[i].failed = fail;
    pthread_mutex_unlock(&s->fault_lock);
    return fail;
}

static const char *fault_code(int status)
{
    switch (status) {
    case 400: return "InvalidArgument";
    case 403: return "AccessDenied";
    case 404: return "NoSuchKey";
    case 503: return "ServiceUnavailable";
    case 504: return "GatewayTimeout";
    default: return "InternalError";
    }
}

/* A success the method expects, made up (the fault bucket stores nothing). */
static enum MHD_Result fault_success(req *r, int status)
{
    static const char BODY[] = "cos-server fault bucket\n";
    struct MHD_Response *resp;
    char crc[32];
    bool copy = !strcmp(r->method, "PUT") && req_header(r, "x-cos-copy-source");
    if (copy) {
        static const char DOC[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CopyObjectResult><ETag>"
                                  "\"d41d8cd98f00b204e9800998ecf8427e\"</ETag><LastModified>2020-01-01T00:00:00.000Z"
                                  "</LastModified></CopyObjectResult>";
        resp = MHD_create_response_from_buffer(sizeof DOC - 1, (char *)DOC, MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(resp, "Content-Type", "application/xml");
    } else if ((!strcmp(r->method, "GET") || !strcmp(r->method, "HEAD")) && status != 204) {
        size_t off = status == 206 ? 4 : 0;
        resp = MHD_create_response_from_buffer(sizeof BODY - 1 - off, (char *)BODY + off, MHD_RESPMEM_PERSISTENT);
        snprintf(crc, sizeof crc, "%llu", (unsigned long long)cos_crc64(0, BODY + off, sizeof BODY - 1 - off));
        MHD_add_response_header(resp, "x-cos-hash-crc64ecma", crc);
        MHD_add_response_header(resp, "Content-Type", "text/plain");
        if (status == 206) {
            char cr[64];
            snprintf(cr, sizeof cr, "bytes 4-%zu/%zu", sizeof BODY - 2, sizeof BODY - 1);
            MHD_add_response_header(resp, "Content-Range", cr);
        }
    } else {
        resp = MHD_create_response_from_buffer(0, (char *)"", MHD_RESPMEM_PERSISTENT);
        if (!strcmp(r->method, "PUT")) {
            snprintf(crc, sizeof crc, "%llu", (unsigned long long)cos_crc64(0, r->body.data ? r->body.data : "", r->body.len));
            MHD_add_response_header(resp, "x-cos-hash-crc64ecma", crc);
        }
    }
    MHD_add_response_header(resp, "ETag", "\"d41d8cd98f00b204e9800998ecf8427e\"");
    return send_response(r, status, resp);
}

/* The fault bucket: true when the answer was decided here. */
static bool fault_bucket_apply(req *r, enum MHD_Result *ret)
{
    server *s = r->srv;
    const char *fb = s->cfg.fault_bucket;
    if (!fb || !r->bucket || !r->key || (strcmp(fb, "*") != 0 && strcmp(fb, r->bucket) != 0)) return false;
    const char *k = strrchr(r->key, '/') ? strrchr(r->key, '/') + 1 : r->key;
    char *end = NULL;
    long status = strtol(k, &end, 10);
    bool numeric = end != k && status >= 200 && status <= 599;
    const char *flags = numeric ? end : "";
    bool with_id = strchr(flags, 'r') != NULL, always = strchr(flags, 'l') != NULL;
    bool shutdown = !strcmp(k, "shutdown"), timeout = !strcmp(k, "timeout");
    if (!numeric && !shutdown && !timeout) return false;
    if (*flags && strspn(flags, "rl") != strlen(flags)) return false;
    r->no_request_id = !with_id;
    bool failing = shutdown || timeout || status >= 500;
    const char *host = req_header(r, "Host");
    if (failing && !always && s->cfg.fault_once && !once_fails(s, k, host ? host : "")) {
        *ret = fault_success(r, 200); /* the retry after a failure succeeds */
        return true;
    }
    if (shutdown) {
        *ret = MHD_NO; /* closes the connection without an answer */
        r->status = 0;
        return true;
    }
    if (timeout) {
        if (hold(r, 31000, FAULT_RESUME_SUCCEED)) {
            *ret = MHD_YES; /* answered when resumed */
            return true;
        }
        *ret = fault_success(r, 200);
        return true;
    }
    if (status >= 300 && status < 400) {
        struct MHD_Response *resp = MHD_create_response_from_buffer(0, (char *)"", MHD_RESPMEM_PERSISTENT);
        char *loc = cos_sprintf("http://%s%s", host ? host : "", r->path);
        MHD_add_response_header(resp, "Location", loc);
        free(loc);
        *ret = send_response(r, (int)status, resp);
        return true;
    }
    if (status < 300) {
        *ret = fault_success(r, (int)status);
        return true;
    }
    *ret = send_error(r, fault_code((int)status), "fault bucket: %ld", status);
    r->status = (int)status;
    return true;
}

bool fault_apply(req *r, enum MHD_Result *ret)
{
    server *s = r->srv;
    store_fault_commits(-1); /* a budget is one request's, never the next one's on this thread */
    store_fault_pause(0);
    if (r->fault_resume) { /* back from a hold: its fault is spent */
        int after = r->fault_resume;
        r->fault_resume = 0;
        if (after == FAULT_RESUME_SERVE) return false;
        *ret = fault_success(r, 200);
        return true;
    }
    if (fault_bucket_apply(r, ret)) return true;
    if (!s->cfg.faults || !s->nfaults) return false;
    cos_buf line = COS_BUF_INIT;
    cos_buf_printf(&line, "%s %s%s", r->method, r->bucket && !r->path_style ? "/" : "", r->path);
    size_t base = line.len;
    cos_buf q = COS_BUF_INIT;
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_query, &q);
    (void)base;
    if (q.data) cos_buf_puts(&line, q.data);
    cos_buf_free(&q);
    fault_rule hit = { 0 };
    bool found = false;
    pthread_mutex_lock(&s->fault_lock);
    for (size_t i = 0; i < s->nfaults && !found; i++) {
        fault_rule *f = &s->faults[i];
        if (f->times <= 0) continue;
        if (f->method && strcmp(f->method, r->method) != 0) continue;
        if (f->match && !strstr(line.data, f->match)) continue;
        f->times--;
        hit = *f;
        hit.action = cos_strdup(f->action);
        hit.code = cos_strdup(f->code);
        found = true;
    }
    pthread_mutex_unlock(&s->fault_lock);
    cos_buf_free(&line);
    if (!found) return false;
    bool handled = true;
    if (!strcmp(hit.action, "drop")) {
        *ret = MHD_NO; /* closes the connection without an answer */
        r->status = 0;
    } else if (!strcmp(hit.action, "stall")) {
        if (hold(r, hit.ms, FAULT_RESUME_SERVE)) *ret = MHD_YES; /* served when resumed */
        else handled = false;
    } else if (!strcmp(hit.action, "bad_crc")) {
        r->fault_bad_crc = true;
        handled = false;
    } else if (!strcmp(hit.action, "pause") || !strcmp(hit.action, "pause_dir")) {
        store_fault_pause(strcmp(hit.action, "pause") ? STORE_PAUSE_DIR : STORE_PAUSE_WRITE);
        handled = false;
    } else if (!strcmp(hit.action, "fail_commit")) {
        store_fault_commits(hit.commits > 0 ? hit.commits : 0);
        handled = false;
    } else if (!strcmp(hit.action, "lock_db")) {
        *ret = store_fault_lock_db(s->st) == 0 ? fault_success(r, 200)
                                                : send_error(r, "InternalError", "lock_db: the lock was not taken");
    } else {
        char *msg = cos_sprintf("injected fault: %s", hit.code);
        const char *code = hit.code;
        *ret = send_error(r, code, "%s", msg);
        if (hit.status && hit.status != error_status(code)) r->status = hit.status;
        free(msg);
    }
    free(hit.action);
    free(hit.code);
    return handled;
}

/*
 * engine.c — libcurl multi on a few network threads per client (lanes; see
 * engine.h), synchronous exchanges on the caller's thread (engine_perform),
 * and the worker pool. Submissions from any thread go to the lanes in turn
 * through a locked queue (and an eventfd when the lane waits in poll);
 * nothing here blocks on user code. More than one lane lets the copying that
 * a transfer costs (socket to buffer, buffer to file, CRC) use more than one
 * core. Easy handles are kept and reused, with their connections and
 * buffers: a new one per request cost more than the request's own work.
 */
#define _GNU_SOURCE
#include "engine.h"
#include "cos/hash.h"

#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Easy handles a lane keeps for reuse: a new one costs an allocation of its
 * state and buffers, setting every option and freeing it all again. */
#define LANE_IDLE_MAX 32
/* Small exchanges a lane takes before the next lane does (pick_lane). */
#ifndef LANE_SMALL_MAX
#define LANE_SMALL_MAX 64
#endif

/* The sockets a multi handle asks to be watched (curl's socket callback,
 * watch_socket_cb), after `base` descriptors of our own (a lane's wakeup).
 * Driving curl by its sockets (curl_multi_socket_action) tells it what is
 * ready and runs only the transfers whose socket or timer is due: with
 * curl_multi_perform it polled a socket again before each read, and a
 * network thread's pass ran every transfer it carried. */
typedef struct sock_watch {
    struct pollfd *fds;
    int n, cap, base;
} sock_watch;

typedef struct lane {
    struct cos_engine *e;
    CURLM *multi;
    pthread_t thread;
    bool started;
    pthread_mutex_t lock;
    cos_http *pending;      /* submitted, not yet added (LIFO; order does not matter) */
    _Atomic bool polling;   /* the thread is (about to be) waiting in poll: a submission wakes it
                               (written under lock; read without it only as a hint, engine_submit) */
    int wake_fd;            /* eventfd: a submission to a waiting lane, or stop (watch.fds[0]) */
    sock_watch watch;
    bool stop;
    _Atomic int active;     /* transfers on the multi (written by the lane's thread only) */
    _Atomic int small;      /* small exchanges submitted here and not finished (pick_lane) */
    CURL *idle[LANE_IDLE_MAX]; /* finished easy handles kept for the next requests */
    int nidle;
} lane;

struct cos_engine {
    lane *lanes;
    int nlanes;
    _Atomic unsigned next_lane; /* round robin */
    int lane_small_max;         /* small exchanges a lane takes before the next one does (pick_lane) */
    cos_engine_opts opts;
    struct curl_slist *connect_to;
    char *proxy, *ca_file, *ca_path, *user_agent;
    char *user_agent_line; /* "User-Agent: ..." for the request's header list */
    bool pack_head;        /* no proxy: the head may go in the request target (setup_headers) */
    /* Synchronous exchanges run on the caller's thread with an easy handle of
       this pool; each keeps its connection open for the next caller (as the
       official C SDK does), so a call costs no thread hop. */
    pthread_mutex_t pool_lock;
    struct sync_handle *pool;
    int npool, pool_cap;
    uint64_t form_seed;          /* form boundaries: unguessable to whoever wrote the file sent */
    _Atomic uint64_t form_count;
};

/* A synchronous exchange's easy handle and the multi handle that drives it
 * (and keeps its connection between calls). curl_easy_perform would do the
 * same with a multi of its own, but it polls before it first performs: one
 * poll per request that finds nothing. */
typedef struct sync_handle {
    CURL *easy;
    CURLM *multi;
    struct sock_watch *watch; /* the sockets curl wants watched (sync_drive) */
} sync_handle;

static void sync_handle_free(sync_handle *s);

/* curl's socket callback: watch s for what (or no longer). */
static int watch_socket_cb(CURL *easy, curl_socket_t s, int what, void *ud, void *socketp)
{
    (void)easy;
    (void)socketp;
    sock_watch *w = ud;
    int i = w->base;
    while (i < w->n && w->fds[i].fd != s) i++;
    if (what == CURL_POLL_REMOVE) {
        if (i < w->n) w->fds[i] = w->fds[--w->n];
        return 0;
    }
    if (i == w->n) {
        if (w->n == w->cap) {
            int cap = w->cap ? w->cap * 2 : 4;
            struct pollfd *p = realloc(w->fds, (size_t)cap * sizeof *p);
            if (!p) return -1; /* curl fails the exchange */
            w->fds = p;
            w->cap = cap;
        }
        w->fds[w->n++] = (struct pollfd){ .fd = s };
    }
    w->fds[i].events = (short)(((what & CURL_POLL_IN) ? POLLIN : 0) | ((what & CURL_POLL_OUT) ? POLLOUT : 0));
    return 0;
}

/* Wait at most max_ms (0: only look) for a watched socket, one of ours, or
 * curl's next timer, then run curl for what is due: the sockets found
 * ready, or its timers. When a timer is already due (a transfer just
 * added) there is no poll. Returns curl's code; *quiet when no socket was
 * ready (a timer was due, or max_ms passed). */
static CURLMcode watch_step(CURLM *m, sock_watch *w, int max_ms, int *running, bool *quiet)
{
    long due = -1;
    curl_multi_timeout(m, &due);
    *quiet = false;
    int ready = 0;
    if (due != 0) {
        ready = poll(w->fds, (nfds_t)w->n, due < 0 || due > max_ms ? max_ms : (int)due);
        if (ready < 0) return errno == EINTR ? CURLM_OK : CURLM_INTERNAL_ERROR;
    }
    if (ready == 0) {
        *quiet = true;
        return curl_multi_socket_action(m, CURL_SOCKET_TIMEOUT, 0, running);
    }
    /* copied first: curl's socket callback changes the array as it runs;
       sockets left out are still ready at the next poll */
    struct { curl_socket_t fd; int ev; } rd[32];
    int nr = 0;
    for (int i = w->base; i < w->n && nr < 32; i++) {
        short r = w->fds[i].revents;
        if (!r) continue;
        rd[nr].fd = w->fds[i].fd;
        rd[nr++].ev = ((r & (POLLIN | POLLHUP)) ? CURL_CSELECT_IN : 0) | ((r & POLLOUT) ? CURL_CSELECT_OUT : 0) |
                      ((r & (POLLERR | POLLNVAL)) ? CURL_CSELECT_ERR : 0);
    }
    CURLMcode mc = CURLM_OK;
    for (int i = 0; i < nr && mc == CURLM_OK; i++) mc = curl_multi_socket_action(m, rd[i].fd, rd[i].ev, running);
    return mc;
}

static void watch_attach(CURLM *m, sock_watch *w)
{
    curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, watch_socket_cb);
    curl_multi_setopt(m, CURLMOPT_SOCKETDATA, w);
}

/* ------------------------------------------------------------------ curl callbacks */

/* The body's next bytes (the file part of a form), hashed as they go. */
static size_t body_read(cos_http *h, char *buf, size_t want)
{
    size_t n = 0;
    switch (h->body) {
    case BODY_MEM:
        n = COS_MIN(want, h->mem_len - (size_t)h->pos);
        memcpy(buf, (const char *)h->mem + h->pos, n);
        break;
    case BODY_FILE: {
        uint64_t left = h->file_len - h->pos;
        size_t w = (size_t)COS_MIN((uint64_t)want, left);
        while (w) {
            ssize_t r = pread(h->fd, buf, w, (off_t)(h->file_off + h->pos));
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) return CURL_READFUNC_ABORT; /* file shrank or failed */
            n = (size_t)r;
            break;
        }
        break;
    }
    case BODY_CB: {
        /* never more than the declared length: curl sends what it is given,
           and bytes past the Content-Length are read by the server as the
           next request on the connection (unsigned: smuggled) */
        if (h->cb_len >= 0) want = (size_t)COS_MIN((uint64_t)want, (uint64_t)h->cb_len - h->pos);
        if (!want) return 0;
        int64_t r = h->rd(h->rd_ud, buf, want);
        if (r < 0) return CURL_READFUNC_ABORT;
        if ((uint64_t)r > want || (r == 0 && h->cb_len >= 0)) { /* an end before the length: the server would wait for the rest */
            h->cb_wrong = r ? 2 : 1;
            return CURL_READFUNC_ABORT;
        }
        n = (size_t)r;
        break;
    }
    default:
        return 0;
    }
    h->pos += n;
    h->sent += n;
    h->crc_sent = cos_crc64(h->crc_sent, buf, n);
    if (h->md5_sent) cos_md5_update(h->md5_sent, buf, n);
    return n;
}

static uint64_t body_length(const cos_http *h)
{
    switch (h->body) {
    case BODY_MEM: return h->mem_len;
    case BODY_FILE: return h->file_len;
    case BODY_CB: return h->cb_len >= 0 ? (uint64_t)h->cb_len : 0;
    default: return 0;
    }
}

/* A form framed here: its head, the body as the file part, its tail. */
static size_t form_read(cos_http *h, char *buf, size_t want)
{
    size_t out = 0;
    uint64_t blen = body_length(h);
    while (out < want) {
        size_t n;
        if (h->form_at < h->form_head_len) {
            n = (size_t)COS_MIN((uint64_t)(want - out), h->form_head_len - h->form_at);
            memcpy(buf + out, h->form_frame + h->form_at, n);
            h->form_at += n;
        } else if (h->pos < blen) {
            n = body_read(h, buf + out, want - out);
            if (n == CURL_READFUNC_ABORT || n == 0) return CURL_READFUNC_ABORT; /* short: the length was sent */
        } else if (h->form_at < h->form_head_len + h->form_tail_len) {
            n = (size_t)COS_MIN((uint64_t)(want - out), h->form_head_len + h->form_tail_len - h->form_at);
            memcpy(buf + out, h->form_frame + h->form_at, n);
            h->form_at += n;
        } else {
            break;
        }
        out += n;
    }
    return out;
}

static size_t read_cb(char *buf, size_t size, size_t nitems, void *ud)
{
    cos_http *h = ud;
    size_t want = size * nitems;
    if (h->cancel && *h->cancel) return CURL_READFUNC_ABORT;
    return h->form_frame ? form_read(h, buf, want) : body_read(h, buf, want);
}

static int seek_cb(void *ud, curl_off_t offset, int origin)
{
    cos_http *h = ud;
    if (origin != SEEK_SET || offset < 0) return CURL_SEEKFUNC_CANTSEEK;
    if (h->body == BODY_CB) {
        if (!h->seek || h->seek(h->rd_ud, (uint64_t)offset) != 0) return CURL_SEEKFUNC_CANTSEEK;
    }
    h->pos = (uint64_t)offset;
    h->sent = (uint64_t)offset;
    h->form_at = 0; /* (a form is only ever rewound to its start) */
    h->crc_sent = 0;
    if (h->md5_sent) {
        cos_md5_free(h->md5_sent);
        h->md5_sent = cos_md5_new();
    }
    if (offset != 0) return CURL_SEEKFUNC_CANTSEEK; /* the running CRC needs the whole body */
    return CURL_SEEKFUNC_OK;
}

/* Whether an answer's ETag is the MD5 of its body: a plain 32-hex ETag (not a
 * multipart "-N" one) of an object not encrypted with KMS or a customer key,
 * whose ETags are something else. */
bool http_etag_is_md5(const cos_kv *headers, size_t count)
{
#define HDR(name) cos_kv_find(headers, count, name)
    const char *etag = HDR("ETag");
    if (!etag) return false;
    size_t n = strlen(etag);
    if (n >= 2 && etag[0] == '"' && etag[n - 1] == '"') {
        etag++;
        n -= 2;
    }
    if (n != 32) return false;
    for (size_t i = 0; i < 32; i++)
        if (!strchr("0123456789abcdefABCDEF", etag[i])) return false;
    const char *sse = HDR("x-cos-server-side-encryption");
    if (!sse) sse = HDR("x-amz-server-side-encryption");
    if (sse && strstr(sse, "kms")) return false;
    if (HDR("x-cos-server-side-encryption-customer-algorithm") || HDR("x-amz-server-side-encryption-customer-algorithm"))
        return false;
    return true;
#undef HDR
}

bool http_etag_matches(const char *etag, const unsigned char md5[16])
{
    char hex[33];
    cos_hex_encode(md5, 16, hex);
    if (!etag) return false;
    if (*etag == '"') etag++;
    return strncasecmp(etag, hex, 32) == 0;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *ud)
{
    cos_http *h = ud;
    size_t n = size * nmemb;
    if (h->cancel && *h->cancel) return 0;
    /* Error responses always go to memory so they can be parsed. */
    long status = 0;
    curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &status);
    bool to_mem = h->sink == SINK_MEM || status >= 300;
    if (to_mem) {
        /* Bounded: an endless answer fails instead of eating the memory. */
        size_t cap = status >= 300 ? ENGINE_ERR_CAP : h->mem_cap ? h->mem_cap : SIZE_MAX;
        if (h->resp_body.len + n > cap) {
            h->too_large = true;
            return 0;
        }
        if (!h->resp_body.data) { /* the whole body at once when its length is known: no regrowing */
            const char *cl = cos_kvlist_get(&h->resp_headers, "Content-Length");
            uint64_t want = 0;
            if (cl && cos_parse_u64(cl, &want) == 0 && want > n && want <= cap && want <= ENGINE_PREALLOC_MAX &&
                cos_buf_reserve(&h->resp_body, (size_t)want))
                return 0;
        }
        if (cos_buf_append(&h->resp_body, data, n)) return 0;
    } else if (h->sink == SINK_FD) {
        int e = h->sink_pipe ? cos_write_all_nosigpipe(h->sink_fd, data, n) : cos_write_all(h->sink_fd, data, n);
        if (e) {
            h->write_failed = 1;
            h->write_errno = e;
            return 0;
        }
    } else if (h->sink == SINK_CB) {
        if (h->wr(h->wr_ud, data, n) != 0) {
            h->write_failed = 1;
            return 0;
        }
    }
    if (!to_mem || h->sink == SINK_MEM) {
        h->crc_received = cos_crc64(h->crc_received, data, n);
        if (!h->md5_checked) { /* the headers are all in by the first byte of the body */
            h->md5_checked = true;
            const char *crc = cos_kvlist_get(&h->resp_headers, "x-cos-hash-crc64ecma");
            uint64_t crc_value;
            /* one that is no number is no CRC-64 (ops.c checks the MD5 then) */
            if (h->md5_recv_wanted && status == 200 && (!crc || h->crc64_unheeded || cos_parse_u64(crc, &crc_value) != 0) &&
                http_etag_is_md5(h->resp_headers.items, h->resp_headers.count))
                h->md5_recv = cos_md5_new();
        }
        if (h->md5_recv) cos_md5_update(h->md5_recv, data, n);
    }
    h->received += n;
    return n;
}

/* Response headers take one allocation each: the name, its NUL, the value
 * (the value pointer points into the name's block). http_headers_free
 * releases them, and cos_result_free the ones a result took over. */
void http_headers_free(cos_kv *items, size_t count)
{
    for (size_t i = 0; i < count; i++) free((char *)items[i].name);
    free(items);
}

static void resp_headers_clear(cos_http *h)
{
    http_headers_free(h->resp_headers.items, h->resp_headers.count);
    h->resp_headers.items = NULL;
    h->resp_headers.count = h->resp_headers.cap = 0;
}

static int resp_header_add(cos_http *h, const char *name, size_t nlen, const char *value, size_t vlen)
{
    cos_kvlist *l = &h->resp_headers;
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        cos_kv *p = realloc(l->items, cap * sizeof *p);
        if (!p) return COS_ERR_NOMEM;
        l->items = p;
        l->cap = cap;
    }
    char *b = malloc(nlen + vlen + 2);
    if (!b) return COS_ERR_NOMEM;
    memcpy(b, name, nlen);
    b[nlen] = '\0';
    memcpy(b + nlen + 1, value, vlen);
    b[nlen + 1 + vlen] = '\0';
    l->items[l->count].name = b;
    l->items[l->count].value = b + nlen + 1;
    l->count++;
    return 0;
}

static size_t header_cb(char *line, size_t size, size_t nitems, void *ud)
{
    cos_http *h = ud;
    size_t n = size * nitems;
    if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) { /* a new response (after 100 or a redirect) */
        resp_headers_clear(h);
        h->headers_done = false;
        return n;
    }
    if (n <= 2 && (line[0] == '\r' || line[0] == '\n')) h->headers_done = true;
    const char *colon = memchr(line, ':', n);
    if (!colon) return n;
    size_t nlen = (size_t)(colon - line);
    const char *v = colon + 1;
    const char *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ')) end--;
    return resp_header_add(h, line, nlen, v, (size_t)(end - v)) == 0 ? n : 0;
}

static int progress_cb(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    cos_http *h = ud;
    if (h->cancel && *h->cancel) return 1;
    if (!h->on_progress) return 0;
    int64_t now = cos_mono_ms();
    bool up = ultotal > 0 || h->body != BODY_NONE;
    uint64_t total = (uint64_t)(up ? ultotal : dltotal), done = (uint64_t)(up ? ulnow : dlnow);
    if (up && !h->form) { /* the body's own length: curl reports 0 before it starts sending */
        uint64_t known = h->body == BODY_MEM ? h->mem_len : h->body == BODY_FILE ? h->file_len
                         : h->cb_len > 0 ? (uint64_t)h->cb_len : 0;
        if (known) total = known;
    }
    if (!up && done >= total && total == 0) return 0; /* a download before its headers: nothing to say yet */
    bool finished = total > 0 && done >= total;
    if (!finished && now - h->last_progress_ms < h->progress_interval_ms) return 0;
    if (finished && h->last_progress_ms == -1) return 0; /* 100% already reported */
    h->last_progress_ms = finished ? -1 : now;
    double secs = cos_mono_sec() - h->started_s;
    cos_progress p = { done, total, secs > 0 ? (double)done / secs : 0, total ? (double)done / (double)total : 0 };
    h->on_progress(h->progress_ud, &p);
    return 0;
}

/* ------------------------------------------------------------------ setting up a transfer */

/* The options every exchange of this engine shares: set once per handle.
 * Buffers: a network thread's handles carry transfers' parts and large
 * objects (256 KiB to read, 512 KiB to send: fewer, larger system calls); a
 * synchronous call's, one per calling thread, mostly small requests (curl's
 * 64 KiB both ways: 16 threads uploading many files keep 2 MiB, not 12). */
static void setup_static(cos_engine *e, CURL *c, bool big)
{
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress_cb);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, seek_cb);
    curl_easy_setopt(c, CURLOPT_BUFFERSIZE, big ? 256L * 1024 : 64L * 1024);
    curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, big ? 512L * 1024 : 64L * 1024);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    /* The User-Agent goes with the request's other headers (setup_headers): set
       here, curl would aprintf it into a line on every request and then copy
       that line again, a character at a time, into the request. Only a
       proxy's CONNECT, which does not get the request's headers, needs it
       here. */
    if (e->proxy) curl_easy_setopt(c, CURLOPT_USERAGENT, e->user_agent);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(e->opts.connect_timeout_ms > 0 ? e->opts.connect_timeout_ms : 10000));
    /* A stalled connection (below 1 KiB/s, e.g. a server that stops after the
       headers) counts as a timeout after stall_s: see ops.c for how often it is
       tried again. */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    /* Keys are sent as written: "a/../b" is a key, not a path to resolve. */
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    if (e->connect_to) curl_easy_setopt(c, CURLOPT_CONNECT_TO, e->connect_to);
    if (e->proxy) curl_easy_setopt(c, CURLOPT_PROXY, e->proxy);
    /* none from the environment either, which was read at engine_new: a
       proxy would get the packed target (setup_headers) */
    else if (e->pack_head) curl_easy_setopt(c, CURLOPT_PROXY, "");
    /* A synchronous call's handle has its own connection, one exchange at
       a time: HTTP/2's multiplexing has nothing to share, and HTTP/1.1 lets
       its head be packed over TLS too. */
    if (!big) curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, e->opts.tls_verify ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, e->opts.tls_verify ? 2L : 0L);
    if (e->ca_file) curl_easy_setopt(c, CURLOPT_CAINFO, e->ca_file);
    if (e->ca_path) curl_easy_setopt(c, CURLOPT_CAPATH, e->ca_path);
}

/* A new handle with the shared options. */
static CURL *easy_new(cos_engine *e, bool big)
{
    CURL *c = curl_easy_init();
    if (c) setup_static(e, c, big);
    return c;
}

/* After an exchange on c: back to the state setup_easy starts from (the
 * shared options set, the rest of what it sets overwritten next time). An
 * exchange that set more than that (a form, a custom method, an empty POST
 * body) is undone with a reset. A kept handle keeps its connection and
 * buffers, which is the point of keeping it. */
static void easy_done(cos_engine *e, CURL *c, cos_http *h, bool big)
{
    if (h->inline_body) { /* no read callback counted it */
        curl_off_t up = 0;
        curl_easy_getinfo(c, CURLINFO_SIZE_UPLOAD_T, &up);
        h->sent = (uint64_t)up;
        h->pos = h->sent;
    }
    if (h->easy_dirty) {
        curl_easy_reset(c);
        setup_static(e, c, big);
        h->easy_dirty = false;
    }
    if (h->mime) {
        curl_mime_free(h->mime);
        h->mime = NULL;
    }
    free(h->form_frame);
    h->form_frame = NULL;
    free(h->slist); /* one block (setup_easy) */
    h->slist = NULL;
    h->easy = NULL;
}

/* ------------------------------------------------------------------ the request's head
 *
 * curl (7.88) writes each header of its list into the request a character
 * at a time (its printf's "%s" through a one-byte append), ~110 instructions
 * a byte: the Authorization line alone cost a request ~27k of its ~132k
 * (callgrind), the Host line, written twice, ~13k more. The request target
 * (CURLOPT_REQUEST_TARGET) it copies whole. So where curl is sure to speak
 * HTTP/1.1 straight to the server (no proxy; plain http, or a synchronous
 * call's handle, which asks for HTTP/1.1 over TLS too) the target carries
 * the path, the request line's end and the header lines whose names curl
 * neither writes nor looks for; libcos's User-Agent line comes last, so the
 * " HTTP/1.1" curl appends to the target ends it ("cos-c/1.0.0 HTTP/1.1", a
 * product list still; a caller's own User-Agent is sent as given, so a
 * request with one is not packed). The bytes are the ones the header list
 * gave, but for that suffix; the signature covers the same host and headers. */

/* Names curl writes itself or looks for in the list to decide what it
 * writes (a custom one replaces curl's own): these stay in the list. */
static bool curl_reads_header(const char *name)
{
    static const struct { const char *s; size_t n; } names[] = {
        { "Host", 4 }, { "Content-Length", 14 }, { "Content-Type", 12 }, { "Transfer-Encoding", 17 },
        { "Expect", 6 }, { "Accept", 6 }, { "Accept-Encoding", 15 }, { "Connection", 10 }, { "TE", 2 },
        { "Cookie", 6 }, { "Referer", 7 }, { "Proxy-Connection", 16 }, { "Alt-Used", 8 }, { "User-Agent", 10 },
    };
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (n == names[i].n && strcasecmp(name, names[i].s) == 0) return true;
    return false;
}

/* What curl does with a list line "Name: value" whose value is blank: it
 * sends no such header (and none of its own by that name). */
static bool value_blank(const char *v)
{
    while (*v == ' ' || *v == '\t') v++;
    return *v == '\0';
}

/* Bytes that may go into the target as they are: visible ASCII for the
 * path and names (anything else curl's URL parser might change or refuse,
 * or curl's list would take apart otherwise), and no line break anywhere. */
static bool visible_ascii(const char *s, bool colon_ok, bool hash_ok)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f || (*p == ':' && !colon_ok) || (*p == '#' && !hash_ok)) return false;
    return true;
}
static bool value_ok(const char *v) { return !strpbrk(v, "\r\n"); }

/* The header list, and the target when the head can be packed into it.
 * One allocation for both (curl copies the target; the list it reads until
 * the exchange ends). An empty Expect saves the 100-continue round trip. */
static int setup_headers(cos_engine *e, cos_http *h, CURL *c, bool sync)
{
    const cos_kvlist *hd = &h->headers;
    const char *user_ua = NULL, *user_host = NULL;
    bool has_type = h->form != NULL;
    for (size_t i = 0; i < hd->count; i++) {
        const char *n = hd->items[i].name;
        if (!user_ua && strcasecmp(n, "User-Agent") == 0) user_ua = hd->items[i].value;
        else if (!user_host && strcasecmp(n, "Host") == 0) user_host = hd->items[i].value;
        else if (!has_type && strcasecmp(n, "Content-Type") == 0) has_type = true;
    }
    /* packed? */
    const char *url = h->url, *auth = strstr(url, "://"), *path = NULL;
    size_t auth_len = 0;
    bool pack = e->pack_head && auth && (strncmp(url, "http://", 7) == 0 || (sync && strncmp(url, "https://", 8) == 0));
    if (pack) {
        auth += 3;
        auth_len = strcspn(auth, "/?#@");
        path = auth + auth_len;
        pack = auth_len > 0 && *path == '/' && visible_ascii(path, true, false);
    }
    /* the caller's own User-Agent is sent as given (no suffix): not packed */
    const char *ua = e->user_agent;
    if (pack) pack = !user_ua && ua && !value_blank(ua) && value_ok(ua);
    for (size_t i = 0; pack && i < hd->count; i++)
        pack = visible_ascii(hd->items[i].name, false, true) && value_ok(hd->items[i].value);

    const char *fixed[4] = { "Expect:", "Accept:" };
    size_t nfixed = 2;
    if (pack) fixed[nfixed++] = "Host:"; /* the target has it */
    else if (!user_ua && e->user_agent_line) fixed[nfixed++] = e->user_agent_line;
    if (!has_type) fixed[nfixed++] = "Content-Type:";
    else if (h->form_frame) fixed[nfixed++] = h->form_type; /* (a form has no Content-Type of its own) */
    /* sizes: the list's lines, and the target's */
    size_t lines = nfixed, bytes = 0, tbytes = 0;
    for (size_t i = 0; i < hd->count; i++) {
        const char *n = hd->items[i].name, *v = hd->items[i].value;
        size_t len = strlen(n) + strlen(v) + 3;
        bool in_target = pack && !value_blank(v) && !curl_reads_header(n);
        if (in_target) tbytes += len + 1; /* "Name: value\r\n" */
        else if (!(pack && v == user_host)) {
            lines++;
            bytes += len;
        }
    }
    if (pack) {
        tbytes += strlen(path) + sizeof " HTTP/1.1\r\nHost: \r\nUser-Agent: " + strlen(ua) +
                  (user_host && !value_blank(user_host) ? strlen(user_host) : auth_len);
    }
    struct curl_slist *sl = malloc(lines * sizeof *sl + bytes + tbytes);
    if (!sl) return COS_ERR_NOMEM;
    char *p = (char *)(sl + lines);
    size_t li = 0;
    for (size_t i = 0; i < hd->count; i++) {
        const char *name = hd->items[i].name, *value = hd->items[i].value;
        if (pack && ((!value_blank(value) && !curl_reads_header(name)) || value == user_host)) continue;
        size_t nl = strlen(name), vl = strlen(value);
        sl[li++].data = p;
        memcpy(p, name, nl);
        memcpy(p + nl, ": ", 2);
        memcpy(p + nl + 2, value, vl + 1);
        p += nl + vl + 3;
    }
    for (size_t i = 0; i < nfixed; i++) sl[li++].data = (char *)fixed[i];
    for (size_t i = 0; i < lines; i++) sl[i].next = i + 1 < lines ? &sl[i + 1] : NULL;
    h->slist = sl;
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, sl);
    if (!pack) {
        curl_easy_setopt(c, CURLOPT_REQUEST_TARGET, NULL);
        return 0;
    }
    char *t = p, *w = t;
#define PUT(s, n) (memcpy(w, (s), (n)), w += (n))
    PUT(path, strlen(path));
    PUT(" HTTP/1.1\r\n", 11);
    if (!user_host || !value_blank(user_host)) { /* a blank custom Host: none, as curl would */
        PUT("Host: ", 6);
        if (user_host) PUT(user_host, strlen(user_host));
        else PUT(auth, auth_len);
        PUT("\r\n", 2);
    }
    for (size_t i = 0; i < hd->count; i++) {
        const char *name = hd->items[i].name, *value = hd->items[i].value;
        if (value_blank(value) || curl_reads_header(name)) continue;
        PUT(name, strlen(name));
        PUT(": ", 2);
        PUT(value, strlen(value));
        PUT("\r\n", 2);
    }
    PUT("User-Agent: ", 12);
    PUT(ua, strlen(ua) + 1);
#undef PUT
    curl_easy_setopt(c, CURLOPT_REQUEST_TARGET, t);
    return 0;
}

/* ------------------------------------------------------------------ forms
 *
 * postObject's multipart/form-data, framed here byte for byte as curl's mime
 * API (7.88) frames it: curl's reader goes through several layers for every
 * buffer, draws the boundary from OpenSSL's RNG on every request (two
 * getpid calls with it) and makes the handle need a reset after: ~100k
 * instructions a file more than a PUT of it (callgrind, uploadFiles of
 * 4 KiB-1 MiB files). A body of unknown length still goes through curl's
 * (chunked). test_form_framing holds the two to the same bytes. */

/* curl's quoting of a name or filename in a form (its default, HTML5's): ", CR, LF percent-encoded. */
static int form_quote(cos_buf *b, const char *s)
{
    int rc = 0;
    for (; *s; s++)
        rc |= *s == '"' ? cos_buf_puts(b, "%22") : *s == '\r' ? cos_buf_puts(b, "%0D")
              : *s == '\n' ? cos_buf_puts(b, "%0A") : cos_buf_putc(b, *s);
    return rc;
}

/* The Content-Type curl gives a file part by its name's extension (none otherwise). */
static const char *form_file_type(const char *name)
{
    static const char *const types[][2] = {
        { ".gif", "image/gif" }, { ".jpg", "image/jpeg" }, { ".jpeg", "image/jpeg" }, { ".png", "image/png" },
        { ".svg", "image/svg+xml" }, { ".txt", "text/plain" }, { ".htm", "text/html" }, { ".html", "text/html" },
        { ".pdf", "application/pdf" }, { ".xml", "application/xml" },
    };
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        size_t k = strlen(types[i][0]);
        if (n >= k && strncasecmp(name + n - k, types[i][0], k) == 0) return types[i][1];
    }
    return NULL;
}

int engine_form_frame(cos_http *h, const char *boundary)
{
    cos_buf b = COS_BUF_INIT;
    int rc = 0;
    for (size_t i = 0; i <= h->form_count; i++) {
        bool file = i == h->form_count;
        rc |= cos_buf_puts(&b, i ? "\r\n--" : "--");
        rc |= cos_buf_puts(&b, boundary);
        rc |= cos_buf_puts(&b, "\r\nContent-Disposition: form-data; name=\"");
        rc |= form_quote(&b, file ? "file" : h->form[i].name);
        rc |= cos_buf_puts(&b, "\"");
        if (file) {
            const char *fname = h->form_filename ? h->form_filename : "file";
            const char *type = form_file_type(fname);
            rc |= cos_buf_puts(&b, "; filename=\"");
            rc |= form_quote(&b, fname);
            rc |= cos_buf_puts(&b, "\"");
            if (type) {
                rc |= cos_buf_puts(&b, "\r\nContent-Type: ");
                rc |= cos_buf_puts(&b, type);
            }
        }
        rc |= cos_buf_puts(&b, "\r\n\r\n");
        if (!file) rc |= cos_buf_puts(&b, h->form[i].value);
    }
    size_t head = b.len;
    rc |= cos_buf_puts(&b, "\r\n--");
    rc |= cos_buf_puts(&b, boundary);
    rc |= cos_buf_puts(&b, "--\r\n");
    if (rc) {
        cos_buf_free(&b);
        return COS_ERR_NOMEM;
    }
    free(h->form_frame);
    h->form_head_len = head;
    h->form_tail_len = b.len - head;
    h->form_frame = cos_buf_detach(&b);
    h->form_at = 0;
    snprintf(h->form_type, sizeof h->form_type, "Content-Type: multipart/form-data; boundary=%s", boundary);
    return 0;
}

/* curl's shape of boundary: 24 dashes, 16 hex digits, drawn from the
 * kernel's RNG for each form (one system call). A keyed mix of a count was
 * predictable once one boundary was seen (splitmix64 is invertible): a file
 * written by whoever saw one could end its part early and append form
 * fields of its own (a key, a policy, an ACL). The mix stays only for a
 * getrandom that fails. */
static void form_boundary(cos_engine *e, char out[41])
{
    uint64_t x;
    if (getrandom(&x, sizeof x, GRND_NONBLOCK) != (ssize_t)sizeof x) {
        x = e->form_seed + atomic_fetch_add_explicit(&e->form_count, 1, memory_order_relaxed) * 0x9E3779B97F4A7C15ULL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL; /* splitmix64 */
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
        x ^= x >> 31;
    }
    snprintf(out, 41, "------------------------%016llx", (unsigned long long)x);
}

/* Set what is particular to this exchange on c, a handle from easy_new or
 * easy_done. Everything set here is set on every call (to its neutral
 * value when unused), so nothing of the previous exchange carries over. */
static int setup_easy(cos_engine *e, cos_http *h, CURL *c, bool sync)
{
    h->easy = c;
    h->easy_dirty = false;
    curl_easy_setopt(c, CURLOPT_URL, h->url);
    curl_easy_setopt(c, CURLOPT_PRIVATE, h);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(c, CURLOPT_READDATA, h);
    curl_easy_setopt(c, CURLOPT_SEEKDATA, h);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, h);
    /* the progress callback reports progress and notices a cancel while no
       byte moves; without either, curl need not call it */
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, h->on_progress || h->cancel ? 0L : 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(h->timeout_ms > 0 ? h->timeout_ms : 0));
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)(h->stall_s > 0 ? h->stall_s : ENGINE_STALL_S));
    /* no in-memory body from the last exchange (setting it makes the method
       POST, so before HTTPGET), then method GET, no upload, a body wanted;
       then what this one needs */
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    h->inline_body = false;
    if (h->md5_sent_on && !h->md5_sent) h->md5_sent = cos_md5_new();

    uint64_t body_len = 0;
    switch (h->body) {
    case BODY_MEM: body_len = h->mem_len; break;
    case BODY_FILE: body_len = h->file_len; break;
    case BODY_CB: body_len = h->cb_len >= 0 ? (uint64_t)h->cb_len : 0; break;
    default: break;
    }
    if (h->form && (h->body != BODY_CB || h->cb_len >= 0)) {
        char boundary[41];
        form_boundary(e, boundary);
        if (engine_form_frame(h, boundary)) return COS_ERR_NOMEM;
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(h->form_head_len + body_len + h->form_tail_len));
    } else if (h->form) {
        curl_mime *m = curl_mime_init(c);
        for (size_t i = 0; i < h->form_count; i++) {
            curl_mimepart *p = curl_mime_addpart(m);
            curl_mime_name(p, h->form[i].name);
            curl_mime_data(p, h->form[i].value, CURL_ZERO_TERMINATED);
        }
        curl_mimepart *p = curl_mime_addpart(m);
        curl_mime_name(p, "file");
        curl_mime_filename(p, h->form_filename ? h->form_filename : "file");
        curl_mime_data_cb(p, (curl_off_t)body_len, read_cb, seek_cb, NULL, h);
        curl_easy_setopt(c, CURLOPT_MIMEPOST, m);
        h->mime = m;
        h->easy_dirty = true;
    } else if (h->body == BODY_MEM && h->mem_len <= ENGINE_INLINE_BODY && !h->head) {
        /* A small body in memory goes out with the headers, in one send
           (through the read callback curl sends them apart): what the read
           callback would have hashed is hashed here. */
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)h->mem_len);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, h->mem_len ? h->mem : "");
        h->inline_body = true;
        h->crc_sent = cos_crc64(0, h->mem, h->mem_len);
        if (h->md5_sent) cos_md5_update(h->md5_sent, h->mem, h->mem_len);
    } else if (h->body != BODY_NONE) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    }
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
                     (curl_off_t)(h->body != BODY_NONE && (h->body != BODY_CB || h->cb_len >= 0) ? (int64_t)body_len : -1));
    if (h->head) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (strcmp(h->method, "GET") != 0 &&
               !(h->body != BODY_NONE && !h->inline_body && strcmp(h->method, "PUT") == 0) &&
               !(h->inline_body && strcmp(h->method, "POST") == 0)) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, h->method);
        if (h->body == BODY_NONE && (strcmp(h->method, "POST") == 0 || strcmp(h->method, "PUT") == 0)) {
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
        }
    }
    return setup_headers(e, h, c, sync);
}

static void finish(lane *l, CURL *c, CURLcode rc)
{
    cos_http *h = NULL;
    curl_easy_getinfo(c, CURLINFO_PRIVATE, (char **)&h);
    curl_multi_remove_handle(l->multi, c);
    l->active--;
    if (h->lane_small) atomic_fetch_sub_explicit(&l->small, 1, memory_order_relaxed);
    h->curl_rc = rc;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &h->status);
    if (h->cancel && *h->cancel && rc != CURLE_OK) h->curl_rc = CURLE_ABORTED_BY_CALLBACK;
    easy_done(l->e, c, h, true);
    if (l->nidle < LANE_IDLE_MAX) l->idle[l->nidle++] = c;
    else curl_easy_cleanup(c);
    h->done(h, h->done_ud);
}

/* A handle for the next exchange of this lane: a kept one or a new one. */
static CURL *lane_easy(lane *l)
{
    return l->nidle > 0 ? l->idle[--l->nidle] : easy_new(l->e, true);
}

static void *lane_main(void *arg)
{
    lane *l = arg;
    /* Completions posted to the worker pool wake their workers once this
       thread's pass is over (workers_flush): woken at each post, a worker
       took the core from this thread mid-pass, about once per request. */
    workers_hold();
    for (;;) {
        pthread_mutex_lock(&l->lock);
        l->polling = false; /* (a submission between the poll and here wakes it once more: harmless) */
        cos_http *list = l->pending;
        l->pending = NULL;
        bool stop = l->stop;
        pthread_mutex_unlock(&l->lock);
        while (list) {
            cos_http *h = list;
            list = h->next;
            CURL *c = lane_easy(l);
            if (!c || setup_easy(l->e, h, c, false) != 0 || curl_multi_add_handle(l->multi, h->easy) != CURLM_OK) {
                h->curl_rc = CURLE_OUT_OF_MEMORY;
                if (h->lane_small) atomic_fetch_sub_explicit(&l->small, 1, memory_order_relaxed);
                if (c) {
                    easy_done(l->e, c, h, true); /* what setup_easy made */
                    curl_easy_cleanup(c);
                }
                h->done(h, h->done_ud);
                continue;
            }
            l->active++;
        }
        workers_flush();
        if (stop && l->active == 0) break;
        /* Submissions made while this thread works are picked up at the top
           of the loop without a wakeup (a syscall on each side); only one
           made while it waits, or is about to, needs one. */
        pthread_mutex_lock(&l->lock);
        bool more = l->pending || l->stop;
        l->polling = !more;
        pthread_mutex_unlock(&l->lock);
        int running = 0;
        bool quiet = false;
        watch_step(l->multi, &l->watch, more ? 0 : 1000, &running, &quiet);
        if (l->watch.fds[0].revents) { /* woken: empty the eventfd */
            uint64_t v;
            if (read(l->wake_fd, &v, sizeof v) < 0) { /* EAGAIN: nothing to empty */
            }
            l->watch.fds[0].revents = 0;
        }
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(l->multi, &left)))
            if (m->msg == CURLMSG_DONE) finish(l, m->easy_handle, m->data.result);
        workers_flush();
    }
    return NULL;
}

/* Wake a lane waiting in poll (its eventfd is the first descriptor it polls). */
static void lane_wake(lane *l)
{
    uint64_t one = 1;
    if (write(l->wake_fd, &one, sizeof one) < 0) { /* EAGAIN: the counter is full, so it is awake anyway */
    }
}

int engine_new(cos_engine **out, const cos_engine_opts *o)
{
    cos_engine *e = calloc(1, sizeof *e);
    if (!e) return COS_ERR_NOMEM;
    e->opts = *o;
    e->nlanes = o->network_threads > 0 ? o->network_threads : 2;
    e->lanes = calloc((size_t)e->nlanes, sizeof *e->lanes);
    for (int i = 0; e->lanes && i < e->nlanes; i++) e->lanes[i].wake_fd = -1;
    pthread_mutex_init(&e->pool_lock, NULL);
    /* (not OpenSSL's RNG: its first use costs a process ~6M instructions) */
    if (getrandom(&e->form_seed, sizeof e->form_seed, GRND_NONBLOCK) != (ssize_t)sizeof e->form_seed)
        e->form_seed = (uint64_t)cos_now_ms() * 0x9E3779B97F4A7C15ULL ^ (uint64_t)(uintptr_t)e;
    /* connect_to: "HOST:PORT" for every request, or a comma-separated list
       whose entries are that or curl's "HOST:PORT:TO_HOST:TO_PORT" (one
       host mapped somewhere, e.g. a backup domain to a test server) */
    for (const char *p = o->connect_to; !cos_str_empty(p);) {
        size_t n = strcspn(p, ",");
        int colons = 0;
        for (size_t i = 0; i < n; i++) colons += p[i] == ':';
        char *entry = colons >= 3 ? cos_strndup(p, n) : cos_sprintf("::%.*s", (int)n, p);
        struct curl_slist *sl = entry ? curl_slist_append(e->connect_to, entry) : NULL;
        free(entry);
        if (sl) e->connect_to = sl;
        p += n;
        if (*p == ',') p++;
    }
    e->proxy = cos_strdup(o->proxy);
    e->ca_file = cos_strdup(o->ca_file);
    e->ca_path = cos_strdup(o->ca_path);
    e->user_agent = o->user_agent ? cos_strdup(o->user_agent) : cos_strdup("cos-c/" COS_VERSION_STRING);
    e->user_agent_line = e->user_agent ? cos_sprintf("User-Agent: %s", e->user_agent) : NULL;
    /* curl would take a proxy from these (per request; libcos reads them
       once, here) */
    static const char *const proxy_env[] = { "http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY" };
    e->pack_head = !e->proxy;
    for (size_t i = 0; e->pack_head && i < sizeof proxy_env / sizeof proxy_env[0]; i++)
        e->pack_head = cos_str_empty(getenv(proxy_env[i]));
    long conns = o->max_connections > 0 ? o->max_connections : 64;
    conns = conns / e->nlanes > 0 ? conns / e->nlanes : 1;
    e->lane_small_max = conns < LANE_SMALL_MAX ? (int)conns : LANE_SMALL_MAX;
    int rc = e->lanes ? 0 : COS_ERR_NOMEM;
    for (int i = 0; rc == 0 && i < e->nlanes; i++) {
        lane *l = &e->lanes[i];
        l->e = e;
        pthread_mutex_init(&l->lock, NULL);
        l->multi = curl_multi_init();
        l->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        /* room for every connection the lane may open (and its own
           eventfd): the socket callback seldom has to grow it */
        l->watch.cap = (int)conns + 2;
        l->watch.fds = malloc((size_t)l->watch.cap * sizeof *l->watch.fds);
        if (!l->multi || l->wake_fd < 0 || !l->watch.fds) {
            rc = COS_ERR_NOMEM;
            break;
        }
        l->watch.fds[0] = (struct pollfd){ .fd = l->wake_fd, .events = POLLIN };
        l->watch.n = l->watch.base = 1;
        watch_attach(l->multi, &l->watch);
        curl_multi_setopt(l->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, conns);
        curl_multi_setopt(l->multi, CURLMOPT_MAXCONNECTS, conns);
        if (pthread_create(&l->thread, NULL, lane_main, l) != 0) rc = COS_ERR_INTERNAL;
        else l->started = true;
    }
    if (rc) {
        engine_free(e);
        return rc;
    }
    *out = e;
    return 0;
}

void engine_free(cos_engine *e)
{
    if (!e) return;
    for (int i = 0; e->lanes && i < e->nlanes; i++) {
        lane *l = &e->lanes[i];
        if (l->started) {
            pthread_mutex_lock(&l->lock);
            l->stop = true;
            pthread_mutex_unlock(&l->lock);
            lane_wake(l);
            pthread_join(l->thread, NULL);
        }
        if (l->multi) curl_multi_cleanup(l->multi); /* (its socket callback may still write to the watch) */
        for (int j = 0; j < l->nidle; j++) curl_easy_cleanup(l->idle[j]);
        if (l->wake_fd >= 0) close(l->wake_fd);
        free(l->watch.fds);
        pthread_mutex_destroy(&l->lock);
    }
    free(e->lanes);
    for (int i = 0; i < e->npool; i++) sync_handle_free(&e->pool[i]);
    free(e->pool);
    pthread_mutex_destroy(&e->pool_lock);
    curl_slist_free_all(e->connect_to);
    free(e->proxy);
    free(e->ca_file);
    free(e->ca_path);
    free(e->user_agent);
    free(e->user_agent_line);
    free(e);
}

/* Lanes are taken in turn, except that a lane waiting in poll (a wakeup:
 * a syscall here, a context switch there) gives way to one that is awake
 * and will pick the submission up at the top of its loop, unless that one
 * already carries LANE_SLACK more transfers: 16 small requests in flight
 * then wake a lane about once per answer, not once per answer and once per
 * submission, while large transfers still spread over the lanes. */
#define LANE_SLACK 4
/* A small exchange (its body and answer in memory, the body sent with the
 * headers; a transfer's parts come from and go to files) goes to the first
 * lane that carries fewer than LANE_SMALL_MAX of them, and fewer than the
 * lane has connections (beyond them, requests would wait inside the lane
 * for one while the next lane has its own): spread over the lanes, 16
 * small requests in flight woke each lane (and the worker after it) once
 * per answer, where one lane that carries them all takes up several
 * answers per wakeup. The lanes are for copying bulk bytes on more than
 * one core; a small exchange has none to copy. (LANE_SMALL_MAX is at the
 * top.) */
static bool http_is_small(const cos_http *h)
{
    return (h->body == BODY_NONE || (h->body == BODY_MEM && h->mem_len <= ENGINE_INLINE_BODY)) && !h->form &&
           (h->sink == SINK_MEM || h->sink == SINK_DISCARD);
}

static lane *pick_lane(cos_engine *e, cos_http *h)
{
    unsigned n = (unsigned)e->nlanes;
    h->lane_small = false;
    if (n > 1 && http_is_small(h)) {
        for (unsigned i = 0; i < n; i++) {
            lane *l = &e->lanes[i];
            if (atomic_load_explicit(&l->small, memory_order_relaxed) < e->lane_small_max) {
                atomic_fetch_add_explicit(&l->small, 1, memory_order_relaxed);
                h->lane_small = true;
                return l;
            }
        }
    }
    unsigned first = atomic_fetch_add(&e->next_lane, 1) % n;
    lane *l = &e->lanes[first];
    if (n == 1 || !atomic_load_explicit(&l->polling, memory_order_relaxed)) return l;
    int load = atomic_load_explicit(&l->active, memory_order_relaxed);
    for (unsigned i = 1; i < n; i++) {
        lane *o = &e->lanes[(first + i) % n];
        if (!atomic_load_explicit(&o->polling, memory_order_relaxed) &&
            atomic_load_explicit(&o->active, memory_order_relaxed) <= load + LANE_SLACK)
            return o;
    }
    return l;
}

int engine_submit(cos_engine *e, cos_http *h, void (*done)(cos_http *, void *), void *ud)
{
    h->done = done;
    h->done_ud = ud;
    h->pos = 0;
    h->last_progress_ms = 0;
    h->started_s = cos_mono_sec();
    lane *l = pick_lane(e, h);
    pthread_mutex_lock(&l->lock);
    h->next = l->pending;
    l->pending = h;
    bool wake = l->polling;
    l->polling = false; /* one wakeup is enough: the lane takes every submission */
    pthread_mutex_unlock(&l->lock);
    if (wake) lane_wake(l);
    return 0;
}

static void sync_handle_free(sync_handle *s)
{
    if (s->multi) curl_multi_cleanup(s->multi); /* (its socket callback may still write to the watch) */
    if (s->easy) curl_easy_cleanup(s->easy);
    if (s->watch) free(s->watch->fds);
    free(s->watch);
    s->easy = NULL;
    s->multi = NULL;
    s->watch = NULL;
}

/* The handles for a synchronous exchange: the most recently used idle
 * ones (their connection is the likeliest to be alive), or new ones. */
static int pool_get(cos_engine *e, sync_handle *out)
{
    bool got = false;
    pthread_mutex_lock(&e->pool_lock);
    if (e->npool > 0) {
        *out = e->pool[--e->npool];
        got = true;
    }
    pthread_mutex_unlock(&e->pool_lock);
    if (got) return 0;
    out->easy = easy_new(e, false);
    out->multi = curl_multi_init();
    out->watch = calloc(1, sizeof *out->watch);
    if (out->easy && out->multi && out->watch) {
        watch_attach(out->multi, out->watch);
        return 0;
    }
    sync_handle_free(out);
    return -1;
}

/* Keep s (and its connection) for the next synchronous exchange; the pool
 * holds at most max_connections of them, as many connections as the
 * client may open. */
static void pool_put(cos_engine *e, sync_handle *s)
{
    int cap = e->opts.max_connections > 0 ? e->opts.max_connections : 64;
    pthread_mutex_lock(&e->pool_lock);
    if (e->npool == e->pool_cap && e->pool_cap < cap) {
        int n = e->pool_cap ? e->pool_cap * 2 : 8;
        if (n > cap) n = cap;
        sync_handle *p = realloc(e->pool, (size_t)n * sizeof *p);
        if (p) {
            e->pool = p;
            e->pool_cap = n;
        }
    }
    bool kept = e->npool < e->pool_cap;
    if (kept) e->pool[e->npool++] = *s;
    pthread_mutex_unlock(&e->pool_lock);
    if (!kept) sync_handle_free(s);
}

/* curl_easy_perform's loop, driven by the sockets: the request is sent
 * before the first poll, which then waits for the answer, and curl reads
 * what the poll found ready without polling again. curl's own timers (the
 * timeout, the stall check once a second) run when due; a cancel is
 * noticed by the progress callback, or here after a second of silence. */
static CURLcode sync_drive(sync_handle *s, cos_http *h)
{
    if (curl_multi_add_handle(s->multi, s->easy) != CURLM_OK) return CURLE_OUT_OF_MEMORY;
    int running = 1;
    CURLMcode mc = curl_multi_socket_action(s->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    bool canceled = false, quiet = false;
    while (mc == CURLM_OK && running) {
        mc = watch_step(s->multi, s->watch, 1000, &running, &quiet);
        if (quiet && running && h->cancel && *h->cancel) {
            canceled = true;
            break;
        }
    }
    CURLcode rc = canceled ? CURLE_ABORTED_BY_CALLBACK : mc == CURLM_OUT_OF_MEMORY ? CURLE_OUT_OF_MEMORY : CURLE_RECV_ERROR;
    int left = 0;
    CURLMsg *m;
    while ((m = curl_multi_info_read(s->multi, &left)))
        if (m->msg == CURLMSG_DONE && m->easy_handle == s->easy) rc = m->data.result;
    curl_multi_remove_handle(s->multi, s->easy);
    return rc;
}

int engine_perform(cos_engine *e, cos_http *h)
{
    h->pos = 0;
    h->last_progress_ms = 0;
    h->started_s = cos_mono_sec();
    sync_handle s = { NULL, NULL, NULL };
    if (pool_get(e, &s) != 0 || setup_easy(e, h, s.easy, true) != 0) {
        if (s.easy) easy_done(e, s.easy, h, false);
        sync_handle_free(&s);
        h->curl_rc = CURLE_OUT_OF_MEMORY;
        return 0;
    }
    CURLcode rc = sync_drive(&s, h);
    h->curl_rc = rc;
    curl_easy_getinfo(s.easy, CURLINFO_RESPONSE_CODE, &h->status);
    if (h->cancel && *h->cancel && rc != CURLE_OK) h->curl_rc = CURLE_ABORTED_BY_CALLBACK;
    easy_done(e, s.easy, h, false);
    pool_put(e, &s);
    return 0;
}

void http_reset_response(cos_http *h)
{
    h->status = 0;
    resp_headers_clear(h);
    cos_buf_free(&h->resp_body);
    h->curl_rc = CURLE_OK;
    h->errbuf[0] = '\0';
    h->sent = h->received = 0;
    h->crc_sent = h->crc_received = 0;
    h->write_failed = h->write_errno = 0;
    h->too_large = false;
    h->cb_wrong = 0;
    h->md5_checked = false;
    h->headers_done = false;
    cos_md5_free(h->md5_sent);
    cos_md5_free(h->md5_recv);
    h->md5_sent = h->md5_recv = NULL;
}

void http_clear(cos_http *h)
{
    free(h->method);
    free(h->url);
    cos_kvlist_free(&h->headers);
    resp_headers_clear(h);
    cos_buf_free(&h->resp_body);
    for (size_t i = 0; i < h->form_count; i++) {
        free(h->form[i].name);
        free(h->form[i].value);
    }
    free(h->form);
    h->form = NULL;
    h->form_count = 0;
    free(h->form_frame);
    h->form_frame = NULL;
    h->method = h->url = NULL;
    cos_md5_free(h->md5_sent);
    cos_md5_free(h->md5_recv);
    h->md5_sent = h->md5_recv = NULL;
}

/* ------------------------------------------------------------------ worker pool */

/* The pool keeps `base` threads for jobs. A job never waits for a worker that
 * is itself waiting: a worker that blocks in libcos (a future, a task, from
 * inside a callback) is not counted, and a stand-in thread starts when jobs
 * would otherwise have no runnable worker; stand-ins leave when idle. Threads
 * are counted, so the last one out wakes workers_free, and reaped (joined). */

typedef struct job {
    void (*fn)(void *);
    void *arg;
    struct job *next;
    int64_t due_ms;         /* a delayed job: when it may run (cos_mono_ms) */
} job;

struct cos_workers {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_cond_t gone;
    job *head, *tail;
    job *timed;     /* delayed jobs, soonest first; moved to the queue when due */
    bool stop;
    int base;       /* configured worker_threads */
    int threads;    /* alive */
    int idle;       /* waiting for a job */
    int blocked;    /* inside workers_block_begin/end */
    cos_reaper gone_threads; /* left, to be joined */
    _Atomic int posting; /* workers_post calls between their unlock and their signal (workers_free waits for them) */
};

static __thread cos_workers *tls_pool;
/* A thread between workers_hold and workers_flush (a network thread's pass
 * over its finished transfers): the pool whose idle workers it owes
 * wakeups, and how many. */
static __thread bool tls_holding;
static __thread cos_workers *tls_held;
static __thread int tls_held_wakes;

int reaper_spawn(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    return pthread_create(&t, NULL, fn, arg);
}

void reaper_add_self(cos_reaper *r)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        pthread_t *ids = realloc(r->ids, cap * sizeof *ids);
        if (!ids) {
            pthread_detach(pthread_self());
            return;
        }
        r->ids = ids;
        r->cap = cap;
    }
    r->ids[r->n++] = pthread_self();
}

void reaper_join(cos_reaper *r, bool done)
{
    for (size_t i = 0; i < r->n; i++) pthread_join(r->ids[i], NULL);
    r->n = 0;
    if (done) {
        free(r->ids);
        r->ids = NULL;
        r->cap = 0;
    }
}

static void *worker_main(void *arg);

/* With w->lock held. Threads that left since the last spawn are joined
 * here, so the list stays as short as the pool is busy. */
static void spawn_worker(cos_workers *w)
{
    reaper_join(&w->gone_threads, false);
    if (reaper_spawn(worker_main, w) == 0) w->threads++;
}

/* With w->lock held: a job is queued and no runnable worker is free for it. */
static void ensure_worker(cos_workers *w)
{
    if (w->head && w->idle == 0 && w->threads - w->blocked < w->base) spawn_worker(w);
}

/* With w->lock held: move the delayed jobs that are due (all of them when
 * stopping) to the queue; whether any moved. */
static bool timed_due(cos_workers *w)
{
    bool moved = false;
    int64_t now = w->timed ? cos_mono_ms() : 0;
    while (w->timed && (w->stop || w->timed->due_ms <= now)) {
        job *j = w->timed;
        w->timed = j->next;
        j->next = NULL;
        if (w->tail) w->tail->next = j;
        else w->head = j;
        w->tail = j;
        moved = true;
    }
    if (moved && w->idle) pthread_cond_signal(&w->cond); /* more than the mover can run at once */
    return moved;
}

static void *worker_main(void *arg)
{
    cos_workers *w = arg;
    tls_pool = w;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        timed_due(w); /* a due delayed job waits no longer than a queued one would */
        while (!w->head && !w->stop) {
            if (timed_due(w)) continue;
            /* a stand-in leaves once the regular workers are runnable again */
            if (w->threads - w->blocked > w->base) goto out;
            w->idle++;
            if (w->timed) { /* sleep until the soonest delayed job is due, or a job comes */
                struct timespec ts = { (time_t)(w->timed->due_ms / 1000), (long)(w->timed->due_ms % 1000) * 1000000L };
                pthread_cond_timedwait(&w->cond, &w->lock, &ts);
            } else {
                pthread_cond_wait(&w->cond, &w->lock);
            }
            w->idle--;
        }
        if (w->stop) timed_due(w); /* delayed jobs run now: nothing waits for them after this */
        job *j = w->head;
        if (!j) break; /* stopping and drained */
        w->head = j->next;
        if (!w->head) w->tail = NULL;
        pthread_mutex_unlock(&w->lock);
        j->fn(j->arg);
        free(j);
        pthread_mutex_lock(&w->lock);
    }
out:
    if (w->timed) pthread_cond_signal(&w->cond); /* it may have been the one woken for a delayed job */
    w->threads--;
    reaper_add_self(&w->gone_threads);
    pthread_cond_broadcast(&w->gone);
    pthread_mutex_unlock(&w->lock);
    tls_pool = NULL;
    return NULL;
}

int workers_new(cos_workers **out, int threads)
{
    cos_workers *w = calloc(1, sizeof *w);
    if (!w) return COS_ERR_NOMEM;
    w->base = threads > 0 ? threads : 2;
    pthread_mutex_init(&w->lock, NULL);
    pthread_condattr_t ca; /* delayed jobs wait on the monotonic clock (cos_mono_ms) */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&w->gone, NULL);
    pthread_mutex_lock(&w->lock);
    for (int i = 0; i < w->base; i++) spawn_worker(w);
    int n = w->threads;
    pthread_mutex_unlock(&w->lock);
    if (n == 0) {
        workers_free(w);
        return COS_ERR_INTERNAL;
    }
    *out = w;
    return 0;
}

int workers_post(cos_workers *w, void (*fn)(void *), void *arg)
{
    job *j = malloc(sizeof *j);
    if (!j) return COS_ERR_NOMEM;
    j->fn = fn;
    j->arg = arg;
    j->next = NULL;
    /* The idle worker is signaled after the unlock: signaled under the
       lock, it wakes only to block on the lock the poster still holds (two
       more futex calls, often a context switch, per async completion). A
       waiter that went to sleep before the job was queued is on the
       condition by then, so the signal still reaches one. */
    if (tls_holding && tls_held != w) workers_flush(); /* wakeups are held for one pool at a time */
    atomic_fetch_add(&w->posting, 1);
    pthread_mutex_lock(&w->lock);
    if (w->tail) w->tail->next = j;
    else w->head = j;
    w->tail = j;
    bool wake = w->idle > tls_held_wakes; /* (0 unless held for this pool) */
    if (!wake) ensure_worker(w);
    pthread_mutex_unlock(&w->lock);
    if (wake && tls_holding) { /* signaled at workers_flush; posting stays counted until then */
        tls_held = w;
        tls_held_wakes++;
        return 0;
    }
    if (wake) pthread_cond_signal(&w->cond);
    atomic_fetch_sub_explicit(&w->posting, 1, memory_order_release);
    return 0;
}

void workers_hold(void) { tls_holding = true; }

void workers_flush(void)
{
    cos_workers *w = tls_held;
    int n = tls_held_wakes;
    tls_held = NULL;
    tls_held_wakes = 0;
    if (!w) return;
    for (int i = 0; i < n; i++) pthread_cond_signal(&w->cond);
    atomic_fetch_sub_explicit(&w->posting, n, memory_order_release);
}

int workers_post_after(cos_workers *w, int64_t delay_ms, void (*fn)(void *), void *arg)
{
    if (delay_ms <= 0) return workers_post(w, fn, arg);
    job *j = malloc(sizeof *j);
    if (!j) return COS_ERR_NOMEM;
    j->fn = fn;
    j->arg = arg;
    j->due_ms = cos_mono_ms() + delay_ms;
    pthread_mutex_lock(&w->lock);
    job **at = &w->timed;
    while (*at && (*at)->due_ms <= j->due_ms) at = &(*at)->next;
    j->next = *at;
    *at = j;
    /* an idle worker sets its wake-up by the soonest job: it may be this one */
    if (w->idle) pthread_cond_signal(&w->cond);
    else if (w->threads - w->blocked < w->base) spawn_worker(w);
    pthread_mutex_unlock(&w->lock);
    return 0;
}

void workers_fire_timers(cos_workers *w)
{
    pthread_mutex_lock(&w->lock);
    for (job *j = w->timed; j; j = j->next) j->due_ms = 0;
    pthread_cond_broadcast(&w->cond);
    pthread_mutex_unlock(&w->lock);
}

cos_workers *workers_current(void) { return tls_pool; }

int workers_idle_for_tests(cos_workers *w)
{
    pthread_mutex_lock(&w->lock);
    int n = w->idle;
    pthread_mutex_unlock(&w->lock);
    return n;
}

void workers_block_begin(void)
{
    cos_workers *w = tls_pool;
    if (!w) return;
    pthread_mutex_lock(&w->lock);
    w->blocked++;
    ensure_worker(w);
    pthread_mutex_unlock(&w->lock);
}

void workers_block_end(void)
{
    cos_workers *w = tls_pool;
    if (!w) return;
    pthread_mutex_lock(&w->lock);
    w->blocked--;
    pthread_mutex_unlock(&w->lock);
}

void workers_free(cos_workers *w)
{
    if (!w) return;
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_broadcast(&w->cond);
    while (w->threads > 0) pthread_cond_wait(&w->gone, &w->lock);
    pthread_mutex_unlock(&w->lock);
    /* a poster whose job already ran may still be about to signal */
    while (atomic_load_explicit(&w->posting, memory_order_acquire) > 0) sched_yield();
    reaper_join(&w->gone_threads, true);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    pthread_cond_destroy(&w->gone);
    free(w);
}

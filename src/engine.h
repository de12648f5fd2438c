/*
 * engine.h — the HTTP engine: network threads per client drive libcurl's
 * multi interface for async operations and transfers' parts; a synchronous
 * call runs its exchange on the calling thread with a pooled easy handle
 * (and its kept connection). Requests stream bodies from memory, file
 * ranges or callbacks and responses to memory, file descriptors or
 * callbacks, with CRC-64 computed on the fly. Plus the worker pool that runs
 * completions so user code never runs on a network thread.
 */
#ifndef COS_ENGINE_H
#define COS_ENGINE_H

#include <curl/curl.h>
#include <pthread.h>
#include "cos/client.h"
#include "util.h"

typedef struct cos_engine cos_engine;
typedef struct cos_http cos_http;

typedef enum { BODY_NONE, BODY_MEM, BODY_FILE, BODY_CB } body_kind;
typedef enum { SINK_MEM, SINK_FD, SINK_CB, SINK_DISCARD } sink_kind;

/* A multipart/form-data field (postObject). */
typedef struct cos_form_field {
    char *name;
    char *value;
} cos_form_field;

struct cos_http {
    /* --- request (set by the caller before engine_submit) --- */
    char *method;
    char *url;
    cos_kvlist headers;
    body_kind body;
    const void *mem;
    size_t mem_len;
    int fd;                 /* BODY_FILE: open descriptor (owned by the caller) */
    uint64_t file_off, file_len;
    cos_read_fn rd;
    cos_seek_fn seek;
    void *rd_ud;
    int64_t cb_len;
    cos_form_field *form;   /* non-NULL: send as multipart/form-data with the body as the "file" part */
    size_t form_count;
    const char *form_filename;
    sink_kind sink;
    int sink_fd;
    cos_write_fn wr;
    void *wr_ud;
    bool head;
    int timeout_ms;
    cos_progress_fn on_progress;
    void *progress_ud;
    int progress_interval_ms;
    volatile int *cancel;   /* set non-zero to abort */
    size_t mem_cap;         /* most bytes a body kept in memory may have; 0 = no limit (the caller's choice) */
    int stall_s;            /* a transfer below 1 KiB/s for this long fails; 0 = ENGINE_STALL_S */
    bool md5_sent_on;       /* hash the body sent with MD5 too (a server without CRC-64) */
    bool md5_recv_wanted;   /* a whole object: hash it with MD5 if the answer has no CRC-64 but an MD5 ETag */
    bool crc64_unheeded;    /* S3 dialect: an x-cos-hash-crc64ecma in the answer is not checked, so not trusted either */
    bool sink_pipe;         /* sink_fd is the caller's device or FIFO: written without raising SIGPIPE */

    /* --- response (filled by the engine) --- */
    long status;
    cos_kvlist resp_headers;  /* each value shares its name's allocation: http_headers_free, not cos_kvlist_free */
    cos_buf resp_body;      /* SINK_MEM */
    CURLcode curl_rc;
    char errbuf[CURL_ERROR_SIZE];
    uint64_t sent, received;
    uint64_t crc_sent, crc_received;
    int write_failed;       /* a sink write failed (errno in write_errno) */
    bool too_large;         /* a body for memory passed mem_cap (or an error body ENGINE_ERR_CAP) */
    int cb_wrong;           /* a callback body of known length ended before it (1) or gave more than asked (2) */
    struct cos_md5 *md5_sent, *md5_recv; /* MD5 of what was sent / received, when asked or needed */
    bool md5_checked;       /* the received-MD5 decision was made (on the first byte) */
    bool headers_done;      /* the blank line that ends the answer's headers came */
    int write_errno;

    /* --- engine private --- */
    uint64_t pos;           /* body read position */
    int64_t last_progress_ms;
    double started_s;       /* when this attempt was submitted (progress speed), cos_mono_sec() */
    CURL *easy;
    struct curl_slist *slist;
    curl_mime *mime;
    char *form_frame;       /* a form framed here: its head (fields, the file part's headers), then its tail */
    size_t form_head_len, form_tail_len;
    uint64_t form_at;       /* framing bytes sent: the head's, then the tail's after the file part */
    char form_type[96];     /* "Content-Type: multipart/form-data; boundary=..." */
    bool easy_dirty;        /* the exchange set options setup_easy does not reset: reset the handle after it */
    bool inline_body;       /* the body went out with the headers (CURLOPT_POSTFIELDS) */
    bool lane_small;        /* counted in its lane's small exchanges (engine.c, pick_lane) */
    cos_http *next;
    void (*done)(cos_http *h, void *ud);
    void *done_ud;
};

/* Bounds of what a response may cost (item: responses to memory are bounded):
 * an XML (or JSON) answer, an error body, and the time a
 * transfer may make no progress (below 1 KiB/s) before it counts as stalled. */
#define ENGINE_XML_CAP (64u << 20)
#define ENGINE_ERR_CAP (4u << 20)
#define ENGINE_STALL_S 30
/* Bodies in memory up to this size are sent with the headers, in one write
 * (curl's own limit for that). */
#define ENGINE_INLINE_BODY (64u << 10)
/* A body kept in memory is allocated whole from its Content-Length up to
 * this size (beyond it, it grows as it comes: a length is only a claim). */
#define ENGINE_PREALLOC_MAX (64u << 20)

typedef struct cos_engine_opts {
    const char *connect_to;     /* "host:port" */
    const char *proxy;
    bool tls_verify;
    const char *ca_file, *ca_path;
    int connect_timeout_ms;
    int max_connections;
    const char *user_agent;
    int network_threads;        /* lanes: libcurl multi handles, a thread each; 0 = 2 */
} cos_engine_opts;

/* Whether the ETag among these headers is the body's MD5 (see engine.c). */
bool http_etag_is_md5(const cos_kv *headers, size_t count);
/* Whether an ETag (quoted or not) is this MD5. */
bool http_etag_matches(const char *etag, const unsigned char md5[16]);

int engine_new(cos_engine **out, const cos_engine_opts *o);
void engine_free(cos_engine *e);
/* Queue a request; done(h, ud) runs on a network thread when it finishes: keep it short. */
int engine_submit(cos_engine *e, cos_http *h, void (*done)(cos_http *, void *), void *ud);
/* Run the exchange on the calling thread (a synchronous call: no thread hop)
 * with a pooled easy handle and its kept connection; returns when it is over,
 * with the response filled as a submitted one's would be. Body and progress
 * callbacks run on the calling thread. */
int engine_perform(cos_engine *e, cos_http *h);

/* h's form (h->form, h->form_filename) framed as multipart/form-data with
 * `boundary` into h->form_frame and h->form_type, as curl's mime API frames
 * it (engine.c); 0 or COS_ERR_NOMEM. For tests. */
int engine_form_frame(cos_http *h, const char *boundary);
/* Reset the response part of h so it can be submitted again (a retry). */
void http_reset_response(cos_http *h);
/* Free response headers as the engine allocates them (name and value in one
 * block) and their array: h->resp_headers, or a result's that took them. */
void http_headers_free(cos_kv *items, size_t count);
/* Free everything h owns (not h itself). */
void http_clear(cos_http *h);

/* ---- threads that come and go ----
 * A pool counts its threads down as they leave, but a thread that has left
 * its loop still runs its thread-local destructors (OpenSSL's error state,
 * libcurl's): freeing the pool then returning from main would cut them off
 * (LeakSanitizer saw it). So each leaving thread puts itself on its owner's
 * reaper and the owner joins it: once reaped, a thread is wholly gone.
 * Both calls with the owner's lock held; a thread on the list never takes
 * that lock again, so joining under it cannot deadlock. */
typedef struct cos_reaper {
    pthread_t *ids;
    size_t n, cap;
} cos_reaper;
/* Start a joinable thread; 0 or an errno value. */
int reaper_spawn(void *(*fn)(void *), void *arg);
/* The calling thread is about to return; it detaches itself if the list
 * cannot grow (memory), the one case where it is not joined. */
void reaper_add_self(cos_reaper *r);
/* Join every thread on the list and empty it; free the list if done. */
void reaper_join(cos_reaper *r, bool done);

/* ---- worker pool ---- */
typedef struct cos_workers cos_workers;
int workers_new(cos_workers **out, int threads);
/* Run fn(arg) on a worker. */
int workers_post(cos_workers *w, void (*fn)(void *), void *arg);
/* Between these, workers_post on the calling thread queues its jobs at
 * once but wakes idle workers only at workers_flush (a network thread
 * posting the completions of one pass: the workers it wakes do not take
 * the core from it mid-pass). The thread must call workers_flush before
 * it blocks; hold lasts for the thread's life. */
void workers_hold(void);
void workers_flush(void);
/* Run fn(arg) on a worker once delay_ms have passed (a retry's back-off):
 * no thread waits for it meanwhile, the pool's workers go on with other
 * jobs. At workers_free, jobs still waiting run at once. */
int workers_post_after(cos_workers *w, int64_t delay_ms, void (*fn)(void *), void *arg);
/* Run every job waiting for its delay now (tests: a back-off of an hour ends). */
void workers_fire_timers(cos_workers *w);
/* Stop after the queue drains; joins the threads. */
void workers_free(cos_workers *w);
/* Around a wait of a pool thread for something libcos must finish (a future,
 * a task): the pool starts a stand-in thread while queued jobs would have no
 * idle worker, so a callback that waits never starves the pool. No-ops on
 * threads that are not a pool's. */
void workers_block_begin(void);
void workers_block_end(void);
/* The pool the calling thread belongs to, or NULL. */
cos_workers *workers_current(void);
/* Workers waiting for a job (tests: wait until a pool is at rest). */
int workers_idle_for_tests(cos_workers *w);

#endif

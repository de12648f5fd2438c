/*
 * engine.h — the HTTP engine: one network thread per client drives libcurl's
 * multi interface; requests stream bodies from memory, file ranges or
 * callbacks and responses to memory, file descriptors or callbacks, with
 * CRC-64 computed on the fly. Plus the worker pool that runs completions so
 * user code never runs on the network thread.
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

    /* --- response (filled by the engine) --- */
    long status;
    cos_kvlist resp_headers;
    cos_buf resp_body;      /* SINK_MEM */
    CURLcode curl_rc;
    char errbuf[CURL_ERROR_SIZE];
    uint64_t sent, received;
    uint64_t crc_sent, crc_received;
    int write_failed;       /* a sink write failed (errno in write_errno) */
    int write_errno;

    /* --- engine private --- */
    uint64_t pos;           /* body read position */
    int64_t last_progress_ms;
    double started_s;       /* when this attempt was submitted (progress speed), cos_mono_sec() */
    CURL *easy;
    struct curl_slist *slist;
    curl_mime *mime;
    cos_http *next;
    void (*done)(cos_http *h, void *ud);
    void *done_ud;
};

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

int engine_new(cos_engine **out, const cos_engine_opts *o);
void engine_free(cos_engine *e);
/* Queue a request; done(h, ud) runs on a network thread when it finishes: keep it short. */
int engine_submit(cos_engine *e, cos_http *h, void (*done)(cos_http *, void *), void *ud);
/* Reset the response part of h so it can be submitted again (a retry). */
void http_reset_response(cos_http *h);
/* Free everything h owns (not h itself). */
void http_clear(cos_http *h);

/* ---- worker pool ---- */
typedef struct cos_workers cos_workers;
int workers_new(cos_workers **out, int threads);
/* Run fn(arg) on a worker. */
int workers_post(cos_workers *w, void (*fn)(void *), void *arg);
/* Stop after the queue drains; joins the threads. */
void workers_free(cos_workers *w);

#endif

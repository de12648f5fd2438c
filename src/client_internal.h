/*
 * client_internal.h — what the client is made of, for the modules that
 * build on it (operations, credentials, transfers).
 */
#ifndef COS_CLIENT_INTERNAL_H
#define COS_CLIENT_INTERNAL_H

#include <stdatomic.h>
#include "cos/cos.h"
#include "engine.h"
#include "url.h"

/* A key (temporary or permanent) or a ready Authorization. */
typedef struct cos_cred {
    char *secret_id, *secret_key, *token;
    int64_t start_time, expired_time;
    char *authorization;    /* set instead of the keys by an Authorization callback */
} cos_cred;

struct cos_credentials_sink {
    cos_cred cred;
    bool set;
};

typedef struct cred_cache cred_cache;

#define APPEND_MEMO_SLOTS 32

struct cos_client {
    cos_config cfg;             /* effective configuration; strings owned (below) */
    char *strings[16];          /* owned copies of cfg's strings */
    cos_endpoint ep;
    cos_engine *engine;
    cos_workers *workers;
    cred_cache *creds;
    _Atomic int64_t clock_offset_ms;
    _Atomic int inflight;       /* async operations not yet completed */
    _Atomic bool closing;       /* cos_client_free has begun: retries in their back-off are not made */
    volatile int abort_io;      /* and async calls' exchanges in flight end (their cos_http.cancel) */
    _Atomic int sync_calls;     /* synchronous calls running on their callers' threads (ops.c run_sync) */
    bool auto_chunk_size;       /* ChunkSize / ChunkParallelLimit left at 0: transfers choose */
    bool auto_parallel;         /*   them from the file size (transfer.c) */
    _Atomic int lacks_crc;      /* the server answered an upload without x-cos-hash-crc64ecma: hash
                                   what is sent with MD5 as it goes, to check the ETag */
    _Atomic int s3_checksum_refused; /* the S3 store refused x-amz-checksum-*: upload_checksum AUTO stops */
    pthread_mutex_t lock;
    pthread_cond_t idle;
    struct cos_tasks *tasks;    /* transfer task manager, created on first use */
    pthread_mutex_t tasks_lock;
    /* What the client's own last appends to a few objects were answered
       with (the whole object's CRC-64 and length), so the next append at
       that length can check the server's new CRC (ops.c). */
    pthread_mutex_t append_lock;
    struct append_memo {
        char *id;               /* "bucket/key", NULL = free slot */
        uint64_t length, crc64;
        uint64_t used;          /* recency, for eviction */
    } append_memo[APPEND_MEMO_SLOTS];
    uint64_t append_clock;
};
/* Whether this thread is inside a synchronous call of c (its progress,
 * sink, body or credential callback): cos_client_free there is deferred. */
bool call_sync_on_thread(const cos_client *c);
/* Free what the append memo holds (client.c, at free). */
void append_memo_clear(cos_client *c);

/* Credentials (cred.c). */
int cred_cache_new(cred_cache **out);
void cred_cache_free(cred_cache *c);
/* Obtain a key or Authorization for a request; blocks on the callback if needed. */
int cred_get(cos_client *c, const cos_auth_request *ar, cos_cred *out, cos_error **err);
void cred_clear(cos_cred *cr);
/* A future handed to an async call that will complete it (client.c). */
void future_arm(void *future);
/* Where an async call or task was started: inside refresh number seq of its
 * own client's key (cc), or not (NULL). While that refresh is under way such
 * a call fails with COS_ERR_AUTH when it needs a key no cache holds, as a
 * synchronous one there does, instead of waiting for the refresh: the
 * callback may be waiting for the call. After it, it refreshes as any call. */
typedef struct cred_origin {
    const cred_cache *cc;
    uint64_t seq;
} cred_origin;
/* The origin of a call or task of client c started on this thread now. */
cred_origin cred_origin_here(const cos_client *c);
/* This thread acts for o until the matching cred_origin_leave (nests). */
const cred_origin *cred_origin_enter(const cred_origin *o);
void cred_origin_leave(const cred_origin *previous);

/* The versions of cos_request this library reads (by size; ops.c). */
extern const size_t cos_request_sizes[COS_REQUEST_VERSION + 1];

/* This thread's cos_async_error() slot, emptied: pass it as the err of an
 * async call's up-front checks (NULL if out of memory). */
cos_error **client_async_error_slot(void);

int64_t client_now_s(const cos_client *c);   /* local clock corrected by the offset */
void client_log(const cos_client *c, cos_log_level lvl, const char *fmt, ...) COS_PRINTF(3, 4);

/* UploadIdCacheLimit: keep the newest `limit` upload checkpoints in the
 * directory of `checkpoint` (which is kept whatever its age); upload_ids.c. */
void upload_id_cache_trim(const char *checkpoint, int limit);

/* The transfer manager of a client (transfer code owns its type). */
struct cos_tasks **client_tasks_slot(cos_client *c);
void cos_tasks_destroy(struct cos_tasks *t); /* transfer.c */
bool cos_tasks_on_own_thread(struct cos_tasks *t); /* the calling thread is one of t's runners */

#endif

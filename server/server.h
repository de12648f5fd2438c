/*
 * server.h — cos-server's internal interfaces: configuration, the store
 * (SQLite metadata + immutable data files), and the request context the
 * HTTP layer hands to the API handlers.
 */
#ifndef COS_SERVER_H
#define COS_SERVER_H

#include <microhttpd.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include "cos/cos.h"
#include "util.h"
#include "sts.h"
#include "md5lanes.h"

typedef struct server_config {
    const char *root;
    const char *listen;        /* "127.0.0.1:PORT" */
    const char *port_file;
    const char *secret_id, *secret_key, *appid;
    const char *tls_cert, *tls_key;
    bool sts, faults, quiet;
    bool sts_open;             /* --sts-open: /sts answers unsigned requests (local browser work) */
    bool no_fsync;             /* --no-fsync: survive kill -9, not power loss (benchmarks, scratch) */
    bool no_direct_io;         /* --no-direct-io: large bodies through the page cache, not O_DIRECT */
    bool console;              /* --console: the web console on its own listener (console.c) */
    const char *console_listen; /* default 127.0.0.1:(port+1), or :0 when the port is 0 */
    const char *console_dir;   /* the console's files; default: the build's or the installed copy */
    int busy_timeout_ms;       /* --busy-timeout-ms: wait for a locked database; 0 = 10 s */
    unsigned threads;          /* worker threads; 0 = 16 */
    int restore_seconds;       /* --restore-seconds: every restore of an archived object takes this long */
    bool restore_seconds_set;  /* else COS's durations by tier */
    const char *fault_bucket;  /* --fault-bucket NAME ("*" = every bucket): its keys name the answer (faults.c) */
    bool fault_once;           /* --fault-once: such a key fails every other time (the Python suite's mock) */
    const char *extra_keys[8]; /* --extra-key ID:SECRET[:ACCOUNT]: more permanent keys (s3-tests' users) */
    const char *extra_secrets[8]; /* the SECRET of each */
    const char *extra_accounts[8]; /* the ACCOUNT of each: NULL = the owner's key; else another account */
    size_t nextra_keys;
    const char *s3_domain;     /* --s3-domain D: S3 virtual hosts BUCKET.s3.D and BUCKET.D (path style always works) */
    unsigned sts_max_keys;     /* --sts-max-keys: live temporary keys at most; 0 = STS_MAX_KEYS_DEFAULT */
    unsigned header_timeout_s; /* --header-timeout: a request head complete within it; 0 = HEADER_TIMEOUT_DEFAULT_S */
    unsigned body_timeout_s;   /* --body-timeout: a body's grace and idle limit; 0 = BODY_TIMEOUT_DEFAULT_S */
    unsigned rate_window_s;    /* --rate-window: a body or answer's minimum rate holds per window; 0 = default */
    int lock_drain_ms;         /* --lock-drain-ms: enabling object lock waits this long for writes in flight
                                  (objlock.c); 0 = 10 s */
} server_config;

#define HEADER_TIMEOUT_DEFAULT_S 30u /* connect to complete request headers, and keep-alive idle; room for slow TLS handshakes */
#define BODY_TIMEOUT_DEFAULT_S 120u  /* idle time allowed while a body or an answer is under way */
#define RATE_WINDOW_DEFAULT_S 30u    /* a body or an answer moves 500 B/s in each window of this (conns.c) */

/* ---------------------------------------------------------------- store */
typedef struct store store;

typedef struct obj_meta {
    char *bucket, *key;
    uint64_t size;
    char etag[80];           /* with quotes */
    uint64_t crc64;
    int64_t mtime_ms;
    char *headers;           /* stored response headers: records of objhdr.c */
    char *storage_class;
    char *acl;
    char *tagging;           /* Tagging XML or NULL */
    char data_id[40];
    int keep;                /* a write's treatment of the key's current version (VKEEP_), in its own transaction */
    const char *expect_id;   /* a conditional write: done only if the key's current data id is still this one
                                ("": no current version), else STORE_CHANGED and nothing written */
    char *version_out;       /* a write decided VKEEP_OFF made under versioning after all: the id it took
                                (64 bytes; "null" when Suspended), if not NULL */
} obj_meta;
#define STORE_CHANGED 2      /* the key changed since a conditional write read it (obj_meta.expect_id) */
#define STORE_NO_BUCKET 3    /* the bucket was deleted after the request was checked: nothing written */

/* In a versioned bucket a write keeps the version it replaces, in the same
 * transaction as the write (a crash or a full disk between them lost it):
 * VKEEP_ARCHIVE (Enabled) the current version becomes non-current;
 * VKEEP_NULL (Suspended) the write is the "null" version: an older null one
 * goes, a current one with another id becomes non-current. */
#define VKEEP_ARCHIVE 1
#define VKEEP_NULL 2
/* The write was decided for an unversioned bucket (versioning_before_write):
 * if versioning came on before its transaction, the write is made as the
 * bucket's state is then (a new version id, or the null one when Suspended;
 * obj_meta.version_out): replacing the row outright would lose a version
 * written under versioning meanwhile. (0: no decision, e.g. an append in place.) */
#define VKEEP_OFF 3
/* An object's version id travels among its stored headers in this internal line. */
#define VERSION_LINE "x-cos-internal-version:"
/* The version id of an object from its stored headers ("null" when none). */
void version_of(const char *headers, char vid[64]);
/* A new version id (time first, so the ids of one key sort by age). */
void store_version_id_new(char vid[64]);
/* A bucket's stored versioning configuration read as a write's treatment of
 * the current version: VKEEP_ARCHIVE (Enabled), VKEEP_NULL (Suspended), 0 (Off). */
int store_versioning_keep(const void *body, size_t len);

typedef struct part_meta {
    int number;
    uint64_t size;
    char etag[80];
    uint64_t crc64;
    char data_id[40];
    int64_t mtime_ms;
} part_meta;

/* Every store call that reads or writes metadata can fail; it then returns
 * one of these, never 0, 1 or -1 (which keep each call's own meaning, such
 * as "absent"), and nothing of a write was applied. */
#define STORE_FAILED (-2)    /* I/O error, full disk, read-only database: answer 500 */
#define STORE_BUSY (-3)      /* locked past the busy timeout: answer 503, a retry may work */
/* The SQLite message of this thread's last failure (for the error answer). */
const char *store_last_error(void);
/* Whether the metadata log's fsync has failed: from then on the store
 * commits nothing (STORE_FAILED, STORE_LOST_MESSAGE) and what it holds may
 * include commits a crash would lose, so the server serves nothing from it
 * until it is restarted, which recovers the last durable state (main.c). */
bool store_durability_lost(store *s);
#define STORE_LOST_MESSAGE "the metadata log's fsync failed: no write can be made durable; restart cos-server " \
                           "(it recovers the last durable state)"

/* Fault injection (--faults): on this thread, commits after the next n fail
 * with STORE_FAILED and roll back; n < 0 turns it off. */
void store_fault_commits(int n);
/* Fault injection (--faults "pause"): on this thread, the next object write
 * (a PUT, copy, append or Complete) or DELETE waits after its request decided it (versioning among the rest) and
 * before its transaction, until store_fault_release (DELETE /-/faults) or
 * 60 s: what a slow request meets when another changes the bucket meanwhile.
 * ("pause_dir": STORE_PAUSE_DIR, the body waits once it has made its new
 * data/ subdirectory, before that is durable in data/.)
 * store_fault_paused: how many wait now; store_dir_waits: how many bodies
 * wait for another's directory to become durable. */
enum { STORE_PAUSE_WRITE = 1, STORE_PAUSE_DIR = 2 };
void store_fault_pause(int where); /* STORE_PAUSE_*, or 0 */
/* Fault injection (--faults "lock_db"): SQLite's write lock on the metadata
 * held by a connection of its own, as another process held it before the
 * store kept meta.db to itself (walvfs.c), until store_fault_release: every
 * write then waits --busy-timeout-ms and fails busy. 0, or -1 if it could
 * not be taken. */
int store_fault_lock_db(store *s);
void store_fault_release(void);
int store_fault_paused(void);
int store_dir_waits(void);

int store_open(store **out, const char *root, char **errmsg);
void store_close(store *s);
const char *store_root(store *s);
/* Whether data files are fsynced before they are committed (default yes). */
void store_set_fsync(store *s, bool on);
/* Large durable bodies written with O_DIRECT from aligned buffers (the default),
 * or through the page cache (--no-direct-io; also where the filesystem refuses). */
void store_set_direct(store *s, bool on);
/* How long a write waits for a database another process holds (default 10 s). */
void store_set_busy_timeout(store *s, int ms);

/* buckets (each may also return STORE_FAILED or STORE_BUSY) */
int store_bucket_create(store *s, const char *bucket, const char *region, const char *acl); /* 0, or 1 if it exists */
/* the same, a new bucket's configurations (kinds[i] = bodies[i]) in its own transaction */
int store_bucket_create_with(store *s, const char *bucket, const char *region, const char *acl,
                             const char *const *kinds, const char *const *bodies, size_t n);
int store_bucket_get(store *s, const char *bucket, char **region, char **acl, int64_t *created); /* 0 or -1 */
/* Between these, on the calling thread, bucket rows and configurations are
 * read once (a write transaction on the thread forgets them): one request. */
void store_memo_begin(store *s);
void store_memo_end(void);
void store_memo_want_body(void); /* this request reads the object's data: its row read brings a small body along */
void store_memo_refresh(void);   /* what this request reads of buckets from now on is read anew (after taking a lock) */
int store_bucket_delete(store *s, const char *bucket); /* 0, -1 missing, 1 not empty */
/* The same; uploads_too: its unfinished uploads (and their parts) go too when nothing else is in it (S3's). */
int store_bucket_delete_with(store *s, const char *bucket, bool uploads_too);
int store_bucket_list(store *s, cos_list_buckets_result *out);
int store_config_put(store *s, const char *bucket, const char *kind, const char *body, size_t len); /* 0 */
int store_config_get(store *s, const char *bucket, const char *kind, char **body, size_t *len); /* 0 or -1 */
int store_config_delete(store *s, const char *bucket, const char *kind); /* 0 (also when there was none) */
int store_bucket_set_acl(store *s, const char *bucket, const char *acl); /* 0 or -1 missing */
/* The kinds of a bucket's configurations that start with prefix, oldest first (malloc'd array of malloc'd strings). */
int store_config_list(store *s, const char *bucket, const char *prefix, char ***kinds, size_t *count);

/* data files: write to a temp file, then commit it */
typedef struct data_writer {
    int fd;
    char tmp_path[512];
    char data_id[40];
    uint64_t size;
    uint64_t crc64;
    md5_stream md5;          /* md5lanes.h: large bodies are hashed with other uploads' (store.c) */
    int error;               /* errno of a failed write */
    bool no_hash;            /* the caller knows the hashes (a copy keeps its source's): skip MD5/CRC */
    uint64_t kicked;         /* bytes handed to writeback so far (see data_write) */
    struct data_hasher *hasher; /* hashes large bodies on another core (store.c) */
    bool no_fsync;           /* copied from the store by data_begin */
    unsigned char *mem;      /* a body still small enough to be kept in SQLite (store.c) */
    size_t mem_cap;
    bool in_memory;          /* no file yet: fd is -1 and the bytes are in mem */
    bool inline_pending;     /* finished, its blob row left to the commit of the row naming it */
    bool no_direct;          /* copied from the store: large bodies go through the page cache */
    struct data_stage *stage; /* a large durable body: staged in aligned buffers, written O_DIRECT (store.c) */
    bool placed;             /* renamed into data/ while it arrives: tmp_path names it there (store.c, stage_place) */
    struct store *store;     /* set by data_begin: its data/ directories (store.c, data_dir_ready) */
} data_writer;
void server_random(void *out, size_t n); /* the kernel's random bytes (store.c) */
int data_begin(store *s, data_writer *w);
int data_write(data_writer *w, const void *buf, size_t len);
/* append len bytes of src_fd at off; in-kernel (copy_file_range) when no_hash is set */
int data_copy(data_writer *w, int src_fd, uint64_t off, uint64_t len);
/* fsync and move into place; md5 out (raw), crc64 final. 0, -1 (w->error
 * says why), or STORE_FAILED / STORE_BUSY when a small body's row failed. */
int data_finish(store *s, data_writer *w, unsigned char md5[16]);
/* data_finish, except that a body small enough for a row is not committed
 * here: store_object_put_body commits it with the object's row, in one
 * transaction (w->inline_pending). A body not committed that way is dropped
 * with data_discard. */
int data_finish_deferred(store *s, data_writer *w, unsigned char md5[16]);
void data_discard(store *s, data_writer *w);
void data_abort(data_writer *w);
/* true once the store gathers this body's pieces itself (staged): batching them before data_write is a copy more */
bool data_batched(const data_writer *w);
char *data_path(store *s, const char *data_id); /* malloc'd */

/* Reading an object's data, which is one file or (multipart) a manifest of
 * its parts' files; see store.c. */
#define MANIFEST_MARK 'M'
/* A manifest's text ("ID SIZE\n" per segment, nothing else): 0 with its ids (each malloc'd) and sizes, or -1
 * (damaged: nothing returned). store.c; fuzz/fuzz_srv_manifest.c. */
int manifest_parse(const char *text, size_t len, char ***ids, uint64_t **sizes, size_t *n);
#define INLINE_MARK 'I'   /* the data is a row of the blobs table, not a file */
typedef struct data_reader {
    size_t n;                /* segments */
    int *fds;
    uint64_t *sizes;
    char **ids;
    uint64_t total;
    unsigned char *mem;      /* a small object's bytes (its one segment is a blob; fds[0] is -1) */
} data_reader;
int data_open(store *s, const char *data_id, data_reader *r); /* 0 or -1 */
ssize_t data_pread(const data_reader *r, void *buf, size_t len, uint64_t off); /* within one segment */
int data_copy_from(data_writer *w, const data_reader *r, uint64_t off, uint64_t len);
void data_close(data_reader *r);
/* The sizes of a multipart object's parts, in order (its manifest's segments; *sizes malloc'd);
 * other data: none (*n = 0). 0, or -1 if the manifest cannot be read. */
int data_part_sizes(store *s, const char *data_id, uint64_t **sizes, size_t *n);
/* Write and commit a manifest of segments; its id (with the mark) to out_id. */
int data_write_manifest(store *s, const char *const *ids, const uint64_t *sizes, size_t n, char out_id[40]);
void data_unlink(store *s, const char *data_id);      /* a manifest takes its parts along */
void data_unlink_file_only(store *s, const char *data_id); /* a manifest without its parts */

/* objects (each may also return STORE_FAILED or STORE_BUSY) */
int store_object_put(store *s, const obj_meta *m);   /* 0; replaces; old data removed */
/* the same, committing a body data_finish_deferred left pending in the same transaction (body may be NULL) */
int store_object_put_body(store *s, const obj_meta *m, data_writer *body);
int store_object_get(store *s, const char *bucket, const char *key, obj_meta *out); /* 0 or -1 */
/* 0 or -1 if absent; STORE_CHANGED (nothing deleted) if the bucket has a versioning
 * configuration by the time it runs: the caller decided it unversioned before */
int store_object_delete(store *s, const char *bucket, const char *key);
/* The same, only while the object is the body data_id (the one authorization read): else -1, as absent. */
int store_object_delete_if(store *s, const char *bucket, const char *key, const char *data_id);
int store_object_set(store *s, const char *bucket, const char *key, const char *column, const char *value); /* 0 or -1 absent */
/* the same only while the object is still the one read (data_id): a value computed from
   what was read never lands on an object written since. 0, -1 absent or replaced, or a STORE_ error */
int store_object_set_if(store *s, const char *bucket, const char *key, const char *data_id, const char *column,
                        const char *value);
/* the same on one version (current or older; never a delete marker): 0, -1 absent, or a STORE_ error */
int store_version_set(store *s, const char *bucket, const char *key, const char *version_id, const char *column,
                      const char *value);
/* Set a column of the version of key whose data is data_id (current or
 * not): 0, or -1 when no version holds it any more (replaced, deleted). */
int store_version_set_if(store *s, const char *bucket, const char *key, const char *data_id, const char *column,
                         const char *value);
void obj_meta_clear(obj_meta *m);
/* listing: rows with key > after and key starting with prefix, in bytewise
 * key order; cb returns non-zero to stop. 0 or a STORE_ error. */
int store_object_scan(store *s, const char *bucket, const char *prefix, const char *after,
                      int (*cb)(void *ud, const obj_meta *m), void *ud);
/* The same with a delimiter: cb sees only the first key of each common
 * prefix (prefix + ... + delimiter), and the rest of it is skipped by a seek;
 * a marker inside a common prefix skips that prefix. Costs O(rows returned). */
int store_object_list(store *s, const char *bucket, const char *prefix, const char *delimiter, const char *after,
                      int (*cb)(void *ud, const obj_meta *m), void *ud);
/* For tests: object rows listings have read so far, and a listing's SQL
 * (bit 1: inclusive lower bound, bit 2: upper bound) to EXPLAIN. */
uint64_t store_rows_visited(store *s);
/* Pages appended to the metadata log, commits that asked for a checkpoint
 * and checkpoint passes, since store_open (tests check that checkpoints keep
 * the log bounded, and come per share of the log, not per commit). */
void store_wal_stats(store *s, uint64_t *pages, uint64_t *asks, uint64_t *passes);
/* Reads of a bucket's row and configurations from the database (requests
 * share the last one until a write changes them: tests check the sharing). */
uint64_t store_meta_reads(store *s);
/* Times a write slept waiting for the log's fsync, and times such a sleep
 * woke (tests check that a sync wakes only the writes it covered and one to
 * run the next, not every sleeper to look again). */
void store_sync_stats(store *s, uint64_t *sleeps, uint64_t *wakeups);
/* Writes (store_object_put_body, store_object_delete) run in batches, and
 * the write transactions those batches took (tests check that writes side
 * by side share one). */
void store_batch_stats(store *s, uint64_t *jobs, uint64_t *commits);
/* Writes queued now for a batch leader to run them (tests wait for writes to
 * reach the queue instead of waiting a fixed time). */
size_t store_batch_queued(store *s);
const char *store_list_sql(int variant);

/* versions (#18): the current version stays in objects; older ones and
 * delete markers in a versions table, each owning its data */
/* a delete marker, the current version kept as `keep` says (VKEEP_), in one transaction; with only_id,
 * only while the current object is that body, else 1 and nothing done */
int store_version_marker(store *s, const char *bucket, const char *key, const char *version_id, int64_t mtime_ms,
                         int keep, const char *only_id);
/* the current version if its id is version_id, the newest older one taking its place, in one
   transaction: 0, 1 if the current version is another (or none), or a STORE_ error */
int store_version_delete_current(store *s, const char *bucket, const char *key, const char *version_id);
int store_version_get(store *s, const char *bucket, const char *key, const char *version_id, obj_meta *out,
                      bool *marker); /* 0 or -1 */
/* Remove one version (its data too): 0, or -1 if absent; if no version is
   current then, the newest older one becomes current (unless a delete marker). */
int store_version_delete(store *s, const char *bucket, const char *key, const char *version_id, bool *was_marker);
/* Current rows (cur) and non-current versions (ver) with prefix, in no order, read in one snapshot. */
int store_versions_listing(store *s, const char *bucket, const char *prefix, int (*cur)(void *ud, const obj_meta *m),
                           int (*ver)(void *ud, const obj_meta *m, const char *version_id, bool marker), void *ud);
/* Non-current versions with prefix, by key then newest first; cb returns non-zero to stop. */
int store_versions_scan(store *s, const char *bucket, const char *prefix,
                        int (*cb)(void *ud, const obj_meta *m, const char *version_id, bool marker), void *ud);
int store_versions_count(store *s, const char *bucket);

/* multipart */
int store_upload_create(store *s, const char *bucket, const char *key, const char *headers, char upload_id[64]);
int store_upload_get(store *s, const char *upload_id, char **bucket, char **key, char **headers); /* 0 or -1 */
int store_upload_delete(store *s, const char *upload_id);  /* removes parts too; 0 or -1 absent */
int store_part_put(store *s, const char *upload_id, const part_meta *p); /* 0, 1 no such upload (any more) */
/* Commit a completed upload in one transaction: the object (whose data is a
 * manifest of the parts) replaces any old one, and the upload's rows go; the
 * parts' files now belong to the object. */
/* used: the parts' data ids the manifest names. 0, 1 if one changed meanwhile, -1 if the upload is
   gone (aborted or completed meanwhile), STORE_CHANGED (m->expect_id), or a STORE_ error. */
int store_upload_complete(store *s, const obj_meta *m, const char *upload_id, const char *const *used, size_t nused);
int store_parts_list(store *s, const char *upload_id, part_meta **out, size_t *count);
typedef struct upload_row { char *key, *upload_id; int64_t initiated_ms; } upload_row;
int store_uploads_list(store *s, const char *bucket, const char *prefix, upload_row **out, size_t *count);

/* ---------------------------------------------------------------- requests */
typedef struct server server;

typedef struct req {
    server *srv;
    struct MHD_Connection *conn;
    const char *method;
    char *path;              /* decoded URL path */
    char *bucket, *key;      /* parsed addressing; NULL when absent */
    char *region;
    bool region_named;       /* the Host named the region (else it is the default) */
    bool path_style;
    char *form_key;          /* an S3 POST form's key after ${filename}, while its policy is checked (auth.c) */
    bool is_s3;              /* S3's dialect (handle_request): x-amz-* names in and out, S3's error shape */
    bool no_args;            /* the URL has no query: req_arg/req_has_arg answer without a search */
    const char *error_delete_marker; /* set: an error answer says x-cos-delete-marker with it (a GET/HEAD of a deleted key) */
    char request_id[48];
    int64_t t0_ms;
    int64_t pace_until_ms;   /* a paced PUT waits until then once its body is in (main.c); -1: not paced */
    /* body */
    bool body_to_file;
    data_writer w;
    bool w_open;
    uint64_t body_declared;  /* its Content-Length (0: none), and the body bytes received so far */
    uint64_t body_seen;
    size_t piece_max;        /* the largest piece of it so far (a full read of libmicrohttpd's buffer) */
    char *sink;              /* a large body's small pieces, gathered for data_write (main.c, req_body_sink) */
    size_t sink_len;
    cos_buf body;            /* small bodies (XML, JSON) */
    bool too_large;
    struct MHD_PostProcessor *pp; /* a form's (also what says the request is one); FORM_READ once its body is in */
    bool form_cut;           /* the form's body ended before its closing boundary (main.c) */
    char *form_close;        /* "\r\n--BOUNDARY--": what ends the form; after it, an epilogue (ignored) */
    char form_tail[80];      /* the last bytes fed to the form's processor (a close split between pieces) */
    size_t form_tail_len;
    bool form_closed;        /* its close was fed: what follows is the epilogue */
    cos_kvlist form;         /* POST object fields */
    /* auth outcome */
    char *principal;         /* "owner", a temporary key id, or NULL for anonymous */
    const sts_key *tmp_key;
    bool body_signed;        /* the signature binds the body: a signed Content-MD5 (COS, SigV2), or SigV4's
                                signed Content-MD5 or hex x-amz-content-sha256 (verified as the body arrives) */
    const char *account;     /* a second account's id (--extra-key ID:SECRET:ACCOUNT); NULL = the owner's account */
    uint64_t bytes_out;
    int status;
    bool fault_bad_crc;      /* fault injection: lie about the CRC */
    bool no_request_id;      /* fault bucket: answer without x-cos-request-id */
    int fault_resume;        /* a stall held it (faults.c): FAULT_RESUME_* once it is dispatched again */
    /* a body stored as a file is finished (made durable, answered) on a finisher thread, its
       connection suspended meanwhile (main.c, finish_elsewhere) */
    int fin_state;           /* FIN_*: not handed over, on a finisher, answered by one */
    enum MHD_Result fin_ret; /* what its dispatch returned (FIN_DONE): MHD_NO closes the connection */
    struct req *fin_next;    /* the finishers' queue */
    int64_t hold_until;      /* a hold asked for on a finisher (faults.c): made once its dispatch returned */
    bool hold_fault;
    struct s3_state *s3;     /* an S3 request's signature and body filter (s3auth.c); NULL otherwise */
    bool dry_run;            /* checks made from the headers alone: an answer is not queued (main.c) */
    bool drop_body;          /* the headers were refused: the body is read but never stored (main.c) */
    bool form_size_unknown;  /* a form judged as its file begins: its policy's content-length-range waits for
                                the file's size (main.c, auth.c) */
    const char *cond_prefix; /* set: a policy's s3:prefix / cos:prefix reads this, not the query (authz.c) */
    bool authz_pinned;       /* authorization read the request's own object (its ACL or tags): this data id */
    char authz_pin[40];      /* GET/HEAD serve that object only, or decide again (handlers.c) */
    const char *pin_key;     /* a multi-object DELETE's key being decided (authz_pin is then its object's) */
    bool pinning_source;     /* authorization is deciding on a copy's source (authz.c) */
    bool source_pinned;      /* and read it: a copy copies that object only, or decides again */
    char source_pin[40];
    char *extra_headers;     /* records a write keeps besides the request's own (symlink.c), or NULL */
    bool objlock_multi;      /* a multi-delete in a bucket with object lock, under its guard (objlock.c) */
    bool capture;            /* a dry run keeps its refusal's bytes in `early` (main.c, answer_early) */
    cos_buf early;           /* that refusal: status line, headers, body */
    int early_status;
    char *early_body;        /* the refusal's body, while send_response renders it */
    size_t early_body_len;
    bool answered_early;     /* it was sent on the socket before the body ended: the connection closes */
} req;

struct server {
    server_config cfg;
    store *st;
    sts_store *sts;
    struct listener *listener; /* the listening socket, its acceptor and the request threads (accept.c) */
    pthread_mutex_t fault_lock;
    cos_buf faults_json;     /* current fault rules (raw JSON) */
    struct fault_rule *faults;
    size_t nfaults;
    struct fault_stalls *stalls; /* held requests (stalls, paces) and the timer that lets them go (faults.c) */
    struct conn_deadlines *conns; /* connections' head and body deadlines (conns.c) */
    struct finishers *fin;   /* threads that finish large bodies off libmicrohttpd's (main.c) */
    struct conn_deadlines *console_conns; /* the same for the console's listener */
    int port;                /* the bound port, once started */
    char *tls_cert_pem, *tls_key_pem;
    struct MHD_Daemon *console_daemon;
    int console_port;        /* the console's bound port, once started */
    char *console_dir;       /* resolved directory of the console's files */
    char console_origins[3][96]; /* origins the console is served from (cors.c trusts them) */
};

/* The development keys used when none are given (documented in docs/cos-server.md). */
#define SERVER_DEV_SECRET_ID "AKIDcosLOCALdevelopment0000000000000"
#define SERVER_DEV_SECRET_KEY "cosLOCALdevelopmentSECRETkey00000"
#define SERVER_DEV_APPID "1250000000"

/* main.c: start the daemon for srv->cfg (missing keys become the development
 * keys) and set srv->port; 0, or an exit code with *errmsg (malloc'd) set.
 * server_stop undoes what was started; both leave no global state behind. */
int server_start(server *srv, char **errmsg);
void server_stop(server *srv);
/* accept.c: the listening socket at sa; `threads` request threads, each a daemon of its own
 * made by start_daemon(cls, flags, its connection limit, its notify callback and cls); one
 * thread accepts and gives each connection to the thread with the fewest. 0, or -1 with
 * errno (listener_stop undoes a part start). listener_port: the bound port. */
struct sockaddr_in;
typedef struct MHD_Daemon *(*listener_daemon_fn)(void *cls, unsigned flags, unsigned limit,
                                                 MHD_NotifyConnectionCallback notify, void *notify_cls);
int listener_start(server *srv, const struct sockaddr_in *sa, unsigned threads, unsigned flags, unsigned max_conns,
                   listener_daemon_fn start_daemon, void *cls);
int listener_port(server *srv);
void listener_stop(server *srv); /* the acceptor, then every request thread; their connections closed */
/* console.c: the web console's listener (with cfg.console); 0 or an exit code with *errmsg */
int console_start(server *srv, char **errmsg);
void console_stop(server *srv);
bool console_origin(server *srv, const char *origin);
/* cors.c */
bool cors_is_sts(req *r);                                  /* the request is for /sts */
enum MHD_Result cors_preflight(req *r);                    /* OPTIONS on a bucket, object or /sts */
int cors_sts_check(req *r, enum MHD_Result *ret);          /* 0, or a browser may not have a key: refused */
void cors_add_headers(req *r, struct MHD_Response *resp);  /* a real answer's Access-Control-* */
/* faults.c */
void fault_clear(server *s);
enum { FAULT_RESUME_SERVE = 1, FAULT_RESUME_SUCCEED = 2 }; /* after a hold: serve it / the fault bucket's success */
int hold_start(server *s); /* the timer of held requests, before the daemon (MHD_ALLOW_SUSPEND_RESUME); 0 or -1 */
void hold_stop(server *s);  /* before the daemon stops: resumes every held request, holds no more */
void hold_free(server *s);  /* after the daemon has stopped */
/* Suspend conn until until_ms (cos_mono_ms), when a timer resumes it; only
 * from conn's own callback (its request's or its answer's reader), which is
 * then called again. false when the server is stopping: go on now. A held
 * connection holds no thread. */
bool server_hold(server *s, struct MHD_Connection *conn, int64_t until_ms);
/* The same, resumed early once its client has closed (a paced PUT whose body is in). */
bool server_hold_watched(server *s, struct MHD_Connection *conn, int64_t until_ms);
/* A hold that a request on a finisher thread asked for (r->hold_until): its connection is
 * suspended already, so it is only registered, for the timer to resume; false when the
 * server is stopping (then the caller resumes it). */
bool server_hold_registered(server *s, req *r);
enum { FIN_NONE, FIN_RUNNING, FIN_DONE };

/* conns.c: deadlines for a request's head and body (slowloris); the callbacks run on the connection's thread */
int conns_start(server *s, unsigned max_conns); /* before the daemon (its connection limit); 0 or -1 */
void conns_stop(server *s); /* after it stopped */
void conns_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                  enum MHD_ConnectionNotificationCode code); /* MHD_OPTION_NOTIFY_CONNECTION, cls = the server */
void conns_head_in(server *s, struct MHD_Connection *conn, bool body); /* a request's head is in */
void conns_body_progress(server *s, struct MHD_Connection *conn, uint64_t seen);
void conns_body_done(server *s, struct MHD_Connection *conn);
/* The request was answered, and the socket's sending side shut, before its body ended (main.c): the rest is
 * dropped for a short while, then the connection is cut. */
void conns_linger(server *s, struct MHD_Connection *conn);
/* An answer was queued: until the request ends, the client must read it at the minimum rate. */
void conns_answering(server *s, struct MHD_Connection *conn);
void conns_request_done(server *s, struct MHD_Connection *conn); /* answered: the next head's deadline */
/* the same for the console's listener (console.c) */
int conns_console_start(server *s, unsigned max_conns);
void conns_console_stop(server *s);
void conns_console_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code);
void conns_console_head_in(server *s, struct MHD_Connection *conn);
void conns_console_request_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                                enum MHD_RequestTerminationCode toe);

/* authz.c: the authorization model (see its header comment). */
enum { ACL_READ = 1, ACL_WRITE = 2, ACL_READ_ACP = 4, ACL_WRITE_ACP = 8 };
enum {
    OPF_LISTING = 1,     /* checked against the prefix it lists */
    OPF_COPY = 2,        /* x-cos-copy-source: also GetObject on the source */
    OPF_FORM = 4,        /* a POST form: the action applies to the form's key */
    OPF_PER_KEY = 8,     /* multi-delete: DeleteObject on each key, in the handler */
    OPF_PREFLIGHT = 16,  /* OPTIONS: anonymous, the CORS rules decide */
    OPF_POLICY = 32,     /* a bucket policy API */
    OPF_SETS_ACL = 64,   /* may set an ACL (x-cos-acl, x-cos-grant-*, a form's acl) or an object's tags
                            (x-cos-tagging) as it writes: then also Put*ACL / PutObjectTagging */
    OPF_VERSIONED = 128, /* ?versionId= selects the version it acts on (its ACL decides, S3's ...Version actions) */
};
enum { L_SERVICE, L_BUCKET, L_OBJECT }; /* an operation's level (op_def.level) */
typedef struct op_def {
    cos_op op;              /* libcos's operation (cos_op_name gives the SDK's name) */
    const char *method;
    const char *sub;        /* the sub-resource that selects it, NULL = none */
    int level;              /* service, bucket, object */
    const char *action;     /* CAM action on the request's resource */
    const char *alt_action; /* COS's other name for it, also accepted; NULL */
    unsigned acl;           /* the ACL permission that admits anonymous callers; 0 = none */
    unsigned flags;
} op_def;
/* The operation of a request; NULL if none (then *unimplemented names a COS
 * sub-resource cos-server does not implement, or is NULL: not allowed). */
const op_def *route_request(req *r, const char **unimplemented);
/* 0 = every (action, resource) pair the operation needs is allowed; else an error was queued. */
int authorize_request(req *r, const op_def *op, enum MHD_Result *ret);
/* One pair: may the request's principal do action (or alt) on bucket/key (on its version version_id
 * when not NULL or "": that version's ACL decides, S3's statements name s3:...Version)? why gets the
 * reason when not; *store_rc is STORE_FAILED / STORE_BUSY when the store could not be read (then the
 * answer is no). */
bool authz_allows(req *r, const char *action, const char *alt, unsigned acl, const char *bucket, const char *key,
                  bool object_level, const char *version_id, char *why, size_t why_len, int *store_rc);
/* What a stored ACL (canned name or AccessControlPolicy XML) grants AllUsers (ACL_* bits). */
unsigned acl_anonymous_grants(const char *acl);
/* What it grants the canonical id who (an authenticated account), or anonymous callers when NULL. */
unsigned acl_grants_for(const char *acl, const char *who);
char *authz_owner_principal(const server *srv);
/* The account that owns bucket (malloc'd), or NULL for the server's own account (or none / unreadable). */
char *authz_bucket_account(server *srv, const char *bucket);
/* The canonical id of an account (NULL = the owner's), malloc'd. */
char *authz_account_id(const server *srv, const char *account);
/* The name an Owner element gives a canonical id (malloc'd): the owner's account shows its appid
 * (as GET Bucket and S3's ACLs do), another account its id. */
char *authz_display_name(const server *srv, const char *id);
int parse_copy_source(const char *src, char **bucket, char **key);
char *post_form_key(req *r);  /* the form's key with ${filename} filled in; NULL if none */

/* objhdr.c: the headers an object keeps (obj_meta.headers), as checked records. */
/* The canonical name of a header a client may store on an object (x-cos-meta-*, Content-Type
 * and the other standard ones), or NULL. */
const char *objhdr_client_name(const char *name);
/* Append a record; false (nothing appended) if the name is not one an object keeps or the
 * value has a control character. */
bool objhdr_add(cos_buf *b, const char *name, const char *value);
/* Each well-formed record, in order. */
void objhdr_each(const char *headers, void (*fn)(void *ud, const char *name, const char *value), void *ud);
char *objhdr_get(const char *headers, const char *name); /* malloc'd value, or NULL */
bool objhdr_is(const char *headers, const char *name, const char *value);
/* The size of an object's user metadata as S3 and COS count it: the bytes
   of each x-cos-meta-* name (after the prefix) and value, summed. */
size_t objhdr_user_meta_bytes(const char *headers);
#define USER_META_MAX 2048 /* COS (PUT Object: x-cos-meta-* 2 KB) and S3 (2 KB) alike */

/* handlers.c */
enum MHD_Result handle_request(req *r);
/* Whether a PUT would take key as a new object's name (handlers.c: valid UTF-8, inside the bucket, not
 * only "/" and "." segments, no control character XML cannot carry, at most 850 bytes). */
bool key_creatable(const char *key);
/* A listing's max-keys: def when absent or empty, else the value (at most 1000); -1, an InvalidArgument
 * queued, when it is not a non-negative integer (handlers.c). */
int listing_max_keys(req *r, int def, enum MHD_Result *ret);
/* The checks handle_request makes that the headers decide (addressing, dialect, signature, routing,
 * authorization), before the body is read: *passed, or an error was queued and *passed is false. */
enum MHD_Result handle_request_headers(req *r, bool *passed);
/* auth.c: 0 ok; otherwise an error response was queued */
int authenticate(req *r, enum MHD_Result *ret);
/* The same from the headers alone, before the body (100-continue): the signature, not the body's promises. */
int authenticate_headers(req *r, enum MHD_Result *ret);
/* The secret of an access key (the server's, or a temporary key with its token); NULL and *code / *msg when none. */
const char *auth_lookup_key(server *srv, const char *ak, const char *token, const sts_key **tmp, const char **code,
                            const char **msg);
/* The same, setting the request's principal; NULL with an error queued. */
const char *auth_resolve_key(req *r, const char *ak, const char *token, enum MHD_Result *ret);

/* s3auth.c: AWS signatures (SigV4 header and presigned, SigV2 header and query) and S3's
 * request bodies (x-amz-content-sha256, aws-chunked, trailers, x-amz-checksum-*). */
/* The headers are in: set up r->s3 when the request is AWS-signed or its body is in an S3 form. */
void s3_begin(req *r);
/* A piece of the body as received; the decoded bytes go to req_body_sink. */
void s3_body(req *r, const char *data, size_t len);
/* 1 = no AWS signature (COS's rules apply); 0 = signed and the body is what it claims; -1 = refused (queued). */
int s3_authenticate(req *r, enum MHD_Result *ret);
/* The signature only (the headers are enough): 1, 0 or -1 as s3_authenticate. */
int s3_authenticate_signature(req *r, enum MHD_Result *ret);
/* 0, or the body failed its promised hash, chunk signatures or checksum (error queued). */
int s3_body_verify(req *r, enum MHD_Result *ret);
void s3_end(req *r);
/* Whether s3auth.c is what acts on this x-amz-* header (signature, payload, checksum). */
bool s3_auth_header(const char *name);
/* Rewrite an object's headers: no aws-chunked Content-Encoding; the verified checksum kept. */
void s3_object_headers(req *r, char **headers);
/* An answer's x-amz-checksum-* from an object's stored headers, when the request asks (x-amz-checksum-mode). */
void s3_answer_checksum(req *r, struct MHD_Response *resp, const char *headers, bool stored_only);
/* S3's x-amz-expiration value for an object (its key, write time, Tagging XML) under the bucket's
 * lifecycle (s3expire.c), malloc'd; NULL in COS's dialect or when no enabled Expiration rule takes it. */
char *s3_expiration_header(req *r, const char *key, int64_t mtime_ms, const char *tagging);
/* CreateMultipartUpload: keep the algorithm x-amz-checksum-algorithm asks for among the upload's headers
 * (headers may be NULL) and answer it (resp may be NULL). */
void s3_upload_checksum(req *r, char **headers, struct MHD_Response *resp);
/* CompleteMultipartUpload: S3's "checksum of the parts' checksums-N" when the upload asked for one
 * (malloc'd, and *record_name the object header record to keep it in), else NULL. */
char *s3_multipart_checksum(req *r, const char *upload_headers, const char *const *data_ids, size_t n,
                            char **record_name);
/* CompleteMultipartUpload's x-amz-checksum-*: the composite checksum the client expects of the parts (their data
 * ids, in order); true when none is given or it is the upload's, else false with 400 BadDigest queued. */
bool s3_complete_checksum_ok(req *r, const char *upload_headers, const char *const *data_ids, size_t n,
                             enum MHD_Result *ret);
/* main.c: where body bytes go (the data writer, the form parser, or the small-body buffer) */
void req_body_sink(req *r, const char *data, size_t len);
/* responses (main.c) */
enum MHD_Result send_error(req *r, const char *code, const char *message_fmt, ...) COS_PRINTF(3, 4);
enum MHD_Result send_error_sts(req *r, const char *code, const char *msg, const char *sts, const char *fs);
enum MHD_Result send_buffer(req *r, int status, const char *content_type, char *body, size_t len,
                            struct MHD_Response **keep); /* takes body */
enum MHD_Result send_response(req *r, int status, struct MHD_Response *resp);
/* s3attrs.c: GetObjectAttributes (GET ?attributes on an object) */
enum MHD_Result object_attributes(req *r);
/* symlink.c: PUT/GET Object ?symlink, and GET/HEAD through a symlink */
/* PUT ?symlink: checks x-cos-symlink-target and makes it the write's data; *extra_headers (malloc'd) are the
 * records put_object keeps with it. 0, or -1 with the answer queued in *ret. */
int symlink_prepare_put(req *r, char **extra_headers, enum MHD_Result *ret);
enum MHD_Result symlink_get(req *r);
/* POST Object select (select_http.c) */
enum MHD_Result select_object(req *r);
/* GET/HEAD of m: when m is a symlink, replaces it with its target's current version, if the requester may read
 * that too (0); -1 with the answer queued in *ret (denied, dangling, a symlink to a symlink). m is then cleared. */
int symlink_follow(req *r, bool head, obj_meta *m, enum MHD_Result *ret);
/* objlock.c: PUT/GET Bucket ?object-lock */
enum MHD_Result objlock_request(req *r);
/* PUT ?versioning suspending a bucket with object lock: refused (true, *ret queued). A suspend is decided
 * under the lock's guard: objlock_release(*held) once its configuration is written (or refused). */
bool objlock_refuses_versioning(req *r, enum MHD_Result *ret, int *held);
/* A write asking for retention (x-cos-object-lock-* headers): refused, 501 (true, *ret queued). */
bool objlock_refuses_headers(req *r, enum MHD_Result *ret);
/* PUT/GET Object ?retention */
enum MHD_Result objlock_retention(req *r);
/* Before handling op: true (*ret queued) when it would destroy an object under retention. *held says whether
 * the retention guard is held, or the request counted as one that found the lock off (an enabling PUT waits
 * for those); objlock_release(*held) once the request is handled, refused or not. */
enum { OBJLOCK_NONE, OBJLOCK_GUARDED, OBJLOCK_UNGUARDED };
bool objlock_guard(req *r, const op_def *op, int *held, enum MHD_Result *ret);
void objlock_release(int held);
/* In a multi-delete, under the guard objlock_guard took for it: whether deleting key (version vid, or NULL)
 * would break a retention: 1 (iso says until when), 0, or the store's error (< -1). */
int objlock_multi_retained(req *r, const char *key, const char *vid, char iso[32]);
/* s3public.c: PublicAccessBlock, OwnershipControls, PolicyStatus */
enum { PAB_BLOCK_PUBLIC_ACLS = 1, PAB_IGNORE_PUBLIC_ACLS = 2, PAB_BLOCK_PUBLIC_POLICY = 4, PAB_RESTRICT_PUBLIC_BUCKETS = 8 };
unsigned public_block_flags(server *srv, const char *bucket, int *store_rc); /* PAB_* of a bucket */
bool acl_is_public(const char *acl);
/* After authorization: whether the bucket's guards refuse this request (*ret queued). */
bool public_guard_refuses(req *r, const char *sub, enum MHD_Result *ret);
bool public_subresource(const char *sub);
bool ownership_valid(const char *ownership);
/* A bucket's ObjectOwnership (none set: ObjectWriter). */
enum { OWN_WRITER, OWN_PREFERRED, OWN_ENFORCED };
int ownership_of(server *srv, const char *bucket);
/* The record a write keeps naming the object's owner, when that is not the bucket's owner: the
 * writer's account, unless the bucket's ObjectOwnership gives the object to the bucket's owner
 * (BucketOwnerEnforced, or BucketOwnerPreferred with bucket-owner-full-control). malloc'd, maybe "". */
char *object_owner_record(req *r);
/* The owner record of stored headers, to carry into the object they become (an upload's); malloc'd, maybe "". */
char *object_owner_keep(const char *headers);
/* The account recorded as an object's owner (another account wrote it), malloc'd, or NULL (the bucket's owner's). */
char *object_owner_recorded(const char *headers);
/* The canonical id of the owner of an object (or an upload) from its stored headers: the record, else the bucket's owner. */
char *object_owner_id(req *r, const char *headers);
int ownership_set(server *srv, const char *bucket, const char *ownership); /* store_config_put's */
char *ownership_doc(const char *ownership, const char **kind); /* the configuration ownership_set stores (malloc'd) */
enum MHD_Result public_request(req *r, const char *sub, const char *bacl);
int error_status(const char *code);
const char *req_header(req *r, const char *name);
const char *req_arg(req *r, const char *name);
bool req_has_arg(req *r, const char *name);

/* A request's Content-MD5 (if any) matches data; else answered (400) into *ret (handlers.c). */
bool content_md5_ok(req *r, const void *data, size_t len, enum MHD_Result *ret);

#endif

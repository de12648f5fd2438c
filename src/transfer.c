/*
 * transfer.c — uploadFile, sliceUploadFile, sliceCopyFile, downloadFile,
 * uploadFiles and the task queue.
 *
 * A queue holds tasks, not threads. Async tasks wait in the client's list
 * until one of at most FileParallelLimit runner threads takes them; a
 * synchronous call runs its task on the caller's thread. Whoever runs a task
 * drives it: it schedules part requests over the client's shared engine
 * (never a thread per part), at most `parallel` in flight, and processes
 * their completions itself, so finishing a transfer never needs a worker
 * thread (a transfer started from a completion callback cannot starve the
 * pool). Parts are read straight from the file (pread) while they are sent,
 * their CRC-64 computed in the same pass; the whole object's CRC is combined
 * from the parts and checked against the server's. Memory stays bounded by
 * the parts in flight, whatever the file size. A small checkpoint file makes
 * interrupted transfers resumable, even after the process died.
 */
#define _GNU_SOURCE
#include "call.h"
#include "hash_internal.h"
#include "checksum.h"
#include "json.h"
#include "signer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024ULL * 1024ULL)

typedef struct task task;

/* An ETag without the W/ a proxy puts on it when it re-encodes an answer
   (RFC 9110: a weak validator). COS's are strong: If-Match compares strongly,
   so a weak one sent back fails (412) and one compared byte for byte with
   the strong form differs, though both name the same object. */
static const char *strong_etag(const char *etag)
{
    return etag && etag[0] == 'W' && etag[1] == '/' ? etag + 2 : etag;
}

typedef struct part_call part_call;

/* An upload id a task of this client is using (official SDK: session.using). */
typedef struct upload_claim {
    const task *t;
    char *upload_id;
    struct upload_claim *next;
} upload_claim;

/* A runner with no task to take, waiting a while for one (runner_main). */
typedef struct idle_runner {
    pthread_cond_t cv;
    bool go;                     /* taken off the list by maybe_spawn_runner: a task is there */
    struct idle_runner *next;
} idle_runner;

typedef struct cos_tasks {
    cos_client *c;
    pthread_mutex_t m;
    pthread_cond_t cv;
    task *head, *tail;
    cos_task_id next_id;
    int running;                 /* tasks holding one of FileParallelLimit slots */
    int runners;                 /* runner threads taking tasks (not those inside a done callback) */
    int threads;                 /* runner threads alive */
    int driving;                 /* synchronous transfers their callers' threads are driving */
    cos_reaper gone_threads;     /* runners that left, to be joined */
    size_t count;                /* tasks in the list */
    size_t trimmable;            /* of them, finished ones trim_finished may free (task.trim_counted) */
    task **ix;                   /* the tasks by id (find_task), open addressing; ix_cap a power of 2 */
    size_t ix_cap, ix_used;
    task *scan_from;             /* no task before this one is runnable (NULL: none is) */
    cos_task_list_fn on_change;
    void *on_change_ud;
    cos_task_start_fn on_start;
    void *on_start_ud;
    atomic_bool has_cb;          /* on_change or on_start set: notify_change takes no lock without */
    struct cb_call *cb_calls;    /* threads inside one of them (cb_enter) */
    int cb_waiters;              /* changes waiting for those calls to end */
    upload_claim *claims;        /* never resumed by another task: its Complete would end the other's upload */
    idle_runner *idle;           /* runners waiting for a task (counted in runners) */
    bool closing;                /* cos_tasks_destroy: idle runners leave */
} cos_tasks;

/* One part (or range) of a transfer. */
typedef struct part {
    int number;
    uint64_t offset, size;
    bool done;
    bool in_flight;
    int attempts;
    int64_t not_before_ms;        /* a failed part: its back-off ends then (cos_mono_ms) */
    char etag[80];
    uint64_t crc;
    char ck[COS_CKSUM_B64_MAX];   /* S3: the part's checksum of the task's ck_alg, base64 */
    /* streaming state of the current attempt */
    uint64_t pos;
    _Atomic uint64_t moved;       /* pos, for the driver's progress reports (pos is the network thread's) */
    uint64_t run_crc;
    task *t;
} part;

struct task {
    cos_task_id id;
    cos_task_kind kind;
    cos_task_state state;
    bool slice_only;              /* sliceUploadFile: always multipart */
    /* parameters (owned copies) */
    char *bucket, *region, *key, *file_path, *copy_source, *version_id, *content_type, *acl, *storage_class;
    cos_kvlist meta, headers;
    uint64_t slice_size, chunk_size;
    int parallel;
    bool no_resume;
    bool no_follow; /* downloads: a link at file_path's name is replaced, not followed */
    cos_progress_fn on_progress;
    void *progress_ud;
    cos_progress_fn on_hash_progress;
    void *hash_progress_ud;
    cos_transfer_done_fn done;
    void *done_ud;
    /* runtime */
    bool owned;                   /* a thread (runner or sync caller) is driving it */
    bool skip_backoff;            /* restarted: its parts' back-offs end (run_once, on the thread that owns parts) */
    volatile int pause_req, cancel_req;
    volatile int abort_io;        /* aborts the task's requests in flight (pause, cancel) */
    int write_errno;              /* why a download written in place stopped */
    part_call *ready;             /* finished part requests for the driver to process */
    int fail_kind;                /* what failed a download: integrity failures drop the partial file */
    bool object_changed;          /* a download's object was replaced between its ranges */
    char *source_etag;            /* a copy's source as its HEAD saw it: every part copy is conditional on it */
    bool if_match_refused;        /* a download's store answers 412 to the object's own ETag: ranges go unconditional */
    bool etag_differs;            /* a range came with another ETag than the HEAD's (not the store's 412) */
    int fd;
    uint64_t total;
    uint64_t loaded;              /* bytes of finished parts */
    uint64_t reported;            /* the last progress reported: it never goes back within a run */
    double t0;
    int64_t last_progress_ms;
    part *parts;
    size_t nparts;
    int in_flight;
    char *upload_id;
    cos_cksum_alg ck_alg;         /* S3: the x-amz-checksum-algorithm the upload was created with */
    char *checkpoint;
    bool ck_known;                /* ck_dev/ck_ino: the checkpoint file this task wrote or resumed from */
    dev_t ck_dev;
    ino_t ck_ino;
    int rc;
    cos_error *err;
    cos_transfer_result *res;
    bool finished;
    bool waited;                  /* a sync caller took the result */
    bool trim_counted;            /* finished, waited for, not owned: counted in mgr->trimmable */
    cos_tasks *mgr;
    cred_origin origin;           /* started inside a refresh of its client's key (cred.c) */
    task *next;
};

/* ------------------------------------------------------------------ the manager */

static cos_tasks *tasks_of(cos_client *c)
{
    pthread_mutex_lock(&c->tasks_lock);
    cos_tasks **slot = client_tasks_slot(c);
    if (!*slot) {
        cos_tasks *t = calloc(1, sizeof *t);
        if (t) {
            t->c = c;
            pthread_mutex_init(&t->m, NULL);
            pthread_cond_init(&t->cv, NULL);
            *slot = t;
        }
    }
    cos_tasks *t = *slot;
    pthread_mutex_unlock(&c->tasks_lock);
    return t;
}

/* The manager whose task-list callback this thread is in (a caller's thread
 * adding or pausing a task): cos_client_free there is deferred. */
static __thread cos_tasks *tls_notifying;

/* A thread inside the task-list or task-start callback (on its stack): a
 * change of callback waits until no other thread is inside the old one, so
 * that its user_data may be let go when the change returns. */
typedef struct cb_call {
    pthread_t thread;
    struct cb_call *next;
} cb_call;

/* With the lock held: register me as inside a callback. */
static void cb_enter(cos_tasks *mg, cb_call *me)
{
    me->thread = pthread_self();
    me->next = mg->cb_calls;
    mg->cb_calls = me;
}

static void cb_leave(cos_tasks *mg, cb_call *me)
{
    pthread_mutex_lock(&mg->m);
    for (cb_call **pp = &mg->cb_calls; *pp; pp = &(*pp)->next)
        if (*pp == me) {
            *pp = me->next;
            break;
        }
    if (mg->cb_waiters) pthread_cond_broadcast(&mg->cv); /* (no wake-up for the others without a change waiting) */
    pthread_mutex_unlock(&mg->m);
}

/* The task-list callback (into *list) or the task-start one (*start) and
 * its user_data, read together under the lock (read apart, a change between
 * them called one with the other's), this thread registered as inside it
 * (cb_leave after the call); false when none is set. */
static bool cb_take(cos_tasks *mg, cb_call *me, cos_task_list_fn *list, cos_task_start_fn *start, void **ud)
{
    if (!atomic_load_explicit(&mg->has_cb, memory_order_acquire)) return false;
    pthread_mutex_lock(&mg->m);
    bool set = list ? (*list = mg->on_change) != NULL : (*start = mg->on_start) != NULL;
    *ud = list ? mg->on_change_ud : mg->on_start_ud;
    if (set) cb_enter(mg, me);
    pthread_mutex_unlock(&mg->m);
    return set;
}

static void notify_change(cos_tasks *mg)
{
    cb_call me;
    cos_task_list_fn fn;
    void *ud;
    if (!cb_take(mg, &me, &fn, NULL, &ud)) return;
    cos_tasks *outer = tls_notifying;
    tls_notifying = mg;
    fn(ud);
    tls_notifying = outer;
    cb_leave(mg, &me);
}

/* With the lock held, after a change of callback: wait until no other
 * thread is inside one. Not from inside one (two callbacks changing it on
 * two threads would wait for each other): that change returns at once. */
static void cb_wait_others(cos_tasks *mg)
{
    pthread_t self = pthread_self();
    for (cb_call *k = mg->cb_calls; k; k = k->next)
        if (pthread_equal(k->thread, self)) return;
    while (mg->cb_calls) {
        mg->cb_waiters++;
        pthread_cond_wait(&mg->cv, &mg->m);
        mg->cb_waiters--;
    }
}

static void task_free(task *t)
{
    free(t->bucket);
    free(t->region);
    free(t->key);
    free(t->file_path);
    free(t->copy_source);
    free(t->version_id);
    free(t->content_type);
    free(t->acl);
    free(t->storage_class);
    cos_kvlist_free(&t->meta);
    cos_kvlist_free(&t->headers);
    free(t->parts);
    free(t->upload_id);
    free(t->checkpoint);
    free(t->source_etag);
    cos_error_free(t->err);
    cos_transfer_result_free(t->res);
    free(t);
}

static void maybe_spawn_runner(cos_tasks *mg);
static void mark_runnable(cos_tasks *mg, task *t);

/* Drop t's claims (the manager's lock held). */
static void release_uploads_locked(cos_tasks *mg, const task *t)
{
    for (upload_claim **pp = &mg->claims; *pp;) {
        upload_claim *u = *pp;
        if (u->t == t) {
            *pp = u->next;
            free(u->upload_id);
            free(u);
        } else {
            pp = &u->next;
        }
    }
}

/* Take upload_id for t, unless another task of this client uses it: two
   uploads of one file to one key at once each need their own (the first
   Complete ends the upload, and the other's parts then fail). */
static bool claim_upload(task *t, const char *upload_id)
{
    cos_tasks *mg = t->mgr;
    bool free_to_use = true;
    pthread_mutex_lock(&mg->m);
    for (upload_claim *u = mg->claims; u && free_to_use; u = u->next)
        if (u->t != t && !strcmp(u->upload_id, upload_id)) free_to_use = false;
    upload_claim *mine = free_to_use ? calloc(1, sizeof *mine) : NULL;
    if (mine && (mine->upload_id = cos_strdup(upload_id))) {
        mine->t = t;
        mine->next = mg->claims;
        mg->claims = mine;
    } else {
        free(mine);
    }
    pthread_mutex_unlock(&mg->m);
    return free_to_use;
}

void cos_tasks_destroy(cos_tasks *mg)
{
    if (!mg) return;
    pthread_mutex_lock(&mg->m);
    for (task *t = mg->head; t; t = t->next)
        if (!t->finished) {
            t->cancel_req = 2; /* 2: stop, keep resumable */
            t->abort_io = 1;
            mark_runnable(mg, t);
        }
    mg->closing = true;
    maybe_spawn_runner(mg); /* the queued ones end as canceled, their callbacks run */
    for (idle_runner *r; (r = mg->idle) != NULL;) { /* the other idle runners leave */
        mg->idle = r->next;
        pthread_cond_signal(&r->cv);
    }
    pthread_cond_broadcast(&mg->cv);
    /* and the synchronous transfers: one whose callback freed the client
       goes on with its task until it has stopped; and a caller's thread
       still inside a task-list callback that freed the client (its free
       deferred to a thread of its own, this one) leaves it (cb_leave) first */
    mg->cb_waiters++;
    while (mg->threads > 0 || mg->driving > 0 || mg->cb_calls) pthread_cond_wait(&mg->cv, &mg->m);
    mg->cb_waiters--;
    pthread_mutex_unlock(&mg->m);
    reaper_join(&mg->gone_threads, true);
    for (task *t = mg->head, *n; t; t = n) {
        n = t->next;
        release_uploads_locked(mg, t);
        task_free(t);
    }
    free(mg->ix);
    pthread_mutex_destroy(&mg->m);
    pthread_cond_destroy(&mg->cv);
    free(mg);
}

static void set_state(task *t, cos_task_state s)
{
    pthread_mutex_lock(&t->mgr->m);
    t->state = s;
    pthread_cond_broadcast(&t->mgr->cv);
    pthread_mutex_unlock(&t->mgr->m);
    notify_change(t->mgr);
}

/* The tasks by id, so that waiting for, pausing or cancelling one of
 * 100,000 queued tasks does not walk the list (each did: a loop over them
 * was quadratic). Linear probing, at most half full; ids are handed out in
 * sequence, so id & mask spreads them. All with the lock held. */
static bool index_reserve(cos_tasks *mg)
{
    if ((mg->ix_used + 1) * 2 <= mg->ix_cap) return true;
    size_t cap = mg->ix_cap ? mg->ix_cap * 2 : 64;
    task **n = calloc(cap, sizeof *n);
    if (!n) return false;
    for (size_t i = 0; i < mg->ix_cap; i++) {
        if (!mg->ix[i]) continue;
        size_t j = (size_t)mg->ix[i]->id & (cap - 1);
        while (n[j]) j = (j + 1) & (cap - 1);
        n[j] = mg->ix[i];
    }
    free(mg->ix);
    mg->ix = n;
    mg->ix_cap = cap;
    return true;
}

static void index_add(cos_tasks *mg, task *t) /* after index_reserve */
{
    size_t m = mg->ix_cap - 1, j = (size_t)t->id & m;
    while (mg->ix[j]) j = (j + 1) & m;
    mg->ix[j] = t;
    mg->ix_used++;
}

static task *find_task(cos_tasks *mg, cos_task_id id)
{
    if (!mg->ix_cap) return NULL;
    size_t m = mg->ix_cap - 1;
    for (size_t j = (size_t)id & m; mg->ix[j]; j = (j + 1) & m)
        if (mg->ix[j]->id == id) return mg->ix[j];
    return NULL;
}

/* Take t out, moving back the entries after it that its slot kept from
 * their home (no tombstones: a long-lived queue never fills with them). */
static void index_remove(cos_tasks *mg, const task *t)
{
    size_t m = mg->ix_cap - 1, i = (size_t)t->id & m;
    while (mg->ix[i] != t) i = (i + 1) & m;
    mg->ix[i] = NULL;
    mg->ix_used--;
    for (size_t j = (i + 1) & m; mg->ix[j]; j = (j + 1) & m) {
        size_t home = (size_t)mg->ix[j]->id & m;
        bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j); /* its home lies in (i, j] */
        if (!stays) {
            mg->ix[i] = mg->ix[j];
            mg->ix[j] = NULL;
            i = j;
        }
    }
}

/* With the lock held: t may have become one trim_finished can free (its
 * result taken, no thread on it). Counted, so that a queue longer than
 * UploadQueueSize holding nothing to trim is not walked by every task added
 * (uploadFiles of 100,000 files walked 90,000 unfinished tasks per file). */
static void note_trimmable_locked(cos_tasks *mg, task *t)
{
    if (t->finished && t->waited && !t->owned && !t->trim_counted) {
        t->trim_counted = true;
        mg->trimmable++;
    }
}

/* Trim finished tasks beyond UploadQueueSize (oldest first). */
static void trim_finished(cos_tasks *mg)
{
    size_t limit = (size_t)mg->c->cfg.upload_queue_size;
    task **pp = &mg->head;
    task *prev = NULL;
    while (*pp && mg->count > limit && mg->trimmable) {
        task *t = *pp;
        if (t->trim_counted) {
            if (mg->scan_from == t) mg->scan_from = t->next;
            *pp = t->next;
            if (mg->tail == t) mg->tail = prev;
            release_uploads_locked(mg, t);
            index_remove(mg, t);
            task_free(t);
            mg->count--;
            mg->trimmable--;
            continue;
        }
        prev = t;
        pp = &t->next;
    }
}

/* ------------------------------------------------------------------ progress */

/* Called by the thread driving t: finished parts plus what the parts in
 * flight have moved so far, so a report comes while a big part is on its
 * way, not only when it ends (as the official SDK's onProgress does). */
static void report_progress(task *t, bool force)
{
    if (!t->on_progress) return;
    int64_t now = cos_mono_ms();
    if (!force && now - t->last_progress_ms < t->mgr->c->cfg.progress_interval_ms) return;
    t->last_progress_ms = now;
    uint64_t loaded = t->loaded;
    for (size_t i = 0; i < t->nparts && loaded < t->total; i++)
        if (t->parts[i].in_flight && !t->parts[i].done)
            loaded += atomic_load_explicit(&t->parts[i].moved, memory_order_relaxed);
    loaded = COS_MIN(loaded, t->total);
    if (loaded < t->reported) loaded = t->reported; /* a part sent again starts from 0 */
    /* 100% is reported once, by the forced report of a task that succeeded (a download whose
       bytes were all in before its first report was told 100% twice) */
    if (!force && loaded >= t->total) return;
    t->reported = loaded;
    double el = cos_mono_sec() - t->t0;
    cos_progress p = { loaded, t->total, el > 0 ? (double)loaded / el : 0,
                       t->total ? (double)loaded / (double)t->total : 1.0 };
    t->on_progress(t->progress_ud, &p);
}

/* ------------------------------------------------------------------ errors */

static void fail(task *t, int rc, cos_error *e)
{
    if (t->rc) {
        cos_error_free(e);
        return;
    }
    t->rc = rc ? rc : COS_ERR_INTERNAL;
    t->err = e ? e : cos_error_new((cos_error_kind)t->rc, NULL);
}

static void failf(task *t, int rc, const char *fmt, const char *arg)
{
    cos_error *e = NULL;
    cos_err_set(&e, (cos_error_kind)rc, fmt, arg);
    fail(t, rc, e);
}

/* ------------------------------------------------------------------ checkpoints */

static char *checkpoint_path(task *t, const char *what, uint64_t size, int64_t mtime)
{
    const char *dir = t->mgr->c->cfg.checkpoint_dir;
    char *fallback = NULL;
    if (!dir) {
        const char *home = getenv("HOME");
        fallback = cos_sprintf("%s/.cache/cos-c", home && *home ? home : "/tmp");
        dir = fallback;
    }
    char *parent = cos_strdup(dir);
    for (char *p = parent + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(parent, 0700);
            *p = '/';
        }
    mkdir(parent, 0700);
    free(parent);
    char *ident = cos_sprintf("%s|%s|%s|%s|%llu|%lld|%llu", what, t->bucket, t->key, t->file_path ? t->file_path : "",
                              (unsigned long long)size, (long long)mtime, (unsigned long long)t->chunk_size);
    char h[41];
    cos_sha1_hex(ident, strlen(ident), h);
    char *p = cos_sprintf("%s/%s.json", dir, h);
    free(ident);
    free(fallback);
    return p;
}

static void checkpoint_write(task *t)
{
    if (!t->checkpoint) return;
    cos_buf b = COS_BUF_INIT;
    cos_buf_puts(&b, "{\"upload_id\":");
    cos_json_put_str(&b, t->upload_id ? t->upload_id : "");
    if (t->ck_alg) cos_buf_printf(&b, ",\"ck\":\"%s\"", cos_cksum_name(t->ck_alg)); /* the parts must carry it */
    /* a download's checkpoint names the partial file it describes: a
       checkpoint and partial file of someone else's making (the objects
       "x.cos-partial" and "x.cos-partial.json" of a tree downloaded into the
       same place) do not match it and are never resumed from */
    struct stat pst;
    if (t->kind == COS_TASK_DOWNLOAD && t->fd >= 0 && fstat(t->fd, &pst) == 0)
        cos_buf_printf(&b, ",\"file_dev\":\"%llu\",\"file_ino\":\"%llu\"", (unsigned long long)pst.st_dev,
                       (unsigned long long)pst.st_ino);
    cos_buf_puts(&b, ",\"parts\":[");
    int first = 1;
    for (size_t i = 0; i < t->nparts; i++) {
        if (!t->parts[i].done) continue;
        cos_buf_printf(&b, "%s{\"n\":%d,\"crc\":\"%llu\",\"etag\":", first ? "" : ",", t->parts[i].number,
                       (unsigned long long)t->parts[i].crc);
        cos_json_put_str(&b, t->parts[i].etag);
        cos_buf_puts(&b, "}");
        first = 0;
    }
    cos_buf_puts(&b, "]}\n");
    /* a name of its own (mkstemp: created exclusively, never through a
       link), so no file beside a download's checkpoint is removed; of the
       temporaries' form, so that one a process killed before its rename
       left is swept as a killed download's are */
    char *tmp = cos_sprintf("%s.cos-tmp-XXXXXX", t->checkpoint);
    int fd = tmp ? mkostemp(tmp, O_CLOEXEC) : -1;
    cos_mark_temporary(fd);
    if (fd >= 0) {
        /* no fsync: the rename is atomic, and a lost checkpoint only costs re-listing parts */
        ssize_t w = write(fd, b.data, b.len);
        struct stat mine, there;
        int ok = w == (ssize_t)b.len && fstat(fd, &mine) == 0;
        close(fd);
        /* a download's checkpoint lies beside its file: a file that took the
           name since this task last wrote it (the object "x.cos-partial.json"
           of the same tree download) is not overwritten; resuming simply
           loses its checkpoint */
        if (ok && t->kind == COS_TASK_DOWNLOAD && t->ck_known && lstat(t->checkpoint, &there) == 0 &&
            S_ISREG(there.st_mode) && (there.st_dev != t->ck_dev || there.st_ino != t->ck_ino))
            ok = 0;
        if (!ok || rename(tmp, t->checkpoint) != 0) unlink(tmp); /* never a .tmp left behind */
        else {
            t->ck_known = true;
            t->ck_dev = mine.st_dev;
            t->ck_ino = mine.st_ino;
        }
    }
    free(tmp);
    cos_buf_free(&b);
}

/* Whether a download's checkpoint names the file `st` (see checkpoint_write). */
static bool partial_described(const cos_json *cp, const struct stat *st)
{
    const char *dev = cos_json_get_str(cp, "file_dev"), *ino = cos_json_get_str(cp, "file_ino");
    return dev && ino && strtoull(dev, NULL, 10) == (unsigned long long)st->st_dev &&
           strtoull(ino, NULL, 10) == (unsigned long long)st->st_ino;
}

/* Remove the task's checkpoint unless, for a download (whose checkpoint
 * lies beside its file), the name now holds another file than the one it
 * wrote or resumed from; whether it was removed. */
static bool checkpoint_unlink(task *t)
{
    struct stat st;
    if (!t->checkpoint) return false;
    if (t->kind == COS_TASK_DOWNLOAD && t->ck_known && lstat(t->checkpoint, &st) == 0 &&
        (st.st_dev != t->ck_dev || st.st_ino != t->ck_ino))
        return false;
    return unlink(t->checkpoint) == 0;
}

static cos_json *checkpoint_read(const char *path)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return NULL;
    cos_buf b = COS_BUF_INIT;
    char tmp[4096];
    ssize_t n;
    while ((n = read(fd, tmp, sizeof tmp)) > 0) cos_buf_append(&b, tmp, (size_t)n);
    close(fd);
    cos_json *j = b.data ? cos_json_parse(b.data, b.len, NULL) : NULL;
    cos_buf_free(&b);
    return j;
}

/* Allocate the whole download before the ranges arrive: a full disk fails
 * now, not after gigabytes, and the concurrent range writes skip ext4's
 * delayed allocation (about 15% less CPU per GiB, measured in bench/). A
 * file system without fallocate is fine: the writes allocate as they go. */
static int reserve_blocks(int fd, uint64_t size)
{
#ifdef __linux__
    if (size && fallocate(fd, 0, 0, (off_t)size) != 0 && (errno == ENOSPC || errno == EFBIG || errno == EIO)) return -1;
#else
    (void)fd;
    (void)size;
#endif
    return 0;
}

/* ------------------------------------------------------------------ parts in flight */

static int64_t part_read(void *ud, void *buf, size_t len)
{
    part *p = ud;
    uint64_t left = p->size - p->pos;
    size_t want = (size_t)COS_MIN((uint64_t)len, left);
    if (!want) return 0;
    ssize_t n;
    do n = pread(p->t->fd, buf, want, (off_t)(p->offset + p->pos));
    while (n < 0 && errno == EINTR);
    if (n <= 0) return -1;
    p->pos += (uint64_t)n;
    atomic_store_explicit(&p->moved, p->pos, memory_order_relaxed);
    p->run_crc = cos_crc64(p->run_crc, buf, (size_t)n);
    return n;
}

static int part_seek(void *ud, uint64_t off)
{
    part *p = ud;
    if (off != 0) return -1;
    p->pos = 0;
    atomic_store_explicit(&p->moved, 0, memory_order_relaxed);
    p->run_crc = 0;
    return 0;
}

/* Download ranges arrive here: written at their place in the file. */
static int range_write(void *ud, const void *buf, size_t len)
{
    part *p = ud;
    const char *b = buf;
    size_t off = 0;
    if (p->pos + len > p->size) return -1; /* more than asked for */
    while (off < len) {
        ssize_t n = pwrite(p->t->fd, b + off, len - off, (off_t)(p->offset + p->pos));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        off += (size_t)n;
        p->pos += (uint64_t)n;
    }
    atomic_store_explicit(&p->moved, p->pos, memory_order_relaxed);
    p->run_crc = cos_crc64(p->run_crc, buf, len);
    return 0;
}

struct part_call {
    part *p;
    op_call *k;
    part_call *next;
};

/* ops.c's test-only knob: every back-off lasts this long when >= 0. */
extern _Atomic int64_t cos_backoff_ms_for_tests;

static int64_t retry_delay_ms(int attempt)
{
    int64_t forced = atomic_load(&cos_backoff_ms_for_tests);
    return forced >= 0 ? forced : 200LL << (attempt < 5 ? attempt : 5);
}

/* MD5 of a part of the local file (a separate read: for Content-MD5 and resume checks). */
static bool part_md5(task *t, const part *p, unsigned char d[16])
{
    unsigned char *buf = malloc(1 << 20);
    cos_md5 *m = cos_md5_new();
    uint64_t done = 0;
    while (buf && m && done < p->size) {
        ssize_t n = pread(t->fd, buf, (size_t)COS_MIN(p->size - done, (uint64_t)(1 << 20)), (off_t)(p->offset + done));
        if (n <= 0) break;
        cos_md5_update(m, buf, (size_t)n);
        done += (uint64_t)n;
    }
    if (m) cos_md5_final(m, d);
    cos_md5_free(m);
    free(buf);
    return done == p->size;
}

/* The part's checksum of the upload's algorithm, into p->ck (a separate
 * read, like part_md5: the header goes before the body). */
static bool part_cksum(task *t, part *p)
{
    unsigned char *buf = malloc(1 << 20);
    cos_cksum *ck = cos_cksum_new(t->ck_alg);
    uint64_t done = 0;
    while (buf && ck && done < p->size) {
        ssize_t n = pread(t->fd, buf, (size_t)COS_MIN(p->size - done, (uint64_t)(1 << 20)), (off_t)(p->offset + done));
        if (n <= 0) break;
        cos_cksum_update(ck, buf, (size_t)n);
        done += (uint64_t)n;
    }
    bool ok = ck && done == p->size;
    if (ok) cos_cksum_b64(ck, p->ck);
    else p->ck[0] = 0;
    cos_cksum_free(ck);
    free(buf);
    return ok;
}

/* A part request ended (network thread): hand it to the task's driver. */
static void part_notify(void *ud)
{
    part_call *pc = ud;
    task *t = pc->p->t;
    pthread_mutex_lock(&t->mgr->m);
    pc->next = t->ready;
    t->ready = pc;
    pthread_cond_broadcast(&t->mgr->cv);
    pthread_mutex_unlock(&t->mgr->m);
}

/* Start the request of one part (without the manager's lock: signing may
 * call a credential callback). p->in_flight is already set. */
static int start_part(task *t, part *p)
{
    cos_client *c = t->mgr->c;
    cos_request r = COS_REQUEST_INIT;
    r.bucket = t->bucket;
    r.region = t->region;
    r.key = t->key;
    p->pos = 0;
    atomic_store_explicit(&p->moved, 0, memory_order_relaxed);
    p->run_crc = 0;
    p->t = t;
    char range[80];
    char b64[32];
    cos_kv ck_hdr;
    cos_op op;
    if (t->kind == COS_TASK_UPLOAD) {
        op = COS_OP_MULTIPART_UPLOAD;
        r.upload_id = t->upload_id;
        r.part_number = p->number;
        r.body.read = part_read;
        r.body.seek = part_seek;
        r.body.read_user_data = p;
        r.body.length = (int64_t)p->size;
        if (c->cfg.upload_check_content_md5) { /* Content-MD5 must be known before sending: one more read */
            unsigned char d[16];
            part_md5(t, p, d);
            cos_base64_encode(d, 16, b64);
            r.content_md5 = b64;
        }
        if (t->ck_alg) { /* the store verifies it (BadDigest: sent again, ops.c) and lists it at Complete */
            if (!part_cksum(t, p)) {
                cos_error *e = NULL;
                cos_err_set(&e, COS_ERR_IO, "cannot read part %d of %s", p->number, t->file_path);
                pthread_mutex_lock(&t->mgr->m);
                fail(t, COS_ERR_IO, e);
                pthread_mutex_unlock(&t->mgr->m);
                return COS_ERR_IO;
            }
            ck_hdr.name = cos_cksum_header(t->ck_alg);
            ck_hdr.value = p->ck;
            r.headers = &ck_hdr;
            r.header_count = 1;
        }
    } else if (t->kind == COS_TASK_COPY) {
        op = COS_OP_UPLOAD_PART_COPY;
        r.upload_id = t->upload_id;
        r.part_number = p->number;
        r.copy_source = t->copy_source;
        if (t->source_etag && *t->source_etag) { /* every part from the source the HEAD saw (S3: x-amz-copy-source-if-match) */
            ck_hdr.name = "x-cos-copy-source-If-Match";
            ck_hdr.value = t->source_etag;
            r.headers = &ck_hdr;
            r.header_count = 1;
        }
        snprintf(range, sizeof range, "bytes=%llu-%llu", (unsigned long long)p->offset,
                 (unsigned long long)(p->offset + p->size - 1));
        r.copy_source_range = range;
    } else {
        op = COS_OP_GET_OBJECT;
        r.version_id = t->version_id;
        snprintf(range, sizeof range, "bytes=%llu-%llu", (unsigned long long)p->offset,
                 (unsigned long long)(p->offset + p->size - 1));
        r.range = range;
        r.sink.write = range_write;
        r.sink.write_user_data = p;
        /* every range from the object the HEAD saw: one replaced between
           ranges answers 412, not its own bytes (t->upload_id holds the ETag) */
        r.if_match = !t->if_match_refused && t->upload_id && *t->upload_id ? t->upload_id : NULL;
    }
    part_call *pc = calloc(1, sizeof *pc);
    if (!pc) return COS_ERR_NOMEM;
    pc->p = p;
    cos_error *err = NULL;
    int rc = call_driven_start(c, op, &r, &t->abort_io, part_notify, pc, &pc->k, &err);
    if (rc) {
        free(pc);
        pthread_mutex_lock(&t->mgr->m);
        fail(t, rc, err);
        pthread_mutex_unlock(&t->mgr->m);
    }
    return rc;
}

/* A part's request is over: record it (with the manager's lock held). */
static void part_finished(task *t, part *p, int rc, cos_result *res, cos_error *err, bool md5_ok)
{
    bool etag_differs = false;
    p->in_flight = false;
    t->in_flight--;
    if (rc == 0) {
        if (t->kind == COS_TASK_UPLOAD) {
            /* the bytes were checked by CRC-64 against the server's x-cos-hash-crc64ecma
               (ops.c), or by MD5 against the ETag when the server sends no CRC */
            snprintf(p->etag, sizeof p->etag, "%s", res->etag ? strong_etag(res->etag) : "");
            if (!res->etag) rc = COS_ERR_PARSE;
            else if (!md5_ok) rc = COS_ERR_INTEGRITY;
            p->crc = p->run_crc;
        } else if (t->kind == COS_TASK_COPY) {
            const char *e = res->output.copy && res->output.copy->etag ? res->output.copy->etag : res->etag;
            snprintf(p->etag, sizeof p->etag, "%s", e ? strong_etag(e) : "");
            uint64_t crc = 0;
            if (res->output.copy && res->output.copy->crc64) cos_parse_u64(res->output.copy->crc64, &crc);
            p->crc = crc;
        } else {
            p->crc = p->run_crc;
            /* a server that ignores If-Match: the range's ETag says whose bytes these are
               (without a CRC-64 to check at the end, a multipart ETag checks nothing else) */
            if (res->etag && t->upload_id && *t->upload_id && strcmp(strong_etag(res->etag), t->upload_id) != 0) {
                etag_differs = true;
                t->etag_differs = true;
                rc = COS_ERR_SERVER;
                err = cos_error_new(COS_ERR_SERVER, NULL);
                if (err) {
                    free(err->message);
                    err->message = cos_sprintf("the object %s changed during the download (ETag %s, then %s in part %d); "
                                               "download it again", t->key, t->upload_id, res->etag, p->number);
                    err->code = cos_strdup("PreconditionFailed");
                    err->http_status = 412; /* as the server's If-Match check would have answered */
                }
            } else if (p->pos != p->size) rc = COS_ERR_NETWORK; /* short body */
#ifdef SYNC_FILE_RANGE_WRITE
            /* Start this part's writeback now, so the fsync before the rename
               waits for the last parts only, not for the whole file. */
            else if (t->mgr->c->cfg.fsync_downloads)
                (void)sync_file_range(t->fd, (off_t)p->offset, (off_t)p->size, SYNC_FILE_RANGE_WRITE);
#endif
        }
    }
    if (rc == 0) {
        p->done = true;
        t->loaded += p->size;
    } else if (rc == COS_ERR_CANCELED && !t->cancel_req) {
        /* stopped by a pause: not a failure, the part runs again on restart */
    } else if (t->kind == COS_TASK_COPY && err && err->http_status == 412) {
        /* the source was replaced since the HEAD: its parts so far are another version's */
        t->object_changed = true;
        free(err->message);
        err->message = cos_sprintf("the copy source changed during the copy (no longer ETag %s at part %d); "
                                   "nothing was completed", t->source_etag ? t->source_etag : "", p->number);
        if (!t->rc) {
            t->rc = rc;
            t->err = err;
            err = NULL;
        }
    } else if (t->kind == COS_TASK_DOWNLOAD && err && err->http_status == 412) {
        /* If-Match failed (or the range's ETag, above): the object was replaced
           since the HEAD, and its other ranges would not fit; not retried */
        if (!etag_differs) {
            free(err->message);
            err->message = cos_sprintf("the object %s changed during the download (no longer ETag %s at part %d); download it again",
                                       t->key, t->upload_id ? t->upload_id : "", p->number);
        }
        t->object_changed = true;
        if (!t->rc) {
            t->rc = rc;
            t->err = err;
            err = NULL;
        }
    } else {
        p->attempts++;
        /* A timeout was already tried again by the request itself (a stall
           twice): trying the part again would multiply the wait, not help. */
        bool retryable = rc != COS_ERR_INVALID_ARG && rc != COS_ERR_CANCELED && rc != COS_ERR_TIMEOUT &&
                         !(err && err->http_status >= 400 && err->http_status < 500 && err->http_status != 408 &&
                           err->http_status != 429);
        /* a part tried again waits out its back-off without holding the
           task's thread: the other parts, a pause or a cancel go on meanwhile */
        p->not_before_ms = cos_mono_ms() + retry_delay_ms(p->attempts);
        if (!retryable || p->attempts > t->mgr->c->cfg.chunk_retry_times) {
            if (!t->rc) {
                t->rc = rc;
                t->err = err ? err : cos_error_new((cos_error_kind)rc, "part transfer failed");
                if (!err && rc == COS_ERR_INTEGRITY) {
                    free(t->err->message);
                    t->err->message = cos_sprintf("part %d: the server's ETag does not match the MD5 sent", p->number);
                }
                err = NULL;
            }
        }
    }
    cos_error_free(err);
}

/* Finish what the network threads handed over (lock held; dropped around
 * each step, which may parse, retry or sleep for a back-off). */
static void process_ready(task *t)
{
    cos_tasks *mg = t->mgr;
    while (t->ready) {
        part_call *pc = t->ready;
        t->ready = pc->next;
        pthread_mutex_unlock(&mg->m);
        int rc = 0;
        cos_result *res = NULL;
        cos_error *err = NULL;
        bool over = call_driven_step(pc->k, &rc, &res, &err);
        bool md5_ok = true;
        if (over && rc == 0 && t->kind == COS_TASK_UPLOAD && !res->has_crc64 &&
            http_etag_is_md5(res->headers, res->header_count)) {
            /* no CRC-64 came back: the ETag is the part's MD5 */
            unsigned char d[16];
            md5_ok = part_md5(t, pc->p, d) && http_etag_matches(res->etag, d);
        }
        pthread_mutex_lock(&mg->m);
        if (!over) continue; /* sent again: it comes back through part_notify */
        part_finished(t, pc->p, rc, res, err, md5_ok);
        cos_result_free(res);
        free(pc);
    }
}

/* Run every part not yet done, `parallel` at a time; honours pause/cancel. 0 when all done. */
static int run_parts(task *t)
{
    cos_tasks *mg = t->mgr;
    bool timers_fired = false;
    pthread_mutex_lock(&mg->m);
    for (;;) {
        uint64_t before = t->loaded;
        process_ready(t);
        if (t->loaded != before) { /* parts finished: record them */
            pthread_mutex_unlock(&mg->m);
            if (t->kind != COS_TASK_COPY) checkpoint_write(t);
            report_progress(t, false);
            pthread_mutex_lock(&mg->m);
            continue;
        }
        bool all = true;
        for (size_t i = 0; i < t->nparts; i++) all &= t->parts[i].done;
        if (all && t->in_flight == 0) break;
        bool stopping = t->rc || t->pause_req || t->cancel_req;
        if (stopping && t->in_flight == 0) break;
        if (stopping && t->abort_io && !timers_fired) {
            /* a request of ours in its retry's back-off (a timer of the
               worker pool) would hold the stop until the timer is due: the
               pool's timers run now, and those of ours see the abort */
            timers_fired = true;
            pthread_mutex_unlock(&mg->m);
            workers_fire_timers(mg->c->workers);
            pthread_mutex_lock(&mg->m);
            continue;
        }
        bool started = false;
        int64_t now = cos_mono_ms(), soonest = INT64_MAX; /* the next part whose back-off ends */
        for (size_t i = 0; !stopping && i < t->nparts && t->in_flight < t->parallel; i++) {
            part *p = &t->parts[i];
            if (p->done || p->in_flight) continue;
            if (p->attempts && p->not_before_ms > now) {
                soonest = COS_MIN(soonest, p->not_before_ms);
                continue;
            }
            p->in_flight = true;
            t->in_flight++;
            pthread_mutex_unlock(&mg->m);
            int rc = start_part(t, p);
            pthread_mutex_lock(&mg->m);
            if (rc) {
                p->in_flight = false;
                t->in_flight--;
                break;
            }
            started = true;
            stopping = t->rc || t->pause_req || t->cancel_req;
        }
        if (!started && !t->ready) {
            if (!t->on_progress && soonest == INT64_MAX) {
                pthread_cond_wait(&mg->cv, &mg->m);
                continue;
            }
            /* wake every ProgressInterval to report the parts in flight, or
               when a part's back-off ends */
            int64_t wait_ms = soonest == INT64_MAX ? INT64_MAX : COS_MAX(soonest - now, 1);
            if (t->on_progress) wait_ms = COS_MIN(wait_ms, (int64_t)COS_MAX(mg->c->cfg.progress_interval_ms, 1));
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            int64_t ns = until.tv_nsec + (wait_ms % 1000) * 1000000;
            until.tv_sec += (time_t)(wait_ms / 1000 + ns / 1000000000);
            until.tv_nsec = (long)(ns % 1000000000);
            if (pthread_cond_timedwait(&mg->cv, &mg->m, &until) != 0 && !t->ready && t->on_progress) {
                pthread_mutex_unlock(&mg->m);
                report_progress(t, false);
                pthread_mutex_lock(&mg->m);
            }
        }
    }
    pthread_mutex_unlock(&mg->m);
    checkpoint_write(t);
    if (t->rc) return t->rc;
    if (t->cancel_req) return COS_ERR_CANCELED;
    if (t->pause_req) return 1; /* paused */
    return 0;
}

/* Part size and parts in flight where neither the call nor the client set
 * them: the official SDK's 1 MiB x 3 up to 32 MiB; above, 8 MiB x 4, which
 * bench/ measured as the fastest on loopback (1 MiB parts cost a request,
 * a signature and a server fsync per MiB). */
#define AUTO_BIG_FILE (32 * MIB)
static uint64_t chosen_chunk(task *t, uint64_t size, uint64_t dflt)
{
    cos_client *c = t->mgr->c;
    if (t->chunk_size) return t->chunk_size;
    if (c->auto_chunk_size && size >= AUTO_BIG_FILE) return COS_MAX(dflt, 8 * MIB);
    return dflt;
}

static int chosen_parallel(task *t, uint64_t size)
{
    cos_client *c = t->mgr->c;
    if (t->parallel > 0) return t->parallel;
    if (t->kind == COS_TASK_COPY) return c->cfg.copy_chunk_parallel_limit;
    if (c->auto_parallel && (size >= AUTO_BIG_FILE || t->kind == COS_TASK_DOWNLOAD)) return 4;
    return c->cfg.chunk_parallel_limit;
}

/* Cut [0,size) into parts, growing the part size until there are at most
 * MaxPartNumber. S3 refuses (EntityTooSmall, at Complete) an upload whose
 * parts but the last are under 5 MiB, and any part over 5 GiB
 * (EntityTooLarge), so in its dialect uploads and copies use parts of 5 MiB
 * to 5 GiB whatever was configured. */
#define S3_MIN_PART (5 * MIB)
#define S3_MAX_PART (5 * 1024 * MIB)
static void make_parts(task *t, uint64_t size, uint64_t chunk)
{
    int maxn = t->mgr->c->cfg.max_part_number;
    uint64_t asked = chunk;
    if (t->mgr->c->cfg.dialect == COS_DIALECT_S3 && t->kind != COS_TASK_DOWNLOAD) {
        if (chunk < S3_MIN_PART) chunk = S3_MIN_PART;
        if (chunk > S3_MAX_PART) chunk = S3_MAX_PART;
    }
    /* A part is never larger than the object: a huge ChunkSize (UINT64_MAX)
       cut nothing at all (size + chunk - 1 wrapped), and chunk * maxn wrapped. */
    if (size && chunk > size) chunk = size;
    if (!chunk) chunk = MIB;
    bool grown = false;
    while (size && (size - 1) / chunk >= (uint64_t)maxn) { /* more than maxn parts; chunk < 2^50 here */
        chunk *= 2;
        grown = true;
    }
    if (chunk > asked && t->kind != COS_TASK_DOWNLOAD)
        client_log(t->mgr->c, COS_LOG_INFO, "%s: part size %llu raised to %llu (%s)", t->key ? t->key : "",
                   (unsigned long long)asked, (unsigned long long)chunk,
                   grown ? "at most MaxPartNumber parts" : "S3's 5 MiB minimum part");
    size_t n = size ? (size_t)((size + chunk - 1) / chunk) : 1;
    if (t->parts) { /* a restart in this process: the same cut keeps what is done */
        if (t->nparts == n && t->chunk_size == chunk) return;
        free(t->parts);
    }
    t->chunk_size = chunk;
    t->parts = calloc(n, sizeof *t->parts);
    t->nparts = n;
    for (size_t i = 0; i < n; i++) {
        t->parts[i].number = (int)i + 1;
        t->parts[i].offset = i * chunk;
        t->parts[i].size = COS_MIN(chunk, size - i * chunk);
        t->parts[i].t = t;
    }
}

static void apply_object_headers(task *t, cos_request *r)
{
    r->content_type = t->content_type;
    r->acl = t->acl;
    r->storage_class = t->storage_class;
    r->meta = t->meta.items;
    r->meta_count = t->meta.count;
    r->headers = t->headers.items;
    r->header_count = t->headers.count;
}

static uint64_t combined_crc(task *t)
{
    uint64_t crc = 0;
    for (size_t i = 0; i < t->nparts; i++) crc = cos_crc64_combine(crc, t->parts[i].crc, t->parts[i].size);
    return crc;
}

static cos_transfer_result *new_result(task *t)
{
    cos_transfer_result *r = calloc(1, sizeof *r);
    r->task_id = t->id;
    r->size = t->total;
    return r;
}

/* MD5 of a local part, for verifying a part found on the server. */
static bool local_part_matches(task *t, const part *p, const char *etag)
{
    unsigned char d[16];
    char hex[33];
    bool whole = part_md5(t, p, d);
    cos_hex_encode(d, 16, hex);
    return whole && etag && strstr(etag, hex);
}

/* Mark parts already on the server (listed, size and ETag verified) as done.
 * `strict`: the upload was found by listing, not in our checkpoint, so it
 * may be another writer's upload of the same key still in flight (another
 * process, or the same key twice in one batch): it is taken only when it
 * holds parts and every one of them is this file's, as the official SDK
 * does; otherwise -1 and it is left alone (overwriting its parts would
 * corrupt or fail the other writer's Complete, and a cancel would abort it). */
static int adopt_server_parts(task *t, int *resumed, bool strict)
{
    cos_client *c = t->mgr->c;
    int marker = 0;
    size_t listed = 0;
    for (;;) {
        cos_request r = COS_REQUEST_INIT;
        r.bucket = t->bucket;
        r.region = t->region;
        r.key = t->key;
        r.upload_id = t->upload_id;
        r.part_number_marker = marker;
        cos_result *res = NULL;
        cos_error *err = NULL;
        int rc = cos_multipart_list_part(c, &r, &res, &err);
        if (rc) {
            cos_error_free(err);
            return rc;
        }
        cos_list_parts_result *lp = res->output.list_parts;
        for (size_t i = 0; lp && i < lp->parts_count; i++) {
            int n = lp->parts[i].part_number;
            listed++;
            if (n < 1 || (size_t)n > t->nparts) {
                if (strict) goto foreign;
                continue;
            }
            part *p = &t->parts[n - 1];
            if (p->done || lp->parts[i].size != p->size) {
                if (strict) goto foreign;
                continue;
            }
            bool same = local_part_matches(t, p, lp->parts[i].etag);
            if (t->on_hash_progress) { /* hashing the file to verify the parts found on the server */
                double el = cos_mono_sec() - t->t0;
                uint64_t hashed = (uint64_t)n * p->size > t->total ? t->total : (uint64_t)n * p->size;
                cos_progress hp = { hashed, t->total, el > 0 ? (double)hashed / el : 0,
                                    t->total ? (double)hashed / (double)t->total : 1.0 };
                t->on_hash_progress(t->hash_progress_ud, &hp);
            }
            if (!same && strict) goto foreign;
            if (!same) continue;
            p->done = true;
            snprintf(p->etag, sizeof p->etag, "%s", strong_etag(lp->parts[i].etag));
            uint64_t crc = 0;
            cos_crc64_fd(t->fd, p->offset, (int64_t)p->size, &crc);
            p->crc = crc;
            if (t->ck_alg && !part_cksum(t, p)) { /* Complete lists it: unreadable, the part goes again */
                p->done = false;
                continue;
            }
            t->loaded += p->size;
            (*resumed)++;
        }
        bool more = lp && lp->is_truncated && lp->next_part_number_marker > marker;
        marker = lp ? lp->next_part_number_marker : 0;
        cos_result_free(res);
        if (!more) return strict && !listed ? -1 : 0;
        continue;
    foreign:
        cos_result_free(res);
        client_log(c, COS_LOG_INFO, "%s: upload %s holds parts that are not %s's; a new upload is made", t->key,
                   t->upload_id, t->file_path);
        return -1;
    }
}

/* A request addressed at the task's object. */
static cos_request task_request(const task *t)
{
    cos_request r = COS_REQUEST_INIT;
    r.bucket = t->bucket;
    r.region = t->region;
    r.key = t->key;
    return r;
}

/* CompleteMultipartUpload with every part, in order. */
static int complete_parts(task *t, cos_result **res, cos_error **err)
{
    cos_complete_part *cp = calloc(t->nparts ? t->nparts : 1, sizeof *cp);
    if (!cp) return cos_err_set(err, COS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < t->nparts; i++) {
        cp[i].part_number = t->parts[i].number;
        cp[i].etag = t->parts[i].etag;
        if (t->ck_alg == COS_CKSUM_CRC32C && t->parts[i].ck[0]) cp[i].checksum_crc32c = t->parts[i].ck;
    }
    cos_complete_multipart_upload cm = { cp, t->nparts };
    cos_request r = task_request(t);
    r.upload_id = t->upload_id;
    r.input.complete = &cm;
    int rc = cos_multipart_complete(t->mgr->c, &r, res, err);
    free(cp);
    return rc;
}

/* Complete found no such upload: an earlier attempt whose answer was lost
 * (or a 5xx) may have completed it, or another process resuming the same
 * checkpoint did. The object is the file's when its size and CRC-64 are the
 * file's: then that is the result (a HEAD's), not a failure. */
static cos_result *completed_before(task *t, const cos_error *err)
{
    if (!err || !err->code || strcmp(err->code, "NoSuchUpload") != 0) return NULL;
    cos_request h = task_request(t);
    cos_result *res = NULL;
    cos_error *e = NULL;
    if (cos_head_object(t->mgr->c, &h, &res, &e) != 0) {
        cos_error_free(e);
        return NULL;
    }
    if (res->has_crc64 && res->crc64 == combined_crc(t) && res->content_length == t->total) return res;
    cos_result_free(res);
    return NULL;
}

static void abort_upload(task *t)
{
    if (!t->upload_id) return;
    cos_request r = task_request(t);
    r.upload_id = t->upload_id;
    cos_result *res = NULL;
    cos_error *err = NULL;
    cos_multipart_abort(t->mgr->c, &r, &res, &err);
    cos_result_free(res);
    cos_error_free(err);
}

/* An earlier upload of this key found by listing, as the official SDK does. */
static char *find_upload_by_listing(task *t)
{
    cos_request r = COS_REQUEST_INIT;
    r.bucket = t->bucket;
    r.region = t->region;
    r.prefix = t->key;
    cos_result *res = NULL;
    cos_error *err = NULL;
    char *found = NULL;
    if (cos_multipart_list(t->mgr->c, &r, &res, &err) == 0 && res->output.list_uploads) {
        cos_list_multipart_uploads_result *l = res->output.list_uploads;
        for (size_t i = l->uploads_count; i-- > 0 && !found;) /* newest last */
            if (l->uploads[i].key && !strcmp(l->uploads[i].key, t->key)) found = cos_strdup(l->uploads[i].upload_id);
    }
    cos_result_free(res);
    cos_error_free(err);
    return found;
}

static void run_upload(task *t)
{
    cos_client *c = t->mgr->c;
    set_state(t, COS_TASK_CHECKING);
    /* O_NONBLOCK: opening a FIFO waits for a writer (for ever) otherwise;
       it changes nothing for a regular file */
    t->fd = open(t->file_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (t->fd < 0 || fstat(t->fd, &st) != 0) {
        cos_error *e = NULL;
        cos_err_io(&e, errno, "cannot open", t->file_path);
        fail(t, COS_ERR_IO, e);
        return;
    }
    if (!S_ISREG(st.st_mode)) { /* a device, FIFO or socket has no size to upload (and /dev/zero no end) */
        cos_error *e = NULL;
        cos_err_invalid(&e, "file_path", "%s is not a regular file", t->file_path);
        fail(t, COS_ERR_INVALID_ARG, e);
        return;
    }
    t->total = (uint64_t)st.st_size;
    uint64_t slice = t->slice_size ? t->slice_size : c->cfg.slice_size;
    if (c->cfg.dialect == COS_DIALECT_S3 && slice > S3_MAX_PART) slice = S3_MAX_PART; /* S3's PutObject: 5 GiB at most */
    if (!t->slice_only && t->total <= slice) { /* simple upload */
        set_state(t, COS_TASK_RUNNING);
        cos_request r = task_request(t);
        r.body.file_path = t->file_path;
        r.body.file_length = -1;
        apply_object_headers(t, &r);
        cos_result *res = NULL;
        cos_error *err = NULL;
        /* S3's POST upload is signed by a policy document, not by a request
           signature: in SigV4 mode simple uploads are PUTs */
        cos_op op = c->cfg.simple_upload_method == COS_SIMPLE_UPLOAD_PUT || c->cfg.signer == COS_SIGNER_SIGV4
                        ? COS_OP_PUT_OBJECT : COS_OP_POST_OBJECT;
        int rc = call_sync_cancelable(c, op, &r, t->fd, &t->abort_io, &res, &err);
        if (rc == COS_ERR_CANCELED && t->pause_req && !t->cancel_req) { /* paused: sent again on restart */
            cos_error_free(err);
            return;
        }
        if (rc) {
            fail(t, rc, err);
            return;
        }
        /* A CRC-64 in the answer was checked (ops.c) against the CRC-64 of
           the bytes sent, and the file against a write while they went (its
           size, modification and change times): it is the file's, with no
           second pass over it. Without one, the file is read again. */
        uint64_t crc = res->crc64;
        if (!res->has_crc64) cos_crc64_fd(t->fd, 0, -1, &crc);
        t->loaded = t->total;
        t->res = new_result(t);
        t->res->etag = cos_strdup(res->etag);
        t->res->request_id = cos_strdup(res->request_id);
        t->res->version_id = cos_strdup(res->version_id);
        t->res->location = cos_strdup(res->location);
        t->res->crc64 = crc;
        cos_result_free(res);
        return;
    }
    make_parts(t, t->total, chosen_chunk(t, t->total, c->cfg.chunk_size));
    t->parallel = chosen_parallel(t, t->total);
    free(t->checkpoint);
    t->checkpoint = checkpoint_path(t, "upload", t->total, (int64_t)st.st_mtime);
    if (t->checkpoint) cos_sweep_stale_temporaries(t->checkpoint); /* one a process killed while writing it left */
    int resumed = 0;
    bool listed = false; /* the upload to resume comes from a listing, not from our checkpoint */
    if (!t->no_resume && !t->upload_id) {
        cos_json *cp = checkpoint_read(t->checkpoint);
        const char *id = cos_json_get_str(cp, "upload_id");
        if (id && *id) t->upload_id = cos_strdup(id);
        /* an upload found by listing alone is taken as created without one */
        t->ck_alg = t->upload_id ? cos_cksum_from_name(cos_json_get_str(cp, "ck")) : COS_CKSUM_NONE;
        cos_json_free(cp);
        if (!t->upload_id) listed = (t->upload_id = find_upload_by_listing(t)) != NULL;
    }
    if (t->upload_id && !claim_upload(t, t->upload_id)) { /* another task of this client is using it */
        free(t->upload_id);
        t->upload_id = NULL;
        listed = false;
    }
    if (t->upload_id) {
        /* Restarted in this process (after a pause or a failure): the file may
           have changed meanwhile, so the parts done before are verified
           against it again, as after a crash, not trusted (a mix of old and
           new bytes was completed as a success). */
        bool restarted = false;
        for (size_t i = 0; i < t->nparts; i++) {
            restarted |= t->parts[i].done;
            t->parts[i].done = false;
        }
        t->loaded = 0;
        if ((restarted || !t->no_resume) && adopt_server_parts(t, &resumed, listed) != 0) { /* gone, or not ours: start over */
            resumed = 0;
            free(t->upload_id);
            t->upload_id = NULL;
        }
    }
    for (int fresh = 0; !t->upload_id; fresh++) {
        for (size_t i = 0; i < t->nparts; i++) t->parts[i].done = false; /* a new upload holds no parts */
        t->loaded = t->reported = 0;
        cos_request r = task_request(t);
        apply_object_headers(t, &r);
        /* S3: declare the parts' checksum; a store that refuses it gets the
           request again without (ops.c), one that ignores it echoes none */
        cos_cksum_alg want = (cos_cksum_alg)s3_multipart_checksum(c);
        cos_kv *hs = want ? calloc(r.header_count + 1, sizeof *hs) : NULL;
        if (hs) {
            if (r.header_count) memcpy(hs, r.headers, r.header_count * sizeof *hs);
            hs[r.header_count].name = "x-amz-checksum-algorithm";
            hs[r.header_count].value = cos_cksum_name(want);
            r.headers = hs;
            r.header_count++;
        }
        cos_result *res = NULL;
        cos_error *err = NULL;
        int rc = cos_multipart_init(c, &r, &res, &err);
        free(hs);
        if (rc) {
            fail(t, rc, err);
            return;
        }
        t->ck_alg = COS_CKSUM_NONE;
        if (s3_multipart_checksum(c) != (int)want) want = COS_CKSUM_NONE; /* refused: the retry went without */
        for (size_t i = 0; want && i < res->header_count; i++)
            if (!strcasecmp(res->headers[i].name, "x-amz-checksum-algorithm") &&
                cos_cksum_from_name(res->headers[i].value) == want)
                t->ck_alg = want;
        t->upload_id = cos_strdup(res->output.initiate ? res->output.initiate->upload_id : NULL);
        cos_result_free(res);
        if (!t->upload_id) {
            failf(t, COS_ERR_PARSE, "%s", "InitiateMultipartUpload returned no UploadId");
            return;
        }
        if (!claim_upload(t, t->upload_id)) { /* another task of this client found it by listing meanwhile: theirs */
            free(t->upload_id);
            t->upload_id = NULL;
            if (fresh == 2) {
                failf(t, COS_ERR_INTERNAL, "%s", "every new multipart upload was taken by another task of this client");
                return;
            }
        }
    }
    checkpoint_write(t);
    upload_id_cache_trim(t->checkpoint, c->cfg.upload_id_cache_limit);
    set_state(t, COS_TASK_RUNNING);
    report_progress(t, false);
    int rc = run_parts(t);
    if (rc == 1) return; /* paused */
    if (rc == COS_ERR_CANCELED) {
        if (t->cancel_req != 2) { /* a user's cancel aborts; a client shutdown keeps it resumable */
            abort_upload(t);
            unlink(t->checkpoint);
        }
        fail(t, COS_ERR_CANCELED, cos_error_new(COS_ERR_CANCELED, "canceled"));
        return;
    }
    if (rc) return;
    struct stat now;
    /* the parts were read at different times: a file written meanwhile (a
       new size, or a new modification time at the same size) would make
       the object a mix of its old and new bytes, which every part's own
       checksum would still pass */
    bool resized = false, rewritten = false;
    if (fstat(t->fd, &now) == 0) {
        resized = (uint64_t)now.st_size != t->total;
        /* the change time too: a writer can set the modification time back, not it */
        rewritten = now.st_mtim.tv_sec != st.st_mtim.tv_sec || now.st_mtim.tv_nsec != st.st_mtim.tv_nsec ||
                    now.st_ctim.tv_sec != st.st_ctim.tv_sec || now.st_ctim.tv_nsec != st.st_ctim.tv_nsec;
    }
    if (resized || rewritten) { /* the parts are not the file */
        cos_error *e = NULL;
        if (resized)
            cos_err_set(&e, COS_ERR_IO, "%s changed size during the upload (%llu bytes, now %llu); not completed",
                        t->file_path, (unsigned long long)t->total, (unsigned long long)now.st_size);
        else
            cos_err_set(&e, COS_ERR_IO, "%s was written to during the upload (its modification time changed); "
                        "not completed", t->file_path);
        if (e) e->field = cos_strdup("file_path");
        abort_upload(t); /* its parts hold neither the old file nor the new one */
        unlink(t->checkpoint);
        fail(t, COS_ERR_IO, e);
        return;
    }
    cos_result *res = NULL;
    cos_error *err = NULL;
    rc = complete_parts(t, &res, &err);
    if (rc && (res = completed_before(t, err)) != NULL) {
        cos_error_free(err);
        err = NULL;
        rc = 0;
    }
    if (rc) {
        fail(t, rc, err);
        return;
    }
    uint64_t crc = combined_crc(t);
    if (res->has_crc64 && res->crc64 != crc) {
        cos_result_free(res);
        failf(t, COS_ERR_INTEGRITY, "CRC-64 of the completed object does not match %s", t->file_path);
        return;
    }
    const char *their_ck = res->output.complete ? res->output.complete->checksum_crc32c : NULL;
    if (t->ck_alg == COS_CKSUM_CRC32C && their_ck) { /* S3's composite of the parts' checksums */
        const char **cks = calloc(t->nparts ? t->nparts : 1, sizeof *cks);
        char mine[COS_CKSUM_COMPOSITE_MAX] = "";
        for (size_t i = 0; cks && i < t->nparts; i++) cks[i] = t->parts[i].ck;
        bool same = cks && cos_cksum_composite(t->ck_alg, cks, t->nparts, mine) && !strcmp(mine, their_ck);
        free(cks);
        if (!same) {
            cos_error *e = NULL;
            cos_err_set(&e, COS_ERR_INTEGRITY, "ChecksumCRC32C of the completed object is %s, computed %s from %s",
                        their_ck, mine, t->file_path);
            cos_result_free(res);
            fail(t, COS_ERR_INTEGRITY, e);
            return;
        }
    }
    unlink(t->checkpoint);
    t->res = new_result(t);
    t->res->etag = cos_strdup(res->output.complete ? res->output.complete->etag : res->etag);
    t->res->location = cos_strdup(res->location);
    t->res->request_id = cos_strdup(res->request_id);
    t->res->upload_id = cos_strdup(t->upload_id);
    t->res->crc64 = crc;
    t->res->multipart = true;
    t->res->part_count = (int)t->nparts;
    t->res->parts_resumed = resumed;
    cos_result_free(res);
}

/* ------------------------------------------------------------------ download */

/* Open the partial file of a download without following a link planted in
 * its place: an existing one is reused only when it is a regular file of
 * ours to resume; otherwise the name is removed (a symlink itself, not its
 * target) and created anew, exclusively. */
static int open_partial(const char *partial, bool *resume, const struct stat *checked)
{
    if (*resume) {
        int fd = open(partial, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
            st.st_dev == checked->st_dev && st.st_ino == checked->st_ino) /* still the file its checkpoint names */
            return fd;
        if (fd >= 0) close(fd);
        *resume = false;
    }
    if (unlink(partial) != 0 && errno != ENOENT) return -1;
    return open(partial, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
}

/* Whether the name `partial` still is the file behind fd: another download
 * of the same destination (another process, another task) unlinks it and
 * creates its own, and renaming that one, unfinished, into place would
 * publish its bytes as ours. */
static bool partial_is_ours(int fd, const char *partial)
{
    struct stat mine, there;
    return fstat(fd, &mine) == 0 && lstat(partial, &there) == 0 && mine.st_dev == there.st_dev &&
           mine.st_ino == there.st_ino;
}

/* Rename the finished partial file (fd) over `target` only while it still
 * is this download's: checked, then moved to a name of its own, checked
 * again there (nobody else uses that name), then renamed over the target.
 * A rename straight from the shared name could publish the bytes of a file
 * another download put there between the check and the rename (a tree
 * download of "x" and of the object "x.cos-partial"). `unique`: the partial
 * file already has a name of its own. 0; 1 when the name holds another's
 * file (left, or put back, under it); -1 with errno when a rename failed. */
static int publish_partial(int fd, const char *partial, const char *target, bool unique)
{
    if (unique) return rename(partial, target) == 0 ? 0 : -1;
    char *mine = cos_sprintf("%s.cos-tmp-XXXXXX", target);
    int tfd = mine ? mkostemp(mine, O_CLOEXEC) : -1;
    if (tfd < 0) {
        free(mine);
        return -1;
    }
    cos_mark_temporary(tfd); /* a kill before the rename over it leaves it empty: swept */
    close(tfd);
    int rc = 0;
    if (rename(partial, mine) != 0) {
        rc = -1;
        int e = errno;
        unlink(mine);
        errno = e;
    } else if (!partial_is_ours(fd, mine)) { /* another's, moved in the instant before: back under its name */
        rc = 1;
        /* should the name be taken once more, the file stays where it is: never deleted */
        if (renameat2(AT_FDCWD, mine, AT_FDCWD, partial, RENAME_NOREPLACE) != 0 &&
            (errno == EINVAL || errno == ENOSYS) && link(mine, partial) == 0)
            unlink(mine); /* a filesystem without RENAME_NOREPLACE: link(2) never replaces either */
    } else if (rename(mine, target) != 0) {
        rc = -1;
        int e = errno;
        unlink(mine);
        errno = e;
    }
    free(mine);
    return rc;
}

/* A verified download's last step: still ours, given the permissions of
 * the file it replaces, on disk if asked, published. publish_partial's
 * answer. */
static int publish_checked(cos_client *c, task *t, const char *partial, const char *target, bool unique)
{
    if (!partial_is_ours(t->fd, partial)) return 1;
    cos_take_target_mode(t->fd, target);
    if (c->cfg.fsync_downloads && fsync(t->fd) != 0) return -1;
    return publish_partial(t->fd, partial, target, unique);
}

/* MD5 of a whole file from its descriptor. */
static bool fd_md5(int fd, uint64_t size, unsigned char d[16])
{
    part whole = { .offset = 0, .size = size };
    task tmp = { .fd = fd };
    return part_md5(&tmp, &whole, d);
}

/* Sink of a download written in place: counts, reports and stops on a cancel. */
static int in_place_write(void *ud, const void *buf, size_t len)
{
    task *t = ud;
    if ((t->write_errno = cos_write_all_nosigpipe(t->fd, buf, len)) != 0) return 1;
    t->loaded += len;
    report_progress(t, false);
    return 0;
}

/* A device or FIFO as the destination (/dev/null, a pipe's name) gets the
 * object by one GET, in order, into the file itself: renaming a partial
 * file over it would replace the device node (as root, /dev/null became a
 * regular file), and bytes handed to it cannot be taken back, so such a
 * download is neither resumed nor sent again after a pause. */
static void run_download_in_place(task *t, int fd, const char *etag)
{
    t->fd = fd;
    t->write_errno = 0;
    t->loaded = t->reported = 0;
    set_state(t, COS_TASK_RUNNING);
    cos_request r = task_request(t);
    r.version_id = t->version_id;
    r.if_match = *etag ? etag : NULL; /* the object the HEAD saw, or an error */
    r.sink.write = in_place_write;
    r.sink.write_user_data = t;
    cos_result *res = NULL;
    cos_error *err = NULL;
    int rc = call_sync_cancelable(t->mgr->c, COS_OP_GET_OBJECT, &r, -1, &t->abort_io, &res, &err);
    if (rc == COS_ERR_CANCELED && t->pause_req && !t->cancel_req && t->loaded == 0) { /* paused before a byte */
        cos_error_free(err);
        return;
    }
    if (rc && t->write_errno) {
        cos_error_free(err);
        err = NULL;
        if (t->write_errno == EPIPE) {
            cos_err_set(&err, COS_ERR_IO, "cannot write %s: its reader went away after %llu bytes (%s)", t->file_path,
                        (unsigned long long)t->loaded, strerror(EPIPE));
            if (err) err->os_errno = EPIPE;
        } else {
            cos_err_io(&err, t->write_errno, "cannot write", t->file_path);
        }
        rc = COS_ERR_IO;
    } else if (rc == COS_ERR_CANCELED && t->pause_req && !t->cancel_req) {
        cos_error_free(err);
        err = NULL;
        cos_err_set(&err, COS_ERR_CANCELED, "a download into %s (a device or FIFO) cannot be paused and resumed: "
                    "what it received is gone; download it again", t->file_path);
    }
    if (rc) {
        fail(t, rc, err);
        return;
    }
    t->res = new_result(t);
    t->res->etag = cos_strdup(res->etag);
    t->res->request_id = cos_strdup(res->request_id);
    t->res->version_id = cos_strdup(res->version_id);
    t->res->crc64 = res->crc64;
    t->res->part_count = 1;
    report_progress(t, true);
    cos_result_free(res);
}

static void run_download(task *t)
{
    cos_client *c = t->mgr->c;
    set_state(t, COS_TASK_CHECKING);
    t->object_changed = false;
    cos_request h = task_request(t);
    h.version_id = t->version_id;
    cos_result *res = NULL;
    cos_error *err = NULL;
    int rc = cos_head_object(c, &h, &res, &err);
    if (rc) {
        fail(t, rc, err);
        return;
    }
    t->total = res->content_length;
    bool has_crc = res->has_crc64;
    uint64_t want_crc = res->crc64;
    /* without a CRC-64 (S3-compatible stores), a plain ETag is the MD5 of the object */
    bool md5_etag = !has_crc && http_etag_is_md5(res->headers, res->header_count);
    char *etag = cos_strdup(res->etag ? strong_etag(res->etag) : ""); /* sent as If-Match, kept in the checkpoint */
    cos_result_free(res);
    int special_fd = -1;
    cos_error *se = NULL;
    int special = etag ? cos_open_special_dest(t->file_path, t->no_follow, &special_fd, &se) : 0;
    if (special) {
        if (special < 0) fail(t, special, se);
        else run_download_in_place(t, special_fd, etag);
        free(etag);
        return;
    }
    /* a symlink is written through (it stays): the partial file and its
       checkpoint go beside its target, renamed over the target */
    char *target = t->no_follow ? cos_strdup(t->file_path) : cos_download_target(t->file_path);
    if (!target) {
        cos_error *e = NULL;
        cos_err_io(&e, errno, "cannot resolve", t->file_path);
        fail(t, COS_ERR_IO, e);
        free(etag);
        return;
    }
    int wp = cos_target_write_protected(target);
    if (wp) { /* a write-protected file is not replaced behind its protection (cp(1) refuses too) */
        cos_error *e = NULL;
        cos_err_io(&e, wp, "cannot write", target);
        fail(t, COS_ERR_IO, e);
        free(target);
        free(etag);
        return;
    }
    char *partial = cos_sprintf("%s.cos-partial", target);
    make_parts(t, t->total, t->chunk_size ? t->chunk_size : COS_MAX(c->cfg.chunk_size, 8 * MIB));
    t->parallel = chosen_parallel(t, t->total);
    free(t->checkpoint);
    t->checkpoint = cos_sprintf("%s.cos-partial.json", target);
    int resumed = 0;
    struct stat st;
    /* FILE.cos-partial and FILE.cos-partial.json are names a download takes
       over only when they are absent, links (replaced, never followed) or
       this library's: a
       checkpoint is written before its partial file is made, so a partial
       file always has one beside it. Anyone else's file there (the object
       "x.cos-partial" downloaded beside "x", a tree uploaded with an
       interrupted download's leftovers in it) was removed or overwritten;
       now it is left alone and this download goes to a temporary of its own
       (FILE.cos-tmp-XXXXXX), without a checkpoint: it cannot resume. */
    cos_json *cp = checkpoint_read(t->checkpoint);
    bool ours = cp && cos_json_get_str(cp, "upload_id") && cos_json_get(cp, "parts");
    t->ck_known = ours && lstat(t->checkpoint, &st) == 0;
    t->ck_dev = t->ck_known ? st.st_dev : 0;
    t->ck_ino = t->ck_known ? st.st_ino : 0;
    /* not only a regular file: a directory there (the objects "x" and
       "x.cos-partial/y" of one tree) failed the download, and a FIFO or
       socket of that name was removed */
    bool taken = !ours && ((lstat(t->checkpoint, &st) == 0 && !S_ISLNK(st.st_mode)) ||
                           (lstat(partial, &st) == 0 && !S_ISLNK(st.st_mode)));
    if (taken || t->no_resume) {
        cos_json_free(cp);
        cp = NULL;
    }
    if (taken) {
        client_log(c, COS_LOG_INFO, "%s: the names of its partial download are another file's; not resumable",
                   t->file_path);
        free(t->checkpoint);
        t->checkpoint = NULL;
        free(partial);
        partial = cos_sprintf("%s.cos-tmp-XXXXXX", target);
    }
    const char *cp_etag = cos_json_get_str(cp, "upload_id"); /* the object's ETag is kept in this slot */
    /* without an ETag nothing says the kept ranges are still the object's */
    bool resume = cp && cp_etag && *etag && !strcmp(strong_etag(cp_etag), etag) && lstat(partial, &st) == 0 && S_ISREG(st.st_mode) &&
                  (uint64_t)st.st_size == t->total;
    resume = resume && partial_described(cp, &st);
    if (!resume) { /* the partial file starts empty: nothing kept from an earlier run counts */
        for (size_t i = 0; i < t->nparts; i++) t->parts[i].done = false;
        t->loaded = t->reported = 0;
        char *kept = t->upload_id;
        t->upload_id = etag;
        checkpoint_write(t); /* claims the names before the partial file exists (above) */
        t->upload_id = kept;
    }
    cos_sweep_stale_temporaries(target); /* those of a download killed with -9 */
    if (t->checkpoint) cos_sweep_stale_temporaries(t->checkpoint); /* (none where the names are another's) */
    t->fd = !partial ? -1 : taken ? mkostemp(partial, O_CLOEXEC) : open_partial(partial, &resume, &st);
    cos_lock_temporary(t->fd); /* renamed to a FILE.cos-tmp-XXXXXX before it is published: live, never swept */
    if (!resume) { /* open_partial found the file unusable after all */
        for (size_t i = 0; i < t->nparts; i++) t->parts[i].done = false;
        t->loaded = t->reported = 0;
    }
    if (t->fd < 0 || reserve_blocks(t->fd, t->total) != 0 || (!resume && ftruncate(t->fd, (off_t)t->total) != 0)) {
        cos_error *e = NULL;
        cos_err_io(&e, errno, "cannot write", partial);
        if (t->fd >= 0 && !resume) unlink(partial); /* empty: nothing to resume */
        if (!resume) checkpoint_unlink(t);          /* nor the checkpoint that claimed its name */
        fail(t, COS_ERR_IO, e);
        cos_json_free(cp);
        free(partial);
        free(target);
        free(etag);
        return;
    }
    if (resume) {
        const cos_json *parts = cos_json_get(cp, "parts");
        for (size_t i = 0; parts && i < parts->count; i++) {
            int64_t n = 0;
            uint64_t crc = 0;
            cos_json_get_i64(&parts->items[i], "n", &n);
            const char *cs = cos_json_get_str(&parts->items[i], "crc");
            if (n < 1 || (size_t)n > t->nparts || !cs || cos_parse_u64(cs, &crc)) continue;
            part *p = &t->parts[n - 1];
            uint64_t local = 0;
            if (p->done) continue; /* restarted in this process: already counted */
            if (cos_crc64_file(partial, p->offset, (int64_t)p->size, &local) == 0 && local == crc) {
                p->done = true;
                p->crc = crc;
                t->loaded += p->size;
                resumed++;
            }
        }
    }
    cos_json_free(cp);
    free(t->upload_id);
    t->upload_id = etag; /* written into the checkpoint to detect a changed object */
    set_state(t, COS_TASK_RUNNING);
    t->etag_differs = false;
    rc = t->total ? run_parts(t) : 0;
    if (rc && rc != 1 && t->object_changed && !t->etag_differs && !t->if_match_refused) {
        /* 412s: replaced, or a store that refuses the object's own ETag as
           If-Match. Unchanged: the ranges go on without it, each one's ETag
           still compared with the HEAD's. */
        cos_request again = task_request(t);
        again.version_id = t->version_id;
        cos_result *hr = NULL;
        cos_error *he = NULL;
        if (cos_head_object(c, &again, &hr, &he) == 0 && hr->etag && !strcmp(strong_etag(hr->etag), t->upload_id)) {
            client_log(c, COS_LOG_INFO, "%s: the store refuses the object's own ETag as If-Match; ranges go without it",
                       t->key);
            t->if_match_refused = true;
            t->object_changed = false;
            cos_error_free(t->err);
            t->err = NULL;
            t->rc = 0;
            rc = run_parts(t);
        }
        cos_result_free(hr);
        cos_error_free(he);
    }
    if (rc == 1 || (rc == COS_ERR_CANCELED && t->cancel_req == 2)) { /* paused, or the client closed: resumable */
        if (taken) unlink(partial); /* a temporary of its own: a restart starts over */
        /* closed: canceled, as an upload says (without it, unless a part had
           said so first, the task settled as COS_ERR_INTERNAL) */
        if (rc == COS_ERR_CANCELED) fail(t, COS_ERR_CANCELED, cos_error_new(COS_ERR_CANCELED, "canceled"));
        free(partial);
        free(target);
        return;
    }
    bool drop = false; /* the partial file and its checkpoint */
    int pub = 0;       /* publish_checked's answer */
    bool theirs = false; /* both belong to another download now: left alone */
    if (rc == 0) {
        uint64_t crc = combined_crc(t);
        unsigned char d[16];
        if (has_crc && crc != want_crc) {
            failf(t, COS_ERR_INTEGRITY, "CRC-64 of the downloaded data does not match the object %s", t->key);
            drop = true; /* the data on disk is wrong: start over next time */
        } else if (md5_etag && !(fd_md5(t->fd, t->total, d) && http_etag_matches(t->upload_id, d))) {
            failf(t, COS_ERR_INTEGRITY, "MD5 of the downloaded data does not match the ETag of %s (no CRC-64 to check)", t->key);
            drop = true;
        } else if ((pub = publish_checked(c, t, partial, target, taken)) == 1) {
            failf(t, COS_ERR_IO, "%s was replaced by another download of the same file meanwhile; "
                  "not renamed (it is not this download's data)", partial);
            theirs = true;
        } else if (pub < 0) {
            cos_error *e = NULL;
            cos_err_io(&e, errno, "cannot write", t->file_path);
            fail(t, COS_ERR_IO, e);
            drop = true;
            /* the partial file may be gone already (publish_partial removes
               its own name when the last rename fails, a directory at the
               target): its checkpoint was left for ever, though still ours */
            checkpoint_unlink(t);
        } else {
            checkpoint_unlink(t);
            t->res = new_result(t);
            t->res->etag = cos_strdup(t->upload_id);
            t->res->crc64 = crc;
            t->res->multipart = t->nparts > 1;
            t->res->part_count = (int)t->nparts;
            t->res->parts_resumed = resumed;
        }
    } else {
        if (rc == COS_ERR_CANCELED) fail(t, rc, cos_error_new(COS_ERR_CANCELED, "canceled"));
        /* A failed download keeps its partial file only to resume it (a
           restart of the task, or the same download again): when resuming is
           on and at least one verified part is recorded in the checkpoint.
           Otherwise nothing is left behind. */
        drop = rc == COS_ERR_CANCELED || t->no_resume || taken || t->loaded == 0 || rc == COS_ERR_INTEGRITY ||
               t->object_changed;
    }
    if (drop && !partial_is_ours(t->fd, partial)) theirs = true;
    if (drop || theirs) {
        if (!theirs) {
            unlink(partial);
            checkpoint_unlink(t);
        }
        for (size_t i = 0; i < t->nparts; i++) t->parts[i].done = false;
        t->loaded = t->reported = 0;
    }
    free(partial);
    free(target);
}

/* ------------------------------------------------------------------ copy */

static int parse_source(const char *src, char **bucket, char **region, char **key)
{
    const char *cos = strstr(src, ".cos.");
    const char *slash = strchr(src, '/');
    if (!cos || !slash || cos > slash) return -1;
    *bucket = cos_strndup(src, (size_t)(cos - src));
    const char *reg = cos + 5;
    const char *dot = strchr(reg, '.');
    *region = cos_strndup(reg, (size_t)((dot && dot < slash ? dot : slash) - reg));
    *key = cos_uri_decode(slash + 1, strlen(slash + 1));
    /* a %00 would cut the key short: "a%00b" copied the object "a" (fuzz_copy_source) */
    return *key && !strstr(slash + 1, "%00") ? 0 : -1;
}

/* S3's x-amz-copy-source form, "[/]bucket/key" (key URL-encoded), in the
 * client's region (SigV4 mode). */
static int parse_s3_source(const char *src, const char *region, char **bucket, char **reg, char **key)
{
    free(*bucket);
    free(*reg);
    free(*key);
    *bucket = *reg = *key = NULL;
    if (*src == '/') src++;
    const char *slash = strchr(src, '/');
    if (!slash || slash == src || !slash[1] || cos_str_empty(region)) return -1;
    *bucket = cos_strndup(src, (size_t)(slash - src));
    *reg = cos_strdup(region);
    *key = cos_uri_decode(slash + 1, strlen(slash + 1));
    return *bucket && *reg && *key && !strstr(slash + 1, "%00") ? 0 : -1; /* as parse_source */
}

/* The copy source's ETag now (NULL if it cannot be read). */
static char *source_etag_now(task *t, const char *bucket, const char *region, const char *key)
{
    cos_request h = COS_REQUEST_INIT;
    h.bucket = bucket;
    h.region = region;
    h.key = key;
    cos_result *res = NULL;
    cos_error *err = NULL;
    char *etag = cos_head_object(t->mgr->c, &h, &res, &err) == 0 ? cos_strdup(strong_etag(res->etag)) : NULL;
    cos_result_free(res);
    cos_error_free(err);
    return etag;
}

static void run_copy(task *t)
{
    cos_client *c = t->mgr->c;
    set_state(t, COS_TASK_CHECKING);
    char *sb = NULL, *sr = NULL, *sk = NULL;
    bool s3 = c->cfg.signer == COS_SIGNER_SIGV4;
    if (!t->copy_source || (parse_source(t->copy_source, &sb, &sr, &sk) != 0 &&
                            (!s3 || parse_s3_source(t->copy_source, c->cfg.region, &sb, &sr, &sk) != 0))) {
        free(sb);
        free(sr);
        free(sk);
        fail(t, COS_ERR_INVALID_ARG, cos_error_new(COS_ERR_INVALID_ARG, s3 ? "copy_source must look like BUCKET-APPID.cos.REGION.myqcloud.com/KEY or /BUCKET/KEY"
                                                       : "copy_source must look like BUCKET-APPID.cos.REGION.myqcloud.com/KEY"));
        return;
    }
    cos_request h = COS_REQUEST_INIT;
    h.bucket = sb;
    h.region = sr;
    h.key = sk;
    cos_result *res = NULL;
    cos_error *err = NULL;
    int rc = cos_head_object(c, &h, &res, &err);
    if (rc) {
        free(sb);
        free(sr);
        free(sk);
        fail(t, rc, err);
        return;
    }
    t->total = res->content_length;
    uint64_t src_crc = res->crc64;
    bool has_crc = res->has_crc64;
    free(t->source_etag);
    t->source_etag = cos_strdup(strong_etag(res->etag));
    cos_result_free(res);
    uint64_t slice = t->slice_size ? t->slice_size : c->cfg.copy_slice_size;
    if (s3 && slice > S3_MAX_PART) slice = S3_MAX_PART; /* S3's CopyObject copies at most 5 GiB */
    set_state(t, COS_TASK_RUNNING);
    if (t->total <= slice) {
        free(sb);
        free(sr);
        free(sk);
        cos_request r = task_request(t);
        r.copy_source = t->copy_source;
        apply_object_headers(t, &r);
        rc = cos_put_object_copy(c, &r, &res, &err);
        if (rc) {
            fail(t, rc, err);
            return;
        }
        t->loaded = t->total;
        t->res = new_result(t);
        t->res->etag = cos_strdup(res->output.copy ? res->output.copy->etag : NULL);
        t->res->request_id = cos_strdup(res->request_id);
        t->res->crc64 = src_crc;
        cos_result_free(res);
        return;
    }
    make_parts(t, t->total, t->chunk_size ? t->chunk_size : c->cfg.copy_chunk_size);
    t->parallel = chosen_parallel(t, t->total);
    cos_request r = task_request(t);
    apply_object_headers(t, &r);
    rc = cos_multipart_init(c, &r, &res, &err);
    if (rc) {
        free(sb);
        free(sr);
        free(sk);
        fail(t, rc, err);
        return;
    }
    t->upload_id = cos_strdup(res->output.initiate ? res->output.initiate->upload_id : "");
    cos_result_free(res);
    t->object_changed = false;
    char *first_etag = cos_strdup(t->source_etag);
    rc = run_parts(t);
    if (rc && t->object_changed && t->source_etag) {
        /* Some stores (Swift's s3api) refuse a multipart object's own ETag in
           x-amz-copy-source-if-match. Unchanged source: go on without the
           condition, and compare the source's ETag once more before Complete. */
        char *now = source_etag_now(t, sb, sr, sk);
        if (now && !strcmp(now, t->source_etag)) {
            client_log(c, COS_LOG_INFO, "%s: the store refuses the copy source's own ETag as a condition; "
                       "copying without it", t->key);
            free(t->source_etag);
            t->source_etag = NULL;
            cos_error_free(t->err);
            t->err = NULL;
            t->rc = 0;
            t->object_changed = false;
            rc = run_parts(t);
        }
        free(now);
    }
    if (!rc && !t->source_etag && first_etag) {
        char *now = source_etag_now(t, sb, sr, sk);
        if (!now || strcmp(now, first_etag) != 0) {
            cos_error *e = NULL;
            cos_err_set(&e, COS_ERR_SERVER, "the copy source changed during the copy (ETag %s, now %s); nothing was completed",
                        first_etag, now ? now : "unreadable");
            if (e) e->code = cos_strdup("PreconditionFailed");
            t->rc = rc = COS_ERR_SERVER;
            t->err = e;
        }
        free(now);
    }
    free(first_etag);
    free(sb);
    free(sr);
    free(sk);
    if (rc) {
        if (rc != 1) abort_upload(t);
        if (rc == COS_ERR_CANCELED) fail(t, rc, cos_error_new(COS_ERR_CANCELED, "canceled"));
        if (rc == 1) { /* a copy cannot be paused half-way without its parts: treat as cancel */
            fail(t, COS_ERR_CANCELED, cos_error_new(COS_ERR_CANCELED, "paused copies restart from the beginning"));
        }
        return;
    }
    rc = complete_parts(t, &res, &err);
    if (rc) {
        abort_upload(t);
        fail(t, rc, err);
        return;
    }
    if (has_crc && res->has_crc64 && res->crc64 != src_crc) {
        cos_result_free(res);
        failf(t, COS_ERR_INTEGRITY, "%s", "CRC-64 of the copy does not match its source");
        return;
    }
    t->res = new_result(t);
    t->res->etag = cos_strdup(res->output.complete ? res->output.complete->etag : NULL);
    t->res->request_id = cos_strdup(res->request_id);
    t->res->upload_id = cos_strdup(t->upload_id);
    t->res->crc64 = src_crc;
    t->res->multipart = true;
    t->res->part_count = (int)t->nparts;
    cos_result_free(res);
}

/* ------------------------------------------------------------------ running tasks */

/* Slots held by the calling thread: a sync transfer started from a progress
 * callback (its thread already holds a slot) runs without waiting for one. */
static __thread int tls_slots;

/* The tasks this thread is running (nested: a synchronous transfer started
 * from a progress callback runs inside its caller's): one of them waited
 * for from its own callbacks would wait for itself for ever. */
typedef struct running_frame {
    const task *t;
    struct running_frame *up;
} running_frame;
static __thread running_frame *tls_running;

/* Waiting inside a running task's callback (progress, task-start) for other
 * tasks: the slots this thread's tasks hold are lent meanwhile, or a task
 * waited for could wait for one of them for ever (FileParallelLimit 1).
 * How many (the lock held); slots_return_locked gives them back. */
static int slots_lend_locked(cos_tasks *mg)
{
    int lent = 0;
    for (const running_frame *f = tls_running; f; f = f->up)
        if (f->t->mgr == mg) lent++;
    mg->running -= lent;
    if (lent) pthread_cond_broadcast(&mg->cv);
    return lent;
}

static void slots_return_locked(cos_tasks *mg, int lent) { mg->running += lent; }

/* A canceled task that was waiting or paused: what an abort leaves on the server or disk. */
static void cancel_unstarted(task *t)
{
    if (t->cancel_req != 2) { /* a user's cancel; a client shutdown keeps it resumable */
        if (t->kind == COS_TASK_UPLOAD && t->upload_id) abort_upload(t);
        bool removed = checkpoint_unlink(t);
        if (t->kind == COS_TASK_DOWNLOAD && removed) { /* the partial file is named as its checkpoint is */
            char *partial = cos_strndup(t->checkpoint, strlen(t->checkpoint) - 5); /* minus ".json" */
            if (partial) unlink(partial);
            free(partial);
        }
    }
    fail(t, COS_ERR_CANCELED, cos_error_new(COS_ERR_CANCELED, "canceled"));
}

/* Run a task once (no lock held): it ends finished, failed or paused. */
static void run_once(task *t)
{
    if (t->cancel_req) {
        cancel_unstarted(t);
        return;
    }
    if (t->pause_req) return; /* paused between being taken and starting */
    cos_tasks *mg = t->mgr;
    pthread_mutex_lock(&mg->m);
    bool skip_backoff = t->skip_backoff;
    t->skip_backoff = false;
    pthread_mutex_unlock(&mg->m);
    for (size_t i = 0; skip_backoff && t->parts && i < t->nparts; i++) t->parts[i].not_before_ms = 0;
    running_frame frame = { t, tls_running };
    tls_running = &frame;
    cb_call me;
    cos_task_start_fn on_start;
    void *on_start_ud;
    if (cb_take(mg, &me, NULL, &on_start, &on_start_ud)) {
        on_start(on_start_ud, t->id);
        cb_leave(mg, &me);
    }
    if (t->t0 == 0) t->t0 = cos_mono_sec();
    tls_slots++;
    if (t->kind == COS_TASK_UPLOAD) run_upload(t);
    else if (t->kind == COS_TASK_DOWNLOAD) run_download(t);
    else run_copy(t);
    tls_slots--;
    tls_running = frame.up;
    if (t->fd >= 0) close(t->fd);
    t->fd = -1;
}

/* After run_once, with the lock held: true if the task stopped for a pause
 * (COS_TASK_PAUSED), or stopped for one and was restarted before it
 * settled (COS_TASK_WAITING: it runs again). */
static bool settle(task *t)
{
    if (!t->rc && !t->res && !t->cancel_req && t->state != COS_TASK_SUCCESS) {
        t->state = t->pause_req ? COS_TASK_PAUSED : COS_TASK_WAITING;
        pthread_cond_broadcast(&t->mgr->cv);
        return true;
    }
    if (!t->rc && !t->res) fail(t, COS_ERR_INTERNAL, NULL);
    t->state = t->rc == COS_ERR_CANCELED ? COS_TASK_CANCELED : t->rc ? COS_TASK_ERROR : COS_TASK_SUCCESS;
    if (t->state == COS_TASK_SUCCESS) t->loaded = t->total;
    return false;
}

static bool is_runnable(const task *t)
{
    return !t->owned && !t->finished && (t->state == COS_TASK_WAITING || t->cancel_req);
}

/* The list is in id order; scan_from keeps taking the next task O(1) on a
 * long queue instead of a walk from the head each time. */
static task *next_runnable(cos_tasks *mg)
{
    for (task *t = mg->scan_from; t; t = t->next)
        if (is_runnable(t)) {
            mg->scan_from = t;
            return t;
        }
    mg->scan_from = NULL;
    return NULL;
}

/* With the lock held: t may have become runnable. */
static void mark_runnable(cos_tasks *mg, task *t)
{
    if (!mg->scan_from || t->id < mg->scan_from->id) mg->scan_from = t;
}

static void *runner_main(void *arg);

/* With the lock held: start a runner if a task is runnable and fewer than
 * FileParallelLimit runners are taking tasks. Threads are counted;
 * cos_tasks_destroy waits for the count to reach 0, then reaps them. */
static void maybe_spawn_runner(cos_tasks *mg)
{
    if (!next_runnable(mg)) return;
    if (mg->idle) { /* one waiting for a task takes it: a wake-up, not a thread made (and one gone) per task */
        idle_runner *r = mg->idle;
        mg->idle = r->next;
        r->go = true;
        pthread_cond_signal(&r->cv);
        return;
    }
    if (mg->runners >= mg->c->cfg.file_parallel_limit) return;
    reaper_join(&mg->gone_threads, false);
    if (reaper_spawn(runner_main, mg) == 0) {
        mg->runners++;
        mg->threads++;
    }
}

/* How long a runner with nothing to do waits for a task before it leaves. */
#define RUNNER_LINGER_S 2

/* A runner: takes waiting tasks while there are any, one slot at a time.
 * If a completion callback it runs waits for a task (runner_wait_begin),
 * it stops counting as a runner meanwhile, so another keeps the queue moving. */
static __thread cos_tasks *tls_runner_of;

bool cos_tasks_on_own_thread(cos_tasks *mg)
{
    if (!mg) return false;
    if (tls_runner_of == mg || tls_notifying == mg) return true;
    for (const running_frame *f = tls_running; f; f = f->up) /* a synchronous transfer's callbacks */
        if (f->t->mgr == mg) return true;
    return false;
}

static void *runner_main(void *arg)
{
    cos_tasks *mg = arg;
    tls_runner_of = mg;
    pthread_mutex_lock(&mg->m);
    for (;;) {
        task *t = next_runnable(mg);
        if (!t && !mg->closing) {
            /* A task is often queued right after one ends (cos cp -r keeps 8
               going, one queued as one ends): waiting a while for it spares
               making a thread per task. Listed, maybe_spawn_runner hands it
               one; unlisted here when the wait ends without. */
            idle_runner me = { .go = false, .next = mg->idle };
            pthread_cond_init(&me.cv, NULL);
            mg->idle = &me;
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += RUNNER_LINGER_S;
            int rc = 0;
            while (!me.go && !mg->closing && rc != ETIMEDOUT) rc = pthread_cond_timedwait(&me.cv, &mg->m, &until);
            for (idle_runner **pp = &mg->idle; !me.go && *pp; pp = &(*pp)->next)
                if (*pp == &me) {
                    *pp = me.next;
                    break;
                }
            pthread_cond_destroy(&me.cv);
            if (me.go) continue;
            break;
        }
        if (!t || mg->runners > mg->c->cfg.file_parallel_limit) break;
        if (!t->cancel_req && mg->running >= mg->c->cfg.file_parallel_limit) { /* slots held by sync callers */
            pthread_cond_wait(&mg->cv, &mg->m);
            continue;
        }
        bool slot = !t->cancel_req;
        t->owned = true;
        if (slot) mg->running++;
        pthread_mutex_unlock(&mg->m);
        const cred_origin *outer = cred_origin_enter(&t->origin); /* its requests inherit it */
        run_once(t);
        cred_origin_leave(outer);
        pthread_mutex_lock(&mg->m);
        if (slot) mg->running--;
        pthread_cond_broadcast(&mg->cv);
        if (settle(t)) { /* paused: back in the list; cos_task_restart makes it waiting again */
            t->owned = false;
            mark_runnable(mg, t);
            pthread_mutex_unlock(&mg->m);
            notify_change(mg);
            pthread_mutex_lock(&mg->m);
            continue;
        }
        if (t->state == COS_TASK_SUCCESS && t->on_progress) { /* the 100% report, before t can be trimmed */
            pthread_mutex_unlock(&mg->m);
            report_progress(t, true);
            pthread_mutex_lock(&mg->m);
        }
        cos_transfer_done_fn done = t->done;
        void *done_ud = t->done_ud;
        cos_task_id id = t->id;
        int rc = t->rc;
        cos_transfer_result *res = t->res;
        cos_error *err = NULL;
        t->res = NULL;
        if (!done) { /* nobody takes the result: keep it for cos_task_wait */
            t->res = res;
            res = NULL;
        } else {
            err = cos_error_dup(t->err);
            t->waited = true;
        }
        t->finished = true;
        release_uploads_locked(mg, t); /* as the SDK's removeUsing: a restart claims it again */
        t->owned = false; /* from here on t may be trimmed: use the copies above */
        note_trimmable_locked(mg, t);
        pthread_cond_broadcast(&mg->cv);
        pthread_mutex_unlock(&mg->m);
        notify_change(mg);
        if (done) done(done_ud, id, rc, res, err);
        pthread_mutex_lock(&mg->m);
    }
    mg->runners--;
    mg->threads--;
    reaper_add_self(&mg->gone_threads);
    pthread_cond_broadcast(&mg->cv);
    pthread_mutex_unlock(&mg->m);
    return NULL;
}

/* Around a wait for tasks: on one of this manager's runners (inside a
 * callback), another runner takes its place while it waits. */
static bool runner_wait_begin(cos_tasks *mg)
{
    if (tls_runner_of != mg) return false;
    pthread_mutex_lock(&mg->m);
    mg->runners--;
    maybe_spawn_runner(mg);
    pthread_mutex_unlock(&mg->m);
    return true;
}

static void runner_wait_end(cos_tasks *mg, bool began)
{
    if (!began) return;
    pthread_mutex_lock(&mg->m);
    mg->runners++;
    pthread_mutex_unlock(&mg->m);
}

static const size_t TRANSFER_PARAMS_SIZES[] = { [1] = offsetof(cos_transfer_params, no_follow),
                                                [COS_TRANSFER_PARAMS_VERSION] = sizeof(cos_transfer_params) };

/* The up-front checks of a transfer's parameters, each naming its field as the operations do. */
static int check_transfer_params(cos_client *c, cos_task_kind kind, const cos_transfer_params *p, cos_error **err)
{
    int rc = cos_check_bucket(p->bucket, c->cfg.signer == COS_SIGNER_SIGV4, err);
    if (rc) return rc;
    if (p->region && (rc = cos_check_region(p->region, err))) return rc;
    if (cos_str_empty(p->key) || (p->key[0] == '/' && !p->key[1])) return cos_err_invalid(err, "key", "missing param Key");
    if (kind != COS_TASK_COPY && cos_str_empty(p->file_path))
        return cos_err_invalid(err, "file_path", "missing param FilePath");
    if (kind == COS_TASK_COPY && cos_str_empty(p->copy_source))
        return cos_err_invalid(err, "copy_source", "missing param CopySource");
    if (p->chunk_size && p->chunk_size < MIB)
        return cos_err_invalid(err, "chunk_size", "ChunkSize must be at least 1 MiB, got %llu", (unsigned long long)p->chunk_size);
    if (p->parallel < 0) return cos_err_invalid(err, "parallel", "parallel must not be negative, got %d", p->parallel);
    return 0;
}

static int start_task(cos_client *c, cos_task_kind kind, bool slice_only, const cos_transfer_params *params,
                      cos_transfer_done_fn done, void *ud, bool sync, cos_task_id *id, task **out, cos_error **err)
{
    if (!c) return cos_err_invalid(err, "client", "NULL client");
    cos_transfer_params pv;
    int rc = COS_OPTIONS_IN(&pv, params, "cos_transfer_params", "COS_TRANSFER_PARAMS_INIT", TRANSFER_PARAMS_SIZES, err);
    if (!rc) rc = check_transfer_params(c, kind, &pv, err);
    if (rc) return rc;
    const cos_transfer_params *p = &pv;
    cos_tasks *mg = tasks_of(c);
    task *t = calloc(1, sizeof *t);
    if (!mg || !t) {
        free(t);
        return COS_ERR_NOMEM;
    }
    t->mgr = mg;
    t->origin = cred_origin_here(c);
    t->kind = kind;
    t->slice_only = slice_only;
    t->fd = -1;
    t->bucket = cos_strdup(p->bucket);
    t->region = cos_strdup(p->region);
    t->key = cos_strdup(p->key[0] == '/' && !c->cfg.use_raw_key ? p->key + 1 : p->key);
    t->file_path = cos_strdup(p->file_path);
    t->no_follow = p->no_follow;
    t->copy_source = cos_strdup(p->copy_source);
    t->version_id = cos_strdup(p->version_id);
    t->content_type = cos_strdup(p->content_type);
    t->acl = cos_strdup(p->acl);
    t->storage_class = cos_strdup(p->storage_class);
    for (size_t i = 0; i < p->meta_count; i++) cos_kvlist_add(&t->meta, p->meta[i].name, p->meta[i].value);
    for (size_t i = 0; i < p->header_count; i++) cos_kvlist_add(&t->headers, p->headers[i].name, p->headers[i].value);
    t->slice_size = p->slice_size;
    t->chunk_size = p->chunk_size;
    t->parallel = p->parallel;
    t->no_resume = p->no_resume;
    t->on_progress = p->on_progress;
    t->progress_ud = p->progress_user_data;
    t->on_hash_progress = p->on_hash_progress;
    t->hash_progress_ud = p->hash_progress_user_data;
    t->done = done;
    t->done_ud = ud;
    t->owned = sync; /* a sync caller drives its own task */
    pthread_mutex_lock(&mg->m);
    if (mg->closing) { /* a callback's, during cos_client_free: run, it kept the free waiting (one submitting the next, for ever) */
        pthread_mutex_unlock(&mg->m);
        task_free(t);
        return cos_err_set(err, COS_ERR_CANCELED, "the client is being freed");
    }
    if (!index_reserve(mg)) {
        pthread_mutex_unlock(&mg->m);
        task_free(t);
        return COS_ERR_NOMEM;
    }
    /* counted from here, not from drive_sync: a task-list callback that frees
       the client (below) must leave this task to its caller until it ends */
    if (sync) mg->driving++;
    t->id = ++mg->next_id;
    t->state = COS_TASK_WAITING;
    if (mg->tail) mg->tail->next = t;
    else mg->head = t;
    mg->tail = t;
    mg->count++;
    index_add(mg, t);
    trim_finished(mg);
    /* published before any thread can run it (uploadFiles maps ids to files) */
    if (id) *id = t->id;
    if (out) *out = t;
    if (!sync) {
        mark_runnable(mg, t);
        maybe_spawn_runner(mg);
    }
    pthread_mutex_unlock(&mg->m);
    notify_change(mg);
    return 0;
}

int cos_task_wait(cos_client *c, cos_task_id id, cos_transfer_result **out, cos_error **err)
{
    cos_err_reset(err);
    if (out) *out = NULL;
    if (!c) return cos_err_invalid(err, "client", "NULL client");
    cos_tasks *mg = tasks_of(c);
    pthread_mutex_lock(&mg->m);
    task *t = find_task(mg, id);
    if (!t) {
        pthread_mutex_unlock(&mg->m);
        return cos_err_invalid(err, "id", "no task %llu", (unsigned long long)id);
    }
    for (const running_frame *f = tls_running; f && !t->finished; f = f->up)
        if (f->t == t) {
            pthread_mutex_unlock(&mg->m);
            return cos_err_invalid(err, "id", "task %llu is waited for from its own callback (a progress or task-start "
                                              "callback runs on the thread that runs it): it would wait for itself",
                                   (unsigned long long)id);
        }
    if (!t->finished) {
        /* From a running task's callback (progress, task-start): its
           FileParallelLimit slot is lent meanwhile, or the task waited for
           could wait for that slot for ever (limit 1) */
        int lent = slots_lend_locked(mg);
        pthread_mutex_unlock(&mg->m);
        workers_block_begin(); /* waiting inside an async callback: the pool must not wait for us */
        bool stood_in = runner_wait_begin(mg);
        pthread_mutex_lock(&mg->m);
        while (!t->finished) pthread_cond_wait(&mg->cv, &mg->m);
        slots_return_locked(mg, lent);
        pthread_mutex_unlock(&mg->m);
        runner_wait_end(mg, stood_in);
        workers_block_end();
        pthread_mutex_lock(&mg->m);
    }
    int rc = t->rc;
    if (!t->waited) {
        if (rc == 0 && out) {
            *out = t->res;
            t->res = NULL;
        } else if (rc && err) {
            cos_error_free(*err);
            *err = cos_error_dup(t->err);
        }
        t->waited = true;
        note_trimmable_locked(mg, t);
    } else if (rc && err) {
        cos_error_free(*err);
        *err = cos_error_dup(t->err);
    }
    pthread_mutex_unlock(&mg->m);
    return rc;
}

/* A synchronous transfer: the caller's thread runs its task (no runner, no
 * worker): it waits for a FileParallelLimit slot unless it already holds one. */
static int drive_sync(task *t, cos_transfer_result **out, cos_error **err)
{
    cos_tasks *mg = t->mgr;
    int limit = mg->c->cfg.file_parallel_limit;
    pthread_mutex_lock(&mg->m); /* (mg->driving counts this task since start_task) */
    for (;;) {
        while (!t->cancel_req && (t->pause_req || (mg->running >= limit && tls_slots == 0))) {
            if (t->pause_req && t->state != COS_TASK_PAUSED) {
                t->state = COS_TASK_PAUSED;
                pthread_mutex_unlock(&mg->m);
                notify_change(mg);
                pthread_mutex_lock(&mg->m);
                continue;
            }
            pthread_cond_wait(&mg->cv, &mg->m);
        }
        bool slot = !t->cancel_req;
        if (slot) mg->running++;
        pthread_mutex_unlock(&mg->m);
        run_once(t);
        pthread_mutex_lock(&mg->m);
        if (slot) mg->running--;
        pthread_cond_broadcast(&mg->cv);
        if (settle(t)) {
            pthread_mutex_unlock(&mg->m);
            notify_change(mg);
            pthread_mutex_lock(&mg->m);
            continue; /* paused: wait here for a restart or a cancel */
        }
        break;
    }
    if (t->state == COS_TASK_SUCCESS && t->on_progress) {
        pthread_mutex_unlock(&mg->m);
        report_progress(t, true);
        pthread_mutex_lock(&mg->m);
    }
    int rc = t->rc;
    if (rc == 0 && out) {
        *out = t->res;
        t->res = NULL;
    } else if (rc && err) {
        cos_error_free(*err);
        *err = cos_error_dup(t->err);
    }
    t->waited = true;
    t->finished = true;
    release_uploads_locked(mg, t);
    t->owned = false;
    note_trimmable_locked(mg, t);
    cos_task_list_fn changed = mg->on_change;
    void *changed_ud = mg->on_change_ud;
    mg->driving--; /* from here on a client freed by a callback may be gone: mg and t are not touched */
    pthread_cond_broadcast(&mg->cv);
    pthread_mutex_unlock(&mg->m);
    if (changed) changed(changed_ud);
    return rc;
}

static int transfer_run_sync(cos_client *c, cos_task_kind kind, bool slice, const cos_transfer_params *p,
                    cos_transfer_result **out, cos_error **err)
{
    cos_err_reset(err);
    if (out) *out = NULL;
    task *t = NULL;
    int rc = start_task(c, kind, slice, p, NULL, NULL, true, NULL, &t, err);
    if (rc) return rc;
    return drive_sync(t, out, err);
}

int cos_upload_file(cos_client *c, const cos_transfer_params *p, cos_transfer_result **out, cos_error **err)
{ return transfer_run_sync(c, COS_TASK_UPLOAD, false, p, out, err); }
int cos_slice_upload_file(cos_client *c, const cos_transfer_params *p, cos_transfer_result **out, cos_error **err)
{ return transfer_run_sync(c, COS_TASK_UPLOAD, true, p, out, err); }
int cos_slice_copy_file(cos_client *c, const cos_transfer_params *p, cos_transfer_result **out, cos_error **err)
{ return transfer_run_sync(c, COS_TASK_COPY, false, p, out, err); }
int cos_download_file(cos_client *c, const cos_transfer_params *p, cos_transfer_result **out, cos_error **err)
{ return transfer_run_sync(c, COS_TASK_DOWNLOAD, false, p, out, err); }

int cos_upload_file_async(cos_client *c, const cos_transfer_params *p, cos_transfer_done_fn done, void *ud, cos_task_id *id)
{ return start_task(c, COS_TASK_UPLOAD, false, p, done, ud, false, id, NULL, client_async_error_slot()); }
int cos_slice_upload_file_async(cos_client *c, const cos_transfer_params *p, cos_transfer_done_fn done, void *ud, cos_task_id *id)
{ return start_task(c, COS_TASK_UPLOAD, true, p, done, ud, false, id, NULL, client_async_error_slot()); }
int cos_slice_copy_file_async(cos_client *c, const cos_transfer_params *p, cos_transfer_done_fn done, void *ud, cos_task_id *id)
{ return start_task(c, COS_TASK_COPY, false, p, done, ud, false, id, NULL, client_async_error_slot()); }
int cos_download_file_async(cos_client *c, const cos_transfer_params *p, cos_transfer_done_fn done, void *ud, cos_task_id *id)
{ return start_task(c, COS_TASK_DOWNLOAD, false, p, done, ud, false, id, NULL, client_async_error_slot()); }

/* ------------------------------------------------------------------ uploadFiles */

typedef struct files_ctx files_ctx;

/* One file of uploadFiles: its index travels with it, not looked up by id. */
typedef struct file_slot {
    files_ctx *f;
    size_t index;
    uint64_t loaded, total;
    cos_progress_fn inner;        /* the file's own on_progress */
    void *inner_ud;
} file_slot;

struct files_ctx {
    const cos_upload_files_params *p;
    pthread_mutex_t m;
    pthread_cond_t cv;
    size_t left;
    int first_rc;
    cos_error *first_err;
    file_slot *slots;
    double t0;
    int64_t last_ms;
    int interval_ms;
};

/* With f->m held: the progress of all files together. */
static void files_progress_locked(files_ctx *f, bool force)
{
    if (!f->p->on_progress) return;
    int64_t now = cos_mono_ms();
    if (!force && f->last_ms && now - f->last_ms < f->interval_ms) return;
    f->last_ms = now;
    uint64_t loaded = 0, total = 0;
    for (size_t i = 0; i < f->p->file_count; i++) {
        loaded += f->slots[i].loaded;
        total += f->slots[i].total;
    }
    double el = cos_mono_sec() - f->t0;
    cos_progress pr = { loaded, total, el > 0 ? (double)loaded / el : 0, total ? (double)loaded / (double)total : 1.0 };
    f->p->on_progress(f->p->progress_user_data, &pr);
}

static void file_progress(void *ud, const cos_progress *pr)
{
    file_slot *s = ud;
    if (s->inner) s->inner(s->inner_ud, pr);
    pthread_mutex_lock(&s->f->m);
    s->loaded = pr->loaded;
    s->total = pr->total;
    files_progress_locked(s->f, false);
    pthread_mutex_unlock(&s->f->m);
}

static void file_done(void *ud, cos_task_id id, int rc, cos_transfer_result *res, cos_error *err)
{
    (void)id;
    file_slot *s = ud;
    files_ctx *f = s->f;
    if (f->p->on_file_done) f->p->on_file_done(f->p->file_done_user_data, s->index, rc, res, err);
    pthread_mutex_lock(&f->m);
    if (rc == 0 && res) s->loaded = s->total = res->size;
    if (rc && !f->first_rc) {
        f->first_rc = rc;
        f->first_err = err;
        err = NULL;
    }
    /* the caller waits for the last one only: a wake-up per file cost it a
       context switch per file (and the runner a futex wake) for nothing */
    if (--f->left == 0) pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->m);
    cos_transfer_result_free(res);
    cos_error_free(err);
}

static const size_t UPLOAD_FILES_PARAMS_SIZES[] = { [COS_UPLOAD_FILES_PARAMS_VERSION] = sizeof(cos_upload_files_params) };

int cos_upload_files(cos_client *c, const cos_upload_files_params *params, cos_error **err)
{
    cos_err_reset(err);
    cos_upload_files_params pv;
    if (COS_OPTIONS_IN(&pv, params, "cos_upload_files_params", "COS_UPLOAD_FILES_PARAMS_INIT",
                       UPLOAD_FILES_PARAMS_SIZES, err))
        return COS_ERR_INVALID_ARG;
    const cos_upload_files_params *p = &pv;
    if (!p->files && p->file_count) return cos_err_invalid(err, "files", "no files");
    files_ctx f = { p, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, p->file_count, 0, NULL, NULL, cos_mono_sec(), 0 };
    f.interval_ms = c ? c->cfg.progress_interval_ms : 1000;
    f.slots = calloc(p->file_count + 1, sizeof *f.slots);
    if (!f.slots) return cos_err_set(err, COS_ERR_NOMEM, "out of memory");
    /* counted as a synchronous transfer: a client freed by a callback it runs
       (the task-list one, on this thread) is freed once this returns */
    cos_tasks *mg = c ? tasks_of(c) : NULL;
    if (mg) {
        pthread_mutex_lock(&mg->m);
        mg->driving++;
        pthread_mutex_unlock(&mg->m);
    }
    for (size_t i = 0; i < p->file_count; i++) {
        file_slot *s = &f.slots[i];
        s->f = &f;
        s->index = i;
        s->inner = p->files[i].on_progress;
        s->inner_ud = p->files[i].progress_user_data;
        struct stat st; /* the sizes only for the progress of all files together: a pass over them all otherwise for nothing */
        if (p->on_progress && p->files[i].file_path && stat(p->files[i].file_path, &st) == 0) s->total = (uint64_t)st.st_size;
    }
    for (size_t i = 0; i < p->file_count; i++) {
        cos_transfer_params fp = p->files[i];
        fp.on_progress = file_progress;
        fp.progress_user_data = &f.slots[i];
        cos_error *why = NULL;
        int rc = start_task(c, COS_TASK_UPLOAD, false, &fp, file_done, &f.slots[i], false, NULL, NULL, &why);
        if (rc) {
            if (why) { /* the field as the single-file form names it, and which file */
                char *m = cos_sprintf("file %zu: %s", i, why->message ? why->message : "invalid parameters");
                if (m) {
                    free(why->message);
                    why->message = m;
                }
            }
            if (p->on_file_done) p->on_file_done(p->file_done_user_data, i, rc, NULL, why);
            pthread_mutex_lock(&f.m);
            f.left--;
            if (!f.first_rc) {
                f.first_rc = rc;
                f.first_err = why;
                why = NULL;
            }
            pthread_mutex_unlock(&f.m);
            cos_error_free(why);
        }
    }
    int lent = 0;
    if (mg) {
        pthread_mutex_lock(&mg->m);
        lent = slots_lend_locked(mg);
        pthread_mutex_unlock(&mg->m);
    }
    workers_block_begin();
    bool stood_in = mg ? runner_wait_begin(mg) : false;
    pthread_mutex_lock(&f.m);
    while (f.left) pthread_cond_wait(&f.cv, &f.m);
    files_progress_locked(&f, true); /* the last word: every file accounted for */
    pthread_mutex_unlock(&f.m);
    if (stood_in) runner_wait_end(mg, stood_in);
    workers_block_end();
    free(f.slots);
    if (f.first_rc && err) {
        cos_error_free(*err);
        *err = f.first_err;
    } else {
        cos_error_free(f.first_err);
    }
    int rc = f.first_rc;
    if (mg) { /* the last touch of the client */
        pthread_mutex_lock(&mg->m);
        slots_return_locked(mg, lent);
        mg->driving--;
        pthread_cond_broadcast(&mg->cv);
        pthread_mutex_unlock(&mg->m);
    }
    return rc;
}

/* ------------------------------------------------------------------ the task queue */

int cos_task_list(cos_client *c, cos_task_info **out, size_t *count)
{
    if (out) *out = NULL;
    if (count) *count = 0;
    if (!c || !out || !count) return COS_ERR_INVALID_ARG; /* (a NULL out crashed) */
    cos_tasks *mg = tasks_of(c);
    pthread_mutex_lock(&mg->m);
    size_t n = 0;
    for (task *t = mg->head; t; t = t->next) n++;
    cos_task_info *l = calloc(n ? n : 1, sizeof *l);
    size_t i = 0;
    for (task *t = mg->head; t && l; t = t->next, i++) {
        l[i].id = t->id;
        l[i].kind = t->kind;
        l[i].state = t->state;
        l[i].bucket = cos_strdup(t->bucket);
        l[i].key = cos_strdup(t->key);
        l[i].file_path = cos_strdup(t->file_path);
        l[i].loaded = t->loaded;
        l[i].total = t->total;
        double el = cos_mono_sec() - t->t0;
        l[i].speed = el > 0 && t->t0 > 0 ? (double)t->loaded / el : 0;
        l[i].percent = t->total ? (double)t->loaded / (double)t->total : 0;
        l[i].error_message = t->err ? cos_strdup(t->err->message) : NULL;
    }
    pthread_mutex_unlock(&mg->m);
    *out = l;
    *count = n;
    return l ? 0 : COS_ERR_NOMEM;
}

void cos_task_list_free(cos_task_info *l, size_t n)
{
    for (size_t i = 0; l && i < n; i++) {
        free((char *)l[i].bucket);
        free((char *)l[i].key);
        free((char *)l[i].file_path);
        free((char *)l[i].error_message);
    }
    free(l);
}

static int task_signal(cos_client *c, cos_task_id id, int what, cos_error **err)
{
    if (!c) return cos_err_invalid(err, "client", "NULL client");
    cos_tasks *mg = tasks_of(c);
    pthread_mutex_lock(&mg->m);
    task *t = find_task(mg, id);
    int rc = 0;
    bool changed = false;
    if (!t) {
        rc = cos_err_invalid(err, "id", "no task %llu", (unsigned long long)id);
    } else if (what == 1 && t->finished && t->state == COS_TASK_ERROR && !t->owned) {
        /* restart a failed task (restartTask): it resumes where it stopped */
        cos_error_free(t->err);
        t->err = NULL;
        t->rc = 0;
        t->finished = false;
        t->waited = false;
        if (t->trim_counted) mg->trimmable--;
        t->trim_counted = false;
        t->pause_req = t->abort_io = 0;
        t->state = COS_TASK_WAITING;
        if (t->parts)
            for (size_t i = 0; i < t->nparts; i++) t->parts[i].attempts = 0;
        changed = true;
    } else if (t->finished) {
        rc = cos_err_invalid(err, "id", "task %llu is %s", (unsigned long long)id, cos_task_state_name(t->state));
    } else if (what == 0) {
        t->pause_req = 1;
        t->abort_io = 1; /* requests in flight stop now; their parts run again on restart */
        if (t->state == COS_TASK_WAITING) { /* not started: paused at once */
            t->state = COS_TASK_PAUSED;
            changed = true;
        }
    } else if (what == 1) {
        if (!t->cancel_req) {
            t->pause_req = 0;
            t->abort_io = 0;
            if (t->state == COS_TASK_PAUSED && !t->owned) {
                t->state = COS_TASK_WAITING;
                changed = true;
            }
            /* a part paused in its back-off goes at once: the user asked for it now (it waited the back-off out).
               Not here: a thread running the task may be cutting its parts anew (make_parts frees them) */
            t->skip_backoff = true;
        }
    } else {
        t->cancel_req = 1;
        t->abort_io = 1;
    }
    if (t) {
        mark_runnable(mg, t);
        maybe_spawn_runner(mg);
    }
    pthread_cond_broadcast(&mg->cv);
    pthread_mutex_unlock(&mg->m);
    if (changed) notify_change(mg);
    return rc;
}

int cos_task_pause(cos_client *c, cos_task_id id, cos_error **err) { cos_err_reset(err); return task_signal(c, id, 0, err); }
int cos_task_restart(cos_client *c, cos_task_id id, cos_error **err) { cos_err_reset(err); return task_signal(c, id, 1, err); }
int cos_task_cancel(cos_client *c, cos_task_id id, cos_error **err) { cos_err_reset(err); return task_signal(c, id, 2, err); }

void cos_set_task_list_callback(cos_client *c, cos_task_list_fn fn, void *ud)
{
    if (!c) return;
    cos_tasks *mg = tasks_of(c);
    pthread_mutex_lock(&mg->m);
    mg->on_change = fn;
    mg->on_change_ud = ud;
    atomic_store_explicit(&mg->has_cb, mg->on_change || mg->on_start, memory_order_release);
    cb_wait_others(mg);
    pthread_mutex_unlock(&mg->m);
}

const char *cos_task_state_name(cos_task_state s)
{
    static const char *const N[] = { "waiting", "checking", "uploading", "paused", "canceled", "error", "success" };
    return (unsigned)s < sizeof N / sizeof N[0] ? N[s] : "unknown";
}

void cos_transfer_result_free(cos_transfer_result *r)
{
    if (!r) return;
    free(r->etag);
    free(r->location);
    free(r->version_id);
    free(r->request_id);
    free(r->upload_id);
    free(r);
}

/* ------------------------------------------------------------------ onTaskStart, isUploadRunning, abortUploadTask */

void cos_set_task_start_callback(cos_client *c, cos_task_start_fn fn, void *ud)
{
    if (!c) return;
    cos_tasks *mg = tasks_of(c);
    pthread_mutex_lock(&mg->m);
    mg->on_start = fn;
    mg->on_start_ud = ud;
    atomic_store_explicit(&mg->has_cb, mg->on_change || mg->on_start, memory_order_release);
    cb_wait_others(mg);
    pthread_mutex_unlock(&mg->m);
}

bool cos_is_upload_running(cos_client *c)
{
    if (!c) return false;
    cos_tasks *mg = tasks_of(c);
    bool running = false;
    pthread_mutex_lock(&mg->m);
    for (task *t = mg->head; t && !running; t = t->next)
        running = !t->finished && (t->state == COS_TASK_WAITING || t->state == COS_TASK_CHECKING ||
                                   t->state == COS_TASK_RUNNING);
    pthread_mutex_unlock(&mg->m);
    return running;
}

static void abort_add(cos_abort_result *r, const char *key, const char *upload_id)
{
    cos_aborted_upload *n = realloc(r->uploads, (r->count + 1) * sizeof *n);
    if (!n) return;
    r->uploads = n;
    memset(&n[r->count], 0, sizeof n[r->count]);
    n[r->count].key = cos_strdup(key);
    n[r->count].upload_id = cos_strdup(upload_id);
    r->count++;
}

static const size_t ABORT_PARAMS_SIZES[] = { [COS_ABORT_PARAMS_VERSION] = sizeof(cos_abort_params) };

int cos_abort_upload_task(cos_client *c, const cos_abort_params *params, cos_abort_result **out, cos_error **err)
{
    cos_err_reset(err);
    if (out) *out = NULL;
    if (!c) return cos_err_invalid(err, "client", "NULL client");
    cos_abort_params pv;
    if (COS_OPTIONS_IN(&pv, params, "cos_abort_params", "COS_ABORT_PARAMS_INIT", ABORT_PARAMS_SIZES, err))
        return COS_ERR_INVALID_ARG;
    const cos_abort_params *p = &pv;
    int brc = cos_check_bucket(p->bucket, c->cfg.signer == COS_SIGNER_SIGV4, err);
    if (brc) return brc;
    if (p->level != COS_ABORT_BUCKET && cos_str_empty(p->key))
        return cos_err_invalid(err, "key", "abortUploadTask needs a key at this level");
    if (p->level == COS_ABORT_TASK && cos_str_empty(p->upload_id))
        return cos_err_invalid(err, "upload_id", "abortUploadTask needs an UploadId at the task level");
    if (p->level > COS_ABORT_BUCKET) return cos_err_invalid(err, "level", "unknown level %d", (int)p->level);
    cos_abort_result *r = calloc(1, sizeof *r);
    if (!r) return cos_err_set(err, COS_ERR_NOMEM, "out of memory");
    if (p->level == COS_ABORT_TASK) {
        abort_add(r, p->key, p->upload_id);
    } else { /* every upload listed (of the key, or of the bucket) */
        char *key_marker = NULL, *id_marker = NULL;
        for (;;) {
            cos_request q = COS_REQUEST_INIT;
            q.bucket = p->bucket;
            q.region = p->region;
            q.prefix = p->level == COS_ABORT_FILE ? p->key : NULL;
            q.key_marker = key_marker;
            q.upload_id_marker = id_marker;
            cos_result *res = NULL;
            int rc = cos_multipart_list(c, &q, &res, err);
            free(key_marker);
            free(id_marker);
            key_marker = id_marker = NULL;
            if (rc) {
                cos_abort_result_free(r);
                return rc;
            }
            cos_list_multipart_uploads_result *l = res->output.list_uploads;
            for (size_t i = 0; l && i < l->uploads_count; i++) {
                if (p->level == COS_ABORT_FILE && (!l->uploads[i].key || strcmp(l->uploads[i].key, p->key) != 0)) continue;
                abort_add(r, l->uploads[i].key, l->uploads[i].upload_id);
            }
            bool more = l && l->is_truncated && l->next_key_marker && *l->next_key_marker;
            if (more) {
                key_marker = cos_strdup(l->next_key_marker);
                id_marker = cos_strdup(l->next_upload_id_marker);
            }
            cos_result_free(res);
            if (!more) break;
        }
    }
    /* tasks of this client uploading to one of them are canceled first, so
       they do not go on sending parts to an aborted upload */
    cos_tasks *mg = tasks_of(c);
    pthread_mutex_lock(&mg->m);
    for (task *t = mg->head; t; t = t->next) {
        if (t->finished || t->kind != COS_TASK_UPLOAD || !t->upload_id || strcmp(t->bucket, p->bucket) != 0) continue;
        for (size_t i = 0; i < r->count; i++)
            if (r->uploads[i].upload_id && !strcmp(r->uploads[i].upload_id, t->upload_id)) {
                t->cancel_req = 1;
                t->abort_io = 1;
                mark_runnable(mg, t);
            }
    }
    maybe_spawn_runner(mg);
    pthread_cond_broadcast(&mg->cv);
    pthread_mutex_unlock(&mg->m);
    for (size_t i = 0; i < r->count; i++) {
        cos_request a = COS_REQUEST_INIT;
        a.bucket = p->bucket;
        a.region = p->region;
        a.key = r->uploads[i].key;
        a.upload_id = r->uploads[i].upload_id;
        cos_result *res = NULL;
        cos_error *e = NULL;
        r->uploads[i].rc = cos_multipart_abort(c, &a, &res, &e);
        if (r->uploads[i].rc) {
            r->failed++;
            r->uploads[i].error_message = cos_strdup(e ? cos_error_message(e) : "abort failed");
        }
        cos_result_free(res);
        cos_error_free(e);
    }
    if (out) *out = r;
    else cos_abort_result_free(r);
    return 0;
}

void cos_abort_result_free(cos_abort_result *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->count; i++) {
        free(r->uploads[i].key);
        free(r->uploads[i].upload_id);
        free(r->uploads[i].error_message);
    }
    free(r->uploads);
    free(r);
}

/*
 * store.c — cos-server's storage: metadata in SQLite (WAL), object and part
 * data in immutable files named by random ids (keys never become paths).
 * A write goes to a temp file, is renamed into place (a large one while it
 * still arrives, see stage_place) and fsynced with its directory, and only
 * then committed in one transaction; the replaced file is unlinked after the
 * commit. A crash at any point leaves the old object or the new one.
 * Bodies up to INLINE_MAX skip the file: they are a row of the blobs table,
 * committed with the object row that names them (a PUT), or before it.
 *
 * Concurrency: every call borrows a connection of its own from a pool, so
 * reads and listings run side by side on WAL snapshots and never wait for a
 * writer. Write transactions take `wlock` for their duration only: SQLite
 * admits one writer anyway, and a mutex hands the turn over at once where
 * its busy handler would poll with sleeps. The busy timeout still covers
 * other processes (and the checkpointer) holding the database.
 *
 * Failures: a statement or commit that fails returns STORE_BUSY (locked past
 * the busy timeout) or STORE_FAILED (full disk, read-only, I/O), never a
 * value a caller could take for "absent", and the transaction is rolled back.
 */
#define _GNU_SOURCE
#include "server.h"
#include "xml.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <sys/file.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#ifdef __linux__
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#endif

struct store {
    char *root;
    char *db_path;
    int busy_ms;
    bool no_fsync;          /* --no-fsync */
    bool no_direct;         /* --no-direct-io */
    pthread_mutex_t pool_m; /* guards the idle connections */
    sqlite3 **idle;
    size_t nidle, cap;
    pthread_mutex_t wlock;  /* held by the one write transaction of this process */
    sqlite3 *wdb;           /* the connection every write transaction runs on (see tx_begin) */
    int wal_fd;             /* the log, for the fdatasync of group commit (see wal_sync) */
    atomic_uint_fast64_t rows_visited; /* object rows read by listings (tests check O(page)) */
    /* WAL checkpoints on their own thread and connection (see wal_hook) */
    sqlite3 *ckpt_db;
    pthread_t ckpt_thread;
    bool ckpt_running;
    pthread_mutex_t ckpt_m;
    pthread_cond_t ckpt_cv;
    bool ckpt_wanted, ckpt_stop;
    bool ckpt_running_now;  /* a checkpoint is under way (the thread's or a commit's) */
    _Atomic int ckpt_next;  /* the log's size in pages at which a commit next asks (see wal_hook) */
    _Atomic int wal_pages_now;         /* the log's size after the last commit */
    _Atomic uint64_t wal_pages;        /* pages appended to the log so far */
    _Atomic uint64_t ckpt_asks;        /* commits that asked the checkpointer for a pass */
    _Atomic uint64_t ckpt_passes;      /* checkpoint passes so far */
    /* group commit (see durable_wait): commits counted under wlock, made durable by one WAL fsync for many */
    _Atomic uint64_t commits; /* commits made so far (counted under wlock) */
    _Atomic uint64_t synced;  /* of those, on disk (advanced by the syncing thread, under sync_m) */
    _Atomic bool sync_broken; /* an fsync failed: no later commit can be promised durable */
    pthread_mutex_t sync_m;   /* guards syncing and waiters */
    bool syncing;             /* a thread is fsyncing the WAL for the others, or has been handed the turn */
    struct sync_waiter *waiters; /* threads asleep until a sync covers their commit */
    _Atomic uint64_t sync_sleeps, sync_wakeups; /* durable_wait calls that slept, and returns from those sleeps (tests) */
    /* small PUTs and DELETEs gathered into one write transaction (see write_batched) */
    pthread_mutex_t batch_m;          /* guards batch_head/tail and batch_leader */
    struct put_job *batch_head, *batch_tail; /* writes waiting for a leader to run them */
    bool batch_leader;                /* a thread is running a batch, or has been handed the turn */
    _Atomic uint64_t batch_jobs, batch_commits; /* writes run in batches, and the transactions they took (tests) */
    /* buckets' rows and configurations as requests last read them (see memo_load) */
    _Atomic uint64_t meta_gen;   /* advanced by every write transaction that touched buckets or configs */
    _Atomic uint64_t meta_reads; /* snapshots read from the database (store_meta_reads) */
    bool meta_touched;           /* the open write transaction did (meta_hook; under wlock) */
    pthread_mutex_t snap_m;      /* guards snaps */
    struct bucket_snap *snaps[64];
#ifndef __linux__
    pthread_cond_t sync_cv;   /* the waiters' sleep where there is no futex */
    pthread_cond_t batch_cv;  /* the batched PUTs' sleep where there is no futex */
#endif
    _Atomic bool left_unnamed; /* a body no row names could not be removed: the next start looks (remove_unnamed) */
    int root_fd;               /* the root, flock'ed for the store's life: one process per root */
    bool read_only;            /* meta.db on a read-only file system: read without locks (conn_open) */
    /* data/'s subdirectories (named by a body id's first two characters) whose
       names this process has made durable in data/ (see data_dir_ready) */
    _Atomic uint32_t dir_synced[65536 / 32];
    uint32_t dir_syncing[65536 / 32]; /* being made durable by one body; the others wait (under dir_m) */
    pthread_mutex_t dir_m;
    pthread_cond_t dir_cv;
};

/* The last failure's SQLite message, per thread, for the error answer. */
static _Thread_local char last_error[160];
const char *store_last_error(void) { return last_error; }

/* A failed SQLite call as a store result; remembers its message. */
static int sql_fail(sqlite3 *db, int rc)
{
    snprintf(last_error, sizeof last_error, "%s", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    int primary = rc & 0xff;
    return primary == SQLITE_BUSY || primary == SQLITE_LOCKED ? STORE_BUSY : STORE_FAILED;
}

/* SQLite checkpoints the WAL inside the commit that crosses 1,000 pages, and
 * that fsyncs the database while the writer waits: with small objects in the
 * WAL that was every ~250 PUTs, stalling all writes behind one disk flush.
 * Commits only ask; a second connection copies the pages back meanwhile.
 * A pass that began while commits kept coming has not caught up with the
 * log, which then cannot start over: asking again at every commit past
 * CKPT_PAGES made one pass (page copies and a database fsync) per ~8 pages
 * of log, 80-110 per 2,000 small PUTs, and under a steady load the log grew
 * to CKPT_PAGES_MAX all the same. Now commits ask again only once the log
 * has grown by CKPT_STEP since the last ask, and a pass that left at most
 * CKPT_CHASE pages behind is followed by one that holds the write lock: no
 * commit comes in meanwhile, so it catches up and the next write starts the
 * log over. About two passes per CKPT_PAGES of log; CKPT_PAGES_MAX still
 * bounds it when readers keep a pass from catching up. */
enum { CKPT_PAGES = 1000, CKPT_STEP = 500, CKPT_CHASE = 250, CKPT_PAGES_MAX = 4000 };

/* One checkpoint pass, counted (store_wal_stats); the log's size and the
 * pages in it now copied back, for the caller (-1 on failure). */
static void ckpt_pass(store *s, sqlite3 *db, const char *name, int mode, int *log, int *done)
{
    int rc = sqlite3_wal_checkpoint_v2(db, name, mode, log, done);
    if (rc != SQLITE_OK) *log = *done = -1;
    atomic_fetch_add_explicit(&s->ckpt_passes, 1, memory_order_relaxed);
}

static int wal_hook(void *ud, sqlite3 *db, const char *name, int pages)
{
    store *s = ud;
    /* pages: the log's size after this commit; smaller than before once it started over */
    int last = atomic_exchange_explicit(&s->wal_pages_now, pages, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->wal_pages, (uint64_t)(pages >= last ? pages - last : pages), memory_order_relaxed);
    if (pages < CKPT_PAGES) {
        if (atomic_load_explicit(&s->ckpt_next, memory_order_relaxed) != CKPT_PAGES)
            atomic_store_explicit(&s->ckpt_next, CKPT_PAGES, memory_order_relaxed);
        return SQLITE_OK;
    }
    /* The log restarts only once a checkpoint has caught up with it; under a
     * steady stream of writes the thread may never quite do so, so past
     * CKPT_PAGES_MAX (16 MB) this commit catches up itself, as SQLite would. */
    if (pages >= CKPT_PAGES_MAX) {
        /* A checkpoint fails at once (no busy handler) while another runs:
           wait for the thread's to end and keep it from starting another.
           RESTART copies all, then waits for readers to leave the log, so
           the next write starts it over. */
        pthread_mutex_lock(&s->ckpt_m);
        while (s->ckpt_running_now) pthread_cond_wait(&s->ckpt_cv, &s->ckpt_m);
        s->ckpt_running_now = true;
        pthread_mutex_unlock(&s->ckpt_m);
        int log, done;
        ckpt_pass(s, db, name, SQLITE_CHECKPOINT_RESTART, &log, &done);
        pthread_mutex_lock(&s->ckpt_m);
        s->ckpt_running_now = false;
        pthread_cond_broadcast(&s->ckpt_cv);
        pthread_mutex_unlock(&s->ckpt_m);
        return SQLITE_OK;
    }
    if (pages < atomic_load_explicit(&s->ckpt_next, memory_order_relaxed)) return SQLITE_OK;
    atomic_store_explicit(&s->ckpt_next, pages + CKPT_STEP, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->ckpt_asks, 1, memory_order_relaxed);
    pthread_mutex_lock(&s->ckpt_m);
    s->ckpt_wanted = true;
    pthread_cond_broadcast(&s->ckpt_cv);
    pthread_mutex_unlock(&s->ckpt_m);
    return SQLITE_OK;
}

/* Sets ckpt_running_now for a pass of the thread's; false if one is under
 * way (then the pass is skipped). */
static bool ckpt_claim(store *s)
{
    pthread_mutex_lock(&s->ckpt_m);
    bool mine = !s->ckpt_running_now;
    s->ckpt_running_now = true;
    pthread_mutex_unlock(&s->ckpt_m);
    return mine;
}

static void ckpt_release(store *s)
{
    pthread_mutex_lock(&s->ckpt_m);
    s->ckpt_running_now = false;
    pthread_cond_broadcast(&s->ckpt_cv);
    pthread_mutex_unlock(&s->ckpt_m);
}

static void *checkpointer_main(void *arg)
{
    store *s = arg;
    pthread_mutex_lock(&s->ckpt_m);
    while (!s->ckpt_stop) {
        if (!s->ckpt_wanted || s->ckpt_running_now) {
            pthread_cond_wait(&s->ckpt_cv, &s->ckpt_m);
            continue;
        }
        s->ckpt_wanted = false;
        s->ckpt_running_now = true;
        pthread_mutex_unlock(&s->ckpt_m);
        int log, done;
        ckpt_pass(s, s->ckpt_db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
        ckpt_release(s);
        /* log is the log's size when the pass began: commits since then
           have grown it (or it started over, smaller than done) */
        int now = atomic_load_explicit(&s->wal_pages_now, memory_order_relaxed);
        if (done >= 0 && now > done && now - done <= CKPT_CHASE) {
            /* The rest, with no commit coming in: writes wait for a short copy
               and the database's fsync. wlock before ckpt_m (as commits take
               them), and never while holding ckpt_running_now: a commit past
               CKPT_PAGES_MAX waits for that flag with wlock held. */
            pthread_mutex_lock(&s->wlock);
            if (ckpt_claim(s)) {
                ckpt_pass(s, s->ckpt_db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
                ckpt_release(s);
            }
            pthread_mutex_unlock(&s->wlock);
        }
        pthread_mutex_lock(&s->ckpt_m);
    }
    pthread_mutex_unlock(&s->ckpt_m);
    return NULL;
}

/* 0, or -1 to leave checkpoints to SQLite's own automatic ones. */
static int checkpointer_start(store *s)
{
    if (sqlite3_open(s->db_path, &s->ckpt_db) != SQLITE_OK) return -1;
    sqlite3_busy_timeout(s->ckpt_db, 10000);
    /* a connection opens the file (and learns it is in WAL mode) on its first read */
    if (sqlite3_exec(s->ckpt_db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) != SQLITE_OK) return -1;
    if (pthread_create(&s->ckpt_thread, NULL, checkpointer_main, s) != 0) return -1;
    s->ckpt_running = true;
    return 0;
}

void store_set_fsync(store *s, bool on) { s->no_fsync = !on; }
bool store_durability_lost(store *s) { return s && atomic_load(&s->sync_broken); }
void store_set_direct(store *s, bool on) { s->no_direct = !on; }
void store_set_busy_timeout(store *s, int ms) { s->busy_ms = ms > 0 ? ms : 10000; }
uint64_t store_rows_visited(store *s) { return atomic_load(&s->rows_visited); }
uint64_t store_meta_reads(store *s) { return atomic_load(&s->meta_reads); }
void store_batch_stats(store *s, uint64_t *jobs, uint64_t *commits)
{
    *jobs = atomic_load(&s->batch_jobs);
    *commits = atomic_load(&s->batch_commits);
}
void store_sync_stats(store *s, uint64_t *sleeps, uint64_t *wakeups)
{
    *sleeps = atomic_load(&s->sync_sleeps);
    *wakeups = atomic_load(&s->sync_wakeups);
}
void store_wal_stats(store *s, uint64_t *pages, uint64_t *asks, uint64_t *passes)
{
    *pages = atomic_load(&s->wal_pages);
    *asks = atomic_load(&s->ckpt_asks);
    *passes = atomic_load(&s->ckpt_passes);
}

/* Keys are TEXT compared with the BINARY collation, i.e. memcmp: bytewise
 * order, which is COS's, so the primary key's index serves every listing
 * as it is. (Rows were never stored as BLOBs, which would sort after every
 * TEXT value: store_open checks, and converts any it finds.) */
static const char *SCHEMA_SQL =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE IF NOT EXISTS buckets(name TEXT PRIMARY KEY, region TEXT, created INTEGER, acl TEXT);"
    "CREATE TABLE IF NOT EXISTS configs(bucket TEXT, kind TEXT, body BLOB, PRIMARY KEY(bucket, kind));"
    "CREATE TABLE IF NOT EXISTS objects(bucket TEXT, key BLOB, size INTEGER, etag TEXT, crc64 TEXT,"
    " mtime INTEGER, headers TEXT, storage_class TEXT, acl TEXT, tagging TEXT, data_id TEXT,"
    " PRIMARY KEY(bucket, key));"
    "CREATE TABLE IF NOT EXISTS uploads(upload_id TEXT PRIMARY KEY, bucket TEXT, key BLOB, initiated INTEGER, headers TEXT);"
    "CREATE TABLE IF NOT EXISTS parts(upload_id TEXT, number INTEGER, size INTEGER, etag TEXT, crc64 TEXT,"
    " data_id TEXT, mtime INTEGER, PRIMARY KEY(upload_id, number));"
    "CREATE TABLE IF NOT EXISTS blobs(id TEXT PRIMARY KEY, body BLOB);"
    /* object versions (#18): older versions and delete markers; the current one stays in objects */
    "CREATE TABLE IF NOT EXISTS versions(bucket TEXT, key BLOB, size INTEGER, etag TEXT, crc64 TEXT,"
    " mtime INTEGER, headers TEXT, storage_class TEXT, acl TEXT, tagging TEXT, data_id TEXT, version_id TEXT,"
    " marker INTEGER, PRIMARY KEY(bucket, key, version_id));";

/* Version 1: uploads are listed by (bucket, key) through an index; any key
 * stored with another type than TEXT is made TEXT (same bytes). Run once. */
static const char *MIGRATE_1_SQL =
    "BEGIN IMMEDIATE;"
    "CREATE INDEX IF NOT EXISTS uploads_by_key ON uploads(bucket, key, initiated);"
    "UPDATE objects SET key = CAST(key AS TEXT) WHERE typeof(key) <> 'text';"
    "UPDATE uploads SET key = CAST(key AS TEXT) WHERE typeof(key) <> 'text';"
    "PRAGMA user_version = 1;"
    "COMMIT;";

const char *store_root(store *s) { return s->root; }

/* The kernel's random bytes, fetched a page at a time per thread: a
 * request id and a data id each cost a getrandom call per request. Bytes
 * handed out are wiped from the pool, never handed out twice. */
void server_random(void *out, size_t n)
{
    static _Thread_local unsigned char pool[4096];
    static _Thread_local size_t left;
    unsigned char *o = out;
    while (n) {
        if (!left) {
            if (getrandom(pool, sizeof pool, 0) != (ssize_t)sizeof pool)
                for (size_t i = 0; i < sizeof pool; i++) pool[i] = (unsigned char)rand();
            left = sizeof pool;
        }
        size_t k = n < left ? n : left;
        unsigned char *p = pool + sizeof pool - left;
        memcpy(o, p, k);
        memset(p, 0, k);
        o += k;
        n -= k;
        left -= k;
    }
}

static void random_hex(char *out, size_t bytes)
{
    unsigned char b[32];
    if (bytes > sizeof b) bytes = sizeof b;
    server_random(b, bytes);
    cos_hex_encode(b, bytes, out);
}

/* Bodies whose writes a crash interrupted: never committed, so never named by a row. */
static void remove_leftovers(const char *tmp_dir)
{
    DIR *d = opendir(tmp_dir);
    if (!d) return;
    int dfd = dirfd(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (e->d_name[0] != '.') (void)unlinkat(dfd, e->d_name, 0);
    closedir(d);
}

/* A body is renamed into data/ before the row naming it commits, and a body
 * replaced or deleted is removed only after the commit that stops naming it:
 * a crash in between leaves a file (or a blobs row) that no row names, never
 * a row without its data. Nothing else would ever remove those, so every
 * crash leaked the bodies in flight. A start that does not follow a clean
 * close (CLEAN_MARK, left by store_close) removes them before the first
 * request, as tmp/ is emptied (one process per root); a clean start skips
 * the pass, which reads every row. Anything that cannot be read whole
 * (a manifest, a query) stops it with nothing removed. */
#define CLEAN_MARK "closed-cleanly"
static int read_manifest(store *s, const char *id, char ***ids, uint64_t **sizes, size_t *n);

static void remove_unnamed(store *s, sqlite3 *db)
{
    if (sqlite3_exec(db, "CREATE TEMP TABLE named(id TEXT PRIMARY KEY);"
                         "INSERT OR IGNORE INTO named SELECT data_id FROM objects WHERE data_id <> '';"
                         "INSERT OR IGNORE INTO named SELECT data_id FROM versions WHERE data_id <> '';"
                         "INSERT OR IGNORE INTO named SELECT data_id FROM parts WHERE data_id <> '';",
                     NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_exec(db, "DROP TABLE IF EXISTS temp.named", NULL, NULL, NULL);
        return;
    }
    struct { char **ids; size_t n; } manifests = { NULL, 0 };
    sqlite3_stmt *st = NULL, *add = NULL, *has = NULL;
    bool whole = sqlite3_prepare_v2(db, "SELECT id FROM named WHERE id >= 'M' AND id < 'N'", -1, &st, NULL) == SQLITE_OK &&
                 sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO named(id) VALUES(?1)", -1, &add, NULL) == SQLITE_OK &&
                 sqlite3_prepare_v2(db, "SELECT 1 FROM named WHERE id = ?1", -1, &has, NULL) == SQLITE_OK;
    int rc = SQLITE_DONE;
    while (whole && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        char **more = realloc(manifests.ids, (manifests.n + 1) * sizeof *more);
        if (!more || !(more[manifests.n] = cos_strdup((const char *)sqlite3_column_text(st, 0)))) whole = false;
        if (more) manifests.ids = more;
        if (whole) manifests.n++;
    }
    if (whole && rc != SQLITE_DONE) whole = false;
    for (size_t i = 0; whole && i < manifests.n; i++) { /* a manifest's segments are named through it */
        char **segs;
        uint64_t *sizes;
        size_t n;
        if (read_manifest(s, manifests.ids[i], &segs, &sizes, &n) != 0) {
            whole = false;
            fprintf(stderr, "cos-server: manifest %s cannot be read: data no row names is kept\n", manifests.ids[i]);
        } else {
            for (size_t k = 0; k < n; k++) {
                sqlite3_reset(add);
                sqlite3_bind_text(add, 1, segs[k], -1, SQLITE_TRANSIENT);
                if (sqlite3_step(add) != SQLITE_DONE) whole = false;
                free(segs[k]);
            }
            free(segs);
            free(sizes);
        }
    }
    char *dp = cos_sprintf("%s/data", s->root);
    DIR *d = whole ? opendir(dp) : NULL;
    size_t files = 0, blobs = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.' || strlen(e->d_name) != 2) continue;
        int sfd = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *sd = sfd >= 0 ? fdopendir(sfd) : NULL;
        if (!sd && sfd >= 0) close(sfd);
        for (struct dirent *f; sd && (f = readdir(sd)) != NULL;) {
            if (f->d_name[0] == '.' || strncmp(f->d_name, e->d_name, 2) != 0 || strlen(f->d_name) >= 40) continue;
            sqlite3_reset(has);
            sqlite3_bind_text(has, 1, f->d_name, -1, SQLITE_TRANSIENT);
            rc = sqlite3_step(has);
            if (rc == SQLITE_DONE && unlinkat(dirfd(sd), f->d_name, 0) == 0) files++;
        }
        if (sd) closedir(sd);
    }
    if (d) closedir(d);
    free(dp);
    if (whole && sqlite3_exec(db, "DELETE FROM blobs WHERE id NOT IN (SELECT id FROM named)", NULL, NULL, NULL) == SQLITE_OK)
        blobs = (size_t)sqlite3_changes(db);
    if (files || blobs)
        fprintf(stderr, "cos-server: removed %zu data files and %zu small bodies that no row names (left by a crash)\n",
                files, blobs);
    for (size_t i = 0; i < manifests.n; i++) free(manifests.ids[i]);
    free(manifests.ids);
    sqlite3_finalize(st);
    sqlite3_finalize(add);
    sqlite3_finalize(has);
    sqlite3_exec(db, "DROP TABLE IF EXISTS temp.named", NULL, NULL, NULL);
}

/* Whether data_dir (ROOT/data) holds any body: a file in one of its subdirectories. */
static bool data_present(const char *data_dir)
{
    DIR *d = opendir(data_dir);
    bool found = false;
    for (struct dirent *e; d && !found && (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.') continue;
        int sfd = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *sd = sfd >= 0 ? fdopendir(sfd) : NULL;
        if (!sd && sfd >= 0) close(sfd);
        for (struct dirent *f; sd && !found && (f = readdir(sd)) != NULL;) found = f->d_name[0] != '.';
        if (sd) closedir(sd);
    }
    if (d) closedir(d);
    return found;
}

/* Whether the last close was clean; its mark is gone from now on (durably: a crash from here on must find it absent). */
static bool closed_cleanly(const char *root)
{
    char *mark = cos_sprintf("%s/" CLEAN_MARK, root);
    bool was = unlink(mark) == 0;
    free(mark);
    if (was) {
        int dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0 && fsync(dfd) != 0) was = false; /* the mark may come back: tidy now rather than never */
        if (dfd >= 0) close(dfd);
    }
    return was;
}

/* ---------------------------------------------------------------- connections */

/* Statements are prepared once per connection and kept: parsing and
 * planning every statement anew was a fifth of a small request's server CPU
 * (a GET ran seven). A connection's own list of statements is the cache: a
 * statement with the same text that is not running (not stepped since its
 * reset) is reused; another is prepared when a caller nests the same one. */
static sqlite3_stmt *stmt_get(sqlite3 *db, const char *sql, int *rc)
{
    for (sqlite3_stmt *p = sqlite3_next_stmt(db, NULL); p; p = sqlite3_next_stmt(db, p))
        if (!sqlite3_stmt_busy(p) && strcmp(sqlite3_sql(p), sql) == 0) {
            *rc = SQLITE_OK;
            return p;
        }
    sqlite3_stmt *st = NULL;
    *rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    return *rc == SQLITE_OK ? st : NULL;
}

/* Back into the cache: no read lock held, no pointer into the caller's strings kept. */
static void stmt_put(sqlite3_stmt *st)
{
    if (!st) return;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* One statement without arguments or rows (BEGIN, COMMIT, ROLLBACK), from the cache. */
static int stmt_run(sqlite3 *db, const char *sql)
{
    int rc;
    sqlite3_stmt *st = stmt_get(db, sql, &rc);
    if (!st) return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) rc = SQLITE_OK;
    else sqlite3_reset(st); /* the statement's error becomes the connection's (sqlite3_errmsg) */
    stmt_put(st);
    return rc;
}

static void conn_close(sqlite3 *db)
{
    if (!db) return;
    for (sqlite3_stmt *p; (p = sqlite3_next_stmt(db, NULL)) != NULL;) sqlite3_finalize(p);
    sqlite3_close(db);
}

static sqlite3 *conn_open(store *s)
{
    sqlite3 *db = NULL;
    /* one thread at a time per connection: SQLite's own mutexes are not needed */
    int rc = s->read_only ? sqlite3_open_v2(s->db_path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, "unix-none")
                          : sqlite3_open_v2(s->db_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    /* Read-only, the log's index cannot be shared through a -shm file that
       the store's VFS never makes (walvfs.c) and nothing can create: each
       connection builds its own from the log, in exclusive mode, which
       takes no lock here; nothing can write this file system meanwhile. */
    if (rc == SQLITE_OK && s->read_only) rc = sqlite3_exec(db, "PRAGMA locking_mode=EXCLUSIVE", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        sql_fail(db, rc);
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, s->busy_ms);
    /* synchronous is per connection; NORMAL in WAL: a commit survives kill -9, and
       durable_wait fsyncs the log before a write is acknowledged (group commit) */
    sqlite3_exec(db, "PRAGMA synchronous=NORMAL; PRAGMA cache_size=-8192;", NULL, NULL, NULL);
    /* Reads through a mapping of the database: each pooled connection kept its
       own copy of every page it read, so a GET of a small body (kept in the
       blobs table) mostly missed that cache: a pread, a malloc and fresh pages
       (~1.5 preads and page faults per GET). Mapped, every connection reads
       the kernel's one copy: server CPU per 4 KiB GET 150-170 -> 85-90 us.
       Writes still go through the log. The price is SQLite's: an I/O error
       reading a mapped page is a SIGBUS (a crash, which loses nothing
       acknowledged), not an error answer. 64-bit only (address space). */
    if (sizeof(void *) >= 8) sqlite3_exec(db, "PRAGMA mmap_size=1073741824;", NULL, NULL, NULL);
    if (s->ckpt_running) {
        sqlite3_exec(db, "PRAGMA wal_autocheckpoint=0", NULL, NULL, NULL);
        sqlite3_wal_hook(db, wal_hook, s);
    }
    return db;
}

/* A connection for this call: an idle one, or a new one. NULL on failure. */
static sqlite3 *conn_get(store *s)
{
    pthread_mutex_lock(&s->pool_m);
    sqlite3 *db = s->nidle ? s->idle[--s->nidle] : NULL;
    pthread_mutex_unlock(&s->pool_m);
    if (db) sqlite3_busy_timeout(db, s->busy_ms); /* it may have changed since the connection opened */
    return db ? db : conn_open(s);
}

static void conn_put(store *s, sqlite3 *db)
{
    if (!db || db == s->wdb) return; /* the writer's is never pooled: tx_begin lent it */
    pthread_mutex_lock(&s->pool_m);
    if (s->nidle == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        sqlite3 **p = realloc(s->idle, cap * sizeof *p);
        if (p) {
            s->idle = p;
            s->cap = cap;
        }
    }
    if (s->nidle < s->cap) {
        s->idle[s->nidle++] = db;
        db = NULL;
    }
    pthread_mutex_unlock(&s->pool_m);
    conn_close(db);
}

/* ---------------------------------------------------------- per-request memo
 * One request read its bucket's row three times and two or three of its
 * configurations (routing, authorization, CORS, the handler), each read a
 * transaction of its own (locks, a statement, a connection borrowed). While
 * a request is handled on a thread (store_memo_begin/end), the first of
 * them reads the bucket's row and all its configurations in one read
 * transaction, and the rest are answered from that. A write transaction
 * begun on the thread forgets them all, so a request always reads what it
 * wrote itself. What other requests commit meanwhile may be missed within
 * this one request, as it would have been had they committed a moment later.
 *
 * That read is shared between requests (bucket_snap): a snapshot is good
 * while s->meta_gen has not moved since before its read began, and every
 * write transaction that changes a bucket's row or a configuration moves
 * it once it has committed or rolled back (meta_hook, tx_finish). So a
 * request reuses the last one's read unless such a write ended in between,
 * and never sees less than a fresh read begun when it looked at meta_gen.
 * A small PUT or GET made that read transaction (locks, statements, and
 * pages read back whenever any write had committed) for every request. */
enum { MEMO_CONFIGS = 16 };
typedef struct memo_cfg { char *kind, *body; size_t len; } memo_cfg;
typedef struct bucket_snap {
    atomic_int refs;         /* the cache's and each request's holding it */
    uint64_t gen;            /* meta_gen before the read began */
    char *bucket;
    int bucket_rc;           /* 0: its row exists, -1: it does not */
    char *region, *acl;
    int64_t created;
    memo_cfg cfg[MEMO_CONFIGS];
    int ncfg;
    bool all;                /* cfg holds every configuration of the bucket */
} bucket_snap;
static _Thread_local struct {
    store *s;                /* on for this store; NULL: off */
    bucket_snap *snap;       /* the bucket remembered, if any (a reference) */
    bool want_body;          /* a GET: an object's row read brings its inline body along */
    char body_id[40];        /* the inline body read with the row, for data_open */
    unsigned char *body;
    size_t body_len;
} memo;

static void snap_release(bucket_snap *b)
{
    if (!b || atomic_fetch_sub(&b->refs, 1) != 1) return;
    free(b->bucket);
    free(b->region);
    free(b->acl);
    for (int i = 0; i < b->ncfg; i++) {
        free(b->cfg[i].kind);
        free(b->cfg[i].body);
    }
    free(b);
}

static void memo_forget(void)
{
    snap_release(memo.snap);
    memo.snap = NULL;
    free(memo.body);
    memo.body = NULL;
    memo.body_id[0] = '\0';
}

/* The update hook of the writer's connection: a row of buckets or configs changed. */
static void meta_hook(void *ud, int op, const char *db, const char *table, sqlite3_int64 rowid)
{
    (void)op;
    (void)db;
    (void)rowid;
    if (!strcmp(table, "buckets") || !strcmp(table, "configs")) ((store *)ud)->meta_touched = true;
}

void store_memo_begin(store *s)
{
    memo_forget();
    memo.s = s;
    memo.want_body = false;
}

void store_memo_end(void)
{
    memo_forget();
    memo.s = NULL;
    memo.want_body = false;
}

/* A request that has just taken a lock others change configurations under
 * (objlock.c's guard): its snapshot may be older than their changes. */
void store_memo_refresh(void)
{
    if (memo.s) memo_forget();
}

/* A GET's row and its small body in one statement of one read transaction
 * (two before, each with its locks), the same snapshot for both. */
void store_memo_want_body(void)
{
    if (memo.s) memo.want_body = true;
}

/* ------------------------------------------------------------ group commit
 * An acknowledged write is on disk before its answer. The connections run
 * WAL with synchronous=NORMAL, so a commit only write()s its frames to the
 * log; SQLite fsyncs the log before a checkpoint copies it into the database
 * and the database before the log is started over, so a frame is never
 * overwritten before it is durable elsewhere. What NORMAL leaves out, the
 * log's fsync at each commit, durable_wait does after the write lock is
 * released: one fdatasync of the log covers every commit made before it
 * began, so commits arriving together share it (synchronous=FULL does the
 * same fsync inside the commit, holding the lock, one per commit). The
 * frames of a commit follow those of every earlier one in the same file, so
 * a synced commit never depends on one that is not. */

/* fdatasync of the WAL (by the one thread that set syncing), through a
 * descriptor of our own: the writer's connection is another transaction's by
 * then. Opened once: SQLite removes or replaces the log only when the
 * database's last connection closes (it must take the database's EXCLUSIVE
 * lock, and every WAL connection holds SHARED for its life), and the
 * writer's stays open until store_close, so the path names this file for
 * as long as commits are made. (It was looked up again before every sync:
 * a stat and an fstat per fsync, two of the 16 system calls of a PUT made
 * one at a time.) No log yet: nothing written to it to sync. */
static int wal_sync(store *s)
{
    if (s->wal_fd < 0) {
        char path[4096];
        snprintf(path, sizeof path, "%s-wal", s->db_path);
        if ((s->wal_fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) return errno == ENOENT ? SQLITE_OK : SQLITE_IOERR_FSYNC;
    }
    return fdatasync(s->wal_fd) == 0 ? SQLITE_OK : SQLITE_IOERR_FSYNC;
}

/* Called with wlock held, right after a commit: its number in the order of commits. */
static uint64_t commit_counted(store *s)
{
    /* an atomic: the committer holds wlock, and a lock here would be contended by waking waiters */
    return atomic_fetch_add(&s->commits, 1) + 1;
}

/* A thread asleep in durable_wait: woken once a sync covers its commit (or
 * failed), or handed the next sync. Each sleeps on its own word, so a sync
 * wakes only the threads it covered and one to run the next: with one word
 * for all, every sleeper woke at the end of every sync, and those whose
 * commit came after its start (most, with 16 PUTs in flight) slept again. */
enum { W_ASLEEP, W_COVERED, W_TURN };
typedef struct sync_waiter {
    struct sync_waiter *next;
    uint64_t n;               /* the commit it waits for */
    _Atomic uint32_t state;   /* W_ASLEEP until the syncer changes it (under sync_m) */
} sync_waiter;

/* With sync_m held; returns without it, once w is no longer W_ASLEEP. */
static void waiter_sleep(store *s, sync_waiter *w)
{
    atomic_fetch_add_explicit(&s->sync_sleeps, 1, memory_order_relaxed);
#ifdef __linux__
    pthread_mutex_unlock(&s->sync_m);
    while (atomic_load(&w->state) == W_ASLEEP) {
        syscall(SYS_futex, &w->state, FUTEX_WAIT_PRIVATE, W_ASLEEP, NULL, NULL, 0);
        atomic_fetch_add_explicit(&s->sync_wakeups, 1, memory_order_relaxed);
    }
#else
    while (atomic_load(&w->state) == W_ASLEEP) {
        pthread_cond_wait(&s->sync_cv, &s->sync_m);
        atomic_fetch_add_explicit(&s->sync_wakeups, 1, memory_order_relaxed);
    }
    pthread_mutex_unlock(&s->sync_m);
#endif
}

/* w taken off the list (with sync_m held where there is no futex). The
 * sleeper may return as soon as the store is made (its stack frame gone): a
 * wake of that address then finds no sleeper, or one that re-checks its own
 * word. */
static void waiter_wake(sync_waiter *w, uint32_t state)
{
    atomic_store(&w->state, state);
#ifdef __linux__
    syscall(SYS_futex, &w->state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
#endif
}

/* Wakes the waiters of `covered` (linked by next) and `turn`, then lets go
 * of sync_m. With a futex the wakes come after the unlock: each is a system
 * call, and made under the lock they kept every commit arriving meanwhile
 * asleep on the lock itself (a futex wait and wake more per PUT with 16 in
 * flight). Where there is no futex the sleepers wait on sync_cv, whose
 * broadcast must come with the lock held. */
static void waiters_wake_unlock(store *s, sync_waiter *covered, sync_waiter *turn)
{
#ifdef __linux__
    pthread_mutex_unlock(&s->sync_m);
#endif
    if (turn) waiter_wake(turn, W_TURN); /* first: the next sync starts sooner */
    for (sync_waiter *w = covered, *after; w; w = after) {
        after = w->next; /* w is gone once woken */
        waiter_wake(w, W_COVERED);
    }
#ifndef __linux__
    pthread_cond_broadcast(&s->sync_cv);
    pthread_mutex_unlock(&s->sync_m);
#endif
}

/* Returns once commit n is on disk (0), or STORE_FAILED when the log's
 * fsync failed: after a failed fsync the kernel may have dropped the pages
 * it could not write, and every later frame chains to them (a checksum
 * over the ones before), so from then on nothing is promised durable.
 * One thread at a time (the one that set `syncing`, or was handed it)
 * fsyncs the log up to every commit counted when it began; the others
 * sleep on the list. When it ends, it wakes those it covered (all, if it
 * failed) and hands `syncing` to one of the rest, whose commit the next
 * sync covers, or clears it. */
static int durable_wait(store *s, uint64_t n)
{
    if (s->no_fsync) return 0;
    bool mine = false; /* this thread runs the next sync */
    pthread_mutex_lock(&s->sync_m);
    if (atomic_load(&s->synced) >= n || atomic_load(&s->sync_broken)) {
        pthread_mutex_unlock(&s->sync_m);
    } else if (!s->syncing) {
        s->syncing = mine = true;
        pthread_mutex_unlock(&s->sync_m);
    } else {
        sync_waiter w = { s->waiters, n, W_ASLEEP };
        s->waiters = &w;
        waiter_sleep(s, &w);
        mine = atomic_load(&w.state) == W_TURN;
    }
    if (mine) {
        /* their frames are written: their commits have returned (n among them) */
        uint64_t upto = atomic_load(&s->commits);
        bool ok = wal_sync(s) == SQLITE_OK; /* only this thread touches wal_fd: syncing is its */
        pthread_mutex_lock(&s->sync_m);
        if (!ok) atomic_store(&s->sync_broken, true);
        else if (upto > atomic_load(&s->synced)) atomic_store(&s->synced, upto);
        uint64_t done = atomic_load(&s->synced);
        bool broken = atomic_load(&s->sync_broken);
        sync_waiter *covered = NULL;
        for (sync_waiter **pp = &s->waiters; *pp;) {
            sync_waiter *w = *pp;
            if (broken || w->n <= done) {
                *pp = w->next;
                w->next = covered;
                covered = w;
            } else {
                pp = &w->next;
            }
        }
        sync_waiter *next = s->waiters; /* committed after this sync began: the next one covers them all */
        if (next) s->waiters = next->next; /* `syncing` stays set: it is next's from here on */
        else s->syncing = false;
        waiters_wake_unlock(s, covered, next);
    }
    if (atomic_load(&s->synced) >= n) return 0; /* a sync that began after this commit covered it */
    snprintf(last_error, sizeof last_error, "fsync of the metadata log failed");
    return STORE_FAILED;
}

/* Begin a write transaction: 0, or a STORE_ error (nothing begun). Every
 * write transaction of the process runs on one connection, s->wdb, which
 * replaces the caller's *dbp (given back to the pool) until tx_finish: a
 * connection's page cache is dropped whenever another connection has
 * committed, so writes spread over the pool each read their b-tree pages
 * back from the log (16 preads per small PUT with 16 in flight); the
 * writer's own commits leave its cache valid. */
static int tx_begin(store *s, sqlite3 **dbp)
{
    memo_forget(); /* what this request reads after its write, it reads anew */
    if (atomic_load(&s->sync_broken)) {
        /* nothing more is committed: a commit is visible at once, and none
           can be made durable now, so it would be seen and then lost */
        snprintf(last_error, sizeof last_error, "%s", STORE_LOST_MESSAGE);
        return STORE_FAILED;
    }
    pthread_mutex_lock(&s->wlock);
    if (!s->wdb) {
        pthread_mutex_unlock(&s->wlock);
        return STORE_FAILED;
    }
    conn_put(s, *dbp);
    *dbp = s->wdb;
    sqlite3_busy_timeout(s->wdb, s->busy_ms); /* it may have changed since the connection opened */
    int rc = stmt_run(s->wdb, "BEGIN IMMEDIATE");
    if (rc == SQLITE_OK) return 0;
    rc = sql_fail(s->wdb, rc);
    pthread_mutex_unlock(&s->wlock);
    return rc;
}

/* Commit if rc is 0, else roll back; the transaction's outcome (0, or rc, or
 * the commit's STORE_ error). Never leaves a transaction open. A commit
 * returns once it is durable (group commit above), unless `durable` is
 * false: for a row that only a later commit makes reachable, which waits. */
static _Thread_local int fault_commits = -1; /* commits left before they fail; -1: no fault */
void store_fault_commits(int n) { fault_commits = n; }

/* store_fault_pause (server.h): process-wide, as --faults is one server's */
static _Thread_local int fault_pause; /* STORE_PAUSE_*: where this thread's request waits, or 0 */
static pthread_mutex_t pause_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pause_cv = PTHREAD_COND_INITIALIZER;
static uint64_t pause_gen; /* bumped by each release */
static int paused_now;
void store_fault_pause(int where) { fault_pause = where; }

/* store_fault_lock_db's connection, process-wide as --faults is (one store per server) */
static pthread_mutex_t lockdb_m = PTHREAD_MUTEX_INITIALIZER;
static sqlite3 *lockdb;
int store_fault_lock_db(store *s)
{
    int rc = 0;
    pthread_mutex_lock(&lockdb_m);
    if (!lockdb) {
        sqlite3 *db = NULL; /* serialized: taken on one request's thread, released on another's */
        if (sqlite3_open_v2(s->db_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL) == SQLITE_OK &&
            sqlite3_busy_timeout(db, 10000) == SQLITE_OK &&
            sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL) == SQLITE_OK)
            lockdb = db;
        else {
            sqlite3_close(db);
            rc = -1;
        }
    }
    pthread_mutex_unlock(&lockdb_m);
    return rc;
}
static void fault_unlock_db(void)
{
    pthread_mutex_lock(&lockdb_m);
    if (lockdb) {
        sqlite3_exec(lockdb, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close(lockdb);
        lockdb = NULL;
    }
    pthread_mutex_unlock(&lockdb_m);
}

void store_fault_release(void)
{
    fault_unlock_db();
    pthread_mutex_lock(&pause_m);
    pause_gen++;
    pthread_cond_broadcast(&pause_cv);
    pthread_mutex_unlock(&pause_m);
}
int store_fault_paused(void)
{
    pthread_mutex_lock(&pause_m);
    int n = paused_now;
    pthread_mutex_unlock(&pause_m);
    return n;
}
static void fault_pause_point(int where)
{
    if (fault_pause != where) return;
    fault_pause = 0;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 60; /* a test that never releases it still ends */
    pthread_mutex_lock(&pause_m);
    uint64_t gen = pause_gen;
    paused_now++;
    while (pause_gen == gen && pthread_cond_timedwait(&pause_cv, &pause_m, &until) == 0) {}
    paused_now--;
    pthread_mutex_unlock(&pause_m);
}

static int tx_finish(store *s, sqlite3 *db, int rc, bool durable)
{
    uint64_t n = 0;
    if (rc == 0 && fault_commits >= 0 && fault_commits-- == 0) {
        fault_commits = 0;
        rc = STORE_FAILED;
        snprintf(last_error, sizeof last_error, "injected fault: commit refused");
    }
    if (rc == 0) {
        int c = stmt_run(db, "COMMIT");
        if (c != SQLITE_OK) rc = sql_fail(db, c);
        else n = commit_counted(s);
    }
    if (!sqlite3_get_autocommit(db)) stmt_run(db, "ROLLBACK");
    if (s->meta_touched) { /* after the commit: a snapshot read before it is stale from now on */
        s->meta_touched = false;
        atomic_fetch_add(&s->meta_gen, 1);
    }
    pthread_mutex_unlock(&s->wlock);
    if (n && durable) rc = durable_wait(s, n);
    return rc;
}

static int tx_end(store *s, sqlite3 *db, int rc) { return tx_finish(s, db, rc, true); }

/* Migrations and the checks of an existing database, on one connection. */
static int schema_setup(store *s, sqlite3 *db, char **err)
{
    int rc = sqlite3_exec(db, SCHEMA_SQL, NULL, NULL, err);
    if (rc != SQLITE_OK) return rc;
    sqlite3_stmt *st = NULL;
    int version = 0;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    (void)s;
    if (version < 1) {
        rc = sqlite3_exec(db, MIGRATE_1_SQL, NULL, NULL, err);
        if (!sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        /* a read-only database keeps serving reads; its writes fail one by one */
        if ((rc & 0xff) == SQLITE_READONLY) {
            sqlite3_free(*err);
            *err = NULL;
            rc = SQLITE_OK;
        }
    }
    return rc;
}

/* SQLite counts every allocation under one process-wide mutex (its memory
 * statistics, which nothing here reads): with 16 request threads that lock
 * was the server's most contended. Off, before SQLite initializes; a
 * process that already uses SQLite keeps its setting (MISUSE, ignored). */
int wal_vfs_register(void); /* walvfs.c */
static void sqlite_setup(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    /* a batch of PUTs keeps each one's savepoint (put_batched): the pages they
       change are copied to a sub-journal, in memory up to this size (SQLite's
       64 KiB default spilled a temp file's pwrite per page with 16 in flight) */
    (void)sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, 4 << 20);
    /* the log's writes gathered, one pwrite per commit (walvfs.c); failing that, SQLite's own VFS */
    (void)wal_vfs_register();
}

int store_open(store **out, const char *root, char **errmsg)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, sqlite_setup);
    store *s = calloc(1, sizeof *s);
    s->root = cos_strdup(root);
    s->busy_ms = 10000;
    s->wal_fd = -1;
    s->root_fd = -1;
    atomic_init(&s->ckpt_next, CKPT_PAGES);
    pthread_mutex_init(&s->pool_m, NULL);
    pthread_mutex_init(&s->wlock, NULL);
    pthread_mutex_init(&s->snap_m, NULL);
    pthread_mutex_init(&s->ckpt_m, NULL);
    pthread_cond_init(&s->ckpt_cv, NULL);
    pthread_mutex_init(&s->sync_m, NULL);
    pthread_mutex_init(&s->batch_m, NULL);
    pthread_mutex_init(&s->dir_m, NULL);
    pthread_cond_init(&s->dir_cv, NULL);
#ifndef __linux__
    pthread_cond_init(&s->sync_cv, NULL);
    pthread_cond_init(&s->batch_cv, NULL);
#endif
    char *p = cos_sprintf("%s/data", root), *t = cos_sprintf("%s/tmp", root);
    s->db_path = cos_sprintf("%s/meta.db", root);
    mkdir(root, 0755);
    mkdir(p, 0755);
    mkdir(t, 0755);
    /* One process per root: a second one's start removed the first's bodies in flight as unnamed (and tmp/),
       and the first never saw its writes (bucket reads are shared until this process's writer changes them) */
    s->root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->root_fd >= 0 && flock(s->root_fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) {
            if (errmsg) *errmsg = cos_sprintf("%s is in use by another cos-server (one process per root)", root);
            free(p);
            free(t);
            store_close(s);
            return -1;
        }
        /* a filesystem without locks (ENOLCK): served as before, the rule unenforced */
        fprintf(stderr, "cos-server: %s cannot be locked (%s): run one cos-server on it at a time\n", root,
                strerror(errno));
    }
    char *err = NULL;
    /* no meta.db beside data that is there (moved away, not yet restored from a backup): a new one would
       name none of it, and the first start after a crash would remove it all as unnamed */
    struct stat dbst;
    if (stat(s->db_path, &dbst) != 0 && errno == ENOENT && data_present(p)) {
        if (errmsg)
            *errmsg = cos_sprintf("%s is missing but %s holds object data: restore meta.db (with its -wal file), "
                                  "or remove %s to start empty", s->db_path, p, p);
        free(p);
        free(t);
        store_close(s);
        return -1;
    }
    struct statvfs fs;
    s->read_only = statvfs(root, &fs) == 0 && (fs.f_flag & ST_RDONLY);
    sqlite3 *db = conn_open(s);
    int rc = db ? schema_setup(s, db, &err) : SQLITE_CANTOPEN;
    if (rc == SQLITE_OK) remove_leftovers(t);
    if (rc == SQLITE_OK && !closed_cleanly(root)) remove_unnamed(s, db);
    if (rc == SQLITE_OK) (void)checkpointer_start(s);
    if (rc == SQLITE_OK && s->ckpt_running) {
        sqlite3_exec(db, "PRAGMA wal_autocheckpoint=0", NULL, NULL, NULL);
        sqlite3_wal_hook(db, wal_hook, s);
    }
    free(p);
    free(t);
    if (rc != SQLITE_OK) {
        if (errmsg) *errmsg = cos_sprintf("cannot open the metadata database in %s: %s", root,
                                          err ? err : db ? sqlite3_errmsg(db) : last_error);
        sqlite3_free(err);
        conn_close(db);
        store_close(s);
        return -1;
    }
    s->wdb = db; /* the writer's from now on (tx_begin) */
    sqlite3_update_hook(db, meta_hook, s);
    *out = s;
    return 0;
}

void store_close(store *s)
{
    if (!s) return;
    /* every request is over: nothing unnamed is left behind (remove_unnamed), unless a removal failed;
       a store that never opened (s->wdb unset: its start's pass may not have run) leaves no mark */
    if (s->wdb && !store_durability_lost(s) && !atomic_load(&s->left_unnamed)) {
        char *mark = cos_sprintf("%s/" CLEAN_MARK, s->root);
        int fd = open(mark, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd >= 0) close(fd);
        free(mark);
    }
    fault_unlock_db(); /* a test that never released it */
    if (s->ckpt_running) {
        pthread_mutex_lock(&s->ckpt_m);
        s->ckpt_stop = true;
        pthread_cond_broadcast(&s->ckpt_cv);
        pthread_mutex_unlock(&s->ckpt_m);
        pthread_join(s->ckpt_thread, NULL);
    }
    sqlite3_close(s->ckpt_db);
    if (s->wal_fd >= 0) close(s->wal_fd);
    conn_close(s->wdb);
    for (size_t i = 0; i < s->nidle; i++) conn_close(s->idle[i]); /* the last to close checkpoints what is left */
    free(s->idle);
    pthread_mutex_destroy(&s->ckpt_m);
    pthread_cond_destroy(&s->ckpt_cv);
    pthread_mutex_destroy(&s->wlock);
    pthread_mutex_destroy(&s->pool_m);
    for (size_t i = 0; i < COS_ARRAY_LEN(s->snaps); i++) snap_release(s->snaps[i]);
    pthread_mutex_destroy(&s->snap_m);
    pthread_mutex_destroy(&s->sync_m);
    pthread_mutex_destroy(&s->batch_m);
    pthread_mutex_destroy(&s->dir_m);
    pthread_cond_destroy(&s->dir_cv);
#ifndef __linux__
    pthread_cond_destroy(&s->sync_cv);
    pthread_cond_destroy(&s->batch_cv);
#endif
    free(s->db_path);
    if (s->root_fd >= 0) close(s->root_fd); /* the root free for another process only now */
    free(s->root);
    free(s);
}

/* Prepare, bind text args, step once per row through cb (non-zero stops).
 * 0, or a STORE_ error. */
static int exec_v(sqlite3 *db, const char *sql, int (*cb)(void *, sqlite3_stmt *), void *ud, const char *const *args,
                  int nargs)
{
    if (!db) return STORE_FAILED;
    int rc;
    sqlite3_stmt *st = stmt_get(db, sql, &rc);
    if (!st) return sql_fail(db, rc);
    for (int i = 0; i < nargs; i++) { /* the args outlive the statement's run: no copies */
        if (args[i]) sqlite3_bind_text(st, i + 1, args[i], -1, SQLITE_STATIC);
        else sqlite3_bind_null(st, i + 1);
    }
    int out = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (cb && cb(ud, st)) break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) out = sql_fail(db, rc);
    stmt_put(st);
    return out;
}

#define EXEC(db, sql, cb, ud, ...) \
    exec_v(db, sql, cb, ud, (const char *const[]){ __VA_ARGS__ }, \
           (int)(sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *)))

/* A read on a borrowed connection. */
#define READ(s, sql, cb, ud, ...) read_v(s, sql, cb, ud, (const char *const[]){ __VA_ARGS__ }, \
           (int)(sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *)))
static int read_v(store *s, const char *sql, int (*cb)(void *, sqlite3_stmt *), void *ud, const char *const *args,
                  int nargs)
{
    sqlite3 *db = conn_get(s);
    int rc = exec_v(db, sql, cb, ud, args, nargs);
    conn_put(s, db);
    return rc;
}

/* One statement as its own write transaction; *changes gets its row count. */
#define WRITE1(s, changes, sql, ...) write1_v(s, changes, sql, (const char *const[]){ __VA_ARGS__ }, \
           (int)(sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *)))
static int write1_v(store *s, int *changes, const char *sql, const char *const *args, int nargs)
{
    sqlite3 *db = conn_get(s);
    if (!db) return STORE_FAILED;
    int rc = tx_begin(s, &db);
    if (rc == 0) {
        rc = exec_v(db, sql, NULL, NULL, args, nargs);
        if (changes) *changes = rc == 0 ? sqlite3_changes(db) : 0;
        rc = tx_end(s, db, rc);
    }
    conn_put(s, db);
    return rc;
}

static char *col_str(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? cos_strndup((const char *)t, (size_t)sqlite3_column_bytes(st, i)) : NULL;
}

/* ---------------------------------------------------------------- buckets */

typedef struct id_list { char **ids; size_t n; } id_list;
static int ids_cb(void *ud, sqlite3_stmt *st);
static void free_ids(id_list *l);

static int config_insert(sqlite3 *db, const char *bucket, const char *kind, const char *body, size_t len);

int store_bucket_create_with(store *s, const char *bucket, const char *region, const char *acl,
                             const char *const *kinds, const char *const *bodies, size_t n)
{
    char created[32];
    snprintf(created, sizeof created, "%lld", (long long)(cos_now_ms() / 1000));
    int inserted = 0;
    sqlite3 *db = conn_get(s);
    int rc = db ? tx_begin(s, &db) : STORE_FAILED;
    if (rc == 0) {
        rc = EXEC(db, "INSERT OR IGNORE INTO buckets(name, region, created, acl) VALUES(?1, ?2, ?3, ?4)", NULL, NULL,
                  bucket, region, created, acl);
        if (!rc) inserted = sqlite3_changes(db);
        /* a new bucket's owner and ownership come with it: never a bucket without them */
        for (size_t i = 0; !rc && inserted && i < n; i++) rc = config_insert(db, bucket, kinds[i], bodies[i], strlen(bodies[i]));
        rc = tx_end(s, db, rc);
    }
    conn_put(s, db);
    return rc ? rc : inserted ? 0 : 1;
}

int store_bucket_create(store *s, const char *bucket, const char *region, const char *acl)
{
    return store_bucket_create_with(s, bucket, region, acl, NULL, NULL, 0);
}

typedef struct bucket_row { char **region, **acl; int64_t *created; int found; } bucket_row;
static int bucket_row_cb(void *ud, sqlite3_stmt *st)
{
    bucket_row *b = ud;
    if (b->region) *b->region = col_str(st, 0);
    if (b->acl) *b->acl = col_str(st, 1);
    if (b->created) *b->created = sqlite3_column_int64(st, 2);
    b->found = 1;
    return 1;
}

static int memo_cfg_cb(void *ud, sqlite3_stmt *st)
{
    bucket_snap *snap = ud;
    if (snap->ncfg == MEMO_CONFIGS) { /* more than a request's worth: the rest are read one by one */
        snap->all = false;
        return 1;
    }
    memo_cfg *m = &snap->cfg[snap->ncfg++];
    m->kind = col_str(st, 0);
    int n = sqlite3_column_bytes(st, 1);
    const void *b = sqlite3_column_blob(st, 1);
    m->body = cos_strndup(b ? b : "", (size_t)n);
    m->len = (size_t)n;
    if (!m->kind) m->kind = cos_strdup("");
    return 0;
}

static size_t snap_slot(store *s, const char *bucket)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)bucket; *p; p++) h = (h ^ *p) * 16777619u;
    return h % COS_ARRAY_LEN(s->snaps);
}

/* The memo holds `bucket`: its row and configurations, read together (or
 * the last such read, if no write to them ended since). 0, or a STORE_
 * error (memo empty). */
static int memo_load(store *s, const char *bucket)
{
    if (memo.snap && !strcmp(memo.snap->bucket, bucket)) return 0;
    memo_forget();
    size_t slot = snap_slot(s, bucket);
    uint64_t gen = atomic_load(&s->meta_gen); /* before the read: a write ending after it moves it */
    pthread_mutex_lock(&s->snap_m);
    bucket_snap *c = s->snaps[slot];
    if (c && c->gen == gen && !strcmp(c->bucket, bucket)) {
        atomic_fetch_add(&c->refs, 1);
        memo.snap = c;
    }
    pthread_mutex_unlock(&s->snap_m);
    if (memo.snap) return 0;
    bucket_snap *n = calloc(1, sizeof *n);
    sqlite3 *db = n ? conn_get(s) : NULL;
    if (!db) {
        free(n);
        return STORE_FAILED;
    }
    atomic_init(&n->refs, 1);
    n->gen = gen;
    atomic_fetch_add_explicit(&s->meta_reads, 1, memory_order_relaxed);
    bucket_row b = { &n->region, &n->acl, &n->created, 0 };
    int rc = stmt_run(db, "BEGIN") == SQLITE_OK ? 0 : sql_fail(db, SQLITE_ERROR);
    n->all = true;
    if (!rc) rc = EXEC(db, "SELECT region, acl, created FROM buckets WHERE name = ?1", bucket_row_cb, &b, bucket);
    if (!rc) rc = EXEC(db, "SELECT kind, body FROM configs WHERE bucket = ?1", memo_cfg_cb, n, bucket);
    if (!sqlite3_get_autocommit(db)) stmt_run(db, "COMMIT");
    conn_put(s, db);
    n->bucket = cos_strdup(bucket);
    if (rc) {
        snap_release(n);
        return rc;
    }
    n->bucket_rc = b.found ? 0 : -1;
    memo.snap = n;
    pthread_mutex_lock(&s->snap_m);
    c = s->snaps[slot];
    if (!c || c->gen <= gen) { /* never an older read over a newer one */
        atomic_fetch_add(&n->refs, 1);
        s->snaps[slot] = n;
    } else {
        c = NULL;
    }
    pthread_mutex_unlock(&s->snap_m);
    snap_release(c);
    return 0;
}

int store_bucket_get(store *s, const char *bucket, char **region, char **acl, int64_t *created)
{
    if (memo.s == s && memo_load(s, bucket) == 0) {
        const bucket_snap *m = memo.snap;
        if (m->bucket_rc == 0) {
            if (region) *region = m->region ? cos_strdup(m->region) : NULL;
            if (acl) *acl = m->acl ? cos_strdup(m->acl) : NULL;
            if (created) *created = m->created;
        }
        return m->bucket_rc;
    }
    bucket_row b = { region, acl, created, 0 };
    int rc = READ(s, "SELECT region, acl, created FROM buckets WHERE name = ?1", bucket_row_cb, &b, bucket);
    return rc ? rc : b.found ? 0 : -1;
}

static int count_cb(void *ud, sqlite3_stmt *st)
{
    *(int64_t *)ud = sqlite3_column_int64(st, 0);
    return 1;
}

int store_bucket_delete(store *s, const char *bucket) { return store_bucket_delete_with(s, bucket, false); }

int store_bucket_delete_with(store *s, const char *bucket, bool uploads_too)
{
    id_list parts = { NULL, 0 };
    sqlite3 *db = conn_get(s);
    if (!db) return STORE_FAILED;
    int rc = tx_begin(s, &db);
    if (rc) {
        conn_put(s, db);
        return rc;
    }
    int64_t exists = 0, objects = 0, uploads = 0, versions = 0;
    rc = EXEC(db, "SELECT COUNT(*) FROM buckets WHERE name = ?1", count_cb, &exists, bucket);
    if (!rc) rc = EXEC(db, "SELECT EXISTS(SELECT 1 FROM objects WHERE bucket = ?1)", count_cb, &objects, bucket);
    if (!rc) rc = EXEC(db, "SELECT EXISTS(SELECT 1 FROM uploads WHERE bucket = ?1)", count_cb, &uploads, bucket);
    /* in the transaction, not before it: a versioned DELETE moving the last object to versions meanwhile
       would leave versions (and their data) behind, to reappear in a bucket of the same name */
    if (!rc) rc = EXEC(db, "SELECT EXISTS(SELECT 1 FROM versions WHERE bucket = ?1)", count_cb, &versions, bucket);
    /* S3's: unfinished uploads go with a bucket otherwise empty, in this transaction (before, every upload
       was aborted first, also when the bucket then proved not empty and the delete was refused) */
    if (!rc && uploads_too && exists && uploads && !objects && !versions) {
        rc = EXEC(db, "SELECT data_id FROM parts WHERE upload_id IN (SELECT upload_id FROM uploads WHERE bucket = ?1)",
                  ids_cb, &parts, bucket);
        if (!rc) rc = EXEC(db, "DELETE FROM parts WHERE upload_id IN (SELECT upload_id FROM uploads WHERE bucket = ?1)",
                           NULL, NULL, bucket);
        if (!rc) rc = EXEC(db, "DELETE FROM uploads WHERE bucket = ?1", NULL, NULL, bucket);
        if (!rc) uploads = 0;
    }
    int verdict = !exists ? -1 : (objects || uploads || versions) ? 1 : 0;
    if (!rc && verdict == 0) {
        rc = EXEC(db, "DELETE FROM buckets WHERE name = ?1", NULL, NULL, bucket);
        if (!rc) rc = EXEC(db, "DELETE FROM configs WHERE bucket = ?1", NULL, NULL, bucket);
    }
    rc = tx_end(s, db, rc ? rc : verdict ? 1 : 0); /* 1: nothing to change, roll back */
    conn_put(s, db);
    for (size_t i = 0; rc == 0 && i < parts.n; i++) data_unlink(s, parts.ids[i]);
    free_ids(&parts);
    return rc == 1 ? verdict : rc;
}

static int bucket_list_cb(void *ud, sqlite3_stmt *st)
{
    cos_list_buckets_result *r = ud;
    cos_bucket_info *p = realloc(r->buckets, (r->buckets_count + 1) * sizeof *p);
    if (!p) return 1;
    r->buckets = p;
    cos_bucket_info *b = &p[r->buckets_count++];
    memset(b, 0, sizeof *b);
    b->name = col_str(st, 0);
    b->location = col_str(st, 1);
    char d[32];
    cos_iso8601_format(sqlite3_column_int64(st, 2) * 1000, d);
    d[19] = 'Z';
    d[20] = '\0';
    b->creation_date = cos_strdup(d);
    b->bucket_type = cos_strdup("cos");
    return 0;
}

int store_bucket_list(store *s, cos_list_buckets_result *out)
{
    return READ(s, "SELECT name, region, created FROM buckets ORDER BY name", bucket_list_cb, out, NULL);
}

int store_bucket_set_acl(store *s, const char *bucket, const char *acl)
{
    int changed = 0;
    int rc = WRITE1(s, &changed, "UPDATE buckets SET acl = ?2 WHERE name = ?1", bucket, acl);
    return rc ? rc : changed ? 0 : -1;
}

int store_config_put(store *s, const char *bucket, const char *kind, const char *body, size_t len)
{
    fault_pause_point(STORE_PAUSE_WRITE); /* a configuration decided, not yet written (tests: the "pause" fault) */
    sqlite3 *db = conn_get(s);
    if (!db) return STORE_FAILED;
    int rc = tx_begin(s, &db);
    if (rc == 0) rc = tx_end(s, db, config_insert(db, bucket, kind, body, len));
    conn_put(s, db);
    return rc;
}

/* Inside a write transaction: a configuration's body, kept as a blob. */
static int config_insert(sqlite3 *db, const char *bucket, const char *kind, const char *body, size_t len)
{
    sqlite3_stmt *st = NULL;
    /* only for a bucket still there: one deleted after the request's checks
       would otherwise pass its configuration (a policy) to a bucket made again */
    int r = sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO configs(bucket, kind, body) SELECT ?1, ?2, ?3"
                                   " WHERE EXISTS(SELECT 1 FROM buckets WHERE name = ?1)", -1, &st, NULL);
    if (r == SQLITE_OK) {
        sqlite3_bind_text(st, 1, bucket, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, kind, -1, SQLITE_TRANSIENT);
        sqlite3_bind_blob(st, 3, body, (int)len, SQLITE_TRANSIENT);
        r = sqlite3_step(st);
    }
    int rc = r == SQLITE_DONE ? (sqlite3_changes(db) ? 0 : STORE_NO_BUCKET) : sql_fail(db, r);
    sqlite3_finalize(st);
    return rc;
}

typedef struct blob_out { char **body; size_t *len; int found; } blob_out;
static int blob_cb(void *ud, sqlite3_stmt *st)
{
    blob_out *b = ud;
    int n = sqlite3_column_bytes(st, 0);
    *b->body = cos_strndup(sqlite3_column_blob(st, 0) ? sqlite3_column_blob(st, 0) : "", (size_t)n);
    *b->len = (size_t)n;
    b->found = 1;
    return 1;
}

int store_config_get(store *s, const char *bucket, const char *kind, char **body, size_t *len)
{
    if (memo.s == s && memo_load(s, bucket) == 0) {
        const bucket_snap *m = memo.snap;
        for (int i = 0; i < m->ncfg; i++) {
            if (strcmp(m->cfg[i].kind, kind)) continue;
            *body = cos_strndup(m->cfg[i].body, m->cfg[i].len);
            *len = m->cfg[i].len;
            return 0;
        }
        if (m->all) return -1;
    }
    blob_out b = { body, len, 0 };
    int rc = READ(s, "SELECT body FROM configs WHERE bucket = ?1 AND kind = ?2", blob_cb, &b, bucket, kind);
    return rc ? rc : b.found ? 0 : -1;
}

int store_config_delete(store *s, const char *bucket, const char *kind)
{
    return WRITE1(s, NULL, "DELETE FROM configs WHERE bucket = ?1 AND kind = ?2", bucket, kind);
}

/* ---------------------------------------------------------------- data files */

char *data_path(store *s, const char *id) { return cos_sprintf("%s/data/%.2s/%s", s->root, id, id); }

/* Large bodies are hashed off the receiving thread: MD5 runs at ~0.6 GB/s a
 * core here, so hashing where the bytes arrive made it the bottleneck of
 * every upload. One hashing thread serves every large body being written:
 * it reads each temp file behind its writer (from the page cache) and
 * advances up to MD5_LANES of them at once in vector lanes (md5lanes.h), so
 * parts arriving in parallel cost a fraction of a core each instead of one.
 * Small bodies (most requests) are hashed inline, without the thread. */
enum { HASHER_THRESHOLD = 64 << 10, HASHER_CHUNK = 256 << 10 };
/* One mapping serves many rounds: a mapping per round (and MAP_POPULATE)
 * cost 8% of the server's CPU; the kernel's fault-around maps 16 pages a
 * fault. Past the file's end nothing is touched (only bytes written are read). */
#define HASH_WINDOW ((uint64_t)(sizeof(void *) >= 8 ? 256u << 20 : 16u << 20))

typedef struct data_hasher {
    struct data_hasher *next;  /* in the service's list (guarded by hs.m) */
    int fd;                    /* read-only view of the temp file */
    uint64_t written;          /* bytes the writer has written (guarded by hs.m) */
    uint64_t hashed;           /* bytes hashed so far (guarded by hs.m; advanced by the service only) */
    uint64_t crc_from;         /* the writer's CRC-64 already covers the bytes before this */
    bool done;                 /* the writer has finished (guarded by hs.m) */
    bool finished;             /* done, and everything hashed or failed (guarded by hs.m) */
    bool busy;                 /* the service is hashing it outside the lock */
    int error;
    md5_stream *md5;
    uint64_t *crc64;
    void *win;                 /* the service's mapping of the file: HASH_WINDOW bytes from win_off */
    uint64_t win_off;
    /* a staged body (stage_write): its bytes are read from the writer's two
       buffers, which hold STAGE_BYTES from stage_at each (UINT64_MAX: nothing yet) */
    const unsigned char *stage[2];
    uint64_t stage_at[2];      /* guarded by hs.m */
    bool waiting;              /* its writer waits for the hash to move on (stage_write) */
    uint64_t told;             /* the writer's: the last size it published (hasher_publish) */
} data_hasher;

/* Staging buffers: 1 MiB, written with O_DIRECT in one call each. The hasher
 * must have moved past a buffer before it is refilled, so a buffer is at least
 * 4 chunks (a body that far ahead always gets a round, see hash_round_due). */
enum { STAGE_BYTES = 1 << 20, DIRECT_ALIGN = 4096, STAGED_MAX = 32 };
_Static_assert(STAGE_BYTES >= 4 * HASHER_CHUNK && STAGE_BYTES % DIRECT_ALIGN == 0, "stage size");

static struct {
    pthread_once_t once;
    pthread_mutex_t m;
    pthread_cond_t work;     /* a body has bytes to hash, or has finished */
    pthread_cond_t settled;  /* a hasher finished */
    data_hasher *list;
    bool sleeping;
    bool running;
    unsigned char *buf;      /* MD5_LANES x HASHER_CHUNK, where mmap fails */
    uint64_t page;
} hs = { .once = PTHREAD_ONCE_INIT, .m = PTHREAD_MUTEX_INITIALIZER };

/* Has bytes to hash (whole blocks, or its last bytes once the writer is done). */
static bool hasher_ready(const data_hasher *h)
{
    if (h->finished || h->busy || h->error) return false;
    return h->written - h->hashed >= MD5_BLOCK || (h->done && h->written > h->hashed);
}

/* Worth a round now? Lanes cost the same filled or empty, so the service
 * waits until every body being received has a chunk to give (they arrive
 * side by side at similar rates), unless one is finished and its request
 * waits for the hash, or one has run far ahead of a stalled other. */
static bool hash_round_due(void)
{
    int active = 0, full = 0;
    for (data_hasher *h = hs.list; h; h = h->next) {
        if (h->finished || h->busy || h->error) continue;
        uint64_t avail = h->written - h->hashed;
        if ((h->done && avail) || avail >= 4 * (uint64_t)HASHER_CHUNK) return true;
        active++;
        if (avail >= HASHER_CHUNK) full++;
    }
    return full && full >= COS_MIN(active, (int)MD5_LANES);
}

static void *hash_service_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&hs.m);
    for (;;) {
        data_hasher *pick[MD5_LANES];
        uint64_t from[MD5_LANES], want[MD5_LANES];
        bool last[MD5_LANES];
        const unsigned char *src[MD5_LANES];
        bool lost = false;
        int n = 0;
        for (data_hasher *h = hash_round_due() ? hs.list : NULL; h && n < MD5_LANES; h = h->next) {
            if (!hasher_ready(h)) continue;
            uint64_t avail = h->written - h->hashed;
            uint64_t cap = HASHER_CHUNK;
            src[n] = NULL;
            if (h->stage[0]) { /* staged: from the buffer holding these bytes, up to its end */
                int j = h->stage_at[0] <= h->hashed && h->hashed - h->stage_at[0] < STAGE_BYTES ? 0
                      : h->stage_at[1] <= h->hashed && h->hashed - h->stage_at[1] < STAGE_BYTES ? 1 : -1;
                if (j < 0) { /* cannot happen: the writer keeps what is not hashed */
                    h->error = EIO;
                    if (h->done) h->finished = true;
                    lost = true;
                    continue;
                }
                cap = COS_MIN(cap, h->stage_at[j] + STAGE_BYTES - h->hashed);
                src[n] = h->stage[j] + (h->hashed - h->stage_at[j]);
            }
            uint64_t take = COS_MIN(avail, cap);
            last[n] = h->done && take == avail;
            want[n] = last[n] ? take : take / MD5_BLOCK * MD5_BLOCK;
            from[n] = h->hashed;
            h->busy = true;
            pick[n++] = h;
        }
        if (lost) pthread_cond_broadcast(&hs.settled);
        /* streams hash side by side only while each has bytes: the rest of a longer one
           went on alone or fewer abreast, at a fraction of the rate (md5lanes.h), so a
           round takes of each as much as of the least, unless that is little (or its last
           bytes); what is left waits for the next round */
        uint64_t least = UINT64_MAX;
        for (int i = 0; i < n; i++)
            if (!last[i] && want[i] < least) least = want[i];
        if (least != UINT64_MAX && least >= HASHER_CHUNK / 16)
            for (int i = 0; i < n; i++)
                if (!last[i] && want[i] > least) want[i] = least;
        if (!n) {
            hs.sleeping = true;
            pthread_cond_wait(&hs.work, &hs.m);
            hs.sleeping = false;
            continue;
        }
        /* the bodies hashed now go to the back: more than MD5_LANES take turns */
        for (int i = 0; i < n && hs.list && hs.list->next; i++) {
            data_hasher **pp = &hs.list, *h = pick[i];
            while (*pp != h) pp = &(*pp)->next;
            *pp = h->next;
            data_hasher **tail = pp;
            while (*tail) tail = &(*tail)->next;
            *tail = h;
            h->next = NULL;
        }
        pthread_mutex_unlock(&hs.m);

        md5_stream *st[MD5_LANES];
        const unsigned char *data[MD5_LANES];
        size_t blocks[MD5_LANES];
        uint64_t got[MD5_LANES];
        int lanes = 0;
        for (int i = 0; i < n; i++) {
            data_hasher *h = pick[i];
            const unsigned char *b = src[i];
            if (src[i]) {
                got[i] = want[i];
                goto hash;
            }
            /* hashed where the page cache holds the bytes: a copy out of it cost
             * as much CPU as the receiving itself (the bytes are no longer in cache) */
            if (h->win && (from[i] < h->win_off || from[i] + want[i] > h->win_off + HASH_WINDOW)) {
                munmap(h->win, (size_t)HASH_WINDOW);
                h->win = NULL;
            }
            if (!h->win) {
                uint64_t base = from[i] / hs.page * hs.page;
                void *m = mmap(NULL, (size_t)HASH_WINDOW, PROT_READ, MAP_SHARED, h->fd, (off_t)base);
                if (m != MAP_FAILED) h->win = m, h->win_off = base;
            }
            b = h->win ? (const unsigned char *)h->win + (from[i] - h->win_off) : NULL;
            got[i] = 0;
            if (!b) {
                unsigned char *copy = hs.buf + (size_t)i * HASHER_CHUNK;
                while (!h->error && got[i] < want[i]) {
                    ssize_t r = pread(h->fd, copy + got[i], (size_t)(want[i] - got[i]), (off_t)(from[i] + got[i]));
                    if (r < 0 && errno == EINTR) continue;
                    if (r <= 0) h->error = r < 0 ? errno : EIO;
                    else got[i] += (uint64_t)r;
                }
                b = copy;
            } else {
                got[i] = want[i];
            }
        hash:
            if (h->error || !got[i]) continue;
            uint64_t skip = h->crc_from > from[i] ? COS_MIN(h->crc_from - from[i], got[i]) : 0;
            *h->crc64 = cos_crc64(*h->crc64, b + skip, (size_t)(got[i] - skip));
            st[lanes] = h->md5;
            data[lanes] = b;
            blocks[lanes++] = (size_t)(got[i] / MD5_BLOCK);
        }
        md5_lanes_blocks(st, data, blocks, lanes);
        for (int l = 0; l < lanes; l++) { /* a body's last partial block */
            size_t whole = blocks[l] * MD5_BLOCK;
            for (int i = 0; i < n; i++)
                if (pick[i]->md5 == st[l] && got[i] > whole) md5_stream_update(st[l], data[l] + whole, (size_t)(got[i] - whole));
        }

        pthread_mutex_lock(&hs.m);
        bool settled = false;
        for (int i = 0; i < n; i++) {
            data_hasher *h = pick[i];
            h->hashed += got[i];
            h->busy = false;
            if (h->waiting) settled = true;
            if (h->done && (h->error || h->hashed == h->written)) h->finished = settled = true;
        }
        if (settled) { /* woken under the lock, the waiters went straight back to sleep on it */
            pthread_mutex_unlock(&hs.m);
            pthread_cond_broadcast(&hs.settled);
            pthread_mutex_lock(&hs.m);
        }
    }
    return NULL;
}

static void hash_service_init(void)
{
    pthread_cond_init(&hs.work, NULL);
    pthread_cond_init(&hs.settled, NULL);
    hs.buf = malloc((size_t)MD5_LANES * HASHER_CHUNK);
    long page = sysconf(_SC_PAGESIZE);
    hs.page = page > 0 ? (uint64_t)page : 4096;
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    /* the thread lives as long as the process: stores come and go, it holds nothing of theirs */
    hs.running = hs.buf && pthread_create(&t, &a, hash_service_main, NULL) == 0;
    pthread_attr_destroy(&a);
}

static bool stage_begin(data_writer *w, data_hasher *h, uint64_t in_file);

/* Hand the rest of the hashing to the service; 0, or -1 to keep hashing inline.
 * in_file: bytes in the file (w->size and the write being made). */
static int hasher_start(data_writer *w, uint64_t in_file)
{
    pthread_once(&hs.once, hash_service_init);
    if (!hs.running) return -1;
    data_hasher *h = calloc(1, sizeof *h);
    if (!h) return -1;
    h->fd = open(w->tmp_path, O_RDONLY | O_CLOEXEC);
    if (h->fd < 0) {
        free(h);
        return -1;
    }
    /* the service takes whole blocks: the partial one hashed inline is hashed again from the file */
    uint64_t back = w->md5.tail_len;
    h->written = w->size;
    h->hashed = w->size - back;
    h->crc_from = w->size;
    h->told = w->size;
    h->md5 = &w->md5;
    h->crc64 = &w->crc64;
    /* or the service reads the file, as before; a body still in memory is staged or not taken */
    if (!stage_begin(w, h, in_file) && w->in_memory) {
        close(h->fd);
        free(h);
        return -1;
    }
    w->md5.len -= back;
    w->md5.tail_len = 0;
    pthread_mutex_lock(&hs.m);
    h->next = hs.list;
    hs.list = h;
    pthread_mutex_unlock(&hs.m);
    w->hasher = h;
    return 0;
}

/* The service takes chunks: a size is published once it reaches another
 * chunk (or when forced). Each piece libmicrohttpd hands over (32 KiB)
 * took the lock the service and every other writer share, and its
 * contention put threads to sleep. */
static void hasher_publish(data_hasher *h, uint64_t written, bool force)
{
    if (!force && written / HASHER_CHUNK == h->told / HASHER_CHUNK) return;
    h->told = written;
    pthread_mutex_lock(&hs.m);
    bool crossed = hs.sleeping && !h->busy && (written - h->hashed) / HASHER_CHUNK != (h->written - h->hashed) / HASHER_CHUNK;
    h->written = written;
    /* only for a round the service would make: woken to find none due, it cost a switch each time */
    bool wake = crossed && hash_round_due();
    pthread_mutex_unlock(&hs.m);
    if (wake) pthread_cond_signal(&hs.work); /* after unlocking: woken, the service takes the lock at once */
}

/* Wait for the service to hash everything written; returns its error (0 if none). */
static int hasher_join(data_writer *w)
{
    data_hasher *h = w->hasher;
    if (!h) return 0;
    pthread_mutex_lock(&hs.m);
    h->written = w->size; /* the bytes since the last chunk published */
    h->done = true;
    if ((h->hashed == h->written || h->error) && !h->busy) h->finished = true;
    if (!h->finished) pthread_cond_signal(&hs.work);
    while (!h->finished) pthread_cond_wait(&hs.settled, &hs.m);
    data_hasher **pp = &hs.list;
    while (*pp != h) pp = &(*pp)->next;
    *pp = h->next;
    if (hs.sleeping) pthread_cond_signal(&hs.work); /* one fewer to wait for: a round may be due */
    pthread_mutex_unlock(&hs.m);
    int err = h->error ? h->error : h->hashed == w->size ? 0 : EIO;
    if (h->win) munmap(h->win, (size_t)HASH_WINDOW);
    close(h->fd);
    free(h);
    w->hasher = NULL;
    return err;
}

/* Until the service has hashed the bytes before upto (a staging buffer is to be
 * refilled); its error, or 0. */
static int hasher_wait(data_hasher *h, uint64_t upto)
{
    pthread_mutex_lock(&hs.m);
    while (!h->error && h->hashed < upto) {
        h->waiting = true;
        if (hs.sleeping) pthread_cond_signal(&hs.work);
        pthread_cond_wait(&hs.settled, &hs.m);
    }
    h->waiting = false;
    int err = h->error;
    pthread_mutex_unlock(&hs.m);
    return err;
}

/* A new temp file; a manifest's id starts with MANIFEST_MARK instead of its first hex digit. */
static int begin_data(store *s, data_writer *w, bool manifest)
{
    memset(w, 0, sizeof *w);
    random_hex(w->data_id, 16);
    if (manifest) w->data_id[0] = MANIFEST_MARK;
    snprintf(w->tmp_path, sizeof w->tmp_path, "%s/tmp/%s", s->root, w->data_id);
    w->no_fsync = s->no_fsync;
    w->no_direct = s->no_direct;
    w->store = s;
    w->fd = -1;
    if (!manifest) {
        w->in_memory = true; /* the file is created when the body outgrows INLINE_MAX */
    } else if ((w->fd = open(w->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0) {
        return -1;
    }
    md5_stream_init(&w->md5);
    return 0;
}

/* 0, or the errno of the write that failed (ENOSPC for a write of nothing). */
static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return n < 0 ? errno : ENOSPC;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The body no longer fits in a row: move what was buffered into the temp file. */
static void free_mem_bytes(data_writer *w);

static int spill(data_writer *w)
{
    if (w->fd < 0) w->fd = open(w->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (w->fd < 0 || (errno = write_all(w->fd, w->mem, (size_t)w->size)) != 0) {
        w->error = errno ? errno : EIO;
        return -1;
    }
    free_mem_bytes(w);
    return 0;
}

static void free_mem_bytes(data_writer *w)
{
    free(w->mem);
    w->mem = NULL;
    w->mem_cap = 0;
    w->in_memory = false;
}

static int mem_append(data_writer *w, const void *buf, size_t len)
{
    if (w->size + len > w->mem_cap) {
        size_t cap = w->mem_cap ? w->mem_cap : 4096;
        while (cap < w->size + len) cap *= 2;
        unsigned char *m = realloc(w->mem, cap);
        if (!m) {
            w->error = ENOMEM;
            return -1;
        }
        w->mem = m;
        w->mem_cap = cap;
    }
    memcpy(w->mem + w->size, buf, len);
    return 0;
}

int data_begin(store *s, data_writer *w) { return begin_data(s, w, false); }

enum { KICK_BYTES = 2 << 20, INLINE_MAX = 64 << 10 };

/* Every 2 MiB, start writing the new data to disk in the background, so the
 * fsync that makes the object durable waits for the tail only: receiving,
 * hashing and the disk then overlap instead of taking turns. */
static void kick_writeback(data_writer *w, uint64_t min)
{
    if (w->size - w->kicked < min || w->size == w->kicked || w->no_fsync || w->in_memory) return;
    (void)sync_file_range(w->fd, (off_t)w->kicked, (off_t)(w->size - w->kicked), SYNC_FILE_RANGE_WRITE);
    w->kicked = w->size;
}

/* ---- staged bodies: O_DIRECT from aligned buffers
 * A large body written through the page cache cost the server's CPU three
 * times over: the copy into the cache with ext4's delayed allocation, the
 * writeback, and the hasher's faults reading it back. Staged, the bytes are
 * copied once into a 1 MiB aligned buffer, hashed from it, and written to
 * the disk from it with O_DIRECT by a thread of the body's own while the
 * other buffer fills (written on the receiving thread, one connection's
 * receiving and the disk took turns); the fsync before the acknowledgement
 * then has only the journal to commit. Where the filesystem refuses
 * O_DIRECT the same buffers are written through the page cache. */
struct data_stage {
    unsigned char *buf[2];
    int cur;                 /* the buffer being filled */
    uint64_t off;            /* its offset in the file */
    size_t fill;
    int fd;                  /* the writer's (buffered) descriptor */
    int dfd;                 /* the file opened O_DIRECT; -1 once the filesystem refused it */
    /* the flushing thread (m guards what follows) */
    pthread_mutex_t m;
    pthread_cond_t cv;
    pthread_t thread;
    bool thread_on;
    int pending;             /* the buffer handed over to be written, or -1 */
    uint64_t pending_off;
    bool writing;
    bool quit;
    int err;                 /* the first write's error (or the directory's fsync's) */
    /* a body placed in data/ early (stage_place): its directory's fsync, made by the
       flushing thread when no buffer waits, while the body still arrives */
    char dir[512];
    store *store;            /* whose data/ holds dir (data_dir_ready) */
    char dir_id[3];          /* dir's name: the body id's first two characters */
    bool dir_due, dir_busy;
    bool orphan;             /* left by stage_end: the thread frees the stage as it ends */
};

static struct {
    pthread_mutex_t m;
    unsigned char *spare[8]; /* kept for the next bodies: a part is 8 MiB, its buffers 2 */
    int spares;
    int used;                /* at most 2 * STAGED_MAX bodies' worth; more go unstaged */
} stage_pool = { .m = PTHREAD_MUTEX_INITIALIZER };

static unsigned char *stage_buf_get(void)
{
    unsigned char *b = NULL;
    pthread_mutex_lock(&stage_pool.m);
    bool ok = stage_pool.used < 2 * STAGED_MAX;
    if (ok) {
        stage_pool.used++;
        if (stage_pool.spares) b = stage_pool.spare[--stage_pool.spares];
    }
    pthread_mutex_unlock(&stage_pool.m);
    if (ok && !b) {
        void *p;
        if (posix_memalign(&p, DIRECT_ALIGN, STAGE_BYTES) == 0) {
            b = p;
        } else {
            pthread_mutex_lock(&stage_pool.m);
            stage_pool.used--;
            pthread_mutex_unlock(&stage_pool.m);
        }
    }
    return b;
}

static void stage_buf_put(unsigned char *b)
{
    if (!b) return;
    pthread_mutex_lock(&stage_pool.m);
    stage_pool.used--;
    if (stage_pool.spares < (int)(sizeof stage_pool.spare / sizeof *stage_pool.spare)) {
        stage_pool.spare[stage_pool.spares++] = b;
        b = NULL;
    }
    pthread_mutex_unlock(&stage_pool.m);
    free(b);
}

static void stage_free(struct data_stage *st)
{
    pthread_mutex_destroy(&st->m);
    pthread_cond_destroy(&st->cv);
    if (st->dfd >= 0) close(st->dfd);
    stage_buf_put(st->buf[0]);
    stage_buf_put(st->buf[1]);
    free(st);
}

/* Only once the hasher is joined: it reads the buffers. A flushing thread
 * with nothing under way is left to end and free the stage itself: joined,
 * every body waited for that thread to be woken and scheduled before its
 * answer. A write under way (a body aborted) is waited for: it may use the
 * writer's descriptor, closed once this returns. */
static void stage_end(data_writer *w)
{
    struct data_stage *st = w->stage;
    if (!st) return;
    w->stage = NULL;
    if (st->thread_on) {
        pthread_mutex_lock(&st->m);
        st->quit = true;
        /* a directory's sync under way is waited for: it reads the store (data_dir_ready), which a
           detached thread could outlive */
        bool idle = st->pending < 0 && !st->writing && !st->dir_busy;
        st->orphan = idle;
        pthread_t t = st->thread; /* st is the thread's once unlocked */
        pthread_cond_broadcast(&st->cv);
        pthread_mutex_unlock(&st->m);
        if (idle) {
            pthread_detach(t);
            return;
        }
        pthread_join(t, NULL);
    }
    stage_free(st);
}

/* 0, or the errno of the read that failed (EIO for a short file). */
static int pread_all(int fd, void *buf, size_t len, uint64_t off)
{
    char *p = buf;
    while (len) {
        ssize_t n = pread(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return n < 0 ? errno : EIO;
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return 0;
}

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
    const char *p = buf;
    while (len) {
        ssize_t n = pwrite(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return n < 0 ? errno : ENOSPC;
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return 0;
}

/* Stage a body the hasher has just taken on, if it is to be fsynced: the
 * bytes already in the file from the hash's start on are read into the first
 * buffer (its first direct write covers them again). false: not staged. */
static bool stage_begin(data_writer *w, data_hasher *h, uint64_t in_file)
{
    h->stage_at[0] = h->stage_at[1] = UINT64_MAX;
    if (w->no_fsync || w->no_direct) return false; /* without fsync the page cache is the faster place */
    /* from memory, all of it: the file has none of it yet */
    uint64_t base = w->in_memory ? 0 : h->hashed / DIRECT_ALIGN * DIRECT_ALIGN;
    if (in_file - base > STAGE_BYTES) return false;
    struct data_stage *st = calloc(1, sizeof *st);
    if (!st) return false;
    st->dfd = -1;
    st->pending = -1;
    pthread_mutex_init(&st->m, NULL);
    pthread_cond_init(&st->cv, NULL);
    w->stage = st;
    st->buf[0] = stage_buf_get();
    st->buf[1] = st->buf[0] ? stage_buf_get() : NULL;
    if (st->buf[1]) st->dfd = open(w->tmp_path, O_WRONLY | O_DIRECT | O_CLOEXEC); /* EINVAL where the filesystem has no O_DIRECT */
    if (st->dfd >= 0 && w->in_memory && in_file > base) memcpy(st->buf[0], w->mem + base, (size_t)(in_file - base));
    if (st->dfd < 0 || (!w->in_memory && pread_all(h->fd, st->buf[0], (size_t)(in_file - base), base) != 0)) {
        stage_end(w);
        return false;
    }
    st->fd = w->fd;
    h->stage[0] = st->buf[0];
    h->stage[1] = st->buf[1];
    h->stage_at[0] = base;
    st->off = base;
    st->fill = (size_t)(in_file - base);
    return true;
}

/* A body outgrowing memory that is to be fsynced is staged from its start
 * (spilled, its first 64 KiB and more went through the page cache, and again
 * to the disk with the first direct write). false: spill it. */
static bool stage_from_memory(data_writer *w)
{
    if (w->no_hash || w->no_fsync || w->no_direct) return false;
    w->fd = open(w->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (w->fd < 0 || hasher_start(w, w->size) != 0) return false; /* spill takes over (and reports a failed open) */
    free_mem_bytes(w);
    return true;
}

/* Write len bytes of buffer b at off: the aligned part with O_DIRECT, the
 * rest (a body's last bytes) through the page cache, as everything once the
 * filesystem has refused O_DIRECT. 0 or errno. */
static int stage_flush(struct data_stage *st, const unsigned char *p, size_t len, uint64_t off)
{
    size_t direct = st->dfd >= 0 ? len / DIRECT_ALIGN * DIRECT_ALIGN : 0;
    while (direct) {
        ssize_t n = pwrite(st->dfd, p, direct, (off_t)off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EINVAL) { /* no O_DIRECT here after all, or another alignment */
            close(st->dfd);
            st->dfd = -1;
            break;
        }
        if (n <= 0) return n < 0 ? errno : ENOSPC;
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
        direct = n % DIRECT_ALIGN ? 0 : direct - (size_t)n; /* a short write off the alignment: the rest buffered */
    }
    int err = pwrite_all(st->fd, p, len, off);
    if (!err && len >= KICK_BYTES / 2) (void)sync_file_range(st->fd, (off_t)off, (off_t)len, SYNC_FILE_RANGE_WRITE);
    return err;
}

static int fsync_dir(const char *dir);

/* data/XX, the directory of the bodies whose ids begin with XX, is made
 * when its first body arrives, and no body in it may be acknowledged before
 * its name is durable in data/. Each body that made one used to fsync data/
 * itself, while one that found it made (EEXIST) went on: it could answer
 * before the maker's fsync of data/, and a crash then lost the directory
 * with its acknowledged body. Now one body makes the name durable and the
 * others in that directory wait for it; after that none of them looks
 * again (not even a mkdir) for the process's life. */
static unsigned dir_index(const char *id) { return (unsigned)(unsigned char)id[0] << 8 | (unsigned char)id[1]; }

static bool data_dir_known(store *s, const char *id)
{
    unsigned i = dir_index(id);
    return atomic_load_explicit(&s->dir_synced[i / 32], memory_order_acquire) & (1u << i % 32);
}

static atomic_int dir_waiting; /* bodies waiting for another's sync of data/ (tests: GET /-/faults) */
int store_dir_waits(void) { return atomic_load(&dir_waiting); }

/* data/XX made and its name durable (with fsync on): 0 or errno. */
static int data_dir_ready(store *s, const char *id)
{
    if (data_dir_known(s, id)) return 0;
    unsigned i = dir_index(id);
    uint32_t bit = 1u << i % 32;
    pthread_mutex_lock(&s->dir_m);
    while ((s->dir_syncing[i / 32] & bit) && !data_dir_known(s, id)) {
        atomic_fetch_add(&dir_waiting, 1);
        pthread_cond_wait(&s->dir_cv, &s->dir_m);
        atomic_fetch_sub(&dir_waiting, 1);
    }
    if (data_dir_known(s, id)) {
        pthread_mutex_unlock(&s->dir_m);
        return 0;
    }
    s->dir_syncing[i / 32] |= bit;
    pthread_mutex_unlock(&s->dir_m);
    /* made by an earlier process, or by this one and lost, it is synced all the same: once per directory */
    char *dir = cos_sprintf("%s/data/%.2s", s->root, id);
    int rc = mkdir(dir, 0755) == 0 || errno == EEXIST ? 0 : errno;
    free(dir);
    fault_pause_point(STORE_PAUSE_DIR); /* made, not yet durable in data/ (tests: the "pause_dir" fault) */
    if (rc == 0 && !s->no_fsync) {
        char *parent = cos_sprintf("%s/data", s->root);
        rc = fsync_dir(parent) == 0 ? 0 : errno ? errno : EIO;
        free(parent);
    }
    pthread_mutex_lock(&s->dir_m);
    s->dir_syncing[i / 32] &= ~bit;
    if (rc == 0) atomic_fetch_or_explicit(&s->dir_synced[i / 32], bit, memory_order_release);
    pthread_mutex_unlock(&s->dir_m);
    pthread_cond_broadcast(&s->dir_cv);
    return rc;
}

/* The directory is gone (removed by hand while the store runs): the next body makes it again. */
static void data_dir_forget(store *s, const char *id)
{
    unsigned i = dir_index(id);
    atomic_fetch_and(&s->dir_synced[i / 32], ~(1u << i % 32));
}

/* The directory a placed body was renamed into, its own name in data/
 * first: 0 or errno. */
static int stage_sync_dir(struct data_stage *st)
{
    int rc = data_dir_ready(st->store, st->dir_id);
    if (rc != 0) return rc;
    return fsync_dir(st->dir) == 0 ? 0 : errno ? errno : EIO;
}

static void *stage_thread(void *arg)
{
    struct data_stage *st = arg;
    pthread_mutex_lock(&st->m);
    for (;;) {
        while (!st->quit && st->pending < 0 && !st->dir_due) pthread_cond_wait(&st->cv, &st->m);
        if (st->quit) break;
        if (st->pending < 0) { /* no buffer waits: the directory's turn */
            st->dir_due = false;
            st->dir_busy = true;
            pthread_mutex_unlock(&st->m);
            int err = stage_sync_dir(st);
            pthread_mutex_lock(&st->m);
            st->dir_busy = false;
            if (err && !st->err) st->err = err;
            pthread_mutex_unlock(&st->m);
            pthread_cond_broadcast(&st->cv);
            pthread_mutex_lock(&st->m);
            continue;
        }
        int b = st->pending;
        uint64_t off = st->pending_off;
        st->pending = -1;
        st->writing = true;
        pthread_mutex_unlock(&st->m);
        int err = stage_flush(st, st->buf[b], STAGE_BYTES, off);
        pthread_mutex_lock(&st->m);
        st->writing = false;
        if (err && !st->err) st->err = err;
        pthread_mutex_unlock(&st->m);
        pthread_cond_broadcast(&st->cv); /* unlocked: the writer woken does not wait for the lock */
        pthread_mutex_lock(&st->m);
    }
    bool orphan = st->orphan;
    pthread_mutex_unlock(&st->m);
    if (orphan) stage_free(st);
    return NULL;
}

/* Until the buffer handed over is written; its error, or 0. */
static int stage_idle(struct data_stage *st)
{
    if (!st->thread_on) return st->err;
    pthread_mutex_lock(&st->m);
    while (st->pending >= 0 || st->writing) pthread_cond_wait(&st->cv, &st->m);
    int err = st->err;
    pthread_mutex_unlock(&st->m);
    return err;
}

/* Until the placed body's directory is synced; its error (or a write's), or 0. */
static int stage_dir_wait(struct data_stage *st)
{
    pthread_mutex_lock(&st->m);
    while (st->dir_due || st->dir_busy) pthread_cond_wait(&st->cv, &st->m);
    int err = st->err;
    pthread_mutex_unlock(&st->m);
    return err;
}

/* A body that fills its first buffer is large: it is renamed into data/ now,
 * while it still arrives, and the flushing thread fsyncs its directory
 * between buffers, so its acknowledgement waits for the file's fsync alone.
 * (Renamed in data_finish, each part paid the directory's fsync after the
 * file's, on ext4 a journal commit of its own, on the path to its answer.)
 * Nothing names the file until the caller commits the row, after
 * data_finish, which waits for that fsync: a crash meanwhile leaves a file
 * no row names, removed at the next start (remove_unnamed), as a crash
 * between rename and commit always could. Not placed, it is renamed at the end. */
static void stage_place(data_writer *w, struct data_stage *st)
{
    size_t idlen = strlen(w->data_id), tlen = strlen(w->tmp_path);
    if (tlen < idlen + 5) return;
    char dst[sizeof w->tmp_path];
    int n = snprintf(dst, sizeof dst, "%.*s/data/%.2s/%s", (int)(tlen - idlen - 5), w->tmp_path, w->data_id, w->data_id);
    if (n < 0 || (size_t)n >= sizeof dst) return;
    snprintf(st->dir, sizeof st->dir, "%.*s", (int)((size_t)n - idlen - 1), dst);
    /* made here or not, its name in data/ is made durable by the flushing thread (stage_sync_dir):
       a directory another body has just made may not be yet */
    if (!data_dir_known(w->store, w->data_id) && mkdir(st->dir, 0755) != 0 && errno != EEXIST) return;
    if (rename(w->tmp_path, dst) != 0) return; /* a directory left empty is made durable by the next body in it */
    memcpy(w->tmp_path, dst, (size_t)n + 1);
    w->placed = true;
    pthread_mutex_lock(&st->m);
    st->store = w->store;
    memcpy(st->dir_id, w->data_id, 2);
    st->dir_due = true;
    pthread_mutex_unlock(&st->m);
}

/* The full buffer goes to the flushing thread (written here if there is none). */
static int stage_hand_over(data_writer *w)
{
    struct data_stage *st = w->stage;
    if (!st->thread_on) {
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setstacksize(&a, 64 << 10);
        st->thread_on = pthread_create(&st->thread, &a, stage_thread, st) == 0;
        pthread_attr_destroy(&a);
        if (!st->thread_on) return stage_flush(st, st->buf[st->cur], STAGE_BYTES, st->off);
        stage_place(w, st);
    }
    pthread_mutex_lock(&st->m);
    st->pending = st->cur;
    st->pending_off = st->off;
    pthread_mutex_unlock(&st->m);
    pthread_cond_signal(&st->cv);
    return 0;
}

/* The last buffer, once the others are written. 0 or errno. */
static int stage_finish(struct data_stage *st)
{
    int err = stage_idle(st);
    return err ? err : stage_flush(st, st->buf[st->cur], st->fill, st->off);
}

static int stage_write(data_writer *w, const unsigned char *buf, size_t len)
{
    struct data_stage *st = w->stage;
    data_hasher *h = w->hasher;
    while (len) {
        size_t take = COS_MIN(len, (size_t)STAGE_BYTES - st->fill);
        memcpy(st->buf[st->cur] + st->fill, buf, take);
        st->fill += take;
        w->size += take;
        buf += take;
        len -= take;
        hasher_publish(h, w->size, st->fill == STAGE_BYTES); /* a full buffer is waited on below */
        if (st->fill < STAGE_BYTES) continue;
        /* the other buffer is refilled once it is written and the hash has moved past it */
        int err = stage_idle(st);
        if (!err) err = stage_hand_over(w);
        if (!err) err = hasher_wait(h, st->off);
        if (err) {
            w->error = err;
            return -1;
        }
        uint64_t next = st->off + STAGE_BYTES;
        pthread_mutex_lock(&hs.m);
        h->stage_at[!st->cur] = next;
        pthread_mutex_unlock(&hs.m);
        st->cur = !st->cur;
        st->off = next;
        st->fill = 0;
    }
    return 0;
}

int data_write(data_writer *w, const void *buf, size_t len)
{
    if (w->error) return -1;
    if (w->stage) return stage_write(w, buf, len);
    if (w->in_memory && w->size + len > INLINE_MAX) {
        if (stage_from_memory(w)) return stage_write(w, buf, len);
        if (spill(w) != 0) return -1;
    }
    if (w->in_memory ? mem_append(w, buf, len) != 0 : (w->error = write_all(w->fd, buf, len)) != 0) return -1;
    if (!w->no_hash && !w->hasher && (w->in_memory || w->size + len < HASHER_THRESHOLD || hasher_start(w, w->size + len) != 0)) {
        md5_stream_update(&w->md5, buf, len);
        w->crc64 = cos_crc64(w->crc64, buf, len);
    }
    w->size += len;
    if (w->hasher) hasher_publish(w->hasher, w->size, false);
    kick_writeback(w, KICK_BYTES);
    return 0;
}

int data_copy(data_writer *w, int src_fd, uint64_t off, uint64_t len)
{
    if (w->error) return -1;
    if (w->in_memory && w->no_hash && spill(w) != 0) return -1; /* copy_file_range needs the file */
    while (w->no_hash && len) { /* the data never enters user space */
        loff_t in = (loff_t)off;
        ssize_t n = copy_file_range(src_fd, &in, w->fd, NULL, (size_t)COS_MIN(len, (uint64_t)1 << 30), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP || errno == EINVAL)) break;
        if (n <= 0) {
            w->error = n < 0 ? errno : EIO;
            return -1;
        }
        off += (uint64_t)n;
        len -= (uint64_t)n;
        w->size += (uint64_t)n;
        kick_writeback(w, KICK_BYTES);
    }
    char *buf = len ? malloc(1 << 20) : NULL;
    int rc = len && !buf ? -1 : 0;
    while (len && rc == 0) {
        ssize_t n = pread(src_fd, buf, (size_t)COS_MIN(len, (uint64_t)(1 << 20)), (off_t)off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            rc = -1;
            break;
        }
        rc = data_write(w, buf, (size_t)n);
        off += (uint64_t)n;
        len -= (uint64_t)n;
    }
    free(buf);
    return rc;
}

/* The blobs row of a body kept in memory, inside a write transaction. */
static int insert_blob(sqlite3 *db, const data_writer *w)
{
    int rc;
    sqlite3_stmt *st = stmt_get(db, "INSERT INTO blobs(id, body) VALUES(?1, ?2)", &rc);
    if (!st) return sql_fail(db, rc);
    sqlite3_bind_text(st, 1, w->data_id, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, w->mem ? (const void *)w->mem : "", (int)w->size, SQLITE_STATIC);
    rc = sqlite3_step(st);
    int out = rc == SQLITE_DONE ? 0 : sql_fail(db, rc);
    stmt_put(st);
    return out;
}

static void free_mem(data_writer *w)
{
    free(w->mem);
    w->mem = NULL;
    w->mem_cap = 0;
    w->in_memory = false;
    w->inline_pending = false;
}

/* A small body becomes a row of the blobs table. Its commit does not wait
 * for the log's fsync: the row that names it commits later in the same log,
 * and the fsync that row waits for covers both. */
static int finish_inline(store *s, data_writer *w, unsigned char md5[16])
{
    w->data_id[0] = INLINE_MARK;
    sqlite3 *db = conn_get(s);
    int rc = db ? tx_begin(s, &db) : STORE_FAILED;
    if (rc == 0) rc = tx_finish(s, db, insert_blob(db, w), false); /* the row naming it waits for the fsync that covers both */
    conn_put(s, db);
    if (rc != 0) w->error = rc == STORE_BUSY ? EBUSY : EIO;
    md5_stream_final(&w->md5, md5);
    free_mem(w);
    return rc;
}

int data_finish_deferred(store *s, data_writer *w, unsigned char md5[16])
{
    if (w->error || !w->in_memory) return data_finish(s, w, md5);
    w->data_id[0] = INLINE_MARK;
    md5_stream_final(&w->md5, md5);
    w->inline_pending = true;
    return 0;
}

void data_discard(store *s, data_writer *w)
{
    if (w->inline_pending) free_mem(w); /* never written anywhere */
    else data_unlink(s, w->data_id);
}

/* 0, or -1 with errno: the directory's entries (a rename into it) made durable. */
static int fsync_dir(const char *dir)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return -1;
    int rc = fsync(dfd);
    int e = errno;
    close(dfd);
    errno = e;
    return rc;
}

/* The file is renamed into place before it is fsynced: ext4 then commits the
 * new name in the journal transaction the file's fsync commits anyway
 * (renamed after, each part paid a second journal commit). ext4 still
 * commits the running transaction for a directory's fsync (the other
 * bodies' writes, the log's): a large body's was made while it arrived
 * (stage_place), and it waits for its file's alone here. Nothing names the file
 * until the caller commits its row, after this returns: a crash before that
 * leaves an unreferenced file, as a crash between rename and commit always
 * could, never an object with missing bytes. */
int data_finish(store *s, data_writer *w, unsigned char md5[16])
{
    if (!w->error && w->stage) { /* the last buffer: its aligned part direct, the rest through the page cache */
        int err = stage_finish(w->stage);
        if (err) w->error = err;
    }
    if (w->error) {
        data_abort(w);
        return -1;
    }
    if (w->in_memory) return finish_inline(s, w, md5);
    kick_writeback(w, 0); /* the disk takes the tail while the hasher catches up */
    bool durable = !s->no_fsync;
    char *dir = cos_sprintf("%s/data/%.2s", s->root, w->data_id);
    char *dst = data_path(s, w->data_id);
    int rc = 0;
    if (!w->placed) { /* else renamed already, its directory synced meanwhile (stage_place) */
        rc = data_dir_ready(s, w->data_id);
        if (rc == 0 && (rc = rename(w->tmp_path, dst)) != 0 && errno == ENOENT) {
            data_dir_forget(s, w->data_id);
            rc = data_dir_ready(s, w->data_id);
            if (rc == 0) rc = rename(w->tmp_path, dst);
        }
        if (rc > 0) { /* data_dir_ready's errno */
            errno = rc;
            rc = -1;
        }
    }
    bool renamed = rc == 0;
    if (rc == 0 && durable) rc = fsync(w->fd); /* the hashing thread catches up meanwhile */
    if (rc != 0 && !w->error) w->error = errno;
    int herr = hasher_join(w);
    int derr = w->placed && w->stage ? stage_dir_wait(w->stage) : 0;
    stage_end(w);
    if (herr && !w->error) w->error = herr;
    if (derr && !w->error) w->error = derr;
    if (!w->error && durable && !w->placed && fsync_dir(dir) != 0) w->error = errno;
    close(w->fd);
    w->fd = -1;
    rc = w->error ? -1 : 0;
    if (rc != 0) unlink(renamed ? dst : w->tmp_path);
    else md5_stream_final(&w->md5, md5);
    free(dir);
    free(dst);
    return rc;
}

bool data_batched(const data_writer *w) { return w->stage != NULL; }

void data_abort(data_writer *w)
{
    hasher_join(w);
    stage_end(w);
    free_mem(w);
    if (w->fd >= 0) {
        close(w->fd);
        unlink(w->tmp_path);
    }
    w->fd = -1;
}

static int read_manifest(store *s, const char *id, char ***ids, uint64_t **sizes, size_t *n);

static void blob_delete(store *s, const char *id)
{
    /* a failure leaves an unnamed row behind: space lost, nothing wrong served, removed at the next start */
    if (WRITE1(s, NULL, "DELETE FROM blobs WHERE id = ?1", id) != 0) atomic_store(&s->left_unnamed, true);
}

void data_unlink_file_only(store *s, const char *id)
{
    /* After a failed log fsync, a write answered 500 may still have its row in
       the log (committed, unsynced, yet a restart can find it): its body, and
       any other, is kept (space lost; never a row served without its body). */
    if (store_durability_lost(s)) return;
    if (id[0] == INLINE_MARK) {
        blob_delete(s, id);
        return;
    }
    char *p = data_path(s, id);
    if (unlink(p) != 0 && errno != ENOENT) atomic_store(&s->left_unnamed, true);
    free(p);
}

void data_unlink(store *s, const char *id)
{
    if (!id || !*id) return;
    if (id[0] == MANIFEST_MARK) { /* a multipart object: its parts go with it */
        char **ids;
        uint64_t *sizes;
        size_t n;
        if (read_manifest(s, id, &ids, &sizes, &n) == 0) {
            for (size_t i = 0; i < n; i++) {
                data_unlink_file_only(s, ids[i]);
                free(ids[i]);
            }
            free(ids);
            free(sizes);
        }
    }
    data_unlink_file_only(s, id);
}

/* ---------------------------------------------------------------- segmented data
 * A completed multipart object is not copied into one file: its data id
 * names a manifest ('M' + hex) listing its parts' data files and sizes, one
 * "ID SIZE" line each. Completing an upload then costs one small write
 * instead of rewriting (and fsyncing) the whole object a second time. */

int data_write_manifest(store *s, const char *const *ids, const uint64_t *sizes, size_t n, char out_id[40])
{
    data_writer w;
    if (begin_data(s, &w, true) != 0) return -1;
    cos_buf b = COS_BUF_INIT;
    for (size_t i = 0; i < n; i++) cos_buf_printf(&b, "%s %llu\n", ids[i], (unsigned long long)sizes[i]);
    unsigned char md5[16];
    int rc = b.data && data_write(&w, b.data, b.len) == 0 ? data_finish(s, &w, md5) : -1;
    if (rc != 0 && w.fd >= 0) data_abort(&w);
    cos_buf_free(&b);
    if (rc == 0) snprintf(out_id, 40, "%s", w.data_id);
    return rc;
}

int manifest_parse(const char *text, size_t len, char ***ids, uint64_t **sizes, size_t *n)
{
    *ids = NULL;
    *sizes = NULL;
    *n = 0;
    int rc = len ? 0 : -1;
    for (const char *p = text, *end = text + len; rc == 0 && p < end;) {
        /* "ID SIZE\n" exactly, as data_write_manifest writes it: fscanf read up to the first
           mismatch and kept the lines before it, so a damaged manifest served a short object as
           whole, and an id such as "../x" named a file outside data/ */
        const char *id = p;
        while (p < end && ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) p++;
        size_t id_len = (size_t)(p - id);
        uint64_t size = 0;
        const char *digits = p + 1;
        if (!id_len || id_len > 63 || id[0] == MANIFEST_MARK || p >= end || *p != ' ') {
            rc = -1;
            break;
        }
        for (p = digits; p < end && *p >= '0' && *p <= '9'; p++) {
            if (size > (UINT64_MAX - 9) / 10) rc = -1;
            size = size * 10 + (uint64_t)(*p - '0');
        }
        if (rc || p == digits || (*digits == '0' && p - digits > 1) || p >= end || *p != '\n') {
            rc = -1;
            break;
        }
        p++;
        char **ni = realloc(*ids, (*n + 1) * sizeof *ni);
        if (ni) *ids = ni;
        uint64_t *ns = realloc(*sizes, (*n + 1) * sizeof *ns);
        if (ns) *sizes = ns;
        if (!ni || !ns || !((*ids)[*n] = cos_strndup(id, id_len))) {
            rc = -1;
            break;
        }
        (*sizes)[(*n)++] = size;
    }
    if (rc != 0) {
        for (size_t i = 0; i < *n; i++) free((*ids)[i]);
        free(*ids);
        free(*sizes);
        *ids = NULL;
        *sizes = NULL;
        *n = 0;
    }
    return rc;
}

/* A manifest's segments, without opening them: ids (each malloc'd) and sizes. */
static int read_manifest(store *s, const char *id, char ***ids, uint64_t **sizes, size_t *n)
{
    *ids = NULL;
    *sizes = NULL;
    *n = 0;
    char *path = data_path(s, id);
    FILE *f = fopen(path, "re");
    free(path);
    if (!f) return -1;
    cos_buf b = COS_BUF_INIT;
    char tmp[8192];
    size_t got;
    while ((got = fread(tmp, 1, sizeof tmp, f)) > 0) cos_buf_append(&b, tmp, got);
    int rc = ferror(f) ? -1 : manifest_parse(b.data ? b.data : "", b.len, ids, sizes, n);
    fclose(f);
    cos_buf_free(&b);
    return rc;
}

int data_part_sizes(store *s, const char *data_id, uint64_t **sizes, size_t *n)
{
    *sizes = NULL;
    *n = 0;
    if (data_id[0] != MANIFEST_MARK) return 0;
    char **ids;
    if (read_manifest(s, data_id, &ids, sizes, n) != 0) return -1;
    for (size_t i = 0; i < *n; i++) free(ids[i]);
    free(ids);
    return 0;
}

typedef struct blob_read { unsigned char *mem; size_t len; bool found; } blob_read;
static int blob_read_cb(void *ud, sqlite3_stmt *st)
{
    blob_read *b = ud;
    const void *p = sqlite3_column_blob(st, 0);
    b->len = (size_t)sqlite3_column_bytes(st, 0);
    b->mem = malloc(b->len ? b->len : 1);
    if (b->mem && b->len) memcpy(b->mem, p, b->len);
    b->found = b->mem != NULL;
    return 1;
}

static int blob_read_all(store *s, const char *id, blob_read *b)
{
    *b = (blob_read){ NULL, 0, false };
    int rc = READ(s, "SELECT body FROM blobs WHERE id = ?1", blob_read_cb, b, id);
    return rc ? rc : b->found ? 0 : -1;
}

/* A segment's data as a readable fd: its file, or (a small part inside a
 * manifest) its blob copied into an anonymous memory file. */
static int open_segment(store *s, const char *id)
{
    if (id[0] != INLINE_MARK) {
        char *path = data_path(s, id);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        free(path);
        return fd;
    }
    blob_read b;
    if (blob_read_all(s, id, &b) != 0) return -1;
    int fd = memfd_create("cos-blob", MFD_CLOEXEC);
    int werr = fd >= 0 ? write_all(fd, b.mem, b.len) : 0;
    free(b.mem);
    if (werr) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* r as one segment: a file's fd, or (fd -1) a small object's bytes in mem.
 * Takes fd and mem, also on failure. */
static int single_segment(data_reader *r, const char *id, int fd, unsigned char *mem, uint64_t size)
{
    r->n = 1;
    r->fds = malloc(sizeof *r->fds);
    r->sizes = malloc(sizeof *r->sizes);
    r->ids = calloc(1, sizeof *r->ids);
    r->mem = mem;
    if (r->fds) r->fds[0] = fd;
    else if (fd >= 0) close(fd);
    if (!r->fds || !r->sizes || !r->ids || !(r->ids[0] = cos_strdup(id))) {
        data_close(r);
        return -1;
    }
    r->sizes[0] = r->total = size;
    return 0;
}

int data_open(store *s, const char *id, data_reader *r)
{
    memset(r, 0, sizeof *r);
    if (id[0] == INLINE_MARK) {
        if (memo.body && !strcmp(memo.body_id, id)) { /* read with its row (store_memo_want_body) */
            unsigned char *mem = memo.body;
            size_t len = memo.body_len;
            memo.body = NULL;
            memo.body_id[0] = '\0';
            return single_segment(r, id, -1, mem, len);
        }
        blob_read b;
        return blob_read_all(s, id, &b) == 0 ? single_segment(r, id, -1, b.mem, b.len) : -1;
    }
    if (id[0] != MANIFEST_MARK) {
        struct stat st;
        int fd = open_segment(s, id);
        if (fd < 0 || fstat(fd, &st) != 0) {
            if (fd >= 0) close(fd);
            return -1;
        }
        return single_segment(r, id, fd, NULL, (uint64_t)st.st_size);
    }
    if (read_manifest(s, id, &r->ids, &r->sizes, &r->n) != 0) return -1;
    r->fds = malloc((r->n ? r->n : 1) * sizeof *r->fds);
    int rc = r->fds ? 0 : -1;
    for (size_t i = 0; r->fds && i < r->n; i++) {
        r->fds[i] = -1;
        if (rc == 0 && (r->fds[i] = open_segment(s, r->ids[i])) < 0) rc = -1;
        r->total += r->sizes[i];
    }
    if (rc != 0) data_close(r);
    return rc;
}

ssize_t data_pread(const data_reader *r, void *buf, size_t len, uint64_t off)
{
    uint64_t base = 0;
    for (size_t i = 0; i < r->n; base += r->sizes[i], i++) {
        if (off >= base + r->sizes[i]) continue;
        uint64_t in = off - base;
        size_t want = (size_t)COS_MIN((uint64_t)len, r->sizes[i] - in);
        if (r->mem) {
            memcpy(buf, r->mem + in, want);
            return (ssize_t)want;
        }
        return pread(r->fds[i], buf, want, (off_t)in);
    }
    return 0; /* past the end */
}

int data_copy_from(data_writer *w, const data_reader *r, uint64_t off, uint64_t len)
{
    uint64_t base = 0;
    for (size_t i = 0; i < r->n && len; base += r->sizes[i], i++) {
        if (off >= base + r->sizes[i]) continue;
        uint64_t in = off - base;
        uint64_t take = COS_MIN(len, r->sizes[i] - in);
        if (r->mem ? data_write(w, r->mem + in, (size_t)take) : data_copy(w, r->fds[i], in, take)) return -1;
        off += take;
        len -= take;
    }
    return len ? -1 : 0;
}

void data_close(data_reader *r)
{
    for (size_t i = 0; i < r->n; i++) {
        if (r->fds && r->fds[i] >= 0) close(r->fds[i]);
        if (r->ids) free(r->ids[i]);
    }
    free(r->fds);
    free(r->sizes);
    free(r->ids);
    free(r->mem);
    memset(r, 0, sizeof *r);
}

/* ---------------------------------------------------------------- objects */

void obj_meta_clear(obj_meta *m)
{
    free(m->bucket);
    free(m->key);
    free(m->headers);
    free(m->storage_class);
    free(m->acl);
    free(m->tagging);
    memset(m, 0, sizeof *m);
}

/* Column i into a fixed field, cut to fit (what snprintf "%s" did, without a copy on the heap and printf). */
static void col_copy(sqlite3_stmt *st, int i, char *out, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    size_t n = t ? (size_t)sqlite3_column_bytes(st, i) : 0;
    if (n >= cap) n = cap - 1;
    if (n) memcpy(out, t, n);
    out[n] = '\0';
}

static void fill_meta(obj_meta *m, sqlite3_stmt *st)
{
    memset(m, 0, sizeof *m);
    m->bucket = col_str(st, 0);
    m->key = col_str(st, 1);
    m->size = (uint64_t)sqlite3_column_int64(st, 2);
    col_copy(st, 3, m->etag, sizeof m->etag);
    char crc[32];
    bool has_crc = sqlite3_column_type(st, 4) != SQLITE_NULL;
    col_copy(st, 4, crc, sizeof crc);
    if (has_crc) cos_parse_u64(crc, &m->crc64);
    m->mtime_ms = sqlite3_column_int64(st, 5);
    m->headers = col_str(st, 6);
    m->storage_class = col_str(st, 7);
    m->acl = col_str(st, 8);
    m->tagging = col_str(st, 9);
    col_copy(st, 10, m->data_id, sizeof m->data_id);
}

#define OBJ_COLS "bucket, key, size, etag, crc64, mtime, headers, storage_class, acl, tagging, data_id"

typedef struct one_obj { obj_meta *m; int found; } one_obj;
static int one_obj_cb(void *ud, sqlite3_stmt *st)
{
    one_obj *o = ud;
    fill_meta(o->m, st);
    o->found = 1;
    if (sqlite3_column_count(st) > 11 && sqlite3_column_type(st, 11) != SQLITE_NULL) { /* its inline body */
        free(memo.body);
        memo.body_len = (size_t)sqlite3_column_bytes(st, 11);
        memo.body = malloc(memo.body_len ? memo.body_len : 1);
        if (memo.body && memo.body_len) memcpy(memo.body, sqlite3_column_blob(st, 11), memo.body_len);
        snprintf(memo.body_id, sizeof memo.body_id, "%s", memo.body ? o->m->data_id : "");
    }
    return 1;
}

int store_object_get(store *s, const char *bucket, const char *key, obj_meta *out)
{
    one_obj o = { out, 0 };
    int rc = memo.want_body
                 ? READ(s, "SELECT " OBJ_COLS ", blobs.body FROM objects LEFT JOIN blobs ON blobs.id = objects.data_id"
                           " AND substr(objects.data_id, 1, 1) = 'I' WHERE bucket = ?1 AND key = ?2", one_obj_cb, &o, bucket, key)
                 : READ(s, "SELECT " OBJ_COLS " FROM objects WHERE bucket = ?1 AND key = ?2", one_obj_cb, &o, bucket, key);
    if (rc && o.found) obj_meta_clear(out);
    return rc ? rc : o.found ? 0 : -1;
}

static int id_cb(void *ud, sqlite3_stmt *st)
{
    char *id = col_str(st, 0);
    snprintf(ud, 40, "%s", id ? id : "");
    free(id);
    return 1;
}

/* Inside a write transaction: the row's new values replace any old ones; an
 * old body kept as a blob goes in the same transaction. */
static int keep_current(sqlite3 *db, const char *bucket, const char *key, int keep, char gone[40], bool *cur_null);
static int versioning_in_tx(sqlite3 *db, const char *bucket, int *keep);

static int put_row(sqlite3 *db, const obj_meta *m, char old[40])
{
    char size[32], crc[32], mtime[32];
    snprintf(size, sizeof size, "%llu", (unsigned long long)m->size);
    snprintf(crc, sizeof crc, "%llu", (unsigned long long)m->crc64);
    snprintf(mtime, sizeof mtime, "%lld", (long long)m->mtime_ms);
    /* the bucket, checked where the row is written: one deleted after the
       request's checks (a paced or long body, a copy) would otherwise keep an
       acknowledged object no listing shows, back in a bucket made again */
    int64_t bucket_there = 0;
    int rc = EXEC(db, "SELECT COUNT(*) FROM buckets WHERE name = ?1", count_cb, &bucket_there, m->bucket);
    if (!rc && !bucket_there) rc = STORE_NO_BUCKET;
    if (!rc && m->expect_id) { /* checked where it is written: a racing writer cannot slip in between */
        char cur[40] = "";
        rc = EXEC(db, "SELECT data_id FROM objects WHERE bucket = ?1 AND key = ?2", id_cb, cur, m->bucket, m->key);
        if (!rc && strcmp(cur, m->expect_id) != 0) rc = STORE_CHANGED;
    }
    /* decided unversioned, and versioning came on before this transaction:
       replacing the row outright would lose a version written under it
       meanwhile, so the write is made as one under versioning (a new id,
       or Suspended the null one), as if it had come after the change */
    obj_meta late;
    char *late_headers = NULL;
    if (!rc && m->keep == VKEEP_OFF) {
        int keep = 0;
        rc = versioning_in_tx(db, m->bucket, &keep);
        if (!rc && keep) {
            char vid[64] = "null";
            late = *m;
            late.keep = keep;
            if (keep == VKEEP_ARCHIVE) {
                store_version_id_new(vid);
                late.headers = late_headers = cos_sprintf("%s" VERSION_LINE " %s\n", m->headers ? m->headers : "", vid);
                if (!late_headers) rc = STORE_FAILED;
            }
            if (m->version_out) snprintf(m->version_out, 64, "%s", vid);
            m = &late;
        }
    }
    /* a null version in versions that a Suspended write replaces: removed like an old body */
    if (!rc && m->keep && m->keep != VKEEP_OFF) rc = keep_current(db, m->bucket, m->key, m->keep, old, NULL);
    if (!rc && !old[0])
        rc = EXEC(db, "SELECT data_id FROM objects WHERE bucket = ?1 AND key = ?2", id_cb, old, m->bucket, m->key);
    if (!rc)
        rc = EXEC(db, "INSERT OR REPLACE INTO objects(" OBJ_COLS ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                  NULL, NULL, m->bucket, m->key, size, m->etag, crc, mtime, m->headers, m->storage_class, m->acl,
                  m->tagging, m->data_id);
    free(late_headers);
    if (!strcmp(old, m->data_id)) old[0] = '\0'; /* the same body: nothing to remove */
    if (!rc && old[0] == INLINE_MARK) {
        rc = EXEC(db, "DELETE FROM blobs WHERE id = ?1", NULL, NULL, old);
        old[0] = '\0';
    }
    return rc;
}

/* One write transaction for the body kept inline (if pending) and the row
 * naming it: they become durable together, by the one log fsync the commit
 * waits for, so a crash leaves both or neither. */
static int put_body_alone(store *s, const obj_meta *m, data_writer *body, char old[40])
{
    bool pending = body && body->inline_pending;
    sqlite3 *db = conn_get(s);
    int rc = db ? tx_begin(s, &db) : STORE_FAILED;
    if (rc == 0) {
        int r = pending ? insert_blob(db, body) : 0;
        rc = tx_end(s, db, r ? r : put_row(db, m, old));
    }
    conn_put(s, db);
    return rc;
}

/* ------------------------------------------------------------ batched PUTs
 * A small PUT's transaction (its inline body and its row) costs mostly what
 * every transaction costs: BEGIN and COMMIT with the log's locks, and the
 * b-tree pages it shares with the PUTs beside it (the leaves of the tables
 * and their indexes, page 1), each appended to the log again by every commit:
 * 9-10 pages of 4 KiB per 4 KiB PUT with 16 in flight, each checksummed,
 * written and fsynced. PUTs that come while a batch runs wait on a list; the
 * next leader (the first of them) runs them all in one transaction, each
 * inside a savepoint so that one that fails (its bucket gone, the body it
 * expected replaced) is rolled back alone, makes the commit durable
 * (durable_wait) and only then gives each its answer. One that a failure
 * of the whole transaction (a full disk) undid runs again on its own.
 * DELETEs of unversioned objects (store_object_delete) join the same batches. */
enum { J_WAITING, J_DONE, J_LEAD };
/* a batch's sub-journal (savepoints) stays within the spill size set in sqlite_setup */
enum { BATCH_MAX = 32 };
enum { JOB_RETRY = -1000 }; /* undone with the batch's transaction: run again alone */
typedef struct put_job {
    struct put_job *next;
    int (*run)(sqlite3 *db, struct put_job *j); /* its statements, inside the batch's transaction */
    const obj_meta *m;      /* a PUT: its row */
    data_writer *body;      /* its inline body, if pending: inserted in the same transaction */
    const char *bucket, *key; /* a DELETE: its object */
    const char *only_id;    /* a DELETE: only while its object is this body (NULL: whichever) */
    char old[40];           /* the body its row replaced or deleted: removed once durable */
    int rc;
    char err[sizeof last_error]; /* its failure's message, from the leader's thread */
    _Atomic uint32_t state; /* J_WAITING until a leader changes it */
} put_job;

/* With batch_m held; returns without it, once j is no longer J_WAITING. */
static void job_sleep(store *s, put_job *j)
{
#ifdef __linux__
    pthread_mutex_unlock(&s->batch_m);
    while (atomic_load(&j->state) == J_WAITING)
        syscall(SYS_futex, &j->state, FUTEX_WAIT_PRIVATE, J_WAITING, NULL, NULL, 0);
#else
    while (atomic_load(&j->state) == J_WAITING) pthread_cond_wait(&s->batch_cv, &s->batch_m);
    pthread_mutex_unlock(&s->batch_m);
#endif
}

/* j taken off the queue (or in the leader's own batch), batch_m not held.
 * Its thread may return as soon as the store is made (the job was on its
 * stack): the wake then finds no sleeper (as waiter_wake). With a futex no
 * lock is taken: a wake is a system call, and made under batch_m it kept
 * the PUTs arriving meanwhile asleep on the lock (a futex wait and wake each). */
static void job_wake(store *s, put_job *j, uint32_t state)
{
#ifdef __linux__
    (void)s;
    atomic_store(&j->state, state);
    syscall(SYS_futex, &j->state, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
#else
    pthread_mutex_lock(&s->batch_m); /* the sleepers wait on batch_cv under it */
    atomic_store(&j->state, state);
    pthread_cond_broadcast(&s->batch_cv);
    pthread_mutex_unlock(&s->batch_m);
#endif
}

static void job_failed(put_job *j, int rc)
{
    j->rc = rc;
    snprintf(j->err, sizeof j->err, "%s", last_error);
}

/* The leader: runs the jobs of `batch` (its own first) in one transaction,
 * hands the turn to the next waiting PUT, waits for the commit's fsync and
 * answers every job but its own. */
static void batch_run(store *s, put_job *batch)
{
    int rc = 0;
    uint64_t count = 0;
    for (put_job *j = batch; j; j = j->next) j->rc = 0, count++;
    if (atomic_load(&s->sync_broken)) { /* as tx_begin: nothing more is committed */
        snprintf(last_error, sizeof last_error, "%s", STORE_LOST_MESSAGE);
        rc = STORE_FAILED;
    } else {
        pthread_mutex_lock(&s->wlock);
        if (!s->wdb) {
            snprintf(last_error, sizeof last_error, "no writable database");
            rc = STORE_FAILED;
        } else {
            sqlite3_busy_timeout(s->wdb, s->busy_ms);
            int c = stmt_run(s->wdb, "BEGIN IMMEDIATE");
            if (c != SQLITE_OK) rc = sql_fail(s->wdb, c);
        }
        if (rc) pthread_mutex_unlock(&s->wlock);
    }
    uint64_t n = 0;
    if (rc) {
        for (put_job *j = batch; j; j = j->next) job_failed(j, rc);
    } else {
        sqlite3 *db = s->wdb;
        bool multi = batch->next != NULL, lost = false, any = false;
        for (put_job *j = batch; j && !lost; j = j->next) {
            int r = multi ? stmt_run(db, "SAVEPOINT put") : SQLITE_OK;
            r = r != SQLITE_OK ? sql_fail(db, r) : j->run(db, j);
            if (r == 0 && multi && (r = stmt_run(db, "RELEASE put")) != SQLITE_OK) r = sql_fail(db, r);
            if (r == 0) {
                any = true;
                continue;
            }
            job_failed(j, r);
            /* rolled back alone; or else the whole transaction goes (SQLite may already have
               rolled it back), and the others run again alone: none of them is committed */
            if (sqlite3_get_autocommit(db) ||
                (multi && (stmt_run(db, "ROLLBACK TO put") != SQLITE_OK || stmt_run(db, "RELEASE put") != SQLITE_OK))) {
                lost = true;
                for (put_job *o = batch; o; o = o->next)
                    if (o != j) o->rc = JOB_RETRY;
            }
        }
        if (!lost && any) {
            int c = stmt_run(db, "COMMIT");
            if (c == SQLITE_OK) {
                n = commit_counted(s);
            } else {
                c = sql_fail(db, c);
                for (put_job *j = batch; j; j = j->next)
                    if (j->rc == 0) job_failed(j, c);
            }
        }
        if (!sqlite3_get_autocommit(db)) stmt_run(db, "ROLLBACK");
        if (s->meta_touched) { /* as tx_finish */
            s->meta_touched = false;
            atomic_fetch_add(&s->meta_gen, 1);
        }
        pthread_mutex_unlock(&s->wlock);
    }
    atomic_fetch_add_explicit(&s->batch_jobs, count, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->batch_commits, 1, memory_order_relaxed);
    /* the next batch runs while this one's fsync does */
    pthread_mutex_lock(&s->batch_m);
    put_job *next = s->batch_head;
    if (next) { /* batch_leader stays set: it is next's from here on */
        s->batch_head = next->next;
        if (!s->batch_head) s->batch_tail = NULL;
    } else {
        s->batch_leader = false;
    }
    pthread_mutex_unlock(&s->batch_m);
    if (next) job_wake(s, next, J_LEAD);
    if (n) {
        int d = durable_wait(s, n); /* one wait for all: their commit is the same */
        if (d)
            for (put_job *j = batch; j; j = j->next)
                if (j->rc == 0) job_failed(j, d);
    }
    /* the batch is this leader's alone since write_batched took it off the queue */
    for (put_job *j = batch->next, *after; j; j = after) {
        after = j->next; /* j is gone once woken */
        job_wake(s, j, J_DONE);
    }
}

static int run_put(sqlite3 *db, put_job *j)
{
    int r = j->body && j->body->inline_pending ? insert_blob(db, j->body) : 0;
    return r ? r : put_row(db, j->m, j->old);
}

/* A write's transaction (j->run), run with those of the writes that come
 * alongside: 0 (its old body's id in j->old), or its error; JOB_RETRY when
 * another's failure undid it. */
static int write_batched(store *s, put_job *j)
{
    memo_forget(); /* as tx_begin: what this request reads after its write, it reads anew */
    atomic_init(&j->state, J_WAITING);
    pthread_mutex_lock(&s->batch_m);
    bool lead = !s->batch_leader;
    if (lead) {
        s->batch_leader = true;
    } else {
        if (s->batch_tail) s->batch_tail->next = j;
        else s->batch_head = j;
        s->batch_tail = j;
        job_sleep(s, j);
        lead = atomic_load(&j->state) == J_LEAD;
        if (lead) pthread_mutex_lock(&s->batch_m);
    }
    if (lead) { /* the writes waiting join this batch, after this one, up to BATCH_MAX */
        j->next = s->batch_head;
        put_job *last = j->next;
        for (int k = 2; last && k < BATCH_MAX; k++) last = last->next;
        s->batch_head = last ? last->next : NULL;
        if (last) last->next = NULL;
        if (!s->batch_head) s->batch_tail = NULL;
        pthread_mutex_unlock(&s->batch_m);
        batch_run(s, j);
    }
    if (j->rc && j->rc != JOB_RETRY) snprintf(last_error, sizeof last_error, "%s", j->err);
    return j->rc;
}

static int put_batched(store *s, const obj_meta *m, data_writer *body, char old[40])
{
    put_job j = { .run = run_put, .m = m, .body = body };
    int rc = write_batched(s, &j);
    if (rc == JOB_RETRY) return put_body_alone(s, m, body, old);
    if (rc == 0) memcpy(old, j.old, sizeof j.old);
    return rc;
}

int store_object_put_body(store *s, const obj_meta *m, data_writer *body)
{
    char old[40] = "";
    bool pending = body && body->inline_pending;
    fault_pause_point(STORE_PAUSE_WRITE);
    /* an injected commit failure is this thread's (store_fault_commits): counted by tx_finish */
    int rc = fault_commits >= 0 ? put_body_alone(s, m, body, old) : put_batched(s, m, body, old);
    if (pending) free_mem(body);
    if (rc == 0) data_unlink(s, old);
    return rc;
}

int store_object_put(store *s, const obj_meta *m) { return store_object_put_body(s, m, NULL); }

size_t store_batch_queued(store *s)
{
    size_t n = 0;
    pthread_mutex_lock(&s->batch_m);
    for (const put_job *j = s->batch_head; j; j = j->next) n++;
    pthread_mutex_unlock(&s->batch_m);
    return n;
}

typedef struct row_id { char id[40]; bool found; } row_id;
static int row_id_cb(void *ud, sqlite3_stmt *st)
{
    row_id *r = ud;
    r->found = true;
    return id_cb(r->id, st);
}

int store_versioning_keep(const void *body, size_t len)
{
    cos_versioning_configuration *v = NULL;
    int keep = 0;
    if (body && cos_xml_parse(&cos_xs_versioning_configuration, body, len, (void **)&v, NULL) == 0 && v->status)
        keep = !strcmp(v->status, "Enabled") ? VKEEP_ARCHIVE : !strcmp(v->status, "Suspended") ? VKEEP_NULL : 0;
    cos_xml_free(&cos_xs_versioning_configuration, v);
    return keep;
}

static int versioning_cb(void *ud, sqlite3_stmt *st)
{
    *(int *)ud = store_versioning_keep(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
    return 1;
}

/* Inside a write's transaction: the bucket's versioning as it is now (the
 * request decided from an earlier read, and a batch may have held it since). */
static int versioning_in_tx(sqlite3 *db, const char *bucket, int *keep)
{
    *keep = 0;
    return EXEC(db, "SELECT body FROM configs WHERE bucket = ?1 AND kind = 'versioning'", versioning_cb, keep, bucket);
}

/* Inside the DELETE's transaction: the caller found the bucket unversioned
 * before it (versioning.c). Versioning enabled meanwhile (it is never
 * switched off again) makes it STORE_CHANGED: deleting the row outright
 * would lose a version written under it; the caller decides again. */
static int unversioned_still(sqlite3 *db, const char *bucket)
{
    int keep = 0;
    int rc = versioning_in_tx(db, bucket, &keep);
    return rc ? rc : keep ? STORE_CHANGED : 0;
}

static int run_delete(sqlite3 *db, put_job *j)
{
    row_id row = { "", false };
    int rc = unversioned_still(db, j->bucket);
    if (!rc) rc = EXEC(db, "SELECT data_id FROM objects WHERE bucket = ?1 AND key = ?2", row_id_cb, &row, j->bucket, j->key);
    if (!rc && row.found && j->only_id && strcmp(row.id, j->only_id) != 0) row = (row_id){ "", false };
    if (!rc && row.found) rc = EXEC(db, "DELETE FROM objects WHERE bucket = ?1 AND key = ?2", NULL, NULL, j->bucket, j->key);
    if (!rc && row.id[0] == INLINE_MARK) {
        rc = EXEC(db, "DELETE FROM blobs WHERE id = ?1", NULL, NULL, row.id);
        row.id[0] = '\0';
    }
    memcpy(j->old, row.id, sizeof j->old);
    return rc ? rc : row.found ? 0 : 1; /* 1: nothing to delete */
}

static int delete_alone(store *s, const char *bucket, const char *key, const char *only_id);

/* 0, -1 when there is none, or a STORE_ error; batched as PUTs are. */
int store_object_delete_if(store *s, const char *bucket, const char *key, const char *only_id)
{
    fault_pause_point(STORE_PAUSE_WRITE);
    if (fault_commits >= 0) return delete_alone(s, bucket, key, only_id);
    put_job j = { .run = run_delete, .bucket = bucket, .key = key, .only_id = only_id };
    int rc = write_batched(s, &j);
    if (rc == JOB_RETRY) return delete_alone(s, bucket, key, only_id);
    if (rc == 0) data_unlink(s, j.old);
    return rc == 1 ? -1 : rc;
}

int store_object_delete(store *s, const char *bucket, const char *key)
{
    return store_object_delete_if(s, bucket, key, NULL);
}

static int delete_alone(store *s, const char *bucket, const char *key, const char *only_id)
{
    row_id row = { "", false };
    char *old = row.id;
    sqlite3 *db = conn_get(s);
    int rc = db ? tx_begin(s, &db) : STORE_FAILED;
    if (rc == 0) {
        rc = unversioned_still(db, bucket);
        if (!rc) rc = EXEC(db, "SELECT data_id FROM objects WHERE bucket = ?1 AND key = ?2", row_id_cb, &row, bucket, key);
        if (!rc && row.found && only_id && strcmp(old, only_id) != 0) row = (row_id){ "", false };
        bool found = row.found;
        if (!rc && found) rc = EXEC(db, "DELETE FROM objects WHERE bucket = ?1 AND key = ?2", NULL, NULL, bucket, key);
        if (!rc && old[0] == INLINE_MARK) {
            rc = EXEC(db, "DELETE FROM blobs WHERE id = ?1", NULL, NULL, old);
            old[0] = '\0';
        }
        rc = tx_end(s, db, rc ? rc : found ? 0 : 1); /* 1: nothing to delete */
    }
    conn_put(s, db);
    if (rc == 0) data_unlink(s, old);
    return rc == 1 ? -1 : rc;
}

int store_object_set(store *s, const char *bucket, const char *key, const char *column, const char *value)
{
    /* column comes from our own code, never from a request */
    char *sql = cos_sprintf("UPDATE objects SET %s = ?3 WHERE bucket = ?1 AND key = ?2", column);
    int changed = 0;
    int rc = WRITE1(s, &changed, sql, bucket, key, value);
    free(sql);
    return rc ? rc : changed ? 0 : -1;
}

typedef struct cur_row { char id[40]; char *headers; bool found; } cur_row;
static int cur_row_cb(void *ud, sqlite3_stmt *st)
{
    cur_row *c = ud;
    c->found = true;
    id_cb(c->id, st);
    c->headers = col_str(st, 1);
    return 1;
}

int store_object_set_if(store *s, const char *bucket, const char *key, const char *data_id, const char *column,
                        const char *value)
{
    /* column comes from our own code, never from a request */
    char *sql = cos_sprintf("UPDATE objects SET %s = ?3 WHERE bucket = ?1 AND key = ?2 AND data_id = ?4", column);
    int changed = 0;
    int rc = WRITE1(s, &changed, sql, bucket, key, value, data_id);
    free(sql);
    return rc ? rc : changed ? 0 : -1;
}

int store_version_set(store *s, const char *bucket, const char *key, const char *version_id, const char *column,
                      const char *value)
{
    /* column comes from our own code, never from a request */
    char *vsql = cos_sprintf("UPDATE versions SET %s = ?4 WHERE bucket = ?1 AND key = ?2 AND version_id = ?3 AND marker = 0",
                             column);
    char *osql = cos_sprintf("UPDATE objects SET %s = ?3 WHERE bucket = ?1 AND key = ?2", column);
    cur_row c = { "", NULL, false };
    int changed = 0;
    sqlite3 *db = conn_get(s);
    int rc = db ? tx_begin(s, &db) : STORE_FAILED;
    if (rc == 0) {
        rc = EXEC(db, vsql, NULL, NULL, bucket, key, version_id, value);
        if (!rc) changed = sqlite3_changes(db);
        /* not an older version: the current one, if it is that version (checked in the transaction) */
        if (!rc && !changed)
            rc = EXEC(db, "SELECT data_id, headers FROM objects WHERE bucket = ?1 AND key = ?2", cur_row_cb, &c, bucket,
                      key);
        char vid[64] = "";
        if (c.found) version_of(c.headers, vid);
        if (!rc && !changed && c.found && !strcmp(vid, version_id)) {
            rc = EXEC(db, osql, NULL, NULL, bucket, key, value);
            if (!rc) changed = sqlite3_changes(db);
        }
        rc = tx_end(s, db, rc ? rc : changed ? 0 : 1);
    }
    conn_put(s, db);
    free(c.headers);
    free(vsql);
    free(osql);
    return rc == 1 ? -1 : rc;
}

int store_version_set_if(store *s, const char *bucket, const char *key, const char *data_id, const char *column,
                         const char *value)
{
    /* column comes from our own code, never from a request; a data id names
       one stored version, current or not, and no other */
    char *vsql = cos_sprintf("UPDATE versions SET %s = ?3 WHERE bucket = ?1 AND key = ?2 AND data_id = ?4 AND marker = 0",
                             column);
    char *osql = cos_sprintf("UPDATE objects SET %s = ?3 WHERE bucket = ?1 AND key = ?2 AND data_id = ?4", column);
    int changed = 0;
    sqlite3 *db = conn_get(s);
    int rc = db ? tx_begin(s, &db) : STORE_FAILED;
    if (rc == 0) {
        rc = EXEC(db, vsql, NULL, NULL, bucket, key, value, data_id);
        if (!rc) changed = sqlite3_changes(db);
        if (!rc && !changed) {
            rc = EXEC(db, osql, NULL, NULL, bucket, key, value, data_id);
            if (!rc) changed = sqlite3_changes(db);
        }
        rc = tx_end(s, db, rc ? rc : changed ? 0 : 1);
    }
    conn_put(s, db);
    free(vsql);
    free(osql);
    return rc == 1 ? -1 : rc;
}

/* ---------------------------------------------------------------- listings
 * Keys order bytewise, so everything under a prefix is one range of the
 * primary key's index: [prefix, successor(prefix)). A listing is a seek and
 * a walk of one page; with a delimiter, each common prefix costs one row
 * and a seek past the rest of it, never a walk through its keys. */

/* The least string above every string that starts with p[0..n): p with its
 * last byte below 0xFF incremented, what follows dropped. Its length in out
 * (NUL-terminated), or 0 if there is none. */
static size_t successor(const char *p, size_t n, char *out)
{
    while (n && (unsigned char)p[n - 1] == 0xFF) n--;
    if (!n) return 0;
    memcpy(out, p, n);
    out[n - 1] = (char)((unsigned char)out[n - 1] + 1);
    out[n] = '\0';
    return n;
}

/* bit 1: the lower bound is inclusive; bit 2: there is an upper bound. */
const char *store_list_sql(int variant)
{
    static const char *const SQL[4] = {
        "SELECT " OBJ_COLS " FROM objects WHERE bucket = ?1 AND key > ?2 ORDER BY key",
        "SELECT " OBJ_COLS " FROM objects WHERE bucket = ?1 AND key >= ?2 ORDER BY key",
        "SELECT " OBJ_COLS " FROM objects WHERE bucket = ?1 AND key > ?2 AND key < ?3 ORDER BY key",
        "SELECT " OBJ_COLS " FROM objects WHERE bucket = ?1 AND key >= ?2 AND key < ?3 ORDER BY key",
    };
    return SQL[variant & 3];
}

int store_object_list(store *s, const char *bucket, const char *prefix, const char *delimiter, const char *after,
                      int (*cb)(void *ud, const obj_meta *m), void *ud)
{
    prefix = prefix ? prefix : "";
    size_t plen = strlen(prefix), dlen = delimiter ? strlen(delimiter) : 0;
    size_t cap = plen + (after ? strlen(after) : 0) + 2;
    char *lo = malloc(cap), *hi = malloc(plen + 2);
    if (!lo || !hi) {
        free(lo);
        free(hi);
        return STORE_FAILED;
    }
    bool incl = true, has_hi = plen && successor(prefix, plen, hi);
    snprintf(lo, cap, "%s", prefix);
    if (after && strcmp(after, prefix) >= 0) { /* strcmp compares bytes as unsigned: COS's order */
        snprintf(lo, cap, "%s", after);
        incl = false;
        /* a marker inside a common prefix (a truncated page's NextMarker is
           the prefix itself): that prefix was listed, go past all of it */
        const char *d = dlen && !strncmp(after, prefix, plen) ? strstr(after + plen, delimiter) : NULL;
        if (d && !successor(after, (size_t)(d - after) + dlen, lo)) goto none;
        if (d) incl = true;
    }
    sqlite3 *db = conn_get(s);
    if (!db) {
        free(lo);
        free(hi);
        return STORE_FAILED;
    }
    /* one snapshot for the whole page, however many seeks it takes */
    int rc = stmt_run(db, "BEGIN") == SQLITE_OK ? 0 : sql_fail(db, SQLITE_ERROR);
    bool more = rc == 0;
    while (more) {
        int r;
        sqlite3_stmt *st = stmt_get(db, store_list_sql((incl ? 1 : 0) | (has_hi ? 2 : 0)), &r);
        if (!st) {
            rc = sql_fail(db, r);
            break;
        }
        sqlite3_bind_text(st, 1, bucket, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, lo, -1, SQLITE_TRANSIENT);
        if (has_hi) sqlite3_bind_text(st, 3, hi, -1, SQLITE_STATIC);
        more = false;
        while ((r = sqlite3_step(st)) == SQLITE_ROW) {
            atomic_fetch_add(&s->rows_visited, 1);
            obj_meta m;
            fill_meta(&m, st);
            int stop = m.key ? cb(ud, &m) : 0;
            const char *d = !stop && dlen && m.key ? strstr(m.key + plen, delimiter) : NULL;
            if (d) { /* seek past this common prefix */
                size_t n = (size_t)(d - m.key) + dlen;
                if (n + 2 > cap) {
                    char *p = realloc(lo, n + 2);
                    if (p) lo = p, cap = n + 2;
                }
                if (n + 2 <= cap && successor(m.key, n, lo)) {
                    incl = true;
                    more = true;
                }
                stop = 1; /* restart from lo, or (no successor) nothing can follow */
            }
            obj_meta_clear(&m);
            if (stop) break;
        }
        if (r != SQLITE_ROW && r != SQLITE_DONE) {
            rc = sql_fail(db, r);
            more = false;
        }
        stmt_put(st);
    }
    if (!sqlite3_get_autocommit(db)) stmt_run(db, "COMMIT");
    conn_put(s, db);
    free(lo);
    free(hi);
    return rc;
none:
    free(lo);
    free(hi);
    return 0;
}

int store_object_scan(store *s, const char *bucket, const char *prefix, const char *after,
                      int (*cb)(void *ud, const obj_meta *m), void *ud)
{
    return store_object_list(s, bucket, prefix, NULL, after, cb, ud);
}

/* ---------------------------------------------------------------- multipart */

int store_upload_create(store *s, const char *bucket, const char *key, const char *headers, char upload_id[64])
{
    char rnd[33], now[32];
    random_hex(rnd, 16);
    snprintf(upload_id, 64, "%lld%s", (long long)(cos_now_ms() / 1000), rnd);
    snprintf(now, sizeof now, "%lld", (long long)cos_now_ms());
    /* only into a bucket still there (deleted after the request's checks: none is made) */
    int made = 0;
    int rc = WRITE1(s, &made, "INSERT INTO uploads(upload_id, bucket, key, initiated, headers) SELECT ?1, ?2, ?3, ?4, ?5"
                              " WHERE EXISTS(SELECT 1 FROM buckets WHERE name = ?2)",
                    upload_id, bucket, key, now, headers);
    return rc ? rc : made ? 0 : STORE_NO_BUCKET;
}

typedef struct upload_out { char **bucket, **key, **headers; int found; } upload_out;
static int upload_cb(void *ud, sqlite3_stmt *st)
{
    upload_out *u = ud;
    if (u->bucket) *u->bucket = col_str(st, 0);
    if (u->key) *u->key = col_str(st, 1);
    if (u->headers) *u->headers = col_str(st, 2);
    u->found = 1;
    return 1;
}

int store_upload_get(store *s, const char *upload_id, char **bucket, char **key, char **headers)
{
    upload_out u = { bucket, key, headers, 0 };
    int rc = READ(s, "SELECT bucket, key, headers FROM uploads WHERE upload_id = ?1", upload_cb, &u, upload_id);
    return rc ? rc : u.found ? 0 : -1;
}

static int ids_cb(void *ud, sqlite3_stmt *st)
{
    id_list *l = ud;
    char **p = realloc(l->ids, (l->n + 1) * sizeof *p);
    if (!p) return 1;
    l->ids = p;
    l->ids[l->n++] = col_str(st, 0);
    return 0;
}

static void free_ids(id_list *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->ids[i]);
    free(l->ids);
    l->ids = NULL;
    l->n = 0;
}

int store_upload_delete(store *s, const char *upload_id)
{
    id_list l = { NULL, 0 };
    int found = 0;
    sqlite3 *db = conn_get(s);
    int rc = db ? tx_begin(s, &db) : STORE_FAILED;
    if (rc == 0) {
        rc = EXEC(db, "SELECT data_id FROM parts WHERE upload_id = ?1", ids_cb, &l, upload_id);
        if (!rc) rc = EXEC(db, "DELETE FROM parts WHERE upload_id = ?1", NULL, NULL, upload_id);
        if (!rc) rc = EXEC(db, "DELETE FROM uploads WHERE upload_id = ?1", NULL, NULL, upload_id);
        if (!rc) found = sqlite3_changes(db);
        rc = tx_end(s, db, rc);
    }
    conn_put(s, db);
    for (size_t i = 0; rc == 0 && i < l.n; i++) data_unlink(s, l.ids[i]);
    free_ids(&l);
    return rc ? rc : found ? 0 : -1;
}

static int cmp_str_ptr(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static bool in_sorted(char *const *sorted, size_t n, const char *id)
{
    return n && bsearch(&id, sorted, n, sizeof *sorted, cmp_str_ptr) != NULL;
}

int store_upload_complete(store *s, const obj_meta *m, const char *upload_id, const char *const *used, size_t nused)
{
    char old[40] = "";
    fault_pause_point(STORE_PAUSE_WRITE);
    id_list parts = { NULL, 0 };
    /* sorted copies, so that 10,000 parts are matched in n log n */
    char **named = malloc((nused ? nused : 1) * sizeof *named);
    if (!named) return STORE_FAILED;
    memcpy(named, used, nused * sizeof *named);
    qsort(named, nused, sizeof *named, cmp_str_ptr);
    sqlite3 *db = conn_get(s);
    int rc = db ? tx_begin(s, &db) : STORE_FAILED;
    if (rc == 0) {
        char live[40] = ""; /* aborted (or completed) meanwhile: -1, NoSuchUpload */
        rc = EXEC(db, "SELECT upload_id FROM uploads WHERE upload_id = ?1", id_cb, live, upload_id);
        if (!rc && !live[0]) rc = -1;
        if (!rc) rc = EXEC(db, "SELECT data_id FROM parts WHERE upload_id = ?1", ids_cb, &parts, upload_id);
        /* every part the manifest names must still be the upload's: a part
           re-uploaded meanwhile replaced (and will delete) the file named here */
        for (size_t i = 0; i < parts.n; i++)
            if (!parts.ids[i]) rc = STORE_FAILED;
        if (rc == 0) qsort(parts.ids, parts.n, sizeof *parts.ids, cmp_str_ptr);
        for (size_t i = 0; rc == 0 && i < nused; i++)
            if (!in_sorted(parts.ids, parts.n, used[i])) rc = 1;
        if (rc == 0) rc = put_row(db, m, old);
        if (rc == 0) rc = EXEC(db, "DELETE FROM parts WHERE upload_id = ?1", NULL, NULL, upload_id);
        if (rc == 0) rc = EXEC(db, "DELETE FROM uploads WHERE upload_id = ?1", NULL, NULL, upload_id);
        rc = tx_end(s, db, rc);
    }
    conn_put(s, db);
    if (rc == 0) {
        /* parts the manifest does not name (uploaded but left out) go now */
        for (size_t i = 0; i < parts.n; i++)
            if (!in_sorted(named, nused, parts.ids[i])) data_unlink(s, parts.ids[i]);
        data_unlink(s, old);
    }
    free_ids(&parts);
    free(named);
    return rc;
}

int store_part_put(store *s, const char *upload_id, const part_meta *p)
{
    char num[16], size[32], crc[32], mtime[32], old[40] = "", live[40] = "";
    snprintf(num, sizeof num, "%d", p->number);
    snprintf(size, sizeof size, "%llu", (unsigned long long)p->size);
    snprintf(crc, sizeof crc, "%llu", (unsigned long long)p->crc64);
    snprintf(mtime, sizeof mtime, "%lld", (long long)p->mtime_ms);
    sqlite3 *db = conn_get(s);
    int rc = db ? tx_begin(s, &db) : STORE_FAILED;
    if (rc == 0) {
        /* the upload may have been completed or aborted while this part arrived */
        rc = EXEC(db, "SELECT upload_id FROM uploads WHERE upload_id = ?1", id_cb, live, upload_id);
        if (!rc && !live[0]) rc = 1;
        if (!rc) rc = EXEC(db, "SELECT data_id FROM parts WHERE upload_id = ?1 AND number = ?2", id_cb, old, upload_id, num);
        if (!rc)
            rc = EXEC(db, "INSERT OR REPLACE INTO parts(upload_id, number, size, etag, crc64, data_id, mtime)"
                          " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)", NULL, NULL, upload_id, num, size, p->etag, crc,
                      p->data_id, mtime);
        rc = tx_end(s, db, rc);
    }
    conn_put(s, db);
    if (rc == 0 && strcmp(old, p->data_id) != 0) data_unlink(s, old);
    return rc;
}

typedef struct parts_out { part_meta *p; size_t n; } parts_out;
static int parts_cb(void *ud, sqlite3_stmt *st)
{
    parts_out *o = ud;
    part_meta *p = realloc(o->p, (o->n + 1) * sizeof *p);
    if (!p) return 1;
    o->p = p;
    part_meta *m = &p[o->n++];
    memset(m, 0, sizeof *m);
    m->number = sqlite3_column_int(st, 0);
    m->size = (uint64_t)sqlite3_column_int64(st, 1);
    char *etag = col_str(st, 2), *crc = col_str(st, 3), *id = col_str(st, 4);
    snprintf(m->etag, sizeof m->etag, "%s", etag ? etag : "");
    if (crc) cos_parse_u64(crc, &m->crc64);
    snprintf(m->data_id, sizeof m->data_id, "%s", id ? id : "");
    m->mtime_ms = sqlite3_column_int64(st, 5);
    free(etag);
    free(crc);
    free(id);
    return 0;
}

int store_parts_list(store *s, const char *upload_id, part_meta **out, size_t *count)
{
    parts_out o = { NULL, 0 };
    int rc = READ(s, "SELECT number, size, etag, crc64, data_id, mtime FROM parts WHERE upload_id = ?1 ORDER BY number",
                  parts_cb, &o, upload_id);
    *out = o.p;
    *count = o.n;
    return rc;
}

typedef struct uploads_out { upload_row *r; size_t n; } uploads_out;
static int uploads_cb(void *ud, sqlite3_stmt *st)
{
    uploads_out *o = ud;
    upload_row *p = realloc(o->r, (o->n + 1) * sizeof *p);
    if (!p) return 1;
    o->r = p;
    p[o->n].key = col_str(st, 0);
    p[o->n].upload_id = col_str(st, 1);
    p[o->n].initiated_ms = sqlite3_column_int64(st, 2);
    o->n++;
    return 0;
}

int store_uploads_list(store *s, const char *bucket, const char *prefix, upload_row **out, size_t *count)
{
    uploads_out o = { NULL, 0 };
    prefix = prefix ? prefix : "";
    size_t plen = strlen(prefix);
    char *hi = malloc(plen + 2);
    int rc = STORE_FAILED;
    if (hi && plen && successor(prefix, plen, hi))
        rc = READ(s, "SELECT key, upload_id, initiated FROM uploads WHERE bucket = ?1 AND key >= ?2 AND key < ?3"
                     " ORDER BY key, initiated", uploads_cb, &o, bucket, prefix, hi);
    else if (hi)
        rc = READ(s, "SELECT key, upload_id, initiated FROM uploads WHERE bucket = ?1 AND key >= ?2"
                     " ORDER BY key, initiated", uploads_cb, &o, bucket, prefix);
    free(hi);
    *out = o.r;
    *count = o.n;
    return rc;
}

/* ---------------------------------------------------------------- additions for #18 (listing configs) */

typedef struct kinds_out { char **kinds; size_t n; } kinds_out;
static int kinds_cb(void *ud, sqlite3_stmt *st)
{
    kinds_out *o = ud;
    char **p = realloc(o->kinds, (o->n + 1) * sizeof *p);
    if (!p) return 1;
    o->kinds = p;
    o->kinds[o->n++] = col_str(st, 0);
    return 0;
}

int store_config_list(store *s, const char *bucket, const char *prefix, char ***kinds, size_t *count)
{
    kinds_out o = { NULL, 0 };
    int rc = READ(s, "SELECT kind FROM configs WHERE bucket = ?1 AND substr(kind, 1, length(?2)) = ?2 ORDER BY rowid",
                  kinds_cb, &o, bucket, prefix);
    *kinds = o.kinds;
    *count = o.n;
    return rc;
}

/* ---------------------------------------------------------------- additions for #18 (object versions)
 * The current version of an object stays in `objects`; older versions and
 * delete markers live in `versions`, each owning its data. */

void store_version_id_new(char vid[64])
{
    /* time first, so ids of one key sort by age; then randomness */
    unsigned char rnd[9];
    server_random(rnd, sizeof rnd);
    char b64[16];
    cos_base64_encode(rnd, sizeof rnd, b64);
    for (char *c = b64; *c; c++)
        if (*c == '+' || *c == '/') *c = 'x';
    snprintf(vid, 64, "MTg0NDUx%013lld%s", (long long)cos_now_ms(), b64);
}

void version_of(const char *headers, char vid[64])
{
    const char *p = headers ? strstr(headers, VERSION_LINE) : NULL;
    if (!p) {
        snprintf(vid, 64, "null");
        return;
    }
    p += strlen(VERSION_LINE);
    while (*p == ' ') p++;
    size_t n = strcspn(p, "\n");
    snprintf(vid, 64, "%.*s", (int)(n < 63 ? n : 63), p);
}

/* Remove an inline body with its row, in the transaction; a file's id stays for after the commit. */
static int drop_inline(sqlite3 *db, char id[40])
{
    if (id[0] != INLINE_MARK) return 0;
    int rc = EXEC(db, "DELETE FROM blobs WHERE id = ?1", NULL, NULL, id);
    id[0] = '\0';
    return rc;
}

/* Inside a write transaction, before a write or a delete marker of key
 * (VKEEP_ in server.h): the current version moves to versions under its
 * own id, or, Suspended, a null one in versions goes (its data id in gone,
 * to remove after the commit) and *cur_null tells whether the current one
 * is the null version, left in place for the caller to replace. */
static int keep_current(sqlite3 *db, const char *bucket, const char *key, int keep, char gone[40], bool *cur_null)
{
    cur_row c = { "", NULL, false };
    int rc = EXEC(db, "SELECT data_id, headers FROM objects WHERE bucket = ?1 AND key = ?2", cur_row_cb, &c, bucket, key);
    char vid[64] = "null";
    if (c.found) version_of(c.headers, vid);
    free(c.headers);
    if (!rc && keep == VKEEP_NULL) {
        rc = EXEC(db, "SELECT data_id FROM versions WHERE bucket = ?1 AND key = ?2 AND version_id = 'null'", id_cb, gone,
                  bucket, key);
        if (!rc && gone[0])
            rc = EXEC(db, "DELETE FROM versions WHERE bucket = ?1 AND key = ?2 AND version_id = 'null'", NULL, NULL,
                      bucket, key);
        if (!rc) rc = drop_inline(db, gone);
    }
    bool archive = c.found && (keep == VKEEP_ARCHIVE || strcmp(vid, "null") != 0);
    if (!rc && archive) {
        rc = EXEC(db, "INSERT OR REPLACE INTO versions(" OBJ_COLS ", version_id, marker) SELECT " OBJ_COLS
                      ", ?3, 0 FROM objects WHERE bucket = ?1 AND key = ?2", NULL, NULL, bucket, key, vid);
        if (!rc) rc = EXEC(db, "DELETE FROM objects WHERE bucket = ?1 AND key = ?2", NULL, NULL, bucket, key);
    }
    if (cur_null) *cur_null = c.found && !archive;
    return rc;
}

int store_version_marker(store *s, const char *bucket, const char *key, const char *version_id, int64_t mtime_ms,
                         int keep, const char *only_id)
{
    char mtime[32], gone[40] = "", cur[40] = "";
    snprintf(mtime, sizeof mtime, "%lld", (long long)mtime_ms);
    bool cur_null = false;
    fault_pause_point(STORE_PAUSE_WRITE); /* a DELETE under versioning, decided (tests: the "pause" fault) */
    sqlite3 *db = conn_get(s);
    int rc = db ? tx_begin(s, &db) : STORE_FAILED;
    if (rc == 0) {
        if (only_id) { /* another object is current now: 1, nothing done */
            char now[40] = "";
            rc = EXEC(db, "SELECT data_id FROM objects WHERE bucket = ?1 AND key = ?2", id_cb, now, bucket, key);
            if (!rc && now[0] && strcmp(now, only_id) != 0) rc = 1;
        }
        if (!rc) rc = keep_current(db, bucket, key, keep, gone, &cur_null);
        if (!rc && cur_null) { /* Suspended over a null current version: the marker replaces it */
            rc = EXEC(db, "SELECT data_id FROM objects WHERE bucket = ?1 AND key = ?2", id_cb, cur, bucket, key);
            if (!rc) rc = EXEC(db, "DELETE FROM objects WHERE bucket = ?1 AND key = ?2", NULL, NULL, bucket, key);
            if (!rc) rc = drop_inline(db, cur);
        }
        if (!rc)
            rc = EXEC(db, "INSERT OR REPLACE INTO versions(bucket, key, size, etag, mtime, data_id, version_id, marker)"
                          " VALUES(?1, ?2, 0, '', ?4, '', ?3, 1)", NULL, NULL, bucket, key, version_id, mtime);
        rc = tx_end(s, db, rc);
    }
    conn_put(s, db);
    if (rc == 0) {
        data_unlink(s, gone);
        data_unlink(s, cur);
    }
    return rc;
}

typedef struct version_out { obj_meta *m; bool *marker; char *vid; int found; } version_out;
static int version_cb(void *ud, sqlite3_stmt *st)
{
    version_out *o = ud;
    fill_meta(o->m, st);
    if (o->vid) {
        char *v = col_str(st, 11);
        snprintf(o->vid, 64, "%s", v ? v : "");
        free(v);
    }
    if (o->marker) *o->marker = sqlite3_column_int(st, 12) != 0;
    o->found = 1;
    return 1;
}

int store_version_get(store *s, const char *bucket, const char *key, const char *version_id, obj_meta *out,
                      bool *marker)
{
    version_out o = { out, marker, NULL, 0 };
    int rc = READ(s, "SELECT " OBJ_COLS ", version_id, marker FROM versions WHERE bucket = ?1 AND key = ?2 AND"
                     " version_id = ?3", version_cb, &o, bucket, key, version_id);
    return rc ? rc : o.found ? 0 : -1;
}

/* Inside a write transaction, with no current version of key: the newest
 * older one becomes current, unless it is a delete marker. */
static int promote_tx(sqlite3 *db, const char *bucket, const char *key)
{
    obj_meta m;
    bool marker = false;
    char vid[64] = "";
    version_out o = { &m, &marker, vid, 0 };
    int rc = EXEC(db, "SELECT " OBJ_COLS ", version_id, marker FROM versions WHERE bucket = ?1 AND key = ?2"
                      " ORDER BY mtime DESC, rowid DESC LIMIT 1", version_cb, &o, bucket, key);
    if (rc == 0 && o.found && !marker) {
        rc = EXEC(db, "INSERT OR REPLACE INTO objects(" OBJ_COLS ") SELECT " OBJ_COLS
                      " FROM versions WHERE bucket = ?1 AND key = ?2 AND version_id = ?3", NULL, NULL, bucket, key, vid);
        if (rc == 0)
            rc = EXEC(db, "DELETE FROM versions WHERE bucket = ?1 AND key = ?2 AND version_id = ?3", NULL, NULL, bucket,
                      key, vid);
    }
    if (o.found) obj_meta_clear(&m);
    return rc;
}

int store_version_delete(store *s, const char *bucket, const char *key, const char *version_id, bool *was_marker)
{
    obj_meta m;
    bool marker = false;
    version_out o = { &m, &marker, NULL, 0 };
    char old[40] = "", cur_gone[40] = "";
    bool was_current = false;
    sqlite3 *db = conn_get(s);
    int rc = db ? tx_begin(s, &db) : STORE_FAILED;
    if (rc == 0) {
        rc = EXEC(db, "SELECT " OBJ_COLS ", version_id, marker FROM versions WHERE bucket = ?1 AND key = ?2 AND"
                      " version_id = ?3", version_cb, &o, bucket, key, version_id);
        if (rc == 0 && o.found)
            rc = EXEC(db, "DELETE FROM versions WHERE bucket = ?1 AND key = ?2 AND version_id = ?3", NULL, NULL, bucket,
                      key, version_id);
        /* a removed delete marker may uncover an older version: in the same transaction */
        int64_t current = 1;
        if (rc == 0 && o.found)
            rc = EXEC(db, "SELECT EXISTS(SELECT 1 FROM objects WHERE bucket = ?1 AND key = ?2)", count_cb, &current,
                      bucket, key);
        if (rc == 0 && o.found && !current) rc = promote_tx(db, bucket, key);
        /* not among the older versions, because it is current now: made so since the caller found it was not
           (the current one deleted meanwhile) — before, answered NoSuchVersion and kept, current */
        cur_row c = { "", NULL, false };
        if (rc == 0 && !o.found)
            rc = EXEC(db, "SELECT data_id, headers FROM objects WHERE bucket = ?1 AND key = ?2", cur_row_cb, &c, bucket, key);
        char vid[64] = "";
        if (c.found) version_of(c.headers, vid);
        free(c.headers);
        if (rc == 0 && c.found && !strcmp(vid, version_id)) {
            rc = EXEC(db, "DELETE FROM objects WHERE bucket = ?1 AND key = ?2", NULL, NULL, bucket, key);
            snprintf(cur_gone, sizeof cur_gone, "%s", c.id);
            if (!rc) rc = drop_inline(db, cur_gone);
            if (!rc) rc = promote_tx(db, bucket, key);
            if (!rc) was_current = true;
        }
        rc = tx_end(s, db, rc ? rc : o.found || was_current ? 0 : 1);
    }
    conn_put(s, db);
    if (o.found) {
        snprintf(old, sizeof old, "%s", m.data_id);
        obj_meta_clear(&m);
    }
    if (was_marker) *was_marker = marker;
    if (rc == 0 && old[0]) data_unlink(s, old);
    if (rc == 0 && cur_gone[0]) data_unlink(s, cur_gone);
    return rc == 1 ? -1 : rc;
}

int store_version_delete_current(store *s, const char *bucket, const char *key, const char *version_id)
{
    cur_row c = { "", NULL, false };
    sqlite3 *db = conn_get(s);
    int rc = db ? tx_begin(s, &db) : STORE_FAILED;
    if (rc == 0) {
        rc = EXEC(db, "SELECT data_id, headers FROM objects WHERE bucket = ?1 AND key = ?2", cur_row_cb, &c, bucket, key);
        char vid[64] = "";
        if (c.found) version_of(c.headers, vid);
        bool is_it = c.found && !strcmp(vid, version_id);
        if (!rc && is_it) rc = EXEC(db, "DELETE FROM objects WHERE bucket = ?1 AND key = ?2", NULL, NULL, bucket, key);
        if (!rc && is_it) rc = drop_inline(db, c.id);
        if (!rc && is_it) rc = promote_tx(db, bucket, key);
        rc = tx_end(s, db, rc ? rc : is_it ? 0 : 1); /* 1: not the current version, nothing changed */
    }
    conn_put(s, db);
    free(c.headers);
    if (rc == 0) data_unlink(s, c.id);
    return rc;
}

typedef struct vscan_ctx { int (*cb)(void *, const obj_meta *, const char *, bool); void *ud; } vscan_ctx;
static int vscan_cb(void *ud, sqlite3_stmt *st)
{
    vscan_ctx *c = ud;
    obj_meta m;
    bool marker = false;
    char vid[64] = "";
    version_out o = { &m, &marker, vid, 0 };
    version_cb(&o, st);
    int stop = c->cb(c->ud, &m, vid, marker);
    obj_meta_clear(&m);
    return stop;
}

int store_versions_scan(store *s, const char *bucket, const char *prefix,
                        int (*cb)(void *ud, const obj_meta *m, const char *version_id, bool marker), void *ud)
{
    vscan_ctx c = { cb, ud };
    return READ(s, "SELECT " OBJ_COLS ", version_id, marker FROM versions WHERE bucket = ?1 AND"
                   " substr(CAST(key AS BLOB), 1, length(CAST(?2 AS BLOB))) = CAST(?2 AS BLOB)"
                   " ORDER BY CAST(key AS BLOB), mtime DESC, rowid DESC", vscan_cb, &c, bucket, prefix ? prefix : "");
}

typedef struct vlisting_ctx {
    int (*cur)(void *, const obj_meta *);
    vscan_ctx ver;
} vlisting_ctx;
static int vlisting_cb(void *ud, sqlite3_stmt *st)
{
    vlisting_ctx *c = ud;
    if (!sqlite3_column_int(st, 13)) return vscan_cb(&c->ver, st);
    obj_meta m;
    fill_meta(&m, st);
    int stop = c->cur(c->ver.ud, &m);
    obj_meta_clear(&m);
    return stop;
}

int store_versions_listing(store *s, const char *bucket, const char *prefix, int (*cur)(void *ud, const obj_meta *m),
                           int (*ver)(void *ud, const obj_meta *m, const char *version_id, bool marker), void *ud)
{
    /* one statement, so one snapshot: read apart, a version archived in between showed twice; the
       current rows are the range [prefix, successor(prefix)) of the objects' index, as listings read them */
    vlisting_ctx c = { cur, { ver, ud } };
    size_t plen = prefix ? strlen(prefix) : 0;
    char *hi = malloc(plen + 2);
    if (!hi) return STORE_FAILED;
    bool has_hi = plen && successor(prefix, plen, hi);
#define VERSIONS_PART " UNION ALL SELECT " OBJ_COLS ", version_id, marker, 0 FROM versions WHERE bucket = ?1 AND" \
                      " substr(CAST(key AS BLOB), 1, length(CAST(?2 AS BLOB))) = CAST(?2 AS BLOB)"
    int rc = has_hi ? READ(s, "SELECT " OBJ_COLS ", NULL, 0, 1 FROM objects WHERE bucket = ?1 AND key >= ?2 AND key < ?3"
                              VERSIONS_PART, vlisting_cb, &c, bucket, prefix, hi)
                    : READ(s, "SELECT " OBJ_COLS ", NULL, 0, 1 FROM objects WHERE bucket = ?1 AND key >= ?2" VERSIONS_PART,
                           vlisting_cb, &c, bucket, prefix ? prefix : "");
#undef VERSIONS_PART
    free(hi);
    return rc;
}

int store_versions_count(store *s, const char *bucket)
{
    int64_t n = 0;
    int rc = READ(s, "SELECT count(*) FROM versions WHERE bucket = ?1", count_cb, &n, bucket);
    return rc ? rc : (int)n;
}

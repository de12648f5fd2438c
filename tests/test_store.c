/* test_store.c — cos-server's store driven directly (server/store.c is
 * compiled into this test): listings use the primary key's index in
 * bytewise order and cost O(page) rows, delimiter listings included; reads
 * and listings do not wait for writes; a locked database makes every write
 * fail with STORE_BUSY and change nothing; old databases are migrated; a
 * write returns only once an fsync of the metadata log covers it;
 * checkpoints keep the log bounded under a long stream of small writes;
 * large durable bodies written with O_DIRECT (or, refused, through the page
 * cache) come back byte for byte with their MD5 and CRC-64. */
#define _GNU_SOURCE
#include "testlib.h"
#include "server.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <pthread.h>
#include <sched.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#define B "bkt-1250000000"

static store *open_store(const char *tag, char **dir)
{
    *dir = test_tmpdir(tag);
    store *s = NULL;
    char *err = NULL;
    CHECK(store_open(&s, *dir, &err) == 0);
    if (err) fprintf(stderr, "%s\n", err);
    free(err);
    if (s) CHECK(store_bucket_create(s, B, "ap-guangzhou", "private") == 0);
    return s;
}

static void close_store(store *s, char *dir)
{
    store_close(s);
    test_rmtree(dir);
    free(dir);
}

static int put_key(store *s, const char *key)
{
    obj_meta m = { 0 };
    m.bucket = (char *)B;
    m.key = (char *)key;
    snprintf(m.etag, sizeof m.etag, "\"e\"");
    m.acl = (char *)"default";
    m.storage_class = (char *)"STANDARD";
    snprintf(m.data_id, sizeof m.data_id, "Inone"); /* no blob row: nothing to read here */
    return store_object_put(s, &m);
}

typedef struct collected {
    char **keys;
    size_t n, max;
} collected;

static int collect_cb(void *ud, const obj_meta *m)
{
    collected *c = ud;
    if (c->n >= c->max) return 1;
    c->keys = realloc(c->keys, (c->n + 1) * sizeof *c->keys);
    c->keys[c->n++] = cos_strdup(m->key);
    return 0;
}

static void collected_free(collected *c)
{
    for (size_t i = 0; i < c->n; i++) free(c->keys[i]);
    free(c->keys);
    memset(c, 0, sizeof *c);
}

/* EXPLAIN QUERY PLAN of every listing statement: a search of the primary
 * key's index, no scan, no temporary B-tree for the ORDER BY. */
static void test_listing_plan(void)
{
    char *dir;
    store *s = open_store("store-plan", &dir);
    if (!s) return;
    char *path = cos_sprintf("%s/meta.db", dir);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    for (int v = 0; v < 4; v++) {
        char *sql = cos_sprintf("EXPLAIN QUERY PLAN %s", store_list_sql(v));
        sqlite3_stmt *st = NULL;
        CHECK(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK);
        cos_buf plan = COS_BUF_INIT;
        while (st && sqlite3_step(st) == SQLITE_ROW) cos_buf_printf(&plan, "%s\n", (const char *)sqlite3_column_text(st, 3));
        sqlite3_finalize(st);
        const char *p = plan.data ? plan.data : "";
        if (!strstr(p, "SEARCH objects USING") || strstr(p, "TEMP B-TREE") || strstr(p, "SCAN"))
            test_fail(__FILE__, __LINE__, "listing %d plan: %s", v, p);
        CHECK(strstr(p, "key>") != NULL); /* the index range starts at the marker / prefix */
        cos_buf_free(&plan);
        free(sql);
    }
    sqlite3_close(db);
    free(path);
    close_store(s, dir);
}

/* Keys order bytewise (UTF-8 byte order = code point order), prefixes are
 * byte prefixes, and a marker inside a common prefix skips it. */
static void test_bytewise_order(void)
{
    char *dir;
    store *s = open_store("store-order", &dir);
    if (!s) return;
    const char *keys[] = { "a", "a/", "a/b", "a0", "A", "\x7f", "\xc3\xa9",         /* é */
                           "\xef\xbf\xbd",                                          /* U+FFFD */
                           "\xf0\x9f\x98\x80",                                      /* U+1F600: above U+FFFD in UTF-8 and code points */
                           "z/1", "z/2/x", "z/2/y", "z/3" };
    size_t n = sizeof keys / sizeof *keys;
    for (size_t i = 0; i < n; i++) CHECK(put_key(s, keys[i]) == 0);
    collected c = { NULL, 0, 100 };
    CHECK(store_object_scan(s, B, NULL, NULL, collect_cb, &c) == 0);
    CHECK_INT(c.n, n);
    for (size_t i = 1; i < c.n; i++)
        if (strcmp(c.keys[i - 1], c.keys[i]) >= 0) test_fail(__FILE__, __LINE__, "order: %s before %s", c.keys[i - 1], c.keys[i]);
    collected_free(&c);
    /* a prefix that ends inside a UTF-8 sequence is still a byte prefix */
    c.max = 100;
    CHECK(store_object_scan(s, B, "\xc3", NULL, collect_cb, &c) == 0);
    CHECK_INT(c.n, 1);
    if (c.n == 1) CHECK_STR(c.keys[0], "\xc3\xa9");
    collected_free(&c);
    /* delimiter: z/1, then z/2/ once, then z/3 */
    c.max = 100;
    CHECK(store_object_list(s, B, "z/", "/", NULL, collect_cb, &c) == 0);
    CHECK_INT(c.n, 3);
    if (c.n == 3) {
        CHECK_STR(c.keys[0], "z/1");
        CHECK_STR(c.keys[1], "z/2/x");
        CHECK_STR(c.keys[2], "z/3");
    }
    collected_free(&c);
    /* the marker is the common prefix a truncated page ended with: go past it */
    c.max = 100;
    CHECK(store_object_list(s, B, "z/", "/", "z/2/", collect_cb, &c) == 0);
    CHECK_INT(c.n, 1);
    if (c.n == 1) CHECK_STR(c.keys[0], "z/3");
    collected_free(&c);
    close_store(s, dir);
}

/* A page costs the rows it returns: 1,000 keys deep in 5,000, and a
 * delimiter listing over 10 prefixes of 500 keys each reads 10 rows. */
static void test_listing_cost(void)
{
    char *dir;
    store *s = open_store("store-cost", &dir);
    if (!s) return;
    for (int i = 0; i < 5000; i++) {
        char key[64];
        snprintf(key, sizeof key, "d%02d/%06d", i % 10, i);
        if (put_key(s, key) != 0) {
            CHECK(!"put");
            break;
        }
    }
    collected c = { NULL, 0, 1000 };
    uint64_t before = store_rows_visited(s);
    CHECK(store_object_scan(s, B, NULL, "d03/", collect_cb, &c) == 0);
    uint64_t rows = store_rows_visited(s) - before;
    CHECK_INT(c.n, 1000);
    if (rows > 1001) test_fail(__FILE__, __LINE__, "a 1,000-key page read %llu rows", (unsigned long long)rows);
    if (c.n) CHECK(!strncmp(c.keys[0], "d03/", 4));
    collected_free(&c);
    c.max = 1000;
    before = store_rows_visited(s);
    CHECK(store_object_list(s, B, NULL, "/", NULL, collect_cb, &c) == 0);
    rows = store_rows_visited(s) - before;
    CHECK_INT(c.n, 10);
    if (rows > 10) test_fail(__FILE__, __LINE__, "10 common prefixes read %llu rows", (unsigned long long)rows);
    collected_free(&c);
    /* under a prefix, with a marker in the middle of it */
    c.max = 10;
    before = store_rows_visited(s);
    CHECK(store_object_list(s, B, "d07/", "/", "d07/002507", collect_cb, &c) == 0);
    rows = store_rows_visited(s) - before;
    CHECK_INT(c.n, 10);
    if (c.n) CHECK_STR(c.keys[0], "d07/002517");
    if (rows > 11) test_fail(__FILE__, __LINE__, "10 keys read %llu rows", (unsigned long long)rows);
    collected_free(&c);
    close_store(s, dir);
}

/* A listing parked in its callback (holding its read snapshot) does not stop
 * a write, a read or another listing on other threads. */
typedef struct park {
    store *s;
    pthread_mutex_t m;
    pthread_cond_t cv;
    bool parked, writer_done;
    int writer_rc[4];
} park;

static int park_cb(void *ud, const obj_meta *m)
{
    (void)m;
    park *p = ud;
    pthread_mutex_lock(&p->m);
    p->parked = true;
    pthread_cond_broadcast(&p->cv);
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 60; /* only a bound against hanging the suite: the old global lock never got here */
    while (!p->writer_done && pthread_cond_timedwait(&p->cv, &p->m, &dl) == 0) {}
    pthread_mutex_unlock(&p->m);
    return 1;
}

static void *lister_main(void *arg)
{
    park *p = arg;
    store_object_scan(p->s, B, NULL, NULL, park_cb, p);
    return NULL;
}

static int count_cb(void *ud, const obj_meta *m)
{
    (void)m;
    (*(int *)ud)++;
    return 0;
}

static void *worker_main(void *arg)
{
    park *p = arg;
    obj_meta m;
    int n = 0;
    p->writer_rc[0] = put_key(p->s, "other");
    p->writer_rc[1] = store_object_get(p->s, B, "other", &m);
    if (p->writer_rc[1] == 0) obj_meta_clear(&m);
    p->writer_rc[2] = store_object_scan(p->s, B, NULL, NULL, count_cb, &n);
    p->writer_rc[3] = store_object_delete(p->s, B, "k1");
    pthread_mutex_lock(&p->m);
    p->writer_done = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->m);
    return NULL;
}

static void test_concurrent_reads_and_writes(void)
{
    char *dir;
    store *s = open_store("store-conc", &dir);
    if (!s) return;
    CHECK(put_key(s, "k1") == 0);
    CHECK(put_key(s, "k2") == 0);
    park p = { .s = s, .m = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
    pthread_t lt, wt;
    pthread_create(&lt, NULL, lister_main, &p);
    pthread_mutex_lock(&p.m);
    while (!p.parked) pthread_cond_wait(&p.cv, &p.m);
    pthread_mutex_unlock(&p.m);
    pthread_create(&wt, NULL, worker_main, &p);
    pthread_join(wt, NULL);
    pthread_join(lt, NULL);
    CHECK(p.writer_done);
    for (int i = 0; i < 4; i++) CHECK_INT(p.writer_rc[i], 0);
    close_store(s, dir);
}

/* Another process holds the database's write lock: every write fails with
 * STORE_BUSY (never success, never "absent"), and nothing changed. */
static void test_locked_database(void)
{
    char *dir;
    store *s = open_store("store-locked", &dir);
    if (!s) return;
    CHECK(put_key(s, "keep") == 0);
    CHECK(store_config_put(s, B, "cors", "<x/>", 4) == 0);
    char upload[64];
    CHECK(store_upload_create(s, B, "mp", NULL, upload) == 0);
    store_set_busy_timeout(s, 50);
    char *path = cos_sprintf("%s/meta.db", dir);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL) == SQLITE_OK);
    CHECK_INT(put_key(s, "new"), STORE_BUSY);
    CHECK_INT(put_key(s, "keep"), STORE_BUSY);
    CHECK_INT(store_object_delete(s, B, "keep"), STORE_BUSY);
    CHECK_INT(store_object_delete(s, B, "absent"), STORE_BUSY); /* it cannot even tell */
    CHECK_INT(store_object_set(s, B, "keep", "acl", "public-read"), STORE_BUSY);
    CHECK_INT(store_bucket_set_acl(s, B, "public-read"), STORE_BUSY);
    CHECK_INT(store_config_put(s, B, "policy", "{}", 2), STORE_BUSY);
    CHECK_INT(store_config_delete(s, B, "cors"), STORE_BUSY);
    CHECK_INT(store_bucket_create(s, "other-1250000000", "ap-guangzhou", "private"), STORE_BUSY);
    CHECK_INT(store_bucket_delete(s, B), STORE_BUSY);
    char up2[64];
    CHECK_INT(store_upload_create(s, B, "mp2", NULL, up2), STORE_BUSY);
    part_meta pm = { .number = 1, .size = 1 };
    snprintf(pm.data_id, sizeof pm.data_id, "Inone");
    CHECK_INT(store_part_put(s, upload, &pm), STORE_BUSY);
    CHECK_INT(store_upload_delete(s, upload), STORE_BUSY);
    /* reads go on: WAL readers do not wait for the writer */
    obj_meta m;
    CHECK(store_object_get(s, B, "keep", &m) == 0);
    CHECK_STR(m.acl, "default");
    obj_meta_clear(&m);
    CHECK(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    /* nothing of the above happened */
    CHECK(store_object_get(s, B, "new", &m) == -1);
    char *acl = NULL, *body = NULL;
    size_t len = 0;
    CHECK(store_bucket_get(s, B, NULL, &acl, NULL) == 0);
    CHECK_STR(acl, "private");
    free(acl);
    CHECK(store_config_get(s, B, "policy", &body, &len) == -1);
    CHECK(store_config_get(s, B, "cors", &body, &len) == 0);
    free(body);
    CHECK(store_upload_get(s, upload, NULL, NULL, NULL) == 0);
    CHECK(store_bucket_get(s, "other-1250000000", NULL, NULL, NULL) == -1);
    /* and once the lock is gone, the same calls work */
    CHECK_INT(store_object_delete(s, B, "keep"), 0);
    CHECK_INT(store_object_delete(s, B, "keep"), -1);
    CHECK_INT(store_upload_delete(s, upload), 0);
    CHECK_INT(store_bucket_delete(s, B), 0);
    free(path);
    close_store(s, dir);
}

/* A database of an older cos-server: a key stored as a BLOB (sorting after
 * every TEXT key) is converted, and listings see it in its place. */
static void test_migration(void)
{
    char *dir = test_tmpdir("store-migrate");
    char *path = cos_sprintf("%s/meta.db", dir);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db,
                       "PRAGMA journal_mode=WAL;"
                       "CREATE TABLE buckets(name TEXT PRIMARY KEY, region TEXT, created INTEGER, acl TEXT);"
                       "CREATE TABLE objects(bucket TEXT, key BLOB, size INTEGER, etag TEXT, crc64 TEXT,"
                       " mtime INTEGER, headers TEXT, storage_class TEXT, acl TEXT, tagging TEXT, data_id TEXT,"
                       " PRIMARY KEY(bucket, key));"
                       "CREATE TABLE uploads(upload_id TEXT PRIMARY KEY, bucket TEXT, key BLOB, initiated INTEGER, headers TEXT);"
                       "INSERT INTO buckets VALUES('" B "', 'ap-guangzhou', 0, 'private');"
                       "INSERT INTO objects(bucket, key, data_id) VALUES('" B "', CAST('a' AS BLOB), 'Ix');"
                       "INSERT INTO objects(bucket, key, data_id) VALUES('" B "', 'b', 'Iy');",
                       NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    store *s = NULL;
    char *err = NULL;
    CHECK(store_open(&s, dir, &err) == 0);
    free(err);
    if (s) {
        collected c = { NULL, 0, 10 };
        CHECK(store_object_scan(s, B, NULL, NULL, collect_cb, &c) == 0);
        CHECK_INT(c.n, 2);
        if (c.n == 2) {
            CHECK_STR(c.keys[0], "a");
            CHECK_STR(c.keys[1], "b");
        }
        collected_free(&c);
        obj_meta m;
        CHECK(store_object_get(s, B, "a", &m) == 0);
        obj_meta_clear(&m);
        store_close(s);
    }
    free(path);
    test_rmtree(dir);
    free(dir);
}

/* Many large bodies written side by side, in pieces of odd sizes, one of them
 * stalled while the others run ahead, more of them than the hashing thread
 * has lanes: each one's MD5 and CRC-64 are those of its own bytes, and its
 * file holds them (data_write / data_finish, store.c's hashing service). */
static void hash_many(int W)
{
    char *dir = NULL;
    store *s = open_store("store-hash", &dir);
    if (!s) return;
    data_writer w[MD5_LANES + 5];
    unsigned char *body[MD5_LANES + 5];
    size_t len[MD5_LANES + 5], off[MD5_LANES + 5];
    for (int i = 0; i < W; i++) {
        len[i] = (size_t)(70 * 1024) + (size_t)i * 333 * 1024 + (size_t)i * 7; /* 70 KiB to ~4 MiB */
        body[i] = malloc(len[i]);
        test_lcg_fill(body[i], len[i], (uint32_t)(i + 5));
        off[i] = 0;
        CHECK(data_begin(s, &w[i]) == 0);
    }
    uint32_t r = 12345;
    for (int active = W; active;) {
        active = 0;
        for (int i = 0; i < W; i++) {
            if (off[i] == len[i]) continue;
            active++;
            if (i == 0 && W > 1 && off[0] > 100 * 1024 && off[1] < len[1]) continue; /* body 0 stalls until body 1 is written */
            r = r * 1103515245u + 12345u;
            size_t piece = 1 + (r >> 8) % (300 * 1024);
            if (piece > len[i] - off[i]) piece = len[i] - off[i];
            CHECK(data_write(&w[i], body[i] + off[i], piece) == 0);
            off[i] += piece;
        }
    }
    for (int i = W - 1; i >= 0; i--) {
        unsigned char md5[16], want[16];
        CHECK(data_finish(s, &w[i], md5) == 0);
        cos_md5_digest(body[i], len[i], want);
        CHECK(memcmp(md5, want, 16) == 0);
        CHECK(w[i].crc64 == cos_crc64(0, body[i], len[i]));
        char *path = data_path(s, w[i].data_id);
        unsigned char *got = malloc(len[i] + 1);
        FILE *f = fopen(path, "rb");
        size_t got_len = f ? fread(got, 1, len[i] + 1, f) : 0;
        if (f) fclose(f);
        CHECK(got_len == len[i] && memcmp(got, body[i], len[i]) == 0);
        free(got);
        free(path);
        free(body[i]);
    }
    close_store(s, dir);
}

/* Bodies written and finished on their own threads, as the server's
 * connections do, more of them than the hashing service has lanes; every
 * third body is abandoned mid-way (a client gone) while others are hashed.
 * Each finished body has its own MD5 and CRC-64, and nothing is left in tmp. */
typedef struct body_job {
    store *s;
    int i;
    bool abandon;
    unsigned char md5[16];
    uint64_t crc64;
    size_t len;
    unsigned char *body;
    int rc;
} body_job;

static void *body_main(void *arg)
{
    body_job *j = arg;
    data_writer w;
    j->rc = data_begin(j->s, &w);
    uint32_t r = (uint32_t)j->i * 2654435761u + 1;
    size_t stop = j->abandon ? j->len / 2 + 12345 : j->len;
    for (size_t off = 0; j->rc == 0 && off < stop;) {
        r = r * 1103515245u + 12345u;
        size_t piece = 1 + (r >> 8) % (200 * 1024);
        if (piece > stop - off) piece = stop - off;
        j->rc = data_write(&w, j->body + off, piece);
        off += piece;
    }
    if (j->rc == 0 && j->abandon) data_abort(&w);
    else if (j->rc == 0) j->rc = data_finish(j->s, &w, j->md5);
    j->crc64 = w.crc64;
    if (j->rc == 0 && !j->abandon) data_unlink(j->s, w.data_id);
    return NULL;
}

static void test_threaded_hashing(void)
{
    char *dir = NULL;
    store *s = open_store("store-hash-threads", &dir);
    if (!s) return;
    enum { N = MD5_LANES + 6 };
    body_job j[N];
    pthread_t t[N];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++) {
            j[i] = (body_job){ .s = s, .i = i + round * N, .abandon = i % 3 == 2 };
            j[i].len = (size_t)(100 * 1024) + (size_t)i * 250 * 1024 + (size_t)round * 31;
            j[i].body = malloc(j[i].len);
            test_lcg_fill(j[i].body, j[i].len, (uint32_t)(i + 100 * round));
            pthread_create(&t[i], NULL, body_main, &j[i]);
        }
        for (int i = 0; i < N; i++) {
            pthread_join(t[i], NULL);
            CHECK(j[i].rc == 0);
            if (!j[i].abandon) {
                unsigned char want[16];
                cos_md5_digest(j[i].body, j[i].len, want);
                CHECK(memcmp(j[i].md5, want, 16) == 0);
                CHECK(j[i].crc64 == cos_crc64(0, j[i].body, j[i].len));
            }
            free(j[i].body);
        }
    }
    char *tmp = cos_sprintf("%s/tmp", dir);
    DIR *d = opendir(tmp);
    int left = 0;
    for (struct dirent *e; d && (e = readdir(d));) left += e->d_name[0] != '.';
    if (d) closedir(d);
    CHECK(d && left == 0);
    free(tmp);
    close_store(s, dir);
}

static void test_parallel_hashing(void)
{
    hash_many(1);
    hash_many(3);             /* fewer bodies than lanes: a stalled one holds the others back, until they run far ahead */
    hash_many(MD5_LANES + 5); /* more than lanes: they take turns */
}


/* ---- a write returns once the log's fsync covers it (group commit)
 * This program's pwrite/pwrite64/fsync/fdatasync take the place of libc's,
 * for SQLite too. Each write to the metadata log (meta.db-wal), once done,
 * gets the next number; a successful sync of the log covers every number
 * given before it began. A store call that returns while its thread has a
 * log write no sync covers has acknowledged what a power cut could undo. */
static atomic_bool g_track;
static atomic_ulong g_wal_done, g_wal_synced;
static _Thread_local unsigned long t_last_wal_write;

static bool is_wal(int fd)
{
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n < 4) return false;
    path[n] = '\0';
    return strcmp(path + n - 4, "-wal") == 0;
}

static void wal_written(int fd, ssize_t rc)
{
    if (rc > 0 && atomic_load(&g_track) && is_wal(fd)) t_last_wal_write = atomic_fetch_add(&g_wal_done, 1) + 1;
}

/* Gates (test_put_batches): while one is closed, a write to the log, or its
 * fsync, waits, and says that it came. */
static atomic_bool g_gate_wal, g_gate_wal_hit, g_gate_sync, g_gate_sync_hit;
static void gate_wait(int fd, atomic_bool *gate, atomic_bool *hit)
{
    if (!atomic_load(gate) || !is_wal(fd)) return;
    atomic_store(hit, true);
    while (atomic_load(gate)) cos_sleep_ms_for_tests(1);
}

/* Writes made with O_DIRECT are counted; g_direct_fail_after >= 0 makes the
 * ones after that many fail with g_direct_errno (EINVAL: a filesystem or
 * device that takes no O_DIRECT, or another alignment; ENOSPC: a full disk). */
static atomic_int g_direct_writes, g_direct_fail_after = -1, g_direct_errno;
static atomic_int g_fail_wal_write; /* non-zero: the log's writes fail with this errno */

/* by their symbols' names: with 64-bit offsets the headers make pwrite a name of pwrite64 */
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, int64_t);
static ssize_t wrapped_pwrite(const char *name, int fd, const void *buf, size_t len, int64_t off)
{
    pwrite_fn real = (pwrite_fn)dlsym(RTLD_NEXT, name);
    if (fcntl(fd, F_GETFL) & O_DIRECT) {
        int after = atomic_load(&g_direct_fail_after);
        if (after >= 0 && atomic_load(&g_direct_writes) >= after) {
            errno = atomic_load(&g_direct_errno);
            return -1;
        }
        atomic_fetch_add(&g_direct_writes, 1);
    }
    gate_wait(fd, &g_gate_wal, &g_gate_wal_hit);
    int werr = atomic_load(&g_fail_wal_write);
    if (werr && is_wal(fd)) { /* test_batch_commit_fails: a full disk under the log */
        errno = werr;
        return -1;
    }
    ssize_t rc = real(fd, buf, len, off);
    wal_written(fd, rc);
    return rc;
}
ssize_t test_pwrite(int fd, const void *buf, size_t len, int64_t off) __asm__("pwrite");
ssize_t test_pwrite(int fd, const void *buf, size_t len, int64_t off) { return wrapped_pwrite("pwrite", fd, buf, len, off); }
ssize_t test_pwrite64(int fd, const void *buf, size_t len, int64_t off) __asm__("pwrite64");
ssize_t test_pwrite64(int fd, const void *buf, size_t len, int64_t off) { return wrapped_pwrite("pwrite64", fd, buf, len, off); }

static atomic_bool g_fail_wal_sync; /* the log's fsyncs fail (EIO), as on a failing disk */

static int synced(int fd, const char *name)
{
    int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, name);
    if (atomic_load(&g_fail_wal_sync) && is_wal(fd)) {
        errno = EIO;
        return -1;
    }
    gate_wait(fd, &g_gate_sync, &g_gate_sync_hit);
    unsigned long upto = atomic_load(&g_wal_done); /* what is written before the sync begins */
    int rc = real(fd);
    if (rc == 0 && atomic_load(&g_track) && is_wal(fd)) {
        unsigned long cur = atomic_load(&g_wal_synced);
        while (cur < upto && !atomic_compare_exchange_weak(&g_wal_synced, &cur, upto)) {}
    }
    return rc;
}
int fsync(int fd) { return synced(fd, "fsync"); }
int fdatasync(int fd) { return synced(fd, "fdatasync"); }

/* Looks up of the log by its path (stat), counted while g_track is on: the
 * store's group commit opens the log once and syncs that descriptor. */
static atomic_ulong g_wal_stats;
static int counted_stat(const char *name, const char *path, struct stat *st)
{
    int (*real)(const char *, struct stat *) = (int (*)(const char *, struct stat *))dlsym(RTLD_NEXT, name);
    size_t n = path ? strlen(path) : 0;
    if (atomic_load(&g_track) && n >= 4 && strcmp(path + n - 4, "-wal") == 0) atomic_fetch_add(&g_wal_stats, 1);
    return real(path, st);
}
/* by their symbols' names, as pwrite above (64-bit offsets make stat a name of stat64) */
int test_stat(const char *path, struct stat *st) __asm__("stat");
int test_stat(const char *path, struct stat *st) { return counted_stat("stat", path, st); }
int test_stat64(const char *path, struct stat *st) __asm__("stat64");
int test_stat64(const char *path, struct stat *st) { return counted_stat("stat64", path, st); }

typedef struct durable_job { store *s; int thread, uncovered, failed, done; } durable_job;

static bool covered(void) { return t_last_wal_write <= atomic_load(&g_wal_synced); }

static void *durable_writer(void *arg)
{
    durable_job *j = arg;
    t_last_wal_write = 0;
    static const char body[4096] = { 'x' };
    for (int i = 0; i < 12; i++) {
        char key[64];
        snprintf(key, sizeof key, "dur/%d/%d", j->thread, i % 6); /* half of them overwrites */
        data_writer w;
        unsigned char md5[16];
        if (data_begin(j->s, &w) != 0 || data_write(&w, body, sizeof body - (size_t)i) != 0 ||
            data_finish_deferred(j->s, &w, md5) != 0) {
            j->failed++;
            continue;
        }
        obj_meta m = { 0 };
        m.bucket = (char *)B;
        m.key = key;
        m.size = w.size;
        snprintf(m.etag, sizeof m.etag, "\"e\"");
        m.acl = (char *)"default";
        m.storage_class = (char *)"STANDARD";
        snprintf(m.data_id, sizeof m.data_id, "%s", w.data_id);
        if (store_object_put_body(j->s, &m, &w) != 0) j->failed++;
        else if (j->done++, !covered()) j->uncovered++;
        if (i % 4 == 3) { /* and deletes */
            if (store_object_delete(j->s, B, key) != 0) j->failed++;
            else if (j->done++, !covered()) j->uncovered++;
        }
    }
    return NULL;
}

static int durable_round(store *s, int threads)
{
    durable_job jobs[8];
    pthread_t t[8];
    for (int i = 0; i < threads; i++) {
        jobs[i] = (durable_job){ s, i, 0, 0, 0 };
        pthread_create(&t[i], NULL, durable_writer, &jobs[i]);
    }
    int uncovered = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        CHECK_INT(jobs[i].failed, 0);
        uncovered += jobs[i].uncovered;
    }
    return uncovered;
}

/* The log's fsync fails while 8 threads write: no write is acknowledged
 * from then on, those waiting for another thread's sync included, and none
 * once the disk works again (the pages a failed fsync dropped are gone). */
static void test_failed_log_sync(void)
{
    char *dir;
    store *s = open_store("store-sync-fails", &dir);
    if (!s) return;
    CHECK_INT(durable_round(s, 4), 0);
    atomic_store(&g_fail_wal_sync, true);
    durable_job jobs[8];
    pthread_t t[8];
    for (int i = 0; i < 8; i++) {
        jobs[i] = (durable_job){ s, i, 0, 0, 0 };
        pthread_create(&t[i], NULL, durable_writer, &jobs[i]);
    }
    int done = 0, failed = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        done += jobs[i].done;
        failed += jobs[i].failed;
    }
    CHECK_INT(done, 0);
    CHECK(failed >= 8 * 12);
    atomic_store(&g_fail_wal_sync, false);
    CHECK(store_durability_lost(s));
    CHECK(put_key(s, "after") != 0);
    CHECK(strstr(store_last_error(), "fsync") != NULL); /* (the message is this thread's) */
    /* refused before it commits: never visible, as no answer promised it */
    obj_meta m;
    int grc = store_object_get(s, B, "after", &m);
    if (grc == 0) obj_meta_clear(&m);
    CHECK_INT(grc, -1);
    close_store(s, dir);
}

static void test_durable_before_return(void)
{
    char *dir;
    store *s = open_store("store-durable", &dir);
    if (!s) return;
    atomic_store(&g_track, true);
    CHECK_INT(durable_round(s, 1), 0);
    uint64_t waits0, wakeups0, waits, wakeups;
    store_sync_stats(s, &waits0, &wakeups0);
    atomic_store(&g_wal_stats, 0);
    CHECK_INT(durable_round(s, 8), 0); /* commits that share one fsync */
    /* each fsync of the log is a system call, not three (a stat of its path and an fstat before) */
    CHECK_INT(atomic_load(&g_wal_stats), 0);
    CHECK(atomic_load(&g_wal_done) > 0); /* the log's writes were seen */
    /* a write that sleeps for the log's fsync wakes once: when a sync covered
       it, or to run the next one (a wake meant for an earlier sleep may come
       late: a few spare), not at the end of every sync to look again */
    store_sync_stats(s, &waits, &wakeups);
    waits -= waits0;
    wakeups -= wakeups0;
    if (getenv("SYNC_STATS") || wakeups > waits + waits / 8 + 4)
        fprintf(stderr, "  %llu waits, %llu wakeups\n", (unsigned long long)waits, (unsigned long long)wakeups);
    CHECK(wakeups <= waits + waits / 8 + 4);
    /* the check itself: without the fsync it sees what is left uncovered */
    store_set_fsync(s, false);
    CHECK(durable_round(s, 1) > 0);
    atomic_store(&g_track, false);
    close_store(s, dir);
}

/* ---- small PUTs side by side share one write transaction (put_batched)
 * The first PUT's commit is held at its write to the log; 15 more come
 * meanwhile: plain ones, two into a bucket that is gone, three that each
 * expect the same current body of one key, and two DELETEs (one of none). Then the log's fsync is
 * held. Checked: nothing returns before the fsync ends; each PUT gets its
 * own answer (the failing ones roll back alone: nothing of theirs is kept,
 * and one conditional write wins); all of it took a few log writes, not 16. */
enum { BATCH_PUTS = 16 };
typedef struct batch_put {
    store *s;
    int i;
    const char *expect;
    atomic_bool entered;
    int rc;
    char data_id[40];
} batch_put;
static atomic_int g_batch_returned; /* PUTs acknowledged so far */

static void *batch_putter(void *arg)
{
    batch_put *p = arg;
    if (p->i == 9 || p->i == 10) { /* deletes ride along: one of an object, one of none */
        atomic_store(&p->entered, true);
        p->rc = store_object_delete(p->s, B, p->i == 9 ? "batch/del" : "batch/none");
        if (p->rc == 0) atomic_fetch_add(&g_batch_returned, 1);
        return NULL;
    }
    static const char body[4096] = { 'b' };
    char key[64];
    if (p->expect) snprintf(key, sizeof key, "batch/cond");
    else snprintf(key, sizeof key, "batch/%d", p->i);
    data_writer w;
    unsigned char md5[16];
    if (data_begin(p->s, &w) != 0 || data_write(&w, body, sizeof body - (size_t)p->i) != 0 ||
        data_finish_deferred(p->s, &w, md5) != 0) {
        p->rc = -100;
        atomic_store(&p->entered, true);
        return NULL;
    }
    obj_meta m = { 0 };
    m.bucket = (char *)(p->i == 11 || p->i == 12 ? "gone-1250000000" : B);
    m.key = key;
    m.size = w.size;
    m.expect_id = p->expect;
    snprintf(m.etag, sizeof m.etag, "\"e\"");
    m.acl = (char *)"default";
    m.storage_class = (char *)"STANDARD";
    snprintf(m.data_id, sizeof m.data_id, "%s", w.data_id);
    snprintf(p->data_id, sizeof p->data_id, "%s", w.data_id);
    atomic_store(&p->entered, true);
    p->rc = store_object_put_body(p->s, &m, &w);
    if (p->rc == 0) atomic_fetch_add(&g_batch_returned, 1); /* acknowledged (a refusal may come sooner) */
    return NULL;
}

static bool wait_for(atomic_bool *flag)
{
    for (int i = 0; i < 60000 && !atomic_load(flag); i++) cos_sleep_ms_for_tests(1);
    return atomic_load(flag);
}

/* Wait until `want` writes are queued behind a held leader (bounded only for a hung test). */
static bool wait_queued(store *s, size_t want)
{
    for (int i = 0; i < 60000 && store_batch_queued(s) != want; i++) cos_sleep_ms_for_tests(1);
    return store_batch_queued(s) == want;
}

/* Wait until every one of `jobs` writes since jobs0/commits0/sleeps0 ran in
 * a committed batch and each batch's leader but the one running the (held)
 * fsync sleeps in durable_wait: nothing may be acknowledged from then on
 * until the fsync ends. A leader that answered without waiting never lets
 * this become true. */
static bool wait_batches_parked(store *s, uint64_t jobs, uint64_t jobs0, uint64_t commits0, uint64_t sleeps0)
{
    for (int i = 0; i < 60000; i++) {
        uint64_t j, c, sl, wk;
        store_batch_stats(s, &j, &c);
        store_sync_stats(s, &sl, &wk);
        if (j - jobs0 == jobs && store_batch_queued(s) == 0 && c > commits0 && sl - sleeps0 >= c - commits0 - 1)
            return true;
        cos_sleep_ms_for_tests(1);
    }
    return false;
}

static int64_t count_sql(const char *dir, const char *sql)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/meta.db", dir);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t n = -1;
    if (sqlite3_open(path, &db) == SQLITE_OK && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
}

static void test_put_batches(void)
{
    char *dir;
    store *s = open_store("store-batches", &dir);
    if (!s) return;
    CHECK_INT(put_key(s, "batch/cond"), 0);
    CHECK_INT(put_key(s, "batch/del"), 0);
    obj_meta cur;
    char cond_id[40] = "";
    if (store_object_get(s, B, "batch/cond", &cur) == 0) {
        snprintf(cond_id, sizeof cond_id, "%s", cur.data_id);
        obj_meta_clear(&cur);
    }
    CHECK(cond_id[0] != '\0');
    static batch_put puts[BATCH_PUTS];
    pthread_t t[BATCH_PUTS];
    atomic_store(&g_batch_returned, 0);
    atomic_store(&g_gate_wal_hit, false);
    atomic_store(&g_gate_sync_hit, false);
    atomic_store(&g_track, true);
    unsigned long wal0 = atomic_load(&g_wal_done);
    uint64_t jobs0, commits0, jobs, commits, sleeps0, wakeups0;
    store_batch_stats(s, &jobs0, &commits0);
    store_sync_stats(s, &sleeps0, &wakeups0);
    atomic_store(&g_gate_wal, true);
    for (int i = 0; i < BATCH_PUTS; i++) {
        puts[i] = (batch_put){ .s = s, .i = i, .expect = i >= 13 ? cond_id : NULL };
        atomic_init(&puts[i].entered, false);
        pthread_create(&t[i], NULL, batch_putter, &puts[i]);
        if (i == 0) CHECK(wait_for(&g_gate_wal_hit)); /* the first one's commit waits at the log */
    }
    for (int i = 0; i < BATCH_PUTS; i++) CHECK(wait_for(&puts[i].entered));
    CHECK(wait_queued(s, BATCH_PUTS - 1)); /* all of them behind the first (a late one made a batch more) */
    CHECK_INT(atomic_load(&g_batch_returned), 0);
    atomic_store(&g_gate_sync, true);
    atomic_store(&g_gate_wal, false);
    CHECK(wait_for(&g_gate_sync_hit)); /* a commit is written, its fsync held */
    CHECK(wait_batches_parked(s, BATCH_PUTS, jobs0, commits0, sleeps0)); /* every batch committed, waiting */
    CHECK_INT(atomic_load(&g_batch_returned), 0); /* nothing acknowledged before its fsync */
    atomic_store(&g_gate_sync, false);
    for (int i = 0; i < BATCH_PUTS; i++) pthread_join(t[i], NULL);
    atomic_store(&g_track, false);
    unsigned long wal_writes = atomic_load(&g_wal_done) - wal0;
    store_batch_stats(s, &jobs, &commits);
    if (getenv("SYNC_STATS"))
        fprintf(stderr, "  %lu log writes, %llu PUTs in %llu batches\n", wal_writes,
                (unsigned long long)(jobs - jobs0), (unsigned long long)(commits - commits0));
    CHECK(wal_writes <= 4); /* one commit held, the rest behind it in one or two */
    int won = 0, changed = 0;
    for (int i = 0; i < BATCH_PUTS; i++) {
        obj_meta m;
        char key[64];
        snprintf(key, sizeof key, "batch/%d", i);
        if (i == 9 || i == 10) {
            CHECK_INT(puts[i].rc, i == 9 ? 0 : -1);
        } else if (i == 11 || i == 12) {
            CHECK_INT(puts[i].rc, STORE_NO_BUCKET);
        } else if (i >= 13) {
            if (puts[i].rc == 0) won++;
            else if (puts[i].rc == STORE_CHANGED) changed++;
        } else {
            CHECK_INT(puts[i].rc, 0);
            int g = store_object_get(s, B, key, &m);
            CHECK_INT(g, 0);
            if (g == 0) {
                CHECK_STR(m.data_id, puts[i].data_id);
                CHECK_INT((int)m.size, 4096 - i);
                obj_meta_clear(&m);
            }
        }
    }
    CHECK_INT(won, 1);
    CHECK_INT(changed, 2);
    for (int i = 13; i < BATCH_PUTS; i++) {
        if (puts[i].rc != 0) continue;
        obj_meta m;
        CHECK_INT(store_object_get(s, B, "batch/cond", &m), 0);
        CHECK_STR(m.data_id, puts[i].data_id);
        obj_meta_clear(&m);
    }
    store_close(s);
    /* what the refused ones stored is gone with them: every body row is named by an object */
    CHECK_INT((int)count_sql(dir, "SELECT COUNT(*) FROM blobs WHERE id NOT IN (SELECT data_id FROM objects)"), 0);
    CHECK_INT((int)count_sql(dir, "SELECT COUNT(*) FROM objects WHERE key LIKE 'batch/%'"), 10); /* 0-8 and cond */
    test_rmtree(dir);
    free(dir);
}

/* A batch whose commit fails (the disk under the log full): none of its
 * writes may be acknowledged, and none may remove the body its row
 * replaced or deleted (the old version is still what the store names).
 * The first write's commit is held at the log while overwrites (file
 * bodies) and DELETEs queue behind it; then every write to the log fails. */
typedef struct fail_job {
    store *s;
    const char *key;
    bool del;
    atomic_bool entered;
    int rc;
} fail_job;

static int put_file_body(store *s, const char *key, size_t len, char data_id[40])
{
    char *body = malloc(len);
    memset(body, 'f', len);
    data_writer w;
    unsigned char md5[16];
    int rc = data_begin(s, &w) != 0 || data_write(&w, body, len) != 0 || data_finish_deferred(s, &w, md5) != 0 ? -100 : 0;
    free(body);
    if (rc) return rc;
    obj_meta m = { 0 };
    m.bucket = (char *)B;
    m.key = (char *)key;
    m.size = len;
    snprintf(m.etag, sizeof m.etag, "\"e\"");
    m.acl = (char *)"default";
    m.storage_class = (char *)"STANDARD";
    snprintf(m.data_id, sizeof m.data_id, "%s", w.data_id);
    if (data_id) snprintf(data_id, 40, "%s", w.data_id);
    return store_object_put_body(s, &m, &w);
}

static void *fail_worker(void *arg)
{
    fail_job *j = arg;
    atomic_store(&j->entered, true);
    j->rc = j->del ? store_object_delete(j->s, B, j->key) : put_file_body(j->s, j->key, 70000, NULL);
    return NULL;
}

static void test_batch_commit_fails(void)
{
    char *dir;
    store *s = open_store("store-batch-fails", &dir);
    if (!s) return;
    enum { N = 7 };
    static const char *const KEYS[N] = { "fail/new", "fail/0", "fail/1", "fail/2", "fail/3", "fail/4", "fail/5" };
    char ids[N][40] = { "" };
    for (int i = 1; i < N; i++) CHECK_INT(put_file_body(s, KEYS[i], 70000, ids[i]), 0);
    static fail_job jobs[N];
    pthread_t t[N];
    atomic_store(&g_gate_wal_hit, false);
    atomic_store(&g_gate_wal, true);
    for (int i = 0; i < N; i++) {
        jobs[i] = (fail_job){ .s = s, .key = KEYS[i], .del = i >= 4 };
        atomic_init(&jobs[i].entered, false);
        pthread_create(&t[i], NULL, fail_worker, &jobs[i]);
        if (i == 0) CHECK(wait_for(&g_gate_wal_hit)); /* the first commit waits at the log */
    }
    for (int i = 0; i < N; i++) CHECK(wait_for(&jobs[i].entered));
    CHECK(wait_queued(s, N - 1)); /* all of them behind the first, in the batch whose commit fails */
    atomic_store(&g_fail_wal_write, ENOSPC);
    atomic_store(&g_gate_wal, false);
    for (int i = 0; i < N; i++) pthread_join(t[i], NULL);
    atomic_store(&g_fail_wal_write, 0);
    int refused = 0;
    for (int i = 1; i < N; i++) {
        obj_meta m;
        int g = store_object_get(s, B, KEYS[i], &m);
        if (jobs[i].rc != 0) { /* refused: the old version stands, its body with it */
            refused++;
            CHECK_INT(g, 0);
            if (g == 0) {
                CHECK_STR(m.data_id, ids[i]);
                char *path = data_path(s, ids[i]);
                struct stat st;
                if (stat(path, &st) != 0 || st.st_size != 70000)
                    test_fail(__FILE__, __LINE__, "%s: refused, yet its old body %s is gone", KEYS[i], ids[i]);
                free(path);
            }
        }
        if (g == 0) obj_meta_clear(&m);
    }
    CHECK(refused > 0); /* the log could not be written: something was refused */
    close_store(s, dir);
}

/* A body a batched DELETE or overwrite leaves behind is removed only once
 * the commit that unnames it is durable: while the log's fsync is held, the
 * file is still there (a power cut then brings the row back, with its body). */
static void test_old_body_kept_until_durable(void)
{
    char *dir;
    store *s = open_store("store-old-body", &dir);
    if (!s) return;
    char id_del[40] = "", id_put[40] = "";
    CHECK_INT(put_file_body(s, "u/del", 70000, id_del), 0);
    CHECK_INT(put_file_body(s, "u/put", 70000, id_put), 0);
    char *p_del = data_path(s, id_del), *p_put = data_path(s, id_put);
    static fail_job jobs[2];
    jobs[0] = (fail_job){ .s = s, .key = "u/del", .del = true };
    jobs[1] = (fail_job){ .s = s, .key = "u/put", .del = false };
    pthread_t t[2];
    struct stat st;
    for (int i = 0; i < 2; i++) {
        atomic_init(&jobs[i].entered, false);
        atomic_store(&g_gate_sync_hit, false);
        atomic_store(&g_gate_sync, true);
        pthread_create(&t[i], NULL, fail_worker, &jobs[i]);
        CHECK(wait_for(&g_gate_sync_hit)); /* its commit is written, the fsync held */
        CHECK(stat(i ? p_put : p_del, &st) == 0);
        atomic_store(&g_gate_sync, false);
        pthread_join(t[i], NULL);
        CHECK_INT(jobs[i].rc, 0);
        CHECK(stat(i ? p_put : p_del, &st) != 0); /* durable: then removed */
    }
    free(p_del);
    free(p_put);
    close_store(s, dir);
}

/* An unversioned DELETE is decided before its transaction (versioning.c
 * reads the bucket's state, then calls store_object_delete), and a batch
 * makes it wait behind others: versioning enabled meanwhile, and a write
 * made under it, must not be deleted outright (the version kept nowhere).
 * The store decides inside the transaction: a bucket with a versioning
 * configuration is refused STORE_CHANGED, the row untouched (the caller
 * decides again). Before: the current (versioned) row was deleted and the
 * DELETE acknowledged. A PUT is made under the versioning found there. */
static void test_unversioned_delete_rechecked(void)
{
    char *dir;
    store *s = open_store("store-delete-versioned", &dir);
    if (!s) return;
    CHECK_INT(put_key(s, "v/plain"), 0);
    static const char OFF[] = "<VersioningConfiguration><Status>Off</Status></VersioningConfiguration>";
    CHECK_INT(store_config_put(s, B, "versioning", OFF, sizeof OFF - 1), 0); /* an old row, read as Off */
    CHECK_INT(store_object_delete(s, B, "v/plain"), 0); /* no versioning: deleted */
    CHECK_INT(put_key(s, "v/k"), 0);
    static const char CFG[] = "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>";
    CHECK_INT(store_config_put(s, B, "versioning", CFG, sizeof CFG - 1), 0);
    CHECK_INT(store_object_delete(s, B, "v/k"), STORE_CHANGED);
    obj_meta m;
    int g = store_object_get(s, B, "v/k", &m);
    CHECK_INT(g, 0);
    if (g == 0) obj_meta_clear(&m);
    /* the same for a PUT decided unversioned (VKEEP_OFF; before, keep 0): it
       replaced the current row outright, the version it held kept nowhere.
       It is made as a write under versioning: a new version id (version_out),
       the current row kept as a version (i38a refused it STORE_BUSY) */
    obj_meta w = { 0 };
    w.bucket = (char *)B;
    w.key = (char *)"v/k";
    snprintf(w.etag, sizeof w.etag, "\"e2\"");
    w.acl = (char *)"default";
    w.storage_class = (char *)"STANDARD";
    snprintf(w.data_id, sizeof w.data_id, "Iother");
    w.keep = VKEEP_OFF;
    char vid[64] = "";
    w.version_out = vid;
    CHECK_INT(store_object_put(s, &w), 0);
    CHECK(vid[0] && strcmp(vid, "null") != 0);
    g = store_object_get(s, B, "v/k", &m);
    CHECK_INT(g, 0);
    if (g == 0) {
        char cur[64];
        version_of(m.headers, cur);
        CHECK_STR(cur, vid);
        CHECK_STR(m.data_id, "Iother");
        obj_meta_clear(&m);
    }
    bool marker = true;
    g = store_version_get(s, B, "v/k", "null", &m, &marker); /* the row it replaced */
    CHECK_INT(g, 0);
    if (g == 0) {
        CHECK(!marker);
        CHECK_STR(m.data_id, "Inone");
        obj_meta_clear(&m);
    }
    /* Suspended: the write is the null version, the versioned one kept */
    static const char SUS[] = "<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>";
    CHECK_INT(store_config_put(s, B, "versioning", SUS, sizeof SUS - 1), 0);
    snprintf(w.data_id, sizeof w.data_id, "Ithird");
    char vid2[64] = "";
    w.version_out = vid2;
    CHECK_INT(store_object_put(s, &w), 0);
    CHECK_STR(vid2, "null");
    g = store_version_get(s, B, "v/k", vid, &m, &marker);
    CHECK_INT(g, 0);
    if (g == 0) {
        CHECK_STR(m.data_id, "Iother");
        obj_meta_clear(&m);
    }
    w.keep = 0; /* no decision (an append in place): written as before */
    w.version_out = NULL;
    snprintf(w.data_id, sizeof w.data_id, "Ifourth");
    CHECK_INT(store_object_put(s, &w), 0);
    g = store_object_get(s, B, "v/k", &m);
    CHECK_INT(g, 0);
    if (g == 0) {
        CHECK_STR(m.data_id, "Ifourth");
        obj_meta_clear(&m);
    }
    close_store(s, dir);
}

/* A long stream of small writes, with readers alongside: checkpoints keep
 * the metadata log bounded (its file never passes CKPT_PAGES_MAX's 4,000
 * pages and a commit's), a pass comes per share of the log rather than per
 * commit, and a clean close checkpoints all of it (the -wal file goes). */
enum { WAL_PAGES_TARGET = 12000, WAL_FRAME = 4096 + 24 }; /* three times CKPT_PAGES_MAX */

typedef struct walrun {
    store *s;
    const char *dir;
    atomic_bool stop;
    atomic_long max_wal;
    atomic_int failed, written;
} walrun;

static void wal_size_seen(walrun *w)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/meta.db-wal", w->dir);
    struct stat st;
    if (stat(path, &st) != 0) return;
    long was = atomic_load(&w->max_wal);
    while (st.st_size > was && !atomic_compare_exchange_weak(&w->max_wal, &was, st.st_size)) {
    }
}

static void *wal_writer(void *arg)
{
    walrun *w = arg;
    static atomic_int next;
    while (!atomic_load(&w->stop)) {
        char key[32];
        snprintf(key, sizeof key, "wal/%07d", atomic_fetch_add(&next, 1));
        if (put_key(w->s, key) != 0) atomic_fetch_add(&w->failed, 1);
        int n = atomic_fetch_add(&w->written, 1);
        if (n % 50 == 0) wal_size_seen(w);
        uint64_t pages, asks, passes;
        store_wal_stats(w->s, &pages, &asks, &passes);
        if (pages >= WAL_PAGES_TARGET || n > 400000) atomic_store(&w->stop, true);
    }
    return NULL;
}

static void *wal_reader(void *arg)
{
    walrun *w = arg;
    for (unsigned i = 0; !atomic_load(&w->stop); i++) {
        char key[32];
        int upto = atomic_load(&w->written);
        snprintf(key, sizeof key, "wal/%07d", upto ? (int)(i * 7919u % (unsigned)upto) : 0);
        obj_meta m;
        if (store_object_get(w->s, B, key, &m) == 0) obj_meta_clear(&m);
    }
    return NULL;
}

static void test_wal_bounded(void)
{
    char *dir;
    store *s = open_store("store-wal", &dir);
    if (!s) return;
    store_set_fsync(s, false); /* the log's group fsync only: checkpoints sync as ever */
    walrun w = { .s = s, .dir = dir };
    pthread_t t[3];
    pthread_create(&t[0], NULL, wal_writer, &w);
    pthread_create(&t[1], NULL, wal_writer, &w);
    pthread_create(&t[2], NULL, wal_reader, &w);
    for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
    wal_size_seen(&w);
    uint64_t pages, asks, passes;
    store_wal_stats(s, &pages, &asks, &passes);
    fprintf(stderr, "  %d writes, %llu log pages, %llu asks, %llu checkpoint passes, largest log %ld bytes\n",
            atomic_load(&w.written), (unsigned long long)pages, (unsigned long long)asks, (unsigned long long)passes,
            atomic_load(&w.max_wal));
    CHECK_INT(atomic_load(&w.failed), 0);
    CHECK(pages >= WAL_PAGES_TARGET);
    /* bounded: CKPT_PAGES_MAX (4,000) pages, and the commit that crossed it */
    CHECK(atomic_load(&w.max_wal) > 0);
    CHECK(atomic_load(&w.max_wal) <= 32 + (4000L + 64) * WAL_FRAME);
    /* at least one pass per 4,000 pages. Commits ask once the log holds
       1,000 pages, then again each time it grew by 500 more: at most one ask
       per 500 pages appended (not one per commit, whatever the timing); a
       pass per ask, its catch-up under the write lock, and the forced ones
       (one per 4,000 pages, or a few more while readers hold the log) */
    CHECK(passes >= pages / (4000 + 64));
    CHECK(asks >= 1);
    CHECK(asks <= pages / 500);
    CHECK(passes <= 2 * asks + 2 * (pages / 4000 + 1));
    /* a clean close checkpoints everything: the log goes, the rows stay */
    store_close(s);
    char path[4200];
    snprintf(path, sizeof path, "%s/meta.db-wal", dir);
    struct stat st;
    CHECK(stat(path, &st) != 0 && errno == ENOENT);
    char *err = NULL;
    s = NULL;
    CHECK(store_open(&s, dir, &err) == 0);
    free(err);
    int n = 0;
    if (s) CHECK_INT(store_object_scan(s, B, "wal/", NULL, count_cb, &n), 0);
    CHECK_INT(n, atomic_load(&w.written));
    close_store(s, dir);
}

/* ---- large durable bodies, staged and written with O_DIRECT (store.c, stage_write)
 * Each body arrives in pieces of odd sizes, its length around the 64 KiB
 * where the hasher (and the staging) takes over, the 4 KiB alignment and the
 * 1 MiB buffers. Each must be in its file byte for byte, with its MD5 and
 * CRC-64: written direct where the filesystem takes it, through the page
 * cache where the store is told not to, where the filesystem refuses O_DIRECT
 * midway (EINVAL), and on tmpfs. A direct write that fails (ENOSPC) fails
 * the body and leaves nothing behind. */
static bool dir_takes_direct(const char *dir)
{
    char *p = cos_sprintf("%s/direct-probe", dir);
    int fd = open(p, O_WRONLY | O_CREAT | O_DIRECT | O_CLOEXEC, 0600);
    if (fd >= 0) close(fd);
    unlink(p);
    free(p);
    return fd >= 0;
}

static int files_in_tmp(const char *dir)
{
    char *tmp = cos_sprintf("%s/tmp", dir);
    DIR *d = opendir(tmp);
    int left = d ? 0 : -1;
    for (struct dirent *e; d && (e = readdir(d));) left += e->d_name[0] != '.';
    if (d) closedir(d);
    free(tmp);
    return left;
}

/* 0: the body is back intact; -1: a write or the finish failed (as it should only when told to) */
static int staged_body(store *s, size_t len, size_t piece_max, uint32_t seed)
{
    unsigned char *body = malloc(len);
    test_lcg_fill(body, len, seed);
    data_writer w;
    int rc = data_begin(s, &w);
    uint32_t r = seed * 2654435761u + 7;
    for (size_t off = 0; rc == 0 && off < len;) {
        r = r * 1103515245u + 12345u;
        size_t piece = 1 + (r >> 8) % piece_max;
        if (piece > len - off) piece = len - off;
        rc = data_write(&w, body + off, piece);
        off += piece;
    }
    unsigned char md5[16], want[16];
    if (data_finish(s, &w, md5) != 0) rc = -1; /* with an error already set, it cleans up */
    if (rc == 0) {
        cos_md5_digest(body, len, want);
        CHECK(memcmp(md5, want, 16) == 0);
        CHECK(w.crc64 == cos_crc64(0, body, len));
        char *path = data_path(s, w.data_id);
        unsigned char *got = malloc(len + 1);
        FILE *f = fopen(path, "rb");
        size_t got_len = f ? fread(got, 1, len + 1, f) : 0;
        if (f) fclose(f);
        CHECK(got_len == len && memcmp(got, body, len) == 0);
        if (got_len != len) fprintf(stderr, "  body of %zu bytes (pieces up to %zu): %zu in its file\n", len, piece_max, got_len);
        free(got);
        free(path);
        data_unlink(s, w.data_id);
    }
    free(body);
    return rc;
}

static void staged_bodies(store *s, const char *dir, const char *what)
{
    static const size_t lens[] = { (64 << 10) + 1, 100000, (1 << 20) - 1, 1 << 20, (1 << 20) + 1,
                                   (2 << 20) + 4095, (3 << 20) + 4097, (5 << 20) + 7 };
    static const size_t pieces[] = { 1000, 3 * 4096 + 5, 300000, (2 << 20) + 3 };
    int failed = 0;
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++)
        failed += staged_body(s, lens[i], pieces[i % 4], (uint32_t)(i + 1)) != 0;
    if (failed) fprintf(stderr, "  %s: %d bodies failed\n", what, failed);
    CHECK_INT(failed, 0);
    CHECK_INT(files_in_tmp(dir), 0);
}

static void test_staged_direct_writes(void)
{
    char *dir;
    store *s = open_store("store-direct", &dir);
    if (!s) return;
    bool direct = dir_takes_direct(dir);
    atomic_store(&g_direct_writes, 0);
    staged_bodies(s, dir, "direct");
    fprintf(stderr, "  %d direct writes (the filesystem %s O_DIRECT)\n", atomic_load(&g_direct_writes), direct ? "takes" : "refuses");
    if (direct) CHECK(atomic_load(&g_direct_writes) >= 10);

    /* a manifest goes to its file from its first byte: staged from what the file holds once it is large */
    enum { SEGS = 3000 };
    char **ids = calloc(SEGS, sizeof *ids);
    uint64_t *sizes = calloc(SEGS, sizeof *sizes);
    cos_buf want = COS_BUF_INIT;
    for (int i = 0; i < SEGS; i++) {
        ids[i] = cos_sprintf("%032x", (unsigned)i * 2654435761u);
        sizes[i] = (uint64_t)i * 7919;
        cos_buf_printf(&want, "%s %llu\n", ids[i], (unsigned long long)sizes[i]);
    }
    atomic_store(&g_direct_writes, 0);
    char mid[40];
    CHECK(data_write_manifest(s, (const char *const *)ids, sizes, SEGS, mid) == 0);
    if (direct) CHECK(atomic_load(&g_direct_writes) >= 1);
    char *mpath = data_path(s, mid);
    FILE *mf = fopen(mpath, "rb");
    char *got = malloc(want.len + 1);
    size_t got_len = mf ? fread(got, 1, want.len + 1, mf) : 0;
    if (mf) fclose(mf);
    CHECK(got_len == want.len && memcmp(got, want.data, want.len) == 0);
    unlink(mpath);
    free(mpath);
    free(got);
    cos_buf_free(&want);
    for (int i = 0; i < SEGS; i++) free(ids[i]);
    free(ids);
    free(sizes);

    store_set_direct(s, false);
    atomic_store(&g_direct_writes, 0);
    staged_bodies(s, dir, "through the page cache");
    CHECK_INT(atomic_load(&g_direct_writes), 0);
    store_set_direct(s, true);

    /* refused from the first direct write, then after a few: the rest through the page cache */
    atomic_store(&g_direct_errno, EINVAL);
    for (int after = 0; after <= 3; after += 3) {
        atomic_store(&g_direct_writes, 0);
        atomic_store(&g_direct_fail_after, after);
        staged_bodies(s, dir, "O_DIRECT refused");
        CHECK(atomic_load(&g_direct_writes) <= after);
    }

    /* a full disk under a direct write: the body fails, nothing is left */
    if (direct) {
        atomic_store(&g_direct_writes, 0);
        atomic_store(&g_direct_errno, ENOSPC);
        atomic_store(&g_direct_fail_after, 2);
        CHECK(staged_body(s, (5 << 20) + 7, 300000, 99) != 0);
        CHECK_INT(files_in_tmp(dir), 0);
    }
    atomic_store(&g_direct_fail_after, -1);
    close_store(s, dir);

    /* tmpfs (where there is one): O_DIRECT, if it is taken, over the page cache itself */
    const char *old = getenv("TMPDIR");
    char *keep = old ? strdup(old) : NULL;
    struct stat st;
    if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0) {
        setenv("TMPDIR", "/dev/shm", 1);
        s = open_store("store-direct-tmpfs", &dir);
        if (keep) setenv("TMPDIR", keep, 1);
        else unsetenv("TMPDIR");
        if (s) {
            staged_bodies(s, dir, "tmpfs");
            close_store(s, dir);
        }
    } else {
        fprintf(stderr, "  no writable /dev/shm: the tmpfs case is skipped\n");
    }
    free(keep);
}

/* Nothing is written into a bucket that is gone (deleted after the request's
 * checks): an object, an upload, a configuration are refused with
 * STORE_NO_BUCKET, and a bucket made again with the name is empty. */
static void test_writes_need_their_bucket(void)
{
    char *dir = NULL;
    store *s = open_store("nobucket", &dir);
    if (!s) return;
    CHECK_INT(store_bucket_delete(s, B), 0);
    CHECK_INT(put_key(s, "orphan"), STORE_NO_BUCKET);
    char upload[64];
    CHECK_INT(store_upload_create(s, B, "orphan-mp", NULL, upload), STORE_NO_BUCKET);
    CHECK_INT(store_config_put(s, B, "policy", "{}", 2), STORE_NO_BUCKET);
    CHECK(store_bucket_create(s, B, "ap-guangzhou", "private") == 0);
    obj_meta m;
    CHECK_INT(store_object_get(s, B, "orphan", &m), -1);
    char *body = NULL;
    size_t len = 0;
    CHECK(store_config_get(s, B, "policy", &body, &len) != 0);
    free(body);
    CHECK_INT(store_bucket_delete(s, B), 0); /* no upload left behind either */
    close_store(s, dir);
}

/* What a request reads of its bucket (row, ACL, configurations) as the server does it
 * (store_memo_begin/end around the request): 0 or -1 from store_bucket_get, the
 * ACL and the "policy" configuration (NULL when none). */
typedef struct seen { int rc; char *acl, *policy; } seen;
static seen request_sees(store *s, const char *bucket)
{
    seen v = { 0, NULL, NULL };
    store_memo_begin(s);
    v.rc = store_bucket_get(s, bucket, NULL, &v.acl, NULL);
    size_t len = 0;
    if (store_config_get(s, bucket, "policy", &v.policy, &len) != 0) v.policy = NULL;
    store_memo_end();
    return v;
}
static void seen_free(seen *v) { free(v->acl); free(v->policy); }

/* Requests share one read of a bucket's row and configurations until a write
 * changes them: a stream of requests on one bucket reads it once, not once per
 * request, and the request after each kind of change (a configuration put or
 * deleted, the ACL, the bucket deleted and made again) sees the change. */
static void test_bucket_reads_shared(void)
{
    char *dir = NULL;
    store *s = open_store("meta-shared", &dir);
    if (!s) return;
    seen v = request_sees(s, B);
    seen_free(&v);
    uint64_t before = store_meta_reads(s);
    for (int i = 0; i < 50; i++) {
        v = request_sees(s, B);
        CHECK_INT(v.rc, 0);
        CHECK_STR(v.acl, "private");
        CHECK(v.policy == NULL);
        seen_free(&v);
        CHECK_INT(put_key(s, "obj"), 0); /* writes to objects leave the bucket's read good */
    }
    CHECK_INT((int)(store_meta_reads(s) - before), 0);
    CHECK_INT(store_config_put(s, B, "policy", "{\"v\":1}", 7), 0);
    v = request_sees(s, B);
    CHECK_STR(v.policy, "{\"v\":1}");
    seen_free(&v);
    CHECK_INT(store_config_put(s, B, "policy", "{\"v\":2}", 7), 0);
    v = request_sees(s, B);
    CHECK_STR(v.policy, "{\"v\":2}");
    seen_free(&v);
    CHECK_INT(store_bucket_set_acl(s, B, "public-read"), 0);
    v = request_sees(s, B);
    CHECK_STR(v.acl, "public-read");
    CHECK_STR(v.policy, "{\"v\":2}");
    seen_free(&v);
    CHECK_INT(store_config_delete(s, B, "policy"), 0);
    v = request_sees(s, B);
    CHECK(v.policy == NULL);
    seen_free(&v);
    CHECK_INT(store_object_delete(s, B, "obj"), 0);
    CHECK_INT(store_bucket_delete(s, B), 0);
    v = request_sees(s, B);
    CHECK_INT(v.rc, -1);
    seen_free(&v);
    CHECK(store_bucket_create(s, B, "ap-guangzhou", "private") == 0);
    v = request_sees(s, B);
    CHECK_INT(v.rc, 0);
    CHECK_STR(v.acl, "private");
    seen_free(&v);
    /* and a write inside a request is seen by that request's next read */
    store_memo_begin(s);
    char *acl = NULL;
    CHECK_INT(store_bucket_get(s, B, NULL, &acl, NULL), 0);
    CHECK_STR(acl, "private");
    free(acl);
    CHECK_INT(store_bucket_set_acl(s, B, "public-read-write"), 0);
    acl = NULL;
    CHECK_INT(store_bucket_get(s, B, NULL, &acl, NULL), 0);
    CHECK_STR(acl, "public-read-write");
    free(acl);
    store_memo_end();
    close_store(s, dir);
}

/* Requests reading a bucket on 6 threads while 2 others rewrite its policy
 * and ACL: every read is whole (a policy some writer wrote, never a freed
 * one: ASan), and once the writers are done the next request sees what
 * each of them wrote last. */
typedef struct meta_race { store *s; atomic_bool stop; atomic_int bad; int id; } meta_race;
static void *meta_writer(void *arg)
{
    meta_race *r = arg;
    int id = r->id;
    for (int i = 0; i < 200; i++) {
        char body[32];
        int n = snprintf(body, sizeof body, "{\"w\":%d,\"i\":%d}", id, i);
        if (store_config_put(r->s, B, id ? "policy" : "cors", body, (size_t)n) != 0) atomic_fetch_add(&r->bad, 1);
        if (i % 10 == 0 && store_bucket_set_acl(r->s, B, i % 20 ? "public-read" : "private") != 0) atomic_fetch_add(&r->bad, 1);
    }
    return NULL;
}
static void *meta_reader(void *arg)
{
    meta_race *r = arg;
    while (!atomic_load(&r->stop)) {
        seen v = request_sees(r->s, B);
        if (v.rc != 0 || !v.acl || (v.policy && strncmp(v.policy, "{\"w\":1,", 7) != 0)) atomic_fetch_add(&r->bad, 1);
        seen_free(&v);
        /* under valgrind, which runs one thread at a time, six readers that
           never yield starved the writers: the test took 130-440 s there */
        sched_yield();
    }
    return NULL;
}
static void test_bucket_reads_racing_writes(void)
{
    char *dir = NULL;
    store *s = open_store("meta-race", &dir);
    if (!s) return;
    meta_race w[2], rd = { s, false, 0, 0 };
    pthread_t wt[2], rt[6];
    for (int i = 0; i < 6; i++) pthread_create(&rt[i], NULL, meta_reader, &rd);
    for (int i = 0; i < 2; i++) {
        w[i] = (meta_race){ s, false, 0, i };
        pthread_create(&wt[i], NULL, meta_writer, &w[i]);
    }
    for (int i = 0; i < 2; i++) pthread_join(wt[i], NULL);
    atomic_store(&rd.stop, true);
    for (int i = 0; i < 6; i++) pthread_join(rt[i], NULL);
    CHECK_INT(atomic_load(&rd.bad) + atomic_load(&w[0].bad) + atomic_load(&w[1].bad), 0);
    seen v = request_sees(s, B);
    CHECK_STR(v.policy, "{\"w\":1,\"i\":199}");
    CHECK_STR(v.acl, "public-read");
    seen_free(&v);
    store_memo_begin(s);
    char *body = NULL;
    size_t len = 0;
    CHECK_INT(store_config_get(s, B, "cors", &body, &len), 0);
    CHECK_STR(body, "{\"w\":0,\"i\":199}");
    free(body);
    store_memo_end();
    close_store(s, dir);
}

int main(void)
{
    RUN(test_staged_direct_writes);
    RUN(test_parallel_hashing);
    RUN(test_threaded_hashing);
    RUN(test_listing_plan);
    RUN(test_bytewise_order);
    RUN(test_listing_cost);
    RUN(test_concurrent_reads_and_writes);
    RUN(test_locked_database);
    RUN(test_migration);
    RUN(test_durable_before_return);
    RUN(test_failed_log_sync);
    RUN(test_put_batches);
    RUN(test_batch_commit_fails);
    RUN(test_unversioned_delete_rechecked);
    RUN(test_old_body_kept_until_durable);
    RUN(test_wal_bounded);
    RUN(test_writes_need_their_bucket);
    RUN(test_bucket_reads_shared);
    RUN(test_bucket_reads_racing_writes);
    return test_report();
}

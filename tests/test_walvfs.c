/* test_walvfs.c — the server's VFS that gathers the log's writes (server/walvfs.c):
 * a commit's frames are all in the log when COMMIT returns (another
 * connection reads them at once; the file ends with that commit's frame,
 * which the store's group commit then fsyncs), transactions larger than its
 * buffer and spilled before their commit come out whole, and a write that
 * fails in the gathered pwrite fails the commit and loses nothing before it. */
#define _GNU_SOURCE
#include "testlib.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int wal_vfs_register(void); /* server/walvfs.c */

static char dir[256], db_path[300];

static sqlite3 *open_db(void)
{
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(db_path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0;", NULL,
                       NULL, NULL) == SQLITE_OK);
    return db;
}

static long long count_rows(sqlite3 *db, long long *bytes)
{
    sqlite3_stmt *st = NULL;
    long long n = -1;
    *bytes = -1;
    if (sqlite3_prepare_v2(db, "SELECT count(*), total(length(body)) FROM t", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        n = sqlite3_column_int64(st, 0);
        *bytes = (long long)sqlite3_column_double(st, 1);
    }
    sqlite3_finalize(st);
    return n;
}

static int insert(sqlite3 *db, int id, int size)
{
    char *body = malloc((size_t)size);
    memset(body, 'a' + id % 26, (size_t)size);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "INSERT INTO t(id, body) VALUES(?, ?)", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int(st, 1, id);
        sqlite3_bind_blob(st, 2, body, size, SQLITE_TRANSIENT);
        rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(db);
        if (rc) fprintf(stderr, "  insert %d: %s\n", id, sqlite3_errmsg(db));
    }
    sqlite3_finalize(st);
    free(body);
    return rc;
}

static bool integrity_ok(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    bool ok = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
              sqlite3_step(st) == SQLITE_ROW && strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
    sqlite3_finalize(st);
    return ok;
}

/* The log on disk (read with plain syscalls, not through SQLite) ends with a
 * commit frame: its header's second word (database size after commit) is set. */
static bool log_ends_with_commit(int page_size)
{
    char path[320];
    snprintf(path, sizeof path, "%s-wal", db_path);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return false;
    struct stat st;
    bool ok = false;
    long frame = 24 + page_size;
    if (fstat(fd, &st) == 0 && st.st_size >= 32 + frame && (st.st_size - 32) % frame == 0) {
        unsigned char h[24];
        ok = pread(fd, h, sizeof h, st.st_size - frame) == (ssize_t)sizeof h && (h[4] | h[5] | h[6] | h[7]) != 0;
    }
    close(fd);
    return ok;
}

static void fresh_db(void)
{
    snprintf(dir, sizeof dir, "%s/walvfs-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    CHECK(mkdtemp(dir) != NULL);
    snprintf(db_path, sizeof db_path, "%s/t.db", dir);
}

static void drop_db(void)
{
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

/* Every commit is readable by another connection, and on disk to its last frame, once COMMIT returns. */
static void test_commit_in_file_when_it_returns(void)
{
    fresh_db();
    sqlite3 *a = open_db(), *b = open_db();
    CHECK(sqlite3_exec(a, "CREATE TABLE t(id INTEGER PRIMARY KEY, body BLOB)", NULL, NULL, NULL) == SQLITE_OK);
    int sizes[] = { 0, 1, 100, 4095, 4096, 5000, 20000 };
    long long want = 0;
    for (int i = 0; i < 70; i++) {
        int size = sizes[i % 7];
        CHECK(sqlite3_exec(a, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);
        CHECK(insert(a, i, size) == SQLITE_OK);
        CHECK(sqlite3_exec(a, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
        want += size;
        CHECK(log_ends_with_commit(4096));
        long long bytes, n = count_rows(b, &bytes);
        CHECK_INT(n, i + 1);
        CHECK_INT(bytes, want);
    }
    CHECK(integrity_ok(b));
    sqlite3_close(a);
    sqlite3_close(b);
    drop_db();
}

/* A transaction of 4 MiB (34 times the buffer), spilled to the log before its commit by a small cache. */
static void test_large_spilled_transaction(void)
{
    fresh_db();
    sqlite3 *a = open_db(), *b = open_db();
    CHECK(sqlite3_exec(a, "CREATE TABLE t(id INTEGER PRIMARY KEY, body BLOB); PRAGMA cache_size=10;", NULL, NULL,
                       NULL) == SQLITE_OK);
    CHECK(sqlite3_exec(a, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);
    for (int i = 0; i < 1000; i++) CHECK(insert(a, i, 4000) == SQLITE_OK);
    long long bytes;
    CHECK_INT(count_rows(b, &bytes), 0); /* not committed: not seen */
    CHECK(sqlite3_exec(a, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
    CHECK(log_ends_with_commit(4096));
    CHECK_INT(count_rows(b, &bytes), 1000);
    CHECK_INT(bytes, 4000000);
    /* rolled back after spilling: nothing of it seen, the rest intact */
    CHECK(sqlite3_exec(a, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);
    for (int i = 1000; i < 1500; i++) CHECK(insert(a, i, 4000) == SQLITE_OK);
    CHECK(sqlite3_exec(a, "ROLLBACK", NULL, NULL, NULL) == SQLITE_OK);
    CHECK_INT(count_rows(b, &bytes), 1000);
    CHECK(sqlite3_exec(a, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL) == SQLITE_OK);
    CHECK_INT(count_rows(a, &bytes), 1000);
    CHECK(integrity_ok(b));
    sqlite3_close(a);
    sqlite3_close(b);
    drop_db();
}

/* The default VFS's write calls, failing on demand (a full disk). */
static atomic_bool fail_writes;
static sqlite3_syscall_ptr real_pwrite, real_pwrite64, real_write;
static ssize_t fake_pwrite(int fd, const void *buf, size_t n, off_t off)
{
    if (atomic_load(&fail_writes)) return errno = ENOSPC, -1;
    return ((ssize_t(*)(int, const void *, size_t, off_t))real_pwrite)(fd, buf, n, off);
}
static ssize_t fake_pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    if (atomic_load(&fail_writes)) return errno = ENOSPC, -1;
    return ((ssize_t(*)(int, const void *, size_t, off_t))real_pwrite64)(fd, buf, n, off);
}
static ssize_t fake_write(int fd, const void *buf, size_t n)
{
    if (atomic_load(&fail_writes)) return errno = ENOSPC, -1;
    return ((ssize_t(*)(int, const void *, size_t))real_write)(fd, buf, n);
}

static void test_failed_write_fails_the_commit(void)
{
    sqlite3_vfs *v = sqlite3_vfs_find(NULL);
    CHECK(v && v->xSetSystemCall);
    if (!v || !v->xSetSystemCall) return;
    real_pwrite = v->xGetSystemCall(v, "pwrite");
    real_pwrite64 = v->xGetSystemCall(v, "pwrite64");
    real_write = v->xGetSystemCall(v, "write");
    if (real_pwrite) CHECK(v->xSetSystemCall(v, "pwrite", (sqlite3_syscall_ptr)fake_pwrite) == SQLITE_OK);
    if (real_pwrite64) CHECK(v->xSetSystemCall(v, "pwrite64", (sqlite3_syscall_ptr)fake_pwrite64) == SQLITE_OK);
    if (real_write) CHECK(v->xSetSystemCall(v, "write", (sqlite3_syscall_ptr)fake_write) == SQLITE_OK);
    fresh_db();
    sqlite3 *a = open_db(), *b = open_db();
    CHECK(sqlite3_exec(a, "CREATE TABLE t(id INTEGER PRIMARY KEY, body BLOB)", NULL, NULL, NULL) == SQLITE_OK);
    for (int i = 0; i < 5; i++) CHECK(insert(a, i, 3000) == SQLITE_OK);
    CHECK(sqlite3_exec(a, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK);
    CHECK(insert(a, 5, 3000) == SQLITE_OK);
    atomic_store(&fail_writes, true);
    int rc = sqlite3_exec(a, "COMMIT", NULL, NULL, NULL);
    atomic_store(&fail_writes, false);
    CHECK(rc != SQLITE_OK);
    if (!sqlite3_get_autocommit(a)) sqlite3_exec(a, "ROLLBACK", NULL, NULL, NULL);
    long long bytes;
    CHECK_INT(count_rows(b, &bytes), 5);
    CHECK_INT(count_rows(a, &bytes), 5);
    /* the connection goes on: the next commit is whole */
    CHECK(insert(a, 6, 3000) == SQLITE_OK);
    CHECK(log_ends_with_commit(4096));
    CHECK_INT(count_rows(b, &bytes), 6);
    CHECK(integrity_ok(b));
    sqlite3_close(a);
    sqlite3_close(b);
    /* and after a reopen (the log recovered from the file alone) */
    sqlite3 *c = open_db();
    CHECK_INT(count_rows(c, &bytes), 6);
    CHECK(integrity_ok(c));
    sqlite3_close(c);
    if (real_pwrite) v->xSetSystemCall(v, "pwrite", real_pwrite);
    if (real_pwrite64) v->xSetSystemCall(v, "pwrite64", real_pwrite64);
    if (real_write) v->xSetSystemCall(v, "write", real_write);
    drop_db();
}

/* Frames gathered and then lost in a flush whose caller ignores the failure
 * (SQLite ignores a file-control hint's answer) must fail the next write:
 * else a later commit frame would land after a hole, and readers find
 * pages that were never written. Driven through the VFS directly. */
static void test_lost_flush_fails_the_next_write(void)
{
    sqlite3_vfs *v = sqlite3_vfs_find(NULL);
    CHECK(v && v->xSetSystemCall);
    if (!v || !v->xSetSystemCall) return;
    fresh_db();
    FILE *db = fopen(db_path, "w"); /* the default VFS takes a log's mode from its database */
    CHECK(db != NULL);
    if (db) fclose(db);
    char name[400] = { 0 };
    snprintf(name, sizeof name - 4, "%s-wal", db_path);
    sqlite3_file *f = calloc(1, (size_t)v->szOsFile);
    int out = 0;
    CHECK(v->xOpen(v, name, f, SQLITE_OPEN_WAL | SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &out) == SQLITE_OK);
    if (!f->pMethods) {
        free(f);
        drop_db();
        return;
    }
    unsigned char hdr[24] = { 0 }, page[4096];
    memset(page, 'p', sizeof page);
    CHECK(f->pMethods->xWrite(f, hdr, 24, 32) == SQLITE_OK); /* a frame that does not commit: gathered */
    CHECK(f->pMethods->xWrite(f, page, 4096, 56) == SQLITE_OK);
    real_pwrite = v->xGetSystemCall(v, "pwrite");
    real_pwrite64 = v->xGetSystemCall(v, "pwrite64");
    real_write = v->xGetSystemCall(v, "write");
    if (real_pwrite) v->xSetSystemCall(v, "pwrite", (sqlite3_syscall_ptr)fake_pwrite);
    if (real_pwrite64) v->xSetSystemCall(v, "pwrite64", (sqlite3_syscall_ptr)fake_pwrite64);
    if (real_write) v->xSetSystemCall(v, "write", (sqlite3_syscall_ptr)fake_write);
    atomic_store(&fail_writes, true);
    sqlite3_int64 hint = 1 << 20;
    CHECK(f->pMethods->xFileControl(f, SQLITE_FCNTL_SIZE_HINT, &hint) != SQLITE_OK); /* the flush fails here */
    atomic_store(&fail_writes, false);
    hdr[7] = 2; /* the commit frame that would follow the lost one */
    CHECK(f->pMethods->xWrite(f, hdr, 24, 32 + 24 + 4096) != SQLITE_OK);
    hdr[7] = 0;
    CHECK(f->pMethods->xWrite(f, hdr, 24, 32) == SQLITE_OK); /* once refused, writes go on */
    CHECK(f->pMethods->xWrite(f, page, 4096, 56) == SQLITE_OK);
    CHECK(f->pMethods->xSync(f, SQLITE_SYNC_NORMAL) == SQLITE_OK);
    sqlite3_int64 size = 0;
    CHECK(f->pMethods->xFileSize(f, &size) == SQLITE_OK);
    CHECK_INT(size, 32 + 24 + 4096);
    f->pMethods->xClose(f);
    free(f);
    if (real_pwrite) v->xSetSystemCall(v, "pwrite", real_pwrite);
    if (real_pwrite64) v->xSetSystemCall(v, "pwrite64", real_pwrite64);
    if (real_write) v->xSetSystemCall(v, "write", real_write);
    drop_db();
}

/* The locks of a transaction, a read's or a write's, are taken in the
 * process's memory (walvfs.c builds on "unix-excl"): with SQLite's "unix"
 * each read was 2 fcntl calls on the -shm file and each write 4, under a
 * mutex that 16 request threads fought for. Counted through the VFS's own
 * system call table, with a writer and a reader on one database. */
static sqlite3_syscall_ptr real_fcntl;
static atomic_int fcntl_calls;
static int counting_fcntl(int fd, int op, ...)
{
    va_list ap;
    va_start(ap, op);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    atomic_fetch_add(&fcntl_calls, 1);
    return ((int (*)(int, int, ...))real_fcntl)(fd, op, arg);
}

static void test_transactions_take_no_file_locks(void)
{
    sqlite3_vfs *v = sqlite3_vfs_find(NULL);
    CHECK(v && v->xSetSystemCall);
    if (!v || !v->xSetSystemCall) return;
    fresh_db();
    sqlite3 *a = open_db(), *b = open_db();
    CHECK(sqlite3_exec(a, "CREATE TABLE t(id INTEGER PRIMARY KEY, body BLOB)", NULL, NULL, NULL) == SQLITE_OK);
    CHECK(insert(a, 0, 100) == SQLITE_OK);
    long long bytes;
    CHECK_INT(count_rows(b, &bytes), 1); /* both connections have begun: the process's lock is taken */
    real_fcntl = v->xGetSystemCall(v, "fcntl");
    CHECK(real_fcntl != NULL);
    if (!real_fcntl) return;
    CHECK(v->xSetSystemCall(v, "fcntl", (sqlite3_syscall_ptr)counting_fcntl) == SQLITE_OK);
    atomic_store(&fcntl_calls, 0);
    for (int i = 1; i <= 20; i++) {
        CHECK(insert(a, i, 3000) == SQLITE_OK);         /* a write transaction */
        CHECK_INT(count_rows(b, &bytes), i + 1);        /* a read transaction that sees it */
    }
    int calls = atomic_load(&fcntl_calls);
    v->xSetSystemCall(v, "fcntl", real_fcntl);
    if (calls != 0) test_fail(__FILE__, __LINE__, "20 writes and 20 reads made %d fcntl calls, not 0", calls);
    CHECK(integrity_ok(b));
    sqlite3_close(a);
    sqlite3_close(b);
    drop_db();
}

int main(void)
{
    if (wal_vfs_register() != 0) {
        fprintf(stderr, "wal_vfs_register failed\n");
        return 1;
    }
    CHECK(strcmp(sqlite3_vfs_find(NULL)->zName, "cos-wal") == 0);
    RUN(test_commit_in_file_when_it_returns);
    RUN(test_large_spilled_transaction);
    RUN(test_failed_write_fails_the_commit);
    RUN(test_lost_flush_fails_the_next_write);
    RUN(test_transactions_take_no_file_locks);
    return test_report();
}

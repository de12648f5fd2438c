/* walvfs.c — SQLite's default VFS with the write-ahead log's writes gathered.
 *
 * SQLite appends a commit to the log as two pwrites per page (the 24-byte
 * frame header, then the page): 14-25 pwrites per small PUT, each a trip
 * into the kernel (ext4's locks, the inode's times) for a few KiB. This VFS
 * hands every file to the default one ("unix") unchanged, except the log,
 * whose contiguous appends it keeps in a buffer and writes in one pwrite
 * when the commit's last page comes (or earlier: before any other operation
 * on the file, a write elsewhere in it, or a full buffer).
 *
 * What SQLite relies on still holds: a commit's frames are all in the file
 * when the write of its last page returns (an error there is the commit's
 * error), so before the commit is published in the shared index where other
 * connections find it, and before the store's group commit fsyncs the log
 * (store.c, durable_wait). A read, a sync, a truncation, a size or a close
 * sees every write made before it. Frames of a transaction not yet committed
 * may wait in the buffer: nothing but this connection reads them, and its
 * reads flush first. A connection is used by one thread at a time (the
 * store's pool), so the buffer needs no lock.
 *
 * A commit frame is recognized from the log's documented format: a frame
 * header is 24 bytes whose second big-endian word (the database's size in
 * pages after the commit) is non-zero only in a commit's last frame. */
#include "server.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The default VFS writes at most 128 KiB - 1 bytes per call (it masks the
 * length with 0x1ffff: SQLite itself never writes more than a 64 KiB page),
 * a longer write came out short, as a full disk: the buffer stays under it. */
enum { WAL_BUF_MAX = 120 * 1024, WAL_HDR = 32, FRAME_HDR = 24 };

typedef struct wal_file {
    sqlite3_file base;   /* pMethods: &wal_methods (the log) or the real file's own (anything else) */
    sqlite3_file *real;  /* the default VFS's file, in the space after this struct */
    unsigned char *buf;  /* appends not yet written */
    size_t len, cap;
    sqlite3_int64 at;    /* the file offset of buf[0] */
    bool commit_page;    /* the last write was a commit frame's header: the next one ends the commit */
    int lost;            /* a flush failed where the caller may not look (a hint): the next write fails */
} wal_file;

static sqlite3_vfs *base_vfs;
static sqlite3_vfs wal_vfs;
static const sqlite3_io_methods wal_methods;

/* The real file sits after the wrapper, aligned as SQLite aligns its own. */
static size_t real_offset(void) { return (sizeof(wal_file) + 15) & ~(size_t)15; }

static int wal_flush(wal_file *f)
{
    if (!f->len) return SQLITE_OK;
    int rc = f->real->pMethods->xWrite(f->real, f->buf, (int)f->len, f->at);
    f->len = 0; /* written, or failed: either way SQLite hears of it now and never counts on them */
    return rc;
}

static int wal_write(sqlite3_file *pf, const void *data, int amt, sqlite3_int64 off)
{
    wal_file *f = (wal_file *)pf;
    int rc;
    if (f->lost) { /* frames of this transaction never reached the file: it must not commit */
        rc = f->lost;
        f->lost = 0;
        f->commit_page = false;
        return rc;
    }
    if (f->len && off != f->at + (sqlite3_int64)f->len && (rc = wal_flush(f)) != SQLITE_OK) return rc;
    if (f->len + (size_t)amt > WAL_BUF_MAX && (rc = wal_flush(f)) != SQLITE_OK) return rc;
    if ((size_t)amt > WAL_BUF_MAX) {
        f->commit_page = false;
        return f->real->pMethods->xWrite(f->real, data, amt, off);
    }
    if (f->len + (size_t)amt > f->cap) {
        size_t cap = f->cap ? f->cap : 32 * 1024;
        while (cap < f->len + (size_t)amt) cap *= 2;
        unsigned char *b = realloc(f->buf, cap);
        if (!b) { /* no buffer: write through, as the default VFS would */
            if ((rc = wal_flush(f)) != SQLITE_OK) return rc;
            return f->real->pMethods->xWrite(f->real, data, amt, off);
        }
        f->buf = b;
        f->cap = cap;
    }
    if (!f->len) f->at = off;
    memcpy(f->buf + f->len, data, (size_t)amt);
    f->len += (size_t)amt;
    if (f->commit_page) { /* the commit's last page: all of it goes to the file now */
        f->commit_page = false;
        return wal_flush(f);
    }
    if (amt == FRAME_HDR && off >= WAL_HDR) {
        const unsigned char *h = data;
        f->commit_page = (h[4] | h[5] | h[6] | h[7]) != 0;
    }
    return SQLITE_OK;
}

static int wal_close(sqlite3_file *pf)
{
    wal_file *f = (wal_file *)pf;
    int rc = wal_flush(f);
    int rc2 = f->real->pMethods->xClose(f->real);
    free(f->buf);
    f->buf = NULL;
    f->cap = 0;
    return rc != SQLITE_OK ? rc : rc2;
}

/* Every other operation sees the file with the buffered writes in it. Its
 * caller may ignore a failure (SQLite ignores a file-control hint's), so a
 * failed flush also fails the next write: a later commit frame must never
 * reach the log after frames that did not. */
#define FLUSHED(f) \
    wal_file *f = (wal_file *)pf; \
    int frc = wal_flush(f); \
    if (frc != SQLITE_OK) return f->lost = frc

static int wal_read(sqlite3_file *pf, void *out, int amt, sqlite3_int64 off)
{
    FLUSHED(f);
    return f->real->pMethods->xRead(f->real, out, amt, off);
}
static int wal_truncate(sqlite3_file *pf, sqlite3_int64 size)
{
    FLUSHED(f);
    return f->real->pMethods->xTruncate(f->real, size);
}
static int wal_sync(sqlite3_file *pf, int flags)
{
    FLUSHED(f);
    return f->real->pMethods->xSync(f->real, flags);
}
static int wal_size(sqlite3_file *pf, sqlite3_int64 *size)
{
    FLUSHED(f);
    return f->real->pMethods->xFileSize(f->real, size);
}
static int wal_lock(sqlite3_file *pf, int level)
{
    FLUSHED(f);
    return f->real->pMethods->xLock(f->real, level);
}
static int wal_unlock(sqlite3_file *pf, int level)
{
    FLUSHED(f);
    return f->real->pMethods->xUnlock(f->real, level);
}
static int wal_reserved(sqlite3_file *pf, int *out)
{
    FLUSHED(f);
    return f->real->pMethods->xCheckReservedLock(f->real, out);
}
static int wal_control(sqlite3_file *pf, int op, void *arg)
{
    FLUSHED(f);
    return f->real->pMethods->xFileControl(f->real, op, arg);
}
static int wal_sector(sqlite3_file *pf) { return ((wal_file *)pf)->real->pMethods->xSectorSize(((wal_file *)pf)->real); }
static int wal_device(sqlite3_file *pf)
{
    wal_file *f = (wal_file *)pf;
    return f->real->pMethods->xDeviceCharacteristics(f->real);
}

/* Version 1: a log is never memory-mapped nor used for the shared index (those are the database file's). */
static const sqlite3_io_methods wal_methods = {
    1, wal_close, wal_read, wal_write, wal_truncate, wal_sync, wal_size, wal_lock, wal_unlock, wal_reserved,
    wal_control, wal_sector, wal_device, NULL, NULL, NULL, NULL, NULL, NULL,
};

static int wal_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *pf, int flags, int *out_flags)
{
    (void)vfs;
    if (!(flags & SQLITE_OPEN_WAL)) /* anything but a log: the default VFS's file, in place */
        return base_vfs->xOpen(base_vfs, name, pf, flags, out_flags);
    wal_file *f = (wal_file *)pf;
    memset(f, 0, sizeof *f);
    f->real = (sqlite3_file *)((char *)pf + real_offset());
    int rc = base_vfs->xOpen(base_vfs, name, f->real, flags, out_flags);
    /* no methods when the open failed: SQLite then calls no xClose */
    f->base.pMethods = rc == SQLITE_OK && f->real->pMethods ? &wal_methods : NULL;
    return rc;
}

/* The rest of the VFS is the default one's. */
static int v_delete(sqlite3_vfs *v, const char *n, int sync) { (void)v; return base_vfs->xDelete(base_vfs, n, sync); }
static int v_access(sqlite3_vfs *v, const char *n, int fl, int *out) { (void)v; return base_vfs->xAccess(base_vfs, n, fl, out); }
static int v_full(sqlite3_vfs *v, const char *n, int len, char *out) { (void)v; return base_vfs->xFullPathname(base_vfs, n, len, out); }
static void *v_dlopen(sqlite3_vfs *v, const char *n) { (void)v; return base_vfs->xDlOpen(base_vfs, n); }
static void v_dlerror(sqlite3_vfs *v, int len, char *out) { (void)v; base_vfs->xDlError(base_vfs, len, out); }
static void (*v_dlsym(sqlite3_vfs *v, void *h, const char *s))(void) { (void)v; return base_vfs->xDlSym(base_vfs, h, s); }
static void v_dlclose(sqlite3_vfs *v, void *h) { (void)v; base_vfs->xDlClose(base_vfs, h); }
static int v_random(sqlite3_vfs *v, int n, char *out) { (void)v; return base_vfs->xRandomness(base_vfs, n, out); }
static int v_sleep(sqlite3_vfs *v, int us) { (void)v; return base_vfs->xSleep(base_vfs, us); }
static int v_time(sqlite3_vfs *v, double *out) { (void)v; return base_vfs->xCurrentTime(base_vfs, out); }
static int v_lasterr(sqlite3_vfs *v, int n, char *out) { (void)v; return base_vfs->xGetLastError ? base_vfs->xGetLastError(base_vfs, n, out) : 0; }
static int v_time64(sqlite3_vfs *v, sqlite3_int64 *out) { (void)v; return base_vfs->xCurrentTimeInt64(base_vfs, out); }
static int v_setsys(sqlite3_vfs *v, const char *n, sqlite3_syscall_ptr p) { (void)v; return base_vfs->xSetSystemCall(base_vfs, n, p); }
static sqlite3_syscall_ptr v_getsys(sqlite3_vfs *v, const char *n) { (void)v; return base_vfs->xGetSystemCall(base_vfs, n); }
static const char *v_nextsys(sqlite3_vfs *v, const char *n) { (void)v; return base_vfs->xNextSystemCall(base_vfs, n); }

/* Makes this VFS the process's default: 0, or -1 (SQLite's own stays the default).
 *
 * Built on SQLite's "unix-excl": the process takes one lock on the database
 * at its first transaction and keeps it, and the log's shared index lives in
 * the process's memory, so the locks of every transaction (a read mark, the
 * write lock) are taken in memory. With "unix" each was an fcntl on the -shm
 * file, taken and released under SQLite's mutex: 2 system calls per GET and
 * 6 per PUT, and with 16 requests in flight that mutex, held across the
 * system call, was the server's most contended futex. The store is one
 * process's already (its root is flock'ed); another process opening meta.db
 * while it runs is told SQLITE_BUSY instead of sharing its locks. */
int wal_vfs_register(void)
{
    base_vfs = sqlite3_vfs_find("unix-excl");
    if (!base_vfs) base_vfs = sqlite3_vfs_find(NULL);
    if (!base_vfs || base_vfs->iVersion < 3) return -1;
    size_t need = real_offset() + (size_t)base_vfs->szOsFile;
    wal_vfs = (sqlite3_vfs){
        3, (int)(need > (size_t)base_vfs->szOsFile ? need : (size_t)base_vfs->szOsFile), base_vfs->mxPathname, NULL,
        "cos-wal", NULL, wal_open, v_delete, v_access, v_full, v_dlopen, v_dlerror, v_dlsym, v_dlclose, v_random,
        v_sleep, v_time, v_lasterr, v_time64, v_setsys, v_getsys, v_nextsys,
    };
    return sqlite3_vfs_register(&wal_vfs, 1) == SQLITE_OK ? 0 : -1;
}

/*
 * util.h — small internal helpers shared by libcos, cos-server and the CLI:
 * a growable buffer, owned name/value lists, error construction, clocks.
 * Nothing here is public API.
 */
#ifndef COS_UTIL_H
#define COS_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "cos/error.h"
#include "cos/common.h"

#if defined(__GNUC__)
#define COS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define COS_PRINTF(a, b)
#endif

/* ---- growable byte buffer; data is always NUL-terminated ---- */
typedef struct cos_buf {
    char *data;
    size_t len;
    size_t cap;
} cos_buf;

#define COS_BUF_INIT { NULL, 0, 0 }
int cos_buf_reserve(cos_buf *b, size_t extra);          /* 0 or COS_ERR_NOMEM */
int cos_buf_append(cos_buf *b, const void *p, size_t n);
int cos_buf_puts(cos_buf *b, const char *s);
int cos_buf_putc(cos_buf *b, char c);
int cos_buf_printf(cos_buf *b, const char *fmt, ...) COS_PRINTF(2, 3);
void cos_buf_reset(cos_buf *b);                          /* len = 0, keeps memory */
void cos_buf_free(cos_buf *b);
char *cos_buf_detach(cos_buf *b);                        /* caller frees; "" if empty */

/* ---- strings ---- */
char *cos_strdup(const char *s);                          /* NULL-safe */
char *cos_strndup(const char *s, size_t n);
char *cos_sprintf(const char *fmt, ...) COS_PRINTF(1, 2); /* malloc'd */
bool cos_streq_ci(const char *a, const char *b);
bool cos_str_empty(const char *s);                        /* NULL or "" */
/* HTTP header fields as libcos sends them (RFC 9110 5.1, 5.5; Node's http
 * checks the same): a name is a non-empty token; a value has no control
 * byte but the tab. A CR or LF would end the line: what follows it became
 * a header nobody signed (x-cos-acl: public-read) or a second request. The
 * length of the valid start of a name is what an error may quote. */
bool cos_header_name_ok(const char *s);
size_t cos_header_name_span(const char *s);
bool cos_header_value_ok(const char *s);
/* Bytes of the strict UTF-8 character at s (no overlong forms, surrogates or
 * code points past U+10FFFF), its code point in *cp (may be NULL); 0 when s
 * starts no valid one or is at its NUL. */
size_t cos_utf8_len(const unsigned char *s, uint32_t *cp);
bool cos_starts_with(const char *s, const char *prefix);
bool cos_starts_with_ci(const char *s, const char *prefix);
void cos_str_lower(char *s);
char *cos_str_trim(char *s);                              /* in place */
int cos_parse_u64(const char *s, uint64_t *out);          /* 0 if a full decimal number */
int cos_parse_i64(const char *s, int64_t *out);

/* ---- owned name/value list ---- */
typedef struct cos_kvlist {
    cos_kv *items;     /* name and value malloc'd (cast away const to free) */
    size_t count;
    size_t cap;
} cos_kvlist;

#define COS_KVLIST_INIT { NULL, 0, 0 }
int cos_kvlist_add(cos_kvlist *l, const char *name, const char *value);
int cos_kvlist_addn(cos_kvlist *l, const char *name, size_t nlen, const char *value, size_t vlen);
int cos_kvlist_set(cos_kvlist *l, const char *name, const char *value); /* replace (case-insensitive) or add */
const char *cos_kvlist_get(const cos_kvlist *l, const char *name);      /* case-insensitive */
void cos_kvlist_remove(cos_kvlist *l, const char *name);
void cos_kvlist_free(cos_kvlist *l);
const char *cos_kv_find(const cos_kv *items, size_t n, const char *name); /* case-insensitive */

/* ---- errors ---- */
/* Set *err (if err != NULL) to a new error of `kind` with a formatted message; returns kind. */
int cos_err_set(cos_error **err, cos_error_kind kind, const char *fmt, ...) COS_PRINTF(3, 4);
/* An invalid-argument error naming the field. */
int cos_err_invalid(cos_error **err, const char *field, const char *fmt, ...) COS_PRINTF(3, 4);
/* An I/O error from errno, with the path in the message. */
int cos_err_io(cos_error **err, int errnum, const char *what, const char *path);
/* cos_error_new: public, cos/error.h */
/* The error out-parameter's contract (error.h): every public function that
 * takes `cos_error **err` calls this first, so *err is NULL after a success
 * and holds exactly this call's error after a failure. */
void cos_err_reset(cos_error **err);

/* ---- download destinations ---- */
/* A destination that exists and is a device, FIFO or socket (/dev/null, a
 * pipe's name) is written in place: replacing it with a renamed temporary
 * file, as a regular file is, would destroy the device node. Returns 1 with
 * *fd open for writing when `path` is such a file, 0 when it is a regular
 * file or absent (the caller writes a temporary and renames), and an error
 * kind for a directory or an unopenable special file. */
int cos_open_special_dest(const char *path, bool no_follow, int *fd, cos_error **err);
/* The file a download to `path` writes: `path` itself, or, when it is a
 * symlink, what it points to (followed to the end, relative targets taken
 * from the link's directory), so the temporary goes beside the target and
 * is renamed over it and the link stays, as cp(1) and curl -o write
 * through a link. A dangling link gives its target's name (the download
 * creates it). NULL with errno set (ELOOP past 40 links, ENOMEM; EACCES
 * for a link fs.protected_symlinks would not follow: another user's, in a
 * sticky world-writable directory such as /tmp). */
char *cos_download_target(const char *path);
/* Give a download's temporary file (fd), about to be renamed over
 * `target`, the permissions of the file it replaces (a private 0600 file
 * stays private, as cp(1) and curl -o keep them by writing in place), or
 * 0666 less the umask for a new file. Set-id and sticky bits are not kept.
 * Run as root, the replaced file's owner and group are kept too. */
void cos_take_target_mode(int fd, const char *target);
/* A regular file at `target` this process may not write (a write-protected
 * 0444 file, not root; another's file): cp(1) and curl -o refuse to replace
 * it, and a rename over it would not ask. Its errno (EACCES...), or 0. */
int cos_target_write_protected(const char *target);
/* Remove the temporaries FILE.cos-tmp-XXXXXX beside `target` that a
 * download killed with -9 left, once per directory and process: only
 * regular files of this user marked as libcos's (cos_mark_temporary), of
 * one link, untouched for an hour and not locked (every live download holds an flock on its temporary:
 * cos_lock_temporary). */
void cos_sweep_stale_temporaries(const char *target);
/* Mark a file as a temporary of libcos's, the only kind the sweep removes
 * (an extended attribute; cos_take_target_mode takes it off). */
void cos_mark_temporary(int fd);
/* Mark a download's temporary as such and in use (flock; released when the
 * last descriptor of it closes, so by a kill -9 too). */
void cos_lock_temporary(int fd);
/* write(2) until all of buf is written; 0, or the errno of the write that failed (ENOSPC for one that wrote nothing). */
int cos_write_all(int fd, const void *buf, size_t len);
/* cos_write_all to a pipe, socket or device the caller named: SIGPIPE is
 * blocked in the calling thread around the writes and, when they fail with
 * EPIPE (the reader went away), the SIGPIPE they raised is taken back
 * before the mask is restored, so a library call never kills its caller
 * (whose disposition of SIGPIPE may be the default). */
int cos_write_all_nosigpipe(int fd, const void *buf, size_t len);

/* ---- options structs: the one version check (common.h, docs/abi.md) ---- */
/* Copy the caller's struct *src into *dst (dst_size bytes): only as many
 * bytes as src's version had (sizes[version], 0 = not accepted), the rest
 * zero, which is every field's safe default. A version not accepted is
 * refused with COS_ERR_INVALID_ARG naming "version", the struct and the
 * versions accepted. */
int cos_options_in(void *dst, size_t dst_size, const void *src, const char *type, const char *init_macro,
                   const size_t *sizes, size_t nsizes, cos_error **err);
#define COS_OPTIONS_IN(dst, src, type, init_macro, sizes, err) \
    cos_options_in((dst), sizeof *(dst), (src), (type), (init_macro), (sizes), COS_ARRAY_LEN(sizes), (err))

/* ---- time ---- */
int64_t cos_now_ms(void);          /* wall clock, ms since the epoch */
int64_t cos_mono_ms(void);         /* monotonic clock, ms */
double cos_mono_sec(void);         /* monotonic clock, s */
void cos_sleep_ms(int64_t ms);
/* RFC 1123 date ("Tue, 24 Nov 2026 18:55:41 GMT") <-> Unix seconds; -1 on a bad date. */
int64_t cos_http_date_parse(const char *s);
void cos_http_date_format(int64_t unix_s, char out[32]);
/* ISO 8601 "2026-11-24T18:55:41.000Z" for listings. */
void cos_iso8601_format(int64_t unix_ms, char out[32]);
int64_t cos_iso8601_parse(const char *s); /* ms; -1 on error */

#define COS_MIN(a, b) ((a) < (b) ? (a) : (b))
#define COS_MAX(a, b) ((a) > (b) ? (a) : (b))
#define COS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif

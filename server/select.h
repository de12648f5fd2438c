/*
 * select.h — SELECT Object Content (POST /key?select&select-type=2): the
 * request document, its SQL, the record readers (CSV, JSON; raw or gzip) and
 * the answer's event stream. No HTTP here: handlers.c feeds the object's bytes
 * in pieces and sends what comes out, so memory stays bounded by one record
 * (at most SEL_MAX_RECORD) and one batch of output, whatever the object's size.
 */
#ifndef COS_SERVER_SELECT_H
#define COS_SERVER_SELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define SEL_MAX_RECORD (1u << 20) /* COS's and S3's limit on one record */
#define SEL_MAX_EXPRESSION (256u << 10) /* COS's and S3's limit on the SQL */
#define SEL_MAX_RECORD_WORK (64u << 20) /* what evaluating one record may cost: bytes of values, LIKE's steps, name lookups */
#define SEL_MAX_DEPTH 1000 /* levels of the expression's tree (a thread's stack is spent per level) */
/* What one request's evaluation may cost in all (every node evaluated, and what SEL_MAX_RECORD_WORK
   counts): a base, and so much per byte of the object read (compressed bytes for gzip) */
#define SEL_REQUEST_WORK_BASE (64u << 20)
#define SEL_REQUEST_WORK_PER_BYTE 256u

typedef struct sel_query sel_query;
typedef struct sel_run sel_run;

/* A SelectRequest document: 0 and *out, or -1 with COS's error code (static
 * text) and a message: the request is answered with that error, nothing
 * streamed. *code may be "NotImplemented" (Parquet, BZIP2). */
int sel_compile(const char *xml, size_t len, sel_query **out, const char **code, char *msg, size_t msglen);
/* The same for an expression alone, read as CSV without a header (fuzz/). */
int sel_compile_sql(const char *sql, size_t len, sel_query **out, const char **code, char *msg, size_t msglen);
void sel_query_free(sel_query *q);
/* true when the input is gzip: handlers.c then feeds smaller pieces, since a
 * piece may inflate a thousandfold */
bool sel_query_gzip(const sel_query *q);

/* A run of q over one object (q is the caller's, kept until sel_run_free). */
sel_run *sel_run_new(const sel_query *q);
/* The object's next bytes (as stored: compressed if it is). Appends whole
 * event-stream messages to out. 0: go on; 1: done (LIMIT reached, or an error
 * event was appended): feed no more, call sel_run_end. */
int sel_run_feed(sel_run *r, const void *data, size_t len, cos_buf *out);
/* The end of the object: the last records, Progress (if asked), Stats, End;
 * or only what an error left to say. */
void sel_run_end(sel_run *r, cos_buf *out);
/* The object could not be read: an error event, and nothing more. */
void sel_run_fail(sel_run *r, cos_buf *out, const char *code, const char *msg);
void sel_run_free(sel_run *r);

/* One message of the event stream, as COS frames it (tests and fuzz/ read
 * them back): headers are name/value pairs of string type. */
void sel_message(cos_buf *out, const char *const *headers, size_t nheaders, const void *payload, size_t len);

#endif

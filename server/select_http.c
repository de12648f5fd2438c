/*
 * select_http.c — POST /key?select&select-type=2 (SELECT Object Content):
 * the object is read as GET reads it (its version, a symlink's target, SSE
 * keys, archive state; authorized as GetObject by the operation table) and
 * streamed through select.c piece by piece into a chunked answer, so neither
 * the object nor the answer is ever held whole.
 */
#define _GNU_SOURCE
#include "server.h"
#include "archive.h"
#include "select.h"
#include "sse.h"
#include "versioning.h"

#include <stdlib.h>
#include <string.h>

typedef struct select_stream {
    data_reader *dr;
    sse_key key;
    uint64_t pos, size;
    size_t piece;          /* bytes read at a time: small for gzip, which may inflate a thousandfold */
    unsigned char *in;
    sel_query *q;
    sel_run *run;
    cos_buf out;           /* event-stream bytes not yet handed to MHD */
    size_t out_off;
    bool ended;
    int64_t bps, t0_ms;    /* x-cos-traffic-limit: the answer paced to bps from t0, as GET's body */
    server *srv;
    struct MHD_Connection *conn;
} select_stream;

static ssize_t select_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    select_stream *st = cls;
    /* ahead of the pace: the connection is suspended until the next piece is due (handlers.c's GET) */
    int64_t due = traffic_due(st->bps, st->t0_ms, pos);
    if (due && server_hold(st->srv, st->conn, due)) return 0;
    while (st->out_off == st->out.len) {
        cos_buf_reset(&st->out);
        st->out_off = 0;
        if (st->ended) return MHD_CONTENT_READER_END_OF_STREAM;
        if (st->pos < st->size) {
            size_t want = (size_t)COS_MIN((uint64_t)st->piece, st->size - st->pos);
            ssize_t n = sse_pread(st->dr, &st->key, st->in, want, st->pos);
            if (n <= 0) { /* the 200 is sent: an error event is what is left to say */
                sel_run_fail(st->run, &st->out, "InternalError", "The object's data could not be read.");
                st->ended = true;
                continue;
            }
            st->pos += (uint64_t)n;
            if (sel_run_feed(st->run, st->in, (size_t)n, &st->out) == 0) continue;
        }
        sel_run_end(st->run, &st->out);
        st->ended = true;
    }
    size_t n = COS_MIN(max, st->out.len - st->out_off);
    memcpy(buf, st->out.data + st->out_off, n);
    st->out_off += n;
    return (ssize_t)n;
}

static void select_free(void *cls)
{
    select_stream *st = cls;
    sel_run_free(st->run);
    sel_query_free(st->q);
    if (st->dr) data_close(st->dr);
    free(st->dr);
    free(st->in);
    cos_buf_free(&st->out);
    free(st);
}

enum MHD_Result select_object(req *r)
{
    const char *type = req_arg(r, "select-type");
    if (!type || strcmp(type, "2") != 0)
        return send_error(r, "InvalidArgument", "SELECT needs select-type=2 (the version of the API).");
    const char *code = NULL;
    char msg[300];
    sel_query *q = NULL;
    /* the request is refused whole, before the object is looked at, when its SQL cannot run */
    if (sel_compile(r->body.data, r->body.len, &q, &code, msg, sizeof msg) != 0)
        return send_error(r, code, "%s", msg);
    const char *want_version = req_arg(r, "versionId");
    if (want_version && !*want_version) want_version = NULL;
    obj_meta m;
    bool marker = false;
    enum MHD_Result ret;
    store_memo_want_body();
    int grc = versioning_lookup(r, r->bucket, r->key, want_version, &m, &marker);
    if (grc != 0) {
        sel_query_free(q);
        return grc == -1 ? (want_version ? send_error(r, "NoSuchVersion", "The specified version does not exist.")
                                         : send_error(r, "NoSuchKey", "The specified key does not exist."))
               : grc == STORE_BUSY ? send_error(r, "SlowDown", "The metadata store is busy; please retry.")
                                   : send_error(r, "InternalError", "The metadata store could not be read.");
    }
    if (marker) {
        obj_meta_clear(&m);
        sel_query_free(q);
        return send_error(r, "MethodNotAllowed", "The specified version is a delete marker.");
    }
    /* authorization read this object to decide (its ACL, its tags): select from that very one */
    if (r->authz_pinned && strcmp(r->authz_pin, m.data_id) != 0) {
        obj_meta_clear(&m);
        sel_query_free(q);
        return send_error(r, "SlowDown", "The object was replaced while it was being authorized; retry.");
    }
    if (symlink_follow(r, false, &m, &ret) != 0) {
        sel_query_free(q);
        return ret;
    }
    sse_key key;
    int64_t bps = 0;
    if (sse_from_request(r, false, &key, &ret) != 0 || sse_check_access(r, m.headers, &key, &ret) != 0 ||
        restore_blocks_read(r, &m, &ret) || (bps = traffic_limit(r, &ret)) < 0) {
        obj_meta_clear(&m);
        sel_query_free(q);
        return ret;
    }
    select_stream *st = calloc(1, sizeof *st);
    data_reader *dr = st ? malloc(sizeof *dr) : NULL;
    int orc = dr ? data_open(r->srv->st, m.data_id, dr) : -2;
    if (orc != 0) {
        free(dr);
        free(st);
        obj_meta_clear(&m);
        sel_query_free(q);
        return orc == -2 ? send_error(r, "InternalError", "Out of memory.")
                         : send_error(r, "SlowDown", "The object was replaced while it was being read; retry.");
    }
    st->dr = dr;
    st->key = key;
    st->size = m.size;
    st->q = q;
    st->piece = sel_query_gzip(q) ? 8u << 10 : 64u << 10;
    st->bps = bps;
    st->t0_ms = cos_mono_ms();
    st->srv = r->srv;
    st->conn = r->conn;
    st->in = malloc(st->piece);
    st->run = sel_run_new(q);
    obj_meta_clear(&m);
    if (!st->in || !st->run) {
        select_free(st);
        return send_error(r, "InternalError", "Out of memory.");
    }
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, bps > 0 ? 16 << 10 : 64 << 10,
                                                                  select_read, st, select_free);
    if (!resp) {
        select_free(st);
        return send_error(r, "InternalError", "Out of memory.");
    }
    MHD_add_response_header(resp, "Content-Type", "application/octet-stream");
    return send_response(r, 200, resp);
}

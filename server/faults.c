/*
 * faults.c — fault injection for tests (enabled with --faults): PUT /-/faults
 * with a JSON list of rules makes matching requests fail the way networks and
 * servers do; DELETE /-/faults clears them.
 *   [{"method": "PUT", "match": "partNumber=2", "action": "status", "status": 503,
 *     "code": "SlowDown", "times": 1}, ...]
 * actions: status (an error response), drop (close the connection),
 * stall (sleep "ms" then serve), bad_crc (serve with a wrong
 * x-cos-hash-crc64ecma) — "match" is a substring of "METHOD path?query".
 */
#define _GNU_SOURCE
#include "server.h"
#include "json.h"

#include <stdlib.h>
#include <string.h>

typedef struct fault_rule {
    char *method, *match, *action, *code;
    int status, times, ms;
} fault_rule;

void fault_clear(server *s)
{
    for (size_t i = 0; i < s->nfaults; i++) {
        free(s->faults[i].method);
        free(s->faults[i].match);
        free(s->faults[i].action);
        free(s->faults[i].code);
    }
    free(s->faults);
    s->faults = NULL;
    s->nfaults = 0;
}

enum MHD_Result fault_endpoint(req *r)
{
    server *s = r->srv;
    if (!s->cfg.faults) return send_error(r, "NoSuchBucket", "fault injection is off (start with --faults)");
    pthread_mutex_lock(&s->fault_lock);
    fault_clear(s);
    enum MHD_Result ret;
    if (!strcmp(r->method, "PUT") || !strcmp(r->method, "POST")) {
        cos_json *j = cos_json_parse(r->body.data ? r->body.data : "", r->body.len, NULL);
        if (!j || j->type != COS_JSON_ARRAY) {
            pthread_mutex_unlock(&s->fault_lock);
            cos_json_free(j);
            return send_error(r, "MalformedXML", "fault rules must be a JSON array");
        }
        s->faults = calloc(j->count + 1, sizeof *s->faults);
        for (size_t i = 0; i < j->count; i++) {
            const cos_json *e = &j->items[i];
            fault_rule *f = &s->faults[s->nfaults++];
            f->method = cos_strdup(cos_json_get_str(e, "method"));
            f->match = cos_strdup(cos_json_get_str(e, "match"));
            f->action = cos_strdup(cos_json_get_str(e, "action") ? cos_json_get_str(e, "action") : "status");
            f->code = cos_strdup(cos_json_get_str(e, "code") ? cos_json_get_str(e, "code") : "InternalError");
            int64_t v = 0;
            f->status = cos_json_get_i64(e, "status", &v) ? (int)v : 500;
            f->times = cos_json_get_i64(e, "times", &v) ? (int)v : 1;
            f->ms = cos_json_get_i64(e, "ms", &v) ? (int)v : 1000;
        }
        cos_json_free(j);
    }
    pthread_mutex_unlock(&s->fault_lock);
    ret = send_buffer(r, 200, "application/json", cos_strdup("{\"ok\":true}"), 11, NULL);
    return ret;
}

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    cos_buf *b = cls;
    cos_buf_printf(b, "%s%s%s%s", b->len ? "&" : "?", key, value ? "=" : "", value ? value : "");
    return MHD_YES;
}

bool fault_apply(req *r, enum MHD_Result *ret)
{
    server *s = r->srv;
    if (!s->cfg.faults || !s->nfaults) return false;
    cos_buf line = COS_BUF_INIT;
    cos_buf_printf(&line, "%s %s%s", r->method, r->bucket && !r->path_style ? "/" : "", r->path);
    size_t base = line.len;
    cos_buf q = COS_BUF_INIT;
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_query, &q);
    (void)base;
    if (q.data) cos_buf_puts(&line, q.data);
    cos_buf_free(&q);
    fault_rule hit = { 0 };
    bool found = false;
    pthread_mutex_lock(&s->fault_lock);
    for (size_t i = 0; i < s->nfaults && !found; i++) {
        fault_rule *f = &s->faults[i];
        if (f->times <= 0) continue;
        if (f->method && strcmp(f->method, r->method) != 0) continue;
        if (f->match && !strstr(line.data, f->match)) continue;
        f->times--;
        hit = *f;
        hit.action = cos_strdup(f->action);
        hit.code = cos_strdup(f->code);
        found = true;
    }
    pthread_mutex_unlock(&s->fault_lock);
    cos_buf_free(&line);
    if (!found) return false;
    bool handled = true;
    if (!strcmp(hit.action, "drop")) {
        *ret = MHD_NO; /* closes the connection without an answer */
        r->status = 0;
    } else if (!strcmp(hit.action, "stall")) {
        cos_sleep_ms(hit.ms);
        handled = false;
    } else if (!strcmp(hit.action, "bad_crc")) {
        r->fault_bad_crc = true;
        handled = false;
    } else {
        char *msg = cos_sprintf("injected fault: %s", hit.code);
        const char *code = hit.code;
        *ret = send_error(r, code, "%s", msg);
        if (hit.status && hit.status != error_status(code)) r->status = hit.status;
        free(msg);
    }
    free(hit.action);
    free(hit.code);
    return handled;
}

/*
 * archive.c — ARCHIVE and DEEP_ARCHIVE objects are offline as in COS: GET
 * and copy answer 403 InvalidObjectState until a POST ?restore has
 * completed, and then only until the restored copy expires. The restore's
 * state lives among the object's stored headers as an internal line
 * (x-cos-internal-restore: READY_MS EXPIRY_MS) that is never sent and never
 * copied. Restores take COS's time by tier, or --restore-seconds for tests.
 *
 * Also x-cos-traffic-limit: requests carrying it are paced to that many
 * bits per second.
 */
#define _GNU_SOURCE
#include "archive.h"
#include "versioning.h"
#include "xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RESTORE_LINE "x-cos-internal-restore:"

bool archive_class(const char *sc)
{
    return sc && (!strcmp(sc, "ARCHIVE") || !strcmp(sc, "DEEP_ARCHIVE") || !strcmp(sc, "MAZ_ARCHIVE"));
}

/* The restore state of m: 0 none, 1 in progress, 2 restored (until *expiry). */
static int restore_state(const obj_meta *m, int64_t *ready, int64_t *expiry)
{
    const char *p = m->headers ? strstr(m->headers, RESTORE_LINE) : NULL;
    long long a = 0, b = 0;
    if (!p || sscanf(p + strlen(RESTORE_LINE), " %lld %lld", &a, &b) != 2) return 0;
    *ready = a;
    *expiry = b;
    int64_t now = cos_now_ms();
    if (now < a) return 1;
    return now < b ? 2 : 0;
}

bool restore_blocks_read(req *r, const obj_meta *m, enum MHD_Result *ret)
{
    if (!archive_class(m->storage_class)) return false;
    int64_t ready, expiry;
    if (restore_state(m, &ready, &expiry) == 2) return false;
    *ret = send_error(r, "InvalidObjectState", "The operation is not valid for the object's storage class (%s): "
                                               "restore it first.", m->storage_class);
    return true;
}

char *restore_header(const obj_meta *m)
{
    if (!archive_class(m->storage_class)) return NULL;
    int64_t ready, expiry;
    int st = restore_state(m, &ready, &expiry);
    if (st == 1) return cos_strdup("ongoing-request=\"true\"");
    if (st == 2) {
        char date[40];
        cos_http_date_format(expiry / 1000, date);
        return cos_sprintf("ongoing-request=\"false\", expiry-date=\"%s\"", date);
    }
    return NULL;
}

char *headers_without_internal(const char *headers)
{
    cos_buf b = COS_BUF_INIT;
    cos_buf_puts(&b, "");
    for (const char *p = headers ? headers : ""; *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) + 1 : strlen(p);
        if (strncasecmp(p, "x-cos-internal-", 15) != 0) cos_buf_append(&b, p, len);
        p += len;
    }
    return cos_buf_detach(&b);
}

/* Stored headers without the restore line (other internal lines stay). */
static char *headers_without_restore(const char *headers)
{
    cos_buf b = COS_BUF_INIT;
    cos_buf_puts(&b, "");
    for (const char *p = headers ? headers : ""; *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) + 1 : strlen(p);
        if (strncasecmp(p, RESTORE_LINE, strlen(RESTORE_LINE)) != 0) cos_buf_append(&b, p, len);
        p += len;
    }
    return cos_buf_detach(&b);
}

/* How long COS takes, by class and tier (the upper ends of its stated ranges). */
static int64_t restore_ms(req *r, const char *sc, const char *tier)
{
    if (r->srv->cfg.restore_seconds_set) return (int64_t)r->srv->cfg.restore_seconds * 1000;
    bool deep = !strcmp(sc, "DEEP_ARCHIVE");
    int64_t min = 60 * 1000;
    if (tier && !strcasecmp(tier, "Expedited")) return deep ? 0 : 5 * min;
    if (tier && !strcasecmp(tier, "Bulk")) return (deep ? 48 : 12) * 60 * min;
    return (deep ? 24 : 5) * 60 * min; /* Standard */
}

enum MHD_Result restore_object(req *r)
{
    obj_meta m;
    /* ?versionId= restores that version, current or not */
    const char *vid = req_arg(r, "versionId");
    if (vid && !*vid) vid = NULL;
    bool marker = false;
    int grc = vid ? versioning_lookup(r, r->bucket, r->key, vid, &m, &marker)
                  : store_object_get(r->srv->st, r->bucket, r->key, &m);
    if (grc == 0 && marker) {
        obj_meta_clear(&m);
        return send_error(r, "MethodNotAllowed", "The specified version is a delete marker.");
    }
    if (grc < -1) return send_error(r, "InternalError", "cannot read the object");
    if (grc != 0)
        return vid ? send_error(r, "NoSuchVersion", "The specified version does not exist.")
                   : send_error(r, "NoSuchKey", "The specified key does not exist.");
    cos_restore_request *rr = NULL;
    enum MHD_Result ret;
    if (!r->body.len || cos_xml_parse(&cos_xs_restore_request, r->body.data, r->body.len, (void **)&rr, NULL) != 0 ||
        rr->days < 1 || rr->days > 365) {
        cos_xml_free(&cos_xs_restore_request, rr);
        obj_meta_clear(&m);
        return send_error(r, "MalformedXML", "The XML you provided was not well-formed or Days is not 1..365.");
    }
    const char *tier = rr->tier;
    if (tier && strcasecmp(tier, "Expedited") && strcasecmp(tier, "Standard") && strcasecmp(tier, "Bulk")) {
        ret = send_error(r, "MalformedXML", "Tier must be Expedited, Standard or Bulk.");
    } else if (!archive_class(m.storage_class)) {
        ret = send_error(r, "InvalidObjectState", "Restore is only for ARCHIVE and DEEP_ARCHIVE objects.");
    } else if (tier && !strcasecmp(tier, "Expedited") && !strcmp(m.storage_class, "DEEP_ARCHIVE")) {
        ret = send_error(r, "InvalidArgument", "DEEP_ARCHIVE objects cannot be restored Expedited.");
    } else {
        int64_t ready, expiry;
        int st = restore_state(&m, &ready, &expiry);
        if (st == 1) {
            ret = send_error(r, "RestoreAlreadyInProgress", "Object restore is already in progress.");
        } else {
            int64_t now = cos_now_ms();
            if (st == 2) ready = now; /* restored already: only the expiry moves */
            else ready = now + restore_ms(r, m.storage_class, tier);
            expiry = ready + (int64_t)rr->days * 86400 * 1000;
            char *rest = headers_without_restore(m.headers);
            char *h = cos_sprintf("%s" RESTORE_LINE " %lld %lld\n", rest, (long long)ready, (long long)expiry);
            /* h is m's headers: written only over m (the version holding its data),
               never over an object PUT since */
            int rc = vid ? store_version_set_if(r->srv->st, r->bucket, r->key, m.data_id, "headers", h)
                         : store_object_set_if(r->srv->st, r->bucket, r->key, m.data_id, "headers", h);
            free(rest);
            free(h);
            ret = rc != 0 ? send_error(r, "InternalError", rc == -1 ? "the object was replaced during the restore; retry"
                                                                 : "cannot record the restore")
                          : send_buffer(r, st == 2 ? 200 : 202, NULL, NULL, 0, NULL);
        }
    }
    cos_xml_free(&cos_xs_restore_request, rr);
    obj_meta_clear(&m);
    return ret;
}

int64_t traffic_limit(req *r, enum MHD_Result *ret)
{
    const char *v = req_header(r, "x-cos-traffic-limit");
    if (!v) v = req_arg(r, "x-cos-traffic-limit");
    if (!v) return 0;
    int64_t n;
    if (cos_parse_i64(v, &n) != 0 || n < TRAFFIC_LIMIT_MIN || n > TRAFFIC_LIMIT_MAX) {
        *ret = send_error(r, "InvalidArgument", "x-cos-traffic-limit must be 819200..838860800 (bits/s).");
        return -1;
    }
    return n;
}

/* Pauses are never slept on a server thread (which serves other
 * connections too): the request's connection is suspended until then
 * (server_hold), so any number of paced requests hold none. */
int64_t traffic_due(int64_t bps, int64_t start_ms, uint64_t bytes)
{
    if (bps <= 0) return 0;
    /* monotonic, as every start_ms: a PUT's (main.c) against the wall clock never waited */
    int64_t due = start_ms + (int64_t)((double)bytes * 8.0 * 1000.0 / (double)bps);
    return due > cos_mono_ms() ? due : 0;
}

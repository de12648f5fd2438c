/*
 * symlink.c — COS's symlinks (PUT/GET Object ?symlink, docs/compatibility.md).
 *
 * A symlink is an object of its own (its own ACL, metadata, versions) whose
 * data is its target's key and whose stored headers carry that key in an
 * internal record. Only GET and HEAD of the symlink's key follow it, as COS
 * documents: they serve the target's current version, data and metadata.
 * Every other operation acts on the symlink object itself: a copy copies the
 * key text (the record is internal, so the copy is a plain object), DELETE
 * removes the symlink and leaves its target.
 *
 * Following never widens access: the reader needs GetObject (HeadObject) on
 * the symlink, which the request's own authorization decided, and on the
 * target, decided here against the very object served (a target replaced
 * between the decision and the read is decided again). Targets are in the
 * symlink's bucket; a symlink whose target is itself a symlink is not
 * followed (one level, so no chain or loop), nor is one whose target is gone.
 */
#define _GNU_SOURCE
#include "server.h"
#include "url.h"
#include "versioning.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYMLINK_RECORD "x-cos-internal-symlink-target"

/* The store failed: the same answers handlers.c gives. */
static enum MHD_Result store_trouble(req *r, int rc)
{
    if (rc == STORE_BUSY) return send_error(r, "SlowDown", "The metadata store is busy (%s); please retry.", store_last_error());
    return send_error(r, "InternalError", "The metadata store failed: %s", store_last_error());
}

/* A key a symlink may name: what an object key may be (no control character, not the bucket itself, at most
 * 850 bytes), and not the symlink's own key. */
static const char *target_problem(req *r, const char *t)
{
    if (!t || !*t) return "x-cos-symlink-target is required and names the target object's key.";
    if (strlen(t) > 850) return "x-cos-symlink-target is longer than a key may be (850 bytes).";
    for (const unsigned char *p = (const unsigned char *)t; *p; p++)
        if (*p < 0x20 || *p == 0x7f) return "x-cos-symlink-target has a control character.";
    if (cos_key_escapes_root(t)) return "x-cos-symlink-target does not name an object (it names the bucket).";
    if (!strcmp(t, r->key)) return "A symlink cannot point to itself.";
    return NULL;
}

int symlink_prepare_put(req *r, char **extra_headers, enum MHD_Result *ret)
{
    *extra_headers = NULL;
    const char *t = req_header(r, "x-cos-symlink-target");
    const char *bad = target_problem(r, t);
    if (!bad && (r->body_seen > 0 || (r->w_open && r->w.size > 0)))
        bad = "PUT Object - Symlink carries no body: the target is named by x-cos-symlink-target.";
    if (bad) {
        *ret = send_error(r, "InvalidArgument", "%s", bad);
        return -1;
    }
    /* the symlink's data is its target's key (COS: "the file's content is the source's path") */
    if (!r->w_open) {
        if (data_begin(r->srv->st, &r->w) != 0) {
            *ret = send_error(r, "InternalError", "cannot store the symlink");
            return -1;
        }
        r->w_open = true;
    }
    if (data_write(&r->w, t, strlen(t)) != 0) {
        *ret = send_error(r, "InternalError", "cannot store the symlink");
        return -1;
    }
    cos_buf b = COS_BUF_INIT;
    cos_buf_puts(&b, "");
    if (!objhdr_add(&b, SYMLINK_RECORD, t)) {
        free(cos_buf_detach(&b));
        *ret = send_error(r, "InvalidArgument", "x-cos-symlink-target is not a key a symlink can keep.");
        return -1;
    }
    *extra_headers = cos_buf_detach(&b);
    return 0;
}

enum MHD_Result symlink_get(req *r)
{
    const char *vid = req_arg(r, "versionId");
    if (vid && !*vid) vid = NULL;
    obj_meta m;
    bool marker = false;
    int rc = versioning_lookup(r, r->bucket, r->key, vid, &m, &marker);
    if (rc < -1) return store_trouble(r, rc);
    if (rc != 0)
        return vid ? send_error(r, "NoSuchVersion", "The specified version does not exist.")
                   : send_error(r, "NoSuchKey", "The specified key does not exist.");
    if (marker) {
        obj_meta_clear(&m);
        return send_error(r, "MethodNotAllowed", "The specified version is a delete marker.");
    }
    if (r->authz_pinned && strcmp(r->authz_pin, m.data_id) != 0) {
        /* authorization decided on another object (its ACL) than the one that replaced it since: never answer
           the new one's target on that decision; the client retries and is decided on what is there */
        obj_meta_clear(&m);
        return send_error(r, "SlowDown", "The symlink was replaced while it was read; retry.");
    }
    char *target = objhdr_get(m.headers, SYMLINK_RECORD);
    if (!target) {
        obj_meta_clear(&m);
        return send_error(r, "InvalidArgument", "The object is not a symlink.");
    }
    struct MHD_Response *resp = NULL;
    send_buffer(r, 200, NULL, NULL, 0, &resp);
    char date[32];
    cos_http_date_format(m.mtime_ms / 1000, date);
    MHD_add_response_header(resp, "x-cos-symlink-target", target);
    MHD_add_response_header(resp, "ETag", m.etag);
    MHD_add_response_header(resp, "Last-Modified", date);
    if (m.headers && strstr(m.headers, VERSION_LINE)) {
        char v[64];
        version_of(m.headers, v);
        MHD_add_response_header(resp, "x-cos-version-id", v);
    }
    free(target);
    obj_meta_clear(&m);
    return send_response(r, 200, resp);
}

int symlink_follow(req *r, bool head, obj_meta *m, enum MHD_Result *ret)
{
    /* every GET and HEAD passes here: a plain object costs one search, not a parse of its records */
    if (!m->headers || !strstr(m->headers, SYMLINK_RECORD)) return 0;
    char *target = objhdr_get(m->headers, SYMLINK_RECORD);
    if (!target) return 0; /* not a symlink: the object itself */
    obj_meta_clear(m);
    for (int attempt = 0;; attempt++) {
        char why[512] = "";
        int arc = 0;
        /* the target's own permission, pinned to what it read (authz.c, pin_object) */
        r->source_pinned = false;
        r->pinning_source = true;
        bool ok = authz_allows(r, head ? "name/cos:HeadObject" : "name/cos:GetObject", NULL, ACL_READ, r->bucket,
                               target, true, NULL, why, sizeof why, &arc);
        r->pinning_source = false;
        if (!ok) {
            *ret = arc == STORE_BUSY ? send_error(r, "SlowDown", "The metadata store is busy (%s); please retry.", why)
                   : arc ? send_error(r, "InternalError", "Authorization could not read the store: %s", why)
                         : send_error(r, "AccessDenied", "Access Denied: the symlink's target: %s", why);
            free(target);
            return -1;
        }
        int rc = store_object_get(r->srv->st, r->bucket, target, m);
        if (rc < -1) {
            *ret = store_trouble(r, rc);
            free(target);
            return -1;
        }
        if (rc != 0) {
            *ret = send_error(r, "NoSuchKey", "The symlink's target (%s) does not exist.", target);
            free(target);
            return -1;
        }
        if (r->source_pinned && strcmp(r->source_pin, m->data_id) != 0) {
            /* the decision read another object than this one: decide again on this one */
            obj_meta_clear(m);
            if (attempt < 8) continue;
            *ret = send_error(r, "SlowDown", "The symlink's target was replaced during every attempt to read it; retry.");
            free(target);
            return -1;
        }
        r->source_pinned = false;
        char *next = objhdr_get(m->headers, SYMLINK_RECORD);
        if (next) { /* one level only: no chain, so no loop */
            free(next);
            obj_meta_clear(m);
            *ret = send_error(r, "NoSuchKey", "The symlink's target (%s) is itself a symlink, which is not followed.",
                              target);
            free(target);
            return -1;
        }
        free(target);
        return 0;
    }
}

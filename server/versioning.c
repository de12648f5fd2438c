/*
 * versioning.c — object versions as COS keeps them once a bucket's
 * versioning is Enabled: every write makes a new version, a DELETE without
 * versionId leaves a delete marker, older versions stay readable by
 * versionId, and Suspended writes replace the single "null" version.
 *
 * An object's version id travels among its stored headers as the internal
 * line x-cos-internal-version (never sent as such); an object without it
 * is the "null" version. The store keeps the current version in `objects`
 * and the others in `versions` (store.c).
 */
#define _GNU_SOURCE
#include "versioning.h"
#include "xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

vers_state versioning_state(req *r, const char *bucket)
{
    char *body = NULL;
    size_t len = 0;
    if (store_config_get(r->srv->st, bucket, "versioning", &body, &len) != 0) return VERS_OFF;
    int keep = store_versioning_keep(body, len);
    free(body);
    return keep == VKEEP_ARCHIVE ? VERS_ENABLED : keep == VKEEP_NULL ? VERS_SUSPENDED : VERS_OFF;
}

char *versioning_before_write(req *r, char vid[64], int *keep)
{
    /* nothing is written here: the store keeps the replaced version in the
       write's own transaction (obj_meta.keep), so a write that fails keeps it current */
    vid[0] = '\0';
    *keep = 0;
    vers_state st = versioning_state(r, r->bucket);
    if (st == VERS_OFF) {
        *keep = VKEEP_OFF; /* checked again in the write's transaction */
        return cos_strdup("");
    }
    if (st == VERS_ENABLED) {
        store_version_id_new(vid);
        *keep = VKEEP_ARCHIVE;
        return cos_sprintf(VERSION_LINE " %s\n", vid);
    }
    /* Suspended: the write is the "null" version, replacing any other null one */
    snprintf(vid, 64, "null");
    *keep = VKEEP_NULL;
    return cos_strdup("");
}

int versioning_lookup(req *r, const char *bucket, const char *key, const char *version_id, obj_meta *out,
                      bool *marker)
{
    *marker = false;
    int rc = store_object_get(r->srv->st, bucket, key, out);
    if (rc == 0) {
        char vid[64];
        version_of(out->headers, vid);
        if (!version_id || !strcmp(vid, version_id)) return 0;
        obj_meta_clear(out);
    } else if (rc != -1) {
        return rc; /* the store failed: not the same as absent */
    }
    if (!version_id) return -1;
    return store_version_get(r->srv->st, bucket, key, version_id, out, marker);
}

typedef struct newest_ctx { const char *key; int found; } newest_ctx;
static int newest_cb(void *ud, const obj_meta *m, const char *version_id, bool marker)
{
    (void)version_id;
    newest_ctx *c = ud;
    if (strcmp(m->key, c->key) != 0) return 0; /* a longer key under the same prefix */
    c->found = marker ? 1 : -1;
    return 1; /* newest first: the first row decides */
}

bool versioning_deleted_by_marker(req *r, const char *bucket, const char *key)
{
    newest_ctx c = { key, 0 };
    store_versions_scan(r->srv->st, bucket, key, newest_cb, &c);
    return c.found == 1;
}

int versioning_delete(req *r, const char *key, const char *version_id, char out_vid[64], bool *out_marker)
{
    *out_marker = false;
    out_vid[0] = '\0';
    store *st = r->srv->st;
    /* each branch is one transaction of the store: a failure changes nothing */
    if (version_id) {
        snprintf(out_vid, 64, "%s", version_id);
        int rc = store_version_delete_current(st, r->bucket, key, version_id);
        if (rc != 1) return rc; /* the current version went, the newest older one took its place; or an error */
        return store_version_delete(st, r->bucket, key, version_id, out_marker);
    }
    vers_state vs = versioning_state(r, r->bucket);
    if (vs == VERS_OFF) {
        /* authorization read the object (its tags, its ACL): that one only. One written since was
           not what was decided on; this DELETE is then as if it came before that write */
        int rc = r->authz_pinned ? store_object_delete_if(st, r->bucket, key, r->authz_pin)
                                 : store_object_delete(st, r->bucket, key); /* 0, -1 absent, or the store's error */
        if (rc != STORE_CHANGED) return rc;
        /* versioning came on after the state was read: the store refused to
           delete outright (a version written since would be lost); decided again */
        vs = versioning_state(r, r->bucket);
        if (vs == VERS_OFF) return rc;
    }
    if (!key_creatable(key)) {
        /* a marker puts its key in every listing of versions: for a key no write could create (a
           control character XML cannot carry, "", "/", "../x") it would be a new key made by a DELETE.
           One such marker made every ListObjectVersions of the bucket unparsable; one for "" was listed
           nowhere and kept the bucket from ever being deleted. With no object under it, nothing is
           there to hide: answered as absent */
        obj_meta m;
        int rc = store_object_get(st, r->bucket, key, &m);
        if (rc == 0) obj_meta_clear(&m);
        else return rc; /* -1 (absent), or the store's error */
    }
    if (vs == VERS_ENABLED) store_version_id_new(out_vid);
    else snprintf(out_vid, 64, "null");
    *out_marker = true;
    /* Suspended, the null marker replaces the null version and its data: decided on the object read
       (tags, ACL), it replaces that one only. A null version written since was not decided on: this
       DELETE is as if it came before that write, whose null version then replaced its marker (1).
       Enabled, the marker loses nothing: an object written since stays as a version */
    const char *only = vs != VERS_ENABLED && r->authz_pinned ? r->authz_pin : NULL;
    int rc = store_version_marker(st, r->bucket, key, out_vid, cos_now_ms(), vs == VERS_ENABLED ? VKEEP_ARCHIVE : VKEEP_NULL,
                                  only);
    return rc == 1 ? 0 : rc;
}

/* ---------------------------------------------------------------- ListObjectVersions */

typedef struct ventry {
    char *key, *vid;
    bool marker, latest;
    obj_meta m;
} ventry;

typedef struct vlist { ventry *e; size_t n, cap; } vlist;

static ventry *vpush(vlist *l)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->e = realloc(l->e, l->cap * sizeof *l->e);
    }
    ventry *e = &l->e[l->n++];
    memset(e, 0, sizeof *e);
    return e;
}

static void copy_meta(obj_meta *dst, const obj_meta *src)
{
    *dst = *src;
    dst->bucket = cos_strdup(src->bucket);
    dst->key = cos_strdup(src->key);
    dst->headers = cos_strdup(src->headers);
    dst->storage_class = cos_strdup(src->storage_class);
    dst->acl = cos_strdup(src->acl);
    dst->tagging = cos_strdup(src->tagging);
}

static int add_current(void *ud, const obj_meta *m)
{
    vlist *l = ud;
    ventry *e = vpush(l);
    e->key = cos_strdup(m->key);
    char vid[64];
    version_of(m->headers, vid);
    e->vid = cos_strdup(vid);
    e->latest = true;
    copy_meta(&e->m, m);
    return 0;
}

static int add_version(void *ud, const obj_meta *m, const char *version_id, bool marker)
{
    vlist *l = ud;
    ventry *e = vpush(l);
    e->key = cos_strdup(m->key);
    e->vid = cos_strdup(version_id);
    e->marker = marker;
    copy_meta(&e->m, m);
    return 0;
}

static int vcmp(const void *a, const void *b)
{
    const ventry *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c) return c;
    if (x->latest != y->latest) return x->latest ? -1 : 1;
    if (x->m.mtime_ms != y->m.mtime_ms) return x->m.mtime_ms > y->m.mtime_ms ? -1 : 1;
    return strcmp(x->vid, y->vid); /* a total order: pages resumed at a version-id-marker skip none */
}

enum MHD_Result versioning_list(req *r)
{
    const char *enc = req_arg(r, "encoding-type");
    if (enc && strcmp(enc, "url") != 0) return send_error(r, "InvalidArgument", "encoding-type must be url");
    const char *prefix = req_arg(r, "prefix") ? req_arg(r, "prefix") : "";
    const char *delim = req_arg(r, "delimiter");
    if (delim && !*delim) delim = NULL;
    const char *key_marker = req_arg(r, "key-marker") ? req_arg(r, "key-marker") : "";
    const char *vid_marker = req_arg(r, "version-id-marker");
    if (vid_marker && !*vid_marker) vid_marker = NULL;
    enum MHD_Result bad;
    int max = listing_max_keys(r, 1000, &bad);
    if (max < 0) return bad;
    vlist l = { 0 };
    int src = store_versions_listing(r->srv->st, r->bucket, prefix, add_current, add_version, &l);
    if (src != 0) { /* never a listing with holes answered 200 */
        for (size_t k = 0; k < l.n; k++) {
            free(l.e[k].key);
            free(l.e[k].vid);
            obj_meta_clear(&l.e[k].m);
        }
        free(l.e);
        return send_error(r, src == STORE_BUSY ? "SlowDown" : "InternalError", "The versions could not be listed: %s",
                          store_last_error());
    }
    if (l.n) qsort(l.e, l.n, sizeof *l.e, vcmp);
    /* a delete marker newest of its key (no current object) is the latest */
    for (size_t i = 0; i < l.n; i++)
        if (l.e[i].marker && (i == 0 || strcmp(l.e[i - 1].key, l.e[i].key) != 0)) l.e[i].latest = true;
    size_t i = 0;
    if (*key_marker) {
        while (i < l.n && strcmp(l.e[i].key, key_marker) < 0) i++;
        if (vid_marker) {
            size_t j = i;
            while (j < l.n && !strcmp(l.e[j].key, key_marker) && strcmp(l.e[j].vid, vid_marker) != 0) j++;
            if (j < l.n && !strcmp(l.e[j].key, key_marker)) i = j + 1;
            else while (i < l.n && !strcmp(l.e[i].key, key_marker)) i++;
        } else {
            while (i < l.n && !strcmp(l.e[i].key, key_marker)) i++;
        }
    }
    cos_list_versions_result res = { 0 };
    res.name = r->bucket;
    res.encoding_type = enc ? (char *)"url" : NULL;
    res.prefix = (char *)prefix;
    res.key_marker = (char *)key_marker;
    res.version_id_marker = (char *)(vid_marker ? vid_marker : "");
    res.max_keys = max;
    res.delimiter = (char *)delim;
    res.versions = calloc(l.n + 1, sizeof *res.versions);
    res.delete_markers = calloc(l.n + 1, sizeof *res.delete_markers);
    res.common_prefixes = calloc(l.n + 1, sizeof *res.common_prefixes);
    char (*dates)[32] = calloc(l.n + 1, 32);
    /* the bucket's owner, named as GET Bucket names it */
    char *owner_id = authz_bucket_account(r->srv, r->bucket);
    if (!owner_id) owner_id = authz_owner_principal(r->srv);
    char *owner_name = authz_display_name(r->srv, owner_id);
    cos_owner owner = { owner_id, owner_name };
    int answered = 0;
    const char *last_key = NULL, *last_vid = NULL;
    for (; i < l.n; i++) {
        ventry *e = &l.e[i];
        const char *rest = e->key + strlen(prefix);
        const char *d = delim ? strstr(rest, delim) : NULL;
        size_t plen = d ? (size_t)(d - e->key) + strlen(delim) : 0;
        if (d && res.common_prefixes_count &&
            strlen(res.common_prefixes[res.common_prefixes_count - 1].prefix) == plen &&
            !strncmp(res.common_prefixes[res.common_prefixes_count - 1].prefix, e->key, plen)) {
            last_key = e->key;
            last_vid = e->vid;
            continue;
        }
        if (answered >= max) {
            res.is_truncated = true;
            break;
        }
        answered++;
        last_key = e->key;
        last_vid = e->vid;
        if (d) {
            res.common_prefixes[res.common_prefixes_count++].prefix = cos_strndup(e->key, plen);
            continue;
        }
        cos_object_version *v = e->marker ? &res.delete_markers[res.delete_markers_count++]
                                          : &res.versions[res.versions_count++];
        cos_iso8601_format(e->m.mtime_ms, dates[i]);
        v->key = e->key;
        v->version_id = e->vid;
        v->is_latest = e->latest;
        v->last_modified = dates[i];
        v->owner = &owner;
        if (!e->marker) {
            v->etag = e->m.etag;
            v->size = e->m.size;
            v->storage_class = e->m.storage_class ? e->m.storage_class : (char *)"STANDARD";
        }
    }
    if (res.is_truncated) { /* a page of max-keys=0 answered nothing: go on from the markers given */
        res.next_key_marker = (char *)(last_key ? last_key : res.key_marker);
        res.next_version_id_marker = (char *)(last_key ? last_vid : res.version_id_marker);
    }
    enum MHD_Result ret;
    cos_buf b = COS_BUF_INIT;
    cos_xml_build(&cos_xs_list_versions_result, &res, &b, true);
    size_t len = b.len;
    ret = send_buffer(r, 200, "application/xml", cos_buf_detach(&b), len, NULL);
    for (size_t k = 0; k < res.common_prefixes_count; k++) free(res.common_prefixes[k].prefix);
    for (size_t k = 0; k < l.n; k++) {
        free(l.e[k].key);
        free(l.e[k].vid);
        obj_meta_clear(&l.e[k].m);
    }
    free(l.e);
    free(res.versions);
    free(res.delete_markers);
    free(res.common_prefixes);
    free(dates);
    free(owner_id);
    free(owner_name);
    return ret;
}

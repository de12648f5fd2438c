/*
 * s3attrs.c — GetObjectAttributes (GET ?attributes): what a HEAD says and
 * more, as one document: the ETag, the size, the storage class, the
 * checksum the object was verified against and, for a multipart object,
 * its parts (sizes from its manifest, paged like ListParts, each part's
 * checksum computed again from its bytes when the object keeps one).
 */
#define _GNU_SOURCE
#include "server.h"
#include "checksum.h"
#include "sse.h"
#include "versioning.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { ATTR_ETAG = 1, ATTR_CHECKSUM = 2, ATTR_PARTS = 4, ATTR_CLASS = 8, ATTR_SIZE = 16 };

/* x-amz-object-attributes: a comma-separated list of S3's names. -1: an unknown one (or none). */
static int requested_attributes(const char *list)
{
    static const struct { const char *name; int bit; } NAMES[] = {
        { "ETag", ATTR_ETAG }, { "Checksum", ATTR_CHECKSUM }, { "ObjectParts", ATTR_PARTS },
        { "StorageClass", ATTR_CLASS }, { "ObjectSize", ATTR_SIZE },
    };
    int bits = 0;
    char *copy = cos_strdup(list ? list : ""), *save = NULL;
    for (char *t = strtok_r(copy, ",", &save); t && bits >= 0; t = strtok_r(NULL, ",", &save)) {
        t = cos_str_trim(t);
        int bit = 0;
        for (size_t i = 0; i < COS_ARRAY_LEN(NAMES) && !bit; i++)
            if (!strcasecmp(t, NAMES[i].name)) bit = NAMES[i].bit;
        bits = bit ? bits | bit : -1;
    }
    free(copy);
    return bits > 0 ? bits : -1;
}

/* The S3 checksum the object keeps (x-cos-internal-checksum-ALG, s3auth.c):
 * its algorithm and value (malloc'd), or NULL. */
static char *stored_checksum(const char *headers, cos_cksum_alg *alg)
{
    static const char *const NAMES[] = { "crc32", "crc32c", "crc64nvme", "sha1", "sha256" };
    for (size_t i = 0; headers && i < COS_ARRAY_LEN(NAMES); i++) {
        char name[48];
        snprintf(name, sizeof name, "x-cos-internal-checksum-%s", NAMES[i]);
        char *v = objhdr_get(headers, name);
        if (v) {
            *alg = cos_cksum_from_name(NAMES[i]);
            return v;
        }
    }
    return NULL;
}

/* The checksum of [off, off + len) of an object's data (base64 into out); false on a read error. */
static bool range_checksum(const data_reader *dr, cos_cksum_alg alg, uint64_t off, uint64_t len,
                           char out[COS_CKSUM_B64_MAX])
{
    cos_cksum *c = cos_cksum_new(alg);
    unsigned char *buf = malloc(1 << 20);
    bool ok = c && buf;
    while (ok && len) {
        ssize_t got = data_pread(dr, buf, (size_t)COS_MIN((uint64_t)(1 << 20), len), off);
        if (got <= 0) {
            ok = false;
            break;
        }
        cos_cksum_update(c, buf, (size_t)got);
        off += (uint64_t)got;
        len -= (uint64_t)got;
    }
    if (ok) cos_cksum_b64(c, out);
    cos_cksum_free(c);
    free(buf);
    return ok;
}

/* "ChecksumSHA256" and the like: S3's element for an algorithm. */
static void checksum_element(cos_cksum_alg alg, char out[32])
{
    snprintf(out, 32, "Checksum%s", cos_cksum_name(alg));
}

/* An S3-only request header (no COS name maps to it): x-amz-NAME, or x-cos-NAME in COS's dialect. */
static const char *api_header(req *r, const char *name)
{
    char full[64];
    snprintf(full, sizeof full, "x-amz-%s", name);
    const char *v = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, full);
    if (v) return v;
    snprintf(full, sizeof full, "x-cos-%s", name);
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, full);
}

static int int_header(req *r, const char *name, int def, int lo, int hi, enum MHD_Result *ret)
{
    const char *v = api_header(r, name);
    if (!v) return def;
    int64_t n;
    if (cos_parse_i64(v, &n) != 0 || n < lo || n > hi) {
        *ret = send_error(r, "InvalidArgument", "x-amz-%s must be an integer from %d to %d.", name, lo, hi);
        return -1;
    }
    return (int)n;
}

/* The ObjectParts element of a multipart object (sizes[n] from its manifest). */
static bool object_parts(req *r, cos_buf *b, const obj_meta *m, const uint64_t *sizes, size_t n, int max, int marker,
                         bool with_checksums)
{
    cos_cksum_alg alg = COS_CKSUM_NONE;
    char *whole = with_checksums ? stored_checksum(m->headers, &alg) : NULL;
    free(whole);
    data_reader dr;
    bool open = alg != COS_CKSUM_NONE && data_open(r->srv->st, m->data_id, &dr) == 0;
    if (alg != COS_CKSUM_NONE && !open) return false;
    cos_buf_printf(b, "<ObjectParts><PartsCount>%zu</PartsCount><PartNumberMarker>%d</PartNumberMarker>", n, marker);
    cos_buf parts = COS_BUF_INIT;
    cos_buf_puts(&parts, "");
    uint64_t off = 0;
    int shown = 0, next = marker;
    bool truncated = false, ok = true;
    for (size_t i = 0; i < n && ok; off += sizes[i], i++) {
        int num = (int)i + 1;
        if (num <= marker) continue;
        if (shown == max) {
            truncated = true;
            break;
        }
        cos_buf_printf(&parts, "<Part><PartNumber>%d</PartNumber><Size>%llu</Size>", num,
                       (unsigned long long)sizes[i]);
        if (open) {
            char ck[COS_CKSUM_B64_MAX], el[32];
            ok = range_checksum(&dr, alg, off, sizes[i], ck);
            checksum_element(alg, el);
            if (ok) cos_buf_printf(&parts, "<%s>%s</%s>", el, ck, el);
        }
        cos_buf_puts(&parts, "</Part>");
        shown++;
        next = num;
    }
    if (open) data_close(&dr);
    cos_buf_printf(b, "<NextPartNumberMarker>%d</NextPartNumberMarker><MaxParts>%d</MaxParts>"
                      "<IsTruncated>%s</IsTruncated>%s</ObjectParts>",
                   next, max, truncated ? "true" : "false", parts.data);
    cos_buf_free(&parts);
    return ok;
}

enum MHD_Result object_attributes(req *r)
{
    int want = requested_attributes(api_header(r, "object-attributes"));
    if (want < 0)
        return send_error(r, "InvalidArgument", "x-amz-object-attributes must name one or more of ETag, Checksum, "
                                                "ObjectParts, StorageClass, ObjectSize.");
    enum MHD_Result ret = MHD_NO;
    int max = int_header(r, "max-parts", 1000, 0, 1000, &ret);
    if (max < 0) return ret;
    int marker = int_header(r, "part-number-marker", 0, 0, 10000, &ret);
    if (marker < 0) return ret;
    const char *vid = req_arg(r, "versionId");
    if (vid && !*vid) vid = NULL;
    obj_meta m;
    bool marker_version = false;
    int grc = versioning_lookup(r, r->bucket, r->key, vid, &m, &marker_version);
    if (grc == -1 && !vid && versioning_state(r, r->bucket) != VERS_OFF)
        r->error_delete_marker = versioning_deleted_by_marker(r, r->bucket, r->key) ? "true" : "false";
    if (grc != 0)
        return grc != -1 ? send_error(r, grc == STORE_BUSY ? "SlowDown" : "InternalError", "%s", store_last_error())
               : vid ? send_error(r, "NoSuchVersion", "The specified version does not exist.")
                     : send_error(r, "NoSuchKey", "The specified key does not exist.");
    if (marker_version) {
        obj_meta_clear(&m);
        r->error_delete_marker = "true";
        return send_error(r, "MethodNotAllowed", "The specified version is a delete marker.");
    }
    /* an SSE-C object's attributes, as its bytes, only with its key */
    sse_key key;
    if (sse_from_request(r, false, &key, &ret) != 0 || sse_check_access(r, m.headers, &key, &ret) != 0) {
        obj_meta_clear(&m);
        return ret;
    }
    uint64_t *sizes = NULL;
    size_t n = 0;
    if ((want & ATTR_PARTS) && data_part_sizes(r->srv->st, m.data_id, &sizes, &n) != 0) {
        obj_meta_clear(&m);
        return send_error(r, "InternalError", "the object's parts cannot be read");
    }
    cos_buf b = COS_BUF_INIT;
    cos_buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                     "<GetObjectAttributesResponse xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
    if (want & ATTR_ETAG) { /* without its quotes, as S3 writes it here */
        size_t len = strlen(m.etag);
        bool quoted = len >= 2 && m.etag[0] == '"' && m.etag[len - 1] == '"';
        cos_buf_printf(&b, "<ETag>%.*s</ETag>", (int)(quoted ? len - 2 : len), m.etag + (quoted ? 1 : 0));
    }
    cos_cksum_alg alg = COS_CKSUM_NONE;
    char *ck = (want & ATTR_CHECKSUM) ? stored_checksum(m.headers, &alg) : NULL;
    if (ck) {
        char el[32];
        checksum_element(alg, el);
        cos_buf_printf(&b, "<Checksum><%s>%s</%s></Checksum>", el, ck, el);
    }
    free(ck);
    bool ok = true;
    if ((want & ATTR_PARTS) && n)
        ok = object_parts(r, &b, &m, sizes, n, max, marker, (want & ATTR_CHECKSUM) != 0);
    free(sizes);
    if (want & ATTR_CLASS)
        cos_buf_printf(&b, "<StorageClass>%s</StorageClass>",
                       m.storage_class && *m.storage_class ? m.storage_class : "STANDARD");
    if (want & ATTR_SIZE) cos_buf_printf(&b, "<ObjectSize>%llu</ObjectSize>", (unsigned long long)m.size);
    cos_buf_puts(&b, "</GetObjectAttributesResponse>");
    if (!ok) {
        cos_buf_free(&b);
        obj_meta_clear(&m);
        return send_error(r, "InternalError", "the object's parts cannot be read");
    }
    struct MHD_Response *resp = NULL;
    size_t len = b.len;
    send_buffer(r, 200, "application/xml", cos_buf_detach(&b), len, &resp); /* kept: headers to add */
    char date[32];
    cos_http_date_format(m.mtime_ms / 1000, date);
    MHD_add_response_header(resp, "Last-Modified", date);
    if (m.headers && strstr(m.headers, VERSION_LINE)) {
        char vbuf[64];
        version_of(m.headers, vbuf);
        MHD_add_response_header(resp, "x-cos-version-id", vbuf);
    }
    obj_meta_clear(&m);
    return send_response(r, 200, resp);
}

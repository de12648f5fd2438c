/*
 * objlock.c — COS's Object Lock configuration (PUT/GET Bucket ?object-lock,
 * docs/compatibility.md).
 *
 * What is kept: ObjectLockEnabled (only "Enabled", and once enabled never
 * disabled, as COS documents), and COS's rules around it: a bucket whose
 * versioning is suspended cannot enable it, and versioning cannot be
 * suspended in a bucket that has it. In S3's dialect, as S3 does, only a
 * bucket whose versioning is enabled can enable it.
 *
 * What is refused (501, nothing changed): anything that would lock an
 * object — a DefaultRetention rule, PUT Object Retention (?retention, routed
 * as not implemented), lock headers on a write. cos-server does not enforce
 * retention, so acknowledging one would promise a protection it does not
 * give; with the lock merely enabled no object is locked, on COS too.
 */
#define _GNU_SOURCE
#include "server.h"
#include "versioning.h"
#include "xml.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KIND "object-lock"

typedef struct lock_config {
    char *enabled, *mode, *days, *years;
} lock_config;
static const cos_xml_field LOCK_FIELDS[] = {
    { "ObjectLockEnabled", COS_XT_STR, offsetof(lock_config, enabled), 0, NULL, 0 },
    { "Rule/DefaultRetention/Mode", COS_XT_STR, offsetof(lock_config, mode), 0, NULL, 0 },
    { "Rule/DefaultRetention/Days", COS_XT_STR, offsetof(lock_config, days), 0, NULL, 0 },
    { "Rule/DefaultRetention/Years", COS_XT_STR, offsetof(lock_config, years), 0, NULL, 0 } };
static const cos_xml_schema LOCK_SCHEMA = { "ObjectLockConfiguration", sizeof(lock_config), LOCK_FIELDS,
                                            COS_ARRAY_LEN(LOCK_FIELDS) };

static const char DOC[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                          "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled>"
                          "</ObjectLockConfiguration>";

static enum MHD_Result store_trouble(req *r, int rc)
{
    if (rc == STORE_BUSY) return send_error(r, "SlowDown", "The metadata store is busy (%s); please retry.", store_last_error());
    return send_error(r, "InternalError", "The metadata store failed: %s", store_last_error());
}

/* 1 when the bucket has the lock enabled, 0 when not, or the store's error. */
static int lock_enabled(req *r)
{
    char *body = NULL;
    size_t len = 0;
    int rc = store_config_get(r->srv->st, r->bucket, KIND, &body, &len);
    free(body);
    return rc == 0 ? 1 : rc == -1 ? 0 : rc;
}

static enum MHD_Result put_lock(req *r)
{
    enum MHD_Result ret;
    if (!content_md5_ok(r, r->body.data, r->body.len, &ret)) return ret;
    lock_config *c = NULL;
    cos_error *err = NULL;
    if (!r->body.len || cos_xml_parse(&LOCK_SCHEMA, r->body.data, r->body.len, (void **)&c, &err) != 0) {
        cos_error_free(err);
        return send_error(r, "MalformedXML", "The XML you provided was not well-formed or did not validate.");
    }
    const char *code = NULL, *why = NULL;
    if (!c->enabled || strcmp(c->enabled, "Enabled") != 0) {
        code = "MalformedXML";
        why = "ObjectLockEnabled must be Enabled (once enabled, the object lock cannot be disabled).";
    } else if (c->mode || c->days || c->years) {
        code = "NotImplemented";
        why = "cos-server does not implement object retention (a DefaultRetention rule): it would not keep objects "
              "from being deleted or overwritten. Nothing was changed.";
    }
    cos_xml_free(&LOCK_SCHEMA, c);
    if (code) return send_error(r, code, "%s", why);
    vers_state vs = versioning_state(r, r->bucket);
    if (vs == VERS_SUSPENDED)
        return send_error(r, "InvalidBucketState", "Object lock cannot be enabled in a bucket whose versioning is "
                                                   "suspended.");
    if (r->is_s3 && vs != VERS_ENABLED) /* S3 enables it on an existing bucket only with versioning on */
        return send_error(r, "InvalidBucketState", "Object lock can be enabled only in a bucket whose versioning is "
                                                   "enabled.");
    int rc = store_config_put(r->srv->st, r->bucket, KIND, DOC, strlen(DOC));
    return rc ? store_trouble(r, rc) : send_buffer(r, 200, NULL, NULL, 0, NULL);
}

static enum MHD_Result get_lock(req *r)
{
    char *body = NULL;
    size_t len = 0;
    int rc = store_config_get(r->srv->st, r->bucket, KIND, &body, &len);
    if (rc < -1) return store_trouble(r, rc);
    if (rc != 0)
        return send_error(r, "ObjectLockConfigurationNotFoundError",
                          "Object lock is not enabled in this bucket.");
    return send_buffer(r, 200, "application/xml", body, len, NULL);
}

enum MHD_Result objlock_request(req *r)
{
    if (!strcmp(r->method, "PUT")) return put_lock(r);
    if (!strcmp(r->method, "GET")) return get_lock(r);
    return send_error(r, "MethodNotAllowed", "The specified method is not allowed against this resource.");
}

bool objlock_refuses_versioning(req *r, enum MHD_Result *ret)
{
    if (strcmp(r->method, "PUT") != 0 || !r->body.len) return false;
    cos_versioning_configuration *v = NULL;
    if (cos_xml_parse(&cos_xs_versioning_configuration, r->body.data, r->body.len, (void **)&v, NULL) != 0)
        return false; /* put_config answers a malformed body */
    bool suspends = v->status && !strcmp(v->status, "Suspended");
    cos_xml_free(&cos_xs_versioning_configuration, v);
    if (!suspends) return false;
    int on = lock_enabled(r);
    if (on == 0) return false;
    *ret = on == 1 ? send_error(r, "InvalidBucketState", "Versioning cannot be suspended in a bucket with object "
                                                         "lock enabled.")
                   : store_trouble(r, on);
    return true;
}

static enum MHD_Result find_lock_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    (void)value;
    if (!strncasecmp(key, "x-cos-object-lock-", 18)) {
        *(const char **)cls = key;
        return MHD_NO;
    }
    return MHD_YES;
}

bool objlock_refuses_headers(req *r, enum MHD_Result *ret)
{
    const char *found = NULL;
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, find_lock_header, &found);
    if (!found) return false;
    *ret = send_error(r, "NotImplemented", "cos-server does not implement object retention (%s): it would not keep "
                                           "the object from being deleted or overwritten. Nothing was changed.",
                      found);
    return true;
}

/*
 * objlock.c — COS's Object Lock (PUT/GET Bucket ?object-lock, PUT/GET Object
 * ?retention; docs/compatibility.md).
 *
 * The configuration: ObjectLockEnabled (only "Enabled", and once enabled never
 * disabled, as COS documents), and an optional DefaultRetention rule (Mode
 * COMPLIANCE, the only one COS has; Days 1-36500). A bucket whose versioning
 * is suspended cannot enable it, and versioning cannot be suspended in a
 * bucket that has it; in S3's dialect, as S3 does, only a bucket whose
 * versioning is enabled can enable it.
 *
 * Retention, enforced. An object's retention ends at the later of
 *  - its write time plus the Days of the rule in force when it was written
 *    (every change of the rule is kept with its time, "object-lock-rules":
 *    a later change never shortens, nor lengthens, an existing object's), and
 *  - what PUT ?retention set for that very version (by its data id: a new
 *    object at the key has its own), which may only move later.
 * While it holds, the object cannot be destroyed: in a bucket without
 * versioning no write over its key (PUT, copy, symlink, form, complete,
 * append) and no delete; with versioning, writes make new versions and a
 * DELETE makes a delete marker, as in S3, but deleting that version
 * (versionId) is refused, and is an <Error> of a multi-delete whose other entries go; an append, which changes
 * an object in place, is always refused. The check and the destruction run
 * under one lock, held only for requests that would destroy something in a
 * bucket with the lock enabled: of two writers racing for a new key, the
 * second sees the first's retained object. Enabling the lock first waits
 * for those that found it off to end (g_unguarded).
 */
#define _GNU_SOURCE
#include "server.h"
#include <unistd.h>
#include "versioning.h"
#include "xml.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define KIND "object-lock"
#define RULES "object-lock-rules" /* "FROM_MS DAYS\n" per change of the rule, oldest first */
#define DAY_MS 86400000LL

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

typedef struct retention_doc {
    char *mode, *until;
} retention_doc;
static const cos_xml_field RETENTION_FIELDS[] = {
    { "Mode", COS_XT_STR, offsetof(retention_doc, mode), 0, NULL, 0 },
    { "RetainUntilDate", COS_XT_STR, offsetof(retention_doc, until), 0, NULL, 0 } };
static const cos_xml_schema RETENTION_SCHEMA = { "Retention", sizeof(retention_doc), RETENTION_FIELDS,
                                                 COS_ARRAY_LEN(RETENTION_FIELDS) };

/* Held from the check to the end of a request that could destroy a retained object, and by whatever
 * changes retention: one for the server (only buckets with the lock enabled take it). */
static pthread_mutex_t g_guard = PTHREAD_MUTEX_INITIALIZER;

/* Requests that found the lock off go on without the guard, so enabling it would race those still in
 * flight: a DELETE (or a multi-delete, or an overwrite) that read "off" could destroy an object written,
 * with the new default retention acknowledged, after the lock went on. So each such request is counted
 * (g_unguarded) from before its read of the lock's state to its end, and PUT ?object-lock, under the
 * guard, first marks itself pending (what arrives then takes the guard, and waits behind it), waits for
 * the count to drain, and only then writes the configuration. The wait is bounded (ENABLE_DRAIN_MS):
 * past it (--lock-drain-ms for tests) the PUT answers SlowDown having changed nothing, so a stream of requests never starves it nor
 * holds the rest for long. Simpler than re-checking inside each handler's transactions (many of them), and,
 * unlike guarding every versioned bucket, it covers COS's buckets without versioning, which may enable
 * the lock too. One count for the server, as the guard is: enabling the lock is rare. */
static pthread_mutex_t g_count_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_drained;
static pthread_once_t g_drained_once = PTHREAD_ONCE_INIT;
static long g_unguarded;   /* requests in flight that found the lock off */
static bool g_enabling;    /* a PUT ?object-lock is draining them: newcomers take the guard */
enum { ENABLE_DRAIN_MS = 10000 };

static void drained_init(void)
{
    pthread_condattr_t a;
    pthread_condattr_init(&a);
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    pthread_cond_init(&g_drained, &a);
    pthread_condattr_destroy(&a);
}

/* One request fewer that found the lock off. */
static void unguarded_done(void)
{
    pthread_mutex_lock(&g_count_lock);
    if (--g_unguarded == 0) pthread_cond_broadcast(&g_drained);
    pthread_mutex_unlock(&g_count_lock);
}

/* Under the guard: no request that found the lock off is still in flight (true; g_enabling stays set
 * until enable_done), or it could not be drained in time (false, nothing left set). */
static bool enable_drain(int64_t wait_ms)
{
    pthread_once(&g_drained_once, drained_init);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t ns = (int64_t)ts.tv_nsec + wait_ms % 1000 * 1000000;
    ts.tv_sec += (time_t)(wait_ms / 1000 + ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    pthread_mutex_lock(&g_count_lock);
    g_enabling = true;
    int rc = 0;
    while (g_unguarded > 0 && rc != ETIMEDOUT) rc = pthread_cond_timedwait(&g_drained, &g_count_lock, &ts);
    bool drained = g_unguarded == 0;
    if (!drained) g_enabling = false;
    pthread_mutex_unlock(&g_count_lock);
    return drained;
}

static void enable_done(void)
{
    pthread_mutex_lock(&g_count_lock);
    g_enabling = false;
    pthread_mutex_unlock(&g_count_lock);
}

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

/* The rule's Days in force at t (0: none), from the history of changes. */
static int64_t days_at(const char *rules, int64_t t)
{
    int64_t days = 0;
    for (const char *p = rules ? rules : ""; *p;) {
        long long from = 0, d = 0;
        if (sscanf(p, "%lld %lld", &from, &d) == 2 && from <= t) days = d;
        const char *nl = strchr(p, '\n');
        p = nl ? nl + 1 : p + strlen(p);
    }
    return days;
}

/* The current rule's Days (the history's last line), 0 when none. */
static int64_t days_now(const char *rules) { return days_at(rules, INT64_MAX); }

static char *explicit_kind(const char *data_id) { return cos_sprintf("retention:%s", data_id); }

/* When m's retention ends (ms since the epoch; 0: never retained), or a store error (< -1). *set: what
 * PUT ?retention set for it (0: nothing; may be NULL). */
static int64_t retained_until_set(req *r, const obj_meta *m, const char *rules, int64_t *set)
{
    int64_t days = days_at(rules, m->mtime_ms);
    int64_t until = days > 0 ? m->mtime_ms + days * DAY_MS : 0;
    char *k = explicit_kind(m->data_id), *v = NULL;
    size_t len = 0;
    int rc = store_config_get(r->srv->st, r->bucket, k, &v, &len);
    free(k);
    if (rc < -1) return rc;
    int64_t explicit_until = 0;
    if (rc == 0 && cos_parse_i64(v, &explicit_until) == 0 && explicit_until > until) until = explicit_until;
    if (set) *set = explicit_until;
    free(v);
    return until;
}

static int64_t retained_until(req *r, const obj_meta *m, const char *rules)
{
    return retained_until_set(r, m, rules, NULL);
}

/* ---------------------------------------------------------------- the configuration */

static char *config_doc(int64_t days)
{
    if (days <= 0)
        return cos_strdup("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ObjectLockConfiguration><ObjectLockEnabled>"
                          "Enabled</ObjectLockEnabled></ObjectLockConfiguration>");
    return cos_sprintf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ObjectLockConfiguration><ObjectLockEnabled>"
                       "Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>COMPLIANCE</Mode><Days>%" PRId64
                       "</Days></DefaultRetention></Rule></ObjectLockConfiguration>", days);
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
    const char *why = NULL;
    int64_t days = 0;
    if (!c->enabled || strcmp(c->enabled, "Enabled") != 0)
        why = "ObjectLockEnabled must be Enabled (once enabled, the object lock cannot be disabled).";
    else if (c->years)
        why = "COS's DefaultRetention takes Days (1-36500), not Years.";
    else if (c->mode && strcmp(c->mode, "COMPLIANCE") != 0)
        why = "The DefaultRetention Mode must be COMPLIANCE, the only mode COS has.";
    else if (c->days && (cos_parse_i64(c->days, &days) != 0 || days < 1 || days > 36500))
        why = "The DefaultRetention Days must be 1 to 36500.";
    else if (c->mode && !c->days)
        why = "A DefaultRetention needs its Days.";
    cos_xml_free(&LOCK_SCHEMA, c);
    if (why) return send_error(r, "MalformedXML", "%s", why);
    pthread_mutex_lock(&g_guard);
    /* the versioning state under the guard, which a suspend holds until it is written (objlock_refuses_versioning):
       read before it, a suspend decided meanwhile left the lock enabled in a suspended bucket */
    store_memo_refresh();
    vers_state vs = versioning_state(r, r->bucket);
    if (vs == VERS_SUSPENDED || (r->is_s3 && vs != VERS_ENABLED)) {
        pthread_mutex_unlock(&g_guard);
        return vs == VERS_SUSPENDED
                   ? send_error(r, "InvalidBucketState", "Object lock cannot be enabled in a bucket whose versioning "
                                                         "is suspended.")
                   /* S3 enables it on an existing bucket only with versioning on */
                   : send_error(r, "InvalidBucketState", "Object lock can be enabled only in a bucket whose versioning "
                                                         "is enabled.");
    }
    if (!enable_drain(r->srv->cfg.lock_drain_ms ? r->srv->cfg.lock_drain_ms : ENABLE_DRAIN_MS)) {
        pthread_mutex_unlock(&g_guard);
        return send_error(r, "SlowDown", "Writes and deletes that began before the object lock was enabled are "
                                         "still in flight; nothing was changed, please retry.");
    }
    store_memo_refresh(); /* what guarded requests changed while this one waited (its snapshot is older) */
    char *rules = NULL;
    size_t len = 0;
    int rc = store_config_get(r->srv->st, r->bucket, RULES, &rules, &len);
    if (rc == -1) rc = 0;
    if (rc == 0 && days_now(rules) != days) { /* the change and its time, before the configuration that names it */
        /* The rule holds from the next millisecond on, and the guard is kept
           until the clock is there: what was written before it under the
           guard (mtime <= now) is never read as written after, nor what is
           written after as written before, even within one millisecond. */
        int64_t from = cos_now_ms() + 1;
        while (cos_now_ms() < from) usleep(200);
        char *more = cos_sprintf("%s%" PRId64 " %" PRId64 "\n", rules ? rules : "", from, days);
        rc = store_config_put(r->srv->st, r->bucket, RULES, more, strlen(more));
        free(more);
    }
    char *doc = config_doc(days);
    if (rc == 0) rc = store_config_put(r->srv->st, r->bucket, KIND, doc, strlen(doc));
    enable_done(); /* committed (or not): what arrives now reads it */
    pthread_mutex_unlock(&g_guard);
    free(doc);
    free(rules);
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

bool objlock_refuses_versioning(req *r, enum MHD_Result *ret, int *held)
{
    *held = OBJLOCK_NONE;
    if (strcmp(r->method, "PUT") != 0 || !r->body.len) return false;
    cos_versioning_configuration *v = NULL;
    if (cos_xml_parse(&cos_xs_versioning_configuration, r->body.data, r->body.len, (void **)&v, NULL) != 0)
        return false; /* put_config answers a malformed body */
    bool suspends = v->status && !strcmp(v->status, "Suspended");
    cos_xml_free(&cos_xs_versioning_configuration, v);
    if (!suspends) return false;
    /* decided and written under the guard, as enabling the lock is (put_lock): checked apart, a suspend and
       an enabling racing each other both went through, the lock then on in a suspended bucket, where a write
       replaces the null version whatever its retention */
    pthread_mutex_lock(&g_guard);
    *held = OBJLOCK_GUARDED;
    store_memo_refresh();
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
    *ret = send_error(r, "NotImplemented", "cos-server does not implement retention set by a write's headers (%s); "
                                           "set it with PUT Object Retention (?retention) or the bucket's default "
                                           "rule. Nothing was changed.", found);
    return true;
}

/* ---------------------------------------------------------------- one object's retention */

/* The version ?retention names (versionId, or the current one): 0 with *m, or answered (-1). */
static int retention_target(req *r, obj_meta *m, enum MHD_Result *ret)
{
    const char *vid = req_arg(r, "versionId");
    if (vid && !*vid) vid = NULL;
    bool marker = false;
    int rc = versioning_lookup(r, r->bucket, r->key, vid, m, &marker);
    if (rc < -1) *ret = store_trouble(r, rc);
    else if (rc != 0) *ret = vid ? send_error(r, "NoSuchVersion", "The specified version does not exist.")
                                 : send_error(r, "NoSuchKey", "The specified key does not exist.");
    else if (marker) {
        obj_meta_clear(m);
        *ret = send_error(r, "MethodNotAllowed", "The specified version is a delete marker.");
        rc = -1;
    }
    return rc ? -1 : 0;
}

static enum MHD_Result retention_answer(req *r, int64_t until)
{
    char iso[32];
    cos_iso8601_format(until, iso);
    char *doc = cos_sprintf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Retention>%s<RetainUntilDate>%s"
                            "</RetainUntilDate></Retention>", r->is_s3 ? "<Mode>COMPLIANCE</Mode>" : "", iso);
    return send_buffer(r, 200, "application/xml", doc, strlen(doc), NULL);
}

static enum MHD_Result put_retention(req *r)
{
    enum MHD_Result ret;
    if (!content_md5_ok(r, r->body.data, r->body.len, &ret)) return ret;
    retention_doc *d = NULL;
    if (!r->body.len || cos_xml_parse(&RETENTION_SCHEMA, r->body.data, r->body.len, (void **)&d, NULL) != 0)
        return send_error(r, "MalformedXML", "The XML you provided was not well-formed or did not validate.");
    int64_t want = d->until ? cos_iso8601_parse(d->until) : -1;
    bool mode_ok = !d->mode || !strcmp(d->mode, "COMPLIANCE");
    cos_xml_free(&RETENTION_SCHEMA, d);
    if (want < 0) return send_error(r, "MalformedXML", "RetainUntilDate must be an ISO 8601 date and time.");
    if (!mode_ok) return send_error(r, "MalformedXML", "The retention Mode must be COMPLIANCE, the only mode COS has.");
    if (want <= cos_now_ms()) return send_error(r, "InvalidArgument", "RetainUntilDate must be in the future.");
    pthread_mutex_lock(&g_guard);
    store_memo_refresh(); /* what guarded requests changed while this one waited (its snapshot is older) */
    char *rules = NULL;
    size_t len = 0;
    int on = lock_enabled(r);
    int rc = on == 1 ? store_config_get(r->srv->st, r->bucket, RULES, &rules, &len) : 0;
    obj_meta m;
    if (on < -1 || rc < -1) {
        ret = store_trouble(r, on < -1 ? on : rc);
    } else if (on == 0) {
        ret = send_error(r, "InvalidRequest", "Bucket is missing Object Lock Configuration.");
    } else if (retention_target(r, &m, &ret) == 0) {
        int64_t now_until = retained_until(r, &m, rules);
        if (now_until < -1) {
            ret = store_trouble(r, (int)now_until);
        } else if (want < now_until) { /* COS: retention can only be extended */
            ret = send_error(r, "AccessDenied", "Access Denied: the object's retention can only be extended.");
        } else {
            char *k = explicit_kind(m.data_id), *v = cos_sprintf("%" PRId64, want);
            int prc = store_config_put(r->srv->st, r->bucket, k, v, strlen(v));
            free(k);
            free(v);
            ret = prc ? store_trouble(r, prc) : send_buffer(r, 200, NULL, NULL, 0, NULL);
        }
        obj_meta_clear(&m);
    }
    pthread_mutex_unlock(&g_guard);
    free(rules);
    return ret;
}

static enum MHD_Result get_retention(req *r)
{
    enum MHD_Result ret;
    obj_meta m;
    if (retention_target(r, &m, &ret) != 0) return ret;
    char *rules = NULL;
    size_t len = 0;
    int rc = store_config_get(r->srv->st, r->bucket, RULES, &rules, &len);
    int64_t until = rc < -1 ? rc : retained_until(r, &m, rules);
    obj_meta_clear(&m);
    free(rules);
    if (until < -1) return store_trouble(r, (int)until);
    if (until <= 0)
        return send_error(r, "NoSuchObjectLockConfiguration", "The specified object does not have a retention "
                                                               "configuration.");
    return retention_answer(r, until);
}

enum MHD_Result objlock_retention(req *r)
{
    if (!strcmp(r->method, "PUT")) return put_retention(r);
    if (!strcmp(r->method, "GET")) return get_retention(r);
    return send_error(r, "MethodNotAllowed", "The specified method is not allowed against this resource.");
}

/* ---------------------------------------------------------------- the guard */

/* What a request would destroy: its kind (0: nothing). */
enum { D_NONE, D_WRITE, D_APPEND, D_DELETE, D_MULTI };

static int destroys(req *r, const op_def *op)
{
    switch (op->op) {
    case COS_OP_PUT_OBJECT:
    case COS_OP_PUT_OBJECT_COPY:
    case COS_OP_POST_OBJECT:
    case COS_OP_MULTIPART_COMPLETE: return D_WRITE;
    case COS_OP_APPEND_OBJECT: return D_APPEND;
    case COS_OP_DELETE_OBJECT: return D_DELETE;
    case COS_OP_DELETE_MULTIPLE_OBJECT: return D_MULTI;
    default: break;
    }
    if (op->sub && !strcmp(op->sub, "symlink") && !strcmp(r->method, "PUT")) return D_WRITE;
    return D_NONE;
}

/* When destroying key (one version: vid) now would break a retention: *until (ms; 0 when nothing is
 * retained), 0, or the store's error (< -1). */
static int key_until(req *r, int kind, vers_state vs, const char *key, const char *vid, const char *rules,
                     int64_t *until)
{
    *until = 0;
    if (vid && !*vid) vid = NULL;
    /* with versioning on, a write makes a version and a DELETE a marker: nothing is destroyed */
    if (!vid && vs == VERS_ENABLED && kind != D_APPEND) return 0;
    obj_meta m;
    bool marker = false;
    int rc = vid ? versioning_lookup(r, r->bucket, key, vid, &m, &marker)
                 : store_object_get(r->srv->st, r->bucket, key, &m);
    if (rc < -1) return rc;
    if (rc != 0) return 0;
    int64_t set = 0, t = marker ? 0 : retained_until_set(r, &m, rules, &set);
    int64_t now = cos_now_ms();
    /* about to be destroyed, its retention over: what PUT ?retention set for it goes too (it was
       kept for ever, a row per version). Were the destruction to fail, a date past changes nothing */
    if (t >= 0 && t <= now && set) {
        char *k = explicit_kind(m.data_id);
        store_config_delete(r->srv->st, r->bucket, k);
        free(k);
    }
    obj_meta_clear(&m);
    if (t < -1) return (int)t;
    *until = t > now ? t : 0;
    return 0;
}

/* Whether destroying key (one version: vid) now is refused: 1 (answered), 0, or -1 (answered: the store). */
static int key_refused(req *r, int kind, vers_state vs, const char *key, const char *vid, const char *rules,
                       enum MHD_Result *ret)
{
    int64_t until = 0;
    int rc = key_until(r, kind, vs, key, vid, rules, &until);
    if (rc < -1) {
        *ret = store_trouble(r, rc);
        return -1;
    }
    if (!until) return 0;
    char iso[32];
    cos_iso8601_format(until, iso);
    *ret = send_error(r, "AccessDenied", "Access Denied: %s is under retention until %s (object lock, COMPLIANCE); "
                                         "nothing was changed.", key, iso);
    return 1;
}

int objlock_multi_retained(req *r, const char *key, const char *vid, char iso[32])
{
    if (!r->objlock_multi) return 0; /* the bucket had the lock off when the request began: nothing is retained */
    char *rules = NULL;
    size_t len = 0;
    int rc = store_config_get(r->srv->st, r->bucket, RULES, &rules, &len);
    int64_t until = 0;
    if (rc >= -1) rc = key_until(r, D_MULTI, versioning_state(r, r->bucket), key, vid, rules, &until);
    free(rules);
    if (rc < -1) return rc;
    if (until) cos_iso8601_format(until, iso);
    return until ? 1 : 0;
}

bool objlock_guard(req *r, const op_def *op, int *held, enum MHD_Result *ret)
{
    *held = OBJLOCK_NONE;
    int kind = r->bucket ? destroys(r, op) : D_NONE;
    if (kind == D_NONE) return false;
    pthread_mutex_lock(&g_count_lock);
    bool enabling = g_enabling;
    if (!enabling) g_unguarded++; /* counted before the read, so an enabling PUT that misses it waits for it */
    pthread_mutex_unlock(&g_count_lock);
    int on = 1; /* while one enables it: as if on, behind the guard */
    if (!enabling) {
        store_memo_refresh(); /* the lock's state as of now, not as of this request's first read */
        on = lock_enabled(r);
        if (on == 0) {
            *held = OBJLOCK_UNGUARDED;
            return false;
        }
        unguarded_done();
    }
    if (on < -1) {
        *ret = store_trouble(r, on);
        return true;
    }
    pthread_mutex_lock(&g_guard);
    store_memo_refresh(); /* what guarded requests changed while this one waited (its snapshot is older) */
    *held = OBJLOCK_GUARDED;
    char *rules = NULL;
    size_t len = 0;
    int rc = store_config_get(r->srv->st, r->bucket, RULES, &rules, &len);
    if (rc < -1) {
        free(rules);
        *ret = store_trouble(r, rc);
        return true;
    }
    vers_state vs = versioning_state(r, r->bucket);
    int refused = 0;
    if (kind == D_MULTI) {
        /* each retained entry is an <Error> of its own, the others deleted, as COS and S3 answer:
           delete_multiple asks per key (objlock_multi_retained), under the guard held till the end */
        r->objlock_multi = true;
    } else {
        char *form_key = op->op == COS_OP_POST_OBJECT ? post_form_key(r) : NULL;
        const char *key = form_key ? form_key : r->key;
        if (key) refused = key_refused(r, kind, vs, key, kind == D_DELETE ? req_arg(r, "versionId") : NULL, rules, ret);
        free(form_key);
    }
    free(rules);
    return refused != 0;
}

void objlock_release(int held)
{
    if (held == OBJLOCK_GUARDED) pthread_mutex_unlock(&g_guard);
    else if (held == OBJLOCK_UNGUARDED) unguarded_done();
}

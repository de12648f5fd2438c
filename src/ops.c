/*
 * ops.c — every COS operation as one row of data, and the single code path
 * that turns a row plus a cos_request into a signed HTTP request, sends it
 * (with retries and clock-skew correction), and turns the response into a
 * cos_result or a cos_error. Sync calls drive it inline; async calls drive
 * the same steps on the worker pool.
 */
#define _GNU_SOURCE
#include "call.h"
#include "checksum.h"
#include "s3names.h"
#include "signer.h"
#include "xml.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ parameters as data */

enum { Q_STR, Q_INT, Q_U64_ALWAYS, H_STR };
enum {
    G_LIST = 1 << 0, G_VLIST = 1 << 1, G_ULIST = 1 << 2, G_PARTS = 1 << 3, G_PART = 1 << 4, G_UPLOADID = 1 << 5,
    G_VERSION = 1 << 6, G_INV = 1 << 7, G_APPEND = 1 << 8, G_OBJHDR = 1 << 9, G_COND = 1 << 10, G_COPY = 1 << 11,
    G_COPYRANGE = 1 << 12, G_ACL = 1 << 13,
};

typedef struct param_def {
    const char *wire;
    int kind;
    size_t offset;
    unsigned groups;
} param_def;

#define P(wire, kind, field, groups) { wire, kind, offsetof(cos_request, field), groups }
static const param_def PARAMS[] = {
    P("prefix", Q_STR, prefix, G_LIST | G_VLIST | G_ULIST),
    P("delimiter", Q_STR, delimiter, G_LIST | G_VLIST | G_ULIST),
    P("marker", Q_STR, marker, G_LIST),
    P("max-keys", Q_INT, max_keys, G_LIST | G_VLIST),
    P("encoding-type", Q_STR, encoding_type, G_LIST | G_VLIST | G_ULIST | G_PARTS),
    P("key-marker", Q_STR, key_marker, G_VLIST | G_ULIST),
    P("version-id-marker", Q_STR, version_id_marker, G_VLIST),
    P("upload-id-marker", Q_STR, upload_id_marker, G_ULIST),
    P("max-uploads", Q_INT, max_uploads, G_ULIST),
    P("uploadId", Q_STR, upload_id, G_PARTS | G_PART | G_UPLOADID),
    P("partNumber", Q_INT, part_number, G_PART),
    P("max-parts", Q_INT, max_parts, G_PARTS),
    P("part-number-marker", Q_INT, part_number_marker, G_PARTS),
    P("versionId", Q_STR, version_id, G_VERSION),
    P("id", Q_STR, inventory_id, G_INV),
    P("position", Q_U64_ALWAYS, position, G_APPEND),
    P("Content-Type", H_STR, content_type, G_OBJHDR),
    P("x-cos-acl", H_STR, acl, G_OBJHDR | G_ACL),
    P("x-cos-storage-class", H_STR, storage_class, G_OBJHDR),
    P("Range", H_STR, range, G_COND),
    P("If-Match", H_STR, if_match, G_COND),
    P("If-None-Match", H_STR, if_none_match, G_COND),
    P("If-Modified-Since", H_STR, if_modified_since, G_COND),
    P("If-Unmodified-Since", H_STR, if_unmodified_since, G_COND),
    P("x-cos-copy-source", H_STR, copy_source, G_COPY),
    P("x-cos-copy-source-range", H_STR, copy_source_range, G_COPYRANGE),
};
#undef P

/* ------------------------------------------------------------------ the S3 dialect of headers */

/* Rename every x-cos-* header of l to its S3 name; one S3 does not have
 * (a COS-only feature) fails the call before anything is sent. */
static int s3_dialect_headers(cos_kvlist *l, const char *op, cos_error **err)
{
    for (size_t i = 0; i < l->count; i++) {
        char *name = (char *)l->items[i].name;
        if (!cos_starts_with_ci(name, "x-cos-")) continue;
        char *s3 = cos_s3_header_name(name);
        if (!s3)
            return cos_err_invalid(err, "headers",
                                   "%s: header %s is COS-only and has no S3 equivalent (signer is SigV4); not sent",
                                   op, name);
        free(name);
        l->items[i].name = s3;
        const char *v = cos_s3_header_value(s3, l->items[i].value);
        if (v) {
            char *copy = cos_strdup(v);
            if (!copy) return cos_err_set(err, COS_ERR_NOMEM, "out of memory");
            free((char *)l->items[i].value);
            l->items[i].value = copy;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ the table */

enum { SC_SERVICE, SC_BUCKET, SC_OBJECT, SC_ANY };
enum {
    F_MD5 = 1 << 0,        /* COS requires Content-MD5 */
    F_DATA = 1 << 1,       /* sends req->body */
    F_SINK = 1 << 2,       /* the response body goes to req->sink */
    F_HEAD = 1 << 3,       /* HEAD: no body */
    F_POLICY = 1 << 4,     /* JSON body from req->input.policy */
    F_FORM = 1 << 5,       /* multipart/form-data (postObject) */
    F_ERR200 = 1 << 6,     /* a 200 whose body is <Error> is an error (copies) */
    F_KEYCHECK = 1 << 7,   /* ObjectKeySimplifyCheck applies */
    F_CRC_UP = 1 << 8,     /* compare the CRC-64 of what was sent with the response's */
    F_GENERIC = 1 << 9,    /* the escape hatch: method/action/url from the request */
    F_INOPT = 1 << 10,     /* the XML input may be replaced by headers (x-cos-acl) */
};

typedef struct op_def {
    const char *method;
    const char *action;            /* sub-resource, NULL for none */
    int scope;
    const char *cam;               /* action name for credential scopes */
    unsigned params;               /* G_* groups */
    unsigned flags;                /* F_* */
    const cos_xml_schema *in;      /* body from req->input.<member> */
    const cos_xml_schema *out;     /* res->output.<member> */
} op_def;

#define BKT(m, act, cam, in, out) { m, act, SC_BUCKET, "name/cos:" cam, 0, 0, in, out }
static const op_def OPS[COS_OP_COUNT] = {
    [COS_OP_GET_SERVICE] = { "GET", NULL, SC_SERVICE, "name/cos:GetService", 0, 0, NULL, &cos_xs_list_buckets_result },
    [COS_OP_PUT_BUCKET] = { "PUT", NULL, SC_BUCKET, "name/cos:PutBucket", G_ACL, 0, NULL, NULL },
    [COS_OP_HEAD_BUCKET] = { "HEAD", NULL, SC_BUCKET, "name/cos:HeadBucket", 0, F_HEAD, NULL, NULL },
    [COS_OP_GET_BUCKET] = { "GET", NULL, SC_BUCKET, "name/cos:GetBucket", G_LIST, 0, NULL, &cos_xs_list_objects_result },
    [COS_OP_DELETE_BUCKET] = BKT("DELETE", NULL, "DeleteBucket", NULL, NULL),
    [COS_OP_GET_BUCKET_LOCATION] = BKT("GET", "location", "GetBucketLocation", NULL, &cos_xs_location_result),
    [COS_OP_PUT_BUCKET_ACL] = { "PUT", "acl", SC_BUCKET, "name/cos:PutBucketACL", G_ACL, F_INOPT, &cos_xs_access_control_policy, NULL },
    [COS_OP_GET_BUCKET_ACL] = BKT("GET", "acl", "GetBucketACL", NULL, &cos_xs_access_control_policy),
    [COS_OP_PUT_BUCKET_CORS] = { "PUT", "cors", SC_BUCKET, "name/cos:PutBucketCORS", 0, F_MD5, &cos_xs_cors_configuration, NULL },
    [COS_OP_GET_BUCKET_CORS] = BKT("GET", "cors", "GetBucketCORS", NULL, &cos_xs_cors_configuration),
    [COS_OP_DELETE_BUCKET_CORS] = BKT("DELETE", "cors", "DeleteBucketCORS", NULL, NULL),
    [COS_OP_PUT_BUCKET_POLICY] = { "PUT", "policy", SC_BUCKET, "name/cos:PutBucketPolicy", 0, F_POLICY, NULL, NULL },
    [COS_OP_GET_BUCKET_POLICY] = BKT("GET", "policy", "GetBucketPolicy", NULL, NULL),
    [COS_OP_DELETE_BUCKET_POLICY] = BKT("DELETE", "policy", "DeleteBucketPolicy", NULL, NULL),
    [COS_OP_PUT_BUCKET_TAGGING] = { "PUT", "tagging", SC_BUCKET, "name/cos:PutBucketTagging", 0, F_MD5, &cos_xs_tagging, NULL },
    [COS_OP_GET_BUCKET_TAGGING] = BKT("GET", "tagging", "GetBucketTagging", NULL, &cos_xs_tagging),
    [COS_OP_DELETE_BUCKET_TAGGING] = BKT("DELETE", "tagging", "DeleteBucketTagging", NULL, NULL),
    [COS_OP_PUT_BUCKET_LIFECYCLE] = { "PUT", "lifecycle", SC_BUCKET, "name/cos:PutBucketLifecycle", 0, F_MD5, &cos_xs_lifecycle_configuration, NULL },
    [COS_OP_GET_BUCKET_LIFECYCLE] = BKT("GET", "lifecycle", "GetBucketLifecycle", NULL, &cos_xs_lifecycle_configuration),
    [COS_OP_DELETE_BUCKET_LIFECYCLE] = BKT("DELETE", "lifecycle", "DeleteBucketLifecycle", NULL, NULL),
    [COS_OP_PUT_BUCKET_VERSIONING] = BKT("PUT", "versioning", "PutBucketVersioning", &cos_xs_versioning_configuration, NULL),
    [COS_OP_GET_BUCKET_VERSIONING] = BKT("GET", "versioning", "GetBucketVersioning", NULL, &cos_xs_versioning_configuration),
    [COS_OP_PUT_BUCKET_REPLICATION] = { "PUT", "replication", SC_BUCKET, "name/cos:PutBucketReplication", 0, F_MD5, &cos_xs_replication_configuration, NULL },
    [COS_OP_GET_BUCKET_REPLICATION] = BKT("GET", "replication", "GetBucketReplication", NULL, &cos_xs_replication_configuration),
    [COS_OP_DELETE_BUCKET_REPLICATION] = BKT("DELETE", "replication", "DeleteBucketReplication", NULL, NULL),
    [COS_OP_PUT_BUCKET_WEBSITE] = { "PUT", "website", SC_BUCKET, "name/cos:PutBucketWebsite", 0, F_MD5, &cos_xs_website_configuration, NULL },
    [COS_OP_GET_BUCKET_WEBSITE] = BKT("GET", "website", "GetBucketWebsite", NULL, &cos_xs_website_configuration),
    [COS_OP_DELETE_BUCKET_WEBSITE] = BKT("DELETE", "website", "DeleteBucketWebsite", NULL, NULL),
    [COS_OP_PUT_BUCKET_REFERER] = { "PUT", "referer", SC_BUCKET, "name/cos:PutBucketReferer", 0, F_MD5, &cos_xs_referer_configuration, NULL },
    [COS_OP_GET_BUCKET_REFERER] = BKT("GET", "referer", "GetBucketReferer", NULL, &cos_xs_referer_configuration),
    [COS_OP_PUT_BUCKET_DOMAIN] = { "PUT", "domain", SC_BUCKET, "name/cos:PutBucketDomain", 0, F_MD5, &cos_xs_domain_configuration, NULL },
    [COS_OP_GET_BUCKET_DOMAIN] = BKT("GET", "domain", "GetBucketDomain", NULL, &cos_xs_domain_configuration),
    [COS_OP_DELETE_BUCKET_DOMAIN] = BKT("DELETE", "domain", "DeleteBucketDomain", NULL, NULL),
    [COS_OP_PUT_BUCKET_ORIGIN] = { "PUT", "origin", SC_BUCKET, "name/cos:PutBucketOrigin", 0, F_MD5, &cos_xs_origin_configuration, NULL },
    [COS_OP_GET_BUCKET_ORIGIN] = BKT("GET", "origin", "GetBucketOrigin", NULL, &cos_xs_origin_configuration),
    [COS_OP_DELETE_BUCKET_ORIGIN] = BKT("DELETE", "origin", "DeleteBucketOrigin", NULL, NULL),
    [COS_OP_PUT_BUCKET_LOGGING] = BKT("PUT", "logging", "PutBucketLogging", &cos_xs_logging_status, NULL),
    [COS_OP_GET_BUCKET_LOGGING] = BKT("GET", "logging", "GetBucketLogging", NULL, &cos_xs_logging_status),
    [COS_OP_PUT_BUCKET_INVENTORY] = { "PUT", "inventory", SC_BUCKET, "name/cos:PutBucketInventory", G_INV, F_MD5, &cos_xs_inventory_configuration, NULL },
    [COS_OP_GET_BUCKET_INVENTORY] = { "GET", "inventory", SC_BUCKET, "name/cos:GetBucketInventory", G_INV, 0, NULL, &cos_xs_inventory_configuration },
    [COS_OP_LIST_BUCKET_INVENTORY] = BKT("GET", "inventory", "ListBucketInventory", NULL, &cos_xs_list_inventory_result),
    [COS_OP_DELETE_BUCKET_INVENTORY] = { "DELETE", "inventory", SC_BUCKET, "name/cos:DeleteBucketInventory", G_INV, 0, NULL, NULL },
    [COS_OP_PUT_BUCKET_ACCELERATE] = BKT("PUT", "accelerate", "PutBucketAccelerate", &cos_xs_accelerate_configuration, NULL),
    [COS_OP_GET_BUCKET_ACCELERATE] = BKT("GET", "accelerate", "GetBucketAccelerate", NULL, &cos_xs_accelerate_configuration),
    [COS_OP_PUT_BUCKET_ENCRYPTION] = { "PUT", "encryption", SC_BUCKET, "name/cos:PutBucketEncryption", 0, F_MD5, &cos_xs_encryption_configuration, NULL },
    [COS_OP_GET_BUCKET_ENCRYPTION] = BKT("GET", "encryption", "GetBucketEncryption", NULL, &cos_xs_encryption_configuration),
    [COS_OP_DELETE_BUCKET_ENCRYPTION] = BKT("DELETE", "encryption", "DeleteBucketEncryption", NULL, NULL),
    [COS_OP_LIST_OBJECT_VERSIONS] = { "GET", "versions", SC_BUCKET, "name/cos:GetBucketObjectVersions", G_VLIST, 0, NULL, &cos_xs_list_versions_result },
    [COS_OP_GET_OBJECT] = { "GET", NULL, SC_OBJECT, "name/cos:GetObject", G_COND | G_VERSION, F_SINK | F_KEYCHECK, NULL, NULL },
    [COS_OP_HEAD_OBJECT] = { "HEAD", NULL, SC_OBJECT, "name/cos:HeadObject", G_COND | G_VERSION, F_HEAD, NULL, NULL },
    [COS_OP_PUT_OBJECT] = { "PUT", NULL, SC_OBJECT, "name/cos:PutObject", G_OBJHDR, F_DATA | F_CRC_UP, NULL, NULL },
    [COS_OP_POST_OBJECT] = { "POST", NULL, SC_OBJECT, "name/cos:PostObject", G_OBJHDR, F_DATA | F_FORM | F_CRC_UP, NULL, NULL },
    [COS_OP_DELETE_OBJECT] = { "DELETE", NULL, SC_OBJECT, "name/cos:DeleteObject", G_VERSION, 0, NULL, NULL },
    [COS_OP_GET_OBJECT_ACL] = { "GET", "acl", SC_OBJECT, "name/cos:GetObjectACL", G_VERSION, 0, NULL, &cos_xs_access_control_policy },
    [COS_OP_PUT_OBJECT_ACL] = { "PUT", "acl", SC_OBJECT, "name/cos:PutObjectACL", G_ACL, F_INOPT, &cos_xs_access_control_policy, NULL },
    [COS_OP_OPTIONS_OBJECT] = { "OPTIONS", NULL, SC_OBJECT, "name/cos:OptionsObject", 0, 0, NULL, NULL },
    [COS_OP_PUT_OBJECT_COPY] = { "PUT", NULL, SC_OBJECT, "name/cos:PutObject", G_OBJHDR | G_COPY, F_ERR200, NULL, &cos_xs_copy_object_result },
    [COS_OP_DELETE_MULTIPLE_OBJECT] = { "POST", "delete", SC_BUCKET, "name/cos:DeleteMultipleObjects", 0, F_MD5, &cos_xs_delete_request, &cos_xs_delete_result },
    [COS_OP_RESTORE_OBJECT] = { "POST", "restore", SC_OBJECT, "name/cos:PostObjectRestore", G_VERSION, F_MD5, &cos_xs_restore_request, NULL },
    [COS_OP_PUT_OBJECT_TAGGING] = { "PUT", "tagging", SC_OBJECT, "name/cos:PutObjectTagging", G_VERSION, F_MD5, &cos_xs_tagging, NULL },
    [COS_OP_GET_OBJECT_TAGGING] = { "GET", "tagging", SC_OBJECT, "name/cos:GetObjectTagging", G_VERSION, 0, NULL, &cos_xs_tagging },
    [COS_OP_DELETE_OBJECT_TAGGING] = { "DELETE", "tagging", SC_OBJECT, "name/cos:DeleteObjectTagging", G_VERSION, 0, NULL, NULL },
    [COS_OP_APPEND_OBJECT] = { "POST", "append", SC_OBJECT, "name/cos:AppendObject", G_OBJHDR | G_APPEND, F_DATA, NULL, NULL },
    [COS_OP_UPLOAD_PART_COPY] = { "PUT", NULL, SC_OBJECT, "name/cos:UploadPartCopy", G_PART | G_COPY | G_COPYRANGE, F_ERR200, NULL, &cos_xs_copy_object_result },
    [COS_OP_MULTIPART_INIT] = { "POST", "uploads", SC_OBJECT, "name/cos:InitiateMultipartUpload", G_OBJHDR, 0, NULL, &cos_xs_initiate_multipart_result },
    [COS_OP_MULTIPART_UPLOAD] = { "PUT", NULL, SC_OBJECT, "name/cos:UploadPart", G_PART, F_DATA | F_CRC_UP, NULL, NULL },
    [COS_OP_MULTIPART_COMPLETE] = { "POST", NULL, SC_OBJECT, "name/cos:CompleteMultipartUpload", G_UPLOADID, F_ERR200, &cos_xs_complete_multipart_upload, &cos_xs_complete_multipart_result },
    [COS_OP_MULTIPART_LIST] = { "GET", "uploads", SC_BUCKET, "name/cos:ListMultipartUploads", G_ULIST, 0, NULL, &cos_xs_list_multipart_uploads_result },
    [COS_OP_MULTIPART_LIST_PART] = { "GET", NULL, SC_OBJECT, "name/cos:ListParts", G_PARTS, 0, NULL, &cos_xs_list_parts_result },
    [COS_OP_MULTIPART_ABORT] = { "DELETE", NULL, SC_OBJECT, "name/cos:AbortMultipartUpload", G_UPLOADID, 0, NULL, NULL },
    [COS_OP_REQUEST] = { NULL, NULL, SC_ANY, "", 0, F_DATA | F_SINK | F_GENERIC, NULL, NULL },
};
#undef BKT

/* The S3 dialect, per operation: what S3 lacks is refused before anything
 * is sent (S3 would answer an unknown sub-resource with something else, or
 * take ?append for a plain PUT of the object); where S3 names the same
 * document differently, its schema. Rows left zero are the same in both. */
typedef struct s3_op_def {
    const char *cos_only;          /* why S3 has no such operation; NULL = it has */
    const cos_xml_schema *in;      /* S3's request document, NULL = the COS one */
} s3_op_def;
static const s3_op_def S3_OPS[COS_OP_COUNT] = {
    [COS_OP_APPEND_OBJECT] = { "appendObject is COS-only: S3 objects cannot be appended to", NULL },
    [COS_OP_POST_OBJECT] = { "postObject signs a COS form; S3's browser form needs a POST policy: use putObject", NULL },
    [COS_OP_PUT_BUCKET_REFERER] = { "putBucketReferer (hotlink protection) is COS-only", NULL },
    [COS_OP_GET_BUCKET_REFERER] = { "getBucketReferer (hotlink protection) is COS-only", NULL },
    [COS_OP_PUT_BUCKET_DOMAIN] = { "putBucketDomain (custom domains) is COS-only", NULL },
    [COS_OP_GET_BUCKET_DOMAIN] = { "getBucketDomain (custom domains) is COS-only", NULL },
    [COS_OP_DELETE_BUCKET_DOMAIN] = { "deleteBucketDomain (custom domains) is COS-only", NULL },
    [COS_OP_PUT_BUCKET_ORIGIN] = { "putBucketOrigin (back-to-origin) is COS-only", NULL },
    [COS_OP_GET_BUCKET_ORIGIN] = { "getBucketOrigin (back-to-origin) is COS-only", NULL },
    [COS_OP_DELETE_BUCKET_ORIGIN] = { "deleteBucketOrigin (back-to-origin) is COS-only", NULL },
    [COS_OP_RESTORE_OBJECT] = { NULL, &cos_xs_restore_request_s3 },
    [COS_OP_PUT_BUCKET_INVENTORY] = { NULL, &cos_xs_inventory_configuration_s3 },
};

/* COS-only query parameters: data processing (CI) and the like, which an S3
 * store would ignore and answer with the plain object. A name matches
 * whole, or as the head of a processing chain ("imageMogr2/thumbnail/..."). */
static const char *const COS_ONLY_PARAMS[] = { "ci-process", "imageMogr2", "imageInfo", "imageView2", "watermark",
                                               "imageSlim", "append", "position" };

static bool cos_only_param(const char *name)
{
    for (size_t j = 0; name && j < COS_ARRAY_LEN(COS_ONLY_PARAMS); j++) {
        size_t n = strlen(COS_ONLY_PARAMS[j]);
        if (strncmp(name, COS_ONLY_PARAMS[j], n) == 0 && (name[n] == '\0' || name[n] == '/' || name[n] == '|'))
            return true;
    }
    return false;
}

static int s3_refuse(const cos_client *c, cos_op op, const cos_request *req, cos_error **err)
{
    if (c->cfg.dialect != COS_DIALECT_S3) return 0;
    if (S3_OPS[op].cos_only)
        return cos_err_invalid(err, "op", "%s; not sent (the client speaks S3, docs/s3.md)", S3_OPS[op].cos_only);
    for (size_t i = 0; i < req->query_count; i++)
        if (cos_only_param(req->query[i].name))
            return cos_err_invalid(err, "query", "%s: the parameter %s is COS-only; not sent (the client speaks S3)",
                                   cos_op_name(op), req->query[i].name);
    return 0;
}

static const char *const OP_NAMES[COS_OP_COUNT] = {
#define COS_OP_NAME_(fn, NAME, api, in, out) [COS_OP_##NAME] = api,
    COS_OPERATIONS(COS_OP_NAME_)
#undef COS_OP_NAME_
};

const char *cos_op_name(cos_op op) { return (unsigned)op < COS_OP_COUNT ? OP_NAMES[op] : NULL; }

/* ------------------------------------------------------------------ one call */

typedef struct op_call {
    cos_client *c;
    cos_op op;
    const op_def *def;
    char *method, *bucket, *region, *key, *pathname;
    cos_kvlist query;          /* signed and sent */
    cos_kvlist headers;        /* before signing */
    cos_buf body_buf;          /* XML / JSON bodies */
    int body_fd;               /* file body opened here */
    bool body_fd_borrowed;     /* body_fd is the caller's (call_sync_cancelable): not closed here */
    uint64_t body_file_size;   /* its size when the request was prepared */
    struct timespec body_file_mtime; /* and its modification time */
    struct timespec body_file_ctime; /* and its change time, which no one can set back (touch -d can the mtime) */
    bool body_whole_file;      /* the body is the file to its end (no length given) */
    char *sink_path, *sink_tmp;
    bool sink_in_place;        /* sink_fd is a device or FIFO named by the caller: no temporary, no retry once written */
    cos_http http;
    bool repeatable;
    int attempts, retries;
    bool skew_fixed;
    int64_t t0_ms;
    int stalls;                /* attempts that ended in a stall (low-speed timeout) */
    bool switched;             /* AutoSwitchHost moved it to the backup domain */
    bool server_signed;        /* an Authorization from the callback: its host cannot change */
    uint64_t append_pos;       /* appendObject: the position asked for */
    bool append_base_known;    /*   and the object's CRC-64 before it, from the caller */
    uint64_t append_base;
    /* async */
    cos_done_fn done;
    void *ud;
    /* driven (call.h) */
    void (*notify)(void *ud);
    void *notify_ud;
    bool driven_over;          /* its retry could not be sent (timer): the outcome is set */
    cred_origin origin;        /* started inside a refresh of this client's key (cred.c) */
    /* outcome */
    cos_result *res;
    cos_error *err;
    int rc;
} op_call;

static void call_free(op_call *k)
{
    free(k->method);
    free(k->bucket);
    free(k->region);
    free(k->key);
    free(k->pathname);
    cos_kvlist_free(&k->query);
    cos_kvlist_free(&k->headers);
    cos_buf_free(&k->body_buf);
    if (k->body_fd >= 0 && !k->body_fd_borrowed) close(k->body_fd);
    if (k->http.sink_fd >= 0 && k->http.sink == SINK_FD) close(k->http.sink_fd);
    if (k->sink_tmp) unlink(k->sink_tmp); /* only still there on failure */
    free(k->sink_path);
    free(k->sink_tmp);
    http_clear(&k->http);
    cos_result_free(k->res);
    cos_error_free(k->err);
    free(k);
}

static int add_params(op_call *k, const cos_request *req, unsigned groups)
{
    for (size_t i = 0; i < COS_ARRAY_LEN(PARAMS); i++) {
        const param_def *p = &PARAMS[i];
        if (!(p->groups & groups)) continue;
        const char *field = (const char *)req + p->offset;
        char num[32];
        const char *val = NULL;
        switch (p->kind) {
        case Q_STR:
        case H_STR:
            val = *(const char *const *)field;
            break;
        case Q_INT:
            if (*(const int *)field) {
                snprintf(num, sizeof num, "%d", *(const int *)field);
                val = num;
            }
            break;
        case Q_U64_ALWAYS:
            snprintf(num, sizeof num, "%llu", (unsigned long long)*(const uint64_t *)field);
            val = num;
            break;
        }
        if (!val) continue;
        int rc = p->kind == H_STR ? cos_kvlist_set(&k->headers, p->wire, val) : cos_kvlist_add(&k->query, p->wire, val);
        if (rc) return rc;
    }
    if (groups & G_OBJHDR) {
        for (size_t i = 0; i < req->meta_count; i++) {
            char *n = cos_starts_with_ci(req->meta[i].name, "x-cos-meta-") ? cos_strdup(req->meta[i].name)
                                                                            : cos_sprintf("x-cos-meta-%s", req->meta[i].name);
            int rc = n ? cos_kvlist_set(&k->headers, n, req->meta[i].value) : COS_ERR_NOMEM;
            free(n);
            if (rc) return rc;
        }
    }
    return 0;
}

static void put_content_md5(op_call *k, const void *data, size_t len)
{
    unsigned char d[16];
    char b64[32];
    cos_md5_digest(data, len, d);
    cos_base64_encode(d, 16, b64);
    cos_kvlist_set(&k->headers, "Content-MD5", b64);
}

static int md5_of_fd(int fd, uint64_t off, uint64_t len, unsigned char d[16])
{
    cos_md5 *m = cos_md5_new();
    unsigned char *buf = malloc(1 << 20);
    int rc = (m && buf) ? 0 : COS_ERR_NOMEM;
    while (rc == 0 && len) {
        ssize_t n = pread(fd, buf, (size_t)COS_MIN(len, (uint64_t)(1 << 20)), (off_t)off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) { rc = COS_ERR_IO; break; }
        cos_md5_update(m, buf, (size_t)n);
        off += (uint64_t)n;
        len -= (uint64_t)n;
    }
    if (rc == 0) cos_md5_final(m, d);
    cos_md5_free(m);
    free(buf);
    return rc;
}

/* ------------------------------------------------------------------ S3 upload checksums */

/* The x-amz-checksum-* a PutObject carries in the S3 dialect (config.h
 * upload_checksum), or NONE: AUTO stops once a server has refused it. */
static cos_cksum_alg s3_upload_checksum(const cos_client *c)
{
    switch (c->cfg.upload_checksum) {
    case COS_CHECKSUM_AUTO: return atomic_load(&((cos_client *)c)->s3_checksum_refused) ? COS_CKSUM_NONE : COS_CKSUM_CRC64NVME;
    case COS_CHECKSUM_CRC64NVME: return COS_CKSUM_CRC64NVME;
    case COS_CHECKSUM_CRC32C: return COS_CKSUM_CRC32C;
    default: return COS_CKSUM_NONE;
    }
}

/* The algorithm uploadFile's multipart uploads declare (x-amz-checksum-
 * algorithm) and send per part. Always CRC32C when any: S3 takes CRC32C
 * as a COMPOSITE checksum of parts, CRC64NVME only as FULL_OBJECT (which
 * cos-server does not offer); cos-server and S3 both take CRC32C. */
int s3_multipart_checksum(const cos_client *c)
{
    return c->cfg.dialect == COS_DIALECT_S3 && s3_upload_checksum(c) != COS_CKSUM_NONE ? COS_CKSUM_CRC32C
                                                                                     : COS_CKSUM_NONE;
}

/* Add the checksum header of a memory or file body (a callback body cannot
 * be read twice, so it goes without). */
static int put_s3_checksum(op_call *k, cos_cksum_alg alg)
{
    cos_cksum *ck = cos_cksum_new(alg);
    if (!ck) return COS_ERR_NOMEM;
    int rc = 0;
    if (k->http.body == BODY_MEM) {
        cos_cksum_update(ck, k->http.mem, k->http.mem_len);
    } else {
        unsigned char *buf = malloc(1 << 20);
        uint64_t off = k->http.file_off, len = k->http.file_len;
        rc = buf ? 0 : COS_ERR_NOMEM;
        while (rc == 0 && len) {
            ssize_t n = pread(k->body_fd, buf, (size_t)COS_MIN(len, (uint64_t)(1 << 20)), (off_t)off);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) { rc = COS_ERR_IO; break; }
            cos_cksum_update(ck, buf, (size_t)n);
            off += (uint64_t)n;
            len -= (uint64_t)n;
        }
        free(buf);
    }
    char b64[COS_CKSUM_B64_MAX];
    if (rc == 0) {
        cos_cksum_b64(ck, b64);
        rc = cos_kvlist_set(&k->headers, cos_cksum_header(alg), b64);
    }
    cos_cksum_free(ck);
    return rc;
}

/* A server that does not know x-amz-checksum-* (older S3-compatible stores)
 * refuses the request: with upload_checksum AUTO the client stops sending it
 * and the request goes again without. */
static bool s3_checksum_refused(op_call *k, const cos_error *e)
{
    cos_client *c = k->c;
    if (c->cfg.dialect != COS_DIALECT_S3 || c->cfg.upload_checksum != COS_CHECKSUM_AUTO || !e || !e->code) return false;
    const char *hdr = cos_cksum_header(COS_CKSUM_CRC64NVME);
    if (!cos_kvlist_get(&k->headers, hdr)) hdr = "x-amz-checksum-algorithm"; /* a multipart upload's declaration */
    if (!cos_kvlist_get(&k->headers, hdr)) return false;
    bool refusal = (k->http.status == 400 || k->http.status == 501) &&
                   (strcmp(e->code, "NotImplemented") == 0 ||
                    ((strcmp(e->code, "InvalidRequest") == 0 || strcmp(e->code, "InvalidArgument") == 0) && e->message &&
                     strcasestr(e->message, "checksum")));
    if (!refusal) return false;
    atomic_store(&c->s3_checksum_refused, 1);
    cos_kvlist_remove(&k->headers, hdr);
    client_log(c, COS_LOG_WARN, "%s %s: the server refused %s; uploads go without it (ETag/MD5 checks stay)", k->method,
               OP_NAMES[k->op], hdr);
    return true;
}

const size_t cos_request_sizes[COS_REQUEST_VERSION + 1] = { [1] = offsetof(cos_request, append_base_crc64),
                                                             [COS_REQUEST_VERSION] = sizeof(cos_request) };

/* Validate and build everything but the signature (runs on the caller's thread). */
/* A header that would not go out as the one line it is (util.h) is refused
 * before anything is sent: a metadata value "a\r\nx-cos-acl: public-read"
 * made the object public (COS applies headers it was not asked to sign), a
 * blank line after one started a second request in the same send. */
static int check_header(const char *name, const char *value, cos_error **err)
{
    if (!cos_header_name_ok(name)) {
        size_t ok = name ? cos_header_name_span(name) : 0;
        return cos_err_invalid(err, "headers", "the header name \"%.*s%s\" is not an HTTP token (a control byte, space, "
                               "colon, quote or byte >= 0x80%s): it cannot be sent as one header", (int)ok,
                               name ? name : "", name && name[ok] ? "..." : "", name && *name ? "" : "; or empty");
    }
    if (!cos_header_value_ok(value ? value : ""))
        return cos_err_invalid(err, "headers", "the value of the header %s has a control character (a line break "
                               "would start another header): it cannot be sent as one header", name);
    return 0;
}

/* The body's framing is the body's: a caller's Content-Length other than
 * its length (or for a body of unknown length), or a Transfer-Encoding,
 * made the server read another length than was sent, the rest of the body
 * read as a second request on the connection (unsigned: smuggled). A
 * Content-Length equal to the body's goes, as the SDK's ContentLength. */
static int check_framing(const op_call *k, cos_error **err)
{
    static const char *const hop[] = { "Transfer-Encoding", "TE", "Upgrade" };
    for (size_t i = 0; i < COS_ARRAY_LEN(hop); i++)
        if (cos_kvlist_get(&k->headers, hop[i]))
            return cos_err_invalid(err, "headers", "the header %s frames the connection, which libcos does: not sent", hop[i]);
    const char *cl = cos_kvlist_get(&k->headers, "Content-Length");
    if (!cl) return 0;
    const cos_http *h = &k->http;
    bool known = h->body != BODY_CB || h->cb_len >= 0;
    uint64_t len = h->body == BODY_MEM ? h->mem_len : h->body == BODY_FILE ? h->file_len
                   : h->body == BODY_CB ? (uint64_t)(h->cb_len >= 0 ? h->cb_len : 0) : 0;
    uint64_t v;
    if (!known || cos_parse_u64(cl, &v) != 0 || v != len)
        return cos_err_invalid(err, "headers", "Content-Length: %s is not the body's length (%s%llu): the rest "
                               "would be read as another request", cl, known ? "" : "unknown; set body.length, not ",
                               (unsigned long long)len);
    return 0;
}

/* body_fd >= 0: the file body (body.file_path) is read from this descriptor
 * (borrowed: the caller closes it), not opened again by name: a transfer sends the file
 * it opened and measured, not one renamed over the path since. */
static int call_prepare(cos_client *c, cos_op op, const cos_request *caller_req, int body_fd, op_call **out,
                        cos_error **err)
{
    *out = NULL;
    if ((unsigned)op >= COS_OP_COUNT) return cos_err_invalid(err, "op", "unknown operation %d", (int)op);
    if (!caller_req) return cos_err_invalid(err, "req", "missing request");
    cos_request req_in;
    if (COS_OPTIONS_IN(&req_in, caller_req, "cos_request", "COS_REQUEST_INIT", cos_request_sizes, err)) return COS_ERR_INVALID_ARG;
    const cos_request *req = &req_in;
    const op_def *def = &OPS[op];
    if (s3_refuse(c, op, req, err)) return COS_ERR_INVALID_ARG;
    op_call *k = calloc(1, sizeof *k);
    if (!k) return cos_err_set(err, COS_ERR_NOMEM, "out of memory");
    k->c = c;
    if (c->cfg.get_authorization || c->cfg.get_sts) k->origin = cred_origin_here(c);
    k->op = op;
    k->def = def;
    k->body_fd = -1;
    k->http.sink_fd = -1;
    k->repeatable = true;
    if (op == COS_OP_APPEND_OBJECT) {
        k->append_pos = req->position;
        k->append_base_known = req->has_append_base_crc64;
        k->append_base = req->append_base_crc64;
    }
    int rc = 0;
    const char *region = req->region ? req->region : c->cfg.region;
    const char *key = req->key;
    if (key && key[0] == '/' && !c->cfg.use_raw_key) key++; /* the SDK drops one leading "/" (unless UseRawKey) */
    int scope = def->scope;
    if (scope == SC_ANY) scope = !cos_str_empty(key) ? SC_OBJECT : !cos_str_empty(req->bucket) ? SC_BUCKET : SC_SERVICE;

    if (scope != SC_SERVICE) {
        if ((rc = cos_check_bucket(req->bucket, c->cfg.signer == COS_SIGNER_SIGV4, err))) goto fail;
        if ((rc = cos_check_region(region, err))) goto fail;
    }
    if (scope == SC_OBJECT && cos_str_empty(key) && !(def->flags & F_GENERIC)) {
        rc = cos_err_invalid(err, "key", "missing param Key");
        goto fail;
    }
    if (scope == SC_OBJECT && def->scope != SC_ANY && cos_key_names_no_object(key)) {
        /* "//" (one "/" dropped above), "./" or "a/..": the path is the bucket's, and
           deleteObject of it deleted the bucket, putObjectAcl set its ACL */
        rc = cos_err_invalid(err, "key", "the key \"%s\" names no object (its '.' and '..' segments and "
                             "slashes resolve to the bucket): it would address the bucket itself", req->key);
        goto fail;
    }
    if ((def->flags & F_KEYCHECK) && !c->cfg.no_key_simplify_check &&
        (cos_key_is_bucket_root(req->key) || cos_key_escapes_root(req->key))) {
        rc = cos_err_invalid(err, "key", "the key \"%s\" resolves outside an object of the bucket", req->key);
        goto fail;
    }
    if (op == COS_OP_MULTIPART_UPLOAD && (req->part_number < 1 || req->part_number > 10000)) {
        rc = cos_err_invalid(err, "part_number", "PartNumber must be 1..10000, got %d", req->part_number);
        goto fail;
    }
    if ((op == COS_OP_MULTIPART_UPLOAD || op == COS_OP_MULTIPART_COMPLETE || op == COS_OP_MULTIPART_LIST_PART ||
         op == COS_OP_MULTIPART_ABORT || op == COS_OP_UPLOAD_PART_COPY) && cos_str_empty(req->upload_id)) {
        rc = cos_err_invalid(err, "upload_id", "missing param UploadId");
        goto fail;
    }
    if ((op == COS_OP_PUT_OBJECT_COPY || op == COS_OP_UPLOAD_PART_COPY) && cos_str_empty(req->copy_source)) {
        rc = cos_err_invalid(err, "copy_source", "missing param CopySource");
        goto fail;
    }
    const void *input;
    memcpy(&input, &req->input, sizeof input);
    if (def->in && !input && !((def->flags & F_INOPT) && req->acl)) {
        rc = cos_err_invalid(err, "input", "%s needs its XML document in req->input", OP_NAMES[op]);
        goto fail;
    }
    if ((def->flags & F_POLICY) && cos_str_empty(req->input.policy)) {
        rc = cos_err_invalid(err, "input.policy", "missing param Policy");
        goto fail;
    }
    if ((def->flags & F_GENERIC) && cos_str_empty(req->method)) {
        rc = cos_err_invalid(err, "method", "the generic request needs a method");
        goto fail;
    }

    k->method = cos_strdup((def->flags & F_GENERIC) ? req->method : def->method);
    for (char *m = k->method; m && *m; m++)
        if (*m >= 'a' && *m <= 'z') *m = (char)(*m - 32);
    k->bucket = scope == SC_SERVICE ? NULL : cos_strdup(req->bucket);
    k->region = cos_strdup(region);
    k->key = scope == SC_OBJECT ? cos_strdup(key ? key : "") : NULL;

    /* query: sub-resource first, then the row's parameters, then the caller's extras */
    const char *action = (def->flags & F_GENERIC) ? req->action : def->action;
    if (!cos_str_empty(action)) cos_kvlist_add(&k->query, action, "");
    if ((rc = add_params(k, req, def->params))) goto nomem;
    for (size_t i = 0; i < req->query_count; i++) cos_kvlist_add(&k->query, req->query[i].name, req->query[i].value);
    for (size_t i = 0; i < req->header_count; i++) {
        if ((rc = check_header(req->headers[i].name, req->headers[i].value, err))) goto fail;
        cos_kvlist_set(&k->headers, req->headers[i].name, req->headers[i].value);
    }
    if (req->content_md5) cos_kvlist_set(&k->headers, "Content-MD5", req->content_md5);
    for (size_t i = 0; i < k->headers.count; i++) /* the metadata and conditions too */
        if ((rc = check_header(k->headers.items[i].name, k->headers.items[i].value, err))) goto fail;

    /* URL (the query is appended by the builder) */
    rc = cos_url_build(&c->ep, k->bucket, k->region, k->key, k->query.items, k->query.count, &k->http.url, &k->pathname);
    if (rc) goto nomem;
    if ((def->flags & F_GENERIC) && req->url) {
        free(k->http.url);
        k->http.url = cos_strdup(req->url);
    }
    if (def->flags & F_FORM) { /* the form goes to the bucket, the key travels as a field */
        free(k->http.url);
        free(k->pathname);
        cos_url_build(&c->ep, k->bucket, k->region, "", NULL, 0, &k->http.url, &k->pathname);
    }
    k->http.method = cos_strdup(k->method);
    /* a generic request's HEAD has no body either: waiting for one would hang until the timeout */
    k->http.head = (def->flags & F_HEAD) || strcmp(k->method, "HEAD") == 0;
    k->http.timeout_ms = req->timeout_ms ? req->timeout_ms : c->cfg.timeout_ms;
    k->http.on_progress = req->on_progress;
    k->http.progress_ud = req->progress_user_data;
    k->http.progress_interval_ms = c->cfg.progress_interval_ms;

    /* body */
    if (def->in && input) {
        const cos_xml_schema *in = c->cfg.dialect == COS_DIALECT_S3 && S3_OPS[op].in ? S3_OPS[op].in : def->in;
        if ((rc = cos_xml_build(in, input, &k->body_buf, false))) goto nomem;
    } else if (def->flags & F_POLICY) {
        cos_buf_puts(&k->body_buf, req->input.policy);
    }
    if (k->body_buf.data) {
        k->http.body = BODY_MEM;
        k->http.mem = k->body_buf.data;
        k->http.mem_len = k->body_buf.len;
        if (def->in && !cos_kvlist_get(&k->headers, "Content-Type")) cos_kvlist_set(&k->headers, "Content-Type", "application/xml");
        if (def->flags & F_MD5) put_content_md5(k, k->body_buf.data, k->body_buf.len);
    } else if (def->flags & F_DATA) {
        const cos_body *b = &req->body;
        if (b->data || (!b->file_path && !b->read && (op == COS_OP_PUT_OBJECT || op == COS_OP_APPEND_OBJECT ||
                                                       op == COS_OP_MULTIPART_UPLOAD || op == COS_OP_POST_OBJECT))) {
            k->http.body = BODY_MEM;
            k->http.mem = b->data ? b->data : "";
            k->http.mem_len = b->data ? b->size : 0;
            if (c->cfg.upload_check_content_md5 && !req->content_md5) put_content_md5(k, k->http.mem, k->http.mem_len);
        } else if (b->file_path) {
            k->body_fd_borrowed = body_fd >= 0;
            k->body_fd = body_fd >= 0 ? body_fd : open(b->file_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO: no wait for a writer */
            if (k->body_fd < 0) {
                rc = cos_err_io(err, errno, "cannot open", b->file_path);
                goto fail;
            }
            struct stat st;
            bool stat_ok = fstat(k->body_fd, &st) == 0;
            if (!stat_ok || !S_ISREG(st.st_mode)) {
                rc = !stat_ok ? cos_err_io(err, errno, "cannot stat", b->file_path)
                     : S_ISDIR(st.st_mode) ? cos_err_invalid(err, "body.file_path", "%s is a directory", b->file_path)
                                           : cos_err_invalid(err, "body.file_path", "%s is not a regular file", b->file_path);
                goto fail;
            }
            uint64_t size = (uint64_t)st.st_size;
            /* no length (0, as a zeroed body has, or -1) = the whole file from file_offset */
            k->body_whole_file = b->file_length <= 0;
            if (b->file_offset > size) {
                rc = cos_err_invalid(err, "body.file_offset", "file_offset %llu lies beyond the end of %s (%llu bytes)",
                                     (unsigned long long)b->file_offset, b->file_path, (unsigned long long)size);
                goto fail;
            }
            if (!k->body_whole_file && b->file_offset + (uint64_t)b->file_length > size) {
                rc = cos_err_invalid(err, "body.file_length", "the range lies beyond the end of %s (%llu bytes)",
                                     b->file_path, (unsigned long long)size);
                goto fail;
            }
            char past_end;
            if (k->body_whole_file && pread(k->body_fd, &past_end, 1, (off_t)size) > 0) {
                /* /proc, /sys: a size of 0 (or less than there is) that read() does not
                   keep to; sending st_size bytes stored an empty object, no error */
                rc = cos_err_invalid(err, "body.file_path",
                                     "%s has more bytes than its size (%llu) says (a file of /proc or /sys?): "
                                     "its end cannot be known before it is read; send it from memory",
                                     b->file_path, (unsigned long long)size);
                goto fail;
            }
            k->body_file_size = size;
            k->body_file_mtime = st.st_mtim;
            k->body_file_ctime = st.st_ctim;
            k->http.body = BODY_FILE;
            k->http.fd = k->body_fd;
            k->http.file_off = b->file_offset;
            k->http.file_len = k->body_whole_file ? size - b->file_offset : (uint64_t)b->file_length;
            if (c->cfg.upload_check_content_md5 && !req->content_md5) {
                unsigned char d[16];
                char b64[32];
                if ((rc = md5_of_fd(k->body_fd, k->http.file_off, k->http.file_len, d))) {
                    rc = cos_err_io(err, errno, "cannot read", b->file_path);
                    goto fail;
                }
                cos_base64_encode(d, 16, b64);
                cos_kvlist_set(&k->headers, "Content-MD5", b64);
            }
        } else if (b->read) {
            k->http.body = BODY_CB;
            k->http.rd = b->read;
            k->http.seek = b->seek;
            k->http.rd_ud = b->read_user_data;
            k->http.cb_len = b->length;
            k->repeatable = b->seek != NULL;
        }
    }
    if (c->cfg.upload_add_meta_md5 && (op == COS_OP_PUT_OBJECT || op == COS_OP_POST_OBJECT) &&
        !cos_kvlist_get(&k->headers, "x-cos-meta-md5")) { /* UploadAddMetaMd5: the hex MD5 of the body */
        unsigned char d[16];
        char hex[33];
        bool have = false;
        if (k->http.body == BODY_MEM) {
            cos_md5_digest(k->http.mem, k->http.mem_len, d);
            have = true;
        } else if (k->http.body == BODY_FILE) {
            have = md5_of_fd(k->body_fd, k->http.file_off, k->http.file_len, d) == 0;
        }
        if (have) {
            cos_hex_encode(d, 16, hex);
            cos_kvlist_set(&k->headers, "x-cos-meta-md5", hex);
        }
    }
    if (!(def->flags & F_FORM) && (rc = check_framing(k, err))) goto fail;
    if (def->flags & F_FORM) {
        const char *fname = req->body.file_path ? strrchr(req->body.file_path, '/') : NULL;
        k->http.form_filename = fname ? fname + 1 : (req->body.file_path ? req->body.file_path : k->key);
    }

    /* integrity without CRC-64 (S3-compatible stores): the MD5 of a whole
       object against a plain ETag; the MD5 of what is sent once a server
       has shown it sends no CRC-64 (before that, files and memory are hashed
       again after the answer) */
    k->http.md5_recv_wanted = (def->flags & F_SINK) && !strcmp(k->method, "GET") && !cos_kvlist_get(&k->headers, "Range");
    k->http.crc64_unheeded = c->cfg.dialect == COS_DIALECT_S3; /* ops.c ignores it there: the MD5 must be checked */
    for (size_t i = 0; i < k->query.count && k->http.md5_recv_wanted; i++) /* a processed body (ci-process, ...) is not the object */
        if (strcmp(k->query.items[i].name, "versionId") != 0 && !cos_starts_with_ci(k->query.items[i].name, "response-"))
            k->http.md5_recv_wanted = false;
    /* an S3 store sends no CRC-64: hash what is sent from the first request */
    k->http.md5_sent_on = (def->flags & F_CRC_UP) && (c->cfg.dialect == COS_DIALECT_S3 || atomic_load(&c->lacks_crc));
    if (c->cfg.dialect == COS_DIALECT_S3 && op == COS_OP_PUT_OBJECT &&
        (k->http.body == BODY_MEM || k->http.body == BODY_FILE) && s3_upload_checksum(c) != COS_CKSUM_NONE &&
        (rc = put_s3_checksum(k, s3_upload_checksum(c)))) {
        rc = rc == COS_ERR_IO ? cos_err_io(err, errno, "cannot read", req->body.file_path) : cos_err_set(err, rc, "out of memory");
        goto fail;
    }
    k->http.stall_s = (c->cfg.stall_timeout_ms + 999) / 1000;
    /* answers that are parsed (XML, JSON) are bounded; an object's body the
       caller asked to have in memory is the caller's to size */
    if (!(def->flags & F_SINK)) k->http.mem_cap = ENGINE_XML_CAP;

    /* sink */
    k->http.sink = SINK_MEM;
    if (def->flags & F_SINK) {
        int special = req->sink.file_path ? cos_open_special_dest(req->sink.file_path, false, &k->http.sink_fd, err) : 0;
        if (special < 0) {
            rc = special;
            goto fail;
        }
        if (special) { /* written in place, never renamed over; bytes written cannot be taken back */
            k->http.sink = SINK_FD;
            k->sink_in_place = true;
            k->http.sink_pipe = true;
        } else if (req->sink.file_path) {
            k->sink_path = cos_download_target(req->sink.file_path); /* through a symlink, which stays */
            if (!k->sink_path) {
                rc = cos_err_io(err, errno, "cannot resolve", req->sink.file_path);
                goto fail;
            }
            int wp = cos_target_write_protected(k->sink_path);
            if (wp) { /* never replaced behind its protection */
                rc = cos_err_io(err, wp, "cannot write", k->sink_path);
                goto fail;
            }
            cos_sweep_stale_temporaries(k->sink_path); /* those of a download killed with -9 */
            k->sink_tmp = cos_sprintf("%s.cos-tmp-XXXXXX", k->sink_path);
            int fd = k->sink_tmp ? mkostemp(k->sink_tmp, O_CLOEXEC) : -1; /* no child process inherits it */
            cos_lock_temporary(fd); /* live: never swept */
            if (fd < 0) {
                rc = cos_err_io(err, errno, "cannot create", req->sink.file_path);
                free(k->sink_tmp);
                k->sink_tmp = NULL;
                goto fail;
            }
            k->http.sink = SINK_FD;
            k->http.sink_fd = fd;
        } else if (req->sink.write) {
            k->http.sink = SINK_CB;
            k->http.wr = req->sink.write;
            k->http.wr_ud = req->sink.write_user_data;
        }
    }
    if (c->cfg.signer == COS_SIGNER_SIGV4 && (rc = s3_dialect_headers(&k->headers, OP_NAMES[op], err))) goto fail;
    *out = k;
    return 0;
nomem:
    rc = cos_err_set(err, COS_ERR_NOMEM, "out of memory");
fail:
    call_free(k);
    return rc;
}

/* Obtain credentials and sign; sets the final headers of the HTTP request. */
/* before_send's view of a call (config.h). */
struct cos_outgoing {
    op_call *k;
};
const char *cos_outgoing_method(const cos_outgoing *o) { return o->k->method; }
const char *cos_outgoing_url(const cos_outgoing *o) { return o->k->http.url; }
const char *cos_outgoing_op(const cos_outgoing *o) { return OP_NAMES[o->k->op]; }
int cos_outgoing_set_header(cos_outgoing *o, const char *name, const char *value)
{
    if (!value || check_header(name, value, NULL)) return COS_ERR_INVALID_ARG;
    return cos_kvlist_set(&o->k->headers, name, value);
}

static int call_sign(op_call *k, cos_error **err)
{
    cos_client *c = k->c;
    if (c->cfg.before_send) {
        cos_outgoing o = { k };
        if (c->cfg.before_send(c->cfg.before_send_user_data, &o) != 0)
            return cos_err_set(err, COS_ERR_CANCELED, "%s %s refused by before_send", k->method, OP_NAMES[k->op]);
    }
    cos_kvlist_free(&k->http.headers);
    for (size_t i = 0; i < k->headers.count; i++) {
        /* without the spaces and tabs around it, which are no part of a field
           value (RFC 9110 5.5): a server reads it so and checks the signature
           against that, and " v" signed as sent was a 403 */
        const char *v = k->headers.items[i].value;
        size_t vl = strlen(v);
        while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t')) vl--;
        while (vl && (*v == ' ' || *v == '\t')) v++, vl--;
        const char *n = k->headers.items[i].name;
        cos_kvlist_addn(&k->http.headers, n, strlen(n), v, vl);
    }
    /* a retry says so, as the official SDKs do (signed, as cos-js/wx-sdk-v5 sign it; a COS-only header,
       so not in the S3 dialect, and a form carries no headers) */
    if (k->retries > 0 && c->cfg.signer != COS_SIGNER_SIGV4 && !(k->def->flags & F_FORM))
        cos_kvlist_set(&k->http.headers, "x-cos-sdk-retry", "true");
    /* before_send may have added x-cos-* names */
    if (c->cfg.signer == COS_SIGNER_SIGV4 && s3_dialect_headers(&k->http.headers, OP_NAMES[k->op], err)) return COS_ERR_INVALID_ARG;
    /* Host as the URL has it, so the signature covers what is sent */
    const char *h = strstr(k->http.url, "://");
    h = h ? h + 3 : k->http.url;
    size_t hl = strcspn(h, "/?");
    char *host = cos_strndup(h, hl);

    cos_scope scope = { k->def->cam, k->bucket ? k->bucket : "", k->region ? k->region : "", k->key ? k->key : "" };
    cos_auth_request ar = { k->method, k->bucket ? k->bucket : "", k->region ? k->region : "", k->key ? k->key : "",
                            k->pathname, k->query.items, k->query.count, k->http.headers.items, k->http.headers.count,
                            &scope, 1, atomic_load(&c->clock_offset_ms) };
    cos_cred cr;
    const cred_origin *outer = cred_origin_enter(&k->origin);
    int rc = cred_get(c, &ar, &cr, err);
    cred_origin_leave(outer);
    if (rc == 0) { /* what goes into a header line of its own (the key id inside the Authorization) */
        const char *bad = !cos_header_value_ok(cr.secret_id ? cr.secret_id : "") ? "key id"
                          : !cos_header_value_ok(cr.token ? cr.token : "") ? "security token"
                          : !cos_header_value_ok(cr.authorization ? cr.authorization : "") ? "Authorization" : NULL;
        if (bad) {
            cred_clear(&cr);
            rc = cos_err_set(err, COS_ERR_AUTH, "the credentials' %s has a control character (a line break would "
                             "start another header): not sent", bad);
        }
    }
    if (rc) {
        free(host);
        return rc;
    }
    if (cr.authorization && c->cfg.signer == COS_SIGNER_SIGV4) { /* a COS signature: every S3 store answers 403 */
        free(host);
        cred_clear(&cr);
        return cos_err_set(err, COS_ERR_AUTH, "the credential callback returned a ready Authorization, which is a COS "
                                              "signature; the S3 dialect signs with SigV4 and needs keys "
                                              "(cos_credentials_set), docs/s3.md");
    }
    char *auth = NULL;
    k->server_signed = cr.authorization != NULL;
    if (cr.authorization) {
        auth = cos_strdup(cr.authorization);
    } else if (c->cfg.signer == COS_SIGNER_SIGV4) {
        cos_kvlist_set(&k->http.headers, "host", host);
        cos_sigv4_params p = { COS_SIGV4_PARAMS_VERSION, cr.secret_id, cr.secret_key, cr.token,
                               k->region ? k->region : "us-east-1", "s3", k->method, NULL, k->query.items,
                               k->query.count, k->http.headers.items, k->http.headers.count, "UNSIGNED-PAYLOAD",
                               client_now_s(c) };
        /* the path as sent */
        const char *path = h + hl;
        size_t plen = strcspn(path, "?");
        char *epath = cos_strndup(path, plen);
        p.encoded_path = *epath ? epath : "/";
        cos_sigv4_result r;
        rc = cos_sigv4_sign(&p, &r, err);
        free(epath);
        cos_kvlist_remove(&k->http.headers, "host");
        if (rc == 0) {
            auth = r.authorization;
            r.authorization = NULL;
            cos_kvlist_set(&k->http.headers, "x-amz-date", r.amz_date);
            cos_kvlist_set(&k->http.headers, "x-amz-content-sha256", r.content_sha256);
            if (cr.token) cos_kvlist_set(&k->http.headers, "x-amz-security-token", cr.token);
            cos_sigv4_result_free(&r);
        }
    } else {
        cos_sign_params p = COS_SIGN_PARAMS_INIT;
        p.secret_id = cr.secret_id;
        p.secret_key = cr.secret_key;
        p.method = k->method;
        p.pathname = (k->def->flags & F_FORM) ? "/" : k->pathname;
        p.query = (k->def->flags & F_FORM) ? NULL : k->query.items;
        p.query_count = (k->def->flags & F_FORM) ? 0 : k->query.count;
        p.headers = k->http.headers.items;
        p.header_count = k->http.headers.count;
        p.host = host;
        p.no_sign_host = c->cfg.no_sign_host;
        int64_t now = client_now_s(c);
        if (cr.start_time && cr.expired_time) { /* a temporary key signs with its own window */
            p.start_time = cr.start_time;
            p.end_time = cr.expired_time;
        } else {
            p.start_time = now - 1;
            p.end_time = now - 1 + (c->cfg.sign_expires ? c->cfg.sign_expires : 900);
        }
        rc = cos_sign(&p, &auth, NULL, err);
    }
    if (rc == 0 && (k->def->flags & F_FORM)) {
        /* postObject: the signature and object headers travel as form fields */
        const char *fields[][2] = { { "key", k->key }, { "success_action_status", "200" }, { "Signature", auth },
                                    { "x-cos-security-token", cr.token } };
        size_t n = 0;
        for (size_t i = 0; i < k->http.form_count; i++) { /* a retry signs anew: drop the last attempt's fields */
            free(k->http.form[i].name);
            free(k->http.form[i].value);
        }
        free(k->http.form);
        k->http.form_count = 0;
        k->http.form = calloc(4 + k->headers.count, sizeof *k->http.form);
        for (size_t i = 0; i < 4; i++) {
            if (!fields[i][1]) continue;
            k->http.form[n].name = cos_strdup(fields[i][0]);
            k->http.form[n++].value = cos_strdup(fields[i][1]);
        }
        for (size_t i = 0; i < k->headers.count; i++) {
            const char *name = k->headers.items[i].name;
            k->http.form[n].name = cos_streq_ci(name, "x-cos-acl") || cos_streq_ci(name, "x-amz-acl") ? cos_strdup("acl") : cos_strdup(name);
            k->http.form[n++].value = cos_strdup(k->headers.items[i].value);
        }
        k->http.form_count = n;
        cos_kvlist_free(&k->http.headers);
    } else if (rc == 0) {
        cos_kvlist_set(&k->http.headers, "Authorization", auth);
        if (cr.token && c->cfg.signer != COS_SIGNER_SIGV4) cos_kvlist_set(&k->http.headers, "x-cos-security-token", cr.token);
    }
    free(auth);
    free(host);
    cred_clear(&cr);
    return rc;
}

/* COS answers with x-cos-request-id, S3-compatible stores with x-amz-request-id */
static const char *resp_request_id(const cos_http *h)
{
    const char *id = cos_kvlist_get(&h->resp_headers, "x-cos-request-id");
    return id ? id : cos_kvlist_get(&h->resp_headers, "x-amz-request-id");
}

typedef enum { STEP_DONE, STEP_RETRY } step_result;

static bool is_retryable_curl(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_CONNECT: case CURLE_SEND_ERROR: case CURLE_RECV_ERROR: case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE: case CURLE_OPERATION_TIMEDOUT: case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_SSL_CONNECT_ERROR: case CURLE_HTTP2: case CURLE_HTTP2_STREAM:
        return true;
    default:
        return false;
    }
}

static int max_retries(const cos_client *c)
{
    return c->cfg.max_retries < 0 ? 0 : c->cfg.max_retries ? c->cfg.max_retries : 3;
}

/* No attempt starts once this much time has passed since the first: retries
 * are bounded on the whole, not only in number. */
#define RETRY_WINDOW_MS 120000

static bool can_retry(op_call *k)
{
    if (!k->repeatable || k->retries >= max_retries(k->c)) return false;
    if ((k->http.sink == SINK_CB || k->sink_in_place) && k->http.received > 0) return false; /* bytes already handed out */
    if (cos_mono_ms() - k->t0_ms > RETRY_WINDOW_MS) return false;
    /* A stall (no progress for the stall time) is tried once more, not
       max_retries times: a server that stops after the headers fails a call
       within two stall times. */
    if (k->http.curl_rc == CURLE_OPERATION_TIMEDOUT && k->stalls > 1) return false;
    return true;
}

/* The text of <name>...</name> in an error body that is no well-formed
 * XML (a store that echoes a key's control characters or non-UTF-8 bytes
 * in <Resource>), the five entities and &#13; undone; NULL if absent. */
static char *loose_element(const char *body, size_t len, const char *name)
{
    char open[32], close[32];
    snprintf(open, sizeof open, "<%s>", name);
    snprintf(close, sizeof close, "</%s>", name);
    const char *a = memmem(body, len, open, strlen(open));
    if (!a) return NULL;
    a += strlen(open);
    const char *b = memmem(a, len - (size_t)(a - body), close, strlen(close));
    if (!b || b - a > 4096) return NULL;
    char *out = malloc((size_t)(b - a) + 1);
    if (!out) return NULL;
    static const char *const ENT[][2] = { { "&amp;", "&" }, { "&lt;", "<" }, { "&gt;", ">" }, { "&quot;", "\"" },
                                          { "&apos;", "'" }, { "&#13;", "\r" } };
    size_t o = 0;
    for (const char *p = a; p < b;) {
        size_t i = 0;
        while (i < sizeof ENT / sizeof *ENT && strncmp(p, ENT[i][0], strlen(ENT[i][0])) != 0) i++;
        if (i < sizeof ENT / sizeof *ENT) {
            out[o++] = ENT[i][1][0];
            p += strlen(ENT[i][0]);
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
    return out;
}

static cos_error *server_error(op_call *k)
{
    cos_http *h = &k->http;
    cos_error *e = cos_error_new(COS_ERR_SERVER, NULL);
    if (!e) return NULL;
    e->http_status = (int)h->status;
    if (cos_xml_parse_error(h->resp_body.data, h->resp_body.len, e) != 0) {
        /* an <Error> document that is no XML still says what went wrong */
        const char *body = h->resp_body.data;
        size_t blen = h->resp_body.len;
        char *code = body && memmem(body, blen, "<Error>", 7) ? loose_element(body, blen, "Code") : NULL;
        char *msg = code ? loose_element(body, blen, "Message") : NULL;
        free(e->message);
        free(e->code);
        e->code = code;
        e->message = code ? cos_sprintf("%s (HTTP %ld from %s %s; its error body is not well-formed XML)",
                                        msg ? msg : code, h->status, k->method, k->def->cam)
                          : cos_sprintf("HTTP %ld from %s %s with no COS error body", h->status, k->method,
                                        k->def->cam);
        free(msg);
    }
    if (!e->message) e->message = cos_strdup(e->code ? e->code : "server error");
    if (!e->request_id) e->request_id = cos_strdup(resp_request_id(h));
    if (!e->trace_id) e->trace_id = cos_strdup(cos_kvlist_get(&h->resp_headers, "x-amz-id-2")); /* S3's host id */
    if (!e->code) {
        const char *c = h->status == 404 ? (k->key ? "NoSuchKey" : "NoSuchBucket") : h->status == 403 ? "AccessDenied"
                        : h->status == 409 ? "Conflict" : h->status == 412 ? "PreconditionFailed" : NULL;
        if (c) e->code = cos_strdup(c);
    }
    return e;
}

static void set_error(op_call *k, cos_error *e)
{
    cos_error_free(k->err);
    k->err = e;
    k->rc = e ? (int)e->kind : COS_ERR_NOMEM;
    if (e) e->retries = k->retries;
}

/* Every cos_result is one of these, so a result can own strings it does not
 * find in its headers (cos_result_free knows). */
typedef struct result_box {
    cos_result pub;
    char *location;
} result_box;

/* The object's URL as the official SDK reports it in Location: the host and
 * path, without the scheme ("bucket-appid.cos.region.myqcloud.com/key"). */
static char *object_location(op_call *k)
{
    if (k->op == COS_OP_PUT_OBJECT && !k->switched && k->query.count == 0) { /* the URL sent, without its scheme */
        const char *s = strstr(k->http.url, "://");
        if (s) return cos_strdup(s + 3);
    }
    char *url = NULL, *path = NULL;
    if (cos_url_build(&k->c->ep, k->bucket, k->region, k->key, NULL, 0, &url, &path) != 0) return NULL;
    free(path);
    const char *s = url ? strstr(url, "://") : NULL;
    char *loc = s ? cos_strdup(s + 3) : NULL;
    free(url);
    return loc;
}

static int build_result(op_call *k)
{
    cos_http *h = &k->http;
    result_box *box = calloc(1, sizeof *box);
    if (!box) return COS_ERR_NOMEM;
    cos_result *r = &box->pub;
    k->res = r;
    r->http_status = (int)h->status;
    r->retries = k->retries;
    r->headers = h->resp_headers.items;
    r->header_count = h->resp_headers.count;
    h->resp_headers.items = NULL;
    h->resp_headers.count = h->resp_headers.cap = 0;
    /* The headers a result names, in one pass (the first of each name, as
       cos_kv_find would give): eight lookups each over every header cost
       more than the rest of this function. */
    enum { RID_COS, RID_AMZ, ETAG, VER_COS, VER_AMZ, LOC, CRC, CLEN, NWANT };
    static const char *const want[NWANT] = { "x-cos-request-id", "x-amz-request-id", "ETag", "x-cos-version-id",
                                             "x-amz-version-id", "Location", "x-cos-hash-crc64ecma", "Content-Length" };
    static const size_t want_len[NWANT] = { 16, 16, 4, 16, 16, 8, 20, 14 };
    const char *got[NWANT] = { 0 };
    for (size_t i = 0; i < r->header_count; i++) {
        size_t nl = strlen(r->headers[i].name);
        for (int w = 0; w < NWANT; w++)
            if (!got[w] && nl == want_len[w] && cos_streq_ci(r->headers[i].name, want[w])) {
                got[w] = r->headers[i].value;
                break;
            }
    }
    r->request_id = got[RID_COS] ? got[RID_COS] : got[RID_AMZ];
    r->etag = got[ETAG];
    r->version_id = got[VER_COS] ? got[VER_COS] : got[VER_AMZ];
    r->location = got[LOC];
    if (!r->location && h->status < 300 && k->key &&
        (k->op == COS_OP_PUT_OBJECT || k->op == COS_OP_POST_OBJECT || k->op == COS_OP_APPEND_OBJECT ||
         k->op == COS_OP_MULTIPART_COMPLETE)) {
        box->location = object_location(k);
        r->location = box->location;
    }
    r->has_crc64 = got[CRC] && k->c->cfg.dialect != COS_DIALECT_S3 && cos_parse_u64(got[CRC], &r->crc64) == 0;
    if (got[CLEN]) cos_parse_u64(got[CLEN], &r->content_length);
    if (h->sink == SINK_MEM && h->resp_body.data) {
        r->body_size = h->resp_body.len;
        r->body = (unsigned char *)cos_buf_detach(&h->resp_body);
    }
    return 0;
}

/* Without a CRC-64 in a successful answer, the ETag (a body's MD5 when it
 * is a plain 32-hex one) is checked against what was received or sent. NULL
 * when it matches or cannot be checked. */
static cos_error *check_md5(op_call *k)
{
    cos_http *h = &k->http;
    unsigned char d[16];
    bool have = false, upload = false;
    if (h->md5_recv && h->status == 200) {
        cos_md5_final(h->md5_recv, d);
        cos_md5_free(h->md5_recv);
        h->md5_recv = NULL;
        have = true;
    } else if ((k->def->flags & F_CRC_UP) && h->body != BODY_NONE) { /* a form's file part is hashed alone */
        upload = true;
        atomic_store(&k->c->lacks_crc, 1); /* from now on, hash uploads as they go */
        if (!http_etag_is_md5(h->resp_headers.items, h->resp_headers.count)) return NULL;
        if (h->md5_sent) {
            cos_md5_final(h->md5_sent, d);
            cos_md5_free(h->md5_sent);
            h->md5_sent = NULL;
            have = true;
        } else if (h->body == BODY_MEM) {
            cos_md5_digest(h->mem, h->mem_len, d);
            have = true;
        } else if (h->body == BODY_FILE) {
            have = md5_of_fd(h->fd, h->file_off, h->file_len, d) == 0;
        }
    }
    if (!have) return NULL;
    const char *etag = cos_kvlist_get(&h->resp_headers, "ETag");
    if (http_etag_matches(etag, d)) return NULL;
    cos_error *e = cos_error_new(COS_ERR_INTEGRITY, NULL);
    if (e) {
        char hex[33];
        cos_hex_encode(d, 16, hex);
        free(e->message);
        e->message = cos_sprintf("MD5 mismatch on %s %s (no CRC-64 in the answer): %s %s, the ETag says %s", k->method,
                                 k->def->cam, upload ? "sent" : "received", hex, etag ? etag : "(none)");
        e->http_status = (int)h->status;
        e->request_id = cos_strdup(resp_request_id(h));
    }
    return e;
}

/* AutoSwitchHost (the official SDK's canSwitchHost): a request to a COS
 * host BUCKET.cos.REGION.myqcloud.com (not the accelerate one) signed here
 * moves to BUCKET.cos.REGION.tencentcos.cn, once. */
static bool switch_host(op_call *k)
{
    if (!k->c->cfg.auto_switch_host || k->switched || k->server_signed) return false;
    char *url = k->http.url;
    const char *h = strstr(url, "://");
    if (!h) return false;
    h += 3;
    size_t hl = strcspn(h, "/?");
    static const char from[] = ".myqcloud.com";
    size_t fl = sizeof from - 1;
    char *host = cos_strndup(h, hl);
    bool ok = host && hl > fl && strcmp(host + hl - fl, from) == 0 && strstr(host, ".cos.") &&
              !strstr(host, ".cos.accelerate.");
    free(host);
    if (!ok) return false;
    char *n = cos_sprintf("%.*s.tencentcos.cn%s", (int)(h + hl - fl - url), url, h + hl);
    if (!n) return false;
    free(k->http.url);
    k->http.url = n;
    k->switched = true;
    client_log(k->c, COS_LOG_WARN, "%s %s: retrying at the backup domain", k->method, OP_NAMES[k->op]);
    return true;
}

/* A file body that changed while it was sent: the object would not be the
 * file (a whole-file body that changed size, or was written to in place at
 * the same size: the server stored a mix of old and new bytes that the
 * CRC-64 of what was sent cannot tell apart), or the range could not be
 * read. A range's own file (a part of a multipart upload) may be written
 * elsewhere; transfer.c checks the whole file's time for those. */
static cos_error *file_body_changed(op_call *k)
{
    if (k->http.body != BODY_FILE) return NULL;
    struct stat st;
    if (fstat(k->body_fd, &st) != 0) return NULL;
    uint64_t now = (uint64_t)st.st_size;
    bool resized = k->body_whole_file ? now != k->body_file_size : now < k->http.file_off + k->http.file_len;
    /* the change time too: a writer that puts the modification time back
       (touch -d, futimens, rsync -t, tar) cannot put it back */
    bool rewritten = k->body_whole_file && (st.st_mtim.tv_sec != k->body_file_mtime.tv_sec ||
                                            st.st_mtim.tv_nsec != k->body_file_mtime.tv_nsec ||
                                            st.st_ctim.tv_sec != k->body_file_ctime.tv_sec ||
                                            st.st_ctim.tv_nsec != k->body_file_ctime.tv_nsec);
    if (!resized && !rewritten) return NULL;
    cos_error *e = cos_error_new(COS_ERR_IO, NULL);
    if (!e) return NULL;
    free(e->message);
    e->message = resized ? cos_sprintf("%s %s: the file body changed size while it was sent (%llu bytes, now %llu)",
                                       k->method, k->def->cam, (unsigned long long)k->body_file_size,
                                       (unsigned long long)now)
                         : cos_sprintf("%s %s: the file body was written to while it was sent (its modification "
                                       "or change time changed): what was sent may mix old and new bytes; send it again",
                                       k->method, k->def->cam);
    e->field = cos_strdup("body.file_path");
    return e;
}

/* An error to a retry of an operation that acts once: an earlier attempt
 * whose answer was lost (or a 5xx) may have been carried out, and COS's
 * guard (the append's position, the upload id) then refuses the retry. The
 * official SDKs retry these too; the error must not read as "nothing
 * happened". */
/* Whether a 200's body is an <Error> document: S3 answers a Complete (or a
 * copy) that fails after the status line went out with 200 and an error
 * body, after whitespace that kept the connection alive, with or without a
 * namespace on <Error>. */
static bool body_is_error(const char *b, size_t n)
{
    if (!b) return false;
    const char *p = b, *end = b + n;
    for (;;) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) p++;
        if (end - p < 2 || p[0] != '<' || (p[1] != '?' && p[1] != '!')) break;
        const char *gt = memchr(p, '>', (size_t)(end - p)); /* a declaration or comment */
        if (!gt) return false;
        p = gt + 1;
    }
    if (end - p > 6 && !memcmp(p, "<Error", 6) &&
        (p[6] == '>' || p[6] == ' ' || p[6] == '\t' || p[6] == '\r' || p[6] == '\n' || p[6] == '/'))
        return true;
    return memmem(b, n, "<Error>", 7) != NULL;
}

static bool body_is_blank(const char *b, size_t n)
{
    for (size_t i = 0; b && i < n; i++)
        if (b[i] != ' ' && b[i] != '\t' && b[i] != '\r' && b[i] != '\n') return false;
    return true;
}

static void note_earlier_attempt(op_call *k, cos_error *e)
{
    if (!e || !e->code || k->retries == 0) return;
    const char *what = NULL;
    if (k->op == COS_OP_APPEND_OBJECT && !strcmp(e->code, "PositionNotEqualToLength"))
        what = "appended the data: check the object's length before appending again";
    else if (k->op == COS_OP_MULTIPART_COMPLETE && !strcmp(e->code, "NoSuchUpload"))
        what = "completed the upload: check whether the object exists";
    if (!what) return;
    char *m = cos_sprintf("%s (on retry %d: an earlier attempt that got no answer may have %s)",
                          e->message ? e->message : e->code, k->retries, what);
    if (m) {
        free(e->message);
        e->message = m;
    }
}

/* ------------------------------------------------------------------ appendObject's CRC-64 */

/* COS answers an append with the CRC-64 of the whole object after it. At
 * position 0 that is the data's; later it is crc(before) combined with the
 * data's, checkable when the object's CRC before is known: from the caller
 * (append_base_crc64) or from what this client's own last append to the
 * object was answered with, at this very length. */
static char *append_memo_id(const op_call *k) { return cos_sprintf("%s/%s", k->bucket ? k->bucket : "", k->key ? k->key : ""); }

static bool append_memo_get(cos_client *c, const char *id, uint64_t length, uint64_t *crc)
{
    bool hit = false;
    pthread_mutex_lock(&c->append_lock);
    for (int i = 0; i < APPEND_MEMO_SLOTS; i++) {
        struct append_memo *m = &c->append_memo[i];
        if (m->id && !strcmp(m->id, id)) {
            hit = m->length == length;
            *crc = m->crc64;
            m->used = ++c->append_clock;
            break;
        }
    }
    pthread_mutex_unlock(&c->append_lock);
    return hit;
}

/* Remember (keep) or forget (!keep) what an append to id was answered with. */
static void append_memo_put(cos_client *c, char *id, bool keep, uint64_t length, uint64_t crc)
{
    pthread_mutex_lock(&c->append_lock);
    struct append_memo *slot = NULL, *oldest = NULL;
    for (int i = 0; i < APPEND_MEMO_SLOTS && !slot; i++) {
        struct append_memo *m = &c->append_memo[i];
        if (m->id && !strcmp(m->id, id)) slot = m;
        else if (!oldest || !m->id || (oldest->id && m->used < oldest->used)) oldest = m;
    }
    if (!slot && keep) slot = oldest; /* the least recently used makes room */
    if (slot) {
        free(slot->id);
        slot->id = keep ? id : NULL;
        if (keep) id = NULL;
        slot->length = length;
        slot->crc64 = crc;
        slot->used = ++c->append_clock;
    }
    pthread_mutex_unlock(&c->append_lock);
    free(id);
}

void append_memo_clear(cos_client *c)
{
    for (int i = 0; i < APPEND_MEMO_SLOTS; i++) {
        free(c->append_memo[i].id);
        c->append_memo[i].id = NULL;
    }
}

/* The object read back from its start: the CRC-64 of the bytes before the
 * append's position and of those from it on, apart. */
typedef struct crc_sink {
    uint64_t pos, off, head, tail;
} crc_sink;

static int crc_sink_write(void *ud, const void *buf, size_t len)
{
    crc_sink *s = ud;
    const char *p = buf;
    size_t n = s->off < s->pos ? (size_t)COS_MIN((uint64_t)len, s->pos - s->off) : 0;
    s->head = cos_crc64(s->head, p, n);
    s->tail = cos_crc64(s->tail, p + n, len - n);
    s->off += len;
    return 0;
}

/* Whether the object, read back up to the end of this append, is one the
 * server's CRC-64 describes and ends with exactly the bytes sent: then the
 * CRC remembered was another object's (replaced since), not damage. A
 * store that lies about the CRC, or lost or changed the bytes, fails it. */
static bool append_reads_back(op_call *k, uint64_t sent, uint64_t crc_sent, uint64_t answered)
{
    char range[64];
    snprintf(range, sizeof range, "bytes=0-%llu", (unsigned long long)(k->append_pos + sent - 1));
    crc_sink s = { k->append_pos, 0, 0, 0 };
    cos_request r = COS_REQUEST_INIT;
    r.bucket = k->bucket;
    r.region = k->region;
    r.key = k->key;
    r.range = range;
    r.sink.write = crc_sink_write;
    r.sink.write_user_data = &s;
    cos_result *res = NULL;
    cos_error *e = NULL;
    workers_block_begin(); /* an async append's check runs on a worker: the pool must not wait for it */
    int rc = cos_call(k->c, COS_OP_GET_OBJECT, &r, &res, &e);
    workers_block_end();
    bool same = rc == 0 && res && (res->http_status == 206 || res->http_status == 200) &&
                s.off == k->append_pos + sent && s.tail == crc_sent &&
                cos_crc64_combine(s.head, s.tail, sent) == answered;
    cos_result_free(res);
    cos_error_free(e);
    return same;
}

static cos_error *check_append(op_call *k, bool has_crc, uint64_t answered)
{
    cos_http *h = &k->http;
    char *id = append_memo_id(k);
    if (!id) return NULL;
    uint64_t base = k->append_base;
    bool memo = false, known = k->append_pos == 0 || k->append_base_known ||
                             (memo = append_memo_get(k->c, id, k->append_pos, &base));
    if (!has_crc) { /* nothing to check, nothing to remember */
        append_memo_put(k->c, id, false, 0, 0);
        return NULL;
    }
    uint64_t sent = h->inline_body ? h->mem_len : h->sent; /* what crc_sent covers */
    uint64_t want = k->append_pos == 0 ? h->crc_sent : cos_crc64_combine(base, h->crc_sent, sent);
    /* A remembered CRC goes stale when another writer replaced the object
       with one of the same length since this client's last append: the
       server's CRC is then another object's, not damage (it failed the
       append with COS_ERR_INTEGRITY). Only on a mismatch against memory,
       not against the caller's word, the object is read back to tell. */
    if (want != answered && memo && sent > 0 && append_reads_back(k, sent, h->crc_sent, answered)) {
        client_log(k->c, COS_LOG_INFO, "%s %s at position %llu: the object was replaced since this client's last "
                   "append to it (its CRC-64 was not the one remembered); read back, it is the one the server's "
                   "CRC-64 describes, ending with the bytes sent", k->method, k->def->cam,
                   (unsigned long long)k->append_pos);
        known = false;
    }
    if (!known || want == answered) {
        append_memo_put(k->c, id, true, k->append_pos + sent, answered);
        return NULL;
    }
    append_memo_put(k->c, id, false, 0, 0);
    cos_error *e = cos_error_new(COS_ERR_INTEGRITY, NULL);
    if (e) {
        free(e->message);
        e->message = k->append_pos == 0
            ? cos_sprintf("CRC-64 mismatch on %s %s at position 0: sent data with CRC-64 %llu, the server says the "
                          "object's is %llu", k->method, k->def->cam, (unsigned long long)want, (unsigned long long)answered)
            : cos_sprintf("CRC-64 mismatch on %s %s at position %llu: the object's CRC-64 before was %llu (%s) and "
                          "the %llu bytes sent have %llu, so it should be %llu; the server says %llu (the data was "
                          "appended: the object is not what this append expected)",
                          k->method, k->def->cam, (unsigned long long)k->append_pos, (unsigned long long)base,
                          k->append_base_known ? "append_base_crc64" : "this client's last append to it",
                          (unsigned long long)sent, (unsigned long long)h->crc_sent, (unsigned long long)want,
                          (unsigned long long)answered);
        e->http_status = (int)h->status;
        e->request_id = cos_strdup(resp_request_id(h));
    }
    return e;
}

/* Look at a finished exchange: a result, an error, or another try. */
static step_result call_finish(op_call *k)
{
    cos_client *c = k->c;
    cos_http *h = &k->http;
    k->attempts++;
    cos_error *changed = file_body_changed(k);
    if (!changed && h->cb_wrong && (changed = cos_error_new(COS_ERR_IO, NULL))) {
        free(changed->message);
        changed->message = h->cb_wrong == 1
            ? cos_sprintf("%s %s: the body's read callback ended after %llu of its %lld bytes (body.length)", k->method,
                          k->def->cam, (unsigned long long)h->pos, (long long)h->cb_len)
            : cos_sprintf("%s %s: the body's read callback returned more bytes than it was asked for", k->method, k->def->cam);
        changed->field = cos_strdup("body.read");
    }
    if (changed) { /* whatever the server said, what it got was not the file */
        set_error(k, changed);
        return STEP_DONE;
    }
    if (h->curl_rc == CURLE_OPERATION_TIMEDOUT) k->stalls++;
    if (h->too_large) {
        bool err_body = h->status >= 300;
        cos_error *e = cos_error_new(err_body ? COS_ERR_SERVER : COS_ERR_PARSE, NULL);
        if (e) {
            free(e->message);
            e->message = err_body ? cos_sprintf("HTTP %ld from %s %s with an error body over %u MiB (not read further)",
                                                h->status, k->method, k->def->cam, ENGINE_ERR_CAP >> 20)
                                  : cos_sprintf("the answer to %s %s is over %u MiB, the most libcos keeps in memory",
                                                k->method, k->def->cam,
                                                (unsigned)(h->mem_cap >> 20));
            e->http_status = (int)h->status;
            e->request_id = cos_strdup(resp_request_id(h));
        }
        if (err_body && h->status >= 500 && can_retry(k)) {
            cos_error_free(e);
            return STEP_RETRY;
        }
        set_error(k, e);
        return STEP_DONE;
    }
    if (h->curl_rc != CURLE_OK) {
        if (h->curl_rc == CURLE_ABORTED_BY_CALLBACK && h->cancel && *h->cancel) {
            set_error(k, cos_error_new(COS_ERR_CANCELED, "canceled"));
            return STEP_DONE;
        }
        if (h->write_failed) {
            cos_error *e = cos_error_new(COS_ERR_IO, NULL);
            if (e) {
                free(e->message);
                bool whole = !h->write_errno && h->status == 200 && cos_kvlist_get(&k->headers, "Range");
                e->message = whole ? cos_sprintf("%s %s: the server answered a ranged GET (Range: %s) with the whole "
                                                 "object (HTTP 200), more than was asked for", k->method, k->def->cam,
                                                 cos_kvlist_get(&k->headers, "Range"))
                                   : h->write_errno == EPIPE
                                   ? cos_sprintf("cannot write the response body to %s: its reader went away (%s)",
                                                 k->sink_in_place ? "the FIFO" : "the sink", strerror(EPIPE))
                                   : cos_sprintf("cannot write the response body%s%s", h->write_errno ? ": " : "",
                                                 h->write_errno ? strerror(h->write_errno) : " (the sink refused it)");
                e->os_errno = h->write_errno;
            }
            set_error(k, e);
            return STEP_DONE;
        }
        if (h->curl_rc == CURLE_OUT_OF_MEMORY && h->status > 0 && !h->headers_done) {
            /* curl refuses a header line over its 100 KiB limit as "out of memory": say what it was */
            cos_error *e = cos_error_new(COS_ERR_NETWORK, NULL);
            if (e) {
                free(e->message);
                e->message = cos_sprintf("%s %s: a header line of the answer (HTTP %ld) is over 100 KiB; not read further",
                                         k->method, k->def->cam, h->status);
                e->http_status = (int)h->status;
            }
            set_error(k, e);
            return STEP_DONE;
        }
        if (is_retryable_curl(h->curl_rc) && can_retry(k)) {
            switch_host(k);
            return STEP_RETRY;
        }
        bool timeout = h->curl_rc == CURLE_OPERATION_TIMEDOUT;
        cos_error *e = cos_error_new(timeout ? COS_ERR_TIMEOUT : COS_ERR_NETWORK, NULL);
        if (e) {
            free(e->message);
            e->message = cos_sprintf("%s %s: %s", k->method, k->def->cam,
                                     h->errbuf[0] ? h->errbuf : curl_easy_strerror(h->curl_rc));
        }
        set_error(k, e);
        return STEP_DONE;
    }
    bool err200 = (k->def->flags & F_ERR200) && h->status == 200 && body_is_error(h->resp_body.data, h->resp_body.len);
    if ((k->def->flags & F_ERR200) && h->status == 200 && h->sink == SINK_MEM &&
        body_is_blank(h->resp_body.data, h->resp_body.len)) {
        /* no result and no error: whether it took effect is unknown (a retried
           Complete that finds no upload says an earlier attempt may have done it) */
        if (can_retry(k)) return STEP_RETRY;
        cos_error *e = cos_error_new(COS_ERR_PARSE, NULL);
        if (e) {
            free(e->message);
            e->message = cos_sprintf("%s %s answered HTTP 200 with an empty body, neither a result nor an error; "
                                     "whether it took effect is unknown", k->method, k->def->cam);
            e->http_status = 200;
            e->request_id = cos_strdup(resp_request_id(h));
        }
        set_error(k, e);
        return STEP_DONE;
    }
    if (h->status >= 300 || err200) {
        if (h->status == 304) { /* not modified: a result, not an error */
            build_result(k);
            return STEP_DONE;
        }
        cos_error *e = server_error(k);
        if (s3_checksum_refused(k, e)) {
            cos_error_free(e);
            return STEP_RETRY;
        }
        if (e && e->code && c->cfg.dialect == COS_DIALECT_S3 &&
            (strcmp(e->code, "BadDigest") == 0 || strcmp(e->code, "XAmzContentChecksumMismatch") == 0)) {
            e->kind = COS_ERR_INTEGRITY; /* the store's check of our checksum failed: damaged on the way */
            if (can_retry(k)) {
                cos_error_free(e);
                return STEP_RETRY;
            }
        }
        if (e && !c->cfg.no_clock_skew_correction && !k->skew_fixed && e->code &&
            (strcmp(e->code, "RequestTimeTooSkewed") == 0 ||
             (strcmp(e->code, "AccessDenied") == 0 && e->message && strstr(e->message, "Request has expired")))) {
            int64_t server = cos_http_date_parse(cos_kvlist_get(&h->resp_headers, "Date"));
            int64_t local_ms = cos_now_ms();
            /* The answer's Date is believed within a day of the local clock
               as the caller set it (system_clock_offset_ms): a clock set to
               local time as if UTC is up to 14 h off. The JS SDKs believe
               any Date, the C and Python SDKs none; a Date years away (a
               hostile or broken server, or a proxy on plain http) would move
               every later signature's window there, presigned URLs
               included: one handed out "for 15 minutes" would open years
               later. Beyond a day the caller sets system_clock_offset_ms. */
            bool believable = server > 0 && llabs(server * 1000 - (local_ms + c->cfg.system_clock_offset_ms)) <=
                                                24LL * 3600 * 1000;
            if (server > 0 && !believable)
                client_log(c, COS_LOG_WARN, "the server's Date is %lld s from the local clock: more than a day, not "
                           "believed (set system_clock_offset_ms to correct a clock so far off)",
                           (long long)(server - local_ms / 1000));
            if (believable && llabs(server * 1000 - (local_ms + atomic_load(&c->clock_offset_ms))) >= 30000) {
                atomic_store(&c->clock_offset_ms, server * 1000 - local_ms);
                client_log(c, COS_LOG_WARN, "clock skew of %lld ms corrected; retrying", (long long)(server * 1000 - local_ms));
                k->skew_fixed = true;
                cos_error_free(e);
                return STEP_RETRY;
            }
        }
        if (!cos_kvlist_get(&h->resp_headers, "x-cos-request-id") && can_retry(k) && switch_host(k)) {
            cos_error_free(e); /* not an answer from COS: the backup domain may do better */
            return STEP_RETRY;
        }
        if ((h->status >= 500 || err200) && can_retry(k)) {
            cos_error_free(e);
            return STEP_RETRY;
        }
        if (e && h->status >= 500 && k->retries > 0) { /* what happened, not only the last answer's words */
            char *m = cos_sprintf("%s (HTTP %ld %s, after %d retries)", e->message ? e->message : "",
                                  h->status, e->code ? e->code : "", k->retries);
            if (m) {
                free(e->message);
                e->message = m;
            }
        }
        note_earlier_attempt(k, e);
        set_error(k, e);
        return STEP_DONE;
    }
    /* success: integrity first */
    /* an S3 store cannot answer for a CRC-64/ECMA: in its dialect the MD5
       (ETag) and x-amz-checksum-* checks stand alone, whatever it sends */
    const char *crc_hdr = c->cfg.dialect == COS_DIALECT_S3 ? NULL : cos_kvlist_get(&h->resp_headers, "x-cos-hash-crc64ecma");
    uint64_t crc = 0;
    cos_error *md5_err = NULL;
    /* a header that is no number is no CRC-64: it must not switch off the MD5 check too */
    if (crc_hdr && cos_parse_u64(crc_hdr, &crc) != 0) crc_hdr = NULL;
    if (!crc_hdr) md5_err = check_md5(k);
    if (md5_err) {
        if (can_retry(k)) { /* corrupted on the way: send or fetch again */
            cos_error_free(md5_err);
            return STEP_RETRY;
        }
        set_error(k, md5_err);
        return STEP_DONE;
    }
    for (int i = 0; c->cfg.dialect == COS_DIALECT_S3 && i < 2; i++) { /* the store's x-amz-checksum-* echoes ours */
        const char *name = cos_cksum_header(i ? COS_CKSUM_CRC32C : COS_CKSUM_CRC64NVME);
        const char *mine = cos_kvlist_get(&k->headers, name), *theirs = cos_kvlist_get(&h->resp_headers, name);
        if (mine && theirs && strcmp(mine, theirs) != 0) {
            cos_error *e = cos_error_new(COS_ERR_INTEGRITY, NULL);
            if (e) {
                free(e->message);
                e->message = cos_sprintf("%s mismatch on %s %s: sent %s, the store says %s", name, k->method,
                                         k->def->cam, mine, theirs);
                e->http_status = (int)h->status;
                e->request_id = cos_strdup(resp_request_id(h));
            }
            set_error(k, e);
            return STEP_DONE;
        }
    }
    if (crc_hdr && cos_parse_u64(crc_hdr, &crc) == 0) {
        bool upload = (k->def->flags & F_CRC_UP) && h->body != BODY_NONE;
        /* only a GET's body is the object; a generic PUT's answer (a copy's XML) is not */
        bool full_download = (k->def->flags & F_SINK) && h->status == 200 && !strcmp(k->method, "GET") &&
                             !cos_kvlist_get(&k->headers, "Range") && h->received > 0;
        uint64_t mine = upload ? h->crc_sent : h->crc_received;
        if ((upload || full_download) && mine != crc) {
            cos_error *e = cos_error_new(COS_ERR_INTEGRITY, NULL);
            if (e) {
                free(e->message);
                e->message = cos_sprintf("CRC-64 mismatch on %s %s: computed %llu, server says %llu", k->method,
                                         k->def->cam, (unsigned long long)mine, (unsigned long long)crc);
                e->http_status = (int)h->status;
                e->request_id = cos_strdup(resp_request_id(h));
            }
            if (can_retry(k) && upload) { /* corrupted on the way: send again */
                cos_error_free(e);
                return STEP_RETRY;
            }
            set_error(k, e);
            return STEP_DONE;
        }
    }
    if (k->op == COS_OP_APPEND_OBJECT && h->status < 300) {
        cos_error *e = check_append(k, crc_hdr != NULL, crc);
        if (e) {
            set_error(k, e);
            return STEP_DONE;
        }
    }
    const char *body = h->resp_body.data;
    size_t blen = h->resp_body.len;
    void *parsed = NULL;
    if (k->def->out && h->sink == SINK_MEM && blen > 0) {
        cos_error *e = NULL;
        if (cos_xml_parse(k->def->out, body, blen, &parsed, &e) != 0) {
            if (e) e->http_status = (int)h->status;
            set_error(k, e);
            return STEP_DONE;
        }
    }
    if (k->sink_tmp) {
        cos_take_target_mode(h->sink_fd, k->sink_path);
        if ((c->cfg.fsync_downloads && fsync(h->sink_fd) != 0) || close(h->sink_fd) != 0 || rename(k->sink_tmp, k->sink_path) != 0) {
            h->sink_fd = -1;
            cos_error *e = NULL;
            cos_err_io(&e, errno, "cannot write", k->sink_path);
            set_error(k, e);
            if (parsed) cos_xml_free(k->def->out, parsed);
            return STEP_DONE;
        }
        h->sink_fd = -1;
        free(k->sink_tmp);
        k->sink_tmp = NULL;
    }
    if (build_result(k) != 0) {
        if (parsed) cos_xml_free(k->def->out, parsed);
        set_error(k, cos_error_new(COS_ERR_NOMEM, NULL));
        return STEP_DONE;
    }
    k->res->output.any = parsed;
    k->res->internal_schema = parsed ? k->def->out : NULL;
    if (k->op == COS_OP_MULTIPART_COMPLETE && k->res->output.complete && k->res->output.complete->location)
        k->res->location = k->res->output.complete->location; /* what the server says wins */
    k->rc = 0;
    if (h->on_progress && h->last_progress_ms != -1) { /* the 100% report curl did not make */
        uint64_t n = h->body != BODY_NONE ? h->sent : h->received;
        double secs = cos_mono_sec() - h->started_s;
        cos_progress p = { n, n, secs > 0 ? (double)n / secs : 0, 1.0 };
        h->last_progress_ms = -1;
        h->on_progress(h->progress_ud, &p);
    }
    return STEP_DONE;
}

/* Prepare the HTTP exchange for another attempt. */
static void call_rewind(op_call *k)
{
    k->retries++;
    http_reset_response(&k->http);
    if (k->http.sink == SINK_FD && !k->sink_in_place) {
        if (ftruncate(k->http.sink_fd, 0) != 0) { /* keep going: the write will fail loudly */
        }
        lseek(k->http.sink_fd, 0, SEEK_SET);
    }
    if (k->http.body == BODY_CB && k->http.seek) k->http.seek(k->http.rd_ud, 0);
}

/* Tests only (not in a header): every back-off lasts this long when >= 0,
 * and cos_client_fire_timers_for_tests ends the waits, so a test can hold
 * a retry in its back-off as long as it needs without a timed assertion. */
_Atomic int64_t cos_backoff_ms_for_tests = -1;
void cos_client_fire_timers_for_tests(cos_client *c);
void cos_client_fire_timers_for_tests(cos_client *c) { workers_fire_timers(c->workers); }

static int64_t backoff_ms(int retry)
{
    int64_t forced = atomic_load(&cos_backoff_ms_for_tests);
    if (forced >= 0) return forced;
    int64_t base = 100LL << (retry < 6 ? retry : 6); /* 100 ms, 200, 400 ... 6.4 s */
    return base / 2 + (int64_t)(((unsigned)rand() % 1000) * base / 2000);
}

static void report_metrics(op_call *k)
{
    cos_client *c = k->c;
    if (c->cfg.log && c->cfg.log_level >= COS_LOG_DEBUG)
        client_log(c, COS_LOG_DEBUG, "%s %s%s%s -> %ld (%d retries)", k->method, k->bucket ? k->bucket : "",
                   k->key ? "/" : "", k->key ? k->key : "", k->http.status, k->retries);
    if (!c->cfg.metrics) return;
    cos_request_metrics m = { k->method, OP_NAMES[k->op], k->bucket ? k->bucket : "", k->key ? k->key : "",
                              (int)k->http.status, k->http.sent, k->http.received,
                              (double)(cos_mono_ms() - k->t0_ms), k->retries, "", k->rc };
    const char *rid = k->res ? k->res->request_id : k->err ? k->err->request_id : NULL;
    m.request_id = rid ? rid : "";
    c->cfg.metrics(c->cfg.metrics_user_data, &m);
}

/* ------------------------------------------------------------------ synchronous driver */

/* The synchronous calls this thread is in (nested: a callback may make
 * one of another client): cos_client_free from their callbacks (progress,
 * sink, body, credentials, all on this thread) must not free the client
 * under them, so it is deferred until they return (client.c). */
typedef struct sync_frame {
    const cos_client *c;
    struct sync_frame *up;
} sync_frame;
static __thread sync_frame *tls_sync;

bool call_sync_on_thread(const cos_client *c)
{
    for (const sync_frame *f = tls_sync; f; f = f->up)
        if (f->c == c) return true;
    return false;
}

static int run_sync_inner(op_call *k, cos_result **out, cos_error **err)
{
    k->t0_ms = cos_mono_ms();
    for (;;) {
        cos_error *e = NULL;
        if (call_sign(k, &e) != 0) {
            set_error(k, e);
            break;
        }
        engine_perform(k->c->engine, &k->http); /* on this thread: no hop to a network thread and back */
        if (call_finish(k) == STEP_DONE) break;
        if (atomic_load(&k->c->closing)) { /* a callback freed the client: no retry */
            set_error(k, cos_error_new(COS_ERR_CANCELED, "canceled: the client is being freed"));
            break;
        }
        cos_sleep_ms(k->skew_fixed && k->retries == 0 ? 0 : backoff_ms(k->retries));
        call_rewind(k);
    }
    report_metrics(k);
    int rc = k->rc;
    if (rc == 0) {
        if (out) *out = k->res;
        else cos_result_free(k->res);
        k->res = NULL;
    } else if (err) {
        cos_error_free(*err);
        *err = k->err;
        k->err = NULL;
    }
    call_free(k);
    return rc;
}

static int run_sync(op_call *k, cos_result **out, cos_error **err)
{
    cos_client *c = k->c;
    sync_frame frame = { c, tls_sync };
    tls_sync = &frame;
    atomic_fetch_add(&c->sync_calls, 1);
    int rc = run_sync_inner(k, out, err);
    tls_sync = frame.up;
    /* the last touch of c: a deferred free waits for this (client.c) */
    if (atomic_fetch_sub(&c->sync_calls, 1) == 1) {
        pthread_mutex_lock(&c->lock);
        pthread_cond_broadcast(&c->idle);
        pthread_mutex_unlock(&c->lock);
    }
    return rc;
}

int call_sync_cancelable(cos_client *c, cos_op op, const cos_request *req, int body_fd, volatile int *cancel,
                         cos_result **out, cos_error **err)
{
    if (out) *out = NULL;
    op_call *k;
    int rc = call_prepare(c, op, req, body_fd, &k, err);
    if (rc) return rc;
    k->http.cancel = cancel;
    return run_sync(k, out, err);
}

/* ------------------------------------------------------------------ driven by the waiter (call.h) */

static void driven_http_done(cos_http *h, void *ud)
{
    (void)h;
    op_call *k = ud;
    k->notify(k->notify_ud);
}

int call_driven_start(cos_client *c, cos_op op, const cos_request *req, volatile int *cancel, void (*notify)(void *),
                      void *ud, op_call **out, cos_error **err)
{
    *out = NULL;
    op_call *k;
    int rc = call_prepare(c, op, req, -1, &k, err);
    if (rc) return rc;
    k->http.cancel = cancel;
    k->notify = notify;
    k->notify_ud = ud;
    k->t0_ms = cos_mono_ms();
    cos_error *e = NULL;
    if ((rc = call_sign(k, &e)) != 0) {
        if (err) {
            cos_error_free(*err);
            *err = e;
        } else {
            cos_error_free(e);
        }
        call_free(k);
        return rc;
    }
    *out = k;
    engine_submit(c->engine, &k->http, driven_http_done, k);
    return 0;
}

/* A driven call's retry, when its back-off is over (a worker's timer): sent
 * again, or over with the error of signing it (or a cancel that came during
 * the back-off); either way its owner hears through notify. */
static void driven_retry(void *arg)
{
    op_call *k = arg;
    call_rewind(k);
    cos_error *e = NULL;
    if ((k->http.cancel && *k->http.cancel) || atomic_load(&k->c->closing)) {
        e = cos_error_new(COS_ERR_CANCELED, "canceled during a retry's back-off");
    } else if (call_sign(k, &e) == 0) {
        engine_submit(k->c->engine, &k->http, driven_http_done, k);
        return;
    }
    set_error(k, e);
    k->driven_over = true;
    k->notify(k->notify_ud);
}

bool call_driven_step(op_call *k, int *rc, cos_result **res, cos_error **err)
{
    *res = NULL;
    *err = NULL;
    if (!k->driven_over && call_finish(k) == STEP_RETRY) {
        /* the back-off is a timer, as an async call's: the owner (a task's
           thread) goes on with its other parts, a pause or a cancel meanwhile */
        int64_t delay = k->skew_fixed && k->retries == 0 ? 0 : backoff_ms(k->retries);
        if ((k->http.cancel && *k->http.cancel) || atomic_load(&k->c->closing)) delay = 0; /* driven_retry ends it */
        client_log(k->c, COS_LOG_DEBUG, "%s %s: retry %d in %lld ms (HTTP %ld)", k->method, OP_NAMES[k->op],
                   k->retries + 1, (long long)delay, k->http.status);
        if (workers_post_after(k->c->workers, delay, driven_retry, k) == 0) return false;
        cos_sleep_ms(delay); /* out of memory for the timer: wait here */
        call_rewind(k);
        cos_error *e = NULL;
        if (call_sign(k, &e) == 0) {
            engine_submit(k->c->engine, &k->http, driven_http_done, k);
            return false;
        }
        set_error(k, e);
    }
    report_metrics(k);
    *rc = k->rc;
    if (k->rc == 0) {
        *res = k->res;
        k->res = NULL;
    } else {
        *err = k->err;
        k->err = NULL;
    }
    call_free(k);
    return true;
}

int cos_call(cos_client *client, cos_op op, const cos_request *req, cos_result **out, cos_error **err)
{
    cos_err_reset(err);
    if (out) *out = NULL;
    if (!client) return cos_err_invalid(err, "client", "NULL client");
    op_call *k;
    int rc = call_prepare(client, op, req, -1, &k, err);
    return rc ? rc : run_sync(k, out, err);
}

/* ------------------------------------------------------------------ asynchronous driver */

static void async_start(void *arg);

static void async_complete(op_call *k)
{
    report_metrics(k);
    cos_client *c = k->c;
    cos_result *res = k->rc == 0 ? k->res : NULL;
    cos_error *err = k->rc == 0 ? NULL : k->err;
    if (k->rc == 0) k->res = NULL;
    else k->err = NULL;
    int rc = k->rc;
    cos_done_fn done = k->done;
    void *ud = k->ud;
    call_free(k);
    done(ud, rc, res, err);
    /* Only the last call out takes the lock (to wake cos_client_free): the
       workers completing calls side by side no longer meet on it. Safe
       without it otherwise: the free destroys the lock only after joining
       the workers, this one included. */
    if (atomic_fetch_sub(&c->inflight, 1) == 1) {
        pthread_mutex_lock(&c->lock);
        pthread_cond_broadcast(&c->idle);
        pthread_mutex_unlock(&c->lock);
    }
}

static void async_complete_job(void *arg) { async_complete(arg); }

static void async_retry(void *arg)
{
    op_call *k = arg;
    if (atomic_load(&k->c->closing)) { /* the client is being freed: no retry */
        set_error(k, cos_error_new(COS_ERR_CANCELED, "the client was freed during a retry's back-off"));
        async_complete(k);
        return;
    }
    call_rewind(k);
    async_start(k);
}

static void async_finish(void *arg)
{
    op_call *k = arg;
    if (call_finish(k) == STEP_RETRY) {
        /* the back-off is a timer, not a sleep: the worker goes on with
           other calls' completions meanwhile */
        int64_t delay = k->skew_fixed && k->retries == 0 ? 0 : backoff_ms(k->retries);
        if (atomic_load(&k->c->closing)) delay = 0; /* async_retry cancels it at once */
        client_log(k->c, COS_LOG_DEBUG, "%s %s: retry %d in %lld ms (HTTP %ld)", k->method, OP_NAMES[k->op],
                   k->retries + 1, (long long)delay, k->http.status);
        cos_client *c = k->c;
        if (workers_post_after(c->workers, delay, async_retry, k) != 0) {
            cos_sleep_ms(delay); /* out of memory for the timer: as before */
            async_retry(k);
        } else if (atomic_load(&c->closing)) {
            workers_fire_timers(c->workers); /* the free's own firing may have come before this timer */
        }
        return;
    }
    async_complete(k);
}

static void async_http_done(cos_http *h, void *ud)
{
    (void)h;
    op_call *k = ud;
    workers_post(k->c->workers, async_finish, k); /* never run user code on the network thread */
}

static void async_start(void *arg)
{
    op_call *k = arg;
    cos_error *e = NULL;
    if (call_sign(k, &e) != 0) {
        set_error(k, e);
        async_complete(k);
        return;
    }
    engine_submit(k->c->engine, &k->http, async_http_done, k);
}

int cos_call_async(cos_client *client, cos_op op, const cos_request *req, cos_done_fn done, void *user_data)
{
    cos_error **why = client_async_error_slot(); /* cos_async_error() */
    if (!client) return cos_err_invalid(why, "client", "NULL client");
    if (!done) return cos_err_invalid(why, "done", "an async call needs a completion callback");
    /* only a callback of one of its calls can still submit (client.h): taken,
       the call ended canceled at once and its callback submitted the next,
       so a chain of them held cos_client_free for ever */
    if (atomic_load(&client->closing)) return cos_err_set(why, COS_ERR_CANCELED, "the client is being freed");
    op_call *k;
    int rc = call_prepare(client, op, req, -1, &k, why);
    if (rc) return rc;
    k->done = done;
    k->ud = user_data;
    k->http.cancel = &client->abort_io; /* cos_client_free cancels it in flight */
    if (done == cos_future_done) future_arm(user_data); /* freeing it early is safe from now on */
    k->t0_ms = cos_mono_ms();
    atomic_fetch_add(&client->inflight, 1);
    const cos_config *cfg = &client->cfg;
    if (cfg->get_authorization || cfg->get_sts || cfg->before_send) {
        workers_post(client->workers, async_start, k); /* user code that may block: not on the caller */
        return 0;
    }
    /* A permanent key signs without calling anyone: sign here and hand the
       request straight to a network thread, a thread hop saved */
    cos_error *e = NULL;
    if (call_sign(k, &e) != 0) {
        set_error(k, e);
        workers_post(client->workers, async_complete_job, k); /* done runs on a worker, never here */
        return 0;
    }
    engine_submit(client->engine, &k->http, async_http_done, k);
    return 0;
}

/* The named forms, one line per operation. */
#define COS_DEFINE_OP_(fn, NAME, api, in, out) \
    int cos_##fn(cos_client *client, const cos_request *req, cos_result **res, cos_error **err) \
    { return cos_call(client, COS_OP_##NAME, req, res, err); } \
    int cos_##fn##_async(cos_client *client, const cos_request *req, cos_done_fn done, void *ud) \
    { return cos_call_async(client, COS_OP_##NAME, req, done, ud); }
COS_OPERATIONS(COS_DEFINE_OP_)
#undef COS_DEFINE_OP_

/* ------------------------------------------------------------------ results */

void cos_result_free(cos_result *res)
{
    if (!res) return;
    free(((result_box *)res)->location);
    if (res->output.any && res->internal_schema) cos_xml_free(res->internal_schema, res->output.any);
    http_headers_free(res->headers, res->header_count); /* the engine's response headers (engine.h) */
    free(res->body);
    free((result_box *)res);
}

const char *cos_result_header(const cos_result *res, const char *name)
{
    return res ? cos_kv_find(res->headers, res->header_count, name) : NULL;
}

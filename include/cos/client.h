/**
 * @file client.h
 * @brief The client handle, the request and result shapes, and the
 * operations of the COS XML API.
 *
 * One cos_client is shared by any number of threads. Each operation can be
 * called three ways:
 *   - synchronously:   cos_put_object(c, &req, &res, &err)
 *   - with a callback: cos_put_object_async(c, &req, done, user_data)
 *   - as a future:     cos_future *f = cos_future_new();
 *                      cos_put_object_async(c, &req, cos_future_done, f);
 *                      cos_future_wait(f, &res, &err);
 * Every operation is also reachable by its enum through cos_call() and
 * cos_call_async(); the named functions are generated from COS_OPERATIONS.
 * Ownership and threading of every call: docs/ownership.md.
 */
#ifndef COS_CLIENT_H
#define COS_CLIENT_H

#include "cos/common.h"
#include "cos/error.h"
#include "cos/config.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The client: connection pool, credentials cache, network threads. Opaque. */
typedef struct cos_client cos_client;

/**
 * Create a client. Validates the configuration (a bad option fails here with
 * COS_ERR_INVALID_ARG naming the field). On success *out is owned by the
 * caller and released with cos_client_free().
 */
COS_API int cos_client_new(cos_client **out, const cos_config *cfg, cos_error **err);

/**
 * Free a client. Ends its async operations and waits for their callbacks to
 * run: with COS_ERR_CANCELED if they had not started, were still waiting for
 * their answer (within about a second, even from a server that never
 * answers) or out a retry's back-off; one already answered completes as it
 * was. Async transfers stop, canceled, and stay resumable. NULL is allowed.
 * Called from inside one of the client's own callbacks, it returns at once
 * and the client is freed by a thread of its own once that callback returned
 * (from a synchronous transfer's progress callback: once that transfer has
 * stopped, canceled; from a synchronous call's credential, progress or sink
 * callback, or the task-list callback on the caller's thread: once that
 * call returns, without a further retry; do not use the client after it
 * returns). Meanwhile an async call or transfer that a callback starts is
 * refused with COS_ERR_CANCELED (its callback is not called): callbacks
 * that each start the next held the free for ever.
 */
COS_API void cos_client_free(cos_client *client);

/** The current correction of the local clock, in milliseconds (SystemClockOffset). */
COS_API int64_t cos_client_clock_offset_ms(const cos_client *client);

/* ------------------------------------------------------------------ bodies */

/** Read up to `len` bytes into `buf`; return the count, 0 at the end, or < 0 on error. */
typedef int64_t (*cos_read_fn)(void *user_data, void *buf, size_t len);
/** Rewind a callback body to `offset` so a request can be retried; return 0 on success. */
typedef int (*cos_seek_fn)(void *user_data, uint64_t offset);
/** Consume `len` bytes of a response body; return 0 to go on, non-zero to abort (the call then fails
 *  with COS_ERR_IO, "the sink refused it", and is not retried). Body and sink
 *  callbacks run on the thread that moves the bytes: the caller's for a synchronous call, a
 *  network thread for an async one (docs/ownership.md). */
typedef int (*cos_write_fn)(void *user_data, const void *buf, size_t len);

/**
 * A request body: memory, a file range, or a read callback (first one set wins).
 * `file_path` alone sends the whole file. Memory and callbacks are borrowed
 * until the operation completes.
 */
typedef struct cos_body {
    const void *data;         /**< memory body */
    size_t size;              /**< its length */
    const char *file_path;    /**< file body (read with pread, never loaded whole) */
    uint64_t file_offset;     /**< where in the file the body starts */
    int64_t file_length;      /**< how many bytes; 0 or -1 = to the end of the file. The file must
                                   keep its size while it is sent: one that grows or shrinks fails
                                   the request with COS_ERR_IO, and so does a whole-file body
                                   written to in place meanwhile (its modification or change time changed,
                                   even with the modification time set back:
                                   the object may mix old and new bytes); one with more bytes than
                                   its size says (/proc, /sys) is COS_ERR_INVALID_ARG */
    cos_read_fn read;         /**< callback body */
    cos_seek_fn seek;         /**< optional; without it a callback body is never retried */
    void *read_user_data;     /**< passed to read and seek */
    int64_t length;           /**< callback body length, -1 = unknown (chunked). With a length, read is
                                   asked for that many bytes in all (what it holds beyond them is not
                                   read or sent); one that ends sooner, or returns more than asked,
                                   fails the request with COS_ERR_IO (field "body.read") */
} cos_body;

/**
 * Where a response body goes: a file (written to a temporary name, renamed
 * when complete and verified, with the permissions of the file it replaces,
 * or 0666 less the umask for a new one; a failure leaves the old file as it
 * was and nothing beside it; a device or FIFO is written in place and a
 * symlink is written through, to its target, as cos_download_file
 * describes), a callback, or (neither set) memory in cos_result.body.
 * The temporary is FILE.cos-tmp-XXXXXX, locked (flock) while the call
 * lives; one a process killed with -9 left is removed by a later download
 * to that FILE (getObject to a file or downloadFile) when it is this
 * user's, marked as libcos's (the extended attribute user.cos-c.temporary,
 * taken off the file it becomes; where the file system has no such
 * attributes nothing is removed), of one link, unlocked and untouched for an
 * hour: a file of the user's that only has such a name stays. A process reads a directory for them once,
 * at its first download there; each of its downloads to a FILE there then
 * removes FILE's found by that read (those of files not downloaded stay).
 */
typedef struct cos_sink {
    const char *file_path;    /**< destination file */
    cos_write_fn write;       /**< streaming callback */
    void *write_user_data;    /**< passed to write */
} cos_sink;

/** Progress of one transfer (onProgress of the official SDK). */
typedef struct cos_progress {
    uint64_t loaded;          /**< bytes done */
    uint64_t total;           /**< bytes in all (0 only while unknown: a download before its headers,
                                   a callback body of unknown length) */
    double speed;             /**< bytes per second, averaged since the transfer started */
    double percent;           /**< 0.0 .. 1.0 (the SDK's convention) */
} cos_progress;

/** Progress callback. Called at most every ProgressInterval and once at 100%. */
typedef void (*cos_progress_fn)(void *user_data, const cos_progress *p);

/* Typed XML documents of requests and results, defined in cos/model.h. */
struct cos_list_buckets_result;
struct cos_list_objects_result;
struct cos_object_summary;
struct cos_list_versions_result;
struct cos_location_result;
struct cos_access_control_policy;
struct cos_cors_configuration;
struct cos_tagging;
struct cos_lifecycle_configuration;
struct cos_versioning_configuration;
struct cos_replication_configuration;
struct cos_website_configuration;
struct cos_referer_configuration;
struct cos_domain_configuration;
struct cos_origin_configuration;
struct cos_logging_status;
struct cos_inventory_configuration;
struct cos_list_inventory_result;
struct cos_accelerate_configuration;
struct cos_encryption_configuration;
struct cos_copy_object_result;
struct cos_delete_request;
struct cos_delete_result;
struct cos_restore_request;
struct cos_initiate_multipart_result;
struct cos_complete_multipart_upload;
struct cos_complete_multipart_result;
struct cos_list_multipart_uploads_result;
struct cos_list_parts_result;

/** Current version of cos_request (2 added append_base_crc64; 1 is still read). */
#define COS_REQUEST_VERSION 2

/**
 * The parameters of any operation (the params object of the official SDK).
 * Fields an operation does not use are ignored; 0/NULL means "not set".
 * Everything is borrowed: for an async call, strings are copied before
 * cos_*_async() returns, but body memory and callbacks must stay valid until
 * the completion callback runs.
 */
typedef struct cos_request {
    int version;                  /**< COS_REQUEST_VERSION */
    const char *bucket;           /**< "name-APPID" */
    const char *region;           /**< overrides the client's region */
    const char *key;              /**< object key; one leading "/" is dropped (unless use_raw_key); a key
                                       that resolves to the bucket once "." and ".." segments and
                                       repeated "/" are resolved ("//", "./", "a/..") names no object
                                       (COS reads its path as the bucket's) and is COS_ERR_INVALID_ARG */
    const char *version_id;       /**< versionId */

    /* listing */
    const char *prefix;           /**< prefix */
    const char *delimiter;        /**< delimiter */
    const char *marker;           /**< marker (getBucket) */
    const char *key_marker;       /**< key-marker (versions, uploads) */
    const char *version_id_marker;/**< version-id-marker */
    const char *upload_id_marker; /**< upload-id-marker */
    int max_keys;                 /**< max-keys; 0 = server default */
    int max_uploads;              /**< max-uploads; 0 = server default */
    int max_parts;                /**< max-parts; 0 = server default */
    int part_number_marker;       /**< part-number-marker; 0 = none */
    const char *encoding_type;    /**< "url" to get encoded keys (decoded for you) */

    /* multipart, append, inventory */
    const char *upload_id;        /**< uploadId */
    int part_number;              /**< partNumber, 1..10000 */
    uint64_t position;            /**< append position */
    const char *inventory_id;     /**< inventory id */

    /* copy */
    const char *copy_source;      /**< "bucket-appid.cos.region.myqcloud.com/key" or "/bucket-appid/key" */
    const char *copy_source_range;/**< "bytes=first-last" for uploadPartCopy */

    /* common headers */
    const char *content_type;     /**< Content-Type */
    const char *content_md5;      /**< Content-MD5 (base64); computed for you where COS requires it */
    const char *acl;              /**< x-cos-acl */
    const char *storage_class;    /**< x-cos-storage-class */
    const char *range;            /**< Range, e.g. "bytes=0-99" */
    const char *if_match;         /**< If-Match */
    const char *if_none_match;    /**< If-None-Match */
    const char *if_modified_since;/**< If-Modified-Since */
    const char *if_unmodified_since; /**< If-Unmodified-Since */
    const cos_kv *meta;           /**< user metadata; names without the x-cos-meta- prefix */
    size_t meta_count;            /**< entries in meta */
    const cos_kv *headers;        /**< any other headers, sent as given; a name that is no HTTP token
                                       or a value (here, in meta or any header field) with a control
                                       character but tab fails COS_ERR_INVALID_ARG, nothing sent; so do
                                       Transfer-Encoding, TE, Upgrade and a Content-Length other than
                                       the body's (libcos frames the body) */
    size_t header_count;          /**< entries in headers */
    const cos_kv *query;          /**< any other query parameters (e.g. response-content-type) */
    size_t query_count;           /**< entries in query */

    /* bodies */
    cos_body body;                /**< object data for put/append/post/upload part/request */
    cos_sink sink;                /**< where getObject and request put the response body */
    cos_progress_fn on_progress;  /**< upload or download progress, or NULL */
    void *progress_user_data;     /**< passed to on_progress */

    /** Typed XML input of put-configuration operations (which member: see cos_op). */
    union {
        const struct cos_access_control_policy *acl;
        const struct cos_cors_configuration *cors;
        const struct cos_tagging *tagging;
        const struct cos_lifecycle_configuration *lifecycle;
        const struct cos_versioning_configuration *versioning;
        const struct cos_replication_configuration *replication;
        const struct cos_website_configuration *website;
        const struct cos_referer_configuration *referer;
        const struct cos_domain_configuration *domain;
        const struct cos_origin_configuration *origin;
        const struct cos_logging_status *logging;
        const struct cos_inventory_configuration *inventory;
        const struct cos_accelerate_configuration *accelerate;
        const struct cos_encryption_configuration *encryption;
        const struct cos_delete_request *delete_objects;
        const struct cos_restore_request *restore;
        const struct cos_complete_multipart_upload *complete;
        const char *policy;       /**< bucket policy JSON text */
    } input;

    /* generic request (COS_OP_REQUEST) */
    const char *method;           /**< HTTP method */
    const char *action;           /**< sub-resource such as "acl", "" for none */
    /** full URL override, or NULL to build one. As in cos-js-sdk-v5's request(), the signature
     *  still names `bucket` and `key` (a NULL key signs "/"), not the URL's path: set `key` to
     *  the object the URL names. */
    const char *url;

    int timeout_ms;               /**< overrides the client's timeout; 0 = client's */

    /* --- appended in version 2 --- */
    /** appendObject at a position > 0: the CRC-64 of the object before this append (the `crc64` of
     *  the previous append's result, or of a headObject), so the whole object's CRC-64 the server
     *  answers can be checked; valid when has_append_base_crc64. Unset, the client uses the CRC it
     *  remembers from its own last append to that bucket and key at this position, if any. */
    uint64_t append_base_crc64;
    bool has_append_base_crc64;   /**< whether append_base_crc64 is given (false = unknown) */
} cos_request;

/** A cos_request with nothing set. */
#define COS_REQUEST_INIT COS_STRUCT_INIT_(cos_request, COS_REQUEST_VERSION)

/**
 * The result of an operation. Owns all its memory; free it with
 * cos_result_free(). Which `output` member is set depends on the operation
 * (see cos_op); the others are NULL.
 */
typedef struct cos_result {
    int http_status;              /**< HTTP status */
    const char *request_id;       /**< x-cos-request-id, or NULL */
    const char *etag;             /**< ETag header (with its quotes), or NULL */
    const char *version_id;       /**< x-cos-version-id, or NULL */
    const char *location;         /**< the object's URL: the Location the server sent, or for putObject,
                                       postObject, appendObject and multipartComplete the URL built
                                       from the bucket, region and key; NULL for other operations */
    uint64_t crc64;               /**< x-cos-hash-crc64ecma, valid when has_crc64. For appendObject: the
                                       whole object's CRC-64 after the append, checked against the data
                                       sent at position 0, or at a later position when the CRC before is
                                       known (cos_request.append_base_crc64, or this client's own last
                                       append to the object); a mismatch is COS_ERR_INTEGRITY (the data
                                       was appended). One against the client's memory only (another writer
                                       may have replaced the object since) first reads the object back up
                                       to the append's end: if the server's CRC describes it and it ends
                                       with the bytes sent, the append succeeds. Pass it as the next
                                       append's append_base_crc64 */
    bool has_crc64;               /**< whether the response carried a CRC-64 (never in the S3 dialect) */
    uint64_t content_length;      /**< Content-Length of the response */
    cos_kv *headers;              /**< every response header, names as sent */
    size_t header_count;          /**< entries in headers */
    unsigned char *body;          /**< raw body when it went to memory (NUL-terminated), else NULL */
    size_t body_size;             /**< its length */
    int retries;                  /**< retries made */
    const void *internal_schema;  /**< internal to libcos: how to free output */
    /** Parsed XML output. */
    union {
        void *any;
        struct cos_list_buckets_result *list_buckets;
        struct cos_list_objects_result *list_objects;
        struct cos_list_versions_result *list_versions;
        struct cos_location_result *location;
        struct cos_access_control_policy *acl;
        struct cos_cors_configuration *cors;
        struct cos_tagging *tagging;
        struct cos_lifecycle_configuration *lifecycle;
        struct cos_versioning_configuration *versioning;
        struct cos_replication_configuration *replication;
        struct cos_website_configuration *website;
        struct cos_referer_configuration *referer;
        struct cos_domain_configuration *domain;
        struct cos_origin_configuration *origin;
        struct cos_logging_status *logging;
        struct cos_inventory_configuration *inventory;
        struct cos_list_inventory_result *list_inventory;
        struct cos_accelerate_configuration *accelerate;
        struct cos_encryption_configuration *encryption;
        struct cos_copy_object_result *copy;
        struct cos_delete_result *deleted;
        struct cos_initiate_multipart_result *initiate;
        struct cos_complete_multipart_result *complete;
        struct cos_list_multipart_uploads_result *list_uploads;
        struct cos_list_parts_result *list_parts;
    } output;
} cos_result;

/** Free a result and everything it owns. NULL is allowed. */
COS_API void cos_result_free(cos_result *res);

/** The value of a response header (case-insensitive name), or NULL. Owned by the result. */
COS_API const char *cos_result_header(const cos_result *res, const char *name);

/**
 * Completion callback of an async operation. It receives ownership of `res`
 * (NULL on failure) and `err` (NULL on success); `rc` is 0 or a cos_error_kind.
 * It runs on one of the client's worker threads, never on the caller's, and
 * may call any libcos function, including synchronous ones. An async call
 * that is retried (max_retries) waits out its back-off on a timer: no worker
 * thread is held meanwhile, so other async calls complete while it waits,
 * even with worker_threads = 1.
 */
typedef void (*cos_done_fn)(void *user_data, int rc, cos_result *res, cos_error *err);

/**
 * The operations, one row each: X(function_name, ENUM_SUFFIX, "ApiName",
 * input member, output member). "ApiName" is the official SDK's method name;
 * input is the cos_request.input member it reads (none = no XML body);
 * output is the cos_result.output member it fills (none = headers only).
 * Each row gives the enum value COS_OP_ENUM_SUFFIX and the functions
 * cos_function_name() and cos_function_name_async(); pass your own X to
 * generate bindings.
 */
#define COS_OPERATIONS(X) \
    X(get_service,               GET_SERVICE,               "getService",            none,          list_buckets) \
    X(put_bucket,                PUT_BUCKET,                "putBucket",             none,          none) \
    X(head_bucket,               HEAD_BUCKET,               "headBucket",            none,          none) \
    X(get_bucket,                GET_BUCKET,                "getBucket",             none,          list_objects) \
    X(delete_bucket,             DELETE_BUCKET,             "deleteBucket",          none,          none) \
    X(get_bucket_location,       GET_BUCKET_LOCATION,       "getBucketLocation",     none,          location) \
    X(put_bucket_acl,            PUT_BUCKET_ACL,            "putBucketAcl",          acl,           none) \
    X(get_bucket_acl,            GET_BUCKET_ACL,            "getBucketAcl",          none,          acl) \
    X(put_bucket_cors,           PUT_BUCKET_CORS,           "putBucketCors",         cors,          none) \
    X(get_bucket_cors,           GET_BUCKET_CORS,           "getBucketCors",         none,          cors) \
    X(delete_bucket_cors,        DELETE_BUCKET_CORS,        "deleteBucketCors",      none,          none) \
    X(put_bucket_policy,         PUT_BUCKET_POLICY,         "putBucketPolicy",       policy,        none) \
    X(get_bucket_policy,         GET_BUCKET_POLICY,         "getBucketPolicy",       none,          none) \
    X(delete_bucket_policy,      DELETE_BUCKET_POLICY,      "deleteBucketPolicy",    none,          none) \
    X(put_bucket_tagging,        PUT_BUCKET_TAGGING,        "putBucketTagging",      tagging,       none) \
    X(get_bucket_tagging,        GET_BUCKET_TAGGING,        "getBucketTagging",      none,          tagging) \
    X(delete_bucket_tagging,     DELETE_BUCKET_TAGGING,     "deleteBucketTagging",   none,          none) \
    X(put_bucket_lifecycle,      PUT_BUCKET_LIFECYCLE,      "putBucketLifecycle",    lifecycle,     none) \
    X(get_bucket_lifecycle,      GET_BUCKET_LIFECYCLE,      "getBucketLifecycle",    none,          lifecycle) \
    X(delete_bucket_lifecycle,   DELETE_BUCKET_LIFECYCLE,   "deleteBucketLifecycle", none,          none) \
    X(put_bucket_versioning,     PUT_BUCKET_VERSIONING,     "putBucketVersioning",   versioning,    none) \
    X(get_bucket_versioning,     GET_BUCKET_VERSIONING,     "getBucketVersioning",   none,          versioning) \
    X(put_bucket_replication,    PUT_BUCKET_REPLICATION,    "putBucketReplication",  replication,   none) \
    X(get_bucket_replication,    GET_BUCKET_REPLICATION,    "getBucketReplication",  none,          replication) \
    X(delete_bucket_replication, DELETE_BUCKET_REPLICATION, "deleteBucketReplication", none,        none) \
    X(put_bucket_website,        PUT_BUCKET_WEBSITE,        "putBucketWebsite",      website,       none) \
    X(get_bucket_website,        GET_BUCKET_WEBSITE,        "getBucketWebsite",      none,          website) \
    X(delete_bucket_website,     DELETE_BUCKET_WEBSITE,     "deleteBucketWebsite",   none,          none) \
    X(put_bucket_referer,        PUT_BUCKET_REFERER,        "putBucketReferer",      referer,       none) \
    X(get_bucket_referer,        GET_BUCKET_REFERER,        "getBucketReferer",      none,          referer) \
    X(put_bucket_domain,         PUT_BUCKET_DOMAIN,         "putBucketDomain",       domain,        none) \
    X(get_bucket_domain,         GET_BUCKET_DOMAIN,         "getBucketDomain",       none,          domain) \
    X(delete_bucket_domain,      DELETE_BUCKET_DOMAIN,      "deleteBucketDomain",    none,          none) \
    X(put_bucket_origin,         PUT_BUCKET_ORIGIN,         "putBucketOrigin",       origin,        none) \
    X(get_bucket_origin,         GET_BUCKET_ORIGIN,         "getBucketOrigin",       none,          origin) \
    X(delete_bucket_origin,      DELETE_BUCKET_ORIGIN,      "deleteBucketOrigin",    none,          none) \
    X(put_bucket_logging,        PUT_BUCKET_LOGGING,        "putBucketLogging",      logging,       none) \
    X(get_bucket_logging,        GET_BUCKET_LOGGING,        "getBucketLogging",      none,          logging) \
    X(put_bucket_inventory,      PUT_BUCKET_INVENTORY,      "putBucketInventory",    inventory,     none) \
    X(get_bucket_inventory,      GET_BUCKET_INVENTORY,      "getBucketInventory",    none,          inventory) \
    X(list_bucket_inventory,     LIST_BUCKET_INVENTORY,     "listBucketInventory",   none,          list_inventory) \
    X(delete_bucket_inventory,   DELETE_BUCKET_INVENTORY,   "deleteBucketInventory", none,          none) \
    X(put_bucket_accelerate,     PUT_BUCKET_ACCELERATE,     "putBucketAccelerate",   accelerate,    none) \
    X(get_bucket_accelerate,     GET_BUCKET_ACCELERATE,     "getBucketAccelerate",   none,          accelerate) \
    X(put_bucket_encryption,     PUT_BUCKET_ENCRYPTION,     "putBucketEncryption",   encryption,    none) \
    X(get_bucket_encryption,     GET_BUCKET_ENCRYPTION,     "getBucketEncryption",   none,          encryption) \
    X(delete_bucket_encryption,  DELETE_BUCKET_ENCRYPTION,  "deleteBucketEncryption", none,         none) \
    X(list_object_versions,      LIST_OBJECT_VERSIONS,      "listObjectVersions",    none,          list_versions) \
    X(get_object,                GET_OBJECT,                "getObject",             none,          none) \
    X(head_object,               HEAD_OBJECT,               "headObject",            none,          none) \
    X(put_object,                PUT_OBJECT,                "putObject",             none,          none) \
    X(post_object,               POST_OBJECT,               "postObject",            none,          none) \
    X(delete_object,             DELETE_OBJECT,             "deleteObject",          none,          none) \
    X(get_object_acl,            GET_OBJECT_ACL,            "getObjectAcl",          none,          acl) \
    X(put_object_acl,            PUT_OBJECT_ACL,            "putObjectAcl",          acl,           none) \
    X(options_object,            OPTIONS_OBJECT,            "optionsObject",         none,          none) \
    X(put_object_copy,           PUT_OBJECT_COPY,           "putObjectCopy",         none,          copy) \
    X(delete_multiple_object,    DELETE_MULTIPLE_OBJECT,    "deleteMultipleObject",  delete_objects, deleted) \
    X(restore_object,            RESTORE_OBJECT,            "restoreObject",         restore,       none) \
    X(put_object_tagging,        PUT_OBJECT_TAGGING,        "putObjectTagging",      tagging,       none) \
    X(get_object_tagging,        GET_OBJECT_TAGGING,        "getObjectTagging",      none,          tagging) \
    X(delete_object_tagging,     DELETE_OBJECT_TAGGING,     "deleteObjectTagging",   none,          none) \
    X(append_object,             APPEND_OBJECT,             "appendObject",          none,          none) \
    X(upload_part_copy,          UPLOAD_PART_COPY,          "uploadPartCopy",        none,          copy) \
    X(multipart_init,            MULTIPART_INIT,            "multipartInit",         none,          initiate) \
    X(multipart_upload,          MULTIPART_UPLOAD,          "multipartUpload",       none,          none) \
    X(multipart_complete,        MULTIPART_COMPLETE,        "multipartComplete",     complete,      complete) \
    X(multipart_list,            MULTIPART_LIST,            "multipartList",         none,          list_uploads) \
    X(multipart_list_part,       MULTIPART_LIST_PART,       "multipartListPart",     none,          list_parts) \
    X(multipart_abort,           MULTIPART_ABORT,           "multipartAbort",        none,          none) \
    X(send_request,              REQUEST,                   "request",               none,          none)

/** Operation identifiers, one per row of COS_OPERATIONS (COS_OP_GET_SERVICE ...). */
typedef enum cos_op {
/** Expands one row of COS_OPERATIONS into its cos_op value (defined here only). */
#define COS_OP_ENUM_(fn, NAME, api, in, out) COS_OP_##NAME,
    COS_OPERATIONS(COS_OP_ENUM_)
#undef COS_OP_ENUM_
    COS_OP_COUNT  /**< number of operations */
} cos_op;

/** The official SDK's name of an operation ("putObject"), or NULL if out of range. */
COS_API const char *cos_op_name(cos_op op);

/** Run an operation synchronously. On success *out is the caller's to free. */
COS_API int cos_call(cos_client *client, cos_op op, const cos_request *req,
                     cos_result **out, cos_error **err);

/**
 * Start an operation and return at once. If this returns 0, `done` is called
 * exactly once, later, on a worker thread. A non-zero return means the request
 * was refused up front (e.g. an invalid argument) and `done` is never called;
 * cos_async_error() then describes the refusal exactly as the synchronous
 * form's error would (the same message and `field`).
 */
COS_API int cos_call_async(cos_client *client, cos_op op, const cos_request *req,
                           cos_done_fn done, void *user_data);

/**
 * Why the last *_async call made on this thread (an operation's, or a
 * transfer's in transfer.h) was refused up front, or NULL if it was
 * accepted. The error belongs to libcos and stays valid until the next
 * *_async call on the same thread; cos_error_dup() it to keep it.
 */
COS_API const cos_error *cos_async_error(void);

/** Expands one row of COS_OPERATIONS into its two named functions,
 *  cos_put_object(c, req, &res, &err) and cos_put_object_async(c, req, done, ud)
 *  (defined here only). */
#define COS_DECLARE_OP_(fn, NAME, api, in, out) \
    COS_API int cos_##fn(cos_client *client, const cos_request *req, cos_result **out, cos_error **err); \
    COS_API int cos_##fn##_async(cos_client *client, const cos_request *req, cos_done_fn done, void *user_data);
COS_OPERATIONS(COS_DECLARE_OP_)
#undef COS_DECLARE_OP_

/* ------------------------------------------------------------------ listing iterator */

/** Pages through every object of a listing (getBucket with markers). Opaque. */
typedef struct cos_object_iter cos_object_iter;

/**
 * Start iterating the objects of req->bucket under req->prefix (req->max_keys
 * sets the page size; other fields as for cos_get_bucket). The request is
 * copied. *out is the caller's, freed with cos_object_iter_free(). In the S3
 * dialect the pages are ListObjectsV2's, chained by continuation tokens;
 * req->marker is sent as start-after.
 */
COS_API int cos_object_iter_new(cos_object_iter **out, cos_client *client, const cos_request *req, cos_error **err);

/**
 * The next object: returns 1 and sets *obj (owned by the iterator, valid until
 * the next call), 0 at the end, or a negative cos_error_kind on failure.
 * A listing that would never end (a next marker that does not advance, 100
 * empty truncated pages in a row) fails with COS_ERR_PARSE, then ends.
 * A NULL iterator (a failed cos_object_iter_new) is COS_ERR_INVALID_ARG.
 */
COS_API int cos_object_iter_next(cos_object_iter *it, const struct cos_object_summary **obj, cos_error **err);

/** Free an iterator. NULL is allowed. */
COS_API void cos_object_iter_free(cos_object_iter *it);

/* ------------------------------------------------------------------ futures */

/** A one-shot result holder: pass cos_future_done and the future to any *_async call. */
typedef struct cos_future cos_future;

/** A new, empty future (NULL if out of memory). */
COS_API cos_future *cos_future_new(void);
/** A cos_done_fn that stores the outcome in the future given as user_data. */
COS_API void cos_future_done(void *future, int rc, cos_result *res, cos_error *err);
/**
 * Wait for the outcome; returns its rc and hands over the result and error
 * (either pointer may be NULL to discard). Call at most once.
 */
COS_API int cos_future_wait(cos_future *f, cos_result **out, cos_error **err);
/** Whether the outcome has arrived. */
COS_API bool cos_future_ready(cos_future *f);
/**
 * Free a future: after cos_future_wait, after its callback ran, or at any
 * time once an *_async call accepted it (returned 0): an outcome that comes
 * after the free is discarded (the result or error freed) with the future.
 */
COS_API void cos_future_free(cos_future *f);

/* ------------------------------------------------------------------ presigned URLs */

/** Current version of cos_url_params. */
#define COS_URL_PARAMS_VERSION 1

/** Parameters of cos_get_object_url (getObjectUrl). Zero is safe: a signed URL. */
typedef struct cos_url_params {
    int version;              /**< COS_URL_PARAMS_VERSION */
    const char *bucket;       /**< bucket */
    const char *region;       /**< region, NULL = client's */
    const char *key;          /**< object key; NULL = the bucket's URL. A key that names no object
                                   ("", "/", "//", "./", "a/..": its path would be the bucket's, and a
                                   GET of it a listing) is COS_ERR_INVALID_ARG */
    const char *method;       /**< NULL = "GET" */
    bool no_signature;        /**< a bare URL without a signature (the SDK's Sign: false); off = presigned */
    int expires;              /**< seconds; 0 = 900 */
    int64_t start_time;       /**< start of the validity window; 0 = now - 1 s */
    const cos_kv *query;      /**< extra query parameters, signed and kept */
    size_t query_count;       /**< entries in query */
    const cos_kv *headers;    /**< headers the URL will be used with (signed) */
    size_t header_count;      /**< entries in headers */
} cos_url_params;

/** A cos_url_params with defaults (only the version set). */
#define COS_URL_PARAMS_INIT COS_STRUCT_INIT_(cos_url_params, COS_URL_PARAMS_VERSION)

/**
 * Build an object URL, presigned unless params->no_signature is set. May call
 * the credential callback. On success *url is the caller's, freed with free().
 * In the S3 dialect the URL is presigned with query SigV4 (X-Amz-*,
 * UNSIGNED-PAYLOAD, X-Amz-Security-Token for a temporary key), host and
 * params->headers signed, expires at most 604800 (docs/s3.md).
 */
COS_API int cos_get_object_url(cos_client *client, const cos_url_params *params,
                               char **url, cos_error **err);

#ifdef __cplusplus
}
#endif
#endif

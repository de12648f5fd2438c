/**
 * @file config.h
 * @brief Client configuration: the options of the official SDK's
 * constructor (`new COS({...})`), credentials, logging and metrics.
 *
 * Start from COS_CONFIG_INIT (or cos_config_init()) and set what you need.
 * Zero is safe: a cos_config that is all zero bytes but for its version
 * (as C++ value-initialisation or an FFI binding makes it) is exactly
 * COS_CONFIG_INIT: every option left at 0 takes the official SDK's default,
 * written next to it, and every switch that lowers safety (tls_insecure,
 * no_sign_host, no_clock_skew_correction, no_key_simplify_check) is off.
 * All strings are borrowed: cos_client_new() copies what it keeps.
 */
#ifndef COS_CONFIG_H
#define COS_CONFIG_H

#include "cos/common.h"
#include "cos/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The scope of one request, as sent to credential callbacks (ScopeLimit). */
typedef struct cos_scope {
    const char *action;  /**< e.g. "name/cos:PutObject" */
    const char *bucket;  /**< e.g. "examplebucket-1250000000" */
    const char *region;  /**< e.g. "ap-guangzhou" */
    const char *prefix;  /**< the object key ("" for bucket operations) */
} cos_scope;

/**
 * What a credential callback is told about the request that needs a key.
 * Everything is borrowed and valid only during the callback.
 */
typedef struct cos_auth_request {
    const char *method;         /**< "GET", "PUT", ... */
    const char *bucket;         /**< bucket or "" */
    const char *region;         /**< region or "" */
    const char *key;            /**< object key or "" */
    const char *pathname;       /**< the pathname to sign, e.g. "/a.txt" */
    const cos_kv *query;        /**< query parameters to sign */
    size_t query_count;         /**< number of query parameters */
    const cos_kv *headers;      /**< headers to sign */
    size_t header_count;        /**< number of headers */
    const cos_scope *scope;     /**< scope of the request (one entry per action) */
    size_t scope_count;         /**< number of scope entries */
    int64_t clock_offset_ms;    /**< the client's correction of the local clock */
} cos_auth_request;

/**
 * Where a credential callback stores what it obtained. Opaque: use
 * cos_credentials_set() or cos_authorization_set(), which copy.
 */
typedef struct cos_credentials_sink cos_credentials_sink;

/**
 * Store a temporary (or permanent) key. `security_token` may be NULL.
 * `start_time` and `expired_time` are Unix seconds (0 = unknown; an
 * unknown expiry means the key is not cached). COS_ERR_INVALID_ARG, nothing
 * stored, for an id or token with a control character (a line break would
 * start a header line of its own): the call then fails with COS_ERR_AUTH.
 */
COS_API int cos_credentials_set(cos_credentials_sink *sink, const char *secret_id,
                                const char *secret_key, const char *security_token,
                                int64_t start_time, int64_t expired_time);

/** Store a ready Authorization value (and its security token, or NULL);
 *  refused as cos_credentials_set() refuses a control character. */
COS_API int cos_authorization_set(cos_credentials_sink *sink, const char *authorization,
                                  const char *security_token);

/**
 * A credential callback (getAuthorization / getSTS of the official SDK).
 * It may block (e.g. to ask a backend); it runs on the thread that needs the
 * key, never on the network thread. Return 0 after calling one of the setters,
 * or a negative value (and optionally set *err) on failure.
 * It may use other clients. A request of this same client made from inside
 * it never waits for this refresh: it uses a valid cached key if the client
 * has one for it (with scope_limit, another scope's), else it fails with
 * COS_ERR_AUTH (the key it needs is the one being fetched): a synchronous
 * one at once, an async call or transfer started there when it needs its
 * key while this refresh is still under way (its done callback gets the
 * error), so a callback that waits for one is not left waiting for ever.
 * After the callback has returned, such a call or transfer gets its keys as
 * any other does (a long transfer refreshes an expired key).
 */
typedef int (*cos_credentials_fn)(void *user_data, const cos_auth_request *req,
                                  cos_credentials_sink *sink, cos_error **err);

/** How requests are signed. */
typedef enum cos_signer {
    COS_SIGNER_COS = 0,   /**< q-sign-algorithm=sha1, the COS XML API's own */
    COS_SIGNER_SIGV4 = 1  /**< AWS Signature Version 4, for S3-compatible stores: every x-cos-* request
                               header goes out under its S3 name (x-amz-acl, x-amz-meta-*,
                               x-amz-copy-source, ...); a COS-only one (x-cos-traffic-limit, ...)
                               fails the call with COS_ERR_INVALID_ARG before anything is sent;
                               multipart parts are at least 5 MiB (cos/transfer.h); the same as
                               dialect COS_DIALECT_S3 (which implies this signer) */
} cos_signer;

/** The API a client speaks (docs/s3.md). */
typedef enum cos_dialect {
    COS_DIALECT_DEFAULT = 0, /**< COS, unless signer is COS_SIGNER_SIGV4 (which means S3) */
    COS_DIALECT_COS = 1,     /**< the COS XML API, COS signatures (signer COS_SIGNER_SIGV4 is refused) */
    COS_DIALECT_S3 = 2       /**< an S3-compatible store: SigV4, x-amz-* names, ListObjectsV2, S3's part
                                  rules, SigV4 presigned URLs; COS-only operations and headers are
                                  refused before anything is sent */
} cos_dialect;

/** The checksum uploads carry in the S3 dialect (x-amz-checksum-*, checked by the server).
 *  Multipart uploads use CRC32C (S3's COMPOSITE type) unless NONE or refused (docs/s3.md). */
typedef enum cos_checksum {
    COS_CHECKSUM_AUTO = 0,       /**< CRC64NVME; once a server refuses the header, the client stops
                                      sending it and relies on Content-MD5/ETag checks */
    COS_CHECKSUM_CRC64NVME = 1,  /**< x-amz-checksum-crc64nvme always (a refusal is an error) */
    COS_CHECKSUM_CRC32C = 2,     /**< x-amz-checksum-crc32c always */
    COS_CHECKSUM_NONE = 3        /**< none: MD5 (ETag) checks only */
} cos_checksum;

/** The method uploadFile uses below SliceSize (SimpleUploadMethod). */
typedef enum cos_simple_upload_method {
    COS_SIMPLE_UPLOAD_POST = 0,  /**< postObject (the Mini Program SDK's default) */
    COS_SIMPLE_UPLOAD_PUT = 1    /**< putObject */
} cos_simple_upload_method;

/** Log levels, most severe first. */
typedef enum cos_log_level {
    COS_LOG_OFF = 0, COS_LOG_ERROR = 1, COS_LOG_WARN = 2, COS_LOG_INFO = 3, COS_LOG_DEBUG = 4
} cos_log_level;

/** A log sink. Never receives secrets or signatures. May be called from any thread. */
typedef void (*cos_log_fn)(void *user_data, cos_log_level level, const char *message);

/** What the metrics callback learns about each finished HTTP request. */
typedef struct cos_request_metrics {
    const char *method;       /**< HTTP method */
    const char *op;           /**< the official SDK's name of the operation (cos_op_name()), e.g. "putObject" */
    const char *bucket;       /**< bucket or "" */
    const char *key;          /**< key or "" */
    int http_status;          /**< final HTTP status (0 if no response) */
    uint64_t bytes_sent;      /**< request body bytes sent */
    uint64_t bytes_received;  /**< response body bytes received */
    double duration_ms;       /**< wall time including retries */
    int retries;              /**< retries made */
    const char *request_id;   /**< x-cos-request-id or "" */
    int error_kind;           /**< a cos_error_kind, COS_OK on success */
} cos_request_metrics;

/** The per-request metrics hook (the SDK's tracker, sending nothing anywhere). */
typedef void (*cos_metrics_fn)(void *user_data, const cos_request_metrics *m);

/**
 * Current version of cos_config (see the ABI rules in common.h). Version 2
 * renamed and inverted the four switches whose safe value was `true` in
 * version 1 (tls_verify, force_sign_host, correct_clock_skew,
 * object_key_simplify_check), so version 1 is refused. Version 3 appended
 * dialect, endpoint and upload_checksum; version 2 is still read (they are 0).
 */
#define COS_CONFIG_VERSION 3

struct cos_outgoing;

/** Client configuration. See COS_CONFIG_INIT. */
typedef struct cos_config {
    int version;                  /**< COS_CONFIG_VERSION */

    /* --- where --- */
    const char *region;           /**< default region, e.g. "ap-guangzhou" */
    const char *protocol;         /**< "https:" (default) or "http:" (Protocol) */
    const char *domain;           /**< host template with {Bucket} {BucketName} {AppId} {Region} (Domain) */
    const char *service_domain;   /**< host for getService (ServiceDomain) */
    bool force_path_style;        /**< bucket in the path, not the host (ForcePathStyle) */
    bool use_accelerate;          /**< use the global acceleration endpoint (UseAccelerate) */
    const char *connect_to;       /**< "HOST:PORT" to connect to whatever the URL says (e.g. a local cos-server); NULL = DNS.
                                       Also a comma-separated list of that and curl's "HOST:PORT:TO_HOST:TO_PORT" entries */

    /* --- credentials: set exactly one way --- */
    const char *secret_id;        /**< permanent (or fixed temporary) SecretId */
    const char *secret_key;       /**< permanent (or fixed temporary) SecretKey */
    const char *security_token;   /**< x-cos-security-token for a fixed temporary key, or NULL */
    int64_t start_time;           /**< StartTime of a fixed temporary key (Unix s), or 0 */
    int64_t expired_time;         /**< ExpiredTime of a fixed temporary key (Unix s), or 0 */
    cos_credentials_fn get_authorization; /**< getAuthorization: returns a temporary key or an Authorization */
    cos_credentials_fn get_sts;   /**< getSTS: returns a temporary key for a bucket/region */
    void *credentials_user_data;  /**< passed to get_authorization / get_sts */
    bool scope_limit;             /**< cache temporary keys per request scope (ScopeLimit) */

    /* --- signing --- */
    cos_signer signer;            /**< COS_SIGNER_COS (default) or COS_SIGNER_SIGV4 */
    bool no_sign_host;            /**< do not sign the Host header (ForceSignHost: false); off = signed */
    bool no_clock_skew_correction;/**< keep the clock offset on RequestTimeTooSkewed (CorrectClockSkew: false).
                                   *  Corrected, the offset becomes the answer's Date less the local clock when
                                   *  that is within a day of system_clock_offset_ms (a Date further off is not
                                   *  believed: the error is returned; set system_clock_offset_ms for a clock
                                   *  so far off) */
    int64_t system_clock_offset_ms; /**< initial clock offset (SystemClockOffset) */
    int sign_expires;             /**< signature lifetime in s; 0 = 900 */

    /* --- transfers (the official SDK's names in brackets) --- */
    int file_parallel_limit;      /**< files at once (FileParallelLimit); 0 = 3 */
    int chunk_parallel_limit;     /**< parts at once per file (ChunkParallelLimit); 0 = 3 */
    int chunk_retry_times;        /**< retries per part (ChunkRetryTimes); 0 = 2, -1 = none */
    uint64_t chunk_size;          /**< part size (ChunkSize); 0 = 1 MiB; must be >= 1 MiB; raised to 5 MiB
                                       in the S3 dialect (S3's minimum part; cos/transfer.h) */
    uint64_t slice_size;          /**< multipart above this size (SliceSize); 0 = 1 MiB */
    int copy_chunk_parallel_limit;/**< CopyChunkParallelLimit; 0 = 20 */
    uint64_t copy_chunk_size;     /**< CopyChunkSize; 0 = 10 MiB; at least 5 MiB in the S3 dialect */
    uint64_t copy_slice_size;     /**< CopySliceSize; 0 = 10 MiB */
    int max_part_number;          /**< MaxPartNumber; 0 = 10000 */
    int progress_interval_ms;     /**< ProgressInterval; 0 = 1000 */
    int upload_queue_size;        /**< UploadQueueSize; 0 = 10000 */
    int upload_id_cache_limit;    /**< UploadIdCacheLimit: interrupted uploads remembered for resuming
                                       (checkpoints in checkpoint_dir); beyond it the oldest are forgotten
                                       and start over if retried (their parts stay on the server until
                                       aborted or expired by a lifecycle rule); 0 = 50 */
    bool upload_check_content_md5;/**< send Content-MD5 with every upload (UploadCheckContentMd5) */
    cos_simple_upload_method simple_upload_method; /**< SimpleUploadMethod; default post (always put with
                                                        COS_SIGNER_SIGV4: S3 signs POST uploads by policy) */
    bool no_key_simplify_check;   /**< allow getObject keys that resolve to "/" or above it
                                       (ObjectKeySimplifyCheck: false); off = refused */
    const char *checkpoint_dir;   /**< where resumable transfers keep checkpoints; NULL = ~/.cache/cos-c */
    /** fsync a downloaded file (getObject to a file, downloadFile) before
     *  renaming it into place, so a finished download survives a power loss.
     *  Off by default, as in curl and the official SDKs: it costs the disk's
     *  write time (on the benchmark machine, downloads run at 40% of the
     *  speed). A killed process never leaves a partial file at FILE either way
     *  (its temporary beside FILE is removed later: cos_sink), and
     *  a resumed download re-checks every part's CRC-64. */
    bool fsync_downloads;

    /* --- HTTP --- */
    int timeout_ms;               /**< per request; 0 = none (Timeout) */
    int connect_timeout_ms;       /**< 0 = 10000 */
    int max_retries;              /**< retries of repeatable requests on network errors and 5xx; 0 = 3, -1 = none */
    int max_connections;          /**< simultaneous connections; 0 = 64 */
    int worker_threads;           /**< threads that run async completions; 0 = 2 */
    int network_threads;          /**< threads that move the bytes of async calls and transfers' parts (a
                                       libcurl multi each; requests go to them in turn, so parallel parts
                                       use more than one core, except small ones, bodies and answers in
                                       memory, which gather on the first, up to its share of
                                       max_connections (64 at most): fewer wakeups);
                                       0 = 2, at most 256. A synchronous call moves its bytes on the calling
                                       thread */
    const char *proxy;            /**< proxy URL, or NULL: the environment's (http_proxy, https_proxy,
                                       all_proxy, no_proxy, as libcurl reads them); a client created while
                                       none of them is set uses no proxy, even one set later */
    bool tls_insecure;            /**< do NOT verify the server's certificate and name (curl -k);
                                       off = verified against ca_file / ca_path / the system's CAs */
    const char *ca_file;          /**< CA bundle file, or NULL for the system's */
    const char *ca_path;          /**< CA directory, or NULL */
    const char *user_agent;       /**< NULL = "cos-c/VERSION"; sent with the HTTP version as a second
                                       product ("cos-c/1.0.0 HTTP/1.1") where no proxy is in the way over
                                       plain http, and by synchronous calls over https too (HTTP/1.1 there);
                                       a request's own User-Agent header is sent as given; a control
                                       character here (or in secret_id, security_token) is
                                       COS_ERR_INVALID_ARG from cos_client_new */

    /* --- observability --- */
    cos_log_fn log;               /**< log sink, or NULL for silence */
    void *log_user_data;          /**< passed to log */
    cos_log_level log_level;      /**< most verbose level delivered; default COS_LOG_OFF */
    cos_metrics_fn metrics;       /**< per-request metrics hook, or NULL */
    void *metrics_user_data;      /**< passed to metrics */

    /* --- more of the official SDKs' options, and limits (appended) --- */
    /** A request whose transfer stays below 1 KiB/s for this long (say a
     *  server that stops after the headers) fails as COS_ERR_TIMEOUT; it is
     *  tried once more, not max_retries times, and no retry starts 120 s
     *  after the first attempt. 0 = 30000. */
    int stall_timeout_ms;
    bool upload_add_meta_md5;     /**< UploadAddMetaMd5: simple uploads carry x-cos-meta-md5, the hex MD5 of the body */
    /** AutoSwitchHost: a request to BUCKET.cos.REGION.myqcloud.com that fails
     *  without an answer from COS (a network error, or an error without
     *  x-cos-request-id) is retried at the backup domain
     *  BUCKET.cos.REGION.tencentcos.cn. Off by default, as in the SDK. */
    bool auto_switch_host;
    bool use_raw_key;             /**< UseRawKey: the key is the path as given ("/a" stays "/a", not "a") */
    /** Called before each request is signed and sent (every attempt), on the
     *  thread that signs it; it may add headers with cos_outgoing_set_header
     *  (they are signed). Return non-zero to refuse the request. */
    int (*before_send)(void *user_data, struct cos_outgoing *request);
    void *before_send_user_data;  /**< passed to before_send */

    /* --- S3-compatible stores (appended in version 3; docs/s3.md) --- */
    cos_dialect dialect;          /**< COS (0) or COS_DIALECT_S3 */
    /** Where the store is: "host[:port]" or "http(s)://host[:port]" (a scheme sets protocol), e.g.
     *  "s3.us-east-1.amazonaws.com" or "http://127.0.0.1:9000". A bucket is addressed
     *  virtual-hosted (BUCKET.endpoint/key) unless force_path_style is set, the endpoint is an IP
     *  address or "localhost", or the bucket name has a '.' over https (no certificate matches it):
     *  those go path-style (endpoint/BUCKET/key). getService goes to the endpoint itself.
     *  NULL = COS's domains (BUCKET.cos.REGION.myqcloud.com, which speak S3 too). Not with domain. */
    const char *endpoint;
    cos_checksum upload_checksum; /**< S3 dialect: the x-amz-checksum-* of uploads; 0 = CRC64NVME (auto) */
} cos_config;

/** A request about to be signed and sent, as before_send sees it. Opaque, valid during the call. */
typedef struct cos_outgoing cos_outgoing;
/** Its HTTP method ("PUT"). */
COS_API const char *cos_outgoing_method(const cos_outgoing *request);
/** Its URL, as it will be sent. */
COS_API const char *cos_outgoing_url(const cos_outgoing *request);
/** The official SDK's name of its operation ("putObject"). */
COS_API const char *cos_outgoing_op(const cos_outgoing *request);
/** Set (add or replace) a header; it is signed with the others. COS_ERR_INVALID_ARG
 *  for a name that is no HTTP token or a value with a control character but tab. */
COS_API int cos_outgoing_set_header(cos_outgoing *request, const char *name, const char *value);

/** A cos_config with every option at its default: only the version is set, zero is safe. */
#define COS_CONFIG_INIT COS_STRUCT_INIT_(cos_config, COS_CONFIG_VERSION)

/** Set *cfg to COS_CONFIG_INIT (all zero but the version; for C++ and FFI). */
COS_API void cos_config_init(cos_config *cfg);

#ifdef __cplusplus
}
#endif
#endif

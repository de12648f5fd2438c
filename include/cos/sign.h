/**
 * @file sign.h
 * @brief Request signing without a client: the COS q-sign-algorithm=sha1
 * signature (byte for byte the official SDK's, see tests/data/sign.json) and
 * AWS Signature V4.
 *
 * Useful on a backend that signs for apps (the getAuthorization flow) and
 * for debugging a SignatureDoesNotMatch. These functions keep no state and
 * may be called from any thread.
 */
#ifndef COS_SIGN_H
#define COS_SIGN_H

#include "cos/common.h"
#include "cos/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Current version of cos_sign_params. */
#define COS_SIGN_PARAMS_VERSION 1

/** Input of cos_sign(). Everything is borrowed. Zero is safe: the Host is signed. */
typedef struct cos_sign_params {
    int version;              /**< COS_SIGN_PARAMS_VERSION */
    const char *secret_id;    /**< SecretId (q-ak) */
    const char *secret_key;   /**< SecretKey */
    const char *method;       /**< HTTP method, any case */
    const char *key;          /**< object key; the pathname is "/" + key (unless it starts with "/") */
    const char *pathname;     /**< pathname to sign as given; overrides key */
    const cos_kv *query;      /**< query parameters (all are signed) */
    size_t query_count;       /**< entries in query */
    const cos_kv *headers;    /**< request headers (only the signable ones are signed) */
    size_t header_count;      /**< entries in headers */
    int64_t start_time;       /**< start of the key time (Unix s); 0 = now - 1 */
    int64_t end_time;         /**< end of the key time; 0 = start + expires */
    int expires;              /**< seconds when end_time is 0; 0 = 900 */
    const char *host;         /**< signed as the Host header when no Host header is given */
    bool no_sign_host;        /**< do not add `host` (ForceSignHost: false); off = the Host is signed */
} cos_sign_params;

/** A cos_sign_params with defaults (only the version set). */
#define COS_SIGN_PARAMS_INIT COS_STRUCT_INIT_(cos_sign_params, COS_SIGN_PARAMS_VERSION)

/** The intermediate strings of a signature, for debugging. Owned; cos_sign_debug_free(). */
typedef struct cos_sign_debug {
    char *format_string;      /**< FormatString (method, pathname, params, headers) */
    char *string_to_sign;     /**< StringToSign ("sha1\nKeyTime\nsha1(FormatString)\n") */
    char *key_time;           /**< the KeyTime used */
} cos_sign_debug;

/**
 * Compute the Authorization value. On success *authorization is the caller's
 * (free()); if debug is non-NULL it receives the intermediate strings.
 */
COS_API int cos_sign(const cos_sign_params *p, char **authorization, cos_sign_debug *debug,
                     cos_error **err);

/** Free the strings of a cos_sign_debug (not the struct itself). */
COS_API void cos_sign_debug_free(cos_sign_debug *d);

/** Current version of cos_sigv4_params. */
#define COS_SIGV4_PARAMS_VERSION 1

/** Input of cos_sigv4_sign() and cos_sigv4_presign(). Everything is borrowed. */
typedef struct cos_sigv4_params {
    int version;              /**< COS_SIGV4_PARAMS_VERSION */
    const char *access_key;   /**< access key id */
    const char *secret_key;   /**< secret key */
    const char *session_token;/**< x-amz-security-token, or NULL */
    const char *region;       /**< e.g. "us-east-1" */
    const char *service;      /**< NULL = "s3" */
    const char *method;       /**< HTTP method */
    const char *encoded_path; /**< the path exactly as sent (already encoded) */
    const cos_kv *query;      /**< decoded query parameters */
    size_t query_count;       /**< entries in query */
    const cos_kv *headers;    /**< headers to sign (host included by the caller) */
    size_t header_count;      /**< entries in headers */
    const char *payload_hash; /**< hex SHA-256 of the body, or "UNSIGNED-PAYLOAD"; NULL = hash of "" (signing), UNSIGNED-PAYLOAD (presigning) */
    int64_t time;             /**< signing time (Unix s); 0 = now */
} cos_sigv4_params;

/** A cos_sigv4_params with defaults (only the version set). */
#define COS_SIGV4_PARAMS_INIT COS_STRUCT_INIT_(cos_sigv4_params, COS_SIGV4_PARAMS_VERSION)

/** The outputs of cos_sigv4_sign(). Owned; cos_sigv4_result_free(). */
typedef struct cos_sigv4_result {
    char *authorization;      /**< Authorization header value */
    char *amz_date;           /**< x-amz-date value to send */
    char *content_sha256;     /**< x-amz-content-sha256 value to send */
    char *canonical_request;  /**< for debugging */
    char *string_to_sign;     /**< for debugging */
} cos_sigv4_result;

/** Sign a request with AWS Signature V4 (S3 mode: the path is not encoded again). */
COS_API int cos_sigv4_sign(const cos_sigv4_params *p, cos_sigv4_result *out, cos_error **err);

/**
 * The query string of a SigV4 presigned URL (X-Amz-Algorithm ... X-Amz-Signature),
 * as S3 presigns: the payload is UNSIGNED-PAYLOAD unless payload_hash is set;
 * the host header (from `headers`, "" if absent) and every other header given
 * are signed and named in X-Amz-SignedHeaders; session_token becomes
 * X-Amz-Security-Token. `expires` is in seconds, 0 = 900, at most 604800
 * (S3's limit). The result starts with the `query` parameters (encoded, in
 * the order given), then the X-Amz-* ones: append it to the URL after "?".
 * *query is the caller's (free()).
 */
COS_API int cos_sigv4_presign(const cos_sigv4_params *p, int expires, char **query, cos_error **err);

/** Free the strings of a cos_sigv4_result (not the struct itself). */
COS_API void cos_sigv4_result_free(cos_sigv4_result *r);

#ifdef __cplusplus
}
#endif
#endif

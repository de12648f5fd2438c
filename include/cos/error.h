/**
 * @file error.h
 * @brief The one error type of libcos, and the contract of every
 * `cos_error **err` out-parameter.
 *
 * Every fallible function returns 0 on success or a negative cos_error_kind.
 * A server error keeps what COS sent (HTTP status, Code, Message, RequestId,
 * TraceId, Resource) so it can be reported to support.
 *
 * The `cos_error **err` out-parameter of every function that has one:
 * - `err` may be NULL: the detail is then discarded, the return value stays.
 * - Whatever `*err` held when the call began is freed by the call, so one
 *   `cos_error *err = NULL;` can be passed to call after call without leaks.
 * - After a success `*err` is NULL; after a failure it is a new error
 *   describing this call's failure (never a previous call's), owned by the
 *   caller and released with cos_error_free().
 * - `*err` must therefore be NULL or a live error on entry, never garbage.
 * - The *_async functions report a refusal up front through their return
 *   value and cos_async_error(); the error of an accepted call arrives in its
 *   completion callback, which owns it.
 * - A credential callback (cos_credentials_fn) receives an `err` that is
 *   NULL or a slot it may fill (with cos_error_new(), or by passing it to
 *   a libcos call); libcos takes what it stores there.
 */
#ifndef COS_ERROR_H
#define COS_ERROR_H

#include "cos/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What went wrong, in broad classes; every public call returns one of these. */
typedef enum cos_error_kind {
    COS_OK = 0,                 /**< success */
    COS_ERR_INVALID_ARG = -1,   /**< a parameter or option is invalid; `field` names it */
    COS_ERR_SERVER = -2,        /**< the server answered with an HTTP error; see http_status and code */
    COS_ERR_NETWORK = -3,       /**< connection failed, reset, or a response was cut short */
    COS_ERR_TIMEOUT = -4,       /**< the request took longer than the configured timeout */
    COS_ERR_INTEGRITY = -5,     /**< a CRC-64 or MD5 check failed: data was corrupted in transit */
    COS_ERR_CANCELED = -6,      /**< canceled or paused by the caller */
    COS_ERR_IO = -7,            /**< a local file could not be read or written */
    COS_ERR_NOMEM = -8,         /**< out of memory */
    COS_ERR_AUTH = -9,          /**< the credential callback failed or returned unusable keys */
    COS_ERR_PARSE = -10,        /**< the response could not be parsed (malformed or truncated XML) */
    COS_ERR_INTERNAL = -11      /**< a bug in libcos; please report it */
} cos_error_kind;

/**
 * A detailed error. All strings are owned by the error, NUL-terminated,
 * and NULL when unknown.
 */
typedef struct cos_error {
    cos_error_kind kind;    /**< broad class */
    int http_status;        /**< HTTP status of the failing response, 0 if none */
    char *code;             /**< COS error code such as "NoSuchKey", or NULL */
    char *message;          /**< human-readable message (always set) */
    char *request_id;       /**< x-cos-request-id of the failing response (S3: RequestId, x-amz-request-id), or NULL */
    char *trace_id;         /**< TraceId from the error body (S3: HostId, x-amz-id-2), or NULL */
    char *resource;         /**< Resource from the error body, or NULL */
    char *field;            /**< for COS_ERR_INVALID_ARG: the offending field or option */
    char *string_to_sign;   /**< for SignatureDoesNotMatch: the server's StringToSign, if sent */
    char *format_string;    /**< for SignatureDoesNotMatch: the server's FormatString (S3: CanonicalRequest), if sent */
    int os_errno;           /**< errno for COS_ERR_IO, 0 otherwise */
    int retries;            /**< how many times the request was retried before failing */
} cos_error;

/** Free an error and all its strings. NULL is allowed. */
COS_API void cos_error_free(cos_error *err);

/** The message of an error, or "" for NULL; never NULL. Owned by the error. */
COS_API const char *cos_error_message(const cos_error *err);

/** A static English name for a kind, e.g. "network error". */
COS_API const char *cos_error_kind_name(cos_error_kind kind);

/** A deep copy of an error (NULL on NULL or out of memory). The caller frees it. */
COS_API cos_error *cos_error_dup(const cos_error *err);

/**
 * A new error of this kind with this message (copied; NULL = the kind's
 * name), every other field unset; NULL if out of memory. The caller frees
 * it, or hands it over: a credential callback that fails for a reason of
 * its own stores one in its `err` slot (the only way to make a cos_error:
 * never allocate one yourself, the struct only grows at the end).
 */
COS_API cos_error *cos_error_new(cos_error_kind kind, const char *message);

#ifdef __cplusplus
}
#endif
#endif

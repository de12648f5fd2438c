/*
 * common.h — small definitions shared by every libcos header.
 */
#ifndef COS_COMMON_H
#define COS_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#if defined(_WIN32) && defined(COS_SHARED_BUILD)
#define COS_API __declspec(dllexport)
#elif defined(__GNUC__)
#define COS_API __attribute__((visibility("default")))
#else
#define COS_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** Library version. */
#define COS_VERSION_MAJOR 0
/** Library version. */
#define COS_VERSION_MINOR 1
/** Library version. */
#define COS_VERSION_PATCH 0
/** Library version as a string. */
#define COS_VERSION_STRING "0.1.0"

/**
 * A name/value pair: a header, a query parameter, a metadata entry or a tag.
 * In inputs the strings are borrowed from the caller; in results they are
 * owned by the result they belong to.
 */
typedef struct cos_kv {
    const char *name;   /**< name, e.g. "Content-Type" or "x-cos-meta-a" */
    const char *value;  /**< value; "" for a bare query parameter such as "acl" */
} cos_kv;

/** The version string of the library, e.g. "0.1.0". */
COS_API const char *cos_version(void);

#ifdef __cplusplus
}
#endif
#endif

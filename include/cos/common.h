/**
 * @file common.h
 * @brief Definitions shared by every libcos header: the version, cos_kv,
 * and the ABI rules every struct follows.
 *
 * ABI policy (docs/abi.md has the whole text):
 * - Every struct a caller fills and passes in (an options struct:
 *   cos_config, cos_request, cos_url_params, cos_transfer_params,
 *   cos_upload_files_params, cos_sign_params, cos_sigv4_params) starts with
 *   `int version`, set by its *_INIT macro to the COS_*_VERSION of the
 *   header the caller compiled against. Every such struct is checked the
 *   same way: a version this library does not know (0 = never initialised,
 *   a retired one, or a newer one) is refused with COS_ERR_INVALID_ARG,
 *   err->field "version" and a message naming the struct and the versions
 *   accepted. It is never misread.
 * - Fields are only appended. A known older version is read up to its own
 *   size and every later field is taken as zero, which by rule is that
 *   field's safe default: a zeroed struct with its version set is the safe
 *   configuration.
 * - A field whose meaning changes gets a new name and the struct a new
 *   version; the old version is retired (refused).
 * - Structs libcos hands out (results, errors, task lists, callback
 *   arguments) only grow at the end; never allocate or copy them yourself.
 * - The SONAME is libcos.so.MAJOR. MAJOR changes when a function is
 *   removed or changes its signature, an enum value changes, a field of a
 *   struct libcos hands out moves, or a struct version is retired.
 */
#ifndef COS_COMMON_H
#define COS_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

/** Marks a function exported by libcos (symbols not so marked are hidden). */
#if defined(_WIN32) && defined(COS_SHARED_BUILD)
#define COS_API __declspec(dllexport)
#elif defined(__GNUC__)
#define COS_API __attribute__((visibility("default")))
#else
#define COS_API
#endif

/**
 * What every *_INIT macro expands to: the struct zeroed but for its version.
 * In C a designated initializer; in C++ (where designated initializers are
 * C++20's, and g++ -Wextra warns about every field they leave out, so a
 * C++ program built with -Werror could not use the macros) a value-
 * initialised struct with its version set: the same bytes, from C++11 on.
 */
#ifdef __cplusplus
#define COS_STRUCT_INIT_(type, ver) ([]() { type cos_init_{}; cos_init_.version = (ver); return cos_init_; }())
#else
#define COS_STRUCT_INIT_(type, ver) { .version = (ver) }
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** Major version; the SONAME is libcos.so.MAJOR. */
#define COS_VERSION_MAJOR 1
/** Minor version: additions that keep the ABI. */
#define COS_VERSION_MINOR 0
/** Patch version: fixes only. */
#define COS_VERSION_PATCH 0
/** Library version as a string. */
#define COS_VERSION_STRING "1.0.0"

/**
 * A name/value pair: a header, a query parameter, a metadata entry or a tag.
 * In inputs the strings are borrowed from the caller; in results they are
 * owned by the result they belong to.
 */
typedef struct cos_kv {
    const char *name;   /**< name, e.g. "Content-Type" or "x-cos-meta-a" */
    const char *value;  /**< value; "" for a bare query parameter such as "acl" */
} cos_kv;

/** The version string of the library, e.g. "1.0.0". */
COS_API const char *cos_version(void);

#ifdef __cplusplus
}
#endif
#endif

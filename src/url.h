/*
 * url.h — URL building and encoding exactly as the official SDK does it:
 * hosts from Domain templates, virtual-hosted or path style, accelerate,
 * service domain; encodeURIComponent-plus escaping.
 */
#ifndef COS_URL_H
#define COS_URL_H

#include <stdbool.h>
#include "util.h"

/* encodeURIComponent plus ! ' ( ) *; with keep_slash, "/" stays (object keys in paths). */
int cos_uri_encode(cos_buf *out, const char *s, size_t len, bool keep_slash);
/* Percent-decoding ('+' is left alone); malloc'd, NULL on a bad escape. */
char *cos_uri_decode(const char *s, size_t len);

typedef struct cos_endpoint {
    const char *protocol;        /* "https:" or "http:" (NULL = https) */
    const char *domain;          /* template or NULL */
    const char *service_domain;  /* or NULL */
    bool path_style;
    bool accelerate;
    bool raw_key;                /* UseRawKey: a leading "/" of a key is kept */
    const char *endpoint;        /* "host[:port]" of an S3 (or COS) endpoint, or NULL (config.h) */
} cos_endpoint;

/* Whether a bucket goes in the path rather than the host: force_path_style,
 * or an endpoint that cannot carry it (an IP address, localhost), or a
 * dotted bucket name over https (no wildcard certificate matches it). */
bool cos_url_path_style(const cos_endpoint *ep, const char *bucket);

/* The host for a bucket in a region ("BUCKET.cos.REGION.myqcloud.com", templates,
 * accelerate); for bucket == NULL the service host. malloc'd. */
char *cos_url_host(const cos_endpoint *ep, const char *bucket, const char *region);

/* Build a full URL "proto//host/path?query" and the pathname that is signed
 * ("/" + key, or "/" + bucket + "/" + key in path style). The query list is
 * appended encoded, in the given order; values "" give bare names ("?acl").
 * *url and *pathname are malloc'd. key may be NULL or "". */
int cos_url_build(const cos_endpoint *ep, const char *bucket, const char *region, const char *key,
                  const cos_kv *query, size_t query_count, char **url, char **pathname);

/* Validation with clear messages naming the field (COS_ERR_INVALID_ARG). */
/* name-APPID for COS; with s3_names (the SigV4 signer), any S3 bucket name */
int cos_check_bucket(const char *bucket, bool s3_names, cos_error **err);
int cos_check_region(const char *region, cos_error **err);
/* The key after resolving "." and "..", repeated slashes: is it "/" (the bucket)? */
bool cos_key_is_bucket_root(const char *key);
/* Whether a ".." segment climbs above the bucket ("../x", "a/../../b"). */
bool cos_key_escapes_root(const char *key);
/* Whether a key resolves to the bucket itself once "." and ".." segments and
 * repeated slashes are resolved ("", "/", "//", "./", "a/..", "a/b/../.."):
 * it names no object, and COS reads such a path as the bucket itself (a
 * DELETE of it is DeleteBucket, a GET of it lists the bucket). */
bool cos_key_names_no_object(const char *key);

#endif

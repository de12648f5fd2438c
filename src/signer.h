/*
 * signer.h — the internals of the COS signature, shared by the client
 * (signing) and cos-server (verifying the same way COS does).
 */
#ifndef COS_SIGNER_H
#define COS_SIGNER_H

#include <stdbool.h>
#include "util.h"
#include "cos/sign.h"

/* Whether a header takes part in the signature (x-cos-*, x-ci-*, and the fixed list). */
bool cos_sign_header_allowed(const char *name);

/* The fields of an Authorization value (header form, or the presigned query form
 * "q-sign-algorithm=...&q-ak=..."). All malloc'd, NULL when absent. */
typedef struct cos_auth_fields {
    char *algorithm;       /* q-sign-algorithm */
    char *ak;              /* q-ak */
    char *sign_time;       /* q-sign-time "start;end" */
    char *key_time;        /* q-key-time */
    char *header_list;     /* q-header-list "a;b" */
    char *url_param_list;  /* q-url-param-list */
    char *signature;       /* q-signature */
} cos_auth_fields;

int cos_auth_parse(const char *authorization, cos_auth_fields *out);  /* 0 if well-formed */
void cos_auth_fields_free(cos_auth_fields *f);

/* The signature over exactly the given (already selected) params and headers:
 * names are encoded and lower-cased, pairs sorted, as the official SDK does.
 * sig_hex receives 40 hex chars + NUL. format_string / string_to_sign, if not
 * NULL, receive the intermediate strings (appended). Returns 0. */
int cos_sign_compute(const char *secret_key, const char *method, const char *pathname,
                     const char *key_time, const cos_kv *params, size_t nparams,
                     const cos_kv *headers, size_t nheaders, char sig_hex[41],
                     cos_buf *format_string, cos_buf *string_to_sign);

/* HMAC-SHA1 / SHA-1 / SHA-256 / HMAC-SHA256 helpers over OpenSSL libcrypto. */
void cos_sha1_hex(const void *data, size_t len, char out[41]);
void cos_hmac_sha1_hex(const void *key, size_t klen, const void *data, size_t len, char out[41]);
void cos_sha256_hex(const void *data, size_t len, char out[65]);
void cos_hmac_sha256(const void *key, size_t klen, const void *data, size_t len, unsigned char out[32]);

/* Presigned URLs (getObjectUrl). secret_id NULL = an unsigned URL (Sign: false). */
#include "url.h"
typedef struct cos_presign_input {
    const cos_endpoint *ep;
    const char *bucket, *region, *key, *method;
    const char *secret_id, *secret_key, *security_token;
    int64_t start_time;  /* window = start;start+expires (0 = now - 1) */
    int expires;         /* 0 = 900 */
    const cos_kv *query; size_t query_count;     /* extra params, signed and kept */
    const cos_kv *headers; size_t header_count;  /* signed (signable ones) */
    bool no_sign_host;   /* ForceSignHost: false */
} cos_presign_input;
int cos_presign_build(const cos_presign_input *in, char **url, cos_error **err);
/* The same with a ready Authorization (from a get_authorization callback). */
int cos_presign_with_authorization(const cos_presign_input *in, const char *authorization,
                                   const char *security_token, char **url, cos_error **err);

#endif

/*
 * s3sig.h — the pure computations of AWS's signatures as cos-server checks
 * them (no request, no clock), so tests can hold them to AWS's published
 * examples and to vectors made by other signers. s3auth.c applies them to
 * requests.
 */
#ifndef COS_SERVER_S3SIG_H
#define COS_SERVER_S3SIG_H

#include <stddef.h>
#include "util.h"

#define S3_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* SigV4's canonical request for S3: path is the decoded path (encoded here
 * once, '/' kept); query every parameter as decoded (the signature's own
 * X-Amz-Signature left out by the caller); headers every header of the request
 * (only those signed_headers names are used, repeats joined by ','); payload
 * the x-amz-content-sha256 value. malloc'd. */
char *s3_canonical_request(const char *method, const char *path, const cos_kv *query, size_t nquery,
                           const cos_kv *headers, size_t nheaders, const char *signed_headers, const char *payload);
/* HMAC chain AWS4+secret -> day -> region -> service -> aws4_request. */
void s3_signing_key(const char *secret, const char *day, const char *region, const char *service,
                    unsigned char key[32]);
/* The hex signature of a canonical request; scope is DAY/REGION/SERVICE/aws4_request. */
void s3_v4_signature(const unsigned char key[32], const char *amz_date, const char *scope, const char *canonical,
                     char sig[65], char **string_to_sign);
/* An aws-chunked chunk's signature, chained to prev (the seed or the previous chunk's). */
void s3_chunk_signature(const unsigned char key[32], const char *amz_date, const char *scope, const char *prev,
                        const char *chunk_sha256_hex, char sig[65]);
/* The signed trailer's signature over its canonical text ("name:value\n" per line). */
void s3_trailer_signature(const unsigned char key[32], const char *amz_date, const char *scope, const char *prev,
                          const char *canonical_trailer, size_t len, char sig[65]);
/* SigV2: base64 HMAC-SHA1 of string_to_sign (at least 29 bytes of out). */
void s3_v2_signature(const char *secret, const char *string_to_sign, size_t len, char out[64]);

#endif

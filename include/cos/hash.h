/**
 * @file hash.h
 * @brief the checksums COS uses: CRC-64/ECMA-182 (x-cos-hash-crc64ecma)
 * and MD5 (ETag, Content-MD5).
 */
#ifndef COS_HASH_H
#define COS_HASH_H

#include "cos/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Continue a CRC-64/ECMA-182 (the CRC-64/XZ variant COS sends) over `len`
 * bytes: start with crc = 0 and feed the previous return value to chain.
 */
COS_API uint64_t cos_crc64(uint64_t crc, const void *buf, size_t len);

/** crc(A‖B) from crc(A), crc(B) and len(B), without the data. */
COS_API uint64_t cos_crc64_combine(uint64_t crc_a, uint64_t crc_b, uint64_t len_b);

/** An incremental MD5. Opaque; cos_md5_free() releases it. */
typedef struct cos_md5 cos_md5;
/** A new MD5 state (NULL if out of memory). */
COS_API cos_md5 *cos_md5_new(void);
/** Feed bytes. */
COS_API void cos_md5_update(cos_md5 *m, const void *buf, size_t len);
/** Finish into 16 raw bytes; the state is reset and can be reused. */
COS_API void cos_md5_final(cos_md5 *m, unsigned char digest[16]);
/** Free the state. NULL is allowed. */
COS_API void cos_md5_free(cos_md5 *m);

/** One-shot MD5 into 16 raw bytes. */
COS_API void cos_md5_digest(const void *buf, size_t len, unsigned char digest[16]);
/** Lower-case hex of `len` bytes into out (2*len+1 bytes). */
COS_API void cos_hex_encode(const unsigned char *in, size_t len, char *out);
/** Base64 of `len` bytes into out (4*ceil(len/3)+1 bytes); returns the length written. */
COS_API size_t cos_base64_encode(const unsigned char *in, size_t len, char *out);
/** Decode base64 into out (at least 3*strlen(in)/4 bytes); returns the length, or -1 if invalid. */
COS_API int64_t cos_base64_decode(const char *in, unsigned char *out);

/** CRC-64 of a whole file (or a range: length -1 = to the end); 0 on success. */
COS_API int cos_crc64_file(const char *path, uint64_t offset, int64_t length, uint64_t *crc_out);

#ifdef __cplusplus
}
#endif
#endif

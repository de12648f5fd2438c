/* checksum.h — the checksums S3 offers beside MD5 (x-amz-checksum-*):
 * CRC-32, CRC-32C, CRC-64/NVME, SHA-1 and SHA-256. Used by libcos's S3
 * dialect on upload and by cos-server to verify S3 uploads.
 *
 * The CRCs chain like zlib's crc32(): start with 0, pass the previous
 * result to continue. On the wire S3 sends each value base64-encoded, the
 * CRCs as big-endian integers. */
#ifndef COS_CHECKSUM_H
#define COS_CHECKSUM_H
#include <stddef.h>
#include <stdint.h>

uint32_t cos_crc32(uint32_t crc, const void *buf, size_t len);      /* CRC-32/ISO-HDLC (zlib, gzip) */
uint32_t cos_crc32c(uint32_t crc, const void *buf, size_t len);     /* CRC-32C (Castagnoli, iSCSI) */
uint64_t cos_crc64nvme(uint64_t crc, const void *buf, size_t len);  /* CRC-64/NVME (S3's CRC64NVME) */

/* The table-driven versions, the reference the accelerated ones are tested against. */
uint32_t cos_crc32_portable(uint32_t crc, const void *buf, size_t len);
uint32_t cos_crc32c_portable(uint32_t crc, const void *buf, size_t len);

typedef enum {
    COS_CKSUM_NONE = 0,
    COS_CKSUM_CRC32,
    COS_CKSUM_CRC32C,
    COS_CKSUM_CRC64NVME,
    COS_CKSUM_SHA1,
    COS_CKSUM_SHA256,
} cos_cksum_alg;

/* "CRC32", "crc32c", "CRC64NVME", "SHA1", "SHA256" (any case) -> the
 * algorithm; COS_CKSUM_NONE for anything else. */
cos_cksum_alg cos_cksum_from_name(const char *name);
const char *cos_cksum_name(cos_cksum_alg alg);   /* "CRC32", ...: S3's ChecksumAlgorithm value */
const char *cos_cksum_header(cos_cksum_alg alg); /* "x-amz-checksum-crc32", ... */

/* A running checksum of one algorithm. Not thread-safe; one per stream. */
typedef struct cos_cksum cos_cksum;
cos_cksum *cos_cksum_new(cos_cksum_alg alg); /* NULL for NONE or out of memory */
void cos_cksum_update(cos_cksum *c, const void *buf, size_t len);
/* The digest so far, base64 as S3 sends it, in out (at least
 * COS_CKSUM_B64_MAX bytes, NUL-terminated); the checksum may be updated
 * further afterwards. Returns the length of the text. */
#define COS_CKSUM_B64_MAX 48
size_t cos_cksum_b64(const cos_cksum *c, char out[COS_CKSUM_B64_MAX]);
/* The raw digest (big-endian for CRCs) in out, at most 32 bytes; its length. */
size_t cos_cksum_raw(const cos_cksum *c, unsigned char out[32]);
void cos_cksum_free(cos_cksum *c);

/* S3's COMPOSITE checksum of a multipart object: the algorithm over the
 * concatenated raw checksums of the parts (given base64, as sent), base64,
 * then "-N" (N parts). Into out (at least COS_CKSUM_COMPOSITE_MAX bytes);
 * 0 when a part's value is not a valid checksum of alg. */
#define COS_CKSUM_COMPOSITE_MAX (COS_CKSUM_B64_MAX + 24)
size_t cos_cksum_composite(cos_cksum_alg alg, const char *const *parts_b64, size_t n,
                           char out[COS_CKSUM_COMPOSITE_MAX]);

#endif

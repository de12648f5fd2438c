/* hash_internal.h — the portable CRC-64, exposed so tests and benchmarks can hold ISA-L to it. */
#ifndef COS_HASH_INTERNAL_H
#define COS_HASH_INTERNAL_H
#include <stddef.h>
#include <stdint.h>
uint64_t cos_crc64_portable(uint64_t crc, const void *buf, size_t len);
/* cos_crc64_file of an open file (a transfer's own descriptor: the file it
 * measured, not whatever the path names now). */
int cos_crc64_fd(int fd, uint64_t offset, int64_t length, uint64_t *crc_out);
#endif

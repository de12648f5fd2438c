/* hash_internal.h — the portable CRC-64, exposed so tests and benchmarks can hold ISA-L to it. */
#ifndef COS_HASH_INTERNAL_H
#define COS_HASH_INTERNAL_H
#include <stddef.h>
#include <stdint.h>
uint64_t cos_crc64_portable(uint64_t crc, const void *buf, size_t len);
#endif

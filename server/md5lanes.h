/* md5lanes.h — MD5 over many independent streams side by side.
 * One MD5 stream is a chain of dependent steps (~0.65 GB/s a core with
 * OpenSSL here), and cos-server needs an MD5 ETag for every body it stores:
 * with several uploads in flight it was half of the server's CPU. Streams
 * side by side share vector registers (SSE2: 4 lanes, AVX2: 8) or run
 * interleaved in scalar ones, so parts uploaded in parallel are hashed at
 * once by one thread (RFC 1321's algorithm; the ISA-L crypto library that
 * does the same is not packaged by Debian). */
#ifndef COS_SERVER_MD5LANES_H
#define COS_SERVER_MD5LANES_H
#include <stddef.h>
#include <stdint.h>

enum { MD5_LANES = 8, MD5_BLOCK = 64 };

/* One stream: its chaining value, its length so far and a partial block. */
typedef struct md5_stream {
    uint32_t h[4];
    uint64_t len;
    unsigned char tail[MD5_BLOCK];
    size_t tail_len;
} md5_stream;

void md5_stream_init(md5_stream *m);
/* Hash bytes on this thread (one stream). */
void md5_stream_update(md5_stream *m, const void *data, size_t len);
void md5_stream_final(md5_stream *m, unsigned char out[16]);

/* Advance up to MD5_LANES streams over whole blocks at once: stream i (of
 * n) takes nblocks[i] blocks from data[i]. The streams must have no partial
 * block pending (tail_len 0); lengths are accounted. */
void md5_lanes_blocks(md5_stream *const *s, const unsigned char *const *data, const size_t *nblocks, int n);

/* The code paths: each count of streams takes the one that was fastest
 * on this CPU in a trial at the first call (AUTO). Tests force each in
 * turn, since the AUTO choice leaves the others untested on one machine;
 * one this CPU lacks falls back to SCALAR. Not thread-safe: force while
 * nothing hashes. Returns the path forced before. */
enum { MD5_PATH_AUTO, MD5_PATH_SCALAR, MD5_PATH_INTERLEAVED, MD5_PATH_SSE2, MD5_PATH_AVX2, MD5_PATH_AVX512, MD5_PATHS };
int md5_lanes_force(int path);

/* Which code paths md5_lanes_blocks takes on this machine, per count of
 * streams, or the path forced (for logs and benches). */
const char *md5_lanes_path(void);
#endif

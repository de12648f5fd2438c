/* sse.h — SSE-C for cos-server (sse.c). */
#ifndef COS_SERVER_SSE_H
#define COS_SERVER_SSE_H

#include "server.h"

typedef struct sse_key {
    bool on;
    unsigned char key[32];
    char key_md5[32];        /* base64 of MD5(key) */
    bool managed;            /* the server's key (SSE-COS/SSE-S3, KMS), not the customer's */
    char alg[16];            /* managed: AES256, cos/kms or aws:kms */
    char key_id[128];        /* managed KMS: the key's id ("" for the default key) */
} sse_key;

/* The managed key of alg (AES256, cos/kms, aws:kms) and key_id, from the
 * server's local key service: keys by id, derived from a master key kept in
 * the store's root (made on first use). 0, or -1 when it cannot be read. */
int sse_managed_key(store *st, const char *alg, const char *key_id, sse_key *k);
/* Whether stored headers mark an object encrypted under a managed key; then
 * that key to k. 0 not managed, 1 managed (k set), -1 the key cannot be read. */
int sse_object_managed(store *st, const char *headers, sse_key *k);
/* The stored record of a managed key among headers, for an object made
 * from them (a completed upload): malloc'd, "" when there is none. */
char *sse_managed_record(const char *headers);

/* The customer key of a request (copy_source: the x-cos-copy-source-… set).
 * 0 with k->on false when none is given; 0 with the key; -1 when the headers
 * are malformed or disagree (an error was sent). */
int sse_from_request(req *r, bool copy_source, sse_key *k, enum MHD_Result *ret);
/* XOR the keystream of data file data_id at offset off into buf. */
int sse_crypt(const sse_key *k, const char *data_id, uint64_t off, unsigned char *buf, size_t len);
/* data_pread, decrypted with k when k is set. */
ssize_t sse_pread(const data_reader *r, const sse_key *k, void *buf, size_t len, uint64_t off);
/* Append len bytes of src_id at off to w, decrypting with from and
 * encrypting with to (either may be NULL or off). w hashes what it is given:
 * set w->no_hash when encrypting and take the hashes from the plaintext.
 * 0, -1 on error, -2 when src_id's files are gone (replaced or deleted). */
int sse_transform(store *st, const char *src_id, uint64_t off, uint64_t len, const sse_key *from, const sse_key *to,
                  data_writer *w);
/* Encrypt a body still held in memory by its writer, before data_finish
 * stores it (its hashes are already those of the plaintext): 1 done, 0 the
 * body is in a file (use sse_transform after), -1 error. */
int sse_encrypt_pending(data_writer *w, const sse_key *k);
/* Whether stored headers mark an SSE-C object (its key's MD5 to md5_out). */
bool sse_object_encrypted(const char *headers, char md5_out[32]);
/* 0 if k may read an object with these headers; else an error was sent. */
int sse_check_access(req *r, const char *headers, sse_key *k, enum MHD_Result *ret);
/* (An object under a managed key: k becomes that key, whatever the request gave.) */
/* The header lines an object keeps for its encryption (malloc'd, maybe ""). */
char *sse_headers(const sse_key *k, const char *sse_header);

#endif

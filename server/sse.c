/*
 * sse.c — server-side encryption with a customer key (SSE-C).
 *
 * The bytes of an SSE-C object are stored encrypted with AES-256 in CTR
 * mode under the customer's key, which is never stored: only its MD5 is
 * kept (among the object's headers, as COS echoes it), so a GET must bring
 * the key again. CTR keeps every byte addressable, so ranges and multipart
 * objects (a manifest of parts, each encrypted on its own) are decrypted
 * from any offset. The counter of a data file starts at MD5 of its data id
 * (without the first character, which the store rewrites when a small body
 * is kept inline), so no two files share a keystream.
 */
#define _GNU_SOURCE
#include "server.h"
#include "sse.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#define SSE_PREFIX "x-cos-server-side-encryption-customer-"
/* Among an object's stored headers (never sent): "alg key-id" of its managed key. */
#define MANAGED_LINE "x-cos-internal-sse-managed:"
#define MASTER_FILE "sse-master.key"
#define SSE_COPY_PREFIX "x-cos-copy-source-server-side-encryption-customer-"

int sse_from_request(req *r, bool copy_source, sse_key *k, enum MHD_Result *ret)
{
    memset(k, 0, sizeof *k);
    const char *pre = copy_source ? SSE_COPY_PREFIX : SSE_PREFIX;
    const char *alg = req_header(r, copy_source ? SSE_COPY_PREFIX "algorithm" : SSE_PREFIX "algorithm");
    const char *key = req_header(r, copy_source ? SSE_COPY_PREFIX "key" : SSE_PREFIX "key");
    const char *md5 = req_header(r, copy_source ? SSE_COPY_PREFIX "key-MD5" : SSE_PREFIX "key-MD5");
    if (!alg && !key && !md5) return 0;
    if (!alg || strcmp(alg, "AES256") != 0) {
        *ret = send_error(r, "InvalidArgument", "The %salgorithm must be AES256.", pre);
        return -1;
    }
    unsigned char raw[48];
    if (!key || strlen(key) > 64 || cos_base64_decode(key, raw) != 32) {
        *ret = send_error(r, "InvalidArgument", "The %skey must be 32 bytes, base64-encoded.", pre);
        return -1;
    }
    unsigned char d[16], given[24];
    cos_md5_digest(raw, 32, d);
    if (!md5 || strlen(md5) > 32 || cos_base64_decode(md5, given) != 16 || memcmp(d, given, 16) != 0) {
        *ret = send_error(r, "InvalidArgument", "The %skey-MD5 does not match the key.", pre);
        return -1;
    }
    memcpy(k->key, raw, 32);
    cos_base64_encode(d, 16, k->key_md5);
    k->on = true;
    return 0;
}

/* XOR the keystream of data file `data_id` at byte offset `off` into buf. */
int sse_crypt(const sse_key *k, const char *data_id, uint64_t off, unsigned char *buf, size_t len)
{
    unsigned char iv[16];
    cos_md5_digest(data_id + 1, strlen(data_id + 1), iv);
    /* the counter block of offset off: iv + off/16, big-endian */
    uint64_t add = off / 16;
    for (int i = 15; i >= 0 && add; i--) {
        unsigned v = iv[i] + (unsigned)(add & 0xff);
        iv[i] = (unsigned char)v;
        add = (add >> 8) + (v >> 8);
    }
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int outl = 0, ok = c && EVP_EncryptInit_ex(c, EVP_aes_256_ctr(), NULL, k->key, iv) == 1;
    unsigned char skip[16];
    if (ok && off % 16) ok = EVP_EncryptUpdate(c, skip, &outl, skip, (int)(off % 16)) == 1;
    while (ok && len) {
        int n = len > (1 << 30) ? 1 << 30 : (int)len;
        ok = EVP_EncryptUpdate(c, buf, &outl, buf, n) == 1;
        buf += n;
        len -= (size_t)n;
    }
    EVP_CIPHER_CTX_free(c);
    return ok ? 0 : -1;
}

ssize_t sse_pread(const data_reader *r, const sse_key *k, void *buf, size_t len, uint64_t off)
{
    uint64_t base = 0;
    for (size_t i = 0; i < r->n; base += r->sizes[i], i++) {
        if (off >= base + r->sizes[i]) continue;
        ssize_t n = data_pread(r, buf, len, off);
        if (n > 0 && k && k->on && sse_crypt(k, r->ids[i], off - base, buf, (size_t)n) != 0) return -1;
        return n;
    }
    return 0;
}

int sse_transform(store *st, const char *src_id, uint64_t off, uint64_t len, const sse_key *from, const sse_key *to,
                  data_writer *w)
{
    data_reader dr;
    if (data_open(st, src_id, &dr) != 0) return -2; /* gone: its object was replaced or deleted meanwhile */
    enum { CHUNK = 1 << 20 };
    unsigned char *buf = malloc(CHUNK);
    int rc = buf ? 0 : -1;
    uint64_t pos = off, end = off + len;
    while (rc == 0 && pos < end) {
        size_t want = (size_t)COS_MIN((uint64_t)CHUNK, end - pos);
        ssize_t n = sse_pread(&dr, from, buf, want, pos);
        if (n <= 0) {
            rc = -1;
            break;
        }
        /* the writer's offset is its size so far: that is where these bytes go */
        if (to && to->on && sse_crypt(to, w->data_id, w->size, buf, (size_t)n) != 0) rc = -1;
        if (rc == 0 && data_write(w, buf, (size_t)n) != 0) rc = -1;
        pos += (uint64_t)n;
    }
    free(buf);
    data_close(&dr);
    return rc;
}

bool sse_object_encrypted(const char *headers, char md5_out[32])
{
    const char *name = SSE_PREFIX "key-MD5:";
    for (const char *p = headers ? headers : ""; *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len > strlen(name) && !strncasecmp(p, name, strlen(name))) {
            const char *v = p + strlen(name);
            while (*v == ' ') v++;
            snprintf(md5_out, 32, "%.*s", (int)(p + len - v), v);
            return true;
        }
        p += len + (e ? 1 : 0);
    }
    return false;
}

int sse_check_access(req *r, const char *headers, sse_key *k, enum MHD_Result *ret)
{
    int mrc = sse_object_managed(r->srv->st, headers, k);
    if (mrc != 0) {
        if (mrc < 0) *ret = send_error(r, "InternalError", "The object's encryption key cannot be read.");
        return mrc < 0 ? -1 : 0;
    }
    char want[32];
    if (!sse_object_encrypted(headers, want)) {
        return 0; /* a key given for a plain object is ignored, as in COS */
    }
    if (!k->on) {
        *ret = send_error(r, "InvalidRequest", "The object was stored using a form of Server Side Encryption. "
                                               "The correct parameters must be provided to retrieve the object.");
        return -1;
    }
    if (strcmp(want, k->key_md5) != 0) {
        /* S3 answers a wrong key as a bad argument (400), COS as a refusal */
        *ret = send_error(r, r->is_s3 ? "InvalidArgument" : "AccessDenied",
                          "The provided customer key does not match the object's.");
        return -1;
    }
    return 0;
}

char *sse_headers(const sse_key *k, const char *sse_header)
{
    cos_buf b = COS_BUF_INIT;
    cos_buf_puts(&b, "");
    if (k && k->on && k->managed) {
        cos_buf_printf(&b, "x-cos-server-side-encryption: %s\n" MANAGED_LINE " %s %s\n", k->alg, k->alg, k->key_id);
        if (k->key_id[0]) cos_buf_printf(&b, "x-cos-server-side-encryption-cos-kms-key-id: %s\n", k->key_id);
    } else if (k && k->on)
        cos_buf_printf(&b, "%salgorithm: AES256\n%skey-MD5: %s\n", SSE_PREFIX, SSE_PREFIX, k->key_md5);
    else if (sse_header && *sse_header)
        cos_buf_printf(&b, "x-cos-server-side-encryption: %s\n", sse_header);
    return cos_buf_detach(&b);
}

int sse_encrypt_pending(data_writer *w, const sse_key *k)
{
    if (!w->in_memory || w->error) return 0;
    return sse_crypt(k, w->data_id, 0, w->mem, w->size) == 0 ? 1 : -1;
}

/* The master key of the local key service: 32 random bytes in the store's
 * root, readable by the server alone, made on first use. */
static int master_key(store *st, unsigned char out[32])
{
    char *path = cos_sprintf("%s/" MASTER_FILE, store_root(st));
    int rc = -1;
    for (int attempt = 0; attempt < 2 && rc != 0; attempt++) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            rc = read(fd, out, 32) == 32 ? 0 : -1;
            close(fd);
            break;
        }
        if (errno != ENOENT) break;
        unsigned char fresh[32];
        char *tmp = cos_sprintf("%s.%ld.tmp", path, (long)getpid());
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        bool ok = fd >= 0 && RAND_bytes(fresh, 32) == 1 && write(fd, fresh, 32) == 32 && fsync(fd) == 0;
        if (fd >= 0) close(fd);
        /* link, not rename: two servers racing keep the first key made */
        if (ok && link(tmp, path) != 0 && errno != EEXIST) ok = false;
        unlink(tmp);
        free(tmp);
        if (!ok) break;
    }
    free(path);
    return rc;
}

int sse_managed_key(store *st, const char *alg, const char *key_id, sse_key *k)
{
    memset(k, 0, sizeof *k);
    unsigned char master[32];
    if (strlen(alg) >= sizeof k->alg || strlen(key_id) >= sizeof k->key_id || master_key(st, master) != 0) return -1;
    /* each (alg, key id) has its own data key: HMAC-SHA256(master, alg " " id) */
    char *label = cos_sprintf("%s %s", alg, key_id);
    unsigned int n = 32;
    bool ok = HMAC(EVP_sha256(), master, 32, (const unsigned char *)label, strlen(label), k->key, &n) != NULL;
    free(label);
    OPENSSL_cleanse(master, sizeof master);
    if (!ok) return -1;
    snprintf(k->alg, sizeof k->alg, "%s", alg);
    snprintf(k->key_id, sizeof k->key_id, "%s", key_id);
    k->managed = true;
    k->on = true;
    return 0;
}

int sse_object_managed(store *st, const char *headers, sse_key *k)
{
    const char *name = MANAGED_LINE;
    for (const char *p = headers ? headers : ""; *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len > strlen(name) && !strncasecmp(p, name, strlen(name))) {
            const char *v = p + strlen(name);
            while (*v == ' ') v++;
            char *val = cos_strndup(v, (size_t)(p + len - v));
            char *colon = strchr(val, ' '); /* "alg key-id": no alg has a space, nor any key id */
            if (colon) *colon = '\0';
            int rc = sse_managed_key(st, val, colon ? colon + 1 : "", k) == 0 ? 1 : -1;
            free(val);
            return rc;
        }
        p += len + (e ? 1 : 0);
    }
    return 0;
}

char *sse_managed_record(const char *headers)
{
    const char *name = MANAGED_LINE;
    for (const char *p = headers ? headers : ""; *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len > strlen(name) && !strncasecmp(p, name, strlen(name))) return cos_sprintf("%.*s\n", (int)len, p);
        p += len + (e ? 1 : 0);
    }
    return cos_strdup("");
}

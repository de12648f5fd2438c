/* fuzz_srv_sts.c — cos-server's /sts endpoint parsers and its key file read
 * back: the policy a /sts request asks for (query string, form or JSON body)
 * and sts.json as a crash may have left it (an array written whole, then a
 * line per key, the last maybe cut short). In-process, no file written.
 * Input: a mode byte, then the query, the body or the file.
 * Property: the keys loaded, saved as the server saves them and loaded
 * again, are the same keys (same count). */
#define _GNU_SOURCE
/* sts.c's static reader: this TU stands in for sts.c (CMake links the rest
   of the server, see fuzz/CMakeLists.txt) */
#include "../server/sts.c"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static sts_store *store_new(void)
{
    sts_store *s = calloc(1, sizeof *s);
    if (!s) abort();
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->file_lock, NULL);
    s->fd = -1;
    s->max_keys = STS_MAX_KEYS_DEFAULT;
    s->next_expiry = INT64_MAX;
    return s;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size < 1) return 0;
    unsigned mode = data[0] % 3;
    char *text = cos_strndup((const char *)data + 1, size - 1);
    if (!text) return 0;
    if (mode < 2) {
        char *msg = NULL;
        char *pol = mode == 0 ? sts_requested_policy(text, NULL, 0, &msg)
                              : sts_requested_policy(NULL, (const char *)data + 1, size - 1, &msg);
        if (!pol && !msg) abort(); /* a refusal says why */
        free(pol);
        free(msg);
        free(text);
        return 0;
    }
    sts_store *a = store_new();
    load(a, (const char *)data + 1, size - 1);
    cos_buf snap = COS_BUF_INIT;
    size_t n = snapshot(a, &snap);
    if (n != a->live) abort();
    sts_store *b = store_new();
    load(b, snap.data, snap.len);
    /* a key that expired in between is dropped, rightly: equal unless one was about to */
    if (b->live > n || (b->live < n && a->next_expiry > (int64_t)time(NULL) + 5)) abort();
    cos_buf_free(&snap);
    sts_store_close(a);
    sts_store_close(b);
    free(text);
    return 0;
}

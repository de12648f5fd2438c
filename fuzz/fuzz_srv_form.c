/* fuzz_srv_form.c — cos-server's own part of a POST form's parsing: the
 * boundary taken from Content-Type, and the watch for the form's close
 * ("\r\n--BOUNDARY--") across the pieces the body arrives in (what follows is
 * an epilogue, never fed to libmicrohttpd's parser; the fields themselves are
 * libmicrohttpd's, reached end to end by fuzz_server); and the request URL's
 * unescaping (the first line read as a URL). In-process.
 * Input: a Content-Type line, "\n", the body; the first byte also picks how
 * the body is cut. Property: wherever the body is cut, the bytes fed stop
 * right after the first close, or are all of the body when it has none. */
#define _GNU_SOURCE
/* main.c's static helpers: this TU stands in for main.c (CMake links the rest
   of the server, see fuzz/CMakeLists.txt) */
#include "../server/main.c"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static size_t feed(const char *close, const unsigned char *d, size_t n, size_t piece, unsigned seed)
{
    req *r = calloc(1, sizeof *r);
    if (!r) abort();
    r->form_close = cos_strdup(close);
    size_t fed = 0;
    for (size_t off = 0; off < n;) {
        size_t take = piece ? 1 + (seed = seed * 1103515245u + 12345u) % piece : n - off;
        if (take > n - off) take = n - off;
        size_t used = form_piece(r, (const char *)d + off, take);
        if (used > take) abort();
        if (used < take && !r->form_closed) abort();
        fed += used;
        off += take;
    }
    free(r->form_close);
    free(r);
    return fed;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    if (size < 1) return 0;
    unsigned seed = data[0];
    const unsigned char *nl = memchr(data, '\n', size);
    if (!nl || nl == data) return 0; /* the first byte is the cut's seed, not the Content-Type */
    char *ct = cos_strndup((const char *)data + 1, (size_t)(nl - data) - 1);
    if (!ct) return 0;
    { /* the same line as a request's URL: the server's own unescaping (a %00 never cuts it short) */
        char *uri = cos_strdup(ct);
        size_t in = strlen(uri), out = unescape_uri(NULL, NULL, uri);
        if (out > in || strlen(uri) != out) abort();
        free(uri);
    }
    char *close = form_close_of(ct);
    free(ct);
    if (!close) return 0;
    if (strlen(close) > 76 || strncmp(close, "\r\n--", 4) != 0) abort();
    const unsigned char *body = nl + 1;
    size_t n = size - (size_t)(body - data);
    const unsigned char *at = memmem(body, n, close, strlen(close));
    size_t want = at ? (size_t)(at - body) + strlen(close) : n;
    if (feed(close, body, n, 0, seed) != want) abort();
    if (feed(close, body, n, 1 + seed % 90, seed) != want) abort();
    if (feed(close, body, n, 1, seed) != want) abort();
    free(close);
    return 0;
}

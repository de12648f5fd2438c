/*
 * main.c — cos-server's core: the libmicrohttpd daemon (server_start/stop),
 * the life of one request (addressing, body streaming to disk, dispatch),
 * responses and errors in COS's XML shape, one log line per request.
 * Flags and signals are in server_main.c, so tests and fuzzers can run the
 * server inside their own process.
 */
#define _GNU_SOURCE
#include "server.h"
#include "archive.h"
#include "s3names.h"
#include "url.h"
#include "xml.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_SMALL_BODY (20u << 20)
#define FORM_FIELD_MAX (64u << 10) /* a POST form's field other than the file (a policy is a few KB) */
#define FORM_FIELDS_MAX 256
#define HEADER_TIMEOUT_S(srv) ((srv)->cfg.header_timeout_s ? (srv)->cfg.header_timeout_s : HEADER_TIMEOUT_DEFAULT_S)
#define BODY_TIMEOUT_S(srv) ((srv)->cfg.body_timeout_s ? (srv)->cfg.body_timeout_s : BODY_TIMEOUT_DEFAULT_S)
/* A connection's memory (request head, read buffer, answer's head): libmicrohttpd
 * zeroes all of it after every request, 1.5x its size with the read buffer's
 * shrink, so a small request pays for its size: 384 KiB of stores per request
 * at 256 KiB. 64 KiB still takes a head of tens of KiB (COS allows 2 KiB of
 * metadata); large bodies do not depend on it (SINK_BATCH). */
#define CONN_POOL (64u << 10)


/* ---------------------------------------------------------------- errors */

static const struct { const char *code; int status; } ERRORS[] = {
    { "NoSuchBucket", 404 }, { "NoSuchKey", 404 }, { "NoSuchUpload", 404 }, { "NoSuchVersion", 404 },
    { "NoSuchCORSConfiguration", 404 }, { "NoSuchLifecycleConfiguration", 404 }, { "NoSuchTagSet", 404 },
    { "NoSuchBucketPolicy", 404 }, { "NoSuchWebsiteConfiguration", 404 }, { "NoSuchReplicationConfiguration", 404 },
    { "NoSuchInventoryConfiguration", 404 }, { "NoSuchOriginConfiguration", 404 }, { "NoSuchDomainConfiguration", 404 },
    { "NoSuchEncryptionConfiguration", 404 }, { "NoSuchResource", 404 },
    { "ServerSideEncryptionConfigurationNotFoundError", 404 }, /* S3's name of the one before last */
    { "BucketAlreadyOwnedByYou", 409 }, { "BucketAlreadyExists", 409 }, { "BucketNotEmpty", 409 },
    { "PositionNotEqualToLength", 409 }, { "ObjectNotAppendable", 409 }, { "FileAlreadyExists", 409 },
    { "AccessDenied", 403 }, { "SignatureDoesNotMatch", 403 }, { "InvalidAccessKeyId", 403 },
    { "RequestTimeTooSkewed", 403 }, { "InvalidArgument", 400 }, { "InvalidBucketName", 400 },
    { "EntityTooSmall", 400 }, { "EntityTooLarge", 400 }, { "InvalidPart", 400 }, { "InvalidPartOrder", 400 },
    { "BadDigest", 400 }, { "InvalidDigest", 400 }, { "MalformedXML", 400 }, { "InvalidRequest", 400 },
    { "MalformedPolicy", 400 }, { "UnresolvableGrantByEmailAddress", 400 }, { "MissingContentLength", 411 }, { "InvalidURI", 400 }, { "RequestURITooLong", 414 }, { "KeyTooLong", 400 },
    { "MethodNotAllowed", 405 }, { "PreconditionFailed", 412 }, { "InvalidRange", 416 },
    { "NotImplemented", 501 }, { "InternalError", 500 }, { "SlowDown", 503 }, { "ServiceUnavailable", 503 },
    { "InvalidObjectState", 403 }, { "RestoreAlreadyInProgress", 409 }, { "InvalidStorageClass", 400 },
    { "NoSuchPublicAccessBlockConfiguration", 404 }, { "OwnershipControlsNotFoundError", 404 },
    { "InvalidTag", 400 }, { "GatewayTimeout", 504 }, { "InvalidLifecycleConfiguration", 400 },
    { "ObjectLockConfigurationNotFoundError", 404 }, { "InvalidBucketState", 409 },
    { "NoSuchObjectLockConfiguration", 404 },
};

int error_status(const char *code)
{
    for (size_t i = 0; i < COS_ARRAY_LEN(ERRORS); i++)
        if (strcmp(ERRORS[i].code, code) == 0) return ERRORS[i].status;
    return 400;
}

/* On an S3 request a handler's x-cos-* name reads the x-amz-* header of the
 * same meaning (src/s3names.c), so no handler knows the dialect. An x-cos-*
 * name S3 has no equivalent for reads nothing: such a request carries no
 * x-cos-* header at all (handle_request refuses the mix). */
const char *req_header(req *r, const char *name)
{
    if (r->is_s3 && strncasecmp(name, "x-cos-", 6) == 0) {
        char *s3 = cos_s3_header_name(name);
        const char *v = s3 ? MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, s3) : NULL;
        free(s3);
        return v;
    }
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *req_arg(req *r, const char *name)
{
    if (r->no_args) return NULL;
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

typedef struct arg_probe { const char *name; bool found; } arg_probe;
static enum MHD_Result probe_cb(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    (void)value;
    arg_probe *p = cls;
    if (strcmp(key, p->name) == 0) {
        p->found = true;
        return MHD_NO;
    }
    return MHD_YES;
}

bool req_has_arg(req *r, const char *name)
{
    if (r->no_args) return false; /* routing asks for some forty sub-resources */
    arg_probe p = { name, false };
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, probe_cb, &p);
    return p.found;
}

static enum MHD_Result collect_cos_names(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    if (cos_starts_with_ci(key, "x-cos-")) cos_kvlist_add(cls, key, value ? value : "");
    return MHD_YES;
}

/* An answer to an S3 request names its headers as S3 does (x-amz-meta-*,
 * x-amz-version-id, ...); COS's own with no S3 name (x-cos-hash-crc64ecma)
 * stay, as COS sends them to S3 clients too. */
static void rename_for_s3(struct MHD_Response *resp)
{
    cos_kvlist cos = COS_KVLIST_INIT;
    MHD_get_response_headers(resp, collect_cos_names, &cos);
    for (size_t i = 0; i < cos.count; i++) {
        char *s3 = cos_s3_header_name(cos.items[i].name);
        if (!s3) continue;
        MHD_del_response_header(resp, cos.items[i].name, cos.items[i].value);
        MHD_add_response_header(resp, s3, cos.items[i].value);
        free(s3);
    }
    cos_kvlist_free(&cos);
}

static void add_common_headers(req *r, struct MHD_Response *resp)
{
    if (!r->no_request_id) MHD_add_response_header(resp, "x-cos-request-id", r->request_id);
    if (r->is_s3) {
        rename_for_s3(resp);
        if (!r->no_request_id) MHD_add_response_header(resp, "x-amz-id-2", r->request_id);
    }
    MHD_add_response_header(resp, "Server", "tencent-cos");
    cors_add_headers(r, resp);
}

static enum MHD_Result render_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    cos_buf_printf(cls, "%s: %s\r\n", key, value ? value : "");
    return MHD_YES;
}

/* The answer as it goes on the wire, with Connection: close (answer_early sends it itself). */
static void render_answer(req *r, int status, struct MHD_Response *resp)
{
    add_common_headers(r, resp);
    cos_buf_free(&r->early);
    const char *reason = MHD_get_reason_phrase_for((unsigned)status);
    cos_buf_printf(&r->early, "HTTP/1.1 %d %s\r\n", status, reason && *reason ? reason : "Error");
    MHD_get_response_headers(resp, render_header, &r->early);
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&now, &tm));
    cos_buf_printf(&r->early, "Date: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", date,
                   strcmp(r->method, "HEAD") ? r->early_body_len : 0);
    if (strcmp(r->method, "HEAD") != 0) cos_buf_append(&r->early, r->early_body, r->early_body_len);
    r->early_status = status;
}

enum MHD_Result send_response(req *r, int status, struct MHD_Response *resp)
{
    if (r->dry_run) { /* only the verdict was wanted (on_request) */
        if (r->capture) render_answer(r, status, resp);
        free(r->early_body);
        r->early_body = NULL;
        r->early_body_len = 0;
        MHD_destroy_response(resp);
        return MHD_YES;
    }
    add_common_headers(r, resp);
    r->status = status;
    conns_answering(r->srv, r->conn);
    enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

enum MHD_Result send_buffer(req *r, int status, const char *content_type, char *body, size_t len,
                            struct MHD_Response **keep)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body ? body : (char *)"", body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (content_type) MHD_add_response_header(resp, "Content-Type", content_type);
    r->bytes_out += len;
    if (r->dry_run && r->capture) { /* what render_answer sends */
        free(r->early_body);
        r->early_body = len ? malloc(len) : NULL;
        r->early_body_len = r->early_body ? len : 0;
        if (r->early_body) memcpy(r->early_body, body, len);
    }
    if (keep) {
        *keep = resp;
        return MHD_YES;
    }
    return send_response(r, status, resp);
}

/* Where S3 names an error differently from COS. */
static const char *s3_error_code(const char *code)
{
    static const char *const NAMES[][2] = {
        { "NoSuchEncryptionConfiguration", "ServerSideEncryptionConfigurationNotFoundError" },
    };
    for (size_t i = 0; i < COS_ARRAY_LEN(NAMES); i++)
        if (!strcmp(code, NAMES[i][0])) return NAMES[i][1];
    return code;
}

/* Bytes of one well-formed UTF-8 character at s that XML 1.0 can carry, or 0. */
static size_t xml_char_len(const unsigned char *s)
{
    uint32_t cp = 0;
    size_t n = cos_utf8_len(s, &cp);
    return n && (cp >= 0x20 || cp == '\t' || cp == '\n') && cp != 0xFFFE && cp != 0xFFFF ? n : 0;
}

/* The request's path (or a message quoting what the request sent) in an
 * error body: bytes no XML can carry (a control character, bad UTF-8) are
 * percent-encoded, so the answer stays well-formed for the client to read. */
static void put_resource(cos_buf *b, const char *res)
{
    const unsigned char *s = (const unsigned char *)res;
    while (*s) {
        size_t n = xml_char_len(s);
        if (n) {
            cos_xml_escape(b, (const char *)s, n);
            s += n;
        } else {
            cos_buf_printf(b, "%%%02X", *s++);
        }
    }
}

static enum MHD_Result send_error_full(req *r, const char *code, const char *msg, const char *sts, const char *fs)
{
    if (r->is_s3) code = s3_error_code(code);
    int status = error_status(code);
    cos_buf b = COS_BUF_INIT;
    cos_buf_puts(&b, "<?xml version='1.0' encoding='utf-8' ?>\n<Error><Code>");
    cos_xml_escape(&b, code, strlen(code));
    cos_buf_puts(&b, "</Code><Message>");
    put_resource(&b, msg); /* it may quote a key or header the request sent */
    cos_buf_puts(&b, "</Message><Resource>");
    const char *host = req_header(r, "Host");
    char *res = r->is_s3 ? cos_strdup(r->path ? r->path : "/") /* S3 names the path alone */
                      : cos_sprintf("%s%s", host ? host : "", r->path ? r->path : "/");
    put_resource(&b, res);
    free(res);
    if (r->no_request_id) cos_buf_puts(&b, "</Resource>"); /* the fault bucket's answers without one */
    else if (r->is_s3) cos_buf_printf(&b, "</Resource><RequestId>%s</RequestId><HostId>%s</HostId>", r->request_id, r->request_id);
    else cos_buf_printf(&b, "</Resource><RequestId>%s</RequestId><TraceId>%s</TraceId>", r->request_id, r->request_id);
    if (sts) {
        cos_buf_puts(&b, "<StringToSign>");
        cos_xml_escape(&b, sts, strlen(sts));
        cos_buf_puts(&b, "</StringToSign>");
    }
    if (fs) {
        cos_buf_puts(&b, "<FormatString>");
        cos_xml_escape(&b, fs, strlen(fs));
        cos_buf_puts(&b, "</FormatString>");
    }
    cos_buf_puts(&b, "</Error>");
    size_t len = b.len;
    if (strcmp(r->method, "HEAD") == 0) { /* no body on HEAD, but keep the request id */
        cos_buf_free(&b);
        len = 0;
    }
    struct MHD_Response *resp = NULL;
    send_buffer(r, status, "application/xml", len ? cos_buf_detach(&b) : NULL, len, &resp);
    if (r->error_delete_marker) MHD_add_response_header(resp, "x-cos-delete-marker", r->error_delete_marker);
    /* a body that is not what its sender promised: its length may not be
       either (a Content-Length shorter than what was sent leaves bytes that
       would prefix the client's retry on this connection), so close it */
    if (strcmp(code, "BadDigest") == 0) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    return send_response(r, status, resp);
}

enum MHD_Result send_error_sts(req *r, const char *code, const char *msg, const char *sts, const char *fs)
{
    return send_error_full(r, code, msg, sts, fs);
}

enum MHD_Result send_error(req *r, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0) msg = NULL;
    va_end(ap);
    enum MHD_Result ret = send_error_full(r, code, msg ? msg : code, NULL, NULL);
    free(msg);
    return ret;
}

/* ---------------------------------------------------------------- addressing */

/* libmicrohttpd's own unescaping turns "%00" into a NUL that silently cuts
 * the key short ("a%00b" would store "a"). Ours decodes the same way but
 * writes 0xFF for it, a byte that never occurs in UTF-8, so the key check
 * (handlers.c) refuses the request instead. */
static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static size_t unescape_uri(void *cls, struct MHD_Connection *c, char *uri)
{
    (void)cls; (void)c;
    char *w = uri;
    for (const char *p = uri; *p; p++) {
        int hi, lo;
        if (p[0] == '%' && (hi = hex_digit(p[1])) >= 0 && (lo = hex_digit(p[2])) >= 0) {
            unsigned char b = (unsigned char)(hi * 16 + lo);
            *w++ = (char)(b ? b : 0xFF);
            p += 2;
        } else {
            *w++ = *p;
        }
    }
    *w = '\0';
    return (size_t)(w - uri);
}

/* S3's hosts under the operator's --s3-domain D: BUCKET.s3.D and BUCKET.D
 * name a bucket; D and s3.D are the endpoint itself (path style). true when
 * h is one of them (r->bucket/key set for a virtual host). */
static bool s3_virtual_host(req *r, const char *h)
{
    const char *d = r->srv->cfg.s3_domain;
    if (!d || !*d) return false;
    size_t hl = strlen(h), dl = strlen(d);
    if (hl < dl || strcasecmp(h + hl - dl, d) != 0) return false;
    if (hl > dl && h[hl - dl - 1] != '.') return false; /* "xD" is another domain */
    size_t bl = hl > dl ? hl - dl - 1 : 0;             /* what comes before ".D" */
    if (bl >= 3 && strncmp(h + bl - 3, ".s3", 3) == 0) bl -= 3;
    else if (bl == 2 && strncmp(h, "s3", 2) == 0) bl = 0;
    if (bl == 0) return false; /* the endpoint itself: path style, parsed by the caller */
    r->region = cos_strdup("ap-guangzhou");
    r->bucket = cos_strndup(h, bl);
    const char *k = r->path + 1;
    r->key = *k ? cos_strdup(k) : NULL;
    return true;
}

/* BUCKET-APPID.cos.REGION.myqcloud.com[:port] (also .cos.accelerate.) */
static void parse_address(req *r, const char *url)
{
    const char *host = req_header(r, "Host");
    char h[256] = "";
    if (host) snprintf(h, sizeof h, "%s", host);
    char *colon = strrchr(h, ':');
    if (colon && !strchr(colon, ']')) *colon = '\0';
    cos_str_lower(h);
    /* an absolute-form target ("GET http://host/path", what a client sends
       through a forward proxy, RFC 9112 3.2.2) addresses the same resource
       as its path: routing an SDK's traffic here by http_proxy works */
    if (url && (!strncasecmp(url, "http://", 7) || !strncasecmp(url, "https://", 8))) {
        const char *slash = strchr(strstr(url, "//") + 2, '/');
        url = slash ? slash : "/";
    }
    r->path = cos_strdup(url && *url ? url : "/");
    if (s3_virtual_host(r, h)) return;
    char *cos = strstr(h, ".cos.");
    if (cos && cos != h && strncmp(h, "service.cos.", 12) != 0) {
        r->bucket = cos_strndup(h, (size_t)(cos - h));
        const char *reg = cos + 5;
        const char *dot = strchr(reg, '.');
        r->region = dot ? cos_strndup(reg, (size_t)(dot - reg)) : cos_strdup(reg);
        r->region_named = strcmp(r->region, "accelerate") != 0; /* the global acceleration endpoint names none */
        if (!r->region_named) {
            free(r->region);
            r->region = cos_strdup("ap-guangzhou");
        }
        const char *k = r->path + 1;
        r->key = *k ? cos_strdup(k) : NULL;
        return;
    }
    /* path style: /BUCKET/KEY; the region may come from a cos.REGION.myqcloud.com host */
    if (strncmp(h, "cos.", 4) == 0) {
        const char *dot = strchr(h + 4, '.');
        r->region = dot ? cos_strndup(h + 4, (size_t)(dot - h - 4)) : NULL;
        r->region_named = r->region != NULL;
    }
    if (!r->region) r->region = cos_strdup("ap-guangzhou");
    const char *p = r->path + 1;
    if (!*p) return; /* service */
    const char *slash = strchr(p, '/');
    r->bucket = slash ? cos_strndup(p, (size_t)(slash - p)) : cos_strdup(p);
    r->path_style = true;
    if (slash && slash[1]) r->key = cos_strdup(slash + 1);
}

/* ---------------------------------------------------------------- the request life cycle */

static void new_request_id(char out[48])
{
    unsigned char b[18];
    server_random(b, sizeof b);
    cos_base64_encode(b, sizeof b, out);
}

/* A refused request whose body is still coming is answered now and its
 * connection closed: its body was read to the end before the refusal, so a
 * refused 5 GB form or PUT held its connection for the whole upload.
 * libmicrohttpd 0.9.75 queues no answer in the middle of a body, so the
 * refusal its dry run rendered (r->early) is written on the socket, whose
 * sending side is then shut: the client reads the answer and an end, and
 * what it still sends is dropped for a few seconds at most (conns_linger),
 * so that a close never resets the connection before the answer is read
 * (HTTP/1.1 allows no more: 9112 section 9.6). Not over TLS (the stream is
 * libmicrohttpd's), nor when little is left (read, the connection kept). */
#define EARLY_MIN (256u << 10)
#define EARLY_SEND_WAIT_MS 1000

static void answer_early(req *r)
{
    if (!r->early.len || r->srv->tls_cert_pem) return;
    if (r->body_declared && r->body_declared - r->body_seen <= EARLY_MIN) return;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci) return;
    int fd = ci->connect_fd;
    size_t off = 0;
    /* a few hundred bytes into an idle socket's buffer: one send, in practice */
    while (off < r->early.len) {
        ssize_t n = send(fd, r->early.data + off, r->early.len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) break;
        struct pollfd p = { fd, POLLOUT, 0 };
        if (poll(&p, 1, EARLY_SEND_WAIT_MS) <= 0) break;
    }
    if (off == 0) return; /* nothing went out: answered at the body's end, as before */
    shutdown(fd, SHUT_WR);
    r->answered_early = true;
    r->status = r->early_status;
    r->bytes_out = r->early_body_len;
    conns_linger(r->srv, r->conn);
}

/* A form's file comes after all its other fields (COS and S3 require it):
 * when the file begins, its signature, policy (but for the content-length-
 * range, which needs the file) and authorization are all decidable, and a
 * form they refuse stores nothing: an anonymous or forged form of 1 GB to a
 * private bucket was written to disk whole before its 403. */
static bool form_refused_at_file(req *r)
{
    bool passed = true;
    r->dry_run = true;
    r->capture = true;
    r->form_size_unknown = true;
    store_memo_begin(r->srv->st);
    handle_request_headers(r, &passed);
    store_memo_end();
    r->form_size_unknown = false;
    r->dry_run = false;
    r->capture = false;
    r->bytes_out = 0;
    return !passed;
}

/* A query of more parameters than this, or whose URI and parameters would
 * take more than QUERY_POOL_MAX of the connection's memory (CONN_POOL, which
 * also holds the headers and the answer's head), is refused (414) from its
 * request line: libmicrohttpd keeps each parameter there (about 64 bytes
 * beside its text), and a query of about a thousand parameters overflowed
 * it and was closed without an answer. SDK requests carry a handful. */
#define QUERY_ARGS_MAX 500
#define QUERY_POOL_MAX (48u << 10)
static max_align_t too_many_args_mark;
#define TOO_MANY_ARGS ((void *)&too_many_args_mark)

/* libmicrohttpd's look at a request's URI before it parses the query: one of
 * too many parameters has its query cut off here (the buffer is the
 * connection's, parsed in place next) and is refused by on_request */
static void *uri_seen(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    (void)conn;
    char *q = strchr(uri, '?');
    size_t n = 1;
    for (const char *p = q; p && *p; p++) n += *p == '&';
    if (!q || (n <= QUERY_ARGS_MAX && strlen(uri) + n * 64 <= QUERY_POOL_MAX)) return NULL;
    q[1] = '\0';
    return TOO_MANY_ARGS;
}

static enum MHD_Result form_iter(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
                                 const char *content_type, const char *transfer_encoding, const char *data,
                                 uint64_t off, size_t size)
{
    (void)kind; (void)content_type; (void)transfer_encoding; (void)off;
    req *r = cls;
    if (!key) return MHD_YES; /* a part without a usable name= (found by fuzz_server): nothing to keep */
    if (strcmp(key, "file") == 0) {
        if (r->drop_body) return MHD_NO;
        if (!r->w_open) {
            if (filename) cos_kvlist_set(&r->form, "x-filename", filename);
            if (form_refused_at_file(r)) {
                /* the rest is never stored nor parsed: answered now (answer_early) or at its end */
                r->drop_body = true;
                answer_early(r);
                return MHD_NO;
            }
            if (data_begin(r->srv->st, &r->w) != 0) return MHD_NO;
            r->w_open = true;
        }
        return size && data_write(&r->w, data, size) != 0 ? MHD_NO : MHD_YES;
    }
    /* fields arrive in pieces: append. Fields are small (the file is not one), and an
       unbounded one would be copied again with each piece: more is EntityTooLarge */
    const char *old = cos_kvlist_get(&r->form, key);
    if ((old ? strlen(old) : 0) + size > FORM_FIELD_MAX || (!old && r->form.count >= FORM_FIELDS_MAX)) return MHD_NO;
    char *v = cos_sprintf("%s%.*s", old ? old : "", (int)size, data ? data : "");
    cos_kvlist_set(&r->form, key, v);
    free(v);
    return MHD_YES;
}

/* Request text in the log: control bytes, backslash and space escaped as \xNN,
 * so a path with %0A cannot forge a line (or a field) of the log. */
static void log_escaped(cos_buf *b, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p <= 0x20 || *p == 0x7f || *p == '\\') cos_buf_printf(b, "\\x%02x", *p);
        else cos_buf_putc(b, (char)*p);
    }
}

static void log_line(req *r)
{
    if (r->srv->cfg.quiet) return;
    cos_buf b = COS_BUF_INIT;
    log_escaped(&b, r->method);
    cos_buf_putc(&b, ' ');
    log_escaped(&b, r->bucket ? r->bucket : "-");
    log_escaped(&b, r->path ? r->path : "/");
    printf("%s %d %llu %lldms %s\n", b.data ? b.data : "", r->status,
           (unsigned long long)(r->w.size + r->bytes_out), (long long)(cos_mono_ms() - r->t0_ms), r->request_id);
    cos_buf_free(&b);
    fflush(stdout);
}

static void sink_release(req *r);

/* r->pp once a form's body is in and its processor freed: still non-NULL,
   as every handler reads r->pp as "this request is a form" */
static max_align_t form_read_mark;
#define FORM_READ ((struct MHD_PostProcessor *)&form_read_mark)

static void request_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)toe;
    req *r = *con_cls;
    if (!r || r == TOO_MANY_ARGS) return;
    /* waiting for the next request on a kept-alive connection: the short timeout again */
    MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, HEADER_TIMEOUT_S(r->srv));
    conns_request_done(r->srv, conn);
    log_line(r);
    sts_key_release(r->srv->sts, r->tmp_key);
    if (r->w_open) data_abort(&r->w); /* still open: the request never committed it */
    if (r->pp && r->pp != FORM_READ) MHD_destroy_post_processor(r->pp);
    s3_end(r);
    cos_kvlist_free(&r->form);
    sink_release(r);
    cos_buf_free(&r->body);
    cos_buf_free(&r->early);
    free(r->early_body);
    free(r->form_close);
    free(r->path);
    free(r->bucket);
    free(r->key);
    free(r->region);
    free(r->principal);
    free(r);
    *con_cls = NULL;
}

enum MHD_Result sts_endpoint(req *r); /* handlers.c */
enum MHD_Result fault_endpoint(req *r);
bool fault_apply(req *r, enum MHD_Result *ret);

/* libmicrohttpd hands a body over in pieces of at most half its connection
 * pool (CONN_POOL), kept small because the whole pool is zeroed after every
 * request. Past its first SINK_DIRECT bytes a body's smaller pieces are
 * gathered into SINK_BATCH before data_write, so each write, hash hand-off
 * and writeback of a large upload covers as much as with a large pool. A body the
 * store stages itself (data_batched: aligned buffers, O_DIRECT) skips this copy. */
#define SINK_DIRECT (64u << 10)
#define SINK_BATCH (512u << 10)

/* Batches held at once. A stalled body keeps its batch until BODY_TIMEOUT_S,
 * so unbounded every connection could hold SINK_BATCH besides its pool (at
 * the connection limit, gigabytes); past the bound a body's pieces go to
 * data_write as they come, as before batching. */
#define SINK_LIVE_MAX 64u
static atomic_uint sinks_live;

static bool sink_take(req *r)
{
    unsigned n = atomic_load(&sinks_live);
    do {
        if (n >= SINK_LIVE_MAX) return false;
    } while (!atomic_compare_exchange_weak(&sinks_live, &n, n + 1));
    if ((r->sink = malloc(SINK_BATCH)) != NULL) return true;
    atomic_fetch_sub(&sinks_live, 1);
    return false;
}

static void sink_release(req *r)
{
    if (!r->sink) return;
    free(r->sink);
    r->sink = NULL;
    r->sink_len = 0;
    atomic_fetch_sub(&sinks_live, 1);
}

static void sink_flush(req *r)
{
    if (r->sink_len && r->w_open) data_write(&r->w, r->sink, r->sink_len);
    r->sink_len = 0;
}

static void sink_write(req *r, const char *data, size_t len)
{
    if (!r->sink_len && (len >= SINK_DIRECT || r->w.size + len <= SINK_DIRECT || data_batched(&r->w))) {
        data_write(&r->w, data, len);
        return;
    }
    if (!r->sink && !sink_take(r)) {
        data_write(&r->w, data, len);
        return;
    }
    if (r->sink_len + len > SINK_BATCH) sink_flush(r);
    if (len >= SINK_BATCH || (!r->sink_len && data_batched(&r->w))) { /* staged by that flush: from here on directly */
        data_write(&r->w, data, len);
        return;
    }
    memcpy(r->sink + r->sink_len, data, len);
    r->sink_len += len;
}

/* "\r\n--BOUNDARY--" of a multipart Content-Type (malloc'd), or NULL when it names
 * none or one too long to watch for (RFC 2046: at most 70 characters). */
static char *form_close_of(const char *ct)
{
    const char *b = ct ? strcasestr(ct, "boundary=") : NULL;
    if (!b) return NULL;
    b += 9;
    size_t n = *b == '"' ? strcspn(++b, "\"") : strcspn(b, "; \t");
    return n && n <= 70 ? cos_sprintf("\r\n--%.*s--", (int)n, b) : NULL;
}

/* A form's piece up to its close: what follows the close is an epilogue,
 * which MIME says to ignore and libmicrohttpd's processor refused (it was
 * answered "EntityTooLarge"); it is never fed. */
static size_t form_piece(req *r, const char *data, size_t len)
{
    if (r->form_closed) return 0;
    if (!r->form_close) return len;
    size_t cl = strlen(r->form_close), keep = cl - 1;
    size_t head = len < cl ? len : cl; /* a close split between pieces ends within the first cl bytes */
    char joined[sizeof r->form_tail + 80];
    memcpy(joined, r->form_tail, r->form_tail_len);
    memcpy(joined + r->form_tail_len, data, head);
    const char *at = memmem(joined, r->form_tail_len + head, r->form_close, cl);
    size_t end = 0;
    if (at) {
        end = (size_t)(at - joined) + cl - r->form_tail_len;
    } else if ((at = memmem(data, len, r->form_close, cl)) != NULL) {
        end = (size_t)(at - data) + cl;
    }
    if (end) {
        r->form_closed = true;
        return end;
    }
    if (len >= keep) {
        memcpy(r->form_tail, data + len - keep, keep);
        r->form_tail_len = keep;
    } else { /* a short piece: the tail grows */
        size_t drop = r->form_tail_len + len > keep ? r->form_tail_len + len - keep : 0;
        memmove(r->form_tail, r->form_tail + drop, r->form_tail_len - drop);
        memcpy(r->form_tail + r->form_tail_len - drop, data, len);
        r->form_tail_len = r->form_tail_len - drop + len;
    }
    return len;
}

void req_body_sink(req *r, const char *data, size_t len)
{
    if (r->drop_body) return;
    if (r->pp) {
        len = form_piece(r, data, len);
        if (len && MHD_post_process(r->pp, data, len) != MHD_YES) r->too_large = true;
    } else if (r->body_to_file) {
        if (!r->w_open) {
            if (data_begin(r->srv->st, &r->w) != 0) r->w.error = errno ? errno : EIO;
            else r->w_open = true;
        }
        if (r->w_open) sink_write(r, data, len);
    } else if (r->body.len + len > MAX_SMALL_BODY) {
        r->too_large = true;
    } else {
        cos_buf_append(&r->body, data, len);
    }
}

static enum MHD_Result dispatch(req *r, const char *method);
static bool finish_elsewhere(req *r);

/* A PUT of data with x-cos-traffic-limit (an object or a part, not a copy)
 * is answered no sooner than its size at that rate after it began: it waits
 * here, its body read and not yet handled, suspended (server_hold), never on
 * a thread. true while it waits. An invalid limit is left to the handler's
 * error; a body refused or lost is answered at once. */
/* Whether the client has closed, or shut down its sending side (then it may still read an answer). */
static bool peer_hung_up(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct pollfd p = { ci ? ci->connect_fd : -1, POLLRDHUP, 0 };
    return ci && poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static bool put_paced(req *r)
{
    if (strcmp(r->method, "PUT") != 0 || !r->body_to_file || r->drop_body || r->too_large || r->w.error ||
        req_header(r, "x-cos-copy-source"))
        return false;
    if (!r->pace_until_ms) {
        const char *v = req_header(r, "x-cos-traffic-limit");
        if (!v) v = req_arg(r, "x-cos-traffic-limit");
        int64_t bps;
        if (!v || cos_parse_i64(v, &bps) != 0 || bps < TRAFFIC_LIMIT_MIN || bps > TRAFFIC_LIMIT_MAX) {
            r->pace_until_ms = -1;
            return false;
        }
        int64_t due = traffic_due(bps, r->t0_ms, r->w.size);
        int64_t cap = cos_mono_ms() + TRAFFIC_PAUSE_MAX_MS;
        r->pace_until_ms = due > cap ? cap : due > 0 ? due : -1;
    }
    /* a client that has closed (or half-closed) is not waited for: its body is in, so it is
       handled now (stored, as it would be at the pause's end, and answered to whoever reads) */
    return r->pace_until_ms > cos_mono_ms() && !peer_hung_up(r->conn) &&
           server_hold_watched(r->srv, r->conn, r->pace_until_ms);
}

/* Whether the client has closed its side. libmicrohttpd 0.9.75 (epoll, edge
 * triggered) reads a connection again only after new bytes arrive once a
 * read did not fill its buffer: a client that sent part of a body and then
 * closed or died, its close already queued behind that read, was noticed
 * only at BODY_TIMEOUT_S, its temp file, descriptor and slot held until then. */
static bool peer_closed(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    char b;
    return ci && recv(ci->connect_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

/* Whether a request's headers are checked before its body: the API's
 * requests are; /sts, the faults endpoint, preflights, forms (authenticated
 * by their body) and a fault bucket's requests (whose answers come before
 * any check) go their usual way, after the body. */
static bool checked_before_body(req *r)
{
    if (r->pp || r->srv->cfg.fault_bucket || !strcmp(r->method, "OPTIONS") || !strncmp(r->path, "/-/", 3)) return false;
    return !cors_is_sts(r);
}

/* Whether the client waits for "100 Continue" before its body, as libmicrohttpd decides it. */
static bool waits_for_continue(req *r, const char *version)
{
    const char *expect = req_header(r, "Expect");
    if (!expect || strcasecmp(expect, "100-continue") != 0 || strcmp(version, MHD_HTTP_VERSION_1_1) != 0) return false;
    return checked_before_body(r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    (void)version;
    server *srv = cls;
    req *r = *con_cls;
    bool too_many_args = r == TOO_MANY_ARGS;
    if (too_many_args) *con_cls = r = NULL;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r) return MHD_NO;
        r->srv = srv;
        r->conn = conn;
        r->method = method;
        r->t0_ms = cos_mono_ms();
        r->w.fd = -1;
        new_request_id(r->request_id);
        /* the headers are in: the body and the answer get the longer timeout */
        MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT, BODY_TIMEOUT_S(srv));
        parse_address(r, url);
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl) cos_parse_u64(cl, &r->body_declared);
        conns_head_in(srv, conn, r->body_declared > 0 ||
                                 MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING));
        r->no_args = MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, NULL, NULL) == 0;
        bool data = (strcmp(method, "PUT") == 0 && r->key) || (strcmp(method, "POST") == 0 && r->key &&
                    (req_has_arg(r, "append")));
        const char *ct = req_header(r, "Content-Type");
        if (strcmp(method, "POST") == 0 && r->bucket && !r->key && ct && cos_starts_with_ci(ct, "multipart/form-data"))
        {
            r->pp = MHD_create_post_processor(conn, 256 * 1024, form_iter, r);
            r->form_close = form_close_of(ct);
        }
        r->body_to_file = data && strncmp(r->path, "/-/", 3) != 0 && !req_has_arg(r, "acl") && !req_has_arg(r, "tagging") && !req_has_arg(r, "restore") &&
                         !req_has_arg(r, "retention"); /* an object's sub-resources take small XML bodies */
        s3_begin(r);
        *con_cls = r;
        if (too_many_args)
            return send_error(r, "RequestURITooLong", "The query has too many parameters (at most %d) or is too long.", QUERY_ARGS_MAX);
        /* a body kept in memory (a configuration, a list of keys) that declares more than it may
           hold is refused from its head: read through first, only to be refused, a 100 MB one held
           its connection for the whole upload */
        if (!r->body_to_file && !r->pp && r->body_declared > MAX_SMALL_BODY)
            return send_error(r, "EntityTooLarge", "request body too large: at most %u bytes here", MAX_SMALL_BODY);
        if (waits_for_continue(r, version)) {
            /* the client sends its body only after "100 Continue", which
               libmicrohttpd sends unless this first call queues an answer: a
               request its headers already condemn (signature, authorization)
               is refused now and its body never read */
            bool passed = true;
            store_memo_begin(srv->st);
            enum MHD_Result ret = handle_request_headers(r, &passed);
            store_memo_end();
            if (!passed) return ret;
        } else if (((r->body_to_file && (r->body_declared > SINK_DIRECT || !cl)) ||
                    (!r->body_to_file && !r->pp &&
                     (r->body_declared > SINK_DIRECT ||
                      (!cl && MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING))))) &&
                   checked_before_body(r)) {
            /* a large body sent without waiting: answering now would cut it
               off (the client may see a reset, not the answer), so it is
               read, but a body its headers condemn is never stored, nor
               (one kept in memory: a list of keys, a configuration) held:
               anonymous callers held up to 20 MiB of memory each */
            bool passed = true;
            r->dry_run = true;
            r->capture = true;
            store_memo_begin(srv->st);
            handle_request_headers(r, &passed);
            store_memo_end();
            r->dry_run = false;
            r->capture = false;
            r->bytes_out = 0;
            r->drop_body = !passed;
            if (r->drop_body) answer_early(r);
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        /* a piece smaller than the largest so far came from a read that did not fill the buffer: only
           then may a close be queued unseen (peer_closed); a stream of full reads costs no peek */
        bool short_read = *upload_data_size < r->piece_max || !r->piece_max;
        if (*upload_data_size > r->piece_max) r->piece_max = *upload_data_size;
        r->body_seen += *upload_data_size;
        conns_body_progress(srv, conn, r->body_seen);
        if (r->s3 && !r->pp) s3_body(r, upload_data, *upload_data_size); /* decodes, then req_body_sink */
        else req_body_sink(r, upload_data, *upload_data_size);
        *upload_data_size = 0;
        /* cut short: MHD_NO closes the connection, request_completed drops the body */
        return short_read && r->body_seen < r->body_declared && peer_closed(conn) ? MHD_NO : MHD_YES;
    }
    sink_flush(r); /* the whole body is here */
    sink_release(r);
    if (r->pp && r->pp != FORM_READ) {
        /* a form whose body ends inside a part (no closing boundary): its
           file's end was never seen, and what came may be a cut upload */
        r->form_cut = MHD_destroy_post_processor(r->pp) != MHD_YES;
        r->pp = FORM_READ;
    }
    if (r->fin_state == FIN_DONE) return r->fin_ret; /* resumed by its finisher: answered (or to be closed) */
    conns_body_done(srv, conn);
    if (put_paced(r)) return MHD_YES; /* called again when its pause ends */
    if (finish_elsewhere(r)) return MHD_YES; /* resumed by its finisher, its answer queued */
    /* the whole request is here: its reads of bucket rows and configurations are made once */
    store_memo_begin(srv->st);
    enum MHD_Result ret = dispatch(r, method);
    store_memo_end();
    return ret;
}

/* ---------------------------------------------------------------- finishers
 * A body stored as a file is made durable before it is answered: the
 * file's fsync (and its hasher's tail), the commit, the log's fsync; tens
 * of milliseconds for a part of a few MiB. Made on the connection's
 * libmicrohttpd thread, that wait stalled every other connection the
 * thread serves: of libcos's 4 parallel parts, one's finish stalled
 * another's receive whenever they shared a thread (5 of 8 traced
 * uploads). Such a request's connection is suspended instead and the
 * request dispatched on a finisher thread, which queues the answer
 * (libmicrohttpd 0.9.75 takes a suspended connection's answer from any
 * thread) and then resumes it. Small bodies (in memory, committed with
 * their row in batches) stay on their thread: handing them over would
 * cost two more thread wake-ups each. Finishers are started as needed, up
 * to FINISHERS_MAX; past that, requests wait in the queue (in order). */
#define FINISHERS_MAX 16

struct finishers {
    pthread_mutex_t m;
    pthread_cond_t work; /* a request queued, or stopping */
    pthread_cond_t done; /* none taken any more (stopping) */
    req *head, *tail;
    unsigned threads, idle, queued, taken; /* taken: queued or running, not yet resumed */
    bool stopping;
    pthread_t th[FINISHERS_MAX];
};

static void finish_run(req *r)
{
    server *srv = r->srv;
    store_memo_begin(srv->st);
    enum MHD_Result ret = dispatch(r, r->method);
    store_memo_end();
    r->fin_ret = ret;
    /* a hold its dispatch asked for (a stall): the timer resumes it, and it is dispatched again */
    if (r->hold_until) {
        r->fin_state = FIN_NONE;
        if (server_hold_registered(srv, r)) return;
    } else {
        r->fin_state = FIN_DONE;
    }
    MHD_resume_connection(r->conn); /* r may be freed from here on (its answer sent, its request completed) */
}

static void *finisher_main(void *arg)
{
    struct finishers *f = arg;
    pthread_mutex_lock(&f->m);
    for (;;) {
        while (!f->head && !f->stopping) {
            f->idle++;
            pthread_cond_wait(&f->work, &f->m);
            f->idle--;
        }
        req *r = f->head;
        if (!r) break; /* stopping, and none left */
        f->head = r->fin_next;
        if (!f->head) f->tail = NULL;
        f->queued--;
        pthread_mutex_unlock(&f->m);
        finish_run(r);
        pthread_mutex_lock(&f->m);
        if (--f->taken == 0 && f->stopping) pthread_cond_broadcast(&f->done);
    }
    pthread_mutex_unlock(&f->m);
    return NULL;
}

/* Whether r was handed to a finisher (its connection suspended); false: dispatch it here. */
static bool finish_elsewhere(req *r)
{
    struct finishers *f = r->srv->fin;
    if (!f || !r->body_to_file || !r->w_open || r->w.in_memory || r->drop_body || r->too_large || r->w.error ||
        r->answered_early)
        return false;
    pthread_mutex_lock(&f->m);
    bool ok = !f->stopping;
    if (ok && f->idle <= f->queued && f->threads < FINISHERS_MAX &&
        pthread_create(&f->th[f->threads], NULL, finisher_main, f) == 0)
        f->threads++;
    ok = ok && f->threads > 0;
    if (ok) {
        r->fin_state = FIN_RUNNING;
        r->fin_next = NULL;
        if (f->tail) f->tail->fin_next = r;
        else f->head = r;
        f->tail = r;
        f->queued++;
        f->taken++;
        /* suspended before a finisher can resume it: it takes r under this lock */
        MHD_suspend_connection(r->conn);
        pthread_cond_signal(&f->work);
    }
    pthread_mutex_unlock(&f->m);
    return ok;
}

static int finishers_start(server *srv)
{
    struct finishers *f = calloc(1, sizeof *f);
    if (!f) return -1;
    pthread_mutex_init(&f->m, NULL);
    pthread_cond_init(&f->work, NULL);
    pthread_cond_init(&f->done, NULL);
    srv->fin = f;
    return 0;
}

/* Before the daemons stop (no connection may be suspended then): the queued
 * and running requests are finished and resumed; from here on every
 * request is finished on its own thread. */
static void finishers_stop(server *srv)
{
    struct finishers *f = srv->fin;
    if (!f) return;
    pthread_mutex_lock(&f->m);
    f->stopping = true;
    pthread_cond_broadcast(&f->work);
    while (f->taken) pthread_cond_wait(&f->done, &f->m);
    pthread_mutex_unlock(&f->m);
    for (unsigned i = 0; i < f->threads; i++) pthread_join(f->th[i], NULL);
    f->threads = 0;
}

static void finishers_free(server *srv)
{
    struct finishers *f = srv->fin;
    if (!f) return;
    finishers_stop(srv);
    pthread_cond_destroy(&f->work);
    pthread_cond_destroy(&f->done);
    pthread_mutex_destroy(&f->m);
    free(f);
    srv->fin = NULL;
}

static enum MHD_Result dispatch(req *r, const char *method)
{
    if (r->answered_early) return MHD_NO; /* its answer is out, its sending side shut: closed now */
    if (r->drop_body) { /* refused from its headers: answered so again, never by a handler (it has no body) */
        bool passed = false;
        r->form_size_unknown = r->pp != NULL; /* a form refused as its file began: judged as then */
        enum MHD_Result ret = handle_request_headers(r, &passed);
        r->form_size_unknown = false;
        /* allowed now (a grant or the store changed meanwhile): nothing was kept, so a retry, never a success */
        return passed ? send_error(r, "SlowDown", "The request was refused when it arrived and its body was not "
                                                  "kept; send it again.")
                      : ret;
    }
    if (r->too_large) return send_error(r, "EntityTooLarge", "request body too large");
    if (r->form_cut)
        return send_error(r, "MalformedPOSTRequest", "The body of your POST request is not well-formed "
                                                     "multipart/form-data: it ends before its closing boundary.");
    if (r->w.error) return send_error(r, "InternalError", "cannot store the body: %s", strerror(r->w.error));
    /* a preflight to /sts is answered by the CORS rules and never issues a key */
    if (cors_is_sts(r)) {
        enum MHD_Result refused;
        if (strcmp(method, "OPTIONS") == 0) return cors_preflight(r);
        return cors_sts_check(r, &refused) == 0 ? sts_endpoint(r) : refused;
    }
    if (strncmp(r->path, "/-/faults", 9) == 0) return fault_endpoint(r);
    enum MHD_Result ret;
    if (fault_apply(r, &ret)) return ret;
    /* the store may hold writes that were answered 500 and a crash would
       lose, and cannot tell which: serving them, or anything, would lie */
    if (store_durability_lost(r->srv->st)) return send_error(r, "ServiceUnavailable", "%s", STORE_LOST_MESSAGE);
    /* A preflight is no operation of the API and carries no signature: whatever
       the URL names (the service, a bucket, an object, any sub-resource such as
       ?uploads before ListMultipartUploads), the CORS rules answer it. */
    if (strcmp(method, "OPTIONS") == 0) return cors_preflight(r);
    return handle_request(r);
}

/* ---------------------------------------------------------------- start and stop */

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    cos_buf b = COS_BUF_INIT;
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) cos_buf_append(&b, tmp, n);
    fclose(f);
    return cos_buf_detach(&b);
}

/* Connections: a client that connects and sends nothing (or half a header)
 * holds a slot for HEADER_TIMEOUT_S at most; once a request's headers are in,
 * its body and answer may be idle for BODY_TIMEOUT_S (on_request). Slots are
 * as many as the descriptors allow (each connection may also hold a data
 * file open), so one client's burst of a few thousand idle connections
 * neither exhausts descriptors nor keeps others out for longer than the
 * header timeout. */
static unsigned connection_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 500;
    if (rl.rlim_cur < rl.rlim_max && rl.rlim_cur < 65536) { /* use what the system allows */
        rl.rlim_cur = rl.rlim_max < 65536 ? rl.rlim_max : 65536;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    rlim_t n = rl.rlim_cur > 128 ? (rl.rlim_cur - 64) / 2 : 32;
    return n > 20000 ? 20000 : (unsigned)n;
}

/* meta.db, data/ and tmp/ may predate the server's umask (server_main.c): the owner's alone. */
static void restrict_root(const char *root)
{
    static const char *const DIRS[] = { "", "/data", "/tmp" };
    static const char *const FILES[] = { "/meta.db", "/meta.db-wal", "/meta.db-shm", "/sts.json", "/sts.json.tmp", "/sse-master.key" };
    char path[4096];
    for (size_t i = 0; i < COS_ARRAY_LEN(DIRS); i++) {
        snprintf(path, sizeof path, "%s%s", root, DIRS[i]);
        chmod(path, 0700);
    }
    for (size_t i = 0; i < COS_ARRAY_LEN(FILES); i++) {
        snprintf(path, sizeof path, "%s%s", root, FILES[i]);
        chmod(path, 0600);
    }
}

/* One request thread (accept.c): a daemon without a listening socket, given its connections. */
static struct MHD_Daemon *start_worker(void *cls, unsigned flags, unsigned limit, MHD_NotifyConnectionCallback notify,
                                       void *notify_cls)
{
    server *srv = cls;
    char *cert = srv->tls_cert_pem, *key = srv->tls_key_pem;
    return MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HEADER_TIMEOUT_S(srv),
                            MHD_OPTION_NOTIFY_CONNECTION, notify, notify_cls,
                            MHD_OPTION_CONNECTION_LIMIT, limit,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_POOL,
                            MHD_OPTION_NOTIFY_COMPLETED, request_completed, NULL,
                            MHD_OPTION_URI_LOG_CALLBACK, uri_seen, NULL,
                            MHD_OPTION_UNESCAPE_CALLBACK, unescape_uri, NULL,
                            cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, cert,
                            MHD_OPTION_HTTPS_MEM_KEY, key, MHD_OPTION_END);
}

int server_start(server *srv, char **errmsg)
{
    server_config *c = &srv->cfg;
    *errmsg = NULL;
    if (!c->secret_id || !c->secret_key) {
        c->secret_id = SERVER_DEV_SECRET_ID;
        c->secret_key = SERVER_DEV_SECRET_KEY;
    }
    if (!c->appid) c->appid = SERVER_DEV_APPID;
    if (!c->listen) c->listen = "127.0.0.1:9000";
    char host[64] = "127.0.0.1";
    int port = 9000;
    const char *colon = strrchr(c->listen, ':');
    if (colon) {
        snprintf(host, sizeof host, "%.*s", (int)(colon - c->listen), c->listen);
        port = atoi(colon + 1);
    }
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        *errmsg = cos_sprintf("--listen needs an IPv4 address:port, got %s", c->listen);
        return 2;
    }
    char *err = NULL;
    if (store_open(&srv->st, c->root, &err) != 0) {
        *errmsg = err;
        return 1;
    }
    store_set_fsync(srv->st, !c->no_fsync);
    store_set_direct(srv->st, !c->no_direct_io);
    store_set_busy_timeout(srv->st, c->busy_timeout_ms);
    if (sts_store_open(&srv->sts, c->root) != 0) {
        *errmsg = cos_sprintf("cannot open the STS store in %s", c->root);
        server_stop(srv);
        return 1;
    }
    sts_store_configure(srv->sts, c->sts_max_keys ? c->sts_max_keys : STS_MAX_KEYS_DEFAULT, !c->no_fsync);
    pthread_mutex_init(&srv->fault_lock, NULL);
    /* a stall (faults.c) and a paced request's pause (traffic_due) suspend
       their connection, so they hold no worker thread */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     (c->quiet ? 0 : MHD_USE_ERROR_LOG);
    unsigned max_conns = connection_limit();
    if (hold_start(srv) != 0 || conns_start(srv, max_conns) != 0 || finishers_start(srv) != 0) {
        *errmsg = cos_strdup("cannot start the timers of held requests and connections");
        server_stop(srv);
        return 1;
    }
    if (c->tls_cert && c->tls_key) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            *errmsg = cos_strdup("this libmicrohttpd has no TLS support");
            server_stop(srv);
            return 1;
        }
        srv->tls_cert_pem = read_file(c->tls_cert);
        srv->tls_key_pem = read_file(c->tls_key);
        if (!srv->tls_cert_pem || !srv->tls_key_pem) {
            *errmsg = cos_strdup("cannot read --tls-cert/--tls-key");
            server_stop(srv);
            return 1;
        }
        flags |= MHD_USE_TLS;
    }
    signal(SIGPIPE, SIG_IGN);
    restrict_root(c->root);
    if (listener_start(srv, &sa, c->threads ? c->threads : 16, flags, max_conns, start_worker, srv) != 0) {
        *errmsg = cos_sprintf("cannot listen on %s: %s", c->listen, strerror(errno));
        server_stop(srv);
        return 1;
    }
    srv->port = listener_port(srv);
    if (c->console) {
        int rc = console_start(srv, errmsg);
        if (rc != 0) {
            server_stop(srv);
            return rc;
        }
    }
    return 0;
}

void server_stop(server *srv)
{
    hold_stop(srv); /* no connection may be suspended when the daemon stops */
    store_fault_release(); /* nor a thread held by a "pause" (faults.c): the daemon joins it */
    finishers_stop(srv);   /* nor one a finisher has */
    listener_stop(srv);
    finishers_free(srv);
    hold_free(srv);
    conns_stop(srv);
    console_stop(srv); /* after the store's listener: its requests read the console's origins */
    if (srv->sts) sts_store_close(srv->sts);
    srv->sts = NULL;
    if (srv->st) store_close(srv->st);
    srv->st = NULL;
    free(srv->tls_cert_pem);
    free(srv->tls_key_pem);
    srv->tls_cert_pem = srv->tls_key_pem = NULL;
    cos_buf_free(&srv->faults_json);
    fault_clear(srv);
}

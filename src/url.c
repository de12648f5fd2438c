/*
 * url.c — URLs as the official SDK builds them (getUrl in base.js): host
 * templates, virtual-hosted or path style, accelerate; the SDK's encoding
 * (encodeURIComponent plus ! ' ( ) *); and the early validation of bucket,
 * region and key that names the offending field.
 */
#define _GNU_SOURCE
#include "url.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

int cos_uri_encode(cos_buf *out, const char *s, size_t len, bool keep_slash)
{
    static const char HEX[] = "0123456789ABCDEF";
    if (cos_buf_reserve(out, len * 3)) return COS_ERR_NOMEM;
    char *w = out->data + out->len;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        /* encodeURIComponent leaves A-Z a-z 0-9 - _ . ~ (and ! ' ( ) *, which the SDK escapes) */
        /* ASCII only: isalnum() would follow the locale and pass Latin-1 letters */
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
            *w++ = (char)c;
        } else {
            *w++ = '%';
            *w++ = HEX[c >> 4];
            *w++ = HEX[c & 15];
        }
    }
    out->len = (size_t)(w - out->data);
    out->data[out->len] = '\0';
    return 0;
}

static int url_hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

char *cos_uri_decode(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    if (!out) return NULL;
    size_t j = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%') {
            if (i + 2 >= len) {
                free(out);
                return NULL;
            }
            int a = url_hexval(s[i + 1]), b = url_hexval(s[i + 2]);
            if (a < 0 || b < 0) {
                free(out);
                return NULL;
            }
            out[j++] = (char)(a * 16 + b);
            i += 2;
        } else {
            out[j++] = s[i];
        }
    }
    out[j] = '\0';
    return out;
}

static void put_template(cos_buf *b, const char *tmpl, const char *bucket, const char *region)
{
    const char *dash = bucket ? strrchr(bucket, '-') : NULL;
    size_t short_len = dash ? (size_t)(dash - bucket) : (bucket ? strlen(bucket) : 0);
    const char *appid = dash ? dash + 1 : "";
    for (const char *p = tmpl; *p;) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            if (!close) {
                cos_buf_puts(b, p);
                break;
            }
            size_t n = (size_t)(close - p - 1);
            const char *name = p + 1;
            if (n == 5 && strncasecmp(name, "AppId", 5) == 0) cos_buf_puts(b, appid);
            else if (n == 10 && strncasecmp(name, "BucketName", 10) == 0) cos_buf_append(b, bucket ? bucket : "", short_len);
            else if (n == 6 && strncasecmp(name, "Bucket", 6) == 0) cos_buf_puts(b, bucket ? bucket : "");
            else if (n == 6 && strncasecmp(name, "Region", 6) == 0) cos_buf_puts(b, region ? region : "");
            /* unknown variables vanish, as in the SDK */
            p = close + 1;
        } else {
            cos_buf_putc(b, *p++);
        }
    }
}

/* Regions whose legacy endpoints lack the "cos." label. */
static bool legacy_region(const char *r)
{
    static const char *const L[] = { "cn-south", "cn-south-2", "cn-north", "cn-east", "cn-southwest", "sg" };
    for (size_t i = 0; r && i < sizeof L / sizeof L[0]; i++)
        if (strcmp(r, L[i]) == 0) return true;
    return false;
}

static bool endpoint_is_address(const char *ep)
{
    size_t hl = ep[0] == '[' ? strcspn(ep, "]") + 1 : strcspn(ep, ":");
    if (ep[0] == '[') return true; /* an IPv6 literal */
    if (hl == 9 && strncmp(ep, "localhost", 9) == 0) return true;
    for (size_t i = 0; i < hl; i++)
        if (!((ep[i] >= '0' && ep[i] <= '9') || ep[i] == '.')) return false;
    return true;
}

bool cos_url_path_style(const cos_endpoint *ep, const char *bucket)
{
    if (ep->path_style) return true;
    if (cos_str_empty(ep->endpoint) || !bucket) return false;
    if (endpoint_is_address(ep->endpoint)) return true;
    bool https = cos_str_empty(ep->protocol) || strncmp(ep->protocol, "https", 5) == 0;
    return https && strchr(bucket, '.') != NULL;
}

char *cos_url_host(const cos_endpoint *ep, const char *bucket, const char *region)
{
    cos_buf b = COS_BUF_INIT;
    if (!cos_str_empty(ep->endpoint) && !(!bucket && !cos_str_empty(ep->service_domain))) {
        if (bucket && !cos_url_path_style(ep, bucket)) {
            cos_buf_puts(&b, bucket);
            cos_buf_putc(&b, '.');
        }
        cos_buf_puts(&b, ep->endpoint);
        return cos_buf_detach(&b);
    }
    if (!bucket) {
        const char *sd = ep->service_domain;
        if (!cos_str_empty(sd)) {
            /* strip a scheme and trailing path from a ServiceDomain given as a URL */
            const char *s = strstr(sd, "://");
            s = s ? s + 3 : sd;
            size_t n = strcspn(s, "/");
            cos_buf_append(&b, s, n);
        } else {
            cos_buf_puts(&b, "service.cos.myqcloud.com");
        }
        return cos_buf_detach(&b);
    }
    const char *reg = ep->accelerate ? "accelerate" : region;
    if (!cos_str_empty(ep->domain)) {
        put_template(&b, ep->domain, bucket, reg);
    } else {
        if (!ep->path_style) {
            cos_buf_puts(&b, bucket);
            cos_buf_putc(&b, '.');
        }
        if (!legacy_region(reg)) cos_buf_puts(&b, "cos.");
        cos_buf_puts(&b, reg ? reg : "");
        cos_buf_puts(&b, ".myqcloud.com");
    }
    /* a template may carry a scheme or a trailing slash: the host is what lies between */
    char *full = cos_buf_detach(&b);
    if (!full) return NULL;
    const char *s = strstr(full, "://");
    s = s ? s + 3 : full;
    size_t n = strcspn(s, "/");
    char *host = cos_strndup(s, n);
    free(full);
    return host;
}

int cos_url_build(const cos_endpoint *ep, const char *bucket, const char *region, const char *key,
                  const cos_kv *query, size_t query_count, char **url, char **pathname)
{
    *url = NULL;
    if (pathname) *pathname = NULL;
    char *host = cos_url_host(ep, bucket, region);
    if (!host) return COS_ERR_NOMEM;
    const char *proto = cos_str_empty(ep->protocol) ? "https:" : ep->protocol;
    /* a template with its own scheme keeps it */
    const char *tmpl_scheme_end = (bucket && !cos_str_empty(ep->domain)) ? strstr(ep->domain, "://") : NULL;
    cos_buf u = COS_BUF_INIT, p = COS_BUF_INIT;
    if (tmpl_scheme_end) {
        cos_buf_append(&u, ep->domain, (size_t)(tmpl_scheme_end - ep->domain) + 3);
    } else {
        cos_buf_puts(&u, proto);
        if (proto[strlen(proto) - 1] != ':') cos_buf_putc(&u, ':');
        cos_buf_puts(&u, "//");
    }
    cos_buf_puts(&u, host);
    free(host);
    /* the SDK drops one leading "/" of a key (unless UseRawKey) */
    if (key && key[0] == '/' && !ep->raw_key) key++;
    bool path_style = bucket && cos_url_path_style(ep, bucket);
    cos_buf_putc(&p, '/');
    if (path_style) {
        cos_buf_puts(&p, bucket);
        cos_buf_putc(&p, '/');
    }
    if (key) cos_buf_puts(&p, key);
    /* URL path: the same, encoded with "/" kept */
    if (path_style) {
        cos_buf_putc(&u, '/');
        cos_buf_puts(&u, bucket);
    }
    cos_buf_putc(&u, '/');
    if (key) cos_uri_encode(&u, key, strlen(key), true);
    for (size_t i = 0; i < query_count; i++) {
        cos_buf_putc(&u, i ? '&' : '?');
        cos_uri_encode(&u, query[i].name, strlen(query[i].name), false);
        if (query[i].value && *query[i].value) {
            cos_buf_putc(&u, '=');
            cos_uri_encode(&u, query[i].value, strlen(query[i].value), false);
        }
    }
    if (!u.data || !p.data) {
        cos_buf_free(&u);
        cos_buf_free(&p);
        return COS_ERR_NOMEM;
    }
    *url = cos_buf_detach(&u);
    if (pathname) *pathname = cos_buf_detach(&p);
    else cos_buf_free(&p);
    return 0;
}

int cos_check_bucket(const char *bucket, bool s3_names, cos_error **err)
{
    if (cos_str_empty(bucket)) return cos_err_invalid(err, "bucket", "missing param Bucket");
    if (s3_names) { /* S3's rules: 3-63 of a-z 0-9 . -, a letter or digit at each end */
        size_t n = strlen(bucket);
        bool ok = n >= 3 && n <= 63;
        for (size_t i = 0; ok && i < n; i++) {
            char c = bucket[i];
            bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
            ok = alnum || ((c == '-' || c == '.') && i > 0 && i + 1 < n);
        }
        return ok ? 0
                  : cos_err_invalid(err, "bucket",
                                    "Bucket should be an S3 bucket name (3-63 lower-case letters, digits, '.' "
                                    "and '-'): got \"%s\"", bucket);
    }
    const char *dash = strrchr(bucket, '-');
    bool ok = dash && dash != bucket && dash[1];
    for (const char *c = bucket; ok && c < dash; c++)
        ok = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-';
    for (const char *c = dash ? dash + 1 : ""; ok && *c; c++) ok = *c >= '0' && *c <= '9';
    if (!ok || strlen(bucket) > 64)
        return cos_err_invalid(err, "bucket",
                               "Bucket should be in the form name-APPID, e.g. \"examplebucket-1250000000\" "
                               "(lower-case letters, digits and '-'): got \"%s\"", bucket);
    return 0;
}

int cos_check_region(const char *region, cos_error **err)
{
    if (cos_str_empty(region)) return cos_err_invalid(err, "region", "missing param Region");
    if (strncmp(region, "cos.", 4) == 0)
        return cos_err_invalid(err, "region", "param Region should not start with \"cos.\": got \"%s\"", region);
    for (const char *c = region; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'))
            return cos_err_invalid(err, "region",
                                   "Region format error: lower-case letters, digits and '-' only, got \"%s\"",
                                   region);
    return 0;
}

bool cos_key_is_bucket_root(const char *key)
{
    /* Resolve "." and ".." segments and empty segments; nothing left means "/". */
    if (!key) return true;
    int depth = 0;
    const char *p = key;
    while (*p) {
        while (*p == '/') p++;
        const char *seg = p;
        while (*p && *p != '/') p++;
        size_t n = (size_t)(p - seg);
        if (n == 0 || (n == 1 && seg[0] == '.')) continue;
        if (n == 2 && seg[0] == '.' && seg[1] == '.') {
            if (depth > 0) depth--;
            continue;
        }
        depth++;
    }
    return depth == 0;
}

bool cos_key_names_no_object(const char *key)
{
    /* not only "//" and "./": "a/.." and "a/b/../.." resolve to the bucket too,
       and COS reads them so (deleteObject("a/..") a DeleteBucket there,
       putObjectAcl of it the bucket's ACL) */
    return cos_key_is_bucket_root(key);
}

bool cos_key_escapes_root(const char *key)
{
    /* A ".." that climbs above the bucket: COS (and the SDK's simplifyPath) would
     * silently clamp it, addressing an object the caller did not name. */
    int depth = 0;
    for (const char *p = key ? key : ""; *p;) {
        while (*p == '/') p++;
        const char *seg = p;
        while (*p && *p != '/') p++;
        size_t n = (size_t)(p - seg);
        if (n == 2 && seg[0] == '.' && seg[1] == '.') {
            if (--depth < 0) return true;
        } else if (n > 0 && !(n == 1 && seg[0] == '.')) {
            depth++;
        }
    }
    return false;
}

/*
 * presign.c — presigned object URLs (getObjectUrl), byte for byte the
 * official SDK's: tests/data/presign.json pins them down, including its
 * quirks (the security token appended unencoded, q-url-param-list's ";"
 * percent-encoded, extra query parameters appended after the signature).
 */
#include "signer.h"
#include "url.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* encodeURIComponent(list).toLowerCase(): "a;b" -> "a%3bb" */
static void put_encoded_lower(cos_buf *b, const char *s)
{
    size_t start = b->len;
    cos_uri_encode(b, s, strlen(s), false);
    for (size_t i = start; i < b->len; i++)
        if (b->data[i] >= 'A' && b->data[i] <= 'Z') b->data[i] = (char)(b->data[i] + 32);
}

/* The SDK's obj2str for the URL: names sorted case-insensitively, both encoded, case kept. */
static void put_query(cos_buf *b, const cos_kv *q, size_t n)
{
    const cos_kv **order = malloc((n ? n : 1) * sizeof *order);
    if (!order) return;
    for (size_t i = 0; i < n; i++) order[i] = &q[i];
    for (size_t i = 1; i < n; i++) /* insertion sort: n is tiny */
        for (size_t j = i; j > 0 && strcasecmp(order[j - 1]->name, order[j]->name) > 0; j--) {
            const cos_kv *t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    for (size_t i = 0; i < n; i++) {
        if (i) cos_buf_putc(b, '&');
        cos_uri_encode(b, order[i]->name, strlen(order[i]->name), false);
        cos_buf_putc(b, '=');
        const char *v = order[i]->value ? order[i]->value : "";
        cos_uri_encode(b, v, strlen(v), false);
    }
    free(order);
}

int cos_presign_with_authorization(const cos_presign_input *in, const char *authorization,
                                   const char *security_token, char **url, cos_error **err)
{
    char *base = NULL;
    if (cos_url_build(in->ep, in->bucket, in->region, in->key, NULL, 0, &base, NULL))
        return cos_err_set(err, COS_ERR_NOMEM, "out of memory");
    cos_buf b = COS_BUF_INIT;
    cos_buf_puts(&b, base);
    free(base);
    if (authorization) {
        cos_buf_putc(&b, '?');
        const char *pl = strstr(authorization, "q-url-param-list=");
        if (pl && strstr(authorization, "q-signature")) {
            const char *v = pl + strlen("q-url-param-list=");
            const char *end = strchr(v, '&');
            size_t vlen = end ? (size_t)(end - v) : strlen(v);
            cos_buf_append(&b, authorization, (size_t)(v - authorization));
            char *list = cos_strndup(v, vlen);
            put_encoded_lower(&b, list ? list : "");
            free(list);
            cos_buf_puts(&b, v + vlen);
        } else {
            cos_buf_puts(&b, "sign=");
            cos_uri_encode(&b, authorization, strlen(authorization), false);
        }
        if (!cos_str_empty(security_token)) {
            cos_buf_puts(&b, "&x-cos-security-token=");
            /* as the SDKs append it ("TOKEN/with+chars=" stays), but for what
               would end the value or the URL: a token (an STS answer's) with
               "&response-content-type=..." or a '#' added parameters or cut
               the URL */
            for (const unsigned char *t = (const unsigned char *)security_token; *t; t++) {
                if (*t == '&' || *t == '#' || *t <= 0x20 || *t >= 0x7f) cos_buf_printf(&b, "%%%02X", *t);
                else cos_buf_putc(&b, (char)*t);
            }
        }
    }
    if (in->query_count) {
        cos_buf_putc(&b, authorization ? '&' : '?');
        put_query(&b, in->query, in->query_count);
    }
    if (!b.data) return cos_err_set(err, COS_ERR_NOMEM, "out of memory");
    *url = cos_buf_detach(&b);
    return 0;
}

int cos_presign_build(const cos_presign_input *in, char **url, cos_error **err)
{
    *url = NULL;
    if (!in->secret_id) /* Sign: false */
        return cos_presign_with_authorization(in, NULL, NULL, url, err);
    char *host = cos_url_host(in->ep, in->bucket, in->region);
    char *pathname = NULL, *tmp_url = NULL;
    int rc = cos_url_build(in->ep, in->bucket, in->region, in->key, NULL, 0, &tmp_url, &pathname);
    free(tmp_url);
    if (rc || !host) {
        free(host);
        free(pathname);
        return cos_err_set(err, COS_ERR_NOMEM, "out of memory");
    }
    cos_sign_params sp = COS_SIGN_PARAMS_INIT;
    sp.secret_id = in->secret_id;
    sp.secret_key = in->secret_key;
    sp.method = in->method ? in->method : "get";
    sp.pathname = pathname;
    sp.query = in->query;
    sp.query_count = in->query_count;
    sp.headers = in->headers;
    sp.header_count = in->header_count;
    sp.start_time = in->start_time;
    sp.expires = in->expires;
    sp.host = host;
    sp.no_sign_host = in->no_sign_host;
    char *auth = NULL;
    rc = cos_sign(&sp, &auth, NULL, err);
    if (rc == 0) rc = cos_presign_with_authorization(in, auth, in->security_token, url, err);
    free(auth);
    free(host);
    free(pathname);
    return rc;
}

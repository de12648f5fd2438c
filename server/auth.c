/*
 * auth.c — verifying q-sign-algorithm=sha1 signatures the way COS does: the
 * header and parameter lists named in the Authorization (header, presigned
 * query, or POST form field) select what is re-signed from the request as
 * received, within the q-key-time window, with the key of q-ak (the
 * server's own, or a temporary key issued by /sts with its token).
 */
#define _GNU_SOURCE
#include "server.h"
#include "signer.h"
#include "url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct collect { cos_kvlist *list; const char *wanted; } collect;

/* Is lower(encode(name)) one of the ";"-separated names? */
static bool in_list(const char *list, const char *name)
{
    cos_buf b = COS_BUF_INIT;
    cos_uri_encode(&b, name, strlen(name), false);
    cos_str_lower(b.data ? b.data : (char *)"");
    const char *enc = b.data ? b.data : "";
    size_t n = strlen(enc);
    bool found = false;
    for (const char *p = list; p && *p && !found;) {
        const char *semi = strchr(p, ';');
        size_t len = semi ? (size_t)(semi - p) : strlen(p);
        found = len == n && strncmp(p, enc, n) == 0;
        p = semi ? semi + 1 : p + len;
    }
    cos_buf_free(&b);
    return found;
}

static enum MHD_Result collect_args(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    collect *c = cls;
    if (in_list(c->wanted, key)) cos_kvlist_add(c->list, key, value ? value : "");
    return MHD_YES;
}

static char *arg_dup(req *r, const char *name)
{
    const char *v = req_arg(r, name);
    return v ? cos_strdup(v) : NULL;
}

int authenticate(req *r, enum MHD_Result *ret)
{
    server *srv = r->srv;
    cos_auth_fields f;
    memset(&f, 0, sizeof f);
    const char *auth = req_header(r, "Authorization");
    const char *form_sig = cos_kvlist_get(&r->form, "Signature");
    bool form = false;
    int parsed;
    if (auth) {
        parsed = cos_auth_parse(auth, &f);
    } else if (form_sig) {
        parsed = cos_auth_parse(form_sig, &f);
        form = true;
    } else if (req_arg(r, "q-sign-algorithm") || req_arg(r, "q-signature")) {
        f.algorithm = arg_dup(r, "q-sign-algorithm");
        f.ak = arg_dup(r, "q-ak");
        f.sign_time = arg_dup(r, "q-sign-time");
        f.key_time = arg_dup(r, "q-key-time");
        f.header_list = arg_dup(r, "q-header-list");
        f.url_param_list = arg_dup(r, "q-url-param-list");
        f.signature = arg_dup(r, "q-signature");
        parsed = f.algorithm && f.ak && f.key_time && f.signature && f.header_list && f.url_param_list ? 0 : -1;
        if (parsed == 0 && !f.sign_time) f.sign_time = cos_strdup(f.key_time);
    } else {
        return 0; /* anonymous: the handlers decide by ACL */
    }
    if (parsed != 0 || strcasecmp(f.algorithm, "sha1") != 0) {
        cos_auth_fields_free(&f);
        *ret = send_error(r, "AccessDenied", "malformed Authorization");
        return -1;
    }
    const char *secret = NULL;
    const char *token = req_header(r, "x-cos-security-token");
    if (!token) token = req_arg(r, "x-cos-security-token");
    if (!token) token = cos_kvlist_get(&r->form, "x-cos-security-token");
    int64_t now = cos_now_ms() / 1000;
    if (strcmp(f.ak, srv->cfg.secret_id) == 0) {
        secret = srv->cfg.secret_key;
        r->principal = cos_strdup("owner");
    } else {
        const sts_key *k = sts_store_lookup(srv->sts, f.ak);
        if (k) {
            if (!token || strcmp(token, k->session_token) != 0) {
                cos_auth_fields_free(&f);
                *ret = send_error(r, "InvalidAccessKeyId", "the security token does not belong to this key");
                return -1;
            }
            if (now >= k->expired_time) {
                cos_auth_fields_free(&f);
                *ret = send_error(r, "AccessDenied", "Request has expired: the temporary key expired");
                return -1;
            }
            secret = k->tmp_secret_key;
            r->tmp_key = k;
            r->principal = cos_strdup(f.ak);
        }
    }
    if (!secret) {
        *ret = send_error(r, "InvalidAccessKeyId", "The access key Id format you provided is invalid.");
        cos_auth_fields_free(&f);
        return -1;
    }
    long long start = 0, end = 0;
    if (sscanf(f.key_time, "%lld;%lld", &start, &end) != 2 || start > end) {
        cos_auth_fields_free(&f);
        *ret = send_error(r, "AccessDenied", "malformed q-key-time");
        return -1;
    }
    if (now > end) {
        cos_auth_fields_free(&f);
        *ret = send_error(r, "AccessDenied", "Request has expired");
        return -1;
    }
    if (start > now + 900) {
        cos_auth_fields_free(&f);
        *ret = send_error(r, "RequestTimeTooSkewed", "The difference between the request time and the server's time is too large.");
        return -1;
    }
    cos_kvlist params = COS_KVLIST_INIT, headers = COS_KVLIST_INIT;
    collect cp = { &params, f.url_param_list };
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_args, &cp);
    collect ch = { &headers, f.header_list };
    MHD_get_connection_values(r->conn, MHD_HEADER_KIND, collect_args, &ch);
    if (form) /* form fields stand in for headers the browser could not set */
        for (size_t i = 0; i < r->form.count; i++)
            if (in_list(f.header_list, r->form.items[i].name) && !cos_kvlist_get(&headers, r->form.items[i].name))
                cos_kvlist_add(&headers, r->form.items[i].name, r->form.items[i].value);
    char sig[41];
    cos_buf fs = COS_BUF_INIT, sts = COS_BUF_INIT;
    cos_sign_compute(secret, r->method, form ? "/" : r->path, f.key_time, params.items, params.count, headers.items,
                     headers.count, sig, &fs, &sts);
    int rc = 0;
    if (strcasecmp(sig, f.signature) != 0) {
        *ret = send_error_sts(r, "SignatureDoesNotMatch",
                              "The Signature you specified does not match what the server computed.", sts.data, fs.data);
        rc = -1;
    }
    cos_buf_free(&fs);
    cos_buf_free(&sts);
    cos_kvlist_free(&params);
    cos_kvlist_free(&headers);
    cos_auth_fields_free(&f);
    return rc;
}

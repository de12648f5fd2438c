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
#include "json.h"
#include "s3sig.h"
#include "cos/hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct coverage coverage;
/* One walk of a request's parameters or headers: those its signature lists
 * are collected to be signed, the first of the others that must be signed
 * is noted (cov, when checked). */
typedef struct collect { cos_kvlist *list; const char *wanted; coverage *cov; } collect;

/* Secrets compared in a time that does not depend on where they differ (a
 * signature, a session token); hex signatures ignoring case, as COS does. */
static bool secret_equal(const char *a, const char *b, bool hex_ignore_case)
{
    size_t n = strlen(a);
    if (n != strlen(b)) return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (hex_ignore_case) { /* letters to lower case without a branch on the secret */
            x |= (unsigned char)(((x >= 'A') & (x <= 'Z')) << 5);
            y |= (unsigned char)(((y >= 'A') & (y <= 'Z')) << 5);
        }
        diff |= (unsigned char)(x ^ y);
    }
    return diff == 0;
}

/* ASCII lower case, as cos_str_lower in the C locale. */
static unsigned char ascii_lower(unsigned char c) { return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c; }

/* Whether item (n bytes) is lower(encode(name)), encode as cos_uri_encode's
 * (unreserved bytes kept, others %XX). Compared in place: building both
 * spellings of each name on the heap was most of what checking a request's
 * headers against its lists cost. */
static bool item_is_encoded(const char *item, size_t n, const char *name)
{
    static const char HEX[] = "0123456789abcdef"; /* lower(): its hex digits too */
    size_t k = 0;
    for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
        bool keep = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-' ||
                    *c == '_' || *c == '.' || *c == '~';
        if (keep) {
            if (k >= n || (unsigned char)item[k] != ascii_lower(*c)) return false;
            k++;
        } else {
            if (k + 3 > n || item[k] != '%' || item[k + 1] != HEX[*c >> 4] || item[k + 2] != HEX[*c & 15])
                return false;
            k += 3;
        }
    }
    return k == n;
}

/* Whether item (n bytes) is lower(name). */
static bool item_is_lower(const char *item, size_t n, const char *name)
{
    size_t k = 0;
    for (const unsigned char *c = (const unsigned char *)name; *c; c++, k++)
        if (k >= n || (unsigned char)item[k] != ascii_lower(*c)) return false;
    return k == n;
}

/* Whether name is in a q-header-list / q-url-param-list. Items are the
 * names URL-encoded and lowercased; a list that reached us decoded (the
 * query form's q-url-param-list, decoded with the rest of the query) holds
 * them lowercased as they are, so either spelling counts. The signature
 * string is built from the same matches, so this widens nothing. */
static bool in_list(const char *list, const char *name)
{
    for (const char *p = list; p && *p;) {
        const char *semi = strchr(p, ';');
        size_t len = semi ? (size_t)(semi - p) : strlen(p);
        if (item_is_encoded(p, len, name) || item_is_lower(p, len, name)) return true;
        p = semi ? semi + 1 : p + len;
    }
    return false;
}

/* The value of field in an Authorization string as it was written, not
 * URL-decoded: a q-url-param-list holds URL-encoded names, and decoding it
 * would turn a name's %3b into the list's own separator. NULL if absent. */
static char *auth_field_raw(const char *auth, const char *field)
{
    size_t flen = strlen(field);
    for (const char *p = auth; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t seg = amp ? (size_t)(amp - p) : strlen(p);
        if (seg > flen && p[flen] == '=' && strncasecmp(p, field, flen) == 0) {
            char *v = cos_strndup(p + flen + 1, seg - flen - 1);
            if (v) cos_str_lower(v);
            return v;
        }
        p += seg;
        if (*p == '&') p++;
    }
    return NULL;
}

static void note_unsigned(coverage *c, enum MHD_ValueKind kind, const char *key, const char *value);

static enum MHD_Result collect_args(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    collect *c = cls;
    if (in_list(c->wanted, key)) cos_kvlist_add(c->list, key, value ? value : "");
    else if (c->cov) note_unsigned(c->cov, kind, key, value);
    return MHD_YES;
}

static char *arg_dup(req *r, const char *name)
{
    const char *v = req_arg(r, name);
    return v ? cos_strdup(v) : NULL;
}

/* The secret of ak without answering: the server's own key, or a live
 * temporary key whose token is token (then *tmp, which the caller releases
 * with sts_key_release). NULL with *code / *msg (an error in
 * the shape send_error takes) when neither. Shared with s3auth.c, which
 * needs the key before the body arrives (aws-chunked signatures). */
const char *auth_lookup_key(server *srv, const char *ak, const char *token, const sts_key **tmp, const char **code,
                            const char **msg)
{
    *tmp = NULL;
    if (ak && strcmp(ak, srv->cfg.secret_id) == 0) return srv->cfg.secret_key;
    for (size_t i = 0; ak && i < srv->cfg.nextra_keys; i++) /* ID:SECRET[:ACCOUNT] */
        if (!strcmp(ak, srv->cfg.extra_keys[i])) return srv->cfg.extra_secrets[i];
    const sts_key *k = ak ? sts_store_lookup(srv->sts, ak) : NULL; /* held until sts_key_release */
    *code = "InvalidAccessKeyId";
    if (!k) {
        *msg = "The access key Id format you provided is invalid.";
        return NULL;
    }
    if (!token || !secret_equal(token, k->session_token, false)) {
        *msg = "the security token does not belong to this key";
        sts_key_release(srv->sts, k);
        return NULL;
    }
    if (cos_now_ms() / 1000 >= k->expired_time) {
        *code = "AccessDenied";
        *msg = "Request has expired: the temporary key expired";
        sts_key_release(srv->sts, k);
        return NULL;
    }
    *tmp = k;
    return k->tmp_secret_key;
}

/* The same for a request: sets the principal; NULL with an error response queued. */
const char *auth_resolve_key(req *r, const char *ak, const char *token, enum MHD_Result *ret)
{
    const sts_key *k = NULL;
    const char *code = NULL, *msg = NULL;
    const char *secret = auth_lookup_key(r->srv, ak, token, &k, &code, &msg);
    if (!secret) {
        *ret = send_error(r, code, "%s", msg);
        return NULL;
    }
    free(r->principal);
    sts_key_release(r->srv->sts, r->tmp_key);
    r->tmp_key = k; /* released when the request completes (main.c) */
    r->principal = cos_strdup(k ? ak : "owner");
    r->account = k ? k->account : NULL; /* a temporary key acts for the account that asked for it */
    for (size_t i = 0; !k && i < r->srv->cfg.nextra_keys; i++)
        if (!strcmp(ak, r->srv->cfg.extra_keys[i])) r->account = r->srv->cfg.extra_accounts[i];
    return secret;
}

static const char *resolve_key(req *r, const char *ak, enum MHD_Result *ret)
{
    const char *token = req_header(r, "x-cos-security-token");
    if (!token) token = req_arg(r, "x-cos-security-token");
    if (!token) token = cos_kvlist_get(&r->form, "x-cos-security-token");
    return auth_resolve_key(r, ak, token, ret);
}

/* "start;end" must contain now (with COS's tolerance for a start a little ahead). */
static int check_key_time(req *r, const char *key_time, enum MHD_Result *ret)
{
    long long start = 0, end = 0, now = (long long)(cos_now_ms() / 1000);
    /* "START;END", read as sscanf("%lld;%lld") would, without its cost on every request */
    char *e1 = NULL, *e2 = NULL;
    bool parsed = false;
    if (key_time) {
        start = strtoll(key_time, &e1, 10);
        if (e1 != key_time && *e1 == ';') {
            end = strtoll(e1 + 1, &e2, 10);
            parsed = e2 != e1 + 1;
        }
    }
    if (!parsed || start > end) {
        *ret = send_error(r, "AccessDenied", "malformed q-key-time");
        return -1;
    }
    if (now > end) {
        *ret = send_error(r, "AccessDenied", "Request has expired");
        return -1;
    }
    if (start > now + 900) {
        *ret = send_error(r, "RequestTimeTooSkewed",
                          "The difference between the request time and the server's time is too large.");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ POST policy */

/* A form field by case-insensitive name; "bucket" is the request's bucket. */
static const char *form_field(req *r, const char *name)
{
    if (strcasecmp(name, "bucket") == 0) return r->bucket;
    if (r->form_key && strcasecmp(name, "key") == 0) return r->form_key; /* S3: the key after ${filename} */
    for (size_t i = 0; i < r->form.count; i++)
        if (strcasecmp(r->form.items[i].name, name) == 0) return r->form.items[i].value;
    return NULL;
}

/* One condition of a POST policy; NULL if it holds, else why not. */
static const char *check_condition(req *r, const cos_json *c, bool strict, char *why, size_t wlen)
{
    if (strict && c->type == COS_JSON_OBJECT && c->count != 1) { /* S3: {} or two fields is no condition */
        snprintf(why, wlen, "Invalid Policy: a {field: value} condition names exactly one field");
        return why;
    }
    if (c->type == COS_JSON_OBJECT) { /* {"field": "value"}: exact match */
        for (size_t i = 0; i < c->count; i++) {
            const cos_json *m = &c->items[i];
            const char *v = form_field(r, m->key);
            if (m->type != COS_JSON_STRING || !v || strcmp(v, m->str) != 0) {
                snprintf(why, wlen, "Invalid according to Policy: Policy Condition failed: [\"eq\", \"$%s\"]", m->key);
                return why;
            }
        }
        return NULL;
    }
    if (c->type != COS_JSON_ARRAY || c->count != 3 || c->items[0].type != COS_JSON_STRING) {
        snprintf(why, wlen, "Invalid Policy: a condition is neither {field: value} nor [op, a, b]");
        return why;
    }
    const char *op = c->items[0].str;
    if (strcasecmp(op, "content-length-range") == 0) {
        if (c->items[1].type != COS_JSON_NUMBER || c->items[2].type != COS_JSON_NUMBER) {
            snprintf(why, wlen, "Invalid Policy: content-length-range needs two numbers");
            return why;
        }
        if (strict && (c->items[1].num < 0 || c->items[2].num < c->items[1].num)) {
            snprintf(why, wlen, "Invalid Policy: content-length-range needs 0 <= min <= max");
            return why;
        }
        if (r->form_size_unknown) return NULL; /* judged again once the file is in */
        double size = (double)r->w.size;
        if (size < c->items[1].num || size > c->items[2].num) {
            snprintf(why, wlen, "%s", size < c->items[1].num ? "EntityTooSmall" : "EntityTooLarge");
            return why;
        }
        return NULL;
    }
    const cos_json *field = &c->items[1], *want = &c->items[2];
    if (field->type != COS_JSON_STRING || field->str[0] != '$' || want->type != COS_JSON_STRING) {
        snprintf(why, wlen, "Invalid Policy: [%s, $field, value] expected", op);
        return why;
    }
    const char *v = form_field(r, field->str + 1);
    bool ok;
    if (strcasecmp(op, "eq") == 0) ok = v && strcmp(v, want->str) == 0;
    else if (strcasecmp(op, "starts-with") == 0) ok = v ? strncmp(v, want->str, strlen(want->str)) == 0 : !*want->str;
    else {
        snprintf(why, wlen, "Invalid Policy: unknown condition %s", op);
        return why;
    }
    if (!ok) {
        snprintf(why, wlen, "Invalid according to Policy: Policy Condition failed: [\"%s\", \"%s\", \"%s\"]", op,
                 field->str, want->str);
        return why;
    }
    return NULL;
}

/* The answer to a form whose policy refused it (fail: check_condition's
 * code or message); the two dialects word the size refusal differently. */
static enum MHD_Result policy_refused(req *r, const char *fail, const char *size_message)
{
    if (!strcmp(fail, "EntityTooSmall") || !strcmp(fail, "EntityTooLarge")) return send_error(r, fail, "%s", size_message);
    if (!strncmp(fail, "Invalid Policy", 14)) return send_error(r, "InvalidPolicyDocument", "%s", fail);
    return send_error(r, "AccessDenied", "%s", fail);
}

/* A browser form signed with a policy (COS's POST Object): fields policy
 * (base64 JSON), q-sign-algorithm, q-ak, q-key-time, q-signature, where
 * q-signature = HMAC-SHA1(HMAC-SHA1(SecretKey, KeyTime) in hex,
 * SHA1(policy) in hex). Then the policy itself: expiration and conditions. */
static int authenticate_policy_form(req *r, const char *policy_b64, enum MHD_Result *ret)
{
    const char *alg = cos_kvlist_get(&r->form, "q-sign-algorithm"), *ak = cos_kvlist_get(&r->form, "q-ak"),
               *key_time = cos_kvlist_get(&r->form, "q-key-time"), *sig = cos_kvlist_get(&r->form, "q-signature");
    if (!alg || strcasecmp(alg, "sha1") != 0 || !ak || !key_time || !sig) {
        *ret = send_error(r, "AccessDenied", "the form's policy signature is incomplete "
                                             "(q-sign-algorithm=sha1, q-ak, q-key-time, q-signature)");
        return -1;
    }
    const char *secret = resolve_key(r, ak, ret);
    if (!secret || check_key_time(r, key_time, ret) != 0) return -1;
    size_t blen = strlen(policy_b64);
    unsigned char *json = malloc(blen + 1);
    int64_t jlen = json ? cos_base64_decode(policy_b64, json) : -1;
    if (jlen < 0) {
        free(json);
        *ret = send_error(r, "InvalidPolicyDocument", "the policy field is not base64");
        return -1;
    }
    json[jlen] = '\0';
    char sign_key[41], policy_sha[41], want[41];
    cos_hmac_sha1_hex(secret, strlen(secret), key_time, strlen(key_time), sign_key);
    cos_sha1_hex(json, (size_t)jlen, policy_sha);
    cos_hmac_sha1_hex(sign_key, 40, policy_sha, 40, want);
    if (!secret_equal(want, sig, true)) {
        free(json);
        *ret = send_error(r, "SignatureDoesNotMatch", "The Signature you specified does not match what the server computed "
                                                      "(q-signature over the SHA-1 of the policy).");
        return -1;
    }
    cos_json *pol = cos_json_parse((const char *)json, (size_t)jlen, NULL);
    free(json);
    const char *exp = pol ? cos_json_get_str(pol, "expiration") : NULL;
    const cos_json *conds = pol ? cos_json_get(pol, "conditions") : NULL;
    int64_t exp_ms = exp ? cos_iso8601_parse(exp) : -1;
    char why[300];
    const char *fail = NULL;
    if (!pol || !exp || exp_ms < 0 || (conds && conds->type != COS_JSON_ARRAY))
        fail = "Invalid Policy: it needs an ISO 8601 expiration and a conditions array";
    else if (exp_ms <= cos_now_ms())
        fail = "Invalid according to Policy: Policy expired.";
    for (size_t i = 0; !fail && conds && i < conds->count; i++) fail = check_condition(r, &conds->items[i], false, why, sizeof why);
    cos_json_free(pol);
    if (!fail) return 0;
    *ret = policy_refused(r, fail, "The uploaded file is outside the policy's content-length-range.");
    return -1;
}

/* S3's expiration: ISO 8601 in UTC, "YYYY-MM-DDTHH:MM:SS[.fff]Z" and nothing else. */
static int64_t s3_policy_expiration(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n < 20 || s[10] != 'T' || s[n - 1] != 'Z') return -1;
    return cos_iso8601_parse(s);
}

/* Form fields a policy need not name: the signature's own, the file, and
 * what S3 documents as ignored (x-ignore-*). x-filename is the file part's
 * name (main.c); it only matters through the key, which the policy checks. */
static bool s3_form_field_exempt(const char *name)
{
    static const char *const EXEMPT[] = { "AWSAccessKeyId", "signature", "policy", "file", "x-amz-signature",
                                          "x-filename" };
    for (size_t i = 0; i < COS_ARRAY_LEN(EXEMPT); i++)
        if (strcasecmp(name, EXEMPT[i]) == 0) return true;
    return cos_starts_with_ci(name, "x-ignore-");
}

/* Whether some condition of the policy names the form field. */
static bool s3_policy_names(const cos_json *conds, const char *name)
{
    for (size_t i = 0; i < conds->count; i++) {
        const cos_json *c = &conds->items[i];
        if (c->type == COS_JSON_OBJECT && c->count == 1 && strcasecmp(c->items[0].key, name) == 0) return true;
        if (c->type == COS_JSON_ARRAY && c->count == 3 && c->items[1].type == COS_JSON_STRING &&
            c->items[1].str[0] == '$' && strcasecmp(c->items[1].str + 1, name) == 0)
            return true;
    }
    return false;
}

/* A browser form signed the AWS way: V2 (AWSAccessKeyId, signature = base64
 * HMAC-SHA1(secret, policy)) or V4 (x-amz-algorithm, x-amz-credential,
 * x-amz-date, x-amz-signature = hex HMAC-SHA256(signing key, policy)). Then
 * S3's policy rules: an expiration in UTC, a conditions array, every
 * condition holding, and every field of the form named by a condition, so
 * nothing the signer did not allow reaches what is stored. */
static int authenticate_s3_form(req *r, const char *policy_b64, enum MHD_Result *ret)
{
    r->is_s3 = true;
    const char *ak = cos_kvlist_get(&r->form, "AWSAccessKeyId"), *sig = cos_kvlist_get(&r->form, "signature");
    const char *alg = cos_kvlist_get(&r->form, "x-amz-algorithm"), *cred = cos_kvlist_get(&r->form, "x-amz-credential");
    const char *amz_date = cos_kvlist_get(&r->form, "x-amz-date"), *sig4 = cos_kvlist_get(&r->form, "x-amz-signature");
    const char *token = cos_kvlist_get(&r->form, "x-amz-security-token");
    bool v4 = !ak;
    char day[9] = "", region[64] = "", service[16] = "", akbuf[128] = "";
    if (v4) {
        if (!alg || strcmp(alg, "AWS4-HMAC-SHA256") != 0 || !cred || !amz_date || !sig4 ||
            sscanf(cred, "%127[^/]/%8[0-9]/%63[^/]/%15[^/]/aws4_request", akbuf, day, region, service) != 4 ||
            strcmp(service, "s3") != 0 || strlen(day) != 8 || strncmp(amz_date, day, 8) != 0) {
            *ret = send_error(r, "InvalidArgument", "The form's AWS signature is incomplete or malformed "
                                                    "(x-amz-algorithm, x-amz-credential, x-amz-date, x-amz-signature).");
            return -1;
        }
        ak = akbuf;
    } else if (!sig || !*sig) {
        *ret = send_error(r, "InvalidArgument", "The form has AWSAccessKeyId but no signature.");
        return -1;
    }
    const char *secret = auth_resolve_key(r, ak, token, ret);
    if (!secret) return -1;
    bool match;
    if (v4) {
        unsigned char key[32], mac[32];
        char want[65];
        s3_signing_key(secret, day, region, "s3", key);
        cos_hmac_sha256(key, 32, policy_b64, strlen(policy_b64), mac);
        cos_hex_encode(mac, 32, want);
        match = secret_equal(want, sig4, true);
    } else {
        char want[64];
        s3_v2_signature(secret, policy_b64, strlen(policy_b64), want);
        match = secret_equal(want, sig, false);
    }
    if (!match) {
        *ret = send_error(r, "SignatureDoesNotMatch", "The request signature we calculated does not match the "
                                                      "signature you provided (over the form's policy field).");
        return -1;
    }
    size_t blen = strlen(policy_b64);
    unsigned char *json = malloc(blen + 1);
    int64_t jlen = json ? cos_base64_decode(policy_b64, json) : -1;
    cos_json *pol = NULL;
    if (jlen >= 0) {
        json[jlen] = '\0';
        pol = cos_json_parse((const char *)json, (size_t)jlen, NULL);
    }
    free(json);
    const char *exp = pol && pol->type == COS_JSON_OBJECT ? cos_json_get_str(pol, "expiration") : NULL;
    const cos_json *conds = pol && pol->type == COS_JSON_OBJECT ? cos_json_get(pol, "conditions") : NULL;
    int64_t exp_ms = s3_policy_expiration(exp);
    char why[300];
    const char *fail = NULL;
    if (!pol) fail = "Invalid Policy: the policy field is not base64 JSON";
    else if (!exp || exp_ms < 0) fail = "Invalid Policy: \"expiration\" must be an ISO 8601 UTC time (YYYY-MM-DDTHH:MM:SSZ)";
    else if (!conds || conds->type != COS_JSON_ARRAY) fail = "Invalid Policy: \"conditions\" must be an array";
    r->form_key = post_form_key(r);
    for (size_t i = 0; !fail && i < conds->count; i++) fail = check_condition(r, &conds->items[i], true, why, sizeof why);
    for (size_t i = 0; !fail && i < r->form.count; i++) {
        const char *name = r->form.items[i].name;
        if (!s3_form_field_exempt(name) && !s3_policy_names(conds, name)) {
            snprintf(why, sizeof why, "Invalid according to Policy: Extra input fields: %.200s", name);
            fail = why;
        }
    }
    if (!fail && exp_ms <= cos_now_ms()) fail = "Invalid according to Policy: Policy expired.";
    free(r->form_key);
    r->form_key = NULL;
    cos_json_free(pol);
    if (!fail) return 0;
    *ret = policy_refused(r, fail, "Your proposed upload is outside the policy's content-length-range.");
    return -1;
}

/* ------------------------------------------------------------ what a signature must cover */

/* Query parameters that carry the signature itself (never signed). */
static bool is_signature_param(const char *name)
{
    static const char *const SIG[] = { "sign", "q-sign-algorithm", "q-ak", "q-sign-time", "q-key-time",
                                       "q-header-list", "q-url-param-list", "q-signature", "x-cos-security-token" };
    for (size_t i = 0; i < COS_ARRAY_LEN(SIG); i++)
        if (strcasecmp(name, SIG[i]) == 0) return true;
    return false;
}

struct coverage {
    char *missing; /* the first that must be signed and is not: "parameter NAME" or "header NAME" */
    bool service;  /* GET Service: its parameters need no signature */
};

/* An x-cos-grant-* header with no value grants nothing (the grant parser
 * reads it as absent): cos-nodejs-sdk-v5 sends GrantRead: "" and the like
 * unsigned, and COS accepts that. */
static bool empty_grant_header(const char *key, const char *value)
{
    if (!cos_starts_with_ci(key, "x-cos-grant-") && !cos_starts_with_ci(key, "x-amz-grant-")) return false;
    for (const char *p = value; p && *p; p++)
        if (*p != ' ') return false;
    return true;
}

/* A parameter or header the signature's list leaves out (collect_args): noted
 * if it selects or widens the operation, so it must be signed. Parameters
 * come first (their walk is first), as the first one is what the refusal names. */
static void note_unsigned(coverage *c, enum MHD_ValueKind kind, const char *key, const char *value)
{
    if (c->missing) return;
    if (kind == MHD_GET_ARGUMENT_KIND) {
        /* every parameter selects or shapes the operation (acl, tagging,
           response-*, prefix...): the official SDKs sign them all */
        if (!c->service && !is_signature_param(key)) c->missing = cos_sprintf("parameter %s", key);
    } else if ((cos_starts_with_ci(key, "x-cos-") || cos_starts_with_ci(key, "x-amz-")) &&
               strcasecmp(key, "x-cos-security-token") != 0 && strcasecmp(key, "x-cos-sdk-retry") != 0 &&
               !empty_grant_header(key, value)) {
        /* (x-cos-sdk-retry is exempt: the official C SDK adds it to a retry
           after signing, COS accepts it, and it changes nothing) */
        /* x-amz-*: a COS-signed request in S3's header names is read through them (req_header) */
        /* x-cos-copy-source, x-cos-acl, x-cos-grant-*, x-cos-metadata-directive...: they widen what a
           request does; the official SDKs sign every x-cos-* header */
        c->missing = cos_sprintf("header %s", key);
    }
}

/* for authenticate_v4_download: any parameter but sign, any x-cos-* header */
static enum MHD_Result v4_count_other(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)value;
    bool *other = cls;
    if (kind == MHD_GET_ARGUMENT_KIND ? strcmp(key, "sign") != 0
                                      : cos_starts_with_ci(key, "x-cos-") || cos_starts_with_ci(key, "x-amz-"))
        *other = true;
    return *other ? MHD_NO : MHD_YES;
}

/* COS's V4 (JSON API) signature as ?sign= on a download, which COS still
 * honours on its XML domains (cos-nodejs-sdk-v5's getV4Auth; its suite reads
 * an object through one): base64(HMAC-SHA1(SecretKey, plain) || plain), plain
 * "a=APPID&b=BUCKET&k=SecretId&t=NOW&e=EXPIRY&r=RAND&f=/APPID/BUCKET/KEY".
 * Taken only where it can mean no more than its text says: a GET or HEAD of
 * the very object f names (a "multi-effect" signature, f empty, is refused),
 * in the bucket a and b name, before e, with no other parameter and no
 * x-cos-* header (nothing it does not cover), and a permanent key. */
static int authenticate_v4_download(req *r, const char *sign, enum MHD_Result *ret)
{
    bool read = r->method && (!strcmp(r->method, "GET") || !strcmp(r->method, "HEAD"));
    size_t slen = strlen(sign);
    unsigned char *raw = malloc(slen + 1);
    int64_t n = raw ? cos_base64_decode(sign, raw) : -1;
    const char *why = NULL;
    if (!read || !r->bucket || !r->key || !*r->key) why = "a V4 signature reads one object (GET or HEAD)";
    else if (n < 21 || n > 4096 || memchr(raw + 20, '\0', (size_t)n - 20)) why = "malformed sign";
    char *plain = why ? NULL : cos_strndup((const char *)raw + 20, (size_t)n - 20);
    cos_kvlist fields = COS_KVLIST_INIT;
    for (const char *p = plain; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t seg = amp ? (size_t)(amp - p) : strlen(p);
        const char *eq = memchr(p, '=', seg);
        if (eq) {
            char *name = cos_strndup(p, (size_t)(eq - p)), *val = cos_strndup(eq + 1, seg - (size_t)(eq - p) - 1);
            if (!cos_kvlist_get(&fields, name)) cos_kvlist_add(&fields, name, val);
            free(name);
            free(val);
        }
        p += seg;
        if (*p == '&') p++;
    }
    const char *a = cos_kvlist_get(&fields, "a"), *b = cos_kvlist_get(&fields, "b"), *k = cos_kvlist_get(&fields, "k"),
               *e = cos_kvlist_get(&fields, "e"), *t = cos_kvlist_get(&fields, "t"), *f = cos_kvlist_get(&fields, "f");
    long long now = (long long)(cos_now_ms() / 1000);
    char *want_bucket = a && b ? cos_sprintf("%s-%s", b, a) : NULL;
    char *want_f = a && b ? cos_sprintf("/%s/%s/%s", a, b, r->key) : NULL;
    char *fdec = f ? cos_uri_decode(f, strlen(f)) : NULL;
    if (!why && (!a || !b || !k || !e || !t || !f)) why = "malformed sign";
    else if (!why && (strcmp(want_bucket, r->bucket) != 0 || !fdec || strcmp(fdec, want_f) != 0))
        why = "the V4 signature names another bucket or object";
    else if (!why && strtoll(e, NULL, 10) < now) why = "Request has expired";
    else if (!why && strtoll(t, NULL, 10) > now + 900) why = "RequestTimeTooSkewed";
    free(want_bucket);
    free(want_f);
    free(fdec);
    int rc = -1;
    if (why) {
        *ret = !strcmp(why, "RequestTimeTooSkewed")
                   ? send_error(r, why, "The difference between the request time and the server's time is too large.")
                   : send_error(r, "AccessDenied", "%s", why);
    } else {
        bool other = false;
        /* nothing the signature does not cover: no other parameter, no x-cos-* header */
        MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, v4_count_other, &other);
        MHD_get_connection_values(r->conn, MHD_HEADER_KIND, v4_count_other, &other);
        const char *secret = other ? NULL : resolve_key(r, k, ret);
        if (other) {
            *ret = send_error(r, "AccessDenied", "a V4 signature covers no parameter or x-cos-* header");
        } else if (secret && r->tmp_key) {
            *ret = send_error(r, "AccessDenied", "a V4 signature takes a permanent key");
        } else if (secret) {
            char want[41], got[41];
            cos_hmac_sha1_hex(secret, strlen(secret), plain, strlen(plain), want);
            cos_hex_encode(raw, 20, got);
            if (secret_equal(want, got, true)) rc = 0;
            else *ret = send_error(r, "SignatureDoesNotMatch", "The Signature you specified does not match what the server computed.");
        }
    }
    cos_kvlist_free(&fields);
    free(plain);
    free(raw);
    return rc;
}

static int cos_authenticate(req *r, enum MHD_Result *ret)
{
    cos_auth_fields f;
    memset(&f, 0, sizeof f);
    const char *auth = req_header(r, "Authorization");
    const char *form_sig = cos_kvlist_get(&r->form, "Signature");
    const char *form_policy = cos_kvlist_get(&r->form, "policy");
    bool form = false;
    int parsed;
    if (!auth && form_policy &&
        (cos_kvlist_get(&r->form, "AWSAccessKeyId") || cos_kvlist_get(&r->form, "x-amz-credential") ||
         cos_kvlist_get(&r->form, "x-amz-signature") || cos_kvlist_get(&r->form, "x-amz-algorithm"))) {
        return authenticate_s3_form(r, form_policy, ret);
    } else if (!auth && form_policy && cos_kvlist_get(&r->form, "q-signature")) {
        return authenticate_policy_form(r, form_policy, ret);
    } else if (!auth && !form_sig && req_arg(r, "sign") && !strstr(req_arg(r, "sign"), "q-sign-algorithm")) {
        return authenticate_v4_download(r, req_arg(r, "sign"), ret);
    } else if (auth || form_sig || req_arg(r, "sign")) {
        /* the header, a form's signature field, or COS's other query form
         * (sign=: the whole Authorization, URL-encoded) */
        const char *whole = auth ? auth : form_sig ? form_sig : req_arg(r, "sign");
        form = !auth && form_sig;
        parsed = cos_auth_parse(whole, &f);
        if (parsed == 0) {
            char *hl = auth_field_raw(whole, "q-header-list"), *pl = auth_field_raw(whole, "q-url-param-list");
            if (hl && pl) {
                free(f.header_list);
                free(f.url_param_list);
                f.header_list = hl;
                f.url_param_list = pl;
            } else {
                free(hl);
                free(pl);
            }
        }
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
    const char *secret = resolve_key(r, f.ak, ret);
    if (!secret || check_key_time(r, f.key_time, ret) != 0) {
        cos_auth_fields_free(&f);
        return -1;
    }
    cos_kvlist params = COS_KVLIST_INIT, headers = COS_KVLIST_INIT;
    /* GET Service's parameters (marker, max-keys, region, tagkey...) only page
       and narrow the list of the caller's own buckets, and select no other
       operation: cos-python-sdk-v5's list_buckets leaves them unsigned, and
       COS accepts that */
    coverage cov = { NULL, !r->bucket && r->path && strcmp(r->path, "/") == 0 && r->method && strcmp(r->method, "GET") == 0 };
    collect cp = { &params, f.url_param_list, form ? NULL : &cov }; /* a form's fields are its policy's to check */
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_args, &cp);
    collect ch = { &headers, f.header_list, form ? NULL : &cov };
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
    if (!secret_equal(sig, f.signature, true)) {
        *ret = send_error_sts(r, "SignatureDoesNotMatch",
                              "The Signature you specified does not match what the server computed.", sts.data, fs.data);
        rc = -1;
    } else if (cov.missing) {
        *ret = send_error(r, "AccessDenied", "Access Denied: %.280s is not covered by the signature (it selects or "
                                             "widens the operation, so it must be signed).", cov.missing);
        rc = -1;
    } else {
        /* COS's signature never covers a body; a signed Content-MD5 does (the handler that needs it checks it) */
        r->body_signed = !form && req_header(r, "Content-MD5") && in_list(f.header_list, "content-md5");
    }
    free(cov.missing);
    cos_buf_free(&fs);
    cos_buf_free(&sts);
    cos_kvlist_free(&params);
    cos_kvlist_free(&headers);
    cos_auth_fields_free(&f);
    return rc;
}

/* The signature alone, before the body has arrived (main.c's check of a
 * request's headers): what the body promised is held to it later. */
int authenticate_headers(req *r, enum MHD_Result *ret)
{
    int rc = s3_authenticate_signature(r, ret);
    return rc != 1 ? rc : cos_authenticate(r, ret);
}

/* An AWS signature goes to s3auth.c, anything else is COS's; either way the
 * body is then held to what the request promised of it (x-amz-content-sha256,
 * aws-chunked signatures, x-amz-checksum-*) before any handler commits it. */
int authenticate(req *r, enum MHD_Result *ret)
{
    int rc = s3_authenticate(r, ret);
    if (rc != 1) return rc;
    rc = cos_authenticate(r, ret);
    if (rc == 0 && s3_body_verify(r, ret) != 0) return -1;
    return rc;
}

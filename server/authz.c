/*
 * authz.c — cos-server's authorization model, in one place (docs/cos-server.md
 * "Authorization" describes the same model for readers):
 *
 * 1. routing: a request becomes one operation of libcos's table (cos_op), by
 *    method, level (service / bucket / object), the sub-resource that selects
 *    it, and the two variants a header or body selects (a copy, a POST form).
 *    A COS sub-resource cos-server does not implement is NotImplemented, so
 *    it can never fall through to the plain operation;
 * 2. what it needs: the (CAM action, resource) pairs of OPS below, in COS's
 *    names; a copy also needs GetObject on its source, a listing is checked
 *    against the prefix it asks for, a multi-delete against each key;
 * 3. the decision for each pair (authz_allows): the owner's permanent key
 *    may do anything; a temporary key only what its policy allows, the
 *    bucket policy does not deny and the account that asked /sts for it may
 *    do (never wider than its issuer); an anonymous caller what the bucket policy
 *    allows it or else what an ACL grant to AllUsers allows. An explicit
 *    Deny always wins over an Allow.
 */
#define _GNU_SOURCE
#include "server.h"
#include "url.h"
#include "versioning.h"
#include "xml.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <pthread.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------- the table */

#define A(x) "name/cos:" x
static const op_def OPS[] = {
#include "authz_ops.inc"
};
#undef A

/* Sub-resources that select an operation, in the order they win when a
 * request carries several (uploadId beats uploads: ?uploads&uploadId is a part). */
static const char *const IMPLEMENTED[] = { "uploadId", "uploads", "acl", "cors", "policy", "tagging", "lifecycle",
                                           "versioning", "replication", "website", "referer", "domain", "origin",
                                           "logging", "inventory", "accelerate", "encryption", "location", "versions",
                                           "delete", "restore", "append", "publicAccessBlock",
                                           "ownershipControls", "policyStatus", "attributes", "intelligenttiering",
                                           "symlink", "object-lock", "retention", "select" };

/* COS sub-resources (and request parameters that select a COS operation)
 * that cos-server does not implement: NotImplemented, never the plain
 * operation they would otherwise fall through to. */
static const char *const NOT_IMPLEMENTED[] = {
    "domaincertificate", "live", "vod", "intelligent-tiering", "notification",
    "rename", "legal-hold", "torrent", "requestPayment", "analytics", "metrics",
    "meta-query", "ci-process", "image_process", "guetzli" };

const op_def *route_request(req *r, const char **unimplemented)
{
    *unimplemented = NULL;
    for (size_t i = 0; i < COS_ARRAY_LEN(NOT_IMPLEMENTED); i++)
        if (req_has_arg(r, NOT_IMPLEMENTED[i])) {
            *unimplemented = NOT_IMPLEMENTED[i];
            return NULL;
        }
    const char *sub = NULL;
    for (size_t i = 0; i < COS_ARRAY_LEN(IMPLEMENTED) && !sub; i++)
        if (req_has_arg(r, IMPLEMENTED[i])) sub = IMPLEMENTED[i];
    int level = !r->bucket ? L_SERVICE : r->key ? L_OBJECT : L_BUCKET;
    bool copy = level == L_OBJECT && !strcmp(r->method, "PUT") && req_header(r, "x-cos-copy-source");
    bool form = level == L_BUCKET && !strcmp(r->method, "POST") && r->pp && !sub;
    for (size_t i = 0; i < COS_ARRAY_LEN(OPS); i++) {
        const op_def *o = &OPS[i];
        if (o->level != level || strcmp(o->method, r->method) != 0) continue;
        if (o->sub ? !sub || strcmp(o->sub, sub) != 0 : sub != NULL) continue;
        if (!!(o->flags & OPF_COPY) != copy || !!(o->flags & OPF_FORM) != form) continue;
        /* ?inventory with an id is one configuration, without it the list */
        if (o->op == COS_OP_GET_BUCKET_INVENTORY && !req_arg(r, "id")) continue;
        if (o->op == COS_OP_LIST_BUCKET_INVENTORY && req_arg(r, "id")) continue;
        return o;
    }
    return NULL;
}

/* ---------------------------------------------------------------- ACLs */

#define ALL_USERS "http://cam.qcloud.com/groups/global/AllUsers"

static unsigned permission_bits(const char *p)
{
    if (!p) return 0;
    if (!strcmp(p, "FULL_CONTROL")) return ACL_READ | ACL_WRITE | ACL_READ_ACP | ACL_WRITE_ACP;
    if (!strcmp(p, "READ")) return ACL_READ;
    if (!strcmp(p, "WRITE")) return ACL_WRITE;
    if (!strcmp(p, "READ_ACP")) return ACL_READ_ACP;
    if (!strcmp(p, "WRITE_ACP")) return ACL_WRITE_ACP;
    return 0;
}

/* What a stored ACL grants anonymous callers. Canned ACLs are about data
 * only (public-read: READ, public-read-write: READ and WRITE), never about
 * the ACL or any configuration; an AccessControlPolicy grants exactly what
 * its AllUsers grants say. */
unsigned acl_anonymous_grants(const char *acl)
{
    return acl_grants_for(acl, NULL);
}

/* What a stored ACL grants one account's canonical id (who), or anonymous
 * callers (NULL): the grants to everyone, to authenticated users, to it. */
static bool is_authenticated_users(const char *uri)
{
    return uri && (!strcmp(uri, "http://acs.amazonaws.com/groups/global/AuthenticatedUsers") ||
                   !strcmp(uri, "http://cam.qcloud.com/groups/global/AuthenticatedUsers"));
}

unsigned acl_grants_for(const char *acl, const char *who)
{
    if (!acl) return 0;
    if (!strcmp(acl, "public-read")) return ACL_READ;
    if (!strcmp(acl, "public-read-write")) return ACL_READ | ACL_WRITE;
    if (!strcmp(acl, "authenticated-read")) return who ? ACL_READ : 0;
    if (acl[0] != '<') return 0; /* private, default */
    cos_access_control_policy *p = NULL;
    unsigned bits = 0;
    if (cos_xml_parse(&cos_xs_access_control_policy, acl, strlen(acl), (void **)&p, NULL) == 0) {
        for (size_t i = 0; i < p->grants_count; i++) {
            const cos_grant *g = &p->grants[i];
            if (g->grantee && g->grantee->uri &&
                (!strcmp(g->grantee->uri, ALL_USERS) || !strcmp(g->grantee->uri, "http://acs.amazonaws.com/groups/global/AllUsers")))
                bits |= permission_bits(g->permission); /* COS's group, or S3's name for it */
            else if (who && g->grantee && (is_authenticated_users(g->grantee->uri) || (g->grantee->id && !strcmp(g->grantee->id, who))))
                bits |= permission_bits(g->permission);
        }
    }
    cos_xml_free(&cos_xs_access_control_policy, p);
    return bits;
}

/* ---------------------------------------------------------------- decisions */

/* A policy condition's key, from what this request says (sts_access.cond_key):
 * S3's listing parameters and x-amz-* request headers (x-cos-* in COS's
 * dialect). Anything else the server cannot say: -1. */
typedef struct cond_ctx {
    req *r;
    const char *bucket, *key; /* the object the access is about (a copy's source is another) */
    const char *version_id;   /* the version of it the access names (a multi-delete's entry's own), or NULL */
    char *buf;                /* the last value looked up that needed storage */
} cond_ctx;

static const char *keep(cond_ctx *c, char *v)
{
    free(c->buf);
    c->buf = v;
    return v;
}

/* The request's own object was read to decide (its ACL, its tags): GET and HEAD then serve that very
 * object, not one that replaced it meanwhile (handlers.c, get_object_try). */
static void pin_object(req *r, const char *bucket, const char *key, const char *data_id)
{
    if (r->pinning_source) { /* a copy's source, wherever it is */
        snprintf(r->source_pin, sizeof r->source_pin, "%s", data_id);
        r->source_pinned = true;
        return;
    }
    const char *own = r->pin_key ? r->pin_key : r->key;
    if (!r->bucket || !own || strcmp(bucket, r->bucket) != 0 || strcmp(key, own) != 0) return;
    snprintf(r->authz_pin, sizeof r->authz_pin, "%s", data_id);
    r->authz_pinned = true;
}

/* "s3:ExistingObjectTag/K": the stored object's tag K; of the version the access names, when it names one
 * (tags are each version's own: the current version's let anyone read an old version tagged private once
 * a public one replaced it, and a Deny on a tag of the version to be deleted missed it). */
static int existing_tag(cond_ctx *c, const char *tag, const char **value)
{
    if (!c->bucket || !c->key || !*c->key) return 0;
    obj_meta m;
    bool marker = false;
    int rc = c->version_id ? versioning_lookup(c->r, c->bucket, c->key, c->version_id, &m, &marker)
                           : store_object_get(c->r->srv->st, c->bucket, c->key, &m);
    if (rc < -1) return -1; /* unreadable: the server cannot say */
    if (rc) return 0;
    if (marker) { /* a delete marker has no tags */
        obj_meta_clear(&m);
        return 0;
    }
    pin_object(c->r, c->bucket, c->key, m.data_id);
    cos_tagging *t = NULL;
    int found = 0;
    if (m.tagging && cos_xml_parse(&cos_xs_tagging, m.tagging, strlen(m.tagging), (void **)&t, NULL) == 0) {
        for (size_t i = 0; i < t->tags_count && !found; i++)
            if (t->tags[i].key && !strcmp(t->tags[i].key, tag)) {
                *value = keep(c, cos_strdup(t->tags[i].value ? t->tags[i].value : ""));
                found = 1;
            }
        cos_xml_free(&cos_xs_tagging, t);
    }
    obj_meta_clear(&m);
    return found;
}

/* "s3:RequestObjectTag/K": tag K of the request's x-amz-tagging ("k=v&k2=v2", URL-encoded), or of a
 * POST form's x-cos-tagging field, which the form's handler applies the same way. */
static int request_tag(cond_ctx *c, const char *tag, const char **value)
{
    const char *q = req_header(c->r, "x-cos-tagging");
    if (!q && c->r->pp) q = cos_kvlist_get(&c->r->form, "x-cos-tagging");
    for (const char *p = q; p && *p;) {
        size_t n = strcspn(p, "&"), eq = strcspn(p, "=");
        char *k = cos_uri_decode(p, eq < n ? eq : n);
        bool hit = k && !strcmp(k, tag);
        free(k);
        if (hit) {
            char *v = eq < n ? cos_uri_decode(p + eq + 1, n - eq - 1) : cos_strdup("");
            if (!v) return -1;
            *value = keep(c, v);
            return 1;
        }
        p += n;
        if (*p) p++;
    }
    return 0;
}

/* A header's value as its handler reads it, for the values handlers take in any case: a storage
 * class ("archive" is stored as ARCHIVE) and a copy's directives (COS's Copy / Replaced, S3's COPY /
 * REPLACE, any case). A condition compares the meaning, not the spelling: before, a Deny on ARCHIVE
 * or on REPLACE did not apply to "archive" or "replace". */
static const char *canonical_value(cond_ctx *c, const char *key, const char *name, const char *v)
{
    bool s3 = !strncasecmp(key, "s3:", 3);
    if (!strcasecmp(name, "storage-class")) {
        char *u = cos_strdup(v);
        for (char *p = u; p && *p; p++) *p = (char)toupper((unsigned char)*p);
        return u ? keep(c, u) : v;
    }
    if (!strcasecmp(name, "metadata-directive") || !strcasecmp(name, "tagging-directive")) {
        if (!strcasecmp(v, "Copy")) return s3 ? "COPY" : "Copy";
        if (!strcasecmp(v, "Replaced") || !strcasecmp(v, "REPLACE")) return s3 ? "REPLACE" : "Replaced";
    }
    return v;
}

static int request_cond_key(void *ctx, const char *key, const char **value)
{
    cond_ctx *c = ctx;
    req *r = c->r;
    if (!strncasecmp(key, "s3:ExistingObjectTag/", 21)) return existing_tag(c, key + 21, value);
    if (!strncasecmp(key, "s3:RequestObjectTag/", 20)) return request_tag(c, key + 20, value);
    static const char *const ARGS[] = { "prefix", "delimiter", "max-keys" };
    if (!strncasecmp(key, "s3:", 3) || !strncasecmp(key, "cos:", 4)) {
        const char *k = strchr(key, ':') + 1;
        /* the version the access names: for a multi-delete, each entry's <VersionId>, never the request's
           query (which names none), so a Deny on one version holds there as on DELETE ?versionId= */
        if (!strcasecmp(k, "versionid")) {
            *value = c->version_id;
            return *value != NULL;
        }
        if (!strncasecmp(key, "cos:", 4) && !strcasecmp(k, "content-type")) {
            /* a form's object takes its Content-Type field: the request's own header is the form's encoding */
            *value = r->pp ? cos_kvlist_get(&r->form, "Content-Type") : req_header(r, "Content-Type");
            return *value != NULL;
        }
        if (!strncasecmp(k, "response-", 9)) { /* GetObject's response-content-type and the like */
            *value = req_arg(r, k);
            return *value != NULL;
        }
        for (size_t i = 0; i < sizeof ARGS / sizeof ARGS[0]; i++)
            if (!strcasecmp(k, ARGS[i])) {
                *value = i == 0 && r->cond_prefix ? r->cond_prefix : req_arg(r, ARGS[i]);
                if (i == 2 && *value && !**value) return 0; /* "max-keys=" is none to the listing: so here */
                return *value != NULL;
            }
        if (!strncasecmp(k, "x-amz-", 6) || !strncasecmp(k, "x-cos-", 6)) {
            /* the header as sent, in the request's own dialect (req_header only maps the names it knows) */
            char h[128];
            snprintf(h, sizeof h, "%s%s", r->is_s3 ? "x-amz-" : "x-cos-", k + 6);
            *value = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, h);
            if (!*value && r->pp) {
                /* a POST form's fields stand in for the headers a browser cannot set, and its handler
                   applies them (x-cos-storage-class, x-cos-tagging, its "acl"): so do its conditions
                   (before, a Deny on cos:x-cos-storage-class did not see a form's field) */
                snprintf(h, sizeof h, "x-cos-%s", k + 6);
                *value = !strcasecmp(k + 6, "acl") && cos_kvlist_get(&r->form, "acl") ? cos_kvlist_get(&r->form, "acl")
                                                                                     : cos_kvlist_get(&r->form, h);
            }
            if (*value) *value = canonical_value(c, key, k + 6, *value);
            return *value != NULL;
        }
    }
    if (!strcasecmp(key, "aws:SourceIp") || !strcasecmp(key, "qcs:ip")) { /* COS's name for it */
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        static _Thread_local char ip[INET6_ADDRSTRLEN];
        const struct sockaddr *sa = ci ? ci->client_addr : NULL;
        if (sa && sa->sa_family == AF_INET)
            *value = inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, ip, sizeof ip);
        else if (sa && sa->sa_family == AF_INET6)
            *value = inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, ip, sizeof ip);
        else
            return -1;
        return *value ? 1 : -1;
    }
    if (!strcasecmp(key, "cos:secure-transport") || !strcasecmp(key, "aws:SecureTransport")) {
        *value = r->srv->tls_cert_pem ? "true" : "false"; /* the API listener is all TLS or all plain */
        return 1;
    }
    if (!strcasecmp(key, "aws:Referer") || !strcasecmp(key, "aws:UserAgent")) {
        *value = req_header(r, !strcasecmp(key, "aws:Referer") ? "Referer" : "User-Agent");
        return *value != NULL;
    }
    return -1;
}

static sts_decision eval_either(req *r, const char *bucket, const char *key, const char *version_id,
                                const sts_policy *p, const char *action, const char *alt, const char *resource,
                                const char *principal)
{
    cond_ctx c = { r, bucket, key, version_id, NULL };
    sts_access a = { action, resource, request_cond_key, &c, version_id != NULL };
    sts_decision d = sts_policy_eval(p, &a, principal);
    if (alt && d != STS_DENY) {
        a.action = alt;
        sts_decision d2 = sts_policy_eval(p, &a, principal);
        if (d2 != STS_NO_MATCH) d = d2;
    }
    free(c.buf);
    return d;
}

char *authz_owner_principal(const server *srv)
{
    return cos_sprintf("qcs::cam::uin/%s:uin/%s", srv->cfg.appid, srv->cfg.appid);
}

char *authz_account_id(const server *srv, const char *account)
{
    return account ? cos_strdup(account) : authz_owner_principal(srv);
}

char *authz_display_name(const server *srv, const char *id)
{
    char *own = authz_owner_principal(srv);
    char *name = cos_strdup(id && strcmp(id, own) != 0 ? id : srv->cfg.appid);
    free(own);
    return name;
}

/* A second account's bucket carries its account in the "owner" configuration. */
static int bucket_account(server *srv, const char *bucket, char **account)
{
    size_t len = 0;
    *account = NULL;
    int rc = store_config_get(srv->st, bucket, "owner", account, &len);
    if (rc == 0 && *account) {
        char *a = cos_strndup(*account, len);
        free(*account);
        *account = a;
    }
    return rc;
}

char *authz_bucket_account(server *srv, const char *bucket)
{
    char *a = NULL;
    if (bucket_account(srv, bucket, &a) != 0) {
        free(a);
        return NULL;
    }
    return a;
}

static bool same_account(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/* "qcs::cos:REGION:uid/APPID:BUCKET/KEY" (what cos_sprintf made, without printf on every request); NULL on OOM */
static char *resource_name(const char *region, const char *appid, const char *bucket, const char *key)
{
    const char *const parts[] = { "qcs::cos:", region, ":uid/", appid, ":", bucket, "/", key };
    size_t len[COS_ARRAY_LEN(parts)], total = 1;
    for (size_t i = 0; i < COS_ARRAY_LEN(parts); i++) total += len[i] = strlen(parts[i]);
    char *out = malloc(total), *p = out;
    for (size_t i = 0; out && i < COS_ARRAY_LEN(parts); i++) {
        memcpy(p, parts[i], len[i]);
        p += len[i];
    }
    if (out) *p = '\0';
    return out;
}

/* A bucket policy parsed once per text, not per request: the request still
 * reads the stored text (store_config_get), and only a text byte for byte
 * equal to the one this thread parsed last reuses that parse, so a changed
 * or deleted policy is in force from the very next request. Per thread, so
 * no lock; freed when the thread ends. */
typedef struct policy_memo { char *text; size_t len; sts_policy *p; } policy_memo;
static pthread_key_t policy_key;
static pthread_once_t policy_once = PTHREAD_ONCE_INIT;

static void policy_memo_free(void *v)
{
    policy_memo *m = v;
    free(m->text);
    sts_policy_free(m->p);
    free(m);
}

static void policy_key_make(void) { pthread_key_create(&policy_key, policy_memo_free); }

/* The parse of text (NULL if it does not parse); owned by the memo, valid until this thread's next call. */
static const sts_policy *bucket_policy(const char *text, size_t len)
{
    pthread_once(&policy_once, policy_key_make);
    policy_memo *m = pthread_getspecific(policy_key);
    if (m && m->text && m->len == len && memcmp(m->text, text, len) == 0) return m->p;
    if (!m && (m = calloc(1, sizeof *m)) != NULL && pthread_setspecific(policy_key, m) != 0) {
        free(m);
        m = NULL;
    }
    sts_policy *p = sts_policy_parse(text, len, NULL);
    if (!m) { /* nowhere to keep it: parsed for this request alone, as before */
        static _Thread_local sts_policy *alone;
        sts_policy_free(alone);
        return alone = p;
    }
    free(m->text);
    sts_policy_free(m->p);
    m->p = p;
    m->len = len;
    m->text = malloc(len ? len : 1);
    if (m->text) memcpy(m->text, text, len);
    return p;
}

bool authz_allows(req *r, const char *action, const char *alt, unsigned acl, const char *bucket, const char *key,
                  bool object_level, const char *version_id, char *why, size_t why_len, int *store_rc)
{
    if (version_id && !*version_id) version_id = NULL; /* empty: the current version, as the handlers read it */
    bool version = version_id != NULL;
    /* an ACL's WRITE overwrites and hides (a delete marker) but never deletes a version for
       good: as in S3, where only the bucket owner's WRITE does, history outlives public writers */
    if (version) acl &= ~(unsigned)ACL_WRITE;
    server *srv = r->srv;
    *store_rc = 0;
    bool owner = r->principal && !r->tmp_key;
    if (!bucket) { /* GetService: resource "*", as COS documents */
        if (owner) return true;
        if (r->tmp_key && r->tmp_key->policy && eval_either(r, NULL, NULL, NULL, r->tmp_key->policy, action, alt, "*", NULL) == STS_ALLOW)
            return true;
        snprintf(why, why_len, "%s", r->tmp_key ? "the temporary key's policy does not allow name/cos:GetService on *"
                                                : "anonymous access is not allowed");
        return false;
    }
    char *region = NULL, *bacl = NULL, *pol = NULL;
    size_t plen = 0;
    int brc = store_bucket_get(srv->st, bucket, &region, &bacl, NULL);
    bool exists = brc == 0;
    /* the bucket's own region; a bucket that does not exist yet is in the
       region the request names (routing checked its characters) */
    char *resource = resource_name(exists && region ? region : r->region ? r->region : "", srv->cfg.appid, bucket,
                                   key ? key : "");
    const sts_policy *bp = NULL;
    int prc = exists ? store_config_get(srv->st, bucket, "policy", &pol, &plen) : -1;
    if (prc == 0) bp = bucket_policy(pol, plen);
    char *bacct = NULL;
    int arc = exists ? bucket_account(srv, bucket, &bacct) : -1;
    /* an account's permanent key owns what its account owns, and may create what does not exist yet
       (a temporary key's account is the one that asked /sts for it) */
    bool account_owns = !exists || same_account(bacct, r->account);
    bool own = owner && account_owns;
    free(bacct);
    if (brc < -1 || prc < -1 || arc < -1) { /* what cannot be read may deny: fail closed */
        *store_rc = brc < -1 ? brc : prc < -1 ? prc : arc;
        snprintf(why, why_len, "%s", store_last_error());
        free(pol);
        free(resource);
        free(region);
        free(bacl);
        return false;
    }
    char *me = r->principal ? authz_account_id(srv, r->account) : NULL;
    sts_decision bucket_d = bp ? eval_either(r, bucket, object_level ? key : NULL, version_id, bp, action, alt, resource, me) : STS_NO_MATCH;
    bool ok = false;
    unsigned pab = 0;
    if (own) {
        /* the root account's permanent key: Tencent Cloud does not limit a
           resource owner's root account by policies (and a policy can never
           lock the owner out of its own bucket). S3 does apply a bucket
           policy's Deny to its owner, except on the policy itself. */
        ok = !(r->is_s3 && bucket_d == STS_DENY && !strstr(action, "BucketPolicy"));
        if (!ok) snprintf(why, why_len, "an explicit Deny in the bucket policy covers %s on %s", action, resource);
    } else if (owner && exists && !strcmp(action, "name/cos:PutBucket")) {
        ok = true; /* another account's bucket: the handler answers BucketAlreadyExists, changing nothing */
    } else if (r->tmp_key) {
        sts_decision d = r->tmp_key->policy ? eval_either(r, bucket, object_level ? key : NULL, version_id, r->tmp_key->policy, action, alt, resource, NULL) : STS_NO_MATCH;
        ok = d == STS_ALLOW && bucket_d != STS_DENY;
        if (!r->tmp_key->policy) snprintf(why, why_len, "a temporary key without a policy is allowed nothing");
        else if (d != STS_ALLOW) snprintf(why, why_len, "the temporary key's policy does not allow %s on %s", action, resource);
        else if (!ok) snprintf(why, why_len, "an explicit Deny in the bucket policy covers %s on %s", action, resource);
        if (ok && !account_owns) {
            /* never wider than its account: in another account's bucket, also only
               what that account's permanent key may do there (grants, policies) */
            const sts_key *k = r->tmp_key;
            r->tmp_key = NULL;
            ok = authz_allows(r, action, alt, acl, bucket, key, object_level, version_id, why, why_len, store_rc);
            r->tmp_key = k;
        }
    } else if (bucket_d == STS_DENY) {
        snprintf(why, why_len, "an explicit Deny in the bucket policy covers %s on %s", action, resource);
    } else if (exists && (pab = public_block_flags(srv, bucket, store_rc), *store_rc)) { /* unreadable: fail closed */
        snprintf(why, why_len, "%s", store_last_error());
    } else if (bucket_d == STS_ALLOW && (pab & PAB_RESTRICT_PUBLIC_BUCKETS) && sts_policy_is_public(bp)) {
        /* S3: a public policy then admits only the owner's account */
        snprintf(why, why_len, "the bucket's public access block restricts it to its owner (%s on %s)", action, resource);
    } else if (bucket_d == STS_ALLOW) {
        ok = true;
    } else if (exists && acl && (pab & PAB_IGNORE_PUBLIC_ACLS)) {
        snprintf(why, why_len, "the bucket's public access block ignores public ACLs (%s on %s)", action, resource);
    } else if (exists && acl) {
        unsigned grants = 0;
        bool own_acl = false, writer_owns = false;
        if (object_level && key && (acl & (ACL_READ | ACL_READ_ACP | ACL_WRITE_ACP))) {
            /* an object's own ACL decides reads of it; "default" defers to the bucket's. One
               version of it: that version's ACL (a private old version stays private when a
               public one replaces it) */
            obj_meta m;
            bool marker = false;
            int orc = version_id ? versioning_lookup(r, bucket, key, version_id, &m, &marker)
                                 : store_object_get(srv->st, bucket, key, &m);
            if (orc == 0 && marker) { /* a delete marker has no ACL: the bucket's decides (it answers 405) */
                obj_meta_clear(&m);
                orc = -1;
            }
            if (orc == 0) {
                pin_object(r, bucket, key, m.data_id);
                if (m.acl && strcmp(m.acl, "default") != 0) {
                    own_acl = true;
                    grants = acl_grants_for(m.acl, owner ? me : NULL);
                } else if (r->is_s3 && owner) {
                    /* S3: an object without an ACL of its own is its owner's alone, whatever the
                       bucket grants other accounts (COS's "default" inherits the bucket's) */
                    own_acl = true; /* grants nothing */
                }
                /* the account that wrote it into another account's bucket owns it (COS's ACL rules and
                   S3's ObjectWriter alike: FULL_CONTROL), unless the bucket's ObjectOwnership gave it
                   to the bucket's owner since. It reads it and its ACL; it does not change the ACL
                   (COS and S3 would let it): a bucket that lets an account write never lets it
                   publish or share what it wrote, beyond what the bucket's owner grants */
                char *writer = owner ? object_owner_recorded(m.headers) : NULL;
                writer_owns = writer && !strcmp(writer, me) && ownership_of(srv, bucket) != OWN_ENFORCED;
                free(writer);
                obj_meta_clear(&m);
            } else if (orc < -1) {
                *store_rc = orc;
                snprintf(why, why_len, "%s", store_last_error());
            }
        }
        if (!own_acl) grants = acl_grants_for(bacl, owner ? me : NULL);
        /* ACP grants are never inherited: the bucket's ACL says nothing about an object's ACL */
        if (object_level && !own_acl) grants &= ~(unsigned)(ACL_READ_ACP | ACL_WRITE_ACP);
        if (writer_owns) grants |= ACL_READ | ACL_READ_ACP;
        ok = !*store_rc && (grants & acl) != 0;
        if (!ok && !*store_rc)
            snprintf(why, why_len, "%s access is not allowed (%s on %s)", owner ? "another account's" : "anonymous", action,
                     resource);
    } else {
        snprintf(why, why_len, "%s access is not allowed (%s on %s)", owner ? "another account's" : "anonymous", action,
                 resource);
    }
    free(pol);
    free(me);
    free(resource);
    free(region);
    free(bacl);
    return ok;
}

/* ---------------------------------------------------------------- per request */

/* "bucket-appid.cos.region.myqcloud.com/key" or "/bucket-appid/key" (key URL-encoded). */
int parse_copy_source(const char *src, char **bucket, char **key)
{
    if (!src) return -1;
    const char *p = src;
    if (*p == '/') {
        p++;
        const char *slash = strchr(p, '/');
        if (!slash) return -1;
        *bucket = cos_strndup(p, (size_t)(slash - p));
        p = slash + 1;
    } else {
        const char *cos = strstr(p, ".cos.");
        const char *slash = strchr(p, '/');
        if (!slash || slash == p) return -1;
        /* COS's BUCKET.cos.REGION.myqcloud.com/KEY, or S3's BUCKET/KEY (no leading slash, as boto3 sends it) */
        *bucket = cos && cos < slash ? cos_strndup(p, (size_t)(cos - p)) : cos_strndup(p, (size_t)(slash - p));
        p = slash + 1;
    }
    size_t n = strcspn(p, "?");
    *key = cos_uri_decode(p, n);
    if (!*key) *key = cos_strndup(p, n);
    return **key ? 0 : -1;
}

char *post_form_key(req *r)
{
    const char *tmpl = cos_kvlist_get(&r->form, "key");
    if (!tmpl || !*tmpl) return NULL;
    const char *fname = cos_kvlist_get(&r->form, "x-filename");
    cos_buf k = COS_BUF_INIT;
    for (const char *p = tmpl; *p;) { /* ${filename} */
        if (!strncmp(p, "${filename}", 11)) {
            cos_buf_puts(&k, fname ? fname : "");
            p += 11;
        } else {
            cos_buf_putc(&k, *p++);
        }
    }
    return cos_buf_detach(&k);
}

/* One entry of a RefererConfiguration's DomainList against a Referer
 * without its scheme: a prefix match ("www.example.com" also admits
 * "www.example.com/123" and "www.example.com.cn", as COS documents), and
 * "*.example.com" the same from any label of the host on (so
 * "a.b.example.com/x", never "evil.com/a.example.com"). Case-insensitive. */
static bool referer_domain_matches(const char *domain, const char *ref)
{
    if (strncmp(domain, "*.", 2) != 0) return *domain && !strncasecmp(ref, domain, strlen(domain));
    const char *suffix = domain + 2;
    size_t host_len = strcspn(ref, "/?#");
    for (size_t i = 0; i < host_len; i++)
        if ((i == 0 || ref[i - 1] == '.') && *suffix && !strncasecmp(ref + i, suffix, strlen(suffix))) return true;
    return false;
}

/* COS's hotlink protection (PUT /?referer): an unsigned request to a bucket
 * whose RefererConfiguration is Enabled must carry a Referer the list admits
 * (White-List) or does not name (Black-List); an empty or absent Referer is
 * EmptyReferConfiguration's to decide (Deny unless it says Allow). Signed
 * requests are not checked, as COS documents. 0 = admitted, 1 = refused (why
 * says so), else a store error (fail closed). */
static int referer_refuses(req *r, char *why, size_t why_len)
{
    char *body = NULL;
    size_t len = 0;
    int rc = store_config_get(r->srv->st, r->bucket, "referer", &body, &len);
    if (rc == -1) return 0; /* none */
    if (rc) {
        free(body);
        snprintf(why, why_len, "%s", store_last_error());
        return rc;
    }
    cos_referer_configuration *cfg = NULL;
    if (cos_xml_parse(&cos_xs_referer_configuration, body, len, (void **)&cfg, NULL) != 0) cfg = NULL;
    free(body);
    int refused = 0;
    if (!cfg) refused = 1; /* stored but unreadable: it cannot admit anyone */
    else if (cfg->status && !strcasecmp(cfg->status, "Enabled")) {
        const char *ref = req_header(r, "Referer");
        if (!ref || !*ref) {
            refused = !(cfg->empty_refer_configuration && !strcasecmp(cfg->empty_refer_configuration, "Allow"));
        } else {
            const char *rest = strstr(ref, "://");
            rest = rest ? rest + 3 : ref;
            bool listed = false;
            for (size_t i = 0; i < cfg->domains_count && !listed; i++)
                listed = cfg->domains[i] && referer_domain_matches(cfg->domains[i], rest);
            bool white = cfg->referer_type && !strcasecmp(cfg->referer_type, "White-List");
            refused = white ? !listed : listed;
        }
    }
    cos_xml_free(&cos_xs_referer_configuration, cfg);
    if (refused) snprintf(why, why_len, "the bucket's hotlink protection (referer) refuses this Referer");
    return refused;
}

/* Whether a write also sets the ACL of what it creates: a canned ACL other
 * than "default" (which inherits, as if none were sent), a grant header, or
 * a form's acl field. Then it is also PutObjectACL / PutBucketACL, as S3
 * requires s3:PutObjectAcl of a PUT with x-amz-acl (COS does not say: the
 * strict choice), so a key allowed only uploads cannot publish them. */
static bool request_sets_acl(req *r)
{
    static const char *const GRANTS[] = { "x-cos-grant-read", "x-cos-grant-write", "x-cos-grant-full-control",
                                          "x-cos-grant-read-acp", "x-cos-grant-write-acp" };
    const char *canned[] = { req_header(r, "x-cos-acl"), cos_kvlist_get(&r->form, "acl"),
                             cos_kvlist_get(&r->form, "x-cos-acl") };
    for (size_t i = 0; i < COS_ARRAY_LEN(canned); i++)
        if (canned[i] && strcmp(canned[i], "default") != 0) return true;
    for (size_t i = 0; i < COS_ARRAY_LEN(GRANTS); i++)
        if (req_header(r, GRANTS[i]) || cos_kvlist_get(&r->form, GRANTS[i])) return true;
    return false;
}

/* Whether a write also tags what it creates (x-cos-tagging, in a header or a
 * form): then it is also PutObjectTagging, as S3 requires s3:PutObjectTagging
 * of a PUT with x-amz-tagging. Tags can decide access (s3:ExistingObjectTag
 * conditions), so a key allowed only to upload must not choose them. */
static bool request_sets_tags(req *r)
{
    return req_header(r, "x-cos-tagging") || cos_kvlist_get(&r->form, "x-cos-tagging");
}

int authorize_request(req *r, const op_def *op, enum MHD_Result *ret)
{
    char why[512] = "";
    if (op->flags & OPF_PREFLIGHT) return 0; /* CORS preflight is anonymous by design; the CORS rules decide */
    const char *key = r->key;
    char *form_key = NULL;
    if (op->flags & OPF_FORM) {
        form_key = post_form_key(r);
        if (!form_key) return 0; /* the handler answers that the form has no key */
        key = form_key;
    } else if (op->flags & OPF_LISTING) {
        key = req_arg(r, "prefix"); /* COS allows a listing whose prefix lies inside the resource */
        if (!key) key = "";
    }
    bool ok = true;
    int store_rc = 0;
    if (!r->principal && r->bucket) { /* an unsigned request: the bucket's hotlink protection first */
        int hrc = referer_refuses(r, why, sizeof why);
        ok = hrc == 0;
        if (hrc > 1 || hrc < -1) store_rc = hrc;
    }
    /* an operation on one version of an object (?versionId=, empty meaning none, as its handler reads it);
       the others act on the current version whatever they are sent */
    const char *vid = op->flags & OPF_VERSIONED ? req_arg(r, "versionId") : NULL;
    if (ok && (!(op->flags & OPF_PER_KEY) || !r->principal)) /* a multi-delete's keys are checked by its handler */
        ok = authz_allows(r, op->action, op->alt_action, op->acl, r->bucket, key,
                          op->level == L_OBJECT || (op->flags & OPF_FORM), vid, why, sizeof why, &store_rc);
    bool bucket_acl = op->level == L_BUCKET && !(op->flags & OPF_FORM);
    /* PUT Bucket sets an ACL only on the bucket it creates (an existing one is answered, unchanged) */
    if (ok && (op->flags & OPF_SETS_ACL) && request_sets_acl(r) &&
        !(bucket_acl && store_bucket_get(r->srv->st, r->bucket, NULL, NULL, NULL) == 0)) {
        ok = authz_allows(r, bucket_acl ? "name/cos:PutBucketACL" : "name/cos:PutObjectACL", NULL, ACL_WRITE_ACP,
                          r->bucket, bucket_acl ? NULL : key, !bucket_acl, NULL, why, sizeof why, &store_rc);
    }
    if (ok && (op->flags & OPF_SETS_ACL) && !bucket_acl && request_sets_tags(r))
        ok = authz_allows(r, "name/cos:PutObjectTagging", NULL, 0, r->bucket, key, true, NULL, why, sizeof why, &store_rc);
    if (ok && (op->flags & OPF_COPY)) {
        char *sb = NULL, *sk = NULL;
        const char *src = req_header(r, "x-cos-copy-source");
        const char *q = src ? strstr(src, "?versionId=") : NULL; /* as the handler reads it */
        char *svid = q ? cos_strndup(q + 11, strcspn(q + 11, "&")) : NULL;
        if (parse_copy_source(src, &sb, &sk) == 0) {
            r->pinning_source = true;
            ok = authz_allows(r, "name/cos:GetObject", NULL, ACL_READ, sb, sk, true, svid, why, sizeof why, &store_rc);
            r->pinning_source = false;
        }
        free(svid);
        /* unparseable: the handler refuses it before reading anything */
        free(sb);
        free(sk);
    }
    free(form_key);
    if (ok) return 0;
    if (store_rc == STORE_BUSY) *ret = send_error(r, "SlowDown", "The metadata store is busy (%s); please retry.", why);
    else if (store_rc) *ret = send_error(r, "InternalError", "Authorization could not read the store: %s", why);
    else *ret = send_error(r, "AccessDenied", "Access Denied: %s", why);
    return -1;
}

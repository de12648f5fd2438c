/*
 * s3public.c — S3's guards on public access, per bucket: PublicAccessBlock
 * (?publicAccessBlock), the policy status it is about (?policyStatus) and
 * OwnershipControls (?ownershipControls). Stored as configurations of the
 * bucket like the others; their effects are checked here, after
 * authorization and before the handler (public_guard_refuses), and on
 * anonymous access in authz.c (public_block_flags).
 */
#define _GNU_SOURCE
#include "server.h"
#include "xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PAB_KIND "publicAccessBlock"
#define OWNERSHIP_KIND "ownershipControls"

static const char *const PAB_FIELDS[] = { "BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy",
                                          "RestrictPublicBuckets" };

/* <Name>true</Name> in a small XML document (the stored configurations are
 * written by us, the request's are checked by xml_bool first). -1: absent. */
static int xml_bool(const char *doc, size_t len, const char *name)
{
    char open[64];
    snprintf(open, sizeof open, "<%s>", name);
    const char *p = memmem(doc, len, open, strlen(open));
    if (!p) return -1;
    p += strlen(open);
    size_t rest = len - (size_t)(p - doc);
    while (rest && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')) p++, rest--;
    if (rest >= 4 && !strncasecmp(p, "true", 4)) return 1;
    if (rest >= 5 && !strncasecmp(p, "false", 5)) return 0;
    return -2;
}

unsigned public_block_flags(server *srv, const char *bucket, int *store_rc)
{
    char *body = NULL;
    size_t len = 0;
    int rc = store_config_get(srv->st, bucket, PAB_KIND, &body, &len);
    *store_rc = rc < -1 ? rc : 0;
    unsigned f = 0;
    if (rc == 0)
        for (size_t i = 0; i < COS_ARRAY_LEN(PAB_FIELDS); i++)
            if (xml_bool(body, len, PAB_FIELDS[i]) == 1) f |= 1u << i;
    free(body);
    return f;
}

/* Whether an ACL (canned name, grant headers, or AccessControlPolicy XML)
 * grants anything to everyone or to every authenticated user. */
static bool names_group(const char *s, size_t len)
{
    static const char *const PUBLIC[] = { "AllUsers", "AuthenticatedUsers" };
    for (size_t i = 0; i < COS_ARRAY_LEN(PUBLIC); i++)
        for (size_t n = strlen(PUBLIC[i]), k = 0; k + n <= len; k++)
            if (!strncasecmp(s + k, PUBLIC[i], n)) return true;
    return false;
}

static bool acl_text_public(const char *s, size_t len)
{
    if (names_group(s, len)) return true;
    /* an AccessControlPolicy is read as XML, as authz.c reads it: "All&#85;sers" is AllUsers too */
    const char *p = s;
    while (p < s + len && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) p++;
    if (p == s + len || *p != '<') return false;
    cos_access_control_policy *acp = NULL;
    if (cos_xml_parse(&cos_xs_access_control_policy, s, len, (void **)&acp, NULL) != 0) return false;
    bool pub = false;
    for (size_t i = 0; i < acp->grants_count && !pub; i++) {
        const cos_grantee *g = acp->grants[i].grantee;
        pub = g && g->uri && names_group(g->uri, strlen(g->uri));
    }
    cos_xml_free(&cos_xs_access_control_policy, acp);
    return pub;
}

static bool canned_public(const char *c)
{
    return c && (!strcmp(c, "public-read") || !strcmp(c, "public-read-write") || !strcmp(c, "authenticated-read"));
}

bool acl_is_public(const char *acl)
{
    return acl && (canned_public(acl) || acl_text_public(acl, strlen(acl)));
}

/* Whether a request sets a public ACL: a canned header, a grant header to a
 * group, or (on ?acl) a body granting a group. */
static bool request_sets_public_acl(req *r, bool acl_body)
{
    if (canned_public(req_header(r, "x-cos-acl"))) return true;
    if (r->pp && canned_public(cos_kvlist_get(&r->form, "acl"))) return true; /* a browser form's field */
    static const char *const GRANTS[] = { "x-cos-grant-read", "x-cos-grant-write", "x-cos-grant-read-acp",
                                          "x-cos-grant-write-acp", "x-cos-grant-full-control" };
    for (size_t i = 0; i < COS_ARRAY_LEN(GRANTS); i++) {
        const char *g = req_header(r, GRANTS[i]);
        if (g && acl_text_public(g, strlen(g))) return true;
    }
    return acl_body && r->body.len && acl_text_public(r->body.data, r->body.len);
}

/* Whether a request sets an ACL BucketOwnerEnforced refuses: any but
 * bucket-owner-full-control, which says what is so anyway (S3 and RGW refuse
 * "private" too: ceph/s3-tests' ownership tests). */
static bool request_sets_acl(req *r, bool acl_body)
{
    const char *form_acl = r->pp ? cos_kvlist_get(&r->form, "acl") : NULL;
    if (form_acl && strcmp(form_acl, "bucket-owner-full-control") != 0) return true;
    if (req_header(r, "x-cos-acl") && strcmp(req_header(r, "x-cos-acl"), "bucket-owner-full-control") != 0)
        return true;
    static const char *const GRANTS[] = { "x-cos-grant-read", "x-cos-grant-write", "x-cos-grant-read-acp",
                                          "x-cos-grant-write-acp", "x-cos-grant-full-control" };
    for (size_t i = 0; i < COS_ARRAY_LEN(GRANTS); i++)
        if (req_header(r, GRANTS[i])) return true;
    return acl_body && r->body.len;
}

static bool ownership_enforced(server *srv, const char *bucket)
{
    return ownership_of(srv, bucket) == OWN_ENFORCED;
}

bool public_guard_refuses(req *r, const char *sub, enum MHD_Result *ret)
{
    if (!r->bucket) return false;
    const char *m = r->method;
    bool acl_put = !strcmp(m, "PUT") && sub && !strcmp(sub, "acl");
    bool writes_acl = acl_put || (r->key && !strcmp(m, "PUT") && !sub) ||
                      (r->key && !strcmp(m, "POST") && sub && (!strcmp(sub, "uploads") || !strcmp(sub, "append"))) ||
                      (!r->key && !strcmp(m, "POST") && r->pp && !sub);
    bool policy_put = !strcmp(m, "PUT") && !r->key && sub && !strcmp(sub, "policy");
    if (!writes_acl && !policy_put) return false;
    int src = 0;
    unsigned f = public_block_flags(r->srv, r->bucket, &src);
    if (src) {
        *ret = send_error(r, "InternalError", "The public access block could not be read: %s", store_last_error());
        return true;
    }
    if (writes_acl && (f & PAB_BLOCK_PUBLIC_ACLS) && request_sets_public_acl(r, acl_put)) {
        *ret = send_error(r, "AccessDenied", "Access Denied: the bucket's public access block refuses public ACLs.");
        return true;
    }
    if (writes_acl && request_sets_acl(r, acl_put) && ownership_enforced(r->srv, r->bucket)) {
        *ret = send_error(r, "AccessControlListNotSupported", "The bucket does not allow ACLs.");
        return true;
    }
    if (policy_put && (f & PAB_BLOCK_PUBLIC_POLICY)) {
        sts_policy *p = sts_policy_parse(r->body.data ? r->body.data : "", r->body.len, NULL);
        bool pub = p && sts_policy_is_public(p);
        sts_policy_free(p);
        if (pub) {
            *ret = send_error(r, "AccessDenied", "Access Denied: the bucket's public access block refuses public policies.");
            return true;
        }
    }
    return false;
}

/* ---------------------------------------------------------------- the sub-resources */

static enum MHD_Result send_empty(req *r, int status)
{
    return send_buffer(r, status, NULL, NULL, 0, NULL);
}

static enum MHD_Result store_failed(req *r)
{
    return send_error(r, "InternalError", "The change was not made: %s", store_last_error());
}

static enum MHD_Result send_xml(req *r, cos_buf *b)
{
    size_t l = b->len;
    return send_buffer(r, 200, "application/xml", cos_buf_detach(b), l, NULL);
}

static enum MHD_Result public_access_block(req *r)
{
    if (!strcmp(r->method, "DELETE")) {
        int rc = store_config_delete(r->srv->st, r->bucket, PAB_KIND);
        return rc ? store_failed(r) : send_empty(r, 204);
    }
    if (!strcmp(r->method, "PUT")) {
        const char *d = r->body.data ? r->body.data : "";
        if (!r->body.len || !memmem(d, r->body.len, "PublicAccessBlockConfiguration", 30))
            return send_error(r, "MalformedXML", "The XML you provided was not well-formed or did not validate.");
        /* stored in our own words: only the four booleans, each true or false */
        cos_buf b = COS_BUF_INIT;
        cos_buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<PublicAccessBlockConfiguration>");
        for (size_t i = 0; i < COS_ARRAY_LEN(PAB_FIELDS); i++) {
            int v = xml_bool(d, r->body.len, PAB_FIELDS[i]);
            if (v == -2) {
                cos_buf_free(&b);
                return send_error(r, "MalformedXML", "%s must be true or false.", PAB_FIELDS[i]);
            }
            cos_buf_printf(&b, "<%s>%s</%s>", PAB_FIELDS[i], v == 1 ? "true" : "false", PAB_FIELDS[i]);
        }
        cos_buf_puts(&b, "</PublicAccessBlockConfiguration>");
        int rc = store_config_put(r->srv->st, r->bucket, PAB_KIND, b.data, b.len);
        cos_buf_free(&b);
        return rc ? store_failed(r) : send_empty(r, 200);
    }
    char *body = NULL;
    size_t len = 0;
    int rc = store_config_get(r->srv->st, r->bucket, PAB_KIND, &body, &len);
    if (rc < -1) return send_error(r, "InternalError", "%s", store_last_error());
    if (rc) return send_error(r, "NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found.");
    return send_buffer(r, 200, "application/xml", body, len, NULL);
}

static const char *const OWNERSHIPS[] = { "BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter" };

bool ownership_valid(const char *ownership)
{
    for (size_t i = 0; i < COS_ARRAY_LEN(OWNERSHIPS); i++)
        if (!strcmp(ownership, OWNERSHIPS[i])) return true;
    return false;
}

char *ownership_doc(const char *ownership, const char **kind)
{
    *kind = OWNERSHIP_KIND;
    return cos_sprintf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<OwnershipControls><Rule><ObjectOwnership>%s"
                       "</ObjectOwnership></Rule></OwnershipControls>", ownership);
}

int ownership_set(server *srv, const char *bucket, const char *ownership)
{
    const char *kind;
    char *doc = ownership_doc(ownership, &kind);
    int rc = store_config_put(srv->st, bucket, kind, doc, strlen(doc));
    free(doc);
    return rc;
}

int ownership_of(server *srv, const char *bucket)
{
    char *body = NULL;
    size_t len = 0;
    int own = OWN_WRITER; /* none set, or unreadable: the writer owns what it writes (S3's ObjectWriter) */
    if (bucket && store_config_get(srv->st, bucket, OWNERSHIP_KIND, &body, &len) == 0 && body) {
        if (memmem(body, len, ">BucketOwnerEnforced<", 21)) own = OWN_ENFORCED;
        else if (memmem(body, len, ">BucketOwnerPreferred<", 22)) own = OWN_PREFERRED;
    }
    free(body);
    return own;
}

#define OWNER_RECORD "x-cos-internal-owner"

char *object_owner_record(req *r)
{
    if (!r->principal) return cos_strdup(""); /* anonymous owns nothing: the bucket's owner owns what it writes (COS) */
    char *bucket_account = authz_bucket_account(r->srv, r->bucket);
    bool same = bucket_account == r->account || (bucket_account && r->account && !strcmp(bucket_account, r->account));
    free(bucket_account);
    if (same) return cos_strdup("");
    int own = ownership_of(r->srv, r->bucket);
    const char *acl = req_header(r, "x-cos-acl");
    if (own == OWN_ENFORCED || (own == OWN_PREFERRED && acl && !strcmp(acl, "bucket-owner-full-control")))
        return cos_strdup("");
    char *id = authz_account_id(r->srv, r->account);
    cos_buf b = COS_BUF_INIT;
    cos_buf_puts(&b, "");
    objhdr_add(&b, OWNER_RECORD, id);
    free(id);
    return cos_buf_detach(&b);
}

char *object_owner_keep(const char *headers)
{
    char *id = objhdr_get(headers, OWNER_RECORD);
    cos_buf b = COS_BUF_INIT;
    cos_buf_puts(&b, "");
    if (id) objhdr_add(&b, OWNER_RECORD, id);
    free(id);
    return cos_buf_detach(&b);
}

char *object_owner_recorded(const char *headers)
{
    return objhdr_get(headers, OWNER_RECORD);
}

char *object_owner_id(req *r, const char *headers)
{
    char *id = objhdr_get(headers, OWNER_RECORD);
    if (id) return id;
    char *a = authz_bucket_account(r->srv, r->bucket);
    return a ? a : authz_owner_principal(r->srv);
}

static enum MHD_Result ownership_controls(req *r, const char *bacl)
{
    if (!strcmp(r->method, "DELETE")) {
        int rc = store_config_delete(r->srv->st, r->bucket, OWNERSHIP_KIND);
        return rc ? store_failed(r) : send_empty(r, 204);
    }
    if (!strcmp(r->method, "PUT")) {
        const char *d = r->body.data ? r->body.data : "";
        const char *which = NULL;
        for (size_t i = 0; i < COS_ARRAY_LEN(OWNERSHIPS) && !which; i++) {
            char el[64];
            snprintf(el, sizeof el, "<ObjectOwnership>%s</ObjectOwnership>", OWNERSHIPS[i]);
            if (memmem(d, r->body.len, el, strlen(el))) which = OWNERSHIPS[i];
        }
        if (!which) return send_error(r, "MalformedXML", "ObjectOwnership must be one of BucketOwnerEnforced, BucketOwnerPreferred, ObjectWriter.");
        if (!strcmp(which, "BucketOwnerEnforced") && acl_is_public(bacl))
            return send_error(r, "InvalidBucketAclWithObjectOwnership",
                              "Bucket ACLs are not allowed with BucketOwnerEnforced: make the bucket private first.");
        int rc = ownership_set(r->srv, r->bucket, which);
        return rc ? store_failed(r) : send_empty(r, 200);
    }
    char *body = NULL;
    size_t len = 0;
    int rc = store_config_get(r->srv->st, r->bucket, OWNERSHIP_KIND, &body, &len);
    if (rc < -1) return send_error(r, "InternalError", "%s", store_last_error());
    if (rc) return send_error(r, "OwnershipControlsNotFoundError", "The bucket ownership controls were not found.");
    return send_buffer(r, 200, "application/xml", body, len, NULL);
}

/* Public: an ACL that grants a group, or a policy with an unconditional Allow to everyone. */
static enum MHD_Result policy_status(req *r, const char *bacl)
{
    char *pol = NULL;
    size_t plen = 0;
    int rc = store_config_get(r->srv->st, r->bucket, "policy", &pol, &plen);
    if (rc < -1) return send_error(r, "InternalError", "%s", store_last_error());
    bool pub = acl_is_public(bacl);
    if (!pub && rc == 0) {
        sts_policy *p = sts_policy_parse(pol, plen, NULL);
        pub = p && sts_policy_is_public(p);
        sts_policy_free(p);
    }
    free(pol);
    cos_buf b = COS_BUF_INIT;
    cos_buf_printf(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<PolicyStatus><IsPublic>%s</IsPublic></PolicyStatus>",
                   pub ? "true" : "false");
    return send_xml(r, &b);
}

bool public_subresource(const char *sub)
{
    return sub && (!strcmp(sub, PAB_KIND) || !strcmp(sub, OWNERSHIP_KIND) || !strcmp(sub, "policyStatus"));
}

enum MHD_Result public_request(req *r, const char *sub, const char *bacl)
{
    if (!strcmp(sub, PAB_KIND)) return public_access_block(r);
    if (!strcmp(sub, OWNERSHIP_KIND)) return ownership_controls(r, bacl);
    return policy_status(r, bacl);
}

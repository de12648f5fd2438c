/*
 * policy.c — the qcloud-cos-sts policy grammar, parsed and evaluated:
 * statements of actions ("name/cos:PutObject", "name/cos:*", "*"), an effect,
 * resources ("qcs::cos:REGION:uid/APPID:BUCKET/PREFIX*") and, for bucket
 * policies, principals. An explicit deny beats any allow.
 */
#define _GNU_SOURCE
#include "sts.h"
#include <stdio.h>
#include "json.h"

#include <stdlib.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <sys/socket.h>

/* One condition: OPERATOR {KEY: [VALUES]}; every one must hold. */
typedef struct condition {
    char *op; /* without "IfExists" */
    bool if_exists;
    char *key;
    char **values;
    size_t nvalues;
} condition;

typedef struct statement {
    bool deny;
    condition *conds;
    size_t nconds;
    char **actions;
    size_t nactions;
    char **resources;
    size_t nresources;
    char **principals;        /* NULL = any requester */
    size_t nprincipals;
} statement;

struct sts_policy {
    statement *st;
    size_t n;
};

static char **str_list(const cos_json *v, size_t *n)
{
    *n = 0;
    if (!v) return NULL;
    if (v->type == COS_JSON_STRING) {
        char **l = malloc(sizeof *l);
        l[0] = strdup(v->str);
        *n = 1;
        return l;
    }
    if (v->type != COS_JSON_ARRAY) return NULL;
    char **l = calloc(v->count ? v->count : 1, sizeof *l);
    for (size_t i = 0; i < v->count; i++)
        if (v->items[i].type == COS_JSON_STRING) l[(*n)++] = strdup(v->items[i].str);
    return l;
}

static void free_list(char **l, size_t n)
{
    for (size_t i = 0; i < n; i++) free(l[i]);
    free(l);
}

void sts_policy_free(sts_policy *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->n; i++) {
        free_list(p->st[i].actions, p->st[i].nactions);
        free_list(p->st[i].resources, p->st[i].nresources);
        free_list(p->st[i].principals, p->st[i].nprincipals);
        for (size_t k = 0; k < p->st[i].nconds; k++) {
            condition *c = &p->st[i].conds[k];
            free(c->op);
            free(c->key);
            free_list(c->values, c->nvalues);
        }
        free(p->st[i].conds);
    }
    free(p->st);
    free(p);
}

/* The operators evaluated (each also with "IfExists"); any other is refused,
 * never ignored: an ignored condition would widen an Allow. */
static const char *const COND_OPS[] = { "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase",
                                        "StringNotEqualsIgnoreCase", "StringLike", "StringNotLike",
                                        "NumericEquals", "NumericNotEquals", "NumericLessThan",
                                        "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals",
                                        "Bool", "Null", "IpAddress", "NotIpAddress" };

/* A condition's values: strings, numbers and booleans, one or a list. */
static char **cond_values(const cos_json *v, size_t *n)
{
    *n = 0;
    size_t count = v->type == COS_JSON_ARRAY ? v->count : 1;
    const cos_json *items = v->type == COS_JSON_ARRAY ? v->items : v;
    char **l = calloc(count ? count : 1, sizeof *l);
    for (size_t i = 0; i < count; i++) {
        const cos_json *x = &items[i];
        if (x->type == COS_JSON_STRING || x->type == COS_JSON_NUMBER) l[(*n)++] = strdup(x->str);
        else if (x->type == COS_JSON_BOOL) l[(*n)++] = strdup(x->boolean ? "true" : "false");
    }
    return l;
}

/* COS's own names for them, as its bucket policies and CAM write them ("ip_equal": {"qcs:ip": ...},
 * "string_equal": {"cos:versionid": ...}), each also with "_if_exist": read as the operator named.
 * Before, a policy in COS's grammar was refused as MalformedPolicy. */
static const char *const COS_COND_OPS[][2] = {
    { "string_equal", "StringEquals" }, { "string_not_equal", "StringNotEquals" },
    { "string_equal_ignore_case", "StringEqualsIgnoreCase" },
    { "string_not_equal_ignore_case", "StringNotEqualsIgnoreCase" }, { "string_like", "StringLike" },
    { "string_not_like", "StringNotLike" }, { "numeric_equal", "NumericEquals" },
    { "numeric_not_equal", "NumericNotEquals" }, { "numeric_less_than", "NumericLessThan" },
    { "numeric_less_than_equal", "NumericLessThanEquals" }, { "numeric_greater_than", "NumericGreaterThan" },
    { "numeric_greater_than_equal", "NumericGreaterThanEquals" }, { "bool_equal", "Bool" },
    { "null_equal", "Null" }, { "ip_equal", "IpAddress" }, { "ip_not_equal", "NotIpAddress" } };

/* The operator a COS name stands for (NULL: none), *if_exists from its "_if_exist" suffix. */
static const char *cos_operator(const char *op, bool *if_exists)
{
    size_t n = strlen(op);
    *if_exists = n > 9 && !strcmp(op + n - 9, "_if_exist");
    if (*if_exists) n -= 9;
    for (size_t k = 0; k < sizeof COS_COND_OPS / sizeof COS_COND_OPS[0]; k++)
        if (strlen(COS_COND_OPS[k][0]) == n && !strncmp(COS_COND_OPS[k][0], op, n)) return COS_COND_OPS[k][1];
    return NULL;
}

static const char *parse_conditions(const cos_json *cj, statement *t)
{
    if (cj->type != COS_JSON_OBJECT) return "a condition must be an object of operators";
    for (size_t i = 0; i < cj->count; i++) {
        const cos_json *keys = &cj->items[i];
        bool if_exists = false;
        const char *op = cos_operator(keys->key, &if_exists);
        size_t oplen = op ? strlen(op) : 0;
        if (!op) {
            op = keys->key;
            oplen = strlen(op);
            if_exists = oplen > 8 && !strcmp(op + oplen - 8, "IfExists");
            if (if_exists) oplen -= 8;
        }
        bool known = false;
        for (size_t k = 0; k < sizeof COND_OPS / sizeof COND_OPS[0] && !known; k++)
            known = strlen(COND_OPS[k]) == oplen && !strncmp(COND_OPS[k], op, oplen);
        if (!known) return "a condition operator is not supported";
        if (keys->type != COS_JSON_OBJECT || !keys->count) return "a condition operator needs keys";
        for (size_t k = 0; k < keys->count; k++) {
            t->conds = realloc(t->conds, (t->nconds + 1) * sizeof *t->conds);
            condition *c = &t->conds[t->nconds++];
            c->op = strndup(op, oplen);
            c->if_exists = if_exists;
            c->key = strdup(keys->items[k].key);
            c->values = cond_values(&keys->items[k], &c->nvalues);
            if (!c->nvalues) return "a condition key needs string values";
            /* read otherwise, "yes" or "1" was false for Bool and "present" for Null: a Deny that
               its author meant to apply did not, or applied where it was not meant to */
            bool boolean = !strcmp(c->op, "Bool") || !strcmp(c->op, "Null");
            for (size_t v = 0; boolean && v < c->nvalues; v++)
                if (strcasecmp(c->values[v], "true") != 0 && strcasecmp(c->values[v], "false") != 0)
                    return "a Bool or Null condition's value must be true or false";
        }
    }
    return NULL;
}

/* Whether any object of the document names a member twice ({"Effect": "Deny", "Effect":
 * "Allow"}): JSON leaves it to the reader which one counts, and a policy
 * read otherwise than its author (or another tool) read it may be wider. */
static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_duplicate_keys(const cos_json *v)
{
    if (v->type != COS_JSON_OBJECT && v->type != COS_JSON_ARRAY) return false;
    for (size_t i = 0; i < v->count; i++)
        if (has_duplicate_keys(&v->items[i])) return true;
    if (v->type != COS_JSON_OBJECT || v->count < 2) return false;
    char **keys = malloc(v->count * sizeof *keys);
    if (!keys) return true; /* cannot tell: refused */
    for (size_t i = 0; i < v->count; i++) keys[i] = v->items[i].key ? v->items[i].key : (char *)"";
    qsort(keys, v->count, sizeof *keys, key_cmp);
    bool dup = false;
    for (size_t i = 1; i < v->count && !dup; i++) dup = !strcmp(keys[i - 1], keys[i]);
    free(keys);
    return dup;
}

/* A member in COS's spelling (lower) or S3's (upper); *bad when both are there. */
static const cos_json *member(const cos_json *obj, const char *lower, const char *upper, const char **bad)
{
    const cos_json *l = cos_json_get(obj, lower), *u = cos_json_get(obj, upper);
    if (l && u) *bad = "a policy field is given in both spellings (as \"effect\" and \"Effect\")";
    return l ? l : u;
}

sts_policy *sts_policy_parse(const char *json, size_t len, char **errmsg)
{
    char *jerr = NULL;
    cos_json *j = cos_json_parse(json, len, &jerr);
    if (!j) {
        if (errmsg) *errmsg = jerr;
        else free(jerr);
        return NULL;
    }
    const char *bad = j->type != COS_JSON_OBJECT ? "a policy is a JSON object"
                      : has_duplicate_keys(j)   ? "a policy names a field twice in one object"
                                                : NULL;
    const cos_json *sts = bad ? NULL : member(j, "statement", "Statement", &bad);
    if (bad || !sts || sts->type != COS_JSON_ARRAY) {
        if (errmsg) *errmsg = strdup(bad ? bad : "policy has no statement list");
        cos_json_free(j);
        return NULL;
    }
    const cos_json *top_pr = member(j, "principal", "Principal", &bad); /* COS also allows one for every statement */
    sts_policy *p = calloc(1, sizeof *p);
    p->st = calloc(sts->count ? sts->count : 1, sizeof *p->st);
    for (size_t i = 0; i < sts->count && !bad; i++) {
        const cos_json *s = &sts->items[i];
        statement *t = &p->st[p->n++];
        const cos_json *ej = member(s, "effect", "Effect", &bad);
        const char *effect = ej && ej->type == COS_JSON_STRING ? ej->str : NULL;
        if (bad) break;
        /* anything but allow or deny is an error, never silently an allow */
        if (!effect || (strcasecmp(effect, "allow") != 0 && strcasecmp(effect, "deny") != 0)) {
            bad = "every statement needs an effect of allow or deny";
            break;
        }
        t->deny = strcasecmp(effect, "deny") == 0;
        t->actions = str_list(member(s, "action", "Action", &bad), &t->nactions);
        t->resources = str_list(member(s, "resource", "Resource", &bad), &t->nresources);
        const cos_json *pr = member(s, "principal", "Principal", &bad);
        if (!pr) pr = top_pr;
        if (cos_json_get(s, "NotPrincipal") || cos_json_get(s, "NotAction") || cos_json_get(s, "NotResource")) {
            bad = "NotPrincipal, NotAction and NotResource are not supported";
            break;
        }
        const cos_json *cj = member(s, "condition", "Condition", &bad);
        if (bad) break;
        if (cj && (bad = parse_conditions(cj, t)) != NULL) break;
        if (pr && pr->type == COS_JSON_OBJECT) {
            const cos_json *q = cos_json_get(pr, "qcs");
            const cos_json *aws = cos_json_get(pr, "AWS"); /* S3's: "*" or account/user ARNs, compared whole */
            if (q && aws) {
                bad = "a principal names both \"qcs\" and \"AWS\"";
                break;
            }
            if (!q) q = aws;
            t->principals = str_list(q, &t->nprincipals);
        } else if (pr && pr->type == COS_JSON_STRING) {
            t->principals = str_list(pr, &t->nprincipals);
        }
        /* a principal that names no one must not become "everyone" */
        if (pr && !t->nprincipals) bad = "a principal must be {\"qcs\": [\"qcs::cam::...\"]}";
        else if (!t->nactions || !t->nresources) bad = "every statement needs an action and a resource";
    }
    if (bad) {
        if (errmsg) *errmsg = strdup(bad);
        sts_policy_free(p);
        cos_json_free(j);
        return NULL;
    }
    cos_json_free(j);
    return p;
}

/* Whether a condition limits who a statement reaches the way S3's public test counts (a fixed,
 * narrow set of source addresses), or is one cos-server cannot evaluate (then the Allow grants
 * nothing). A condition on what the caller chooses (aws:UserAgent, aws:Referer, s3:prefix, a
 * header, a tag) leaves the statement public: before, any condition made it "not public", so
 * BlockPublicPolicy and RestrictPublicBuckets let {"StringLike":{"aws:UserAgent":"*"}} through. */
static bool condition_restricts(const condition *c)
{
    if (!strcasecmp(c->key, "aws:SourceIp")) {
        if (strcmp(c->op, "IpAddress") != 0 || c->if_exists) return false;
        for (size_t i = 0; i < c->nvalues; i++) {
            const char *slash = strchr(c->values[i], '/');
            long bits = slash ? strtol(slash + 1, NULL, 10) : 128;
            if (bits < (strchr(c->values[i], ':') ? 32 : 8)) return false; /* S3: /8 (IPv6 /32) or narrower */
        }
        return true;
    }
    static const char *const CALLER_CHOSEN[] = { "aws:UserAgent", "aws:Referer", "s3:prefix", "cos:prefix",
                                                 "s3:delimiter", "cos:delimiter", "s3:max-keys", "cos:max-keys" };
    for (size_t i = 0; i < sizeof CALLER_CHOSEN / sizeof CALLER_CHOSEN[0]; i++)
        if (!strcasecmp(c->key, CALLER_CHOSEN[i])) return false;
    static const char *const CALLER_PREFIXES[] = { "s3:ExistingObjectTag/", "s3:RequestObjectTag/", "s3:x-amz-",
                                                   "cos:x-cos-", "s3:x-cos-", "cos:x-amz-" };
    for (size_t i = 0; i < sizeof CALLER_PREFIXES / sizeof CALLER_PREFIXES[0]; i++)
        if (!strncasecmp(c->key, CALLER_PREFIXES[i], strlen(CALLER_PREFIXES[i]))) return false;
    return true; /* a key cos-server cannot evaluate: the Allow grants nothing */
}

bool sts_policy_is_public(const sts_policy *p)
{
    for (size_t i = 0; p && i < p->n; i++) {
        const statement *t = &p->st[i];
        if (t->deny) continue;
        bool restricted = false;
        for (size_t k = 0; k < t->nconds && !restricted; k++) restricted = condition_restricts(&t->conds[k]);
        if (restricted) continue;
        for (size_t k = 0; k < t->nprincipals; k++)
            if (!strcmp(t->principals[k], "*") || !strcmp(t->principals[k], "qcs::cam::anyone:anyone")) return true;
    }
    return false;
}

bool sts_policy_names_principals(const sts_policy *p)
{
    for (size_t i = 0; p && i < p->n; i++)
        if (!p->st[i].nprincipals) return false;
    return p != NULL;
}

/* Glob with '*' (and with any_one, '?' for one character), iterative
 * (backtracking to the last star) so that a hostile pattern like
 * "*a*a*a*a*b" cannot make evaluation exponential. Policies compare
 * exactly; CORS (hosts, header names) ignores case. */
static bool wildcard_match(const char *pat, const char *s, bool ignore_case, bool any_one)
{
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*pat == '*') {
            star = pat++;
            resume = s;
        } else if (*pat == *s || (any_one && *pat == '?') ||
                   (ignore_case && tolower((unsigned char)*pat) == tolower((unsigned char)*s))) {
            pat++;
            s++;
        } else if (star) {
            pat = star + 1;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*pat == '*') pat++;
    return !*pat;
}

bool glob_match(const char *pat, const char *s, bool ignore_case)
{
    return wildcard_match(pat, s, ignore_case, false);
}

/* IAM's wildcards (S3's ARNs and action names, StringLike): '*' and '?'. A
 * Deny written with '?' read as a literal '?' would cover nothing. */
bool iam_glob_match(const char *pat, const char *s, bool ignore_case)
{
    return wildcard_match(pat, s, ignore_case, true);
}

bool s3policy_action_matches(const char *pat, const char *cos_action, bool version);
bool s3policy_resource_matches(const char *pat, const char *cos_action, const char *cos_resource);
bool s3policy_is_resource(const char *s);

static bool action_matches(const char *pat, const char *action, bool version)
{
    if (!strcmp(pat, "*")) return true;
    if (!strncasecmp(pat, "s3:", 3)) return s3policy_action_matches(pat, action, version);
    const char *a = action, *p = pat;
    if (!strncmp(a, "name/", 5)) a += 5; /* "cos:PutObject" also names it */
    if (!strncmp(p, "name/", 5)) p += 5;
    return glob_match(p, a, false);
}

/* The resource without its region: "qcs::cos::uid/..." from "qcs::cos:REGION:uid/...". */
static void strip_region(const char *res, char *out, size_t n)
{
    const char *reg = res + 9, *colon = strchr(reg, ':');
    snprintf(out, n, "qcs::cos:%s", colon ? colon : "");
}

static bool resource_matches(const char *pat, const char *action, const char *res)
{
    if (!strcmp(pat, "*")) return true;
    if (s3policy_is_resource(pat)) return s3policy_resource_matches(pat, action, res);
    if (!strncmp(res, "qcs::cos:", 9) && !strncmp(pat, "qcs::cos::", 10)) { /* an empty region means any region */
        char bare[2400];
        strip_region(res, bare, sizeof bare);
        return glob_match(pat, bare, false);
    }
    return glob_match(pat, res, false);
}

/* Principals are compared whole: no substring, no pattern. "*" and COS's
 * "qcs::cam::anyone:anyone" name everyone, anonymous callers included. */
static bool principal_matches(const char *pat, const char *principal)
{
    if (!strcmp(pat, "*") || !strcmp(pat, "qcs::cam::anyone:anyone")) return true;
    return principal && !strcmp(pat, principal);
}

/* Whether address have lies in want, "ADDR/BITS" or "ADDR" (IPv4 or IPv6). */
static bool cidr_matches(const char *want, const char *have)
{
    char net[64];
    const char *slash = strchr(want, '/');
    size_t n = slash ? (size_t)(slash - want) : strlen(want);
    if (n >= sizeof net) return false;
    memcpy(net, want, n);
    net[n] = 0;
    unsigned char a[16], b[16];
    int fam = strchr(net, ':') ? AF_INET6 : AF_INET;
    size_t len = fam == AF_INET ? 4 : 16;
    if (inet_pton(fam, net, a) != 1 || inet_pton(fam, have, b) != 1) return false;
    char *end = NULL;
    long bits = slash ? strtol(slash + 1, &end, 10) : (long)len * 8;
    if ((slash && (end == slash + 1 || *end)) || bits < 0 || bits > (long)len * 8) return false;
    for (size_t i = 0; i < len && bits > 0; i++, bits -= 8) {
        unsigned char mask = bits >= 8 ? 0xff : (unsigned char)(0xff << (8 - bits));
        if ((a[i] & mask) != (b[i] & mask)) return false;
    }
    return true;
}

static bool cond_value_matches(const char *op, const char *want, const char *have)
{
    if (strstr(op, "IpAddress")) return cidr_matches(want, have);
    if (!strncmp(op, "String", 6)) {
        if (strstr(op, "Like")) return iam_glob_match(want, have, false);
        if (strstr(op, "IgnoreCase")) return !strcasecmp(want, have);
        return !strcmp(want, have);
    }
    if (!strcmp(op, "Bool")) return !strcasecmp(want, have);
    char *e1, *e2;
    double w = strtod(want, &e1), h = strtod(have, &e2);
    if (e1 == want || *e1 || e2 == have || *e2) return false;
    if (strstr(op, "Equals") && !strstr(op, "Than")) return w == h;
    if (!strcmp(op, "NumericLessThan")) return h < w;
    if (!strcmp(op, "NumericLessThanEquals")) return h <= w;
    if (!strcmp(op, "NumericGreaterThan")) return h > w;
    return h >= w;
}

/* Whether every condition of a statement holds for this request. A key the
 * server cannot evaluate fails closed: an Allow grants nothing, a Deny applies. */
static bool conditions_hold(const statement *t, const sts_access *a)
{
    for (size_t i = 0; i < t->nconds; i++) {
        const condition *c = &t->conds[i];
        const char *have = NULL;
        int rc = a->cond_key ? a->cond_key(a->cond_ctx, c->key, &have) : -1;
        if (rc < 0) {
            if (!t->deny) return false;
            continue;
        }
        if (!strcmp(c->op, "Null")) { /* "true": the key is absent; "false": present; a list: either */
            bool any = false;
            for (size_t k = 0; k < c->nvalues && !any; k++) any = (rc == 0) == !strcasecmp(c->values[k], "true");
            if (!any) return false;
            continue;
        }
        bool negated = strstr(c->op, "Not") != NULL;
        if (rc == 0) { /* absent: IfExists and the negated operators hold */
            if (c->if_exists || negated) continue;
            return false;
        }
        bool any = false;
        for (size_t k = 0; k < c->nvalues && !any; k++) any = cond_value_matches(c->op, c->values[k], have);
        if (negated ? any : !any) return false;
    }
    return true;
}

sts_decision sts_policy_eval(const sts_policy *p, const sts_access *a, const char *principal)
{
    sts_decision d = STS_NO_MATCH;
    for (size_t i = 0; p && i < p->n; i++) {
        const statement *t = &p->st[i];
        bool act = false, res = false, who = t->nprincipals == 0;
        for (size_t k = 0; k < t->nactions && !act; k++) act = action_matches(t->actions[k], a->action, a->version);
        for (size_t k = 0; k < t->nresources && !res; k++) res = resource_matches(t->resources[k], a->action, a->resource);
        for (size_t k = 0; k < t->nprincipals && !who; k++) who = principal_matches(t->principals[k], principal);
        if (!act || !res || !who) continue;
        if (!conditions_hold(t, a)) continue;
        if (t->deny) return STS_DENY;
        d = STS_ALLOW;
    }
    return d;
}

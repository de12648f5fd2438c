/*
 * sts.h — cos-server's development STS: temporary keys issued at /sts in the
 * JSON shape of npm qcloud-cos-sts, and the qcloud-cos-sts policy grammar
 * that limits what they (and bucket policies) allow.
 *
 * Implemented in sts.c and policy.c; used by the request handler for
 * authentication (looking up a temporary key by its id) and authorization.
 */
#ifndef COS_SERVER_STS_H
#define COS_SERVER_STS_H

#include <stdbool.h>
#include <stdint.h>
#include "util.h"

/* A parsed policy: {"version":"2.0","statement":[{"action":[...],"effect":"allow"|"deny",
 * "resource":[...], "principal":{"qcs":[...]}}]}. */
typedef struct sts_policy sts_policy;

/* Parse policy JSON; NULL and *errmsg (malloc'd) when malformed. */
sts_policy *sts_policy_parse(const char *json, size_t len, char **errmsg);
void sts_policy_free(sts_policy *p);
/* Whether every statement names its principals (a bucket policy must: one
 * without would apply to everyone, anonymous callers included). */
bool sts_policy_names_principals(const sts_policy *p);

/* What a request wants to do: one (action, resource) pair. The resource is
 * built by the server from trusted parts (the bucket's stored region, the
 * appid, a validated bucket name) with the key last, so no client text can
 * change its structure; it is only ever the subject of a match, never a
 * pattern. */
typedef struct sts_access {
    const char *action;   /* "name/cos:PutObject" (matched by "cos:PutObject", "name/cos:*", "*") */
    const char *resource; /* "qcs::cos:REGION:uid/APPID:BUCKET/KEY", or "*" for GetService */
    /* A policy condition's key ("s3:prefix", ...) for this request: 1 and
     * *value when present, 0 when absent, -1 when the server cannot say (an
     * Allow then grants nothing; a Deny applies). NULL: every key unknown. */
    int (*cond_key)(void *ctx, const char *key, const char **value);
    void *cond_ctx;
    /* The request names one version of the object (versionId): S3's statements see
     * s3:GetObjectVersion, s3:DeleteObjectVersion... (COS's names stay: COS limits
     * versions with the cos:versionid condition instead) */
    bool version;
} sts_access;

/* The outcome of evaluating a policy: an explicit deny wins over an allow. */
typedef enum sts_decision { STS_NO_MATCH = 0, STS_ALLOW = 1, STS_DENY = 2 } sts_decision;

/* Evaluate a policy for an access (resources "qcs::cos:REGION:uid/APPID:BUCKET/PREFIX*",
 * "*" wildcards; region may be empty in the resource to mean any). principal: the
 * requester's principal ("qcs::cam::uin/UIN:uin/UIN") or NULL for anonymous; only
 * statements that name principals check it, by exact equality, plus "*" and
 * "qcs::cam::anyone:anyone", which mean everyone including anonymous callers. */
sts_decision sts_policy_eval(const sts_policy *p, const sts_access *a, const char *principal);
/* Whether a policy allows anything to everyone without a condition (S3's "public"). */
bool sts_policy_is_public(const sts_policy *p);

/* The store of issued temporary keys (in memory and in ROOT/sts.json so a
 * restart keeps them). Expired keys are dropped; at most max_keys live at
 * once, past which /sts answers 429 RequestLimitExceeded. */
typedef struct sts_store sts_store;
#define STS_MAX_KEYS_DEFAULT 10000u

int sts_store_open(sts_store **out, const char *root_dir);
/* max_keys: live keys at most (0: the default); fsync: each key on disk before it is answered. */
void sts_store_configure(sts_store *s, size_t max_keys, bool fsync);
void sts_store_close(sts_store *s);

/* Handle a /sts request for account (the requester's: NULL = the server's owner). query: the raw query string (may be NULL); body: a POST body
 * (JSON {"policy": {...}, "durationSeconds": N} or form fields), may be NULL.
 * Writes the qcloud-cos-sts JSON answer ({credentials:{tmpSecretId,tmpSecretKey,
 * sessionToken}, startTime, expiredTime, expiration, requestId}) or a JSON error,
 * and the HTTP status. */
int sts_handle(sts_store *s, const char *query, const char *body, size_t body_len, const char *account,
               cos_buf *json_out, int *http_status);
/* The policy a /sts request asks for, as JSON (malloc'd), or NULL with *errmsg
 * (malloc'd) saying why the request is refused. Exposed for tests. */
char *sts_requested_policy(const char *query, const char *body, size_t body_len, char **errmsg);

/* A temporary key by its id; NULL when unknown. The key and its pointers stay
 * valid until sts_key_release (an expired key leaves the store meanwhile, but is
 * freed only then). Thread-safe. */
typedef struct sts_key {
    const char *tmp_secret_id;
    const char *tmp_secret_key;
    const char *session_token;
    int64_t start_time;
    int64_t expired_time;
    const sts_policy *policy;  /* NULL: the key is allowed nothing */
    const char *account;       /* the account it acts for (a second account's id); NULL = the server's owner */
} sts_key;
const sts_key *sts_store_lookup(sts_store *s, const char *tmp_secret_id);
void sts_key_release(sts_store *s, const sts_key *k); /* NULL k: nothing */

/* '*'-only glob, linear in practice (policy.c); CORS matches ignoring case. */
bool glob_match(const char *pat, const char *s, bool ignore_case);
bool iam_glob_match(const char *pat, const char *s, bool ignore_case); /* also '?': one character */

#endif

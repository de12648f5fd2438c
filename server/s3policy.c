/*
 * s3policy.c — S3's bucket policy language, read by the same evaluator as
 * COS's (policy.c): "s3:" actions are the S3 names of the COS operations
 * (one table, below), "arn:aws:s3:::BUCKET[/KEY]" resources name the same
 * bucket and key as "qcs::cos:REGION:uid/APPID:BUCKET/KEY", and conditions
 * are evaluated against what the request says (s3policy_cond_key).
 */
#define _GNU_SOURCE
#include "sts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool iam_glob_match(const char *pat, const char *s, bool ignore_case);

/* COS's action (without "name/cos:") -> S3's, and whether S3 names the
 * bucket (not an object) as its resource. An action missing here is
 * "s3:" + its COS name, so that "s3:*" still covers it. */
static const struct {
    const char *cos, *s3;
    bool bucket_level;
    const char *s3_version; /* S3's name when the request names a version (versionId); NULL: the same */
} S3_ACTIONS[] = {
    { "GetService", "s3:ListAllMyBuckets", true },
    { "PutBucket", "s3:CreateBucket", true },
    { "HeadBucket", "s3:ListBucket", true },
    { "GetBucket", "s3:ListBucket", true },
    { "DeleteBucket", "s3:DeleteBucket", true },
    { "GetBucketLocation", "s3:GetBucketLocation", true },
    { "PutBucketACL", "s3:PutBucketAcl", true },
    { "GetBucketACL", "s3:GetBucketAcl", true },
    { "PutBucketCORS", "s3:PutBucketCORS", true },
    { "GetBucketCORS", "s3:GetBucketCORS", true },
    { "DeleteBucketCORS", "s3:PutBucketCORS", true },
    { "PutBucketPolicy", "s3:PutBucketPolicy", true },
    { "GetBucketPolicy", "s3:GetBucketPolicy", true },
    { "DeleteBucketPolicy", "s3:DeleteBucketPolicy", true },
    { "GetBucketPolicyStatus", "s3:GetBucketPolicyStatus", true },
    { "PutBucketTagging", "s3:PutBucketTagging", true },
    { "DeleteBucketTagging", "s3:PutBucketTagging", true },
    { "PutBucketLifecycle", "s3:PutLifecycleConfiguration", true },
    { "DeleteBucketLifecycle", "s3:PutLifecycleConfiguration", true },
    { "GetBucketLifecycle", "s3:GetLifecycleConfiguration", true },
    { "PutBucketReplication", "s3:PutReplicationConfiguration", true },
    { "DeleteBucketReplication", "s3:PutReplicationConfiguration", true },
    { "GetBucketReplication", "s3:GetReplicationConfiguration", true },
    { "PutBucketInventory", "s3:PutInventoryConfiguration", true },
    { "DeleteBucketInventory", "s3:PutInventoryConfiguration", true },
    { "GetBucketInventory", "s3:GetInventoryConfiguration", true },
    { "ListBucketInventory", "s3:GetInventoryConfiguration", true },
    { "PutBucketAccelerate", "s3:PutAccelerateConfiguration", true },
    { "GetBucketAccelerate", "s3:GetAccelerateConfiguration", true },
    { "PutBucketEncryption", "s3:PutEncryptionConfiguration", true },
    { "DeleteBucketEncryption", "s3:PutEncryptionConfiguration", true },
    { "GetBucketEncryption", "s3:GetEncryptionConfiguration", true },
    { "DeleteBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock", true },
    { "DeleteBucketOwnershipControls", "s3:PutBucketOwnershipControls", true },
    { "GetBucketTagging", "s3:GetBucketTagging", true },
    { "DeleteBucketTagging", "s3:PutBucketTagging", true },
    { "PutBucketLifecycle", "s3:PutLifecycleConfiguration", true },
    { "GetBucketLifecycle", "s3:GetLifecycleConfiguration", true },
    { "DeleteBucketLifecycle", "s3:PutLifecycleConfiguration", true },
    { "PutBucketVersioning", "s3:PutBucketVersioning", true },
    { "GetBucketVersioning", "s3:GetBucketVersioning", true },
    { "PutBucketReplication", "s3:PutReplicationConfiguration", true },
    { "GetBucketReplication", "s3:GetReplicationConfiguration", true },
    { "DeleteBucketReplication", "s3:PutReplicationConfiguration", true },
    { "PutBucketWebsite", "s3:PutBucketWebsite", true },
    { "GetBucketWebsite", "s3:GetBucketWebsite", true },
    { "DeleteBucketWebsite", "s3:DeleteBucketWebsite", true },
    { "PutBucketLogging", "s3:PutBucketLogging", true },
    { "GetBucketLogging", "s3:GetBucketLogging", true },
    { "PutBucketInventory", "s3:PutInventoryConfiguration", true },
    { "GetBucketInventory", "s3:GetInventoryConfiguration", true },
    { "ListBucketInventory", "s3:GetInventoryConfiguration", true },
    { "DeleteBucketInventory", "s3:PutInventoryConfiguration", true },
    { "PutBucketAccelerate", "s3:PutAccelerateConfiguration", true },
    { "GetBucketAccelerate", "s3:GetAccelerateConfiguration", true },
    { "PutBucketEncryption", "s3:PutEncryptionConfiguration", true },
    { "GetBucketEncryption", "s3:GetEncryptionConfiguration", true },
    { "DeleteBucketEncryption", "s3:PutEncryptionConfiguration", true },
    { "PutBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock", true },
    { "GetBucketPublicAccessBlock", "s3:GetBucketPublicAccessBlock", true },
    { "DeleteBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock", true },
    { "PutBucketOwnershipControls", "s3:PutBucketOwnershipControls", true },
    { "GetBucketOwnershipControls", "s3:GetBucketOwnershipControls", true },
    { "DeleteBucketOwnershipControls", "s3:PutBucketOwnershipControls", true },
    { "GetBucketObjectVersions", "s3:ListBucketVersions", true },
    { "ListMultipartUploads", "s3:ListBucketMultipartUploads", true },
    { "DeleteMultipleObjects", "s3:DeleteObject", false },
    { "PutObject", "s3:PutObject", false },
    { "PostObject", "s3:PutObject", false },
    { "PutObjectCopy", "s3:PutObject", false },
    { "UploadPartCopy", "s3:PutObject", false },
    { "AppendObject", "s3:PutObject", false },
    { "InitiateMultipartUpload", "s3:PutObject", false },
    { "UploadPart", "s3:PutObject", false },
    { "CompleteMultipartUpload", "s3:PutObject", false },
    { "ListParts", "s3:ListMultipartUploadParts", false },
    { "AbortMultipartUpload", "s3:AbortMultipartUpload", false },
    { "GetObject", "s3:GetObject", false, "s3:GetObjectVersion" },
    { "HeadObject", "s3:GetObject", false, "s3:GetObjectVersion" },
    { "GetObjectAttributes", "s3:GetObjectAttributes", false, "s3:GetObjectVersionAttributes" },
    { "DeleteObject", "s3:DeleteObject", false, "s3:DeleteObjectVersion" },
    { "GetObjectACL", "s3:GetObjectAcl", false, "s3:GetObjectVersionAcl" },
    { "PutObjectACL", "s3:PutObjectAcl", false, "s3:PutObjectVersionAcl" },
    { "GetObjectTagging", "s3:GetObjectTagging", false, "s3:GetObjectVersionTagging" },
    { "PutObjectTagging", "s3:PutObjectTagging", false, "s3:PutObjectVersionTagging" },
    { "DeleteObjectTagging", "s3:DeleteObjectTagging", false, "s3:DeleteObjectVersionTagging" },
    { "PostObjectRestore", "s3:RestoreObject", false },
    { "OptionsObject", "s3:GetObject", false },
};

static const char *cos_name(const char *action)
{
    if (!strncmp(action, "name/", 5)) action += 5;
    if (!strncmp(action, "cos:", 4)) action += 4;
    return action;
}

/* S3's name of a COS action; buf holds the fallback "s3:NAME". */
static const char *s3_action_of(const char *cos_action, bool version, bool *bucket_level, char *buf, size_t n)
{
    const char *c = cos_name(cos_action);
    for (size_t i = 0; i < sizeof S3_ACTIONS / sizeof S3_ACTIONS[0]; i++)
        if (!strcmp(S3_ACTIONS[i].cos, c)) {
            *bucket_level = S3_ACTIONS[i].bucket_level;
            return version && S3_ACTIONS[i].s3_version ? S3_ACTIONS[i].s3_version : S3_ACTIONS[i].s3;
        }
    *bucket_level = !strstr(c, "Object");
    snprintf(buf, n, "s3:%s", c);
    return buf;
}

bool s3policy_action_matches(const char *pat, const char *cos_action, bool version)
{
    char buf[128];
    bool bl;
    /* S3's action names compare without regard to case */
    return iam_glob_match(pat, s3_action_of(cos_action, version, &bl, buf, sizeof buf), true);
}

/* "qcs::cos:REGION:uid/APPID:BUCKET/KEY" -> "BUCKET/KEY" (or "BUCKET" for
 * an action on the bucket itself, a listing's prefix included). */
bool s3policy_resource_matches(const char *pat, const char *cos_action, const char *cos_resource)
{
    const char *p = pat + strlen("arn:aws:s3:::");
    if (!strcmp(cos_resource, "*")) return !strcmp(p, "*");
    const char *r = cos_resource;
    int colons = 0;
    for (; *r && colons < 5; r++)
        if (*r == ':') colons++;
    if (colons < 5) return false;
    char buf[128];
    bool bucket_level;
    s3_action_of(cos_action, false, &bucket_level, buf, sizeof buf);
    if (!bucket_level) return iam_glob_match(p, r, false);
    size_t blen = strcspn(r, "/");
    char *bucket = strndup(r, blen);
    bool ok = bucket && iam_glob_match(p, bucket, false);
    free(bucket);
    return ok;
}

/* S3's principals: "*" or {"AWS": "*" | "arn:aws:iam::ACCOUNT:user/NAME" | [...]}. */
bool s3policy_is_resource(const char *s)
{
    return !strncmp(s, "arn:aws:s3:::", 13);
}

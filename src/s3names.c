/* s3names.c — COS <-> S3 request header names (see s3names.h). */
#include "s3names.h"
#include "util.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* An S3 store ignores x-cos-* silently, so a copy sent under COS names
 * would become an empty PUT and metadata or an ACL would vanish. Names are
 * matched case-insensitively; a prefix entry (trailing '*') keeps what
 * follows it. Order matters: the first match wins, in either direction. */
static const struct { const char *cos, *s3; } S3_HEADERS[] = {
    { "x-cos-server-side-encryption-cos-kms-key-id", "x-amz-server-side-encryption-aws-kms-key-id" },
    { "x-cos-meta-*", "x-amz-meta-*" },
    { "x-cos-copy-source*", "x-amz-copy-source*" }, /* -range, -if-*, -server-side-encryption-customer-* */
    { "x-cos-server-side-encryption*", "x-amz-server-side-encryption*" },
    { "x-cos-grant-*", "x-amz-grant-*" },
    { "x-cos-acl", "x-amz-acl" },
    { "x-cos-metadata-directive", "x-amz-metadata-directive" },
    { "x-cos-storage-class", "x-amz-storage-class" },
    { "x-cos-tagging", "x-amz-tagging" },
    { "x-cos-tagging-directive", "x-amz-tagging-directive" },
    { "x-cos-security-token", "x-amz-security-token" },
    { "x-cos-website-redirect-location", "x-amz-website-redirect-location" },
    { "x-cos-mfa", "x-amz-mfa" },
    { "x-cos-request-payer", "x-amz-request-payer" },
    { "x-cos-expected-bucket-owner", "x-amz-expected-bucket-owner" },
    { "x-cos-object-ownership", "x-amz-object-ownership" },
    /* names in answers (cos-server answers an S3 request with them) */
    { "x-cos-request-id", "x-amz-request-id" },
    { "x-cos-version-id", "x-amz-version-id" },
    { "x-cos-delete-marker", "x-amz-delete-marker" },
    { "x-cos-tagging-count", "x-amz-tagging-count" },
    { "x-cos-restore", "x-amz-restore" },
    { "x-cos-mp-parts-count", "x-amz-mp-parts-count" },
};

static char *rename_header(const char *name, int to_s3)
{
    for (size_t i = 0; i < COS_ARRAY_LEN(S3_HEADERS); i++) {
        const char *from = to_s3 ? S3_HEADERS[i].cos : S3_HEADERS[i].s3;
        const char *to = to_s3 ? S3_HEADERS[i].s3 : S3_HEADERS[i].cos;
        size_t n = strlen(from);
        if (from[n - 1] == '*') {
            if (strncasecmp(name, from, n - 1) == 0) return cos_sprintf("%.*s%s", (int)(strlen(to) - 1), to, name + n - 1);
        } else if (strcasecmp(name, from) == 0) {
            return cos_strdup(to);
        }
    }
    return NULL;
}

char *cos_s3_header_name(const char *cos_name) { return rename_header(cos_name, 1); }

const char *cos_s3_header_value(const char *s3_name, const char *value)
{
    if (!value || (strcasecmp(s3_name, "x-amz-metadata-directive") != 0 && strcasecmp(s3_name, "x-amz-tagging-directive") != 0))
        return NULL;
    if (strcasecmp(value, "Copy") == 0) return strcmp(value, "COPY") ? "COPY" : NULL;
    if (strcasecmp(value, "Replaced") == 0 || strcasecmp(value, "Replace") == 0) return strcmp(value, "REPLACE") ? "REPLACE" : NULL;
    return NULL;
}

char *cos_cos_header_name(const char *s3_name) { return rename_header(s3_name, 0); }

/*
 * s3expire.c — S3's x-amz-expiration answer: when the bucket's lifecycle
 * has an enabled Expiration rule whose filter (prefix, tags) takes the
 * object, PUT, GET and HEAD name the day it expires and the rule, as
 *   expiry-date="Sat, 30 Nov 2026 00:00:00 GMT", rule-id="rule1"
 * (S3: the object's time plus Days, rounded up to the next midnight UTC, or
 * the rule's Date; of several rules, the earliest). The rules are read with
 * a schema of this file's own: the library's model has no rule-level
 * <Prefix> (S3's older form) nor a filter's single <Tag>.
 */
#define _GNU_SOURCE
#include "server.h"
#include "xml.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct lc_tag {
    char *key, *value;
} lc_tag;

typedef struct lc_rule {
    char *id, *status, *prefix, *filter_prefix, *and_prefix, *tag_key, *tag_value, *exp_date;
    int exp_days;
    lc_tag *tags;
    size_t tags_count;
} lc_rule;

typedef struct lc_doc {
    lc_rule *rules;
    size_t rules_count;
} lc_doc;

static const cos_xml_field LC_TAG_FIELDS[] = {
    { "Key", COS_XT_STR, offsetof(lc_tag, key), 0, NULL, 0 },
    { "Value", COS_XT_STR, offsetof(lc_tag, value), 0, NULL, 0 },
};
static const cos_xml_schema LC_TAG = { NULL, sizeof(lc_tag), LC_TAG_FIELDS, COS_ARRAY_LEN(LC_TAG_FIELDS) };

static const cos_xml_field LC_RULE_FIELDS[] = {
    { "ID", COS_XT_STR, offsetof(lc_rule, id), 0, NULL, 0 },
    { "Status", COS_XT_STR, offsetof(lc_rule, status), 0, NULL, 0 },
    { "Prefix", COS_XT_STR, offsetof(lc_rule, prefix), 0, NULL, 0 },
    { "Filter/Prefix", COS_XT_STR, offsetof(lc_rule, filter_prefix), 0, NULL, 0 },
    { "Filter/Tag/Key", COS_XT_STR, offsetof(lc_rule, tag_key), 0, NULL, 0 },
    { "Filter/Tag/Value", COS_XT_STR, offsetof(lc_rule, tag_value), 0, NULL, 0 },
    { "Filter/And/Prefix", COS_XT_STR, offsetof(lc_rule, and_prefix), 0, NULL, 0 },
    { "Filter/And/Tag", COS_XT_LIST, offsetof(lc_rule, tags), offsetof(lc_rule, tags_count), &LC_TAG, 0 },
    { "Expiration/Days", COS_XT_INT, offsetof(lc_rule, exp_days), 0, NULL, 0 },
    { "Expiration/Date", COS_XT_STR, offsetof(lc_rule, exp_date), 0, NULL, 0 },
};
static const cos_xml_schema LC_RULE = { NULL, sizeof(lc_rule), LC_RULE_FIELDS, COS_ARRAY_LEN(LC_RULE_FIELDS) };

static const cos_xml_field LC_DOC_FIELDS[] = {
    { "Rule", COS_XT_LIST, offsetof(lc_doc, rules), offsetof(lc_doc, rules_count), &LC_RULE, 0 },
};
static const cos_xml_schema LC_DOC = { "LifecycleConfiguration", sizeof(lc_doc), LC_DOC_FIELDS,
                                       COS_ARRAY_LEN(LC_DOC_FIELDS) };

/* Whether the object's tags (a Tagging document, or NULL) hold KEY=VALUE. */
static bool has_tag(const cos_tagging *t, const char *key, const char *value)
{
    for (size_t i = 0; t && i < t->tags_count; i++)
        if (t->tags[i].key && !strcmp(t->tags[i].key, key) && !strcmp(t->tags[i].value ? t->tags[i].value : "",
                                                                        value ? value : ""))
            return true;
    return false;
}

static bool rule_takes(const lc_rule *ru, const char *key, const cos_tagging *tags)
{
    const char *prefixes[] = { ru->prefix, ru->filter_prefix, ru->and_prefix };
    for (size_t i = 0; i < COS_ARRAY_LEN(prefixes); i++)
        if (prefixes[i] && strncmp(key, prefixes[i], strlen(prefixes[i])) != 0) return false;
    if (ru->tag_key && !has_tag(tags, ru->tag_key, ru->tag_value)) return false;
    for (size_t i = 0; i < ru->tags_count; i++)
        if (!ru->tags[i].key || !has_tag(tags, ru->tags[i].key, ru->tags[i].value)) return false;
    return true;
}

/* When the rule expires an object written at mtime_ms (Unix seconds), or -1. */
static int64_t rule_expiry(const lc_rule *ru, int64_t mtime_ms)
{
    if (ru->exp_date) {
        int64_t ms = cos_iso8601_parse(ru->exp_date);
        return ms < 0 ? -1 : ms / 1000;
    }
    if (ru->exp_days <= 0) return -1;
    int64_t t = mtime_ms / 1000 + (int64_t)ru->exp_days * 86400;
    return (t / 86400 + 1) * 86400; /* the next midnight, UTC */
}

char *s3_expiration_header(req *r, const char *key, int64_t mtime_ms, const char *tagging)
{
    if (!r->is_s3 || !r->bucket || !key) return NULL;
    char *body = NULL;
    size_t len = 0;
    if (store_config_get(r->srv->st, r->bucket, "lifecycle", &body, &len) != 0) return NULL;
    lc_doc *doc = NULL;
    int prc = cos_xml_parse(&LC_DOC, body, len, (void **)&doc, NULL);
    free(body);
    if (prc != 0) return NULL;
    cos_tagging *tags = NULL;
    if (tagging && *tagging && cos_xml_parse(&cos_xs_tagging, tagging, strlen(tagging), (void **)&tags, NULL) != 0)
        tags = NULL;
    int64_t best = -1;
    const char *best_id = NULL;
    for (size_t i = 0; i < doc->rules_count; i++) {
        const lc_rule *ru = &doc->rules[i];
        if (!ru->status || strcmp(ru->status, "Enabled") != 0 || !rule_takes(ru, key, tags)) continue;
        int64_t at = rule_expiry(ru, mtime_ms);
        if (at >= 0 && (best < 0 || at < best)) {
            best = at;
            best_id = ru->id;
        }
    }
    char *out = NULL;
    if (best >= 0) {
        char date[32];
        cos_http_date_format(best, date);
        out = cos_sprintf("expiry-date=\"%s\", rule-id=\"%s\"", date, best_id ? best_id : "");
    }
    if (tags) cos_xml_free(&cos_xs_tagging, tags);
    cos_xml_free(&LC_DOC, doc);
    return out;
}

/*
 * sts.c — cos-server's development STS: /sts issues temporary keys in the
 * JSON shape of npm qcloud-cos-sts, optionally limited by a policy; keys live
 * in memory and in ROOT/sts.json (rewritten atomically) across restarts.
 */
#define _GNU_SOURCE
#include "sts.h"
#include "json.h"
#include "url.h"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

typedef struct entry {
    sts_key k;
    char *id, *key, *token, *policy_json, *account;
    struct entry *next;
} entry;

struct sts_store {
    pthread_mutex_t lock;
    char *path;
    entry *head;
};

static void rand_str(char *out, size_t n)
{
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char b[128];
    if (n > sizeof b) n = sizeof b;
    if (getrandom(b, n, 0) != (ssize_t)n)
        for (size_t i = 0; i < n; i++) b[i] = (unsigned char)rand();
    for (size_t i = 0; i < n; i++) out[i] = A[b[i] % (sizeof A - 1)];
    out[n] = '\0';
}

static entry *add_entry(sts_store *s, const char *id, const char *key, const char *token, int64_t start, int64_t exp,
                        const char *policy_json, const char *account)
{
    entry *e = calloc(1, sizeof *e);
    e->id = strdup(id);
    e->key = strdup(key);
    e->token = strdup(token);
    e->policy_json = policy_json ? strdup(policy_json) : NULL;
    e->k.tmp_secret_id = e->id;
    e->k.tmp_secret_key = e->key;
    e->k.session_token = e->token;
    e->k.start_time = start;
    e->k.expired_time = exp;
    e->k.policy = policy_json ? sts_policy_parse(policy_json, strlen(policy_json), NULL) : NULL;
    e->account = account ? strdup(account) : NULL;
    e->k.account = e->account;
    e->next = s->head;
    s->head = e;
    return e;
}

static void save(sts_store *s)
{
    cos_buf b = COS_BUF_INIT;
    cos_buf_puts(&b, "[");
    for (entry *e = s->head; e; e = e->next) {
        cos_buf_puts(&b, e == s->head ? "\n{\"id\":" : ",\n{\"id\":");
        cos_json_put_str(&b, e->id);
        cos_buf_puts(&b, ",\"key\":");
        cos_json_put_str(&b, e->key);
        cos_buf_puts(&b, ",\"token\":");
        cos_json_put_str(&b, e->token);
        cos_buf_printf(&b, ",\"start\":%lld,\"expired\":%lld", (long long)e->k.start_time, (long long)e->k.expired_time);
        if (e->policy_json) {
            cos_buf_puts(&b, ",\"policy\":");
            cos_json_put_str(&b, e->policy_json);
        }
        cos_buf_puts(&b, ",\"account\":"); /* "": the owner's */
        cos_json_put_str(&b, e->account ? e->account : "");
        cos_buf_puts(&b, "}");
    }
    cos_buf_puts(&b, "\n]\n");
    char *tmp = cos_sprintf("%s.tmp", s->path);
    /* every issued secret is in this file: the owner's alone */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f && fd >= 0) close(fd);
    if (f) {
        fwrite(b.data, 1, b.len, f);
        fflush(f);
        fclose(f);
        rename(tmp, s->path);
    }
    free(tmp);
    cos_buf_free(&b);
}

int sts_store_open(sts_store **out, const char *root_dir)
{
    sts_store *s = calloc(1, sizeof *s);
    pthread_mutex_init(&s->lock, NULL);
    s->path = cos_sprintf("%s/sts.json", root_dir);
    FILE *f = fopen(s->path, "r");
    if (f) {
        cos_buf b = COS_BUF_INIT;
        char tmp[4096];
        size_t n;
        while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) cos_buf_append(&b, tmp, n);
        fclose(f);
        cos_json *j = b.data ? cos_json_parse(b.data, b.len, NULL) : NULL;
        int64_t now = (int64_t)time(NULL);
        for (size_t i = 0; j && i < j->count; i++) {
            const cos_json *e = &j->items[i];
            int64_t st = 0, ex = 0;
            cos_json_get_i64(e, "start", &st);
            cos_json_get_i64(e, "expired", &ex);
            const char *id = cos_json_get_str(e, "id"), *k = cos_json_get_str(e, "key"), *t = cos_json_get_str(e, "token");
            /* a key saved without the account it acts for was issued by a server that did
               not record it (any account's permanent key could ask): it keeps no rights */
            const char *acct = cos_json_get_str(e, "account");
            if (id && k && t && ex > now)
                add_entry(s, id, k, t, st, ex, acct ? cos_json_get_str(e, "policy") : NULL, acct && *acct ? acct : NULL);
        }
        cos_json_free(j);
        cos_buf_free(&b);
    }
    *out = s;
    return 0;
}

void sts_store_close(sts_store *s)
{
    if (!s) return;
    for (entry *e = s->head, *n; e; e = n) {
        n = e->next;
        sts_policy_free((sts_policy *)e->k.policy);
        free(e->id);
        free(e->key);
        free(e->token);
        free(e->policy_json);
        free(e->account);
        free(e);
    }
    pthread_mutex_destroy(&s->lock);
    free(s->path);
    free(s);
}

const sts_key *sts_store_lookup(sts_store *s, const char *id)
{
    pthread_mutex_lock(&s->lock);
    entry *e = s->head;
    while (e && strcmp(e->id, id) != 0) e = e->next;
    pthread_mutex_unlock(&s->lock);
    return e ? &e->k : NULL; /* entries are never freed while the store is open */
}

/* value of name in a&b=c query */
static char *query_get(const char *q, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = q; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > n && !strncmp(p, name, n) && p[n] == '=') return cos_uri_decode(p + n + 1, len - n - 1);
        p = amp ? amp + 1 : p + len;
    }
    return NULL;
}

/* allowActions: "a,b" (query) or ["a","b"] / "a,b" (JSON) into a JSON array body. */
static void put_actions(cos_buf *pb, const char *csv, const cos_json *arr)
{
    int first = 1;
    if (arr && arr->type == COS_JSON_ARRAY) {
        for (size_t i = 0; i < arr->count; i++)
            if (arr->items[i].type == COS_JSON_STRING && arr->items[i].str[0]) {
                if (!first) cos_buf_putc(pb, ',');
                cos_json_put_str(pb, arr->items[i].str);
                first = 0;
            }
        return;
    }
    char *copy = strdup(csv ? csv : "");
    char *save_ptr = NULL;
    for (char *t = strtok_r(copy, ",", &save_ptr); t; t = strtok_r(NULL, ",", &save_ptr)) {
        while (*t == ' ') t++;
        if (!*t) continue;
        if (!first) cos_buf_putc(pb, ',');
        cos_json_put_str(pb, t);
        first = 0;
    }
    free(copy);
}

/* The end of the JSON string starting at p (a '"'): just past its closing quote. */
static const char *string_end(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        if (*p == '\\') p++;
        else if (*p == '"') return p + 1;
    }
    return end;
}

/* The text of the object that the top-level key name has as its value, in a
 * body the JSON parser accepted: [*start, *stop). Strings are skipped whole
 * and only the outermost object's keys count, so a "policy" nested in
 * another field (or inside a string) is never taken for the request's own. */
static bool top_level_object(const char *body, size_t len, const char *name, const char **start, const char **stop)
{
    const char *p = body, *end = body + len;
    int depth = 0;
    while (p < end) {
        if (*p == '"') {
            const char *s = p, *e = string_end(p, end);
            p = e;
            if (depth != 1) continue;
            const char *q = e;
            while (q < end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')) q++;
            if (q >= end || *q != ':') continue; /* a value, not a key */
            bool hit = (size_t)(e - s - 2) == strlen(name) && !strncmp(s + 1, name, strlen(name));
            for (q++; q < end && (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r'); q++) {}
            if (!hit || q >= end || *q != '{') continue;
            int d = 0;
            for (const char *v = q; v < end;) {
                if (*v == '"') { v = string_end(v, end); continue; }
                if (*v == '{' || *v == '[') d++;
                if ((*v == '}' || *v == ']') && --d == 0) {
                    *start = q;
                    *stop = v + 1;
                    return true;
                }
                v++;
            }
            return false;
        }
        if (*p == '{' || *p == '[') depth++;
        if (*p == '}' || *p == ']') depth--;
        p++;
    }
    return false;
}

static bool name_chars_ok(const char *s, const char *extra)
{
    for (; s && *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || strchr(extra, *s))) return false;
    return s != NULL;
}

char *sts_requested_policy(const char *query, const char *body, size_t body_len, char **errmsg)
{
    *errmsg = NULL;
    char *jerr = NULL;
    cos_json *jb = NULL;
    if (body && body_len) {
        jb = cos_json_parse(body, body_len, &jerr);
        if (!jb) { /* never a key from a body that could not be read */
            *errmsg = cos_sprintf("the request body is not JSON: %s", jerr ? jerr : "syntax error");
            free(jerr);
            return NULL;
        }
    }
    char *policy = query_get(query, "policy");
    char *bucket = query_get(query, "bucket"), *region = query_get(query, "region");
    char *prefix = query_get(query, "allowPrefix"), *actions = query_get(query, "allowActions");
    const cos_json *actions_arr = NULL;
    if (jb) {
        const cos_json *p = cos_json_get(jb, "policy");
        if (p && p->type == COS_JSON_STRING) {
            free(policy);
            policy = strdup(p->str);
        } else if (p && p->type == COS_JSON_OBJECT) {
            /* the caller's own text of the object: the top level's "policy", the one parsed */
            free(policy);
            const char *start = NULL, *stop = NULL;
            policy = top_level_object(body, body_len, "policy", &start, &stop) ? strndup(start, (size_t)(stop - start)) : NULL;
        }
        const char *v;
        if ((v = cos_json_get_str(jb, "bucket"))) { free(bucket); bucket = strdup(v); }
        if ((v = cos_json_get_str(jb, "region"))) { free(region); region = strdup(v); }
        if ((v = cos_json_get_str(jb, "allowPrefix"))) { free(prefix); prefix = strdup(v); }
        if ((v = cos_json_get_str(jb, "allowActions"))) { free(actions); actions = strdup(v); }
        const cos_json *aa = cos_json_get(jb, "allowActions");
        if (aa && aa->type == COS_JSON_ARRAY) actions_arr = aa;
    }
    char *out = NULL;
    if (policy) {
        out = policy; /* an explicit policy names its own resources */
        policy = NULL;
    } else if (!bucket || !*bucket) {
        *errmsg = strdup("a temporary key needs a bucket (and allowPrefix) or a policy");
    } else if (!name_chars_ok(bucket, "") || (region && *region && !name_chars_ok(region, ""))) {
        *errmsg = strdup("bucket and region must be names (letters, digits, '-')");
    } else if (!prefix || !*prefix) {
        *errmsg = strdup("a temporary key for a bucket needs allowPrefix (\"*\" for the whole bucket)");
    } else {
        /* the shape qcloud-cos-sts builds: the actions asked for (name/cos:* if none) on BUCKET/PREFIX */
        const char *dash = strrchr(bucket, '-');
        cos_buf pb = COS_BUF_INIT;
        cos_buf_puts(&pb, "{\"version\":\"2.0\",\"statement\":[{\"effect\":\"allow\",\"action\":[");
        size_t before = pb.len;
        put_actions(&pb, actions, actions_arr);
        if (pb.len == before) cos_buf_puts(&pb, "\"name/cos:*\"");
        cos_buf_puts(&pb, "],\"resource\":[");
        char *res = cos_sprintf("qcs::cos:%s:uid/%s:%s/%s", region ? region : "", dash ? dash + 1 : "", bucket,
                                prefix[0] == '/' ? prefix + 1 : prefix);
        cos_json_put_str(&pb, res);
        free(res);
        cos_buf_puts(&pb, "]}]}");
        out = cos_buf_detach(&pb);
    }
    cos_json_free(jb);
    free(policy);
    free(bucket);
    free(region);
    free(prefix);
    free(actions);
    return out;
}

int sts_handle(sts_store *s, const char *query, const char *body, size_t body_len, const char *account, cos_buf *out,
               int *status)
{
    char *dur = query_get(query, "durationSeconds");
    cos_json *jb = body && body_len ? cos_json_parse(body, body_len, NULL) : NULL;
    int64_t jd = 0;
    if (jb && cos_json_get_i64(jb, "durationSeconds", &jd)) {
        free(dur);
        dur = cos_sprintf("%lld", (long long)jd);
    }
    cos_json_free(jb);
    char *why = NULL;
    char *policy = sts_requested_policy(query, body, body_len, &why);
    if (!policy) {
        *status = 400;
        cos_buf_puts(out, "{\"error\":");
        cos_json_put_str(out, why ? why : "invalid request");
        cos_buf_puts(out, "}");
        free(why);
        free(dur);
        return -1;
    }
    int rc = 0;
    if (policy) {
        char *msg = NULL;
        sts_policy *p = sts_policy_parse(policy, strlen(policy), &msg);
        if (!p) {
            *status = 400;
            cos_buf_puts(out, "{\"error\":");
            cos_json_put_str(out, msg ? msg : "invalid policy");
            cos_buf_puts(out, "}");
            free(msg);
            rc = -1;
        }
        sts_policy_free(p);
    }
    if (rc == 0) {
        int64_t d = 1800;
        if (dur) cos_parse_i64(dur, &d);
        if (d < 1 || d > 7200) d = 1800;
        char id[37], key[33], token[97];
        strcpy(id, "AKID");
        rand_str(id + 4, 32);
        rand_str(key, 32);
        rand_str(token, 96);
        int64_t now = (int64_t)time(NULL);
        pthread_mutex_lock(&s->lock);
        add_entry(s, id, key, token, now, now + d, policy, account);
        save(s);
        pthread_mutex_unlock(&s->lock);
        char iso[32];
        cos_iso8601_format((now + d) * 1000, iso);
        iso[19] = 'Z';
        iso[20] = '\0';
        cos_buf_puts(out, "{\"credentials\":{\"tmpSecretId\":");
        cos_json_put_str(out, id);
        cos_buf_puts(out, ",\"tmpSecretKey\":");
        cos_json_put_str(out, key);
        cos_buf_puts(out, ",\"sessionToken\":");
        cos_json_put_str(out, token);
        cos_buf_printf(out, "},\"startTime\":%lld,\"expiredTime\":%lld,\"expiration\":\"%s\",\"requestId\":\"%s\"}",
                       (long long)now, (long long)(now + d), iso, id + 4);
        *status = 200;
    }
    free(policy);
    free(dur);
    return rc;
}

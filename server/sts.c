/*
 * sts.c — cos-server's development STS: /sts issues temporary keys in the
 * JSON shape of npm qcloud-cos-sts, optionally limited by a policy; keys live
 * in memory (until they expire) and in ROOT/sts.json across restarts.
 */
#define _GNU_SOURCE
#include "sts.h"
#include "json.h"
#include "url.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

typedef struct entry {
    sts_key k; /* first: sts_key_release finds the entry from it */
    char *id, *key, *token, *policy_json, *account;
    int refs;  /* the table's (while the key is live) + lookups not yet released */
    struct entry *next; /* in its hash chain */
} entry;

#define NBUCKETS 4096u
#define STS_POLICY_MAX 65536u /* bytes of a key's policy: with max_keys, what the keys may take in memory */
#define COMPACT_SLACK 32u /* records the file may hold past twice the live keys */

/* ROOT/sts.json holds the live keys as a JSON array, written whole (temp file,
 * fsync, rename) when the server opens it and whenever the records in it
 * reach twice the live keys (plus COMPACT_SLACK): expired keys leave the file
 * then. Each key issued in between is appended after the array as a line of
 * its own and fsync'd before it is answered, so issuing a key costs one
 * short write however many keys live. A line cut short by a crash was never
 * answered: reading skips it. */
struct sts_store {
    pthread_mutex_t lock;      /* the table; never held across a write to the file */
    pthread_mutex_t file_lock; /* the file (fd, file_records), and so issuing: one key at a time */
    char *path, *dir;
    entry *buckets[NBUCKETS];
    size_t live;          /* keys in the table */
    size_t max_keys;      /* live keys at most: /sts refuses more */
    int64_t next_expiry;  /* the earliest expired_time in the table (INT64_MAX: none) */
    int fd;               /* sts.json for appending; -1: rewrite before the next key */
    size_t file_records;  /* keys in the file (live or not) */
    bool fsync;
};

static uint32_t id_hash(const char *id)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)id; *p; p++) h = (h ^ *p) * 16777619u;
    return h % NBUCKETS;
}

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

static entry *find(sts_store *s, const char *id)
{
    entry *e = s->buckets[id_hash(id)];
    while (e && strcmp(e->id, id) != 0) e = e->next;
    return e;
}

static void entry_free(entry *e)
{
    sts_policy_free((sts_policy *)e->k.policy);
    free(e->id);
    free(e->key);
    free(e->token);
    free(e->policy_json);
    free(e->account);
    free(e);
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
    e->refs = 1;
    uint32_t h = id_hash(id);
    e->next = s->buckets[h];
    s->buckets[h] = e;
    s->live++;
    if (exp < s->next_expiry) s->next_expiry = exp;
    return e;
}

/* Out of the table; freed once no request holds it. */
static void remove_entry(sts_store *s, entry *e)
{
    entry **p = &s->buckets[id_hash(e->id)];
    while (*p && *p != e) p = &(*p)->next;
    if (*p) *p = e->next;
    s->live--;
    if (--e->refs == 0) entry_free(e);
}

/* Drop the keys expired by now (from memory; from the file at its next rewrite). */
static void reap(sts_store *s, int64_t now)
{
    if (now < s->next_expiry) return;
    int64_t next = INT64_MAX;
    for (size_t b = 0; b < NBUCKETS; b++) {
        for (entry *e = s->buckets[b], *n; e; e = n) {
            n = e->next;
            if (e->k.expired_time <= now) remove_entry(s, e);
            else if (e->k.expired_time < next) next = e->k.expired_time;
        }
    }
    s->next_expiry = next;
}

static void put_record(cos_buf *b, const entry *e)
{
    cos_buf_puts(b, "{\"id\":");
    cos_json_put_str(b, e->id);
    cos_buf_puts(b, ",\"key\":");
    cos_json_put_str(b, e->key);
    cos_buf_puts(b, ",\"token\":");
    cos_json_put_str(b, e->token);
    cos_buf_printf(b, ",\"start\":%lld,\"expired\":%lld", (long long)e->k.start_time, (long long)e->k.expired_time);
    if (e->policy_json) {
        cos_buf_puts(b, ",\"policy\":");
        cos_json_put_str(b, e->policy_json);
    }
    cos_buf_puts(b, ",\"account\":"); /* "": the owner's */
    cos_json_put_str(b, e->account ? e->account : "");
    cos_buf_puts(b, "}");
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The table as the file's array; under s->lock. */
static size_t snapshot(sts_store *s, cos_buf *b)
{
    cos_buf_puts(b, "[");
    size_t n = 0;
    for (size_t i = 0; i < NBUCKETS; i++)
        for (entry *e = s->buckets[i]; e; e = e->next) {
            cos_buf_puts(b, n++ ? ",\n" : "\n");
            put_record(b, e);
        }
    cos_buf_puts(b, "\n]\n");
    return n;
}

/* The file anew from a snapshot of n keys (temp, fsync, rename, fsync of the
 * directory); under s->file_lock. 0 or -1 with errno (the old file is then untouched). */
static int rewrite(sts_store *s, const cos_buf *snap, size_t n)
{
    char *tmp = cos_sprintf("%s.tmp", s->path);
    /* every issued secret is in this file: the owner's alone */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int rc = fd < 0 || write_all(fd, snap->data, snap->len) != 0 || (s->fsync && fsync(fd) != 0) ? -1 : 0;
    int saved = errno;
    if (fd >= 0) close(fd);
    if (rc == 0 && rename(tmp, s->path) != 0) {
        rc = -1;
        saved = errno;
    }
    if (rc != 0) unlink(tmp);
    free(tmp);
    if (rc != 0) {
        errno = saved;
        return -1;
    }
    if (s->fsync) { /* the rename itself */
        int dfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    if (s->fd >= 0) close(s->fd);
    s->fd = open(s->path, O_WRONLY | O_APPEND | O_CLOEXEC);
    s->file_records = n;
    return 0;
}

/* What makes a key just added survive a restart, made under s->lock: its
 * line, or (*whole) the whole file when a rewrite is due. */
static size_t persist_text(sts_store *s, const entry *e, cos_buf *out, bool *whole)
{
    *whole = s->fd < 0 || s->file_records + 1 > 2 * s->live + COMPACT_SLACK;
    if (*whole) return snapshot(s, out);
    put_record(out, e);
    cos_buf_putc(out, '\n');
    return 1;
}

/* Write it, before the key is answered; under s->file_lock. 0 or -1 with errno. */
static int persist(sts_store *s, const cos_buf *text, size_t n, bool whole)
{
    if (whole) return rewrite(s, text, n);
    int rc = write_all(s->fd, text->data, text->len) != 0 || (s->fsync && fdatasync(s->fd) != 0) ? -1 : 0;
    int saved = errno;
    if (rc != 0) {
        /* maybe half a line in the file: the next key rewrites it whole */
        close(s->fd);
        s->fd = -1;
        errno = saved;
        return -1;
    }
    s->file_records++;
    return 0;
}

/* One saved key; false when it is not one (a line a crash cut short) or has expired. */
static bool load_record(sts_store *s, const cos_json *e, int64_t now)
{
    if (!e || e->type != COS_JSON_OBJECT) return false;
    int64_t st = 0, ex = 0;
    cos_json_get_i64(e, "start", &st);
    cos_json_get_i64(e, "expired", &ex);
    const char *id = cos_json_get_str(e, "id"), *k = cos_json_get_str(e, "key"), *t = cos_json_get_str(e, "token");
    /* a key saved without the account it acts for was issued by a server that did
       not record it (any account's permanent key could ask): it keeps no rights */
    const char *acct = cos_json_get_str(e, "account");
    if (!id || !k || !t || ex <= now || find(s, id)) return false;
    add_entry(s, id, k, t, st, ex, acct ? cos_json_get_str(e, "policy") : NULL, acct && *acct ? acct : NULL);
    return true;
}

/* The end of the JSON array at p (its ']' included), or NULL when it is cut short. */
static const char *array_end(const char *p, const char *end)
{
    int depth = 0;
    for (; p < end; p++) {
        if (*p == '"') {
            for (p++; p < end && *p != '"'; p++)
                if (*p == '\\') p++;
        } else if (*p == '[' || *p == '{') {
            depth++;
        } else if ((*p == ']' || *p == '}') && --depth == 0) {
            return p + 1;
        }
    }
    return NULL;
}

static void load(sts_store *s, const char *text, size_t len)
{
    int64_t now = (int64_t)time(NULL);
    const char *p = text, *end = text + len;
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
    if (p < end && *p == '[') { /* the array written whole */
        const char *a = array_end(p, end);
        cos_json *j = a ? cos_json_parse(p, (size_t)(a - p), NULL) : NULL;
        for (size_t i = 0; j && j->type == COS_JSON_ARRAY && i < j->count; i++) load_record(s, &j->items[i], now);
        cos_json_free(j);
        p = a ? a : end;
    }
    while (p < end) { /* then a line per key issued since */
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        if (stop > p) {
            cos_json *j = cos_json_parse(p, (size_t)(stop - p), NULL);
            load_record(s, j, now);
            cos_json_free(j);
        }
        p = nl ? nl + 1 : end;
    }
}

int sts_store_open(sts_store **out, const char *root_dir)
{
    sts_store *s = calloc(1, sizeof *s);
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->file_lock, NULL);
    s->path = cos_sprintf("%s/sts.json", root_dir);
    s->dir = cos_strdup(root_dir);
    s->fd = -1;
    s->fsync = true;
    s->max_keys = STS_MAX_KEYS_DEFAULT;
    s->next_expiry = INT64_MAX;
    FILE *f = fopen(s->path, "r");
    if (f) {
        cos_buf b = COS_BUF_INIT;
        char tmp[4096];
        size_t n;
        while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) cos_buf_append(&b, tmp, n);
        fclose(f);
        if (b.data) load(s, b.data, b.len);
        cos_buf_free(&b);
        /* the live keys alone, as one array; failing that, the first key issued tries again */
        cos_buf snap = COS_BUF_INIT;
        size_t keys = snapshot(s, &snap);
        rewrite(s, &snap, keys);
        cos_buf_free(&snap);
    }
    *out = s;
    return 0;
}

void sts_store_configure(sts_store *s, size_t max_keys, bool fsync)
{
    pthread_mutex_lock(&s->lock);
    s->max_keys = max_keys ? max_keys : STS_MAX_KEYS_DEFAULT;
    s->fsync = fsync;
    pthread_mutex_unlock(&s->lock);
}

void sts_store_close(sts_store *s)
{
    if (!s) return;
    /* the daemon has stopped: no request holds a key any more */
    for (size_t i = 0; i < NBUCKETS; i++)
        for (entry *e = s->buckets[i], *n; e; e = n) {
            n = e->next;
            entry_free(e);
        }
    if (s->fd >= 0) close(s->fd);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->file_lock);
    free(s->path);
    free(s->dir);
    free(s);
}

const sts_key *sts_store_lookup(sts_store *s, const char *id)
{
    pthread_mutex_lock(&s->lock);
    entry *e = find(s, id);
    if (e) e->refs++;
    pthread_mutex_unlock(&s->lock);
    return e ? &e->k : NULL;
}

void sts_key_release(sts_store *s, const sts_key *k)
{
    if (!s || !k) return;
    entry *e = (entry *)(void *)((char *)(uintptr_t)k - offsetof(entry, k));
    pthread_mutex_lock(&s->lock);
    if (--e->refs == 0) entry_free(e);
    pthread_mutex_unlock(&s->lock);
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
    if (strlen(policy) > STS_POLICY_MAX) { /* what a live key may hold is bounded too */
        *status = 400;
        cos_buf_printf(out, "{\"error\":\"the policy is longer than %u bytes\"}", STS_POLICY_MAX);
        rc = -1;
    } else if (policy) {
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
        pthread_mutex_lock(&s->file_lock);
        pthread_mutex_lock(&s->lock);
        reap(s, now);
        size_t max = s->max_keys, n = 0;
        int saved = 0;
        entry *e = NULL;
        cos_buf text = COS_BUF_INIT;
        bool whole = false;
        if (s->live >= max) rc = -1;
        else e = add_entry(s, id, key, token, now, now + d, policy, account);
        if (e) n = persist_text(s, e, &text, &whole);
        pthread_mutex_unlock(&s->lock);
        /* lookups go on while the file is written; keys are issued one at a time */
        if (e && persist(s, &text, n, whole) != 0) { /* never a key that a restart would lose */
            saved = errno;
            pthread_mutex_lock(&s->lock);
            remove_entry(s, e);
            pthread_mutex_unlock(&s->lock);
            rc = -2;
        }
        pthread_mutex_unlock(&s->file_lock);
        cos_buf_free(&text);
        if (rc != 0) {
            /* past the bound: what COS's STS answers a caller over its limit */
            *status = rc == -1 ? 429 : 500;
            char *msg = rc == -1 ? cos_sprintf("too many live temporary keys (%zu): ask again when some have expired", max)
                                 : cos_sprintf("cannot save the temporary key: %s", strerror(saved));
            cos_buf_puts(out, "{\"error\":");
            cos_json_put_str(out, msg);
            cos_buf_puts(out, rc == -1 ? ",\"code\":\"RequestLimitExceeded\"}" : ",\"code\":\"InternalError\"}");
            free(msg);
            free(policy);
            free(dur);
            return -1;
        }
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

/*
 * cred.c — the four ways of getting credentials: a permanent key, a
 * getAuthorization callback returning a temporary key (cached until 30 s
 * before ExpiredTime, per scope with ScopeLimit) or a ready Authorization
 * (never cached), and getSTS. One refresh at a time: threads that need the
 * same key while it is being fetched wait for it (single flight).
 */
#include "client_internal.h"
#include "json.h"

#include <stdlib.h>
#include <string.h>

typedef struct cache_entry {
    char *scope_key;        /* "" without ScopeLimit */
    cos_cred cred;
    struct cache_entry *next;
} cache_entry;

struct cred_cache {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    cache_entry *entries;
    int fetching;           /* a refresh is under way */
    uint64_t fetch_seq;     /* which: the number of the latest refresh */
};

int cred_cache_new(cred_cache **out)
{
    cred_cache *c = calloc(1, sizeof *c);
    if (!c) return COS_ERR_NOMEM;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    *out = c;
    return 0;
}

void cred_clear(cos_cred *cr)
{
    free(cr->secret_id);
    free(cr->secret_key);
    free(cr->token);
    free(cr->authorization);
    memset(cr, 0, sizeof *cr);
}

static int cred_copy(cos_cred *dst, const cos_cred *src)
{
    memset(dst, 0, sizeof *dst);
    dst->secret_id = cos_strdup(src->secret_id);
    dst->secret_key = cos_strdup(src->secret_key);
    dst->token = cos_strdup(src->token);
    dst->authorization = cos_strdup(src->authorization);
    dst->start_time = src->start_time;
    dst->expired_time = src->expired_time;
    return 0;
}

void cred_cache_free(cred_cache *c)
{
    if (!c) return;
    for (cache_entry *e = c->entries, *n; e; e = n) {
        n = e->next;
        free(e->scope_key);
        cred_clear(&e->cred);
        free(e);
    }
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cond);
    free(c);
}

int cos_credentials_set(cos_credentials_sink *sink, const char *secret_id, const char *secret_key,
                        const char *security_token, int64_t start_time, int64_t expired_time)
{
    if (!sink || cos_str_empty(secret_id) || cos_str_empty(secret_key)) return COS_ERR_INVALID_ARG;
    /* sent in header lines: a line break there (an STS answer's "\r\n" is a
       JSON escape away) would start a header nobody signed */
    if (!cos_header_value_ok(secret_id) || (security_token && !cos_header_value_ok(security_token))) return COS_ERR_INVALID_ARG;
    cred_clear(&sink->cred);
    sink->cred.secret_id = cos_strdup(secret_id);
    sink->cred.secret_key = cos_strdup(secret_key);
    sink->cred.token = cos_strdup(security_token);
    sink->cred.start_time = start_time;
    sink->cred.expired_time = expired_time;
    sink->set = true;
    return 0;
}

int cos_authorization_set(cos_credentials_sink *sink, const char *authorization, const char *security_token)
{
    if (!sink || cos_str_empty(authorization)) return COS_ERR_INVALID_ARG;
    if (!cos_header_value_ok(authorization) || (security_token && !cos_header_value_ok(security_token))) return COS_ERR_INVALID_ARG;
    cred_clear(&sink->cred);
    sink->cred.authorization = cos_strdup(authorization);
    sink->cred.token = cos_strdup(security_token);
    sink->set = true;
    return 0;
}

/* The scope as a cache key (the SDK hashes JSON.stringify(Scope)). */
static char *scope_key(const cos_auth_request *ar)
{
    cos_buf b = COS_BUF_INIT;
    cos_buf_puts(&b, "");
    for (size_t i = 0; i < ar->scope_count; i++)
        cos_buf_printf(&b, "%s|%s|%s|%s\n", ar->scope[i].action ? ar->scope[i].action : "",
                       ar->scope[i].bucket ? ar->scope[i].bucket : "", ar->scope[i].region ? ar->scope[i].region : "",
                       ar->scope[i].prefix ? ar->scope[i].prefix : "");
    return cos_buf_detach(&b);
}

/* A key is kept until 30 s before it expires. Its StartTime is not checked:
 * a backend whose clock runs ahead of ours issues keys that start "in the
 * future" by the local clock, yet COS judges the KeyTime (which we sign
 * with: StartTime;ExpiredTime) by its own clock. Refusing them meant calling
 * the credential callback for every request. */
/* The refreshes this thread is inside of (the callback's own frame): a
 * callback that calls a client whose key it is itself fetching (directly,
 * or through another client's callback) would wait for itself for ever. */
typedef struct fetch_frame {
    const cred_cache *cc;
    uint64_t seq;           /* the refresh (fetch_seq) this callback runs for */
    struct fetch_frame *up;
} fetch_frame;
static __thread fetch_frame *tls_fetching;
/* The async call or task this thread works for (client_internal.h). */
static __thread const cred_origin *tls_origin;

cred_origin cred_origin_here(const cos_client *c)
{
    for (const fetch_frame *f = tls_fetching; f; f = f->up)
        if (f->cc == c->creds) return (cred_origin){ f->cc, f->seq };
    if (tls_origin && tls_origin->cc == c->creds) return *tls_origin; /* started by such a call's own callbacks */
    return (cred_origin){ NULL, 0 };
}

const cred_origin *cred_origin_enter(const cred_origin *o)
{
    const cred_origin *prev = tls_origin;
    if (o && o->cc) tls_origin = o;
    return prev;
}

void cred_origin_leave(const cred_origin *previous) { tls_origin = previous; }

static bool usable(const cos_cred *cr, int64_t now)
{
    return cr->expired_time && now + 30 < cr->expired_time;
}

int cred_get(cos_client *c, const cos_auth_request *ar, cos_cred *out, cos_error **err)
{
    const cos_config *cfg = &c->cfg;
    memset(out, 0, sizeof *out);
    cos_credentials_fn fn = cfg->get_authorization ? cfg->get_authorization : cfg->get_sts;
    if (!fn) {
        out->secret_id = cos_strdup(cfg->secret_id);
        out->secret_key = cos_strdup(cfg->secret_key);
        out->token = cos_strdup(cfg->security_token);
        out->start_time = cfg->start_time;
        out->expired_time = cfg->expired_time;
        return out->secret_id && out->secret_key ? 0 : cos_err_set(err, COS_ERR_NOMEM, "out of memory");
    }
    cred_cache *cc = c->creds;
    char *key = cfg->scope_limit ? scope_key(ar) : cos_strdup("");
    if (!key) return cos_err_set(err, COS_ERR_NOMEM, "out of memory");
    /* A request of this client made inside its own credential callback (or an
       async call or task started there, wherever it runs) must not wait for
       that refresh: the callback may be waiting for it, and that was a
       deadlock. It uses a valid cached key when there is one (another scope's
       with ScopeLimit, or the key the callback has returned by the time an
       async call runs); without one it fails with COS_ERR_AUTH. Once that
       refresh is over nothing can be waiting for it there: a task started
       inside it refreshes its key as any call does when the key expires (it
       failed with COS_ERR_AUTH instead, a long transfer midway). */
    bool sync_inside = false;
    for (const fetch_frame *f = tls_fetching; f && !sync_inside; f = f->up)
        if (f->cc == cc) sync_inside = true;
    uint64_t origin_seq = tls_origin && tls_origin->cc == cc ? tls_origin->seq : 0;
    pthread_mutex_lock(&cc->lock);
    if (sync_inside || (origin_seq && cc->fetching && cc->fetch_seq == origin_seq)) {
        int64_t now = client_now_s(c);
        for (cache_entry *e = cc->entries; e; e = e->next)
            if (usable(&e->cred, now) && strcmp(e->scope_key, key) == 0) {
                cred_copy(out, &e->cred);
                pthread_mutex_unlock(&cc->lock);
                free(key);
                return 0;
            }
        pthread_mutex_unlock(&cc->lock);
        free(key);
        if (sync_inside)
            return cos_err_set(err, COS_ERR_AUTH,
                               "a request of this client was made from inside its own credential callback, "
                               "which is still fetching the key that request needs (no valid key is cached for "
                               "it); make it with another client (or one with a permanent key)");
        return cos_err_set(err, COS_ERR_AUTH,
                           "an async call or task of this client was started from inside its own credential "
                           "callback, which is still fetching the key it needs (no valid key is cached for it); "
                           "make it with another client (or one with a permanent key)");
    }
    for (;;) {
        int64_t now = client_now_s(c);
        cache_entry **pp = &cc->entries;
        while (*pp) { /* drop expired keys as the SDK does */
            cache_entry *e = *pp;
            if (!usable(&e->cred, now)) {
                *pp = e->next;
                free(e->scope_key);
                cred_clear(&e->cred);
                free(e);
                continue;
            }
            if (strcmp(e->scope_key, key) == 0) {
                cred_copy(out, &e->cred);
                pthread_mutex_unlock(&cc->lock);
                free(key);
                return 0;
            }
            pp = &e->next;
        }
        if (!cc->fetching) break;
        pthread_cond_wait(&cc->cond, &cc->lock); /* someone else is fetching: maybe our key */
    }
    cc->fetching = 1;
    uint64_t seq = ++cc->fetch_seq;
    pthread_mutex_unlock(&cc->lock);

    cos_credentials_sink sink = { 0 };
    cos_error *cb_err = NULL;
    fetch_frame frame = { cc, seq, tls_fetching };
    tls_fetching = &frame;
    int rc = fn(cfg->credentials_user_data, ar, &sink, &cb_err);
    tls_fetching = frame.up;
    if (rc == 0 && !sink.set) rc = COS_ERR_AUTH;
    if (rc == 0 && !sink.cred.authorization && cfg->get_sts == fn && !sink.cred.expired_time) {
        /* getSTS keys must say when they expire */
        rc = COS_ERR_AUTH;
    }

    pthread_mutex_lock(&cc->lock);
    cc->fetching = 0;
    if (rc == 0 && !sink.cred.authorization && usable(&sink.cred, client_now_s(c))) {
        cache_entry *e = calloc(1, sizeof *e);
        if (e) {
            e->scope_key = key;
            key = NULL;
            cred_copy(&e->cred, &sink.cred);
            e->next = cc->entries;
            cc->entries = e;
        }
    }
    pthread_cond_broadcast(&cc->cond);
    pthread_mutex_unlock(&cc->lock);
    free(key);

    if (rc != 0) {
        cred_clear(&sink.cred);
        if (cb_err) {
            if (err) {
                cos_error_free(*err);
                *err = cb_err;
                if (cb_err->kind == COS_OK) cb_err->kind = COS_ERR_AUTH;
            } else {
                cos_error_free(cb_err);
            }
            return COS_ERR_AUTH;
        }
        return cos_err_set(err, COS_ERR_AUTH, "the credential callback returned no usable key");
    }
    cos_error_free(cb_err);
    *out = sink.cred; /* hand over */
    return 0;
}

/* ------------------------------------------------------------------ STS over HTTP */

typedef struct fetch_buf {
    cos_buf b;
} fetch_buf;

static size_t fetch_write(char *d, size_t s, size_t n, void *ud)
{
    fetch_buf *f = ud;
    if (f->b.len + s * n > (1u << 20)) return 0;
    return cos_buf_append(&f->b, d, s * n) ? 0 : s * n;
}

/* An STS service's JSON answer into the sink (apart, for fuzz_sts_answer). */
static int sts_answer_take(const char *body, size_t len, cos_credentials_sink *sink, cos_error **err)
{
    cos_json *j = cos_json_parse(body, len, NULL);
    const cos_json *cr = cos_json_get(j, "credentials");
    if (!cr) cr = cos_json_get(j, "Credentials");
    const char *id = cos_json_get_str(cr, "tmpSecretId"), *key = cos_json_get_str(cr, "tmpSecretKey");
    const char *tok = cos_json_get_str(cr, "sessionToken");
    if (!tok) tok = cos_json_get_str(cr, "Token");
    int64_t start = 0, exp = 0;
    cos_json_get_i64(j, "startTime", &start);
    cos_json_get_i64(j, "expiredTime", &exp);
    int ret = 0;
    if (!id || !key || !exp)
        ret = cos_err_set(err, COS_ERR_AUTH, "STS answer lacks credentials.tmpSecretId/tmpSecretKey or expiredTime");
    else
        ret = cos_credentials_set(sink, id, key, tok, start, exp);
    cos_json_free(j);
    return ret;
}

int cos_sts_url_provider(void *url, const cos_auth_request *req, cos_credentials_sink *sink, cos_error **err)
{
    (void)req;
    cos_err_reset(err);
    CURL *c = curl_easy_init();
    if (!c) return cos_err_set(err, COS_ERR_NOMEM, "out of memory");
    fetch_buf f = { COS_BUF_INIT };
    curl_easy_setopt(c, CURLOPT_URL, (const char *)url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fetch_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &f);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK || status != 200) {
        cos_buf_free(&f.b);
        return cos_err_set(err, COS_ERR_AUTH, "STS request failed: %s (HTTP %ld)",
                           rc != CURLE_OK ? curl_easy_strerror(rc) : "bad status", status);
    }
    int ret = sts_answer_take(f.b.data ? f.b.data : "", f.b.len, sink, err);
    cos_buf_free(&f.b);
    return ret;
}

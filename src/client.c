/*
 * client.c — creating and freeing a client (validating every option and
 * applying the official SDK's defaults), futures, presigned URLs, logging.
 */
#define _GNU_SOURCE
#include "client_internal.h"
#include "s3names.h"
#include "signer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

static pthread_once_t g_curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

#define MIB (1024ULL * 1024ULL)

/* A refused host option, quoted in its error (whose text goes to logs):
 * one with an '@' may hold "user:password@" (COS takes neither there), and
 * a query may hold a token, so neither is shown. */
static int host_refused(cos_error **err, const char *field, const char *what, const char *v)
{
    if (strchr(v, '@'))
        return cos_err_invalid(err, field, "%s %s; it has an '@' (a user or password: not shown)", field, what);
    size_t n = strcspn(v, "?#");
    return cos_err_invalid(err, field, "%s %s, got \"%.*s%s\"", field, what, (int)n, v, v[n] ? "..." : "");
}

/* Fill the zero options with the SDK's defaults and check the rest. */
static int apply_defaults(cos_config *c, cos_error **err)
{
    if (c->chunk_size && c->chunk_size < MIB) return cos_err_invalid(err, "chunk_size", "ChunkSize must be at least 1 MiB, got %llu", (unsigned long long)c->chunk_size);
    if (c->copy_chunk_size && c->copy_chunk_size < MIB) return cos_err_invalid(err, "copy_chunk_size", "CopyChunkSize must be at least 1 MiB");
    struct { int *v; const char *name; int def; } ints[] = {
        { &c->file_parallel_limit, "file_parallel_limit", 3 }, { &c->chunk_parallel_limit, "chunk_parallel_limit", 3 },
        { &c->copy_chunk_parallel_limit, "copy_chunk_parallel_limit", 20 }, { &c->max_part_number, "max_part_number", 10000 },
        { &c->progress_interval_ms, "progress_interval_ms", 1000 }, { &c->upload_queue_size, "upload_queue_size", 10000 },
        { &c->upload_id_cache_limit, "upload_id_cache_limit", 50 }, { &c->worker_threads, "worker_threads", 2 },
        { &c->network_threads, "network_threads", 2 },
        { &c->max_connections, "max_connections", 64 }, { &c->timeout_ms, "timeout_ms", 0 },
        { &c->connect_timeout_ms, "connect_timeout_ms", 10000 }, { &c->sign_expires, "sign_expires", 900 },
        { &c->stall_timeout_ms, "stall_timeout_ms", 30000 },
    };
    for (size_t i = 0; i < COS_ARRAY_LEN(ints); i++) {
        if (*ints[i].v < 0) return cos_err_invalid(err, ints[i].name, "%s must not be negative", ints[i].name);
        if (*ints[i].v == 0) *ints[i].v = ints[i].def;
    }
    if (c->max_part_number > 10000) return cos_err_invalid(err, "max_part_number", "MaxPartNumber is at most 10000");
    /* each is a thread with its own libcurl multi, all made by cos_client_new:
       tens of thousands made it take minutes (or hang) */
    if (c->network_threads > 256) return cos_err_invalid(err, "network_threads", "network_threads is at most 256");
    if (c->chunk_retry_times == 0) c->chunk_retry_times = 2;
    if (c->chunk_retry_times < 0) c->chunk_retry_times = 0;
    if (!c->chunk_size) c->chunk_size = MIB;
    if (!c->slice_size) c->slice_size = MIB;
    if (!c->copy_chunk_size) c->copy_chunk_size = 10 * MIB;
    if (!c->copy_slice_size) c->copy_slice_size = 10 * MIB;
    if (c->region && cos_check_region(c->region, err)) return COS_ERR_INVALID_ARG;
    if (c->protocol && strcmp(c->protocol, "http:") && strcmp(c->protocol, "https:") && strcmp(c->protocol, "http") &&
        strcmp(c->protocol, "https"))
        return cos_err_invalid(err, "protocol", "Protocol must be \"http:\" or \"https:\", got \"%s\"", c->protocol);
    int modes = !cos_str_empty(c->secret_id) + (c->get_authorization != NULL) + (c->get_sts != NULL);
    if (modes == 0) return cos_err_invalid(err, "secret_id", "no credentials: set secret_id/secret_key, get_authorization or get_sts");
    if (modes > 1) /* the field is one of the ways set: get_sts named as get_authorization sent readers astray */
        return cos_err_invalid(err, c->get_sts ? "get_sts" : "get_authorization",
                               "set exactly one way of getting credentials, not %s%s%s", !cos_str_empty(c->secret_id) ? "secret_id and " : "",
                               c->get_authorization ? "get_authorization" : "", c->get_authorization && c->get_sts ? " and get_sts" : c->get_sts ? "get_sts" : "");
    if (!cos_str_empty(c->secret_id) && cos_str_empty(c->secret_key))
        return cos_err_invalid(err, "secret_key", "secret_id is set but secret_key is missing");
    if (c->signer != COS_SIGNER_COS && c->signer != COS_SIGNER_SIGV4) return cos_err_invalid(err, "signer", "unknown signer");
    /* each goes out in a header line: a line break would start another header */
    const struct { const char *v, *name; } lines[] = {
        { c->user_agent, "user_agent" }, { c->secret_id, "secret_id" }, { c->security_token, "security_token" } };
    for (size_t i = 0; i < COS_ARRAY_LEN(lines); i++)
        if (lines[i].v && !cos_header_value_ok(lines[i].v))
            return cos_err_invalid(err, lines[i].name, "%s has a control character (a line break would start "
                                   "another header)", lines[i].name);
    /* One switch for the rest of the library: the S3 dialect signs with
       SigV4, and the SigV4 signer has always meant S3's dialect. */
    if (c->dialect < COS_DIALECT_DEFAULT || c->dialect > COS_DIALECT_S3)
        return cos_err_invalid(err, "dialect", "unknown dialect %d", (int)c->dialect);
    if (c->dialect == COS_DIALECT_COS && c->signer == COS_SIGNER_SIGV4)
        return cos_err_invalid(err, "signer", "the COS dialect signs the COS way: signer COS_SIGNER_SIGV4 needs dialect S3");
    if (c->dialect == COS_DIALECT_S3) c->signer = COS_SIGNER_SIGV4;
    if (c->signer == COS_SIGNER_SIGV4) c->dialect = COS_DIALECT_S3;
    else c->dialect = COS_DIALECT_COS;
    if (c->upload_checksum < COS_CHECKSUM_AUTO || c->upload_checksum > COS_CHECKSUM_NONE)
        return cos_err_invalid(err, "upload_checksum", "unknown upload_checksum %d", (int)c->upload_checksum);
    if (!cos_str_empty(c->endpoint) && !cos_str_empty(c->domain))
        return cos_err_invalid(err, "endpoint", "set endpoint or domain, not both");
    /* a host has no '@': "user:password@host" here would reach curl's
       errors, URLs and logs (the endpoint's own check is parse_endpoint's) */
    const struct { const char *v, *name; } hosts[] = {
        { c->domain, "domain" }, { c->service_domain, "service_domain" }, { c->connect_to, "connect_to" } };
    for (size_t i = 0; i < COS_ARRAY_LEN(hosts); i++)
        if (hosts[i].v && strchr(hosts[i].v, '@')) return host_refused(err, hosts[i].name, "must name a host", hosts[i].v);
    return 0;
}

/* "http://host:port/" -> scheme "http:" and "host:port"; a path, a query or
 * credentials in it are refused (they would be signed into nothing). */
static int parse_endpoint(const char *ep, char **scheme, char **hostport, cos_error **err)
{
    *scheme = *hostport = NULL;
    const char *s = strstr(ep, "://");
    const char *h = s ? s + 3 : ep;
    if (s) {
        size_t n = (size_t)(s - ep);
        if (!((n == 4 && strncasecmp(ep, "http", 4) == 0) || (n == 5 && strncasecmp(ep, "https", 5) == 0)))
            return host_refused(err, "endpoint", "scheme must be http:// or https://", ep);
        *scheme = cos_sprintf("%.*s:", (int)n, ep);
        cos_str_lower(*scheme);
    }
    size_t hl = strcspn(h, "/?#");
    bool bad = hl == 0 || memchr(h, '@', hl) || strspn(h + hl, "/") != strlen(h + hl);
    for (size_t i = 0; !bad && i < hl; i++)
        bad = !(isalnum((unsigned char)h[i]) || h[i] == '.' || h[i] == '-' || h[i] == ':' || h[i] == '[' || h[i] == ']');
    if (bad) {
        free(*scheme);
        *scheme = NULL;
        return host_refused(err, "endpoint", "must be host[:port] or http(s)://host[:port]", ep);
    }
    *hostport = cos_strndup(h, hl);
    cos_str_lower(*hostport);
    return 0;
}

/* Versions of cos_config this library reads (version 1 had four switches whose safe value was true). */
static const size_t CONFIG_SIZES[] = { [2] = offsetof(cos_config, dialect), [COS_CONFIG_VERSION] = sizeof(cos_config) };
static const size_t URL_PARAMS_SIZES[] = { [COS_URL_PARAMS_VERSION] = sizeof(cos_url_params) };

int cos_client_new(cos_client **out, const cos_config *cfg, cos_error **err)
{
    cos_err_reset(err);
    if (!out) return cos_err_invalid(err, "out", "NULL out");
    *out = NULL;
    if (!cfg) return cos_err_invalid(err, "cfg", "missing configuration");
    pthread_once(&g_curl_once, curl_init_once);
    cos_client *c = calloc(1, sizeof *c);
    if (!c) return cos_err_set(err, COS_ERR_NOMEM, "out of memory");
    int rc = COS_OPTIONS_IN(&c->cfg, cfg, "cos_config", "COS_CONFIG_INIT", CONFIG_SIZES, err);
    c->auto_chunk_size = c->cfg.chunk_size == 0;
    c->auto_parallel = c->cfg.chunk_parallel_limit == 0;
    if (!rc) rc = apply_defaults(&c->cfg, err);
    if (rc) {
        free(c);
        return rc;
    }
    /* own every string the client keeps */
    const char **strs[] = { &c->cfg.region, &c->cfg.protocol, &c->cfg.domain, &c->cfg.service_domain,
                            &c->cfg.connect_to, &c->cfg.secret_id, &c->cfg.secret_key, &c->cfg.security_token,
                            &c->cfg.checkpoint_dir, &c->cfg.proxy, &c->cfg.ca_file, &c->cfg.ca_path,
                            &c->cfg.user_agent, &c->cfg.endpoint };
    for (size_t i = 0; i < COS_ARRAY_LEN(strs); i++) {
        c->strings[i] = cos_strdup(*strs[i]);
        *strs[i] = c->strings[i];
    }
    if (!cos_str_empty(c->cfg.endpoint)) { /* kept as host[:port]; its scheme becomes the protocol */
        char *scheme = NULL, *hostport = NULL;
        if (parse_endpoint(c->cfg.endpoint, &scheme, &hostport, err)) {
            for (size_t i = 0; i < COS_ARRAY_LEN(c->strings); i++) free(c->strings[i]);
            free(c);
            return COS_ERR_INVALID_ARG;
        }
        free(c->strings[13]);
        c->strings[13] = hostport;
        c->cfg.endpoint = hostport;
        if (scheme) {
            size_t pl = c->cfg.protocol ? strcspn(c->cfg.protocol, ":") : 0;
            bool clash = c->cfg.protocol && (pl != strlen(scheme) - 1 || strncasecmp(c->cfg.protocol, scheme, pl) != 0);
            if (clash) {
                cos_err_invalid(err, "protocol", "protocol \"%s\" contradicts the endpoint's scheme \"%s\"",
                                c->cfg.protocol, scheme);
                free(scheme);
                for (size_t i = 0; i < COS_ARRAY_LEN(c->strings); i++) free(c->strings[i]);
                free(c);
                return COS_ERR_INVALID_ARG;
            }
            free(c->strings[1]);
            c->strings[1] = scheme;
            c->cfg.protocol = scheme;
        }
    }
    if (c->cfg.protocol && !strchr(c->cfg.protocol, ':')) {
        char *p = cos_sprintf("%s:", c->cfg.protocol);
        free(c->strings[1]);
        c->strings[1] = p;
        c->cfg.protocol = p;
    }
    c->ep.protocol = c->cfg.protocol;
    c->ep.domain = c->cfg.domain;
    c->ep.service_domain = c->cfg.service_domain;
    c->ep.path_style = c->cfg.force_path_style;
    c->ep.accelerate = c->cfg.use_accelerate;
    c->ep.raw_key = c->cfg.use_raw_key;
    c->ep.endpoint = c->cfg.endpoint;
    atomic_store(&c->clock_offset_ms, c->cfg.system_clock_offset_ms);
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->idle, NULL);
    pthread_mutex_init(&c->tasks_lock, NULL);
    pthread_mutex_init(&c->append_lock, NULL);
    cos_engine_opts eo = { c->cfg.connect_to, c->cfg.proxy, !c->cfg.tls_insecure, c->cfg.ca_file, c->cfg.ca_path,
                           c->cfg.connect_timeout_ms, c->cfg.max_connections, c->cfg.user_agent,
                           c->cfg.network_threads };
    if (cred_cache_new(&c->creds) || engine_new(&c->engine, &eo) || workers_new(&c->workers, c->cfg.worker_threads)) {
        cos_client_free(c);
        return cos_err_set(err, COS_ERR_NOMEM, "could not start the client");
    }
    *out = c;
    return 0;
}

static void client_free_now(cos_client *c)
{
    /* an async call waiting out a retry's back-off (a timer: up to 6.4 s,
       or an hour in a test) would hold the free for all of it: it ends now,
       COS_ERR_CANCELED, as the calls that had not started do */
    atomic_store(&c->closing, true);
    /* async calls in flight end too, COS_ERR_CANCELED: a server that never
       answers held the free for the stall timeout (30 s), up to a minute */
    c->abort_io = 1;
    workers_fire_timers(c->workers);
    if (c->tasks) cos_tasks_destroy(c->tasks);
    pthread_mutex_lock(&c->lock);
    /* and a synchronous call whose callback freed the client (no retry once closing) */
    while (atomic_load(&c->inflight) > 0 || atomic_load(&c->sync_calls) > 0) pthread_cond_wait(&c->idle, &c->lock);
    pthread_mutex_unlock(&c->lock);
    workers_free(c->workers);
    engine_free(c->engine);
    cred_cache_free(c->creds);
    for (size_t i = 0; i < COS_ARRAY_LEN(c->strings); i++) free(c->strings[i]);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->idle);
    pthread_mutex_destroy(&c->tasks_lock);
    append_memo_clear(c);
    pthread_mutex_destroy(&c->append_lock);
    free(c);
}

static void *client_free_main(void *arg)
{
    client_free_now(arg);
    return NULL;
}

void cos_client_free(cos_client *c)
{
    if (!c) return;
    /* From inside one of this client's callbacks the operation running it is
       still in flight: waiting for it here would wait for ourselves. The
       client is freed by a thread of its own once the callback returns. */
    if (workers_current() == c->workers || cos_tasks_on_own_thread(c->tasks) || call_sync_on_thread(c)) {
        pthread_t t;
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        int rc = pthread_create(&t, &a, client_free_main, c);
        pthread_attr_destroy(&a);
        if (rc != 0) client_log(c, COS_LOG_ERROR, "cannot start a thread to free the client: it is leaked");
        return;
    }
    client_free_now(c);
}

struct cos_tasks **client_tasks_slot(cos_client *c) { return &c->tasks; }

int64_t cos_client_clock_offset_ms(const cos_client *c) { return c ? atomic_load(&((cos_client *)c)->clock_offset_ms) : 0; }

int64_t client_now_s(const cos_client *c)
{
    return (cos_now_ms() + atomic_load(&((cos_client *)c)->clock_offset_ms)) / 1000;
}

void client_log(const cos_client *c, cos_log_level lvl, const char *fmt, ...)
{
    if (!c->cfg.log || lvl > c->cfg.log_level) return;
    va_list ap;
    va_start(ap, fmt);
    char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) >= 0) c->cfg.log(c->cfg.log_user_data, lvl, msg);
    free(msg);
    va_end(ap);
}

/* ------------------------------------------------------------------ async refusals */

/* One error per thread: why its last *_async call was refused (cos_async_error). */
static pthread_key_t g_async_err_key;
static pthread_once_t g_async_err_once = PTHREAD_ONCE_INIT;

static void async_err_free(void *slot)
{
    cos_error **e = slot;
    cos_error_free(*e);
    free(e);
}

static void async_err_key_init(void) { pthread_key_create(&g_async_err_key, async_err_free); }

cos_error **client_async_error_slot(void)
{
    pthread_once(&g_async_err_once, async_err_key_init);
    cos_error **slot = pthread_getspecific(g_async_err_key);
    if (!slot) {
        slot = calloc(1, sizeof *slot);
        if (!slot || pthread_setspecific(g_async_err_key, slot) != 0) {
            free(slot);
            return NULL; /* no detail, but the call still reports its rc */
        }
    }
    cos_err_reset(slot);
    return slot;
}

const cos_error *cos_async_error(void)
{
    pthread_once(&g_async_err_once, async_err_key_init);
    cos_error **slot = pthread_getspecific(g_async_err_key);
    return slot ? *slot : NULL;
}

/* ------------------------------------------------------------------ futures */

struct cos_future {
    pthread_mutex_t m;
    pthread_cond_t cv;
    bool armed;       /* an async call took it: its outcome will come */
    bool abandoned;   /* freed before the outcome came: the outcome frees it */
    bool ready;
    int rc;
    cos_result *res;
    cos_error *err;
};

cos_future *cos_future_new(void)
{
    cos_future *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    pthread_mutex_init(&f->m, NULL);
    pthread_cond_init(&f->cv, NULL);
    return f;
}

static void future_destroy(cos_future *f)
{
    cos_result_free(f->res);
    cos_error_free(f->err);
    pthread_mutex_destroy(&f->m);
    pthread_cond_destroy(&f->cv);
    free(f);
}

void future_arm(void *future)
{
    cos_future *f = future;
    pthread_mutex_lock(&f->m);
    f->armed = true;
    pthread_mutex_unlock(&f->m);
}

void cos_future_done(void *future, int rc, cos_result *res, cos_error *err)
{
    cos_future *f = future;
    if (!f) { /* a cos_future_new() that failed, passed on unchecked: the outcome has nowhere to go */
        cos_result_free(res);
        cos_error_free(err);
        return;
    }
    pthread_mutex_lock(&f->m);
    if (f->abandoned) { /* nobody will wait for it */
        pthread_mutex_unlock(&f->m);
        cos_result_free(res);
        cos_error_free(err);
        future_destroy(f);
        return;
    }
    f->rc = rc;
    f->res = res;
    f->err = err;
    f->ready = true;
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->m);
}

int cos_future_wait(cos_future *f, cos_result **out, cos_error **err)
{
    cos_err_reset(err);
    if (out) *out = NULL;
    if (!f) return cos_err_set(err, COS_ERR_INVALID_ARG, "no future (cos_future_new() failed: out of memory?)");
    pthread_mutex_lock(&f->m);
    if (!f->ready) { /* inside a callback: the pool must not need this thread to complete f */
        pthread_mutex_unlock(&f->m);
        workers_block_begin();
        pthread_mutex_lock(&f->m);
        while (!f->ready) pthread_cond_wait(&f->cv, &f->m);
        pthread_mutex_unlock(&f->m);
        workers_block_end();
        pthread_mutex_lock(&f->m);
    }
    int rc = f->rc;
    if (out) *out = f->res;
    else cos_result_free(f->res);
    if (err) *err = f->err;
    else cos_error_free(f->err);
    f->res = NULL;
    f->err = NULL;
    pthread_mutex_unlock(&f->m);
    return rc;
}

bool cos_future_ready(cos_future *f)
{
    if (!f) return false;
    pthread_mutex_lock(&f->m);
    bool r = f->ready;
    pthread_mutex_unlock(&f->m);
    return r;
}

void cos_future_free(cos_future *f)
{
    if (!f) return;
    pthread_mutex_lock(&f->m);
    if (f->armed && !f->ready) {
        /* its call is still in flight and will call cos_future_done: freed then
           (freeing it now made that a write into freed memory) */
        f->abandoned = true;
        pthread_mutex_unlock(&f->m);
        return;
    }
    pthread_mutex_unlock(&f->m);
    future_destroy(f);
}

/* ------------------------------------------------------------------ presigned URLs */

/* The S3 dialect's presigned URL: query SigV4 (X-Amz-*), the payload
 * UNSIGNED-PAYLOAD, the caller's parameters first and signed, its headers
 * under their S3 names and signed (X-Amz-SignedHeaders). */
static int s3_presign(cos_client *c, const cos_url_params *p, const char *region, char **url, cos_error **err)
{
    if (p->expires < 0 || p->expires > 604800)
        return cos_err_invalid(err, "expires", "an S3 presigned URL lasts 1..604800 s (7 days), got %d", p->expires);
    const char *method = p->method ? p->method : "GET";
    const char *key = p->key ? p->key : "";
    char *base = NULL;
    if (cos_url_build(&c->ep, p->bucket, region, key, NULL, 0, &base, NULL)) return cos_err_set(err, COS_ERR_NOMEM, "out of memory");
    const char *hs = strstr(base, "://");
    hs = hs ? hs + 3 : base;
    size_t hl = strcspn(hs, "/?");
    char *host = cos_strndup(hs, hl);
    const char *path = hs + hl;
    cos_kvlist headers = { 0 };
    int rc = host ? cos_kvlist_add(&headers, "host", host) : COS_ERR_NOMEM;
    for (size_t i = 0; rc == 0 && i < p->header_count; i++) {
        const char *name = p->headers[i].name;
        char *s3 = cos_starts_with_ci(name, "x-cos-") ? cos_s3_header_name(name) : NULL;
        if (cos_starts_with_ci(name, "x-cos-") && !s3) {
            rc = cos_err_invalid(err, "headers", "header %s is COS-only and has no S3 equivalent", name);
            break;
        }
        rc = cos_kvlist_add(&headers, s3 ? s3 : name, p->headers[i].value ? p->headers[i].value : "");
        free(s3);
        if (rc) rc = cos_err_set(err, COS_ERR_NOMEM, "out of memory");
    }
    cos_scope scope = { cos_streq_ci(method, "PUT") ? "name/cos:PutObject" : "name/cos:GetObject", p->bucket, region, key };
    cos_auth_request ar = { method, p->bucket, region, key, path, p->query, p->query_count, headers.items, headers.count,
                            &scope, 1, atomic_load(&c->clock_offset_ms) };
    cos_cred cr = { 0 };
    if (rc == 0) rc = cred_get(c, &ar, &cr, err);
    if (rc == 0 && cr.authorization)
        rc = cos_err_set(err, COS_ERR_AUTH, "an S3 presigned URL is signed with a key: the credential callback "
                                            "returned a ready Authorization");
    char *query = NULL;
    if (rc == 0) {
        char *upper = cos_strdup(method);
        for (char *m = upper; m && *m; m++)
            if (*m >= 'a' && *m <= 'z') *m = (char)(*m - 32);
        cos_sigv4_params sp = COS_SIGV4_PARAMS_INIT;
        sp.access_key = cr.secret_id;
        sp.secret_key = cr.secret_key;
        sp.session_token = cr.token;
        sp.region = region;
        sp.method = upper;
        sp.encoded_path = *path ? path : "/";
        sp.query = p->query;
        sp.query_count = p->query_count;
        sp.headers = headers.items;
        sp.header_count = headers.count;
        sp.time = p->start_time ? p->start_time : client_now_s(c);
        rc = cos_sigv4_presign(&sp, p->expires, &query, err);
        free(upper);
    }
    if (rc == 0) {
        cos_buf b = COS_BUF_INIT;
        cos_buf_puts(&b, base);
        cos_buf_putc(&b, '?');
        cos_buf_puts(&b, query); /* the caller's parameters, then the signature's */
        if (!b.data) rc = cos_err_set(err, COS_ERR_NOMEM, "out of memory");
        else *url = cos_buf_detach(&b);
    }
    free(query);
    cred_clear(&cr);
    cos_kvlist_free(&headers);
    free(host);
    free(base);
    return rc;
}

int cos_get_object_url(cos_client *c, const cos_url_params *params, char **url, cos_error **err)
{
    cos_err_reset(err);
    if (!url) return cos_err_invalid(err, "url", "NULL url");
    *url = NULL;
    if (!c) return cos_err_invalid(err, "client", "NULL client");
    cos_url_params pv;
    int rc = COS_OPTIONS_IN(&pv, params, "cos_url_params", "COS_URL_PARAMS_INIT", URL_PARAMS_SIZES, err);
    if (rc) return rc;
    const cos_url_params *p = &pv;
    const char *region = p->region ? p->region : c->cfg.region;
    rc = cos_check_bucket(p->bucket, c->cfg.signer == COS_SIGNER_SIGV4, err);
    if (!rc) rc = cos_check_region(region, err);
    if (rc) return rc;
    if (p->key && cos_key_names_no_object(p->key))
        /* "", "/", "//": the URL would be the bucket's (GET: a listing of every
           key) though an object's was asked for; NULL asks for the bucket's */
        return cos_err_invalid(err, "key", "the key \"%s\" names no object (it resolves to the bucket): the URL "
                               "would address the bucket itself (a GET of it lists the bucket); pass NULL for "
                               "the bucket's URL", p->key);
    cos_presign_input in = { &c->ep, p->bucket, region, p->key ? p->key : "", p->method, NULL, NULL, NULL,
                             p->start_time, p->expires, p->query, p->query_count, p->headers, p->header_count,
                             c->cfg.no_sign_host };
    if (p->no_signature) return cos_presign_build(&in, url, err);
    if (c->cfg.dialect == COS_DIALECT_S3) return s3_presign(c, p, region, url, err);
    const char *method = p->method ? p->method : "GET";
    cos_scope scope = { cos_streq_ci(method, "PUT") ? "name/cos:PutObject" : "name/cos:GetObject", p->bucket, region,
                        p->key ? p->key : "" };
    char *pathname = cos_sprintf("/%s", p->key ? p->key : "");
    cos_auth_request ar = { method, p->bucket, region, p->key ? p->key : "", pathname, p->query, p->query_count,
                            p->headers, p->header_count, &scope, 1, atomic_load(&c->clock_offset_ms) };
    cos_cred cr;
    rc = cred_get(c, &ar, &cr, err);
    free(pathname);
    if (rc) return rc;
    if (cr.authorization) {
        rc = cos_presign_with_authorization(&in, cr.authorization, cr.token, url, err);
    } else {
        in.secret_id = cr.secret_id;
        in.secret_key = cr.secret_key;
        in.security_token = cr.token;
        if (!in.start_time) in.start_time = client_now_s(c) - 1;
        rc = cos_presign_build(&in, url, err);
    }
    cred_clear(&cr);
    return rc;
}

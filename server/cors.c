/*
 * cors.c — cross-origin access as COS does it: a bucket's CORS
 * configuration decides preflights (OPTIONS on the bucket root, any object
 * or sub-resource) and which real answers carry Access-Control-* headers;
 * /sts follows the CORS rules of the bucket it is asked a key for. The
 * console's own origin (console.c) is trusted like the server itself.
 * Every Access-Control-* header is sent once: browsers refuse a doubled one.
 */
#define _GNU_SOURCE
#include "server.h"
#include "xml.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Origins and headers match CORS rules by glob_match (policy.c): a star
 * matches any run of characters, so AllowedOrigin "http://127.0.0.1:<star>"
 * allows every port and AllowedHeader "x-cos-meta-<star>" every metadata
 * header; case-insensitive, as hosts and header names are. */
static const char *origin_pattern(const cos_cors_rule *ru, const char *origin)
{
    for (size_t k = 0; k < ru->allowed_origins_count; k++)
        if (ru->allowed_origins[k] && glob_match(ru->allowed_origins[k], origin, true)) return ru->allowed_origins[k];
    return NULL;
}

static bool method_allowed(const cos_cors_rule *ru, const char *method)
{
    for (size_t k = 0; k < ru->allowed_methods_count; k++)
        if (ru->allowed_methods[k] && !strcasecmp(ru->allowed_methods[k], method)) return true;
    return false;
}

/* Every name of a comma-separated Access-Control-Request-Headers list must
 * match an AllowedHeader. */
static bool headers_allowed(const cos_cors_rule *ru, const char *list)
{
    for (const char *p = list ? list : ""; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
        const char *e = p;
        while (*e && *e != ',') e++;
        const char *t = e;
        while (t > p && (t[-1] == ' ' || t[-1] == '\t')) t--;
        if (t > p) {
            char *name = cos_strndup(p, (size_t)(t - p));
            bool ok = false;
            for (size_t k = 0; k < ru->allowed_headers_count && !ok; k++)
                ok = ru->allowed_headers[k] && glob_match(ru->allowed_headers[k], name, true);
            free(name);
            if (!ok) return false;
        }
        p = e;
    }
    return true;
}

/* The bucket's rules, and whether it asked for Vary: Origin
 * (<ResponseVary>true</ResponseVary>, off by default as on COS; libcos's
 * model has no field for it, so it is read from the stored document). */
static cos_cors_configuration *load_rules(req *r, const char *bucket, bool *vary)
{
    char *body = NULL;
    size_t len = 0;
    cos_cors_configuration *cfg = NULL;
    if (vary) *vary = false;
    if (!bucket || store_config_get(r->srv->st, bucket, "cors", &body, &len) != 0) return NULL;
    if (cos_xml_parse(&cos_xs_cors_configuration, body, len, (void **)&cfg, NULL) != 0) cfg = NULL;
    const char *v = cfg ? memmem(body, len, "<ResponseVary>", 14) : NULL;
    if (v && vary) {
        v += 14;
        while (v < body + len && (*v == ' ' || *v == '\n' || *v == '\t' || *v == '\r')) v++;
        *vary = (size_t)(body + len - v) >= 4 && !strncasecmp(v, "true", 4);
    }
    free(body);
    return cfg;
}

/* The first rule that allows origin, method and (for a preflight) the
 * requested headers, as COS and S3 pick it. */
static const cos_cors_rule *find_rule(const cos_cors_configuration *cfg, const char *origin, const char *method,
                                      const char *req_headers)
{
    for (size_t i = 0; cfg && i < cfg->rules_count; i++) {
        const cos_cors_rule *ru = &cfg->rules[i];
        if (origin_pattern(ru, origin) && method_allowed(ru, method) && headers_allowed(ru, req_headers)) return ru;
    }
    return NULL;
}

bool cors_is_sts(req *r)
{
    return r->path && strcmp(r->path, "/sts") == 0 && (!r->bucket || r->path_style);
}

/* The bucket whose rules decide: the request's own, or for /sts the bucket
 * the key is asked for. */
static const char *rules_bucket(req *r)
{
    return cors_is_sts(r) ? req_arg(r, "bucket") : r->bucket;
}

/* The console may do whatever its temporary keys allow; which headers it
 * may read is every header of the answer (listed, since "*" is not
 * honoured by every browser). */
static const char *const CONSOLE_METHODS = "GET, PUT, POST, DELETE, HEAD";

typedef struct expose_ctx { cos_buf *out; } expose_ctx;
static enum MHD_Result expose_cb(void *cls, enum MHD_ValueKind kind, const char *name, const char *value)
{
    (void)kind;
    (void)value;
    expose_ctx *c = cls;
    if (!strncasecmp(name, "Access-Control-", 15) || !strcasecmp(name, "Content-Type") ||
        !strcasecmp(name, "Vary") || !strcasecmp(name, "Server"))
        return MHD_YES;
    cos_buf_printf(c->out, "%s%s", c->out->len ? ", " : "", name);
    return MHD_YES;
}

static void add_rule_headers(struct MHD_Response *resp, const cos_cors_rule *ru, const char *origin, bool vary)
{
    const char *pat = origin_pattern(ru, origin);
    bool any = pat && !strcmp(pat, "*");
    MHD_add_response_header(resp, "Access-Control-Allow-Origin", any ? "*" : origin);
    if (vary) MHD_add_response_header(resp, "Vary", "Origin");
    cos_buf b = COS_BUF_INIT;
    for (size_t k = 0; k < ru->allowed_methods_count; k++)
        cos_buf_printf(&b, "%s%s", k ? ", " : "", ru->allowed_methods[k]);
    if (b.len) MHD_add_response_header(resp, "Access-Control-Allow-Methods", b.data);
    cos_buf_reset(&b);
    for (size_t k = 0; k < ru->expose_headers_count; k++)
        cos_buf_printf(&b, "%s%s", k ? ", " : "", ru->expose_headers[k]);
    if (b.len) MHD_add_response_header(resp, "Access-Control-Expose-Headers", b.data);
    cos_buf_free(&b);
    if (ru->max_age_seconds > 0) {
        char age[16];
        snprintf(age, sizeof age, "%d", ru->max_age_seconds);
        MHD_add_response_header(resp, "Access-Control-Max-Age", age);
    }
}

void cors_add_headers(req *r, struct MHD_Response *resp)
{
    const char *origin = req_header(r, "Origin");
    if (!origin || MHD_get_response_header(resp, "Access-Control-Allow-Origin")) return; /* a preflight set its own */
    if (console_origin(r->srv, origin)) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
        MHD_add_response_header(resp, "Vary", "Origin");
        MHD_add_response_header(resp, "Access-Control-Allow-Methods", CONSOLE_METHODS);
        cos_buf b = COS_BUF_INIT;
        expose_ctx c = { &b };
        MHD_get_response_headers(resp, expose_cb, &c);
        if (b.len) MHD_add_response_header(resp, "Access-Control-Expose-Headers", b.data);
        cos_buf_free(&b);
        return;
    }
    const char *bucket = rules_bucket(r);
    if (!bucket) return;
    bool vary;
    cos_cors_configuration *cfg = load_rules(r, bucket, &vary);
    /* a real answer matches on origin and its own method (or the one an
       Access-Control-Request-Method names, as S3's RGW reads it: browsers never
       send it on a real request, so only a client that chose to is answered so);
       which headers it carried was the preflight's business; a refused
       preflight stays bare */
    const char *asked = strcmp(r->method, "OPTIONS") ? req_header(r, "Access-Control-Request-Method") : NULL;
    const cos_cors_rule *ru = find_rule(cfg, origin, asked ? asked : r->method, NULL);
    if (ru) add_rule_headers(resp, ru, origin, vary);
    cos_xml_free(&cos_xs_cors_configuration, cfg);
}

/* The names /sts answers by with --sts-open: an address (v4, or v6 in
 * brackets), localhost or a name under it, which browsers resolve to
 * loopback themselves. Any other name may be a page's own, rebound by its
 * DNS to 127.0.0.1 (DNS rebinding): to a browser /sts is then that page's
 * own origin, and one that sends no Sec-Fetch-* headers (older Safari and
 * Firefox) would let the page read an owner's key. */
static bool open_sts_host(const char *host)
{
    if (!host || !*host) return false;
    if (*host == '[') return true;
    size_t n = strcspn(host, ":");
    char name[256];
    if (n >= sizeof name) return false;
    memcpy(name, host, n);
    name[n] = '\0';
    struct in_addr a;
    if (inet_pton(AF_INET, name, &a) == 1) return true;
    return !strcasecmp(name, "localhost") || (n > 10 && !strcasecmp(name + n - 10, ".localhost"));
}

/* A browser asking /sts for a key: allowed only from the console or from
 * an origin the CORS rules of the bucket it names allow, and then only for
 * a key scoped by that bucket (no policy of the page's own, no body that
 * names another bucket). Everything else from a browser is refused before a
 * key exists, including a same-origin page (an object served path-style),
 * which sends no Origin on a GET but does send Sec-Fetch-*. Clients that are
 * not browsers send neither header and are left to /sts's own access rule. */
int cors_sts_check(req *r, enum MHD_Result *ret)
{
    if (r->srv->cfg.sts_open && !open_sts_host(req_header(r, "Host"))) {
        *ret = send_error(r, "AccessDenied", "An open /sts (--sts-open) answers only by loopback's names and addresses "
                                             "(127.0.0.1, localhost): another name may be a web page's, rebound to "
                                             "this machine.");
        return -1;
    }
    const char *origin = req_header(r, "Origin");
    if (!origin && !req_header(r, "Sec-Fetch-Mode") && !req_header(r, "Sec-Fetch-Site")) return 0;
    if (origin && console_origin(r->srv, origin)) return 0;
    const char *bucket = req_arg(r, "bucket");
    if (origin && bucket && !req_arg(r, "policy") && !r->body.len) {
        cos_cors_configuration *cfg = load_rules(r, bucket, NULL);
        /* only a rule naming the page's origin: one that admits any page on the web
           (AllowedOrigin "*" or "https://" then a star) lets pages read what they may already
           read, and must not hand each of them a key for the whole bucket */
        bool named = false, any_page = false;
        for (size_t i = 0; cfg && i < cfg->rules_count && !named; i++) {
            const cos_cors_rule *ru = &cfg->rules[i];
            if (!origin_pattern(ru, origin) || !method_allowed(ru, r->method)) continue;
            bool everyone = origin_pattern(ru, "https://sts-canary.invalid") || origin_pattern(ru, "http://sts-canary.invalid");
            named = !everyone;
            any_page |= everyone;
        }
        cos_xml_free(&cos_xs_cors_configuration, cfg);
        if (named) return 0;
        if (any_page) {
            *ret = send_error(r, "AccessDenied", "CORSResponse: the only CORS rules that allow this origin allow every "
                                                 "origin; /sts gives browser pages keys only for origins a rule names.");
            return -1;
        }
    }
    *ret = send_error(r, "AccessDenied", "CORSResponse: a browser page gets temporary keys from /sts only from an "
                                         "origin that the CORS rules of the bucket it names (?bucket=) allow, and "
                                         "only for that bucket (no policy, no body).");
    return -1;
}

enum MHD_Result cors_preflight(req *r)
{
    const char *origin = req_header(r, "Origin"), *method = req_header(r, "Access-Control-Request-Method");
    const char *hdrs = req_header(r, "Access-Control-Request-Headers");
    if (!origin || !method)
        return send_error(r, "InvalidRequest", "A preflight needs Origin and Access-Control-Request-Method.");
    struct MHD_Response *resp;
    if (console_origin(r->srv, origin)) {
        resp = MHD_create_response_from_buffer(0, (char *)"", MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
        MHD_add_response_header(resp, "Vary", "Origin");
        MHD_add_response_header(resp, "Access-Control-Allow-Methods", CONSOLE_METHODS);
        if (hdrs && *hdrs) MHD_add_response_header(resp, "Access-Control-Allow-Headers", hdrs);
        MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
        return send_response(r, 200, resp);
    }
    const char *bucket = rules_bucket(r);
    if (!cors_is_sts(r) && bucket && store_bucket_get(r->srv->st, bucket, NULL, NULL, NULL) != 0)
        return send_error(r, "NoSuchBucket", "The specified bucket does not exist.");
    bool vary;
    cos_cors_configuration *cfg = load_rules(r, bucket, &vary);
    const cos_cors_rule *ru = find_rule(cfg, origin, method, hdrs);
    if (!ru) {
        cos_xml_free(&cos_xs_cors_configuration, cfg);
        return send_error(r, "AccessDenied", "CORSResponse: This CORS request is not allowed. This is usually because "
                                             "the evaluation of Origin, request method / Access-Control-Request-Method "
                                             "or Access-Control-Request-Headers are not whitelisted by the resource's "
                                             "CORS spec.");
    }
    resp = MHD_create_response_from_buffer(0, (char *)"", MHD_RESPMEM_PERSISTENT);
    add_rule_headers(resp, ru, origin, vary);
    /* the names asked for, all of them allowed by the rule */
    if (hdrs && *hdrs) MHD_add_response_header(resp, "Access-Control-Allow-Headers", hdrs);
    cos_xml_free(&cos_xs_cors_configuration, cfg);
    return send_response(r, 200, resp);
}

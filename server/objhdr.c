/*
 * objhdr.c — the headers an object keeps (obj_meta.headers), as checked
 * records. The stored text is "Name: value\n" per record, but no code
 * should write or read it by hand: objhdr_add refuses a name that is not one an
 * object may keep (or not an HTTP token) and a value with a control
 * character, so no value can start a record of its own (a Set-Cookie, an
 * Access-Control-Allow-Origin, an appendable mark); objhdr_get and
 * objhdr_each read record by record, never by substring, and skip any record
 * that breaks those rules (rows written by older servers).
 */
#define _GNU_SOURCE
#include "server.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The standard headers an object keeps, in their canonical spelling. */
static const char *const STANDARD[] = { "Content-Type", "Cache-Control", "Content-Disposition", "Content-Encoding",
                                        "Content-Language", "Expires" };

static bool is_token(const char *name)
{
    if (!*name) return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr("-_.", *p)))
            return false;
    return true;
}

const char *objhdr_client_name(const char *name)
{
    if (!name || !is_token(name)) return NULL;
    if (cos_starts_with_ci(name, "x-cos-meta-") && name[11]) return name;
    for (size_t i = 0; i < COS_ARRAY_LEN(STANDARD); i++)
        if (cos_streq_ci(name, STANDARD[i])) return STANDARD[i];
    return NULL;
}

/* What a record may be named: what a client may set, and the server's own
 * marks (x-cos-object-type, x-cos-server-side-encryption*, and
 * x-cos-internal-* records that are never sent). */
static bool name_kept(const char *name)
{
    return objhdr_client_name(name) || cos_streq_ci(name, "x-cos-object-type") ||
           (is_token(name) && (cos_starts_with_ci(name, "x-cos-internal-") ||
                               cos_starts_with_ci(name, "x-cos-server-side-encryption")));
}

static bool value_ok(const char *value)
{
    for (const unsigned char *p = (const unsigned char *)value; *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f) return false;
    return true;
}

bool objhdr_add(cos_buf *b, const char *name, const char *value)
{
    if (!name || !name_kept(name) || !value_ok(value ? value : "")) return false;
    cos_buf_printf(b, "%s: %s\n", name, value ? value : "");
    return true;
}

void objhdr_each(const char *headers, void (*fn)(void *ud, const char *name, const char *value), void *ud)
{
    for (const char *p = headers ? headers : ""; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        const char *colon = memchr(p, ':', len);
        if (colon) {
            char *name = cos_strndup(p, (size_t)(colon - p));
            const char *v = colon + 1;
            while (*v == ' ') v++;
            char *value = cos_strndup(v, (size_t)(p + len - v));
            if (name_kept(name) && value_ok(value)) fn(ud, name, value);
            free(name);
            free(value);
        }
        p += len + (nl ? 1 : 0);
    }
}

typedef struct finder { const char *name; char *value; } finder;

static void find_cb(void *ud, const char *name, const char *value)
{
    finder *f = ud;
    if (!f->value && strcasecmp(name, f->name) == 0) f->value = cos_strdup(value);
}

char *objhdr_get(const char *headers, const char *name)
{
    finder f = { name, NULL };
    objhdr_each(headers, find_cb, &f);
    return f.value;
}

bool objhdr_is(const char *headers, const char *name, const char *value)
{
    char *v = objhdr_get(headers, name);
    bool is = v && strcmp(v, value) == 0;
    free(v);
    return is;
}

static void meta_bytes_cb(void *ud, const char *name, const char *value)
{
    if (cos_starts_with_ci(name, "x-cos-meta-")) *(size_t *)ud += strlen(name) - 11 + strlen(value);
}

size_t objhdr_user_meta_bytes(const char *headers)
{
    size_t n = 0;
    objhdr_each(headers, meta_bytes_cb, &n);
    return n;
}

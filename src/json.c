/*
 * json.c — recursive-descent JSON reader (RFC 8259) and string writer.
 */
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const char *p, *end;
    const char *err;
    int depth;
} parser;

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int read_hex4(parser *ps, unsigned *out)
{
    if (ps->end - ps->p < 4) return -1;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(ps->p[i]);
        if (h < 0) return -1;
        v = v * 16 + (unsigned)h;
    }
    ps->p += 4;
    *out = v;
    return 0;
}

static void put_utf8(cos_buf *b, unsigned cp)
{
    char s[4];
    size_t n;
    if (cp < 0x80) { s[0] = (char)cp; n = 1; }
    else if (cp < 0x800) { s[0] = (char)(0xC0 | (cp >> 6)); s[1] = (char)(0x80 | (cp & 0x3F)); n = 2; }
    else if (cp < 0x10000) { s[0] = (char)(0xE0 | (cp >> 12)); s[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); s[2] = (char)(0x80 | (cp & 0x3F)); n = 3; }
    else { s[0] = (char)(0xF0 | (cp >> 18)); s[1] = (char)(0x80 | ((cp >> 12) & 0x3F)); s[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); s[3] = (char)(0x80 | (cp & 0x3F)); n = 4; }
    cos_buf_append(b, s, n);
}

static char *parse_string(parser *ps)
{
    if (ps->p >= ps->end || *ps->p != '"') { ps->err = "expected string"; return NULL; }
    ps->p++;
    cos_buf b = COS_BUF_INIT;
    cos_buf_reserve(&b, 16);
    while (ps->p < ps->end && *ps->p != '"') {
        unsigned char c = (unsigned char)*ps->p++;
        if (c < 0x20) { ps->err = "control character in string"; goto fail; }
        if (c != '\\') { cos_buf_putc(&b, (char)c); continue; }
        if (ps->p >= ps->end) break;
        char e = *ps->p++;
        switch (e) {
        case '"': cos_buf_putc(&b, '"'); break;
        case '\\': cos_buf_putc(&b, '\\'); break;
        case '/': cos_buf_putc(&b, '/'); break;
        case 'b': cos_buf_putc(&b, '\b'); break;
        case 'f': cos_buf_putc(&b, '\f'); break;
        case 'n': cos_buf_putc(&b, '\n'); break;
        case 'r': cos_buf_putc(&b, '\r'); break;
        case 't': cos_buf_putc(&b, '\t'); break;
        case 'u': {
            unsigned cp;
            if (read_hex4(ps, &cp)) { ps->err = "bad \\u escape"; goto fail; }
            if (cp >= 0xD800 && cp < 0xDC00 && ps->end - ps->p >= 6 && ps->p[0] == '\\' && ps->p[1] == 'u') {
                unsigned lo;
                ps->p += 2;
                if (read_hex4(ps, &lo) || lo < 0xDC00 || lo > 0xDFFF) { ps->err = "bad surrogate"; goto fail; }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            put_utf8(&b, cp);
            break;
        }
        default: ps->err = "bad escape"; goto fail;
        }
    }
    if (ps->p >= ps->end) { ps->err = "unterminated string"; goto fail; }
    ps->p++;
    return cos_buf_detach(&b);
fail:
    cos_buf_free(&b);
    return NULL;
}

static int parse_value(parser *ps, cos_json *out);

static int add_item(cos_json *parent, cos_json *item)
{
    cos_json *p = realloc(parent->items, (parent->count + 1) * sizeof *p);
    if (!p) return -1;
    parent->items = p;
    parent->items[parent->count++] = *item;
    return 0;
}

static void json_clear(cos_json *j)
{
    for (size_t i = 0; i < j->count; i++) json_clear(&j->items[i]);
    free(j->items);
    free(j->key);
    free(j->str);
}

static int parse_container(parser *ps, cos_json *out, bool object)
{
    char close = object ? '}' : ']';
    out->type = object ? COS_JSON_OBJECT : COS_JSON_ARRAY;
    ps->p++;
    if (++ps->depth > 64) { ps->err = "nested too deeply"; return -1; }
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) { ps->p++; ps->depth--; return 0; }
    for (;;) {
        cos_json item = { 0 };
        skip_ws(ps);
        if (object) {
            item.key = parse_string(ps);
            if (!item.key) return -1;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') { free(item.key); ps->err = "expected ':'"; return -1; }
            ps->p++;
        }
        if (parse_value(ps, &item) || add_item(out, &item)) {
            json_clear(&item);
            return -1;
        }
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') { ps->p++; continue; }
        if (ps->p < ps->end && *ps->p == close) { ps->p++; ps->depth--; return 0; }
        ps->err = object ? "expected ',' or '}'" : "expected ',' or ']'";
        return -1;
    }
}

static int parse_value(parser *ps, cos_json *out)
{
    skip_ws(ps);
    if (ps->p >= ps->end) { ps->err = "unexpected end"; return -1; }
    char c = *ps->p;
    if (c == '{' || c == '[') return parse_container(ps, out, c == '{');
    if (c == '"') {
        out->type = COS_JSON_STRING;
        out->str = parse_string(ps);
        return out->str ? 0 : -1;
    }
    static const struct { const char *lit; cos_json_type t; bool v; } lits[] = {
        { "true", COS_JSON_BOOL, true }, { "false", COS_JSON_BOOL, false }, { "null", COS_JSON_NULL, false } };
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(lits[i].lit);
        if ((size_t)(ps->end - ps->p) >= n && memcmp(ps->p, lits[i].lit, n) == 0) {
            out->type = lits[i].t;
            out->boolean = lits[i].v;
            ps->p += n;
            return 0;
        }
    }
    const char *start = ps->p;
    if (*ps->p == '-') ps->p++;
    while (ps->p < ps->end && ((*ps->p >= '0' && *ps->p <= '9') || *ps->p == '.' || *ps->p == 'e' ||
                               *ps->p == 'E' || *ps->p == '+' || *ps->p == '-'))
        ps->p++;
    if (ps->p == start || (ps->p - start == 1 && *start == '-')) { ps->err = "unexpected character"; return -1; }
    out->type = COS_JSON_NUMBER;
    out->str = cos_strndup(start, (size_t)(ps->p - start));
    if (!out->str) return -1;
    char *endp;
    out->num = strtod(out->str, &endp);
    if (*endp) { ps->err = "bad number"; return -1; }
    return 0;
}

cos_json *cos_json_parse(const char *text, size_t len, char **errmsg)
{
    parser ps = { text, text + len, NULL, 0 };
    cos_json *root = calloc(1, sizeof *root);
    if (!root) return NULL;
    if (parse_value(&ps, root) == 0) {
        skip_ws(&ps);
        if (ps.p == ps.end) return root;
        ps.err = "trailing characters";
    }
    if (errmsg) *errmsg = cos_sprintf("JSON: %s at offset %ld", ps.err ? ps.err : "out of memory", (long)(ps.p - text));
    cos_json_free(root);
    return NULL;
}

void cos_json_free(cos_json *j)
{
    if (!j) return;
    json_clear(j);
    free(j);
}

const cos_json *cos_json_get(const cos_json *obj, const char *key)
{
    if (!obj || obj->type != COS_JSON_OBJECT) return NULL;
    for (size_t i = 0; i < obj->count; i++)
        if (strcmp(obj->items[i].key, key) == 0) return &obj->items[i];
    return NULL;
}

const char *cos_json_get_str(const cos_json *obj, const char *key)
{
    const cos_json *v = cos_json_get(obj, key);
    return v && v->type == COS_JSON_STRING ? v->str : NULL;
}

bool cos_json_get_i64(const cos_json *obj, const char *key, int64_t *out)
{
    const cos_json *v = cos_json_get(obj, key);
    if (!v || (v->type != COS_JSON_NUMBER && v->type != COS_JSON_STRING)) return false;
    if (cos_parse_i64(v->str, out) == 0) return true;
    /* a number past int64 (1e300 in an STS answer's expiredTime) is no time: the cast was undefined
       (fuzz_sts_answer); NaN fails both comparisons */
    if (v->type == COS_JSON_NUMBER && v->num >= -9223372036854775808.0 && v->num < 9223372036854775808.0) {
        *out = (int64_t)v->num;
        return true;
    }
    return false;
}

const cos_json *cos_json_at(const cos_json *arr, size_t i)
{
    if (!arr || (arr->type != COS_JSON_ARRAY && arr->type != COS_JSON_OBJECT) || i >= arr->count) return NULL;
    return &arr->items[i];
}

int cos_json_put_str(cos_buf *b, const char *s)
{
    int rc = cos_buf_putc(b, '"');
    for (; s && *s && rc == 0; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '"': rc = cos_buf_puts(b, "\\\""); break;
        case '\\': rc = cos_buf_puts(b, "\\\\"); break;
        case '\n': rc = cos_buf_puts(b, "\\n"); break;
        case '\r': rc = cos_buf_puts(b, "\\r"); break;
        case '\t': rc = cos_buf_puts(b, "\\t"); break;
        default:
            rc = c < 0x20 ? cos_buf_printf(b, "\\u%04x", c) : cos_buf_putc(b, (char)c);
        }
    }
    return rc ? rc : cos_buf_putc(b, '"');
}

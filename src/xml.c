#define _GNU_SOURCE
/*
 * xml.c — the generic, table-driven XML engine: expat SAX events are matched
 * against the schema tables of schemas.c and written straight into the
 * structs of cos/model.h; the same tables drive building and freeing.
 *
 * Field names may be paths ("TagSet/Tag"): intermediate elements are
 * containers that are flattened away. A field named "." takes the element's
 * own text; "@attr" takes an attribute. Unknown elements are skipped.
 */
#include "xml.h"
#include "url.h"

#include <expat.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XML_MAX_DEPTH 64

/* ------------------------------------------------------------------ field access */

#define FIELD_PTR(obj, f) ((char *)(obj) + (f)->offset)
#define FIELD_COUNT(obj, f) ((size_t *)((char *)(obj) + (f)->count_offset))

static int set_scalar(void *obj, const cos_xml_field *f, const char *text, size_t len)
{
    char *p = FIELD_PTR(obj, f);
    char tmp[32];
    /* an empty number element (<PartNumberMarker/>) is 0; anything that is not
     * a whole number, or too long to be one, is malformed */
    if (f->type != COS_XT_STR && f->type != COS_XT_BOOL && len >= sizeof tmp) return COS_ERR_PARSE;
    size_t n = len < sizeof tmp - 1 ? len : sizeof tmp - 1;
    memcpy(tmp, text, n);
    tmp[n] = '\0';
    char *t = cos_str_trim(tmp);
    switch (f->type) {
    case COS_XT_STR: {
        char *s = cos_strndup(text, len);
        if (!s) return COS_ERR_NOMEM;
        free(*(char **)p);
        *(char **)p = s;
        return 0;
    }
    case COS_XT_I64: {
        int64_t v = 0;
        if (*t && cos_parse_i64(t, &v)) return COS_ERR_PARSE;
        *(int64_t *)p = v;
        return 0;
    }
    case COS_XT_U64: {
        uint64_t v = 0;
        if (*t && cos_parse_u64(t, &v)) return COS_ERR_PARSE;
        *(uint64_t *)p = v;
        return 0;
    }
    case COS_XT_INT: {
        int64_t v = 0;
        if (*t && (cos_parse_i64(t, &v) || v < INT_MIN || v > INT_MAX)) return COS_ERR_PARSE;
        *(int *)p = (int)v;
        return 0;
    }
    case COS_XT_BOOL:
        *(bool *)p = strcmp(t, "true") == 0 || strcmp(t, "1") == 0 || strcmp(t, "True") == 0;
        return 0;
    default:
        return 0;
    }
}

/* Append a zeroed element to a list field; returns it. */
static void *list_append(void *obj, const cos_xml_field *f)
{
    void **items = (void **)FIELD_PTR(obj, f);
    size_t *count = FIELD_COUNT(obj, f);
    size_t esz = f->type == COS_XT_STRLIST ? sizeof(char *) : f->sub->size;
    size_t n = *count;
    if (n == 0 || (n & (n - 1)) == 0) { /* grow at powers of two */
        size_t cap = n ? n * 2 : 1;
        void *p = realloc(*items, cap * esz);
        if (!p) return NULL;
        *items = p;
    }
    char *item = (char *)*items + n * esz;
    memset(item, 0, esz);
    *count = n + 1;
    return item;
}

/* ------------------------------------------------------------------ parsing */

typedef enum frame_kind { FR_STRUCT, FR_CONTAINER, FR_LEAF, FR_SKIP } frame_kind;

typedef struct frame {
    frame_kind kind;
    const cos_xml_schema *schema;
    void *obj;
    char prefix[128];          /* container path so far, e.g. "TagSet/" */
    const cos_xml_field *leaf; /* FR_LEAF: the field; text goes to leaf_obj */
    void *leaf_obj;
} frame;

typedef struct parse_ctx {
    XML_Parser parser;
    frame stack[XML_MAX_DEPTH];
    int depth;
    cos_buf text;
    int error;
    const char *error_msg;
    const cos_xml_schema *root_schema;
    void *root;
    bool root_seen;
} parse_ctx;

static const cos_xml_field *find_field(const cos_xml_schema *s, const char *prefix, const char *name,
                                       bool *is_container)
{
    size_t plen = strlen(prefix), nlen = strlen(name);
    *is_container = false;
    for (size_t i = 0; i < s->nfields; i++) {
        const char *fn = s->fields[i].name;
        if (strncmp(fn, prefix, plen) != 0 || strncmp(fn + plen, name, nlen) != 0) continue;
        char after = fn[plen + nlen];
        if (after == '\0') return &s->fields[i];
        if (after == '/') *is_container = true;
    }
    return NULL;
}

static const cos_xml_field *find_special(const cos_xml_schema *s, const char *name)
{
    for (size_t i = 0; i < s->nfields; i++)
        if (strcmp(s->fields[i].name, name) == 0) return &s->fields[i];
    return NULL;
}

static void xml_fail(parse_ctx *c, int code, const char *msg)
{
    if (!c->error) {
        c->error = code;
        c->error_msg = msg;
    }
    XML_StopParser(c->parser, XML_FALSE);
}

static void scalar_fail(parse_ctx *c, int rc)
{
    xml_fail(c, rc, rc == COS_ERR_NOMEM ? "out of memory" : "a number element does not hold a whole number");
}

/* COS never sends a DTD; refusing one rules out entity-expansion bombs. */
static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
                               int has_internal_subset)
{
    (void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
    xml_fail(ud, COS_ERR_PARSE, "a DTD is not accepted");
}

static void push(parse_ctx *c, frame f)
{
    if (c->depth >= XML_MAX_DEPTH) {
        xml_fail(c, COS_ERR_PARSE, "XML nested too deeply");
        return;
    }
    c->stack[c->depth++] = f;
}

/* The part of a (possibly prefixed) XML name after its namespace prefix. */
static const char *local_name(const char *name)
{
    const char *colon = strchr(name, ':');
    return colon ? colon + 1 : name;
}

/* Attributes land in "@name" fields; "@xsi:type" also matches a "type" attribute
 * under any prefix, since servers differ in the prefix they pick. */
static void capture_attrs(parse_ctx *c, const cos_xml_schema *s, void *obj, const XML_Char **attrs)
{
    for (size_t i = 0; attrs && attrs[i]; i += 2) {
        const cos_xml_field *f = NULL;
        for (size_t k = 0; k < s->nfields && !f; k++) {
            const char *fn = s->fields[k].name;
            if (fn[0] == '@' && (strcmp(fn + 1, attrs[i]) == 0 || strcmp(local_name(fn + 1), local_name(attrs[i])) == 0))
                f = &s->fields[k];
        }
        int rc = f ? set_scalar(obj, f, attrs[i + 1], strlen(attrs[i + 1])) : 0;
        if (rc) scalar_fail(c, rc);
    }
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    parse_ctx *c = ud;
    cos_buf_reset(&c->text);
    if (c->depth == 0) {
        if (c->root_seen) { xml_fail(c, COS_ERR_PARSE, "more than one root element"); return; }
        c->root_seen = true;
        frame f = { FR_STRUCT, c->root_schema, c->root, "", NULL, NULL };
        capture_attrs(c, c->root_schema, c->root, attrs);
        push(c, f);
        return;
    }
    frame *top = &c->stack[c->depth - 1];
    if (top->kind == FR_SKIP || top->kind == FR_LEAF) {
        frame f = { FR_SKIP, NULL, NULL, "", NULL, NULL };
        push(c, f);
        return;
    }
    /* The COS docs spell it <Encoding-Type> in ListMultipartUploadsResult and
     * ListPartsResult and <EncodingType> elsewhere: accept both as one field. */
    if (strcmp(name, "Encoding-Type") == 0) name = "EncodingType";
    bool container = false;
    const cos_xml_field *fld = find_field(top->schema, top->prefix, name, &container);
    if (fld) {
        switch (fld->type) {
        case COS_XT_STRUCT: {
            void **slot = (void **)FIELD_PTR(top->obj, fld);
            if (!*slot) *slot = calloc(1, fld->sub->size);
            if (!*slot) { xml_fail(c, COS_ERR_NOMEM, "out of memory"); return; }
            capture_attrs(c, fld->sub, *slot, attrs);
            frame f = { FR_STRUCT, fld->sub, *slot, "", NULL, NULL };
            push(c, f);
            return;
        }
        case COS_XT_LIST: {
            void *item = list_append(top->obj, fld);
            if (!item) { xml_fail(c, COS_ERR_NOMEM, "out of memory"); return; }
            capture_attrs(c, fld->sub, item, attrs);
            frame f = { FR_STRUCT, fld->sub, item, "", NULL, NULL };
            push(c, f);
            return;
        }
        default: {
            frame f = { FR_LEAF, top->schema, top->obj, "", fld, top->obj };
            push(c, f);
            return;
        }
        }
    }
    if (container) {
        frame f = *top;
        f.kind = FR_CONTAINER;
        if (strlen(top->prefix) + strlen(name) + 2 > sizeof f.prefix) {
            xml_fail(c, COS_ERR_PARSE, "XML path too long");
            return;
        }
        size_t pl = strlen(top->prefix), nl = strlen(name);
        memcpy(f.prefix + pl, name, nl); /* f.prefix already holds top->prefix */
        f.prefix[pl + nl] = '/';
        f.prefix[pl + nl + 1] = '\0';
        push(c, f);
        return;
    }
    frame f = { FR_SKIP, NULL, NULL, "", NULL, NULL };
    push(c, f);
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
    (void)name;
    parse_ctx *c = ud;
    if (c->depth == 0) return;
    frame *top = &c->stack[--c->depth];
    if (top->kind == FR_LEAF) {
        const cos_xml_field *f = top->leaf;
        int rc;
        if (f->type == COS_XT_STRLIST) {
            char **slot = list_append(top->leaf_obj, f);
            rc = slot ? 0 : COS_ERR_NOMEM;
            if (slot && !(*slot = cos_strndup(c->text.data ? c->text.data : "", c->text.len))) rc = COS_ERR_NOMEM;
        } else {
            rc = set_scalar(top->leaf_obj, f, c->text.data ? c->text.data : "", c->text.len);
        }
        if (rc) scalar_fail(c, rc);
    } else if (top->kind == FR_STRUCT) {
        const cos_xml_field *self = find_special(top->schema, ".");
        int rc = self && c->text.len ? set_scalar(top->obj, self, c->text.data, c->text.len) : 0;
        if (rc) scalar_fail(c, rc);
    }
    cos_buf_reset(&c->text);
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
    parse_ctx *c = ud;
    if (c->depth == 0) return;
    frame_kind k = c->stack[c->depth - 1].kind;
    if (k == FR_LEAF || k == FR_STRUCT) {
        if (cos_buf_append(&c->text, s, (size_t)len)) xml_fail(c, COS_ERR_NOMEM, "out of memory");
    }
}

/* EncodingType=url: decode the flagged fields, recursively. */
static void url_decode_fields(const cos_xml_schema *s, void *obj)
{
    for (size_t i = 0; i < s->nfields; i++) {
        const cos_xml_field *f = &s->fields[i];
        if (f->type == COS_XT_STR && (f->flags & COS_XF_URLENC)) {
            char **p = (char **)FIELD_PTR(obj, f);
            if (*p) {
                char *d = cos_uri_decode(*p, strlen(*p));
                if (d) {
                    free(*p);
                    *p = d;
                }
            }
        } else if (f->type == COS_XT_LIST) {
            char *items = *(char **)FIELD_PTR(obj, f);
            size_t n = *FIELD_COUNT(obj, f);
            for (size_t k = 0; k < n; k++) url_decode_fields(f->sub, items + k * f->sub->size);
        } else if (f->type == COS_XT_STRUCT) {
            void *sub = *(void **)FIELD_PTR(obj, f);
            if (sub) url_decode_fields(f->sub, sub);
        }
    }
}

static const char *encoding_type(const cos_xml_schema *s, const void *obj)
{
    const cos_xml_field *f = find_special(s, "EncodingType");
    return f && f->type == COS_XT_STR ? *(char *const *)FIELD_PTR(obj, f) : NULL;
}

int cos_xml_parse(const cos_xml_schema *schema, const char *xml, size_t len, void **out, cos_error **err)
{
    *out = NULL;
    parse_ctx c;
    memset(&c, 0, sizeof c);
    c.root_schema = schema;
    c.root = calloc(1, schema->size);
    c.parser = XML_ParserCreate("UTF-8");
    if (!c.root || !c.parser) {
        free(c.root);
        if (c.parser) XML_ParserFree(c.parser);
        return cos_err_set(err, COS_ERR_NOMEM, "out of memory");
    }
    XML_SetUserData(c.parser, &c);
    XML_SetElementHandler(c.parser, on_start, on_end);
    XML_SetCharacterDataHandler(c.parser, on_text);
    XML_SetStartDoctypeDeclHandler(c.parser, on_doctype);
    /* expat takes an int length: feed a huge document in pieces */
    const char *rest = xml ? xml : "";
    size_t left = len;
    enum XML_Status st = XML_STATUS_OK;
    while (st == XML_STATUS_OK && left > (size_t)INT_MAX / 2) {
        st = XML_Parse(c.parser, rest, INT_MAX / 2, XML_FALSE);
        rest += INT_MAX / 2;
        left -= INT_MAX / 2;
    }
    if (st == XML_STATUS_OK) st = XML_Parse(c.parser, rest, (int)left, XML_TRUE);
    int rc = 0;
    if (c.error) {
        rc = cos_err_set(err, (cos_error_kind)c.error, "malformed XML: %s", c.error_msg);
    } else if (st != XML_STATUS_OK) {
        rc = cos_err_set(err, COS_ERR_PARSE, "malformed or truncated XML response: %s at line %lu",
                         XML_ErrorString(XML_GetErrorCode(c.parser)),
                         (unsigned long)XML_GetCurrentLineNumber(c.parser));
    } else if (!c.root_seen) {
        rc = cos_err_set(err, COS_ERR_PARSE, "empty XML response");
    }
    XML_ParserFree(c.parser);
    cos_buf_free(&c.text);
    if (rc) {
        cos_xml_free(schema, c.root);
        return rc;
    }
    const char *enc = encoding_type(schema, c.root);
    if (enc && strcmp(enc, "url") == 0) url_decode_fields(schema, c.root);
    *out = c.root;
    return 0;
}

/* ------------------------------------------------------------------ building */

int cos_xml_escape(cos_buf *out, const char *s, size_t len)
{
    size_t run = 0; /* bytes before s[i] that need no escaping, appended together */
    for (size_t i = 0; i < len; i++) {
        const char *rep = NULL;
        switch (s[i]) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&apos;"; break;
        case '\r': rep = "&#13;"; break; /* a raw CR reaches the reader as LF (XML end-of-line handling) */
        default: break;
        }
        if (!rep) continue;
        if (i > run && cos_buf_append(out, s + run, i - run)) return COS_ERR_NOMEM;
        if (cos_buf_puts(out, rep)) return COS_ERR_NOMEM;
        run = i + 1;
    }
    return len > run ? cos_buf_append(out, s + run, len - run) : 0;
}

/* <name> or </name>: the builder writes thousands of these for a listing; no printf. */
static void put_tag(cos_buf *out, const char *name, bool closing)
{
    cos_buf_append(out, closing ? "</" : "<", closing ? 2 : 1);
    cos_buf_puts(out, name);
    cos_buf_putc(out, '>');
}

typedef struct build_ctx {
    cos_buf *out;
    bool urlenc;
    char open[8][64]; /* open container elements */
    int nopen;
} build_ctx;

static void build_struct(build_ctx *b, const cos_xml_schema *s, const void *obj);

/* Make the open containers match the directory part of a field path. */
static void sync_containers(build_ctx *b, const char *path)
{
    char parts[8][64];
    int n = 0;
    const char *p = path;
    for (const char *slash; (slash = strchr(p, '/')) && n < 8; p = slash + 1) {
        size_t len = (size_t)(slash - p) < 63 ? (size_t)(slash - p) : 63;
        memcpy(parts[n], p, len);
        parts[n++][len] = '\0';
    }
    int common = 0;
    while (common < n && common < b->nopen && strcmp(parts[common], b->open[common]) == 0) common++;
    while (b->nopen > common) put_tag(b->out, b->open[--b->nopen], true);
    for (int i = common; i < n; i++) {
        put_tag(b->out, parts[i], false);
        strcpy(b->open[b->nopen++], parts[i]);
    }
}

static const char *leaf_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static void put_text_elem(build_ctx *b, const char *name, const char *text, bool urlenc)
{
    put_tag(b->out, name, false);
    if (urlenc) {
        cos_buf enc = COS_BUF_INIT;
        cos_uri_encode(&enc, text, strlen(text), false);
        cos_xml_escape(b->out, enc.data ? enc.data : "", enc.len);
        cos_buf_free(&enc);
    } else {
        cos_xml_escape(b->out, text, strlen(text));
    }
    put_tag(b->out, name, true);
}

/* Open <name ...> with the "@" fields of the struct as attributes; an xsi:
 * attribute brings its namespace declaration (COS writes xsi:type on Grantee). */
static void open_struct_elem(build_ctx *b, const char *name, const cos_xml_schema *s, const void *obj)
{
    cos_buf_putc(b->out, '<');
    cos_buf_puts(b->out, name);
    bool xsi_declared = false;
    for (size_t i = 0; i < s->nfields; i++) {
        const cos_xml_field *f = &s->fields[i];
        if (f->name[0] != '@' || f->type != COS_XT_STR) continue;
        const char *v = *(char *const *)FIELD_PTR(obj, f);
        if (!v) continue;
        if (!xsi_declared && cos_starts_with(f->name + 1, "xsi:")) {
            cos_buf_puts(b->out, " xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"");
            xsi_declared = true;
        }
        cos_buf_printf(b->out, " %s=\"", f->name + 1);
        cos_xml_escape(b->out, v, strlen(v));
        cos_buf_putc(b->out, '"');
    }
    cos_buf_putc(b->out, '>');
}

static void build_field(build_ctx *b, const cos_xml_field *f, const void *obj)
{
    const char *p = FIELD_PTR(obj, f);
    const char *name = leaf_name(f->name);
    bool omit0 = f->flags & COS_XF_OMIT_ZERO;
    char num[32];
    switch (f->type) {
    case COS_XT_STR: {
        const char *s = *(char *const *)p;
        if (!s) return;
        sync_containers(b, f->name);
        put_text_elem(b, name, s, b->urlenc && (f->flags & COS_XF_URLENC));
        return;
    }
    case COS_XT_I64:
        if (omit0 && *(const int64_t *)p == 0) return;
        snprintf(num, sizeof num, "%lld", (long long)*(const int64_t *)p);
        break;
    case COS_XT_U64:
        if (omit0 && *(const uint64_t *)p == 0) return;
        snprintf(num, sizeof num, "%llu", (unsigned long long)*(const uint64_t *)p);
        break;
    case COS_XT_INT:
        if (omit0 && *(const int *)p == 0) return;
        snprintf(num, sizeof num, "%d", *(const int *)p);
        break;
    case COS_XT_BOOL:
        if (omit0 && !*(const bool *)p) return;
        snprintf(num, sizeof num, "%s", *(const bool *)p ? "true" : "false");
        break;
    case COS_XT_STRUCT: {
        const void *sub = *(void *const *)p;
        if (!sub) return;
        sync_containers(b, f->name);
        open_struct_elem(b, name, f->sub, sub);
        build_struct(b, f->sub, sub);
        put_tag(b->out, name, true);
        return;
    }
    case COS_XT_LIST: {
        const char *items = *(char *const *)p;
        size_t n = *(const size_t *)((const char *)obj + f->count_offset);
        if (!n) return;
        sync_containers(b, f->name);
        for (size_t i = 0; i < n; i++) {
            open_struct_elem(b, name, f->sub, items + i * f->sub->size);
            build_struct(b, f->sub, items + i * f->sub->size);
            put_tag(b->out, name, true);
        }
        return;
    }
    case COS_XT_STRLIST: {
        char *const *items = *(char **const *)p;
        size_t n = *(const size_t *)((const char *)obj + f->count_offset);
        if (!n) return;
        sync_containers(b, f->name);
        for (size_t i = 0; i < n; i++) put_text_elem(b, name, items[i] ? items[i] : "", false);
        return;
    }
    }
    sync_containers(b, f->name);
    put_tag(b->out, name, false);
    cos_buf_puts(b->out, num);
    put_tag(b->out, name, true);
}

static void build_struct(build_ctx *b, const cos_xml_schema *s, const void *obj)
{
    int saved = b->nopen;
    char saved_open[8][64];
    memcpy(saved_open, b->open, sizeof saved_open);
    b->nopen = 0; /* containers are relative to this element */
    for (size_t i = 0; i < s->nfields; i++) {
        const cos_xml_field *f = &s->fields[i];
        if (f->name[0] == '@') continue;
        if (strcmp(f->name, ".") == 0) {
            const char *t = *(char *const *)FIELD_PTR(obj, f);
            if (t) cos_xml_escape(b->out, t, strlen(t));
            continue;
        }
        build_field(b, f, obj);
    }
    sync_containers(b, "");
    memcpy(b->open, saved_open, sizeof saved_open);
    b->nopen = saved;
}

int cos_xml_build(const cos_xml_schema *schema, const void *obj, cos_buf *out, bool decl)
{
    build_ctx b = { out, false, { { 0 } }, 0 };
    const char *enc = encoding_type(schema, obj);
    b.urlenc = enc && strcmp(enc, "url") == 0;
    if (decl) cos_buf_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    const char *root = schema->root ? schema->root : "Document";
    cos_buf_printf(out, "<%s>", root);
    build_struct(&b, schema, obj);
    cos_buf_printf(out, "</%s>", root);
    return out->data ? 0 : COS_ERR_NOMEM;
}

/* ------------------------------------------------------------------ freeing */

static void free_fields(const cos_xml_schema *s, void *obj)
{
    for (size_t i = 0; i < s->nfields; i++) {
        const cos_xml_field *f = &s->fields[i];
        char *p = FIELD_PTR(obj, f);
        switch (f->type) {
        case COS_XT_STR:
            free(*(char **)p);
            break;
        case COS_XT_STRUCT:
            if (*(void **)p) {
                free_fields(f->sub, *(void **)p);
                free(*(void **)p);
            }
            break;
        case COS_XT_LIST: {
            char *items = *(char **)p;
            size_t n = *FIELD_COUNT(obj, f);
            for (size_t k = 0; k < n; k++) free_fields(f->sub, items + k * f->sub->size);
            free(items);
            break;
        }
        case COS_XT_STRLIST: {
            char **items = *(char ***)p;
            size_t n = *FIELD_COUNT(obj, f);
            for (size_t k = 0; k < n; k++) free(items[k]);
            free(items);
            break;
        }
        default:
            break;
        }
    }
}

void cos_xml_free(const cos_xml_schema *schema, void *obj)
{
    if (!obj) return;
    free_fields(schema, obj);
    free(obj);
}

/* ------------------------------------------------------------------ <Error> */

typedef struct cos_error_doc {
    char *code, *message, *resource, *request_id, *trace_id, *string_to_sign, *format_string;
    char *host_id, *canonical_request, *endpoint, *region, *bucket;  /* S3's */
} cos_error_doc;

static const cos_xml_field ERROR_FIELDS[] = {
    { "Code", COS_XT_STR, offsetof(cos_error_doc, code), 0, NULL, 0 },
    { "Message", COS_XT_STR, offsetof(cos_error_doc, message), 0, NULL, 0 },
    { "Resource", COS_XT_STR, offsetof(cos_error_doc, resource), 0, NULL, 0 },
    { "RequestId", COS_XT_STR, offsetof(cos_error_doc, request_id), 0, NULL, 0 },
    { "TraceId", COS_XT_STR, offsetof(cos_error_doc, trace_id), 0, NULL, 0 },
    { "StringToSign", COS_XT_STR, offsetof(cos_error_doc, string_to_sign), 0, NULL, 0 },
    { "FormatString", COS_XT_STR, offsetof(cos_error_doc, format_string), 0, NULL, 0 },
    { "HostId", COS_XT_STR, offsetof(cos_error_doc, host_id), 0, NULL, 0 },
    { "CanonicalRequest", COS_XT_STR, offsetof(cos_error_doc, canonical_request), 0, NULL, 0 },
    { "Endpoint", COS_XT_STR, offsetof(cos_error_doc, endpoint), 0, NULL, 0 },
    { "Region", COS_XT_STR, offsetof(cos_error_doc, region), 0, NULL, 0 },
    { "BucketName", COS_XT_STR, offsetof(cos_error_doc, bucket), 0, NULL, 0 },
};
static const cos_xml_schema ERROR_SCHEMA = { "Error", sizeof(cos_error_doc), ERROR_FIELDS,
                                             sizeof ERROR_FIELDS / sizeof ERROR_FIELDS[0] };

static void take(char **dst, char **src)
{
    if (*src) {
        free(*dst);
        *dst = *src;
        *src = NULL;
    }
}

int cos_xml_parse_error(const char *xml, size_t len, cos_error *e)
{
    if (!xml || len < 7 || !memmem(xml, len, "<Error", 6)) return -1;
    void *obj = NULL;
    if (cos_xml_parse(&ERROR_SCHEMA, xml, len, &obj, NULL)) return -1;
    cos_error_doc *d = obj;
    int rc = d->code ? 0 : -1;
    if (rc == 0) {
        take(&e->code, &d->code);
        take(&e->message, &d->message);
        take(&e->resource, &d->resource);
        take(&e->request_id, &d->request_id);
        take(&e->trace_id, &d->trace_id);
        take(&e->string_to_sign, &d->string_to_sign);
        take(&e->format_string, &d->format_string);
        /* S3's shape: HostId is its second request id (COS's TraceId),
           CanonicalRequest the counterpart of COS's FormatString, and a
           redirect or a wrong region names where the bucket really is */
        if (!e->trace_id) take(&e->trace_id, &d->host_id);
        if (!e->format_string) take(&e->format_string, &d->canonical_request);
        if (d->endpoint || d->region) {
            cos_buf m = COS_BUF_INIT;
            cos_buf_printf(&m, "%s (", e->message ? e->message : e->code);
            if (d->endpoint) cos_buf_printf(&m, "endpoint %s", d->endpoint);
            if (d->region) cos_buf_printf(&m, "%sregion %s", d->endpoint ? ", " : "", d->region);
            cos_buf_putc(&m, ')');
            if (m.data) {
                free(e->message);
                e->message = cos_buf_detach(&m);
            }
        }
        if (!e->resource && d->bucket) take(&e->resource, &d->bucket);
    }
    cos_xml_free(&ERROR_SCHEMA, obj);
    return rc;
}

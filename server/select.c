/*
 * select.c — SELECT Object Content for cos-server (select.h). What COS
 * documents, in its own names: a SelectRequest (Expression, ExpressionType
 * SQL, InputSerialization CSV/JSON with CompressionType NONE/GZIP,
 * OutputSerialization CSV/JSON, RequestProgress), its SQL subset, and the
 * answer as an event stream (Records, Progress, Stats, End; error events).
 *
 * Values are typed as in COS Select: CSV fields are strings, and a string
 * meets a number in a comparison or arithmetic as the number it spells (so
 * `WHERE _2 > 30` needs no CAST); JSON keeps its types and its numbers' text.
 */
#define _GNU_SOURCE
#include "select.h"
#include "xml.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

/* ---------------------------------------------------------------- the request document */

typedef struct sel_csv_doc {
    char *file_header_info, *record_delimiter, *field_delimiter, *quote_character, *quote_escape_character,
        *comments, *allow_quoted_record_delimiter, *quote_fields;
} sel_csv_doc;
typedef struct sel_json_doc {
    char *type, *record_delimiter;
} sel_json_doc;
typedef struct sel_fmt_doc {
    char *compression_type;
    sel_csv_doc *csv;
    sel_json_doc *json;
    char *parquet; /* present (even empty): refused */
} sel_fmt_doc;
typedef struct sel_progress_doc {
    char *enabled;
} sel_progress_doc;
typedef struct sel_request_doc {
    char *expression, *expression_type;
    sel_fmt_doc *input, *output;
    sel_progress_doc *progress;
} sel_request_doc;

#define S(T, name, m) { name, COS_XT_STR, offsetof(T, m), 0, NULL, 0 }
#define ST(T, name, m, s) { name, COS_XT_STRUCT, offsetof(T, m), 0, &s, 0 }
static const cos_xml_field csv_f[] = {
    S(sel_csv_doc, "FileHeaderInfo", file_header_info),
    S(sel_csv_doc, "RecordDelimiter", record_delimiter),
    S(sel_csv_doc, "FieldDelimiter", field_delimiter),
    S(sel_csv_doc, "QuoteCharacter", quote_character),
    S(sel_csv_doc, "QuoteEscapeCharacter", quote_escape_character),
    S(sel_csv_doc, "Comments", comments),
    S(sel_csv_doc, "AllowQuotedRecordDelimiter", allow_quoted_record_delimiter),
    S(sel_csv_doc, "QuoteFields", quote_fields),
};
static const cos_xml_schema csv_s = { NULL, sizeof(sel_csv_doc), csv_f, sizeof csv_f / sizeof csv_f[0] };
static const cos_xml_field json_f[] = {
    S(sel_json_doc, "Type", type),
    S(sel_json_doc, "RecordDelimiter", record_delimiter),
};
static const cos_xml_schema json_s = { NULL, sizeof(sel_json_doc), json_f, sizeof json_f / sizeof json_f[0] };
static const cos_xml_field fmt_f[] = {
    S(sel_fmt_doc, "CompressionType", compression_type),
    ST(sel_fmt_doc, "CSV", csv, csv_s),
    ST(sel_fmt_doc, "JSON", json, json_s),
    S(sel_fmt_doc, "Parquet", parquet),
};
static const cos_xml_schema fmt_s = { NULL, sizeof(sel_fmt_doc), fmt_f, sizeof fmt_f / sizeof fmt_f[0] };
static const cos_xml_field progress_f[] = { S(sel_progress_doc, "Enabled", enabled) };
static const cos_xml_schema progress_s = { NULL, sizeof(sel_progress_doc), progress_f, 1 };
static const cos_xml_field request_f[] = {
    S(sel_request_doc, "Expression", expression),
    S(sel_request_doc, "ExpressionType", expression_type),
    ST(sel_request_doc, "InputSerialization", input, fmt_s),
    ST(sel_request_doc, "OutputSerialization", output, fmt_s),
    ST(sel_request_doc, "RequestProgress", progress, progress_s),
};
/* any root: COS names it SelectRequest, S3 SelectObjectContentRequest (its dialect is spoken too) */
static const cos_xml_schema request_s = { NULL, sizeof(sel_request_doc), request_f, sizeof request_f / sizeof request_f[0] };
#undef S
#undef ST

/* ---------------------------------------------------------------- arena (one record's values) */

typedef struct achunk {
    struct achunk *next;
    size_t cap, used;
    char data[];
} achunk;
typedef struct arena {
    achunk *head;
    size_t total; /* bytes handed out since the last reset */
} arena;

static void *aalloc(arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (!a->head || a->head->cap - a->head->used < n) {
        size_t cap = n > 60000 ? n : 60000;
        achunk *c = malloc(sizeof *c + cap);
        if (!c) abort(); /* as cos_buf does: out of memory is not survivable here */
        c->next = a->head;
        c->cap = cap;
        c->used = 0;
        a->head = c;
    }
    void *p = a->head->data + a->head->used;
    a->head->used += n;
    a->total += n;
    return p;
}

static char *adup(arena *a, const char *s, size_t n)
{
    char *p = aalloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

/* keeps the newest chunk (the usual record fits in it), frees the rest */
static void areset(arena *a)
{
    a->total = 0;
    if (!a->head) return;
    achunk *c = a->head->next;
    a->head->next = NULL;
    a->head->used = 0;
    while (c) {
        achunk *n = c->next;
        free(c);
        c = n;
    }
}

static void afree(arena *a)
{
    areset(a);
    free(a->head);
    a->head = NULL;
}

/* ---------------------------------------------------------------- JSON records */

typedef struct jnode {
    char t;             /* 'n' null, 't' true, 'f' false, '#' number, 's' string, '[' array, '{' object */
    const char *s;      /* number: its text; string: decoded UTF-8; member: its name (name_len) */
    size_t n;
    const char *name;
    size_t name_len;
    struct jnode *first, *next;
} jnode;

typedef struct jparse {
    const char *p, *end;
    arena *a;
    int depth;
    bool more; /* stopped at the end of the input: more may complete it */
} jparse;

static void jws(jparse *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}

static void put_utf8(char *o, size_t *k, uint32_t cp)
{
    if (cp < 0x80) o[(*k)++] = (char)cp;
    else if (cp < 0x800) {
        o[(*k)++] = (char)(0xC0 | cp >> 6);
        o[(*k)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        o[(*k)++] = (char)(0xE0 | cp >> 12);
        o[(*k)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[(*k)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        o[(*k)++] = (char)(0xF0 | cp >> 18);
        o[(*k)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        o[(*k)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[(*k)++] = (char)(0x80 | (cp & 0x3F));
    }
}

static int hex4(const char *p, uint32_t *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        int c = (unsigned char)p[i], d = isdigit(c) ? c - '0' : (c | 32) >= 'a' && (c | 32) <= 'f' ? (c | 32) - 'a' + 10 : -1;
        if (d < 0) return -1;
        *v = *v << 4 | (uint32_t)d;
    }
    return 0;
}

/* a string after its opening quote: 1, 0 (more input needed) or -1 */
static int jstring(jparse *j, const char **out, size_t *len)
{
    const char *q = j->p;
    while (q < j->end && *q != '"') q += *q == '\\' ? 2 : 1;
    if (q >= j->end) {
        j->more = true;
        return 0;
    }
    char *o = aalloc(j->a, (size_t)(q - j->p) + 1);
    size_t k = 0;
    for (const char *p = j->p; p < q; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20) return -1;
        if (c != '\\') {
            o[k++] = (char)c;
            continue;
        }
        p++;
        switch (*p) {
        case '"': case '\\': case '/': o[k++] = *p; break;
        case 'b': o[k++] = '\b'; break;
        case 'f': o[k++] = '\f'; break;
        case 'n': o[k++] = '\n'; break;
        case 'r': o[k++] = '\r'; break;
        case 't': o[k++] = '\t'; break;
        case 'u': {
            uint32_t cp, lo;
            if (q - p < 5 || hex4(p + 1, &cp) != 0) return -1;
            p += 4;
            if (cp >= 0xD800 && cp < 0xDC00) { /* a pair, or a lone half kept as U+FFFD */
                if (q - p >= 7 && p[1] == '\\' && p[2] == 'u' && hex4(p + 3, &lo) == 0 && lo >= 0xDC00 && lo < 0xE000) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    p += 6;
                } else {
                    cp = 0xFFFD;
                }
            } else if (cp >= 0xDC00 && cp < 0xE000) {
                cp = 0xFFFD;
            }
            put_utf8(o, &k, cp); /* never longer than the 6+ bytes it came from */
            break;
        }
        default: return -1;
        }
    }
    o[k] = 0;
    *out = o;
    *len = k;
    j->p = q + 1;
    return 1;
}

static int jvalue(jparse *j, jnode *v);

static int jvalue_inner(jparse *j, jnode *v)
{
    jws(j);
    if (j->p >= j->end) {
        j->more = true;
        return 0;
    }
    char c = *j->p;
    if (c == '"') {
        j->p++;
        v->t = 's';
        return jstring(j, &v->s, &v->n);
    }
    if (c == '{' || c == '[') {
        if (++j->depth > 64) return -1;
        v->t = c;
        j->p++;
        jnode **tail = &v->first;
        for (bool firstm = true;; firstm = false) {
            jws(j);
            if (j->p >= j->end) {
                j->more = true;
                return 0;
            }
            if (*j->p == (c == '{' ? '}' : ']') && firstm) {
                j->p++;
                break;
            }
            jnode *m = aalloc(j->a, sizeof *m);
            memset(m, 0, sizeof *m);
            if (c == '{') {
                if (*j->p != '"') return -1;
                j->p++;
                int rc = jstring(j, &m->name, &m->name_len);
                if (rc <= 0) return rc;
                jws(j);
                if (j->p >= j->end) {
                    j->more = true;
                    return 0;
                }
                if (*j->p++ != ':') return -1;
            }
            int rc = jvalue(j, m);
            if (rc <= 0) return rc;
            *tail = m;
            tail = &m->next;
            jws(j);
            if (j->p >= j->end) {
                j->more = true;
                return 0;
            }
            if (*j->p == ',') {
                j->p++;
                continue;
            }
            if (*j->p++ != (c == '{' ? '}' : ']')) return -1;
            break;
        }
        j->depth--;
        return 1;
    }
    static const char *const WORDS[] = { "null", "true", "false" };
    for (int i = 0; i < 3; i++)
        if (c == WORDS[i][0]) {
            size_t n = strlen(WORDS[i]), have = (size_t)(j->end - j->p);
            if (memcmp(j->p, WORDS[i], have < n ? have : n) != 0) return -1;
            if (have < n) {
                j->more = true;
                return 0;
            }
            j->p += n;
            v->t = "ntf"[i];
            return 1;
        }
    if (c == '-' || isdigit((unsigned char)c)) {
        const char *s = j->p, *p = s;
        if (*p == '-') p++;
        size_t digits = 0;
        while (p < j->end && isdigit((unsigned char)*p)) p++, digits++;
        if (p < j->end && *p == '.') {
            p++;
            while (p < j->end && isdigit((unsigned char)*p)) p++;
        }
        if (p < j->end && (*p == 'e' || *p == 'E')) {
            p++;
            if (p < j->end && (*p == '+' || *p == '-')) p++;
            while (p < j->end && isdigit((unsigned char)*p)) p++;
        }
        if (p >= j->end) { /* a number may go on in the next piece */
            j->more = true;
            return 0;
        }
        if (!digits || !isdigit((unsigned char)p[-1])) return -1;
        v->t = '#';
        v->s = adup(j->a, s, (size_t)(p - s));
        v->n = (size_t)(p - s);
        j->p = p;
        return 1;
    }
    return -1;
}

static int jvalue(jparse *j, jnode *v) { return jvalue_inner(j, v); }

static void json_write_string(cos_buf *o, const char *s, size_t n)
{
    cos_buf_putc(o, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            cos_buf_putc(o, '\\');
            cos_buf_putc(o, (char)c);
        } else if (c < 0x20) {
            switch (c) {
            case '\n': cos_buf_puts(o, "\\n"); break;
            case '\r': cos_buf_puts(o, "\\r"); break;
            case '\t': cos_buf_puts(o, "\\t"); break;
            default: cos_buf_printf(o, "\\u%04x", c);
            }
        } else {
            cos_buf_putc(o, (char)c);
        }
    }
    cos_buf_putc(o, '"');
}

static void json_write_node(cos_buf *o, const jnode *v)
{
    switch (v->t) {
    case 'n': cos_buf_puts(o, "null"); break;
    case 't': cos_buf_puts(o, "true"); break;
    case 'f': cos_buf_puts(o, "false"); break;
    case '#': cos_buf_append(o, v->s, v->n); break;
    case 's': json_write_string(o, v->s, v->n); break;
    default:
        cos_buf_putc(o, v->t);
        for (const jnode *m = v->first; m; m = m->next) {
            if (m != v->first) cos_buf_putc(o, ',');
            if (v->t == '{') {
                json_write_string(o, m->name, m->name_len);
                cos_buf_putc(o, ':');
            }
            json_write_node(o, m);
        }
        cos_buf_putc(o, v->t == '{' ? '}' : ']');
    }
}

/* ---------------------------------------------------------------- values */

typedef enum { V_MISSING, V_NULL, V_BOOL, V_INT, V_FLOAT, V_STR, V_JSON } vkind;
typedef struct val {
    vkind k;
    int64_t i;         /* BOOL, INT */
    double f;          /* FLOAT */
    const char *s;     /* STR */
    size_t n;
    const jnode *j;    /* JSON (array, object), or the number a JSON number came from (its text) */
} val;

static val vmissing(void) { return (val){ .k = V_MISSING }; }
static val vnull(void) { return (val){ .k = V_NULL }; }
static val vbool(bool b) { return (val){ .k = V_BOOL, .i = b }; }
static val vint(int64_t i) { return (val){ .k = V_INT, .i = i }; }
static val vfloat(double f) { return (val){ .k = V_FLOAT, .f = f }; }
static val vstr(const char *s, size_t n) { return (val){ .k = V_STR, .s = s, .n = n }; }

/* a whole string that spells a number: 1 int, 2 float, 0 not */
static int parse_number(const char *s, size_t n, int64_t *i, double *f)
{
    char tmp[64];
    while (n && isspace((unsigned char)*s)) s++, n--;
    while (n && isspace((unsigned char)s[n - 1])) n--;
    if (!n || n >= sizeof tmp) return 0;
    memcpy(tmp, s, n);
    tmp[n] = 0;
    char *end;
    errno = 0;
    long long v = strtoll(tmp, &end, 10);
    if (*end == 0 && errno == 0) {
        *i = v;
        return 1;
    }
    if (!isdigit((unsigned char)tmp[0]) && tmp[0] != '-' && tmp[0] != '+' && tmp[0] != '.') return 0; /* no "inf", "nan" */
    double d = strtod(tmp, &end);
    if (*end || !isfinite(d)) return 0;
    *f = d;
    return 2;
}

static val from_json(const jnode *j)
{
    switch (j->t) {
    case 'n': return vnull();
    case 't': return vbool(true);
    case 'f': return vbool(false);
    case 's': return vstr(j->s, j->n);
    case '#': {
        int64_t i;
        double f;
        val v = parse_number(j->s, j->n, &i, &f) == 1 ? vint(i) : vfloat(strtod(j->s, NULL));
        v.j = j;
        return v;
    }
    default: return (val){ .k = V_JSON, .j = j };
    }
}

/* numeric view: 1 int, 2 float, 0 not a number */
static int numeric(const val *v, int64_t *i, double *f)
{
    if (v->k == V_INT) return *i = v->i, 1;
    if (v->k == V_FLOAT) return *f = v->f, 2;
    if (v->k == V_STR) return parse_number(v->s, v->n, i, f);
    return 0;
}

/* ---------------------------------------------------------------- SQL: tokens */

enum { T_END, T_ID, T_QID, T_STR, T_NUM, T_OP };
typedef struct tok {
    int t;
    const char *s;
    size_t n;
} tok;

typedef struct node node;

enum {
    N_LIT, N_PATH, N_NEG, N_NOT, N_AND, N_OR, N_CMP, N_ARITH, N_CONCAT, N_LIKE, N_BETWEEN, N_IN, N_IS, N_CAST,
    N_FUNC, N_AGG
};
enum { C_EQ, C_NE, C_LT, C_LE, C_GT, C_GE };
enum { F_LOWER, F_UPPER, F_CHAR_LENGTH, F_TRIM, F_SUBSTRING, F_COALESCE, F_NULLIF, F_ABS };
enum { A_COUNT, A_SUM, A_AVG, A_MIN, A_MAX };
enum { TY_INT, TY_FLOAT, TY_STRING, TY_BOOL };

typedef struct pseg {
    const char *name; /* NULL: an index */
    size_t n;
    bool quoted;
    int64_t index;
} pseg;

struct node {
    int op, sub;      /* sub: comparison, arithmetic char, function, aggregate, type, IS's kind */
    bool neg;         /* NOT LIKE / NOT BETWEEN / NOT IN / IS NOT */
    val lit;
    node *a, *b, *c;
    node **args;
    int nargs;
    pseg *path;
    int npath;
    int column;       /* _N: N; 0 otherwise */
    int slot;         /* aggregate: its accumulator */
    bool star;        /* COUNT(*) */
    char *owned;      /* text this node keeps (an unquoted name or string) */
};

typedef struct item {
    node *e;
    char *name;       /* output name (AS, or a path's last name), NULL: _N */
    bool star;
} item;

typedef struct agg {
    int fn;
    int64_t count, isum;
    double fsum, best;
    bool is_float, overflow, have;
    int64_t ibest;
    bool best_float;
} agg;

struct sel_query {
    /* SQL */
    item *items;
    int nitems;
    bool star;
    node *where;
    int64_t limit;    /* -1: none */
    char *alias;
    char *sql;        /* the expression: paths point into it */
    int naggs;
    node **nodes;     /* every node, freed together */
    size_t nnodes;
    /* input */
    bool json_in, json_lines, gzip;
    bool from_array;  /* FROM COSObject[*]: a top-level array's elements are the records */
    int header;       /* 0 NONE, 1 USE, 2 IGNORE */
    char rdelim[8], fdelim[8], quote, qescape, comment;
    bool quote_rdelim;
    /* output */
    bool json_out, quote_always;
    char ordelim[8], ofdelim[8], oquote, oqescape;
    bool progress;
};

typedef struct pstate {
    const char *p, *end;
    tok cur;
    sel_query *q;
    const char *code;
    char *msg;
    size_t msglen;
    int depth;
    bool in_agg;
    node **alloc; /* node blocks */
    size_t nalloc, cap;
} pstate;

static bool perr(pstate *s, const char *code, const char *fmt, const char *what, size_t n)
{
    if (!s->code) {
        s->code = code;
        snprintf(s->msg, s->msglen, fmt, (int)(n > 200 ? 200 : n), what ? what : "");
    }
    return false;
}

static void next_tok(pstate *s)
{
    while (s->p < s->end && isspace((unsigned char)*s->p)) s->p++;
    tok t = { T_END, s->p, 0 };
    if (s->p >= s->end) {
        s->cur = t;
        return;
    }
    const char *p = s->p;
    unsigned char c = (unsigned char)*p;
    if (isalpha(c) || c == '_') {
        while (p < s->end && (isalnum((unsigned char)*p) || *p == '_')) p++;
        t.t = T_ID;
    } else if (isdigit(c) || (c == '.' && p + 1 < s->end && isdigit((unsigned char)p[1]))) {
        while (p < s->end && (isdigit((unsigned char)*p) || *p == '.')) p++;
        if (p < s->end && (*p == 'e' || *p == 'E')) {
            const char *e = p + 1;
            if (e < s->end && (*e == '+' || *e == '-')) e++;
            if (e < s->end && isdigit((unsigned char)*e)) {
                p = e;
                while (p < s->end && isdigit((unsigned char)*p)) p++;
            }
        }
        t.t = T_NUM;
    } else if (c == '\'' || c == '"') { /* '' (or "") inside is the quote itself */
        p++;
        for (;;) {
            if (p >= s->end) {
                t.t = -1;
                break;
            }
            if (*p == (char)c) {
                if (p + 1 < s->end && p[1] == (char)c) {
                    p += 2;
                    continue;
                }
                p++;
                t.t = c == '\'' ? T_STR : T_QID;
                break;
            }
            p++;
        }
        if (t.t == -1) { /* unterminated: reported as the token it is */
            t.t = T_OP;
            p = s->end;
        }
    } else {
        static const char *const TWO[] = { "<=", ">=", "<>", "!=", "||" };
        t.t = T_OP;
        p++;
        for (size_t i = 0; i < sizeof TWO / sizeof TWO[0]; i++)
            if (s->end - s->p >= 2 && !memcmp(s->p, TWO[i], 2)) p = s->p + 2;
    }
    t.n = (size_t)(p - t.s);
    s->p = p;
    s->cur = t;
}

static bool is_kw(const tok *t, const char *kw) { return t->t == T_ID && t->n == strlen(kw) && !strncasecmp(t->s, kw, t->n); }
static bool is_op(const tok *t, const char *op) { return t->t == T_OP && t->n == strlen(op) && !memcmp(t->s, op, t->n); }

static bool accept_kw(pstate *s, const char *kw)
{
    if (!is_kw(&s->cur, kw)) return false;
    next_tok(s);
    return true;
}

static bool accept_op(pstate *s, const char *op)
{
    if (!is_op(&s->cur, op)) return false;
    next_tok(s);
    return true;
}

static bool expect_op(pstate *s, const char *op)
{
    if (accept_op(s, op)) return true;
    return perr(s, "ParseUnexpectedToken", "Unexpected token '%.*s' in the expression.", s->cur.s,
                s->cur.t == T_END ? 0 : s->cur.n);
}

static node *mk(pstate *s, int op)
{
    if (s->nalloc == s->cap) { /* doubled: one more each time copied the list per node (256 KB of SQL, minutes) */
        s->cap = s->cap ? 2 * s->cap : 64;
        node **grown = realloc(s->alloc, s->cap * sizeof *grown);
        if (!grown) abort();
        s->alloc = grown;
    }
    node *n = calloc(1, sizeof *n);
    if (!n) abort();
    s->alloc[s->nalloc++] = n;
    n->op = op;
    return n;
}

static const char *const RESERVED[] = { "select", "from", "where", "limit", "and", "or", "not", "like", "between",
                                        "in", "is", "as", "null", "true", "false", "missing", "escape", "cast" };

static bool reserved(const tok *t)
{
    for (size_t i = 0; i < sizeof RESERVED / sizeof RESERVED[0]; i++)
        if (is_kw(t, RESERVED[i])) return true;
    return false;
}

/* a quoted token's text with its doubled quotes made single (pstate-owned) */
static char *unquote(pstate *s, const tok *t, size_t *len)
{
    node *holder = mk(s, N_LIT); /* its storage lives as long as the query's nodes */
    char *o = malloc(t->n), *w = o;
    if (!o) abort();
    for (size_t i = 1; i + 1 < t->n; i++) {
        *w++ = t->s[i];
        if (t->s[i] == t->s[0]) i++;
    }
    *w = 0;
    *len = (size_t)(w - o);
    holder->owned = o; /* freed with the nodes */
    return o;
}

static node *expr(pstate *s);

static bool arg_list(pstate *s, node *f, int min, int max)
{
    if (!expect_op(s, "(")) return false;
    if (!is_op(&s->cur, ")"))
        do {
            node *a = expr(s);
            if (!a) return false;
            node **g = realloc(f->args, (size_t)(f->nargs + 1) * sizeof *g);
            if (!g) abort();
            f->args = g;
            f->args[f->nargs++] = a;
        } while (accept_op(s, ","));
    if (!expect_op(s, ")")) return false;
    if (f->nargs < min || f->nargs > max)
        return perr(s, "IncorrectSqlFunctionArgumentType", "Wrong number of arguments to a function%.*s.", "", 0);
    return true;
}

static node *primary(pstate *s)
{
    tok t = s->cur;
    if (t.t == T_NUM) {
        next_tok(s);
        node *n = mk(s, N_LIT);
        int64_t i;
        double f;
        int k = parse_number(t.s, t.n, &i, &f);
        if (!k) return perr(s, "ParseInvalidTypeParam", "'%.*s' is not a number.", t.s, t.n), NULL;
        n->lit = k == 1 ? vint(i) : vfloat(f);
        return n;
    }
    if (t.t == T_STR) {
        next_tok(s);
        node *n = mk(s, N_LIT);
        size_t len;
        const char *v = unquote(s, &t, &len);
        n->lit = vstr(v, len);
        return n;
    }
    if (accept_op(s, "(")) {
        node *e = expr(s);
        if (!e || !expect_op(s, ")")) return NULL;
        return e;
    }
    if (accept_kw(s, "null")) return mk(s, N_LIT)->lit = vnull(), s->alloc[s->nalloc - 1];
    if (accept_kw(s, "missing")) return mk(s, N_LIT)->lit = vmissing(), s->alloc[s->nalloc - 1];
    if (accept_kw(s, "true")) return mk(s, N_LIT)->lit = vbool(true), s->alloc[s->nalloc - 1];
    if (accept_kw(s, "false")) return mk(s, N_LIT)->lit = vbool(false), s->alloc[s->nalloc - 1];
    if (accept_kw(s, "cast")) {
        node *n = mk(s, N_CAST);
        if (!expect_op(s, "(") || !(n->a = expr(s))) return NULL;
        if (!accept_kw(s, "as"))
            return perr(s, "ParseExpectedKeywordAs", "CAST needs AS%.*s.", "", 0), NULL;
        static const struct { const char *name; int ty; } TYPES[] = {
            { "int", TY_INT }, { "integer", TY_INT }, { "bigint", TY_INT }, { "smallint", TY_INT },
            { "float", TY_FLOAT }, { "real", TY_FLOAT }, { "double", TY_FLOAT }, { "decimal", TY_FLOAT },
            { "numeric", TY_FLOAT }, { "string", TY_STRING }, { "varchar", TY_STRING }, { "char", TY_STRING },
            { "bool", TY_BOOL }, { "boolean", TY_BOOL } };
        n->sub = -1;
        for (size_t i = 0; i < sizeof TYPES / sizeof TYPES[0]; i++)
            if (is_kw(&s->cur, TYPES[i].name)) n->sub = TYPES[i].ty;
        if (n->sub < 0)
            return perr(s, "ParseUnsupportedType", "CAST to '%.*s' is not supported.", s->cur.s, s->cur.n), NULL;
        next_tok(s);
        if (accept_op(s, "(")) { /* DECIMAL(10,2): the precision is accepted, not kept */
            while (s->cur.t == T_NUM || is_op(&s->cur, ",")) next_tok(s);
            if (!expect_op(s, ")")) return NULL;
        }
        if (!expect_op(s, ")")) return NULL;
        return n;
    }
    if (t.t == T_ID && !reserved(&t)) {
        const tok name = t;
        next_tok(s);
        if (is_op(&s->cur, "(")) { /* a function */
            static const struct { const char *name; int fn; int min, max; } FUNCS[] = {
                { "lower", F_LOWER, 1, 1 }, { "upper", F_UPPER, 1, 1 }, { "char_length", F_CHAR_LENGTH, 1, 1 },
                { "character_length", F_CHAR_LENGTH, 1, 1 }, { "coalesce", F_COALESCE, 1, 32 },
                { "nullif", F_NULLIF, 2, 2 }, { "abs", F_ABS, 1, 1 } };
            static const struct { const char *name; int fn; } AGGS[] = {
                { "count", A_COUNT }, { "sum", A_SUM }, { "avg", A_AVG }, { "min", A_MIN }, { "max", A_MAX } };
            for (size_t i = 0; i < sizeof AGGS / sizeof AGGS[0]; i++)
                if (is_kw(&name, AGGS[i].name)) {
                    if (s->in_agg)
                        return perr(s, "UnsupportedSyntax", "An aggregate inside an aggregate%.*s.", "", 0), NULL;
                    node *n = mk(s, N_AGG);
                    n->sub = AGGS[i].fn;
                    n->slot = s->q->naggs++;
                    if (n->sub == A_COUNT) { /* COUNT(*): look past the "(" */
                        const char *save = s->p;
                        tok st = s->cur;
                        next_tok(s);
                        if (accept_op(s, "*")) {
                            n->star = true;
                            return expect_op(s, ")") ? n : NULL;
                        }
                        s->p = save;
                        s->cur = st;
                    }
                    s->in_agg = true;
                    node tmp = { 0 };
                    bool ok = arg_list(s, &tmp, 1, 1);
                    s->in_agg = false;
                    if (!ok) {
                        free(tmp.args);
                        return NULL;
                    }
                    n->a = tmp.args[0];
                    free(tmp.args);
                    return n;
                }
            if (is_kw(&name, "trim")) { /* TRIM([[BOTH|LEADING|TRAILING] [chars] FROM] s) */
                node *n = mk(s, N_FUNC);
                n->sub = F_TRIM;
                n->column = 3; /* 1 leading, 2 trailing, 3 both */
                next_tok(s);
                if (accept_kw(s, "leading")) n->column = 1;
                else if (accept_kw(s, "trailing")) n->column = 2;
                else accept_kw(s, "both");
                if (!accept_kw(s, "from")) {
                    node *first = expr(s);
                    if (!first) return NULL;
                    if (accept_kw(s, "from")) {
                        n->b = first; /* the characters to trim */
                        if (!(n->a = expr(s))) return NULL;
                    } else {
                        n->a = first;
                    }
                } else if (!(n->a = expr(s))) {
                    return NULL;
                }
                return expect_op(s, ")") ? n : NULL;
            }
            if (is_kw(&name, "substring")) { /* SUBSTRING(s FROM a [FOR b]) or SUBSTRING(s, a[, b]) */
                node *n = mk(s, N_FUNC);
                n->sub = F_SUBSTRING;
                next_tok(s);
                if (!(n->a = expr(s))) return NULL;
                if (accept_kw(s, "from") || accept_op(s, ",")) {
                    if (!(n->b = expr(s))) return NULL;
                } else {
                    return perr(s, "ParseUnexpectedToken", "SUBSTRING needs a start%.*s.", "", 0), NULL;
                }
                if ((accept_kw(s, "for") || accept_op(s, ",")) && !(n->c = expr(s))) return NULL;
                return expect_op(s, ")") ? n : NULL;
            }
            for (size_t i = 0; i < sizeof FUNCS / sizeof FUNCS[0]; i++)
                if (is_kw(&name, FUNCS[i].name)) {
                    node *n = mk(s, N_FUNC);
                    n->sub = FUNCS[i].fn;
                    return arg_list(s, n, FUNCS[i].min, FUNCS[i].max) ? n : NULL;
                }
            return perr(s, "UnsupportedFunction", "The function '%.*s' is not supported.", name.s, name.n), NULL;
        }
        s->cur = name; /* a path: read it from its first name again */
        s->p = name.s + name.n;
    }
    if ((s->cur.t == T_ID && !reserved(&s->cur)) || s->cur.t == T_QID) { /* a path: a.b."c"[0]... */
        node *n = mk(s, N_PATH);
        for (;;) {
            tok c = s->cur;
            pseg g = { 0 };
            if (c.t == T_QID) {
                g.name = unquote(s, &c, &g.n);
                g.quoted = true;
            } else if (c.t == T_ID) {
                g.name = c.s;
                g.n = c.n;
            } else {
                return perr(s, "ParseUnexpectedToken", "Unexpected token '%.*s' in a path.", c.s, c.n), NULL;
            }
            next_tok(s);
            pseg *gr = realloc(n->path, (size_t)(n->npath + 1) * sizeof *gr);
            if (!gr) abort();
            n->path = gr;
            n->path[n->npath++] = g;
            while (accept_op(s, "[")) {
                if (s->cur.t != T_NUM)
                    return perr(s, "ParseUnexpectedToken", "An index must be a number, not '%.*s'.", s->cur.s, s->cur.n), NULL;
                pseg x = { NULL, 0, false, strtoll(s->cur.s, NULL, 10) };
                next_tok(s);
                if (!expect_op(s, "]")) return NULL;
                gr = realloc(n->path, (size_t)(n->npath + 1) * sizeof *gr);
                if (!gr) abort();
                n->path = gr;
                n->path[n->npath++] = x;
            }
            if (!accept_op(s, ".")) break;
            if (is_op(&s->cur, "*")) return perr(s, "UnsupportedSyntax", "'.*' is only allowed alone%.*s.", "", 0), NULL;
        }
        if (n->npath > 32) return perr(s, "UnsupportedSyntax", "A path is too deep%.*s.", "", 0), NULL;
        return n;
    }
    return perr(s, t.t == T_END ? "ParseExpectedExpression" : "ParseUnexpectedToken",
                t.t == T_END ? "The expression ends too soon%.*s." : "Unexpected token '%.*s' in the expression.", t.s,
                t.t == T_END ? 0 : t.n), NULL;
}

static node *unary(pstate *s)
{
    bool minus = is_op(&s->cur, "-");
    if (minus || is_op(&s->cur, "+")) {
        next_tok(s);
        if (++s->depth > 200) return perr(s, "ParseUnexpectedToken", "The expression is nested too deeply%.*s.", "", 0), NULL;
        node *a = unary(s);
        s->depth--;
        if (!a || !minus) return a;
        node *n = mk(s, N_NEG);
        n->a = a;
        return n;
    }
    return primary(s);
}

static node *binop(pstate *s, int op, int sub, node *a, node *b)
{
    if (!a || !b) return NULL;
    node *n = mk(s, op);
    n->sub = sub;
    n->a = a;
    n->b = b;
    return n;
}

/* one level of left-associative arithmetic: the operators in ops, operands from next */
static node *arith_level(pstate *s, const char *ops, node *(*next)(pstate *))
{
    node *a = next(s);
    while (a) {
        char op[2] = { 0, 0 };
        for (const char *c = ops; *c && !op[0]; c++)
            if (is_op(&s->cur, (char[]){ *c, 0 })) op[0] = *c;
        if (!op[0]) break;
        next_tok(s);
        a = binop(s, N_ARITH, op[0], a, next(s));
    }
    return a;
}

static node *mul(pstate *s) { return arith_level(s, "*/%", unary); }
static node *add(pstate *s) { return arith_level(s, "+-", mul); }

/* AND, OR and || are associative: a chain of them is built balanced, its depth the log of its length,
 * so that eval and the checks after parsing recurse shallowly however long it is (a left-deep chain of
 * 40,000 || crashed the server's thread: its stack). Leaves stay in order, so evaluation, short-circuits
 * and the first error raised are those of the left-deep tree. */
static node *balanced(pstate *s, int op, node **v, size_t n)
{
    if (n == 1) return v[0];
    return binop(s, op, 0, balanced(s, op, v, n / 2), balanced(s, op, v + n / 2, n - n / 2));
}

static bool accept_sep(pstate *s, const char *sep) { return *sep == '|' ? accept_op(s, sep) : accept_kw(s, sep); }

static node *chain(pstate *s, int op, const char *sep, node *(*next)(pstate *))
{
    node *a = next(s);
    if (!a || !accept_sep(s, sep)) return a;
    size_t n = 1, cap = 8;
    node **v = malloc(cap * sizeof *v);
    if (!v) abort();
    v[0] = a;
    do {
        if (n == cap) {
            node **g = realloc(v, (cap *= 2) * sizeof *g);
            if (!g) abort();
            v = g;
        }
        if (!(v[n++] = next(s))) {
            free(v);
            return NULL;
        }
    } while (accept_sep(s, sep));
    a = balanced(s, op, v, n);
    free(v);
    return a;
}

static node *concat(pstate *s) { return chain(s, N_CONCAT, "||", add); }

static node *predicate(pstate *s)
{
    node *a = concat(s);
    if (!a) return NULL;
    static const struct { const char *op; int c; } CMPS[] = { { "=", C_EQ }, { "!=", C_NE }, { "<>", C_NE },
                                                             { "<", C_LT }, { "<=", C_LE }, { ">", C_GT },
                                                             { ">=", C_GE } };
    for (size_t i = 0; i < sizeof CMPS / sizeof CMPS[0]; i++)
        if (accept_op(s, CMPS[i].op)) return binop(s, N_CMP, CMPS[i].c, a, concat(s));
    if (accept_kw(s, "is")) {
        node *n = mk(s, N_IS);
        n->a = a;
        n->neg = accept_kw(s, "not");
        if (accept_kw(s, "null")) n->sub = 0;
        else if (accept_kw(s, "missing")) n->sub = 1;
        else return perr(s, "ParseUnexpectedToken", "IS needs NULL or MISSING, not '%.*s'.", s->cur.s, s->cur.n), NULL;
        return n;
    }
    bool neg = accept_kw(s, "not");
    if (accept_kw(s, "like")) {
        node *n = binop(s, N_LIKE, 0, a, concat(s));
        if (n) n->neg = neg;
        if (n && accept_kw(s, "escape") && !(n->c = concat(s))) return NULL;
        return n;
    }
    if (accept_kw(s, "between")) {
        node *lo = concat(s);
        if (!lo) return NULL;
        if (!accept_kw(s, "and")) return perr(s, "ParseExpectedKeywordAnd", "BETWEEN needs AND%.*s.", "", 0), NULL;
        node *n = binop(s, N_BETWEEN, 0, a, lo);
        if (!n || !(n->c = concat(s))) return NULL;
        n->neg = neg;
        return n;
    }
    if (accept_kw(s, "in")) {
        node *n = mk(s, N_IN);
        n->a = a;
        n->neg = neg;
        return arg_list(s, n, 1, 1024) ? n : NULL;
    }
    if (neg) return perr(s, "ParseUnexpectedToken", "Unexpected token '%.*s' after NOT.", s->cur.s, s->cur.n), NULL;
    return a;
}

static node *notx(pstate *s)
{
    if (accept_kw(s, "not")) {
        if (++s->depth > 200) return perr(s, "ParseUnexpectedToken", "The expression is nested too deeply%.*s.", "", 0), NULL;
        node *n = mk(s, N_NOT);
        n->a = notx(s);
        s->depth--;
        return n->a ? n : NULL;
    }
    return predicate(s);
}

static node *andx(pstate *s) { return chain(s, N_AND, "and", notx); }

static node *expr(pstate *s)
{
    if (++s->depth > 200) return perr(s, "ParseUnexpectedToken", "The expression is nested too deeply%.*s.", "", 0), NULL;
    node *a = chain(s, N_OR, "or", andx);
    s->depth--;
    return a;
}

/* Whether n's tree is deeper than left levels (recursing at most that deep). eval, accumulate and
 * has_bare_path recurse once a level: a long arithmetic chain (1+1+...+1, left-deep since overflow and
 * rounding make it not associative) is refused here instead of overflowing the thread's stack. */
static bool deeper_than(const node *n, int left)
{
    if (!n) return false;
    if (left == 0) return true;
    if (deeper_than(n->a, left - 1) || deeper_than(n->b, left - 1) || deeper_than(n->c, left - 1)) return true;
    for (int i = 0; i < n->nargs; i++)
        if (deeper_than(n->args[i], left - 1)) return true;
    return false;
}

/* a path outside any aggregate, in an aggregate query: refused (COS answers one row) */
static bool has_bare_path(const node *n)
{
    if (!n || n->op == N_AGG) return false;
    if (n->op == N_PATH) return true;
    if (has_bare_path(n->a) || has_bare_path(n->b) || has_bare_path(n->c)) return true;
    for (int i = 0; i < n->nargs; i++)
        if (has_bare_path(n->args[i])) return true;
    return false;
}

static int parse_sql(sel_query *q, const char *sql, size_t len, const char **code, char *msg, size_t msglen)
{
    pstate s = { sql, sql + len, { 0 }, q, NULL, msg, msglen, 0, false, NULL, 0 };
    next_tok(&s);
    q->limit = -1;
    if (!accept_kw(&s, "select")) {
        perr(&s, "ParseExpectedKeywordSelect", "The expression must start with SELECT%.*s.", "", 0);
        goto out;
    }
    const char *save = s.p;
    tok first = s.cur;
    if (first.t == T_ID && !reserved(&first)) { /* alias.* is * */
        next_tok(&s);
        if (!(accept_op(&s, ".") && is_op(&s.cur, "*"))) {
            s.p = save;
            s.cur = first;
        }
    }
    if (accept_op(&s, "*")) {
        q->star = true;
    } else {
        do {
            node *e = expr(&s);
            if (!e) goto out;
            item it = { e, NULL, false };
            if (accept_kw(&s, "as") || (s.cur.t == T_ID && !reserved(&s.cur)) || s.cur.t == T_QID) {
                tok a = s.cur;
                if (a.t == T_QID) {
                    size_t n;
                    it.name = cos_strdup(unquote(&s, &a, &n));
                } else if (a.t == T_ID) {
                    it.name = strndup(a.s, a.n);
                } else {
                    perr(&s, "ParseUnexpectedToken", "AS needs a name, not '%.*s'.", a.s, a.n);
                    goto out;
                }
                next_tok(&s);
            } else if (e->op == N_PATH && e->path[e->npath - 1].name) {
                const pseg *g = &e->path[e->npath - 1];
                it.name = strndup(g->name, g->n);
            }
            if ((q->nitems & (q->nitems - 1)) == 0) { /* at 0, 1, 2, 4...: doubled, not copied per item */
                item *gr = realloc(q->items, (size_t)(q->nitems ? 2 * q->nitems : 1) * sizeof *gr);
                if (!gr) abort();
                q->items = gr;
            }
            q->items[q->nitems++] = it;
        } while (accept_op(&s, ","));
    }
    if (!accept_kw(&s, "from")) {
        perr(&s, "ParseSelectMissingFrom", "The expression needs FROM COSObject, not '%.*s'.", s.cur.s, s.cur.n);
        goto out;
    }
    if (!is_kw(&s.cur, "cosobject") && !is_kw(&s.cur, "s3object")) {
        perr(&s, "ParseUnexpectedToken", "FROM names COSObject, not '%.*s'.", s.cur.s, s.cur.n);
        goto out;
    }
    next_tok(&s);
    if (accept_op(&s, "[")) { /* COSObject[*]: a top-level array, element by element */
        if (!expect_op(&s, "*") || !expect_op(&s, "]")) goto out;
        q->from_array = true;
    }
    accept_kw(&s, "as");
    if (s.cur.t == T_ID && !reserved(&s.cur)) {
        q->alias = strndup(s.cur.s, s.cur.n);
        next_tok(&s);
    }
    int aggs_before = q->naggs;
    if (accept_kw(&s, "where") && !(q->where = expr(&s))) goto out;
    if (q->naggs != aggs_before) { /* an aggregate means nothing record by record */
        perr(&s, "UnsupportedSyntax", "WHERE cannot hold an aggregate%.*s.", "", 0);
        goto out;
    }
    if (accept_kw(&s, "limit")) {
        int64_t n;
        double f;
        if (s.cur.t != T_NUM || parse_number(s.cur.s, s.cur.n, &n, &f) != 1 || n < 0) {
            perr(&s, "ParseUnexpectedToken", "LIMIT needs a whole number, not '%.*s'.", s.cur.s, s.cur.n);
            goto out;
        }
        q->limit = n;
        next_tok(&s);
    }
    accept_op(&s, ";"); /* a statement's terminator, as SQL clients write it */
    if (s.cur.t != T_END) {
        perr(&s, "ParseUnexpectedToken", "Unexpected token '%.*s' at the end of the expression.", s.cur.s, s.cur.n);
        goto out;
    }
    for (int i = 0; i <= q->nitems; i++)
        if (deeper_than(i < q->nitems ? q->items[i].e : q->where, SEL_MAX_DEPTH)) {
            perr(&s, "ParseUnexpectedToken", "The expression is nested too deeply%.*s.", "", 0);
            goto out;
        }
    if (q->naggs) {
        for (int i = 0; i < q->nitems; i++)
            if (has_bare_path(q->items[i].e)) {
                perr(&s, "UnsupportedSyntax", "An aggregate query can only select aggregates%.*s.", "", 0);
                goto out;
            }
    }
out:
    q->nodes = s.alloc;
    q->nnodes = s.nalloc;
    if (s.code) {
        *code = s.code;
        return -1;
    }
    return 0;
}

void sel_query_free(sel_query *q)
{
    if (!q) return;
    for (size_t i = 0; i < q->nnodes; i++) {
        free(q->nodes[i]->args);
        free(q->nodes[i]->path);
        free(q->nodes[i]->owned);
        free(q->nodes[i]);
    }
    free(q->nodes);
    for (int i = 0; i < q->nitems; i++) free(q->items[i].name);
    free(q->items);
    free(q->alias);
    free(q->sql);
    free(q);
}
/* ---------------------------------------------------------------- a run: records and evaluation */

typedef struct field {
    const char *s;
    size_t n;
} field;

struct sel_run {
    const sel_query *q;
    arena rec;             /* this record's values */
    size_t eval_base;      /* rec's total when the record was read: what evaluating it took since */
    size_t steps;          /* nodes evaluated, LIKE's steps and name lookups' comparisons over this record */
    uint64_t work_before;  /* what the records before this one cost (request_work_over) */
    z_stream z;
    unsigned char *zbuf;   /* inflated bytes, a piece at a time */
    bool z_on, z_done;
    cos_buf pending;       /* input not yet made into records */
    size_t pending_off;    /* where the next record starts in it */
    bool header_done;
    char **hnames;         /* CSV header (USE) */
    size_t *hlens;
    size_t nh;
    /* this record */
    field *fields;
    size_t nfields, capfields;
    const jnode *json;
    /* evaluation */
    const char *err_code;
    char err_msg[256];
    agg *aggs;
    int64_t emitted;
    cos_buf records;       /* output not yet sent as a Records event */
    uint64_t scanned, processed, returned, progress_at;
    uint64_t said_at;      /* processed when a message was last appended: Cont keeps a long quiet scan alive */
    bool done, failed;
};

static void fail(sel_run *r, const char *code, const char *fmt, ...) COS_PRINTF(3, 4);
static void fail(sel_run *r, const char *code, const char *fmt, ...)
{
    if (r->err_code) return;
    r->err_code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err_msg, sizeof r->err_msg, fmt, ap);
    va_end(ap);
}

static bool name_eq(const char *a, size_t an, const char *b, size_t bn, bool exact)
{
    return an == bn && (exact ? !memcmp(a, b, an) : !strncasecmp(a, b, an));
}

/* _N: N (1-based), 0 otherwise */
static int64_t positional(const pseg *g)
{
    if (!g->name || g->quoted || g->n < 2 || g->name[0] != '_') return 0;
    int64_t v = 0;
    for (size_t i = 1; i < g->n; i++) {
        if (!isdigit((unsigned char)g->name[i]) || v > 100000000) return 0;
        v = v * 10 + (g->name[i] - '0');
    }
    return v;
}

static val eval_path(sel_run *r, const node *n)
{
    const sel_query *q = r->q;
    int i = 0;
    /* the first name may be the FROM alias (or COSObject itself) */
    if (n->npath > 1 && n->path[0].name && !n->path[0].quoted &&
        ((q->alias && name_eq(n->path[0].name, n->path[0].n, q->alias, strlen(q->alias), false)) ||
         name_eq(n->path[0].name, n->path[0].n, "cosobject", 9, false) ||
         name_eq(n->path[0].name, n->path[0].n, "s3object", 8, false)))
        i = 1;
    if (!q->json_in) {
        if (n->npath - i != 1) return vmissing();
        const pseg *g = &n->path[i];
        int64_t pos = positional(g);
        if (pos) return pos <= (int64_t)r->nfields ? vstr(r->fields[pos - 1].s, r->fields[pos - 1].n) : vmissing();
        if (!g->name) return vmissing();
        /* each lookup scans the header: charged to the record's work (20,000 names in the SQL against a
           header of 100,000 was 2*10^9 comparisons a record) */
        for (size_t k = 0; k < r->nh && k < r->nfields; k++, r->steps++)
            if (name_eq(g->name, g->n, r->hnames[k], r->hlens[k], g->quoted)) return vstr(r->fields[k].s, r->fields[k].n);
        return vmissing();
    }
    const jnode *v = r->json;
    for (; i < n->npath && v; i++) {
        const pseg *g = &n->path[i];
        const jnode *m = NULL;
        if (g->name && v->t == '{') {
            for (m = v->first; m && !name_eq(m->name, m->name_len, g->name, g->n, g->quoted); m = m->next)
                r->steps++;
        } else if (!g->name && v->t == '[') {
            int64_t k = 0;
            for (m = v->first; m && k < g->index; m = m->next) k++;
            r->steps += (size_t)k;
        }
        v = m;
    }
    return v ? from_json(v) : vmissing();
}

static val eval(sel_run *r, const node *n);

static bool truthy(const val *v) { return v->k == V_BOOL && v->i; }

/* -1, 0, 1; or 2: not comparable (an answer of NULL) */
static int compare(const val *a, const val *b)
{
    int64_t ai = 0, bi = 0;
    double af = 0, bf = 0;
    bool astr = a->k == V_STR, bstr = b->k == V_STR;
    if (astr && bstr) {
        size_t n = a->n < b->n ? a->n : b->n;
        int c = memcmp(a->s, b->s, n);
        return c < 0 ? -1 : c > 0 ? 1 : a->n < b->n ? -1 : a->n > b->n;
    }
    if (a->k == V_BOOL && b->k == V_BOOL) return (a->i > b->i) - (a->i < b->i);
    if (a->k == V_BOOL || b->k == V_BOOL) { /* a CSV field "true" meets TRUE */
        const val *s = a->k == V_BOOL ? b : a, *t = a->k == V_BOOL ? a : b;
        if (s->k != V_STR) return 2;
        int sv = s->n == 4 && !strncasecmp(s->s, "true", 4) ? 1 : s->n == 5 && !strncasecmp(s->s, "false", 5) ? 0 : -1;
        if (sv < 0) return 2;
        int c = (sv > t->i) - (sv < t->i);
        return a->k == V_BOOL ? -c : c;
    }
    int ka = numeric(a, &ai, &af), kb = numeric(b, &bi, &bf);
    if (!ka || !kb) return 2;
    if (ka == 1 && kb == 1) return (ai > bi) - (ai < bi);
    double x = ka == 1 ? (double)ai : af, y = kb == 1 ? (double)bi : bf;
    return (x > y) - (x < y);
}

static val text_of(sel_run *r, const val *v, bool *ok);

/* LIKE: % any run, _ one character (UTF-8), esc makes the next one plain. Each step is charged to
 * *work: a pattern backtracks (its length times the value's at worst: '%aaa...ab' of 100 KB over 1 MiB of
 * 'a' was 10^11 steps, hours of one thread, for each record); -1 when *work reaches 0. */
static int like(const char *s, size_t n, const char *p, size_t pn, int esc, size_t *work)
{
    size_t si = 0, pi = 0, star_p = (size_t)-1, star_s = 0;
    while (si < n) {
        if (*work == 0) return -1;
        --*work;
        if (pi < pn && p[pi] == '%') {
            star_p = ++pi;
            star_s = si;
            continue;
        }
        if (pi < pn) {
            size_t plen = 1;
            bool any = p[pi] == '_';
            const char *pc = p + pi;
            if (esc >= 0 && (unsigned char)p[pi] == esc && pi + 1 < pn) {
                pc = p + pi + 1;
                plen = 2;
                any = false;
            }
            size_t sl = cos_utf8_len((const unsigned char *)s + si, NULL);
            if (!sl || si + sl > n) sl = 1;
            if (any) {
                si += sl;
                pi += plen;
                continue;
            }
            size_t cl = cos_utf8_len((const unsigned char *)pc, NULL);
            if (!cl || pc + cl > p + pn) cl = 1;
            if (cl == sl && !memcmp(pc, s + si, cl)) {
                si += sl;
                pi += plen - 1 + cl;
                continue;
            }
        }
        if (star_p == (size_t)-1) return 0;
        size_t sl = cos_utf8_len((const unsigned char *)s + star_s, NULL);
        star_s += sl && star_s + sl <= n ? sl : 1;
        si = star_s;
        pi = star_p;
    }
    while (pi < pn && p[pi] == '%') pi++;
    return pi == pn;
}

/* What evaluating the current record has cost so far: the bytes its values took, LIKE's steps, lookups. */
static size_t record_work(const sel_run *r) { return r->rec.total - r->eval_base + r->steps; }

/* One record's work was bounded, the request's was not: 20,000 comparisons that never hold over 100,000
   one-letter records (a 200 KB object) held a thread for 30 s, and a gzip'd object of such records
   (~1,000 times as many) for hours. The work a request may do grows with the bytes it reads. */
static bool request_work_over(const sel_run *r)
{
    return r->work_before + record_work(r) > SEL_REQUEST_WORK_BASE + (uint64_t)SEL_REQUEST_WORK_PER_BYTE * r->scanned;
}

static val arith(sel_run *r, int op, const val *a, const val *b)
{
    int64_t ai = 0, bi = 0, out;
    double af = 0, bf = 0;
    if (a->k <= V_NULL || b->k <= V_NULL) return a->k == V_MISSING || b->k == V_MISSING ? vmissing() : vnull();
    int ka = numeric(a, &ai, &af), kb = numeric(b, &bi, &bf);
    if (!ka || !kb) {
        fail(r, "EvaluatorInvalidArguments", "Arithmetic on a value that is not a number.");
        return vnull();
    }
    if (ka == 1 && kb == 1) {
        bool of = false;
        switch (op) {
        case '+': of = __builtin_add_overflow(ai, bi, &out); break;
        case '-': of = __builtin_sub_overflow(ai, bi, &out); break;
        case '*': of = __builtin_mul_overflow(ai, bi, &out); break;
        case '/':
        case '%':
            if (!bi) {
                fail(r, "DivisionByZero", "Division by zero.");
                return vnull();
            }
            if (ai == INT64_MIN && bi == -1) {
                of = true;
                break;
            }
            out = op == '/' ? ai / bi : ai % bi;
            break;
        default: out = 0;
        }
        if (!of) return vint(out);
        af = (double)ai;
        bf = (double)bi;
    } else {
        af = ka == 1 ? (double)ai : af;
        bf = kb == 1 ? (double)bi : bf;
    }
    if ((op == '/' || op == '%') && bf == 0) {
        fail(r, "DivisionByZero", "Division by zero.");
        return vnull();
    }
    double v = op == '+' ? af + bf : op == '-' ? af - bf : op == '*' ? af * bf : op == '/' ? af / bf : fmod(af, bf);
    return vfloat(v);
}

static void fmt_double(char *buf, size_t n, double d)
{
    snprintf(buf, n, "%.15g", d);
    if (strtod(buf, NULL) != d) snprintf(buf, n, "%.17g", d);
    if (!strpbrk(buf, ".eEn")) strncat(buf, ".0", n - strlen(buf) - 1); /* still a float when read back */
}

/* a value as text (CAST AS STRING, ||, string functions); arena-owned */
static val text_of(sel_run *r, const val *v, bool *ok)
{
    char buf[64];
    *ok = true;
    switch (v->k) {
    case V_STR: return *v;
    case V_BOOL: return vstr(v->i ? "true" : "false", v->i ? 4 : 5);
    case V_INT:
    case V_FLOAT:
        if (v->j) return vstr(v->j->s, v->j->n);
        if (v->k == V_INT) snprintf(buf, sizeof buf, "%lld", (long long)v->i);
        else fmt_double(buf, sizeof buf, v->f);
        return vstr(adup(&r->rec, buf, strlen(buf)), strlen(buf));
    case V_JSON: {
        cos_buf b = COS_BUF_INIT;
        json_write_node(&b, v->j);
        val s = vstr(adup(&r->rec, b.data ? b.data : "", b.len), b.len);
        cos_buf_free(&b);
        return s;
    }
    default: *ok = false; return *v;
    }
}

static val cast(sel_run *r, const val *v, int ty)
{
    if (v->k <= V_NULL) return *v;
    int64_t i;
    double f;
    bool ok;
    switch (ty) {
    case TY_STRING: return text_of(r, v, &ok);
    case TY_INT: {
        int k = v->k == V_BOOL ? (i = v->i, 1) : numeric(v, &i, &f);
        if (k == 2) {
            if (!(f > -9.3e18 && f < 9.3e18)) k = 0;
            else i = (int64_t)f;
        }
        if (k) return vint(i);
        break;
    }
    case TY_FLOAT: {
        int k = numeric(v, &i, &f);
        if (k) return vfloat(k == 1 ? (double)i : f);
        break;
    }
    case TY_BOOL:
        if (v->k == V_BOOL) return *v;
        if (v->k == V_STR && v->n == 4 && !strncasecmp(v->s, "true", 4)) return vbool(true);
        if (v->k == V_STR && v->n == 5 && !strncasecmp(v->s, "false", 5)) return vbool(false);
        if (v->k == V_INT) return vbool(v->i != 0);
        break;
    }
    fail(r, "CastFailed", "A value cannot be cast to the type asked for.");
    return vnull();
}

static val func(sel_run *r, const node *n)
{
    bool ok;
    if (n->sub == F_COALESCE) {
        for (int i = 0; i < n->nargs; i++) {
            val v = eval(r, n->args[i]);
            if (v.k > V_NULL) return v;
        }
        return vnull();
    }
    if (n->sub == F_NULLIF) {
        val a = eval(r, n->args[0]), b = eval(r, n->args[1]);
        return compare(&a, &b) == 0 ? vnull() : a;
    }
    val a = eval(r, n->args ? n->args[0] : n->a);
    if (a.k <= V_NULL) return a;
    if (n->sub == F_ABS) {
        int64_t i;
        double f;
        int k = numeric(&a, &i, &f);
        if (k == 1 && i != INT64_MIN) return vint(i < 0 ? -i : i);
        if (k) return vfloat(fabs(k == 1 ? (double)i : f));
        fail(r, "EvaluatorInvalidArguments", "ABS of a value that is not a number.");
        return vnull();
    }
    val s = text_of(r, &a, &ok);
    switch (n->sub) {
    case F_LOWER:
    case F_UPPER: {
        char *o = adup(&r->rec, s.s, s.n);
        for (size_t i = 0; i < s.n; i++) o[i] = (char)(n->sub == F_LOWER ? tolower((unsigned char)o[i]) : toupper((unsigned char)o[i]));
        return vstr(o, s.n);
    }
    case F_CHAR_LENGTH: {
        int64_t chars = 0;
        for (size_t i = 0; i < s.n; i++) chars += ((unsigned char)s.s[i] & 0xC0) != 0x80;
        return vint(chars);
    }
    case F_TRIM: {
        const char *set = " ";
        size_t setn = 1;
        if (n->b) {
            val c = eval(r, n->b);
            if (c.k <= V_NULL) return c;
            val ct = text_of(r, &c, &ok);
            set = ct.s;
            setn = ct.n;
        }
        size_t b = 0, e = s.n;
        if (n->column & 1)
            while (b < e && memchr(set, s.s[b], setn)) b++;
        if (n->column & 2)
            while (e > b && memchr(set, s.s[e - 1], setn)) e--;
        return vstr(s.s + b, e - b);
    }
    case F_SUBSTRING: { /* 1-based, in characters; a start before 1 eats into the length, as SQL says */
        val st = eval(r, n->b), ln = n->c ? eval(r, n->c) : vmissing();
        int64_t start, len = INT64_MAX;
        double f;
        if (numeric(&st, &start, &f) != 1 || (n->c && numeric(&ln, &len, &f) != 1) || len < 0) {
            fail(r, "EvaluatorInvalidArguments", "SUBSTRING needs whole numbers.");
            return vnull();
        }
        int64_t endc = len == INT64_MAX || start > INT64_MAX - len ? INT64_MAX : start + len;
        if (start < 1) start = 1;
        size_t i = 0, from = s.n, to = s.n;
        int64_t c = 1;
        for (; i <= s.n; c++) {
            if (c == start) from = i;
            if (c == endc) {
                to = i;
                break;
            }
            if (i == s.n) break;
            size_t l = cos_utf8_len((const unsigned char *)s.s + i, NULL);
            i += l && i + l <= s.n ? l : 1;
        }
        if (from > to) from = to;
        return vstr(s.s + from, to - from);
    }
    }
    return vnull();
}

static val eval(sel_run *r, const node *n)
{
    /* The SQL is any reader's: UPPER(_1) a thousand times over a 1 MiB field asked a GiB of one record (and
       the server's memory with it). What one record's values take is bounded, and a failed record is not
       evaluated further. */
    if (r->err_code) return vnull();
    if (record_work(r) > SEL_MAX_RECORD_WORK) {
        fail(r, "OverMaxRecordSize", "Evaluating one record takes more work than one record may (%u Mi bytes and "
                                     "steps).", SEL_MAX_RECORD_WORK >> 20);
        return vnull();
    }
    r->steps++;
    if (request_work_over(r)) {
        fail(r, "MaxOperatorsExceeded", "The query takes more work than this object allows (%u Mi steps and %u a "
                                        "byte read): try reducing its complexity.", SEL_REQUEST_WORK_BASE >> 20,
             SEL_REQUEST_WORK_PER_BYTE);
        return vnull();
    }
    switch (n->op) {
    case N_LIT: return n->lit;
    case N_PATH: return eval_path(r, n);
    case N_NEG: {
        val z = vint(0), a = eval(r, n->a);
        return arith(r, '-', &z, &a);
    }
    case N_NOT: {
        val a = eval(r, n->a);
        return a.k == V_BOOL ? vbool(!a.i) : vnull();
    }
    case N_AND:
    case N_OR: { /* three-valued: FALSE AND NULL is FALSE, TRUE OR NULL is TRUE */
        val a = eval(r, n->a);
        bool decide = n->op == N_AND ? 0 : 1;
        if (a.k == V_BOOL && a.i == decide) return a;
        val b = eval(r, n->b);
        if (b.k == V_BOOL && b.i == decide) return b;
        if (a.k == V_BOOL && b.k == V_BOOL) return vbool(!decide);
        return vnull();
    }
    case N_CMP: {
        val a = eval(r, n->a), b = eval(r, n->b);
        if (a.k <= V_NULL || b.k <= V_NULL) return vnull();
        int c = compare(&a, &b);
        if (c == 2) return n->sub == C_NE ? vbool(true) : n->sub == C_EQ ? vbool(false) : vnull();
        switch (n->sub) {
        case C_EQ: return vbool(c == 0);
        case C_NE: return vbool(c != 0);
        case C_LT: return vbool(c < 0);
        case C_LE: return vbool(c <= 0);
        case C_GT: return vbool(c > 0);
        default: return vbool(c >= 0);
        }
    }
    case N_ARITH: {
        val a = eval(r, n->a), b = eval(r, n->b);
        return arith(r, n->sub, &a, &b);
    }
    case N_CONCAT: {
        val a = eval(r, n->a), b = eval(r, n->b);
        if (a.k <= V_NULL || b.k <= V_NULL) return vnull();
        bool ok;
        val x = text_of(r, &a, &ok), y = text_of(r, &b, &ok);
        if (x.n + y.n > SEL_MAX_RECORD) {
            fail(r, "OverMaxRecordSize", "A value is longer than %u bytes.", SEL_MAX_RECORD);
            return vnull();
        }
        char *o = aalloc(&r->rec, x.n + y.n + 1);
        memcpy(o, x.s, x.n);
        memcpy(o + x.n, y.s, y.n);
        return vstr(o, x.n + y.n);
    }
    case N_LIKE: {
        val a = eval(r, n->a), p = eval(r, n->b);
        if (a.k <= V_NULL || p.k <= V_NULL) return vnull();
        int esc = -1;
        if (n->c) {
            val e = eval(r, n->c);
            if (e.k != V_STR || e.n != 1) {
                fail(r, "EvaluatorInvalidArguments", "ESCAPE needs one character.");
                return vnull();
            }
            esc = (unsigned char)e.s[0];
        }
        bool ok;
        val s = text_of(r, &a, &ok), pt = text_of(r, &p, &ok);
        size_t used = record_work(r), left = used < SEL_MAX_RECORD_WORK ? SEL_MAX_RECORD_WORK - used : 0, budget = left;
        int m = like(s.s, s.n, pt.s, pt.n, esc, &left);
        r->steps += budget - left;
        if (m < 0) {
            fail(r, "OverMaxRecordSize", "Evaluating one record takes more work than one record may (%u Mi bytes and "
                                         "steps).", SEL_MAX_RECORD_WORK >> 20);
            return vnull();
        }
        return vbool((m == 1) != n->neg);
    }
    case N_BETWEEN: {
        val a = eval(r, n->a), lo = eval(r, n->b), hi = eval(r, n->c);
        if (a.k <= V_NULL || lo.k <= V_NULL || hi.k <= V_NULL) return vnull();
        int c1 = compare(&a, &lo), c2 = compare(&a, &hi);
        if (c1 == 2 || c2 == 2) return vnull();
        return vbool((c1 >= 0 && c2 <= 0) != n->neg);
    }
    case N_IN: {
        val a = eval(r, n->a);
        if (a.k <= V_NULL) return vnull();
        bool unknown = false;
        for (int i = 0; i < n->nargs; i++) {
            val b = eval(r, n->args[i]);
            if (b.k <= V_NULL) {
                unknown = true;
                continue;
            }
            if (compare(&a, &b) == 0) return vbool(!n->neg);
        }
        return unknown ? vnull() : vbool(n->neg);
    }
    case N_IS: {
        val a = eval(r, n->a);
        bool is = n->sub == 1 ? a.k == V_MISSING : a.k <= V_NULL; /* MISSING IS NULL too */
        return vbool(is != n->neg);
    }
    case N_CAST: {
        val a = eval(r, n->a);
        return cast(r, &a, n->sub);
    }
    case N_FUNC: return func(r, n);
    case N_AGG: { /* at the end: the accumulated answer */
        const agg *g = &r->aggs[n->slot];
        switch (g->fn) {
        case A_COUNT: return vint(g->count);
        case A_SUM: return !g->count ? vnull() : g->is_float ? vfloat(g->fsum) : vint(g->isum);
        case A_AVG: return !g->count ? vnull() : vfloat((g->is_float ? g->fsum : (double)g->isum) / (double)g->count);
        default: return !g->have ? vnull() : g->best_float ? vfloat(g->best) : vint(g->ibest);
        }
    }
    }
    return vnull();
}

/* one record's contribution to every aggregate below n */
static void accumulate(sel_run *r, const node *n)
{
    if (!n) return;
    if (n->op != N_AGG) {
        accumulate(r, n->a);
        accumulate(r, n->b);
        accumulate(r, n->c);
        for (int i = 0; i < n->nargs; i++) accumulate(r, n->args[i]);
        return;
    }
    agg *g = &r->aggs[n->slot];
    g->fn = n->sub;
    if (n->star) {
        g->count++;
        return;
    }
    val v = eval(r, n->a);
    if (v.k <= V_NULL) return;
    if (g->fn == A_COUNT) {
        g->count++;
        return;
    }
    int64_t i;
    double f;
    int k = numeric(&v, &i, &f);
    if (!k) {
        fail(r, "InvalidCast", "An aggregate met a value that is not a number.");
        return;
    }
    g->count++;
    if (g->fn == A_SUM || g->fn == A_AVG) {
        if (k == 1 && !g->is_float && !__builtin_add_overflow(g->isum, i, &g->isum)) return;
        if (!g->is_float) {
            g->fsum = (double)g->isum;
            g->is_float = true;
        }
        g->fsum += k == 1 ? (double)i : f;
        return;
    }
    double x = k == 1 ? (double)i : f, best = g->best_float ? g->best : (double)g->ibest;
    bool better = !g->have || (g->fn == A_MIN ? x < best : x > best);
    if (k == 1 && !g->best_float && g->have) better = g->fn == A_MIN ? i < g->ibest : i > g->ibest;
    if (!better) return;
    g->have = true;
    g->best_float = k == 2;
    g->ibest = i;
    g->best = x;
}

/* ---------------------------------------------------------------- output */

static void csv_field_out(sel_run *r, const char *s, size_t n)
{
    const sel_query *q = r->q;
    cos_buf *o = &r->records;
    bool quote = q->quote_always;
    if (!quote && q->oquote)
        for (size_t i = 0; i < n && !quote; i++)
            quote = s[i] == q->oquote || s[i] == q->oqescape || s[i] == '\n' || s[i] == '\r' ||
                    (q->ofdelim[0] && !strncmp(s + i, q->ofdelim, strlen(q->ofdelim))) ||
                    (q->ordelim[0] && !strncmp(s + i, q->ordelim, strlen(q->ordelim)));
    if (!quote || !q->oquote) {
        cos_buf_append(o, s, n);
        return;
    }
    cos_buf_putc(o, q->oquote);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == q->oquote) cos_buf_putc(o, q->oqescape);
        cos_buf_putc(o, s[i]);
    }
    cos_buf_putc(o, q->oquote);
}

static void csv_value_out(sel_run *r, const val *v)
{
    bool ok;
    if (v->k <= V_NULL) return;
    val t = text_of(r, v, &ok);
    csv_field_out(r, t.s, t.n);
}

static void json_value_out(cos_buf *o, sel_run *r, const val *v)
{
    bool ok;
    if (v->k == V_NULL || v->k == V_MISSING) cos_buf_puts(o, "null");
    else if (v->k == V_JSON || ((v->k == V_INT || v->k == V_FLOAT) && v->j)) json_write_node(o, v->j);
    else if (v->k == V_STR) json_write_string(o, v->s, v->n);
    else {
        val t = text_of(r, v, &ok);
        cos_buf_append(o, t.s, t.n);
    }
}

static void json_name_out(cos_buf *o, const item *it, int pos)
{
    char buf[24];
    if (it && it->name) {
        json_write_string(o, it->name, strlen(it->name));
    } else {
        snprintf(buf, sizeof buf, "_%d", pos);
        json_write_string(o, buf, strlen(buf));
    }
    cos_buf_putc(o, ':');
}

static void emit_row(sel_run *r)
{
    const sel_query *q = r->q;
    cos_buf *o = &r->records;
    size_t before = o->len;
    if (q->star && !q->json_in) {
        if (q->json_out) cos_buf_putc(o, '{');
        for (size_t i = 0; i < r->nfields; i++) {
            if (i) cos_buf_puts(o, q->json_out ? "," : q->ofdelim);
            if (q->json_out) {
                char buf[24];
                if (i < r->nh) json_write_string(o, r->hnames[i], r->hlens[i]);
                else snprintf(buf, sizeof buf, "_%zu", i + 1), json_write_string(o, buf, strlen(buf));
                cos_buf_putc(o, ':');
                json_write_string(o, r->fields[i].s, r->fields[i].n);
            } else {
                csv_field_out(r, r->fields[i].s, r->fields[i].n);
            }
        }
        if (q->json_out) cos_buf_putc(o, '}');
    } else if (q->star) { /* a JSON record */
        if (q->json_out) {
            json_write_node(o, r->json);
        } else if (r->json->t == '{' || r->json->t == '[') {
            for (const jnode *m = r->json->first; m; m = m->next) {
                if (m != r->json->first) cos_buf_puts(o, q->ofdelim);
                val v = from_json(m);
                csv_value_out(r, &v);
            }
        } else {
            val v = from_json(r->json);
            csv_value_out(r, &v);
        }
    } else {
        if (q->json_out) cos_buf_putc(o, '{');
        bool firstv = true;
        for (int i = 0; i < q->nitems; i++) {
            val v = eval(r, q->items[i].e);
            if (q->json_out) {
                if (v.k == V_MISSING) continue; /* a value that is not there is left out, not null */
                if (!firstv) cos_buf_putc(o, ',');
                json_name_out(o, &q->items[i], i + 1);
                json_value_out(o, r, &v);
            } else {
                if (i) cos_buf_puts(o, q->ofdelim);
                csv_value_out(r, &v);
            }
            firstv = false;
            if (o->len - before > SEL_MAX_RECORD) { /* _1, _1, ... a thousand times: a GiB for one row */
                fail(r, "OverMaxRecordSize", "A result record is longer than %u bytes.", SEL_MAX_RECORD);
                break;
            }
        }
        if (q->json_out) cos_buf_putc(o, '}');
    }
    if (r->err_code) { /* a row that failed is not half sent */
        o->len = before;
        return;
    }
    cos_buf_puts(o, q->ordelim);
    r->returned += o->len - before;
    r->emitted++;
}

/* ---------------------------------------------------------------- the event stream */

static void put32(cos_buf *b, uint32_t v)
{
    unsigned char x[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8), (unsigned char)v };
    cos_buf_append(b, x, 4);
}

void sel_message(cos_buf *out, const char *const *headers, size_t nheaders, const void *payload, size_t len)
{
    size_t hlen = 0;
    for (size_t i = 0; i < nheaders; i++) hlen += 1 + strlen(headers[2 * i]) + 3 + strlen(headers[2 * i + 1]);
    size_t start = out->len, total = 12 + hlen + len + 4;
    put32(out, (uint32_t)total);
    put32(out, (uint32_t)hlen);
    put32(out, (uint32_t)crc32(0, (const unsigned char *)out->data + start, 8));
    for (size_t i = 0; i < nheaders; i++) {
        size_t n = strlen(headers[2 * i]), v = strlen(headers[2 * i + 1]);
        cos_buf_putc(out, (char)n);
        cos_buf_append(out, headers[2 * i], n);
        cos_buf_putc(out, 7); /* a string */
        cos_buf_putc(out, (char)(v >> 8));
        cos_buf_putc(out, (char)v);
        cos_buf_append(out, headers[2 * i + 1], v);
    }
    if (len) cos_buf_append(out, payload, len);
    put32(out, (uint32_t)crc32(0, (const unsigned char *)out->data + start, (uInt)(out->len - start)));
}

static void event(cos_buf *out, const char *type, const char *content_type, const void *payload, size_t len)
{
    const char *h[6] = { ":event-type", type, ":message-type", "event", ":content-type", content_type };
    sel_message(out, h, content_type ? 3 : 2, payload, len);
}

static void flush_records(sel_run *r, cos_buf *out)
{
    if (!r->records.len) return;
    event(out, "Records", "application/octet-stream", r->records.data, r->records.len);
    cos_buf_reset(&r->records);
}

static void stats_event(sel_run *r, cos_buf *out, const char *type)
{
    char x[400];
    int n = snprintf(x, sizeof x,
                     "<%s><BytesScanned>%llu</BytesScanned><BytesProcessed>%llu</BytesProcessed>"
                     "<BytesReturned>%llu</BytesReturned></%s>",
                     type, (unsigned long long)r->scanned, (unsigned long long)r->processed,
                     (unsigned long long)r->returned, type);
    event(out, type, "text/xml", x, (size_t)n);
}

static void error_event(sel_run *r, cos_buf *out)
{
    flush_records(r, out); /* what was found before the error is the caller's */
    const char *h[6] = { ":error-code", r->err_code, ":error-message", r->err_msg, ":message-type", "error" };
    sel_message(out, h, 3, NULL, 0);
    r->failed = r->done = true;
}

/* ---------------------------------------------------------------- records */

static void add_field(sel_run *r, const char *s, size_t n)
{
    if (r->nfields == r->capfields) {
        size_t cap = r->capfields ? r->capfields * 2 : 16;
        field *g = realloc(r->fields, cap * sizeof *g);
        if (!g) abort();
        r->fields = g;
        r->capfields = cap;
    }
    r->fields[r->nfields++] = (field){ s, n };
}

static bool at(const char *p, const char *end, const char *d)
{
    size_t n = strlen(d);
    return (size_t)(end - p) >= n && !memcmp(p, d, n);
}

/* One CSV record from [p, end): 1 (its fields in r->fields, *used bytes), 0 (more input needed), -1 (error set). */
static int csv_record(sel_run *r, const char *p, const char *end, bool final, size_t *used, bool *skip)
{
    const sel_query *q = r->q;
    const char *s = p;
    r->nfields = 0;
    *skip = false;
    if (q->comment && p < end && *p == q->comment) { /* a comment line */
        while (p < end && !at(p, end, q->rdelim)) p++;
        if (p >= end && !final) return 0;
        *used = (size_t)(p - s) + (p < end ? strlen(q->rdelim) : 0);
        *skip = true;
        return 1;
    }
    if (at(p, end, q->rdelim) || (!strcmp(q->rdelim, "\n") && at(p, end, "\r\n"))) { /* an empty line: no record */
        *used = at(p, end, "\r\n") && strcmp(q->rdelim, "\r\n") ? 2 : strlen(q->rdelim);
        *skip = true;
        return 1;
    }
    cos_buf f = COS_BUF_INIT;
    for (;;) {
        cos_buf_reset(&f);
        bool quoted = false;
        if (q->quote && p < end && *p == q->quote) {
            quoted = true;
            p++;
            for (;;) {
                if (p >= end) {
                    cos_buf_free(&f);
                    if (!final) return 0;
                    fail(r, "CSVParsingError", "A quoted field is not closed at the end of the object.");
                    return -1;
                }
                if (q->qescape != q->quote && *p == q->qescape && p + 1 < end && p[1] == q->quote) {
                    cos_buf_putc(&f, q->quote);
                    p += 2;
                } else if (*p == q->quote) {
                    if (p + 1 >= end && !final) {
                        cos_buf_free(&f);
                        return 0; /* "" may go on in the next piece */
                    }
                    if (q->qescape == q->quote && p + 1 < end && p[1] == q->quote) {
                        cos_buf_putc(&f, q->quote);
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                } else {
                    if (!q->quote_rdelim && at(p, end, q->rdelim)) {
                        cos_buf_free(&f);
                        fail(r, "CSVParsingError", "A quoted field holds a record delimiter "
                                                   "(AllowQuotedRecordDelimiter is FALSE).");
                        return -1;
                    }
                    cos_buf_putc(&f, *p++);
                }
            }
        }
        const char *b = p;
        while (p < end && !at(p, end, q->fdelim) && !at(p, end, q->rdelim)) p++;
        if (p >= end && !final) {
            cos_buf_free(&f);
            return 0;
        }
        size_t n = (size_t)(p - b);
        bool last = p >= end || at(p, end, q->rdelim);
        if (last && !strcmp(q->rdelim, "\n") && n && b[n - 1] == '\r') n--; /* CRLF lines */
        if (quoted || f.len) {
            cos_buf_append(&f, b, n);
            add_field(r, adup(&r->rec, f.data ? f.data : "", f.len), f.len);
        } else {
            add_field(r, adup(&r->rec, b, n), n);
        }
        if (p >= end) break;
        if (at(p, end, q->rdelim)) {
            p += strlen(q->rdelim);
            break;
        }
        p += strlen(q->fdelim);
        if (r->nfields > 100000) {
            cos_buf_free(&f);
            fail(r, "CSVParsingError", "A record has too many fields.");
            return -1;
        }
    }
    cos_buf_free(&f);
    *used = (size_t)(p - s);
    return 1;
}

static int json_record(sel_run *r, const char *p, const char *end, bool final, size_t *used, bool *skip)
{
    jparse j = { p, end, &r->rec, 0, false };
    jws(&j);
    *skip = false;
    if (j.p >= end) { /* only white space left */
        *used = (size_t)(j.p - p);
        *skip = true;
        return 1;
    }
    jnode *v = aalloc(&r->rec, sizeof *v);
    memset(v, 0, sizeof *v);
    int rc = jvalue(&j, v);
    if (rc == 0 && !final) return 0;
    if (rc <= 0) {
        fail(r, "JSONParsingError", rc == 0 ? "The object ends inside a JSON record." : "A JSON record is malformed.");
        return -1;
    }
    if (r->q->json_lines) { /* LINES: nothing but white space after a record on its line */
        const char *e = j.p;
        while (e < end && (*e == ' ' || *e == '\t' || *e == '\r')) e++;
        if (e >= end && !final) return 0; /* what follows on its line is not known yet */
        if (e < end && *e != '\n') {
            fail(r, "JSONParsingError", "A JSON line holds more than one record.");
            return -1;
        }
    }
    r->json = v;
    *used = (size_t)(j.p - p);
    return 1;
}

/* one record through WHERE to the output (or the aggregates): true when the run stops here (an error) */
static bool process_record_once(sel_run *r, cos_buf *out)
{
    const sel_query *q = r->q;
    r->eval_base = r->rec.total;
    r->steps = 0;
    if (q->where) {
        val w = eval(r, q->where);
        if (r->err_code) {
            error_event(r, out);
            return true;
        }
        if (!truthy(&w)) return false;
    }
    if (q->naggs) {
        for (int i = 0; i < q->nitems; i++) accumulate(r, q->items[i].e);
    } else {
        emit_row(r);
    }
    if (r->err_code) {
        error_event(r, out);
        return true;
    }
    if (r->records.len >= 64 << 10) flush_records(r, out);
    if (!q->naggs && q->limit >= 0 && r->emitted >= q->limit) r->done = true;
    return false;
}

static bool process_record(sel_run *r, cos_buf *out)
{
    bool stop = process_record_once(r, out);
    r->work_before += record_work(r);
    return stop;
}

/* the records in pending: 0, or 1 when the run is done (LIMIT, error) */
static int drain(sel_run *r, bool final, cos_buf *out)
{
    const sel_query *q = r->q;
    while (!r->done && r->pending_off < r->pending.len) {
        const char *p = r->pending.data + r->pending_off, *end = r->pending.data + r->pending.len;
        size_t used = 0;
        bool skip = false;
        areset(&r->rec);
        r->json = NULL;
        int rc = q->json_in ? json_record(r, p, end, final, &used, &skip) : csv_record(r, p, end, final, &used, &skip);
        if (rc == 0) {
            if ((size_t)(end - p) > SEL_MAX_RECORD) {
                fail(r, "OverMaxRecordSize", "A record is longer than %u bytes.", SEL_MAX_RECORD);
                error_event(r, out);
            }
            break;
        }
        if (rc < 0) {
            error_event(r, out);
            break;
        }
        if (used > SEL_MAX_RECORD) {
            fail(r, "OverMaxRecordSize", "A record is longer than %u bytes.", SEL_MAX_RECORD);
            error_event(r, out);
            break;
        }
        r->pending_off += used;
        if (skip) continue;
        if (!q->json_in && !r->header_done) {
            r->header_done = true;
            if (q->header == 1) { /* USE: the names of the columns */
                r->nh = r->nfields;
                r->hnames = calloc(r->nh ? r->nh : 1, sizeof *r->hnames);
                r->hlens = calloc(r->nh ? r->nh : 1, sizeof *r->hlens);
                if (!r->hnames || !r->hlens) abort();
                for (size_t i = 0; i < r->nh; i++) {
                    r->hnames[i] = malloc(r->fields[i].n + 1);
                    if (!r->hnames[i]) abort();
                    memcpy(r->hnames[i], r->fields[i].s, r->fields[i].n + 1);
                    r->hlens[i] = r->fields[i].n;
                }
            }
            if (q->header) continue;
        }
        if (q->from_array && r->json && r->json->t == '[') { /* COSObject[*]: each element a record */
            const jnode *arr = r->json;
            for (const jnode *e = arr->first; e && !r->done; e = e->next) {
                r->json = e;
                if (process_record(r, out)) break;
            }
        } else if (process_record(r, out)) {
            break;
        }
    }
    /* what was read is dropped once it is half the buffer */
    if (r->pending_off && r->pending_off >= r->pending.len / 2) {
        memmove(r->pending.data, r->pending.data + r->pending_off, r->pending.len - r->pending_off);
        r->pending.len -= r->pending_off;
        r->pending_off = 0;
    }
    return r->done;
}

#define ZPIECE (64u << 10)

sel_run *sel_run_new(const sel_query *q)
{
    sel_run *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->q = q;
    r->aggs = calloc((size_t)(q->naggs ? q->naggs : 1), sizeof *r->aggs);
    if (!r->aggs) {
        free(r);
        return NULL;
    }
    if (q->gzip) {
        r->zbuf = malloc(ZPIECE);
        if (!r->zbuf || inflateInit2(&r->z, 16 + MAX_WBITS) != Z_OK) {
            free(r->zbuf);
            free(r->aggs);
            free(r);
            return NULL;
        }
        r->z_on = true;
    }
    if (q->limit == 0 && !q->naggs) r->done = true;
    return r;
}

static void progress(sel_run *r, cos_buf *out, bool force)
{
    if (!r->q->progress || (!force && r->scanned - r->progress_at < (1u << 20))) return;
    r->progress_at = r->scanned;
    stats_event(r, out, "Progress");
}

int sel_run_feed(sel_run *r, const void *data, size_t len, cos_buf *out)
{
    if (r->done) return 1;
    size_t had = out->len;
    r->scanned += len;
    if (!r->z_on) {
        cos_buf_append(&r->pending, data, len);
        r->processed += len;
        drain(r, false, out);
    } else {
        r->z.next_in = (Bytef *)data;
        r->z.avail_in = (uInt)len;
        bool full = false; /* the last inflate filled zbuf: more may be waiting inside zlib */
        while (!r->done && (r->z.avail_in || full)) {
            if (r->z_done) { /* another gzip member follows (concatenated files) */
                if (!r->z.avail_in || inflateReset(&r->z) != Z_OK) break;
                r->z_done = false;
            }
            r->z.next_out = r->zbuf;
            r->z.avail_out = ZPIECE;
            int zr = inflate(&r->z, Z_NO_FLUSH);
            size_t got = ZPIECE - r->z.avail_out;
            if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
                fail(r, "InvalidCompressionFormat", "The object is not valid GZIP data.");
                error_event(r, out);
                break;
            }
            full = r->z.avail_out == 0;
            if (zr == Z_STREAM_END) r->z_done = true;
            cos_buf_append(&r->pending, r->zbuf, got);
            r->processed += got;
            drain(r, false, out);
            if (zr == Z_BUF_ERROR && !got) break; /* nothing more without more input */
        }
    }
    if (!r->done) progress(r, out, false);
    /* nothing said for 4 MiB of object (a WHERE that matches nothing yet): COS's Cont event, so the client
       and anything between know the answer is alive */
    if (!r->done && out->len == had && r->processed - r->said_at >= (4u << 20)) event(out, "Cont", NULL, NULL, 0);
    if (out->len != had) r->said_at = r->processed;
    return r->done;
}

void sel_run_fail(sel_run *r, cos_buf *out, const char *code, const char *msg)
{
    if (r->failed) return;
    r->err_code = NULL;
    fail(r, code, "%s", msg);
    error_event(r, out);
}

void sel_run_end(sel_run *r, cos_buf *out)
{
    if (r->failed) return;
    if (!r->done && r->z_on && !r->z_done && r->scanned) {
        fail(r, "InvalidCompressionFormat", "The GZIP data ends before its end.");
        error_event(r, out);
        return;
    }
    if (!r->done && r->q->json_in) cos_buf_putc(&r->pending, '\n'); /* a number last in the object ends there */
    if (!r->done) drain(r, true, out);
    if (r->failed) return;
    if (r->q->naggs) { /* the one row of an aggregate query */
        areset(&r->rec);
        r->eval_base = 0;
        r->steps = 0;
        r->nfields = 0;
        r->json = NULL;
        emit_row(r);
        if (r->err_code) {
            error_event(r, out);
            return;
        }
    }
    flush_records(r, out);
    progress(r, out, true);
    stats_event(r, out, "Stats");
    event(out, "End", NULL, NULL, 0);
    r->done = true;
}

void sel_run_free(sel_run *r)
{
    if (!r) return;
    if (r->z_on) inflateEnd(&r->z);
    free(r->zbuf);
    afree(&r->rec);
    cos_buf_free(&r->pending);
    cos_buf_free(&r->records);
    for (size_t i = 0; i < r->nh; i++) free(r->hnames[i]);
    free(r->hnames);
    free(r->hlens);
    free(r->fields);
    free(r->aggs);
    free(r);
}

bool sel_query_gzip(const sel_query *q) { return q->gzip; }

/* ---------------------------------------------------------------- compiling a request */

/* A delimiter as the document gives it: 1-7 bytes (empty: the default);
 * COS's examples write "\n" as the two characters backslash and n, so those
 * escapes are read too. 0, or -1 if too long. */
static int delim(const char *in, const char *dflt, char out[8])
{
    const char *s = in && *in ? in : dflt;
    size_t k = 0;
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (c == '\\' && (p[1] == 'n' || p[1] == 'r' || p[1] == 't')) {
            p++;
            c = *p == 'n' ? '\n' : *p == 'r' ? '\r' : '\t';
        } else if (c == '\\' && p[1] == '\\') {
            p++;
        }
        if (k >= 7) return -1;
        out[k++] = c;
    }
    out[k] = 0;
    return 0;
}

static int one_char(const char *in, char dflt, char *out)
{
    char d[8];
    if (!in) {
        *out = dflt;
        return 0;
    }
    if (delim(in, "", d) != 0 || strlen(d) > 1) return -1;
    *out = d[0];
    return 0;
}

static bool is_word(const char *v, const char *w) { return v && !strcasecmp(v, w); }

static int compile_query(sel_query *q, const char *sql, size_t len, const char **code, char *msg, size_t msglen)
{
    if (len > SEL_MAX_EXPRESSION) { /* before, 20 MB of SQL took 40 s and 760 MB of one thread */
        *code = "ExpressionTooLong";
        snprintf(msg, msglen, "The SQL expression is longer than %u bytes.", SEL_MAX_EXPRESSION);
        return -1;
    }
    q->sql = malloc(len + 1);
    if (!q->sql) abort();
    memcpy(q->sql, sql, len);
    q->sql[len] = 0;
    return parse_sql(q, q->sql, len, code, msg, msglen);
}

int sel_compile_sql(const char *sql, size_t len, sel_query **out, const char **code, char *msg, size_t msglen)
{
    sel_query *q = calloc(1, sizeof *q);
    if (!q) abort();
    strcpy(q->rdelim, "\n");
    strcpy(q->fdelim, ",");
    q->quote = q->qescape = '"';
    strcpy(q->ordelim, "\n");
    strcpy(q->ofdelim, ",");
    q->oquote = q->oqescape = '"';
    *out = NULL;
    if (compile_query(q, sql, len, code, msg, msglen) != 0) {
        sel_query_free(q);
        return -1;
    }
    *out = q;
    return 0;
}

#define REFUSE(c, ...)                        \
    do {                                      \
        *code = c;                            \
        snprintf(msg, msglen, __VA_ARGS__);   \
        goto bad;                             \
    } while (0)

int sel_compile(const char *xml, size_t len, sel_query **out, const char **code, char *msg, size_t msglen)
{
    sel_request_doc *d = NULL;
    sel_query *q = NULL;
    *out = NULL;
    if (!len || cos_xml_parse(&request_s, xml, len, (void **)&d, NULL) != 0) {
        *code = "MalformedXML";
        snprintf(msg, msglen, "The SelectRequest document is not well-formed XML.");
        return -1;
    }
    if (!d->expression || !*d->expression) REFUSE("MissingRequiredParameter", "The SelectRequest has no Expression.");
    if (!d->expression_type || strcmp(d->expression_type, "SQL") != 0)
        REFUSE("InvalidExpressionType", "The ExpressionType must be SQL.");
    if (!d->input || !d->output) REFUSE("MissingRequiredParameter", "The SelectRequest needs InputSerialization and "
                                                                     "OutputSerialization.");
    const sel_fmt_doc *in = d->input, *o = d->output;
    if (in->parquet) REFUSE("NotImplemented", "cos-server does not implement Parquet input; CSV and JSON only.");
    if (!!in->csv + !!in->json != 1)
        REFUSE("InvalidDataSource", "InputSerialization needs exactly one of CSV and JSON.");
    if (!!o->csv + !!o->json != 1)
        REFUSE("InvalidRequestParameter", "OutputSerialization needs exactly one of CSV and JSON.");
    const char *ct = in->compression_type ? in->compression_type : "NONE";
    if (is_word(ct, "BZIP2")) REFUSE("NotImplemented", "cos-server does not implement BZIP2 input; NONE and GZIP only.");
    if (!is_word(ct, "NONE") && !is_word(ct, "GZIP"))
        REFUSE("InvalidCompressionFormat", "CompressionType must be NONE, GZIP or BZIP2.");
    q = calloc(1, sizeof *q);
    if (!q) abort();
    q->gzip = is_word(ct, "GZIP");
    q->json_in = in->json != NULL;
    if (in->json) {
        const char *t = in->json->type;
        if (!is_word(t, "DOCUMENT") && !is_word(t, "LINES"))
            REFUSE("InvalidJsonType", "The JSON input Type must be DOCUMENT or LINES.");
        q->json_lines = is_word(t, "LINES");
    } else {
        const sel_csv_doc *c = in->csv;
        const char *h = c->file_header_info ? c->file_header_info : "NONE";
        q->header = is_word(h, "NONE") ? 0 : is_word(h, "USE") ? 1 : is_word(h, "IGNORE") ? 2 : -1;
        if (q->header < 0) REFUSE("InvalidFileHeaderInfo", "FileHeaderInfo must be NONE, USE or IGNORE.");
        if (delim(c->record_delimiter, "\n", q->rdelim) != 0 || !q->rdelim[0] ||
            delim(c->field_delimiter, ",", q->fdelim) != 0 || !q->fdelim[0] || !strcmp(q->rdelim, q->fdelim))
            REFUSE("InvalidRequestParameter", "The CSV input's delimiters must be 1 to 7 characters, and differ.");
        if (one_char(c->quote_character, '"', &q->quote) != 0 ||
            one_char(c->quote_escape_character, q->quote, &q->qescape) != 0 || one_char(c->comments, 0, &q->comment) != 0)
            REFUSE("InvalidRequestParameter", "QuoteCharacter, QuoteEscapeCharacter and Comments are one character each.");
        if (!q->qescape) q->qescape = q->quote;
        const char *a = c->allow_quoted_record_delimiter;
        if (a && !is_word(a, "TRUE") && !is_word(a, "FALSE"))
            REFUSE("InvalidRequestParameter", "AllowQuotedRecordDelimiter must be TRUE or FALSE.");
        q->quote_rdelim = is_word(a, "TRUE");
    }
    q->json_out = o->json != NULL;
    if (o->json) {
        if (delim(o->json->record_delimiter, "\n", q->ordelim) != 0)
            REFUSE("InvalidRequestParameter", "The JSON output's RecordDelimiter is 1 to 7 characters.");
    } else {
        const sel_csv_doc *c = o->csv;
        const char *qf = c->quote_fields ? c->quote_fields : "ASNEEDED";
        if (!is_word(qf, "ASNEEDED") && !is_word(qf, "ALWAYS"))
            REFUSE("InvalidQuoteFields", "QuoteFields must be ASNEEDED or ALWAYS.");
        q->quote_always = is_word(qf, "ALWAYS");
        if (delim(c->record_delimiter, "\n", q->ordelim) != 0 || delim(c->field_delimiter, ",", q->ofdelim) != 0 ||
            one_char(c->quote_character, '"', &q->oquote) != 0 ||
            one_char(c->quote_escape_character, q->oquote, &q->oqescape) != 0)
            REFUSE("InvalidRequestParameter", "The CSV output's delimiters are 1 to 7 characters, its quotes one.");
        if (!q->oqescape) q->oqescape = q->oquote;
    }
    if (d->progress && d->progress->enabled) {
        if (!is_word(d->progress->enabled, "TRUE") && !is_word(d->progress->enabled, "FALSE"))
            REFUSE("InvalidRequestParameter", "RequestProgress Enabled must be TRUE or FALSE.");
        q->progress = is_word(d->progress->enabled, "TRUE");
    }
    if (compile_query(q, d->expression, strlen(d->expression), code, msg, msglen) != 0) goto bad;
    cos_xml_free(&request_s, d);
    *out = q;
    return 0;
bad:
    sel_query_free(q);
    cos_xml_free(&request_s, d);
    return -1;
}

/*
 * json.h — a small JSON reader and writer helpers, internal to cos-c.
 * Used for STS responses (client), policies and /sts (server), and test
 * vectors. Not a general-purpose library: documents are small.
 */
#ifndef COS_JSON_H
#define COS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "util.h"

typedef enum cos_json_type {
    COS_JSON_NULL, COS_JSON_BOOL, COS_JSON_NUMBER, COS_JSON_STRING, COS_JSON_ARRAY, COS_JSON_OBJECT
} cos_json_type;

typedef struct cos_json cos_json;
struct cos_json {
    cos_json_type type;
    char *key;            /* member name when inside an object, else NULL */
    char *str;            /* STRING: decoded UTF-8; NUMBER: the literal text */
    double num;           /* NUMBER */
    bool boolean;         /* BOOL */
    cos_json *items;      /* ARRAY / OBJECT members, in document order */
    size_t count;
};

/* Parse `len` bytes. Returns NULL on a syntax error (message in *errmsg if given, caller frees). */
cos_json *cos_json_parse(const char *text, size_t len, char **errmsg);
void cos_json_free(cos_json *j);

const cos_json *cos_json_get(const cos_json *obj, const char *key);      /* NULL if absent */
const char *cos_json_get_str(const cos_json *obj, const char *key);     /* NULL unless a string */
bool cos_json_get_i64(const cos_json *obj, const char *key, int64_t *out); /* number or numeric string */
const cos_json *cos_json_at(const cos_json *arr, size_t i);

/* Append s as a JSON string literal, with quotes. */
int cos_json_put_str(cos_buf *b, const char *s);

#endif

/*
 * iter.c — a listing iterator: getBucket page after page (NextMarker, or the
 * last key when the server gives none), one object at a time. In the S3
 * dialect the pages are ListObjectsV2's (list-type=2): the caller's marker
 * becomes start-after, and each page names the next by its continuation
 * token.
 */
#include "client_internal.h"

#include <stdlib.h>
#include <string.h>

struct cos_object_iter {
    cos_client *c;
    char *bucket, *region, *prefix, *delimiter, *encoding_type;
    char *marker;
    char *token;      /* S3: the continuation token of the next page */
    int page_size;
    cos_result *page;
    size_t pos;
    bool last_page;
    int empty_pages;  /* truncated pages in a row that listed nothing */
};

/* A store that keeps answering "truncated" with nothing new would make an
 * iteration endless: keys come in binary order, so a next marker that does
 * not come after the one asked with (in V2: a page whose first key does not
 * come after the last key seen), or this many empty pages in a row, ends it
 * with an error. */
#define ITER_EMPTY_PAGES_LIMIT 100

int cos_object_iter_new(cos_object_iter **out, cos_client *c, const cos_request *caller_req, cos_error **err)
{
    cos_err_reset(err);
    if (!out) return cos_err_invalid(err, "out", "NULL out");
    *out = NULL;
    if (!c) return cos_err_invalid(err, "client", "NULL client");
    cos_request rq;
    if (COS_OPTIONS_IN(&rq, caller_req, "cos_request", "COS_REQUEST_INIT", cos_request_sizes, err)) return COS_ERR_INVALID_ARG;
    const cos_request *req = &rq;
    if (cos_check_bucket(req->bucket, c->cfg.signer == COS_SIGNER_SIGV4, err)) return COS_ERR_INVALID_ARG;
    cos_object_iter *it = calloc(1, sizeof *it);
    if (!it) return cos_err_set(err, COS_ERR_NOMEM, "out of memory");
    it->c = c;
    it->bucket = cos_strdup(req->bucket);
    it->region = cos_strdup(req->region);
    it->prefix = cos_strdup(req->prefix);
    it->delimiter = cos_strdup(req->delimiter);
    it->encoding_type = cos_strdup(req->encoding_type);
    it->marker = cos_strdup(req->marker);
    it->page_size = req->max_keys;
    *out = it;
    return 0;
}

int cos_object_iter_next(cos_object_iter *it, const cos_object_summary **obj, cos_error **err)
{
    cos_err_reset(err);
    if (obj) *obj = NULL;
    /* a program that goes on after a failed cos_object_iter_new has no iterator */
    if (!it || !obj) return cos_err_invalid(err, it ? "obj" : "it", "no %s", it ? "place for the object" : "iterator");
    for (;;) {
        cos_list_objects_result *l = it->page ? it->page->output.list_objects : NULL;
        if (l && it->pos < l->contents_count) {
            *obj = &l->contents[it->pos++];
            return 1;
        }
        if (it->last_page) return 0;
        bool v2 = it->c->cfg.dialect == COS_DIALECT_S3;
        if (l) { /* the next page starts after this one */
            const char *next = l->next_marker ? l->next_marker
                               : l->contents_count ? l->contents[l->contents_count - 1].key : NULL;
            free(it->marker);
            it->marker = cos_strdup(next);
            free(it->token);
            it->token = v2 ? cos_strdup(l->next_continuation_token) : NULL;
        }
        cos_result_free(it->page);
        it->page = NULL;
        it->pos = 0;
        cos_request r = COS_REQUEST_INIT;
        r.bucket = it->bucket;
        r.region = it->region;
        r.prefix = it->prefix;
        r.delimiter = it->delimiter;
        r.encoding_type = it->encoding_type;
        r.marker = it->marker;
        r.max_keys = it->page_size;
        cos_kv v2q[2] = { { "list-type", "2" } };
        if (v2) { /* a token when the store gave one, else after the last key seen (or the caller's marker) */
            r.marker = NULL;
            v2q[1] = it->token ? (cos_kv){ "continuation-token", it->token } : (cos_kv){ "start-after", it->marker };
            r.query = v2q;
            r.query_count = it->token || !cos_str_empty(it->marker) ? 2 : 1;
        }
        int rc = cos_get_bucket(it->c, &r, &it->page, err);
        if (rc) return rc;
        l = it->page->output.list_objects;
        it->last_page = !l || !l->is_truncated ||
                        (!l->next_marker && !l->next_continuation_token && !l->contents_count);
        if (v2 && !it->last_page && it->token && l->next_continuation_token &&
            strcmp(it->token, l->next_continuation_token) == 0) { /* the same page forever */
            cos_result_free(it->page);
            it->page = NULL;
            it->last_page = true; /* a caller that goes on gets the end, not the loop */
            return cos_err_set(err, COS_ERR_PARSE, "ListObjectsV2: the store gave back the continuation token it "
                                                   "was given; the listing would never end");
        }
        if (!it->last_page) {
            const char *next = l->next_marker ? l->next_marker
                               : l->contents_count ? l->contents[l->contents_count - 1].key : NULL;
            /* V2's tokens are opaque, but its keys come in order too: a page
               whose first key is not past the last one seen went back (a
               cycle of tokens A, B, A, ...) */
            if (v2) next = l->contents_count ? l->contents[0].key : NULL;
            bool stuck = next && !cos_str_empty(it->marker) && strcmp(next, it->marker) <= 0;
            bool empty = !l->contents_count && !l->common_prefixes_count;
            it->empty_pages = empty ? it->empty_pages + 1 : 0;
            if (stuck || it->empty_pages >= ITER_EMPTY_PAGES_LIMIT) {
                cos_error *e = NULL;
                if (stuck && v2)
                    cos_err_set(&e, COS_ERR_PARSE, "ListObjectsV2: the page after \"%s\" starts at \"%s\"; "
                                "the listing would never end", it->marker, next);
                else if (stuck)
                    cos_err_set(&e, COS_ERR_PARSE, "ListObjects: the next marker \"%s\" does not come after \"%s\"; "
                                "the listing would never end", next, it->marker);
                else
                    cos_err_set(&e, COS_ERR_PARSE, "%s: %d truncated pages in a row listed nothing; "
                                "the listing would never end", v2 ? "ListObjectsV2" : "ListObjects", ITER_EMPTY_PAGES_LIMIT);
                cos_result_free(it->page);
                it->page = NULL;
                it->last_page = true; /* a caller that goes on gets the end, not the loop */
                if (err) {
                    cos_error_free(*err);
                    *err = e;
                } else {
                    cos_error_free(e);
                }
                return COS_ERR_PARSE;
            }
        }
    }
}

void cos_object_iter_free(cos_object_iter *it)
{
    if (!it) return;
    free(it->bucket);
    free(it->region);
    free(it->prefix);
    free(it->delimiter);
    free(it->encoding_type);
    free(it->marker);
    free(it->token);
    cos_result_free(it->page);
    free(it);
}

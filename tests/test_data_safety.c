/* test_data_safety.c — cos-server acknowledges nothing it would lose, and
 * keeps nothing it no longer names, when requests on one upload or key race
 * one another and when it is killed among them:
 *   - CompleteMultipartUpload racing AbortMultipartUpload, a second Complete
 *     with another list of parts, an UploadPart of a listed part number, or
 *     two UploadParts of one number racing: one of them wins, whatever was
 *     answered 200 is what is stored (bytes and ETag), nothing answered 200
 *     is silently dropped;
 *   - Complete's list refused when out of order, repeated, naming a stale
 *     ETag or a missing part, and the upload still completable after;
 *   - a Complete across a change of the bucket's versioning;
 *   - a copy onto itself (metadata Replaced or Copy; plain and multipart
 *     objects; versioned buckets keep the old version whole), a copy racing
 *     its source's DELETE;
 *   - GET/HEAD ?partNumber while the key is rewritten (slow_open widens the
 *     window): a part, the object or 404, never a 500;
 *   - appends racing DELETE, DeleteMultiple racing PUTs, DELETE ?versionId
 *     of versions racing one another (the current one's deletion making the
 *     next current);
 *   - commits failing (fail_commit) under appends, Complete, copy and
 *     DeleteMultiple: an error leaves the previous object whole;
 *   - S3's DeleteBucket refused as not empty keeps the unfinished uploads;
 *   - a restart with uploads in progress: listed, their parts listed,
 *     completed;
 *   - kill -9 among Completes, copies, appends, batch and versioned deletes:
 *     after a restart every acknowledged write reads back whole and listings
 *     agree with GETs;
 * and after each, the data directory holds exactly the files the metadata
 * names (the audit below reads meta.db itself): none missing, none leaked,
 * also not after a crash left files and blobs no row names. */
#define _GNU_SOURCE
#include "testlib.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#define B "safety-" TEST_APPID
#define BV "safetyv-" TEST_APPID
#define MIB (1024 * 1024)

static test_server g_s;
static const char *const SERVER_ARGS[] = { "--faults", NULL };
static cos_client *g_c;

/* ---------------------------------------------------------------- requests */

typedef struct answer {
    int status;
    char *body;
    size_t len;
    char etag[80];
    char vid[80];
} answer;

static void answer_free(answer *a)
{
    free(a->body);
    a->body = NULL;
}

static answer send_on(cos_client *c, const char *bucket, const char *method, const char *key, const char *action,
                      const cos_kv *q, size_t nq, const cos_kv *h, size_t nh, const void *data, size_t len)
{
    cos_request r = test_generic_request(method, bucket, key, action, q, nq, h, nh, NULL);
    r.body.data = data;
    r.body.size = len;
    cos_result *res = NULL;
    cos_error *err = NULL;
    answer a = { 0 };
    if (cos_send_request(c, &r, &res, &err) == 0) {
        a.status = res->http_status;
        a.len = res->body ? res->body_size : 0;
        a.body = malloc(a.len + 1);
        if (a.len) memcpy(a.body, res->body, a.len);
        a.body[a.len] = '\0';
        snprintf(a.etag, sizeof a.etag, "%s", res->etag ? res->etag : "");
        snprintf(a.vid, sizeof a.vid, "%s", res->version_id ? res->version_id : "");
    } else {
        a.status = err ? err->http_status : 0;
        a.body = cos_strdup(err && err->code ? err->code : "");
    }
    cos_result_free(res);
    cos_error_free(err);
    return a;
}

static answer send_b(const char *bucket, const char *method, const char *key, const char *action, const cos_kv *q,
                     size_t nq, const cos_kv *h, size_t nh, const void *data, size_t len)
{
    return send_on(g_c, bucket, method, key, action, q, nq, h, nh, data, len);
}

/* A client that never retries: every answer is the server's first. */
static cos_client *plain_client(const test_server *s)
{
    cos_config cfg;
    test_config(&cfg, s);
    cfg.max_retries = -1;
    cos_client *c = NULL;
    cos_error *err = NULL;
    if (cos_client_new(&c, &cfg, &err) != 0) {
        test_fail(__FILE__, __LINE__, "client: %s", err ? cos_error_message(err) : "?");
        cos_error_free(err);
        exit(1);
    }
    return c;
}

static int put_obj(const char *bucket, const char *key, const void *data, size_t len, char etag[80])
{
    answer a = send_b(bucket, "PUT", key, NULL, NULL, 0, NULL, 0, data, len);
    if (etag) snprintf(etag, 80, "%s", a.etag);
    answer_free(&a);
    return a.status;
}

static unsigned char *bytes(size_t len, uint32_t seed)
{
    unsigned char *b = malloc(len ? len : 1);
    test_lcg_fill(b, len, seed);
    return b;
}

static void hex_md5(const void *p, size_t n, char out[33])
{
    unsigned char d[16];
    cos_md5_digest(p, n, d);
    cos_hex_encode(d, 16, out);
}

/* The ETag a Complete of these parts makes: MD5 of the parts' MD5s, "-N". */
static void multipart_etag(const unsigned char *const *parts, const size_t *lens, int n, char out[80])
{
    unsigned char cat[16 * 16];
    for (int i = 0; i < n; i++) cos_md5_digest(parts[i], lens[i], cat + 16 * i);
    char hex[33];
    hex_md5(cat, (size_t)n * 16, hex);
    snprintf(out, 80, "\"%s-%d\"", hex, n);
}

/* Fails unless GET of key answers exactly data (and etag, when given). */
#define CHECK_OBJECT(bucket, key, data, len, etag) check_object(bucket, key, data, len, etag, __FILE__, __LINE__)
static void check_object(const char *bucket, const char *key, const void *data, size_t len, const char *etag,
                         const char *file, int line)
{
    answer a = send_b(bucket, "GET", key, NULL, NULL, 0, NULL, 0, NULL, 0);
    if (a.status != 200 || a.len != len || memcmp(a.body, data, len) != 0)
        test_fail(file, line, "GET %s: %d, %zu bytes, not the %zu acknowledged", key, a.status, a.len, len);
    else if (etag && strcmp(a.etag, etag) != 0)
        test_fail(file, line, "GET %s: ETag %s, not the acknowledged %s", key, a.etag, etag);
    answer_free(&a);
}

static int get_status(const char *bucket, const char *key)
{
    answer a = send_b(bucket, "GET", key, NULL, NULL, 0, NULL, 0, NULL, 0);
    answer_free(&a);
    return a.status;
}

static void between(const char *s, const char *open, const char *close, char *out, size_t cap)
{
    const char *p = s ? strstr(s, open) : NULL;
    const char *e = p ? strstr(p + strlen(open), close) : NULL;
    if (!p || !e) {
        out[0] = '\0';
        return;
    }
    p += strlen(open);
    snprintf(out, cap, "%.*s", (int)(e - p), p);
}

static void init_upload_on(cos_client *c, const char *bucket, const char *key, char id[128])
{
    answer a = send_on(c, bucket, "POST", key, "uploads", NULL, 0, NULL, 0, NULL, 0);
    between(a.body, "<UploadId>", "</UploadId>", id, 128);
    if (a.status != 200 || !id[0]) test_fail(__FILE__, __LINE__, "Initiate %s: %d", key, a.status);
    answer_free(&a);
}

static void init_upload(const char *key, char id[128]) { init_upload_on(g_c, B, key, id); }

static int upload_part_on(cos_client *c, const char *bucket, const char *key, const char *id, int n, const void *data,
                          size_t len, char etag[80])
{
    char num[16];
    snprintf(num, sizeof num, "%d", n);
    cos_kv q[2] = { { "partNumber", num }, { "uploadId", id } };
    answer a = send_on(c, bucket, "PUT", key, NULL, q, 2, NULL, 0, data, len);
    if (etag) snprintf(etag, 80, "%s", a.etag);
    answer_free(&a);
    return a.status;
}

static int upload_part(const char *key, const char *id, int n, const void *data, size_t len, char etag[80])
{
    return upload_part_on(g_c, B, key, id, n, data, len, etag);
}

static char *complete_doc(const int *nums, char (*etags)[80], int n)
{
    cos_buf b = COS_BUF_INIT;
    cos_buf_puts(&b, "<CompleteMultipartUpload>");
    for (int i = 0; i < n; i++)
        cos_buf_printf(&b, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", nums[i], etags[i]);
    cos_buf_puts(&b, "</CompleteMultipartUpload>");
    return cos_buf_detach(&b);
}

static answer complete_on(cos_client *c, const char *bucket, const char *key, const char *id, const int *nums,
                          char (*etags)[80], int n)
{
    char *doc = complete_doc(nums, etags, n);
    cos_kv q = { "uploadId", id };
    answer a = send_on(c, bucket, "POST", key, NULL, &q, 1, NULL, 0, doc, strlen(doc));
    free(doc);
    return a;
}

static answer complete(const char *key, const char *id, const int *nums, char (*etags)[80], int n)
{
    return complete_on(g_c, B, key, id, nums, etags, n);
}

static int abort_upload(const char *key, const char *id)
{
    cos_kv q = { "uploadId", id };
    answer a = send_b(B, "DELETE", key, NULL, &q, 1, NULL, 0, NULL, 0);
    answer_free(&a);
    return a.status;
}

/* Calls let go at once, each on its own thread with its own client. */
typedef struct racer {
    void (*fn)(struct racer *);
    cos_client *c;
    pthread_barrier_t *gate;
    int status;
    char etag[80];
    const void *arg;
    int n;
} racer;

static void *racer_main(void *p)
{
    racer *r = p;
    pthread_barrier_wait(r->gate);
    r->fn(r);
    return NULL;
}

static void race_n(racer *rs, int n)
{
    pthread_barrier_t gate;
    pthread_barrier_init(&gate, NULL, (unsigned)n);
    pthread_t t[16];
    for (int i = 0; i < n; i++) {
        rs[i].gate = &gate;
        rs[i].c = plain_client(&g_s);
    }
    for (int i = 0; i < n; i++) pthread_create(&t[i], NULL, racer_main, &rs[i]);
    for (int i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
        cos_client_free(rs[i].c);
    }
    pthread_barrier_destroy(&gate);
}

static void race(racer *a, racer *b)
{
    racer rs[2] = { *a, *b };
    race_n(rs, 2);
    *a = rs[0];
    *b = rs[1];
}

/* ---------------------------------------------------------------- the audit
 * Read with the server stopped: every data id a row names (objects,
 * versions, parts, and the segments of multipart manifests) must be a file
 * under data/ or a row of blobs; every file and blob must be so named. */

typedef struct id_set { char **v; size_t n, cap; } id_set;

static void set_add(id_set *s, const char *id)
{
    if (!id || !*id) return;
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
    }
    s->v[s->n++] = cos_strdup(id);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static void set_sort(id_set *s)
{
    if (s->n) qsort(s->v, s->n, sizeof *s->v, cmp_str);
}
static bool set_has(const id_set *s, const char *id)
{
    return s->n && bsearch(&id, s->v, s->n, sizeof *s->v, cmp_str) != NULL;
}
static void set_free(id_set *s)
{
    for (size_t i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

typedef struct audit { size_t files, blobs, named, missing, leaked; char first[160]; } audit;

static void sql_ids(sqlite3 *db, const char *sql, id_set *out)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        test_fail(__FILE__, __LINE__, "audit: %s: %s", sql, sqlite3_errmsg(db));
        return;
    }
    while (sqlite3_step(st) == SQLITE_ROW) set_add(out, (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
}

static audit audit_root(const char *root)
{
    audit a = { 0 };
    id_set named = { 0 }, files = { 0 }, blobs = { 0 };
    char *path = cos_sprintf("%s/meta.db", root);
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        test_fail(__FILE__, __LINE__, "audit: cannot open %s", path);
        free(path);
        sqlite3_close(db);
        return a;
    }
    free(path);
    sql_ids(db, "SELECT data_id FROM objects UNION ALL SELECT data_id FROM versions WHERE marker = 0"
                " UNION ALL SELECT data_id FROM parts", &named);
    sql_ids(db, "SELECT id FROM blobs", &blobs);
    sqlite3_close(db);
    size_t direct = named.n;
    for (size_t i = 0; i < direct; i++) { /* a manifest names its segments */
        if (named.v[i][0] != 'M') continue;
        char *mp = cos_sprintf("%s/data/%.2s/%s", root, named.v[i], named.v[i]);
        FILE *f = fopen(mp, "r");
        free(mp);
        char seg[64];
        unsigned long long size;
        while (f && fscanf(f, "%63s %llu", seg, &size) == 2) set_add(&named, seg);
        if (f) fclose(f);
    }
    char *dp = cos_sprintf("%s/data", root);
    DIR *d = opendir(dp);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.') continue;
        char *sub = cos_sprintf("%s/%s", dp, e->d_name);
        DIR *sd = opendir(sub);
        for (struct dirent *f; sd && (f = readdir(sd)) != NULL;)
            if (f->d_name[0] != '.') set_add(&files, f->d_name);
        if (sd) closedir(sd);
        free(sub);
    }
    if (d) closedir(d);
    free(dp);
    set_sort(&named);
    set_sort(&files);
    set_sort(&blobs);
    a.files = files.n;
    a.blobs = blobs.n;
    a.named = named.n;
    for (size_t i = 0; i < named.n; i++) {
        bool there = named.v[i][0] == 'I' ? set_has(&blobs, named.v[i]) : set_has(&files, named.v[i]);
        if (!there && !a.missing++) snprintf(a.first, sizeof a.first, "missing %s", named.v[i]);
    }
    for (size_t i = 0; i < files.n; i++)
        if (!set_has(&named, files.v[i]) && !a.leaked++) snprintf(a.first, sizeof a.first, "leaked file %s", files.v[i]);
    for (size_t i = 0; i < blobs.n; i++)
        if (!set_has(&named, blobs.v[i]) && !a.leaked++) snprintf(a.first, sizeof a.first, "leaked blob %s", blobs.v[i]);
    set_free(&named);
    set_free(&files);
    set_free(&blobs);
    return a;
}

static void restart(bool crash)
{
    cos_client_free(g_c);
    if (crash) test_server_kill(&g_s);
    else test_server_stop(&g_s, true);
    CHECK(test_server_start(&g_s, SERVER_ARGS) == 0);
    g_c = plain_client(&g_s);
}

/* Stop the server (kill -9 when crash), audit its data directory, start it again. */
#define AUDIT(when, crash) audit_now(when, crash, __FILE__, __LINE__)
static audit audit_now(const char *when, bool crash, const char *file, int line)
{
    cos_client_free(g_c);
    g_c = NULL;
    if (crash) test_server_kill(&g_s);
    else test_server_stop(&g_s, true);
    audit a = audit_root(g_s.root);
    if (a.missing || a.leaked)
        test_fail(file, line, "%s: %zu data ids named, %zu files, %zu blobs: %zu missing, %zu leaked (%s)", when, a.named,
                  a.files, a.blobs, a.missing, a.leaked, a.first);
    CHECK(test_server_start(&g_s, SERVER_ARGS) == 0);
    g_c = plain_client(&g_s);
    return a;
}

/* ---------------------------------------------------------------- multipart races */

typedef struct mp_case {
    const char *key;
    char id[128];
    unsigned char *p[3];
    size_t len[3];
    char etag[3][80];
} mp_case;

/* An upload of key with parts 1 (1 MiB) and 2 (small, kept inline); when three, 1 MiB, 1 MiB and a small third. */
static void mp_setup(mp_case *m, const char *key, uint32_t seed, bool three)
{
    memset(m, 0, sizeof *m);
    m->key = key;
    init_upload(key, m->id);
    size_t lens[3] = { MIB, three ? MIB : 3000, 3000 };
    for (int i = 0; i < (three ? 3 : 2); i++) {
        m->len[i] = lens[i];
        m->p[i] = bytes(lens[i], seed * 7 + (uint32_t)i);
        CHECK_INT(upload_part(key, m->id, i + 1, m->p[i], m->len[i], m->etag[i]), 200);
    }
}

static void mp_free(mp_case *m)
{
    for (int i = 0; i < 3; i++) free(m->p[i]);
}

/* The object the listed parts (indexes into m) make, and its ETag. */
static unsigned char *mp_join(const mp_case *m, const int *idx, int n, size_t *len, char etag[80])
{
    const unsigned char *ps[3];
    size_t ls[3];
    *len = 0;
    for (int i = 0; i < n; i++) *len += m->len[idx[i]];
    unsigned char *out = malloc(*len), *w = out;
    for (int i = 0; i < n; i++) {
        memcpy(w, m->p[idx[i]], m->len[idx[i]]);
        w += m->len[idx[i]];
        ps[i] = m->p[idx[i]];
        ls[i] = m->len[idx[i]];
    }
    multipart_etag(ps, ls, n, etag);
    return out;
}

static mp_case *g_mp;

static void do_complete_all(racer *r)
{
    int nums[3] = { 1, 2, 3 };
    answer a = complete_on(r->c, B, g_mp->key, g_mp->id, nums, g_mp->etag, r->n);
    r->status = a.status;
    snprintf(r->etag, sizeof r->etag, "%s", a.etag);
    answer_free(&a);
}

static void do_abort(racer *r)
{
    cos_kv q = { "uploadId", g_mp->id };
    answer a = send_on(r->c, B, "DELETE", g_mp->key, NULL, &q, 1, NULL, 0, NULL, 0);
    r->status = a.status;
    answer_free(&a);
}

/* Complete and Abort of one upload at once: when Complete is answered 200 the object is there,
 * whole; otherwise it is NoSuchUpload and there is no object. Either way the upload is gone. */
static void test_complete_races_abort(void)
{
    int completed = 0;
    for (int round = 0; round < 6; round++) {
        char key[32];
        snprintf(key, sizeof key, "ca-%d", round);
        mp_case m;
        mp_setup(&m, key, (uint32_t)round, false);
        g_mp = &m;
        racer c = { do_complete_all, .n = 2 }, a = { do_abort };
        race(&c, &a);
        int idx[2] = { 0, 1 };
        size_t len;
        char etag[80];
        unsigned char *want = mp_join(&m, idx, 2, &len, etag);
        if (c.status == 200) {
            completed++;
            CHECK_STR(c.etag, etag);
            CHECK_OBJECT(B, key, want, len, etag);
        } else {
            CHECK_INT(c.status, 404);
            CHECK_INT(get_status(B, key), 404);
        }
        CHECK(a.status == 204 || a.status == 404);
        cos_kv q = { "uploadId", m.id };
        answer l = send_b(B, "GET", key, NULL, &q, 1, NULL, 0, NULL, 0);
        CHECK_INT(l.status, 404); /* ListParts: the upload is gone */
        answer_free(&l);
        free(want);
        mp_free(&m);
    }
    printf("  %d of 6 Completes won against Abort\n", completed);
    AUDIT("Complete racing Abort", false);
}

/* Two Completes of one upload with different lists: one wins; the object is its list's. */
static void test_two_completes(void)
{
    int firsts = 0;
    for (int round = 0; round < 4; round++) {
        char key[32];
        snprintf(key, sizeof key, "cc-%d", round);
        mp_case m;
        mp_setup(&m, key, 100 + (uint32_t)round, true);
        g_mp = &m;
        /* one lists parts 1, 2 and 3, the other 1 and 2 (part 3 left out: it is to be removed) */
        racer a = { do_complete_all, .n = 3 }, b = { do_complete_all, .n = 2 };
        race(&a, &b);
        if ((a.status == 200) == (b.status == 200))
            test_fail(__FILE__, __LINE__, "two Completes of one upload answered %d and %d", a.status, b.status);
        racer *won = a.status == 200 ? &a : &b;
        firsts += won == &a;
        int idx[3] = { 0, 1, 2 };
        size_t len;
        char etag[80];
        unsigned char *want = mp_join(&m, idx, won->n, &len, etag);
        CHECK_STR(won->etag, etag);
        CHECK_OBJECT(B, key, want, len, etag);
        CHECK_INT((won == &a ? &b : &a)->status, 404);
        free(want);
        mp_free(&m);
    }
    printf("  the three-part list won %d of 4 times\n", firsts);
    AUDIT("two Completes", false);
}

static void do_complete_s3(racer *r)
{
    cos_client *s3 = test_s3_client(g_s.endpoint, "ap-guangzhou", -1);
    int nums[3] = { 1, 2, 3 };
    answer a = complete_on(s3, B, g_mp->key, g_mp->id, nums, g_mp->etag, r->n);
    r->status = a.status;
    snprintf(r->etag, sizeof r->etag, "%s", a.etag);
    answer_free(&a);
    cos_client_free(s3);
}

/* S3's Complete sent twice at once with one list (a client's retry while the first still runs):
 * both answered 200 with the object's ETag, as S3 answers a repeated Complete; before, the one that
 * came second was 404 NoSuchUpload although its object was there. */
static void test_repeated_complete_at_once(void)
{
    for (int round = 0; round < 4; round++) {
        char key[32];
        snprintf(key, sizeof key, "rc-%d", round);
        mp_case m;
        mp_setup(&m, key, 2300 + (uint32_t)round, false);
        g_mp = &m;
        racer a = { do_complete_s3, .n = 2 }, b = { do_complete_s3, .n = 2 };
        race(&a, &b);
        int idx[2] = { 0, 1 };
        size_t len;
        char etag[80];
        unsigned char *want = mp_join(&m, idx, 2, &len, etag);
        if (a.status != 200 || b.status != 200)
            test_fail(__FILE__, __LINE__, "round %d: one Complete sent twice answered %d and %d", round, a.status, b.status);
        CHECK_OBJECT(B, key, want, len, etag);
        free(want);
        mp_free(&m);
    }
}

static unsigned char *g_part2;
static size_t g_part2_len;

static void do_part2(racer *r)
{
    r->status = upload_part_on(r->c, B, g_mp->key, g_mp->id, 2, g_part2, g_part2_len, r->etag);
}

/* UploadPart of a part number Complete lists, racing it: a part answered 200 is never dropped
 * silently by a Complete answered 200 with the other body; whichever wins, the object is the
 * body its ETag names. */
static void test_part_races_complete(void)
{
    int complete_won = 0;
    for (int round = 0; round < 6; round++) {
        char key[32];
        snprintf(key, sizeof key, "pc-%d", round);
        mp_case m;
        mp_setup(&m, key, 200 + (uint32_t)round, false);
        g_mp = &m;
        g_part2_len = 5000;
        g_part2 = bytes(g_part2_len, 999 + (uint32_t)round);
        racer c = { do_complete_all, .n = 2 }, p = { do_part2 };
        race(&c, &p);
        int idx[2] = { 0, 1 };
        size_t len;
        char etag[80];
        unsigned char *want = mp_join(&m, idx, 2, &len, etag);
        if (c.status == 200 && p.status == 200)
            test_fail(__FILE__, __LINE__, "Complete and an UploadPart of a part it lists both answered 200: "
                                          "one of them is not what is stored");
        if (c.status == 200) {
            complete_won++;
            CHECK_INT(p.status, 404);
            CHECK_OBJECT(B, key, want, len, etag);
        } else {
            /* the part replaced the one listed: Complete is refused and the upload stays, with the new part */
            CHECK_INT(c.status, 400);
            CHECK_INT(p.status, 200);
            CHECK_INT(get_status(B, key), 404);
            char etags[2][80];
            snprintf(etags[0], 80, "%s", m.etag[0]);
            snprintf(etags[1], 80, "%s", p.etag);
            int nums[2] = { 1, 2 };
            answer a = complete(key, m.id, nums, etags, 2);
            CHECK_INT(a.status, 200);
            answer_free(&a);
            free(m.p[1]);
            m.p[1] = g_part2;
            m.len[1] = g_part2_len;
            g_part2 = NULL;
            free(want);
            want = mp_join(&m, idx, 2, &len, etag);
            CHECK_OBJECT(B, key, want, len, etag);
        }
        free(g_part2);
        g_part2 = NULL;
        free(want);
        mp_free(&m);
    }
    printf("  Complete won %d of 6 races against UploadPart\n", complete_won);
    AUDIT("UploadPart racing Complete", false);
}

/* The first n bytes of s, in a buffer good until the next call but one. */
static const char *first_bytes(const char *s, size_t n)
{
    static char buf[2][80];
    static int which;
    which ^= 1;
    snprintf(buf[which], sizeof buf[which], "%.*s", (int)n, s);
    return buf[which];
}

/* UploadPart racing Abort of its upload: the part is answered 200 (then Abort took it) or
 * NoSuchUpload; either way the upload and every part's data are gone. */
static void test_part_races_abort(void)
{
    int parts_first = 0;
    for (int round = 0; round < 6; round++) {
        char key[32];
        snprintf(key, sizeof key, "pa-%d", round);
        mp_case m;
        mp_setup(&m, key, 2500 + (uint32_t)round, false);
        g_mp = &m;
        g_part2_len = round % 2 ? MIB : 4000; /* a file or a blob */
        g_part2 = bytes(g_part2_len, 2600 + (uint32_t)round);
        racer p = { do_part2 }, a = { do_abort };
        race(&p, &a);
        CHECK(p.status == 200 || p.status == 404);
        CHECK(a.status == 204);
        parts_first += p.status == 200;
        cos_kv q = { "uploadId", m.id };
        answer l = send_b(B, "GET", key, NULL, &q, 1, NULL, 0, NULL, 0);
        CHECK_INT(l.status, 404);
        answer_free(&l);
        free(g_part2);
        g_part2 = NULL;
        mp_free(&m);
    }
    printf("  %d of 6 UploadParts came before the Abort\n", parts_first);
    AUDIT("UploadPart racing Abort", false);
}

static void do_part1_body(racer *r)
{
    r->status = upload_part_on(r->c, B, g_mp->key, g_mp->id, 1, r->arg, (size_t)r->n, r->etag);
}

/* Two UploadParts of one number at once: both may be answered 200, but ListParts then names one
 * of their ETags, Complete with that ETag stores that body, and the other ETag is refused. */
static void test_same_part_racing(void)
{
    for (int round = 0; round < 4; round++) {
        char key[32], id[128];
        snprintf(key, sizeof key, "sp-%d", round);
        init_upload(key, id);
        mp_case m = { .key = key };
        snprintf(m.id, sizeof m.id, "%s", id);
        g_mp = &m;
        size_t la = MIB + 17, lb = round % 2 ? 4000 : MIB; /* a file against a file, or against a blob */
        unsigned char *pa = bytes(la, 300 + (uint32_t)round), *pb = bytes(lb, 400 + (uint32_t)round);
        racer a = { do_part1_body, .arg = pa, .n = (int)la }, b = { do_part1_body, .arg = pb, .n = (int)lb };
        race(&a, &b);
        CHECK_INT(a.status, 200);
        CHECK_INT(b.status, 200);
        cos_kv q = { "uploadId", id };
        answer l = send_b(B, "GET", key, NULL, &q, 1, NULL, 0, NULL, 0);
        char listed[80];
        between(l.body, "<ETag>", "</ETag>", listed, sizeof listed);
        answer_free(&l);
        /* the hex digits alone: the listing quotes them as &quot; */
        bool is_a = strlen(a.etag) > 33 && strstr(listed, first_bytes(a.etag + 1, 32)) != NULL;
        bool is_b = strlen(b.etag) > 33 && strstr(listed, first_bytes(b.etag + 1, 32)) != NULL;
        if (is_a == is_b) {
            test_fail(__FILE__, __LINE__, "ListParts names %s, not one of %s and %s", listed, a.etag, b.etag);
        } else {
            char etags[1][80];
            int nums[1] = { 1 };
            snprintf(etags[0], 80, "%s", is_a ? b.etag : a.etag);
            answer x = complete(key, id, nums, etags, 1);
            CHECK_INT(x.status, 400); /* the body that lost */
            answer_free(&x);
            snprintf(etags[0], 80, "%s", is_a ? a.etag : b.etag);
            x = complete(key, id, nums, etags, 1);
            CHECK_INT(x.status, 200);
            answer_free(&x);
            const unsigned char *p = is_a ? pa : pb;
            size_t n = is_a ? la : lb;
            char etag[80];
            multipart_etag(&p, &n, 1, etag);
            CHECK_OBJECT(B, key, p, n, etag);
        }
        free(pa);
        free(pb);
    }
    AUDIT("UploadParts of one number racing", false);
}

/* Complete's list is checked before anything is stored: out of order, repeated, a stale ETag, a
 * part never uploaded, a small part that is not the last; the upload stays and completes after. */
static void test_complete_lists_checked(void)
{
    mp_case m;
    mp_setup(&m, "lists", 500, true);
    char stale[80];
    snprintf(stale, sizeof stale, "%s", m.etag[0]);
    free(m.p[0]); /* part 1 uploaded again with other bytes: its first ETag is stale */
    m.p[0] = bytes(MIB, 501);
    CHECK_INT(upload_part("lists", m.id, 1, m.p[0], MIB, m.etag[0]), 200);
    CHECK(strcmp(stale, m.etag[0]) != 0);
    char small4[80]; /* a fourth part, never listed by the Complete that succeeds: removed by it */
    CHECK_INT(upload_part("lists", m.id, 4, "tail", 4, small4), 200);
    struct { int nums[3]; int which[3]; int n; const char *why; int status; } bad[] = {
        { { 2, 1, 3 }, { 1, 0, 2 }, 3, "out of order", 400 },
        { { 1, 1, 3 }, { 0, 0, 2 }, 3, "part 1 twice", 400 },
        { { 1, 2, 5 }, { 0, 1, 2 }, 3, "part 5 never uploaded", 400 },
        { { 1, 3, 4 }, { 0, 2, 3 }, 3, "small part 3 not last", 400 },
        { { 1, 2, 3 }, { -1, 1, 2 }, 3, "stale ETag of part 1", 400 },
        { { 1, 2, 3 }, { 0, 2, 1 }, 3, "ETags of parts 2 and 3 swapped", 400 },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char etags[3][80];
        for (int k = 0; k < bad[i].n; k++)
            snprintf(etags[k], 80, "%s", bad[i].which[k] < 0 ? stale : bad[i].which[k] == 3 ? small4 : m.etag[bad[i].which[k]]);
        answer a = complete("lists", m.id, bad[i].nums, etags, bad[i].n);
        if (a.status != bad[i].status) test_fail(__FILE__, __LINE__, "Complete with %s answered %d", bad[i].why, a.status);
        answer_free(&a);
        CHECK_INT(get_status(B, "lists"), 404);
    }
    int nums[3] = { 1, 2, 3 };
    answer a = complete("lists", m.id, nums, m.etag, 3);
    CHECK_INT(a.status, 200);
    answer_free(&a);
    int idx[3] = { 0, 1, 2 };
    size_t len;
    char etag[80];
    unsigned char *want = mp_join(&m, idx, 3, &len, etag);
    CHECK_OBJECT(B, "lists", want, len, etag);
    free(want);
    mp_free(&m);
    AUDIT("Complete's list refused", false);
}

/* ---------------------------------------------------------------- Complete across a versioning change */

static void set_versioning(const char *bucket, const char *status)
{
    char *doc = cos_sprintf("<VersioningConfiguration><Status>%s</Status></VersioningConfiguration>", status);
    answer a = send_b(bucket, "PUT", NULL, "versioning", NULL, 0, NULL, 0, doc, strlen(doc));
    CHECK_INT(a.status, 200);
    answer_free(&a);
    free(doc);
}

#define BW "safetyw-" TEST_APPID

/* An upload started while versioning was Enabled and completed once it is Suspended becomes the
 * null version, and the Enabled one started while Suspended a version of its own: the versions
 * written before stay whole either way. */
static void test_complete_across_versioning_change(void)
{
    test_put_bucket(g_c, BW);
    set_versioning(BW, "Enabled");
    unsigned char *v1 = bytes(200 * 1024, 1900);
    answer a = send_b(BW, "PUT", "vc", NULL, NULL, 0, NULL, 0, v1, 200 * 1024);
    CHECK_INT(a.status, 200);
    char vid1[80];
    snprintf(vid1, sizeof vid1, "%s", a.vid);
    answer_free(&a);
    unsigned char *parts[2] = { bytes(MIB, 1901), bytes(MIB, 1902) };
    char etags[2][80], id[128];
    int nums[1] = { 1 };
    for (int round = 0; round < 2; round++) {
        init_upload_on(g_c, BW, "vc", id);
        CHECK_INT(upload_part_on(g_c, BW, "vc", id, 1, parts[round], MIB, etags[0]), 200);
        set_versioning(BW, round ? "Enabled" : "Suspended");
        answer c = complete_on(g_c, BW, "vc", id, nums, etags, 1);
        CHECK_INT(c.status, 200);
        if (round == 0 && c.vid[0] && strcmp(c.vid, "null") != 0)
            test_fail(__FILE__, __LINE__, "a Complete while Suspended made version %s, not the null one", c.vid);
        if (round == 1 && (!c.vid[0] || !strcmp(c.vid, "null")))
            test_fail(__FILE__, __LINE__, "a Complete while Enabled made no version of its own (%s)", c.vid);
        answer_free(&c);
        CHECK_OBJECT(BW, "vc", parts[round], MIB, NULL);
        cos_kv q = { "versionId", vid1 };
        answer g = send_b(BW, "GET", "vc", NULL, &q, 1, NULL, 0, NULL, 0);
        if (g.status != 200 || g.len != 200 * 1024 || memcmp(g.body, v1, g.len) != 0)
            test_fail(__FILE__, __LINE__, "round %d: the version written before answers %d, %zu bytes", round, g.status, g.len);
        answer_free(&g);
    }
    cos_kv nq = { "versionId", "null" }; /* the Suspended Complete, kept once a version replaced it */
    answer g = send_b(BW, "GET", "vc", NULL, &nq, 1, NULL, 0, NULL, 0);
    if (g.status != 200 || g.len != MIB || memcmp(g.body, parts[0], MIB) != 0)
        test_fail(__FILE__, __LINE__, "the null version answers %d, %zu bytes", g.status, g.len);
    answer_free(&g);
    free(v1);
    free(parts[0]);
    free(parts[1]);
    AUDIT("Completes across versioning changes", false);
}

/* ---------------------------------------------------------------- copies onto themselves */


static answer self_copy(const char *bucket, const char *key, const char *directive)
{
    char *src = cos_sprintf("%s.cos.ap-guangzhou.myqcloud.com/%s", bucket, key);
    cos_kv h[3] = { { "x-cos-copy-source", src }, { "x-cos-metadata-directive", directive },
                    { "x-cos-meta-round", "two" } };
    answer a = send_b(bucket, "PUT", key, NULL, NULL, 0, h, 3, NULL, 0);
    free(src);
    return a;
}

/* A copy of an object onto itself keeps its bytes and ETag, whatever it is answered: a plain file,
 * a small body kept inline, a multipart object (a manifest of parts); with metadata Replaced and
 * Copy; and in a versioned bucket the version it replaces stays readable whole. */
static void test_copy_onto_itself(void)
{
    const char *buckets[2] = { B, BV };
    for (int v = 0; v < 2; v++) {
        const char *bk = buckets[v];
        size_t sizes[2] = { 300 * 1024, 900 };
        for (int s = 0; s < 3; s++) {
            for (int d = 0; d < 2; d++) {
                char key[32], etag[80], vid[80] = "";
                snprintf(key, sizeof key, "self-%d-%d", s, d);
                size_t len;
                unsigned char *data;
                if (s < 2) {
                    len = sizes[s];
                    data = bytes(len, 600 + (uint32_t)(s * 2 + d));
                    answer p = send_b(bk, "PUT", key, NULL, NULL, 0, NULL, 0, data, len);
                    CHECK_INT(p.status, 200);
                    snprintf(etag, sizeof etag, "%s", p.etag);
                    snprintf(vid, sizeof vid, "%s", p.vid);
                    answer_free(&p);
                } else { /* multipart */
                    char id[128], pe[2][80];
                    init_upload_on(g_c, bk, key, id);
                    unsigned char *p1 = bytes(MIB, 610), *p2 = bytes(2000, 611);
                    CHECK_INT(upload_part_on(g_c, bk, key, id, 1, p1, MIB, pe[0]), 200);
                    CHECK_INT(upload_part_on(g_c, bk, key, id, 2, p2, 2000, pe[1]), 200);
                    int nums[2] = { 1, 2 };
                    answer c = complete_on(g_c, bk, key, id, nums, pe, 2);
                    CHECK_INT(c.status, 200);
                    snprintf(etag, sizeof etag, "%s", c.etag);
                    snprintf(vid, sizeof vid, "%s", c.vid);
                    answer_free(&c);
                    len = MIB + 2000;
                    data = malloc(len);
                    memcpy(data, p1, MIB);
                    memcpy(data + MIB, p2, 2000);
                    free(p1);
                    free(p2);
                }
                answer a = self_copy(bk, key, d ? "Copy" : "Replaced");
                if (a.status != 200 && a.status != 400)
                    test_fail(__FILE__, __LINE__, "copy of %s onto itself answered %d", key, a.status);
                CHECK_OBJECT(bk, key, data, len, etag);
                if (v && vid[0] && a.status == 200) { /* the replaced version, whole */
                    cos_kv q = { "versionId", vid };
                    answer g = send_b(bk, "GET", key, NULL, &q, 1, NULL, 0, NULL, 0);
                    if (g.status != 200 || g.len != len || memcmp(g.body, data, len) != 0)
                        test_fail(__FILE__, __LINE__, "%s: the version a copy onto itself replaced answered %d, %zu bytes",
                                  key, g.status, g.len);
                    answer_free(&g);
                }
                answer_free(&a);
                free(data);
            }
        }
    }
    AUDIT("copies onto themselves", false);
}

static void do_delete_key(racer *r);

static void do_copy_src(racer *r)
{
    char *cs = cos_sprintf("%s.cos.ap-guangzhou.myqcloud.com/%s", B, (const char *)r->arg);
    cos_kv h = { "x-cos-copy-source", cs };
    char dst[64];
    snprintf(dst, sizeof dst, "%s-copy", (const char *)r->arg);
    answer a = send_on(r->c, B, "PUT", dst, NULL, NULL, 0, &h, 1, NULL, 0);
    r->status = a.status;
    answer_free(&a);
    free(cs);
}

/* A copy of a large object (one file, or a multipart object's parts) racing the DELETE of its
 * source: the copy is whole, with the source's ETag, or NoSuchKey and nothing. */
static void test_copy_races_source_delete(void)
{
    int copied = 0;
    for (int round = 0; round < 6; round++) {
        char key[32], dst[64], etag[80];
        snprintf(key, sizeof key, "cs-%d", round);
        snprintf(dst, sizeof dst, "%s-copy", key);
        size_t len;
        unsigned char *data;
        if (round % 2 == 0) {
            len = 3 * MIB;
            data = bytes(len, 2000 + (uint32_t)round);
            CHECK_INT(put_obj(B, key, data, len, etag), 200);
        } else {
            mp_case m;
            mp_setup(&m, key, 2000 + (uint32_t)round, true);
            int nums[3] = { 1, 2, 3 }, idx[3] = { 0, 1, 2 };
            answer c = complete(key, m.id, nums, m.etag, 3);
            CHECK_INT(c.status, 200);
            answer_free(&c);
            data = mp_join(&m, idx, 3, &len, etag);
            mp_free(&m);
        }
        racer cp = { do_copy_src, .arg = key }, del = { do_delete_key, .arg = key };
        race(&cp, &del);
        CHECK_INT(del.status, 204);
        if (cp.status == 200) {
            copied++;
            CHECK_OBJECT(B, dst, data, len, etag);
        } else {
            CHECK_INT(cp.status, 404);
            CHECK_INT(get_status(B, dst), 404);
        }
        free(data);
    }
    printf("  %d of 6 copies won against the DELETE of their source\n", copied);
    AUDIT("copies racing their source's DELETE", false);
}

/* ---------------------------------------------------------------- reads of parts during rewrites */

static atomic_int g_rewriting;

static void *part_reader(void *p)
{
    int *bad = p;
    cos_client *c = plain_client(&g_s);
    while (atomic_load(&g_rewriting)) {
        const char *how[2] = { "GET", "HEAD" };
        for (int h = 0; h < 2; h++) {
            cos_kv q = { "partNumber", "1" };
            answer a = send_on(c, B, how[h], "pr", NULL, &q, 1, NULL, 0, NULL, 0);
            /* part 1 of a multipart object, or all of a single one (S3: partNumber=1), or no key */
            if (a.status != 200 && a.status != 206 && a.status != 404) {
                if (!*bad) fprintf(stderr, "  %s ?partNumber=1 during a rewrite answered %d %s\n", how[h], a.status,
                                   a.body ? a.body : "");
                (*bad)++;
            }
            answer_free(&a);
        }
    }
    cos_client_free(c);
    return NULL;
}

/* The server again, with the LD_PRELOAD module lib (NULL: none) and these environment variables
 * (name, value, ..., NULL) set for it alone. false when lib is not given (the module not built). */
static bool restart_preloaded(const char *lib, const char *const *env)
{
    cos_client_free(g_c);
    test_server_stop(&g_s, true);
    const char *was = getenv("ASAN_OPTIONS");
    char *old_asan = was ? cos_strdup(was) : NULL;
    char *asan = cos_sprintf("%s%sverify_asan_link_order=0", was ? was : "", was ? ":" : "");
    if (lib) { /* the server inherits them */
        setenv("LD_PRELOAD", lib, 1);
        setenv("ASAN_OPTIONS", asan, 1);
        for (size_t i = 0; env && env[i]; i += 2) setenv(env[i], env[i + 1], 1);
    }
    CHECK(test_server_start(&g_s, SERVER_ARGS) == 0);
    unsetenv("LD_PRELOAD");
    for (size_t i = 0; lib && env && env[i]; i += 2) unsetenv(env[i]);
    if (old_asan) setenv("ASAN_OPTIONS", old_asan, 1);
    else unsetenv("ASAN_OPTIONS");
    free(old_asan);
    free(asan);
    g_c = plain_client(&g_s);
    return lib != NULL;
}

/* The server again, each 4th open of its data for reading made 30 ms slow (tests/preload/slow_open.c:
 * the window between reading a row and opening its data, microseconds wide, made wide) or not. */
static void restart_with_slow_opens(bool slow)
{
    char *under = cos_sprintf("%s/data/", g_s.root);
    const char *env[] = { "COS_TEST_SLOW_OPEN_UNDER", under, "COS_TEST_SLOW_OPEN_MS", "30", NULL };
    if (!restart_preloaded(slow ? getenv("COS_SLOW_OPEN_LIB") : NULL, env) && slow)
        printf("  (COS_SLOW_OPEN_LIB not set: the race runs at its natural width)\n");
    free(under);
}

/* GET and HEAD ?partNumber of a key rewritten over and over (multipart objects, single ones,
 * deletes): an answer is a part, the object, or 404, never a 500 for a manifest its row named a
 * moment before (before: "the object's parts cannot be read"). */
static void test_part_reads_during_rewrites(void)
{
    restart_with_slow_opens(true);
    unsigned char *p2 = bytes(3000, 2201);
    int bad = 0;
    atomic_store(&g_rewriting, 1);
    pthread_t t[2];
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, part_reader, &bad);
    /* uploads of one small part each, made ready first, then completed back to back: each Complete
       replaces the multipart object before it and removes its manifest */
    enum { UPLOADS = 24 };
    char ids[UPLOADS][128], etags[UPLOADS][1][80];
    for (int u = 0; u < UPLOADS; u++) {
        init_upload("pr", ids[u]);
        CHECK_INT(upload_part("pr", ids[u], 1, p2, 3000, etags[u][0]), 200);
    }
    for (int u = 0; u < UPLOADS; u++) {
        int nums[1] = { 1 };
        answer c = complete("pr", ids[u], nums, etags[u], 1);
        CHECK_INT(c.status, 200);
        answer_free(&c);
        if (u % 8 == 7) { /* and now and then a single object, and none */
            CHECK_INT(put_obj(B, "pr", "small", 5, NULL), 200);
            answer d = send_b(B, "DELETE", "pr", NULL, NULL, 0, NULL, 0, NULL, 0);
            answer_free(&d);
        }
    }
    atomic_store(&g_rewriting, 0);
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    if (bad) test_fail(__FILE__, __LINE__, "%d reads of part 1 answered an error during rewrites", bad);
    free(p2);
    restart_with_slow_opens(false);
}

/* ---------------------------------------------------------------- appends and batch deletes */

static void do_append_more(racer *r)
{
    cos_kv q = { "position", "4" };
    answer a = send_on(r->c, B, "POST", (const char *)r->arg, "append", &q, 1, NULL, 0, "more", 4);
    r->status = a.status;
    answer_free(&a);
}

static void do_delete_key(racer *r)
{
    answer a = send_on(r->c, B, "DELETE", (const char *)r->arg, NULL, NULL, 0, NULL, 0, NULL, 0);
    r->status = a.status;
    answer_free(&a);
}

/* An append racing the DELETE of its object never brings the deleted object back, and an
 * acknowledged append is never lost to a DELETE answered before it. */
static void test_append_races_delete(void)
{
    for (int round = 0; round < 8; round++) {
        char key[32];
        snprintf(key, sizeof key, "ap-%d", round);
        cos_kv q = { "position", "0" };
        answer a0 = send_b(B, "POST", key, "append", &q, 1, NULL, 0, "base", 4);
        CHECK_INT(a0.status, 200);
        answer_free(&a0);
        racer ap = { do_append_more, .arg = key }, del = { do_delete_key, .arg = key };
        race(&ap, &del);
        CHECK_INT(del.status, 204);
        answer g = send_b(B, "GET", key, NULL, NULL, 0, NULL, 0, NULL, 0);
        /* the DELETE came last (the object is gone), or the append was refused after the DELETE */
        if (g.status != 404)
            test_fail(__FILE__, __LINE__, "after a DELETE answered 204 the appended object answers %d \"%.*s\" "
                                          "(append answered %d)", g.status, (int)g.len, g.body, ap.status);
        CHECK(ap.status == 200 || ap.status == 409);
        answer_free(&g);
    }
    AUDIT("appends racing DELETE", false);
}

#define NKEYS 24

static void do_delete_multiple(racer *r)
{
    cos_buf b = COS_BUF_INIT;
    cos_buf_puts(&b, "<Delete><Quiet>false</Quiet>");
    for (int i = 0; i < NKEYS; i++) cos_buf_printf(&b, "<Object><Key>dm-%02d</Key></Object>", i);
    cos_buf_puts(&b, "</Delete>");
    answer a = send_on(r->c, B, "POST", NULL, "delete", NULL, 0, NULL, 0, b.data, b.len);
    r->status = a.status;
    r->n = 0;
    for (const char *p = a.body; p && (p = strstr(p, "<Deleted>")); p++) r->n++;
    answer_free(&a);
    cos_buf_free(&b);
}

static void do_put_keys(racer *r)
{
    r->n = 0;
    for (int i = 0; i < NKEYS; i++) {
        char key[16], body[32];
        snprintf(key, sizeof key, "dm-%02d", i);
        snprintf(body, sizeof body, "new body %02d", i);
        answer a = send_on(r->c, B, "PUT", key, NULL, NULL, 0, NULL, 0, body, strlen(body));
        r->n += a.status == 200;
        answer_free(&a);
    }
}

/* DeleteMultiple racing PUTs of its keys: each key ends deleted, or with a whole body (the old
 * or the new); every key is listed as deleted; a listing agrees with GETs. */
static void test_delete_multiple_races_puts(void)
{
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < NKEYS; i++) {
            char key[16], body[300];
            snprintf(key, sizeof key, "dm-%02d", i);
            memset(body, 'a' + i, sizeof body);
            CHECK_INT(put_obj(B, key, body, i % 2 ? sizeof body : 20, NULL), 200);
        }
        racer d = { do_delete_multiple }, p = { do_put_keys };
        race(&d, &p);
        CHECK_INT(d.status, 200);
        CHECK_INT(d.n, NKEYS);
        CHECK_INT(p.n, NKEYS);
        cos_kv q = { "prefix", "dm-" };
        answer l = send_b(B, "GET", NULL, NULL, &q, 1, NULL, 0, NULL, 0);
        for (int i = 0; i < NKEYS; i++) {
            char key[16], tag[32], want[32];
            snprintf(key, sizeof key, "dm-%02d", i);
            snprintf(tag, sizeof tag, "<Key>%s</Key>", key);
            snprintf(want, sizeof want, "new body %02d", i);
            answer g = send_b(B, "GET", key, NULL, NULL, 0, NULL, 0, NULL, 0);
            bool listed = l.body && strstr(l.body, tag);
            if (g.status == 200) {
                bool old = g.len == (i % 2 ? 300u : 20u) && g.body[0] == 'a' + i;
                if (!old && !(g.len == strlen(want) && !memcmp(g.body, want, g.len)))
                    test_fail(__FILE__, __LINE__, "%s: %zu bytes that no PUT wrote", key, g.len);
            } else {
                CHECK_INT(g.status, 404);
            }
            if (listed != (g.status == 200)) test_fail(__FILE__, __LINE__, "%s listed %d, GET %d", key, listed, g.status);
            answer_free(&g);
        }
        answer_free(&l);
    }
    AUDIT("DeleteMultiple racing PUTs", false);
}

/* ---------------------------------------------------------------- versioned deletes */

static const char *g_vkey;
#ifndef VD_ROUNDS
#define VD_ROUNDS 30
#endif

static void do_delete_version(racer *r)
{
    cos_kv q = { "versionId", (const char *)r->arg };
    if (r->n) { /* through DeleteMultiple, which counts a version it did not find as deleted */
        char *doc = cos_sprintf("<Delete><Quiet>false</Quiet><Object><Key>%s</Key><VersionId>%s</VersionId></Object>"
                                "</Delete>", g_vkey, (const char *)r->arg);
        answer a = send_on(r->c, BV, "POST", NULL, "delete", NULL, 0, NULL, 0, doc, strlen(doc));
        r->status = a.status == 200 && a.body && strstr(a.body, "<Deleted>") ? 204 : a.status == 200 ? 500 : a.status;
        answer_free(&a);
        free(doc);
        return;
    }
    answer a = send_on(r->c, BV, "DELETE", g_vkey, NULL, &q, 1, NULL, 0, NULL, 0);
    r->status = a.status;
    answer_free(&a);
}

/* Every version of a key but the oldest deleted at once by DELETE ?versionId (half of them
 * through DeleteMultiple): each deletion of the current version makes the next newest current
 * while its own deletion runs. Every one answered deleted is gone, and the oldest is current;
 * before, a version made current between the two steps of its deletion was answered
 * NoSuchVersion (DeleteMultiple: <Deleted>) and stayed, current. */
#define VD_VERSIONS 7
static void test_version_deletes_racing(void)
{
    int stale = 0;
    for (int round = 0; round < VD_ROUNDS; round++) {
        char key[32], vid[VD_VERSIONS][80], body[VD_VERSIONS][24];
        snprintf(key, sizeof key, "vd-%d", round);
        g_vkey = key;
        for (int i = 0; i < VD_VERSIONS; i++) {
            snprintf(body[i], sizeof body[i], "v%d of %d", i, round);
            answer a = send_b(BV, "PUT", key, NULL, NULL, 0, NULL, 0, body[i], strlen(body[i]));
            CHECK_INT(a.status, 200);
            snprintf(vid[i], sizeof vid[i], "%s", a.vid);
            answer_free(&a);
        }
        racer rs[VD_VERSIONS - 1];
        for (int i = 1; i < VD_VERSIONS; i++)
            rs[i - 1] = (racer){ do_delete_version, .arg = vid[i], .n = (i + round) % 2 };
        race_n(rs, VD_VERSIONS - 1);
        for (int i = 1; i < VD_VERSIONS; i++) {
            cos_kv q = { "versionId", vid[i] };
            answer g = send_b(BV, "GET", key, NULL, &q, 1, NULL, 0, NULL, 0);
            if (rs[i - 1].status != 204 || g.status != 404) {
                stale++;
                test_fail(__FILE__, __LINE__, "round %d: DELETE of version %d answered %d%s, and the version answers %d",
                          round, i, rs[i - 1].status, rs[i - 1].n ? " (DeleteMultiple)" : "", g.status);
            }
            answer_free(&g);
        }
        CHECK_OBJECT(BV, key, body[0], strlen(body[0]), NULL);
    }
    if (stale) printf("  %d version deletes of %d missed their version\n", stale, VD_ROUNDS * (VD_VERSIONS - 1));
}

/* ---------------------------------------------------------------- failed commits */

enum { FC_APPEND_BIG, FC_APPEND_SMALL, FC_COMPLETE, FC_COPY, FC_MULTI_DELETE, FC_N };
static const char *const FC_NAMES[FC_N] = { "append to a file", "append to a small body", "Complete over a key",
                                           "copy over a key", "DeleteMultiple" };

/* The state each write starts from: fc-KIND holding prev (appendable for appends). */
static void fc_prepare(int kind, const unsigned char *prev, size_t len)
{
    char key[32];
    snprintf(key, sizeof key, "fc-%d", kind);
    answer d = send_b(B, "DELETE", key, NULL, NULL, 0, NULL, 0, NULL, 0);
    answer_free(&d);
    if (kind == FC_APPEND_BIG || kind == FC_APPEND_SMALL) {
        cos_kv q = { "position", "0" };
        answer a = send_b(B, "POST", key, "append", &q, 1, NULL, 0, prev, len);
        CHECK_INT(a.status, 200);
        answer_free(&a);
    } else {
        CHECK_INT(put_obj(B, key, prev, len, NULL), 200);
        if (kind == FC_MULTI_DELETE) CHECK_INT(put_obj(B, "fc-4b", prev, len, NULL), 200);
    }
}

/* The write; its status. *next gets what the key holds if it succeeded (NULL: deleted). */
static int fc_write(int kind, const unsigned char *prev, size_t len, unsigned char **next, size_t *next_len)
{
    char key[32];
    snprintf(key, sizeof key, "fc-%d", kind);
    size_t add = kind == FC_APPEND_BIG ? 100 * 1024 : 10;
    *next = NULL;
    *next_len = 0;
    if (kind == FC_APPEND_BIG || kind == FC_APPEND_SMALL) {
        unsigned char *more = bytes(add, 1700 + (uint32_t)kind);
        char pos[32];
        snprintf(pos, sizeof pos, "%zu", len);
        cos_kv q = { "position", pos };
        answer a = send_b(B, "POST", key, "append", &q, 1, NULL, 0, more, add);
        *next_len = len + add;
        *next = malloc(*next_len);
        memcpy(*next, prev, len);
        memcpy(*next + len, more, add);
        free(more);
        answer_free(&a);
        return a.status;
    }
    if (kind == FC_COMPLETE) {
        char id[128], etags[2][80];
        init_upload(key, id);
        unsigned char *p1 = bytes(MIB, 1710), *p2 = bytes(5000, 1711);
        CHECK_INT(upload_part(key, id, 1, p1, MIB, etags[0]), 200);
        CHECK_INT(upload_part(key, id, 2, p2, 5000, etags[1]), 200);
        test_set_faults(g_c, &g_s, "[{\"method\": \"POST\", \"match\": \"/fc-2?uploadId\", \"action\": \"fail_commit\","
                                  " \"commits\": 0}]");
        int nums[2] = { 1, 2 };
        answer a = complete(key, id, nums, etags, 2);
        *next_len = MIB + 5000;
        *next = malloc(*next_len);
        memcpy(*next, p1, MIB);
        memcpy(*next + MIB, p2, 5000);
        free(p1);
        free(p2);
        answer_free(&a);
        if (a.status != 200) {
            test_set_faults(g_c, &g_s, NULL);
            CHECK_INT(abort_upload(key, id), 204);
        }
        return a.status;
    }
    if (kind == FC_COPY) {
        cos_kv h = { "x-cos-copy-source", B ".cos.ap-guangzhou.myqcloud.com/fc-src" };
        answer a = send_b(B, "PUT", key, NULL, NULL, 0, &h, 1, NULL, 0);
        *next_len = 180 * 1024;
        *next = bytes(*next_len, 1720);
        answer_free(&a);
        return a.status;
    }
    const char *doc = "<Delete><Quiet>true</Quiet><Object><Key>fc-4</Key></Object><Object><Key>fc-4b</Key></Object></Delete>";
    answer a = send_b(B, "POST", NULL, "delete", NULL, 0, NULL, 0, doc, strlen(doc));
    int st = a.status == 200 && a.body && strstr(a.body, "<Error>") ? 500 : a.status;
    answer_free(&a);
    return st;
}

/* Each write with its metadata commits failing after the first N (a full disk, or a crash between
 * two commits): an error leaves the previous object whole; a 200 is all there; and nothing it
 * wrote is left behind unnamed. */
static void test_failed_commits(void)
{
    unsigned char *src = bytes(180 * 1024, 1720);
    CHECK_INT(put_obj(B, "fc-src", src, 180 * 1024, NULL), 200);
    free(src);
    for (int kind = 0; kind < FC_N; kind++) {
        size_t len = kind == FC_APPEND_SMALL ? 20 : 150 * 1024;
        unsigned char *prev = bytes(len, 1800 + (uint32_t)kind);
        int refused = 0;
        for (int n = 0; n < 4; n++) {
            fc_prepare(kind, prev, len);
            char key[32], rules[200];
            snprintf(key, sizeof key, "fc-%d", kind);
            snprintf(rules, sizeof rules, "[{\"match\": \"%s\", \"action\": \"fail_commit\", \"commits\": %d}]",
                     kind == FC_MULTI_DELETE ? "?delete" : key, n);
            if (kind != FC_COMPLETE) test_set_faults(g_c, &g_s, rules);
            unsigned char *next;
            size_t next_len;
            int st = fc_write(kind, prev, len, &next, &next_len);
            test_set_faults(g_c, &g_s, NULL);
            if (st != 200 && st != 204 && st < 500)
                test_fail(__FILE__, __LINE__, "%s, commits failing after %d: answered %d", FC_NAMES[kind], n, st);
            bool done = st == 200 || st == 204;
            refused += !done;
            if (kind == FC_MULTI_DELETE) {
                if (done) {
                    CHECK_INT(get_status(B, key), 404);
                    CHECK_INT(get_status(B, "fc-4b"), 404);
                } else { /* one may have gone: its own <Error> says which; the other is whole */
                    int a = get_status(B, key), b = get_status(B, "fc-4b");
                    CHECK(a == 200 || b == 200);
                }
            } else if (done) {
                CHECK_OBJECT(B, key, next, next_len, NULL);
            } else {
                CHECK_OBJECT(B, key, prev, len, NULL);
            }
            free(next);
            if (kind == FC_COMPLETE) break; /* one commit: it fails or not */
        }
        printf("  %s: %d refused\n", FC_NAMES[kind], refused);
        free(prev);
    }
    /* what a failed removal left (a blob whose delete failed with the rest) goes at the next start */
    restart(false);
    AUDIT("failed commits, after a restart", false);
}

/* ---------------------------------------------------------------- a failing disk under the data */

/* tests/preload/sync_fault.c, or NULL (the test then says it is skipped). */
static const char *sync_fault_lib(void)
{
    const char *lib = getenv("COS_SYNC_FAULT_LIB");
    if (!lib) printf("  (COS_SYNC_FAULT_LIB not set: skipped)\n");
    return lib;
}

/* fsync of the data's files and directories failing (EIO, tests/preload/sync_fault.c) under a
 * large PUT, an UploadPart, a copy, an append and a Complete (its manifest): each a 5xx, the
 * object before it whole, the upload still completable, nothing left behind. */
static void test_data_fsync_fails(void)
{
    const char *lib = sync_fault_lib();
    if (!lib) return;
    char *flag = cos_sprintf("%s.syncfail", g_s.root), *under = cos_sprintf("%s/data/", g_s.root);
    const char *env[] = { "COS_TEST_SYNC_FAIL_FLAG", flag, "COS_TEST_SYNC_FAIL_UNDER", under, NULL };
    restart_preloaded(lib, env);
    size_t len = 150 * 1024;
    unsigned char *prev = bytes(len, 2400), *next = bytes(len, 2401), *p1 = bytes(MIB, 2402);
    const char *keys[3] = { "ef-put", "ef-copy", "ef-app" };
    for (int i = 0; i < 3; i++) {
        if (i == 2) {
            cos_kv q = { "position", "0" };
            answer a = send_b(B, "POST", keys[i], "append", &q, 1, NULL, 0, prev, len);
            CHECK_INT(a.status, 200);
            answer_free(&a);
        } else {
            CHECK_INT(put_obj(B, keys[i], prev, len, NULL), 200);
        }
    }
    CHECK_INT(put_obj(B, "ef-src", next, len, NULL), 200);
    char id[128], etags[2][80];
    init_upload("ef-mp", id);
    CHECK_INT(upload_part("ef-mp", id, 1, p1, MIB, etags[0]), 200);
    FILE *f = fopen(flag, "w"); /* the disk starts failing */
    CHECK(f != NULL);
    if (f) fclose(f);
    int st[5];
    st[0] = put_obj(B, "ef-put", next, len, NULL);
    cos_kv h = { "x-cos-copy-source", B ".cos.ap-guangzhou.myqcloud.com/ef-src" };
    answer c = send_b(B, "PUT", "ef-copy", NULL, NULL, 0, &h, 1, NULL, 0);
    st[1] = c.status;
    answer_free(&c);
    char pos[32];
    snprintf(pos, sizeof pos, "%zu", len);
    cos_kv q = { "position", pos };
    answer a = send_b(B, "POST", "ef-app", "append", &q, 1, NULL, 0, next, len);
    st[2] = a.status;
    answer_free(&a);
    st[3] = upload_part("ef-mp", id, 2, p1, MIB, etags[1]);
    int nums[1] = { 1 };
    answer x = complete("ef-mp", id, nums, etags, 1);
    st[4] = x.status;
    answer_free(&x);
    unlink(flag); /* and recovers */
    const char *what[5] = { "PUT", "copy", "append", "UploadPart", "Complete" };
    for (int i = 0; i < 5; i++)
        if (st[i] < 500) test_fail(__FILE__, __LINE__, "%s with the data's fsync failing answered %d", what[i], st[i]);
    for (int i = 0; i < 3; i++) CHECK_OBJECT(B, keys[i], prev, len, NULL);
    CHECK_INT(get_status(B, "ef-mp"), 404);
    cos_kv lq = { "uploadId", id };
    answer l = send_b(B, "GET", "ef-mp", NULL, &lq, 1, NULL, 0, NULL, 0);
    CHECK(l.status == 200 && l.body && strstr(l.body, "<PartNumber>1</PartNumber>") &&
          !strstr(l.body, "<PartNumber>2</PartNumber>"));
    answer_free(&l);
    x = complete("ef-mp", id, nums, etags, 1);
    CHECK_INT(x.status, 200);
    answer_free(&x);
    char etag1[80];
    const unsigned char *pp = p1;
    size_t pl = MIB;
    multipart_etag(&pp, &pl, 1, etag1);
    CHECK_OBJECT(B, "ef-mp", p1, MIB, etag1);
    free(prev);
    free(next);
    free(p1);
    restart_preloaded(NULL, NULL);
    AUDIT("data fsyncs failing", false);
    free(flag);
    free(under);
}


/* A part's head and its first `held` bytes on a connection of its own (Connection: close); -1 when
 * it cannot be sent. The rest follows with send_rest. */
static int send_part_start(const char *key, const char *id, int n, const unsigned char *data, size_t len, size_t held)
{
    char num[16], target[512];
    snprintf(num, sizeof num, "%d", n);
    cos_kv q[2] = { { "partNumber", num }, { "uploadId", id } };
    const char *host = B ".cos.ap-guangzhou.myqcloud.com";
    char path[256];
    snprintf(path, sizeof path, "/%s", key);
    snprintf(target, sizeof target, "/%s?partNumber=%d&uploadId=%s", key, n, id);
    char *auth = test_cos_auth(TEST_SECRET_ID, TEST_SECRET_KEY, "PUT", path, host, q, 2, NULL, 0);
    char *head = cos_sprintf("PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %zu\r\nConnection: close\r\n"
                             "Authorization: %s\r\n\r\n", target, host, len, auth ? auth : "");
    int fd = auth ? test_connect(g_s.port) : -1;
    bool ok = fd >= 0 && test_send_all(fd, head, strlen(head)) && test_send_all(fd, data, held);
    free(head);
    free(auth);
    if (!ok && fd >= 0) close(fd);
    return ok ? fd : -1;
}

/* The rest of the body, then the answer's status (0 if none) and ETag; closes fd. */
static int send_rest(int fd, const unsigned char *rest, size_t len, char etag[80])
{
    cos_buf in = COS_BUF_INIT;
    if (test_send_all(fd, rest, len)) {
        char buf[4096];
        for (ssize_t r; (r = read(fd, buf, sizeof buf)) != 0;) {
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) break;
            cos_buf_append(&in, buf, (size_t)r);
        }
    }
    close(fd);
    int status = 0;
    const char *text = in.data ? in.data : "";
    if (sscanf(text, "HTTP/1.1 %d", &status) != 1) status = 0;
    const char *e = strcasestr(text, "\r\nETag: ");
    etag[0] = '\0';
    if (e) snprintf(etag, 80, "%.*s", (int)strcspn(e + 8, "\r\n"), e + 8);
    cos_buf_free(&in);
    return status;
}

/* Until path exists (true), or a bound that only ends a hung test. */
static bool wait_exists(const char *path)
{
    for (int i = 0; i < 6000; i++) {
        if (test_exists(path)) return true;
        cos_sleep_ms_for_tests(10);
    }
    return false;
}

/* A large part is renamed into data/ and its directory fsynced while the body still arrives
 * (server/store.c, stage_place), so its answer waits for the file's fsync alone; before, the
 * directory's fsync came after the file's, on the path to every part's answer. Held after
 * 3 MiB of 4, the part's directory has been synced (tests/preload/sync_fault.c notes it); a
 * clean stop then removes the placed file itself (a clean start no longer looks), a kill -9
 * leaves it to the next start, which removes it; sent whole, the part is acknowledged with
 * its MD5 and completes the object. */
static void test_part_dir_synced_while_arriving(void)
{
    const char *lib = sync_fault_lib();
    if (!lib) return;
    char *flag = cos_sprintf("%s.never", g_s.root), *under = cos_sprintf("%s/data/", g_s.root);
    char *seen = cos_sprintf("%s.dirsync", g_s.root);
    const char *env[] = { "COS_TEST_SYNC_FAIL_FLAG", flag, "COS_TEST_SYNC_FAIL_UNDER", under,
                          "COS_TEST_SYNC_SEEN", seen, NULL };
    size_t len = 4 * MIB, held = 3 * MIB;
    unsigned char *body = bytes(len, 2500);
    enum { STOP, CRASH, WHOLE };
    for (int how = STOP; how <= WHOLE; how++) {
        restart_preloaded(lib, env);
        char id[128], etag[80] = "";
        init_upload("held-part", id);
        unlink(seen);
        int fd = send_part_start("held-part", id, 1, body, len, held);
        CHECK(fd >= 0);
        if (fd < 0) break;
        if (!wait_exists(seen)) {
            test_fail(__FILE__, __LINE__, "no directory under data/ synced while the part arrived");
            close(fd);
            break;
        }
        if (how == STOP) {
            AUDIT("a part placed in data/, then a clean stop", false); /* audited before the start */
            close(fd);
            continue;
        }
        if (how == CRASH) {
            cos_client_free(g_c);
            g_c = NULL;
            test_server_kill(&g_s);
            close(fd);
            CHECK(test_server_start(&g_s, SERVER_ARGS) == 0); /* its start removes the file no row names */
            g_c = plain_client(&g_s);
            cos_kv lq = { "uploadId", id };
            answer l = send_b(B, "GET", "held-part", NULL, &lq, 1, NULL, 0, NULL, 0);
            CHECK(l.status == 200 && l.body && !strstr(l.body, "<PartNumber>1</PartNumber>"));
            answer_free(&l);
            AUDIT("a part placed in data/, then a crash", false);
            continue;
        }
        CHECK_INT(send_rest(fd, body + held, len - held, etag), 200);
        char want[33], quoted[40];
        hex_md5(body, len, want);
        snprintf(quoted, sizeof quoted, "\"%s\"", want);
        CHECK_STR(etag, quoted);
        int nums[1] = { 1 };
        char etags[1][80];
        snprintf(etags[0], sizeof etags[0], "%s", etag);
        answer x = complete("held-part", id, nums, etags, 1);
        CHECK_INT(x.status, 200);
        answer_free(&x);
        char whole[80];
        const unsigned char *pp = body;
        multipart_etag(&pp, &len, 1, whole);
        CHECK_OBJECT(B, "held-part", body, len, whole);
    }
    restart_preloaded(NULL, NULL);
    AUDIT("a part synced while it arrived", false);
    unlink(seen);
    free(body);
    free(seen);
    free(flag);
    free(under);
}

/* ---------------------------------------------------------------- DeleteBucket */

#define BD "safetyd-" TEST_APPID

/* A multipart object's manifest damaged on disk (its last line cut, as a
 * torn sector leaves it): its lines were read with fscanf up to the first
 * that did not parse, so a size cut short was taken as the part's size, and
 * the GET began a 200 whose body broke off there. Now a manifest that is not
 * exactly "ID SIZE" lines is refused (fuzz/fuzz_srv_manifest.c): the GET
 * answers 500 before any byte; put back, the object is whole again. */
static void test_damaged_manifest_refused(void)
{
    mp_case m;
    mp_setup(&m, "damaged", 11, false);
    int nums[2] = { 1, 2 };
    answer a = complete("damaged", m.id, nums, m.etag, 2);
    CHECK_INT(a.status, 200);
    answer_free(&a);
    char *dbp = test_db_snapshot(g_s.root); /* the server's own is its alone */
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    char id[64] = "";
    if (dbp && sqlite3_open_v2(dbp, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT data_id FROM objects WHERE bucket = ?1 AND key = ?2", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, B, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, "damaged", -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) snprintf(id, sizeof id, "%s", (const char *)sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    test_db_snapshot_free(dbp);
    CHECK(id[0] == 'M');
    char *mp = cos_sprintf("%s/data/%.2s/%s", g_s.root, id, id);
    size_t len = 0;
    char *text = id[0] == 'M' ? test_read_data(mp, &len) : NULL;
    CHECK(text && len > 4);
    if (text && len > 4) {
        FILE *f = fopen(mp, "w"); /* the last line's size loses its last digits and its newline */
        CHECK(f && fwrite(text, 1, len - 3, f) == len - 3);
        if (f) fclose(f);
        a = send_b(B, "GET", "damaged", NULL, NULL, 0, NULL, 0, NULL, 0);
        /* a clear error before any byte: not a 200 whose body breaks off where the damage is */
        if (a.status != 500) test_fail(__FILE__, __LINE__, "GET of a damaged manifest's object: %d, %zu bytes", a.status, a.len);
        answer_free(&a);
        f = fopen(mp, "w");
        CHECK(f && fwrite(text, 1, len, f) == len);
        if (f) fclose(f);
    }
    size_t whole;
    char etag[80];
    int idx[2] = { 0, 1 };
    unsigned char *want = mp_join(&m, idx, 2, &whole, etag);
    CHECK_OBJECT(B, "damaged", want, whole, etag);
    free(want);
    free(text);
    free(mp);
    mp_free(&m);
    AUDIT("a damaged manifest", false);
}

/* S3's DeleteBucket takes a bucket's unfinished uploads with it only when nothing else is in it:
 * refused (BucketNotEmpty), it leaves them, parts and all. Before, every upload was aborted first
 * and the refusal came after. */
static void test_refused_bucket_delete_keeps_uploads(void)
{
    test_put_bucket(g_c, BD);
    CHECK_INT(put_obj(BD, "stays", "an object", 9, NULL), 200);
    char id[128], etag[80];
    init_upload_on(g_c, BD, "unfinished", id);
    unsigned char *part = bytes(MIB, 2100);
    CHECK_INT(upload_part_on(g_c, BD, "unfinished", id, 1, part, MIB, etag), 200);
    cos_client *s3 = test_s3_client(g_s.endpoint, "ap-guangzhou", -1);
    answer d = send_on(s3, BD, "DELETE", NULL, NULL, NULL, 0, NULL, 0, NULL, 0);
    CHECK_INT(d.status, 409);
    answer_free(&d);
    cos_kv q = { "uploadId", id };
    answer l = send_b(BD, "GET", "unfinished", NULL, &q, 1, NULL, 0, NULL, 0);
    if (l.status != 200 || !l.body || !strstr(l.body, first_bytes(etag + 1, 32)))
        test_fail(__FILE__, __LINE__, "after a refused DeleteBucket, ListParts of its upload answers %d", l.status);
    answer_free(&l);
    int nums[1] = { 1 };
    char etags[1][80];
    snprintf(etags[0], 80, "%s", etag);
    answer c = complete_on(g_c, BD, "unfinished", id, nums, etags, 1);
    CHECK_INT(c.status, 200);
    answer_free(&c);
    CHECK_OBJECT(BD, "unfinished", part, MIB, NULL);
    /* emptied but for an upload, S3's DeleteBucket takes the upload and its part with it */
    const char *keys[2] = { "stays", "unfinished" };
    for (int i = 0; i < 2; i++) {
        answer x = send_b(BD, "DELETE", keys[i], NULL, NULL, 0, NULL, 0, NULL, 0);
        CHECK_INT(x.status, 204);
        answer_free(&x);
    }
    init_upload_on(g_c, BD, "left", id);
    CHECK_INT(upload_part_on(g_c, BD, "left", id, 1, part, MIB, etag), 200);
    d = send_on(s3, BD, "DELETE", NULL, NULL, NULL, 0, NULL, 0, NULL, 0);
    CHECK_INT(d.status, 204);
    answer_free(&d);
    cos_client_free(s3);
    free(part);
    AUDIT("DeleteBucket with uploads", false);
}

/* ---------------------------------------------------------------- restarts */

/* Uploads in progress survive a restart (a clean one and a kill -9): listed, their parts listed
 * with the same ETags, completed with more parts; an aborted one leaves no part behind. */
static void test_restart_with_uploads(void)
{
    mp_case keep, drop;
    mp_setup(&keep, "rs-keep", 700, false);
    mp_setup(&drop, "rs-drop", 701, false);
    for (int crash = 0; crash < 2; crash++) {
        restart(crash);
        cos_kv q = { "prefix", "rs-" };
        answer l = send_b(B, "GET", NULL, "uploads", &q, 1, NULL, 0, NULL, 0);
        CHECK_INT(l.status, 200);
        CHECK(l.body && strstr(l.body, keep.id) && strstr(l.body, drop.id));
        answer_free(&l);
        cos_kv pq = { "uploadId", keep.id };
        answer p = send_b(B, "GET", "rs-keep", NULL, &pq, 1, NULL, 0, NULL, 0);
        CHECK_INT(p.status, 200);
        for (int i = 0; i < 2; i++) {
            char quoted[100];
            snprintf(quoted, sizeof quoted, "%.*s", (int)strlen(keep.etag[i]) - 2, keep.etag[i] + 1);
            if (!p.body || !strstr(p.body, quoted)) test_fail(__FILE__, __LINE__, "ListParts lost part %d's ETag", i + 1);
        }
        answer_free(&p);
    }
    /* part 2 was small: a third part makes it a middle one, too small; replace it with 1 MiB */
    free(keep.p[1]);
    keep.len[1] = MIB;
    keep.p[1] = bytes(MIB, 702);
    CHECK_INT(upload_part("rs-keep", keep.id, 2, keep.p[1], MIB, keep.etag[1]), 200);
    keep.len[2] = 123;
    keep.p[2] = bytes(123, 703);
    CHECK_INT(upload_part("rs-keep", keep.id, 3, keep.p[2], 123, keep.etag[2]), 200);
    int nums[3] = { 1, 2, 3 };
    answer c = complete("rs-keep", keep.id, nums, keep.etag, 3);
    CHECK_INT(c.status, 200);
    answer_free(&c);
    CHECK_INT(abort_upload("rs-drop", drop.id), 204);
    int idx[3] = { 0, 1, 2 };
    size_t len;
    char etag[80];
    unsigned char *want = mp_join(&keep, idx, 3, &len, etag);
    restart(true);
    CHECK_OBJECT(B, "rs-keep", want, len, etag);
    free(want);
    mp_free(&keep);
    mp_free(&drop);
    AUDIT("uploads across restarts", false);
}

/* A crash leaves data no row names: bodies renamed into data/ whose rows never committed, files
 * and blobs whose rows were removed before they were. A restart removes them and nothing else. */
static void test_crash_leftovers_removed(void)
{
    unsigned char *big = bytes(200 * 1024, 800);
    char etag[80];
    CHECK_INT(put_obj(B, "kept", big, 200 * 1024, etag), 200);
    cos_client_free(g_c);
    g_c = NULL;
    test_server_kill(&g_s);
    /* what an interrupted PUT leaves: a whole body under a fresh id, and an inline one */
    char *dir = cos_sprintf("%s/data/5e", g_s.root);
    mkdir(dir, 0755);
    char *orphan = cos_sprintf("%s/5e0123456789abcdef0123456789abcd", dir);
    FILE *f = fopen(orphan, "w");
    CHECK(f && fwrite(big, 1, 200 * 1024, f) == 200 * 1024);
    if (f) fclose(f);
    char *path = cos_sprintf("%s/meta.db", g_s.root);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "INSERT INTO blobs(id, body) VALUES('I0123456789abcdef0123456789abcde', x'00112233')",
                       NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    free(path);
    CHECK(test_server_start(&g_s, SERVER_ARGS) == 0);
    g_c = plain_client(&g_s);
    CHECK_OBJECT(B, "kept", big, 200 * 1024, etag);
    audit a = AUDIT("after leftovers of a crash", false);
    CHECK(!test_exists(orphan));
    (void)a;
    free(orphan);
    free(dir);
    free(big);
}

/* ---------------------------------------------------------------- kill -9 under load */

/* Each worker writes its own keys, so it knows what every acknowledged write left: a key is
 * "acked" (must read back exactly), "maybe" (in flight at the kill: absent or exact) or gone. */
enum { K_NONE, K_ACKED, K_MAYBE, K_GONE, K_GONE_MAYBE };
#define WKEYS 64

typedef struct worker {
    int kind; /* 0 Complete, 1 copy, 2 append, 3 batch delete, 4 versioned delete */
    int round;
    cos_client *c;
    atomic_int *stop;
    int state[WKEYS];
    size_t len[WKEYS];
    uint32_t seed[WKEYS];
    size_t app_acked, app_max; /* appends: the acknowledged length, and the most that may be there */
    char vid[WKEYS][80];
    int vgone[WKEYS]; /* versioned: the version deleted by ?versionId (1 sent, 2 acknowledged) */
} worker;

static atomic_int g_stop;
static atomic_int g_acks; /* acknowledged writes so far this round: the kill waits for a number of them */

static const char *kind_bucket(int kind) { return kind == 4 ? BV : B; }

static void wkey(const worker *w, int i, char out[48]) { snprintf(out, 48, "w%d-r%d-%02d", w->kind, w->round, i); }

#define APP_CHUNK 70000 /* appends of files, not inline rows */

static void *worker_main(void *p)
{
    worker *w = p;
    const char *bk = kind_bucket(w->kind);
    for (int i = 0; i < WKEYS && !atomic_load(w->stop); i++) {
        char key[48];
        wkey(w, i, key);
        w->seed[i] = (uint32_t)(w->kind * 100000 + w->round * 1000 + i);
        if (w->kind == 0) { /* Complete */
            char id[128] = "", etags[2][80];
            answer a = send_on(w->c, bk, "POST", key, "uploads", NULL, 0, NULL, 0, NULL, 0);
            between(a.body, "<UploadId>", "</UploadId>", id, sizeof id);
            answer_free(&a);
            unsigned char *p1 = bytes(MIB, w->seed[i]), *p2 = bytes(1000, w->seed[i] + 1);
            bool ok = id[0] && upload_part_on(w->c, bk, key, id, 1, p1, MIB, etags[0]) == 200 &&
                      upload_part_on(w->c, bk, key, id, 2, p2, 1000, etags[1]) == 200;
            free(p1);
            free(p2);
            if (!ok) break;
            w->state[i] = K_MAYBE;
            w->len[i] = MIB + 1000;
            int nums[2] = { 1, 2 };
            answer c = complete_on(w->c, bk, key, id, nums, etags, 2);
            if (c.status == 200) {
                w->state[i] = K_ACKED;
                atomic_fetch_add(&g_acks, 1);
            }
            answer_free(&c);
            if (c.status != 200) break;
        } else if (w->kind == 1) { /* copy of a source written first */
            size_t len = 150 * 1024 + (size_t)i;
            unsigned char *d = bytes(len, w->seed[i]);
            char src[64];
            snprintf(src, sizeof src, "%s-src", key);
            answer a = send_on(w->c, bk, "PUT", src, NULL, NULL, 0, NULL, 0, d, len);
            free(d);
            answer_free(&a);
            if (a.status != 200) break;
            char *cs = cos_sprintf("%s.cos.ap-guangzhou.myqcloud.com/%s", bk, src);
            cos_kv h = { "x-cos-copy-source", cs };
            w->state[i] = K_MAYBE;
            w->len[i] = len;
            answer c = send_on(w->c, bk, "PUT", key, NULL, NULL, 0, &h, 1, NULL, 0);
            free(cs);
            if (c.status == 200) {
                w->state[i] = K_ACKED;
                atomic_fetch_add(&g_acks, 1);
            }
            answer_free(&c);
            if (c.status != 200) break;
        } else if (w->kind == 2) { /* appends to one key */
            char key0[48], pos[32];
            wkey(w, 0, key0);
            snprintf(pos, sizeof pos, "%zu", w->app_acked);
            unsigned char *d = bytes(APP_CHUNK, w->seed[0] + (uint32_t)i);
            cos_kv q = { "position", pos };
            w->app_max = w->app_acked + APP_CHUNK;
            answer a = send_on(w->c, bk, "POST", key0, "append", &q, 1, NULL, 0, d, APP_CHUNK);
            free(d);
            answer_free(&a);
            if (a.status != 200) break;
            w->app_acked += APP_CHUNK;
            atomic_fetch_add(&g_acks, 1);
        } else if (w->kind == 3) { /* PUTs, then a DeleteMultiple of every other one */
            size_t len = i % 2 ? 100 * 1024 : 500;
            unsigned char *d = bytes(len, w->seed[i]);
            answer a = send_on(w->c, bk, "PUT", key, NULL, NULL, 0, NULL, 0, d, len);
            free(d);
            answer_free(&a);
            if (a.status != 200) break;
            w->state[i] = K_ACKED;
            atomic_fetch_add(&g_acks, 1);
            w->len[i] = len;
            if (i % 2 == 0) continue;
            cos_buf b = COS_BUF_INIT;
            char prev[48];
            wkey(w, i - 1, prev);
            cos_buf_printf(&b, "<Delete><Quiet>true</Quiet><Object><Key>%s</Key></Object><Object><Key>%s</Key></Object>"
                               "</Delete>", prev, key);
            w->state[i] = w->state[i - 1] = K_GONE_MAYBE;
            answer x = send_on(w->c, bk, "POST", NULL, "delete", NULL, 0, NULL, 0, b.data, b.len);
            cos_buf_free(&b);
            bool clean = x.status == 200 && x.body && !strstr(x.body, "<Error>");
            answer_free(&x);
            if (!clean) break;
            w->state[i] = w->state[i - 1] = K_GONE;
        } else { /* versioned: a PUT, then a delete marker over it; the version stays */
            size_t len = i % 2 ? 90 * 1024 : 700;
            unsigned char *d = bytes(len, w->seed[i]);
            answer a = send_on(w->c, bk, "PUT", key, NULL, NULL, 0, NULL, 0, d, len);
            free(d);
            snprintf(w->vid[i], sizeof w->vid[i], "%s", a.vid);
            answer_free(&a);
            if (a.status != 200 || !w->vid[i][0]) break;
            w->state[i] = K_ACKED;
            atomic_fetch_add(&g_acks, 1);
            w->len[i] = len;
            answer x = send_on(w->c, bk, "DELETE", key, NULL, NULL, 0, NULL, 0, NULL, 0);
            w->state[i] = x.status == 204 ? K_GONE : K_GONE_MAYBE;
            answer_free(&x);
            if (x.status != 204) break;
            if (i % 3 != 2) continue;
            /* and every third version deleted for good, under its delete marker */
            cos_kv vq = { "versionId", w->vid[i] };
            w->vgone[i] = 1;
            answer y = send_on(w->c, bk, "DELETE", key, NULL, &vq, 1, NULL, 0, NULL, 0);
            if (y.status == 204) w->vgone[i] = 2;
            answer_free(&y);
            if (y.status != 204) break;
        }
    }
    return NULL;
}

/* Every key a listing of bucket names reads back with the size listed; at least one is listed
 * when the caller knows one was acknowledged and not deleted. */
static void listing_agrees(const char *bucket, const char *prefix, bool some_kept)
{
    cos_kv q[2] = { { "prefix", prefix }, { "max-keys", "1000" } };
    answer l = send_b(bucket, "GET", NULL, NULL, q, 2, NULL, 0, NULL, 0);
    CHECK_INT(l.status, 200);
    int n = 0;
    for (const char *p = l.body; p && (p = strstr(p, "<Contents>")) != NULL; p++, n++) {
        char key[128], size[32];
        between(p, "<Key>", "</Key>", key, sizeof key);
        between(p, "<Size>", "</Size>", size, sizeof size);
        answer g = send_b(bucket, "GET", key, NULL, NULL, 0, NULL, 0, NULL, 0);
        if (g.status != 200 || g.len != strtoull(size, NULL, 10))
            test_fail(__FILE__, __LINE__, "%s listed with %s bytes: GET answers %d, %zu bytes", key, size, g.status, g.len);
        answer_free(&g);
    }
    if (some_kept) CHECK(n > 0);
    answer_free(&l);
}

static void check_worker(const worker *w)
{
    const char *bk = kind_bucket(w->kind);
    if (w->kind == 2) { /* the object is the acknowledged appends, and at most the one in flight */
        char key0[48];
        wkey(w, 0, key0);
        answer g = send_b(bk, "GET", key0, NULL, NULL, 0, NULL, 0, NULL, 0);
        size_t have = g.status == 200 ? g.len : 0;
        if ((w->app_acked && g.status != 200) || have < w->app_acked || have > w->app_max || have % APP_CHUNK)
            test_fail(__FILE__, __LINE__, "appends: %zu bytes acknowledged, %zu read back (%d)", w->app_acked, have, g.status);
        for (size_t off = 0; off + APP_CHUNK <= have; off += APP_CHUNK) {
            unsigned char *d = bytes(APP_CHUNK, w->seed[0] + (uint32_t)(off / APP_CHUNK));
            if (memcmp(g.body + off, d, APP_CHUNK) != 0) test_fail(__FILE__, __LINE__, "append at %zu differs", off);
            free(d);
        }
        answer_free(&g);
        return;
    }
    for (int i = 0; i < WKEYS; i++) {
        if (w->state[i] == K_NONE) continue;
        char key[48];
        wkey(w, i, key);
        answer g = send_b(bk, "GET", key, NULL, NULL, 0, NULL, 0, NULL, 0);
        int st = w->state[i];
        bool present_ok = st == K_ACKED || st == K_MAYBE || st == K_GONE_MAYBE;
        bool absent_ok = st == K_MAYBE || st == K_GONE || st == K_GONE_MAYBE;
        if (g.status == 200) {
            unsigned char *d;
            if (w->kind == 0) {
                d = malloc(w->len[i]);
                test_lcg_fill(d, MIB, w->seed[i]);
                test_lcg_fill(d + MIB, 1000, w->seed[i] + 1);
            } else {
                d = bytes(w->len[i], w->seed[i]);
            }
            if (!present_ok || g.len != w->len[i] || memcmp(g.body, d, g.len) != 0)
                test_fail(__FILE__, __LINE__, "%s (state %d): %zu bytes read back, not the %zu written", key, st, g.len,
                          w->len[i]);
            free(d);
        } else if (g.status != 404 || !absent_ok) {
            test_fail(__FILE__, __LINE__, "%s (state %d): answered %d", key, st, g.status);
        }
        answer_free(&g);
        if (w->kind == 4 && (st == K_ACKED || st == K_GONE || st == K_GONE_MAYBE)) { /* its version, whole */
            cos_kv q = { "versionId", w->vid[i] };
            answer v = send_b(bk, "GET", key, NULL, &q, 1, NULL, 0, NULL, 0);
            unsigned char *d = bytes(w->len[i], w->seed[i]);
            bool whole = v.status == 200 && v.len == w->len[i] && !memcmp(v.body, d, v.len);
            /* deleted for good (2: acknowledged, 1: in flight at the kill) or whole */
            if (w->vgone[i] == 2 ? v.status != 404 : !(whole || (w->vgone[i] == 1 && v.status == 404)))
                test_fail(__FILE__, __LINE__, "%s version %s (deleted: %d): %d, %zu bytes", key, w->vid[i], w->vgone[i],
                          v.status, v.len);
            free(d);
            answer_free(&v);
        }
    }
}

/* kill -9 while Completes, copies, appends, batch deletes and versioned deletes run, at a few
 * moments (once 5, 15 and 40 operations are acknowledged): after the restart every acknowledged write
 * reads back whole, every acknowledged delete stays done, and the data directory holds exactly
 * what the rows name. */
static void test_kill_during_writes(void)
{
    const int after_acks[] = { 5, 15, 40 };
    for (int round = 0; round < 3; round++) {
        worker w[5];
        pthread_t t[5];
        atomic_store(&g_stop, 0);
        atomic_store(&g_acks, 0);
        for (int k = 0; k < 5; k++) {
            memset(&w[k], 0, sizeof w[k]);
            w[k].kind = k;
            w[k].round = round;
            w[k].stop = &g_stop;
            w[k].c = plain_client(&g_s);
            pthread_create(&t[k], NULL, worker_main, &w[k]);
        }
        /* the moment to crash at is a count of acknowledged writes, not a time: under ASan on a
         * loaded machine a fixed 60 ms once came before the first acknowledgement */
        for (int waited = 0; atomic_load(&g_acks) < after_acks[round] && waited < 120000; waited++)
            cos_sleep_ms_for_tests(1);
        test_server_kill(&g_s);
        atomic_store(&g_stop, 1);
        for (int k = 0; k < 5; k++) {
            pthread_join(t[k], NULL);
            cos_client_free(w[k].c);
        }
        /* audit what the crash left, as it left it; then after the restart's own tidying */
        audit before = audit_root(g_s.root);
        if (before.missing)
            test_fail(__FILE__, __LINE__, "round %d: %zu data ids named with no data (%s)", round, before.missing,
                      before.first);
        CHECK(test_server_start(&g_s, SERVER_ARGS) == 0);
        cos_client_free(g_c);
        g_c = plain_client(&g_s);
        int acked = 0;
        bool kept_in_b = round > 0; /* earlier rounds' keys stay */
        for (int k = 0; k < 5; k++) {
            check_worker(&w[k]);
            for (int i = 0; i < WKEYS; i++) {
                acked += w[k].state[i] == K_ACKED || w[k].state[i] == K_GONE;
                kept_in_b |= k != 4 && w[k].state[i] == K_ACKED;
            }
            acked += (int)(w[k].app_acked / APP_CHUNK);
            kept_in_b |= w[k].app_acked > 0;
        }
        listing_agrees(B, "w", kept_in_b);
        printf("  round %d: killed after %d acknowledged writes, %zu leftovers the crash left\n", round, acked,
               before.leaked);
        AUDIT("after a kill -9 and a restart", false);
    }
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (test_server_start(&g_s, SERVER_ARGS) != 0) {
        fprintf(stderr, "cannot start cos-server\n");
        return 1;
    }
    g_c = plain_client(&g_s);
    test_put_bucket(g_c, B);
    test_put_bucket(g_c, BV);
    set_versioning(BV, "Enabled");
    RUN(test_complete_races_abort);
    RUN(test_two_completes);
    RUN(test_part_races_complete);
    RUN(test_part_races_abort);
    RUN(test_repeated_complete_at_once);
    RUN(test_same_part_racing);
    RUN(test_complete_lists_checked);
    RUN(test_complete_across_versioning_change);
    RUN(test_copy_onto_itself);
    RUN(test_copy_races_source_delete);
    RUN(test_part_reads_during_rewrites);
    RUN(test_append_races_delete);
    RUN(test_delete_multiple_races_puts);
    RUN(test_version_deletes_racing);
    RUN(test_failed_commits);
    RUN(test_damaged_manifest_refused);
    RUN(test_refused_bucket_delete_keeps_uploads);
    RUN(test_data_fsync_fails);
    RUN(test_part_dir_synced_while_arriving);
    RUN(test_restart_with_uploads);
    RUN(test_crash_leftovers_removed);
    RUN(test_kill_during_writes);
    cos_client_free(g_c);
    test_server_stop(&g_s, false);
    return test_report();
}

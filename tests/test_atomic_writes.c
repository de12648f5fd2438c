/* test_atomic_writes.c — a write cos-server refuses changes nothing, and one
 * it acknowledges is all there: in a versioned bucket a PUT, a copy, a
 * Complete, a DELETE (delete marker) and a DELETE ?versionId each touch two
 * rows (the version that becomes non-current and the new one). The fault
 * rule fail_commit makes a request's metadata commits after the first N
 * fail, as a full disk or a crash between them would; for every N the
 * answer must match the state: an error leaves every acknowledged version
 * readable, byte for byte, with the same one current; a 2xx is all there.
 *
 * And racing writers whose writes are conditional (AppendObject's
 * position, S3's If-None-Match / If-Match) never both win: one is
 * acknowledged and the other refused, never two acknowledged and one lost.
 * Also: a versions listing during writes lists each version once; tags and
 * ACLs with a versionId stay on that version; UploadPartCopy ranges at the
 * source's edges; a bucket keeping versions or uploads is not deleted; and
 * kill -9 during versioned PUTs and deletes loses no acknowledged version
 * and leaves none listed without its whole body. */
#define _GNU_SOURCE
#include "testlib.h"
#include "util.h"

#include <pthread.h>
#include <stdint.h>

#define B "atomic-" TEST_APPID
#define KEY "doc"
#define MAXV 64

static cos_client *g_c;
static test_server g_s;

typedef struct answer {
    int status;
    char *body;
    char vid[80];
} answer;

static answer call(const char *method, const char *key, const char *action, const cos_kv *q, size_t nq,
                   const cos_kv *h, size_t nh, const char *body)
{
    cos_request r = test_generic_request(method, B, key, action, q, nq, h, nh, body);
    cos_result *res = NULL;
    cos_error *err = NULL;
    answer a = { 0, NULL, "" };
    if (cos_send_request(g_c, &r, &res, &err) == 0) {
        a.status = res->http_status;
        a.body = cos_strdup(res->body ? (const char *)res->body : "");
        const char *v = cos_result_header(res, "x-cos-version-id");
        snprintf(a.vid, sizeof a.vid, "%s", v ? v : "");
    } else {
        a.status = err ? err->http_status : 0;
    }
    cos_result_free(res);
    cos_error_free(err);
    return a;
}

/* The model: every acknowledged version of KEY, oldest first, and which is current. */
typedef struct model {
    char vid[MAXV][80];
    char body[MAXV][48];
    bool marker[MAXV];
    int n;
} model;

static void model_add(model *m, const char *vid, const char *body, bool marker)
{
    if (m->n == MAXV) return;
    snprintf(m->vid[m->n], sizeof m->vid[0], "%s", vid);
    snprintf(m->body[m->n], sizeof m->body[0], "%s", body ? body : "");
    m->marker[m->n] = marker;
    m->n++;
}

static void model_remove(model *m, const char *vid)
{
    for (int i = 0; i < m->n; i++)
        if (!strcmp(m->vid[i], vid)) {
            memmove(&m->vid[i], &m->vid[i + 1], (size_t)(m->n - i - 1) * sizeof m->vid[0]);
            memmove(&m->body[i], &m->body[i + 1], (size_t)(m->n - i - 1) * sizeof m->body[0]);
            memmove(&m->marker[i], &m->marker[i + 1], (size_t)(m->n - i - 1) * sizeof m->marker[0]);
            m->n--;
            return;
        }
}

/* The server's state is the model's: GET of the key, of each version, and the listing. */
static void check_model(const model *m, const char *when)
{
    answer a = call("GET", KEY, NULL, NULL, 0, NULL, 0, NULL);
    bool gone = m->n == 0 || m->marker[m->n - 1];
    if (gone) {
        if (a.status != 404) test_fail(__FILE__, __LINE__, "%s: GET answered %d, the key should be deleted", when, a.status);
    } else if (a.status != 200 || strcmp(a.body, m->body[m->n - 1]) != 0) {
        test_fail(__FILE__, __LINE__, "%s: GET answered %d \"%s\", not the acknowledged \"%s\"", when, a.status,
                  a.body ? a.body : "", m->body[m->n - 1]);
    }
    free(a.body);
    int versions = 0, markers = 0;
    for (int i = 0; i < m->n; i++) {
        if (m->marker[i]) {
            markers++;
            continue;
        }
        versions++;
        cos_kv q = { "versionId", m->vid[i] };
        a = call("GET", KEY, NULL, &q, 1, NULL, 0, NULL);
        if (a.status != 200 || strcmp(a.body, m->body[i]) != 0)
            test_fail(__FILE__, __LINE__, "%s: version %s answered %d \"%s\", not \"%s\"", when, m->vid[i], a.status,
                      a.body ? a.body : "", m->body[i]);
        free(a.body);
    }
    cos_kv only = { "prefix", KEY }; /* other keys (a copy's source) are not the model's */
    a = call("GET", NULL, "versions", &only, 1, NULL, 0, NULL);
    CHECK(a.status == 200);
    int lv = test_count_of(a.body, "<Version>"), lm = test_count_of(a.body, "<DeleteMarker>");
    if (lv != versions || lm != markers)
        test_fail(__FILE__, __LINE__, "%s: the listing has %d versions and %d delete markers, not %d and %d", when, lv, lm,
                  versions, markers);
    free(a.body);
}

static void set_versioning(const char *status)
{
    char *doc = cos_sprintf("<VersioningConfiguration><Status>%s</Status></VersioningConfiguration>", status);
    answer a = call("PUT", NULL, "versioning", NULL, 0, NULL, 0, doc);
    CHECK(a.status == 200);
    free(a.body);
    free(doc);
}

static void fail_commits_after(const char *method, const char *match, int n)
{
    char rules[256];
    snprintf(rules, sizeof rules, "[{\"method\": \"%s\", \"match\": \"%s\", \"action\": \"fail_commit\", \"commits\": %d}]",
             method, match, n);
    test_set_faults(g_c, &g_s, rules);
}

/* A PUT of body; on 200 the model gains it. */
static answer put(model *m, const char *body)
{
    answer a = call("PUT", KEY, NULL, NULL, 0, NULL, 0, body);
    if (a.status == 200) model_add(m, a.vid[0] ? a.vid : "null", body, false);
    return a;
}

static void fresh_bucket(void)
{
    answer a;
    a = call("GET", NULL, "versions", NULL, 0, NULL, 0, NULL);
    if (a.status == 200) { /* empty it from an earlier test */
        free(a.body);
        for (;;) {
            a = call("GET", NULL, "versions", NULL, 0, NULL, 0, NULL);
            const char *k = a.body ? strstr(a.body, "<Key>") : NULL;
            const char *v = k ? strstr(k, "<VersionId>") : NULL;
            if (!v) break;
            char vid[80], key[80];
            snprintf(key, sizeof key, "%.*s", (int)strcspn(k + 5, "<"), k + 5);
            snprintf(vid, sizeof vid, "%.*s", (int)strcspn(v + 11, "<"), v + 11);
            cos_kv q = { "versionId", vid };
            answer d = call("DELETE", key, NULL, &q, 1, NULL, 0, NULL);
            free(d.body);
            free(a.body);
        }
        free(a.body);
        return;
    }
    free(a.body);
    test_put_bucket(g_c, B);
}

/* Each write, with its commits cut after 0, 1, 2, 3: an error keeps the model. */
static void test_versioned_put(void)
{
    fresh_bucket();
    set_versioning("Enabled");
    model m = { .n = 0 };
    free(put(&m, "first").body);
    check_model(&m, "after the first PUT");
    for (int n = 0; n < 4; n++) {
        fail_commits_after("PUT", "/" KEY, n);
        char body[32], when[64];
        snprintf(body, sizeof body, "enabled-%d", n);
        answer a = put(&m, body);
        test_set_faults(g_c, &g_s, NULL);
        snprintf(when, sizeof when, "PUT with commits cut after %d (answered %d)", n, a.status);
        free(a.body);
        check_model(&m, when);
    }
}

/* Suspended: the write replaces the "null" version, wherever it is, and keeps the others. */
static void test_suspended_put(void)
{
    fresh_bucket();
    set_versioning("Enabled");
    model m = { .n = 0 };
    free(put(&m, "v-a").body);
    set_versioning("Suspended");
    free(put(&m, "null-1").body);
    set_versioning("Enabled");
    free(put(&m, "v-c").body); /* "null-1" is now a non-current version */
    set_versioning("Suspended");
    check_model(&m, "before the suspended PUTs");
    for (int n = 0; n < 4; n++) {
        fail_commits_after("PUT", "/" KEY, n);
        char body[32], when[80];
        snprintf(body, sizeof body, "null-%d", n + 2);
        answer a = call("PUT", KEY, NULL, NULL, 0, NULL, 0, body);
        test_set_faults(g_c, &g_s, NULL);
        if (a.status == 200) {
            model_remove(&m, "null");
            model_add(&m, "null", body, false);
        }
        snprintf(when, sizeof when, "suspended PUT with commits cut after %d (answered %d)", n, a.status);
        free(a.body);
        check_model(&m, when);
    }
}

static void test_versioned_copy(void)
{
    fresh_bucket();
    set_versioning("Enabled");
    answer a = call("PUT", "source", NULL, NULL, 0, NULL, 0, "copied-body");
    CHECK(a.status == 200);
    free(a.body);
    model m = { .n = 0 };
    free(put(&m, "before-copy").body);
    cos_kv h = { "x-cos-copy-source", B ".cos.ap-guangzhou.myqcloud.com/source" };
    for (int n = 0; n < 4; n++) {
        fail_commits_after("PUT", "/" KEY, n);
        a = call("PUT", KEY, NULL, NULL, 0, &h, 1, NULL);
        test_set_faults(g_c, &g_s, NULL);
        if (a.status == 200) model_add(&m, a.vid[0] ? a.vid : "null", "copied-body", false);
        char when[64];
        snprintf(when, sizeof when, "copy with commits cut after %d (answered %d)", n, a.status);
        free(a.body);
        check_model(&m, when);
    }
    cos_kv q = { "versionId", "" };
    a = call("GET", NULL, "versions", NULL, 0, NULL, 0, NULL); /* the source's version goes too */
    const char *p = a.body ? strstr(a.body, "<Key>source</Key>") : NULL;
    const char *v = p ? strstr(p, "<VersionId>") : NULL;
    char vid[80] = "";
    if (v) snprintf(vid, sizeof vid, "%.*s", (int)strcspn(v + 11, "<"), v + 11);
    q.value = vid;
    free(a.body);
    a = call("DELETE", "source", NULL, &q, 1, NULL, 0, NULL);
    free(a.body);
}

static void test_versioned_complete(void)
{
    fresh_bucket();
    set_versioning("Enabled");
    model m = { .n = 0 };
    free(put(&m, "before-complete").body);
    for (int n = 0; n < 4; n++) {
        answer a = call("POST", KEY, "uploads", NULL, 0, NULL, 0, NULL);
        const char *u = a.body ? strstr(a.body, "<UploadId>") : NULL;
        char id[80] = "";
        if (u) snprintf(id, sizeof id, "%.*s", (int)strcspn(u + 10, "<"), u + 10);
        free(a.body);
        CHECK(id[0]);
        char body[32];
        snprintf(body, sizeof body, "completed-%d", n);
        cos_kv pq[2] = { { "partNumber", "1" }, { "uploadId", id } };
        cos_request r = COS_REQUEST_INIT;
        r.method = "PUT";
        r.bucket = B;
        r.key = KEY;
        r.query = pq;
        r.query_count = 2;
        r.body.data = body;
        r.body.size = strlen(body);
        cos_result *res = NULL;
        cos_error *err = NULL;
        CHECK_OK(cos_send_request(g_c, &r, &res, &err), err);
        char *doc = cos_sprintf("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part>"
                                "</CompleteMultipartUpload>", res && res->etag ? res->etag : "");
        cos_result_free(res);
        fail_commits_after("POST", "uploadId", n);
        cos_kv cq = { "uploadId", id };
        a = call("POST", KEY, NULL, &cq, 1, NULL, 0, doc);
        test_set_faults(g_c, &g_s, NULL);
        free(doc);
        bool ok = a.status == 200 && strstr(a.body, "<ETag>");
        if (ok) model_add(&m, a.vid[0] ? a.vid : "", body, false);
        if (ok && !a.vid[0]) { /* the version id of a Complete: the newest in the listing */
            answer l = call("GET", KEY, NULL, NULL, 0, NULL, 0, NULL);
            free(l.body);
            snprintf(m.vid[m.n - 1], sizeof m.vid[0], "%s", l.vid);
        }
        char when[80];
        snprintf(when, sizeof when, "Complete with commits cut after %d (answered %d)", n, a.status);
        free(a.body);
        check_model(&m, when);
        if (!ok) {
            answer ab = call("DELETE", KEY, NULL, &cq, 1, NULL, 0, NULL);
            free(ab.body);
        }
    }
}

/* DELETE without versionId leaves a marker; with the current one's id, the one before becomes current. */
static void test_versioned_deletes(void)
{
    fresh_bucket();
    set_versioning("Enabled");
    model m = { .n = 0 };
    free(put(&m, "one").body);
    free(put(&m, "two").body);
    for (int n = 0; n < 3; n++) {
        fail_commits_after("DELETE", "/" KEY, n);
        answer a = call("DELETE", KEY, NULL, NULL, 0, NULL, 0, NULL);
        test_set_faults(g_c, &g_s, NULL);
        if (a.status == 204) model_add(&m, a.vid, NULL, true);
        char when[80];
        snprintf(when, sizeof when, "DELETE with commits cut after %d (answered %d)", n, a.status);
        free(a.body);
        check_model(&m, when);
        if (a.status == 204) { /* take the marker away again, also with cut commits */
            for (int k = 0; k < 3; k++) {
                fail_commits_after("DELETE", "versionId", k);
                cos_kv q = { "versionId", m.vid[m.n - 1] };
                answer d = call("DELETE", KEY, NULL, &q, 1, NULL, 0, NULL);
                test_set_faults(g_c, &g_s, NULL);
                if (d.status == 204) model_remove(&m, q.value);
                snprintf(when, sizeof when, "DELETE of the marker, commits cut after %d (answered %d)", k, d.status);
                free(d.body);
                check_model(&m, when);
                if (d.status == 204) break;
            }
        }
    }
    free(put(&m, "three").body);
    for (int k = 0; k < 3; k++) { /* the current version by its id: "two" must become current */
        fail_commits_after("DELETE", "versionId", k);
        char vid[80];
        snprintf(vid, sizeof vid, "%s", m.vid[m.n - 1]);
        cos_kv q = { "versionId", vid };
        answer d = call("DELETE", KEY, NULL, &q, 1, NULL, 0, NULL);
        test_set_faults(g_c, &g_s, NULL);
        if (d.status == 204) model_remove(&m, vid);
        char when[80];
        snprintf(when, sizeof when, "DELETE of the current version, commits cut after %d (answered %d)", k, d.status);
        free(d.body);
        check_model(&m, when);
        if (d.status == 204) break;
    }
    set_versioning("Suspended");
    for (int n = 0; n < 3; n++) { /* a suspended DELETE: the marker is the null version */
        fail_commits_after("DELETE", "/" KEY, n);
        answer a = call("DELETE", KEY, NULL, NULL, 0, NULL, 0, NULL);
        test_set_faults(g_c, &g_s, NULL);
        if (a.status == 204) {
            model_remove(&m, "null");
            model_add(&m, "null", NULL, true);
        }
        char when[80];
        snprintf(when, sizeof when, "suspended DELETE, commits cut after %d (answered %d)", n, a.status);
        free(a.body);
        check_model(&m, when);
    }
}


/* ---------------------------------------------------------------- racing conditional writers */

#define RACERS 6
#define APPENDS 12
#define CHUNK 100

typedef struct racer {
    int id;
    cos_client *c;
    int acked;
    uint64_t pos[APPENDS * 4];
    int wins; /* of If-None-Match / If-Match PUTs */
    char key[32];
} racer;

static int send_status(cos_client *c, cos_request *r, char *etag, size_t etag_cap, char *next, size_t next_cap)
{
    cos_result *res = NULL;
    cos_error *err = NULL;
    int st = cos_send_request(c, r, &res, &err) == 0 ? res->http_status : err ? err->http_status : 0;
    if (etag && res && res->etag) snprintf(etag, etag_cap, "%s", res->etag);
    const char *n = res ? cos_result_header(res, "x-cos-next-append-position") : NULL;
    if (next) snprintf(next, next_cap, "%s", n ? n : "");
    if (next && res && !n && st == 200) snprintf(next, next_cap, "%zu", res->body_size); /* a GET: its length */
    cos_result_free(res);
    cos_error_free(err);
    return st;
}

static void *append_racer(void *arg)
{
    racer *me = arg;
    char body[CHUNK];
    memset(body, 'A' + me->id, sizeof body);
    for (int i = 0; i < APPENDS; i++) {
        char size[32] = "0";
        cos_request h = COS_REQUEST_INIT;
        h.method = "GET";
        h.bucket = B;
        h.key = "log";
        if (send_status(me->c, &h, NULL, 0, size, sizeof size) != 200) snprintf(size, sizeof size, "0");
        cos_kv q = { "position", size };
        cos_request r = COS_REQUEST_INIT;
        r.method = "POST";
        r.bucket = B;
        r.key = "log";
        r.action = "append";
        r.query = &q;
        r.query_count = 1;
        r.body.data = body;
        r.body.size = sizeof body;
        if (send_status(me->c, &r, NULL, 0, NULL, 0) == 200) me->pos[me->acked++] = strtoull(size, NULL, 10);
    }
    return NULL;
}

/* Every acknowledged append is in the object at the position it was given, and nothing else is. */
static void test_racing_appends(void)
{
    fresh_bucket();
    racer rs[RACERS];
    pthread_t t[RACERS];
    for (int i = 0; i < RACERS; i++) {
        memset(&rs[i], 0, sizeof rs[i]);
        rs[i].id = i;
        rs[i].c = g_c;
        pthread_create(&t[i], NULL, append_racer, &rs[i]);
    }
    int total = 0;
    for (int i = 0; i < RACERS; i++) {
        pthread_join(t[i], NULL);
        total += rs[i].acked;
    }
    answer a = call("GET", "log", NULL, NULL, 0, NULL, 0, NULL);
    CHECK(a.status == 200);
    size_t len = a.body ? strlen(a.body) : 0;
    if (len != (size_t)total * CHUNK)
        test_fail(__FILE__, __LINE__, "%d appends of %d bytes were acknowledged, the object has %zu bytes", total, CHUNK,
                  len);
    for (int i = 0; i < RACERS; i++)
        for (int k = 0; k < rs[i].acked; k++) {
            uint64_t p = rs[i].pos[k];
            bool mine = p + CHUNK <= len;
            for (uint64_t b = p; mine && b < p + CHUNK; b++) mine = a.body[b] == 'A' + i;
            if (!mine)
                test_fail(__FILE__, __LINE__, "the append racer %d was acknowledged at %llu: its bytes are not there", i,
                          (unsigned long long)p);
        }
    CHECK(total >= 1);
    free(a.body);
    a = call("DELETE", "log", NULL, NULL, 0, NULL, 0, NULL);
    free(a.body);
}

static cos_client *s3_client(void) { return test_s3_client(g_s.endpoint, "ap-guangzhou", -1); }

static pthread_barrier_t g_start;
static char g_if_match[80];

static void *conditional_racer(void *arg)
{
    racer *me = arg;
    char body[64];
    snprintf(body, sizeof body, "racer-%d%s", me->id, g_if_match[0] ? "-over" : ""); /* a new ETag each race */
    cos_kv h = g_if_match[0] ? (cos_kv){ "If-Match", g_if_match } : (cos_kv){ "If-None-Match", "*" };
    cos_request r = COS_REQUEST_INIT;
    r.method = "PUT";
    r.bucket = B;
    r.key = me->key;
    r.headers = &h;
    r.header_count = 1;
    r.body.data = body;
    r.body.size = strlen(body);
    pthread_barrier_wait(&g_start);
    int st = send_status(me->c, &r, NULL, 0, NULL, 0);
    me->wins = st == 200;
    if (st != 200 && st != 412 && st != 409)
        test_fail(__FILE__, __LINE__, "a conditional PUT answered %d, not 200 or 412", st);
    return NULL;
}

/* S3's If-None-Match: * and If-Match: at most one of the racers is acknowledged, and its body is the object. */
static void race_conditional(const char *key, const char *if_match)
{
    snprintf(g_if_match, sizeof g_if_match, "%s", if_match ? if_match : "");
    racer rs[RACERS];
    pthread_t t[RACERS];
    cos_client *cs[RACERS];
    pthread_barrier_init(&g_start, NULL, RACERS);
    for (int i = 0; i < RACERS; i++) {
        memset(&rs[i], 0, sizeof rs[i]);
        rs[i].id = i;
        cs[i] = rs[i].c = s3_client();
        snprintf(rs[i].key, sizeof rs[i].key, "%s", key);
        pthread_create(&t[i], NULL, conditional_racer, &rs[i]);
    }
    int wins = 0, winner = -1;
    for (int i = 0; i < RACERS; i++) {
        pthread_join(t[i], NULL);
        if (rs[i].wins) {
            wins++;
            winner = i;
        }
        cos_client_free(cs[i]);
    }
    pthread_barrier_destroy(&g_start);
    if (wins != 1)
        test_fail(__FILE__, __LINE__, "%s on %s: %d racers were acknowledged, not exactly 1",
                  if_match ? "If-Match" : "If-None-Match: *", key, wins);
    answer a = call("GET", key, NULL, NULL, 0, NULL, 0, NULL);
    char want[64];
    snprintf(want, sizeof want, "racer-%d%s", winner, if_match ? "-over" : "");
    if (wins == 1 && (a.status != 200 || strcmp(a.body, want) != 0))
        test_fail(__FILE__, __LINE__, "the acknowledged %s is not the object (\"%s\")", want, a.body ? a.body : "");
    free(a.body);
}

static void test_racing_conditional_puts(void)
{
    fresh_bucket();
    for (int round = 0; round < 8; round++) {
        char key[32];
        snprintf(key, sizeof key, "once-%d", round);
        race_conditional(key, NULL);
        cos_request h = COS_REQUEST_INIT;
        h.method = "GET";
        h.bucket = B;
        h.key = key;
        char etag[80] = "";
        send_status(g_c, &h, etag, sizeof etag, NULL, 0);
        CHECK(etag[0]);
        race_conditional(key, etag);
    }
}

/* A bucket that still keeps anything (a non-current version, a delete
 * marker, an open upload) is not deleted; once deleted and made again, none
 * of it comes back. */
static void test_bucket_delete_keeps_nothing_behind(void)
{
    fresh_bucket();
    set_versioning("Enabled");
    answer a = call("PUT", KEY, NULL, NULL, 0, NULL, 0, "kept");
    free(a.body);
    a = call("DELETE", KEY, NULL, NULL, 0, NULL, 0, NULL); /* only a marker and a version remain */
    free(a.body);
    a = call("DELETE", NULL, NULL, NULL, 0, NULL, 0, NULL);
    CHECK(a.status == 409);
    free(a.body);
    fresh_bucket(); /* every version and marker removed */
    a = call("POST", "open", "uploads", NULL, 0, NULL, 0, NULL);
    const char *u = a.body ? strstr(a.body, "<UploadId>") : NULL;
    char id[80] = "";
    if (u) snprintf(id, sizeof id, "%.*s", (int)strcspn(u + 10, "<"), u + 10);
    free(a.body);
    a = call("DELETE", NULL, NULL, NULL, 0, NULL, 0, NULL);
    CHECK(a.status == 409);
    free(a.body);
    cos_kv q = { "uploadId", id };
    a = call("DELETE", "open", NULL, &q, 1, NULL, 0, NULL);
    CHECK(a.status == 204);
    free(a.body);
    a = call("DELETE", NULL, NULL, NULL, 0, NULL, 0, NULL);
    CHECK(a.status == 204);
    free(a.body);
    test_put_bucket(g_c, B);
    a = call("GET", NULL, "versions", NULL, 0, NULL, 0, NULL);
    CHECK(a.status == 200 && !strstr(a.body, "<Version>") && !strstr(a.body, "<DeleteMarker>"));
    free(a.body);
    a = call("GET", NULL, "versioning", NULL, 0, NULL, 0, NULL);
    CHECK(a.status == 200 && !strstr(a.body, "Enabled") && !strstr(a.body, "Suspended"));
    free(a.body);
    cos_kv pq[2] = { { "partNumber", "1" }, { "uploadId", id } };
    a = call("PUT", "open", NULL, pq, 2, NULL, 0, "late part");
    CHECK(a.status == 404);
    free(a.body);
}

/* ListObjectVersions while a key is overwritten: each listing shows every
 * version once and exactly one of them as latest (its two tables read
 * apart, a version could show as current and again as non-current). */
static volatile int g_writing;

static void *overwriter(void *arg)
{
    (void)arg;
    for (int i = 0; i < 300; i++) {
        char body[32];
        snprintf(body, sizeof body, "w-%d", i);
        answer a = call("PUT", "hot", NULL, NULL, 0, NULL, 0, body);
        free(a.body);
    }
    g_writing = 0;
    return NULL;
}

static void test_versions_listing_during_writes(void)
{
    fresh_bucket();
    set_versioning("Enabled");
    answer a = call("PUT", "hot", NULL, NULL, 0, NULL, 0, "w-first");
    free(a.body);
    g_writing = 1;
    pthread_t t;
    pthread_create(&t, NULL, overwriter, NULL);
    int listings = 0, bad = 0;
    cos_kv q = { "prefix", "hot" };
    while (g_writing && bad < 3) {
        a = call("GET", NULL, "versions", &q, 1, NULL, 0, NULL);
        listings++;
        if (a.status != 200) {
            test_fail(__FILE__, __LINE__, "a listing answered %d during writes", a.status);
            bad++;
        }
        int latest = test_count_of(a.body, "<IsLatest>true</IsLatest>");
        /* every version id once */
        bool dup = false;
        for (const char *v = a.body ? strstr(a.body, "<VersionId>") : NULL; v && !dup; v = strstr(v + 1, "<VersionId>")) {
            char needle[96];
            snprintf(needle, sizeof needle, "%.*s", (int)strcspn(v, "/") + 11, v);
            dup = test_count_of(a.body, needle) > 1;
        }
        if (latest != 1 || dup) {
            test_fail(__FILE__, __LINE__, "listing %d: %d versions marked latest%s", listings, latest,
                      dup ? ", a version listed twice" : "");
            bad++;
        }
        free(a.body);
    }
    pthread_join(t, NULL);
    fresh_bucket();
}

/* ?tagging and ?acl with a versionId act on that version, never on the
 * current one: an old version made public-read leaves the current private. */
static int anonymous_get(const char *query)
{
    char req[512];
    snprintf(req, sizeof req, "GET /%s%s HTTP/1.1\r\nHost: %s.cos.ap-guangzhou.myqcloud.com\r\nConnection: close\r\n\r\n",
             KEY, query, B);
    int status = 0;
    char *body = NULL;
    test_http_raw(&g_s, req, strlen(req), &status, &body);
    free(body);
    return status;
}

static void test_version_subresources(void)
{
    fresh_bucket();
    set_versioning("Enabled");
    model m = { .n = 0 };
    free(put(&m, "old").body);
    free(put(&m, "new").body);
    char old_vid[80], q_old[120];
    snprintf(old_vid, sizeof old_vid, "%s", m.vid[0]);
    snprintf(q_old, sizeof q_old, "?versionId=%s", old_vid);
    cos_kv vq = { "versionId", old_vid };
    const char *tags = "<Tagging><TagSet><Tag><Key>era</Key><Value>before</Value></Tag></TagSet></Tagging>";
    answer a = call("PUT", KEY, "tagging", &vq, 1, NULL, 0, tags);
    CHECK(a.status == 200);
    free(a.body);
    a = call("GET", KEY, "tagging", NULL, 0, NULL, 0, NULL);
    if (a.body && strstr(a.body, "before"))
        test_fail(__FILE__, __LINE__, "tags put on version %s landed on the current version", old_vid);
    free(a.body);
    a = call("GET", KEY, "tagging", &vq, 1, NULL, 0, NULL);
    CHECK(a.status == 200 && a.body && strstr(a.body, "before"));
    free(a.body);
    cos_kv pub = { "x-cos-acl", "public-read" };
    a = call("PUT", KEY, "acl", &vq, 1, &pub, 1, NULL);
    CHECK(a.status == 200);
    free(a.body);
    int cur = anonymous_get("");
    if (cur != 403) test_fail(__FILE__, __LINE__, "public-read set on an old version: the current answered %d to anyone", cur);
    CHECK(anonymous_get(q_old) == 200);
    cos_kv none = { "versionId", "MTg0NDUxnosuchversion" };
    a = call("PUT", KEY, "tagging", &none, 1, NULL, 0, tags);
    CHECK(a.status == 404);
    free(a.body);
    a = call("GET", KEY, "acl", &none, 1, NULL, 0, NULL);
    CHECK(a.status == 404);
    free(a.body);
    check_model(&m, "after the versions' tags and ACLs");
}

/* UploadPartCopy's range at the source's edges: the last byte is copied; a
 * range past the end is refused, never cut short into a shorter part. */
static void test_part_copy_ranges(void)
{
    fresh_bucket();
    char src[101];
    for (int i = 0; i < 100; i++) src[i] = (char)('a' + i % 26);
    src[100] = '\0';
    answer a = call("PUT", "src100", NULL, NULL, 0, NULL, 0, src);
    CHECK(a.status == 200);
    free(a.body);
    a = call("POST", "dst", "uploads", NULL, 0, NULL, 0, NULL);
    const char *u = a.body ? strstr(a.body, "<UploadId>") : NULL;
    char id[80] = "";
    if (u) snprintf(id, sizeof id, "%.*s", (int)strcspn(u + 10, "<"), u + 10);
    free(a.body);
    static const struct { const char *range; int status; } cases[] = {
        { "bytes=0-99", 200 }, { "bytes=99-99", 200 }, { "bytes=0-0", 200 }, { "bytes=0-100", 400 },
        { "bytes=50-199", 400 }, { "bytes=100-100", 400 }, { "bytes=-10", 400 }, { "bytes=10-5", 400 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cos_kv pq[2] = { { "partNumber", "1" }, { "uploadId", id } };
        cos_kv h[2] = { { "x-cos-copy-source", B ".cos.ap-guangzhou.myqcloud.com/src100" },
                        { "x-cos-copy-source-range", cases[i].range } };
        a = call("PUT", "dst", NULL, pq, 2, h, 2, NULL);
        if (a.status != cases[i].status)
            test_fail(__FILE__, __LINE__, "UploadPartCopy %s of a 100-byte source answered %d, not %d", cases[i].range,
                      a.status, cases[i].status);
        free(a.body);
    }
    cos_kv q = { "uploadId", id };
    a = call("DELETE", "dst", NULL, &q, 1, NULL, 0, NULL);
    free(a.body);
    a = call("DELETE", "src100", NULL, NULL, 0, NULL, 0, NULL);
    free(a.body);
}

/* ---------------------------------------------------------------- kill -9 during versioned writes */

#define KILL_THREADS 4
#define KILL_LOG 400

typedef struct acked_version {
    char key[16], vid[80], md5[33];
    bool deleted; /* an acknowledged DELETE ?versionId removed it */
    int deleting; /* DELETEs of it sent and not answered: the kill may have cut their answers */
} acked_version;

static pthread_mutex_t g_km = PTHREAD_MUTEX_INITIALIZER;
static acked_version g_kv[KILL_LOG];
static int g_nkv, g_kacks;
static volatile int g_kdown;

static void md5_hex(const void *p, size_t n, char out[33])
{
    unsigned char d[16];
    cos_md5_digest(p, n, d);
    cos_hex_encode(d, 16, out);
}

static void *killer_writer(void *arg)
{
    int t = (int)(intptr_t)arg;
    unsigned seed = 7u + (unsigned)t;
    char *body = malloc(100000);
    for (int i = 0; !g_kdown && i < 10000; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", (int)(rand_r(&seed) % 3));
        int op = (int)(rand_r(&seed) % 10);
        if (op < 7) { /* PUT: small (inline) or 100 KB (a data file) */
            size_t n = op < 4 ? 1000 : 100000;
            memset(body, 'a' + (int)(rand_r(&seed) % 26), n);
            snprintf(body, 32, "%d-%d-", t, i);
            cos_request r = COS_REQUEST_INIT;
            r.method = "PUT";
            r.bucket = B;
            r.key = key;
            r.body.data = body;
            r.body.size = n;
            cos_result *res = NULL;
            cos_error *err = NULL;
            int rc = cos_send_request(g_c, &r, &res, &err);
            const char *vid = rc == 0 ? cos_result_header(res, "x-cos-version-id") : NULL;
            pthread_mutex_lock(&g_km);
            if (rc == 0 && res->http_status == 200 && vid && g_nkv < KILL_LOG) {
                acked_version *v = &g_kv[g_nkv++];
                snprintf(v->key, sizeof v->key, "%s", key);
                snprintf(v->vid, sizeof v->vid, "%s", vid);
                md5_hex(body, n, v->md5);
                g_kacks++;
            }
            pthread_mutex_unlock(&g_km);
            if (rc != 0 && (!err || err->http_status == 0)) g_kdown = 1;
            cos_result_free(res);
            cos_error_free(err);
        } else if (op < 9) { /* a delete marker */
            answer a = call("DELETE", key, NULL, NULL, 0, NULL, 0, NULL);
            if (a.status == 0) g_kdown = 1;
            free(a.body);
        } else { /* an acknowledged version, removed for good */
            char vid[80] = "", vkey[16] = "";
            int at = -1;
            pthread_mutex_lock(&g_km);
            if (g_nkv) {
                at = (int)(rand_r(&seed) % (unsigned)g_nkv);
                snprintf(vid, sizeof vid, "%s", g_kv[at].vid);
                snprintf(vkey, sizeof vkey, "%s", g_kv[at].key);
                g_kv[at].deleting++;
            }
            pthread_mutex_unlock(&g_km);
            if (at < 0) continue;
            cos_kv q = { "versionId", vid };
            answer a = call("DELETE", vkey, NULL, &q, 1, NULL, 0, NULL);
            pthread_mutex_lock(&g_km);
            if (a.status == 204) g_kv[at].deleted = true;
            if (a.status != 0) g_kv[at].deleting--; /* answered: not an unknown outcome */
            pthread_mutex_unlock(&g_km);
            if (a.status == 0) g_kdown = 1;
            free(a.body);
        }
    }
    free(body);
    return NULL;
}

static void new_client(void)
{
    if (g_c) cos_client_free(g_c);
    cos_config cfg;
    test_config(&cfg, &g_s);
    cfg.max_retries = -1; /* each failure seen as it is, not retried away */
    cos_error *err = NULL;
    if (cos_client_new(&g_c, &cfg, &err) != 0) test_fail(__FILE__, __LINE__, "%s", cos_error_message(err));
}

/* After a restart: every acknowledged version not deleted is there byte for
 * byte, and every version listed has its whole body (MD5 = its ETag). */
static void check_after_kill(int round)
{
    for (int i = 0; i < g_nkv; i++) {
        acked_version *v = &g_kv[i];
        if (v->deleted || v->deleting) continue; /* a DELETE without an answer may have been done */
        cos_kv q = { "versionId", v->vid };
        cos_request r = COS_REQUEST_INIT;
        r.method = "GET";
        r.bucket = B;
        r.key = v->key;
        r.query = &q;
        r.query_count = 1;
        cos_result *res = NULL;
        cos_error *err = NULL;
        char got[33] = "";
        if (cos_send_request(g_c, &r, &res, &err) == 0) md5_hex(res->body, res->body_size, got);
        if (strcmp(got, v->md5) != 0)
            test_fail(__FILE__, __LINE__, "round %d: acknowledged version %s of %s is %s after the restart", round, v->vid,
                      v->key, got[0] ? "another body" : "gone");
        cos_result_free(res);
        cos_error_free(err);
    }
    answer l = call("GET", NULL, "versions", NULL, 0, NULL, 0, NULL);
    CHECK(l.status == 200);
    for (const char *p = l.body ? strstr(l.body, "<Version>") : NULL; p; p = strstr(p + 1, "<Version>")) {
        const char *k = strstr(p, "<Key>"), *v = strstr(p, "<VersionId>"), *e = strstr(p, "<ETag>");
        if (!k || !v || !e) break;
        char key[16], vid[80], etag[80];
        snprintf(key, sizeof key, "%.*s", (int)strcspn(k + 5, "<"), k + 5);
        snprintf(vid, sizeof vid, "%.*s", (int)strcspn(v + 11, "<"), v + 11);
        snprintf(etag, sizeof etag, "%.*s", (int)strcspn(e + 6, "<"), e + 6);
        cos_kv q = { "versionId", vid };
        cos_request r = COS_REQUEST_INIT;
        r.method = "GET";
        r.bucket = B;
        r.key = key;
        r.query = &q;
        r.query_count = 1;
        cos_result *res = NULL;
        cos_error *err = NULL;
        char got[33] = "";
        if (cos_send_request(g_c, &r, &res, &err) == 0) md5_hex(res->body, res->body_size, got);
        if (!strstr(etag, got) || !got[0])
            test_fail(__FILE__, __LINE__, "round %d: listed version %s of %s (ETag %s) reads back as %s", round, vid, key,
                      etag, got[0] ? got : "an error");
        cos_result_free(res);
        cos_error_free(err);
    }
    free(l.body);
}

static void test_kill_during_versioned_writes(void)
{
    fresh_bucket();
    set_versioning("Enabled");
    const char *args[] = { "--faults", NULL };
    static const int after[] = { 10, 60, 150 };
    for (int round = 0; round < 3; round++) {
        g_kdown = 0;
        int base = g_kacks;
        pthread_t t[KILL_THREADS];
        for (int i = 0; i < KILL_THREADS; i++) pthread_create(&t[i], NULL, killer_writer, (void *)(intptr_t)(i + 10 * round));
        for (int w = 0; w < 6000; w++) { /* until enough writes are acknowledged: the kill lands mid-flight */
            pthread_mutex_lock(&g_km);
            bool enough = g_kacks - base >= after[round];
            pthread_mutex_unlock(&g_km);
            if (enough) break;
            cos_sleep_ms_for_tests(5);
        }
        test_server_kill(&g_s);
        g_kdown = 1;
        for (int i = 0; i < KILL_THREADS; i++) pthread_join(t[i], NULL);
        if (test_server_start(&g_s, args) != 0) {
            test_fail(__FILE__, __LINE__, "cos-server does not start again after kill -9");
            return;
        }
        new_client();
        check_after_kill(round);
    }
}

/* ---------------------------------------------------------------- readers during overwrites */

#define PLAIN "plain-" TEST_APPID

static volatile int g_overwriting;

static void *plain_overwriter(void *arg)
{
    int t = (int)(intptr_t)arg;
    char *body = malloc(100000);
    for (int i = 0; i < 60; i++) {
        size_t n = (i + t) % 2 ? 100000 : 1000; /* a data file and an inline body, in turn */
        memset(body, 'a' + (i * 2 + t) % 26, n);
        cos_request r = COS_REQUEST_INIT;
        r.method = "PUT";
        r.bucket = PLAIN;
        r.key = "hot";
        r.body.data = body;
        r.body.size = n;
        cos_result *res = NULL;
        cos_error *err = NULL;
        cos_send_request(g_c, &r, &res, &err);
        cos_result_free(res);
        cos_error_free(err);
    }
    free(body);
    __atomic_fetch_sub(&g_overwriting, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* Two writers replace one key while it is read: every read is one whole
 * body, of the ETag and CRC-64 it came with; never an error. */
static void test_reads_during_overwrites(void)
{
    test_put_bucket(g_c, PLAIN);
    cos_request p = COS_REQUEST_INIT;
    p.method = "PUT";
    p.bucket = PLAIN;
    p.key = "hot";
    p.body.data = "first";
    p.body.size = 5;
    cos_result *res = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_send_request(g_c, &p, &res, &err), err);
    cos_result_free(res);
    g_overwriting = 2;
    pthread_t t[2];
    for (int i = 0; i < 2; i++) pthread_create(&t[i], NULL, plain_overwriter, (void *)(intptr_t)i);
    int reads = 0, bad = 0;
    while (__atomic_load_n(&g_overwriting, __ATOMIC_SEQ_CST) > 0 && bad < 3) {
        cos_request r = COS_REQUEST_INIT;
        r.method = "GET";
        r.bucket = PLAIN;
        r.key = "hot";
        res = NULL;
        err = NULL;
        int rc = cos_send_request(g_c, &r, &res, &err);
        reads++;
        if (rc != 0) {
            test_fail(__FILE__, __LINE__, "a GET during overwrites failed: %s", cos_error_message(err));
            bad++;
        } else {
            char got[33], want[40];
            md5_hex(res->body, res->body_size, got);
            snprintf(want, sizeof want, "\"%s\"", got);
            bool uniform = true;
            for (size_t k = 1; k < res->body_size && uniform; k++) uniform = ((const char *)res->body)[k] == ((const char *)res->body)[0];
            if (!res->etag || strcmp(res->etag, want) != 0 || (!uniform && res->body_size != 5)) {
                test_fail(__FILE__, __LINE__, "read %d: %zu bytes with ETag %s, their MD5 is %s", reads, res->body_size,
                          res->etag ? res->etag : "(none)", got);
                bad++;
            }
        }
        cos_result_free(res);
        cos_error_free(err);
    }
    for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
    CHECK(reads > 0);
}

/* A bucket asked for with its ownership controls comes with them, or not at all. */
static void test_bucket_created_whole(void)
{
    for (int n = 0; n < 3; n++) {
        char bucket[64];
        snprintf(bucket, sizeof bucket, "owned%d-%s", n, TEST_APPID);
        test_set_faults(g_c, &g_s, "[{\"method\": \"PUT\", \"action\": \"fail_commit\", \"commits\": 1}]");
        cos_kv h = { "x-cos-object-ownership", "BucketOwnerEnforced" };
        cos_request r = COS_REQUEST_INIT;
        r.method = "PUT";
        r.bucket = bucket;
        r.headers = &h;
        r.header_count = 1;
        cos_result *res = NULL;
        cos_error *err = NULL;
        int st = cos_send_request(g_c, &r, &res, &err) == 0 ? res->http_status : err ? err->http_status : 0;
        cos_result_free(res);
        cos_error_free(err);
        test_set_faults(g_c, &g_s, NULL);
        r = (cos_request)COS_REQUEST_INIT;
        r.method = "GET";
        r.bucket = bucket;
        r.action = "ownershipControls";
        res = NULL;
        err = NULL;
        int got = cos_send_request(g_c, &r, &res, &err) == 0 ? res->http_status : err ? err->http_status : 0;
        bool enforced = got == 200 && res->body && strstr((const char *)res->body, "BucketOwnerEnforced");
        if (st == 200 && !enforced)
            test_fail(__FILE__, __LINE__, "bucket %s acknowledged without its ownership controls (%d)", bucket, got);
        cos_result_free(res);
        cos_error_free(err);
        r = (cos_request)COS_REQUEST_INIT;
        r.method = "GET"; /* the bucket's listing: is it there? */
        r.bucket = bucket;
        res = NULL;
        err = NULL;
        int there = cos_send_request(g_c, &r, &res, &err) == 0 ? res->http_status : err ? err->http_status : 0;
        if (st != 200 && there != 404)
            test_fail(__FILE__, __LINE__, "bucket %s refused (%d) but there (listing %d, ownership controls %d)", bucket,
                      st, there, got);
        cos_result_free(res);
        cos_error_free(err);
        r = (cos_request)COS_REQUEST_INIT;
        r.method = "DELETE";
        r.bucket = bucket;
        res = NULL;
        err = NULL;
        cos_send_request(g_c, &r, &res, &err);
        cos_result_free(res);
        cos_error_free(err);
    }
}

/* Once Enabled, versioning is never off again (only Suspended): neither a
 * status other than Enabled/Suspended nor a DELETE ?versioning may turn
 * history-keeping off while the bucket holds versions. */
static void test_versioning_stays_on(void)
{
    fresh_bucket();
    set_versioning("Enabled");
    static const char *const bad[] = { "Off", "Disabled", "enabled", "" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *doc = cos_sprintf("<VersioningConfiguration><Status>%s</Status></VersioningConfiguration>", bad[i]);
        answer a = call("PUT", NULL, "versioning", NULL, 0, NULL, 0, doc);
        if (a.status == 200) test_fail(__FILE__, __LINE__, "versioning status \"%s\" accepted", bad[i]);
        free(a.body);
        free(doc);
    }
    answer a = call("DELETE", NULL, "versioning", NULL, 0, NULL, 0, NULL);
    if (a.status >= 200 && a.status < 300) test_fail(__FILE__, __LINE__, "DELETE ?versioning answered %d", a.status);
    free(a.body);
    a = call("GET", NULL, "versioning", NULL, 0, NULL, 0, NULL);
    CHECK(a.status == 200 && a.body && strstr(a.body, "<Status>Enabled</Status>"));
    free(a.body);
}

/* S3's If-None-Match: * on CompleteMultipartUpload: refused over an existing key, never a silent overwrite. */
static int s3_send(cos_client *c, const char *method, const char *key, const char *action, const cos_kv *q, size_t nq,
                   const cos_kv *h, size_t nh, const char *body, char *out, size_t cap)
{
    cos_request r = test_generic_request(method, B, key, action, q, nq, h, nh, body);
    cos_result *res = NULL;
    cos_error *err = NULL;
    int st = cos_send_request(c, &r, &res, &err) == 0 ? res->http_status : err ? err->http_status : 0;
    if (out) snprintf(out, cap, "%s", res && res->body ? (const char *)res->body : res && res->etag ? res->etag : "");
    if (out && res && res->etag && !strcmp(method, "PUT")) snprintf(out, cap, "%s", res->etag);
    cos_result_free(res);
    cos_error_free(err);
    return st;
}

static int conditional_complete(cos_client *c, const char *key)
{
    char out[1024], id[128] = "", etag[80] = "";
    s3_send(c, "POST", key, "uploads", NULL, 0, NULL, 0, NULL, out, sizeof out);
    const char *u = strstr(out, "<UploadId>");
    if (u) snprintf(id, sizeof id, "%.*s", (int)strcspn(u + 10, "<"), u + 10);
    cos_kv pq[2] = { { "partNumber", "1" }, { "uploadId", id } };
    s3_send(c, "PUT", key, NULL, pq, 2, NULL, 0, "the only part", etag, sizeof etag);
    char *doc = cos_sprintf("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part>"
                            "</CompleteMultipartUpload>", etag);
    cos_kv cq = { "uploadId", id };
    cos_kv h = { "If-None-Match", "*" };
    int st = s3_send(c, "POST", key, NULL, &cq, 1, &h, 1, doc, NULL, 0);
    free(doc);
    if (st != 200) s3_send(c, "DELETE", key, NULL, &cq, 1, NULL, 0, NULL, NULL, 0);
    return st;
}

static void test_conditional_complete(void)
{
    fresh_bucket();
    cos_client *c = s3_client();
    CHECK(conditional_complete(c, "fresh-key") == 200);
    answer a = call("PUT", "taken", NULL, NULL, 0, NULL, 0, "already here");
    free(a.body);
    int st = conditional_complete(c, "taken");
    if (st != 412) test_fail(__FILE__, __LINE__, "Complete with If-None-Match: * over an existing key answered %d", st);
    a = call("GET", "taken", NULL, NULL, 0, NULL, 0, NULL);
    CHECK(a.status == 200 && a.body && !strcmp(a.body, "already here"));
    free(a.body);
    cos_client_free(c);
}

/* ---------------------------------------------------------------- listings during writes */

#define STEADY 150

static volatile int g_churning;

static void *churner(void *arg)
{
    (void)arg;
    for (int i = 0; g_churning && i < 2000; i++) {
        char key[32];
        /* new keys between the steady ones, deleted again, and the steady ones overwritten */
        snprintf(key, sizeof key, i % 3 == 2 ? "s%03d" : "s%03d-x%d", (i * 7) % STEADY, i % 5);
        cos_request r = COS_REQUEST_INIT;
        r.method = i % 3 == 1 ? "DELETE" : "PUT";
        r.bucket = PLAIN;
        r.key = key;
        r.body.data = "churn";
        r.body.size = 5;
        if (i % 3 == 1) snprintf(key, sizeof key, "s%03d-x%d", ((i - 1) * 7) % STEADY, (i - 1) % 5);
        cos_result *res = NULL;
        cos_error *err = NULL;
        cos_send_request(g_c, &r, &res, &err);
        cos_result_free(res);
        cos_error_free(err);
    }
    return NULL;
}

/* Paged listings (50 a page) while keys are added, deleted and overwritten
 * around 150 keys that exist throughout: each of those once, none twice. */
static void test_listing_during_writes(void)
{
    for (int i = 0; i < STEADY; i++) {
        char key[16];
        snprintf(key, sizeof key, "s%03d", i);
        cos_request r = COS_REQUEST_INIT;
        r.method = "PUT";
        r.bucket = PLAIN;
        r.key = key;
        r.body.data = "steady";
        r.body.size = 6;
        cos_result *res = NULL;
        cos_error *err = NULL;
        CHECK_OK(cos_send_request(g_c, &r, &res, &err), err);
        cos_result_free(res);
    }
    g_churning = 1;
    pthread_t t;
    pthread_create(&t, NULL, churner, NULL);
    for (int round = 0; round < 6; round++) {
        int seen[STEADY] = { 0 };
        char marker[64] = "";
        for (int page = 0; page < 100; page++) {
            cos_kv q[3] = { { "prefix", "s" }, { "max-keys", "50" }, { "marker", marker } };
            cos_request r = COS_REQUEST_INIT;
            r.method = "GET";
            r.bucket = PLAIN;
            r.query = q;
            r.query_count = marker[0] ? 3 : 2;
            cos_result *res = NULL;
            cos_error *err = NULL;
            if (cos_send_request(g_c, &r, &res, &err) != 0) {
                test_fail(__FILE__, __LINE__, "a listing failed during writes: %s", cos_error_message(err));
                cos_error_free(err);
                break;
            }
            const char *body = (const char *)res->body;
            const char *last = NULL;
            for (const char *k = strstr(body, "<Key>"); k; k = strstr(k + 1, "<Key>")) {
                int n = -1;
                char tail = 0;
                if (sscanf(k + 5, "s%3d%c", &n, &tail) == 2 && tail == '<' && n >= 0 && n < STEADY) seen[n]++;
                last = k + 5;
            }
            bool more = strstr(body, "<IsTruncated>true") != NULL;
            if (last) snprintf(marker, sizeof marker, "%.*s", (int)strcspn(last, "<"), last);
            cos_result_free(res);
            if (!more) break;
        }
        for (int i = 0; i < STEADY; i++)
            if (seen[i] != 1) {
                test_fail(__FILE__, __LINE__, "round %d: key s%03d, there all along, listed %d times", round, i, seen[i]);
                break;
            }
    }
    g_churning = 0;
    pthread_join(t, NULL);
}

/* ---------------------------------------------------------------- kill -9 during appends */

#define APPENDERS 3
#define ACHUNK 3000

typedef struct appender {
    int id;
    uint64_t acked;   /* bytes acknowledged */
    bool in_flight;   /* an append sent whose answer the kill may have cut */
} appender;

static volatile int g_adown;
static int g_aacks;

static void chunk_of(int id, uint64_t pos, char *out)
{
    for (int i = 0; i < ACHUNK; i++) out[i] = (char)('a' + (id * 7 + (int)((pos + (uint64_t)i) % 23)) % 26);
}

static void *kill_appender(void *arg)
{
    appender *a = arg;
    char key[16], body[ACHUNK], pos[32];
    snprintf(key, sizeof key, "alog%d", a->id);
    while (!g_adown) {
        chunk_of(a->id, a->acked, body);
        snprintf(pos, sizeof pos, "%llu", (unsigned long long)a->acked);
        cos_kv q = { "position", pos };
        cos_request r = COS_REQUEST_INIT;
        r.method = "POST";
        r.bucket = PLAIN;
        r.key = key;
        r.action = "append";
        r.query = &q;
        r.query_count = 1;
        r.body.data = body;
        r.body.size = ACHUNK;
        cos_result *res = NULL;
        cos_error *err = NULL;
        a->in_flight = true;
        int rc = cos_send_request(g_c, &r, &res, &err);
        if (rc == 0 && res->http_status == 200) {
            a->acked += ACHUNK;
            a->in_flight = false;
            __atomic_fetch_add(&g_aacks, 1, __ATOMIC_SEQ_CST);
        } else {
            g_adown = 1; /* the server is gone (or refused): stop; in_flight stays set */
        }
        cos_result_free(res);
        cos_error_free(err);
    }
    return NULL;
}

/* After kill -9 each appendable object holds every acknowledged append
 * byte for byte, plus at most the one whose answer was cut, whole. */
static void test_kill_during_appends(void)
{
    appender as[APPENDERS];
    memset(as, 0, sizeof as);
    const char *args[] = { "--faults", NULL };
    static const int after[] = { 5, 40 };
    for (int round = 0; round < 2; round++) {
        g_adown = 0;
        int base = __atomic_load_n(&g_aacks, __ATOMIC_SEQ_CST);
        pthread_t t[APPENDERS];
        for (int i = 0; i < APPENDERS; i++) {
            as[i].id = i;
            pthread_create(&t[i], NULL, kill_appender, &as[i]);
        }
        for (int w = 0; w < 6000 && __atomic_load_n(&g_aacks, __ATOMIC_SEQ_CST) - base < after[round]; w++)
            cos_sleep_ms_for_tests(5);
        test_server_kill(&g_s);
        g_adown = 1;
        for (int i = 0; i < APPENDERS; i++) pthread_join(t[i], NULL);
        if (test_server_start(&g_s, args) != 0) {
            test_fail(__FILE__, __LINE__, "cos-server does not start again after kill -9");
            return;
        }
        new_client();
        for (int i = 0; i < APPENDERS; i++) {
            char key[16];
            snprintf(key, sizeof key, "alog%d", i);
            cos_request r = COS_REQUEST_INIT;
            r.method = "GET";
            r.bucket = PLAIN;
            r.key = key;
            cos_result *res = NULL;
            cos_error *err = NULL;
            int rc = cos_send_request(g_c, &r, &res, &err);
            size_t len = rc == 0 ? res->body_size : 0;
            bool ok = len == as[i].acked || (as[i].in_flight && len == as[i].acked + ACHUNK);
            for (uint64_t p = 0; ok && p < len; p += ACHUNK) {
                char want[ACHUNK];
                chunk_of(i, p, want);
                ok = memcmp((const char *)res->body + p, want, ACHUNK) == 0;
            }
            char md5[33], etag[40];
            if (rc == 0) {
                md5_hex(res->body, len, md5);
                snprintf(etag, sizeof etag, "\"%s\"", md5);
                if (!res->etag || strcmp(res->etag, etag) != 0) ok = false;
            }
            if (!ok && (as[i].acked || rc == 0))
                test_fail(__FILE__, __LINE__, "round %d: %s holds %zu bytes after the restart; %llu were acknowledged%s",
                          round, key, len, (unsigned long long)as[i].acked, as[i].in_flight ? " (one more in flight)" : "");
            if (rc == 0 && len > as[i].acked) as[i].acked = len; /* the cut append was kept: go on from there */
            as[i].in_flight = false;
            cos_result_free(res);
            cos_error_free(err);
        }
    }
}

int main(void)
{
    const char *args[] = { "--faults", NULL };
    if (test_server_start(&g_s, args) != 0) {
        fprintf(stderr, "cannot start cos-server\n");
        return 1;
    }
    cos_config cfg;
    test_config(&cfg, &g_s);
    cfg.max_retries = -1; /* each failure seen as it is, not retried away */
    cos_error *err = NULL;
    if (cos_client_new(&g_c, &cfg, &err) != 0) {
        fprintf(stderr, "%s\n", cos_error_message(err));
        return 1;
    }
    RUN(test_versioned_put);
    RUN(test_suspended_put);
    RUN(test_versioned_copy);
    RUN(test_versioned_complete);
    RUN(test_versioned_deletes);
    RUN(test_racing_appends);
    RUN(test_racing_conditional_puts);
    RUN(test_bucket_delete_keeps_nothing_behind);
    RUN(test_versions_listing_during_writes);
    RUN(test_version_subresources);
    RUN(test_part_copy_ranges);
    RUN(test_reads_during_overwrites);
    RUN(test_listing_during_writes);
    RUN(test_bucket_created_whole);
    RUN(test_versioning_stays_on);
    RUN(test_conditional_complete);
    RUN(test_kill_during_versioned_writes);
    RUN(test_kill_during_appends);
    cos_client_free(g_c);
    test_server_stop(&g_s, false);
    return test_report();
}

/*
 * test_sts_keys: cos-server's store of temporary keys (/sts) under a flood.
 * Live keys are bounded (--sts-max-keys: past it /sts answers 429
 * RequestLimitExceeded), expired ones make room and leave ROOT/sts.json,
 * a key issued is appended to the file rather than the file rewritten, and
 * an unexpired key keeps working after a restart, also when a crash left
 * half a line at the end of the file.
 */
#define _GNU_SOURCE
#include "testlib.h"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BUCKET "keys-" TEST_APPID

static test_server g_srv;

typedef struct key { char *id, *secret, *token; long long expired; } key;

static void key_free(key *k)
{
    free(k->id);
    free(k->secret);
    free(k->token);
    memset(k, 0, sizeof *k);
}

/* GET /sts unsigned (--sts-open); the status, and the key when 200. */
static int issue(const test_server *s, int seconds, key *k, char **body_out)
{
    char req[512];
    int n = snprintf(req, sizeof req, "GET /sts?bucket=" BUCKET "&region=ap-guangzhou&allowPrefix=*&durationSeconds=%d "
                     "HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n", seconds, s->port);
    int status = 0;
    char *body = NULL;
    if (test_http_raw(s, req, (size_t)n, &status, &body) != 0) status = 0;
    memset(k, 0, sizeof *k);
    if (status == 200 && body) {
        k->id = test_json_str(body, "tmpSecretId");
        k->secret = test_json_str(body, "tmpSecretKey");
        k->token = test_json_str(body, "sessionToken");
        const char *e = strstr(body, "\"expiredTime\":");
        k->expired = e ? atoll(e + 14) : 0;
        CHECK(k->id && k->secret && k->token && k->expired > 0);
    }
    if (body_out) *body_out = body;
    else free(body);
    return status;
}

/* PUT (body non-NULL) or GET an object with the key; 0 when it worked (*got: the body of a GET). */
static int use_key(const test_server *s, const key *k, const char *object, const char *body, char **got)
{
    cos_config cfg;
    test_config(&cfg, s);
    cfg.secret_id = k->id;
    cfg.secret_key = k->secret;
    cfg.security_token = k->token;
    cfg.max_retries = 0;
    cos_client *c = NULL;
    cos_error *err = NULL;
    if (cos_client_new(&c, &cfg, &err) != 0) {
        cos_error_free(err);
        return -1;
    }
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = object;
    r.body.data = body;
    r.body.size = body ? strlen(body) : 0;
    cos_result *res = NULL;
    int rc = body ? cos_put_object(c, &r, &res, &err) : cos_get_object(c, &r, &res, &err);
    if (rc != 0) printf("  with the temporary key: %s\n", err ? cos_error_message(err) : "failed");
    if (rc == 0 && got && res) *got = res->body ? strndup((const char *)res->body, res->body_size) : strdup("");
    cos_result_free(res);
    cos_error_free(err);
    cos_client_free(c);
    return rc;
}

static char *read_sts_file(const test_server *s, struct stat *st)
{
    char path[400];
    snprintf(path, sizeof path, "%s/sts.json", s->root);
    if (st && stat(path, st) != 0) memset(st, 0, sizeof *st);
    FILE *f = fopen(path, "r");
    if (!f) return strdup("");
    size_t cap = 1 << 20, len = 0, n;
    char *text = malloc(cap + 1);
    while (text && len < cap && (n = fread(text + len, 1, cap - len, f)) > 0) len += n;
    fclose(f);
    if (text) text[len] = '\0';
    return text;
}

static int count_records(const char *text)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, "\"id\":")); p++) n++;
    return n;
}

static int restart(test_server *s, const char *const *args)
{
    test_server_stop(s, true);
    s->pid = 0;
    return test_server_start(s, args);
}

static const char *const ARGS[] = { "--sts-open", "--sts-max-keys", "4", "--no-fsync", NULL };

/* The bound, expiry making room, the file appended to, a restart. */
static void test_bound_expiry_restart(void)
{
    key live = { 0 }, brief[3] = { { 0 } }, extra = { 0 };
    CHECK_INT(issue(&g_srv, 7200, &live, NULL), 200);
    struct stat st0, st1;
    char *f0 = read_sts_file(&g_srv, &st0);
    free(f0);
    long long last = 0, first = 0;
    /* brief: a second, longer where the code runs slower (sanitizers, valgrind) */
    int brief_s = (int)test_slow_factor();
    for (int i = 0; i < 3; i++) {
        CHECK_INT(issue(&g_srv, brief_s, &brief[i], NULL), 200);
        if (brief[i].expired > last) last = brief[i].expired;
        if (!first || brief[i].expired < first) first = brief[i].expired;
    }
    /* appended, not rewritten: the same file, every key in it */
    char *f1 = read_sts_file(&g_srv, &st1);
    CHECK(st0.st_ino != 0 && st0.st_ino == st1.st_ino);
    CHECK(live.id && strstr(f1, live.id));
    for (int i = 0; i < 3; i++) CHECK(brief[i].id && strstr(f1, brief[i].id));
    CHECK_INT(count_records(f1), 4);
    free(f1);
    /* four live keys: the fifth is refused, clearly. Only while the brief
       keys live: a machine slow enough to outlive them meanwhile saw a key
       make room, which says nothing of the bound (that key is `extra`). */
    char *body = NULL;
    int st = issue(&g_srv, 7200, &extra, &body);
    bool have_extra = false;
    if ((long long)time(NULL) < first) {
        CHECK_INT(st, 429);
        CHECK(body && strstr(body, "\"code\":\"RequestLimitExceeded\"") && strstr(body, "\"error\":"));
    } else if (st == 200) {
        have_extra = true;
    }
    free(body);
    if (!have_extra) key_free(&extra);
    /* the live key works meanwhile */
    CHECK_INT(use_key(&g_srv, &live, "by-live.txt", "written by the live key", NULL), 0);
    /* once the brief keys have expired (by the clock, not by a wait for speed), they make room */
    while ((long long)time(NULL) <= last) usleep(100000);
    if (!have_extra) CHECK_INT(issue(&g_srv, 7200, &extra, NULL), 200);
    CHECK(brief[0].id && use_key(&g_srv, &brief[0], "by-brief.txt", "x", NULL) != 0);
    /* a restart: the unexpired keys work, the expired ones are gone from the file */
    CHECK_INT(restart(&g_srv, ARGS), 0);
    char *f2 = read_sts_file(&g_srv, NULL);
    CHECK(live.id && strstr(f2, live.id));
    CHECK(extra.id && strstr(f2, extra.id));
    for (int i = 0; i < 3; i++) CHECK(brief[i].id && !strstr(f2, brief[i].id));
    CHECK_INT(count_records(f2), 2);
    free(f2);
    char *got = NULL;
    CHECK_INT(use_key(&g_srv, &live, "by-live.txt", NULL, &got), 0);
    CHECK_STR(got, "written by the live key");
    free(got);
    CHECK_INT(use_key(&g_srv, &extra, "by-extra.txt", "after the restart", NULL), 0);
    key_free(&live);
    key_free(&extra);
    for (int i = 0; i < 3; i++) key_free(&brief[i]);
}

/* Half a line at the end (a crash in the middle of an append, never
 * answered): the keys before it live on, and so do keys issued after it. */
static void test_torn_append(void)
{
    key before = { 0 }, after = { 0 };
    CHECK_INT(restart(&g_srv, ARGS), 0); /* a fresh start: the keys of the test before are 2 of 4 */
    CHECK_INT(issue(&g_srv, 7200, &before, NULL), 200);
    test_server_stop(&g_srv, true);
    g_srv.pid = 0;
    char path[400];
    snprintf(path, sizeof path, "%s/sts.json", g_srv.root);
    FILE *f = fopen(path, "a");
    CHECK(f != NULL);
    if (f) {
        fputs("{\"id\":\"AKIDtorn000000000000000000000000000\",\"key\":\"tor", f);
        fclose(f);
    }
    CHECK_INT(test_server_start(&g_srv, ARGS), 0);
    CHECK_INT(use_key(&g_srv, &before, "torn-before.txt", "before", NULL), 0);
    CHECK_INT(issue(&g_srv, 7200, &after, NULL), 200);
    CHECK_INT(restart(&g_srv, ARGS), 0);
    CHECK_INT(use_key(&g_srv, &before, "torn-before2.txt", "before", NULL), 0);
    CHECK_INT(use_key(&g_srv, &after, "torn-after.txt", "after", NULL), 0);
    char *text = read_sts_file(&g_srv, NULL);
    CHECK(!strstr(text, "AKIDtorn"));
    free(text);
    key_free(&before);
    key_free(&after);
}

/* A flood with the default bound: every key is one line more, the file is
 * never rewritten for it, and each key works. */
static void test_flood_appends(void)
{
    test_server srv;
    memset(&srv, 0, sizeof srv);
    const char *args[] = { "--sts-open", "--no-fsync", "--quiet", NULL };
    if (test_server_start(&srv, args) != 0) {
        CHECK(!"cos-server starts");
        return;
    }
    test_put_bucket_on(&srv, BUCKET);
    key first = { 0 }, k = { 0 };
    CHECK_INT(issue(&srv, 7200, &first, NULL), 200);
    struct stat st0, st1;
    free(read_sts_file(&srv, &st0));
    int ok = 0;
    for (int i = 0; i < 300; i++) {
        if (issue(&srv, 7200, &k, NULL) == 200) ok++;
        if (i < 299) key_free(&k);
    }
    CHECK_INT(ok, 300);
    char *text = read_sts_file(&srv, &st1);
    CHECK(st0.st_ino == st1.st_ino);
    CHECK_INT(count_records(text), 301);
    free(text);
    CHECK_INT(use_key(&srv, &first, "first.txt", "first", NULL), 0);
    CHECK_INT(use_key(&srv, &k, "last.txt", "last", NULL), 0);
    key_free(&first);
    key_free(&k);
    test_server_stop(&srv, false);
}

int main(void)
{
    if (test_server_start(&g_srv, ARGS) != 0) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    test_put_bucket_on(&g_srv, BUCKET);
    RUN(test_bound_expiry_restart);
    RUN(test_torn_append);
    RUN(test_flood_appends);
    test_server_stop(&g_srv, false);
    return test_report();
}

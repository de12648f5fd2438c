/* test_sign.c — the COS signature, presigned URLs and URL building against the official SDK's vectors. */
#include <pthread.h>
#include "testlib.h"
#include "json.h"
#include "signer.h"
#include "url.h"

static cos_json *load(const char *name)
{
    size_t len;
    char *text = test_read_data(name, &len);
    cos_json *j = text ? cos_json_parse(text, len, NULL) : NULL;
    free(text);
    CHECK(j != NULL);
    return j;
}

/* JSON object -> cos_kv array (borrowing the JSON's strings). */
static cos_kv *to_kv(const cos_json *obj, size_t *n)
{
    *n = obj ? obj->count : 0;
    cos_kv *kv = calloc(*n ? *n : 1, sizeof *kv);
    for (size_t i = 0; i < *n; i++) {
        kv[i].name = obj->items[i].key;
        kv[i].value = obj->items[i].str ? obj->items[i].str : "";
    }
    return kv;
}

static void test_sign_vectors(void)
{
    cos_json *j = load("sign.json");
    const cos_json *cases = cos_json_get(j, "cases");
    CHECK(cases && cases->count >= 60);
    for (size_t i = 0; cases && i < cases->count; i++) {
        const cos_json *c = &cases->items[i];
        cos_sign_params p = COS_SIGN_PARAMS_INIT;
        p.secret_id = cos_json_get_str(c, "secret_id");
        p.secret_key = cos_json_get_str(c, "secret_key");
        p.method = cos_json_get_str(c, "method");
        p.key = cos_json_get_str(c, "key");
        p.pathname = cos_json_get_str(c, "pathname");
        p.query = to_kv(cos_json_get(c, "query"), &p.query_count);
        p.headers = to_kv(cos_json_get(c, "headers"), &p.header_count);
        const char *kt = cos_json_get_str(c, "key_time");
        long long s = 0, e = 0;
        sscanf(kt, "%lld;%lld", &s, &e);
        p.start_time = s;
        p.end_time = e;
        const char *bucket = cos_json_get_str(c, "bucket"), *region = cos_json_get_str(c, "region");
        char host[256] = "";
        if (bucket && region) snprintf(host, sizeof host, "%s.cos.%s.myqcloud.com", bucket, region);
        p.host = host;
        const cos_json *fsh = cos_json_get(c, "force_sign_host");
        p.no_sign_host = fsh && fsh->type == COS_JSON_BOOL && !fsh->boolean;
        char *auth = NULL;
        cos_error *err = NULL;
        CHECK_OK(cos_sign(&p, &auth, NULL, &err), err);
        if (auth && strcmp(auth, cos_json_get_str(c, "authorization")) != 0) {
            int64_t id = 0;
            cos_json_get_i64(c, "id", &id);
            test_fail(__FILE__, __LINE__, "sign case %lld:\n got  %s\n want %s", (long long)id, auth,
                      cos_json_get_str(c, "authorization"));
        }
        /* The parser reads back what we wrote, and the server-side recomputation agrees. */
        cos_auth_fields f;
        CHECK(auth && cos_auth_parse(auth, &f) == 0);
        if (auth) {
            CHECK_STR(f.ak, p.secret_id);
            CHECK_STR(f.key_time, kt);
            cos_auth_fields_free(&f);
        }
        free(auth);
        free((void *)p.query);
        free((void *)p.headers);
    }
    cos_json_free(j);
}

/* The SignKey (HMAC of the secret and the KeyTime) is kept per thread for
 * the next signature: a signature with another secret (one a prefix of the
 * other, or the same length), or another KeyTime, in between must not reuse
 * it. Vector 1 signed between such decoys still gives the SDK's value, and
 * each decoy gives what it gives on a fresh thread's first signature. */
static char *sign_one(const char *secret_key, int64_t start, int64_t end)
{
    cos_sign_params p = COS_SIGN_PARAMS_INIT;
    p.secret_id = "AKIDEXAMPLEexampleEXAMPLEexample1234";
    p.secret_key = secret_key;
    p.method = "get";
    p.key = "";
    p.start_time = start;
    p.end_time = end;
    char *auth = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_sign(&p, &auth, NULL, &err), err);
    return auth;
}

typedef struct decoy { const char *secret; int64_t start, end; char *fresh; } decoy;

static void *sign_fresh(void *arg)
{
    decoy *d = arg;
    d->fresh = sign_one(d->secret, d->start, d->end);
    return NULL;
}

static void test_sign_key_cache(void)
{
    cos_json *j = load("sign.json");
    const cos_json *c = &cos_json_get(j, "cases")->items[0];
    const char *want = cos_json_get_str(c, "authorization");
    const char *secret = cos_json_get_str(c, "secret_key");
    char prefix[64], same_len[64];
    snprintf(prefix, sizeof prefix, "%.*s", (int)strlen(secret) - 1, secret);
    snprintf(same_len, sizeof same_len, "%s", secret);
    same_len[0] ^= 1;
    decoy decoys[] = {
        { prefix, 1700000000, 1700000900, NULL },
        { same_len, 1700000000, 1700000900, NULL },
        { secret, 1700000001, 1700000900, NULL },  /* another KeyTime */
        { secret, 1700000000, 1700000901, NULL },
    };
    for (size_t i = 0; i < sizeof decoys / sizeof decoys[0]; i++) { /* each on a thread of its own: no cache yet */
        pthread_t t;
        CHECK(pthread_create(&t, NULL, sign_fresh, &decoys[i]) == 0);
        pthread_join(t, NULL);
        CHECK(decoys[i].fresh && strcmp(decoys[i].fresh, want) != 0);
    }
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < sizeof decoys / sizeof decoys[0]; i++) {
            char *a = sign_one(secret, 1700000000, 1700000900);
            CHECK_STR(a, want);
            free(a);
            char *d = sign_one(decoys[i].secret, decoys[i].start, decoys[i].end);
            CHECK_STR(d, decoys[i].fresh);
            free(d);
        }
    for (size_t i = 0; i < sizeof decoys / sizeof decoys[0]; i++) free(decoys[i].fresh);
    cos_json_free(j);
}

static void test_sign_debug_and_errors(void)
{
    cos_sign_params p = COS_SIGN_PARAMS_INIT;
    p.secret_id = "AKIDx";
    p.secret_key = "key";
    p.method = "PUT";
    p.key = "a b.txt";
    cos_kv h[] = { { "User-Agent", "x" }, { "x-cos-meta-A", "1" }, { "Content-Type", "text/plain" } };
    p.headers = h;
    p.header_count = 3;
    p.start_time = 1700000000;
    p.end_time = 1700000900;
    p.no_sign_host = true;
    char *auth = NULL;
    cos_sign_debug d = { 0 };
    cos_error *err = NULL;
    CHECK_OK(cos_sign(&p, &auth, &d, &err), err);
    CHECK(strstr(auth, "q-header-list=content-type;x-cos-meta-a&") != NULL);
    CHECK_STR(d.format_string, "put\n/a b.txt\n\ncontent-type=text%2Fplain&x-cos-meta-a=1\n");
    CHECK(strncmp(d.string_to_sign, "sha1\n1700000000;1700000900\n", 27) == 0);
    cos_sign_debug_free(&d);
    free(auth);
    p.secret_key = NULL;
    CHECK(cos_sign(&p, &auth, NULL, &err) == COS_ERR_INVALID_ARG);
    CHECK_STR(err->field, "secret_key");
    cos_error_free(err);
    CHECK(cos_sign_header_allowed("X-COS-ACL"));
    CHECK(cos_sign_header_allowed("x-ci-foo"));
    CHECK(!cos_sign_header_allowed("user-agent"));
    CHECK(!cos_sign_header_allowed("date"));
}

static void test_auth_parse(void)
{
    cos_auth_fields f;
    CHECK(cos_auth_parse("q-sign-algorithm=sha1&q-ak=AK&q-sign-time=1;2&q-key-time=1;2&q-header-list=host"
                         "&q-url-param-list=a%3bb&q-signature=abc", &f) == 0);
    CHECK_STR(f.url_param_list, "a;b");
    CHECK_STR(f.header_list, "host");
    cos_auth_fields_free(&f);
    CHECK(cos_auth_parse("q-ak=AK&q-signature=abc", &f) != 0);
    CHECK(cos_auth_parse("", &f) != 0);
    CHECK(cos_auth_parse("q-sign-algorithm=sha1&q-ak=%zz&q-key-time=1;2&q-header-list=&q-url-param-list=&q-signature=x", &f) != 0);
}

static void test_presign_vectors(void)
{
    cos_json *j = load("presign.json");
    const cos_json *cases = cos_json_get(j, "cases");
    CHECK(cases && cases->count >= 10);
    for (size_t i = 0; cases && i < cases->count; i++) {
        const cos_json *c = &cases->items[i];
        const cos_json *cl = cos_json_get(c, "client"), *pa = cos_json_get(c, "params");
        cos_endpoint ep = { 0 };
        ep.protocol = cos_json_get_str(cl, "Protocol");
        ep.domain = cos_json_get_str(cl, "Domain");
        const cos_json *acc = cos_json_get(cl, "UseAccelerate");
        ep.accelerate = acc && acc->boolean;
        const cos_json *ps = cos_json_get(cl, "ForcePathStyle");
        ep.path_style = ps && ps->boolean;
        cos_presign_input in = { 0 };
        in.ep = &ep;
        in.bucket = cos_json_get_str(pa, "Bucket");
        in.region = cos_json_get_str(pa, "Region");
        in.key = cos_json_get_str(pa, "Key");
        in.method = cos_json_get_str(pa, "Method");
        const cos_json *sign = cos_json_get(pa, "Sign");
        if (!(sign && sign->type == COS_JSON_BOOL && !sign->boolean)) {
            in.secret_id = cos_json_get_str(cl, "secret_id");
            in.secret_key = cos_json_get_str(cl, "secret_key");
        }
        in.security_token = cos_json_get_str(cl, "SecurityToken");
        int64_t now = 0, expires = 0;
        cos_json_get_i64(c, "now_unix", &now);
        in.start_time = now - 1;
        if (cos_json_get_i64(pa, "Expires", &expires)) in.expires = (int)expires;
        in.query = to_kv(cos_json_get(pa, "Query"), &in.query_count);
        const cos_json *fsh = cos_json_get(cl, "ForceSignHost");
        in.no_sign_host = fsh && fsh->type == COS_JSON_BOOL && !fsh->boolean;
        char *url = NULL;
        cos_error *err = NULL;
        CHECK_OK(cos_presign_build(&in, &url, &err), err);
        if (url && strcmp(url, cos_json_get_str(c, "url")) != 0)
            test_fail(__FILE__, __LINE__, "presign case %zu (%s):\n got  %s\n want %s", i + 1,
                      cos_json_get_str(c, "desc"), url, cos_json_get_str(c, "url"));
        free(url);
        free((void *)in.query);
    }
    cos_json_free(j);
}

static void test_urls(void)
{
    cos_endpoint ep = { 0 };
    char *url = NULL, *path = NULL;
    cos_kv q[] = { { "acl", "" }, { "prefix", "a b/" } };
    CHECK(cos_url_build(&ep, "b-1250000000", "ap-guangzhou", "dir/x y+z.txt", q, 2, &url, &path) == 0);
    CHECK_STR(url, "https://b-1250000000.cos.ap-guangzhou.myqcloud.com/dir/x%20y%2Bz.txt?acl&prefix=a%20b%2F");
    CHECK_STR(path, "/dir/x y+z.txt");
    free(url);
    free(path);
    ep.path_style = true;
    ep.protocol = "http:";
    ep.domain = "127.0.0.1:9000";
    CHECK(cos_url_build(&ep, "b-1250000000", "ap-guangzhou", "/k", NULL, 0, &url, &path) == 0);
    CHECK_STR(url, "http://127.0.0.1:9000/b-1250000000/k");
    CHECK_STR(path, "/b-1250000000/k");
    free(url);
    free(path);
    cos_endpoint ep2 = { 0 };
    char *h = cos_url_host(&ep2, NULL, NULL);
    CHECK_STR(h, "service.cos.myqcloud.com");
    free(h);
    ep2.domain = "{BucketName}-{AppId}.{Region}.example.com/";
    h = cos_url_host(&ep2, "pic-1250000000", "ap-beijing");
    CHECK_STR(h, "pic-1250000000.ap-beijing.example.com");
    free(h);
    cos_endpoint ep3 = { 0 };
    h = cos_url_host(&ep3, "pic-1250000000", "cn-south");
    CHECK_STR(h, "pic-1250000000.cn-south.myqcloud.com");
    free(h);
    cos_buf b = COS_BUF_INIT;
    cos_uri_encode(&b, "!'()*~-_. /中", strlen("!'()*~-_. /中"), false);
    CHECK_STR(b.data, "%21%27%28%29%2A~-_.%20%2F%E4%B8%AD");
    cos_buf_free(&b);
    char *d = cos_uri_decode("a%20b%2Fc", 9);
    CHECK_STR(d, "a b/c");
    free(d);
    CHECK(cos_uri_decode("a%2", 3) == NULL);
    CHECK(cos_uri_decode("%zz", 3) == NULL);
}

static void test_validation(void)
{
    cos_error *err = NULL;
    CHECK(cos_check_bucket("examplebucket-1250000000", false, NULL) == 0);
    CHECK(cos_check_bucket("Example-1250000000", false, &err) == COS_ERR_INVALID_ARG);
    CHECK_STR(err->field, "bucket");
    cos_error_free(err);
    err = NULL;
    CHECK(cos_check_bucket("examplebucket", false, NULL) != 0);
    CHECK(cos_check_bucket("examplebucket-12a", false, NULL) != 0);
    CHECK(cos_check_bucket("-1250000000", false, NULL) != 0);
    /* SigV4 mode: S3's names, no APPID */
    CHECK(cos_check_bucket("examplebucket", true, NULL) == 0);
    CHECK(cos_check_bucket("logs.example-1", true, NULL) == 0);
    CHECK(cos_check_bucket("ab", true, NULL) != 0);
    CHECK(cos_check_bucket("-ab", true, NULL) != 0);
    CHECK(cos_check_bucket("Upper", true, NULL) != 0);
    CHECK(cos_check_region("ap-guangzhou", NULL) == 0);
    CHECK(cos_check_region("cos.ap-guangzhou", &err) != 0);
    CHECK_STR(err->field, "region");
    cos_error_free(err);
    CHECK(cos_check_region("AP_GZ", NULL) != 0);
    CHECK(cos_key_is_bucket_root("/"));
    CHECK(cos_key_is_bucket_root("./"));
    CHECK(cos_key_is_bucket_root("a/.."));
    CHECK(cos_key_is_bucket_root("//"));
    CHECK(!cos_key_is_bucket_root("a"));
    CHECK(cos_key_escapes_root("../x"));
    CHECK(cos_key_escapes_root("a/../../b"));
    CHECK(!cos_key_escapes_root("a/../b"));
    CHECK(!cos_key_escapes_root("a..b/..c"));
}

int main(void)
{
    RUN(test_sign_vectors);
    RUN(test_sign_key_cache);
    RUN(test_sign_debug_and_errors);
    RUN(test_auth_parse);
    RUN(test_presign_vectors);
    RUN(test_urls);
    RUN(test_validation);
    return test_report();
}

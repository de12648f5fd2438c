/* test_s3rver.c — libcos in SigV4 mode against s3rver (npm), a third-party
 * S3 server that checks every signature: bucket and object calls, keys that
 * need encoding, signed query strings, multipart uploadFile and ranged
 * downloadFile, S3 bucket names, and a wrong secret refused with
 * SignatureDoesNotMatch. tests/s3rver holds the pinned package and lockfile. */
#define _GNU_SOURCE
#include "testlib.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static test_server g_s3;
static char g_dir[200];
#define BUCKET "cos-c-sigv4"
#define ODD_KEY "dir/hello world+(1)=ü&.txt"

static cos_client *client(const char *secret)
{
    cos_config cfg;
    cos_config_init(&cfg);
    cfg.signer = COS_SIGNER_SIGV4;
    cfg.region = "us-east-1";
    cfg.protocol = "http:";
    cfg.domain = g_s3.endpoint; /* "127.0.0.1:PORT", bucket in the path */
    cfg.force_path_style = true;
    cfg.secret_id = "S3RVER";
    cfg.secret_key = secret;
    cfg.max_retries = -1;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    return c;
}

static void test_objects(void)
{
    cos_client *c = client("S3RVER");
    cos_error *err = NULL;
    cos_result *res = NULL;
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = ODD_KEY;
    r.body.data = "signed by SigV4";
    r.body.size = 15;
    r.content_type = "text/plain";
    CHECK_OK(cos_put_object(c, &r, &res, &err), err);
    cos_result_free(res);
    res = NULL;

    cos_request g = COS_REQUEST_INIT;
    g.bucket = BUCKET;
    g.key = ODD_KEY;
    CHECK_OK(cos_get_object(c, &g, &res, &err), err);
    if (res) CHECK(res->body_size == 15 && memcmp(res->body, "signed by SigV4", 15) == 0);
    cos_result_free(res);
    res = NULL;
    g.range = "bytes=10-14";
    CHECK_OK(cos_get_object(c, &g, &res, &err), err);
    if (res) CHECK(res->body_size == 5 && memcmp(res->body, "SigV4", 5) == 0);
    cos_result_free(res);
    res = NULL;

    /* a listing: prefix, delimiter and max-keys are all in the signed query */
    cos_request l = COS_REQUEST_INIT;
    l.bucket = BUCKET;
    l.prefix = "dir/";
    l.delimiter = "/";
    l.max_keys = 10;
    CHECK_OK(cos_get_bucket(c, &l, &res, &err), err);
    bool found = false;
    const cos_list_objects_result *lo = res ? res->output.list_objects : NULL;
    for (size_t i = 0; lo && i < lo->contents_count; i++)
        if (strcmp(lo->contents[i].key, ODD_KEY) == 0) found = true;
    CHECK(found);
    cos_result_free(res);
    res = NULL;

    CHECK_OK(cos_delete_object(c, &g, &res, &err), err);
    cos_result_free(res);
    res = NULL;
    cos_request h = COS_REQUEST_INIT;
    h.bucket = BUCKET;
    h.key = ODD_KEY;
    CHECK(cos_head_object(c, &h, &res, &err) != 0);
    CHECK(err && err->http_status == 404);
    cos_error_free(err);
    cos_result_free(res);
    cos_client_free(c);
}

static void test_multipart_transfer(void)
{
    cos_client *c = client("S3RVER");
    char src[600], back[600];
    snprintf(src, sizeof src, "%s/src.bin", g_dir);
    snprintf(back, sizeof back, "%s/back.bin", g_dir);
    CHECK(test_write_lcg_file(src, 5u * 1048576 + 12345, 7) == 0);
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = BUCKET;
    p.key = "big/object.bin";
    p.file_path = src;
    p.chunk_size = 1048576;
    p.slice_size = 1048576;
    p.no_resume = true;
    cos_transfer_result *tr = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_upload_file(c, &p, &tr, &err), err);
    if (tr) { /* 1 MiB asked, raised to S3's 5 MiB minimum: 5 MiB + 12345 bytes is 2 parts */
        CHECK(tr->multipart);
        CHECK_INT(tr->part_count, 2);
    }
    cos_transfer_result_free(tr);
    tr = NULL;
    p.file_path = back;
    CHECK_OK(cos_download_file(c, &p, &tr, &err), err);
    cos_transfer_result_free(tr);
    CHECK(test_files_equal(src, back) == 0);
    cos_client_free(c);
}

static const char *find_header(const cos_result *res, const char *name)
{
    for (size_t i = 0; res && i < res->header_count; i++)
        if (strcasecmp(res->headers[i].name, name) == 0) return res->headers[i].value;
    return NULL;
}

/* x-cos-copy-source must go out as x-amz-copy-source: under its COS name an
 * S3 store takes the copy for an empty PUT and the destination is 0 bytes */
static void test_copy_and_metadata(void)
{
    cos_client *c = client("S3RVER");
    cos_error *err = NULL;
    cos_result *res = NULL;
    static char body[70000];
    for (size_t i = 0; i < sizeof body; i++) body[i] = (char)('a' + (i * 7) % 26);
    cos_kv meta[] = { { "color", "blue" }, { "x-cos-meta-owner", "alice" } };
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = "copy/src.txt";
    r.body.data = body;
    r.body.size = sizeof body;
    r.meta = meta;
    r.meta_count = 2;
    CHECK_OK(cos_put_object(c, &r, &res, &err), err);
    cos_result_free(res);
    res = NULL;

    cos_request h = COS_REQUEST_INIT;
    h.bucket = BUCKET;
    h.key = "copy/src.txt";
    CHECK_OK(cos_head_object(c, &h, &res, &err), err);
    const char *v = find_header(res, "x-amz-meta-color");
    CHECK(v && strcmp(v, "blue") == 0);
    v = find_header(res, "x-amz-meta-owner");
    CHECK(v && strcmp(v, "alice") == 0);
    cos_result_free(res);
    res = NULL;

    cos_request cp = COS_REQUEST_INIT;
    cp.bucket = BUCKET;
    cp.key = "copy/dst.txt";
    cp.copy_source = "/" BUCKET "/copy/src.txt";
    CHECK_OK(cos_put_object_copy(c, &cp, &res, &err), err);
    cos_result_free(res);
    res = NULL;

    cos_request g = COS_REQUEST_INIT;
    g.bucket = BUCKET;
    g.key = "copy/dst.txt";
    CHECK_OK(cos_get_object(c, &g, &res, &err), err);
    CHECK(res && res->body_size == sizeof body && memcmp(res->body, body, sizeof body) == 0);
    v = find_header(res, "x-amz-meta-color"); /* a copy keeps the source's metadata */
    CHECK(v && strcmp(v, "blue") == 0);
    cos_result_free(res);
    res = NULL;

    /* a header S3 does not have is refused before anything is sent */
    cos_kv extra[] = { { "x-cos-traffic-limit", "819200" } };
    r.key = "copy/cos-only.txt";
    r.headers = extra;
    r.header_count = 1;
    CHECK(cos_put_object(c, &r, &res, &err) == COS_ERR_INVALID_ARG);
    CHECK(err && err->message && strstr(err->message, "x-cos-traffic-limit"));
    cos_error_free(err);
    err = NULL;
    h.key = "copy/cos-only.txt";
    CHECK(cos_head_object(c, &h, &res, &err) != 0);
    CHECK(err && err->http_status == 404);
    cos_error_free(err);
    cos_result_free(res);
    cos_client_free(c);
}

/* uploadFile with default options (1 MiB parts in COS mode): over S3 the
 * parts are raised to 5 MiB, so 12 MiB is 3 parts and completes */
static void test_upload_default_options(void)
{
    cos_client *c = client("S3RVER");
    char src[600], back[600];
    snprintf(src, sizeof src, "%s/twelve.bin", g_dir);
    snprintf(back, sizeof back, "%s/twelve.back", g_dir);
    CHECK(test_write_lcg_file(src, 12u * 1048576, 11) == 0);
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = BUCKET;
    p.key = "big/twelve.bin";
    p.file_path = src;
    cos_transfer_result *tr = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_upload_file(c, &p, &tr, &err), err);
    if (tr) {
        CHECK(tr->multipart);
        CHECK_INT(tr->part_count, 3);
    }
    cos_transfer_result_free(tr);
    tr = NULL;
    p.file_path = back;
    CHECK_OK(cos_download_file(c, &p, &tr, &err), err);
    cos_transfer_result_free(tr);
    tr = NULL;
    CHECK(test_files_equal(src, back) == 0);

    /* a simple uploadFile (under SliceSize) keeps its metadata and ACL */
    char tiny[600];
    snprintf(tiny, sizeof tiny, "%s/tiny.txt", g_dir);
    CHECK(test_write_lcg_file(tiny, 1000, 17) == 0);
    cos_kv meta[] = { { "origin", "uploadFile" } };
    cos_transfer_params tp = COS_TRANSFER_PARAMS_INIT;
    tp.bucket = BUCKET;
    tp.key = "small/tiny.txt";
    tp.file_path = tiny;
    tp.meta = meta;
    tp.meta_count = 1;
    CHECK_OK(cos_upload_file(c, &tp, &tr, &err), err);
    if (tr) CHECK(!tr->multipart);
    cos_transfer_result_free(tr);
    tr = NULL;
    cos_request h = COS_REQUEST_INIT;
    h.bucket = BUCKET;
    h.key = "small/tiny.txt";
    cos_result *res = NULL;
    CHECK_OK(cos_head_object(c, &h, &res, &err), err);
    const char *v = find_header(res, "x-amz-meta-origin");
    CHECK(v && strcmp(v, "uploadFile") == 0);
    CHECK(res && res->content_length == 1000);
    cos_result_free(res);

    /* sliceCopyFile takes S3's "/bucket/key"; under CopySliceSize (10 MiB)
       it is one CopyObject (s3rver has no UploadPartCopy) */
    char small[600], small_back[600];
    snprintf(small, sizeof small, "%s/three.bin", g_dir);
    snprintf(small_back, sizeof small_back, "%s/three.back", g_dir);
    CHECK(test_write_lcg_file(small, 3u * 1048576 + 7, 13) == 0);
    p.key = "big/three.bin";
    p.file_path = small;
    CHECK_OK(cos_upload_file(c, &p, &tr, &err), err);
    cos_transfer_result_free(tr);
    tr = NULL;
    cos_transfer_params cp = COS_TRANSFER_PARAMS_INIT;
    cp.bucket = BUCKET;
    cp.key = "big/three-copy.bin";
    cp.copy_source = "/" BUCKET "/big/three.bin";
    CHECK_OK(cos_slice_copy_file(c, &cp, &tr, &err), err);
    cos_transfer_result_free(tr);
    tr = NULL;
    p.key = "big/three-copy.bin";
    p.file_path = small_back;
    CHECK_OK(cos_download_file(c, &p, &tr, &err), err);
    cos_transfer_result_free(tr);
    CHECK(test_files_equal(small, small_back) == 0);
    cos_client_free(c);
}

static void test_wrong_secret(void)
{
    cos_client *c = client("not-the-secret");
    cos_error *err = NULL;
    cos_result *res = NULL;
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = "denied.txt";
    r.body.data = "x";
    r.body.size = 1;
    CHECK(cos_put_object(c, &r, &res, &err) != 0);
    CHECK(err != NULL);
    if (err) {
        CHECK_INT(err->kind, COS_ERR_SERVER);
        CHECK_INT(err->http_status, 403);
        CHECK_STR(err->code, "SignatureDoesNotMatch");
    }
    cos_error_free(err);
    cos_result_free(res);
    cos_client_free(c);
}

static void test_bucket_names(void)
{
    cos_client *c = client("S3RVER");
    cos_error *err = NULL;
    cos_result *res = NULL;
    cos_request b = COS_REQUEST_INIT;
    b.bucket = "Not_An_S3_Name"; /* refused before anything is sent */
    CHECK(cos_put_bucket(c, &b, &res, &err) == COS_ERR_INVALID_ARG);
    CHECK(err && err->field && strcmp(err->field, "bucket") == 0);
    cos_error_free(err);
    err = NULL;
    b.bucket = "second.bucket-2";
    CHECK_OK(cos_put_bucket(c, &b, &res, &err), err);
    cos_result_free(res);
    res = NULL;
    CHECK_OK(cos_delete_bucket(c, &b, &res, &err), err);
    cos_result_free(res);
    cos_client_free(c);
}

int main(void)
{
    const char *src = getenv("COS_SOURCE_DIR");
    char pkg[512], script[600], cmd[1200];
    snprintf(pkg, sizeof pkg, "%s/tests/s3rver", src ? src : ".");
    snprintf(script, sizeof script, "%s/serve.js", pkg);
    snprintf(cmd, sizeof cmd, "test -d '%s/node_modules/s3rver' || (cd '%s' && npm ci --no-audit --no-fund --silent)",
             pkg, pkg);
    if (system(cmd) != 0) {
        printf("npm ci in %s failed (node and npm: scripts/install-deps.sh)\n0 passed, 1 failed\n", pkg);
        return 1;
    }
    char *d = test_tmpdir("s3rver");
    snprintf(g_dir, sizeof g_dir, "%s", d);
    free(d);
    snprintf(g_s3.root, sizeof g_s3.root, "%s/data", g_dir);
    char port_file[600];
    snprintf(port_file, sizeof port_file, "%s/port", g_dir);
    const char *argv[] = { "node", script, g_s3.root, port_file, NULL };
    if (test_spawn_listener(&g_s3, argv, port_file) != 0) {
        printf("s3rver did not start\n0 passed, 1 failed\n");
        return 1;
    }
    cos_client *admin = client("S3RVER");
    test_put_bucket(admin, BUCKET);
    cos_client_free(admin);
    RUN(test_objects);
    RUN(test_multipart_transfer);
    RUN(test_copy_and_metadata);
    RUN(test_upload_default_options);
    RUN(test_wrong_secret);
    RUN(test_bucket_names);
    test_server_stop(&g_s3, false);
    test_rmtree(g_dir);
    return test_report();
}

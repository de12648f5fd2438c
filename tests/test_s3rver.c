/* test_s3rver.c — libcos in its S3 dialect against s3rver (npm), behind a
 * gate (tests/s3rver/serve.js) that checks every signature, header and
 * presigned, with the AWS SDK's own signer: bucket and object calls, keys
 * that need encoding, signed query strings, multipart uploadFile and ranged
 * downloadFile, copies and metadata byte for byte, presigned GET and PUT
 * fetched with libcurl, ListObjectsV2 paging, COS-only operations refused
 * and never sent, S3 bucket names, S3's error documents, and a wrong secret
 * refused with SignatureDoesNotMatch. tests/s3rver holds the pinned
 * packages and lockfile. */
#define _GNU_SOURCE
#include "testlib.h"
#include "util.h"
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
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

/* The same store through the dialect's own fields: endpoint (an IP address,
 * so path-style on its own) instead of a domain template. */
static cos_client *endpoint_client(const char *secret, const char *token)
{
    static char endpoint[80];
    snprintf(endpoint, sizeof endpoint, "http://%s", g_s3.endpoint);
    cos_config cfg;
    cos_config_init(&cfg);
    cfg.dialect = COS_DIALECT_S3;
    cfg.region = "us-east-1";
    cfg.endpoint = endpoint;
    cfg.secret_id = "S3RVER";
    cfg.secret_key = secret;
    cfg.security_token = token;
    cfg.max_retries = -1;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    return c;
}

typedef struct curl_io {
    const char *up;
    size_t up_len, up_pos;
    char down[8192];
    size_t down_len;
} curl_io;

static size_t curl_read(char *buf, size_t size, size_t n, void *ud)
{
    curl_io *io = ud;
    size_t k = COS_MIN(size * n, io->up_len - io->up_pos);
    memcpy(buf, io->up + io->up_pos, k);
    io->up_pos += k;
    return k;
}

static size_t curl_write(char *buf, size_t size, size_t n, void *ud)
{
    curl_io *io = ud;
    size_t k = COS_MIN(size * n, sizeof io->down - 1 - io->down_len);
    memcpy(io->down + io->down_len, buf, k);
    io->down_len += k;
    io->down[io->down_len] = 0;
    return size * n;
}

/* Fetch a URL with plain libcurl, as a browser or another program would:
 * a PUT of `body` when it is not NULL, else a GET. The HTTP status. */
static long fetch(const char *url, const char *body, const char *content_type, curl_io *io)
{
    memset(io, 0, sizeof *io);
    CURL *h = curl_easy_init();
    struct curl_slist *hs = NULL;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, curl_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, io);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    if (body) {
        io->up = body;
        io->up_len = strlen(body);
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, curl_read);
        curl_easy_setopt(h, CURLOPT_READDATA, io);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)io->up_len);
        hs = curl_slist_append(hs, "Expect:");
    }
    if (content_type) {
        char line[200];
        snprintf(line, sizeof line, "Content-Type: %s", content_type);
        hs = curl_slist_append(hs, line);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
    long status = 0;
    if (curl_easy_perform(h) == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hs);
    curl_easy_cleanup(h);
    return status;
}

/* Presigned URLs from cos_get_object_url in the S3 dialect, used by plain
 * libcurl: a PUT (its Content-Type signed) and a GET; the gate recomputes
 * each with the AWS SDK's presigner. A URL for another key, an expired
 * one and one signed with a wrong secret are refused. */
static void test_presigned_urls(void)
{
    cos_client *c = endpoint_client("S3RVER", NULL);
    cos_error *err = NULL;
    const char *body = "uploaded through a presigned URL";
    cos_kv ct[] = { { "Content-Type", "text/plain" } };
    cos_url_params up = COS_URL_PARAMS_INIT;
    up.bucket = BUCKET;
    up.key = "presigned/" ODD_KEY;
    up.method = "PUT";
    up.headers = ct;
    up.header_count = 1;
    char *url = NULL;
    CHECK_OK(cos_get_object_url(c, &up, &url, &err), err);
    CHECK(url && strstr(url, "X-Amz-Signature=") && strstr(url, "X-Amz-SignedHeaders=content-type%3Bhost") &&
          !strstr(url, "q-sign"));
    curl_io io;
    if (url) CHECK_INT(fetch(url, body, "text/plain", &io), 200);
    if (url) CHECK_INT(fetch(url, body, "text/html", &io), 403); /* the signed Content-Type is not what is sent */
    free(url);
    url = NULL;

    cos_url_params get = COS_URL_PARAMS_INIT;
    get.bucket = BUCKET;
    get.key = "presigned/" ODD_KEY;
    CHECK_OK(cos_get_object_url(c, &get, &url, &err), err);
    if (url) {
        CHECK_INT(fetch(url, NULL, NULL, &io), 200);
        CHECK_STR(io.down, body);
        /* the signature covers the path: another key with the same query is refused */
        char *other = cos_sprintf("http://%s/%s/presigned/other.txt%s", g_s3.endpoint, BUCKET, strchr(url, '?'));
        CHECK_INT(fetch(other, NULL, NULL, &io), 403);
        CHECK(strstr(io.down, "SignatureDoesNotMatch") != NULL);
        free(other);
    }
    free(url);
    url = NULL;
    /* expired: a window that closed an hour ago */
    get.start_time = (int64_t)time(NULL) - 3600;
    get.expires = 60;
    CHECK_OK(cos_get_object_url(c, &get, &url, &err), err);
    if (url) CHECK_INT(fetch(url, NULL, NULL, &io), 403);
    free(url);
    url = NULL;
    get.start_time = 0;
    get.expires = 604801; /* S3's limit is 7 days: refused here, not by the server */
    CHECK(cos_get_object_url(c, &get, &url, &err) == COS_ERR_INVALID_ARG);
    CHECK(url == NULL);
    cos_error_free(err);
    err = NULL;
    get.expires = 0;
    cos_client_free(c);

    cos_client *wrong = endpoint_client("not-the-secret", NULL);
    CHECK_OK(cos_get_object_url(wrong, &get, &url, &err), err);
    if (url) CHECK_INT(fetch(url, NULL, NULL, &io), 403);
    free(url);
    url = NULL;
    cos_client_free(wrong);

    /* a temporary key: the token travels as X-Amz-Security-Token, signed */
    cos_client *tmp = endpoint_client("S3RVER", "session/token+1=");
    CHECK_OK(cos_get_object_url(tmp, &get, &url, &err), err);
    CHECK(url && strstr(url, "X-Amz-Security-Token=session%2Ftoken%2B1%3D"));
    if (url) {
        CHECK_INT(fetch(url, NULL, NULL, &io), 200);
        CHECK_STR(io.down, body);
    }
    free(url);
    cos_client_free(tmp);
}

static int g_v2_pages, g_v2_tokens, g_v2_start_after;
static int count_v2(void *ud, cos_outgoing *o)
{
    (void)ud;
    const char *u = cos_outgoing_url(o);
    g_v2_pages += strstr(u, "list-type=2") != NULL;
    g_v2_tokens += strstr(u, "continuation-token=") != NULL;
    g_v2_start_after += strstr(u, "start-after=") != NULL;
    return 0;
}

/* ListObjectsV2 behind the iterator: pages of 2 over 7 keys, continuation
 * tokens from the store, start-after from the caller's marker. */
static void test_list_v2_paging(void)
{
    static char endpoint[80];
    snprintf(endpoint, sizeof endpoint, "http://%s", g_s3.endpoint);
    cos_config cfg;
    cos_config_init(&cfg);
    cfg.dialect = COS_DIALECT_S3;
    cfg.region = "us-east-1";
    cfg.endpoint = endpoint;
    cfg.secret_id = "S3RVER";
    cfg.secret_key = "S3RVER";
    cfg.before_send = count_v2;
    cos_client *c = NULL;
    cos_error *e0 = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &e0), e0);
    cos_error *err = NULL;
    cos_result *res = NULL;
    char key[64];
    for (int i = 0; i < 7; i++) {
        snprintf(key, sizeof key, "v2/key-%d", i);
        cos_request r = COS_REQUEST_INIT;
        r.bucket = BUCKET;
        r.key = key;
        r.body.data = key;
        r.body.size = strlen(key);
        CHECK_OK(cos_put_object(c, &r, &res, &err), err);
        cos_result_free(res);
        res = NULL;
    }
    cos_request l = COS_REQUEST_INIT;
    l.bucket = BUCKET;
    l.prefix = "v2/";
    l.max_keys = 2;
    cos_object_iter *it = NULL;
    CHECK_OK(cos_object_iter_new(&it, c, &l, &err), err);
    const cos_object_summary *o;
    int n = 0, rc;
    while (it && (rc = cos_object_iter_next(it, &o, &err)) == 1) {
        snprintf(key, sizeof key, "v2/key-%d", n);
        CHECK_STR(o->key, key);
        CHECK_INT((int)o->size, (int)strlen(key));
        n++;
    }
    CHECK_INT(n, 7);
    CHECK_INT(g_v2_pages, 4); /* 2+2+2+1 */
    CHECK_INT(g_v2_tokens, 3);
    CHECK_INT(g_v2_start_after, 0);
    cos_error_free(err);
    err = NULL;
    cos_object_iter_free(it);
    it = NULL;
    l.marker = "v2/key-4"; /* start-after */
    CHECK_OK(cos_object_iter_new(&it, c, &l, &err), err);
    n = 0;
    while (it && cos_object_iter_next(it, &o, &err) == 1) {
        snprintf(key, sizeof key, "v2/key-%d", 5 + n);
        CHECK_STR(o->key, key);
        n++;
    }
    CHECK_INT(n, 2);
    CHECK_INT(g_v2_start_after, 1);
    cos_object_iter_free(it);

    /* one page by hand: the V2 fields are filled */
    cos_kv v2[] = { { "list-type", "2" } };
    cos_request p = COS_REQUEST_INIT;
    p.bucket = BUCKET;
    p.prefix = "v2/";
    p.max_keys = 3;
    p.query = v2;
    p.query_count = 1;
    CHECK_OK(cos_get_bucket(c, &p, &res, &err), err);
    const cos_list_objects_result *lo = res ? res->output.list_objects : NULL;
    CHECK(lo && lo->is_truncated && lo->next_continuation_token && lo->key_count == 3 && lo->contents_count == 3);
    cos_result_free(res);
    cos_client_free(c);
}

/* Operations and parameters S3 does not have fail up front, by name, and
 * nothing reaches the store; S3's error documents keep their request ids. */
static void test_cos_only_refused(void)
{
    cos_client *c = endpoint_client("S3RVER", NULL);
    cos_error *err = NULL;
    cos_result *res = NULL;
    cos_request a = COS_REQUEST_INIT;
    a.bucket = BUCKET;
    a.key = "cos-only/appended.txt";
    a.body.data = "x";
    a.body.size = 1;
    CHECK(cos_append_object(c, &a, &res, &err) == COS_ERR_INVALID_ARG);
    CHECK(err && err->message && strstr(err->message, "appendObject is COS-only") && err->field &&
          strcmp(err->field, "op") == 0);
    cos_error_free(err);
    err = NULL;
    CHECK(cos_post_object(c, &a, &res, &err) == COS_ERR_INVALID_ARG);
    cos_error_free(err);
    err = NULL;
    CHECK(cos_append_object_async(c, &a, NULL, NULL) != 0); /* refused before the callback check matters */
    cos_request b = COS_REQUEST_INIT;
    b.bucket = BUCKET;
    CHECK(cos_get_bucket_referer(c, &b, &res, &err) == COS_ERR_INVALID_ARG);
    cos_error_free(err);
    err = NULL;
    CHECK(cos_delete_bucket_origin(c, &b, &res, &err) == COS_ERR_INVALID_ARG);
    cos_error_free(err);
    err = NULL;
    /* a COS data-processing parameter on a GET: S3 would hand back the plain object */
    cos_request put = COS_REQUEST_INIT;
    put.bucket = BUCKET;
    put.key = "cos-only/pic.jpg";
    put.body.data = "jpeg";
    put.body.size = 4;
    CHECK_OK(cos_put_object(c, &put, &res, &err), err);
    cos_result_free(res);
    res = NULL;
    cos_kv ci[] = { { "ci-process", "ImageInfo" } };
    cos_request g = COS_REQUEST_INIT;
    g.bucket = BUCKET;
    g.key = "cos-only/pic.jpg";
    g.query = ci;
    g.query_count = 1;
    CHECK(cos_get_object(c, &g, &res, &err) == COS_ERR_INVALID_ARG);
    CHECK(err && err->message && strstr(err->message, "ci-process"));
    cos_error_free(err);
    err = NULL;
    /* nothing was appended */
    cos_request h = COS_REQUEST_INIT;
    h.bucket = BUCKET;
    h.key = "cos-only/appended.txt";
    CHECK(cos_head_object(c, &h, &res, &err) != 0);
    CHECK(err && err->http_status == 404);
    cos_error_free(err);
    err = NULL;
    cos_client_free(c);

    /* S3's error document: code, message, RequestId, HostId, status */
    cos_client *wrong = endpoint_client("not-the-secret", NULL);
    g.query = NULL;
    g.query_count = 0;
    CHECK(cos_get_object(wrong, &g, &res, &err) == COS_ERR_SERVER);
    if (err) {
        CHECK_INT(err->http_status, 403);
        CHECK_STR(err->code, "SignatureDoesNotMatch");
        CHECK(err->request_id && strncmp(err->request_id, "GATE", 4) == 0);
        CHECK(err->trace_id && strncmp(err->trace_id, "host-GATE", 9) == 0);
        CHECK(err->message && strcmp(err->message, "signature differs") == 0);
    }
    cos_error_free(err);
    err = NULL;
    cos_request miss = COS_REQUEST_INIT;
    miss.bucket = BUCKET;
    miss.key = "cos-only/missing.txt";
    CHECK(cos_get_object(c = endpoint_client("S3RVER", NULL), &miss, &res, &err) == COS_ERR_SERVER);
    if (err) {
        CHECK_INT(err->http_status, 404);
        CHECK_STR(err->code, "NoSuchKey");
    }
    cos_error_free(err);
    cos_client_free(c);
    cos_client_free(wrong);
}

/* Copies and metadata byte for byte through the dialect: a REPLACE copy
 * takes the new metadata and Content-Type, a COPY keeps the source's; a
 * 12 MiB upload in 5 MiB parts carries its metadata too. */
static void test_copy_replace_metadata(void)
{
    cos_client *c = endpoint_client("S3RVER", NULL);
    cos_error *err = NULL;
    cos_result *res = NULL;
    static unsigned char body[100000];
    for (size_t i = 0; i < sizeof body; i++) body[i] = (unsigned char)(i * 131 + 7); /* every byte value */
    cos_kv meta[] = { { "a", "1" }, { "utf8", "caf%C3%A9" } };
    cos_request r = COS_REQUEST_INIT;
    r.bucket = BUCKET;
    r.key = "meta/src.bin";
    r.body.data = body;
    r.body.size = sizeof body;
    r.content_type = "application/x-src";
    r.meta = meta;
    r.meta_count = 2;
    CHECK_OK(cos_put_object(c, &r, &res, &err), err);
    cos_result_free(res);
    res = NULL;
    cos_kv newmeta[] = { { "b", "two" } };
    cos_kv directive[] = { { "x-cos-metadata-directive", "Replaced" } };
    cos_request cp = COS_REQUEST_INIT;
    cp.bucket = BUCKET;
    cp.key = "meta/replaced.bin";
    cp.copy_source = "/" BUCKET "/meta/src.bin";
    cp.content_type = "application/x-new";
    cp.meta = newmeta;
    cp.meta_count = 1;
    directive[0].value = "REPLACE";
    cp.headers = directive;
    cp.header_count = 1;
    CHECK_OK(cos_put_object_copy(c, &cp, &res, &err), err);
    cos_result_free(res);
    res = NULL;
    cos_request g = COS_REQUEST_INIT;
    g.bucket = BUCKET;
    g.key = "meta/replaced.bin";
    CHECK_OK(cos_get_object(c, &g, &res, &err), err);
    CHECK(res && res->body_size == sizeof body && memcmp(res->body, body, sizeof body) == 0);
    const char *v = find_header(res, "x-amz-meta-b");
    CHECK(v && strcmp(v, "two") == 0);
    CHECK(find_header(res, "x-amz-meta-a") == NULL);
    v = find_header(res, "Content-Type");
    CHECK(v && strcmp(v, "application/x-new") == 0);
    cos_result_free(res);
    res = NULL;
    cp.key = "meta/copied.bin";
    cp.headers = NULL;
    cp.header_count = 0;
    cp.meta = NULL;
    cp.meta_count = 0;
    cp.content_type = NULL;
    CHECK_OK(cos_put_object_copy(c, &cp, &res, &err), err);
    cos_result_free(res);
    res = NULL;
    g.key = "meta/copied.bin";
    CHECK_OK(cos_get_object(c, &g, &res, &err), err);
    CHECK(res && res->body_size == sizeof body && memcmp(res->body, body, sizeof body) == 0);
    v = find_header(res, "x-amz-meta-utf8");
    CHECK(v && strcmp(v, "caf%C3%A9") == 0);
    v = find_header(res, "Content-Type");
    CHECK(v && strcmp(v, "application/x-src") == 0);
    cos_result_free(res);
    res = NULL;

    char src[600], back[600];
    snprintf(src, sizeof src, "%s/meta12.bin", g_dir);
    snprintf(back, sizeof back, "%s/meta12.back", g_dir);
    CHECK(test_write_lcg_file(src, 12u * 1048576 + 1, 23) == 0);
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = BUCKET;
    p.key = "meta/twelve.bin";
    p.file_path = src;
    p.meta = meta;
    p.meta_count = 2;
    p.chunk_size = 2 * 1048576; /* raised to 5 MiB: 3 parts */
    cos_transfer_result *tr = NULL;
    CHECK_OK(cos_slice_upload_file(c, &p, &tr, &err), err);
    if (tr) CHECK_INT(tr->part_count, 3);
    cos_transfer_result_free(tr);
    tr = NULL;
    cos_request h = COS_REQUEST_INIT;
    h.bucket = BUCKET;
    h.key = "meta/twelve.bin";
    CHECK_OK(cos_head_object(c, &h, &res, &err), err);
    v = find_header(res, "x-amz-meta-a");
    CHECK(v && strcmp(v, "1") == 0);
    CHECK(res && res->content_length == 12u * 1048576 + 1);
    cos_result_free(res);
    p.file_path = back;
    CHECK_OK(cos_download_file(c, &p, &tr, &err), err);
    cos_transfer_result_free(tr);
    CHECK(test_files_equal(src, back) == 0);
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
    /* s3rver makes ListObjectsV2 continuation tokens with DES, which
       OpenSSL 3 keeps in its legacy provider */
    const char *argv[] = { "node", "--openssl-legacy-provider", script, g_s3.root, port_file, NULL };
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
    RUN(test_presigned_urls);
    RUN(test_list_v2_paging);
    RUN(test_cos_only_refused);
    RUN(test_copy_replace_metadata);
    RUN(test_bucket_names);
    test_server_stop(&g_s3, false);
    test_rmtree(g_dir);
    return test_report();
}

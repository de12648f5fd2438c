/* test_sigv4.c — AWS Signature V4 (S3 mode) against the AWS SDK's own signer
 * (tests/data/sigv4.json), and the S3 names of the headers libcos sends in
 * that mode, seen by a loopback listener that records each request. */
#define _GNU_SOURCE
#include "testlib.h"
#include "checksum.h"
#include "json.h"
#include "signer.h"
#include "url.h"
#include "xml.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int64_t parse_amz_date(const char *date)
{
    struct tm tm = { 0 };
    sscanf(date, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm);
}

/* A file of vectors from tests/data; its "cases" in *cases. */
static cos_json *load_cases(const char *name, const cos_json **cases)
{
    size_t len;
    char *text = test_read_data(name, &len);
    cos_json *j = text ? cos_json_parse(text, len, NULL) : NULL;
    free(text);
    CHECK(j != NULL);
    *cases = cos_json_get(j, "cases");
    CHECK(*cases && (*cases)->count >= 5);
    return j;
}

/* What a case gives both signers: keys, region, method, path, time, and its
 * query and headers (host first) in *q and *h, which the caller frees. */
static void case_params(const cos_json *c, cos_sigv4_params *p, cos_kv **h, cos_kv **q)
{
    const cos_json *hj = cos_json_get(c, "headers"), *qj = cos_json_get(c, "query");
    size_t nh = hj ? hj->count : 0, nq = qj ? qj->count : 0;
    *h = calloc(nh + 1, sizeof **h);
    *q = calloc(nq + 1, sizeof **q);
    (*h)[0] = (cos_kv){ "host", cos_json_get_str(c, "host") };
    for (size_t k = 0; k < nh; k++) (*h)[k + 1] = (cos_kv){ hj->items[k].key, hj->items[k].str };
    for (size_t k = 0; k < nq; k++) (*q)[k] = (cos_kv){ qj->items[k].key, qj->items[k].str };
    p->access_key = cos_json_get_str(c, "access_key");
    p->secret_key = cos_json_get_str(c, "secret_key");
    p->region = cos_json_get_str(c, "region");
    p->method = cos_json_get_str(c, "method");
    p->encoded_path = cos_json_get_str(c, "encoded_path");
    p->query = *q;
    p->query_count = nq;
    p->headers = *h;
    p->header_count = nh + 1;
    p->time = parse_amz_date(cos_json_get_str(c, "date"));
}

static void test_sigv4_vectors(void)
{
    const cos_json *cases = NULL;
    cos_json *j = load_cases("sigv4.json", &cases);
    for (size_t i = 0; cases && i < cases->count; i++) {
        const cos_json *c = &cases->items[i];
        cos_sigv4_params p = COS_SIGV4_PARAMS_INIT;
        cos_kv *h, *q;
        case_params(c, &p, &h, &q);
        const char *payload = cos_json_get_str(c, "payload");
        char hash[65];
        if (strcmp(payload, "UNSIGNED-PAYLOAD") != 0) cos_sha256_hex(payload, strlen(payload), hash);
        p.service = cos_json_get_str(c, "service");
        p.payload_hash = strcmp(payload, "UNSIGNED-PAYLOAD") == 0 ? payload : hash;
        cos_sigv4_result r;
        cos_error *err = NULL;
        CHECK_OK(cos_sigv4_sign(&p, &r, &err), err);
        const cos_json *exp = cos_json_get(c, "expected");
        if (r.authorization && strcmp(r.authorization, cos_json_get_str(exp, "authorization")) != 0)
            test_fail(__FILE__, __LINE__, "case %zu:\n got  %s\n want %s\n%s", i + 1, r.authorization,
                      cos_json_get_str(exp, "authorization"), r.canonical_request);
        CHECK_STR(r.amz_date, cos_json_get_str(exp, "x_amz_date"));
        CHECK_STR(r.content_sha256, cos_json_get_str(exp, "x_amz_content_sha256"));
        cos_sigv4_result_free(&r);
        free(h);
        free(q);
    }
    cos_json_free(j);
}

/* Presigned URLs as S3 makes them (tests/data/sigv4_presign.json: AWS's
 * documented example and botocore's S3 presigner): UNSIGNED-PAYLOAD, the
 * session token, extra headers signed. First cos_sigv4_presign, then the
 * whole URL from cos_get_object_url of a client in the S3 dialect. */
static void test_presign_vectors(void)
{
    const cos_json *cases = NULL;
    cos_json *j = load_cases("sigv4_presign.json", &cases);
    for (size_t i = 0; cases && i < cases->count; i++) {
        const cos_json *c = &cases->items[i];
        const char *id = cos_json_get_str(c, "id");
        cos_sigv4_params p = COS_SIGV4_PARAMS_INIT;
        cos_kv *h, *q;
        case_params(c, &p, &h, &q);
        size_t nh = p.header_count - 1, nq = p.query_count;
        const char *token = cos_json_get_str(c, "session_token");
        int64_t expires = 0;
        cos_json_get_i64(c, "expires", &expires);
        p.session_token = token && *token ? token : NULL;
        char *query = NULL;
        cos_error *err = NULL;
        CHECK_OK(cos_sigv4_presign(&p, (int)expires, &query, &err), err);
        const char *want_url = cos_json_get_str(c, "url");
        const char *tail = want_url ? strchr(want_url, '?') + 1 : NULL; /* the whole query */
        if (!query || !tail || strcmp(query, tail) != 0)
            test_fail(__FILE__, __LINE__, "presign %s:\n got  %s\n want %s", id, query ? query : "(null)",
                      tail ? tail : "(null)");
        free(query);

        /* the same URL from a client: endpoint and addressing from the host */
        const char *host = cos_json_get_str(c, "host");
        const char *path = cos_json_get_str(c, "encoded_path");
        bool cos_host = strstr(host, ".myqcloud.com") != NULL;
        bool dotted_path = strncmp(path, "/my.bucket/", 11) == 0;
        bool ip = strncmp(host, "127.", 4) == 0;
        char bucket[64] = "", endpoint[128] = "";
        const char *key_enc = path + 1;
        if (ip || dotted_path) { /* path style: /BUCKET/key */
            const char *sl = strchr(path + 1, '/');
            snprintf(bucket, sizeof bucket, "%.*s", (int)(sl - path - 1), path + 1);
            snprintf(endpoint, sizeof endpoint, "%s", host);
            key_enc = sl + 1;
        } else { /* virtual-hosted: BUCKET.endpoint */
            const char *dot = strchr(host, '.');
            snprintf(bucket, sizeof bucket, "%.*s", (int)(dot - host), host);
            snprintf(endpoint, sizeof endpoint, "%s", dot + 1);
        }
        char *key = cos_uri_decode(key_enc, strlen(key_enc));
        cos_config cfg;
        cos_config_init(&cfg);
        cfg.dialect = COS_DIALECT_S3;
        cfg.region = p.region;
        cfg.endpoint = cos_host ? NULL : endpoint;
        cfg.secret_id = p.access_key;
        cfg.secret_key = p.secret_key;
        cfg.security_token = p.session_token;
        cos_client *cl = NULL;
        CHECK_OK(cos_client_new(&cl, &cfg, &err), err);
        cos_url_params up = COS_URL_PARAMS_INIT;
        up.bucket = bucket;
        up.key = key;
        up.method = p.method;
        up.expires = (int)expires;
        up.start_time = p.time;
        up.query = q;
        up.query_count = nq;
        up.headers = h + 1;
        up.header_count = nh;
        char *url = NULL;
        if (cl) CHECK_OK(cos_get_object_url(cl, &up, &url, &err), err);
        if (!url || strcmp(url, want_url) != 0)
            test_fail(__FILE__, __LINE__, "url %s:\n got  %s\n want %s", id, url ? url : "(null)", want_url);
        free(url);
        cos_client_free(cl);
        free(key);
        free(h);
        free(q);
    }
    cos_json_free(j);

    /* S3 refuses URLs that last more than 7 days: so does libcos, up front */
    cos_sigv4_params p = COS_SIGV4_PARAMS_INIT;
    p.access_key = "AK";
    p.secret_key = "SK";
    p.region = "us-east-1";
    p.method = "GET";
    p.encoded_path = "/k";
    char *query = NULL;
    cos_error *err = NULL;
    CHECK(cos_sigv4_presign(&p, 604801, &query, &err) == COS_ERR_INVALID_ARG);
    CHECK(query == NULL);
    cos_error_free(err);
}

static char *bare_url(const char *endpoint, bool path_style, const char *protocol, const char *bucket, const char *key)
{
    cos_config cfg;
    cos_config_init(&cfg);
    cfg.dialect = COS_DIALECT_S3;
    cfg.region = "us-east-1";
    cfg.endpoint = endpoint;
    cfg.force_path_style = path_style;
    cfg.protocol = protocol;
    cfg.secret_id = "AK";
    cfg.secret_key = "SK";
    cos_client *c = NULL;
    cos_error *err = NULL;
    char *url = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    cos_url_params p = COS_URL_PARAMS_INIT;
    p.bucket = bucket;
    p.key = key;
    p.no_signature = true;
    if (c) CHECK_OK(cos_get_object_url(c, &p, &url, &err), err);
    cos_client_free(c);
    return url ? url : strdup("");
}

/* Addressing in the S3 dialect: virtual-hosted by default, path-style when
 * asked, for IP and localhost endpoints, and for dotted names over https;
 * the endpoint's scheme is the protocol; bad endpoints fail at creation. */
static void test_s3_addressing(void)
{
    struct { const char *endpoint; bool path; const char *proto, *bucket, *want; } cases[] = {
        { "s3.example.com", false, NULL, "bkt", "https://bkt.s3.example.com/a%20b/c.txt" },
        { "https://s3.example.com/", false, NULL, "bkt", "https://bkt.s3.example.com/a%20b/c.txt" },
        { "s3.example.com", true, NULL, "bkt", "https://s3.example.com/bkt/a%20b/c.txt" },
        { "http://minio.local:9000", false, NULL, "bkt", "http://bkt.minio.local:9000/a%20b/c.txt" },
        { "http://127.0.0.1:9000", false, NULL, "bkt", "http://127.0.0.1:9000/bkt/a%20b/c.txt" },
        { "localhost:8080", false, "http:", "bkt", "http://localhost:8080/bkt/a%20b/c.txt" },
        { "[::1]:8080", false, "http", "bkt", "http://[::1]:8080/bkt/a%20b/c.txt" },
        { "s3.example.com", false, NULL, "my.bkt", "https://s3.example.com/my.bkt/a%20b/c.txt" },
        { "http://s3.example.com", false, NULL, "my.bkt", "http://my.bkt.s3.example.com/a%20b/c.txt" },
        { NULL, false, NULL, "bkt-1250000000", "https://bkt-1250000000.cos.us-east-1.myqcloud.com/a%20b/c.txt" },
    };
    for (size_t i = 0; i < COS_ARRAY_LEN(cases); i++) {
        char *url = bare_url(cases[i].endpoint, cases[i].path, cases[i].proto, cases[i].bucket, "a b/c.txt");
        if (strcmp(url, cases[i].want) != 0)
            test_fail(__FILE__, __LINE__, "case %zu: got %s, want %s", i, url, cases[i].want);
        free(url);
    }
    const char *bad[] = { "ftp://s3.example.com", "http://s3.example.com/prefix", "user@s3.example.com", "s3 .com",
                          "http://" };
    for (size_t i = 0; i < COS_ARRAY_LEN(bad); i++) {
        cos_config cfg;
        cos_config_init(&cfg);
        cfg.dialect = COS_DIALECT_S3;
        cfg.region = "us-east-1";
        cfg.endpoint = bad[i];
        cfg.secret_id = "AK";
        cfg.secret_key = "SK";
        cos_client *c = NULL;
        cos_error *err = NULL;
        CHECK(cos_client_new(&c, &cfg, &err) == COS_ERR_INVALID_ARG);
        CHECK(c == NULL && err && err->field && strcmp(err->field, "endpoint") == 0);
        cos_error_free(err);
    }
    cos_config cfg;
    cos_config_init(&cfg);
    cfg.region = "us-east-1";
    cfg.secret_id = "AK";
    cfg.secret_key = "SK";
    cos_client *c = NULL;
    cos_error *err = NULL;
    cfg.endpoint = "http://s3.example.com"; /* and a protocol that says otherwise */
    cfg.protocol = "https:";
    CHECK(cos_client_new(&c, &cfg, &err) == COS_ERR_INVALID_ARG);
    cos_error_free(err);
    err = NULL;
    cfg.protocol = NULL;
    cfg.domain = "{Bucket}.cos.example.com"; /* and a domain */
    CHECK(cos_client_new(&c, &cfg, &err) == COS_ERR_INVALID_ARG);
    cos_error_free(err);
    err = NULL;
    cfg.domain = NULL;
    cfg.endpoint = NULL;
    cfg.dialect = COS_DIALECT_COS; /* COS dialect, S3 signer */
    cfg.signer = COS_SIGNER_SIGV4;
    CHECK(cos_client_new(&c, &cfg, &err) == COS_ERR_INVALID_ARG);
    CHECK(err && err->field && strcmp(err->field, "signer") == 0);
    cos_error_free(err);
    err = NULL;
    /* a version-2 config (before dialect) is still read: zero fields beyond */
    cfg.version = 2;
    cfg.dialect = 99; /* past version 2's end: never read */
    cfg.signer = COS_SIGNER_COS;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    cos_client_free(c);
}

static int sts_key(void *ud, const cos_auth_request *req, cos_credentials_sink *sink, cos_error **err)
{
    (void)ud, (void)req, (void)err;
    int64_t now = (int64_t)time(NULL);
    return cos_credentials_set(sink, "TMPAK", "TMPSK", "tok/1+", now - 10, now + 3600);
}

static int ready_authorization(void *ud, const cos_auth_request *req, cos_credentials_sink *sink, cos_error **err)
{
    (void)ud, (void)req, (void)err;
    return cos_authorization_set(sink, "q-sign-algorithm=sha1&q-ak=AK&q-signature=x", NULL);
}

/* Presigning with keys from a callback: a temporary key's token is in the
 * URL; a ready (COS) Authorization cannot make an S3 URL and says so. */
static void test_presign_callbacks(void)
{
    cos_config cfg;
    cos_config_init(&cfg);
    cfg.dialect = COS_DIALECT_S3;
    cfg.region = "us-east-1";
    cfg.endpoint = "s3.example.com";
    cfg.get_sts = sts_key;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    cos_url_params p = COS_URL_PARAMS_INIT;
    p.bucket = "bkt";
    p.key = "k";
    char *url = NULL;
    if (c) CHECK_OK(cos_get_object_url(c, &p, &url, &err), err);
    CHECK(url && strstr(url, "X-Amz-Credential=TMPAK%2F") && strstr(url, "&X-Amz-Security-Token=tok%2F1%2B&"));
    free(url);
    url = NULL;
    cos_client_free(c);
    cfg.get_sts = NULL;
    cfg.get_authorization = ready_authorization;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    if (c) CHECK(cos_get_object_url(c, &p, &url, &err) == COS_ERR_AUTH);
    CHECK(url == NULL && err && strstr(err->message, "Authorization"));
    cos_error_free(err);
    cos_client_free(c);
}

/* S3's error documents into cos_error: HostId is the trace id,
 * CanonicalRequest the format string, a redirect names its endpoint and a
 * wrong region the right one. */
static void test_s3_error_documents(void)
{
    const char *sig = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SignatureDoesNotMatch</Code>"
                      "<Message>The request signature we calculated does not match the signature you provided.</Message>"
                      "<AWSAccessKeyId>AKID</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256\n20261127T000000Z</StringToSign>"
                      "<SignatureProvided>abc</SignatureProvided><CanonicalRequest>GET\n/k\n</CanonicalRequest>"
                      "<RequestId>4442587FB7D0A2F9</RequestId><HostId>hostid==</HostId></Error>";
    cos_error *e = calloc(1, sizeof *e);
    CHECK(cos_xml_parse_error(sig, strlen(sig), e) == 0);
    CHECK_STR(e->code, "SignatureDoesNotMatch");
    CHECK_STR(e->request_id, "4442587FB7D0A2F9");
    CHECK_STR(e->trace_id, "hostid==");
    CHECK_STR(e->string_to_sign, "AWS4-HMAC-SHA256\n20261127T000000Z");
    CHECK_STR(e->format_string, "GET\n/k\n");
    cos_error_free(e);
    const char *redirect = "<Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must "
                           "be addressed using the specified endpoint.</Message><Endpoint>bkt.s3.eu-west-1.amazonaws.com"
                           "</Endpoint><Bucket>bkt</Bucket><RequestId>R1</RequestId><HostId>H1</HostId></Error>";
    e = calloc(1, sizeof *e);
    CHECK(cos_xml_parse_error(redirect, strlen(redirect), e) == 0);
    CHECK(e->message && strstr(e->message, "(endpoint bkt.s3.eu-west-1.amazonaws.com)"));
    cos_error_free(e);
    const char *region = "<Error><Code>AuthorizationHeaderMalformed</Code><Message>the region 'us-east-1' is wrong; "
                         "expecting 'eu-west-1'</Message><Region>eu-west-1</Region><RequestId>R2</RequestId></Error>";
    e = calloc(1, sizeof *e);
    CHECK(cos_xml_parse_error(region, strlen(region), e) == 0);
    CHECK(e->message && strstr(e->message, "(region eu-west-1)"));
    CHECK(e->trace_id == NULL);
    cos_error_free(e);
}

/* A loopback listener that answers every request 200 with an empty body and
 * keeps the header block of the last one. */
static struct {
    int fd, port, requests;
    bool refuse_checksum; /* answer a request with x-amz-checksum-* 400, as a store without them does */
    bool bogus_crc64;     /* answer 200 with a CRC-64/ECMA that matches nothing */
    bool list_loop;       /* answer every listing with the same continuation token */
    const char *mp_composite; /* play a multipart upload (CRC32C echoed at Create), answering this at Complete */
    int mp_create_ck, mp_part_ck, mp_parts, mp_complete_ck; /* requests that carried their checksum */
    char last[16384];
    pthread_mutex_t m;
} g_cap = { .m = PTHREAD_MUTEX_INITIALIZER };

static void *capture_conn(void *arg)
{
    int c = (int)(intptr_t)arg;
    {
        for (;;) { /* keep-alive: one request after another on this connection */
            char buf[16384];
            size_t n = 0;
            while (n < sizeof buf - 1) {
                ssize_t r = read(c, buf + n, sizeof buf - 1 - n);
                if (r <= 0) break;
                n += (size_t)r;
                buf[n] = 0;
                if (strstr(buf, "\r\n\r\n")) break;
            }
            if (!strstr(buf, "\r\n\r\n") || n == 0) break;
            buf[n] = 0;
            /* bodies here are small and sent with the headers or right after them */
            const char *cl = strcasestr(buf, "\r\ncontent-length:");
            size_t want = cl ? (size_t)strtoul(cl + 17, NULL, 10) : 0;
            size_t have = n - (size_t)(strstr(buf, "\r\n\r\n") + 4 - buf);
            char sink[4096];
            if (strcasestr(buf, "\r\ntransfer-encoding: chunked")) { /* libcos's empty bodies: "0\r\n\r\n" */
                size_t got = have;
                const char *tail = strstr(buf, "\r\n\r\n") + 4;
                while (!strstr(tail, "0\r\n\r\n") && got < 5) {
                    ssize_t r = read(c, buf + n, sizeof buf - 1 - n);
                    if (r <= 0) break;
                    n += (size_t)r;
                    got += (size_t)r;
                    buf[n] = 0;
                }
            }
            while (have < want) {
                ssize_t r = read(c, sink, want - have < sizeof sink ? want - have : sizeof sink);
                if (r <= 0) break;
                have += (size_t)r;
            }
            pthread_mutex_lock(&g_cap.m);
            g_cap.requests++;
            snprintf(g_cap.last, sizeof g_cap.last, "%s", buf);
            bool refuse = g_cap.refuse_checksum && strcasestr(buf, "\r\nx-amz-checksum-");
            bool bogus = g_cap.bogus_crc64, loop = g_cap.list_loop;
            const char *mp = refuse ? NULL : g_cap.mp_composite;
            bool create = mp && !strncmp(buf, "POST ", 5) && strstr(buf, "?uploads ");
            bool upart = mp && !strncmp(buf, "PUT ", 4) && strstr(buf, "partNumber=");
            bool complete = mp && !strncmp(buf, "POST ", 5) && strstr(buf, "uploadId=");
            bool declared = create && strcasestr(buf, "\r\nx-amz-checksum-algorithm: CRC32C\r\n");
            g_cap.mp_create_ck += declared;
            g_cap.mp_parts += upart;
            g_cap.mp_part_ck += upart && strcasestr(buf, "\r\nx-amz-checksum-crc32c: ");
            /* the Complete document comes with its headers (small) */
            g_cap.mp_complete_ck += complete && strstr(buf, "<ChecksumCRC32C>");
            pthread_mutex_unlock(&g_cap.m);
            if (create || upart || complete) {
                char body[512], head[256];
                int bl = create ? snprintf(body, sizeof body, "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k"
                                                              "</Key><UploadId>u1</UploadId></InitiateMultipartUploadResult>")
                         : complete ? snprintf(body, sizeof body, "<CompleteMultipartUploadResult><Location>l</Location>"
                                                                  "<Bucket>b</Bucket><Key>k</Key><ETag>\"e-2\"</ETag>"
                                                                  "<ChecksumCRC32C>%s</ChecksumCRC32C>"
                                                                  "</CompleteMultipartUploadResult>", mp)
                                    : 0;
                int hl = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\n%sETag: \"not-md5\"\r\nContent-Length: %d\r\n\r\n",
                                  declared ? "x-amz-checksum-algorithm: CRC32C\r\n" : "", bl);
                if (write(c, head, (size_t)hl) < 0 || (bl && write(c, body, (size_t)bl) < 0)) break;
                continue;
            }
            if (loop) {
                const char page[] = "<ListBucketResult><IsTruncated>true</IsTruncated><NextContinuationToken>T1"
                                    "</NextContinuationToken><KeyCount>1</KeyCount><Contents><Key>a</Key></Contents>"
                                    "</ListBucketResult>";
                char head[128];
                int hl = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", sizeof page - 1);
                if (write(c, head, (size_t)hl) < 0 || write(c, page, sizeof page - 1) < 0) break;
                continue;
            }
            const char ok_plain[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
            const char ok_crc[] = "HTTP/1.1 200 OK\r\nx-cos-hash-crc64ecma: 1\r\nContent-Length: 0\r\n\r\n";
            const char *ok = bogus ? ok_crc : ok_plain;
            const char no[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 102\r\n\r\n"
                              "<Error><Code>InvalidRequest</Code><Message>x-amz-checksum-crc64nvme is not supported"
                              "</Message></Error>";
            if (write(c, refuse ? no : ok, refuse ? sizeof no - 1 : strlen(ok)) < 0) break;
        }
        close(c);
    }
    return NULL;
}

/* a thread per connection: curl may open a second one while the first is kept alive */
static void *capture_loop(void *arg)
{
    (void)arg;
    for (;;) {
        int c = accept(g_cap.fd, NULL, NULL);
        if (c < 0) return NULL;
        pthread_t th;
        if (pthread_create(&th, NULL, capture_conn, (void *)(intptr_t)c) != 0) {
            close(c);
            continue;
        }
        pthread_detach(th);
    }
}

static cos_client *capture_client(void)
{
    static char domain[64];
    snprintf(domain, sizeof domain, "127.0.0.1:%d", g_cap.port);
    cos_config cfg;
    cos_config_init(&cfg);
    cfg.signer = COS_SIGNER_SIGV4;
    cfg.region = "us-east-1";
    cfg.protocol = "http:";
    cfg.domain = domain;
    cfg.force_path_style = true;
    cfg.secret_id = "AKID";
    cfg.secret_key = "SECRET";
    cfg.max_retries = -1;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    return c;
}

/* A client of the capture server in the S3 dialect, declaring `checksum` on uploads (0: auto). */
static cos_client *s3_capture_client(cos_checksum checksum)
{
    static char domain[64];
    snprintf(domain, sizeof domain, "127.0.0.1:%d", g_cap.port);
    cos_config cfg;
    cos_config_init(&cfg);
    cfg.dialect = COS_DIALECT_S3;
    cfg.region = "us-east-1";
    cfg.endpoint = domain;
    cfg.protocol = "http";
    cfg.secret_id = "AKID";
    cfg.secret_key = "SECRET";
    cfg.max_retries = -1;
    cfg.upload_checksum = checksum;
    cos_client *c = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_client_new(&c, &cfg, &err), err);
    return c;
}

/* Sets one of the capture server's behaviours, under its lock. */
static void cap_set(bool *behaviour, bool on)
{
    pthread_mutex_lock(&g_cap.m);
    *behaviour = on;
    pthread_mutex_unlock(&g_cap.m);
}

static bool sent_header(const char *name, const char *value)
{
    char line[512];
    snprintf(line, sizeof line, "\r\n%s: %s\r\n", name, value);
    pthread_mutex_lock(&g_cap.m);
    bool found = strcasestr(g_cap.last, line) != NULL;
    pthread_mutex_unlock(&g_cap.m);
    return found;
}

static bool sent_any_cos_header(void)
{
    pthread_mutex_lock(&g_cap.m);
    bool found = strcasestr(g_cap.last, "\r\nx-cos-") != NULL;
    pthread_mutex_unlock(&g_cap.m);
    return found;
}

/* How many times the last request carried a header of this name. */
static int sent_count(const char *name)
{
    char line[128];
    snprintf(line, sizeof line, "\r\n%s:", name);
    int n = 0;
    pthread_mutex_lock(&g_cap.m);
    for (const char *p = g_cap.last; (p = strcasestr(p, line)) != NULL; p += strlen(line)) n++;
    pthread_mutex_unlock(&g_cap.m);
    return n;
}

/* The User-Agent travels in the request's own header list (not curl's
 * option): exactly one, libcos's by default, the configured one, or the
 * request's own when it names one; synchronous and async calls alike. */
static void put_one(cos_client *c, const cos_kv *headers, size_t n, bool async)
{
    cos_request r = COS_REQUEST_INIT;
    r.bucket = "bkt-one";
    r.key = "ua.txt";
    r.body.data = "x";
    r.body.size = 1;
    r.headers = headers;
    r.header_count = n;
    if (async) {
        cos_future *f = cos_future_new();
        CHECK(f && cos_put_object_async(c, &r, cos_future_done, f) == 0);
        cos_result *res = NULL;
        cos_error *err = NULL;
        if (f) CHECK_OK(cos_future_wait(f, &res, &err), err);
        cos_result_free(res);
        cos_future_free(f);
        return;
    }
    cos_result *res = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_put_object(c, &r, &res, &err), err);
    cos_result_free(res);
}

static void test_user_agent(void)
{
    for (int async = 0; async < 2; async++) {
        cos_client *c = capture_client();
        if (!c) return;
        put_one(c, NULL, 0, async);
        CHECK(sent_count("User-Agent") == 1);
        /* the HTTP version after it: the head went in curl's request target (engine.c) */
        CHECK(sent_header("User-Agent", "cos-c/" COS_VERSION_STRING " HTTP/1.1"));
        cos_kv mine[] = { { "User-Agent", "per-request/2" } };
        put_one(c, mine, 1, async);
        CHECK(sent_count("User-Agent") == 1);
        CHECK(sent_header("User-Agent", "per-request/2"));
        cos_client_free(c);
    }
}

static void test_s3_header_names(void)
{
    cos_client *c = capture_client();
    if (!c) return;
    cos_error *err = NULL;
    cos_result *res = NULL;
    cos_kv meta[] = { { "color", "blue" } };
    cos_kv extra[] = { { "x-cos-grant-read", "id=\"alice\"" }, { "x-cos-tagging", "a=1" },
                       { "x-cos-server-side-encryption", "AES256" },
                       { "x-cos-server-side-encryption-cos-kms-key-id", "k1" } };
    cos_request r = COS_REQUEST_INIT;
    r.bucket = "bkt-one";
    r.key = "k.txt";
    r.body.data = "x";
    r.body.size = 1;
    r.acl = "private";
    r.storage_class = "STANDARD_IA";
    r.meta = meta;
    r.meta_count = 1;
    r.headers = extra;
    r.header_count = 4;
    CHECK_OK(cos_put_object(c, &r, &res, &err), err);
    cos_result_free(res);
    res = NULL;
    CHECK(sent_header("x-amz-acl", "private"));
    CHECK(sent_header("x-amz-storage-class", "STANDARD_IA"));
    CHECK(sent_header("x-amz-meta-color", "blue"));
    CHECK(sent_header("x-amz-grant-read", "id=\"alice\""));
    CHECK(sent_header("x-amz-tagging", "a=1"));
    CHECK(sent_header("x-amz-server-side-encryption", "AES256"));
    CHECK(sent_header("x-amz-server-side-encryption-aws-kms-key-id", "k1"));
    CHECK(!sent_any_cos_header());

    cos_kv cond[] = { { "x-cos-copy-source-If-Match", "\"abc\"" }, { "x-cos-metadata-directive", "Copy" } };
    cos_request u = COS_REQUEST_INIT;
    u.bucket = "bkt-one";
    u.key = "k2.txt";
    u.upload_id = "U1";
    u.part_number = 2;
    u.copy_source = "/bkt-one/k.txt";
    u.copy_source_range = "bytes=0-0";
    u.headers = cond;
    u.header_count = 2;
    cos_upload_part_copy(c, &u, &res, &err); /* the empty answer is not a CopyPartResult: only what was sent matters */
    cos_result_free(res);
    cos_error_free(err);
    res = NULL;
    err = NULL;
    CHECK(sent_header("x-amz-copy-source", "/bkt-one/k.txt"));
    CHECK(sent_header("x-amz-copy-source-range", "bytes=0-0"));
    CHECK(sent_header("x-amz-copy-source-If-Match", "\"abc\""));
    CHECK(sent_header("x-amz-metadata-directive", "Copy"));
    CHECK(!sent_any_cos_header());

    /* a COS-only header: refused with its name, nothing sent */
    pthread_mutex_lock(&g_cap.m);
    int before = g_cap.requests;
    pthread_mutex_unlock(&g_cap.m);
    cos_kv only[] = { { "x-cos-traffic-limit", "819200" } };
    r.headers = only;
    r.header_count = 1;
    CHECK(cos_put_object(c, &r, &res, &err) == COS_ERR_INVALID_ARG);
    CHECK(err && err->message && strstr(err->message, "x-cos-traffic-limit"));
    cos_error_free(err);
    cos_result_free(res);
    err = NULL;
    res = NULL;
    pthread_mutex_lock(&g_cap.m);
    CHECK_INT(g_cap.requests, before);
    pthread_mutex_unlock(&g_cap.m);

    /* an operation S3 does not have: refused from the operation table, sync
       or async, and nothing is sent */
    cos_request a = COS_REQUEST_INIT;
    a.bucket = "bkt-one";
    a.key = "log.txt";
    a.body.data = "x";
    a.body.size = 1;
    CHECK(cos_append_object(c, &a, &res, &err) == COS_ERR_INVALID_ARG);
    CHECK(err && err->field && strcmp(err->field, "op") == 0);
    cos_error_free(err);
    err = NULL;
    cos_future *f = cos_future_new();
    CHECK(cos_append_object_async(c, &a, cos_future_done, f) == COS_ERR_INVALID_ARG);
    CHECK(cos_async_error() && strstr(cos_async_error()->message, "COS-only"));
    cos_future_free(f);
    cos_request b = COS_REQUEST_INIT;
    b.bucket = "bkt-one";
    CHECK(cos_put_bucket_domain(c, &b, &res, &err) == COS_ERR_INVALID_ARG);
    cos_error_free(err);
    err = NULL;
    pthread_mutex_lock(&g_cap.m);
    CHECK_INT(g_cap.requests, before);
    pthread_mutex_unlock(&g_cap.m);

    /* RestoreObject goes in S3's shape (GlacierJobParameters) */
    cos_restore_request rr = { 2, "Bulk" };
    cos_request ro = COS_REQUEST_INIT;
    ro.bucket = "bkt-one";
    ro.key = "cold.bin";
    ro.input.restore = &rr;
    CHECK_OK(cos_restore_object(c, &ro, &res, &err), err);
    cos_result_free(res);
    res = NULL;
    pthread_mutex_lock(&g_cap.m);
    CHECK(strstr(g_cap.last, "POST /bkt-one/cold.bin?restore") != NULL);
    pthread_mutex_unlock(&g_cap.m);
    cos_buf xb = COS_BUF_INIT;
    CHECK(cos_xml_build(&cos_xs_restore_request_s3, &rr, &xb, false) == 0);
    CHECK(xb.data && strstr(xb.data, "<GlacierJobParameters><Tier>Bulk</Tier></GlacierJobParameters>"));
    cos_buf_free(&xb);
    cos_inventory_configuration inv = { .id = "daily", .is_enabled = true, .destination_format = "CSV",
                                        .destination_bucket = "arn:aws:s3:::reports" };
    CHECK(cos_xml_build(&cos_xs_inventory_configuration_s3, &inv, &xb, false) == 0);
    CHECK(xb.data && strstr(xb.data, "<Destination><S3BucketDestination><Format>CSV</Format>") &&
          !strstr(xb.data, "COSBucketDestination"));
    cos_buf_free(&xb);

    /* a PutObject carries x-amz-checksum-crc64nvme: CRC-64/NVME of "123456789" is ae8b14860a799888 */
    cos_request ck = COS_REQUEST_INIT;
    ck.bucket = "bkt-one";
    ck.key = "ck.txt";
    ck.body.data = "123456789";
    ck.body.size = 9;
    CHECK_OK(cos_put_object(c, &ck, &res, &err), err);
    cos_result_free(res);
    res = NULL;
    CHECK(sent_header("x-amz-checksum-crc64nvme", "rosUhgp5mIg="));
    cos_client_free(c);
}

/* upload_checksum AUTO: a store that refuses x-amz-checksum-* gets the
 * request again without it, and no checksum from then on; asked for
 * explicitly, the refusal is the caller's error. */
static void test_checksum_refused(void)
{
    cos_client *c = capture_client();
    if (!c) return;
    pthread_mutex_lock(&g_cap.m);
    g_cap.refuse_checksum = true;
    int before = g_cap.requests;
    pthread_mutex_unlock(&g_cap.m);
    cos_error *err = NULL;
    cos_result *res = NULL;
    cos_request r = COS_REQUEST_INIT;
    r.bucket = "bkt-one";
    r.key = "ck.txt";
    r.body.data = "123456789";
    r.body.size = 9;
    CHECK_OK(cos_put_object(c, &r, &res, &err), err);
    cos_result_free(res);
    res = NULL;
    pthread_mutex_lock(&g_cap.m);
    CHECK_INT(g_cap.requests - before, 2);
    CHECK(!strcasestr(g_cap.last, "x-amz-checksum"));
    before = g_cap.requests;
    pthread_mutex_unlock(&g_cap.m);
    CHECK_OK(cos_put_object(c, &r, &res, &err), err);
    cos_result_free(res);
    res = NULL;
    pthread_mutex_lock(&g_cap.m);
    CHECK_INT(g_cap.requests - before, 1);
    pthread_mutex_unlock(&g_cap.m);
    cos_client_free(c);

    c = s3_capture_client(COS_CHECKSUM_CRC32C);
    if (c) {
        CHECK(cos_put_object(c, &r, &res, &err) == COS_ERR_SERVER);
        CHECK(err && err->code && strcmp(err->code, "InvalidRequest") == 0);
        CHECK(sent_header("x-amz-checksum-crc32c", "4waSgw=="));
        cos_error_free(err);
        cos_client_free(c);
    }
    cap_set(&g_cap.refuse_checksum, false);
}

/* An S3 store cannot answer for COS's CRC-64/ECMA: in the S3 dialect an
 * x-cos-hash-crc64ecma in an answer is never checked (nor reported). */
static void test_no_crc64_in_s3(void)
{
    cos_client *c = capture_client();
    if (!c) return;
    cap_set(&g_cap.bogus_crc64, true);
    cos_error *err = NULL;
    cos_result *res = NULL;
    cos_request r = COS_REQUEST_INIT;
    r.bucket = "bkt-one";
    r.key = "crc.txt";
    r.body.data = "123456789";
    r.body.size = 9;
    CHECK_OK(cos_put_object(c, &r, &res, &err), err);
    CHECK(res && !res->has_crc64);
    cos_result_free(res);
    cap_set(&g_cap.bogus_crc64, false);
    cos_client_free(c);
}

/* A store that hands back the continuation token it was given would page
 * forever: the iterator stops with an error instead. */
static void test_list_token_loop(void)
{
    cos_client *c = capture_client();
    if (!c) return;
    cap_set(&g_cap.list_loop, true);
    cos_request l = COS_REQUEST_INIT;
    l.bucket = "bkt-one";
    cos_object_iter *it = NULL;
    cos_error *err = NULL;
    CHECK_OK(cos_object_iter_new(&it, c, &l, &err), err);
    const cos_object_summary *o;
    int n = 0, rc = 0;
    while (it && n < 10 && (rc = cos_object_iter_next(it, &o, &err)) == 1) n++;
    CHECK_INT(n, 1); /* the first page; the next repeats its token and is not handed out */
    CHECK_INT(rc, COS_ERR_PARSE);
    CHECK(err && strstr(err->message, "continuation token"));
    cos_error_free(err);
    err = NULL;
    if (it) CHECK_INT(cos_object_iter_next(it, &o, &err), 0); /* and stays ended */
    cos_object_iter_free(it);
    cap_set(&g_cap.list_loop, false);
    cos_client_free(c);
}

/* uploadFile in parts to a store that echoes CRC32C at Create: each part
 * carries its x-amz-checksum-crc32c, Complete lists them, and a composite
 * in the answer that is not the parts' fails the upload; a store that
 * refuses the declaration gets an upload without checksums that succeeds. */
static void test_multipart_checksum_flow(void)
{
    char *dir = test_tmpdir("mpck");
    char path[512];
    snprintf(path, sizeof path, "%s/f.bin", dir);
    const uint64_t size = 6u * 1024 * 1024 + 3, part = 5u * 1024 * 1024;
    CHECK(test_write_lcg_file(path, size, 9) == 0);
    char good[COS_CKSUM_COMPOSITE_MAX] = "";
    CHECK(test_file_composite_crc32c(path, part, 2, good) == 0);

    for (int round = 0; round < 3; round++) { /* a bad composite, the right one, a store that refuses */
        cos_client *c = s3_capture_client(0);
        if (!c) break;
        pthread_mutex_lock(&g_cap.m);
        g_cap.mp_composite = round == 0 ? "AAAAAA==-2" : good;
        g_cap.refuse_checksum = round == 2;
        g_cap.mp_create_ck = g_cap.mp_part_ck = g_cap.mp_parts = g_cap.mp_complete_ck = 0;
        pthread_mutex_unlock(&g_cap.m);
        cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
        p.bucket = "bkt-one";
        p.key = "big.bin";
        p.file_path = path;
        p.slice_size = 1024 * 1024;
        p.chunk_size = part;
        p.no_resume = true;
        cos_transfer_result *tr = NULL;
        cos_error *err = NULL;
        int rc = cos_upload_file(c, &p, &tr, &err);
        pthread_mutex_lock(&g_cap.m);
        if (round == 0) {
            CHECK_INT(rc, COS_ERR_INTEGRITY);
            CHECK(tr == NULL);
            CHECK(err && err->message && strstr(err->message, "ChecksumCRC32C"));
        } else {
            CHECK_OK(rc, err);
            CHECK(tr && tr->multipart && tr->part_count == 2);
        }
        CHECK_INT(g_cap.mp_parts, 2);
        CHECK_INT(g_cap.mp_create_ck, round == 2 ? 0 : 1);
        CHECK_INT(g_cap.mp_part_ck, round == 2 ? 0 : 2);
        CHECK_INT(g_cap.mp_complete_ck, round == 2 ? 0 : 1);
        g_cap.mp_composite = NULL;
        g_cap.refuse_checksum = false;
        pthread_mutex_unlock(&g_cap.m);
        cos_transfer_result_free(tr);
        cos_error_free(err);
        cos_client_free(c);
    }
    test_rmtree(dir);
    free(dir);
}

/* S3's COMPOSITE multipart checksum: CRC32C over the parts' raw CRC32Cs
 * (big-endian), base64, "-N"; and the Complete documents that carry them. */
static void test_multipart_composite(void)
{
    /* CRC-32C of "123456789" is e3069283 */
    const char *one[] = { "4waSgw==" };
    uint32_t a = cos_crc32c(0, "hello", 5), b = cos_crc32c(0, "world", 5);
    unsigned char raw[8] = { (unsigned char)(a >> 24), (unsigned char)(a >> 16), (unsigned char)(a >> 8), (unsigned char)a,
                             (unsigned char)(b >> 24), (unsigned char)(b >> 16), (unsigned char)(b >> 8), (unsigned char)b };
    char pa[16], pb[16];
    cos_base64_encode(raw, 4, pa);
    cos_base64_encode(raw + 4, 4, pb);
    const char *two[] = { pa, pb };
    uint32_t all = cos_crc32c(0, raw, 8);
    unsigned char allraw[4] = { (unsigned char)(all >> 24), (unsigned char)(all >> 16), (unsigned char)(all >> 8),
                                (unsigned char)all };
    char want[64], allb64[16];
    cos_base64_encode(allraw, 4, allb64);
    snprintf(want, sizeof want, "%s-2", allb64);
    char out[COS_CKSUM_COMPOSITE_MAX];
    CHECK(cos_cksum_composite(COS_CKSUM_CRC32C, two, 2, out) == strlen(want));
    CHECK_STR(out, want);
    /* one part: the checksum of its 4 raw bytes, "-1" (not the part's own value) */
    unsigned char e3[4] = { 0xe3, 0x06, 0x92, 0x83 };
    uint32_t one_c = cos_crc32c(0, e3, 4);
    unsigned char oneraw[4] = { (unsigned char)(one_c >> 24), (unsigned char)(one_c >> 16), (unsigned char)(one_c >> 8),
                                (unsigned char)one_c };
    char oneb64[16];
    cos_base64_encode(oneraw, 4, oneb64);
    snprintf(want, sizeof want, "%s-1", oneb64);
    CHECK(cos_cksum_composite(COS_CKSUM_CRC32C, one, 1, out) > 0);
    CHECK_STR(out, want);
    /* not a CRC-32C: a CRC-64 value, garbage, none, no parts */
    const char *bad1[] = { "rosUhgp5mIg=" }, *bad2[] = { "%%%" }, *bad3[] = { NULL };
    CHECK(cos_cksum_composite(COS_CKSUM_CRC32C, bad1, 1, out) == 0);
    CHECK(cos_cksum_composite(COS_CKSUM_CRC32C, bad2, 1, out) == 0);
    CHECK(cos_cksum_composite(COS_CKSUM_CRC32C, bad3, 1, out) == 0);
    CHECK(cos_cksum_composite(COS_CKSUM_CRC32C, one, 0, out) == 0);

    /* CompleteMultipartUpload lists ChecksumCRC32C per part, only when given */
    cos_complete_part parts[2] = { { 1, "\"e1\"", "4waSgw==" }, { 2, "\"e2\"", NULL } };
    cos_complete_multipart_upload cm = { parts, 2 };
    cos_buf xb = COS_BUF_INIT;
    CHECK(cos_xml_build(&cos_xs_complete_multipart_upload, &cm, &xb, false) == 0);
    CHECK(xb.data && strstr(xb.data, "<Part><PartNumber>1</PartNumber><ETag>&quot;e1&quot;</ETag>"
                                     "<ChecksumCRC32C>4waSgw==</ChecksumCRC32C></Part>"));
    CHECK(xb.data && strstr(xb.data, "<Part><PartNumber>2</PartNumber><ETag>&quot;e2&quot;</ETag></Part>"));
    cos_buf_free(&xb);
    /* the answer's composite is read */
    const char *doc = "<CompleteMultipartUploadResult><Location>l</Location><Bucket>b</Bucket><Key>k</Key>"
                      "<ETag>\"x-2\"</ETag><ChecksumCRC32C>AAAAAA==-2</ChecksumCRC32C></CompleteMultipartUploadResult>";
    void *parsed = NULL;
    cos_error *err = NULL;
    CHECK(cos_xml_parse(&cos_xs_complete_multipart_result, doc, strlen(doc), &parsed, &err) == 0);
    cos_error_free(err);
    const cos_complete_multipart_result *cr = parsed;
    CHECK(cr && cr->checksum_crc32c && !strcmp(cr->checksum_crc32c, "AAAAAA==-2"));
    cos_xml_free(&cos_xs_complete_multipart_result, parsed);
}

int main(void)
{
    RUN(test_sigv4_vectors);
    RUN(test_presign_vectors);
    RUN(test_s3_addressing);
    RUN(test_s3_error_documents);
    RUN(test_presign_callbacks);
    g_cap.fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof a;
    pthread_t th;
    if (g_cap.fd < 0 || bind(g_cap.fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(g_cap.fd, 8) != 0 ||
        getsockname(g_cap.fd, (struct sockaddr *)&a, &al) != 0 || pthread_create(&th, NULL, capture_loop, NULL) != 0) {
        printf("no loopback listener\n0 passed, 1 failed\n");
        return 1;
    }
    g_cap.port = ntohs(a.sin_port);
    RUN(test_s3_header_names);
    RUN(test_user_agent);
    RUN(test_checksum_refused);
    RUN(test_multipart_composite);
    RUN(test_multipart_checksum_flow);
    RUN(test_no_crc64_in_s3);
    RUN(test_list_token_loop);
    shutdown(g_cap.fd, SHUT_RDWR);
    close(g_cap.fd);
    pthread_detach(th); /* it may sit in a read of a connection curl keeps; exit ends it */
    return test_report();
}

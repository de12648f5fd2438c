/*
 * main.c — `cos`, the command-line tool: ls, mb, rb, cp, mv, rm, stat, cat,
 * presign, sign, sync, du, config, completion over cos://BUCKET-APPID/KEY
 * URLs, or s3://BUCKET/KEY ones for an S3-compatible store (SigV4, AWS_*
 * settings). Options may come anywhere on the line, before or after the command.
 */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const struct { const char *name, *usage, *help, *summary; } COMMANDS[] = {
    { "ls", "cos ls [cos://BUCKET[/PREFIX]] [-l] [-r]", "List buckets, or objects under a prefix (-r: recursive, -l: sizes and dates)." },
    { "mb", "cos mb cos://BUCKET-APPID [--dryrun]", "Make a bucket." },
    { "rb", "cos rb cos://BUCKET-APPID [--force] [--dryrun]", "Remove a bucket; --force deletes its objects and uploads first." },
    { "cp", "cos cp SRC DST [-r] [--dryrun] [--exclude GLOB] [--include GLOB] [--no-follow-symlinks] [UPLOAD OPTIONS] [--parallel N] [--chunk-size BYTES]",
      "Copy local->cos, cos->local or cos->cos (-r: a directory or a prefix and all below it); '-' is standard "
      "input or output. Multipart, parallel, CRC-checked and resumable.", "Copy files and objects: local<->cos, cos->cos, trees (-r), standard input/output (-)." },
    { "mv", "cos mv SRC DST [-r [--all]] [--dryrun] [--exclude GLOB] [--include GLOB]",
      "Copy, then remove the source (a local file only if unchanged since the upload read it); reports "
      "move: for each source removed; refuses to move an object onto itself (-r of a whole bucket, or of "
      "the root directory, also needs --all)." },
    { "rm", "cos rm cos://BUCKET/KEY [-r] [--force] [--all] [--dryrun] [--exclude GLOB] [--include GLOB]",
      "Remove an object, or with -r everything under the prefix KEY/ (asks first unless --force; "
      "the whole bucket, no KEY, also needs --all)." },
    { "stat", "cos stat cos://BUCKET/KEY", "Show an object's size, ETag, CRC-64, type and metadata." },
    { "cat", "cos cat cos://BUCKET/KEY", "Write an object to standard output." },
    { "presign", "cos presign cos://BUCKET/KEY [--expires S] [--method M] [--start-time UNIX]",
      "Print a presigned URL (for the endpoint in use: COS, or COS_ENDPOINT / --endpoint).", "Print a presigned URL for the endpoint in use." },
    { "sign", "cos sign --method M (--key K | --pathname P) [--query n=v]... [--header n:v]... [--key-time \"start;end\"] [--no-sign-host] [-v]",
      "Print the Authorization value of a request (-v: FormatString and StringToSign on stderr); the key comes "
      "from the usual places (flags, environment, profile).", "Print the Authorization value of a request." },
    { "sync", "cos sync SRC DST [--delete [--all]] [--dryrun] [--exclude GLOB] [--include GLOB] [--size-only | --mtime] [--no-follow-symlinks] [UPLOAD OPTIONS]",
      "Make DST like SRC (local dir<->cos prefix, or cos->cos), descending into subdirectories: copy what is "
      "missing or differs by size, then CRC-64 (--size-only: size only; --mtime: size and a newer source, as "
      "aws-cli); --delete removes what SRC lacks (into a whole bucket, no prefix, it also needs --all).", "Make DST like SRC (directories and prefixes, every direction), --delete for the rest." },
    { "du", "cos du cos://BUCKET[/PREFIX]", "Count objects and bytes under the prefix PREFIX/." },
    { "config", "cos config [--profile NAME] [--dryrun]",
      "Write a profile of ~/.config/cos/config (secret id, secret key, region, endpoint), asking for each value.", "Write a profile of ~/.config/cos/config, asking for each value." },
    { "completion", "cos completion bash", "Print the bash completion script: source <(cos completion bash)." },
};
#define NCOMMANDS (sizeof COMMANDS / sizeof COMMANDS[0])

static void usage_all(FILE *f)
{
    fprintf(f, "cos — Tencent Cloud Object Storage from the command line (cos-c %s)\n\nCommands:\n", cos_version());
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-10s %s\n", COMMANDS[i].name, COMMANDS[i].summary ? COMMANDS[i].summary : COMMANDS[i].help);
    fputs("\nOptions (anywhere on the line): --secret-id ID --secret-key KEY --secret-key-file PATH|- --token T\n"
          "  --region R --endpoint HOST:PORT --path-style --profile NAME --output text|json (--json) --quiet -v\n"
          "Upload options (cp, mv, sync): --storage-class C --acl A --meta NAME=VALUE... --content-type T\n"
          "  --cache-control V --sse AES256\n"
          "Credentials and endpoint: flags, then COS_SECRET_ID, COS_SECRET_KEY, COS_SECURITY_TOKEN, COS_REGION,\n"
          "  COS_ENDPOINT (a custom or local endpoint, e.g. 127.0.0.1:9000), COS_PATH_STYLE, then the profile\n"
          "  (--profile NAME or COS_PROFILE) of ~/.config/cos/config, then its [default]; --profile beats the\n"
          "  environment. Keep the secret key out of `ps`: environment, profile, or --secret-key-file.\n"
          "S3-compatible stores: s3://BUCKET/KEY in place of cos://... (never both in one command) signs with\n"
          "  SigV4 and takes flags, then AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION\n"
          "  (or AWS_DEFAULT_REGION; default us-east-1), AWS_ENDPOINT_URL, then the profile (--profile NAME or\n"
          "  AWS_PROFILE) of ~/.aws/credentials and ~/.aws/config; `cos ls s3://` lists the buckets.\n"
          "Exit codes: 0 ok, 1 failure, 2 usage, 3 auth, 4 not found, 5 network, 130 interrupted (resumable).\n"
          "Run `cos COMMAND --help` for a command's usage; `cos --version` for the version.\n", f);
}

static int usage_cmd(const char *cmd, FILE *f, int code)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(COMMANDS[i].name, cmd)) fprintf(f, "usage: %s\n%s\n", COMMANDS[i].usage, COMMANDS[i].help);
    return code;
}

/* ---------------------------------------------------------------- ls / du */

typedef struct walk {
    const cli_opts *o;
    const char *bucket;
    uint64_t count, bytes;
    bool print, first;
} walk;

static int ls_page(void *ud, const cos_list_objects_result *l)
{
    walk *w = ud;
    const cli_opts *o = w->o;
    for (size_t i = 0; w->print && i < l->common_prefixes_count; i++) {
        if (o->json) {
            printf("%s{\"prefix\":", w->first ? "" : ",");
            json_str(l->common_prefixes[i].prefix);
            printf("}");
        } else {
            printf("%s%-20s %s%s/%s\n", o->long_form ? "                    " : "", "DIR", CLI_SCHEME, w->bucket,
                   cli_shown(stdout, l->common_prefixes[i].prefix));
        }
        w->first = false;
    }
    for (size_t i = 0; i < l->contents_count; i++) {
        cos_object_summary *s = &l->contents[i];
        w->count++;
        w->bytes += s->size;
        if (!w->print) continue;
        if (o->json) {
            printf("%s{\"key\":", w->first ? "" : ",");
            json_str(s->key);
            printf(",\"size\":%llu,\"etag\":", (unsigned long long)s->size);
            json_str(s->etag);
            printf(",\"last_modified\":");
            json_str(s->last_modified);
            printf(",\"storage_class\":");
            json_str(s->storage_class);
            printf("}");
        } else if (o->long_form) {
            printf("%-24s %12llu  %s%s/%s\n", cli_shown(stdout, s->last_modified ? s->last_modified : ""),
                   (unsigned long long)s->size, CLI_SCHEME, w->bucket, cli_shown(stdout, s->key));
        } else {
            printf("%s%s/%s\n", CLI_SCHEME, w->bucket, cli_shown(stdout, s->key));
        }
        w->first = false;
    }
    return 0;
}

static int cmd_ls(cos_client *c, const cli_opts *o)
{
    /* `cos ls s3://` (or cos://): the buckets, in that dialect */
    bool buckets = o->nargs == 0 || (o->nargs == 1 && (!strcmp(o->args[0], "s3://") || !strcmp(o->args[0], "cos://")));
    if (buckets) {
        cos_request r = COS_REQUEST_INIT;
        cos_result *res = NULL;
        cos_error *err = NULL;
        int rc = cos_get_service(c, &r, &res, &err);
        if (rc) return cli_fail("ls", rc, err);
        cos_list_buckets_result *l = res->output.list_buckets;
        if (o->json) printf("[");
        for (size_t i = 0; l && i < l->buckets_count; i++) {
            if (o->json) {
                printf("%s{\"name\":", i ? "," : "");
                json_str(l->buckets[i].name);
                printf(",\"region\":");
                json_str(l->buckets[i].location);
                printf(",\"created\":");
                json_str(l->buckets[i].creation_date);
                printf("}");
            } else if (o->long_form) {
                printf("%-22s %-16s %s%s\n", cli_shown(stdout, l->buckets[i].creation_date),
                       cli_shown(stdout, l->buckets[i].location), CLI_SCHEME, cli_shown(stdout, l->buckets[i].name));
            } else {
                printf("%s%s\n", CLI_SCHEME, cli_shown(stdout, l->buckets[i].name));
            }
        }
        if (o->json) printf("]\n");
        cos_result_free(res);
        return 0;
    }
    cos_url u;
    if (o->nargs != 1 || !cli_parse_url(o->args[0], &u)) return usage_cmd("ls", stderr, EXIT_USAGE);
    walk w = { o, u.bucket, 0, 0, true, true };
    if (o->json) printf("[");
    int rc = cli_list(c, "ls", u.bucket, u.key, o->recursive ? NULL : "/", ls_page, &w);
    if (o->json) printf("]\n");
    return rc;
}

static int cmd_du(cos_client *c, const cli_opts *o)
{
    cos_url u;
    if (o->nargs != 1 || !cli_parse_url(o->args[0], &u)) return usage_cmd("du", stderr, EXIT_USAGE);
    char prefix[1100];
    cli_dir_prefix(u.key, prefix, sizeof prefix); /* what rm -r would remove */
    walk w = { o, u.bucket, 0, 0, false, true };
    int rc = cli_list(c, "du", u.bucket, prefix, NULL, ls_page, &w);
    if (rc) return rc;
    char h[32];
    cli_human(w.bytes, h);
    if (o->json) {
        printf("{\"bucket\":");
        json_str(u.bucket);
        printf(",\"prefix\":");
        json_str(prefix);
        printf(",\"objects\":%llu,\"bytes\":%llu}\n", (unsigned long long)w.count, (unsigned long long)w.bytes);
    } else {
        printf("%llu objects, %llu bytes (%s)\n", (unsigned long long)w.count, (unsigned long long)w.bytes, h);
    }
    return 0;
}

/* ---------------------------------------------------------------- buckets */

static int simple_bucket_op(cos_client *c, const cli_opts *o, const char *name, cos_op op)
{
    cos_url u;
    if (o->nargs != 1 || !cli_parse_url(o->args[0], &u) || u.key[0]) return usage_cmd(name, stderr, EXIT_USAGE);
    /* --dryrun does nothing (rb --dryrun deleted the bucket) */
    if (!o->dryrun) {
        cos_request r = COS_REQUEST_INIT;
        r.bucket = u.bucket;
        cos_result *res = NULL;
        cos_error *err = NULL;
        int rc = cos_call(c, op, &r, &res, &err);
        if (rc) return cli_fail(name, rc, err);
        cos_result_free(res);
    }
    const char *what = op == COS_OP_PUT_BUCKET ? "made" : "removed";
    if (o->json) {
        printf("{\"bucket\":");
        json_str(u.bucket);
        printf(",\"action\":\"%s\",\"dryrun\":%s}\n", what, o->dryrun ? "true" : "false");
    } else if (!o->quiet) {
        printf("%s%s %s%s\n", o->dryrun ? "(dryrun) " : "", what, CLI_SCHEME, u.bucket);
    }
    return 0;
}

/* Collects the keys of a listing page for one bulk delete, filtered by --exclude/--include. */
typedef struct rm_ctx {
    cos_client *c;
    const cli_opts *o;
    const char *bucket, *prefix;
    int rc;
} rm_ctx;

bool cli_filter_pass(const cli_opts *o, const char *rel); /* xfer.c */

static int rm_page(void *ud, const cos_list_objects_result *l)
{
    rm_ctx *x = ud;
    if (!l->contents_count) return 0;
    char **keys = malloc(l->contents_count * sizeof *keys);
    if (!keys) return EXIT_FAIL;
    size_t n = 0, plen = strlen(x->prefix);
    for (size_t i = 0; i < l->contents_count; i++)
        if (cli_filter_pass(x->o, l->contents[i].key + plen)) keys[n++] = l->contents[i].key;
    bool stalled = false;
    int rc = n ? cli_delete_keys(x->c, x->o, x->bucket, keys, n, &stalled) : 0;
    free(keys);
    if (stalled) return rc; /* no progress: stop */
    /* keys that failed are reported and left; the listing goes on past them */
    if (rc == EXIT_FAIL && x->rc == 0) x->rc = rc;
    return rc == EXIT_FAIL ? 0 : rc;
}

static int delete_prefix(cos_client *c, const cli_opts *o, const char *bucket, const char *prefix)
{
    rm_ctx x = { c, o, bucket, prefix, 0 };
    int rc = cli_list(c, o->cmd, bucket, prefix, NULL, rm_page, &x);
    return rc ? rc : x.rc;
}

static int cmd_rb(cos_client *c, const cli_opts *o)
{
    cos_url u;
    if (o->nargs != 1 || !cli_parse_url(o->args[0], &u) || u.key[0]) return usage_cmd("rb", stderr, EXIT_USAGE);
    if (o->force) {
        cli_opts q = *o;
        q.quiet = !o->dryrun; /* --dryrun: what would be deleted */
        q.json = false;
        q.nfilters = 0;
        q.recursive = false; /* no summary line */
        cli_report_begin(&q);
        int rc = cli_report_end(delete_prefix(c, &q, u.bucket, ""));
        if (rc) return rc;
        /* abort unfinished multipart uploads too (pages of uploads, while they shrink); not with --dryrun */
        for (int round = 0; round < 1000 && !o->dryrun; round++) {
            cos_request r = COS_REQUEST_INIT;
            r.bucket = u.bucket;
            cos_result *res = NULL;
            cos_error *err = NULL;
            if (cos_multipart_list(c, &r, &res, &err) != 0 || !res->output.list_uploads) {
                cos_result_free(res);
                cos_error_free(err);
                break;
            }
            cos_list_multipart_uploads_result *l = res->output.list_uploads;
            size_t aborted = 0;
            for (size_t i = 0; i < l->uploads_count; i++) {
                cos_request a = COS_REQUEST_INIT;
                a.bucket = u.bucket;
                a.key = l->uploads[i].key;
                a.upload_id = l->uploads[i].upload_id;
                cos_result *ar = NULL;
                if (cos_multipart_abort(c, &a, &ar, NULL) == 0) aborted++;
                cos_result_free(ar);
            }
            bool again = l->is_truncated && aborted > 0; /* no progress, no second round */
            cos_result_free(res);
            if (!again) break;
        }
    }
    return simple_bucket_op(c, o, "rb", COS_OP_DELETE_BUCKET);
}

static int cmd_rm(cos_client *c, const cli_opts *o)
{
    cos_url u;
    if (o->nargs != 1 || !cli_parse_url(o->args[0], &u)) return usage_cmd("rm", stderr, EXIT_USAGE);
    if (!o->recursive) {
        if (!u.key[0]) return usage_cmd("rm", stderr, EXIT_USAGE);
        char url[1200];
        snprintf(url, sizeof url, "%s%s/%s", CLI_SCHEME, u.bucket, u.key);
        cli_report_begin(o);
        if (o->dryrun) {
            cli_report_item("delete", url, NULL, 0, NULL, NULL);
            return cli_report_end(0);
        }
        cos_request r = COS_REQUEST_INIT;
        r.bucket = u.bucket;
        r.key = u.key;
        cos_result *res = NULL;
        cos_error *err = NULL;
        int rc = cos_delete_object(c, &r, &res, &err);
        cos_result_free(res);
        if (rc) {
            cli_report_failure(url, NULL, err); /* --output json names it; cli_fail says it on stderr */
            return cli_report_end(cli_fail("rm", rc, err));
        }
        cli_report_item("delete", url, NULL, 0, NULL, NULL);
        return cli_report_end(0);
    }
    /* "under cos://b/logs" is the logs/ prefix, never logs-archive/ or logs.txt */
    char prefix[1100];
    cli_dir_prefix(u.key, prefix, sizeof prefix);
    /* `cos rm -r --force "cos://b/$DIR"` with DIR empty must not empty the bucket */
    if (!prefix[0] && !o->all && !o->dryrun) {
        fprintf(stderr, "cos: rm -r %s%s names no prefix: that is every object in the bucket; add --all if that "
                        "is what you want\n", CLI_SCHEME, u.bucket);
        return EXIT_USAGE;
    }
    if (!o->force && !o->dryrun) {
        if (!isatty(STDIN_FILENO)) {
            fprintf(stderr, "cos: rm -r needs --force when standard input is not a terminal\n");
            return EXIT_USAGE;
        }
        fprintf(stderr, "remove everything under %s%s/%s ? [y/N] ", CLI_SCHEME, u.bucket, prefix);
        char ans[16] = "";
        if (!fgets(ans, sizeof ans, stdin) || (ans[0] != 'y' && ans[0] != 'Y')) return EXIT_FAIL;
    }
    cli_report_begin(o);
    return cli_report_end(delete_prefix(c, o, u.bucket, prefix));
}

static int cmd_stat(cos_client *c, const cli_opts *o)
{
    cos_url u;
    if (o->nargs != 1 || !cli_parse_url(o->args[0], &u) || !u.key[0]) return usage_cmd("stat", stderr, EXIT_USAGE);
    cos_request r = COS_REQUEST_INIT;
    r.bucket = u.bucket;
    r.key = u.key;
    cos_result *res = NULL;
    cos_error *err = NULL;
    int rc = cos_head_object(c, &r, &res, &err);
    if (rc) return cli_fail("stat", rc, err);
    const char *ct = cos_result_header(res, "Content-Type"), *lm = cos_result_header(res, "Last-Modified");
    const char *sc = cos_result_header(res, "x-cos-storage-class"), *cc = cos_result_header(res, "Cache-Control");
    const char *sse = cos_result_header(res, "x-cos-server-side-encryption");
    /* an S3 store answers under x-amz-* names */
    if (!sc) sc = cos_result_header(res, "x-amz-storage-class");
    if (!sse) sse = cos_result_header(res, "x-amz-server-side-encryption");
    /* no x-cos-hash-crc64ecma (always so in the S3 dialect): the CRC-64 is unknown, not 0 */
    char crc[24] = "";
    if (res->has_crc64) snprintf(crc, sizeof crc, "%llu", (unsigned long long)res->crc64);
    if (o->json) {
        printf("{\"key\":");
        json_str(u.key);
        printf(",\"size\":%llu,\"etag\":", (unsigned long long)res->content_length);
        json_str(res->etag);
        printf(",\"crc64\":");
        json_str(res->has_crc64 ? crc : NULL);
        printf(",\"content_type\":");
        json_str(ct);
        printf(",\"last_modified\":");
        json_str(lm);
        printf(",\"storage_class\":");
        json_str(sc ? sc : "STANDARD");
        printf(",\"cache_control\":");
        json_str(cc);
        printf(",\"sse\":");
        json_str(sse);
        printf(",\"meta\":{");
        int n = 0;
        for (size_t i = 0; i < res->header_count; i++)
            if (!strncasecmp(res->headers[i].name, "x-cos-meta-", 11) || !strncasecmp(res->headers[i].name, "x-amz-meta-", 11)) {
                printf("%s", n++ ? "," : "");
                json_str(res->headers[i].name + 11);
                putchar(':');
                json_str(res->headers[i].value);
            }
        printf("}}\n");
    } else {
        /* every value but the size is the server's (or a key): shown escaped on a terminal */
        printf("Key:           %s\nSize:          %llu\nETag:          %s\n", cli_shown(stdout, u.key),
               (unsigned long long)res->content_length, cli_shown(stdout, res->etag ? res->etag : ""));
        if (res->has_crc64) printf("CRC-64:        %s\n", crc);
        printf("Content-Type:  %s\nLast-Modified: %s\nStorage-Class: %s\n", cli_shown(stdout, ct ? ct : ""),
               cli_shown(stdout, lm ? lm : ""), cli_shown(stdout, sc ? sc : "STANDARD"));
        if (cc) printf("Cache-Control: %s\n", cli_shown(stdout, cc));
        if (sse) printf("Encryption:    %s\n", cli_shown(stdout, sse));
        for (size_t i = 0; i < res->header_count; i++)
            if (!strncasecmp(res->headers[i].name, "x-cos-meta-", 11) || !strncasecmp(res->headers[i].name, "x-amz-meta-", 11))
                printf("Meta %s: %s\n", cli_shown(stdout, res->headers[i].name + 11),
                       cli_shown(stdout, res->headers[i].value));
    }
    cos_result_free(res);
    return 0;
}

static int write_stdout(void *ud, const void *buf, size_t len)
{
    (void)ud;
    return fwrite(buf, 1, len, stdout) == len ? 0 : -1;
}

static int cmd_cat(cos_client *c, const cli_opts *o)
{
    cos_url u;
    if (o->nargs != 1 || !cli_parse_url(o->args[0], &u) || !u.key[0]) return usage_cmd("cat", stderr, EXIT_USAGE);
    cos_request r = COS_REQUEST_INIT;
    r.bucket = u.bucket;
    r.key = u.key;
    r.sink.write = write_stdout;
    cos_result *res = NULL;
    cos_error *err = NULL;
    int rc = cos_get_object(c, &r, &res, &err);
    fflush(stdout);
    cos_result_free(res);
    return rc ? cli_fail("cat", rc, err) : 0;
}

static int cmd_presign(cos_client *c, const cli_opts *o)
{
    cos_url u;
    if (o->nargs != 1 || !cli_parse_url(o->args[0], &u) || !u.key[0]) return usage_cmd("presign", stderr, EXIT_USAGE);
    cos_url_params p = COS_URL_PARAMS_INIT;
    p.bucket = u.bucket;
    p.key = u.key;
    p.expires = o->expires;
    p.method = o->method;
    p.start_time = o->start_time;
    char *url = NULL;
    cos_error *err = NULL;
    int rc = cos_get_object_url(c, &p, &url, &err);
    if (rc) return cli_fail("presign", rc, err);
    if (o->json) {
        printf("{\"url\":");
        json_str(url);
        printf(",\"method\":");
        json_str(o->method ? o->method : "GET");
        printf(",\"expires\":%d}\n", o->expires ? o->expires : 900);
    } else {
        printf("%s\n", url);
    }
    free(url);
    return 0;
}

static int cmd_sign(const cli_opts *o)
{
    if (!o->method || (!o->key && !o->pathname)) return usage_cmd("sign", stderr, EXIT_USAGE);
    cli_settings s;
    int rc = cli_resolve(o, &s);
    if (rc) return rc;
    if (!s.secret_id || !s.secret_key) {
        fprintf(stderr, "cos: sign: no credentials: --secret-id with --secret-key (or --secret-key-file), "
                        "COS_SECRET_ID/COS_SECRET_KEY, or a profile\n");
        cli_settings_free(&s);
        return EXIT_AUTH;
    }
    cos_kv q[CLI_MAX_LIST], h[CLI_MAX_LIST];
    int nq = 0, nh = 0;
    char *owned[2 * CLI_MAX_LIST];
    int nown = 0;
    for (int i = 0; i < o->nquery; i++) {
        char *x = strdup(o->query[i]);
        owned[nown++] = x;
        char *eq = strchr(x, '=');
        if (eq) *eq = '\0';
        q[nq++] = (cos_kv){ x, eq ? eq + 1 : "" };
    }
    for (int i = 0; i < o->nheaders; i++) {
        char *x = strdup(o->headers[i]);
        owned[nown++] = x;
        char *colon = strchr(x, ':');
        if (!colon) {
            fprintf(stderr, "cos: sign: --header %s: expected name:value\n", o->headers[i]);
            for (int j = 0; j < nown; j++) free(owned[j]);
            cli_settings_free(&s);
            return EXIT_USAGE;
        }
        *colon = '\0';
        const char *v = colon + 1;
        while (*v == ' ') v++;
        h[nh++] = (cos_kv){ x, v };
    }
    cos_sign_params p = COS_SIGN_PARAMS_INIT;
    p.secret_id = s.secret_id;
    p.secret_key = s.secret_key;
    p.method = o->method;
    p.key = o->key;
    p.pathname = o->pathname;
    p.query = q;
    p.query_count = (size_t)nq;
    p.headers = h;
    p.header_count = (size_t)nh;
    p.no_sign_host = o->no_sign_host;
    if (o->key_time) {
        long long st = 0, en = 0;
        if (sscanf(o->key_time, "%lld;%lld", &st, &en) != 2) {
            for (int j = 0; j < nown; j++) free(owned[j]);
            cli_settings_free(&s);
            return usage_cmd("sign", stderr, EXIT_USAGE);
        }
        p.start_time = st;
        p.end_time = en;
    }
    char *auth = NULL;
    cos_sign_debug dbg = { 0 };
    cos_error *err = NULL;
    rc = cos_sign(&p, &auth, o->verbose ? &dbg : NULL, &err);
    for (int i = 0; i < nown; i++) free(owned[i]);
    cli_settings_free(&s);
    if (rc) return cli_fail("sign", rc, err);
    if (o->verbose) fprintf(stderr, "FormatString:\n%s\nStringToSign:\n%s\n", dbg.format_string, dbg.string_to_sign);
    if (o->json) {
        printf("{\"authorization\":");
        json_str(auth);
        printf("}\n");
    } else {
        printf("%s\n", auth);
    }
    free(auth);
    cos_sign_debug_free(&dbg);
    return 0;
}

/* ---------------------------------------------------------------- completion */

static const char *const VALUE_FLAGS[] = { "--secret-id", "--secret-key", "--secret-key-file", "--token", "--region",
    "--endpoint", "--profile", "--output", "--method", "--key", "--pathname", "--key-time", "--query", "--header",
    "--expires", "--parallel", "--start-time", "--chunk-size", "--exclude", "--include", "--storage-class", "--acl",
    "--meta", "--content-type", "--cache-control", "--sse" };
static const char *const BOOL_FLAGS[] = { "--path-style", "--json", "--quiet", "--verbose", "--recursive", "--force",
    "--dryrun", "--delete", "--all", "--size-only", "--mtime", "--no-follow-symlinks", "--no-sign-host", "--help", "--version" };
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int cmd_completion(const cli_opts *o)
{
    if (o->nargs > 1 || (o->nargs == 1 && strcmp(o->args[0], "bash") != 0))
        return usage_cmd("completion", stderr, EXIT_USAGE);
    printf("# bash completion for cos (cos-c %s): source <(cos completion bash)\n_cos() {\n"
           "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cmd= w\n"
           "  for w in \"${COMP_WORDS[@]:1:COMP_CWORD-1}\"; do case $w in -*) ;; *) cmd=$w; break;; esac; done\n"
           "  case $prev in\n"
           "    --output) COMPREPLY=($(compgen -W 'text json' -- \"$cur\")); return;;\n"
           "    --storage-class) COMPREPLY=($(compgen -W 'STANDARD STANDARD_IA ARCHIVE DEEP_ARCHIVE INTELLIGENT_TIERING MAZ_STANDARD' -- \"$cur\")); return;;\n"
           "    --acl) COMPREPLY=($(compgen -W 'private public-read public-read-write default' -- \"$cur\")); return;;\n"
           "    --sse) COMPREPLY=($(compgen -W 'AES256' -- \"$cur\")); return;;\n"
           "    --profile) COMPREPLY=($(compgen -W \"$(sed -n 's/^\\[\\(profile \\)\\{0,1\\}\\([^]]*\\)\\]/\\2/p' \"${COS_CONFIG:-$HOME/.config/cos/config}\" 2>/dev/null)\" -- \"$cur\")); return;;\n"
           "    --secret-key-file) COMPREPLY=($(compgen -f -- \"$cur\")); return;;\n",
           cos_version());
    printf("    ");
    for (size_t i = 0; i < NELEM(VALUE_FLAGS); i++) {
        if (!strcmp(VALUE_FLAGS[i], "--output") || !strcmp(VALUE_FLAGS[i], "--storage-class") ||
            !strcmp(VALUE_FLAGS[i], "--acl") || !strcmp(VALUE_FLAGS[i], "--sse") ||
            !strcmp(VALUE_FLAGS[i], "--profile") || !strcmp(VALUE_FLAGS[i], "--secret-key-file"))
            continue;
        printf("%s%s", i ? "|" : "", VALUE_FLAGS[i]);
    }
    printf(") return;;\n  esac\n  if [[ $cur == -* ]]; then\n    COMPREPLY=($(compgen -W '");
    for (size_t i = 0; i < NELEM(VALUE_FLAGS); i++) printf("%s ", VALUE_FLAGS[i]);
    for (size_t i = 0; i < NELEM(BOOL_FLAGS); i++) printf("%s ", BOOL_FLAGS[i]);
    printf("-r -l -q -v -f' -- \"$cur\"))\n  elif [ -z \"$cmd\" ]; then\n    COMPREPLY=($(compgen -W '");
    for (size_t i = 0; i < NCOMMANDS; i++) printf("%s ", COMMANDS[i].name);
    printf("' -- \"$cur\"))\n  else\n    COMPREPLY=($(compgen -f -- \"$cur\"))\n  fi\n}\ncomplete -o filenames -F _cos cos\n");
    return 0;
}

/* ---------------------------------------------------------------- main */

static void on_sigint(int sig)
{
    (void)sig;
    cli_interrupted = 1;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    /* digits first: strtoull also takes " -1" (as 2^64-1) and a sign */
    if (errno || end == s || *s < '0' || *s > '9') return false;
    uint64_t mul = 1;
    if (*end == 'K' || *end == 'k') mul = 1024, end++;
    else if (*end == 'M' || *end == 'm') mul = 1024 * 1024, end++;
    else if (*end == 'G' || *end == 'g') mul = 1024ull * 1024 * 1024, end++;
    if (*end == 'i') end++;
    if (*end == 'B') end++;
    if (*end || (uint64_t)v > UINT64_MAX / mul) return false; /* "17179869184G" wrapped to 0 */
    *out = (uint64_t)v * mul;
    return true;
}

/* Parse the whole line: options anywhere, the first bare word is the command. */
static int parse_args(int argc, char **argv, cli_opts *o, bool *help, bool *version)
{
    bool no_more_flags = false;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (no_more_flags || a[0] != '-' || !a[1]) { /* "-" is standard input or output */
            if (!o->cmd) o->cmd = a;
            else if (o->nargs < 8) o->args[o->nargs++] = a;
            else {
                fprintf(stderr, "cos: too many arguments\n");
                return EXIT_USAGE;
            }
            continue;
        }
        if (!strcmp(a, "--")) {
            no_more_flags = true;
            continue;
        }
        /* --name=value or --name value */
        char name[64];
        const char *v = NULL;
        char *eq = strncmp(a, "--", 2) == 0 ? strchr(a, '=') : NULL;
        if (eq && (size_t)(eq - a) < sizeof name) {
            memcpy(name, a, (size_t)(eq - a));
            name[eq - a] = '\0';
            v = eq + 1;
        } else {
            snprintf(name, sizeof name, "%s", a);
        }
        bool takes_value = false;
        for (size_t k = 0; k < NELEM(VALUE_FLAGS); k++) takes_value |= !strcmp(name, VALUE_FLAGS[k]);
        takes_value |= !strcmp(name, "-o");
        bool value_in_next = false;
        if (takes_value && !v) {
            if (i + 1 >= argc) {
                fprintf(stderr, "cos: %s needs a value\n", name);
                return EXIT_USAGE;
            }
            v = argv[i + 1];
            value_in_next = true;
        } else if (!takes_value && v) {
            fprintf(stderr, "cos: %s takes no value\n", name);
            return EXIT_USAGE;
        }
#define IS(s) (!strcmp(name, s))
        if (IS("--secret-key")) {
            /* keep the key out of `ps` from here on: copy it, then blank the argument */
            char *copy = strdup(v);
            if (!copy) return EXIT_FAIL;
            memset((char *)v, 'x', strlen(v));
            v = copy;
            free((char *)o->secret_key); /* given twice: the last wins, as for --token (fuzz_cli_args: a leak) */
            o->secret_key = copy;
        } else if (IS("--secret-id")) o->secret_id = v;
        else if (IS("--secret-key-file")) o->secret_key_file = v;
        else if (IS("--token")) { /* a temporary key's token is a secret too: out of `ps` likewise */
            char *copy = strdup(v);
            if (!copy) return EXIT_FAIL;
            memset((char *)v, 'x', strlen(v));
            v = copy;
            free((char *)o->token);
            o->token = copy;
        }
        else if (IS("--region")) o->region = v;
        else if (IS("--endpoint")) o->endpoint = v;
        else if (IS("--profile")) o->profile = v;
        else if (IS("--output") || IS("-o")) {
            if (!strcmp(v, "json")) o->json = true;
            else if (!strcmp(v, "text")) o->json = false;
            else {
                fprintf(stderr, "cos: --output must be text or json, not '%s'\n", v);
                return EXIT_USAGE;
            }
        } else if (IS("--method")) o->method = v;
        else if (IS("--key")) o->key = v;
        else if (IS("--pathname")) o->pathname = v;
        else if (IS("--key-time")) o->key_time = v;
        else if (IS("--query") || IS("--header") || IS("--meta") || IS("--exclude") || IS("--include")) {
            int *n = IS("--query") ? &o->nquery : IS("--header") ? &o->nheaders : IS("--meta") ? &o->nmeta : &o->nfilters;
            if (*n >= CLI_MAX_LIST) {
                fprintf(stderr, "cos: too many %s options\n", name);
                return EXIT_USAGE;
            }
            if (IS("--meta") && !strchr(v, '=')) {
                fprintf(stderr, "cos: --meta %s: expected NAME=VALUE\n", v);
                return EXIT_USAGE;
            }
            if (IS("--query")) o->query[(*n)++] = v;
            else if (IS("--header")) o->headers[(*n)++] = v;
            else if (IS("--meta")) o->meta[(*n)++] = v;
            else {
                o->filter_include[*n] = IS("--include");
                o->filters[(*n)++] = v;
            }
        } else if (IS("--expires") || IS("--parallel") || IS("--start-time") || IS("--chunk-size")) {
            uint64_t n = 0;
            if (!parse_u64(v, &n) || (!IS("--chunk-size") && !IS("--start-time") && n > 1000000000)) {
                fprintf(stderr, "cos: %s %s: expected a number\n", name, v);
                return EXIT_USAGE;
            }
            if (IS("--expires")) o->expires = (int)n;
            else if (IS("--parallel")) o->parallel = (int)n;
            else if (IS("--start-time")) o->start_time = (int64_t)n;
            else o->chunk_size = n;
        } else if (IS("--storage-class")) o->storage_class = v;
        else if (IS("--acl")) o->acl = v;
        else if (IS("--content-type")) o->content_type = v;
        else if (IS("--cache-control")) o->cache_control = v;
        else if (IS("--sse")) {
            if (strcmp(v, "AES256") != 0) {
                fprintf(stderr, "cos: --sse %s: only AES256 (SSE-COS) is supported\n", v);
                return EXIT_USAGE;
            }
            o->sse = v;
        } else if (IS("--help") || IS("-h")) *help = true;
        else if (IS("--version")) *version = true;
        else if (IS("--path-style")) o->path_style = true;
        else if (IS("--json")) o->json = true;
        else if (IS("--quiet") || IS("-q")) o->quiet = true;
        else if (IS("--verbose") || IS("-v")) o->verbose = true;
        else if (IS("--recursive") || IS("-r")) o->recursive = true;
        else if (IS("-l")) o->long_form = true;
        else if (IS("--force") || IS("-f")) o->force = true;
        else if (IS("--dryrun") || IS("--dry-run")) o->dryrun = true;
        else if (IS("--delete")) o->delete_extra = true;
        else if (IS("--all")) o->all = true;
        else if (IS("--size-only")) o->size_only = true;
        else if (IS("--mtime")) o->mtime = true;
        else if (IS("--no-follow-symlinks")) o->no_follow_symlinks = true;
        else if (IS("--no-sign-host")) o->no_sign_host = true;
        else {
            fprintf(stderr, "cos: unknown option %s\n", a);
            return EXIT_USAGE;
        }
#undef IS
        if (value_in_next) i++;
    }
    return 0;
}

int main(int argc, char **argv)
{
    cli_opts o;
    memset(&o, 0, sizeof o);
    bool help = false, version = false;
    int prc = parse_args(argc, argv, &o, &help, &version);
    if (version) {
        if (o.json) printf("{\"version\":\"%s\"}\n", cos_version());
        else printf("cos %s\n", cos_version());
        return 0;
    }
    if (o.cmd && !strcmp(o.cmd, "help")) {
        if (o.nargs) return usage_cmd(o.args[0], stdout, 0);
        usage_all(stdout);
        return 0;
    }
    bool known = false;
    for (size_t i = 0; o.cmd && i < NCOMMANDS; i++) known |= !strcmp(COMMANDS[i].name, o.cmd);
    if (help) {
        if (known) return usage_cmd(o.cmd, stdout, 0);
        usage_all(stdout);
        return 0;
    }
    if (!o.cmd) {
        usage_all(stderr);
        return EXIT_USAGE;
    }
    if (!known) {
        fprintf(stderr, "cos: unknown command '%s'\n", o.cmd);
        usage_all(stderr);
        return EXIT_USAGE;
    }
    if (prc) return usage_cmd(o.cmd, stderr, prc);
    if (cli_dialect(&o)) return EXIT_USAGE;
    if (o.size_only && o.mtime) {
        fprintf(stderr, "cos: --size-only and --mtime are exclusive\n");
        return EXIT_USAGE;
    }
    if (!strcmp(o.cmd, "completion") || !strcmp(o.cmd, "config") || !strcmp(o.cmd, "sign")) {
        int rc = !strcmp(o.cmd, "completion") ? cmd_completion(&o) : !strcmp(o.cmd, "config") ? cmd_config(&o) : cmd_sign(&o);
        free((char *)o.secret_key);
        free((char *)o.token);
        return rc;
    }
    struct sigaction act;
    memset(&act, 0, sizeof act);
    act.sa_handler = on_sigint;
    sigaction(SIGINT, &act, NULL);
    signal(SIGPIPE, SIG_IGN); /* `cos cp cos://b/k - | head` ends with an error, not a signal */
    cli_settings s;
    int rc = cli_resolve(&o, &s);
    if (rc) return rc;
    cos_client *c = NULL;
    rc = cli_client(&o, &s, !strcmp(o.cmd, "presign"), &c);
    if (rc) {
        cli_settings_free(&s);
        return rc;
    }
    if (!strcmp(o.cmd, "ls")) rc = cmd_ls(c, &o);
    else if (!strcmp(o.cmd, "mb")) rc = simple_bucket_op(c, &o, "mb", COS_OP_PUT_BUCKET);
    else if (!strcmp(o.cmd, "rb")) rc = cmd_rb(c, &o);
    else if (!strcmp(o.cmd, "cp")) rc = cmd_cp(c, &o, &s);
    else if (!strcmp(o.cmd, "mv")) rc = cmd_mv(c, &o, &s);
    else if (!strcmp(o.cmd, "rm")) rc = cmd_rm(c, &o);
    else if (!strcmp(o.cmd, "stat")) rc = cmd_stat(c, &o);
    else if (!strcmp(o.cmd, "cat")) rc = cmd_cat(c, &o);
    else if (!strcmp(o.cmd, "presign")) rc = cmd_presign(c, &o);
    else if (!strcmp(o.cmd, "sync")) rc = cmd_sync(c, &o, &s);
    else if (!strcmp(o.cmd, "du")) rc = cmd_du(c, &o);
    cos_client_free(c);
    cli_settings_free(&s);
    free((char *)o.secret_key);
    free((char *)o.token);
    return rc;
}

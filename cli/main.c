/*
 * main.c — `cos`, the command-line tool: ls, mb, rb, cp, mv, rm, stat, cat,
 * presign, sign, sync, du over cos://BUCKET-APPID/KEY URLs.
 */
#define _GNU_SOURCE
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const struct { const char *name, *usage, *help; } COMMANDS[] = {
    { "ls", "cos ls [cos://BUCKET[/PREFIX]] [-l] [-r] [--json]", "List buckets, or objects under a prefix (-r: recursive, -l: sizes and dates)." },
    { "mb", "cos mb cos://BUCKET-APPID", "Make a bucket." },
    { "rb", "cos rb cos://BUCKET-APPID [--force]", "Remove a bucket; --force deletes its objects and uploads first." },
    { "cp", "cos cp SRC DST [-r] [--parallel N] [--chunk-size BYTES]", "Copy local->cos, cos->local or cos->cos; multipart, parallel and resumable." },
    { "mv", "cos mv SRC DST", "Copy, then remove the source." },
    { "rm", "cos rm cos://BUCKET/KEY [-r] [--force]", "Remove an object, or everything under a prefix with -r (asks first unless --force)." },
    { "stat", "cos stat cos://BUCKET/KEY [--json]", "Show an object's size, ETag, CRC-64, type and metadata." },
    { "cat", "cos cat cos://BUCKET/KEY", "Write an object to standard output." },
    { "presign", "cos presign cos://BUCKET/KEY [--expires S] [--method M] [--start-time UNIX]", "Print a presigned URL." },
    { "sign", "cos sign --secret-id ID --secret-key KEY --method M (--key K | --pathname P) [--query n=v]... [--header n:v]... [--key-time \"start;end\"] [--no-sign-host] [-v]",
      "Print the Authorization value of a request (-v: FormatString and StringToSign on stderr)." },
    { "sync", "cos sync LOCAL_DIR cos://BUCKET/PREFIX", "Upload what changed (by size and CRC-64)." },
    { "du", "cos du cos://BUCKET[/PREFIX] [--json]", "Count objects and bytes under a prefix." },
};

static void usage_all(FILE *f)
{
    fprintf(f, "cos — Tencent Cloud Object Storage from the command line (cos-c %s)\n\nCommands:\n", cos_version());
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        fprintf(f, "  %-8s %s\n", COMMANDS[i].name, COMMANDS[i].help);
    fputs("\nOptions (any command): --secret-id ID --secret-key KEY --token T --region R --endpoint HOST:PORT\n"
          "  --path-style --profile NAME --json --quiet -v\n"
          "Credentials and endpoint: flags, then COS_SECRET_ID, COS_SECRET_KEY, COS_SECURITY_TOKEN, COS_REGION,\n"
          "  COS_ENDPOINT (a custom or local endpoint, e.g. 127.0.0.1:9000), COS_PATH_STYLE, then\n"
          "  ~/.config/cos/config ([default] or [profile NAME]: secret_id, secret_key, region, endpoint).\n"
          "Exit codes: 0 ok, 1 failure, 2 usage, 3 auth, 4 not found, 5 network, 130 interrupted (resumable).\n"
          "Run `cos COMMAND --help` for a command's usage.\n", f);
}

static int usage_cmd(const char *cmd, FILE *f, int code)
{
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (!strcmp(COMMANDS[i].name, cmd)) fprintf(f, "usage: %s\n%s\n", COMMANDS[i].usage, COMMANDS[i].help);
    return code;
}

static void json_str(const char *s)
{
    putchar('"');
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\') printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20) printf("\\u%04x", *s);
        else putchar(*s);
    }
    putchar('"');
}

/* ---------------------------------------------------------------- ls / du */

typedef struct walk {
    uint64_t count, bytes;
} walk;

static int list_objects(cos_client *c, const cli_opts *o, const cos_url *u, bool print, walk *w)
{
    char marker[1100] = "";
    bool first = true;
    if (print && o->json) printf("[");
    for (;;) {
        cos_request r = COS_REQUEST_INIT;
        r.bucket = u->bucket;
        r.prefix = u->key;
        r.delimiter = o->recursive || !print ? NULL : "/";
        r.marker = marker[0] ? marker : NULL;
        r.max_keys = 1000;
        cos_result *res = NULL;
        cos_error *err = NULL;
        int rc = cos_get_bucket(c, &r, &res, &err);
        if (rc) return cli_fail("ls", rc, err);
        cos_list_objects_result *l = res->output.list_objects;
        for (size_t i = 0; print && l && i < l->common_prefixes_count; i++) {
            if (o->json) {
                printf("%s{\"prefix\":", first ? "" : ",");
                json_str(l->common_prefixes[i].prefix);
                printf("}");
            } else {
                printf("%s%-20s cos://%s/%s\n", o->long_form ? "                    " : "", "DIR", u->bucket,
                       l->common_prefixes[i].prefix);
            }
            first = false;
        }
        for (size_t i = 0; l && i < l->contents_count; i++) {
            cos_object_summary *s = &l->contents[i];
            w->count++;
            w->bytes += s->size;
            if (!print) continue;
            if (o->json) {
                printf("%s{\"key\":", first ? "" : ",");
                json_str(s->key);
                printf(",\"size\":%llu,\"etag\":", (unsigned long long)s->size);
                json_str(s->etag);
                printf(",\"last_modified\":");
                json_str(s->last_modified);
                printf("}");
            } else if (o->long_form) {
                printf("%-24s %12llu  cos://%s/%s\n", s->last_modified ? s->last_modified : "", (unsigned long long)s->size,
                       u->bucket, s->key);
            } else {
                printf("cos://%s/%s\n", u->bucket, s->key);
            }
            first = false;
        }
        bool more = l && l->is_truncated;
        if (more) snprintf(marker, sizeof marker, "%s", l->next_marker ? l->next_marker
                                                                         : l->contents_count ? l->contents[l->contents_count - 1].key : "");
        cos_result_free(res);
        if (!more) break;
    }
    if (print && o->json) printf("]\n");
    return 0;
}

static int cmd_ls(cos_client *c, const cli_opts *o)
{
    if (o->nargs == 0) {
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
                printf("%-22s %-16s cos://%s\n", l->buckets[i].creation_date, l->buckets[i].location, l->buckets[i].name);
            } else {
                printf("cos://%s\n", l->buckets[i].name);
            }
        }
        if (o->json) printf("]\n");
        cos_result_free(res);
        return 0;
    }
    cos_url u;
    if (!cli_parse_url(o->args[0], &u)) return usage_cmd("ls", stderr, EXIT_USAGE);
    walk w = { 0, 0 };
    return list_objects(c, o, &u, true, &w);
}

static int cmd_du(cos_client *c, const cli_opts *o)
{
    cos_url u;
    if (o->nargs != 1 || !cli_parse_url(o->args[0], &u)) return usage_cmd("du", stderr, EXIT_USAGE);
    walk w = { 0, 0 };
    int rc = list_objects(c, o, &u, false, &w);
    if (rc) return rc;
    char h[32];
    cli_human(w.bytes, h);
    if (o->json) printf("{\"objects\":%llu,\"bytes\":%llu}\n", (unsigned long long)w.count, (unsigned long long)w.bytes);
    else printf("%llu objects, %llu bytes (%s)\n", (unsigned long long)w.count, (unsigned long long)w.bytes, h);
    return 0;
}

/* ---------------------------------------------------------------- buckets */

static int simple_bucket_op(cos_client *c, const cli_opts *o, const char *name, cos_op op)
{
    cos_url u;
    if (o->nargs != 1 || !cli_parse_url(o->args[0], &u) || u.key[0]) return usage_cmd(name, stderr, EXIT_USAGE);
    cos_request r = COS_REQUEST_INIT;
    r.bucket = u.bucket;
    cos_result *res = NULL;
    cos_error *err = NULL;
    int rc = cos_call(c, op, &r, &res, &err);
    if (rc) return cli_fail(name, rc, err);
    cos_result_free(res);
    if (!o->quiet) printf("%s cos://%s\n", op == COS_OP_PUT_BUCKET ? "made" : "removed", u.bucket);
    return 0;
}

static int delete_prefix(cos_client *c, const cos_url *u, bool quiet);

static int cmd_rb(cos_client *c, const cli_opts *o)
{
    cos_url u;
    if (o->nargs != 1 || !cli_parse_url(o->args[0], &u)) return usage_cmd("rb", stderr, EXIT_USAGE);
    if (o->force) {
        u.key[0] = '\0';
        int rc = delete_prefix(c, &u, true);
        if (rc) return rc;
        /* abort unfinished multipart uploads too */
        cos_request r = COS_REQUEST_INIT;
        r.bucket = u.bucket;
        cos_result *res = NULL;
        cos_error *err = NULL;
        if (cos_multipart_list(c, &r, &res, &err) == 0 && res->output.list_uploads) {
            cos_list_multipart_uploads_result *l = res->output.list_uploads;
            for (size_t i = 0; i < l->uploads_count; i++) {
                cos_request a = COS_REQUEST_INIT;
                a.bucket = u.bucket;
                a.key = l->uploads[i].key;
                a.upload_id = l->uploads[i].upload_id;
                cos_result *ar = NULL;
                cos_multipart_abort(c, &a, &ar, NULL);
                cos_result_free(ar);
            }
        }
        cos_result_free(res);
        cos_error_free(err);
    }
    return simple_bucket_op(c, o, "rb", COS_OP_DELETE_BUCKET);
}

/* ---------------------------------------------------------------- objects */

static void on_sigint(int sig)
{
    (void)sig;
    cli_interrupted = 1;
}

typedef struct xfer_wait { int done; } xfer_wait;

/* Run a transfer task, pausing it cleanly on Ctrl-C (it resumes when run again). */
static int run_task(cos_client *c, int kind, cos_transfer_params *p, const char *label, bool quiet)
{
    p->on_progress = quiet ? NULL : cli_progress;
    p->progress_user_data = (void *)label;
    cos_task_id id = 0;
    int rc = kind == 0 ? cos_upload_file_async(c, p, NULL, NULL, &id)
             : kind == 1 ? cos_download_file_async(c, p, NULL, NULL, &id) : cos_slice_copy_file_async(c, p, NULL, NULL, &id);
    if (rc) return cli_fail(label, rc, NULL);
    for (;;) {
        cos_task_info *l = NULL;
        size_t n = 0;
        cos_task_list(c, &l, &n);
        cos_task_state st = COS_TASK_WAITING;
        for (size_t i = 0; i < n; i++)
            if (l[i].id == id) st = l[i].state;
        cos_task_list_free(l, n);
        if (st == COS_TASK_SUCCESS || st == COS_TASK_ERROR || st == COS_TASK_CANCELED) break;
        if (cli_interrupted) {
            cos_task_pause(c, id, NULL);
            while (1) {
                cos_task_list(c, &l, &n);
                for (size_t i = 0; i < n; i++)
                    if (l[i].id == id) st = l[i].state;
                cos_task_list_free(l, n);
                if (st == COS_TASK_PAUSED || st == COS_TASK_SUCCESS || st == COS_TASK_ERROR) break;
                usleep(20000);
            }
            if (st == COS_TASK_PAUSED) {
                cli_progress_end();
                fprintf(stderr, "cos: %s: paused; run the same command again to resume\n", label);
                return EXIT_PAUSED; /* freeing the client keeps the paused upload resumable */
            }
            break;
        }
        usleep(20000);
    }
    cos_transfer_result *res = NULL;
    cos_error *err = NULL;
    rc = cos_task_wait(c, id, &res, &err);
    cli_progress_end();
    if (rc) return cli_fail(label, rc, err);
    if (!quiet && res && res->parts_resumed) fprintf(stderr, "resumed %d parts\n", res->parts_resumed);
    cos_transfer_result_free(res);
    return 0;
}

static int copy_one(cos_client *c, const cli_opts *o, const char *src, const char *dst)
{
    cos_url s, d;
    bool sc = cli_parse_url(src, &s), dc = cli_parse_url(dst, &d);
    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    char copy_src[1400], local[1200];
    int rc;
    if (!sc && dc) { /* upload */
        if (!d.key[0] || d.key[strlen(d.key) - 1] == '/') {
            const char *base = strrchr(src, '/');
            strncat(d.key, base ? base + 1 : src, sizeof d.key - strlen(d.key) - 1);
        }
        p.bucket = d.bucket;
        p.key = d.key;
        p.file_path = src;
        rc = run_task(c, 0, &p, d.key, o->quiet);
        if (!rc && !o->quiet) printf("uploaded %s -> cos://%s/%s\n", src, d.bucket, d.key);
    } else if (sc && !dc) { /* download */
        struct stat st;
        if (stat(dst, &st) == 0 && S_ISDIR(st.st_mode)) {
            const char *base = strrchr(s.key, '/');
            snprintf(local, sizeof local, "%s/%s", dst, base ? base + 1 : s.key);
            dst = local;
        }
        p.bucket = s.bucket;
        p.key = s.key;
        p.file_path = dst;
        rc = run_task(c, 1, &p, s.key, o->quiet);
        if (!rc && !o->quiet) printf("downloaded cos://%s/%s -> %s\n", s.bucket, s.key, dst);
    } else if (sc && dc) { /* server-side copy */
        if (!d.key[0] || d.key[strlen(d.key) - 1] == '/') {
            const char *base = strrchr(s.key, '/');
            strncat(d.key, base ? base + 1 : s.key, sizeof d.key - strlen(d.key) - 1);
        }
        const char *region = getenv("COS_REGION") ? getenv("COS_REGION") : "ap-guangzhou";
        snprintf(copy_src, sizeof copy_src, "%s.cos.%s.myqcloud.com/%s", s.bucket, region, s.key);
        p.bucket = d.bucket;
        p.key = d.key;
        p.copy_source = copy_src;
        rc = run_task(c, 2, &p, d.key, o->quiet);
        if (!rc && !o->quiet) printf("copied cos://%s/%s -> cos://%s/%s\n", s.bucket, s.key, d.bucket, d.key);
    } else {
        fprintf(stderr, "cos: cp: one side must be a cos:// URL\n");
        return EXIT_USAGE;
    }
    return rc;
}

/* Totals of a recursive copy, for the aggregate line. */
static int g_tree_files, g_tree_done;
static uint64_t g_tree_bytes, g_tree_bytes_done;

static void count_tree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) count_tree(path);
        else if (S_ISREG(st.st_mode)) {
            g_tree_files++;
            g_tree_bytes += (uint64_t)st.st_size;
        }
    }
    if (d) closedir(d);
}

static int copy_tree(cos_client *c, const cli_opts *o, const char *dir, const char *dst_prefix)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "cos: cp: cannot open %s: %s\n", dir, strerror(errno));
        return EXIT_FAIL;
    }
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) && !rc && !cli_interrupted) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char path[2048], dst[2300];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0) continue;
        snprintf(dst, sizeof dst, "%s%s%s", dst_prefix, dst_prefix[strlen(dst_prefix) - 1] == '/' ? "" : "/", e->d_name);
        if (S_ISDIR(st.st_mode)) {
            rc = copy_tree(c, o, path, dst);
        } else if (S_ISREG(st.st_mode)) {
            if (!o->quiet && cli_tty()) {
                char done[32], total[32];
                cli_human(g_tree_bytes_done, done);
                cli_human(g_tree_bytes, total);
                fprintf(stderr, "[%d/%d files, %s of %s]\n", g_tree_done + 1, g_tree_files, done, total);
            }
            rc = copy_one(c, o, path, dst);
            g_tree_done++;
            g_tree_bytes_done += (uint64_t)st.st_size;
        }
    }
    closedir(d);
    return rc;
}

static int cmd_cp(cos_client *c, const cli_opts *o)
{
    if (o->nargs != 2) return usage_cmd("cp", stderr, EXIT_USAGE);
    struct stat st;
    if (o->recursive && stat(o->args[0], &st) == 0 && S_ISDIR(st.st_mode)) {
        count_tree(o->args[0]);
        int rc = copy_tree(c, o, o->args[0], o->args[1]);
        if (!rc && !o->quiet) printf("copied %d files, %llu bytes\n", g_tree_done, (unsigned long long)g_tree_bytes_done);
        return rc;
    }
    return copy_one(c, o, o->args[0], o->args[1]);
}

static int delete_key(cos_client *c, const char *bucket, const char *key)
{
    cos_request r = COS_REQUEST_INIT;
    r.bucket = bucket;
    r.key = key;
    cos_result *res = NULL;
    cos_error *err = NULL;
    int rc = cos_delete_object(c, &r, &res, &err);
    cos_result_free(res);
    return rc ? cli_fail("rm", rc, err) : 0;
}

static int delete_prefix(cos_client *c, const cos_url *u, bool quiet)
{
    for (;;) { /* list a page, delete it in one request, repeat */
        cos_request r = COS_REQUEST_INIT;
        r.bucket = u->bucket;
        r.prefix = u->key;
        r.max_keys = 1000;
        cos_result *res = NULL;
        cos_error *err = NULL;
        int rc = cos_get_bucket(c, &r, &res, &err);
        if (rc) return cli_fail("rm", rc, err);
        cos_list_objects_result *l = res->output.list_objects;
        size_t n = l ? l->contents_count : 0;
        if (n) {
            cos_object_id *ids = calloc(n, sizeof *ids);
            for (size_t i = 0; i < n; i++) ids[i].key = l->contents[i].key;
            cos_delete_request dr = { true, ids, n };
            cos_request d = COS_REQUEST_INIT;
            d.bucket = u->bucket;
            d.input.delete_objects = &dr;
            cos_result *dres = NULL;
            rc = cos_delete_multiple_object(c, &d, &dres, &err);
            free(ids);
            cos_result_free(dres);
            if (rc) {
                cos_result_free(res);
                return cli_fail("rm", rc, err);
            }
            if (!quiet) printf("removed %zu objects\n", n);
        }
        cos_result_free(res);
        if (!n) return 0;
    }
}

static int cmd_rm(cos_client *c, const cli_opts *o)
{
    cos_url u;
    if (o->nargs != 1 || !cli_parse_url(o->args[0], &u)) return usage_cmd("rm", stderr, EXIT_USAGE);
    if (!o->recursive) {
        if (!u.key[0]) return usage_cmd("rm", stderr, EXIT_USAGE);
        int rc = delete_key(c, u.bucket, u.key);
        if (!rc && !o->quiet) printf("removed cos://%s/%s\n", u.bucket, u.key);
        return rc;
    }
    if (!o->force) {
        if (!isatty(STDIN_FILENO)) {
            fprintf(stderr, "cos: rm -r needs --force when standard input is not a terminal\n");
            return EXIT_USAGE;
        }
        fprintf(stderr, "remove everything under cos://%s/%s ? [y/N] ", u.bucket, u.key);
        char ans[16] = "";
        if (!fgets(ans, sizeof ans, stdin) || (ans[0] != 'y' && ans[0] != 'Y')) return EXIT_FAIL;
    }
    return delete_prefix(c, &u, o->quiet);
}

static int cmd_mv(cos_client *c, const cli_opts *o)
{
    int rc = cmd_cp(c, o);
    if (rc) return rc;
    cos_url s;
    if (cli_parse_url(o->args[0], &s)) return delete_key(c, s.bucket, s.key);
    if (unlink(o->args[0]) != 0) {
        fprintf(stderr, "cos: mv: cannot remove %s: %s\n", o->args[0], strerror(errno));
        return EXIT_FAIL;
    }
    return 0;
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
    if (o->json) {
        printf("{\"key\":");
        json_str(u.key);
        printf(",\"size\":%llu,\"etag\":", (unsigned long long)res->content_length);
        json_str(res->etag);
        printf(",\"crc64\":\"%llu\",\"content_type\":", (unsigned long long)res->crc64);
        json_str(ct);
        printf(",\"last_modified\":");
        json_str(lm);
        printf(",\"meta\":{");
        int n = 0;
        for (size_t i = 0; i < res->header_count; i++)
            if (!strncasecmp(res->headers[i].name, "x-cos-meta-", 11)) {
                printf("%s", n++ ? "," : "");
                json_str(res->headers[i].name + 11);
                putchar(':');
                json_str(res->headers[i].value);
            }
        printf("}}\n");
    } else {
        printf("Key:           %s\nSize:          %llu\nETag:          %s\nCRC-64:        %llu\nContent-Type:  %s\n"
               "Last-Modified: %s\n", u.key, (unsigned long long)res->content_length, res->etag ? res->etag : "",
               (unsigned long long)res->crc64, ct ? ct : "", lm ? lm : "");
        for (size_t i = 0; i < res->header_count; i++)
            if (!strncasecmp(res->headers[i].name, "x-cos-meta-", 11))
                printf("Meta %s: %s\n", res->headers[i].name + 11, res->headers[i].value);
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
        printf("}\n");
    } else {
        printf("%s\n", url);
    }
    free(url);
    return 0;
}

static int cmd_sync(cos_client *c, const cli_opts *o)
{
    cos_url u;
    if (o->nargs != 2 || !cli_parse_url(o->args[1], &u)) return usage_cmd("sync", stderr, EXIT_USAGE);
    DIR *d = opendir(o->args[0]);
    if (!d) {
        fprintf(stderr, "cos: sync: cannot open %s: %s\n", o->args[0], strerror(errno));
        return EXIT_FAIL;
    }
    struct dirent *e;
    int rc = 0, uploaded = 0, skipped = 0;
    while ((e = readdir(d)) && !rc) {
        char path[2048], key[2200];
        snprintf(path, sizeof path, "%s/%s", o->args[0], e->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) continue;
        snprintf(key, sizeof key, "%s%s%s", u.key, u.key[0] && u.key[strlen(u.key) - 1] != '/' ? "/" : "", e->d_name);
        cos_request h = COS_REQUEST_INIT;
        h.bucket = u.bucket;
        h.key = key;
        cos_result *res = NULL;
        bool same = false;
        if (cos_head_object(c, &h, &res, NULL) == 0 && res->content_length == (uint64_t)st.st_size && res->has_crc64) {
            uint64_t crc = 0;
            same = cos_crc64_file(path, 0, -1, &crc) == 0 && crc == res->crc64;
        }
        cos_result_free(res);
        if (same) {
            skipped++;
            continue;
        }
        char dst[2400];
        snprintf(dst, sizeof dst, "cos://%s/%s", u.bucket, key);
        rc = copy_one(c, o, path, dst);
        uploaded++;
    }
    closedir(d);
    if (!rc && !o->quiet) printf("sync: %d uploaded, %d unchanged\n", uploaded, skipped);
    return rc;
}

static int cmd_sign(const cli_opts *o)
{
    if (!o->secret_id || !o->secret_key || !o->method || (!o->key && !o->pathname)) return usage_cmd("sign", stderr, EXIT_USAGE);
    cos_kv q[32], h[32];
    int nq = 0, nh = 0;
    char *owned[64];
    int nown = 0;
    for (int i = 0; i < o->nquery; i++) {
        char *s = strdup(o->query[i]);
        owned[nown++] = s;
        char *eq = strchr(s, '=');
        if (eq) *eq = '\0';
        q[nq++] = (cos_kv){ s, eq ? eq + 1 : "" };
    }
    for (int i = 0; i < o->nheaders; i++) {
        char *s = strdup(o->headers[i]);
        owned[nown++] = s;
        char *colon = strchr(s, ':');
        if (!colon) continue;
        *colon = '\0';
        const char *v = colon + 1;
        while (*v == ' ') v++;
        h[nh++] = (cos_kv){ s, v };
    }
    cos_sign_params p = COS_SIGN_PARAMS_INIT;
    p.secret_id = o->secret_id;
    p.secret_key = o->secret_key;
    p.method = o->method;
    p.key = o->key;
    p.pathname = o->pathname;
    p.query = q;
    p.query_count = (size_t)nq;
    p.headers = h;
    p.header_count = (size_t)nh;
    p.no_sign_host = o->no_sign_host;
    if (o->key_time) {
        long long s = 0, e = 0;
        if (sscanf(o->key_time, "%lld;%lld", &s, &e) != 2) return usage_cmd("sign", stderr, EXIT_USAGE);
        p.start_time = s;
        p.end_time = e;
    }
    char *auth = NULL;
    cos_sign_debug dbg = { 0 };
    cos_error *err = NULL;
    int rc = cos_sign(&p, &auth, o->verbose ? &dbg : NULL, &err);
    for (int i = 0; i < nown; i++) free(owned[i]);
    if (rc) return cli_fail("sign", rc, err);
    if (o->verbose)
        fprintf(stderr, "FormatString:\n%s\nStringToSign:\n%s\n", dbg.format_string, dbg.string_to_sign);
    printf("%s\n", auth);
    free(auth);
    cos_sign_debug_free(&dbg);
    return 0;
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage_all(argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("cos %s\n", cos_version());
        return 0;
    }
    const char *cmd = argv[1];
    bool known = false;
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++) known |= !strcmp(COMMANDS[i].name, cmd);
    if (!known) {
        fprintf(stderr, "cos: unknown command '%s'\n", cmd);
        usage_all(stderr);
        return EXIT_USAGE;
    }
    cli_opts o;
    memset(&o, 0, sizeof o);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define VAL(name, field) if (!strcmp(a, name)) { if (!v) return usage_cmd(cmd, stderr, EXIT_USAGE); o.field = v; i++; continue; }
        VAL("--secret-id", secret_id) VAL("--secret-key", secret_key) VAL("--token", token) VAL("--region", region)
        VAL("--endpoint", endpoint) VAL("--profile", profile) VAL("--method", method) VAL("--key", key)
        VAL("--pathname", pathname) VAL("--key-time", key_time)
#undef VAL
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return usage_cmd(cmd, stdout, 0);
        if (!strcmp(a, "--path-style")) { o.path_style = true; continue; }
        if (!strcmp(a, "--json")) { o.json = true; continue; }
        if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) { o.quiet = true; continue; }
        if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) { o.verbose = true; continue; }
        if (!strcmp(a, "-r") || !strcmp(a, "--recursive")) { o.recursive = true; continue; }
        if (!strcmp(a, "-l")) { o.long_form = true; continue; }
        if (!strcmp(a, "--force") || !strcmp(a, "-f")) { o.force = true; continue; }
        if (!strcmp(a, "--no-sign-host")) { o.no_sign_host = true; continue; }
        if ((!strcmp(a, "--query") || !strcmp(a, "--header")) && v) {
            if (a[2] == 'q' && o.nquery < 32) o.query[o.nquery++] = v;
            if (a[2] == 'h' && o.nheaders < 32) o.headers[o.nheaders++] = v;
            i++;
            continue;
        }
        if ((!strcmp(a, "--expires") || !strcmp(a, "--parallel") || !strcmp(a, "--start-time") || !strcmp(a, "--chunk-size")) && v) {
            long long n = atoll(v);
            if (a[2] == 'e') o.expires = (int)n;
            else if (a[2] == 'p') o.parallel = (int)n;
            else if (a[2] == 's') o.start_time = n;
            else o.chunk_size = (uint64_t)n;
            i++;
            continue;
        }
        if (a[0] == '-' && a[1]) {
            fprintf(stderr, "cos %s: unknown option %s\n", cmd, a);
            return usage_cmd(cmd, stderr, EXIT_USAGE);
        }
        if (o.nargs < 8) o.args[o.nargs++] = a;
    }
    if (!strcmp(cmd, "sign")) return cmd_sign(&o);
    struct sigaction act;
    memset(&act, 0, sizeof act);
    act.sa_handler = on_sigint;
    sigaction(SIGINT, &act, NULL);
    cos_client *c = NULL;
    int rc = cli_client(&o, &c);
    if (rc) return rc;
    if (!strcmp(cmd, "ls")) rc = cmd_ls(c, &o);
    else if (!strcmp(cmd, "mb")) rc = simple_bucket_op(c, &o, "mb", COS_OP_PUT_BUCKET);
    else if (!strcmp(cmd, "rb")) rc = cmd_rb(c, &o);
    else if (!strcmp(cmd, "cp")) rc = cmd_cp(c, &o);
    else if (!strcmp(cmd, "mv")) rc = cmd_mv(c, &o);
    else if (!strcmp(cmd, "rm")) rc = cmd_rm(c, &o);
    else if (!strcmp(cmd, "stat")) rc = cmd_stat(c, &o);
    else if (!strcmp(cmd, "cat")) rc = cmd_cat(c, &o);
    else if (!strcmp(cmd, "presign")) rc = cmd_presign(c, &o);
    else if (!strcmp(cmd, "sync")) rc = cmd_sync(c, &o);
    else if (!strcmp(cmd, "du")) rc = cmd_du(c, &o);
    cos_client_free(c);
    return rc;
}

/*
 * cli.h — shared pieces of the `cos` command-line tool: options, settings
 * resolved from flags > environment > ~/.config/cos/config (a profile, then
 * [default]), the client, checked listings and bulk deletes, the report every
 * command prints (text or JSON), the progress line and exit codes.
 */
#ifndef COS_CLI_H
#define COS_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include "cos/cos.h"

/* Exit codes (documented in `cos --help` and docs/cli.md). */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_AUTH = 3, EXIT_NOTFOUND = 4, EXIT_NETWORK = 5, EXIT_PAUSED = 130 };

#define CLI_MAX_LIST 64

typedef struct cli_opts {
    const char *cmd;
    /* where and who */
    const char *secret_id, *secret_key, *secret_key_file, *token, *region, *endpoint, *profile;
    bool path_style;
    /* output */
    bool json, quiet, verbose, long_form;
    /* behaviour */
    bool recursive, force, dryrun, delete_extra, size_only, mtime, no_follow_symlinks;
    bool all; /* rm -r of a whole bucket: asked for by name, never by an empty variable */
    int parallel;
    uint64_t chunk_size;
    /* --exclude / --include, in the order given (the last match wins) */
    const char *filters[CLI_MAX_LIST];
    bool filter_include[CLI_MAX_LIST];
    int nfilters;
    /* object headers of uploads and copies */
    const char *storage_class, *acl, *content_type, *cache_control, *sse;
    const char *meta[CLI_MAX_LIST];
    int nmeta;
    /* presign / sign */
    int expires;
    const char *method;
    int64_t start_time;
    const char *key, *pathname, *key_time;
    const char *query[CLI_MAX_LIST], *headers[CLI_MAX_LIST];
    int nquery, nheaders;
    bool no_sign_host;
    /* positional arguments */
    const char *args[8];
    int nargs;
} cli_opts;

/* Settings after resolution (owned strings, NULL when unset). */
typedef struct cli_settings {
    char *secret_id, *secret_key, *token, *region, *endpoint, *path_style;
    char *profile;      /* the profile in use, NULL = [default] */
} cli_settings;

/* A cos://BUCKET/KEY or s3://BUCKET/KEY URL split in two (key may be "").
 * is_cos: a bucket URL of either scheme (the store's side of a transfer). */
typedef struct cos_url {
    char bucket[128];
    char key[1024];
    bool is_cos;
    bool s3;
} cos_url;

bool cli_parse_url(const char *s, cos_url *u);
/* The dialect of this invocation: s3:// URLs (SigV4, AWS_* settings) or
 * cos:// ones. One client talks to one store, so the two do not mix. */
extern bool cli_s3;
#define CLI_SCHEME (cli_s3 ? "s3://" : "cos://")
/* Sets cli_s3 from the arguments; prints the error and returns EXIT_USAGE when they mix. */
int cli_dialect(const cli_opts *o);
/* Resolve credentials, region and endpoint; prints the error and returns an exit code on failure. */
int cli_resolve(const cli_opts *o, cli_settings *s);
void cli_settings_free(cli_settings *s);
const char *cli_config_path(char *buf, size_t n);
/* Whether an endpoint is not [http(s)://]HOST[:PORT] (a user or password
 * in it is never shown); prints why and returns EXIT_USAGE, or 0. */
int cli_endpoint_refused(const char *ep);
/* A client for the resolved settings. `for_urls`: URLs name the endpoint itself (presign). */
int cli_client(const cli_opts *o, const cli_settings *s, bool for_urls, cos_client **out);
int cli_fail(const char *what, int rc, cos_error *err); /* prints, frees, returns the exit code */
bool cli_tty(void);
/* `s` as it may be shown on f: unchanged unless f is a terminal, where
 * control characters (C0, DEL, C1) and bytes that are no UTF-8 are written
 * as \xHH / \u00HH escapes, so a key or a server's message cannot move the
 * cursor, retitle the window or hide text. The copy lives until a few
 * later calls on the same thread (printf arguments). NULL stays NULL. */
const char *cli_shown(FILE *f, const char *s);
void cli_human(uint64_t bytes, char out[32]);
extern volatile int cli_interrupted;

/* JSON string to stdout. */
void json_str(const char *s);

/* ---- the aggregate progress line (stderr, on a terminal only) */
void cli_meter_start(const cli_opts *o, int files, uint64_t bytes);
#define CLI_METER_SLOTS 16
void cli_meter_file_done(int slot, uint64_t bytes);
/* a cos_progress_fn; user data: the transfer's slot (0 .. CLI_METER_SLOTS-1) cast to a pointer */
void cli_meter_progress(void *ud, const cos_progress *p);
void cli_meter_end(void);
void cli_meter_clear(void); /* off the screen until the next report */

/* ---- the report: one line per item in text, one JSON object at the end */
void cli_report_begin(const cli_opts *o);
/* action: upload, download, copy, delete, skip, error; dst/size/code/message may be NULL/0 */
void cli_report_item(const char *action, const char *src, const char *dst, uint64_t size, const char *code,
                     const char *message);
void cli_report_count(const char *field, uint64_t n); /* add to a summary counter */
/* A failed transfer, counted as failed: the "error" item of --output json
 * (its stderr line is cli_fail's). */
void cli_report_failure(const char *src, const char *dst, const cos_error *err);
int cli_report_end(int rc);                            /* prints the summary, returns rc */

/* ---- listings that always end: url-encoded keys, a marker that must advance */
typedef int (*cli_page_fn)(void *ud, const cos_list_objects_result *l);
int cli_list(cos_client *c, const char *what, const char *bucket, const char *prefix, const char *delimiter,
             cli_page_fn fn, void *ud);
/* Delete keys in bulk; every <Error> (and every key the server did not
 * confirm) is reported and fails the call; a round that deletes nothing
 * stops it and sets *stalled. */
int cli_delete_keys(cos_client *c, const cli_opts *o, const char *bucket, char **keys, size_t n, bool *stalled);
/* "logs" -> "logs/" (what rm -r, cp -r, sync and du mean by a prefix); "" stays "" */
void cli_dir_prefix(const char *key, char *out, size_t n);

/* ---- commands (xfer.c) */
int cmd_cp(cos_client *c, const cli_opts *o, const cli_settings *s);
int cmd_mv(cos_client *c, const cli_opts *o, const cli_settings *s);
int cmd_sync(cos_client *c, const cli_opts *o, const cli_settings *s);
int cmd_config(const cli_opts *o);

#endif

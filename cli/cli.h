/*
 * cli.h — shared pieces of the `cos` command-line tool: options, the client
 * it builds from flags > environment > ~/.config/cos/config, output and
 * exit codes.
 */
#ifndef COS_CLI_H
#define COS_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include "cos/cos.h"

/* Exit codes (documented in `cos --help` and docs/cli.md). */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_AUTH = 3, EXIT_NOTFOUND = 4, EXIT_NETWORK = 5, EXIT_PAUSED = 130 };

typedef struct cli_opts {
    const char *secret_id, *secret_key, *token, *region, *endpoint, *profile, *appid;
    bool path_style, json, quiet, verbose, recursive, force, long_form;
    int parallel;
    uint64_t chunk_size;
    int expires;
    const char *method;
    int64_t start_time;
    /* positional arguments */
    const char *args[8];
    int nargs;
    /* sign */
    const char *key, *pathname, *key_time;
    const char *query[32], *headers[32];
    int nquery, nheaders;
    bool no_sign_host;
} cli_opts;

/* A cos://BUCKET/KEY URL split in two (key may be ""). */
typedef struct cos_url {
    char bucket[128];
    char key[1024];
    bool is_cos;
} cos_url;

bool cli_parse_url(const char *s, cos_url *u);
int cli_client(const cli_opts *o, cos_client **out);     /* prints the error itself */
int cli_fail(const char *what, int rc, cos_error *err);  /* prints, frees, returns the exit code */
void cli_progress(void *ud, const cos_progress *p);      /* a live bar on a terminal */
void cli_progress_end(void);
bool cli_tty(void);
void cli_human(uint64_t bytes, char out[32]);
extern volatile int cli_interrupted;

#endif

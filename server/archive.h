/* archive.h — archived objects and their restores; traffic limits (archive.c). */
#ifndef COS_SERVER_ARCHIVE_H
#define COS_SERVER_ARCHIVE_H

#include "server.h"

/* Whether a storage class keeps its objects offline until restored. */
bool archive_class(const char *storage_class);
/* true when m cannot be read now (archived, not restored): an error was sent. */
bool restore_blocks_read(req *r, const obj_meta *m, enum MHD_Result *ret);
/* POST Object restore. */
enum MHD_Result restore_object(req *r);
/* The x-cos-restore value for HEAD/GET (malloc'd), or NULL. */
char *restore_header(const obj_meta *m);
/* Stored headers without the server's internal lines (malloc'd): what a copy keeps. */
char *headers_without_internal(const char *headers);

/* x-cos-traffic-limit (header or query) in bits/s; 0 when none; -1 when
 * outside COS's range 819200..838860800 (an error was sent). */
#define TRAFFIC_LIMIT_MIN 819200
#define TRAFFIC_LIMIT_MAX 838860800
#define TRAFFIC_PAUSE_MAX_MS 600000 /* a paced PUT waits at most this long after its body */
int64_t traffic_limit(req *r, enum MHD_Result *ret);
/* When (cos_mono_ms) `bytes` sent or received since start_ms fit in the
 * limit; 0 when they already do. The caller pauses its connection until
 * then (server_hold), never its thread. */
int64_t traffic_due(int64_t bps, int64_t start_ms, uint64_t bytes);

#endif

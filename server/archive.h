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
int64_t traffic_limit(req *r, enum MHD_Result *ret);
/* Sleep until `bytes` sent or received since start_ms (cos_mono_ms) fit in
 * the limit; not while half the server's threads already sleep so. */
void traffic_pace(int64_t bps, int64_t start_ms, uint64_t bytes);
/* The server's thread count, before it serves (main.c). */
void traffic_pace_init(unsigned threads);

#endif

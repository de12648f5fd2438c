/* versioning.h — object versions (versioning.c). */
#ifndef COS_SERVER_VERSIONING_H
#define COS_SERVER_VERSIONING_H

#include "server.h"

typedef enum { VERS_OFF, VERS_ENABLED, VERS_SUSPENDED } vers_state;

vers_state versioning_state(req *r, const char *bucket);
/* Before a write in r->bucket: puts the new version's id in vid ("" when
 * versioning is off, "null" when suspended), what the write's transaction
 * does with the current version in *keep (obj_meta.keep), and returns the
 * header line to store with the new object (malloc'd, maybe ""). */
char *versioning_before_write(req *r, char vid[64], int *keep);
/* An object by version id (NULL: the current one). 0, -1 if none, or the store's error;
 * *marker when the version is a delete marker. */
int versioning_lookup(req *r, const char *bucket, const char *key, const char *version_id, obj_meta *out,
                      bool *marker);
/* DELETE of key (with a versionId or not), as the bucket's state asks.
 * out_vid: the version removed or the marker made ("" when versioning is
 * off); *out_marker when that is a delete marker. 0, -1 when the key or
 * version does not exist, or the store's error (STORE_BUSY, ...). */
int versioning_delete(req *r, const char *key, const char *version_id, char out_vid[64], bool *out_marker);
/* Whether the newest version of key (which has no current one) is a delete marker. */
bool versioning_deleted_by_marker(req *r, const char *bucket, const char *key);
/* GET Bucket ?versions. */
enum MHD_Result versioning_list(req *r);

#endif

/* s3names.h — the one table of COS request header names and their S3 names,
 * used by libcos's S3 dialect (renaming what it sends) and by cos-server
 * (reading an S3 request's headers under the COS names its handlers use). */
#ifndef COS_S3NAMES_H
#define COS_S3NAMES_H

/* The S3 name of an x-cos-* header (malloc'd), NULL when S3 has none. */
char *cos_s3_header_name(const char *cos_name);

/* COS and S3 spell the values of the copy directives differently (Copy /
 * Replaced against COPY / REPLACE): the S3 spelling of `value` for header
 * `s3_name`, or NULL when it needs none. A store that does not know
 * "Replaced" either refuses the copy or (s3rver) takes it for COPY and keeps
 * the old metadata. */
const char *cos_s3_header_value(const char *s3_name, const char *value);

/* The x-cos-* name of an x-amz-* header (malloc'd), NULL when the table has
 * no COS equivalent for it. */
char *cos_cos_header_name(const char *s3_name);

#endif

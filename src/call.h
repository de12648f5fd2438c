/*
 * call.h — operations driven by the thread that waits for them (transfers):
 * no worker thread is needed to finish them, so a transfer started from a
 * completion callback, or from a task runner, never waits for a free worker.
 */
#ifndef COS_CALL_H
#define COS_CALL_H

#include "client_internal.h"

typedef struct op_call op_call;

/*
 * Prepare, sign (on this thread) and send an operation. When its HTTP
 * exchange ends, notify(ud) runs on a network thread (keep it short: record
 * and wake the owner); the owner then calls call_driven_step. A non-zero
 * *cancel aborts the exchange. Returns 0, or the error of preparing/signing
 * (notify never runs).
 */
int call_driven_start(cos_client *c, cos_op op, const cos_request *req, volatile int *cancel,
                      void (*notify)(void *ud), void *ud, op_call **out, cos_error **err);

/*
 * After notify: true when the call is over (k is freed; *rc, and *res or
 * *err, are the caller's), false when another attempt was sent (notify runs
 * again). May sleep for a retry's back-off.
 */
bool call_driven_step(op_call *k, int *rc, cos_result **res, cos_error **err);

/* The x-amz-checksum-algorithm multipart uploads declare in the S3 dialect
 * (ops.c): a cos_cksum_alg (checksum.h), COS_CKSUM_NONE (0) for none. An int
 * here: the amalgamation may place this header before checksum.h. */
int s3_multipart_checksum(const cos_client *c);

/* cos_call with a cancel flag (a paused or canceled task aborts its request);
 * body_fd >= 0: the file body is read from this open file (left open),
 * body.file_path only naming it, so what is sent is the file the caller
 * opened and measured even if another was renamed over the path since. */
int call_sync_cancelable(cos_client *c, cos_op op, const cos_request *req, int body_fd, volatile int *cancel,
                         cos_result **out, cos_error **err);

#endif

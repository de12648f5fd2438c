/**
 * @file transfer.h
 * @brief Advanced transfers, as in the official SDK: uploadFile (simple
 * or multipart by size), uploadFiles, sliceUploadFile, sliceCopyFile,
 * downloadFile, and the task queue (states, progress, pause/restart/cancel,
 * resume after a restart of the process).
 *
 * Every transfer is a task with an id. The synchronous forms run their task
 * on the calling thread (waiting first for one of FileParallelLimit slots,
 * unless that thread already holds one, e.g. inside a progress callback);
 * the *_async forms queue it and return at once with the id. Queued tasks
 * are data, not threads: at most FileParallelLimit runner threads take them
 * in order (more only while a runner is inside a completion callback), so a
 * queue of UploadQueueSize tasks costs about half a KiB each (bench/, 7.).
 * Whoever runs a task drives its part requests itself: finishing a transfer
 * never needs a worker thread, so completion callbacks may run synchronous
 * transfers, wait on tasks or futures, or free the client. A progress
 * callback runs inside its task's slot: it may run synchronous transfers,
 * but must not cos_task_wait() for a task still queued (docs/ownership.md).
 *
 * Part size and parallelism: where neither the call (chunk_size, parallel)
 * nor the client (ChunkSize, ChunkParallelLimit) sets them, a file of
 * 32 MiB or more goes in 8 MiB parts, 4 at a time (the fastest on loopback in
 * bench/); smaller ones keep the SDK's 1 MiB x 3. Downloads use 8 MiB ranges,
 * 4 at a time. Part sizes double as needed to stay within MaxPartNumber
 * (10,000 at most) parts.
 *
 * S3 part rules (dialect COS_DIALECT_S3, or signer COS_SIGNER_SIGV4): S3
 * refuses at Complete, with EntityTooSmall, a multipart upload any of whose
 * parts but the last is under 5 MiB, and any part over 5 GiB. uploadFile,
 * uploadFiles, sliceUploadFile and sliceCopyFile therefore raise every part
 * size below 5 MiB (the 1 MiB default, a smaller ChunkSize, CopyChunkSize
 * or chunk_size) to 5 MiB in that dialect, lower one above 5 GiB to 5 GiB,
 * and still double it past MaxPartNumber (10,000 at most) parts; a
 * SliceSize or CopySliceSize above 5 GiB (S3's largest PutObject and
 * CopyObject) is lowered to 5 GiB. A raised size is logged at
 * COS_LOG_INFO; tr->part_count says how many parts were used
 * (docs/s3.md).
 *
 * Integrity: uploads and downloads are checked by CRC-64 when the server
 * sends x-cos-hash-crc64ecma (never in the S3 dialect, whose stores cannot
 * answer for it: there, simple uploads carry x-amz-checksum-crc64nvme and
 * multipart uploads CRC-32C per part, their composite checked at Complete);
 * otherwise by MD5 against a single-part ETag (not for KMS- or
 * customer-key-encrypted objects, whose ETags are not MD5s).
 * A multipart upload whose file is written to while its parts go (its size
 * or its modification or change time changes) is not completed (COS_ERR_IO, the
 * upload aborted): its parts would be a mix of old and new bytes that each
 * part's own checksum passes. A task restarted after a pause or a failure
 * verifies the parts it had done against the file again (by MD5), as a
 * resume after a crash does. Two tasks of one client never share a
 * multipart upload: one that would resume an upload another task of the
 * client is using (from its checkpoint or a listing) starts its own, as
 * the official SDK's session.using does (two processes uploading one file
 * to one key at the same moment are not coordinated).
 * Memory stays bounded by about ChunkParallelLimit x ChunkSize whatever the
 * file size: parts are read from the file as they are sent.
 */
#ifndef COS_TRANSFER_H
#define COS_TRANSFER_H

#include "cos/client.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A task's id, unique within a client, never 0. */
typedef uint64_t cos_task_id;

/** Task states (the official SDK's). */
typedef enum cos_task_state {
    COS_TASK_WAITING = 0,   /**< queued behind FileParallelLimit */
    COS_TASK_CHECKING,      /**< hashing the file / looking for an upload to resume */
    COS_TASK_RUNNING,       /**< uploading, downloading or copying ("uploading" in the SDK) */
    COS_TASK_PAUSED,        /**< paused by cos_task_pause; cos_task_restart resumes */
    COS_TASK_CANCELED,      /**< canceled; a multipart upload was aborted on the server */
    COS_TASK_ERROR,         /**< failed; see the error */
    COS_TASK_SUCCESS        /**< done and verified */
} cos_task_state;

/** What a task does. */
typedef enum cos_task_kind {
    COS_TASK_UPLOAD = 0,    /**< uploadFile / sliceUploadFile */
    COS_TASK_DOWNLOAD = 1,  /**< downloadFile */
    COS_TASK_COPY = 2       /**< sliceCopyFile */
} cos_task_kind;

/** The outcome of a transfer. Owned; cos_transfer_result_free(). */
typedef struct cos_transfer_result {
    cos_task_id task_id;    /**< the task */
    char *etag;             /**< the object's ETag (quoted) */
    char *location;         /**< the object's URL */
    char *version_id;       /**< x-cos-version-id, or NULL */
    char *request_id;       /**< request id of the final request */
    char *upload_id;        /**< multipart upload id, NULL for a simple upload */
    uint64_t size;          /**< bytes transferred in all */
    uint64_t crc64;         /**< CRC-64 of the whole object, checked against the server's */
    bool multipart;         /**< whether parts were used */
    int part_count;         /**< number of parts (0 for simple) */
    int parts_resumed;      /**< parts found already on the server and skipped */
} cos_transfer_result;

/** Free a transfer result. NULL is allowed. */
COS_API void cos_transfer_result_free(cos_transfer_result *res);

/**
 * Completion of an async transfer: owns `res` (NULL on failure) and `err`.
 * Runs on the runner thread that ran the task, after the task left its
 * slot; it may call any libcos function, including synchronous transfers,
 * cos_task_wait and cos_client_free.
 */
typedef void (*cos_transfer_done_fn)(void *user_data, cos_task_id id, int rc,
                                     cos_transfer_result *res, cos_error *err);

/** Current version of cos_transfer_params. */
#define COS_TRANSFER_PARAMS_VERSION 2

/**
 * Parameters of uploadFile, sliceUploadFile, downloadFile and sliceCopyFile.
 * 0/NULL = the client's setting. Strings are copied when the task starts.
 */
typedef struct cos_transfer_params {
    int version;                  /**< COS_TRANSFER_PARAMS_VERSION */
    const char *bucket;           /**< bucket (destination for copies) */
    const char *region;           /**< region, NULL = client's */
    const char *key;              /**< object key */
    const char *file_path;        /**< local file: source of uploads, destination of downloads */
    const char *copy_source;      /**< sliceCopyFile: "bucket-appid.cos.region.myqcloud.com/key"; with SigV4 also "/bucket/key" */
    const char *version_id;       /**< downloadFile: a version to fetch */

    /* object headers (uploads and copies) */
    const char *content_type;     /**< Content-Type; NULL = guessed from the file name */
    const char *acl;              /**< x-cos-acl */
    const char *storage_class;    /**< x-cos-storage-class */
    const cos_kv *meta;           /**< x-cos-meta-* without the prefix */
    size_t meta_count;            /**< entries in meta */
    const cos_kv *headers;        /**< other headers for the object */
    size_t header_count;          /**< entries in headers */

    /* tuning */
    uint64_t slice_size;          /**< multipart above this size; 0 = SliceSize / CopySliceSize */
    uint64_t chunk_size;          /**< part size; 0 = ChunkSize / CopyChunkSize (grown to fit 10000 parts; 5 MiB..5 GiB in the S3 dialect) */
    int parallel;                 /**< parts in flight; 0 = ChunkParallelLimit / CopyChunkParallelLimit */
    bool no_resume;               /**< start over instead of resuming an interrupted transfer */

    /* callbacks (run on the thread that drives the task: the caller's for the
       synchronous forms, a queue runner's for the async ones) */
    cos_progress_fn on_progress;  /**< bytes moved, at most every ProgressInterval and once at 100% */
    void *progress_user_data;     /**< passed to on_progress */
    cos_progress_fn on_hash_progress; /**< while the file is hashed before an upload */
    void *hash_progress_user_data;/**< passed to on_hash_progress */

    /* since version 2 */
    /** downloadFile: a symlink at file_path's own name is replaced by the
        download, never written through (false, the default: the file it
        leads to is written, the link stays), and a FIFO or device there is
        opened only if it is no link by then. The directories of file_path
        are still followed: to keep a download inside a tree others may write
        to, name the file through a directory you opened yourself, e.g.
        "/proc/self/fd/N/name" with N opened O_DIRECTORY|O_NOFOLLOW, as the
        cos CLI's tree downloads do. */
    bool no_follow;
} cos_transfer_params;

/** A cos_transfer_params with defaults. */
#define COS_TRANSFER_PARAMS_INIT COS_STRUCT_INIT_(cos_transfer_params, COS_TRANSFER_PARAMS_VERSION)

/** uploadFile: simple upload (SimpleUploadMethod) up to SliceSize, multipart above. */
COS_API int cos_upload_file(cos_client *client, const cos_transfer_params *p,
                            cos_transfer_result **out, cos_error **err);
/**
 * uploadFile, async: *id (may be NULL) receives the task id; `done` runs once
 * if this returns 0. A non-zero return refuses the parameters up front (as the
 * synchronous form would, naming the field) and cos_async_error() says why;
 * the same holds for every *_async transfer below.
 */
COS_API int cos_upload_file_async(cos_client *client, const cos_transfer_params *p,
                                  cos_transfer_done_fn done, void *user_data, cos_task_id *id);

/** sliceUploadFile: always multipart (resumable). */
COS_API int cos_slice_upload_file(cos_client *client, const cos_transfer_params *p,
                                  cos_transfer_result **out, cos_error **err);
/** sliceUploadFile, async. */
COS_API int cos_slice_upload_file_async(cos_client *client, const cos_transfer_params *p,
                                        cos_transfer_done_fn done, void *user_data, cos_task_id *id);

/** sliceCopyFile: putObjectCopy up to CopySliceSize, uploadPartCopy in parallel above. */
COS_API int cos_slice_copy_file(cos_client *client, const cos_transfer_params *p,
                                cos_transfer_result **out, cos_error **err);
/** sliceCopyFile, async. */
COS_API int cos_slice_copy_file_async(cos_client *client, const cos_transfer_params *p,
                                      cos_transfer_done_fn done, void *user_data, cos_task_id *id);

/**
 * downloadFile: parallel ranged GETs into FILE.cos-partial, verified, renamed;
 * resumable. FILE keeps the permissions of the file it replaces (run as
 * root, its owner and group too, except for a file another user put in a
 * sticky shared directory such as /tmp, replaced as a new one is; a new one
 * gets 0666 less the umask, found without /proc by a probe file; set-id bits are not kept); until the rename the
 * old FILE is untouched, whatever the failure. FILE.cos-partial and its
 * checkpoint FILE.cos-partial.json are libcos's names: the checkpoint is
 * written first, and anything but a symlink found under either name
 * without a libcos checkpoint (a user's own file, the object
 * "FILE.cos-partial", a directory, a FIFO) is
 * left alone, the download then going to a temporary of its own
 * (FILE.cos-tmp-XXXXXX, not resumable); a checkpoint whose name another
 * file took meanwhile is neither rewritten nor removed. A checkpoint names
 * its partial file (device and inode): a download resumes only from the
 * file it wrote, never from a FILE.cos-partial and checkpoint someone else
 * made (the objects of those names downloaded beside FILE). Every range is asked If-Match the ETag the download started
 * from (and a range answered with another ETag is refused): an object
 * replaced during the download fails it (PreconditionFailed, "changed
 * during the download") and removes FILE.cos-partial, rather than stitch
 * two versions where no CRC-64 could tell (an ETag a proxy marked weak,
 * W/"...", counts as the strong one it names: If-Match and the checkpoint
 * carry the strong form, which COS compares). Two downloads to one FILE at
 * once (two processes, or two tasks): a download renames FILE.cos-partial
 * only while that name is still the file it wrote (the other one replaces
 * it when it starts, or resumes from it when it fetches the same version); otherwise it fails with COS_ERR_IO and leaves the
 * other's FILE.cos-partial alone. FILE.cos-partial is never opened through a symlink: one found
 * there is removed (not followed) and the file created exclusively. A failed
 * download removes FILE.cos-partial and its checkpoint, except when resuming
 * is on (no_resume unset), the failure is not an integrity error, and at
 * least one verified range is recorded: then both stay for a restart of the
 * task or the same download later to resume. A pause, a cancel... see
 * cos_task_pause / cos_task_cancel (a cancel removes them).
 * A FILE that is a symlink is written through, as cp(1) and curl -o do: the
 * link stays and its target (the chain followed to its end; a relative
 * target read from the link's directory) gets the bytes, with
 * TARGET.cos-partial and its checkpoint beside the target and renamed over
 * it, so a resume goes through the link too. A dangling link's target is
 * created, as curl -o and a shell's `>` do (GNU cp refuses); a loop of links
 * is COS_ERR_IO (ELOOP). A link in a sticky world-writable directory (/tmp)
 * owned by another user than the caller and the directory's owner is not
 * followed (COS_ERR_IO, EACCES), as fs.protected_symlinks keeps open() from
 * following it. getObject with sink.file_path does the same.
 * A FILE that exists and is a device or FIFO (/dev/null, a pipe's name) is
 * written in place by one GET, in order: no FILE.cos-partial, no rename, no
 * resume; a FIFO nobody reads fails at once with COS_ERR_IO, a pause after
 * bytes were written fails the task (they cannot be taken back), and a FIFO
 * whose reader leaves fails it with COS_ERR_IO ("its reader went away",
 * os_errno EPIPE) without killing the program: SIGPIPE is blocked in the
 * writing thread around each write and the one a failed write raised is
 * taken back before the mask is restored, whatever the program's
 * disposition of SIGPIPE (getObject to such a file alike). A directory is
 * COS_ERR_INVALID_ARG.
 */
COS_API int cos_download_file(cos_client *client, const cos_transfer_params *p,
                              cos_transfer_result **out, cos_error **err);
/** downloadFile, async. */
COS_API int cos_download_file_async(cos_client *client, const cos_transfer_params *p,
                                    cos_transfer_done_fn done, void *user_data, cos_task_id *id);

/** Completion of one file of uploadFiles. */
typedef void (*cos_file_done_fn)(void *user_data, size_t index, int rc,
                                 const cos_transfer_result *res, const cos_error *err);

/** Current version of cos_upload_files_params. */
#define COS_UPLOAD_FILES_PARAMS_VERSION 1

/** Parameters of uploadFiles. */
typedef struct cos_upload_files_params {
    int version;                  /**< COS_UPLOAD_FILES_PARAMS_VERSION */
    const cos_transfer_params *files; /**< one entry per file */
    size_t file_count;            /**< entries in files */
    cos_file_done_fn on_file_done;/**< called once per file (may be NULL) */
    void *file_done_user_data;    /**< passed to on_file_done */
    cos_progress_fn on_progress;  /**< all files together */
    void *progress_user_data;     /**< passed to on_progress */
} cos_upload_files_params;

/** A cos_upload_files_params with nothing set but the version. */
#define COS_UPLOAD_FILES_PARAMS_INIT COS_STRUCT_INIT_(cos_upload_files_params, COS_UPLOAD_FILES_PARAMS_VERSION)

/**
 * uploadFiles: FileParallelLimit files at a time, a callback per file (with
 * the file's index in `files`), on_progress for all files together (and
 * once more when all are done), returns when all are done: 0 if every file
 * succeeded, else the first failure's rc (with *err describing it). Each
 * file's own on_progress is called too.
 */
COS_API int cos_upload_files(cos_client *client, const cos_upload_files_params *p, cos_error **err);

/* ------------------------------------------------------------------ the task queue */

/** A snapshot of one task. Strings are owned by the list they come in. */
typedef struct cos_task_info {
    cos_task_id id;               /**< id */
    cos_task_kind kind;           /**< upload, download or copy */
    cos_task_state state;         /**< state */
    const char *bucket;           /**< bucket */
    const char *key;              /**< key */
    const char *file_path;        /**< local file, or NULL for copies */
    uint64_t loaded;              /**< bytes done */
    uint64_t total;               /**< bytes in all */
    double speed;                 /**< bytes per second */
    double percent;               /**< 0.0 .. 1.0 */
    const char *error_message;    /**< for COS_TASK_ERROR, else NULL */
} cos_task_info;

/** Snapshot of every task (newest last). *out is the caller's: cos_task_list_free(). */
COS_API int cos_task_list(cos_client *client, cos_task_info **out, size_t *count);
/** Free a task list. */
COS_API void cos_task_list_free(cos_task_info *list, size_t count);
/** Pause a waiting task (paused at once) or a running one: its requests in
 *  flight are aborted and it reports COS_TASK_PAUSED as soon as they have
 *  stopped (parts already done are kept). */
COS_API int cos_task_pause(cos_client *client, cos_task_id id, cos_error **err);
/** Restart a paused or failed task (restartTask); it resumes where it stopped
 *  (a part that was waiting out a retry's back-off is sent at once) and runs
 *  on the client's runners, its completion callback (if any) called again
 *  when it ends. */
COS_API int cos_task_restart(cos_client *client, cos_task_id id, cos_error **err);
/** Cancel a task; a multipart upload is aborted on the server. */
COS_API int cos_task_cancel(cos_client *client, cos_task_id id, cos_error **err);
/** Wait until a task is finished (success, error or canceled); returns its rc.
 *  From the task's own progress, hash-progress or task-start callback (which
 *  run on the thread that runs it) it is COS_ERR_INVALID_ARG: it would wait
 *  for itself. Waiting there for another task lends the caller's
 *  FileParallelLimit slot meanwhile (with a limit of 1 the other could not
 *  run otherwise). */
COS_API int cos_task_wait(cos_client *client, cos_task_id id, cos_transfer_result **out, cos_error **err);

/** Called whenever a task is added, changes state, or is trimmed (UploadQueueSize). */
typedef void (*cos_task_list_fn)(void *user_data);
/** Set (or clear with NULL) the list-changed callback. Once it returns, no
 *  other thread is inside the previous callback, and it is not called again:
 *  its user_data may be freed. (From inside the callback it returns at once;
 *  do not call it holding a lock the callback takes.) */
COS_API void cos_set_task_list_callback(cos_client *client, cos_task_list_fn fn, void *user_data);

/** Called when a task starts running (onTaskStart), on the thread that runs it. */
typedef void (*cos_task_start_fn)(void *user_data, cos_task_id id);
/** Set (or clear with NULL) the task-start callback; it waits for the
 *  previous one's calls as cos_set_task_list_callback does. */
COS_API void cos_set_task_start_callback(cos_client *client, cos_task_start_fn fn, void *user_data);

/** isUploadRunning: whether any task is waiting, checking or running (paused ones do not count). */
COS_API bool cos_is_upload_running(cos_client *client);

/** What abortUploadTask abandons (its Level). */
typedef enum cos_abort_level {
    COS_ABORT_TASK = 0,     /**< one upload: key and upload_id */
    COS_ABORT_FILE = 1,     /**< every unfinished multipart upload of key */
    COS_ABORT_BUCKET = 2    /**< every unfinished multipart upload in the bucket */
} cos_abort_level;

/** Current version of cos_abort_params. */
#define COS_ABORT_PARAMS_VERSION 1

/** Parameters of abortUploadTask. Borrowed. */
typedef struct cos_abort_params {
    int version;                  /**< COS_ABORT_PARAMS_VERSION */
    const char *bucket;           /**< bucket */
    const char *region;           /**< region, NULL = client's */
    const char *key;              /**< the object key (TASK and FILE) */
    const char *upload_id;        /**< the upload (TASK) */
    cos_abort_level level;        /**< TASK (default), FILE or BUCKET */
} cos_abort_params;

/** A cos_abort_params with defaults (the task level). */
#define COS_ABORT_PARAMS_INIT COS_STRUCT_INIT_(cos_abort_params, COS_ABORT_PARAMS_VERSION)

/** One upload abortUploadTask tried to abort. */
typedef struct cos_aborted_upload {
    char *key;                    /**< its key */
    char *upload_id;              /**< its UploadId */
    int rc;                       /**< 0 = aborted, else why not (message in error_message) */
    char *error_message;          /**< NULL on success */
} cos_aborted_upload;

/** The outcome of abortUploadTask. Owned; cos_abort_result_free(). */
typedef struct cos_abort_result {
    cos_aborted_upload *uploads;  /**< every upload tried (successList and errorList together) */
    size_t count;                 /**< entries in uploads */
    size_t failed;                /**< how many of them could not be aborted */
} cos_abort_result;

/**
 * abortUploadTask: abort unfinished multipart uploads on the server (one, a
 * key's, or a bucket's; found with ListMultipartUploads). Tasks of this
 * client uploading to an aborted UploadId are canceled. Returns 0 when the
 * listing worked, even if some aborts failed (see *out); *out may be NULL.
 */
COS_API int cos_abort_upload_task(cos_client *client, const cos_abort_params *p,
                                  cos_abort_result **out, cos_error **err);
/** Free an abort result. NULL is allowed. */
COS_API void cos_abort_result_free(cos_abort_result *res);

/** A static English name of a state ("waiting", "checking", "uploading", ...). */
COS_API const char *cos_task_state_name(cos_task_state state);

#ifdef __cplusplus
}
#endif
#endif

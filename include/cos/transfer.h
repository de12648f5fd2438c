/**
 * @file transfer.h
 * @brief Advanced transfers, as in the official SDK: uploadFile (simple
 * or multipart by size), uploadFiles, sliceUploadFile, sliceCopyFile,
 * downloadFile, and the task queue (states, progress, pause/restart/cancel,
 * resume after a restart of the process).
 *
 * Every transfer is a task with an id. The synchronous forms start a task
 * and wait for it; the *_async forms return at once with the id.
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
 * Runs on a worker thread.
 */
typedef void (*cos_transfer_done_fn)(void *user_data, cos_task_id id, int rc,
                                     cos_transfer_result *res, cos_error *err);

/** Current version of cos_transfer_params. */
#define COS_TRANSFER_PARAMS_VERSION 1

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
    const char *copy_source;      /**< sliceCopyFile: "bucket-appid.cos.region.myqcloud.com/key" */
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
    uint64_t chunk_size;          /**< part size; 0 = ChunkSize / CopyChunkSize (grown to fit 10000 parts) */
    int parallel;                 /**< parts in flight; 0 = ChunkParallelLimit / CopyChunkParallelLimit */
    bool no_resume;               /**< start over instead of resuming an interrupted transfer */

    /* callbacks (all run on worker threads) */
    cos_progress_fn on_progress;  /**< bytes moved, at most every ProgressInterval and once at 100% */
    void *progress_user_data;     /**< passed to on_progress */
    cos_progress_fn on_hash_progress; /**< while the file is hashed before an upload */
    void *hash_progress_user_data;/**< passed to on_hash_progress */
} cos_transfer_params;

/** A cos_transfer_params with defaults. */
#define COS_TRANSFER_PARAMS_INIT { .version = COS_TRANSFER_PARAMS_VERSION }

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

/** downloadFile: parallel ranged GETs into a temporary file, verified, renamed; resumable. */
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
#define COS_UPLOAD_FILES_PARAMS_INIT { .version = COS_UPLOAD_FILES_PARAMS_VERSION }

/**
 * uploadFiles: FileParallelLimit files at a time, a callback per file, returns
 * when all are done: 0 if every file succeeded, else the first failure's rc
 * (with *err describing it).
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
/** Pause a waiting or running task (in-flight parts are stopped; progress kept). */
COS_API int cos_task_pause(cos_client *client, cos_task_id id, cos_error **err);
/** Restart a paused or failed task; it resumes where it stopped. */
COS_API int cos_task_restart(cos_client *client, cos_task_id id, cos_error **err);
/** Cancel a task; a multipart upload is aborted on the server. */
COS_API int cos_task_cancel(cos_client *client, cos_task_id id, cos_error **err);
/** Wait until a task is finished (success, error or canceled); returns its rc. */
COS_API int cos_task_wait(cos_client *client, cos_task_id id, cos_transfer_result **out, cos_error **err);

/** Called whenever a task is added, changes state, or is trimmed (UploadQueueSize). */
typedef void (*cos_task_list_fn)(void *user_data);
/** Set (or clear with NULL) the list-changed callback. */
COS_API void cos_set_task_list_callback(cos_client *client, cos_task_list_fn fn, void *user_data);

/** A static English name of a state ("waiting", "checking", "uploading", ...). */
COS_API const char *cos_task_state_name(cos_task_state state);

#ifdef __cplusplus
}
#endif
#endif

/*
 * upload_files.c — "Upload many files" (uploadFiles): FileParallelLimit files
 * at a time, a callback as each finishes, one progress for them all.
 */
#include "example.h"

static void on_file_done(void *user_data, size_t index, int rc, const cos_transfer_result *res,
                         const cos_error *err)
{
    const cos_transfer_params *files = user_data;
    if (rc == 0) printf("  %s -> %s (%llu bytes)\n", files[index].file_path, files[index].key,
                        (unsigned long long)res->size);
    else printf("  %s failed: %s\n", files[index].file_path, cos_error_message(err));
}

static void on_progress(void *user_data, const cos_progress *p)
{
    (void)user_data;
    printf("  all files: %5.1f%%\n", p->percent * 100);
}

int main(void)
{
    cos_config cfg = COS_CONFIG_INIT;
    cfg.file_parallel_limit = 2;             /* FileParallelLimit (default 3) */
    cos_client *c = example_client(&cfg);

    static const char *names[] = { "a.txt", "b.txt", "c.bin", "d.bin" };
    static const char *keys[] = { "batch/a.txt", "batch/b.txt", "batch/c.bin", "batch/d.bin" };
    cos_transfer_params files[4];
    for (int i = 0; i < 4; i++) {
        if (example_make_file(names[i], (size_t)(i + 1) * 700000)) { perror(names[i]); return 1; }
        files[i] = (cos_transfer_params)COS_TRANSFER_PARAMS_INIT;
        files[i].bucket = EXAMPLE_BUCKET;
        files[i].key = keys[i];
        files[i].file_path = names[i];
    }
    cos_upload_files_params up = COS_UPLOAD_FILES_PARAMS_INIT;
    up.files = files;
    up.file_count = 4;
    up.on_file_done = on_file_done;
    up.file_done_user_data = files;
    up.on_progress = on_progress;
    cos_error *err = NULL;
    if (cos_upload_files(c, &up, &err)) return example_fail("uploadFiles", err);
    printf("4 files uploaded\n");
    cos_client_free(c);
    return 0;
}

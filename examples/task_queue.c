/*
 * task_queue.c — "Task queue": start an upload in the background, pause it,
 * look at the queue, restart it (it resumes where it stopped), wait for it.
 * Tasks also resume after the process restarts: the next upload of the same
 * file to the same key picks up the parts already on the server.
 */
#define _DEFAULT_SOURCE /* usleep */
#include "example.h"
#include <unistd.h>

typedef struct app {
    cos_client *c;
    cos_task_id id;
    volatile int paused_once;
} app;

/* Pause at the first progress report, as a user pressing "pause" would. */
static void on_progress(void *user_data, const cos_progress *p)
{
    app *a = user_data;
    if (!a->paused_once && p->loaded > 0 && p->loaded < p->total) {
        a->paused_once = 1;
        cos_task_pause(a->c, a->id, NULL);
    }
}

static void print_queue(cos_client *c)
{
    cos_task_info *tasks = NULL;
    size_t n = 0;
    if (cos_task_list(c, &tasks, &n)) return;
    for (size_t i = 0; i < n; i++)
        printf("  task %llu  %-9s %-28s %5.1f%%\n", (unsigned long long)tasks[i].id,
               cos_task_state_name(tasks[i].state), tasks[i].key, tasks[i].percent * 100);
    cos_task_list_free(tasks, n);
}

static cos_task_state state_of(cos_client *c, cos_task_id id)
{
    cos_task_info *tasks = NULL;
    size_t n = 0;
    cos_task_state s = COS_TASK_ERROR;
    if (cos_task_list(c, &tasks, &n)) return s;
    for (size_t i = 0; i < n; i++)
        if (tasks[i].id == id) s = tasks[i].state;
    cos_task_list_free(tasks, n);
    return s;
}

int main(void)
{
    cos_config cfg = COS_CONFIG_INIT;
    cfg.progress_interval_ms = 1;
    app a = { example_client(&cfg), 0, 0 };
    if (example_make_file("task_queue.bin", 8u << 20)) { perror("task_queue.bin"); return 1; }

    cos_transfer_params p = COS_TRANSFER_PARAMS_INIT;
    p.bucket = EXAMPLE_BUCKET;
    p.key = "queue/task_queue.bin";
    p.file_path = "task_queue.bin";
    p.parallel = 1;                           /* one part at a time, to see the pause */
    p.no_resume = true;                       /* a fresh start each run of the example */
    p.on_progress = on_progress;
    p.progress_user_data = &a;
    /* the id is stored before any callback can read it */
    if (cos_slice_upload_file_async(a.c, &p, NULL, NULL, &a.id)) return 1;

    while (state_of(a.c, a.id) != COS_TASK_PAUSED && state_of(a.c, a.id) < COS_TASK_CANCELED) usleep(10000);
    printf("after pause:\n");
    print_queue(a.c);

    cos_error *err = NULL;
    if (cos_task_restart(a.c, a.id, &err)) return example_fail("restart", err);
    cos_transfer_result *res = NULL;
    if (cos_task_wait(a.c, a.id, &res, &err)) return example_fail("upload", err);
    printf("after restart:\n");
    print_queue(a.c);
    printf("done: %d parts, ETag %s\n", res->part_count, res->etag);
    cos_transfer_result_free(res);
    cos_client_free(a.c);
    return 0;
}

/*
 * conns.c — deadlines that libmicrohttpd's idle timeout cannot give.
 *
 * Its timeout restarts with every byte, so a client that trickles a
 * request's head (or its body) a byte at a time keeps a connection slot
 * forever (slowloris), and enough such clients fill every slot: the server
 * then refuses everyone else. Here each connection also has a deadline:
 *   - its request head must be complete within --header-timeout of the
 *     connection's start, or of the previous answer on a kept-alive one;
 *   - its body must arrive within --body-timeout of its head, plus one
 *     second per BODY_MIN_RATE bytes received (a slow but moving upload
 *     goes on; Apache's mod_reqtimeout allows bodies the same way);
 *   - no deadline while a handler works or an answer is sent (the idle
 *     timeout, and for a paced request its pace, govern those);
 *   - past three quarters of the connection limit, a connection waiting
 *     for a request's head for over a second makes room (a flood of idle
 *     connections kept every new client out until the header timeout).
 * A thread looks once a second and shuts down the socket of a connection
 * past its deadline; libmicrohttpd then sees it closed and frees it. The
 * list's lock is held from the shutdown to its end, and libmicrohttpd tells
 * (MHD_CONNECTION_NOTIFY_CLOSED) before it closes a socket, so a shutdown
 * never reaches a descriptor number reused by another connection.
 */
#define _GNU_SOURCE
#include "server.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#define BODY_MIN_RATE 500 /* bytes/s a body must average past its grace */
#define PRESSURE_WAIT_MS 1000 /* under pressure, how long a connection may wait for its head */

typedef struct tracked {
    int fd;
    _Atomic int64_t deadline_ms; /* cos_mono_ms(); 0: none */
    _Atomic int64_t waiting_ms;  /* since when it waits for a request's head; 0: in a request */
    int64_t head_ms;             /* when the request's head was in (body deadline) */
    struct tracked *prev, *next;
} tracked;

struct conn_deadlines {
    pthread_mutex_t lock;
    pthread_cond_t wake; /* on CLOCK_MONOTONIC: stop */
    pthread_t thread;
    bool stopping;
    tracked *head;
    size_t count, pressure; /* connections; from `pressure` on, idle ones make room */
    int64_t header_ms, body_ms;
};

static void *reaper(void *arg)
{
    struct conn_deadlines *d = arg;
    pthread_mutex_lock(&d->lock);
    while (!d->stopping) {
        int64_t now = cos_mono_ms();
        /* near the connection limit, connections that wait for a request
           (idle, kept alive, or sending a head slowly) make room after a
           second: a flood of idle connections would otherwise keep every new
           client out until the header timeout, and again as it reconnects */
        bool pressed = d->count >= d->pressure;
        for (tracked *t = d->head; t; t = t->next) {
            int64_t due = atomic_load(&t->deadline_ms), waiting = atomic_load(&t->waiting_ms);
            if ((due && now > due) || (pressed && waiting && now - waiting > PRESSURE_WAIT_MS)) {
                atomic_store(&t->deadline_ms, 0); /* once: libmicrohttpd closes it on its next look */
                atomic_store(&t->waiting_ms, 0);
                shutdown(t->fd, SHUT_RDWR);
            }
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&d->wake, &d->lock, &ts);
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

static struct conn_deadlines *deadlines_new(server *s, unsigned max_conns)
{
    struct conn_deadlines *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->pressure = (size_t)max_conns * 3 / 4;
    d->header_ms = (int64_t)(s->cfg.header_timeout_s ? s->cfg.header_timeout_s : HEADER_TIMEOUT_DEFAULT_S) * 1000;
    d->body_ms = (int64_t)(s->cfg.body_timeout_s ? s->cfg.body_timeout_s : BODY_TIMEOUT_DEFAULT_S) * 1000;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&d->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&d->lock, NULL);
    if (pthread_create(&d->thread, NULL, reaper, d) != 0) {
        pthread_cond_destroy(&d->wake);
        pthread_mutex_destroy(&d->lock);
        free(d);
        return NULL;
    }
    return d;
}

int conns_start(server *s, unsigned max_conns)
{
    return (s->conns = deadlines_new(s, max_conns)) ? 0 : -1;
}

/* The web console's listener (console.c) gets deadlines of its own: its
 * requests have no body, so only the head's. */
int conns_console_start(server *s, unsigned max_conns)
{
    return (s->console_conns = deadlines_new(s, max_conns)) ? 0 : -1;
}

static void deadlines_free(struct conn_deadlines *d)
{
    if (!d) return;
    pthread_mutex_lock(&d->lock);
    d->stopping = true;
    pthread_cond_signal(&d->wake);
    pthread_mutex_unlock(&d->lock);
    pthread_join(d->thread, NULL);
    while (d->head) { /* none, unless the daemon never ran */
        tracked *t = d->head;
        d->head = t->next;
        free(t);
    }
    pthread_cond_destroy(&d->wake);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

/* After the daemon stopped (every connection is closed and untracked). */
void conns_stop(server *s)
{
    deadlines_free(s->conns);
    s->conns = NULL;
}

void conns_console_stop(server *s)
{
    deadlines_free(s->console_conns);
    s->console_conns = NULL;
}

static void notify(struct conn_deadlines *d, struct MHD_Connection *conn, void **socket_context,
                   enum MHD_ConnectionNotificationCode code)
{
    if (!d) return;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        tracked *t = ci ? calloc(1, sizeof *t) : NULL;
        *socket_context = t;
        if (!t) return; /* untracked: the idle timeout alone */
        t->fd = ci->connect_fd;
        int64_t now = cos_mono_ms();
        atomic_store(&t->deadline_ms, now + d->header_ms);
        atomic_store(&t->waiting_ms, now);
        pthread_mutex_lock(&d->lock);
        t->next = d->head;
        if (d->head) d->head->prev = t;
        d->head = t;
        d->count++;
        pthread_mutex_unlock(&d->lock);
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        tracked *t = *socket_context;
        if (!t) return;
        pthread_mutex_lock(&d->lock); /* waits for a shutdown under way: the fd is still this one's */
        if (t->prev) t->prev->next = t->next;
        else d->head = t->next;
        if (t->next) t->next->prev = t->prev;
        d->count--;
        pthread_mutex_unlock(&d->lock);
        free(t);
        *socket_context = NULL;
    }
}

void conns_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                  enum MHD_ConnectionNotificationCode code)
{
    notify(((server *)cls)->conns, conn, socket_context, code);
}

void conns_console_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    notify(((server *)cls)->console_conns, conn, socket_context, code);
}

static tracked *tracked_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

void conns_head_in(server *s, struct MHD_Connection *conn, bool body)
{
    tracked *t = s->conns ? tracked_of(conn) : NULL;
    if (!t) return;
    t->head_ms = cos_mono_ms();
    atomic_store(&t->waiting_ms, 0);
    atomic_store(&t->deadline_ms, body ? t->head_ms + s->conns->body_ms : 0);
}

void conns_body_progress(server *s, struct MHD_Connection *conn, uint64_t seen)
{
    tracked *t = s->conns ? tracked_of(conn) : NULL;
    if (!t) return;
    atomic_store(&t->deadline_ms, t->head_ms + s->conns->body_ms + (int64_t)(seen / BODY_MIN_RATE) * 1000);
}

void conns_body_done(server *s, struct MHD_Connection *conn)
{
    tracked *t = s->conns ? tracked_of(conn) : NULL;
    if (t) atomic_store(&t->deadline_ms, 0);
}

void conns_request_done(server *s, struct MHD_Connection *conn)
{
    tracked *t = s->conns ? tracked_of(conn) : NULL;
    if (!t) return;
    int64_t now = cos_mono_ms();
    atomic_store(&t->deadline_ms, now + s->conns->header_ms);
    atomic_store(&t->waiting_ms, now);
}

/* The console's request head is in (it takes no body: no deadline while it
 * is answered), and its answer is done (the next head's deadline). */
void conns_console_head_in(server *s, struct MHD_Connection *conn)
{
    tracked *t = s->console_conns ? tracked_of(conn) : NULL;
    if (!t) return;
    atomic_store(&t->waiting_ms, 0);
    atomic_store(&t->deadline_ms, 0);
}

void conns_console_request_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                                enum MHD_RequestTerminationCode toe)
{
    (void)con_cls;
    (void)toe;
    server *s = cls;
    tracked *t = s->console_conns ? tracked_of(conn) : NULL;
    if (!t) return;
    int64_t now = cos_mono_ms();
    atomic_store(&t->deadline_ms, now + s->console_conns->header_ms);
    atomic_store(&t->waiting_ms, now);
}

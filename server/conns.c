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
 *   - a request refused while its body is still coming is answered at
 *     once and its connection closed (main.c); what still arrives is read
 *     and dropped while it keeps coming (LINGER_IDLE_MS), for LINGER_MS at
 *     most, so the client can read the answer first (nginx's lingering
 *     close, with its defaults);
 *   - while a body comes in or an answer goes out, each window of
 *     --rate-window seconds must move BODY_MIN_RATE bytes a second
 *     (received, or acknowledged by the client's TCP: TCP_INFO): a body
 *     sent fast at first no longer earns the right to trickle for hours
 *     after (the deadline above grew with every byte), and a client that
 *     reads its answer a few bytes at a time no longer holds its
 *     connection for ever (libmicrohttpd's idle timeout restarts with
 *     every byte written). The rule of Kestrel's MinRequestBodyDataRate /
 *     MinResponseDataRate, per window;
 *   - no deadline while a handler works (its pace governs a paced request);
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
#include <linux/tcp.h> /* struct tcp_info with tcpi_bytes_acked (glibc's lacks it) */
#include <netinet/in.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define BODY_MIN_RATE 500 /* bytes/s a body must average past its grace */
#define PRESSURE_WAIT_MS 1000 /* under pressure, how long a connection may wait for its head */
#define LINGER_MS 30000       /* a refused body is dropped for this long at most after its answer */
#define LINGER_IDLE_MS 5000   /* ... and while it keeps coming */

typedef struct tracked {
    int fd;
    _Atomic int64_t deadline_ms; /* cos_mono_ms(); 0: none */
    _Atomic int64_t waiting_ms;  /* since when it waits for a request's head; 0: in a request */
    int64_t head_ms;             /* when the request's head was in (body deadline) */
    _Atomic int64_t linger_end_ms; /* answered early (conns_linger): the connection closes by then; 0: not */
    _Atomic int phase;           /* PHASE_*: what the rate window watches */
    _Atomic unsigned epoch;      /* bumped with each phase: the reaper starts a new window */
    _Atomic uint64_t body_bytes; /* the body's bytes so far */
    unsigned win_epoch;          /* the reaper's: the window's phase, start and bytes then */
    int64_t win_start_ms;
    uint64_t win_bytes;
    struct tracked *prev, *next;
} tracked;

struct conn_deadlines {
    pthread_mutex_t lock;
    pthread_cond_t wake; /* on CLOCK_MONOTONIC: stop */
    pthread_t thread;
    bool stopping;
    tracked *head;
    size_t count, pressure; /* connections; from `pressure` on, idle ones make room */
    int64_t header_ms, body_ms, window_ms;
};

enum { PHASE_OTHER, PHASE_BODY, PHASE_ANSWER };

static void set_phase(tracked *t, int phase)
{
    atomic_store(&t->phase, phase);
    atomic_fetch_add(&t->epoch, 1);
}

/* Bytes the client's TCP has acknowledged on fd: true with *n, or false when the kernel does not say. */
static bool acked_bytes(int fd, uint64_t *n)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    memset(&ti, 0, sizeof ti);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 || len < offsetof(struct tcp_info, tcpi_bytes_received))
        return false;
    *n = ti.tcpi_bytes_acked;
    return true;
}

/* Whether t's body or answer moved too little in its last full window (under d->lock: t->fd is t's). */
static bool too_slow(struct conn_deadlines *d, tracked *t, int64_t now)
{
    int phase = atomic_load(&t->phase);
    unsigned epoch = atomic_load(&t->epoch);
    if (phase == PHASE_OTHER || atomic_load(&t->linger_end_ms)) return false; /* a lingering close has its own end */
    uint64_t bytes = atomic_load(&t->body_bytes);
    if (phase == PHASE_ANSWER && !acked_bytes(t->fd, &bytes)) return false; /* unknown: never cut for it */
    if (epoch != t->win_epoch || !t->win_start_ms) { /* a new phase: a new window */
        t->win_epoch = epoch;
        t->win_start_ms = now;
        t->win_bytes = bytes;
        return false;
    }
    if (now - t->win_start_ms < d->window_ms) return false;
    if (bytes - t->win_bytes < (uint64_t)(BODY_MIN_RATE * (d->window_ms / 1000))) return true;
    t->win_start_ms = now;
    t->win_bytes = bytes;
    return false;
}

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
            if ((due && now > due) || (pressed && waiting && now - waiting > PRESSURE_WAIT_MS) || too_slow(d, t, now)) {
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
    d->window_ms = (int64_t)(s->cfg.rate_window_s ? s->cfg.rate_window_s : RATE_WINDOW_DEFAULT_S) * 1000;
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
    atomic_store(&t->linger_end_ms, 0);
    atomic_store(&t->body_bytes, 0);
    set_phase(t, body ? PHASE_BODY : PHASE_OTHER);
    atomic_store(&t->waiting_ms, 0);
    atomic_store(&t->deadline_ms, body ? t->head_ms + s->conns->body_ms : 0);
}

void conns_body_progress(server *s, struct MHD_Connection *conn, uint64_t seen)
{
    tracked *t = s->conns ? tracked_of(conn) : NULL;
    if (!t) return;
    atomic_store(&t->body_bytes, seen);
    int64_t linger_end = atomic_load(&t->linger_end_ms);
    if (linger_end) { /* answered: the rest is dropped while it keeps coming, and never for long */
        int64_t idle_end = cos_mono_ms() + LINGER_IDLE_MS;
        atomic_store(&t->deadline_ms, idle_end < linger_end ? idle_end : linger_end);
        return;
    }
    atomic_store(&t->deadline_ms, t->head_ms + s->conns->body_ms + (int64_t)(seen / BODY_MIN_RATE) * 1000);
}

void conns_linger(server *s, struct MHD_Connection *conn)
{
    tracked *t = s->conns ? tracked_of(conn) : NULL;
    if (!t) return;
    int64_t now = cos_mono_ms();
    atomic_store(&t->linger_end_ms, now + LINGER_MS);
    atomic_store(&t->deadline_ms, now + LINGER_IDLE_MS);
}

void conns_body_done(server *s, struct MHD_Connection *conn)
{
    tracked *t = s->conns ? tracked_of(conn) : NULL;
    if (!t) return;
    atomic_store(&t->deadline_ms, 0);
    set_phase(t, PHASE_OTHER); /* the handler works: no rate */
}

void conns_answering(server *s, struct MHD_Connection *conn)
{
    tracked *t = s->conns ? tracked_of(conn) : NULL;
    if (t) set_phase(t, PHASE_ANSWER);
}

void conns_request_done(server *s, struct MHD_Connection *conn)
{
    tracked *t = s->conns ? tracked_of(conn) : NULL;
    if (!t) return;
    int64_t now = cos_mono_ms();
    set_phase(t, PHASE_OTHER);
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

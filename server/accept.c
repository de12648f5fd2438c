/*
 * accept.c — cos-server's listening socket, and which request thread serves
 * each connection.
 *
 * libmicrohttpd's thread pool (0.9.75, epoll) puts the listening socket in
 * every worker's epoll set: a new connection wakes them all, and the first
 * to run accepts up to ten connections in a row. Connections opened
 * together (libcos's parallel parts, a client's 16 threads) so often
 * landed two on one thread while others served none, and a request
 * blocked there (a part's fsyncs and commit before its answer) stalled
 * the other connection's body: the durable upload of 4 parallel parts
 * reached 0.44 of the disk's rate with one thread serving 2 of the 4
 * connections in 5 of 8 traced uploads.
 *
 * Here one thread accepts, and each worker is a daemon of its own (one
 * thread, no listening socket): a connection goes to the worker with the
 * fewest open connections, ties broken round robin from the last one
 * chosen, so connections opened together get threads of their own as long
 * as there are threads. A connection still stays on its worker for life.
 * Each worker takes at most its share of the connection limit; when the
 * least loaded is full, so is every worker, and the acceptor waits for a
 * connection to close, leaving new ones in the kernel's backlog (as
 * libmicrohttpd did by taking its listening socket out of epoll).
 */
#define _GNU_SOURCE
#include "server.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct worker {
    struct listener *l;
    struct MHD_Daemon *d;
    _Atomic unsigned open; /* counted when handed over, until libmicrohttpd closes it */
} worker;

struct listener {
    server *srv;
    int fd;      /* the listening socket */
    int stop_fd; /* eventfd: the acceptor ends */
    pthread_t thread;
    bool running;
    pthread_mutex_t m;
    pthread_cond_t room;  /* a connection closed (on CLOCK_MONOTONIC) */
    _Atomic bool waiting; /* the acceptor waits for room: a close signals it */
    bool stopping;        /* under m */
    unsigned n, per_limit, next;
    worker *w;
};

/* MHD_OPTION_NOTIFY_CONNECTION of each worker: conns.c's deadlines, and the worker's count. */
static void worker_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    worker *w = cls;
    conns_notify(w->l->srv, conn, socket_context, code);
    if (code != MHD_CONNECTION_NOTIFY_CLOSED) return;
    atomic_fetch_sub(&w->open, 1);
    /* seq_cst with the acceptor's store of `waiting` then load of the counts: one of the two sees the other */
    if (atomic_load(&w->l->waiting)) {
        pthread_mutex_lock(&w->l->m);
        pthread_cond_signal(&w->l->room);
        pthread_mutex_unlock(&w->l->m);
    }
}

/* The worker with the fewest open connections from l->next on, or NULL when all are full. */
static worker *least_loaded(struct listener *l)
{
    worker *best = NULL;
    unsigned least = 0;
    for (unsigned k = 0; k < l->n; k++) {
        worker *w = &l->w[(l->next + k) % l->n];
        unsigned o = atomic_load(&w->open);
        if (o < l->per_limit && (!best || o < least)) {
            best = w;
            least = o;
        }
    }
    return best;
}

/* Waits until a connection closes, or ms pass (ms < 0: no bound), or the listener stops;
 * `until` is re-checked under the lock (a close between the look and the wait is not missed). */
static bool wait_room(struct listener *l, int ms, bool (*until)(struct listener *))
{
    pthread_mutex_lock(&l->m);
    atomic_store(&l->waiting, true);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    if (!l->stopping && !(until && until(l))) {
        if (ms < 0) pthread_cond_wait(&l->room, &l->m);
        else pthread_cond_timedwait(&l->room, &l->m, &ts);
    }
    atomic_store(&l->waiting, false);
    bool go = !l->stopping;
    pthread_mutex_unlock(&l->m);
    return go;
}

static bool has_room(struct listener *l) { return least_loaded(l) != NULL; }

static void *acceptor(void *arg)
{
    struct listener *l = arg;
    struct pollfd p[2] = { { l->fd, POLLIN, 0 }, { l->stop_fd, POLLIN, 0 } };
    for (;;) {
        if (!has_room(l) && !wait_room(l, -1, has_room)) break;
        if (!has_room(l)) continue;
        if (poll(p, 2, -1) < 0 && errno != EINTR) break;
        if (p[1].revents) break;
        if (!(p[0].revents & POLLIN)) continue;
        /* up to a few at once: a burst is spread before the workers run */
        for (int k = 0; k < 16; k++) {
            worker *w = least_loaded(l);
            if (!w) break;
            struct sockaddr_storage sa;
            socklen_t len = sizeof sa;
            int c = accept4(l->fd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (c < 0) {
                if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
                /* out of descriptors or memory: a close makes room; retried after a while otherwise */
                if ((errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) && !wait_room(l, 100, NULL))
                    return NULL;
                break; /* EAGAIN: none left */
            }
            l->next = (unsigned)(w - l->w + 1) % l->n;
            atomic_fetch_add(&w->open, 1);
            /* libmicrohttpd closes the socket on failure; refused before it was taken, no close is told */
            if (MHD_add_connection(w->d, c, (struct sockaddr *)&sa, len) != MHD_YES) atomic_fetch_sub(&w->open, 1);
        }
    }
    return NULL;
}

static int listen_on(const struct sockaddr_in *sa)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on); /* as libmicrohttpd: a restart rebinds at once */
    if (bind(fd, (const struct sockaddr *)sa, sizeof *sa) != 0 || listen(fd, SOMAXCONN) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int listener_start(server *srv, const struct sockaddr_in *sa, unsigned threads, unsigned flags, unsigned max_conns,
                   listener_daemon_fn start_daemon, void *cls)
{
    struct listener *l = calloc(1, sizeof *l);
    if (!l) return -1;
    l->srv = srv;
    l->fd = l->stop_fd = -1;
    pthread_mutex_init(&l->m, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->room, &ca);
    pthread_condattr_destroy(&ca);
    srv->listener = l;
    l->n = threads ? threads : 1;
    l->per_limit = (max_conns + l->n - 1) / l->n;
    if (!(l->w = calloc(l->n, sizeof *l->w)) || (l->fd = listen_on(sa)) < 0 ||
        (l->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
        return -1;
    for (unsigned i = 0; i < l->n; i++) {
        l->w[i].l = l;
        /* libmicrohttpd tells a close before it counts it (and closes the socket): held to
           per_limit itself, it refused and dropped a connection handed over in between */
        if (!(l->w[i].d = start_daemon(cls, flags | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC, l->per_limit + 4,
                                       worker_notify, &l->w[i])))
            return -1;
    }
    if (pthread_create(&l->thread, NULL, acceptor, l) != 0) return -1;
    l->running = true;
    return 0;
}

int listener_port(server *srv)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    struct listener *l = srv->listener;
    return l && getsockname(l->fd, (struct sockaddr *)&sa, &len) == 0 ? ntohs(sa.sin_port) : -1;
}

/* The acceptor first (no connection is handed over any more), then every worker. */
void listener_stop(server *srv)
{
    struct listener *l = srv->listener;
    if (!l) return;
    if (l->running) {
        pthread_mutex_lock(&l->m);
        l->stopping = true;
        pthread_cond_broadcast(&l->room);
        pthread_mutex_unlock(&l->m);
        uint64_t one = 1;
        if (write(l->stop_fd, &one, sizeof one) < 0) { /* an eventfd's counter cannot overflow from one write */
        }
        pthread_join(l->thread, NULL);
    }
    if (l->fd >= 0) close(l->fd);
    for (unsigned i = 0; l->w && i < l->n; i++)
        if (l->w[i].d) MHD_stop_daemon(l->w[i].d); /* their closes still count down into l */
    if (l->stop_fd >= 0) close(l->stop_fd);
    free(l->w);
    pthread_cond_destroy(&l->room);
    pthread_mutex_destroy(&l->m);
    free(l);
    srv->listener = NULL;
}

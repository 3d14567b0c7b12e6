/* bridge/server/worker.c: the worker threads and their loops, the listening sockets, TLS, and the admin probe. */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"
#include "messages.h"

__thread hb_worker_t *hb_current_worker;

void hb_assert_fail(const char *file, int line, const char *cond)
{
    char where[64];
    snprintf(where, sizeof(where), "%s:%d", file, line);
    hb_log(HB_LOG_ERROR, "internal error: a claim did not hold", "where", where, "claim", cond, HB_LOG_END);
    abort();
}

/* ---- the loop's messages ---- */

static void hb_on_accept(h2o_socket_t *listener, const char *err)
{
    if (err != NULL)
        return;
    hb_worker_t *w = listener->data;
    h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
    if (sock == NULL)
        return;
    if (w->srv->cfg->server.h2c)
        hb_conn_follow(w, sock);
    h2o_accept(&w->accept_ctx, sock);
}

/* The drain order: close the listeners, answer new requests 503, leave once nothing is in flight. */
static void hb_on_control(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    hb_worker_t *w = H2O_STRUCT_FROM_MEMBER(hb_worker_t, control_receiver, receiver);
    hb_take_messages(messages, NULL, NULL);
    if (w->draining)
        return;
    w->draining = 1;
    for (size_t i = 0; i < w->num_listeners; i++) {
        h2o_socket_read_stop(w->listeners[i]);
        h2o_socket_close(w->listeners[i]);
    }
    w->num_listeners = 0;
    /* h2c: a GOAWAY on every HTTP/2 connection (their requests in flight are still answered), and h2o then closes
       HTTP/1 keep-alive connections after their answer */
    if (w->srv->cfg->server.h2c)
        h2o_context_request_shutdown(&w->ctx);
    hb_worker_check_exit(w);
}

/* A reload message (malloc'd, with its epoch): this loop is past any request that began with the old registry. */
typedef struct hb_reload_msg {
    h2o_multithread_message_t msg;
    unsigned epoch;
} hb_reload_msg_t;

static void hb_free_reload_msg(h2o_multithread_message_t *msg, void *ctx)
{
    hb_worker_t *w = ctx;
    hb_reload_msg_t *m = H2O_STRUCT_FROM_MEMBER(hb_reload_msg_t, msg, msg);
    atomic_store(&w->reload_seen, m->epoch);
    free(m);
}

static void hb_on_reload(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    hb_worker_t *w = H2O_STRUCT_FROM_MEMBER(hb_worker_t, reload_receiver, receiver);
    hb_take_messages(messages, hb_free_reload_msg, w);
}

/** Tells every worker that a reload happened (epoch): a worker past it uses the new registry. Main thread. */
void hb_workers_reloaded(hb_server_t *srv, unsigned epoch)
{
    for (unsigned i = 0; i < srv->num_workers; i++) {
        hb_reload_msg_t *m = hb_xcalloc(1, sizeof(*m));
        m->epoch = epoch;
        h2o_multithread_send_message(&srv->workers[i].reload_receiver, &m->msg);
    }
}

/* The admin thread's ping reached this worker's loop: it is alive. */
static void hb_on_ping(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    hb_worker_t *w = H2O_STRUCT_FROM_MEMBER(hb_worker_t, ping_receiver, receiver);
    hb_take_messages(messages, NULL, NULL);
    atomic_store(&w->pong_ms, hb_mono_ms());
    atomic_store(&w->ping_pending, 0);
}

/* ---- the worker's thread ---- */

/* Everything of h2o's that owns sockets, created on the thread that runs it. */
static void hb_worker_init(hb_worker_t *w)
{
    hb_server_t *srv = w->srv;
    /* h2o's socket buffers recycle through thread-local allocators, and a context set up on another thread would
       share that thread's */
    h2o_context_init(&w->ctx, h2o_evloop_create(), &srv->globalconf);
    w->accept_ctx.ctx = &w->ctx;
    w->accept_ctx.hosts = srv->globalconf.hosts;
    w->accept_ctx.ssl_ctx = srv->ssl_ctx;
    h2o_multithread_register_receiver(w->ctx.queue, &w->control_receiver, hb_on_control);
    h2o_multithread_register_receiver(w->ctx.queue, &w->ping_receiver, hb_on_ping);
    h2o_multithread_register_receiver(w->ctx.queue, &w->reload_receiver, hb_on_reload);
    hb_tickets_init(w);
    atomic_store(&w->pong_ms, hb_mono_ms());
    h2o_linklist_init_anchor(&w->conns);
    if (srv->cfg->server.h2c)
        hb_conn_start_sweep(w);
    for (size_t i = 0; i < w->num_listeners; i++) {
        w->listeners[i] = h2o_evloop_socket_create(w->ctx.loop, w->listen_fds[i], H2O_SOCKET_FLAG_DONT_READ);
        w->listeners[i]->data = w;
        h2o_socket_read_start(w->listeners[i], hb_on_accept);
    }
}

static void *hb_worker_main(void *arg)
{
    hb_worker_t *w = arg;
    hb_server_t *srv = w->srv;
    hb_current_worker = w;
    hb_worker_init(w);
    pthread_mutex_lock(&srv->start_lock); /* it can receive messages now */
    srv->num_ready++;
    pthread_cond_signal(&srv->started);
    pthread_mutex_unlock(&srv->start_lock);
    for (;;) {
        if (atomic_load(&srv->force_exit))
            break;
        if (w->draining && w->exit_at != 0 && h2o_now(w->ctx.loop) >= w->exit_at)
            break;
        h2o_evloop_run(w->ctx.loop, w->draining ? 50 : INT32_MAX);
    }
    hb_tickets_dispose(w);
    atomic_store(&w->done, 1);
    return NULL;
}

int hb_workers_start(hb_server_t *srv)
{
    unsigned created = 0;
    for (; created < srv->num_workers; created++) {
        int rc = pthread_create(&srv->workers[created].thread, NULL, hb_worker_main, &srv->workers[created]);
        if (rc != 0) {
            hb_log(HB_LOG_ERROR, "cannot start a worker thread", "call", "pthread_create", "detail", strerror(rc),
                   HB_LOG_END);
            break;
        }
    }
    pthread_mutex_lock(&srv->start_lock);
    while (srv->num_ready < created)
        pthread_cond_wait(&srv->started, &srv->start_lock);
    pthread_mutex_unlock(&srv->start_lock);
    if (created == srv->num_workers)
        return 0;
    unsigned all = srv->num_workers;
    srv->num_workers = created; /* the ones that run: stopped and joined */
    hb_workers_stop(srv);
    srv->num_workers = all;
    return -1;
}

void hb_workers_drain(hb_server_t *srv)
{
    for (unsigned i = 0; i < srv->num_workers; i++)
        h2o_multithread_send_message(&srv->workers[i].control_receiver, &srv->workers[i].drain_msg);
}

void hb_workers_stop(hb_server_t *srv)
{
    atomic_store(&srv->force_exit, 1);
    hb_workers_drain(srv); /* wakes each loop, which then sees force_exit */
    for (unsigned i = 0; i < srv->num_workers; i++)
        pthread_join(srv->workers[i].thread, NULL);
}

/* ---- listening sockets ---- */

/* One listening socket, each system call checked on its own so that the log names the one that failed. */
static int hb_listen_socket(const hb_listen_t *la, const struct sockaddr_storage *addr, socklen_t addrlen)
{
    int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), on = 1;
    const char *call = NULL;
    if (fd < 0)
        call = "socket";
    else if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0)
        call = "setsockopt SO_REUSEADDR";
    else if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0)
        call = "setsockopt SO_REUSEPORT";
    else if (bind(fd, (const struct sockaddr *)addr, addrlen) != 0)
        call = "bind";
    else if (listen(fd, SOMAXCONN) != 0)
        call = "listen";
    if (call == NULL)
        return fd;
    int e = errno;
    hb_log(HB_LOG_ERROR, "cannot listen", "host", la->host, "port", la->port, "call", call, "detail", strerror(e),
           HB_LOG_END);
    if (fd >= 0)
        close(fd);
    return -1;
}

/* The first worker's socket of the first address: where this host reaches the listener (test runs), and the log. */
static int hb_listen_announce(hb_server_t *srv, int fd, size_t slot, struct sockaddr_storage *addr, socklen_t *addrlen)
{
    /* port 0: every worker must share the port the kernel picked for the first */
    if (getsockname(fd, (struct sockaddr *)addr, addrlen) != 0) {
        hb_log(HB_LOG_ERROR, "cannot listen", "call", "getsockname", "detail", strerror(errno), HB_LOG_END);
        return -1;
    }
    char host[NI_MAXHOST], port[16];
    size_t hl = h2o_socket_getnumerichost((struct sockaddr *)addr, *addrlen, host);
    snprintf(port, sizeof(port), "%d", h2o_socket_getport((struct sockaddr *)addr));
    if (slot == 0) {
        /* a wildcard address is reached on loopback */
        const char *reach = hl == SIZE_MAX                                                   ? "127.0.0.1"
                            : strcmp(host, "0.0.0.0") == 0                                   ? "127.0.0.1"
                            : strcmp(host, "::") == 0 || strcmp(host, "::ffff:0.0.0.0") == 0 ? "::1"
                                                                                             : host;
        snprintf(srv->public_host, sizeof(srv->public_host), "%s", reach);
        snprintf(srv->public_port, sizeof(srv->public_port), "%s", port);
    }
    hb_log(HB_LOG_INFO, "listening", "address", hl != SIZE_MAX ? host : "?", "port", port, "scheme",
           srv->ssl_ctx != NULL ? "https" : "http", "protocols", srv->cfg->server.h2c ? "http/1.1, h2c" : "http/1.1",
           HB_LOG_END);
    return 0;
}

/* Opens one listening socket per worker for a listen address (SO_REUSEPORT: the kernel spreads connections). */
static int hb_open_listeners(hb_server_t *srv, const hb_listen_t *la, size_t slot)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res;
    int gai = getaddrinfo(*la->host != '\0' ? la->host : NULL, la->port, &hints, &res);
    if (gai != 0) {
        hb_log(HB_LOG_ERROR, "cannot resolve listen address", "host", la->host, "detail", gai_strerror(gai),
               HB_LOG_END);
        return -1;
    }
    struct sockaddr_storage addr;
    socklen_t addrlen = (socklen_t)res->ai_addrlen;
    memcpy(&addr, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    for (unsigned i = 0; i < srv->num_workers; i++) {
        int fd = hb_listen_socket(la, &addr, addrlen);
        if (fd < 0)
            return -1;
        srv->workers[i].listen_fds[slot] = fd;
        if (i == 0 && hb_listen_announce(srv, fd, slot, &addr, &addrlen) != 0)
            return -1;
    }
    return 0;
}

int hb_workers_setup(hb_server_t *srv)
{
    const hb_config_t *cfg = srv->cfg;
    srv->num_workers = cfg->server.threads;
    if (srv->num_workers == 0) {
        char source[PATH_MAX + 64], count[16];
        srv->num_workers = hb_auto_threads(source, sizeof(source));
        snprintf(count, sizeof(count), "%u", srv->num_workers);
        hb_log(HB_LOG_INFO, "server.threads: auto", "threads", count, "from", source, HB_LOG_END);
    }
    srv->workers = hb_xcalloc(srv->num_workers, sizeof(hb_worker_t));
    for (unsigned i = 0; i < srv->num_workers; i++) {
        hb_worker_t *w = &srv->workers[i];
        w->srv = srv;
        w->num_listeners = cfg->server.num_listen;
        w->listen_fds = hb_xcalloc(w->num_listeners, sizeof(int));
        for (size_t l = 0; l < w->num_listeners; l++)
            w->listen_fds[l] = -1;
        w->listeners = hb_xcalloc(w->num_listeners, sizeof(h2o_socket_t *));
    }
    for (size_t l = 0; l < cfg->server.num_listen; l++)
        if (hb_open_listeners(srv, &cfg->server.listen[l], l) != 0)
            return -1;
    return 0;
}

/* ---- TLS ---- */

int hb_setup_tls(hb_server_t *srv)
{
    const hb_config_t *cfg = srv->cfg;
    if (cfg->server.tls_cert_file == NULL)
        return 0;
    if ((srv->ssl_ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
        char detail[256];
        ERR_error_string_n(ERR_get_error(), detail, sizeof(detail));
        hb_log(HB_LOG_ERROR, "cannot create the TLS context", "call", "SSL_CTX_new", "detail", detail, HB_LOG_END);
        return -1;
    }
    SSL_CTX_set_min_proto_version(srv->ssl_ctx, TLS1_2_VERSION);
    if (SSL_CTX_use_certificate_chain_file(srv->ssl_ctx, cfg->server.tls_cert_file) != 1 ||
        SSL_CTX_use_PrivateKey_file(srv->ssl_ctx, cfg->server.tls_key_file, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(srv->ssl_ctx) != 1) {
        hb_log(HB_LOG_ERROR, "cannot load the TLS certificate or key", "certFile", cfg->server.tls_cert_file, "keyFile",
               cfg->server.tls_key_file, HB_LOG_END);
        return -1;
    }
    /* no ALPN registration: TLS listeners speak HTTP/1.1 only (h2o 2.2.5 lacks the Rapid Reset fix; HTTP/2 is opt-in,
       in cleartext, with server.h2c, which the config refuses together with TLS) */
    return 0;
}

/* ---- what the admin listener asks (admin thread) ---- */

static void hb_admin_ping_workers(void *ctx)
{
    hb_server_t *srv = ctx;
    for (unsigned i = 0; i < srv->num_workers; i++) {
        hb_worker_t *w = &srv->workers[i];
        if (!atomic_load(&w->done) && atomic_exchange(&w->ping_pending, 1) == 0)
            h2o_multithread_send_message(&w->ping_receiver, &w->ping_msg);
    }
}

static uint64_t hb_admin_slowest_worker_ms(void *ctx, unsigned *which)
{
    hb_server_t *srv = ctx;
    int64_t now = hb_mono_ms();
    uint64_t worst = 0;
    for (unsigned i = 0; i < srv->num_workers; i++) {
        int64_t age = now - atomic_load(&srv->workers[i].pong_ms);
        if (age > 0 && (uint64_t)age > worst) {
            worst = (uint64_t)age;
            *which = i;
        }
    }
    return worst;
}

static hb_registry_t *hb_admin_registry_acquire(void *ctx)
{
    hb_server_t *srv = ctx;
    pthread_mutex_lock(&srv->registry_lock);
    hb_registry_t *reg = atomic_load(&srv->registry);
    hb_registry_hold(reg);
    pthread_mutex_unlock(&srv->registry_lock);
    return reg;
}

static void hb_admin_registry_release(void *ctx, hb_registry_t *reg)
{
    hb_registry_drop(reg);
}

static long hb_admin_inflight(void *ctx)
{
    hb_server_t *srv = ctx;
    long n = 0;
    for (unsigned i = 0; i < srv->num_workers; i++)
        n += atomic_load_explicit(&srv->workers[i].inflight, memory_order_relaxed);
    return n;
}

static int hb_admin_draining(void *ctx)
{
    return atomic_load(&((hb_server_t *)ctx)->draining);
}

hb_admin_probe_t hb_admin_probe(hb_server_t *srv)
{
    const hb_config_t *cfg = srv->cfg;
    return (hb_admin_probe_t){.registry_acquire = hb_admin_registry_acquire,
                              .registry_release = hb_admin_registry_release,
                              .publisher = srv->publisher,
                              .spool = srv->spool,
                              .spool_max_bytes = cfg->spool.max_bytes,
                              .ctx = srv,
                              .ping_workers = hb_admin_ping_workers,
                              .slowest_worker_ms = hb_admin_slowest_worker_ms,
                              .inflight = hb_admin_inflight,
                              .draining = hb_admin_draining,
                              .readiness_window_ms = cfg->kafka.readiness_window_ms,
                              .public_url = cfg->server.public_url,
                              .public_host = srv->public_host,
                              .public_port = srv->public_port,
                              .public_tls = srv->ssl_ctx != NULL};
}

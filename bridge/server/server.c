/* bridge/server/server.c: the bridge's life: setup, serving (reloads, the file watch), drain, teardown. */
#include "server.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

static void hb_log_startup(const hb_server_t *srv, const char *bootstrap)
{
    const hb_config_t *cfg = srv->cfg;
    for (size_t i = 0; i < cfg->num_endpoints; i++)
        if (cfg->endpoints[i].verify.none)
            hb_log(HB_LOG_WARN, "verify: none: this endpoint publishes every request without checking who sent it",
                   "endpoint", cfg->endpoints[i].id, HB_LOG_END);
        else if (hb_verify_config_keyless(&cfg->endpoints[i].verify))
            hb_log(HB_LOG_WARN, "the endpoint's secret is empty: every request will be refused (Missing secret)",
                   "endpoint", cfg->endpoints[i].id, HB_LOG_END);
    if (cfg->server.h2c)
        hb_log(HB_LOG_WARN,
               "server.h2c: HTTP/2 in cleartext is on. h2o 2.2.5 predates the HTTP/2 Rapid Reset fix: keep this "
               "listener behind a gateway you run (docs/security.md)",
               HB_LOG_END);
    if (srv->embedded != NULL) {
        hb_buf_t tail;
        hb_buf_init(&tail);
        hb_buf_printf(&tail, "hookbridge tail -c %s --brokers %s", cfg->path, bootstrap);
        hb_log(HB_LOG_WARN,
               "EMBEDDED BROKER: kafka.brokers is `embedded`, an in-process mock cluster; nothing is durable and "
               "every event is lost when this process exits. Never use it in production.",
               "bootstrap", bootstrap, "read_events_with", tail.base, HB_LOG_END);
        hb_buf_dispose(&tail);
    }
}

static void hb_server_dispose(hb_server_t *srv)
{
    hb_admin_stop(srv->admin); /* before the publisher and registry it reads */
    hb_spool_stop(srv->spool);
    hb_publisher_free(srv->forwarder);
    hb_spool_free(srv->spool); /* after its producer: the forwarder's last reports come from it */
    hb_publisher_free(srv->publisher);
    hb_embedded_free(srv->embedded);
    hb_reap_retired(srv, 1);
    hb_registry_free(atomic_load(&srv->registry)); /* a reloaded one frees its config with it */
    pthread_mutex_destroy(&srv->registry_lock);
    pthread_mutex_destroy(&srv->start_lock);
    pthread_cond_destroy(&srv->started);
    if (srv->ssl_ctx != NULL)
        SSL_CTX_free(srv->ssl_ctx);
    for (unsigned i = 0; srv->workers != NULL && i < srv->num_workers; i++) {
        free(srv->workers[i].listen_fds);
        free(srv->workers[i].listeners);
    }
    free(srv->workers);
    /* the workers have stopped (joined) or never started: no context reads the configuration any more */
    if (srv->globalconf.hosts != NULL)
        h2o_config_dispose(&srv->globalconf);
}

/* The embedded broker (kafka.brokers: embedded), the producer, the spool; the bootstrap list in *bootstrap. 0 or -1. */
static int hb_setup_kafka(hb_server_t *srv, const char **bootstrap)
{
    const hb_config_t *cfg = srv->cfg;
    char err[512];
    *bootstrap = cfg->kafka.brokers;
    if (strcmp(*bootstrap, "embedded") == 0) {
        if ((srv->embedded = hb_embedded_new(err, sizeof(err))) == NULL) {
            hb_log(HB_LOG_ERROR, "cannot start the embedded broker", "detail", err, HB_LOG_END);
            return -1;
        }
        *bootstrap = hb_embedded_bootstraps(srv->embedded);
    }
    if ((srv->publisher = hb_publisher_new(cfg, *bootstrap, err, sizeof(err))) == NULL) {
        hb_log(HB_LOG_ERROR, "cannot start the Kafka producer", "detail", err, HB_LOG_END);
        return -1;
    }
    if (cfg->spool.path != NULL &&
        ((srv->forwarder = hb_publisher_new_forwarder(cfg, *bootstrap, srv->publisher, err, sizeof(err))) == NULL ||
         (srv->spool = hb_spool_open(cfg->spool.path, cfg->spool.max_bytes, srv->forwarder, err, sizeof(err))) ==
             NULL)) {
        hb_log(HB_LOG_ERROR, "cannot open the spool", "detail", err, HB_LOG_END);
        return -1;
    }
    return 0;
}

/* h2o's global configuration: one host, one path, our handler, the error filter. */
static void hb_setup_h2o(hb_server_t *srv)
{
    const hb_config_t *cfg = srv->cfg;
    h2o_config_init(&srv->globalconf);
    srv->globalconf.server_name = h2o_iovec_init(H2O_STRLIT("hookbridge"));
    /* h2o refuses larger bodies (413) before buffering them; each endpoint's own limit is checked in the pipeline */
    srv->globalconf.max_request_entity_size = srv->max_body_size;
    /* slowloris: h2o's HTTP/1 timer starts when a connection waits for a request (after accept, or after the previous
       answer on a keep-alive connection) and is not pushed back by the bytes that trickle in; it stops only once the
       body is complete, so it bounds slow headers and slow bodies alike, and idle keep-alive connections. The TLS
       handshake gets the same bound. */
    srv->globalconf.http1.req_timeout = cfg->server.request_timeout_ms;
    srv->globalconf.handshake_timeout = cfg->server.request_timeout_ms;
    /* HTTP/2 only where server.h2c asks for it: h2o's default (upgrade_to_http2 = 1) also takes the HTTP/2 preface
       ("prior knowledge") on any connection, so it must be switched off, not merely left alone. Over HTTP/2 h2o's
       own idle timer restarts on every read: the sweep (h2conn.c) applies requestTimeout there. */
    srv->globalconf.http1.upgrade_to_http2 = cfg->server.h2c;
    srv->globalconf.http2.idle_timeout = cfg->server.request_timeout_ms;
    h2o_hostconf_t *hostconf = h2o_config_register_host(&srv->globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *pathconf = h2o_config_register_path(hostconf, "/", 0);
    hb_handler_t *handler = (hb_handler_t *)h2o_create_handler(pathconf, sizeof(*handler));
    handler->super.on_req = hb_on_req;
    handler->srv = srv;
    hb_answer_install_error_filter(hostconf);
}

/* Everything before serving: endpoints, Kafka, TLS, h2o, sockets, workers, the admin listener. 0, or -1 (logged). */
static int hb_setup(hb_server_t *srv, const char **bootstrap)
{
    const hb_config_t *cfg = srv->cfg;
    char err[512];
    hb_registry_t *first = hb_registry_new(cfg, err, sizeof(err));
    atomic_store(&srv->registry, first);
    if (first == NULL) {
        hb_log(HB_LOG_ERROR, "cannot set up the endpoints", "detail", err, HB_LOG_END);
        return -1;
    }
    if (hb_setup_kafka(srv, bootstrap) != 0)
        return -1;
    hb_attach_topics(srv, first);
    srv->max_body_size = cfg->server.max_body_size;
    for (size_t i = 0; i < cfg->num_endpoints; i++)
        if (cfg->endpoints[i].max_body_size > srv->max_body_size)
            srv->max_body_size = cfg->endpoints[i].max_body_size;
    if (hb_setup_tls(srv) != 0)
        return -1;
    hb_setup_h2o(srv);
    if (hb_workers_setup(srv) != 0 || hb_workers_start(srv) != 0)
        return -1;
    hb_log_startup(srv, *bootstrap);
    if (cfg->admin.listen.host != NULL) {
        hb_admin_probe_t probe = hb_admin_probe(srv);
        if ((srv->admin = hb_admin_start(&cfg->admin.listen, &probe, err, sizeof(err))) == NULL) {
            hb_log(HB_LOG_ERROR, "cannot start the admin listener", "detail", err, HB_LOG_END);
            hb_workers_stop(srv);
            return -1;
        }
    }
    return 0;
}

/*
 * Serves until SIGTERM or SIGINT (returned): SIGHUP reloads, and with `watch: true` so does a change of the files the
 * configuration was read from (looked at every second); replaced endpoints are freed once nothing uses them.
 */
static int hb_serve(hb_server_t *srv, const sigset_t *sigs)
{
    uint64_t seen = hb_files_fingerprint(srv->cfg);
    for (unsigned tick_no = 1;; tick_no++) {
        struct timespec tick = {0, 200L * 1000000L};
        int sig = sigtimedwait(sigs, NULL, &tick);
        if (sig == SIGTERM || sig == SIGINT)
            return sig;
        const hb_config_t *live = hb_registry_config(atomic_load(&srv->registry));
        if (sig == SIGHUP) {
            hb_log(HB_LOG_INFO, "reloading", "signal", "SIGHUP", HB_LOG_END);
            hb_reload(srv);
            seen = hb_files_fingerprint(hb_registry_config(atomic_load(&srv->registry)));
        } else if (live->watch && tick_no % 5 == 0 && hb_files_fingerprint(live) != seen) {
            hb_log(HB_LOG_INFO, "reloading", "cause", "a watched file changed", HB_LOG_END);
            hb_reload(srv);
            /* the files of what now serves; a file that did not load is tried again at its next change */
            seen = hb_files_fingerprint(hb_registry_config(atomic_load(&srv->registry)));
        }
        hb_reap_retired(srv, 0);
    }
}

static uint64_t hb_elapsed_ms(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    /* signed: tv_nsec - start.tv_nsec is negative for part of every second (as unsigned, the deadline had passed at
       once and the workers were stopped with reports still due) */
    return (uint64_t)((int64_t)(now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000);
}

/*
 * SIGTERM or SIGINT: /readyz turns 503 now; serve on for drainDelay, while the endpoints controller takes this pod out
 * of the Service (a second signal cuts it short); then stop accepting, let every worker answer what it has in flight
 * (up to shutdownTimeout in all), and flush the producer with the time left.
 */
static void hb_drain(hb_server_t *srv, const sigset_t *sigs, int sig)
{
    const hb_config_t *cfg = srv->cfg;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    char delay[24];
    snprintf(delay, sizeof(delay), "%llu", (unsigned long long)cfg->server.drain_delay_ms);
    hb_log(HB_LOG_INFO, "draining", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT", "drain_delay_ms", delay,
           HB_LOG_END);
    atomic_store(&srv->draining, 1);
    if (cfg->server.drain_delay_ms > 0) {
        uint64_t d = cfg->server.drain_delay_ms < cfg->server.shutdown_timeout_ms ? cfg->server.drain_delay_ms
                                                                                  : cfg->server.shutdown_timeout_ms;
        struct timespec wait = {(time_t)(d / 1000), (long)(d % 1000) * 1000000};
        while (sigtimedwait(sigs, NULL, &wait) < 0 && errno == EINTR)
            ;
    }
    hb_workers_drain(srv);
    uint64_t deadline_ms = cfg->server.shutdown_timeout_ms, elapsed_ms = 0;
    for (;;) {
        unsigned done = 0;
        for (unsigned i = 0; i < srv->num_workers; i++)
            done += atomic_load(&srv->workers[i].done) != 0;
        elapsed_ms = hb_elapsed_ms(&start);
        if (done == srv->num_workers || elapsed_ms >= deadline_ms)
            break;
        usleep(10000);
    }
    hb_workers_stop(srv);
    hb_spool_stop(srv->spool); /* no append can come any more; what is not forwarded stays on disk */
    int left = hb_publisher_flush(srv->publisher, (int)(deadline_ms > elapsed_ms ? deadline_ms - elapsed_ms : 0));
    char outq[16];
    snprintf(outq, sizeof(outq), "%d", hb_publisher_outq_len(srv->publisher));
    hb_log(left == 0 ? HB_LOG_INFO : HB_LOG_WARN, "stopped", "unflushed", outq, HB_LOG_END);
}

int hb_server_run(const hb_config_t *cfg)
{
    hb_server_t srv_storage = {.cfg = cfg}, *srv = &srv_storage;
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* inherited by every thread we start: only sigwait() sees them */
    pthread_mutex_init(&srv->registry_lock, NULL);
    pthread_mutex_init(&srv->start_lock, NULL);
    pthread_cond_init(&srv->started, NULL);
    signal(SIGPIPE, SIG_IGN);

    const char *bootstrap = NULL;
    int ret = 1;
    if (hb_setup(srv, &bootstrap) == 0) {
        char nthreads[16];
        snprintf(nthreads, sizeof(nthreads), "%u", srv->num_workers);
        hb_log(HB_LOG_INFO, "hookbridge ready", "version", HB_VERSION, "threads", nthreads, "brokers", bootstrap,
               HB_LOG_END);
        hb_drain(srv, &sigs, hb_serve(srv, &sigs));
        ret = 0;
    }
    hb_server_dispose(srv);
    /* the workers' loops and contexts are left to the process exit: a worker may still hold sockets mid-write */
    return ret;
}

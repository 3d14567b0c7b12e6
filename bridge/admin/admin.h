/* bridge/admin/admin.h: the admin listener (admin.listen, never the public port): /healthz, /readyz, /metrics. */
#ifndef HB_ADMIN_H
#define HB_ADMIN_H

#include "config.h"
#include "endpoint.h"
#include "publisher.h"
#include "spool.h"

/** What the admin thread asks the server; the callbacks are called on the admin thread and must not block. */
typedef struct hb_admin_probe {
    /** The live registry, held (hb_registry_hold) so that a reload cannot free it under the admin thread. */
    hb_registry_t *(*registry_acquire)(void *ctx);
    void (*registry_release)(void *ctx, hb_registry_t *reg);
    hb_publisher_t *publisher;
    hb_spool_t *spool; /* NULL without spool.path */
    size_t spool_max_bytes;
    void *ctx;
    /** Asks every worker to answer a ping (a message to its loop); a no-op for one whose last ping is pending. */
    void (*ping_workers)(void *ctx);
    /** Milliseconds since the worker that answered a ping least recently did (0 when all are current). */
    uint64_t (*slowest_worker_ms)(void *ctx, unsigned *which);
    /** Requests waiting for their delivery reports. */
    long (*inflight)(void *ctx);
    /** 1 once SIGTERM started the drain. */
    int (*draining)(void *ctx);
    uint64_t readiness_window_ms; /* kafka.readinessWindow */
    const char *public_url;       /* server.publicUrl, or NULL: the URLs to paste into the providers */
    const char *public_host;      /* where the public listener can be reached from here (example test runs) */
    const char *public_port;
    int public_tls; /* the public listener speaks TLS: test runs are not sent */
} hb_admin_probe_t;

typedef struct hb_admin hb_admin_t;

/**
 * Opens the admin listener and starts its thread (an h2o loop of its own, and a thread that refreshes the topics'
 * metadata every few seconds for /readyz). NULL on error, reason in err. Main thread.
 */
hb_admin_t *hb_admin_start(const hb_listen_t *listen, const hb_admin_probe_t *probe, char *err, size_t errlen);
/** Stops both threads and closes the listener. Accepts NULL. Main thread. */
void hb_admin_stop(hb_admin_t *a);
/** Renders the JSON of /api/endpoints into out. */
void hb_admin_endpoints_json(const hb_admin_probe_t *probe, hb_buf_t *out);
/** Renders the Prometheus text of /metrics into out. Pure but for the process statistics. */
void hb_admin_metrics(const hb_admin_probe_t *probe, int ready, hb_buf_t *out);

#endif

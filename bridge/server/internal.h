/*
 * bridge/server/internal.h: what the parts of the server share (libuv's src/unix/internal.h habit): the server, its
 * workers, the tickets that outlive a request, the followed HTTP/2 connections, and the functions each part offers
 * the others. Private to bridge/server/.
 *
 *   server.c    setup, the signal loop, drain                  (main thread)
 *   worker.c    workers' loops, listeners, TLS, the admin probe (workers; main thread at setup)
 *   pipeline.c  hb_on_req: the request as a list of steps      (workers)
 *   publish.c   triggers → records: envelope, key, produce      (workers)
 *   ticket.c    tickets, delivery and spool reports             (workers; the poll and spool threads post)
 *   answer.c    every answer: count, log, send; h2o's own errors (workers)
 *   reqlog.c    the request log line and the last requests      (workers)
 *   h2conn.c    server.h2c: the HTTP/2 connection sweep         (workers)
 *   reload.c    SIGHUP and watch: reload, retirement            (main thread)
 *   cgroup.c    server.threads: auto from the cgroup CPU quota  (main thread)
 */
#ifndef HB_SERVER_INTERNAL_H
#define HB_SERVER_INTERNAL_H

#include <h2o.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>

#include "admin.h"
#include "endpoint.h"
#include "envelope.h"
#include "log.h"
#include "publisher.h"
#include "request.h"
#include "spool.h"

#define HB_MAX_EVENT_ID 128
#define HB_RETRY_AFTER "5"
#define HB_EXIT_GRACE_MS 200 /* after the last answer, for its bytes to leave the socket */
#define HB_SPARES 1024       /* released tickets (and record messages) a worker keeps for its next requests */
#define HB_SCRATCH_KEEP ((size_t)256 * 1024) /* a worker keeps scratch space up to this size between requests */
#define HB_H2_MAX_ABANDONED 100 /* h2o's SETTINGS_MAX_CONCURRENT_STREAMS: more resets than a client may have open */

typedef struct hb_server hb_server_t;
typedef struct hb_ticket hb_ticket_t;
typedef struct hb_record_msg hb_record_msg_t;

/* ---- thread claims, checked ---- */

/** Aborts with the place and the condition: a claim about threads or references that did not hold. */
void hb_assert_fail(const char *file, int line, const char *cond) __attribute__((noreturn));
/* On in every build (a claim broken in production is a bug worth a core dump, and the check costs a compare). */
#define HB_ASSERT(cond) ((cond) ? (void)0 : hb_assert_fail(__FILE__, __LINE__, #cond))

/** The worker whose loop runs on this thread; NULL on any other thread. Set by the worker itself. */
extern __thread struct hb_worker *hb_current_worker;
/* The function runs on w's own thread: the h2o objects and tickets of w are only touched there. */
#define HB_ASSERT_ON_WORKER(w) HB_ASSERT(hb_current_worker == (w))

/* ---- the server and its workers ---- */

typedef struct hb_worker {
    hb_server_t *srv;
    pthread_t thread;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    int *listen_fds;
    h2o_socket_t **listeners;
    size_t num_listeners;
    h2o_multithread_receiver_t delivery_receiver; /* tickets whose report is in */
    h2o_multithread_receiver_t control_receiver;  /* the drain order */
    h2o_multithread_message_t drain_msg;
    h2o_timeout_t delivery_timeout;
    h2o_multithread_receiver_t spool_receiver; /* tickets whose spool append is done */
    msgpack_sbuffer body_sb;                   /* scratch for the body parsed to msgpack (hb_parsed_t) */
    msgpack_zone *body_zone;
    hb_ticket_t *spare_tickets; /* released tickets and record messages, reused: no malloc per request */
    hb_record_msg_t *spare_msgs;
    size_t num_spare_tickets, num_spare_msgs;
    h2o_timeout_t spool_timeout; /* kafka.spoolAfter: spooled endpoints stop waiting for Kafka */
    atomic_long inflight; /* records produced whose report has not been handled yet; written by the worker only */
    h2o_multithread_receiver_t ping_receiver; /* the admin thread's liveness pings */
    h2o_multithread_message_t ping_msg;
    atomic_int ping_pending;
    atomic_llong pong_ms;                       /* monotonic ms of the last ping answered */
    h2o_multithread_receiver_t reload_receiver; /* "a reload happened": past it, no request uses the old registry */
    atomic_uint reload_seen;                    /* the last reload epoch this worker's loop went past */
    int draining;                               /* worker thread only */
    uint64_t exit_at;
    atomic_int done;
    h2o_linklist_t conns; /* server.h2c: the hb_conn_t of this worker's open connections */
    h2o_timeout_t sweep_timeout;
    h2o_timeout_entry_t sweep_entry;
} hb_worker_t;

struct hb_server {
    const hb_config_t *cfg; /* the configuration the process started with: listeners, Kafka, threads, TLS */
    h2o_globalconf_t globalconf;
    _Atomic(hb_registry_t *) registry; /* the live endpoints; a reload swaps in another */
    pthread_mutex_t registry_lock;     /* between the admin thread taking a hold and a reload freeing */
    struct hb_retired {
        hb_registry_t *reg;
        unsigned epoch;
    } retired[16]; /* replaced registries not freed yet; main thread */
    size_t num_retired;
    unsigned epoch;       /* reloads so far */
    size_t max_body_size; /* h2o's limit, fixed at start */
    hb_publisher_t *publisher;
    hb_embedded_t *embedded;
    hb_spool_t *spool;         /* spool.path, opened at start; NULL without */
    hb_publisher_t *forwarder; /* the spool's own producer (records that never time out); NULL without a spool */
    hb_admin_t *admin;
    SSL_CTX *ssl_ctx;
    hb_worker_t *workers;
    unsigned num_workers;
    pthread_mutex_t start_lock; /* workers count themselves ready under it; the main thread waits on started */
    pthread_cond_t started;
    unsigned num_ready;
    atomic_int force_exit;
    atomic_int draining;                           /* SIGTERM came: /readyz says so */
    char public_host[NI_MAXHOST], public_port[16]; /* the first listener, as this host reaches it (test runs) */
};

/* ---- answers (answer.c) ---- */

/** What happened to a request: its log line's outcome, the counter it adds to, the error word of its answer. */
typedef enum hb_outcome {
    HB_OUTCOME_NOT_FOUND,
    HB_OUTCOME_UNAVAILABLE,
    HB_OUTCOME_CLOSING, /* h2c: its connection is being shut down; neither counted nor logged (a flood) */
    HB_OUTCOME_TOO_LARGE,
    HB_OUTCOME_RESPONDED,
    HB_OUTCOME_REJECTED,
    HB_OUTCOME_DUPLICATE,
    HB_OUTCOME_FILTERED_OUT,
    HB_OUTCOME_PUBLISHED,
    HB_OUTCOME_SPOOLED,
} hb_outcome_t;

/** The shape of an answer's body. */
typedef enum hb_answer_form {
    HB_ANSWER_ERROR,       /* {"error": the outcome's word, "reason": text}; a 503 adds Retry-After */
    HB_ANSWER_OK,          /* {"ok":true,"id":…} */
    HB_ANSWER_DUPLICATE,   /* {"ok":true,"id":…,"duplicate":true} */
    HB_ANSWER_UNPUBLISHED, /* {"ok":true,"published":false} */
    HB_ANSWER_RESPOND,     /* the endpoint's respondWith response, rendered */
    HB_ANSWER_HANDSHAKE,   /* a provider preset's handshake answer */
} hb_answer_form_t;

/** One answer to a sender, whichever part of the server gives it. Borrowed pointers. */
typedef struct hb_answer {
    hb_status_t status;
    hb_outcome_t outcome;
    hb_answer_form_t form;
    const char *reason;            /* the log line's reason (also the rejection's counter label); NULL: none */
    const char *text;              /* HB_ANSWER_ERROR: what the sender reads */
    const char *event_id;          /* logged, and in the OK answers; NULL before the request has one */
    const hb_respond_config_t *rw; /* HB_ANSWER_RESPOND */
    h2o_iovec_t rw_body;
    const hb_handshake_t *hs; /* HB_ANSWER_HANDSHAKE */
    int close;                /* ask for Connection: close (the process is going away) */
} hb_answer_t;

/** Where an answered request is logged and counted: its endpoint (NULL before routing), the reloadable settings. */
typedef struct hb_answer_ctx {
    const hb_config_t *cfg;
    hb_endpoint_t *ep;
    const char *trace_id;
    uint64_t received_us;
} hb_answer_ctx_t;

/** Counts the answer on its endpoint, logs it (reqlog.c), and sends it. Worker thread of req. */
void hb_answer(h2o_req_t *req, const hb_answer_ctx_t *ctx, const hb_answer_t *a);
/** The reason phrase of an HTTP status. */
const char *hb_reason_phrase(int status);
/** Installs on hostconf the filter that turns h2o's own text/plain errors (413, 400) into our JSON. Setup. */
void hb_answer_install_error_filter(h2o_hostconf_t *hostconf);

/* ---- the request log (reqlog.c) ---- */

/** Wall-clock µs. */
uint64_t hb_now_us(void);
/** When h2o had the request, in µs. */
uint64_t hb_received_us(const h2o_req_t *req);
/** Monotonic ms. */
int64_t hb_mono_ms(void);
/** The trace id of the request's W3C traceparent into out, or "". */
void hb_trace_id(const h2o_req_t *req, char out[33]);
/**
 * Remembers an answered request among its endpoint's last ones (ep may be NULL), and logs it when it is not 2xx or
 * falls in log.sampleRate. Any thread.
 */
void hb_log_request(const hb_config_t *cfg, hb_endpoint_t *ep, int status, const char *outcome, const char *reason,
                    const char *event_id, const char *trace_id, uint64_t received_us);

/* ---- HTTP/2 connections (h2conn.c) ---- */

/**
 * With server.h2c, each accepted connection is followed (hb_conn_t): over HTTP/2 h2o 2.2.5 bounds neither a slow
 * request nor the requests a client resets while their record is in flight. Worker thread only.
 */
typedef struct hb_conn {
    h2o_linklist_t link; /* in the worker's conns */
    h2o_socket_t *sock;
    uint64_t progress_ms;  /* loop time of the last progress: accepted, a request in, a request being answered */
    unsigned abandoned;    /* requests the client reset while their record was in flight */
    int closing;           /* shut down by us; h2o closes it at its next read or write */
    int http1, busy, slow; /* what the last sweep found: an HTTP/1 connection, one answering, a request too slow */
} hb_conn_t;

/** Starts following an accepted socket. Worker thread. */
void hb_conn_follow(hb_worker_t *w, h2o_socket_t *sock);
/** The entry of a request's connection; NULL when it is not followed (h2c off). Worker thread. */
hb_conn_t *hb_conn_of(h2o_conn_t *conn);
/** Shuts a followed connection down from outside h2o, logging why. Worker thread. */
void hb_conn_shutdown(hb_conn_t *c, hb_log_level_t level, const char *why);
/** Starts the worker's sweep of its HTTP/2 connections (server.requestTimeout over HTTP/2). Worker thread. */
void hb_conn_start_sweep(hb_worker_t *w);

/* ---- tickets (ticket.c) ---- */

/* A ticket's way to the spool (durability: spool). */
typedef enum hb_spool_state {
    HB_TICKET_DIRECT,    /* waiting for Kafka alone */
    HB_TICKET_APPENDING, /* its records are on their way to the spool */
    HB_TICKET_SPOOLED,   /* fsynced in the spool */
    HB_TICKET_REFUSED,   /* the spool is full */
    HB_TICKET_SPOOL_IO   /* the spool could not write */
} hb_spool_state_t;

/*
 * What outlives a request: the request may be gone (client reset) before its delivery report arrives, so the
 * report never touches an h2o_req_t directly. One reference is held by the request's pool (dropped when the pool
 * is cleared), one by each pending record, one by a spool append in flight. Worker thread only: the poll thread only
 * touches the hb_record_msg_t of a record, the spool thread only the append.
 */
struct hb_ticket {
    hb_worker_t *worker;
    h2o_req_t *req; /* NULL once the request is gone */
    h2o_timeout_entry_t timeout;
    rd_kafka_resp_err_t err; /* the first failure among the records, or NO_ERROR */
    int refs;
    int pending;  /* records produced whose report is not handled yet */
    int produced; /* records produced */
    int responded;
    hb_endpoint_t *ep;
    hb_registry_t *reg;            /* ep's registry, held while the ticket lives (a reload may replace it) */
    const hb_respond_config_t *rw; /* answer with this respondWith response instead of {"ok":true} */
    uint64_t received_us;          /* when h2o had the request, for the publish latency */
    char trace_id[33];             /* of the request's traceparent, for the request log line; "" without */
    h2o_iovec_t rw_body;           /* its rendered body, in the request's pool */
    char event_id[HB_MAX_EVENT_ID + 1];
    /* durability: spool: the records, framed before they were produced, go to disk when Kafka is slow or down */
    int spool; /* the endpoint spools */
    hb_spool_state_t spool_state;
    hb_buf_t frames;
    size_t num_frames;
    hb_spool_append_t append;
    h2o_multithread_message_t spool_msg; /* the append is done: back to the worker */
    hb_ticket_t *next_spare;             /* in the worker's spare list */
};

/* One produced record's report, posted from the poll thread to the worker; one per topic of a request. */
struct hb_record_msg {
    hb_delivery_t delivery; /* first: the publisher hands it back */
    h2o_multithread_message_t msg;
    hb_worker_t *worker;
    hb_ticket_t *ticket;
    rd_kafka_resp_err_t err;
    hb_record_msg_t *next_spare; /* in the worker's spare list */
};

/**
 * A ticket for req, with one reference held by the request's pool and a hold on reg; its timer is set for the
 * endpoint's durability. Worker thread.
 */
hb_ticket_t *hb_ticket_open(hb_worker_t *w, h2o_req_t *req, hb_registry_t *reg, hb_endpoint_t *ep);
/** Drops a reference; the last one releases it (to the worker's spares). Worker thread. */
void hb_ticket_release(hb_ticket_t *t);
/** Answers the sender from what the records' reports (or the spool) said; once. Worker thread. */
void hb_ticket_answer(hb_ticket_t *t);
/** Sends the ticket's records to the spool; the answer comes with the fsync. Worker thread. */
void hb_ticket_spool(hb_ticket_t *t);
/** A record message whose report will go to t. Worker thread. */
hb_record_msg_t *hb_record_msg_new(hb_ticket_t *t);
/** Its record was produced: t now waits for one more report (and holds one more reference). Worker thread. */
void hb_record_msg_produced(hb_record_msg_t *m);
/** Returns a record message whose record was not produced. Worker thread. */
void hb_record_msg_unused(hb_record_msg_t *m);
/** Registers the worker's receivers of reports and sets up its timers. Worker thread, at start. */
void hb_tickets_init(hb_worker_t *w);
/** Frees the worker's spares and scratch space when its loop is done. Worker thread. */
void hb_tickets_dispose(hb_worker_t *w);
/** Starts the worker's exit countdown once it drains with nothing in flight. Worker thread. */
void hb_worker_check_exit(hb_worker_t *w);

/* ---- the pipeline (pipeline.c) and publishing (publish.c) ---- */

/** h2o's handler of every request on the public listeners. Worker thread. */
int hb_on_req(h2o_handler_t *self, h2o_req_t *req);

typedef struct hb_handler {
    h2o_handler_t super;
    hb_server_t *srv;
} hb_handler_t;

/*
 * The request body, parsed at most once, only when something needs it, into the worker's scratch buffer and zone
 * (kept from request to request: no allocation once they have grown to the bodies' size).
 */
typedef struct hb_parsed {
    int state;           /* 0: not tried, 1: parsed, -1: none or not parseable */
    msgpack_sbuffer *sb; /* the worker's */
    msgpack_zone *zone;  /* the worker's */
    msgpack_object obj;
} hb_parsed_t;

/** The parsed body, or NULL (none, not JSON or form, too deep: counted on ep). Worker thread. */
const msgpack_object *hb_body_object(hb_parsed_t *pb, const hb_request_t *hreq, hb_endpoint_t *ep);

/** A topic a verified request goes to, with the names of the triggers that route it there. */
typedef struct hb_route {
    void *topic;
    const char **names;
    size_t nnames;
    const hb_template_t *partition_key; /* of the first trigger that has one, else the endpoint's; NULL: the id */
} hb_route_t;

/** The distinct topics of the triggers that match, in the request's pool; how many (0: none matched). Worker. */
size_t hb_route(h2o_req_t *req, hb_endpoint_t *ep, const hb_request_t *hreq, hb_parsed_t *pb, hb_route_t **out);
/**
 * Produces one record per route (and, for a spooled endpoint, frames them too); the ticket collects their reports
 * and answers, perhaps at once. Worker thread.
 */
void hb_publish(hb_server_t *srv, hb_ticket_t *t, const hb_envelope_fields_t *fields, hb_route_t *routes,
                size_t nroutes, const msgpack_object *body);

/* ---- workers (worker.c) ---- */

/** Creates the workers' state and opens every listening socket. 0, or -1 (logged). Main thread. */
int hb_workers_setup(hb_server_t *srv);
/** Starts the workers and waits until each can receive messages. 0, or -1 (logged; none left running). Main. */
int hb_workers_start(hb_server_t *srv);
/** Stops the workers at once (force_exit) and joins them. Main thread. */
void hb_workers_stop(hb_server_t *srv);
/** Tells every worker that a reload happened (epoch): a worker past it uses the new registry. Main thread. */
void hb_workers_reloaded(hb_server_t *srv, unsigned epoch);
/** Sends every worker the drain order. Main thread. */
void hb_workers_drain(hb_server_t *srv);
/** The TLS context of server.tls, or none. 0, or -1 (logged). Main thread. */
int hb_setup_tls(hb_server_t *srv);
/** What the admin listener asks of the server. */
hb_admin_probe_t hb_admin_probe(hb_server_t *srv);

/* ---- reload (reload.c) ---- */

/** The topic handles of a registry's endpoints and triggers (created on first use). Main thread. */
void hb_attach_topics(hb_server_t *srv, hb_registry_t *reg);
/** SIGHUP: reads the configuration again; a bad one is refused and logged. Main thread. */
void hb_reload(hb_server_t *srv);
/** Frees the replaced registries nothing can reach (all: every one, at exit). Main thread. */
void hb_reap_retired(hb_server_t *srv, int all);
/** A fingerprint of the files the configuration was read from (identity, size, mtime). Main thread. */
uint64_t hb_files_fingerprint(const hb_config_t *cfg);

/* ---- server.threads: auto (cgroup.c) ---- */

/** One worker per CPU of the cgroup CPU quota, at most the CPUs the process may run on; why, into source. Main. */
unsigned hb_auto_threads(char *source, size_t srclen);

#endif

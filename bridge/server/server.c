#include "server.h"

#include <errno.h>
#include <h2o.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "endpoint.h"
#include "body.h"
#include "dedupe.h"
#include "envelope.h"
#include "json.h"
#include "log.h"
#include "messages.h"
#include "publisher.h"
#include "spool.h"

#define HB_MAX_EVENT_ID 128
#define HB_RETRY_AFTER "5"
#define HB_EXIT_GRACE_MS 200 /* after the last answer, for its bytes to leave the socket */

typedef struct hb_server hb_server_t;

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
    struct hb_ticket *spare_tickets; /* released tickets and record messages, reused: no malloc per request */
    struct hb_record_msg *spare_msgs;
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
    pthread_barrier_t started;
    atomic_int force_exit;
    atomic_int draining;                           /* SIGTERM came: /readyz says so */
    char public_host[NI_MAXHOST], public_port[16]; /* the first listener, as this host reaches it (test runs) */
};

typedef struct hb_handler {
    h2o_handler_t super;
    hb_server_t *srv;
} hb_handler_t;

/*
 * What outlives a request: the request may be gone (client reset) before its delivery report arrives, so the
 * report never touches an h2o_req_t directly. One reference is held by the request's pool (dropped when the pool
 * is cleared), one by each pending record. Worker thread only: the poll thread only touches the hb_record_msg_t
 * of a record.
 */
typedef enum hb_spool_state {
    HB_TICKET_DIRECT,    /* waiting for Kafka alone */
    HB_TICKET_APPENDING, /* its records are on their way to the spool */
    HB_TICKET_SPOOLED,   /* fsynced in the spool */
    HB_TICKET_REFUSED,   /* the spool is full */
    HB_TICKET_SPOOL_IO   /* the spool could not write */
} hb_spool_state_t;

typedef struct hb_ticket {
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
    struct hb_ticket *next_spare;        /* in the worker's spare list */
} hb_ticket_t;

/* One produced record's report, posted from the poll thread to the worker; one per topic of a request. */
typedef struct hb_record_msg {
    hb_delivery_t delivery; /* first: the publisher hands it back */
    h2o_multithread_message_t msg;
    hb_worker_t *worker;
    struct hb_ticket *ticket;
    rd_kafka_resp_err_t err;
    struct hb_record_msg *next_spare; /* in the worker's spare list */
} hb_record_msg_t;

/* ---- answers ---- */

static const char *hb_reason_phrase(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 307:
        return "Temporary Redirect";
    case 308:
        return "Permanent Redirect";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return status < 300 ? "OK" : status < 400 ? "Redirect" : status < 500 ? "Client Error" : "Server Error";
    }
}

/* Sends a complete JSON answer. Content-length is always set: h2o 2.2.5 closes keep-alive connections otherwise. */
static void hb_send_json(h2o_req_t *req, int status, const char *body, size_t len)
{
    req->res.status = status;
    req->res.reason = hb_reason_phrase(status);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/json"));
    if (status == 503)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, H2O_STRLIT(HB_RETRY_AFTER));
    req->res.content_length = len;
    h2o_send_inline(req, body, len);
}

static void hb_send_error(h2o_req_t *req, int status, const char *error, const char *reason)
{
    hb_buf_t body;
    hb_buf_init(&body);
    hb_buf_puts(&body, "{\"error\":");
    hb_json_cstr(&body, error);
    hb_buf_puts(&body, ",\"reason\":");
    hb_json_cstr(&body, reason);
    hb_buf_puts(&body, "}\n");
    hb_send_json(req, status, body.base, body.len);
    hb_buf_dispose(&body);
}

/*
 * h2o itself answers some requests before our handler runs: a Content-Length over max_request_entity_size (413),
 * a chunked body growing past it (413), broken chunked encoding (400). It writes them as text/plain through the
 * host's fallback path; this filter on that path turns them into our {"error","reason"} JSON.
 */
/* ---- the request log ---- */

static uint64_t hb_now_us(void)
{
    struct timeval now;
    gettimeofday(&now, NULL);
    return (uint64_t)now.tv_sec * 1000000 + (uint64_t)now.tv_usec;
}

static uint64_t hb_received_us(const h2o_req_t *req)
{
    return (uint64_t)req->processed_at.at.tv_sec * 1000000 + (uint64_t)req->processed_at.at.tv_usec;
}

/* The trace id of a W3C traceparent header ("00-<32 hex>-<16 hex>-<2 hex>") into out, or "". */
static void hb_trace_id(const h2o_req_t *req, char out[33])
{
    out[0] = '\0';
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("traceparent"), -1);
    if (i < 0)
        return;
    h2o_iovec_t v = req->headers.entries[i].value;
    if (v.len < 55 || v.base[2] != '-' || v.base[35] != '-')
        return;
    for (size_t k = 0; k < 32; k++) {
        char c = v.base[3 + k];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return;
    }
    memcpy(out, v.base + 3, 32);
    out[32] = '\0';
}

/* A cheap per-thread generator for log sampling (xorshift64*): no lock, no syscall. */
static double hb_sample_draw(void)
{
    static __thread uint64_t state;
    if (state == 0)
        state = hb_now_us() ^ (uint64_t)(uintptr_t)&state;
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return (double)((state * 2685821657736338717u) >> 11) / 9007199254740992.0;
}

/*
 * Every answered request is remembered among its endpoint's last ones, and gets a log line when it is not 2xx or
 * falls in log.sampleRate of the 2xx ones: endpoint, event_id, outcome, reason, status, latency_ms, trace_id. Never a
 * body or a secret.
 */
static void hb_log_request(const hb_config_t *cfg, hb_endpoint_t *ep, int status, const char *outcome,
                           const char *reason, const char *event_id, const char *trace_id, uint64_t received_us)
{
    uint64_t now = hb_now_us();
    if (ep != NULL) /* the status page's last requests */
        hb_endpoint_remember(ep, (int64_t)(received_us / 1000), status, outcome, reason,
                             now > received_us ? now - received_us : 0);
    if (status < 300 && !(cfg->log.sample_rate >= 1 || hb_sample_draw() < cfg->log.sample_rate))
        return;
    const char *endpoint = ep != NULL ? ep->cfg->id : NULL;
    char latency[32], code[8];
    snprintf(latency, sizeof(latency), "%.3f", now > received_us ? (double)(now - received_us) / 1000.0 : 0.0);
    snprintf(code, sizeof(code), "%d", status);
    hb_log(status >= 500 ? HB_LOG_WARN : HB_LOG_INFO, "request", "endpoint", endpoint, "event_id", event_id, "outcome",
           outcome, "reason", reason, "status", code, "latency_ms", latency, "trace_id",
           trace_id != NULL && *trace_id != '\0' ? trace_id : NULL, HB_LOG_END);
}

static void hb_core_error_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t bufcnt,
                               h2o_send_state_t state)
{
    hb_buf_t text, json;
    hb_buf_init(&text);
    hb_buf_init(&json);
    for (size_t i = 0; i < bufcnt; i++)
        hb_buf_append(&text, bufs[i].base, bufs[i].len);
    while (text.len > 0 && (text.base[text.len - 1] == '\n' || text.base[text.len - 1] == '\r'))
        text.len--;
    hb_buf_puts(&json, "{\"error\":");
    hb_json_cstr(&json, req->res.status == 413 ? "too_large" : "bad_request");
    hb_buf_puts(&json, ",\"reason\":");
    hb_json_str(&json, text.base != NULL ? text.base : "", text.len);
    hb_buf_puts(&json, "}\n");
    h2o_iovec_t out = h2o_strdup(&req->pool, json.base, json.len);
    req->res.content_length = out.len;
    hb_buf_dispose(&text);
    hb_buf_dispose(&json);
    h2o_ostream_send_next(self, req, &out, 1, state);
}

static void hb_core_error_setup(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    ssize_t ct = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1);
    if (req->res.status >= 400 && ct != -1 && req->res.headers.entries[ct].value.len >= 10 &&
        memcmp(req->res.headers.entries[ct].value.base, "text/plain", 10) == 0) {
        req->res.headers.entries[ct].value = h2o_iovec_init(H2O_STRLIT("application/json"));
        h2o_ostream_t *ostr = h2o_add_ostream(req, sizeof(*ostr), slot);
        ostr->do_send = hb_core_error_send;
        slot = &ostr->next;
    }
    h2o_setup_next_ostream(req, slot);
}

/* ---- h2c: what h2o 2.2.5 leaves unbounded over HTTP/2 ---- */

/*
 * With server.h2c on, every accepted connection is followed, because over HTTP/2 h2o 2.2.5 bounds neither a slow
 * request (its idle timer restarts on every read, so frames trickled in hold a connection for ever) nor the requests
 * a client resets while their record is in flight (a reset stream no longer counts against its 100 concurrent
 * streams, but the record stays in librdkafka's queue: the Rapid Reset pattern). h2o leaves the socket's on_close hook
 * unused for server connections; it frees the entry. Worker thread only.
 */
typedef struct hb_conn {
    h2o_linklist_t link; /* in the worker's conns */
    h2o_socket_t *sock;
    uint64_t progress_ms;  /* loop time of the last progress: accepted, a request in, a request being answered */
    unsigned abandoned;    /* requests the client reset while their record was in flight */
    int closing;           /* shut down by us; h2o closes it at its next read or write */
    int http1, busy, slow; /* what the last sweep found: an HTTP/1 connection, one answering, a request too slow */
} hb_conn_t;

/* h2o's SETTINGS_MAX_CONCURRENT_STREAMS: more abandoned requests than a client may ever have open at once */
#define HB_H2_MAX_ABANDONED 100

static void hb_conn_on_close(void *data)
{
    hb_conn_t *c = data;
    h2o_linklist_unlink(&c->link);
    free(c);
}

/* The entry of a request's connection; NULL when it is not followed (h2c off). Worker thread. */
static hb_conn_t *hb_conn_of(h2o_conn_t *conn)
{
    h2o_socket_t *sock = conn->callbacks->get_socket != NULL ? conn->callbacks->get_socket(conn) : NULL;
    return sock != NULL && sock->on_close.cb == hb_conn_on_close ? sock->on_close.data : NULL;
}

/*
 * Ends a connection from outside h2o, which has no call for it: shutdown(2) makes its next read see the end (and any
 * write fail), and h2o then closes it as if the client had. Nothing is freed here. Worker thread.
 */
static void hb_conn_shutdown(hb_conn_t *c, hb_log_level_t level, const char *why)
{
    if (c->closing)
        return;
    c->closing = 1;
    int fd = h2o_socket_get_fd(c->sock);
    if (fd >= 0)
        shutdown(fd, SHUT_RDWR);
    struct sockaddr_storage ss;
    char peer[NI_MAXHOST];
    socklen_t sslen = h2o_socket_getpeername(c->sock, (struct sockaddr *)&ss);
    if (sslen == 0 || h2o_socket_getnumerichost((struct sockaddr *)&ss, sslen, peer) == SIZE_MAX)
        peer[0] = '\0';
    hb_log(level, "closing an HTTP/2 connection", "reason", why, "peer", peer, HB_LOG_END);
}

static int hb_sweep_http1(h2o_req_t *req, void *cbdata)
{
    hb_conn_t *c = hb_conn_of(req->conn);
    if (c != NULL)
        c->http1 = 1;
    return 0;
}

static int hb_sweep_http2(h2o_req_t *req, void *cbdata)
{
    const hb_worker_t *w = cbdata;
    hb_conn_t *c = hb_conn_of(req->conn);
    if (c == NULL)
        return 0;
    if (req->processed_at.at.tv_sec != 0) { /* complete, in hb_on_req or being answered */
        c->busy = 1;
        return 0;
    }
    /* still arriving (headers begun or a body coming): h2o stamps a stream when its HEADERS come */
    struct timeval begun = req->timestamps.request_begin_at, now = *h2o_get_timestamp(req->conn->ctx, NULL, NULL);
    int64_t age_ms = (int64_t)(now.tv_sec - begun.tv_sec) * 1000 + (now.tv_usec - begun.tv_usec) / 1000;
    if (begun.tv_sec != 0 && age_ms >= (int64_t)w->srv->cfg->server.request_timeout_ms)
        c->slow = 1;
    return 0;
}

/*
 * server.requestTimeout over HTTP/2, every quarter of it (at most a second): a connection with a request still
 * arriving after requestTimeout, or on which no request came in or was answered for requestTimeout and one more sweep
 * (frames or the preface trickled in, or only PINGs), is closed once nothing on it is being answered. The extra sweep
 * lets h2o's own idle timer (also requestTimeout, restarted by every read) close a merely idle connection first, with
 * a GOAWAY. HTTP/1 connections are left to h2o's own timer. Worker thread.
 */
static void hb_on_sweep(h2o_timeout_entry_t *entry)
{
    hb_worker_t *w = H2O_STRUCT_FROM_MEMBER(hb_worker_t, sweep_entry, entry);
    uint64_t now = h2o_now(w->ctx.loop);
    h2o_linklist_t *node;
    for (node = w->conns.next; node != &w->conns; node = node->next) {
        hb_conn_t *c = H2O_STRUCT_FROM_MEMBER(hb_conn_t, link, node);
        c->http1 = c->busy = c->slow = 0;
    }
    w->srv->globalconf.http1.callbacks.foreach_request(&w->ctx, hb_sweep_http1, w);
    w->srv->globalconf.http2.callbacks.foreach_request(&w->ctx, hb_sweep_http2, w);
    for (node = w->conns.next; node != &w->conns; node = node->next) {
        hb_conn_t *c = H2O_STRUCT_FROM_MEMBER(hb_conn_t, link, node);
        if (c->http1 || c->busy)
            c->progress_ms = now;
        else if (c->slow)
            hb_conn_shutdown(c, HB_LOG_DEBUG, "a request slower than server.requestTimeout");
        else if (now - c->progress_ms >= w->srv->cfg->server.request_timeout_ms + w->sweep_timeout.timeout)
            hb_conn_shutdown(c, HB_LOG_DEBUG, "no request within server.requestTimeout");
    }
    h2o_timeout_link(w->ctx.loop, &w->sweep_timeout, &w->sweep_entry);
}

/* ---- tickets ---- */

#define HB_SPARES 1024 /* released tickets (and record messages) a worker keeps for its next requests */
#define HB_SCRATCH_KEEP ((size_t)256 * 1024) /* a worker keeps scratch space up to this size between requests */

/* A zeroed ticket: a spare one of the worker's (its spool frame buffer kept), else a new one. Worker thread. */
static hb_ticket_t *hb_ticket_new(hb_worker_t *w)
{
    hb_ticket_t *t = w->spare_tickets;
    if (t == NULL)
        return hb_xcalloc(1, sizeof(*t));
    w->spare_tickets = t->next_spare;
    w->num_spare_tickets--;
    hb_buf_t frames = t->frames;
    memset(t, 0, sizeof(*t));
    t->frames = frames;
    t->frames.len = 0;
    return t;
}

static void hb_ticket_release(hb_ticket_t *t)
{
    if (--t->refs > 0)
        return;
    hb_registry_drop(t->reg);
    hb_worker_t *w = t->worker;
    if (w->num_spare_tickets >= HB_SPARES || t->frames.cap > HB_SCRATCH_KEEP) {
        hb_buf_dispose(&t->frames);
        free(t);
        return;
    }
    t->next_spare = w->spare_tickets;
    w->spare_tickets = t;
    w->num_spare_tickets++;
}

/* A zeroed record message, spare or new. Worker thread. */
static hb_record_msg_t *hb_record_msg_new(hb_worker_t *w)
{
    hb_record_msg_t *m = w->spare_msgs;
    if (m == NULL)
        return hb_xcalloc(1, sizeof(*m));
    w->spare_msgs = m->next_spare;
    w->num_spare_msgs--;
    memset(m, 0, sizeof(*m));
    return m;
}

/* Back to the worker's spares (its report was handled, or it was never produced). Worker thread. */
static void hb_record_msg_free(hb_worker_t *w, hb_record_msg_t *m)
{
    if (w->num_spare_msgs >= HB_SPARES) {
        free(m);
        return;
    }
    m->next_spare = w->spare_msgs;
    w->spare_msgs = m;
    w->num_spare_msgs++;
}

/* The worker's spares and scratch space, when its loop is done. Worker thread. */
static void hb_worker_free_spares(hb_worker_t *w)
{
    while (w->spare_tickets != NULL) {
        hb_ticket_t *t = w->spare_tickets;
        w->spare_tickets = t->next_spare;
        hb_buf_dispose(&t->frames);
        free(t);
    }
    while (w->spare_msgs != NULL) {
        hb_record_msg_t *m = w->spare_msgs;
        w->spare_msgs = m->next_spare;
        free(m);
    }
    w->num_spare_tickets = w->num_spare_msgs = 0;
    msgpack_sbuffer_destroy(&w->body_sb);
    msgpack_zone_free(w->body_zone);
    w->body_zone = NULL;
}

/* Sends a respondWith response: its status and headers, and the body rendered from the request. */
static void hb_send_respond(h2o_req_t *req, const hb_respond_config_t *rw, h2o_iovec_t body)
{
    int has_type = 0;
    req->res.status = rw->status;
    req->res.reason = hb_reason_phrase(rw->status);
    for (size_t i = 0; i < rw->num_headers; i++) {
        const hb_kv_t *h = &rw->headers[i];
        /* names come lower-cased and without framing headers from the config: h2o knows its tokens only so */
        h2o_add_header_by_str(&req->pool, &req->res.headers, h->key, strlen(h->key), 1, NULL, h->value,
                              strlen(h->value));
        has_type |= strcmp(h->key, "content-type") == 0;
    }
    if (rw->status == 204 || rw->status == 304) {
        /* these never have a body (RFC 9110 §15.3.5, §15.4.5): one would be read as the start of the next answer
           on the connection. Without a content length h2o writes neither Content-Length nor chunked for them. */
        req->res.content_length = SIZE_MAX;
        h2o_send_inline(req, NULL, 0);
        return;
    }
    if (!has_type)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                       H2O_STRLIT("text/plain; charset=utf-8"));
    req->res.content_length = body.len;
    h2o_send_inline(req, body.base, body.len);
}

/* Sends a provider preset's handshake answer (verify.h), copied into the request's pool. */
static void hb_send_handshake(h2o_req_t *req, const hb_handshake_t *hs)
{
    req->res.status = hs->status;
    req->res.reason = hb_reason_phrase(hs->status);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, hs->content_type,
                   strlen(hs->content_type));
    if (hs->header_name != NULL)
        h2o_add_header_by_str(&req->pool, &req->res.headers, hs->header_name, strlen(hs->header_name), 1, NULL,
                              hs->header_value, strlen(hs->header_value));
    char *body = h2o_mem_alloc_pool(&req->pool, hs->body.len + 1);
    memcpy(body, hs->body.len > 0 ? hs->body.base : "", hs->body.len);
    req->res.content_length = hs->body.len;
    h2o_send_inline(req, body, hs->body.len);
}

/*
 * Answers the sender: 2xx when Kafka has every record (or, for a spooled endpoint, when the spool has them on disk),
 * else 503. Called when the last report is in, at a timeout, or when the spool append is done.
 */
static void hb_ticket_answer(hb_ticket_t *t)
{
    if (t->req == NULL || t->responded)
        return;
    t->responded = 1;
    if (h2o_timeout_is_linked(&t->timeout))
        h2o_timeout_unlink(&t->timeout);
    int delivered = t->produced > 0 && t->pending == 0 && t->err == RD_KAFKA_RESP_ERR_NO_ERROR;
    if (delivered || t->spool_state == HB_TICKET_SPOOLED) {
        if (t->ep->dedupe != NULL) /* Kafka (or the spool) has it: a retry of this id is not published again */
            hb_dedupe_remember(t->ep->dedupe, t->event_id, (int64_t)(hb_now_us() / 1000));
        if (delivered) {
            atomic_fetch_add_explicit(&t->ep->counters.published, 1, memory_order_relaxed);
            uint64_t now_us = hb_now_us();
            hb_latency_observe(&t->ep->latency, now_us > t->received_us ? now_us - t->received_us : 0);
        } else {
            atomic_fetch_add_explicit(&t->ep->counters.spooled, 1, memory_order_relaxed);
        }
        hb_log_request(hb_registry_config(t->reg), t->ep, t->rw != NULL ? t->rw->status : 200,
                       delivered ? "published" : "spooled", NULL, t->event_id, t->trace_id, t->received_us);
        if (t->rw != NULL) {
            hb_send_respond(t->req, t->rw, t->rw_body);
            return;
        }
        hb_buf_t body;
        hb_buf_init(&body);
        hb_buf_puts(&body, "{\"ok\":true,\"id\":");
        hb_json_cstr(&body, t->event_id);
        hb_buf_puts(&body, "}\n");
        hb_send_json(t->req, 200, body.base, body.len);
        hb_buf_dispose(&body);
    } else {
        atomic_fetch_add_explicit(&t->ep->counters.unavailable, 1, memory_order_relaxed);
        /* the log's reason and the sender's text, by why neither Kafka nor the spool took it */
        const char *reason = rd_kafka_err2name(t->err), *text = "Kafka did not accept the event; retry later";
        if (t->spool_state == HB_TICKET_REFUSED) {
            reason = "spool full";
            text = "Kafka did not accept the event and the spool is full; retry later";
        } else if (t->spool_state == HB_TICKET_SPOOL_IO) {
            reason = "spool write failed";
            text = "Kafka did not accept the event and the spool could not store it; retry later";
        }
        hb_log_request(hb_registry_config(t->reg), t->ep, 503, "unavailable", reason, t->event_id, t->trace_id,
                       t->received_us);
        hb_send_error(t->req, 503, "unavailable", text);
    }
}

/* Spool thread: the append is on disk (or refused); the ticket's worker takes it from there. */
static void hb_on_spooled(hb_spool_append_t *append, int status)
{
    hb_ticket_t *t = H2O_STRUCT_FROM_MEMBER(hb_ticket_t, append, append);
    h2o_multithread_send_message(&t->worker->spool_receiver, &t->spool_msg);
}

/* Kafka has not confirmed in time (or failed): the records go to the spool, and the answer comes with the fsync. */
static void hb_ticket_spool(hb_ticket_t *t)
{
    if (!t->spool || t->spool_state != HB_TICKET_DIRECT || t->responded || t->req == NULL)
        return; /* a sender that is gone was told nothing: its retry brings the event again */
    if (h2o_timeout_is_linked(&t->timeout))
        h2o_timeout_unlink(&t->timeout);
    t->spool_state = HB_TICKET_APPENDING;
    t->append = (hb_spool_append_t){
        .data = t->frames.base, .len = t->frames.len, .num_records = t->num_frames, .done = hb_on_spooled};
    t->refs++;
    atomic_fetch_add_explicit(&t->worker->inflight, 1, memory_order_relaxed);
    hb_spool_submit(t->worker->srv->spool, &t->append);
}

static void hb_on_spool_after(h2o_timeout_entry_t *entry)
{
    hb_ticket_spool(H2O_STRUCT_FROM_MEMBER(hb_ticket_t, timeout, entry));
}

static void hb_on_req_dispose(void *p)
{
    hb_ticket_t *t = *(hb_ticket_t **)p;
    if (!t->responded && t->req->version >= 0x200) {
        /* an HTTP/2 client reset the stream while its record is in flight: the record is published all the same, but
           the stream no longer counts against the client's concurrent streams (the Rapid Reset pattern) */
        hb_conn_t *c = hb_conn_of(t->req->conn);
        if (c != NULL && ++c->abandoned > HB_H2_MAX_ABANDONED)
            hb_conn_shutdown(c, HB_LOG_WARN, "the client reset more than 100 requests in flight");
    }
    t->req = NULL;
    if (h2o_timeout_is_linked(&t->timeout))
        h2o_timeout_unlink(&t->timeout);
    hb_ticket_release(t);
}

static void hb_on_delivery_timeout(h2o_timeout_entry_t *entry)
{
    hb_ticket_t *t = H2O_STRUCT_FROM_MEMBER(hb_ticket_t, timeout, entry);
    /* librdkafka reports within message.timeout.ms; this is the backstop that keeps the sender's wait bounded */
    t->err = RD_KAFKA_RESP_ERR__MSG_TIMED_OUT;
    hb_ticket_answer(t);
}

/* Poll thread: hand the report to the worker that owns the request (the ticket is not touched here). */
static void hb_on_delivery(hb_delivery_t *d, rd_kafka_resp_err_t err)
{
    hb_record_msg_t *m = H2O_STRUCT_FROM_MEMBER(hb_record_msg_t, delivery, d);
    m->err = err;
    h2o_multithread_send_message(&m->worker->delivery_receiver, &m->msg);
}

static void hb_worker_check_exit(hb_worker_t *w)
{
    if (w->draining && atomic_load_explicit(&w->inflight, memory_order_relaxed) == 0 && w->exit_at == 0)
        w->exit_at = h2o_now(w->ctx.loop) + HB_EXIT_GRACE_MS;
}

static void hb_on_delivered(h2o_multithread_message_t *msg, void *ctx)
{
    hb_worker_t *w = ctx;
    hb_record_msg_t *m = H2O_STRUCT_FROM_MEMBER(hb_record_msg_t, msg, msg);
    hb_ticket_t *t = m->ticket;
    atomic_fetch_sub_explicit(&w->inflight, 1, memory_order_relaxed);
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR && t->err == RD_KAFKA_RESP_ERR_NO_ERROR)
        t->err = m->err;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR && t->responded && t->spool_state != HB_TICKET_SPOOLED)
        hb_log(HB_LOG_WARN, "delivery failed after the sender was answered", "endpoint", t->ep->cfg->id, "event_id",
               t->event_id, "reason", rd_kafka_err2name(m->err), HB_LOG_END);
    else if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && t->responded && t->err != RD_KAFKA_RESP_ERR_NO_ERROR)
        hb_log(HB_LOG_INFO, "published after the sender was answered 503 (its retry will be a duplicate)", "endpoint",
               t->ep->cfg->id, "event_id", t->event_id, HB_LOG_END);
    hb_record_msg_free(w, m);
    t->pending--;
    if (t->spool && t->err != RD_KAFKA_RESP_ERR_NO_ERROR && t->spool_state == HB_TICKET_DIRECT)
        hb_ticket_spool(t); /* Kafka refused: no point waiting for spoolAfter */
    else if (t->pending == 0 && (t->spool_state != HB_TICKET_APPENDING || t->err == RD_KAFKA_RESP_ERR_NO_ERROR))
        hb_ticket_answer(t);
    hb_ticket_release(t);
}

static void hb_on_delivery_messages(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    hb_worker_t *w = H2O_STRUCT_FROM_MEMBER(hb_worker_t, delivery_receiver, receiver);
    hb_take_messages(messages, hb_on_delivered, w);
    hb_worker_check_exit(w);
}

static void hb_on_spool_done(h2o_multithread_message_t *msg, void *ctx)
{
    hb_worker_t *w = ctx;
    hb_ticket_t *t = H2O_STRUCT_FROM_MEMBER(hb_ticket_t, spool_msg, msg);
    atomic_fetch_sub_explicit(&w->inflight, 1, memory_order_relaxed);
    t->spool_state = t->append.status == HB_SPOOL_OK     ? HB_TICKET_SPOOLED
                     : t->append.status == HB_SPOOL_FULL ? HB_TICKET_REFUSED
                                                         : HB_TICKET_SPOOL_IO;
    hb_ticket_answer(t);
    hb_ticket_release(t);
}

static void hb_on_spool_messages(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    hb_worker_t *w = H2O_STRUCT_FROM_MEMBER(hb_worker_t, spool_receiver, receiver);
    hb_take_messages(messages, hb_on_spool_done, w);
    hb_worker_check_exit(w);
}

/* ---- the pipeline ---- */

static void hb_make_event_id(const hb_endpoint_t *ep, const hb_request_t *hreq, char *out)
{
    const char *name = ep->cfg->event_id_header;
    const hb_header_t *h = name != NULL ? hb_request_header(hreq, name, strlen(name)) : NULL;
    if (h != NULL && h->value_len > 0 && h->value_len <= HB_MAX_EVENT_ID) {
        int printable = 1;
        for (size_t i = 0; i < h->value_len; i++)
            if (h->value[i] <= 0x20 || h->value[i] >= 0x7f)
                printable = 0;
        if (printable) {
            memcpy(out, h->value, h->value_len);
            out[h->value_len] = '\0';
            return;
        }
    }
    /* OpenSSL's DRBG, drawn in blocks: RAND_bytes per request cost a getpid() and ~6.6k instructions */
    static __thread uint8_t pool[4000];
    static __thread size_t left;
    if (left < 10) {
        if (RAND_bytes(pool, sizeof(pool)) != 1)
            abort(); /* a failing DRBG is not something to serve through */
        left = sizeof(pool);
    }
    left -= 10;
    hb_uuid7_format(out, hreq->received_at_ms, pool + left);
}

/*
 * The peer's address as text into out (NI_MAXHOST bytes). IPv4 by hand: h2o_socket_getnumerichost's sprintf cost
 * ~1.7k instructions on every request. 0, or -1 for an address family it does not know.
 */
static int hb_numeric_host(const struct sockaddr *sa, char *out)
{
    if (sa->sa_family == AF_INET) {
        const uint8_t *b = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
        char *o = out;
        for (int i = 0; i < 4; i++) {
            if (i > 0)
                *o++ = '.';
            if (b[i] >= 100)
                *o++ = (char)('0' + b[i] / 100);
            if (b[i] >= 10)
                *o++ = (char)('0' + b[i] / 10 % 10);
            *o++ = (char)('0' + b[i] % 10);
        }
        *o = '\0';
        return 0;
    }
    if (sa->sa_family == AF_INET6)
        return inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, NI_MAXHOST) != NULL ? 0 : -1;
    return -1;
}

static void hb_fill_request(h2o_req_t *req, hb_request_t *hreq, char *addrbuf)
{
    memset(hreq, 0, sizeof(*hreq));
    hreq->method = req->input.method.base;
    hreq->method_len = req->input.method.len;
    hreq->path = req->input.path.base;
    hreq->path_len = req->input.path.len;
    hreq->query_at = req->input.query_at;
    /* h2o moves Host out of req->headers (into authority, set only when the sender sent one); put it back. The
       framing headers h2o consumes (content-length, transfer-encoding, expect, upgrade) stay out: the body is
       there whole, and h2o cannot tell which of them a sender used. */
    hb_header_t *headers = h2o_mem_alloc_pool(&req->pool, sizeof(hb_header_t) * (req->headers.size + 1));
    size_t n = 0;
    if (req->input.authority.base != req->hostconf->authority.hostport.base) /* not h2o's stand-in for none */
        headers[n++] = (hb_header_t){"host", 4, req->input.authority.base, req->input.authority.len};
    for (size_t i = 0; i < req->headers.size; i++) {
        const h2o_header_t *h = &req->headers.entries[i];
        /* a request that came with Upgrade: h2c is served as HTTP/2 stream 1 and keeps its HTTP/1.1 headers; those of
           the upgrade itself are about the connection, which no HTTP/2 request has */
        if (req->version >= 0x200 && (h->name == &H2O_TOKEN_CONNECTION->buf ||
                                      h2o_lcstris(h->name->base, h->name->len, H2O_STRLIT("http2-settings"))))
            continue;
        headers[n++] = (hb_header_t){h->name->base, h->name->len, h->value.base, h->value.len};
    }
    hreq->headers = headers;
    hreq->num_headers = n;
    hreq->body = (const uint8_t *)req->entity.base;
    hreq->body_len = req->entity.base != NULL ? req->entity.len : 0;
    struct sockaddr_storage ss;
    socklen_t sslen = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
    if (sslen == 0 || hb_numeric_host((const struct sockaddr *)&ss, addrbuf) != 0)
        addrbuf[0] = '\0';
    hreq->remote_addr = addrbuf;
    hreq->received_at_ms = (int64_t)req->processed_at.at.tv_sec * 1000 + req->processed_at.at.tv_usec / 1000;
}

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

typedef enum hb_body_kind { HB_BODY_NONE, HB_BODY_JSON, HB_BODY_FORM } hb_body_kind_t;

/* What the body is, from its content type (or its first byte when there is none). */
static hb_body_kind_t hb_body_kind(const hb_request_t *hreq)
{
    if (hreq->body_len == 0)
        return HB_BODY_NONE;
    const hb_header_t *ct = hb_request_header(hreq, "content-type", 12);
    if (ct == NULL) {
        size_t i = 0;
        while (i < hreq->body_len &&
               (hreq->body[i] == ' ' || hreq->body[i] == '\t' || hreq->body[i] == '\r' || hreq->body[i] == '\n'))
            i++;
        return i < hreq->body_len && (hreq->body[i] == '{' || hreq->body[i] == '[') ? HB_BODY_JSON : HB_BODY_NONE;
    }
    size_t len = 0;
    while (len < ct->value_len && ct->value[len] != ';' && ct->value[len] != ' ')
        len++;
    const char *v = ct->value;
    if (hb_strcase_eq(v, len, "application/json", 16) || hb_strcase_eq(v, len, "text/json", 9) ||
        (len > 5 && hb_strcase_eq(v + len - 5, 5, "+json", 5)))
        return HB_BODY_JSON;
    if (hb_strcase_eq(v, len, "application/x-www-form-urlencoded", 33))
        return HB_BODY_FORM;
    return HB_BODY_NONE;
}

static const msgpack_object *hb_body_object(hb_parsed_t *pb, const hb_request_t *hreq, hb_endpoint_t *ep)
{
    if (pb->state != 0)
        return pb->state == 1 ? &pb->obj : NULL;
    pb->state = -1;
    hb_body_kind_t kind = hb_body_kind(hreq);
    if (kind == HB_BODY_NONE)
        return NULL;
    pb->sb->size = 0;
    if (kind == HB_BODY_FORM)
        hb_form_to_msgpack((const char *)hreq->body, hreq->body_len, pb->sb);
    else if (hb_json_to_msgpack((const char *)hreq->body, hreq->body_len, HB_BODY_MAX_DEPTH, pb->sb, NULL, 0) != 0) {
        /* not JSON after all, or too deep: body filters do not match, and the request goes on */
        atomic_fetch_add_explicit(&ep->counters.body_unparsed, 1, memory_order_relaxed);
        return NULL;
    }
    size_t off = 0;
    if (msgpack_unpack(pb->sb->data, pb->sb->size, &off, pb->zone, &pb->obj) != MSGPACK_UNPACK_SUCCESS)
        return NULL;
    pb->state = 1;
    return &pb->obj;
}

static void hb_parsed_dispose(hb_parsed_t *pb)
{
    if (pb->state == 0)
        return;
    msgpack_zone_clear(pb->zone);
    if (pb->sb->alloc > HB_SCRATCH_KEEP) { /* one huge body does not pin its buffer */
        msgpack_sbuffer_destroy(pb->sb);
        msgpack_sbuffer_init(pb->sb);
    }
    pb->sb->size = 0;
}

/* Renders a respondWith body into the request's pool. */
static h2o_iovec_t hb_render_respond(h2o_req_t *req, const hb_respond_config_t *rw, const hb_request_t *hreq,
                                     const msgpack_object *body)
{
    hb_buf_t out;
    hb_buf_init(&out);
    hb_template_render(rw->body, hreq, body, &out);
    h2o_iovec_t r = h2o_strdup(&req->pool, out.base != NULL ? out.base : "", out.len);
    hb_buf_dispose(&out);
    return r;
}

/* The topics a verified request goes to, each with the names of the triggers that route it there. */
typedef struct hb_route {
    void *topic;
    const char **names;
    size_t nnames;
    const hb_template_t *partition_key; /* of the first trigger that has one, else the endpoint's; NULL: the id */
} hb_route_t;

static size_t hb_route(h2o_req_t *req, hb_endpoint_t *ep, const hb_request_t *hreq, hb_parsed_t *pb, hb_route_t **out)
{
    const hb_endpoint_config_t *cfg = ep->cfg;
    hb_route_t *routes = h2o_mem_alloc_pool(&req->pool, sizeof(hb_route_t) * (cfg->num_triggers + 1));
    size_t n = 0;
    if (cfg->num_triggers == 0) {
        routes[0] = (hb_route_t){ep->topic, NULL, 0, cfg->partition_key};
        *out = routes;
        return 1;
    }
    for (size_t i = 0; i < cfg->num_triggers; i++) {
        const hb_trigger_config_t *trig = &cfg->triggers[i];
        if (trig->filter != NULL &&
            !hb_reqfilter_match(trig->filter, hreq,
                                hb_reqfilter_needs_body(trig->filter) ? hb_body_object(pb, hreq, ep) : NULL, NULL))
            continue;
        size_t k;
        for (k = 0; k < n && routes[k].topic != ep->trigger_topics[i]; k++)
            ;
        if (k == n) {
            routes[n++] =
                (hb_route_t){ep->trigger_topics[i], h2o_mem_alloc_pool(&req->pool, sizeof(char *) * cfg->num_triggers),
                             0, cfg->partition_key};
        }
        if (trig->partition_key != NULL && routes[k].partition_key == cfg->partition_key) /* not set by a trigger yet */
            routes[k].partition_key = trig->partition_key;
        routes[k].names[routes[k].nnames++] = trig->name;
    }
    *out = routes;
    return n;
}

static hb_spool_field_t hb_spool_str(const char *s)
{
    return (hb_spool_field_t){s, s != NULL ? strlen(s) : 0};
}

/* Produces one record per route (or, for a spooled endpoint, frames them too); the ticket collects their reports. */
static void hb_publish(hb_server_t *srv, hb_ticket_t *t, const hb_envelope_fields_t *fields, hb_route_t *routes,
                       size_t nroutes, const msgpack_object *body)
{
    hb_worker_t *w = t->worker;
    msgpack_sbuffer *bufs = h2o_mem_alloc_pool(&t->req->pool, sizeof(msgpack_sbuffer) * nroutes);
    hb_envelope_fields_t first = *fields;
    first.triggers = routes[0].names;
    first.num_triggers = routes[0].nnames;
    msgpack_sbuffer_init(&bufs[0]);
    size_t prefix = hb_envelope_encode(&first, &bufs[0]);
    /* every envelope is made before the first is produced: librdkafka owns (and may free) a produced buffer */
    for (size_t i = 1; i < nroutes; i++) {
        msgpack_sbuffer_init(&bufs[i]);
        hb_envelope_retarget(bufs[0].data, prefix, routes[i].names, routes[i].nnames, &bufs[i]);
    }
    /* kafka.format: json: the same envelopes as JSON, for pipelines that read nothing else (started with: it is
       a process setting, not reloadable) */
    const char *content_type = HB_ENVELOPE_CONTENT_TYPE;
    if (srv->cfg->kafka.format_json) {
        content_type = HB_ENVELOPE_JSON_CONTENT_TYPE;
        for (size_t i = 0; i < nroutes; i++) {
            hb_buf_t json;
            hb_buf_init(&json);
            hb_envelope_to_json(bufs[i].data, bufs[i].size, &json, NULL, 0); /* our own encoding: it decodes */
            msgpack_sbuffer_destroy(&bufs[i]);
            bufs[i].size = json.len;
            bufs[i].data = hb_buf_release(&json);
            bufs[i].alloc = bufs[i].size;
        }
    }
    /* a spooled endpoint goes straight to the spool while it holds anything (its events keep their order), and
       while every broker is known to be down (no point waiting spoolAfter) */
    int direct = !t->spool || (hb_spool_backlog(srv->spool) == 0 && !hb_publisher_down(srv->publisher));
    for (size_t i = 0; i < nroutes; i++) {
        if (!t->spool && t->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            msgpack_sbuffer_destroy(&bufs[i]);
            continue;
        }
        /* the record key: the partitionKey's value where it has one (the events of one key keep their order) */
        const char *key = t->event_id;
        size_t key_len = strlen(t->event_id);
        if (routes[i].partition_key != NULL) {
            hb_buf_t k;
            hb_buf_init(&k);
            hb_template_render(routes[i].partition_key, fields->req, body, &k);
            if (k.len > 0) {
                char *copy = h2o_mem_alloc_pool(&t->req->pool, k.len);
                memcpy(copy, k.base, k.len);
                key = copy;
                key_len = k.len;
            }
            hb_buf_dispose(&k);
        }
        hb_record_t rec = {.topic = routes[i].topic,
                           .content_type = content_type,
                           .key = key,
                           .key_len = key_len,
                           .value = bufs[i].data,
                           .value_len = bufs[i].size,
                           .endpoint = t->ep->cfg->id,
                           .event_id = t->event_id,
                           .timestamp_ms = fields->req->received_at_ms};
        const hb_header_t *tp = hb_request_header(fields->req, "traceparent", 11),
                          *ts = hb_request_header(fields->req, "tracestate", 10);
        if (tp != NULL) {
            rec.traceparent = tp->value;
            rec.traceparent_len = tp->value_len;
        }
        if (ts != NULL) {
            rec.tracestate = ts->value;
            rec.tracestate_len = ts->value_len;
        }
        if (t->spool) { /* framed now: once produced, the value is librdkafka's */
            hb_spool_frame(&(hb_spool_record_t){.timestamp_ms = rec.timestamp_ms,
                                                .topic = hb_spool_str(rd_kafka_topic_name(rec.topic)),
                                                .key = {rec.key, rec.key_len},
                                                .content_type = hb_spool_str(rec.content_type),
                                                .endpoint = hb_spool_str(rec.endpoint),
                                                .event_id = hb_spool_str(rec.event_id),
                                                .traceparent = {rec.traceparent, rec.traceparent_len},
                                                .tracestate = {rec.tracestate, rec.tracestate_len},
                                                .value = {rec.value, rec.value_len}},
                           &t->frames);
            t->num_frames++;
        }
        if (!direct || t->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            msgpack_sbuffer_destroy(&bufs[i]);
            continue;
        }
        hb_record_msg_t *m = hb_record_msg_new(w);
        m->delivery.cb = hb_on_delivery;
        m->worker = w;
        m->ticket = t;
        rec.delivery = &m->delivery;
        rd_kafka_resp_err_t err = hb_publisher_produce(srv->publisher, &rec);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            /* queue full or the like: no report will come for this one; the sender gets 503 */
            hb_record_msg_free(w, m);
            msgpack_sbuffer_destroy(&bufs[i]);
            t->err = err;
            continue;
        }
        t->pending++;
        t->produced++;
        t->refs++;
        atomic_fetch_add_explicit(&w->inflight, 1, memory_order_relaxed);
    }
    if (t->spool && (!direct || t->err != RD_KAFKA_RESP_ERR_NO_ERROR))
        hb_ticket_spool(t);
    else if (t->pending == 0)
        hb_ticket_answer(t);
    else
        h2o_timeout_link(w->ctx.loop, t->spool ? &w->spool_timeout : &w->delivery_timeout, &t->timeout);
}

static int hb_on_req(h2o_handler_t *self, h2o_req_t *req)
{
    hb_server_t *srv = ((hb_handler_t *)self)->srv;
    hb_worker_t *w = H2O_STRUCT_FROM_MEMBER(hb_worker_t, ctx, req->conn->ctx);
    static const char prefix[] = "/webhooks/";
    const size_t plen = sizeof(prefix) - 1;
    h2o_iovec_t path = req->path_normalized;
    hb_registry_t *reg = atomic_load_explicit(&srv->registry, memory_order_acquire);
    const hb_config_t *cfg = hb_registry_config(reg); /* the endpoints' and the log's settings, reloadable */
    if (srv->cfg->server.h2c) {
        hb_conn_t *c = hb_conn_of(req->conn);
        if (c != NULL && c->closing) {
            /* shut down, but h2o still parses what it has read: no more work (or records) for this client. Not
               logged: a flood would be one line per stream */
            hb_send_error(req, 503, "unavailable", "this connection is being closed");
            return 0;
        }
        if (c != NULL)
            c->progress_ms = h2o_now(w->ctx.loop);
    }
    char trace_id[33];
    hb_trace_id(req, trace_id);
    if (path.len <= plen || memcmp(path.base, prefix, plen) != 0) {
        hb_log_request(cfg, NULL, 404, "not_found", "not a webhook path", NULL, trace_id, hb_received_us(req));
        hb_send_error(req, 404, "not_found", "webhooks are received at /webhooks/{endpoint id}");
        return 0;
    }
    const char *id = path.base + plen;
    size_t idlen = 0;
    while (plen + idlen < path.len && id[idlen] != '/')
        idlen++;
    hb_endpoint_t *ep = hb_registry_find(reg, id, idlen);
    if (ep == NULL) {
        hb_log_request(cfg, NULL, 404, "not_found", "no endpoint has this id", NULL, trace_id, hb_received_us(req));
        hb_send_error(req, 404, "not_found", "no endpoint has this id");
        return 0;
    }
    if (w->draining) {
        /* the process is going away: tell the sender to come back (to another replica) */
        atomic_fetch_add_explicit(&ep->counters.unavailable, 1, memory_order_relaxed);
        req->http1_is_persistent = 0; /* h2o then writes "connection: close" itself */
        hb_log_request(cfg, ep, 503, "unavailable", "shutting down", NULL, trace_id, hb_received_us(req));
        hb_send_error(req, 503, "unavailable", "shutting down");
        return 0;
    }
    if (req->entity.base != NULL && req->entity.len > ep->cfg->max_body_size) {
        atomic_fetch_add_explicit(&ep->counters.too_large, 1, memory_order_relaxed);
        hb_log_request(cfg, ep, 413, "too_large", "maxBodySize", NULL, trace_id, hb_received_us(req));
        hb_send_error(req, 413, "too_large", "the body is larger than this endpoint's maxBodySize");
        return 0;
    }

    char addrbuf[NI_MAXHOST];
    hb_request_t hreq;
    hb_fill_request(req, &hreq, addrbuf);
    hb_parsed_t pb = {.sb = &w->body_sb, .zone = w->body_zone};
    hb_handshake_t hs = {.status = 0};
    hb_buf_init(&hs.body);
    const hb_respond_config_t *rw = ep->cfg->respond_with, *respond_later = NULL;
    h2o_iovec_t rw_body = {NULL, 0};

    /* 3. respondWith: handshakes are answered before (and, with skipTriggeringRuns, instead of) verification */
    if (rw != NULL &&
        hb_reqfilter_match(rw->filter, &hreq,
                           hb_reqfilter_needs_body(rw->filter) ? hb_body_object(&pb, &hreq, ep) : NULL, NULL)) {
        rw_body =
            hb_render_respond(req, rw, &hreq, hb_template_needs_body(rw->body) ? hb_body_object(&pb, &hreq, ep) : NULL);
        if (rw->skip_triggering_runs || rw->status != 200) {
            atomic_fetch_add_explicit(&ep->counters.responded, 1, memory_order_relaxed);
            hb_log_request(cfg, ep, rw->status, "responded", "respondWith", NULL, trace_id, hb_received_us(req));
            hb_send_respond(req, rw, rw_body);
            goto Exit;
        }
        respond_later = rw; /* a 200 goes on: verify, triggers, publish, then this answer */
    }

    /* 4. verify; a provider's set-up handshake is answered by its preset (unsigned ones before the check) */
    if (respond_later == NULL && hb_verifier_handshake_unsigned(ep->verifier, &hreq, &hs)) {
        atomic_fetch_add_explicit(&ep->counters.responded, 1, memory_order_relaxed);
        hb_log_request(cfg, ep, hs.status, "responded", "handshake", NULL, trace_id, hb_received_us(req));
        hb_send_handshake(req, &hs);
        goto Exit;
    }
    const char *reason = NULL;
    if (hb_verifier_check(ep->verifier, &hreq, &reason) != HB_STATUS_OK) {
        hb_endpoint_count_rejection(ep, reason);
        hb_log_request(cfg, ep, 401, "rejected", reason, NULL, trace_id, hb_received_us(req));
        hb_send_error(req, 401, "unauthorized", reason);
        goto Exit;
    }
    if (hb_verifier_has_signed_handshake(ep->verifier) &&
        hb_verifier_handshake_signed(ep->verifier, &hreq, hb_body_object(&pb, &hreq, ep), &hs)) {
        atomic_fetch_add_explicit(&ep->counters.responded, 1, memory_order_relaxed);
        hb_log_request(cfg, ep, hs.status, "responded", "handshake", NULL, trace_id, hb_received_us(req));
        hb_send_handshake(req, &hs);
        goto Exit;
    }

    /* a retry of an event already published (the sender's delivery id, within the window): 2xx, not again */
    char event_id[HB_MAX_EVENT_ID + 1];
    hb_make_event_id(ep, &hreq, event_id);
    if (ep->dedupe != NULL && hb_dedupe_seen(ep->dedupe, event_id, (int64_t)(hb_now_us() / 1000))) {
        atomic_fetch_add_explicit(&ep->counters.duplicate, 1, memory_order_relaxed);
        hb_log_request(cfg, ep, respond_later != NULL ? respond_later->status : 200, "duplicate", "published before",
                       event_id, trace_id, hb_received_us(req));
        if (respond_later != NULL) {
            hb_send_respond(req, respond_later, rw_body);
        } else {
            hb_buf_t answer;
            hb_buf_init(&answer);
            hb_buf_puts(&answer, "{\"ok\":true,\"id\":");
            hb_json_cstr(&answer, event_id);
            hb_buf_puts(&answer, ",\"duplicate\":true}\n");
            hb_send_json(req, 200, answer.base, answer.len);
            hb_buf_dispose(&answer);
        }
        goto Exit;
    }

    /* 5, 6. parse once; triggers → topics */
    const msgpack_object *body = hb_body_object(&pb, &hreq, ep);
    hb_route_t *routes;
    size_t nroutes = hb_route(req, ep, &hreq, &pb, &routes);
    if (nroutes == 0) {
        atomic_fetch_add_explicit(&ep->counters.filtered_out, 1, memory_order_relaxed);
        hb_log_request(cfg, ep, respond_later != NULL ? respond_later->status : 200, "filtered_out",
                       "no trigger matched", NULL, trace_id, hb_received_us(req));
        if (respond_later != NULL)
            hb_send_respond(req, respond_later, rw_body);
        else
            hb_send_json(req, 200, H2O_STRLIT("{\"ok\":true,\"published\":false}\n"));
        goto Exit;
    }

    /* 7, 8. envelope, publish; 9. the answer comes with the reports */
    hb_ticket_t *t = hb_ticket_new(w);
    t->worker = w;
    t->ep = ep;
    t->reg = reg;
    hb_registry_hold(reg);
    t->req = req;
    t->refs = 1;
    t->rw = respond_later;
    t->received_us = hb_received_us(req);
    memcpy(t->trace_id, trace_id, sizeof(t->trace_id));
    t->rw_body = rw_body;
    t->spool = ep->cfg->spool && srv->spool != NULL;
    t->timeout.cb = t->spool ? hb_on_spool_after : hb_on_delivery_timeout;
    memcpy(t->event_id, event_id, sizeof(t->event_id));
    hb_ticket_t **guard = h2o_mem_alloc_shared(&req->pool, sizeof(*guard), hb_on_req_dispose);
    *guard = t;
    hb_envelope_fields_t fields = {.id = t->event_id,
                                   .endpoint = ep->cfg->id,
                                   .source = ep->cfg->source,
                                   .verified = hb_verifier_scheme(ep->verifier),
                                   .req = &hreq,
                                   .json = body != NULL ? pb.sb->data : NULL,
                                   .json_len = body != NULL ? pb.sb->size : 0,
                                   /* a verified request that says it is a test run (the admin port's example
                                      sender, `hookbridge send-example`) is marked so: consumers may skip it */
                                   .test = hb_request_header(&hreq, HB_TEST_HEADER, strlen(HB_TEST_HEADER)) != NULL,
                                   .redact = ep->redact,
                                   .num_redact = ep->num_redact};
    hb_publish(srv, t, &fields, routes, nroutes, body);
Exit:
    hb_buf_dispose(&hs.body);
    hb_parsed_dispose(&pb);
    return 0;
}

/* ---- workers ---- */

static void hb_on_accept(h2o_socket_t *listener, const char *err)
{
    if (err != NULL)
        return;
    hb_worker_t *w = listener->data;
    h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
    if (sock == NULL)
        return;
    if (w->srv->cfg->server.h2c) {
        hb_conn_t *c = hb_xcalloc(1, sizeof(*c));
        c->sock = sock;
        c->progress_ms = h2o_now(w->ctx.loop);
        sock->on_close.cb = hb_conn_on_close;
        sock->on_close.data = c;
        h2o_linklist_insert(&w->conns, &c->link);
    }
    h2o_accept(&w->accept_ctx, sock);
}

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

static int64_t hb_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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

/* The admin thread's ping reached this worker's loop: it is alive. */
static void hb_on_ping(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    hb_worker_t *w = H2O_STRUCT_FROM_MEMBER(hb_worker_t, ping_receiver, receiver);
    hb_take_messages(messages, NULL, NULL);
    atomic_store(&w->pong_ms, hb_mono_ms());
    atomic_store(&w->ping_pending, 0);
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

static void *hb_worker_main(void *arg)
{
    hb_worker_t *w = arg;
    hb_server_t *srv = w->srv;
    /*
     * Everything of h2o's that owns sockets is created here, on the thread that runs it: h2o's socket buffers
     * recycle through thread-local allocators, and a context set up on another thread would share that thread's.
     */
    h2o_context_init(&w->ctx, h2o_evloop_create(), &srv->globalconf);
    w->accept_ctx.ctx = &w->ctx;
    w->accept_ctx.hosts = srv->globalconf.hosts;
    w->accept_ctx.ssl_ctx = srv->ssl_ctx;
    h2o_multithread_register_receiver(w->ctx.queue, &w->delivery_receiver, hb_on_delivery_messages);
    h2o_multithread_register_receiver(w->ctx.queue, &w->control_receiver, hb_on_control);
    h2o_multithread_register_receiver(w->ctx.queue, &w->ping_receiver, hb_on_ping);
    h2o_multithread_register_receiver(w->ctx.queue, &w->reload_receiver, hb_on_reload);
    h2o_multithread_register_receiver(w->ctx.queue, &w->spool_receiver, hb_on_spool_messages);
    msgpack_sbuffer_init(&w->body_sb);
    w->body_zone = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);
    atomic_store(&w->pong_ms, hb_mono_ms());
    /* a second past librdkafka's own message.timeout.ms, which normally answers first */
    h2o_timeout_init(w->ctx.loop, &w->delivery_timeout, srv->cfg->kafka.delivery_timeout_ms + 1000);
    h2o_timeout_init(w->ctx.loop, &w->spool_timeout, srv->cfg->kafka.spool_after_ms);
    h2o_linklist_init_anchor(&w->conns);
    if (srv->cfg->server.h2c) {
        uint64_t period = srv->cfg->server.request_timeout_ms / 4;
        h2o_timeout_init(w->ctx.loop, &w->sweep_timeout, period < 100 ? 100 : period > 1000 ? 1000 : period);
        w->sweep_entry.cb = hb_on_sweep;
        h2o_timeout_link(w->ctx.loop, &w->sweep_timeout, &w->sweep_entry);
    }
    for (size_t i = 0; i < w->num_listeners; i++) {
        w->listeners[i] = h2o_evloop_socket_create(w->ctx.loop, w->listen_fds[i], H2O_SOCKET_FLAG_DONT_READ);
        w->listeners[i]->data = w;
        h2o_socket_read_start(w->listeners[i], hb_on_accept);
    }
    pthread_barrier_wait(&srv->started);
    for (;;) {
        if (atomic_load(&w->srv->force_exit))
            break;
        if (w->draining && w->exit_at != 0 && h2o_now(w->ctx.loop) >= w->exit_at)
            break;
        h2o_evloop_run(w->ctx.loop, w->draining ? 50 : INT32_MAX);
    }
    hb_worker_free_spares(w);
    atomic_store(&w->done, 1);
    return NULL;
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
        int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), on = 1;
        if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
            setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0 ||
            bind(fd, (struct sockaddr *)&addr, addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
            char port[16];
            snprintf(port, sizeof(port), "%s", la->port);
            hb_log(HB_LOG_ERROR, "cannot listen", "host", la->host, "port", port, "detail", strerror(errno),
                   HB_LOG_END);
            if (fd >= 0)
                close(fd);
            return -1;
        }
        if (i == 0) {
            /* port 0: every worker must share the port the kernel picked for the first */
            getsockname(fd, (struct sockaddr *)&addr, &addrlen);
            char host[NI_MAXHOST], port[16];
            size_t hl = h2o_socket_getnumerichost((struct sockaddr *)&addr, addrlen, host);
            snprintf(port, sizeof(port), "%d", h2o_socket_getport((struct sockaddr *)&addr));
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
                   srv->ssl_ctx != NULL ? "https" : "http", "protocols",
                   srv->cfg->server.h2c ? "http/1.1, h2c" : "http/1.1", HB_LOG_END);
        }
        srv->workers[i].listen_fds[slot] = fd;
    }
    return 0;
}

/* Up to size - 1 bytes of a small file (a cgroup or /proc entry), NUL-terminated; the length, or -1. */
static ssize_t hb_read_small(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return n;
}

/* The CPU quota of the cgroup directory dir, in CPUs rounded up (0: none); its text into text. */
static int hb_cgroup_quota_at(const char *dir, int v2, char *text, size_t size)
{
    char path[PATH_MAX + 32];
    if (v2) {
        snprintf(path, sizeof(path), "%s/cpu.max", dir);
        if (hb_read_small(path, text, size) <= 0)
            return 0;
    } else {
        char quota[32], period[32];
        snprintf(path, sizeof(path), "%s/cpu.cfs_quota_us", dir);
        if (hb_read_small(path, quota, sizeof(quota)) <= 0)
            return 0;
        snprintf(path, sizeof(path), "%s/cpu.cfs_period_us", dir);
        if (hb_read_small(path, period, sizeof(period)) <= 0)
            return 0;
        quota[strcspn(quota, "\n")] = '\0';
        period[strcspn(period, "\n")] = '\0';
        snprintf(text, size, "%s %s", quota, period);
    }
    text[strcspn(text, "\n")] = '\0';
    int n = hb_cpu_quota_count(text, strlen(text));
    return n > 0 ? n : 0;
}

/*
 * The lowest CPU quota from the process's cgroup (cg, under the hierarchy mounted at mount) up to the root of the
 * mount, where a parent's (a Kubernetes pod's) may be lower; 0 when none. Without a cgroup namespace the mount may
 * hold only the container's own cgroup, not the host's path to it: the walk then ends at the mount's root, which
 * is that cgroup.
 */
static int hb_cgroup_quota(const char *mount, const char *cg, int v2, char *source, size_t srclen)
{
    char dir[PATH_MAX], text[96];
    size_t root = strlen(mount);
    int best = 0;
    if ((size_t)snprintf(dir, sizeof(dir), "%s%s", mount, cg != NULL && strcmp(cg, "/") != 0 ? cg : "") >= sizeof(dir))
        snprintf(dir, sizeof(dir), "%s", mount);
    for (;;) {
        int n = hb_cgroup_quota_at(dir, v2, text, sizeof(text));
        if (n > 0 && (best == 0 || n < best)) {
            best = n;
            snprintf(source, srclen, "cgroup %s %s/%s: %s", v2 ? "v2" : "v1", dir,
                     v2 ? "cpu.max" : "cpu.cfs_quota_us cpu.cfs_period_us", text);
        }
        char *slash = strrchr(dir, '/');
        if (strlen(dir) <= root || slash == NULL)
            break;
        *slash = '\0';
    }
    return best;
}

/*
 * server.threads: auto. One worker per CPU the process may use: its cgroup's CPU quota rounded up (a Kubernetes
 * limits.cpu of 1500m is 2) — cgroup v2's cpu.max, else cgroup v1's cpu.cfs_quota_us over cpu.cfs_period_us — and
 * never more than the CPUs it may run on (sched_getaffinity: a cpuset, taskset), which is also the answer without a
 * quota. Says where the number came from in source. Main thread, at start.
 */
static unsigned hb_auto_threads(char *source, size_t srclen)
{
    char text[4096];
    int quota = 0;
    if (hb_read_small("/proc/self/cgroup", text, sizeof(text)) > 0) {
        char *cg = hb_cgroup_path(text, strlen(text), NULL);
        quota = hb_cgroup_quota("/sys/fs/cgroup", cg, 1, source, srclen);
        free(cg);
        static const char *const v1[] = {"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"};
        cg = hb_cgroup_path(text, strlen(text), "cpu");
        for (size_t i = 0; i < HB_ARRAY_SIZE(v1) && quota == 0; i++)
            quota = hb_cgroup_quota(v1[i], cg, 0, source, srclen);
        free(cg);
    }
    cpu_set_t set;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    int cpus = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : online > 0 ? (int)online : 1;
    if (quota == 0)
        snprintf(source, srclen, "the CPUs it may run on (no cgroup CPU quota)");
    else if (cpus < quota)
        snprintf(source, srclen, "the CPUs it may run on (fewer than its cgroup CPU quota, %d)", quota);
    if (quota == 0 || cpus < quota)
        quota = cpus;
    return quota < 1 ? 1 : quota > 1024 ? 1024 : (unsigned)quota;
}

static int hb_setup_tls(hb_server_t *srv)
{
    const hb_config_t *cfg = srv->cfg;
    if (cfg->server.tls_cert_file == NULL)
        return 0;
    srv->ssl_ctx = SSL_CTX_new(TLS_server_method());
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

/* The topic handles of a registry's endpoints and triggers (created on first use). Main thread. */
static void hb_attach_topics(hb_server_t *srv, hb_registry_t *reg)
{
    for (size_t i = 0; i < hb_registry_size(reg); i++) {
        hb_endpoint_t *ep = hb_registry_at(reg, i);
        ep->topic = hb_publisher_topic(srv->publisher, ep->cfg->topic);
        for (size_t t = 0; t < ep->cfg->num_triggers; t++)
            ep->trigger_topics[t] = hb_publisher_topic(srv->publisher, ep->cfg->triggers[t].topic);
    }
}

/* Frees the replaced registries that nothing can reach any more: every worker went past their reload, no holder. */
static void hb_reap_retired(hb_server_t *srv, int all)
{
    pthread_mutex_lock(&srv->registry_lock);
    size_t kept = 0;
    for (size_t i = 0; i < srv->num_retired; i++) {
        struct hb_retired r = srv->retired[i];
        int passed = 1;
        for (unsigned w = 0; w < srv->num_workers && !all; w++)
            passed &= atomic_load(&srv->workers[w].done) || atomic_load(&srv->workers[w].reload_seen) >= r.epoch;
        if (all || (passed && hb_registry_holders(r.reg) == 0))
            hb_registry_free(r.reg);
        else
            srv->retired[kept++] = r;
    }
    srv->num_retired = kept;
    pthread_mutex_unlock(&srv->registry_lock);
}

/* What a reload cannot change: it is logged, and the rest applies. */
static void hb_warn_restart_only(const hb_config_t *old, const hb_config_t *neu, size_t max_body)
{
    const char *changed = NULL;
    if (strcmp(old->kafka.brokers, neu->kafka.brokers) != 0)
        changed = "kafka.brokers";
    else if (old->kafka.num_producer != neu->kafka.num_producer ||
             old->kafka.delivery_timeout_ms != neu->kafka.delivery_timeout_ms ||
             old->kafka.format_json != neu->kafka.format_json)
        changed = "kafka.producer, kafka.deliveryTimeout or kafka.format";
    else if (old->server.num_listen != neu->server.num_listen || old->server.threads != neu->server.threads ||
             old->server.request_timeout_ms != neu->server.request_timeout_ms || old->server.h2c != neu->server.h2c ||
             (old->server.tls_cert_file == NULL) != (neu->server.tls_cert_file == NULL) ||
             (old->admin.listen.host == NULL) != (neu->admin.listen.host == NULL))
        changed = "server.listen, server.threads, server.requestTimeout, server.h2c, server.tls or admin.listen";
    if (changed != NULL)
        hb_log(HB_LOG_WARN, "reload: this change takes a restart; the rest applies", "keys", changed, HB_LOG_END);
    for (size_t i = 0; i < neu->num_endpoints; i++)
        if (neu->endpoints[i].max_body_size > max_body)
            hb_log(HB_LOG_WARN, "reload: maxBodySize above the one the process started with takes a restart",
                   "endpoint", neu->endpoints[i].id, HB_LOG_END);
}

/*
 * SIGHUP: reads the configuration (and its secret files) again. A configuration that does not validate, or whose
 * keys or plugins do not load, is refused and logged; the old one keeps serving. Otherwise the new endpoints take
 * over at once, and requests in flight finish with the endpoints they started with. Main thread.
 */
static void hb_reload(hb_server_t *srv)
{
    hb_buf_t errors;
    hb_buf_init(&errors);
    hb_config_t *cfg = hb_config_load(srv->cfg->path, &errors);
    char err[512];
    hb_registry_t *reg = cfg != NULL ? hb_registry_new(cfg, err, sizeof(err)) : NULL;
    for (size_t i = 0; reg != NULL && srv->spool == NULL && i < cfg->num_endpoints; i++)
        if (cfg->endpoints[i].spool) {
            snprintf(err, sizeof(err),
                     "endpoint \"%s\" spools, and the process started without spool.path: that "
                     "takes a restart",
                     cfg->endpoints[i].id);
            hb_registry_free(reg);
            reg = NULL;
        }
    if (reg == NULL || srv->num_retired == HB_ARRAY_SIZE(srv->retired)) {
        hb_log(HB_LOG_ERROR, "reload refused; the running configuration stays", "detail",
               cfg == NULL   ? errors.base
               : reg == NULL ? err
                             : "too many reloads still draining",
               HB_LOG_END);
        hb_registry_free(reg);
        if (reg == NULL)
            hb_config_free(cfg);
        hb_buf_dispose(&errors);
        return;
    }
    hb_buf_dispose(&errors);
    hb_registry_own_config(reg, cfg);
    hb_warn_restart_only(srv->cfg, cfg, srv->max_body_size);
    hb_attach_topics(srv, reg);
    hb_log_set_level((hb_log_level_t)cfg->log.level);
    pthread_mutex_lock(&srv->registry_lock);
    hb_registry_t *old = atomic_exchange(&srv->registry, reg);
    srv->retired[srv->num_retired++] = (struct hb_retired){old, ++srv->epoch};
    pthread_mutex_unlock(&srv->registry_lock);
    for (unsigned i = 0; i < srv->num_workers; i++) {
        hb_reload_msg_t *m = hb_xcalloc(1, sizeof(*m));
        m->epoch = srv->epoch;
        h2o_multithread_send_message(&srv->workers[i].reload_receiver, &m->msg);
    }
    char n[16];
    snprintf(n, sizeof(n), "%zu", cfg->num_endpoints);
    hb_log(HB_LOG_INFO, "reloaded", "endpoints", n, HB_LOG_END);
}

/*
 * A fingerprint of what the live configuration was read from (the file and its secretFiles): identity, size and
 * modification time, following symlinks, as Kubernetes swaps a mounted ConfigMap's or Secret's files. Main thread.
 */
static uint64_t hb_files_fingerprint(const hb_config_t *cfg)
{
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < cfg->num_files; i++) {
        struct stat st;
        uint64_t parts[5] = {0};
        if (stat(cfg->files[i], &st) == 0) {
            parts[0] = (uint64_t)st.st_dev;
            parts[1] = (uint64_t)st.st_ino;
            parts[2] = (uint64_t)st.st_size;
            parts[3] = (uint64_t)st.st_mtim.tv_sec;
            parts[4] = (uint64_t)st.st_mtim.tv_nsec;
        }
        for (size_t k = 0; k < 5; k++)
            h = (h ^ parts[k]) * 1099511628211u;
    }
    return h;
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

int hb_server_run(const hb_config_t *cfg)
{
    hb_server_t srv_storage = {.cfg = cfg}, *srv = &srv_storage;
    char err[512];
    int ret = 1;

    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* inherited by every thread we start: only sigwait() sees them */
    pthread_mutex_init(&srv->registry_lock, NULL);
    signal(SIGPIPE, SIG_IGN);

    hb_registry_t *first = hb_registry_new(cfg, err, sizeof(err));
    atomic_store(&srv->registry, first);
    if (first == NULL) {
        hb_log(HB_LOG_ERROR, "cannot set up the endpoints", "detail", err, HB_LOG_END);
        goto Exit;
    }
    const char *bootstrap = cfg->kafka.brokers;
    if (strcmp(bootstrap, "embedded") == 0) {
        if ((srv->embedded = hb_embedded_new(err, sizeof(err))) == NULL) {
            hb_log(HB_LOG_ERROR, "cannot start the embedded broker", "detail", err, HB_LOG_END);
            goto Exit;
        }
        bootstrap = hb_embedded_bootstraps(srv->embedded);
    }
    srv->publisher = hb_publisher_new(cfg, bootstrap, err, sizeof(err));
    if (srv->publisher == NULL) {
        hb_log(HB_LOG_ERROR, "cannot start the Kafka producer", "detail", err, HB_LOG_END);
        goto Exit;
    }
    if (cfg->spool.path != NULL) {
        if ((srv->forwarder = hb_publisher_new_forwarder(cfg, bootstrap, srv->publisher, err, sizeof(err))) == NULL ||
            (srv->spool = hb_spool_open(cfg->spool.path, cfg->spool.max_bytes, srv->forwarder, err, sizeof(err))) ==
                NULL) {
            hb_log(HB_LOG_ERROR, "cannot open the spool", "detail", err, HB_LOG_END);
            goto Exit;
        }
    }
    size_t max_body = cfg->server.max_body_size;
    hb_attach_topics(srv, first);
    for (size_t i = 0; i < cfg->num_endpoints; i++)
        if (cfg->endpoints[i].max_body_size > max_body)
            max_body = cfg->endpoints[i].max_body_size;
    srv->max_body_size = max_body;
    if (hb_setup_tls(srv) != 0)
        goto Exit;

    h2o_config_init(&srv->globalconf);
    srv->globalconf.server_name = h2o_iovec_init(H2O_STRLIT("hookbridge"));
    /* h2o refuses larger bodies (413) before buffering them; each endpoint's own limit is checked in hb_on_req */
    srv->globalconf.max_request_entity_size = max_body;
    /* slowloris: h2o's HTTP/1 timer starts when a connection waits for a request (after accept, or after the previous
       answer on a keep-alive connection) and is not pushed back by the bytes that trickle in; it stops only once the
       body is complete, so it bounds slow headers and slow bodies alike, and idle keep-alive connections. The TLS
       handshake gets the same bound. */
    srv->globalconf.http1.req_timeout = cfg->server.request_timeout_ms;
    srv->globalconf.handshake_timeout = cfg->server.request_timeout_ms;
    /* HTTP/2 only where server.h2c asks for it: h2o's default (upgrade_to_http2 = 1) also takes the HTTP/2 preface
       ("prior knowledge") on any connection, so it must be switched off, not merely left alone. Over HTTP/2 h2o's
       own idle timer restarts on every read: hb_on_sweep applies requestTimeout there. */
    srv->globalconf.http1.upgrade_to_http2 = cfg->server.h2c;
    srv->globalconf.http2.idle_timeout = cfg->server.request_timeout_ms;
    h2o_hostconf_t *hostconf = h2o_config_register_host(&srv->globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *pathconf = h2o_config_register_path(hostconf, "/", 0);
    hb_handler_t *handler = (hb_handler_t *)h2o_create_handler(pathconf, sizeof(*handler));
    handler->super.on_req = hb_on_req;
    handler->srv = srv;
    h2o_create_filter(&hostconf->fallback_path, sizeof(h2o_filter_t))->on_setup_ostream = hb_core_error_setup;

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
        w->listeners = hb_xcalloc(w->num_listeners, sizeof(h2o_socket_t *));
    }
    for (size_t l = 0; l < cfg->server.num_listen; l++)
        if (hb_open_listeners(srv, &cfg->server.listen[l], l) != 0)
            goto Exit;

    pthread_barrier_init(&srv->started, NULL, srv->num_workers + 1);
    for (unsigned i = 0; i < srv->num_workers; i++)
        pthread_create(&srv->workers[i].thread, NULL, hb_worker_main, &srv->workers[i]);
    pthread_barrier_wait(&srv->started); /* every worker can now receive messages */
    hb_log_startup(srv, bootstrap);
    char nthreads[16];
    snprintf(nthreads, sizeof(nthreads), "%u", srv->num_workers);
    if (cfg->admin.listen.host != NULL) {
        hb_admin_probe_t probe = {.registry_acquire = hb_admin_registry_acquire,
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
        if ((srv->admin = hb_admin_start(&cfg->admin.listen, &probe, err, sizeof(err))) == NULL) {
            hb_log(HB_LOG_ERROR, "cannot start the admin listener", "detail", err, HB_LOG_END);
            atomic_store(&srv->force_exit, 1);
            for (unsigned i = 0; i < srv->num_workers; i++)
                h2o_multithread_send_message(&srv->workers[i].control_receiver, &srv->workers[i].drain_msg);
            for (unsigned i = 0; i < srv->num_workers; i++)
                pthread_join(srv->workers[i].thread, NULL);
            goto Exit;
        }
    }
    hb_log(HB_LOG_INFO, "hookbridge ready", "version", HB_VERSION, "threads", nthreads, "brokers", bootstrap,
           HB_LOG_END);

    /* serve: SIGHUP reloads; replaced endpoints are freed once nothing uses them; SIGTERM or SIGINT drains */
    /* with `watch: true`, a change of the files it was read from reloads too (looked at every second) */
    int sig = 0;
    uint64_t seen = hb_files_fingerprint(cfg);
    for (unsigned tick_no = 1;; tick_no++) {
        struct timespec tick = {0, 200L * 1000000L};
        sig = sigtimedwait(&sigs, NULL, &tick);
        if (sig == SIGTERM || sig == SIGINT)
            break;
        const hb_config_t *live = hb_registry_config(atomic_load(&srv->registry));
        if (sig == SIGHUP) {
            hb_log(HB_LOG_INFO, "reloading", "signal", "SIGHUP", HB_LOG_END);
            hb_reload(srv);
            seen = hb_files_fingerprint(hb_registry_config(atomic_load(&srv->registry)));
        } else if (live->watch && tick_no % 5 == 0) {
            uint64_t now_seen = hb_files_fingerprint(live);
            if (now_seen != seen) {
                hb_log(HB_LOG_INFO, "reloading", "cause", "a watched file changed", HB_LOG_END);
                hb_reload(srv);
                /* the files of what now serves; a file that did not load is tried again at its next change */
                seen = hb_files_fingerprint(hb_registry_config(atomic_load(&srv->registry)));
            }
        }
        hb_reap_retired(srv, 0);
    }
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    char delay[24];
    snprintf(delay, sizeof(delay), "%llu", (unsigned long long)cfg->server.drain_delay_ms);
    hb_log(HB_LOG_INFO, "draining", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT", "drain_delay_ms", delay,
           HB_LOG_END);
    /* /readyz turns 503 now; serve on for drainDelay, while the endpoints controller takes this pod out of the
       Service (a second signal cuts it short), then stop accepting */
    atomic_store(&srv->draining, 1);
    if (cfg->server.drain_delay_ms > 0) {
        uint64_t d = cfg->server.drain_delay_ms < cfg->server.shutdown_timeout_ms ? cfg->server.drain_delay_ms
                                                                                  : cfg->server.shutdown_timeout_ms;
        struct timespec wait = {(time_t)(d / 1000), (long)(d % 1000) * 1000000};
        while (sigtimedwait(&sigs, NULL, &wait) < 0 && errno == EINTR)
            ;
    }

    /* stop accepting, let every worker answer what it has in flight, then flush */
    for (unsigned i = 0; i < srv->num_workers; i++)
        h2o_multithread_send_message(&srv->workers[i].control_receiver, &srv->workers[i].drain_msg);
    uint64_t deadline_ms = cfg->server.shutdown_timeout_ms, elapsed_ms = 0;
    for (;;) {
        unsigned done = 0;
        for (unsigned i = 0; i < srv->num_workers; i++)
            done += atomic_load(&srv->workers[i].done) != 0;
        clock_gettime(CLOCK_MONOTONIC, &now);
        /* signed: tv_nsec - start.tv_nsec is negative for part of every second (as unsigned, the deadline had
           passed at once and the workers were stopped with reports still due) */
        elapsed_ms = (uint64_t)((int64_t)(now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
        if (done == srv->num_workers || elapsed_ms >= deadline_ms)
            break;
        usleep(10000);
    }
    atomic_store(&srv->force_exit, 1);
    for (unsigned i = 0; i < srv->num_workers; i++)
        pthread_join(srv->workers[i].thread, NULL);
    hb_spool_stop(srv->spool); /* no append can come any more; what is not forwarded stays on disk */
    int left = hb_publisher_flush(srv->publisher, (int)(deadline_ms > elapsed_ms ? deadline_ms - elapsed_ms : 0));
    char outq[16];
    snprintf(outq, sizeof(outq), "%d", hb_publisher_outq_len(srv->publisher));
    hb_log(left == 0 ? HB_LOG_INFO : HB_LOG_WARN, "stopped", "unflushed", outq, HB_LOG_END);
    ret = 0;

Exit:
    hb_server_dispose(srv);
    /* the workers' loops and contexts are left to the process exit: a worker may still hold sockets mid-write */
    return ret;
}

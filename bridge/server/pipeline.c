/*
 * bridge/server/pipeline.c: the way of one request (DESIGN §1) as a list of steps. Each step either lets the request
 * go on (HB_STATUS_NEXT), answers it at once (any other status: the step has described the answer, and hb_on_req
 * counts, logs and sends it in one place), or hands it to a ticket that answers later (HB_STATUS_PENDING).
 */
#include <arpa/inet.h>
#include <openssl/rand.h>
#include <string.h>

#include "body.h"
#include "dedupe.h"
#include "internal.h"
#include "testrun.h"

/* One request on its way through the steps; on the worker's stack. */
typedef struct hb_exchange {
    hb_server_t *srv;
    hb_worker_t *w;
    h2o_req_t *req;
    hb_registry_t *reg;     /* the live registry, loaded once at the start */
    const hb_config_t *cfg; /* the endpoints' and the log's settings, reloadable */
    hb_endpoint_t *ep;      /* NULL until routed */
    char trace_id[33];
    char addrbuf[NI_MAXHOST];
    hb_request_t hreq;
    hb_parsed_t pb;
    hb_handshake_t hs;
    const hb_respond_config_t *respond_later; /* a 200 respondWith answer, sent once the event is published */
    h2o_iovec_t rw_body;
    char event_id[HB_MAX_EVENT_ID + 1];
    const msgpack_object *body; /* the parsed body, once the triggers are routed */
    hb_route_t *routes;
    size_t nroutes;
    hb_answer_t answer; /* what the step that ends the request answers */
} hb_exchange_t;

typedef hb_status_t (*hb_step_fn)(hb_exchange_t *x);

/* Describes an error answer and returns its status: the step's last word. */
static hb_status_t hb_fail(hb_exchange_t *x, hb_status_t status, hb_outcome_t outcome, const char *reason,
                           const char *text)
{
    x->answer =
        (hb_answer_t){.status = status, .outcome = outcome, .form = HB_ANSWER_ERROR, .reason = reason, .text = text};
    return status;
}

/*
 * Describes a 2xx answer given without publishing: the respondWith response when it waits for the publication, else
 * form; returns its status.
 */
static hb_status_t hb_done(hb_exchange_t *x, hb_outcome_t outcome, const char *reason, hb_answer_form_t form)
{
    const hb_respond_config_t *rw = x->respond_later;
    x->answer = (hb_answer_t){.status = rw != NULL ? (hb_status_t)rw->status : HB_STATUS_OK,
                              .outcome = outcome,
                              .form = rw != NULL ? HB_ANSWER_RESPOND : form,
                              .reason = reason,
                              .rw = rw,
                              .rw_body = x->rw_body};
    return x->answer.status;
}

/* ---- the request's view and body ---- */

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

/* The headers of the request as the envelope carries them, in the request's pool. */
static void hb_fill_headers(h2o_req_t *req, hb_request_t *hreq)
{
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
}

/* The read-only view of the request that the pure modules take (request.h). */
static void hb_fill_request(h2o_req_t *req, hb_request_t *hreq, char *addrbuf)
{
    memset(hreq, 0, sizeof(*hreq));
    hreq->method = req->input.method.base;
    hreq->method_len = req->input.method.len;
    hreq->path = req->input.path.base;
    hreq->path_len = req->input.path.len;
    hreq->query_at = req->input.query_at;
    hb_fill_headers(req, hreq);
    hreq->body = (const uint8_t *)req->entity.base;
    hreq->body_len = req->entity.base != NULL ? req->entity.len : 0;
    struct sockaddr_storage ss;
    socklen_t sslen = req->conn->callbacks->get_peername(req->conn, (struct sockaddr *)&ss);
    if (sslen == 0 || hb_numeric_host((const struct sockaddr *)&ss, addrbuf) != 0)
        addrbuf[0] = '\0';
    hreq->remote_addr = addrbuf;
    hreq->received_at_ms = (int64_t)req->processed_at.at.tv_sec * 1000 + req->processed_at.at.tv_usec / 1000;
}

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

const msgpack_object *hb_body_object(hb_parsed_t *pb, const hb_request_t *hreq, hb_endpoint_t *ep)
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

/* The worker's scratch space back for the next request; one huge body does not pin its buffer. */
static void hb_parsed_dispose(hb_parsed_t *pb)
{
    if (pb->state == 0)
        return;
    msgpack_zone_clear(pb->zone);
    if (pb->sb->alloc > HB_SCRATCH_KEEP) {
        msgpack_sbuffer_destroy(pb->sb);
        msgpack_sbuffer_init(pb->sb);
    }
    pb->sb->size = 0;
}

/* The body as a filter or template needs it: parsed when need is set, else NULL. */
static const msgpack_object *hb_body_if(hb_exchange_t *x, int need)
{
    return need ? hb_body_object(&x->pb, &x->hreq, x->ep) : NULL;
}

/* ---- the steps ---- */

/* server.h2c: a connection being shut down takes no more work (h2o still parses what it has read). */
static hb_status_t hb_step_connection(hb_exchange_t *x)
{
    if (!x->srv->cfg->server.h2c)
        return HB_STATUS_NEXT;
    hb_conn_t *c = hb_conn_of(x->req->conn);
    if (c != NULL && c->closing) /* not logged: a flood would be one line per stream */
        return hb_fail(x, HB_STATUS_UNAVAILABLE, HB_OUTCOME_CLOSING, NULL, "this connection is being closed");
    if (c != NULL)
        c->progress_ms = h2o_now(x->w->ctx.loop);
    return HB_STATUS_NEXT;
}

/* 1. route: /webhooks/{id}[/...] on the normalised path → the endpoint. */
static hb_status_t hb_step_route(hb_exchange_t *x)
{
    static const char prefix[] = "/webhooks/";
    const size_t plen = sizeof(prefix) - 1;
    h2o_iovec_t path = x->req->path_normalized;
    if (path.len <= plen || memcmp(path.base, prefix, plen) != 0)
        return hb_fail(x, HB_STATUS_NOT_FOUND, HB_OUTCOME_NOT_FOUND, "not a webhook path",
                       "webhooks are received at /webhooks/{endpoint id}");
    const char *id = path.base + plen;
    size_t idlen = 0;
    while (plen + idlen < path.len && id[idlen] != '/')
        idlen++;
    x->ep = hb_registry_find(x->reg, id, idlen);
    if (x->ep == NULL)
        return hb_fail(x, HB_STATUS_NOT_FOUND, HB_OUTCOME_NOT_FOUND, "no endpoint has this id",
                       "no endpoint has this id");
    return HB_STATUS_NEXT;
}

/* The process is going away: tell the sender to come back (to another replica). */
static hb_status_t hb_step_draining(hb_exchange_t *x)
{
    if (!x->w->draining)
        return HB_STATUS_NEXT;
    hb_fail(x, HB_STATUS_UNAVAILABLE, HB_OUTCOME_UNAVAILABLE, "shutting down", "shutting down");
    x->answer.close = 1;
    return HB_STATUS_UNAVAILABLE;
}

/* 2. limits: the endpoint's maxBodySize (h2o has refused what is over the largest one already). */
static hb_status_t hb_step_body_limit(hb_exchange_t *x)
{
    if (x->req->entity.base != NULL && x->req->entity.len > x->ep->cfg->max_body_size)
        return hb_fail(x, HB_STATUS_TOO_LARGE, HB_OUTCOME_TOO_LARGE, "maxBodySize",
                       "the body is larger than this endpoint's maxBodySize");
    return HB_STATUS_NEXT;
}

/* The view of the request that the filters, templates and verifiers read. */
static hb_status_t hb_step_view(hb_exchange_t *x)
{
    hb_fill_request(x->req, &x->hreq, x->addrbuf);
    return HB_STATUS_NEXT;
}

/* 3. respondWith: handshakes are answered before (and, with skipTriggeringRuns, instead of) verification. */
static hb_status_t hb_step_respond_with(hb_exchange_t *x)
{
    const hb_respond_config_t *rw = x->ep->cfg->respond_with;
    if (rw == NULL ||
        !hb_reqfilter_match(rw->filter, &x->hreq, hb_body_if(x, hb_reqfilter_needs_body(rw->filter)), NULL))
        return HB_STATUS_NEXT;
    hb_buf_t out;
    hb_buf_init(&out);
    hb_template_render(rw->body, &x->hreq, hb_body_if(x, hb_template_needs_body(rw->body)), &out);
    x->rw_body = h2o_strdup(&x->req->pool, out.base != NULL ? out.base : "", out.len);
    hb_buf_dispose(&out);
    x->respond_later = rw; /* a 200 goes on: verify, triggers, publish, then this answer */
    if (!rw->skip_triggering_runs && rw->status == HB_STATUS_OK)
        return HB_STATUS_NEXT;
    return hb_done(x, HB_OUTCOME_RESPONDED, "respondWith", HB_ANSWER_RESPOND);
}

/* Describes the answer of a provider preset's handshake (verify.h): never published. */
static hb_status_t hb_handshake_answer(hb_exchange_t *x)
{
    x->answer = (hb_answer_t){.status = (hb_status_t)x->hs.status,
                              .outcome = HB_OUTCOME_RESPONDED,
                              .form = HB_ANSWER_HANDSHAKE,
                              .reason = "handshake",
                              .hs = &x->hs};
    return x->answer.status;
}

/* 4a. a provider's unsigned set-up request (Meta's and Dropbox's GET), answered by its preset before the check. */
static hb_status_t hb_step_handshake_unsigned(hb_exchange_t *x)
{
    if (x->respond_later != NULL || !hb_verifier_handshake_unsigned(x->ep->verifier, &x->hreq, &x->hs))
        return HB_STATUS_NEXT;
    return hb_handshake_answer(x);
}

/* 4. verify: the endpoint's signature scheme; nothing is published for a request that fails it. */
static hb_status_t hb_step_verify(hb_exchange_t *x)
{
    const char *reason = NULL;
    if (hb_verifier_check(x->ep->verifier, &x->hreq, &reason) == HB_STATUS_OK)
        return HB_STATUS_NEXT;
    return hb_fail(x, HB_STATUS_UNAUTHORIZED, HB_OUTCOME_REJECTED, reason, reason);
}

/* 4b. a provider's signed set-up or ping (Slack, Zoom, Discord), answered once it is verified. */
static hb_status_t hb_step_handshake_signed(hb_exchange_t *x)
{
    hb_verifier_t *v = x->ep->verifier;
    if (!hb_verifier_has_signed_handshake(v) ||
        !hb_verifier_handshake_signed(v, &x->hreq, hb_body_object(&x->pb, &x->hreq, x->ep), &x->hs))
        return HB_STATUS_NEXT;
    return hb_handshake_answer(x);
}

/* The event id: the sender's delivery id where the endpoint names its header, else a new UUIDv7. */
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

/* The event id; a retry of an event already published (the sender's id, within the window) is 2xx, not again. */
static hb_status_t hb_step_event_id(hb_exchange_t *x)
{
    hb_make_event_id(x->ep, &x->hreq, x->event_id);
    if (x->ep->dedupe == NULL || !hb_dedupe_seen(x->ep->dedupe, x->event_id, (int64_t)(hb_now_us() / 1000)))
        return HB_STATUS_NEXT;
    hb_status_t st = hb_done(x, HB_OUTCOME_DUPLICATE, "published before", HB_ANSWER_DUPLICATE);
    x->answer.event_id = x->event_id;
    return st;
}

/* 5, 6. the body parsed once; the triggers → the topics (none matched: 200, counted). */
static hb_status_t hb_step_triggers(hb_exchange_t *x)
{
    x->body = hb_body_object(&x->pb, &x->hreq, x->ep);
    x->nroutes = hb_route(x->req, x->ep, &x->hreq, &x->pb, &x->routes);
    if (x->nroutes > 0)
        return HB_STATUS_NEXT;
    return hb_done(x, HB_OUTCOME_FILTERED_OUT, "no trigger matched", HB_ANSWER_UNPUBLISHED);
}

/* 7, 8. the envelope, a record per topic; 9. the answer comes with the reports, through the ticket. */
static hb_status_t hb_step_publish(hb_exchange_t *x)
{
    hb_ticket_t *t = hb_ticket_open(x->w, x->req, x->reg, x->ep);
    t->rw = x->respond_later;
    t->rw_body = x->rw_body;
    memcpy(t->trace_id, x->trace_id, sizeof(t->trace_id));
    memcpy(t->event_id, x->event_id, sizeof(t->event_id));
    const hb_request_t *hreq = &x->hreq;
    hb_envelope_fields_t fields = {.id = t->event_id,
                                   .endpoint = x->ep->cfg->id,
                                   .source = x->ep->cfg->source,
                                   .verified = hb_verifier_scheme(x->ep->verifier),
                                   .req = hreq,
                                   .json = x->body != NULL ? x->pb.sb->data : NULL,
                                   .json_len = x->body != NULL ? x->pb.sb->size : 0,
                                   /* a verified request that says it is a test run (the admin port's example
                                      sender, `hookbridge send-example`) is marked so: consumers may skip it */
                                   .test = hb_request_header(hreq, HB_TEST_HEADER, strlen(HB_TEST_HEADER)) != NULL,
                                   .redact = x->ep->redact,
                                   .num_redact = x->ep->num_redact};
    hb_publish(x->srv, t, &fields, x->routes, x->nroutes, x->body);
    return HB_STATUS_PENDING;
}

static const hb_step_fn hb_steps[] = {
    hb_step_connection,         hb_step_route,    hb_step_draining,
    hb_step_body_limit,         hb_step_view,     hb_step_respond_with,
    hb_step_handshake_unsigned, hb_step_verify,   hb_step_handshake_signed,
    hb_step_event_id,           hb_step_triggers, hb_step_publish,
};

int hb_on_req(h2o_handler_t *self, h2o_req_t *req)
{
    hb_server_t *srv = ((hb_handler_t *)self)->srv;
    hb_worker_t *w = H2O_STRUCT_FROM_MEMBER(hb_worker_t, ctx, req->conn->ctx);
    HB_ASSERT_ON_WORKER(w);
    hb_exchange_t x = {
        .srv = srv, .w = w, .req = req, .reg = atomic_load_explicit(&srv->registry, memory_order_acquire)};
    x.cfg = hb_registry_config(x.reg);
    x.pb = (hb_parsed_t){.sb = &w->body_sb, .zone = w->body_zone};
    hb_buf_init(&x.hs.body);
    hb_trace_id(req, x.trace_id);
    hb_status_t st = HB_STATUS_NEXT;
    for (size_t i = 0; i < HB_ARRAY_SIZE(hb_steps) && st == HB_STATUS_NEXT; i++)
        st = hb_steps[i](&x);
    if (st != HB_STATUS_PENDING)
        hb_answer(req, &(hb_answer_ctx_t){x.cfg, x.ep, x.trace_id, hb_received_us(req)}, &x.answer);
    hb_buf_dispose(&x.hs.body);
    hb_parsed_dispose(&x.pb);
    return 0;
}

/* bridge/server/answer.c: every answer to a sender, counted, logged and sent in one place; h2o's own errors as JSON. */
#include <stddef.h>
#include <string.h>

#include "internal.h"
#include "json.h"

/* The outcomes: what the log line says, which counter of the endpoint grows, the error word of an error answer. */
typedef enum hb_count { HB_COUNT_NONE, HB_COUNT_PLAIN, HB_COUNT_BY_REASON, HB_COUNT_WITH_LATENCY } hb_count_t;

static const struct {
    const char *name;  /* the log line's outcome; NULL: not logged */
    const char *error; /* the "error" of an HB_ANSWER_ERROR body */
    hb_count_t count;
    size_t counter; /* offset in hb_endpoint_counters_t, for HB_COUNT_PLAIN and HB_COUNT_WITH_LATENCY */
} hb_outcomes[] = {
    [HB_OUTCOME_NOT_FOUND] = {"not_found", "not_found", HB_COUNT_NONE, 0},
    [HB_OUTCOME_UNAVAILABLE] = {"unavailable", "unavailable", HB_COUNT_PLAIN,
                                offsetof(hb_endpoint_counters_t, unavailable)},
    [HB_OUTCOME_CLOSING] = {NULL, "unavailable", HB_COUNT_NONE, 0},
    [HB_OUTCOME_TOO_LARGE] = {"too_large", "too_large", HB_COUNT_PLAIN, offsetof(hb_endpoint_counters_t, too_large)},
    [HB_OUTCOME_RESPONDED] = {"responded", NULL, HB_COUNT_PLAIN, offsetof(hb_endpoint_counters_t, responded)},
    [HB_OUTCOME_REJECTED] = {"rejected", "unauthorized", HB_COUNT_BY_REASON, 0},
    [HB_OUTCOME_DUPLICATE] = {"duplicate", NULL, HB_COUNT_PLAIN, offsetof(hb_endpoint_counters_t, duplicate)},
    [HB_OUTCOME_FILTERED_OUT] = {"filtered_out", NULL, HB_COUNT_PLAIN, offsetof(hb_endpoint_counters_t, filtered_out)},
    [HB_OUTCOME_PUBLISHED] = {"published", NULL, HB_COUNT_WITH_LATENCY, offsetof(hb_endpoint_counters_t, published)},
    [HB_OUTCOME_SPOOLED] = {"spooled", NULL, HB_COUNT_PLAIN, offsetof(hb_endpoint_counters_t, spooled)},
};

const char *hb_reason_phrase(int status)
{
    static const struct {
        int status;
        const char *phrase;
    } phrases[] = {
        {200, "OK"},
        {201, "Created"},
        {202, "Accepted"},
        {204, "No Content"},
        {301, "Moved Permanently"},
        {302, "Found"},
        {304, "Not Modified"},
        {307, "Temporary Redirect"},
        {308, "Permanent Redirect"},
        {400, "Bad Request"},
        {401, "Unauthorized"},
        {403, "Forbidden"},
        {404, "Not Found"},
        {405, "Method Not Allowed"},
        {409, "Conflict"},
        {410, "Gone"},
        {413, "Payload Too Large"},
        {415, "Unsupported Media Type"},
        {422, "Unprocessable Content"},
        {429, "Too Many Requests"},
        {500, "Internal Server Error"},
        {501, "Not Implemented"},
        {502, "Bad Gateway"},
        {503, "Service Unavailable"},
        {504, "Gateway Timeout"},
    };
    for (size_t i = 0; i < HB_ARRAY_SIZE(phrases); i++)
        if (phrases[i].status == status)
            return phrases[i].phrase;
    return status < 300 ? "OK" : status < 400 ? "Redirect" : status < 500 ? "Client Error" : "Server Error";
}

/* Sends a complete JSON answer. Content-length is always set: h2o 2.2.5 closes keep-alive connections otherwise. */
static void hb_send_json(h2o_req_t *req, hb_status_t status, const char *body, size_t len)
{
    req->res.status = (int)status;
    req->res.reason = hb_reason_phrase((int)status);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/json"));
    if (status == HB_STATUS_UNAVAILABLE)
        h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_RETRY_AFTER, NULL, H2O_STRLIT(HB_RETRY_AFTER));
    req->res.content_length = len;
    h2o_send_inline(req, body, len);
}

/* {"error": error, "reason": reason} */
static void hb_send_error(h2o_req_t *req, hb_status_t status, const char *error, const char *reason)
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

/* {"ok":true,"id":id} and, for a retry answered without publishing, "duplicate":true */
static void hb_send_ok(h2o_req_t *req, const char *event_id, int duplicate)
{
    hb_buf_t body;
    hb_buf_init(&body);
    hb_buf_puts(&body, "{\"ok\":true,\"id\":");
    hb_json_cstr(&body, event_id);
    hb_buf_puts(&body, duplicate ? ",\"duplicate\":true}\n" : "}\n");
    hb_send_json(req, HB_STATUS_OK, body.base, body.len);
    hb_buf_dispose(&body);
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

/* The endpoint's counters for the outcome (the request's latency too, for a published one). */
static void hb_answer_count(hb_endpoint_t *ep, const hb_answer_t *a, uint64_t received_us)
{
    if (ep == NULL)
        return;
    switch (hb_outcomes[a->outcome].count) {
    case HB_COUNT_NONE:
        return;
    case HB_COUNT_BY_REASON:
        hb_endpoint_count_rejection(ep, a->reason);
        return;
    case HB_COUNT_PLAIN:
    case HB_COUNT_WITH_LATENCY:
        atomic_fetch_add_explicit((atomic_ullong *)((char *)&ep->counters + hb_outcomes[a->outcome].counter), 1,
                                  memory_order_relaxed);
        break;
    }
    if (hb_outcomes[a->outcome].count == HB_COUNT_WITH_LATENCY) {
        uint64_t now_us = hb_now_us();
        hb_latency_observe(&ep->latency, now_us > received_us ? now_us - received_us : 0);
    }
}

void hb_answer(h2o_req_t *req, const hb_answer_ctx_t *ctx, const hb_answer_t *a)
{
    hb_answer_count(ctx->ep, a, ctx->received_us);
    if (hb_outcomes[a->outcome].name != NULL)
        hb_log_request(ctx->cfg, ctx->ep, (int)a->status, hb_outcomes[a->outcome].name, a->reason, a->event_id,
                       ctx->trace_id, ctx->received_us);
    if (a->close)
        req->http1_is_persistent = 0; /* h2o then writes "connection: close" itself */
    switch (a->form) {
    case HB_ANSWER_ERROR:
        hb_send_error(req, a->status, hb_outcomes[a->outcome].error, a->text);
        break;
    case HB_ANSWER_OK:
    case HB_ANSWER_DUPLICATE:
        hb_send_ok(req, a->event_id, a->form == HB_ANSWER_DUPLICATE);
        break;
    case HB_ANSWER_UNPUBLISHED:
        hb_send_json(req, HB_STATUS_OK, H2O_STRLIT("{\"ok\":true,\"published\":false}\n"));
        break;
    case HB_ANSWER_RESPOND:
        hb_send_respond(req, a->rw, a->rw_body);
        break;
    case HB_ANSWER_HANDSHAKE:
        hb_send_handshake(req, a->hs);
        break;
    }
}

/* ---- h2o's own answers ---- */

/*
 * h2o itself answers some requests before our handler runs: a Content-Length over max_request_entity_size (413),
 * a chunked body growing past it (413), broken chunked encoding (400). It writes them as text/plain through the
 * host's fallback path; this filter on that path turns them into our {"error","reason"} JSON.
 */
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
    hb_json_cstr(&json, req->res.status == HB_STATUS_TOO_LARGE ? "too_large" : "bad_request");
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
    if (req->res.status >= HB_STATUS_BAD_REQUEST && ct != -1 && req->res.headers.entries[ct].value.len >= 10 &&
        memcmp(req->res.headers.entries[ct].value.base, "text/plain", 10) == 0) {
        req->res.headers.entries[ct].value = h2o_iovec_init(H2O_STRLIT("application/json"));
        h2o_ostream_t *ostr = h2o_add_ostream(req, sizeof(*ostr), slot);
        ostr->do_send = hb_core_error_send;
        slot = &ostr->next;
    }
    h2o_setup_next_ostream(req, slot);
}

void hb_answer_install_error_filter(h2o_hostconf_t *hostconf)
{
    h2o_create_filter(&hostconf->fallback_path, sizeof(h2o_filter_t))->on_setup_ostream = hb_core_error_setup;
}

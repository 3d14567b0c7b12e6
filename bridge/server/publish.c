/* bridge/server/publish.c: a verified request's triggers → topics, and their records: envelope, key, produce. */
#include <string.h>

#include "internal.h"

size_t hb_route(h2o_req_t *req, hb_endpoint_t *ep, const hb_request_t *hreq, hb_parsed_t *pb, hb_route_t **out)
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

/*
 * The values of the routes' records into bufs (malloc'd: librdkafka takes them), and their content type. Every
 * envelope is made before the first is produced, since librdkafka owns (and may free) a produced buffer: the first is
 * encoded, the others copy it with their own trailing `triggers` array.
 */
static const char *hb_encode_values(const hb_server_t *srv, const hb_envelope_fields_t *fields,
                                    const hb_route_t *routes, size_t nroutes, msgpack_sbuffer *bufs)
{
    hb_envelope_fields_t first = *fields;
    first.triggers = routes[0].names;
    first.num_triggers = routes[0].nnames;
    msgpack_sbuffer_init(&bufs[0]);
    size_t prefix = hb_envelope_encode(&first, &bufs[0]);
    for (size_t i = 1; i < nroutes; i++) {
        msgpack_sbuffer_init(&bufs[i]);
        hb_envelope_retarget(bufs[0].data, prefix, routes[i].names, routes[i].nnames, &bufs[i]);
    }
    /* kafka.format: json: the same envelopes as JSON, for pipelines that read nothing else (started with: it is
       a process setting, not reloadable) */
    if (srv->cfg->kafka.format == HB_FORMAT_MSGPACK)
        return HB_ENVELOPE_CONTENT_TYPE;
    for (size_t i = 0; i < nroutes; i++) {
        hb_buf_t json;
        hb_buf_init(&json);
        hb_envelope_to_json(bufs[i].data, bufs[i].size, &json, NULL, 0); /* our own encoding: it decodes */
        msgpack_sbuffer_destroy(&bufs[i]);
        bufs[i].size = json.len;
        bufs[i].data = hb_buf_release(&json);
        bufs[i].alloc = bufs[i].size;
    }
    return HB_ENVELOPE_JSON_CONTENT_TYPE;
}

/* The record key: the partitionKey's value where it has one (the events of one key keep their order), else the id. */
static void hb_record_key(hb_ticket_t *t, const hb_route_t *route, const hb_request_t *hreq, const msgpack_object *body,
                          hb_record_t *rec)
{
    rec->key = t->event_id;
    rec->key_len = strlen(t->event_id);
    if (route->partition_key == NULL)
        return;
    hb_buf_t k;
    hb_buf_init(&k);
    hb_template_render(route->partition_key, hreq, body, &k);
    if (k.len > 0) {
        char *copy = h2o_mem_alloc_pool(&t->req->pool, k.len);
        memcpy(copy, k.base, k.len);
        rec->key = copy;
        rec->key_len = k.len;
    }
    hb_buf_dispose(&k);
}

/* The W3C trace context of the request, carried on as record headers. */
static void hb_record_trace(const hb_request_t *hreq, hb_record_t *rec)
{
    const hb_header_t *tp = hb_request_header(hreq, "traceparent", 11), *ts = hb_request_header(hreq, "tracestate", 10);
    if (tp != NULL) {
        rec->traceparent = tp->value;
        rec->traceparent_len = tp->value_len;
    }
    if (ts != NULL) {
        rec->tracestate = ts->value;
        rec->tracestate_len = ts->value_len;
    }
}

static hb_spool_field_t hb_spool_str(const char *s)
{
    return (hb_spool_field_t){s, s != NULL ? strlen(s) : 0};
}

/* A spooled endpoint's record, framed now into the ticket: once produced, the value is librdkafka's. */
static void hb_record_frame(hb_ticket_t *t, const hb_record_t *rec)
{
    hb_spool_frame(&(hb_spool_record_t){.timestamp_ms = rec->timestamp_ms,
                                        .topic = hb_spool_str(rd_kafka_topic_name(rec->topic)),
                                        .key = {rec->key, rec->key_len},
                                        .content_type = hb_spool_str(rec->content_type),
                                        .endpoint = hb_spool_str(rec->endpoint),
                                        .event_id = hb_spool_str(rec->event_id),
                                        .traceparent = {rec->traceparent, rec->traceparent_len},
                                        .tracestate = {rec->tracestate, rec->tracestate_len},
                                        .value = {rec->value, rec->value_len}},
                   &t->frames);
    t->num_frames++;
}

/* Produces the record, its report going to the ticket; a refusal (queue full) is the ticket's error. */
static void hb_record_produce(hb_server_t *srv, hb_ticket_t *t, hb_record_t *rec, msgpack_sbuffer *buf)
{
    hb_record_msg_t *m = hb_record_msg_new(t);
    rec->delivery = &m->delivery;
    rd_kafka_resp_err_t err = hb_publisher_produce(srv->publisher, rec);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        /* no report will come for this one; the sender gets 503 */
        hb_record_msg_unused(m);
        msgpack_sbuffer_destroy(buf);
        t->err = err;
        return;
    }
    hb_record_msg_produced(m);
}

void hb_publish(hb_server_t *srv, hb_ticket_t *t, const hb_envelope_fields_t *fields, hb_route_t *routes,
                size_t nroutes, const msgpack_object *body)
{
    hb_worker_t *w = t->worker;
    HB_ASSERT_ON_WORKER(w);
    msgpack_sbuffer *bufs = h2o_mem_alloc_pool(&t->req->pool, sizeof(msgpack_sbuffer) * nroutes);
    const char *content_type = hb_encode_values(srv, fields, routes, nroutes, bufs);
    /* a spooled endpoint goes straight to the spool while it holds anything (its events keep their order), and
       while every broker is known to be down (no point waiting spoolAfter) */
    int direct = !t->spool || (hb_spool_backlog(srv->spool) == 0 && !hb_publisher_down(srv->publisher));
    for (size_t i = 0; i < nroutes; i++) {
        if (!t->spool && t->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            msgpack_sbuffer_destroy(&bufs[i]);
            continue;
        }
        hb_record_t rec = {.topic = routes[i].topic,
                           .content_type = content_type,
                           .value = bufs[i].data,
                           .value_len = bufs[i].size,
                           .endpoint = t->ep->cfg->id,
                           .event_id = t->event_id,
                           .timestamp_ms = fields->req->received_at_ms};
        hb_record_key(t, &routes[i], fields->req, body, &rec);
        hb_record_trace(fields->req, &rec);
        if (t->spool)
            hb_record_frame(t, &rec);
        if (!direct || t->err != RD_KAFKA_RESP_ERR_NO_ERROR)
            msgpack_sbuffer_destroy(&bufs[i]);
        else
            hb_record_produce(srv, t, &rec, &bufs[i]);
    }
    if (t->spool && (!direct || t->err != RD_KAFKA_RESP_ERR_NO_ERROR))
        hb_ticket_spool(t);
    else if (t->pending == 0)
        hb_ticket_answer(t);
    else
        h2o_timeout_link(w->ctx.loop, t->spool ? &w->spool_timeout : &w->delivery_timeout, &t->timeout);
}

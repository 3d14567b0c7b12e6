/* bridge/server/ticket.c: tickets, which outlive their request, and the delivery and spool reports that fill them. */
#include <stdlib.h>
#include <string.h>

#include "dedupe.h"
#include "internal.h"
#include "messages.h"

/* ---- the worker's spares ---- */

/* A zeroed ticket: a spare one of the worker's (its spool frame buffer kept), else a new one. */
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

void hb_ticket_release(hb_ticket_t *t)
{
    hb_worker_t *w = t->worker;
    HB_ASSERT_ON_WORKER(w);
    HB_ASSERT(t->refs > 0);
    if (--t->refs > 0)
        return;
    HB_ASSERT(t->pending == 0 && t->req == NULL);
    hb_registry_drop(t->reg);
    if (w->num_spare_tickets >= HB_SPARES || t->frames.cap > HB_SCRATCH_KEEP) {
        hb_buf_dispose(&t->frames);
        free(t);
        return;
    }
    t->next_spare = w->spare_tickets;
    w->spare_tickets = t;
    w->num_spare_tickets++;
}

static void hb_on_delivery(hb_delivery_t *d, rd_kafka_resp_err_t err);

hb_record_msg_t *hb_record_msg_new(hb_ticket_t *t)
{
    hb_worker_t *w = t->worker;
    HB_ASSERT_ON_WORKER(w);
    hb_record_msg_t *m = w->spare_msgs;
    if (m == NULL) {
        m = hb_xcalloc(1, sizeof(*m));
    } else {
        w->spare_msgs = m->next_spare;
        w->num_spare_msgs--;
        memset(m, 0, sizeof(*m));
    }
    m->delivery.cb = hb_on_delivery;
    m->worker = w;
    m->ticket = t;
    return m;
}

void hb_record_msg_produced(hb_record_msg_t *m)
{
    hb_ticket_t *t = m->ticket;
    t->pending++;
    t->produced++;
    t->refs++;
    atomic_fetch_add_explicit(&t->worker->inflight, 1, memory_order_relaxed);
}

/* Back to the worker's spares (its report was handled, or it was never produced). */
void hb_record_msg_unused(hb_record_msg_t *m)
{
    hb_worker_t *w = m->worker;
    HB_ASSERT_ON_WORKER(w);
    if (w->num_spare_msgs >= HB_SPARES) {
        free(m);
        return;
    }
    m->next_spare = w->spare_msgs;
    w->spare_msgs = m;
    w->num_spare_msgs++;
}

void hb_tickets_dispose(hb_worker_t *w)
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

/* ---- a ticket's life ---- */

static void hb_on_req_dispose(void *p);
static void hb_on_spool_after(h2o_timeout_entry_t *entry);
static void hb_on_delivery_timeout(h2o_timeout_entry_t *entry);

hb_ticket_t *hb_ticket_open(hb_worker_t *w, h2o_req_t *req, hb_registry_t *reg, hb_endpoint_t *ep)
{
    HB_ASSERT_ON_WORKER(w);
    hb_ticket_t *t = hb_ticket_new(w);
    t->worker = w;
    t->ep = ep;
    t->reg = reg;
    hb_registry_hold(reg);
    t->req = req;
    t->refs = 1; /* the request's pool's: dropped when the request is gone */
    t->received_us = hb_received_us(req);
    t->spool = ep->cfg->spool && w->srv->spool != NULL;
    t->timeout.cb = t->spool ? hb_on_spool_after : hb_on_delivery_timeout;
    hb_ticket_t **guard = h2o_mem_alloc_shared(&req->pool, sizeof(*guard), hb_on_req_dispose);
    *guard = t;
    return t;
}

/* The answer of a ticket whose records neither Kafka nor the spool took: why, for the log and for the sender. */
static void hb_ticket_unavailable(const hb_ticket_t *t, hb_answer_t *a)
{
    a->status = HB_STATUS_UNAVAILABLE;
    a->outcome = HB_OUTCOME_UNAVAILABLE;
    a->form = HB_ANSWER_ERROR;
    a->reason = rd_kafka_err2name(t->err);
    a->text = "Kafka did not accept the event; retry later";
    if (t->spool_state == HB_TICKET_REFUSED) {
        a->reason = "spool full";
        a->text = "Kafka did not accept the event and the spool is full; retry later";
    } else if (t->spool_state == HB_TICKET_SPOOL_IO) {
        a->reason = "spool write failed";
        a->text = "Kafka did not accept the event and the spool could not store it; retry later";
    }
}

/*
 * Answers the sender: 2xx when Kafka has every record (or, for a spooled endpoint, when the spool has them on disk),
 * else 503. Called when the last report is in, at a timeout, or when the spool append is done.
 */
void hb_ticket_answer(hb_ticket_t *t)
{
    HB_ASSERT_ON_WORKER(t->worker);
    if (t->req == NULL || t->responded)
        return;
    t->responded = 1;
    if (h2o_timeout_is_linked(&t->timeout))
        h2o_timeout_unlink(&t->timeout);
    hb_answer_ctx_t ctx = {hb_registry_config(t->reg), t->ep, t->trace_id, t->received_us};
    hb_answer_t a = {.event_id = t->event_id};
    int delivered = t->produced > 0 && t->pending == 0 && t->err == RD_KAFKA_RESP_ERR_NO_ERROR;
    if (delivered || t->spool_state == HB_TICKET_SPOOLED) {
        if (t->ep->dedupe != NULL) /* Kafka (or the spool) has it: a retry of this id is not published again */
            hb_dedupe_remember(t->ep->dedupe, t->event_id, (int64_t)(hb_now_us() / 1000));
        a.outcome = delivered ? HB_OUTCOME_PUBLISHED : HB_OUTCOME_SPOOLED;
        a.status = t->rw != NULL ? (hb_status_t)t->rw->status : HB_STATUS_OK;
        a.form = t->rw != NULL ? HB_ANSWER_RESPOND : HB_ANSWER_OK;
        a.rw = t->rw;
        a.rw_body = t->rw_body;
    } else {
        hb_ticket_unavailable(t, &a);
    }
    hb_answer(t->req, &ctx, &a);
}

/* Spool thread: the append is on disk (or refused); the ticket's worker takes it from there. */
static void hb_on_spooled(hb_spool_append_t *append, int status)
{
    hb_ticket_t *t = H2O_STRUCT_FROM_MEMBER(hb_ticket_t, append, append);
    h2o_multithread_send_message(&t->worker->spool_receiver, &t->spool_msg);
}

/* Kafka has not confirmed in time (or failed): the records go to the spool, and the answer comes with the fsync. */
void hb_ticket_spool(hb_ticket_t *t)
{
    HB_ASSERT_ON_WORKER(t->worker);
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

/* The request's pool is being cleared: the request is gone (answered, or its client left). */
static void hb_on_req_dispose(void *p)
{
    hb_ticket_t *t = *(hb_ticket_t **)p;
    HB_ASSERT_ON_WORKER(t->worker);
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

/* ---- reports ---- */

/* Poll thread: hand the report to the worker that owns the request (the ticket is not touched here). */
static void hb_on_delivery(hb_delivery_t *d, rd_kafka_resp_err_t err)
{
    hb_record_msg_t *m = H2O_STRUCT_FROM_MEMBER(hb_record_msg_t, delivery, d);
    m->err = err;
    h2o_multithread_send_message(&m->worker->delivery_receiver, &m->msg);
}

void hb_worker_check_exit(hb_worker_t *w)
{
    if (w->draining && atomic_load_explicit(&w->inflight, memory_order_relaxed) == 0 && w->exit_at == 0)
        w->exit_at = h2o_now(w->ctx.loop) + HB_EXIT_GRACE_MS;
}

/* One record's report, on the ticket's worker. */
static void hb_on_delivered(h2o_multithread_message_t *msg, void *ctx)
{
    hb_worker_t *w = ctx;
    hb_record_msg_t *m = H2O_STRUCT_FROM_MEMBER(hb_record_msg_t, msg, msg);
    hb_ticket_t *t = m->ticket;
    HB_ASSERT(t->worker == w && t->pending > 0);
    atomic_fetch_sub_explicit(&w->inflight, 1, memory_order_relaxed);
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR && t->err == RD_KAFKA_RESP_ERR_NO_ERROR)
        t->err = m->err;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR && t->responded && t->spool_state != HB_TICKET_SPOOLED)
        hb_log(HB_LOG_WARN, "delivery failed after the sender was answered", "endpoint", t->ep->cfg->id, "event_id",
               t->event_id, "reason", rd_kafka_err2name(m->err), HB_LOG_END);
    else if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && t->responded && t->err != RD_KAFKA_RESP_ERR_NO_ERROR)
        hb_log(HB_LOG_INFO, "published after the sender was answered 503 (its retry will be a duplicate)", "endpoint",
               t->ep->cfg->id, "event_id", t->event_id, HB_LOG_END);
    hb_record_msg_unused(m);
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

/* The spool append is done, on the ticket's worker. */
static void hb_on_spool_done(h2o_multithread_message_t *msg, void *ctx)
{
    hb_worker_t *w = ctx;
    hb_ticket_t *t = H2O_STRUCT_FROM_MEMBER(hb_ticket_t, spool_msg, msg);
    HB_ASSERT(t->worker == w);
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

void hb_tickets_init(hb_worker_t *w)
{
    h2o_multithread_register_receiver(w->ctx.queue, &w->delivery_receiver, hb_on_delivery_messages);
    h2o_multithread_register_receiver(w->ctx.queue, &w->spool_receiver, hb_on_spool_messages);
    msgpack_sbuffer_init(&w->body_sb);
    w->body_zone = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);
    /* a second past librdkafka's own message.timeout.ms, which normally answers first */
    h2o_timeout_init(w->ctx.loop, &w->delivery_timeout, w->srv->cfg->kafka.delivery_timeout_ms + 1000);
    h2o_timeout_init(w->ctx.loop, &w->spool_timeout, w->srv->cfg->kafka.spool_after_ms);
}

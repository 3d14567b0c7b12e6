/* bridge/admin/admin.c: the admin listener on its own thread and h2o loop, and the metadata refresher behind /readyz.
 */
#include "admin.h"

#include <errno.h>
#include <h2o.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "body.h"
#include "envelope.h"
#include "json.h"
#include "log.h"
#include "messages.h"
#include "metrics.h"
#include "status_page.h"
#include "testrun.h"

#define HB_PING_INTERVAL_MS 250
#define HB_HEALTHY_WITHIN_MS 1000 /* /healthz: every worker answered a ping within this */
#define HB_METADATA_INTERVAL_MS 5000
#define HB_METADATA_TIMEOUT_MS 5000

typedef struct hb_admin_handler {
    h2o_handler_t super;
    hb_admin_t *admin;
} hb_admin_handler_t;

struct hb_admin {
    hb_admin_probe_t probe;
    h2o_multithread_receiver_t sent_receiver; /* example test runs that came back */
    atomic_int sending;                       /* test-run threads still running */
    h2o_globalconf_t globalconf;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_socket_t *listener;
    int fd;
    h2o_timeout_t ping_timeout;
    h2o_timeout_entry_t ping_entry;
    pthread_t thread, refresher;
    atomic_int stop;
    pthread_mutex_t lock; /* guards the refresher's state below */
    pthread_cond_t wake;
    int64_t metadata_ok_ms; /* monotonic ms of the last complete metadata fetch, 0: never */
    char metadata_error[256];
};

static void hb_admin_send(h2o_req_t *req, int status, const char *type, hb_buf_t *body);

static int64_t hb_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- /metrics ---- */

static void hb_requests_sample(hb_buf_t *out, const char *endpoint, const char *outcome, const char *reason,
                               unsigned long long n)
{
    hb_buf_t labels;
    hb_buf_init(&labels);
    hb_prom_label(&labels, "endpoint", endpoint);
    hb_prom_label(&labels, "outcome", outcome);
    if (reason != NULL)
        hb_prom_label(&labels, "reason", reason);
    hb_prom_sample(out, "hookbridge_requests_total", &labels, (double)n);
    hb_buf_dispose(&labels);
}

static void hb_spool_metrics(hb_spool_t *spool, size_t max_bytes, hb_buf_t *out)
{
    hb_spool_stats_t st;
    hb_spool_stats(spool, &st);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    double age = st.oldest_ms > 0 && now_ms > st.oldest_ms ? (double)(now_ms - st.oldest_ms) / 1000.0 : 0;
    const struct {
        const char *name, *type, *help;
        double value;
    } rows[] = {
        {"hookbridge_spool_bytes", "gauge", "Size of the spool's segments on disk.", (double)st.bytes},
        {"hookbridge_spool_max_bytes", "gauge", "spool.maxBytes: past it, spooled endpoints answer 503.",
         (double)max_bytes},
        {"hookbridge_spool_records", "gauge", "Records in the spool that Kafka has not acknowledged yet.",
         (double)st.records},
        {"hookbridge_spool_oldest_record_age_seconds", "gauge",
         "Age of the oldest record Kafka has not acknowledged yet (0 when none).", age},
        {"hookbridge_spool_forwarded_total", "counter",
         "Spooled records the forwarder got acknowledged by Kafka (its rate is the drain rate).", (double)st.forwarded},
        {"hookbridge_spool_refused_total", "counter", "Appends refused because the spool was full.",
         (double)st.refused},
        {"hookbridge_spool_full", "gauge", "1 while the spool is full (/readyz then answers 503).", st.full},
        {"hookbridge_spool_cut_bytes_total", "counter", "Bytes of torn records cut from the spool at start.",
         (double)st.cut_bytes},
    };
    for (size_t i = 0; i < HB_ARRAY_SIZE(rows); i++) {
        hb_prom_help(out, rows[i].name, rows[i].type, rows[i].help);
        hb_prom_sample(out, rows[i].name, NULL, rows[i].value);
    }
}

void hb_admin_metrics(const hb_admin_probe_t *probe, int ready, hb_buf_t *out)
{
    hb_registry_t *reg = probe->registry_acquire(probe->ctx);
    size_t n = hb_registry_size(reg);
    hb_prom_help(out, "hookbridge_requests_total", "counter",
                 "Requests by endpoint and outcome (rejected ones also by the verifier's reason).");
    for (size_t i = 0; i < n; i++) {
        const hb_endpoint_t *ep = hb_registry_at(reg, i);
        const hb_endpoint_counters_t *c = &ep->counters;
        const char *id = ep->cfg->id;
        hb_requests_sample(out, id, "published", NULL, atomic_load(&c->published));
        hb_requests_sample(out, id, "spooled", NULL, atomic_load(&c->spooled));
        hb_requests_sample(out, id, "responded", NULL, atomic_load(&c->responded));
        hb_requests_sample(out, id, "filtered_out", NULL, atomic_load(&c->filtered_out));
        hb_requests_sample(out, id, "too_large", NULL, atomic_load(&c->too_large));
        hb_requests_sample(out, id, "unavailable", NULL, atomic_load(&c->unavailable));
        hb_requests_sample(out, id, "duplicate", NULL, atomic_load(&c->duplicate));
        for (size_t r = 0; r < HB_MAX_REASONS; r++) {
            const char *reason = atomic_load(&ep->rejections[r].reason);
            unsigned long long count = atomic_load(&ep->rejections[r].count);
            if (reason != NULL && (count > 0 || r + 1 < HB_MAX_REASONS))
                hb_requests_sample(out, id, "rejected", reason, count);
        }
    }
    hb_prom_help(out, "hookbridge_body_unparsed_total", "counter",
                 "JSON or form bodies that did not parse (or nested too deeply); body filters did not match them.");
    for (size_t i = 0; i < n; i++) {
        const hb_endpoint_t *ep = hb_registry_at(reg, i);
        hb_buf_t labels;
        hb_buf_init(&labels);
        hb_prom_label(&labels, "endpoint", ep->cfg->id);
        hb_prom_sample(out, "hookbridge_body_unparsed_total", &labels,
                       (double)atomic_load(&ep->counters.body_unparsed));
        hb_buf_dispose(&labels);
    }
    hb_prom_help(out, "hookbridge_publish_latency_seconds", "histogram",
                 "From the request received to the last delivery report of a published event.");
    for (size_t i = 0; i < n; i++) {
        const hb_endpoint_t *ep = hb_registry_at(reg, i);
        unsigned long long cumulative = 0;
        char le[32];
        for (size_t b = 0; b <= HB_LATENCY_BUCKETS; b++) {
            cumulative += atomic_load(&ep->latency.bucket[b]);
            if (b < HB_LATENCY_BUCKETS)
                snprintf(le, sizeof(le), "%g", hb_latency_bounds[b]);
            else
                snprintf(le, sizeof(le), "+Inf");
            hb_buf_t labels;
            hb_buf_init(&labels);
            hb_prom_label(&labels, "endpoint", ep->cfg->id);
            hb_prom_label(&labels, "le", le);
            hb_prom_sample(out, "hookbridge_publish_latency_seconds_bucket", &labels, (double)cumulative);
            hb_buf_dispose(&labels);
        }
        hb_buf_t labels;
        hb_buf_init(&labels);
        hb_prom_label(&labels, "endpoint", ep->cfg->id);
        hb_prom_sample(out, "hookbridge_publish_latency_seconds_sum", &labels,
                       (double)atomic_load(&ep->latency.sum_us) / 1e6);
        hb_prom_sample(out, "hookbridge_publish_latency_seconds_count", &labels,
                       (double)atomic_load(&ep->latency.count));
        hb_buf_dispose(&labels);
    }
    hb_prom_help(out, "hookbridge_inflight_requests", "gauge", "Requests waiting for their delivery reports.");
    hb_prom_sample(out, "hookbridge_inflight_requests", NULL, (double)probe->inflight(probe->ctx));
    hb_prom_help(out, "hookbridge_producer_queue_messages", "gauge",
                 "Records in the producer's queue, not yet acknowledged by the broker.");
    hb_prom_sample(out, "hookbridge_producer_queue_messages", NULL, (double)hb_publisher_outq_len(probe->publisher));
    long long rtt = hb_publisher_rtt_us(probe->publisher);
    if (rtt >= 0) {
        hb_prom_help(out, "hookbridge_broker_rtt_seconds", "gauge",
                     "Mean broker round-trip time over the brokers, from librdkafka's last statistics.");
        hb_prom_sample(out, "hookbridge_broker_rtt_seconds", NULL, (double)rtt / 1e6);
    }
    if (probe->spool != NULL)
        hb_spool_metrics(probe->spool, probe->spool_max_bytes, out);
    hb_prom_help(out, "hookbridge_ready", "gauge", "1 when /readyz answers 200.");
    hb_prom_sample(out, "hookbridge_ready", NULL, ready);
    double cpu;
    long long rss;
    if (hb_process_stats(&cpu, &rss) == 0) {
        hb_prom_help(out, "process_cpu_seconds_total", "counter", "User and system CPU time of the process.");
        hb_prom_sample(out, "process_cpu_seconds_total", NULL, cpu);
        hb_prom_help(out, "process_resident_memory_bytes", "gauge", "Resident memory of the process.");
        hb_prom_sample(out, "process_resident_memory_bytes", NULL, (double)rss);
    }
    probe->registry_release(probe->ctx, reg);
}

/* ---- /api/endpoints ---- */

static void hb_json_key(hb_buf_t *out, const char *key, const char *value)
{
    hb_json_cstr(out, key);
    hb_buf_putc(out, ':');
    if (value != NULL)
        hb_json_cstr(out, value);
    else
        hb_buf_puts(out, "null");
}

void hb_admin_endpoints_json(const hb_admin_probe_t *probe, hb_buf_t *out)
{
    hb_registry_t *reg = probe->registry_acquire(probe->ctx);
    hb_buf_puts(out, "{\"endpoints\":[");
    hb_recent_view_t *recent = hb_xcalloc(HB_RECENT, sizeof(*recent));
    for (size_t i = 0; i < hb_registry_size(reg); i++) {
        const hb_endpoint_t *ep = hb_registry_at(reg, i);
        const hb_endpoint_config_t *c = ep->cfg;
        if (i > 0)
            hb_buf_putc(out, ',');
        hb_buf_putc(out, '{');
        hb_json_key(out, "id", c->id);
        hb_buf_putc(out, ',');
        hb_json_key(out, "source", c->source);
        hb_buf_putc(out, ',');
        hb_json_key(out, "icon", c->icon);
        hb_buf_putc(out, ',');
        hb_json_key(out, "title", c->title);
        hb_buf_putc(out, ',');
        hb_buf_t url;
        hb_buf_init(&url);
        if (probe->public_url != NULL) {
            size_t n = strlen(probe->public_url);
            while (n > 0 && probe->public_url[n - 1] == '/')
                n--;
            hb_buf_append(&url, probe->public_url, n);
        }
        hb_buf_printf(&url, "/webhooks/%s", c->id);
        hb_json_key(out, "url", url.base);
        hb_buf_dispose(&url);
        hb_buf_putc(out, ',');
        hb_json_key(out, "verify", hb_verifier_scheme(ep->verifier));
        hb_buf_puts(out, ",\"topics\":[");
        if (c->num_triggers == 0)
            hb_json_cstr(out, c->topic);
        for (size_t t = 0; t < c->num_triggers; t++) {
            int seen = 0; /* each topic once */
            for (size_t u = 0; u < t; u++)
                seen |= strcmp(c->triggers[u].topic, c->triggers[t].topic) == 0;
            if (seen)
                continue;
            if (out->base[out->len - 1] != '[')
                hb_buf_putc(out, ',');
            hb_json_cstr(out, c->triggers[t].topic);
        }
        hb_buf_puts(out, "],\"triggers\":[");
        for (size_t t = 0; t < c->num_triggers; t++) {
            if (t > 0)
                hb_buf_putc(out, ',');
            hb_buf_putc(out, '{');
            hb_json_key(out, "name", c->triggers[t].name);
            hb_buf_putc(out, ',');
            hb_json_key(out, "topic", c->triggers[t].topic);
            hb_buf_putc(out, '}');
        }
        hb_buf_puts(out, "],\"examples\":[");
        for (size_t x = 0; x < c->num_examples; x++) {
            if (x > 0)
                hb_buf_putc(out, ',');
            hb_buf_putc(out, '{');
            hb_json_key(out, "id", c->examples[x].id);
            hb_buf_putc(out, ',');
            hb_json_key(out, "name", c->examples[x].name);
            hb_buf_puts(out, ",\"payload\":");
            hb_buf_puts(out, c->examples[x].payload_json);
            hb_buf_putc(out, '}');
        }
        const hb_endpoint_counters_t *k = &ep->counters;
        hb_buf_printf(out,
                      "],\"durability\":\"%s\",\"counters\":{\"published\":%llu,\"spooled\":%llu,\"responded\":%llu,"
                      "\"filtered_out\":%llu,\"rejected\":%llu,"
                      "\"too_large\":%llu,\"unavailable\":%llu,\"duplicate\":%llu},\"recent\":[",
                      c->spool ? "spool" : "kafka", atomic_load(&k->published), atomic_load(&k->spooled),
                      atomic_load(&k->responded), atomic_load(&k->filtered_out), atomic_load(&k->rejected),
                      atomic_load(&k->too_large), atomic_load(&k->unavailable), atomic_load(&k->duplicate));
        size_t n = hb_endpoint_recent(ep, recent);
        for (size_t r = 0; r < n; r++) {
            hb_buf_printf(out, "%s{\"at\":%lld,\"status\":%d,", r > 0 ? "," : "", (long long)recent[r].at_ms,
                          recent[r].status);
            hb_json_key(out, "outcome", recent[r].outcome);
            hb_buf_putc(out, ',');
            hb_json_key(out, "reason", recent[r].reason[0] != '\0' ? recent[r].reason : NULL);
            hb_buf_printf(out, ",\"latency_ms\":%.3f}", (double)recent[r].latency_us / 1000.0);
        }
        hb_buf_puts(out, "]}");
    }
    free(recent);
    hb_buf_puts(out, "]}\n");
    probe->registry_release(probe->ctx, reg);
}

/* ---- example test runs ---- */

/*
 * POST /api/endpoints/{id}/examples/{example}/send: the example's payload, signed with the endpoint's own scheme,
 * sent to the bridge's public listener as a sender would (a thread of its own: the admin loop never waits on it),
 * marked as a test run. Lives until both the request's pool and the thread's answer are done (admin thread).
 */
typedef struct hb_send_job {
    h2o_multithread_message_t msg;
    hb_admin_t *admin;
    h2o_req_t *req; /* NULL once the request is gone */
    int refs;
    char host[64], port[16];
    hb_buf_t request, answer;
    int status; /* of the public answer; 0: no answer (error says why) */
    char error[160];
} hb_send_job_t;

static void hb_send_job_release(hb_send_job_t *job)
{
    if (--job->refs > 0)
        return;
    hb_buf_dispose(&job->request);
    hb_buf_dispose(&job->answer);
    free(job);
}

static void hb_send_job_gone(void *p)
{
    hb_send_job_t *job = *(hb_send_job_t **)p;
    job->req = NULL;
    hb_send_job_release(job);
}

/* The thread: one HTTP/1.1 exchange on a fresh connection, read to its close. */
static void *hb_send_job_main(void *arg)
{
    hb_send_job_t *job = arg;
    if (hb_testrun_exchange(job->host, job->port, &job->request, 30, &job->status, &job->answer, job->error,
                            sizeof(job->error)) != 0)
        job->status = 0;
    hb_admin_t *a = job->admin;
    h2o_multithread_send_message(&a->sent_receiver, &job->msg);
    atomic_fetch_sub(&a->sending, 1);
    return NULL;
}

/* A test run's answer is back: it goes to the admin request that asked for it, if that is still there. */
static void hb_admin_on_sent_one(h2o_multithread_message_t *msg, void *ctx)
{
    hb_send_job_t *job = H2O_STRUCT_FROM_MEMBER(hb_send_job_t, msg, msg);
    if (job->req != NULL) {
        hb_buf_t body;
        hb_buf_init(&body);
        if (job->status == 0) {
            hb_buf_puts(&body, "{\"error\":\"not_sent\",\"reason\":");
            hb_json_cstr(&body, job->error);
            hb_buf_puts(&body, "}\n");
        } else {
            hb_buf_printf(&body, "{\"status\":%d,\"answer\":", job->status);
            msgpack_sbuffer sb;
            msgpack_sbuffer_init(&sb);
            size_t len = job->answer.len;
            while (len > 0 && (job->answer.base[len - 1] == '\n' || job->answer.base[len - 1] == '\r'))
                len--;
            if (len > 0 && hb_json_to_msgpack(job->answer.base, len, HB_BODY_MAX_DEPTH, &sb, NULL, 0) == 0)
                hb_buf_append(&body, job->answer.base, len); /* the bridge's own JSON answer, as it is */
            else
                hb_json_str(&body, len > 0 ? job->answer.base : "", len);
            msgpack_sbuffer_destroy(&sb);
            hb_buf_puts(&body, "}\n");
        }
        hb_admin_send(job->req, job->status != 0 ? 200 : 502, "application/json", &body);
        hb_buf_dispose(&body);
    }
    hb_send_job_release(job);
}

static void hb_admin_on_sent(h2o_multithread_receiver_t *receiver, h2o_linklist_t *messages)
{
    hb_take_messages(messages, hb_admin_on_sent_one, NULL);
}

/* 1 when path is /api/endpoints/{id}/examples/{example}/send; the two names are copied out. */
static int hb_send_path(h2o_iovec_t path, char *id, size_t idlen, char *example, size_t exlen)
{
    static const char head[] = "/api/endpoints/", mid[] = "/examples/", tail[] = "/send";
    if (path.len <= sizeof(head) - 1 + sizeof(tail) - 1 || memcmp(path.base, head, sizeof(head) - 1) != 0 ||
        memcmp(path.base + path.len - (sizeof(tail) - 1), tail, sizeof(tail) - 1) != 0)
        return 0;
    const char *p = path.base + sizeof(head) - 1, *end = path.base + path.len - (sizeof(tail) - 1);
    const char *m = memmem(p, (size_t)(end - p), mid, sizeof(mid) - 1);
    if (m == NULL || (size_t)(m - p) >= idlen || (size_t)(end - m - (sizeof(mid) - 1)) >= exlen)
        return 0;
    snprintf(id, idlen, "%.*s", (int)(m - p), p);
    snprintf(example, exlen, "%.*s", (int)(end - m - (sizeof(mid) - 1)), m + sizeof(mid) - 1);
    return 1;
}

static void hb_admin_error(h2o_req_t *req, int status, const char *error, const char *reason)
{
    hb_buf_t body;
    hb_buf_init(&body);
    hb_buf_printf(&body, "{\"error\":\"%s\",\"reason\":", error);
    hb_json_cstr(&body, reason);
    hb_buf_puts(&body, "}\n");
    hb_admin_send(req, status, "application/json", &body);
    hb_buf_dispose(&body);
}

static void hb_admin_send_example_of(hb_admin_t *a, h2o_req_t *req, const hb_endpoint_t *ep, const char *example_id);

static void hb_admin_send_example(hb_admin_t *a, h2o_req_t *req, const char *id, const char *example_id)
{
    hb_registry_t *reg = a->probe.registry_acquire(a->probe.ctx);
    hb_admin_send_example_of(a, req, hb_registry_find(reg, id, strlen(id)), example_id);
    a->probe.registry_release(a->probe.ctx, reg);
}

/* The part of hb_admin_send_example() that reads the endpoint: everything it needs later is copied. */
static void hb_admin_send_example_of(hb_admin_t *a, h2o_req_t *req, const hb_endpoint_t *ep, const char *example_id)
{
    const hb_example_t *ex = NULL;
    for (size_t i = 0; ep != NULL && i < ep->cfg->num_examples; i++)
        if (strcmp(ep->cfg->examples[i].id != NULL ? ep->cfg->examples[i].id : "", example_id) == 0)
            ex = &ep->cfg->examples[i];
    if (ex == NULL) {
        hb_admin_error(req, 404, "not_found",
                       ep == NULL ? "no endpoint has this id" : "the endpoint has no such example");
        return;
    }
    if (a->probe.public_tls || a->probe.public_host == NULL) {
        hb_admin_error(req, 409, "cannot_send", "the public listener speaks TLS; send the example from outside");
        return;
    }
    /* the request a sender would send now, signed with the endpoint's own scheme and secret */
    hb_buf_t request;
    hb_buf_init(&request);
    if (hb_testrun_request(ep->verifier, ep->cfg->id, ex->payload_json, a->probe.public_host, a->probe.public_port,
                           &request) != 0) {
        hb_buf_putc(&request, '\0');
        hb_admin_error(req, 409, "cannot_sign", request.base);
        hb_buf_dispose(&request);
        return;
    }
    hb_send_job_t *job = hb_xcalloc(1, sizeof(*job));
    job->admin = a;
    job->req = req;
    job->refs = 2;
    snprintf(job->host, sizeof(job->host), "%s", a->probe.public_host);
    snprintf(job->port, sizeof(job->port), "%s", a->probe.public_port);
    job->request = request;
    hb_buf_init(&job->answer);
    hb_send_job_t **guard = h2o_mem_alloc_shared(&req->pool, sizeof(*guard), hb_send_job_gone);
    *guard = job;
    pthread_t thread;
    atomic_fetch_add(&a->sending, 1);
    if (pthread_create(&thread, NULL, hb_send_job_main, job) != 0) {
        atomic_fetch_sub(&a->sending, 1);
        job->refs--; /* the pool guard keeps its reference */
        hb_admin_error(req, 503, "unavailable", "cannot start a thread");
        return;
    }
    pthread_detach(thread);
}

/* ---- probes ---- */

/* 1 when ready; otherwise 0 with the reason in why. */
static int hb_admin_ready(hb_admin_t *a, char *why, size_t whylen)
{
    if (a->probe.draining(a->probe.ctx)) {
        snprintf(why, whylen, "draining");
        return 0;
    }
    if (a->probe.spool != NULL) {
        /* with a spool, Kafka being away is what the spool is for: ready as long as it takes events */
        hb_spool_stats_t st;
        hb_spool_stats(a->probe.spool, &st);
        if (st.full)
            snprintf(why, whylen, "the spool is full (spool.maxBytes)");
        return !st.full;
    }
    pthread_mutex_lock(&a->lock);
    int64_t ok_ms = a->metadata_ok_ms, age = hb_mono_ms() - ok_ms;
    int ready = ok_ms != 0 && age <= (int64_t)a->probe.readiness_window_ms;
    if (!ready && ok_ms == 0)
        snprintf(why, whylen, "Kafka metadata not fetched yet%s%s", a->metadata_error[0] != '\0' ? ": " : "",
                 a->metadata_error);
    else if (!ready)
        snprintf(why, whylen, "Kafka metadata last fetched %lld ms ago: %s", (long long)age,
                 a->metadata_error[0] != '\0' ? a->metadata_error : "no answer since");
    pthread_mutex_unlock(&a->lock);
    return ready;
}

static void hb_admin_send(h2o_req_t *req, int status, const char *type, hb_buf_t *body)
{
    req->res.status = status;
    switch (status) {
    case 200:
        req->res.reason = "OK";
        break;
    case 404:
        req->res.reason = "Not Found";
        break;
    case 405:
        req->res.reason = "Method Not Allowed";
        break;
    case 409:
        req->res.reason = "Conflict";
        break;
    case 502:
        req->res.reason = "Bad Gateway";
        break;
    default:
        req->res.reason = "Service Unavailable";
    }
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, type, strlen(type));
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, NULL, H2O_STRLIT("no-store"));
    char *copy = h2o_mem_alloc_pool(&req->pool, body->len + 1);
    memcpy(copy, body->len > 0 ? body->base : "", body->len);
    req->res.content_length = body->len;
    h2o_send_inline(req, copy, body->len);
}

static void hb_admin_json_status(h2o_req_t *req, int ok, const char *error, const char *reason)
{
    hb_buf_t body;
    hb_buf_init(&body);
    if (ok) {
        hb_buf_puts(&body, "{\"status\":\"ok\"}\n");
    } else {
        hb_buf_printf(&body, "{\"error\":\"%s\",\"reason\":", error);
        hb_json_cstr(&body, reason);
        hb_buf_puts(&body, "}\n");
    }
    hb_admin_send(req, ok ? 200 : 503, "application/json", &body);
    hb_buf_dispose(&body);
}

static int hb_admin_on_req(h2o_handler_t *self, h2o_req_t *req)
{
    hb_admin_t *a = ((hb_admin_handler_t *)self)->admin;
    h2o_iovec_t path = req->path_normalized;
    char why[512], id[256], example[256];
    if (hb_send_path(path, id, sizeof(id), example, sizeof(example))) {
        if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST")))
            hb_admin_error(req, 405, "method_not_allowed", "POST to send the example");
        else
            hb_admin_send_example(a, req, id, example);
        return 0;
    }
    if (h2o_memis(path.base, path.len, H2O_STRLIT("/healthz"))) {
        unsigned which = 0;
        uint64_t late = a->probe.slowest_worker_ms(a->probe.ctx, &which);
        if (late > HB_HEALTHY_WITHIN_MS)
            snprintf(why, sizeof(why), "worker %u has not answered for %llu ms", which, (unsigned long long)late);
        hb_admin_json_status(req, late <= HB_HEALTHY_WITHIN_MS, "unhealthy", why);
    } else if (h2o_memis(path.base, path.len, H2O_STRLIT("/readyz"))) {
        int ready = hb_admin_ready(a, why, sizeof(why));
        hb_admin_json_status(req, ready, "not_ready", why);
    } else if (h2o_memis(path.base, path.len, H2O_STRLIT("/"))) {
        hb_registry_t *reg = a->probe.registry_acquire(a->probe.ctx);
        size_t n = hb_registry_size(reg);
        const char **icons = hb_xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++)
            icons[i] = hb_registry_at(reg, i)->cfg->icon;
        hb_buf_t body;
        hb_buf_init(&body);
        hb_status_page(icons, n, &body);
        free(icons);
        a->probe.registry_release(a->probe.ctx, reg);
        hb_admin_send(req, 200, "text/html; charset=utf-8", &body);
        hb_buf_dispose(&body);
    } else if (h2o_memis(path.base, path.len, H2O_STRLIT("/api/endpoints"))) {
        hb_buf_t body;
        hb_buf_init(&body);
        hb_admin_endpoints_json(&a->probe, &body);
        hb_admin_send(req, 200, "application/json", &body);
        hb_buf_dispose(&body);
    } else if (h2o_memis(path.base, path.len, H2O_STRLIT("/metrics"))) {
        hb_buf_t body;
        hb_buf_init(&body);
        hb_admin_metrics(&a->probe, hb_admin_ready(a, why, sizeof(why)), &body);
        hb_admin_send(req, 200, "text/plain; version=0.0.4; charset=utf-8", &body);
        hb_buf_dispose(&body);
    } else {
        hb_buf_t body;
        hb_buf_init(&body);
        hb_buf_puts(&body, "{\"error\":\"not_found\",\"reason\":\"the admin port serves /, /api/endpoints, /healthz, "
                           "/readyz and /metrics\"}\n");
        hb_admin_send(req, 404, "application/json", &body);
        hb_buf_dispose(&body);
    }
    return 0;
}

/* ---- threads ---- */

static void hb_admin_on_accept(h2o_socket_t *listener, const char *err)
{
    if (err != NULL)
        return;
    hb_admin_t *a = listener->data;
    h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
    if (sock != NULL)
        h2o_accept(&a->accept_ctx, sock);
}

static void hb_admin_on_ping_timer(h2o_timeout_entry_t *entry)
{
    hb_admin_t *a = H2O_STRUCT_FROM_MEMBER(hb_admin_t, ping_entry, entry);
    a->probe.ping_workers(a->probe.ctx);
    h2o_timeout_link(a->ctx.loop, &a->ping_timeout, &a->ping_entry);
}

static void *hb_admin_main(void *arg)
{
    hb_admin_t *a = arg;
    h2o_context_init(&a->ctx, h2o_evloop_create(), &a->globalconf);
    a->accept_ctx.ctx = &a->ctx;
    a->accept_ctx.hosts = a->globalconf.hosts;
    a->listener = h2o_evloop_socket_create(a->ctx.loop, a->fd, H2O_SOCKET_FLAG_DONT_READ);
    a->listener->data = a;
    h2o_socket_read_start(a->listener, hb_admin_on_accept);
    h2o_multithread_register_receiver(a->ctx.queue, &a->sent_receiver, hb_admin_on_sent);
    h2o_timeout_init(a->ctx.loop, &a->ping_timeout, HB_PING_INTERVAL_MS);
    a->ping_entry.cb = hb_admin_on_ping_timer;
    a->probe.ping_workers(a->probe.ctx);
    h2o_timeout_link(a->ctx.loop, &a->ping_timeout, &a->ping_entry);
    while (!atomic_load(&a->stop))
        h2o_evloop_run(a->ctx.loop, 100);
    if (h2o_timeout_is_linked(&a->ping_entry))
        h2o_timeout_unlink(&a->ping_entry);
    h2o_socket_read_stop(a->listener);
    h2o_socket_close(a->listener);
    return NULL;
}

/* Fetches the endpoints' topics' metadata every few seconds: /readyz wants it recent. Blocks only itself. */
static void *hb_admin_refresher(void *arg)
{
    hb_admin_t *a = arg;
    while (!atomic_load(&a->stop)) {
        char err[256] = "";
        int ok = hb_publisher_metadata(a->probe.publisher, HB_METADATA_TIMEOUT_MS, err, sizeof(err)) == 0;
        pthread_mutex_lock(&a->lock);
        if (ok)
            a->metadata_ok_ms = hb_mono_ms();
        snprintf(a->metadata_error, sizeof(a->metadata_error), "%s", ok ? "" : err);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        /* quickly while not ready, then every few seconds */
        int64_t wait_ms = ok ? HB_METADATA_INTERVAL_MS : 500;
        until.tv_sec += wait_ms / 1000;
        until.tv_nsec += (wait_ms % 1000) * 1000000;
        if (until.tv_nsec >= 1000000000)
            until.tv_sec++, until.tv_nsec -= 1000000000;
        if (!atomic_load(&a->stop))
            pthread_cond_timedwait(&a->wake, &a->lock, &until);
        pthread_mutex_unlock(&a->lock);
    }
    return NULL;
}

static int hb_admin_listen(const hb_listen_t *la, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res;
    int gai = getaddrinfo(*la->host != '\0' ? la->host : NULL, la->port, &hints, &res);
    if (gai != 0) {
        snprintf(err, errlen, "admin.listen %s:%s: %s", la->host, la->port, gai_strerror(gai));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), on = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
        snprintf(err, errlen, "admin.listen %s:%s: %s", la->host, la->port, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    struct sockaddr_storage addr;
    socklen_t addrlen = sizeof(addr);
    getsockname(fd, (struct sockaddr *)&addr, &addrlen);
    char host[NI_MAXHOST], port[16];
    size_t hl = h2o_socket_getnumerichost((struct sockaddr *)&addr, addrlen, host);
    snprintf(port, sizeof(port), "%d", h2o_socket_getport((struct sockaddr *)&addr));
    hb_log(HB_LOG_INFO, "admin listening", "address", hl != SIZE_MAX ? host : "?", "port", port, HB_LOG_END);
    return fd;
}

hb_admin_t *hb_admin_start(const hb_listen_t *listen, const hb_admin_probe_t *probe, char *err, size_t errlen)
{
    int fd = hb_admin_listen(listen, err, errlen);
    if (fd < 0)
        return NULL;
    hb_admin_t *a = hb_xcalloc(1, sizeof(*a));
    a->probe = *probe;
    a->fd = fd;
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->wake, NULL);
    h2o_config_init(&a->globalconf);
    a->globalconf.server_name = h2o_iovec_init(H2O_STRLIT("hookbridge-admin"));
    h2o_hostconf_t *host = h2o_config_register_host(&a->globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    hb_admin_handler_t *handler = (hb_admin_handler_t *)h2o_create_handler(path, sizeof(*handler));
    handler->super.on_req = hb_admin_on_req;
    handler->admin = a;
    pthread_create(&a->refresher, NULL, hb_admin_refresher, a);
    pthread_create(&a->thread, NULL, hb_admin_main, a);
    return a;
}

void hb_admin_stop(hb_admin_t *a)
{
    if (a == NULL)
        return;
    /* test-run threads post to the admin loop: let them finish first (they time out after 30 s) */
    for (int i = 0; i < 3100 && atomic_load(&a->sending) > 0; i++)
        usleep(10000);
    atomic_store(&a->stop, 1);
    pthread_mutex_lock(&a->lock);
    pthread_cond_signal(&a->wake);
    pthread_mutex_unlock(&a->lock);
    pthread_join(a->thread, NULL);
    pthread_join(a->refresher, NULL);
    /* h2o 2.2.5 has no way to dispose an evloop with sockets still open; the process is exiting */
    h2o_config_dispose(&a->globalconf);
    pthread_cond_destroy(&a->wake);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

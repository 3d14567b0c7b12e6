/* bridge/server/reqlog.c: the request log line, the endpoints' last requests, and the clocks they read. */
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

#include "internal.h"

uint64_t hb_now_us(void)
{
    struct timeval now;
    gettimeofday(&now, NULL);
    return (uint64_t)now.tv_sec * 1000000 + (uint64_t)now.tv_usec;
}

uint64_t hb_received_us(const h2o_req_t *req)
{
    return (uint64_t)req->processed_at.at.tv_sec * 1000000 + (uint64_t)req->processed_at.at.tv_usec;
}

int64_t hb_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The trace id of a W3C traceparent header ("00-<32 hex>-<16 hex>-<2 hex>") into out, or "". */
void hb_trace_id(const h2o_req_t *req, char out[33])
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
void hb_log_request(const hb_config_t *cfg, hb_endpoint_t *ep, int status, const char *outcome, const char *reason,
                    const char *event_id, const char *trace_id, uint64_t received_us)
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

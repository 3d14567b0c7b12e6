#include "endpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dedupe.h"

struct hb_registry {
    const hb_config_t *cfg;
    hb_config_t *owned_cfg;   /* freed with the registry (a configuration loaded by a reload) */
    atomic_long refs;         /* holders besides the one that made it: in-flight tickets, the admin thread */
    hb_endpoint_t *endpoints; /* config order */
    hb_endpoint_t **sorted;   /* by id, for lookup */
    size_t n;
};

static int hb_cmp_id(const void *a, const void *b)
{
    const hb_endpoint_t *x = *(hb_endpoint_t *const *)a, *y = *(hb_endpoint_t *const *)b;
    return strcmp(x->cfg->id, y->cfg->id);
}

hb_registry_t *hb_registry_new(const hb_config_t *cfg, char *err, size_t errlen)
{
    hb_registry_t *reg = hb_xcalloc(1, sizeof(*reg));
    reg->cfg = cfg;
    reg->n = cfg->num_endpoints;
    reg->endpoints = hb_xcalloc(reg->n, sizeof(hb_endpoint_t));
    reg->sorted = hb_xcalloc(reg->n, sizeof(hb_endpoint_t *));
    for (size_t i = 0; i < reg->n; i++) {
        hb_endpoint_t *ep = &reg->endpoints[i];
        char verr[256];
        ep->cfg = &cfg->endpoints[i];
        ep->verifier = hb_verifier_new(&ep->cfg->verify, verr, sizeof(verr));
        if (ep->verifier == NULL) {
            snprintf(err, errlen, "endpoint %s: %s", ep->cfg->id, verr);
            hb_registry_free(reg);
            return NULL;
        }
        ep->trigger_topics = hb_xcalloc(ep->cfg->num_triggers, sizeof(void *));
        const char *secret_header = hb_verifier_secret_header(ep->verifier);
        ep->redact = hb_xcalloc(cfg->num_redact_headers + 1, sizeof(char *));
        for (size_t r = 0; r < cfg->num_redact_headers; r++)
            ep->redact[ep->num_redact++] = cfg->redact_headers[r];
        if (secret_header != NULL) /* the shared token is the secret: it never travels on */
            ep->redact[ep->num_redact++] = secret_header;
        if (ep->cfg->dedupe_size > 0)
            ep->dedupe = hb_dedupe_new(ep->cfg->dedupe_size, ep->cfg->dedupe_max_age_ms);
        const hb_respond_config_t *rw = ep->cfg->respond_with;
        ep->needs_body = rw != NULL && (hb_reqfilter_needs_body(rw->filter) || hb_template_needs_body(rw->body));
        for (size_t t = 0; t < ep->cfg->num_triggers; t++)
            if (ep->cfg->triggers[t].filter != NULL && hb_reqfilter_needs_body(ep->cfg->triggers[t].filter))
                ep->needs_body = 1;
        atomic_store(&ep->rejections[HB_MAX_REASONS - 1].reason, HB_REASON_OTHER);
        reg->sorted[i] = ep;
    }
    qsort(reg->sorted, reg->n, sizeof(*reg->sorted), hb_cmp_id);
    return reg;
}

void hb_registry_free(hb_registry_t *reg)
{
    if (reg == NULL)
        return;
    for (size_t i = 0; i < reg->n; i++) {
        hb_verifier_free(reg->endpoints[i].verifier);
        free(reg->endpoints[i].trigger_topics);
        hb_dedupe_free(reg->endpoints[i].dedupe);
        free(reg->endpoints[i].redact);
    }
    free(reg->endpoints);
    free(reg->sorted);
    hb_config_free(reg->owned_cfg);
    free(reg);
}

hb_endpoint_t *hb_registry_find(const hb_registry_t *reg, const char *id, size_t idlen)
{
    size_t lo = 0, hi = reg->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *cand = reg->sorted[mid]->cfg->id;
        size_t candlen = strlen(cand);
        int c = memcmp(cand, id, candlen < idlen ? candlen : idlen);
        if (c == 0)
            c = candlen < idlen ? -1 : candlen > idlen ? 1 : 0;
        if (c == 0)
            return reg->sorted[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

void hb_endpoint_count_rejection(hb_endpoint_t *ep, const char *reason)
{
    atomic_fetch_add_explicit(&ep->counters.rejected, 1, memory_order_relaxed);
    for (size_t i = 0; i < HB_MAX_REASONS - 1; i++) {
        const char *seen = atomic_load_explicit(&ep->rejections[i].reason, memory_order_acquire);
        /* claim a free slot; whoever loses the race compares against the winner's text */
        if (seen == NULL && atomic_compare_exchange_strong_explicit(&ep->rejections[i].reason, &seen, reason,
                                                                    memory_order_acq_rel, memory_order_acquire))
            seen = reason;
        if (strcmp(seen, reason) == 0) {
            atomic_fetch_add_explicit(&ep->rejections[i].count, 1, memory_order_relaxed);
            return;
        }
    }
    atomic_fetch_add_explicit(&ep->rejections[HB_MAX_REASONS - 1].count, 1, memory_order_relaxed);
}

void hb_endpoint_remember(hb_endpoint_t *ep, int64_t at_ms, int status, const char *outcome, const char *reason,
                          uint64_t latency_us)
{
    unsigned long n = atomic_fetch_add_explicit(&ep->recent_next, 1, memory_order_relaxed);
    hb_recent_entry_t *e = &ep->recent[n % HB_RECENT];
    /* odd while written; a writer lapping another on the same slot 50 requests later is tolerated: readers retry */
    unsigned seq = atomic_fetch_add_explicit(&e->seq, 1, memory_order_acq_rel);
    atomic_thread_fence(memory_order_release);
    e->at_ms = at_ms;
    e->status = status;
    e->outcome = outcome;
    size_t len = reason != NULL ? strnlen(reason, sizeof(e->reason) - 1) : 0;
    if (len > 0)
        memcpy(e->reason, reason, len); /* on every request: no printf */
    e->reason[len] = '\0';
    e->latency_us = latency_us > UINT32_MAX ? UINT32_MAX : (uint32_t)latency_us;
    atomic_store_explicit(&e->seq, seq + 2, memory_order_release);
}

size_t hb_endpoint_recent(const hb_endpoint_t *ep, hb_recent_view_t *out)
{
    unsigned long next = atomic_load_explicit(&ep->recent_next, memory_order_acquire);
    size_t n = 0;
    for (unsigned long k = 0; k < HB_RECENT && k < next; k++) {
        const hb_recent_entry_t *e = &ep->recent[(next - 1 - k) % HB_RECENT];
        for (int attempt = 0; attempt < 4; attempt++) {
            unsigned before = atomic_load_explicit(&e->seq, memory_order_acquire);
            if (before & 1)
                continue; /* being written */
            hb_recent_view_t v = {e->at_ms, e->status, e->outcome, "", e->latency_us};
            memcpy(v.reason, e->reason, sizeof(v.reason));
            v.reason[sizeof(v.reason) - 1] = '\0';
            atomic_thread_fence(memory_order_acquire);
            if (atomic_load_explicit(&e->seq, memory_order_relaxed) == before && v.outcome != NULL) {
                out[n++] = v;
                break;
            }
        }
    }
    return n;
}

const hb_config_t *hb_registry_config(const hb_registry_t *reg)
{
    return reg->cfg;
}

void hb_registry_own_config(hb_registry_t *reg, hb_config_t *cfg)
{
    reg->owned_cfg = cfg;
}

void hb_registry_hold(hb_registry_t *reg)
{
    atomic_fetch_add_explicit(&reg->refs, 1, memory_order_relaxed);
}

void hb_registry_drop(hb_registry_t *reg)
{
    atomic_fetch_sub_explicit(&reg->refs, 1, memory_order_release);
}

long hb_registry_holders(const hb_registry_t *reg)
{
    return atomic_load_explicit(&reg->refs, memory_order_acquire);
}

size_t hb_registry_size(const hb_registry_t *reg)
{
    return reg->n;
}

hb_endpoint_t *hb_registry_at(const hb_registry_t *reg, size_t i)
{
    return &reg->endpoints[i];
}

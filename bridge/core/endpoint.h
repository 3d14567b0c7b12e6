/* bridge/core/endpoint.h: the endpoints of one configuration, looked up by id. Pure. */
#ifndef HB_ENDPOINT_H
#define HB_ENDPOINT_H

#include "config.h"
#include "filter.h"
#include "metrics.h"
#include "respond.h"
#include "verify.h"

#include <stdatomic.h>

/** What happened to the requests of an endpoint; relaxed atomics, any thread. */
typedef struct hb_endpoint_counters {
    atomic_ullong published;     /* answered 2xx after Kafka had every record */
    atomic_ullong spooled;       /* answered 2xx after the spool had every record on disk (durability: spool) */
    atomic_ullong responded;     /* answered by respondWith without publishing */
    atomic_ullong filtered_out;  /* verified, but no trigger matched */
    atomic_ullong rejected;      /* signature failed */
    atomic_ullong too_large;     /* body over maxBodySize */
    atomic_ullong unavailable;   /* Kafka failed or timed out, queue full, draining */
    atomic_ullong body_unparsed; /* a JSON or form body that did not parse (or nested too deeply) */
    atomic_ullong duplicate;     /* a retry of an event published within the deduplicate window: 2xx, not again */
} hb_endpoint_counters_t;

/* Rejections by reason: the verifier's texts ("Signature mismatch", "Missing header X-..."), a small set per
   endpoint, so a bounded label; anything past the table is counted under HB_REASON_OTHER. */
#define HB_MAX_REASONS 16
#define HB_REASON_OTHER "other"
typedef struct hb_reason_count {
    _Atomic(const char *) reason; /* NULL: a free slot; the text outlives the registry (static or verifier-owned) */
    atomic_ullong count;
} hb_reason_count_t;

/* The last requests of an endpoint, for the status page: time, outcome, reason, latency; never bodies or secrets.
   Written lock-free by any worker (a sequence number per slot, odd while it is written), read by the admin thread. */
#define HB_RECENT 50
typedef struct hb_recent_entry {
    atomic_uint seq;
    int64_t at_ms; /* unix ms the request was received */
    int status;
    const char *outcome; /* static text */
    char reason[96];
    uint32_t latency_us;
} hb_recent_entry_t;

typedef struct hb_recent_view {
    int64_t at_ms;
    int status;
    const char *outcome;
    char reason[96];
    uint32_t latency_us;
} hb_recent_view_t;

typedef struct hb_endpoint {
    const hb_endpoint_config_t *cfg; /* borrowed from the hb_config_t the registry was built from */
    hb_verifier_t *verifier;
    void *topic;           /* the publisher's handle for cfg->topic, set by the server at setup */
    void **trigger_topics; /* the handle of each trigger's topic (same order as cfg->triggers), set likewise */
    int needs_body;        /* a filter or template reads the body */
    hb_endpoint_counters_t counters;
    hb_reason_count_t rejections[HB_MAX_REASONS]; /* the last slot is HB_REASON_OTHER */
    hb_latency_t latency;                         /* of published events: received → last delivery report */
    struct hb_dedupe *dedupe;                     /* the published ids of the window, or NULL (deduplicate off) */
    const char **redact; /* header names redacted in its envelopes: redactHeaders and a token scheme's header */
    size_t num_redact;
    hb_recent_entry_t recent[HB_RECENT];
    atomic_ulong recent_next;
} hb_endpoint_t;

/** Remembers one answered request among the endpoint's last HB_RECENT. reason may be NULL. Any thread, lock-free. */
void hb_endpoint_remember(hb_endpoint_t *ep, int64_t at_ms, int status, const char *outcome, const char *reason,
                          uint64_t latency_us);
/** Copies the remembered requests, newest first, into out (HB_RECENT entries); returns how many. Any thread. */
size_t hb_endpoint_recent(const hb_endpoint_t *ep, hb_recent_view_t *out);
/** Counts a rejection (also in counters.rejected) under its reason, lock-free. Any thread. */
void hb_endpoint_count_rejection(hb_endpoint_t *ep, const char *reason);

typedef struct hb_registry hb_registry_t;

/** Builds the registry from cfg, which must outlive it. NULL on error, reason in err. */
hb_registry_t *hb_registry_new(const hb_config_t *cfg, char *err, size_t errlen);
/** Accepts NULL. */
void hb_registry_free(hb_registry_t *reg);
/** Borrowed, valid until hb_registry_free(); NULL when id is unknown. Any thread. */
hb_endpoint_t *hb_registry_find(const hb_registry_t *reg, const char *id, size_t idlen);
/** The configuration the registry was built from. */
const hb_config_t *hb_registry_config(const hb_registry_t *reg);
/** Makes the registry own cfg: hb_registry_free() frees it too (a configuration loaded by a reload). */
void hb_registry_own_config(hb_registry_t *reg, hb_config_t *cfg);
/**
 * Counts a holder that may still use the registry after a reload replaced it (an in-flight request, the admin
 * thread). A replaced registry is freed once it has none. Any thread, lock-free.
 */
void hb_registry_hold(hb_registry_t *reg);
void hb_registry_drop(hb_registry_t *reg);
long hb_registry_holders(const hb_registry_t *reg);
/** Number of endpoints; with hb_registry_at() for iteration in config order. */
size_t hb_registry_size(const hb_registry_t *reg);
/** The i-th endpoint in config order. */
hb_endpoint_t *hb_registry_at(const hb_registry_t *reg, size_t i);

#endif

/* bridge/core/metrics.h: what /metrics shows, gathered lock-free on the request path and rendered as Prometheus text.
 */
#ifndef HB_METRICS_H
#define HB_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Publish latency (request received → last delivery report), upper bounds in seconds; +Inf is implied. */
#define HB_LATENCY_BUCKETS 12
extern const double hb_latency_bounds[HB_LATENCY_BUCKETS];

typedef struct hb_latency {
    atomic_ullong bucket[HB_LATENCY_BUCKETS + 1]; /* not cumulative; the last one is +Inf */
    atomic_ullong sum_us;
    atomic_ullong count;
} hb_latency_t;

/** Adds one observation. Any thread, lock-free. */
void hb_latency_observe(hb_latency_t *h, uint64_t us);

/** The mean of the brokers' "rtt": {"avg": µs} in librdkafka's statistics JSON, or -1 when none has one. Pure. */
long long hb_stats_rtt_us(const char *json, size_t len);

/** This process's CPU time (user + system) in seconds and resident set size in bytes; 0 on success. */
int hb_process_stats(double *cpu_seconds, long long *rss_bytes);

/* Prometheus text exposition (version 0.0.4). */
/** The # HELP and # TYPE lines of a metric family. */
void hb_prom_help(hb_buf_t *out, const char *name, const char *type, const char *help);
/** Appends `name="value"` (comma-separated from what labels holds), value escaped: \\, \", \n. */
void hb_prom_label(hb_buf_t *labels, const char *name, const char *value);
/** One sample: name{labels} value (labels may be empty). */
void hb_prom_sample(hb_buf_t *out, const char *name, const hb_buf_t *labels, double value);

#endif

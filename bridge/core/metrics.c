/* bridge/core/metrics.c: latency histograms, librdkafka statistics, process statistics, Prometheus text. */
#include "metrics.h"

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "body.h"
#include "json.h"

const double hb_latency_bounds[HB_LATENCY_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,   0.25,   0.5,   1,    2.5,   10};

void hb_latency_observe(hb_latency_t *h, uint64_t us)
{
    size_t i = 0;
    while (i < HB_LATENCY_BUCKETS && (double)us > hb_latency_bounds[i] * 1e6)
        i++;
    atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_us, us, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
}

static const msgpack_object *hb_get(const msgpack_object *o, const char *key)
{
    if (o == NULL || o->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == strlen(key) &&
            hb_mem_eq(kv->key.via.str.ptr, key, kv->key.via.str.size))
            return &kv->val;
    }
    return NULL;
}

long long hb_stats_rtt_us(const char *json, size_t len)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    long long sum = 0, n = 0;
    size_t off = 0;
    if (hb_json_to_msgpack(json, len, HB_BODY_MAX_DEPTH, &sb, NULL, 0) == 0 &&
        msgpack_unpack_next(&up, sb.data, sb.size, &off) == MSGPACK_UNPACK_SUCCESS) {
        const msgpack_object *brokers = hb_get(&up.data, "brokers");
        for (uint32_t i = 0; brokers != NULL && brokers->type == MSGPACK_OBJECT_MAP && i < brokers->via.map.size; i++) {
            const msgpack_object *avg = hb_get(hb_get(&brokers->via.map.ptr[i].val, "rtt"), "avg");
            /* brokers without traffic (the bootstrap entry, idle ones) report 0 */
            if (avg != NULL && avg->type == MSGPACK_OBJECT_POSITIVE_INTEGER && avg->via.u64 > 0) {
                sum += (long long)avg->via.u64;
                n++;
            }
        }
    }
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
    return n > 0 ? sum / n : -1;
}

int hb_process_stats(double *cpu_seconds, long long *rss_bytes)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    *cpu_seconds = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
                   (double)ru.ru_stime.tv_usec / 1e6;
    /* the current resident size (ru_maxrss is the peak): the second field of /proc/self/statm, in pages */
    FILE *fp = fopen("/proc/self/statm", "r");
    char line[128];
    int ok = fp != NULL && fgets(line, sizeof(line), fp) != NULL;
    if (fp != NULL)
        fclose(fp);
    char *end = line;
    if (ok) {
        strtoll(line, &end, 10); /* the total size, skipped */
        long long resident = strtoll(end, &end, 10);
        ok = end != line && resident > 0;
        *rss_bytes = ok ? resident * sysconf(_SC_PAGESIZE) : 0;
    }
    return ok ? 0 : -1;
}

void hb_prom_help(hb_buf_t *out, const char *name, const char *type, const char *help)
{
    hb_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void hb_prom_label(hb_buf_t *labels, const char *name, const char *value)
{
    if (labels->len > 0)
        hb_buf_putc(labels, ',');
    hb_buf_printf(labels, "%s=\"", name);
    for (const char *c = value; *c != '\0'; c++) {
        if (*c == '\\' || *c == '"')
            hb_buf_putc(labels, '\\');
        if (*c == '\n')
            hb_buf_puts(labels, "\\n");
        else
            hb_buf_putc(labels, *c);
    }
    hb_buf_putc(labels, '"');
}

void hb_prom_sample(hb_buf_t *out, const char *name, const hb_buf_t *labels, double value)
{
    hb_buf_puts(out, name);
    if (labels != NULL && labels->len > 0) {
        hb_buf_putc(out, '{');
        hb_buf_append(out, labels->base, labels->len);
        hb_buf_putc(out, '}');
    }
    hb_buf_putc(out, ' ');
    hb_js_number(value, out); /* the shortest text that reads back as the same double, as JavaScript prints it */
    hb_buf_putc(out, '\n');
}

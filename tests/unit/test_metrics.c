/* tests/unit/test_metrics.c: latency buckets, librdkafka statistics, Prometheus text. */
#include <string.h>

#include "metrics.h"
#include "tap.h"

static void test_latency(void)
{
    hb_latency_t h;
    memset(&h, 0, sizeof(h));
    hb_latency_observe(&h, 500);      /* 0.5 ms: first bucket (≤ 1 ms) */
    hb_latency_observe(&h, 1000);     /* exactly 1 ms: still the first (le is inclusive) */
    hb_latency_observe(&h, 1001);     /* just above: the second (≤ 2.5 ms) */
    hb_latency_observe(&h, 20000000); /* 20 s: past the last bound, +Inf */
    is_int(atomic_load(&h.bucket[0]), 2, "≤ 1 ms: two");
    is_int(atomic_load(&h.bucket[1]), 1, "≤ 2.5 ms: one");
    is_int(atomic_load(&h.bucket[HB_LATENCY_BUCKETS]), 1, "+Inf: one");
    is_int(atomic_load(&h.count), 4, "count");
    is_int(atomic_load(&h.sum_us), 20002501, "sum in µs");
}

static void test_stats(void)
{
    /* the shape of librdkafka 2.0's statistics: brokers by name, rtt in µs; idle ones report 0 */
    static const char stats[] = "{\"name\":\"hookbridge#producer-1\",\"msg_cnt\":0,\"brokers\":{"
                                "\"127.0.0.1:9092/1\":{\"name\":\"127.0.0.1:9092/1\",\"rtt\":{\"min\":100,\"avg\":3000,"
                                "\"max\":9000}},"
                                "\"127.0.0.1:9093/2\":{\"rtt\":{\"avg\":1000}},"
                                "\"GroupCoordinator\":{\"rtt\":{\"avg\":0}},"
                                "\"bootstrap\":{\"state\":\"INIT\"}}}";
    is_int(hb_stats_rtt_us(stats, sizeof(stats) - 1), 2000, "the mean of the brokers that have an rtt");
    static const char *const unknown[][2] = {
        {"{\"brokers\":{}}", "no broker"},
        {"{\"brokers\":{\"b\":{\"rtt\":{\"avg\":0}}}}", "idle brokers only"},
        {"{\"brokers\":{\"b\":{\"rtt\":{\"avg\":\"7\"}}}}", "an rtt that is not a number"},
        {"not json", "not JSON"}};
    for (size_t i = 0; i < HB_ARRAY_SIZE(unknown); i++)
        is_int(hb_stats_rtt_us(unknown[i][0], strlen(unknown[i][0])), -1, "%s: unknown", unknown[i][1]);
    static const char one[] = "{\"brokers\":{\"b\":{\"rtt\":{\"avg\":1234}}}}";
    is_int(hb_stats_rtt_us(one, strlen(one)), 1234, "one broker: its rtt");
}

static void test_prometheus(void)
{
    hb_buf_t out, labels;
    hb_buf_init(&out);
    hb_buf_init(&labels);
    hb_prom_help(&out, "m_total", "counter", "Things.");
    hb_prom_label(&labels, "endpoint", "a\"b\\c\nd");
    hb_prom_label(&labels, "outcome", "ok");
    hb_prom_sample(&out, "m_total", &labels, 3);
    hb_prom_sample(&out, "g", NULL, 0.25);
    hb_buf_putc(&out, '\0');
    is_str(out.base,
           "# HELP m_total Things.\n# TYPE m_total counter\n"
           "m_total{endpoint=\"a\\\"b\\\\c\\nd\",outcome=\"ok\"} 3\ng 0.25\n",
           "help, type, escaped labels, shortest numbers");
    hb_buf_dispose(&out);
    hb_buf_dispose(&labels);

    double cpu = -1;
    long long rss = -1;
    is_int(hb_process_stats(&cpu, &rss), 0, "process statistics are readable");
    ok(cpu >= 0 && rss > 100000, "cpu %.3f s, rss %lld bytes", cpu, rss);
}

int main(void)
{
    test_latency();
    test_stats();
    test_prometheus();
    return done_testing();
}

#include "tail.h"

#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "envelope.h"
#include "log.h"

static volatile sig_atomic_t hb_tail_stop;

static void hb_tail_on_signal(int sig)
{
    hb_tail_stop = 1;
}

static uint64_t hb_tail_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Assigns every partition of the topics once they exist; 1 when assigned, 0 to try again later. */
static int hb_tail_assign(rd_kafka_t *rk, const hb_tail_options_t *opts)
{
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(8);
    int ready = 1;
    for (size_t i = 0; i < opts->num_topics && ready; i++) {
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, opts->topics[i], NULL);
        const struct rd_kafka_metadata *md = NULL;
        if (rd_kafka_metadata(rk, 0, rkt, &md, 2000) != RD_KAFKA_RESP_ERR_NO_ERROR || md->topic_cnt != 1 ||
            md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR || md->topics[0].partition_cnt == 0) {
            ready = 0;
        } else {
            for (int p = 0; p < md->topics[0].partition_cnt; p++)
                rd_kafka_topic_partition_list_add(parts, opts->topics[i], md->topics[0].partitions[p].id)->offset =
                    opts->from_beginning ? RD_KAFKA_OFFSET_BEGINNING : RD_KAFKA_OFFSET_END;
        }
        if (md != NULL)
            rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
    }
    if (ready)
        rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    return ready;
}

int hb_tail_run(const hb_tail_options_t *opts, FILE *out)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", opts->brokers, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "group.id", "hookbridge-tail", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        fprintf(stderr, "hookbridge tail: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        fprintf(stderr, "hookbridge tail: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    rd_kafka_poll_set_consumer(rk);
    signal(SIGINT, hb_tail_on_signal);
    signal(SIGTERM, hb_tail_on_signal);

    int ret = 0, assigned = 0;
    long seen = 0;
    uint64_t start = hb_tail_now_ms(), next_assign = 0;
    hb_buf_t line;
    hb_buf_init(&line);
    while (!hb_tail_stop && (opts->max_events == 0 || seen < opts->max_events)) {
        if (opts->timeout_ms != 0 && hb_tail_now_ms() - start >= opts->timeout_ms) {
            ret = 1;
            break;
        }
        if (!assigned) {
            if (hb_tail_now_ms() >= next_assign && !(assigned = hb_tail_assign(rk, opts)))
                next_assign = hb_tail_now_ms() + 500;
            if (!assigned) {
                struct timespec ts = {0, 100L * 1000000};
                nanosleep(&ts, NULL);
                continue;
            }
        }
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 200);
        if (msg == NULL)
            continue;
        if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            char err[256];
            line.len = 0;
            if (hb_envelope_to_json(msg->payload, msg->len, &line, err, sizeof(err)) == 0) {
                hb_buf_putc(&line, '\n');
                fwrite(line.base, 1, line.len, out);
                fflush(out);
            } else {
                fprintf(stderr, "hookbridge tail: %s [%d] offset %lld: %s\n", rd_kafka_topic_name(msg->rkt),
                        msg->partition, (long long)msg->offset, err);
            }
            seen++;
        } else if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            fprintf(stderr, "hookbridge tail: %s\n", rd_kafka_message_errstr(msg));
        }
        rd_kafka_message_destroy(msg);
    }
    hb_buf_dispose(&line);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return ret;
}

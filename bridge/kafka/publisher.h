/* bridge/kafka/publisher.h: the one shared librdkafka producer, and the thread that serves its delivery reports. */
#ifndef HB_PUBLISHER_H
#define HB_PUBLISHER_H

#include <librdkafka/rdkafka.h>

#include "config.h"

typedef struct hb_publisher hb_publisher_t;

/**
 * What a produced record's report goes to: embed it in the producer's own state. cb is called on the publisher's
 * poll thread exactly once per accepted record with the outcome (RD_KAFKA_RESP_ERR_NO_ERROR: the broker has it with
 * acks=all). It must not block.
 */
typedef struct hb_delivery hb_delivery_t;
struct hb_delivery {
    void (*cb)(hb_delivery_t *delivery, rd_kafka_resp_err_t err);
};

/** One record to produce. Borrowed, except value: see hb_publisher_produce(). */
typedef struct hb_record {
    rd_kafka_topic_t *topic;
    const void *key;
    size_t key_len;
    void *value; /* malloc'd */
    size_t value_len;
    const char *content_type; /* of the value: HB_ENVELOPE_CONTENT_TYPE or HB_ENVELOPE_JSON_CONTENT_TYPE */
    const char *endpoint;
    const char *event_id;
    int64_t timestamp_ms;
    const char *traceparent, *tracestate; /* W3C trace context as received, carried on: NULL when absent */
    size_t traceparent_len, tracestate_len;
    hb_delivery_t *delivery; /* its report goes there */
} hb_record_t;

/**
 * Fills conf with hookbridge's fixed settings and the config's kafka.producer properties, so that `check` can
 * validate them without connecting. 0, or -1 with the reason in err.
 */
int hb_publisher_conf(rd_kafka_conf_t *conf, const hb_config_t *cfg, const char *bootstrap, char *err, size_t errlen);
/**
 * Creates the idempotent producer (acks=all) for bootstrap and starts its poll thread. NULL on error, reason in err.
 * Setup thread.
 */
hb_publisher_t *hb_publisher_new(const hb_config_t *cfg, const char *bootstrap, char *err, size_t errlen);
/**
 * The spool's forwarder: a second producer with the same settings whose records never time out
 * (message.timeout.ms 0), so that a broker outage never fails a record while a later one gets through: the
 * idempotent producer then keeps the spool's order. It shares main's "every broker down" flag. Setup thread.
 */
hb_publisher_t *hb_publisher_new_forwarder(const hb_config_t *cfg, const char *bootstrap, hb_publisher_t *main,
                                           char *err, size_t errlen);
/** A topic handle owned by the publisher (created on first use; never removed before hb_publisher_free). Any thread. */
rd_kafka_topic_t *hb_publisher_topic(hb_publisher_t *pub, const char *name);
/**
 * Enqueues the record without blocking. On RD_KAFKA_RESP_ERR_NO_ERROR the value belongs to the publisher and the
 * delivery callback will be called exactly once; on any error (e.g. __QUEUE_FULL) the value stays the caller's and
 * the callback is never called. Any thread.
 */
rd_kafka_resp_err_t hb_publisher_produce(hb_publisher_t *pub, const hb_record_t *rec);
/** Waits up to timeout_ms for every enqueued record to be reported. 0 when none is left. Any thread but the poller. */
int hb_publisher_flush(hb_publisher_t *pub, int timeout_ms);
/**
 * Fetches the metadata of every topic handle of the publisher (topics the endpoints publish to). 0 when each has
 * partitions with leaders; -1 with the first problem in err. Blocks up to timeout_ms per topic: never on a worker.
 */
int hb_publisher_metadata(hb_publisher_t *pub, int timeout_ms, char *err, size_t errlen);
/** The brokers' mean round-trip time in µs from librdkafka's last statistics, or -1 before any. Any thread. */
long long hb_publisher_rtt_us(hb_publisher_t *pub);
/** 1 when librdkafka reported every broker down and no record was acknowledged since. Any thread. */
int hb_publisher_down(hb_publisher_t *pub);
/** Records enqueued and not yet reported. Any thread. */
int hb_publisher_outq_len(hb_publisher_t *pub);
/** Stops the poll thread and destroys the producer (records still queued are reported as failed). Accepts NULL. */
void hb_publisher_free(hb_publisher_t *pub);

/** librdkafka's in-process mock cluster: `kafka.brokers: embedded`. Nothing in it is durable. */
typedef struct hb_embedded hb_embedded_t;
/** Starts a one-broker mock cluster. NULL on error, reason in err. */
hb_embedded_t *hb_embedded_new(char *err, size_t errlen);
/** Its bootstrap address ("127.0.0.1:PORT"). Borrowed. */
const char *hb_embedded_bootstraps(const hb_embedded_t *emb);
/** Accepts NULL. */
void hb_embedded_free(hb_embedded_t *emb);

#endif

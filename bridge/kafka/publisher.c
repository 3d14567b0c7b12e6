#include "publisher.h"

#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "log.h"
#include "metrics.h"

struct hb_publisher {
    rd_kafka_t *rk;
    pthread_t poller;
    atomic_int stop;
    pthread_mutex_t topics_lock; /* a reload adds topics while the admin thread reads the list */
    rd_kafka_topic_t **topics;
    size_t num_topics;
    atomic_llong rtt_us;     /* the brokers' mean round-trip time from the last statistics, -1 before any */
    atomic_int down_storage; /* the main publisher's "down" */
    atomic_int *down;        /* librdkafka said every broker is down, and no record was acknowledged since: the main
                                publisher's flag, which its forwarder shares */
};

static void hb_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *conf_opaque)
{
    hb_publisher_t *pub = conf_opaque;
    if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR && atomic_load_explicit(pub->down, memory_order_relaxed))
        atomic_store(pub->down, 0);
    hb_delivery_t *d = msg->_private;
    d->cb(d, msg->err);
}

static void hb_on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    hb_log(level <= 3   ? HB_LOG_ERROR
           : level <= 4 ? HB_LOG_WARN
                        : HB_LOG_INFO,
           "kafka", "facility", fac, "detail", buf, HB_LOG_END);
}

static void hb_on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        atomic_store(((hb_publisher_t *)opaque)->down, 1);
    hb_log(HB_LOG_WARN, "kafka error", "error", rd_kafka_err2name((rd_kafka_resp_err_t)err), "detail", reason,
           HB_LOG_END);
}

/*
 * librdkafka's statistics (JSON, every statistics.interval.ms, on the poll thread): the mean of the brokers'
 * rtt.avg (microseconds) of the brokers that have one.
 */
static int hb_on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    hb_publisher_t *pub = opaque;
    long long rtt = hb_stats_rtt_us(json, len);
    if (rtt >= 0)
        atomic_store(&pub->rtt_us, rtt);
    return 0; /* librdkafka frees json */
}

static int hb_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, char *err, size_t errlen)
{
    char rkerr[512];
    if (rd_kafka_conf_set(conf, key, value, rkerr, sizeof(rkerr)) != RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "kafka property %s=%s: %s", key, value, rkerr);
        return -1;
    }
    return 0;
}

int hb_publisher_conf(rd_kafka_conf_t *conf, const hb_config_t *cfg, const char *bootstrap, char *err, size_t errlen)
{
    char timeout[32];
    snprintf(timeout, sizeof(timeout), "%llu", (unsigned long long)cfg->kafka.delivery_timeout_ms);
    const char *fixed[][2] = {
        {"bootstrap.servers", bootstrap},
        {"client.id", "hookbridge"},
        {"enable.idempotence", "true"}, /* implies acks=all and ordered, gap-less retries */
        {"acks", "all"},
        {"socket.nagle.disable", "true"},
        {"message.timeout.ms", timeout},
        {"linger.ms", "1"}, /* a sender waits for its report: batch for 1 ms, not librdkafka's default 5 */
        {"statistics.interval.ms", "10000"}, /* the broker round-trip time for /metrics; kafka.producer may change it */
        /* a bound on what waits for the brokers (librdkafka's default is 1 GiB): past it produce fails at once,
           __QUEUE_FULL, and the sender gets 503 instead of the process growing; kafka.producer may change it */
        {"queue.buffering.max.kbytes", "65536"},
    };
    for (size_t i = 0; i < HB_ARRAY_SIZE(fixed); i++)
        if (hb_conf_set(conf, fixed[i][0], fixed[i][1], err, errlen) != 0)
            return -1;
    for (size_t i = 0; i < cfg->kafka.num_producer; i++)
        if (hb_conf_set(conf, cfg->kafka.producer[i].key, cfg->kafka.producer[i].value, err, errlen) != 0)
            return -1;
    return 0;
}

static void *hb_poll_main(void *arg)
{
    hb_publisher_t *pub = arg;
    while (!atomic_load(&pub->stop))
        rd_kafka_poll(pub->rk, 100);
    return NULL;
}

/* main == NULL: the main publisher; else the spool's forwarder for main (records never time out). */
static hb_publisher_t *hb_publisher_create(const hb_config_t *cfg, const char *bootstrap, hb_publisher_t *main,
                                           char *err, size_t errlen)
{
    hb_publisher_t *pub = hb_xcalloc(1, sizeof(*pub));
    pub->down = main != NULL ? main->down : &pub->down_storage;
    pthread_mutex_init(&pub->topics_lock, NULL);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (hb_publisher_conf(conf, cfg, bootstrap, err, errlen) != 0 ||
        (main != NULL && (hb_conf_set(conf, "message.timeout.ms", "0", err, errlen) != 0 ||
                          hb_conf_set(conf, "client.id", "hookbridge-spool", err, errlen) != 0))) {
        rd_kafka_conf_destroy(conf);
        free(pub);
        return NULL;
    }
    rd_kafka_conf_set_opaque(conf, pub);
    rd_kafka_conf_set_dr_msg_cb(conf, hb_on_delivery);
    rd_kafka_conf_set_log_cb(conf, hb_on_log);
    rd_kafka_conf_set_error_cb(conf, hb_on_error);
    rd_kafka_conf_set_stats_cb(conf, hb_on_stats);
    atomic_store(&pub->rtt_us, -1);
    char rkerr[512];
    pub->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, rkerr, sizeof(rkerr)); /* owns conf on success */
    if (pub->rk == NULL) {
        snprintf(err, errlen, "cannot create the Kafka producer: %s", rkerr);
        rd_kafka_conf_destroy(conf);
        free(pub);
        return NULL;
    }
    if (pthread_create(&pub->poller, NULL, hb_poll_main, pub) != 0) {
        snprintf(err, errlen, "cannot start the Kafka poll thread");
        rd_kafka_destroy(pub->rk);
        free(pub);
        return NULL;
    }
    return pub;
}

hb_publisher_t *hb_publisher_new(const hb_config_t *cfg, const char *bootstrap, char *err, size_t errlen)
{
    return hb_publisher_create(cfg, bootstrap, NULL, err, errlen);
}

hb_publisher_t *hb_publisher_new_forwarder(const hb_config_t *cfg, const char *bootstrap, hb_publisher_t *main,
                                           char *err, size_t errlen)
{
    return hb_publisher_create(cfg, bootstrap, main, err, errlen);
}

rd_kafka_topic_t *hb_publisher_topic(hb_publisher_t *pub, const char *name)
{
    pthread_mutex_lock(&pub->topics_lock);
    rd_kafka_topic_t *rkt = NULL;
    for (size_t i = 0; i < pub->num_topics && rkt == NULL; i++)
        if (strcmp(rd_kafka_topic_name(pub->topics[i]), name) == 0)
            rkt = pub->topics[i];
    if (rkt == NULL) {
        rkt = rd_kafka_topic_new(pub->rk, name, NULL);
        pub->topics = hb_xrealloc(pub->topics, (pub->num_topics + 1) * sizeof(*pub->topics));
        pub->topics[pub->num_topics++] = rkt;
    }
    pthread_mutex_unlock(&pub->topics_lock);
    return rkt; /* handles live as long as the publisher: a reload never removes one */
}

rd_kafka_resp_err_t hb_publisher_produce(hb_publisher_t *pub, const hb_record_t *rec)
{
    rd_kafka_headers_t *headers = rd_kafka_headers_new(5);
    rd_kafka_header_add(headers, "content-type", -1, rec->content_type, -1);
    rd_kafka_header_add(headers, "hookbridge-endpoint", -1, rec->endpoint, -1);
    rd_kafka_header_add(headers, "hookbridge-event-id", -1, rec->event_id, -1);
    /* the sender's (or the ingress's) trace goes on with the event: consumers continue it */
    if (rec->traceparent != NULL)
        rd_kafka_header_add(headers, "traceparent", -1, rec->traceparent, (ssize_t)rec->traceparent_len);
    if (rec->tracestate != NULL)
        rd_kafka_header_add(headers, "tracestate", -1, rec->tracestate, (ssize_t)rec->tracestate_len);
    rd_kafka_resp_err_t err =
        rd_kafka_producev(pub->rk, RD_KAFKA_V_RKT(rec->topic), RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_FREE), RD_KAFKA_V_VALUE(rec->value, rec->value_len),
                          RD_KAFKA_V_KEY(rec->key, rec->key_len), RD_KAFKA_V_TIMESTAMP(rec->timestamp_ms),
                          RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(rec->delivery), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        rd_kafka_headers_destroy(headers); /* librdkafka owns them only when the record is accepted */
    return err;
}

int hb_publisher_flush(hb_publisher_t *pub, int timeout_ms)
{
    /* the poll thread serves the reports; rd_kafka_flush() would poll too, which is fine: callbacks are reentrant */
    return rd_kafka_flush(pub->rk, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

long long hb_publisher_rtt_us(hb_publisher_t *pub)
{
    return atomic_load(&pub->rtt_us);
}

int hb_publisher_metadata(hb_publisher_t *pub, int timeout_ms, char *err, size_t errlen)
{
    /* a copy of the list, so that a reload adding a topic never waits for these (slow) requests */
    pthread_mutex_lock(&pub->topics_lock);
    size_t n = pub->num_topics;
    rd_kafka_topic_t **topics = hb_xmalloc((n + 1) * sizeof(*topics));
    memcpy(topics, pub->topics, n * sizeof(*topics));
    pthread_mutex_unlock(&pub->topics_lock);
    int ret = 0;
    for (size_t i = 0; i < n && ret == 0; i++) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t e = rd_kafka_metadata(pub->rk, 0, topics[i], &md, timeout_ms);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR && (md->topic_cnt != 1 || md->topics[0].partition_cnt == 0))
            e = md->topic_cnt == 1 && md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR
                    ? md->topics[0].err
                    : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
        if (md != NULL)
            rd_kafka_metadata_destroy(md);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(err, errlen, "no metadata for topic %s: %s", rd_kafka_topic_name(topics[i]), rd_kafka_err2str(e));
            ret = -1;
        }
    }
    free(topics);
    return ret;
}

int hb_publisher_down(hb_publisher_t *pub)
{
    return atomic_load_explicit(pub->down, memory_order_relaxed);
}

int hb_publisher_outq_len(hb_publisher_t *pub)
{
    return rd_kafka_outq_len(pub->rk);
}

void hb_publisher_free(hb_publisher_t *pub)
{
    if (pub == NULL)
        return;
    atomic_store(&pub->stop, 1);
    pthread_join(pub->poller, NULL);
    /* report whatever is left (as failed) so that no opaque is leaked */
    rd_kafka_purge(pub->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(pub->rk, 0);
    for (size_t i = 0; i < pub->num_topics; i++)
        rd_kafka_topic_destroy(pub->topics[i]);
    free(pub->topics);
    rd_kafka_destroy(pub->rk);
    pthread_mutex_destroy(&pub->topics_lock);
    free(pub);
}

struct hb_embedded {
    rd_kafka_t *rk;
    rd_kafka_mock_cluster_t *mcluster;
    char *bootstraps;
};

hb_embedded_t *hb_embedded_new(char *err, size_t errlen)
{
    char rkerr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, hb_on_log);
    /* this handle only hosts the mock cluster: its "no bootstrap.servers" notice is noise */
    rd_kafka_conf_set(conf, "log_level", "3", rkerr, sizeof(rkerr));
    hb_embedded_t *emb = hb_xcalloc(1, sizeof(*emb));
    emb->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, rkerr, sizeof(rkerr));
    if (emb->rk == NULL) {
        snprintf(err, errlen, "cannot create the embedded broker's handle: %s", rkerr);
        rd_kafka_conf_destroy(conf);
        free(emb);
        return NULL;
    }
    emb->mcluster = rd_kafka_mock_cluster_new(emb->rk, 1);
    if (emb->mcluster == NULL) {
        snprintf(err, errlen, "cannot start the embedded broker");
        hb_embedded_free(emb);
        return NULL;
    }
    emb->bootstraps = hb_xstrdup(rd_kafka_mock_cluster_bootstraps(emb->mcluster));
    return emb;
}

const char *hb_embedded_bootstraps(const hb_embedded_t *emb)
{
    return emb->bootstraps;
}

void hb_embedded_free(hb_embedded_t *emb)
{
    if (emb == NULL)
        return;
    if (emb->mcluster != NULL)
        rd_kafka_mock_cluster_destroy(emb->mcluster);
    rd_kafka_destroy(emb->rk);
    free(emb->bootstraps);
    free(emb);
}

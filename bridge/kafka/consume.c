/* bridge/kafka/consume.c: the job runner. One thread: a consumer-group loop, child processes, per-partition queues. */
#include "consume.h"

#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "body.h"
#include "envelope.h"
#include "log.h"

extern char **environ;

#define HB_QUEUE_PAUSE 64  /* fetched events held for a partition before it is paused */
#define HB_QUEUE_RESUME 16 /* and resumed below this */
#define HB_BACKOFF_CAP_MS 30000

/* One assigned partition: its fetched events in order, the command running for the first one. */
typedef struct hb_part {
    char *topic;
    int32_t partition;
    rd_kafka_message_t **queue;
    size_t head, len, cap;
    pid_t pid;           /* the command of queue[head], or 0 */
    int attempt;         /* of queue[head]: how many runs failed */
    int64_t retry_at_ms; /* not before this (backoff) */
    int paused;
    int revoked; /* taken away by a rebalance: finish what runs, commit nothing more */
} hb_part_t;

typedef struct hb_consumer {
    const hb_consume_options_t *opts;
    rd_kafka_t *rk;  /* the consumer */
    rd_kafka_t *dlq; /* the dead-letter producer, made on first use */
    rd_kafka_resp_err_t dlq_err;
    hb_part_t **parts;
    size_t num_parts;
    int running;
    long done;
} hb_consumer_t;

static int64_t hb_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static hb_part_t *hb_part_find(hb_consumer_t *c, const char *topic, int32_t partition, int create)
{
    for (size_t i = 0; i < c->num_parts; i++)
        if (c->parts[i]->partition == partition && strcmp(c->parts[i]->topic, topic) == 0)
            return c->parts[i];
    if (!create)
        return NULL;
    hb_part_t *p = hb_xcalloc(1, sizeof(*p));
    p->topic = hb_xstrdup(topic);
    p->partition = partition;
    c->parts = hb_xrealloc(c->parts, (c->num_parts + 1) * sizeof(*c->parts));
    c->parts[c->num_parts++] = p;
    return p;
}

static void hb_part_push(hb_part_t *p, rd_kafka_message_t *m)
{
    if (p->len == p->cap) {
        size_t cap = p->cap != 0 ? 2 * p->cap : 16;
        rd_kafka_message_t **q = hb_xcalloc(cap, sizeof(*q));
        for (size_t i = 0; i < p->len; i++)
            q[i] = p->queue[(p->head + i) % p->cap];
        free(p->queue);
        p->queue = q;
        p->head = 0;
        p->cap = cap;
    }
    p->queue[(p->head + p->len++) % p->cap] = m;
}

static void hb_part_pop(hb_part_t *p)
{
    rd_kafka_message_destroy(p->queue[p->head]);
    p->head = (p->head + 1) % p->cap;
    p->len--;
    p->attempt = 0;
    p->retry_at_ms = 0;
}

static void hb_part_drop_queue(hb_part_t *p)
{
    while (p->len > (p->pid != 0 ? 1u : 0u)) { /* the running one stays until its command ends */
        size_t last = (p->head + p->len - 1) % p->cap;
        rd_kafka_message_destroy(p->queue[last]);
        p->len--;
    }
}

static void hb_pause(hb_consumer_t *c, hb_part_t *p, int pause)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, p->topic, p->partition);
    if (pause)
        rd_kafka_pause_partitions(c->rk, l);
    else
        rd_kafka_resume_partitions(c->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    p->paused = pause;
}

/* Revoked partitions: their held events go (another member will have them); running commands end uncommitted. */
static void hb_on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                            void *opaque)
{
    hb_consumer_t *c = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        for (int i = 0; i < parts->cnt; i++) {
            hb_part_t *p = hb_part_find(c, parts->elems[i].topic, parts->elems[i].partition, 1);
            p->revoked = 0;
            p->paused = 0;
        }
        rd_kafka_assign(rk, parts);
        return;
    }
    for (int i = 0; i < parts->cnt; i++) {
        hb_part_t *p = hb_part_find(c, parts->elems[i].topic, parts->elems[i].partition, 0);
        if (p != NULL) {
            p->revoked = 1;
            hb_part_drop_queue(p);
        }
    }
    rd_kafka_assign(rk, NULL);
}

static void hb_commit(hb_consumer_t *c, hb_part_t *p, int64_t offset)
{
    if (p->revoked)
        return;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = offset + 1;
    rd_kafka_resp_err_t err = rd_kafka_commit(c->rk, l, 0);
    rd_kafka_topic_partition_list_destroy(l);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        hb_log(HB_LOG_WARN, "commit failed (the event will run again)", "topic", p->topic, "error",
               rd_kafka_err2name(err), HB_LOG_END);
}

/* A record's header value as a NUL-terminated copy into out (out[0] = 0 when absent). */
static void hb_header_copy(const rd_kafka_message_t *m, const char *name, char *out, size_t outlen)
{
    rd_kafka_headers_t *hdrs = NULL;
    const void *v = NULL;
    size_t n = 0;
    out[0] = '\0';
    if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        rd_kafka_header_get_last(hdrs, name, &v, &n) == RD_KAFKA_RESP_ERR_NO_ERROR && v != NULL)
        snprintf(out, outlen, "%.*s", (int)n, (const char *)v);
}

/* The event as JSON (for stdin) and its triggers, comma-separated: from msgpack, or a kafka.format: json record. */
static int hb_event_json(const rd_kafka_message_t *m, hb_buf_t *json, hb_buf_t *triggers)
{
    char ct[128];
    hb_header_copy(m, "content-type", ct, sizeof(ct));
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    const char *packed = m->payload;
    size_t packed_len = m->len;
    int ok;
    if (strcmp(ct, HB_ENVELOPE_JSON_CONTENT_TYPE) == 0) {
        hb_buf_append(json, m->payload, m->len);
        /* the envelope holds the body one level down */
        ok = hb_json_to_msgpack(m->payload, m->len, HB_BODY_MAX_DEPTH + 1, &sb, NULL, 0) == 0;
        packed = sb.data;
        packed_len = sb.size;
    } else {
        ok = hb_envelope_to_json(m->payload, m->len, json, NULL, 0) == 0;
    }
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    if (ok && msgpack_unpack_next(&up, packed, packed_len, &off) == MSGPACK_UNPACK_SUCCESS &&
        up.data.type == MSGPACK_OBJECT_MAP) {
        for (uint32_t i = 0; i < up.data.via.map.size; i++) {
            const msgpack_object_kv *kv = &up.data.via.map.ptr[i];
            if (kv->key.type != MSGPACK_OBJECT_STR || kv->key.via.str.size != 8 ||
                memcmp(kv->key.via.str.ptr, "triggers", 8) != 0 || kv->val.type != MSGPACK_OBJECT_ARRAY)
                continue;
            for (uint32_t t = 0; t < kv->val.via.array.size; t++)
                if (kv->val.via.array.ptr[t].type == MSGPACK_OBJECT_STR)
                    hb_buf_printf(triggers, "%s%.*s", triggers->len > 0 ? "," : "",
                                  (int)kv->val.via.array.ptr[t].via.str.size, kv->val.via.array.ptr[t].via.str.ptr);
        }
    }
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
    return ok ? 0 : -1;
}

/* Starts the command for p's first event: the event as JSON on stdin (a memfd: no pipe to keep fed). */
static int hb_spawn(hb_consumer_t *c, hb_part_t *p)
{
    const rd_kafka_message_t *m = p->queue[p->head];
    hb_buf_t json, triggers;
    hb_buf_init(&json);
    hb_buf_init(&triggers);
    hb_buf_puts(&triggers, ""); /* never NULL below */
    if (hb_event_json(m, &json, &triggers) != 0) {
        json.len = 0;
        hb_buf_puts(&json, "null"); /* not an envelope: the command still sees the record, as null */
    }
    int fd = memfd_create("hookbridge-event", MFD_CLOEXEC);
    int ok = fd >= 0 && write(fd, json.base, json.len) == (ssize_t)json.len && lseek(fd, 0, SEEK_SET) == 0;
    char id[160], endpoint[160], attempt[16];
    hb_header_copy(m, "hookbridge-event-id", id, sizeof(id));
    hb_header_copy(m, "hookbridge-endpoint", endpoint, sizeof(endpoint));
    snprintf(attempt, sizeof(attempt), "%d", p->attempt + 1);
    size_t n = 0;
    while (environ[n] != NULL)
        n++;
    char **envp = hb_xcalloc(n + 5, sizeof(char *));
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "HOOKBRIDGE_", 11) != 0)
            envp[k++] = environ[i];
    hb_buf_t vars;
    hb_buf_init(&vars);
    size_t at[4];
    at[0] = vars.len, hb_buf_printf(&vars, "HOOKBRIDGE_EVENT_ID=%s", id), hb_buf_putc(&vars, '\0');
    at[1] = vars.len, hb_buf_printf(&vars, "HOOKBRIDGE_ENDPOINT=%s", endpoint), hb_buf_putc(&vars, '\0');
    at[2] = vars.len, hb_buf_printf(&vars, "HOOKBRIDGE_TRIGGERS=%s", triggers.base), hb_buf_putc(&vars, '\0');
    at[3] = vars.len, hb_buf_printf(&vars, "HOOKBRIDGE_ATTEMPT=%s", attempt), hb_buf_putc(&vars, '\0');
    for (int i = 0; i < 4; i++)
        envp[k++] = vars.base + at[i];
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (ok)
        posix_spawn_file_actions_adddup2(&fa, fd, STDIN_FILENO);
    char *argv[] = {"/bin/sh", "-c", (char *)c->opts->command, NULL};
    pid_t pid = 0;
    ok = ok && posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, envp) == 0;
    posix_spawn_file_actions_destroy(&fa);
    if (fd >= 0)
        close(fd);
    free(envp);
    hb_buf_dispose(&vars);
    hb_buf_dispose(&json);
    hb_buf_dispose(&triggers);
    if (!ok) {
        hb_log(HB_LOG_ERROR, "cannot start the command", "detail", strerror(errno), HB_LOG_END);
        return -1;
    }
    p->pid = pid;
    c->running++;
    return 0;
}

static void hb_on_dlq_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    ((hb_consumer_t *)opaque)->dlq_err = m->err;
}

/* The event, as it was, to <topic>.dlq with why in its headers; 0 once the broker has it. */
static int hb_dead_letter(hb_consumer_t *c, const hb_part_t *p, const rd_kafka_message_t *m, const char *why)
{
    if (c->dlq == NULL) {
        char err[256];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        if (rd_kafka_conf_set(conf, "bootstrap.servers", c->opts->brokers, err, sizeof(err)) != RD_KAFKA_CONF_OK ||
            rd_kafka_conf_set(conf, "enable.idempotence", "true", err, sizeof(err)) != RD_KAFKA_CONF_OK ||
            rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err)) != RD_KAFKA_CONF_OK) {
            rd_kafka_conf_destroy(conf);
            return -1;
        }
        rd_kafka_conf_set_opaque(conf, c);
        rd_kafka_conf_set_dr_msg_cb(conf, hb_on_dlq_delivery);
        if ((c->dlq = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err))) == NULL) {
            rd_kafka_conf_destroy(conf);
            return -1;
        }
    }
    rd_kafka_headers_t *hdrs = NULL, *copy;
    copy = rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR ? rd_kafka_headers_copy(hdrs)
                                                                            : rd_kafka_headers_new(4);
    char num[32], topic[512];
    rd_kafka_header_add(copy, "hookbridge-dlq-reason", -1, why, -1);
    snprintf(num, sizeof(num), "%d", p->attempt);
    rd_kafka_header_add(copy, "hookbridge-dlq-attempts", -1, num, -1);
    rd_kafka_header_add(copy, "hookbridge-dlq-topic", -1, p->topic, -1);
    snprintf(num, sizeof(num), "%d", p->partition);
    rd_kafka_header_add(copy, "hookbridge-dlq-partition", -1, num, -1);
    snprintf(num, sizeof(num), "%lld", (long long)m->offset);
    rd_kafka_header_add(copy, "hookbridge-dlq-offset", -1, num, -1);
    snprintf(topic, sizeof(topic), "%s.dlq", p->topic);
    c->dlq_err = RD_KAFKA_RESP_ERR__IN_PROGRESS;
    rd_kafka_resp_err_t e = rd_kafka_producev(c->dlq, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                              RD_KAFKA_V_VALUE(m->payload, m->len), RD_KAFKA_V_KEY(m->key, m->key_len),
                                              RD_KAFKA_V_HEADERS(copy), RD_KAFKA_V_END);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_headers_destroy(copy);
        return -1;
    }
    rd_kafka_flush(c->dlq, 30000);
    return c->dlq_err == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

/* A command ended: commit and go on, or retry after a backoff, or dead-letter after max_attempts. */
static void hb_on_exit(hb_consumer_t *c, hb_part_t *p, int status)
{
    p->pid = 0;
    c->running--;
    const rd_kafka_message_t *m = p->queue[p->head];
    char why[64];
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        hb_commit(c, p, m->offset);
        hb_part_pop(p);
        c->done++;
        return;
    }
    if (WIFEXITED(status))
        snprintf(why, sizeof(why), "exit status %d", WEXITSTATUS(status));
    else
        snprintf(why, sizeof(why), "killed by signal %d", WTERMSIG(status));
    p->attempt++;
    if (p->revoked) {
        hb_part_pop(p); /* another member runs it again */
        return;
    }
    if (p->attempt < c->opts->max_attempts) {
        uint64_t wait = c->opts->backoff_ms;
        for (int i = 1; i < p->attempt && wait < HB_BACKOFF_CAP_MS; i++)
            wait *= 2;
        p->retry_at_ms = hb_now_ms() + (int64_t)(wait < HB_BACKOFF_CAP_MS ? wait : HB_BACKOFF_CAP_MS);
        hb_log(HB_LOG_WARN, "the command failed; it runs again", "topic", p->topic, "reason", why, HB_LOG_END);
        return;
    }
    if (hb_dead_letter(c, p, m, why) != 0) {
        hb_log(HB_LOG_ERROR, "cannot write to the dead-letter topic; the event stays", "topic", p->topic, HB_LOG_END);
        p->attempt--;
        p->retry_at_ms = hb_now_ms() + HB_BACKOFF_CAP_MS;
        return;
    }
    hb_log(HB_LOG_WARN, "the command failed every time: the event is in the dead-letter topic", "topic", p->topic,
           "reason", why, HB_LOG_END);
    hb_commit(c, p, m->offset);
    hb_part_pop(p);
    c->done++;
}

static void hb_reap(hb_consumer_t *c, int block)
{
    int status;
    pid_t pid;
    while (c->running > 0 && (pid = waitpid(-1, &status, block ? 0 : WNOHANG)) > 0) {
        for (size_t i = 0; i < c->num_parts; i++)
            if (c->parts[i]->pid == pid)
                hb_on_exit(c, c->parts[i], status);
        block = 0;
    }
}

int hb_consume_run(const hb_consume_options_t *opts)
{
    hb_consumer_t c = {.opts = opts};
    char err[512];
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    const char *settings[][2] = {
        {"bootstrap.servers", opts->brokers},
        {"group.id", opts->group},
        {"enable.auto.commit", "false"}, /* an offset is committed once its command succeeded */
        {"auto.offset.reset", "earliest"},
        {"session.timeout.ms", "10000"}, /* a crashed runner's partitions go to another member after 10 s, not 45 */
        {"log_level", "3"}};
    for (size_t i = 0; i < HB_ARRAY_SIZE(settings); i++)
        if (rd_kafka_conf_set(conf, settings[i][0], settings[i][1], err, sizeof(err)) != RD_KAFKA_CONF_OK) {
            hb_log(HB_LOG_ERROR, "bad consumer setting", "detail", err, HB_LOG_END);
            rd_kafka_conf_destroy(conf);
            return 1;
        }
    rd_kafka_conf_set_opaque(conf, &c);
    rd_kafka_conf_set_rebalance_cb(conf, hb_on_rebalance);
    if ((c.rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err))) == NULL) {
        hb_log(HB_LOG_ERROR, "cannot create the consumer", "detail", err, HB_LOG_END);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    rd_kafka_poll_set_consumer(c.rk);
    rd_kafka_topic_partition_list_t *subs = rd_kafka_topic_partition_list_new((int)opts->num_topics);
    for (size_t i = 0; i < opts->num_topics; i++)
        rd_kafka_topic_partition_list_add(subs, opts->topics[i], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(c.rk, subs);
    rd_kafka_topic_partition_list_destroy(subs);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        hb_log(HB_LOG_ERROR, "cannot subscribe", "detail", rd_kafka_err2str(e), HB_LOG_END);
        rd_kafka_destroy(c.rk);
        return 1;
    }
    hb_log(HB_LOG_INFO, "consuming", "group", opts->group, HB_LOG_END);

    int stopping = 0;
    while (!stopping) {
        struct timespec zero = {0, 0};
        if (sigtimedwait(&sigs, NULL, &zero) > 0)
            stopping = 1;
        if (opts->max_events > 0 && c.done >= opts->max_events)
            stopping = 1;
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c.rk, c.running > 0 ? 20 : 100);
        if (m != NULL && m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                hb_log(HB_LOG_WARN, "kafka", "detail", rd_kafka_message_errstr(m), HB_LOG_END);
            rd_kafka_message_destroy(m);
        } else if (m != NULL) {
            hb_part_t *p = hb_part_find(&c, rd_kafka_topic_name(m->rkt), m->partition, 1);
            hb_part_push(p, m);
            if (p->len > HB_QUEUE_PAUSE && !p->paused)
                hb_pause(&c, p, 1);
        }
        hb_reap(&c, 0);
        int64_t now = hb_now_ms();
        for (size_t i = 0; i < c.num_parts && !stopping; i++) {
            hb_part_t *p = c.parts[i];
            if (p->len > 0 && p->pid == 0 && !p->revoked && now >= p->retry_at_ms && c.running < opts->concurrency)
                hb_spawn(&c, p);
            if (p->paused && p->len < HB_QUEUE_RESUME)
                hb_pause(&c, p, 0);
        }
    }

    /* stop: let running commands finish within the grace period; the rest is abandoned, uncommitted */
    int64_t until = hb_now_ms() + (int64_t)opts->grace_ms;
    while (c.running > 0 && hb_now_ms() < until) {
        hb_reap(&c, 0);
        usleep(10000);
    }
    for (size_t i = 0; i < c.num_parts; i++)
        if (c.parts[i]->pid != 0) {
            c.parts[i]->revoked = 1; /* abandoned: never committed */
            kill(c.parts[i]->pid, SIGTERM);
        }
    while (c.running > 0)
        hb_reap(&c, 1);
    char done[24];
    snprintf(done, sizeof(done), "%ld", c.done);
    hb_log(HB_LOG_INFO, "stopped consuming", "events", done, HB_LOG_END);
    rd_kafka_consumer_close(c.rk);
    for (size_t i = 0; i < c.num_parts; i++) {
        while (c.parts[i]->len > 0)
            hb_part_pop(c.parts[i]);
        free(c.parts[i]->queue);
        free(c.parts[i]->topic);
        free(c.parts[i]);
    }
    free(c.parts);
    rd_kafka_destroy(c.rk);
    if (c.dlq != NULL)
        rd_kafka_destroy(c.dlq);
    return 0;
}

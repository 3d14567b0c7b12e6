/*
 * tests/tools/mockkafka.c: librdkafka's mock cluster as a process that a test drives, for fault injection
 * (tests/integration/test_mock_faults.py). Never a stand-in for the real broker in end-to-end tests (DESIGN §7).
 *
 *   mockkafka [--brokers N] [--topic NAME[:PARTITIONS]]...
 *
 * Starts a cluster of N brokers (ids 1..N, default 1), creates each topic (1 partition by default, replication
 * factor N), prints the bootstrap address as the first line of stdout, then reads one command per line from stdin
 * and answers each with one line, "ok" or "error: WHY":
 *
 *   produce-errors COUNT ERR       the next COUNT Produce requests (to any broker) fail with ERR
 *   produce-error-rtt ID ERR MS    the next Produce request to broker ID fails with ERR (NO_ERROR: succeeds)
 *                                  after MS milliseconds
 *   clear-produce-errors           forgets the cluster-wide Produce errors not used yet
 *   rtt ID MS                      broker ID (-1: every broker) answers everything MS milliseconds late
 *   down ID / up ID                broker ID (-1: every broker) drops its connections and refuses new ones / is back
 *   leader TOPIC PARTITION ID      moves the partition's leadership (-1: no leader)
 *
 * ERR is a librdkafka error name as rd_kafka_err2name() prints it (NOT_LEADER_FOR_PARTITION, _TRANSPORT, ...), with
 * or without the RD_KAFKA_RESP_ERR_ prefix, or its number. EOF on stdin stops the cluster and exits 0.
 * Single-threaded; the mock cluster runs on librdkafka's own thread.
 */
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MK_PRODUCE_API_KEY 0 /* ProduceRequest */
#define MK_MAX_ARGS 4

/* Parses a whole decimal integer (no trailing text). 0, or -1. */
static int mk_parse_int(const char *s, long min, long max, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* A librdkafka error by name (with or without RD_KAFKA_RESP_ERR_) or number. 0, or -1. */
static int mk_parse_err(const char *s, rd_kafka_resp_err_t *out)
{
    static const char prefix[] = "RD_KAFKA_RESP_ERR_";
    if (strncmp(s, prefix, sizeof(prefix) - 1) == 0)
        s += sizeof(prefix) - 1;
    long n;
    if (mk_parse_int(s, -200, 1000, &n) == 0) {
        *out = (rd_kafka_resp_err_t)n;
        return 0;
    }
    const struct rd_kafka_err_desc *descs;
    size_t cnt;
    rd_kafka_get_err_descs(&descs, &cnt);
    for (size_t i = 0; i < cnt; i++) {
        if (descs[i].name != NULL && strcmp(descs[i].name, s) == 0) {
            *out = descs[i].code;
            return 0;
        }
    }
    return -1;
}

/* Splits line into at most max space-separated words, in place. The number of words. */
static int mk_split(char *line, char **words, int max)
{
    int n = 0;
    char *p = line;
    while (*p != '\0') {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            *p++ = '\0';
        if (*p == '\0')
            break;
        if (n == max)
            return max + 1; /* too many */
        words[n++] = p;
        while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
            p++;
    }
    return n;
}

/* Runs one command line; writes the reason into err (size errlen) on failure. 0, or -1. */
static int mk_command(rd_kafka_mock_cluster_t *mc, int num_brokers, char *line, char *err, size_t errlen)
{
    char *w[MK_MAX_ARGS + 1];
    int n = mk_split(line, w, MK_MAX_ARGS + 1);
    long a = 0, b = 0, c = 0;
    rd_kafka_resp_err_t code = RD_KAFKA_RESP_ERR_NO_ERROR, rc = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (n == 0) {
        snprintf(err, errlen, "empty command");
        return -1;
    }
    if (strncmp(w[0], "produce-error", 13) == 0 && n >= 3 && mk_parse_err(w[2], &code) != 0) {
        snprintf(err, errlen, "unknown librdkafka error \"%s\" (a name as rd_kafka_err2name() prints it)", w[2]);
        return -1;
    }
    if (strcmp(w[0], "produce-errors") == 0 && n == 3) {
        if (mk_parse_int(w[1], 1, 1000, &a) != 0)
            goto Usage;
        rd_kafka_resp_err_t codes[1000];
        for (long i = 0; i < a; i++)
            codes[i] = code;
        rd_kafka_mock_push_request_errors_array(mc, MK_PRODUCE_API_KEY, (size_t)a, codes);
    } else if (strcmp(w[0], "produce-error-rtt") == 0 && n == 4) {
        if (mk_parse_int(w[1], 1, num_brokers, &a) != 0 || mk_parse_int(w[3], 0, 3600000, &b) != 0)
            goto Usage;
        rc = rd_kafka_mock_broker_push_request_error_rtts(mc, (int32_t)a, MK_PRODUCE_API_KEY, 1, code, (int)b);
    } else if (strcmp(w[0], "clear-produce-errors") == 0 && n == 1) {
        rd_kafka_mock_clear_request_errors(mc, MK_PRODUCE_API_KEY);
    } else if (strcmp(w[0], "rtt") == 0 && n == 3) {
        if (mk_parse_int(w[1], -1, num_brokers, &a) != 0 || a == 0 || mk_parse_int(w[2], 0, 3600000, &b) != 0)
            goto Usage;
        rc = rd_kafka_mock_broker_set_rtt(mc, (int32_t)a, (int)b);
    } else if ((strcmp(w[0], "down") == 0 || strcmp(w[0], "up") == 0) && n == 2) {
        if (mk_parse_int(w[1], -1, num_brokers, &a) != 0 || a == 0)
            goto Usage;
        rc = w[0][0] == 'd' ? rd_kafka_mock_broker_set_down(mc, (int32_t)a)
                            : rd_kafka_mock_broker_set_up(mc, (int32_t)a);
    } else if (strcmp(w[0], "leader") == 0 && n == 4) {
        if (mk_parse_int(w[2], 0, 100000, &b) != 0 || mk_parse_int(w[3], -1, num_brokers, &c) != 0 || c == 0)
            goto Usage;
        rc = rd_kafka_mock_partition_set_leader(mc, w[1], (int32_t)b, (int32_t)c);
    } else {
        goto Usage;
    }
    if (rc != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "%s: %s", w[0], rd_kafka_err2name(rc));
        return -1;
    }
    return 0;

Usage:
    snprintf(err, errlen,
             "usage: produce-errors COUNT ERR | produce-error-rtt ID ERR MS | clear-produce-errors | rtt ID MS | "
             "down ID | up ID | leader TOPIC PARTITION ID (broker ids 1..%d, -1 for all where allowed)",
             num_brokers);
    return -1;
}

int main(int argc, char **argv)
{
    long num_brokers = 1;
    for (int i = 1; i < argc; i++) { /* a first pass for --brokers: topics need the cluster */
        if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc) {
            if (mk_parse_int(argv[++i], 1, 16, &num_brokers) != 0) {
                fprintf(stderr, "mockkafka: --brokers takes 1 to 16\n");
                return 2;
            }
        } else if (strcmp(argv[i], "--topic") == 0 && i + 1 < argc) {
            i++;
        } else {
            fprintf(stderr, "usage: mockkafka [--brokers N] [--topic NAME[:PARTITIONS]]...\n");
            return 2;
        }
    }

    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* this handle only hosts the cluster: without bootstrap.servers it would log a notice now and then */
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        fprintf(stderr, "mockkafka: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return 1;
    }
    int ret = 1;
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, (int)num_brokers);
    if (mc == NULL) {
        fprintf(stderr, "mockkafka: cannot create the mock cluster\n");
        goto Exit;
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--topic") != 0)
            continue;
        char name[256];
        long partitions = 1;
        snprintf(name, sizeof(name), "%s", argv[++i]);
        char *colon = strrchr(name, ':');
        if (colon != NULL) {
            *colon = '\0';
            if (mk_parse_int(colon + 1, 1, 1000, &partitions) != 0) {
                fprintf(stderr, "mockkafka: --topic NAME:PARTITIONS takes 1 to 1000 partitions\n");
                goto Exit;
            }
        }
        rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, name, (int)partitions, (int)num_brokers);
        if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
            fprintf(stderr, "mockkafka: topic %s: %s\n", name, rd_kafka_err2name(e));
            goto Exit;
        }
    }
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);

    char line[1024];
    while (fgets(line, sizeof(line), stdin) != NULL) {
        char err[512];
        if (mk_command(mc, (int)num_brokers, line, err, sizeof(err)) == 0)
            printf("ok\n");
        else
            printf("error: %s\n", err);
        fflush(stdout);
    }
    ret = 0;

Exit:
    if (mc != NULL)
        rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return ret;
}

/* bridge/kafka/consume.h: `hookbridge consume`: a job runner that runs a command once per event, at least once. */
#ifndef HB_CONSUME_H
#define HB_CONSUME_H

#include <stddef.h>
#include <stdint.h>

typedef struct hb_consume_options {
    const char *brokers;
    const char *group;
    const char **topics; /* subscribed with the consumer group */
    size_t num_topics;
    const char *command; /* run with /bin/sh -c, the event as JSON on stdin */
    int max_attempts;    /* then the event goes to <topic>.dlq (default 5) */
    uint64_t backoff_ms; /* the first retry's wait, doubled each time up to 30 s (default 1 s) */
    int concurrency;     /* commands at once, across partitions; one per partition at a time (default 4) */
    uint64_t grace_ms;   /* on SIGTERM/SIGINT: how long running commands may finish (default 10 s) */
    long max_events;     /* stop after this many events were done (tests); 0: until a signal */
} hb_consume_options_t;

/**
 * Runs until SIGTERM/SIGINT (or max_events): each event's command gets the envelope as JSON on stdin and
 * HOOKBRIDGE_EVENT_ID, HOOKBRIDGE_ENDPOINT, HOOKBRIDGE_TRIGGERS (comma-separated), HOOKBRIDGE_ATTEMPT in its
 * environment. An offset is committed only once its event's command succeeded (or the event is in the dead-letter
 * topic after max_attempts failures, with the failure in its headers), in order within each partition. Returns the
 * exit code: 0 after a clean stop, 1 on a Kafka error. Main thread; blocks those signals.
 */
int hb_consume_run(const hb_consume_options_t *opts);

#endif

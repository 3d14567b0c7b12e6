/* bridge/kafka/tail.h: `hookbridge tail`: reads envelopes back from Kafka and prints them as JSON lines. */
#ifndef HB_TAIL_H
#define HB_TAIL_H

#include <stdint.h>
#include <stdio.h>

#include "config.h"

typedef struct hb_tail_options {
    const char *brokers; /* bootstrap list */
    const char **topics; /* the topics the endpoints (and their triggers) publish to, each once */
    size_t num_topics;
    int from_beginning;  /* else only events that arrive from now on */
    long max_events;     /* stop after this many; 0 = until interrupted */
    uint64_t timeout_ms; /* give up after this long; 0 = never */
} hb_tail_options_t;

/** Prints each event as one JSON line to out. Returns 0, or 1 when the timeout passed first or on error. */
int hb_tail_run(const hb_tail_options_t *opts, FILE *out);

#endif

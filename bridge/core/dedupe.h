/* bridge/core/dedupe.h: the event ids an endpoint published lately, so that a sender's retry is not published again. */
#ifndef HB_DEDUPE_H
#define HB_DEDUPE_H

#include <stddef.h>
#include <stdint.h>

typedef struct hb_dedupe hb_dedupe_t;

/** A window of the last `size` ids, each remembered for max_age_ms. Setup thread. */
hb_dedupe_t *hb_dedupe_new(size_t size, uint64_t max_age_ms);
/** Accepts NULL. */
void hb_dedupe_free(hb_dedupe_t *d);
/** 1 when id was remembered within the window and its age. Exact comparison of the ids. Any thread (a mutex). */
int hb_dedupe_seen(hb_dedupe_t *d, const char *id, int64_t now_ms);
/** Remembers id as published at now_ms (the oldest one goes when the window is full). Any thread (a mutex). */
void hb_dedupe_remember(hb_dedupe_t *d, const char *id, int64_t now_ms);

#endif

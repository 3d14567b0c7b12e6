/* bridge/core/dedupe.c: a ring of the last ids (FIFO eviction) indexed by a chained hash table; one mutex. */
#include "dedupe.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

typedef struct hb_dedupe_entry {
    char *id; /* NULL: a free slot */
    uint64_t hash;
    int64_t at_ms;
    int32_t next; /* the next entry of the same bucket, or -1 */
} hb_dedupe_entry_t;

struct hb_dedupe {
    pthread_mutex_t lock;
    hb_dedupe_entry_t *ring;
    size_t size, head; /* head: where the next id goes (the oldest one, once full) */
    int32_t *buckets;
    size_t mask;
    int64_t max_age_ms;
};

static uint64_t hb_hash(const char *s)
{
    uint64_t h = 1469598103934665603u;
    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h ^ (h >> 29);
}

hb_dedupe_t *hb_dedupe_new(size_t size, uint64_t max_age_ms)
{
    hb_dedupe_t *d = hb_xcalloc(1, sizeof(*d));
    pthread_mutex_init(&d->lock, NULL);
    d->size = size > 0 ? size : 1;
    d->ring = hb_xcalloc(d->size, sizeof(*d->ring));
    size_t nb = 1;
    while (nb < 2 * d->size)
        nb <<= 1;
    d->buckets = hb_xmalloc(nb * sizeof(*d->buckets));
    memset(d->buckets, 0xff, nb * sizeof(*d->buckets)); /* -1 everywhere */
    d->mask = nb - 1;
    d->max_age_ms = (int64_t)max_age_ms;
    return d;
}

void hb_dedupe_free(hb_dedupe_t *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->size; i++)
        free(d->ring[i].id);
    free(d->ring);
    free(d->buckets);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

/* The ring index of id, or -1. Under the lock. */
static int32_t hb_find(const hb_dedupe_t *d, const char *id, uint64_t h)
{
    for (int32_t i = d->buckets[h & d->mask]; i >= 0; i = d->ring[i].next)
        if (d->ring[i].hash == h && strcmp(d->ring[i].id, id) == 0)
            return i;
    return -1;
}

int hb_dedupe_seen(hb_dedupe_t *d, const char *id, int64_t now_ms)
{
    uint64_t h = hb_hash(id);
    pthread_mutex_lock(&d->lock);
    int32_t i = hb_find(d, id, h);
    int seen = i >= 0 && now_ms - d->ring[i].at_ms <= d->max_age_ms;
    pthread_mutex_unlock(&d->lock);
    return seen;
}

void hb_dedupe_remember(hb_dedupe_t *d, const char *id, int64_t now_ms)
{
    uint64_t h = hb_hash(id);
    pthread_mutex_lock(&d->lock);
    int32_t found = hb_find(d, id, h);
    if (found >= 0) {
        d->ring[found].at_ms = now_ms;
        pthread_mutex_unlock(&d->lock);
        return;
    }
    hb_dedupe_entry_t *e = &d->ring[d->head];
    if (e->id != NULL) { /* the oldest goes: unlink it from its bucket */
        int32_t *link = &d->buckets[e->hash & d->mask];
        while (*link != (int32_t)d->head)
            link = &d->ring[*link].next;
        *link = e->next;
        free(e->id);
    }
    *e = (hb_dedupe_entry_t){hb_xstrdup(id), h, now_ms, d->buckets[h & d->mask]};
    d->buckets[h & d->mask] = (int32_t)d->head;
    d->head = (d->head + 1) % d->size;
    pthread_mutex_unlock(&d->lock);
}

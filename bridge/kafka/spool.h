/*
 * bridge/kafka/spool.h: the durable spool (`durability: spool`). When Kafka does not confirm an event in time, its
 * records are appended to segment files under spool.path and fsynced (one fdatasync for every append waiting: group
 * commit) before the sender gets 2xx; a forwarder produces them to Kafka in the order they were appended, and deletes a
 * segment once every record in it is acknowledged. A process that starts replays what a previous one left.
 *
 * On disk: spool.path/LOCK (flock: one process per spool) and segments NNNNNNNNNNNNNNNNNNNN.seg, each a sequence of
 * framed records: u32 magic "HBS1", u32 payload length, u32 CRC-32C of the payload, then the payload (little-endian
 * i64 timestamp, then topic, key, content type, endpoint, event id, traceparent, tracestate and value, each as a u32
 * length and its bytes). A record that does not check out at start (a torn tail after a crash) is cut with what
 * follows it in its segment; it is never forwarded.
 */
#ifndef HB_SPOOL_H
#define HB_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "publisher.h"
#include "util.h"

typedef struct hb_spool hb_spool_t;

enum { HB_SPOOL_OK = 0, HB_SPOOL_FULL = 1, HB_SPOOL_IO = 2 };

/** One append: framed records (hb_spool_frame) that reach the disk together or not at all. */
typedef struct hb_spool_append {
    const void *data; /* borrowed until done is called */
    size_t len;
    size_t num_records;
    /** Called once on the spool's thread: HB_SPOOL_OK once the records are fsynced, else FULL or IO. */
    void (*done)(struct hb_spool_append *append, int status);
    struct hb_spool_append *next; /* the spool's */
    int status;                   /* the spool's */
} hb_spool_append_t;

/** Bytes of a record's field. */
typedef struct hb_spool_field {
    const char *base;
    size_t len;
} hb_spool_field_t;

/** What one framed record holds, pointing into the frame (or, to frame one, into the caller's strings). */
typedef struct hb_spool_record {
    int64_t timestamp_ms;
    hb_spool_field_t topic, key, content_type, endpoint, event_id, traceparent, tracestate, value;
} hb_spool_record_t;

typedef struct hb_spool_stats {
    uint64_t bytes;     /* the segments' size on disk */
    uint64_t records;   /* appended (or being appended) and not yet acknowledged by Kafka */
    int64_t oldest_ms;  /* the timestamp of the oldest of them, 0 when none */
    uint64_t forwarded; /* records the forwarder got acknowledged since the start */
    uint64_t refused;   /* appends refused because spool.maxBytes was reached */
    int full;           /* the last append was refused for want of space, and nothing was freed since */
    uint64_t cut_bytes; /* bytes of torn records cut at start */
} hb_spool_stats_t;

/** CRC-32C (Castagnoli) of data. Pure. */
uint32_t hb_crc32c(const void *data, size_t len);
/** Appends rec (to be produced to topic) to out as one framed record. Pure; any thread. */
void hb_spool_frame(const hb_spool_record_t *rec, hb_buf_t *out);
/**
 * Reads the framed record at the start of data into rec (pointing into data). Its length; 0 when data holds less than
 * a record (or is empty); -1 when the bytes are not a record (bad magic, length or checksum). Pure.
 */
long hb_spool_unframe(const void *data, size_t len, hb_spool_record_t *rec);

/**
 * Opens (creating it, mode 0700) the spool directory, cuts torn tails, and starts the spool's thread, which
 * forwards what it holds through pub. NULL on error, reason in err. Setup thread.
 */
hb_spool_t *hb_spool_open(const char *dir, size_t max_bytes, hb_publisher_t *pub, char *err, size_t errlen);
/** Queues an append; its done callback comes from the spool's thread. Any thread. */
void hb_spool_submit(hb_spool_t *sp, hb_spool_append_t *append);
/** Records appended (or queued) and not yet acknowledged by Kafka: while > 0, spooled endpoints append directly,
 * so that their events keep their order. Any thread. */
uint64_t hb_spool_backlog(const hb_spool_t *sp);
/** Any thread. */
void hb_spool_stats(const hb_spool_t *sp, hb_spool_stats_t *out);
/** Commits what is queued, then stops the thread (what is not forwarded stays for the next start). Main thread. */
void hb_spool_stop(hb_spool_t *sp);
/** Frees it: after hb_spool_stop and after the publisher is freed (its reports may still come). Accepts NULL. */
void hb_spool_free(hb_spool_t *sp);

#endif

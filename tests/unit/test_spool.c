/*
 * tests/unit/test_spool.c: the durable spool. Framing and its checksum; appends fsynced and forwarded to a broker
 * (librdkafka's mock cluster); records left by a process that could not forward them replayed by the next, with a
 * torn tail cut; spool.maxBytes; one process per directory.
 */
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "spool.h"
#include "tap.h"

static hb_spool_field_t field(const char *s)
{
    return (hb_spool_field_t){s, strlen(s)};
}

static hb_spool_record_t sample_record(const char *topic, const char *value)
{
    return (hb_spool_record_t){.timestamp_ms = 1764000000123,
                               .topic = field(topic),
                               .key = field("key-1"),
                               .content_type = field("application/vnd.hookbridge.event+msgpack"),
                               .endpoint = field("github"),
                               .event_id = field("72d3162e-cc78-11e3-81ab-4c9367dc0958"),
                               .traceparent = field("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
                               .tracestate = field(""),
                               .value = field(value)};
}

static int field_is(hb_spool_field_t f, const char *want)
{
    return f.len == strlen(want) && memcmp(f.base, want, f.len) == 0;
}

static void test_framing(void)
{
    is_int((long long)hb_crc32c("123456789", 9), 0xE3069283, "CRC-32C of the check string (RFC 3720 B.4)");
    is_int((long long)hb_crc32c("", 0), 0, "CRC-32C of nothing");

    hb_buf_t buf;
    hb_buf_init(&buf);
    hb_spool_record_t in = sample_record("webhooks.github", "\x82\xa2id\x01"), out;
    hb_spool_frame(&in, &buf);
    long n = hb_spool_unframe(buf.base, buf.len, &out);
    is_int(n, (long long)buf.len, "a framed record reads back whole");
    ok(out.timestamp_ms == in.timestamp_ms, "its timestamp");
    ok(field_is(out.topic, "webhooks.github") && field_is(out.key, "key-1") &&
           field_is(out.content_type, "application/vnd.hookbridge.event+msgpack") && field_is(out.endpoint, "github") &&
           field_is(out.event_id, "72d3162e-cc78-11e3-81ab-4c9367dc0958") &&
           field_is(out.traceparent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01") &&
           out.tracestate.len == 0 && field_is(out.value, "\x82\xa2id\x01"),
       "every field");

    int short_ok = 1;
    for (size_t len = 0; len < buf.len; len++)
        short_ok &= hb_spool_unframe(buf.base, len, &out) == 0;
    ok(short_ok, "every truncation reads as an incomplete record, never as one");

    int flips_refused = 1;
    for (size_t i = 0; i < buf.len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            buf.base[i] ^= (char)(1 << bit);
            flips_refused &= hb_spool_unframe(buf.base, buf.len, &out) != (long)buf.len;
            buf.base[i] ^= (char)(1 << bit);
        }
    }
    ok(flips_refused, "no single flipped bit anywhere in the frame passes");

    /* two records back to back: the first reads alone */
    size_t first = buf.len;
    hb_spool_record_t second = sample_record("webhooks.stripe", "");
    hb_spool_frame(&second, &buf);
    is_int(hb_spool_unframe(buf.base, buf.len, &out), (long long)first, "the first of two records");
    is_int(hb_spool_unframe(buf.base + first, buf.len - first, &out), (long long)(buf.len - first), "then the second");
    ok(field_is(out.topic, "webhooks.stripe") && out.value.len == 0, "an empty value");
    hb_buf_dispose(&buf);
}

/* ---- the spool against a broker ---- */

typedef struct append_job {
    hb_spool_append_t append;
    hb_buf_t frame;
    atomic_int status; /* -1 until done */
} append_job_t;

static void on_done(hb_spool_append_t *a, int status)
{
    append_job_t *job = (append_job_t *)a; /* append is the first member */
    atomic_store(&job->status, status);
}

static append_job_t *submit(hb_spool_t *sp, const char *topic, size_t value_len, int seq)
{
    append_job_t *job = calloc(1, sizeof(*job));
    char *value = malloc(value_len + 1);
    memset(value, 'a' + seq % 26, value_len);
    value[value_len] = '\0';
    hb_spool_record_t rec = sample_record(topic, value);
    rec.value.len = value_len;
    hb_buf_init(&job->frame);
    hb_spool_frame(&rec, &job->frame);
    free(value);
    atomic_store(&job->status, -1);
    job->append =
        (hb_spool_append_t){.data = job->frame.base, .len = job->frame.len, .num_records = 1, .done = on_done};
    hb_spool_submit(sp, &job->append);
    return job;
}

static int wait_status(append_job_t *job)
{
    for (int i = 0; i < 2000 && atomic_load(&job->status) < 0; i++)
        usleep(5000);
    int s = atomic_load(&job->status);
    hb_buf_dispose(&job->frame);
    free(job);
    return s;
}

static int wait_forwarded(hb_spool_t *sp, uint64_t want, int seconds)
{
    hb_spool_stats_t st;
    for (int i = 0; i < seconds * 100; i++) {
        hb_spool_stats(sp, &st);
        if (st.forwarded >= want && st.records == 0)
            return 1;
        usleep(10000);
    }
    return 0;
}

static int count_segments(const char *dir)
{
    char cmd[800];
    snprintf(cmd, sizeof(cmd), "ls %s | grep -c '\\.seg$'", dir);
    FILE *p = popen(cmd, "r");
    int n = -1;
    if (p != NULL && fscanf(p, "%d", &n) != 1)
        n = -1;
    if (p != NULL)
        pclose(p);
    return n;
}

static hb_publisher_t *publisher(const char *bootstrap, uint64_t timeout_ms)
{
    hb_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.kafka.delivery_timeout_ms = timeout_ms;
    char err[512];
    hb_publisher_t *pub = hb_publisher_new(&cfg, bootstrap, err, sizeof(err));
    if (pub == NULL)
        fprintf(stderr, "# publisher: %s\n", err);
    return pub;
}

static void test_spool(void)
{
    char dir[] = "/tmp/hb-test-spool-XXXXXX";
    if (mkdtemp(dir) == NULL) {
        ok(0, "mkdtemp");
        return;
    }
    char spooldir[600], err[512];
    snprintf(spooldir, sizeof(spooldir), "%s/spool", dir);
    hb_embedded_t *emb = hb_embedded_new(err, sizeof(err));
    ok(emb != NULL, "the mock cluster starts");
    if (emb == NULL)
        return;

    /* a broker that is not there: appends are fsynced and stay */
    hb_publisher_t *dead = publisher("127.0.0.1:1", 300);
    hb_spool_t *sp = hb_spool_open(spooldir, 1 << 20, dead, err, sizeof(err));
    ok(sp != NULL, "the spool opens (and creates its directory)");
    if (sp == NULL)
        return;
    struct stat st;
    ok(stat(spooldir, &st) == 0 && (st.st_mode & 0777) == 0700, "the directory is private (0700)");
    ok(hb_spool_open(spooldir, 1 << 20, dead, err, sizeof(err)) == NULL && strstr(err, "another hookbridge") != NULL,
       "a second process cannot open the same spool: %s", err);
    append_job_t *jobs[20];
    for (int i = 0; i < 20; i++)
        jobs[i] = submit(sp, "spool.test", 100, i);
    ok(hb_spool_backlog(sp) >= 1, "queued appends count in the backlog at once");
    int all_ok = 1;
    for (int i = 0; i < 20; i++)
        all_ok &= wait_status(jobs[i]) == HB_SPOOL_OK;
    ok(all_ok, "20 appends fsynced");
    hb_spool_stats_t stats;
    hb_spool_stats(sp, &stats);
    is_int((long long)stats.records, 20, "20 records wait for Kafka");
    ok(stats.oldest_ms == 1764000000123, "the oldest record's timestamp");
    hb_spool_stop(sp);
    hb_publisher_free(dead);
    hb_spool_free(sp);

    /* a crash mid-append leaves a torn tail: the next start cuts it, and forwards the 20 whole records */
    char seg[700];
    snprintf(seg, sizeof(seg), "%s/%020d.seg", spooldir, 1);
    int fd = open(seg, O_WRONLY | O_APPEND);
    ok(fd >= 0, "the first segment holds the records");
    static const char torn[] = "HBS1\x40\x00\x00\x00\x01\x02\x03\x04partial";
    ok(fd >= 0 && write(fd, torn, sizeof(torn) - 1) == (ssize_t)(sizeof(torn) - 1), "a torn record appended");
    if (fd >= 0)
        close(fd);
    hb_publisher_t *pub = publisher(hb_embedded_bootstraps(emb), 5000);
    sp = hb_spool_open(spooldir, 1 << 20, pub, err, sizeof(err));
    ok(sp != NULL, "the spool opens again");
    if (sp == NULL)
        return;
    hb_spool_stats(sp, &stats);
    is_int((long long)stats.cut_bytes, (long long)(sizeof(torn) - 1), "the torn tail is cut");
    ok(wait_forwarded(sp, 20, 30), "the 20 records of the previous process are forwarded");
    /* and new ones go on through */
    for (int i = 0; i < 20; i++)
        jobs[i] = submit(sp, "spool.test", 100, i);
    all_ok = 1;
    for (int i = 0; i < 20; i++)
        all_ok &= wait_status(jobs[i]) == HB_SPOOL_OK;
    ok(all_ok && wait_forwarded(sp, 40, 30), "20 more appended and forwarded");
    usleep(200000); /* the spool's thread rotates once idle */
    is_int(count_segments(spooldir), 1, "forwarded segments are deleted: one (empty) segment is left");
    hb_spool_stats(sp, &stats);
    is_int((long long)stats.bytes, 0, "and the spool takes no bytes");
    hb_spool_stop(sp);
    hb_publisher_free(pub);
    hb_spool_free(sp);

    /* spool.maxBytes: past it appends are refused (FULL) and the spool says so */
    dead = publisher("127.0.0.1:1", 300);
    snprintf(spooldir, sizeof(spooldir), "%s/small", dir);
    sp = hb_spool_open(spooldir, 64 * 1024, dead, err, sizeof(err));
    ok(sp != NULL, "a 64 KiB spool opens");
    if (sp == NULL)
        return;
    int accepted = 0, refused = 0;
    for (int i = 0; i < 12; i++) {
        int s = wait_status(submit(sp, "spool.test", 10 * 1024, i));
        accepted += s == HB_SPOOL_OK;
        refused += s == HB_SPOOL_FULL;
    }
    is_int(accepted, 6, "six 10 KiB records fit in 64 KiB");
    is_int(refused, 6, "the rest are refused as FULL");
    hb_spool_stats(sp, &stats);
    ok(stats.full && stats.refused == 6 && stats.records == 6 && stats.bytes <= 64 * 1024,
       "the stats say full, 6 refused, 6 held, within maxBytes");
    hb_spool_stop(sp);
    hb_publisher_free(dead);
    hb_spool_free(sp);

    hb_embedded_free(emb);
    char cmd[800];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "# could not remove %s\n", dir);
}

int main(void)
{
    test_framing();
    test_spool();
    return done_testing();
}

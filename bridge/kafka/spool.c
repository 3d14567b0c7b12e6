#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define HB_SPOOL_MAGIC 0x31534248u /* "HBS1" read as a little-endian u32 */
#define HB_SPOOL_HEADER 12u        /* magic, payload length, CRC-32C */
#define HB_SPOOL_FIELDS 8
#define HB_SPOOL_MAX_PAYLOAD ((uint32_t)1 << 30)
#define HB_SPOOL_SEGMENT_MAX ((uint64_t)16 << 20)
#define HB_SPOOL_SEGMENT_MIN ((uint64_t)64 << 10)
#define HB_FORWARD_WINDOW 1024 /* records produced by the forwarder and not yet reported */
#define HB_BACKOFF_MIN_MS 250
#define HB_BACKOFF_MAX_MS 30000

/* ---- CRC-32C and framing (pure) ---- */

static uint32_t hb_crc_table[256];
static pthread_once_t hb_crc_once = PTHREAD_ONCE_INIT;

static void hb_crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) != 0 ? (c >> 1) ^ 0x82F63B78u : c >> 1; /* the reflected Castagnoli polynomial */
        hb_crc_table[i] = c;
    }
}

uint32_t hb_crc32c(const void *data, size_t len)
{
    pthread_once(&hb_crc_once, hb_crc_init);
    const uint8_t *p = data;
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < len; i++)
        c = hb_crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

static void hb_put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t hb_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A frame's timestamp: the first 8 bytes of its payload, little-endian. */
static int64_t hb_get_timestamp(const uint8_t *payload)
{
    return (int64_t)((uint64_t)hb_get_u32(payload) | (uint64_t)hb_get_u32(payload + 4) << 32);
}

static hb_spool_field_t *hb_record_field(hb_spool_record_t *rec, int i)
{
    switch (i) { /* the order on disk */
    case 0:
        return &rec->topic;
    case 1:
        return &rec->key;
    case 2:
        return &rec->content_type;
    case 3:
        return &rec->endpoint;
    case 4:
        return &rec->event_id;
    case 5:
        return &rec->traceparent;
    case 6:
        return &rec->tracestate;
    default:
        return &rec->value;
    }
}

void hb_spool_frame(const hb_spool_record_t *rec, hb_buf_t *out)
{
    hb_spool_record_t r = *rec;
    size_t payload = 8;
    for (int i = 0; i < HB_SPOOL_FIELDS; i++)
        payload += 4 + hb_record_field(&r, i)->len;
    size_t start = out->len;
    hb_buf_reserve(out, HB_SPOOL_HEADER + payload);
    uint8_t *p = (uint8_t *)out->base + start;
    uint8_t *q = p + HB_SPOOL_HEADER;
    uint64_t ts = (uint64_t)r.timestamp_ms;
    hb_put_u32(q, (uint32_t)ts);
    hb_put_u32(q + 4, (uint32_t)(ts >> 32));
    q += 8;
    for (int i = 0; i < HB_SPOOL_FIELDS; i++) {
        const hb_spool_field_t *f = hb_record_field(&r, i);
        hb_put_u32(q, (uint32_t)f->len);
        if (f->len > 0)
            memcpy(q + 4, f->base, f->len);
        q += 4 + f->len;
    }
    hb_put_u32(p, HB_SPOOL_MAGIC);
    hb_put_u32(p + 4, (uint32_t)payload);
    hb_put_u32(p + 8, hb_crc32c(p + HB_SPOOL_HEADER, payload));
    out->len = start + HB_SPOOL_HEADER + payload;
    out->base[out->len] = '\0';
}

long hb_spool_unframe(const void *data, size_t len, hb_spool_record_t *rec)
{
    const uint8_t *p = data;
    if (len < HB_SPOOL_HEADER)
        return 0;
    uint32_t payload = hb_get_u32(p + 4);
    if (hb_get_u32(p) != HB_SPOOL_MAGIC || payload < 8 + 4 * HB_SPOOL_FIELDS || payload > HB_SPOOL_MAX_PAYLOAD)
        return -1;
    if (len - HB_SPOOL_HEADER < payload)
        return 0;
    const uint8_t *q = p + HB_SPOOL_HEADER, *end = q + payload;
    if (hb_crc32c(q, payload) != hb_get_u32(p + 8))
        return -1;
    rec->timestamp_ms = hb_get_timestamp(q);
    q += 8;
    for (int i = 0; i < HB_SPOOL_FIELDS; i++) {
        if ((size_t)(end - q) < 4)
            return -1;
        uint32_t flen = hb_get_u32(q);
        q += 4;
        if ((size_t)(end - q) < flen)
            return -1;
        *hb_record_field(rec, i) = (hb_spool_field_t){flen > 0 ? (const char *)q : "", flen};
        q += flen;
    }
    return q == end ? (long)(HB_SPOOL_HEADER + payload) : -1;
}

/* ---- the spool ---- */

typedef struct hb_segment {
    uint64_t id;
    uint64_t size; /* bytes fsynced (the forwarder reads no further) */
} hb_segment_t;

/* A record the forwarder produced; its report sets state (under the lock). */
typedef struct hb_forward {
    hb_delivery_t delivery;
    hb_spool_t *sp;
    uint64_t seg, off; /* where the record starts */
    int64_t timestamp_ms;
    int state; /* 0: waiting for the report, 1: acknowledged, -1: failed */
} hb_forward_t;

struct hb_spool {
    char *dir;
    int dirfd, lockfd;
    size_t max_bytes;
    uint64_t segment_max;
    hb_publisher_t *pub;
    pthread_t thread;
    int started;
    pthread_mutex_t lock; /* the queue, stop, and the forward ring's states */
    pthread_cond_t cond;
    hb_spool_append_t *queue, **queue_tail;
    int stop;
    int woken; /* an append was queued or a report came since the thread last looked */
    atomic_ullong backlog, bytes, forwarded, refused, cut_bytes;
    atomic_llong oldest_ms;
    atomic_int full;
    /* the spool's thread only */
    hb_segment_t *segs; /* oldest first; the last is written to */
    size_t num_segs;
    uint64_t next_id; /* segment ids only grow, also across restarts */
    int wfd;
    uint64_t read_seg, read_off; /* the next record to forward */
    int rfd;
    uint64_t rfd_seg;
    hb_forward_t ring[HB_FORWARD_WINDOW];
    size_t ring_head, ring_len;
    int failing;
    rd_kafka_resp_err_t last_error; /* of a forwarded record (under the lock) */
    uint64_t retry_at_ms, backoff_ms;
};

static uint64_t hb_spool_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void hb_segment_name(uint64_t id, char *out, size_t outlen)
{
    snprintf(out, outlen, "%020llu.seg", (unsigned long long)id);
}

static int hb_segment_index(const hb_spool_t *sp, uint64_t id)
{
    for (size_t i = 0; i < sp->num_segs; i++)
        if (sp->segs[i].id == id)
            return (int)i;
    return -1;
}

static void hb_spool_log_errno(const char *msg, const char *what)
{
    hb_log(HB_LOG_ERROR, msg, "spool", what, "error", strerror(errno), HB_LOG_END);
}

/* Opens a new, empty segment to write to, and makes its name durable. 0, or -1 (logged). */
static int hb_spool_new_segment(hb_spool_t *sp)
{
    uint64_t id = sp->next_id++;
    char name[32];
    hb_segment_name(id, name, sizeof(name));
    int fd = openat(sp->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || fsync(sp->dirfd) != 0) {
        hb_spool_log_errno("cannot create a spool segment", name);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (sp->wfd >= 0)
        close(sp->wfd);
    sp->wfd = fd;
    sp->segs = hb_xrealloc(sp->segs, (sp->num_segs + 1) * sizeof(*sp->segs));
    sp->segs[sp->num_segs++] = (hb_segment_t){id, 0};
    return 0;
}

static void hb_spool_remove_segment(hb_spool_t *sp, size_t i)
{
    char name[32];
    hb_segment_name(sp->segs[i].id, name, sizeof(name));
    if (sp->rfd >= 0 && sp->rfd_seg == sp->segs[i].id) {
        close(sp->rfd);
        sp->rfd = -1;
    }
    if (unlinkat(sp->dirfd, name, 0) != 0)
        hb_spool_log_errno("cannot delete a forwarded spool segment", name);
    atomic_fetch_sub(&sp->bytes, sp->segs[i].size);
    memmove(&sp->segs[i], &sp->segs[i + 1], (sp->num_segs - i - 1) * sizeof(*sp->segs));
    sp->num_segs--;
    atomic_store(&sp->full, 0);
}

/* pread() of exactly len bytes at off. 0, or -1 (errno set; 0 at the end of the file). */
static int hb_pread_all(int fd, void *buf, size_t len, uint64_t off)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = 0;
            return -1;
        }
        done += (size_t)n;
    }
    return 0;
}

/*
 * Reads the record at off of the open segment fd, whose first size bytes count, into buf (rec points into it). Its
 * length; -1 when the bytes there are not a whole record (a torn tail, a changed disk); -2 when they cannot be read
 * (logged).
 */
static long hb_read_record(const hb_spool_t *sp, int fd, uint64_t off, uint64_t size, hb_buf_t *buf,
                           hb_spool_record_t *rec)
{
    uint8_t header[HB_SPOOL_HEADER];
    if (size - off < HB_SPOOL_HEADER)
        return -1;
    if (hb_pread_all(fd, header, sizeof(header), off) != 0) {
        hb_spool_log_errno("cannot read the spool", sp->dir);
        return -2;
    }
    uint64_t total = HB_SPOOL_HEADER + (uint64_t)hb_get_u32(header + 4);
    if (total > size - off || total > HB_SPOOL_HEADER + (uint64_t)HB_SPOOL_MAX_PAYLOAD)
        return -1;
    buf->len = 0;
    hb_buf_reserve(buf, total);
    if (hb_pread_all(fd, buf->base, total, off) != 0) {
        hb_spool_log_errno("cannot read the spool", sp->dir);
        return -2;
    }
    return hb_spool_unframe(buf->base, total, rec) == (long)total ? (long)total : -1;
}

/* The forwarder's descriptor for segment seg (opened on first use). -1 when it cannot be opened (logged). */
static int hb_segment_reader(hb_spool_t *sp, uint64_t seg)
{
    if (sp->rfd >= 0 && sp->rfd_seg == seg)
        return sp->rfd;
    if (sp->rfd >= 0)
        close(sp->rfd);
    char name[32];
    hb_segment_name(seg, name, sizeof(name));
    sp->rfd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC);
    sp->rfd_seg = seg;
    if (sp->rfd < 0)
        hb_spool_log_errno("cannot open a spool segment", name);
    return sp->rfd;
}

/*
 * Start: checks every record of one segment, cuts the segment after the last good one (a torn tail), and counts
 * what it holds. The segment's size, or -1 when it cannot be read.
 */
static long long hb_spool_scan_segment(hb_spool_t *sp, uint64_t id, uint64_t *records, int64_t *oldest_ms)
{
    char name[32];
    hb_segment_name(id, name, sizeof(name));
    int fd = openat(sp->dirfd, name, O_RDWR | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        hb_spool_log_errno("cannot open a spool segment", name);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    uint64_t size = (uint64_t)st.st_size, off = 0;
    hb_buf_t buf;
    hb_buf_init(&buf);
    hb_spool_record_t rec;
    long n = 0;
    while (off < size && (n = hb_read_record(sp, fd, off, size, &buf, &rec)) > 0) {
        if (*records == 0)
            *oldest_ms = rec.timestamp_ms;
        (*records)++;
        off += (uint64_t)n;
    }
    hb_buf_dispose(&buf);
    if (n == -2) { /* an I/O error is not a torn tail: cut nothing */
        close(fd);
        return -1;
    }
    if (off < size) {
        char cut[32], at[32];
        snprintf(cut, sizeof(cut), "%llu", (unsigned long long)(size - off));
        snprintf(at, sizeof(at), "%llu", (unsigned long long)off);
        hb_log(HB_LOG_WARN, "cut a torn record at the end of a spool segment (never forwarded)", "segment", name,
               "offset", at, "bytes", cut, HB_LOG_END);
        if (ftruncate(fd, (off_t)off) != 0 || fsync(fd) != 0) {
            hb_spool_log_errno("cannot cut a spool segment", name);
            close(fd);
            return -1;
        }
        atomic_fetch_add(&sp->cut_bytes, size - off);
    }
    close(fd);
    return (long long)off;
}

static int hb_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Start: the segments a previous process left, checked, oldest first. 0, or -1 with the reason in err. */
static int hb_spool_load(hb_spool_t *sp, char *err, size_t errlen)
{
    DIR *d = fdopendir(dup(sp->dirfd));
    if (d == NULL) {
        snprintf(err, errlen, "cannot list the spool directory %s: %s", sp->dir, strerror(errno));
        return -1;
    }
    uint64_t *ids = NULL;
    size_t n = 0;
    for (const struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
        char *end;
        unsigned long long id = strtoull(e->d_name, &end, 10);
        if (strlen(e->d_name) == 24 && end == e->d_name + 20 && strcmp(end, ".seg") == 0) {
            ids = hb_xrealloc(ids, (n + 1) * sizeof(*ids));
            ids[n++] = id;
        }
    }
    closedir(d);
    if (n > 0)
        qsort(ids, n, sizeof(*ids), hb_cmp_u64);
    sp->next_id = n > 0 ? ids[n - 1] + 1 : 1;
    uint64_t records = 0;
    int64_t oldest = 0;
    int ret = 0;
    for (size_t i = 0; i < n && ret == 0; i++) {
        long long size = hb_spool_scan_segment(sp, ids[i], &records, &oldest);
        if (size < 0) {
            snprintf(err, errlen, "cannot read the spool segment %020llu.seg in %s", (unsigned long long)ids[i],
                     sp->dir);
            ret = -1;
        } else if (size == 0) {
            char name[32];
            hb_segment_name(ids[i], name, sizeof(name));
            unlinkat(sp->dirfd, name, 0);
        } else {
            sp->segs = hb_xrealloc(sp->segs, (sp->num_segs + 1) * sizeof(*sp->segs));
            sp->segs[sp->num_segs++] = (hb_segment_t){ids[i], (uint64_t)size};
            atomic_fetch_add(&sp->bytes, (uint64_t)size);
        }
    }
    free(ids);
    atomic_store(&sp->backlog, records);
    atomic_store(&sp->oldest_ms, oldest);
    if (ret == 0 && records > 0) {
        char count[32];
        snprintf(count, sizeof(count), "%llu", (unsigned long long)records);
        hb_log(HB_LOG_INFO, "the spool holds records from before: forwarding them first", "spool", sp->dir, "records",
               count, HB_LOG_END);
    }
    if (sp->num_segs > 0)
        sp->read_seg = sp->segs[0].id;
    return ret;
}

/* ---- appending (the spool's thread) ---- */

static int hb_write_all(int fd, const void *data, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, (const char *)data + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        done += (size_t)n;
    }
    return 0;
}

/* Writes a batch of appends to the segment being written and fsyncs it once: group commit. Calls every done. */
static void hb_spool_commit(hb_spool_t *sp, hb_spool_append_t *batch)
{
    int io_ok = sp->wfd >= 0 && sp->num_segs > 0;
    if (io_ok && sp->segs[sp->num_segs - 1].size >= sp->segment_max)
        io_ok = hb_spool_new_segment(sp) == 0;
    hb_segment_t *seg = io_ok ? &sp->segs[sp->num_segs - 1] : NULL;
    uint64_t written = 0;
    for (hb_spool_append_t *a = batch; a != NULL; a = a->next) {
        a->status = HB_SPOOL_OK;
        if (atomic_load(&sp->bytes) + written + a->len > sp->max_bytes) {
            a->status = HB_SPOOL_FULL;
        } else if (!io_ok || hb_write_all(sp->wfd, a->data, a->len) != 0) {
            if (io_ok)
                hb_spool_log_errno("cannot write to the spool", sp->dir);
            io_ok = 0;
            a->status = HB_SPOOL_IO;
        } else {
            written += a->len;
        }
    }
    if (written > 0 && seg != NULL && (!io_ok || fdatasync(sp->wfd) != 0)) {
        if (io_ok)
            hb_spool_log_errno("cannot fsync the spool", sp->dir);
        /* nothing of this batch may count as spooled: cut it off again */
        if (ftruncate(sp->wfd, (off_t)seg->size) != 0)
            hb_spool_log_errno("cannot cut a failed write off the spool", sp->dir);
        io_ok = 0;
    }
    if (io_ok && written > 0 && seg != NULL) {
        seg->size += written;
        atomic_fetch_add(&sp->bytes, written);
    }
    for (hb_spool_append_t *a = batch, *next; a != NULL; a = next) {
        next = a->next;
        if (a->status == HB_SPOOL_OK && !io_ok)
            a->status = HB_SPOOL_IO;
        if (a->status != HB_SPOOL_OK)
            atomic_fetch_sub(&sp->backlog, a->num_records);
        else if (atomic_load(&sp->oldest_ms) == 0) /* the first record waiting: its timestamp leads the frame */
            atomic_store(&sp->oldest_ms, hb_get_timestamp((const uint8_t *)a->data + HB_SPOOL_HEADER));
        if (a->status == HB_SPOOL_FULL) {
            atomic_fetch_add(&sp->refused, 1);
            atomic_store(&sp->full, 1);
        }
        a->done(a, a->status);
    }
}

/* ---- forwarding (the spool's thread; reports on the publisher's poll thread) ---- */

static void hb_forward_report(hb_delivery_t *d, rd_kafka_resp_err_t err)
{
    hb_forward_t *f = (hb_forward_t *)d; /* delivery is its first member */
    hb_spool_t *sp = f->sp;
    pthread_mutex_lock(&sp->lock);
    f->state = err == RD_KAFKA_RESP_ERR_NO_ERROR ? 1 : -1;
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
        sp->last_error = err;
    sp->woken = 1;
    pthread_cond_signal(&sp->cond);
    pthread_mutex_unlock(&sp->lock);
}

/*
 * Takes the reports in: the acknowledged records at the head of the ring are done; a failed one stops the
 * forwarder until every record in flight has reported, and then it starts again from the failed one after a pause,
 * sending the ones after it again too (duplicates, never a gap). The forwarder's producer never times records out
 * (hb_publisher_new_forwarder), so an outage makes records wait, not fail; what fails is refused by the broker for
 * good (authorization, size), and is tried again after every pause.
 */
static void hb_forward_collect(hb_spool_t *sp)
{
    pthread_mutex_lock(&sp->lock);
    while (sp->ring_len > 0 && sp->ring[sp->ring_head].state == 1) {
        sp->ring_head = (sp->ring_head + 1) % HB_FORWARD_WINDOW;
        sp->ring_len--;
        atomic_fetch_sub(&sp->backlog, 1);
        atomic_fetch_add(&sp->forwarded, 1);
        sp->backoff_ms = 0;
    }
    if (sp->ring_len == 0 && atomic_load(&sp->backlog) == 0)
        atomic_store(&sp->oldest_ms, 0);
    if (sp->ring_len > 0) {
        atomic_store(&sp->oldest_ms, sp->ring[sp->ring_head].timestamp_ms);
        if (sp->ring[sp->ring_head].state == -1)
            sp->failing = 1;
    }
    int waiting = 0;
    for (size_t i = 0; sp->failing && i < sp->ring_len; i++)
        waiting += sp->ring[(sp->ring_head + i) % HB_FORWARD_WINDOW].state == 0;
    pthread_mutex_unlock(&sp->lock);
    if (sp->failing && waiting == 0) {
        if (sp->ring_len > 0) {
            sp->read_seg = sp->ring[sp->ring_head].seg;
            sp->read_off = sp->ring[sp->ring_head].off;
            sp->ring_len = 0;
        }
        sp->failing = 0;
        sp->backoff_ms = sp->backoff_ms == 0                      ? HB_BACKOFF_MIN_MS
                         : sp->backoff_ms * 2 > HB_BACKOFF_MAX_MS ? HB_BACKOFF_MAX_MS
                                                                  : sp->backoff_ms * 2;
        sp->retry_at_ms = hb_spool_now_ms() + sp->backoff_ms;
        char pause[24];
        snprintf(pause, sizeof(pause), "%llu", (unsigned long long)sp->backoff_ms);
        pthread_mutex_lock(&sp->lock);
        const char *reason = rd_kafka_err2name(sp->last_error);
        pthread_mutex_unlock(&sp->lock);
        hb_log(HB_LOG_WARN, "Kafka did not take the spooled records; sending them again after a pause", "reason",
               reason, "pause_ms", pause, HB_LOG_END);
    }
}

/* Deletes the segments every record of which Kafka has; starts afresh when everything is forwarded. */
static void hb_forward_gc(hb_spool_t *sp, int idle)
{
    uint64_t first = sp->ring_len > 0 ? sp->ring[sp->ring_head].seg : sp->read_seg;
    while (sp->num_segs > 1 && sp->segs[0].id < first)
        hb_spool_remove_segment(sp, 0);
    hb_segment_t *w = &sp->segs[sp->num_segs - 1];
    if (idle && sp->ring_len == 0 && !sp->failing && sp->read_seg == w->id && sp->read_off == w->size && w->size > 0 &&
        atomic_load(&sp->backlog) == 0) {
        /* all forwarded, nothing queued: a new segment, and the old one goes */
        if (hb_spool_new_segment(sp) == 0) {
            sp->read_seg = sp->segs[sp->num_segs - 1].id;
            sp->read_off = 0;
            hb_spool_remove_segment(sp, sp->num_segs - 2);
            atomic_store(&sp->oldest_ms, 0);
        }
    }
}

/* Produces the next records, up to the window. 1 when it produced any. */
static int hb_forward_some(hb_spool_t *sp)
{
    if (sp->failing || hb_spool_now_ms() < sp->retry_at_ms)
        return 0;
    int produced = 0;
    hb_buf_t buf;
    hb_buf_init(&buf);
    while (sp->ring_len < HB_FORWARD_WINDOW) {
        int i = hb_segment_index(sp, sp->read_seg);
        if (i < 0)
            break;
        if (sp->read_off >= sp->segs[i].size) {
            if ((size_t)i + 1 >= sp->num_segs)
                break; /* caught up with the writer */
            sp->read_seg = sp->segs[i + 1].id;
            sp->read_off = 0;
            continue;
        }
        int fd = hb_segment_reader(sp, sp->read_seg);
        hb_spool_record_t rec;
        long total = fd >= 0 ? hb_read_record(sp, fd, sp->read_off, sp->segs[i].size, &buf, &rec) : -2;
        if (total == -2)
            break; /* unreadable for now: tried again at the next turn */
        if (total < 0) {
            /* we wrote and fsynced it ourselves: the disk changed under us. Skip the rest of the segment. */
            hb_log(HB_LOG_ERROR, "a spooled record does not check out; the rest of its segment is skipped", "spool",
                   sp->dir, HB_LOG_END);
            sp->read_off = sp->segs[i].size;
            continue;
        }
        char topic[256];
        if (rec.topic.len == 0 || rec.topic.len >= sizeof(topic)) {
            sp->read_off += (uint64_t)total;
            continue;
        }
        memcpy(topic, rec.topic.base, rec.topic.len);
        topic[rec.topic.len] = '\0';
        hb_forward_t *f = &sp->ring[(sp->ring_head + sp->ring_len) % HB_FORWARD_WINDOW];
        *f = (hb_forward_t){.delivery.cb = hb_forward_report,
                            .sp = sp,
                            .seg = sp->read_seg,
                            .off = sp->read_off,
                            .timestamp_ms = rec.timestamp_ms};
        void *value = hb_xmalloc(rec.value.len + 1);
        memcpy(value, rec.value.base, rec.value.len);
        char *ctype = hb_xstrndup(rec.content_type.base, rec.content_type.len),
             *endpoint = hb_xstrndup(rec.endpoint.base, rec.endpoint.len),
             *event_id = hb_xstrndup(rec.event_id.base, rec.event_id.len);
        hb_record_t out = {.topic = hb_publisher_topic(sp->pub, topic),
                           .key = rec.key.base,
                           .key_len = rec.key.len,
                           .value = value,
                           .value_len = rec.value.len,
                           .content_type = ctype,
                           .endpoint = endpoint,
                           .event_id = event_id,
                           .timestamp_ms = rec.timestamp_ms,
                           .traceparent = rec.traceparent.len > 0 ? rec.traceparent.base : NULL,
                           .traceparent_len = rec.traceparent.len,
                           .tracestate = rec.tracestate.len > 0 ? rec.tracestate.base : NULL,
                           .tracestate_len = rec.tracestate.len,
                           .delivery = &f->delivery};
        rd_kafka_resp_err_t err = hb_publisher_produce(sp->pub, &out);
        free(ctype);
        free(endpoint);
        free(event_id);
        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
            free(value);
            /* the queue is full (or the like): try again once what is in flight has reported */
            sp->failing = 1;
            break;
        }
        pthread_mutex_lock(&sp->lock);
        sp->ring_len++;
        pthread_mutex_unlock(&sp->lock);
        sp->read_off += (uint64_t)total;
        produced = 1;
    }
    hb_buf_dispose(&buf);
    return produced;
}

static void *hb_spool_main(void *arg)
{
    hb_spool_t *sp = arg;
    uint64_t wait_ms = 0;
    for (;;) {
        pthread_mutex_lock(&sp->lock);
        if (!sp->woken && !sp->stop && wait_ms > 0) {
            /* appends and reports wake it; else only the end of a pause (or, idle, a second) is worth a look */
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += (time_t)(wait_ms / 1000);
            until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&sp->cond, &sp->lock, &until);
        }
        sp->woken = 0;
        hb_spool_append_t *batch = sp->queue;
        sp->queue = NULL;
        sp->queue_tail = &sp->queue;
        int stop = sp->stop;
        pthread_mutex_unlock(&sp->lock);
        if (batch != NULL)
            hb_spool_commit(sp, batch);
        if (stop)
            break;
        hb_forward_collect(sp);
        hb_forward_some(sp);
        hb_forward_gc(sp, batch == NULL);
        uint64_t now = hb_spool_now_ms();
        wait_ms = sp->failing                                             ? 20 /* until everything reported */
                  : batch != NULL                                         ? 0  /* rotate once idle */
                  : sp->retry_at_ms > now && sp->retry_at_ms - now < 1000 ? sp->retry_at_ms - now
                                                                          : 1000;
    }
    return NULL;
}

/* ---- the API ---- */

hb_spool_t *hb_spool_open(const char *dir, size_t max_bytes, hb_publisher_t *pub, char *err, size_t errlen)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create the spool directory %s: %s", dir, strerror(errno));
        return NULL;
    }
    hb_spool_t *sp = hb_xcalloc(1, sizeof(*sp));
    sp->dir = hb_xstrdup(dir);
    sp->max_bytes = max_bytes;
    sp->segment_max = max_bytes / 8 > HB_SPOOL_SEGMENT_MAX   ? HB_SPOOL_SEGMENT_MAX
                      : max_bytes / 8 < HB_SPOOL_SEGMENT_MIN ? HB_SPOOL_SEGMENT_MIN
                                                             : max_bytes / 8;
    sp->pub = pub;
    sp->wfd = sp->rfd = sp->lockfd = -1;
    sp->queue_tail = &sp->queue;
    pthread_mutex_init(&sp->lock, NULL);
    pthread_cond_init(&sp->cond, NULL);
    sp->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sp->dirfd < 0) {
        snprintf(err, errlen, "cannot open the spool directory %s: %s", dir, strerror(errno));
        goto Error;
    }
    sp->lockfd = openat(sp->dirfd, "LOCK", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (sp->lockfd < 0 || flock(sp->lockfd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, errlen, "cannot lock the spool directory %s: %s", dir,
                 errno == EWOULDBLOCK ? "another hookbridge process uses it" : strerror(errno));
        goto Error;
    }
    if (hb_spool_load(sp, err, errlen) != 0)
        goto Error;
    if (hb_spool_new_segment(sp) != 0) {
        snprintf(err, errlen, "cannot create a segment in the spool directory %s: %s", dir, strerror(errno));
        goto Error;
    }
    if (sp->num_segs == 1)
        sp->read_seg = sp->segs[0].id;
    if (pthread_create(&sp->thread, NULL, hb_spool_main, sp) != 0) {
        snprintf(err, errlen, "cannot start the spool's thread");
        goto Error;
    }
    sp->started = 1;
    return sp;
Error:
    hb_spool_free(sp);
    return NULL;
}

void hb_spool_submit(hb_spool_t *sp, hb_spool_append_t *append)
{
    append->next = NULL;
    pthread_mutex_lock(&sp->lock);
    atomic_fetch_add(&sp->backlog, append->num_records);
    *sp->queue_tail = append;
    sp->queue_tail = &append->next;
    sp->woken = 1;
    pthread_cond_signal(&sp->cond);
    pthread_mutex_unlock(&sp->lock);
}

uint64_t hb_spool_backlog(const hb_spool_t *sp)
{
    return atomic_load(&sp->backlog);
}

void hb_spool_stats(const hb_spool_t *sp, hb_spool_stats_t *out)
{
    out->bytes = atomic_load(&sp->bytes);
    out->records = atomic_load(&sp->backlog);
    out->oldest_ms = out->records > 0 ? atomic_load(&sp->oldest_ms) : 0;
    out->forwarded = atomic_load(&sp->forwarded);
    out->refused = atomic_load(&sp->refused);
    out->full = atomic_load(&sp->full);
    out->cut_bytes = atomic_load(&sp->cut_bytes);
}

void hb_spool_stop(hb_spool_t *sp)
{
    if (sp == NULL || !sp->started)
        return;
    pthread_mutex_lock(&sp->lock);
    sp->stop = 1;
    pthread_cond_signal(&sp->cond);
    pthread_mutex_unlock(&sp->lock);
    pthread_join(sp->thread, NULL);
    sp->started = 0;
    uint64_t left = atomic_load(&sp->backlog);
    if (left > 0) {
        char count[32];
        snprintf(count, sizeof(count), "%llu", (unsigned long long)left);
        hb_log(HB_LOG_WARN, "records stay in the spool; the next start forwards them", "spool", sp->dir, "records",
               count, HB_LOG_END);
    }
}

void hb_spool_free(hb_spool_t *sp)
{
    if (sp == NULL)
        return;
    hb_spool_stop(sp);
    if (sp->wfd >= 0)
        close(sp->wfd);
    if (sp->rfd >= 0)
        close(sp->rfd);
    if (sp->lockfd >= 0)
        close(sp->lockfd); /* and the lock goes with it */
    if (sp->dirfd >= 0)
        close(sp->dirfd);
    pthread_mutex_destroy(&sp->lock);
    pthread_cond_destroy(&sp->cond);
    free(sp->segs);
    free(sp->dir);
    free(sp);
}

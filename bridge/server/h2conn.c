/* bridge/server/h2conn.c: server.h2c: what h2o 2.2.5 leaves unbounded over HTTP/2, bounded by a sweep. */
#include <sys/socket.h>

#include "internal.h"

/*
 * With server.h2c on, every accepted connection is followed, because over HTTP/2 h2o 2.2.5 bounds neither a slow
 * request (its idle timer restarts on every read, so frames trickled in hold a connection for ever) nor the requests
 * a client resets while their record is in flight (a reset stream no longer counts against its 100 concurrent
 * streams, but the record stays in librdkafka's queue: the Rapid Reset pattern). h2o leaves the socket's on_close hook
 * unused for server connections; it frees the entry.
 */
static void hb_conn_on_close(void *data)
{
    hb_conn_t *c = data;
    h2o_linklist_unlink(&c->link);
    free(c);
}

void hb_conn_follow(hb_worker_t *w, h2o_socket_t *sock)
{
    HB_ASSERT_ON_WORKER(w);
    hb_conn_t *c = hb_xcalloc(1, sizeof(*c));
    c->sock = sock;
    c->progress_ms = h2o_now(w->ctx.loop);
    sock->on_close.cb = hb_conn_on_close;
    sock->on_close.data = c;
    h2o_linklist_insert(&w->conns, &c->link);
}

hb_conn_t *hb_conn_of(h2o_conn_t *conn)
{
    h2o_socket_t *sock = conn->callbacks->get_socket != NULL ? conn->callbacks->get_socket(conn) : NULL;
    return sock != NULL && sock->on_close.cb == hb_conn_on_close ? sock->on_close.data : NULL;
}

/*
 * Ends a connection from outside h2o, which has no call for it: shutdown(2) makes its next read see the end (and any
 * write fail), and h2o then closes it as if the client had. Nothing is freed here.
 */
void hb_conn_shutdown(hb_conn_t *c, hb_log_level_t level, const char *why)
{
    if (c->closing)
        return;
    c->closing = 1;
    int fd = h2o_socket_get_fd(c->sock);
    if (fd >= 0)
        shutdown(fd, SHUT_RDWR);
    struct sockaddr_storage ss;
    char peer[NI_MAXHOST];
    socklen_t sslen = h2o_socket_getpeername(c->sock, (struct sockaddr *)&ss);
    if (sslen == 0 || h2o_socket_getnumerichost((struct sockaddr *)&ss, sslen, peer) == SIZE_MAX)
        peer[0] = '\0';
    hb_log(level, "closing an HTTP/2 connection", "reason", why, "peer", peer, HB_LOG_END);
}

static int hb_sweep_http1(h2o_req_t *req, void *cbdata)
{
    hb_conn_t *c = hb_conn_of(req->conn);
    if (c != NULL)
        c->http1 = 1;
    return 0;
}

static int hb_sweep_http2(h2o_req_t *req, void *cbdata)
{
    const hb_worker_t *w = cbdata;
    hb_conn_t *c = hb_conn_of(req->conn);
    if (c == NULL)
        return 0;
    if (req->processed_at.at.tv_sec != 0) { /* complete, in hb_on_req or being answered */
        c->busy = 1;
        return 0;
    }
    /* still arriving (headers begun or a body coming): h2o stamps a stream when its HEADERS come */
    struct timeval begun = req->timestamps.request_begin_at, now = *h2o_get_timestamp(req->conn->ctx, NULL, NULL);
    int64_t age_ms = (int64_t)(now.tv_sec - begun.tv_sec) * 1000 + (now.tv_usec - begun.tv_usec) / 1000;
    if (begun.tv_sec != 0 && age_ms >= (int64_t)w->srv->cfg->server.request_timeout_ms)
        c->slow = 1;
    return 0;
}

/*
 * server.requestTimeout over HTTP/2, every quarter of it (at most a second): a connection with a request still
 * arriving after requestTimeout, or on which no request came in or was answered for requestTimeout and one more sweep
 * (frames or the preface trickled in, or only PINGs), is closed once nothing on it is being answered. The extra sweep
 * lets h2o's own idle timer (also requestTimeout, restarted by every read) close a merely idle connection first, with
 * a GOAWAY. HTTP/1 connections are left to h2o's own timer.
 */
static void hb_on_sweep(h2o_timeout_entry_t *entry)
{
    hb_worker_t *w = H2O_STRUCT_FROM_MEMBER(hb_worker_t, sweep_entry, entry);
    HB_ASSERT_ON_WORKER(w);
    uint64_t now = h2o_now(w->ctx.loop);
    h2o_linklist_t *node;
    for (node = w->conns.next; node != &w->conns; node = node->next) {
        hb_conn_t *c = H2O_STRUCT_FROM_MEMBER(hb_conn_t, link, node);
        c->http1 = c->busy = c->slow = 0;
    }
    w->srv->globalconf.http1.callbacks.foreach_request(&w->ctx, hb_sweep_http1, w);
    w->srv->globalconf.http2.callbacks.foreach_request(&w->ctx, hb_sweep_http2, w);
    for (node = w->conns.next; node != &w->conns; node = node->next) {
        hb_conn_t *c = H2O_STRUCT_FROM_MEMBER(hb_conn_t, link, node);
        if (c->http1 || c->busy)
            c->progress_ms = now;
        else if (c->slow)
            hb_conn_shutdown(c, HB_LOG_DEBUG, "a request slower than server.requestTimeout");
        else if (now - c->progress_ms >= w->srv->cfg->server.request_timeout_ms + w->sweep_timeout.timeout)
            hb_conn_shutdown(c, HB_LOG_DEBUG, "no request within server.requestTimeout");
    }
    h2o_timeout_link(w->ctx.loop, &w->sweep_timeout, &w->sweep_entry);
}

void hb_conn_start_sweep(hb_worker_t *w)
{
    uint64_t period = w->srv->cfg->server.request_timeout_ms / 4;
    h2o_timeout_init(w->ctx.loop, &w->sweep_timeout, period < 100 ? 100 : period > 1000 ? 1000 : period);
    w->sweep_entry.cb = hb_on_sweep;
    h2o_timeout_link(w->ctx.loop, &w->sweep_timeout, &w->sweep_entry);
}

/*
 * bench/ceiling.c: the benchmark's ceiling. The same h2o 2.2.5 build and thread layout as `hookbridge serve` (one
 * event loop per thread, each with its own SO_REUSEPORT listener), answering every request with a fixed
 * 200 {"ok":true} and doing nothing else: what h2o alone costs on this machine, so bench/run can say how much of
 * it the bridge keeps.
 *
 *   bench_ceiling [--listen HOST:PORT] [--threads N]
 *
 * Defaults: 127.0.0.1:0 (a free port), one thread per online core. Prints "listening on HOST:PORT" on stdout once
 * every loop accepts, then serves until killed.
 */
#include <errno.h>
#include <h2o.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct hb_ceiling_worker {
    pthread_t thread;
    int fd;
    h2o_globalconf_t *globalconf;
    pthread_barrier_t *started;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
} hb_ceiling_worker_t;

static int hb_ceiling_on_req(h2o_handler_t *self, h2o_req_t *req)
{
    static const char body[] = "{\"ok\":true}\n";
    req->res.status = 200;
    req->res.reason = "OK";
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, H2O_STRLIT("application/json"));
    /* as in hookbridge: without a content-length h2o 2.2.5 closes the keep-alive connection */
    req->res.content_length = sizeof(body) - 1;
    h2o_send_inline(req, body, sizeof(body) - 1);
    return 0;
}

static void hb_ceiling_on_accept(h2o_socket_t *listener, const char *err)
{
    if (err != NULL)
        return;
    hb_ceiling_worker_t *w = listener->data;
    h2o_socket_t *sock = h2o_evloop_socket_accept(listener);
    if (sock != NULL)
        h2o_accept(&w->accept_ctx, sock);
}

static void *hb_ceiling_worker_main(void *arg)
{
    hb_ceiling_worker_t *w = arg;
    /* the context is created on the thread that runs it: h2o's socket buffers recycle through thread-local
       allocators (see docs/architecture.md, Threads) */
    h2o_context_init(&w->ctx, h2o_evloop_create(), w->globalconf);
    w->accept_ctx.ctx = &w->ctx;
    w->accept_ctx.hosts = w->globalconf->hosts;
    h2o_socket_t *listener = h2o_evloop_socket_create(w->ctx.loop, w->fd, H2O_SOCKET_FLAG_DONT_READ);
    listener->data = w;
    h2o_socket_read_start(listener, hb_ceiling_on_accept);
    pthread_barrier_wait(w->started);
    for (;;)
        h2o_evloop_run(w->ctx.loop, INT32_MAX);
    return NULL;
}

/* One listening socket per worker on addr; port 0 is resolved by the first and shared by the others. */
static int hb_ceiling_listen(struct sockaddr_storage *addr, socklen_t *addrlen)
{
    int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), on = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0 ||
        bind(fd, (struct sockaddr *)addr, *addrlen) != 0 || listen(fd, SOMAXCONN) != 0 ||
        getsockname(fd, (struct sockaddr *)addr, addrlen) != 0) {
        fprintf(stderr, "bench_ceiling: cannot listen: %s\n", strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int hb_ceiling_usage(void)
{
    fprintf(stderr, "usage: bench_ceiling [--listen HOST:PORT] [--threads N]\n");
    return 2;
}

int main(int argc, char **argv)
{
    char host[256] = "127.0.0.1", port[16] = "0";
    long threads = sysconf(_SC_NPROCESSORS_ONLN);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
            const char *arg = argv[++i], *colon = strrchr(arg, ':');
            if (colon == NULL || (size_t)(colon - arg) >= sizeof(host) || strlen(colon + 1) >= sizeof(port))
                return hb_ceiling_usage();
            snprintf(host, sizeof(host), "%.*s", (int)(colon - arg), arg);
            snprintf(port, sizeof(port), "%s", colon + 1);
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            char *end;
            threads = strtol(argv[++i], &end, 10);
            if (*end != '\0' || threads < 1 || threads > 1024)
                return hb_ceiling_usage();
        } else {
            return hb_ceiling_usage();
        }
    }
    if (threads < 1)
        threads = 1;
    signal(SIGPIPE, SIG_IGN);

    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0) {
        fprintf(stderr, "bench_ceiling: %s: %s\n", host, gai_strerror(gai));
        return 1;
    }
    struct sockaddr_storage addr;
    socklen_t addrlen = (socklen_t)res->ai_addrlen;
    memcpy(&addr, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);

    static h2o_globalconf_t globalconf;
    h2o_config_init(&globalconf);
    globalconf.server_name = h2o_iovec_init(H2O_STRLIT("bench_ceiling"));
    h2o_hostconf_t *hostconf = h2o_config_register_host(&globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *pathconf = h2o_config_register_path(hostconf, "/", 0);
    h2o_create_handler(pathconf, sizeof(h2o_handler_t))->on_req = hb_ceiling_on_req;

    pthread_barrier_t started;
    pthread_barrier_init(&started, NULL, (unsigned)threads + 1);
    hb_ceiling_worker_t *workers = calloc((size_t)threads, sizeof(*workers));
    if (workers == NULL)
        abort();
    for (long i = 0; i < threads; i++) {
        if ((workers[i].fd = hb_ceiling_listen(&addr, &addrlen)) < 0)
            return 1;
        workers[i].globalconf = &globalconf;
        workers[i].started = &started;
    }
    for (long i = 0; i < threads; i++)
        pthread_create(&workers[i].thread, NULL, hb_ceiling_worker_main, &workers[i]);
    pthread_barrier_wait(&started);

    char numhost[NI_MAXHOST];
    size_t hl = h2o_socket_getnumerichost((struct sockaddr *)&addr, addrlen, numhost);
    printf("listening on %s:%d (%ld threads)\n", hl != SIZE_MAX ? numhost : host,
           h2o_socket_getport((struct sockaddr *)&addr), threads);
    fflush(stdout);
    for (long i = 0; i < threads; i++)
        pthread_join(workers[i].thread, NULL);
    return 0;
}

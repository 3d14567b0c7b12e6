/* bridge/admin/testrun.c: example test runs, for the admin port's button and `hookbridge send-example`. */
#include "testrun.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "envelope.h"

int hb_testrun_request(const hb_verifier_t *v, const char *endpoint_id, const char *payload, const char *host,
                       const char *port, hb_buf_t *out)
{
    hb_buf_t lines;
    hb_buf_init(&lines);
    size_t len = strlen(payload);
    int none = strcmp(hb_verifier_scheme(v), "none") == 0;
    if (!none && (hb_verifier_sign_body(v, endpoint_id, payload, len, "application/json", &lines) != 0 ||
                  (lines.len > 0 && lines.base[0] == '#'))) {
        out->len = 0;
        if (lines.len > 0 && lines.base[0] == '#')
            hb_buf_puts(out, "this provider signs inside the body; send the example from outside");
        else
            hb_buf_append(out, lines.base, lines.len);
        hb_buf_dispose(&lines);
        return -1;
    }
    hb_buf_printf(
        out,
        "POST /webhooks/%s HTTP/1.1\r\nHost: %s:%s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
        "User-Agent: hookbridge-test-run\r\n" HB_TEST_HEADER ": 1\r\nConnection: close\r\n",
        endpoint_id, host, port, len);
    for (size_t i = 0; !none && i < lines.len; i++) { /* "Name: value\n" lines → CRLF */
        if (lines.base[i] == '\n')
            hb_buf_puts(out, "\r\n");
        else
            hb_buf_putc(out, lines.base[i]);
    }
    hb_buf_puts(out, "\r\n");
    hb_buf_append(out, payload, len);
    hb_buf_dispose(&lines);
    return 0;
}

int hb_testrun_exchange(const char *host, const char *port, const hb_buf_t *request, int timeout_s, int *status,
                        hb_buf_t *body, char *err, size_t errlen)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int fd = -1, ret = -1;
    if (getaddrinfo(host, port, &hints, &res) != 0 ||
        (fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
        snprintf(err, errlen, "cannot resolve %s:%s", host, port);
        goto Exit;
    }
    struct timeval tv = {timeout_s, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
        snprintf(err, errlen, "cannot connect to %s:%s: %s", host, port, strerror(errno));
        goto Exit;
    }
    for (size_t off = 0; off < request->len;) {
        ssize_t n = write(fd, request->base + off, request->len - off);
        if (n <= 0) {
            snprintf(err, errlen, "cannot send to %s:%s: %s", host, port, strerror(errno));
            goto Exit;
        }
        off += (size_t)n;
    }
    hb_buf_t in;
    hb_buf_init(&in);
    char chunk[4096];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof(chunk))) > 0 && in.len < (1u << 20))
        hb_buf_append(&in, chunk, (size_t)n);
    const char *end = in.len > 0 ? memmem(in.base, in.len, "\r\n\r\n", 4) : NULL;
    if (end != NULL && in.len > 12 && memcmp(in.base, "HTTP/1.", 7) == 0) {
        *status = (int)strtol(in.base + 9, NULL, 10);
        hb_buf_append(body, end + 4, in.len - (size_t)(end + 4 - in.base));
        ret = 0;
    } else {
        snprintf(err, errlen, "no HTTP answer from %s:%s", host, port);
    }
    hb_buf_dispose(&in);
Exit:
    if (fd >= 0)
        close(fd);
    if (res != NULL)
        freeaddrinfo(res);
    return ret;
}

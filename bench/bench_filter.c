/* bench/bench_filter.c: matching a compiled five-key EventFilter against the parsed 2.1 KiB GitHub-like body
   (issue 3: ≤ 1 µs). The body is parsed and unpacked once, as the server does per request; only the match is timed,
   and the unpack of the body into a msgpack_object is timed apart, as it is paid once per request too.
     bench_filter        match for at least 1 s after a warm-up and print ns per match
     bench_filter N      match exactly N times, no warm-up (for valgrind --tool=callgrind) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "body.h"
#include "filter.h"
#include "payload.h"

/* Five leaf keys at three depths, with values, an operator and a boolean: what a GitHub trigger looks like. */
static const char filter_json[] = "{\"action\":[\"opened\",\"synchronize\"],"
                                  "\"pull_request\":{\"draft\":[false],\"base\":{\"ref\":[\"main\"]}},"
                                  "\"repository\":{\"full_name\":[{\"$startsWith\":\"octocat/\"}]},"
                                  "\"sender\":{\"type\":[\"User\",\"Bot\"]}}";

static void parse_or_die(const char *json, size_t len, msgpack_sbuffer *sb, msgpack_unpacked *up)
{
    char err[256];
    sb->size = 0;
    size_t off = 0;
    if (hb_json_to_msgpack(json, len, HB_BODY_MAX_DEPTH, sb, err, sizeof(err)) != 0 ||
        msgpack_unpack_next(up, sb->data, sb->size, &off) != MSGPACK_UNPACK_SUCCESS) {
        fprintf(stderr, "bench input does not parse: %s\n", err);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    msgpack_sbuffer fsb, bsb;
    msgpack_sbuffer_init(&fsb);
    msgpack_sbuffer_init(&bsb);
    msgpack_unpacked fup, bup;
    msgpack_unpacked_init(&fup);
    msgpack_unpacked_init(&bup);
    parse_or_die(filter_json, sizeof(filter_json) - 1, &fsb, &fup);
    parse_or_die(payload, sizeof(payload) - 1, &bsb, &bup);
    char err[256];
    hb_filter_t *f = hb_filter_compile(&fup.data, err, sizeof(err));
    if (f == NULL) {
        fprintf(stderr, "bench filter does not compile: %s\n", err);
        return 1;
    }
    /* a benchmark of a filter that does not match would measure an early exit */
    if (hb_filter_match(f, &bup.data, NULL) != 1) {
        fprintf(stderr, "bench filter does not match the payload\n");
        return 1;
    }

    long fixed = argc > 1 ? strtol(argv[1], NULL, 10) : 0;
    volatile int sink = 0;
    if (fixed > 0) {
        for (long i = 0; i < fixed; i++)
            sink += hb_filter_match(f, &bup.data, NULL);
        printf("%ld matches\n", fixed);
    } else {
        for (double t0 = now(); now() - t0 < 0.3;)
            for (int i = 0; i < 10000; i++)
                sink += hb_filter_match(f, &bup.data, NULL);
        long iters = 0;
        double t0 = now(), elapsed;
        do {
            for (int i = 0; i < 10000; i++)
                sink += hb_filter_match(f, &bup.data, NULL);
            iters += 10000;
            elapsed = now() - t0;
        } while (elapsed < 1.0);
        double match_ns = elapsed / (double)iters * 1e9;

        /* the per-request unpack of the packed body into a msgpack_object, which the match reads */
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        long unpacks = 0;
        t0 = now();
        do {
            for (int i = 0; i < 1000; i++) {
                size_t off = 0;
                msgpack_unpack_next(&up, bsb.data, bsb.size, &off);
            }
            unpacks += 1000;
            elapsed = now() - t0;
        } while (elapsed < 1.0);
        msgpack_unpacked_destroy(&up);
        printf("five-key filter match: %.0f ns/match (%ld matches); unpacking the %zu-byte body: %.0f ns\n", match_ns,
               iters, bsb.size, elapsed / (double)unpacks * 1e9);
    }
    hb_filter_free(f);
    msgpack_unpacked_destroy(&fup);
    msgpack_unpacked_destroy(&bup);
    msgpack_sbuffer_destroy(&fsb);
    msgpack_sbuffer_destroy(&bsb);
    return sink == 0;
}

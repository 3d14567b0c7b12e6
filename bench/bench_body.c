/* bench/bench_body.c: JSON → msgpack speed on a 2.1 KiB GitHub-like webhook payload (DESIGN §6: the target is
   300 MB/s at -O2; yajl packing msgpack directly does 282, cJSON building a tree 269).
     bench_body          parse for at least 1 s after a warm-up and print MB/s (10^6 bytes) and µs per parse
     bench_body N        parse exactly N times, no warm-up (for valgrind --tool=callgrind) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "body.h"
#include "payload.h"

int main(int argc, char **argv)
{
    const size_t len = sizeof(payload) - 1;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    char err[256];
    if (hb_json_to_msgpack(payload, len, HB_BODY_MAX_DEPTH, &sb, err, sizeof(err)) != 0) {
        fprintf(stderr, "bench payload does not parse: %s\n", err);
        return 1;
    }
    size_t packed = sb.size;

    long fixed = argc > 1 ? strtol(argv[1], NULL, 10) : 0;
    if (fixed > 0) {
        for (long i = 0; i < fixed; i++) {
            sb.size = 0;
            hb_json_to_msgpack(payload, len, HB_BODY_MAX_DEPTH, &sb, err, sizeof(err));
        }
        printf("%ld parses of %zu bytes\n", fixed, len);
        msgpack_sbuffer_destroy(&sb);
        return 0;
    }

    /* warm-up: caches, branch predictors, CPU frequency */
    for (double t0 = now(); now() - t0 < 0.3;)
        for (int i = 0; i < 1000; i++) {
            sb.size = 0;
            hb_json_to_msgpack(payload, len, HB_BODY_MAX_DEPTH, &sb, err, sizeof(err));
        }

    /* the buffer is reused, as a worker thread reuses its per-request buffer */
    long iters = 0;
    double t0 = now(), elapsed;
    do {
        for (int i = 0; i < 1000; i++) {
            sb.size = 0;
            hb_json_to_msgpack(payload, len, HB_BODY_MAX_DEPTH, &sb, err, sizeof(err));
        }
        iters += 1000;
        elapsed = now() - t0;
    } while (elapsed < 1.0);

    double per = elapsed / (double)iters;
    printf(
        "json\xe2\x86\x92msgpack %.1f KiB: %.0f MB/s (%.2f \xc2\xb5s/parse; %zu \xe2\x86\x92 %zu bytes, %ld parses)\n",
        (double)len / 1024, (double)len / per / 1e6, per * 1e6, len, packed, iters);
    msgpack_sbuffer_destroy(&sb);
    return 0;
}

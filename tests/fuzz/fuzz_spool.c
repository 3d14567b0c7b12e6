/*
 * tests/fuzz/fuzz_spool.c: hb_spool_unframe() on arbitrary bytes (what a spool segment holds after a crash or a bad
 * disk). Records are read one after the other as the forwarder does; every record that reads back lies within the
 * input, and framing it again gives the same bytes (nothing is accepted that the writer would not have written).
 */
#include <string.h>

#include "fuzz.h"
#include "spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_span_t in;
    fz_split(data, size, '\0', &in, 1); /* an exact-size copy */
    const uint8_t *p = (const uint8_t *)in.p;
    size_t left = in.n;
    hb_buf_t again;
    hb_buf_init(&again);
    for (;;) {
        hb_spool_record_t rec;
        long n = hb_spool_unframe(p, left, &rec);
        FZ_CHECK(n >= -1 && n <= (long)left, "a record never reaches past the input");
        if (n <= 0)
            break;
        again.len = 0;
        hb_spool_frame(&rec, &again);
        FZ_CHECK(again.len == (size_t)n && memcmp(again.base, p, (size_t)n) == 0,
                 "a record that reads back is framed again to the same bytes");
        p += n;
        left -= (size_t)n;
    }
    hb_buf_dispose(&again);
    fz_free_parts(&in, 1);
    return 0;
}

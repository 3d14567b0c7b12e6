/* tests/unit/test_dedupe.c: the window of published event ids. */
#include <stdio.h>

#include "dedupe.h"
#include "tap.h"

int main(void)
{
    hb_dedupe_t *d = hb_dedupe_new(3, 1000);
    ok(!hb_dedupe_seen(d, "a", 0), "nothing remembered yet");
    hb_dedupe_remember(d, "a", 100);
    hb_dedupe_remember(d, "b", 200);
    ok(hb_dedupe_seen(d, "a", 150) && hb_dedupe_seen(d, "b", 250), "remembered ids are seen");
    ok(!hb_dedupe_seen(d, "c", 250), "another id is not");
    ok(!hb_dedupe_seen(d, "A", 250) && !hb_dedupe_seen(d, "a ", 250), "ids compare exactly");
    ok(hb_dedupe_seen(d, "a", 1100) && !hb_dedupe_seen(d, "a", 1101), "an id is remembered for max_age only");
    hb_dedupe_remember(d, "a", 1050); /* a retry after a successful publish refreshes it */
    ok(hb_dedupe_seen(d, "a", 2000), "remembering again refreshes the age");
    hb_dedupe_remember(d, "c", 300);
    hb_dedupe_remember(d, "d", 400); /* the window holds 3: the oldest entry (a) goes */
    ok(!hb_dedupe_seen(d, "a", 500), "the oldest goes when the window is full");
    ok(hb_dedupe_seen(d, "b", 500) && hb_dedupe_seen(d, "c", 500) && hb_dedupe_seen(d, "d", 500), "the last 3 stay");
    /* many ids through a small window: every one of the last `size` is found, none before */
    hb_dedupe_t *w = hb_dedupe_new(100, 1000000);
    char id[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(id, sizeof(id), "evt_%d", i);
        hb_dedupe_remember(w, id, i);
    }
    int last = 0, older = 0;
    for (int i = 0; i < 10000; i++) {
        snprintf(id, sizeof(id), "evt_%d", i);
        if (hb_dedupe_seen(w, id, 10000)) {
            if (i >= 9900)
                last++;
            else
                older++;
        }
    }
    is_int(last, 100, "the last 100 of 10000 are all found");
    is_int(older, 0, "none of the 9900 before them");
    hb_dedupe_free(w);
    hb_dedupe_free(d);
    hb_dedupe_free(NULL);
    return done_testing();
}

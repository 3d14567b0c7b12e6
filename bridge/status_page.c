/* bridge/status_page.c: PLACEHOLDER until the page lands: a minimal document that says where the data is. */
#include "status_page.h"

void hb_status_page(const char *const *icons, size_t num_icons, hb_buf_t *out)
{
    (void)icons;
    (void)num_icons;
    hb_buf_puts(out, "<!doctype html><title>hookbridge</title><p>See <a href=\"/api/endpoints\">/api/endpoints</a>.");
}

const char *hb_tabler_icon(const char *name)
{
    (void)name;
    return NULL;
}

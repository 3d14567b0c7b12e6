/* bridge/admin/status_page.h: the admin port's status page, one self-contained HTML document (no network at run time).
 */
#ifndef HB_STATUS_PAGE_H
#define HB_STATUS_PAGE_H

#include "util.h"

/**
 * Appends the page to out, with the SVG of each Tabler icon named in icons (num_icons names, NULL entries skipped)
 * embedded; unknown names get a neutral placeholder. The page reads /api/endpoints itself. Any thread.
 */
void hb_status_page(const char *const *icons, size_t num_icons, hb_buf_t *out);
/** The SVG of a Tabler outline icon by name (as Trigger.dev names them: "brand-github"), or NULL. Pure. */
const char *hb_tabler_icon(const char *name);

#endif

/* bridge/admin/status_page.c: the admin port's status page (ui/status.html) with the configured Tabler icons embedded.
 */
#include "status_page.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"

/* Generated at build time by ui/gen-assets.cmake into the build tree (generated/hb_assets.c). */
extern const char hb_status_html[];
extern const size_t hb_status_html_len;
extern const char *const hb_tabler_icon_names[]; /* sorted in strcmp order */
extern const char *const hb_tabler_icon_svgs[];
extern const size_t hb_tabler_icon_count; /* 0 when the build had no @tabler/icons (ui/node_modules) */

#define HB_ICONS_PLACEHOLDER "/*ICONS*/"

static int hb_icon_name_cmp(const void *key, const void *member)
{
    return strcmp((const char *)key, *(const char *const *)member);
}

const char *hb_tabler_icon(const char *name)
{
    if (name == NULL || hb_tabler_icon_count == 0)
        return NULL;
    const char *const *found =
        bsearch(name, hb_tabler_icon_names, hb_tabler_icon_count, sizeof(*hb_tabler_icon_names), hb_icon_name_cmp);
    return found != NULL ? hb_tabler_icon_svgs[found - hb_tabler_icon_names] : NULL;
}

/* Appends json to out with every '<' as \u003c: the text sits inside a <script> element, where "</script" or
 * "<!--" would end or confuse it. Every '<' of the JSON is inside a string, where the escape means the same. */
static void hb_put_script_safe(hb_buf_t *out, const hb_buf_t *json)
{
    for (size_t i = 0; i < json->len; i++) {
        if (json->base[i] == '<')
            hb_buf_puts(out, "\\u003c");
        else
            hb_buf_putc(out, json->base[i]);
    }
}

void hb_status_page(const char *const *icons, size_t num_icons, hb_buf_t *out)
{
    /* {name: svg} of the configured icons this build knows, each name once */
    hb_buf_t json;
    hb_buf_init(&json);
    hb_buf_putc(&json, '{');
    for (size_t i = 0; i < num_icons; i++) {
        const char *svg = hb_tabler_icon(icons[i]);
        int seen = 0;
        for (size_t j = 0; svg != NULL && j < i && !seen; j++)
            seen = icons[j] != NULL && strcmp(icons[j], icons[i]) == 0;
        if (svg == NULL || seen)
            continue;
        if (json.len > 1)
            hb_buf_putc(&json, ',');
        hb_json_cstr(&json, icons[i]);
        hb_buf_putc(&json, ':');
        hb_json_cstr(&json, svg);
    }
    hb_buf_putc(&json, '}');

    const char *html = hb_status_html;
    const char *at = strstr(html, HB_ICONS_PLACEHOLDER);
    hb_buf_reserve(out, hb_status_html_len + json.len + json.len / 8);
    if (at == NULL) { /* a template without the placeholder: the page shows placeholders for every icon */
        hb_buf_append(out, html, hb_status_html_len);
    } else {
        hb_buf_append(out, html, (size_t)(at - html));
        hb_put_script_safe(out, &json);
        const char *rest = at + strlen(HB_ICONS_PLACEHOLDER);
        hb_buf_append(out, rest, hb_status_html_len - (size_t)(rest - html));
    }
    hb_buf_dispose(&json);
}

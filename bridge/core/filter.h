/* bridge/core/filter.h: Trigger.dev v2 EventFilters and request filters, compiled once, matched against msgpack. Pure.
 */
#ifndef HB_FILTER_H
#define HB_FILTER_H

#include <msgpack.h>

#include "request.h"
#include "util.h"

typedef struct hb_filter hb_filter_t;

/**
 * Compiles an EventFilter given as a msgpack map (keys are property names, never paths). Refuses what Trigger.dev
 * would silently accept: an unknown $operator, an object with two operators, an array mixing scalar types or
 * values and operators, a scalar where an array is expected. NULL on error, with the place inside the filter
 * ("address.street[1]") and the reason in err. The result does not point into filter. Setup thread.
 */
hb_filter_t *hb_filter_compile(const msgpack_object *filter, char *err, size_t errlen);
/** Accepts NULL. */
void hb_filter_free(hb_filter_t *f);
/**
 * 1 when payload matches (payload NULL means undefined: only the empty filter matches it), else 0. When why is
 * not NULL and there is no match, appends which key failed and how. Any thread.
 */
int hb_filter_match(const hb_filter_t *f, const msgpack_object *payload, hb_buf_t *why);

/** A request filter: `method`, `headers` (or `header`), `query`, `body` (an EventFilter). */
typedef struct hb_reqfilter hb_reqfilter_t;

/**
 * Compiles a request filter given as a msgpack map. Each part at most once (`header` is another name for `headers`);
 * methods and header names are HTTP tokens; header and query values are strings or $startsWith, $endsWith,
 * $ignoreCaseEquals; body is an EventFilter, as for hb_filter_compile(). NULL on error, with the place inside the
 * filter ("query.hub.mode[0]") and the reason in err, and, when where is not NULL, *where set to the key or value at
 * fault: a pointer into filter (so a caller can map it back to its source, e.g. a YAML line and column). The result
 * does not point into filter. Setup thread.
 */
hb_reqfilter_t *hb_reqfilter_compile(const msgpack_object *filter, const msgpack_object **where, char *err,
                                     size_t errlen);
/** Accepts NULL. */
void hb_reqfilter_free(hb_reqfilter_t *f);
/** 1 when the filter has a `body` part (so the body must be parsed to match it). */
int hb_reqfilter_needs_body(const hb_reqfilter_t *f);
/**
 * 1 when req matches. body is the parsed body (NULL when there is none or it did not parse: a body filter then
 * does not match). Header names match case-insensitively, repeated headers joined with ", "; a repeated query
 * parameter: the last wins. why as for hb_filter_match(). Any thread.
 */
int hb_reqfilter_match(const hb_reqfilter_t *f, const hb_request_t *req, const msgpack_object *body, hb_buf_t *why);

/** The value of the query parameter name (decoded, last one wins) into out; 1 when present. Pure helper. */
int hb_query_get(const hb_request_t *req, const char *name, size_t namelen, hb_buf_t *out);
/** The value of the header (case-insensitive, repeated joined with ", ") into out; 1 when present. */
int hb_header_get(const hb_request_t *req, const char *name, size_t namelen, hb_buf_t *out);

#endif

/* bridge/core/log.h: structured logs, one JSON object per line on stderr. */
#ifndef HB_LOG_H
#define HB_LOG_H

typedef enum hb_log_level { HB_LOG_DEBUG, HB_LOG_INFO, HB_LOG_WARN, HB_LOG_ERROR } hb_log_level_t;

/** Ends the key/value list of hb_log(): a typed null pointer, as a variadic sentinel must be. */
#define HB_LOG_END ((const char *)0)

/** Lines below this level are dropped. Set once at start, before threads exist. */
void hb_log_set_level(hb_log_level_t level);
/**
 * Writes {"ts":..., "level":..., "msg": msg, key: value, ...} as one line with one write(2), so lines from
 * several threads never interleave. The variadic part is pairs of C strings ending with HB_LOG_END; a NULL value is
 * skipped. Any thread.
 */
void hb_log(hb_log_level_t level, const char *msg, ...) __attribute__((sentinel));

#endif

#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "json.h"

/* written by a reload on the main thread while workers read it: atomic, relaxed (a level is one value, ordered
 * against nothing else) */
static _Atomic int hb_log_min = HB_LOG_INFO;

void hb_log_set_level(hb_log_level_t level)
{
    atomic_store_explicit(&hb_log_min, (int)level, memory_order_relaxed);
}

void hb_log(hb_log_level_t level, const char *msg, ...)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    if ((int)level < atomic_load_explicit(&hb_log_min, memory_order_relaxed))
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    hb_buf_t line;
    hb_buf_init(&line);
    hb_buf_printf(&line,
                  "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"level\":\"%s\",\"msg\":", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, names[level]);
    hb_json_cstr(&line, msg);
    va_list ap;
    va_start(ap, msg);
    const char *key;
    while ((key = va_arg(ap, const char *)) != NULL) {
        const char *value = va_arg(ap, const char *);
        if (value == NULL)
            continue;
        hb_buf_putc(&line, ',');
        hb_json_cstr(&line, key);
        hb_buf_putc(&line, ':');
        hb_json_cstr(&line, value);
    }
    va_end(ap);
    hb_buf_puts(&line, "}\n");
    ssize_t r = write(STDERR_FILENO, line.base, line.len);
    (void)r;
    hb_buf_dispose(&line);
}

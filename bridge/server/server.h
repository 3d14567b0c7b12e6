/* bridge/server/server.h: the HTTP front end: h2o listeners, worker threads, the request pipeline (DESIGN §1). */
#ifndef HB_SERVER_H
#define HB_SERVER_H

#include "config.h"

/**
 * Runs the bridge for cfg until SIGTERM or SIGINT, then drains: stops accepting, waits (up to
 * server.shutdownTimeout) for every in-flight delivery report, flushes the producer. Returns the process exit code
 * (0 after a clean drain, 1 when setup failed; the reason is logged). Main thread; blocks those signals.
 */
int hb_server_run(const hb_config_t *cfg);

#endif

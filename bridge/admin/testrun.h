/* bridge/admin/testrun.h: an endpoint's example sent as a test run: signed as its sender would, over plain HTTP/1.1. */
#ifndef HB_TESTRUN_H
#define HB_TESTRUN_H

#include "util.h"
#include "verify.h"

/**
 * The whole HTTP/1.1 request of a test run into out: POST /webhooks/{endpoint_id} to host:port with the payload as
 * JSON, the headers the endpoint's scheme accepts now, and the test-run mark. 0, or -1 with the reason in out when
 * hookbridge cannot sign for it (a public key, a plugin, a signature inside the body). Any thread.
 */
int hb_testrun_request(const hb_verifier_t *v, const char *endpoint_id, const char *payload, const char *host,
                       const char *port, hb_buf_t *out);
/**
 * Sends request (which says Connection: close) to host:port and reads the answer to its end, waiting at most
 * timeout_s for each step. 0 with the status and body; -1 with the reason in err. Blocks: never on an event loop.
 */
int hb_testrun_exchange(const char *host, const char *port, const hb_buf_t *request, int timeout_s, int *status,
                        hb_buf_t *body, char *err, size_t errlen);

#endif

/* bridge/server/messages.h: taking the messages h2o_multithread hands a receiver. Header only; the receiver's thread.
 */
#ifndef HB_MESSAGES_H
#define HB_MESSAGES_H

#include <h2o.h>

/*
 * Empties an h2o message list, calling cb on each message after it is detached (cb may free it). Walks the
 * circular list by hand, leaving the head empty as h2o expects, rather than h2o_linklist_unlink() in a loop,
 * whose header the static analyzer cannot follow (false use-after-free reports).
 */
static inline void hb_take_messages(h2o_linklist_t *messages, void (*cb)(h2o_multithread_message_t *, void *),
                                    void *ctx)
{
    h2o_linklist_t *node = messages->next;
    messages->next = messages->prev = messages;
    while (node != messages) {
        h2o_linklist_t *next = node->next;
        node->next = node->prev = NULL;
        if (cb != NULL)
            cb(H2O_STRUCT_FROM_MEMBER(h2o_multithread_message_t, link, node), ctx);
        node = next;
    }
}

#endif

/* bridge/core/body.h: a request body (JSON or form-urlencoded) → one msgpack value, in one pass, no tree. Pure. */
#ifndef HB_BODY_H
#define HB_BODY_H

#include <stddef.h>

#include <msgpack.h>

#include "util.h"

/**
 * The nesting depth the server allows (arrays and objects; a scalar at the top is depth 0). msgpack-c's unpacker
 * (msgpack_unpack_next) reads at most 32 nested arrays and maps (MSGPACK_EMBED_STACK_SIZE, compiled into the
 * library), and an envelope holds the body one level down: 31 keeps every parsed body readable, alone and in its
 * envelope.
 */
#define HB_BODY_MAX_DEPTH 31

/**
 * Parses JSON text (RFC 8259) and appends it as one msgpack value to out. 0 on success; -1 when the text is not
 * JSON or nests deeper than max_depth, with the reason and byte offset in err (err may be NULL). On -1 out->size is
 * restored to what it was (out->data may have grown). out is a msgpack_sbuffer the caller owns; its data stays
 * malloc'd (freed by msgpack_sbuffer_destroy). text need not be NUL-terminated and is never read past text+len.
 *
 * The value is the one JavaScript's JSON.parse(new TextDecoder().decode(bytes)) gives, with these encodings:
 * - A leading UTF-8 BOM is skipped (TextDecoder drops it).
 * - Strings are str, always valid UTF-8. Invalid UTF-8 bytes inside a string become U+FFFD the way TextDecoder
 *   replaces them (WHATWG "maximal subpart": one U+FFFD per truncated or broken sequence, one per stray byte);
 *   a lone surrogate escape (\ud800 without its pair, or a lone \udc00) becomes U+FFFD.
 * - A number without fraction or exponent that fits int64 (or uint64 when positive) is an int in its smallest
 *   msgpack form; anything else is a float64 (correctly rounded; 1e400 → +Infinity as JSON.parse gives). "-0"
 *   is the float64 -0.0, as in JavaScript.
 * - Objects are maps with str keys in input order. A repeated key is NOT merged: every pair is emitted as it
 *   comes, so consumers must take the LAST pair of a key (hb_filter does; so do JS/Python/Go decoders that
 *   assign into an object/dict/map, which also keeps the first occurrence's position, exactly as JSON.parse).
 *   JavaScript's ordering of integer-like keys first is not reproduced.
 * - Arrays and maps use the smallest header when their content is below 4 KiB, else array32/map32 headers
 *   (valid msgpack; the header is written before the element count is known).
 *
 * max_depth is normally HB_BODY_MAX_DEPTH; the parser is iterative, so deep input never grows the C stack.
 * Pure, any thread.
 */
int hb_json_to_msgpack(const char *text, size_t len, int max_depth, msgpack_sbuffer *out, char *err, size_t errlen);

/**
 * Parses application/x-www-form-urlencoded text into a msgpack map of str → str, as JavaScript's
 * Object.fromEntries(new URLSearchParams(text)): pairs split on '&' (empty ones skipped), '+' is a space, %XX is
 * a byte, a bad escape is kept as it is, a name without '=' has the value "", names and values are then decoded
 * as UTF-8 with U+FFFD replacement (no BOM stripping), the LAST value of a repeated name wins, and names are in
 * the order of their first appearance. Appends one map to out. Never fails. Pure, any thread.
 */
void hb_form_to_msgpack(const char *text, size_t len, msgpack_sbuffer *out);

/** Appends s to buf as UTF-8, each maximal subpart of an invalid sequence replaced by U+FFFD (as TextDecoder). */
void hb_utf8_append_fixed(hb_buf_t *buf, const char *s, size_t len);

#endif

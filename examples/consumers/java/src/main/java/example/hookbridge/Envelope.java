package example.hookbridge;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.msgpack.core.MessagePack;
import org.msgpack.core.MessagePackException;
import org.msgpack.core.MessageUnpacker;
import org.msgpack.value.IntegerValue;
import org.msgpack.value.Value;
import org.msgpack.value.ValueFactory;

/**
 * hookbridge's event envelope v1: the msgpack map that is the value of every Kafka record hookbridge publishes.
 *
 * <p>A v1 envelope only ever gains fields: {@link #decode} ignores keys it does not know, and refuses any other
 * version. {@code body} is an array, so {@code equals} compares it by reference (use {@link java.util.Arrays#equals}).
 *
 * @param id          the sender's delivery id, else a UUIDv7; kept across retries of one delivery
 * @param endpoint    the endpoint's id in the config
 * @param source      the provider, e.g. "github"
 * @param triggers    the triggers that matched and route to this topic (may be empty)
 * @param receivedAt  unix time in milliseconds
 * @param url         path + query, as received
 * @param query       the last value of a repeated parameter wins
 * @param headers     lower-case names; repeated headers joined with ", "
 * @param remoteAddr  peer address (or the trusted forwarded-for)
 * @param contentType "" when the request had none
 * @param body        the raw body, byte for byte
 * @param verified    the scheme that verified it: "hmac-sha256", "github", "none", ...
 * @param json        the parsed body (JSON or form) when it parsed, else null (as for a body that was JSON null):
 *                    Map&lt;String, Object&gt;, List&lt;Object&gt;, String, Long (BigInteger past a long), Double,
 *                    Boolean or null
 * @param test        true for a test run sent from an endpoint's examples
 */
public record Envelope(
        int v,
        String id,
        String endpoint,
        String source,
        List<String> triggers,
        long receivedAt,
        String method,
        String path,
        String url,
        Map<String, String> query,
        Map<String, String> headers,
        String remoteAddr,
        String contentType,
        byte[] body,
        String verified,
        Object json,
        boolean test) {

    public static final int VERSION = 1;
    /** The content-type header of a record whose value is a v1 envelope. */
    public static final String CONTENT_TYPE = "application/vnd.hookbridge.event.v1+msgpack";

    /** The bytes are not a hookbridge event envelope v1. */
    public static class EnvelopeException extends RuntimeException {
        public EnvelopeException(String message) {
            super(message);
        }

        public EnvelopeException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** An envelope of another version (v missing or not 1). */
    public static class VersionException extends EnvelopeException {
        public VersionException(String message) {
            super(message);
        }
    }

    /**
     * Decodes one record value. Unknown keys are ignored; a missing field, a field of the wrong type or a version
     * other than 1 throws {@link EnvelopeException}.
     */
    public static Envelope decode(byte[] data) {
        Value root;
        try (MessageUnpacker unpacker = MessagePack.newDefaultUnpacker(data)) {
            root = unpacker.unpackValue();
            if (unpacker.hasNext()) {
                throw new EnvelopeException("not one msgpack value: bytes after the value");
            }
        } catch (IOException | MessagePackException e) {
            throw new EnvelopeException("not one msgpack value: " + e, e);
        }
        if (!root.isMapValue()) {
            throw new EnvelopeException("an envelope is a msgpack map, not " + root.getValueType());
        }
        Map<Value, Value> m = root.asMapValue().map();
        Value v = m.get(ValueFactory.newString("v"));
        if (v == null) {
            throw new VersionException("not a hookbridge event envelope v1: field v is missing");
        }
        if (!v.isIntegerValue() || !v.asIntegerValue().isInIntRange() || v.asIntegerValue().toInt() != VERSION) {
            throw new VersionException("not a hookbridge event envelope v1: v is " + v.toJson());
        }
        Fields f = new Fields(m);
        Value json = m.get(ValueFactory.newString("json"));
        Value test = m.get(ValueFactory.newString("test"));
        if (test != null && !test.isBooleanValue()) {
            throw new EnvelopeException("envelope field test has the wrong type: " + test.getValueType());
        }
        return new Envelope(
                VERSION,
                f.string("id"),
                f.string("endpoint"),
                f.string("source"),
                f.stringList("triggers"),
                f.integer("receivedAt"),
                f.string("method"),
                f.string("path"),
                f.string("url"),
                f.stringMap("query"),
                f.stringMap("headers"),
                f.string("remoteAddr"),
                f.string("contentType"),
                f.binary("body"),
                f.string("verified"),
                json == null ? null : toJava(json),
                test != null && test.asBooleanValue().getBoolean());
    }

    /** The required fields of the envelope map, each checked for its type. */
    private record Fields(Map<Value, Value> m) {
        Value get(String key) {
            Value value = m.get(ValueFactory.newString(key));
            if (value == null) {
                throw new EnvelopeException("the envelope lacks field " + key);
            }
            return value;
        }

        EnvelopeException wrongType(String key, Value value) {
            return new EnvelopeException("envelope field " + key + " has the wrong type: " + value.getValueType());
        }

        String string(String key) {
            Value value = get(key);
            if (!value.isStringValue()) {
                throw wrongType(key, value);
            }
            return value.asStringValue().toString(); // invalid UTF-8 becomes U+FFFD
        }

        long integer(String key) {
            Value value = get(key);
            if (!value.isIntegerValue() || !value.asIntegerValue().isInLongRange()) {
                throw wrongType(key, value);
            }
            return value.asIntegerValue().toLong();
        }

        byte[] binary(String key) {
            Value value = get(key);
            if (!value.isBinaryValue()) {
                throw wrongType(key, value);
            }
            return value.asBinaryValue().asByteArray();
        }

        List<String> stringList(String key) {
            Value value = get(key);
            if (!value.isArrayValue()) {
                throw wrongType(key, value);
            }
            List<String> out = new ArrayList<>();
            for (Value item : value.asArrayValue()) {
                if (!item.isStringValue()) {
                    throw wrongType(key, value);
                }
                out.add(item.asStringValue().toString());
            }
            return Collections.unmodifiableList(out);
        }

        Map<String, String> stringMap(String key) {
            Value value = get(key);
            if (!value.isMapValue()) {
                throw wrongType(key, value);
            }
            Map<String, String> out = new LinkedHashMap<>();
            for (Map.Entry<Value, Value> e : value.asMapValue().entrySet()) {
                if (!e.getKey().isStringValue() || !e.getValue().isStringValue()) {
                    throw wrongType(key, value);
                }
                out.put(e.getKey().asStringValue().toString(), e.getValue().asStringValue().toString());
            }
            return Collections.unmodifiableMap(out);
        }
    }

    /** A msgpack value as plain Java: maps, lists, strings, numbers, booleans, null (and byte[] for bin). */
    static Object toJava(Value value) {
        switch (value.getValueType()) {
            case NIL:
                return null;
            case BOOLEAN:
                return value.asBooleanValue().getBoolean();
            case INTEGER: {
                IntegerValue i = value.asIntegerValue();
                return i.isInLongRange() ? (Object) i.toLong() : (Object) i.toBigInteger();
            }
            case FLOAT:
                return value.asFloatValue().toDouble();
            case STRING:
                return value.asStringValue().toString();
            case BINARY:
                return value.asBinaryValue().asByteArray();
            case ARRAY: {
                List<Object> list = new ArrayList<>();
                for (Value item : value.asArrayValue()) {
                    list.add(toJava(item));
                }
                return Collections.unmodifiableList(list);
            }
            case MAP: {
                Map<String, Object> map = new LinkedHashMap<>();
                for (Map.Entry<Value, Value> e : value.asMapValue().entrySet()) {
                    map.put(e.getKey().isStringValue() ? e.getKey().asStringValue().toString() : e.getKey().toJson(),
                            toJava(e.getValue()));
                }
                return Collections.unmodifiableMap(map);
            }
            default: // EXTENSION: hookbridge writes none
                return value;
        }
    }
}

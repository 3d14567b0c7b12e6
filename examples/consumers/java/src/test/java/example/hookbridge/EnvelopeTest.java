package example.hookbridge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.msgpack.core.MessagePack;
import org.msgpack.core.MessagePacker;
import org.msgpack.value.Value;
import org.msgpack.value.ValueFactory;

/**
 * The decoder against hookbridge's golden envelopes: every schemas/vectors/NAME.msgpack decodes to NAME.json (what
 * {@code hookbridge decode} prints), field by field.
 */
class EnvelopeTest {
    static final Path VECTORS = Path.of(System.getenv().getOrDefault("HOOKBRIDGE_VECTORS", "../../../schemas/vectors"));

    /** The JSON form's keys: what the Envelope exposes (body or bodyBase64 is body). */
    static final Set<String> KNOWN = Set.of("v", "id", "endpoint", "source", "triggers", "receivedAt", "method",
            "path", "url", "query", "headers", "remoteAddr", "contentType", "body", "bodyBase64", "verified", "json",
            "test");

    /** Two more envelopes the bridge made (../testdata/README.md). */
    static final Path TESTDATA = Path.of("../testdata");

    static List<Path> envelopes(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().endsWith(".msgpack"))
                    .map(p -> p.resolveSibling(p.getFileName().toString().replace(".msgpack", "")))
                    .sorted()
                    .toList();
        }
    }

    static Stream<Path> cases() throws IOException {
        return Stream.concat(envelopes(VECTORS).stream(), envelopes(TESTDATA).stream());
    }

    static byte[] msgpack(Path base) throws IOException {
        return Files.readAllBytes(Path.of(base + ".msgpack"));
    }

    static byte[] msgpack(String vector) throws IOException {
        return msgpack(VECTORS.resolve(vector));
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> json(Path base) throws IOException {
        return (Map<String, Object>) MiniJson.parse(Files.readString(Path.of(base + ".json")));
    }

    @Test
    void thereAreVectors() throws IOException {
        assertTrue(envelopes(VECTORS).size() >= 6, "golden vectors missing in " + VECTORS.toAbsolutePath());
        assertTrue(envelopes(TESTDATA).size() >= 2, "test envelopes missing in " + TESTDATA.toAbsolutePath());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void goldenVector(Path base) throws IOException {
        Map<String, Object> want = json(base);
        for (String key : want.keySet()) {
            assertTrue(KNOWN.contains(key), "the vector has field " + key + ", which Envelope does not expose");
        }
        Envelope e = Envelope.decode(msgpack(base));

        assertEquals(want.get("v"), (long) e.v(), "v");
        assertEquals(want.get("id"), e.id(), "id");
        assertEquals(want.get("endpoint"), e.endpoint(), "endpoint");
        assertEquals(want.get("source"), e.source(), "source");
        assertEquals(want.get("triggers"), e.triggers(), "triggers");
        assertEquals(want.get("receivedAt"), e.receivedAt(), "receivedAt");
        assertEquals(want.get("method"), e.method(), "method");
        assertEquals(want.get("path"), e.path(), "path");
        assertEquals(want.get("url"), e.url(), "url");
        assertEquals(want.get("query"), e.query(), "query");
        assertEquals(want.get("headers"), e.headers(), "headers");
        assertEquals(want.get("remoteAddr"), e.remoteAddr(), "remoteAddr");
        assertEquals(want.get("contentType"), e.contentType(), "contentType");
        assertEquals(want.get("verified"), e.verified(), "verified");

        byte[] body = want.containsKey("body")
                ? ((String) want.get("body")).getBytes(StandardCharsets.UTF_8)
                : Base64.getDecoder().decode((String) want.get("bodyBase64"));
        assertNotNull(e.body(), "body");
        assertArrayEquals(body, e.body(), "body");

        if (want.containsKey("json")) {
            assertNotNull(e.json(), "json");
            assertEquals(want.get("json"), e.json(), "json"); // Map/List/Long/Boolean equality: false is not 0
        } else {
            assertNull(e.json(), "json");
        }
        assertEquals(want.getOrDefault("test", false), e.test(), "test");
    }

    /** A vector's map with some keys changed (a null Value removes the key), packed again. */
    static byte[] repack(String name, Consumer<Map<Value, Value>> edit) throws IOException {
        Value root = MessagePack.newDefaultUnpacker(msgpack(name)).unpackValue();
        Map<Value, Value> m = new LinkedHashMap<>(root.asMapValue().map());
        edit.accept(m);
        m.values().removeIf(v -> v == null);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (MessagePacker packer = MessagePack.newDefaultPacker(out)) {
            packer.packValue(ValueFactory.newMap(m));
        }
        return out.toByteArray();
    }

    static Value str(String s) {
        return ValueFactory.newString(s);
    }

    @Test
    void unknownFieldsAreIgnored() throws IOException {
        Envelope plain = Envelope.decode(msgpack("json-body"));
        Envelope more = Envelope.decode(repack("json-body", m -> {
            m.put(str("aNewField"), ValueFactory.newMap(str("nested"), ValueFactory.newArray(
                    ValueFactory.newInteger(1), str("two"), ValueFactory.newBinary(new byte[] {3}))));
            m.put(str("zz"), ValueFactory.newNil());
        }));
        assertArrayEquals(plain.body(), more.body());
        // records compare byte[] by reference: compare with the same body array
        assertEquals(plain, new Envelope(more.v(), more.id(), more.endpoint(), more.source(), more.triggers(),
                more.receivedAt(), more.method(), more.path(), more.url(), more.query(), more.headers(),
                more.remoteAddr(), more.contentType(), plain.body(), more.verified(), more.json(), more.test()));
    }

    @Test
    void otherVersionsAreRefused() {
        for (Value v : List.of(ValueFactory.newInteger(2), ValueFactory.newInteger(0), ValueFactory.newInteger(-1),
                str("1"), ValueFactory.newNil(), ValueFactory.newBoolean(true))) {
            Envelope.VersionException e = assertThrows(Envelope.VersionException.class,
                    () -> Envelope.decode(repack("json-body", m -> m.put(str("v"), v))), "v = " + v);
            assertTrue(e.getMessage().startsWith("not a hookbridge event envelope v1"), e.getMessage());
        }
        assertThrows(Envelope.VersionException.class,
                () -> Envelope.decode(repack("json-body", m -> m.put(str("v"), null))), "without v");
        // a v2 whose other fields changed type is refused for its version, not for a type
        Envelope.VersionException e = assertThrows(Envelope.VersionException.class,
                () -> Envelope.decode(repack("json-body", m -> {
                    m.put(str("v"), ValueFactory.newInteger(2));
                    m.put(str("body"), ValueFactory.newInteger(7));
                    m.put(str("triggers"), str("x"));
                })));
        assertTrue(e.getMessage().contains("v is 2"), e.getMessage());
    }

    @Test
    void malformedEnvelopesAreRefused() throws IOException {
        byte[] good = msgpack("json-body");
        Map<String, byte[]> cases = new LinkedHashMap<>();
        cases.put("not a map", new byte[] {(byte) 0x93, 1, 2, 3});
        cases.put("empty", new byte[0]);
        cases.put("trailing bytes", Arrays.copyOf(good, good.length + 1)); // + 0x00
        cases.put("truncated", Arrays.copyOf(good, good.length - 3));
        cases.put("no body", repack("json-body", m -> m.put(str("body"), null)));
        cases.put("no id", repack("json-body", m -> m.put(str("id"), null)));
        cases.put("body as str", repack("json-body", m -> m.put(str("body"), str("a str, not bin"))));
        cases.put("headers not a map", repack("json-body", m -> m.put(str("headers"), str("host: x"))));
        cases.put("receivedAt not an int", repack("json-body", m -> m.put(str("receivedAt"), str("soon"))));
        cases.put("triggers not an array", repack("json-body", m -> m.put(str("triggers"), ValueFactory.newInteger(5))));
        cases.put("test not a bool", repack("json-body", m -> m.put(str("test"), ValueFactory.newInteger(1))));
        for (Map.Entry<String, byte[]> c : cases.entrySet()) {
            assertThrows(Envelope.EnvelopeException.class, () -> Envelope.decode(c.getValue()), c.getKey());
        }
    }

    @Test
    void testIsFalseWhenAbsent() throws IOException {
        assertFalse(Envelope.decode(msgpack("json-body")).test());
        assertTrue(Envelope.decode(msgpack("test-run")).test());
    }

    @Test
    void stringsThatAreNotUtf8GetReplacementCharacters() throws IOException {
        Envelope e = Envelope.decode(msgpack(TESTDATA.resolve("invalid-utf8")));
        assertEquals("\ufffd", e.query().get("q"));
        assertEquals("caf\ufffd", e.headers().get("x-odd"));
        assertEquals("/webhooks/odd?q=%FF&ok=1", e.url());
        assertArrayEquals("caf\u00e9 latin-1 body".getBytes(StandardCharsets.ISO_8859_1), e.body());
    }
}

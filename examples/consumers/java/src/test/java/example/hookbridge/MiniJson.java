package example.hookbridge;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Just enough of a JSON reader for the golden vectors' NAME.json, so the test needs no JSON library: objects as
 * Map, arrays as List, integers as Long (BigInteger past a long), other numbers as Double, strings, Boolean and null.
 */
final class MiniJson {
    private final String s;
    private int i;

    private MiniJson(String s) {
        this.s = s;
    }

    static Object parse(String text) {
        MiniJson p = new MiniJson(text);
        Object value = p.value();
        p.space();
        if (p.i != p.s.length()) {
            throw p.error("text after the value");
        }
        return value;
    }

    private IllegalArgumentException error(String what) {
        return new IllegalArgumentException(what + " at " + i);
    }

    private void space() {
        while (i < s.length() && " \t\r\n".indexOf(s.charAt(i)) >= 0) {
            i++;
        }
    }

    private boolean take(String token) {
        space();
        if (s.startsWith(token, i)) {
            i += token.length();
            return true;
        }
        return false;
    }

    private void expect(String token) {
        if (!take(token)) {
            throw error("expected " + token);
        }
    }

    private Object value() {
        space();
        if (take("{")) {
            Map<String, Object> map = new LinkedHashMap<>();
            if (!take("}")) {
                do {
                    space();
                    String key = string();
                    expect(":");
                    map.put(key, value());
                } while (take(","));
                expect("}");
            }
            return map;
        }
        if (take("[")) {
            List<Object> list = new ArrayList<>();
            if (!take("]")) {
                do {
                    list.add(value());
                } while (take(","));
                expect("]");
            }
            return list;
        }
        if (take("true")) {
            return Boolean.TRUE;
        }
        if (take("false")) {
            return Boolean.FALSE;
        }
        if (take("null")) {
            return null;
        }
        if (i < s.length() && s.charAt(i) == '"') {
            return string();
        }
        int start = i;
        while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) {
            i++;
        }
        String number = s.substring(start, i);
        if (number.isEmpty()) {
            throw error("unexpected character");
        }
        if (!number.matches("-?\\d+")) {
            return Double.parseDouble(number);
        }
        BigInteger n = new BigInteger(number);
        return n.bitLength() < 64 ? (Object) n.longValueExact() : (Object) n;
    }

    private String string() {
        if (i >= s.length() || s.charAt(i) != '"') {
            throw error("expected a string");
        }
        i++;
        StringBuilder out = new StringBuilder();
        while (true) {
            if (i >= s.length()) {
                throw error("unterminated string");
            }
            char c = s.charAt(i++);
            if (c == '"') {
                return out.toString();
            }
            if (c != '\\') {
                out.append(c);
                continue;
            }
            char e = s.charAt(i++);
            switch (e) {
                case '"', '\\', '/' -> out.append(e);
                case 'b' -> out.append('\b');
                case 'f' -> out.append('\f');
                case 'n' -> out.append('\n');
                case 'r' -> out.append('\r');
                case 't' -> out.append('\t');
                case 'u' -> {
                    out.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
                    i += 4;
                }
                default -> throw error("bad escape");
            }
        }
    }
}

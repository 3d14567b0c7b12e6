package envelope

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// vectorsDir is hookbridge's golden envelopes: NAME.msgpack and NAME.json, what `hookbridge decode` prints for it.
func vectorsDir() string {
	if dir := os.Getenv("HOOKBRIDGE_VECTORS"); dir != "" {
		return dir
	}
	return filepath.Join("..", "..", "..", "..", "schemas", "vectors")
}

// testdataDir holds two more envelopes the bridge made (../../testdata/README.md).
var testdataDir = filepath.Join("..", "..", "testdata")

// cases is every NAME (without .msgpack) in the golden vectors and in testdata.
func cases(t *testing.T) []string {
	t.Helper()
	var all []string
	for _, dir := range []string{vectorsDir(), testdataDir} {
		paths, err := filepath.Glob(filepath.Join(dir, "*.msgpack"))
		if err != nil || len(paths) == 0 {
			t.Fatalf("no envelopes in %s (%v)", dir, err)
		}
		if dir == vectorsDir() && len(paths) < 6 {
			t.Fatalf("golden vectors missing in %s", dir)
		}
		sort.Strings(paths)
		for _, p := range paths {
			all = append(all, strings.TrimSuffix(p, ".msgpack"))
		}
	}
	return all
}

func readCase(t *testing.T, base string) ([]byte, map[string]any) {
	t.Helper()
	data, err := os.ReadFile(base + ".msgpack")
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(base + ".json")
	if err != nil {
		t.Fatal(err)
	}
	return data, jsonValue(t, text).(map[string]any)
}

func readVector(t *testing.T, name string) ([]byte, map[string]any) {
	t.Helper()
	return readCase(t, filepath.Join(vectorsDir(), name))
}

// jsonValue parses JSON keeping numbers exact (json.Number), so that 1347 and 1347.0 differ.
func jsonValue(t *testing.T, text []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: %v", text, err)
	}
	return v
}

// known is every key of the JSON form that the Envelope struct exposes.
var known = map[string]bool{"v": true, "id": true, "endpoint": true, "source": true, "triggers": true,
	"receivedAt": true, "method": true, "path": true, "url": true, "query": true, "headers": true,
	"remoteAddr": true, "contentType": true, "body": true, "bodyBase64": true, "verified": true, "json": true,
	"test": true}

func TestGoldenVectors(t *testing.T) {
	for _, base := range cases(t) {
		t.Run(filepath.Base(filepath.Dir(base))+"/"+filepath.Base(base), func(t *testing.T) {
			data, want := readCase(t, base)
			for key := range want {
				if !known[key] {
					t.Errorf("the vector has field %q, which Envelope does not expose", key)
				}
			}
			e, err := Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			str := func(key, got string) {
				// Go strings keep bytes that are not UTF-8 (see TestStringsThatAreNotUTF8KeepTheirBytes);
				// `hookbridge decode` prints U+FFFD for them
				if w, ok := want[key].(string); !ok || strings.ToValidUTF8(got, "\uFFFD") != w {
					t.Errorf("%s = %q, want %#v", key, got, want[key])
				}
			}
			num := func(key string, got int64) {
				if w, ok := want[key].(json.Number); !ok || w.String() != jsonText(t, got) {
					t.Errorf("%s = %d, want %#v", key, got, want[key])
				}
			}
			num("v", int64(e.V))
			str("id", e.ID)
			str("endpoint", e.Endpoint)
			str("source", e.Source)
			num("receivedAt", e.ReceivedAt)
			str("method", e.Method)
			str("path", e.Path)
			str("url", e.URL)
			str("remoteAddr", e.RemoteAddr)
			str("contentType", e.ContentType)
			str("verified", e.Verified)
			sameJSON(t, "triggers", e.Triggers, want["triggers"])
			sameJSON(t, "query", e.Query, want["query"])
			sameJSON(t, "headers", e.Headers, want["headers"])

			var body []byte
			if text, ok := want["body"].(string); ok {
				body = []byte(text)
			} else if b64, ok := want["bodyBase64"].(string); ok {
				if body, err = base64.StdEncoding.DecodeString(b64); err != nil {
					t.Fatal(err)
				}
			} else {
				t.Fatal("the vector has neither body nor bodyBase64")
			}
			if e.Body == nil || !bytes.Equal(e.Body, body) {
				t.Errorf("body = %q (nil: %v), want %q", e.Body, e.Body == nil, body)
			}

			if w, ok := want["json"]; ok {
				if e.JSON == nil {
					t.Errorf("json is missing, want %v", w)
				} else {
					sameJSON(t, "json", e.JSON, w)
				}
			} else if e.JSON != nil {
				t.Errorf("json = %v, want it absent", e.JSON)
			}

			wantTest := false
			if w, ok := want["test"]; ok {
				wantTest = w.(bool)
			}
			if e.Test != wantTest {
				t.Errorf("test = %v, want %v", e.Test, wantTest)
			}
		})
	}
}

func jsonText(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// sameJSON compares a decoded value with the vector's JSON value, types included (false is not 0, 1 is not 1.5).
func sameJSON(t *testing.T, key string, got, want any) {
	t.Helper()
	text := jsonText(t, got)
	if g := jsonValue(t, []byte(text)); !reflect.DeepEqual(numbers(g), numbers(want)) {
		t.Errorf("%s = %s, want %s", key, text, jsonText(t, want))
	}
}

// numbers turns every json.Number into its value: an integer as a decimal string of a big.Int, anything else as a
// float64 (so that 1e300 and 1e+300 are equal, and 1 and 1.0 are not). Strings pass through with U+FFFD for bytes
// that are not UTF-8, as `hookbridge decode` prints them.
func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, ok := new(big.Int).SetString(x.String(), 10); ok {
			return "int:" + i.String()
		}
		f, err := x.Float64()
		if err != nil {
			return "bad number " + x.String()
		}
		return f
	case string:
		return strings.ToValidUTF8(x, "\uFFFD")
	case []any:
		out := make([]any, len(x))
		for i, item := range x {
			out[i] = numbers(item)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, item := range x {
			out[strings.ToValidUTF8(k, "\uFFFD")] = numbers(item)
		}
		return out
	}
	return v
}

// repack decodes a vector into a generic map, lets edit change it and encodes it again.
func repack(t *testing.T, data []byte, edit func(map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := msgpack.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	out, err := msgpack.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestUnknownFieldsAreIgnored(t *testing.T) {
	data, _ := readVector(t, "json-body")
	want, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(repack(t, data, func(m map[string]any) {
		m["aNewField"] = map[string]any{"nested": []any{1, "two", []byte{3}}}
		m["zz"] = nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("with unknown fields: %+v\nwant %+v", got, want)
	}
}

func TestOtherVersionsAreRefused(t *testing.T) {
	data, _ := readVector(t, "json-body")
	for _, v := range []any{2, 0, -1, "1", nil} {
		_, err := Decode(repack(t, data, func(m map[string]any) { m["v"] = v }))
		if !errors.Is(err, ErrVersion) {
			t.Errorf("v = %#v: err = %v, want ErrVersion", v, err)
		}
	}
	// a v2 whose other fields changed type is still refused as a version, not as a type error
	_, err := Decode(repack(t, data, func(m map[string]any) { m["v"] = 2; m["body"] = 7; m["triggers"] = "x" }))
	if !errors.Is(err, ErrVersion) || !strings.Contains(err.Error(), "v is 2") {
		t.Errorf("v2 with other types: err = %v", err)
	}
	_, err = Decode(repack(t, data, func(m map[string]any) { delete(m, "v") }))
	if !errors.Is(err, ErrVersion) {
		t.Errorf("without v: err = %v, want ErrVersion", err)
	}
}

func TestMalformedEnvelopesAreRefused(t *testing.T) {
	data, _ := readVector(t, "json-body")
	cases := map[string][]byte{
		"not a map":          {0x93, 0x01, 0x02, 0x03},
		"empty":              {},
		"trailing bytes":     append(append([]byte{}, data...), 0xc0),
		"truncated":          data[:len(data)-3],
		"no body":            repack(t, data, func(m map[string]any) { delete(m, "body") }),
		"no id":              repack(t, data, func(m map[string]any) { delete(m, "id") }),
		"headers not a map":  repack(t, data, func(m map[string]any) { m["headers"] = "host: x" }),
		"receivedAt no int":  repack(t, data, func(m map[string]any) { m["receivedAt"] = "soon" }),
		"triggers not array": repack(t, data, func(m map[string]any) { m["triggers"] = 5 }),
	}
	for name, value := range cases {
		if e, err := Decode(value); err == nil {
			t.Errorf("%s: decoded %+v, want an error", name, e)
		}
	}
}

func TestStringsThatAreNotUTF8KeepTheirBytes(t *testing.T) {
	data, _ := readCase(t, filepath.Join(testdataDir, "invalid-utf8"))
	e, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if e.Query["q"] != "\xff" || e.Headers["x-odd"] != "caf\xe9" || e.URL != "/webhooks/odd?q=%FF&ok=1" {
		t.Errorf("query %q, headers %q, url %q", e.Query, e.Headers, e.URL)
	}
}

// Package envelope decodes hookbridge's event envelope v1: the msgpack map that is the value of every Kafka
// record hookbridge publishes.
//
// A v1 envelope only ever gains fields: Decode ignores keys it does not know, and refuses any other
// version (v != 1) with ErrVersion.
package envelope

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"
)

// Version is the envelope version this package decodes.
const Version = 1

// ContentType is the content-type header of every record whose value is a v1 envelope.
const ContentType = "application/vnd.hookbridge.event.v1+msgpack"

// ErrVersion is returned (wrapped) for an envelope whose v is missing or not 1.
var ErrVersion = errors.New("not a hookbridge event envelope v1")

// Envelope is one verified webhook delivery as hookbridge published it.
type Envelope struct {
	V           int               `msgpack:"v"`
	ID          string            `msgpack:"id"`         // the sender's delivery id, else a UUIDv7; kept across retries
	Endpoint    string            `msgpack:"endpoint"`   // the endpoint's id in the config
	Source      string            `msgpack:"source"`     // the provider, e.g. "github"
	Triggers    []string          `msgpack:"triggers"`   // triggers that matched and route to this topic (may be empty)
	ReceivedAt  int64             `msgpack:"receivedAt"` // unix time in milliseconds
	Method      string            `msgpack:"method"`
	Path        string            `msgpack:"path"`
	URL         string            `msgpack:"url"`         // path + query, as received
	Query       map[string]string `msgpack:"query"`       // the last value of a repeated parameter wins
	Headers     map[string]string `msgpack:"headers"`     // lower-case names; repeated headers joined with ", "
	RemoteAddr  string            `msgpack:"remoteAddr"`  // peer address (or the trusted forwarded-for)
	ContentType string            `msgpack:"contentType"` // "" when the request had none
	Body        []byte            `msgpack:"body"`        // the raw body, byte for byte
	Verified    string            `msgpack:"verified"`    // the scheme that verified it: "hmac-sha256", "github", "none", ...
	// JSON is the parsed body (JSON or form), present only when the body parsed: nil otherwise (and for a
	// body that was the JSON literal null). Maps are map[string]any, arrays []any, numbers intN/uintN/float.
	JSON any  `msgpack:"json,omitempty"`
	Test bool `msgpack:"test,omitempty"` // true for a test run sent from an endpoint's examples
}

// required are the keys every v1 envelope has; "json" and "test" are optional.
var required = []string{"v", "id", "endpoint", "source", "triggers", "receivedAt", "method", "path", "url",
	"query", "headers", "remoteAddr", "contentType", "body", "verified"}

// Decode decodes one record value. Unknown keys are ignored; a missing field, a field of the wrong type or a
// version other than 1 is an error.
func Decode(data []byte) (*Envelope, error) {
	// First only the keys, so that the version is checked before anything else is read as v1.
	var fields map[string]msgpack.RawMessage
	if err := decodeOne(data, &fields); err != nil {
		return nil, fmt.Errorf("hookbridge envelope: not a msgpack map: %w", err)
	}
	raw, ok := fields["v"]
	if !ok {
		return nil, fmt.Errorf("%w: field v is missing", ErrVersion)
	}
	var v any
	if err := msgpack.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrVersion, err)
	}
	if n, ok := asInt(v); !ok || n != Version {
		return nil, fmt.Errorf("%w: v is %v", ErrVersion, v)
	}
	for _, key := range required {
		if _, ok := fields[key]; !ok {
			return nil, fmt.Errorf("hookbridge envelope: field %s is missing", key)
		}
	}
	var e Envelope
	if err := decodeOne(data, &e); err != nil {
		return nil, fmt.Errorf("hookbridge envelope: %w", err)
	}
	return &e, nil
}

// decodeOne decodes data, which must be exactly one msgpack value, into out.
func decodeOne(data []byte, out any) error {
	r := bytes.NewReader(data)
	if err := msgpack.NewDecoder(r).Decode(out); err != nil {
		return err
	}
	if r.Len() != 0 {
		return fmt.Errorf("%d bytes after the value", r.Len())
	}
	return nil
}

func asInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int8:
		return int64(n), true
	case int16:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case uint8:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint32:
		return int64(n), true
	case uint64:
		return int64(n), n <= 1<<62
	}
	return 0, false
}

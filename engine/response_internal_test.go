package engine

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
)

// Response.encode is what json.Marshal gives, byte for byte: a redelivered
// event is answered from the recorded output.
func TestResponseEncodeMatchesMarshal(t *testing.T) {
	for _, r := range []*Response{
		{Status: 200, Body: map[string]any{"status": "accepted", "downstream": map[string]any{"ok": true, "<x>": []any{1.5, int64(2), nil}}}},
		{Status: 201, Headers: map[string]string{"X-B": "2", "Content-Type": "a&b"}, Body: "text"},
		{Status: 204, Headers: map[string]string{}, Body: nil},
	} {
		want, _ := json.Marshal(r)
		got, err := r.encode()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("encode = %s, %v; want %s", got, err, want)
		}
	}
	if _, err := (&Response{Status: 200, Body: math.NaN()}).encode(); err == nil {
		t.Fatal("a NaN body encoded without error")
	}
}

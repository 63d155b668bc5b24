package queue

import (
	"strings"
	"testing"
)

func TestRedactDropsThePassword(t *testing.T) {
	for in, want := range map[string]string{
		"amqp://weft:s3cret@rabbit:5672/prod": "amqp://rabbit:5672/prod",
		"nats://tok@nats.internal:4222":       "nats://nats.internal:4222",
		"not a url":                           "(the connection's url)",
	} {
		if got := Redact(in); got != want || strings.Contains(got, "s3cret") {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPayloadAndHeaders(t *testing.T) {
	b, ct, err := payload("op", map[string]any{"body": map[string]any{"a": 1}}, 100)
	if err != nil || string(b) != `{"a":1}` || ct != "application/json" {
		t.Fatalf("%s %s %v", b, ct, err)
	}
	b, ct, err = payload("op", map[string]any{"body": "plain"}, 100)
	if err != nil || string(b) != "plain" || !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("%s %s %v", b, ct, err)
	}
	if _, _, err := payload("op", map[string]any{}, 100); err == nil || !strings.Contains(err.Error(), "give body") {
		t.Fatalf("no body: %v", err)
	}
	if _, _, err := payload("op", map[string]any{"body": strings.Repeat("x", 101)}, 100); err == nil || !strings.Contains(err.Error(), "the limit is 100") {
		t.Fatalf("too big: %v", err)
	}
	if _, err := headers("op", map[string]any{"headers": map[string]any{"a": 1}}); err == nil {
		t.Fatal("a number header was accepted")
	}
	if _, err := headers("op", map[string]any{"headers": map[string]any{"x": "a\r\nInjected: 1"}}); err == nil {
		t.Fatal("a header with a line break was accepted")
	}
	h, err := headers("op", map[string]any{"headers": map[string]any{"x-trace": "abc"}})
	if err != nil || h["x-trace"] != "abc" {
		t.Fatalf("%v %v", h, err)
	}
}

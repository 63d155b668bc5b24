package seal

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
)

// memKeys is a KeyStore in memory.
type memKeys struct {
	mu sync.Mutex
	m  map[string][2]string
}

func (k *memKeys) SaveDataKey(_ context.Context, id, keyID string, wrapped []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil {
		k.m = map[string][2]string{}
	}
	k.m[id] = [2]string{keyID, string(wrapped)}
	return nil
}

func (k *memKeys) DataKey(_ context.Context, id string) (string, []byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.m[id]
	if !ok {
		return "", nil, errors.New("not found")
	}
	return v[0], []byte(v[1]), nil
}

func TestEnvelopeSealsOpensAndRefusesWhatItShould(t *testing.T) {
	ctx := context.Background()
	ring, _ := New(NewKey())
	ks := &memKeys{}
	e := NewEnvelope(ring, ks)
	s, err := e.Seal(ctx, "runs.input:r1", []byte(`{"ssn":"078-05-1120"}`))
	if err != nil {
		t.Fatal(err)
	}
	if !IsSealed(s) || strings.Contains(s, "078-05") {
		t.Fatalf("sealed %q", s)
	}
	// Another process (a fresh envelope) opens it through the stored key.
	got, err := NewEnvelope(ring, ks).Open(ctx, "runs.input:r1", s)
	if err != nil || string(got) != `{"ssn":"078-05-1120"}` {
		t.Fatalf("%q %v", got, err)
	}
	// Plaintext from before sealing passes through.
	if got, err := e.Open(ctx, "runs.input:r1", `{"a":1}`); err != nil || string(got) != `{"a":1}` {
		t.Fatalf("legacy %q %v", got, err)
	}
	for _, c := range []struct{ aad, val, want string }{
		{"runs.input:r2", s, "does not authenticate"},
		{"runs.input:r1", s[:len(s)-4], "does not authenticate"},
		{"runs.input:r1", "wsl1:nokey", "malformed"},
		{"runs.input:r1", "wsl1:abc:!!!", "not base64"},
		{"runs.input:r1", "wsl1:abc:AAAA", "data key abc"},
	} {
		if _, err := e.Open(ctx, c.aad, c.val); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %q: %v, want %q", c.aad, c.val, err, c.want)
		}
	}
	// A wrong master key: a clear error.
	wrong, _ := New(NewKey())
	if _, err := NewEnvelope(wrong, ks).Open(ctx, "runs.input:r1", s); err == nil || !strings.Contains(err.Error(), "not in the keyring") {
		t.Fatalf("wrong key: %v", err)
	}
}

func TestEnvelopeNewDataKeyAfterMasterRotation(t *testing.T) {
	ctx := context.Background()
	k1, k2 := NewKey(), NewKey()
	ring, _ := New(k1)
	ks := &memKeys{}
	e := NewEnvelope(ring, ks)
	a, _ := e.Seal(ctx, "x", []byte("one"))
	b, _ := e.Seal(ctx, "x", []byte("two"))
	if strings.Split(a, ":")[1] != strings.Split(b, ":")[1] || len(ks.m) != 1 {
		t.Fatalf("one data key expected: %q %q %d", a, b, len(ks.m))
	}
	both, _ := New(k2, k1)
	e.keys = both
	c, _ := e.Seal(ctx, "x", []byte("three"))
	if strings.Split(c, ":")[1] == strings.Split(a, ":")[1] || len(ks.m) != 2 {
		t.Fatal("a new master key did not start a new data key")
	}
	for id, v := range ks.m {
		keyID, wrapped, err := e.Rewrap(id, v[0], []byte(v[1]))
		if err != nil {
			t.Fatal(err)
		}
		_ = ks.SaveDataKey(ctx, id, keyID, wrapped)
	}
	onlyNew, _ := New(k2)
	for _, v := range []string{a, b, c} {
		if _, err := NewEnvelope(onlyNew, ks).Open(ctx, "x", v); err != nil {
			t.Fatalf("after rewrap: %v", err)
		}
	}
}

func BenchmarkEnvelopeSeal(b *testing.B) {
	ring, _ := New(NewKey())
	e := NewEnvelope(ring, &memKeys{})
	doc := []byte(strings.Repeat(`{"order_id":"A-1","qty":2,"price":9.99}`, 5))
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := e.Seal(ctx, "runs.input:r", doc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEnvelopeOpen(b *testing.B) {
	ring, _ := New(NewKey())
	e := NewEnvelope(ring, &memKeys{})
	doc := []byte(strings.Repeat(`{"order_id":"A-1","qty":2,"price":9.99}`, 5))
	ctx := context.Background()
	s, _ := e.Seal(ctx, "runs.input:r", doc)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := e.Open(ctx, "runs.input:r", s); err != nil {
			b.Fatal(err)
		}
	}
}

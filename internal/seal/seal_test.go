package seal

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealOpenRoundTripAndBinding(t *testing.T) {
	k, err := New(NewKey())
	if err != nil {
		t.Fatal(err)
	}
	id, sealed, err := k.Seal("crm", []byte("s3cret-token"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("s3cret-token")) {
		t.Fatal("plaintext visible in sealed value")
	}
	got, err := k.Open("crm", id, sealed)
	if err != nil || string(got) != "s3cret-token" {
		t.Fatalf("%q %v", got, err)
	}
	if _, err := k.Open("other", id, sealed); err == nil {
		t.Fatal("sealed value opened under another name")
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := k.Open("crm", id, sealed); err == nil {
		t.Fatal("tampered value opened")
	}
	if _, err := k.Open("crm", "nope", sealed); err == nil || !strings.Contains(err.Error(), "not in the keyring") {
		t.Fatalf("unknown key: %v", err)
	}
}

func TestKeyFileCreatedPrivateAndRotated(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sub", "master.key")
	k, err := Load("", file)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(file)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", fi.Mode().Perm())
	}
	id, sealed, _ := k.Seal("a", []byte("x"))
	k2, err := Load("", file) // a restart reads the same key
	if err != nil || k2.CurrentID() != id {
		t.Fatalf("reload: %v %s %s", err, k2.CurrentID(), id)
	}
	if err := k.Rotate(); err != nil {
		t.Fatal(err)
	}
	if k.CurrentID() == id || !k.Has(id) {
		t.Fatal("rotate should add a new current key and keep the old")
	}
	if got, err := k.Open("a", id, sealed); err != nil || string(got) != "x" {
		t.Fatalf("old value after rotate: %v", err)
	}
	mid, _ := Load("", file) // a crash mid-rotation still has both keys on disk
	if !mid.Has(id) || mid.CurrentID() != k.CurrentID() {
		t.Fatal("key file does not hold both keys mid-rotation")
	}
	if err := k.Retire(); err != nil {
		t.Fatal(err)
	}
	after, _ := Load("", file)
	if after.Has(id) {
		t.Fatal("retired key still in the file")
	}
	os.Chmod(file, 0o644)
	if _, err := Load("", file); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable key file accepted: %v", err)
	}
}

func TestEnvKeys(t *testing.T) {
	a, b := NewKey(), NewKey()
	env := base64.StdEncoding.EncodeToString(a) + "," + base64.StdEncoding.EncodeToString(b)
	k, err := Load(env, "/nonexistent/never-created")
	if err != nil {
		t.Fatal(err)
	}
	if k.CurrentID() != ID(a) || !k.Has(ID(b)) {
		t.Fatal("env keyring order")
	}
	if err := k.Rotate(); err == nil || !strings.Contains(err.Error(), "WEFT_MASTER_KEY=NEW,OLD") {
		t.Fatalf("env rotation should explain itself: %v", err)
	}
	for _, bad := range []string{"not base64!", base64.StdEncoding.EncodeToString([]byte("short"))} {
		if _, err := Load(bad, ""); err == nil {
			t.Fatalf("bad key %q accepted", bad)
		}
	}
}

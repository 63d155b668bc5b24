// Package seal encrypts credentials at rest with AES-256-GCM under a master
// key. A keyring holds the current key (which seals) and older keys (which
// still open what they sealed) so rotation never strands a secret.
//
// The key comes from WEFT_MASTER_KEY (base64 of 32 bytes; "NEW,OLD" during
// a rotation) or from a key file (one base64 key per line, newest first,
// mode 0600) created on first start.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Keyring seals with its first key and opens with any of them.
type Keyring struct {
	mu     sync.RWMutex
	keys   [][]byte
	ids    []string
	file   string // the key file, when the keys came from one
	source string
}

// ID names a key without revealing it: the first 8 bytes of its SHA-256.
func ID(key []byte) string {
	h := sha256.Sum256(key)
	return hex.EncodeToString(h[:8])
}

// NewKey returns a fresh random 32-byte key.
func NewKey() []byte {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return k
}

// New returns a keyring over keys, newest first.
func New(keys ...[]byte) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("seal: no key")
	}
	k := &Keyring{source: "memory"}
	for _, key := range keys {
		if len(key) != 32 {
			return nil, fmt.Errorf("seal: a master key must be 32 bytes (got %d)", len(key))
		}
		k.keys = append(k.keys, key)
		k.ids = append(k.ids, ID(key))
	}
	return k, nil
}

// Parse reads "KEY[,KEY...]" or one key per line, base64, newest first.
func Parse(text string) ([][]byte, error) {
	var keys [][]byte
	var fields []string
	for _, line := range strings.Split(text, "\n") {
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields = append(fields, strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == ' ' || r == '\r' })...)
	}
	for _, f := range fields {
		b, err := base64.StdEncoding.DecodeString(f)
		if err != nil {
			if b, err = base64.RawURLEncoding.DecodeString(f); err != nil {
				return nil, errors.New("seal: a master key must be base64 (openssl rand -base64 32)")
			}
		}
		keys = append(keys, b)
	}
	if len(keys) == 0 {
		return nil, errors.New("seal: empty master key")
	}
	return keys, nil
}

// Load returns the keyring from env (WEFT_MASTER_KEY's value) if set, else
// from file, creating file with a new key (mode 0600) if it does not exist.
// An existing key file readable by group or others is refused.
func Load(env, file string) (*Keyring, error) {
	if env != "" {
		keys, err := Parse(env)
		if err != nil {
			return nil, fmt.Errorf("WEFT_MASTER_KEY: %v", err)
		}
		k, err := New(keys...)
		if err != nil {
			return nil, err
		}
		k.source = "WEFT_MASTER_KEY"
		return k, nil
	}
	fi, err := os.Stat(file)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
			return nil, err
		}
		if err := writeKeys(file, [][]byte{NewKey()}); err != nil {
			return nil, err
		}
		fi, err = os.Stat(file)
	}
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("seal: key file %s is readable by others (mode %v); chmod 600 it", file, fi.Mode().Perm())
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	keys, err := Parse(string(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	k, err := New(keys...)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	k.file, k.source = file, file
	return k, nil
}

// writeKeys replaces file atomically with keys, mode 0600.
func writeKeys(file string, keys [][]byte) error {
	var b strings.Builder
	b.WriteString("# Weft master key(s), newest first. Keep this file secret and backed up.\n")
	for _, k := range keys {
		b.WriteString(base64.StdEncoding.EncodeToString(k) + "\n")
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".master-key-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.WriteString(b.String()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), file)
}

// Source says where the keys came from (a file path or WEFT_MASTER_KEY).
func (k *Keyring) Source() string { return k.source }

// CurrentID is the id of the sealing key.
func (k *Keyring) CurrentID() string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.ids[0]
}

// Seal encrypts plain under the current key; name is bound as additional
// data, so a sealed value cannot be moved to another record.
func (k *Keyring) Seal(name string, plain []byte) (keyID string, sealed []byte, err error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	g, err := gcm(k.keys[0])
	if err != nil {
		return "", nil, err
	}
	nonce := make([]byte, g.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", nil, err
	}
	return k.ids[0], g.Seal(nonce, nonce, plain, []byte(name)), nil
}

// Open decrypts what Seal returned.
func (k *Keyring) Open(name, keyID string, sealed []byte) ([]byte, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	for i, id := range k.ids {
		if id != keyID {
			continue
		}
		g, err := gcm(k.keys[i])
		if err != nil {
			return nil, err
		}
		if len(sealed) < g.NonceSize() {
			return nil, errors.New("seal: sealed value is truncated")
		}
		plain, err := g.Open(nil, sealed[:g.NonceSize()], sealed[g.NonceSize():], []byte(name))
		if err != nil {
			return nil, errors.New("seal: sealed value does not authenticate (tampered, or another key)")
		}
		return plain, nil
	}
	return nil, fmt.Errorf("seal: sealed under key %s, which is not in the keyring (%s)", keyID, k.source)
}

// Has reports whether keyID is in the ring.
func (k *Keyring) Has(keyID string) bool {
	k.mu.RLock()
	defer k.mu.RUnlock()
	for _, id := range k.ids {
		if id == keyID {
			return true
		}
	}
	return false
}

// Rotate starts a rotation of a file-based keyring: it writes a new key in
// front of the old ones (so both open) and makes it current. After every
// sealed value is resealed, Retire drops the old keys. With keys from
// WEFT_MASTER_KEY, rotation is the operator's: set "NEW,OLD" and restart.
func (k *Keyring) Rotate() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.file == "" {
		return fmt.Errorf("the master key comes from %s: generate a key (openssl rand -base64 32), set WEFT_MASTER_KEY=NEW,OLD and restart; connections are resealed under NEW at start, then drop OLD", k.source)
	}
	keys := append([][]byte{NewKey()}, k.keys...)
	if err := writeKeys(k.file, keys); err != nil {
		return err
	}
	nk, err := New(keys...)
	if err != nil {
		return err
	}
	k.keys, k.ids = nk.keys, nk.ids
	return nil
}

// Retire keeps only the current key (in the key file too, if any).
func (k *Keyring) Retire() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.file != "" {
		if err := writeKeys(k.file, k.keys[:1]); err != nil {
			return err
		}
	}
	k.keys, k.ids = k.keys[:1], k.ids[:1]
	return nil
}

func gcm(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

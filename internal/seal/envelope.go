package seal

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Envelope seals payloads (captured run inputs, step inputs and outputs,
// checkpoints, error messages, DLQ inputs) with envelope encryption: each
// value is encrypted with AES-256-GCM under a data key, and the data key
// is stored wrapped (sealed) by the master key in the keyring. Rotating
// the master key rewraps the data keys, a few hundred bytes each, instead
// of re-encrypting every payload.
//
// A process makes a data key when it first seals and uses it for at most
// DataKeyUses values or DataKeyAge, then makes another. A sealed value is
// text: "wsl1:" DATA-KEY-ID ":" base64(nonce | ciphertext | tag). Nothing
// in JSON starts with "wsl1:", so sealed values and older plaintext values
// coexist in one column and each reads back as what it is.
type Envelope struct {
	keys  *Keyring
	store KeyStore

	mu        sync.Mutex
	cur       *dataKey
	curMaster string                 // the master key that wrapped cur
	opened    map[string]cipher.AEAD // data key id -> its AES-GCM (bounded by openedMax)
}

// KeyStore keeps wrapped data keys (the store's data_keys table).
type KeyStore interface {
	// SaveDataKey stores a new data key, wrapped by master key keyID.
	SaveDataKey(ctx context.Context, id, keyID string, wrapped []byte) error
	// DataKey returns a stored data key's master key id and wrapped bytes.
	DataKey(ctx context.Context, id string) (keyID string, wrapped []byte, err error)
}

// Prefix starts every sealed payload.
const Prefix = "wsl1:"

// Limits on one data key's use.
const (
	DataKeyUses = 1 << 24 // well below AES-GCM's 2^32 random-nonce bound
	DataKeyAge  = 24 * time.Hour
	openedMax   = 1024
)

type dataKey struct {
	id   string
	aead cipher.AEAD
	uses int
	made time.Time
}

// NewEnvelope seals payloads with data keys wrapped by keys, kept in ks.
func NewEnvelope(keys *Keyring, ks KeyStore) *Envelope {
	return &Envelope{keys: keys, store: ks, opened: map[string]cipher.AEAD{}}
}

// IsSealed reports whether a stored value is a sealed payload.
func IsSealed(s string) bool { return strings.HasPrefix(s, Prefix) }

// wrapName is the additional data binding a wrapped data key to its id.
func wrapName(id string) string { return "weft-data-key:" + id }

// Seal encrypts plain; aad (the row and column it is stored in) is bound to
// it, so a sealed value moved to another row does not open.
func (e *Envelope) Seal(ctx context.Context, aad string, plain []byte) (string, error) {
	dk, err := e.current(ctx)
	if err != nil {
		return "", err
	}
	g := dk.aead
	buf := make([]byte, g.NonceSize(), g.NonceSize()+len(plain)+g.Overhead())
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	buf = g.Seal(buf, buf, plain, []byte(aad))
	var b strings.Builder
	b.Grow(len(Prefix) + len(dk.id) + 1 + base64.RawStdEncoding.EncodedLen(len(buf)))
	b.WriteString(Prefix)
	b.WriteString(dk.id)
	b.WriteByte(':')
	b.WriteString(base64.RawStdEncoding.EncodeToString(buf))
	return b.String(), nil
}

// current returns the data key to seal with, making (and storing) a new
// one when there is none or it is used up. The stored key is committed
// before any value sealed under it can be.
func (e *Envelope) current(ctx context.Context) (*dataKey, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if dk := e.cur; dk != nil && dk.uses < DataKeyUses && time.Since(dk.made) < DataKeyAge && e.keys.CurrentID() == e.curMaster {
		dk.uses++
		return dk, nil
	}
	id := newDataKeyID()
	key := NewKey()
	keyID, wrapped, err := e.keys.Seal(wrapName(id), key)
	if err != nil {
		return nil, err
	}
	g, err := gcm(key)
	if err != nil {
		return nil, err
	}
	if err := e.store.SaveDataKey(ctx, id, keyID, wrapped); err != nil {
		return nil, fmt.Errorf("seal: storing a new data key: %w", err)
	}
	e.cur = &dataKey{id: id, aead: g, uses: 1, made: time.Now()}
	e.curMaster = keyID
	e.remember(id, g)
	return e.cur, nil
}

// Open decrypts a value Seal returned. A value that is not sealed (a row
// written before sealing was on) is returned as it is.
func (e *Envelope) Open(ctx context.Context, aad, s string) ([]byte, error) {
	if !IsSealed(s) {
		return []byte(s), nil
	}
	rest := s[len(Prefix):]
	i := strings.IndexByte(rest, ':')
	if i <= 0 {
		return nil, errors.New("seal: malformed sealed payload (no data key id)")
	}
	id, body := rest[:i], rest[i+1:]
	raw, err := base64.RawStdEncoding.DecodeString(body)
	if err != nil {
		return nil, errors.New("seal: malformed sealed payload (not base64)")
	}
	g, err := e.dataKey(ctx, id)
	if err != nil {
		return nil, err
	}
	if len(raw) < g.NonceSize()+g.Overhead() {
		return nil, errors.New("seal: sealed payload is truncated")
	}
	plain, err := g.Open(nil, raw[:g.NonceSize()], raw[g.NonceSize():], []byte(aad))
	if err != nil {
		return nil, fmt.Errorf("seal: sealed payload does not authenticate under data key %s (tampered, or moved from another row)", id)
	}
	return plain, nil
}

// dataKey returns an opened data key's AES-GCM, unwrapping the key from
// the store once.
func (e *Envelope) dataKey(ctx context.Context, id string) (cipher.AEAD, error) {
	e.mu.Lock()
	g, ok := e.opened[id]
	e.mu.Unlock()
	if ok {
		return g, nil
	}
	keyID, wrapped, err := e.store.DataKey(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("seal: data key %s: %w", id, err)
	}
	key, err := e.Unwrap(id, keyID, wrapped)
	if err != nil {
		return nil, err
	}
	if g, err = gcm(key); err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.remember(id, g)
	e.mu.Unlock()
	return g, nil
}

func (e *Envelope) remember(id string, key cipher.AEAD) {
	if len(e.opened) >= openedMax {
		for k := range e.opened { // drop one at random; the current key is in e.cur
			delete(e.opened, k)
			break
		}
	}
	e.opened[id] = key
}

// Unwrap opens a stored data key with the master keyring.
func (e *Envelope) Unwrap(id, keyID string, wrapped []byte) ([]byte, error) {
	key, err := e.keys.Open(wrapName(id), keyID, wrapped)
	if err != nil {
		return nil, fmt.Errorf("data key %s: %w", id, err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("seal: data key %s is %d bytes, not 32", id, len(key))
	}
	return key, nil
}

// Rewrap opens a stored data key and wraps it again under the current
// master key (key rotation).
func (e *Envelope) Rewrap(id, keyID string, wrapped []byte) (newKeyID string, rewrapped []byte, err error) {
	key, err := e.Unwrap(id, keyID, wrapped)
	if err != nil {
		return "", nil, err
	}
	return e.keys.Seal(wrapName(id), key)
}

// CurrentID is the id of the master key that wraps new data keys.
func (e *Envelope) CurrentID() string { return e.keys.CurrentID() }

// Forget drops every opened data key from memory, so the next Open unwraps
// again with the keyring as it is now (after a rotation).
func (e *Envelope) Forget() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.opened = map[string]cipher.AEAD{}
	e.cur = nil
}

func newDataKeyID() string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

package mcp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"
)

// A confirmation (the confirm policy) is accepted only as the answer to a
// request this gateway issued for that very call: the input-required
// result carries a sealed request state naming the call (wire, toolset,
// caller, tool and a hash of the arguments), valid for confirmTTL and
// redeemable once. A client cannot confirm a call by sending an answer
// nobody asked for, nor reuse one answer for other arguments, another tool
// or another key.

// Sealer seals and opens short values (the engine's master keyring, so a
// request issued by one process can be answered through another).
type Sealer interface {
	Seal(name string, plain []byte) (keyID string, sealed []byte, err error)
	Open(name, keyID string, sealed []byte) ([]byte, error)
}

const (
	confirmTTL     = 5 * time.Minute
	confirmAAD     = "weft mcp confirmation"
	maxConfirmUsed = 100_000 // redeemed requests remembered until they expire
	maxStateBytes  = 4096    // a request state longer than this is not ours
)

// errConfirm is why an answer to a confirmation was not accepted.
var (
	errConfirmUnknown = errors.New("the confirmation answers no request this gateway issued for this call (call the tool again without inputResponses to be asked)")
	errConfirmExpired = errors.New("the confirmation request has expired (call the tool again to be asked anew)")
	errConfirmUsed    = errors.New("the confirmation request was already answered once (call the tool again to be asked anew)")
	errConfirmBusy    = errors.New("too many confirmations are pending; try again in a few minutes")
)

type confirmations struct {
	keys Sealer
	now  func() time.Time

	mu   sync.Mutex
	used map[string]time.Time // request nonce -> its expiry
}

func newConfirmations(keys Sealer) *confirmations {
	if keys == nil {
		keys = newProcessSealer()
	}
	return &confirmations{keys: keys, now: time.Now, used: map[string]time.Time{}}
}

// confirmState is what a request state holds, sealed.
type confirmState struct {
	Nonce   string `json:"n"`
	Expires int64  `json:"e"` // unix seconds
	Call    string `json:"c"` // callBinding of the call it confirms
}

// callBinding names one call: the wire era, the toolset, the caller, the
// tool and its arguments (JSON, keys sorted by encoding/json).
func callBinding(era, session, toolset, caller, tool string, args map[string]any) string {
	a, _ := json.Marshal(args)
	h := sha256.New()
	for _, s := range []string{era, session, toolset, caller, tool} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	h.Write(a)
	return hex.EncodeToString(h.Sum(nil))
}

// issue returns a new request state for the call.
func (c *confirmations) issue(call string) (string, error) {
	n := make([]byte, 16)
	_, _ = rand.Read(n)
	plain, _ := json.Marshal(confirmState{Nonce: hex.EncodeToString(n), Expires: c.now().Add(confirmTTL).Unix(), Call: call})
	kid, sealed, err := c.keys.Seal(confirmAAD, plain)
	if err != nil {
		return "", err
	}
	return kid + "." + base64.RawURLEncoding.EncodeToString(sealed), nil
}

// redeem accepts a request state once, for the call it was issued for.
func (c *confirmations) redeem(state, call string) error {
	if state == "" || len(state) > maxStateBytes {
		return errConfirmUnknown
	}
	kid, enc, ok := strings.Cut(state, ".")
	if !ok {
		return errConfirmUnknown
	}
	sealed, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return errConfirmUnknown
	}
	plain, err := c.keys.Open(confirmAAD, kid, sealed)
	if err != nil {
		return errConfirmUnknown
	}
	var st confirmState
	if json.Unmarshal(plain, &st) != nil || st.Nonce == "" || st.Call != call {
		return errConfirmUnknown
	}
	now := c.now()
	exp := time.Unix(st.Expires, 0)
	if !now.Before(exp) {
		return errConfirmExpired
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, seen := c.used[st.Nonce]; seen {
		return errConfirmUsed
	}
	if len(c.used) >= maxConfirmUsed {
		for n, e := range c.used {
			if !now.Before(e) {
				delete(c.used, n)
			}
		}
		if len(c.used) >= maxConfirmUsed {
			return errConfirmBusy // fail closed: forgetting one would allow its replay
		}
	}
	c.used[st.Nonce] = exp
	return nil
}

// processSealer seals with a key of this process only (no master key
// configured): requests must then be answered to the same process.
type processSealer struct{ aead cipher.AEAD }

func newProcessSealer() *processSealer {
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	b, _ := aes.NewCipher(k)
	g, _ := cipher.NewGCM(b)
	return &processSealer{aead: g}
}

func (p *processSealer) Seal(name string, plain []byte) (string, []byte, error) {
	n := make([]byte, p.aead.NonceSize())
	_, _ = rand.Read(n)
	return "p", p.aead.Seal(n, n, plain, []byte(name)), nil
}

func (p *processSealer) Open(name, keyID string, sealed []byte) ([]byte, error) {
	ns := p.aead.NonceSize()
	if keyID != "p" || len(sealed) < ns {
		return nil, errors.New("not sealed here")
	}
	return p.aead.Open(nil, sealed[:ns], sealed[ns:], []byte(name))
}

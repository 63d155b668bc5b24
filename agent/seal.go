package agent

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"

	"github.com/weftio/weft"
)

// Connections placed on a site cross the link sealed to the agent: each
// agent process makes an X25519 key pair at start (the private half never
// leaves its memory) and sends the public half with every poll; the
// control plane seals each placed connection's definition to it (an
// ephemeral X25519 key, HKDF-SHA256, AES-256-GCM; the site and connection
// name are bound in as associated data). A proxy or log that sees the
// link's plaintext (a TLS-terminating load balancer) sees only sealed
// bytes, and a sealed definition opens only in the agent process that
// asked for it. On the site the agent seals it again at rest with its own
// master key (engine.SaveConnection).

const sealInfo = "weft-agent-link/v1 connection"

// LinkKey is an agent process's key for connections sealed to it.
type LinkKey struct{ priv *ecdh.PrivateKey }

// NewLinkKey makes a fresh key (one per agent process).
func NewLinkKey() (*LinkKey, error) {
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return &LinkKey{priv: k}, nil
}

// Public is the key's public half as a poll carries it.
func (k *LinkKey) Public() string {
	return base64.RawURLEncoding.EncodeToString(k.priv.PublicKey().Bytes())
}

func sealKey(shared, ephPub, peerPub []byte) ([]byte, error) {
	salt := append(append([]byte{}, ephPub...), peerPub...)
	return hkdf.Key(sha256.New, shared, salt, sealInfo, 32)
}

// sealTo seals plain to an agent's public key (from its poll); aad binds
// the site and name.
func sealTo(pubB64 string, aad, plain []byte) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(pubB64)
	if err != nil {
		return "", weft.Errorf(weft.EInvalid, "the agent's link key is not base64url")
	}
	peer, err := ecdh.X25519().NewPublicKey(raw)
	if err != nil {
		return "", weft.Errorf(weft.EInvalid, "the agent's link key is not an X25519 public key")
	}
	eph, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	shared, err := eph.ECDH(peer)
	if err != nil {
		return "", weft.Errorf(weft.EInvalid, "the agent's link key: %v", err)
	}
	key, err := sealKey(shared, eph.PublicKey().Bytes(), raw)
	if err != nil {
		return "", err
	}
	gcm, err := newGCM(key)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	out := append(append([]byte{}, eph.PublicKey().Bytes()...), nonce...)
	out = gcm.Seal(out, nonce, plain, aad)
	return base64.RawURLEncoding.EncodeToString(out), nil
}

// Open opens what the control plane sealed to this key.
func (k *LinkKey) Open(sealedB64 string, aad []byte) ([]byte, error) {
	raw, err := base64.RawURLEncoding.DecodeString(sealedB64)
	if err != nil {
		return nil, weft.Errorf(weft.EInvalid, "sealed connection: not base64url")
	}
	if len(raw) < 32+12+16 {
		return nil, weft.Errorf(weft.EInvalid, "sealed connection: too short")
	}
	eph, err := ecdh.X25519().NewPublicKey(raw[:32])
	if err != nil {
		return nil, weft.Errorf(weft.EInvalid, "sealed connection: bad ephemeral key")
	}
	shared, err := k.priv.ECDH(eph)
	if err != nil {
		return nil, weft.Errorf(weft.EInvalid, "sealed connection: %v", err)
	}
	key, err := sealKey(shared, raw[:32], k.priv.PublicKey().Bytes())
	if err != nil {
		return nil, err
	}
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, raw[32:44], raw[44:], aad)
	if err != nil {
		return nil, weft.Errorf(weft.EInvalid, "sealed connection does not open with this agent's link key (sealed for another agent process, or altered)")
	}
	return plain, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

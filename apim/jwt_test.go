package apim

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/weftio/weft"
)

// A token's signature is verified once per key set held: the same token
// again is not verified again, but its times are checked on every call;
// another token (a tampered one among them) is verified; a key set
// fetched again (the issuer's keys changed) forgets what was verified
// under the old one, so a token of a dropped key is refused from then on.
func TestJWTVerifiedTokens(t *testing.T) {
	k1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var current atomic.Pointer[ecdsa.PrivateKey]
	current.Store(k1)
	var fetches atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &current.Load().PublicKey, KeyID: "k", Algorithm: "ES256", Use: "sig"}}})
	}))
	defer srv.Close()
	v, err := NewJWTVerifier(JWTIssuer{Name: "corp", Issuer: "https://idp.example", Audience: "api", JWKSURL: srv.URL, ConsumerClaim: "azp"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	sign := func(k *ecdsa.PrivateKey, exp time.Time, azp string) string {
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k"))
		if err != nil {
			t.Fatal(err)
		}
		tok, err := josejwt.Signed(s).Claims(map[string]any{"iss": "https://idp.example", "aud": "api", "azp": azp, "exp": exp.Unix(), "iat": now.Unix()}).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	ctx := context.Background()
	tok := sign(k1, now.Add(time.Minute), "acme")
	for i := range 3 {
		if c, err := v.Verify(ctx, tok, now); err != nil || c != "acme" {
			t.Fatalf("call %d: %q %v", i, c, err)
		}
	}
	if v.sigs != 1 {
		t.Fatalf("the same token's signature was verified %d times, want 1", v.sigs)
	}
	// Its times are still checked.
	if _, err := v.Verify(ctx, tok, now.Add(2*time.Minute)); weft.Code(err) != weft.EUnauthorized {
		t.Fatalf("an expired token, verified before: %v", err)
	}
	// Another token, a tampered one: verified (and refused).
	if _, err := v.Verify(ctx, tok[:len(tok)-4]+"AAAA", now); weft.Code(err) != weft.EUnauthorized || v.sigs != 2 {
		t.Fatalf("tampered: %v (%d signatures)", err, v.sigs)
	}
	// The issuer drops k1 for k2; once the key set is fetched again (here:
	// made due), the token of k1 is verified again, and refused.
	current.Store(k2)
	v.mu.Lock()
	v.jwksAt = v.jwksAt.Add(-11 * time.Minute)
	v.mu.Unlock()
	if _, err := v.Verify(ctx, tok, now); weft.Code(err) != weft.EUnauthorized || fetches.Load() != 2 {
		t.Fatalf("a dropped key's token: %v (%d fetches)", err, fetches.Load())
	}
	if c, err := v.Verify(ctx, sign(k2, now.Add(time.Minute), "acme"), now); err != nil || c != "acme" {
		t.Fatalf("the new key's token: %v", err)
	}
}

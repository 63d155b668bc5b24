package mcp_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/weftio/weft/internal/egress"
	"github.com/weftio/weft/mcp"
)

// The JWKS fetch of mcp.auth oauth dials through the egress policy.
func TestOAuthJWKSThroughEgress(t *testing.T) {
	priv, _ := rsa.GenerateKey(rand.Reader, 2048)
	var hits atomic.Int32
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &priv.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	}))
	defer jwks.Close()
	_, port, _ := net.SplitHostPort(jwks.Listener.Addr().String())
	sig, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: priv}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	tok, _ := jwt.Signed(sig).Claims(jwt.Claims{Issuer: "https://idp.example.com", Subject: "agent-7", Audience: jwt.Audience{"https://weft.example.com/mcp"},
		Expiry: jwt.NewNumericDate(time.Now().Add(time.Hour)), IssuedAt: jwt.NewNumericDate(time.Now())}).
		Claims(map[string]any{"scope": "mcp"}).Serialize()
	e := newEngine(t)
	authWith := func(pol *egress.Policy) error {
		auth, err := mcp.NewAuth(e.Store(), mcp.AuthConfig{Mode: mcp.AuthOAuth, Issuer: "https://idp.example.com", Audience: "https://weft.example.com/mcp",
			JWKSURL: jwks.URL, HTTPClient: pol.HTTPClient("mcp.auth jwks", 5*time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest("POST", "/mcp", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		_, err = auth.Authenticate(req, "")
		return err
	}
	var logs bytes.Buffer
	deny := egress.MustNew("idp.example.com:443")
	deny.Log = slog.New(slog.NewTextHandler(&logs, nil))
	if err := authWith(deny); err == nil || hits.Load() != 0 || deny.Refused() == 0 || !strings.Contains(logs.String(), `by="mcp.auth jwks"`) {
		t.Fatalf("refused: err %v, hits %d, refused %d, log %s", err, hits.Load(), deny.Refused(), logs.String())
	}
	if err := authWith(egress.MustNew("127.0.0.1:" + port)); err != nil || hits.Load() != 1 {
		t.Fatalf("allowed: %v (hits %d)", err, hits.Load())
	}
}

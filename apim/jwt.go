package apim

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/weftio/weft"
	"github.com/weftio/weft/internal/bounded"
	"github.com/weftio/weft/internal/lazy"
)

// AuthJWT: a bearer JWT from a configured issuer names the consumer.
const AuthJWT = "jwt"

// JWTIssuer is an identity provider whose access tokens a product with
// auth: jwt accepts (configured by the operator, never by a product's
// author: the server fetches its keys). The consumer is the value of
// ConsumerClaim (default "sub"; "azp" or "client_id" for a client
// credentials grant), which must name a consumer.
type JWTIssuer struct {
	Name          string `yaml:"name" json:"name"`
	Issuer        string `yaml:"issuer" json:"issuer"`     // iss
	Audience      string `yaml:"audience" json:"audience"` // aud: this API's identifier
	JWKSURL       string `yaml:"jwks_url" json:"jwks_url"` // the issuer's signing keys
	ConsumerClaim string `yaml:"consumer_claim" json:"consumer_claim,omitempty"`
}

var claimRe = lazy.NewRegexp(`^[A-Za-z0-9_.:-]{1,64}$`)

// Check refuses an incomplete issuer.
func (j *JWTIssuer) Check() error {
	switch {
	case !nameRe.MatchString(j.Name):
		return weft.Errorf(weft.EInvalid, "api_jwt_issuers: name %q: lower-case letters, digits, '-' or '_'", clip(j.Name, 60))
	case j.Issuer == "" || j.Audience == "" || j.JWKSURL == "":
		return weft.Errorf(weft.EInvalid, "api_jwt_issuers %s: issuer, audience and jwks_url are required", j.Name)
	case !strings.HasPrefix(j.JWKSURL, "https://") && !strings.HasPrefix(j.JWKSURL, "http://"):
		return weft.Errorf(weft.EInvalid, "api_jwt_issuers %s: jwks_url must be an http(s) URL", j.Name)
	case j.ConsumerClaim != "" && !claimRe.MatchString(j.ConsumerClaim):
		return weft.Errorf(weft.EInvalid, "api_jwt_issuers %s: consumer_claim %q is not a claim name", j.Name, clip(j.ConsumerClaim, 60))
	}
	return nil
}

// jwtAlgs are the asymmetric algorithms accepted: never "none", never a
// shared-secret HMAC (a public key must not verify a token anyone made).
var jwtAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384, jose.ES512, jose.PS256, jose.PS384, jose.PS512, jose.EdDSA}

// MaxJWT is the longest bearer token read.
const MaxJWT = 8 << 10

// JWTVerifier verifies one issuer's tokens, holding its key set (fetched
// again every 10 minutes, or when a token names a key id it does not
// hold, at most every 10 s). The checks follow mcp/auth.go's.
type JWTVerifier struct {
	cfg    JWTIssuer
	client *http.Client

	mu     sync.Mutex
	jwks   *jose.JSONWebKeySet
	jwksAt time.Time

	// Tokens whose signature verified against the key set held now, by
	// their SHA-256: a token seen again is not verified again while that
	// key set is held (a key set fetched again forgets them all), and its
	// times are checked on every call. A key the issuer drops is thus
	// honoured exactly as long as before (until the set is fetched again).
	tmu     sync.Mutex
	tokens  map[[32]byte]verifiedToken
	tokenAt time.Time // the jwksAt the tokens were verified under
	sigs    int       // signatures verified (tests)
}

type verifiedToken struct {
	claims   jwt.Claims
	consumer string
}

// maxVerifiedTokens bounds the tokens remembered; past it they are all
// forgotten (the next calls verify their signatures again).
const maxVerifiedTokens = 10000

// NewJWTVerifier returns a verifier; client fetches the key set (nil: a
// plain client with a 10 s timeout).
func NewJWTVerifier(cfg JWTIssuer, client *http.Client) (*JWTVerifier, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if cfg.ConsumerClaim == "" {
		cfg.ConsumerClaim = "sub"
	}
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &JWTVerifier{cfg: cfg, client: client}, nil
}

// Verify checks a token's signature (against the issuer's keys), issuer,
// audience and times (30 s leeway) and returns the consumer it names.
// Errors are unauthorized, or unavailable when the keys cannot be had.
func (v *JWTVerifier) Verify(ctx context.Context, raw string, now time.Time) (string, error) {
	bad := func(format string, a ...any) (string, error) {
		return "", weft.Errorf(weft.EUnauthorized, "invalid token: "+format, a...)
	}
	if len(raw) > MaxJWT {
		return bad("longer than %d bytes", MaxJWT)
	}
	sum := sha256.Sum256([]byte(raw))
	if t, ok := v.verifiedToken(sum); ok {
		return v.checkClaims(t.claims, t.consumer, now)
	}
	tok, err := jwt.ParseSigned(raw, jwtAlgs)
	if err != nil {
		return bad("not a JWT signed with an asymmetric algorithm (%s)", clip(err.Error(), 120))
	}
	var kid string
	if len(tok.Headers) > 0 {
		kid = tok.Headers[0].KeyID
	}
	keys, err := v.keySet(ctx, kid)
	if err != nil {
		return "", weft.Errorf(weft.EUnavailable, "the signing keys of issuer %s cannot be fetched now; try again later", v.cfg.Name)
	}
	var claims jwt.Claims
	var extra map[string]any
	verified := false
	for _, k := range keys.Keys {
		if kid != "" && k.KeyID != kid {
			continue
		}
		if tok.Claims(k.Key, &claims, &extra) == nil {
			verified = true
			break
		}
	}
	v.tmu.Lock()
	v.sigs++
	v.tmu.Unlock()
	if !verified {
		return bad("the signature does not verify against the keys of issuer %s", v.cfg.Name)
	}
	consumer, _ := extra[v.cfg.ConsumerClaim].(string)
	out, err := v.checkClaims(claims, consumer, now)
	if err == nil {
		v.rememberToken(sum, keys, verifiedToken{claims: claims, consumer: consumer})
	}
	return out, err
}

// checkClaims checks a verified token's issuer, audience, times (30 s
// leeway) and consumer claim.
func (v *JWTVerifier) checkClaims(claims jwt.Claims, consumer string, now time.Time) (string, error) {
	bad := func(format string, a ...any) (string, error) {
		return "", weft.Errorf(weft.EUnauthorized, "invalid token: "+format, a...)
	}
	if err := claims.ValidateWithLeeway(jwt.Expected{Issuer: v.cfg.Issuer, AnyAudience: jwt.Audience{v.cfg.Audience}, Time: now}, 30*time.Second); err != nil {
		switch {
		case errors.Is(err, jwt.ErrInvalidAudience):
			return bad("not for this API (audience %s)", v.cfg.Audience)
		case errors.Is(err, jwt.ErrInvalidIssuer):
			return bad("not issued by %s", v.cfg.Issuer)
		case errors.Is(err, jwt.ErrExpired):
			return bad("expired")
		}
		return bad("not valid now (%s)", clip(err.Error(), 120))
	}
	if claims.Expiry == nil {
		return bad("it has no expiry (exp)")
	}
	if !nameRe.MatchString(consumer) {
		return bad("its %s claim %q does not name a consumer", v.cfg.ConsumerClaim, clip(consumer, 60))
	}
	return consumer, nil
}

// verifiedToken returns a token verified under the key set held now.
func (v *JWTVerifier) verifiedToken(sum [32]byte) (verifiedToken, bool) {
	v.mu.Lock()
	at := v.jwksAt
	v.mu.Unlock()
	v.tmu.Lock()
	defer v.tmu.Unlock()
	if v.tokens == nil || !v.tokenAt.Equal(at) || time.Since(at) >= 10*time.Minute {
		return verifiedToken{}, false // the key set is due to be fetched again: verify
	}
	t, ok := v.tokens[sum]
	return t, ok
}

// rememberToken remembers a token verified against keys, if keys is the
// set held now.
func (v *JWTVerifier) rememberToken(sum [32]byte, keys *jose.JSONWebKeySet, t verifiedToken) {
	v.mu.Lock()
	cur, at := v.jwks, v.jwksAt
	v.mu.Unlock()
	if cur != keys {
		return
	}
	v.tmu.Lock()
	defer v.tmu.Unlock()
	if v.tokens == nil || !v.tokenAt.Equal(at) || len(v.tokens) >= maxVerifiedTokens {
		v.tokens, v.tokenAt = map[[32]byte]verifiedToken{}, at
	}
	v.tokens[sum] = t
}

func (v *JWTVerifier) keySet(ctx context.Context, kid string) (*jose.JSONWebKeySet, error) {
	v.mu.Lock()
	ks, at := v.jwks, v.jwksAt
	v.mu.Unlock()
	if ks != nil && time.Since(at) < 10*time.Minute && (kid == "" || len(ks.Key(kid)) > 0 || time.Since(at) < 10*time.Second) {
		return ks, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.cfg.JWKSURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := v.client.Do(req)
	if err != nil {
		if ks != nil {
			return ks, nil
		}
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		if ks != nil {
			return ks, nil
		}
		return nil, fmt.Errorf("jwks: %s", resp.Status)
	}
	var set jose.JSONWebKeySet
	if err := bounded.ReadJSON("jwks", resp.Body, &set, bounded.Limits{MaxBytes: 1 << 20}); err != nil {
		if ks != nil {
			return ks, nil
		}
		return nil, err
	}
	v.mu.Lock()
	v.jwks, v.jwksAt = &set, time.Now()
	v.mu.Unlock()
	return &set, nil
}

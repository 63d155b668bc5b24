package apim

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/store"
)

// AuthHMAC: every call is signed with a consumer's HMAC secret (and
// counted under its plan like a keyed call).
const AuthHMAC = "hmac"

// HMAC-signed calls.
//
// A consumer's HMAC credential is an id (16 hex digits, sent with every
// call) and a secret ("whs_" + 52 base32 characters: 256 random bits),
// shown once; the server keeps the secret sealed under the master key
// (it needs it to verify), never only a hash of it. A call carries
//
//	Authorization: WEFT-HMAC-SHA256 Credential=<id>, Timestamp=<unix seconds>, Nonce=<nonce>, Signature=<hex>
//
// where Signature is the lower-case hex HMAC-SHA256, keyed with the
// secret's bytes, of the canonical string (see CanonicalString):
//
//	WEFT-HMAC-SHA256 "\n" METHOD "\n" TARGET "\n" TIMESTAMP "\n" NONCE "\n" hex(SHA-256(body))
//
// TARGET is the request target as sent: the path, percent-encoded as on
// the wire, then "?" and the query string when there is one
// (/apis/shop/v1/orders/42?expand=true). The timestamp must be within
// HMACWindow of the server's clock; the nonce (16 to 64 of A-Z a-z 0-9 - _)
// may be used once per credential within that window, in every process
// sharing the store.
const (
	HMACScheme      = "WEFT-HMAC-SHA256"
	HMACWindow      = 5 * time.Minute
	hmacSecretPfx   = "whs_"
	maxHMACHeader   = 512
	minNonce        = 16
	maxNonce        = 64
	nonceSweepEvery = time.Minute
)

// NewHMACSecret makes a credential from crypto/rand: its id and its
// secret (to show once; the store seals it).
func NewHMACSecret() (id, secret string, err error) {
	var b [8 + 32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", weft.Wrap(weft.EInternal, err, "random: %v", err)
	}
	return hex.EncodeToString(b[:8]), hmacSecretPfx + strings.ToLower(keyEnc.EncodeToString(b[8:])), nil
}

// CanonicalString is what a signed call's signature covers.
func CanonicalString(method, target, timestamp, nonce string, body []byte) string {
	sum := sha256.Sum256(body)
	return HMACScheme + "\n" + method + "\n" + target + "\n" + timestamp + "\n" + nonce + "\n" + hex.EncodeToString(sum[:])
}

// SignHMAC is the signature of a call (lower-case hex).
func SignHMAC(secret, method, target, timestamp, nonce string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(CanonicalString(method, target, timestamp, nonce, body)))
	return hex.EncodeToString(m.Sum(nil))
}

// HMACAuthorization is the Authorization header value of a signed call.
func HMACAuthorization(id, secret, method, target string, ts time.Time, nonce string, body []byte) string {
	t := strconv.FormatInt(ts.Unix(), 10)
	return HMACScheme + " Credential=" + id + ", Timestamp=" + t + ", Nonce=" + nonce + ", Signature=" + SignHMAC(secret, method, target, t, nonce, body)
}

// SignedCall is an HMAC Authorization header, parsed.
type SignedCall struct {
	Credential, Timestamp, Nonce string
	Signature                    []byte
	At                           time.Time
}

// ParseHMAC reads a call's signature header, refusing (unauthorized)
// anything but exactly one well-formed WEFT-HMAC-SHA256 Authorization
// header; it never echoes the signature. ok is false when the call
// carries no Authorization header.
func ParseHMAC(h http.Header) (sc SignedCall, ok bool, err error) {
	bad := func(why string) (SignedCall, bool, error) {
		return SignedCall{}, true, weft.Errorf(weft.EUnauthorized, "malformed signature: %s", why)
	}
	vs := h.Values("Authorization")
	switch {
	case len(vs) == 0:
		return sc, false, nil
	case len(vs) > 1:
		return bad("send exactly one Authorization header")
	case len(vs[0]) > maxHMACHeader:
		return bad("the Authorization header is longer than " + strconv.Itoa(maxHMACHeader) + " bytes")
	}
	scheme, rest, _ := strings.Cut(strings.TrimSpace(vs[0]), " ")
	if scheme != HMACScheme {
		return bad("use Authorization: " + HMACScheme + " Credential=<id>, Timestamp=<unix seconds>, Nonce=<nonce>, Signature=<hex>")
	}
	seen := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, found := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential", "Timestamp", "Nonce", "Signature":
		default:
			return bad("unknown field " + strconv.Quote(clip(k, 20)) + " (Credential, Timestamp, Nonce and Signature)")
		}
		if !found || v == "" {
			return bad(k + " is empty")
		}
		if _, dup := seen[k]; dup {
			return bad(k + " is given twice")
		}
		seen[k] = v
	}
	for _, k := range []string{"Credential", "Timestamp", "Nonce", "Signature"} {
		if seen[k] == "" {
			return bad(k + " is missing")
		}
	}
	sc.Credential, sc.Timestamp, sc.Nonce = seen["Credential"], seen["Timestamp"], seen["Nonce"]
	if len(sc.Credential) != keyIDLen || !isLowerHex(sc.Credential) {
		return bad("Credential is the credential's id: 16 lower-case hex digits")
	}
	ts := sc.Timestamp
	if len(ts) == 0 || len(ts) > 12 || strings.TrimLeft(ts, "0123456789") != "" {
		return bad("Timestamp is Unix seconds")
	}
	sec, _ := strconv.ParseInt(ts, 10, 64)
	sc.At = time.Unix(sec, 0)
	if n := len(sc.Nonce); n < minNonce || n > maxNonce || strings.TrimLeft(sc.Nonce, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		return bad("Nonce is 16 to 64 letters, digits, '-' or '_', new for every call")
	}
	sig := seen["Signature"]
	if len(sig) != 2*sha256.Size || !isLowerHex(sig) {
		return bad("Signature is 64 lower-case hex digits (HMAC-SHA256)")
	}
	sc.Signature, _ = hex.DecodeString(sig)
	return sc, true, nil
}

func isLowerHex(s string) bool {
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// admitHMAC is Admit for auth: hmac. The checks run cheapest first and
// no call is remembered or counted before its signature is verified: the
// header's form, the timestamp's window (no store read), the signature
// (constant time) with the credential's secret — remembered when this
// process verified the credential before, else read with its grant and
// the grant checked (revoked, expired, not subscribed) — then one
// statement that re-checks the grant as stored now (a revocation holds
// from the next call, in every process), uses the nonce (a replay is
// refused in every process) and, for a fresh nonce, counts the call
// against the plan's limits.
func (s *Service) admitHMAC(ctx context.Context, p *Product, v *Version, c Call, now time.Time) (*Grant, store.Admission, error) {
	var none store.Admission
	sc, ok, err := ParseHMAC(c.Header)
	if err != nil {
		return nil, none, err
	}
	if !ok {
		return nil, none, weft.Errorf(weft.EUnauthorized, "API product %s needs signed calls: send Authorization: %s Credential=<id>, Timestamp=<unix seconds>, Nonce=<nonce>, Signature=<hex>", p.Name, HMACScheme)
	}
	if d := now.Sub(sc.At); d > HMACWindow || d < -HMACWindow {
		return nil, none, weft.Errorf(weft.EUnauthorized, "the signed timestamp is %s from the server's clock, outside the %s window: a replayed or delayed call, or a clock that is off", d.Round(time.Second).Abs(), HMACWindow)
	}
	s.sweepNonces(ctx, now)
	// The nonce is remembered until its timestamp leaves the window (after
	// that the window refuses it anyway).
	expires := sc.At.Add(HMACWindow + time.Second)
	e := s.verified.get(AuthHMAC, sc.Credential, p.Name, v.Name, "", now)
	for attempt := 0; ; attempt++ {
		if e == nil {
			// Not verified by this process, or changed since: read the
			// credential and its grant.
			if e, err = s.hmacGrant(ctx, p, v, sc, c, now); err != nil {
				return nil, none, err
			}
		} else if !e.verifies(sc, c) {
			return nil, none, badSignature(sc)
		}
		if err := consumerAddr(e.consumer, e.prefixes, c.ClientIP); err != nil {
			return nil, none, err
		}
		// One statement re-checks the grant, uses the nonce and, only
		// for a fresh nonce, counts the call.
		vc := e.call
		vc.Nonce, vc.NonceExpires = sc.Nonce, expires
		held, fresh, a, err := s.consumers.AdmitVerified(ctx, vc, now)
		if err != nil {
			return nil, none, err
		}
		if !held {
			s.verified.forget(AuthHMAC, sc.Credential, p.Name)
			if attempt > 0 {
				return nil, none, weft.Errorf(weft.EUnauthorized, "HMAC credential %s cannot be used now", sc.Credential)
			}
			e = nil // read it again: it says why, or it holds under its new grant
			continue
		}
		if !fresh {
			return nil, none, weft.Errorf(weft.EUnauthorized, "replayed call: nonce %s was already used with credential %s", sc.Nonce, sc.Credential)
		}
		s.verified.put(AuthHMAC, e)
		grant := e.grant
		if a == nil {
			return &grant, store.Admission{Allowed: true}, nil
		}
		return &grant, *a, nil
	}
}

// verifies checks a call's signature with the entry's secret, in
// constant time.
func (e *verifiedEntry) verifies(sc SignedCall, c Call) bool {
	want, _ := hex.DecodeString(SignHMAC(e.secret, c.Method, c.Target, sc.Timestamp, sc.Nonce, c.Body))
	return hmac.Equal(want, sc.Signature)
}

func badSignature(sc SignedCall) error {
	return weft.Errorf(weft.EUnauthorized, "bad signature for credential %s: sign %s of this method, target, timestamp, nonce and body", sc.Credential, HMACScheme)
}

// hmacGrant reads an HMAC credential and its grant (one read, never
// cached), verifies the call's signature with its secret, then checks
// the credential's state and the subscription: the entry to count the
// call with, or why it is refused.
func (s *Service) hmacGrant(ctx context.Context, p *Product, v *Version, sc SignedCall, c Call, now time.Time) (*verifiedEntry, error) {
	g, err := s.consumers.KeyGrant(ctx, sc.Credential, p.Name)
	if weft.Code(err) == weft.ENotFound {
		return nil, weft.Errorf(weft.EUnauthorized, "unknown HMAC credential %s", sc.Credential)
	}
	if err != nil {
		return nil, err
	}
	if g.Key.Kind != store.KeyHMAC || g.Key.Secret == "" {
		return nil, weft.Errorf(weft.EUnauthorized, "unknown HMAC credential %s", sc.Credential)
	}
	if !(&verifiedEntry{secret: g.Key.Secret}).verifies(sc, c) {
		return nil, badSignature(sc)
	}
	if g.Key.RevokedAt != nil {
		return nil, weft.Errorf(weft.EUnauthorized, "HMAC credential %s was revoked", sc.Credential)
	}
	if g.Key.ExpiresAt != nil && !now.Before(*g.Key.ExpiresAt) {
		return nil, weft.Errorf(weft.EUnauthorized, "HMAC credential %s expired at %s (it was rotated)", sc.Credential, g.Key.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if err := subscribed(g, p, v); err != nil {
		return nil, err
	}
	return entryFor(g, p.Name, now), nil
}

// sweepNonces forgets expired nonces, at most once a minute per process
// (every process sweeps: the table holds at most a window's signed calls).
func (s *Service) sweepNonces(ctx context.Context, now time.Time) {
	last := s.lastSweep.Load()
	if now.UnixNano()-last < int64(nonceSweepEvery) || !s.lastSweep.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	_, _ = s.consumers.SweepNonces(ctx, now) // a failed sweep is retried a minute later
}

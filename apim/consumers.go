package apim

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/store"
)

// Product authentication modes.
const (
	AuthNone   = "none"    // anyone who can reach the server (the default)
	AuthAPIKey = "api_key" // a consumer's key, a subscription and its plan's limits
)

// Limits of the consumer documents.
const (
	maxRate        = 1e6     // calls per second
	maxBurst       = 1e6     // calls at once
	maxQuota       = 1 << 40 // calls per day or month
	maxDescription = 1024
	// MaxKeyHeader is the longest key header read; a longer one is
	// malformed.
	MaxKeyHeader = 256
	// MaxOverlap is the longest a rotated key stays valid.
	MaxOverlap = 90 * 24 * time.Hour
)

// CheckPlan refuses a plan that is not a name with sane limits.
func CheckPlan(p *store.Plan) error {
	var probs []weft.Problem
	add := func(path, format string, args ...any) {
		probs = append(probs, weft.Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	if !nameRe.MatchString(p.Name) {
		add("/name", "plan name %q: use lower-case letters, digits, '-' or '_' (at most 64)", clip(p.Name, 80))
	}
	if len(p.Description) > maxDescription {
		add("/description", "at most %d bytes", maxDescription)
	}
	l := &p.Limits
	if math.IsNaN(l.RatePerSecond) || l.RatePerSecond < 0 || l.RatePerSecond > maxRate {
		add("/limits/rate_per_second", "a number of calls per second from 0 (no rate limit) to %g", float64(maxRate))
	}
	if l.Burst < 0 || l.Burst > maxBurst {
		add("/limits/burst", "from 0 to %d", int64(maxBurst))
	}
	if l.RatePerSecond > 0 && l.RatePerSecond < 1e-6 {
		add("/limits/rate_per_second", "at least one call in about eleven days (1e-6 per second)")
	}
	if l.RatePerSecond == 0 && l.Burst > 0 {
		add("/limits/burst", "a burst needs a rate_per_second")
	}
	if l.QuotaDay < 0 || l.QuotaDay > maxQuota {
		add("/limits/quota_day", "from 0 (no quota) to %d", int64(maxQuota))
	}
	if l.QuotaMonth < 0 || l.QuotaMonth > maxQuota {
		add("/limits/quota_month", "from 0 (no quota) to %d", int64(maxQuota))
	}
	if l.RatePerSecond > 0 && l.Burst == 0 {
		// A rate without a burst allows one call at a time.
		l.Burst = 1
	}
	if len(probs) > 0 {
		return &weft.Error{Code: weft.EInvalid, Message: fmt.Sprintf("plan %q has %d problem(s)", clip(p.Name, 80), len(probs)), Problems: probs}
	}
	return nil
}

// CheckConsumer refuses a consumer that is not a name with a short
// description and an allow-list of addresses and CIDR prefixes.
func CheckConsumer(c *store.Consumer) error {
	if !nameRe.MatchString(c.Name) {
		return weft.Errorf(weft.EInvalid, "consumer name %q: use lower-case letters, digits, '-' or '_' (at most 64)", clip(c.Name, 80))
	}
	if len(c.Description) > maxDescription {
		return weft.Errorf(weft.EInvalid, "consumer description: at most %d bytes", maxDescription)
	}
	var probs []weft.Problem
	add := func(path, format string, args ...any) {
		probs = append(probs, weft.Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	if len(c.AllowIPs) > maxAllowIPs {
		add("/allow_ips", "%d entries; the limit is %d", len(c.AllowIPs), maxAllowIPs)
	}
	parseAllowIPs(c.AllowIPs, add)
	if len(probs) > 0 {
		return &weft.Error{Code: weft.EInvalid, Message: fmt.Sprintf("consumer %q has %d problem(s)", c.Name, len(probs)), Problems: probs}
	}
	return nil
}

// consumerAddr refuses (403) a call from an address the consumer's
// allow-list does not name (any address when it names none).
func consumerAddr(c *store.Consumer, prefixes []netip.Prefix, ip string) error {
	if len(c.AllowIPs) == 0 || ipIn(prefixes, ip) {
		return nil
	}
	return weft.Errorf(weft.EForbidden, "consumer %s may not call from address %s", c.Name, clip(ip, 60))
}

// consumerPrefixes are a stored consumer's allow-list, parsed (entries
// were checked when it was saved; one that no longer parses allows
// nothing).
func consumerPrefixes(c *store.Consumer) []netip.Prefix {
	return parseAllowIPs(c.AllowIPs, func(string, string, ...any) {})
}

// --- keys -------------------------------------------------------------------

// A key is "wk_" + 16 hex digits (its id, stored in the clear for lookup)
// + "_" + 52 base32 characters (32 random bytes): 256 bits that are never
// stored, only the SHA-256 of the whole key.
const (
	keyPrefix    = "wk_"
	keyIDLen     = 16
	keySecretLen = 52
	keyLen       = len(keyPrefix) + keyIDLen + 1 + keySecretLen
)

var keyEnc = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewKey makes a key from crypto/rand: the key (to show once), its id and
// its hash (to store).
func NewKey() (key, id, hash string, err error) {
	var b [8 + 32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", "", "", weft.Wrap(weft.EInternal, err, "random: %v", err)
	}
	id = hex.EncodeToString(b[:8])
	key = keyPrefix + id + "_" + strings.ToLower(keyEnc.EncodeToString(b[8:]))
	return key, id, HashKey(key), nil
}

// HashKey is the stored form of a key.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// ParseKey returns a well-formed key's id, or an unauthorized error that
// says what is wrong with it (never echoing it).
func ParseKey(key string) (string, error) {
	bad := func(why string) (string, error) {
		return "", weft.Errorf(weft.EUnauthorized, "malformed API key: %s", why)
	}
	if len(key) != keyLen {
		return bad(fmt.Sprintf("a key is %d characters, this one %d", keyLen, min(len(key), MaxKeyHeader)))
	}
	if !strings.HasPrefix(key, keyPrefix) || key[len(keyPrefix)+keyIDLen] != '_' {
		return bad("a key looks like wk_<16 hex digits>_<52 characters>")
	}
	id := key[len(keyPrefix) : len(keyPrefix)+keyIDLen]
	for _, c := range []byte(id) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return bad("its id is not 16 lower-case hex digits")
		}
	}
	for _, c := range []byte(key[len(keyPrefix)+keyIDLen+1:]) {
		if !('a' <= c && c <= 'z' || '2' <= c && c <= '7') {
			return bad("its secret is not base32")
		}
	}
	return id, nil
}

// KeyFrom reads the key a call carries: "X-API-Key: KEY" or
// "Authorization: Bearer KEY". ok is false when it carries none.
func KeyFrom(h http.Header) (key string, ok bool, err error) {
	vs := h.Values("X-Api-Key")
	if a := h.Values("Authorization"); len(a) > 0 {
		for _, v := range a {
			scheme, rest, _ := strings.Cut(v, " ")
			if !strings.EqualFold(scheme, "Bearer") {
				return "", true, weft.Errorf(weft.EUnauthorized, "malformed Authorization header: use Bearer with an API key (or X-API-Key)")
			}
			vs = append(vs, strings.TrimSpace(rest))
		}
	}
	switch len(vs) {
	case 0:
		return "", false, nil
	case 1:
		if len(vs[0]) > MaxKeyHeader {
			return "", true, weft.Errorf(weft.EUnauthorized, "malformed API key: longer than %d bytes", MaxKeyHeader)
		}
		return vs[0], true, nil
	}
	return "", true, weft.Errorf(weft.EUnauthorized, "more than one API key in the request")
}

// Grant is an authenticated call's consumer, subscription and plan.
type Grant struct {
	Consumer string
	Key      string // the key's id
	Plan     store.Plan
	Bucket   string // where its calls are counted: consumer/product
}

// Call is what authenticating a call reads: its headers and, for a signed
// call, the method, the request target as sent (path and query) and the
// body.
type Call struct {
	Header http.Header
	Method string
	Target string
	Body   []byte
	// ClientIP is the caller's address (the TCP peer's), checked against
	// the consumer's allow-list.
	ClientIP string
}

// Admit authenticates a call of product version v and counts it against
// the consumer's plan: one statement on PostgreSQL for a credential this
// process verified before (verified.go), which counts only while no
// plan, consumer, subscription or credential has changed since, so a
// revocation or an expiry holds from the next call on, in every process;
// only a call whose key is good is counted. Errors are unauthorized (no,
// malformed, unknown, revoked or expired key) or forbidden (a disabled
// consumer; no subscription to this product or version; an address the
// consumer's allow-list does not name). The admission says whether the
// plan's limits let the call through.
func (s *Service) Admit(ctx context.Context, p *Product, v *Version, c Call, now time.Time) (*Grant, store.Admission, error) {
	var none store.Admission
	if s.consumers == nil {
		return nil, none, weft.Errorf(weft.EUnavailable, "this server keeps no API consumers")
	}
	h := c.Header
	switch p.Auth {
	case AuthJWT:
		return s.admitJWT(ctx, p, v, h, c.ClientIP, now)
	case AuthHMAC:
		return s.admitHMAC(ctx, p, v, c, now)
	}
	key, ok, err := KeyFrom(h)
	if err != nil {
		return nil, none, err
	}
	if !ok {
		return nil, none, weft.Errorf(weft.EUnauthorized, "API product %s needs an API key: send X-API-Key: <key> (or Authorization: Bearer <key>)", p.Name)
	}
	id, err := ParseKey(key)
	if err != nil {
		return nil, none, err
	}
	hash := HashKey(key)
	e := s.verified.get(AuthAPIKey, id, p.Name, v.Name, hash, now)
	for attempt := 0; ; attempt++ {
		if e == nil {
			// Not verified by this process, or changed since: read the key
			// and its grant, and say what is wrong with it.
			if e, err = s.keyGrant(ctx, p, v, id, hash, now); err != nil {
				return nil, none, err
			}
		}
		if err := consumerAddr(e.consumer, e.prefixes, c.ClientIP); err != nil {
			return nil, none, err
		}
		// One statement re-checks the grant (the epoch) and counts.
		held, _, a, err := s.consumers.AdmitVerified(ctx, e.call, now)
		if err != nil {
			return nil, none, err
		}
		if !held {
			s.verified.forget(AuthAPIKey, id, p.Name)
			if attempt > 0 {
				return nil, none, weft.Errorf(weft.EUnauthorized, "API key %s cannot be used now", id)
			}
			e = nil // changed: read it again (it says why, or holds under its new grant)
			continue
		}
		s.verified.put(AuthAPIKey, e)
		grant := e.grant
		if a == nil {
			return &grant, store.Admission{Allowed: true}, nil
		}
		return &grant, *a, nil
	}
}

// keyGrant reads an API key's grant (never cached) and checks it: the
// key's hash, revocation and expiry (401), the consumer and its
// subscription (403): the entry to count the call with, or why not.
func (s *Service) keyGrant(ctx context.Context, p *Product, v *Version, id, hash string, now time.Time) (*verifiedEntry, error) {
	g, err := s.consumers.KeyGrant(ctx, id, p.Name)
	if weft.Code(err) == weft.ENotFound {
		return nil, weft.Errorf(weft.EUnauthorized, "unknown API key %s", id)
	}
	if err != nil {
		return nil, err
	}
	if g.Key.Kind == store.KeyHMAC || subtle.ConstantTimeCompare([]byte(hash), []byte(g.Key.Hash)) != 1 {
		return nil, weft.Errorf(weft.EUnauthorized, "unknown API key %s", id)
	}
	if g.Key.RevokedAt != nil { // whatever this process's clock says
		return nil, weft.Errorf(weft.EUnauthorized, "API key %s was revoked", id)
	}
	if g.Key.ExpiresAt != nil && !now.Before(*g.Key.ExpiresAt) {
		return nil, weft.Errorf(weft.EUnauthorized, "API key %s expired at %s (it was rotated)", id, g.Key.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if err := subscribed(g, p, v); err != nil {
		return nil, err
	}
	return entryFor(g, p.Name, now), nil
}

// subscribed refuses (403) a disabled consumer, or one not subscribed to
// this product version.
func subscribed(g *store.KeyGrant, p *Product, v *Version) error {
	if g.Consumer.Disabled {
		return weft.Errorf(weft.EForbidden, "consumer %s is disabled", g.Consumer.Name)
	}
	if g.Subscription == nil || g.Plan == nil {
		return weft.Errorf(weft.EForbidden, "consumer %s is not subscribed to API product %s", g.Consumer.Name, p.Name)
	}
	if g.Subscription.Version != "" && g.Subscription.Version != v.Name {
		return weft.Errorf(weft.EForbidden, "consumer %s is subscribed to version %s of API product %s, not %s", g.Consumer.Name, g.Subscription.Version, p.Name, v.Name)
	}
	return nil
}

// admitJWT is Admit for auth: jwt: the bearer token is verified against
// the product's issuer (no store read) and its consumer claim names the
// consumer. As for a key, a consumer this process read the grant of
// before is counted in one statement that re-checks the grants' epoch
// (a disabled consumer, a removed subscription or a changed plan holds
// from the next call, in every process); otherwise, or when the epoch
// moved, its grant is read and checked first.
func (s *Service) admitJWT(ctx context.Context, p *Product, v *Version, h http.Header, ip string, now time.Time) (*Grant, store.Admission, error) {
	var none store.Admission
	consumer, err := s.jwtConsumer(ctx, p, h, now)
	if err != nil {
		return nil, none, err
	}
	e := s.verified.get(AuthJWT, consumer, p.Name, v.Name, "", now)
	for attempt := 0; ; attempt++ {
		if e == nil {
			g, err := s.consumerGrant(ctx, p, v, consumer)
			if err != nil {
				return nil, none, err
			}
			e = entryFor(g, p.Name, now)
			// The consumer stands for the credential (the statement counts
			// only a call that names one; this process remembers the entry
			// under it).
			e.call.KeyID = consumer
		}
		if err := consumerAddr(e.consumer, e.prefixes, ip); err != nil {
			return nil, none, err
		}
		held, _, a, err := s.consumers.AdmitVerified(ctx, e.call, now)
		if err != nil {
			return nil, none, err
		}
		if !held {
			s.verified.forget(AuthJWT, consumer, p.Name)
			if attempt > 0 {
				return nil, none, weft.Errorf(weft.EForbidden, "consumer %s cannot call API product %s now", consumer, p.Name)
			}
			e = nil // changed: read the grant again (it says why, or holds under its new grant)
			continue
		}
		s.verified.put(AuthJWT, e)
		grant := e.grant
		if a == nil {
			return &grant, store.Admission{Allowed: true}, nil
		}
		return &grant, *a, nil
	}
}

// jwtConsumer verifies a call's bearer token against the product's
// issuer: the consumer it names.
func (s *Service) jwtConsumer(ctx context.Context, p *Product, h http.Header, now time.Time) (string, error) {
	ver := s.issuers[p.JWTIssuer]
	if ver == nil {
		return "", weft.Errorf(weft.EUnavailable, "the JWT issuer %s of API product %s is not configured on this server", p.JWTIssuer, p.Name)
	}
	auth := h.Values("Authorization")
	if len(auth) == 0 {
		return "", weft.Errorf(weft.EUnauthorized, "API product %s needs a bearer token from issuer %s: send Authorization: Bearer <JWT>", p.Name, p.JWTIssuer)
	}
	scheme, raw, _ := strings.Cut(auth[0], " ")
	if len(auth) > 1 || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(raw) == "" {
		return "", weft.Errorf(weft.EUnauthorized, "malformed Authorization header: send one Authorization: Bearer <JWT>")
	}
	return ver.Verify(ctx, strings.TrimSpace(raw), now)
}

// consumerGrant reads (never from a cache) and checks the grant of a
// consumer a token named.
func (s *Service) consumerGrant(ctx context.Context, p *Product, v *Version, consumer string) (*store.KeyGrant, error) {
	g, err := s.consumers.ConsumerGrant(ctx, consumer, p.Name)
	if weft.Code(err) == weft.ENotFound {
		return nil, weft.Errorf(weft.EForbidden, "the token names consumer %s, which does not exist here", consumer)
	}
	if err != nil {
		return nil, err
	}
	if err := subscribed(g, p, v); err != nil {
		return nil, err
	}
	return g, nil
}

// jwtGrant verifies a call's bearer token against the product's issuer
// and reads and checks the grant of the consumer it names.
func (s *Service) jwtGrant(ctx context.Context, p *Product, v *Version, h http.Header, ip string, now time.Time) (*store.KeyGrant, error) {
	consumer, err := s.jwtConsumer(ctx, p, h, now)
	if err != nil {
		return nil, err
	}
	g, err := s.consumerGrant(ctx, p, v, consumer)
	if err != nil {
		return nil, err
	}
	if err := consumerAddr(&g.Consumer, consumerPrefixes(&g.Consumer), ip); err != nil {
		return nil, err
	}
	return g, nil
}

// Authenticate checks a call's credential as Admit does, reading its
// grant from the store (never from what this process remembers), and
// does not count it: for what a consumer may see without calling a
// route (an MCP toolset's list of tools). A product without auth admits
// everyone (nil grant). HMAC-signed products are refused: a signature
// covers one HTTP call.
func (s *Service) Authenticate(ctx context.Context, p *Product, v *Version, c Call, now time.Time) (*Grant, error) {
	if !p.NeedsKey() {
		return nil, nil
	}
	if s.consumers == nil {
		return nil, weft.Errorf(weft.EUnavailable, "this server keeps no API consumers")
	}
	var g *store.KeyGrant
	switch p.Auth {
	case AuthJWT:
		var err error
		if g, err = s.jwtGrant(ctx, p, v, c.Header, c.ClientIP, now); err != nil {
			return nil, err
		}
	case AuthAPIKey:
		key, ok, err := KeyFrom(c.Header)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, weft.Errorf(weft.EUnauthorized, "API product %s needs an API key: send X-API-Key: <key> (or Authorization: Bearer <key>)", p.Name)
		}
		id, err := ParseKey(key)
		if err != nil {
			return nil, err
		}
		e, err := s.keyGrant(ctx, p, v, id, HashKey(key), now)
		if err != nil {
			return nil, err
		}
		if err := consumerAddr(e.consumer, e.prefixes, c.ClientIP); err != nil {
			return nil, err
		}
		grant := e.grant
		return &grant, nil
	default:
		return nil, weft.Errorf(weft.EUnauthorized, "API product %s takes signed calls only (auth: %s)", p.Name, p.Auth)
	}
	return &Grant{Consumer: g.Consumer.Name, Plan: *g.Plan, Bucket: store.Bucket(g.Consumer.Name, p.Name)}, nil
}

// RateLimitHeaders sets RateLimit-Policy and RateLimit
// (draft-ietf-httpapi-ratelimit-headers: one item per limit of the plan,
// q the quota and w its window in seconds; r what remains and t the
// seconds until it resets) and, on a refusal, Retry-After.
func RateLimitHeaders(h http.Header, l store.Limits, a store.Admission) {
	var pol, cur []string
	secs := func(d time.Duration) string { return strconv.FormatInt(int64(math.Ceil(d.Seconds())), 10) }
	if l.RatePerSecond > 0 {
		burst := max(l.Burst, 1)
		w := int64(math.Ceil(float64(burst) / l.RatePerSecond))
		pol = append(pol, `"rate";q=`+strconv.FormatInt(burst, 10)+`;w=`+strconv.FormatInt(max(w, 1), 10))
		cur = append(cur, `"rate";r=`+strconv.FormatInt(a.RateRemaining, 10)+`;t=`+secs(a.RateReset))
	}
	if l.QuotaDay > 0 {
		pol = append(pol, `"day";q=`+strconv.FormatInt(l.QuotaDay, 10)+`;w=86400`)
		cur = append(cur, `"day";r=`+strconv.FormatInt(a.DayRemaining, 10)+`;t=`+secs(a.DayReset))
	}
	if l.QuotaMonth > 0 {
		pol = append(pol, `"month";q=`+strconv.FormatInt(l.QuotaMonth, 10)+`;w=2592000`)
		cur = append(cur, `"month";r=`+strconv.FormatInt(a.MonthRemaining, 10)+`;t=`+secs(a.MonthReset))
	}
	if len(pol) > 0 {
		h.Set("RateLimit-Policy", strings.Join(pol, ", "))
		h.Set("RateLimit", strings.Join(cur, ", "))
	}
	if !a.Allowed {
		h.Set("Retry-After", secs(max(a.RetryAfter, time.Second)))
	}
}

// --- administration ---------------------------------------------------------

func (s *Service) needConsumers() error {
	if s.consumers == nil {
		return weft.Errorf(weft.EUnavailable, "this server keeps no API consumers")
	}
	return nil
}

// SavePlan checks and stores a plan.
func (s *Service) SavePlan(ctx context.Context, p store.Plan) (store.Plan, error) {
	if err := s.needConsumers(); err != nil {
		return store.Plan{}, err
	}
	if err := CheckPlan(&p); err != nil {
		return store.Plan{}, err
	}
	return s.consumers.SavePlan(ctx, p)
}

// SaveConsumer checks and stores a consumer.
func (s *Service) SaveConsumer(ctx context.Context, c store.Consumer) (store.Consumer, error) {
	if err := s.needConsumers(); err != nil {
		return store.Consumer{}, err
	}
	if err := CheckConsumer(&c); err != nil {
		return store.Consumer{}, err
	}
	return s.consumers.SaveConsumer(ctx, c)
}

// Subscribe subscribes a consumer to a product (one version of it when
// sub.Version is set) under a plan. The three must share a namespace: a
// consumer of one team does not spend another team's product under a
// third team's plan.
func (s *Service) Subscribe(ctx context.Context, sub store.Subscription) (store.Subscription, error) {
	if err := s.needConsumers(); err != nil {
		return store.Subscription{}, err
	}
	c, err := s.consumers.Consumer(ctx, sub.Consumer)
	if err != nil {
		return store.Subscription{}, err
	}
	p, err := s.Get(ctx, sub.Product)
	if err != nil {
		return store.Subscription{}, err
	}
	plan, err := s.consumers.Plan(ctx, sub.Plan)
	if err != nil {
		return store.Subscription{}, err
	}
	ns := c.Namespace
	if p.Namespace != ns || plan.Namespace != ns {
		return store.Subscription{}, weft.Errorf(weft.EInvalid, "consumer %s (namespace %s), product %s (namespace %s) and plan %s (namespace %s) must share a namespace",
			c.Name, ns, p.Name, p.Namespace, plan.Name, plan.Namespace)
	}
	if sub.Version != "" && p.Find(sub.Version) == nil {
		return store.Subscription{}, weft.Errorf(weft.ENotFound, "API product %s has no version %q", p.Name, clip(sub.Version, 40))
	}
	return s.consumers.Subscribe(ctx, sub)
}

// NewKeyResult is a credential just made: Key (an API key) or Secret (an
// HMAC credential's, sent with Info.ID) is shown once and never again.
type NewKeyResult struct {
	Key    string            `json:"key,omitempty"`
	Secret string            `json:"secret,omitempty"`
	Info   store.ConsumerKey `json:"info"`
	// Rotated is the key this one replaces and when it stops working.
	Rotated *store.ConsumerKey `json:"rotated,omitempty"`
}

// CreateKey makes a credential for a consumer: an API key (kind "" or
// store.KeyAPIKey) or an HMAC secret (store.KeyHMAC).
func (s *Service) CreateKey(ctx context.Context, consumer, kind string) (*NewKeyResult, error) {
	if err := s.needConsumers(); err != nil {
		return nil, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	switch kind {
	case "", store.KeyAPIKey:
		key, id, hash, err := NewKey()
		if err != nil {
			return nil, err
		}
		k := store.ConsumerKey{ID: id, Consumer: consumer, Kind: store.KeyAPIKey, Hash: hash, CreatedAt: now}
		if err := s.consumers.CreateConsumerKey(ctx, k); err != nil {
			return nil, err
		}
		return &NewKeyResult{Key: key, Info: k}, nil
	case store.KeyHMAC:
		id, secret, err := NewHMACSecret()
		if err != nil {
			return nil, err
		}
		k := store.ConsumerKey{ID: id, Consumer: consumer, Kind: store.KeyHMAC, Secret: secret, CreatedAt: now}
		if err := s.consumers.CreateConsumerKey(ctx, k); err != nil {
			return nil, err
		}
		k.Secret = ""
		return &NewKeyResult{Secret: secret, Info: k}, nil
	}
	return nil, weft.Errorf(weft.EInvalid, "a credential's kind is %s or %s, not %q", store.KeyAPIKey, store.KeyHMAC, clip(kind, 40))
}

// RotateKey makes a new key for a consumer and lets the old one work for
// overlap more (0: it stops now), so callers can move without a gap.
func (s *Service) RotateKey(ctx context.Context, consumer, id string, overlap time.Duration) (*NewKeyResult, error) {
	if err := s.needConsumers(); err != nil {
		return nil, err
	}
	if overlap < 0 || overlap > MaxOverlap {
		return nil, weft.Errorf(weft.EInvalid, "overlap must be from 0 to %s", MaxOverlap)
	}
	keys, err := s.consumers.ConsumerKeys(ctx, consumer)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	var old *store.ConsumerKey
	for i := range keys {
		if k := &keys[i]; k.ID == id && k.RevokedAt == nil && (k.ExpiresAt == nil || now.Before(*k.ExpiresAt)) {
			old = k
		}
	}
	if old == nil {
		return nil, weft.Errorf(weft.ENotFound, "consumer %q has no active key %q", consumer, clip(id, 40))
	}
	res, err := s.CreateKey(ctx, consumer, old.Kind) // the same kind as the one it replaces
	if err != nil {
		return nil, err
	}
	until := now.Add(overlap)
	if old.ExpiresAt != nil && old.ExpiresAt.Before(until) {
		until = *old.ExpiresAt // a rotation never lengthens a key's life
	}
	if err := s.consumers.ExpireConsumerKey(ctx, consumer, id, until); err != nil {
		return nil, err
	}
	old.ExpiresAt = &until
	res.Rotated = old
	return res, nil
}

// RevokeKey stops a key now: the next call with it is refused, in every
// process (keys are read from the store on every call).
func (s *Service) RevokeKey(ctx context.Context, consumer, id string) error {
	if err := s.needConsumers(); err != nil {
		return err
	}
	return s.consumers.RevokeConsumerKey(ctx, consumer, id, s.now().UTC().Truncate(time.Microsecond))
}

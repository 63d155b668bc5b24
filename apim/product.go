// Package apim is Weft's API management: API products, their versions
// (each pinned to flow versions), the routes those flow versions publish
// (an api trigger each), request and response validation against the
// routes' JSON Schemas, and the OpenAPI 3.1 document of a version.
//
// It decides and describes; it does not serve HTTP or run flows (gateway
// does both) and it keeps nothing itself (store.Products does).
package apim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/internal/bounded"
	"github.com/weftio/weft/internal/lazy"
)

// Product groups the routes of some flows under versions:
// {base}/{product}/{version}{route path}.
type Product struct {
	Name        string    `json:"name"`
	Namespace   string    `json:"namespace,omitempty"` // the owner ("" on save: default)
	Title       string    `json:"title,omitempty"`
	Description string    `json:"description,omitempty"`
	Versions    []Version `json:"versions"`
	// Auth is who may call the routes: "none" (default: anyone),
	// "api_key" (a consumer's key and a subscription, under its plan's
	// rate limit and quotas), "jwt" (a token of JWTIssuer naming the
	// consumer) or "hmac" (calls signed with a consumer's HMAC secret).
	Auth string `json:"auth,omitempty"`
	// JWTIssuer names the configured issuer (api_jwt_issuers) whose
	// tokens an auth: jwt product accepts.
	JWTIssuer string `json:"jwt_issuer,omitempty"`
	// AllowIPs, when set, are the only client addresses (or CIDR
	// prefixes) that may call the routes; others get 403.
	AllowIPs []string `json:"allow_ips,omitempty"`
	// CORS lets browsers on the listed origins call the routes.
	CORS *CORS `json:"cors,omitempty"`
	// MCP offers each served version to agents as an MCP toolset at
	// {base}/{product}/{version}/mcp: one tool per route, called with the
	// consumer's credential under its plan, as the route is over HTTP.
	MCP bool `json:"mcp,omitempty"`

	prefixes []netip.Prefix // AllowIPs parsed by Check

	// Set by the store on read; a save that names Revision fails with
	// conflict when another save came between.
	Revision  int64     `json:"revision,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// CORS is a product's cross-origin policy for browsers.
type CORS struct {
	// AllowOrigins are exact origins (https://shop.example, with a port
	// when not the scheme's) or "*" for any.
	AllowOrigins []string `json:"allow_origins"`
	// AllowHeaders are request headers a browser may send besides
	// Content-Type, X-API-Key and Authorization.
	AllowHeaders []string `json:"allow_headers,omitempty"`
	MaxAge       int      `json:"max_age,omitempty"` // seconds a preflight may be cached (at most 86400)
}

// Limits of the access fields.
const (
	maxAllowIPs = 100
	maxOrigins  = 50
	maxHeaders  = 50
)

var (
	originRe = lazy.NewRegexp(`^https?://[a-z0-9.-]+(:[0-9]{1,5})?$`)
	tokenRe  = lazy.NewRegexp(`^[A-Za-z0-9!#$%&'*+.^_|~-]{1,64}$`)
)

// Version is one published version of a product. Its routes are those of
// the flow versions it pins: deploying a new version of a flow changes
// nothing here until the pin is moved.
type Version struct {
	Name   string `json:"name"`             // v1, v2, 2026-01 …
	Flows  []Pin  `json:"flows"`            // the pinned flow versions, one route each
	Status string `json:"status,omitempty"` // active (default), deprecated, retired
	// DeprecatedAt is sent as the Deprecation header (RFC 9745) once set;
	// Sunset as the Sunset header (RFC 8594). From Sunset on the version
	// answers 410 as a retired one does.
	DeprecatedAt *time.Time `json:"deprecated_at,omitempty"`
	Sunset       *time.Time `json:"sunset,omitempty"`
	Successor    string     `json:"successor,omitempty"` // the version callers should move to (Link rel=successor-version)
	// Test mode: each response is checked against its route's response
	// schema for its status, and a mismatch answers 502 with the problems.
	Test bool `json:"test,omitempty"`
}

// Pin names one flow version.
type Pin struct {
	Flow    string `json:"flow"`
	Version int    `json:"version"`
}

// Version statuses.
const (
	StatusActive     = "active"
	StatusDeprecated = "deprecated"
	StatusRetired    = "retired"
)

// Limits of a product document.
const (
	MaxVersions    = 32
	MaxPins        = 200
	MaxProductSize = 256 << 10
	maxText        = 4096
)

var (
	nameRe    = lazy.NewRegexp(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	versionRe = lazy.NewRegexp(`^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$`)
)

// CheckName refuses a product name that is not a flow-style name.
func CheckName(name string) error {
	if !nameRe.MatchString(name) {
		return weft.Errorf(weft.EInvalid, "product name %q: use lower-case letters, digits, '-' or '_' (at most 64)", clip(name, 80))
	}
	return nil
}

// Decode reads a product document (JSON, or YAML for files) within
// MaxProductSize and checks it (Check).
func Decode(data []byte) (*Product, error) {
	if len(data) > MaxProductSize {
		return nil, weft.Errorf(weft.ETooLarge, "product document is %d bytes; the limit is %d", len(data), MaxProductSize)
	}
	if err := bounded.CheckJSON("product", data, bounded.Limits{MaxBytes: MaxProductSize, MaxDepth: 32, MaxNodes: 20000}); err != nil {
		return nil, err
	}
	var p Product
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields() // a misspelt "sunset" must not pass silently
	if err := dec.Decode(&p); err != nil {
		return nil, weft.Errorf(weft.EInvalid, "product document: %v", err)
	}
	if err := p.Check(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Check validates the document itself (names, statuses, successors,
// limits); whether the pinned flows exist and publish routes that do not
// clash is Compile's to say.
func (p *Product) Check() error {
	var probs []weft.Problem
	add := func(path, format string, args ...any) {
		probs = append(probs, weft.Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	if err := CheckName(p.Name); err != nil {
		add("/name", "%s", weft.Message(err))
	}
	if len(p.Title) > maxText || len(p.Description) > maxText {
		add("/description", "title and description are at most %d bytes", maxText)
	}
	if !slices.Contains([]string{"", AuthNone, AuthAPIKey, AuthJWT, AuthHMAC}, p.Auth) {
		add("/auth", "auth must be none, api_key, jwt or hmac, got %q", clip(p.Auth, 40))
	}
	if p.MCP && p.Auth == AuthHMAC {
		add("/mcp", "an auth: hmac product cannot be offered over MCP (each call is signed by its caller; an agent's MCP client does not sign them): use api_key or jwt")
	}
	if (p.Auth == AuthJWT) != (p.JWTIssuer != "") {
		add("/jwt_issuer", "auth: jwt names its jwt_issuer (one of the server's api_jwt_issuers), and only it does")
	}
	if len(p.AllowIPs) > maxAllowIPs {
		add("/allow_ips", "%d entries; the limit is %d", len(p.AllowIPs), maxAllowIPs)
	}
	p.prefixes = parseAllowIPs(p.AllowIPs, add)
	if c := p.CORS; c != nil {
		if len(c.AllowOrigins) == 0 || len(c.AllowOrigins) > maxOrigins {
			add("/cors/allow_origins", "1 to %d origins", maxOrigins)
		}
		for i, o := range c.AllowOrigins {
			if o != "*" && !originRe.MatchString(o) {
				add(fmt.Sprintf("/cors/allow_origins/%d", i), "%q: an origin is scheme://host[:port] in lower case, without a path (or *)", clip(o, 80))
			}
		}
		if len(c.AllowHeaders) > maxHeaders {
			add("/cors/allow_headers", "at most %d headers", maxHeaders)
		}
		for i, h := range c.AllowHeaders {
			if !tokenRe.MatchString(h) {
				add(fmt.Sprintf("/cors/allow_headers/%d", i), "%q is not a header name", clip(h, 80))
			}
		}
		if c.MaxAge < 0 || c.MaxAge > 86400 {
			add("/cors/max_age", "0 to 86400 seconds")
		}
	}
	if len(p.Versions) > MaxVersions {
		add("/versions", "%d versions; the limit is %d", len(p.Versions), MaxVersions)
	}
	names := map[string]bool{}
	for i, v := range p.Versions {
		at := fmt.Sprintf("/versions/%d", i)
		if !versionRe.MatchString(v.Name) {
			add(at+"/name", "version name %q: a letter or digit, then letters, digits, '.', '_' or '-' (at most 32)", clip(v.Name, 40))
		}
		if names[v.Name] {
			add(at+"/name", "version %q appears twice", v.Name)
		}
		names[v.Name] = true
		if !slices.Contains([]string{"", StatusActive, StatusDeprecated, StatusRetired}, v.Status) {
			add(at+"/status", "status must be active, deprecated or retired, got %q", clip(v.Status, 40))
		}
		if len(v.Flows) > MaxPins {
			add(at+"/flows", "%d flows; the limit is %d", len(v.Flows), MaxPins)
		}
		seen := map[string]bool{}
		for j, pin := range v.Flows {
			pat := fmt.Sprintf("%s/flows/%d", at, j)
			if !nameRe.MatchString(pin.Flow) {
				add(pat+"/flow", "flow name %q is not a flow name", clip(pin.Flow, 80))
			}
			if pin.Version < 1 {
				add(pat+"/version", "pin a flow version (1 or more): a published version never follows deploys")
			}
			if seen[pin.Flow] {
				add(pat+"/flow", "flow %q is pinned twice in version %s", pin.Flow, v.Name)
			}
			seen[pin.Flow] = true
		}
		if v.Sunset != nil && v.DeprecatedAt != nil && v.Sunset.Before(*v.DeprecatedAt) {
			add(at+"/sunset", "sunset is before deprecated_at")
		}
	}
	for i, v := range p.Versions {
		if v.Successor == "" {
			continue
		}
		if v.Successor == v.Name || !names[v.Successor] {
			add(fmt.Sprintf("/versions/%d/successor", i), "successor %q must be another version of product %s", clip(v.Successor, 40), p.Name)
		}
	}
	if len(probs) > 0 {
		return &weft.Error{Code: weft.EInvalid, Message: fmt.Sprintf("product %q has %d problem(s)", clip(p.Name, 80), len(probs)), Problems: probs}
	}
	return nil
}

// IPAllowed reports whether a client address may call the product's
// routes (every address when AllowIPs is empty; none that cannot be
// parsed otherwise).
func (p *Product) IPAllowed(ip string) bool {
	return len(p.AllowIPs) == 0 || ipIn(p.prefixes, ip)
}

// parseAllowIPs reads an allow-list (addresses and CIDR prefixes, at most
// maxAllowIPs), reporting each bad entry at /allow_ips/i.
func parseAllowIPs(list []string, add func(path, format string, args ...any)) []netip.Prefix {
	var out []netip.Prefix
	for i, a := range list {
		if i >= maxAllowIPs {
			break
		}
		pfx, err := netip.ParsePrefix(a)
		if err != nil {
			addr, aerr := netip.ParseAddr(a)
			if aerr != nil {
				add(fmt.Sprintf("/allow_ips/%d", i), "%q is neither an address nor a CIDR prefix (10.0.0.0/8, 2001:db8::/32)", clip(a, 60))
				continue
			}
			pfx = netip.PrefixFrom(addr, addr.BitLen())
		}
		out = append(out, pfx.Masked())
	}
	return out
}

// ipIn reports whether ip is in one of prefixes (false for an address
// that cannot be parsed).
func ipIn(prefixes []netip.Prefix, ip string) bool {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, pfx := range prefixes {
		if pfx.Contains(addr) {
			return true
		}
	}
	return false
}

// AllowsOrigin reports whether the product's CORS policy admits origin.
func (c *CORS) AllowsOrigin(origin string) bool {
	for _, o := range c.AllowOrigins {
		if o == "*" || o == origin {
			return true
		}
	}
	return false
}

// NeedsKey reports whether calls need a consumer's credential (an API
// key, a JWT or an HMAC signature).
func (p *Product) NeedsKey() bool {
	return p.Auth == AuthAPIKey || p.Auth == AuthJWT || p.Auth == AuthHMAC
}

// Find returns the named version, or nil.
func (p *Product) Find(version string) *Version {
	for i := range p.Versions {
		if p.Versions[i].Name == version {
			return &p.Versions[i]
		}
	}
	return nil
}

// Retired reports whether the version answers 410 at now: retired, or
// past its sunset.
func (v *Version) Retired(now time.Time) bool {
	return v.Status == StatusRetired || (v.Sunset != nil && !now.Before(*v.Sunset))
}

// Deprecated reports whether the version carries deprecation headers.
func (v *Version) Deprecated() bool {
	return v.Status == StatusDeprecated || v.DeprecatedAt != nil || v.Sunset != nil
}

// Encode is the document as stored.
func (p *Product) Encode() ([]byte, error) {
	q := *p
	q.Revision, q.CreatedAt, q.UpdatedAt = 0, time.Time{}, time.Time{}
	return json.Marshal(q)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

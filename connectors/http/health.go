package http

import (
	"crypto/tls"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Observer receives what the connector sees of an upstream's health
// besides each call's result, for error prediction: the rate-limit
// headroom a response reports, the expiry of the connection's OAuth
// access token and of the upstream's TLS certificate, and token refresh
// failures. Headers and certificates are read, never payloads. Each func
// may be nil.
type Observer struct {
	RateLimit func(connection string, at time.Time, rl RateLimit)
	Expiry    func(connection, what string, at, notBefore, notAfter time.Time)
	Refresh   func(connection, what string, err error)
}

// RateLimit is the headroom one response reported.
type RateLimit struct {
	Policy    string    // the policy's name (IETF RateLimit), "" otherwise
	Limit     float64   // 0: not given
	Remaining float64   // calls left in the window
	Reset     time.Time // zero: not given
	// Window: the policy's window (RateLimit-Policy w=, at most a year);
	// 0: not given.
	Window time.Duration
}

// maxHeaderLen bounds the header values parsed.
const maxHeaderLen = 1024

// rateLimitHeaders are the X-RateLimit-*, RateLimit-* and X-Rate-Limit-*
// triples in their canonical form (textproto.CanonicalMIMEHeaderKey), so
// that reading them canonicalizes and concatenates nothing per response.
var rateLimitHeaders = [...]struct{ remaining, reset, limit string }{
	{"X-Ratelimit-Remaining", "X-Ratelimit-Reset", "X-Ratelimit-Limit"},
	{"Ratelimit-Remaining", "Ratelimit-Reset", "Ratelimit-Limit"},
	{"X-Rate-Limit-Remaining", "X-Rate-Limit-Reset", "X-Rate-Limit-Limit"},
}

// ParseRateLimit reads an upstream's rate-limit headers: the common
// X-RateLimit-Limit / -Remaining / -Reset (Reset in seconds from now, or a
// Unix time when it is one), the IETF draft's RateLimit-Limit /
// -Remaining / -Reset, and its structured form RateLimit: "name";r=R;t=T
// with RateLimit-Policy: "name";q=Q;w=W (or the older RateLimit:
// limit=L, remaining=R, reset=T). False when no remaining count is given.
func ParseRateLimit(h http.Header, now time.Time) (RateLimit, bool) {
	get := func(k string) string { // k is canonical: read from the map as it is
		vs := h[k]
		if len(vs) == 0 {
			return ""
		}
		v := strings.TrimSpace(vs[0])
		if len(v) > maxHeaderLen {
			return ""
		}
		return v
	}
	num := func(s string) (float64, bool) {
		if s == "" { // absent: no error built to be dropped
			return 0, false
		}
		// Some upstreams send "100, 100;w=60": the first number counts.
		if i := strings.IndexAny(s, ",;"); i >= 0 {
			s = s[:i]
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) || f > 1e15 {
			return 0, false
		}
		return f, true
	}
	reset := func(s string) time.Time {
		f, ok := num(s)
		if !ok {
			return time.Time{}
		}
		if f > 1e9 { // a Unix time
			return time.Unix(int64(f), 0).UTC()
		}
		return now.Add(time.Duration(f * float64(time.Second)))
	}
	for _, p := range rateLimitHeaders {
		rem, ok := num(get(p.remaining))
		if !ok {
			continue
		}
		rl := RateLimit{Remaining: rem, Reset: reset(get(p.reset))}
		rl.Limit, _ = num(get(p.limit))
		return rl, true
	}
	v := get("Ratelimit")
	if v == "" {
		return RateLimit{}, false
	}
	params := func(s string) (string, map[string]string) {
		m := map[string]string{}
		name := ""
		for i, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' }) {
			part = strings.TrimSpace(part)
			k, val, ok := strings.Cut(part, "=")
			if !ok {
				if i == 0 {
					name = strings.Trim(part, `"`)
				}
				continue
			}
			m[strings.ToLower(strings.TrimSpace(k))] = strings.Trim(strings.TrimSpace(val), `"`)
		}
		return name, m
	}
	name, m := params(v)
	var rl RateLimit
	if r, ok := num(m["r"]); ok { // structured: "name";r=R;t=T
		rl = RateLimit{Policy: name, Remaining: r}
		if t, ok := m["t"]; ok {
			rl.Reset = reset(t)
		}
		if pname, pm := params(get("Ratelimit-Policy")); pname == name || pname == "" {
			rl.Limit, _ = num(pm["q"])
			if w, ok := num(pm["w"]); ok && w > 0 && w <= 366*24*3600 {
				rl.Window = time.Duration(w * float64(time.Second))
			}
		}
		return rl, true
	}
	if r, ok := num(m["remaining"]); ok { // older draft: limit=L, remaining=R, reset=T
		rl = RateLimit{Remaining: r}
		rl.Limit, _ = num(m["limit"])
		if t, ok := m["reset"]; ok {
			rl.Reset = reset(t)
		}
		return rl, true
	}
	return RateLimit{}, false
}

// observe reports a response's headroom and certificate.
func (c *client) observe(connection string, resp *http.Response) {
	o := c.opts.Observe
	if o == nil || connection == "" {
		return
	}
	now := time.Now()
	if o.RateLimit != nil {
		if rl, ok := ParseRateLimit(resp.Header, now); ok {
			o.RateLimit(connection, now, rl)
		}
	}
	if o.Expiry != nil {
		if st := resp.TLS; st != nil {
			observeCert(o, connection, now, st)
		}
	}
}

func observeCert(o *Observer, connection string, now time.Time, st *tls.ConnectionState) {
	if len(st.PeerCertificates) == 0 {
		return
	}
	leaf := st.PeerCertificates[0]
	host := st.ServerName
	if host == "" && len(leaf.DNSNames) > 0 {
		host = leaf.DNSNames[0]
	}
	o.Expiry(connection, "tls certificate "+host, now, leaf.NotBefore, leaf.NotAfter)
}

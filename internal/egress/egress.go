// Package egress is Weft's one guard on outbound connections: a global
// allow list (host names, *.wildcards, IPs and CIDRs, each optionally with
// a port) checked when a connection is dialled, after DNS resolution, for
// every address actually dialled. Every outbound path (connectors, AI
// backends, traces) dials through a Policy; a nil *Policy dials as before.
//
// A dial is allowed when its destination host as named (before
// resolution) matches an entry, or when the resolved address dialled
// matches one. A name that matches nothing and resolves only to addresses
// that match nothing is refused, so DNS cannot smuggle a dial past the list.
// Redirects are covered because each hop dials anew.
package egress

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config is the egress section of the config file.
type Config struct {
	// Allow lists the destinations Weft may dial: api.example.com,
	// *.example.com, 10.1.2.3, 10.0.0.0/8, ::1, each optionally with a
	// port (api.example.com:443, [::1]:5432, 10.0.0.0/8:5432). An empty
	// list refuses every outbound dial.
	Allow []string `yaml:"allow"`
	// LogRefused logs each refused dial (default true).
	LogRefused *bool `yaml:"log_refused"`
}

// rule is one parsed allow entry.
type rule struct {
	raw    string
	name   string       // exact host name, lower case; "*" any host
	suffix string       // "*.example.com" -> ".example.com"
	prefix netip.Prefix // an IP (/32, /128) or a CIDR
	port   int          // 0: any port
}

// Resolver looks host up; tests replace it.
type Resolver func(ctx context.Context, host string) ([]netip.Addr, error)

// Policy enforces an allow list. The zero value refuses everything; a nil
// *Policy allows everything (no egress section configured).
type Policy struct {
	rules      []rule
	ipRules    bool // some entry is an IP, a CIDR or "*"
	logRefused bool
	// Resolver resolves names before they are checked and dialled
	// (default: net.DefaultResolver).
	Resolver Resolver
	// Log receives one line per refused dial (host, port, caller; never a
	// URL or credentials). Nil: slog.Default().
	Log *slog.Logger

	refused atomic.Int64
	counter *prometheus.CounterVec
	mu      sync.Mutex
	targets map[string]bool // label values seen, bounded
}

// maxTargets bounds the metric's label values; further targets count as "other".
const maxTargets = 500

// New parses c into a Policy. A nil c returns a nil Policy: no enforcement.
func New(c *Config) (*Policy, error) {
	if c == nil {
		return nil, nil
	}
	p := &Policy{logRefused: c.LogRefused == nil || *c.LogRefused, targets: map[string]bool{}}
	for i, s := range c.Allow {
		r, err := parseRule(s)
		if err != nil {
			return nil, fmt.Errorf("egress.allow[%d] %q: %v", i, s, err)
		}
		p.rules = append(p.rules, r)
		p.ipRules = p.ipRules || r.prefix.IsValid() || r.name == "*"
	}
	p.counter = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "weft_egress_refused_total",
		Help: "Outbound dials refused by the egress policy, by target (host:port)."}, []string{"target"})
	return p, nil
}

// MustNew is New for tests and literals; it panics on a bad entry.
func MustNew(allow ...string) *Policy {
	p, err := New(&Config{Allow: allow})
	if err != nil {
		panic(err)
	}
	return p
}

func parseRule(s string) (rule, error) {
	r := rule{raw: s}
	s = strings.TrimSpace(s)
	if s == "" {
		return r, errors.New("empty entry")
	}
	host := s
	// A bare IP or CIDR (IPv6 ones contain colons: no port split).
	if _, err := netip.ParseAddr(s); err != nil {
		if _, err := netip.ParsePrefix(s); err != nil {
			if h, port, err := net.SplitHostPort(s); err == nil {
				n, err := strconv.Atoi(port)
				if err != nil || n < 1 || n > 65535 {
					return r, fmt.Errorf("bad port %q", port)
				}
				host, r.port = h, n
			}
		}
	}
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1] // [::1] without a port
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return r, errors.New("zoned addresses are not supported")
		}
		a = a.Unmap()
		r.prefix = netip.PrefixFrom(a, a.BitLen())
		return r, nil
	}
	if pf, err := netip.ParsePrefix(host); err == nil {
		if pf.Addr().Is4In6() {
			if pf.Bits() < 96 {
				return r, errors.New("an IPv4-mapped CIDR needs at least /96")
			}
			pf = netip.PrefixFrom(pf.Addr().Unmap(), pf.Bits()-96)
		}
		r.prefix = pf.Masked()
		return r, nil
	}
	if strings.Contains(host, "/") {
		return r, errors.New("not a CIDR (want e.g. 10.0.0.0/8)")
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	switch {
	case host == "*":
		r.name = "*"
	case strings.HasPrefix(host, "*."):
		if !validName(host[2:]) {
			return r, errors.New("not a host name")
		}
		r.suffix = host[1:]
	case strings.Contains(host, "*"):
		return r, errors.New("a wildcard is allowed only as the first label (*.example.com)")
	default:
		if !validName(host) {
			return r, errors.New("not a host name, IP or CIDR")
		}
		r.name = host
	}
	return r, nil
}

func validName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, l := range strings.Split(h, ".") {
		if l == "" || len(l) > 63 {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

func (r rule) portOK(port int) bool { return r.port == 0 || r.port == port }

// nameAllowed: does a host name (not an IP) match an entry?
func (p *Policy) nameAllowed(host string, port int) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	for _, r := range p.rules {
		if !r.portOK(port) {
			continue
		}
		if r.name == "*" || (r.name != "" && r.name == host) || (r.suffix != "" && strings.HasSuffix(host, r.suffix)) {
			return true
		}
	}
	return false
}

// ipAllowed: does an address match an IP or CIDR entry?
func (p *Policy) ipAllowed(ip netip.Addr, port int) bool {
	ip = ip.Unmap().WithZone("")
	for _, r := range p.rules {
		if !r.portOK(port) {
			continue
		}
		if r.name == "*" || (r.prefix.IsValid() && r.prefix.Contains(ip)) {
			return true
		}
	}
	return false
}

// Enforced reports whether p restricts anything (false for nil).
func (p *Policy) Enforced() bool { return p != nil }

// Allowed reports whether host (a name or an IP) and port match an entry
// as named, without resolving. Dials are judged by DialContext, which also
// accepts a name whose resolved address matches.
func (p *Policy) Allowed(host string, port int) bool {
	if p == nil {
		return true
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if ip, err := netip.ParseAddr(host); err == nil {
		return p.ipAllowed(ip, port)
	}
	return p.nameAllowed(host, port)
}

// Check is Allowed as an error: a RefusedError, counted and logged as a
// refused dial, for callers that connect by other means than DialContext.
func (p *Policy) Check(ctx context.Context, host string, port int) error {
	if p.Allowed(host, port) {
		return nil
	}
	return p.refuse(ctx, host, port)
}

// RefusedError is returned for a dial the policy refuses.
type RefusedError struct {
	Host string
	Port int
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("egress: dial to %s refused by the egress policy", net.JoinHostPort(e.Host, strconv.Itoa(e.Port)))
}

// Temporary and Timeout make a RefusedError a net.Error that is neither:
// callers must not retry it as a network hiccup.
func (e *RefusedError) Timeout() bool   { return false }
func (e *RefusedError) Temporary() bool { return false }

// IsRefused reports whether err is (or wraps) a refusal.
func IsRefused(err error) bool {
	var re *RefusedError
	return errors.As(err, &re)
}

// Refused counts the dials refused so far.
func (p *Policy) Refused() int64 {
	if p == nil {
		return 0
	}
	return p.refused.Load()
}

// Collector is the weft_egress_refused_total counter, for /metrics
// (nil when p is nil).
func (p *Policy) Collector() prometheus.Collector {
	if p == nil {
		return nil
	}
	return p.counter
}

type callerKey struct{}

// WithCaller names who dials in ctx (a connection, a backend): it goes into
// the log line of a refused dial.
func WithCaller(ctx context.Context, who string) context.Context {
	return context.WithValue(ctx, callerKey{}, who)
}

func caller(ctx context.Context, def string) string {
	if s, ok := ctx.Value(callerKey{}).(string); ok && s != "" {
		return s
	}
	return def
}

func (p *Policy) refuse(ctx context.Context, host string, port int, resolved ...netip.Addr) error {
	p.refused.Add(1)
	target := net.JoinHostPort(host, strconv.Itoa(port))
	p.mu.Lock()
	if !p.targets[target] {
		if len(p.targets) >= maxTargets {
			target = "other"
		} else {
			p.targets[target] = true
		}
	}
	p.mu.Unlock()
	if p.counter != nil {
		p.counter.WithLabelValues(target).Inc()
	}
	if p.logRefused {
		log := p.Log
		if log == nil {
			log = slog.Default()
		}
		attrs := []any{"host", host, "port", port, "by", caller(ctx, "weft")}
		if len(resolved) > 0 {
			ips := make([]string, len(resolved))
			for i, a := range resolved {
				ips[i] = a.String()
			}
			attrs = append(attrs, "resolved", strings.Join(ips, ","))
		}
		log.Warn("egress: dial refused by the egress policy", attrs...)
	}
	return &RefusedError{Host: host, Port: port}
}

// DialFunc is the signature of net.Dialer.DialContext.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// DialContext dials through the policy with a plain net.Dialer.
func (p *Policy) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return p.Dialer("", nil)(ctx, network, addr)
}

// Dialer wraps d (nil: a zero net.Dialer; its Control hook, such as the
// HTTP connector's private-address guard, still sees every address
// dialled) in the policy. who names the dialler in refusal log lines
// unless the context names one (WithCaller). On a nil Policy it returns
// d.DialContext unchanged.
func (p *Policy) Dialer(who string, d *net.Dialer) DialFunc {
	if d == nil {
		d = &net.Dialer{}
	}
	if p == nil {
		return d.DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if strings.HasPrefix(network, "unix") {
			return d.DialContext(ctx, network, addr) // a local socket, not egress
		}
		host, ps, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		port, err := strconv.Atoi(ps)
		if err != nil {
			if port, err = net.DefaultResolver.LookupPort(ctx, network, ps); err != nil {
				return nil, err
			}
		}
		if who != "" {
			if _, ok := ctx.Value(callerKey{}).(string); !ok {
				ctx = WithCaller(ctx, who)
			}
		}
		if ip, err := netip.ParseAddr(host); err == nil {
			if !p.ipAllowed(ip, port) {
				return nil, p.refuse(ctx, host, port)
			}
			return d.DialContext(ctx, network, addr)
		}
		nameOK := p.nameAllowed(host, port)
		resolve := p.Resolver
		if resolve == nil {
			resolve = func(ctx context.Context, h string) ([]netip.Addr, error) {
				return net.DefaultResolver.LookupNetIP(ctx, "ip", h)
			}
		}
		if !nameOK && !p.ipRules {
			// Only names are listed and this is not one: refused
			// without even a DNS lookup.
			return nil, p.refuse(ctx, host, port)
		}
		addrs, err := resolve(ctx, host)
		if err != nil {
			if !nameOK {
				// An unlisted name that does not resolve could never be
				// allowed: a refusal (counted), not a network error.
				return nil, p.refuse(ctx, host, port)
			}
			return nil, err
		}
		var allowed []netip.Addr
		for _, a := range addrs {
			a = a.Unmap()
			if (network == "tcp4" || network == "udp4") && !a.Is4() || (network == "tcp6" || network == "udp6") && !a.Is6() {
				continue
			}
			if nameOK || p.ipAllowed(a, port) {
				allowed = append(allowed, a)
			}
		}
		if len(allowed) == 0 {
			return nil, p.refuse(ctx, host, port, addrs...)
		}
		var first error
		for _, a := range allowed {
			c, err := d.DialContext(ctx, network, net.JoinHostPort(a.String(), ps))
			if err == nil {
				return c, nil
			}
			if first == nil {
				first = err
			}
			if ctx.Err() != nil {
				break
			}
		}
		return nil, first
	}
}

// HTTPClient returns an HTTP client whose every dial (redirect hops
// included) goes through p, for outbound HTTP that is not a connector's:
// AI backends, trace export, key sets. On a nil Policy it is a client over
// a clone of http.DefaultTransport, as before. Under a policy no proxy is
// taken from the environment: the policy judges the real destination.
func (p *Policy) HTTPClient(who string, timeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if p != nil {
		t.Proxy = nil
		t.DialContext = p.Dialer(who, &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second})
	}
	return &http.Client{Transport: t, Timeout: timeout}
}

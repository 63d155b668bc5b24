package http

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/weftio/weft/connectors"
)

// origin is scheme://host:port with the default port filled in and the
// host lower-cased, so https://API.example.com and
// https://api.example.com:443 are one origin.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	port := u.Port()
	if port == "" {
		switch scheme {
		case "http":
			port = "80"
		case "https":
			port = "443"
		}
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return scheme + "://" + host + ":" + port
}

// sameOrigin reports whether to may receive credentials meant for from.
// The one exception to an exact match is an upgrade from http to https on
// the same host (the credential already travelled in the clear).
func sameOrigin(from, to *url.URL) bool {
	if origin(from) == origin(to) {
		return true
	}
	if strings.EqualFold(from.Scheme, "http") && strings.EqualFold(to.Scheme, "https") &&
		strings.EqualFold(strings.TrimSuffix(from.Hostname(), "."), strings.TrimSuffix(to.Hostname(), ".")) &&
		(from.Port() == "" || from.Port() == "80") && (to.Port() == "" || to.Port() == "443") {
		return true
	}
	return false
}

// hasCredentials reports whether conn would add anything secret to a
// request: auth of any kind, or headers (connection headers are treated
// as secrets everywhere else too).
func hasCredentials(conn *connectors.Connection) bool {
	return conn != nil && (conn.Auth != nil || len(conn.Headers) > 0)
}

// absolute reports whether raw starts with a URL scheme and "://"
// (http://, HTTPS://); anything else is a path relative to the base URL.
func absolute(raw string) bool {
	for i, c := range raw {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		case i > 0 && c == ':':
			return strings.HasPrefix(raw[i:], "://")
		default:
			return false
		}
	}
	return false
}

// credentials is what a request carries that must not follow a redirect
// to another origin.
type credentials struct {
	headers    []string // header names set from the connection (its headers, its auth header)
	queryParam string   // the API-key query parameter, if the key goes in the query
}

type credentialsKey struct{}

// alwaysStripped are credential headers whatever configured them.
// Referer goes too: Go sets it to the previous URL, API-key query included.
var alwaysStripped = []string{"Authorization", "Proxy-Authorization", "Cookie", "Cookie2", "X-Api-Key", "X-Auth-Token", "Api-Key", "Referer"}

// credentialHeader reports whether a header's name says it carries a
// credential (X-Tracker-Key, X-Auth-Token, Private-Token ...).
func credentialHeader(name string) bool {
	return connectors.CredentialParam(name)
}

// checkRedirect follows at most 5 redirects; on a redirect to another
// origin it removes every credential the first request carried: the
// standard headers (and Referer), the connection's own headers and auth header, any
// header named like a credential, and the API-key query parameter. The
// address guard still applies to every hop (it runs when dialling).
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errStopRedirects
	}
	first := via[0]
	if sameOrigin(first.URL, req.URL) {
		return nil
	}
	stripCredentials(req)
	return nil
}

func stripCredentials(req *http.Request) {
	for _, h := range alwaysStripped {
		req.Header.Del(h)
	}
	if c, ok := req.Context().Value(credentialsKey{}).(*credentials); ok {
		for _, h := range c.headers {
			req.Header.Del(h)
		}
		if c.queryParam != "" {
			q := req.URL.Query()
			if q.Has(c.queryParam) {
				q.Del(c.queryParam)
				req.URL.RawQuery = q.Encode()
			}
		}
	}
	for k := range req.Header {
		if credentialHeader(k) {
			req.Header.Del(k)
		}
	}
}

type redirectError string

func (e redirectError) Error() string { return string(e) }

const errStopRedirects = redirectError("stopped after 5 redirects")

// withCredentials records in ctx what the request carries, for checkRedirect.
func withCredentials(ctx context.Context, conn *connectors.Connection) context.Context {
	c := &credentials{}
	for k := range conn.Headers {
		c.headers = append(c.headers, k)
	}
	if a := conn.Auth; a != nil && a.Type == connectors.AuthAPIKey {
		if a.Query != "" {
			c.queryParam = a.Query
		} else if a.Header != "" {
			c.headers = append(c.headers, a.Header)
		}
	}
	return context.WithValue(ctx, credentialsKey{}, c)
}

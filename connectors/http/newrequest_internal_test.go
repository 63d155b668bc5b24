package http

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestNewRequestAsNetHTTP: a request built from a parsed URL is the one
// http.NewRequestWithContext builds from its string.
func TestNewRequestAsNetHTTP(t *testing.T) {
	for _, raw := range []string{
		"http://127.0.0.1:9000/orders",
		"http://example.com:/path?q=1&r=a%20b",
		"https://user:pa%3Ass@example.com/a%2Fb/c?x=%E2%82%AC#frag",
		"http://[::1]:8080/v1/items/%7Bid%7D",
		"http://[fe80::1%25eth0]/",
		"https://example.com",
		"http://example.com/ü?ä=ö",
	} {
		for _, body := range []func() io.Reader{
			func() io.Reader { return nil },
			func() io.Reader { return bytes.NewReader([]byte(`{"a":1}`)) },
			func() io.Reader { return strings.NewReader("a=b") },
		} {
			u, err := url.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			got, err := newRequest(context.Background(), "POST", u, body())
			if err != nil {
				t.Fatal(raw, err)
			}
			want, err := http.NewRequestWithContext(context.Background(), "POST", u.String(), body())
			if err != nil {
				t.Fatal(raw, err)
			}
			if got.URL.String() != want.URL.String() || got.Host != want.Host || got.Method != want.Method ||
				got.ContentLength != want.ContentLength || (got.GetBody == nil) != (want.GetBody == nil) ||
				got.URL.RequestURI() != want.URL.RequestURI() || got.Proto != want.Proto || len(got.Header) != len(want.Header) {
				t.Errorf("%s: got %s host %q len %d, want %s host %q len %d", raw, got.URL, got.Host, got.ContentLength, want.URL, want.Host, want.ContentLength)
			}
		}
	}
	u, _ := url.Parse("http://example.com/")
	if _, err := newRequest(context.Background(), "BAD METHOD", u, nil); err == nil {
		t.Error("an invalid method was accepted")
	}
}

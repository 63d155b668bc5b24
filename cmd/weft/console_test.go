package main

import "testing"

// weft serve logs where the console is: a URL a browser can open.
func TestIssue17_ConsoleURL(t *testing.T) {
	for _, c := range []struct {
		public, addr string
		https        bool
		want         string
	}{
		{"", "127.0.0.1:8080", false, "http://127.0.0.1:8080/"},
		{"", "0.0.0.0:9000", false, "http://127.0.0.1:9000/"},
		{"", "[::]:9000", false, "http://127.0.0.1:9000/"},
		{"", "[::1]:8080", false, "http://[::1]:8080/"},
		{"https://weft.example.com", "0.0.0.0:8080", false, "https://weft.example.com/"},
		{"https://weft.example.com/", "0.0.0.0:8080", false, "https://weft.example.com/"},
		{"", "0.0.0.0:8443", true, "https://127.0.0.1:8443/"}, // tls configured
		{"https://weft.example.com", "0.0.0.0:8443", true, "https://weft.example.com/"},
	} {
		if got := consoleURL(c.public, c.addr, c.https); got != c.want {
			t.Errorf("consoleURL(%q, %q) = %q, want %q", c.public, c.addr, got, c.want)
		}
	}
}

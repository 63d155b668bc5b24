package gateway

// The web console: a single-page application built from web/src and
// embedded in the binary (package web). It is served at "/" under a strict
// Content-Security-Policy: scripts and styles only from this origin, no
// inline script, no eval, no framing, and connections only back to this
// server. Everything the console does goes through /api like any other
// client, so the console adds no authority of its own.

import (
	"bytes"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// ConsoleCSP is the Content-Security-Policy of every console response.
// style-src allows 'unsafe-inline' for style attributes only through
// style-src-attr; <style> elements and inline scripts stay blocked.
const ConsoleCSP = "default-src 'none'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src 'self' blob:; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// console serves the embedded bundle: files under assets/ are content-hashed
// and cached for a year; every other path that is not a file gets
// index.html (the console routes after "#", so this is only the entry).
type console struct {
	fs    fs.FS
	index []byte
	mod   time.Time
}

func newConsole(fsys fs.FS) (*console, error) {
	index, err := fs.ReadFile(fsys, "index.html")
	if err != nil {
		return nil, err
	}
	return &console{fs: fsys, index: index, mod: time.Now()}, nil
}

func consoleHeaders(h http.Header) {
	h.Set("Content-Security-Policy", ConsoleCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}

func (c *console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	consoleHeaders(w.Header())
	p := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if p != "" && p != "index.html" {
		if st, err := fs.Stat(c.fs, p); err == nil && !st.IsDir() {
			if strings.HasPrefix(p, "assets/") {
				w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
			} else {
				w.Header().Set("Cache-Control", "no-cache")
			}
			http.ServeFileFS(w, r, c.fs, p)
			return
		}
		if strings.HasPrefix(p, "assets/") || path.Ext(p) != "" {
			http.NotFound(w, r)
			return
		}
	}
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	http.ServeContent(w, r, "index.html", c.mod, bytes.NewReader(c.index))
}

// Command consolesize measures a web console's first load: the JS and CSS an
// index.html pulls in before anything else happens (module scripts,
// stylesheets and modulepreload links), raw and gzipped, and the total of
// every JS and CSS file in the bundle (what lazy chunks add at most).
//
//	go run ./bench/consolesize                 # Weft's embedded console (web/dist)
//	go run ./bench/consolesize DIR [DIR...]    # any built bundle, e.g. n8n-editor-ui's dist/
//
// Gzip is Go's compress/gzip at its default level (6), the level Vite's
// report and most servers use.
package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/weftio/weft/web"
)

var refRe = regexp.MustCompile(`<(?:script|link)\b[^>]*?(?:src|href)="([^"]+\.(?:js|mjs|css))"`)

type sizes struct{ files, raw, gz int }

func (s *sizes) add(b []byte) {
	s.files++
	s.raw += len(b)
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	_, _ = w.Write(b)
	_ = w.Close()
	s.gz += buf.Len()
}

func measure(name string, fsys fs.FS) error {
	index, err := fs.ReadFile(fsys, "index.html")
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	var first sizes
	seen := map[string]bool{}
	for _, m := range refRe.FindAllSubmatch(index, -1) {
		ref := string(m[1])
		if strings.HasPrefix(ref, "http:") || strings.HasPrefix(ref, "https:") || strings.HasPrefix(ref, "//") {
			continue
		}
		// Placeholders a server fills in (n8n's /{{BASE_PATH}}/) and the leading slash.
		ref = strings.TrimPrefix(strings.ReplaceAll(ref, "{{BASE_PATH}}/", ""), "/")
		ref = strings.TrimPrefix(path.Clean("/"+ref), "/")
		if seen[ref] {
			continue
		}
		seen[ref] = true
		b, err := fs.ReadFile(fsys, ref)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: index.html names %s, not in the bundle: %v\n", name, ref, err)
			continue
		}
		first.add(b)
	}
	var all sizes
	var paths []string
	_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(p, ".js") || strings.HasSuffix(p, ".mjs") || strings.HasSuffix(p, ".css")) {
			paths = append(paths, p)
		}
		return nil
	})
	sort.Strings(paths)
	for _, p := range paths {
		b, err := fs.ReadFile(fsys, p)
		if err == nil {
			all.add(b)
		}
	}
	fmt.Printf("%-28s first load: %4d files %9.1f KB raw %8.1f KB gzip | whole bundle: %5d files %9.1f KB raw %8.1f KB gzip\n",
		name, first.files, kb(first.raw), kb(first.gz), all.files, kb(all.raw), kb(all.gz))
	return nil
}

func kb(n int) float64 { return float64(n) / 1024 }

func main() {
	args := os.Args[1:]
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Println("usage: consolesize [DIST_DIR...]  (no argument: Weft's embedded console)")
		return
	}
	failed := false
	if len(args) == 0 {
		if err := measure("weft (embedded web/dist)", web.Dist()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			failed = true
		}
	}
	for _, d := range args {
		if err := measure(d, os.DirFS(d)); err != nil {
			fmt.Fprintln(os.Stderr, err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

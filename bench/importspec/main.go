// Command importspec imports OpenAPI/Swagger files the way `weft connector
// import` does and prints one report line per file: operations imported,
// rejected (with reasons under -v), and the time the import took.
//
//	go run ./bench/importspec [-v] FILE...
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	httpconn "github.com/weftio/weft/connectors/http"
	"github.com/weftio/weft/connectors/openapi"
)

func main() {
	verbose := flag.Bool("v", false, "list rejected operations")
	flag.Parse()
	req := httpconn.New(httpconn.Options{}).Operations[0]
	failed := false
	for _, f := range flag.Args() {
		data, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			failed = true
			continue
		}
		name := strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
				return r
			}
			return '_'
		}, strings.ToLower(strings.TrimSuffix(filepath.Base(f), filepath.Ext(f))))
		_, rep, err := openapi.Import(name, data, req)
		if err != nil {
			fmt.Printf("%s: error: %v\n", f, err)
			failed = true
			continue
		}
		// Baseline: kin-openapi parsing and resolving the same document.
		t := time.Now()
		if _, err := openapi.Load(data); err != nil {
			fmt.Printf("%s: load error: %v\n", f, err)
		}
		load := time.Since(t)
		fmt.Printf("%s: %s %q %s, %.1f MB, imported=%d rejected=%d time=%s load-only=%s\n", filepath.Base(f), rep.SourceKind, rep.Title, rep.Version,
			float64(len(data))/1e6, rep.Imported, len(rep.Rejected), rep.Duration.Round(1e6), load.Round(1e6))
		if *verbose {
			for _, r := range rep.Rejected {
				fmt.Printf("  rejected %s: %s\n", r.Operation, r.Reason)
			}
		}
	}
	if failed {
		os.Exit(1)
	}
}

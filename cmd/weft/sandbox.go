package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/connectors/graphql"
	"github.com/weftio/weft/connectors/importer"
	"github.com/weftio/weft/connectors/odata"
	"github.com/weftio/weft/connectors/sandbox"
	"github.com/weftio/weft/connectors/soap"
	"github.com/weftio/weft/internal/bounded"
)

// sandboxCmd serves stateful simulators of OpenAPI and OData documents, GraphQL schemas and WSDLs, each under
// /NAME/ (NAME: the file name without its extension, or --name for one).
func sandboxCmd(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:9100", "listen address")
	name := fs.String("name", "", "path prefix for a single spec (default: its file name)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return weft.Errorf(weft.EInvalid, "weft sandbox SPEC... [--addr 127.0.0.1:9100]: serve a simulator of each OpenAPI or OData document, GraphQL schema or WSDL under /sandbox/NAME/")
	}
	if *name != "" && len(pos) > 1 {
		return weft.Errorf(weft.EInvalid, "--name works with one spec")
	}
	boxes, err := loadSandboxes(pos, *name)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return weft.Errorf(weft.EUnavailable, "listen on %s: %v", *addr, err)
	}
	for _, b := range boxes {
		fmt.Fprintf(stdout, "sandbox %s: http://%s%s\n", b.Name, ln.Addr(), sandbox.Prefix(b.Name))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Handler: mountSandboxes(boxes), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(c)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// simBox is one simulator: an OpenAPI, GraphQL or WSDL sandbox.
type simBox struct {
	Name string
	http.Handler
	// Exact: also served at the prefix itself (a SOAP endpoint is one URL).
	Exact bool
}

// mountSandboxes serves each box under sandbox.Prefix(name).
func mountSandboxes(boxes []simBox) http.Handler {
	mux := http.NewServeMux()
	var names []string
	for _, b := range boxes {
		mux.Handle(sandbox.Prefix(b.Name)+"/", http.StripPrefix(sandbox.Prefix(b.Name), b.Handler))
		if b.Exact {
			mux.Handle(sandbox.Prefix(b.Name), b.Handler)
		}
		names = append(names, sandbox.Prefix(b.Name)+"/")
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(map[string]any{"code": "not_found", "message": "sandboxes are served under " + strings.Join(names, ", ")})
	})
	return mux
}

// loadSandboxes builds a simulator per spec file (globs allowed), seeded
// from NAME.seed.json beside the spec when there is one: for an OpenAPI
// document {"/collection": [records]}, for a GraphQL schema {"Type":
// [objects]}.
func loadSandboxes(patterns []string, name string) ([]simBox, error) {
	var files []string
	for _, p := range patterns {
		if strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://") {
			files = append(files, p)
			continue
		}
		m, err := filepath.Glob(p)
		if err != nil || len(m) == 0 {
			return nil, weft.Errorf(weft.EInvalid, "sandbox spec %s: no such file", p)
		}
		files = append(files, m...)
	}
	var boxes []simBox
	for _, p := range files {
		if strings.HasSuffix(p, ".seed.json") || strings.HasSuffix(p, ".xsd") {
			continue
		}
		spec, err := readSpec(p)
		if err != nil {
			return nil, err
		}
		n := name
		if n == "" {
			n = strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
		}
		seedFile := strings.TrimSuffix(p, filepath.Ext(p)) + ".seed.json"
		var seed map[string][]map[string]any
		if data, err := os.ReadFile(seedFile); err == nil {
			if err := bounded.UnmarshalJSON(seedFile, data, &seed, bounded.Limits{}); err != nil {
				return nil, err
			}
		}
		if odata.Sniff(spec) {
			o, err := odata.NewSandbox(n, spec)
			if err != nil {
				return nil, weft.Errorf(weft.EUnprocessable, "%s: %v", p, err)
			}
			if seed != nil {
				if err := o.Seed(seed); err != nil {
					return nil, weft.Errorf(weft.EUnprocessable, "%s: %v", seedFile, err)
				}
			}
			boxes = append(boxes, simBox{Name: n, Handler: o})
			continue
		}
		if importer.Kind(spec) == importer.KindGraphQL {
			g, err := graphql.NewSandbox(n, spec)
			if err != nil {
				return nil, weft.Errorf(weft.EUnprocessable, "%s: %v", p, err)
			}
			for _, t := range sortedKeys(seed) {
				if err := g.Seed(t, seed[t]); err != nil {
					return nil, weft.Errorf(weft.EUnprocessable, "%s: %v", seedFile, err)
				}
			}
			boxes = append(boxes, simBox{Name: n, Handler: g})
			continue
		}
		if soap.IsWSDL(spec) {
			set := map[string][]byte{}
			if !strings.Contains(p, "://") {
				xsds, _ := filepath.Glob(filepath.Join(filepath.Dir(p), "*.xsd"))
				wsdls, _ := filepath.Glob(filepath.Join(filepath.Dir(p), "*.wsdl"))
				for _, x := range append(xsds, wsdls...) {
					if x == p {
						continue
					}
					if data, err := os.ReadFile(x); err == nil {
						set[filepath.Base(x)] = data
					}
				}
			}
			b, err := soap.NewSandbox(n, spec, soap.Options{Files: set})
			if err != nil {
				return nil, weft.Errorf(weft.EUnprocessable, "%s: %v", p, err)
			}
			boxes = append(boxes, simBox{Name: n, Handler: b, Exact: true})
			continue
		}
		b, err := sandbox.New(n, spec)
		if err != nil {
			return nil, weft.Errorf(weft.EUnprocessable, "%s: %v", p, err)
		}
		if seed != nil {
			if err := b.Seed(seed); err != nil {
				return nil, weft.Errorf(weft.EUnprocessable, "%s: %v", seedFile, err)
			}
		}
		boxes = append(boxes, simBox{Name: n, Handler: b})
	}
	return boxes, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

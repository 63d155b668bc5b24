package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/connectors/odata"
	"github.com/weftio/weft/connectors/sandbox"
	"github.com/weftio/weft/internal/bounded"
)

// sandboxCmd serves stateful simulators of OpenAPI and OData documents, each under
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
		return weft.Errorf(weft.EInvalid, "weft sandbox SPEC... [--addr 127.0.0.1:9100]: serve a simulator of each OpenAPI or OData $metadata document under /NAME/")
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
	srv := &http.Server{Handler: mountSimulators(boxes), ReadHeaderTimeout: 10 * time.Second}
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

// simulator is one sandbox: an OpenAPI document's or an OData service's.
type simulator struct {
	Name string
	http.Handler
}

// mountSimulators serves each simulator under sandbox.Prefix(its name).
func mountSimulators(sims []simulator) http.Handler {
	var openapiBoxes []*sandbox.Sandbox
	mux := http.NewServeMux()
	for _, s := range sims {
		if b, ok := s.Handler.(*sandbox.Sandbox); ok {
			openapiBoxes = append(openapiBoxes, b)
			continue
		}
		mux.Handle(sandbox.Prefix(s.Name)+"/", http.StripPrefix(sandbox.Prefix(s.Name), s.Handler))
	}
	mux.Handle("/", sandbox.Mount(openapiBoxes...))
	return mux
}

// loadSandboxes builds a simulator per spec file (globs allowed): an
// OData service for a $metadata document, else an OpenAPI API; seeded
// from NAME.seed.json beside the spec when there is one.
func loadSandboxes(patterns []string, name string) ([]simulator, error) {
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
	var boxes []simulator
	for _, p := range files {
		if strings.HasSuffix(p, ".seed.json") {
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
		var b interface {
			http.Handler
			Seed(map[string][]map[string]any) error
		}
		if odata.Sniff(spec) {
			b, err = odata.NewSandbox(n, spec)
		} else {
			b, err = sandbox.New(n, spec)
		}
		if err != nil {
			return nil, weft.Errorf(weft.EUnprocessable, "%s: %v", p, err)
		}
		seedFile := strings.TrimSuffix(p, filepath.Ext(p)) + ".seed.json"
		if data, err := os.ReadFile(seedFile); err == nil {
			var seed map[string][]map[string]any
			if err := bounded.UnmarshalJSON(seedFile, data, &seed, bounded.Limits{}); err != nil {
				return nil, err
			}
			if err := b.Seed(seed); err != nil {
				return nil, weft.Errorf(weft.EUnprocessable, "%s: %v", seedFile, err)
			}
		}
		boxes = append(boxes, simulator{Name: n, Handler: b})
	}
	return boxes, nil
}

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
	"github.com/weftio/weft/connectors/sandbox"
	"github.com/weftio/weft/connectors/soap"
	"github.com/weftio/weft/internal/bounded"
)

// sandboxCmd serves stateful simulators of OpenAPI documents and WSDLs, each under
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
		return weft.Errorf(weft.EInvalid, "weft sandbox SPEC... [--addr 127.0.0.1:9100]: serve a simulator of each OpenAPI document or WSDL under /sandbox/NAME/")
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
	for _, n := range boxes.names() {
		fmt.Fprintf(stdout, "sandbox %s: http://%s%s\n", n, ln.Addr(), sandbox.Prefix(n))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Handler: boxes.mount(), ReadHeaderTimeout: 10 * time.Second}
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

// sandboxes are the simulators of OpenAPI documents and of WSDLs.
type sandboxes struct {
	openapi []*sandbox.Sandbox
	soap    []*soap.Sandbox
}

func (b sandboxes) names() []string {
	var out []string
	for _, x := range b.openapi {
		out = append(out, x.Name)
	}
	for _, x := range b.soap {
		out = append(out, x.Name)
	}
	return out
}

// mount serves every sandbox under /sandbox/NAME/.
func (b sandboxes) mount() http.Handler {
	rest := sandbox.Mount(b.openapi...)
	if len(b.soap) == 0 {
		return rest
	}
	mux := http.NewServeMux()
	for _, x := range b.soap {
		mux.Handle(sandbox.Prefix(x.Name)+"/", http.StripPrefix(sandbox.Prefix(x.Name), x))
		mux.Handle(sandbox.Prefix(x.Name), x)
	}
	mux.Handle("/", rest)
	return mux
}

// loadSandboxes builds a simulator per spec file (globs allowed): an
// OpenAPI document's seeded from NAME.seed.json beside it when there is
// one; a WSDL's with the .xsd and .wsdl files beside it as its
// document set (never fetched).
func loadSandboxes(patterns []string, name string) (sandboxes, error) {
	var out sandboxes
	var files []string
	for _, p := range patterns {
		if strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://") {
			files = append(files, p)
			continue
		}
		m, err := filepath.Glob(p)
		if err != nil || len(m) == 0 {
			return out, weft.Errorf(weft.EInvalid, "sandbox spec %s: no such file", p)
		}
		files = append(files, m...)
	}
	for _, p := range files {
		if strings.HasSuffix(p, ".seed.json") || strings.HasSuffix(p, ".xsd") {
			continue
		}
		spec, err := readSpec(p)
		if err != nil {
			return out, err
		}
		n := name
		if n == "" {
			n = strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
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
				return out, weft.Errorf(weft.EUnprocessable, "%s: %v", p, err)
			}
			out.soap = append(out.soap, b)
			continue
		}
		b, err := sandbox.New(n, spec)
		if err != nil {
			return out, weft.Errorf(weft.EUnprocessable, "%s: %v", p, err)
		}
		seedFile := strings.TrimSuffix(p, filepath.Ext(p)) + ".seed.json"
		if data, err := os.ReadFile(seedFile); err == nil {
			var seed map[string][]map[string]any
			if err := bounded.UnmarshalJSON(seedFile, data, &seed, bounded.Limits{}); err != nil {
				return out, err
			}
			if err := b.Seed(seed); err != nil {
				return out, weft.Errorf(weft.EUnprocessable, "%s: %v", seedFile, err)
			}
		}
		out.openapi = append(out.openapi, b)
	}
	return out, nil
}

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
)

// sandboxCmd serves stateful simulators of OpenAPI documents, each under
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
		return weft.Errorf(weft.EInvalid, "weft sandbox SPEC... [--addr 127.0.0.1:9100]: serve a simulator of each OpenAPI document under /NAME/")
	}
	if *name != "" && len(pos) > 1 {
		return weft.Errorf(weft.EInvalid, "--name works with one spec")
	}
	var boxes []*sandbox.Sandbox
	for _, p := range pos {
		spec, err := readSpec(p)
		if err != nil {
			return err
		}
		n := *name
		if n == "" {
			n = strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
		}
		b, err := sandbox.New(n, spec)
		if err != nil {
			return weft.Errorf(weft.EUnprocessable, "%s: %v", p, err)
		}
		boxes = append(boxes, b)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return weft.Errorf(weft.EUnavailable, "listen on %s: %v", *addr, err)
	}
	for _, b := range boxes {
		fmt.Fprintf(stdout, "sandbox %s: http://%s/%s\n", b.Name, ln.Addr(), b.Name)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Handler: sandbox.Mount(boxes...), ReadHeaderTimeout: 10 * time.Second}
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

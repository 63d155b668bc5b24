package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/mark3labs/mcp-go/server"

	"github.com/weftio/weft"
	"github.com/weftio/weft/mcp"
)

func mcpCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "--stdio" || args[0] == "-stdio" || args[0] == "stdio") {
		return mcpStdio(args[1:], stderr)
	}
	if len(args) == 0 {
		return weft.Errorf(weft.EInvalid, "weft mcp --stdio | toolsets | keys create|list|revoke")
	}
	switch args[0] {
	case "toolsets":
		fs, server, asJSON := newFlagSet("mcp toolsets")
		if _, err := parseArgs(fs, args[1:]); err != nil {
			return err
		}
		c := newClient(*server, *asJSON, stdout)
		return c.list("/api/mcp/toolsets", "toolsets", col{"NAME", "name"}, col{"NAMESPACE", "namespace"}, col{"PATH", "path"}, col{"TOOLS", "tools"}, col{"DESCRIPTION", "description"})
	case "keys":
		if len(args) < 2 {
			return weft.Errorf(weft.EInvalid, "weft mcp keys create NAME --scopes TOOLSET[,..] [--rate N] | list | revoke ID")
		}
		fs, srv, asJSON := newFlagSet("mcp keys " + args[1])
		scopes := fs.String("scopes", "", `comma-separated toolsets ("*" for all) and tool:<glob> entries`)
		rpm := fs.Int("rate", 0, "requests a minute (0: unlimited)")
		keyNS := fs.String("namespace", "default", "the namespace whose toolsets the key may call")
		pos, err := parseArgs(fs, args[2:])
		if err != nil {
			return err
		}
		c := newClient(*srv, *asJSON, stdout)
		switch args[1] {
		case "list":
			return c.list("/api/mcp/keys", "keys", col{"ID", "id"}, col{"NAME", "name"}, col{"NAMESPACE", "namespace"}, col{"SCOPES", "scopes"}, col{"RATE/MIN", "rate_per_min"}, col{"CREATED", "created_at"}, col{"REVOKED", "revoked_at"})
		case "create":
			if len(pos) != 1 || *scopes == "" {
				return weft.Errorf(weft.EInvalid, "weft mcp keys create NAME --scopes TOOLSET[,TOOLSET|*|tool:GLOB...] [--rate N]")
			}
			var sc []string
			for _, s := range strings.Split(*scopes, ",") {
				if s = strings.TrimSpace(s); s != "" {
					sc = append(sc, s)
				}
			}
			body := fmt.Sprintf(`{"name":%q,"namespace":%q,"scopes":%s,"rate_per_min":%d}`, pos[0], *keyNS, mustJSONString(sc), *rpm)
			var res map[string]any
			if err := c.do("POST", "/api/mcp/keys", []byte(body), &res); err != nil {
				return err
			}
			if c.json {
				c.printJSON(res)
				return nil
			}
			k, _ := res["key"].(map[string]any)
			fmt.Fprintf(stdout, "API key %s (%s) created in namespace %s, scopes %s.\nSecret (shown once; give it to the agent as a bearer token):\n%s\n", str(k["id"]), str(k["name"]), str(k["namespace"]), str(k["scopes"]), str(res["secret"]))
			return nil
		case "revoke":
			if len(pos) != 1 {
				return weft.Errorf(weft.EInvalid, "weft mcp keys revoke ID")
			}
			if err := c.do("DELETE", "/api/mcp/keys/"+url.PathEscape(pos[0]), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "API key %s revoked\n", pos[0])
			return nil
		}
	}
	return weft.Errorf(weft.EInvalid, "weft mcp: unknown verb %q", args[0])
}

func mustJSONString(v []string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, s := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q", s)
	}
	b.WriteByte(']')
	return b.String()
}

// mcpStdio serves one toolset over stdin/stdout for local clients (Claude
// Desktop, IDEs), on the same store and configuration as weft serve.
func mcpStdio(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("mcp --stdio", flag.ContinueOnError)
	toolset := fs.String("toolset", mcp.ToolsetAll, "toolset to serve")
	dataDir := fs.String("data-dir", "", "data directory (as for weft serve)")
	cfgPath := fs.String("config", "", "config file (as for weft serve)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*cfgPath, os.Environ())
	if err != nil {
		return weft.Errorf(weft.EInvalid, "%v", err)
	}
	if *dataDir != "" {
		cfg.DataDir = *dataDir
	}
	if err := cfg.expandSelf(); err != nil { // ${self}: the address weft serve listens on
		return weft.Errorf(weft.EInvalid, "config: %v", err)
	}
	log := newLogger(cfg.LogFormat, cfg.LogLevel, stderr) // stdout is the protocol
	if cfg.egress != nil {
		cfg.egress.Log = log
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, eng, err := openCore(ctx, cfg, log, nil, nil, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	defer cfg.fed.Close()
	defer func() {
		// Agent calls are logged behind their answers: write the last ones.
		fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = eng.FlushToolLog(fctx)
	}()
	if err := deployAtStart(ctx, eng, cfg.Deploy, log); err != nil {
		return err
	}
	emb, composer, err := aiBackends(eng, cfg.AI, cfg.egress)
	if err != nil {
		return err
	}
	gw := mcp.New(eng, log, mcp.Config{Federation: cfg.fed, Toolsets: cfg.MCP.Toolsets, Policy: cfg.MCP.Policy, Version: version, Refresh: 2 * time.Second, Composer: composer, MaxArgBytes: cfg.MCP.MaxArgBytes,
		Search: mcpSearch(emb, composer)})
	go gw.Run(ctx)
	srv, ok := gw.Server(*toolset)
	if !ok {
		return weft.Errorf(weft.EInvalid, "no toolset named %q", *toolset)
	}
	return server.NewStdioServer(srv).Listen(ctx, os.Stdin, os.Stdout)
}

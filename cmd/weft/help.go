package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/weftio/weft"
)

// helpError is what flag parsing returns for -h / --help: not a failure,
// the caller prints the command's usage and its flags and exits 0.
type helpError struct{ fs *flag.FlagSet }

func (h *helpError) Error() string { return "help requested" }

// parseFlags parses fs quietly; -h/--help becomes a *helpError, anything
// else an invalid-argument error.
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return &helpError{fs}
		}
		return weft.Errorf(weft.EInvalid, "%v", err)
	}
	return nil
}

func isHelpFlag(s string) bool {
	switch s {
	case "-h", "--h", "-help", "--help":
		return true
	}
	return false
}

// aliases are the other spellings dispatch accepts for a command.
var aliases = map[string]string{"flows": "flow", "run": "runs", "connectors": "connector", "connections": "connection", "--version": "version", "user": "users", "service-account": "service-accounts", "namespace": "namespaces", "product": "products", "plan": "plans", "consumer": "consumers"}

// helpRequest reports whether args ask for help: -h/--help anywhere before
// "--", or the word help as the command or right after it (weft help flow,
// weft flow help). path is the words naming what: the command and any verbs
// before the first flag (empty: the whole CLI).
func helpRequest(args []string) (path []string, ok bool) {
	if len(args) == 0 {
		return nil, false
	}
	if args[0] == "help" || isHelpFlag(args[0]) {
		return words(args[1:]), true
	}
	if len(args) > 1 && args[1] == "help" {
		return append([]string{args[0]}, words(args[2:])...), true
	}
	for _, a := range args[1:] {
		if a == "--" {
			return nil, false
		}
		if isHelpFlag(a) {
			return words(args), true
		}
	}
	return nil, false
}

// words are the leading arguments that are not flags (--stdio counts as a
// word: it selects mcp's stdio mode).
func words(args []string) []string {
	var w []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") && a != "--stdio" {
			break
		}
		w = append(w, a)
	}
	return w
}

// printHelp prints the usage lines of the command named by path[0] and the
// flags its verb (path[1:]) accepts; an empty path prints the whole usage.
func printHelp(path []string, stdout io.Writer) error {
	if len(path) == 0 {
		_, err := fmt.Fprint(stdout, usage)
		return err
	}
	cmd := path[0]
	if a, ok := aliases[cmd]; ok {
		cmd = a
	}
	var lines []string
	for _, l := range strings.Split(usage, "\n") {
		if t := strings.TrimSpace(l); t == "weft "+cmd || strings.HasPrefix(t, "weft "+cmd+" ") {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return weft.Errorf(weft.EInvalid, "unknown command %q (see weft help)", path[0])
	}
	fmt.Fprintln(stdout, "Usage:")
	fmt.Fprintln(stdout, strings.Join(lines, "\n"))
	// The flags: run the command's own flag parsing with --help only (it
	// parses before it does anything, so nothing runs and nothing is sent).
	var he *helpError
	err := dispatch(cmd, append(append([]string{}, path[1:]...), "--help"), io.Discard, io.Discard)
	if errors.As(err, &he) {
		var b strings.Builder
		he.fs.VisitAll(func(f *flag.Flag) {
			name, use := flag.UnquoteUsage(f)
			fmt.Fprintf(&b, "  --%s", f.Name)
			if name != "" {
				fmt.Fprintf(&b, " %s", name)
			}
			fmt.Fprintf(&b, "\n        %s", use)
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
				fmt.Fprintf(&b, " (default %s)", f.DefValue)
			}
			b.WriteByte('\n')
		})
		if b.Len() > 0 {
			fmt.Fprintf(stdout, "\nFlags of weft %s:\n%s", strings.Join(append([]string{cmd}, path[1:]...), " "), b.String())
		}
	}
	local := cmd == "serve" || cmd == "sandbox" || cmd == "anomaly" || cmd == "version"
	if he != nil {
		local = he.fs.Lookup("server") == nil // e.g. mcp --stdio
	}
	if !local {
		fmt.Fprintln(stdout, "\nThe CLI talks to a running server: --server or WEFT_SERVER (default http://127.0.0.1:8080),\nwith WEFT_API_TOKEN if the server requires one; over https WEFT_CA_FILE (the server's CA),\nWEFT_CLIENT_CERT and WEFT_CLIENT_KEY (mutual TLS).")
	}
	return nil
}

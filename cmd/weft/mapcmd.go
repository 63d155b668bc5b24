package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/weftio/weft"
)

// schemaArg turns --source/--target into a request side: a file (field
// list, JSON Schema, sample payload or .csv) or table:CONNECTION.TABLE.
func schemaArg(arg string) (map[string]any, error) {
	if strings.HasPrefix(arg, "table:") {
		spec := strings.TrimPrefix(arg, "table:")
		conn, table, ok := strings.Cut(spec, ".")
		if !ok {
			return nil, weft.Errorf(weft.EInvalid, "table:%s: want table:CONNECTION.TABLE", spec)
		}
		return map[string]any{"connection": conn, "table": table}, nil
	}
	data, err := os.ReadFile(arg)
	if err != nil {
		return nil, weft.Errorf(weft.EInvalid, "%v", err)
	}
	name := strings.TrimSuffix(arg[strings.LastIndex(arg, "/")+1:], ".json")
	if strings.HasSuffix(arg, ".csv") {
		return map[string]any{"name": name, "csv": string(data)}, nil
	}
	if !json.Valid(data) {
		return nil, weft.Errorf(weft.EInvalid, "%s is not JSON (field list, JSON Schema or sample payload) nor .csv", arg)
	}
	return map[string]any{"name": name, "doc": json.RawMessage(data)}, nil
}

func mapCmd(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return weft.Errorf(weft.EInvalid, "weft map suggest|list|show|accept|reject|edit|export")
	}
	fs, server, asJSON := newFlagSet("map " + args[0])
	source := fs.String("source", "", "source schema: a file or table:CONNECTION.TABLE")
	target := fs.String("target", "", "target schema: a file or table:CONNECTION.TABLE")
	name := fs.String("name", "", "mapping name")
	ns := fs.String("namespace", "default", "suggest: the namespace that owns the mapping (a table's connection must be its)")
	top := fs.Int("top", 5, "candidates per source field")
	all := fs.Bool("all", false, "accept or reject every proposed item")
	expr := fs.String("expr", "", "edit: the CEL expression over src")
	sources := fs.String("sources", "", "edit: comma-separated source fields the expression reads")
	reviewer := fs.String("reviewer", os.Getenv("USER"), "who reviews")
	note := fs.String("note", "", "review note")
	root := fs.String("root", "trigger.body", "export: the expression holding the source record")
	step := fs.String("step", "mapped", "export: the set step's id")
	save := fs.Bool("save", false, "suggest: store the suggestion on the server for review (default: computed here and printed, no server needed)")
	cfgPath := fs.String("config", "", "suggest: a weft.yaml whose ai section (llm, llm_url, llm_model) and egress policy the local re-ranker uses")
	llm := fs.String("llm", "", "suggest: builtin, ollama or openai: a language model re-ranks the top candidates (default: the --config file's ai.llm, else none)")
	llmURL := fs.String("llm-url", "", "suggest: the model server (ollama: http://127.0.0.1:11434; openai: e.g. http://127.0.0.1:8000/v1)")
	llmModel := fs.String("llm-model", "", "suggest: the model name")
	pos, err := parseArgs(fs, args[1:])
	if err != nil {
		return err
	}
	c := newClient(*server, *asJSON, stdout)
	// show sends a request answered with a mapping and prints it.
	show := func(method, path string, body []byte) error {
		var m map[string]any
		if err := c.do(method, path, body, &m); err != nil {
			return err
		}
		if c.json {
			c.printJSON(m)
			return nil
		}
		printMapping(stdout, m)
		return nil
	}
	switch args[0] {
	case "suggest":
		if *source == "" || *target == "" {
			return weft.Errorf(weft.EInvalid, "weft map suggest --source A --target B [--top 5] [--json] [--save] [--llm ollama|openai --llm-url U --llm-model M | --config weft.yaml]")
		}
		table := strings.HasPrefix(*source, "table:") || strings.HasPrefix(*target, "table:")
		if !*save && !table {
			return suggestLocal(c, stdout, localSuggest{source: *source, target: *target, name: *name, namespace: *ns, top: *top,
				config: *cfgPath, llm: *llm, llmURL: *llmURL, llmModel: *llmModel})
		}
		if *llm != "" || *llmURL != "" || *llmModel != "" || *cfgPath != "" {
			return weft.Errorf(weft.EInvalid, "--llm, --llm-url, --llm-model and --config choose the local re-ranker; with --save or a table: side the server suggests with its own ai settings")
		}
		src, err := schemaArg(*source)
		if err != nil {
			return err
		}
		tgt, err := schemaArg(*target)
		if err != nil {
			return err
		}
		body, _ := json.Marshal(map[string]any{"name": *name, "namespace": *ns, "source": src, "target": tgt, "top": *top, "preview": !*save})
		err = show("POST", "/api/mappings", body)
		if table && weft.Code(err) == weft.EUnavailable {
			return weft.Errorf(weft.EUnavailable, "a table: side is read through the server's database connection, so it needs the server: %s", weft.Message(err))
		}
		return err
	case "list":
		return c.list("/api/mappings", "mappings", col{"ID", "id"}, col{"NAME", "name"}, col{"NAMESPACE", "namespace"}, col{"ITEMS", "items"}, col{"ACCEPTED", "accepted"}, col{"REJECTED", "rejected"}, col{"PROPOSED", "proposed"})
	case "show":
		if len(pos) != 1 {
			return weft.Errorf(weft.EInvalid, "weft map show ID")
		}
		return show("GET", "/api/mappings/"+url.PathEscape(pos[0]), nil)
	case "accept", "reject", "edit":
		if len(pos) < 1 || (len(pos) < 2 && !*all) {
			return weft.Errorf(weft.EInvalid, "weft map %s ID TARGET... | --all", args[0])
		}
		id := pos[0]
		targets := pos[1:]
		if *all {
			targets = []string{"*"}
		}
		var reviews []map[string]any
		for _, t := range targets {
			r := map[string]any{"target": t, "action": args[0], "reviewer": *reviewer, "note": *note}
			if args[0] == "edit" {
				r["expr"] = *expr
				if *sources != "" {
					r["sources"] = strings.Split(*sources, ",")
				}
			}
			reviews = append(reviews, r)
		}
		body, _ := json.Marshal(reviews)
		return show("POST", "/api/mappings/"+url.PathEscape(id)+"/reviews", body)
	case "export":
		if len(pos) != 1 {
			return weft.Errorf(weft.EInvalid, "weft map export ID [--root trigger.body] [--step mapped]")
		}
		var raw json.RawMessage // the YAML of the set step
		if err := c.do("GET", "/api/mappings/"+url.PathEscape(pos[0])+"/export?root="+url.QueryEscape(*root)+"&step="+url.QueryEscape(*step), nil, &raw); err != nil {
			return err
		}
		fmt.Fprint(stdout, string(raw))
		return nil
	}
	return weft.Errorf(weft.EInvalid, "weft map: unknown verb %q", args[0])
}

func printMapping(w io.Writer, m map[string]any) {
	if id := str(m["id"]); id != "" {
		fmt.Fprintf(w, "mapping %s: %s\n", id, str(m["name"]))
	} else {
		fmt.Fprintf(w, "mapping (not stored): %s\n", str(m["name"]))
	}
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tFROM\tCONF\tSTATUS\tEXPR\tREASON")
	items := anyList(m["items"])
	sort.Slice(items, func(i, j int) bool {
		a, _ := items[i].(map[string]any)
		b, _ := items[j].(map[string]any)
		return fmt.Sprint(a["target"]) < fmt.Sprint(b["target"])
	})
	for _, x := range items {
		it, _ := x.(map[string]any)
		var srcs []string
		for _, s := range anyList(it["sources"]) {
			srcs = append(srcs, str(s))
		}
		fmt.Fprintf(tw, "%s\t%s\t%.2f\t%s\t%s\t%s\n", str(it["target"]), strings.Join(srcs, "+"), num(it["confidence"]), str(it["status"]), str(it["expr"]), str(it["reason"]))
	}
	tw.Flush()
	if u := anyList(m["unmatched_required"]); len(u) > 0 {
		fmt.Fprintf(w, "required target fields with no match: %s\n", str(u))
	}
	if r, ok := m["rerank"].(map[string]any); ok {
		fmt.Fprintf(w, "re-ranked by %s: %s source fields ordered by the model, %s with a new first candidate, %s suggestions moved\n",
			str(r["backend"]), str(r["fields"]), str(r["reordered"]), str(r["changed"]))
	}
	if s := str(m["warning"]); s != "" {
		fmt.Fprintf(w, "warning: %s\n", s)
	}
}

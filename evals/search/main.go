// Command search measures the catalog's ranked search (connectors.Catalog.
// Search: what /api/connectors/search, weft connector search, the MCP
// gateway's search_tools and NL-to-flow retrieval rank with) as retrieval:
// each NL-to-flow dev request is a query over the example catalog
// (examples/weft.yaml), its gold operations (the polled trigger's and every
// step's) the relevant documents. It prints recall@5, recall@10 and the
// mean reciprocal rank of the first gold operation, per split.
//
// Only the dev splits are read (the repository's own evals/nl2flow/data/
// dev.txt and the external evals/nl2flow/data/external/dev.jsonl, whose
// wording comes from other people); the held-back splits never are.
//
//	go run ./evals/search [-root .] [-v]
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/internal/examplecat"
)

type item struct {
	text string
	gold map[string]bool
}

var opRef = regexp.MustCompile(`\b[a-z][a-zA-Z0-9]*\.[a-z][a-zA-Z0-9]*\b`)

func golds(s ...string) map[string]bool {
	out := map[string]bool{}
	for _, x := range s {
		for _, m := range opRef.FindAllString(x, -1) {
			out[m] = true
		}
	}
	return out
}

func own(root string) ([]item, error) {
	f, err := os.Open(filepath.Join(root, "evals/nl2flow/data/dev.txt"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []item
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		p := strings.Split(line, " | ")
		if len(p) < 4 {
			continue
		}
		if g := golds(p[2], p[3]); len(g) > 0 {
			out = append(out, item{text: p[1], gold: g})
		}
	}
	return out, sc.Err()
}

func external(root string) ([]item, error) {
	f, err := os.Open(filepath.Join(root, "evals/nl2flow/data/external/dev.jsonl"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []item
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var x struct{ Text, Trigger, Steps string }
		if err := json.Unmarshal(sc.Bytes(), &x); err != nil {
			return nil, err
		}
		if g := golds(x.Trigger, x.Steps); len(g) > 0 {
			out = append(out, item{text: x.Text, gold: g})
		}
	}
	return out, sc.Err()
}

type score struct{ r5, r10, mrr float64 }

func measure(cat *connectors.Catalog, items []item, verbose bool) score {
	var s score
	for _, it := range items {
		hits, err := cat.SearchContext(context.Background(), it.text, 10)
		if err != nil {
			fmt.Fprintln(os.Stderr, "search:", err)
			os.Exit(1)
		}
		var in5, in10 int
		first := 0
		for i, h := range hits {
			if it.gold[h.Operation] {
				if i < 5 {
					in5++
				}
				in10++
				if first == 0 {
					first = i + 1
				}
			}
		}
		s.r5 += float64(in5) / float64(len(it.gold))
		s.r10 += float64(in10) / float64(len(it.gold))
		if first > 0 {
			s.mrr += 1 / float64(first)
		}
		if verbose && in10 < len(it.gold) {
			var got []string
			for _, h := range hits {
				got = append(got, h.Operation)
			}
			fmt.Printf("  miss %q\n    gold %v\n    got  %v\n", it.text, keys(it.gold), got)
		}
	}
	n := float64(len(items))
	return score{s.r5 / n, s.r10 / n, s.mrr / n}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func main() {
	root := flag.String("root", ".", "repository root")
	verbose := flag.Bool("v", false, "print the dev requests whose gold operations are not all in the top 10")
	flag.Parse()
	cat, err := examplecat.Load(*root)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("catalog search over the example catalog (%d operations); queries: NL-to-flow dev requests, relevant: their gold operations\n", len(cat.OperationNames()))
	fmt.Printf("%-22s %5s %10s %10s %6s\n", "split", "items", "recall@5", "recall@10", "MRR")
	for _, sp := range []struct {
		name string
		load func(string) ([]item, error)
	}{{"own dev", own}, {"external dev", external}} {
		items, err := sp.load(*root)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		s := measure(cat, items, *verbose)
		fmt.Printf("%-22s %5d %10.3f %10.3f %6.3f\n", sp.name, len(items), s.r5, s.r10, s.mrr)
	}
}

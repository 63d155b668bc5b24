// Command vocabcount counts hand-written vocabulary in Go code: string
// literals that are English words or phrases compared with a request's
// words, listed as word lists, or passed to the compiler's word tests,
// and decimal constants. It is the measure of issue 19's "vocabulary
// entries and tuned constants in Go code" (target: none; data files
// under nl2flow/lexicon hold them).
//
//	go run ./evals/nl2flow/vocabcount [-v] [DIR]   (default nl2flow)
package main

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

var wordLit = regexp.MustCompile(`^[a-z][a-z'’ -]*$`)

// fieldLit is a snake_case field name ("owner_email"): counted apart,
// anywhere in the code, since such names tie code to one catalog.
var fieldLit = regexp.MustCompile(`^[a-z]+(_[a-z]+)+$`)

// wordVars are the names the compiler gives a request's word.
var wordVars = map[string]bool{"w": true, "next": true, "nx": true, "first": true, "sg": true, "lw": true, "word": true, "prev": true, "lower": true}

// wordCalls take request words or phrases as literal arguments.
var wordCalls = map[string]bool{"has": true, "phrase": true, "onlyWords": true, "strip": true, "hasAny": true, "set": true, "Fields": true, "Contains": true, "HasPrefix": true, "HasSuffix": true}

func isWordExpr(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.Ident:
		return wordVars[x.Name]
	case *ast.SelectorExpr:
		return x.Sel.Name == "w"
	case *ast.CallExpr:
		if id, ok := x.Fun.(*ast.Ident); ok && (id.Name == "singular" || id.Name == "w") {
			return true
		}
	case *ast.ParenExpr:
		return isWordExpr(x.X)
	}
	return false
}

func main() {
	verbose := flag.Bool("v", false, "list every counted literal")
	flag.Parse()
	dir := "nl2flow"
	if flag.NArg() > 0 {
		dir = flag.Arg(0)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		fmt.Fprintln(os.Stderr, "vocabcount: no Go files in", dir)
		os.Exit(2)
	}
	sort.Strings(files)
	fset := token.NewFileSet()
	totalW, totalC, totalF := 0, 0, 0
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			fmt.Fprintln(os.Stderr, "vocabcount:", err)
			os.Exit(2)
		}
		counted := map[token.Pos]bool{}
		nw, nc, nf := 0, 0, 0
		count := func(lit *ast.BasicLit) {
			if lit == nil || lit.Kind != token.STRING || counted[lit.Pos()] {
				return
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil || !wordLit.MatchString(s) {
				return
			}
			counted[lit.Pos()] = true
			n := len(strings.Fields(s))
			nw += n
			if *verbose {
				fmt.Printf("  %s %q\n", fset.Position(lit.Pos()), s)
			}
		}
		litOf := func(e ast.Expr) *ast.BasicLit { b, _ := e.(*ast.BasicLit); return b }
		ast.Inspect(f, func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.BinaryExpr:
				if x.Op == token.EQL || x.Op == token.NEQ {
					if isWordExpr(x.X) {
						count(litOf(x.Y))
					}
					if isWordExpr(x.Y) {
						count(litOf(x.X))
					}
				}
			case *ast.SwitchStmt:
				if x.Tag != nil && isWordExpr(x.Tag) {
					for _, st := range x.Body.List {
						for _, e := range st.(*ast.CaseClause).List {
							count(litOf(e))
						}
					}
				}
			case *ast.CallExpr:
				name := ""
				switch fn := x.Fun.(type) {
				case *ast.Ident:
					name = fn.Name
				case *ast.SelectorExpr:
					name = fn.Sel.Name
					if id, ok := fn.X.(*ast.Ident); ok && id.Name == "lex" {
						name = "" // lex.set("stop"): a group's name, not a word
					}
				}
				if wordCalls[name] {
					for _, a := range x.Args {
						count(litOf(a))
					}
				}
			case *ast.CompositeLit:
				// word lists: []string{"first", "second"}, map[string]string{"won": …}
				for _, e := range x.Elts {
					if kv, ok := e.(*ast.KeyValueExpr); ok {
						count(litOf(kv.Key))
						continue
					}
					if at, ok := x.Type.(*ast.ArrayType); ok {
						if id, ok := at.Elt.(*ast.Ident); ok && id.Name == "string" {
							count(litOf(e))
						}
					}
				}
			case *ast.BasicLit:
				if v, err := strconv.Unquote(x.Value); x.Kind == token.STRING && err == nil && fieldLit.MatchString(v) {
					nf++
					if *verbose {
						fmt.Printf("  %s %q (field)\n", fset.Position(x.Pos()), v)
					}
				}
				if x.Kind == token.FLOAT {
					nc++
					if *verbose {
						fmt.Printf("  %s %s\n", fset.Position(x.Pos()), x.Value)
					}
				}
			}
			return true
		})
		fmt.Printf("%-28s vocabulary words %4d  decimal constants %2d  field names %3d\n", path, nw, nc, nf)
		totalW += nw
		totalC += nc
		totalF += nf
	}
	fmt.Printf("%-28s vocabulary words %4d  decimal constants %2d  field names %3d\n", "total", totalW, totalC, totalF)
}

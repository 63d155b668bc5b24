package access_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/weftio/weft/access"
)

// Every Action… constant of audit.go is in Actions(), once.
func TestActionsListsEveryConstant(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "audit.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var consts []string
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, name := range vs.Names {
			if strings.HasPrefix(name.Name, "Action") && i < len(vs.Values) {
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok {
					v, _ := strconv.Unquote(lit.Value)
					consts = append(consts, v)
				}
			}
		}
		return true
	})
	got := access.Actions()
	if len(consts) < 20 {
		t.Fatalf("found only %d Action constants in audit.go", len(consts))
	}
	for _, c := range consts {
		if !slices.Contains(got, c) {
			t.Errorf("Actions() misses %q", c)
		}
	}
	sorted := slices.Clone(got)
	slices.Sort(sorted)
	if len(slices.Compact(sorted)) != len(got) || len(got) != len(consts) {
		t.Errorf("Actions() has %d entries for %d constants (duplicates or strays)", len(got), len(consts))
	}
}

package flow

import (
	"encoding/base64"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
	"github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
	"github.com/google/cel-go/ext"
	"github.com/google/cel-go/interpreter"
	"github.com/weftio/weft/internal/jsonenc"
)

// CostLimit bounds the work one expression evaluation may do.
const CostLimit = 1_000_000

// Expr is one compiled CEL expression.
type Expr struct {
	Source string `json:"-"`
	Pos    string `json:"-"`
	prg    cel.Program
	chains [][]string // select chains rooted at steps/trigger, for validation
	// tracked: the program counts its cost at run time and stops at
	// CostLimit; untracked ones are proven below it at compile time.
	tracked bool
	// small: the same expression without the run-time cost tracker, and
	// the input size up to which the checker proves it below the limit:
	// Eval takes it when every value the expression can reach (those of
	// the variables in uses) holds no string, list or map longer than
	// smallMax. nil when no such size exists (cost grows too fast).
	small    cel.Program
	smallMax int
	uses     []varUse
	// path: set when the expression is a bare field reference such as
	// steps.post.body (a variable and a chain of field selections), the
	// most common expression in flows: Eval reads it straight from the
	// scope's JSON values and asks CEL only when the plain read cannot
	// give CEL's answer (a missing key, a value that is not JSON).
	path []string
}

// MarshalJSON shows the source.
func (e *Expr) MarshalJSON() ([]byte, error) { return []byte(fmt.Sprintf("%q", e.Source)), nil }

// Scope is what an expression can see at evaluation time. Only values
// recorded by the run are visible: no clock, no randomness, no I/O.
type Scope struct {
	Trigger map[string]any // body, headers, query, kind
	Steps   map[string]any // step id -> output
	Run     map[string]any // id, flow, version, started_at (time.Time)
	// RunVars, when Run is nil, builds run on its first use: most flows
	// never name it. Shared by all the scopes of one run.
	RunVars *RunVars
	Item    any
	Index   int
	InLoop  bool

	index any // Index, boxed on first use
	// the largest size in Trigger and in Run (+1; 0 = not measured yet):
	// they do not change during a scope's life.
	trigMax, runMax int
}

// RunVars is a run's run variable, built once when an expression first
// names it (safe for scopes evaluated concurrently, as a foreach's are).
type RunVars struct {
	ID, Flow  string
	Version   int
	StartedAt time.Time

	once sync.Once
	m    map[string]any
}

// Map is the run variable: id, flow, version, started_at.
func (r *RunVars) Map() map[string]any {
	r.once.Do(func() {
		r.m = map[string]any{"id": r.ID, "flow": r.Flow, "version": int64(r.Version), "started_at": r.StartedAt}
	})
	return r.m
}

// vars is the scope as CEL's activation: each variable is read from the
// scope's own fields when an expression names it, so a scope builds no
// map of its variables and boxes nothing for them (interpreter.Activation;
// a pointer conversion, so passing it to CEL allocates nothing either).
// Trigger, steps and run are maps shared by reference: later step outputs
// are visible without a rebuild.
type vars Scope

// minusOne is index outside a loop, boxed once.
var minusOne any = int64(-1)

func (a *vars) ResolveName(name string) (any, bool) {
	s := (*Scope)(a)
	switch name {
	case "trigger":
		if s.Trigger == nil {
			s.Trigger = map[string]any{}
		}
		return s.Trigger, true
	case "steps":
		if s.Steps == nil {
			s.Steps = map[string]any{}
		}
		return s.Steps, true
	case "run":
		if s.Run == nil && s.RunVars != nil {
			s.Run = s.RunVars.Map()
		}
		if s.Run == nil {
			s.Run = map[string]any{}
		}
		return s.Run, true
	case "item":
		if s.InLoop {
			return s.Item, true
		}
		return nil, true
	case "index":
		if !s.InLoop {
			return minusOne, true
		}
		if s.index == nil {
			s.index = int64(s.Index)
		}
		return s.index, true
	}
	return nil, false
}

func (a *vars) Parent() interpreter.Activation { return nil }

var (
	envOnce sync.Once
	envVal  *cel.Env
	envErr  error
)

// Env is the one CEL environment all flow expressions compile against.
func Env() (*cel.Env, error) {
	envOnce.Do(func() { envVal, envErr = newEnv() })
	return envVal, envErr
}

func newEnv() (*cel.Env, error) {
	env, err := newBaseEnv()
	if err != nil {
		return nil, err
	}
	flowAdapter = &rawAdapter{env.CELTypeAdapter()}
	return env.Extend(append(accumulateOptions(), cel.CustomTypeAdapter(flowAdapter))...)
}

func newBaseEnv() (*cel.Env, error) {
	dyn := cel.DynType
	num := func(v ref.Val) (float64, bool) {
		switch x := v.(type) {
		case types.Int:
			return float64(x), true
		case types.Double:
			return float64(x), true
		case types.Uint:
			return float64(x), true
		}
		return 0, false
	}
	return cel.NewEnv(
		cel.Variable("trigger", cel.MapType(cel.StringType, dyn)),
		cel.Variable("steps", cel.MapType(cel.StringType, dyn)),
		cel.Variable("run", cel.MapType(cel.StringType, dyn)),
		cel.Variable("item", dyn),
		cel.Variable("index", cel.IntType),
		ext.Strings(),
		ext.Math(),
		ext.Lists(),
		ext.Encoders(),
		cel.CrossTypeNumericComparisons(true),
		cel.OptionalTypes(),
		cel.Function("sum",
			cel.Overload("weft_sum_list", []*cel.Type{cel.ListType(dyn)}, cel.DoubleType,
				cel.UnaryBinding(func(v ref.Val) ref.Val {
					l, ok := v.(traits.Lister)
					if !ok {
						return types.NewErr("sum: want a list")
					}
					var total float64
					it := l.Iterator()
					for it.HasNext() == types.True {
						x, ok := num(it.Next())
						if !ok {
							return types.NewErr("sum: list holds a non-number")
						}
						total += x
					}
					return types.Double(total)
				}))),
		cel.Function("round",
			cel.Overload("weft_round_double_int", []*cel.Type{cel.DoubleType, cel.IntType}, cel.DoubleType,
				cel.BinaryBinding(func(v, d ref.Val) ref.Val {
					p := math.Pow(10, float64(d.(types.Int)))
					return types.Double(math.Round(float64(v.(types.Double))*p) / p)
				})),
			cel.Overload("weft_round_int_int", []*cel.Type{cel.IntType, cel.IntType}, cel.DoubleType,
				cel.BinaryBinding(func(v, d ref.Val) ref.Val { return types.Double(float64(v.(types.Int))) }))),
		cel.Function("string_or",
			cel.Overload("weft_string_or", []*cel.Type{dyn, cel.StringType}, cel.StringType,
				cel.BinaryBinding(func(v, def ref.Val) ref.Val {
					if s, ok := v.(types.String); ok {
						return s
					}
					return def
				}))),
	)
}

// CompileExpr compiles and type-checks src. pos is used in errors.
func CompileExpr(src, pos string) (*Expr, error) {
	env, err := Env()
	if err != nil {
		return nil, err
	}
	checked, iss := env.Compile(src)
	if iss != nil && iss.Err() != nil {
		msg := strings.TrimSpace(iss.Err().Error())
		msg = strings.TrimPrefix(msg, "ERROR: <input>:")
		return nil, fmt.Errorf("expression %q: %s", src, oneLine(msg))
	}
	opts := []cel.ProgramOption{cel.CostLimit(CostLimit), cel.InterruptCheckFrequency(100)}
	if staticallyBounded(env, checked) {
		// The checker proves this expression's cost below the limit for
		// any input (no comprehension over, no function of, a value of
		// unknown size): a run-time tracker would only cost allocations.
		opts = nil
	}
	prg, err := env.Program(checked, opts...)
	if err != nil {
		return nil, fmt.Errorf("expression %q: %v", src, err)
	}
	x := &Expr{Source: src, Pos: pos, prg: prg, chains: selectChains(checked.NativeRep()), tracked: opts != nil,
		path: fieldPath(checked.NativeRep().Expr())}
	if x.tracked {
		if n := sizedBound(env, checked); n > 0 {
			if x.small, err = env.Program(checked); err != nil {
				return nil, fmt.Errorf("expression %q: %v", src, err)
			}
			x.smallMax, x.uses = n, varUses(checked.NativeRep().Expr())
		}
	}
	return x, nil
}

// smallSizes are the input sizes, largest first, for which a tracked
// expression gets an untracked twin: the largest one at which the
// checker's worst case stays under staticCostLimit.
var smallSizes = []int{4096, 1024, 256, 64, 16}

// sizedBound returns the largest of smallSizes for which a's worst-case
// cost, with every string, list and map read from the flow's variables
// no longer than that size, is at most staticCostLimit (the same margin
// as an untracked expression's); 0 when there is none.
func sizedBound(env *cel.Env, a *cel.Ast) int {
	for _, n := range smallSizes {
		est, err := env.EstimateCost(a, inputSizes(n))
		if err == nil && est.Max <= staticCostLimit {
			return n
		}
	}
	return 0
}

// inputSizes tells the cost estimator that every value read from a flow
// variable (a field, an element: a node with a path from a variable) is
// at most n long; sizes of computed values stay the checker's own
// (bounded by what they are computed from, or unknown: unbounded).
type inputSizes uint64

func (n inputSizes) EstimateSize(node checker.AstNode) *checker.SizeEstimate {
	if p := node.Path(); len(p) > 0 {
		switch p[0] {
		case "trigger", "steps", "run", "item":
			return &checker.SizeEstimate{Min: 0, Max: uint64(n)}
		}
	}
	return nil
}

func (inputSizes) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}

// varUse is a flow variable an expression reads, and when every use of
// it selects a field straight away (steps.post...), those fields: only
// their values can be reached.
type varUse struct {
	name   string
	fields []string // nil: the whole variable
}

func varUses(e ast.Expr) []varUse {
	idents := map[string]int{}
	fields := map[string][]string{}
	selects := map[string]int{}
	ast.PreOrderVisit(e, ast.NewExprVisitor(func(x ast.Expr) {
		switch x.Kind() {
		case ast.IdentKind:
			idents[x.AsIdent()]++
		case ast.SelectKind:
			if op := x.AsSelect().Operand(); op.Kind() == ast.IdentKind && !x.AsSelect().IsTestOnly() {
				n := op.AsIdent()
				selects[n]++
				if !slices.Contains(fields[n], x.AsSelect().FieldName()) {
					fields[n] = append(fields[n], x.AsSelect().FieldName())
				}
			}
		}
	}))
	var out []varUse
	for _, v := range []string{"trigger", "steps", "run", "item"} {
		if idents[v] == 0 {
			continue
		}
		u := varUse{name: v}
		if selects[v] == idents[v] {
			u.fields = fields[v]
		}
		out = append(out, u)
	}
	return out
}

// smallInputs reports whether every value e can reach holds no string,
// list or map longer than e.smallMax (looking at no more than
// maxSizeWalk values in each: past that it answers no).
func (e *Expr) smallInputs(s *Scope) bool {
	for _, u := range e.uses {
		v, _ := (*vars)(s).ResolveName(u.name)
		switch {
		case u.name == "trigger":
			// measured once, whole: no field holds more than all of it
			if cachedMax(&s.trigMax, v) > e.smallMax {
				return false
			}
		case u.name == "run":
			if cachedMax(&s.runMax, v) > e.smallMax {
				return false
			}
		case u.fields != nil:
			m, ok := v.(map[string]any)
			if !ok {
				if maxSize(v) > e.smallMax {
					return false
				}
				continue
			}
			for _, f := range u.fields {
				if maxSize(m[f]) > e.smallMax {
					return false
				}
			}
		default:
			if maxSize(v) > e.smallMax {
				return false
			}
		}
	}
	return true
}

func cachedMax(c *int, v any) int {
	if *c == 0 {
		*c = maxSize(v) + 1
	}
	return *c - 1
}

// maxSizeWalk bounds the values maxSize looks at.
const maxSizeWalk = 2048

// maxSize is the longest string (in bytes, never fewer than CEL's code
// points), list or map in v, or math.MaxInt when v holds a value whose
// size it does not know (bytes kept raw, Go values) or more than
// maxSizeWalk values.
func maxSize(v any) int {
	budget := maxSizeWalk
	return sizeWalk(v, &budget)
}

func sizeWalk(v any, budget *int) int {
	*budget--
	if *budget < 0 {
		return math.MaxInt
	}
	switch x := v.(type) {
	case nil, bool, float64, int64, int, uint64, time.Time:
		return 0
	case string:
		return len(x)
	case map[string]any:
		m := len(x)
		for k, e := range x {
			m = max(m, len(k), sizeWalk(e, budget))
		}
		return m
	case []any:
		m := len(x)
		for _, e := range x {
			m = max(m, sizeWalk(e, budget))
		}
		return m
	case map[string]string:
		m := len(x)
		for k, e := range x {
			m = max(m, len(k), len(e))
		}
		return m
	}
	return math.MaxInt
}

// fieldPath returns [variable, field...] when e is a variable followed by
// plain field selections (no has(), no optional selection, no index), and
// nil otherwise.
func fieldPath(e ast.Expr) []string {
	var fields []string
	for e.Kind() == ast.SelectKind {
		sel := e.AsSelect()
		if sel.IsTestOnly() {
			return nil
		}
		fields = append(fields, sel.FieldName())
		e = sel.Operand()
	}
	if e.Kind() != ast.IdentKind {
		return nil
	}
	switch root := e.AsIdent(); root {
	case "trigger", "steps", "run", "item":
		path := make([]string, 0, len(fields)+1)
		path = append(path, root)
		for i := len(fields) - 1; i >= 0; i-- {
			path = append(path, fields[i])
		}
		return path
	}
	return nil
}

// lookup reads a field path from the scope. ok is false whenever the
// answer might differ from CEL's: a missing key (CEL's error), a value
// on the way that is not a decoded JSON object (a large body kept as its
// bytes, a Go value), or a result CEL would convert (a time, an int).
// What it returns is what toNative makes of CEL's result: the same
// value, maps and lists shared, not copied.
func (e *Expr) lookup(s *Scope) (any, bool) {
	v, ok := (*vars)(s).ResolveName(e.path[0])
	if !ok {
		return nil, false
	}
	for _, f := range e.path[1:] {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[f]; !ok {
			return nil, false
		}
	}
	switch v.(type) {
	case nil, bool, string, float64, int64, map[string]any, []any:
		return v, true
	}
	return nil, false
}

// staticCostLimit is the checker's worst-case estimate below which an
// expression runs untracked. The estimate can be a unit or two below the
// run-time count (it prices variable look-ups differently), so it is
// kept far under CostLimit rather than at it.
const staticCostLimit = CostLimit / 100

// staticallyBounded reports whether the checker's worst-case cost of a is
// a small constant whatever the inputs. Sizes the checker does not know
// (every trigger and step value) count as unbounded, so only expressions
// whose cost does not depend on the size of their inputs qualify.
func staticallyBounded(env *cel.Env, a *cel.Ast) bool {
	est, err := env.EstimateCost(a, noSizeHints{})
	return err == nil && est.Max <= staticCostLimit
}

// noSizeHints gives the cost estimator no sizes and no call costs beyond
// its own: unknown sizes are unbounded.
type noSizeHints struct{}

func (noSizeHints) EstimateSize(checker.AstNode) *checker.SizeEstimate { return nil }
func (noSizeHints) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}

func oneLine(s string) string {
	if i := strings.Index(s, "\n"); i >= 0 {
		return s[:i]
	}
	return s
}

// Eval evaluates the expression and returns a JSON-compatible value.
func (e *Expr) Eval(s *Scope) (any, error) {
	if e.path != nil {
		if v, ok := e.lookup(s); ok {
			return v, nil
		}
	}
	prg := e.prg
	if e.small != nil && e.smallInputs(s) {
		prg = e.small
	}
	out, _, err := prg.Eval((*vars)(s))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", e.Source, err)
	}
	return toNative(out)
}

// EvalBool evaluates a condition.
func (e *Expr) EvalBool(s *Scope) (bool, error) {
	v, err := e.Eval(s)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("%s: condition gave %T, want bool", e.Source, v)
	}
	return b, nil
}

func toNative(v ref.Val) (any, error) {
	switch x := v.(type) {
	case types.Null:
		return nil, nil
	case types.Bool:
		return bool(x), nil
	case types.Int:
		return int64(x), nil
	case types.Uint:
		return uint64(x), nil
	case types.Double:
		return float64(x), nil
	case types.String:
		return string(x), nil
	case types.Bytes:
		return base64.StdEncoding.EncodeToString(x), nil
	case types.Timestamp:
		return x.Time.UTC().Format(time.RFC3339Nano), nil
	case types.Duration:
		return x.Duration.String(), nil
	case *types.Err:
		return nil, x
	}
	if o, ok := v.(*types.Optional); ok {
		if !o.HasValue() {
			return nil, nil
		}
		return toNative(o.GetValue())
	}
	// Lists and maps that wrap JSON values we handed to CEL (trigger
	// bodies, step outputs) come back as they are: outputs are never
	// mutated, so sharing them is safe and a 10 MB payload is not copied.
	switch nv := v.Value().(type) {
	case []any:
		return nv, nil
	case map[string]any:
		return nv, nil
	case *jsonenc.Raw: // a large trigger body, or part of one, still as its bytes
		return nv, nil
	}
	if l, ok := v.(traits.Lister); ok {
		out := []any{}
		it := l.Iterator()
		for it.HasNext() == types.True {
			n, err := toNative(it.Next())
			if err != nil {
				return nil, err
			}
			out = append(out, n)
		}
		return out, nil
	}
	if m, ok := v.(traits.Mapper); ok {
		out := map[string]any{}
		it := m.Iterator()
		for it.HasNext() == types.True {
			k := it.Next()
			ks, ok := k.(types.String)
			if !ok {
				return nil, fmt.Errorf("map key %v is not a string", k)
			}
			n, err := toNative(m.Get(k))
			if err != nil {
				return nil, err
			}
			out[string(ks)] = n
		}
		return out, nil
	}
	// Native Go values passed through unchanged (e.g. time.Time in run).
	if v.Value() != nil {
		rv := reflect.ValueOf(v.Value())
		if t, ok := rv.Interface().(time.Time); ok {
			return t.UTC().Format(time.RFC3339Nano), nil
		}
		return rv.Interface(), nil
	}
	return nil, fmt.Errorf("cannot convert %s to JSON", v.Type().TypeName())
}

// selectChains collects field chains such as steps.transform.total.
func selectChains(a *ast.AST) [][]string {
	var chains [][]string
	ast.PreOrderVisit(a.Expr(), ast.NewExprVisitor(func(e ast.Expr) {
		if e.Kind() != ast.SelectKind {
			return
		}
		var fields []string
		cur := e
		for cur.Kind() == ast.SelectKind {
			fields = append(fields, cur.AsSelect().FieldName())
			cur = cur.AsSelect().Operand()
		}
		if cur.Kind() != ast.IdentKind {
			return
		}
		root := cur.AsIdent()
		if root != "steps" && root != "trigger" {
			return
		}
		chain := []string{root}
		for i := len(fields) - 1; i >= 0; i-- {
			chain = append(chain, fields[i])
		}
		chains = append(chains, chain)
	}))
	return chains
}

// Template is a value tree whose strings starting with "=" are CEL
// expressions; "==" escapes a literal leading "=".
type Template struct {
	Lit  any                  `json:"-"`
	Expr *Expr                `json:"-"`
	Map  map[string]*Template `json:"-"`
	Keys []string             `json:"-"` // map keys in document order
	List []*Template          `json:"-"`
	kind byte                 // 'l' literal, 'e' expr, 'm' map, 'a' list
}

// Eval renders the template.
func (t *Template) Eval(s *Scope) (any, error) {
	if t == nil {
		return nil, nil
	}
	switch t.kind {
	case 'e':
		return t.Expr.Eval(s)
	case 'm':
		out := make(map[string]any, len(t.Map))
		for k, v := range t.Map {
			x, err := v.Eval(s)
			if err != nil {
				return nil, err
			}
			out[k] = x
		}
		return out, nil
	case 'a':
		out := make([]any, len(t.List))
		for i, v := range t.List {
			x, err := v.Eval(s)
			if err != nil {
				return nil, err
			}
			out[i] = x
		}
		return out, nil
	}
	return t.Lit, nil
}

// exprs lists every expression in the template.
func (t *Template) exprs() []*Expr {
	if t == nil {
		return nil
	}
	switch t.kind {
	case 'e':
		return []*Expr{t.Expr}
	case 'm':
		var out []*Expr
		for _, k := range t.Keys {
			out = append(out, t.Map[k].exprs()...)
		}
		return out
	case 'a':
		var out []*Expr
		for _, v := range t.List {
			out = append(out, v.exprs()...)
		}
		return out
	}
	return nil
}

// MapKeys returns the top-level keys of a map template (nil otherwise).
func (t *Template) MapKeys() []string {
	if t == nil || t.kind != 'm' {
		return nil
	}
	k := append([]string(nil), t.Keys...)
	sort.Strings(k)
	return k
}

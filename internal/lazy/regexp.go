// Package lazy builds package-level values on first use instead of at
// start-up. Go runs every linked package's initialisers when the binary
// starts, whatever the configuration uses; a value built there stays in the
// heap (and the GC's heap goal is a multiple of the live heap) and the code
// that built it is paged in. Weft links many subsystems a server may never
// use (OData, SOAP, the mapper, NL-to-flow, API products), so their tables
// and regular expressions are built when first needed (BENCHMARKS.md §41).
package lazy

import (
	"regexp"
	"sync"
)

// Regexp is a regular expression compiled on first use. Its methods are
// those of *regexp.Regexp that Weft calls; Get returns the compiled one.
// Safe for concurrent use.
type Regexp struct {
	expr string
	once sync.Once
	re   *regexp.Regexp
}

var (
	mu       sync.Mutex
	patterns []*Regexp
)

// NewRegexp returns expr, to be compiled on first use. A bad pattern panics
// then, as regexp.MustCompile would at start-up; CompileAll (run by a test
// of the binary that links every package) finds one before it ships.
func NewRegexp(expr string) *Regexp {
	r := &Regexp{expr: expr}
	mu.Lock()
	patterns = append(patterns, r)
	mu.Unlock()
	return r
}

// Get compiles the expression once and returns it.
func (r *Regexp) Get() *regexp.Regexp {
	r.once.Do(func() { r.re = regexp.MustCompile(r.expr) })
	return r.re
}

// CompileAll checks every expression made by NewRegexp so far without
// keeping the compiled programs; it returns the first that does not compile.
func CompileAll() error {
	mu.Lock()
	all := append([]*Regexp(nil), patterns...)
	mu.Unlock()
	for _, r := range all {
		if _, err := regexp.Compile(r.expr); err != nil {
			return err
		}
	}
	return nil
}

func (r *Regexp) String() string                         { return r.expr }
func (r *Regexp) MatchString(s string) bool              { return r.Get().MatchString(s) }
func (r *Regexp) Match(b []byte) bool                    { return r.Get().Match(b) }
func (r *Regexp) FindString(s string) string             { return r.Get().FindString(s) }
func (r *Regexp) FindStringIndex(s string) []int         { return r.Get().FindStringIndex(s) }
func (r *Regexp) FindStringSubmatch(s string) []string   { return r.Get().FindStringSubmatch(s) }
func (r *Regexp) FindSubmatch(b []byte) [][]byte         { return r.Get().FindSubmatch(b) }
func (r *Regexp) FindAllString(s string, n int) []string { return r.Get().FindAllString(s, n) }
func (r *Regexp) FindAllStringIndex(s string, n int) [][]int {
	return r.Get().FindAllStringIndex(s, n)
}
func (r *Regexp) FindAllStringSubmatch(s string, n int) [][]string {
	return r.Get().FindAllStringSubmatch(s, n)
}
func (r *Regexp) FindAllStringSubmatchIndex(s string, n int) [][]int {
	return r.Get().FindAllStringSubmatchIndex(s, n)
}
func (r *Regexp) ReplaceAllString(src, repl string) string {
	return r.Get().ReplaceAllString(src, repl)
}
func (r *Regexp) ReplaceAllLiteralString(src, repl string) string {
	return r.Get().ReplaceAllLiteralString(src, repl)
}
func (r *Regexp) ReplaceAllStringFunc(src string, repl func(string) string) string {
	return r.Get().ReplaceAllStringFunc(src, repl)
}
func (r *Regexp) ReplaceAll(src, repl []byte) []byte { return r.Get().ReplaceAll(src, repl) }
func (r *Regexp) SubexpNames() []string              { return r.Get().SubexpNames() }
func (r *Regexp) SubexpIndex(name string) int        { return r.Get().SubexpIndex(name) }
func (r *Regexp) Split(s string, n int) []string     { return r.Get().Split(s, n) }
func (r *Regexp) ReplaceAllFunc(src []byte, repl func([]byte) []byte) []byte {
	return r.Get().ReplaceAllFunc(src, repl)
}
func (r *Regexp) FindIndex(b []byte) []int             { return r.Get().FindIndex(b) }
func (r *Regexp) FindAllIndex(b []byte, n int) [][]int { return r.Get().FindAllIndex(b, n) }

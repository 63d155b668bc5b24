package lazy

import (
	"strings"
	"sync"
	"testing"
)

func TestRegexpCompiledOnceOnFirstUse(t *testing.T) {
	r := NewRegexp(`^a(b+)$`)
	if r.re != nil {
		t.Fatal("compiled before first use")
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if !r.MatchString("abb") || r.MatchString("ac") {
				t.Error("wrong match")
			}
		})
	}
	wg.Wait()
	first := r.Get()
	if r.Get() != first {
		t.Fatal("compiled twice")
	}
	if got := r.FindStringSubmatch("abbb"); len(got) != 2 || got[1] != "bbb" {
		t.Fatalf("submatch %q", got)
	}
	if r.String() != `^a(b+)$` {
		t.Fatal(r.String())
	}
}

func TestCompileAllFindsABadPattern(t *testing.T) {
	if err := CompileAll(); err != nil {
		t.Fatalf("good patterns only: %v", err)
	}
	bad := NewRegexp(`(unclosed`)
	defer func() {
		mu.Lock()
		patterns = patterns[:len(patterns)-1]
		mu.Unlock()
	}()
	err := CompileAll()
	if err == nil || !strings.Contains(err.Error(), "missing closing )") {
		t.Fatalf("CompileAll = %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a bad pattern did not panic on first use")
		}
	}()
	bad.MatchString("x")
}

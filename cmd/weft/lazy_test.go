package main

import (
	"testing"

	"github.com/weftio/weft/internal/lazy"
)

// The regular expressions that packages compile on first use
// (internal/lazy) all compile: this binary links every package that
// declares one, so a bad pattern fails here rather than on the first
// request that needs it.
func TestLazyRegexpsCompile(t *testing.T) {
	if err := lazy.CompileAll(); err != nil {
		t.Fatal(err)
	}
}

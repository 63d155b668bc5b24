// Package bounded parses untrusted YAML and JSON within limits.
//
// Every document Weft reads from outside (flows, the config file,
// connection bodies, OpenAPI specs, mapper inputs, API and webhook
// bodies) goes through here, so one mechanism decides how large, how
// deep and how many nodes a document may be, and how far YAML aliases may
// expand. A document over a limit is refused before anything expands it,
// with a weft error that says which limit and where (name:line:col for
// YAML). The package knows nothing about what the documents mean; it
// imports only the error vocabulary and the YAML library.
package bounded

import (
	"fmt"

	"github.com/weftio/weft"
)

// Limits bound one document. A zero field takes the default's value.
type Limits struct {
	// MaxBytes bounds the document's size (too_large).
	MaxBytes int64
	// MaxDepth bounds nesting of mappings/objects and sequences/arrays,
	// counted after YAML aliases are expanded (invalid).
	MaxDepth int
	// MaxNodes bounds the number of nodes (scalars, keys, collections),
	// counted after YAML aliases are expanded (too_large).
	MaxNodes int64
	// MaxAliasNodes bounds how many nodes YAML aliases (and merge keys)
	// may add to the document in all (invalid). It is what stops an
	// alias bomb: ten aliases to ten aliases ... expand exponentially.
	MaxAliasNodes int64
	// MaxAliasBytes bounds how many bytes of scalar text aliases may add
	// in all (invalid): a few aliases to one long string would otherwise
	// multiply it wherever the document is copied or encoded.
	MaxAliasBytes int64
}

// Default is what a document gets when its reader names no limits.
var Default = Limits{MaxBytes: 10 << 20, MaxDepth: 100, MaxNodes: 1 << 20, MaxAliasNodes: 10000, MaxAliasBytes: 1 << 20}

// DefaultJSON is the default for JSON payloads (API and webhook bodies):
// payloads nest deeper than hand-written documents, and aliases do not
// exist in JSON.
var DefaultJSON = Limits{MaxBytes: 10 << 20, MaxDepth: 256, MaxNodes: 4 << 20}

// With returns l with every zero field taken from d.
func (l Limits) With(d Limits) Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxNodes <= 0 {
		l.MaxNodes = d.MaxNodes
	}
	if l.MaxAliasNodes <= 0 {
		l.MaxAliasNodes = d.MaxAliasNodes
	}
	if l.MaxAliasBytes <= 0 {
		l.MaxAliasBytes = d.MaxAliasBytes
	}
	return l
}

func tooLarge(name string, size int, l Limits) error {
	return weft.Errorf(weft.ETooLarge, "%s is %d bytes; the limit is %d", name, size, l.MaxBytes)
}

// located builds an error whose message starts with pos (name:line:col).
func located(code, pos, format string, args ...any) error {
	return &weft.Error{Code: code, Message: pos + ": " + fmt.Sprintf(format, args...)}
}

package sandbox

import (
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// Generate is the sandbox's value generator, for tests.
func Generate(s *openapi3.Schema, seed string) any {
	return newGen(false, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)).value(s, seed)
}

// Conform is the generator repairing v, for tests.
func Conform(s *openapi3.Schema, v any) any {
	return newGen(false, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)).conform(s, v, true, "t", 0)
}

// SetLimits lowers the bounds on what s holds, for tests.
func (s *Sandbox) SetLimits(records, collections, bytes int) {
	s.maxRecords, s.maxCollections, s.maxBytes = records, collections, bytes
}

// Bytes is what s counts as held.
func (s *Sandbox) Bytes() int { return s.bytes }

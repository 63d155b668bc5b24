//go:build goexperiment.jsonv2

package jsonenc

import (
	jsonv2 "encoding/json/v2"
	"testing"
)

// BenchmarkOrderOutputV2 measures encoding/json/v2 on the value of
// BenchmarkOrderOutput, deterministic (sorted keys, as the log needs):
//
//	GOEXPERIMENT=jsonv2 go test -run '^$' -bench OrderOutput -benchmem ./internal/jsonenc
func BenchmarkOrderOutputV2(b *testing.B) {
	v := orderOutput()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = jsonv2.Marshal(v, jsonv2.Deterministic(true))
	}
}

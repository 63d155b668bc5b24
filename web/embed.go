// Package web holds Weft's web console: its TypeScript source (src/, built
// with `make web`) and the built bundle (dist/), which is committed so that a
// Go-only build needs no Node and is embedded in the weft binary here.
package web

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Dist is the built console: index.html and assets/.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the embed pattern guarantees dist/ exists
	}
	return sub
}

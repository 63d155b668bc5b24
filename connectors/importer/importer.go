// Package importer registers an imported API document as a connector,
// whatever its kind: an OpenAPI 3.x or Swagger 2.0 document, or a GraphQL
// schema (SDL or an introspection result). Every place that imports
// (config imports, the import API, validate --catalog) goes through it,
// so a new kind is added here once.
package importer

import (
	"fmt"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/connectors/graphql"
	"github.com/weftio/weft/connectors/openapi"
)

// Kinds of stored connector documents.
const (
	KindOpenAPI = "openapi"
	KindGraphQL = graphql.Kind
)

// Result says what an import did; Report is the kind's own report (its
// JSON is what the import API returns).
type Result struct {
	Kind     string
	Imported int
	Rejected int
	Report   any
}

// Kind tells a document's kind from its content.
func Kind(spec []byte) string {
	if graphql.Detect(spec) {
		return KindGraphQL
	}
	return KindOpenAPI
}

// Register imports spec (of the kind its content shows) as connector name.
func Register(cat *connectors.Catalog, name string, spec []byte) (*Result, error) {
	return RegisterKind(cat, Kind(spec), name, spec)
}

// RegisterKind imports spec as a document of kind ("" is openapi, as
// stored before kinds).
func RegisterKind(cat *connectors.Catalog, kind, name string, spec []byte) (*Result, error) {
	switch kind {
	case KindGraphQL:
		rep, err := graphql.Register(cat, name, spec)
		if err != nil {
			return nil, err
		}
		return &Result{Kind: kind, Imported: rep.Imported, Rejected: len(rep.Rejected), Report: rep}, nil
	case KindOpenAPI, "":
		rep, err := openapi.Register(cat, name, spec)
		if err != nil {
			return nil, err
		}
		return &Result{Kind: KindOpenAPI, Imported: rep.Imported, Rejected: len(rep.Rejected), Report: rep}, nil
	}
	return nil, fmt.Errorf("unknown connector document kind %q", kind)
}

// Annotate records import_annotations (hint overrides by operation) in a
// document of either kind.
func Annotate(spec []byte, overrides map[string]map[string]bool) ([]byte, error) {
	if Kind(spec) == KindGraphQL {
		return graphql.Annotate(spec, overrides)
	}
	return openapi.Annotate(spec, overrides)
}

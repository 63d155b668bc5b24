// Package importer imports a connector document of any kind Weft reads
// (OpenAPI 3.x / Swagger 2.0, an OData $metadata document (v2, v3, v4; XML
// or JSON CSDL), a GraphQL schema as SDL or an introspection result, a
// WSDL 1.1), choosing the importer by the document's content.
// Every place that imports (config imports, the import API, validate
// --catalog, stored connectors at start) goes through it, so a new kind is
// added here once.
package importer

import (
	"fmt"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/connectors/graphql"
	"github.com/weftio/weft/connectors/odata"
	"github.com/weftio/weft/connectors/openapi"
	"github.com/weftio/weft/connectors/soap"
)

// Kinds of stored documents (store.ConnectorSpec.Kind).
const (
	KindOpenAPI = "openapi"
	KindGraphQL = graphql.Kind
	KindWSDL    = soap.Kind
	KindOData   = "odata"
)

// Result is what an import did, whatever the document's kind.
type Result struct {
	Kind     string
	Imported int
	Rejected int
	Duration time.Duration
	Report   any // the kind's own report (its JSON is what the import API returns)
}

// Kind names the importer a document needs, from its content.
func Kind(spec []byte) string {
	switch {
	case odata.Sniff(spec):
		return KindOData
	case soap.IsWSDL(spec):
		return KindWSDL
	case graphql.Detect(spec):
		return KindGraphQL
	}
	return KindOpenAPI
}

// KindOf is Kind.
func KindOf(spec []byte) string { return Kind(spec) }

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
		return &Result{Kind: kind, Imported: rep.Imported, Rejected: len(rep.Rejected), Duration: rep.Duration, Report: rep}, nil
	case KindOData:
		rep, err := odata.Register(cat, name, spec)
		if err != nil {
			return nil, err
		}
		return &Result{Kind: kind, Imported: rep.Imported, Rejected: len(rep.Rejected), Duration: rep.Duration, Report: rep}, nil
	case KindWSDL:
		rep, err := soap.Register(cat, name, spec)
		if err != nil {
			return nil, err
		}
		return &Result{Kind: kind, Imported: rep.Imported, Rejected: len(rep.Rejected), Duration: rep.Duration, Report: rep}, nil
	case KindOpenAPI, "":
		rep, err := openapi.Register(cat, name, spec)
		if err != nil {
			return nil, err
		}
		return &Result{Kind: KindOpenAPI, Imported: rep.Imported, Rejected: len(rep.Rejected), Duration: rep.Duration, Report: rep}, nil
	}
	return nil, fmt.Errorf("unknown connector document kind %q", kind)
}

// Annotate records import_annotations (hint overrides by operation) in a
// document; a WSDL or an OData document takes none yet.
func Annotate(spec []byte, overrides map[string]map[string]bool) ([]byte, error) {
	switch k := Kind(spec); k {
	case KindWSDL, KindOData:
		if len(overrides) > 0 {
			what := map[string]string{KindWSDL: "a WSDL", KindOData: "an OData document"}[k]
			return nil, weft.Errorf(weft.EInvalid, "import annotations apply to OpenAPI and GraphQL documents, not yet to %s", what)
		}
		return spec, nil
	case KindGraphQL:
		return graphql.Annotate(spec, overrides)
	}
	return openapi.Annotate(spec, overrides)
}

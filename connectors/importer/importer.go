// Package importer imports a connector document of any kind Weft reads
// (OpenAPI 3.x / Swagger 2.0, WSDL 1.1), choosing the importer by the
// document's content, so the API, the config's imports: and the offline
// catalog accept them all through one call.
package importer

import (
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/connectors/openapi"
	"github.com/weftio/weft/connectors/soap"
)

// Kinds of stored documents (store.ConnectorSpec.Kind).
const (
	KindOpenAPI = "openapi"
	KindWSDL    = soap.Kind
)

// Result is what an import did, whatever the document's kind.
type Result struct {
	Kind     string
	Imported int
	Rejected int
	Duration time.Duration
	Report   any // the kind's own report (*openapi.Report, *soap.Report)
}

// KindOf names the importer a document needs.
func KindOf(spec []byte) string {
	if soap.IsWSDL(spec) {
		return KindWSDL
	}
	return KindOpenAPI
}

// Register imports spec as connector name into cat.
func Register(cat *connectors.Catalog, name string, spec []byte) (*Result, error) {
	if KindOf(spec) == KindWSDL {
		rep, err := soap.Register(cat, name, spec)
		if err != nil {
			return nil, err
		}
		return &Result{Kind: KindWSDL, Imported: rep.Imported, Rejected: len(rep.Rejected), Duration: rep.Duration, Report: rep}, nil
	}
	rep, err := openapi.Register(cat, name, spec)
	if err != nil {
		return nil, err
	}
	return &Result{Kind: KindOpenAPI, Imported: rep.Imported, Rejected: len(rep.Rejected), Duration: rep.Duration, Report: rep}, nil
}

// Annotate applies per-operation hint overrides to an OpenAPI document
// (openapi.Annotate); a WSDL takes none yet.
func Annotate(spec []byte, overrides map[string]map[string]bool) ([]byte, error) {
	if KindOf(spec) == KindWSDL {
		if len(overrides) > 0 {
			return nil, weft.Errorf(weft.EInvalid, "import annotations apply to OpenAPI documents only, not to a WSDL")
		}
		return spec, nil
	}
	return openapi.Annotate(spec, overrides)
}

// Package imports chooses the importer for a connector document: an
// OData $metadata document (connectors/odata) or an OpenAPI / Swagger
// document (connectors/openapi). Every place that imports a document
// (the config's imports, `weft connector import`, the API, validate)
// goes through Register, so each kind's operations reach the catalog,
// MCP, the console's palette and NL-to-flow the same way.
package imports

import (
	"fmt"
	"time"

	"github.com/weftio/weft/connectors"
	"github.com/weftio/weft/connectors/odata"
	"github.com/weftio/weft/connectors/openapi"
)

// Document kinds (store.ConnectorSpec.Kind).
const (
	KindOpenAPI = "openapi"
	KindOData   = "odata"
)

// Kind says which importer reads spec.
func Kind(spec []byte) string {
	if odata.Sniff(spec) {
		return KindOData
	}
	return KindOpenAPI
}

// Report summarises an import; Detail is the importer's own report.
type Report struct {
	Kind     string        `json:"kind"`
	Imported int           `json:"imported"`
	Rejected int           `json:"rejected"`
	Duration time.Duration `json:"duration"`
	Detail   any           `json:"detail"`
}

// Register imports spec as connector name into cat with the importer its
// content calls for.
func Register(cat *connectors.Catalog, name string, spec []byte) (*Report, error) {
	if Kind(spec) == KindOData {
		rep, err := odata.Register(cat, name, spec)
		if err != nil {
			return nil, err
		}
		return &Report{Kind: KindOData, Imported: rep.Imported, Rejected: len(rep.Rejected), Duration: rep.Duration, Detail: rep}, nil
	}
	rep, err := openapi.Register(cat, name, spec)
	if err != nil {
		return nil, err
	}
	return &Report{Kind: KindOpenAPI, Imported: rep.Imported, Rejected: len(rep.Rejected), Duration: rep.Duration, Detail: rep}, nil
}

// Annotate applies an import's annotation overrides (OpenAPI documents
// only for now: an OData document with overrides is an error that says so).
func Annotate(spec []byte, overrides map[string]map[string]bool) ([]byte, error) {
	if Kind(spec) == KindOData {
		if len(overrides) > 0 {
			return nil, fmt.Errorf("import_annotations are not supported for OData documents yet")
		}
		return spec, nil
	}
	return openapi.Annotate(spec, overrides)
}

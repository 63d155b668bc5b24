// Package odata imports an OData service from its $metadata document
// (CSDL: v2 EDMX XML with SAP annotations, v4 XML or JSON; read by
// connectors/odata/csdl) as a Weft connector whose operations look like
// OpenAPI-imported ones: list / get / create / update / delete per entity
// set, navigation properties, function imports, actions and bound
// functions, with the query options as typed inputs. Calls go through the
// built-in http connector (its address guard, credentials and error
// classes) and add OData's runtime: server-driven paging, ETags and
// If-Match, OData error bodies, SAP's x-csrf-token handshake and
// sap-client, and $batch change sets.
package odata

import "github.com/weftio/weft/connectors/odata/csdl"

// Model is a parsed service, with the schema and literal helpers the
// importer, the runtime and the sandbox share.
type Model struct{ *csdl.Model }

// The parsed document's parts.
type (
	Limits      = csdl.Limits
	EntityType  = csdl.EntityType
	EntitySet   = csdl.EntitySet
	ComplexType = csdl.ComplexType
	Property    = csdl.Property
	NavProperty = csdl.NavProperty
	Callable    = csdl.Callable
)

// DefaultLimits bound a $metadata document.
var DefaultLimits = csdl.DefaultLimits

// Parse reads a $metadata document within l (zero: DefaultLimits).
func Parse(data []byte, l Limits) (*Model, error) {
	m, err := csdl.Parse(data, l)
	if err != nil {
		return nil, err
	}
	return &Model{m}, nil
}

func collectionOf(t string) (string, bool) { return csdl.CollectionOf(t) }

func cut(s string, n int) string { return csdl.Cut(s, n) }

const maxInherit = csdl.MaxInherit

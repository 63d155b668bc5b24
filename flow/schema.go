package flow

import _ "embed"

//go:embed schema.json
var schemaJSON []byte

// Schema returns the published JSON Schema of the flow file format.
func Schema() []byte { return schemaJSON }

package server

import (
	"encoding/json"

	"github.com/mark3labs/mcp-go/mcp"
)

// incomingMessage is a JSON-RPC message's envelope and the parts of its
// params that are read before the method's own decoding: the transport's
// dispatch (response or request), the protocol era, the request's protocol
// info, the standard-header check and the trace context. Weft patch 8: the
// Streamable HTTP transport decoded the message's envelope, then its params
// for the era's version, then HandleMessage decoded the envelope again, the
// params' _meta again, and the params twice more for the name the Mcp-Name
// header and the x-mcp-header check compare with. Now the transport decodes
// the envelope and the params once (parseIncomingMessage) and hands the
// result to handleMessage; HandleMessage (stdio, SSE, in-process) parses the
// same way, once.
type incomingMessage struct {
	// The envelope. Every member is kept raw except method, so that a member
	// of the wrong type fails where it failed before: a non-string method
	// fails the whole decode (as in every decoder before), a non-string
	// jsonrpc fails in handleMessage (as in HandleMessage's decoder).
	JSONRPC json.RawMessage `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Method  mcp.MCPMethod   `json:"method"`
	Result  json.RawMessage `json:"result"`
	Error   json.RawMessage `json:"error"`
	Params  json.RawMessage `json:"params"`

	// id is ID decoded as a Go value (nil when absent or null).
	id any
	// meta is params._meta, decoded once; metaErr is set where params or
	// _meta do not decode (a request without _meta, to every reader).
	meta    *mcp.Meta
	metaErr error
	// name is the value the Mcp-Name header must match: params.name
	// (tools/call, prompts/get) or params.uri (resources/read); nameOK is
	// false where params or the member do not decode as a string.
	name   string
	nameOK bool
	// callParams is a tools/call request's params, decoded once here (their
	// _meta and name are meta and name); nil where they did not decode, or
	// for another method. The request's decoding takes them
	// (decodeCallToolRequest) rather than decoding the whole message again.
	callParams *mcp.CallToolParams
}

// parseIncomingMessage decodes message's envelope and params once. An error
// means the message is not a JSON-RPC object (undecodableMessage says how).
func parseIncomingMessage(message []byte) (*incomingMessage, error) {
	m := &incomingMessage{}
	if err := json.Unmarshal(message, m); err != nil {
		return nil, err
	}
	if len(m.ID) > 0 {
		_ = json.Unmarshal(m.ID, &m.id) // valid JSON: the envelope decoded
	}
	if len(m.Params) == 0 {
		// As before: no _meta, and no name to compare (the name decoders
		// failed on empty params).
		return m, nil
	}
	if m.Method == mcp.MethodToolsCall && string(m.Params) != "null" {
		cp := &mcp.CallToolParams{}
		if cp.UnmarshalJSON(m.Params) == nil {
			m.callParams, m.meta, m.name, m.nameOK = cp, cp.Meta, cp.Name, true
			return m, nil
		}
		// Params that do not decode: the general decoding below, as for
		// any method, and the request's decoding reports the error.
	}
	var p struct {
		Meta json.RawMessage `json:"_meta"`
		Name json.RawMessage `json:"name"`
		URI  json.RawMessage `json:"uri"`
	}
	if err := json.Unmarshal(m.Params, &p); err != nil {
		m.metaErr = err
		return m, nil
	}
	if len(p.Meta) > 0 && string(p.Meta) != "null" {
		meta := &mcp.Meta{}
		if err := meta.UnmarshalJSON(p.Meta); err != nil {
			m.metaErr = err
		} else {
			m.meta = meta
		}
	}
	raw := p.Name
	if m.Method == mcp.MethodResourcesRead {
		raw = p.URI
	}
	m.nameOK = true
	if len(raw) > 0 {
		m.nameOK = json.Unmarshal(raw, &m.name) == nil
	}
	return m, nil
}

// hasResult reports whether the message carries a non-null result (a
// response to a request the server sent).
func (m *incomingMessage) hasResult() bool {
	return len(m.Result) > 0 && string(m.Result) != "null"
}

// jsonrpcVersion is the message's jsonrpc member as a string; ok is false
// where it is not a string (or null).
func (m *incomingMessage) jsonrpcVersion() (v string, ok bool) {
	if len(m.JSONRPC) == 0 {
		return "", true
	}
	return v, json.Unmarshal(m.JSONRPC, &v) == nil
}

// decodeCallToolRequest decodes a tools/call request: from the params
// parseIncomingMessage decoded, or, where it could not, from the whole
// message (which then reports why). The result is json.Unmarshal(message,
// request)'s: CallToolRequest's only decoded members are method and params.
func (m *incomingMessage) decodeCallToolRequest(message []byte, request *mcp.CallToolRequest) error {
	if m.callParams == nil {
		return json.Unmarshal(message, request)
	}
	request.Method = string(m.Method)
	request.Params = *m.callParams
	return nil
}

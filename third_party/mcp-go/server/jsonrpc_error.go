package server

import (
	"encoding/json"
	"net/http"

	"github.com/mark3labs/mcp-go/mcp"
)

// jsonrpcErrorResponseWriter is the minimum surface needed by
// writeJSONRPCError to emit a JSON-RPC error response onto an HTTP-style
// transport. Both http.ResponseWriter and HTTPResponseWriter satisfy this
// interface, so the same helper serves the SSE and streamable HTTP
// transports.
type jsonrpcErrorResponseWriter interface {
	Header() http.Header
	WriteHeader(statusCode int)
	Write(p []byte) (int, error)
}

// writeJSONRPCError encodes a JSON-RPC error response identified by id with
// the given code and message and writes it to w with HTTP status 400 Bad
// Request and Content-Type application/json. If JSON encoding fails and
// onEncodeErr is non-nil, it is invoked with the encode error so callers
// can decide how to report the failure (e.g. log it, escalate to HTTP 500).
func writeJSONRPCError(
	w jsonrpcErrorResponseWriter,
	id any,
	code int,
	message string,
	onEncodeErr func(error),
) {
	response := createErrorResponse(id, code, message)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	if err := json.NewEncoder(w).Encode(response); err != nil && onEncodeErr != nil {
		onEncodeErr(err)
	}
}

// undecodableMessage classifies a message that did not decode into a
// JSON-RPC object (Weft patch 4). Text that is not JSON at all is a parse
// error (-32700); valid JSON of the wrong shape is an invalid request
// (-32600), as JSON-RPC 2.0 says: a batch (MCP removed batching in
// 2025-06-18), a bare value, or an object whose members have the wrong types.
func undecodableMessage(message []byte) (code int, text string) {
	if !json.Valid(message) {
		return mcp.PARSE_ERROR, "Parse error: the message is not valid json" // upstream's words (its tests look for them)
	}
	for _, c := range message {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '[':
			return mcp.INVALID_REQUEST, "Invalid request: JSON-RPC batches are not supported; send one message per request"
		case '{':
			return mcp.INVALID_REQUEST, "Invalid request: the message is not a valid JSON-RPC request object (a member has the wrong type)"
		}
		break
	}
	return mcp.INVALID_REQUEST, "Invalid request: a JSON-RPC message must be a JSON object"
}

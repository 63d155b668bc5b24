// Package weft holds the small error vocabulary every layer of Weft shares.
//
// Each error carries a machine-readable code, a message written for the user,
// and optionally a position (file:line:col) and a list of problems. The HTTP
// layer maps codes to status codes; the CLI and MCP print the message. The
// package imports nothing of ours and knows nothing about transport.
package weft

import (
	"errors"
	"fmt"
	"strings"
)

// Error codes. Keep this list short: callers branch on it.
const (
	EInvalid       = "invalid"       // malformed input (bad JSON, bad YAML, bad flag)
	EUnprocessable = "unprocessable" // well-formed but semantically wrong (flow validation)
	ENotFound      = "not_found"     // no such flow, run, version
	EConflict      = "conflict"      // duplicate, wrong state
	EUnauthorized  = "unauthorized"  // missing or bad credentials or signature
	EForbidden     = "forbidden"     // authenticated or not, this request may not do that (cross-site, wrong host)
	ETooLarge      = "too_large"     // payload over a configured limit
	ETimeout       = "timeout"       // a deadline passed
	ECanceled      = "canceled"      // canceled by a user
	EUnavailable   = "unavailable"   // try again later (shutting down, rate limited)
	EInternal      = "internal"      // a bug or an infrastructure failure
)

// Problem is one located finding, used for flow validation.
type Problem struct {
	Pos     string `json:"pos,omitempty"` // file:line:col
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	if p.Pos != "" {
		return p.Pos + ": " + p.Message
	}
	return p.Message
}

// Error is Weft's application error.
type Error struct {
	Code     string    `json:"code"`
	Message  string    `json:"message"`
	Problems []Problem `json:"problems,omitempty"`
	Err      error     `json:"-"` // wrapped cause, for operators' logs only
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error with a code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap builds an *Error that keeps cause for logs.
func Wrap(code string, cause error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: cause}
}

// Code returns the code of err, EInternal for foreign errors, "" for nil.
func Code(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// Message returns the user-facing message of err. Foreign errors are
// reported generically so internals never leak to users.
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

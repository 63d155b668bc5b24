package connectors

import "context"

// Progress reports how far a long operation has got (total 0: unknown).
type Progress func(progress, total float64, message string)

type progressKey struct{}

// WithProgress returns ctx carrying p: an operation that can report
// progress (a federated MCP tool) reports it there.
func WithProgress(ctx context.Context, p Progress) context.Context {
	return context.WithValue(ctx, progressKey{}, p)
}

// ProgressFrom returns the progress reporter of ctx (nil: none).
func ProgressFrom(ctx context.Context) Progress {
	p, _ := ctx.Value(progressKey{}).(Progress)
	return p
}

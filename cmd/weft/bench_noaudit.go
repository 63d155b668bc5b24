//go:build weft_bench_noaudit

package main

import (
	"context"
	"time"

	"github.com/weftio/weft/access"
	"github.com/weftio/weft/store"
)

// A benchmark build (go build -tags weft_bench_noaudit), never shipped:
// the API's audit log keeps nothing, so bench/authz.sh can measure an
// audited write route with and without its audit append in the same run.
// It says so loudly at start.
func init() {
	benchAuditLog = func() *access.Log { return access.NewLog(discardAudit{}) }
}

type discardAudit struct{}

func (discardAudit) AppendAudit(context.Context, func(store.AuditLink) (store.AuditRecord, error)) (store.AuditRecord, error) {
	return store.AuditRecord{}, nil
}

func (discardAudit) AuditRecords(context.Context, store.AuditFilter) ([]store.AuditRecord, error) {
	return nil, nil
}

func (discardAudit) AuditAnchor(context.Context) (store.AuditLink, error) {
	return store.AuditLink{}, nil
}

func (discardAudit) PurgeAudit(context.Context, time.Time) (int64, error) { return 0, nil }

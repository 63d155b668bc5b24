package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/weftio/weft/store"
)

var _ store.PredictSignals = (*Store)(nil)

// maxSignalBatch bounds one AppendPredictSignals call.
const maxSignalBatch = 1000

// AppendPredictSignals implements store.PredictSignals.
func (s *Store) AppendPredictSignals(ctx context.Context, sigs []store.PredictSignal) error {
	for len(sigs) > 0 {
		batch := sigs[:min(len(sigs), maxSignalBatch)]
		sigs = sigs[len(batch):]
		err := s.write(ctx, func(tx *sql.Tx) error {
			written := micros(time.Now())
			stmt, err := tx.PrepareContext(ctx, s.q(`INSERT INTO predict_signals (id, kind, subject, doc, at, written) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`))
			if err != nil {
				return s.wrap(err, "append prediction signals")
			}
			defer stmt.Close()
			for _, g := range batch {
				if _, err := stmt.ExecContext(ctx, g.ID, g.Kind, g.Subject, string(g.Doc), micros(g.At), written); err != nil {
					return s.wrap(err, "append prediction signals")
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// PredictSignalsSince implements store.PredictSignals.
func (s *Store) PredictSignalsSince(ctx context.Context, since time.Time, limit int) ([]store.PredictSignal, error) {
	if limit <= 0 || limit > 10000 {
		limit = 1000
	}
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT id, kind, subject, doc, at, written FROM predict_signals WHERE written >= ? ORDER BY written, id LIMIT ?`), micros(since), limit)
	if err != nil {
		return nil, s.wrap(err, "prediction signals")
	}
	defer rows.Close()
	var out []store.PredictSignal
	for rows.Next() {
		var g store.PredictSignal
		var doc string
		var at, written int64
		if err := rows.Scan(&g.ID, &g.Kind, &g.Subject, &doc, &at, &written); err != nil {
			return nil, s.wrap(err, "prediction signals")
		}
		g.Doc, g.At, g.Written = []byte(doc), fromMicros(at), fromMicros(written)
		out = append(out, g)
	}
	return out, s.wrap(rows.Err(), "prediction signals")
}

// PurgePredictSignals implements store.PredictSignals (by when written).
func (s *Store) PurgePredictSignals(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, s.q(`DELETE FROM predict_signals WHERE written < ?`), micros(before))
	if err != nil {
		return 0, s.wrap(err, "purge prediction signals")
	}
	n, _ := res.RowsAffected()
	return n, nil
}

var _ store.DatabaseSizer = (*Store)(nil)

// DatabaseSize implements store.DatabaseSizer.
func (s *Store) DatabaseSize(ctx context.Context) (int64, error) {
	query := `SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()`
	if s.dialect == Postgres {
		query = `SELECT pg_database_size(current_database())`
	}
	var n int64
	err := s.r.QueryRowContext(ctx, query).Scan(&n)
	return n, s.wrap(err, "database size")
}

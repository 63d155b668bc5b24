package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/weftio/weft"
	"github.com/weftio/weft/store"
)

var _ store.Products = (*Store)(nil)

// SaveProduct implements store.Products.
func (s *Store) SaveProduct(ctx context.Context, p store.ProductDoc) (store.ProductDoc, error) {
	if p.Namespace == "" {
		p.Namespace = store.DefaultNamespace
	}
	now := time.Now().UTC().Truncate(time.Microsecond) // as stored
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.namespaceExists(ctx, tx, p.Namespace); err != nil {
			return err
		}
		var rev, created int64
		err := tx.QueryRowContext(ctx, s.q(`SELECT revision, created_at FROM products WHERE name = ?`), p.Name).Scan(&rev, &created)
		switch {
		case err == sql.ErrNoRows:
			if p.Revision > 0 {
				return weft.Errorf(weft.EConflict, "product %q was deleted since revision %d was read", p.Name, p.Revision)
			}
			p.Revision, p.CreatedAt, p.UpdatedAt = 1, now, now
			_, err = tx.ExecContext(ctx, s.q(`INSERT INTO products (name, namespace, revision, doc, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`),
				p.Name, p.Namespace, p.Revision, string(p.Doc), micros(now), micros(now))
			if err != nil && s.isUniq(err) {
				return weft.Errorf(weft.EConflict, "product %q was created by another request", p.Name)
			}
			return s.wrap(err, "save product")
		case err != nil:
			return s.wrap(err, "product")
		}
		if p.Revision > 0 && p.Revision != rev {
			return weft.Errorf(weft.EConflict, "product %q changed since revision %d was read (it is at revision %d)", p.Name, p.Revision, rev)
		}
		p.Revision, p.CreatedAt, p.UpdatedAt = rev+1, fromMicros(created), now
		// The revision in the WHERE makes two racing saves of one revision
		// keep only the first.
		res, err := tx.ExecContext(ctx, s.q(`UPDATE products SET namespace = ?, revision = ?, doc = ?, updated_at = ? WHERE name = ? AND revision = ?`),
			p.Namespace, p.Revision, string(p.Doc), micros(now), p.Name, rev)
		if err != nil {
			return s.wrap(err, "save product")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return weft.Errorf(weft.EConflict, "product %q changed while it was being saved", p.Name)
		}
		return nil
	})
	if err != nil {
		return store.ProductDoc{}, err
	}
	return p, nil
}

const productCols = `name, namespace, revision, doc, created_at, updated_at`

func (s *Store) scanProducts(rows *sql.Rows) ([]store.ProductDoc, error) {
	defer rows.Close()
	var out []store.ProductDoc
	for rows.Next() {
		var p store.ProductDoc
		var doc string
		var c, u int64
		if err := rows.Scan(&p.Name, &p.Namespace, &p.Revision, &doc, &c, &u); err != nil {
			return nil, s.wrap(err, "products")
		}
		p.Doc, p.CreatedAt, p.UpdatedAt = []byte(doc), fromMicros(c), fromMicros(u)
		out = append(out, p)
	}
	return out, s.wrap(rows.Err(), "products")
}

// Product implements store.Products.
func (s *Store) Product(ctx context.Context, name string) (*store.ProductDoc, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT `+productCols+` FROM products WHERE name = ?`), name)
	if err != nil {
		return nil, s.wrap(err, "product")
	}
	ps, err := s.scanProducts(rows)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, weft.Errorf(weft.ENotFound, "no product %q", name)
	}
	return &ps[0], nil
}

// ProductList implements store.Products.
func (s *Store) ProductList(ctx context.Context) ([]store.ProductDoc, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT `+productCols+` FROM products ORDER BY name`))
	if err != nil {
		return nil, s.wrap(err, "products")
	}
	return s.scanProducts(rows)
}

// DeleteProduct implements store.Products.
func (s *Store) DeleteProduct(ctx context.Context, name string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`DELETE FROM products WHERE name = ?`), name)
		if err != nil {
			return s.wrap(err, "delete product")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return weft.Errorf(weft.ENotFound, "no product %q", name)
		}
		return nil
	})
}

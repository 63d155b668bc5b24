package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivermigrate"
)

// Open migrates Weft's schema (migrations: numbered .sql files) and River's
// on o.Writer, then returns the store.
func Open(ctx context.Context, o Options, migrations fs.FS) (*Store, error) {
	if err := MigrateAll(ctx, o.Writer, o.Driver, migrations, o.Dialect); err != nil {
		return nil, err
	}
	return New(o)
}

// MigrateAll applies Weft's migrations and then River's, on db and driver
// (which may be a pool of their own, with the session settings a migration
// wants).
func MigrateAll(ctx context.Context, db *sql.DB, driver riverdriver.Driver[*sql.Tx], migrations fs.FS, dialect string) error {
	if err := Migrate(ctx, db, migrations, dialect); err != nil {
		return err
	}
	m, err := rivermigrate.New(driver, nil)
	if err != nil {
		return err
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("river migrations: %w", err)
	}
	return nil
}

// Migrate applies the numbered *.sql files of fsys (001_name.sql, ...) that
// are newer than the recorded version, each in its own transaction. It is
// small on purpose: Weft's schema is a handful of tables and the same files
// must run on SQLite and PostgreSQL.
func Migrate(ctx context.Context, db *sql.DB, fsys fs.FS, dialect string) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS weft_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("migrations table: %w", err)
	}
	// Every migration not recorded yet runs, in order: not only those above
	// the highest recorded one, so a migration merged after a higher-numbered
	// one (010 after 012) still runs on a database that has the other.
	applied := map[int64]bool{}
	rows, err := db.QueryContext(ctx, `SELECT version FROM weft_migrations`)
	if err != nil {
		return fmt.Errorf("read migration versions: %w", err)
	}
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("read migration versions: %w", err)
		}
		applied[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read migration versions: %w", err)
	}
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		v, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a number", name)
		}
		if applied[int64(v)] {
			continue
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		for _, stmt := range strings.Split(string(body), ";\n") {
			if strings.TrimSpace(stmt) == "" {
				continue
			}
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				_ = tx.Rollback()
				return fmt.Errorf("migration %s: %w", name, err)
			}
		}
		ins := `INSERT INTO weft_migrations (version, name) VALUES (?, ?)`
		if dialect == Postgres {
			ins = `INSERT INTO weft_migrations (version, name) VALUES ($1, $2)`
		}
		if _, err := tx.ExecContext(ctx, ins, v, name); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("record migration %s: %w", name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
	}
	return nil
}

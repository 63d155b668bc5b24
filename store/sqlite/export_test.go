package sqlite

import "io/fs"

// Migrations is the embedded schema, for tests that build an older database.
func Migrations() fs.FS {
	sub, _ := fs.Sub(migrations, "migrations")
	return sub
}

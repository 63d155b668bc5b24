package sqlite

import "io/fs"

// Migrations is the embedded schema, for tests that build an older database.
func Migrations() fs.FS {
	sub, _ := fs.Sub(migrations, "migrations")
	return sub
}

// WALRestartFrames is the WAL's length at which the writer finishes a
// checkpoint.
const WALRestartFrames = walRestartFrames

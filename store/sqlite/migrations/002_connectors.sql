CREATE TABLE imported_connectors (
  name TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  spec TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE connections (
  name TEXT PRIMARY KEY,
  connector TEXT NOT NULL,
  key_id TEXT NOT NULL,
  sealed BLOB NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE connections (
  name TEXT PRIMARY KEY,
  connector TEXT NOT NULL,
  key_id TEXT NOT NULL,
  sealed BYTEA NOT NULL,
  updated_at BIGINT NOT NULL
);

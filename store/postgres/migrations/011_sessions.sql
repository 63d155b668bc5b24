-- Single sign-on users (source 'oidc', subject = issuer + ' ' + sub) and
-- cookie sessions that survive a restart. A session's id is kept only as
-- its SHA-256; its provider tokens only sealed with the master key.
ALTER TABLE users ADD COLUMN source TEXT NOT NULL DEFAULT 'local';
ALTER TABLE users ADD COLUMN subject TEXT;
CREATE UNIQUE INDEX users_subject ON users (source, subject);
CREATE TABLE sessions (
  id_hash TEXT PRIMARY KEY,
  principal_kind TEXT NOT NULL,
  principal_id TEXT NOT NULL,
  principal TEXT NOT NULL,
  csrf TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  tokens_key TEXT NOT NULL DEFAULT '',
  tokens BYTEA,
  tokens_expiry BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_principal ON sessions (principal_id);

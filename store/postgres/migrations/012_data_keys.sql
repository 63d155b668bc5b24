-- Envelope encryption of captured payloads: data keys, each wrapped
-- (sealed) by the master key key_id names. Payload columns of runs and
-- step_attempts hold "wsl1:<data key id>:<ciphertext>" once sealed.
CREATE TABLE data_keys (
  id TEXT PRIMARY KEY,
  key_id TEXT NOT NULL,
  wrapped BYTEA NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX data_keys_key_id ON data_keys (key_id);

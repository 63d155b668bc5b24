-- Runtime agents of a hybrid deployment: one per site. Only the SHA-256 of
-- an agent's credential is kept. last_seen, version and running are what
-- the agent last reported over its link (running: JSON list of the flow
-- versions it runs).
CREATE TABLE agents (
  site TEXT PRIMARY KEY,
  labels TEXT NOT NULL DEFAULT '{}',
  token_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  rotated_at INTEGER,
  revoked_at INTEGER,
  last_seen INTEGER,
  version TEXT NOT NULL DEFAULT '',
  running TEXT NOT NULL DEFAULT '[]'
);
CREATE UNIQUE INDEX agents_token_hash ON agents (token_hash);

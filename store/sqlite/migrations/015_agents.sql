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
  running TEXT NOT NULL DEFAULT '[]',
  health TEXT NOT NULL DEFAULT '{}'
);
CREATE UNIQUE INDEX agents_token_hash ON agents (token_hash);
-- The run metadata agents ship upstream (no payloads): keyed by site and
-- run id, so a run shipped twice is recorded once.
CREATE TABLE agent_runs (
  site TEXT NOT NULL,
  id TEXT NOT NULL,
  flow TEXT NOT NULL,
  version INTEGER NOT NULL,
  local_version INTEGER NOT NULL,
  status TEXT NOT NULL,
  trigger_kind TEXT NOT NULL,
  error_code TEXT NOT NULL DEFAULT '',
  failed_step TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  finished_at INTEGER,
  PRIMARY KEY (site, id)
);
CREATE INDEX agent_runs_finished ON agent_runs (finished_at);

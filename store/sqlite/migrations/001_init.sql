CREATE TABLE flow_versions (
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  file TEXT NOT NULL,
  source TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (name, version)
);
CREATE TABLE flows (
  name TEXT PRIMARY KEY,
  active_version INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE runs (
  id TEXT PRIMARY KEY,
  flow TEXT NOT NULL,
  version INTEGER NOT NULL,
  status TEXT NOT NULL,
  trigger_kind TEXT NOT NULL,
  idem_key TEXT,
  input TEXT,
  output TEXT,
  error_code TEXT,
  error_message TEXT,
  failed_step TEXT,
  override TEXT,
  sync INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  finished_at INTEGER
);
CREATE UNIQUE INDEX runs_idem ON runs (flow, idem_key) WHERE idem_key IS NOT NULL;
CREATE INDEX runs_flow_status ON runs (flow, status, id);
CREATE INDEX runs_status ON runs (status, id);
CREATE TABLE step_attempts (
  id INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL,
  flow TEXT NOT NULL,
  version INTEGER NOT NULL,
  step TEXT NOT NULL,
  step_key TEXT NOT NULL,
  kind TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  trigger_kind TEXT NOT NULL,
  status TEXT NOT NULL,
  worker TEXT,
  started_at INTEGER NOT NULL,
  finished_at INTEGER NOT NULL,
  duration_us INTEGER NOT NULL,
  input_size INTEGER NOT NULL,
  output_size INTEGER NOT NULL,
  error_class TEXT,
  error_message TEXT,
  input TEXT,
  output TEXT,
  checkpoint TEXT
);
CREATE INDEX step_attempts_run ON step_attempts (run_id, id);
CREATE TABLE trigger_state (
  flow TEXT PRIMARY KEY,
  cursor TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);

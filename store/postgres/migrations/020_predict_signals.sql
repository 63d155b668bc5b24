-- Error prediction (issue 24): what each process sees of upstreams
-- (rate-limit headroom, credential and certificate validity, refresh
-- attempts; doc is JSON, no secrets), kept so that every process of a
-- deployment on one database forecasts from all of them. Rows go after
-- a retention (PurgePredictSignals).
CREATE TABLE predict_signals (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  subject TEXT NOT NULL,
  doc TEXT NOT NULL,
  at BIGINT NOT NULL,
  written BIGINT NOT NULL
);
CREATE INDEX predict_signals_written ON predict_signals (written);

-- API consumers (apim): plans (rate limit and quotas), consumers
-- (applications), their subscriptions to products under a plan, their API
-- keys (SHA-256 only; the key is shown once), and the rate-limit state
-- every process shares (GCRA's theoretical arrival time and the quota
-- counters of the current day and month), so limits hold across
-- processes and survive restarts.
CREATE TABLE api_plans (
  name TEXT PRIMARY KEY,
  namespace TEXT NOT NULL DEFAULT 'default',
  description TEXT NOT NULL DEFAULT '',
  rate_per_second DOUBLE PRECISION NOT NULL DEFAULT 0,
  burst BIGINT NOT NULL DEFAULT 0,
  quota_day BIGINT NOT NULL DEFAULT 0,
  quota_month BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE api_consumers (
  name TEXT PRIMARY KEY,
  namespace TEXT NOT NULL DEFAULT 'default',
  description TEXT NOT NULL DEFAULT '',
  disabled BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE TABLE api_subscriptions (
  id TEXT PRIMARY KEY,
  consumer TEXT NOT NULL REFERENCES api_consumers (name) ON DELETE CASCADE,
  product TEXT NOT NULL,
  version TEXT NOT NULL DEFAULT '',
  plan TEXT NOT NULL REFERENCES api_plans (name),
  created_at BIGINT NOT NULL,
  UNIQUE (consumer, product)
);
CREATE INDEX api_subscriptions_plan ON api_subscriptions (plan);
CREATE TABLE api_consumer_keys (
  id TEXT PRIMARY KEY,
  consumer TEXT NOT NULL REFERENCES api_consumers (name) ON DELETE CASCADE,
  hash TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL,
  expires_at BIGINT,
  revoked_at BIGINT
);
CREATE INDEX api_consumer_keys_consumer ON api_consumer_keys (consumer);
CREATE TABLE api_limits (
  bucket TEXT PRIMARY KEY,
  tat BIGINT NOT NULL DEFAULT 0,
  day BIGINT NOT NULL DEFAULT 0,
  day_count BIGINT NOT NULL DEFAULT 0,
  month BIGINT NOT NULL DEFAULT 0,
  month_count BIGINT NOT NULL DEFAULT 0,
  allowed BIGINT NOT NULL DEFAULT 0, -- the last call's decision (for RETURNING)
  -- the limits the last call was counted under (GCRA's interval and
  -- tolerance in µs, the quotas): what the upsert's EXCLUDED row carries
  interval_us BIGINT NOT NULL DEFAULT 0,
  tolerance_us BIGINT NOT NULL DEFAULT 0,
  quota_day BIGINT NOT NULL DEFAULT 0,
  quota_month BIGINT NOT NULL DEFAULT 0
);

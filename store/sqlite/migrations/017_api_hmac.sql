-- HMAC-signed API calls (apim): a consumer credential is an API key
-- (kind 'api_key': only the SHA-256 of the key is kept) or an HMAC secret
-- (kind 'hmac': the secret itself, sealed with a data key wrapped by the
-- master key, since verifying a signature needs it; hash holds
-- 'hmac:' || id, which no key's SHA-256 equals). api_nonces remembers
-- each signed call's nonce until its timestamp leaves the window, so a
-- replay is refused by every process sharing the database.
ALTER TABLE api_consumer_keys ADD COLUMN kind TEXT NOT NULL DEFAULT 'api_key';
ALTER TABLE api_consumer_keys ADD COLUMN secret TEXT NOT NULL DEFAULT '';
CREATE TABLE api_nonces (
  key_id TEXT NOT NULL,
  nonce TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (key_id, nonce)
);
CREATE INDEX api_nonces_expires ON api_nonces (expires_at);
-- API analytics: each process's calls per minute and product, version,
-- route (the template, never the raw path) and consumer, with a latency
-- histogram (h00..h32: fixed buckets, apim.UsageBounds), so
-- /api/metrics/api sums every process and survives restarts. A process
-- rewrites its own rows of the current minute (its cumulative counts).
CREATE TABLE api_usage (
  minute INTEGER NOT NULL,
  process TEXT NOT NULL,
  product TEXT NOT NULL,
  version TEXT NOT NULL,
  route TEXT NOT NULL,
  consumer TEXT NOT NULL,
  calls INTEGER NOT NULL DEFAULT 0,
  client_errors INTEGER NOT NULL DEFAULT 0,
  server_errors INTEGER NOT NULL DEFAULT 0,
  rate_limited INTEGER NOT NULL DEFAULT 0,
  duration_us INTEGER NOT NULL DEFAULT 0,
  h00 INTEGER NOT NULL DEFAULT 0,
  h01 INTEGER NOT NULL DEFAULT 0,
  h02 INTEGER NOT NULL DEFAULT 0,
  h03 INTEGER NOT NULL DEFAULT 0,
  h04 INTEGER NOT NULL DEFAULT 0,
  h05 INTEGER NOT NULL DEFAULT 0,
  h06 INTEGER NOT NULL DEFAULT 0,
  h07 INTEGER NOT NULL DEFAULT 0,
  h08 INTEGER NOT NULL DEFAULT 0,
  h09 INTEGER NOT NULL DEFAULT 0,
  h10 INTEGER NOT NULL DEFAULT 0,
  h11 INTEGER NOT NULL DEFAULT 0,
  h12 INTEGER NOT NULL DEFAULT 0,
  h13 INTEGER NOT NULL DEFAULT 0,
  h14 INTEGER NOT NULL DEFAULT 0,
  h15 INTEGER NOT NULL DEFAULT 0,
  h16 INTEGER NOT NULL DEFAULT 0,
  h17 INTEGER NOT NULL DEFAULT 0,
  h18 INTEGER NOT NULL DEFAULT 0,
  h19 INTEGER NOT NULL DEFAULT 0,
  h20 INTEGER NOT NULL DEFAULT 0,
  h21 INTEGER NOT NULL DEFAULT 0,
  h22 INTEGER NOT NULL DEFAULT 0,
  h23 INTEGER NOT NULL DEFAULT 0,
  h24 INTEGER NOT NULL DEFAULT 0,
  h25 INTEGER NOT NULL DEFAULT 0,
  h26 INTEGER NOT NULL DEFAULT 0,
  h27 INTEGER NOT NULL DEFAULT 0,
  h28 INTEGER NOT NULL DEFAULT 0,
  h29 INTEGER NOT NULL DEFAULT 0,
  h30 INTEGER NOT NULL DEFAULT 0,
  h31 INTEGER NOT NULL DEFAULT 0,
  h32 INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (minute, process, product, version, route, consumer)
);

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
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (key_id, nonce)
);
CREATE INDEX api_nonces_expires ON api_nonces (expires_at);

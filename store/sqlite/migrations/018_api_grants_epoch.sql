-- API consumers (apim): one counter that every change to plans,
-- consumers, subscriptions and credentials raises in its own transaction.
-- A process that verified a credential remembers the grant it read with
-- the counter's value; each later call of that credential re-reads only
-- the counter, in the statement that counts the call, so any change
-- (a revocation, a disabled consumer, a new plan) holds from the next call
-- in every process without the call re-reading the whole grant.
CREATE TABLE api_grants_epoch (
  id INTEGER PRIMARY KEY,
  epoch BIGINT NOT NULL DEFAULT 0
);
INSERT INTO api_grants_epoch (id, epoch) VALUES (1, 0);
-- A consumer may name the client addresses it calls from (addresses and
-- CIDR prefixes, comma-separated; '' for any).
ALTER TABLE api_consumers ADD COLUMN allow_ips TEXT NOT NULL DEFAULT '';

-- Payloads agents ship with a run's metadata, only where the flow's
-- capture policy (full) and the site's policy (agent.ship_payloads) both
-- allow, redacted on the site before they leave it; sealed at rest here
-- like runs' payloads. NULL: not shipped.
ALTER TABLE agent_runs ADD COLUMN input TEXT;
ALTER TABLE agent_runs ADD COLUMN output TEXT;
ALTER TABLE agent_runs ADD COLUMN payload_omitted TEXT NOT NULL DEFAULT '';

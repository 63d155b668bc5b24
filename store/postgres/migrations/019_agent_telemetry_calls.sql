-- Hybrid deployment (issue 22): what an agent ships of its site's
-- monitoring (its latest alerts and key figures, JSON; no payloads), when
-- a process last held the agent's reach-in calls poll (a control plane of
-- many processes judges the site online from it), and the reach-in calls
-- routed through the database from the process an MCP client called to
-- the one the agent polls (state: queued, taken, done, cancelled; call,
-- result and the latest progress are JSON; rows go once the call is over).
ALTER TABLE agents ADD COLUMN telemetry TEXT NOT NULL DEFAULT '{}';
ALTER TABLE agents ADD COLUMN calls_seen BIGINT;
CREATE TABLE agent_calls (
  id TEXT PRIMARY KEY,
  site TEXT NOT NULL,
  call TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'queued',
  result TEXT,
  progress TEXT,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX agent_calls_site ON agent_calls (site, state);
CREATE INDEX agent_calls_expires ON agent_calls (expires_at);

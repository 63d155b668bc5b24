CREATE TABLE namespaces (
  name TEXT PRIMARY KEY,
  description TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL
);
INSERT INTO namespaces (name, description, created_at) VALUES ('default', 'where every resource of an install before namespaces lives', (EXTRACT(EPOCH FROM now()) * 1000000)::BIGINT);
ALTER TABLE flows ADD COLUMN namespace TEXT NOT NULL DEFAULT 'default';
ALTER TABLE connections ADD COLUMN namespace TEXT NOT NULL DEFAULT 'default';
ALTER TABLE mappings ADD COLUMN namespace TEXT NOT NULL DEFAULT 'default';
ALTER TABLE api_keys ADD COLUMN namespace TEXT NOT NULL DEFAULT 'default';
CREATE INDEX flows_namespace ON flows (namespace);

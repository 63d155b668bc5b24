CREATE TABLE namespaces (
  name TEXT PRIMARY KEY,
  description TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL
);
INSERT INTO namespaces (name, description, created_at) VALUES ('default', 'where every resource of an install before namespaces lives', CAST(strftime('%s', 'now') AS INTEGER) * 1000000);
ALTER TABLE flows ADD COLUMN namespace TEXT NOT NULL DEFAULT 'default';
ALTER TABLE connections ADD COLUMN namespace TEXT NOT NULL DEFAULT 'default';
ALTER TABLE mappings ADD COLUMN namespace TEXT NOT NULL DEFAULT 'default';
ALTER TABLE api_keys ADD COLUMN namespace TEXT NOT NULL DEFAULT 'default';
CREATE INDEX flows_namespace ON flows (namespace);

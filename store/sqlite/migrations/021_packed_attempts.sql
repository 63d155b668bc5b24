-- A finished run recorded in one write (the sync path) keeps its step
-- attempts packed in its own row when they carry no payloads: one row per
-- run instead of one per attempt plus an index entry each, so a commit
-- writes fewer pages. JSON array; the store expands it on read
-- (ListAttempts, Checkpoints), so every reader sees the same attempts.
ALTER TABLE runs ADD COLUMN attempts TEXT;

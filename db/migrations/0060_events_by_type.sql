-- A console that connects is shown the recent alerts (ws/snapshots.py): events of a few types over the last
-- hours, found by type and time rather than by reading the log backwards.
CREATE INDEX IF NOT EXISTS events_type_time ON events (type, occurred_at);

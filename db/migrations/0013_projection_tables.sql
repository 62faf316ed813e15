-- The projection tables (dispatch/registry.py, PROJECTIONS): current state folded from the events, in the same
-- transaction as the events, rebuilt by replaying the log (db/event_store.py, rebuild_projections). Until this
-- migration the server created them at start-up from code; IF NOT EXISTS keeps databases made that way as they
-- are. Each row: its key, whether it is open (the hot lists read only those), the seq of the last event folded
-- into it (the version an optimistic unit of work checks at commit), and the state as a JSON document.
CREATE TABLE IF NOT EXISTS incidents (
    id        bigint  PRIMARY KEY,
    is_open   boolean NOT NULL,
    last_seq  bigint  NOT NULL,
    doc       jsonb   NOT NULL
);
CREATE INDEX IF NOT EXISTS incidents_open ON incidents (is_open) WHERE is_open;

CREATE TABLE IF NOT EXISTS units (
    id        text    PRIMARY KEY,
    is_open   boolean NOT NULL,
    last_seq  bigint  NOT NULL,
    doc       jsonb   NOT NULL
);
CREATE INDEX IF NOT EXISTS units_open ON units (is_open) WHERE is_open;

CREATE TABLE IF NOT EXISTS hospitals (
    id        text    PRIMARY KEY,
    is_open   boolean NOT NULL,
    last_seq  bigint  NOT NULL,
    doc       jsonb   NOT NULL
);
CREATE INDEX IF NOT EXISTS hospitals_open ON hospitals (is_open) WHERE is_open;

CREATE TABLE IF NOT EXISTS assignments (
    id        bigint  PRIMARY KEY,
    is_open   boolean NOT NULL,
    last_seq  bigint  NOT NULL,
    doc       jsonb   NOT NULL
);
CREATE INDEX IF NOT EXISTS assignments_open ON assignments (is_open) WHERE is_open;

-- The editable registry (issue #19): stations and standby posts as a projection table like the others (folded
-- from StationRegistered/StationRetired, dispatch/registry.py), and each user's agency. IF NOT EXISTS: the
-- agencies work may add the same column.
CREATE TABLE IF NOT EXISTS stations (
    id        text    PRIMARY KEY,
    is_open   boolean NOT NULL,
    last_seq  bigint  NOT NULL,
    doc       jsonb   NOT NULL
);
CREATE INDEX IF NOT EXISTS stations_open ON stations (is_open) WHERE is_open;

ALTER TABLE users ADD COLUMN IF NOT EXISTS agency_id text NOT NULL DEFAULT '1669-cb';

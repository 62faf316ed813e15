-- Agencies and mutual aid (issue #19): two more projection tables of the same shape as 0013's (dispatch/registry.py
-- AGENCIES and MUTUAL_AID), and the agency a user belongs to (the 1669 centre unless told otherwise; the same
-- column as 0050_registry.sql's, which is skipped or skips this one, whichever runs first).
CREATE TABLE IF NOT EXISTS agencies (
    id        text    PRIMARY KEY,
    is_open   boolean NOT NULL,
    last_seq  bigint  NOT NULL,
    doc       jsonb   NOT NULL
);
CREATE INDEX IF NOT EXISTS agencies_open ON agencies (is_open) WHERE is_open;

CREATE TABLE IF NOT EXISTS mutual_aid (
    id        text    PRIMARY KEY,
    is_open   boolean NOT NULL,
    last_seq  bigint  NOT NULL,
    doc       jsonb   NOT NULL
);
CREATE INDEX IF NOT EXISTS mutual_aid_open ON mutual_aid (is_open) WHERE is_open;

ALTER TABLE users ADD COLUMN IF NOT EXISTS agency_id text NOT NULL DEFAULT '1669-cb';

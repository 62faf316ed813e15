-- The system of record: an append-only event log. Projections are rebuilt from it.
CREATE TABLE events (
    seq          bigserial PRIMARY KEY,
    stream       text        NOT NULL,
    type         text        NOT NULL,
    payload      jsonb       NOT NULL,
    actor        text        NOT NULL,
    occurred_at  timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_stream_seq ON events (stream, seq);

-- Events are never changed or removed.
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only';
END $$;
CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();

CREATE SEQUENCE incident_id_seq AS bigint;

-- First result of an idempotent request (intake Idempotency-Key, Twilio CallSid, device message id).
CREATE TABLE idempotency (
    scope       text        NOT NULL,
    key         text        NOT NULL,
    result      jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);

-- How far the relay has published the log to Redis.
CREATE TABLE relay_cursor (
    name      text   PRIMARY KEY,
    last_seq  bigint NOT NULL
);

-- Issue #18, the call itself: where a dispatcher's calls ring (desk phone or SIP address, on the user profile), and
-- the live state of every 1669 call in the Twilio queue. The facts (answered, abandoned, recorded) are events on
-- the incident's stream; this table is edge state that makes "one dispatcher answers" a single conditional UPDATE.
ALTER TABLE users ADD COLUMN desk_line text;  -- E.164 number or sip: address; NULL = this user cannot answer calls

CREATE TABLE calls (
    call_sid       text        PRIMARY KEY,
    incident_id    bigint      NOT NULL,
    phone          text,
    state          text        NOT NULL DEFAULT 'waiting' CHECK (state IN ('waiting', 'active', 'abandoned', 'ended')),
    queued_at      timestamptz NOT NULL,
    answered_at    timestamptz,
    answered_by    text,
    ended_at       timestamptz,
    recording_sid  text,
    recording_url  text,
    recording_duration_s int,
    overdue_alerted_at timestamptz  -- when dispatchers were alerted that it waited too long (once per call)
);
CREATE INDEX calls_state ON calls (state, queued_at);
CREATE INDEX calls_incident ON calls (incident_id);

-- Short-lived links that play a call recording in the browser (an <audio> element cannot send a bearer token);
-- only the SHA-256 of the token is kept, as for share_links.
CREATE TABLE recording_links (
    token_sha256  text        PRIMARY KEY,
    call_sid      text        NOT NULL REFERENCES calls (call_sid),
    actor         text        NOT NULL,
    expires_at    timestamptz NOT NULL
);

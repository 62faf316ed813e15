-- Integrations (issue #6): outbound message status, caller location links, panic-button devices and their
-- signed-webhook nonces, citizen-app API keys, hospital FHIR endpoints. Facts that dispatchers act on are events;
-- these tables hold edge state (credentials, delivery status, replay guards) that must never be fanned out.

-- Every SMS / voice call sent through Twilio; `status_rank` only grows (callbacks arrive duplicated and reordered).
CREATE TABLE outbound_messages (
    sid          text        PRIMARY KEY,
    kind         text        NOT NULL,          -- sms | voice
    to_phone     text,
    incident_id  bigint,
    purpose      text,                          -- e.g. share_link, dispatcher_reply, crew_escalation
    status       text        NOT NULL,
    status_rank  int         NOT NULL,
    error_code   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbound_messages_incident ON outbound_messages (incident_id) WHERE incident_id IS NOT NULL;

-- One-time links sent to callers to share their phone's location; only the SHA-256 of the token is kept.
CREATE TABLE share_links (
    token_sha256  text        PRIMARY KEY,
    incident_id   bigint      NOT NULL,
    expires_at    timestamptz NOT NULL,
    used_at       timestamptz
);

-- Panic-button devices. The secret signs webhooks (HMAC-SHA256), so it is kept (not hashed); never sent out.
CREATE TABLE devices (
    id                 text        PRIMARY KEY,
    secret             text        NOT NULL,
    person             text        NOT NULL,
    address            text,
    lat                double precision,
    lon                double precision,
    medical_notes      text,
    contact_phones     jsonb       NOT NULL DEFAULT '[]',
    registered_at      timestamptz NOT NULL DEFAULT now(),
    last_heartbeat_at  timestamptz,
    battery_pct        int,
    heartbeat_alerted  boolean     NOT NULL DEFAULT false,
    battery_alerted    boolean     NOT NULL DEFAULT false,
    last_press_at      timestamptz,
    last_incident_id   bigint
);

-- Nonces of accepted signed webhooks (kept past the timestamp window, so a replay is always refused).
CREATE TABLE webhook_nonces (
    source   text        NOT NULL,
    nonce    text        NOT NULL,
    seen_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, nonce)
);

-- Citizen-app API keys: only the SHA-256 of the key is stored.
CREATE TABLE api_keys (
    id           text        PRIMARY KEY,
    name         text        NOT NULL,
    key_sha256   text        NOT NULL UNIQUE,
    rate_per_min int         NOT NULL,
    burst        int         NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);

-- Where a hospital receives FHIR R4 pre-arrival bundles; SMS to `sms_phone` (or the hospital's phone) if it fails.
CREATE TABLE hospital_endpoints (
    hospital_id  text PRIMARY KEY,
    fhir_url     text,
    sms_phone    text
);

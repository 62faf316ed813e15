-- People and devices that connect, and their bearer tokens (only a SHA-256 of each token is stored).
CREATE TABLE users (
    id           text PRIMARY KEY,
    name         text NOT NULL,
    role         text NOT NULL CHECK (role IN ('dispatcher', 'crew', 'hospital', 'admin', 'device')),
    unit_id      text,
    hospital_id  text,
    phone        text,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tokens (
    token_hash  bytea PRIMARY KEY,
    user_id     text        NOT NULL REFERENCES users (id),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tokens_user ON tokens (user_id);

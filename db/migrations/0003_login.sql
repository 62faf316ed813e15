-- Password login for people (scrypt hash: "scrypt$n$r$p$salt_hex$hash_hex"); devices use tokens only.
ALTER TABLE users ADD COLUMN password_hash text;
ALTER TABLE users ADD COLUMN disabled_at timestamptz;

-- Thinned AVL track for replay and KPIs (latest positions live in Redis).
CREATE TABLE unit_positions (
    unit_id      text             NOT NULL,
    recorded_at  timestamptz      NOT NULL,
    lat          double precision NOT NULL,
    lon          double precision NOT NULL,
    speed_mps    real,
    heading_deg  real,
    accuracy_m   real,
    PRIMARY KEY (unit_id, recorded_at)
);

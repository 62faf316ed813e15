-- MQTT messages the listener could not use (malformed or too deep JSON, unknown device, a press that could not be
-- stored after every redelivery). Each is acknowledged to the broker so it is never redelivered forever, and kept
-- here with its raw bytes for review; dispatchers are alerted where an emergency may be involved.
CREATE TABLE mqtt_dead_letters (
    id bigserial PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    topic text NOT NULL,
    reason text NOT NULL,
    payload bytea NOT NULL,          -- the raw bytes, cut at EMS_MQTT_DEAD_LETTER_MAX_BYTES
    payload_bytes integer NOT NULL   -- the length as received
);
CREATE INDEX mqtt_dead_letters_received_at ON mqtt_dead_letters (received_at);

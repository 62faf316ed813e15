-- The statements of a unit of work that need the append lock (db/event_store.py, PgUnitOfWork).
--
-- Commit a unit of work in one statement (db/event_store.py, PgUnitOfWork.commit), from one JSON document with
-- named fields instead of 0012's nineteen positional arrays:
--   {"lock_key": 123, "lock_timeout_ms": 2000, "actor": "dispatcher:d1",
--    "checks": [{"table": "incidents", "id": 42, "version": 17}],     -- rows read: last_seq (0 = absent) then
--    "claims": [{"scope": "intake", "key": "k1", "result": {...}, "fresh": true}],
--    "events": [{"stream": "incident-42", "type": "CallersAdded", "payload": {...}, "occurred_at": "…Z"}],
--    "rows":   [{"table": "incidents", "id": 42, "is_open": true, "event": 1, "doc": {...}}]}
-- Under the append lock (waited for at most lock_timeout_ms: a stuck holder makes this fail with
-- lock_not_available instead of hanging): every checked row must still carry the version it was read at; each
-- fresh claim's idempotency key must still be free (a claim that is not fresh sets the result of a key claimed
-- earlier); then the events get their seqs in order, and each row its document stamped with the seq of its
-- last event ("event", 1-based). Returns the seqs. A failed check raises serialization_failure and writes
-- nothing: the caller runs the unit again. Ids are JSON numbers or strings, quoted as literals (%L) so that
-- PostgreSQL casts them to the key type of each table. VOLATILE: each query sees what committed before it.
DROP FUNCTION IF EXISTS ems_commit_unit(bigint, text[], text[], text[], bigint[], text[], text[], jsonb[],
    timestamptz[], text, text[], text[], text[], boolean[], int[], jsonb[], text[], text[], jsonb[]);

CREATE FUNCTION ems_commit_unit(unit jsonb) RETURNS bigint[] LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    item jsonb;
    found_version bigint;
    seqs bigint[] := '{}';
    seq bigint;
    fresh_claims int;
    claimed int;
BEGIN
    PERFORM set_config('lock_timeout', (unit->>'lock_timeout_ms') || 'ms', true);
    PERFORM pg_advisory_xact_lock((unit->>'lock_key')::bigint);
    FOR item IN SELECT value FROM jsonb_array_elements(unit->'checks') LOOP
        EXECUTE format('SELECT last_seq FROM %I WHERE id = %L', item->>'table', item->>'id') INTO found_version;
        IF coalesce(found_version, 0) <> (item->>'version')::bigint THEN
            RAISE EXCEPTION USING ERRCODE = 'serialization_failure',
                MESSAGE = format('%s %s changed since it was read', item->>'table', item->>'id');
        END IF;
    END LOOP;
    SELECT count(*) INTO fresh_claims FROM jsonb_array_elements(unit->'claims') AS c WHERE (c->>'fresh')::boolean;
    IF fresh_claims > 0 THEN
        INSERT INTO idempotency (scope, key, result)
            SELECT c->>'scope', c->>'key', nullif(c->'result', 'null'::jsonb)
            FROM jsonb_array_elements(unit->'claims') AS c WHERE (c->>'fresh')::boolean
            ON CONFLICT DO NOTHING;
        GET DIAGNOSTICS claimed = ROW_COUNT;
        IF claimed <> fresh_claims THEN
            RAISE EXCEPTION USING ERRCODE = 'serialization_failure', MESSAGE = 'idempotency key claimed meanwhile';
        END IF;
    END IF;
    INSERT INTO idempotency (scope, key, result)
        SELECT c->>'scope', c->>'key', nullif(c->'result', 'null'::jsonb)
        FROM jsonb_array_elements(unit->'claims') AS c WHERE NOT (c->>'fresh')::boolean
        ON CONFLICT (scope, key) DO UPDATE SET result = EXCLUDED.result;
    FOR item IN SELECT value FROM jsonb_array_elements(unit->'events') WITH ORDINALITY ORDER BY ordinality LOOP
        INSERT INTO events (stream, type, payload, actor, occurred_at)
            VALUES (item->>'stream', item->>'type', item->'payload', unit->>'actor', (item->>'occurred_at')::timestamptz)
            RETURNING events.seq INTO seq;
        seqs := seqs || seq;
    END LOOP;
    FOR item IN SELECT value FROM jsonb_array_elements(unit->'rows') LOOP
        seq := seqs[(item->>'event')::int];
        EXECUTE format('INSERT INTO %I (id, is_open, last_seq, doc) VALUES (%L, $1, $2,'
                       ' jsonb_set($3, ''{last_seq}'', to_jsonb($2)))'
                       ' ON CONFLICT (id) DO UPDATE SET is_open = EXCLUDED.is_open, last_seq = EXCLUDED.last_seq,'
                       ' doc = EXCLUDED.doc', item->>'table', item->>'id')
            USING (item->>'is_open')::boolean, seq, item->'doc';
    END LOOP;
    RETURN seqs;
END $$;

-- A serialised unit's read of one projection row (its document, or NULL when absent), or with row_table NULL of
-- one idempotency entry ({"result": …}, or NULL when the key is free), after taking the append lock (waited for
-- at most lock_timeout_ms, kept for the rest of the transaction). One round trip, and the read runs in a
-- snapshot taken after the lock is held: a plain statement that waits for the lock would read as of before the
-- wait and miss what the previous holder committed. VOLATILE for that reason.
CREATE FUNCTION ems_locked_read(lock_key bigint, lock_timeout_ms int, row_table text, row_id text,
                                for_update boolean, claim_scope text, claim_key text)
RETURNS jsonb LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    found jsonb;
BEGIN
    PERFORM set_config('lock_timeout', lock_timeout_ms || 'ms', true);
    PERFORM pg_advisory_xact_lock(lock_key);
    IF row_table IS NULL THEN
        SELECT jsonb_build_object('result', result) INTO found FROM idempotency
            WHERE scope = claim_scope AND key = claim_key;
    ELSE
        EXECUTE format('SELECT doc FROM %I WHERE id = %L', row_table, row_id)
            || CASE WHEN for_update THEN ' FOR UPDATE' ELSE '' END INTO found;
    END IF;
    RETURN found;
END $$;

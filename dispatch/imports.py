"""Registry files to rows: CSV (a header row naming the fields) and GeoJSON (Point features, e.g. OpenStreetMap
extracts such as data/osm/chonburi_emergency_pois.geojson). Pure: no I/O, nothing checked against stored data
(dispatch/resources.py plans each row).

CSV: UTF-8 (a byte-order mark is fine), comma-separated, one record per line after the header; column names are the
field names (`hospital_id, name_th, name_en, lat, lon, capabilities, ...`), case and spaces ignored, unknown columns
ignored; a `retire` column (yes/true/1) retires the record. Row numbers are file line numbers (the header is 1).

GeoJSON: a FeatureCollection; each Point feature's properties are the fields, its coordinates the location. OSM
tags are understood: `id` ("way/123" becomes "way-123", the demo's ids), `name` / `name:th` → name_th, `name:en` →
name_en, `phone`. Features of another amenity than the kind imported (a fire station in a hospital import) are
skipped and counted; a feature without any name gets one made from its OSM id, with a warning.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from dispatch.error_codes import ErrorCode
from dispatch.errors import FieldError, Invalid

MAX_COLUMNS = 50
AMENITY_OF_KIND = {"hospitals": "hospital", "stations": "fire_station"}
PLACEHOLDER_NAMES = {"hospitals": ("โรงพยาบาล (OSM {osm})", "Hospital (OSM {osm})"),
                     "stations": ("สถานี (OSM {osm})", "Station (OSM {osm})"),
                     "units": ("หน่วย (OSM {osm})", "Unit (OSM {osm})")}
ID_FIELDS = {"hospitals": "hospital_id", "stations": "station_id", "units": "unit_id"}


@dataclass
class ImportRow:
    """One record read from a file: its row number, its fields as given, and warnings that do not block it."""

    number: int
    values: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


@dataclass
class ParsedFile:
    rows: list[ImportRow]
    skipped: int = 0  # GeoJSON features of another kind


def parse_csv(text: str, columns: Collection[str] = ()) -> ParsedFile:
    """Rows of a CSV file. Raises Invalid (field `body`) when there is no header, a column name is empty or
    repeated, the header names none of `columns` (the kind's; when given), or a line has more cells than the
    header."""
    lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    while lines and not any(cell.strip() for cell in lines[0]):
        lines.pop(0)
    if not lines:
        raise Invalid(FieldError("body", ErrorCode.CSV_EMPTY))
    header = [name.strip().lower().replace(" ", "_") for name in lines[0]]
    if len(header) > MAX_COLUMNS or any(not name for name in header) or len(set(header)) != len(header):
        raise Invalid(FieldError("body", ErrorCode.CSV_HEADER))
    if columns and not set(header) & set(columns):
        raise Invalid(FieldError("body", ErrorCode.CSV_NO_KNOWN_COLUMN, columns=", ".join(sorted(columns))))
    rows: list[ImportRow] = []
    errors: list[FieldError] = []
    for number, cells in enumerate(lines[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue  # blank line
        if len(cells) > len(header):
            errors.append(FieldError(f"row {number}", ErrorCode.CSV_CELL_COUNT, cells=len(cells), columns=len(header)))
            continue
        rows.append(ImportRow(number, dict(zip(header, cells))))
    if errors:
        raise Invalid(errors)
    return ParsedFile(rows)


def parse_geojson(doc: Any, kind: str) -> ParsedFile:
    """Rows of a GeoJSON FeatureCollection for an import of `kind` (stations, units, hospitals); row numbers count
    features from 1. Raises Invalid (field `body`) when it is not a FeatureCollection."""
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        raise Invalid(FieldError("body", ErrorCode.MUST_BE_FEATURE_COLLECTION))
    parsed = ParsedFile([])
    for number, feature in enumerate(doc["features"], start=1):
        properties = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(properties, dict):
            parsed.rows.append(ImportRow(number, {}, ["feature has no properties"]))
            continue
        amenity = properties.get("amenity")
        if amenity is not None and kind in AMENITY_OF_KIND and amenity != AMENITY_OF_KIND[kind]:
            parsed.skipped += 1
            continue
        parsed.rows.append(_feature_row(number, feature, properties, kind))
    return parsed


def _feature_row(number: int, feature: dict, properties: dict, kind: str) -> ImportRow:
    id_field = ID_FIELDS.get(kind, "id")
    values = {k: v for k, v in properties.items() if ":" not in k and k not in ("id", "name", "kind", "amenity")}
    if properties.get("kind") in ("station", "post"):  # OSM extracts use `kind` for the amenity instead
        values["kind"] = properties["kind"]
    osm_id = properties.get(id_field) or properties.get("id") or feature.get("id")
    row = ImportRow(number, values)
    if isinstance(osm_id, str | int):
        values[id_field] = str(osm_id).replace("/", "-")
    name_th = properties.get("name_th") or properties.get("name:th") or properties.get("name")
    name_en = properties.get("name_en") or properties.get("name:en")
    if not name_th and name_en:
        name_th = name_en
    if not name_th and kind in PLACEHOLDER_NAMES and osm_id is not None:
        name_th, name_en = (pattern.format(osm=osm_id) for pattern in PLACEHOLDER_NAMES[kind])
        row.warnings.append(f"has no name in the file: named {name_en!r} (edit it after the import)")
    if kind != "units":
        values["name_th"], values["name_en"] = name_th, name_en
    geometry = feature.get("geometry")
    coordinates = geometry.get("coordinates") if isinstance(geometry, dict) else None
    if isinstance(coordinates, list) and len(coordinates) >= 2 and geometry.get("type") == "Point":
        values["lon"], values["lat"] = coordinates[:2]
    elif "lat" not in values:
        values["location"] = "not a Point"  # read_fields names the field
    return row

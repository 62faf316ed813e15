"""The registry's record kinds (stations and posts, units, hospitals, users): their fields, how each is read from
JSON or from a CSV cell, and the record a projection row stands for. Pure: the service (dispatch/resources.py)
adds what needs stored data (does the home station exist, is the unit retired).

A record is a plain dict of field → value, the same whether it came from an API body, a CSV row or a GeoJSON
feature: text is trimmed, an empty CSV cell counts as absent, numbers may come as text ("12"), lists as text split
on ";" or "," ("trauma;stroke"), a location as `location: {lat, lon}` or as `lat` and `lon`.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from dispatch.access import ROLES
from dispatch.error_codes import ErrorCode
from dispatch.errors import FieldError
from dispatch.model import DEFAULT_AGENCY, Capability, Hospital, LatLon, Station, Unit

HOSPITAL_CAPABILITIES = ("trauma", "stroke", "stemi", "paediatric", "obstetric")
_CAPABILITY_ALIASES = {"pediatric": "paediatric", "pediatrics": "paediatric", "paediatrics": "paediatric",
                       "obstetrics": "obstetric", "ob": "obstetric", "stemi/pci": "stemi", "pci": "stemi"}
STATION_KINDS = ("station", "post")
MAX_NAME = 200
MAX_BEDS = 1000
TRUE_WORDS = ("true", "yes", "y", "1", "x")


class Problem(ValueError):
    """Why one value cannot be read (the field is named by the caller): a code and its params."""

    def __init__(self, code: ErrorCode, **params: Any):
        super().__init__(code.text(**params))
        self.code, self.params = code, params


def text(max_len: int = MAX_NAME) -> Callable[[Any], str]:
    """A reader of one line of text (trimmed, 1..max_len characters, no control characters)."""
    def read(raw: Any) -> str:
        if not isinstance(raw, str):
            raise Problem(ErrorCode.MUST_BE_TEXT)
        value = raw.strip()
        if not value or len(value) > max_len:
            raise Problem(ErrorCode.LENGTH_BETWEEN, min=1, max=max_len)
        if any(ord(c) < 32 or c == "\x7f" for c in value):
            raise Problem(ErrorCode.NO_CONTROL_CHARACTERS)
        return value
    return read


def identifier(max_len: int, extra: str = "") -> Callable[[Any], str]:
    """A reader of record ids: letters, digits and `_.-` (plus `extra`), as the API's URL paths allow."""
    matcher, line = re.compile(f"[A-Za-z0-9_.{re.escape(extra)}-]{{1,{max_len}}}"), text(max_len)

    def read(raw: Any) -> str:
        value = line(raw)
        if not matcher.fullmatch(value):
            raise Problem(ErrorCode.IDENTIFIER, max=max_len, extra=f" {extra}" if extra else "")
        return value
    return read


def whole(low: int, high: int) -> Callable[[Any], int]:
    """A reader of whole numbers from `low` to `high` (JSON integers, or digits in a CSV cell)."""
    def read(raw: Any) -> int:
        if isinstance(raw, str) and re.fullmatch(r"\s*[0-9]{1,7}\s*", raw):
            raw = int(raw)
        if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= high:
            raise Problem(ErrorCode.MUST_BE_WHOLE_BETWEEN, low=low, high=high)
        return raw
    return read


def choice(options: tuple[str, ...], *, upper: bool = False, aliases: dict[str, str] | None = None
           ) -> Callable[[Any], str]:
    """A reader of one of `options` (case-insensitive)."""
    def read(raw: Any) -> str:
        if not isinstance(raw, str):
            raise Problem(ErrorCode.MUST_BE_ONE_OF, allowed=", ".join(options))
        value = raw.strip().upper() if upper else raw.strip().lower()
        value = (aliases or {}).get(value, value)
        if value not in options:
            raise Problem(ErrorCode.MUST_BE_ONE_OF, allowed=", ".join(options))
        return value
    return read


def listing(item: Callable[[Any], str], max_items: int = 20) -> Callable[[Any], list[str]]:
    """A reader of a list (JSON array, or text split on ";" or ","), each item read by `item`, duplicates dropped."""
    def read(raw: Any) -> list[str]:
        if isinstance(raw, str):
            raw = [part for part in re.split(r"[;,]", raw) if part.strip()]
        if not isinstance(raw, list) or len(raw) > max_items:
            raise Problem(ErrorCode.LIST_AT_MOST, max=max_items)
        values: list[str] = []
        for entry in raw:
            value = item(entry)
            if value not in values:
                values.append(value)
        return values
    return read


def phone(raw: Any) -> str:
    """An E.164 number; Thai national numbers (0xx...) become +66, spaces, dashes and brackets are dropped."""
    if not isinstance(raw, str):
        raise Problem(ErrorCode.MUST_BE_PHONE)
    digits = re.sub(r"[\s().-]", "", raw)
    if re.fullmatch(r"0[0-9]{8,9}", digits):
        digits = "+66" + digits[1:]
    if not re.fullmatch(r"\+[1-9][0-9]{7,14}", digits):
        raise Problem(ErrorCode.MUST_BE_PHONE)
    return digits


def url(raw: Any) -> str:
    """An http(s) URL of at most 500 characters (a FHIR server's base URL)."""
    value = text(500)(raw)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or " " in value:
        raise Problem(ErrorCode.MUST_BE_URL)
    return value


def password(raw: Any) -> str:
    """A password of 10 to 200 characters (kept only as a scrypt hash)."""
    if not isinstance(raw, str) or not 10 <= len(raw) <= 200:
        raise Problem(ErrorCode.LENGTH_BETWEEN, min=10, max=200)
    return raw


def location(raw: Any) -> LatLon:
    """A point {lat, lon} in range, not 0,0 (what a device without a fix sends)."""
    if not isinstance(raw, dict):
        raise Problem(ErrorCode.LOCATION_OBJECT)
    values = []
    for name, limit in (("lat", 90), ("lon", 180)):
        value = raw.get(name)
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                raise Problem(ErrorCode.COORDINATE_NOT_NUMBER, name=name) from None
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
                or not -limit <= value <= limit:
            raise Problem(ErrorCode.COORDINATE_RANGE, name=name, low=-limit, high=limit)
        values.append(float(value))
    if values == [0.0, 0.0]:
        raise Problem(ErrorCode.NULL_ISLAND)
    return LatLon(*values)


def flag(raw: Any) -> bool:
    """true/false, or in a CSV cell yes/no, 1/0, x."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        return raw.strip().lower() in TRUE_WORDS
    raise Problem(ErrorCode.MUST_BE_BOOLEAN)


@dataclass(frozen=True)
class Field:
    name: str
    read: Callable[[Any], Any]
    required: bool = False  # on create


@dataclass(frozen=True)
class Kind:
    """One kind of registry record: its projection (None for users: the users table), its id field and fields."""

    name: str  # stations | units | hospitals | users
    projection: str | None
    id_field: str
    fields: tuple[Field, ...]

    @property
    def field_names(self) -> tuple[str, ...]:
        """The names of every field, id first."""
        return tuple(f.name for f in self.fields)


AGENCY = Field("agency_id", identifier(40))
NAME_TH, NAME_EN = Field("name_th", text(), True), Field("name_en", text())
STATIONS = Kind("stations", "stations", "station_id", (
    Field("station_id", identifier(60), True), NAME_TH, NAME_EN, Field("location", location, True), AGENCY,
    Field("kind", choice(STATION_KINDS))))
UNITS = Kind("units", "units", "unit_id", (
    Field("unit_id", identifier(40), True), Field("capability", choice(tuple(c.value for c in Capability), upper=True),
                                                  True),
    AGENCY, Field("station_id", identifier(60), True), Field("location", location), Field("phone", phone),
    Field("crew", listing(text(100)))))
HOSPITALS = Kind("hospitals", "hospitals", "hospital_id", (
    Field("hospital_id", identifier(60), True), NAME_TH, NAME_EN, Field("location", location, True),
    Field("capabilities", listing(choice(HOSPITAL_CAPABILITIES, aliases=_CAPABILITY_ALIASES))),
    Field("ed_beds", whole(0, MAX_BEDS)), Field("ed_beds_free", whole(0, MAX_BEDS)), Field("phone", phone),
    Field("fhir_endpoint", url)))
USERS = Kind("users", None, "user_id", (
    Field("user_id", identifier(100, ":"), True), Field("name", text(), True),
    Field("role", choice(tuple(r for r in ROLES if r != "device")), True), AGENCY,
    Field("unit_id", identifier(40)), Field("hospital_id", identifier(60)), Field("phone", phone),
    Field("password", password)))
KINDS: dict[str, Kind] = {k.name: k for k in (STATIONS, UNITS, HOSPITALS, USERS)}
DEFAULTS = {"agency_id": DEFAULT_AGENCY, "kind": "station", "crew": [], "capabilities": [], "ed_beds_free": 0}


def _absent(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def gather(raw: dict[str, Any]) -> dict[str, Any]:
    """The input with `lat` and `lon` folded into `location` (CSV columns, GeoJSON geometry, flat JSON)."""
    values = dict(raw)
    lat, lon = values.pop("lat", None), values.pop("lon", None)
    if "location" not in values and not (_absent(lat) and _absent(lon)):
        values["location"] = {"lat": lat, "lon": lon}
    return values


def read_fields(kind: Kind, raw: dict[str, Any], *, creating: bool) -> tuple[dict[str, Any], list[FieldError]]:
    """The fields of `kind` given in `raw`, read, and the problems found (every one, named by field).

    On create, required fields must be there; on an edit, a field absent (or an empty CSV cell) stays as it was,
    and JSON null clears an optional field (to its default: [] for a list, else None).
    """
    values, errors = {}, []
    raw = gather(raw)
    for field in kind.fields:
        given = field.name in raw
        value = raw.get(field.name)
        if _absent(value):
            if field.required and (creating or (given and value is None)):
                errors.append(FieldError(field.name, ErrorCode.REQUIRED))
            elif given and value is None and not creating:
                values[field.name] = DEFAULTS.get(field.name)  # a list clears to [], a count to 0
            continue
        try:
            values[field.name] = field.read(value)
        except Problem as problem:
            errors.append(FieldError(field.name, problem.code, **problem.params))
    if values.get("ed_beds") is not None and values.get("ed_beds_free") is not None \
            and values["ed_beds_free"] > values["ed_beds"]:
        errors.append(FieldError("ed_beds_free", ErrorCode.NOT_ABOVE_ED_BEDS))
    return values, errors


def record_of(state: Unit | Hospital | Station) -> dict[str, Any]:
    """The registry record a projection row stands for (the fields an admin edits), for merging and comparing."""
    if isinstance(state, Unit):
        return {"unit_id": state.id, "capability": state.capability.value, "agency_id": state.agency_id,
                "station_id": state.station_id, "location": state.base, "phone": state.phone,
                "crew": list(state.crew)}
    if isinstance(state, Hospital):
        return {"hospital_id": state.id, "name_th": state.name_th, "name_en": state.name_en,
                "location": state.location, "capabilities": list(state.capabilities), "ed_beds": state.ed_beds,
                "ed_beds_free": state.ed_beds_free, "phone": state.phone, "fhir_endpoint": state.fhir_endpoint}
    return {"station_id": state.id, "name_th": state.name_th, "name_en": state.name_en, "location": state.location,
            "agency_id": state.agency_id, "kind": state.kind}


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Field → {"from", "to"} for each field whose value differs (passwords are never shown)."""
    return {name: {"from": before.get(name), "to": "***" if name == "password" else value}
            for name, value in after.items() if before.get(name) != value}

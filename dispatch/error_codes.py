"""Every error code the server sends: the one registry of codes and their English texts.

An error answer carries a stable `code` (and, when its text has variable parts, `params`) beside the English
`message`; each per-field reason does the same. Browsers show `error.<code>` from web/js/labels.js in the page's
language with the params filled in (tests/test_error_codes.py checks every code here has a Thai and an English
label); API clients may keep reading `message`.

A code's English text is a `str.format` template over its params. The generic codes (`GENERIC`) stand for an error
raised with free text that has no code of its own yet: their text is that free text (`{message}`).
"""
from __future__ import annotations

from enum import Enum, unique
from typing import Any


@unique
class ErrorCode(str, Enum):
    """An error code: the member's value is the code sent (`"unit_busy"`), `english` its English template."""

    english: str

    def __new__(cls, code: str, english: str) -> ErrorCode:
        member = str.__new__(cls, code)
        member._value_ = code
        member.english = english
        return member

    def text(self, **params: Any) -> str:
        """The English text with `params` filled in (a generic code's text is its `message` param)."""
        return self.english.format(**params)

    # generic: free text without a code of its own (by the exception's class or the HTTP status)
    INVALID_FIELDS = "invalid_fields", "{message}"
    INVALID_VALUE = "invalid_value", "{message}"
    NOT_FOUND = "not_found", "{message}"
    CONFLICT = "conflict", "{message}"
    FORBIDDEN = "forbidden", "{message}"
    UNAVAILABLE = "unavailable", "{message}"
    BAD_REQUEST = "bad_request", "{message}"
    UNAUTHORIZED = "unauthorized", "{message}"
    TOO_MANY_REQUESTS = "too_many_requests", "{message}"
    HTTP_ERROR = "http_error", "{message}"
    INTERNAL_ERROR = "internal_error", "{message}"

    # the request itself
    BODY_TOO_LARGE = "body_too_large", "request body is larger than {limit} bytes"
    BODY_NOT_JSON = "body_not_json", "request body must be JSON"
    MALFORMED_JSON = "malformed_json", "malformed JSON: {detail}"
    JSON_TOO_DEEP = "json_too_deep", "JSON nested too deeply"
    RATE_LIMITED = "rate_limited", "too many requests from this source; retry in {retry_s} s"
    IDEMPOTENCY_KEY_LENGTH = "idempotency_key_length", "Idempotency-Key must be 1 to 200 characters"

    # who may do what (no agency ids or API paths: these texts are shown to people)
    TOKEN_REQUIRED = "token_required", "a valid bearer token is required"
    WRONG_LOGIN = "wrong_login", "wrong user or password"
    LOGIN_THROTTLED = "login_throttled", "too many failed logins; try again later"
    ROLE_FORBIDDEN = "role_forbidden", "your role may not do this"
    ROLE_MAY_NOT = "role_may_not", "role {role} may not {action}"
    CENTRE_ONLY = "centre_only", "only the 1669 centre may do this"
    CENTRE_ONLY_EXPORT = "centre_only_export", "only the 1669 centre may export another agency's operations"
    UNIT_OF_OTHER_AGENCY = "unit_of_other_agency", "unit {unit_id} belongs to another agency: ask for it through mutual aid"
    CREW_OWN_UNIT_ONLY = "crew_own_unit_only", "a crew may change only its own unit's status"
    HOSPITAL_OWN_ONLY = "hospital_own_only", "hospital staff may update only their own hospital"

    # things that are not there
    NO_SUCH_INCIDENT = "no_such_incident", "no such incident"
    NO_SUCH_UNIT = "no_such_unit", "no such unit"
    NO_SUCH_HOSPITAL = "no_such_hospital", "no such hospital"
    NO_SUCH_RESOURCE = "no_such_resource", "no such resource"
    UNIT_NOT_FOUND = "unit_not_found", "no unit {unit_id}"
    RECORD_NOT_FOUND = "record_not_found", "no {kind} {record_id}"
    NO_ASSIGNMENT = "no_assignment", "no assignment {assignment_id} for this unit"

    # clashes with the current state
    INCIDENT_IS = "incident_is", "incident {incident_id} is {status}"
    INCIDENT_REPORT_CLOSED = "incident_report_closed", "incident {incident_id} is {status}: its report can no longer change"
    INCIDENT_TRANSITION = "incident_transition", "incident {incident_id} cannot go from {old} to {new}"
    UNIT_RETIRED = "unit_retired", "unit {unit_id} is retired"
    UNIT_BUSY = "unit_busy", "unit {unit_id} is {status}"
    UNIT_BUSY_ON_INCIDENT = "unit_busy_on_incident", "unit {unit_id} is {status} on incident {incident_id}"
    UNIT_NO_CREW = "unit_no_crew", "unit {unit_id} has no crew on shift"
    UNIT_TRANSITION = "unit_transition", "unit {unit_id} cannot go from {old} to {new}"
    ASSIGNMENT_IS = "assignment_is", "assignment {assignment_id} is {status}"

    # the registry's file import
    IMPORT_REFUSED = "import_refused", "{count} problems in the file: nothing imported"
    CSV_NOT_UTF8 = "csv_not_utf8", "the CSV file must be UTF-8 text"
    ID_ON_TWO_ROWS = "id_on_two_rows", "{record_id} is also on row {row}"
    NOTHING_TO_RETIRE = "nothing_to_retire", "no {kind} {record_id} to retire"
    RECORD_EXISTS = "record_exists", "{kind} {record_id} already exists (retired ids are not reused); edit it instead"
    RECORD_RETIRED = "record_retired", "{kind} {record_id} is retired"
    ID_RETIRED = "id_retired", "{record_id} is retired"
    IMPORT_ROWS = "import_rows", "at most {max} rows per import"
    USER_NOT_FOUND = "user_not_found", "no user {user_id}"
    ID_UNCHANGEABLE = "id_unchangeable", "cannot be changed (it is the record's name in the log)"
    UNIT_BUSY_NOT_RETIRED = "unit_busy_not_retired", "unit {unit_id} is {status} on a call: retire it once it is free"
    NO_ACTIVE_AGENCY = "no_active_agency", "no active agency {agency_id} (register it first on the agencies page)"
    STATION_RETIRED = "station_retired", "station {station_id} is retired"
    LOCATION_WITHOUT_STATION = "location_without_station", "is required when station_id is not a registered station"
    REQUIRED_FOR_ROLE = "required_for_role", "is required for the {role} role"
    NO_ACTIVE_RECORD = "no_active_record", "no active {kind} {record_id}"

    # shifts, vitals, destinations, merges, triage, mass casualties, coverage
    UNIT_ALREADY_ON_SHIFT = "unit_already_on_shift", "unit {unit_id} already has a crew on shift since {since} UTC"
    UNIT_ON_INCIDENT_LOG_OFF = "unit_on_incident_log_off", "unit {unit_id} is on incident {incident_id}: release it before logging off"
    CREW_OWN_UNIT_SHIFT = "crew_own_unit_shift", "a crew may log on or off only its own unit"
    CREW_OWN_INCIDENT_VITALS = "crew_own_incident_vitals", "a crew may record vitals only for the incident its unit is on"
    HOSPITAL_OWN_INBOUND_ONLY = "hospital_own_inbound_only", "hospital staff may acknowledge only their own inbound patients"
    NO_INBOUND_PATIENT = "no_inbound_patient", "no inbound patient {incident_id} for this hospital"
    INCIDENT_NOT_FOUND = "incident_not_found", "no incident {incident_id}"
    INCIDENT_NO_LOCATION = "incident_no_location", "the incident has no location yet"
    NO_VERIFIED_LOCATION = "no_verified_location", "the incident has no verified location yet: set one to get road ETAs"
    MERGE_NEEDS_OPEN = "merge_needs_open", "both incidents must be open to merge"
    MERGE_HAS_UNITS = "merge_has_units", "incident {incident_id} has units assigned; cancel them first or merge the other way"
    MCI_NOT_DECLARED = "mci_not_declared", "declare a mass-casualty incident first"

    # mutual aid, agencies, maps, calls
    OWN_AGENCY_UNIT = "own_agency_unit", "is your own agency's unit: assign it directly"
    AID_ALREADY_REQUESTED = "aid_already_requested", "unit {unit_id} was already requested for this incident ({request_id})"
    NO_AID_REQUEST = "no_aid_request", "no mutual-aid request {request_id} for your agency"
    AID_REQUEST_IS = "aid_request_is", "mutual-aid request {request_id} is {status}"
    AGENCY_ID = "agency_id", "must be 1-40 lowercase letters, digits or inner hyphens, e.g. cb-pao"
    AGENCY_EXISTS = "agency_exists", "agency {agency_id} exists"
    AGENCY_NOT_FOUND = "agency_not_found", "no agency {agency_id}"
    AGENCY_RETIRED = "agency_retired", "agency {agency_id} is retired"
    CENTRE_NOT_RETIRED = "centre_not_retired", "the 1669 centre cannot be retired"
    NO_ROUTE = "no_route", "no route between these points within the ETA bound"
    POLYGON_TOO_LARGE = "polygon_too_large", "is larger than about 25 km × 25 km"
    POLYGON_INVALID = "polygon_invalid", "must be a valid GeoJSON Polygon in lon/lat"
    CLOSURE_FACTOR = "closure_factor", "must be a number from 1 to 100, or null to close the road"
    NO_CALL = "no_call", "no such call"
    CALL_SID_FORMAT = "call_sid_format", "must be a Twilio CallSid (CA and 32 hex digits)"
    CALL_IS = "call_is", "the call is {state}"
    CALL_TAKEN = "call_taken", "the call is {state} (answered by {answered_by})"
    CALL_NO_NUMBER = "call_no_number", "the call has no caller number to call back"
    CALL_NOT_WAITING = "call_not_waiting", "the call is not waiting for a call-back (it is {state})"
    DESK_LINE_UNSET = "desk_line_unset", "set your desk phone or SIP address in your profile first"
    TWILIO_NOT_CONFIGURED = "twilio_not_configured", "Twilio is not configured on this server"
    NO_RECORDING = "no_recording", "the call has no recording"
    RECORDING_EXPIRED = "recording_expired", "the call's recording is past its retention of {days} days"
    RECORDING_LINK_EXPIRED = "recording_link_expired", "this recording link is unknown or expired"

    CREW_ONLY = "crew_only", "only a crew member of a unit may do this"
    NO_NUMBER_TO_TEXT = "no_number_to_text", "incident {incident_id} has no caller phone number to text"

    CSV_EMPTY = "csv_empty", "the CSV file is empty: the first line must name the columns"
    CSV_HEADER = "csv_header", "the first line must name each column once (no empty names)"
    CSV_NO_KNOWN_COLUMN = "csv_no_known_column", "the first line names none of the columns: {columns}"
    CSV_CELL_COUNT = "csv_cell_count", "has {cells} cells but the header names {columns}"
    MUST_BE_FEATURE_COLLECTION = "must_be_feature_collection", "must be a GeoJSON FeatureCollection"
    TOO_MANY_FEATURES = "too_many_features", "has more than {max} features"
    MUST_BE_POINT = "must_be_point", "must be a Point with [lon, lat] in WGS84"
    REQUIRED_TEXT_AT_MOST = "required_text_at_most", "is required text of at most {max} characters"
    ID_USED_EARLIER = "id_used_earlier", "is used by an earlier feature"
    NOT_GEOJSON = "not_geojson", "cannot be read as GeoJSON: {detail}"

    # parts not ready
    ROADS_NOT_READY = "roads_not_ready", "the road graph is still loading; try again in a few seconds"
    PLACES_NOT_READY = "places_not_ready", "the place index is still loading; try again in a few seconds"
    STORE_BUSY = "store_busy", ("the event log is busy (no write slot within {wait_s} s); nothing was stored, retry in "
                                "{retry_s} s")
    DATABASE_FAILING_OVER = "database_failing_over", (
        "the database is failing over to its standby (waited {waited_s} s); nothing was stored, retry in "
        "{retry_s} s with the same Idempotency-Key")

    # per-field reasons
    NO_LETTERS_OR_DIGITS = "no_letters_or_digits", "has no letters or digits"
    MUST_BE_HTTP_URL = "must_be_http_url", "must be an http(s) URL"
    MUST_BE_PHONE_NUMBER = "must_be_phone_number", "must be a phone number"
    MUST_BE_NON_EMPTY_TEXT = "must_be_non_empty_text", "must be a non-empty string"
    SMS_TEXT = "sms_text", "must be at most {max} characters, without NUL"
    ANSWER_LIST = "answer_list", "must be a list of {{question, answer}}"
    ONE_OF_EACH_ONCE = "one_of_each_once", "must be one of {allowed}, each once"
    YES_NO_UNKNOWN = "yes_no_unknown", "must be yes, no or unknown"
    DETERMINANT_UNDECIDED = "determinant_undecided", "is required: the answers do not decide one yet"
    OVERRIDE_REASON = "override_reason", "is required to choose other than the proposed determinant (at most {max} characters)"
    TO_BEFORE_FROM = "to_before_from", "must not be before from"
    REPORT_DAYS = "report_days", "a report covers at most {max} days"
    MUST_BE_LAT_LON = "must_be_lat_lon", "must be lat,lon"
    MUST_BE_TIME = "must_be_time", "must be an ISO 8601 time"
    MUST_BE_ZONED_TIME = "must_be_zoned_time", "must be an ISO 8601 time with a time zone"
    CREW_LIST = "crew_list", "must list 1 to {max} people on board"
    CREW_MEMBER_OBJECT = "crew_member_object", "must be an object with name and qualification"
    MUST_BE_FUTURE = "must_be_future", "must be in the future"
    NOT_A_VITAL_SIGN = "not_a_vital_sign", "is not a vital sign (one of {allowed})"
    MUST_BE_WHOLE = "must_be_whole", "must be a whole number"
    VITALS_NEEDED = "vitals_needed", "needs at least one of {allowed}"
    DIASTOLIC_NOT_BELOW_SYSTOLIC = "diastolic_not_below_systolic", "must be lower than systolic_bp"
    HOSPITAL_RETIRED = "hospital_retired", "the hospital is retired from the registry"
    MUST_BE_ANOTHER_INCIDENT = "must_be_another_incident", "must be another incident"
    CBD_GROUP = "cbd_group", "must be a CBD group from 1 to {max}"
    CBD_DETERMINANT = "cbd_determinant", "must be 1 to {max} for group {group}"
    MUST_BE_COLOUR = "must_be_colour", "must be red, yellow, green or white"
    EACH_MUST_BE_COLOUR = "each_must_be_colour", "each must be red, yellow, green or white"
    COLOUR_LIST = "colour_list", "must be a list of 1 to {max} colours"
    REASON_REQUIRED = "reason_required", "is required (at most {max} characters)"
    NO_SUCH_POST = "no_such_post", "no such post"
    DESK_LINE = "desk_line", "must be a phone number in E.164 (+66…) or a sip:user@host address"
    REQUIRED = "required", "is required"
    MUST_BE_OBJECT = "must_be_object", "must be a JSON object"
    MUST_BE_STRING = "must_be_string", "must be a string"
    MUST_BE_NUMBER = "must_be_number", "must be a number"
    MUST_BE_FINITE = "must_be_finite", "must be a finite number"
    MUST_BE_INTEGER = "must_be_integer", "must be an integer"
    MUST_BE_BOOLEAN = "must_be_boolean", "must be true or false"
    MUST_BE_BETWEEN = "must_be_between", "must be between {low} and {high}"
    MUST_BE_WHOLE_BETWEEN = "must_be_whole_between", "must be a whole number from {low} to {high}"
    MUST_BE_ONE_OF = "must_be_one_of", "must be one of {allowed}"
    MUST_BE_DATE = "must_be_date", "must be a date, YYYY-MM-DD"
    DATE_BETWEEN = "date_between", "must be from {low} to {high}"
    MUST_BE_FUTURE_TIME = "must_be_future_time", "must be an ISO 8601 time in the future"
    MUST_BE_INCIDENT_ID = "must_be_incident_id", "must be an incident id"
    TEXT_TOO_LONG = "text_too_long", "must be at most {max} characters"
    TEXT_LENGTH = "text_length", "must be text of {min} to {max} characters"
    TEXT_AT_MOST = "text_at_most", "must be text of at most {max} characters"
    NO_NUL = "no_nul", "must not contain NUL characters"
    NO_CONTROL_CHARACTERS = "no_control_characters", "must not contain control characters"
    MUST_BE_TEXT = "must_be_text", "must be text"
    LENGTH_BETWEEN = "length_between", "must be {min} to {max} characters"
    IDENTIFIER = "identifier", "must be 1 to {max} letters, digits or _ . -{extra} (no spaces)"
    LIST_AT_MOST = "list_at_most", "must be a list of at most {max} items"
    MUST_BE_PHONE = "must_be_phone", "must be a phone number, e.g. +66812345678 or 081-234-5678"
    MUST_BE_URL = "must_be_url", "must be an http(s) URL, e.g. https://fhir.example.org/r4"
    COORDINATE_NOT_NUMBER = "coordinate_not_number", "{name} must be a number"
    COORDINATE_RANGE = "coordinate_range", "{name} must be a number from {low} to {high}"
    NOT_ABOVE_ED_BEDS = "not_above_ed_beds", "must not exceed ed_beds"
    NOT_UNICODE = "not_unicode", "must be valid Unicode text"
    PHONE_CHARACTERS = "phone_characters", "may contain only digits, spaces, + - ( ) ."
    CALLER_OBJECT = "caller_object", "must be an object with phone and name"
    LOCATION_OBJECT = "location_object", "must be an object with lat and lon"
    LAT_LON_SWAPPED = "lat_lon_swapped", "lat and lon look swapped"
    NULL_ISLAND = "null_island", "0,0 is not a real position (no GPS fix?)"
    LOCATION_OR_ADDRESS = "location_or_address", "is required (or give an address)"
    NOT_A_DETAIL = "not_a_detail", "is not a detail of the report"
    CANNOT_CHANGE_HERE = "cannot_change_here", "cannot be changed here"
    DISPOSITION_NOT_TAKEN = "disposition_not_taken", "only a close or cancel takes a disposition"
    DISPOSITION_ONE_OF = "disposition_one_of", "must be one of {allowed} when the status is {status}"


GENERIC = frozenset({ErrorCode.INVALID_FIELDS, ErrorCode.INVALID_VALUE, ErrorCode.NOT_FOUND, ErrorCode.CONFLICT,
                     ErrorCode.FORBIDDEN, ErrorCode.UNAVAILABLE, ErrorCode.BAD_REQUEST, ErrorCode.UNAUTHORIZED,
                     ErrorCode.TOO_MANY_REQUESTS, ErrorCode.HTTP_ERROR, ErrorCode.INTERNAL_ERROR})

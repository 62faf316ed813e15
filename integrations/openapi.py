"""The integrations' paths in the OpenAPI document (added to api.openapi.PATHS when this module is imported).

Twilio's webhooks (/twilio/*) are not part of the public API and are left out; the device webhook is documented
because device makers build against it.
"""
from __future__ import annotations

from api.openapi import (
                                                                                INCIDENT_ID,
                                                                                OBJECT,
                                                                                PATHS,
                                                                                _op,
                                                                                _path_param,
                                                                                error_responses,
                                                                                json_response,
)
from integrations.fhir.service import FHIR_URL_PATTERN

PHONE = {"type": "string", "maxLength": 32, "pattern": "^[0-9+() .-]+$"}
LATLON = {"$ref": "#/components/schemas/LatLon"}
OPTIONAL_LATLON = {"oneOf": [LATLON, {"type": "null"}]}
API_KEY = {"name": "X-Api-Key", "in": "header", "required": True, "schema": {"type": "string", "minLength": 1,
                                                                                "maxLength": 200},
           "description": "The app's key from POST /api/v1/app-keys (only its SHA-256 is stored)."}
SIGNED = [{"name": "X-EMS-Timestamp", "in": "header", "required": True, "schema": {"type": "string", "pattern": "^[0-9]+$"},
           "description": "Unix seconds; refused if more than 300 s from the server's clock."},
          {"name": "X-EMS-Signature", "in": "header", "required": True, "schema": {"type": "string"},
           "description": "sha256=<hex HMAC-SHA256 of '<timestamp>.' + body with the device secret>"}]
DEVICE_ID = _path_param("device_id", {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,64}$"})

PATHS.update({
    "/api/v1/app/incidents": {"post": {
        **_op("Report an incident from a citizen app (strict validation; token-bucket limit per key)", ok="201",
              params=[API_KEY, {"name": "Idempotency-Key", "in": "header", "required": False,
                                "schema": {"type": "string", "minLength": 1, "maxLength": 200}}],
              body={"$ref": "#/components/schemas/IncidentReport"}, errors=(400, 401, 413, 422, 429)),
        "security": [],
    }},
    "/api/v1/app-keys": {
        "post": _op("Issue an API key for a citizen app (admin); the key is shown only in this answer", ok="201",
                    errors=(400, 401, 403, 413, 422, 429),
                    body={"type": "object", "required": ["name"], "properties": {
                        "name": {"type": "string", "minLength": 1, "maxLength": 100},
                        "rate_per_min": {"type": "integer", "minimum": 1, "maximum": 100000},
                        "burst": {"type": "integer", "minimum": 1, "maximum": 10000}}}),
        "get": _op("List app keys without the keys themselves (admin)", errors=(401, 403, 429)),
    },
    "/api/v1/app-keys/{key_id}": {"delete": _op(
        "Revoke an app key (admin)", params=[_path_param("key_id", {"type": "string", "pattern": "^app_[0-9a-f]{12}$"})],
        errors=(401, 403, 404, 429))},
    "/api/v1/devices": {
        "post": _op("Register a panic-button device; its webhook secret is shown only in this answer", ok="201",
                    errors=(400, 401, 403, 409, 413, 422, 429),
                    body={"type": "object", "required": ["id", "person"], "properties": {
                        "id": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,64}$"},
                        "person": {"type": "string", "minLength": 1, "maxLength": 200},
                        "address": {"type": ["string", "null"], "maxLength": 500}, "location": OPTIONAL_LATLON,
                        "medical_notes": {"type": ["string", "null"], "maxLength": 2000},
                        "contact_phones": {"type": "array", "maxItems": 5, "items": PHONE}}}),
        "get": _op("Registered devices with heartbeat and battery state (no secrets)", errors=(401, 403, 429)),
    },
    "/api/v1/devices/{device_id}/press": {"post": {
        **_op("A panic-button press, signed by the device (repeat presses within 60 s attach to one incident)",
              ok="201", params=[DEVICE_ID, *SIGNED], errors=(400, 401, 404, 413, 429),
              body={"type": "object", "required": ["nonce"], "properties": {
                  "nonce": {"type": "string", "minLength": 8, "maxLength": 128},
                  "message_id": {"type": "string", "maxLength": 128}, "location": LATLON,
                  "battery": {"type": "number", "minimum": 0, "maximum": 100}}}),
        "security": [],
    }},
    "/api/v1/devices/{device_id}/heartbeat": {"post": {
        **_op("A device heartbeat with its battery level, signed by the device", params=[DEVICE_ID, *SIGNED],
              errors=(400, 401, 404, 413, 429),
              body={"type": "object", "required": ["nonce"], "properties": {
                  "nonce": {"type": "string", "minLength": 8, "maxLength": 128},
                  "battery": {"type": "number", "minimum": 0, "maximum": 100}}}),
        "security": [],
    }},
    "/api/v1/incidents/{incident_id}/messages": {
        "get": _op("The incident's SMS thread with delivery status (dispatchers)", params=[INCIDENT_ID],
                   errors=(401, 403, 404, 429)),
        "post": _op("Text the caller from the console (dispatchers); 409 if the incident has no caller number",
                    ok="201", params=[INCIDENT_ID], errors=(400, 401, 403, 404, 409, 413, 422, 429, 503),
                    body={"type": "object", "required": ["body"], "properties": {
                        "body": {"type": "string", "minLength": 1, "maxLength": 1600}}}),
    },
    "/api/v1/incidents/{incident_id}/caller-history": {"get": _op(
        "Earlier incidents from the same caller numbers, newest first (dispatchers)", params=[INCIDENT_ID],
        errors=(401, 403, 404, 429))},
    "/api/v1/share/location": {"post": {
        "summary": "The caller's phone shares its position through the one-time link from the SMS",
        "security": [],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["token", "location"], "properties": {
                "token": {"type": "string", "minLength": 10, "maxLength": 100}, "location": LATLON,
                "accuracy_m": {"type": "number", "minimum": 0, "exclusiveMaximum": 1_000_000}}}}}},
        "responses": {"200": json_response("Received", OBJECT), **error_responses(400, 404, 413, 422, 429)},
    }},
    "/api/v1/hospitals/{hospital_id}/fhir-endpoint": {"put": _op(
        "Where the hospital receives FHIR R4 pre-arrival bundles (retried with backoff, each alert version sent at"
        " most once), and the SMS number used when that endpoint keeps failing",
        params=[_path_param("hospital_id", {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,60}$"})],
        errors=(400, 401, 403, 404, 413, 422, 429),
        body={"type": "object", "properties": {"fhir_url": {"type": ["string", "null"], "maxLength": 508,
                                                            "pattern": FHIR_URL_PATTERN},
                                               "sms_phone": {**PHONE, "type": ["string", "null"]}}})},
})

"""Channel-specific intake facts (phone calls, SMS threads, panic-button presses, devices): events and
their folds into the incidents projection (listed in dispatch/registry.py).

Who sees which of these fields is decided by the per-role allow-lists in dispatch/access.py (caller phone
numbers and LINE user ids never reach a hospital).
"""
from __future__ import annotations

from dispatch.events import Event
from dispatch.model import Caller, Incident, LatLon, LocationFlag

# Outbound message states in the order Twilio moves through them; a callback only ever moves a message forward.
SMS_STATUS_RANK = {"accepted": 1, "scheduled": 1, "queued": 1, "sending": 2, "sent": 3,
                   "delivered": 4, "undelivered": 4, "failed": 4, "canceled": 4, "read": 5}
CALL_STATUS_RANK = {"queued": 1, "initiated": 1, "ringing": 2, "in-progress": 3,
                    "completed": 4, "busy": 4, "no-answer": 4, "failed": 4, "canceled": 4}
FAILED_STATUSES = frozenset({"undelivered", "failed", "busy", "no-answer", "canceled"})
# Reached the person: a text on the handset (or read), a call answered and ended.
DELIVERED_STATUSES = {"sms": frozenset({"delivered", "read"}), "voice": frozenset({"completed"})}


def status_rank(kind: str, status: str) -> int | None:
    """Position of `status` in a message's life (higher is later); None for a status we do not know."""
    return (CALL_STATUS_RANK if kind == "voice" else SMS_STATUS_RANK).get(status)


class CallReceived(Event, frozen=True):
    """An inbound emergency call was answered by the system (one per Twilio CallSid)."""

    incident_id: int
    call_sid: str
    phone: str | None = None
    earlier_incidents: list[int] = []  # earlier incidents from the same number, newest first


class ShareLinkSent(Event, frozen=True):
    """The caller was texted a one-time link that shares the phone's location into this incident."""

    incident_id: int
    message_sid: str | None = None
    error: str | None = None  # set when the SMS could not be sent


class CallerLocationShared(Event, frozen=True):
    """The caller's phone shared its position (browser geolocation) through the one-time link."""

    incident_id: int
    location: LatLon
    accuracy_m: float | None = None
    outside_service_area: bool = False


class SmsReceived(Event, frozen=True):
    """A text from a caller (text-to-1669), opening or continuing the incident's thread."""

    incident_id: int
    message_sid: str
    phone: str | None
    body: str
    opened_thread: bool = False


class SmsSent(Event, frozen=True):
    """A dispatcher's reply to the caller's thread."""

    incident_id: int
    message_sid: str
    phone: str
    body: str


class LineMessageReceived(Event, frozen=True):
    """A LINE message from a caller (one per webhookEventId), opening or continuing the sender's thread."""

    incident_id: int
    webhook_event_id: str
    line_user_id: str
    kind: str  # text | location | sticker | image | … (LINE's message type)
    body: str | None = None  # the text of a text message
    opened_thread: bool = False


class OutboundMessageFailed(Event, frozen=True):
    """An SMS or call we sent ended failed/undelivered/unanswered: the dispatcher must act. For an escalation
    ladder's text or call, `assignment_id` and `step` name the ladder step it was (its result on the assignment)."""

    message_sid: str
    kind: str  # sms | voice
    status: str
    phone: str | None = None
    purpose: str | None = None
    error_code: str | None = None
    incident_id: int | None = None
    assignment_id: int | None = None
    step: str | None = None  # sms | voice


class OutboundMessageDelivered(Event, frozen=True):
    """An SMS or call we sent reached the person, by the provider's own status callback (a text delivered, a call
    answered and completed). For an escalation ladder's text or call, `assignment_id` and `step` name the step."""

    message_sid: str
    kind: str  # sms | voice
    status: str
    phone: str | None = None
    purpose: str | None = None
    incident_id: int | None = None
    assignment_id: int | None = None
    step: str | None = None  # sms | voice


class PanicPressed(Event, frozen=True):
    """A panic button was pressed. The first press opens the incident (provisional red); repeats attach to it."""

    incident_id: int
    device_id: str
    message_id: str
    via: str  # mqtt | webhook
    repeat: bool = False
    press_number: int = 1
    person: str | None = None
    medical_notes: str | None = None
    battery_pct: int | None = None


class DeviceAlertRaised(Event, frozen=True):
    """A device needs attention: missed heartbeats, low battery, or a flood of presses/messages."""

    device_id: str
    kind: str  # missed_heartbeat | low_battery | flood; intake_down | intake_restored | press_not_stored |
    # unauthenticated_press (MQTT)
    detail: str | None = None


class HospitalNotified(Event, frozen=True):
    """A pre-arrival alert reached (or failed to reach) the hospital: via FHIR, or SMS as the fallback."""

    incident_id: int
    hospital_id: str
    via: str  # fhir | sms | none
    stage: str = "planned"  # planned | arrived (the FHIR Encounter status)
    ok: bool = True
    detail: str | None = None


def caller_location(incident: Incident, e: CallerLocationShared) -> Incident:
    """Projection: the caller's shared location replaces the incident's, flagged caller-provided (and outside the
    service area when so)."""
    incident.location = e.location
    incident.location_accuracy_m = e.accuracy_m
    flags = [LocationFlag.CALLER_PROVIDED]
    if e.outside_service_area:
        flags.append(LocationFlag.OUTSIDE_SERVICE_AREA)
    incident.location_flags = flags
    incident.location_note = None
    return incident


def panic_pressed(incident: Incident, e: PanicPressed) -> Incident:
    """Projection: a first press makes an untriaged incident provisionally red and adds the registry's medical notes;
    repeats change nothing."""
    if not e.repeat:
        if incident.triage is None:
            incident.provisional_colour = "red"  # until a dispatcher triages
        if e.medical_notes:
            incident.notes.append(f"Medical notes (panic-button registry): {e.medical_notes}")
    return incident


def sms_received(incident: Incident, e: SmsReceived) -> Incident:
    """Projection: the sender's phone joins the incident's callers once."""
    if e.phone and not any(c.phone == e.phone for c in incident.callers):
        incident.callers.append(Caller(phone=e.phone, channel="sms"))
    return incident


def line_message_received(incident: Incident, e: LineMessageReceived) -> Incident:
    """Projection: the LINE user joins the incident's callers once."""
    if not any(c.line_user_id == e.line_user_id for c in incident.callers):
        incident.callers.append(Caller(channel="line", line_user_id=e.line_user_id))
    return incident

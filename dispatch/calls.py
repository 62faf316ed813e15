"""The 1669 call itself (issue #18): facts about a voice call waiting in the queue, answered by a dispatcher,
abandoned by the caller, and recorded. Events on the incident's stream (listed in dispatch/registry.py); the live
queue state is edge state kept by integrations/twilio. Pure domain: validation and the call-time figures.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from dispatch.error_codes import ErrorCode
from dispatch.errors import FieldError, Invalid
from dispatch.events import Event

# A Twilio call id (CallSid): "CA" and 32 hex digits; the routes, the API schema and the webhooks use this one.
CALL_SID_PATTERN = "CA[0-9a-fA-F]{32}"
CALL_SID = re.compile(CALL_SID_PATTERN)

# A desk line is a phone number in E.164 (+ and 8-15 digits) or a SIP address (sip:user@host).
_E164 = re.compile(r"\+[1-9][0-9]{7,14}")
_SIP = re.compile(r"sips?:[A-Za-z0-9._~+-]{1,64}@[A-Za-z0-9.-]{1,190}(:[0-9]{1,5})?")


class CallAnswered(Event, frozen=True):
    """A dispatcher took a queued call; it was connected to their desk line (`wait_s`: queued → answered)."""

    incident_id: int
    call_sid: str
    dispatcher: str  # the dispatcher's actor name, e.g. "dispatcher:disp-1"
    wait_s: float
    # earlier calls from the same number that hung up in the queue: the caller is on the line, no call-back needed
    settled_call_sids: list[str] = []


class CallAbandoned(Event, frozen=True):
    """The caller hung up while waiting in the queue: listed for call-back."""

    incident_id: int
    call_sid: str
    phone: str | None
    wait_s: float


class CallBackPlaced(Event, frozen=True):
    """A dispatcher called back a caller who hung up in the queue: Twilio rang their desk line, then the caller
    (`callback_sid`: that Twilio call). The call leaves the call-back list."""

    incident_id: int
    call_sid: str  # the abandoned call
    dispatcher: str
    phone: str
    callback_sid: str


class CallBackUnanswered(Event, frozen=True):
    """The caller did not pick up a call-back (Twilio's DialCallStatus: busy, no-answer, failed): the call is listed
    for call-back again."""

    incident_id: int
    call_sid: str
    dial_status: str


class CallAnswerOverdue(Event, frozen=True):
    """A call has waited in the queue longer than the answer-alert setting: every dispatcher is alerted (once)."""

    incident_id: int
    call_sid: str
    phone: str | None
    waited_s: float
    limit_s: float


class CallRecorded(Event, frozen=True):
    """Twilio finished a recording of the answered call; playable in replay for quality review."""

    incident_id: int
    call_sid: str
    recording_sid: str
    recording_url: str
    duration_s: int | None = None


def parse_desk_line(value: Any) -> str | None:
    """A dispatcher's desk line: E.164 number or SIP address, or None to clear it. Invalid names `desk_line`."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and (_E164.fullmatch(value) or _SIP.fullmatch(value)):
        return value
    raise Invalid(FieldError("desk_line", ErrorCode.DESK_LINE))


def seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    """end − start in seconds (never negative), or None when either end is missing."""
    if start is None or end is None:
        return None
    return round(max(0.0, (end - start).total_seconds()), 1)

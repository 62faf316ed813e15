"""Key performance indicators from what the event log recorded: NFPA-style intervals per incident, their p50/p90
per day and per colour, the share of red patients reached within the target, and unit utilisation.

The same functions measure the live system (incidents projected from PostgreSQL events) and the simulator
(incidents projected in memory), so a simulated figure and a real one mean the same thing.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta

import numpy as np

from dispatch.lifecycle import INTERVALS, intervals
from dispatch.model import Colour, Incident

LOCAL_OFFSET = timedelta(hours=7)  # days are Thai calendar days (Asia/Bangkok has no daylight saving)
TARGET_RESPONSE_S = 480.0  # red patients within 8 minutes
INTERVAL_NAMES = list(INTERVALS)
COLOURS = [c.value for c in Colour]
CSV_COLUMNS = ["day", "colour", "interval", "n", "p50_s", "p90_s", "mean_s"]


def local_date(at: datetime) -> date:
    """The calendar date of UTC instant `at` in Thailand (UTC+7)."""
    return (at + LOCAL_OFFSET).date()


def local_day(at: datetime) -> str:
    """`local_date` as an ISO 8601 string (YYYY-MM-DD)."""
    return local_date(at).isoformat()


def local_days_utc(first: date, last: date) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the local (Thai) days `first`..`last` inclusive."""
    start = datetime.combine(first, time(), tzinfo=UTC) - LOCAL_OFFSET
    return start, start + timedelta(days=(last - first).days + 1)


def incident_rows(incidents: Iterable[Incident]) -> list[dict]:
    """One row per incident: id, local day reported, colour (None if never triaged) and every interval (s)."""
    rows = []
    for incident in incidents:
        if incident.merged_into is not None:
            continue  # a repeat call: its patient is counted on the incident it merged into
        rows.append({"incident_id": incident.id, "day": local_day(incident.reported_at), "colour": incident.colour,
                     **intervals(incident)})
    return sorted(rows, key=lambda r: r["incident_id"])


def _stats(values: Sequence[float]) -> dict:
    if not values:
        return {"n": 0, "p50_s": None, "p90_s": None, "mean_s": None}
    array = np.asarray(values, dtype=float)
    return {"n": len(values), "p50_s": round(float(np.percentile(array, 50)), 1),
            "p90_s": round(float(np.percentile(array, 90)), 1), "mean_s": round(float(array.mean()), 1)}


def interval_summary(rows: Sequence[dict]) -> list[dict]:
    """p50/p90/mean of every interval for each day (all colours), each colour (all days) and overall.

    An interval counts only for incidents where both its ends happened (e.g. no transport: no transport time).
    """
    groups: list[tuple[str, str, list[dict]]] = []
    for day in sorted({r["day"] for r in rows}):
        groups.append((day, "all", [r for r in rows if r["day"] == day]))
    for colour in COLOURS:
        groups.append(("all", colour, [r for r in rows if r["colour"] == colour]))
    groups.append(("all", "all", list(rows)))
    summary = []
    for day, colour, members in groups:
        for name in INTERVAL_NAMES:
            values = [r[name] for r in members if r[name] is not None]
            summary.append({"day": day, "colour": colour, "interval": name, **_stats(values)})
    return summary


def to_csv(summary: Sequence[dict]) -> str:
    """The KPI summary rows as CSV text (CSV_COLUMNS, a header line, None as an empty cell)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in summary:
        writer.writerow({k: ("" if row[k] is None else row[k]) for k in CSV_COLUMNS})
    return out.getvalue()


def response_summary(rows: Sequence[dict], target_s: float = TARGET_RESPONSE_S) -> dict:
    """Headline figures. Red within target counts every red incident: one never reached is a miss.

    `p90_response_s` and `mean_response_s` are over all incidents a unit reached (call received → on scene).
    """
    reached = [r["response"] for r in rows if r["response"] is not None]
    by_colour = {}
    for colour in COLOURS:
        members = [r for r in rows if r["colour"] == colour]
        times = [r["response"] for r in members if r["response"] is not None]
        in_time = sum(1 for t in times if t <= target_s)
        by_colour[colour] = {"incidents": len(members), **_stats(times),
                             "within_target_pct": round(100 * in_time / len(members), 1) if members else None}
    stats = _stats(reached)
    return {"incidents": len(rows), "red_incidents": by_colour["red"]["incidents"],
            "red_within_8min_pct": by_colour["red"]["within_target_pct"],
            "p90_response_s": stats["p90_s"], "mean_response_s": stats["mean_s"], "by_colour": by_colour}


BUSY_ENDS = {"available", "out_of_service"}


def unit_utilisation(events: Iterable, start: datetime, end: datetime) -> dict[str, float]:
    """Share of [start, end) each unit spent on calls: from assignment until it is available again.

    `events` are stored events (type, payload, occurred_at) in seq order.
    """
    horizon = (end - start).total_seconds()
    busy_since: dict[str, datetime | None] = {}
    busy_s: dict[str, float] = {}

    def stop(unit_id: str, at: datetime) -> None:
        since = busy_since.get(unit_id)
        if since is not None:
            busy_s[unit_id] += max(0.0, (min(at, end) - max(since, start)).total_seconds())
            busy_since[unit_id] = None

    for event in events:
        unit_id = event.payload.get("unit_id")
        if event.type == "UnitRegistered":
            busy_since.setdefault(unit_id, None)
            busy_s.setdefault(unit_id, 0.0)
        elif unit_id not in busy_s:
            continue
        elif event.type == "UnitAssigned" and busy_since.get(unit_id) is None:
            busy_since[unit_id] = event.occurred_at
        elif event.type == "AssignmentCancelled" or (
                event.type == "UnitStatusChanged" and event.payload.get("status") in BUSY_ENDS):
            stop(unit_id, event.occurred_at)
    for unit_id in busy_s:
        stop(unit_id, end)
    return {u: round(s / horizon, 3) if horizon > 0 else 0.0 for u, s in sorted(busy_s.items())}


# -- the call itself (issue #18): NFPA 1225 call-answer and alarm-processing times, from the call's events -------
CALL_INTERVALS = ("answer", "to_location", "to_code", "to_dispatch")
CALL_EVENT_TYPES = ("CallAnswered", "CallAbandoned", "CallerLocationShared", "LocationConfirmed", "IncidentTriaged",
                    "UnitAssigned", "IncidentReported")
NFPA_1225_SHARE_PCT = 90.0  # NFPA 1225: 90 % of calls answered within 15 s, 90 % of answered calls dispatched in 60 s


def call_rows(events: Iterable[dict]) -> list[dict]:
    """One row per 1669 call from stored events ({type, payload, occurred_at}, in seq order): `answer` (queued →
    answered, s), then from the answer `to_location` (first location shared by the caller's phone or chosen by a
    dispatcher; the geocoder's unconfirmed guess does not count), `to_code` (first CBD code) and
    `to_dispatch` (first unit assigned); None where that never happened. A step done before the answer (e.g. a
    location texted while waiting) counts as 0 s. Abandoned calls have `abandoned` True and no answer time.
    A call taken on the console (New call: an IncidentReported with `answered_s_before`) is a row too, with
    `call_sid` None and no queue time (`answer` None), answered that many seconds before its report; its
    `to_location` is the report itself when the report had a location."""
    calls: dict[str, dict] = {}
    firsts: dict[int, dict[str, datetime]] = {}
    step_of = {"CallerLocationShared": "to_location", "IncidentTriaged": "to_code", "UnitAssigned": "to_dispatch"}
    for event in events:
        payload, kind = event["payload"], event["type"]
        incident_id = payload.get("incident_id")
        if kind in step_of:
            firsts.setdefault(incident_id, {}).setdefault(step_of[kind], event["occurred_at"])
        elif kind == "LocationConfirmed" and (payload.get("confirmed_by") or payload.get("source") != "geocoder"):
            firsts.setdefault(incident_id, {}).setdefault("to_location", event["occurred_at"])
        elif kind in ("CallAnswered", "CallAbandoned") and payload["call_sid"] not in calls:
            calls[payload["call_sid"]] = {"call_sid": payload["call_sid"], "incident_id": incident_id,
                                          "day": local_day(event["occurred_at"]), "abandoned": kind == "CallAbandoned",
                                          "answered_at": event["occurred_at"] if kind == "CallAnswered" else None,
                                          "answer": payload["wait_s"] if kind == "CallAnswered" else None}
        elif kind == "IncidentReported" and payload.get("answered_s_before") is not None:
            answered_at = event["occurred_at"] - timedelta(seconds=payload["answered_s_before"])
            calls[f"console-{incident_id}"] = {"call_sid": None, "incident_id": incident_id,
                                               "day": local_day(answered_at), "abandoned": False,
                                               "answered_at": answered_at, "answer": None}
            if payload.get("location") is not None:
                firsts.setdefault(incident_id, {}).setdefault("to_location", event["occurred_at"])
    rows = []
    for call in calls.values():
        answered_at = call.pop("answered_at")
        for name in CALL_INTERVALS[1:]:
            at = firsts.get(call["incident_id"], {}).get(name)
            call[name] = round(max(0.0, (at - answered_at).total_seconds()), 1) if at and answered_at else None
        rows.append(call)
    return rows


def call_summary(rows: Sequence[dict], answer_target_s: float, dispatch_target_s: float) -> dict:
    """p50/p90/mean of each call interval, abandoned calls, and the NFPA 1225 shares: calls answered within
    `answer_target_s` (of the queued calls; an abandoned call is a miss; console calls have no queue time) and
    answered calls dispatched within `dispatch_target_s` of the answer (one never dispatched is a miss)."""
    answered = [r for r in rows if not r["abandoned"]]
    queued = [r for r in rows if r["call_sid"] is not None]
    in_answer = sum(1 for r in queued if not r["abandoned"] and r["answer"] <= answer_target_s)
    in_dispatch = sum(1 for r in answered if r["to_dispatch"] is not None and r["to_dispatch"] <= dispatch_target_s)
    return {"calls": len(rows), "abandoned": len(rows) - len(answered), "console_calls": len(rows) - len(queued),
            "answer_target_s": answer_target_s, "dispatch_target_s": dispatch_target_s,
            "target_share_pct": NFPA_1225_SHARE_PCT,
            "answered_within_target_pct": round(100 * in_answer / len(queued), 1) if queued else None,
            "dispatched_within_target_pct": round(100 * in_dispatch / len(answered), 1) if answered else None,
            "intervals": {name: _stats([r[name] for r in answered if r[name] is not None]) for name in CALL_INTERVALS}}

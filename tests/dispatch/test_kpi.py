"""KPIs from a known event sequence: NFPA-style intervals, their percentiles per day and colour, CSV, utilisation."""
from datetime import UTC, datetime, timedelta

import pytest

from dispatch import kpi
from dispatch.events import IncidentReported, IncidentStatusChanged, IncidentTriaged, UnitAssigned, UnitRegistered, UnitStatusChanged
from dispatch.memory_store import MemoryEventStore
from dispatch.model import Capability, Channel, IncidentStatus as S, LatLon, UnitStatus
from dispatch.triage import assess

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 08:00 in Chon Buri


async def record(store, events):
    async with store.unit_of_work("test") as uow:
        for event in events:
            await uow.append(event)


def call(incident_id, start, unit_id, *, travel_s, group=6, determinant=1, transport=True):
    at = lambda s: start + timedelta(seconds=s)  # noqa: E731
    events = [IncidentReported(at=at(0), incident_id=incident_id, channel=Channel.PHONE, location=LatLon(13.36, 100.98)),
              IncidentTriaged(at=at(40), incident_id=incident_id, triage=assess(group, determinant)),
              UnitAssigned(at=at(60), assignment_id=100 + incident_id, incident_id=incident_id, unit_id=unit_id,
                           ack_due_at=at(90)),
              IncidentStatusChanged(at=at(120), incident_id=incident_id, status=S.EN_ROUTE),
              IncidentStatusChanged(at=at(120 + travel_s), incident_id=incident_id, status=S.ON_SCENE)]
    if transport:
        events += [IncidentStatusChanged(at=at(1320), incident_id=incident_id, status=S.TRANSPORTING),
                   IncidentStatusChanged(at=at(1920), incident_id=incident_id, status=S.AT_HOSPITAL),
                   IncidentStatusChanged(at=at(2820), incident_id=incident_id, status=S.CLOSED)]
    else:
        events.append(IncidentStatusChanged(at=at(1320), incident_id=incident_id, status=S.CLOSED))
    return events


@pytest.fixture
async def store():
    store = MemoryEventStore()
    await record(store, [UnitRegistered(at=T0, unit_id=u, capability=Capability.ALS, station_id="s", station_name="s",
                                        base=LatLon(13.35, 100.98)) for u in ("U1", "U2")])
    await record(store, call(1, T0, "U1", travel_s=300))
    await record(store, call(2, T0 + timedelta(hours=2), "U2", travel_s=600))
    await record(store, call(3, T0 + timedelta(days=1), "U1", travel_s=200, group=11, determinant=3, transport=False))
    return store


async def test_intervals_of_one_incident_follow_its_events(store):
    rows = kpi.incident_rows(await store.list("incidents"))
    first = rows[0]
    assert first["day"] == "2026-03-02" and first["colour"] == "red"
    assert {k: first[k] for k in kpi.INTERVAL_NAMES} == {
        "call_processing": 60, "turnout": 60, "travel": 300, "on_scene": 900, "transport": 600, "handover": 900,
        "response": 420}
    assert rows[2]["colour"] == "green" and rows[2]["transport"] is None and rows[2]["day"] == "2026-03-03"


async def test_percentiles_per_day_and_colour_and_csv(store):
    summary = kpi.interval_summary(kpi.incident_rows(await store.list("incidents")))
    pick = {(r["day"], r["colour"], r["interval"]): r for r in summary}
    red_travel = pick[("all", "red", "travel")]
    assert red_travel["n"] == 2 and red_travel["p50_s"] == 450.0 and red_travel["p90_s"] == 570.0
    assert pick[("2026-03-03", "all", "response")]["p50_s"] == 320.0
    assert pick[("all", "all", "transport")]["n"] == 2  # the green patient was not transported
    assert pick[("all", "white", "travel")]["n"] == 0 and pick[("all", "white", "travel")]["p90_s"] is None
    csv = kpi.to_csv(summary).splitlines()
    assert csv[0] == "day,colour,interval,n,p50_s,p90_s,mean_s"
    assert "all,red,travel,2,450.0,570.0,450.0" in csv


async def test_red_within_eight_minutes_and_unit_utilisation(store):
    rows = kpi.incident_rows(await store.list("incidents"))
    headline = kpi.response_summary(rows, 480)
    assert headline["red_incidents"] == 2 and headline["red_within_8min_pct"] == 50.0  # 420 s yes, 720 s no
    await record(store, [UnitStatusChanged(at=T0 + timedelta(seconds=3000), unit_id="U1", status=UnitStatus.AVAILABLE)])
    busy = kpi.unit_utilisation(store.log, T0, T0 + timedelta(hours=10))
    assert busy["U1"] == pytest.approx((3000 - 60) / 36000, abs=1e-3)
    assert busy["U2"] == pytest.approx((36000 - 7200 - 60) / 36000, abs=1e-3)  # never freed: busy to the end


def test_a_call_taken_on_the_console_counts_from_its_answer_to_dispatch():
    """A New call on the console (IncidentReported with answered_s_before) is a call row: its answer is that many
    seconds before the report; it has no queue time, so it leaves the answering share to the queued calls."""
    t0 = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
    events = [
        {"type": "IncidentReported", "occurred_at": t0,
         "payload": {"incident_id": 7, "location": {"lat": 13.36, "lon": 100.98}, "answered_s_before": 9.5}},
        {"type": "IncidentTriaged", "occurred_at": t0 + timedelta(seconds=20), "payload": {"incident_id": 7}},
        {"type": "UnitAssigned", "occurred_at": t0 + timedelta(seconds=30), "payload": {"incident_id": 7}},
        {"type": "IncidentReported", "occurred_at": t0, "payload": {"incident_id": 8, "answered_s_before": None}},
    ]
    [row] = kpi.call_rows(events)
    assert row == {"call_sid": None, "incident_id": 7, "day": row["day"], "abandoned": False, "answer": None,
                   "to_location": 9.5, "to_code": 29.5, "to_dispatch": 39.5}
    summary = kpi.call_summary([row], 15.0, 60.0)
    assert summary["console_calls"] == 1 and summary["answered_within_target_pct"] is None
    assert summary["dispatched_within_target_pct"] == 100.0 and summary["intervals"]["to_dispatch"]["n"] == 1


def test_time_to_location_counts_a_dispatchers_choice_and_the_callers_phone_not_the_geocoders_guess():
    t0 = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)

    def call(incident_id, *located):
        sid = f"CA{incident_id:032d}"
        return [{"type": "CallAnswered", "occurred_at": t0, "payload": {"incident_id": incident_id, "call_sid": sid,
                                                                         "wait_s": 4.0}}, *located]

    def confirmed(incident_id, after_s, **payload):
        return {"type": "LocationConfirmed", "occurred_at": t0 + timedelta(seconds=after_s),
                "payload": {"incident_id": incident_id, **payload}}

    events = [*call(1, confirmed(1, 5, source="geocoder"), confirmed(1, 25, source="typed_address",
                                                                      confirmed_by="dispatcher:d1")),
              *call(2, confirmed(2, 12, source="geocoder", confirmed_by="dispatcher:d1")),
              *call(3, {"type": "CallerLocationShared", "occurred_at": t0 + timedelta(seconds=40),
                        "payload": {"incident_id": 3}}),
              *call(4, confirmed(4, 8, source="geocoder"))]
    rows = {r["incident_id"]: r for r in kpi.call_rows(events)}
    assert [rows[i]["to_location"] for i in (1, 2, 3, 4)] == [25.0, 12.0, 40.0, None]
    summary = kpi.call_summary(list(rows.values()), 15.0, 60.0)
    assert summary["intervals"]["to_location"]["n"] == 3 and summary["target_share_pct"] == 90.0

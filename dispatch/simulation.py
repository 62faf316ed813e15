"""A discrete-event simulator that drives the live dispatch services (intake, triage, recommendation, assignment,
fleet status, destination, move-up) over an in-memory event store and a road graph, with a simulated clock.

Nothing of the dispatch logic is repeated here: the simulator plays the callers, the dispatcher and the crews,
calls the same service methods the HTTP handlers call, and measures what the event log says happened.

Model (documented defaults in `SimParams`):
- Calls arrive as a Poisson process whose rate follows `HOURLY_PROFILE` (local time, Asia/Bangkok), at points
  drawn from a demand layer (road nodes as a population proxy unless weights are supplied).
- Colour mix `COLOUR_MIX`; each call gets a random Thai CBD card determinant of that colour.
- Call processing, turnout, on-scene and handover times are log-normal around the medians in `SimParams`;
  `TRANSPORT_SHARE` of patients per colour go to hospital (the destination service picks which).
- Units drive on the road graph at the graph's travel times, along the road route; while driving, a unit's
  position (for its next recommendation) moves along that route at an even pace. With `hourly` (ops/simulate.py)
  those times follow the hour of the simulated day (time-of-day speeds per road class).
- Crews acknowledge on the tablet (`ack_median_s`) and roll after turnout; a share of them
  (`missed_ack_share`) miss the acknowledgement, and the live escalation ladder (`EscalationLadder`) runs on the
  simulated clock: re-push, SMS, voice, then the next unit. A silent crew whose call was handed on is out of
  service and reports back after `silent_crew_back_s`; one whose call could not be handed on answers late.
- Calls are triaged through `TriageDispatchService`, the path the triage API takes, so red calls are
  auto-dispatched exactly as live (every unit the determinant asks for); other calls take the first
  recommendation. Calls with no unit free wait in a queue (red first) until a unit turns free. Of several units on
  one call the first transports; the others leave the scene after the on-scene time.

Policies differ only in what they plug into those services: the ETA provider the recommendation ranks by
(straight line or road) and whether the coverage service moves units up (DMEXCLP, dispatch/coverage.py).
"""
from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from itertools import accumulate
from typing import Any, NamedTuple

import numpy as np

from dispatch import kpi
from dispatch.assignment import AssignmentService, DispatchPolicy, EscalationLadder
from dispatch.autodispatch import TriageDispatchService
from dispatch.coverage import Cell, CoverageService
from dispatch.destination import DestinationService
from dispatch.errors import Conflict, DomainError
from dispatch.events import Event
from dispatch.fleet import FleetService
from dispatch.intake import IntakeService, ServiceArea
from dispatch.memory_store import MemoryEventStore
from dispatch.model import AssignmentStatus, Colour, LatLon, UnitStatus, distance_m
from dispatch.recommendation import RecommendationService
from dispatch.triage import TriageService, cards

# Relative call volume per local hour (night low, late-morning and evening peaks), from the usual EMS day shape.
HOURLY_PROFILE = [0.55, 0.45, 0.40, 0.38, 0.40, 0.50, 0.75, 0.95, 1.10, 1.20, 1.25, 1.25,
                  1.20, 1.15, 1.15, 1.15, 1.20, 1.30, 1.40, 1.40, 1.30, 1.10, 0.90, 0.70]
COLOUR_MIX = {"red": 0.25, "yellow": 0.35, "green": 0.25, "white": 0.15}
TRANSPORT_SHARE = {"red": 0.9, "yellow": 0.8, "green": 0.6, "white": 0.25}
QUEUE_ORDER = {c.value: rank for rank, c in enumerate(Colour)}  # red first
SIM_START = datetime(2026, 1, 5, tzinfo=UTC) - kpi.LOCAL_OFFSET  # a Monday, local midnight


@dataclass(frozen=True)
class SimParams:
    hours: float = 24.0
    seed: int = 1
    calls_per_day: float = 120.0
    call_processing_median_s: float = 75.0
    turnout_median_s: float = 60.0
    on_scene_median_s: float = 15 * 60.0
    handover_median_s: float = 15 * 60.0
    spread: float = 0.35  # log-normal sigma of every duration
    ack_median_s: float = 10.0  # a crew's tap on Acknowledge after the assignment reaches the tablet
    missed_ack_share: float = 0.05  # assignments a crew does not acknowledge in time (the ladder runs)
    late_ack_after_due_s: float = 75.0  # a silent crew still holding its call answers this long after it was due
    silent_crew_back_s: float = 600.0  # a silent crew taken off its call reports available again after this
    straight_line_kmh: float = 30.0  # what the straight-line baseline assumes a unit covers per hour, as the crow flies
    target_s: float = kpi.TARGET_RESPONSE_S


@dataclass(frozen=True)
class SimCall:
    at_s: float
    location: LatLon
    colour: str
    group: int
    determinant: int
    call_processing_s: float
    turnout_s: float
    on_scene_s: float
    transport: bool
    handover_s: float


@dataclass(frozen=True)
class Policy:
    name: str
    road_ranking: bool  # rank units by road ETA (else straight-line distance)
    move_up: bool  # DMEXCLP return posts and move-ups


POLICIES = {p.name: p for p in (Policy("straight_line", False, False), Policy("road_eta", True, False),
                                Policy("road_eta_moveup", True, True))}


def _determinants_by_colour() -> dict[str, list[tuple[int, int]]]:
    found: dict[str, list[tuple[int, int]]] = {}
    for group, card in sorted(cards().items()):
        for n, option in enumerate(card["determinants"], start=1):
            found.setdefault(option["colour"], []).append((group, n))
    return found


def generate_calls(params: SimParams, demand_lat: np.ndarray, demand_lon: np.ndarray,
                   demand_weight: np.ndarray | None = None) -> list[SimCall]:
    """The same calls for every policy: seeded by `params.seed`, independent of how the run goes."""
    rng = random.Random(params.seed)
    nodes = range(len(demand_lat))
    # summed once: `choices(weights=...)` would add up every demand point again for each call
    cum_weights = None if demand_weight is None else list(accumulate(np.asarray(demand_weight, dtype=float).tolist()))
    options = _determinants_by_colour()
    colours, mix = list(COLOUR_MIX), list(COLOUR_MIX.values())
    peak = max(HOURLY_PROFILE) * params.calls_per_day / sum(HOURLY_PROFILE) / 3600  # calls per second at peak
    calls, t = [], 0.0
    lognormal = lambda median: median * math.exp(rng.gauss(0, params.spread))  # noqa: E731
    while True:  # thinning: draw at the peak rate, keep each with the hour's share of it
        t += rng.expovariate(peak)
        if t >= params.hours * 3600:
            return calls
        if rng.random() > HOURLY_PROFILE[int(t // 3600) % 24] / max(HOURLY_PROFILE):
            continue
        node = rng.choices(nodes, cum_weights=cum_weights)[0]
        colour = rng.choices(colours, weights=mix)[0]
        group, determinant = rng.choice(options[colour])
        calls.append(SimCall(
            at_s=t, location=LatLon(float(demand_lat[node]), float(demand_lon[node])), colour=colour, group=group,
            determinant=determinant, call_processing_s=lognormal(params.call_processing_median_s),
            turnout_s=lognormal(params.turnout_median_s), on_scene_s=lognormal(params.on_scene_median_s),
            transport=rng.random() < TRANSPORT_SHARE[colour], handover_s=lognormal(params.handover_median_s)))


class StraightEta(NamedTuple):
    eta_s: float | None
    distance_m: float | None
    outside_coverage: bool = False  # the baseline ranks everything this way by choice, not for lack of roads
    eta_source: str = "straight_line"
    snap_distance_m: float = 0.0


class StraightLineEtas:
    """The baseline's EtaProvider: distance as the crow flies at a fixed speed (what many systems rank by)."""

    def __init__(self, kmh: float):
        self.mps = kmh / 3.6

    async def etas_to(self, target, origins: Sequence) -> list[StraightEta]:
        """Straight-line ETAs: distance in metres over the configured speed (m/s), per origin."""
        return [StraightEta(d / self.mps, d) for d in (distance_m(o, target) for o in origins)]


class SimClock:
    def __init__(self, start: datetime):
        self.start = start
        self.t = 0.0

    def now(self) -> datetime:
        """Simulated UTC time: the start plus the simulated seconds elapsed."""
        return self.start + timedelta(seconds=self.t)


@dataclass
class Motion:
    """A drive from `origin` to `destination` along `path` ((lat, lon) points; the road route when known)."""

    origin: LatLon
    destination: LatLon
    depart_s: float
    arrive_s: float
    path: list[tuple[float, float]] = field(default_factory=list)

    @cached_property
    def _track(self) -> tuple[np.ndarray, np.ndarray]:
        """The path's points and how far along it each one is (degrees); worked out once per drive."""
        points = np.array(self.path or [(self.origin.lat, self.origin.lon), (self.destination.lat, self.destination.lon)])
        steps = np.hypot(np.diff(points[:, 0]), np.diff(points[:, 1]) * math.cos(math.radians(points[0, 0])))
        return points, np.concatenate([[0.0], np.cumsum(steps)])

    def at(self, t: float) -> LatLon:
        """Where the unit is at time t, at an even pace along the path."""
        share = min(max((t - self.depart_s) / max(self.arrive_s - self.depart_s, 1e-9), 0.0), 1.0)
        points, done = self._track
        if done[-1] <= 0:
            return self.destination
        return LatLon(float(np.interp(share * done[-1], done, points[:, 0])),
                      float(np.interp(share * done[-1], done, points[:, 1])))


@dataclass
class SimUnit:
    id: str
    home: LatLon
    post: LatLon  # where it stands by when idle
    motion: Motion | None = None
    plan: int = 0  # bumped on every new task, so stale timers are ignored

    def position(self, t: float) -> LatLon:
        """Where the unit is at simulated second `t`: on its way, or at its post."""
        return self.motion.at(t) if self.motion else self.post

    def arrive(self) -> None:
        """The unit reaches its destination, which becomes its post."""
        self.post, self.motion = self.motion.destination, None


class SilentPhones:
    """The ladder's CrewNotifier in a simulation: SMS and voice go nowhere (the crew's answer is simulated)."""

    def __init__(self):
        self.sent = 0

    async def send_sms(self, to: str, body: str, *, incident_id: int | None = None) -> str:
        """Counts the text and returns a message id, as Twilio would."""
        self.sent += 1
        return f"local-sim-{self.sent}"

    async def call(self, to: str, message: str, *, incident_id: int | None = None) -> str:
        """A voice call, counted like a text."""
        return await self.send_sms(to, message, incident_id=incident_id)


class SimPositions:
    """The UnitPositions port: where the simulated units are (moving, or parked away from their station)."""

    def __init__(self, sim: Simulation, *, destinations: bool = False):
        self.sim = sim
        self.destinations = destinations  # report where moving units are heading (for coverage decisions)

    async def latest(self, unit_ids: list[str]) -> dict[str, LatLon]:
        """Simulated positions of the known units (their destination when `destinations`), unknown ids absent."""
        found = {}
        for unit_id in unit_ids:
            unit = self.sim.units.get(unit_id)
            if unit is None:
                continue
            if unit.motion is not None:
                found[unit_id] = unit.motion.destination if self.destinations else unit.motion.at(self.sim.clock.t)
            elif unit.post != unit.home:
                found[unit_id] = unit.post
        return found


@dataclass
class SimResult:
    policy: str
    summary: dict[str, Any]
    responses: list[dict]  # one row per incident: id, colour, response_s (None: never reached)
    utilisation: dict[str, float]
    moveups: int
    events: int
    missed_acks: int = 0
    reassigned: int = 0  # calls the ladder handed to the next unit

    def json_line(self) -> dict:
        """The headline figures (policy, incidents, % red within 8 min, p90 and mean response in seconds) and how
        often the ladder ran (acknowledgements missed, incidents re-assigned)."""
        return {**{key: self.summary[key] for key in
                   ("policy", "incidents", "red_within_8min_pct", "p90_response_s", "mean_response_s")},
                "missed_acks": self.missed_acks, "reassigned": self.reassigned}


@dataclass
class Simulation:
    """One run of one policy. `road` is the true travel (a routing.service.RoutingService or any EtaProvider);
    `planning`, when given, is what the dispatch believes instead (e.g. the defaults while the truth varies by hour).

    Give each run its own routing service: its tree cache keeps float32 seconds, so a warm cache shifts ETAs by
    microseconds and a repeat run would differ in the last digits.
    """

    calls: list[SimCall]
    fleet_events: list[Event]
    road: Any
    policy: Policy
    params: SimParams
    cells: list[Cell] = field(default_factory=list)
    area: ServiceArea = ServiceArea(-90, -180, 90, 180)
    hourly: Callable[[datetime], Any] | None = None  # told the simulated time before each step (time-of-day speeds)
    planning: Any = None  # the ETAs the dispatch ranks, picks hospitals and posts by; default `road` (the truth)

    def __post_init__(self) -> None:
        self.clock = SimClock(SIM_START)
        self.store = MemoryEventStore()
        self.units: dict[str, SimUnit] = {}
        self.positions = SimPositions(self)
        planning = self.road if self.planning is None else self.planning
        ranking = planning if self.policy.road_ranking else StraightLineEtas(self.params.straight_line_kmh)
        self.recommendations = RecommendationService(self.store, ranking, self.positions)
        self.dispatch_policy = DispatchPolicy()
        self.assignments = AssignmentService(self.store, self.clock, self.recommendations, self.dispatch_policy)
        self.ladder = EscalationLadder(self.store, self.clock, self.dispatch_policy, SilentPhones(),
                                       self.recommendations)
        self._started: set[int] = set()  # assignment ids whose crew the simulation plays
        self.missed_acks = 0
        self.intake = IntakeService(self.store, self.clock, self.area)
        self.triage = TriageDispatchService(TriageService(self.store, self.clock), self.assignments)
        self.fleet = FleetService(self.store, self.clock)
        self.destinations = DestinationService(self.store, self.clock, planning, self.positions)
        self.coverage = CoverageService(self.store, self.clock, planning, SimPositions(self, destinations=True),
                                        self.cells, post_rows_ttl_s=math.inf)  # no closures in a simulated day
        self._timers: list[tuple[float, int, Callable]] = []
        self._timer_seq = 0
        self._waiting: list[tuple[int, float, int]] = []  # (queue order, reported at, incident id)
        self._call_of: dict[int, SimCall] = {}
        self.moveups = 0

    # ---- the event loop ---------------------------------------------------------------------------------------
    def at(self, t: float, action: Callable) -> None:
        """Schedule `action()` at simulated second `t` (ties run in scheduling order)."""
        self._timer_seq += 1
        heapq.heappush(self._timers, (t, self._timer_seq, action))

    async def run(self, progress: Callable[[], None] | None = None) -> SimResult:
        """Register the fleet, play every call through the real dispatch services on simulated time, and summarise;
        `progress` is called once per call."""
        async with self.store.unit_of_work("sim:setup") as uow:
            for event in self.fleet_events:
                await uow.append(event)
        for unit in await self.store.list("units"):
            self.units[unit.id] = SimUnit(unit.id, unit.base, unit.base)
        for call in self.calls:
            self.at(call.at_s, lambda call=call: self._call(call, progress))
        while self._timers:
            t, _, action = heapq.heappop(self._timers)
            self.clock.t = t
            if self.hourly is not None:
                self.hourly(self.clock.now())
            await action()
        return await self._result()

    # ---- callers and the dispatcher ---------------------------------------------------------------------------
    async def _call(self, call: SimCall, progress) -> None:
        incident, _ = await self.intake.report(
            {"channel": "phone", "location": {"lat": call.location.lat, "lon": call.location.lon}},
            actor="sim:caller")
        self._call_of[incident.id] = call
        self.at(self.clock.t + call.call_processing_s, lambda: self._triage(incident.id))
        if progress:
            progress()

    async def _triage(self, incident_id: int) -> None:
        call = self._call_of[incident_id]
        triaged = await self.triage.triage(incident_id, call.group, call.determinant, actor="sim:dispatcher",
                                           role="dispatcher")
        if not await self._dispatch(incident_id, triaged.assignments):
            heapq.heappush(self._waiting, (QUEUE_ORDER[call.colour], call.at_s, incident_id))

    async def _dispatch(self, incident_id: int, assignments: list | None = None) -> bool:
        """Red: the live auto-dispatch (`assignments`: what triage already sent). Others: the dispatcher takes the
        first recommendation with a road ETA."""
        if self._call_of[incident_id].colour == Colour.RED.value:
            assignments = assignments or await self.assignments.auto_dispatch(incident_id)
        else:
            assignments = []
            for option in await self.recommendations.recommend(incident_id, limit=1000):
                if option.eta_s is None:
                    break
                try:
                    assignments = [await self.assignments.assign(incident_id, option.unit_id,
                                                                 actor="sim:dispatcher", role="dispatcher")]
                    break
                except Conflict:
                    continue
        if not assignments:
            return False
        for n, assignment in enumerate(assignments):
            self._crew_gets(assignment, lead=n == 0)
        if self.policy.move_up:
            await self._move_up()
        return True

    async def _serve_waiting(self) -> None:
        still = []
        while self._waiting:
            entry = heapq.heappop(self._waiting)
            if not await self._dispatch(entry[2]):
                still.append(entry)
        for entry in still:
            heapq.heappush(self._waiting, entry)

    # ---- crews ------------------------------------------------------------------------------------------------
    def _crew_gets(self, assignment, *, lead: bool) -> None:
        """An assignment reaches a crew's tablet: it acknowledges and rolls after turnout, or misses it and the
        ladder's steps fall due."""
        self._started.add(assignment.id)
        incident_id = assignment.incident_id
        unit = self.units[assignment.unit_id]
        unit.plan += 1
        was_moving = unit.motion is not None
        unit.post = unit.position(self.clock.t)  # it stops where it is until the crew rolls
        unit.motion = None
        call = self._call_of[incident_id]
        draw = random.Random(f"{self.params.seed}:{incident_id}:{unit.id}")  # the same crews miss in every policy
        if draw.random() < self.params.missed_ack_share:
            self.missed_acks += 1
            due_s = (assignment.ack_due_at - SIM_START).total_seconds()
            for offset_s, _step in self.dispatch_policy.ladder:
                self.at(due_s + offset_s, lambda: self._ladder_step(incident_id, lead))
            self._after(unit, due_s + self.params.late_ack_after_due_s - self.clock.t,
                        lambda: self._silent_crew(assignment.id, unit, incident_id, lead))
            return
        ack_s = min(self.params.ack_median_s * math.exp(draw.gauss(0, self.params.spread)), call.turnout_s)

        async def acknowledge():
            await self.assignments.acknowledge(assignment.id, actor=f"sim:crew:{unit.id}", role="crew",
                                               unit_id=unit.id)
        self._after(unit, ack_s, acknowledge)
        turnout = 5.0 if was_moving else call.turnout_s  # a crew on the road is rolling
        self._after(unit, max(turnout, ack_s), lambda: self._roll(unit.id, incident_id, lead))

    async def _ladder_step(self, incident_id: int, lead: bool) -> None:
        """The live ladder takes what is due; a unit it hands the call to gets it on its tablet."""
        await self.ladder.tick()
        incident = await self.store.get("incidents", incident_id)
        for assignment_id in incident.assignment_ids:
            if assignment_id not in self._started:
                assignment = await self.store.get("assignments", assignment_id)
                if assignment.status is AssignmentStatus.AWAITING_ACK:
                    self._crew_gets(assignment, lead=lead)

    async def _silent_crew(self, assignment_id: int, unit: SimUnit, incident_id: int, lead: bool) -> None:
        """The crew that missed its acknowledgement surfaces: it answers late if the call is still its own, else
        (handed on, out of service) it reports back later."""
        assignment = await self.store.get("assignments", assignment_id)
        if assignment.status is AssignmentStatus.AWAITING_ACK:
            await self._roll(unit.id, incident_id, lead)  # en route also acknowledges, late
            return

        async def back_in_service():
            await self._status(unit.id, UnitStatus.AVAILABLE)
            await self._serve_waiting()
        self._after(unit, self.params.silent_crew_back_s, back_in_service)

    def _after(self, unit: SimUnit, delay_s: float, action: Callable) -> None:
        plan = unit.plan

        async def if_still_planned():
            if unit.plan == plan:
                await action()

        self.at(self.clock.t + delay_s, if_still_planned)

    async def _status(self, unit_id: str, status: UnitStatus) -> None:
        await self.fleet.change_unit_status(unit_id, status.value, actor=f"sim:crew:{unit_id}", role="crew",
                                            own_unit=unit_id)

    async def _drive(self, unit: SimUnit, destination: LatLon) -> float:
        """Start driving; returns the road travel time (s)."""
        origin = unit.position(self.clock.t)
        [eta] = await self.road.etas_to(destination, [origin])
        seconds = eta.eta_s if eta.eta_s is not None else distance_m(origin, destination) / (20 / 3.6)
        path = []
        if hasattr(self.road, "route") and eta.eta_s is not None:  # a routing service: follow the roads
            route = await self.road.route(origin, destination)
            path = [(lat, lon) for lon, lat in route.geometry["coordinates"]] if route else []
        unit.motion = Motion(origin, destination, self.clock.t, self.clock.t + seconds, path)
        return seconds

    async def _roll(self, unit_id: str, incident_id: int, lead: bool = True) -> None:
        unit = self.units[unit_id]
        await self._status(unit_id, UnitStatus.EN_ROUTE)
        travel = await self._drive(unit, self._call_of[incident_id].location)
        self._after(unit, travel, lambda: self._on_scene(unit, incident_id, lead))

    async def _arrive(self, unit: SimUnit, status: UnitStatus, stay_s: float, then: Callable) -> None:
        """The unit reaches the scene or the hospital, reports it, and stays `stay_s` before `then`."""
        unit.arrive()
        await self._status(unit.id, status)
        self._after(unit, stay_s, then)

    async def _on_scene(self, unit: SimUnit, incident_id: int, lead: bool = True) -> None:
        """The lead unit transports (or closes the call); a supporting unit only leaves the scene."""
        then = (lambda: self._leave_scene(unit, incident_id)) if lead else (
            lambda: self._free(unit, incident_id, close=False))
        await self._arrive(unit, UnitStatus.ON_SCENE, self._call_of[incident_id].on_scene_s, then)

    async def _leave_scene(self, unit: SimUnit, incident_id: int) -> None:
        if not self._call_of[incident_id].transport:
            await self._free(unit, incident_id)
            return
        [best, *_] = await self.destinations.recommend(incident_id)
        await self.destinations.choose(incident_id, best.hospital_id, actor=f"sim:crew:{unit.id}", role="crew")
        await self._status(unit.id, UnitStatus.TRANSPORTING)
        hospital = await self.store.get("hospitals", best.hospital_id)
        travel = await self._drive(unit, hospital.location)
        self._after(unit, travel, lambda: self._at_hospital(unit, incident_id))

    async def _at_hospital(self, unit: SimUnit, incident_id: int) -> None:
        await self._arrive(unit, UnitStatus.AT_HOSPITAL, self._call_of[incident_id].handover_s,
                           lambda: self._free(unit, incident_id))

    async def _free(self, unit: SimUnit, incident_id: int, close: bool = True) -> None:
        """Call over (for this unit; `close`: for the incident too): the unit heads back (to its station, or to the
        best post under move-up) and may be reused."""
        if (await self.store.get("units", unit.id)).status is not UnitStatus.AVAILABLE:
            await self._status(unit.id, UnitStatus.RETURNING)  # (closing the incident may have freed it already)
        if close:
            await self.fleet.change_incident_status(incident_id, "closed", actor="sim:dispatcher", role="dispatcher")
        target = unit.home
        if self.policy.move_up:
            post, gain = await self.coverage.best_post_for(unit.id)
            if post is not None:
                await self.coverage.accept(unit.id, post.id, actor="sim:dispatcher", role="dispatcher", gain=gain)
                target = post.location
                self.moveups += post.location != unit.home
        unit.plan += 1
        travel = await self._drive(unit, target)
        self._after(unit, travel, lambda: self._back(unit))
        await self._serve_waiting()

    async def _back(self, unit: SimUnit) -> None:
        unit.arrive()
        await self._status(unit.id, UnitStatus.AVAILABLE)
        await self._serve_waiting()

    async def _move_up(self) -> None:
        """After a dispatch leaves a gap: accept the best suggestion for a unit parked at a post, if any."""
        for move in await self.coverage.suggestions():
            unit = self.units[move.unit_id]
            if unit.motion is not None:
                continue
            try:
                await self.coverage.accept(unit.id, move.post.id, actor="sim:dispatcher", role="dispatcher",
                                           gain=move.gain)
            except DomainError:
                continue
            self.moveups += 1
            unit.plan += 1
            travel = await self._drive(unit, move.post.location)
            self._after(unit, travel, lambda: self._parked(unit))
            return

    async def _parked(self, unit: SimUnit) -> None:
        unit.arrive()  # still available: nothing to record

    # ---- results ----------------------------------------------------------------------------------------------
    async def _result(self) -> SimResult:
        incidents = await self.store.list("incidents", limit=10**9)
        rows = kpi.incident_rows(incidents)
        end = SIM_START + timedelta(hours=self.params.hours)
        summary = {"policy": self.policy.name, **kpi.response_summary(rows, self.params.target_s)}
        utilisation = kpi.unit_utilisation(self.store.log, SIM_START, end)
        reassigned = sum(1 for e in self.store.log if e.type == "AssignmentEscalated"
                         and e.payload.get("step") == "next_unit" and e.payload.get("detail"))
        return SimResult(self.policy.name, summary, [{"id": r["incident_id"], "colour": r["colour"],
                                                      "response_s": r["response"]} for r in rows],
                         utilisation, self.moveups, len(self.store.log), self.missed_acks, reassigned)

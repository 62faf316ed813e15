"""Destination hospital: rank by road ETA, capability for the patient's condition, diversion and free beds;
the choice sends a pre-arrival alert to that emergency department. Where the patient or a hospital is outside
road coverage the ETA is a straight-line estimate, and every option and inbound ETA says so."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from dispatch.access import unit_on_incident
from dispatch.error_codes import ErrorCode
from dispatch.errors import Conflict, FieldError, Forbidden, Invalid, NotFound
from dispatch.events import DestinationChosen, HospitalAlerted, InboundAcknowledged
from dispatch.model import Hospital, Incident, IncidentStatus, LatLon, UnitStatus
from dispatch.policies import require
from dispatch.ports import Clock, EtaProvider, EventStore, RoadEta, UnitPositions, get_or_not_found
from dispatch.recommendation import eta_reasons

# CBD group → the capability the receiving hospital should have
NEEDS = {7: "stemi", 18: "stroke", 14: "obstetric", 19: "paediatric", 20: "trauma", 21: "trauma", 22: "trauma",
         24: "trauma", 25: "trauma"}
DIVERSION_PENALTY_S = 3600.0
NO_BEDS_PENALTY_S = 600.0
MISSING_CAPABILITY_PENALTY_S = 1200.0


@dataclass(frozen=True)
class DestinationOption:
    hospital_id: str
    name_th: str
    name_en: str
    eta_s: float | None
    distance_m: float | None
    capable: bool
    diversion: bool
    ed_beds_free: int
    score_s: float | None
    why_en: str
    why_th: str
    outside_coverage: bool  # the patient or the hospital is off the road network: eta_s is a straight-line estimate
    eta_source: str  # "road" or "straight_line"
    snap_distance_m: float  # the farther of the two from its nearest mapped road

    def to_json(self) -> dict:
        """The option as a JSON-ready dict (every field; seconds and metres as named)."""
        return dict(self.__dict__)


# where the crew is in the job, as the receiving emergency department sees it
STAGES = {IncidentStatus.RECEIVED: "waiting", IncidentStatus.TRIAGED: "waiting", IncidentStatus.ASSIGNED: "assigned",
          IncidentStatus.ACKNOWLEDGED: "assigned", IncidentStatus.EN_ROUTE: "en_route",
          IncidentStatus.ON_SCENE: "on_scene", IncidentStatus.TRANSPORTING: "transporting",
          IncidentStatus.AT_HOSPITAL: "arrived"}


@dataclass(frozen=True)
class InboundEta:
    """An inbound patient's stage and, while transporting, its arrival time (see DestinationService.inbound_eta)."""
    stage: str  # waiting (no unit yet), assigned, en_route, on_scene, transporting, arrived
    eta: RoadEta | None = None  # transporting: from `computed_at`'s origin to the hospital
    computed_at: datetime | None = None  # the moment the ETA counts from (the position's time, or transport start)
    arrival_at: datetime | None = None  # computed_at + eta (None unless transporting with a usable ETA)
    from_position: bool = False  # computed from the unit's AVL position (else from the scene)
    unit_id: str | None = None
    position_at: datetime | None = None  # the time of that position
    transport_estimate: RoadEta | None = None  # before transport: scene to hospital by road, not a countdown
    arrived_at: datetime | None = None


def needed_capability(incident: Incident) -> str | None:
    """The hospital capability the incident's triage group needs (stemi, stroke, ...), or None."""
    return NEEDS.get(incident.triage.group) if incident.triage else None


class DestinationService:
    def __init__(self, store: EventStore, clock: Clock, etas: EtaProvider, positions: UnitPositions):
        self.store = store
        self.clock = clock
        self.etas = etas
        self.positions = positions

    async def _from_where(self, incident: Incident) -> LatLon:
        """Where the patient is now: the transporting unit's live position, else the scene."""
        if incident.unit_ids:
            live = await self.positions.latest(incident.unit_ids)
            for unit_id in incident.unit_ids:
                if unit_id in live:
                    return LatLon(live[unit_id].lat, live[unit_id].lon)
        if incident.location is None:
            raise Conflict(ErrorCode.INCIDENT_NO_LOCATION)
        return incident.location

    async def recommend(self, incident_id: int) -> list[DestinationOption]:
        """Hospitals ranked for this incident: by road ETA (seconds) from the unit on scene, or from the incident.

        Parameters
        ----------
        incident_id : int
            The incident.

        Returns
        -------
        list of DestinationOption
            Best first; hospitals without a usable ETA last.

        Raises
        ------
        NotFound
            No such incident.
        Unavailable
            The road graph is not loaded yet (RoadsNotReady).
        """
        incident = await get_or_not_found(self.store, "incidents", incident_id)
        origin = await self._from_where(incident)
        hospitals: list[Hospital] = await self.store.list("hospitals", open_only=True)  # retired ones take none
        need = needed_capability(incident)
        options = []
        for hospital in hospitals:
            [eta] = await self.etas.etas_to(hospital.location, [origin])
            capable = need is None or need in hospital.capabilities
            score = None
            if eta.eta_s is not None:
                score = eta.eta_s + (DIVERSION_PENALTY_S if hospital.diversion else 0) + (
                    NO_BEDS_PENALTY_S if hospital.ed_beds_free <= 0 else 0) + (
                    0 if capable else MISSING_CAPABILITY_PENALTY_S)
            options.append(DestinationOption(
                hospital_id=hospital.id, name_th=hospital.name_th, name_en=hospital.name_en, eta_s=eta.eta_s,
                distance_m=eta.distance_m, capable=capable, diversion=hospital.diversion,
                ed_beds_free=hospital.ed_beds_free, score_s=score,
                why_en=_why(eta, capable, need, hospital, en=True), why_th=_why(eta, capable, need, hospital, en=False),
                outside_coverage=eta.outside_coverage, eta_source=eta.eta_source,
                snap_distance_m=round(eta.snap_distance_m, 1)))
        options.sort(key=lambda o: (o.score_s is None, o.score_s or 0.0, o.hospital_id))
        return options

    async def choose(self, incident_id: int, hospital_id: str, *, actor: str, role: str):
        """Send the incident's patient to `hospital_id` and alert that hospital, in one unit of work.

        Parameters
        ----------
        incident_id : int
            The incident.
        hospital_id : str
            The chosen hospital.
        actor, role : str
            Who chooses (written to the log) and their role (dispatcher, admin or crew).

        Returns
        -------
        Incident
            The incident after the choice.

        Raises
        ------
        Forbidden
            The role may not choose a destination.
        NotFound
            No such incident.
        Invalid
            `hospital_id` names no hospital, or a retired one.
        Conflict
            The incident is closed or cancelled.
        Unavailable
            The road graph is not loaded yet.
        """
        require(role, "choose_destination")
        incident = await get_or_not_found(self.store, "incidents", incident_id)
        hospital = await self.store.get("hospitals", hospital_id)
        if hospital is None:
            raise Invalid(FieldError("hospital_id", ErrorCode.NO_SUCH_HOSPITAL))
        if not hospital.is_open:
            raise Invalid(FieldError("hospital_id", ErrorCode.HOSPITAL_RETIRED))
        [eta] = await self.etas.etas_to(hospital.location, [await self._from_where(incident)])
        async with self.store.unit_of_work(actor) as uow:
            incident = await uow.get("incidents", incident_id, lock=True)
            if not incident.is_open:
                raise Conflict(ErrorCode.INCIDENT_IS, incident_id=incident_id, status=incident.status.value)
            now = self.clock.now()
            unit_id = await self._unit_on_scene(uow, incident)
            await uow.append(DestinationChosen(at=now, incident_id=incident_id, hospital_id=hospital_id,
                                               unit_id=unit_id, eta_s=eta.eta_s, eta_source=eta.eta_source))
            triage = incident.triage
            await uow.append(HospitalAlerted(
                at=now, incident_id=incident_id, hospital_id=hospital_id, eta_s=eta.eta_s, colour=incident.colour,
                code=triage.code if triage else None,
                summary=(triage.text_en if triage else None) or incident.chief_complaint, eta_source=eta.eta_source))
            return await uow.get("incidents", incident_id)

    @staticmethod
    async def _unit_on_scene(uow, incident: Incident) -> str | None:
        """The unit still on the incident, never one that has left it (its crew must not get the patient's details)."""
        for unit_id in incident.unit_ids:
            if unit_on_incident(await uow.get("units", unit_id), incident):
                return unit_id
        return None

    async def acknowledge_inbound(self, incident_id: int, hospital_id: str, *, actor: str, role: str,
                                  own_hospital: str | None = None) -> Incident:
        """The receiving ED has seen the alert. Repeating it is harmless; NotFound unless the patient is
        inbound to `hospital_id` (the same answer either way, so staff cannot probe other incidents)."""
        require(role, "acknowledge_inbound")
        if role == "hospital" and own_hospital != hospital_id:
            raise Forbidden(ErrorCode.HOSPITAL_OWN_INBOUND_ONLY)
        async with self.store.unit_of_work(actor) as uow:
            incident = await uow.get("incidents", incident_id, lock=True)
            if incident is None or not incident.is_open or incident.destination_hospital_id != hospital_id:
                raise NotFound(ErrorCode.NO_INBOUND_PATIENT, incident_id=incident_id)
            if incident.hospital_acknowledged_at is None:
                await uow.append(InboundAcknowledged(at=self.clock.now(), incident_id=incident_id,
                                                     hospital_id=hospital_id))
            return await uow.get("incidents", incident_id)

    async def inbound_eta(self, incident: Incident) -> InboundEta:
        """Where the crew is in the job and, while it transports, the arrival time at the destination: the road ETA
        (the same `etas_to` as the choice) from the transporting unit's latest AVL position, counted from the time of
        that position (or from the start of transport, if later), so every board shows the same countdown however
        often it asks. With no position it counts from the scene at the start of transport. Before transport there
        is no arrival time, only `transport_estimate` (scene to hospital); at hospital the patient has arrived.

        Raises
        ------
        Unavailable
            The road graph is not loaded yet.
        """
        stage = STAGES.get(incident.status, "waiting")
        hospital = await self.store.get("hospitals", incident.destination_hospital_id) \
            if incident.destination_hospital_id else None
        if hospital is None:
            return InboundEta(stage=stage)
        if stage != "transporting":
            estimate = None
            if stage != "arrived" and incident.location is not None:
                [estimate] = await self.etas.etas_to(hospital.location, [incident.location])
            return InboundEta(stage=stage, transport_estimate=estimate, arrived_at=incident.status_times.get("at_hospital"))
        now = self.clock.now()
        started = incident.status_times.get("transporting") or now
        unit_id, position, fixed_at = await self._transporting_fix(incident)
        if position is not None and fixed_at is not None \
                and fixed_at < (incident.status_times.get("on_scene") or started):
            position = None  # from before it reached the scene (its station, the road there): the scene is nearer the truth
        if position is None:
            if incident.location is None:
                raise Conflict(ErrorCode.INCIDENT_NO_LOCATION)
            origin, since = incident.location, started
        else:
            origin, since = position, max(started, fixed_at or now)
        [eta] = await self.etas.etas_to(hospital.location, [origin])
        return InboundEta(stage=stage, eta=eta, computed_at=since, from_position=position is not None,
                          unit_id=unit_id, position_at=fixed_at if position is not None else None,
                          arrival_at=since + timedelta(seconds=eta.eta_s) if eta.eta_s is not None else None)

    async def _transporting_fix(self, incident: Incident):
        """(unit id, latest position, its time) of the unit carrying the patient: the incident's transporting units
        (never another unit's position, e.g. a first responder left on scene), else any of its units; the position
        None when none has reported one."""
        units = [await self.store.get("units", unit_id) for unit_id in incident.unit_ids]
        carrying = [u.id for u in units if unit_on_incident(u, incident) and u.status == UnitStatus.TRANSPORTING]
        order = carrying or list(incident.unit_ids)
        fixes = getattr(self.positions, "fixes", None)
        if fixes is not None:
            found = await fixes(order)
        else:  # a positions port without times (the simulation): its positions are current
            found = {u: (p, self.clock.now()) for u, p in (await self.positions.latest(order)).items()}
        for unit_id in order:
            if unit_id in found:
                position, at = found[unit_id]
                return unit_id, position, at
        return (order or [None])[0], None, None


def _why(eta, capable: bool, need: str | None, hospital: Hospital, *, en: bool) -> str:
    if eta.eta_s is None:
        return "no road route" if en else "ไม่มีเส้นทางถนน"
    parts = [english if en else thai for english, thai in eta_reasons(eta)]
    if need:
        parts.append((f"{need} centre" if capable else f"no {need} service") if en else
                     (f"รับ {need} ได้" if capable else f"ไม่มีบริการ {need}"))
    if hospital.diversion:
        parts.append("on diversion" if en else "งดรับผู้ป่วยชั่วคราว")
    parts.append(f"{hospital.ed_beds_free} ED beds free" if en else f"เตียงฉุกเฉินว่าง {hospital.ed_beds_free}")
    return "; ".join(parts) if en else " · ".join(parts)

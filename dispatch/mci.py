"""Mass-casualty incidents: declare, tag patients by colour, and spread them over hospitals by road ETA and
free emergency beds (the sickest first to hospitals with the capability they need, nobody sent to a hospital on
diversion or already full)."""
from __future__ import annotations

from dispatch.destination import needed_capability
from dispatch.error_codes import ErrorCode
from dispatch.errors import Conflict, FieldError, Invalid
from dispatch.events import MciDeclared, PatientsDistributed, PatientsTagged
from dispatch.model import Colour, Hospital, Incident, Patient
from dispatch.policies import require
from dispatch.ports import Clock, EtaProvider, EventStore, get_or_not_found

SEVERITY = {Colour.RED: 0, Colour.YELLOW: 1, Colour.GREEN: 2, Colour.WHITE: 3}
MAX_PATIENTS_PER_CALL = 500


SEVERE = {Colour.RED, Colour.YELLOW}  # these need the specialist service; green and white can go anywhere


def distribute(patients: list[Patient], hospitals: list[tuple[Hospital, float | None]],
               need: str | None = None) -> dict[int, str | None]:
    """Patient number → hospital id (None when no capacity is left anywhere).

    `hospitals` are (hospital, road ETA s) pairs; `need` is the specialist capability the incident's patients
    need (e.g. "trauma", from `destination.needed_capability`), None when any emergency department will do.
    Patients are placed most severe first. A red or yellow patient goes to the nearest hospital with `need`
    that still has a free ED bed, and only when none has one to the nearest hospital with a bed; a green or
    white patient goes to the nearest hospital *without* `need` that has a bed, so the specialist beds stay
    free for the sickest, and only then to a specialist centre. Hospitals on diversion or out of road reach
    are never used; every placement uses up one bed.
    """
    beds = {h.id: max(0, h.ed_beds_free) for h, _ in hospitals}
    by_eta = [h for h, eta in sorted(hospitals, key=lambda pair: (pair[1] is None, pair[1] or 0.0))
              if eta is not None and not h.diversion]
    for patient in patients:  # beds already promised to this incident's earlier placements
        if patient.hospital_id in beds:
            beds[patient.hospital_id] = max(0, beds[patient.hospital_id] - 1)
    capable = [h for h in by_eta if need is None or need in h.capabilities]
    others = [h for h in by_eta if not (need is None or need in h.capabilities)]
    plan: dict[int, str | None] = {}
    for patient in sorted(patients, key=lambda p: (SEVERITY[p.colour], p.number)):
        if patient.hospital_id is not None:
            plan[patient.number] = patient.hospital_id
            continue
        preferred = capable + others if patient.colour in SEVERE else others + capable
        target = next((h for h in preferred if beds[h.id] > 0), None)
        plan[patient.number] = target.id if target else None
        if target:
            beds[target.id] -= 1
    return plan


class MciService:
    def __init__(self, store: EventStore, clock: Clock, etas: EtaProvider):
        self.store = store
        self.clock = clock
        self.etas = etas

    async def declare(self, incident_id: int, *, actor: str, role: str) -> Incident:
        """Declare the incident a mass-casualty incident (idempotent); returns it. Forbidden, NotFound or Conflict
        (closed) as for every MCI command."""
        require(role, "triage")
        async with self.store.unit_of_work(actor) as uow:
            incident = await self._open(uow, incident_id)
            if not incident.mci:
                await uow.append(MciDeclared(at=self.clock.now(), incident_id=incident_id))
            return await uow.get("incidents", incident_id)

    async def tag(self, incident_id: int, colours: list, *, actor: str, role: str) -> Incident:
        """Add triage tags (1 to MAX_PATIENTS_PER_CALL colours) to a declared MCI; returns the incident.

        Raises
        ------
        Forbidden
            The role may not triage.
        Invalid
            `colours` is not a list of red/yellow/green/white of allowed length.
        NotFound, Conflict
            No such incident; it is closed, or no MCI was declared.
        """
        require(role, "triage")
        if not isinstance(colours, list) or not 1 <= len(colours) <= MAX_PATIENTS_PER_CALL:
            raise Invalid(FieldError("colours", ErrorCode.COLOUR_LIST, max=MAX_PATIENTS_PER_CALL))
        try:
            tags = [Colour(c) for c in colours]
        except ValueError:
            raise Invalid(FieldError("colours", ErrorCode.EACH_MUST_BE_COLOUR)) from None
        async with self.store.unit_of_work(actor) as uow:
            incident = await self._open(uow, incident_id)
            if not incident.mci:
                raise Conflict(ErrorCode.MCI_NOT_DECLARED)
            await uow.append(PatientsTagged(at=self.clock.now(), incident_id=incident_id, colours=tags))
            return await uow.get("incidents", incident_id)

    async def distribute(self, incident_id: int, *, actor: str, role: str) -> Incident:
        """Spread the tagged patients over the nearest hospitals by road ETA and free beds; returns the incident.

        Raises
        ------
        Forbidden
            The role may not triage.
        NotFound
            No such incident.
        Conflict
            The incident has no location, is not an MCI, or is closed.
        Unavailable
            The road graph is not loaded yet.
        """
        require(role, "triage")
        incident = await get_or_not_found(self.store, "incidents", incident_id)
        if incident.location is None:
            raise Conflict(ErrorCode.INCIDENT_NO_LOCATION)
        hospitals = await self.store.list("hospitals", open_only=True)
        pairs = []
        for hospital in hospitals:
            [eta] = await self.etas.etas_to(hospital.location, [incident.location])
            pairs.append((hospital, eta.eta_s))
        plan = distribute(incident.patients, pairs, needed_capability(incident))
        async with self.store.unit_of_work(actor) as uow:
            await self._open(uow, incident_id)
            await uow.append(PatientsDistributed(at=self.clock.now(), incident_id=incident_id,
                                                 allocations={str(n): h for n, h in plan.items() if h}))
            return await uow.get("incidents", incident_id)

    @staticmethod
    async def _open(uow, incident_id: int) -> Incident:
        incident = await get_or_not_found(uow, "incidents", incident_id, lock=True)
        if not incident.is_open:
            raise Conflict(ErrorCode.INCIDENT_IS, incident_id=incident_id, status=incident.status.value)
        return incident

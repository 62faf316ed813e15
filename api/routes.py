"""The API's URL table; the composition root (bootstrap.make_app) adds it to the Tornado application."""
from __future__ import annotations

from api.agencies import (
    AgenciesHandler, AgencyHandler, AgencyRetireHandler, MutualAidAnswerHandler, MutualAidHandler, ShiftHandler,
    ShiftsHandler,
)
from api.auth import LoginHandler, LogoutHandler, MeHandler, RevokeUserHandler
from api.calls import (
    AedsHandler, AnswerCallHandler, CallBackHandler, CallsHandler, DeskLineHandler, InstructionsHandler,
    InterviewHandler, RecordingLinkHandler,
)
from api.events import AuditHandler, EventsHandler
from api.dispatch import (
    AcknowledgeHandler, AssignmentsHandler, DestinationsHandler, DistributeHandler, DuplicatesHandler,
    HospitalCapacityHandler, HospitalsHandler, InboundAckHandler, IncidentStatusHandler, KeepApartHandler, MciHandler,
    MergeHandler, PatientsHandler, RecommendationsHandler, TriageCardsHandler, TriageHandler, UnitsHandler,
    UnitStatusHandler, VitalsHandler,
)
from api.incidents import IncidentHandler, IncidentsHandler, InboundHandler
from api.maps import ClosureHandler, ClosuresHandler, RoadsLayerHandler, RouteHandler
from api.openapi import OpenApiHandler
from api.places import GeocodeHandler, IncidentLocationHandler, ReverseHandler
from api.registry import ImportHandler, RecordHandler, RecordsHandler, RetireHandler
from api.reports import (
    CoverageHandler, ItemsCompletenessHandler, ItemsCsvHandler, KpiCsvHandler, KpiHandler, MoveUpsHandler,
    ReplayHandler,
)
from api.settings import PageSettingsHandler
from dispatch.calls import CALL_SID_PATTERN

# Record ids as the registry reads them (dispatch/resource_fields.py): units 40, stations and hospitals 60, users 100.
_UNIT, _PLACE, _USER = r"([A-Za-z0-9_.-]{1,40})", r"([A-Za-z0-9_.-]{1,60})", r"([A-Za-z0-9_.:-]{1,100})"

API_ROUTES: list[tuple] = [
    (r"/api/v1/incidents", IncidentsHandler),
    (r"/api/v1/incidents/([0-9]{1,18})", IncidentHandler),
    (r"/api/v1/incidents/([0-9]{1,18})/triage", TriageHandler),
    (r"/api/v1/incidents/([0-9]{1,18})/recommendations", RecommendationsHandler),
    (r"/api/v1/incidents/([0-9]{1,18})/assignments", AssignmentsHandler),
    (r"/api/v1/incidents/([0-9]{1,18})/status", IncidentStatusHandler),
    (r"/api/v1/incidents/([0-9]{1,18})/destinations", DestinationsHandler),
    (r"/api/v1/incidents/([0-9]{1,18})/duplicates", DuplicatesHandler),
    (r"/api/v1/incidents/([0-9]{1,18})/merge", MergeHandler),
    (r"/api/v1/incidents/([0-9]{1,18})/keep-apart", KeepApartHandler),
    (r"/api/v1/incidents/([0-9]{1,18})/mci", MciHandler),
    (r"/api/v1/incidents/([0-9]{1,18})/patients", PatientsHandler),
    (r"/api/v1/incidents/([0-9]{1,18})/mci/distribute", DistributeHandler),
    (r"/api/v1/incidents/([0-9]{1,18})/vitals", VitalsHandler),
    (r"/api/v1/assignments/([0-9]{1,18})/ack", AcknowledgeHandler),
    (r"/api/v1/triage/cards", TriageCardsHandler),
    (r"/api/v1/triage/cards/([0-9]{1,3})/instructions", InstructionsHandler),
    (r"/api/v1/calls", CallsHandler),
    (rf"/api/v1/calls/({CALL_SID_PATTERN})/answer", AnswerCallHandler),
    (rf"/api/v1/calls/({CALL_SID_PATTERN})/callback", CallBackHandler),
    (rf"/api/v1/calls/({CALL_SID_PATTERN})/recording", RecordingLinkHandler),
    (r"/api/v1/me/desk-line", DeskLineHandler),
    (r"/api/v1/incidents/([0-9]{1,18})/interview", InterviewHandler),
    (r"/api/v1/incidents/([0-9]{1,18})/aeds", AedsHandler),
    (r"/api/v1/units", UnitsHandler),
    (r"/api/v1/units/([A-Za-z0-9_.-]{1,40})/status", UnitStatusHandler),
    (r"/api/v1/hospitals", HospitalsHandler),
    (r"/api/v1/hospitals/([A-Za-z0-9_.-]{1,60})/capacity", HospitalCapacityHandler),
    (r"/api/v1/hospitals/([A-Za-z0-9_.-]{1,60})/inbound", InboundHandler),
    (r"/api/v1/hospitals/([A-Za-z0-9_.-]{1,60})/inbound/([0-9]{1,18})/ack", InboundAckHandler),
    (r"/api/v1/events", EventsHandler),
    (r"/api/v1/audit", AuditHandler),
    (r"/api/v1/map/roads", RoadsLayerHandler),
    (r"/api/v1/page-settings", PageSettingsHandler),
    (r"/api/v1/route", RouteHandler),
    (r"/api/v1/closures", ClosuresHandler),
    (r"/api/v1/closures/([a-z0-9-]{1,40})", ClosureHandler),
    (r"/api/v1/geocode", GeocodeHandler),
    (r"/api/v1/reverse", ReverseHandler),
    (r"/api/v1/incidents/([0-9]{1,18})/location", IncidentLocationHandler),
    (r"/api/v1/openapi.json", OpenApiHandler),
    (r"/api/v1/incidents/([0-9]{1,18})/replay", ReplayHandler),
    (r"/api/v1/coverage", CoverageHandler),
    (r"/api/v1/coverage/moveups", MoveUpsHandler),
    (r"/api/v1/reports/kpi", KpiHandler),
    (r"/api/v1/reports/kpi\.csv", KpiCsvHandler),
    (r"/api/v1/login", LoginHandler),
    (r"/api/v1/logout", LogoutHandler),
    (r"/api/v1/me", MeHandler),
    (r"/api/v1/users/([A-Za-z0-9_.:-]{1,100})/revoke", RevokeUserHandler),
    # the registry (issue #19): api/registry.py
    (r"/api/v1/stations", RecordsHandler, {"kind": "stations"}),
    (rf"/api/v1/stations/{_PLACE}", RecordHandler, {"kind": "stations"}),
    (rf"/api/v1/stations/{_PLACE}/retire", RetireHandler, {"kind": "stations"}),
    (rf"/api/v1/units/{_UNIT}", RecordHandler, {"kind": "units"}),
    (rf"/api/v1/units/{_UNIT}/retire", RetireHandler, {"kind": "units"}),
    (rf"/api/v1/hospitals/{_PLACE}", RecordHandler, {"kind": "hospitals"}),
    (rf"/api/v1/hospitals/{_PLACE}/retire", RetireHandler, {"kind": "hospitals"}),
    (r"/api/v1/users", RecordsHandler, {"kind": "users"}),
    (rf"/api/v1/users/{_USER}", RecordHandler, {"kind": "users"}),
    (rf"/api/v1/users/{_USER}/retire", RetireHandler, {"kind": "users"}),
    (r"/api/v1/registry/import", ImportHandler),
    (r"/api/v1/reports/items\.csv", ItemsCsvHandler),
    (r"/api/v1/reports/items-completeness", ItemsCompletenessHandler),
    (r"/api/v1/agencies", AgenciesHandler),
    (r"/api/v1/agencies/([a-z0-9-]{1,40})", AgencyHandler),
    (r"/api/v1/agencies/([a-z0-9-]{1,40})/retire", AgencyRetireHandler),
    (r"/api/v1/mutual-aid", MutualAidHandler),
    (r"/api/v1/mutual-aid/([0-9]{1,18}-[0-9]{1,4})/(accept|decline)", MutualAidAnswerHandler),
    (r"/api/v1/shifts", ShiftsHandler),
    (r"/api/v1/shifts/([A-Za-z0-9_.-]{1,40})", ShiftHandler),
]


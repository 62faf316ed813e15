// Dispatcher console: live incident queue, map of incidents, units and hospitals, intake form, incident panel
// with road-ETA recommendations and one-click assignment, the acknowledgement countdown and escalation ladder,
// duplicate suggestions, destination hospitals, road closures drawn on the map, coverage and replay. State
// comes from the snapshot, then events; each event about an incident refreshes that incident from the API.
// This module wires the parts together: the real-time link, the map's clicks and the language switch.
import {requireLogin} from "../api.js";
import {languageSelector, t} from "../i18n.js";
import "../labels.js";
import {Realtime} from "../realtime.js";
import {raiseAlarm, refreshAlarmLabels} from "./alarm.js";
import {addAlert, alertText, relabelAlerts, showRecentAlerts, wireAlerts} from "./alerts.js";
import {onCallEvent} from "./calls.js";
import {relabelCallTimer} from "./calltimer.js";
import {addCorner, isDrawing, loadClosures} from "./closures.js";
import "./coverage.js";
import {fillLocation} from "./intake.js";
import {redrawInterview} from "./interview.js";
import "./keyboard.js";
import {aidAlert, drawAid, loadAid} from "./mutualaid.js";
import {
  layoutUnits, map, panToIncident, placeHospital, placeUnit, placeUnits, refreshHospitals, refreshUnitsSoon, removeUnit,
} from "./map.js";
import {refreshPanelParts} from "./panel.js";
import {relabelQueue} from "./queue.js";
import "./theme.js";
import {relabelBoard} from "./units.js";
import "./windows.js";
import "./replay.js";
import {
  emit, loadAwaiting, noteEscalation, on, patchIncident, patchUnit, refreshIncident, replaceIncidents, select, state,
  unwatchAssignment, watchAssignment,
} from "./store.js";

// What an event changes at once, from its payload, before the batched re-read of the incident.
function applyPayload(type, payload) {
  if (type === "IncidentStatusChanged") patchIncident(payload.incident_id, {status: payload.status});
  else if (type === "IncidentTriaged") patchIncident(payload.incident_id, {triage: payload.triage});
  else if (type === "UnitAssigned") {
    watchAssignment({id: payload.assignment_id, ...payload});
    patchUnit(payload.unit_id, {status: "assigned", incident_id: payload.incident_id, assignment_id: payload.assignment_id});
  }
  else if (type === "AssignmentAcknowledged" || type === "AssignmentCancelled") unwatchAssignment(payload.assignment_id);
  else if (type === "AssignmentEscalated") noteEscalation(payload.assignment_id, payload.step);
  else if (type === "OutboundMessageFailed") state.failedMessages.add(payload.message_sid);
  else if (type === "OutboundMessageDelivered") state.deliveredMessages.add(payload.message_sid);
  else if (type === "IncidentReported" && !state.incidents.has(payload.incident_id)) {
    // shown at once from the report itself: the call must be seen and heard before any fetch returns
    state.incidents.set(payload.incident_id, {id: payload.incident_id, status: "received", channel: payload.channel,
      reported_at: frame_at, location: payload.location, location_flags: payload.location_flags || [],
      address: payload.address, chief_complaint: payload.chief_complaint,
      callers: payload.caller ? [payload.caller] : [], provisional_colour: payload.provisional_colour || null});
    emit("incident", state.incidents.get(payload.incident_id));
  }
}
let frame_at = null;

// The alarm an event raises, if any: a new call (critical when it is red), a failed message, a panic press.
function alarmFor(type, payload, alert) {
  if (type === "IncidentReported") {
    const incident = state.incidents.get(payload.incident_id) || {};
    const red = (incident.provisional_colour || payload.provisional_colour) === "red" || payload.channel === "panic";
    raiseAlarm("new_call", red ? "critical" : "normal",
               `${t("alarm.new_call")} #${payload.incident_id} ${payload.chief_complaint || payload.address || ""}`);
  } else if (type === "IncidentTriaged" && payload.triage?.colour === "red") {
    raiseAlarm("red_call", "critical", `#${payload.incident_id} ${t("colour.red")}`);
  } else if (type === "OutboundMessageFailed" || (type === "EscalationMessageOutcome" && payload.outcome !== "sent")) {
    raiseAlarm("message_failed", "high", alert);
  }
  else if (type === "PanicPressed" && !payload.repeat) raiseAlarm("panic", "critical", `${t("alarm.panic")} #${payload.incident_id}`);
}

// The alert line for an event (live, or one of a snapshot's recent alerts), or null.
function alertFor(type, payload) {
  return alertText(type, payload) || aidAlert(type, payload);
}

function onFrame(frame) {
  if (frame.type === "snapshot") {
    performance.mark("ems:snapshot");  // the console bench reads when the picture arrived
    for (const unit of frame.state.units || []) state.units.set(unit.id, unit);
    placeUnits();
    (frame.state.hospitals || []).forEach(placeHospital);
    replaceIncidents(frame.state.incidents || []);
    loadAwaiting(frame.state.incidents || []);
    refreshUnitsSoon();
    showRecentAlerts(frame.state.alerts || []);
  } else if (frame.type === "event") {
    const payload = frame.event.payload, type = frame.event.type;
    frame_at = frame.event.occurred_at || frame.event.at || payload.at || new Date().toISOString();
    applyPayload(type, payload);
    if (payload.incident_id != null) refreshIncident(payload.incident_id);
    refreshPanelParts(type, payload.incident_id ?? state.selected);
    if (payload.unit_id !== undefined) refreshUnitsSoon();
    onCallEvent(type, payload);
    if (["HospitalCapacityUpdated", "HospitalRegistered", "HospitalRetired"].includes(type)) refreshHospitals();
    if (type === "UnitRetired") removeUnit(payload.unit_id);
    if (type === "RoadClosed" || type === "RoadReopened") loadClosures(type === "RoadClosed" ? payload.closure_id : null);
    if (type.startsWith("MutualAid")) loadAid();
    const alert = addAlert(type, payload);
    alarmFor(type, payload, alert);
  } else if (frame.type === "positions") {
    frame.units.forEach(placeUnit);
    layoutUnits();
  }
}

let lastState = {};
function onState(s) {
  lastState = s;
  const banner = document.querySelector("#degraded");
  banner.classList.toggle("show", !!s.degraded || !!s.revoked);
  banner.textContent = t(s.revoked ? "common.revoked" : s.databaseDegraded ? "common.database_degraded" : "common.degraded");
  document.querySelector("#status-line").textContent = s.connected ? t("common.online") : t("common.offline");
}

if (requireLogin()) {
  wireAlerts(alertFor);
  on("select", id => panToIncident(state.incidents.get(id)));
  map.on("click", e => (isDrawing() ? addCorner(e.latlng) : fillLocation(e.latlng)));
  languageSelector(document.querySelector("#lang"), () => {
    relabelQueue();
    relabelBoard();
    relabelCallTimer();
    drawAid();
    refreshAlarmLabels();
    relabelAlerts();
    redrawInterview();
    onState(lastState);
    placeUnits();
    if (state.selected) select(state.selected);
  });
  loadClosures();
  // The console keeps its picture in memory only: a freshly loaded page needs the snapshot, not a resume from the
  // last page's seq (that gave an empty queue after a reload). Reconnects within this page still resume.
  localStorage.removeItem("ems.seq.console");
  new Realtime({onFrame, onState, storageKey: "console"}).start();
}

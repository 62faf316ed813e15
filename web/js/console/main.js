// Dispatcher console: live incident queue, map of incidents, units and hospitals, intake form, incident panel
// with road-ETA recommendations and one-click assignment, the acknowledgement countdown and escalation ladder,
// duplicate suggestions, destination hospitals, road closures drawn on the map, coverage and replay. State
// comes from the snapshot, then events; each event about an incident refreshes that incident from the API.
// This module wires the parts together: the real-time link, the map's clicks and the language switch.
import {requireLogin} from "../api.js";
import {languageSelector, t} from "../i18n.js";
import "../labels.js";
import {Realtime} from "../realtime.js";
import {addAlert, alertText} from "./alerts.js";
import {onCallEvent} from "./calls.js";
import {addCorner, isDrawing, loadClosures} from "./closures.js";
import "./coverage.js";
import {fillLocation} from "./intake.js";
import "./interview.js";
import "./keyboard.js";
import {map, panToIncident, placeHospital, placeUnit, placeUnits, refreshHospitals, refreshUnitsSoon} from "./map.js";
import {renderQueue} from "./queue.js";
import "./replay.js";
import {on, refreshIncident, replaceIncidents, select, state} from "./store.js";

function onFrame(frame) {
  if (frame.type === "snapshot") {
    for (const unit of frame.state.units || []) state.units.set(unit.id, unit);
    placeUnits();
    (frame.state.hospitals || []).forEach(placeHospital);
    replaceIncidents(frame.state.incidents || []);
    refreshUnitsSoon();
  } else if (frame.type === "event") {
    const payload = frame.event.payload, type = frame.event.type;
    if (payload.incident_id !== undefined) refreshIncident(payload.incident_id);
    if (payload.unit_id !== undefined) refreshUnitsSoon();
    onCallEvent(type, payload);
    if (type === "HospitalCapacityUpdated") refreshHospitals();
    if (type === "RoadClosed" || type === "RoadReopened") loadClosures(type === "RoadClosed" ? payload.closure_id : null);
    const alert = alertText(type, payload);
    if (alert) addAlert(alert);
  } else if (frame.type === "positions") {
    frame.units.forEach(placeUnit);
  }
}

function onState(s) {
  const banner = document.querySelector("#degraded");
  banner.classList.toggle("show", !!s.degraded || !!s.revoked);
  if (s.revoked) banner.textContent = t("common.revoked");
  document.querySelector("#status-line").textContent = s.connected ? t("common.online") : t("common.offline");
}

if (requireLogin()) {
  on("select", id => panToIncident(state.incidents.get(id)));
  map.on("click", e => (isDrawing() ? addCorner(e.latlng) : fillLocation(e.latlng)));
  languageSelector(document.querySelector("#lang"), () => {
    renderQueue();
    placeUnits();
    if (state.selected) select(state.selected);
  });
  loadClosures();
  new Realtime({onFrame, onState, storageKey: "console"}).start();
}

// The console's map: the base map, incidents (coloured by triage, the selected one ringed), units at their live
// position (AVL) or base with their status, and hospitals with beds and diversion.
import {api} from "../api.js";
import {element, html} from "../html.js";
import {local, t} from "../i18n.js";
import {L, addBaseMap} from "../leaflet.js";
import {colourOf, emit, isOpen, on, select, state} from "./store.js";

const COLOURS = {red: "#c62828", yellow: "#f9a825", green: "#2e7d32", white: "#fafafa"};
const MAJOR_ROADS = ["motorway", "trunk", "primary"];

export const map = L.map("map", {preferCanvas: true}).setView([13.361, 100.984], 13);
map.createPane("incidents").style.zIndex = 650;  // incidents above unit and hospital labels
L.control.scale({imperial: false}).addTo(map);
map.attributionControl.addAttribution("© OpenStreetMap contributors");
addBaseMap(map, {style: f => ({color: MAJOR_ROADS.includes(f.properties.highway) ? "#e08a3c" : "#9aa5b1",
                               weight: [...MAJOR_ROADS, "secondary"].includes(f.properties.highway) ? 3 : 1})})
  .catch(() => { /* no road layer: markers still work */ });

const incidentMarkers = new Map(), unitMarkers = new Map(), hospitalMarkers = new Map();

export function placeIncident(incident) {
  const existing = incidentMarkers.get(incident.id);
  if (!incident.location || !isOpen(incident)) {
    if (existing) { existing.remove(); incidentMarkers.delete(incident.id); }
    return;
  }
  const selected = state.selected === incident.id;
  const style = {radius: selected ? 14 : 10, color: selected ? "#0d47a1" : "#111", weight: selected ? 4 : 2,
                 fillColor: COLOURS[colourOf(incident)] || "#78909c", fillOpacity: 0.9};
  if (existing) {
    existing.setLatLng([incident.location.lat, incident.location.lon]).setRadius(style.radius).setStyle(style);
    if (selected) existing.bringToFront();
    return;
  }
  const marker = L.circleMarker([incident.location.lat, incident.location.lon], {...style, pane: "incidents"}).addTo(map);
  marker.on("click", () => select(incident.id));
  incidentMarkers.set(incident.id, marker);
}

export function placeIncidents() {
  for (const incident of state.incidents.values()) placeIncident(incident);
}

export function panToIncident(incident) {
  if (incident?.location) map.panTo([incident.location.lat, incident.location.lon]);
}

// A unit marker sits at its live position (AVL), else at its base; its label carries the status (colour: app.css).
// Labels that would cover one another (units at a shared base, or bases close at this zoom) are lifted one above
// the other (layoutUnits), so every unit stays readable at any zoom.
const STACK_GAP_PX = 2;
const LABEL_PX = 18;  // .unit-marker's height (console.css fixes its line height)
const stackOf = new Map();  // unit id → how many label heights its label is lifted
let shownUnit = null;

function unitIcon(unitId) {
  const unit = state.units.get(unitId) || {};
  const status = unit.status || "available";
  const lift_px = (stackOf.get(unitId) || 0) * (LABEL_PX + STACK_GAP_PX);
  return L.divIcon({className: "", iconSize: null, iconAnchor: [-12, 8 + lift_px], html: element(html`
    <div class="unit-marker unit-${status}${shownUnit === unitId ? " unit-chosen" : ""}" data-unit="${unitId}">${unitId} · ${t("unit." + status)}</div>`)});
}

export function placeUnit(position) {
  const unitId = position.unit_id || position.id;
  const unit = state.units.get(unitId) || {};
  if (position.lat !== undefined) state.positions.set(unitId, {lat: position.lat, lon: position.lon, at: position.at});
  const at = state.positions.get(unitId) || unit.base;
  if (!at) return;
  let marker = unitMarkers.get(unitId);
  if (!marker) {
    marker = L.marker([at.lat, at.lon], {icon: unitIcon(unitId), keyboard: false, bubblingMouseEvents: true}).addTo(map);
    unitMarkers.set(unitId, marker);
  }
  marker.setLatLng([at.lat, at.lon]).setIcon(unitIcon(unitId));
}

// Lifts each label (in call-sign order) just enough not to cover a label placed before it.
export function layoutUnits() {
  const placed = [];
  for (const unitId of [...unitMarkers.keys()].sort()) {
    const marker = unitMarkers.get(unitId);
    const p = map.latLngToLayerPoint(marker.getLatLng());
    const width_px = marker.getElement()?.firstElementChild?.offsetWidth || 140;
    const box = lift => ({left: p.x + 12, right: p.x + 12 + width_px, bottom: p.y - 8 - lift * (LABEL_PX + STACK_GAP_PX) + LABEL_PX,
                          top: p.y - 8 - lift * (LABEL_PX + STACK_GAP_PX)});
    let lift = 0;
    while (lift < 20 && placed.some(b => overlaps(b, box(lift)))) lift += 1;
    placed.push(box(lift));
    if ((stackOf.get(unitId) || 0) !== lift) {
      stackOf.set(unitId, lift);
      marker.setIcon(unitIcon(unitId));
    }
  }
}

function overlaps(a, b) {
  return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}

// Selects a unit on the map (the unit board's click): pans to it and rings its label.
export function showUnit(unitId) {
  const previous = shownUnit;
  shownUnit = unitId;
  for (const id of [previous, unitId]) unitMarkers.get(id)?.setIcon(unitIcon(id));
  const marker = unitMarkers.get(unitId);
  if (marker) map.panTo(marker.getLatLng());
}

export function placeUnits() {
  state.units.forEach(placeUnit);
  layoutUnits();
}

map.on("zoomend", layoutUnits);

let unitsRefresh = null;
export function refreshUnitsSoon() {  // many unit events arrive together: one fetch for the lot
  clearTimeout(unitsRefresh);
  unitsRefresh = setTimeout(async () => {
    try {
      const body = await api("GET", "/api/v1/units");
      for (const unit of body.units) state.units.set(unit.id, unit);
      for (const [id, p] of Object.entries(body.positions || {})) state.positions.set(id, {...state.positions.get(id), ...p});
      placeUnits();
      emit("units");
    } catch (e) { /* the next event retries */ }
  }, 300);
}

export function placeHospital(hospital) {
  const icon = L.divIcon({className: "", iconSize: null, iconAnchor: [9, 10],
                          html: element(html`<div class="hospital-marker">H${hospital.diversion ? " ✕" : ""}</div>`)});
  const marker = hospitalMarkers.get(hospital.id)
    || L.marker([hospital.location.lat, hospital.location.lon], {keyboard: false, bubblingMouseEvents: true}).addTo(map);
  marker.setIcon(icon).bindTooltip(element(html`<span>${local(hospital, "name")} · ${t("hospital.capacity")} ${hospital.ed_beds_free}${
    hospital.diversion ? " · " + t("hospital.diversion") : ""}</span>`));
  hospitalMarkers.set(hospital.id, marker);
}

// Every hospital the registry lists now: new ones placed, retired ones taken off the map.
export async function refreshHospitals() {
  try {
    const hospitals = (await api("GET", "/api/v1/hospitals")).hospitals;
    hospitals.forEach(placeHospital);
    const listed = new Set(hospitals.map(h => h.id));
    for (const [id, marker] of hospitalMarkers) if (!listed.has(id)) { marker.remove(); hospitalMarkers.delete(id); }
  } catch (e) { /* next event */ }
}

// A unit retired from the registry leaves the board and the map.
export function removeUnit(unitId) {
  state.units.delete(unitId);
  unitMarkers.get(unitId)?.remove();
  unitMarkers.delete(unitId);
}

on("select", placeIncidents);
on("incident", placeIncident);
on("incidents", placeIncidents);

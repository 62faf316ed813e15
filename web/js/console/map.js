// The console's map: the base map, incidents (coloured by triage, the selected one ringed), units at their live
// position (AVL) or base with their status, and hospitals with beds and diversion.
import {api} from "../api.js";
import {element, html} from "../html.js";
import {getLanguage, local, t} from "../i18n.js";
import {L, addBaseMap} from "../leaflet.js";
import {colourOf, emit, inTurn, isOpen, on, select, state} from "./store.js";

const COLOURS = {red: "#c62828", yellow: "#f9a825", green: "#2e7d32", white: "#fafafa"};
const MAJOR_ROADS = ["motorway", "trunk", "primary"];

export const map = L.map("map", {preferCanvas: true}).setView([13.361, 100.984], 13);
map.createPane("incidents").style.zIndex = 650;  // incidents above unit and hospital labels
L.control.scale({imperial: false}).addTo(map);
map.attributionControl.addAttribution("© OpenStreetMap contributors");

// The streets once the first picture of the calls is in (a dispatcher needs the queue before the streets: drawn
// first, thousands of roads held the snapshot back by over a second), or after ROADS_LATEST_MS without one. At a
// city-wide zoom only the main roads (tertiary and up) are drawn; the side streets, most of the road graph's
// segments, are loaded the first time the dispatcher zooms in to STREETS_ZOOM, where they can be read.
const ROADS_LATEST_MS = 3000;
const STREETS_ZOOM = 15;
const roadStyle = f => ({color: MAJOR_ROADS.includes(f.properties.highway) ? "#e08a3c" : "#9aa5b1",
                         weight: [...MAJOR_ROADS, "secondary"].includes(f.properties.highway) ? 3 : 1});
let roadsAsked = false, streetsAsked = false, streetsDrawn = false, mainRoads = null;
function loadRoads() {
  if (roadsAsked) return;
  roadsAsked = true;
  if (map.getZoom() >= STREETS_ZOOM) return loadStreets();
  addBaseMap(map, {minClass: "tertiary", style: roadStyle})
    .then(layer => { if (streetsDrawn) layer?.remove(); else mainRoads = layer; })
    .catch(() => { /* no road layer: markers still work */ });
}
function loadStreets() {
  if (streetsAsked) return;
  streetsAsked = roadsAsked = true;
  addBaseMap(map, {style: roadStyle})  // every road: the main ones again, so the first layer goes
    .then(() => { streetsDrawn = true; mainRoads?.remove(); })
    .catch(() => { streetsAsked = false; /* the next zoom tries again */ });
}
on("incidents", () => requestAnimationFrame(() => setTimeout(loadRoads, 0)));
setTimeout(loadRoads, ROADS_LATEST_MS);
map.on("zoomend", () => { if (map.getZoom() >= STREETS_ZOOM) loadStreets(); });

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
  const looks = [selected, style.fillColor, incident.location.lat, incident.location.lon].join();
  if (existing) {
    if (existing.looks === looks) return;  // unchanged: no canvas redraw (500 markers restyled per event were long tasks)
    existing.setLatLng([incident.location.lat, incident.location.lon]).setRadius(style.radius).setStyle(style);
    if (selected) existing.bringToFront();
    existing.looks = looks;
    return;
  }
  const marker = L.circleMarker([incident.location.lat, incident.location.lon], {...style, pane: "incidents"}).addTo(map);
  marker.on("click", () => select(incident.id));
  marker.looks = looks;
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
  marker.setLatLng([at.lat, at.lon]);
  refreshUnitIcon(unitId);
}

// A unit's label is rebuilt only when what it shows changed (a position ping moves it, nothing more).
function refreshUnitIcon(unitId) {
  const marker = unitMarkers.get(unitId);
  const looks = [state.units.get(unitId)?.status, stackOf.get(unitId), shownUnit === unitId, getLanguage()].join();
  if (!marker || marker.looks === looks) return;
  marker.looks = looks;
  marker.setIcon(unitIcon(unitId));
}

// Lifts each label (in call-sign order) just enough not to cover a label placed before it. Every size is read
// before any label is rebuilt (reads and writes interleaved forced one layout per unit).
export function layoutUnits() {
  const ids = [...unitMarkers.keys()].sort();
  const measured = ids.map(unitId => {
    const marker = unitMarkers.get(unitId);
    return {unitId, p: map.latLngToLayerPoint(marker.getLatLng()),
            width_px: marker.getElement()?.firstElementChild?.offsetWidth || 140};
  });
  const placed = [];
  for (const {unitId, p, width_px} of measured) {
    const box = lift => ({left: p.x + 12, right: p.x + 12 + width_px, bottom: p.y - 8 - lift * (LABEL_PX + STACK_GAP_PX) + LABEL_PX,
                          top: p.y - 8 - lift * (LABEL_PX + STACK_GAP_PX)});
    let lift = 0;
    while (lift < 20 && placed.some(b => overlaps(b, box(lift)))) lift += 1;
    placed.push(box(lift));
    stackOf.set(unitId, lift);
  }
  ids.forEach(refreshUnitIcon);
  showStackCounts(measured);
}

function overlaps(a, b) {
  return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}

// Units sharing one spot (a station's bay): their labels are spread one above the other (layoutUnits), and a
// count at the spot says how many stand there, so none is taken for missing. A label click chooses that unit
// (ringed here, marked on the unit board) where it is, without moving the map; the click still reaches the map
// as a click at that point (a closure corner, an incident's location), as it did before labels were clickable.
const stackCounts = new Map();  // "lat,lon" → the count marker at that spot

map.getPane("markerPane").addEventListener("click", event => {
  const label = event.target.closest?.(".unit-marker[data-unit]");
  if (!label) return;
  showUnit(label.dataset.unit, {pan: false});
  emit("unit-chosen", label.dataset.unit);
});

function showStackCounts(measured) {
  const bySpot = new Map();
  for (const {unitId} of measured) {
    const at = unitMarkers.get(unitId).getLatLng();
    const spot = `${at.lat.toFixed(5)},${at.lng.toFixed(5)}`;
    bySpot.set(spot, [...(bySpot.get(spot) || []), at]);
  }
  for (const [spot, marker] of stackCounts) {
    if ((bySpot.get(spot) || []).length < 2) { marker.remove(); stackCounts.delete(spot); }
  }
  for (const [spot, points] of bySpot) {
    if (points.length < 2) continue;
    const icon = L.divIcon({className: "", iconSize: null, iconAnchor: [8, 8],
                            html: element(html`<div class="unit-count" data-spot="${spot}">${points.length}</div>`)});
    const marker = stackCounts.get(spot) || L.marker(points[0], {keyboard: false, interactive: false}).addTo(map);
    if (marker.count !== points.length) { marker.setIcon(icon); marker.count = points.length; }
    stackCounts.set(spot, marker);
  }
}

// Selects a unit on the map (the unit board's click): pans to it (unless `pan` is false) and rings its label.
export function showUnit(unitId, {pan = true} = {}) {
  const previous = shownUnit;
  shownUnit = unitId;
  for (const id of [previous, unitId]) refreshUnitIcon(id);
  const marker = unitMarkers.get(unitId);
  if (marker && pan) map.panTo(marker.getLatLng());
}

export function placeUnits() {
  state.units.forEach(placeUnit);
  layoutUnits();
}

map.on("zoomend", layoutUnits);

let unitsRefresh = null;
const unitsTurn = inTurn();
// Many unit events arrive together: one fetch for the lot, 300 ms after the first (not the last: on a busy shift
// unit events never pause for 300 ms, and a timer pushed back by each would never fire).
export function refreshUnitsSoon() {
  if (unitsRefresh) return;
  unitsRefresh = setTimeout(async () => {
    unitsRefresh = null;
    const answered = unitsTurn();
    try {
      const body = await api("GET", "/api/v1/units");
      if (!answered()) return;
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

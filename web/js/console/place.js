// Where the selected incident is (issue #16): a pin on the map the dispatcher drags to correct the location (the
// drop is a LocationConfirmed with source map pin), the caller's shared position with its accuracy as a circle,
// and in the panel the place in words (reverse geocoding) next to the coordinates, where the location came from,
// and the geocoder's confidence when it placed an address-only report.
import {api} from "../api.js";
import {element, html, render} from "../html.js";
import {labelOr, local, t} from "../i18n.js";
import {L} from "../leaflet.js";
import {map} from "./map.js";
import {isOpen, on, putIncident, state} from "./store.js";

map.createPane("locate-pin").style.zIndex = 700;  // above the incidents' pane: the pin can always be grabbed

const pin = L.marker([0, 0], {draggable: true, keyboard: false, pane: "locate-pin", autoPan: true,
                              icon: L.divIcon({className: "", iconSize: null, iconAnchor: [14, 34],
                                               html: element(html`<div class="locate-pin"><span></span></div>`)})});
export const accuracy = L.circle([0, 0], {radius: 1, color: "#0d47a1", weight: 1, fillOpacity: 0.08, interactive: false});
let pinnedId = null;

function showPin(incident) {
  if (!incident?.location || !isOpen(incident)) {
    pin.remove();
    accuracy.remove();
    pinnedId = null;
    return;
  }
  const at = [incident.location.lat, incident.location.lon];
  pinnedId = incident.id;
  pin.setLatLng(at).addTo(map);
  pin.getElement()?.setAttribute("title", t("locate.drag_pin"));
  if (isCallerLocation(incident) && incident.location_accuracy_m) {
    accuracy.setLatLng(at).setRadius(incident.location_accuracy_m).addTo(map);
  } else {
    accuracy.remove();
  }
}

pin.on("dragend", async () => {
  const id = pinnedId, at = pin.getLatLng();
  try {
    putIncident(await api("POST", `/api/v1/incidents/${id}/location`, {lat: at.lat, lon: at.lng, source: "map_pin"}));
  } catch (e) {
    showPin(state.incidents.get(id));  // refused (e.g. outside the area): back where the incident is
    alert(e.message);
  }
});

export function isCallerLocation(incident) {
  return (incident.location_flags || []).includes("caller_provided");
}

// The place lines under the address in the incident panel (panel.js renders them; loadPlace fills in the words).
export function placeHtml(incident) {
  if (!incident.location) return "";
  const caller = isCallerLocation(incident);
  const geocoded = incident.location_source === "geocoder" && incident.location_confidence != null;
  return html`<div id="incident-place" class="place">
    <span id="place-description">${describedText(incident) || "…"}</span>
    ${incident.location_label ? html`<div class="muted" id="place-label">${incident.location_label}${incident.location_source
      ? ` · ${labelOr("locate.source." + incident.location_source, incident.location_source)}` : ""}</div>` : ""}
    ${geocoded ? html`<div class="flag geocoded-confidence" data-confidence="${incident.location_confidence}">⚠ ${
      t("locate.confidence", {pct: Math.round(incident.location_confidence * 100)})}
      <button class="plain" id="confirm-place">${t("locate.confirm")}</button></div>` : ""}
    ${caller ? html`<div class="caller-location">${incident.location_accuracy_m != null
      ? t("locate.caller", {m: Math.round(incident.location_accuracy_m)}) : t("locate.caller_unknown")}</div>` : ""}
  </div>`;
}

const described = new Map();  // "lat,lon" → the reverse geocoder's answer

function pointKey(location) {
  return `${location.lat.toFixed(5)},${location.lon.toFixed(5)}`;
}

function describedText(incident) {
  const place = incident.place || described.get(pointKey(incident.location));
  return place ? local(place, "description") : "";
}

// Fills in the place's description when the incident came without one (a list read, a fresh create).
export async function loadPlace(incident) {
  if (!incident.location || describedText(incident)) return;
  const key = pointKey(incident.location);
  try {
    described.set(key, await api("GET", `/api/v1/reverse?lat=${incident.location.lat}&lon=${incident.location.lon}`));
  } catch (e) { return; }  // places still loading: the coordinates stand alone
  const box = document.querySelector("#place-description");
  const current = state.incidents.get(state.selected);
  if (box && current?.location && pointKey(current.location) === key) box.textContent = describedText(current);
}

// The dispatcher agrees with the geocoder's candidate (read back to the caller): the same point, now chosen by a
// person from the address, which lifts the unverified flag (auto-dispatch may follow).
document.querySelector("#incident-panel").addEventListener("click", async event => {
  if (event.target.id !== "confirm-place") return;
  const incident = state.incidents.get(state.selected);
  event.target.disabled = true;
  try {
    putIncident(await api("POST", `/api/v1/incidents/${incident.id}/location`, {
      ...incident.location, source: "typed_address", label: incident.location_label || undefined}));
  } catch (e) {
    event.target.disabled = false;
    alert(e.message);
  }
});

on("select", id => showPin(state.incidents.get(id)));
on("incident", incident => { if (incident.id === state.selected) showPin(incident); });
on("incidents", () => showPin(state.incidents.get(state.selected)));

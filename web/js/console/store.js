// The console's one copy of what it knows: open incidents, units and their last positions, and the selected
// incident. The server's projection is the truth: every event about an incident refreshes that incident from
// the API. Views subscribe to changes here instead of calling one another, so the modules import downward only.
import {api} from "../api.js";

export const state = {incidents: new Map(), units: new Map(), positions: new Map(), selected: null};

const bus = new EventTarget();

// on("select", id => …) after select(); on("incident", incident => …) after an incident changed;
// on("incidents", () => …) after the whole list was replaced (snapshot).
export function on(topic, listener) {
  bus.addEventListener(topic, event => listener(event.detail));
}

function emit(topic, detail) {
  bus.dispatchEvent(new CustomEvent(topic, {detail}));
}

export function select(id) {
  state.selected = id;
  emit("select", id);
}

export function putIncident(incident) {
  state.incidents.set(incident.id, incident);
  emit("incident", incident);
}

export function replaceIncidents(incidents) {
  state.incidents.clear();
  for (const incident of incidents) state.incidents.set(incident.id, incident);
  emit("incidents");
}

export async function refreshIncident(id) {
  try {
    putIncident(await api("GET", `/api/v1/incidents/${id}`));
  } catch (e) { /* a later event will refresh it */ }
}

export function colourOf(incident) {
  return incident.triage?.colour || incident.provisional_colour || null;
}

export function isOpen(incident) {
  return !["closed", "cancelled"].includes(incident.status);
}

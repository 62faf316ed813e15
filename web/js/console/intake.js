// The new-call form (issue #16), keyboard first: N answers a call and puts the cursor in the location box; the
// incident is created the moment there is a location (a suggestion picked, or a click on the map), whatever else is
// still empty, so recommendations appear at once; later picks and clicks move it (each a LocationConfirmed with its
// source). The chief complaint opens its CBD card. Enter elsewhere creates the incident without a location (an
// address alone is geocoded by the server) or, once created, closes the form. One idempotency key per call, kept
// until the next call: a resend after a refusal (a database failover) cannot make a second incident even if the
// first try was stored after all.
import {api, errorText} from "../api.js";
import {t} from "../i18n.js";
import {answerCall, bindCall} from "./calltimer.js";
import {wireComplaint} from "./complaint.js";
import {wireDetails} from "./details.js";
import {openCard} from "./interview.js";
import {wireLocationBox} from "./locate.js";
import {map} from "./map.js";
import {isCallerLocation} from "./place.js";
import {putIncident, select, state} from "./store.js";

export const form = document.querySelector("#new-incident");
const status = document.querySelector("#locate-status");
const error = document.querySelector("#new-incident-error");
const submitButton = form.querySelector("button[type=submit]");

// A fixed label that the page's language switch relabels (translatePage reads data-t).
function setLabel(element, key) {
  element.dataset.t = key;
  element.textContent = t(key);
}

const PICKED_ZOOM = 16;  // a picked place is shown at street level, so a wrong one is seen at once
let call = null;  // {key, incidentId, creating (a promise of the id), near, group}

// The point suggestions are ranked by: the caller's shared location when the call's incident has one, else the
// map's centre when the call was answered.
function nearPoint(incidentId) {
  const incident = state.incidents.get(incidentId);
  if (incident?.location && isCallerLocation(incident)) return incident.location;
  const centre = map.getCenter();
  return {lat: centre.lat, lon: centre.lng};
}

// Answers a call: a fresh form, the timer started, the cursor in the location box. `incidentId`: the incident a
// queued 1669 call already opened (the form then locates that one).
export function openIntake(incidentId = null) {
  details.startCall();
  form.reset();
  error.textContent = "";
  status.textContent = t("console.click_map");
  setLabel(submitButton, incidentId == null ? "console.create" : "locate.done");
  const key = crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
  call = {key, incidentId, creating: null,
          near: nearPoint(incidentId), group: null, answered_ms: performance.now()};
  answerCall(incidentId);
  form.hidden = false;
  const detail = document.querySelector("#detail");
  detail.prepend(form);
  detail.scrollTop = 0;
  form.place.focus();
}

export function closeIntake() {
  form.hidden = true;
  locationBox.clear();
  complaintBox.clear();
}

// A click on the map while the form is open places the call there (source: map pin).
export function fillLocation(latlng) {
  if (form.hidden || !call) return;
  locate({lat: latlng.lat, lon: latlng.lng}, "map_pin", undefined);
}

function body(location) {
  const typed = form.place.value.trim();
  const b = {channel: form.channel.value, address: form.address.value || typed || undefined,
             chief_complaint: form.chief_complaint.value || undefined};
  if (location) b.location = location;
  // how long ago this call was answered (a duration from the page's monotonic clock): the call KPIs' start
  b.answered_s_before = Math.round((performance.now() - call.answered_ms) / 100) / 10;
  if (form.caller_phone.value || form.caller_name.value) {
    b.caller = {phone: form.caller_phone.value || undefined, name: form.caller_name.value || undefined};
  }
  return b;
}

async function create(location) {
  const incident = await api("POST", "/api/v1/incidents", body(location), {"Idempotency-Key": call.key});
  putIncident(incident);
  call.incidentId = incident.id;
  details.created();
  bindCall(incident.id);
  select(incident.id);
  setLabel(submitButton, "locate.done");
  if (call.group) showCard(incident.id, call.group);
  return incident.id;
}

// The chief complaint's card opens in the interview panel, brought into view under the form.
function showCard(incidentId, group) {
  openCard(incidentId, group).then(() => document.querySelector("#interview-panel")?.scrollIntoView({block: "nearest"}))
    .catch(() => {});
}

// The call's location is known: create the incident with it, or move the incident there; record the source (and
// the chosen place's label) with the dispatcher who chose it.
async function locate(location, source, label) {
  form.lat.value = location.lat.toFixed(6);
  form.lon.value = location.lon.toFixed(6);
  const current = call;
  const isNew = current.incidentId == null && !current.creating;
  if (!current.creating) current.creating = current.incidentId != null ? Promise.resolve(current.incidentId) : create(location);
  try {
    const id = await current.creating;
    if (isNew && document.activeElement === form.place) form.chief_complaint.focus();
    status.textContent = t(isNew ? "locate.created" : "locate.moved", {id}) + (label ? ` · ${label}` : "");
    error.textContent = "";
    putIncident(await api("POST", `/api/v1/incidents/${id}/location`, {...location, source, label}));
  } catch (e) {
    if (current.incidentId == null) current.creating = null;  // not created: the next pick tries again
    error.textContent = errorText(e);
  }
}

async function submit(event) {
  event.preventDefault();
  if (call?.incidentId != null || call?.creating) { closeIntake(); return; }
  if (!call) openIntake();
  const location = form.lat.value || form.lon.value ? {lat: Number(form.lat.value), lon: Number(form.lon.value)} : undefined;
  try {
    call.creating = create(location);
    await call.creating;
    closeIntake();
  } catch (e) {
    call.creating = null;
    error.textContent = errorText(e);
  }
}

const locationBox = wireLocationBox({
  input: form.place, list: document.querySelector("#locate-suggestions"), status, near: () => call?.near,
  onPick: candidate => {
    map.setView([candidate.lat, candidate.lon], Math.max(map.getZoom(), PICKED_ZOOM), {animate: false});
    locate({lat: candidate.lat, lon: candidate.lon}, "typed_address", candidate.name);
  },
});

const complaintBox = wireComplaint({
  input: form.chief_complaint, list: document.querySelector("#complaint-cards"),
  onCard: group => {
    call.group = group;
    if (call.incidentId != null) showCard(call.incidentId, group);
  },
});

// Typed after the incident exists: saved as it is typed (details.js).
export const details = wireDetails({form, incidentId: () => call?.incidentId ?? null});

document.querySelector("#new-incident-btn").addEventListener("click", () => (form.hidden ? openIntake() : closeIntake()));
form.addEventListener("submit", submit);

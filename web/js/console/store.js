// The console's one copy of what it knows: open incidents, units and their last positions, the selected
// incident, and the assignments still waiting for a crew's acknowledgement. The server's projection is the
// truth: events patch what their payload says at once (status, triage) and the incidents they touch are
// re-read from the API in batches (one request per incident per batch window, or the whole open list when many
// changed), never one request per event. Views subscribe to changes here instead of calling one another, so the
// modules import downward only.
import {api} from "../api.js";

export const state = {incidents: new Map(), units: new Map(), positions: new Map(), selected: null,
                      awaiting: new Map(),  // assignment id → {incident_id, unit_id, ack_due_ms, escalations}
                      failedMessages: new Set(),  // message SIDs an OutboundMessageFailed came back for
                      deliveredMessages: new Set()};  // … and an OutboundMessageDelivered

const BATCH_MS = 250;  // events arriving together are folded into one fetch round
const LIST_FETCH_OVER = 8;  // more changed incidents than this: one list request instead of one each

const bus = new EventTarget();

// on("select", id => …) after select(); on("incident", incident => …) after an incident changed;
// on("incidents", () => …) after the whole list was replaced or many changed; on("awaiting", () => …) after
// the acknowledgement watch changed.
export function on(topic, listener) {
  bus.addEventListener(topic, event => listener(event.detail));
}

export function emit(topic, detail) {
  bus.dispatchEvent(new CustomEvent(topic, {detail}));
}

export function select(id) {
  state.selected = id;
  emit("select", id);
}

export function putIncident(incident) {
  state.incidents.set(incident.id, incident);
  if (!isOpen(incident)) forgetAssignments(incident.id);
  emit("incident", incident);
}

export function replaceIncidents(incidents) {
  state.incidents.clear();
  for (const incident of incidents) state.incidents.set(incident.id, incident);
  emit("incidents");
}

// Changes an incident's fields from an event's payload at once (the batched re-read follows).
export function patchIncident(id, fields) {
  const incident = state.incidents.get(id);
  if (incident) putIncident({...incident, ...fields});
}

// Re-reads that may answer out of order: `const answered = turn()` before the request, then render only if
// `answered()` (false when a later re-read of the same part has already been shown: this answer may be older).
export function inTurn() {
  let asked = 0, shown = 0;
  return () => {
    const n = ++asked;
    return () => n > shown ? (shown = n, true) : false;
  };
}

// A unit's status and incident from an event's payload at once (the batched re-read of the fleet follows): an
// incident re-read that lands first must not find its new unit still "available" and call it released.
export function patchUnit(id, fields) {
  const unit = state.units.get(id);
  if (unit) state.units.set(id, {...unit, ...fields});
}

const pending = new Set();
let flushTimer = null;

// Schedules a re-read of the incident: all ids asked for within BATCH_MS are fetched together.
export function refreshIncident(id) {
  pending.add(id);
  if (!flushTimer) flushTimer = setTimeout(flush, BATCH_MS);
}

export const fetchCounts = {single: 0, list: 0};  // requests made (the bench and tests read it)

async function flush() {
  flushTimer = null;
  const ids = [...pending];
  pending.clear();
  if (ids.length > LIST_FETCH_OVER) {
    try {
      fetchCounts.list += 1;
      const body = await api("GET", "/api/v1/incidents?open=true&limit=5000");
      const open = new Map(body.incidents.map(i => [i.id, i]));
      for (const id of ids) {
        const incident = open.get(id);
        if (incident) state.incidents.set(id, incident);
        else if (state.incidents.has(id)) singleFetch(id);  // closed since: read it to see how it ended
      }
      emit("incidents");
    } catch (e) { ids.forEach(id => pending.add(id)); flushTimer = flushTimer || setTimeout(flush, BATCH_MS * 4); }
    return;
  }
  ids.forEach(singleFetch);
}

async function singleFetch(id) {
  try {
    fetchCounts.single += 1;
    putIncident(await api("GET", `/api/v1/incidents/${id}`));
  } catch (e) { /* a later event will refresh it */ }
}

export function colourOf(incident) {
  return incident.triage?.colour || incident.provisional_colour || null;
}

export const CENTRE = "1669-cb";  // dispatch/agencies.py CENTRE_AGENCY_ID: a record naming no agency is the centre's

export function isOpen(incident) {
  return !["closed", "cancelled"].includes(incident.status);
}

// The acknowledgement watch: an assignment waits from UnitAssigned until acknowledged or cancelled.
export function watchAssignment(assignment) {
  state.awaiting.set(assignment.id, {incident_id: assignment.incident_id, unit_id: assignment.unit_id,
                                     ack_due_ms: Date.parse(assignment.ack_due_at),
                                     escalations: [...(assignment.escalations || [])]});
  emit("awaiting");
}

export function noteEscalation(assignmentId, step) {
  const waiting = state.awaiting.get(assignmentId);
  if (waiting && !waiting.escalations.includes(step)) waiting.escalations.push(step);
  emit("awaiting");
}

export function unwatchAssignment(assignmentId) {
  if (state.awaiting.delete(assignmentId)) emit("awaiting");
}

function forgetAssignments(incidentId) {
  for (const [id, waiting] of state.awaiting) if (waiting.incident_id === incidentId) state.awaiting.delete(id);
}

// The incidents with a crew past its acknowledgement deadline (the ladder is running), at `now_ms`.
export function overdueIncidents(now_ms = Date.now()) {
  const overdue = new Set();
  for (const waiting of state.awaiting.values()) if (waiting.ack_due_ms <= now_ms) overdue.add(waiting.incident_id);
  return overdue;
}

// After a snapshot: the assignments of incidents still waiting for a crew, read a few at a time.
export async function loadAwaiting(incidents) {
  const assigned = incidents.filter(i => i.status === "assigned").map(i => i.id);
  const workers = Array.from({length: 4}, async () => {
    while (assigned.length) {
      const id = assigned.shift();
      try {
        const body = await api("GET", `/api/v1/incidents/${id}/assignments`);
        body.assignments.filter(a => a.status === "awaiting_ack").forEach(watchAssignment);
      } catch (e) { /* the next event about it brings it back */ }
    }
  });
  await Promise.all(workers);
}

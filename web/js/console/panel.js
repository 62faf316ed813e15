// The selected incident's panel: what was reported, by whom and where, vitals, caller history and messages,
// duplicates, triage, assignments, recommended units and destination hospitals. Re-rendered whenever the
// incident changes (each part loads itself from the API).
import {vitalsHtml, clock} from "../format.js";
import {html, render} from "../html.js";
import {labelOr, local, t} from "../i18n.js";
import {loadAssignments} from "./assignments.js";
import {closeoutHtml, wireCloseout} from "./closeout.js";
import {refusalKey, refusedHtml} from "./details.js";
import {loadDestinations} from "./destinations.js";
import {loadDuplicates} from "./duplicates.js";
import {hasPhone, isTextThread, loadCallerHistory, loadThread, wireReply} from "./messages.js";
import {allUnitsReleased, locationFlags} from "./queue.js";
import {loadPlace, placeHtml} from "./place.js";
import {loadRecommendations} from "./recommendations.js";
import {colourOf, on, state} from "./store.js";
import {groupOptions, renderCard} from "./triage.js";

const panel = document.querySelector("#incident-panel");

// What the panel shows of an incident: a live event that changes none of it leaves the panel alone, so the
// dispatcher's reading place, open sections and half-typed notes are not redrawn away.
function panelSignature(incident) {
  return JSON.stringify([incident.id, incident.status, incident.triage, incident.provisional_colour, incident.chief_complaint,
                         incident.address, incident.location, incident.location_flags, incident.location_note,
                         incident.location_label, incident.location_source, incident.location_confidence,
                         incident.location_accuracy_m,
                         incident.callers, incident.vitals?.length, incident.assignment_ids, incident.unit_ids,
                         incident.destination_hospital_id, incident.hospital_acknowledged_at, allUnitsReleased(incident),
                         refusalKey(incident.id)]);
}
let shown = null;

export function showIncident(incident, force = false) {
  const sig = panelSignature(incident);
  if (!force && sig === shown) return;
  shown = sig;
  const detail = document.querySelector("#detail"), scroll_px = detail.scrollTop;
  const typingNote = document.activeElement?.closest?.("#closeout") != null;
  const sameIncident = panel.dataset.incident === String(incident.id);
  const draft = sameIncident ? {disposition: panel.querySelector("#closeout select")?.value,
                                note: panel.querySelector("#closeout textarea")?.value} : {};
  const openSections = sameIncident ? [...panel.querySelectorAll("details[id]")].filter(d => d.open).map(d => d.id) : [];
  const typingReply = document.activeElement?.closest?.("#sms-reply") != null;
  const typingRefused = document.activeElement?.closest?.("#details-refused") ? document.activeElement.name : null;
  const loaded = sameIncident && !force ? keptParts() : [];
  const where = incident.location ? ` (${incident.location.lat.toFixed(5)}, ${incident.location.lon.toFixed(5)})` : "";
  render(panel, html`
    <h3><span class="badge colour-${colourOf(incident) || "none"}">${incident.triage?.code || "?"}</span> #${incident.id}</h3>
    <div>${t("status." + incident.status)} · ${clock(incident.reported_at)} · ${labelOr("channel." + incident.channel, incident.channel)}</div>
    <p><b>${incident.chief_complaint || ""}</b></p>
    ${refusedHtml(incident)}
    <div class="muted">${incident.address || ""}${where}</div>
    ${placeHtml(incident)}
    ${locationFlags(incident)}
    ${incident.location_note ? html`<div class="flag">${incident.location_note}</div>` : ""}
    <div>${(incident.callers || []).map((c, n) => html`${n ? html`<br>` : ""}${c.name || ""} ${c.phone || ""}`)}</div>
    ${vitalsHtml(incident.vitals?.at(-1))}
    ${hasPhone(incident) ? html`<h4>${t("caller.history")}</h4><div id="caller-history" class="muted">…</div>` : ""}
    ${isTextThread(incident) ? html`<h4>${t("sms.thread")}</h4><div id="sms-thread"></div>` : ""}
    ${isTextThread(incident) && hasPhone(incident) ? html`<form id="sms-reply"><textarea name="body" rows="2" maxlength="1600" placeholder="${t("sms.placeholder")}"></textarea>
        <p class="error" id="sms-error"></p><button class="primary" type="submit">${t("sms.send")}</button></form>` : ""}
    <h4>${t("console.duplicates")}</h4>
    <div id="duplicates" class="muted">…</div>
    <details class="cbd" ${incident.triage ? "" : html`open`}>
      <summary>${t("console.triage")}${incident.triage ? `: ${local(incident.triage, "text")}` : ""}</summary>
      <select id="cbd-group">${groupOptions(incident)}</select>
      <div id="cbd-card"></div>
    </details>
    <h4>${t("console.assignments")}</h4>
    <div id="assignments" class="muted">…</div>
    <h4>${t("console.recommendations")}</h4>
    <div id="recommendations" class="muted">…</div>
    <h4>${t("console.destination")}</h4>
    <div id="destinations" class="muted">…</div>
    ${closeoutHtml(incident)}`);
  panel.dataset.incident = incident.id;
  loaded.forEach(part => panel.querySelector(`#${part.id}`)?.replaceWith(part));
  openSections.forEach(id => { const d = panel.querySelector(`#${id}`); if (d) d.open = true; });
  if (draft.note && panel.querySelector("#closeout textarea")) panel.querySelector("#closeout textarea").value = draft.note;
  if (draft.disposition && panel.querySelector("#closeout select")) panel.querySelector("#closeout select").value = draft.disposition;
  wireCloseout(incident);
  if (sameIncident) detail.scrollTop = scroll_px;
  panel.querySelector("#cbd-group").addEventListener("change", e => renderCard(incident, Number(e.target.value)));
  if (incident.triage) renderCard(incident, incident.triage.group);
  loadPlace(incident);
  loadAssignments(incident.id);
  loadDestinations(incident);
  loadDuplicates(incident.id);
  if (hasPhone(incident)) loadCallerHistory(incident.id);
  if (isTextThread(incident)) { wireReply(incident.id); loadThread(incident.id); }
  if (typingReply) panel.querySelector("#sms-reply")?.body.focus();  // an event re-rendered the panel while the dispatcher typed
  if (typingRefused) panel.querySelector(`#details-refused [name=${typingRefused}]`)?.focus({preventScroll: true});
  if (typingNote) panel.querySelector("#closeout textarea")?.focus({preventScroll: true});
  loadRecommendations(incident.id);
}

// The parts that load themselves (lists with their buttons): a redraw of the same incident keeps what they show
// until their reload answers, so a live event never blanks them to "…" under the dispatcher's pointer or an
// A / D shortcut. A selection or a language switch (force) starts them afresh.
const LOADED_PARTS = ["caller-history", "sms-thread", "duplicates", "assignments", "recommendations", "destinations"];

function keptParts() {
  return LOADED_PARTS.map(id => panel.querySelector(`#${id}`)).filter(Boolean);
}

export function showSelected() {
  const incident = state.incidents.get(state.selected);
  if (incident) showIncident(incident, true);
}

// A live event about the selected incident that one of the panel's loaded parts shows: that part reloads by
// itself (after a short pause, once for a burst), the rest of the panel stays as the dispatcher left it.
const PARTS_BY_EVENT = {
  UnitAssigned: ["assignments", "recommendations"], AssignmentAcknowledged: ["assignments"],
  AssignmentEscalated: ["assignments"], AssignmentCancelled: ["assignments", "recommendations"],
  EscalationMessageOutcome: ["assignments"], OutboundMessageFailed: ["assignments", "thread"],
  OutboundMessageDelivered: ["assignments", "thread"],
  UnitStatusChanged: ["assignments"], SmsReceived: ["thread"], SmsSent: ["thread"], LineMessageReceived: ["thread"],
  DestinationChosen: ["destinations"], InboundAcknowledged: ["destinations"], HospitalCapacityUpdated: ["destinations"],
  IncidentMerged: ["duplicates"], IncidentsKeptApart: ["duplicates"], IncidentReported: ["duplicates"],
};
const dueParts = new Set();
let partsTimer = null;
const PARTS_MS = 150;  // an event about the selected incident: its parts reload after this pause
const GLOBAL_PARTS_MS = 1000;  // any new call or hospital's change: at most once per this (5 new calls a second
                               // re-read the selected incident's duplicates once each)

export function refreshPanelParts(type, incidentId) {
  const parts = PARTS_BY_EVENT[type];
  const incident = state.incidents.get(state.selected);
  const global = type === "HospitalCapacityUpdated" || type === "IncidentReported";  // not about this incident only
  if (!parts || !incident || (!global && incidentId !== state.selected) || !panel.querySelector("#assignments")) return;
  parts.forEach(p => dueParts.add(p));
  if (global && partsTimer) return;  // already due: goes with that reload
  clearTimeout(partsTimer);
  partsTimer = setTimeout(() => {
    partsTimer = null;
    const id = state.selected, current = state.incidents.get(id);
    if (!current) return;
    if (dueParts.has("assignments")) loadAssignments(id);
    if (dueParts.has("recommendations")) loadRecommendations(id);
    if (dueParts.has("destinations")) loadDestinations(current);
    if (dueParts.has("duplicates")) loadDuplicates(id);
    if (dueParts.has("thread") && isTextThread(current)) loadThread(id);
    dueParts.clear();
  }, global ? GLOBAL_PARTS_MS : PARTS_MS);
}

on("select", showSelected);
on("incident", incident => { if (incident.id === state.selected) showIncident(incident); });

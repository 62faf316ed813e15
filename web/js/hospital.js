// Hospital board: patients inbound to this emergency department with where each crew is in the job (assigned,
// en route to the scene, on scene, transporting, arrived), triage colour, notes and an acknowledge button
// (recorded on the server as an event, so it survives reloads and the console sees it); the incoming and
// not-yet-acknowledged counts; a quick beds and diversion editor. Refreshed on every event it may see, and every
// hospital_refresh_s for ETAs.
// The countdown: only while transporting, to the server's absolute `arrival_at` (computed from the unit's latest
// position at that position's time), read on the server's clock (`server_time`), so every board, opened whenever,
// shows the same time left. Before transport the stage and a scene-to-hospital estimate (no countdown); at
// hospital "arrived" until the crew hands over and the incident closes. A stale or missing unit position is said.
import {api, errorText, requireLogin} from "./api.js";
import {warningBadge} from "./eta.js";
import {clock, minutes, vitalsHtml} from "./format.js";
import {html, render} from "./html.js";
import {languageSelector, local, t} from "./i18n.js";
import "./labels.js";
import {Realtime} from "./realtime.js";
import {pageSettings, settingsReady} from "./settings.js";

const $ = sel => document.querySelector(sel);
// serverOffsetMs: the server's clock minus this page's, from the last answer (so a board with a wrong clock counts
// down like the others)
const state = {me: null, hospital: null, patients: [], serverOffsetMs: 0, editing: false};
const STAGE_ORDER = ["arrived", "transporting", "on_scene", "en_route", "assigned", "waiting"];

function serverNow() {
  return Date.now() + state.serverOffsetMs;
}

function byArrival(a, b) {  // arrived first, then by expected arrival, then the furthest along the job
  const stage = STAGE_ORDER.indexOf(a.stage) - STAGE_ORDER.indexOf(b.stage);
  if (stage) return stage;
  return (a.arrival_at ? Date.parse(a.arrival_at) : Infinity) - (b.arrival_at ? Date.parse(b.arrival_at) : Infinity)
    || a.id - b.id;
}

async function refresh() {
  try {
    const sent = Date.now();
    const body = await api("GET", `/api/v1/hospitals/${state.me.hospital_id}/inbound`);
    const received = Date.now();
    if (body.server_time) state.serverOffsetMs = Date.parse(body.server_time) - (sent + received) / 2;
    state.patients = body.inbound.sort(byArrival);
    renderBoard();
  } catch (e) { /* keep the last list */ }
}

// Seconds to the expected arrival (0 once due), or null when there is no countdown (not transporting).
function secondsLeft(patient) {
  if (patient.stage !== "transporting" || !patient.arrival_at) return null;
  return Math.max(0, (Date.parse(patient.arrival_at) - serverNow()) / 1000);
}

function countdownText(patient) {
  const left = secondsLeft(patient);
  return left === null ? "—" : left <= 0 ? t("hospital.due") : minutes(left);
}

function positionNote(p) {
  if (p.eta_from !== "unit_position" || !p.position_at) {
    return html`<div class="position stale" data-position-stale>⚠ ${t("hospital.no_position")}</div>`;
  }
  const age = (serverNow() - Date.parse(p.position_at)) / 1000;
  if (age > pageSettings.stale_position_s) {
    return html`<div class="position stale" data-position-stale>⚠ ${t("hospital.position_stale", {age: minutes(age)})}</div>`;
  }
  return html`<div class="position">${t("hospital.position_at", {time: clock(p.position_at)})}</div>`;
}

// The right-hand column: the countdown while transporting, "arrived" at hospital, else the stage and the estimate.
function etaHtml(p) {
  if (p.stage === "arrived") {
    return html`<div class="eta arrived"><span class="eta-stage" data-stage-text>${t("hospital.arrived")}</span>
      ${p.arrived_at ? html`<div class="eta-note">${t("hospital.arrived_at", {time: clock(p.arrived_at)})}</div>` : ""}</div>`;
  }
  if (p.stage === "transporting") {
    return html`<div class="eta"><small>${t("hospital.eta")}</small><span class="eta-left" data-id="${p.id}">${countdownText(p)}</span>
      ${p.arrival_at ? html`<div class="eta-note">${t("hospital.expected_at", {time: clock(p.arrival_at)})}</div>` : ""}
      ${positionNote(p)}
      ${warningBadge(p)}</div>`;
  }
  return html`<div class="eta before"><small>${t("hospital.not_yet_transporting")}</small>
    <span class="eta-stage" data-stage-text>${t("hospital.stage." + p.stage)}</span>
    ${p.transport_estimate_s != null ? html`<div class="eta-note transport-estimate">${t("hospital.transport_estimate")}
      ${minutes(p.transport_estimate_s)}</div>` : ""}
    ${warningBadge(p)}</div>`;
}

function renderBoard() {
  const unseen = state.patients.filter(p => !p.hospital_acknowledged_at).length;
  $("#count").textContent = state.patients.length;
  $("#unseen").textContent = unseen;
  $("#unseen-box").classList.toggle("alert", unseen > 0);
  render($("#inbound"), state.patients.length ? html`${state.patients.map(p => {
    const colour = p.triage ? p.triage.colour : (p.provisional_colour || "none");
    const summary = p.triage ? local(p.triage, "text") : "";
    const seen = p.hospital_acknowledged_at
      ? html`<div class="acked">✓ ${t("hospital.acknowledged_at")} ${clock(p.hospital_acknowledged_at)}</div>`
      : html`<button class="big primary ack" data-ack="${p.id}">${t("hospital.seen")}</button>`;
    return html`<li class="patient ${p.hospital_acknowledged_at ? "" : "unseen"} stage-${p.stage}" data-id="${p.id}" data-stage="${p.stage}">
      <span class="badge big-badge colour-${colour}">${p.triage ? p.triage.code : "?"}</span>
      <div><b>#${p.id}</b> ${summary}
        <div>${p.chief_complaint || ""}</div>
        ${vitalsHtml((p.vitals || []).at(-1))}
        ${(p.notes || []).map(n => html`<div class="muted">${n}</div>`)}
        <div class="muted">${t("hospital.stage." + p.stage)} · ${t("hospital.unit")} ${(p.unit_ids || []).join(", ") || "—"}</div>
        ${seen}</div>
      ${etaHtml(p)}</li>`;
  })}` : html`<li class="muted">${t("hospital.none")}</li>`);
  $("#inbound").querySelectorAll("button[data-ack]").forEach(b => b.onclick = () => acknowledge(Number(b.dataset.ack), b));
}

function tick() {  // the countdown only: no re-render, so buttons do not move under a finger
  for (const p of state.patients) {
    const el = document.querySelector(`.eta-left[data-id="${p.id}"]`);
    if (el) el.textContent = countdownText(p);
  }
}

async function acknowledge(incidentId, button) {
  button.disabled = true;
  try {
    const body = await api("POST", `/api/v1/hospitals/${state.me.hospital_id}/inbound/${incidentId}/ack`);
    const patient = state.patients.find(p => p.id === incidentId);
    if (patient) patient.hospital_acknowledged_at = body.acknowledged_at;
    renderBoard();
  } catch (e) { button.disabled = false; alert(e.message); }
}

// ---- beds and diversion ---------------------------------------------------------------------------------------
const capacity = $("#capacity");

function showCapacity(hospital) {
  state.hospital = hospital;
  $("#title").textContent = local(hospital, "name");
  if (state.editing) return;  // never overwrite what the nurse is typing
  capacity.beds.value = hospital.ed_beds_free;
  capacity.diversion.checked = hospital.diversion;
  $("#diversion-toggle").classList.toggle("on", hospital.diversion);
}

function stepBeds(delta) {
  state.editing = true;
  capacity.beds.value = Math.max(0, Math.min(1000, (Number(capacity.beds.value) || 0) + delta));
}

async function saveCapacity(event) {
  event.preventDefault();
  try {
    const hospital = await api("POST", `/api/v1/hospitals/${state.me.hospital_id}/capacity`,
                                   {ed_beds_free: Number(capacity.beds.value), diversion: capacity.diversion.checked});
    state.editing = false;
    showCapacity(hospital);
    $("#capacity-error").textContent = "";
    $("#capacity-saved").textContent = `✓ ${t("hospital.saved")} ${clock(new Date().toISOString())}`;
  } catch (err) {
    $("#capacity-error").textContent = errorText(err);
  }
}

async function loadHospital() {
  const hospitals = (await api("GET", "/api/v1/hospitals")).hospitals;
  const mine = hospitals.find(h => h.id === state.me.hospital_id);
  if (mine) showCapacity(mine);
}

function onFrame(frame) {
  if (frame.type === "event" && frame.event.type === "HospitalCapacityUpdated") loadHospital().catch(() => {});
  if (frame.type === "snapshot" || frame.type === "event") refresh();
}

async function start() {
  languageSelector($("#lang"), () => { renderBoard(); if (state.hospital) showCapacity(state.hospital); });
  state.me = await api("GET", "/api/v1/me");
  await loadHospital();
  $("#beds-minus").onclick = () => stepBeds(-1);
  $("#beds-plus").onclick = () => stepBeds(1);
  capacity.beds.oninput = () => { state.editing = true; };
  capacity.diversion.onchange = () => {
    state.editing = true;
    $("#diversion-toggle").classList.toggle("on", capacity.diversion.checked);
  };
  capacity.onsubmit = saveCapacity;
  new Realtime({onFrame, onState: s => $("#degraded").classList.toggle("show", !!s.degraded),
                    storageKey: "hospital"}).start();
  // ETAs drift as the ambulance drives (events cover everything else): re-read every hospital_refresh_s
  settingsReady.then(settings => setInterval(refresh, settings.hospital_refresh_s * 1000));
  setInterval(tick, 1000);
  refresh();
}

if (requireLogin()) start();

// Hospital board: patients inbound to this emergency department with an ETA countdown, triage colour, notes and
// an acknowledge button (recorded on the server as an event, so it survives reloads and the console sees it);
// the incoming and not-yet-acknowledged counts; a quick beds and diversion editor. Refreshed on every event it
// may see, and every 15 s for ETAs.
import {api, errorText, requireLogin} from "./api.js";
import {warningBadge} from "./eta.js";
import {clock, minutes, vitalsHtml} from "./format.js";
import {html, render} from "./html.js";
import {languageSelector, local, t} from "./i18n.js";
import "./labels.js";
import {Realtime} from "./realtime.js";
import {settingsReady} from "./settings.js";

const $ = sel => document.querySelector(sel);
const state = {me: null, hospital: null, patients: [], fetchedAt: Date.now(), editing: false};

async function refresh() {
  try {
    const body = await api("GET", `/api/v1/hospitals/${state.me.hospital_id}/inbound`);
    state.patients = body.inbound.sort((a, b) => (a.eta_s ?? Infinity) - (b.eta_s ?? Infinity));
    state.fetchedAt = Date.now();
    renderBoard();
  } catch (e) { /* keep the last list */ }
}

function secondsLeft(patient) {
  return patient.eta_s == null ? null : Math.max(0, patient.eta_s - (Date.now() - state.fetchedAt) / 1000);
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
    return html`<li class="patient ${p.hospital_acknowledged_at ? "" : "unseen"}" data-id="${p.id}">
      <span class="badge big-badge colour-${colour}">${p.triage ? p.triage.code : "?"}</span>
      <div><b>#${p.id}</b> ${summary}
        <div>${p.chief_complaint || ""}</div>
        ${vitalsHtml((p.vitals || []).at(-1))}
        ${(p.notes || []).map(n => html`<div class="muted">${n}</div>`)}
        <div class="muted">${t("status." + p.status)} · ${t("hospital.unit")} ${(p.unit_ids || []).join(", ") || "—"}</div>
        ${seen}</div>
      <div class="eta"><small>${t("hospital.eta")}</small><span class="eta-left" data-id="${p.id}">${minutes(secondsLeft(p))}</span>
        ${warningBadge(p)}</div></li>`;
  })}` : html`<li class="muted">${t("hospital.none")}</li>`);
  $("#inbound").querySelectorAll("button[data-ack]").forEach(b => b.onclick = () => acknowledge(Number(b.dataset.ack), b));
}

function tick() {  // the countdown only: no re-render, so buttons do not move under a finger
  for (const p of state.patients) {
    const el = document.querySelector(`.eta-left[data-id="${p.id}"]`);
    if (el) el.textContent = minutes(secondsLeft(p));
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

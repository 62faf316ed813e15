// Crew tablet: the current job with one-tap Respond (acknowledge + en route), big status buttons, route and
// turn instructions, destination chooser, GPS pings, and the crew's shift (log on / off, web/js/shift.js). Commands go through the offline queue, so taps made
// without signal are sent, in order and once, when the connection returns.
// Until the server has told it the unit's state (state.known), the tablet never shows "Available — waiting": after a
// reload it shows the last job saved on this tablet, marked as not yet confirmed, or else a loading panel.
import {api, errorText, frameError, requireLogin} from "./api.js";
import {warningBadge} from "./eta.js";
import {clock, distance, minutes, vitalsLine} from "./format.js";
import {html, render} from "./html.js";
import {languageSelector, local, t} from "./i18n.js";
import "./labels.js";
import {L, addBaseMap} from "./leaflet.js";
import {Realtime} from "./realtime.js";
import {loadShift, renderShift, showShift} from "./shift.js";
import {settingsReady} from "./settings.js";

const $ = sel => document.querySelector(sel);
const state = {me: null, unit: null, incident: null, position: null, routeLayer: null, map: null, routeTo: null,
               hospitals: new Map(), destinations: [], known: false, savedAt: null};
const SAVED_JOB = "ems.tablet.job";  // {unit_id, unit, incident, saved_at}: the last job the server confirmed

export const realtime = new Realtime({onFrame, onState, storageKey: "tablet"});

async function start() {
  languageSelector($("#lang"), () => { renderJob(); renderShift(); loadRoute(true); onState(linkState); });
  $("#respond").onclick = () => setStatus("en_route");
  $("#vitals-panel").onsubmit = recordVitals;
  document.querySelectorAll("button[data-status]").forEach(b => b.onclick = () => setStatus(b.dataset.status));
  restoreSavedJob();  // at once, before any request: a slow link must not leave the crew staring at nothing
  $("#unit-title").textContent = state.unit ? state.unit.id : "";
  renderJob();
  refresh();
  realtime.start();  // taps on the saved job are queued and sent once the link is up
  watchPosition();
  try { state.me = await api("GET", "/api/v1/me"); } catch (e) { if (e.status === 401) location.href = "/index.html"; }
  if (state.me && !state.known && state.unit && state.unit.id !== state.me.unit_id) {  // saved by another unit's crew
    Object.assign(state, {unit: null, incident: null, savedAt: null});
    renderJob();
  }
  $("#unit-title").textContent = state.me ? state.me.unit_id : (state.unit ? state.unit.id : "");
  try { (await api("GET", "/api/v1/hospitals")).hospitals.forEach(h => state.hospitals.set(h.id, h)); } catch (e) { /* offline */ }
  renderJob();  // the route to a chosen hospital needs the hospitals' places
}

function setStatus(status) {
  if (state.unit) { state.unit.status = status; renderJob(); }  // optimistic: the crew sees the tap at once
  realtime.command("status", {status}).then(refresh, err => { alert(frameError(err).message); refresh(); });
  if (status === "en_route" || status === "transporting") loadRoute(true);
}

// The unit and its incident, taken together: a unit whose incident could not be fetched is not shown as idle. Only
// the newest answer is applied (refreshes overlap: the first load, each live event, each retry).
let refreshes = 0, applied = 0, retry = null;
async function refresh() {
  const n = ++refreshes;
  try {
    const unit = (await api("GET", "/api/v1/units")).units[0] || null;
    const incident = unit && unit.incident_id ? await api("GET", `/api/v1/incidents/${unit.incident_id}`) : null;
    if (n > applied) {
      applied = n;
      Object.assign(state, {unit, incident, known: true, savedAt: null});
      saveJob();  // what the server confirmed, never an optimistic tap
    }
  } catch (e) { /* offline: keep what we have */ }
  renderJob();
  loadShift();
  clearTimeout(retry);
  if (!state.known) retry = setTimeout(refresh, 5000);  // not yet known: keep asking (a live event also asks)
}

// The last confirmed job is saved on the tablet, so a reload without signal still shows it (marked unconfirmed).
function restoreSavedJob() {
  let saved = null;
  try { saved = JSON.parse(localStorage.getItem(SAVED_JOB)); } catch (e) { /* unreadable: none */ }
  if (!saved || !saved.incident || !saved.unit) return;
  Object.assign(state, {unit: saved.unit, incident: saved.incident, savedAt: saved.saved_at});
}

function saveJob() {
  if (!state.known) return;
  if (state.incident && state.unit) {
    localStorage.setItem(SAVED_JOB, JSON.stringify({unit: state.unit, incident: state.incident,
                                                    saved_at: new Date().toISOString()}));
  } else localStorage.removeItem(SAVED_JOB);
}

function renderJob() {
  const job = state.incident;
  $("#loading").hidden = state.known || !!job;
  $("#idle").hidden = !state.known || !!job;
  showShift(state.known && !job);
  $("#job-unconfirmed").hidden = state.known;
  $("#job-unconfirmed").textContent = state.known ? "" : t("tablet.unconfirmed", {time: clock(state.savedAt)});
  $("#job").hidden = !job;
  $("#route-panel").hidden = !job;
  $("#destination-panel").hidden = !job;
  $("#vitals-panel").hidden = !job;
  if (!job) {
    state.routeTo = null; state.destinations = [];
    $("#unit-status").textContent = state.known && state.unit ? t("unit." + state.unit.status) : "…";
    return;
  }
  const colour = job.triage ? job.triage.colour : (job.provisional_colour || "none");
  $("#job-badge").className = `badge colour-${colour}`;
  $("#job-badge").textContent = job.triage ? job.triage.code : "?";
  $("#job-title").textContent = `#${job.id} · ${t("status." + job.status)}`;
  $("#job-complaint").textContent = job.chief_complaint || (job.triage ? local(job.triage, "text") : "");
  // the place in words (the server's reverse geocoding) beside the address and the coordinates
  const where = job.location ? `${job.location.lat.toFixed(5)}, ${job.location.lon.toFixed(5)}` : "";
  $("#job-address").textContent = [job.address, job.place ? local(job.place, "description") : null, where].filter(Boolean).join(" · ");
  render($("#job-flags"), html`${(job.location_flags || []).map(f => html`<span class="flag">⚠ ${t("flag." + f)}</span> `)}`);
  const unitStatus = state.unit ? state.unit.status : "";
  $("#unit-status").textContent = unitStatus ? t("unit." + unitStatus) : "";
  $("#respond").hidden = unitStatus !== "assigned";
  document.querySelectorAll("button[data-status]").forEach(b => {
    const allowed = {on_scene: ["en_route"], transporting: ["on_scene"], at_hospital: ["transporting"],
                     available: ["on_scene", "at_hospital", "returning"]}[b.dataset.status];
    b.disabled = !allowed.includes(unitStatus);
  });
  const target = routeTarget();
  if (target && (!state.routeTo || state.routeTo.key !== target.key)) loadRoute();
  if (!state.destinations.length && ["en_route", "on_scene", "transporting"].includes(unitStatus)) loadDestinations();
  renderDestinations();
  const latest = (job.vitals || []).at(-1);
  $("#vitals-latest").textContent = latest ? `${t("vitals.latest")} ${clock(latest.recorded_at)}: ${vitalsLine(latest)}` : "";
}

// ---- vital signs: big number inputs; only the filled ones are sent; the server names any value out of range ----
async function recordVitals(event) {
  event.preventDefault();
  const form = $("#vitals-panel");
  const inputs = [...form.querySelectorAll("input")];
  inputs.forEach(i => i.classList.remove("invalid"));
  const body = Object.fromEntries(inputs.filter(i => i.value.trim() !== "").map(i => [i.name, Number(i.value)]));
  if (!Object.keys(body).length) { $("#vitals-error").textContent = t("vitals.empty"); return; }
  try {
    await api("POST", `/api/v1/incidents/${state.incident.id}/vitals`, body);
    form.reset();
    $("#vitals-error").textContent = "";
    refresh();
  } catch (e) {
    (e.fields || []).forEach(f => form.querySelector(`input[name="${CSS.escape(f.field)}"]`)?.classList.add("invalid"));
    $("#vitals-error").textContent = errorText(e, field => t("vitals." + field));
  }
}

// Before the patient is aboard the route goes to the scene; while transporting, to the chosen hospital.
function routeTarget() {
  const job = state.incident;
  const status = state.unit ? state.unit.status : "";
  const hospital = job && state.hospitals.get(job.destination_hospital_id);
  if (hospital && ["transporting", "at_hospital"].includes(status)) {
    return {...hospital.location, key: `hospital-${hospital.id}`, hospital: true};
  }
  return job && job.location ? {...job.location, key: `scene-${job.id}`, hospital: false} : null;
}

function ensureMap(center) {
  if (state.map) { state.map.invalidateSize(); return state.map; }
  state.map = L.map("map", {zoomControl: true}).setView([center.lat, center.lon], 14);
  state.map.attributionControl.addAttribution("© OpenStreetMap contributors");
  addBaseMap(state.map, {minClass: "tertiary"}).catch(() => { /* offline: the route line still shows */ });
  return state.map;
}

async function loadRoute(force) {
  const target = routeTarget();
  const from = state.position || (state.unit ? state.unit.base : null);
  if (!target || !from) return;
  if (!force && state.routeTo && state.routeTo.key === target.key) return;
  state.routeTo = target;
  try {
    const route = await api("GET", `/api/v1/route?from_lat=${from.lat}&from_lon=${from.lon}&to_lat=${target.lat}&to_lon=${target.lon}`);
    const map = ensureMap(target);
    if (state.routeLayer) state.routeLayer.remove();
    state.routeLayer = L.layerGroup([
      L.geoJSON(route.geometry, {style: {color: "#0d47a1", weight: 7, opacity: 0.9}}),
      L.circleMarker([from.lat, from.lon], {radius: 7, color: "#0d47a1", fillColor: "#fff", fillOpacity: 1}),
      L.circleMarker([target.lat, target.lon], {radius: 10, color: target.hospital ? "#2e7d32" : "#c62828", fillOpacity: 1}),
    ]).addTo(map);
    map.fitBounds(L.geoJSON(route.geometry).getBounds(), {padding: [24, 24]});
    $("#route-to").textContent = t(target.hospital ? "tablet.to_hospital" : "tablet.to_scene");
    $("#route-summary").textContent = `${minutes(route.duration_s)} ${t("tablet.min")} · ${distance(route.distance_m)}`;
    const [next] = route.instructions;
    $("#next-turn").textContent = next ? `${local(next, "text")} · ${distance(next.distance_m)}` : "";
    render($("#route-warning"), warningBadge(route));  // a straight-line guess: the crew must not trust the turns
    render($("#instructions"), html`${route.instructions.map(i => html`<li>${local(i, "text")} ${i.distance_m > 0 ? html`<span class="muted">${distance(i.distance_m)}</span>` : ""}</li>`)}`);
  } catch (e) { state.routeTo = null; /* no route yet (graph loading or offline): the next render retries */ }
}

async function loadDestinations() {
  if (!state.incident) return;
  try {
    state.destinations = (await api("GET", `/api/v1/incidents/${state.incident.id}/destinations`)).destinations;
  } catch (e) { /* offline: keep the last list */ }
  renderDestinations();
}

function renderDestinations() {
  const chosenId = state.incident ? state.incident.destination_hospital_id : null;
  const shown = state.destinations.slice(0, 4);
  render($("#destinations"), shown.length ? html`${shown.map((d, n) => {
    const chosen = d.hospital_id === chosenId;
    return html`<li class="${chosen ? "chosen" : ""}"><button class="big ${chosen ? "go" : d.diversion ? "warn" : "primary"}" data-hospital="${d.hospital_id}">
        ${chosen ? "✓ " : ""}${local(d, "name")} · ${minutes(d.eta_s)} ${t("tablet.min")}</button>
      ${warningBadge(d)}
      <div class="muted">${n === 0 ? html`<span class="badge colour-green">${t("destination.best")}</span> ` : ""}${local(d, "why")}</div></li>`;
  })}` : html`<li class="muted">…</li>`);
  $("#destinations").querySelectorAll("button[data-hospital]").forEach(b => b.onclick = async () => {
    try {
      state.incident = await api("POST", `/api/v1/incidents/${state.incident.id}/destinations`, {hospital_id: b.dataset.hospital});
      saveJob();
      renderJob();
      loadRoute(true);
    } catch (e) { alert(e.message); }
  });
}

// The latest fix is sent every pageSettings.tablet_ping_s while connected, so a parked ambulance (no new fixes)
// still reports where it is and a fix taken while offline is delivered after reconnect.
function watchPosition() {
  if (!navigator.geolocation) return;
  navigator.geolocation.watchPosition(p => {
    const first = !state.fix;
    state.position = {lat: p.coords.latitude, lon: p.coords.longitude};
    state.fix = {type: "position", lat: p.coords.latitude, lon: p.coords.longitude,
                 speed_mps: p.coords.speed ?? undefined, heading_deg: p.coords.heading ?? undefined,
                 accuracy_m: p.coords.accuracy};
    if (first) sendFix();
  }, () => {}, {enableHighAccuracy: true, maximumAge: 5000});
  settingsReady.then(settings => setInterval(sendFix, settings.tablet_ping_s * 1000));
}

function sendFix() {
  if (state.fix) realtime.send(state.fix);
}

function onFrame(frame) {
  if (frame.type === "snapshot") {
    state.unit = frame.state.unit || state.unit;
    refresh();
  } else if (frame.type === "event") {
    // a co-responder sent to our incident is shown, but only our own assignment alerts and resets the route
    if (frame.event.type === "UnitAssigned" && (!state.unit || frame.event.payload.unit_id === state.unit.id)) {
      if ("vibrate" in navigator) navigator.vibrate([300, 100, 300]);
      state.destinations = [];
      state.routeTo = null;
    }
    refresh();
  }
}

let linkState = {};  // the last link state shown (shown again, relabelled, after a language switch)
function onState(s) {
  linkState = s;
  if (s.connected && !state.connected) sendFix();  // where we are, as soon as the link is back
  state.connected = !!s.connected;
  $("#degraded").classList.toggle("show", !s.connected || !!s.revoked);
  if (s.revoked) $("#degraded").textContent = t("common.revoked");
  $("#conn").textContent = s.connected ? "●" : "○";
  $("#queue-badge").style.display = s.queued ? "inline" : "none";
  $("#queue-badge").textContent = t("common.queued", {n: s.queued});
}

if (requireLogin()) {
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(() => {});
  start();
}

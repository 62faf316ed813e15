// Dispatcher console: live incident queue, map of incidents, units and hospitals, intake form, incident panel
// with road-ETA recommendations and one-click assignment, the acknowledgement countdown and escalation ladder,
// duplicate suggestions, destination hospitals, and road closures drawn on the map. State comes from the
// snapshot, then events; each event about an incident refreshes that incident from the API (the server's
// projection is the truth).
"use strict";

const COLOURS = {red: "#c62828", yellow: "#f9a825", green: "#2e7d32", white: "#fafafa"};
const state = {incidents: new Map(), units: new Map(), positions: new Map(), selected: null, markers: new Map(),
               unitMarkers: new Map(), hospitalMarkers: new Map()};
const $ = sel => document.querySelector(sel);
const t = EMS.t, esc = EMS.escapeHtml;
const labelOr = (key, fallback) => (t(key) === key ? fallback : t(key));  // server values we have no label for

if (!EMS.token()) location.href = "/index.html";

const map = L.map("map", {preferCanvas: true}).setView([13.361, 100.984], 13);
map.createPane("incidents").style.zIndex = 650;  // incidents above unit and hospital labels
L.control.scale({imperial: false}).addTo(map);
map.attributionControl.addAttribution("© OpenStreetMap contributors");
loadBaseMap();

async function loadBaseMap() {
  try {
    await EMS.addBaseMap(map, {style: f => ({color: ["motorway", "trunk", "primary"].includes(f.properties.highway) ? "#e08a3c" : "#9aa5b1",
                                             weight: ["motorway", "trunk", "primary", "secondary"].includes(f.properties.highway) ? 3 : 1})});
  } catch (e) { /* no road layer: markers still work */ }
}

function colourOf(incident) {
  return incident.triage?.colour || incident.provisional_colour || null;
}

function renderQueue() {
  const list = $("#incident-list");
  const order = {red: 0, yellow: 1, green: 2, white: 3};
  const incidents = [...state.incidents.values()].filter(i => !["closed", "cancelled"].includes(i.status))
    .sort((a, b) => (order[colourOf(a)] ?? 4) - (order[colourOf(b)] ?? 4) || a.reported_at.localeCompare(b.reported_at));
  list.innerHTML = incidents.map(i => `
    <li data-id="${i.id}" class="${state.selected === i.id ? "selected" : ""}">
      <div class="incident-row">
        <span class="badge colour-${colourOf(i) || "none"}">${esc(i.triage?.code || "?")}</span>
        <div class="what"><b>#${i.id}</b> ${esc(i.chief_complaint || i.address || "")}
          <div class="muted">${t("status." + i.status)} · ${EMS.clock(i.reported_at)} · ${esc(i.channel)}</div>
          ${(i.location_flags || []).map(f => `<div class="flag">⚠ ${t("flag." + f)}</div>`).join("")}
        </div>
      </div>
    </li>`).join("");
  list.querySelectorAll("li").forEach(li => li.onclick = () => select(Number(li.dataset.id)));
  for (const incident of state.incidents.values()) placeIncident(incident);
}

function placeIncident(incident) {
  const existing = state.markers.get(incident.id);
  const open = !["closed", "cancelled"].includes(incident.status);
  if (!incident.location || !open) { if (existing) { existing.remove(); state.markers.delete(incident.id); } return; }
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
  state.markers.set(incident.id, marker);
}

// A unit marker sits at its live position (AVL), else at its base; its label carries the status.
const UNIT_COLOURS = {available: "#2e7d32", assigned: "#ef6c00", returning: "#2e7d32", out_of_service: "#616161"};
function placeUnit(position) {
  const unitId = position.unit_id || position.id;
  const unit = state.units.get(unitId) || {};
  if (position.lat !== undefined) state.positions.set(unitId, {lat: position.lat, lon: position.lon});
  const at = state.positions.get(unitId) || unit.base;
  if (!at) return;
  const status = unit.status || "available";
  const icon = L.divIcon({className: "", iconSize: null, iconAnchor: [-12, 8], html: `<div class="unit-marker" data-unit="${esc(unitId)}" style="background:${UNIT_COLOURS[status] || "#1565c0"};color:#fff;border-radius:4px;padding:1px 4px;font-size:11px;white-space:nowrap">${esc(unitId)} · ${t("unit." + status)}</div>`});
  let marker = state.unitMarkers.get(unitId);
  if (!marker) { marker = L.marker([at.lat, at.lon], {icon, keyboard: false, bubblingMouseEvents: true}).addTo(map); state.unitMarkers.set(unitId, marker); }
  marker.setLatLng([at.lat, at.lon]).setIcon(icon);
}

let unitsRefresh = null;
function refreshUnitsSoon() {  // many unit events arrive together: one fetch for the lot
  clearTimeout(unitsRefresh);
  unitsRefresh = setTimeout(async () => {
    try {
      const body = await EMS.api("GET", "/api/v1/units");
      for (const unit of body.units) state.units.set(unit.id, unit);
      for (const [id, p] of Object.entries(body.positions || {})) state.positions.set(id, p);
      state.units.forEach(u => placeUnit(u));
    } catch (e) { /* the next event retries */ }
  }, 300);
}

function placeHospital(hospital) {
  const icon = L.divIcon({className: "", iconSize: null, iconAnchor: [9, 10], html: `<div style="background:#fff;color:#b71c1c;border:2px solid #b71c1c;border-radius:4px;padding:0 3px;font-weight:700;font-size:12px">H${hospital.diversion ? " ✕" : ""}</div>`});
  const name = EMS.local(hospital, "name");
  const marker = state.hospitalMarkers.get(hospital.id) || L.marker([hospital.location.lat, hospital.location.lon], {keyboard: false, bubblingMouseEvents: true}).addTo(map);
  marker.setIcon(icon).bindTooltip(`${esc(name)} · ${t("hospital.capacity")} ${hospital.ed_beds_free}${hospital.diversion ? " · " + t("hospital.diversion") : ""}`);
  state.hospitalMarkers.set(hospital.id, marker);
}

async function select(id) {
  state.selected = id;
  renderQueue();
  const incident = state.incidents.get(id);
  if (!incident) return;
  if (incident.location) map.panTo([incident.location.lat, incident.location.lon]);
  renderPanel(incident);
  await loadRecommendations(id);
}

function renderPanel(incident) {
  const typingReply = document.activeElement?.closest?.("#sms-reply") != null;
  const callers = (incident.callers || []).map(c => `${esc(c.name || "")} ${esc(c.phone || "")}`).join("<br>");
  $("#incident-panel").innerHTML = `
    <h3><span class="badge colour-${colourOf(incident) || "none"}">${esc(incident.triage?.code || "?")}</span> #${incident.id}</h3>
    <div>${t("status." + incident.status)} · ${EMS.clock(incident.reported_at)} · ${esc(incident.channel)}</div>
    <p><b>${esc(incident.chief_complaint || "")}</b></p>
    <div class="muted">${esc(incident.address || "")}${incident.location ? ` (${incident.location.lat.toFixed(5)}, ${incident.location.lon.toFixed(5)})` : ""}</div>
    ${(incident.location_flags || []).map(f => `<div class="flag">⚠ ${t("flag." + f)}</div>`).join("")}
    ${incident.location_note ? `<div class="flag">${esc(incident.location_note)}</div>` : ""}
    <div>${callers}</div>
    ${EMS.vitalsHtml(incident.vitals?.at(-1))}
    ${hasPhone(incident) ? `<h4>${t("caller.history")}</h4><div id="caller-history" class="muted">…</div>` : ""}
    ${isTextThread(incident) ? `<h4>${t("sms.thread")}</h4><div id="sms-thread"></div>` : ""}
    ${isTextThread(incident) && hasPhone(incident) ? `<form id="sms-reply"><textarea name="body" rows="2" maxlength="1600" placeholder="${t("sms.placeholder")}"></textarea>
        <p class="error" id="sms-error"></p><button class="primary" type="submit">${t("sms.send")}</button></form>` : ""}
    <h4>${t("console.duplicates")}</h4>
    <div id="duplicates" class="muted">…</div>
    <details class="cbd" ${incident.triage ? "" : "open"}>
      <summary>${t("console.triage")}${incident.triage ? `: ${esc(EMS.local(incident.triage, "text"))}` : ""}</summary>
      <select id="cbd-group"><option value="">—</option>${cards.map(c => `<option value="${c.group}" ${incident.triage && incident.triage.group === c.group ? "selected" : ""}>${c.group}. ${esc(EMS.local(c, "name"))}</option>`).join("")}</select>
      <div id="cbd-card"></div>
    </details>
    <h4>${t("console.assignments")}</h4>
    <div id="assignments" class="muted">…</div>
    <h4>${t("console.recommendations")}</h4>
    <div id="recommendations" class="muted">…</div>
    <h4>${t("console.destination")}</h4>
    <div id="destinations" class="muted">…</div>`;
  $("#cbd-group").onchange = e => renderCard(incident, Number(e.target.value));
  if (incident.triage) renderCard(incident, incident.triage.group);
  loadAssignments(incident.id);
  loadDestinations(incident);
  loadDuplicates(incident.id);
  if (hasPhone(incident)) loadCallerHistory(incident.id);
  if (isTextThread(incident)) loadThread(incident.id);
  if (typingReply) $("#sms-reply")?.body.focus();  // an event re-rendered the panel while the dispatcher typed
}

// ---- caller history and the SMS thread (text-to-1669) -------------------------------------------------------
const hasPhone = incident => (incident.callers || []).some(c => c.phone);
const MESSAGING = ["sms", "line"];  // channels with a message thread (replies go by SMS to a caller's phone)
const isTextThread = incident => MESSAGING.includes(incident.channel) || (incident.callers || []).some(c => MESSAGING.includes(c.channel));

async function loadCallerHistory(id) {
  const box = $("#caller-history");
  try {
    const body = await EMS.api("GET", `/api/v1/incidents/${id}/caller-history`);
    if (!box.isConnected) return;
    box.innerHTML = body.incidents.length ? `<ul class="list history">${body.incidents.map(i => `
      <li data-history="${i.id}"><b>#${i.id}</b> ${EMS.clock(i.reported_at)} ${new Date(i.reported_at).toLocaleDateString()} ·
        ${t("status." + i.status)} · ${esc(i.chief_complaint || i.address || "")}</li>`).join("")}</ul>`
      : t("caller.no_history");
    box.querySelectorAll("li[data-history]").forEach(li => li.onclick = () => {
      const other = Number(li.dataset.history);
      if (state.incidents.has(other)) select(other);
    });
  } catch (e) { box.textContent = "—"; }
}

const replyDrafts = new Map();  // incident id → unsent reply (the panel re-renders on every event)

async function loadThread(id) {
  const box = $("#sms-thread"), reply = $("#sms-reply");
  if (reply) {
    reply.body.value = replyDrafts.get(id) || "";
    reply.body.oninput = () => replyDrafts.set(id, reply.body.value);
    reply.onsubmit = event => { event.preventDefault(); sendReply(id); };
  }
  try {
    const body = await EMS.api("GET", `/api/v1/incidents/${id}/messages`);
    if (!box.isConnected) return;
    box.innerHTML = body.messages.map(m => `
      <div class="sms sms-${m.direction}" data-seq="${m.seq}"><div>${esc(m.body)}</div>
        <div class="muted">${EMS.clock(m.at)} · ${m.channel === "line" ? "LINE" : m.direction === "in" ? esc(m.phone || "") : labelOr("sms.status." + m.status, m.status || "")}</div></div>`).join("")
      || `<span class="muted">—</span>`;
    box.scrollTop = box.scrollHeight;
  } catch (e) { box.textContent = "—"; }
}

async function sendReply(id) {
  const reply = $("#sms-reply");
  const text = reply.body.value;
  if (!text.trim()) return;
  reply.querySelector("button").disabled = true;
  try {
    await EMS.api("POST", `/api/v1/incidents/${id}/messages`, {body: text});
    replyDrafts.delete(id);
    reply.body.value = "";
    $("#sms-error").textContent = "";
    loadThread(id);
  } catch (e) {
    $("#sms-error").textContent = EMS.errorText(e);
  } finally { reply.querySelector("button").disabled = false; }
}

// ---- acknowledgement countdown and escalation ladder ----------------------------------------------------------
async function loadAssignments(id) {
  const box = $("#assignments");
  try {
    const body = await EMS.api("GET", `/api/v1/incidents/${id}/assignments`);
    box.innerHTML = body.assignments.length ? body.assignments.map(a => assignmentHtml(a, body.ladder)).join("") : "—";
    tickCountdowns();
  } catch (e) { box.textContent = "—"; }
}

function assignmentHtml(assignment, ladder) {
  const waiting = assignment.status === "awaiting_ack";
  const taken = assignment.escalations || [];
  const steps = waiting || taken.length ? `<ol class="ladder">${ladder.map(s => `
      <li class="${taken.includes(s.step) ? "taken" : ""}" data-step="${esc(s.step)}">${taken.includes(s.step) ? "✓ " : ""}${t("ladder." + s.step)}
        <span class="muted">+${Math.round(s.after_due_s)} s</span></li>`).join("")}</ol>` : "";
  const ack = waiting
    ? `<div>${t("assignment.ack_due")} <span class="countdown" data-due="${Date.parse(assignment.ack_due_at)}"></span></div>`
    : assignment.acknowledged_at ? `<div class="muted">✓ ${t("assignment.acknowledged_at")} ${EMS.clock(assignment.acknowledged_at)}</div>` : "";
  return `<div class="rec" data-assignment="${assignment.id}" style="display:block">
    <b>${esc(assignment.unit_id)}</b> · ${t("assignment." + assignment.status)}${assignment.eta_s != null ? ` · ${t("assignment.eta")} ${EMS.minutes(assignment.eta_s)}` : ""}
    ${ack}${steps}</div>`;
}

// Counts down to each acknowledgement deadline; past it the time since shows in red (the ladder is running).
function tickCountdowns() {
  document.querySelectorAll(".countdown[data-due]").forEach(el => {
    const left_s = (Number(el.dataset.due) - Date.now()) / 1000;
    el.textContent = left_s >= 0 ? EMS.minutes(left_s) : `−${EMS.minutes(-left_s)} ${t("assignment.overdue")}`;
    el.classList.toggle("overdue", left_s < 0);
  });
}
setInterval(tickCountdowns, 1000);

// ---- destination hospital -----------------------------------------------------------------------------------
async function loadDestinations(incident) {
  const box = $("#destinations");
  try {
    const body = await EMS.api("GET", `/api/v1/incidents/${incident.id}/destinations`);
    const shown = body.destinations.filter((d, n) => n < 4 || d.hospital_id === incident.destination_hospital_id);
    box.innerHTML = shown.map((d, n) => {
      const chosen = d.hospital_id === incident.destination_hospital_id;
      const edState = incident.hospital_acknowledged_at ? `✓ ${t("destination.ed_acknowledged")}` : t("destination.ed_alerted");
      return `<div class="rec ${chosen ? "chosen" : ""}" data-destination="${esc(d.hospital_id)}"><div>
          <b>${esc(EMS.local(d, "name"))}</b> ${n === 0 ? `<span class="badge colour-green">${t("destination.best")}</span>` : ""}
          ${d.diversion ? `<span class="badge colour-red">${t("hospital.diversion")}</span>` : ""}
          <div class="muted">${esc(EMS.local(d, "why"))}</div>${chosen ? `<div><b>${edState}</b></div>` : ""}</div>
        ${chosen ? `<b>✓ ${t("destination.chosen")}</b>` : `<button class="primary" data-hospital="${esc(d.hospital_id)}">${t("destination.send")}${n === 0 ? " <kbd>D</kbd>" : ""}</button>`}
      </div>`;
    }).join("") || "—";
    box.querySelectorAll("button[data-hospital]").forEach(b => b.onclick = () => chooseDestination(incident.id, b.dataset.hospital));
  } catch (e) { box.textContent = e.status === 409 ? t("destination.no_location") : "—"; }
}

async function chooseDestination(incidentId, hospitalId) {
  try {
    state.incidents.set(incidentId, await EMS.api("POST", `/api/v1/incidents/${incidentId}/destinations`, {hospital_id: hospitalId}));
    if (state.selected === incidentId) loadDestinations(state.incidents.get(incidentId));
  } catch (e) { alert(e.message); }
}

let cards = [];
EMS.api("GET", "/api/v1/triage/cards").then(body => { cards = body.groups; }).catch(() => {});

function renderCard(incident, group) {
  const card = cards.find(c => c.group === group);
  if (!card) { $("#cbd-card").innerHTML = ""; return; }
  $("#cbd-card").innerHTML = `
    <ul class="muted">${card.questions.map(q => `<li>${esc(EMS.local(q))}</li>`).join("")}</ul>
    ${card.determinants.map((d, i) => `<button class="badge colour-${d.colour}" style="display:block;margin:4px 0;padding:8px;width:100%;text-align:left;border:none;cursor:pointer" data-determinant="${i + 1}">
      ${esc(EMS.local(d))} · ${esc(d.capability)}</button>`).join("")}`;
  $("#cbd-card").querySelectorAll("button[data-determinant]").forEach(b => b.onclick = async () => {
    try {
      const updated = await EMS.api("POST", `/api/v1/incidents/${incident.id}/triage`, {group, determinant: Number(b.dataset.determinant)});
      state.incidents.set(updated.id, updated);
      select(updated.id);
    } catch (e) { alert(e.message); }
  });
}

async function loadDuplicates(id) {
  const box = $("#duplicates");
  try {
    const body = await EMS.api("GET", `/api/v1/incidents/${id}/duplicates`);
    box.innerHTML = body.duplicates.length ? body.duplicates.map(d => `
      <div class="rec" style="display:block"><b>#${d.incident_id}</b> · ${esc(d.channel)} · ${Math.round(d.distance_m)} m · ${d.minutes_apart} min
        <div class="muted">${esc(d.chief_complaint || "")}</div>
        <button class="primary" data-merge="${d.incident_id}">${t("console.merge")} #${d.incident_id}</button>
        <button class="plain" data-apart="${d.incident_id}">${t("console.keep_apart")}</button></div>`).join("") : "—";
    box.querySelectorAll("button[data-merge]").forEach(b => b.onclick = async () => {
      await EMS.api("POST", `/api/v1/incidents/${id}/merge`, {into_incident_id: Number(b.dataset.merge)});
      select(Number(b.dataset.merge));
    });
    box.querySelectorAll("button[data-apart]").forEach(b => b.onclick = async () => {
      await EMS.api("POST", `/api/v1/incidents/${id}/keep-apart`, {other_incident_id: Number(b.dataset.apart)});
      loadDuplicates(id);
    });
  } catch (e) { box.textContent = "—"; }
}

async function loadRecommendations(id) {
  const box = $("#recommendations");
  try {
    const body = await EMS.api("GET", `/api/v1/incidents/${id}/recommendations`);
    const items = body.recommendations || [];
    const shortList = 3;  // the rest behind "show all": the panel must still show assignments and hospitals
    box.innerHTML = items.length ? items.map((r, n) => `
      <div class="rec" ${n >= shortList ? "hidden" : ""}><div><b>${esc(r.call_sign || r.unit_id)}</b> ${esc(r.capability || "")}
        <div class="muted">${esc(EMS.local(r, "why"))}</div></div>
        <button class="primary" data-unit="${esc(r.unit_id)}">${t("console.assign")}${n === 0 ? " <kbd>A</kbd>" : ""}</button></div>`).join("")
      + (items.length > shortList ? `<button id="all-units" class="plain">${t("console.all_units", {n: items.length})}</button>` : "")
      : `<span class="muted">—</span>`;
    box.querySelector("#all-units")?.addEventListener("click", e => {
      box.querySelectorAll(".rec[hidden]").forEach(r => { r.hidden = false; });
      e.target.remove();
    });
    box.querySelectorAll("button[data-unit]").forEach(b => b.onclick = () => assign(id, b.dataset.unit));
  } catch (e) {
    box.textContent = e.status === 404 ? "—" : e.message;
  }
}

async function assign(incidentId, unitId) {
  try {
    await EMS.api("POST", `/api/v1/incidents/${incidentId}/assignments`, {unit_id: unitId});
  } catch (e) {
    alert(e.message);
  }
}

async function refreshIncident(id) {
  try {
    state.incidents.set(id, await EMS.api("GET", `/api/v1/incidents/${id}`));
    renderQueue();
    if (state.selected === id) { renderPanel(state.incidents.get(id)); loadRecommendations(id); }
  } catch (e) { /* a later event will refresh it */ }
}

function addAlert(text) {
  const li = document.createElement("li");
  li.innerHTML = `<span class="muted">${EMS.clock(new Date().toISOString())}</span> ${esc(text)}`;
  $("#alert-list").prepend(li);
}

function onFrame(frame) {
  if (frame.type === "snapshot") {
    state.incidents.clear();
    for (const incident of frame.state.incidents || []) state.incidents.set(incident.id, incident);
    for (const unit of frame.state.units || []) state.units.set(unit.id, unit);
    state.units.forEach(u => placeUnit(u));
    (frame.state.hospitals || []).forEach(placeHospital);
    renderQueue();
    refreshUnitsSoon();
  } else if (frame.type === "event") {
    const payload = frame.event.payload, type = frame.event.type;
    if (payload.incident_id !== undefined) refreshIncident(payload.incident_id);
    if (payload.unit_id !== undefined) refreshUnitsSoon();
    if (type === "HospitalCapacityUpdated") EMS.api("GET", "/api/v1/hospitals").then(b => b.hospitals.forEach(placeHospital), () => {});
    if (type === "RoadClosed" || type === "RoadReopened") loadClosures(type === "RoadClosed" ? payload.closure_id : null);
    if (type === "RateLimitTripped") addAlert(`Rate limit: ${payload.bucket} ${payload.source_id}`);
    if (type === "AssignmentEscalated") addAlert(`#${payload.incident_id} ${payload.unit_id}: ${t("ladder." + payload.step)}${payload.detail ? " → " + payload.detail : ""}`);
    if (type === "DispatchShortfall") addAlert(`#${payload.incident_id} ${t("alert.shortfall", {missing: payload.missing.join(", "), assigned: payload.assigned.join(", ") || "—"})}`);
    if (type === "InboundAcknowledged") addAlert(`#${payload.incident_id} ${t("destination.ed_acknowledged")}`);
    if (type === "OutboundMessageFailed") addAlert(`${payload.incident_id != null ? "#" + payload.incident_id + " " : ""}${t("alert.message_failed", {kind: labelOr("alert.kind." + payload.kind, payload.kind), status: payload.status})} ${payload.phone || ""}`);
    if (type === "DeviceAlertRaised") addAlert(`${labelOr("alert.device." + payload.kind, payload.kind)} · ${payload.device_id}${payload.detail ? " — " + payload.detail : ""}`);
  } else if (frame.type === "positions") {
    frame.units.forEach(placeUnit);
  }
}

function onState(s) {
  $("#degraded").classList.toggle("show", !!s.degraded || !!s.revoked);
  if (s.revoked) $("#degraded").textContent = t("common.revoked");
  $("#status-line").textContent = s.connected ? t("common.online") : t("common.offline");
}

// ---- intake form --------------------------------------------------------------------------------------------
const form = $("#new-incident");
$("#new-incident-btn").onclick = () => { form.hidden = !form.hidden; };
map.on("click", e => {
  if (closures.drawing) { addCorner(e.latlng); return; }
  if (form.hidden) return;
  form.lat.value = e.latlng.lat.toFixed(6);
  form.lon.value = e.latlng.lng.toFixed(6);
});
form.onsubmit = async event => {
  event.preventDefault();
  const body = {channel: form.channel.value, address: form.address.value || undefined,
                chief_complaint: form.chief_complaint.value || undefined};
  if (form.lat.value || form.lon.value) body.location = {lat: Number(form.lat.value), lon: Number(form.lon.value)};
  if (form.caller_phone.value || form.caller_name.value) body.caller = {phone: form.caller_phone.value || undefined, name: form.caller_name.value || undefined};
  try {
    const incident = await EMS.api("POST", "/api/v1/incidents", body, {"Idempotency-Key": crypto.randomUUID ? crypto.randomUUID() : String(Date.now())});
    state.incidents.set(incident.id, incident);
    form.reset();
    form.hidden = true;
    $("#new-incident-error").textContent = "";
    select(incident.id);
  } catch (e) {
    $("#new-incident-error").textContent = EMS.errorText(e);
  }
};

// ---- road closures ------------------------------------------------------------------------------------------
// Drawing: each map click adds a corner; Finish (Enter) posts the polygon. The closed road segments come back
// from GET /closures once the routing graph has applied the RoadClosed event, and are drawn thick red (orange
// for slow-downs) with a list entry to reopen them.
const closures = {layer: L.layerGroup().addTo(map), drawing: null};
const closureForm = $("#closure-form");

function startDrawing() {
  stopDrawing();
  closures.drawing = {points: [], outline: L.polygon([], {color: "#b71c1c", dashArray: "6 4", weight: 2}).addTo(map),
                      corners: L.layerGroup().addTo(map)};
  closureForm.hidden = false;
  form.hidden = true;
  $("#closure-corners").textContent = "0";
  $("#closure-error").textContent = "";
  $("#map").classList.add("drawing");
  map.doubleClickZoom.disable();
}

function stopDrawing() {
  if (closures.drawing) { closures.drawing.outline.remove(); closures.drawing.corners.remove(); }
  closures.drawing = null;
  closureForm.hidden = true;
  $("#map").classList.remove("drawing");
  map.doubleClickZoom.enable();
}

function addCorner(latlng) {
  const drawing = closures.drawing;
  drawing.points.push(latlng);
  drawing.outline.setLatLngs(drawing.points);
  L.circleMarker(latlng, {radius: 5, color: "#b71c1c", fillOpacity: 1}).addTo(drawing.corners);
  $("#closure-corners").textContent = drawing.points.length;
}

async function saveClosure() {
  const drawing = closures.drawing;
  if (!drawing || drawing.points.length < 3) { $("#closure-error").textContent = t("closure.need_three"); return; }
  const ring = drawing.points.map(p => [Number(p.lng.toFixed(6)), Number(p.lat.toFixed(6))]);
  ring.push(ring[0]);
  const kind = closureForm.kind.value;
  const body = {polygon: {type: "Polygon", coordinates: [ring]}, factor: kind === "closed" ? null : Number(kind),
                reason: closureForm.reason.value || undefined};
  try {
    const created = await EMS.api("POST", "/api/v1/closures", body);
    closureForm.reset();
    stopDrawing();
    loadClosures(created.closure_id);
  } catch (e) {
    $("#closure-error").textContent = EMS.errorText(e);
  }
}

async function loadClosures(expectedId, attempt = 0) {
  try {
    const body = await EMS.api("GET", "/api/v1/closures");
    if (expectedId && !body.closures.some(c => c.id === expectedId) && attempt < 20) {
      setTimeout(() => loadClosures(expectedId, attempt + 1), 300);  // the graph applies the event just after
      return;
    }
    renderClosures(body.closures);
  } catch (e) {
    if (e.status === 503 && attempt < 20) setTimeout(() => loadClosures(expectedId, attempt + 1), 3000);  // graph loading
  }
}

function renderClosures(list) {
  closures.layer.clearLayers();
  for (const closure of list) {
    L.geoJSON(closure.geometry, {style: {color: closure.closed ? "#b71c1c" : "#ef6c00", weight: 7, opacity: 0.85}})
      .bindTooltip(esc(closure.reason || t(closure.closed ? "closure.closed" : "closure.slow"))).addTo(closures.layer);
  }
  $("#closure-list").innerHTML = list.length ? list.map(c => `
    <li data-closure="${esc(c.id)}"><div class="rec"><div><b>${c.closed ? `<span class="badge colour-red">${t("closure.closed")}</span>` : `<span class="badge colour-yellow">${t("closure.slowed", {f: c.factor})}</span>`}</b>
      ${esc(c.reason || "")}<div class="muted">${t("closure.segments", {n: c.edges})}</div></div>
      <button data-reopen="${esc(c.id)}">${t("closure.reopen")}</button></div></li>`).join("")
    : `<li class="muted">—</li>`;
  $("#closure-list").querySelectorAll("button[data-reopen]").forEach(b => b.onclick = async () => {
    try { await EMS.api("DELETE", `/api/v1/closures/${b.dataset.reopen}`); } catch (e) { alert(e.message); }
    loadClosures();
  });
}

$("#draw-closure-btn").onclick = () => closures.drawing ? stopDrawing() : startDrawing();
$("#closure-cancel").onclick = stopDrawing;
closureForm.onsubmit = event => { event.preventDefault(); saveClosure(); };
loadClosures();

// ---- keyboard ---------------------------------------------------------------------------------------------
function toggleShortcuts(show) {
  $("#shortcuts").hidden = show === undefined ? !$("#shortcuts").hidden : !show;
}
$("#shortcuts-btn").onclick = () => toggleShortcuts();

document.addEventListener("keydown", e => {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  if (["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement.tagName)) { if (e.key === "Escape") document.activeElement.blur(); return; }
  const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  const ids = [...document.querySelectorAll("#incident-list li")].map(li => Number(li.dataset.id));
  const at = ids.indexOf(state.selected);
  if (key === "n") { stopDrawing(); form.hidden = false; form.address.focus(); e.preventDefault(); }
  else if (key === "j" && ids.length) select(ids[Math.min(at + 1, ids.length - 1)]);
  else if (key === "k" && ids.length) select(ids[Math.max(at - 1, 0)]);
  else if (key === "a" && state.selected) document.querySelector("#recommendations button[data-unit]")?.click();
  else if (key === "d" && state.selected) document.querySelector("#destinations button[data-hospital]")?.click();
  else if (key === "c") startDrawing();
  else if (key === "Enter" && closures.drawing) saveClosure();
  else if (key === "?") toggleShortcuts();
  else if (key === "Escape") { form.hidden = true; stopDrawing(); toggleShortcuts(false); }
});

$("#lang").value = EMS.getLanguage();
$("#lang").onchange = e => {
  EMS.setLanguage(e.target.value);
  renderQueue();
  state.units.forEach(u => placeUnit(u));
  if (state.selected) select(state.selected);
};
EMS.setLanguage(EMS.getLanguage());
new EMS.Realtime({onFrame, onState, storageKey: "console"}).start();

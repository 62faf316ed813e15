// Dispatcher console: live incident queue, map of incidents and units, intake form, incident panel with
// road-ETA recommendations and one-click assignment. State comes from the snapshot, then events; each event
// about an incident refreshes that incident from the API (the server's projection is the truth).
"use strict";

const COLOURS = {red: "#c62828", yellow: "#f9a825", green: "#2e7d32", white: "#fafafa"};
const state = {incidents: new Map(), units: new Map(), selected: null, markers: new Map(), unitMarkers: new Map()};
const $ = sel => document.querySelector(sel);
const t = EMS.t, esc = EMS.escapeHtml;

if (!EMS.token()) location.href = "/index.html";

const map = L.map("map", {preferCanvas: true}).setView([13.361, 100.984], 13);
L.control.scale({imperial: false}).addTo(map);
map.attributionControl.addAttribution("© OpenStreetMap contributors");
loadBaseMap();

async function loadBaseMap() {
  try {
    const roads = await EMS.api("GET", "/api/v1/map/roads");
    L.geoJSON(roads, {style: f => ({color: ["motorway", "trunk", "primary"].includes(f.properties.highway) ? "#e08a3c" : "#9aa5b1",
                                     weight: ["motorway", "trunk", "primary", "secondary"].includes(f.properties.highway) ? 3 : 1})}).addTo(map);
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
  const style = {radius: 9, color: "#222", weight: 1, fillColor: COLOURS[colourOf(incident)] || "#78909c", fillOpacity: 0.9};
  if (existing) { existing.setLatLng([incident.location.lat, incident.location.lon]).setStyle(style); return; }
  const marker = L.circleMarker([incident.location.lat, incident.location.lon], style).addTo(map);
  marker.on("click", () => select(incident.id));
  state.markers.set(incident.id, marker);
}

function placeUnit(unit) {
  const label = esc(unit.unit_id || unit.id);
  let marker = state.unitMarkers.get(label);
  const icon = L.divIcon({className: "", html: `<div style="background:#1565c0;color:#fff;border-radius:4px;padding:1px 4px;font-size:11px;white-space:nowrap">🚑 ${label}</div>`});
  if (!marker) { marker = L.marker([unit.lat, unit.lon], {icon}).addTo(map); state.unitMarkers.set(label, marker); }
  marker.setLatLng([unit.lat, unit.lon]);
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
  const callers = (incident.callers || []).map(c => `${esc(c.name || "")} ${esc(c.phone || "")}`).join("<br>");
  $("#incident-panel").innerHTML = `
    <h3><span class="badge colour-${colourOf(incident) || "none"}">${esc(incident.triage?.code || "?")}</span> #${incident.id}</h3>
    <div>${t("status." + incident.status)} · ${EMS.clock(incident.reported_at)}</div>
    <p>${esc(incident.chief_complaint || "")}</p>
    <p class="muted">${esc(incident.address || "")}</p>
    ${incident.location ? `<p class="muted">${incident.location.lat.toFixed(5)}, ${incident.location.lon.toFixed(5)}</p>` : ""}
    ${(incident.location_flags || []).map(f => `<div class="flag">⚠ ${t("flag." + f)}</div>`).join("")}
    ${incident.location_note ? `<div class="flag">${esc(incident.location_note)}</div>` : ""}
    <p>${callers}</p>
    <h4>${t("console.triage")}</h4>
    <select id="cbd-group"><option value="">—</option>${cards.map(c => `<option value="${c.group}" ${incident.triage && incident.triage.group === c.group ? "selected" : ""}>${c.group}. ${esc(EMS.getLanguage() === "th" ? c.name_th : c.name_en)}</option>`).join("")}</select>
    <div id="cbd-card"></div>
    <h4 data-t="console.recommendations">${t("console.recommendations")}</h4>
    <div id="recommendations" class="muted">…</div>
    <h4>${t("console.duplicates")}</h4>
    <div id="duplicates" class="muted">…</div>`;
  $("#cbd-group").onchange = e => renderCard(incident, Number(e.target.value));
  if (incident.triage) renderCard(incident, incident.triage.group);
  loadDuplicates(incident.id);
}

let cards = [];
EMS.api("GET", "/api/v1/triage/cards").then(body => { cards = body.groups; }).catch(() => {});

function renderCard(incident, group) {
  const card = cards.find(c => c.group === group);
  const th = EMS.getLanguage() === "th";
  if (!card) { $("#cbd-card").innerHTML = ""; return; }
  $("#cbd-card").innerHTML = `
    <ul class="muted">${card.questions.map(q => `<li>${esc(th ? q.th : q.en)}</li>`).join("")}</ul>
    ${card.determinants.map((d, i) => `<button class="badge colour-${d.colour}" style="display:block;margin:4px 0;padding:8px;width:100%;text-align:left;border:none;cursor:pointer" data-determinant="${i + 1}">
      ${esc(th ? d.th : d.en)} · ${esc(d.capability)}</button>`).join("")}`;
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
      <div class="rec"><div>#${d.incident_id} · ${esc(d.channel)} · ${Math.round(d.distance_m)} m · ${d.minutes_apart} min
        <div class="muted">${esc(d.chief_complaint || "")}</div></div>
        <button class="primary" data-merge="${d.incident_id}">${t("console.merge")}</button></div>`).join("") : "—";
    box.querySelectorAll("button[data-merge]").forEach(b => b.onclick = async () => {
      await EMS.api("POST", `/api/v1/incidents/${id}/merge`, {into_incident_id: Number(b.dataset.merge)});
      state.selected = null;
    });
  } catch (e) { box.textContent = "—"; }
}

async function loadRecommendations(id) {
  const box = $("#recommendations");
  try {
    const body = await EMS.api("GET", `/api/v1/incidents/${id}/recommendations`);
    const items = body.recommendations || [];
    box.innerHTML = items.length ? items.map((r, n) => `
      <div class="rec"><div><b>${esc(r.call_sign || r.unit_id)}</b> ${esc(r.capability || "")}
        <div class="muted">${esc(EMS.getLanguage() === "th" ? r.why_th : r.why_en)}</div></div>
        <button class="primary" data-unit="${esc(r.unit_id)}">${t("console.assign")}${n === 0 ? " <kbd>A</kbd>" : ""}</button></div>`).join("")
      : `<span class="muted">—</span>`;
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
    renderQueue();
  } else if (frame.type === "event") {
    const payload = frame.event.payload;
    if (payload.incident_id !== undefined) refreshIncident(payload.incident_id);
    if (frame.event.type === "RateLimitTripped") addAlert(`Rate limit: ${payload.bucket} ${payload.source_id}`);
    if (frame.event.type === "AssignmentEscalated") addAlert(`#${payload.incident_id} ${payload.step}`);
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
    $("#new-incident-error").textContent = e.fields.length ? e.fields.map(f => `${f.field}: ${f.reason}`).join("; ") : e.message;
  }
};

// ---- keyboard ---------------------------------------------------------------------------------------------
document.addEventListener("keydown", e => {
  if (["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement.tagName)) { if (e.key === "Escape") document.activeElement.blur(); return; }
  const ids = [...document.querySelectorAll("#incident-list li")].map(li => Number(li.dataset.id));
  const at = ids.indexOf(state.selected);
  if (e.key === "n" || e.key === "N") { form.hidden = false; form.address.focus(); e.preventDefault(); }
  else if (e.key === "j" && ids.length) select(ids[Math.min(at + 1, ids.length - 1)]);
  else if (e.key === "k" && ids.length) select(ids[Math.max(at - 1, 0)]);
  else if ((e.key === "a" || e.key === "A") && state.selected) document.querySelector("#recommendations button[data-unit]")?.click();
  else if (e.key === "Escape") form.hidden = true;
});

$("#lang").value = EMS.getLanguage();
$("#lang").onchange = e => { EMS.setLanguage(e.target.value); renderQueue(); };
EMS.setLanguage(EMS.getLanguage());
new EMS.Realtime({onFrame, onState, storageKey: "console"}).start();

// Crew tablet: the current job with one-tap Respond (acknowledge + en route), big status buttons, route and
// turn instructions, destination chooser, GPS pings. Commands go through the offline queue, so taps made
// without signal are sent, in order and once, when the connection returns.
"use strict";

const $ = sel => document.querySelector(sel);
const t = EMS.t, esc = EMS.escapeHtml;
const state = {me: null, unit: null, incident: null, position: null, routeLayer: null, map: null};

if (!EMS.token()) location.href = "/index.html";

const realtime = new EMS.Realtime({onFrame, onState, storageKey: "tablet"});

async function start() {
  EMS.setLanguage(EMS.getLanguage());
  $("#lang").value = EMS.getLanguage();
  $("#lang").onchange = e => { EMS.setLanguage(e.target.value); render(); };
  try { state.me = await EMS.api("GET", "/api/v1/me"); } catch (e) { if (e.status === 401) location.href = "/index.html"; }
  $("#unit-title").textContent = `🚑 ${state.me ? state.me.unit_id : ""}`;
  realtime.start();
  watchPosition();
  $("#respond").onclick = () => setStatus("en_route");
  document.querySelectorAll("button[data-status]").forEach(b => b.onclick = () => setStatus(b.dataset.status));
}

function setStatus(status) {
  if (state.unit) { state.unit.status = status; render(); }  // optimistic: the crew sees the tap at once
  realtime.command("status", {status}).then(refresh, err => { alert(err.reason || "error"); refresh(); });
  if (status === "en_route") loadRoute();
  if (status === "on_scene" || status === "en_route") loadDestinations();
}

async function refresh() {
  try {
    const body = await EMS.api("GET", "/api/v1/units");
    state.unit = body.units[0] || null;
    state.incident = state.unit && state.unit.incident_id ? await EMS.api("GET", `/api/v1/incidents/${state.unit.incident_id}`) : null;
  } catch (e) { /* offline: keep what we have */ }
  render();
}

function render() {
  const job = state.incident;
  $("#idle").hidden = !!job;
  $("#job").hidden = !job;
  $("#route-panel").hidden = !job;
  $("#destination-panel").hidden = !job;
  if (!job) return;
  const colour = job.triage ? job.triage.colour : (job.provisional_colour || "none");
  $("#job-badge").className = `badge colour-${colour}`;
  $("#job-badge").textContent = job.triage ? job.triage.code : "?";
  $("#job-title").textContent = `#${job.id} · ${t("status." + job.status)}`;
  $("#job-complaint").textContent = job.chief_complaint || (job.triage ? (EMS.getLanguage() === "th" ? job.triage.text_th : job.triage.text_en) : "");
  $("#job-address").textContent = job.address || (job.location ? `${job.location.lat.toFixed(5)}, ${job.location.lon.toFixed(5)}` : "");
  $("#job-flags").innerHTML = (job.location_flags || []).map(f => `<span class="flag">⚠ ${t("flag." + f)}</span>`).join(" ");
  const unitStatus = state.unit ? state.unit.status : "";
  $("#respond").disabled = unitStatus !== "assigned";
  document.querySelectorAll("button[data-status]").forEach(b => {
    const allowed = {on_scene: ["en_route"], transporting: ["on_scene"], at_hospital: ["transporting"],
                     available: ["on_scene", "at_hospital", "returning"]}[b.dataset.status];
    b.disabled = !allowed.includes(unitStatus);
  });
  if (!state.routeLayer && job.location) loadRoute();
}

async function loadRoute() {
  const job = state.incident;
  if (!job || !job.location) return;
  const from = state.position || (state.unit ? state.unit.base : null);
  if (!from) return;
  try {
    const route = await EMS.api("GET", `/api/v1/route?from_lat=${from.lat}&from_lon=${from.lon}&to_lat=${job.location.lat}&to_lon=${job.location.lon}`);
    if (!state.map) {
      state.map = L.map("map").setView([job.location.lat, job.location.lon], 14);
      state.map.attributionControl.addAttribution("© OpenStreetMap contributors");
    }
    if (state.routeLayer) state.routeLayer.remove();
    state.routeLayer = L.geoJSON(route.geometry, {style: {color: "#1565c0", weight: 6}}).addTo(state.map);
    L.circleMarker([job.location.lat, job.location.lon], {radius: 9, color: "#c62828", fillOpacity: 1}).addTo(state.map);
    state.map.fitBounds(state.routeLayer.getBounds(), {padding: [20, 20]});
    $("#route-summary").textContent = `${EMS.minutes(route.duration_s)} ${t("tablet.min")} · ${(route.distance_m / 1000).toFixed(1)} km`;
    const th = EMS.getLanguage() === "th";
    $("#instructions").innerHTML = route.instructions.map(i => `<li>${esc(th ? i.text_th : i.text_en)} <span class="muted">${Math.round(i.distance_m)} m</span></li>`).join("");
  } catch (e) { /* no route yet (graph loading or offline) */ }
}

async function loadDestinations() {
  if (!state.incident) return;
  try {
    const body = await EMS.api("GET", `/api/v1/incidents/${state.incident.id}/destinations`);
    const th = EMS.getLanguage() === "th";
    $("#destinations").innerHTML = body.destinations.slice(0, 5).map(d => `
      <li><button class="big ${d.diversion ? "warn" : "primary"}" data-hospital="${esc(d.hospital_id)}">
        ${esc(th ? d.name_th : d.name_en)} · ${EMS.minutes(d.eta_s)} ${t("tablet.min")}</button>
        <div class="muted">${esc(th ? d.why_th : d.why_en)}</div></li>`).join("");
    $("#destinations").querySelectorAll("button[data-hospital]").forEach(b => b.onclick = async () => {
      await EMS.api("POST", `/api/v1/incidents/${state.incident.id}/destinations`, {hospital_id: b.dataset.hospital});
      b.textContent = "✓ " + b.textContent;
    });
  } catch (e) { /* offline */ }
}

function watchPosition() {
  if (!navigator.geolocation) return;
  let lastSent = 0;
  navigator.geolocation.watchPosition(p => {
    state.position = {lat: p.coords.latitude, lon: p.coords.longitude};
    if (Date.now() - lastSent < 5000) return;
    lastSent = Date.now();
    realtime.send({type: "position", lat: p.coords.latitude, lon: p.coords.longitude,
                   speed_mps: p.coords.speed ?? undefined, heading_deg: p.coords.heading ?? undefined,
                   accuracy_m: p.coords.accuracy});
  }, () => {}, {enableHighAccuracy: true, maximumAge: 5000});
}

function onFrame(frame) {
  if (frame.type === "snapshot") {
    state.unit = frame.state.unit || state.unit;
    refresh();
  } else if (frame.type === "event") {
    if (frame.event.type === "UnitAssigned" && "vibrate" in navigator) navigator.vibrate([300, 100, 300]);
    refresh();
  }
}

function onState(s) {
  $("#degraded").classList.toggle("show", !s.connected || !!s.revoked);
  if (s.revoked) $("#degraded").textContent = t("common.revoked");
  $("#conn").textContent = s.connected ? "●" : "○";
  $("#queue-badge").style.display = s.queued ? "inline" : "none";
  $("#queue-badge").textContent = t("common.queued", {n: s.queued});
}

if ("serviceWorker" in navigator) navigator.serviceWorker.register("/sw.js").catch(() => {});
start();

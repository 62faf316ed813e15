// The coverage layer: per grid cell, the road minutes from the nearest available unit able to take a call of the
// chosen capability, and move-up suggestions the dispatcher can accept (each acceptance is an event). Redrawn
// when a unit's status or standby post changes while the layer is shown.
import {api} from "../api.js";
import {minutes} from "../format.js";
import {element, html, render} from "../html.js";
import {defineLabels, t} from "../i18n.js";
import {L} from "../leaflet.js";
import {map} from "./map.js";
import {sidePanel} from "./sidepanel.js";

defineLabels({
  "coverage.button": {th: "พื้นที่ครอบคลุม", en: "Coverage"},
  "coverage.title": {th: "พื้นที่ที่รถถึงภายใน 8 นาที", en: "Reached within 8 minutes"},
  "coverage.share": {th: "ครอบคลุม {pct}% ของความต้องการ", en: "{pct}% of demand covered"},
  "coverage.moveups": {th: "ข้อเสนอย้ายจุดจอดรถ", en: "Move-up suggestions"},
  "coverage.none": {th: "ไม่มีข้อเสนอ — การกระจายรถดีแล้ว", en: "No suggestions — units are well placed"},
  "coverage.accept": {th: "ย้าย", en: "Move"},
  "coverage.gain": {th: "+{pct}% ครอบคลุมที่คาดไว้", en: "+{pct}% expected coverage"},
});

const WATCH_INTERVAL_MS = 10000;
const CAPABILITIES = ["ALS", "BLS", "FR"];
const panel = sidePanel("coverage-panel");
const layer = L.layerGroup();
let shown = false, capability = "ALS", unitsKey = "";

function colour(eta, budget) {
  if (eta === null) return "#616161";
  if (eta <= budget) return "#2e7d32";
  if (eta <= 480) return "#f9a825";
  if (eta <= 900) return "#ef6c00";
  return "#c62828";
}

async function draw() {
  const [coverage, moves] = await Promise.all([
    api("GET", `/api/v1/coverage?capability=${capability}`), api("GET", "/api/v1/coverage/moveups")]);
  layer.clearLayers();
  for (const cell of coverage.cells) {
    L.circleMarker([cell.lat, cell.lon], {radius: 7, stroke: false, fillOpacity: 0.45,
                                          fillColor: colour(cell.eta_s, coverage.travel_budget_s)})
      .bindTooltip(element(html`<span>${cell.eta_s === null ? "—" : `${minutes(cell.eta_s)} min`}</span>`)).addTo(layer);
  }
  render(panel, html`
    <h3>${t("coverage.title")}</h3>
    <select id="coverage-capability">${CAPABILITIES.map(c => html`<option ${c === capability ? html`selected` : ""}>${c}</option>`)}</select>
    <p>${t("coverage.share", {pct: (100 * coverage.covered_share).toFixed(0)})}</p>
    <h4>${t("coverage.moveups")}</h4>
    <ul class="list">${moves.suggestions.length ? moves.suggestions.map(m => html`
      <li><b>${m.unit_id}</b> → ${m.post_name}
        <span class="muted">${t("coverage.gain", {pct: (100 * m.gain).toFixed(1)})}</span>
        <button class="plain" data-unit="${m.unit_id}" data-post="${m.post_id}" data-gain="${m.gain}">${t("coverage.accept")}</button></li>`)
      : html`<li class="muted">${t("coverage.none")}</li>`}</ul>`);
  panel.querySelector("#coverage-capability").addEventListener("change", event => { capability = event.target.value; draw(); });
  panel.querySelectorAll("button[data-unit]").forEach(button => button.addEventListener("click", async () => {
    button.disabled = true;
    await api("POST", "/api/v1/coverage/moveups", {unit_id: button.dataset.unit, post_id: button.dataset.post,
                                                    gain: Number(button.dataset.gain)});
    await draw();
  }));
}

async function watchUnits() {
  if (!shown) return;
  const {units} = await api("GET", "/api/v1/units");
  const key = JSON.stringify(units.map(u => [u.id, u.status, u.standby_post_id]));
  if (key !== unitsKey) {
    unitsKey = key;
    await draw();
  }
}

document.querySelector("#coverage-btn").addEventListener("click", async () => {
  shown = !shown;
  panel.hidden = !shown;
  if (shown) { layer.addTo(map); unitsKey = ""; await watchUnits(); } else { layer.remove(); }
});
setInterval(() => watchUnits().catch(() => {}), WATCH_INTERVAL_MS);

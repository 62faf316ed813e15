// Road closures drawn on the map. Drawing: each map click adds a corner; Finish (Enter) posts the polygon. The
// closed road segments come back from GET /closures once the routing graph has applied the RoadClosed event,
// and are drawn thick red (orange for slow-downs) with a list entry to reopen them.
import {api, errorText} from "../api.js";
import {element, html, render} from "../html.js";
import {t} from "../i18n.js";
import {L} from "../leaflet.js";
import {closeIntake} from "./intake.js";
import {map} from "./map.js";
import {askFirst} from "./confirm.js";

export const closureLayer = L.layerGroup().addTo(map);
const RETRIES = 20;
let drawing = null;  // {points, outline, corners} while the dispatcher draws
const closureForm = document.querySelector("#closure-form");
const $ = selector => document.querySelector(selector);

export function isDrawing() {
  return drawing !== null;
}

export function startDrawing() {
  stopDrawing();
  drawing = {points: [], outline: L.polygon([], {color: "#b71c1c", dashArray: "6 4", weight: 2}).addTo(map),
             corners: L.layerGroup().addTo(map)};
  closureForm.hidden = false;
  closeIntake();
  $("#closure-corners").textContent = "0";
  $("#closure-error").textContent = "";
  $("#map").classList.add("drawing");
  map.doubleClickZoom.disable();
}

export function stopDrawing() {
  if (drawing) { drawing.outline.remove(); drawing.corners.remove(); }
  drawing = null;
  closureForm.hidden = true;
  $("#map").classList.remove("drawing");
  map.doubleClickZoom.enable();
}

export function addCorner(latlng) {
  drawing.points.push(latlng);
  drawing.outline.setLatLngs(drawing.points);
  L.circleMarker(latlng, {radius: 5, color: "#b71c1c", fillOpacity: 1}).addTo(drawing.corners);
  $("#closure-corners").textContent = drawing.points.length;
}

export async function saveClosure() {
  if (!drawing || drawing.points.length < 3) { $("#closure-error").textContent = t("closure.need_three"); return; }
  const ring = drawing.points.map(p => [Number(p.lng.toFixed(6)), Number(p.lat.toFixed(6))]);
  ring.push(ring[0]);
  const kind = closureForm.kind.value;
  const body = {polygon: {type: "Polygon", coordinates: [ring]}, factor: kind === "closed" ? null : Number(kind),
                reason: closureForm.reason.value || undefined};
  try {
    const created = await api("POST", "/api/v1/closures", body);
    closureForm.reset();
    stopDrawing();
    loadClosures(created.closure_id);
  } catch (e) {
    $("#closure-error").textContent = errorText(e);
  }
}

// The closures in force; with expectedId, retried until the graph has applied that closure.
export async function loadClosures(expectedId, attempt = 0) {
  try {
    const body = await api("GET", "/api/v1/closures");
    if (expectedId && !body.closures.some(c => c.id === expectedId) && attempt < RETRIES) {
      setTimeout(() => loadClosures(expectedId, attempt + 1), 300);  // the graph applies the event just after
      return;
    }
    renderClosures(body.closures);
  } catch (e) {
    if (e.status === 503 && attempt < RETRIES) setTimeout(() => loadClosures(expectedId, attempt + 1), 3000);  // graph loading
  }
}

function renderClosures(list) {
  closureLayer.clearLayers();
  for (const closure of list) {
    L.geoJSON(closure.geometry, {style: {color: closure.closed ? "#b71c1c" : "#ef6c00", weight: 7, opacity: 0.85}})
      .bindTooltip(element(html`<span>${closure.reason || t(closure.closed ? "closure.closed" : "closure.slow")}</span>`))
      .addTo(closureLayer);
  }
  const box = $("#closure-list");
  render(box, list.length ? html`${list.map(c => html`
    <li data-closure="${c.id}"><div class="rec"><div><b>${c.closed ? html`<span class="badge colour-red">${t("closure.closed")}</span>`
                                                                   : html`<span class="badge colour-yellow">${t("closure.slowed", {f: c.factor})}</span>`}</b>
      ${c.reason || ""}<div class="muted">${t("closure.segments", {n: c.edges})}</div></div>
      <button data-reopen="${c.id}">${t("closure.reopen")}</button></div></li>`)}`
    : html`<li class="muted">—</li>`);
  box.querySelectorAll("button[data-reopen]").forEach(b => askFirst(b, {  // routing uses the road again at once
    confirmText: () => t("confirm.reopen"),
    action: async () => {
      try { await api("DELETE", `/api/v1/closures/${b.dataset.reopen}`); } catch (e) { alert(e.message); }
      loadClosures();
    },
  }));
}

$("#draw-closure-btn").addEventListener("click", () => (drawing ? stopDrawing() : startDrawing()));
$("#closure-cancel").addEventListener("click", stopDrawing);
closureForm.addEventListener("submit", event => { event.preventDefault(); saveClosure(); });

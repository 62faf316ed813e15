// Incident replay: the selected incident's events (in seq order) and its units' AVL tracks, played back on a
// timeline with a scrubber.
import {api} from "../api.js";
import {clock} from "../format.js";
import {element, html, render} from "../html.js";
import {defineLabels, labelOr, t} from "../i18n.js";
import {L} from "../leaflet.js";
import {replayDetail} from "./calls.js";
import {map} from "./map.js";
import {sidePanel} from "./sidepanel.js";
import {state} from "./store.js";

defineLabels({
  "replay.button": {th: "ย้อนดูเหตุ", en: "Replay"},
  "replay.title": {th: "ย้อนดูเหตุ #{id}", en: "Replay of incident #{id}"},
  "replay.pick": {th: "เลือกเหตุก่อน", en: "Select an incident first"},
  "replay.play": {th: "เล่น", en: "Play"},
  "replay.pause": {th: "หยุด", en: "Pause"},
  "replay.close": {th: "ปิด", en: "Close"},
});

const PLAY_TICK_MS = 100;
const panel = sidePanel("replay-panel");
const layer = L.layerGroup();
let timer = null;

// The last track point at or before `time` (ms), per unit.
function positionsAt(tracks, time) {
  return tracks.map(track => {
    const seen = track.points.filter(p => Date.parse(p.at) <= time);
    return {unit_id: track.unit_id, point: seen[seen.length - 1], path: seen.map(p => [p.lat, p.lon])};
  });
}

function draw(replay, time) {
  layer.clearLayers();
  for (const {unit_id, point, path} of positionsAt(replay.tracks, time)) {
    if (path.length > 1) L.polyline(path, {color: "#1565c0", weight: 3}).addTo(layer);
    if (point) L.circleMarker([point.lat, point.lon], {radius: 8, color: "#0d47a1"}).bindTooltip(element(html`<span>${unit_id}</span>`)).addTo(layer);
  }
  const happened = replay.events.filter(e => Date.parse(e.occurred_at) <= time);
  panel.querySelector("#replay-clock").textContent = new Date(time).toLocaleTimeString();
  render(panel.querySelector("#replay-events"), html`${happened.map(e => html`
    <li data-event="${e.type}"><span class="muted">#${e.seq} ${clock(e.occurred_at)}</span> ${labelOr("event." + e.type, e.type)}
      ${e.payload.status ? labelOr("status." + e.payload.status, e.payload.status) : ""} ${e.payload.unit_id || ""}
      ${e.payload.disposition ? html`<b class="disposition">${labelOr("disposition." + e.payload.disposition, e.payload.disposition)}</b>` : ""}
      ${e.payload.disposition && e.payload.reason ? html`<span class="muted">— ${e.payload.reason}</span>` : ""}
      ${replayDetail(e)}</li>`)}`);
}

async function open(incidentId) {
  const replay = await api("GET", `/api/v1/incidents/${incidentId}/replay`);
  const times = [...replay.events.map(e => Date.parse(e.occurred_at)),
                 ...replay.tracks.flatMap(tr => tr.points.map(p => Date.parse(p.at)))];
  const start = Math.min(...times);
  const end = start + Math.ceil((Math.max(...times) - start) / 1000 + 1) * 1000;  // on the scrubber's 1 s steps
  panel.hidden = false;
  render(panel, html`
    <h3>${t("replay.title", {id: incidentId})}</h3>
    <input id="replay-scrubber" type="range" min="${start}" max="${end}" step="1000" value="${start}">
    <div><button class="plain" id="replay-play">${t("replay.play")}</button>
      <button class="plain" id="replay-close">${t("replay.close")}</button> <b id="replay-clock"></b></div>
    <ol id="replay-events" class="list"></ol>`);
  const scrubber = panel.querySelector("#replay-scrubber");
  layer.addTo(map);
  scrubber.addEventListener("input", () => draw(replay, Number(scrubber.value)));
  panel.querySelector("#replay-play").addEventListener("click", event => {
    if (timer) { stop(); return; }
    event.target.textContent = t("replay.pause");
    const stepMs = Math.max(1000, (end - start) / 300);  // the whole incident in about 30 s
    timer = setInterval(() => {
      scrubber.value = Math.min(end, Number(scrubber.value) + stepMs);
      draw(replay, Number(scrubber.value));
      if (Number(scrubber.value) >= end) stop();
    }, PLAY_TICK_MS);
  });
  panel.querySelector("#replay-close").addEventListener("click", () => { stop(); panel.hidden = true; layer.remove(); });
  draw(replay, start);
}

function stop() {
  clearInterval(timer);
  timer = null;
  const play = panel.querySelector("#replay-play");
  if (play) play.textContent = t("replay.play");
}

document.querySelector("#replay-btn").addEventListener("click", () => {
  if (!state.selected) { alert(t("replay.pick")); return; }
  stop();
  open(state.selected).catch(error => alert(error.message));
});

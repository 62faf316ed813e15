// The call-taker's location box (issue #16): the place as the caller says it ("หน้ารพ.ชลบุรี", "แยกพิพิธ ตัด
// วชิรปราการ"), suggestions from the gazetteer (GET /api/v1/geocode, asked once per pause in typing, ranked near
// the caller's location or the map's centre) listed under the box and drawn on the map as numbered pins.
// ↑ / ↓ move through them, Enter picks one (an Enter typed before the answer arrives picks its first result).
import {api} from "../api.js";
import {element, html, render} from "../html.js";
import {labelOr, t} from "../i18n.js";
import {L} from "../leaflet.js";
import {map} from "./map.js";

const DEBOUNCE_MS = 150;  // a request per pause in typing, not per keystroke
const LIMIT = 5;
const FIT_MAX_ZOOM = 16;  // suggestions out of view: show them all, but never closer than a street

const pins = L.layerGroup().addTo(map);

// Wires `input` (the box) and `list` (its suggestions) to the geocoder. `near()` gives the point to rank by
// ({lat, lon} or null); `onPick(candidate)` receives the chosen result ({name, name_en, kind, lat, lon, score, …}).
export function wireLocationBox({input, list, status, near, onPick}) {
  let results = [], active = 0, timer = null, asked = 0, pending = null, pickWhenReady = false;

  function draw() {
    input.setAttribute("aria-expanded", String(results.length > 0));
    render(list, html`${results.map((r, n) => html`<li role="option" data-index="${n}" aria-selected="${n === active}"
        class="${n === active ? "active" : ""}"><b>${n + 1}</b> ${r.name}${r.name_en && r.name_en !== r.name ? html` <span class="muted">${r.name_en}</span>` : ""}
        <span class="muted">· ${labelOr("locate.kind." + r.kind, r.kind)}${r.distance_m != null
          ? ` · ${t("locate.km", {km: (r.distance_m / 1000).toFixed(1)})}` : ""}</span></li>`)}`);
    pins.clearLayers();
    results.forEach((r, n) => {
      const icon = L.divIcon({className: "", iconSize: null, iconAnchor: [10, 10],
                              html: element(html`<div class="candidate-pin${n === active ? " active" : ""}" data-candidate="${n}">${n + 1}</div>`)});
      L.marker([r.lat, r.lon], {icon, keyboard: false, zIndexOffset: n === active ? 1000 : 0}).addTo(pins)
        .bindTooltip(element(html`<span>${r.name}</span>`)).on("click", () => pick(n));
    });
    const view = map.getBounds();
    if (results.length && !results.every(r => view.contains([r.lat, r.lon]))) {
      map.fitBounds(L.latLngBounds(results.map(r => [r.lat, r.lon])), {maxZoom: FIT_MAX_ZOOM, padding: [40, 40], animate: false});
    }
  }

  async function search() {
    timer = null;
    const q = input.value.trim();
    const mine = ++asked;
    if (!q) { clear(); return; }
    const params = new URLSearchParams({q, limit: String(LIMIT)});
    const point = near();
    if (point) params.set("near", `${point.lat.toFixed(5)},${point.lon.toFixed(5)}`);
    status.textContent = t("locate.searching");
    pending = api("GET", `/api/v1/geocode?${params}`);
    try {
      const body = await pending;
      if (mine !== asked) return;  // a newer query was typed meanwhile
      results = body.results;
      active = 0;
      status.textContent = results.length ? "" : t("locate.none");
      draw();
      if (pickWhenReady && results.length) pick(0);
    } catch (e) {
      if (mine === asked) status.textContent = e.status === 503 ? t("locate.loading") : e.message;
    } finally {
      if (mine === asked) { pending = null; pickWhenReady = false; }
    }
  }

  function pick(n) {
    const chosen = results[n];
    clear();
    if (chosen) onPick(chosen);
  }

  function clear() {
    results = [];
    pickWhenReady = false;
    draw();
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(search, DEBOUNCE_MS);
  });
  input.addEventListener("keydown", e => {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      if (!results.length) return;
      active = (active + (e.key === "ArrowDown" ? 1 : results.length - 1)) % results.length;
      draw();
      e.preventDefault();
    } else if (e.key === "Enter") {
      if (results.length && !timer) pick(active);
      else if (timer || pending) { pickWhenReady = true; if (timer) { clearTimeout(timer); search(); } }
      else return;  // nothing to pick: the form's own Enter (create without a location)
      e.preventDefault();
    } else if (e.key === "Escape") {
      clear();
    }
  });
  list.addEventListener("mousedown", e => {
    const item = e.target.closest("li[data-index]");
    if (item) { e.preventDefault(); pick(Number(item.dataset.index)); }
  });
  return {clear};
}


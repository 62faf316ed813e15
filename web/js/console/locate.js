// The call-taker's location box (issue #16): the place as the caller says it ("หน้ารพ.ชลบุรี", "แยกพิพิธ ตัด
// วชิรปราการ"), suggestions from the gazetteer (GET /api/v1/geocode, asked once per pause in typing, ranked near
// the caller's location or the map's centre) listed under the box and drawn on the map as numbered pins.
// ↑ / ↓ move through them, Enter picks one (an Enter typed before the answer arrives picks its first result).
import {api} from "../api.js";
import {element, html} from "../html.js";
import {labelOr, t} from "../i18n.js";
import {L} from "../leaflet.js";
import {wireListbox} from "./listbox.js";
import {map} from "./map.js";

const DEBOUNCE_MS = 150;  // a request per pause in typing, not per keystroke
const LIMIT = 5;
const FIT_MAX_ZOOM = 16;  // suggestions out of view: show them all, but never closer than a street

const pins = L.layerGroup().addTo(map);

// Wires `input` (the box) and `list` (its suggestions) to the geocoder. `near()` gives the point to rank by
// ({lat, lon} or null); `onPick(candidate)` receives the chosen result ({name, name_en, kind, lat, lon, score, …}).
export function wireLocationBox({input, list, status, near, onPick}) {
  let timer = null, asked = 0, pending = null, pickWhenReady = false;
  const box = wireListbox({input, list, label: suggestionHtml, onPick, onDraw: drawPins, canPick: () => !timer});

  function drawPins(results, active) {
    pins.clearLayers();
    results.forEach((r, n) => {
      const icon = L.divIcon({className: "", iconSize: null, iconAnchor: [10, 10],
                              html: element(html`<div class="candidate-pin${n === active ? " active" : ""}" data-candidate="${n}">${n + 1}</div>`)});
      L.marker([r.lat, r.lon], {icon, keyboard: false, zIndexOffset: n === active ? 1000 : 0}).addTo(pins)
        .bindTooltip(element(html`<span>${r.name}</span>`)).on("click", () => box.pick(n));
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
      status.textContent = body.results.length ? "" : t("locate.none");
      box.show(body.results);
      if (pickWhenReady && body.results.length) box.pick(0);
    } catch (e) {
      if (mine === asked) status.textContent = e.status === 503 ? t("locate.loading") : e.message;
    } finally {
      if (mine === asked) { pending = null; pickWhenReady = false; }
    }
  }

  function clear() {
    pickWhenReady = false;
    box.clear();
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(search, DEBOUNCE_MS);
  });
  // After the list's own keys: an Enter typed before the answer arrives picks its first result; nothing to pick
  // and nothing asked, the form's own Enter goes on (create without a location).
  input.addEventListener("keydown", e => {
    if (e.key === "Escape") pickWhenReady = false;
    if (e.key !== "Enter" || e.defaultPrevented || !(timer || pending)) return;
    pickWhenReady = true;
    if (timer) { clearTimeout(timer); search(); }
    e.preventDefault();
  });
  return {clear};
}

// A suggestion as the list reads it: its number (its pin's), name, English name, kind and distance.
function suggestionHtml(r, n) {
  return html`<b>${n + 1}</b> ${r.name}${r.name_en && r.name_en !== r.name ? html` <span class="muted">${r.name_en}</span>` : ""}
    <span class="muted">· ${labelOr("locate.kind." + r.kind, r.kind)}${r.distance_m != null
      ? ` · ${t("locate.km", {km: (r.distance_m / 1000).toFixed(1)})}` : ""}</span>`;
}

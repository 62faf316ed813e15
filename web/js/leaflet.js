// Leaflet comes from the xstatic-leaflet wheel as a classic script that defines the global `L` (no bundler):
// this module is the one place that reads that global, so map code imports `L` like any other dependency.
// Also the base map every page's map starts with.
import {api} from "./api.js";

export const L = globalThis.L;
if (!L) throw new Error("Leaflet (/static/leaflet/leaflet.js) must load before the page's modules");

// The project's own road graph (GeoJSON, no internet or tile server needed), unless the page's
// <meta name="ems-tile-url" content="https://…/{z}/{x}/{y}.png"> names a tile server (set by whoever deploys;
// the server's Content-Security-Policy admits that tile server's origin for images, see api/pages.py).
export async function addBaseMap(map, {minClass, style} = {}) {
  const tileUrl = document.querySelector('meta[name="ems-tile-url"]')?.content;
  if (tileUrl) {
    L.tileLayer(tileUrl, {maxZoom: 19}).addTo(map);
    return;
  }
  const roads = await api("GET", "/api/v1/map/roads" + (minClass ? `?min_class=${encodeURIComponent(minClass)}` : ""));
  L.geoJSON(roads, {interactive: false, style: style || {color: "#9aa5b1", weight: 2}}).addTo(map).bringToBack();
}

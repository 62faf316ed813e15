// Leaflet comes from the xstatic-leaflet wheel as a classic script that defines the global `L` (no bundler):
// this module is the one place that reads that global, so map code imports `L` like any other dependency.
// Also the base map every page's map starts with.
import {api} from "./api.js";

export const L = globalThis.L;
if (!L) throw new Error("Leaflet (/static/leaflet/leaflet.js) must load before the page's modules");

// The project's own road graph (GeoJSON, no internet or tile server needed), unless the page's
// <meta name="ems-tile-url" content="https://…/{z}/{x}/{y}.png"> names a tile server (set by whoever deploys;
// the server's Content-Security-Policy admits that tile server's origin for images, see api/pages.py).
// The roads are added a slice at a time, one patch of the map after another: the canvas redraws only the patch a
// slice touched (added all at once the page froze for half a second; in slices spread over the whole map, every
// slice redrew every road before it). Returns the road layer (nothing for tiles).
const ROADS_SLICE_MS = 12;  // work per slice: well under a 50 ms long task
const ROADS_PATCH_DEG = 0.01;  // about a kilometre

export async function addBaseMap(map, {minClass, style} = {}) {
  const tileUrl = document.querySelector('meta[name="ems-tile-url"]')?.content;
  if (tileUrl) {
    L.tileLayer(tileUrl, {maxZoom: 19}).addTo(map);
    return;
  }
  const roads = await api("GET", "/api/v1/map/roads" + (minClass ? `?min_class=${encodeURIComponent(minClass)}` : ""));
  const layer = L.geoJSON(null, {interactive: false, style: style || {color: "#9aa5b1", weight: 2}}).addTo(map);
  const features = byPatch(roads.features || []);
  for (let next = 0; next < features.length;) {
    const until = performance.now() + ROADS_SLICE_MS;
    while (next < features.length && performance.now() < until) layer.addData(features[next++]);
    await new Promise(resolve => setTimeout(resolve, 0));
  }
  layer.bringToBack();  // under what was drawn meanwhile (closures)
  return layer;
}

// The features ordered by the patch of map their first point falls in (row by row).
function byPatch(features) {
  const patch = f => {
    let c = f.geometry?.coordinates;
    while (Array.isArray(c?.[0])) c = c[0];
    return c ? [Math.floor(c[1] / ROADS_PATCH_DEG), Math.floor(c[0] / ROADS_PATCH_DEG)] : [0, 0];
  };
  return features.map(f => ({f, at: patch(f)})).sort((a, b) => a.at[0] - b.at[0] || a.at[1] - b.at[1]).map(x => x.f);
}

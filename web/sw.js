// Keeps the crew tablet's page, styles and modules available without signal; API calls always go to the network.
// SHELL is the tablet page and everything it loads (tests/web/test_modules.py checks it against the page's
// imports); a new CACHE name drops the previous version's copies on activation.
const CACHE = "ems-tablet-v6";
const SHELL = ["/tablet.html", "/css/app.css", "/css/tablet.css",
               "/js/tablet.js", "/js/api.js", "/js/crew.js", "/js/eta.js", "/js/format.js", "/js/html.js",
               "/js/i18n.js", "/js/labels.js", "/js/leaflet.js", "/js/realtime.js", "/js/settings.js", "/js/shift.js",
               "/static/leaflet/leaflet.js", "/static/leaflet/leaflet.css"];
self.addEventListener("install", event => event.waitUntil(caches.open(CACHE).then(c => c.addAll(SHELL))));
self.addEventListener("activate", event => event.waitUntil(
  caches.keys().then(names => Promise.all(names.filter(name => name !== CACHE).map(name => caches.delete(name))))));
self.addEventListener("fetch", event => {
  const url = new URL(event.request.url);
  // Only our own files: map tiles from a configured tile server are not ours to cache (nor may this worker
  // fetch them: its Content-Security-Policy admits only this origin).
  if (url.origin !== location.origin) return;
  if (event.request.method !== "GET" || url.pathname.startsWith("/api/") || url.pathname === "/ws") return;
  event.respondWith(fetch(event.request).then(response => {
    const copy = response.clone();
    caches.open(CACHE).then(c => c.put(event.request, copy));
    return response;
  }).catch(() => caches.match(event.request)));
});

// Keeps the crew tablet's page and scripts available without signal; API calls always go to the network.
const CACHE = "ems-tablet-v1";
const SHELL = ["/tablet.html", "/css/app.css", "/js/ems.js", "/js/labels.js", "/js/tablet.js",
               "/static/leaflet/leaflet.js", "/static/leaflet/leaflet.css"];
self.addEventListener("install", event => event.waitUntil(caches.open(CACHE).then(c => c.addAll(SHELL))));
self.addEventListener("fetch", event => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.pathname.startsWith("/api/") || url.pathname === "/ws") return;
  event.respondWith(fetch(event.request).then(response => {
    const copy = response.clone();
    caches.open(CACHE).then(c => c.put(event.request, copy));
    return response;
  }).catch(() => caches.match(event.request)));
});

// Console coverage layer: per grid cell, the road minutes from the nearest available unit able to take a call
// of the chosen capability, and move-up suggestions the dispatcher can accept (each acceptance is an event).
// Uses the console's `map`; refreshes when a unit's status or standby post changes.
"use strict";

(() => {
  const panel = EMS.consoleAddOn("coverage-panel", {
    "coverage.button": {th: "พื้นที่ครอบคลุม", en: "Coverage"},
    "coverage.title": {th: "พื้นที่ที่รถถึงภายใน 8 นาที", en: "Reached within 8 minutes"},
    "coverage.share": {th: "ครอบคลุม {pct}% ของความต้องการ", en: "{pct}% of demand covered"},
    "coverage.moveups": {th: "ข้อเสนอย้ายจุดจอดรถ", en: "Move-up suggestions"},
    "coverage.none": {th: "ไม่มีข้อเสนอ — การกระจายรถดีแล้ว", en: "No suggestions — units are well placed"},
    "coverage.accept": {th: "ย้าย", en: "Move"},
    "coverage.gain": {th: "+{pct}% ครอบคลุมที่คาดไว้", en: "+{pct}% expected coverage"},
  });
  const t = EMS.t, esc = EMS.escapeHtml;
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
      EMS.api("GET", `/api/v1/coverage?capability=${capability}`), EMS.api("GET", "/api/v1/coverage/moveups")]);
    layer.clearLayers();
    for (const cell of coverage.cells) {
      L.circleMarker([cell.lat, cell.lon], {radius: 7, stroke: false, fillOpacity: 0.45,
                                            fillColor: colour(cell.eta_s, coverage.travel_budget_s)})
        .bindTooltip(cell.eta_s === null ? "—" : `${EMS.minutes(cell.eta_s)} min`).addTo(layer);
    }
    panel.innerHTML = `
      <h3>${esc(t("coverage.title"))}</h3>
      <select id="coverage-capability">${["ALS", "BLS", "FR"].map(c => `<option ${c === capability ? "selected" : ""}>${c}</option>`).join("")}</select>
      <p>${esc(t("coverage.share", {pct: (100 * coverage.covered_share).toFixed(0)}))}</p>
      <h4>${esc(t("coverage.moveups"))}</h4>
      <ul class="list">${moves.suggestions.map(m => `
        <li><b>${esc(m.unit_id)}</b> → ${esc(m.post_name)}
          <span class="muted">${esc(t("coverage.gain", {pct: (100 * m.gain).toFixed(1)}))}</span>
          <button class="plain" data-unit="${esc(m.unit_id)}" data-post="${esc(m.post_id)}" data-gain="${m.gain}">${esc(t("coverage.accept"))}</button></li>`).join("")
        || `<li class="muted">${esc(t("coverage.none"))}</li>`}</ul>`;
    panel.querySelector("#coverage-capability").addEventListener("change", event => { capability = event.target.value; draw(); });
    panel.querySelectorAll("button[data-unit]").forEach(button => button.addEventListener("click", async () => {
      button.disabled = true;
      await EMS.api("POST", "/api/v1/coverage/moveups", {unit_id: button.dataset.unit, post_id: button.dataset.post,
                                                          gain: Number(button.dataset.gain)});
      await draw();
    }));
  }

  async function watchUnits() {
    if (!shown) return;
    const {units} = await EMS.api("GET", "/api/v1/units");
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
  setInterval(() => watchUnits().catch(() => {}), 10000);
})();

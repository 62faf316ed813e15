// The unit status board: every unit (of this dispatcher's agency; the 1669 centre sees all) with its agency, status
// (out of service: why and when it is due back), time in that status, current incident, crew on shift with their
// qualifications (a unit with nobody on shift is flagged: it is not recommended) and how old its last position is
// (stale GPS marked), sortable by any column and filterable by status or text. A click selects
// the unit on the map (panned to, its label ringed). Opened from the header; refreshed whenever units change.
import {qualificationLabel, staffed} from "../crew.js";
import {clock, minutes} from "../format.js";
import {html, render} from "../html.js";
import {defineLabels, t} from "../i18n.js";
import {pageSettings} from "../settings.js";
import {showUnit} from "./map.js";
import {sidePanel} from "./sidepanel.js";
import {on, select, state} from "./store.js";

defineLabels({
  "units.col.agency": {th: "หน่วยงาน", en: "Agency"},
  "units.no_crew": {th: "ไม่มีทีมเข้าเวร", en: "no crew on shift"},
  "units.back_at": {th: "กลับ {time}", en: "back {time}"},
});

const STATUSES = ["available", "assigned", "en_route", "on_scene", "transporting", "at_hospital", "returning", "out_of_service"];
const board = sidePanel("unit-board");
let sortKey = "id", sortDown = false, chosen = null;

function frame() {
  render(board, html`<h3>${t("units.title")}</h3>
    <form class="filters" id="unit-filters"><select name="status"></select><input name="text" type="search"></form>
    <table class="unit-table"><thead><tr>${["id", "agency", "status", "since", "incident", "crew", "position"].map(k => html`
      <th><button type="button" class="plain sort" data-sort="${k}">${t("units.col." + k)}</button></th>`)}</tr></thead>
      <tbody id="unit-rows"></tbody></table>`);
  filters = board.querySelector("#unit-filters");
  rows = board.querySelector("#unit-rows");
  fillFilters();
  filters.addEventListener("input", renderBoard);
  filters.addEventListener("submit", e => e.preventDefault());
}
let filters, rows;

// After a language switch: the board's headings, filters and rows in the new language (filters kept).
export function relabelBoard() {
  const kept = {status: filters.status.value, text: filters.text.value};
  frame();
  filters.status.value = kept.status;
  filters.text.value = kept.text;
  renderBoard();
}

function statusSince_s(unit, now_ms) {
  const since = unit.status_times?.[unit.status];
  return since ? (now_ms - Date.parse(since)) / 1000 : null;
}

function positionAge_s(unit, now_ms) {
  const at = state.positions.get(unit.id)?.at;
  return at ? (now_ms - Date.parse(at)) / 1000 : null;
}

function sortValue(unit, now_ms) {
  switch (sortKey) {
    case "status": return STATUSES.indexOf(unit.status);
    case "since": return statusSince_s(unit, now_ms) ?? -1;
    case "incident": return unit.incident_id ?? -1;
    case "agency": return unit.agency_id || "";
    case "crew": return staffed(unit) ? crewText(unit) : "";
    case "position": return positionAge_s(unit, now_ms) ?? Infinity;
    default: return unit.id;
  }
}

function crewText(unit) {
  return unit.shift ? unit.shift.crew.map(m => `${m.name} (${qualificationLabel(m.qualification)})`).join(", ") : (unit.crew || []).join(", ");
}

export function renderBoard() {
  if (board.hidden) return;
  const now_ms = Date.now(), text = filters.text.value.trim().toLowerCase(), status = filters.status.value;
  const units = [...state.units.values()]
    .filter(u => (!status || u.status === status) &&
                 (!text || [u.id, u.station_name, ...(u.crew || [])].join(" ").toLowerCase().includes(text)))
    .sort((a, b) => {
      const x = sortValue(a, now_ms), y = sortValue(b, now_ms);
      return (x < y ? -1 : x > y ? 1 : 0) * (sortDown ? -1 : 1) || a.id.localeCompare(b.id);
    });
  render(rows, html`${units.map(u => {
    const age = positionAge_s(u, now_ms), stale = age === null || age > pageSettings.stale_position_s;
    return html`<tr data-unit="${u.id}" class="${chosen === u.id ? "selected" : ""}">
      <td><b>${u.id}</b> <span class="muted">${u.capability}</span></td>
      <td class="muted">${u.agency_id || "—"}</td>
      <td><span class="unit-marker unit-${u.status}">${t("unit." + u.status)}</span>${u.out_of_service_reason ? html` <span class="muted">${u.out_of_service_reason}</span>` : ""}${u.back_at ? html` <span class="muted">${t("units.back_at", {time: clock(u.back_at)})}</span>` : ""}</td>
      <td>${minutes(statusSince_s(u, now_ms))}</td>
      <td>${u.incident_id != null ? html`<button type="button" class="plain" data-incident="${u.incident_id}">#${u.incident_id}</button>` : "—"}</td>
      <td class="crew" title="${staffed(u) ? crewText(u) : ""}">${staffed(u) ? crewText(u) || "—" : html`<span class="flag">⚠ ${t("units.no_crew")}</span>`}</td>
      <td class="${stale ? "stale" : ""}">${age === null ? t("units.no_fix") : minutes(age)}${stale ? html` <span class="flag">⚠ ${t("units.stale")}</span>` : ""}</td>
    </tr>`;
  })}`);
}

function fillFilters() {
  render(filters.status, html`<option value="">${t("queue.all_statuses")}</option>${STATUSES.map(s => html`<option value="${s}">${t("unit." + s)}</option>`)}`);
  filters.text.placeholder = t("units.search");
}

frame();
board.addEventListener("click", e => {
  const sort = e.target.closest("button[data-sort]");
  if (sort) {
    sortDown = sortKey === sort.dataset.sort ? !sortDown : false;
    sortKey = sort.dataset.sort;
    return renderBoard();
  }
  const incident = e.target.closest("button[data-incident]");
  if (incident) return select(Number(incident.dataset.incident));
  const row = e.target.closest("tr[data-unit]");
  if (row) { chosen = row.dataset.unit; showUnit(chosen); renderBoard(); }
});
document.querySelector("#units-btn").addEventListener("click", () => { board.hidden = !board.hidden; renderBoard(); });
on("units", renderBoard);
on("unit-chosen", unitId => { chosen = unitId; renderBoard(); });  // a label clicked on the map
setInterval(renderBoard, 5000);  // times in status and position ages move on

// The queue of open incidents, ordered by danger and age: acknowledgements gone overdue pinned on top in red,
// then calls not yet triaged, then red, yellow, green, white; oldest first within each. Each row shows how long
// ago the call came in and, once a unit is sent, how long ago that was (both ticking). Filters (colour, status, channel, agency) and a search narrow it.
// Only the rows in view (and a few either side) are in the page: every row has the same height, so two spacers
// (console.css) stand in for the rows above and below, and 500 open incidents cost what 20 do (all 500 in the page
// made every new call re-lay out and re-observe the whole list: long tasks). Rows are keyed by incident id and
// re-rendered only when their content changed, in one animation frame per burst of events; the row the
// dispatcher is looking at keeps its place on screen and focus stays where it was.
import {api} from "../api.js";
import {clock, minutes} from "../format.js";
import {html, render} from "../html.js";
import {labelOr, local, t} from "../i18n.js";
import {raiseAlarm, showWaiting} from "./alarm.js";
import {CENTRE, colourOf, isOpen, on, overdueIncidents, select, state} from "./store.js";

const ORDER = {red: 1, yellow: 2, green: 3, white: 4};
const STATUSES = ["received", "triaged", "assigned", "acknowledged", "en_route", "on_scene", "transporting", "at_hospital"];
const CHANNELS = ["phone", "sms", "line", "app", "panic", "dispatcher"];
const WAITING = ["received", "triaged"];  // no unit on it yet: counted in the tab title
const UNIT_BUSY = ["assigned", "en_route", "on_scene", "transporting", "at_hospital"];
export const ROW_PX = 58;  // every row's height (console.css: #incident-list li)
const OVERSCAN_ROWS = 6;  // rows kept in the page above and below the view, so a quick scroll shows no gap

const list = document.querySelector("#incident-list");
const filters = document.querySelector("#queue-filters");
const queueCount = document.querySelector("#queue-count");
const rows = new Map();  // incident id → {li, signature, timers}, for the rows in the page only (timers: its [data-since] spans)
const overdueShown = new Set();  // incidents whose overdue alarm has sounded
let agencies = [];  // the registered agencies (GET /api/v1/agencies), for the agency filter
let order = [];  // every row of the queue, in order: {incident, overdue}
// The list's scroll position and height as last seen (scroll events, the resize observer): reading them from the
// list at each render forced a layout of the rows just patched.
const view = {top: 0, height: 0};

export function locationFlags(incident) {
  return (incident.location_flags || []).map(f => html`<div class="flag">⚠ ${t("flag." + f)}</div>`);
}

// Danger first, then age: overdue 0, untriaged 1 (a provisional red from a panic press is still untriaged), then
// calls still waiting for a unit red 2 … white 5, then calls a crew is working on red 6 … white 9 (a red with
// an ambulance on scene is less in danger of being forgotten than a yellow nobody has been sent to).
function rank(incident, overdue) {
  if (overdue.has(incident.id)) return 0;
  if (!incident.triage) return 1;
  return 1 + (ORDER[colourOf(incident)] ?? 5) + (WAITING.includes(incident.status) ? 0 : 4);
}

// Whether every unit sent to a still-open incident has been released (back available, returning or out of
// service): the dispatcher is asked to close it.
export function allUnitsReleased(incident) {
  if (!incident.unit_ids?.length || !["en_route", "on_scene", "transporting", "at_hospital", "acknowledged", "assigned"].includes(incident.status)) return false;
  return incident.unit_ids.every(id => {
    const unit = state.units.get(id);
    return unit && !(unit.incident_id === incident.id && UNIT_BUSY.includes(unit.status));
  });
}

function matches(incident, f) {
  if (f.colour && (f.colour === "none" ? incident.triage : colourOf(incident) !== f.colour)) return false;
  if (f.status && incident.status !== f.status) return false;
  if (f.channel && incident.channel !== f.channel) return false;
  if (f.agency && !servedBy(incident, f.agency)) return false;
  if (f.text) {
    const hay = [`#${incident.id}`, incident.chief_complaint, incident.address,
                 ...(incident.callers || []).flatMap(c => [c.phone, c.name])].filter(Boolean).join(" ").toLowerCase();
    if (!hay.includes(f.text)) return false;
  }
  return true;
}

// Whether a unit of `agency` has been sent to the incident (an incident belongs to no agency itself: the agencies
// whose units work it).
function servedBy(incident, agency) {
  return (incident.unit_ids || []).some(id => (state.units.get(id)?.agency_id || CENTRE) === agency);
}

function currentFilters() {
  return {colour: filters.colour.value, status: filters.status.value, channel: filters.channel.value,
          agency: filters.agency.value, text: filters.text.value.trim().toLowerCase()};
}

// Two lines of one fixed height (ROW_PX): what and who, then the flags first and the status, time and channel.
function rowHtml(incident, overdue, released) {
  const colour = colourOf(incident) || "none", sentAt = dispatchedAt(incident);
  return html`<div class="incident-row">
      <span class="badge colour-${colour}">${incident.triage?.code || (incident.triage ? t(`colour.${colour}`) : t("queue.untriaged"))}</span>
      <div class="what"><div class="line"><b>#${incident.id}</b> ${incident.chief_complaint || incident.address || ""}</div>
        <div class="line muted">${overdue ? html`<span class="flag overdue-flag">◷ ${t("queue.overdue")}</span> ` : ""}${
          released ? html`<span class="flag released-flag">✔ ${t("closeout.released")}</span> ` : ""}${
          (incident.location_flags || []).map(f => html`<span class="flag">⚠ ${t("flag." + f)}</span> `)}${
          t("status." + incident.status)} · ${clock(incident.reported_at)} · ${labelOr("channel." + incident.channel, incident.channel)}</div>
      </div>
      <div class="timers"><span class="elapsed" data-since="${Date.parse(incident.reported_at)}">${minutes((Date.now() - Date.parse(incident.reported_at)) / 1000)}</span>${
        sentAt ? html`<span class="dispatch-elapsed">${t("queue.since_dispatch")} <span data-since="${sentAt}">${minutes((Date.now() - sentAt) / 1000)}</span></span>` : ""}</div>
    </div>`;
}

// When the first unit was sent (ms), for the row's second timer; none before a unit is sent.
function dispatchedAt(incident) {
  const at = incident.status_times?.assigned;
  return at ? Date.parse(at) : null;
}

function signature(incident, overdue, released) {
  return [incident.status, dispatchedAt(incident), colourOf(incident), incident.triage?.code, incident.chief_complaint, incident.address,
          incident.channel, (incident.location_flags || []).join(), overdue, released, state.selected === incident.id].join("|");
}

// When each incident was reported, parsed once per incident object (an incident that changes is a new object).
const reportedMs = new WeakMap();
function reportedAt(incident) {
  let at = reportedMs.get(incident);
  if (at === undefined) { at = Date.parse(incident.reported_at); reportedMs.set(incident, at); }
  return at;
}

function queueRow(incident, overdue) {
  const r = rank(incident, overdue);
  return {incident, overdue: r === 0, rank: r, at: reportedAt(incident)};
}

function before(a, b) {
  return a.rank - b.rank || a.at - b.at || a.incident.id - b.incident.id;
}

function shownFilter() {
  const f = currentFilters();
  return f.colour || f.status || f.channel || f.agency || f.text ? incident => matches(incident, f) : () => true;
}

// Every row of the queue in order, sorted afresh (the filters, the overdue set or many incidents changed).
function ordered(now_ms) {
  const overdue = overdueIncidents(now_ms), shown = shownFilter();
  const rows = [];
  for (const incident of state.incidents.values()) if (isOpen(incident) && shown(incident)) rows.push(queueRow(incident, overdue));
  return rows.sort(before);
}

// The queue with only these incidents changed: each one's row taken out and put back where it now belongs (a new
// call or a status change at 5 a second re-sorted every open incident for each).
function reordered(ids, now_ms) {
  const overdue = overdueIncidents(now_ms), shown = shownFilter();
  for (const id of ids) {
    const at = order.findIndex(row => row.incident.id === id);
    if (at >= 0) order.splice(at, 1);
    const incident = state.incidents.get(id);
    if (!incident || !isOpen(incident) || !shown(incident)) continue;
    const row = queueRow(incident, overdue);
    let lo = 0, hi = order.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (before(order[mid], row) < 0) lo = mid + 1; else hi = mid; }
    order.splice(lo, 0, row);
  }
  return order;
}

let frame = null, resort = false;
const changed = new Set();  // incidents changed since the last render (when no full re-sort is due)
// Schedules one re-render for the next animation frame however many changes arrive before it: a full re-sort, or
// (`incident` given) that incident's row moved to its place.
export function renderQueue(incident) {
  if (incident?.id != null) changed.add(incident.id); else resort = true;
  if (!frame) frame = requestAnimationFrame(() => draw(resort));
}

// Re-renders at once, sorting every row afresh.
export function renderNow() {
  draw(true);
}

function draw(fullSort) {
  if (frame) cancelAnimationFrame(frame);
  frame = null;
  const anchor = scrollAnchor(), now_ms = Date.now();
  order = fullSort ? ordered(now_ms) : reordered(changed, now_ms);
  resort = false;
  changed.clear();
  let open = 0, waiting = 0;
  for (const incident of state.incidents.values()) {
    if (isOpen(incident)) { open += 1; if (WAITING.includes(incident.status)) waiting += 1; }
  }
  restoreScroll(anchor);
  drawWindow();
  if (list.dataset.rows !== String(order.length)) list.dataset.rows = order.length;  // the whole queue is known (the console bench waits for it)
  const count = `${order.length} / ${open}`;
  if (queueCount.textContent !== count) queueCount.textContent = count;
  showWaiting(waiting);
}

// The rows in view (plus OVERSCAN_ROWS either side) into the page, in order; the spacers stand in for the
// rest. Rows that stay are patched in place (only when their content changed) and moved as little as possible.
function drawWindow() {
  const first = Math.max(0, Math.floor(view.top / ROW_PX) - OVERSCAN_ROWS);
  const last = Math.min(order.length, Math.ceil((view.top + view.height) / ROW_PX) + OVERSCAN_ROWS);
  const focused = list.contains(document.activeElement) ? document.activeElement : null;
  const shown = order.slice(first, last);
  const keep = new Set();
  const now_ms = Date.now();
  for (const {incident, overdue} of shown) {
    const released = allUnitsReleased(incident);
    const sig = signature(incident, overdue, released);
    let row = rows.get(incident.id);
    if (!row) {
      const li = document.createElement("li");
      li.dataset.id = incident.id;
      li.tabIndex = -1;
      row = {li, signature: null, timers: []};
      rows.set(incident.id, row);
    }
    if (row.signature !== sig) {
      render(row.li, rowHtml(incident, overdue, released));
      row.li.className = [state.selected === incident.id ? "selected" : "", overdue ? "overdue" : "",
                          `row-${colourOf(incident) || "none"}`].join(" ");
      row.signature = sig;
      row.timers = [...row.li.querySelectorAll("[data-since]")];
    } else tickRow(row, now_ms);
    keep.add(incident.id);
  }
  for (const [id, row] of rows) {
    if (keep.has(id)) continue;
    row.li.remove();
    rows.delete(id);
  }
  setSpacer("--rows-above", first * ROW_PX);
  setSpacer("--rows-below", (order.length - last) * ROW_PX);
  placeRows(shown.map(({incident}) => rows.get(incident.id).li));
  if (focused && document.activeElement !== focused && focused.isConnected) focused.focus({preventScroll: true});
}

// A spacer's height, written only when it changed (each write restyles the list).
const spacers = {};
function setSpacer(name, px) {
  if (spacers[name] === px) return;
  spacers[name] = px;
  list.style.setProperty(name, `${px}px`);
}

let scrollFrame = null;
list.addEventListener("scroll", () => {
  view.top = list.scrollTop;
  if (!scrollFrame) scrollFrame = requestAnimationFrame(() => { scrollFrame = null; drawWindow(); });
}, {passive: true});
new ResizeObserver(entries => { view.height = entries[0].contentRect.height; drawWindow(); }).observe(list);

function scrollTo(top) {
  list.scrollTop = top;
  view.top = list.scrollTop;  // clamped by the browser
}

// Puts the rows in `wanted` order moving as few as possible: the longest run already in the right relative order
// stays, every other row (new, or whose rank changed) is moved next to its new neighbour. A call that moves from
// the top to the middle is one move, not one per row in between.
function placeRows(wanted) {
  const position = new Map(wanted.map((li, n) => [li, n]));
  const stay = longestOrderedRun([...list.children].filter(li => position.has(li)), position);
  let previous = null;
  for (const li of wanted) {
    if (!stay.has(li)) {
      if (previous) previous.after(li); else list.prepend(li);
    }
    previous = li;
  }
}

// The longest subsequence of `current` whose wanted positions increase (patience sorting, n log n), as a set.
function longestOrderedRun(current, position) {
  const tails = [], tailIndex = [], before = new Array(current.length);
  current.forEach((li, i) => {
    const p = position.get(li);
    let lo = 0, hi = tails.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (tails[mid] < p) lo = mid + 1; else hi = mid; }
    tails[lo] = p;
    tailIndex[lo] = i;
    before[i] = lo > 0 ? tailIndex[lo - 1] : -1;
  });
  const stay = new Set();
  for (let i = tailIndex[tails.length - 1] ?? -1; i >= 0; i = before[i]) stay.add(current[i]);
  return stay;
}

// The first row in view and its distance from the list's top edge (rows have one height: no layout is read); at
// the very top the list stays at the top (new dangerous calls come in there).
function scrollAnchor() {
  if (view.top < 4 || !order.length) return null;
  const index = Math.min(order.length - 1, Math.floor(view.top / ROW_PX));
  return {id: order[index].incident.id, offset: index * ROW_PX - view.top};
}

function restoreScroll(anchor) {
  if (!anchor) return;
  const index = order.findIndex(row => row.incident.id === anchor.id);
  if (index < 0) return;
  setSpacer("--rows-below", order.length * ROW_PX);  // room to scroll to before the rows are drawn
  scrollTo(index * ROW_PX - anchor.offset);
}

// Brings the selected incident's row into view (J/K walk past the rows in the page).
function revealSelected() {
  const index = order.findIndex(row => row.incident.id === state.selected);
  if (index < 0) return;
  const top = index * ROW_PX;
  if (top < view.top) scrollTo(top);
  else if (top + ROW_PX > view.top + view.height) scrollTo(top + ROW_PX - view.height);
}

// The ids in the order the queue shows them (the J/K shortcuts walk it).
export function queuedIds() {
  return order.map(row => row.incident.id);
}

// Every second: the waiting times tick, and an acknowledgement that has just gone overdue sounds and moves its
// row to the top.
function tickRow(row, now_ms) {
  for (const span of row.timers) {
    const text = minutes((now_ms - Number(span.dataset.since)) / 1000);
    if (span.textContent !== text) span.textContent = text;  // unchanged text is not re-laid out
  }
}

function tick() {
  const now_ms = Date.now();
  for (const row of rows.values()) tickRow(row, now_ms);
  const overdueNow = overdueIncidents(now_ms);
  let moved = false;
  for (const incident of state.incidents.values()) {
    if (!isOpen(incident)) continue;
    const overdue = overdueNow.has(incident.id);
    if (overdue && !overdueShown.has(incident.id)) {
      overdueShown.add(incident.id);
      raiseAlarm("overdue", "critical", `#${incident.id} ${t("queue.overdue")}`);
      moved = true;
    } else if (!overdue && overdueShown.delete(incident.id)) moved = true;
  }
  if (moved) renderQueue();
}
setInterval(tick, 1000);

function fillFilters() {
  const option = (value, label) => html`<option value="${value}">${label}</option>`;
  const keep = currentFilters();
  render(filters.colour, html`${option("", t("queue.all_colours"))}${option("none", t("queue.untriaged"))}${
    ["red", "yellow", "green", "white"].map(c => option(c, t("colour." + c)))}`);
  render(filters.status, html`${option("", t("queue.all_statuses"))}${STATUSES.map(s => option(s, t("status." + s)))}`);
  render(filters.channel, html`${option("", t("queue.all_channels"))}${CHANNELS.map(c => option(c, t("channel." + c)))}`);
  render(filters.agency, html`${option("", t("queue.all_agencies"))}${agencies.map(a => option(a.id, local(a, "name")))}`);
  filters.colour.value = keep.colour; filters.status.value = keep.status; filters.channel.value = keep.channel;
  filters.agency.value = keep.agency;
  filters.text.placeholder = t("queue.search");
}

// After a language switch every row is re-rendered.
export function relabelQueue() {
  fillFilters();
  for (const row of rows.values()) row.signature = null;
  renderNow();
}

fillFilters();
api("GET", "/api/v1/agencies").then(body => { agencies = body.agencies; fillFilters(); }).catch(() => {});  // the filter offers none
filters.addEventListener("input", () => renderNow());
filters.addEventListener("submit", e => e.preventDefault());
list.addEventListener("click", e => {
  const li = e.target.closest("li[data-id]");
  if (li) select(Number(li.dataset.id));
});

on("select", () => { renderNow(); revealSelected(); });
on("incident", renderQueue);
on("incidents", () => renderQueue());
on("awaiting", () => renderQueue());
on("units", () => renderQueue());

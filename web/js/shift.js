// The crew's shift on the tablet (issue #19): who is on board with their qualifications, and log on / log off.
// A unit whose crew has logged off is not offered to dispatchers until a crew logs on again. Shown while the unit
// has no job (a crew cannot log off in the middle of one: the server refuses it); the tablet says when (showShift),
// since the staffing list does not carry the unit's incident.
import {api, errorText} from "./api.js";
import {qualificationLabel, staffed} from "./crew.js";
import {clock} from "./format.js";
import {html, render} from "./html.js";
import {defineLabels, t} from "./i18n.js";

defineLabels({
  "shift.title": {th: "เข้าเวร", en: "Shift"},
  "shift.on_board": {th: "ทีมบนรถตั้งแต่ {time}", en: "On board since {time}"},
  "shift.off": {th: "ไม่มีทีมเข้าเวร — ศูนย์จะไม่สั่งรถคันนี้", en: "No crew on shift — dispatchers will not be offered this unit"},
  "shift.name": {th: "ชื่อ-สกุล", en: "Name"},
  "shift.qualification": {th: "คุณวุฒิ (เช่น EMT-B, พยาบาล, พนักงานขับรถ)", en: "Qualification (e.g. EMT-B, nurse, driver)"},
  "shift.log_on": {th: "เข้าเวร", en: "Log on"},
  "shift.log_off": {th: "ออกเวร", en: "Log off"},
  "shift.more": {th: "เพิ่มคน", en: "Add a person"},
});

const panel = document.createElement("section");
panel.className = "panel";
panel.id = "shift-panel";
panel.hidden = true;  // until the unit's shift is known
document.querySelector("#idle").after(panel);
let unit = null, rows = 2, shown = false;

function memberInputs(n) {
  return html`<div class="shift-member"><input name="name-${n}" maxlength="100" placeholder="${t("shift.name")}">
    <input name="qualification-${n}" maxlength="100" placeholder="${t("shift.qualification")}"></div>`;
}

export function renderShift() {
  panel.hidden = !unit || !shown;
  if (!unit) return;
  const typed = keepTyping();
  render(panel, html`<h3>${t("shift.title")}</h3>${unit.shift ? html`
      <p class="muted">${t("shift.on_board", {time: clock(unit.shift.started_at)})}</p>
      <ul class="list" id="shift-crew">${unit.shift.crew.map(m => html`<li>${m.name} · ${qualificationLabel(m.qualification)}</li>`)}</ul>
      <button type="button" class="big warn" id="log-off">${t("shift.log_off")}</button>` : html`
      ${staffed(unit) ? "" : html`<p class="flag">⚠ ${t("shift.off")}</p>`}
      <form id="log-on">${Array.from({length: rows}, (_, n) => memberInputs(n))}
        <button type="button" class="plain" id="more-crew">${t("shift.more")}</button>
        <button class="big primary">${t("shift.log_on")}</button></form>`}
    <p class="error" id="shift-error"></p>`);
  typed();
}

// Any live event redraws the panel: what the crew has typed into the log-on form, and where, stays as it was.
function keepTyping() {
  const values = [...panel.querySelectorAll("#log-on input")].map(input => [input.name, input.value]);
  const focused = panel.contains(document.activeElement) ? document.activeElement.name : null;
  return () => {
    for (const [name, value] of values) {
      const input = panel.querySelector(`#log-on input[name="${name}"]`);
      if (input) input.value = value;
    }
    if (focused) panel.querySelector(`#log-on input[name="${focused}"]`)?.focus();
  };
}

// The tablet shows the panel only while it knows its unit has no job (not before it knows, not during one).
export function showShift(show) {
  shown = show;
  panel.hidden = !unit || !shown;
}

export async function loadShift() {
  try {
    unit = (await api("GET", "/api/v1/shifts")).units[0] || null;
  } catch (e) { return; }  // offline: keep what is shown
  renderShift();
}

async function act(request) {
  try {
    await request();
    rows = 2;
    await loadShift();
  } catch (e) { panel.querySelector("#shift-error").textContent = errorText(e); }
}

panel.addEventListener("click", e => {
  if (e.target.id === "more-crew") { rows += 1; renderShift(); }
  if (e.target.id === "log-off") act(() => api("DELETE", `/api/v1/shifts/${encodeURIComponent(unit.id)}`));
});

panel.addEventListener("submit", e => {
  e.preventDefault();
  const form = e.target, crew = [];
  for (let n = 0; n < rows; n++) {
    const name = form[`name-${n}`].value.trim(), qualification = form[`qualification-${n}`].value.trim();
    if (name || qualification) crew.push({name, qualification});
  }
  act(() => api("POST", "/api/v1/shifts", {unit_id: unit.id, crew}));
});

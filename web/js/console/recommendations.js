// Units ranked by road ETA for the capability the incident needs, with the reason; Assign (or the A shortcut)
// sends the unit. A unit whose ETA is only a straight-line estimate carries the warning and needs a second press.
import {api} from "../api.js";
import {confirmOutsideCoverage, warningBadge} from "../eta.js";
import {html, render} from "../html.js";
import {local, t} from "../i18n.js";
import {pageSettings} from "../settings.js";
import {inTurn} from "./store.js";

const SHORT_LIST = 3;  // the rest behind "show all": the panel must still show assignments and hospitals

const turn = inTurn();
export async function loadRecommendations(id) {
  const box = document.querySelector("#recommendations"), answered = turn();
  try {
    const body = await api("GET", `/api/v1/incidents/${id}/recommendations`);
    if (!answered()) return;
    const items = body.recommendations || [];
    render(box, items.length ? html`${items.map((r, n) => html`
      <div class="rec" ${n >= SHORT_LIST ? html`hidden` : ""} data-recommendation="${r.unit_id}"><div><b>${r.call_sign || r.unit_id}</b> ${r.capability || ""}
        ${warningBadge(r)}
        <div class="muted">${local(r, "why")}</div></div>
        <button class="primary" data-unit="${r.unit_id}">${t("console.assign")}${n === 0 ? html` <kbd>A</kbd>` : ""}</button></div>`)}
      ${items.length > SHORT_LIST ? html`<button id="all-units" class="plain">${t("console.all_units", {n: items.length})}</button>` : ""}`
      : html`<span class="muted">—</span>`);
    box.querySelector("#all-units")?.addEventListener("click", e => {
      box.querySelectorAll(".rec[hidden]").forEach(r => { r.hidden = false; });
      e.target.remove();
    });
    const byUnit = new Map(items.map(r => [r.unit_id, r]));
    box.querySelectorAll("button[data-unit]").forEach(b => confirmOutsideCoverage(
      b, byUnit.get(b.dataset.unit), () => assign(id, b.dataset.unit), `unit:${id}:${b.dataset.unit}`));
  } catch (e) {
    box.textContent = e.status === 404 ? "—" : e.message;
  }
}

// A second assignment to the same incident within pageSettings.repeat_assignment_s (A pressed twice, a double
// click) asks first: the dispatcher confirms that a further unit is really wanted.
const lastAssigned = new Map();  // incident id → {at_ms, unit_id}

async function assign(incidentId, unitId) {
  const last = lastAssigned.get(incidentId);
  if (last && Date.now() - last.at_ms < pageSettings.repeat_assignment_s * 1000 && !confirm(t("assign.confirm_second", {unit: last.unit_id, next: unitId}))) return;
  lastAssigned.set(incidentId, {at_ms: Date.now(), unit_id: unitId});
  try {
    await api("POST", `/api/v1/incidents/${incidentId}/assignments`, {unit_id: unitId});
  } catch (e) {
    alert(e.message);
  }
}

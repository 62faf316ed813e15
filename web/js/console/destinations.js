// Destination hospitals for the incident by road ETA, capability, diversion and beds; choosing one alerts that ED.
import {api} from "../api.js";
import {confirmOutsideCoverage, warningBadge} from "../eta.js";
import {html, render} from "../html.js";
import {local, t} from "../i18n.js";
import {inTurn, putIncident} from "./store.js";

const SHOWN = 4;  // the best few; the chosen one is always listed

const turn = inTurn();
export async function loadDestinations(incident) {
  const box = document.querySelector("#destinations"), answered = turn();
  try {
    const body = await api("GET", `/api/v1/incidents/${incident.id}/destinations`);
    if (!answered()) return;
    const shown = body.destinations.filter((d, n) => n < SHOWN || d.hospital_id === incident.destination_hospital_id);
    const edState = incident.hospital_acknowledged_at ? `✓ ${t("destination.ed_acknowledged")}` : t("destination.ed_alerted");
    render(box, shown.length ? html`${shown.map((d, n) => {
      const chosen = d.hospital_id === incident.destination_hospital_id;
      return html`<div class="rec ${chosen ? "chosen" : ""}" data-destination="${d.hospital_id}"><div>
          <b>${local(d, "name")}</b> ${n === 0 ? html`<span class="badge colour-green">${t("destination.best")}</span>` : ""}
          ${d.diversion ? html`<span class="badge colour-red">${t("hospital.diversion")}</span>` : ""}
          ${warningBadge(d)}
          <div class="muted">${local(d, "why")}</div>${chosen ? html`<div><b>${edState}</b></div>` : ""}</div>
        ${chosen ? html`<b>✓ ${t("destination.chosen")}</b>`
                 : html`<button class="primary" data-hospital="${d.hospital_id}">${t("destination.send")}${n === 0 ? html` <kbd>D</kbd>` : ""}</button>`}
      </div>`;
    })}` : html`—`);
    const byId = new Map(shown.map(d => [d.hospital_id, d]));
    box.querySelectorAll("button[data-hospital]").forEach(b => confirmOutsideCoverage(
      b, byId.get(b.dataset.hospital), () => chooseDestination(incident.id, b.dataset.hospital),
      `destination:${incident.id}:${b.dataset.hospital}`));
  } catch (e) { box.textContent = e.status === 409 ? t("destination.no_location") : "—"; }
}

async function chooseDestination(incidentId, hospitalId) {
  try {
    putIncident(await api("POST", `/api/v1/incidents/${incidentId}/destinations`, {hospital_id: hospitalId}));
  } catch (e) { alert(e.message); }
}

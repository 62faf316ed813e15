// Thai Criteria Based Dispatch in the incident panel: pick the card (group), then the determinant that fits;
// the server derives colour, level and code.
import {api} from "../api.js";
import {html, render} from "../html.js";
import {local} from "../i18n.js";
import {putIncident} from "./store.js";

let cards = [];
api("GET", "/api/v1/triage/cards").then(body => { cards = body.groups; }).catch(() => {});

// The group selector's options, the incident's group selected.
export function groupOptions(incident) {
  return html`<option value="">—</option>${cards.map(c => html`<option value="${c.group}" ${
    incident.triage && incident.triage.group === c.group ? html`selected` : ""}>${c.group}. ${local(c, "name")}</option>`)}`;
}

export function renderCard(incident, group) {
  const box = document.querySelector("#cbd-card");
  const card = cards.find(c => c.group === group);
  if (!card) { render(box, html``); return; }
  render(box, html`
    <ul class="muted">${card.questions.map(q => html`<li>${local(q)}</li>`)}</ul>
    ${card.determinants.map((d, i) => html`<button class="badge determinant colour-${d.colour}" data-determinant="${i + 1}">
      ${local(d)} · ${d.capability}</button>`)}`);
  box.querySelectorAll("button[data-determinant]").forEach(b => b.addEventListener("click", async () => {
    try {
      putIncident(await api("POST", `/api/v1/incidents/${incident.id}/triage`, {group, determinant: Number(b.dataset.determinant)}));
    } catch (e) { alert(e.message); }
  }));
}

// The queue of open incidents, red first, then by time reported; a click selects one.
import {clock} from "../format.js";
import {html, render} from "../html.js";
import {t} from "../i18n.js";
import {colourOf, isOpen, on, select, state} from "./store.js";

const ORDER = {red: 0, yellow: 1, green: 2, white: 3};
const list = document.querySelector("#incident-list");

export function locationFlags(incident) {
  return (incident.location_flags || []).map(f => html`<div class="flag">⚠ ${t("flag." + f)}</div>`);
}

export function renderQueue() {
  const incidents = [...state.incidents.values()].filter(isOpen)
    .sort((a, b) => (ORDER[colourOf(a)] ?? 4) - (ORDER[colourOf(b)] ?? 4) || a.reported_at.localeCompare(b.reported_at));
  render(list, html`${incidents.map(i => html`
    <li data-id="${i.id}" class="${state.selected === i.id ? "selected" : ""}">
      <div class="incident-row">
        <span class="badge colour-${colourOf(i) || "none"}">${i.triage?.code || "?"}</span>
        <div class="what"><b>#${i.id}</b> ${i.chief_complaint || i.address || ""}
          <div class="muted">${t("status." + i.status)} · ${clock(i.reported_at)} · ${i.channel}</div>
          ${locationFlags(i)}
        </div>
      </div>
    </li>`)}`);
  list.querySelectorAll("li").forEach(li => li.addEventListener("click", () => select(Number(li.dataset.id))));
}

// The ids in the order the queue shows them (the J/K shortcuts walk it).
export function queuedIds() {
  return [...list.querySelectorAll("li")].map(li => Number(li.dataset.id));
}

on("select", renderQueue);
on("incident", renderQueue);
on("incidents", renderQueue);

// Possible repeat calls about the same emergency: merge into one, or mark as not the same.
import {api} from "../api.js";
import {html, render} from "../html.js";
import {labelOr, t} from "../i18n.js";
import {askFirst} from "./confirm.js";
import {inTurn, select} from "./store.js";

const turn = inTurn();
export async function loadDuplicates(id) {
  const box = document.querySelector("#duplicates"), answered = turn();
  try {
    const body = await api("GET", `/api/v1/incidents/${id}/duplicates`);
    if (!answered()) return;
    render(box, body.duplicates.length ? html`${body.duplicates.map(d => html`
      <div class="rec block"><b>#${d.incident_id}</b> · ${labelOr("channel." + d.channel, d.channel)} · ${
          t("duplicate.apart", {m: Math.round(d.distance_m), min: d.minutes_apart})}
        <div class="muted">${d.chief_complaint || ""}</div>
        <button class="primary" data-merge="${d.incident_id}">${t("console.merge")} #${d.incident_id}</button>
        <button class="plain" data-apart="${d.incident_id}">${t("console.keep_apart")}</button></div>`)}` : html`—`);
    box.querySelectorAll("button[data-merge]").forEach(b => askFirst(b, {  // a merge closes this incident
      confirmText: () => t("confirm.merge", {id: b.dataset.merge}),
      action: async () => {
        await api("POST", `/api/v1/incidents/${id}/merge`, {into_incident_id: Number(b.dataset.merge)});
        select(Number(b.dataset.merge));
      },
    }));
    box.querySelectorAll("button[data-apart]").forEach(b => b.addEventListener("click", async () => {
      await api("POST", `/api/v1/incidents/${id}/keep-apart`, {other_incident_id: Number(b.dataset.apart)});
      loadDuplicates(id);
    }));
  } catch (e) { box.textContent = "—"; }
}

// Close-out of the selected incident: close (a crew dealt with it) or cancel (no crew needed) with a disposition
// code and a note. The press only arms the button; a second press sends it (confirm.js: a destructive move asks
// first). When every unit sent has been released the section opens by itself and says so.
import {api} from "../api.js";
import {html, render} from "../html.js";
import {t} from "../i18n.js";
import {askFirst} from "./confirm.js";
import {allUnitsReleased} from "./queue.js";
import {putIncident} from "./store.js";

// The codes the server accepts (dispatch.lifecycle.DISPOSITIONS), per target status.
const DISPOSITIONS = {
  closed: ["treated_transported", "treated_on_scene", "refused_transport", "dead_on_arrival", "no_patient_found",
           "transferred_other_agency", "other"],
  cancelled: ["cancelled_by_caller", "duplicate", "false_alarm", "no_patient_found", "transferred_other_agency", "other"],
};
const CLOSABLE = ["on_scene", "at_hospital"];  // dispatch.lifecycle.NEXT: where closed may follow
const CANCELLABLE = ["received", "triaged", "assigned", "acknowledged", "en_route"];

export function closeoutHtml(incident) {
  const target = CLOSABLE.includes(incident.status) ? "closed" : CANCELLABLE.includes(incident.status) ? "cancelled" : null;
  if (!target) return html``;
  const released = allUnitsReleased(incident);
  return html`<details id="closeout" class="closeout" ${released ? html`open` : ""} data-target="${target}">
    <summary>${t(target === "closed" ? "closeout.close_title" : "closeout.cancel_title")}</summary>
    ${released ? html`<p class="flag">✔ ${t("closeout.released_prompt")}</p>` : ""}
    <label>${t("closeout.disposition")}</label>
    <select name="disposition"><option value="">—</option>${DISPOSITIONS[target].map(d => html`<option value="${d}">${t("disposition." + d)}</option>`)}</select>
    <label>${t("closeout.note")}</label><textarea name="note" rows="2" maxlength="500"></textarea>
    <p class="error" id="closeout-error"></p>
    <button type="button" class="stop" id="closeout-btn">${t(target === "closed" ? "closeout.close" : "closeout.cancel")}</button>
  </details>`;
}

export function wireCloseout(incident) {
  const box = document.querySelector("#closeout");
  if (!box) return;
  const error = box.querySelector("#closeout-error"), choice = box.querySelector("select[name=disposition]");
  askFirst(box.querySelector("#closeout-btn"), {
    ready: () => {
      error.textContent = choice.value ? "" : t("closeout.need_disposition");
      return Boolean(choice.value);
    },
    confirmText: () => t("closeout.confirm", {what: t("disposition." + choice.value)}),
    action: async () => {
      try {
        putIncident(await api("POST", `/api/v1/incidents/${incident.id}/status`, {
          status: box.dataset.target, disposition: choice.value,
          reason: box.querySelector("textarea[name=note]").value.trim() || null}));
      } catch (e) { error.textContent = e.message; }
    },
  });
}

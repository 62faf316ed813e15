// What the call-taker keeps typing once the call's incident exists (the caller's name and phone, the chief
// complaint, the address, the channel) is saved with PATCH /api/v1/incidents/{id}: after a short pause in typing,
// at once on leaving a field or on Enter. Only the fields the dispatcher touched are sent, with their current text
// (the server writes only what differs). An edit that did not reach the server stays pending for its incident, even
// after the form closes or the next call starts, and is retried (sooner with the "retry" button) until it is saved;
// a refusal the server means (bad field, closed incident) is shown, and the text stays in the form. The refusal
// also stays on the incident's panel (refusedHtml, panel.js) with the refused text to correct and save again, or
// to discard: the form may close before the answer comes, and an edit must not be lost unseen.
import {api, errorText, fieldName} from "../api.js";
import {html} from "../html.js";
import {t} from "../i18n.js";
import {emit, putIncident, state} from "./store.js";

const DEBOUNCE_MS = 600;  // a save per pause in typing, not per keystroke
const RETRY_FIRST_MS = 1000;  // then doubled per failure, up to RETRY_MAX_MS: a network blip heals quickly
const RETRY_MAX_MS = 15000;
const FIELDS = {caller_name: ["caller", "name"], caller_phone: ["caller", "phone"], chief_complaint: ["chief_complaint"],
                address: ["address"], channel: ["channel"]};  // form field → where it goes in the PATCH body
const MAX_LENGTH = {caller_name: 200, caller_phone: 32, chief_complaint: 2000, address: 500};  // the server's
// (dispatch/intake.py MAX_TEXT), as on the form's boxes

// Refused edits by incident id: {body (the PATCH refused), error}, until corrected and saved, or discarded.
const refused = new Map();

function refuse(id, body, error) {
  refused.set(id, {body, error});
  const incident = state.incidents.get(id);
  if (incident) emit("incident", incident);  // the panel shows it
}

// A save of `body` went through: the refusal of the same fields is over.
function accepted(id, body) {
  const r = refused.get(id);
  if (!r || !Object.keys(body).some(key => key in r.body)) return;
  refused.delete(id);
  const incident = state.incidents.get(id);
  if (incident) emit("incident", incident);
}

// What the panel's signature takes of the refusal (a redraw when it comes or goes).
export function refusalKey(id) {
  const r = refused.get(id);
  return r ? [r.body, errorText(r.error)] : null;
}

// The refused edit on the incident's panel: why, and each refused field's text to correct.
export function refusedHtml(incident) {
  const r = refused.get(incident.id);
  if (!r) return "";
  const rows = Object.entries(FIELDS).filter(([, [key, sub]]) => (sub ? r.body[key]?.[sub] : r.body[key]) !== undefined)
    .map(([name, [key, sub]]) => {
      const value = r.draft?.[name] ?? (sub ? r.body[key][sub] : r.body[key]);
      const label = fieldName(sub ? `${key}.${sub}` : key);
      return name === "channel" ? "" : html`<label>${label}</label>${name === "chief_complaint"
        ? html`<textarea name="${name}" rows="3" maxlength="${MAX_LENGTH[name]}">${value}</textarea>`
        : html`<input name="${name}" maxlength="${MAX_LENGTH[name]}" value="${value}">`}`;
    });
  return html`<form id="details-refused" class="error" role="alert"><b>${t("details.refused_here")}</b>
    <div>${errorText(r.error)}</div>${rows}
    <button class="primary" type="submit">${t("details.save")}</button>
    <button type="button" class="plain" data-action="discard">${t("details.discard")}</button></form>`;
}

// The panel's form: save the corrected text (a new refusal replaces the old), or discard the edit.
document.querySelector("#incident-panel")?.addEventListener("submit", async event => {
  if (event.target.id !== "details-refused") return;
  event.preventDefault();
  const id = state.selected, r = refused.get(id);
  if (!r) return;
  const body = structuredClone(r.body);
  for (const [name, [key, sub]] of Object.entries(FIELDS)) {
    const box = event.target.elements[name];
    if (!box) continue;
    if (sub) body[key][sub] = box.value.trim();
    else body[key] = box.value.trim();
  }
  try {
    putIncident(await api("PATCH", `/api/v1/incidents/${id}`, body));
    accepted(id, body);
  } catch (e) {
    refuse(id, body, e);
  }
});
// What the dispatcher types into it is kept across the panel's redraws (a live event redraws it).
document.querySelector("#incident-panel")?.addEventListener("input", event => {
  const r = refused.get(state.selected);
  if (r && event.target.closest("#details-refused") && event.target.name in FIELDS) {
    (r.draft ||= {})[event.target.name] = event.target.value;
  }
});
document.querySelector("#incident-panel")?.addEventListener("click", event => {
  if (event.target.dataset?.action !== "discard" || !event.target.closest("#details-refused")) return;
  const incident = state.incidents.get(state.selected);
  refused.delete(state.selected);
  if (incident) emit("incident", incident);
});

// Wires the new-call `form`; `incidentId()` gives the current call's incident (null until it exists). Returns
// {startCall() (a new call: forget what was touched), created() (the incident now exists: save what was typed)}.
export function wireDetails({form, incidentId}) {
  const status = document.createElement("p");
  status.id = "details-status";
  status.className = "muted";
  status.setAttribute("aria-live", "polite");
  form.querySelector("#new-incident-error").before(status);
  const retryButton = document.createElement("button");
  retryButton.type = "button";
  retryButton.id = "details-retry";
  retryButton.hidden = true;
  retryButton.dataset.t = "details.retry";
  retryButton.textContent = t("details.retry");

  let touched = new Set();  // the current call's fields typed into since they were last queued
  const pending = new Map();  // incident id → the PATCH body not saved yet (merged as edits arrive)
  const sending = new Set();  // incident ids with a PATCH in flight
  let timer = null, retryTimer = null, retryMs = RETRY_FIRST_MS, shownState = null;

  function show(state, detail = "") {
    shownState = state;
    status.replaceChildren();
    status.className = state === "unsaved" || state === "refused" ? "error" : "muted";
    retryButton.hidden = state !== "unsaved";
    if (!state) return;
    const label = document.createElement("span");
    label.dataset.t = `details.${state}`;  // relabelled by the page's language switch
    label.textContent = t(label.dataset.t);
    status.append(label, detail ? ` · ${detail}` : "");
    if (!retryButton.hidden) status.append(" ", retryButton);
  }

  function queue() {
    const id = incidentId();
    if (id == null || !touched.size) return;
    const body = structuredClone(pending.get(id) || {});
    for (const name of touched) {
      const [key, sub] = FIELDS[name];
      const value = form[name].value.trim();
      if (sub) (body[key] ||= {})[sub] = value;
      else body[key] = value;
    }
    touched = new Set();
    pending.set(id, body);
  }

  async function send(id) {
    if (sending.has(id) || !pending.has(id)) return;
    const body = pending.get(id);
    sending.add(id);
    show("saving");
    try {
      const incident = await api("PATCH", `/api/v1/incidents/${id}`, body);
      if (pending.get(id) === body) pending.delete(id);  // else newer edits came meanwhile: they go next
      putIncident(incident);
      accepted(id, body);
      retryMs = RETRY_FIRST_MS;
    } catch (e) {
      if (e.status >= 400 && e.status < 500 && e.status !== 408 && e.status !== 429) {
        if (pending.get(id) === body) pending.delete(id);  // refused for a reason: resending cannot help
        show("refused", errorText(e));
        refuse(id, body, e);
        return;
      }
      show("unsaved", errorText(e));
      clearTimeout(retryTimer);
      retryTimer = setTimeout(flush, retryMs);
      retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
      return;
    } finally {
      sending.delete(id);
    }
    if (pending.has(id)) send(id);
    else if (![...pending.keys()].length) show("saved");
  }

  function flush() {
    clearTimeout(timer);
    timer = null;
    queue();
    for (const id of pending.keys()) send(id);
  }

  function edited(event) {
    if (!(event.target.name in FIELDS)) return;
    touched.add(event.target.name);
    if (incidentId() == null) return;  // not created yet: the report will carry it
    clearTimeout(timer);
    timer = setTimeout(flush, DEBOUNCE_MS);
  }

  form.addEventListener("input", edited);
  form.addEventListener("change", event => { if (event.target.name === "channel") { edited(event); flush(); } });
  form.addEventListener("focusout", event => { if (event.target.name in FIELDS && touched.size) flush(); });
  form.addEventListener("keydown", event => { if (event.key === "Enter" && event.target.name in FIELDS) flush(); });
  retryButton.addEventListener("click", () => { retryMs = RETRY_FIRST_MS; flush(); });
  window.addEventListener("online", flush);

  return {
    startCall() {
      flush();  // the last call's edits are queued for its incident before the form forgets them
      touched = new Set();
      if (shownState !== "unsaved") show(null);
    },
    created() {
      if (touched.size) flush();  // typed while the report was on its way: saved now (unchanged ones write nothing)
    },
    pendingCount: () => pending.size,
  };
}

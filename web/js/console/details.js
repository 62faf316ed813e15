// What the call-taker keeps typing once the call's incident exists (the caller's name and phone, the chief
// complaint, the address, the channel) is saved with PATCH /api/v1/incidents/{id}: after a short pause in typing,
// at once on leaving a field or on Enter. Only the fields the dispatcher touched are sent, with their current text
// (the server writes only what differs). An edit that did not reach the server stays pending for its incident, even
// after the form closes or the next call starts, and is retried (sooner with the "retry" button) until it is saved;
// a refusal the server means (bad field, closed incident) is shown, and the text stays in the form.
import {api, errorText} from "../api.js";
import {t} from "../i18n.js";
import {putIncident} from "./store.js";

const DEBOUNCE_MS = 600;  // a save per pause in typing, not per keystroke
const RETRY_FIRST_MS = 1000;  // then doubled per failure, up to RETRY_MAX_MS: a network blip heals quickly
const RETRY_MAX_MS = 15000;
const FIELDS = {caller_name: ["caller", "name"], caller_phone: ["caller", "phone"], chief_complaint: ["chief_complaint"],
                address: ["address"], channel: ["channel"]};  // form field → where it goes in the PATCH body

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
      retryMs = RETRY_FIRST_MS;
    } catch (e) {
      if (e.status >= 400 && e.status < 500 && e.status !== 408 && e.status !== 429) {
        if (pending.get(id) === body) pending.delete(id);  // refused for a reason: resending cannot help
        show("refused", errorText(e));
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

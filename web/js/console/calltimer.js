// The per-call timer (issue #16): seconds from answering a call (New call pressed, or a queued 1669 call answered)
// to dispatch (the first unit assigned to the call's incident), shown live in the header and the new-call form.
// NFPA 1225 asks for 60 s or less on 90 % of calls: past that the timer turns red. The figures of this page's calls
// stay in `callTimes` (the browser test and the benchmark read them).
import {t} from "../i18n.js";
import {on} from "./store.js";

const TARGET_S = 60;  // NFPA 1225 alarm processing
const TICK_MS = 250;

export const callTimes = [];  // {incident_id, answer_to_dispatch_s}, one per call dispatched from this page

let call = null;  // {answered_ms, incidentId, dispatched_s}

const header = document.createElement("span");
header.id = "call-timer";
header.className = "call-timer";
header.hidden = true;
document.querySelector("#new-incident-btn").after(header);
const inForm = document.querySelector("#call-timer-form");

// A call is answered now; its incident is `incidentId` when already known (a queued call), else bound later.
export function answerCall(incidentId = null) {
  call = {answered_ms: Date.now(), incidentId, dispatched_s: null};
  draw();
}

// The incident the current call opened.
export function bindCall(incidentId) {
  if (call && call.incidentId == null) call.incidentId = incidentId;
}

function elapsed_s() {
  return call.dispatched_s ?? Math.floor((Date.now() - call.answered_ms) / 1000);
}

function draw() {
  header.hidden = !call;
  if (!call) return;
  const s = elapsed_s();
  const text = call.dispatched_s == null ? t("calltimer.running", {s}) : t("calltimer.done", {s: call.dispatched_s});
  header.textContent = t("calltimer.short", {s});
  inForm.textContent = text;
  for (const el of [header, inForm]) {
    el.title = t("calltimer.title");
    el.dataset.seconds = String(s);
    el.classList.toggle("late", s > TARGET_S);
    el.classList.toggle("dispatched", call.dispatched_s != null);
  }
}

// The first assignment of the call's incident stops the clock.
on("incident", incident => {
  if (!call || call.dispatched_s != null || incident.id !== call.incidentId) return;
  if (!(incident.assignment_ids || []).length && !incident.status_times?.assigned) return;
  call.dispatched_s = Math.round((Date.now() - call.answered_ms) / 100) / 10;
  callTimes.push({incident_id: incident.id, answer_to_dispatch_s: call.dispatched_s});
  draw();
});

setInterval(() => { if (call) draw(); }, TICK_MS);  // a dispatched call's figure too: a language switch relabels it

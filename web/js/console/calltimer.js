// The per-call timer (issue #16): seconds from answering a call (New call pressed, or a queued 1669 call answered)
// to dispatch (the first unit assigned to the call's incident), shown live in the header and the new-call form.
// NFPA 1225 asks for 60 s or less on 90 % of calls: past that the timer turns red. The figures of this page's calls
// stay in `callTimes` (the browser test and the benchmark read them).
import {t} from "../i18n.js";
import {on} from "./store.js";

const TARGET_S = 60;  // NFPA 1225 alarm processing

export const callTimes = [];  // {incident_id, answer_to_dispatch_s}, one per call dispatched from this page

let call = null;  // {answered_ms, incidentId, dispatched_s}
let tick = null;  // the redraw due at the call's next whole second

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
  tickNextSecond();
}

// The incident the current call opened.
export function bindCall(incidentId) {
  if (call && call.incidentId == null) call.incidentId = incidentId;
}

function elapsed_s() {
  return call.dispatched_s ?? Math.floor((Date.now() - call.answered_ms) / 1000);
}

// While the clock runs, a redraw each time the figure changes: on the call's whole seconds, not on a fixed beat.
function tickNextSecond() {
  clearTimeout(tick);
  if (!call || call.dispatched_s != null) return;
  tick = setTimeout(() => { draw(); tickNextSecond(); }, 1000 - (Date.now() - call.answered_ms) % 1000);
}

// Writes only what differs from what is shown: a redraw that changes nothing touches nothing.
function draw() {
  if (header.hidden !== !call) header.hidden = !call;
  if (!call) return;
  const s = elapsed_s();
  const running = call.dispatched_s == null;
  showText(header, t("calltimer.short", {s}));
  showText(inForm, running ? t("calltimer.running", {s}) : t("calltimer.done", {s: call.dispatched_s}));
  for (const el of [header, inForm]) {
    if (el.title !== t("calltimer.title")) el.title = t("calltimer.title");
    if (el.dataset.seconds !== String(s)) el.dataset.seconds = String(s);
    el.classList.toggle("late", s > TARGET_S);
    el.classList.toggle("dispatched", !running);
  }
}

function showText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

// After a language switch: the figures in the new language (a dispatched call's too, its clock stopped).
export const relabelCallTimer = draw;

// The first assignment of the call's incident stops the clock.
on("incident", incident => {
  if (!call || call.dispatched_s != null || incident.id !== call.incidentId) return;
  if (!(incident.assignment_ids || []).length && !incident.status_times?.assigned) return;
  call.dispatched_s = Math.round((Date.now() - call.answered_ms) / 100) / 10;
  callTimes.push({incident_id: incident.id, answer_to_dispatch_s: call.dispatched_s});
  draw();
  tickNextSecond();
});

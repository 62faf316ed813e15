// The 1669 call queue (issue #18): calls waiting in Twilio's queue with the caller's number, wait time, earlier
// incidents from the number and any location already shared; Answer rings the dispatcher's desk line and selects
// the call's incident. A call waiting past the server's answer_alert_s (NENA: 15 s) turns red and alerts this
// dispatcher (the server's CallAnswerOverdue event reaches every console). Abandoned calls stay listed for call-back.
import {api} from "../api.js";
import {html, render} from "../html.js";
import {defineLabels, local, t} from "../i18n.js";
import {openIntake} from "./intake.js";
import {sidePanel} from "./sidepanel.js";
import {refreshIncident, select} from "./store.js";

defineLabels({
  "calls.title": {th: "สายรอรับ 1669", en: "1669 calls"},
  "calls.none": {th: "ไม่มีสายรอ", en: "No calls waiting"},
  "calls.answer": {th: "รับสาย", en: "Answer"},
  "calls.call_back": {th: "โทรกลับ", en: "Call back"},
  "calls.called_back": {th: "โทรกลับ {phone} แล้ว — โทรศัพท์โต๊ะของคุณจะดังก่อน", en: "Calling {phone} back — your desk phone rings first"},
  "calls.callback_taken": {th: "เจ้าหน้าที่อื่นโทรกลับสายนี้แล้ว", en: "Another dispatcher already called this caller back"},
  "calls.callback_by": {th: "โทรกลับโดย {who}", en: "called back by {who}"},
  "calls.callback_unanswered": {th: "ผู้แจ้งไม่รับสายที่โทรกลับ ({status})", en: "the caller did not pick up the call-back ({status})"},
  "calls.waiting": {th: "รอ", en: "waiting"},
  "calls.active": {th: "กำลังคุย", en: "on the line"},
  "calls.abandoned": {th: "วางสาย — โทรกลับ", en: "hung up — call back"},
  "calls.ended": {th: "จบสาย", en: "ended"},
  "calls.history": {th: "เคยแจ้ง {n} ครั้ง", en: "{n} earlier incidents"},
  "calls.located": {th: "มีตำแหน่งแล้ว", en: "location shared"},
  "calls.overdue": {th: "สาย {phone} รอนานเกิน {s} วินาที", en: "Call from {phone} waiting over {s} s"},
  "calls.taken": {th: "เจ้าหน้าที่อื่นรับสายนี้แล้ว", en: "Another dispatcher answered this call"},
  "calls.desk": {th: "โทรศัพท์โต๊ะ / SIP ของฉัน", en: "My desk phone / SIP"},
  "calls.save": {th: "บันทึก", en: "Save"},
  "calls.time.answer": {th: "รับสาย", en: "answer"},
  "calls.time.to_location": {th: "→ตำแหน่ง", en: "→ location"},
  "calls.time.to_code": {th: "→รหัส", en: "→ code"},
  "calls.time.to_dispatch": {th: "→สั่งการ", en: "→ dispatch"},
  "calls.override": {th: "เปลี่ยนรหัส", en: "override"},
  "calls.recording": {th: "ฟังเสียงบันทึกสาย", en: "Play the call recording"},
  "calls.wait": {th: "รอ {s} วินาที", en: "waited {s} s"},
});

const REFRESH_MS = 5000;  // a safety net: call events refresh the list at once
let listing = {calls: [], answer_alert_s: 15};
let loadedAt = Date.now();

const box = sidePanel("call-queue", {hidden: false, place: panel => document.querySelector("#queue").prepend(panel)});

function waitNow(call) {
  return call.state === "waiting" ? call.wait_s + (Date.now() - loadedAt) / 1000 : call.wait_s;
}

// data-t: the page's language switch relabels these fixed parts (translatePage)
render(box, html`<h3 data-t="calls.title">${t("calls.title")}</h3><ul id="call-list" class="list"></ul><p class="error" id="call-error"></p><p class="ok" id="call-note"></p>
  <details><summary data-t="calls.desk">${t("calls.desk")}</summary><input id="desk-line" inputmode="tel" maxlength="200">
    <button class="plain" id="desk-line-save" data-t="calls.save">${t("calls.save")}</button></details>`);

// Only the list is redrawn (every second while calls wait), so the desk-line field keeps what is typed in it; a
// redraw that would show the same markup is skipped (the list is re-read as calls' incidents change).
const callList = box.querySelector("#call-list");
let drawn = null;
function draw() {
  const markup = html`${listing.calls.length ? listing.calls.map(call => {
      const wait = Math.floor(waitNow(call));
      const overdue = call.state === "waiting" && wait >= listing.answer_alert_s;
      return html`<li class="call call-${call.state}${overdue ? " overdue" : ""}" data-sid="${call.call_sid}">
        <b>${call.phone || "?"}</b> #${call.incident_id} · ${t("calls." + call.state)} <span class="call-wait">${wait} s</span>
        ${call.earlier_incidents.length ? html`<span class="muted"> · ${t("calls.history", {n: call.earlier_incidents.length})}</span>` : ""}
        ${call.location ? html`<span class="muted"> · ${t("calls.located")}</span>` : ""}
        ${call.times ? html`<div class="call-times muted">${["answer", "to_location", "to_code", "to_dispatch"].map(name =>
          html`<span data-time="${name}">${t("calls.time." + name)} ${call.times[name] ?? "…"} s</span> `)}</div>` : ""}
        ${call.state === "waiting" ? html` <button class="primary answer-call" data-sid="${call.call_sid}">${t("calls.answer")}</button>` : ""}
        ${call.state === "abandoned" && call.phone ? html` <button class="plain call-back" data-sid="${call.call_sid}">${t("calls.call_back")}</button>` : ""}</li>`;
    }) : html`<li class="muted" data-t="calls.none">${t("calls.none")}</li>`}`;  // data-t: relabelled at once on a language switch
  if (String(markup) === drawn) return;
  drawn = String(markup);
  render(callList, markup);
}

export async function loadCalls() {
  try {
    listing = await api("GET", "/api/v1/calls");
    loadedAt = Date.now();
  } catch (e) { return; }  // not a dispatcher, or Twilio not configured: no queue to show
  draw();
}

// Answer and call back: one dispatcher takes the call (409 when another was first), then its incident is shown;
// the list is drawn again even if unchanged, so the pressed button comes back enabled.
async function takeCall(path, takenLabel, then) {
  const error = box.querySelector("#call-error");
  try {
    const call = await api("POST", path, {});
    error.textContent = "";
    await refreshIncident(call.incident_id);
    select(call.incident_id);
    then(call);
  } catch (e) {
    error.textContent = e.status === 409 ? t(takenLabel) : e.message;
  }
  drawn = null;
  loadCalls();
}

// the call's timer starts; the location box locates the call's incident
const answer = sid => takeCall(`/api/v1/calls/${sid}/answer`, "calls.taken", call => openIntake(call.incident_id));

// Calling back a caller who hung up: the desk phone rings, then Twilio dials the caller from the 1669 number.
const callBack = sid => takeCall(`/api/v1/calls/${sid}/callback`, "calls.callback_taken", call => {
  box.querySelector("#call-note").textContent = t("calls.called_back", {phone: call.phone});
});

box.addEventListener("click", async event => {
  const button = event.target.closest(".answer-call");
  if (button) { button.disabled = true; answer(button.dataset.sid); return; }
  const back = event.target.closest(".call-back");
  if (back) { back.disabled = true; callBack(back.dataset.sid); return; }
  if (event.target.id === "desk-line-save") {
    try {
      await api("PUT", "/api/v1/me/desk-line", {desk_line: box.querySelector("#desk-line").value.trim()});
      box.querySelector("#call-error").textContent = "";
    } catch (e) { box.querySelector("#call-error").textContent = e.message; }
  }
});

// main.js hands every event frame here: a new call, an answer or a hang-up refreshes the queue; a call waiting
// too long is an alert (alerts.js).
export function onCallEvent(type, payload) {
  if (CALL_EVENTS.includes(type) || (INCIDENT_EVENTS.includes(type) && listed(payload.incident_id))) loadCallsSoon();
}
// A call's own events change the list; an incident's only when it is a listed call's (its times: to code, to
// dispatch). A new call's incident is reported before its CallReceived, so the incidents of other calls (most
// of a busy shift's) are not one re-read each.
const CALL_EVENTS = ["CallReceived", "CallAnswered", "CallAbandoned", "CallBackPlaced", "CallBackUnanswered",
                     "CallerLocationShared"];
const INCIDENT_EVENTS = ["IncidentReported", "IncidentTriaged", "UnitAssigned"];
function listed(incidentId) {
  return listing.calls.some(call => call.incident_id === incidentId);
}

// A burst of events (5 new calls a second, each reported then triaged) is one re-read of the call list, not one each.
const CALLS_BATCH_MS = 250;
let callsTimer = null;
function loadCallsSoon() {
  if (!callsTimer) callsTimer = setTimeout(() => { callsTimer = null; loadCalls(); }, CALLS_BATCH_MS);
}

setInterval(() => { if (listing.calls.some(c => c.state === "waiting")) draw(); }, 1000);
setInterval(loadCalls, REFRESH_MS);
loadCalls();

// Replay: what the call and interview events add to their line (the interview's code and answers, the recording).
export function replayDetail(event) {
  const p = event.payload;
  if (event.type === "InterviewRecorded") {
    return html`<span class="interview-replay">${p.code}${p.override_reason ? html` (${t("calls.override")}: ${p.override_reason})` : ""}
      — ${p.answers.map(a => `${local(a)} ${t("interview." + a.answer)}`).join(" · ")}</span>`;
  }
  if (event.type === "CallRecorded") {
    return html`<button class="plain recording-link" data-sid="${p.call_sid}">${t("calls.recording")}${p.duration_s ? ` (${p.duration_s} s)` : ""}</button>`;
  }
  if (event.type === "CallAnswered") return html`${p.dispatcher} · ${t("calls.wait", {s: p.wait_s})}`;
  if (event.type === "CallBackPlaced") return html`${p.phone} · ${t("calls.callback_by", {who: p.dispatcher})}`;
  if (event.type === "CallBackUnanswered") return t("calls.callback_unanswered", {status: p.dial_status});
  return "";
}

// Playing a recording from replay: the server gives a short-lived link (an <audio> element cannot send the bearer
// token); past the retention period it answers 404 with the reason, shown in place of the player.
document.addEventListener("click", async event => {
  const button = event.target.closest?.("button.recording-link");
  if (!button) return;
  const holder = button.closest("li");
  try {
    const link = await api("POST", `/api/v1/calls/${button.dataset.sid}/recording`, {});
    let player = holder.querySelector("audio");
    if (!player) {
      player = document.createElement("audio");
      player.controls = true;
      holder.append(player);
    }
    player.src = link.play_url;
    player.play().catch(() => {});  // autoplay may be refused: the controls are there
  } catch (e) {
    button.textContent = e.message;
  }
});

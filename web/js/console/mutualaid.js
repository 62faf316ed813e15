// Agencies on the console (issue #19): which agency this dispatcher acts for (the header badge; an agency's
// console only ever receives its own units and incidents, the server sees to that), and mutual aid: requests
// asked of this agency with Accept / Decline, requests it made with their state, and a form asking another
// agency for a unit for the selected incident. Declined or unanswered requests come back as alerts.
import {api, errorText} from "../api.js";
import {clock} from "../format.js";
import {html, render} from "../html.js";
import {defineLabels, t} from "../i18n.js";
import {sidePanel} from "./sidepanel.js";
import {CENTRE, state} from "./store.js";

defineLabels({
  "agency.centre": {th: "ศูนย์ 1669 (ทุกหน่วยงาน)", en: "1669 centre (every agency)"},
  "agency.badge": {th: "หน่วยงาน: {agency}", en: "Agency: {agency}"},
  "aid.title": {th: "ขอความช่วยเหลือข้ามหน่วยงาน", en: "Mutual aid"},
  "aid.none": {th: "ไม่มีคำขอที่รอตอบ", en: "No open requests"},
  "aid.asked": {th: "{from} ขอ {unit} ไปเหตุ #{incident}", en: "{from} asks for {unit} for #{incident}"},
  "aid.made": {th: "ขอ {unit} ({agency}) ไปเหตุ #{incident}", en: "Asked {agency} for {unit} for #{incident}"},
  "aid.due": {th: "ตอบภายใน {time}", en: "answer by {time}"},
  "aid.accept": {th: "ส่งรถ", en: "Accept"},
  "aid.decline": {th: "ปฏิเสธ", en: "Decline"},
  "aid.reason": {th: "เหตุผลที่ปฏิเสธ", en: "Reason for declining"},
  "aid.unit": {th: "รหัสรถหน่วยงานอื่น", en: "Another agency's unit"},
  "aid.request": {th: "ขอรถหน่วยงานอื่นไปเหตุที่เลือก", en: "Ask another agency for a unit for the selected incident"},
  "aid.ask": {th: "ส่งคำขอ", en: "Ask"},
  "aid.pick_incident": {th: "เลือกเหตุก่อน", en: "Select an incident first"},
  "alert.aid_requested": {th: "#{incident} มีคำขอ {unit} จาก {from}", en: "#{incident} {from} asks for {unit}"},
  "alert.aid_escalated.declined": {th: "#{incident} {agency} ปฏิเสธการส่ง {unit} — ศูนย์ 1669 ต้องหารถอื่น",
                                   en: "#{incident} {agency} declined to send {unit} — the 1669 centre must find another"},
  "alert.aid_escalated.timeout": {th: "#{incident} {agency} ไม่ตอบคำขอ {unit} ทันเวลา — ศูนย์ 1669 ต้องหารถอื่น",
                                  en: "#{incident} {agency} did not answer for {unit} in time — the 1669 centre must find another"},
});

let me = {agency_id: null}, requests = [];

const badge = document.createElement("span");
badge.id = "agency-badge";
badge.className = "badge";
document.querySelector("#status-line").after(badge);

const callQueue = document.querySelector("#call-queue");  // the 1669 calls stay on top where they are
const box = sidePanel("mutual-aid", {hidden: false, place: panel => (callQueue ? callQueue.after(panel)
                                                                              : document.querySelector("#queue").prepend(panel))});

export function myAgency() {
  return me.agency_id || CENTRE;
}

// The badge shows the dispatcher's agency in the page's language: drawn when either may have changed (the login
// read, a language switch), and written only when its text differs.
function drawBadge() {
  const text = myAgency() === CENTRE ? t("agency.centre") : t("agency.badge", {agency: myAgency()});
  if (badge.textContent !== text) badge.textContent = text;
}

function requestLine(r) {
  const asked = r.agency_id === myAgency() || (myAgency() === CENTRE && r.requesting_agency_id !== CENTRE);
  const text = r.agency_id === myAgency()
    ? t("aid.asked", {from: r.requesting_agency_id, unit: r.unit_id, incident: r.incident_id})
    : t("aid.made", {agency: r.agency_id, unit: r.unit_id, incident: r.incident_id});
  return html`<li class="aid" data-request="${r.id}"><span>${text}</span>
    <span class="muted"> · ${t("aid.due", {time: clock(r.answer_due_at)})}</span>${r.note ? html`<div class="muted">${r.note}</div>` : ""}
    ${asked ? html`<div><button type="button" class="primary" data-accept="${r.id}">${t("aid.accept")}</button>
      <input name="reason" maxlength="500" placeholder="${t("aid.reason")}">
      <button type="button" class="plain" data-decline="${r.id}">${t("aid.decline")}</button></div>` : ""}</li>`;
}

// The centre dispatches every unit itself: its console shows the panel only while requests are open, so the call
// queue keeps its room. An agency's console always has it (asking another agency is how it gets more units).
export function drawAid() {
  drawBadge();
  box.hidden = myAgency() === CENTRE && !requests.length;
  render(box, html`<h3>${t("aid.title")}</h3>
    <ul class="list" id="aid-list">${requests.length ? requests.map(requestLine) : html`<li class="muted">${t("aid.none")}</li>`}</ul>
    <details><summary>${t("aid.request")}</summary><form id="aid-form">
      <input name="unit_id" maxlength="40" placeholder="${t("aid.unit")}" required>
      <button class="plain">${t("aid.ask")}</button></form></details>
    <p class="error" id="aid-error"></p>`);
}

export async function loadAid() {
  try {
    requests = (await api("GET", "/api/v1/mutual-aid")).requests;
  } catch (e) { return; }  // not a dispatcher: nothing to show
  drawAid();
}

// The alert line for a mutual-aid event, or null.
export function aidAlert(type, payload) {
  if (type === "MutualAidRequested" && payload.agency_id === myAgency()) {
    return t("alert.aid_requested", {incident: payload.incident_id, unit: payload.unit_id, from: payload.requesting_agency_id});
  }
  if (type === "MutualAidEscalated") {
    return t("alert.aid_escalated." + payload.cause, {incident: payload.incident_id, unit: payload.unit_id, agency: payload.agency_id});
  }
  return null;
}

function showError(e) {
  box.querySelector("#aid-error").textContent = e ? errorText(e) : "";
}

box.addEventListener("click", async e => {
  const accept = e.target.closest("button[data-accept]"), decline = e.target.closest("button[data-decline]");
  try {
    if (accept) await api("POST", `/api/v1/mutual-aid/${accept.dataset.accept}/accept`, {});
    else if (decline) {
      const reason = decline.closest("li").querySelector("input[name=reason]").value;
      await api("POST", `/api/v1/mutual-aid/${decline.dataset.decline}/decline`, {reason});
    } else return;
    showError(null);
  } catch (error) { showError(error); }
  loadAid();
});

box.addEventListener("submit", async e => {
  e.preventDefault();
  if (state.selected == null) return showError(new Error(t("aid.pick_incident")));
  try {
    await api("POST", "/api/v1/mutual-aid", {incident_id: state.selected, unit_id: e.target.unit_id.value.trim()});
    e.target.reset();
    showError(null);
  } catch (error) { showError(error); }
  loadAid();
});

api("GET", "/api/v1/me").then(body => { me = body; drawBadge(); loadAid(); }).catch(() => {});
drawAid();

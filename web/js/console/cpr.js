// Telephone CPR coaching (issue #18): a metronome at 100–120 compressions a minute (Web Audio clicks the
// dispatcher relays to the caller), a compression counter and the elapsed time, and the AED locator: the public
// AEDs nearest the patient (GET /api/v1/incidents/{id}/aeds, from EMS_AED_FILE; shape in docs/operations.md) with
// distance, direction and where to find them, for a second bystander to fetch.
import {api} from "../api.js";
import {html, render} from "../html.js";
import {defineLabels, local, t} from "../i18n.js";

defineLabels({
  "cpr.title": {th: "ช่วยกดหน้าอกทางโทรศัพท์", en: "Telephone CPR coach"},
  "cpr.start": {th: "เริ่มจังหวะ", en: "Start metronome"},
  "cpr.stop": {th: "หยุด", en: "Stop"},
  "cpr.rate": {th: "ครั้ง/นาที", en: "per minute"},
  "cpr.count": {th: "กดแล้ว", en: "Compressions"},
  "cpr.elapsed": {th: "เวลา", en: "Elapsed"},
  "cpr.no_aed": {th: "ไม่มีข้อมูลจุดติดตั้ง AED", en: "No AED points known"},
  "cpr.aed_title": {th: "AED ใกล้ผู้ป่วย — ให้คนที่สองไปนำมา", en: "Nearest AED — send a second bystander"},
  "cpr.aed_none_near": {th: "ไม่มี AED ในระยะ {m} เมตร", en: "No AED within {m} m"},
  "cpr.aed_unlocated": {th: "ระบุตำแหน่งผู้ป่วยเพื่อค้นหา AED", en: "Locate the patient to find the nearest AED"},
  "cpr.aed_distance": {th: "{m} เมตร ทาง{dir}", en: "{m} m {dir}"},
  "cpr.dir.N": {th: "เหนือ", en: "north"},
  "cpr.dir.NE": {th: "ตะวันออกเฉียงเหนือ", en: "north-east"},
  "cpr.dir.E": {th: "ตะวันออก", en: "east"},
  "cpr.dir.SE": {th: "ตะวันออกเฉียงใต้", en: "south-east"},
  "cpr.dir.S": {th: "ใต้", en: "south"},
  "cpr.dir.SW": {th: "ตะวันตกเฉียงใต้", en: "south-west"},
  "cpr.dir.W": {th: "ตะวันตก", en: "west"},
  "cpr.dir.NW": {th: "ตะวันตกเฉียงเหนือ", en: "north-west"},
});

const MIN_RATE = 100, MAX_RATE = 120, DEFAULT_RATE = 110;  // compressions per minute (resuscitation guidelines)
let audio = null, timer = null, started = 0, count = 0;
let rate = DEFAULT_RATE;  // the dispatcher's choice, kept across redraws; always within 100–120

function clampRate(value) {
  return Math.min(MAX_RATE, Math.max(MIN_RATE, Math.round(Number(value)) || DEFAULT_RATE));
}
const AED_FRESH_MS = 10000;  // the coach redraws with the interview: the AED list is re-read at most this often
let aedFor = null, aedAt = 0, aedAnswer = null;  // the incident the list is for, when it was asked, the answer

function beat() {
  count += 1;
  if (audio) {
    const osc = audio.createOscillator(), gain = audio.createGain();
    osc.frequency.value = count % 30 === 0 ? 1320 : 880;  // a higher tick every 30 compressions
    gain.gain.setValueAtTime(0.3, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.08);
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.09);
  }
  show();
}

function show() {
  const box = document.querySelector("#cpr-coach");
  if (!box) return;
  box.querySelector("#cpr-count").textContent = String(count);
  const s = started ? Math.floor((Date.now() - started) / 1000) : 0;
  box.querySelector("#cpr-elapsed").textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

export function stopCpr() {
  clearInterval(timer);
  timer = null;
  const button = document.querySelector("#cpr-toggle");
  if (button) button.textContent = t("cpr.start");
}

function start() {
  stopCpr();
  try { audio = audio || new AudioContext(); } catch (e) { audio = null; }  // no audio device: count silently
  started = started || Date.now();
  timer = setInterval(beat, 60000 / rate);
  document.querySelector("#cpr-toggle").textContent = t("cpr.stop");
}

function aedHtml(found) {
  if (!found) return "";
  if (!found.known) return html`<p class="muted">${t("cpr.no_aed")}</p>`;
  if (!found.located) return html`<p class="muted">${t("cpr.aed_unlocated")}</p>`;
  if (!found.aeds.length) return html`<p class="muted">${t("cpr.aed_none_near", {m: found.searched_m})}</p>`;
  return html`<b>${t("cpr.aed_title")}</b><ol class="aed-list">${found.aeds.map(aed => html`<li data-aed="${aed.id}">
    ${local(aed, "name")} · <b>${t("cpr.aed_distance", {m: aed.distance_m, dir: t("cpr.dir." + aed.direction)})}</b>
    ${local(aed, "access") ? html`<div class="muted">${local(aed, "access")}${aed.hours ? ` · ${aed.hours}` : ""}</div>` : ""}</li>`)}</ol>`;
}

// Re-read at most every AED_FRESH_MS per incident; drawn into whichever coach is on the page when the answer comes.
async function showAeds(incidentId) {
  if (aedFor !== incidentId || Date.now() - aedAt > AED_FRESH_MS) {
    aedFor = incidentId;
    aedAt = Date.now();
    aedAnswer = api("GET", `/api/v1/incidents/${incidentId}/aeds`).catch(() => { aedAt = 0; return null; });
  }
  const found = await aedAnswer;
  const slot = document.querySelector("#aed-points");
  if (slot && aedFor === incidentId) render(slot, aedHtml(found));
}

// The coach for incident `incidentId` inside `container`; keeps counting across re-renders of the same incident.
export function showCpr(container, incidentId) {
  render(container, html`<div id="cpr-coach" class="panel cpr">
    <h4>${t("cpr.title")}</h4>
    <button class="big stop" id="cpr-toggle">${timer ? t("cpr.stop") : t("cpr.start")}</button>
    <label><input id="cpr-rate" type="number" min="${MIN_RATE}" max="${MAX_RATE}" value="${rate}" data-rate="${rate}"> ${t("cpr.rate")}</label>
    <div>${t("cpr.count")}: <b id="cpr-count">0</b> · ${t("cpr.elapsed")}: <b id="cpr-elapsed">0:00</b></div>
    <div id="aed-points"></div></div>`);
  container.querySelector("#cpr-toggle").addEventListener("click", () => { if (timer) stopCpr(); else start(); });
  // a new rate applies at once, kept to 100–120 a minute (data-rate: the rate the metronome beats)
  container.querySelector("#cpr-rate").addEventListener("change", event => {
    rate = clampRate(event.target.value);
    event.target.value = event.target.dataset.rate = String(rate);
    if (timer) start();
  });
  show();
  showAeds(incidentId);
}

export function resetCpr() {
  stopCpr();
  started = 0;
  count = 0;
}

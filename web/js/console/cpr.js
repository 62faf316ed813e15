// Telephone CPR coaching (issue #18): a metronome at 100–120 compressions a minute (Web Audio clicks the
// dispatcher relays to the caller), a compression counter and the elapsed time, and the AED locator. No AED
// points are loaded in this deployment, so it says so; the data shape for loading them is documented in
// dispatch/data/README.md (a GeoJSON FeatureCollection of Points).
import {html, render} from "../html.js";
import {defineLabels, t} from "../i18n.js";

defineLabels({
  "cpr.title": {th: "ช่วยกดหน้าอกทางโทรศัพท์", en: "Telephone CPR coach"},
  "cpr.start": {th: "เริ่มจังหวะ", en: "Start metronome"},
  "cpr.stop": {th: "หยุด", en: "Stop"},
  "cpr.rate": {th: "ครั้ง/นาที", en: "per minute"},
  "cpr.count": {th: "กดแล้ว", en: "Compressions"},
  "cpr.elapsed": {th: "เวลา", en: "Elapsed"},
  "cpr.no_aed": {th: "ไม่มีข้อมูลจุดติดตั้ง AED", en: "No AED points known"},
});

const MIN_RATE = 100, MAX_RATE = 120, DEFAULT_RATE = 110;  // compressions per minute (resuscitation guidelines)
let audio = null, timer = null, started = 0, count = 0;

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

function start(rate) {
  stopCpr();
  try { audio = audio || new AudioContext(); } catch (e) { audio = null; }  // no audio device: count silently
  started = started || Date.now();
  timer = setInterval(beat, 60000 / rate);
  document.querySelector("#cpr-toggle").textContent = t("cpr.stop");
}

// The coach inside `container`; keeps counting across re-renders of the same incident.
export function showCpr(container) {
  render(container, html`<div id="cpr-coach" class="panel cpr">
    <h4>${t("cpr.title")}</h4>
    <button class="big stop" id="cpr-toggle">${timer ? t("cpr.stop") : t("cpr.start")}</button>
    <label><input id="cpr-rate" type="number" min="${MIN_RATE}" max="${MAX_RATE}" value="${DEFAULT_RATE}"> ${t("cpr.rate")}</label>
    <div>${t("cpr.count")}: <b id="cpr-count">0</b> · ${t("cpr.elapsed")}: <b id="cpr-elapsed">0:00</b></div>
    <p class="muted" id="aed-points">${t("cpr.no_aed")}</p></div>`);
  container.querySelector("#cpr-toggle").addEventListener("click", () => {
    if (timer) { stopCpr(); return; }
    const rate = Math.min(MAX_RATE, Math.max(MIN_RATE, Number(container.querySelector("#cpr-rate").value) || DEFAULT_RATE));
    start(rate);
  });
  show();
}

export function resetCpr() {
  stopCpr();
  started = 0;
  count = 0;
}

// The console's alarms: a generated tone (Web Audio, no audio files), a flash of the page and, while the tab is
// hidden, a browser notification, for a new call, an acknowledgement gone overdue, a failed message and a panic
// press. The tone says the urgency: "critical" (red call, overdue, panic) three high beeps, "high" (failed
// message) two middle beeps, "normal" (any other new call) one low beep. A mute (remembered per browser) silences
// the tone only: the flash, the alert list and the notification stay. The tab title counts the waiting calls.
import {t} from "../i18n.js";

const TONES = {  // urgency: [frequency Hz, beep s, gap s, beeps]
  critical: [1320, 0.16, 0.08, 3],
  high: [880, 0.2, 0.1, 2],
  normal: [587, 0.25, 0, 1],
};
const FLASH_MS = 2400;

// Every alarm raised on this page, newest last: {kind, urgency, at_ms, audible, text} (tests and the bench read it).
export const raised = [];

let audio = null;
let muted = localStorage.getItem("ems.console.muted") === "1";
const baseTitle = document.title;
const muteButton = document.querySelector("#mute-btn");

function context() {
  if (!audio && (window.AudioContext || window.webkitAudioContext)) audio = new (window.AudioContext || window.webkitAudioContext)();
  if (audio?.state === "suspended") audio.resume().catch(() => {});
  return audio;
}

// Plays the urgency's beeps; returns whether sound could be started (false when muted or no audio device).
function tone(urgency) {
  if (muted) return false;
  const ctx = context();
  if (!ctx) return false;
  const [hz, beep_s, gap_s, beeps] = TONES[urgency] || TONES.normal;
  let at = ctx.currentTime + 0.01;
  for (let n = 0; n < beeps; n++) {
    const osc = ctx.createOscillator(), gain = ctx.createGain();
    osc.type = urgency === "critical" ? "square" : "sine";
    osc.frequency.value = hz;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.3, at + 0.01);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + beep_s);
    osc.connect(gain).connect(ctx.destination);
    osc.start(at);
    osc.stop(at + beep_s + 0.02);
    at += beep_s + gap_s;
  }
  return ctx.state === "running";  // a suspended context (no gesture yet) plays nothing
}

const header = document.querySelector("header.bar");

// The header flashes (not the body: a class on the body restyles every queue row, 500 of them, per alarm): its class
// gives the urgency's colour, and a layer under its content (::after, console.css) pulses, animated from here. A
// pulse still running for an alarm as urgent or more goes on as it is (5 new calls a second restarted it per call,
// and toggled the class: a restyle of the whole header and two animation frames each); a more urgent one restarts it.
const PULSE = [{opacity: 1}, {opacity: 0, offset: 0.25}, {opacity: 1, offset: 0.5}, {opacity: 0, offset: 0.75}, {opacity: 1}];
const FLASHES = {  // urgency: [keyframes, timing]; opacity runs on the compositor
  critical: [PULSE, {duration: 800, iterations: 3}],
  high: [PULSE, {duration: 800, iterations: 2}],
  normal: [[{opacity: 1}, {opacity: 0}], {duration: 1000, iterations: 1}],
};
const URGENCY_RANK = {normal: 1, high: 2, critical: 3};
let pulse = null, pulseUrgency = null;
function flash(urgency) {
  if (!FLASHES[urgency]) urgency = "normal";
  const pulsing = pulse?.playState === "running";
  if (pulsing && URGENCY_RANK[pulseUrgency] >= URGENCY_RANK[urgency]) urgency = pulseUrgency;  // keeps pulsing
  else {
    pulse?.cancel();
    const [keyframes, timing] = FLASHES[urgency];
    pulse = header.animate(keyframes, {...timing, easing: "linear", pseudoElement: "::after"});
    pulseUrgency = urgency;
  }
  const name = `flash-${urgency}`;
  if (!header.classList.contains(name)) {
    header.classList.remove("flash-critical", "flash-high", "flash-normal");
    header.classList.add(name);
  }
  clearTimeout(flash.timer);
  flash.timer = setTimeout(() => header.classList.remove(name), FLASH_MS);
}

function notify(text, tag) {
  if (!document.hidden || !("Notification" in window) || Notification.permission !== "granted") return;
  try { new Notification(t("console.title"), {body: text, tag, renotify: true}); } catch (e) { /* not allowed here */ }
}

// Raises one alarm. kind: new_call | overdue | message_failed | panic; text: what the dispatcher should see.
export function raiseAlarm(kind, urgency, text) {
  const audible = tone(urgency);
  flash(urgency);
  notify(text, kind);
  raised.push({kind, urgency, text, audible, at_ms: performance.timeOrigin + performance.now()});
  if (raised.length > 200) raised.shift();
}

export function isMuted() { return muted; }

export function setMuted(value) {
  muted = value;
  localStorage.setItem("ems.console.muted", muted ? "1" : "0");
  showMute();
  showSoundState();
}

function showMute() {
  if (!muteButton) return;
  muteButton.classList.toggle("muted", muted);
  muteButton.setAttribute("aria-pressed", String(muted));
  // plain symbols: a dispatch desk may have no emoji font
  muteButton.textContent = muted ? `⊘ ${t("alarm.muted")}` : `♪ ${t("alarm.sound_on")}`;
}

// "(3) Dispatch console": the calls still waiting for triage or a unit. Written at once, then at most once per
// TITLE_EVERY_MS with the latest count (a title write was the console's costliest step per new call at 5 a second).
const TITLE_EVERY_MS = 1000;
let titleWanted = null, titleTimer = null, titleWrittenAt = -Infinity;
export function showWaiting(count) {
  titleWanted = count > 0 ? `(${count}) ${t("console.title")}` : (t("console.title") || baseTitle);
  if (titleTimer) return;
  const wait_ms = titleWrittenAt + TITLE_EVERY_MS - performance.now();
  if (wait_ms <= 0) writeTitle();
  else titleTimer = setTimeout(writeTitle, wait_ms);
}
function writeTitle() {
  titleTimer = null;
  if (document.title === titleWanted) return;
  document.title = titleWanted;
  titleWrittenAt = performance.now();
}

// Browsers start sound only after a gesture (the autoplay policy): after a reload the page is silent until someone
// clicks or presses a key, so until then a banner says so ("Sound is off — click to turn on", #sound-off); the first
// click or key (on it or anywhere) starts the sound and asks for notifications, and the banner goes once sound runs.
const soundOff = document.querySelector("#sound-off");
function showSoundState() {
  const blocked = !muted && audio != null && audio.state !== "running";
  if (soundOff) soundOff.hidden = !blocked;
  if (audio?.state === "running") {
    document.removeEventListener("pointerdown", unlock, true);
    document.removeEventListener("keydown", unlock, true);
  }
}
let asked = false;
function unlock() {
  context();
  if (!asked && "Notification" in window && Notification.permission === "default") {
    asked = true;
    Notification.requestPermission().catch(() => {});
  }
  showSoundState();
}
document.addEventListener("pointerdown", unlock, true);
document.addEventListener("keydown", unlock, true);
soundOff?.addEventListener("click", unlock);
context();  // made now, not at the first alarm: a context the browser holds suspended is seen (and said) at once
audio?.addEventListener("statechange", showSoundState);
muteButton?.addEventListener("click", () => setMuted(!muted));
// A mute (or unmute) in another of the console's windows holds here too: a map window must not keep sounding.
addEventListener("storage", event => {
  if (event.key === "ems.console.muted") { muted = event.newValue === "1"; showMute(); showSoundState(); }
});
export function refreshAlarmLabels() { showMute(); }
showMute();
showSoundState();

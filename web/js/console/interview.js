// The guided CBD interview (issue #18), in its own panel above the incident: pick the card, ask its key questions
// in order (yes / no / unknown), and the server proposes the determinant (colour, level, code) from the answers.
// The dispatcher confirms it or chooses another with a reason; the interview is recorded on the incident (replay)
// and triages it. The pre-arrival instructions for the proposed code appear as soon as it is known, with the
// telephone-CPR coach for cardiac-arrest codes.
import {api, errorText} from "../api.js";
import {html, render} from "../html.js";
import {defineLabels, local, t} from "../i18n.js";
import {resetCpr, showCpr, stopCpr} from "./cpr.js";
import {sidePanel} from "./sidepanel.js";
import {on, putIncident, state} from "./store.js";

defineLabels({
  "interview.title": {th: "สัมภาษณ์ตามเกณฑ์ CBD", en: "CBD interview"},
  "interview.card": {th: "อาการนำ", en: "Chief complaint card"},
  "interview.yes": {th: "ใช่", en: "Yes"},
  "interview.no": {th: "ไม่ใช่", en: "No"},
  "interview.unknown": {th: "ไม่ทราบ", en: "Unknown"},
  "interview.proposed": {th: "รหัสที่เสนอ", en: "Proposed code"},
  "interview.choose": {th: "รหัสที่เลือก", en: "Chosen code"},
  "interview.reason": {th: "เหตุผลที่เปลี่ยนรหัส", en: "Reason for another code"},
  "interview.confirm": {th: "ยืนยันรหัส", en: "Confirm code"},
  "interview.recorded": {th: "บันทึกแล้ว: {code}", en: "Recorded: {code}"},
  "interview.unguided": {th: "บัตรนี้ยังไม่มีคำถามนำ — เลือกรหัสเอง", en: "No key questions for this card yet — choose the code"},
  "interview.instructions": {th: "คำแนะนำก่อนรถถึง", en: "Pre-arrival instructions"},
});

const box = sidePanel("interview-panel");

let cards = [];
let session = null;  // {incidentId, group, guide, answers, proposal, recorded, chosen (the list's pick), reason}
const freshSession = (incidentId, group = null) =>
  ({incidentId, group, guide: null, answers: [], proposal: null, recorded: null, chosen: null, reason: ""});

api("GET", "/api/v1/triage/cards").then(body => { cards = body.groups; draw(); }).catch(() => {});

function questionRows() {
  const rows = [];
  for (const q of session.guide.questions) {
    const given = session.answers.find(a => a.question === q.id);
    rows.push(html`<li data-question="${q.id}">${local(q)}
      ${["yes", "no", "unknown"].map(a => html`<button class="plain answer${given?.answer === a ? " chosen" : ""}" data-answer="${a}">${t("interview." + a)}</button>`)}</li>`);
    if (!given) break;  // one question at a time, in the card's order
  }
  return rows;
}

function instructionsHtml(determinant) {
  const entry = session.guide.determinants.find(d => d.determinant === determinant);
  if (!entry) return "";
  return html`<h4>${t("interview.instructions")}</h4>${entry.instructions.map(key => {
    const text = session.guide.instructions[key];
    return html`<div class="instructions" data-instructions="${key}"><b>${local(text.title)}</b>
      <ol>${text.steps.map(step => html`<li>${local(step)}</li>`)}</ol></div>`;
  })}`;
}

// The determinant whose instructions show: the dispatcher's pick in the list, else the recorded one, else the
// proposal; a card without key questions starts on its first determinant (what the list shows).
function shownDeterminant() {
  if (session.chosen != null) return session.chosen;
  if (session.recorded) return session.recorded.determinant;
  if (session.proposal?.proposed_determinant != null) return session.proposal.proposed_determinant;
  return session.guide && !session.guide.guided ? session.guide.determinants[0]?.determinant ?? null : null;
}

// What the card says of determinant `n` (colour, capability = the level of response, and its Thai/English text).
function cardDeterminant(n) {
  return cards.find(c => c.group === session.group)?.determinants[n - 1] ?? null;
}

function needsCpr(determinant) {
  const entry = session.guide?.determinants.find(d => d.determinant === determinant);
  return Boolean(entry?.instructions.some(key => session.guide.instructions[key]?.cpr));
}

// The proposal: its code, colour and level of response (ALS/BLS/FR), and what the card says of it.
function proposalHtml(proposal) {
  const det = cardDeterminant(proposal.proposed_determinant);
  return html`<p id="proposal">${t("interview.proposed")}: <b id="proposed-code" class="badge colour-${det?.colour || "none"}">${proposal.proposed_code}</b>
    ${det ? html` ${t("colour." + det.colour)} · ${det.capability} — <span class="muted">${local(det)}</span>` : ""}</p>`;
}

function draw() {
  if (!session) { box.hidden = true; return; }
  box.hidden = false;
  const proposal = session.proposal;
  const determinant = shownDeterminant();
  render(box, html`<h3>${t("interview.title")} #${session.incidentId}</h3>
    <label>${t("interview.card")}</label>
    <select id="interview-card"><option value="">—</option>${cards.map(c => html`<option value="${c.group}" ${
      session.group === c.group ? html`selected` : ""}>${c.group}. ${local(c, "name")}</option>`)}</select>
    ${session.guide ? html`
      ${session.guide.guided ? html`<ol id="interview-questions">${questionRows()}</ol>`
        : html`<p class="muted">${t("interview.unguided")}</p><ul class="muted">${session.guide.card_questions.map(q => html`<li>${local(q)}</li>`)}</ul>`}
      ${proposal?.proposed_code ? proposalHtml(proposal) : ""}
      ${proposal?.proposed_code || !session.guide.guided ? html`
        <label>${t("interview.choose")}</label>
        <select id="interview-determinant">${session.guide.determinants.map(d => html`<option value="${d.determinant}" ${
          d.determinant === determinant ? html`selected` : ""}>${d.code}${cardDeterminant(d.determinant) ? ` — ${local(cardDeterminant(d.determinant))}` : ""}</option>`)}</select>
        <label>${t("interview.reason")}</label><input id="interview-reason" maxlength="500" value="${session.reason || ""}">
        <button class="primary" id="interview-confirm">${t("interview.confirm")}</button>` : ""}
      <p class="error" id="interview-error"></p>
      ${session.recorded ? html`<p class="ok" id="interview-recorded">${t("interview.recorded", {code: session.recorded.code})}</p>` : ""}
      <div id="cpr-slot"></div>
      ${determinant ? instructionsHtml(determinant) : ""}` : ""}`);
  // the coach follows the code on screen: choosing a code without CPR stops the metronome
  if (determinant != null && needsCpr(determinant)) showCpr(box.querySelector("#cpr-slot"), session.incidentId);
  else stopCpr();
}

async function chooseCard(group) {
  session = freshSession(session.incidentId, group);
  if (group) session.guide = await api("GET", `/api/v1/triage/cards/${group}/instructions`);
  draw();
}

// The language changed: the panel is written again (its answers, proposal and typed reason are kept).
export function redrawInterview() { draw(); }

// The call-taker's chief complaint chose the card (complaint.js): the incident's interview opens on it.
export function openCard(incidentId, group) {
  if (session?.incidentId !== incidentId) {
    session = freshSession(incidentId);
  }
  return chooseCard(group);
}

async function answer(question, value) {
  const index = session.guide.questions.findIndex(q => q.id === question);
  // changing an earlier answer drops the later ones: the order of the card decides
  session.answers = [...session.answers.filter(a => session.guide.questions.findIndex(q => q.id === a.question) < index),
                     {question, answer: value}];
  session.proposal = await api("POST", `/api/v1/incidents/${session.incidentId}/interview`,
                               {group: session.group, answers: session.answers, propose_only: true});
  session.chosen = null;  // a new proposal: the list follows it again
  draw();
}

async function confirm() {
  const determinant = Number(box.querySelector("#interview-determinant").value);
  const reason = box.querySelector("#interview-reason").value.trim();
  const body = {group: session.group, answers: session.answers, determinant};
  if (reason) body.reason = reason;
  try {
    const result = await api("POST", `/api/v1/incidents/${session.incidentId}/interview`, body);
    session.recorded = result.interview;
    session.chosen = null;
    putIncident(result.incident);
    draw();
  } catch (e) {
    box.querySelector("#interview-error").textContent = errorText(e);
  }
}

box.addEventListener("change", event => {
  if (event.target.id === "interview-card") chooseCard(Number(event.target.value) || null).catch(e => alert(e.message));
  if (event.target.id === "interview-determinant") { session.chosen = Number(event.target.value); draw(); }
});
box.addEventListener("input", event => {
  if (event.target.id === "interview-reason") session.reason = event.target.value;  // kept across redraws
});
box.addEventListener("click", event => {
  const button = event.target.closest("button.answer");
  if (button) answer(button.closest("li").dataset.question, button.dataset.answer).catch(e => alert(e.message));
  if (event.target.id === "interview-confirm") confirm();
});

on("select", id => {
  if (session?.incidentId === id) return;
  resetCpr();
  const incident = state.incidents.get(id);
  session = id == null ? null : freshSession(id);
  draw();
  if (incident?.triage && !incident.triage.override_reason) chooseCard(incident.triage.group).catch(() => {});
});

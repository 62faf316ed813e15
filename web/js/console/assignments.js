// The incident's assignments: the acknowledgement countdown and the escalation ladder steps taken.
import {api} from "../api.js";
import {clock, minutes} from "../format.js";
import {warningBadge} from "../eta.js";
import {html, render} from "../html.js";
import {t} from "../i18n.js";
import {inTurn, state} from "./store.js";

const turn = inTurn();
export async function loadAssignments(id) {
  const box = document.querySelector("#assignments"), answered = turn();
  try {
    const body = await api("GET", `/api/v1/incidents/${id}/assignments`);
    if (!answered()) return;
    render(box, body.assignments.length ? html`${body.assignments.map(a => assignmentHtml(a, body.ladder))}` : html`—`);
    tickCountdowns();
  } catch (e) { box.textContent = "—"; }
}

function assignmentHtml(assignment, ladder) {
  const waiting = assignment.status === "awaiting_ack";
  const taken = assignment.escalations || [];
  const steps = waiting || taken.length ? html`<ol class="ladder">${ladder.map(s => {
    const result = taken.includes(s.step) ? stepResult(assignment, s.step) : null;
    return html`<li class="${result ? `taken result-${result}` : ""}" data-step="${s.step}" data-result="${result || ""}">${
      result ? `${RESULT_MARK[result]} ` : ""}${t("ladder." + s.step)}${result && result !== "done" ? ` · ${t("ladder.result." + result)}` : ""}
        <span class="muted">+${Math.round(s.after_due_s)} s</span></li>`;
  })}</ol>` : "";
  const ack = waiting
    ? html`<div>${t("assignment.ack_due")} <span class="countdown" data-due="${Date.parse(assignment.ack_due_at)}"></span></div>`
    : assignment.acknowledged_at ? html`<div class="muted">✓ ${t("assignment.acknowledged_at")} ${clock(assignment.acknowledged_at)}</div>` : "";
  return html`<div class="rec block" data-assignment="${assignment.id}">
    <b>${assignment.unit_id}</b> · ${t("assignment." + assignment.status)}${assignment.eta_s != null ? ` · ${t("assignment.eta")} ${minutes(assignment.eta_s)}` : ""}
    ${warningBadge(assignment)}${ack}${steps}</div>`;
}

const RESULT_MARK = {done: "✓", sent: "✓", delivered: "✓✓", pending: "…", not_configured: "⚠", no_phone: "⚠", failed: "✕"};

// What became of a step taken: the push and re-assign steps are done when taken; a text or call shows the
// provider's answer (EscalationMessageOutcome: sent, failed, not configured, no phone), then its delivery report
// (OutboundMessageDelivered / OutboundMessageFailed for its message_sid: delivered or failed, kept on the
// assignment by the server, or seen live here first), pending while the answer is not in yet.
function stepResult(assignment, step) {
  if (step !== "sms" && step !== "voice") return "done";
  const result = assignment.step_results?.[step];
  if (!result) return "pending";
  if (result.message_sid && state.failedMessages.has(result.message_sid)) return "failed";
  if (result.message_sid && state.deliveredMessages.has(result.message_sid) && result.outcome === "sent") return "delivered";
  return result.outcome;
}

// Counts down to each acknowledgement deadline; past it the time since shows in red (the ladder is running).
function tickCountdowns() {
  document.querySelectorAll(".countdown[data-due]").forEach(el => {
    const left_s = (Number(el.dataset.due) - Date.now()) / 1000;
    el.textContent = left_s >= 0 ? minutes(left_s) : `−${minutes(-left_s)} ${t("assignment.overdue")}`;
    el.classList.toggle("overdue", left_s < 0);
  });
}
setInterval(tickCountdowns, 1000);

// The dispatcher's alert list: escalation steps, failed messages to callers and crews, panic-button device
// alerts, rate limits and ED acknowledgements, newest first.
import {clock} from "../format.js";
import {html, render} from "../html.js";
import {labelOr, t} from "../i18n.js";

// Every alert shown, newest first: {type, payload, at}, so a language switch redraws each line in the new language.
const shown = [];
let textOf = () => null;

// The alert lines are written by `textFor(type, payload)` (main.js: this module's alertText, then mutual aid's).
export function wireAlerts(textFor) { textOf = textFor; }

function line(alert) {
  const li = document.createElement("li");
  render(li, html`<span class="muted">${clock(alert.at)}</span> ${textOf(alert.type, alert.payload)}`);
  return li;
}

// An event the dispatcher is alerted to goes on top of the list; returns its line, or null when it is not one.
// `at`: when it happened (ISO time), now when not given.
export function addAlert(type, payload, at = new Date().toISOString()) {
  const text = textOf(type, payload);
  if (!text) return null;
  const alert = {type, payload, at};
  shown.unshift(alert);
  document.querySelector("#alert-list").prepend(line(alert));
  return text;
}

// A snapshot's recent alerts ({type, occurred_at, payload}, oldest first; the server's ALERT_EVENT_TYPES)
// replace the list, so a console that connects mid-shift shows what was raised before it: each is the same line
// a live event gets. No alarm sounds for them: they are history.
export function showRecentAlerts(alerts) {
  shown.length = 0;
  document.querySelector("#alert-list").replaceChildren();
  for (const alert of alerts) addAlert(alert.type, alert.payload, alert.occurred_at);
}

// The language changed: every line is written again from its event.
export function relabelAlerts() {
  document.querySelector("#alert-list").replaceChildren(...shown.map(line));
}

// The alert line for an event, or null when the event is not one the dispatcher is alerted to.
export function alertText(type, payload) {
  switch (type) {
    case "RateLimitTripped":
      return t("alert.rate_limit", {bucket: payload.bucket, source: payload.source_id});
    case "AssignmentEscalated":
      return `#${payload.incident_id} ${payload.unit_id}: ${t("ladder." + payload.step)}${payload.detail ? " → " + payload.detail : ""}`;
    case "DispatchShortfall":
      return `#${payload.incident_id} ${t("alert.shortfall", {missing: payload.missing.join(", "), assigned: payload.assigned.join(", ") || "—"})}`;
    case "AutoDispatchWithheld":
      return `#${payload.incident_id} ${t("alert.withheld." + payload.reason, {unit: payload.unit_id || "—"})}`;
    case "InboundAcknowledged":
      return `#${payload.incident_id} ${t("destination.ed_acknowledged")}`;
    case "OutboundMessageFailed":
      return `${payload.incident_id != null ? "#" + payload.incident_id + " " : ""}${t("alert.message_failed", {
        kind: labelOr("alert.kind." + payload.kind, payload.kind), status: payload.status})} ${payload.phone || ""}`;
    case "EscalationMessageOutcome":  // the ladder's text or call did not reach the crew's provider
      return payload.outcome === "sent" ? null : `#${payload.incident_id} ${t("alert.escalation_not_delivered", {
        step: t("ladder." + payload.step), unit: payload.unit_id, result: t("ladder.result." + payload.outcome)})}`;
    case "CallAnswerOverdue":  // sent to every dispatcher
      return `#${payload.incident_id} ${t("calls.overdue", {phone: payload.phone || "?", s: payload.limit_s})}`;
    case "DeviceAlertRaised":
      return `${labelOr("alert.device." + payload.kind, payload.kind)} · ${payload.device_id}${payload.detail ? " — " + payload.detail : ""}`;
    default:
      return null;
  }
}

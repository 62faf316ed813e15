// Caller history and the message thread with a text-to-1669 caller (SMS / LINE), with the dispatcher's reply.
import {api, errorText} from "../api.js";
import {clock} from "../format.js";
import {html, render} from "../html.js";
import {labelOr, t} from "../i18n.js";
import {select, state} from "./store.js";

const MESSAGING = ["sms", "line"];  // channels with a message thread (replies go by SMS to a caller's phone)

export const hasPhone = incident => (incident.callers || []).some(c => c.phone);
export const isTextThread = incident => MESSAGING.includes(incident.channel)
  || (incident.callers || []).some(c => MESSAGING.includes(c.channel));

export async function loadCallerHistory(id) {
  const box = document.querySelector("#caller-history");
  try {
    const body = await api("GET", `/api/v1/incidents/${id}/caller-history`);
    if (!box.isConnected) return;
    render(box, body.incidents.length ? html`<ul class="list history">${body.incidents.map(i => html`
      <li data-history="${i.id}"><b>#${i.id}</b> ${clock(i.reported_at)} ${new Date(i.reported_at).toLocaleDateString()} ·
        ${t("status." + i.status)} · ${i.chief_complaint || i.address || ""}</li>`)}</ul>`
      : html`${t("caller.no_history")}`);
    box.querySelectorAll("li[data-history]").forEach(li => li.addEventListener("click", () => {
      const other = Number(li.dataset.history);
      if (state.incidents.has(other)) select(other);
    }));
  } catch (e) { box.textContent = "—"; }
}

const replyDrafts = new Map();  // incident id → unsent reply (the panel re-renders on every event)

// The reply form of a freshly rendered panel: the unsent draft back in place, sending on submit.
export function wireReply(id) {
  const reply = document.querySelector("#sms-reply");
  if (!reply) return;
  reply.body.value = replyDrafts.get(id) || "";
  reply.body.addEventListener("input", () => replyDrafts.set(id, reply.body.value));
  reply.addEventListener("submit", event => { event.preventDefault(); sendReply(id); });
}

export async function loadThread(id) {
  const box = document.querySelector("#sms-thread");
  try {
    const body = await api("GET", `/api/v1/incidents/${id}/messages`);
    if (!box.isConnected) return;
    render(box, body.messages.length ? html`${body.messages.map(m => html`
      <div class="sms sms-${m.direction}" data-seq="${m.seq}"><div>${m.body}</div>
        <div class="muted">${clock(m.at)} · ${m.channel === "line" ? "LINE" : m.direction === "in" ? m.phone || ""
          : labelOr("sms.status." + m.status, m.status || "")}</div></div>`)}`
      : html`<span class="muted">—</span>`);
    box.scrollTop = box.scrollHeight;
  } catch (e) { box.textContent = "—"; }
}

async function sendReply(id) {
  const reply = document.querySelector("#sms-reply");
  const text = reply.body.value;
  if (!text.trim()) return;
  reply.querySelector("button").disabled = true;
  try {
    await api("POST", `/api/v1/incidents/${id}/messages`, {body: text});
    replyDrafts.delete(id);
    reply.body.value = "";
    document.querySelector("#sms-error").textContent = "";
    loadThread(id);
  } catch (e) {
    document.querySelector("#sms-error").textContent = errorText(e);
  } finally { reply.querySelector("button").disabled = false; }
}

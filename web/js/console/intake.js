// The new-incident form: channel, location (typed or clicked on the map), address, complaint and caller. Each
// submission carries a fresh idempotency key, so a retried request creates one incident.
import {api, errorText} from "../api.js";
import {putIncident, select} from "./store.js";

export const form = document.querySelector("#new-incident");

export function openIntake() {
  form.hidden = false;
  form.address.focus();
}

export function closeIntake() {
  form.hidden = true;
}

// A click on the map while the form is open sets the location.
export function fillLocation(latlng) {
  if (form.hidden) return;
  form.lat.value = latlng.lat.toFixed(6);
  form.lon.value = latlng.lng.toFixed(6);
}

// One key per report, kept until it is acknowledged: a resend after a refusal (a database failover) cannot make a
// second incident even if the first try was stored after all.
let reportKey = null;
const newKey = () => (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`);

async function submit(event) {
  event.preventDefault();
  reportKey = reportKey || newKey();
  const body = {channel: form.channel.value, address: form.address.value || undefined,
                chief_complaint: form.chief_complaint.value || undefined};
  if (form.lat.value || form.lon.value) body.location = {lat: Number(form.lat.value), lon: Number(form.lon.value)};
  if (form.caller_phone.value || form.caller_name.value) {
    body.caller = {phone: form.caller_phone.value || undefined, name: form.caller_name.value || undefined};
  }
  try {
    const incident = await api("POST", "/api/v1/incidents", body, {"Idempotency-Key": reportKey});
    reportKey = null;
    putIncident(incident);
    form.reset();
    form.hidden = true;
    document.querySelector("#new-incident-error").textContent = "";
    select(incident.id);
  } catch (e) {
    document.querySelector("#new-incident-error").textContent = errorText(e);
  }
}

document.querySelector("#new-incident-btn").addEventListener("click", () => {
  form.hidden = !form.hidden;
  reportKey = null;  // opened or closed: the next send is a new report
});
form.addEventListener("submit", submit);

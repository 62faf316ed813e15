// Hospital board: patients inbound to this emergency department with an ETA countdown, triage colour and a
// short summary; a capacity and diversion editor. Refreshed on every event it may see, and every 15 s for ETAs.
"use strict";

const $ = sel => document.querySelector(sel);
const t = EMS.t, esc = EMS.escapeHtml;
const state = {me: null, patients: [], fetchedAt: Date.now(), seen: new Set(JSON.parse(localStorage.getItem("ems.seen") || "[]"))};

if (!EMS.token()) location.href = "/index.html";

async function refresh() {
  try {
    const body = await EMS.api("GET", `/api/v1/hospitals/${state.me.hospital_id}/inbound`);
    state.patients = body.inbound;
    state.fetchedAt = Date.now();
    render();
  } catch (e) { /* keep the last list */ }
}

function render() {
  $("#count").textContent = state.patients.length;
  const th = EMS.getLanguage() === "th";
  $("#inbound").innerHTML = state.patients.length ? state.patients.map(p => {
    const colour = p.triage ? p.triage.colour : (p.provisional_colour || "none");
    const left = p.eta_s == null ? null : Math.max(0, p.eta_s - (Date.now() - state.fetchedAt) / 1000);
    const summary = p.triage ? (th ? p.triage.text_th : p.triage.text_en) : (p.chief_complaint || "");
    return `<li class="patient" data-id="${p.id}">
      <span class="badge colour-${colour}" style="font-size:20px">${esc(p.triage ? p.triage.code : "?")}</span>
      <div><b>#${p.id}</b> ${esc(summary)}<div class="muted">${esc(p.chief_complaint || "")} · ${t("status." + p.status)} · ${esc((p.unit_ids || []).join(", "))}</div>
        ${state.seen.has(p.id) ? "" : `<button class="primary" data-seen="${p.id}">${t("hospital.seen")}</button>`}</div>
      <div class="eta" title="${t("hospital.eta")}">${EMS.minutes(left)}</div></li>`;
  }).join("") : `<li class="muted">${t("hospital.none")}</li>`;
  $("#inbound").querySelectorAll("button[data-seen]").forEach(b => b.onclick = () => {
    state.seen.add(Number(b.dataset.seen));
    localStorage.setItem("ems.seen", JSON.stringify([...state.seen]));
    render();
  });
}

async function start() {
  EMS.setLanguage(EMS.getLanguage());
  $("#lang").value = EMS.getLanguage();
  $("#lang").onchange = e => { EMS.setLanguage(e.target.value); render(); };
  state.me = await EMS.api("GET", "/api/v1/me");
  const hospitals = (await EMS.api("GET", "/api/v1/hospitals")).hospitals;
  const mine = hospitals.find(h => h.id === state.me.hospital_id);
  if (mine) {
    $("#title").textContent = EMS.getLanguage() === "th" ? mine.name_th : mine.name_en;
    $("#capacity").beds.value = mine.ed_beds_free;
    $("#capacity").diversion.checked = mine.diversion;
  }
  $("#capacity").onsubmit = async e => {
    e.preventDefault();
    try {
      await EMS.api("POST", `/api/v1/hospitals/${state.me.hospital_id}/capacity`,
                    {ed_beds_free: Number(e.target.beds.value), diversion: e.target.diversion.checked});
      $("#capacity-error").textContent = "✓";
    } catch (err) { $("#capacity-error").textContent = err.message; }
  };
  new EMS.Realtime({onFrame: () => refresh(), onState: s => $("#degraded").classList.toggle("show", !!s.degraded),
                    storageKey: "hospital"}).start();
  setInterval(refresh, 15000);
  setInterval(render, 1000);  // the countdown
  refresh();
}

start();

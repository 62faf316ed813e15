// Shared by the console, the crew tablet and the hospital board: auth, API calls, the real-time client with
// resume, the offline command queue, Thai/English labels and HTML escaping. No build step.
"use strict";

const EMS = (() => {
  // ---- identity -------------------------------------------------------------------------------------------
  function token() {
    const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
    if (fromHash) {
      localStorage.setItem("ems.token", fromHash);
      history.replaceState(null, "", location.pathname + location.search);  // keep tokens out of history
    }
    return localStorage.getItem("ems.token");
  }

  async function login(userId, password) {
    const res = await fetch("/api/v1/login", {method: "POST", headers: {"Content-Type": "application/json"},
                                               body: JSON.stringify({user_id: userId, password})});
    if (!res.ok) throw new Error((await res.json()).error.message);
    const body = await res.json();
    localStorage.setItem("ems.token", body.token);
    return body;
  }

  function logout() {
    localStorage.removeItem("ems.token");
  }

  // ---- HTTP -----------------------------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, body) {
      super(body && body.error ? body.error.message : `HTTP ${status}`);
      this.status = status;
      this.fields = body && body.error ? body.error.fields || [] : [];
    }
  }

  async function api(method, path, body, extraHeaders) {
    const headers = {"Authorization": `Bearer ${token()}`, ...(extraHeaders || {})};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(path, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
    const text = await res.text();
    const parsed = text ? JSON.parse(text) : null;
    if (!res.ok) throw new ApiError(res.status, parsed);
    return parsed;
  }

  // ---- text -----------------------------------------------------------------------------------------------
  function escapeHtml(value) {
    return String(value ?? "").replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
  }

  let dictionary = {};
  let language = localStorage.getItem("ems.lang") || (navigator.language || "th").slice(0, 2);
  if (!["th", "en"].includes(language)) language = "th";

  function defineLabels(labels) {
    dictionary = {...dictionary, ...labels};
  }

  function t(key, vars) {
    const entry = dictionary[key];
    let text = entry ? (entry[language] || entry.en) : key;
    for (const [name, value] of Object.entries(vars || {})) text = text.replace(`{${name}}`, value);
    return text;
  }

  function setLanguage(lang) {
    language = lang;
    localStorage.setItem("ems.lang", lang);
    document.documentElement.lang = lang;
    translatePage();
  }

  function translatePage(root) {
    (root || document).querySelectorAll("[data-t]").forEach(el => { el.textContent = t(el.dataset.t); });
  }

  function getLanguage() { return language; }

  // The Thai or English member of a bilingual object: local(hospital, "name") → name_th or name_en; local(q) → q.th or q.en.
  function local(obj, field) {
    return field ? (obj[`${field}_${language}`] ?? obj[`${field}_en`]) : (obj[language] ?? obj.en);
  }

  // A console add-on (coverage, replay): its labels, the header re-translated with them, and its hidden side panel.
  function consoleAddOn(panelId, labels) {
    defineLabels(labels);
    translatePage(document.querySelector("header"));  // the console translated the page before these labels existed
    const panel = document.createElement("div");
    panel.id = panelId;
    panel.className = "panel";
    panel.hidden = true;
    document.querySelector("#detail").prepend(panel);
    return panel;
  }

  // ---- time -----------------------------------------------------------------------------------------------
  function clock(iso) {
    return iso ? new Date(iso).toLocaleTimeString(language === "th" ? "th-TH" : "en-GB", {hour: "2-digit", minute: "2-digit", second: "2-digit"}) : "";
  }

  function minutes(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    const m = Math.floor(seconds / 60), s = Math.round(seconds % 60);
    return `${m}:${String(s).padStart(2, "0")}`;
  }

  // ---- vital signs ----------------------------------------------------------------------------------------
  // One recorded set on one line, e.g. "HR 128 · BP 90/60 · RR 28 · SpO₂ 91% · GCS 14 · 38.4 °C" (labels: vitals.*).
  function vitalsLine(v) {
    if (!v) return "";
    const bp = v.systolic_bp != null || v.diastolic_bp != null ? `${t("vitals.bp")} ${v.systolic_bp ?? "—"}/${v.diastolic_bp ?? "—"}` : null;
    return [v.heart_rate != null ? `${t("vitals.hr")} ${v.heart_rate}` : null, bp,
            v.respiratory_rate != null ? `${t("vitals.rr")} ${v.respiratory_rate}` : null,
            v.spo2 != null ? `SpO₂ ${v.spo2}%` : null, v.gcs != null ? `GCS ${v.gcs}` : null,
            v.temperature != null ? `${v.temperature} °C` : null].filter(Boolean).join(" · ");
  }

  // The latest set as the console and the hospital board show it, with when it was taken.
  function vitalsHtml(latest) {
    return latest ? `<div class="vitals"><b>${t("vitals.title")}</b> ${escapeHtml(vitalsLine(latest))}
      <span class="muted">${clock(latest.recorded_at)}</span></div>` : "";
  }

  // An error for a form: each field and its reason (field names through `label`), else the message.
  function errorText(e, label = name => name) {
    return e.fields?.length ? e.fields.map(f => `${label(f.field)}: ${f.reason}`).join("; ") : e.message;
  }

  // ---- base map -------------------------------------------------------------------------------------------
  // The project's own road graph (GeoJSON, no internet or tile server needed), unless the page's
  // <meta name="ems-tile-url" content="https://…/{z}/{x}/{y}.png"> names a tile server (set by whoever deploys).
  async function addBaseMap(map, {minClass, style} = {}) {
    const tileUrl = document.querySelector('meta[name="ems-tile-url"]')?.content;
    if (tileUrl) {
      L.tileLayer(tileUrl, {maxZoom: 19}).addTo(map);
      return;
    }
    const roads = await api("GET", "/api/v1/map/roads" + (minClass ? `?min_class=${encodeURIComponent(minClass)}` : ""));
    L.geoJSON(roads, {interactive: false, style: style || {color: "#9aa5b1", weight: 2}}).addTo(map).bringToBack();
  }

  // ---- real-time ------------------------------------------------------------------------------------------
  // Connects to /ws, resumes with the last seq it applied (kept in localStorage per page), reconnects with
  // backoff, and replays the offline queue in order once connected. onFrame(frame) gets every frame.
  class Realtime {
    constructor({onFrame, onState, storageKey}) {
      this.onFrame = onFrame;
      this.onState = onState || (() => {});
      this.seqKey = `ems.seq.${storageKey || location.pathname}`;
      this.queueKey = `ems.queue.${storageKey || location.pathname}`;
      this.pending = new Map();  // command id -> {resolve, reject}
      this.backoffMs = 500;
      this.socket = null;
      this.connected = false;
      this.serverDegraded = false;
    }

    get lastSeq() { return Number(localStorage.getItem(this.seqKey) || -1); }
    set lastSeq(seq) { localStorage.setItem(this.seqKey, String(seq)); }

    start() { this.connect(); }

    connect() {
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      const since = this.lastSeq >= 0 ? `&since=${this.lastSeq}` : "";
      const socket = new WebSocket(`${scheme}://${location.host}/ws?token=${encodeURIComponent(token())}${since}`);
      this.socket = socket;
      socket.onopen = () => {
        this.connected = true;
        this.backoffMs = 500;
        this.report();
        this.flushQueue();
      };
      socket.onmessage = message => this.receive(JSON.parse(message.data));
      socket.onclose = event => {
        this.connected = false;
        this.report();
        if (event.code === 4401) { this.onState({revoked: true}); return; }
        setTimeout(() => this.connect(), this.backoffMs);
        this.backoffMs = Math.min(this.backoffMs * 2, 10000);
      };
    }

    report() {
      this.onState({connected: this.connected, degraded: !this.connected || this.serverDegraded, queued: this.queue().length});
    }

    receive(frame) {
      if (frame.type === "event" || frame.type === "snapshot") {
        if (frame.type === "event" && frame.seq <= this.lastSeq) return;
        this.lastSeq = frame.seq;
      }
      if (frame.type === "alert" && frame.kind === "realtime_degraded") {
        this.serverDegraded = frame.active;
        this.report();
      }
      if ((frame.type === "ok" || frame.type === "error") && frame.id) {
        this.dequeue(frame.id);
        const waiter = this.pending.get(frame.id);
        if (waiter) { this.pending.delete(frame.id); frame.type === "ok" ? waiter.resolve(frame.result) : waiter.reject(frame); }
      }
      this.onFrame(frame);
    }

    // Commands survive a reload and a lost connection: stored first, sent in order, removed when answered.
    command(type, fields) {
      const id = `${type}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
      const frame = {type, id, ...fields};
      const queue = this.queue();
      queue.push(frame);
      localStorage.setItem(this.queueKey, JSON.stringify(queue));
      this.report();
      const promise = new Promise((resolve, reject) => this.pending.set(id, {resolve, reject}));
      if (this.connected) this.socket.send(JSON.stringify(frame));
      return promise;
    }

    send(frame) {  // fire-and-forget frames (positions): dropped when offline, the next one replaces them
      if (this.connected) this.socket.send(JSON.stringify(frame));
    }

    queue() { return JSON.parse(localStorage.getItem(this.queueKey) || "[]"); }

    dequeue(id) {
      localStorage.setItem(this.queueKey, JSON.stringify(this.queue().filter(f => f.id !== id)));
      this.report();
    }

    flushQueue() {
      for (const frame of this.queue()) this.socket.send(JSON.stringify(frame));
    }
  }

  return {token, login, logout, api, ApiError, escapeHtml, defineLabels, t, local, setLanguage, getLanguage,
          translatePage, consoleAddOn, clock, minutes, vitalsLine, vitalsHtml, errorText, addBaseMap, Realtime};
})();

// The real-time client of every page: connects to /ws, resumes with the last seq it applied (kept in
// localStorage per page), reconnects with backoff, and replays the offline command queue in order once
// connected. onFrame(frame) gets every frame; onState({connected, degraded, queued, revoked}) the link's state.
import {token} from "./api.js";

export class Realtime {
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

  // The last seq applied: read from localStorage once (a reloaded page resumes there), then kept in memory and
  // written through (read back on every event it was a storage lookup per frame).
  get lastSeq() {
    if (this.seq === undefined) this.seq = Number(localStorage.getItem(this.seqKey) || -1);
    return this.seq;
  }
  set lastSeq(seq) { this.seq = seq; localStorage.setItem(this.seqKey, String(seq)); }

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
    this.onState({connected: this.connected, degraded: !this.connected || this.serverDegraded || this.databaseDegraded,
                  databaseDegraded: !!this.databaseDegraded, queued: this.queue().length});
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
    if (frame.type === "alert" && frame.kind === "database_degraded") {  // the primary database is failing over
      this.databaseDegraded = frame.active;
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

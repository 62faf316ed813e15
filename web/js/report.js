// KPI report page: NFPA-style intervals per colour and per day from /api/v1/reports/kpi, drawn as SVG charts,
// with the same figures as CSV.
import {ApiError, api, errorText, token} from "./api.js";
import {minutes} from "./format.js";
import {html, render} from "./html.js";
import {defineLabels, languageSelector, t} from "./i18n.js";
import "./labels.js";
import {figureHeadings, renderCalls} from "./report-calls.js";

defineLabels({
  "report.title": {th: "รายงานตัวชี้วัด EMS", en: "EMS KPI report"},
  "report.console": {th: "ศูนย์สั่งการ", en: "Console"},
  "report.from": {th: "ตั้งแต่", en: "From"},
  "report.to": {th: "ถึง", en: "To"},
  "report.load": {th: "แสดง", en: "Show"},
  "report.csv": {th: "ดาวน์โหลด CSV", en: "Download CSV"},
  "report.note": {th: "ช่วงเวลาจากบันทึกเหตุการณ์: รับแจ้ง→สั่งการ, สั่งการ→ออกรถ, ออกรถ→ถึงที่เกิดเหตุ, ณ ที่เกิดเหตุ, นำส่ง, ส่งมอบ; เวลาตอบสนอง = รับแจ้ง→ถึงที่เกิดเหตุ",
                  en: "Intervals from the event log: call processing (received → assigned), turnout (assigned → en route), travel (en route → on scene), on scene, transport, handover; response = received → on scene."},
  "report.by_colour": {th: "ค่ามัธยฐาน / เปอร์เซ็นไทล์ 90 ตามระดับสี (นาที)", en: "p50 / p90 by colour (minutes)"},
  "report.by_day": {th: "เวลาตอบสนองรายวัน p50 / p90 (นาที)", en: "Response p50 / p90 per day (minutes)"},
  "report.table": {th: "ทุกช่วงเวลา", en: "All intervals"},
  "report.col.day": {th: "วัน", en: "day"},
  "report.col.colour": {th: "ระดับสี", en: "colour"},
  "report.col.interval": {th: "ช่วงเวลา", en: "interval"},
  "report.all": {th: "ทั้งหมด", en: "all"},
  "report.interval.call_processing": {th: "รับแจ้ง→สั่งการ", en: "call processing"},
  "report.interval.turnout": {th: "สั่งการ→ออกรถ", en: "turnout"},
  "report.interval.travel": {th: "ออกรถ→ถึงที่เกิดเหตุ", en: "travel"},
  "report.interval.on_scene": {th: "ณ ที่เกิดเหตุ", en: "on scene"},
  "report.interval.transport": {th: "นำส่ง", en: "transport"},
  "report.interval.handover": {th: "ส่งมอบ", en: "handover"},
  "report.interval.response": {th: "เวลาตอบสนอง", en: "response"},
  "report.headline": {th: "ผู้ป่วยสีแดงได้รับการช่วยเหลือภายใน 8 นาที {pct}% ({n} ราย)",
                      en: "Red patients reached within 8 minutes: {pct}% ({n} incidents)"},
});

const COLOURS = {red: "#c62828", yellow: "#f9a825", green: "#2e7d32", white: "#90a4ae", all: "#1565c0"};
const INTERVALS = ["call_processing", "turnout", "travel", "on_scene", "transport", "handover", "response"];
const $ = selector => document.querySelector(selector);
const intervalName = interval => t("report.interval." + interval);
const colourName = colour => (colour === "all" ? t("report.all") : t("colour." + colour));

function svgBars(svg, groups, series) {
  // groups: labels on the x axis; series: [{name, colour, values: [[p50, p90] per group]}]
  const width = Number(svg.getAttribute("width")), height = Number(svg.getAttribute("height")), bottom = 30;
  const max = Math.max(1, ...series.flatMap(s => s.values.flat().filter(v => v !== null))) / 60;
  const slot = (width - 40) / groups.length, bar = slot / (series.length + 1);
  const y = minutes => height - bottom - (minutes / max) * (height - bottom - 10);
  const parts = [html`<line x1="40" x2="${width}" y1="${height - bottom}" y2="${height - bottom}" stroke="#90a4ae"/>`];
  for (let tick = 0; tick <= max; tick += Math.max(1, Math.ceil(max / 5))) {
    parts.push(html`<text x="4" y="${y(tick) + 4}">${tick}</text><line x1="36" x2="${width}" y1="${y(tick)}" y2="${y(tick)}" stroke="#eceff1"/>`);
  }
  groups.forEach((label, g) => {
    parts.push(html`<text x="${40 + g * slot + slot / 2}" y="${height - 10}" text-anchor="middle">${label}</text>`);
    series.forEach((s, i) => {
      const [p50, p90] = s.values[g];
      if (p50 === null) return;
      const x = 40 + g * slot + (i + 0.5) * bar;
      parts.push(html`<rect x="${x}" y="${y(p90 / 60)}" width="${bar * 0.8}" height="${y(0) - y(p90 / 60)}" fill="${s.colour}" opacity="0.35"><title>${s.name} p90 ${minutes(p90)}</title></rect>`);
      parts.push(html`<rect x="${x}" y="${y(p50 / 60)}" width="${bar * 0.8}" height="${y(0) - y(p50 / 60)}" fill="${s.colour}"><title>${s.name} p50 ${minutes(p50)}</title></rect>`);
    });
  });
  render(svg, html`${parts}`);
}

function renderReport(report) {
  const pick = (day, colour, interval) => report.intervals.find(r => r.day === day && r.colour === colour && r.interval === interval);
  const red = report.response.by_colour.red;
  $("#headline").textContent = t("report.headline", {pct: report.response.red_within_8min_pct ?? "—", n: red.incidents});
  svgBars($("#chart"), INTERVALS.map(intervalName), ["red", "yellow", "green", "white"].map(colour => ({
    name: colourName(colour), colour: COLOURS[colour], values: INTERVALS.map(i => { const r = pick("all", colour, i); return [r.p50_s, r.p90_s]; })})));
  const days = [...new Set(report.intervals.map(r => r.day).filter(d => d !== "all"))];
  svgBars($("#daily"), days, [{name: intervalName("response"), colour: COLOURS.all,
                               values: days.map(d => { const r = pick(d, "all", "response"); return [r.p50_s, r.p90_s]; })}]);
  render($("#table"), html`<table><tr>${["day", "colour", "interval"].map(c => html`<th>${t("report.col." + c)}</th>`)}${figureHeadings()}</tr>
    ${report.intervals.filter(r => r.n > 0).map(r => html`<tr><td>${r.day === "all" ? t("report.all") : r.day}</td><td>${colourName(r.colour)}</td><td>${intervalName(r.interval)}</td><td>${r.n}</td>
      <td>${minutes(r.p50_s)}</td><td>${minutes(r.p90_s)}</td><td>${minutes(r.mean_s)}</td></tr>`)}</table>`);
  renderCalls(report.calls);
}

function query() {
  const params = new URLSearchParams();
  if ($("#from").value) params.set("from", $("#from").value);
  if ($("#to").value) params.set("to", $("#to").value);
  return params.toString() ? `?${params}` : "";
}

async function load() {
  $("#error").textContent = "";
  try {
    const report = await api("GET", `/api/v1/reports/kpi${query()}`);
    $("#from").value = report.from;
    $("#to").value = report.to;
    renderReport(report);
  } catch (error) {
    $("#error").textContent = errorText(error);
  }
}

async function downloadCsv() {
  const res = await fetch(`/api/v1/reports/kpi.csv${query()}`, {headers: {"Authorization": `Bearer ${token()}`}});
  if (!res.ok) { $("#error").textContent = errorText(new ApiError(res.status, await res.json().catch(() => null))); return; }
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await res.blob());
  link.download = `kpi${query().replace(/[?&=]/g, "-")}.csv`;
  link.click();
}

$("#load").addEventListener("click", load);
$("#csv").addEventListener("click", downloadCsv);
languageSelector($("#lang"), load);  // the headline is drawn by load
load();

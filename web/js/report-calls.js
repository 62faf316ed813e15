// The KPI report's call figures (issue #18): NFPA 1225 call answering (queued → answered, target 15 s for 90 %)
// and alarm processing (answered → first unit assigned, target 60 s for 90 %), with time to location and to the
// CBD code, from /api/v1/reports/kpi's `calls`.
import {html, render} from "./html.js";
import {defineLabels, t} from "./i18n.js";

defineLabels({
  "report.col.n": {th: "จำนวน", en: "n"},
  "report.col.mean": {th: "ค่าเฉลี่ย", en: "mean"},
  "report.calls": {th: "การรับสาย 1669 (NFPA 1225)", en: "1669 calls (NFPA 1225)"},
  "report.calls.headline": {
    th: "รับสายภายใน {answer} วินาที {answer_pct}% · สั่งการภายใน {dispatch} วินาทีหลังรับสาย {dispatch_pct}% (เป้าหมาย {share}%) · {calls} สาย, วางสายก่อนรับ {abandoned}",
    en: "Answered within {answer} s: {answer_pct}% · dispatched within {dispatch} s of answer: {dispatch_pct}% (target {share} % each) · {calls} calls, {abandoned} abandoned"},
  "report.calls.answer": {th: "รอรับสาย", en: "Answer time"},
  "report.calls.to_location": {th: "รับสาย → ได้ตำแหน่ง", en: "Answer → location"},
  "report.calls.to_code": {th: "รับสาย → ได้รหัส CBD", en: "Answer → CBD code"},
  "report.calls.to_dispatch": {th: "รับสาย → สั่งการ", en: "Answer → dispatch"},
});

const panel = document.createElement("div");
panel.className = "panel";
panel.id = "calls-report";
document.querySelector("main").append(panel);

// The figure columns every KPI table shares (the intervals' table on the page too).
export const figureHeadings = () => html`<th>${t("report.col.n")}</th><th>p50</th><th>p90</th><th>${t("report.col.mean")}</th>`;

const seconds = value => (value === null || value === undefined ? "—" : `${value} s`);

export function renderCalls(calls) {
  if (!calls) return;
  render(panel, html`<h3>${t("report.calls")}</h3>
    <div class="headline" id="calls-headline">${t("report.calls.headline", {
      answer: calls.answer_target_s, answer_pct: calls.answered_within_target_pct ?? "—",
      dispatch: calls.dispatch_target_s, dispatch_pct: calls.dispatched_within_target_pct ?? "—",
      share: calls.target_share_pct, calls: calls.calls, abandoned: calls.abandoned})}</div>
    <table id="calls-table"><tr><th></th>${figureHeadings()}</tr>
    ${Object.entries(calls.intervals).map(([name, s]) => html`<tr data-interval="${name}"><td>${t("report.calls." + name)}</td>
      <td>${s.n}</td><td>${seconds(s.p50_s)}</td><td>${seconds(s.p90_s)}</td><td>${seconds(s.mean_s)}</td></tr>`)}</table>`);
}

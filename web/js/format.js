// How times, durations and vital signs read on every page, in the page's language.
import {html} from "./html.js";
import {getLanguage, t} from "./i18n.js";

const clockFormats = {};  // one formatter per language: toLocaleTimeString builds one per call (slow on long lists)

export function clock(iso) {
  if (!iso) return "";
  const lang = getLanguage();
  clockFormats[lang] ||= new Intl.DateTimeFormat(lang === "th" ? "th-TH" : "en-GB",
                                                 {hour: "2-digit", minute: "2-digit", second: "2-digit"});
  return clockFormats[lang].format(new Date(iso));
}

// Seconds as m:ss ("—" when unknown).
export function minutes(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const m = Math.floor(seconds / 60), s = Math.round(seconds % 60);
  return `${m}:${String(s).padStart(2, "0")}`;
}

// A distance in the page's language and units: "350 m" / "350 ม." under a kilometre, "2.4 km" / "2.4 กม." above
// (labels distance.m, distance.km); "—" when unknown.
export function distance(metres) {
  if (metres === null || metres === undefined || !Number.isFinite(Number(metres))) return "—";
  const m = Math.round(Number(metres));
  return m < 1000 ? t("distance.m", {n: m}) : t("distance.km", {n: (m / 1000).toFixed(1)});
}

// One recorded set on one line, e.g. "HR 128 · BP 90/60 · RR 28 · SpO₂ 91% · GCS 14 · 38.4 °C" (labels: vitals.*).
export function vitalsLine(v) {
  if (!v) return "";
  const bp = v.systolic_bp != null || v.diastolic_bp != null ? `${t("vitals.bp")} ${v.systolic_bp ?? "—"}/${v.diastolic_bp ?? "—"}` : null;
  return [v.heart_rate != null ? `${t("vitals.hr")} ${v.heart_rate}` : null, bp,
          v.respiratory_rate != null ? `${t("vitals.rr")} ${v.respiratory_rate}` : null,
          v.spo2 != null ? `SpO₂ ${v.spo2}%` : null, v.gcs != null ? `GCS ${v.gcs}` : null,
          v.temperature != null ? `${v.temperature} °C` : null].filter(Boolean).join(" · ");
}

// The latest set as the console and the hospital board show it, with when it was taken.
export function vitalsHtml(latest) {
  return latest ? html`<div class="vitals"><b>${t("vitals.title")}</b> ${vitalsLine(latest)}
      <span class="muted">${clock(latest.recorded_at)}</span></div>` : html``;
}

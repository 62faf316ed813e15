// An ETA that is not a road ETA: the unit, the incident or the hospital lies outside the road graph's coverage
// (farther from any road than the snapping limit), so the server could only estimate it along a straight line
// (`outside_coverage`, `eta_source: "straight_line"`, `snap_distance_m` on recommendations, routes, destinations
// and inbound patients). Every page that shows such an ETA shows warningBadge() beside it, and the console's
// buttons and shortcuts act on such an entry only on a second, deliberate press (confirmOutsideCoverage).
import {html} from "./html.js";
import {t} from "./i18n.js";
import {pageSettings} from "./settings.js";

export function isEstimate(entry) {
  return Boolean(entry && (entry.outside_coverage || entry.eta_source === "straight_line"));
}

function distanceText(metres) {
  return metres >= 1000 ? t("eta.km_from_road", {km: (metres / 1000).toFixed(1)})
                        : t("eta.m_from_road", {m: Math.round(metres)});
}

// "⚠ Outside road coverage · straight-line estimate · 1.2 km from a road", or nothing for a road ETA.
export function warningText(entry) {
  if (!isEstimate(entry)) return "";
  const parts = [t(entry.outside_coverage ? "eta.outside_coverage" : "eta.estimate")];
  if (entry.eta_source === "straight_line") parts.push(t("eta.straight_line"));
  if (typeof entry.snap_distance_m === "number" && entry.snap_distance_m > 0) parts.push(distanceText(entry.snap_distance_m));
  return `⚠ ${parts.join(" · ")}`;
}

export function warningBadge(entry) {
  return isEstimate(entry) ? html`<span class="badge coverage-warning" data-coverage-warning>${warningText(entry)}</span>` : html``;
}

// Wires a button that sends a unit or a patient on the strength of `entry`'s ETA. For a road ETA a press acts at
// once; for an estimate the first press (a click, or a shortcut that clicks it) only arms the button and shows
// the warning on it, and the second press acts, so nothing is sent on an ETA the dispatcher has not seen flagged.
// `key` names what the button sends (e.g. "unit:7:CB-ALS-01"): a first press stays armed for the confirm window
// even if a live update draws the list again in between, so the dispatcher's second press still acts.
const armedUntil = new Map();
export function confirmOutsideCoverage(button, entry, action, key) {
  const arm = () => {
    button.classList.add("armed");
    button.textContent = t("eta.confirm");
    button.title = warningText(entry);
  };
  if (isEstimate(entry) && (armedUntil.get(key) || 0) > Date.now()) arm();
  button.addEventListener("click", () => {
    if (isEstimate(entry) && !button.classList.contains("armed")) {
      arm();
      const now = Date.now();
      for (const [armed, until] of armedUntil) if (until <= now) armedUntil.delete(armed);  // bounded by the window
      armedUntil.set(key, now + pageSettings.confirm_window_s * 1000);
      return;
    }
    armedUntil.delete(key);
    action();
  });
}

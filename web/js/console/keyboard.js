// Keyboard shortcuts (the ? panel lists them): N new incident, J/K next/previous, A assign the top unit,
// D send to the top hospital, C draw a closure, Enter finish it, Esc cancel. A and D press the same buttons a
// click would, so an ETA outside road coverage needs the same second press.
import {isDrawing, saveClosure, startDrawing, stopDrawing} from "./closures.js";
import {closeIntake, openIntake} from "./intake.js";
import {queuedIds} from "./queue.js";
import {select, state} from "./store.js";

const shortcuts = document.querySelector("#shortcuts");

function toggleShortcuts(show) {
  shortcuts.hidden = show === undefined ? !shortcuts.hidden : !show;
}

document.querySelector("#shortcuts-btn").addEventListener("click", () => toggleShortcuts());

document.addEventListener("keydown", e => {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  if (["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement.tagName)) {
    if (e.key === "Escape") document.activeElement.blur();
    return;
  }
  const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  const ids = queuedIds();
  const at = ids.indexOf(state.selected);
  if (key === "n") { stopDrawing(); openIntake(); e.preventDefault(); }
  else if (key === "j" && ids.length) select(ids[Math.min(at + 1, ids.length - 1)]);
  else if (key === "k" && ids.length) select(ids[Math.max(at - 1, 0)]);
  else if (key === "a" && state.selected) document.querySelector("#recommendations button[data-unit]")?.click();
  else if (key === "d" && state.selected) document.querySelector("#destinations button[data-hospital]")?.click();
  else if (key === "c") startDrawing();
  else if (key === "Enter" && isDrawing()) saveClosure();
  else if (key === "?") toggleShortcuts();
  else if (key === "Escape") { closeIntake(); stopDrawing(); toggleShortcuts(false); }
});

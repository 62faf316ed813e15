// A suggestion list under a text box (the ARIA combobox pattern), as the new-call form's location and complaint
// boxes use it: ↑ / ↓ move the active suggestion round the list, Enter picks it, Escape closes the list, a click
// (mousedown, so the box keeps the focus) picks the one clicked. The caller decides what is suggested (show) and
// what a pick does (onPick).
import {html, render} from "../html.js";

// `label(option, n)`: what a suggestion reads (html`…` or text); `data(option)`: extra data-* attributes of its
// <li> ({group: 7} → data-group="7"); `hint()`: a last line under any suggestions; `onDraw(options, active)`: after
// each redraw; `canPick()`: false while Enter must not pick what is listed (the caller handles it).
// Returns {show(options), clear(), pick(n)}.
export function wireListbox({input, list, label, data = () => ({}), hint = null, onPick, onDraw = () => {},
                             canPick = () => true}) {
  let options = [], active = 0;

  function draw() {
    input.setAttribute("aria-expanded", String(options.length > 0));
    render(list, html`${options.map((option, n) => html`<li role="option" data-index="${n}" ${dataAttributes(option)}
        aria-selected="${n === active}" class="${n === active ? "active" : ""}">${label(option, n)}</li>`)}
      ${options.length && hint ? html`<li class="muted hint">${hint()}</li>` : ""}`);
    onDraw(options, active);
  }

  function dataAttributes(option) {
    return Object.entries(data(option)).map(([name, value]) => html`data-${name}="${value}" `);
  }

  function show(shown) {
    options = shown;
    active = 0;
    draw();
  }

  function clear() { show([]); }

  function pick(n) {
    const chosen = options[n];
    clear();
    if (chosen) onPick(chosen);
  }

  input.addEventListener("keydown", e => {
    if ((e.key === "ArrowDown" || e.key === "ArrowUp") && options.length) {
      active = (active + (e.key === "ArrowDown" ? 1 : options.length - 1)) % options.length;
      draw();
      e.preventDefault();
    } else if (e.key === "Enter" && options.length && canPick()) {
      pick(active);
      e.preventDefault();
    } else if (e.key === "Escape") {
      clear();
    }
  });
  list.addEventListener("mousedown", e => {
    const item = e.target.closest("li[data-index]");
    if (item) { e.preventDefault(); pick(Number(item.dataset.index)); }
  });
  return {show, clear, pick};
}

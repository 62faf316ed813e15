// The chief complaint in the new-call form (issue #16) opens its CBD card: what is typed ("ชายหมดสติ", "chest
// pain", "17") is matched to the cards' names, the best ones are listed under the box, and ↑ / ↓ / Enter open the
// chosen card's key questions in the interview panel (interview.js).
import {api} from "../api.js";
import {html, render} from "../html.js";
import {local, t} from "../i18n.js";

const SHOWN = 3;
let cards = [];
api("GET", "/api/v1/triage/cards").then(body => { cards = body.groups; }).catch(() => {});

// Words of a card's names (Thai and English, lower case, at least two letters).
function words(card) {
  return `${card.name_th} ${card.name_en}`.toLowerCase().split(/[\s,;:/()]+/).filter(w => w.length >= 2);
}

// How well `text` names `card`: whole name words found in the text, and typed words that begin a name word.
function score(card, text) {
  const typed = text.toLowerCase().split(/[\s,;:/()]+/).filter(w => w.length >= 3);
  const names = words(card);
  if (String(card.group) === text.trim()) return 10;
  return names.filter(w => text.toLowerCase().includes(w)).length
    + typed.filter(w => names.some(n => n.startsWith(w))).length * 0.5;
}

// The cards that match `text`, best first (at most SHOWN).
export function matchingCards(text) {
  if (!text.trim()) return [];
  return cards.map(card => ({card, s: score(card, text)})).filter(m => m.s > 0)
    .sort((a, b) => b.s - a.s || a.card.group - b.card.group).slice(0, SHOWN).map(m => m.card);
}

// Wires the complaint box: `onCard(group)` when a card is chosen.
export function wireComplaint({input, list, onCard}) {
  let shown = [], active = 0;
  function draw() {
    input.setAttribute("aria-expanded", String(shown.length > 0));
    render(list, html`${shown.map((c, n) => html`<li role="option" data-group="${c.group}" aria-selected="${n === active}"
        class="${n === active ? "active" : ""}"><b>${c.group}</b> ${local(c, "name")}</li>`)}
      ${shown.length ? html`<li class="muted hint">${t("complaint.pick")}</li>` : ""}`);
  }
  function choose(group) {
    shown = [];
    draw();
    onCard(group);
  }
  input.addEventListener("input", () => { shown = matchingCards(input.value); active = 0; draw(); });
  input.addEventListener("keydown", e => {
    if ((e.key === "ArrowDown" || e.key === "ArrowUp") && shown.length) {
      active = (active + (e.key === "ArrowDown" ? 1 : shown.length - 1)) % shown.length;
      draw();
      e.preventDefault();
    } else if (e.key === "Enter" && shown.length) {
      choose(shown[active].group);
      e.preventDefault();
    } else if (e.key === "Escape") {
      shown = [];
      draw();
    }
  });
  list.addEventListener("mousedown", e => {
    const item = e.target.closest("li[data-group]");
    if (item) { e.preventDefault(); choose(Number(item.dataset.group)); }
  });
  return {clear: () => { shown = []; draw(); }};
}

// The chief complaint in the new-call form (issue #16) opens its CBD card: what is typed ("ชายหมดสติ", "chest
// pain", "17") is matched to the cards' names, the best ones are listed under the box, and ↑ / ↓ / Enter open the
// chosen card's key questions in the interview panel (interview.js).
import {api} from "../api.js";
import {html} from "../html.js";
import {local, t} from "../i18n.js";
import {wireListbox} from "./listbox.js";

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
  const box = wireListbox({input, list, label: card => html`<b>${card.group}</b> ${local(card, "name")}`,
                           data: card => ({group: card.group}), hint: () => t("complaint.pick"),
                           onPick: card => onCard(card.group)});
  input.addEventListener("input", () => box.show(matchingCards(input.value)));
  return {clear: box.clear};
}

// The chief complaint in the new-call form (issue #16) opens its CBD card: what is typed ("ชายหมดสติ", "chest
// pain", "17") is matched to the cards' names, the best ones are listed under the box, and ↑ / ↓ / Enter open the
// chosen card's key questions in the interview panel (interview.js). The cards' names and keywords (Thai and
// English) come with the cards from the server (dispatch/data/cbd_cards.json).
import {api} from "../api.js";
import {html} from "../html.js";
import {local, t} from "../i18n.js";
import {rankCards} from "./cardmatch.js";
import {wireListbox} from "./listbox.js";

const SHOWN = 3;
let cards = [];
api("GET", "/api/v1/triage/cards").then(body => { cards = body.groups; }).catch(() => {});

// The cards that match `text`, best first (at most SHOWN): cardmatch.js, which matches Thai without spaces.
export function matchingCards(text) {
  return rankCards(cards, text, SHOWN);
}

// Wires the complaint box: `onCard(group)` when a card is chosen.
export function wireComplaint({input, list, onCard}) {
  const box = wireListbox({input, list, label: card => html`<b>${card.group}</b> ${local(card, "name")}`,
                           data: card => ({group: card.group}), hint: () => t("complaint.pick"),
                           onPick: card => onCard(card.group)});
  input.addEventListener("input", () => box.show(matchingCards(input.value)));
  return {clear: box.clear};
}

// Which CBD cards a typed chief complaint names (complaint.js), by each card's names and keywords
// (dispatch/data/cbd_cards.json, the one source). Thai is written without spaces between words ("เจ็บหน้าอก",
// "หัวใจหยุดเต้น"), so Thai is matched by shared runs of characters, anywhere in the text: a term found whole counts
// its length, a shared run of at least MIN_THAI characters counts less (run² / term length), so "หัวใจหยุด" is card 6
// (หัวใจหยุดเต้น, 9 shared) before card 7 (หัวใจ, 5). Latin text is matched by whole words: a term's words found in a
// row, or the word being typed (the last) beginning a term's word ("chest p" → chest pain).

const THAI = /[\u0E00-\u0E7F]/;
const MIN_THAI = 3;  // a shared run shorter than this (ใจ, ไม่) says nothing of the complaint
const WORD = /[a-z0-9]+/g;
const OTHERS = 0.2;  // the best term decides; the card's other terms found (often parts of the same words) only tip a tie

// The card's terms: its names' parts (split at spaces and punctuation) and its keywords, lower case.
export function cardTerms(card) {
  const parts = `${card.name_th} ${card.name_en}`.toLowerCase().split(/[\s,;:/()]+/).filter(w => w.length >= 2);
  return [...new Set([...parts, ...(card.keywords || []).map(k => k.toLowerCase())])];
}

// The longest run of characters `a` and `b` share.
function sharedRun(a, b) {
  let best = 0;
  const row = new Array(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = 0;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = a[i - 1] === b[j - 1] ? diagonal + 1 : 0;
      if (row[j] > best) best = row[j];
      diagonal = above;
    }
  }
  return best;
}

function termScore(term, text, words) {
  if (THAI.test(term)) {
    const run = sharedRun(term, text);
    return run >= Math.min(MIN_THAI, term.length) ? run * run / term.length : 0;
  }
  const termWords = term.match(WORD) || [];
  if (!termWords.length) return 0;
  for (let i = 0; i + termWords.length <= words.length; i++) {
    if (termWords.every((w, n) => words[i + n] === w)) return term.length;
  }
  const typing = words.at(-1);  // the word still being typed
  if (typing && typing.length >= 3 && termWords.at(-1).startsWith(typing)
      && words.length >= termWords.length && termWords.slice(0, -1).every((w, n) => words[words.length - termWords.length + n] === w)) return typing.length * 0.5;
  return 0;
}

// How well `text` names `card` (0: not at all): its best term, and a little for each other term found. The card's number typed alone names it.
export function cardScore(card, text) {
  const typed = text.trim().toLowerCase();
  if (!typed) return 0;
  if (String(card.group) === typed) return 100;
  const words = typed.match(WORD) || [];
  const scores = cardTerms(card).map(term => termScore(term, typed, words)).sort((a, b) => b - a);
  return scores[0] + OTHERS * scores.slice(1).reduce((sum, s) => sum + s, 0);
}

// The cards `text` names, best first (at most `shown`).
export function rankCards(cards, text, shown = 3) {
  return cards.map(card => ({card, s: cardScore(card, text)})).filter(m => m.s > 0)
    .sort((a, b) => b.s - a.s || a.card.group - b.card.group).slice(0, shown).map(m => m.card);
}

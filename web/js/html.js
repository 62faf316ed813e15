// The one way the pages build markup. html`…` escapes every interpolated value, so text from callers, crews and
// the server (complaints, names, SMS bodies, reasons) is shown literally and never run (RELIABILITY 20); a value
// that is itself html`…` is kept as markup, arrays are joined, and null, undefined and false render as nothing.
// render() and element() are the only places a page parses markup (tests/web/test_modules.py checks it).

const ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;", "`": "&#96;"};

// Markup that is safe by construction: only html`…` makes one.
class Html {
  constructor(markup) { this.markup = markup; }
  toString() { return this.markup; }
}

export function escapeHtml(value) {
  return String(value).replace(/[&<>"'`]/g, c => ENTITIES[c]);
}

function piece(value) {
  if (value === null || value === undefined || value === false) return "";
  if (value instanceof Html) return value.markup;
  if (Array.isArray(value)) return value.map(piece).join("");
  return escapeHtml(value);
}

export function html(strings, ...values) {
  let markup = strings[0];
  values.forEach((value, i) => { markup += piece(value) + strings[i + 1]; });
  return new Html(markup);
}

function checked(template) {
  if (!(template instanceof Html)) throw new TypeError("markup must come from html`…`, not a string");
  return template.markup;
}

// Replaces an element's content with the template's markup.
export function render(element, template) {
  element.innerHTML = checked(template);
}

// The template's single top-level element, detached: for Leaflet icons and tooltips, which would otherwise
// parse a string as markup themselves.
export function element(template) {
  const holder = document.createElement("template");
  holder.innerHTML = checked(template).trim();
  if (holder.content.childElementCount !== 1) throw new Error("element() needs exactly one top-level element");
  return holder.content.firstElementChild;
}

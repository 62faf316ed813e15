// Thai and English for every page: the label dictionary (filled by labels.js and page modules), the chosen
// language (remembered per browser), and the bilingual fields the API sends (name_th / name_en, {th, en}).

let dictionary = {};
let language = localStorage.getItem("ems.lang") || (navigator.language || "th").slice(0, 2);
if (!["th", "en"].includes(language)) language = "th";

export function defineLabels(labels) {
  dictionary = {...dictionary, ...labels};
}

// The label in the page's language, with {name} placeholders filled; an unknown key comes back as the key. A var
// the entry lists in `params` ({status: "unit"}) is itself shown through its label (unit.<value>) when there is one.
export function t(key, vars) {
  const entry = dictionary[key];
  let text = entry ? (entry[language] || entry.en) : key;
  for (const [name, value] of Object.entries(vars || {})) {
    const shown = entry?.params?.[name] ? labelOr(`${entry.params[name]}.${value}`, value) : value;
    text = text.replace(`{${name}}`, shown);
  }
  return text;
}

// A label for a value the server sends (a status, a message kind), or the value itself when we have none.
export function labelOr(key, fallback) {
  return t(key) === key ? fallback : t(key);
}

export function getLanguage() { return language; }

export function setLanguage(lang) {
  language = lang;
  localStorage.setItem("ems.lang", lang);
  document.documentElement.lang = lang;
  translatePage();
}

// Every element with data-t="key" gets that label as its text.
export function translatePage(root) {
  (root || document).querySelectorAll("[data-t]").forEach(el => { el.textContent = t(el.dataset.t); });
}

// The Thai or English member of a bilingual object: local(hospital, "name") → name_th or name_en; local(q) → q.th or q.en.
export function local(obj, field) {
  return field ? (obj[`${field}_${language}`] ?? obj[`${field}_en`]) : (obj[language] ?? obj.en);
}

// The page's language selector: shows the current language and calls onChange after switching.
export function languageSelector(select, onChange) {
  select.value = language;
  select.addEventListener("change", () => { setLanguage(select.value); if (onChange) onChange(); });
  setLanguage(language);
}

// Every label's text per language, with {placeholders} left out (the browser tests compare what a page shows in
// one language with the other language's labels).
export function labelValues() {
  const values = {th: [], en: []};
  for (const entry of Object.values(dictionary)) {
    for (const lang of ["th", "en"]) if (entry[lang] && !entry[lang].includes("{")) values[lang].push(entry[lang]);
  }
  return values;
}

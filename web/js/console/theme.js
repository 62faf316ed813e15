// Light or dark: follows the system (prefers-color-scheme), live (a desk set to turn dark at night turns the open
// console dark too), until the dispatcher switches it; then remembered, and the console's other windows follow.
const button = document.querySelector("#theme-btn");
const KEY = "ems.console.theme";
const systemDark = matchMedia("(prefers-color-scheme: dark)");

function apply(theme) {
  document.documentElement.dataset.theme = theme;
  button?.setAttribute("aria-pressed", String(theme === "dark"));
}

function current() {
  return localStorage.getItem(KEY) || (systemDark.matches ? "dark" : "light");
}

apply(current());
systemDark.addEventListener("change", () => apply(current()));
addEventListener("storage", event => { if (event.key === KEY) apply(current()); });  // switched in another window
button?.addEventListener("click", () => {
  const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
  localStorage.setItem(KEY, next);
  apply(next);
});

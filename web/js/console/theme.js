// Light or dark: follows the system (prefers-color-scheme) until the dispatcher switches it, then remembered.
const button = document.querySelector("#theme-btn");
const stored = localStorage.getItem("ems.console.theme");

function apply(theme) {
  document.documentElement.dataset.theme = theme;
  button?.setAttribute("aria-pressed", String(theme === "dark"));
}

apply(stored || (matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light"));
button?.addEventListener("click", () => {
  const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
  localStorage.setItem("ems.console.theme", next);
  apply(next);
});

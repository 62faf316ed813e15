// Destructive actions ask first: the first press arms the button (it says what a second press will do), a second
// press within the confirm window (pageSettings.confirm_window_s) acts, and after that the button goes back to its
// first state by itself. Used for close and cancel, merging a repeat call into another incident, and reopening a
// closed road.
import {pageSettings} from "../settings.js";

// button: the button; confirmText(): what the armed button says; action(): what the second press does;
// ready() (optional): false to refuse the first press (e.g. a required choice is missing).
export function askFirst(button, {confirmText, action, ready = () => true}) {
  const original = [...button.childNodes].map(n => n.cloneNode(true));  // its label, with any <kbd> hint
  let armedUntil = 0, timer = null;
  function disarm() {
    armedUntil = 0;
    button.classList.remove("armed");
    button.replaceChildren(...original.map(n => n.cloneNode(true)));
  }
  button.addEventListener("click", async () => {
    if (!ready()) return;
    if (Date.now() > armedUntil) {
      const window_ms = pageSettings.confirm_window_s * 1000;
      armedUntil = Date.now() + window_ms;
      button.classList.add("armed");
      button.textContent = confirmText();
      clearTimeout(timer);
      timer = setTimeout(disarm, window_ms);
      return;
    }
    clearTimeout(timer);
    button.disabled = true;
    try { await action(); } finally { if (button.isConnected) { button.disabled = false; disarm(); } }
  });
}

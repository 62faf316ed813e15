// Destructive actions ask first: the first press arms the button (it says what a second press will do), a second
// press within ARM_MS acts, and after that the button goes back to its first state by itself. Used for close and
// cancel, merging a repeat call into another incident, and reopening a closed road.
export const ARM_MS = 5000;

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
      armedUntil = Date.now() + ARM_MS;
      button.classList.add("armed");
      button.textContent = confirmText();
      clearTimeout(timer);
      timer = setTimeout(disarm, ARM_MS);
      return;
    }
    clearTimeout(timer);
    button.disabled = true;
    try { await action(); } finally { if (button.isConnected) { button.disabled = false; disarm(); } }
  });
}

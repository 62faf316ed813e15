// A console panel that a module builds for itself (coverage, replay, the unit board, the interview, the 1669 call
// queue, mutual aid): <div class="panel" id=…>, by default hidden until its module shows it, and by default on top
// of the detail column (`place` puts it elsewhere). A leaf module, so any panel's module may import it.
export function sidePanel(id, {hidden = true, place = panel => document.querySelector("#detail").prepend(panel)} = {}) {
  const panel = document.createElement("div");
  panel.id = id;
  panel.className = "panel";
  panel.hidden = hidden;
  place(panel);
  return panel;
}

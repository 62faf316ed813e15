// A second console window (another monitor) follows this one: selecting an incident in either selects it in
// every console window of this browser (BroadcastChannel; each window keeps its own live link, so their queues
// and maps already show the same events). "Map window" opens one laid out as a full-screen map.
import {map} from "./map.js";
import {on, select, state} from "./store.js";

const channel = "BroadcastChannel" in window ? new BroadcastChannel("ems-console") : null;
let echo = null;  // the selection that came from another window: not sent back

if (channel) {
  channel.onmessage = message => {
    if (message.data?.selected == null || message.data.selected === state.selected) return;
    echo = message.data.selected;
    select(message.data.selected);
  };
  on("select", id => {
    if (id === echo) { echo = null; return; }
    channel.postMessage({selected: id});
  });
}

if (new URLSearchParams(location.search).get("view") === "map") {
  document.body.classList.add("map-window");
  map.invalidateSize();  // the map was laid out before the page became all map
}
document.querySelector("#map-window-btn")?.addEventListener("click", () =>
  window.open("/console.html?view=map", "ems-console-map", "popup"));

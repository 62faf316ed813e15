// The caller's share-my-location page (opened from an SMS link): one tap sends the phone's position for the
// incident. Standalone and bilingual inline (no label table): it must load fast on any phone.
// The one-time token travels in the URL fragment, so it never reaches server logs or proxies.
const token = new URLSearchParams(location.hash.slice(1)).get("t");
const button = document.getElementById("share");
const status = document.getElementById("status");
function say(text, cls) { status.textContent = text; status.className = cls || ""; }
if (!token) {
  button.disabled = true; say("ลิงก์ไม่ถูกต้อง / This link is not valid.", "err");
} else if (!("geolocation" in navigator)) {
  button.disabled = true; say("โทรศัพท์นี้ไม่รองรับการระบุตำแหน่ง / This phone cannot share its location.", "err");
} else {
  button.addEventListener("click", function () {
    button.disabled = true;
    say("กำลังหาตำแหน่ง… / Finding your location…");
    navigator.geolocation.getCurrentPosition(function (pos) {
      fetch("/api/v1/share/location", {
        method: "POST", headers: {"Content-Type": "application/json"},
        body: JSON.stringify({token: token, location: {lat: pos.coords.latitude, lon: pos.coords.longitude},
                              accuracy_m: pos.coords.accuracy})
      }).then(function (r) {
        if (r.ok) { say("ส่งตำแหน่งแล้ว ขอบคุณ / Location sent. Help is on the way.", "ok"); history.replaceState(null, "", location.pathname); }
        else if (r.status === 404) { say("ลิงก์นี้ใช้แล้วหรือหมดอายุ / This link was already used or has expired.", "err"); }
        else { button.disabled = false; say("ส่งไม่สำเร็จ ลองอีกครั้ง / Could not send — try again.", "err"); }
      }).catch(function () { button.disabled = false; say("ไม่มีสัญญาณ ลองอีกครั้ง / No connection — try again.", "err"); });
    }, function (err) {
      button.disabled = false;
      say(err.code === 1 ? "กรุณาอนุญาตการเข้าถึงตำแหน่ง / Please allow location access."
                         : "หาตำแหน่งไม่ได้ ลองอีกครั้ง / Could not get a position — try again.", "err");
    }, {enableHighAccuracy: true, timeout: 20000, maximumAge: 0});
  });
}

// The login page: user and password for a token, then the page for the user's role.
import {login} from "./api.js";

const PAGES = {dispatcher: "/console.html", admin: "/console.html", crew: "/tablet.html", hospital: "/hospital.html"};

document.getElementById("login").addEventListener("submit", async e => {
  e.preventDefault();
  try {
    const me = await login(document.getElementById("user").value, document.getElementById("password").value);
    location.href = PAGES[me.role] || "/console.html";
  } catch (err) { document.getElementById("error").textContent = err.message; }
});

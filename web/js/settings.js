// The pages' tunable numbers (stale GPS age, tablet GPS period, hospital board refresh, confirm windows), set on
// the server (config.py, EMS_PAGE_*) and read from /api/v1/page-settings at start. Until that answer is in, and on
// a tablet started offline, a page uses the last answer it kept, else the server's defaults copied here.
import {api, token} from "./api.js";

const KEY = "ems.page-settings";
export const pageSettings = {stale_position_s: 120, tablet_ping_s: 5, hospital_refresh_s: 15, confirm_window_s: 5,
                             repeat_assignment_s: 8, ...JSON.parse(localStorage.getItem(KEY) || "{}")};

// Resolves with pageSettings once the server answered (or could not be reached).
export const settingsReady = (token() ? api("GET", "/api/v1/page-settings") : Promise.reject(new Error("signed out")))
  .then(body => { Object.assign(pageSettings, body); localStorage.setItem(KEY, JSON.stringify(body)); return pageSettings; })
  .catch(() => pageSettings);

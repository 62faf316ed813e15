// Identity and HTTP for every page: the bearer token (taken from the URL fragment once, then kept in
// localStorage), login/logout, JSON calls with the API's one error shape.

export function token() {
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromHash) {
    localStorage.setItem("ems.token", fromHash);
    history.replaceState(null, "", location.pathname + location.search);  // keep tokens out of history
  }
  return localStorage.getItem("ems.token");
}

// Sends a page without a token to the login page; returns whether the page may go on.
export function requireLogin() {
  if (token()) return true;
  location.href = "/index.html";
  return false;
}

export async function login(userId, password) {
  const res = await fetch("/api/v1/login", {method: "POST", headers: {"Content-Type": "application/json"},
                                             body: JSON.stringify({user_id: userId, password})});
  if (!res.ok) throw new Error((await res.json()).error.message);
  const body = await res.json();
  localStorage.setItem("ems.token", body.token);
  return body;
}

export function logout() {
  localStorage.removeItem("ems.token");
}

export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.error ? body.error.message : `HTTP ${status}`);
    this.status = status;
    this.fields = body && body.error ? body.error.fields || [] : [];
  }
}

// One JSON call; a non-2xx answer throws ApiError with the status and the per-field reasons.
export async function api(method, path, body, extraHeaders) {
  const headers = {"Authorization": `Bearer ${token()}`, ...(extraHeaders || {})};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  const text = await res.text();
  const parsed = text ? JSON.parse(text) : null;
  if (!res.ok) throw new ApiError(res.status, parsed);
  return parsed;
}

// An error for a form: each field and its reason (field names through `label`), else the message.
export function errorText(e, label = name => name) {
  return e.fields?.length ? e.fields.map(f => `${label(f.field)}: ${f.reason}`).join("; ") : e.message;
}

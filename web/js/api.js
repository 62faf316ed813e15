// Identity and HTTP for every page: the bearer token (taken from the URL fragment once, then kept in
// localStorage), login/logout, JSON calls with the API's one error shape, its codes shown in the page's language.
import {labelOr, t} from "./i18n.js";
import "./labels.js";

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
  if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
  const body = await res.json();
  localStorage.setItem("ems.token", body.token);
  return body;
}

export function logout() {
  localStorage.removeItem("ems.token");
}

// The text of an error code (labels.js error.<code>) in the page's language with its params filled in ({message}
// is the server's English text); the English text itself for a code without a label.
export function codeText(code, params, english) {
  const key = `error.${code}`;
  const text = t(key, {...(params || {}), message: english});
  return text === key ? english : text;
}

// A field the server names in a refusal (a JSON path: "location.lat", "patients.0.hospital_id") in the page's
// language: labels.js field.<path>, else field.<its last name>, else the path as sent.
export function fieldName(path) {
  const last = String(path).split(".").filter(part => !/^\d+$/.test(part)).at(-1);
  return labelOr(`field.${path}`, labelOr(`field.${last}`, String(path)));
}

// A refusal from the API: `message` in the page's language (its fields' reasons, when it has any; `headline` the
// error's own text), `status`, `code` and `params` as sent, `serverMessage` the English text, and `fields` each
// with its `text` shown.
export class ApiError extends Error {
  constructor(status, body) {
    const error = body && body.error;
    const fields = (error?.fields || []).map(f => ({...f, text: codeText(f.code, f.params, f.reason)}));
    const bare = codeText("http_error", {message: `HTTP ${status}`}, `HTTP ${status}`);  // no error body: a proxy's
    super(!error ? bare : fields.length ? fields.map(f => `${fieldName(f.field)}: ${f.text}`).join("; ")
                                                    : codeText(error.code, error.params, error.message));
    this.status = status;
    this.body = body;  // the whole answer (a refused registry import sends its plan beside the error)
    this.headline = error ? codeText(error.code, error.params, error.message) : bare;
    this.code = error?.code;
    this.params = error?.params || {};
    this.serverMessage = error?.message;
    this.fields = fields;
  }
}

// A WebSocket error frame ({status, code, params, reason, fields}) as the ApiError the same refusal over HTTP is.
export function frameError(frame) {
  return new ApiError(frame.status || 400, {error: {code: frame.code, params: frame.params, message: frame.reason,
                                                    fields: frame.fields}});
}

// One JSON call; a non-2xx answer throws ApiError with the status and the per-field reasons.
export async function api(method, path, body, extraHeaders) {
  const headers = {...(extraHeaders || {})};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  return call(method, path, body === undefined ? undefined : JSON.stringify(body), headers);
}

// A call whose body is a file's text of `contentType` (e.g. a CSV import); the answer and errors as api().
export async function sendText(method, path, text, contentType) {
  return call(method, path, text, {"Content-Type": contentType});
}

async function call(method, path, body, headers) {
  const res = await fetch(path, {method, headers: {"Authorization": `Bearer ${token()}`, ...headers}, body});
  const text = await res.text();
  const parsed = text ? JSON.parse(text) : null;
  if (!res.ok) throw new ApiError(res.status, parsed);
  return parsed;
}

// An error for a form: each field and its reason in the page's language (field names through `label`), else the
// message.
export function errorText(e, label = fieldName) {
  return e.fields?.length ? e.fields.map(f => `${label(f.field)}: ${f.text ?? f.reason}`).join("; ") : e.message;
}

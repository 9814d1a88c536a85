// The console's only way to the server: same-origin fetch with the session
// cookie, the CSRF token on every write, and errors turned into values
// ({ok:false, status, message, field}) so that pages never need try/catch.

let csrfToken = null;
let onUnauthorized = () => {};

export function setCsrfToken(token) {
  csrfToken = token || null;
}

// For the one request fetch() cannot make: an upload with progress (XHR).
export function csrfHeader() {
  return csrfToken ? { "X-CSRF-Token": csrfToken } : {};
}

export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

export async function request(method, path, body, headers = {}) {
  const h = { Accept: "application/json", ...headers };
  const init = { method, headers: h, credentials: "same-origin" };
  if (body !== undefined) {
    h["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (method !== "GET" && csrfToken) h["X-CSRF-Token"] = csrfToken;
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    return { ok: false, status: 0, message: "The console server cannot be reached." };
  }
  let data = null;
  const text = await res.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch (e) {
      data = null;
    }
  }
  if (res.ok) return { ok: true, status: res.status, data };
  const err = (data && data.error) || {};
  if (res.status === 401 && path !== "/api/v1/login") onUnauthorized();
  return {
    ok: false,
    status: res.status,
    code: err.code,
    field: err.field,
    issues: err.issues, // port orders: every problem, with its field and line
    message: err.message || `${res.status} ${res.statusText || "error"}`,
  };
}

export const get = (path) => request("GET", path);
export const post = (path, body) => request("POST", path, body);
export const patch = (path, body) => request("PATCH", path, body);
export const del = (path) => request("DELETE", path);

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

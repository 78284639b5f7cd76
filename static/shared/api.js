// JSON over HTTP for the staff pages (docs/protocol.md §6). The session is an
// HttpOnly cookie, so requests only need credentials: "same-origin". Every
// state-changing request carries the session's CSRF token (X-CSRF-Token), which
// login and /api/auth/me answer; it is kept in memory only, never in storage.

let csrfToken = null;
const SAFE = new Set(["GET", "HEAD"]);

async function ensureCsrf() {
  if (csrfToken) return;
  // A page may write before it asked who is signed in: ask now.
  await api("GET", "/api/auth/me");
}

export async function api(method, path, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (!SAFE.has(method) && path !== "/api/auth/login") {
    await ensureCsrf();
    if (csrfToken) init.headers["X-CSRF-Token"] = csrfToken;
  }
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    return { ok: false, status: 0, error: { code: "network" } };
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    /* empty or non-JSON body */
  }
  if (response.ok) {
    if (data && typeof data.csrf_token === "string") csrfToken = data.csrf_token;
    if (path === "/api/auth/logout") csrfToken = null;
    return { ok: true, status: response.status, data };
  }
  if (response.status === 401) csrfToken = null;
  const error = (data && data.error) || { code: `http_${response.status}` };
  // too_many_attempts: the seconds to wait (docs/protocol.md, login throttling).
  const retryAfter = Number(response.headers.get("Retry-After"));
  return { ok: false, status: response.status, error, retryAfter: Number.isFinite(retryAfter) ? retryAfter : 0 };
}

export const login = (username, password) => api("POST", "/api/auth/login", { username, password });
export const logout = () => api("POST", "/api/auth/logout");
export const me = () => api("GET", "/api/auth/me");
export const status = () => api("GET", "/api/status");
export const topics = (lang) => api("GET", `/api/topics?lang=${encodeURIComponent(lang)}`);
export const cannedResponses = (language) =>
  api("GET", language ? `/api/canned-responses?language=${encodeURIComponent(language)}` : "/api/canned-responses");
export const createCanned = (body) => api("POST", "/api/canned-responses", body);
export const changeCanned = (id, body) => api("PUT", `/api/canned-responses/${encodeURIComponent(id)}`, body);
export const deleteCanned = (id) => api("DELETE", `/api/canned-responses/${encodeURIComponent(id)}`);
export const myShifts = () => api("GET", "/api/roster/mine");

// Sign-in steps and one's own account (docs/protocol.md §6 login, §10).
export const secondFactor = (code) => api("POST", "/api/auth/totp", { code });
export const account = () => api("GET", "/api/account");
export const changePassword = (current_password, new_password) =>
  api("POST", "/api/account/password", { current_password, new_password });
export const totpBegin = () => api("POST", "/api/account/totp");
export const totpConfirm = (code) => api("POST", "/api/account/totp/confirm", { code });
export const totpDisable = (password) => api("POST", "/api/account/totp/disable", { password });
export const sessions = () => api("GET", "/api/account/sessions");
export const endSession = (id) => api("DELETE", `/api/account/sessions/${encodeURIComponent(id)}`);
export const alertPrefs = () => api("GET", "/api/account/alerts");
export const changeAlertPrefs = (body) => api("PATCH", "/api/account/alerts", body);

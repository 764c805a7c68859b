// Every call to the management API: same-origin cookie, the CSRF header on anything but GET, the current
// language for the server's own messages, errors turned into a message the user can read, and a 401 (the
// session ended) sending the app back to sign-in.
import { lang, t } from "./i18n.js";

export const API = "/admin/api/v1";
let csrf = null;
let unauthorized = () => {};

export function setCsrf(token) { csrf = token || null; }
export function onUnauthorized(handler) { unauthorized = handler; }

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function queryString(query) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") params.set(name, String(value));
  }
  const text = params.toString();
  return text ? "?" + text : "";
}

const BY_STATUS = { 0: "error.network", 401: "error.unauthorized", 403: "error.forbidden", 404: "error.not_found",
  409: "error.conflict", 429: "error.rate_limited" };

export function errorMessage(status, body) {
  const detail = body?.error?.message;
  if (status === 400 || status === 422) return detail ? t("error.invalid_detail", { detail }) : t("error.invalid");
  if (BY_STATUS[status]) return t(BY_STATUS[status]);
  return t("error.server", { status });
}

export async function api(method, path, body, query) {
  const headers = { accept: "application/json", "accept-language": lang() };
  if (method !== "GET" && csrf) headers["x-csrf-token"] = csrf;
  if (body !== undefined) headers["content-type"] = "application/json";
  let response;
  try {
    response = await fetch(API + path + queryString(query), {
      method, headers, credentials: "same-origin", cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network", errorMessage(0));
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    if (response.status === 401 && path !== "/session") unauthorized();
    throw new ApiError(response.status, data?.error?.code || String(response.status), errorMessage(response.status, data));
  }
  return data;
}

export const get = (path, query) => api("GET", path, undefined, query);
export const post = (path, body) => api("POST", path, body ?? {});
export const patch = (path, body) => api("PATCH", path, body);
export const del = (path) => api("DELETE", path);
// a link to a file the API streams (CSV): same filters, opened by the browser with the cookie
export const href = (path, query) => API + path + queryString(query);

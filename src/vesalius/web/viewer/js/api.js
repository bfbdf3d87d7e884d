// Calls to the server's /api and /dicomweb, and how their failures are shown.
//
//   const {items, total} = await getPage("/api/studies", {PatientName: "DOE*"});
//   const job = await postJson(`/api/studies/${uid}/send`, {peer: "pacs2"});
//   try { ... } catch (error) { showError(error); }
//
// Every failure becomes an ApiError whose message is the server's one-line
// reason ({"error": "..."}), or says that the server could not be reached.

import { h, clear } from "./dom.js";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
  }
}

// The reason a failed answer gives: its {"error"} text, else its status line.
async function reasonOf(response) {
  let text = "";
  try {
    text = await response.text();
    const body = JSON.parse(text);
    if (body && typeof body.error === "string") return body.error;
    if (body && Array.isArray(body.detail)) return body.detail.map((d) => d.msg).join("; ");
  } catch {
    // not JSON: fall through to the status line
  }
  return `${response.status} ${response.statusText || ""}`.trim() + (text ? `: ${text.slice(0, 200)}` : "");
}

// fetch, with network failures and non-2xx answers turned into ApiError.
export async function request(path, options = {}) {
  let response;
  try {
    response = await fetch(path, options);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, `The server cannot be reached (${error.message}).`);
  }
  if (!response.ok) throw new ApiError(response.status, await reasonOf(response));
  return response;
}

export const studyPath = (uid) => `/api/studies/${encodeURIComponent(uid)}`;
export const seriesPath = (uid) => `/api/series/${encodeURIComponent(uid)}`;

// A query string from an object, leaving out empty values.
export function queryString(params = {}) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") query.append(name, String(value));
  }
  const text = query.toString();
  return text ? `?${text}` : "";
}

export async function getJson(path, params, options = {}) {
  const response = await request(path + queryString(params), {
    ...options,
    headers: { Accept: "application/json" },
  });
  return response.json();
}

// One page of a listing, with the total from X-Total-Count.
export async function getPage(path, params, options = {}) {
  const response = await request(path + queryString(params), {
    ...options,
    headers: { Accept: "application/json" },
  });
  return pageOf(response);
}

// The page a listing's answer holds: {items, total}.
export async function pageOf(response) {
  if (!response.ok) throw new ApiError(response.status, await reasonOf(response));
  const items = await response.json();
  const total = Number(response.headers.get("X-Total-Count") ?? items.length);
  return { items, total };
}

export async function postJson(path, body = {}) {
  const response = await request(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
  });
  return response.status === 204 ? null : response.json();
}

export async function deleteObject(path) {
  await request(path, { method: "DELETE" });
}

// A message in the banner under the navigation, until dismissed or replaced.
export function showError(error) {
  const banner = document.getElementById("banner");
  if (!banner) return;
  const message = error instanceof Error ? error.message : String(error);
  clear(banner).append(
    h("span", {}, message),
    h("button", { type: "button", class: "icon", "aria-label": "Dismiss", onclick: hideError }, "×"),
  );
  banner.hidden = false;
  console.error(error);
}

export function hideError() {
  const banner = document.getElementById("banner");
  if (banner) banner.hidden = true;
}

// A message inside a page element (a table's place, a dialog), as text.
export function errorBox(error) {
  const message = error instanceof Error ? error.message : String(error);
  return h("p", { class: "error", role: "alert" }, message);
}

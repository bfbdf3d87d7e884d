// Logging in, once the server has users: a login dialog when the server answers 401,
// and the session's CSRF token added to every state-changing request of the page.
//
// The server sets an HttpOnly session cookie on POST /api/session and answers the CSRF
// token that POST, PUT and DELETE made with that cookie must carry in X-CSRF-Token.
// While the server has no users, /api/session answers nulls and nothing here shows.

import { h } from "./dom.js";

const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);
const originalFetch = window.fetch.bind(window);
let csrfToken = null;
let dialogOpen = false;

function sameOrigin(input) {
  const url = new URL(input instanceof Request ? input.url : String(input), location.href);
  return url.origin === location.origin;
}

// fetch with the CSRF token on state-changing requests; a 401 opens the login dialog.
window.fetch = async (input, init = {}) => {
  const method = (init.method || (input instanceof Request ? input.method : "GET")).toUpperCase();
  if (csrfToken && STATE_CHANGING.has(method) && sameOrigin(input)) {
    const headers = new Headers(init.headers || (input instanceof Request ? input.headers : {}));
    headers.set("X-CSRF-Token", csrfToken);
    init = { ...init, headers };
  }
  const response = await originalFetch(input, init);
  if (response.status === 401 && sameOrigin(input) && !String(input).endsWith("/api/session")) {
    showLogin();
  }
  return response;
};

function showLogin(reason = "") {
  if (dialogOpen) return;
  dialogOpen = true;
  const message = h("p", { class: "error", role: "alert" }, reason);
  const name = h("input", { name: "name", autocomplete: "username", required: true });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const dialog = h(
    "dialog",
    { class: "modal login" },
    h(
      "form",
      {
        method: "dialog",
        onsubmit: async (event) => {
          event.preventDefault();
          const answer = await originalFetch("/api/session", {
            method: "POST",
            headers: { "Content-Type": "application/json", Accept: "application/json" },
            body: JSON.stringify({ name: name.value, password: password.value }),
          });
          if (!answer.ok) {
            message.textContent = "Wrong user name or password.";
            return;
          }
          location.reload();
        },
      },
      h("h2", {}, "Log in"),
      h("label", {}, "User ", name),
      h("label", {}, "Password ", password),
      message,
      h("button", { type: "submit", class: "primary" }, "Log in"),
    ),
  );
  document.body.append(dialog);
  dialog.showModal();
  name.focus();
}

// Who is logged in (if anyone); shows a Log out button in the top bar.
export async function startSession() {
  const answer = await originalFetch("/api/session", { headers: { Accept: "application/json" } });
  if (answer.status === 401) {
    showLogin();
    return;
  }
  if (!answer.ok) return;
  const session = await answer.json();
  csrfToken = session.csrf_token;
  if (session.name && session.csrf_token) {
    const logout = h(
      "button",
      {
        type: "button",
        id: "logout",
        title: `Logged in as ${session.name} (${session.role})`,
        onclick: async () => {
          await window.fetch("/api/session", { method: "DELETE" });
          location.reload();
        },
      },
      `Log out ${session.name}`,
    );
    document.querySelector(".topbar")?.append(logout);
  }
}

// Modal dialogs on the standard <dialog> element: a confirmation, and a
// general one whose body and buttons the caller builds (with h()).
//
//   if (await confirmDialog({title: "Delete study", message: [...], confirm: "Delete"})) ...
//   const dialog = openDialog({title: "Send study", body, buttons}); ... dialog.close();

import { h } from "./dom.js";

// A modal <dialog> added to the page; removed from it when closed.
export function openDialog({ title, body = [], buttons = [], className = "" }) {
  const dialog = h(
    "dialog",
    { class: `modal ${className}`.trim(), "aria-label": title },
    h("h2", {}, title),
    h("div", { class: "modal-body" }, body),
    h("div", { class: "modal-buttons" }, buttons),
  );
  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}

// Resolves true when the person confirms, false when they cancel (button, Escape).
export function confirmDialog({ title, message, confirm = "OK", danger = false }) {
  return new Promise((resolve) => {
    let answer = false;
    const cancelButton = h("button", { type: "button", onclick: () => dialog.close() }, "Cancel");
    const confirmButton = h(
      "button",
      {
        type: "button",
        class: danger ? "danger" : "primary",
        onclick: () => {
          answer = true;
          dialog.close();
        },
      },
      confirm,
    );
    const dialog = openDialog({
      title,
      body: Array.isArray(message) ? message : [h("p", {}, message)],
      buttons: [cancelButton, confirmButton],
      className: "confirm",
    });
    dialog.addEventListener("close", () => resolve(answer));
    cancelButton.focus();
  });
}

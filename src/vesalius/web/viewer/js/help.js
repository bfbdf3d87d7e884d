// The help overlay ("?"): every section of shortcuts that the pages registered
// (js/shortcuts.js), in a modal dialog; Escape or "?" closes it.

import { h } from "./dom.js";
import { allShortcuts, registerShortcuts } from "./shortcuts.js";
import { openDialog } from "./dialog.js";

registerShortcuts("General", [
  ["?", "show or hide this help"],
  ["Esc", "close a dialog or this help"],
  ["G then D / V / Q / I / J", "go to Database, Viewer, Query/Retrieve, Import, Jobs"],
]);

let open = null;

export function toggleHelp() {
  if (open) {
    open.close();
    return;
  }
  const sections = [...allShortcuts()].map(([section, list]) =>
    h(
      "section",
      { class: "help-section", dataset: { section } },
      h("h3", {}, section),
      h("dl", {}, list.map(([keys, description]) => [h("dt", {}, h("kbd", {}, keys)), h("dd", {}, description)])),
    ),
  );
  const close = h("button", { type: "button", class: "primary" }, "Close");
  open = openDialog({ title: "Keyboard shortcuts", body: sections, buttons: [close], className: "help" });
  open.id = "help";
  close.addEventListener("click", () => open?.close());
  open.addEventListener("close", () => (open = null));
  close.focus();
}

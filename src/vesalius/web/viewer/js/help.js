// The help overlay ("?"): every section of shortcuts that the pages registered
// (js/shortcuts.js), General first, in a modal dialog; Escape or "?" closes it.

import { h } from "./dom.js";
import { allShortcuts, registerShortcuts } from "./shortcuts.js";
import { openDialog } from "./dialog.js";

registerShortcuts("General", [
  ["?", "show or hide this help"],
  ["Esc", "close a dialog or this help"],
  ["G then D / V / Q / I / J / W / R", "go to Database, Viewer, Query/Retrieve, Import, Jobs, Worklist, Reports"],
]);

let open = null;
let opening = false;

export async function toggleHelp() {
  if (open) {
    open.close();
    return;
  }
  if (opening) return;
  opening = true;
  // the viewer registers its keys when its module loads (at once if it already has)
  await import("./viewer/index.js").catch(() => {});
  opening = false;
  const ordered = [...allShortcuts()].sort(([a], [b]) => (b === "General") - (a === "General"));
  const sections = ordered.map(([section, list]) =>
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

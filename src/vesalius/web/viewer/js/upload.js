// Import (#/import, and files dropped anywhere on the page): each file goes to
// STOW-RS (POST /dicomweb/studies) in its own multipart/related request; a
// progress bar and one line per file say what became of it (stored, or
// refused with the reason the server gave).
//
// Dropped folders are walked through DataTransferItem.webkitGetAsEntry(),
// a standard API in Chromium and Firefox.

import { h, clear } from "./dom.js";
import { formatBytes } from "./format.js";
import { registerShortcuts } from "./shortcuts.js";

const PARALLEL = 3;
const STOW = "/dicomweb/studies";
const FAILED_SOP_SEQUENCE = "00081198";
const REFERENCED_SOP_SEQUENCE = "00081199";
const FAILURE_REASON = "00081197";
const WARNING_REASON = "00081196";
const REFERENCED_STUDY_URL = "00081190";

// The STOW-RS failure reasons (PS3.18, as this server answers them).
const REASONS = {
  0xa700: "out of resources: the archive's disk is full",
  0xa900: "not of the study it was sent to",
  0xc000: "cannot be understood: not a DICOM file, or a damaged one",
  0x0122: "SOP class not supported",
  0x0110: "processing failure",
  0x0124: "not authorized",
};

registerShortcuts("Import", [["Drop files or folders", "import them, from any page"]]);

// Every upload of this visit, kept when the person changes page.
const session = { items: [], running: 0, queue: [], listeners: new Set() };

function notify() {
  for (const listener of session.listeners) listener();
}

// {file, path} for every file under the dropped items (folders walked recursively).
export async function filesFromDataTransfer(dataTransfer) {
  const entries = [];
  const loose = [];
  // Entries must be taken while the drop event is being handled.
  for (const item of Array.from(dataTransfer.items || [])) {
    if (item.kind !== "file") continue;
    const entry = item.webkitGetAsEntry ? item.webkitGetAsEntry() : null;
    if (entry) entries.push(entry);
    else {
      const file = item.getAsFile();
      if (file) loose.push(withPath(file, file.name));
    }
  }
  if (!entries.length && !loose.length) {
    loose.push(...Array.from(dataTransfer.files || [], (file) => withPath(file, file.name)));
  }
  const nested = await Promise.all(entries.map((entry) => filesOfEntry(entry, "")));
  return [...loose, ...nested.flat()];
}

async function filesOfEntry(entry, prefix) {
  if (entry.isFile) {
    const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
    return [withPath(file, prefix + file.name)];
  }
  if (!entry.isDirectory) return [];
  const reader = entry.createReader();
  const children = [];
  // readEntries answers in batches until an empty one
  for (;;) {
    const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    if (!batch.length) break;
    children.push(...batch);
  }
  const nested = await Promise.all(children.map((child) => filesOfEntry(child, `${prefix}${entry.name}/`)));
  return nested.flat();
}

function withPath(file, path) {
  return { file, path };
}

// One file as a multipart/related body of one application/dicom part.
function stowBody(file) {
  const boundary = `vesalius-${crypto.getRandomValues(new Uint32Array(4)).join("-")}`;
  const body = new Blob([`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`, file, `\r\n--${boundary}--\r\n`]);
  return { body, contentType: `multipart/related; type="application/dicom"; boundary=${boundary}` };
}

function reasonText(code) {
  const hex = Number(code).toString(16).toUpperCase().padStart(4, "0");
  return REASONS[code] ? `${REASONS[code]} (${hex})` : `failure ${hex}`;
}

// What the server said of one file: {status: "stored"|"refused"|"failed", reason}.
async function storeOne(file) {
  const { body, contentType } = stowBody(file);
  let response;
  try {
    response = await fetch(STOW, { method: "POST", headers: { "Content-Type": contentType, Accept: "application/dicom+json" }, body });
  } catch (error) {
    return { status: "failed", reason: `the server cannot be reached (${error.message})` };
  }
  let answer = null;
  try {
    answer = await response.json();
  } catch {
    answer = null;
  }
  if (answer && typeof answer.error === "string") return { status: "refused", reason: answer.error };
  const failed = answer?.[FAILED_SOP_SEQUENCE]?.Value || [];
  const stored = answer?.[REFERENCED_SOP_SEQUENCE]?.Value || [];
  if (stored.length && !failed.length) {
    const warning = stored[0][WARNING_REASON]?.Value?.[0];
    const studyUrl = answer?.[REFERENCED_STUDY_URL]?.Value?.[0] || "";
    return { status: "stored", reason: warning ? "stored, with attributes corrected" : "", study: studyUrl.split("/studies/")[1] || "" };
  }
  if (failed.length) return { status: "refused", reason: reasonText(failed[0][FAILURE_REASON]?.Value?.[0]) };
  return { status: "failed", reason: `${response.status} ${response.statusText}`.trim() };
}

// Queue files for import; they go out PARALLEL at a time.
export function importFiles(entries) {
  for (const entry of entries) {
    const item = { name: entry.path || entry.file.name, size: entry.file.size, file: entry.file, status: "waiting", reason: "" };
    session.items.push(item);
    session.queue.push(item);
  }
  pump();
  notify();
}

function pump() {
  while (session.running < PARALLEL && session.queue.length) {
    const item = session.queue.shift();
    session.running += 1;
    item.status = "sending";
    storeOne(item.file)
      .then((result) => Object.assign(item, result))
      .finally(() => {
        item.file = null;
        session.running -= 1;
        pump();
        notify();
      });
  }
}

function counts() {
  const of = (status) => session.items.filter((item) => item.status === status).length;
  const stored = of("stored");
  const refused = of("refused") + of("failed");
  return { total: session.items.length, stored, refused, finished: stored + refused };
}

// Files dropped on the page: read them, then queue them.
export async function importDropped(dataTransfer) {
  const files = await filesFromDataTransfer(dataTransfer);
  importFiles(files);
  return files.length;
}

export async function mount(container) {
  const fileInput = h("input", { type: "file", id: "import-files", multiple: true });
  const folderInput = h("input", { type: "file", id: "import-folder", webkitdirectory: true, multiple: true });
  for (const input of [fileInput, folderInput]) {
    input.addEventListener("change", () => {
      importFiles(Array.from(input.files).map((file) => withPath(file, file.webkitRelativePath || file.name)));
      input.value = "";
    });
  }
  const progress = h("progress", { id: "import-progress", max: 1, value: 0 });
  const summary = h("p", { id: "import-summary", "aria-live": "polite" });
  const results = h("tbody");
  const clearButton = h(
    "button",
    {
      type: "button",
      onclick: () => {
        session.items = session.items.filter((item) => item.status === "waiting" || item.status === "sending");
        render();
      },
    },
    "Clear finished",
  );
  const zone = h(
    "div",
    { class: "drop-zone", id: "drop-zone" },
    h("p", {}, "Drop DICOM files or folders here, or anywhere on the page."),
    h(
      "p",
      {},
      h("label", { class: "button", for: "import-files" }, "Choose files…"),
      " ",
      h("label", { class: "button", for: "import-folder" }, "Choose a folder…"),
    ),
    fileInput,
    folderInput,
  );
  container.append(
    h(
      "section",
      { class: "page page-import" },
      h("h1", {}, "Import"),
      zone,
      h("div", { class: "import-status" }, progress, summary, clearButton, h("a", { class: "button", href: "#/studies" }, "Show the studies")),
      h("table", { class: "import-results", id: "import-results" }, h("thead", {}, h("tr", {}, h("th", {}, "File"), h("th", {}, "Size"), h("th", {}, "Result"))), results),
    ),
  );

  function render() {
    const { total, stored, refused, finished } = counts();
    progress.max = Math.max(total, 1);
    progress.value = finished;
    summary.textContent = total
      ? `${finished} of ${total} files done: ${stored} stored, ${refused} refused.`
      : "No file imported yet.";
    summary.dataset.stored = String(stored);
    summary.dataset.refused = String(refused);
    summary.dataset.finished = String(finished === total && total > 0);
    const rows = document.createDocumentFragment();
    // newest first; a very long import shows its last 1,000 lines
    for (const item of session.items.slice(-1000).reverse()) {
      const result = item.status === "stored"
        ? ["stored", item.reason ? ` (${item.reason})` : ""]
        : item.status === "refused" || item.status === "failed"
          ? [`refused: ${item.reason}`]
          : [item.status === "sending" ? "sending…" : "waiting"];
      rows.append(
        h(
          "tr",
          { class: `import-item status-${item.status}` },
          h("td", { class: "file-name" }, item.name),
          h("td", { class: "file-size" }, formatBytes(item.size)),
          h("td", { class: "file-result" }, result),
        ),
      );
    }
    clear(results).append(rows);
  }

  // repaint at most every 150 ms, however fast the answers come
  let scheduled = false;
  const listener = () => {
    if (scheduled) return;
    scheduled = true;
    setTimeout(() => {
      scheduled = false;
      render();
    }, 150);
  };
  session.listeners.add(listener);
  render();
  return () => session.listeners.delete(listener);
}

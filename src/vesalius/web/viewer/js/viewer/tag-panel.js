// The meta-information panel: every element of the displayed image's header
// (tag, keyword, VR, value) from /api/instances/{uid}/tags, sequences
// expandable, a filter box that keeps the rows matching it (and the
// sequences holding a match, opened). Values are shown as text only.

import { clear, h } from "../dom.js";
import { reason } from "./series.js";

const FETCH_DELAY_MS = 120; // while scrolling, fetch only where the reader stops
const KEPT_HEADERS = 16;

export class TagPanel {
  constructor({ onClose = () => {} } = {}) {
    this.uid = null;
    this.elements = null;
    this.expanded = new Set(); // paths of open sequences, kept across filtering
    this.headers = new Map(); // uid -> elements, a few recent ones
    this.controller = null;
    this.timer = 0;
    this.filter = h("input", {
      class: "vw-tags-filter",
      type: "search",
      placeholder: "Filter: tag, keyword, value…",
      "aria-label": "Filter tags",
      oninput: () => this.renderRows(),
    });
    this.status = h("div", { class: "vw-tags-status" });
    this.rows = h("div", { class: "vw-tags-rows", role: "table", "aria-label": "DICOM tags" });
    this.title = h("span", { class: "vw-tags-title" }, "Tags");
    this.element = h(
      "aside",
      { class: "vw-tags", hidden: true },
      h(
        "div",
        { class: "vw-tags-head" },
        this.title,
        this.filter,
        h("button", { type: "button", class: "vw-tags-close", title: "Close (T)", onclick: onClose }, "×"),
      ),
      h(
        "div",
        { class: "vw-tag-row vw-tags-columns", role: "row" },
        ["Tag", "Keyword", "VR", "Value"].map((name) => h("span", { role: "columnheader" }, name)),
      ),
      this.status,
      this.rows,
    );
  }

  get open() {
    return !this.element.hidden;
  }

  setOpen(open) {
    this.element.hidden = !open;
    if (open && this.uid && !this.elements) this.load(this.uid);
  }

  /** The displayed image changed: show its header (fetched when the panel is open). */
  follow(uid) {
    if (uid === this.uid) return;
    this.uid = uid;
    this.elements = null;
    clearTimeout(this.timer);
    if (!this.open) return;
    const kept = this.headers.get(uid);
    if (kept) {
      this.show(uid, kept);
      return;
    }
    this.status.textContent = "Loading…";
    this.timer = setTimeout(() => this.load(uid), FETCH_DELAY_MS);
  }

  async load(uid) {
    const kept = this.headers.get(uid);
    if (kept) {
      this.show(uid, kept);
      return;
    }
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    this.status.textContent = "Loading…";
    try {
      const response = await fetch(`/api/instances/${encodeURIComponent(uid)}/tags`, {
        signal: controller.signal,
      });
      if (!response.ok) throw new Error(await reason(response));
      const elements = await response.json();
      this.headers.set(uid, elements);
      if (this.headers.size > KEPT_HEADERS) this.headers.delete(this.headers.keys().next().value);
      if (uid === this.uid) this.show(uid, elements);
    } catch (error) {
      if (!controller.signal.aborted) this.status.textContent = `Tags could not be read: ${error.message}`;
    }
  }

  show(uid, elements) {
    this.elements = elements;
    this.status.textContent = "";
    this.element.dataset.uid = uid;
    this.renderRows();
  }

  /** Rebuild the rows for the current filter. */
  renderRows() {
    clear(this.rows);
    if (!this.elements) return;
    const needle = this.filter.value.trim().toLowerCase();
    const rows = [];
    addRows(rows, this.elements, 0, "", needle, this.expanded, () => this.renderRows());
    this.rows.append(...rows);
    this.status.textContent = needle && !rows.length ? "No element matches the filter." : "";
  }

  destroy() {
    clearTimeout(this.timer);
    this.controller?.abort();
    this.element.remove();
  }
}

function matches(element, needle) {
  if (!needle) return true;
  const text = [element.tag, element.keyword, element.name, element.vr, Array.isArray(element.value) ? "" : element.value]
    .join("\u0000")
    .toLowerCase();
  return text.includes(needle);
}

function anyMatch(elements, needle) {
  return elements.some(
    (element) =>
      matches(element, needle) ||
      (Array.isArray(element.value) && element.value.some((item) => anyMatch(item, needle))),
  );
}

/** Append the rows of `elements` (at depth) to rows; sequences open when expanded or holding a match. */
function addRows(rows, elements, depth, path, needle, expanded, rerender) {
  for (const element of elements) {
    const isSequence = Array.isArray(element.value);
    const here = `${path}/${element.tag}`;
    const selfMatch = matches(element, needle);
    const inside = isSequence && needle ? element.value.some((item) => anyMatch(item, needle)) : false;
    if (!selfMatch && !inside) continue;
    const open = isSequence && (expanded.has(here) || inside);
    let value = element.value ?? "";
    if (isSequence) {
      const count = element.value.length;
      value = h(
        "button",
        {
          type: "button",
          class: "vw-seq-toggle",
          "aria-expanded": open ? "true" : "false",
          onclick: () => {
            if (expanded.has(here)) expanded.delete(here);
            else expanded.add(here);
            rerender();
          },
        },
        `${open ? "▾" : "▸"} ${count} item${count === 1 ? "" : "s"}`,
      );
    }
    rows.push(
      h(
        "div",
        { class: "vw-tag-row", role: "row", dataset: { keyword: element.keyword || "", depth: String(depth) } },
        h("span", { class: "vw-tag-code", role: "cell", style: `padding-left:${depth * 14}px` }, element.tag),
        h("span", { class: "vw-tag-keyword", role: "cell", title: element.name || "" }, element.keyword || element.name || ""),
        h("span", { class: "vw-tag-vr", role: "cell" }, element.vr || ""),
        h("span", { class: "vw-tag-value", role: "cell" }, value),
      ),
    );
    if (!open) continue;
    // A sequence that itself matched shows all of its items; otherwise only the matches.
    const childNeedle = selfMatch ? "" : needle;
    element.value.forEach((item, index) => {
      if (childNeedle && !anyMatch(item, childNeedle)) return;
      rows.push(
        h(
          "div",
          { class: "vw-tag-item", style: `padding-left:${(depth + 1) * 14}px` },
          `Item ${index + 1}`,
        ),
      );
      addRows(rows, item, depth + 1, `${here}/${index}`, childNeedle, expanded, rerender);
    });
  }
}

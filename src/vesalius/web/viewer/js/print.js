// Print (#/print): the jobs of the virtual film printer, newest first, each with
// its films as PNG previews and a link to its PDF. The list refreshes itself
// while a job is still PENDING or PRINTING.

import { h, clear } from "./dom.js";
import { getPage, errorBox } from "./api.js";
import { formatTimestamp, plural } from "./format.js";
import { registerShortcuts } from "./shortcuts.js";

const REFRESH_MS = 1500;
const FINISHED = new Set(["DONE", "FAILURE"]);
const state = { offset: 0, limit: 20 };

registerShortcuts("Print", [["R", "refresh the list"]]);

function film(job, item) {
  const label = `Film ${item.number}: ${item.ImageDisplayFormat} ${item.FilmSizeID} ${item.FilmOrientation}, ${plural(item.images, "image")}`;
  return h(
    "figure",
    { class: "print-film", dataset: { number: String(item.number) } },
    item.png
      ? h("a", { href: job.pdf || item.png, target: "_blank", rel: "noopener" }, h("img", { src: item.png, alt: label, loading: "lazy" }))
      : h("div", { class: "print-film-pending" }, job.ExecutionStatus),
    h("figcaption", {}, label),
  );
}

function card(job) {
  const status = job.ExecutionStatusInfo && job.ExecutionStatusInfo !== "NORMAL" ? `${job.ExecutionStatus} (${job.ExecutionStatusInfo})` : job.ExecutionStatus;
  return h(
    "article",
    { class: `print-job state-${String(job.ExecutionStatus).toLowerCase()}`, dataset: { id: job.id, state: job.ExecutionStatus } },
    h(
      "header",
      {},
      h("h2", {}, job.FilmSessionLabel || `Job ${job.id}`),
      h("span", { class: "print-job-state" }, status),
      h("span", { class: "print-job-meta" }, `from ${job.Originator || "?"}, ${plural(job.films.length, "film")}, ${job.NumberOfCopies} ${Number(job.NumberOfCopies) === 1 ? "copy" : "copies"}${job.color ? ", colour" : ""}, ${formatTimestamp(job.created)}`),
      job.pdf ? h("a", { class: "print-job-pdf", href: job.pdf, target: "_blank", rel: "noopener" }, "PDF") : null,
    ),
    h("div", { class: "print-films" }, job.films.map((item) => film(job, item))),
  );
}

export async function mount(container) {
  let timer = null;
  let stopped = false;
  const list = h("div", { class: "print-jobs", id: "print-jobs" });
  const summary = h("span", { class: "summary", id: "print-count" });
  const pager = h("div", { class: "pager" });
  container.append(h("section", { class: "page page-print" }, h("h1", {}, "Print"), h("div", { class: "list-bar" }, summary, pager), list));

  async function refresh() {
    clearTimeout(timer);
    let busy = false;
    try {
      const { items, total } = await getPage("/api/print-jobs", { limit: state.limit, offset: state.offset });
      if (stopped) return;
      // cards whose job did not change stay as they are (their previews are not reloaded)
      const kept = new Map([...list.querySelectorAll("article.print-job")].map((node) => [node.dataset.signature, node]));
      const cards = items.map((job) => {
        const signature = JSON.stringify([job.id, job.ExecutionStatus, job.updated]);
        const node = kept.get(signature) || card(job);
        node.dataset.signature = signature;
        return node;
      });
      clear(list).append(...(cards.length ? cards : [h("p", { class: "empty" }, "No print job yet. Print to this server's AE title from a modality, or with `vesalius print`.")]));
      busy = items.some((job) => !FINISHED.has(job.ExecutionStatus));
      const last = Math.min(state.offset + state.limit, total);
      summary.textContent = `${total ? state.offset + 1 : 0}–${last} of ${total} print jobs`;
      const go = (offset) => {
        state.offset = Math.max(0, offset);
        refresh();
      };
      clear(pager).append(
        h("button", { type: "button", disabled: state.offset === 0, onclick: () => go(state.offset - state.limit) }, "‹ Previous"),
        h("button", { type: "button", disabled: last >= total, onclick: () => go(state.offset + state.limit) }, "Next ›"),
      );
    } catch (error) {
      if (stopped) return;
      clear(list).append(errorBox(error));
    }
    if (!stopped && busy) timer = setTimeout(refresh, REFRESH_MS);
  }

  const onKey = (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest?.("input, select, textarea, dialog")) return;
    if (event.key === "r" || event.key === "R") refresh();
  };
  document.addEventListener("keydown", onKey);
  await refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
    document.removeEventListener("keydown", onKey);
  };
}

// Jobs (#/jobs): the outbound work queue (sends, retrieves, C-MOVE/C-GET
// sub-operations), newest first, with progress and a cancel button; the page
// refreshes itself while it is open.

import { h, clear } from "./dom.js";
import { getPage, postJson, showError, errorBox } from "./api.js";
import { formatTimestamp } from "./format.js";
import { FINISHED, progressBar, progressText } from "./progress.js";
import { registerShortcuts } from "./shortcuts.js";

const REFRESH_MS = 1000;
const state = { offset: 0, limit: 50, filter: "" };

registerShortcuts("Jobs", [["R", "refresh the list"]]);

export async function mount(container) {
  let timer = null;
  let stopped = false;
  const body = h("tbody");
  const summary = h("span", { class: "summary", id: "job-count" });
  const pager = h("div", { class: "pager" });
  const filter = h(
    "select",
    {
      "aria-label": "Show jobs",
      onchange: () => {
        state.filter = filter.value;
        state.offset = 0;
        refresh();
      },
    },
    [["", "All jobs"], ["pending", "Pending"], ["running", "Running"], ["done", "Done"], ["failed", "Failed"], ["cancelled", "Cancelled"]].map(([value, label]) =>
      h("option", { value, selected: value === state.filter }, label),
    ),
  );
  container.append(
    h(
      "section",
      { class: "page page-jobs" },
      h("h1", {}, "Jobs"),
      h("div", { class: "list-bar" }, summary, filter, pager),
      h(
        "table",
        { class: "jobs", id: "jobs" },
        h("thead", {}, h("tr", {}, ["#", "Kind", "Description", "State", "Progress", "Error", "Created", "Updated", ""].map((label) => h("th", { scope: "col" }, label)))),
        body,
      ),
    ),
  );

  function row(job) {
    const cancel = FINISHED.has(job.state)
      ? null
      : h(
          "button",
          {
            type: "button",
            class: "cancel",
            onclick: async () => {
              try {
                await postJson(`/api/jobs/${job.id}/cancel`);
              } catch (error) {
                showError(error);
              }
              refresh();
            },
          },
          "Cancel",
        );
    return h(
      "tr",
      { class: `job state-${job.state}`, dataset: { id: String(job.id), state: job.state } },
      h("td", {}, String(job.id)),
      h("td", {}, job.kind),
      h("td", {}, job.description || ""),
      h("td", { class: "job-state" }, job.state),
      h("td", { class: "job-progress" }, progressBar(job), " ", progressText(job)),
      h("td", { class: "job-error" }, job.error || ""),
      h("td", {}, formatTimestamp(job.created)),
      h("td", {}, formatTimestamp(job.updated)),
      h("td", {}, cancel),
    );
  }

  async function refresh() {
    clearTimeout(timer);
    try {
      const { items, total } = await getPage("/api/jobs", { state: state.filter, limit: state.limit, offset: state.offset });
      if (stopped) return;
      // rows whose job did not change stay as they are (a click on Cancel is never lost)
      const kept = new Map([...body.querySelectorAll("tr.job")].map((tr) => [tr.dataset.signature, tr]));
      const rows = items.map((job) => {
        const signature = JSON.stringify([job.id, job.state, job.progress, job.error, job.updated]);
        const tr = kept.get(signature) || row(job);
        tr.dataset.signature = signature;
        return tr;
      });
      clear(body).append(...(rows.length ? rows : [h("tr", {}, h("td", { colspan: 9 }, "No job."))]));
      const last = Math.min(state.offset + state.limit, total);
      summary.textContent = `${total ? state.offset + 1 : 0}–${last} of ${total} jobs`;
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
      clear(body).append(h("tr", {}, h("td", { colspan: 9 }, errorBox(error))));
    }
    if (!stopped) timer = setTimeout(refresh, REFRESH_MS);
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

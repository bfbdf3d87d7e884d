// The local database (#/studies): a searchable, sortable, paged study list over
// GET /api/studies; a study expands to its series (js/studyseries.js); a study
// can be sent to a peer, exported (js/export.js), downloaded as a ZIP, or deleted.
//
// Only one page of studies is asked for at a time (limit/offset, the total
// from X-Total-Count), so the list appears at once however many are stored.

import { h, clear } from "./dom.js";
import { getPage, pageOf, deleteObject, showError, errorBox, studyPath } from "./api.js";
import { searchForm, searchKeys } from "./searchform.js";
import { formatName, formatDate, formatTime, formatList, formatCount, plural, studyLabel } from "./format.js";
import { confirmDialog } from "./dialog.js";
import { sendDialog } from "./send.js";
import { exportDialog } from "./export.js";
import { showSeries } from "./studyseries.js";
import { registerShortcuts } from "./shortcuts.js";

const PAGE_SIZES = [25, 50, 100, 200];

// What the page keeps between visits (the search, the sort, the page).
const state = {
  values: {},
  sort: "",
  offset: 0,
  limit: 50,
  expanded: new Set(),
};

// Columns: header, the sort keyword (null: not sortable), how a study shows it.
const COLUMNS = [
  ["Patient name", "PatientName", (s) => formatName(s.PatientName)],
  ["Patient ID", "PatientID", (s) => s.PatientID ?? ""],
  ["Birth date", "PatientBirthDate", (s) => formatDate(s.PatientBirthDate)],
  ["Sex", "PatientSex", (s) => s.PatientSex ?? ""],
  ["Study date", "StudyDate", (s) => `${formatDate(s.StudyDate)} ${formatTime(s.StudyTime)}`.trim()],
  ["Modality", null, (s) => formatList(s.ModalitiesInStudy)],
  ["Accession", "AccessionNumber", (s) => s.AccessionNumber ?? ""],
  ["Description", "StudyDescription", (s) => s.StudyDescription ?? ""],
  ["Series", null, (s) => formatCount(s.NumberOfStudyRelatedSeries)],
  ["Images", null, (s) => formatCount(s.NumberOfStudyRelatedInstances)],
];

registerShortcuts("Database", [
  ["/", "search by patient name"],
  ["[ / ]", "previous / next page"],
  ["R", "reload the list"],
  ["Enter", "expand or collapse the focused study"],
]);

// The first page that index.html asked for before the modules loaded, when it is
// the page wanted now (taken once).
function firstPage(params) {
  const early = window.vesaliusFirstStudies;
  window.vesaliusFirstStudies = null;
  const plain = !params.sort && params.limit === 50 && params.offset === 0;
  return early && plain && Object.keys(params).length === 3 ? early : null;
}

export async function mount(container) {
  let loading = null; // the AbortController of the request in flight
  const form = searchForm({
    values: state.values,
    live: true,
    idPrefix: "study-search",
    onChange: (values) => search(values),
    onSubmit: (values) => search(values),
  });
  const summary = h("span", { class: "summary", id: "study-count", "aria-live": "polite" });
  const pager = h("div", { class: "pager" });
  const head = h("thead");
  const body = h("tbody");
  const table = h("table", { class: "studies", id: "studies" }, head, body);
  const place = h("div", { class: "table-place" }, table);
  container.append(
    h("section", { class: "page page-studies" }, h("h1", { class: "visually-hidden" }, "Local database"), form.element, h("div", { class: "list-bar" }, summary, pager), place),
  );

  function search(values) {
    state.values = values;
    state.offset = 0;
    load();
  }

  function renderHead() {
    const sortKey = state.sort.replace(/^-/, "");
    const descending = state.sort.startsWith("-");
    clear(head).append(
      h(
        "tr",
        {},
        h("th", { class: "expand-col" }, h("span", { class: "visually-hidden" }, "Expand")),
        COLUMNS.map(([label, key]) => {
          if (!key) return h("th", { scope: "col" }, label);
          const active = key === sortKey;
          return h(
            "th",
            { scope: "col", "aria-sort": active ? (descending ? "descending" : "ascending") : "none" },
            h(
              "button",
              {
                type: "button",
                class: "sort",
                dataset: { sort: key },
                title: `Sort by ${label.toLowerCase()}`,
                onclick: () => {
                  state.sort = active && !descending ? `-${key}` : key;
                  state.offset = 0;
                  load();
                },
              },
              label,
              h("span", { class: "sort-mark", "aria-hidden": "true" }, active ? (descending ? " ▼" : " ▲") : ""),
            ),
          );
        }),
        h("th", { scope: "col", class: "actions-col" }, "Actions"),
      ),
    );
  }

  function renderPager(total) {
    const first = total ? state.offset + 1 : 0;
    const last = Math.min(state.offset + state.limit, total);
    summary.textContent = `${formatCount(first)}–${formatCount(last)} of ${formatCount(total)} studies`;
    summary.dataset.total = String(total);
    const go = (offset) => {
      state.offset = Math.max(0, offset);
      load();
    };
    const size = h(
      "select",
      {
        "aria-label": "Studies per page",
        onchange: (event) => {
          state.limit = Number(event.target.value);
          go(0);
        },
      },
      PAGE_SIZES.map((n) => h("option", { value: n, selected: n === state.limit }, `${n} per page`)),
    );
    clear(pager).append(
      h("button", { type: "button", class: "prev-page", disabled: state.offset === 0, onclick: () => go(state.offset - state.limit) }, "‹ Previous"),
      h("span", { class: "page-number" }, `Page ${Math.floor(state.offset / state.limit) + 1} of ${Math.max(1, Math.ceil(total / state.limit))}`),
      h("button", { type: "button", class: "next-page", disabled: last >= total, onclick: () => go(state.offset + state.limit) }, "Next ›"),
      size,
    );
  }

  async function load() {
    loading?.abort();
    const controller = new AbortController();
    loading = controller;
    renderHead();
    place.classList.add("loading");
    // timing marks: "studies-load" measures the request and the rendering of a page
    performance.clearMarks("studies-asked");
    performance.clearMarks("studies-shown");
    performance.clearMeasures("studies-load");
    performance.mark("studies-asked");
    const params = { ...searchKeys(state.values), sort: state.sort, limit: state.limit, offset: state.offset };
    try {
      const early = firstPage(params);
      const { items, total } = early ? await pageOf(await early) : await getPage("/api/studies", params, { signal: controller.signal });
      if (controller.signal.aborted) return;
      if (!items.length && total && state.offset >= total) {
        // the page emptied (deletions): show the last page that holds studies
        state.offset = Math.max(0, Math.floor((total - 1) / state.limit) * state.limit);
        return load();
      }
      renderRows(items);
      renderPager(total);
      performance.mark("studies-shown");
      performance.measure("studies-load", "studies-asked", "studies-shown");
    } catch (error) {
      if (error.name === "AbortError") return;
      clear(body).append(h("tr", {}, h("td", { colspan: COLUMNS.length + 2 }, errorBox(error))));
      summary.textContent = "";
    } finally {
      if (loading === controller) place.classList.remove("loading");
    }
  }

  function renderRows(studies) {
    const rows = document.createDocumentFragment();
    if (!studies.length) {
      rows.append(h("tr", { class: "empty" }, h("td", { colspan: COLUMNS.length + 2 }, "No study matches.")));
    }
    for (const study of studies) {
      const uid = study.StudyInstanceUID;
      const detail = h("tr", { class: "series-row", hidden: true }, h("td", { colspan: COLUMNS.length + 2 }));
      const toggle = h("button", { type: "button", class: "expand icon", "aria-expanded": "false", "aria-label": "Show series" }, "▸");
      const row = h(
        "tr",
        { class: "study", tabindex: "0", dataset: { uid } },
        h("td", { class: "expand-col" }, toggle),
        COLUMNS.map(([label, key, show]) => h("td", { class: `col-${key || label.replaceAll(" ", "")}` }, show(study))),
        h("td", { class: "actions" }, studyActions(study)),
      );
      const expand = (open) => {
        const opening = open ?? detail.hidden;
        detail.hidden = !opening;
        toggle.textContent = opening ? "▾" : "▸";
        toggle.setAttribute("aria-expanded", String(opening));
        if (opening) {
          state.expanded.add(uid);
          showSeries(study, detail.firstChild, { onChange: load });
        } else {
          state.expanded.delete(uid);
        }
      };
      row.addEventListener("click", (event) => {
        if (event.target.closest("a, .actions button, .actions select")) return;
        expand();
      });
      row.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && event.target === row) expand();
      });
      rows.append(row, detail);
      if (state.expanded.has(uid)) expand(true);
    }
    clear(body).append(rows);
  }

  function studyActions(study) {
    const uid = study.StudyInstanceUID;
    return [
      h("button", { type: "button", class: "send", onclick: () => sendDialog(uid, studyLabel(study)) }, "Send…"),
      h("button", { type: "button", class: "export", onclick: () => exportDialog({ studies: [uid] }, studyLabel(study)) }, "Export…"),
      h("a", { class: "button zip", href: `${studyPath(uid)}/archive`, download: "", title: "Download the study as a ZIP file" }, "ZIP"),
      h(
        "button",
        {
          type: "button",
          class: "delete danger",
          onclick: async () => {
            const confirmed = await confirmDialog({
              title: "Delete study",
              message: [
                h("p", {}, "Delete the study ", h("strong", {}, studyLabel(study)), "?"),
                h("p", {}, `${formatCount(study.NumberOfStudyRelatedSeries)} series, ${plural(study.NumberOfStudyRelatedInstances, "image")}. Their files are removed from the archive.`),
              ],
              confirm: "Delete",
              danger: true,
            });
            if (!confirmed) return;
            try {
              await deleteObject(studyPath(uid));
              state.expanded.delete(uid);
            } catch (error) {
              showError(error);
            }
            load();
          },
        },
        "Delete",
      ),
    ];
  }

  // page keys: "/" search, "[" "]" pages, "r" reload
  const onKey = (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest?.("input, select, textarea, dialog")) return;
    if (event.key === "/") {
      event.preventDefault();
      form.focus();
    } else if (event.key === "[") {
      container.querySelector(".prev-page:not([disabled])")?.click();
    } else if (event.key === "]") {
      container.querySelector(".next-page:not([disabled])")?.click();
    } else if (event.key === "r" || event.key === "R") {
      load();
    }
  };
  document.addEventListener("keydown", onKey);

  await load();
  return () => {
    loading?.abort();
    document.removeEventListener("keydown", onKey);
  };
}

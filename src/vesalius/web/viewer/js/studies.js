// The local database (#/studies): a searchable, sortable, paged study list over
// GET /api/studies; a study expands to its series (thumbnails, open in the
// viewer, compare two side by side, ZIP, an image as PNG/JPEG, delete); a study
// can be sent to a peer, downloaded as a ZIP, or deleted.
//
// Only one page of studies is asked for at a time (limit/offset, the total
// from X-Total-Count), so the list appears at once however many are stored.

import { h, clear } from "./dom.js";
import { getPage, pageOf, deleteObject, showError, errorBox, request } from "./api.js";
import { searchForm, searchKeys } from "./searchform.js";
import { formatName, formatDate, formatTime, formatList, formatCount } from "./format.js";
import { confirmDialog } from "./dialog.js";
import { sendDialog } from "./send.js";
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

const plural = (count, noun) => `${formatCount(count)} ${noun}${Number(count) === 1 ? "" : "s"}`;
const studyPath = (uid) => `/api/studies/${encodeURIComponent(uid)}`;
const seriesPath = (uid) => `/api/series/${encodeURIComponent(uid)}`;
const viewerLink = (params) => `#/viewer?${new URLSearchParams(params)}`;

// A short name of a study for dialogs: "DOE, J1 — 2017-07-16 LEFT WRIST".
function studyLabel(study) {
  const what = [formatDate(study.StudyDate), study.StudyDescription].filter(Boolean).join(" ");
  return [formatName(study.PatientName) || study.PatientID || "(no name)", what].filter(Boolean).join(" — ");
}

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
          showSeries(study, detail.firstChild);
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

  async function showSeries(study, cell) {
    const uid = study.StudyInstanceUID;
    clear(cell).append(h("p", { class: "hint" }, "Loading series…"));
    let series;
    try {
      ({ items: series } = await getPage(`${studyPath(uid)}/series`, { limit: 1000 }));
    } catch (error) {
      clear(cell).append(errorBox(error));
      return;
    }
    const chosen = [];
    const compare = h("a", { class: "button compare", "aria-disabled": "true" }, "Open the two side by side");
    const hint = h("span", { class: "hint" }, "Tick two series to compare them.");
    const boxes = new Map();
    const choose = (seriesUid, on) => {
      const at = chosen.indexOf(seriesUid);
      if (on && at < 0) chosen.push(seriesUid);
      if (!on && at >= 0) chosen.splice(at, 1);
      while (chosen.length > 2) boxes.get(chosen.shift()).checked = false;
      if (chosen.length === 2) {
        compare.href = viewerLink({ study: uid, series: chosen[0], series2: chosen[1] });
        compare.removeAttribute("aria-disabled");
      } else {
        compare.removeAttribute("href");
        compare.setAttribute("aria-disabled", "true");
      }
    };
    const cards = series.map((one) => {
      const box = h("input", { type: "checkbox", class: "choose", onchange: (event) => choose(one.SeriesInstanceUID, event.target.checked) });
      boxes.set(one.SeriesInstanceUID, box);
      return seriesCard(study, one, box);
    });
    clear(cell).append(
      h("div", { class: "series-bar" }, compare, hint),
      h("ul", { class: "series-list" }, cards.length ? cards : h("li", {}, "No series.")),
    );
  }

  function seriesCard(study, series, box) {
    const studyUid = study.StudyInstanceUID;
    const uid = series.SeriesInstanceUID;
    const open = viewerLink({ study: studyUid, series: uid });
    const title = [series.SeriesNumber !== null && series.SeriesNumber !== undefined ? `#${series.SeriesNumber}` : "", series.Modality, series.SeriesDescription].filter(Boolean).join(" ");
    const thumbnail = h("img", {
      class: "thumbnail",
      loading: "lazy",
      decoding: "async",
      width: 128,
      height: 128,
      alt: `Series ${title}`,
      src: `/dicomweb/studies/${encodeURIComponent(studyUid)}/series/${encodeURIComponent(uid)}/thumbnail?viewport=128,128`,
    });
    thumbnail.addEventListener("error", () => thumbnail.replaceWith(h("span", { class: "thumbnail no-image" }, "no image")), { once: true });
    return h(
      "li",
      { class: "series-card", dataset: { uid } },
      h("a", { class: "thumb-link", href: open, title: "Open in the viewer" }, thumbnail),
      h("div", { class: "series-title" }, title || "(no description)"),
      h("div", { class: "series-count" }, plural(series.NumberOfSeriesRelatedInstances, "image")),
      h(
        "div",
        { class: "series-actions" },
        h("label", { class: "compare-choice" }, box, " compare"),
        h("a", { class: "button open", href: open }, "Open"),
        h("a", { class: "button zip", href: `${seriesPath(uid)}/archive`, download: "", title: "Download the series as a ZIP file" }, "ZIP"),
        h("button", { type: "button", class: "png", title: "Download its middle image as PNG", onclick: () => downloadImage(studyUid, series, "png") }, "PNG"),
        h("button", { type: "button", class: "jpeg", title: "Download its middle image as JPEG", onclick: () => downloadImage(studyUid, series, "jpeg") }, "JPEG"),
        h(
          "button",
          {
            type: "button",
            class: "delete danger",
            onclick: async () => {
              const confirmed = await confirmDialog({
                title: "Delete series",
                message: [h("p", {}, "Delete the series ", h("strong", {}, title || uid), " of ", h("strong", {}, studyLabel(study)), "?"), h("p", {}, `${plural(series.NumberOfSeriesRelatedInstances, "image")}. Their files are removed from the archive.`)],
                confirm: "Delete",
                danger: true,
              });
              if (!confirmed) return;
              try {
                await deleteObject(seriesPath(uid));
              } catch (error) {
                showError(error);
              }
              load();
            },
          },
          "Delete",
        ),
      ),
    );
  }

  // The series' middle image, rendered by the server, saved as a file.
  async function downloadImage(studyUid, series, format) {
    try {
      const count = Number(series.NumberOfSeriesRelatedInstances) || 1;
      const { items } = await getPage(`${seriesPath(series.SeriesInstanceUID)}/instances`, { limit: 1, offset: Math.floor((count - 1) / 2) });
      if (!items.length) throw new Error("The series holds no image.");
      const instance = items[0].SOPInstanceUID;
      const url = `/dicomweb/studies/${encodeURIComponent(studyUid)}/series/${encodeURIComponent(series.SeriesInstanceUID)}/instances/${encodeURIComponent(instance)}/rendered?accept=image/${format}`;
      const blob = await (await request(url)).blob();
      const href = URL.createObjectURL(blob);
      const link = h("a", { href, download: `${instance}.${format === "jpeg" ? "jpg" : "png"}`, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(href), 10_000);
    } catch (error) {
      showError(error);
    }
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

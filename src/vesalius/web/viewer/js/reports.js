// Reports (#/reports?study=UID[&report=SOPUID | &new=1]): the structured
// reports and key image selections of a study. The chosen one is shown as the
// server renders it (GET /api/reports/{uid}?format=html): a page without
// script, in a sandboxed frame; its thumbnails open the viewer at that image.
// "New report" opens the editor (js/report-editor.js).

import { h, clear } from "./dom.js";
import { getJson, errorBox, studyPath } from "./api.js";
import { studyLabel } from "./format.js";
import { mountEditor } from "./report-editor.js";
import { registerShortcuts } from "./shortcuts.js";

registerShortcuts("Reports", [["N", "new report of the study"]]);

const reportsLink = (params) => `#/reports?${new URLSearchParams(params)}`;
const CLASS_NAMES = {
  "1.2.840.10008.5.1.4.1.1.88.11": "Basic Text SR",
  "1.2.840.10008.5.1.4.1.1.88.22": "Enhanced SR",
  "1.2.840.10008.5.1.4.1.1.88.33": "Comprehensive SR",
  "1.2.840.10008.5.1.4.1.1.88.34": "Comprehensive 3D SR",
  "1.2.840.10008.5.1.4.1.1.88.59": "Key Object Selection",
};

export async function mount(container, params) {
  if (!params.study) {
    mountChooser(container);
    return null;
  }
  const study = params.study;
  const page = h("section", { class: "page page-reports" }, h("h1", {}, "Reports"));
  container.append(page);
  let info;
  let items;
  try {
    [info, items] = await Promise.all([getJson(studyPath(study)), getJson(`${studyPath(study)}/reports`)]);
  } catch (error) {
    page.append(errorBox(error));
    return null;
  }
  const main = h("div", { class: "report-main" });
  const chosen = params.new ? "" : params.report || items[0]?.id || "";
  page.append(
    h("p", { class: "report-study" }, studyLabel(info), " · ", h("a", { href: `#/studies` }, "Database")),
    h(
      "div",
      { class: "report-layout" },
      h(
        "aside",
        { class: "report-aside" },
        h("a", { class: "button primary", id: "new-report", href: reportsLink({ study, new: "1" }), "aria-current": params.new ? "page" : null }, "New report"),
        h("ul", { class: "report-list", id: "report-list" }, items.length ? items.map((item) => listItem(study, item, item.id === chosen)) : h("li", { class: "hint" }, "No reports yet.")),
      ),
      main,
    ),
  );
  let unmountEditor = null;
  if (params.new) {
    unmountEditor = await mountEditor(main, {
      study,
      onSaved: (made) => location.assign(reportsLink({ study, report: made.id })),
    });
  } else if (chosen) {
    showDocument(main, chosen);
  } else {
    main.append(h("p", { class: "hint" }, "This study has no structured report yet: write one with New report."));
  }
  function keydown(event) {
    if (event.key !== "n" && event.key !== "N") return;
    if (event.ctrlKey || event.metaKey || event.altKey || event.target.closest?.("input, textarea, select, dialog")) return;
    event.preventDefault();
    location.hash = reportsLink({ study, new: "1" });
  }
  document.addEventListener("keydown", keydown);
  return () => {
    document.removeEventListener("keydown", keydown);
    unmountEditor?.();
  };
}

function listItem(study, item, current) {
  const kind = CLASS_NAMES[item.SOPClassUID] || "Structured report";
  const flags = [item.CompletionFlag, item.VerificationFlag].filter(Boolean).join(" · ");
  return h(
    "li",
    { class: "report-item", dataset: { uid: item.id } },
    h(
      "a",
      { href: reportsLink({ study, report: item.id }), "aria-current": current ? "true" : null },
      h("span", { class: "report-title" }, item.DocumentTitle || "(untitled)"),
      h("span", { class: "report-meta" }, [kind, item.ContentDateTime, flags].filter(Boolean).join(" · ")),
    ),
  );
}

function showDocument(main, uid) {
  const base = `/api/reports/${encodeURIComponent(uid)}`;
  clear(main).append(
    h(
      "div",
      { class: "report-links" },
      h("a", { href: `${base}?format=html`, target: "_blank", rel: "noopener" }, "Open alone"),
      h("a", { href: `${base}?format=text`, target: "_blank", rel: "noopener" }, "Text"),
      h("a", { href: `${base}?format=json`, target: "_blank", rel: "noopener" }, "JSON"),
      h("a", { href: `/api/instances/${encodeURIComponent(uid)}/file`, download: `${uid}.dcm` }, "DICOM file"),
    ),
    // no allow-scripts: the page runs nothing; same origin so that thumbnails load with the session
    h("iframe", {
      class: "report-document",
      id: "report-document",
      title: "Report",
      src: `${base}?format=html`,
      sandbox: "allow-same-origin allow-top-navigation-by-user-activation allow-popups",
    }),
  );
}

function mountChooser(container) {
  const input = h("input", { type: "search", id: "report-study-uid", placeholder: "Study Instance UID", size: 50, "aria-label": "Study Instance UID" });
  const form = h(
    "form",
    {
      class: "search",
      onsubmit: (event) => {
        event.preventDefault();
        if (input.value.trim()) location.hash = reportsLink({ study: input.value.trim() });
      },
    },
    input,
    h("button", { type: "submit", class: "primary" }, "Open"),
  );
  container.append(
    h(
      "section",
      { class: "page page-reports page-empty" },
      h("h1", {}, "Reports"),
      h("p", {}, "Open a study's reports from the ", h("a", { href: "#/studies" }, "Database"), " (Reports, in the study's series), from the viewer (Report), or by its UID:"),
      form,
    ),
  );
}

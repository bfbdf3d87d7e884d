// Worklist (#/worklist): the modality worklist over GET /api/worklist, by scheduled
// start: what is scheduled, in progress and done, each with its study once images
// have arrived (open it in the viewer). Items can be added (a form posting to
// /api/worklist) and deleted. The page refreshes itself while it is open, so a
// step a modality starts or completes (MPPS) shows without a reload.

import { h, clear } from "./dom.js";
import { getJson, getPage, postJson, deleteObject, showError, errorBox } from "./api.js";
import { formatName, formatDate, formatTime, formatCount, dicomDate } from "./format.js";
import { confirmDialog, openDialog } from "./dialog.js";
import { registerShortcuts } from "./shortcuts.js";

const REFRESH_MS = 2000;
const STATES = [
  ["", "All"],
  ["SCHEDULED", "Scheduled"],
  ["IN PROGRESS", "In progress"],
  ["COMPLETED", "Done"],
  ["DISCONTINUED", "Discontinued"],
];
const state = { status: "", date: "", modality: "", offset: 0, limit: 100 };

// Columns: header, and how an item shows it (always text).
const COLUMNS = [
  ["Date", (i) => formatDate(i.ScheduledProcedureStepStartDate)],
  ["Time", (i) => formatTime(i.ScheduledProcedureStepStartTime)],
  ["Modality", (i) => i.Modality || ""],
  ["Station", (i) => i.ScheduledStationAETitle || ""],
  ["Patient", (i) => formatName(i.PatientName)],
  ["Patient ID", (i) => i.PatientID || ""],
  ["Accession", (i) => i.AccessionNumber || ""],
  ["Procedure", (i) => i.RequestedProcedureDescription || i.ScheduledProcedureStepDescription || ""],
];
const ADD_FIELDS = [
  ["PatientName", "Patient name (FAMILY^GIVEN)", "text", true],
  ["PatientID", "Patient ID", "text", true],
  ["AccessionNumber", "Accession number", "text", false],
  ["Modality", "Modality", "text", false],
  ["ScheduledStationAETitle", "Station AE title", "text", false],
  ["ScheduledProcedureStepStartDate", "Date", "date", false],
  ["ScheduledProcedureStepStartTime", "Time", "time", false],
  ["RequestedProcedureDescription", "Procedure", "text", false],
];

registerShortcuts("Worklist", [
  ["R", "refresh the list"],
  ["N", "add an item"],
]);

// The viewer route of the first series of a stored study, or null.
async function viewerRoute(studyUid) {
  const series = await getJson(`/api/studies/${encodeURIComponent(studyUid)}/series`);
  const first = series[0];
  if (!first) return null;
  return `#/viewer?study=${encodeURIComponent(studyUid)}&series=${encodeURIComponent(first.SeriesInstanceUID)}`;
}

function studyCell(item) {
  const count = Number(item.NumberOfStudyRelatedInstances || 0);
  if (!count) return h("span", { class: "muted", title: item.StudyInstanceUID || "" }, "no images yet");
  return h(
    "button",
    {
      type: "button",
      class: "open-study",
      title: item.StudyInstanceUID || "",
      onclick: async () => {
        try {
          const route = await viewerRoute(item.StudyInstanceUID);
          if (route) location.hash = route;
        } catch (error) {
          showError(error);
        }
      },
    },
    `Open (${formatCount(count)} images)`,
  );
}

function addDialog(onAdded) {
  const inputs = {};
  const problem = h("p", { class: "error", role: "alert", hidden: true });
  const fields = ADD_FIELDS.map(([name, label, type, required]) => {
    inputs[name] = h("input", { type, name, id: `worklist-add-${name}`, required });
    return h("label", { class: "field", for: `worklist-add-${name}` }, label, inputs[name]);
  });
  const form = h("form", { class: "worklist-add", id: "worklist-add" }, fields, problem);
  const submit = h("button", { type: "submit", class: "primary", form: "worklist-add" }, "Add");
  const cancel = h("button", { type: "button", onclick: () => dialog.close() }, "Cancel");
  const dialog = openDialog({ title: "Add worklist item", body: [form], buttons: [cancel, submit] });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {};
    for (const [name, , type] of ADD_FIELDS) {
      let value = inputs[name].value.trim();
      if (type === "date") value = dicomDate(value);
      if (type === "time") value = value.replaceAll(":", "");
      if (value) body[name] = value;
    }
    try {
      await postJson("/api/worklist", body);
      dialog.close();
      onAdded();
    } catch (error) {
      clear(problem).append(error.message);
      problem.hidden = false;
    }
  });
  inputs.PatientName.focus();
}

export async function mount(container) {
  let timer = null;
  let stopped = false;
  const body = h("tbody");
  const summary = h("span", { class: "summary", id: "worklist-count", "aria-live": "polite" });
  const pager = h("div", { class: "pager" });
  const status = h(
    "select",
    {
      "aria-label": "Status",
      id: "worklist-status",
      onchange: () => {
        state.status = status.value;
        state.offset = 0;
        refresh();
      },
    },
    STATES.map(([value, label]) => h("option", { value, selected: value === state.status }, label)),
  );
  const date = h("input", {
    type: "date",
    "aria-label": "Scheduled date",
    id: "worklist-date",
    value: state.date,
    onchange: () => {
      state.date = date.value;
      state.offset = 0;
      refresh();
    },
  });
  const modality = h("input", {
    type: "search",
    "aria-label": "Modality",
    placeholder: "Modality",
    id: "worklist-modality",
    size: 6,
    value: state.modality,
    onchange: () => {
      state.modality = modality.value.trim();
      state.offset = 0;
      refresh();
    },
  });
  const add = h("button", { type: "button", id: "worklist-add-button", onclick: () => addDialog(refresh) }, "Add item");
  container.append(
    h(
      "section",
      { class: "page page-worklist" },
      h("h1", {}, "Worklist"),
      h("div", { class: "list-bar" }, summary, status, date, modality, add, pager),
      h(
        "table",
        { class: "worklist", id: "worklist" },
        h("thead", {}, h("tr", {}, [...COLUMNS.map(([label]) => label), "Status", "Study", ""].map((label) => h("th", { scope: "col" }, label)))),
        body,
      ),
    ),
  );

  function row(item) {
    const remove = h(
      "button",
      {
        type: "button",
        class: "delete",
        "aria-label": "Delete",
        onclick: async () => {
          const confirmed = await confirmDialog({
            title: "Delete worklist item",
            message: [h("p", {}, "Delete the worklist item of ", h("strong", {}, formatName(item.PatientName)), "?")],
            confirm: "Delete",
            danger: true,
          });
          if (!confirmed) return;
          try {
            await deleteObject(`/api/worklist/${encodeURIComponent(item.id)}`);
          } catch (error) {
            showError(error);
          }
          refresh();
        },
      },
      "Delete",
    );
    const stateName = item.ScheduledProcedureStepStatus || "";
    return h(
      "tr",
      { class: "worklist-item", dataset: { id: String(item.id), status: stateName } },
      COLUMNS.map(([label, value]) => h("td", { class: `col-${label.replaceAll(" ", "")}` }, value(item))),
      h("td", { class: "worklist-status" }, h("span", { class: `badge status-${stateName.toLowerCase().replaceAll(" ", "-")}` }, stateName)),
      h("td", { class: "worklist-study" }, studyCell(item)),
      h("td", { class: "actions" }, remove),
    );
  }

  async function refresh() {
    clearTimeout(timer);
    const params = { status: state.status, modality: state.modality, limit: state.limit, offset: state.offset };
    if (state.date) params.date = dicomDate(state.date);
    try {
      const { items, total } = await getPage("/api/worklist", params);
      if (stopped) return;
      // rows whose item did not change stay as they are (a click is never lost)
      const kept = new Map([...body.querySelectorAll("tr.worklist-item")].map((tr) => [tr.dataset.signature, tr]));
      const rows = items.map((item) => {
        const signature = JSON.stringify(item);
        const tr = kept.get(signature) || row(item);
        tr.dataset.signature = signature;
        return tr;
      });
      clear(body).append(...(rows.length ? rows : [h("tr", { class: "empty" }, h("td", { colspan: COLUMNS.length + 3 }, "No worklist item."))]));
      const last = Math.min(state.offset + state.limit, total);
      summary.textContent = `${total ? state.offset + 1 : 0}–${last} of ${total} items`;
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
      clear(body).append(h("tr", {}, h("td", { colspan: COLUMNS.length + 3 }, errorBox(error))));
    }
    if (!stopped) timer = setTimeout(refresh, REFRESH_MS);
  }

  const onKey = (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest?.("input, select, textarea, dialog")) return;
    if (event.key === "r" || event.key === "R") refresh();
    if (event.key === "n" || event.key === "N") {
      event.preventDefault();
      addDialog(refresh);
    }
  };
  document.addEventListener("keydown", onKey);
  await refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
    document.removeEventListener("keydown", onKey);
  };
}

// The study search of a workstation, shared by the local database and the
// query/retrieve page: patient name, ID, birth date, sex, study date range,
// modality, accession number, description.
//
//   const form = searchForm({values, onChange, onSubmit, live: true});
//   form.keys() -> {PatientName: "*doe*", StudyDate: "20240101-20241231", ...}
//
// Text without a wildcard matches anywhere in the value ("doe" -> "*doe*");
// with * or ? it is taken as C-FIND takes it. Names match without regard to case.

import { h } from "./dom.js";
import { dicomDate } from "./format.js";

const MODALITIES = ["CT", "MR", "US", "CR", "DX", "MG", "NM", "PT", "XA", "RF", "OT", "SR", "SEG", "RTSTRUCT", "RTPLAN", "RTDOSE", "SC"];

// Each field: its name in `values`, its label, and how it becomes a query key.
const TEXT_FIELDS = [
  ["PatientName", "Patient name"],
  ["PatientID", "Patient ID"],
  ["AccessionNumber", "Accession"],
  ["StudyDescription", "Description"],
];

function anywhere(text) {
  const value = text.trim();
  if (!value) return "";
  return /[*?]/.test(value) ? value : `*${value}*`;
}

export function searchForm({ values = {}, onChange = () => {}, onSubmit = () => {}, live = false, idPrefix = "search" }) {
  const inputs = {};
  let timer = null;
  const changed = () => {
    if (!live) return;
    clearTimeout(timer);
    timer = setTimeout(() => onChange(read()), 250);
  };
  const field = (name, label, control) => {
    inputs[name] = control;
    control.id = `${idPrefix}-${name}`;
    control.name = name;
    control.addEventListener("input", changed);
    return h("label", { class: `field field-${name}`, for: control.id }, h("span", {}, label), control);
  };
  const text = (name, label) => field(name, label, h("input", { type: "search", autocomplete: "off", value: values[name] || "" }));
  const date = (name, label) => field(name, label, h("input", { type: "date", value: values[name] || "" }));

  const sex = h(
    "select",
    {},
    [["", "Any"], ["F", "F"], ["M", "M"], ["O", "O"]].map(([value, label]) =>
      h("option", { value, selected: (values.PatientSex || "") === value }, label),
    ),
  );
  const modality = h("input", { type: "search", autocomplete: "off", list: `${idPrefix}-modalities`, size: 6, value: values.ModalitiesInStudy || "" });

  const form = h(
    "form",
    {
      class: "search",
      role: "search",
      onsubmit: (event) => {
        event.preventDefault();
        clearTimeout(timer);
        onSubmit(read());
      },
    },
    text("PatientName", "Patient name"),
    text("PatientID", "Patient ID"),
    date("PatientBirthDate", "Birth date"),
    field("PatientSex", "Sex", sex),
    date("StudyDateFrom", "Study from"),
    date("StudyDateTo", "Study to"),
    field("ModalitiesInStudy", "Modality", modality),
    text("AccessionNumber", "Accession"),
    text("StudyDescription", "Description"),
    h("datalist", { id: `${idPrefix}-modalities` }, MODALITIES.map((m) => h("option", { value: m }))),
    h(
      "div",
      { class: "search-buttons" },
      h("button", { type: "submit", class: "primary" }, "Search"),
      h(
        "button",
        {
          type: "button",
          onclick: () => {
            for (const input of Object.values(inputs)) input.value = "";
            clearTimeout(timer);
            onSubmit(read());
          },
        },
        "Clear",
      ),
    ),
  );
  // select and date inputs report "change" more reliably than "input"
  for (const name of ["PatientSex", "PatientBirthDate", "StudyDateFrom", "StudyDateTo"]) {
    inputs[name].addEventListener("change", changed);
  }

  // The form's raw values, to keep between visits.
  function read() {
    return Object.fromEntries(Object.entries(inputs).map(([name, input]) => [name, input.value]));
  }

  return {
    element: form,
    values: read,
    focus: () => inputs.PatientName.focus(),
    keys: () => searchKeys(read()),
  };
}

// The form's values as DICOM matching keys (empty fields left out).
export function searchKeys(values) {
  const keys = {};
  for (const [name] of TEXT_FIELDS) {
    const value = anywhere(values[name] || "");
    if (value) keys[name] = value;
  }
  if (values.PatientBirthDate) keys.PatientBirthDate = dicomDate(values.PatientBirthDate);
  if (values.PatientSex) keys.PatientSex = values.PatientSex;
  const from = dicomDate(values.StudyDateFrom);
  const to = dicomDate(values.StudyDateTo);
  if (from || to) keys.StudyDate = from === to ? from : `${from}-${to}`;
  const modality = (values.ModalitiesInStudy || "").trim().toUpperCase();
  if (modality) keys.ModalitiesInStudy = modality;
  return keys;
}

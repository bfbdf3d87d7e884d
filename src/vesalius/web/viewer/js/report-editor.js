// The editor of a new report (on #/reports?study=UID&new=1): title, sections of
// text, findings (coded as SCHEME:VALUE:Meaning, or free text), measurements
// (those made with the viewer's Length tool come in already), key images
// picked from the study's images (those marked with K in the viewer come in
// ticked), the author and the flags. Saving posts to
// /api/studies/{uid}/reports; the server makes the SR and the Key Object
// Selection and stores them in the study.

import { h, clear } from "./dom.js";
import { getJson, getPage, postJson, errorBox, studyPath, seriesPath } from "./api.js";
import { basketOf, clearBasket } from "./report-basket.js";

const NOT_IMAGES = new Set(["SR", "KO", "PR", "SEG", "RWV", "REG", "DOC", "RTSTRUCT", "RTPLAN"]);
const MEASUREMENT_NAMES = ["Diameter", "Length", "Long axis", "Short axis", "Area", "Volume", "Mean"];
const thumbnail = (study, series, uid) =>
  `/dicomweb/studies/${encodeURIComponent(study)}/series/${encodeURIComponent(series)}/instances/${encodeURIComponent(uid)}/thumbnail`;

export async function mountEditor(container, { study, onSaved }) {
  clear(container).append(h("p", { class: "hint" }, "Loading the study's images…"));
  let vocabulary;
  let images;
  try {
    [vocabulary, images] = await Promise.all([getJson("/api/reports/vocabulary"), studyImages(study)]);
  } catch (error) {
    clear(container).append(errorBox(error));
    return null;
  }
  const basket = basketOf(study);
  const lists = {
    titles: datalist("report-titles", vocabulary.titles),
    headings: datalist("report-headings", vocabulary.headings),
    units: datalist("report-units", vocabulary.units),
    names: datalist("report-names", MEASUREMENT_NAMES),
  };
  const title = h("input", { name: "title", id: "report-title", value: "Diagnostic Imaging Report", list: "report-titles", maxlength: 64, required: true });
  const kind = h(
    "select",
    { name: "kind", id: "report-kind" },
    [["auto", "Automatic (Basic Text, Enhanced with numbers)"], ["basic", "Basic Text SR"], ["enhanced", "Enhanced SR"], ["comprehensive", "Comprehensive SR (TID 1500)"]].map(([value, label]) => h("option", { value }, label)),
  );
  const observer = h("input", { name: "observer", id: "report-observer", placeholder: "FAMILY^GIVEN", maxlength: 64 });
  const sections = rows("report-sections", () => sectionRow("", ""), "Add a section");
  sections.add(sectionRow("Findings", ""));
  sections.add(sectionRow("Impression", ""));
  const findings = rows("report-findings", () => findingRow(""), "Add a finding");
  const measurements = rows("report-measurements", () => measurementRow(images, {}), "Add a measurement");
  for (const made of basket.measurements) measurements.add(measurementRow(images, made));
  const keyTitle = h("select", { name: "key_title", id: "report-key-title" }, vocabulary.keyTitles.map((t) => h("option", { value: t, selected: t === "Of Interest" }, t)));
  const keyPicker = keyImagePicker(study, images, new Set(basket.keys.map((key) => key.uid)));
  const complete = h("input", { type: "checkbox", name: "complete", id: "report-complete", checked: true });
  const final = h("input", { type: "checkbox", name: "final", id: "report-final" });
  const verifiedBy = h("input", { name: "verified_by", id: "report-verified-by", placeholder: "FAMILY^GIVEN", maxlength: 64 });
  const organization = h("input", { name: "organization", id: "report-organization", maxlength: 64 });
  const status = h("div", { class: "report-status", role: "status" });
  const save = h("button", { type: "submit", class: "primary", id: "report-save" }, "Save report");

  const form = h(
    "form",
    { class: "report-editor", id: "report-editor", onsubmit: submit },
    Object.values(lists),
    h("h2", {}, "New report"),
    h("div", { class: "report-fields" }, field("Title", title), field("SR class", kind), field("Author", observer)),
    h("h3", {}, "Sections"),
    sections.element,
    h("h3", {}, "Findings"),
    h("p", { class: "hint" }, "A code as SCHEME:VALUE:Meaning (SCT:4147007:Mass), or text."),
    findings.element,
    h("h3", {}, "Measurements"),
    h("p", { class: "hint" }, "UCUM units. Lengths measured with the viewer's Length tool (L) are listed here with their image."),
    measurements.element,
    h("h3", {}, "Key images"),
    h("div", { class: "report-fields" }, field("Title of the selection", keyTitle)),
    keyPicker.element,
    h("h3", {}, "Flags"),
    h(
      "div",
      { class: "report-fields" },
      h("label", { class: "check" }, complete, " Complete"),
      h("label", { class: "check" }, final, " Final"),
      field("Verified by", verifiedBy),
      field("Organization", organization),
    ),
    h("div", { class: "report-buttons" }, save, status),
  );
  clear(container).append(form);

  async function submit(event) {
    event.preventDefault();
    const body = {
      title: title.value.trim(),
      kind: kind.value,
      observer: observer.value.trim(),
      sections: sections.values().filter((s) => s.text),
      findings: findings.values().filter(Boolean),
      measurements: measurements.values().filter((m) => m.name || m.value !== null),
      key_images: keyPicker.chosen(),
      key_title: keyTitle.value,
      complete: complete.checked,
      final: final.checked,
      verified_by: verifiedBy.value.trim(),
      organization: organization.value.trim(),
    };
    save.disabled = true;
    clear(status).append("Saving…");
    try {
      const made = await postJson(`${studyPath(study)}/reports`, body);
      clearBasket(study);
      clear(status).append(`Saved: ${made.objects.map((o) => o.kindName).join(" and ")}.`);
      onSaved(made);
    } catch (error) {
      clear(status).append(errorBox(error));
    } finally {
      save.disabled = false;
    }
  }
  return null;
}

// The instances with pixels of a study, by series: [{uid, series, label}].
async function studyImages(study) {
  const { items: series } = await getPage(`${studyPath(study)}/series`, { limit: 1000 });
  const found = [];
  for (const one of series) {
    if (NOT_IMAGES.has(one.Modality)) continue;
    const { items } = await getPage(`${seriesPath(one.SeriesInstanceUID)}/instances`, { limit: 1000 });
    for (const instance of items) {
      const label = `${one.Modality || "?"} ${one.SeriesNumber ?? ""} ${one.SeriesDescription || ""} · #${instance.InstanceNumber ?? "?"}`;
      found.push({ uid: instance.SOPInstanceUID, series: one.SeriesInstanceUID, label: label.replace(/\s+/g, " ") });
    }
  }
  return found;
}

function datalist(id, values) {
  return h("datalist", { id }, values.map((value) => h("option", { value })));
}

function field(label, control) {
  return h("label", { class: "field" }, h("span", {}, label), control);
}

// A growing list of rows, each an element with a value() method.
function rows(id, make, addLabel) {
  const list = h("ol", { class: "report-rows", id });
  const items = [];
  const element = h("div", {}, list, h("button", { type: "button", class: "add-row", onclick: () => add(make()) }, addLabel));
  function add(row) {
    const remove = h("button", { type: "button", class: "icon remove-row", "aria-label": "Remove", title: "Remove", onclick: () => {
      items.splice(items.indexOf(row), 1);
      item.remove();
    } }, "×");
    const item = h("li", {}, row.element, remove);
    items.push(row);
    list.append(item);
  }
  return { element, add, values: () => items.map((row) => row.value()) };
}

function sectionRow(heading, text) {
  const headingInput = h("input", { class: "section-heading", value: heading, list: "report-headings", maxlength: 64, "aria-label": "Heading" });
  const textArea = h("textarea", { class: "section-text", rows: 3, "aria-label": "Text" }, text);
  return {
    element: h("div", { class: "report-row" }, headingInput, textArea),
    value: () => ({ heading: headingInput.value.trim() || "Findings", text: textArea.value.trim() }),
  };
}

function findingRow(text) {
  const input = h("input", { class: "finding", value: text, size: 50, placeholder: "SCT:4147007:Mass", "aria-label": "Finding" });
  return { element: h("div", { class: "report-row" }, input), value: () => input.value.trim() };
}

function measurementRow(images, made) {
  const name = h("input", { class: "m-name", value: made.name || "", list: "report-names", size: 12, "aria-label": "Name" });
  const value = h("input", { class: "m-value", type: "number", step: "any", value: made.value ?? "", "aria-label": "Value" });
  const unit = h("input", { class: "m-unit", value: made.unit || "mm", list: "report-units", size: 6, "aria-label": "Unit" });
  const image = h(
    "select",
    { class: "m-image", "aria-label": "Image" },
    h("option", { value: "" }, "(no image)"),
    images.map((one) => h("option", { value: one.uid, selected: one.uid === made.image }, one.label)),
  );
  const points = (made.points || []).map((point) => point.map((v) => Number(v.toFixed(2))));
  const where = h("span", { class: "m-points hint" }, points.length ? `along ${points.map((p) => `(${p.join(", ")})`).join(" – ")}` : "");
  return {
    element: h("div", { class: "report-row" }, name, value, unit, image, where),
    value: () => ({
      name: name.value.trim(),
      value: value.value === "" ? null : Number(value.value),
      unit: unit.value.trim() || "1",
      image: image.value || null,
      frame: image.value && image.value === made.image ? made.frame ?? null : null,
      points: image.value && image.value === made.image ? points : [],
    }),
  };
}

function keyImagePicker(study, images, ticked) {
  const boxes = images.map((one) => {
    const box = h("input", { type: "checkbox", value: one.uid, checked: ticked.has(one.uid), "aria-label": one.label });
    return {
      box,
      element: h(
        "label",
        { class: "key-image", title: one.label, dataset: { uid: one.uid } },
        h("img", { src: thumbnail(study, one.series, one.uid), alt: "", loading: "lazy", width: 96, height: 96 }),
        h("span", {}, box, " ", one.label),
      ),
    };
  });
  return {
    element: h("div", { class: "key-images", id: "report-key-images" }, boxes.length ? boxes.map((b) => b.element) : h("p", { class: "hint" }, "The study has no images.")),
    chosen: () => boxes.filter((b) => b.box.checked).map((b) => b.box.value),
  };
}

// "Export…": a study (or series) as DICOM media, a ZIP, pictures or movies.
// Pick a format and its options, start the export job (POST /api/export),
// follow its progress, then download the file it made.
//
//   exportDialog({ studies: [uid] }, label);
//   exportDialog({ series: [uid] }, label);

import { h, clear } from "./dom.js";
import { postJson, errorBox } from "./api.js";
import { openDialog } from "./dialog.js";
import { jobProgress } from "./progress.js";

// value, label, and the options each format shows
const FORMATS = [
  ["dicomdir", "DICOMDIR folder (ZIP, for a USB stick)", ["profile", "viewer"]],
  ["iso", "ISO image (to burn on CD or DVD)", ["profile", "viewer", "label"]],
  ["zip", "ZIP of the DICOM files", ["layout"]],
  ["png", "PNG pictures, one per frame", ["window", "annotate"]],
  ["jpeg", "JPEG pictures, one per frame", ["window", "annotate", "quality"]],
  ["tiff", "TIFF pictures, one per frame", ["window", "annotate", "bits"]],
  ["mp4", "MP4 movies (cine loops)", ["window", "annotate", "fps"]],
  ["gif", "Animated GIF movies", ["window", "annotate", "fps"]],
];

function field(id, label, input, hint) {
  return h("div", { class: "export-field", dataset: { option: id } }, h("label", { for: `export-${id}` }, label, " "), input, hint ? h("span", { class: "hint" }, ` ${hint}`) : null);
}

function select(id, choices) {
  return h("select", { id: `export-${id}`, name: id }, choices.map(([value, label]) => h("option", { value }, label)));
}

// The body of POST /api/export from the form's inputs.
function requestBody(selection, inputs) {
  const body = { ...selection, format: inputs.format.value };
  const shown = (name) => !inputs[name].closest(".export-field").hidden;
  if (shown("profile") && inputs.profile.value) body.profile = inputs.profile.value;
  if (shown("viewer")) body.with_viewer = inputs.viewer.checked;
  if (shown("label") && inputs.label.value.trim()) body.label = inputs.label.value.trim();
  if (shown("layout")) body.layout = inputs.layout.value;
  if (shown("window") && inputs.window.value.trim()) body.window = inputs.window.value.trim();
  if (shown("annotate")) body.annotate = inputs.annotate.checked;
  if (shown("quality")) body.quality = Number(inputs.quality.value);
  if (shown("bits")) body.bits = Number(inputs.bits.value);
  if (shown("fps") && inputs.fps.value) body.fps = Number(inputs.fps.value);
  return body;
}

export function exportDialog(selection, label) {
  const inputs = {
    format: select("format", FORMATS.map(([value, text]) => [value, text])),
    profile: select("profile", [["", "as the format suits (CD for ISO, USB otherwise)"], ["STD-GEN-CD", "STD-GEN-CD: uncompressed, for any reader"], ["STD-GEN-USB", "STD-GEN-USB: files as stored"]]),
    viewer: h("input", { type: "checkbox", id: "export-viewer", name: "viewer" }),
    label: h("input", { type: "text", id: "export-label", name: "label", maxlength: 32, placeholder: "from the patient and date" }),
    layout: select("layout", [["dicomdir", "with a DICOMDIR"], ["tree", "Patient/Study/Series folders"]]),
    window: h("input", { type: "text", id: "export-window", name: "window", placeholder: "the image's own", pattern: "\\s*-?[0-9.]+\\s*,\\s*[0-9.]+\\s*", size: 12 }),
    annotate: h("input", { type: "checkbox", id: "export-annotate", name: "annotate" }),
    quality: h("input", { type: "number", id: "export-quality", name: "quality", min: 1, max: 100, value: 90 }),
    bits: select("bits", [["8", "8 bits, windowed"], ["16", "16 bits, stored values (grayscale)"]]),
    fps: h("input", { type: "number", id: "export-fps", name: "fps", min: 0.1, max: 240, step: "any", placeholder: "the image's" }),
  };
  const fields = [
    field("profile", "Profile", inputs.profile),
    field("viewer", "Add a page listing the content", inputs.viewer),
    field("label", "Volume label", inputs.label),
    field("layout", "Layout", inputs.layout),
    field("window", "Window C,W", inputs.window),
    field("annotate", "Burn in patient and image text", inputs.annotate),
    field("quality", "Quality", inputs.quality),
    field("bits", "Depth", inputs.bits),
    field("fps", "Frames per second", inputs.fps),
  ];
  const showOptions = () => {
    const wanted = FORMATS.find(([value]) => value === inputs.format.value)[2];
    for (const element of fields) element.hidden = !wanted.includes(element.dataset.option);
  };
  inputs.format.addEventListener("change", showOptions);
  showOptions();

  const status = h("div", { class: "export-status", "aria-live": "polite" });
  const startButton = h("button", { type: "button", class: "primary" }, "Export");
  const closeButton = h("button", { type: "button" }, "Close");
  let watcher = null;
  const dialog = openDialog({
    title: "Export",
    className: "export",
    body: [h("p", {}, "Export ", h("strong", {}, label), " as:"), field("format", "Format", inputs.format), ...fields, status],
    buttons: [closeButton, startButton],
  });
  closeButton.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => watcher?.stop());

  const form = Object.values(inputs);
  startButton.addEventListener("click", async () => {
    if (!inputs.window.checkValidity()) {
      clear(status).append(errorBox("The window is a centre and a width: 40,400."));
      return;
    }
    startButton.disabled = true;
    for (const input of form) input.disabled = true;
    clear(status);
    try {
      const job = await postJson("/api/export", requestBody(selection, inputs));
      watcher = jobProgress(job);
      status.append(watcher.element, h("p", { class: "hint" }, "The export goes on if you close this; see ", h("a", { href: "#/jobs" }, "Jobs"), "."));
      const final = await watcher.finished;
      const download = final.result?.download;
      if (download) {
        status.append(h("p", { class: "export-done" }, h("a", { class: "button primary download", href: download, download: final.result.file || "" }, `Download ${final.result.file || "the export"}`)));
      }
    } catch (error) {
      status.append(errorBox(error));
    } finally {
      startButton.disabled = false;
      for (const input of form) input.disabled = false;
    }
  });
  inputs.format.focus();
  return dialog;
}

// The four corner texts over a viewport: patient, study, series, image
// number, window and zoom. Every value from a file goes in as text.

import { h } from "../dom.js";
import { windowText } from "./voi.js";

const FIELDS = {
  "top-left": ["patient", "patient-id", "patient-birth"],
  "top-right": ["study-date", "study", "series"],
  "bottom-left": ["image", "frame", "instance"],
  "bottom-right": ["window", "zoom"],
};

/** The overlay's element, and set(field, text) to change one line. */
export function createOverlay() {
  const lines = new Map();
  const corners = Object.entries(FIELDS).map(([corner, fields]) =>
    h(
      "div",
      { class: `vw-corner vw-${corner}` },
      fields.map((field) => {
        const line = h("div", { class: "vw-line", dataset: { field } });
        lines.set(field, line);
        return line;
      }),
    ),
  );
  const element = h("div", { class: "vw-overlay", "aria-live": "off" }, corners);
  return {
    element,
    set(field, text) {
      const line = lines.get(field);
      const value = text ?? "";
      if (line.textContent !== value) line.textContent = value;
    },
  };
}

/** Fill the lines that depend on the series only. */
export function showSeriesText(overlay, header) {
  overlay.set("patient", formatName(header.patientName));
  overlay.set("patient-id", header.patientId && `ID ${header.patientId}`);
  const birth = formatDate(header.patientBirthDate);
  overlay.set("patient-birth", [birth, header.patientSex].filter(Boolean).join("  "));
  overlay.set("study-date", [formatDate(header.studyDate), formatTime(header.studyTime)].filter(Boolean).join(" "));
  overlay.set("study", header.studyDescription);
  const series = [header.modality, header.seriesNumber && `Series ${header.seriesNumber}`, header.seriesDescription];
  overlay.set("series", series.filter(Boolean).join(" "));
}

/** Fill the lines that change with the image and the view. */
export function showImageText(overlay, { position, count, image, window, zoom, inverted }) {
  overlay.set("image", `Image ${position + 1} / ${count}`);
  const frames = image.instance.frameCount;
  overlay.set("frame", frames > 1 ? `Frame ${image.frame} / ${frames}` : "");
  const number = image.instance.instanceNumber;
  overlay.set("instance", number !== undefined ? `Instance ${number}` : "");
  overlay.set("window", windowText(window));
  overlay.set("zoom", `Zoom ${Math.round(zoom * 100)}%${inverted ? "  Inverted" : ""}`);
}

/** DOE^JOHN^^DR -> "DOE, DR JOHN": a DICOM person name for reading, group by group ("="). */
export function formatName(name) {
  return (name || "").split("=").map(formatGroup).join("=");
}

function formatGroup(group) {
  const [family = "", given = "", middle = "", prefix = "", suffix = ""] = group.split("^");
  const rest = [prefix, given, middle, suffix].filter(Boolean).join(" ");
  return family && rest ? `${family}, ${rest}` : family || rest;
}

/** 20240131 -> 2024-01-31 (left alone when it is not a DICOM date). */
export function formatDate(value) {
  const match = /^(\d{4})(\d{2})(\d{2})$/.exec((value || "").trim());
  return match ? `${match[1]}-${match[2]}-${match[3]}` : (value || "").trim();
}

function formatTime(value) {
  const match = /^(\d{2})(\d{2})(\d{2})?/.exec((value || "").trim());
  return match ? `${match[1]}:${match[2]}${match[3] ? `:${match[3]}` : ""}` : "";
}

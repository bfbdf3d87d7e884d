// The viewer's toolbar: mouse tool, window presets, invert, fit / 1:1, reset,
// cine with its frames per second, and the tag panel. It acts through the
// `actions` it is given and shows the state of the active viewport.

import { h } from "../dom.js";
import { PRESETS } from "./voi.js";

export const TOOLS = [
  { id: "window", label: "W/L", title: "Left button: window / level (W)" },
  { id: "pan", label: "Pan", title: "Left button: pan (P)" },
  { id: "zoom", label: "Zoom", title: "Left button: zoom (Z)" },
  { id: "scroll", label: "Scroll", title: "Left button: scroll through images (S)" },
  { id: "length", label: "Length", title: "Left button: measure a length for the report (L)" },
];

export function createToolbar(actions) {
  const toolButtons = TOOLS.map((tool) =>
    h(
      "button",
      { type: "button", class: "vw-tool", title: tool.title, dataset: { tool: tool.id }, onclick: () => actions.setTool(tool.id) },
      tool.label,
    ),
  );
  const presetSelect = h(
    "select",
    { class: "vw-preset", "aria-label": "Window preset", onchange: () => actions.preset(presetSelect.value) },
    PRESETS.map((preset) =>
      h(
        "option",
        { value: preset.id },
        preset.center === undefined ? `${preset.label} (${preset.key})` : `${preset.label} ${preset.center}/${preset.width} (${preset.key})`,
      ),
    ),
    h("option", { value: "custom", disabled: true }, "Custom"),
  );
  const invertButton = button("Invert", "Invert (I)", actions.invert, "vw-invert");
  const playButton = button("▶ Play", "Play / stop cine (Space)", actions.toggleCine, "vw-play");
  const fpsInput = h("input", {
    class: "vw-fps",
    type: "number",
    min: "1",
    max: "120",
    step: "1",
    value: "10",
    "aria-label": "Frames per second",
    title: "Frames per second ([ and ])",
    oninput: () => actions.setFps(Number(fpsInput.value)),
  });
  const tagsButton = button("Tags", "Tag panel (T)", actions.toggleTags, "vw-tags-button");
  const keyButton = button("Key image", "Mark / unmark this image as a key image of the report (K)", actions.toggleKeyImage, "vw-key-image");
  const reportLink = h("a", { class: "button vw-report", href: actions.reportLink, title: "The study's reports: write one with the key images and lengths" }, "Report");
  const element = h(
    "div",
    { class: "vw-toolbar", role: "toolbar", "aria-label": "Viewer tools" },
    h("div", { class: "vw-group" }, toolButtons),
    h("div", { class: "vw-group" }, presetSelect, invertButton),
    h(
      "div",
      { class: "vw-group" },
      button("Fit", "Fit to the viewport (F)", actions.fit, "vw-fit"),
      button("1:1", "One image pixel per screen pixel (O)", actions.actualSize, "vw-actual"),
      button("Reset", "Reset window, zoom and invert (R)", actions.reset, "vw-reset"),
    ),
    h("div", { class: "vw-group" }, playButton, h("label", { class: "vw-fps-label" }, fpsInput, " fps")),
    h("div", { class: "vw-group" }, tagsButton),
    h("div", { class: "vw-group" }, keyButton, reportLink),
  );

  return {
    element,
    /** Show the state of viewport (the active one), the tool and the tag panel. */
    /** Show whether the image on screen is a key image of the report. */
    setKeyImage(on) {
      keyButton.setAttribute("aria-pressed", String(Boolean(on)));
    },
    update(viewport, { tool, tagsOpen, keyImage = false }) {
      keyButton.setAttribute("aria-pressed", String(keyImage));
      for (const toolButton of toolButtons) {
        toolButton.setAttribute("aria-pressed", String(toolButton.dataset.tool === tool));
      }
      presetSelect.value = viewport?.presetId ?? "auto";
      invertButton.setAttribute("aria-pressed", String(Boolean(viewport?.invert)));
      const playing = Boolean(viewport?.cine.playing);
      playButton.textContent = playing ? "■ Stop" : "▶ Play";
      playButton.setAttribute("aria-pressed", String(playing));
      if (document.activeElement !== fpsInput) fpsInput.value = String(viewport?.cine.fps ?? 10);
      tagsButton.setAttribute("aria-pressed", String(tagsOpen));
    },
  };
}

function button(label, title, onclick, className) {
  return h("button", { type: "button", class: className, title, onclick }, label);
}

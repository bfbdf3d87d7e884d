// The viewer's keyboard: one table of keys -> actions, the same table listed
// in the help overlay (section "Viewer" of shortcuts.js).

import { registerShortcuts } from "../shortcuts.js";
import { PRESETS } from "./voi.js";

const KEYS = [
  [["ArrowDown", "ArrowRight"], "next", "↓ / →, wheel", "next image"],
  [["ArrowUp", "ArrowLeft"], "previous", "↑ / ←", "previous image"],
  [["PageDown"], "forward10", "Page Down", "10 images forward"],
  [["PageUp"], "back10", "Page Up", "10 images back"],
  [["Home"], "first", "Home", "first image"],
  [["End"], "last", "End", "last image"],
  [[" "], "cine", "Space", "play / stop cine"],
  [["]"], "faster", "]", "cine faster (fps + 1)"],
  [["["], "slower", "[", "cine slower (fps − 1)"],
  ...PRESETS.map((preset) => [
    [preset.key],
    `preset:${preset.id}`,
    preset.key,
    preset.center === undefined
      ? "window: the image's own (auto)"
      : `window preset ${preset.label.toLowerCase()} (C ${preset.center} W ${preset.width})`,
  ]),
  [["i", "I"], "invert", "I", "invert"],
  [["f", "F"], "fit", "F", "fit to the viewport"],
  [["o", "O"], "actualSize", "O", "1:1 (one image pixel per screen pixel)"],
  [["+", "="], "zoomIn", "+", "zoom in"],
  [["-", "_"], "zoomOut", "−", "zoom out"],
  [["r", "R"], "reset", "R", "reset window, zoom and invert"],
  [["w", "W"], "tool:window", "W", "left button: window / level"],
  [["p", "P"], "tool:pan", "P", "left button: pan"],
  [["z", "Z"], "tool:zoom", "Z", "left button: zoom"],
  [["s", "S"], "tool:scroll", "S", "left button: scroll through images"],
  [["l", "L"], "tool:length", "L", "left button: measure a length (goes to the report)"],
  [["k", "K"], "keyImage", "K", "mark / unmark the image as a key image of the report"],
  [["t", "T"], "tags", "T", "show / hide the tag panel"],
  [["v", "V"], "nextViewport", "V", "switch viewport (side by side)"],
];

const MOUSE = [
  ["Left drag", "the tool (window / level by default)"],
  ["Right drag", "zoom"],
  ["Middle drag, Shift + left drag", "pan"],
  ["Ctrl + wheel", "zoom at the pointer"],
  ["Double click", "fit"],
];

const ACTION_OF_KEY = new Map(KEYS.flatMap(([keys, action]) => keys.map((key) => [key, action])));

registerShortcuts("Viewer", [...KEYS.map(([, , keys, description]) => [keys, description]), ...MOUSE]);

/** The action name of a keydown event, or null (typing in a field, with Ctrl/Alt/Meta...). */
export function actionOf(event) {
  if (event.ctrlKey || event.altKey || event.metaKey || event.defaultPrevented) return null;
  const target = event.target;
  if (target?.closest?.("input, textarea, select, dialog, [contenteditable='true']")) return null;
  if (event.key === " " && target?.closest?.("button")) return null; // Space presses the button
  return ACTION_OF_KEY.get(event.key) ?? null;
}

// Window (VOI) functions of PS3.3 C.11.2.1 and the window presets of the toolbar.
//
//   const toGray = voiFunction({center: 40, width: 400, fn: "linear"});
//   toGray(-1000) -> 0, toGray(40) -> 128, toGray(1000) -> 255

/** Presets; "auto" is the image's own window (or its range when it has none). */
export const PRESETS = [
  { id: "auto", label: "Auto", key: "1" },
  { id: "brain", label: "Brain", center: 40, width: 80, key: "2" },
  { id: "lung", label: "Lung", center: -600, width: 1500, key: "3" },
  { id: "bone", label: "Bone", center: 400, width: 1800, key: "4" },
  { id: "abdomen", label: "Abdomen", center: 40, width: 400, key: "5" },
];

/** A function from a modality value to a gray level 0..255 (a float). */
export function voiFunction({ center, width, fn = "linear" }) {
  if (fn === "sigmoid") {
    return (x) => 255 / (1 + Math.exp((-4 * (x - center)) / width));
  }
  if (fn === "linear-exact") {
    const low = center - width / 2;
    const high = center + width / 2;
    return (x) => (x <= low ? 0 : x > high ? 255 : ((x - center) / width + 0.5) * 255);
  }
  // linear (C.11.2.1.2.1): width at least 1
  const w = Math.max(1, width);
  const low = center - 0.5 - (w - 1) / 2;
  const high = center - 0.5 + (w - 1) / 2;
  return (x) => (x <= low ? 0 : x > high ? 255 : ((x - (center - 0.5)) / (w - 1 || 1) + 0.5) * 255);
}

/** The window that spans modality values low..high (an image without a window of its own). */
export function rangeWindow(low, high) {
  const width = high > low ? high - low : 1;
  return { center: low + width / 2, width, fn: "linear-exact" };
}

/** The narrowest width a window may take (linear windows are at least 1 wide). */
export function minimumWidth(fn, range) {
  return fn === "linear" ? 1 : Math.max(range / 4096, 1e-6);
}

/** "C 40 W 400", rounded as a reader expects. */
export function windowText(window) {
  if (!window) return "";
  return `C ${round(window.center)} W ${round(window.width)}`;
}

function round(value) {
  const magnitude = Math.abs(value);
  if (magnitude >= 100 || Number.isInteger(value)) return String(Math.round(value));
  if (magnitude >= 1) return value.toFixed(1);
  return value.toPrecision(3);
}

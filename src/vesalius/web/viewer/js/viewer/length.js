// The Length tool: drag across the image to measure a distance. Points are in
// image pixels with (0, 0) at the top left corner of the top left pixel, as SR
// spatial coordinates are (PS3.3 C.18.6.1.1); the length is in mm when the
// image gives its pixel spacing (Pixel Spacing, the frame's Pixel Measures, or
// Imager Pixel Spacing), else in pixels. Lines stay drawn on their image.

import { frameGroup, numbers } from "./dicom-json.js";

const PIXEL_SPACING = "00280030";
const IMAGER_PIXEL_SPACING = "00181164";
const PIXEL_MEASURES = "00289110";

/** [row spacing, column spacing] in mm of a frame (1-based), or null. */
export function pixelSpacing(instance, frame = 1) {
  const dataset = instance.dataset;
  const candidates = [
    numbers(dataset, PIXEL_SPACING),
    numbers(frameGroup(dataset, frame - 1, PIXEL_MEASURES) ?? {}, PIXEL_SPACING),
    numbers(dataset, IMAGER_PIXEL_SPACING),
  ];
  const found = candidates.find((pair) => pair.length === 2 && pair[0] > 0 && pair[1] > 0);
  return found ?? null;
}

/** The length of the line between two image points: {value, unit, label}. */
export function measure([start, end], spacing) {
  const dx = end[0] - start[0];
  const dy = end[1] - start[1];
  if (spacing) {
    const value = Math.hypot(dx * spacing[1], dy * spacing[0]);
    return { value: Number(value.toFixed(2)), unit: "mm", label: `${value.toFixed(1)} mm` };
  }
  const value = Math.hypot(dx, dy);
  return { value: Number(value.toFixed(2)), unit: "{pixels}", label: `${value.toFixed(1)} px` };
}

/** Draw lines (image points) with their labels; the context maps image pixels to screen. */
export function drawLengths(context, lines, scale) {
  if (!lines.length) return;
  context.save();
  context.lineWidth = 1.5 / scale;
  context.strokeStyle = "#ffd24a";
  context.fillStyle = "#ffd24a";
  context.font = `${13 / scale}px system-ui, sans-serif`;
  context.textBaseline = "bottom";
  for (const { points, label } of lines) {
    const [[x0, y0], [x1, y1]] = points;
    context.beginPath();
    context.moveTo(x0, y0);
    context.lineTo(x1, y1);
    context.stroke();
    for (const [x, y] of points) context.fillRect(x - 2 / scale, y - 2 / scale, 4 / scale, 4 / scale);
    context.fillText(label, x1 + 4 / scale, y1 - 4 / scale);
  }
  context.restore();
}


// Grayscale pixels in the browser: the stored values of one frame (uncompressed
// little-endian samples from WADO-RS /frames) and their painting into RGBA
// through rescale, a window and inversion, by a lookup table over the frame's
// range of stored values, so a new window costs one pass over the pixels.

import { voiFunction } from "./voi.js";

const LOOKUP_LIMIT = 1 << 20; // wider stored ranges are windowed pixel by pixel

/** The stored values of a frame as a typed array, with their minimum and maximum. */
export function readSamples(body, instance) {
  const { rows, columns, bitsAllocated, bitsStored, signed } = instance;
  const count = rows * columns;
  const bytesPerSample = bitsAllocated / 8;
  if (body.byteLength < count * bytesPerSample) {
    throw new Error(`frame has ${body.byteLength} bytes, ${count * bytesPerSample} expected`);
  }
  const Kind = {
    8: signed ? Int8Array : Uint8Array,
    16: signed ? Int16Array : Uint16Array,
    32: signed ? Int32Array : Uint32Array,
  }[bitsAllocated];
  // body is a Uint8Array at offset 0 of its own buffer (multipart.js copies it): aligned.
  const samples = new Kind(body.buffer, body.byteOffset, count);
  const { min, max } = cleanHighBits(samples, bitsAllocated, bitsStored, signed);
  return { kind: "gray", samples, min, max, rows, columns };
}

/**
 * Keep only the Bits Stored low bits (sign-extended when signed), as PS3.5 8.1.1
 * says; returns the range of the values.
 */
function cleanHighBits(samples, bitsAllocated, bitsStored, signed) {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  const unused = bitsStored > 0 && bitsStored < bitsAllocated && bitsAllocated < 32 ? 32 - bitsStored : 0;
  const mask = unused ? 2 ** bitsStored - 1 : 0;
  for (let i = 0; i < samples.length; i += 1) {
    let value = samples[i];
    if (unused) {
      value = signed ? (value << unused) >> unused : value & mask;
      samples[i] = value;
    }
    if (value < min) min = value;
    if (value > max) max = value;
  }
  if (min > max) return { min: 0, max: 0 };
  return { min, max };
}

/** Modality values (after rescale) spanned by a frame. */
export function modalityRange(frame, { slope, intercept }) {
  const a = frame.min * slope + intercept;
  const b = frame.max * slope + intercept;
  return { low: Math.min(a, b), high: Math.max(a, b) };
}

/**
 * Paint a frame into imageData (same size): gray = window(rescale(stored)),
 * inverted when asked (MONOCHROME1 xor the user's invert).
 */
export function paintGray(frame, { slope, intercept }, window, invert, imageData) {
  const toGray = voiFunction(window);
  const out = new Uint32Array(imageData.data.buffer);
  const { samples, min, max } = frame;
  const pixel = (stored) => {
    let gray = Math.round(toGray(stored * slope + intercept));
    gray = gray < 0 ? 0 : gray > 255 ? 255 : gray;
    if (invert) gray = 255 - gray;
    return 0xff000000 | (gray << 16) | (gray << 8) | gray; // RGBA bytes, little-endian
  };
  const span = max - min + 1;
  if (span <= LOOKUP_LIMIT) {
    const lookup = new Uint32Array(span);
    for (let i = 0; i < span; i += 1) lookup[i] = pixel(min + i);
    for (let i = 0; i < samples.length; i += 1) out[i] = lookup[samples[i] - min];
  } else {
    for (let i = 0; i < samples.length; i += 1) out[i] = pixel(samples[i]);
  }
}

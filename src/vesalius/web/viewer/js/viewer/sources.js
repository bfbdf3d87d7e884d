// Where an image's pixels come from, as requests for the FrameStore:
//
// - grayscale the browser can window itself: WADO-RS /frames/{n} as
//   uncompressed little-endian samples (the server decodes compressed files),
//   one multipart part parsed here -> {kind: "gray", samples, min, max}
// - anything else (colour, palette, 1-bit, Modality LUT tables...): the
//   server's /frames/{n}/rendered as PNG, with the window in the URL when
//   the user has set one -> {kind: "bitmap", bitmap}

import { boundaryOf, parseMultipart } from "./multipart.js";
import { readSamples } from "./pixels.js";
import { reason } from "./series.js";

const FRAMES_ACCEPT = 'multipart/related; type="application/octet-stream"';

/** The request for the stored values of one image (decoded here). */
export function samplesRequest(image) {
  const { instance, frame } = image;
  return {
    key: image.key,
    load: async (signal) => {
      const response = await fetch(`${instance.base}/frames/${frame}`, {
        signal,
        headers: { Accept: FRAMES_ACCEPT },
      });
      if (!response.ok) throw new Error(`frame ${frame}: ${await reason(response)}`);
      const boundary = boundaryOf(response.headers.get("Content-Type"));
      const buffer = await response.arrayBuffer();
      const body = boundary ? parseMultipart(buffer, boundary)[0]?.body : new Uint8Array(buffer);
      if (!body) throw new Error(`frame ${frame}: empty answer`);
      const value = readSamples(body, instance);
      return { value, bytes: value.samples.byteLength };
    },
  };
}

/** The request for an image rendered by the server, in its own window or in `window`. */
export function renderedRequest(image, window) {
  const { instance, frame } = image;
  const windowParameter = window ? `${roundForUrl(window.center)},${roundForUrl(window.width)}` : "";
  const query = new URLSearchParams({ accept: "image/png" });
  if (windowParameter) query.set("window", windowParameter);
  return {
    key: `${image.key}/rendered/${windowParameter || "own"}`,
    load: async (signal) => {
      const response = await fetch(`${instance.base}/frames/${frame}/rendered?${query}`, { signal });
      if (!response.ok) throw new Error(`rendered frame ${frame}: ${await reason(response)}`);
      const bitmap = await createImageBitmap(await response.blob());
      return { value: { kind: "bitmap", bitmap }, bytes: bitmap.width * bitmap.height * 4 };
    },
  };
}

/** The request that shows an image: decoded here when we can, else rendered by the server. */
export function imageRequest(image, window) {
  return image.instance.decodedHere ? samplesRequest(image) : renderedRequest(image, window);
}

function roundForUrl(value) {
  return Math.abs(value) >= 10 ? String(Math.round(value)) : String(Number(value.toPrecision(4)));
}

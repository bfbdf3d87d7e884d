// One viewport: a series on a canvas, with its slider, overlay and cine.
//
// The image is painted at its own size into an offscreen canvas (grayscale
// windowed here, or a bitmap the server rendered), then drawn onto the
// visible canvas scaled and panned; so a window change repaints the pixels
// and a zoom or pan only redraws. The overlay always describes the image on
// screen. After each draw the element fires "viewer-drawn" ({position, key}).

import { h } from "../dom.js";
import { Cine } from "./cine.js";
import { createOverlay, showImageText, showSeriesText } from "./overlay.js";
import { modalityRange, paintGray } from "./pixels.js";
import { frameDisplay, loadSeries } from "./series.js";
import { imageRequest } from "./sources.js";
import { PRESETS, minimumWidth, rangeWindow } from "./voi.js";
import { drawLengths, measure, pixelSpacing } from "./length.js";

const PREFETCH_AHEAD = 24;
const PREFETCH_BEHIND = 12;
const CINE_AHEAD = 40;
const MIN_SCALE = 0.05;
const MAX_SCALE = 40;
const RENDERED_DELAY_MS = 150; // server-rendered images: wait for the window to settle

export class Viewport {
  constructor(store, { onActivate = () => {}, onChange = () => {}, onImage = () => {}, onMeasure = () => {} } = {}) {
    this.store = store;
    this.onMeasure = onMeasure; // a length was measured: (viewport, {image, points, value, unit})
    this.lengths = new Map(); // image key -> lines measured on it
    this.onActivate = onActivate;
    this.onChange = onChange;
    this.onImage = onImage;
    this.series = null;
    this.position = 0;
    this.direction = 1;
    this.window = null; // the user's window; null: each image's own
    this.presetId = "auto";
    this.invert = false;
    this.fit = true;
    this.scale = 1; // screen pixels per image pixel
    this.panX = 0; // screen pixels
    this.panY = 0;
    this.tool = "window";
    this.drawn = null; // what the offscreen canvas holds
    this.drag = null;
    this.wheelDelta = 0;
    this.requestTimer = 0;
    this.cine = new Cine(this);

    this.canvas = h("canvas", { class: "vw-canvas", tabindex: "0", "aria-label": "Image" });
    this.context = this.canvas.getContext("2d");
    this.offscreen = document.createElement("canvas");
    this.offscreenContext = this.offscreen.getContext("2d", { willReadFrequently: false });
    this.overlay = createOverlay();
    this.message = h("div", { class: "vw-message" }, "Loading series…");
    this.slider = h("input", {
      class: "vw-slider",
      type: "range",
      min: "0",
      max: "0",
      value: "0",
      "aria-label": "Image",
      oninput: () => this.show(Number(this.slider.value)),
    });
    this.element = h(
      "div",
      { class: "vw-viewport", dataset: { state: "loading" } },
      this.canvas,
      this.overlay.element,
      this.message,
      this.slider,
    );
    this.listen();
    this.unsubscribe = store.subscribe((key) => this.arrived(key));
  }

  // -- opening and moving through the series ---------------------------------

  async open(study, series, signal, start = {}) {
    try {
      this.series = await loadSeries(study, series, { signal });
    } catch (error) {
      if (signal?.aborted) return;
      this.fail(error.message);
      return;
    }
    const count = this.series.images.length;
    if (!count) {
      this.fail("This series has no images.");
      return;
    }
    showSeriesText(this.overlay, this.series.header);
    this.cine.fps = Math.round(this.series.instances[0].framesPerSecond ?? 10);
    this.slider.max = String(count - 1);
    this.slider.hidden = count < 2;
    this.message.textContent = "Loading image…";
    // opened at one image (a report's reference): that instance, and frame if given
    const at = this.images.findIndex(
      (image) => image.instance.uid === start.instance && (!start.frame || image.frame === start.frame),
    );
    this.show(Math.max(0, at));
    this.onChange(this);
  }

  get images() {
    return this.series?.images ?? [];
  }

  get image() {
    return this.images[this.position];
  }

  /** Go to image `position` (0-based): drawn now when cached, else when it arrives. */
  show(position) {
    const count = this.images.length;
    if (!count) return;
    const target = Math.min(count - 1, Math.max(0, Math.round(position)));
    if (target !== this.position) this.direction = target > this.position ? 1 : -1;
    this.position = target;
    if (this.slider.value !== String(target)) this.slider.value = String(target);
    this.requestImages();
    this.render();
  }

  step(delta) {
    this.show(this.position + delta);
  }

  /** The next image of cine: through the frames of a multi-frame instance, else the series. */
  nextCineIndex(from = this.position) {
    const image = this.images[from];
    if (!image) return 0;
    if (image.instance.frameCount > 1) {
      const first = from - (image.frame - 1);
      return image.frame === image.instance.frameCount ? first : from + 1;
    }
    return (from + 1) % this.images.length;
  }

  isReady(position) {
    const image = this.images[position];
    return Boolean(image && this.store.has(this.requestFor(image).key));
  }

  onCineChange() {
    this.requestImages();
    this.onChange(this);
  }

  // -- fetching ------------------------------------------------------------------

  requestFor(image) {
    return imageRequest(image, this.window);
  }

  /** Tell the store what this viewport wants: the image on screen, then what comes next. */
  requestImages() {
    clearTimeout(this.requestTimer);
    const count = this.images.length;
    if (!count) return;
    const order = [this.position];
    if (this.cine.playing) {
      let next = this.position;
      for (let i = 0; i < Math.min(CINE_AHEAD, count - 1); i += 1) {
        next = this.nextCineIndex(next);
        order.push(next);
      }
    } else {
      for (let distance = 1; distance <= PREFETCH_AHEAD; distance += 1) {
        order.push(this.position + this.direction * distance);
        if (distance <= PREFETCH_BEHIND) order.push(this.position - this.direction * distance);
      }
    }
    const wanted = order.filter((index) => index >= 0 && index < count);
    this.store.want(
      this,
      [...new Set(wanted)].map((index) => this.requestFor(this.images[index])),
    );
  }

  /** After a window change: images the server renders are asked for again once it settles. */
  windowChanged() {
    if (this.image?.instance.decodedHere) {
      this.render();
      return;
    }
    clearTimeout(this.requestTimer);
    this.requestTimer = setTimeout(() => {
      this.requestImages();
      this.render();
    }, RENDERED_DELAY_MS);
    this.updateText();
  }

  arrived(key) {
    const image = this.image;
    if (image && key === this.requestFor(image).key) this.render();
  }

  // -- drawing -------------------------------------------------------------------

  /** Draw the current image if its pixels are here; otherwise say why not (yet). */
  render() {
    const image = this.image;
    if (!image) return;
    const request = this.requestFor(image);
    const value = this.store.get(request.key);
    if (!value) {
      const failure = this.store.failure(request.key);
      if (failure) this.fail(failure.message);
      else if (!this.drawn) this.message.textContent = "Loading image…";
      return;
    }
    this.paint(image, value, request.key);
    this.composite();
    this.message.textContent = "";
    this.element.dataset.state = "ready";
    this.element.dataset.position = String(this.position);
    this.updateText();
    this.onImage(this);
    this.element.dispatchEvent(
      new CustomEvent("viewer-drawn", {
        bubbles: true,
        detail: { position: this.position, key: request.key },
      }),
    );
  }

  /** The window the image on screen is shown in: the user's, its own, or its range. */
  currentWindow(image = this.image, value = this.store.get(image ? this.requestFor(image).key : "")) {
    if (this.window) return this.window;
    if (!image) return null;
    const display = frameDisplay(image.instance, image.frame);
    if (display.window) return display.window;
    if (value?.kind === "gray") {
      const { low, high } = modalityRange(value, display);
      return rangeWindow(low, high);
    }
    return null;
  }

  paint(image, value, key) {
    const window = this.currentWindow(image, value);
    const signature = `${key}|${window?.center}|${window?.width}|${window?.fn}|${this.invert}`;
    if (this.drawn?.signature === signature) return;
    if (value.kind === "gray") {
      const { columns, rows } = value;
      this.resizeOffscreen(columns, rows);
      if (!this.imageData || this.imageData.width !== columns || this.imageData.height !== rows) {
        this.imageData = new ImageData(columns, rows);
      }
      const display = frameDisplay(image.instance, image.frame);
      const invert = (image.instance.photometric === "MONOCHROME1") !== this.invert;
      paintGray(value, display, window, invert, this.imageData);
      this.offscreenContext.putImageData(this.imageData, 0, 0);
    } else {
      const { bitmap } = value;
      this.resizeOffscreen(bitmap.width, bitmap.height);
      this.offscreenContext.filter = this.invert ? "invert(1)" : "none";
      this.offscreenContext.drawImage(bitmap, 0, 0);
      this.offscreenContext.filter = "none";
    }
    const sizeChanged =
      this.drawn && (this.drawn.width !== this.offscreen.width || this.drawn.height !== this.offscreen.height);
    this.drawn = { signature, key, window, width: this.offscreen.width, height: this.offscreen.height };
    if (this.fit || sizeChanged) this.fitScale();
  }

  resizeOffscreen(width, height) {
    if (this.offscreen.width !== width) this.offscreen.width = width;
    if (this.offscreen.height !== height) this.offscreen.height = height;
  }

  /** Draw the offscreen image onto the visible canvas, scaled and panned. */
  composite() {
    const { canvas, context } = this;
    context.setTransform(1, 0, 0, 1, 0, 0);
    context.fillStyle = "#000";
    context.fillRect(0, 0, canvas.width, canvas.height);
    if (!this.drawn) return;
    const { width, height } = this.offscreen;
    // whole screen pixels: at 1:1 each image pixel lands on one screen pixel, unblurred
    const x = Math.round(canvas.width / 2 + this.panX - (width * this.scale) / 2);
    const y = Math.round(canvas.height / 2 + this.panY - (height * this.scale) / 2);
    context.imageSmoothingEnabled = true;
    context.setTransform(this.scale, 0, 0, this.scale, x, y);
    context.drawImage(this.offscreen, 0, 0);
    const lines = [...(this.lengths.get(this.image?.key) ?? [])];
    if (this.drag?.mode === "length") lines.push(this.drag.line);
    drawLengths(context, lines, this.scale);
    context.setTransform(1, 0, 0, 1, 0, 0);
  }

  /** The image point (pixels, 0 at the top left corner) under a pointer event. */
  imagePoint(event) {
    const bounds = this.canvas.getBoundingClientRect();
    const ratio = window.devicePixelRatio || 1;
    const { width, height } = this.offscreen;
    const x = Math.round(this.canvas.width / 2 + this.panX - (width * this.scale) / 2);
    const y = Math.round(this.canvas.height / 2 + this.panY - (height * this.scale) / 2);
    const clamp = (value, size) => Math.min(size, Math.max(0, value));
    return [
      clamp(((event.clientX - bounds.left) * ratio - x) / this.scale, width),
      clamp(((event.clientY - bounds.top) * ratio - y) / this.scale, height),
    ];
  }

  updateText() {
    const image = this.image;
    if (!image || !this.drawn) return;
    const window = this.window ?? this.drawn.window;
    showImageText(this.overlay, {
      position: Number(this.element.dataset.position ?? this.position),
      count: this.images.length,
      image: this.images[Number(this.element.dataset.position ?? this.position)] ?? image,
      window,
      zoom: this.scale,
      inverted: this.invert,
    });
  }

  fail(text) {
    this.message.textContent = text;
    this.element.dataset.state = "error";
  }

  // -- view: window, zoom, pan, invert -----------------------------------------

  applyPreset(id) {
    const preset = PRESETS.find((candidate) => candidate.id === id);
    if (!preset) return;
    this.presetId = id;
    this.window = preset.center === undefined ? null : { center: preset.center, width: preset.width, fn: "linear" };
    this.windowChanged();
    this.onChange(this);
  }

  setWindow(center, width) {
    const base = this.currentWindow() ?? { fn: "linear" };
    const range = this.valueRange();
    this.window = { center, width: Math.max(minimumWidth(base.fn, range), width), fn: base.fn };
    this.presetId = "custom";
    this.windowChanged();
  }

  valueRange() {
    const image = this.image;
    const value = image && this.store.get(this.requestFor(image).key);
    if (value?.kind !== "gray") return 256;
    const { low, high } = modalityRange(value, frameDisplay(image.instance, image.frame));
    return Math.max(high - low, 1e-6);
  }

  toggleInvert() {
    this.invert = !this.invert;
    this.render();
    this.onChange(this);
  }

  fitScale() {
    const { width, height } = this.offscreen;
    if (!width || !height || !this.canvas.width || !this.canvas.height) return;
    this.fit = true;
    this.scale = Math.min(this.canvas.width / width, this.canvas.height / height);
    this.panX = 0;
    this.panY = 0;
  }

  fitToWindow() {
    this.fitScale();
    this.composite();
    this.updateText();
    this.onChange(this);
  }

  actualSize() {
    this.fit = false;
    this.scale = 1;
    this.panX = 0;
    this.panY = 0;
    this.composite();
    this.updateText();
    this.onChange(this);
  }

  /** Zoom by factor, keeping the image point under (x, y) (canvas pixels) in place. */
  zoomAt(factor, x = this.canvas.width / 2, y = this.canvas.height / 2) {
    const scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, this.scale * factor));
    const ratio = scale / this.scale;
    const centerX = this.canvas.width / 2 + this.panX;
    const centerY = this.canvas.height / 2 + this.panY;
    this.panX += (x - centerX) * (1 - ratio);
    this.panY += (y - centerY) * (1 - ratio);
    this.scale = scale;
    this.fit = false;
    this.composite();
    this.updateText();
  }

  reset() {
    this.window = null;
    this.presetId = "auto";
    this.invert = false;
    this.fitScale();
    this.windowChanged();
    this.composite();
    this.updateText();
    this.onChange(this);
  }

  resize() {
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(this.canvas.clientWidth * ratio));
    const height = Math.max(1, Math.round(this.canvas.clientHeight * ratio));
    if (width === this.canvas.width && height === this.canvas.height) return;
    this.canvas.width = width;
    this.canvas.height = height;
    if (this.fit) this.fitScale();
    this.composite();
    this.updateText();
  }

  // -- mouse ---------------------------------------------------------------------

  listen() {
    const canvas = this.canvas;
    canvas.addEventListener("pointerdown", (event) => this.pointerDown(event));
    canvas.addEventListener("pointermove", (event) => this.pointerMove(event));
    canvas.addEventListener("pointerup", (event) => this.pointerUp(event));
    canvas.addEventListener("pointercancel", (event) => this.pointerUp(event));
    canvas.addEventListener("contextmenu", (event) => event.preventDefault());
    canvas.addEventListener("wheel", (event) => this.wheel(event), { passive: false });
    canvas.addEventListener("dblclick", () => this.fitToWindow());
    this.element.addEventListener("pointerdown", () => this.onActivate(this));
    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(this.canvas);
  }

  pointerDown(event) {
    this.canvas.focus({ preventScroll: true }); // keys go to the image, not a toolbar field
    let mode = null;
    if (event.button === 0) mode = event.shiftKey ? "pan" : event.ctrlKey ? "zoom" : this.tool;
    else if (event.button === 1) mode = "pan";
    else if (event.button === 2) mode = "zoom";
    if (!mode || !this.drawn) return;
    event.preventDefault();
    this.canvas.setPointerCapture(event.pointerId);
    if (mode === "length") {
      const point = this.imagePoint(event);
      this.drag = { mode, image: this.image, line: { points: [point, point], label: "" } };
      this.element.classList.add("vw-dragging-length");
      return;
    }
    this.drag = {
      mode,
      x: event.clientX,
      y: event.clientY,
      // images the server renders without a window of their own: its 8-bit output levels
      window: this.currentWindow() ?? { center: 128, width: 256, fn: "linear" },
      range: this.valueRange(),
      scale: this.scale,
      panX: this.panX,
      panY: this.panY,
      position: this.position,
    };
    this.element.classList.add(`vw-dragging-${mode}`);
  }

  pointerMove(event) {
    const drag = this.drag;
    if (!drag) return;
    const ratio = window.devicePixelRatio || 1;
    const dx = event.clientX - drag.x;
    const dy = event.clientY - drag.y;
    if (drag.mode === "window" && drag.window) {
      // modality units per screen pixel, in proportion to the window (or the image's range)
      const speed = Math.max(drag.window.width, drag.range / 8) / 256;
      this.setWindow(drag.window.center + dy * speed, drag.window.width + dx * speed);
    } else if (drag.mode === "pan") {
      this.panX = drag.panX + dx * ratio;
      this.panY = drag.panY + dy * ratio;
      this.fit = false;
      this.composite();
    } else if (drag.mode === "zoom") {
      const factor = (drag.scale * Math.exp(-dy / 150)) / this.scale;
      this.zoomAt(factor);
    } else if (drag.mode === "scroll") {
      this.show(drag.position + Math.round(dy / 8));
    } else if (drag.mode === "length") {
      const points = [drag.line.points[0], this.imagePoint(event)];
      const spacing = pixelSpacing(drag.image.instance, drag.image.frame);
      drag.line = { points, label: measure(points, spacing).label };
      this.composite();
    }
  }

  pointerUp(event) {
    if (!this.drag) return;
    if (this.canvas.hasPointerCapture(event.pointerId)) this.canvas.releasePointerCapture(event.pointerId);
    this.element.classList.remove(`vw-dragging-${this.drag.mode}`);
    const drag = this.drag;
    this.drag = null;
    if (drag.mode === "length") this.endLength(drag);
    this.onChange(this);
  }

  endLength({ image, line }) {
    const [[x0, y0], [x1, y1]] = line.points;
    if (Math.hypot(x1 - x0, y1 - y0) < 1) {
      this.composite(); // a click, not a line
      return;
    }
    const { value, unit } = measure(line.points, pixelSpacing(image.instance, image.frame));
    this.lengths.set(image.key, [...(this.lengths.get(image.key) ?? []), line]);
    this.composite();
    this.onMeasure(this, { image, points: line.points, value, unit });
  }

  wheel(event) {
    event.preventDefault();
    this.onActivate(this);
    const pixels = event.deltaMode === 0 ? event.deltaY : event.deltaY * 40;
    if (event.ctrlKey || event.metaKey) {
      const bounds = this.canvas.getBoundingClientRect();
      const ratio = window.devicePixelRatio || 1;
      this.zoomAt(
        Math.exp(-pixels / 300),
        (event.clientX - bounds.left) * ratio,
        (event.clientY - bounds.top) * ratio,
      );
      this.onChange(this);
      return;
    }
    // A mouse notch (about 100 pixels) is one image; a touchpad's small deltas add up.
    this.wheelDelta += pixels;
    if (Math.abs(this.wheelDelta) >= 30) {
      this.step(Math.sign(this.wheelDelta));
      this.wheelDelta = 0;
    }
  }

  destroy() {
    this.cine.stop();
    clearTimeout(this.requestTimer);
    this.unsubscribe();
    this.store.forget(this);
    this.resizeObserver.disconnect();
    this.element.remove();
  }
}

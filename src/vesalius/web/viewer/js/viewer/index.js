// The viewer page: mountViewer(root, {study, series, series2}) shows one
// series, or two side by side, with the toolbar, the tag panel and the
// keyboard; it answers a function that unmounts it (listeners removed, cine
// stopped, fetches aborted). The router calls it for
// #/viewer?study=UID&series=UID[&series2=UID[&study2=UID]].

import { h } from "../dom.js";
import { FrameStore } from "./frame-store.js";
import { actionOf } from "./keyboard.js";
import { TagPanel } from "./tag-panel.js";
import { createToolbar } from "./toolbar.js";
import { Viewport } from "./viewport.js";
import { addMeasurement, isKeyImage, toggleKeyImage } from "../report-basket.js";

export async function mountViewer(root, { study, series, series2, study2, instance, frame } = {}) {
  const controller = new AbortController();
  const store = new FrameStore();
  let tool = "window";
  let active = null;

  const tagPanel = new TagPanel({ onClose: () => toggleTags(false) });
  const toolbar = createToolbar({
    setTool,
    preset: (id) => active?.applyPreset(id),
    invert: () => active?.toggleInvert(),
    fit: () => active?.fitToWindow(),
    actualSize: () => active?.actualSize(),
    reset: () => active?.reset(),
    toggleCine: () => active?.cine.toggle(),
    setFps: (fps) => active?.cine.setFps(fps),
    toggleTags: () => toggleTags(),
    toggleKeyImage: () => toggleKey(),
    reportLink: `#/reports?${new URLSearchParams({ study: study ?? "", new: "1" })}`,
  });

  const wanted = [[study, series]];
  if (series2) wanted.push([study2 || study, series2]);
  const viewports = wanted.map(
    () => new Viewport(store, { onActivate: activate, onChange: changed, onImage: imageShown, onMeasure: measured }),
  );
  const viewportArea = h(
    "div",
    { class: `vw-viewports vw-layout-${viewports.length}` },
    viewports.map((viewport) => viewport.element),
  );
  const container = h(
    "section",
    { class: "vw-viewer", "aria-label": "Viewer" },
    toolbar.element,
    h("div", { class: "vw-body" }, viewportArea, tagPanel.element),
  );
  root.append(container);
  activate(viewports[0]);

  function activate(viewport) {
    if (active === viewport) return;
    active = viewport;
    for (const each of viewports) each.element.classList.toggle("vw-active", each === viewport && viewports.length > 1);
    imageShown(viewport);
    changed(viewport);
  }

  function changed(viewport) {
    if (viewport !== active) return;
    const shown = active.image;
    const keyImage = Boolean(shown && isKeyImage(studyOf(active), shown.instance.uid));
    toolbar.update(active, { tool, tagsOpen: tagPanel.open, keyImage });
  }

  // -- the report hooks: key images (K) and lengths go to the study's next report --
  function studyOf(viewport) {
    return viewport === viewports[1] && study2 ? study2 : study;
  }

  function toggleKey() {
    const shown = active?.image;
    if (!shown) return;
    const frame = shown.instance.frameCount > 1 ? shown.frame : null;
    toggleKeyImage(studyOf(active), { uid: shown.instance.uid, series: wanted[viewports.indexOf(active)][1], frame });
    changed(active);
  }

  function measured(viewport, { image, points, value, unit }) {
    const frame = image.instance.frameCount > 1 ? image.frame : null;
    addMeasurement(studyOf(viewport), { name: "Length", value, unit, image: image.instance.uid, frame, points });
  }

  function imageShown(viewport) {
    if (viewport === active && viewport.element.dataset.state === "ready") {
      const shown = viewport.images[Number(viewport.element.dataset.position)];
      if (shown) tagPanel.follow(shown.instance.uid);
      if (shown) toolbar.setKeyImage(isKeyImage(studyOf(viewport), shown.instance.uid));
    }
  }

  function setTool(id) {
    tool = id;
    for (const viewport of viewports) viewport.tool = id;
    changed(active);
  }

  function toggleTags(open = !tagPanel.open) {
    tagPanel.setOpen(open);
    imageShown(active);
    changed(active);
    for (const viewport of viewports) viewport.resize();
  }

  const actions = {
    next: () => active.step(1),
    previous: () => active.step(-1),
    forward10: () => active.step(10),
    back10: () => active.step(-10),
    first: () => active.show(0),
    last: () => active.show(active.images.length - 1),
    cine: () => active.cine.toggle(),
    faster: () => active.cine.setFps(active.cine.fps + 1),
    slower: () => active.cine.setFps(active.cine.fps - 1),
    invert: () => active.toggleInvert(),
    fit: () => active.fitToWindow(),
    actualSize: () => active.actualSize(),
    zoomIn: () => active.zoomAt(1.25),
    zoomOut: () => active.zoomAt(0.8),
    reset: () => active.reset(),
    tags: () => toggleTags(),
    keyImage: () => toggleKey(),
    nextViewport: () => activate(viewports[(viewports.indexOf(active) + 1) % viewports.length]),
  };

  function keydown(event) {
    const action = actionOf(event);
    if (!action || !container.isConnected) return;
    const [kind, argument] = action.split(":");
    if (kind === "preset") active.applyPreset(argument);
    else if (kind === "tool") setTool(argument);
    else actions[kind]();
    if (kind === "zoomIn" || kind === "zoomOut") changed(active);
    event.preventDefault();
  }
  document.addEventListener("keydown", keydown);

  if (!study || !series) {
    for (const viewport of viewports) viewport.fail("No series chosen: open one from the database.");
  } else {
    viewports.forEach((viewport, index) =>
      viewport.open(...wanted[index], controller.signal, index === 0 ? { instance, frame } : {}),
    );
  }

  return function unmount() {
    document.removeEventListener("keydown", keydown);
    controller.abort();
    for (const viewport of viewports) viewport.destroy();
    store.dispose();
    tagPanel.destroy();
    container.remove();
  };
}

// The workstation shell: a hash router over the pages, the navigation, the
// keys that work everywhere ("?" help, "g" + letter to go to a page), and
// importing files dropped anywhere on the page.
//
//   #/studies                                   local database (the default)
//   #/viewer?study=UID&series=UID[&series2=UID][&instance=UID[&frame=N]] the image viewer (js/viewer/)
//   #/remote   query/retrieve    #/import   import    #/jobs   jobs
//   #/conformance   the conformance statement    #/worklist   the modality worklist
//   #/reports?study=UID[&report=UID|&new=1]      a study's reports (js/reports.js)
//   #/print   print jobs of the virtual film printer (js/print.js)
//
// A page module exports mount(container, params) -> unmount function (or a
// promise of one); the router calls it when leaving the page.

import { startSession } from "./session.js";
import { h, clear } from "./dom.js";
import { hideError, errorBox } from "./api.js";
import { mount as mountStudies } from "./studies.js";
import { mount as mountImport, importDropped } from "./upload.js";
import { mount as mountRemote } from "./remote.js";
import { mount as mountJobs } from "./jobs.js";
import { toggleHelp } from "./help.js";
import { mountConformance } from "./conformance.js";
import { mount as mountReports } from "./reports.js";
import { mount as mountWorklist } from "./worklist.js";
import { mount as mountPrint } from "./print.js";

const app = document.getElementById("app");
const nav = document.getElementById("nav");
const viewerNav = nav.querySelector('[data-route="viewer"]');

const ROUTES = {
  studies: { title: "Database", mount: mountStudies },
  viewer: { title: "Viewer", mount: mountViewerPage },
  remote: { title: "Query/Retrieve", mount: mountRemote },
  import: { title: "Import", mount: mountImport },
  jobs: { title: "Jobs", mount: mountJobs },
  conformance: { title: "Conformance", mount: mountConformance },
  reports: { title: "Reports", mount: mountReports },
  worklist: { title: "Worklist", mount: mountWorklist },
  print: { title: "Print", mount: mountPrint },
};
const GO_KEYS = { d: "#/studies", v: "#/viewer", q: "#/remote", i: "#/import", j: "#/jobs", w: "#/worklist", r: "#/reports" };

let unmountCurrent = null;
let generation = 0;
let lastViewer = "";

function parseHash() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [name, query = ""] = hash.split("?");
  return { name: name || "studies", params: Object.fromEntries(new URLSearchParams(query)) };
}

async function route() {
  const { name, params } = parseHash();
  const page = ROUTES[name];
  if (!page) {
    location.replace("#/studies");
    return;
  }
  const mine = ++generation;
  const leaving = unmountCurrent;
  unmountCurrent = null;
  for (const dialog of document.querySelectorAll("dialog.modal[open]")) dialog.close();
  hideError();
  try {
    leaving?.();
  } catch (error) {
    console.error(error);
  }
  for (const link of nav.querySelectorAll("a[data-route]")) {
    if (link.dataset.route === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${page.title} · Vesalius`;
  const container = h("div", { class: `route route-${name}` });
  clear(app).append(container);
  try {
    const unmount = await page.mount(container, params);
    if (mine !== generation) unmount?.();
    else unmountCurrent = unmount || null;
  } catch (error) {
    if (mine === generation) container.append(errorBox(error));
    console.error(error);
  }
}

// The viewer is another module (js/viewer/index.js); without it, say so.
async function mountViewerPage(container, params) {
  if (!params.study || !params.series) {
    if (lastViewer) {
      location.replace(lastViewer);
      return null;
    }
    container.append(
      h("section", { class: "page page-empty" }, h("h1", {}, "Viewer"), h("p", {}, "Open a series from the ", h("a", { href: "#/studies" }, "Database"), " to view it.")),
    );
    return null;
  }
  lastViewer = location.hash;
  viewerNav.setAttribute("href", lastViewer);
  let viewer;
  try {
    viewer = await import("./viewer/index.js");
  } catch (error) {
    console.error(error);
    container.append(h("p", { class: "error", role: "alert" }, "The viewer is not available."));
    return null;
  }
  const options = { study: params.study, series: params.series };
  if (params.series2) options.series2 = params.series2;
  if (params.instance) options.instance = params.instance; // opened from a report
  if (params.frame) options.frame = Number(params.frame);
  return viewer.mountViewer(container, options);
}

// --- keys that work on every page -------------------------------------------
let goPending = false;
let goTimer = null;

function typing(target) {
  return target instanceof Element && (target.isContentEditable || target.closest("input, select, textarea"));
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
  if (event.key === "?") {
    event.preventDefault();
    toggleHelp();
    return;
  }
  if (event.defaultPrevented || event.target.closest?.("dialog")) return;
  if (goPending && GO_KEYS[event.key.toLowerCase()]) {
    event.preventDefault();
    goPending = false;
    location.hash = GO_KEYS[event.key.toLowerCase()];
    return;
  }
  goPending = event.key === "g" || event.key === "G";
  clearTimeout(goTimer);
  if (goPending) goTimer = setTimeout(() => (goPending = false), 1500);
});

document.getElementById("help-button").addEventListener("click", toggleHelp);

// --- files dropped anywhere are imported ------------------------------------
const overlay = document.getElementById("drop-overlay");
let dragDepth = 0;
const carriesFiles = (event) => Array.from(event.dataTransfer?.types || []).includes("Files");

document.addEventListener("dragenter", (event) => {
  if (!carriesFiles(event)) return;
  event.preventDefault();
  dragDepth += 1;
  overlay.hidden = false;
});
document.addEventListener("dragover", (event) => {
  if (!carriesFiles(event)) return;
  event.preventDefault();
  event.dataTransfer.dropEffect = "copy";
});
document.addEventListener("dragleave", (event) => {
  if (!carriesFiles(event)) return;
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) overlay.hidden = true;
});
document.addEventListener("drop", (event) => {
  if (!carriesFiles(event)) return;
  event.preventDefault();
  dragDepth = 0;
  overlay.hidden = true;
  // the files are read from the event now; the import page shows their progress
  importDropped(event.dataTransfer).catch((error) => console.error(error));
  if (parseHash().name !== "import") location.hash = "#/import";
});

window.addEventListener("hashchange", route);
startSession();
route();

// Once the first page is up, load the viewer in the background: it opens
// faster, and its shortcuts appear in the help.
const idle = window.requestIdleCallback || ((callback) => setTimeout(callback, 500));
idle(() => import("./viewer/index.js").catch(() => {}));

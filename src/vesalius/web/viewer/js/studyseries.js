// The series of one study, under its row in the database: a thumbnail of each
// (lazy-loaded), open it in the viewer, tick two to open side by side, the
// series as a ZIP, its middle image as PNG or JPEG, delete it.

import { h, clear } from "./dom.js";
import { getPage, deleteObject, showError, errorBox, request, studyPath, seriesPath } from "./api.js";
import { plural, studyLabel } from "./format.js";
import { confirmDialog } from "./dialog.js";

const viewerLink = (params) => `#/viewer?${new URLSearchParams(params)}`;

export async function showSeries(study, cell, { onChange = () => {} } = {}) {
  const uid = study.StudyInstanceUID;
  clear(cell).append(h("p", { class: "hint" }, "Loading series…"));
  let series;
  try {
    ({ items: series } = await getPage(`${studyPath(uid)}/series`, { limit: 1000 }));
  } catch (error) {
    clear(cell).append(errorBox(error));
    return;
  }
  const chosen = [];
  const compare = h("a", { class: "button compare", "aria-disabled": "true" }, "Open the two side by side");
  const hint = h("span", { class: "hint" }, "Tick two series to compare them.");
  const boxes = new Map();
  const choose = (seriesUid, on) => {
    const at = chosen.indexOf(seriesUid);
    if (on && at < 0) chosen.push(seriesUid);
    if (!on && at >= 0) chosen.splice(at, 1);
    while (chosen.length > 2) boxes.get(chosen.shift()).checked = false;
    if (chosen.length === 2) {
      compare.href = viewerLink({ study: uid, series: chosen[0], series2: chosen[1] });
      compare.removeAttribute("aria-disabled");
    } else {
      compare.removeAttribute("href");
      compare.setAttribute("aria-disabled", "true");
    }
  };
  const cards = series.map((one) => {
    const box = h("input", { type: "checkbox", class: "choose", onchange: (event) => choose(one.SeriesInstanceUID, event.target.checked) });
    boxes.set(one.SeriesInstanceUID, box);
    return seriesCard(study, one, box, onChange);
  });
  clear(cell).append(
    h("div", { class: "series-bar" }, compare, hint, h("a", { class: "button reports", href: `#/reports?${new URLSearchParams({ study: uid })}` }, "Reports")),
    h("ul", { class: "series-list" }, cards.length ? cards : h("li", {}, "No series.")),
  );
}

function seriesCard(study, series, box, onChange) {
  const studyUid = study.StudyInstanceUID;
  const uid = series.SeriesInstanceUID;
  const open = viewerLink({ study: studyUid, series: uid });
  const title = [series.SeriesNumber !== null && series.SeriesNumber !== undefined ? `#${series.SeriesNumber}` : "", series.Modality, series.SeriesDescription].filter(Boolean).join(" ");
  const thumbnail = h("img", {
    class: "thumbnail",
    loading: "lazy",
    decoding: "async",
    width: 128,
    height: 128,
    alt: `Series ${title}`,
    src: `/dicomweb/studies/${encodeURIComponent(studyUid)}/series/${encodeURIComponent(uid)}/thumbnail?viewport=128,128`,
  });
  thumbnail.addEventListener("error", () => thumbnail.replaceWith(h("span", { class: "thumbnail no-image" }, "no image")), { once: true });
  return h(
    "li",
    { class: "series-card", dataset: { uid } },
    h("a", { class: "thumb-link", href: open, title: "Open in the viewer" }, thumbnail),
    h("div", { class: "series-title" }, title || "(no description)"),
    h("div", { class: "series-count" }, plural(series.NumberOfSeriesRelatedInstances, "image")),
    h(
      "div",
      { class: "series-actions" },
      h("label", { class: "compare-choice" }, box, " compare"),
      h("a", { class: "button open", href: open }, "Open"),
      h("a", { class: "button zip", href: `${seriesPath(uid)}/archive`, download: "", title: "Download the series as a ZIP file" }, "ZIP"),
      h("button", { type: "button", class: "png", title: "Download its middle image as PNG", onclick: () => downloadImage(studyUid, series, "png") }, "PNG"),
      h("button", { type: "button", class: "jpeg", title: "Download its middle image as JPEG", onclick: () => downloadImage(studyUid, series, "jpeg") }, "JPEG"),
      h(
        "button",
        {
          type: "button",
          class: "delete danger",
          onclick: async () => {
            const confirmed = await confirmDialog({
              title: "Delete series",
              message: [h("p", {}, "Delete the series ", h("strong", {}, title || uid), " of ", h("strong", {}, studyLabel(study)), "?"), h("p", {}, `${plural(series.NumberOfSeriesRelatedInstances, "image")}. Their files are removed from the archive.`)],
              confirm: "Delete",
              danger: true,
            });
            if (!confirmed) return;
            try {
              await deleteObject(seriesPath(uid));
            } catch (error) {
              showError(error);
            }
            onChange();
          },
        },
        "Delete",
      ),
    ),
  );
}

// The series' middle image, rendered by the server, saved as a file.
async function downloadImage(studyUid, series, format) {
  try {
    const count = Number(series.NumberOfSeriesRelatedInstances) || 1;
    const { items } = await getPage(`${seriesPath(series.SeriesInstanceUID)}/instances`, { limit: 1, offset: Math.floor((count - 1) / 2) });
    if (!items.length) throw new Error("The series holds no image.");
    const instance = items[0].SOPInstanceUID;
    const url = `/dicomweb/studies/${encodeURIComponent(studyUid)}/series/${encodeURIComponent(series.SeriesInstanceUID)}/instances/${encodeURIComponent(instance)}/rendered?accept=image/${format}`;
    const blob = await (await request(url)).blob();
    const href = URL.createObjectURL(blob);
    const link = h("a", { href, download: `${instance}.${format === "jpeg" ? "jpg" : "png"}`, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(href), 10_000);
  } catch (error) {
    showError(error);
  }
}

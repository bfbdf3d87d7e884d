// Query/retrieve (#/remote): pick a configured peer, search its studies
// (C-FIND through POST /api/query), tick some, and retrieve them into this
// archive (POST /api/retrieve, a job whose progress shows here).

import { h, clear } from "./dom.js";
import { getPage, postJson, errorBox } from "./api.js";
import { searchForm } from "./searchform.js";
import { formatName, formatDate, formatList, formatCount } from "./format.js";
import { peersOffering, peerLabel } from "./send.js";
import { jobProgress } from "./progress.js";
import { registerShortcuts } from "./shortcuts.js";

registerShortcuts("Query/Retrieve", [["Enter", "search the peer (in a search field)"]]);

// Kept between visits: the peer, the search, the last matches.
const state = { peer: "", values: {}, matches: null };

// What is asked of the peer besides the search: the columns shown.
const RETURN_KEYS = ["PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime", "ModalitiesInStudy", "AccessionNumber", "StudyDescription", "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances", "StudyInstanceUID"];

const COLUMNS = [
  ["Patient name", (s) => formatName(s.PatientName)],
  ["Patient ID", (s) => s.PatientID ?? ""],
  ["Birth date", (s) => formatDate(s.PatientBirthDate)],
  ["Sex", (s) => s.PatientSex ?? ""],
  ["Study date", (s) => formatDate(s.StudyDate)],
  ["Modality", (s) => formatList(s.ModalitiesInStudy)],
  ["Accession", (s) => s.AccessionNumber ?? ""],
  ["Description", (s) => s.StudyDescription ?? ""],
  ["Series", (s) => formatCount(s.NumberOfStudyRelatedSeries)],
  ["Images", (s) => formatCount(s.NumberOfStudyRelatedInstances)],
];

export async function mount(container) {
  const watchers = [];
  const peerSelect = h("select", { id: "remote-peer", name: "peer", onchange: () => (state.peer = peerSelect.value) });
  const status = h("div", { class: "remote-status", "aria-live": "polite" });
  const results = h("div", { class: "remote-results", id: "remote-results" });
  const jobs = h("div", { class: "remote-jobs", id: "remote-jobs" });
  const form = searchForm({ values: state.values, idPrefix: "remote-search", onSubmit: (values) => search(values) });
  container.append(
    h(
      "section",
      { class: "page page-remote" },
      h("h1", {}, "Query/Retrieve"),
      h("div", { class: "peer-bar" }, h("label", { for: "remote-peer" }, "Peer "), peerSelect),
      form.element,
      status,
      jobs,
      results,
    ),
  );

  try {
    const peers = await peersOffering("find");
    if (!peers.length) {
      status.append(h("p", {}, "No peer that answers C-FIND is configured ([[peers]] in vesalius.toml)."));
    }
    for (const peer of peers) {
      const canRetrieve = !peer.services || peer.services.includes("get") || peer.services.includes("move");
      peerSelect.append(h("option", { value: peer.name, dataset: { retrieve: String(canRetrieve) } }, peerLabel(peer)));
    }
    if (peers.some((peer) => peer.name === state.peer)) peerSelect.value = state.peer;
    state.peer = peerSelect.value;
  } catch (error) {
    status.append(errorBox(error));
  }
  if (state.matches) renderMatches(state.matches);

  async function search(values) {
    state.values = values;
    if (!peerSelect.value) return;
    const keys = Object.fromEntries(RETURN_KEYS.map((key) => [key, ""]));
    Object.assign(keys, form.keys());
    clear(status).append(h("p", { class: "hint" }, `Searching ${peerSelect.value}…`));
    clear(results);
    try {
      const matches = await postJson("/api/query", { peer: peerSelect.value, level: "STUDY", keys });
      state.matches = { peer: peerSelect.value, items: matches };
      clear(status);
      renderMatches(state.matches);
    } catch (error) {
      clear(status).append(errorBox(error));
    }
  }

  // The matches, with a tick box each and which of them this archive holds already.
  async function renderMatches({ peer, items }) {
    const chosen = new Set();
    const retrieve = h("button", { type: "button", class: "primary retrieve", disabled: true }, "Retrieve");
    const all = h("input", { type: "checkbox", "aria-label": "Choose every study" });
    const boxes = [];
    const update = () => {
      retrieve.disabled = chosen.size === 0;
      retrieve.textContent = chosen.size ? `Retrieve ${chosen.size} ${chosen.size === 1 ? "study" : "studies"}` : "Retrieve";
    };
    all.addEventListener("change", () => {
      for (const box of boxes) {
        box.checked = all.checked;
        box.dispatchEvent(new Event("change"));
      }
    });
    const body = h("tbody");
    for (const study of items) {
      const uid = study.StudyInstanceUID;
      const box = h("input", {
        type: "checkbox",
        class: "choose",
        "aria-label": "Choose this study",
        onchange: () => {
          if (box.checked) chosen.add(uid);
          else chosen.delete(uid);
          update();
        },
      });
      boxes.push(box);
      body.append(
        h(
          "tr",
          { class: "match", dataset: { uid } },
          h("td", {}, box),
          COLUMNS.map(([label, show]) => h("td", { class: `col-${label.toLowerCase().replaceAll(" ", "-")}` }, show(study))),
          h("td", { class: "here" }),
        ),
      );
    }
    retrieve.addEventListener("click", async () => {
      const studies = [...chosen];
      retrieve.disabled = true;
      try {
        const job = await postJson("/api/retrieve", { peer, studies });
        const watcher = jobProgress(job);
        watchers.push(watcher);
        jobs.prepend(h("div", { class: "remote-job" }, h("p", {}, `Retrieve of ${studies.length} ${studies.length === 1 ? "study" : "studies"} from ${peer}`), watcher.element));
        const final = await watcher.finished;
        if (final.state === "done") {
          watcher.element.append(h("a", { class: "button", href: "#/studies" }, "Show in the database"));
          markHeld(body, items);
        }
      } catch (error) {
        jobs.prepend(errorBox(error));
      } finally {
        update();
      }
    });
    const selected = peerSelect.selectedOptions[0];
    const note = selected && selected.dataset.retrieve === "false" ? h("span", { class: "hint" }, "This peer offers neither C-GET nor C-MOVE.") : null;
    clear(results).append(
      h("div", { class: "list-bar" }, h("span", { class: "summary", id: "remote-count" }, `${items.length} ${items.length === 1 ? "study" : "studies"} on ${peer}`), retrieve, note),
      h(
        "table",
        { class: "studies remote" },
        h("thead", {}, h("tr", {}, h("th", {}, all), COLUMNS.map(([label]) => h("th", { scope: "col" }, label)), h("th", { scope: "col" }, "Here"))),
        items.length ? body : h("tbody", {}, h("tr", {}, h("td", { colspan: COLUMNS.length + 2 }, "No study matches."))),
      ),
    );
    update();
    markHeld(body, items);
  }

  // Tick "here" beside the matches this archive holds (one request for the page).
  async function markHeld(body, items) {
    const uids = items.map((study) => study.StudyInstanceUID).filter(Boolean);
    if (!uids.length) return;
    try {
      const held = new Set();
      for (let start = 0; start < uids.length; start += 100) {
        const { items: found } = await getPage("/api/studies", { StudyInstanceUID: uids.slice(start, start + 100).join("\\"), limit: 100 });
        for (const study of found) held.add(study.StudyInstanceUID);
      }
      for (const row of body.querySelectorAll("tr.match")) {
        const cell = row.querySelector(".here");
        cell.textContent = held.has(row.dataset.uid) ? "✓" : "";
        cell.title = held.has(row.dataset.uid) ? "This archive holds the study" : "";
      }
    } catch {
      // only a hint: leave the column empty
    }
  }

  return () => watchers.forEach((watcher) => watcher.stop());
}

// "Send to…": pick a configured peer, send a study to it (a job), and follow
// the job's progress in the dialog until it ends.

import { h, clear } from "./dom.js";
import { getJson, postJson, errorBox } from "./api.js";
import { openDialog } from "./dialog.js";
import { jobProgress } from "./progress.js";

// The configured peers that offer a service ("store", "find", "move", "get").
export async function peersOffering(service) {
  const peers = await getJson("/api/peers");
  return peers.filter((peer) => !peer.services || peer.services.includes(service));
}

export function peerLabel(peer) {
  return `${peer.name} (${peer.ae_title}@${peer.host}:${peer.port})`;
}

// The dialog for one study; `label` names it for the person (patient, date).
export async function sendDialog(studyUid, label) {
  const status = h("div", { class: "send-status" });
  const select = h("select", { id: "send-peer", name: "peer" });
  const sendButton = h("button", { type: "button", class: "primary", disabled: true }, "Send");
  const closeButton = h("button", { type: "button" }, "Close");
  let watcher = null;
  const dialog = openDialog({
    title: "Send study",
    className: "send",
    body: [
      h("p", {}, "Send ", h("strong", {}, label), " to:"),
      h("label", { for: "send-peer" }, "Peer "),
      select,
      status,
    ],
    buttons: [closeButton, sendButton],
  });
  closeButton.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => watcher?.stop());

  try {
    const peers = await peersOffering("store");
    if (!peers.length) {
      status.append(h("p", {}, "No peer that takes C-STORE is configured ([[peers]] in vesalius.toml)."));
      return dialog;
    }
    for (const peer of peers) select.append(h("option", { value: peer.name }, peerLabel(peer)));
    sendButton.disabled = false;
  } catch (error) {
    status.append(errorBox(error));
    return dialog;
  }

  sendButton.addEventListener("click", async () => {
    sendButton.disabled = true;
    select.disabled = true;
    clear(status);
    try {
      const job = await postJson(`/api/studies/${encodeURIComponent(studyUid)}/send`, { peer: select.value });
      watcher = jobProgress(job);
      status.append(watcher.element, h("p", { class: "hint" }, "The send goes on if you close this; see ", h("a", { href: "#/jobs" }, "Jobs"), "."));
      await watcher.finished;
    } catch (error) {
      status.append(errorBox(error));
      sendButton.disabled = false;
      select.disabled = false;
    }
  });
  return dialog;
}

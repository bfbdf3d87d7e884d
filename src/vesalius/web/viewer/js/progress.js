// A job's progress, shown and followed: a bar with counts that polls
// /api/jobs/{id} until the job ends (done, failed or cancelled).
//
//   const view = jobProgress(job);            // an element, updated in place
//   const final = await view.finished;        // the job as it ended
//   view.stop();                              // stop polling (page left)

import { h, clear, append } from "./dom.js";
import { getJson } from "./api.js";

export const FINISHED = new Set(["done", "failed", "cancelled"]);
const POLL_MS = 500;

// "12 of 16 instances, 1 failed" for a job's progress counts.
export function progressText(job) {
  const { done = 0, failed = 0, total = 0 } = job.progress || {};
  const parts = [total ? `${done} of ${total}` : `${done}`];
  if (failed) parts.push(`${failed} failed`);
  return parts.join(", ");
}

// A <progress> for a job: its done+failed share of the total (indeterminate while unknown).
export function progressBar(job) {
  const { done = 0, failed = 0, total = 0 } = job.progress || {};
  const bar = h("progress", { max: total || 1, class: `job-bar state-${job.state}`, "aria-label": `job ${job.id} progress` });
  if (total || FINISHED.has(job.state)) bar.value = total ? done + failed : 1;
  return bar;
}

function render(element, job) {
  append(clear(element), [
    progressBar(job),
    h("span", { class: `job-state state-${job.state}` }, job.state),
    h("span", { class: "job-counts" }, progressText(job)),
    job.error ? h("span", { class: "job-error" }, job.error) : null,
  ]);
  element.dataset.state = job.state;
}

export function jobProgress(job) {
  const element = h("div", { class: "job-progress", dataset: { job: String(job.id) } });
  render(element, job);
  let timer = null;
  let stopped = false;
  const finished = new Promise((resolve) => {
    const poll = async () => {
      if (stopped) return;
      try {
        job = await getJson(`/api/jobs/${job.id}`);
        render(element, job);
      } catch (error) {
        // keep polling (the server may come back), saying why the numbers stand still
        render(element, job);
        element.append(h("span", { class: "job-error" }, error.message));
      }
      if (FINISHED.has(job.state)) resolve(job);
      else if (!stopped) timer = setTimeout(poll, POLL_MS);
    };
    if (FINISHED.has(job.state)) resolve(job);
    else timer = setTimeout(poll, POLL_MS);
  });
  return {
    element,
    finished,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

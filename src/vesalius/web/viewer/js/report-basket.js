// What the viewer gathers for a study's next report: key images (K in the
// viewer) and lengths measured with the Length tool. Kept per study in
// sessionStorage until the report is saved, so that the editor on the Reports
// page (#/reports?study=UID) finds them.
//
//   toggleKeyImage(study, {uid, series, frame}) -> true when it is now a key image
//   addMeasurement(study, {name, value, unit, image, series, frame, points})
//   basketOf(study) -> {keys: [...], measurements: [...]}

const storageKey = (study) => `vesalius.report.${study}`;
const listeners = new Set();

export function basketOf(study) {
  try {
    const kept = JSON.parse(sessionStorage.getItem(storageKey(study)) || "null");
    if (kept && Array.isArray(kept.keys) && Array.isArray(kept.measurements)) return kept;
  } catch {
    // a damaged entry: start again
  }
  return { keys: [], measurements: [] };
}

function save(study, basket) {
  sessionStorage.setItem(storageKey(study), JSON.stringify(basket));
  for (const listener of listeners) listener(study, basket);
}

export function isKeyImage(study, uid) {
  return basketOf(study).keys.some((key) => key.uid === uid);
}

export function toggleKeyImage(study, image) {
  const basket = basketOf(study);
  const at = basket.keys.findIndex((key) => key.uid === image.uid);
  if (at >= 0) basket.keys.splice(at, 1);
  else basket.keys.push({ uid: image.uid, series: image.series, frame: image.frame ?? null });
  save(study, basket);
  return at < 0;
}

export function addMeasurement(study, measurement) {
  const basket = basketOf(study);
  basket.measurements.push(measurement);
  save(study, basket);
}

export function removeMeasurement(study, index) {
  const basket = basketOf(study);
  basket.measurements.splice(index, 1);
  save(study, basket);
}

export function clearBasket(study) {
  sessionStorage.removeItem(storageKey(study));
  for (const listener of listeners) listener(study, { keys: [], measurements: [] });
}

// Called with (study, basket) after every change; returns a function that stops it.
export function onBasketChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

// One series as the viewer sees it: its WADO-RS metadata fetched once, the
// instances that carry pixels put in order (InstanceNumber, then position
// along the slice normal), and a flat list of images: every frame of every
// instance. Also what the overlay shows of the patient, study and series.

import { TAGS, first, frameGroup, has, number, numbers, string } from "./dicom-json.js";

const PALETTE_FREE_GRAYSCALE = new Set(["MONOCHROME1", "MONOCHROME2"]);

/** Fetch a series' metadata and describe it; throws with a one-line reason. */
export async function loadSeries(study, series, { signal } = {}) {
  let response = await fetchMetadata(study, series, signal);
  if (response.status === 404) {
    // The second series of a side-by-side comparison may be of another study.
    const owner = await studyOfSeries(series, signal);
    if (owner && owner !== study) {
      study = owner;
      response = await fetchMetadata(study, series, signal);
    }
  }
  if (!response.ok) throw new Error(`series metadata: ${await reason(response)}`);
  const datasets = await response.json();
  return describeSeries(study, series, datasets);
}

/** The description of a series from its DICOM JSON datasets (exported for reuse). */
export function describeSeries(study, series, datasets) {
  const instances = datasets
    .filter((dataset) => hasPixels(dataset))
    .map((dataset) => describeInstance(study, series, dataset));
  sortInstances(instances);
  const images = [];
  for (const instance of instances) {
    for (let frame = 1; frame <= instance.frameCount; frame += 1) {
      images.push({ instance, frame, key: `${instance.uid}/${frame}` });
    }
  }
  const top = datasets[0] ?? {};
  return {
    study,
    series,
    instances,
    images,
    header: {
      patientName: string(top, TAGS.PatientName),
      patientId: string(top, TAGS.PatientID),
      patientBirthDate: string(top, TAGS.PatientBirthDate),
      patientSex: string(top, TAGS.PatientSex),
      studyDate: string(top, TAGS.StudyDate),
      studyTime: string(top, TAGS.StudyTime),
      studyDescription: string(top, TAGS.StudyDescription),
      seriesDescription: string(top, TAGS.SeriesDescription),
      seriesNumber: string(top, TAGS.SeriesNumber),
      modality: string(top, TAGS.Modality),
    },
  };
}

function hasPixels(dataset) {
  const withData = [TAGS.PixelData, TAGS.FloatPixelData, TAGS.DoubleFloatPixelData].some((tag) =>
    has(dataset, tag),
  );
  return withData && (number(dataset, TAGS.Rows) ?? 0) > 0 && (number(dataset, TAGS.Columns) ?? 0) > 0;
}

function describeInstance(study, series, dataset) {
  const uid = string(dataset, TAGS.SOPInstanceUID);
  const photometric = string(dataset, TAGS.PhotometricInterpretation).trim().toUpperCase();
  const samplesPerPixel = number(dataset, TAGS.SamplesPerPixel) ?? 1;
  const bitsAllocated = number(dataset, TAGS.BitsAllocated) ?? 16;
  const instance = {
    uid,
    base: `/dicomweb/studies/${encodeURIComponent(study)}/series/${encodeURIComponent(series)}/instances/${encodeURIComponent(uid)}`,
    instanceNumber: number(dataset, TAGS.InstanceNumber),
    position: numbers(dataset, TAGS.ImagePositionPatient),
    orientation: numbers(dataset, TAGS.ImageOrientationPatient),
    rows: number(dataset, TAGS.Rows),
    columns: number(dataset, TAGS.Columns),
    frameCount: Math.max(1, number(dataset, TAGS.NumberOfFrames) ?? 1),
    samplesPerPixel,
    photometric,
    bitsAllocated,
    bitsStored: number(dataset, TAGS.BitsStored) ?? bitsAllocated,
    signed: number(dataset, TAGS.PixelRepresentation) === 1,
    framesPerSecond: framesPerSecond(dataset),
    dataset,
  };
  // What the browser decodes itself; everything else is rendered by the server.
  instance.decodedHere =
    samplesPerPixel === 1 &&
    PALETTE_FREE_GRAYSCALE.has(photometric) &&
    [8, 16, 32].includes(bitsAllocated) &&
    has(dataset, TAGS.PixelData) &&
    !has(dataset, TAGS.ModalityLUTSequence) &&
    !has(first(dataset, TAGS.SharedFunctionalGroupsSequence), TAGS.ModalityLUTSequence);
  return instance;
}

/**
 * Rescale and the image's own window for one frame (1-based): the frame's
 * functional groups first (enhanced objects), then the top level.
 */
export function frameDisplay(instance, frame) {
  const dataset = instance.dataset;
  const transform = frameGroup(dataset, frame - 1, TAGS.PixelValueTransformationSequence) ?? dataset;
  const voi = frameGroup(dataset, frame - 1, TAGS.FrameVOILUTSequence) ?? dataset;
  const slope = number(transform, TAGS.RescaleSlope) ?? number(dataset, TAGS.RescaleSlope) ?? 1;
  const intercept =
    number(transform, TAGS.RescaleIntercept) ?? number(dataset, TAGS.RescaleIntercept) ?? 0;
  const centers = numbers(voi, TAGS.WindowCenter);
  const widths = numbers(voi, TAGS.WindowWidth);
  const fn = string(voi, TAGS.VOILUTFunction).trim().toUpperCase();
  let window = null;
  if (centers.length && widths.length && widths[0] > 0) {
    window = {
      center: centers[0],
      width: widths[0],
      fn: fn === "SIGMOID" ? "sigmoid" : fn === "LINEAR_EXACT" ? "linear-exact" : "linear",
    };
  }
  return { slope: slope || 1, intercept, window };
}

function framesPerSecond(dataset) {
  const recommended = number(dataset, TAGS.RecommendedDisplayFrameRate);
  if (recommended > 0) return recommended;
  const cineRate = number(dataset, TAGS.CineRate);
  if (cineRate > 0) return cineRate;
  const frameTime = number(dataset, TAGS.FrameTime);
  if (frameTime > 0) return 1000 / frameTime;
  return undefined;
}

function sortInstances(instances) {
  const normal = sliceNormal(instances.find((instance) => instance.orientation.length === 6));
  const along = (instance) =>
    normal && instance.position.length === 3
      ? instance.position[0] * normal[0] + instance.position[1] * normal[1] + instance.position[2] * normal[2]
      : 0;
  instances.sort(
    (a, b) =>
      (a.instanceNumber ?? Number.POSITIVE_INFINITY) - (b.instanceNumber ?? Number.POSITIVE_INFINITY) ||
      along(a) - along(b) ||
      (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0),
  );
}

function sliceNormal(instance) {
  if (!instance) return null;
  const [rx, ry, rz, cx, cy, cz] = instance.orientation;
  return [ry * cz - rz * cy, rz * cx - rx * cz, rx * cy - ry * cx];
}

function fetchMetadata(study, series, signal) {
  const url = `/dicomweb/studies/${encodeURIComponent(study)}/series/${encodeURIComponent(series)}/metadata`;
  return fetch(url, { signal, headers: { Accept: "application/dicom+json" } });
}

async function studyOfSeries(series, signal) {
  const url = `/dicomweb/series?SeriesInstanceUID=${encodeURIComponent(series)}`;
  const response = await fetch(url, { signal, headers: { Accept: "application/dicom+json" } });
  if (!response.ok) return null;
  const matches = await response.json();
  return string(matches[0], "0020000D") || null;
}

/** A one-line reason for a failed response: the server's {"error"} or the status. */
export async function reason(response) {
  try {
    const body = await response.json();
    if (body?.error) return `${body.error} (HTTP ${response.status})`;
  } catch {
    // not JSON: the status says enough
  }
  return `HTTP ${response.status}`;
}

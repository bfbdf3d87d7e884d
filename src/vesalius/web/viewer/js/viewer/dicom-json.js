// Reading values out of DICOM JSON (PS3.18 F.2), the form WADO-RS metadata takes.
//
//   string(dataset, TAGS.PatientName)  -> "DOE^JOHN"
//   number(dataset, TAGS.WindowCenter) -> 40 (first value), or undefined
//   numbers(dataset, TAGS.ImagePositionPatient) -> [x, y, z]

export const TAGS = {
  RecommendedDisplayFrameRate: "00082144",
  StudyDate: "00080020",
  StudyTime: "00080030",
  Modality: "00080060",
  StudyDescription: "00081030",
  SeriesDescription: "0008103E",
  PatientName: "00100010",
  PatientID: "00100020",
  PatientBirthDate: "00100030",
  PatientSex: "00100040",
  CineRate: "00180040",
  FrameTime: "00181063",
  SeriesNumber: "00200011",
  InstanceNumber: "00200013",
  ImagePositionPatient: "00200032",
  ImageOrientationPatient: "00200037",
  SOPInstanceUID: "00080018",
  SamplesPerPixel: "00280002",
  PhotometricInterpretation: "00280004",
  NumberOfFrames: "00280008",
  Rows: "00280010",
  Columns: "00280011",
  BitsAllocated: "00280100",
  BitsStored: "00280101",
  PixelRepresentation: "00280103",
  WindowCenter: "00281050",
  WindowWidth: "00281051",
  RescaleIntercept: "00281052",
  RescaleSlope: "00281053",
  VOILUTFunction: "00281056",
  ModalityLUTSequence: "00283000",
  PixelValueTransformationSequence: "00289145",
  FrameVOILUTSequence: "00289132",
  SharedFunctionalGroupsSequence: "52009229",
  PerFrameFunctionalGroupsSequence: "52009230",
  PixelData: "7FE00010",
  FloatPixelData: "7FE00008",
  DoubleFloatPixelData: "7FE00009",
};

/** All values of an attribute (an empty list when absent or empty). */
export function values(dataset, tag) {
  const value = dataset?.[tag]?.Value;
  return Array.isArray(value) ? value : [];
}

/** The first value, or undefined. */
export function first(dataset, tag) {
  return values(dataset, tag)[0];
}

/** True when the attribute is present, even empty or as bulk data. */
export function has(dataset, tag) {
  return Boolean(dataset && Object.hasOwn(dataset, tag));
}

/** The first value as text; person names as their alphabetic DICOM string. */
export function string(dataset, tag) {
  const value = first(dataset, tag);
  if (value === undefined || value === null) return "";
  if (typeof value === "object") return personName(value);
  return String(value);
}

/**
 * A person name of DICOM JSON ({Alphabetic, Ideographic, Phonetic}) as its
 * DICOM string: the groups joined by "=", trailing empty ones left out.
 */
export function personName(value) {
  if (!value || typeof value !== "object") return value ? String(value) : "";
  const groups = [value.Alphabetic ?? "", value.Ideographic ?? "", value.Phonetic ?? ""];
  while (groups.length && !groups.at(-1)) groups.pop();
  return groups.join("=");
}

/** The first value as a finite number, or undefined (DS and IS may come as strings). */
export function number(dataset, tag) {
  return toNumber(first(dataset, tag));
}

/** Every value as a number, skipping those that are not. */
export function numbers(dataset, tag) {
  return values(dataset, tag)
    .map(toNumber)
    .filter((value) => value !== undefined);
}

function toNumber(value) {
  const parsed = typeof value === "number" ? value : Number.parseFloat(value);
  return Number.isFinite(parsed) ? parsed : undefined;
}

/**
 * One functional group macro of a frame of a multi-frame object: the frame's
 * Per-Frame Functional Groups item, else the Shared item (PS3.3 C.7.6.16).
 * frameIndex counts from 0. Undefined when neither has it.
 */
export function frameGroup(dataset, frameIndex, macroTag) {
  const perFrame = values(dataset, TAGS.PerFrameFunctionalGroupsSequence)[frameIndex];
  const fromFrame = first(perFrame, macroTag);
  if (fromFrame) return fromFrame;
  const shared = first(dataset, TAGS.SharedFunctionalGroupsSequence);
  return first(shared, macroTag);
}

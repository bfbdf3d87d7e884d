// DICOM values as people read them: names, dates, times, lists, sizes.
// These return plain strings; the caller puts them into the page as text.

// "DOE^JOHN^^DR" -> "DOE, JOHN DR". The groups of a multi-script name keep their "="
// ("Yamada^Tarou=山田^太郎" -> "Yamada, Tarou=山田, 太郎"); nothing else is changed.
export function formatName(value) {
  if (value === null || value === undefined) return "";
  return String(value)
    .split("=")
    .map((group) => {
      const [family = "", ...rest] = group.split("^");
      const others = rest.filter(Boolean).join(" ");
      return family && others ? `${family}, ${others}` : family || others;
    })
    .join("=")
    .replace(/=+$/, "");
}

// "20170716" -> "2017-07-16"; anything else as it is.
export function formatDate(value) {
  const text = value === null || value === undefined ? "" : String(value);
  const match = /^(\d{4})(\d{2})(\d{2})$/.exec(text);
  return match ? `${match[1]}-${match[2]}-${match[3]}` : text;
}

// "154736.123" -> "15:47"; anything else as it is.
export function formatTime(value) {
  const text = value === null || value === undefined ? "" : String(value);
  const match = /^(\d{2})(\d{2})/.exec(text);
  return match ? `${match[1]}:${match[2]}` : text;
}

// A value that may be several (an array) as one string.
export function formatList(value, separator = ", ") {
  if (value === null || value === undefined) return "";
  return Array.isArray(value) ? value.join(separator) : String(value);
}

export function formatCount(value) {
  return value === null || value === undefined ? "" : Number(value).toLocaleString("en");
}

export function formatBytes(bytes) {
  if (!Number.isFinite(bytes)) return "";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let size = bytes;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit += 1;
  }
  return `${size.toFixed(unit === 0 || size >= 10 ? 0 : 1)} ${units[unit]}`;
}

// "2017-07-16" (a date input's value) -> "20170716".
export function dicomDate(value) {
  return (value || "").replaceAll("-", "");
}

// "2026-11-26T08:40:42Z" -> local "2026-11-26 09:40:42".
export function formatTimestamp(value) {
  if (!value) return "";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  const pad = (n) => String(n).padStart(2, "0");
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
  );
}

// "3 images", "1 image".
export function plural(count, noun) {
  return `${formatCount(count)} ${noun}${Number(count) === 1 ? "" : "s"}`;
}

// A study named for people: "DOE, J1 — 2017-07-16 LEFT WRIST".
export function studyLabel(study) {
  const what = [formatDate(study.StudyDate), study.StudyDescription].filter(Boolean).join(" ");
  return [formatName(study.PatientName) || study.PatientID || "(no name)", what].filter(Boolean).join(" — ");
}

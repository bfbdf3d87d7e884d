// multipart/related bodies (RFC 2387) as WADO-RS sends frames: split into parts.
//
//   const parts = parseMultipart(await response.arrayBuffer(), boundaryOf(contentType));
//   parts[0].body  // Uint8Array of the first part, in a buffer of its own

const CRLF_CRLF = [13, 10, 13, 10];

/** The boundary parameter of a multipart Content-Type, or null. */
export function boundaryOf(contentType) {
  const match = /boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))/i.exec(contentType || "");
  return match ? match[1] || match[2] : null;
}

/** The parts of a body: [{headers: {lowercase name: value}, body: Uint8Array}]. */
export function parseMultipart(buffer, boundary) {
  const bytes = new Uint8Array(buffer);
  const delimiter = new TextEncoder().encode(`--${boundary}`);
  const parts = [];
  let at = indexOf(bytes, delimiter, 0);
  if (at < 0) throw new Error("multipart body without its boundary");
  while (at >= 0) {
    let start = at + delimiter.length;
    if (bytes[start] === 45 && bytes[start + 1] === 45) break; // "--": the closing delimiter
    start = skipLineEnd(bytes, start);
    const headerEnd = indexOf(bytes, CRLF_CRLF, start);
    if (headerEnd < 0) throw new Error("multipart part without the end of its headers");
    const headers = parseHeaders(bytes.subarray(start, headerEnd));
    const bodyStart = headerEnd + CRLF_CRLF.length;
    const next = indexOf(bytes, delimiter, bodyStart);
    if (next < 0) throw new Error("multipart body cut short");
    let bodyEnd = next;
    if (bytes[bodyEnd - 2] === 13 && bytes[bodyEnd - 1] === 10) bodyEnd -= 2; // CRLF before "--"
    parts.push({ headers, body: bytes.slice(bodyStart, bodyEnd) });
    at = next;
  }
  return parts;
}

function skipLineEnd(bytes, at) {
  while (bytes[at] === 32 || bytes[at] === 9) at += 1; // transport padding
  if (bytes[at] === 13 && bytes[at + 1] === 10) return at + 2;
  return at;
}

function parseHeaders(bytes) {
  const headers = {};
  for (const line of new TextDecoder().decode(bytes).split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** The first index of pattern in bytes at or after from, or -1. */
function indexOf(bytes, pattern, from) {
  const head = pattern[0];
  const last = bytes.length - pattern.length;
  for (let at = bytes.indexOf(head, from); at >= 0 && at <= last; at = bytes.indexOf(head, at + 1)) {
    let found = true;
    for (let i = 1; i < pattern.length; i += 1) {
      if (bytes[at + i] !== pattern[i]) {
        found = false;
        break;
      }
    }
    if (found) return at;
  }
  return -1;
}

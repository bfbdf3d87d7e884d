"""The small static page that ``--with-viewer`` puts beside the DICOMDIR: ``INDEX.HTM``.

It lists what the medium holds (patients, studies, series, how many files) and
links each series' files, so that someone without a DICOM viewer can see what
they were given. Every value is escaped: names come from the files.
"""

from __future__ import annotations

from html import escape

from vesalius.media.dicomdir import Record

PAGE_NAME = "INDEX.HTM"

_STYLE = (
    "body{font-family:sans-serif;margin:2em;color:#222}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}"
    "h2{margin-top:1.5em}"
)


def _text(record: Record, keyword: str) -> str:
    value = record.dataset.get(keyword)
    return escape("" if value is None else str(value))


def _date(text: str) -> str:
    return f"{text[:4]}-{text[4:6]}-{text[6:8]}" if len(text) == 8 and text.isdigit() else text


def index_page(patients: list[Record], title: str) -> bytes:
    """The HTML page (UTF-8) of the records of a File-set."""
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        "<p>DICOM images. Open the DICOMDIR file of this medium with a DICOM viewer;"
        " this page only lists what it holds.</p>",
    ]
    for patient in patients:
        parts.append(
            f"<h2>{_text(patient, 'PatientName') or '(no name)'}"
            f" &middot; ID {_text(patient, 'PatientID')}</h2>"
        )
        for study in patient.children:
            parts.append(
                f"<h3>{_date(_text(study, 'StudyDate'))} {_text(study, 'StudyDescription')}"
                f" (study {_text(study, 'StudyID')})</h3>"
            )
            parts.append("<table><tr><th>Series</th><th>Modality</th><th>Files</th></tr>")
            for series in study.children:
                links = ", ".join(
                    f"<a href='{escape('/'.join(leaf.dataset.ReferencedFileID))}'>"
                    f"{escape(str(leaf.dataset.ReferencedFileID[-1]))}</a>"
                    for leaf in series.children
                )
                parts.append(
                    f"<tr><td>{_text(series, 'SeriesNumber')}</td>"
                    f"<td>{_text(series, 'Modality')}</td><td>{links}</td></tr>"
                )
            parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts).encode("utf-8")

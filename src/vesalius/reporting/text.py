"""A read document as plain text, for ``vesalius report show`` and the API's ``text`` form.

Containers become headings (``#`` per level, as in Markdown); other items
become ``Name: value`` lines indented under the item they belong to, with the
relationship named when it is not plain containment ("inferred from"). Codes
read as their meaning with ``(scheme:value)``, numbers with their unit.
"""

from __future__ import annotations

from collections.abc import Iterator

from vesalius.reporting.read import Document, Item, Reference

INDENT = "  "


def reference_text(reference: Reference | None) -> str:
    """``MR Image Storage 1.2.3 (frames 2, 3)``, and the presentation state if any."""
    if reference is None:
        return "(no reference)"
    text = f"{reference.sop_class_name} {reference.sop_instance_uid}"
    if reference.frames:
        text += f" (frame{'s' if len(reference.frames) > 1 else ''} "
        text += ", ".join(str(f) for f in reference.frames) + ")"
    if reference.presentation_state:
        text += f" shown with presentation state {reference.presentation_state}"
    return text


def points_text(points: list[list[float]]) -> str:
    """Coordinates as ``(10, 20), (40, 60)``."""
    return ", ".join("(" + ", ".join(f"{v:g}" for v in point) + ")" for point in points)


def value_text(item: Item) -> str:
    """The value of an item as a reader says it."""
    kind = item.value_type
    if kind == "CODE":
        return f"{item.value} ({item.code})" if item.code else item.value
    if kind == "NUM":
        unit = f" {item.unit}" if item.unit else ""
        code = f" ({item.unit_code})" if item.unit_code else ""
        return f"{item.value}{unit}{code}"
    if kind in ("IMAGE", "COMPOSITE", "WAVEFORM"):
        return reference_text(item.reference)
    if kind in ("SCOORD", "SCOORD3D"):
        return f"{item.graphic_type} {points_text(item.points)}".strip()
    if kind == "REFERENCE":
        return f"see item {item.target}"
    return item.value


def label_of(item: Item) -> str:
    """The concept name with its code (``Finding (DCM:121071)`` is too much for a line:
    only the meaning is shown), or the value type when the item has no name."""
    return item.name or item.value_type.lower()


def _lines(item: Item, depth: int, indent: int) -> Iterator[str]:
    if item.value_type == "CONTAINER" and item.relationship in ("", "CONTAINS"):
        if depth > 0:
            yield ""
            yield "#" * min(depth + 1, 6) + " " + (item.name or "(untitled section)")
        for child in item.children:
            yield from _lines(child, depth + 1, 0)
        return
    relation = item.relationship.lower()
    prefix = f"[{relation}] " if relation and relation != "contains" else ""
    text = value_text(item)
    lines = text.splitlines() or [""]
    yield f"{INDENT * indent}{prefix}{label_of(item)}: {lines[0]}".rstrip()
    for more in lines[1:]:
        yield f"{INDENT * (indent + 1)}{more}".rstrip()
    for child in item.children:
        yield from _lines(child, depth, indent + 1)


def header_lines(document: Document) -> list[str]:
    """Title, class and flags, patient, study and dates."""
    title = document.title + (f" ({document.title_code})" if document.title_code else "")
    flags = [document.sop_class_name]
    flags += [f for f in (document.completion, document.preliminary, document.verification) if f]
    lines = [title, "=" * len(title), " · ".join(flags)]
    patient = document.patient_name or "(no name)"
    details = [d for d in (document.patient_id, document.patient_sex) if d]
    if document.patient_birth_date:
        details.append(f"born {document.patient_birth_date}")
    lines.append(f"Patient: {patient}" + (f" ({', '.join(details)})" if details else ""))
    study = [s for s in (document.study_description, document.study_date) if s]
    if document.accession_number:
        study.append(f"accession {document.accession_number}")
    lines.append("Study: " + (", ".join(study) or document.study_uid))
    if document.content_datetime:
        lines.append(f"Content date: {document.content_datetime}")
    lines.extend(f"Verified by: {who}" for who in document.verifiers)
    lines.append(f"SOP Instance UID: {document.sop_instance_uid}")
    return lines


def render_text(document: Document) -> str:
    """The whole document as text, ending with a newline."""
    lines = header_lines(document)
    if document.root is not None:
        lines.append("")
        lines.extend(_lines(document.root, 0, 0))
    tidy = [line for n, line in enumerate(lines) if line or (n and lines[n - 1])]
    return "\n".join(tidy).rstrip() + "\n"

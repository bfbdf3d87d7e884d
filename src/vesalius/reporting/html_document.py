"""A read document as a self-contained HTML page, every value escaped.

Containers become sections with headings; items become lines ``Name: value``
with their children nested below; an image reference becomes a thumbnail that
opens the viewer at that image (when the document or the archive knows its
study and series). The page carries no script: the API serves it with a
Content-Security-Policy that allows none, and the web UI shows it in a
sandboxed frame.
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote, urlencode

from vesalius.reporting.read import Document, Item, Reference
from vesalius.reporting.text import header_lines, label_of, points_text, reference_text

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 1.5rem; color: #1d2330; background: #fff; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
h2, h3, h4, h5, h6 { margin: 1.1rem 0 .4rem; font-size: 1.1rem; }
.meta { color: #4a5364; margin: 0 0 1rem; }
.meta p { margin: .1rem 0; }
.item { margin: .15rem 0 .15rem 0; }
.children { margin-left: 1.25rem; border-left: 2px solid #e2e6ee; padding-left: .6rem; }
.name { font-weight: 600; }
.rel { color: #6b7486; font-size: .85em; margin-right: .3rem; }
.code { color: #6b7486; font-size: .85em; }
.text { white-space: pre-wrap; }
figure { display: inline-block; margin: .3rem .6rem .3rem 0; vertical-align: top; }
figure img { display: block; max-width: 160px; max-height: 160px; background: #000; }
figcaption { font-size: .8em; color: #4a5364; max-width: 220px; overflow-wrap: anywhere; }
"""


def viewer_link(reference: Reference) -> str:
    """The viewer's address for a referenced image: its study, series and instance."""
    query = {
        "study": reference.study_uid,
        "series": reference.series_uid,
        "instance": reference.sop_instance_uid,
    }
    if reference.frames:
        query["frame"] = str(reference.frames[0])
    return "/#/viewer?" + urlencode(query)


def thumbnail_url(reference: Reference) -> str:
    """The DICOMweb thumbnail of a referenced image."""
    parts = (reference.study_uid, reference.series_uid, reference.sop_instance_uid)
    study, series, instance = (quote(p, safe="") for p in parts)
    return f"/dicomweb/studies/{study}/series/{series}/instances/{instance}/thumbnail"


def _reference_html(item: Item) -> str:
    reference = item.reference
    caption = escape(reference_text(reference))
    if reference is None or not (reference.study_uid and reference.series_uid):
        return f'<span class="value">{caption}</span>'
    if item.value_type != "IMAGE":
        return f'<span class="value">{caption}</span>'
    return (
        f'<figure><a href="{escape(viewer_link(reference))}" target="_top" '
        f'title="Open in the viewer"><img src="{escape(thumbnail_url(reference))}" '
        f'alt="{escape(reference.sop_class_name)}" loading="lazy"></a>'
        f"<figcaption>{caption}</figcaption></figure>"
    )


def _value_html(item: Item) -> str:
    kind = item.value_type
    if kind in ("IMAGE", "COMPOSITE", "WAVEFORM"):
        return _reference_html(item)
    if kind == "CODE":
        code = f' <span class="code">({escape(item.code)})</span>' if item.code else ""
        return f'<span class="value">{escape(item.value)}</span>{code}'
    if kind == "NUM":
        unit = f" {escape(item.unit)}" if item.unit else ""
        code = f' <span class="code">({escape(item.unit_code)})</span>' if item.unit_code else ""
        return f'<span class="value">{escape(item.value)}{unit}</span>{code}'
    if kind in ("SCOORD", "SCOORD3D"):
        shown = f"{item.graphic_type} {points_text(item.points)}"
        return f'<span class="value">{escape(shown)}</span>'
    if kind == "REFERENCE":
        return f'<span class="value">see item {escape(item.target)}</span>'
    return f'<span class="value text">{escape(item.value)}</span>'


def _item_html(item: Item, depth: int) -> list[str]:
    if item.value_type == "CONTAINER" and item.relationship in ("", "CONTAINS"):
        level = min(depth + 1, 6)
        out = []
        if depth > 0:
            heading = escape(item.name or "(untitled section)")
            out.append(f'<section data-position="{escape(item.position)}">')
            out.append(f"<h{level}>{heading}</h{level}>")
        for child in item.children:
            out.extend(_item_html(child, depth + 1))
        if depth > 0:
            out.append("</section>")
        return out
    relation = item.relationship.lower()
    rel = f'<span class="rel">{escape(relation)}</span>' if relation not in ("", "contains") else ""
    name = escape(label_of(item))
    out = [
        f'<div class="item vt-{escape(item.value_type.lower())}" '
        f'data-position="{escape(item.position)}">{rel}'
        f'<span class="name">{name}</span>: {_value_html(item)}'
    ]
    if item.children:
        out.append('<div class="children">')
        for child in item.children:
            out.extend(_item_html(child, depth))
        out.append("</div>")
    out.append("</div>")
    return out


def render_html(document: Document) -> str:
    """A whole HTML page for the document."""
    header = header_lines(document)
    meta = "".join(f"<p>{escape(line)}</p>" for line in header[2:])
    body = _item_html(document.root, 0) if document.root is not None else []
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{escape(document.title)}</title>",
            f"<style>{STYLE}</style></head>",
            '<body><article class="sr-document">',
            f"<header><h1>{escape(document.title)}</h1>",
            f'<div class="meta">{meta}</div></header>',
            *body,
            "</article></body></html>",
            "",
        ]
    )

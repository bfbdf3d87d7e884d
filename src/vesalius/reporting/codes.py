"""The coded concepts a report is written with, looked up by the words people type.

Document titles come from CID 7000 (reports), CID 7021 (measurement reports)
and CID 7010 (key object selections); section headings from CID 7001 and the
text items inside them from CID 7002; measurement names from the SNOMED CT and
DCM concepts pydicom knows; units are UCUM. A word that no list knows becomes a
code of Vesalius's own scheme (``99VESALIUS``, declared in the Coding Scheme
Identification Sequence), so that nothing a person typed is lost.
"""

from __future__ import annotations

import hashlib
import re

from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

LOCAL_SCHEME = "99VESALIUS"
"""The private coding scheme (PS3.16 8.2: '99' prefix) of concepts no standard list has."""

DEFAULT_TITLE = codes.cid7000.DiagnosticImagingReport
MEASUREMENT_REPORT_TITLE = codes.cid7021.ImagingMeasurementReport
DEFAULT_KEY_TITLE = codes.cid7010.OfInterest
FINDING = codes.DCM.Finding
KEY_IMAGES = codes.cid7001.KeyImages
SOURCE = Code("260753009", "SCT", "Source")
"""The concept name of an image reference (PS3.3 C.17.3: a generic one rather than none)."""

_HEADING_ALIASES = {
    "impression": "impressions",
    "conclusion": "conclusions",
    "recommendation": "recommendations",
    "finding": "findings",
    "indications": "indications for procedure",
    "indication": "indications for procedure",
    "comparison": "prior procedure descriptions",
    "technique": "current procedure descriptions",
    "procedure": "current procedure descriptions",
}
_ELEMENT_OF_HEADING = {
    "59776-5": codes.cid7002.Finding,
    "19005-8": codes.cid7002.Impression,
    "55110-1": codes.cid7002.Conclusion,
    "18783-1": codes.cid7002.Recommendation,
    "55111-9": codes.cid7002.ProcedureDescription,
    "18834-2": codes.cid7002.PreviousFinding,
    "55109-3": codes.cid7002.ComplicationOfProcedure,
}
UNITS = {
    "mm": "millimeter",
    "cm": "centimeter",
    "m": "meter",
    "um": "micrometer",
    "mm2": "square millimeter",
    "cm2": "square centimeter",
    "mm3": "cubic millimeter",
    "cm3": "cubic centimeter",
    "mL": "milliliter",
    "L": "liter",
    "[hnsf'U]": "Hounsfield unit",
    "%": "percent",
    "deg": "degree",
    "s": "second",
    "ms": "millisecond",
    "/min": "per minute",
    "cm/s": "centimeter per second",
    "mm[Hg]": "millimeter of mercury",
    "g/cm2": "gram per square centimeter",
    "g/mL": "gram per milliliter",
    "kg": "kilogram",
    "1": "no units",
    "{ratio}": "ratio",
}
_UNIT_ALIASES = {
    "hu": "[hnsf'U]",
    "ml": "mL",
    "cc": "cm3",
    "l": "L",
    "°": "deg",
    "mmhg": "mm[Hg]",
    "bpm": "/min",
    "µm": "um",
    "mm²": "mm2",
    "cm²": "cm2",
    "mm³": "mm3",
    "cm³": "cm3",
}
_UCUM = re.compile(r"^[!-~]{1,16}$")


def _by_meaning(collection: object) -> dict[str, Code]:
    concepts: dict[str, Code] = getattr(collection, "concepts", {})
    return {code.meaning.lower(): code for code in concepts.values()}


_TITLES = _by_meaning(codes.cid7000)
_MEASUREMENT_TITLES = _by_meaning(codes.cid7021)
_KEY_TITLES = _by_meaning(codes.cid7010)
_HEADINGS = _by_meaning(codes.cid7001)


def local_code(meaning: str) -> Code:
    """A concept of our own scheme for a word no standard list has.

    The code value is a digest of the meaning (case folded), so that the same
    words give the same code in every report.
    """
    digest = hashlib.sha1(meaning.strip().lower().encode("utf-8")).hexdigest()
    return Code(digest[:16].upper(), LOCAL_SCHEME, meaning.strip())


def is_local(code: Code) -> bool:
    """True for a concept of Vesalius's own scheme."""
    return code.scheme_designator == LOCAL_SCHEME


def report_title(title: str) -> Code:
    """The document title: a CID 7000 title by its meaning, else a local one."""
    return _TITLES.get(title.strip().lower()) or local_code(title)


def measurement_report_title(title: str) -> Code:
    """The title of a TID 1500 report: one of CID 7021, Imaging Measurement Report
    unless another of the list is named."""
    return _MEASUREMENT_TITLES.get(title.strip().lower(), MEASUREMENT_REPORT_TITLE)


def key_object_title(title: str) -> Code | None:
    """A CID 7010 key object selection title by its meaning; None when the list lacks it
    (the title of a key object selection must come from that list)."""
    return _KEY_TITLES.get(title.strip().lower())


def report_titles() -> list[str]:
    """The meanings CID 7000 offers as report titles."""
    return sorted(code.meaning for code in _TITLES.values())


def key_object_titles() -> list[str]:
    """The meanings CID 7010 offers, for help texts and the editor."""
    return sorted(code.meaning for code in _KEY_TITLES.values())


def heading_names() -> list[str]:
    """The CID 7001 headings, for help texts and the editor."""
    return sorted(code.meaning for code in _HEADINGS.values())


def heading(name: str) -> tuple[Code, Code]:
    """A section's heading (CID 7001) and the concept of the text under it (CID 7002).

    Common singular forms and synonyms are accepted ("Impression", "Comparison");
    an unknown heading becomes a local concept that names its text too.
    """
    key = name.strip().lower()
    found = _HEADINGS.get(_HEADING_ALIASES.get(key, key))
    if found is None:
        code = local_code(name)
        return code, code
    return found, _ELEMENT_OF_HEADING.get(found.value, found)


def measurement_name(name: str) -> Code:
    """A measurement's concept: SNOMED CT or DCM by its words ("Long axis"), else local."""
    keyword = "".join(word[:1].upper() + word[1:] for word in re.split(r"[\s_-]+", name.strip()))
    for scheme in (codes.SCT, codes.DCM):
        try:
            found = getattr(scheme, keyword)
        except AttributeError:
            continue
        if isinstance(found, Code):
            return found
    return local_code(name)


def unit(text: str) -> Code:
    """The UCUM concept of a unit ("mm", "HU", "cm2"); ``ValueError`` for one that
    cannot be a UCUM code (spaces, too long)."""
    raw = text.strip()
    ucum = _UNIT_ALIASES.get(raw.lower(), _UNIT_ALIASES.get(raw, raw))
    if not _UCUM.match(ucum):
        raise ValueError(f"{text!r} is not a UCUM unit (such as mm, cm2, mL, HU, %)")
    return Code(ucum, "UCUM", UNITS.get(ucum, ucum))


def parse_code(text: str) -> Code | None:
    """``SCHEME:VALUE:Meaning`` (e.g. ``SCT:4147007:Mass``) as a code; None when the text
    is not written so (it is then free text)."""
    parts = text.split(":", 2)
    if len(parts) != 3 or not all(part.strip() for part in parts):
        return None
    scheme, value, meaning = (part.strip() for part in parts)
    if not re.fullmatch(r"[A-Za-z0-9_.\-]{1,16}", scheme) or len(value) > 16 or " " in value:
        return None
    return Code(value, scheme, meaning)


def coding_scheme_item(scheme: str) -> Dataset:
    """The Coding Scheme Identification Sequence item that declares a local scheme."""
    item = Dataset()
    item.CodingSchemeDesignator = scheme
    item.CodingSchemeName = "Vesalius local concepts"
    item.CodingSchemeResponsibleOrganization = "Vesalius"
    return item

"""The Native DICOM Model (PS3.19 A.1) of query answers, for clients asking for XML."""

from __future__ import annotations

import uuid
from typing import Any
from xml.etree import ElementTree

from fastapi import Response
from pydicom.datadict import keyword_for_tag

from vesalius.web.dicomweb.negotiation import DICOM_XML


def _attribute(parent: ElementTree.Element, key: str, attribute: dict[str, Any]) -> None:
    tag = int(key, 16)
    node = ElementTree.SubElement(
        parent,
        "DicomAttribute",
        {"tag": key, "vr": attribute["vr"], "keyword": keyword_for_tag(tag) or ""},
    )
    for number, value in enumerate(attribute.get("Value", []), start=1):
        if attribute["vr"] == "SQ":
            item = ElementTree.SubElement(node, "Item", {"number": str(number)})
            for sub_key, sub in value.items():
                _attribute(item, sub_key, sub)
        elif attribute["vr"] == "PN":
            name = ElementTree.SubElement(node, "PersonName", {"number": str(number)})
            for group, text in value.items():
                group_node = ElementTree.SubElement(name, group)
                ElementTree.SubElement(group_node, "FamilyName").text = text.split("^")[0]
                for part, label in zip(
                    text.split("^")[1:],
                    ("GivenName", "MiddleName", "NamePrefix", "NameSuffix"),
                    strict=False,
                ):
                    if part:
                        ElementTree.SubElement(group_node, label).text = part
        else:
            value_node = ElementTree.SubElement(node, "Value", {"number": str(number)})
            value_node.text = "" if value is None else str(value)


def to_xml(body: dict[str, Any]) -> bytes:
    """One DICOM JSON object as a NativeDicomModel document."""
    root = ElementTree.Element(
        "NativeDicomModel", {"xmlns": "http://dicom.nema.org/PS3.19/models/NativeDICOM"}
    )
    for key, attribute in body.items():
        _attribute(root, key, attribute)
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)


def multipart_response(answers: list[dict[str, Any]], headers: dict[str, str]) -> Response:
    """Answers as multipart/related, one XML document per part (PS3.18 8.7.3.3)."""
    boundary = uuid.uuid4().hex
    parts = [
        f"--{boundary}\r\nContent-Type: {DICOM_XML}\r\n\r\n".encode() + to_xml(answer) + b"\r\n"
        for answer in answers
    ]
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    media_type = f'multipart/related; type="{DICOM_XML}"; boundary={boundary}'
    return Response(body, media_type=media_type, headers=headers)

"""``vesalius dump``: the meta information and data set of a file, for people or as DICOM JSON."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from pydicom import dcmread
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from vesalius.cli.common import app, console, fail

VALUE_WIDTH = 64
BINARY_VRS = {"OB", "OW", "OF", "OD", "OL", "OV", "UN"}


def _value(element: DataElement) -> str:
    if element.tag == 0x7FE00010 or element.VR in BINARY_VRS:
        size = len(element.value) if isinstance(element.value, bytes | bytearray) else 0
        if element.tag == 0x7FE00010 and element.is_undefined_length:
            return f"(encapsulated pixel data, {size} bytes)"
        return f"({size} bytes of binary data)"
    if element.VM > 1:
        text = "\\".join(str(v) for v in element.value)
    else:
        text = "" if element.value is None else str(element.value)
    return text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 3] + "..."


def dump_lines(dataset: Dataset, depth: int = 0) -> Iterator[str]:
    """One line per element (tag, keyword, VR, value), items of sequences indented."""
    indent = "  " * depth
    for element in dataset:
        keyword = element.keyword or ("(private)" if element.tag.is_private else "(unknown)")
        if element.VR == "SQ":
            yield f"{indent}{element.tag} {keyword:<36} SQ  {len(element.value)} item(s)"
            for number, item in enumerate(element.value, 1):
                yield f"{indent}  item {number}"
                yield from dump_lines(item, depth + 2)
        else:
            yield f"{indent}{element.tag} {keyword:<36} {element.VR:<3} {_value(element)}"


def _summarised(_element: DataElement) -> str:
    return "bulk data omitted"


@app.command()
def dump(
    file: Annotated[Path, typer.Argument(help="A DICOM file.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print DICOM JSON (PS3.18 F.2) instead.")
    ] = False,
) -> None:
    """Show a DICOM file's meta information and data set."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                dataset = dcmread(file)
            except InvalidDicomError:
                dataset = dcmread(file, force=True)  # a bare data set, without meta
                if not any(element.keyword for element in dataset):
                    fail(f"{file}: not a DICOM file")
    except FileNotFoundError:
        fail(f"{file}: no such file")
    except (InvalidDicomError, OSError, ValueError, AttributeError) as exc:
        fail(f"{file}: not readable as DICOM ({exc})")
    meta = getattr(dataset, "file_meta", Dataset())
    if len(dataset) == 0 and len(meta) == 0:
        fail(f"{file}: not a DICOM file")
    if as_json:
        try:
            document = meta.to_json_dict() | dataset.to_json_dict()
        except Exception as exc:
            fail(f"{file}: cannot be written as DICOM JSON ({exc})")
        typer.echo(json.dumps(document, indent=2))
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lines = [
                "# File Meta Information",
                *dump_lines(meta),
                "# Data Set",
                *dump_lines(dataset),
            ]
    except Exception as exc:
        fail(f"{file}: data set cannot be read to the end ({exc})")
    for line in lines:
        console.print(line, highlight=False, markup=False, soft_wrap=True)

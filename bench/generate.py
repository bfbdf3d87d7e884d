"""Deterministic synthetic DICOM data sets for the ingest benchmark.

Two kinds, both CT Image Storage in Explicit VR Little Endian Part 10 files:

- ``ct``: 512x512 16-bit slices (about 0.5 MB each) with a realistic header,
  grouped into studies of several series, as a scanner would send them;
- ``tiny``: 64x64 16-bit slices (about 9 KB each), to measure the per-message
  cost of a server rather than its bandwidth.

Every UID and pixel value derives from fixed seeds, so two runs with the same
arguments write byte-identical files, and every server in a benchmark run
receives exactly the same bytes. Generation is fast because each series
renders one pixel buffer and its slices only shift and shade it a little.

Usage: ``python bench/generate.py --kind ct|tiny --count N --out DIR``
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ROOT = Path("/tmp/vesalius-bench-data")
SEED = 20240611
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:vesalius:bench")


@dataclass(frozen=True, slots=True)
class Kind:
    """Shape of one data set kind."""

    size: int  # rows = columns
    series_per_study: int
    instances_per_series: int
    full_header: bool  # tiny instances carry a lean header to stay near 9 KB


KINDS: dict[str, Kind] = {
    "ct": Kind(size=512, series_per_study=4, instances_per_series=50, full_header=True),
    "tiny": Kind(size=64, series_per_study=4, instances_per_series=100, full_header=False),
}

SERIES_NAMES = ("AXIAL 5mm", "AXIAL 1.25mm BONE", "CORONAL MPR", "SAGITTAL MPR", "SCOUT")


def uid(*parts: object) -> str:
    """A deterministic UID: 2.25 and a name-based UUID of the seed and ``parts``."""
    name = "/".join(map(str, (SEED, *parts)))
    return f"2.25.{uuid.uuid5(NAMESPACE, name).int}"


IMPLEMENTATION_UID = uid("implementation")


def phantom(size: int, rng: np.random.Generator) -> np.ndarray:
    """A body-like slice in stored values (HU + 1024): air, body, organs, bone, noise."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size - 0.5
    image = np.zeros((size, size), dtype=np.float32)  # air, -1024 HU
    image[(x / 0.42) ** 2 + (y / 0.34) ** 2 < 1] = 1024 + 40  # soft tissue
    for _ in range(6):  # organs and vessels
        cx, cy = rng.uniform(-0.25, 0.25, 2)
        rx, ry = rng.uniform(0.03, 0.12, 2)
        image[((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 < 1] = 1024 + rng.uniform(-100, 300)
    image[(x / 0.05) ** 2 + ((y - 0.22) / 0.05) ** 2 < 1] = 1024 + 1200  # spine
    image += rng.normal(0, 12, image.shape).astype(np.float32)
    return np.clip(image, 0, 4095).astype(np.uint16)


def slice_pixels(base: np.ndarray, index: int) -> bytes:
    """The slice ``index`` of a series: the base image shifted and shaded a little."""
    shifted = np.roll(base, shift=(index % 7) - 3, axis=0)
    return (shifted + np.uint16(index % 16)).tobytes()


def study_header(study: int, kind_name: str) -> Dataset:
    """Patient and study level attributes of study number ``study``."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.PatientName = f"BENCH^PATIENT{study:04d}"
    ds.PatientID = f"BENCH{study:06d}"
    ds.PatientBirthDate = f"{1940 + study % 60}0{1 + study % 9}15"
    ds.PatientSex = "MF"[study % 2]
    ds.StudyInstanceUID = uid(kind_name, "study", study)
    ds.StudyDate = f"2024{1 + study % 12:02d}{1 + study % 28:02d}"
    ds.StudyTime = f"{8 + study % 10:02d}{study % 60:02d}00"
    ds.AccessionNumber = f"ACC{study:08d}"
    ds.StudyID = str(study)
    ds.ReferringPhysicianName = "REFERRING^DOCTOR"
    ds.StudyDescription = "CT CHEST ABDOMEN PELVIS"
    return ds


def series_header(study_ds: Dataset, study: int, series: int, kind: Kind, name: str) -> Dataset:
    """A template instance of one series; ``instance_of`` fills the per-slice values."""
    ds = Dataset()
    ds.update(study_ds)
    ds.SOPClassUID = CTImageStorage
    ds.Modality = "CT"
    ds.SeriesInstanceUID = uid(name, "series", study, series)
    ds.SeriesNumber = series + 1
    ds.FrameOfReferenceUID = uid(name, "frame", study)
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.SeriesDate = ds.ContentDate = ds.StudyDate
    ds.SeriesTime = ds.StudyTime
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [0.7, 0.7]
    ds.SliceThickness = "1.25"
    if kind.full_header:
        ds.SeriesDescription = SERIES_NAMES[series % len(SERIES_NAMES)]
        ds.Manufacturer = "BENCH"
        ds.ManufacturerModelName = "SYNTHETIC CT"
        ds.InstitutionName = "VESALIUS BENCH HOSPITAL"
        ds.StationName = "CT01"
        ds.BodyPartExamined = "CHEST"
        ds.PatientPosition = "HFS"
        ds.KVP = "120"
        ds.XRayTubeCurrent = 250
        ds.ConvolutionKernel = "STANDARD"
        ds.PositionReferenceIndicator = ""
        ds.AcquisitionNumber = 1
        ds.WindowCenter = "40"
        ds.WindowWidth = "400"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = ds.Columns = kind.size
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.RescaleIntercept = "-1024"
    ds.RescaleSlope = "1"
    return ds


def write_instance(template: Dataset, sop_uid: str, number: int, pixels: bytes, path: Path) -> int:
    """Write one slice of ``template`` as a Part 10 file; return its size in bytes."""
    ds = template
    ds.SOPInstanceUID = sop_uid
    ds.InstanceNumber = number
    z = -200.0 + 1.25 * number
    ds.ImagePositionPatient = [-179.2, -179.2, round(z, 2)]
    ds.SliceLocation = round(z, 2)
    ds.PixelData = pixels
    ds["PixelData"].VR = "OW"
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = IMPLEMENTATION_UID
    ds.file_meta = meta
    ds.save_as(path, enforce_file_format=True)
    return path.stat().st_size


def check_outside_repo(out: Path) -> None:
    """Refuse to write data sets into the source tree."""
    resolved = out.resolve()
    if resolved == REPO or REPO in resolved.parents:
        raise SystemExit(f"refusing to generate inside the repository: {resolved}")


def generate(kind_name: str, count: int, out: Path) -> tuple[int, int]:
    """Write ``count`` instances of ``kind_name`` into ``out``; return (files, bytes)."""
    check_outside_repo(out)
    kind = KINDS[kind_name]
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([SEED, kind.size])
    per_study = kind.series_per_study * kind.instances_per_series
    written = total = 0
    for study in range((count + per_study - 1) // per_study):
        study_ds = study_header(study, kind_name)
        for series in range(kind.series_per_study):
            if written >= count:
                break
            template = series_header(study_ds, study, series, kind, kind_name)
            base = phantom(kind.size, rng)
            for number in range(1, kind.instances_per_series + 1):
                if written >= count:
                    break
                sop_uid = uid(kind_name, "instance", study, series, number)
                path = out / f"{kind_name}_{study:03d}_{series:02d}_{number:04d}.dcm"
                total += write_instance(template, sop_uid, number, slice_pixels(base, number), path)
                written += 1
    return written, total


def main(argv: list[str] | None = None) -> int:
    """Command line: generate one data set kind into a folder."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kind", choices=sorted(KINDS), required=True)
    parser.add_argument("--count", type=int, required=True, help="number of instances")
    parser.add_argument("--out", type=Path, help=f"folder [default: {DEFAULT_ROOT}/KIND-COUNT]")
    args = parser.parse_args(argv)
    out = args.out or DEFAULT_ROOT / f"{args.kind}-{args.count}"
    started = time.perf_counter()
    files, size = generate(args.kind, args.count, out)
    elapsed = time.perf_counter() - started
    print(f"{files} {args.kind} instances, {size / 2**20:.1f} MB in {out} ({elapsed:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

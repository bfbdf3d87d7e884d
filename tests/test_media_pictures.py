"""Pictures and movies of exported images: JPEG / PNG / TIFF per frame and MP4 / GIF,
compared with references computed here from pydicom and numpy (PS3.3 C.11.2.1.2 windows,
MONOCHROME1 inverted, palettes applied)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.pixels import apply_color_lut

from conftest import corpus_file, vesalius
from vesalius.archive.archive import Archive
from vesalius.media import ExportRequest, Selection, Tracker, export

CT_SIGNED = "dcmqi/segmentations/ct-3slice/01.dcm"  # MONOCHROME2, signed, rescale -1024, W 40/400
MONO1 = "pydicom-data/RG3_J2KR.dcm"  # MONOCHROME1, JPEG 2000 lossless, W 550/1024
RGB = "pydicom-data/SC_rgb.dcm"
PALETTE = "pydicom/test_files/examples_palette.dcm"
MR_UNSIGNED = "pydicom-data/emri_small.dcm"  # MONOCHROME2, 10 frames, 12 bits, no window
CINE = "pydicom/test_files/examples_ybr_color.dcm"  # 30 frames, JPEG YBR, Frame Time 33.333
SR = "pydicom/test_files/test-SR.dcm"


def stored(archive: Archive, relative: str) -> pydicom.Dataset:
    """Store a corpus file; its data set as pydicom reads it."""
    path = corpus_file(relative)
    archive.store_file(path.read_bytes())
    return pydicom.dcmread(path)


def run(
    archive: Archive, ds: pydicom.Dataset, target: Path, fmt: str, **options: object
) -> Tracker:
    """Export the study of ``ds`` as ``fmt``; the tracker of the export."""
    tracker = Tracker()
    request = ExportRequest(Selection(studies=(ds.StudyInstanceUID,)), fmt, **options)  # type: ignore[arg-type]
    export(archive, request, target, tracker)
    return tracker


def files(folder: Path, suffix: str) -> list[Path]:
    """The files of an export folder with this suffix, in name order."""
    return sorted(path for path in folder.rglob(f"*{suffix}") if path.is_file())


def windowed(values: np.ndarray, center: float, width: float) -> np.ndarray:
    """PS3.3 C.11.2.1.2.1 linear window to 0..255."""
    levels = ((values - (center - 0.5)) / (width - 1) + 0.5) * 255
    return np.rint(np.clip(levels, 0, 255)).astype(np.uint8)


def pixels_of(path: Path) -> np.ndarray:
    """A picture file's samples."""
    return np.asarray(Image.open(path))


def close(actual: np.ndarray, expected: np.ndarray, tolerance: int = 1) -> None:
    """Same shape, and no sample further than ``tolerance`` from the reference."""
    assert actual.shape == expected.shape
    assert int(np.abs(actual.astype(int) - expected.astype(int)).max()) <= tolerance


def test_png_of_monochrome2_uses_rescale_and_the_image_window(
    archive: Archive, tmp_path: Path
) -> None:
    ds = stored(archive, CT_SIGNED)
    run(archive, ds, tmp_path / "out", "png")
    (picture,) = files(tmp_path / "out", ".png")
    expected = windowed(
        ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept), 40, 400
    )
    close(pixels_of(picture), expected)


def test_window_option_replaces_the_image_window(archive: Archive, tmp_path: Path) -> None:
    ds = stored(archive, CT_SIGNED)
    run(archive, ds, tmp_path / "out", "png", window=(300.0, 1500.0))
    (picture,) = files(tmp_path / "out", ".png")
    expected = windowed(ds.pixel_array - 1024.0, 300, 1500)
    close(pixels_of(picture), expected)
    assert not np.array_equal(expected, windowed(ds.pixel_array - 1024.0, 40, 400))


def test_png_of_monochrome1_is_inverted(archive: Archive, tmp_path: Path) -> None:
    ds = stored(archive, MONO1)
    run(archive, ds, tmp_path / "out", "png")
    (picture,) = files(tmp_path / "out", ".png")
    expected = 255 - windowed(ds.pixel_array.astype(float), 550, 1024)
    close(pixels_of(picture), expected)


def test_png_of_rgb_keeps_the_samples(archive: Archive, tmp_path: Path) -> None:
    ds = stored(archive, RGB)
    run(archive, ds, tmp_path / "out", "png")
    (picture,) = files(tmp_path / "out", ".png")
    assert np.array_equal(pixels_of(picture), ds.pixel_array)


def test_png_of_palette_colour_goes_through_the_lut(archive: Archive, tmp_path: Path) -> None:
    ds = stored(archive, PALETTE)
    run(archive, ds, tmp_path / "out", "png")
    (picture,) = files(tmp_path / "out", ".png")
    bits = int(ds.RedPaletteColorLookupTableDescriptor[2])
    rgb = apply_color_lut(ds.pixel_array, ds).astype(float)
    largest = int(rgb.max())
    if bits == 16 and largest <= 255:
        bits = 8
    expected = np.rint(rgb * 255 / (2 ** max(bits, largest.bit_length()) - 1)).astype(np.uint8)
    close(pixels_of(picture), expected)
    assert len(np.unique(expected.reshape(-1, 3), axis=0)) > 10  # really colour, not gray


def test_jpeg_is_close_to_the_reference(archive: Archive, tmp_path: Path) -> None:
    ds = stored(archive, CT_SIGNED)
    run(archive, ds, tmp_path / "out", "jpeg", quality=95)
    (picture,) = files(tmp_path / "out", ".jpg")
    assert picture.read_bytes()[:2] == b"\xff\xd8"
    actual = pixels_of(picture).astype(float)
    expected = windowed(ds.pixel_array - 1024.0, 40, 400).astype(float)
    assert actual.shape == expected.shape
    assert np.abs(actual - expected).mean() < 2.0


def test_tiff_8_bit_equals_the_png(archive: Archive, tmp_path: Path) -> None:
    ds = stored(archive, MONO1)
    run(archive, ds, tmp_path / "tif", "tiff")
    run(archive, ds, tmp_path / "png", "png")
    (tiff,) = files(tmp_path / "tif", ".tif")
    (png,) = files(tmp_path / "png", ".png")
    assert np.array_equal(pixels_of(tiff), pixels_of(png))


def test_tiff_16_bit_keeps_the_stored_values(archive: Archive, tmp_path: Path) -> None:
    mono1 = stored(archive, MONO1)
    signed = stored(archive, CT_SIGNED)
    run(archive, mono1, tmp_path / "mono1", "tiff", bits=16)
    run(archive, signed, tmp_path / "signed", "tiff", bits=16)
    (mono1_tiff,) = files(tmp_path / "mono1", ".tif")
    (signed_tiff,) = files(tmp_path / "signed", ".tif")
    image = Image.open(mono1_tiff)
    assert image.mode == "I;16"
    assert image.tag_v2[262] == 0  # WhiteIsZero: MONOCHROME1
    assert np.array_equal(np.asarray(image), mono1.pixel_array.astype(np.uint16))
    shifted = (signed.pixel_array.astype(np.int32) + 32768).astype(np.uint16)
    assert np.array_equal(np.asarray(Image.open(signed_tiff)), shifted)


def test_every_frame_of_a_multiframe_image_is_a_picture(archive: Archive, tmp_path: Path) -> None:
    ds = stored(archive, MR_UNSIGNED)
    run(archive, ds, tmp_path / "out", "png", window=(500.0, 1000.0))
    pictures = files(tmp_path / "out", ".png")
    assert [path.name for path in pictures] == [f"0001-{n:03d}.png" for n in range(1, 11)]
    for index in (0, 6, 9):
        close(pixels_of(pictures[index]), windowed(ds.pixel_array[index].astype(float), 500, 1000))
    assert pictures[0].parent.parent.parent.name.startswith(str(ds.PatientName))


def test_annotations_burn_text_in_the_corners_only(archive: Archive, tmp_path: Path) -> None:
    ds = stored(archive, CT_SIGNED)
    run(archive, ds, tmp_path / "plain", "png")
    run(archive, ds, tmp_path / "annotated", "png", annotate=True)
    plain = pixels_of(files(tmp_path / "plain", ".png")[0]).astype(int)
    annotated = pixels_of(files(tmp_path / "annotated", ".png")[0]).astype(int)
    changed = plain != annotated
    assert changed[:60, :200].any()  # patient name, top left
    assert changed[-60:, -200:].any()  # window, bottom right
    assert not changed[200:300, 200:300].any()  # the middle is untouched


def test_mp4_has_every_frame_at_the_image_frame_rate(archive: Archive, tmp_path: Path) -> None:
    ds = stored(archive, CINE)
    run(archive, ds, tmp_path / "out", "mp4")
    (movie,) = files(tmp_path / "out", ".mp4")
    reader = imageio_ffmpeg.read_frames(str(movie))
    meta = next(reader)
    frames = [np.frombuffer(frame, np.uint8) for frame in reader]
    assert len(frames) == int(ds.NumberOfFrames) == 30
    assert meta["fps"] == pytest.approx(1000 / float(ds.FrameTime), rel=0.01)
    assert tuple(meta["size"]) == (ds.Columns, ds.Rows)
    first = frames[0].reshape(ds.Rows, ds.Columns, 3).astype(float)
    reference = ds.pixel_array[0]  # pydicom hands JPEG YBR out as RGB
    assert np.abs(first - reference).mean() < 8  # H.264 is lossy


def test_mp4_fps_option_sets_the_duration(archive: Archive, tmp_path: Path) -> None:
    ds = stored(archive, MR_UNSIGNED)
    run(archive, ds, tmp_path / "out", "mp4", fps=4.0)
    (movie,) = files(tmp_path / "out", ".mp4")
    count, seconds = imageio_ffmpeg.count_frames_and_secs(str(movie))
    assert count == 10
    assert seconds == pytest.approx(2.5, abs=0.05)


def test_series_of_single_frames_makes_one_movie(archive: Archive, tmp_path: Path) -> None:
    first = stored(archive, "dcm4che/MR-series/MR01.dcm")
    for number in range(2, 6):
        stored(archive, f"dcm4che/MR-series/MR{number:02d}.dcm")
    run(archive, first, tmp_path / "out", "gif", fps=5.0)
    (movie,) = files(tmp_path / "out", ".gif")
    assert movie.name == "series.gif"
    image = Image.open(movie)
    assert image.n_frames == 5
    assert image.info["duration"] == 200
    assert image.size == (first.Columns, first.Rows)


def test_objects_without_pixels_are_skipped_and_said(archive: Archive, tmp_path: Path) -> None:
    ds = stored(archive, SR)
    tracker = run(archive, ds, tmp_path / "out", "png")
    assert (tracker.done, tracker.skipped, tracker.failed) == (1, 1, 0)
    assert "no pixel data" in tracker.skips[0]
    assert files(tmp_path / "out", ".png") == []


def test_cli_exports_pictures_and_refuses_a_used_folder(tmp_path: Path) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    assert vesalius("import", *data, str(corpus_file(RGB))).returncode == 0
    study = pydicom.dcmread(corpus_file(RGB)).StudyInstanceUID
    out = tmp_path / "pictures"
    done = vesalius("export", *data, "--study", study, "--format", "png", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "exported 1 of 1 instance(s)" in done.stdout
    assert len(files(out, ".png")) == 1
    again = vesalius("export", *data, "--study", study, "--format", "png", "--out", str(out))
    assert again.returncode == 1
    assert "not empty" in again.stderr
    zipped = tmp_path / "tree.zip"
    tree = vesalius("export", *data, "--study", study, "--format", "zip", "--layout", "tree",
                    "--out", str(zipped))  # fmt: skip
    assert tree.returncode == 0, tree.stderr
    with zipfile.ZipFile(zipped) as archive:
        (name,) = archive.namelist()
        assert name.endswith("/0001.dcm")
        member = pydicom.dcmread(io.BytesIO(archive.read(name)))
    original = pydicom.dcmread(corpus_file(RGB))
    assert member.SOPInstanceUID == original.SOPInstanceUID
    assert member.PixelData == original.PixelData

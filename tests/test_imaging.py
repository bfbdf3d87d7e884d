"""vesalius.imaging against real corpus images and the formulas of the standard.

References are computed here, straight from pydicom's decoders and processing
functions or from the formulas of PS3.3 C.11, never through vesalius.imaging.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.pixels import (
    apply_color_lut,
    apply_modality_lut,
    apply_voi,
    convert_color_space,
    get_decoder,
    pack_bits,
    pixel_array,
    unpack_bits,
)

from conftest import corpus_file
from vesalius.imaging import (
    RenderError,
    Window,
    decode_frame,
    encapsulated_frame,
    encode_image,
    frame_count,
    native_frame,
    parse_viewport,
    parse_window,
    render,
    render_frame,
    thumbnail,
)

CT = "dcmqi/segmentations/ct-3slice/01.dcm"  # MONOCHROME2, signed, rescale -1024, W 40/400
CT_NO_WINDOW = "pydicom/test_files/CT_small.dcm"  # rescale, no window
CR_MONO1_LUT = "fo-dicom/CR-ModalitySequenceLUT.dcm"  # MONOCHROME1, Modality LUT Sequence
CR_MONO1_J2K = "pydicom-data/RG3_J2KR.dcm"  # MONOCHROME1, JPEG 2000 lossless, W 550/1024
RGB = "pydicom-data/SC_rgb.dcm"
RGB_16 = "pydicom-data/SC_rgb_16bit.dcm"
PALETTE = "pydicom/test_files/examples_palette.dcm"
YBR_JPEG = "pydicom/test_files/SC_rgb_dcmtk_+eb+cy+np.dcm"  # YBR_FULL_422, JPEG baseline
YBR_JPEG_BY_DCMTK = "pydicom-data/SC_rgb_dcmtk_ebcynp_dcmd.dcm"  # the same, decoded by DCMTK
CINE_JPEG = "pydicom/test_files/examples_ybr_color.dcm"  # 30 frames, JPEG baseline YBR
EMRI = "pydicom-data/emri_small.dcm"  # Enhanced MR, 10 frames, native
FG_RLE = "dicomParser/encapsulated/multi-frame/CT0012.not_fragmented_no_bot_rle.dcm"
VOI_LUT = "pydicom-data/vlut_04.dcm"
TALL = "pydicom-data/JPEG2000_UNC.dcm"  # 1024 rows x 256 columns
SEG_ODD = "highdicom/seg_image_sm_control.dcm"  # 1-bit, 10 x 10: frames not byte-aligned
SR = "pydicom/test_files/test-SR.dcm"
JPEG_XL = "dcm4che/test-data/will-jxl.dcm"


def read(relative: str) -> Dataset:
    """A corpus file, read without pydicom's warnings about odd values."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(corpus_file(relative))


def linear(x: np.ndarray, center: float, width: float) -> np.ndarray:
    """PS3.3 C.11.2.1.2.1 with y_min 0 and y_max 255, written branch by branch."""
    x = np.asarray(x, dtype=np.float64)
    y = np.empty_like(x)
    below = x <= center - 0.5 - (width - 1) / 2
    above = x > center - 0.5 + (width - 1) / 2
    between = ~below & ~above
    y[below] = 0
    y[above] = 255
    y[between] = ((x[between] - (center - 0.5)) / (width - 1) + 0.5) * 255
    return y


def linear_exact(x: np.ndarray, center: float, width: float) -> np.ndarray:
    """PS3.3 C.11.2.1.3.2."""
    x = np.asarray(x, dtype=np.float64)
    y = ((x - center) / width + 0.5) * 255
    y[x <= center - width / 2] = 0
    y[x > center + width / 2] = 255
    return y


def sigmoid(x: np.ndarray, center: float, width: float) -> np.ndarray:
    """PS3.3 C.11.2.1.3.1."""
    return 255 / (1 + np.exp(-4 * (np.asarray(x, dtype=np.float64) - center) / width))


def stretch(x: np.ndarray) -> np.ndarray:
    """The frame's own range onto 0..255."""
    x = np.asarray(x, dtype=np.float64)
    return (x - x.min()) / (x.max() - x.min()) * 255


def assert_close(image: np.ndarray, reference: np.ndarray, tolerance: float = 1) -> None:
    """Same shape, uint8, every pixel within ``tolerance`` grey levels of the reference."""
    assert image.dtype == np.uint8
    assert image.shape == reference.shape
    difference = np.abs(image.astype(np.float64) - reference)
    assert difference.max() <= tolerance, f"max difference {difference.max()}"


# --- grayscale: Modality LUT, VOI, MONOCHROME1 -----------------------------------------


def test_ct_goes_through_rescale_and_its_own_window() -> None:
    ds = read(CT)
    assert (ds.RescaleIntercept, ds.WindowCenter, ds.WindowWidth) == (-1024, 40, 400)
    hounsfield = apply_modality_lut(pixel_array(ds), ds)
    image = render_frame(ds)
    assert_close(image, linear(hounsfield, 40, 400))
    assert 0 < image.mean() < 255


def test_without_a_window_the_frame_range_fills_the_grey_scale() -> None:
    ds = read(CT_NO_WINDOW)
    assert "WindowCenter" not in ds
    image = render_frame(ds)
    assert_close(image, stretch(apply_modality_lut(pixel_array(ds), ds)))
    assert (image.min(), image.max()) == (0, 255)


@pytest.mark.parametrize(
    ("function", "formula"),
    [("linear", linear), ("linear_exact", linear_exact), ("sigmoid", sigmoid)],
)
def test_an_explicit_window_replaces_the_image_window(function, formula) -> None:
    ds = read(CT)
    hounsfield = apply_modality_lut(pixel_array(ds), ds)
    image = render_frame(ds, window=Window(-600, 1500, function))
    assert_close(image, formula(hounsfield, -600, 1500))
    assert np.abs(image.astype(int) - render_frame(ds).astype(int)).max() > 50


def test_monochrome1_with_a_modality_lut_sequence_is_inverted() -> None:
    ds = read(CR_MONO1_LUT)
    assert ds.PhotometricInterpretation == "MONOCHROME1"
    assert "ModalityLUTSequence" in ds and "WindowCenter" not in ds
    values = apply_modality_lut(pixel_array(ds), ds)
    assert_close(render_frame(ds), 255 - stretch(values))


def test_monochrome1_jpeg2000_with_window_is_inverted() -> None:
    ds = read(CR_MONO1_J2K)
    assert ds.PhotometricInterpretation == "MONOCHROME1"
    image = render_frame(ds)
    assert_close(image, 255 - linear(pixel_array(ds), 550, 1024))


def test_voi_lut_sequence_is_used_when_there_is_no_window() -> None:
    ds = read(VOI_LUT)
    item = ds.VOILUTSequence[0]
    assert "WindowCenter" not in ds and list(item.LUTDescriptor) == [256, 0, 16]
    assert_close(render_frame(ds), apply_voi(pixel_array(ds), ds) / 257)
    item.LUTData = [round(65535 * (value / 255) ** 2) for value in range(256)]  # a gamma curve
    image = render_frame(ds)
    assert_close(image, apply_voi(pixel_array(ds), ds) / 257)
    assert np.abs(image.astype(int) - np.rint(stretch(pixel_array(ds)))).max() > 50
    ds.WindowCenter, ds.WindowWidth = 100, 50  # a window comes before the VOI LUT
    assert_close(render_frame(ds), linear(pixel_array(ds), 100, 50))


def test_a_window_of_width_zero_in_the_file_falls_back_to_the_frame_range() -> None:
    ds = read(CT)
    ds.WindowWidth = 0
    assert_close(render_frame(ds), stretch(apply_modality_lut(pixel_array(ds), ds)))


# --- functional groups -----------------------------------------------------------------


def test_multiframe_takes_rescale_and_window_from_the_shared_functional_group() -> None:
    ds = read(FG_RLE)
    assert "RescaleIntercept" not in ds and "WindowCenter" not in ds
    shared = ds.SharedFunctionalGroupsSequence[0]
    intercept = float(shared.PixelValueTransformationSequence[0].RescaleIntercept)
    voi = shared.FrameVOILUTSequence[0]
    center, width = float(voi.WindowCenter), float(voi.WindowWidth)
    stored = pixel_array(ds, index=1)
    assert_close(render_frame(ds, 1), linear(stored + intercept, center, width))


def test_a_per_frame_window_wins_over_the_shared_one() -> None:
    ds = read(FG_RLE)
    frame_items = []
    for center in (49.0, 400.0):
        voi = Dataset()
        voi.WindowCenter, voi.WindowWidth = center, 2000.0
        item = Dataset()
        item.FrameVOILUTSequence = [voi]
        frame_items.append(item)
    ds.PerFrameFunctionalGroupsSequence = frame_items
    hounsfield = [pixel_array(ds, index=index) - 1024.0 for index in (0, 1)]
    assert_close(render_frame(ds, 1), linear(hounsfield[1], 400, 2000))
    assert_close(render_frame(ds, 0), linear(hounsfield[0], 49, 2000))


# --- colour ----------------------------------------------------------------------------


def test_rgb_is_shown_as_stored() -> None:
    ds = read(RGB)
    image = render_frame(ds)
    assert image.shape == (100, 100, 3)
    assert np.array_equal(image, pixel_array(ds))


def test_16_bit_rgb_is_scaled_to_8_bits() -> None:
    image = render_frame(read(RGB_16))
    assert_close(image, pixel_array(read(RGB)).astype(np.float64))


def test_colour_is_windowed_only_when_asked() -> None:
    ds = read(RGB)
    image = render_frame(ds, window=Window(128, 64))
    assert_close(image, linear(pixel_array(ds), 128, 64))
    assert not np.array_equal(image, render_frame(ds))


def test_palette_color_goes_through_its_palette() -> None:
    ds = read(PALETTE)
    rgb16 = apply_color_lut(pixel_array(ds), ds)
    assert rgb16.dtype == np.uint16
    image = render_frame(ds)
    assert_close(image, rgb16.astype(np.float64) / 257)
    assert image.shape == (ds.Rows, ds.Columns, 3)


def test_a_big_endian_palette_renders_like_its_little_endian_twin() -> None:
    little = render_frame(read("pydicom-data/OBXXXX1A.dcm"))
    big = render_frame(read("pydicom-data/OBXXXX1A_expb.dcm"))
    assert little.max() > 200
    assert np.array_equal(little, big)


def test_ybr_jpeg_baseline_is_converted_to_rgb() -> None:
    ds = read(YBR_JPEG)
    assert ds.PhotometricInterpretation == "YBR_FULL_422"
    raw = pixel_array(ds, raw=True)
    assert_close(render_frame(ds), convert_color_space(raw, "YBR_FULL", "RGB"), tolerance=0)
    by_dcmtk = pixel_array(read(YBR_JPEG_BY_DCMTK)).astype(np.float64)
    difference = np.abs(decode_frame(ds, 0).astype(np.float64) - by_dcmtk)
    assert difference.max() <= 2 and difference.mean() < 0.5


def test_jpeg2000_ybr_ict_decodes_to_the_rgb_of_the_uncompressed_copy() -> None:
    ds = read("pydicom-data/US1_J2KI.dcm")
    assert ds.PhotometricInterpretation == "YBR_ICT"
    assert np.array_equal(decode_frame(ds, 0), pixel_array(read("pydicom-data/US1_UNCI.dcm")))


def test_planar_configuration_does_not_change_the_samples() -> None:
    planar = read("pydicom-data/color-pl.dcm")
    assert planar.PlanarConfiguration == 1
    assert np.array_equal(
        decode_frame(planar, 0), decode_frame(read("pydicom-data/color-px.dcm"), 0)
    )


# --- compressed and multi-frame decoding -----------------------------------------------


@pytest.mark.parametrize(
    "compressed",
    [
        "pydicom-data/emri_small_RLE.dcm",
        "pydicom-data/emri_small_jpeg_2k_lossless.dcm",
        "pydicom-data/emri_small_jpeg_ls_lossless.dcm",
    ],
)
def test_lossless_frames_decode_to_the_native_values(compressed: str) -> None:
    ds, native = read(compressed), read(EMRI)
    assert frame_count(ds) == 10
    for index in (0, 7):
        assert np.array_equal(decode_frame(ds, index), pixel_array(native, index=index))
    assert np.array_equal(render_frame(ds, 7), render_frame(native, 7))


def test_one_frame_of_a_jpeg_cine_is_the_same_frame_of_the_whole_decode() -> None:
    ds = read(CINE_JPEG)
    assert frame_count(ds) == 30
    whole = pixel_array(read(CINE_JPEG))
    frame = decode_frame(ds, 17)
    assert frame.shape == (240, 320, 3)
    assert np.array_equal(frame, whole[17])
    assert not np.array_equal(frame, whole[0])


def test_jpeg2000_renders_like_the_uncompressed_original() -> None:
    compressed = read("pydicom-data/693_J2KR.dcm")
    assert compressed.file_meta.TransferSyntaxUID.is_compressed
    assert np.array_equal(render_frame(compressed), render_frame(read("pydicom-data/693_UNCR.dcm")))


def test_deflated_image_frames_decode_like_their_jpeg2000_twin() -> None:
    deflated = read("pydicom-data/liver_nonbyte_aligned_deflate.dcm")
    j2k = read("pydicom-data/liver_nonbyte_aligned_j2k.dcm")
    for index in range(3):
        frame = decode_frame(deflated, index)
        assert frame.shape == (510, 510)
        assert frame.any()
        assert np.array_equal(frame, decode_frame(j2k, index))
        assert native_frame(deflated, index) == native_frame(j2k, index)


# --- frames as bytes -------------------------------------------------------------------


def test_native_frame_is_the_slice_of_pixel_data() -> None:
    ds = read(EMRI)
    length = ds.Rows * ds.Columns * ds.BitsAllocated // 8
    assert native_frame(ds, 4) == ds.PixelData[4 * length : 5 * length]
    assert native_frame(ds, 4) != native_frame(ds, 5)


def test_native_frame_of_compressed_data_is_the_native_slice() -> None:
    expected = native_frame(read(EMRI), 6)
    assert native_frame(read("pydicom-data/emri_small_RLE.dcm"), 6) == expected
    assert native_frame(read("pydicom-data/emri_small_jpeg_2k_lossless.dcm"), 6) == expected


@pytest.mark.parametrize(
    ("big_endian", "little_endian"),
    [
        ("pydicom-data/emri_small_big_endian.dcm", EMRI),  # 16 bits
        ("pydicom-data/OBXXXX1A_expb_2frame.dcm", "pydicom-data/OBXXXX1A_2frame.dcm"),  # 8 in OW
        ("pydicom/test_files/rtdose_expb_1frame.dcm", "pydicom/test_files/rtdose_1frame.dcm"),
        ("pydicom/test_files/liver_expb_1frame.dcm", "pydicom/test_files/liver_1frame.dcm"),
    ],
)
def test_native_frame_of_big_endian_data_is_little_endian(
    big_endian: str, little_endian: str
) -> None:
    big, little = read(big_endian), read(little_endian)
    index = frame_count(big) - 1
    assert native_frame(big, index) == native_frame(little, index)


def test_native_frame_of_one_bit_frames_off_byte_boundaries() -> None:
    ds = read(SEG_ODD)
    bits_per_frame = ds.Rows * ds.Columns
    assert ds.BitsAllocated == 1 and bits_per_frame % 8 != 0
    every_bit = unpack_bits(ds.PixelData)
    for index in (1, 2, 19):
        frame_bits = every_bit[index * bits_per_frame : (index + 1) * bits_per_frame]
        returned = native_frame(ds, index)
        assert returned == pack_bits(frame_bits, pad=False)
        assert len(returned) == (bits_per_frame + 7) // 8
        unpacked = unpack_bits(returned)[:bits_per_frame]
        assert np.array_equal(unpacked.reshape(ds.Rows, ds.Columns), decode_frame(ds, index))


def test_native_frame_of_ybr_jpeg_keeps_ybr_samples() -> None:
    ds = read(YBR_JPEG)
    returned = native_frame(ds, 0)
    assert returned == pixel_array(ds, raw=True).tobytes()
    assert returned != decode_frame(ds, 0).tobytes()


@pytest.mark.parametrize(
    ("relative", "index"),
    [
        ("pydicom-data/emri_small_jpeg_2k_lossless.dcm", 6),
        ("pydicom-data/emri_small_jpeg_ls_lossless.dcm", 9),
        ("dicomParser/encapsulated/multi-frame/CT0012.fragmented_no_bot_jpeg_lossless.70.dcm", 1),
        (CINE_JPEG, 29),
    ],
)
def test_encapsulated_frame_decodes_to_the_decoded_frame(relative: str, index: int) -> None:
    ds = read(relative)
    bitstream = encapsulated_frame(ds, index)
    assert bitstream[:2] in (b"\xff\xd8", b"\xff\x4f")  # JPEG SOI, JPEG 2000 SOC
    decoded, _ = get_decoder(ds.file_meta.TransferSyntaxUID).as_array(
        encapsulate([bitstream]),
        rows=ds.Rows,
        columns=ds.Columns,
        samples_per_pixel=ds.SamplesPerPixel,
        bits_allocated=ds.BitsAllocated,
        bits_stored=ds.BitsStored,
        pixel_representation=ds.PixelRepresentation,
        photometric_interpretation=ds.PhotometricInterpretation,
        planar_configuration=ds.get("PlanarConfiguration", 0),
        number_of_frames=1,
    )
    assert np.array_equal(decoded, decode_frame(ds, index))


# --- encoding, viewport, thumbnail -----------------------------------------------------


@pytest.mark.parametrize("relative", [CT, RGB])
def test_png_is_lossless(relative: str) -> None:
    image = render_frame(read(relative))
    decoded = Image.open(io.BytesIO(encode_image(image, "image/png")))
    assert decoded.format == "PNG"
    assert decoded.mode == ("L" if image.ndim == 2 else "RGB")
    assert np.array_equal(np.asarray(decoded), image)


@pytest.mark.parametrize("relative", [CT, RGB])
def test_jpeg_has_the_size_and_mode_and_follows_quality(relative: str) -> None:
    image = render_frame(read(relative))
    encoded = encode_image(image, "image/jpeg", quality=95)
    decoded = Image.open(io.BytesIO(encoded))
    assert decoded.format == "JPEG"
    assert decoded.size == (image.shape[1], image.shape[0])
    assert decoded.mode == ("L" if image.ndim == 2 else "RGB")
    assert np.abs(np.asarray(decoded).astype(int) - image).mean() < 3
    assert len(encode_image(image, "image/jpeg", quality=10)) < len(encoded)


def test_render_is_render_frame_then_encode_image() -> None:
    ds = read(CT)
    window = Window(40, 80)
    assert render(ds, window=window, viewport=(64, 64)) == encode_image(
        render_frame(ds, window=window, viewport=(64, 64)), "image/png"
    )


def test_viewport_scales_down_keeping_the_aspect_ratio() -> None:
    ds = read(TALL)
    assert (ds.Rows, ds.Columns) == (1024, 256)
    assert render_frame(ds, viewport=(128, 128)).shape == (128, 32)
    assert render_frame(ds, viewport=(512, 256)).shape == (256, 64)
    assert render_frame(read(RGB), viewport=(50, 80)).shape == (50, 50, 3)


def test_viewport_never_scales_up() -> None:
    ds = read(TALL)
    assert np.array_equal(render_frame(ds, viewport=(4096, 4096)), render_frame(ds))


def test_a_scaled_image_is_filtered_not_decimated() -> None:
    ds = read(CT)
    full = render_frame(ds).astype(np.float64)
    small = render_frame(ds, viewport=(128, 128)).astype(np.float64)
    block_means = full.reshape(128, 4, 128, 4).mean(axis=(1, 3))
    assert np.abs(small - block_means).mean() < np.abs(full[::4, ::4] - block_means).mean()


def test_thumbnail_shows_the_middle_frame_fitted() -> None:
    ds = read(EMRI)
    png = thumbnail(ds, size=32, media_type="image/png")
    image = np.asarray(Image.open(io.BytesIO(png)))
    assert image.shape == (32, 32)
    assert np.array_equal(image, render_frame(ds, 5, viewport=(32, 32)))
    assert not np.array_equal(image, render_frame(ds, 0, viewport=(32, 32)))
    assert Image.open(io.BytesIO(thumbnail(ds))).format == "JPEG"


# --- errors ----------------------------------------------------------------------------


def one_line_error(excinfo: pytest.ExceptionInfo[RenderError]) -> str:
    message = str(excinfo.value)
    assert message and "\n" not in message
    return message


@pytest.mark.parametrize("index", [-1, 10, 1000])
def test_a_frame_out_of_range_is_refused(index: int) -> None:
    ds = read(EMRI)
    for call in (decode_frame, render_frame, native_frame):
        with pytest.raises(RenderError) as excinfo:
            call(ds, index)
        assert "out of range" in one_line_error(excinfo) and "10 frames" in str(excinfo.value)


def test_a_dataset_without_pixel_data_is_refused() -> None:
    ds = read(SR)
    assert frame_count(ds) == 0
    with pytest.raises(RenderError) as excinfo:
        render(ds)
    assert "no pixel data" in one_line_error(excinfo)


def test_an_unknown_media_type_is_refused_before_decoding() -> None:
    with pytest.raises(RenderError) as excinfo:
        render(read(JPEG_XL), media_type="image/gif")
    assert "image/gif" in one_line_error(excinfo)
    with pytest.raises(RenderError):
        encode_image(np.zeros((4, 4), np.uint8), "image/webp")


def test_a_syntax_without_a_decoder_is_a_clear_error() -> None:
    ds = read(JPEG_XL)
    with pytest.raises(RenderError) as excinfo:
        decode_frame(ds, 0)
    assert str(ds.file_meta.TransferSyntaxUID) in one_line_error(excinfo)
    assert len(encapsulated_frame(ds, 26)) > 0  # the stored bitstream can still be sent


def test_encapsulated_frame_of_native_data_is_refused() -> None:
    with pytest.raises(RenderError) as excinfo:
        encapsulated_frame(read(EMRI), 0)
    assert "not compressed" in one_line_error(excinfo)


@pytest.mark.parametrize(
    ("center", "width", "function"),
    [
        (40, 0.5, "linear"),
        (40, 0, "sigmoid"),
        (40, -1, "linear_exact"),
        (float("nan"), 1, "linear"),
    ],
)
def test_bad_windows_are_refused(center: float, width: float, function: str) -> None:
    with pytest.raises(RenderError):
        Window(center, width, function)


def test_bad_sizes_and_qualities_are_refused() -> None:
    ds = read(CT)
    image = np.zeros((4, 4), np.uint8)
    with pytest.raises(RenderError):
        render_frame(ds, viewport=(0, 10))
    with pytest.raises(RenderError):
        thumbnail(ds, size=0)
    with pytest.raises(RenderError):
        encode_image(image, "image/jpeg", quality=0)
    with pytest.raises(RenderError):
        encode_image(image.astype(np.uint16), "image/png")


# --- DICOMweb parameters ---------------------------------------------------------------


def test_parse_window() -> None:
    assert parse_window("40,400") == Window(40.0, 400.0, "linear")
    assert parse_window(" -600 , 1500 , linear-exact ") == Window(-600.0, 1500.0, "linear_exact")
    assert parse_window("0.5,1,SIGMOID") == Window(0.5, 1.0, "sigmoid")


@pytest.mark.parametrize("text", ["", "40", "40,400,cubic", "a,400", "40,400,linear,1", "40,0"])
def test_parse_window_refuses_bad_text(text: str) -> None:
    with pytest.raises(RenderError):
        parse_window(text)


def test_parse_viewport() -> None:
    assert parse_viewport("512,256") == (512, 256)
    assert parse_viewport("128,128,0,0,512,512") == (128, 128)
    assert parse_viewport("128,128,,,,") == (128, 128)


@pytest.mark.parametrize(
    "text", ["", "512", "0,10", "-5,10", "1.5,2", "a,b", "1,2,3", "1,2,x,0,1,1"]
)
def test_parse_viewport_refuses_bad_text(text: str) -> None:
    with pytest.raises(RenderError):
        parse_viewport(text)

"""DICOM Print: our SCU and our SCP, each against the other and against DCMTK, on loopback.

The foreign SCU is DCMTK's: ``dcmpsprt`` renders a print job (Stored Print and
Hardcopy Grayscale objects) and ``dcmprscu`` sends it to our printer. The
foreign SCP is ``dcmprscp``. Bad requests are made with plain pynetdicom (not
the project's code), so that each status is the one the standard asks for.
"""

from __future__ import annotations

import io
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image
from pydicom.dataset import Dataset
from pynetdicom import AE, evt
from pypdf import PdfReader

from conftest import (
    VESALIUS,
    corpus_file,
    dcmtk_server,
    free_port,
    make_settings,
    read,
    require_tool,
    run_dcmtk,
    vesalius,
    wait_for,
)
from vesalius import imaging, sopclasses
from vesalius.app import Node
from vesalius.dimse.printing_scu import PrintOptions, print_images
from vesalius.dimse.scu import Target
from vesalius.printing import formats
from vesalius.printing.compose import PREVIEW_DPI
from vesalius.printing.jobs import PrintJobs

MR = [f"dcm4che/MR-series/MR{n:02d}.dcm" for n in range(1, 6)]
US_RGB = "pydicom-data/US1_UNCI.dcm"
META = sopclasses.BASIC_GRAYSCALE_PRINT_META
POINTS_PER_INCH = 72


@pytest.fixture
def printer(tmp_path: Path) -> Iterator[Node]:
    """Our archive with its printer, DICOM on a free loopback port."""
    with Node(make_settings(tmp_path / "data")) as node:
        yield node


def jobs_of(node: Node) -> PrintJobs:
    return PrintJobs(node.settings.data_dir / "print")


def finished_jobs(node: Node, count: int) -> list[Any]:
    """The node's print jobs once ``count`` of them are DONE or FAILURE, oldest first."""
    jobs = jobs_of(node)
    wait_for(lambda: sum(job.finished for job in jobs.list(limit=100, offset=0)[0]) >= count)
    return list(reversed(jobs.list(limit=100, offset=0)[0]))


def pdf_pages(path: Path) -> list[tuple[float, float, int]]:
    """(width, height) in points and the number of images of each page."""
    reader = PdfReader(path)
    return [
        (float(page.mediabox.width), float(page.mediabox.height), len(page.images))
        for page in reader.pages
    ]


def tiles(node: Node, job: Any, number: int) -> list[np.ndarray]:
    """The image boxes of one film's PNG preview, cut out by the film's geometry."""
    film = job.films[number - 1]
    layout = formats.geometry(
        film["ImageDisplayFormat"], film["FilmSizeID"], film["FilmOrientation"]
    )
    png = jobs_of(node).file(job, film["png"])
    assert png is not None
    sheet = np.asarray(Image.open(png))
    scale = PREVIEW_DPI / formats.MM_PER_INCH
    return [
        sheet[
            round(box.y * scale) + 2 : round((box.y + box.height) * scale) - 2,
            round(box.x * scale) + 2 : round((box.x + box.width) * scale) - 2,
        ]
        for box in layout.boxes
    ]


def rendered(names: list[str]) -> list[np.ndarray]:
    return [imaging.render_frame(read(corpus_file(name)), 0) for name in names]


def test_our_scu_prints_a_2x2_grayscale_film_on_our_scp(printer: Node) -> None:
    result = vesalius(
        "print", "127.0.0.1", str(printer.dicom_port), "--aec", "VESALIUS", "--layout", "2,2",
        "--annotation", "Left knee, 2x2", *(str(corpus_file(name)) for name in MR[:4]),
        "--data-dir", str(printer.settings.data_dir.parent / "scu"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert re.search(r"film 1: 4 image\(s\), status 0000, job [\d.]+: DONE", result.stdout)
    [job] = finished_jobs(printer, 1)
    assert job.state == "DONE"
    assert job.films[0]["ImageDisplayFormat"] == "STANDARD\\2,2"
    pdf = jobs_of(printer).file(job, "job.pdf")
    assert pdf is not None
    [(width, height, images)] = pdf_pages(pdf)
    assert (width, height) == pytest.approx((14 * POINTS_PER_INCH, 17 * POINTS_PER_INCH), abs=0.5)
    assert images == 4
    assert "Left knee, 2x2" in PdfReader(pdf).pages[0].extract_text()
    for tile in tiles(printer, job, 1):
        assert tile.std() > 10  # an MR image, not an even patch of border or empty density


def test_our_scu_prints_a_1x1_colour_film_on_our_scp(printer: Node) -> None:
    target = Target("127.0.0.1", printer.dicom_port, "VESALIUS", "COLOURSCU")
    options = PrintOptions(color=True, film_size="8INX10IN", orientation="LANDSCAPE")
    outcome = print_images(target, rendered([US_RGB]), options)
    assert [(film.images, film.status, film.execution) for film in outcome.films] == [
        (1, 0x0000, "DONE")
    ]
    [job] = finished_jobs(printer, 1)
    assert job.color and job.originator == "COLOURSCU"
    [(width, height, images)] = pdf_pages(jobs_of(printer).file(job, "job.pdf"))
    assert (width, height) == pytest.approx((10 * POINTS_PER_INCH, 8 * POINTS_PER_INCH), abs=0.5)
    assert images == 1
    [tile] = tiles(printer, job, 1)
    assert tile.ndim == 3 and tile.std() > 10
    spread = tile.max(axis=2).astype(int) - tile.min(axis=2).astype(int)
    assert (spread > 30).mean() > 0.01  # colour survived: the ultrasound's coloured overlay


def test_print_job_reports_come_in_order_and_n_get_agrees(printer: Node) -> None:
    """A plain pynetdicom SCU that negotiates the Print Job SOP Class hears every state."""
    states: list[int] = []
    created: dict[int, str] = {}

    def on_report(event: Any) -> tuple[int, None]:
        states.append(int(event.event_type))
        return 0, None

    def on_received(event: Any) -> None:
        command = event.message.command_set
        if "AffectedSOPInstanceUID" in command and "MessageIDBeingRespondedTo" in command:
            created[int(command.MessageIDBeingRespondedTo)] = str(command.AffectedSOPInstanceUID)

    ae = AE("REPORTS")
    ae.add_requested_context(META)
    ae.add_requested_context(sopclasses.PRINT_JOB)
    assoc = ae.associate(
        "127.0.0.1", printer.dicom_port, ae_title="VESALIUS",
        evt_handlers=[(evt.EVT_N_EVENT_REPORT, on_report), (evt.EVT_DIMSE_RECV, on_received)],
    )  # fmt: skip
    assert assoc.is_established
    try:
        session = film_session(assoc, created)
        _, box, boxes = film_box(assoc, created, session, "STANDARD\\1,1")
        status, _ = assoc.send_n_set(image_box(8, 8), *boxes[0], msg_id=10, meta_uid=META)
        assert status.Status == 0x0000
        status, reply = assoc.send_n_action(
            None, 1, sopclasses.BASIC_FILM_BOX, box, msg_id=11, meta_uid=META
        )
        assert status.Status == 0x0000
        job_uid = reply.ReferencedPrintJobSequence[0].ReferencedSOPInstanceUID
        wait_for(lambda: states[-1:] in ([3], [4]))
        assert states == [1, 2, 3]  # PENDING, PRINTING, DONE
        status, job = assoc.send_n_get([], sopclasses.PRINT_JOB, job_uid, msg_id=12)
        assert status.Status == 0x0000
        assert job.ExecutionStatus == "DONE" and job.Originator == "REPORTS"
    finally:
        assoc.release()


def film_session(assoc: Any, created: dict[int, str]) -> str:
    attributes = Dataset()
    attributes.NumberOfCopies = "1"
    status, _ = assoc.send_n_create(
        attributes, sopclasses.BASIC_FILM_SESSION, None, msg_id=1, meta_uid=META
    )
    assert status.Status == 0x0000
    return created[1]


def film_box(
    assoc: Any,
    created: dict[int, str],
    session: str,
    display_format: str,
    message_id: int = 2,
    **extra: Any,
) -> tuple[int, str, list[tuple[str, str]]]:
    """N-CREATE a film box: (status, its UID, its image boxes as (class, instance))."""
    attributes = Dataset()
    attributes.ImageDisplayFormat = display_format
    for keyword, value in extra.items():
        setattr(attributes, keyword, value)
    reference = Dataset()
    reference.ReferencedSOPClassUID = sopclasses.BASIC_FILM_SESSION
    reference.ReferencedSOPInstanceUID = session
    attributes.ReferencedFilmSessionSequence = [reference]
    status, reply = assoc.send_n_create(
        attributes, sopclasses.BASIC_FILM_BOX, None, msg_id=message_id, meta_uid=META
    )
    assert status.Status in (0x0000, 0xB605), hex(status.Status)
    boxes = [
        (str(item.ReferencedSOPClassUID), str(item.ReferencedSOPInstanceUID))
        for item in reply.ReferencedImageBoxSequence
    ]
    return int(status.Status), created[message_id], boxes


def image_box(bits_allocated: int, bits_stored: int, position: int = 1) -> Dataset:
    image = Dataset()
    image.SamplesPerPixel = 1
    image.PhotometricInterpretation = "MONOCHROME2"
    image.Rows = image.Columns = 32
    image.BitsAllocated = bits_allocated
    image.BitsStored = bits_stored
    image.HighBit = bits_stored - 1
    image.PixelRepresentation = 0
    dtype = np.uint8 if bits_allocated == 8 else np.uint16
    image.PixelData = (np.arange(32 * 32) % (1 << min(bits_stored, 8))).astype(dtype).tobytes()
    modification = Dataset()
    modification.ImageBoxPosition = position
    modification.BasicGrayscaleImageSequence = [image]
    return modification


def test_bad_requests_are_refused_with_their_status_and_the_printer_lives_on(
    printer: Node,
) -> None:
    created: dict[int, str] = {}

    def on_received(event: Any) -> None:
        command = event.message.command_set
        if "AffectedSOPInstanceUID" in command and "MessageIDBeingRespondedTo" in command:
            created[int(command.MessageIDBeingRespondedTo)] = str(command.AffectedSOPInstanceUID)

    ae = AE("BADSCU")
    ae.add_requested_context(META)
    ae.add_requested_context(sopclasses.VERIFICATION)
    assoc = ae.associate(
        "127.0.0.1", printer.dicom_port, ae_title="VESALIUS",
        evt_handlers=[(evt.EVT_DIMSE_RECV, on_received)],
    )  # fmt: skip
    assert assoc.is_established
    try:
        session = film_session(assoc, created)
        reference = Dataset()
        reference.ReferencedSOPClassUID = sopclasses.BASIC_FILM_SESSION
        reference.ReferencedSOPInstanceUID = session
        for display_format, expected in [
            ("SLIDE", 0x0106),
            ("STANDARD\\11,1", 0x0106),
            ("", 0x0120),
        ]:
            attributes = Dataset()
            if display_format:
                attributes.ImageDisplayFormat = display_format
            attributes.ReferencedFilmSessionSequence = [reference]
            status, _ = assoc.send_n_create(
                attributes, sopclasses.BASIC_FILM_BOX, None, msg_id=91, meta_uid=META
            )
            assert status.Status == expected, (display_format, hex(status.Status))
            assert "ErrorComment" in status
        # a warning on N-CREATE still names the film box it made (B605: density clamped)
        code, box, boxes = film_box(assoc, created, session, "STANDARD\\2,1", MaxDensity=999)
        assert code == 0xB605 and box and len(boxes) == 2
        status, _ = assoc.send_n_action(
            None, 1, sopclasses.BASIC_FILM_BOX, box, msg_id=92, meta_uid=META
        )
        assert status.Status == 0xB603  # no image: an empty page, printed with a warning
        status, _ = assoc.send_n_set(image_box(16, 16), *boxes[0], msg_id=93, meta_uid=META)
        assert status.Status == 0x0106  # 16 bits stored: not a Basic Grayscale Image
        status, _ = assoc.send_n_set(
            image_box(8, 8, position=2), *boxes[0], msg_id=94, meta_uid=META
        )
        assert status.Status == 0x0106  # the position of another box
        status, _ = assoc.send_n_set(image_box(16, 12), *boxes[0], msg_id=95, meta_uid=META)
        assert status.Status == 0x0000  # 12 bits in 16 is allowed
        status, _ = assoc.send_n_action(
            None, 1, sopclasses.BASIC_FILM_BOX, box, msg_id=96, meta_uid=META
        )
        assert status.Status == 0x0000
        status, _ = assoc.send_n_action(
            None, 1, sopclasses.BASIC_FILM_BOX, "1.2.3.4", msg_id=97, meta_uid=META
        )
        assert status.Status == 0x0112  # no such film box
        assert assoc.send_c_echo(msg_id=98).Status == 0x0000
    finally:
        assoc.release()
    empty, printed = finished_jobs(printer, 2)
    assert (empty.films[0]["images"], printed.films[0]["images"]) == (0, 1)


def test_a_failing_print_command_fails_the_job_and_the_cli_says_so(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data", print={"command": "false"})
    with Node(settings) as node:
        result = vesalius(
            "print", "127.0.0.1", str(node.dicom_port), "--aec", "VESALIUS",
            str(corpus_file(MR[0])), "--data-dir", str(tmp_path / "scu"),
        )  # fmt: skip
        assert result.returncode == 2, result.stdout + result.stderr
        assert re.search(r"film 1: 1 image\(s\), status 0000, job [\d.]+: FAILURE", result.stdout)
        [job] = finished_jobs(node, 1)
        assert job.state == "FAILURE" and "exited 1" in job.info


def test_the_printer_reports_failure_when_jobs_cannot_be_written(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the print folder should be")
    with Node(make_settings(tmp_path / "data", print={"output_dir": str(blocked)})) as node:
        ae = AE("ASKER")
        ae.add_requested_context(META)
        assoc = ae.associate("127.0.0.1", node.dicom_port, ae_title="VESALIUS")
        try:
            status, printer = assoc.send_n_get(
                [], sopclasses.PRINTER, sopclasses.PRINTER_INSTANCE, meta_uid=META
            )
        finally:
            assoc.release()
        assert status.Status == 0x0000
        assert (printer.PrinterStatus, printer.PrinterStatusInfo) == ("FAILURE", "PRINTER DOWN")
        result = vesalius(
            "print", "127.0.0.1", str(node.dicom_port), "--aec", "VESALIUS",
            str(corpus_file(MR[0])), "--data-dir", str(tmp_path / "scu"),
        )  # fmt: skip
        assert result.returncode == 1
        assert "printer FAILURE (PRINTER DOWN)" in result.stderr


def test_print_is_not_offered_when_disabled(tmp_path: Path) -> None:
    with Node(make_settings(tmp_path / "data", print={"enabled": False})) as node:
        ae = AE("ASKER")
        ae.add_requested_context(META)
        ae.add_requested_context(sopclasses.VERIFICATION)
        assoc = ae.associate("127.0.0.1", node.dicom_port, ae_title="VESALIUS")
        try:
            assert assoc.is_established
            accepted = {str(cx.abstract_syntax) for cx in assoc.accepted_contexts}
        finally:
            assoc.release()
        assert META not in accepted and sopclasses.VERIFICATION in accepted


# -- DCMTK ------------------------------------------------------------------------
PRINTER_ENTRY = """
[{name}]
Aetitle = {aet}
Description = {name}
Hostname = {host}
Port = {port}
Type = {kind}
DisplayFormat = 1,1\\1,2\\2,2\\2,3\\3,3\\3,4\\4,4
FilmSizeID = 14INX17IN\\8INX10IN\\11INX14IN
MediumType = BLUE FILM\\CLEAR FILM\\PAPER
FilmDestination = MAGAZINE\\PROCESSOR
MagnificationType = REPLICATE\\BILINEAR\\CUBIC\\NONE
MaxDensity = 300
MinDensity = 20
BorderDensity = BLACK\\WHITE
EmptyImageDensity = BLACK\\WHITE
Supports12Bit = true
SupportsTrim = true
ImplicitOnly = false
MaxPDU = 32768
"""


def dcmpstat_cfg(folder: Path, *entries: dict[str, Any]) -> Path:
    """A dcmpstat.cfg of its own for this test: folders in ``folder``, these printers."""
    for name in ("database", "spool", "log"):
        (folder / name).mkdir(exist_ok=True)
    text = f"""[[GENERAL]]
[DATABASE]
Directory = {folder / "database"}
[PRINT]
Spooler = dcmprscu
Server = dcmprscp
Directory = {folder / "spool"}
DetailedLog = false
BinaryLog = false
DeletePrintJobs = false
AlwaysDeleteTerminateJobs = false
[APPLICATION]
LogDirectory = {folder / "log"}
LogFile = general.log
LogLevel = WARN
[[COMMUNICATION]]
"""
    text += "".join(PRINTER_ENTRY.format(**entry) for entry in entries)
    path = folder / "dcmpstat.cfg"
    path.write_text(text)
    return path


@pytest.mark.slow
def test_dcmprscp_receives_a_film_from_vesalius_print(tmp_path: Path) -> None:
    require_tool("dcmprscp")
    port = free_port()
    entry = {"name": "FILMS", "aet": "DCMPRSCP", "host": "localhost", "port": port}
    config = dcmpstat_cfg(tmp_path, {**entry, "kind": "LOCALPRINTER"})
    command = ("dcmprscp", "-c", str(config), "-p", "FILMS")
    with dcmtk_server(port, tmp_path / "dcmprscp.log", *command) as server:
        result = vesalius(
            "print", "127.0.0.1", str(port), "--aec", "DCMPRSCP", "--layout", "2,2",
            *(str(corpus_file(name)) for name in MR[:4]), "--data-dir", str(tmp_path / "scu"),
        )  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        assert "printer gives no job status" in result.stdout
        database = tmp_path / "database"
        wait_for(lambda: len(list(database.glob("HG_*.dcm"))) == 4)
        assert server.poll() is None
    [stored_print] = database.glob("SP_*.dcm")
    film = read(stored_print).FilmBoxContentSequence[0]
    assert film.ImageDisplayFormat == "STANDARD\\2,2"
    assert film.FilmSizeID == "14INX17IN"
    for hardcopy in database.glob("HG_*.dcm"):
        image = read(hardcopy)
        assert (image.Rows, image.Columns) == (256, 256)
        assert image.pixel_array.std() > 10


@pytest.mark.slow
def test_dcmtk_prints_on_our_printer(printer: Node, tmp_path: Path) -> None:
    """DCMTK as the foreign SCU: dcmpsprt makes a print job, dcmprscu sends it to us."""
    require_tool("dcmpsprt")
    require_tool("dcmprscu")
    entry = {"name": "VESALIUS", "aet": "VESALIUS", "host": "127.0.0.1"}
    config = dcmpstat_cfg(tmp_path, {**entry, "port": printer.dicom_port, "kind": "PRINTER"})
    images = [str(corpus_file(name)) for name in MR[:3]]
    made = run_dcmtk(
        "dcmpsprt", "-c", str(config), "-p", "VESALIUS", "--layout", "2", "2",
        "--filmsize", "11INX14IN", "--landscape", *images,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    [stored_print] = (tmp_path / "database").glob("SP_*.dcm")
    sent = run_dcmtk("dcmprscu", "-c", str(config), "-p", "VESALIUS", str(stored_print))
    assert sent.returncode == 0, sent.stdout + sent.stderr
    [job] = finished_jobs(printer, 1)
    assert job.state == "DONE" and job.originator == "DCMPSTAT"
    assert job.films[0]["images"] == 3
    assert job.films[0]["FilmOrientation"] == "LANDSCAPE"
    [(width, height, count)] = pdf_pages(jobs_of(printer).file(job, "job.pdf"))
    assert (width, height) == pytest.approx((14 * POINTS_PER_INCH, 11 * POINTS_PER_INCH), abs=0.5)
    assert count == 3
    first, second, third, empty = tiles(printer, job, 1)
    assert min(first.std(), second.std(), third.std()) > 5  # 12-bit hardcopies, printed
    assert empty.std() < 1  # the fourth box holds no image: Empty Image Density only


def test_the_cli_help_names_the_layouts_and_film_sizes() -> None:
    listing = subprocess.run([VESALIUS, "print", "--help"], capture_output=True, text=True)
    assert listing.returncode == 0
    assert "14INX17IN" in listing.stdout and "--layout" in listing.stdout


# -- the HTTP API -----------------------------------------------------------------
def test_print_jobs_over_http(web_node: Node) -> None:
    target = Target("127.0.0.1", web_node.dicom_port, "VESALIUS", "HTTPSCU")
    options = PrintOptions(columns=1, rows=2, film_size="A4")
    outcome = print_images(target, rendered(MR[:3]), options)
    assert [film.execution for film in outcome.films] == ["DONE", "DONE"]
    with httpx.Client(base_url=f"{web_node.base_url}/api", timeout=30) as api:
        listing = api.get("/print-jobs")
        assert listing.status_code == 200
        assert listing.headers["X-Total-Count"] == "2"
        newest, oldest = listing.json()
        assert (newest["films"][0]["images"], oldest["films"][0]["images"]) == (1, 2)
        assert oldest["ExecutionStatus"] == "DONE" and oldest["Originator"] == "HTTPSCU"
        assert oldest["SOPInstanceUID"] == outcome.films[0].job_uid
        one = api.get(f"/print-jobs/{oldest['id']}").json()
        assert one == oldest
        pdf = api.get(one["pdf"])
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        [page] = PdfReader(io.BytesIO(pdf.content)).pages
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(
            (
                210 / formats.MM_PER_INCH * POINTS_PER_INCH,
                297 / formats.MM_PER_INCH * POINTS_PER_INCH,
            ),
            abs=0.5,
        )
        png = api.get(one["films"][0]["png"])
        assert png.headers["content-type"] == "image/png"
        assert Image.open(io.BytesIO(png.content)).size == (
            round(210 / formats.MM_PER_INCH * PREVIEW_DPI),
            round(297 / formats.MM_PER_INCH * PREVIEW_DPI),
        )
        assert api.get("/print-jobs/20000101-000000-000abcd").status_code == 404
        assert api.get("/print-jobs/..%2Fetc").status_code == 404
        assert api.get(f"/print-jobs/{oldest['id']}/films/9/png").status_code == 404


def test_layouts_number_their_boxes_as_the_standard_says() -> None:
    standard = formats.geometry("STANDARD\\2,2", "14INX17IN", "PORTRAIT")
    first, second, third, _ = standard.boxes
    assert first.y == second.y < third.y and first.x == third.x < second.x  # row by row
    row = formats.geometry("ROW\\1,3", "14INX17IN", "PORTRAIT").boxes
    assert len(row) == 4 and row[0].width > row[1].width and row[1].y == row[3].y
    column = formats.geometry("COL\\2,1", "14INX17IN", "LANDSCAPE")
    top, bottom, right = column.boxes
    assert top.x == bottom.x < right.x and top.y < bottom.y  # column by column
    assert (column.width_mm, column.height_mm) == (17 * 25.4, 14 * 25.4)
    assert formats.box_count("COL\\2,1") == 3
    levels = [formats.density_level(d) for d in (0, 20, 100, 300)]
    assert levels[0] == 255 and levels == sorted(levels, reverse=True) and levels[-1] < 10


def test_the_printer_reports_its_failure_when_a_job_breaks_its_folder(tmp_path: Path) -> None:
    """A print command that replaces the print folder with a file takes the printer down:
    the job's reports are followed by a Printer N-EVENT-REPORT of FAILURE."""
    folder = tmp_path / "films"
    command = f"sh -c 'cat >/dev/null; rm -rf {folder} && touch {folder}'"
    settings = make_settings(
        tmp_path / "data", print={"output_dir": str(folder), "command": command}
    )
    reports: list[tuple[str, int, str]] = []
    created: dict[int, str] = {}

    def on_report(event: Any) -> tuple[int, None]:
        info = event.event_information or Dataset()
        detail = str(info.get("PrinterStatusInfo", info.get("ExecutionStatusInfo", "")))
        reports.append((str(event.request.AffectedSOPClassUID), int(event.event_type), detail))
        return 0, None

    def on_received(event: Any) -> None:
        command_set = event.message.command_set
        if "AffectedSOPInstanceUID" in command_set and "MessageIDBeingRespondedTo" in command_set:
            created[int(command_set.MessageIDBeingRespondedTo)] = str(
                command_set.AffectedSOPInstanceUID
            )

    with Node(settings) as node:
        ae = AE("WATCHER")
        ae.add_requested_context(META)
        ae.add_requested_context(sopclasses.PRINT_JOB)
        assoc = ae.associate(
            "127.0.0.1", node.dicom_port, ae_title="VESALIUS",
            evt_handlers=[(evt.EVT_N_EVENT_REPORT, on_report), (evt.EVT_DIMSE_RECV, on_received)],
        )  # fmt: skip
        try:
            session = film_session(assoc, created)
            _, box, boxes = film_box(assoc, created, session, "STANDARD\\1,1")
            assert (
                assoc.send_n_set(image_box(8, 8), *boxes[0], msg_id=10, meta_uid=META)[0].Status
                == 0
            )
            status, _ = assoc.send_n_action(
                None, 1, sopclasses.BASIC_FILM_BOX, box, msg_id=11, meta_uid=META
            )
            assert status.Status == 0x0000
            wait_for(lambda: any(r[0] == sopclasses.PRINTER for r in reports))
        finally:
            assoc.release()
    job_events = [event for sop_class, event, _ in reports if sop_class == sopclasses.PRINT_JOB]
    assert job_events == [1, 2, 3]
    assert reports[-1] == (sopclasses.PRINTER, 3, "PRINTER DOWN")

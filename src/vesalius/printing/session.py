"""The film session of one association: film boxes, their image and annotation boxes.

A Basic Film Session lives as long as the association that created it (PS3.4
H.4.1), so this state is kept in memory, one ``PrintSession`` per association;
only printed films leave it, as print jobs. Every operation raises
``PrintError`` with the status that refuses it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydicom.dataset import Dataset
from pydicom.uid import UID, generate_uid

from vesalius import IMPLEMENTATION_CLASS_UID, sopclasses
from vesalius.printing import formats, rules
from vesalius.printing.compose import Film, PrintedImage
from vesalius.printing.rules import PrintError, Warnings

UID_PREFIX = IMPLEMENTATION_CLASS_UID + "."


@dataclass
class ImageBox:
    """One image box of a film box, empty until an N-SET gives it an image."""

    uid: str
    position: int
    attributes: Dataset = field(default_factory=Dataset)
    image: rules.ImagePixels | None = None


@dataclass
class AnnotationBox:
    """One annotation box of a film box: a line of text at its place."""

    uid: str
    position: int
    text: str = ""


@dataclass
class FilmBox:
    """A film box: its attributes (defaults filled in), layout and boxes."""

    uid: str
    attributes: Dataset
    geometry: formats.Geometry
    image_boxes: list[ImageBox]
    annotation_boxes: list[AnnotationBox]

    @property
    def has_images(self) -> bool:
        """True when at least one image box holds an image."""
        return any(box.image is not None for box in self.image_boxes)


def _reference(sop_class: str, sop_instance: str) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = sop_class
    item.ReferencedSOPInstanceUID = sop_instance
    return item


def _new_uid(requested: str | None, taken: set[str]) -> str:
    if not requested:
        return generate_uid(prefix=UID_PREFIX)
    if not UID(requested).is_valid:
        raise PrintError(rules.INVALID_OBJECT_INSTANCE, f"{requested!r} is not a valid UID")
    if requested in taken:
        raise PrintError(rules.DUPLICATE_INSTANCE, f"{requested} exists already")
    return requested


class PrintSession:
    """The print state of one association (grayscale or colour, as its meta class says)."""

    def __init__(self, *, color: bool) -> None:
        self.color = color
        self.uid: str | None = None
        self.attributes = Dataset()
        self.film_boxes: dict[str, FilmBox] = {}
        self.image_boxes: dict[str, tuple[FilmBox, ImageBox]] = {}
        self.annotation_boxes: dict[str, tuple[FilmBox, AnnotationBox]] = {}

    @property
    def image_box_class(self) -> str:
        """The SOP class of this session's image boxes."""
        if self.color:
            return sopclasses.BASIC_COLOR_IMAGE_BOX
        return sopclasses.BASIC_GRAYSCALE_IMAGE_BOX

    def _taken(self) -> set[str]:
        return {self.uid or "", *self.film_boxes, *self.image_boxes, *self.annotation_boxes}

    # -- film session ----------------------------------------------------------
    def create_session(self, uid: str | None, request: Dataset | None) -> tuple[str, Warnings]:
        """N-CREATE of the Basic Film Session: one per association."""
        if self.uid is not None:
            raise PrintError(rules.PROCESSING_FAILURE, "this association has a film session")
        warnings = Warnings()
        attributes = rules.with_defaults(rules.SESSION_DEFAULTS)
        rules.apply(request, rules.SESSION_RULES, attributes, warnings)
        self.uid = _new_uid(uid, self._taken())
        self.attributes = attributes
        return self.uid, warnings

    def _check_session(self, uid: str) -> None:
        if self.uid is None or uid != self.uid:
            raise PrintError(rules.NO_SUCH_INSTANCE, f"no film session {uid}")

    def set_session(self, uid: str, request: Dataset | None) -> Warnings:
        """N-SET of the film session's attributes."""
        self._check_session(uid)
        warnings = Warnings()
        changed = self.attributes.copy()
        rules.apply(request, rules.SESSION_RULES, changed, warnings)
        self.attributes = changed
        return warnings

    def delete_session(self, uid: str) -> None:
        """N-DELETE of the film session, with all its film boxes."""
        self._check_session(uid)
        for box_uid in list(self.film_boxes):
            self.delete_film_box(box_uid)
        self.uid = None
        self.attributes = Dataset()

    # -- film boxes -------------------------------------------------------------
    def create_film_box(self, uid: str | None, request: Dataset | None) -> tuple[FilmBox, Warnings]:
        """N-CREATE of a film box in the session, with its image and annotation boxes."""
        if self.uid is None:
            raise PrintError(rules.PROCESSING_FAILURE, "no film session on this association")
        references = (request or Dataset()).get("ReferencedFilmSessionSequence")
        if not references:
            raise PrintError(rules.MISSING_ATTRIBUTE, "Referenced Film Session Sequence is missing")
        if references[0].get("ReferencedSOPInstanceUID") != self.uid:
            raise PrintError(
                rules.INVALID_ATTRIBUTE_VALUE,
                "Referenced Film Session Sequence names another session",
            )
        warnings = Warnings()
        attributes = rules.with_defaults(rules.FILM_BOX_DEFAULTS)
        rules.apply(request, rules.FILM_BOX_RULES, attributes, warnings)
        attributes.FilmSizeID = str(attributes.FilmSizeID).upper()
        geometry = rules.check_film_box(attributes)
        box_uid = _new_uid(uid, self._taken())
        attributes.ReferencedFilmSessionSequence = [
            _reference(sopclasses.BASIC_FILM_SESSION, self.uid)
        ]
        film_box = FilmBox(box_uid, attributes, geometry, [], [])
        for position in range(1, len(geometry.boxes) + 1):
            image_box = ImageBox(generate_uid(prefix=UID_PREFIX), position)
            film_box.image_boxes.append(image_box)
            self.image_boxes[image_box.uid] = (film_box, image_box)
        for position in range(1, len(geometry.annotations) + 1):
            annotation = AnnotationBox(generate_uid(prefix=UID_PREFIX), position)
            film_box.annotation_boxes.append(annotation)
            self.annotation_boxes[annotation.uid] = (film_box, annotation)
        attributes.ReferencedImageBoxSequence = [
            _reference(self.image_box_class, box.uid) for box in film_box.image_boxes
        ]
        if film_box.annotation_boxes:
            attributes.ReferencedBasicAnnotationBoxSequence = [
                _reference(sopclasses.BASIC_ANNOTATION_BOX, box.uid)
                for box in film_box.annotation_boxes
            ]
        self.film_boxes[box_uid] = film_box
        return film_box, warnings

    def _film_box(self, uid: str) -> FilmBox:
        try:
            return self.film_boxes[uid]
        except KeyError:
            raise PrintError(rules.NO_SUCH_INSTANCE, f"no film box {uid}") from None

    def set_film_box(self, uid: str, request: Dataset | None) -> Warnings:
        """N-SET of a film box's presentation attributes (not its layout)."""
        film_box = self._film_box(uid)
        warnings = Warnings()
        changed = film_box.attributes.copy()
        rules.apply(request, rules.FILM_BOX_RULES, changed, warnings, fixed=rules.FILM_BOX_FIXED)
        rules.check_film_box(changed)
        film_box.attributes = changed
        return warnings

    def delete_film_box(self, uid: str) -> None:
        """N-DELETE of a film box and its boxes."""
        film_box = self.film_boxes.pop(uid, None)
        if film_box is None:
            raise PrintError(rules.NO_SUCH_INSTANCE, f"no film box {uid}")
        for image_box in film_box.image_boxes:
            self.image_boxes.pop(image_box.uid, None)
        for annotation in film_box.annotation_boxes:
            self.annotation_boxes.pop(annotation.uid, None)

    # -- image and annotation boxes ----------------------------------------------
    def set_image_box(self, uid: str, request: Dataset | None) -> Warnings:
        """N-SET of an image box: its image, polarity and sizing (PS3.4 H.4.3)."""
        try:
            film_box, image_box = self.image_boxes[uid]
        except KeyError:
            raise PrintError(rules.NO_SUCH_INSTANCE, f"no image box {uid}") from None
        request = request or Dataset()
        position = request.get("ImageBoxPosition")
        if position is None:
            raise PrintError(rules.MISSING_ATTRIBUTE, "Image Box Position (2020,0010) is missing")
        if int(position) != image_box.position:
            raise PrintError(
                rules.INVALID_ATTRIBUTE_VALUE,
                f"Image Box Position {position}: this box is position {image_box.position}",
            )
        keyword = "BasicColorImageSequence" if self.color else "BasicGrayscaleImageSequence"
        sequence = request.get(keyword)
        if not sequence:
            raise PrintError(rules.MISSING_ATTRIBUTE, f"{keyword} is missing")
        warnings = Warnings()
        attributes = Dataset()
        rules.apply(request, rules.IMAGE_BOX_RULES, attributes, warnings)
        image = rules.image_pixels(sequence[0], color=self.color)
        size = attributes.get("RequestedImageSize")
        try:
            width = float(size) if size not in (None, "") else None
        except (TypeError, ValueError):
            width = -1.0
        if width is not None and width <= 0:
            raise PrintError(rules.INVALID_ATTRIBUTE_VALUE, "Requested Image Size: a width in mm")
        placement = self._place(film_box, image_box, image, attributes)
        if placement.warning is not None:
            warnings.add(placement.warning, "the image is larger than its image box")
        for name in ("BasicGrayscaleImageSequence", "BasicColorImageSequence"):
            if name in attributes:
                del attributes[name]
        image_box.attributes = attributes
        image_box.image = image
        return warnings

    def _place(
        self, film_box: FilmBox, image_box: ImageBox, image: rules.ImagePixels, attributes: Dataset
    ) -> rules.Placement:
        size = attributes.get("RequestedImageSize")
        return rules.place(
            image,
            film_box.geometry.boxes[image_box.position - 1],
            magnification=str(
                attributes.get("MagnificationType") or film_box.attributes.MagnificationType
            ),
            dpi=rules.RESOLUTIONS[str(film_box.attributes.RequestedResolutionID)],
            requested_width_mm=float(size) if size not in (None, "") else None,
            behavior=str(attributes.get("RequestedDecimateCropBehavior") or "") or None,
        )

    def set_annotation_box(self, uid: str, request: Dataset | None) -> Warnings:
        """N-SET of an annotation box's Text String (PS3.4 H.4.5)."""
        try:
            _film_box, annotation = self.annotation_boxes[uid]
        except KeyError:
            raise PrintError(rules.NO_SUCH_INSTANCE, f"no annotation box {uid}") from None
        request = request or Dataset()
        if (
            "AnnotationPosition" in request
            and int(request.AnnotationPosition) != annotation.position
        ):
            raise PrintError(
                rules.INVALID_ATTRIBUTE_VALUE,
                f"Annotation Position {request.AnnotationPosition}: not {annotation.position}",
            )
        annotation.text = str(request.get("TextString", "") or "")
        return Warnings()

    # -- printing ----------------------------------------------------------------
    def film(self, film_box: FilmBox) -> Film:
        """A snapshot of a film box as it prints now (later changes do not touch it)."""
        attributes = film_box.attributes
        images = []
        for image_box in film_box.image_boxes:
            if image_box.image is None:
                continue
            placement = self._place(film_box, image_box, image_box.image, image_box.attributes)
            images.append(
                PrintedImage(
                    position=image_box.position,
                    image=image_box.image,
                    placement=placement,
                    reverse=image_box.attributes.get("Polarity") == "REVERSE",
                    magnification=str(
                        image_box.attributes.get("MagnificationType")
                        or attributes.MagnificationType
                    ),
                )
            )
        minimum, maximum = int(attributes.MinDensity), int(attributes.MaxDensity)
        return Film(
            geometry=film_box.geometry,
            color=self.color,
            images=tuple(images),
            annotations=tuple(
                (film_box.geometry.annotations[a.position - 1], a.text)
                for a in film_box.annotation_boxes
                if a.text
            ),
            min_density=minimum,
            max_density=maximum,
            border_density=formats.parse_density(
                str(attributes.BorderDensity), minimum=minimum, maximum=maximum
            ),
            empty_density=formats.parse_density(
                str(attributes.EmptyImageDensity), minimum=minimum, maximum=maximum
            ),
            trim=attributes.Trim == "YES",
            dpi=rules.RESOLUTIONS[str(attributes.RequestedResolutionID)],
            description={
                "ImageDisplayFormat": str(attributes.ImageDisplayFormat),
                "FilmSizeID": str(attributes.FilmSizeID),
                "FilmOrientation": str(attributes.FilmOrientation),
                "images": len(images),
            },
        )

    def films_of_box(self, uid: str) -> tuple[list[Film], int]:
        """N-ACTION print of one film box: its film, and B603 when it holds no image."""
        film_box = self._film_box(uid)
        status = rules.SUCCESS if film_box.has_images else rules.FILM_BOX_EMPTY_PAGE
        return [self.film(film_box)], status

    def films_of_session(self, uid: str) -> tuple[list[Film], int]:
        """N-ACTION print of the film session: every film box in creation order."""
        self._check_session(uid)
        if not self.film_boxes:
            raise PrintError(rules.NO_FILM_BOXES, "the film session has no film box")
        boxes = list(self.film_boxes.values())
        empty = not any(box.has_images for box in boxes)
        return [self.film(box) for box in boxes], rules.SESSION_EMPTY_PAGE if empty else 0

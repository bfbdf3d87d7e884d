"""Movies of cine loops: MP4 (H.264, through the ffmpeg of imageio-ffmpeg) and animated GIF.

Frames are rendered by the shared ``imaging`` package, exactly as pictures are,
then handed to the encoder one at a time (a GIF keeps them until the end:
Pillow writes it in one go).

Frame rate, first found wins: the ``fps`` asked for; Cine Rate (0018,0040);
1000 / Frame Time (0018,1063, ms); Recommended Display Frame Rate (0008,2144);
else ``DEFAULT_FPS``. H.264 in the 4:2:0 pixel format every player reads needs
even sizes: a frame of odd width or height gets one black column or row.
"""

from __future__ import annotations

import math
from pathlib import Path
from types import TracebackType
from typing import Any

import imageio_ffmpeg
import numpy as np
from PIL import Image
from pydicom.dataset import Dataset

from vesalius.imaging.pixels import Array
from vesalius.media.tracking import ExportError

EXTENSIONS = {"mp4": ".mp4", "gif": ".gif"}
"""Movie formats and the extension of their files."""
DEFAULT_FPS = 10.0
MAX_FPS = 240.0
GIF_MIN_DELAY_MS = 20
"""Browsers slow down GIF frames shorter than this; 50 fps is the fastest GIF."""
H264_OPTIONS = ["-crf", "18", "-preset", "veryfast", "-movflags", "+faststart"]


def _positive(value: Any) -> float | None:
    try:
        number = float(value[0] if isinstance(value, list | tuple) else value)
    except (TypeError, ValueError, IndexError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def frame_rate(dataset: Dataset) -> float | None:
    """Frames per second the image asks for (Cine Rate, Frame Time...), or None."""
    rate = _positive(dataset.get("CineRate"))
    if rate is not None:
        return rate
    frame_time = _positive(dataset.get("FrameTime"))
    if frame_time is not None:
        return 1000.0 / frame_time
    return _positive(dataset.get("RecommendedDisplayFrameRate"))


def check_fps(fps: float | None) -> float | None:
    """``fps`` when it is a usable frame rate (or None); ``ExportError`` otherwise."""
    if fps is not None and not (math.isfinite(fps) and 0 < fps <= MAX_FPS):
        raise ExportError(f"frames per second must be above 0 and at most {MAX_FPS:g}, not {fps}")
    return fps


def _rgb(frame: Array) -> Array:
    return np.repeat(frame[:, :, None], 3, axis=2) if frame.ndim == 2 else frame


def _even(frame: Array) -> Array:
    rows, cols = frame.shape[:2]
    if rows % 2 == 0 and cols % 2 == 0:
        return frame
    padded = np.zeros((rows + rows % 2, cols + cols % 2, *frame.shape[2:]), dtype=frame.dtype)
    padded[:rows, :cols] = frame
    return padded


class MovieWriter:
    """One movie file, fed 8-bit frames (gray or RGB) of one size; ``close`` finishes it."""

    def __init__(self, path: Path, kind: str, fps: float) -> None:
        if kind not in EXTENSIONS:
            raise ExportError(f"unknown movie format {kind!r}: {', '.join(EXTENSIONS)}")
        self.path = path
        self.kind = kind
        self.fps = fps
        self.size: tuple[int, int] | None = None
        self.frames = 0
        self._encoder: Any = None
        self._images: list[Image.Image] = []

    def fits(self, frame: Array) -> bool:
        """True when the frame has the movie's size (or is its first)."""
        return self.size is None or frame.shape[:2] == self.size

    def add(self, frame: Array) -> None:
        """Append one frame; ``ExportError`` when its size differs from the first one's."""
        if not self.fits(frame):
            raise ExportError(f"frame of {frame.shape[1]}x{frame.shape[0]} in a movie of "
                              f"{self.size[1]}x{self.size[0]}")  # type: ignore[index]  # fmt: skip
        self.size = frame.shape[:2]
        if self.kind == "gif":
            image = Image.fromarray(np.ascontiguousarray(frame))
            first = self._images[0].mode if self._images else image.mode
            self._images.append(image if image.mode == first else image.convert(first))
        else:
            rgb = np.ascontiguousarray(_even(_rgb(frame)))
            if self._encoder is None:
                self._encoder = imageio_ffmpeg.write_frames(
                    str(self.path), (rgb.shape[1], rgb.shape[0]), pix_fmt_in="rgb24",
                    pix_fmt_out="yuv420p", fps=self.fps, codec="libx264", quality=None,
                    macro_block_size=1, output_params=H264_OPTIONS,
                )  # fmt: skip
                self._encoder.send(None)
            self._encoder.send(rgb.tobytes())
        self.frames += 1

    def close(self) -> None:
        """Finish the file (nothing is written for a movie without frames)."""
        if self._encoder is not None:
            self._encoder.close()
            self._encoder = None
        if self._images:
            delay = max(GIF_MIN_DELAY_MS, round(1000 / self.fps))
            first, *rest = self._images
            first.save(self.path, format="GIF", save_all=True, append_images=rest,
                       duration=delay, loop=0)  # fmt: skip
            self._images = []

    def __enter__(self) -> MovieWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

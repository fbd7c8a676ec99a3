"""Images on upload: location data removed, a small JPEG preview made (Pillow; HEIC through
pillow-heif). Runs in a worker thread: decoding is CPU work.

Pillow and pillow-heif are imported at the first image, not with the app: with PDFium (loaded at
the first PDF) ~10 MB of the process's RSS, for nothing while no image or PDF arrives.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

THUMBNAIL_EDGE = 320
MAX_PIXELS = 50_000_000
"""A 50-megapixel photo is larger than any phone takes; more is a decompression bomb."""
GPS_IFD = 0x8825
_SAVE_AS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP", "image/heic": "HEIF"}


class UnreadableImage(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Prepared:
    content: bytes
    thumbnail: bytes
    gps_removed: bool
    width: int
    height: int


@functools.cache
def _open_heic_too() -> None:
    """Pillow opens HEIC from here on (once per process)."""
    import pillow_heif

    pillow_heif.register_heif_opener()


def prepare(data: bytes, mime: str) -> Prepared:
    """The image without GPS data (re-encoded only when it had some: a JPEG keeps its quantisation
    tables), and its thumbnail: JPEG, longest edge at most ``THUMBNAIL_EDGE``, upright."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    _open_heic_too()
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise UnreadableImage(f"the image is over {MAX_PIXELS // 1_000_000} megapixels")
            image.load()
            exif = image.getexif()
            has_gps = GPS_IFD in exif or b"GPS" in _xmp(image)
            content = data
            if has_gps:
                exif.pop(GPS_IFD, None)
                out = io.BytesIO()
                options: dict[str, object] = {"exif": exif.tobytes()}
                if mime == "image/jpeg":
                    options["quality"] = "keep"
                elif mime in ("image/webp", "image/heic"):
                    options["quality"] = 95
                if icc := image.info.get("icc_profile"):
                    options["icc_profile"] = icc
                image.save(out, format=_SAVE_AS[mime], **options)
                content = out.getvalue()
            preview = ImageOps.exif_transpose(image)
            preview.thumbnail((THUMBNAIL_EDGE, THUMBNAIL_EDGE))
            if preview.mode != "RGB":
                preview = preview.convert("RGB")
            thumb = io.BytesIO()
            preview.save(thumb, format="JPEG", quality=80)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise UnreadableImage("the image cannot be read") from exc
    return Prepared(content, thumb.getvalue(), has_gps, width, height)


def _xmp(image: Image.Image) -> bytes:
    xmp = image.info.get("xmp", b"")
    return xmp.encode() if isinstance(xmp, str) else bytes(xmp)


def has_gps(data: bytes) -> bool:
    """Whether the stored image still carries a GPS block (tests, audits)."""
    from PIL import Image

    _open_heic_too()
    with Image.open(io.BytesIO(data)) as image:
        return GPS_IFD in image.getexif() or b"GPS" in _xmp(image)

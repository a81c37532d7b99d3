"""The files of campaign content: what an upload really is, whether it may be kept, its
thumbnail, where it is stored, which channels can carry it, and how it is served.

What a file is comes from its bytes, never from its name or the type the browser sent, and each
accepted type is checked for the structure it claims, not only for its first bytes: images are
opened by Pillow (which reads their header, not their pixels, so a "decompression bomb" of a
few kilobytes that unpacks to gigapixels is refused before any pixel is decoded), MP4 and 3GP
videos have their top-level boxes walked (by seeking: a 50 MB video costs a few reads), PDFs
need their header and end marker, and Word, Excel and PowerPoint files need a zip directory of
bounded size with the parts of their kind and no macros. No sniffing library is used: `filetype`
and `puremagic` name hundreds of types from bytes at known offsets, of which we take ten, and
check little of their structure; `python-magic` needs the system's libmagic, which a minimal
Debian install lacks. Pillow is needed for the thumbnails anyway and is the stronger check for
images.

SVG is refused: it is XML that can carry scripts and links, sanitising it is a moving target,
and neither WhatsApp nor Telegram sends it as a picture. A file is read in bounded pieces (its
first 64 KB, a zip's directory at its end, box headers): its size is known before anything else
is read, so an oversized upload is refused at once.

A JPEG is kept without its metadata (EXIF and XMP, with the GPS position and the camera's
serial; IPTC; comments; whatever a phone appends after the picture), its compressed picture
copied byte for byte and its orientation put back; a PNG or WebP is kept as it is and
`has_location` says whether its EXIF records a position. Thumbnails carry no metadata at all.

Files are kept under names made here (a random id and the extension of the type found), never
the uploader's, in the storage `STORAGES["content_media"]` (local disk under MEDIA_ROOT by
default; an S3-compatible bucket when CONTENT_MEDIA_S3_BUCKET is set, see settings). They are
served only through a view that checks the reader's scope and answers with `media_response`:
the type found here, `Content-Disposition: attachment`, `X-Content-Type-Options: nosniff` and a
sandboxing Content-Security-Policy, so that nothing uploaded ever runs as a page of the portal.
MEDIA_ROOT itself is never served (member lists uploaded for import live there too).

The service that saves a content variant calls `media_store` (inspect, thumbnail, save) before
its transaction and `media_discard` when the transaction fails, so nothing is left half-written.
"""

from __future__ import annotations

import dataclasses
import io
import struct
import tempfile
import unicodedata
import uuid
import warnings
import zipfile
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.http import FileResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from PIL import Image, UnidentifiedImageError

from cadreconnect.exceptions import ApplicationError
from cadreconnect.validation import CONTROL_CHARACTERS

IMAGE = "image"
VIDEO = "video"
DOCUMENT = "document"
MEDIA_KINDS = (IMAGE, VIDEO, DOCUMENT)

# The alias in settings.STORAGES of the store that keeps content files and thumbnails.
STORAGE_ALIAS = "content_media"

# Sizes are shown, and the channels' limits counted, in megabytes of a million bytes: neither
# WhatsApp nor Telegram says which megabyte it means, and a file under 5,000,000 bytes is under
# 5 MB in either.
MB = 1_000_000
HEAD_BYTES = 64 * 1024
# A zip's end record is at most 22 bytes plus a 64 KB comment from the end.
ZIP_TAIL_BYTES = 65_536 + 22
# Office files have tens to a few thousand parts; a directory is listed in memory by zipfile.
ZIP_MAX_ENTRIES = 10_000
ZIP_MAX_DIRECTORY_BYTES = 4 * 1024 * 1024
# A PDF ends with %%EOF within its last 1024 bytes (PDF 1.7, 7.5.5; readers look there).
PDF_TAIL_BYTES = 1024
# Top-level boxes of an MP4: a handful (ftyp, moov, mdat, free...), a fragmented one a few per
# second of video. More than this is not a video anyone filmed.
ISO_MAX_BOXES = 100_000
ISO_MAX_FTYP_BYTES = 4096


@dataclass(frozen=True)
class MediaType:
    mime_type: str
    extension: str
    kind: str
    label: str


TYPES: dict[str, MediaType] = {
    media_type.mime_type: media_type
    for media_type in (
        MediaType("image/jpeg", "jpg", IMAGE, "JPEG"),
        MediaType("image/png", "png", IMAGE, "PNG"),
        MediaType("image/webp", "webp", IMAGE, "WebP"),
        MediaType("image/gif", "gif", IMAGE, "GIF"),
        MediaType("video/mp4", "mp4", VIDEO, "MP4"),
        MediaType("video/3gpp", "3gp", VIDEO, "3GP"),
        MediaType("application/pdf", "pdf", DOCUMENT, "PDF"),
        MediaType(
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "docx", DOCUMENT, "Word",
        ),
        MediaType(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx", DOCUMENT, "Excel",
        ),
        MediaType(
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "pptx", DOCUMENT, "PowerPoint",
        ),
    )
}  # fmt: skip
TYPES_BY_EXTENSION = {media_type.extension: media_type for media_type in TYPES.values()}
GPS_IFD = 0x8825
ORIENTATION_TAG = 0x0112
EXIF_ERRORS = (OSError, SyntaxError, ValueError, TypeError, KeyError, IndexError, struct.error)
PILLOW_FORMATS = {
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/webp": "WEBP",
    "image/gif": "GIF",
}

# Brands of the ISO base media file format (the ftyp box) that mean MP4 or 3GP video.
MP4_BRANDS = {
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso7", b"iso8", b"iso9",
    b"mp41", b"mp42", b"mp71", b"avc1", b"dash", b"M4V ", b"MSNV", b"XAVC",
}  # fmt: skip
# 3GPP release brands: 3gp4 to 3gp9, 3gg6 (general), 3ge6/3ge7 (extended), 3gs7 (streaming).
THREE_GP_PREFIXES = (b"3gp", b"3gg", b"3ge", b"3gs")
# Audio-only and QuickTime files say so in their major brand, whatever they list beside it.
NOT_VIDEO_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"qt  ", b"3g2a", b"3g2b", b"3g2c"}

OFFICE_MAIN_PARTS = {
    "word/document.xml": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xl/workbook.xml": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt/presentation.xml": (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation"
    ),
}

REFUSALS = {
    IMAGE: (
        gettext_lazy(
            "The file is not an image the portal takes: upload a JPEG, PNG, WebP or GIF image."
        ),
        "not_an_image",
    ),
    VIDEO: (
        gettext_lazy("The file is not a video the portal takes: upload an MP4 or 3GP video."),
        "not_a_video",
    ),
    DOCUMENT: (
        gettext_lazy(
            "The file is not a document the portal takes: upload a PDF, or a Word, Excel or "
            "PowerPoint file (.docx, .xlsx, .pptx)."
        ),
        "not_a_document",
    ),
}  # fmt: skip


@dataclass(frozen=True)
class MediaInfo:
    """What an uploaded file is, found from its bytes. `original_name` is the uploader's name,
    cleaned, for showing and for the download's name only; files are stored under names made
    here."""

    kind: str
    mime_type: str
    size: int
    width: int | None = None
    height: int | None = None
    original_name: str = ""
    # The image's EXIF records where it was taken (GPS). JPEGs are stored without it
    # (media_store); a PNG or WebP that has it is stored as it is, and the editor can say so.
    has_location: bool = False

    @property
    def extension(self) -> str:
        return TYPES[self.mime_type].extension

    @property
    def label(self) -> str:
        return TYPES[self.mime_type].label

    @property
    def download_name(self) -> str:
        """The uploader's name with the extension of the type found (a .jpg that is a PNG is
        offered as .png)."""
        stem = self.original_name.rsplit(".", 1)[0]
        return f"{stem or 'file'}.{self.extension}"


@dataclass(frozen=True)
class StoredMedia:
    """A file kept by `media_store`: its name in the content storage, its thumbnail's name
    (images only, else ""), and what it is."""

    name: str
    thumbnail_name: str
    info: MediaInfo


@dataclass(frozen=True)
class ChannelFit:
    """Whether a channel can carry the file: `limit` is the channel's largest size in bytes
    for this kind of file (0 when it takes none), `reason` says why not when it does not."""

    channel: str
    fits: bool
    limit: int
    reason: str = ""


class MediaError(ApplicationError):
    """An uploaded file is refused; the message says why and what to upload instead."""

    def __init__(self, message: str, *, code: str, **params: object) -> None:
        super().__init__(message, code=code, extra=params)


# --- Inspecting -----------------------------------------------------------------------------


def media_inspect(uploaded_file: IO[bytes], *, kind: str) -> MediaInfo:
    """What the file is, or MediaError: the type found from its bytes must be one that content
    of `kind` (image, video, document) takes, within the size limit for the kind
    (settings.CONTENT_MEDIA_MAX_BYTES) and, for images, the pixel limits. Reads a bounded
    part of the file whatever its size; leaves it at its start."""
    if kind not in MEDIA_KINDS:
        raise MediaError(_("Content of this kind takes no file."), code="media_kind", kind=kind)
    size = _size_of(uploaded_file)
    if size == 0:
        raise MediaError(_("The file is empty."), code="file_empty")
    limit = settings.CONTENT_MEDIA_MAX_BYTES[kind]
    if size > limit:
        raise MediaError(
            _("The file is %(size)s MB; the limit for this kind of content is %(limit)s MB.")
            % {"size": _megabytes(size, up=True), "limit": _megabytes(limit)},
            code="file_too_large",
            limit=limit,
        )
    uploaded_file.seek(0)
    head = uploaded_file.read(HEAD_BYTES)
    mime_type = _sniff(head)
    if mime_type is None or TYPES[mime_type].kind != kind:
        if _looks_like_markup(head):
            raise MediaError(
                _(
                    "SVG drawings and web pages are not taken: they can carry scripts. Export "
                    "the drawing as PNG (or the page as PDF) and upload that."
                ),
                code="markup_refused",
            )
        message, code = REFUSALS[kind]
        raise MediaError(str(message), code=code)
    width = height = None
    has_location = False
    if kind == IMAGE:
        width, height, has_location = _image_facts(uploaded_file, mime_type)
    elif kind == VIDEO:
        mime_type = _iso_media_type(uploaded_file, size)
    elif mime_type == "application/pdf":
        _check_pdf(uploaded_file, size)
    else:
        mime_type = _office_type(uploaded_file, size)
    uploaded_file.seek(0)
    return MediaInfo(
        kind=kind, mime_type=mime_type, size=size, width=width, height=height,
        original_name=media_display_name(getattr(uploaded_file, "name", "") or ""),
        has_location=has_location,
    )  # fmt: skip


def media_accept(kind: str) -> str:
    """The `accept` attribute of a file picker for content of this kind: the browser offers
    these types first (a hint only; the bytes decide)."""
    return ",".join(
        f"{media_type.mime_type},.{media_type.extension}"
        for media_type in TYPES.values()
        if media_type.kind == kind
    )


def media_display_name(name: str) -> str:
    """An uploader's file name made fit to show and to offer as a download name: no folders,
    no control characters (NUL included), no leading dots, at most 100 characters."""
    name = unicodedata.normalize("NFC", str(name)).replace("\\", "/").rsplit("/", 1)[-1]
    name = CONTROL_CHARACTERS.sub("", name).replace('"', "").strip().lstrip(".").strip()
    if len(name) > 100:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and len(extension) <= 10:
            return f"{stem[: 99 - len(extension)]}.{extension}"
        return name[:100]
    return name


def _size_of(uploaded_file: IO[bytes]) -> int:
    """The real size, by seeking to the end: not the size a client or a wrapper claims."""
    uploaded_file.seek(0, 2)
    return uploaded_file.tell()


def _megabytes(size: int, *, up: bool = False) -> str:
    """Megabytes to a tenth, rounded up for a file's size (a file just over a limit of 50 MB
    is "50.1 MB", not "50 MB")."""
    tenths = -(-size * 10 // MB) if up else round(size * 10 / MB)
    return f"{tenths / 10:,.1f}".removesuffix(".0")


def _sniff(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        return "video/mp4"  # or 3GP: told apart by its brands (_iso_media_type)
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"PK\x03\x04"):
        # A zip: the Office type is told by its parts (_office_type).
        return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    return None


def _looks_like_markup(head: bytes) -> bool:
    text = head[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith((b"<?xml", b"<svg", b"<!doctype", b"<html", b"<script")) or (
        b"<svg" in text
    )


# --- Images ---------------------------------------------------------------------------------


def _image_facts(uploaded_file: IO[bytes], mime_type: str) -> tuple[int, int, bool]:
    """Width, height, and whether the EXIF holds a GPS position (EXIF that cannot be read
    counts as holding one)."""
    with _open_image(uploaded_file, mime_type) as image:
        try:
            has_location = bool(image.getexif().get_ifd(GPS_IFD))
        except EXIF_ERRORS:
            has_location = True
        return (*image.size, has_location)


def _orientation(uploaded_file: IO[bytes], mime_type: str) -> int:
    with _open_image(uploaded_file, mime_type) as image:
        return _exif_orientation(image)


def _exif_orientation(image: Image.Image) -> int:
    """The EXIF orientation (1 to 8; 1 when there is none or it cannot be read)."""
    try:
        orientation = image.getexif().get(ORIENTATION_TAG, 1)
    except EXIF_ERRORS:
        return 1
    return orientation if isinstance(orientation, int) and 1 <= orientation <= 8 else 1


# What each EXIF orientation needs to be shown upright (as ImageOps.exif_transpose does, but
# without rewriting the EXIF, which a damaged file makes fail, and which is dropped anyway).
UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _open_image(uploaded_file: IO[bytes], mime_type: str) -> Image.Image:
    """The image opened by Pillow, as the format its first bytes said and no other, with its
    dimensions checked before any pixel is decoded (Image.open reads the header only)."""
    if mime_type == "image/webp":
        # Pillow hands the whole file to libwebp to learn the canvas size; the container's
        # header says it first, so an oversized canvas is refused before libwebp sees it.
        uploaded_file.seek(0)
        _check_dimensions(*_webp_size(uploaded_file.read(32)))
    uploaded_file.seek(0)
    try:
        with warnings.catch_warnings():
            # Pillow warns past Image.MAX_IMAGE_PIXELS and refuses past twice that: both are
            # a refusal here (settings allow at most MAX_IMAGE_PIXELS).
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(uploaded_file, formats=[PILLOW_FORMATS[mime_type]])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise _too_many_pixels() from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, struct.error) as error:
        raise _damaged_image() from error
    try:
        _check_dimensions(*image.size)
    except MediaError:
        image.close()
        raise
    return image


def _check_dimensions(width: int, height: int) -> None:
    if width < 1 or height < 1:
        raise _damaged_image()
    if (
        max(width, height) > settings.CONTENT_IMAGE_MAX_SIDE
        or width * height > settings.CONTENT_IMAGE_MAX_PIXELS
    ):
        raise _too_many_pixels(width=width, height=height)


def _webp_size(head: bytes) -> tuple[int, int]:
    """A WebP's canvas size from its first chunk: VP8X (extended: animation, alpha), VP8L
    (lossless) or VP8 (lossy), as the WebP container specification lays them out."""
    if len(head) < 30:
        raise _damaged_image()
    chunk = head[12:16]
    if chunk == b"VP8X":
        width = int.from_bytes(head[24:27], "little") + 1
        height = int.from_bytes(head[27:30], "little") + 1
    elif chunk == b"VP8L" and head[20] == 0x2F:
        bits = int.from_bytes(head[21:25], "little")
        width, height = (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    elif chunk == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":
        width = int.from_bytes(head[26:28], "little") & 0x3FFF
        height = int.from_bytes(head[28:30], "little") & 0x3FFF
    else:
        raise _damaged_image()
    return width, height


def _too_many_pixels(*, width: int | None = None, height: int | None = None) -> MediaError:
    return MediaError(
        _(
            "The image is too large in pixels: at most %(pixels)s megapixels and %(side)s "
            "pixels a side are taken. Scale it down and upload it again."
        )
        % {
            "pixels": f"{settings.CONTENT_IMAGE_MAX_PIXELS / 1_000_000:,.0f}",
            "side": f"{settings.CONTENT_IMAGE_MAX_SIDE:,}",
        },
        code="image_too_many_pixels",
        width=width,
        height=height,
    )


def _damaged_image() -> MediaError:
    return MediaError(
        _("The image cannot be read: the file is damaged or not really an image."),
        code="image_damaged",
    )


def thumbnail_make(image_file: IO[bytes], *, storage: Storage | None = None) -> str:
    """A JPEG thumbnail of the image (its first frame), at most CONTENT_THUMBNAIL_SIZE pixels a
    side, turned as its EXIF orientation says and with no metadata at all (no EXIF, so no GPS
    position or camera serial); saved in the content storage. Returns its name there.
    MediaError when the image cannot be decoded."""
    image_file.seek(0)
    mime_type = _sniff(image_file.read(HEAD_BYTES))
    if mime_type not in PILLOW_FORMATS:
        message, code = REFUSALS[IMAGE]
        raise MediaError(str(message), code=code)
    side = settings.CONTENT_THUMBNAIL_SIZE
    with _open_image(image_file, mime_type) as image:
        try:
            # thumbnail() decodes a JPEG at a reduced scale (draft): a 40-megapixel photo
            # needs a few megabytes, not 120.
            orientation = _exif_orientation(image)
            image.thumbnail((side, side))
            turned = image.transpose(UPRIGHT[orientation]) if orientation in UPRIGHT else image
            flat = _flatten(turned)
        except (OSError, SyntaxError, ValueError, struct.error, EOFError) as error:
            raise _damaged_image() from error
    # Pillow's JPEG writer adds EXIF only when asked; the info copied from the original is
    # cleared all the same, so that no other format or later Pillow can carry it over.
    flat.info.clear()
    buffer = io.BytesIO()
    flat.save(buffer, format="JPEG", quality=82, optimize=True)
    storage = storage or media_storage()
    return storage.save(_new_name("thumbnails", "jpg"), ContentFile(buffer.getvalue()))


def _flatten(image: Image.Image) -> Image.Image:
    """RGB, transparency on white (JPEG has no alpha channel)."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


# --- Video ----------------------------------------------------------------------------------


def _iso_media_type(uploaded_file: IO[bytes], size: int) -> str:
    """video/mp4 or video/3gpp from the ftyp box, after walking the top-level boxes: each must
    fit in the file, and a movie box (moov) must be among them."""
    position = 0
    box_types: set[bytes] = set()
    mime_type = ""
    for count in range(ISO_MAX_BOXES + 1):
        if position >= size:
            break
        if count == ISO_MAX_BOXES:
            raise _not_a_video()
        uploaded_file.seek(position)
        header = uploaded_file.read(16)
        if len(header) < 8:
            raise _not_a_video()
        box_size, box_type = struct.unpack(">I4s", header[:8])
        header_size = 8
        if box_size == 1:  # a 64-bit size follows the type
            if len(header) < 16:
                raise _not_a_video()
            (box_size,) = struct.unpack(">Q", header[8:16])
            header_size = 16
        elif box_size == 0:  # the last box, to the end of the file
            box_size = size - position
        if box_size < header_size or position + box_size > size:
            raise _not_a_video()
        if count == 0:
            if box_type != b"ftyp" or not 16 <= box_size <= ISO_MAX_FTYP_BYTES:
                raise _not_a_video()
            uploaded_file.seek(position + header_size)
            mime_type = _video_brand_type(uploaded_file.read(box_size - header_size))
        box_types.add(box_type)
        position += box_size
    if b"moov" not in box_types:
        raise _not_a_video()
    return mime_type


def _video_brand_type(ftyp: bytes) -> str:
    major = ftyp[:4]
    compatible = {ftyp[at : at + 4] for at in range(8, len(ftyp) - 3, 4)}
    if major in NOT_VIDEO_BRANDS:
        raise _not_a_video()
    if major.startswith(THREE_GP_PREFIXES):
        return "video/3gpp"
    if major in MP4_BRANDS or compatible & MP4_BRANDS:
        return "video/mp4"
    if any(brand.startswith(THREE_GP_PREFIXES) for brand in compatible):
        return "video/3gpp"
    raise _not_a_video()


def _not_a_video() -> MediaError:
    message, code = REFUSALS[VIDEO]
    return MediaError(str(message), code=code)


# --- Documents ------------------------------------------------------------------------------


def _check_pdf(uploaded_file: IO[bytes], size: int) -> None:
    uploaded_file.seek(max(0, size - PDF_TAIL_BYTES))
    if b"%%EOF" not in uploaded_file.read(PDF_TAIL_BYTES):
        raise MediaError(
            _("The PDF is incomplete or damaged (it has no end): save or export it again."),
            code="pdf_damaged",
        )


def _office_type(uploaded_file: IO[bytes], size: int) -> str:
    """The Office type of a zip from its parts: the zip's directory is checked for size from
    its end record before zipfile lists it (a directory of millions of entries would take
    gigabytes to list); nothing is unpacked. Macros (vbaProject.bin: .docm and the like
    renamed) are refused."""
    uploaded_file.seek(max(0, size - ZIP_TAIL_BYTES))
    tail = uploaded_file.read(ZIP_TAIL_BYTES)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise _not_a_document()
    entries, directory_bytes = struct.unpack("<10xHI6x", tail[at : at + 22])
    if entries > ZIP_MAX_ENTRIES or directory_bytes > ZIP_MAX_DIRECTORY_BYTES:
        raise _not_a_document()
    uploaded_file.seek(0)
    try:
        with zipfile.ZipFile(uploaded_file) as archive:
            names = {info.filename for info in archive.infolist()}
    except (zipfile.BadZipFile, NotImplementedError, OSError, ValueError, struct.error) as error:
        raise _not_a_document() from error
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        raise MediaError(
            _("Office files with macros are not taken: save it as .docx, .xlsx or .pptx."),
            code="document_macros",
        )
    found = [mime for part, mime in OFFICE_MAIN_PARTS.items() if part in names]
    if "[Content_Types].xml" not in names or len(found) != 1:
        raise _not_a_document()
    return found[0]


def _not_a_document() -> MediaError:
    message, code = REFUSALS[DOCUMENT]
    return MediaError(str(message), code=code)


# --- Storing --------------------------------------------------------------------------------


def media_storage() -> Storage:
    """The store of content files (STORAGES["content_media"]); a callable, so that a
    FileField can take it as `storage=media_storage` and its migrations stay the same whatever
    a deployment configures."""
    return storages[STORAGE_ALIAS]


def media_store(
    uploaded_file: IO[bytes], *, kind: str, storage: Storage | None = None
) -> StoredMedia:
    """Inspect the upload (`media_inspect`), make an image's thumbnail (which decodes it: a
    damaged image is refused here), and keep the file under a new name (a JPEG without its
    metadata: the info returned has the size kept). Call it before the
    transaction that records the variant, and `media_discard` if that transaction fails."""
    storage = storage or media_storage()
    info = media_inspect(uploaded_file, kind=kind)
    thumbnail_name = thumbnail_make(uploaded_file, storage=storage) if kind == IMAGE else ""
    try:
        if info.mime_type == "image/jpeg":
            orientation = _orientation(uploaded_file, info.mime_type)
            with _jpeg_without_metadata(uploaded_file, orientation=orientation) as clean:
                info = dataclasses.replace(info, size=clean.tell(), has_location=False)
                clean.seek(0)
                name = storage.save(_new_name(kind, info.extension), File(clean))
        else:
            uploaded_file.seek(0)
            name = storage.save(_new_name(kind, info.extension), _as_file(uploaded_file))
    except BaseException:
        if thumbnail_name:
            storage.delete(thumbnail_name)
        raise
    return StoredMedia(name=name, thumbnail_name=thumbnail_name, info=info)


# JPEG segments kept: JFIF (APP0), the colour profile (APP2) and Adobe's colour transform
# (APP14), which the picture's colours need, and every segment that is not metadata. EXIF
# and XMP (APP1: the GPS position, the camera's serial, the author), Photoshop's IPTC (APP13:
# places and names), comments and the other application segments go, and so does whatever
# follows the end of the image: phones append a "motion photo" video (with its own position)
# or further pictures there.
JPEG_KEPT_APPLICATION = {0xE0, 0xEE}  # and APP2 when it is an ICC profile


def _copy_to_end_of_image(source: IO[bytes], output: IO[bytes]) -> None:
    """Copy the compressed picture up to its end-of-image marker: within it a 0xFF byte is
    always followed by 0x00 or a restart marker (0xD0 to 0xD7), so the first FF D9 is the
    end."""
    carried = b""
    while chunk := source.read(COPY_CHUNK_BYTES):
        data = carried + chunk
        end = data.find(b"\xff\xd9")
        if end >= 0:
            output.write(data[: end + 2])
            return
        output.write(data[:-1])
        carried = data[-1:]
    output.write(carried)


COPY_CHUNK_BYTES = 1024 * 1024


def _jpeg_without_metadata(source: IO[bytes], *, orientation: int) -> IO[bytes]:
    """The JPEG with its metadata segments left out and its compressed picture copied byte
    for byte (no re-encoding: no loss); a new EXIF with only the orientation is put back, so
    that the picture still shows upright. Written to a temporary file, left at its end."""
    output = tempfile.TemporaryFile()  # noqa: SIM115 (returned open, closed by the caller)
    try:
        source.seek(0)
        if source.read(2) != b"\xff\xd8":
            raise _damaged_image()
        output.write(b"\xff\xd8")
        pending = b""
        if orientation != 1:
            exif = Image.Exif()
            exif[ORIENTATION_TAG] = orientation
            payload = exif.tobytes()
            pending = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
        while True:
            if source.read(1) != b"\xff":
                raise _damaged_image()
            marker = source.read(1)
            while marker == b"\xff":  # fill bytes before a marker
                marker = source.read(1)
            if not marker:
                raise _damaged_image()
            code = marker[0]
            if code != 0xE0 and pending:
                output.write(pending)
                pending = b""
            if code == 0xD9:  # the end of the image
                output.write(b"\xff\xd9")
                return output
            if code == 0xDA:  # the start of the picture's data: copied up to the end of image
                output.write(b"\xff" + marker)
                _copy_to_end_of_image(source, output)
                return output
            if 0xD0 <= code <= 0xD7 or code == 0x01:  # markers without a length
                output.write(b"\xff" + marker)
                continue
            length_bytes = source.read(2)
            if len(length_bytes) < 2 or struct.unpack(">H", length_bytes)[0] < 2:
                raise _damaged_image()
            payload = source.read(struct.unpack(">H", length_bytes)[0] - 2)
            if len(payload) != struct.unpack(">H", length_bytes)[0] - 2:
                raise _damaged_image()
            metadata = 0xE0 <= code <= 0xEF or code == 0xFE
            colour_profile = code == 0xE2 and payload.startswith(b"ICC_PROFILE\0")
            if not metadata or code in JPEG_KEPT_APPLICATION or colour_profile:
                output.write(b"\xff" + marker + length_bytes + payload)
    except BaseException:
        output.close()
        raise


def media_discard(stored: StoredMedia, *, storage: Storage | None = None) -> None:
    """Remove a stored file and its thumbnail (a variant that was not saved after all)."""
    storage = storage or media_storage()
    for name in (stored.name, stored.thumbnail_name):
        if name:
            storage.delete(name)


def media_upload_to(instance: object, filename: str) -> str:
    """`upload_to` for a FileField whose model keeps the type found (`media_type`, set from
    `media_inspect` before saving): a new name with that type's extension, never the
    uploader's `filename`. For files saved through the field itself; `media_store` also
    makes the thumbnail and keeps a JPEG without its metadata, and is the way to prefer."""
    media_type = TYPES.get(getattr(instance, "media_type", ""))
    if media_type is None:
        return _new_name("other", "bin")
    return _new_name(media_type.kind, media_type.extension)


def _new_name(folder: str, extension: str) -> str:
    return f"content/{folder}/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.{extension}"


def _as_file(uploaded_file: IO[bytes]) -> File:
    if isinstance(uploaded_file, File):
        return uploaded_file
    return File(uploaded_file)


# --- Serving --------------------------------------------------------------------------------

# Served files never run: no script, no plugin, no form, even when opened as a page.
SANDBOX_POLICY = "sandbox; default-src 'none'"


def media_response(
    name: str, *, download_name: str = "", storage: Storage | None = None
) -> FileResponse:
    """A stored content file (or thumbnail) as a response, for the view that has checked that
    the reader may see it: the type of its stored name's extension (which this module chose
    from the bytes), as an attachment, with nosniff and a sandboxing CSP. <img> and <video>
    show it all the same; opened on its own, the browser downloads it."""
    storage = storage or media_storage()
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    media_type = TYPES_BY_EXTENSION.get(extension)
    mime_type = media_type.mime_type if media_type else "application/octet-stream"
    response = FileResponse(
        storage.open(name, "rb"),
        as_attachment=True,
        filename=media_display_name(download_name) or name.rsplit("/", 1)[-1],
        content_type=mime_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = SANDBOX_POLICY
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Cache-Control"] = "private, max-age=3600"
    return response


# --- Channels -------------------------------------------------------------------------------

WHATSAPP = "whatsapp"
TELEGRAM = "telegram"
SMS = "sms"
CHANNELS = (WHATSAPP, TELEGRAM, SMS)

# WhatsApp Cloud API, "Supported media types" (Meta's Cloud API reference, as listed in AWS
# End User Messaging Social's "Supported media file types and sizes in WhatsApp"): image
# JPEG and PNG, 5 MB (WebP only as a sticker, 100 KB static / 500 KB animated; GIF not at
# all); video MP4 and 3GPP, 16 MB, H.264 video and AAC audio only (the codecs are not checked
# here); audio 16 MB; documents (PDF, Word, Excel, PowerPoint, text) 100 MB.
WHATSAPP_LIMITS = {
    "image/jpeg": 5 * MB,
    "image/png": 5 * MB,
    "video/mp4": 16 * MB,
    "video/3gpp": 16 * MB,
    **{mime: 100 * MB for mime, media_type in TYPES.items() if media_type.kind == DOCUMENT},
}
# Telegram Bot API, "Sending files": uploaded with multipart/form-data, 10 MB for photos and
# 50 MB for other files (sendPhoto: "The photo's width and height must not exceed 10000 in
# total. Width and height ratio must be at most 20."). Sent by URL the limits are 5 MB and
# 20 MB: the distribution must upload. GIFs go as animations (sendAnimation), other files.
TELEGRAM_PHOTO_BYTES = 10 * MB
TELEGRAM_FILE_BYTES = 50 * MB
TELEGRAM_PHOTO_TYPES = {"image/jpeg", "image/png", "image/webp"}
TELEGRAM_PHOTO_SIDES = 10_000
TELEGRAM_PHOTO_RATIO = 20


def channel_fit(info: MediaInfo) -> list[ChannelFit]:
    """Per channel (WhatsApp, Telegram, SMS), whether it can carry this file as it is."""
    return [_whatsapp_fit(info), _telegram_fit(info), ChannelFit(
        SMS, fits=False, limit=0, reason=_("SMS carries text only; the file is not sent."),
    )]  # fmt: skip


def _whatsapp_fit(info: MediaInfo) -> ChannelFit:
    limit = WHATSAPP_LIMITS.get(info.mime_type, 0)
    if not limit:
        return ChannelFit(
            WHATSAPP, fits=False, limit=0,
            reason=_("WhatsApp does not take %(type)s images: use JPEG or PNG.")
            % {"type": info.label},
        )  # fmt: skip
    return _size_fit(WHATSAPP, info, limit)


def _telegram_fit(info: MediaInfo) -> ChannelFit:
    if info.mime_type not in TELEGRAM_PHOTO_TYPES:
        return _size_fit(TELEGRAM, info, TELEGRAM_FILE_BYTES)
    width, height = info.width or 0, info.height or 0
    if width + height > TELEGRAM_PHOTO_SIDES or max(width, height) > TELEGRAM_PHOTO_RATIO * max(
        1, min(width, height)
    ):
        return ChannelFit(
            TELEGRAM, fits=False, limit=TELEGRAM_PHOTO_BYTES,
            reason=_(
                "Telegram takes photos whose width and height add up to at most 10,000 pixels "
                "and whose long side is at most 20 times the short one."
            ),
        )  # fmt: skip
    return _size_fit(TELEGRAM, info, TELEGRAM_PHOTO_BYTES)


def _size_fit(channel: str, info: MediaInfo, limit: int) -> ChannelFit:
    if info.size <= limit:
        return ChannelFit(channel, fits=True, limit=limit)
    return ChannelFit(
        channel, fits=False, limit=limit,
        reason=_("The file is %(size)s MB; this channel takes at most %(limit)s MB.")
        % {"size": _megabytes(info.size, up=True), "limit": _megabytes(limit)},
    )  # fmt: skip

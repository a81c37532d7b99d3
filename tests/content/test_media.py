"""Content files: the type comes from the bytes, hostile and oversized files are refused with a
clear message after a bounded read, thumbnails carry no metadata, stored names are the
portal's own, served files never run, and each channel's limits are known."""

from __future__ import annotations

import io
import random
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest
from django.core.files import File
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.db import models
from django.utils import translation
from PIL import Image

from content import media
from content.media import MediaError, MediaInfo
from tests.support import processes

MB = 1_000_000


@pytest.fixture(autouse=True)
def content_storage(settings, tmp_path):
    """Content files go to a folder of this test's own."""
    settings.STORAGES = {
        **settings.STORAGES,
        "content_media": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }
    return tmp_path / "media"


def stored_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


# --- Files made here ------------------------------------------------------------------------


def image_bytes(format_: str, *, size=(40, 20), mode="RGB", **options) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, (200, 30, 30) if mode == "RGB" else None).save(buffer, format_, **options)
    return buffer.getvalue()


def upload(content: bytes, name: str, content_type: str = "image/jpeg") -> SimpleUploadedFile:
    """As the browser sends it: the name and the type are the uploader's claim."""
    return SimpleUploadedFile(name, content, content_type=content_type)


def box(kind: bytes, payload: bytes = b"") -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def mp4_bytes(major=b"isom", compatible=(b"isom", b"avc1"), *, moov=True, mdat=1000) -> bytes:
    """A minimal ISO base media file: ftyp, a movie box, media data."""
    ftyp = box(b"ftyp", major + b"\0\0\2\0" + b"".join(compatible))
    movie = box(b"moov", box(b"mvhd", bytes(100))) if moov else b""
    return ftyp + movie + box(b"mdat", bytes(mdat))


PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def office_bytes(*parts: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in parts:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


def png_with_dimensions(width: int, height: int) -> bytes:
    """A real 1x1 PNG whose header claims other dimensions (its pixel data cannot fill them)."""
    png = bytearray(image_bytes("PNG", size=(1, 1)))
    png[16:24] = struct.pack(">II", width, height)
    png[29:33] = struct.pack(">I", zlib.crc32(bytes(png[12:29])))
    return bytes(png)


def jpeg_with_dimensions(width: int, height: int) -> bytes:
    """A real 8x8 JPEG whose frame header (SOF0) claims other dimensions."""
    jpeg = bytearray(image_bytes("JPEG", size=(8, 8)))
    at = 2
    while jpeg[at : at + 2] != b"\xff\xc0":
        at += 2 + struct.unpack(">H", jpeg[at + 2 : at + 4])[0]
    jpeg[at + 5 : at + 9] = struct.pack(">HH", height, width)
    return bytes(jpeg)


def webp_with_canvas(width: int, height: int) -> bytes:
    """An extended WebP header (VP8X) whose canvas is width x height."""
    chunk = b"\0\0\0\0" + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    body = b"WEBP" + b"VP8X" + struct.pack("<I", len(chunk)) + chunk + bytes(64)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def gps_exif(orientation: int = 6) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: (28.0, 36.0, 50.0), 3: "E", 4: (77.0, 12.0, 30.0)}
    return exif


def jpeg_with_gps(*, size=(40, 20), orientation=6) -> bytes:
    """A photo as phones save it: turned by its EXIF orientation, with where it was taken, and
    a comment."""
    image = Image.radial_gradient("L").resize(size).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=gps_exif(orientation), comment=b"At the leader's house")
    return buffer.getvalue()


SVG_WITH_SCRIPT = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.cookie)</script><rect width='10' height='10'/></svg>"
)


# --- Images ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("format_", "mime_type"),
    [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp"), ("GIF", "image/gif")],
)
def test_images_are_taken_as_what_their_bytes_say(format_, mime_type):
    info = media.media_inspect(upload(image_bytes(format_), "x.bin", "text/plain"), kind="image")

    assert (info.mime_type, info.width, info.height) == (mime_type, 40, 20)


def test_a_png_named_jpg_is_a_png_and_is_offered_as_one():
    info = media.media_inspect(upload(image_bytes("PNG"), "poster.jpg"), kind="image")

    assert info.mime_type == "image/png"
    assert info.download_name == "poster.png"


def test_a_text_file_named_jpg_is_refused():
    with pytest.raises(MediaError) as refusal:
        media.media_inspect(upload(b"just some text\n" * 20, "photo.jpg"), kind="image")

    assert refusal.value.code == "not_an_image"
    assert "JPEG, PNG, WebP or GIF" in refusal.value.message


def test_an_image_header_followed_by_garbage_is_refused_and_nothing_is_stored(content_storage):
    fake = b"\xff\xd8\xff" + b"this is not a jpeg at all" * 40

    with pytest.raises(MediaError) as refusal:
        media.media_store(upload(fake, "photo.jpg"), kind="image")

    assert refusal.value.code == "image_damaged"
    assert stored_files(content_storage) == []


def test_a_truncated_photo_is_refused_when_decoded_and_nothing_is_stored(content_storage):
    photo = image_bytes("JPEG", size=(600, 400), quality=95)

    with pytest.raises(MediaError) as refusal:
        media.media_store(upload(photo[: len(photo) // 3], "photo.jpg"), kind="image")

    assert refusal.value.code == "image_damaged"
    assert stored_files(content_storage) == []


@pytest.mark.parametrize(
    "bomb",
    [
        png_with_dimensions(100_000, 100_000),
        jpeg_with_dimensions(65_000, 65_000),
        webp_with_canvas(16_000, 16_000),
        png_with_dimensions(8_000, 8_000),  # 64 megapixels: under Pillow's limit, over ours
        png_with_dimensions(30_000, 10),  # few pixels, but a side over the limit
    ],
    ids=["png", "jpeg", "webp", "png-64mp", "long-side"],
)
def test_an_image_bomb_is_refused_from_its_header(bomb, content_storage):
    assert len(bomb) < 2000

    with pytest.raises(MediaError) as refusal:
        media.media_store(upload(bomb, "bomb.png"), kind="image")

    # Its pixel data could not fill those dimensions: decoding it would have said "damaged".
    assert refusal.value.code == "image_too_many_pixels"
    assert "40 megapixels" in refusal.value.message
    assert stored_files(content_storage) == []


def test_image_bombs_are_refused_in_flat_memory():
    """In a fresh process (its peak memory is the test's): three bombs that would unpack to
    gigabytes are refused while the process stays near its size at start."""
    script = (
        "import os, django\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'cadreconnect.settings')\n"
        "django.setup()\n"
        "from django.core.files.base import ContentFile\n"
        "from content import media\n"
        "from tests.content.test_media import png_with_dimensions, webp_with_canvas\n"
        "from tests.content.test_media import jpeg_with_dimensions\n"
        "for bomb in (png_with_dimensions(60_000, 60_000), webp_with_canvas(16_000, 16_000),\n"
        "             jpeg_with_dimensions(60_000, 60_000)):\n"
        "    try:\n"
        "        media.media_inspect(ContentFile(bomb, name='b'), kind='image')\n"
        "    except media.MediaError as error:\n"
        "        print(error.code)\n"
        "print([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=processes.PROJECT_DIR, env=processes.process_env(),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    *codes, peak_kb = result.stdout.split()
    assert codes == ["image_too_many_pixels"] * 3, result.stderr
    assert int(peak_kb) < 200 * 1024  # a decoded 60,000-pixel square would be 10 GB


def test_pixel_limits_are_the_deployments(settings):
    settings.CONTENT_IMAGE_MAX_SIDE = 300

    with pytest.raises(MediaError) as refusal:
        media.media_inspect(upload(image_bytes("PNG", size=(400, 50)), "wide.png"), kind="image")

    assert refusal.value.code == "image_too_many_pixels"
    assert "300 pixels a side" in refusal.value.message


def test_an_svg_with_a_script_is_refused_whatever_it_is_called():
    with pytest.raises(MediaError) as refusal:
        media.media_inspect(upload(SVG_WITH_SCRIPT, "logo.png", "image/png"), kind="image")

    assert refusal.value.code == "markup_refused"
    assert "PNG" in refusal.value.message


def test_a_web_page_with_an_image_appended_is_refused():
    page = b"<!DOCTYPE html><html><script>alert(1)</script></html>" + image_bytes("PNG")

    with pytest.raises(MediaError) as refusal:
        media.media_inspect(upload(page, "photo.png", "image/png"), kind="image")

    assert refusal.value.code == "markup_refused"


def test_an_image_with_a_web_page_appended_is_kept_and_served_only_as_an_image():
    """A polyglot: a real PNG that is also an HTML page to a browser that sniffs. Kept as the
    PNG it is, and served so that no browser takes it for a page."""
    polyglot = image_bytes("PNG") + b"<html><script>alert(document.domain)</script></html>"
    stored = media.media_store(upload(polyglot, "banner.html", "text/html"), kind="image")

    response = media.media_response(stored.name, download_name=stored.info.download_name)

    assert stored.info.mime_type == "image/png"
    assert stored.name.endswith(".png")
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'attachment; filename="banner.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert b"".join(response.streaming_content) == polyglot
    response.file_to_stream.close()


def test_a_hostile_file_name_is_never_the_stored_name(content_storage):
    name = "..\\..\\settings\x00.py\x01 poster.png"

    stored = media.media_store(upload(image_bytes("PNG"), name), kind="image")

    assert stored.name.startswith("content/image/")
    assert stored.name.endswith(".png")
    assert "\x00" not in stored.name and "settings" not in stored.name
    assert stored.info.original_name == "settings.py poster.png"
    assert stored_files(content_storage) == sorted(
        [content_storage / stored.name, content_storage / stored.thumbnail_name]
    )
    assert (content_storage / stored.name).read_bytes() == image_bytes("PNG")


def test_a_file_field_saves_under_a_name_made_from_the_type_found():
    class Variant:
        media_type = "image/png"

    name = media.media_upload_to(Variant(), "../../etc/passwd\x00.jpg")

    assert name.startswith("content/image/") and name.endswith(".png")
    assert "passwd" not in name


def test_the_size_limit_is_per_kind_and_the_deployments(settings):
    settings.CONTENT_MEDIA_MAX_BYTES = {**settings.CONTENT_MEDIA_MAX_BYTES, "image": 1024}
    photo = image_bytes("PNG", size=(200, 200), mode="RGB", compress_level=0)

    with pytest.raises(MediaError) as refusal:
        media.media_inspect(upload(photo, "photo.png"), kind="image")

    assert refusal.value.code == "file_too_large"
    assert refusal.value.extra == {"limit": 1024}


def test_refusals_speak_hindi():
    with translation.override("hi"), pytest.raises(MediaError) as refusal:
        media.media_inspect(upload(b"text", "photo.jpg"), kind="image")

    assert "JPEG" in refusal.value.message
    assert "छवि" in refusal.value.message


@pytest.mark.parametrize(
    ("content", "kind", "code"),
    [(b"", "image", "file_empty"), (image_bytes("PNG"), "link", "media_kind")],
    ids=["empty", "link-content"],
)
def test_an_empty_file_or_a_kind_without_files_is_refused(content, kind, code):
    with pytest.raises(MediaError) as refusal:
        media.media_inspect(upload(content, "photo.png"), kind=kind)

    assert refusal.value.code == code


def test_the_file_picker_offers_the_types_taken():
    assert media.media_accept("video") == "video/mp4,.mp4,video/3gpp,.3gp"
    assert media.media_accept("link") == ""


# --- Thumbnails -----------------------------------------------------------------------------


def test_a_thumbnail_is_turned_upright_and_carries_no_exif_or_gps(content_storage):
    photo = jpeg_with_gps(size=(1200, 600), orientation=6)
    assert Image.open(io.BytesIO(photo)).getexif().get_ifd(0x8825)  # the photo has a position

    stored = media.media_store(upload(photo, "rally.jpg"), kind="image")

    thumbnail_bytes = (content_storage / stored.thumbnail_name).read_bytes()
    thumbnail = Image.open(io.BytesIO(thumbnail_bytes))
    assert thumbnail.format == "JPEG"
    assert thumbnail.size == (240, 480)  # landscape as stored, portrait as shown: turned
    assert not thumbnail.getexif()
    assert b"Exif" not in thumbnail_bytes and b"PhoneMaker" not in thumbnail_bytes
    assert (stored.info.width, stored.info.height) == (1200, 600)


def test_a_photo_is_kept_without_its_metadata_and_without_loss(content_storage):
    photo = jpeg_with_gps(size=(300, 200), orientation=6)
    assert media.media_inspect(upload(photo, "rally.jpg"), kind="image").has_location

    stored = media.media_store(upload(photo, "rally.jpg"), kind="image")

    kept = (content_storage / stored.name).read_bytes()
    image = Image.open(io.BytesIO(kept))
    assert not image.getexif().get_ifd(0x8825)
    assert dict(image.getexif()) == {0x0112: 6}  # the orientation alone, so it shows upright
    assert b"PhoneMaker" not in kept and b"leader's house" not in kept
    assert image.tobytes() == Image.open(io.BytesIO(photo)).tobytes()  # the same pixels
    assert (stored.info.size, stored.info.has_location) == (len(kept), False)


def test_what_a_phone_appends_to_a_photo_is_not_kept(content_storage):
    """A "motion photo": a video after the picture's end, with its own record of the place."""
    photo = image_bytes("JPEG", size=(64, 64), progressive=True)
    motion = box(b"ftyp", b"mp42\0\0\0\0") + box(b"udta", b"\xa9xyz+28.6139+077.2090/")

    stored = media.media_store(upload(photo + motion, "motion.jpg"), kind="image")

    assert (content_storage / stored.name).read_bytes() == photo


def test_a_photo_whose_exif_is_damaged_is_taken_all_the_same(content_storage):
    """Its GPS longitude says it is made of bytes, not fractions (found by mutating photos):
    Pillow's own exif_transpose fails rewriting it; the thumbnail needs none of it."""
    entry = b"\x00\x04\x00\x05\x00\x00\x00\x03"  # tag 4, type RATIONAL, 3 values
    photo = jpeg_with_gps(size=(60, 40)).replace(entry, b"\x00\x04\x00\x01" + entry[4:], 1)
    assert photo != jpeg_with_gps(size=(60, 40))

    stored = media.media_store(upload(photo, "rally.jpg"), kind="image")

    thumbnail = Image.open(content_storage / stored.thumbnail_name)
    assert thumbnail.size == (40, 60)  # still turned upright
    assert not Image.open(content_storage / stored.name).getexif().get_ifd(0x8825)


def test_a_png_that_records_a_position_is_flagged():
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20)).save(buffer, "PNG", exif=gps_exif())

    info = media.media_inspect(upload(buffer.getvalue(), "map.png"), kind="image")

    assert info.has_location


def test_a_transparent_image_gets_a_white_background(content_storage):
    clear = image_bytes("PNG", size=(20, 20), mode="RGBA")

    stored = media.media_store(upload(clear, "logo.png"), kind="image")

    thumbnail = Image.open(content_storage / stored.thumbnail_name)
    assert thumbnail.convert("RGB").getpixel((10, 10)) == (255, 255, 255)


def test_a_large_upload_kept_on_disk_by_django_is_stored_whole(content_storage):
    """Django writes uploads over FILE_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) to a temporary file."""
    photo = image_bytes("PNG", size=(1100, 1000), compress_level=0)
    assert len(photo) > 3 * MB
    uploaded = TemporaryUploadedFile("big.png", "image/png", len(photo), None)
    uploaded.write(photo)

    stored = media.media_store(uploaded, kind="image")

    uploaded.close()
    assert (content_storage / stored.name).read_bytes() == photo
    assert stored.info.size == len(photo)


class OriginalsRefused(FileSystemStorage):
    """A store that fails to keep the file itself, as a full disk or a bucket gone away."""

    def _save(self, name, content):
        if not name.startswith("content/thumbnails/"):
            raise OSError("No space left on device")
        return super()._save(name, content)


def test_when_the_file_cannot_be_kept_its_thumbnail_is_removed(content_storage):
    storage = OriginalsRefused(location=content_storage)

    with pytest.raises(OSError):
        media.media_store(upload(image_bytes("JPEG"), "a.jpg"), kind="image", storage=storage)

    assert stored_files(content_storage) == []


def test_discarding_removes_the_file_and_its_thumbnail(content_storage):
    stored = media.media_store(upload(image_bytes("JPEG"), "a.jpg"), kind="image")
    assert len(stored_files(content_storage)) == 2

    media.media_discard(stored)

    assert stored_files(content_storage) == []


# --- Video ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("major", "compatible", "mime_type"),
    [
        (b"isom", (b"isom", b"avc1"), "video/mp4"),
        (b"mp42", (b"mp42", b"isom"), "video/mp4"),
        (b"3gp4", (b"3gp4", b"isom"), "video/3gpp"),
    ],
)
def test_mp4_and_3gp_videos_are_taken(major, compatible, mime_type, content_storage):
    stored = media.media_store(
        upload(mp4_bytes(major, compatible), "clip.avi", "video/avi"), kind="video"
    )

    assert stored.info.mime_type == mime_type
    assert stored.thumbnail_name == ""
    assert stored.name.endswith("." + media.TYPES[mime_type].extension)


@pytest.mark.parametrize(
    "video",
    [
        mp4_bytes(b"qt  ", (b"qt  ",)),  # QuickTime .mov
        mp4_bytes(b"M4A ", (b"M4A ", b"isom")),  # audio only
        mp4_bytes(moov=False),  # no movie
        mp4_bytes()[:-10],  # the last box runs past the end
        mp4_bytes()[:40] + b"<html><script>alert(1)</script></html>",
        box(b"free") + mp4_bytes(),  # ftyp is not first
    ],
    ids=["quicktime", "audio", "no-moov", "truncated", "html-after-ftyp", "ftyp-not-first"],
)
def test_files_that_are_not_mp4_or_3gp_videos_are_refused(video):
    with pytest.raises(MediaError) as refusal:
        media.media_inspect(upload(video, "clip.mp4", "video/mp4"), kind="video")

    assert refusal.value.code == "not_a_video"


class CountingFile(io.FileIO):
    """A file that counts the bytes read from it."""

    bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        return data


def test_an_oversized_video_is_refused_without_reading_it(tmp_path, settings):
    limit = settings.CONTENT_MEDIA_MAX_BYTES["video"]
    path = tmp_path / "long.mp4"
    with path.open("wb") as video:
        video.write(mp4_bytes())
        video.truncate(limit + 1)  # sparse: no disk used for the rest
    source = CountingFile(path)

    with pytest.raises(MediaError) as refusal:
        media.media_inspect(File(source, name="long.mp4"), kind="video")

    source.close()
    assert refusal.value.code == "file_too_large"
    assert refusal.value.message == (
        "The file is 50.1 MB; the limit for this kind of content is 50 MB."
    )
    assert source.bytes_read == 0


def test_a_large_video_is_checked_by_reading_a_few_bytes(tmp_path):
    head = mp4_bytes(mdat=0)[:-8] + struct.pack(">I4s", 8 + 40 * MB, b"mdat")
    path = tmp_path / "big.mp4"
    with path.open("wb") as video:
        video.write(head)
        video.truncate(len(head) + 40 * MB)  # sparse
    source = CountingFile(path)

    info = media.media_inspect(File(source, name="big.mp4"), kind="video")

    source.close()
    assert (info.mime_type, info.size) == ("video/mp4", path.stat().st_size)
    assert source.bytes_read < 100 * 1024


def test_a_video_for_an_image_content_is_refused():
    with pytest.raises(MediaError) as refusal:
        media.media_inspect(upload(mp4_bytes(), "clip.jpg"), kind="image")

    assert refusal.value.code == "not_an_image"


# --- Documents ------------------------------------------------------------------------------


def test_a_video_laid_out_as_ffmpeg_writes_it_is_taken():
    """ffmpeg's default layout: the movie box after the media, a free box, and media data
    whose size is written in 64 bits."""
    ftyp = box(b"ftyp", b"isom\0\0\2\0isomiso2avc1mp41")
    mdat = struct.pack(">I4sQ", 1, b"mdat", 16 + 5000) + bytes(5000)
    video = ftyp + box(b"free") + mdat + box(b"moov", box(b"mvhd", bytes(100)))

    info = media.media_inspect(upload(video, "clip.mp4", "video/mp4"), kind="video")

    assert info.mime_type == "video/mp4"


def test_a_pdf_made_by_a_real_writer_is_taken():
    buffer = io.BytesIO()
    Image.new("RGB", (50, 50), "white").save(buffer, "PDF")

    info = media.media_inspect(upload(buffer.getvalue(), "leaflet.pdf"), kind="document")

    assert info.mime_type == "application/pdf"


def test_a_workbook_saved_by_openpyxl_is_an_excel_file():
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(["Booth", "Volunteers"])
    buffer = io.BytesIO()
    workbook.save(buffer)

    info = media.media_inspect(upload(buffer.getvalue(), "plan.xlsx"), kind="document")

    assert (info.extension, info.label) == ("xlsx", "Excel")


def test_a_pdf_is_taken():
    info = media.media_inspect(
        upload(PDF, "manifesto", "application/octet-stream"), kind="document"
    )

    assert (info.mime_type, info.download_name) == ("application/pdf", "manifesto.pdf")


def test_a_pdf_without_its_end_is_refused():
    with pytest.raises(MediaError) as refusal:
        media.media_inspect(upload(PDF[:60], "manifesto.pdf"), kind="document")

    assert refusal.value.code == "pdf_damaged"


@pytest.mark.parametrize(
    ("main_part", "extension"),
    [("word/document.xml", "docx"), ("xl/workbook.xml", "xlsx"), ("ppt/presentation.xml", "pptx")],
)
def test_office_files_are_told_apart_by_their_parts(main_part, extension):
    document = office_bytes("[Content_Types].xml", "_rels/.rels", main_part)

    info = media.media_inspect(upload(document, "notes.zip"), kind="document")

    assert info.extension == extension


@pytest.mark.parametrize(
    ("parts", "code"),
    [
        (("readme.txt", "photo.jpg"), "not_a_document"),
        (("[Content_Types].xml", "word/document.xml", "word/vbaProject.bin"), "document_macros"),
    ],
    ids=["plain-zip", "macros"],
)
def test_zips_that_are_not_plain_office_files_are_refused(parts, code):
    with pytest.raises(MediaError) as refusal:
        media.media_inspect(upload(office_bytes(*parts), "notes.docx"), kind="document")

    assert refusal.value.code == code


def test_a_zip_of_a_version_zipfile_cannot_read_is_refused():
    document = bytearray(office_bytes("[Content_Types].xml", "word/document.xml"))
    entry = document.index(b"PK\x01\x02")
    document[entry + 6 : entry + 8] = struct.pack("<H", 99)  # version needed to extract: 9.9

    with pytest.raises(MediaError) as refusal:
        media.media_inspect(upload(bytes(document), "notes.docx"), kind="document")

    assert refusal.value.code == "not_a_document"


def test_a_zip_with_a_huge_directory_is_refused_from_its_end_record():
    end_record = b"PK\x05\x06" + struct.pack("<4H2LH", 0, 0, 65535, 65535, 1 << 30, 4, 0)
    with pytest.raises(MediaError) as refusal:
        media.media_inspect(
            upload(b"PK\x03\x04" + bytes(100) + end_record, "a.docx"), kind="document"
        )

    assert refusal.value.code == "not_a_document"


# --- Channels -------------------------------------------------------------------------------


def fits(info: MediaInfo) -> dict[str, tuple[bool, int]]:
    return {fit.channel: (fit.fits, fit.limit) for fit in media.channel_fit(info)}


@pytest.mark.parametrize(
    ("info", "expected"),
    [
        (
            MediaInfo(kind="image", mime_type="image/jpeg", size=4 * MB, width=1600, height=900),
            {"whatsapp": (True, 5 * MB), "telegram": (True, 10 * MB), "sms": (False, 0)},
        ),
        (
            MediaInfo(kind="image", mime_type="image/png", size=6 * MB, width=1600, height=900),
            {"whatsapp": (False, 5 * MB), "telegram": (True, 10 * MB), "sms": (False, 0)},
        ),
        (
            MediaInfo(kind="image", mime_type="image/webp", size=MB, width=800, height=800),
            {"whatsapp": (False, 0), "telegram": (True, 10 * MB), "sms": (False, 0)},
        ),
        (
            MediaInfo(kind="image", mime_type="image/gif", size=12 * MB, width=400, height=300),
            {"whatsapp": (False, 0), "telegram": (True, 50 * MB), "sms": (False, 0)},
        ),
        (
            MediaInfo(kind="image", mime_type="image/jpeg", size=MB, width=9000, height=2000),
            {"whatsapp": (True, 5 * MB), "telegram": (False, 10 * MB), "sms": (False, 0)},
        ),
        (
            MediaInfo(kind="video", mime_type="video/mp4", size=20 * MB),
            {"whatsapp": (False, 16 * MB), "telegram": (True, 50 * MB), "sms": (False, 0)},
        ),
        (
            MediaInfo(kind="video", mime_type="video/3gpp", size=16 * MB),
            {"whatsapp": (True, 16 * MB), "telegram": (True, 50 * MB), "sms": (False, 0)},
        ),
        (
            MediaInfo(kind="document", mime_type="application/pdf", size=60 * MB),
            {"whatsapp": (True, 100 * MB), "telegram": (False, 50 * MB), "sms": (False, 0)},
        ),
    ],
    ids=["jpeg", "png-6mb", "webp", "gif", "panorama", "mp4-20mb", "3gp-16mb", "pdf-60mb"],
)
def test_channel_fit(info, expected):
    assert fits(info) == expected


def test_a_file_that_does_not_fit_says_why():
    info = MediaInfo(kind="video", mime_type="video/mp4", size=20 * MB)

    whatsapp, _telegram, sms = media.channel_fit(info)

    assert whatsapp.reason == "The file is 20 MB; this channel takes at most 16 MB."
    assert "text only" in sms.reason


# --- Settings -------------------------------------------------------------------------------


def test_an_s3_store_without_django_storages_stops_start_up_with_a_clear_message():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=processes.PROJECT_DIR,
        env=processes.process_env(CONTENT_MEDIA_S3_BUCKET="campaign-media"),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert result.returncode != 0
    assert "django-storages is not installed" in result.stderr
    assert "Traceback" not in result.stderr


def test_media_root_is_not_served(lalit_client, settings, content_storage):
    """Content files are served only by a view that checks the reader's area: no URL serves
    MEDIA_ROOT as it is (member lists uploaded for import are kept there too)."""
    settings.MEDIA_ROOT = content_storage
    stored = media.media_store(upload(image_bytes("PNG"), "poster.png"), kind="image")

    response = lalit_client.get(f"/{settings.MEDIA_URL}{stored.name}")

    assert response.status_code == 404


@pytest.mark.filterwarnings("ignore:.*:UserWarning:PIL")  # Pillow on the damaged EXIF
def test_damaged_files_of_every_type_are_refused_or_taken_never_an_error(content_storage):
    """Valid files of each type with bytes changed, cut out or put in at random (a fixed seed):
    each is kept or refused with a clear message; nothing else escapes (no 500)."""
    seeds = {
        "image": [image_bytes("JPEG"), image_bytes("PNG"), image_bytes("WEBP"),
                  image_bytes("GIF"), jpeg_with_gps(size=(60, 40))],
        "video": [mp4_bytes(), mp4_bytes(b"3gp4", (b"3gp4",))],
        "document": [PDF, office_bytes("[Content_Types].xml", "word/document.xml")],
    }  # fmt: skip
    rng = random.Random(12)  # noqa: S311 (a repeatable sequence, not a secret)
    outcomes = set()
    for _ in range(300):
        kind = rng.choice(list(seeds))
        damaged = bytearray(rng.choice(seeds[kind]))
        for _change in range(rng.randint(1, 6)):
            at = rng.randrange(len(damaged))
            if rng.random() < 0.6:
                damaged[at] = rng.randrange(256)
            else:
                del damaged[at : at + rng.randint(1, 40)]
        try:
            media.media_store(upload(bytes(damaged), "damaged"), kind=kind)
            outcomes.add("kept")
        except MediaError as refusal:
            outcomes.add(refusal.code)

    assert {"kept", "image_damaged", "not_a_video", "not_a_document"} <= outcomes


def test_the_kind_may_be_a_models_choice():
    class Kind(models.TextChoices):
        IMAGE = "image", "Image"

    info = media.media_inspect(upload(image_bytes("PNG"), "a.png"), kind=Kind.IMAGE)

    assert info.mime_type == "image/png"

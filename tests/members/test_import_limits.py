"""Files bounded before they cost anything: the web request stores and sniffs, the worker reads
within limits a deployment sets, and hostile files are refused with a clear message while the
worker's memory stays flat."""

from __future__ import annotations

from pathlib import Path

import pytest

from members.models import Member, MemberImport
from tests.conftest import wait_until
from tests.members import hostile_files as hostile
from tests.members.test_import import check_and_import, csv_bytes, upload

WORKER_MEMORY_LIMIT_KB = 200 * 1024
HEADER_ROWS = hostile.inline_row(1, "name", "phone", "booth") + hostile.inline_row(
    2, "Ravi Naik", "9811111111", "S05-AC-001-B-0001"
)


@pytest.fixture
def naveen_client(client, naveen):
    client.force_login(naveen)
    return client


def peak_memory_kb(pid: int) -> int:
    """The most memory the process has held so far (VmHWM, its peak resident set)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def refused(member_import: MemberImport, *, timeout: float = 60) -> MemberImport:
    """Wait until the worker has refused the file (at its first rows or in the check)."""
    return wait_until(
        lambda: MemberImport.objects.filter(pk=member_import.pk, status="failed").first(),
        timeout=timeout,
    )


def upload_file(client, path: Path, name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post("/members/import/", {"file": SimpleUploadedFile(name, path.read_bytes())})


def a_sheet_of_a_gigabyte(path: Path, **options) -> Path:
    """2.9 MB on disk; the sheet unpacks to 1 GB (20,000,000 rows) and has no <dimension>."""
    row = b'<row><c t="inlineStr"><is><t>x</t></is></c></row>'
    sheet = hostile.repeated_part("xl/worksheets/sheet1.xml", hostile.SHEET_START + HEADER_ROWS,
                                  row * 20_000, 1000, hostile.SHEET_END)  # fmt: skip
    return hostile.workbook(path, sheet, **options)


def check(client, member_import: MemberImport) -> None:
    """Ask for the check, as the column page does (the worker has read the first rows)."""
    wait_until(lambda: MemberImport.objects.get(pk=member_import.pk).status != "reading")
    client.post(f"/members/import/{member_import.pk}/columns/", {
        "column_full_name": "0", "column_phone": "1", "column_booth": "2", "policy": "skip",
    })  # fmt: skip


def test_a_gigabyte_sheet_whose_zip_says_so_is_refused_by_the_upload(naveen_client, tree,
                                                                     tmp_path):  # fmt: skip
    path = a_sheet_of_a_gigabyte(tmp_path / "bomb.xlsx")
    assert path.stat().st_size < 4 * 1024 * 1024

    response = upload_file(naveen_client, path, "members.xlsx")

    assert "The Excel sheet unpacks to more than 512 MB" in response.content.decode()
    assert not MemberImport.objects.exists()


def test_a_gigabyte_sheet_with_a_lying_zip_is_refused_by_the_worker_in_flat_memory(
    naveen_client, tree, celery_worker_process, tmp_path
):
    path = a_sheet_of_a_gigabyte(tmp_path / "bomb.xlsx",
                                 declared_sizes={"xl/worksheets/sheet1.xml": 90_000})  # fmt: skip
    upload_file(naveen_client, path, "members.xlsx")
    member_import = MemberImport.objects.get()
    check(naveen_client, member_import)

    failed = refused(member_import)

    assert failed.error_code == "xlsx_compression_ratio"
    assert "zip bomb" in failed.error
    assert peak_memory_kb(celery_worker_process.pid) < WORKER_MEMORY_LIMIT_KB
    assert not Member.objects.exists()
    page = naveen_client.get(f"/members/import/{member_import.pk}/").content.decode()
    assert "zip bomb" in page


def test_hundreds_of_mb_of_shared_strings_are_refused_by_the_worker_in_flat_memory(
    naveen_client, tree, celery_worker_process, tmp_path
):
    strings = hostile.repeated_part(
        "xl/sharedStrings.xml", b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006'
        b'/main">', b"<si><t>Ravi Naik</t></si>" * 50_000, 400, b"</sst>",
    )  # fmt: skip
    assert strings.size > 400 * 1024 * 1024
    sheet = hostile.part("xl/worksheets/sheet1.xml", hostile.SHEET_START + HEADER_ROWS
                         + hostile.SHEET_END)  # fmt: skip
    path = hostile.workbook(tmp_path / "strings.xlsx", sheet, strings,
                            declared_sizes={"xl/sharedStrings.xml": 50_000})  # fmt: skip
    assert path.stat().st_size < 2 * 1024 * 1024
    upload_file(naveen_client, path, "members.xlsx")
    member_import = MemberImport.objects.get()

    failed = refused(member_import)  # at its first rows: the column page shows why

    assert failed.error_code == "xlsx_compression_ratio"
    assert peak_memory_kb(celery_worker_process.pid) < WORKER_MEMORY_LIMIT_KB
    page = naveen_client.get(f"/members/import/{member_import.pk}/columns/", follow=True)
    assert "zip bomb" in page.content.decode()


def test_a_csv_of_100000_columns_is_refused_by_the_worker_in_flat_memory(
    naveen_client, tree, celery_worker_process
):
    header = ["name", "phone", "booth"] + [f"extra {n}" for n in range(100_000 - 3)]
    data = csv_bytes([["Ravi Naik", "9811111111", "S05-AC-001-B-0001"]], header=header)
    naveen_client.post("/members/import/", {"file": _file(data, "wide.csv")})
    member_import = MemberImport.objects.get()

    failed = refused(member_import)

    assert failed.error_code == "too_many_columns"
    assert "more than 200 columns" in failed.error
    assert failed.headers == [] and failed.sample == []
    assert peak_memory_kb(celery_worker_process.pid) < WORKER_MEMORY_LIMIT_KB
    page = naveen_client.get(f"/members/import/{member_import.pk}/columns/", follow=True)
    assert len(page.content) < 100_000
    assert "more than 200 columns" in page.content.decode()


def _file(data: bytes, name: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


def test_shared_strings_over_the_configured_size_are_refused(
    naveen_client, tree, celery_worker, settings, tmp_path
):
    """Counted as they unpack, whatever the zip says: the texts are held while the sheet is
    read."""
    settings.MEMBER_IMPORT_XLSX_MAX_SHARED_STRINGS_BYTES = 100_000
    texts = b"".join(f"<si><t>Member {n:06d} {n * 7919 % 1000003}</t></si>".encode()
                     for n in range(10_000))  # fmt: skip
    strings = hostile.part("xl/sharedStrings.xml", b"<sst>" + texts + b"</sst>")
    sheet = hostile.part("xl/worksheets/sheet1.xml", hostile.SHEET_START + HEADER_ROWS
                         + hostile.SHEET_END)  # fmt: skip
    path = hostile.workbook(tmp_path / "texts.xlsx", sheet, strings,
                            declared_sizes={"xl/sharedStrings.xml": 1000})  # fmt: skip
    upload_file(naveen_client, path, "members.xlsx")

    failed = refused(MemberImport.objects.get())

    assert failed.error_code == "xlsx_shared_strings_too_large"
    assert "texts unpack to more than" in failed.error


def test_a_sheet_over_the_configured_size_is_refused_in_the_check(
    naveen_client, tree, celery_worker, settings, tmp_path
):
    settings.MEMBER_IMPORT_XLSX_MAX_SHEET_BYTES = 2_000_000
    rows = b"".join(hostile.inline_row(n, f"Member {n}", f"98{n:08d}", "S05-AC-001-B-0001")
                    for n in range(3, 30_000))  # fmt: skip
    sheet = hostile.part("xl/worksheets/sheet1.xml",
                         hostile.SHEET_START + HEADER_ROWS + rows + hostile.SHEET_END)  # fmt: skip
    path = hostile.workbook(tmp_path / "long.xlsx", sheet,
                            declared_sizes={"xl/worksheets/sheet1.xml": 1000})  # fmt: skip
    upload_file(naveen_client, path, "members.xlsx")
    member_import = MemberImport.objects.get()
    check(naveen_client, member_import)

    failed = refused(member_import)

    assert failed.error_code == "xlsx_sheet_too_large"
    assert not Member.objects.exists()


def test_rows_over_the_configured_number_are_refused(naveen_client, tree, celery_worker, settings):
    settings.MEMBER_IMPORT_MAX_ROWS = 10
    rows = [[f"Member {n}", "", f"98{n:08d}", "", "S05-AC-001-B-0001", ""] for n in range(11)]
    upload(naveen_client, csv_bytes(rows))
    member_import = MemberImport.objects.get()
    check_page = naveen_client.get(f"/members/import/{member_import.pk}/columns/")
    assert check_page.status_code == 200  # the first rows are within the limit

    check(naveen_client, member_import)
    failed = refused(member_import)

    assert failed.error_code == "too_many_rows"
    assert "more than 10 rows" in failed.error


def test_a_cell_over_the_configured_length_is_a_problem_of_its_row(
    naveen_client, tree, celery_worker, settings
):
    settings.MEMBER_IMPORT_MAX_CELL_CHARS = 300
    rows = [["N" * 301, "", "9811111111", "", "S05-AC-001-B-0001", ""],
            ["Long Local", "L" * 301, "9822222222", "", "S05-AC-001-B-0001", ""]]  # fmt: skip
    upload(naveen_client, csv_bytes(rows))

    checked = check_and_import(naveen_client, MemberImport.objects.get())

    assert [(p["row"], p["column"], p["code"], p["severity"]) for p in checked.problems] == [
        (2, "full_name", "cell_too_long", "error"), (3, "name_local", "cell_too_long", "warning")
    ]  # fmt: skip
    assert (checked.rejected_count, checked.created_count) == (1, 1)


def test_the_upload_request_does_not_read_the_rows(naveen_client, tree):
    """Without a worker the file is stored and sniffed only: the column page waits for the
    worker (htmx polling), showing no columns."""
    upload(naveen_client, csv_bytes([["Ravi", "", "9811111111", "", "S05-AC-001-B-0001", ""]]),
           wait=False)  # fmt: skip
    member_import = MemberImport.objects.get()
    assert (member_import.status, member_import.headers) == ("reading", [])

    page = naveen_client.get(f"/members/import/{member_import.pk}/columns/").content.decode()
    poll = naveen_client.get(f"/members/import/{member_import.pk}/columns/",
                             headers={"HX-Request": "true"})  # fmt: skip

    assert "Reading the first rows" in page and 'hx-trigger="every 1s"' in page
    assert "<script" not in page.split("</head>", 1)[1]
    assert poll.status_code == 200 and "Reading the first rows" in poll.content.decode()

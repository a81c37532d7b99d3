"""Downloading the member list as CSV or Excel: the user's own members, as filtered, with
text that a spreadsheet would run as a formula made harmless."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from django.http import FileResponse, StreamingHttpResponse

from members import services
from members.exports import EXPORT_COLUMNS
from members.models import Member


def register(actor, booth, phone, name="Sunita Das", **fields) -> Member:
    return services.member_create(actor=actor, full_name=name, phone=phone, booth=booth, **fields)


def csv_rows(response) -> list[dict]:
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    content = b"".join(response.streaming_content)
    assert content.startswith(b"\xef\xbb\xbf")  # the BOM: Excel then reads UTF-8
    reader = csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""))
    header, *rows = list(reader)
    assert header == EXPORT_COLUMNS
    return [dict(zip(header, row, strict=True)) for row in rows]


def xlsx_rows(response) -> list[dict]:
    assert isinstance(response, FileResponse)
    content = b"".join(response.streaming_content)
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    sheet = workbook.worksheets[0]
    header, *rows = list(sheet.iter_rows(values_only=True))
    assert list(header) == EXPORT_COLUMNS
    formulas = [cell.coordinate for row in sheet.iter_rows() for cell in row
                if cell.data_type == "f"]  # fmt: skip
    assert formulas == []
    return [dict(zip(header, row, strict=True)) for row in rows]


READERS = {"csv": csv_rows, "xlsx": xlsx_rows}


def export(client, file_format: str, **params) -> list[dict]:
    response = client.get(f"/members/export.{file_format}", params)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert f'filename="members.{file_format}"' in response["Content-Disposition"]
    return READERS[file_format](response)


@pytest.fixture
def naveen_client(client, naveen):
    client.force_login(naveen)
    return client


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_district_lead_exports_only_their_own_members(naveen_client, asha, tree, file_format):
    register(asha, tree.mandrem_booths[0], "9811111111", name="Asha North", epic="GOA7654321",
             email="asha.north@example.com", gender="f", birth_year=1980)  # fmt: skip
    register(asha, tree.ponda_booth, "9822222222", name="Sita South")

    rows = export(naveen_client, file_format)

    assert [row["full_name"] for row in rows] == ["Asha North"]
    row = rows[0]
    assert row["phone"] == "'+919811111111"  # neutralised: a phone starts with +
    assert (row["email"], row["gender"], str(row["birth_year"]), row["epic"]) == (
        "asha.north@example.com", "f", "1980", "GOA7654321",
    )  # fmt: skip
    assert (row["booth_code"], row["booth_name"]) == ("S05-AC-001-B-0001", "Mandrem booth 1")
    assert (row["status"], row["verified"]) == ("active", "no")


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_the_list_filters_apply_to_the_export(naveen_client, asha, tree, file_format):
    register(asha, tree.mandrem_booths[0], "9811111111", name="Asha North")
    register(asha, tree.mandrem_booths[1], "9833333333", name="Ravi Kamat")
    register(asha, tree.mandrem_booths[1], "9844444444", name="Gone Quiet",
             status=Member.Status.INACTIVE)  # fmt: skip

    def names(**params) -> list[str]:
        return [row["full_name"] for row in export(naveen_client, file_format, **params)]

    assert names() == ["Asha North", "Gone Quiet", "Ravi Kamat"]
    assert names(group="S05-AC-001-B-0002") == ["Gone Quiet", "Ravi Kamat"]
    assert names(group="S05-AC-001-B-0002", status="active") == ["Ravi Kamat"]
    assert names(q="kamat") == ["Ravi Kamat"]
    assert names(q="ravi kam") == ["Ravi Kamat"]  # a name search, as on the list page
    assert names(verified="yes") == []


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_formula_like_text_comes_out_as_plain_text(naveen_client, asha, tree, file_format):
    register(asha, tree.mandrem_booths[0], "9811111111", name='=HYPERLINK("http://evil")')
    register(asha, tree.mandrem_booths[0], "9822222222", name="@SUM(1)",
             name_local="-2+3", notes="ok")  # fmt: skip
    register(asha, tree.mandrem_booths[0], "9833333333", name="\x01=1+1 hidden control")

    rows = {row["phone"]: row for row in export(naveen_client, file_format)}

    assert rows["'+919811111111"]["full_name"] == '\'=HYPERLINK("http://evil")'
    assert rows["'+919822222222"]["full_name"] == "'@SUM(1)"
    assert rows["'+919822222222"]["name_local"] == "'-2+3"
    assert rows["'+919833333333"]["full_name"] == "'=1+1 hidden control"


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_devanagari_names_survive(naveen_client, asha, tree, file_format):
    register(asha, tree.mandrem_booths[0], "9811111111", name="Ravi Naik", name_local="रवि नाइक")

    rows = export(naveen_client, file_format)

    assert rows[0]["name_local"] == "रवि नाइक"


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_signed_out_visitors_are_sent_to_sign_in(client, file_format):
    response = client.get(f"/members/export.{file_format}", {"status": "active"})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/members/export.")


def test_filters_that_do_not_parse_export_nothing(naveen_client, asha, tree):
    register(asha, tree.mandrem_booths[0], "9811111111", name="Asha North")

    response = naveen_client.get("/members/export.csv", {"group": "S05-AC-021"}, follow=True)

    page = response.content.decode()
    assert response.redirect_chain[-1][0] == "/members/?group=S05-AC-021"
    assert "Correct the filters before downloading." in page
    assert "No group with the code S05-AC-021 in your area" in page


def test_the_list_links_to_the_downloads_with_its_filters(naveen_client, tree):
    page = naveen_client.get("/members/", {"status": "inactive", "q": "naik", "page": "2"})

    content = page.content.decode()
    assert 'href="/members/export.csv?status=inactive&amp;q=naik"' in content
    assert 'href="/members/export.xlsx?status=inactive&amp;q=naik"' in content
    assert "Download CSV" in content and "Download Excel" in content
    assert 'href="/members/duplicates/"' in content


def test_the_csv_export_reads_the_rows_in_a_fixed_number_of_queries(
    naveen_client, asha, tree, django_assert_max_num_queries
):
    for number in range(30):
        register(asha, tree.mandrem_booths[number % 3], f"98110000{number:02d}",
                 name=f"Member {number:02d}")  # fmt: skip

    with django_assert_max_num_queries(8):
        rows = export(naveen_client, "csv")

    assert len(rows) == 30

"""Downloading the member list as CSV or Excel: the user's own members, as filtered, with
text that a spreadsheet would run as a formula made harmless."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from django.http import FileResponse, StreamingHttpResponse

from cadreconnect.models import AuditEvent
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
    # A CSV cell cannot say it is text: a phone starts with +, so it is neutralised. An Excel
    # cell can: the phone is a text cell as it is.
    assert row["phone"] == {"csv": "'+919811111111", "xlsx": "+919811111111"}[file_format]
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


def register_formula_like_names(asha, tree) -> None:
    register(asha, tree.mandrem_booths[0], "9811111111", name='=HYPERLINK("http://evil")')
    register(asha, tree.mandrem_booths[0], "9822222222", name="@SUM(1)",
             name_local="-2+3", notes="ok")  # fmt: skip
    hidden = register(asha, tree.mandrem_booths[0], "9833333333", name="hidden control")
    # The services refuse control characters now; rows written before them may hold one.
    Member.objects.filter(pk=hidden.pk).update(full_name="\x01=1+1 hidden control")


def test_formula_like_text_comes_out_as_plain_text_in_csv(naveen_client, asha, tree):
    register_formula_like_names(asha, tree)

    rows = {row["phone"]: row for row in export(naveen_client, "csv")}

    assert rows["'+919811111111"]["full_name"] == '\'=HYPERLINK("http://evil")'
    assert rows["'+919822222222"]["full_name"] == "'@SUM(1)"
    assert rows["'+919822222222"]["name_local"] == "'-2+3"
    assert rows["'+919833333333"]["full_name"] == "'=1+1 hidden control"


def test_excel_writes_every_text_as_a_text_cell_with_no_apostrophe(naveen_client, asha, tree):
    register_formula_like_names(asha, tree)

    response = naveen_client.get("/members/export.xlsx")

    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).worksheets[0]
    phone_column = EXPORT_COLUMNS.index("phone")
    name_column = EXPORT_COLUMNS.index("full_name")
    cells = {row[phone_column].value: row for row in list(sheet.iter_rows())[1:]}
    assert set(cells) == {"+919811111111", "+919822222222", "+919833333333"}
    for phone, row in cells.items():
        assert row[phone_column].data_type == "s", phone
        assert row[name_column].data_type == "s", phone
    assert cells["+919811111111"][name_column].value == '=HYPERLINK("http://evil")'
    assert cells["+919822222222"][name_column].value == "@SUM(1)"
    assert cells["+919833333333"][name_column].value == "=1+1 hidden control"


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


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_an_export_is_audited_with_who_which_filters_and_how_many_rows(
    naveen_client, naveen, asha, tree, file_format
):
    register(asha, tree.mandrem_booths[0], "9811111111", name="Asha North")
    register(asha, tree.mandrem_booths[1], "9822222222", name="Ravi North")

    everyone = export(naveen_client, file_format, status="active")
    by_phone = export(naveen_client, file_format, q="+91 98111-11111")

    events = list(AuditEvent.objects.filter(action="member.export").order_by("id"))
    assert [(event.actor, event.data["rows"], event.data["format"]) for event in events] == [
        (naveen, len(everyone), file_format), (naveen, len(by_phone), file_format),
    ]  # fmt: skip
    assert (len(everyone), len(by_phone)) == (2, 1)
    assert events[0].data["filters"]["status"] == "active"
    assert events[0].data["complete"] is True
    # The phone searched for is kept masked, never in full.
    assert events[1].data["filters"]["query"] == "+91 98xxxxxx11"
    assert "9811111111" not in str(events[1].data)


@pytest.mark.django_db(transaction=True)  # closing the response closes the connection
def test_an_interrupted_csv_download_is_audited_as_incomplete(naveen_client, naveen, asha, tree):
    for number in range(3):
        register(asha, tree.mandrem_booths[0], f"981111111{number}", name=f"Member {number}")

    response = naveen_client.get("/members/export.csv")
    first_chunk = next(iter(response.streaming_content))
    response.close()  # the client went away after the header: the server closes the response

    assert first_chunk.startswith(b"\xef\xbb\xbf")
    event = AuditEvent.objects.get(action="member.export")
    assert (event.actor, event.data["complete"], event.data["rows"]) == (naveen, False, 0)

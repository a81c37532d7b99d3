"""Importing member lists through the wizard: upload, match columns, check, import."""

from __future__ import annotations

import csv
import gc
import io
import os
import signal
import sys

import pytest

from members.models import Consent, Member, MemberImport
from tests.conftest import wait_until

HEADER = ["Name", "Hindi name", "Mobile", "Voter ID", "Booth code", "WhatsApp consent"]


def csv_bytes(rows: list[list[str]], *, bom: bool = False, header=HEADER) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return ("\ufeff" if bom else "").encode() + buffer.getvalue().encode("utf-8")


def upload(client, data: bytes, name: str = "members.csv", *, wait: bool = True):
    """Upload a file and, when it was taken, wait until the worker has read its first rows."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post("/members/import/", {"file": SimpleUploadedFile(name, data)})
    if wait and response.status_code == 302:
        wait_until(lambda: MemberImport.objects.filter(status="reading").count() == 0)
    return response


def check_and_import(client, member_import: MemberImport, *, policy: str = "skip") -> MemberImport:
    mapping_page = client.get(f"/members/import/{member_import.pk}/columns/")
    form = mapping_page.context["form"]
    data = {name: (field.initial if field.initial is not None else
                   form.initial.get(name, "")) for name, field in form.fields.items()}  # fmt: skip
    data.update(policy=policy, notice_version="2026-1")
    response = client.post(f"/members/import/{member_import.pk}/columns/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    wait_until(lambda: MemberImport.objects.get(pk=member_import.pk).status == "checked")
    return MemberImport.objects.get(pk=member_import.pk)


def run(client, member_import: MemberImport) -> MemberImport:
    client.post(f"/members/import/{member_import.pk}/run/")
    wait_until(lambda: MemberImport.objects.get(pk=member_import.pk).status == "done")
    return MemberImport.objects.get(pk=member_import.pk)


@pytest.fixture
def naveen_client(client, naveen):
    client.force_login(naveen)
    return client


def test_clean_file_is_checked_then_imported(naveen_client, tree, celery_worker):
    rows = [
        ["Ravi Naik", "रवि नाइक", "098123 45678", "goa1234567", "S05-AC-001-B-0001", "yes"],
        ["Meena Sawant", "", "+91 98222-22222", "", "s05-ac-001-b-0002", "no"],
        ["Arjun Das", "अर्जुन दास", "9833333333", "GOA7654321", "S05-AC-001-B-0003", ""],
    ]
    response = upload(naveen_client, csv_bytes(rows))
    member_import = MemberImport.objects.get()
    assert response["Location"] == f"/members/import/{member_import.pk}/columns/"
    assert member_import.mapping == {"full_name": 0, "name_local": 1, "phone": 2, "epic": 3,
                                     "booth": 4, "consent_whatsapp": 5}  # fmt: skip

    checked = check_and_import(naveen_client, member_import)

    assert (checked.rows_total, checked.created_count, checked.rejected_count) == (3, 3, 0)
    assert member_import.sample[0][0] == "Ravi Naik"  # read by the worker for the column page
    assert not Member.objects.exists()  # the check writes nothing
    page = naveen_client.get(f"/members/import/{member_import.pk}/").content.decode()
    assert "Import the valid rows" in page

    done = run(naveen_client, checked)

    assert done.created_count == 3
    ravi = Member.objects.get(phone="+919812345678")
    assert (ravi.name_local, ravi.epic, ravi.booth) == ("रवि नाइक", "GOA1234567",
                                                         tree.mandrem_booths[0])  # fmt: skip
    assert ravi.tree_id == tree.mandrem.tree_id and ravi.state == tree.goa
    assert Member.objects.get(phone="+919822222222").booth == tree.mandrem_booths[1]
    assert list(Consent.objects.values_list("member__phone", "purpose", "source")) == [
        ("+919812345678", "whatsapp", "import")
    ]


def test_bom_and_devanagari_survive_and_are_searchable(naveen_client, tree, celery_worker):
    rows = [["सुनीता देबबर्मा", "सुनीता देबबर्मा", "9811111111", "", "S05-AC-001-B-0001", ""]]
    upload(naveen_client, csv_bytes(rows, bom=True))
    member_import = MemberImport.objects.get()
    assert member_import.headers[0] == "Name"  # the BOM is not part of the first header

    run(naveen_client, check_and_import(naveen_client, member_import))

    page = naveen_client.get("/members/", {"q": "देबबर्मा"})
    assert [member.full_name for member in page.context["page"].members] == ["सुनीता देबबर्मा"]


def test_bad_rows_are_rejected_bad_optional_fields_left_empty_and_both_reported(
    naveen_client, tree, celery_worker
):
    rows = [
        ["Good One", "", "9811111111", "", "S05-AC-001-B-0001", "yes"],
        ["Bad Phone", "", "12345", "", "S05-AC-001-B-0001", ""],
        ["Out Of Area", "", "9822222222", "", "S05-AC-021-B-0001", ""],
        ["", "", "9833333333", "", "S05-AC-001-B-0001", ""],
        ["Bad Epic", "", "9844444444", "AB12", "S05-AC-001-B-0002", ""],
        ["Twice", "", "098111 11111", "", "S05-AC-001-B-0002", ""],
        ["Maybe", "", "9855555555", "", "S05-AC-001-B-0002", "perhaps"],
        ['=HYPERLINK("http://evil")', "", "9866666666", "", "S05-AC-001-B-0003", ""],
        ['=HYPERLINK("http://evil","x")', "", "123", "", "S05-AC-001-B-0003", ""],
    ]
    upload(naveen_client, csv_bytes(rows))
    member_import = MemberImport.objects.get()

    checked = check_and_import(naveen_client, member_import)

    problems = {(p["row"], p["column"], p["severity"]) for p in checked.problems}
    assert problems == {(3, "phone", "error"), (4, "booth", "error"), (5, "full_name", "error"),
                        (6, "epic", "warning"), (7, "phone", "error"),
                        (8, "consent_whatsapp", "warning"), (10, "phone", "error")}  # fmt: skip
    assert {p["code"] for p in checked.problems} >= {"booth_unknown", "phone_repeated"}
    assert (checked.rejected_count, checked.warning_count, checked.created_count) == (5, 2, 4)
    page = naveen_client.get(f"/members/import/{member_import.pk}/").content.decode()
    assert "Rows imported with a field left empty" in page
    report = naveen_client.get(f"/members/import/{member_import.pk}/rejected.csv")
    lines = b"".join(report.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[0].startswith("row,column,problem,outcome,Name")
    assert any(line.startswith("4,Booth code,no active booth S05-AC-021-B-0001 in your area")
               for line in lines)  # fmt: skip
    assert any(line.startswith("7,Phone,the same phone as row 2,rejected") for line in lines)
    assert any(line.startswith("6,Voter id (EPIC),") and "imported without this field" in line
               for line in lines)  # fmt: skip
    # The formula of the rejected row is inert text in the report.
    rejected = next(line for line in lines if line.startswith("10,"))
    assert "'=HYPERLINK" in rejected and ",=HYPERLINK" not in rejected

    run(naveen_client, checked)

    assert set(Member.objects.values_list("full_name", flat=True)) == {
        "Good One", "Bad Epic", "Maybe", "=HYPERLINK(\"http://evil\")"
    }  # fmt: skip
    assert Member.objects.get(full_name="Bad Epic").epic == ""
    assert not Consent.objects.filter(member__full_name="Maybe").exists()
    assert set(Member.objects.values_list("last_import_id", flat=True)) == {member_import.pk}


def test_existing_members_are_kept_or_updated_by_policy(naveen_client, tree, celery_worker):
    first = [["Old Name", "", "9811111111", "", "S05-AC-001-B-0001", ""]]
    upload(naveen_client, csv_bytes(first))
    run(naveen_client, check_and_import(naveen_client, MemberImport.objects.get()))
    second = [["New Name", "", "+91 98111 11111", "", "S05-AC-001-B-0002", ""]]

    upload(naveen_client, csv_bytes(second))
    kept = run(naveen_client, check_and_import(naveen_client, MemberImport.objects.first()))
    assert kept.skipped_count == 1 and Member.objects.get().full_name == "Old Name"

    upload(naveen_client, csv_bytes(second))
    updated = run(naveen_client, check_and_import(naveen_client, MemberImport.objects.first(),
                                                  policy="update"))  # fmt: skip
    member = Member.objects.get()
    assert updated.updated_count == 1
    assert (member.full_name, member.booth) == ("New Name", tree.mandrem_booths[1])


def test_skip_records_no_consent_for_members_kept_as_they_were_update_does(
    naveen_client, tree, celery_worker
):
    first = [["Old Name", "", "9811111111", "", "S05-AC-001-B-0001", ""]]
    upload(naveen_client, csv_bytes(first))
    run(naveen_client, check_and_import(naveen_client, MemberImport.objects.get()))
    again = [["Old Name", "", "9811111111", "", "S05-AC-001-B-0001", "yes"],
             ["Newcomer", "", "9822222222", "", "S05-AC-001-B-0001", "yes"]]  # fmt: skip

    upload(naveen_client, csv_bytes(again))
    kept = run(naveen_client, check_and_import(naveen_client, MemberImport.objects.first()))

    assert (kept.created_count, kept.skipped_count) == (1, 1)
    old = Member.objects.get(phone="+919811111111")
    assert old.full_name == "Old Name" and old.last_import_id != kept.pk
    consents = Consent.objects.filter(purpose="whatsapp", withdrawn_at__isnull=True)
    assert sorted(consents.values_list("member__phone", "source", "notice_version")) == [
        ("+919822222222", "import", "2026-1")
    ]  # fmt: skip

    upload(naveen_client, csv_bytes(again))
    updated = run(naveen_client, check_and_import(naveen_client, MemberImport.objects.first(),
                                                  policy="update"))  # fmt: skip
    assert Member.objects.get(phone="+919811111111").last_import_id == updated.pk
    assert sorted(consents.values_list("member__phone", flat=True)) == [
        "+919811111111", "+919822222222"
    ]  # fmt: skip


def test_a_file_of_many_batches_with_phones_repeated_across_them(
    naveen_client, tree, celery_worker, settings
):
    """Small batches, written side by side on PostgreSQL: a phone met again in a later batch
    updates or keeps the member of the earlier one (never a duplicate, never a deadlock), and
    the counts add up over all batches."""
    settings.MEMBER_IMPORT_BATCH_SIZE = 7
    booths = [f"S05-AC-001-B-{number:04d}" for number in (1, 2, 3)]
    rows = [[f"Member {n}", "", f"98{n % 40:08d}", "", booths[n % 3], "yes" if n % 2 else ""]
            for n in range(100)]  # fmt: skip
    rows.insert(50, ["No Booth", "", "9700000000", "", "S99-NOWHERE", ""])
    upload(naveen_client, csv_bytes(rows))

    checked = check_and_import(naveen_client, MemberImport.objects.get(), policy="update")
    assert (checked.rows_processed, checked.rejected_count) == (101, 1)
    done = run(naveen_client, checked)

    assert (done.rows_total, done.rows_processed) == (101, 101)
    assert (done.created_count, done.updated_count, done.rejected_count) == (40, 60, 1)
    assert Member.objects.count() == 40
    # Each phone's last row wins: rows 60 to 99 hold phones 20..39 then 0..19.
    assert Member.objects.get(phone="+919800000005").full_name == "Member 85"
    assert [p["row"] for p in done.problems] == [52]
    assert Consent.objects.filter(purpose="whatsapp").count() == 20  # odd n: odd phones


def test_xlsx_file(naveen_client, tree, celery_worker, tmp_path):
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["name", "phone", "booth", "birth year"])
    sheet.append(["Kavita Kamat", 9811111111, "S05-AC-001-B-0001", 1980])
    sheet.append(["Bad Year", 9822222222, "S05-AC-001-B-0001", 1700])
    path = tmp_path / "members.xlsx"
    workbook.save(path)

    upload(naveen_client, path.read_bytes(), name="members.xlsx")
    member_import = MemberImport.objects.get()
    assert member_import.file_kind == "xlsx"
    checked = check_and_import(naveen_client, member_import)
    assert [(p["row"], p["column"]) for p in checked.problems] == [(3, "birth_year")]
    run(naveen_client, checked)

    assert sorted(Member.objects.values_list("phone", "birth_year")) == [
        ("+919811111111", 1980), ("+919822222222", None)  # 1700: left empty, with a warning
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "photo.csv",
         "This is not a spreadsheet"),
        (b"", "empty.csv", "The submitted file is empty"),
        (b"PK\x03\x04" + b"\x00" * 100, "broken.xlsx", "damaged Excel file"),
        ("naam,फ़ोन\n".encode("utf-16"), "utf16.csv", "This is not a spreadsheet"),
        ("name,phone\nRavi,98\n".encode("latin-1") + b"\xe9\xff", "latin.csv", "not UTF-8"),
    ],
)  # fmt: skip
def test_files_that_are_not_member_lists_are_refused(naveen_client, tree, data, name, message):
    response = upload(naveen_client, data, name=name)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not MemberImport.objects.exists()


def test_a_file_without_a_header_is_refused_by_the_worker_on_the_column_page(
    naveen_client, tree, celery_worker
):
    upload(naveen_client, b"\n\n\n", name="blank.csv")
    member_import = MemberImport.objects.get()

    page = naveen_client.get(f"/members/import/{member_import.pk}/columns/", follow=True)

    assert member_import.status == "failed" and member_import.error_code == "no_header"
    assert "The first row must name the columns" in page.content.decode()
    assert "Upload another file" in page.content.decode()
    assert not os.path.exists(member_import.file.path)


def test_oversized_file_is_refused_at_the_configured_limit(naveen_client, tree, settings):
    settings.MEMBER_IMPORT_MAX_BYTES = 1024

    response = upload(naveen_client, csv_bytes([["x", "", "9811111111", "", "B", ""]] * 100))

    assert "the limit is" in response.content.decode()
    assert not MemberImport.objects.exists()


def test_missing_required_column_is_refused(naveen_client, tree, celery_worker):
    upload(naveen_client, csv_bytes([["Ravi", "9811111111"]], header=["Name", "Mobile"]))
    member_import = MemberImport.objects.get()

    response = naveen_client.post(f"/members/import/{member_import.pk}/columns/",
                                  {"column_full_name": "0", "column_phone": "1",
                                   "policy": "skip"})  # fmt: skip

    assert "Choose the column of booth codes, or give a booth" in response.content.decode()
    assert MemberImport.objects.get().status == "uploaded"


def test_imports_of_other_staff_are_404(client, naveen, sita, tree, celery_worker):
    client.force_login(naveen)
    upload(client, csv_bytes([["Ravi", "", "9811111111", "", "S05-AC-001-B-0001", ""]]))
    member_import = MemberImport.objects.get()
    client.force_login(sita)

    for path in ["", "columns/", "rejected.csv"]:
        assert client.get(f"/members/import/{member_import.pk}/{path}").status_code == 404
    assert client.post(f"/members/import/{member_import.pk}/run/").status_code == 404


@pytest.fixture
def small_batch_worker(request, monkeypatch, transactional_db, settings):
    """A real worker process importing in batches of 200 rows."""
    monkeypatch.setenv("MEMBER_IMPORT_BATCH_SIZE", "200")
    settings.MEMBER_IMPORT_BATCH_SIZE = 200
    return request.getfixturevalue("celery_worker_process")


def test_an_interrupted_import_leaves_whole_batches_only(client, naveen, tree,
                                                         small_batch_worker):  # fmt: skip
    client.force_login(naveen)
    booths = [booth.code for booth in tree.mandrem_booths]
    rows = [[f"Member {n}", "", f"+9197{n:08d}", "", booths[n % 3], "yes"] for n in range(60_000)]
    upload(client, csv_bytes(rows))
    member_import = MemberImport.objects.get()
    check_and_import(client, member_import)
    client.post(f"/members/import/{member_import.pk}/run/")

    wait_until(lambda: MemberImport.objects.get(pk=member_import.pk).rows_processed >= 2000,
               timeout=120, every=0.02)  # fmt: skip
    os.kill(small_batch_worker.pid, signal.SIGKILL)
    small_batch_worker.wait(timeout=30)

    member_import.refresh_from_db()
    written = Member.objects.count()
    assert 0 < written < 60_000, "the worker should have been stopped mid-import"
    assert written % 200 == 0
    assert written == member_import.rows_processed == member_import.created_count
    assert Consent.objects.count() == written


def test_a_batch_the_database_refuses_fails_the_import_whole_and_a_second_run_finishes_it(
    naveen_client, tree, celery_worker, settings, monkeypatch
):
    """A batch that fails to write (here the third) rolls back whole and fails the import with
    a message and an audit event saying how much was written; running it again from its page
    writes the rest, with no duplicates, and counts each row once."""
    from cadreconnect.models import AuditEvent
    from members.importing import writing

    settings.MEMBER_IMPORT_BATCH_SIZE = 5
    write_members = writing.write_members
    calls = []

    def third_batch_fails(rows, **options):
        calls.append(len(rows))
        if len(calls) == 3:
            write_members(rows, **options)  # written, then the batch fails: rolled back
            raise RuntimeError("the database went away")
        return write_members(rows, **options)

    monkeypatch.setattr(writing, "write_members", third_batch_fails)
    # The import tunes the interpreter while it runs (the worker is a thread of this process).
    interpreter = (gc.get_threshold(), sys.getswitchinterval())
    booths = [booth.code for booth in tree.mandrem_booths]
    rows = [[f"Member {n}", "", f"98{n:08d}", "", booths[n % 3], "yes"] for n in range(40)]
    upload(naveen_client, csv_bytes(rows))
    checked = check_and_import(naveen_client, MemberImport.objects.get())

    naveen_client.post(f"/members/import/{checked.pk}/run/")
    wait_until(lambda: MemberImport.objects.get(pk=checked.pk).status == "failed")

    failed = MemberImport.objects.get(pk=checked.pk)
    assert "The import stopped (RuntimeError)" in failed.error
    assert (gc.get_threshold(), sys.getswitchinterval()) == interpreter  # restored
    written = Member.objects.count()
    assert written % 5 == 0 and written < 40
    assert written == failed.rows_processed == failed.created_count
    assert Consent.objects.count() == written
    event = AuditEvent.objects.get(action="member_import.fail", target_id=str(checked.pk))
    assert (event.data["rows_written"], event.data["code"]) == (written, "import_stopped")
    page = naveen_client.get(f"/members/import/{checked.pk}/").content.decode()
    assert "The import stopped" in page and "Run the import again to finish it" in page

    monkeypatch.setattr(writing, "write_members", write_members)
    done = run(naveen_client, failed)

    assert (gc.get_threshold(), sys.getswitchinterval()) == interpreter
    assert Member.objects.count() == 40 == done.created_count == done.rows_processed
    assert done.skipped_count == 0
    assert Consent.objects.count() == 40
    restart = AuditEvent.objects.get(action="member_import.restart", target_id=str(checked.pk))
    assert restart.data["created_count"] == written
    assert set(Member.objects.values_list("last_import_id", flat=True)) == {checked.pk}


def test_a_nul_byte_after_the_first_64_kb_is_a_problem_the_check_finds(
    naveen_client, tree, celery_worker
):
    rows = [[f"Member {n}", "", f"98{n:08d}", "", "S05-AC-001-B-0001", ""] for n in range(3000)]
    rows[2500][0] = "Member\x00 Nul"
    rows[2600][1] = "local\x07bell"
    data = csv_bytes(rows)
    assert data.index(b"\x00") > 64 * 1024
    upload(naveen_client, data)

    checked = check_and_import(naveen_client, MemberImport.objects.get())

    assert [(p["row"], p["column"], p["code"], p["severity"]) for p in checked.problems] == [
        (2502, "full_name", "control_character", "error"),
        (2602, "name_local", "control_character", "warning"),
    ]
    assert (checked.created_count, checked.rejected_count) == (2999, 1)
    done = run(naveen_client, checked)
    assert done.created_count == Member.objects.count() == 2999
    assert Member.objects.get(phone="+919800002600").name_local == ""


def test_a_nul_byte_in_a_booth_code_is_a_problem_of_its_row(naveen_client, tree, celery_worker):
    """The booths of a batch are looked up before its rows are checked: a booth code that
    PostgreSQL cannot take (a NUL byte, past what the upload sniffs) is refused with its row,
    by the check and by the run, and the other rows land."""
    rows = [[f"Member {n}", "", f"98{n:08d}", "", "S05-AC-001-B-0001", ""] for n in range(3000)]
    rows[2500][4] = "S05-AC-001-B-0001\x00"
    data = csv_bytes(rows)
    assert data.index(b"\x00") > 64 * 1024
    upload(naveen_client, data)

    checked = check_and_import(naveen_client, MemberImport.objects.get())

    assert [(p["row"], p["column"], p["code"]) for p in checked.problems] == [
        (2502, "booth", "control_character"),
    ]
    assert (checked.created_count, checked.rejected_count) == (2999, 1)
    done = run(naveen_client, checked)
    assert (done.created_count, done.rejected_count) == (2999, 1)
    assert Member.objects.count() == 2999
    assert not Member.objects.filter(phone="+919800002500").exists()


def test_a_file_without_booths_imports_with_a_booth_for_the_whole_file(
    naveen_client, tree, celery_worker
):
    upload(naveen_client, csv_bytes([["Ravi Naik", "9811111111"], ["Meena", "9822222222"]],
                                    header=["Name", "Mobile"]))  # fmt: skip
    member_import = MemberImport.objects.get()
    url = f"/members/import/{member_import.pk}/columns/"

    response = naveen_client.post(
        url,
        {
            "column_full_name": "0",
            "column_phone": "1",
            "policy": "skip",
            "default_booth": "s05-ac-001-b-0002",
        },
    )
    assert response.status_code == 302
    wait_until(lambda: MemberImport.objects.get(pk=member_import.pk).status == "checked")
    run(naveen_client, MemberImport.objects.get(pk=member_import.pk))

    assert set(Member.objects.values_list("booth", flat=True)) == {tree.mandrem_booths[1].pk}


def test_rows_without_a_booth_take_the_booth_for_the_whole_file(naveen_client, tree,
                                                                celery_worker):  # fmt: skip
    rows = [["Ravi Naik", "", "9811111111", "", "", ""],
            ["Meena", "", "9822222222", "", "S05-AC-001-B-0003", ""]]  # fmt: skip
    upload(naveen_client, csv_bytes(rows))
    member_import = MemberImport.objects.get()
    member_import.default_booth = tree.mandrem_booths[1]
    member_import.save()

    run(naveen_client, check_and_import(naveen_client, member_import))

    assert sorted(Member.objects.values_list("full_name", "booth")) == [
        ("Meena", tree.mandrem_booths[2].pk), ("Ravi Naik", tree.mandrem_booths[1].pk)
    ]  # fmt: skip


def test_import_the_valid_rows_is_not_offered_when_no_row_is_valid(naveen_client, tree,
                                                                    celery_worker):  # fmt: skip
    upload(naveen_client, csv_bytes([["Bad Phone", "", "12345", "", "S05-AC-001-B-0001", ""]]))
    checked = check_and_import(naveen_client, MemberImport.objects.get())

    page = naveen_client.get(f"/members/import/{checked.pk}/").content.decode()
    naveen_client.post(f"/members/import/{checked.pk}/run/")

    assert "Import the valid rows" not in page
    assert "No row of the file can be imported" in page
    assert MemberImport.objects.get(pk=checked.pk).status == "checked"
    assert not Member.objects.exists()


def test_the_wizard_and_its_row_problems_speak_hindi(client, naveen, tree, celery_worker):
    client.force_login(naveen)
    client.cookies["django_language"] = "hi"
    rows = [["", "", "9811111111", "", "S05-AC-001-B-0001", ""],
            ["Ravi", "", "9822222222", "", "S05-AC-001-B-0001", "perhaps"]]  # fmt: skip
    upload(client, csv_bytes(rows))
    member_import = MemberImport.objects.get()
    assert member_import.language == "hi"

    mapping = client.get(f"/members/import/{member_import.pk}/columns/").content.decode()
    checked = check_and_import(client, member_import)
    page = client.get(f"/members/import/{member_import.pk}/").content.decode()

    assert "पूरी फ़ाइल का बूथ" in mapping
    messages = {p["code"]: p["message"] for p in checked.problems}
    assert messages == {"name_missing": "नाम खाली है", "consent_invalid": "हाँ या नहीं में उत्तर दें"}
    assert "नाम खाली है" in page and "व्हाट्सऐप सहमति" in page


def test_a_message_for_an_import_whose_task_went_silent_takes_it_over_and_audits_it(
    naveen, naveen_client, tree, celery_worker, settings
):
    """What a worker that died mid-import leaves (status importing, a claim whose heartbeat
    stopped) and a second delivery of its message: the new task takes the import over,
    finishes it, and the audit says it resumed. A message for an import whose task is alive
    leaves it alone."""
    import datetime

    from django.utils import timezone

    from cadreconnect.models import AuditEvent, WorkerPing
    from cadreconnect.services import worker_ping_request
    from members.tasks import member_import_run

    rows = [[f"Member {n}", "", f"98{n:08d}", "", "S05-AC-001-B-0001", ""] for n in range(30)]
    upload(naveen_client, csv_bytes(rows))
    checked = check_and_import(naveen_client, MemberImport.objects.get())
    alive = timezone.now()
    MemberImport.objects.filter(pk=checked.pk).update(
        status="importing", run_token="a-live-task", heartbeat_at=alive
    )  # fmt: skip

    member_import_run.delay(checked.pk, False)
    # The worker takes one message at a time, in order: once a ping sent after it is
    # answered, the import's message has been handled.
    ping = worker_ping_request(requested_by=naveen)
    wait_until(lambda: WorkerPing.objects.get(pk=ping.pk).answered_at)
    left = MemberImport.objects.get(pk=checked.pk)
    assert (left.status, left.run_token, left.created_count) == ("importing", "a-live-task", 30)
    assert not Member.objects.exists()

    silent = alive - datetime.timedelta(seconds=settings.MEMBER_IMPORT_STALE_SECONDS + 1)
    MemberImport.objects.filter(pk=checked.pk).update(heartbeat_at=silent)
    member_import_run.delay(checked.pk, False)
    wait_until(lambda: MemberImport.objects.get(pk=checked.pk).status == "done")

    done = MemberImport.objects.get(pk=checked.pk)
    assert (done.rows_processed, done.created_count, Member.objects.count()) == (30, 30, 30)
    assert (done.resumes, done.run_token) == (1, "")
    event = AuditEvent.objects.get(action="member_import.resume", target_id=str(checked.pk))
    assert event.data["dry_run"] is False


def test_an_import_whose_worker_keeps_dying_is_failed_not_taken_over_again(
    naveen_client, tree, celery_worker, settings
):
    """A file that kills its worker every time (past its memory, say) must not be taken over
    for ever: after MEMBER_IMPORT_MAX_RESUMES takeovers it ends failed, saying so, and its
    page still offers to run it again."""
    import datetime

    from django.utils import timezone

    from members.tasks import member_import_run

    rows = [[f"Member {n}", "", f"98{n:08d}", "", "S05-AC-001-B-0001", ""] for n in range(5)]
    upload(naveen_client, csv_bytes(rows))
    checked = check_and_import(naveen_client, MemberImport.objects.get())
    silent = timezone.now() - datetime.timedelta(seconds=settings.MEMBER_IMPORT_STALE_SECONDS + 1)
    MemberImport.objects.filter(pk=checked.pk).update(
        status="importing", run_token="a-dead-task", heartbeat_at=silent,
        resumes=settings.MEMBER_IMPORT_MAX_RESUMES,
    )  # fmt: skip

    member_import_run.delay(checked.pk, False)
    wait_until(lambda: MemberImport.objects.get(pk=checked.pk).status == "failed")

    failed = MemberImport.objects.get(pk=checked.pk)
    assert failed.error_code == "import_keeps_stopping"
    assert not Member.objects.exists()
    page = naveen_client.get(f"/members/import/{checked.pk}/").content.decode()
    assert "stopped 6 times" in page and "Run the import again to finish it" in page
    done = run(naveen_client, failed)
    assert (done.created_count, done.resumes) == (5, 0)

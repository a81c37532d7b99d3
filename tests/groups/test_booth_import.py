"""A real booth list placed in the tree by `groups_import_booths`: new booths land under their
assembly constituency, generated booths of the constituencies the file covers are retired,
bad rows are reported by line number, and a file that is not a booth list writes nothing."""

from __future__ import annotations

import random
import threading
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from groups import loader, selectors, services
from groups.models import Group, Kind
from groups.tree import check_integrity
from tests.conftest import wait_until

HEADER = "state_code,ac_number,booth_number,name"


def booth_file(tmp_path: Path, *lines: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / "booths.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def import_booths(path: Path, *options: str) -> tuple[str, str]:
    """Run the command as an operator would; (stdout, stderr)."""
    out, err = StringIO(), StringIO()
    call_command("groups_import_booths", str(path), *options, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def booths_under(ac_code: str) -> dict[str, tuple[str, bool, bool]]:
    """code -> (name, is_generated, is_active) of the booths under an assembly constituency."""
    return {
        code: (name, is_generated, is_active)
        for code, name, is_generated, is_active in Group.objects.filter(
            parent__code=ac_code, kind=Kind.BOOTH
        ).values_list("code", "name", "is_generated", "is_active")
    }


def binary_noise(size: int, *, seed: int) -> bytes:
    """The same random bytes on every run (not a secret: S311 does not apply)."""
    return random.Random(seed).randbytes(size)  # noqa: S311


def all_rows() -> list[tuple]:
    """Every node as stored, but for the time it was last touched."""
    fields = [field.attname for field in Group._meta.concrete_fields if field.name != "updated_at"]
    return list(Group.objects.order_by("pk").values_list(*fields))


@pytest.fixture
def goa_with_generated_booths(db) -> None:
    """Goa with a generated booth for every 880 electors: Mandrem (S05-AC-001) has 34,
    Pernem (S05-AC-002) 35."""
    loader.reference_tree_load(with_booths=True, state_codes=["S05"])
    assert len(booths_under("S05-AC-001")) == 34
    assert len(booths_under("S05-AC-002")) == 35


# --- A clean file ---------------------------------------------------------------------------


def test_clean_file_adds_real_booths_under_their_assembly_constituency(tmp_path, tree):
    path = booth_file(
        tmp_path,
        HEADER,
        "S05,1,4,Government Primary School Mandrem",
        "S05,21,2,Ponda Municipal Hall",
        "S23,1,1,Simna Higher Secondary School",
        'S23,1,2,"Simna Panchayat Office, Room 2"',
    )

    out, err = import_booths(path)

    assert err == ""
    assert out.strip() == (
        "Placed 4 of 4 rows (4 new booths, 0 updated); 0 rows could not be placed; "
        "0 generated booths retired."
    )
    mandrem = booths_under("S05-AC-001")
    assert mandrem["S05-AC-001-B-0004"] == ("Government Primary School Mandrem", False, True)
    # The booths made by hand before the import are real ones: they stay as they were.
    for booth in tree.mandrem_booths:
        assert mandrem[booth.code] == (booth.name, False, True)
    assert booths_under("S05-AC-021")["S05-AC-021-B-0002"] == ("Ponda Municipal Hall", False, True)
    assert booths_under("S23-AC-001") == {
        "S23-AC-001-B-0001": ("Simna Higher Secondary School", False, True),
        "S23-AC-001-B-0002": ("Simna Panchayat Office, Room 2", False, True),
    }
    new_booth = Group.objects.get(code="S23-AC-001-B-0002")
    assert "S23" in [node.code for node in selectors.group_lineage(new_booth)]
    assert new_booth.level == new_booth.parent.level + 1
    assert check_integrity() == []


def test_listed_generated_booths_become_real_and_unlisted_ones_are_retired(
    tmp_path, goa_with_generated_booths
):
    Group.objects.filter(code="S05-AC-002-B-0001").update(is_active=False)
    path = booth_file(
        tmp_path,
        HEADER,
        "S05,1,1,Mandrem Government School",
        "S05,1,2,Mandrem Panchayat Ghar",
        "S05,1,40,Arambol Community Hall",
        "S05,2,1,Pernem Market Building",
    )

    out, err = import_booths(path)

    assert err == ""
    # Mandrem keeps booths 1 and 2 and gains 40: 32 generated ones go; Pernem keeps 1 of 35.
    assert out.strip() == (
        "Placed 4 of 4 rows (1 new booths, 3 updated); 0 rows could not be placed; "
        "66 generated booths retired."
    )
    mandrem = booths_under("S05-AC-001")
    assert mandrem["S05-AC-001-B-0001"] == ("Mandrem Government School", False, True)
    assert mandrem["S05-AC-001-B-0002"] == ("Mandrem Panchayat Ghar", False, True)
    assert mandrem["S05-AC-001-B-0040"] == ("Arambol Community Hall", False, True)
    retired = {code for code, (_, _, active) in mandrem.items() if not active}
    assert retired == {f"S05-AC-001-B-{number:04d}" for number in range(3, 35)}
    assert mandrem["S05-AC-001-B-0003"] == ("Mandrem booth 3", True, False)
    pernem = booths_under("S05-AC-002")
    # A listed booth that had been deactivated is a real, active booth again.
    assert pernem["S05-AC-002-B-0001"] == ("Pernem Market Building", False, True)
    assert [code for code, (_, _, active) in pernem.items() if active] == ["S05-AC-002-B-0001"]
    # A constituency the file does not cover keeps its generated booths.
    bicholim = booths_under("S05-AC-003")
    assert bicholim
    assert all(generated and active for _, generated, active in bicholim.values())
    assert check_integrity() == []


def test_running_the_same_file_again_changes_nothing_more(tmp_path, goa_with_generated_booths):
    path = booth_file(tmp_path, HEADER, "S05,1,1,Mandrem Government School", "S05,1,40,Arambol")
    import_booths(path)
    after_first = all_rows()

    out, err = import_booths(path)

    assert err == ""
    assert "(0 new booths, 2 updated)" in out
    assert "0 generated booths retired" in out
    assert all_rows() == after_first
    assert check_integrity() == []


def test_file_with_byte_order_mark_and_devanagari_names(tmp_path, goa_with_generated_booths):
    path = booth_file(
        tmp_path,
        HEADER,
        "S05,1,1,शासकीय प्राथमिक शाळा मांद्रे",
        'S05,1,2,"पंचायत घर, कक्ष २"',
        "S05,1,35,हरमल सामुदायिक भवन",
        encoding="utf-8-sig",
    )
    assert path.read_bytes().startswith(b"\xef\xbb\xbfstate_code,")

    out, err = import_booths(path)

    assert err == ""
    assert "Placed 3 of 3 rows (1 new booths, 2 updated)" in out
    mandrem = booths_under("S05-AC-001")
    assert mandrem["S05-AC-001-B-0001"] == ("शासकीय प्राथमिक शाळा मांद्रे", False, True)
    assert mandrem["S05-AC-001-B-0002"] == ("पंचायत घर, कक्ष २", False, True)
    assert mandrem["S05-AC-001-B-0035"] == ("हरमल सामुदायिक भवन", False, True)
    assert check_integrity() == []


# --- Rows the tree refuses ------------------------------------------------------------------


def test_booths_of_a_deactivated_constituency_are_not_revived(
    tmp_path, asha, goa_with_generated_booths
):
    services.group_deactivate(actor=asha, group=Group.objects.get(code="S05-AC-001"))
    path = booth_file(
        tmp_path,
        HEADER,
        "S05,1,1,Mandrem Government School",
        "S05,1,40,Arambol Community Hall",
        "S05,2,1,Pernem Market Building",
    )

    out, err = import_booths(path)

    assert sorted(err.splitlines()) == [
        "line 2: assembly constituency S05-AC-001 is deactivated; reactivate it first",
        "line 3: assembly constituency S05-AC-001 is deactivated; reactivate it first",
    ]
    assert "Placed 1 of 3 rows (0 new booths, 1 updated); 2 rows could not be placed" in out
    mandrem = booths_under("S05-AC-001")
    assert "S05-AC-001-B-0040" not in mandrem
    assert mandrem["S05-AC-001-B-0001"] == ("Mandrem booth 1", True, False)
    assert not any(active for _, _, active in mandrem.values())
    assert booths_under("S05-AC-002")["S05-AC-002-B-0001"] == (
        "Pernem Market Building",
        False,
        True,
    )
    assert check_integrity() == []


def test_merged_booth_is_not_revived(tmp_path, asha, goa_with_generated_booths):
    survivor = Group.objects.get(code="S05-AC-001-B-0001")
    services.group_merge_booths(
        actor=asha, source=Group.objects.get(code="S05-AC-001-B-0002"), survivor=survivor
    )
    path = booth_file(
        tmp_path, HEADER, "S05,1,1,Mandrem Government School", "S05,1,2,Mandrem Panchayat Ghar"
    )

    out, err = import_booths(path)

    assert err == "line 3: booth S05-AC-001-B-0002 was merged into S05-AC-001-B-0001\n"
    assert "Placed 1 of 2 rows (0 new booths, 1 updated)" in out
    merged = Group.objects.get(code="S05-AC-001-B-0002")
    assert (merged.is_active, merged.merged_into_id) == (False, survivor.pk)
    assert check_integrity() == []


def test_booth_moved_to_another_constituency_is_reported_where_it_is(tmp_path, asha, tree):
    moved = tree.mandrem_booths[2]
    services.group_move(actor=asha, group=moved, new_parent=tree.ponda)
    path = booth_file(tmp_path, HEADER, "S05,1,3,Mandrem Ward 3", "S05,1,4,Mandrem Ward 4")

    out, err = import_booths(path)

    assert err == "line 2: booth S05-AC-001-B-0003 is under S05-AC-021 here, not under S05-AC-001\n"
    assert "Placed 1 of 2 rows (1 new booths, 0 updated)" in out
    assert Group.objects.get(pk=moved.pk).name == moved.name
    assert check_integrity() == []


def test_import_lands_while_someone_adds_a_node_in_another_state(tmp_path, asha, transactional_db):
    """The import picks the ids of its new booths; a node added meanwhile in another state's
    tree (which the import does not lock) must not be handed one of them."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite lets one writer in at a time: there is no race to lose")
    loader.reference_tree_load(with_booths=False, state_codes=["S05", "S23"])
    simna = Group.objects.get(code="S23-AC-001")
    path = booth_file(tmp_path, HEADER, "S05,1,1,Mandrem Government School", "S05,1,2,Harmal")
    added, release = threading.Event(), threading.Event()
    importer: dict[str, object] = {}

    def add_booth_in_tripura() -> None:
        try:
            with transaction.atomic():
                services.group_create_child(
                    actor=asha, parent=simna, name="Simna booth 1", code="S23-AC-001-B-0001",
                    kind=Kind.BOOTH,
                )  # fmt: skip
                added.set()
                release.wait(timeout=60)
        finally:
            connection.close()

    def run_import() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                importer["pid"] = cursor.fetchone()[0]
            importer["output"] = import_booths(path)
        except Exception as error:  # noqa: BLE001 - reported by the test below
            importer["error"] = error
        finally:
            connection.close()

    writer = threading.Thread(target=add_booth_in_tripura)
    writer.start()
    assert added.wait(timeout=30)
    importing = threading.Thread(target=run_import)
    importing.start()

    def import_waits_for_a_lock_or_is_done() -> bool:
        if not importing.is_alive():
            return True
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s",
                [importer.get("pid", 0)],
            )
            row = cursor.fetchone()
        return row is not None and row[0] == "Lock"

    try:
        # Let the writer commit only once the import has picked its ids (or finished).
        wait_until(import_waits_for_a_lock_or_is_done)
    finally:
        release.set()
        writer.join(timeout=60)
        importing.join(timeout=60)

    assert "error" not in importer, importer.get("error")
    assert "Placed 2 of 2 rows (2 new booths, 0 updated)" in importer["output"][0]
    assert set(booths_under("S05-AC-001")) == {"S05-AC-001-B-0001", "S05-AC-001-B-0002"}
    assert set(booths_under("S23-AC-001")) == {"S23-AC-001-B-0001"}
    assert check_integrity() == []


# --- Bad rows -------------------------------------------------------------------------------


def test_bad_rows_are_reported_by_line_and_the_good_rows_land(tmp_path, tree):
    longest_name = "M" * 200
    lines = [
        HEADER,  # line 1
        "S05,1,5,Mandrem Ward 5",  # 2: good
        "S05,1,6",  # 3: too few columns
        "S05,1,7,Mandrem,Ward 7",  # 4: a comma in an unquoted name
        "S05,one,8,Mandrem Ward 8",  # 5
        "S05,1,8b,Mandrem Ward 8",  # 6
        "",  # 7: blank lines are skipped, but still counted as lines
        "S05,1,0,Mandrem Ward 0",  # 8
        "S05,1,10000,Mandrem Ward 10000",  # 9
        "S05,1,9,   ",  # 10: empty name
        "S05,1,10," + "N" * 201,  # 11: name too long
        "S05,1,11," + longest_name,  # 12: good, the longest name allowed
        "s05,001,0005,Mandrem Ward 5 again",  # 13: the booth of line 2 again
        "S99,1,1,Nowhere",  # 14: no such state
        "S05,99,1,Nowhere in Goa",  # 15: Goa has 40 constituencies
        "S23,2,9999,Tripura booth 9999",  # 16: good, the highest number allowed
    ]
    path = booth_file(tmp_path, *lines)

    out, err = import_booths(path)

    reported = err.splitlines()
    expected = {
        3: "expected 4 columns, found 3",
        4: "expected 4 columns, found 5",
        5: "AC number 'one' and booth number '8' must be whole numbers",
        6: "AC number '1' and booth number '8b' must be whole numbers",
        8: "booth number 0 is outside 1 to 9999",
        9: "booth number 10000 is outside 1 to 9999",
        10: "the booth name is empty",
        11: "the booth name is 201 characters long; at most 200",
        13: "booth S05-AC-001-B-0005 is listed twice (first on line 2)",
        14: "no assembly constituency S99-AC-001 in the tree",
        15: "no assembly constituency S05-AC-099 in the tree",
    }
    assert sorted(reported) == sorted(f"line {line}: {text}" for line, text in expected.items())
    assert out.strip() == (
        "Placed 3 of 14 rows (3 new booths, 0 updated); 11 rows could not be placed; "
        "0 generated booths retired."
    )
    mandrem = booths_under("S05-AC-001")
    assert mandrem["S05-AC-001-B-0005"] == ("Mandrem Ward 5", False, True)
    assert mandrem["S05-AC-001-B-0011"] == (longest_name, False, True)
    assert set(mandrem) == {booth.code for booth in tree.mandrem_booths} | {
        "S05-AC-001-B-0005",
        "S05-AC-001-B-0011",
    }
    assert booths_under("S23-AC-002") == {"S23-AC-002-B-9999": ("Tripura booth 9999", False, True)}
    assert not Group.objects.filter(name__startswith="Nowhere").exists()
    assert check_integrity() == []


def test_file_where_no_row_can_be_placed_writes_nothing(tmp_path, tree):
    before = all_rows()
    path = booth_file(tmp_path, HEADER, "S99,1,1,Nowhere", "S05,1,0,Mandrem Ward 0")

    out, err = import_booths(path)

    assert sorted(err.splitlines()) == [
        "line 2: no assembly constituency S99-AC-001 in the tree",
        "line 3: booth number 0 is outside 1 to 9999",
    ]
    assert "Placed 0 of 2 rows" in out
    assert all_rows() == before


def test_dry_run_reports_and_writes_nothing(tmp_path, goa_with_generated_booths):
    before = all_rows()
    path = booth_file(
        tmp_path,
        HEADER,
        "S05,1,1,Mandrem Government School",
        "S05,1,40,Arambol Community Hall",
        "S05,1,41,",
        "S05,2,1,Pernem Market Building",
    )

    out, err = import_booths(path, "--dry-run")

    assert err == "line 4: the booth name is empty\n"
    assert out.strip() == (
        "Would place 3 of 4 rows (1 new booths, 2 updated); 1 rows could not be placed; "
        "67 generated booths retired."
    )
    assert all_rows() == before


# --- Files that are not booth lists ---------------------------------------------------------


def test_binary_file_is_refused_and_writes_nothing(tmp_path, tree):
    before = all_rows()
    path = tmp_path / "booths.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + binary_noise(5000, seed=7))

    with pytest.raises(CommandError, match="not a readable CSV file"):
        import_booths(path)

    assert all_rows() == before


def test_file_that_turns_binary_after_good_rows_writes_nothing(tmp_path, tree):
    before = all_rows()
    path = tmp_path / "booths.csv"
    good_rows = "".join(f"S05,1,{number},Mandrem Ward {number}\n" for number in range(10, 400))
    path.write_bytes(
        f"{HEADER}\n{good_rows}".encode() + b"\xff\xfe\x00\x89" + binary_noise(5000, seed=8)
    )

    with pytest.raises(CommandError, match="readable CSV"):
        import_booths(path)

    assert all_rows() == before


@pytest.mark.parametrize(
    "first_line",
    [
        "state,ac,booth,name",
        "name,state_code,ac_number,booth_number",
        "state_code;ac_number;booth_number;name",
        "S05,1,1,Mandrem Government School",
    ],
)
def test_wrong_header_is_refused_naming_the_expected_one(tmp_path, tree, first_line):
    before = all_rows()
    path = booth_file(tmp_path, first_line, "S05,1,4,Government Primary School Mandrem")

    with pytest.raises(CommandError) as raised:
        import_booths(path)

    assert "state_code, ac_number, booth_number, name" in str(raised.value)
    assert all_rows() == before


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf"], ids=["empty", "only-a-bom"])
def test_empty_file_is_refused(tmp_path, tree, content):
    before = all_rows()
    path = tmp_path / "booths.csv"
    path.write_bytes(content)

    with pytest.raises(CommandError, match="empty"):
        import_booths(path)

    assert all_rows() == before

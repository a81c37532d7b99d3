"""Who may import, and where: the permission table's MEMBER_IMPORT scope is the import's area."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cadreconnect.models import AuditEvent
from groups.models import Role
from members import services
from members.models import Consent, Member, MemberImport
from tests.groups.conftest import staff
from tests.members.test_import import check_and_import, csv_bytes, run, upload

HEADER = ["Name", "Mobile", "Voter ID", "Booth code", "WhatsApp consent", "SMS consent"]


@pytest.fixture
def naveens_import(naveen) -> MemberImport:
    """An import of Naveen's, read and waiting for its columns."""
    return MemberImport.objects.create(
        created_by=naveen, original_name="members.csv", file="imports/none.csv", file_kind="csv",
        status="uploaded", headers=["Name", "Mobile", "Booth"],
        mapping={"full_name": 0, "phone": 1, "booth": 2},
    )  # fmt: skip


def import_requests(pk: int) -> list[tuple[str, str, dict]]:
    file = SimpleUploadedFile("members.csv", csv_bytes([["Ravi", "9811111111", "B"]]))
    return [
        ("get", "/members/import/", {}),
        ("post", "/members/import/", {"file": file}),
        ("get", f"/members/import/{pk}/", {}),
        ("get", f"/members/import/{pk}/columns/", {}),
        ("post", f"/members/import/{pk}/columns/", {"column_full_name": "0",
                                                    "column_phone": "1", "policy": "skip"}),
        ("post", f"/members/import/{pk}/run/", {}),
        ("get", f"/members/import/{pk}/rejected.csv", {}),
    ]  # fmt: skip


@pytest.mark.parametrize("role", [Role.VIEWER, Role.APPROVER, Role.EDITOR])
def test_roles_that_may_not_import_get_403_on_every_import_url(client, tree, naveens_import, role):
    user = staff(f"{role}@cadreconnect.example", f"A {role}", tree.north_goa, role)
    client.force_login(user)

    for method, url, data in import_requests(naveens_import.pk):
        response = getattr(client, method)(url, data)
        assert response.status_code == 403, (method, url)
        assert "import members" in response.content.decode()
    assert MemberImport.objects.count() == 1


def test_an_importer_elsewhere_gets_404_on_another_s_import(client, tree, sita, naveens_import):
    client.force_login(sita)

    for method, url, data in import_requests(naveens_import.pk)[2:]:
        assert getattr(client, method)(url, data).status_code == 404, (method, url)
    naveens_import.refresh_from_db()
    assert (naveens_import.status, naveens_import.mapping["booth"]) == ("uploaded", 2)


@pytest.fixture
def ponda_member(tree, asha) -> Member:
    """Parvati is registered in Ponda (South Goa), outside Naveen's North Goa, with a live
    WhatsApp consent and none for SMS."""
    member = services.member_create(
        actor=asha, full_name="Parvati Gaonkar", phone="9877777777", epic="GOA7777777",
        booth=tree.ponda_booth, status="active", joined_on=datetime.date(2024, 1, 1),
        recruited_by=None,
    )  # fmt: skip
    services.consent_grant(actor=asha, member=member, purpose="whatsapp", source="staff",
                           notice_version="2025-1")  # fmt: skip
    return Member.objects.get(pk=member.pk)


def consents_of(member: Member) -> list[tuple]:
    return sorted(Consent.objects.filter(member=member).values_list(
        "purpose", "source", "notice_version", "withdrawn_at"
    ))  # fmt: skip


@pytest.mark.parametrize("policy", ["skip", "update"])
def test_a_phone_registered_in_another_area_is_rejected_and_its_member_unchanged(
    client, naveen, tree, ponda_member, celery_worker, policy
):
    client.force_login(naveen)
    before = Member.objects.filter(pk=ponda_member.pk).values().get()
    consents_before = consents_of(ponda_member)
    rows = [["Renamed By Naveen", "+91 98777 77777", "", "S05-AC-001-B-0001", "yes", "yes"],
            ["Ravi Naik", "9811111111", "", "S05-AC-001-B-0002", "yes", "yes"]]  # fmt: skip
    upload(client, csv_bytes(rows, header=HEADER))
    member_import = MemberImport.objects.get()

    checked = check_and_import(client, member_import, policy=policy)

    assert [(p["row"], p["column"], p["code"]) for p in checked.problems] == [
        (2, "phone", "other_area")
    ]
    assert checked.problems[0]["message"] == "this phone is registered in another area"
    page = client.get(f"/members/import/{member_import.pk}/").content.decode()
    assert "Parvati" not in page and "Ponda" not in page
    done = run(client, checked)

    assert (done.created_count, done.rejected_count, done.updated_count) == (1, 1, 0)
    assert Member.objects.filter(pk=ponda_member.pk).values().get() == before
    assert consents_of(ponda_member) == consents_before
    assert Member.objects.get(phone="+919811111111").last_import_id == member_import.pk
    assert AuditEvent.objects.filter(action="member_import.run", target_id=str(member_import.pk),
                                     data__rejected_count=1).exists()  # fmt: skip


@pytest.fixture
def omar(tree):
    """Omar is an organiser in Mandrem and may only look at the rest of Goa."""
    user = staff("omar@cadreconnect.example", "Omar Organiser", tree.mandrem, Role.ORGANISER)
    from groups import services as group_services

    group_services.assignment_add(actor=None, user=user, group=tree.goa, role=Role.VIEWER)
    return user


def test_an_organiser_imports_only_into_the_area_of_their_import_role(
    client, omar, tree, asha, celery_worker
):
    """Omar sees all of Goa's members but may import only in Mandrem: a Ponda member's phone
    is 'another area' to his import, and a booth he can only look at is no booth of his."""
    north = services.member_create(
        actor=asha, full_name="Nalini", phone="9866666666", booth=tree.ponda_booth,
        status="active", joined_on=datetime.date(2024, 1, 1), recruited_by=None,
    )  # fmt: skip
    client.force_login(omar)
    rows = [["Nalini Renamed", "9866666666", "", "S05-AC-001-B-0001", "", ""],
            ["Ponda Person", "9811111111", "", "S05-AC-021-B-0001", "", ""],
            ["Mandrem Person", "9822222222", "", "S05-AC-001-B-0003", "", ""]]  # fmt: skip
    upload(client, csv_bytes(rows, header=HEADER))

    checked = check_and_import(client, MemberImport.objects.get(), policy="update")
    run(client, checked)

    assert {(p["row"], p["code"]) for p in checked.problems} == {
        (2, "other_area"),
        (3, "booth_unknown"),
    }
    assert Member.objects.get(pk=north.pk).full_name == "Nalini"
    assert set(Member.objects.values_list("full_name", flat=True)) == {"Nalini", "Mandrem Person"}


def test_forged_columns_and_another_area_s_booth_are_refused_and_nothing_written(
    client, naveen, omar, tree, celery_worker
):
    client.force_login(naveen)
    upload(client, csv_bytes([["Ravi", "9811111111"]], header=["Name", "Mobile"]))
    member_import = MemberImport.objects.get()
    url = f"/members/import/{member_import.pk}/columns/"
    base = {"column_full_name": "0", "column_phone": "1", "policy": "skip"}

    forged_column = client.post(url, {**base, "column_booth": "7"})
    outside_booth = client.post(url, {**base, "default_booth": "S05-AC-021-B-0001"})
    forged_policy = client.post(url, {**base, "default_booth": "S05-AC-001-B-0001",
                                      "policy": "overwrite"})  # fmt: skip

    assert "Choose a column from the list." in forged_column.content.decode()
    assert "No group with the code S05-AC-021-B-0001 in your area" in (
        outside_booth.content.decode()
    )
    assert forged_policy.status_code == 200 and "policy" in forged_policy.context["form"].errors
    with pytest.raises(services.ApplicationError) as error:
        services.member_import_configure(actor=naveen, member_import=member_import,
                                         mapping={"full_name": 0, "phone": 9, "booth": 1},
                                         policy="skip", notice_version="")  # fmt: skip
    assert error.value.code == "mapping_invalid"
    # A booth the importer may see but not import into (Omar views Goa, organises Mandrem).
    client.force_login(omar)
    upload(client, csv_bytes([["Ravi", "9811111111"]], header=["Name", "Mobile"]))
    omars = MemberImport.objects.filter(created_by=omar).get()
    seen_only = client.post(f"/members/import/{omars.pk}/columns/",
                            {**base, "default_booth": "S05-AC-021-B-0001"})  # fmt: skip
    assert "you need one of these roles there or above: lead, organiser" in (
        seen_only.content.decode()
    )
    member_import.refresh_from_db()
    omars.refresh_from_db()
    assert member_import.status == omars.status == "uploaded"
    assert member_import.default_booth is None and omars.default_booth is None
    assert not Member.objects.exists()

"""The register in the admin goes through the same services as the pages: the same checks,
the same audit events, and a refusal is the form again with the reason, never a 500."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission

from cadreconnect.models import AuditEvent
from groups import services as group_services
from groups.models import Group, Kind, Role
from members import services
from members.models import Member, Membership, Post
from tests.factories import UserFactory

ADD_URL = "/admin/members/member/add/"


def change_url(member: Member) -> str:
    return f"/admin/members/member/{member.pk}/change/"


def inline_management(prefix: str, total: int = 0, initial: int = 0) -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total), f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000",
    }  # fmt: skip


def member_form(booth: Group, **fields) -> dict:
    data = {
        "full_name": "Kavita Debbarma", "name_local": "", "phone": "98123 45621",
        "whatsapp_number": "", "email": "", "gender": "f", "birth_year": "1980", "epic": "",
        "booth": str(booth.pk), "status": "active", "joined_on": "2026-01-15",
        "recruited_by": "", "notes": "",
        **inline_management("memberships"), **inline_management("posts"),
        **inline_management("consents"),
    }  # fmt: skip
    data.update(fields)
    return data


def current_form(member: Member, **fields) -> dict:
    """The change form as the admin shows it for `member`, with `fields` changed."""
    memberships = list(member.memberships.order_by("pk"))
    posts = list(member.posts.order_by("pk"))
    data = member_form(
        member.booth, full_name=member.full_name, phone=member.phone, gender=member.gender,
        birth_year=str(member.birth_year or ""), epic=member.epic, status=member.status,
        joined_on=member.joined_on.isoformat(),
        **inline_management("memberships", len(memberships), len(memberships)),
        **inline_management("posts", len(posts), len(posts)),
        **inline_management("consents", member.consents.count(), member.consents.count()),
    )  # fmt: skip
    for index, membership in enumerate(memberships):
        data.update({
            f"memberships-{index}-id": str(membership.pk),
            f"memberships-{index}-member": str(member.pk),
            f"memberships-{index}-group": str(membership.group_id),
            f"memberships-{index}-role": membership.role,
        })  # fmt: skip
    for index, post in enumerate(posts):
        data.update({
            f"posts-{index}-id": str(post.pk), f"posts-{index}-member": str(member.pk),
            f"posts-{index}-group": str(post.group_id), f"posts-{index}-office": post.office,
            f"posts-{index}-title": post.title,
            f"posts-{index}-starts_on": post.starts_on.isoformat(),
            f"posts-{index}-ends_on": post.ends_on.isoformat() if post.ends_on else "",
        })  # fmt: skip
    for index, consent in enumerate(member.consents.order_by("pk")):
        data.update({f"consents-{index}-id": str(consent.pk),
                     f"consents-{index}-member": str(member.pk)})  # fmt: skip
    data.update(fields)
    return data


@pytest.fixture
def asha_client(client, asha):
    client.force_login(asha)
    return client


@pytest.fixture
def tripura_booth(asha, tree) -> Group:
    ac = Group.objects.filter(code__startswith="S23-AC-").order_by("code").first()
    return group_services.group_create_child(
        actor=asha, parent=ac, name="Agartala booth 1", code=f"{ac.code}-B-0001", kind=Kind.BOOTH
    )


@pytest.fixture
def kavita(asha, tree) -> Member:
    return services.member_create(
        actor=asha, full_name="Kavita Debbarma", phone="9812345621",
        booth=tree.mandrem_booths[0], gender="f", birth_year=1980,
    )  # fmt: skip


def test_adding_a_member_in_the_admin_registers_them_through_the_service(asha_client, asha, tree):
    response = asha_client.post(ADD_URL, member_form(tree.mandrem_booths[0]))

    assert response.status_code == 302, response.content.decode()[:2000]
    member = Member.objects.get()
    assert member.phone == "+919812345621"
    assert (member.tree_id, member.state) == (tree.mandrem.tree_id, tree.goa)
    event = AuditEvent.objects.get(action="member.create")
    assert (event.actor, event.target_id) == (asha, str(member.pk))
    entry = LogEntry.objects.get()
    assert entry.object_repr == "Kavita Debbarma (+91 98xxxxxx21)"


def test_changing_a_booth_in_the_admin_moves_the_member_and_is_audited(
    asha_client, asha, tree, kavita, tripura_booth
):
    response = asha_client.post(
        change_url(kavita), current_form(kavita, booth=str(tripura_booth.pk))
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    kavita.refresh_from_db()
    assert kavita.booth == tripura_booth
    assert (kavita.tree_id, kavita.state) == (tripura_booth.tree_id, tree.tripura)
    event = AuditEvent.objects.get(action="member.update")
    assert event.actor == asha
    assert event.data["booth"] == [tree.mandrem_booths[0].pk, tripura_booth.pk]


def test_a_refused_change_shows_the_form_again_and_writes_nothing(asha_client, asha, tree, kavita):
    other = services.member_create(actor=asha, full_name="Other", phone="9812345699",
                                   booth=tree.mandrem_booths[1])  # fmt: skip
    group_services.group_deactivate(actor=asha, group=tree.ponda_booth)
    audit_before = AuditEvent.objects.count()

    taken = asha_client.post(change_url(kavita), current_form(kavita, phone="98123 45699"))
    inactive = asha_client.post(
        ADD_URL, member_form(tree.ponda_booth, phone="9812345600", full_name="New One")
    )

    assert taken.status_code == 200
    assert "already registered to another member" in taken.content.decode()
    assert 'value="98123 45699"' in taken.content.decode()  # what was typed stays
    assert inactive.status_code == 200
    assert "is deactivated" in inactive.content.decode()
    kavita.refresh_from_db()
    other.refresh_from_db()
    assert (kavita.phone, other.phone) == ("+919812345621", "+919812345699")
    assert not Member.objects.filter(full_name="New One").exists()
    assert AuditEvent.objects.count() == audit_before
    assert not LogEntry.objects.exists()


def test_staff_without_the_role_get_the_reason_not_a_500(client, tree, kavita, vikram):
    """Vikram views North Goa; admin model rights do not give him the table's rights."""
    vikram.is_staff = True
    vikram.save()
    vikram.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_member", "change_member", "add_member"])
    )
    client.force_login(vikram)

    response = client.post(change_url(kavita), current_form(kavita, full_name="Renamed"))

    assert response.status_code == 200
    assert "you need one of these roles" in response.content.decode()
    kavita.refresh_from_db()
    assert kavita.full_name == "Kavita Debbarma"
    assert not AuditEvent.objects.filter(action="member.update").exists()


def test_the_admin_cannot_delete_a_member(asha_client, kavita):
    assert asha_client.post(f"/admin/members/member/{kavita.pk}/delete/",
                            {"post": "yes"}).status_code == 403  # fmt: skip
    assert Member.objects.filter(pk=kavita.pk).exists()


def test_memberships_added_and_removed_in_the_admin_are_audited(asha_client, asha, tree, kavita):
    booth_2 = tree.mandrem_booths[1]
    data = current_form(kavita, **inline_management("memberships", 1, 0))
    data.update({"memberships-0-group": str(booth_2.pk), "memberships-0-role": "admin"})

    added = asha_client.post(change_url(kavita), data)

    assert added.status_code == 302, added.content.decode()[:2000]
    membership = Membership.objects.get(member=kavita)
    assert (membership.group, membership.role) == (booth_2, "admin")
    event = AuditEvent.objects.get(action="membership.add")
    assert event.data == {"group": booth_2.code, "role": "admin"}

    data = current_form(kavita, **{"memberships-0-DELETE": "on"})
    removed = asha_client.post(change_url(kavita), data)

    assert removed.status_code == 302, removed.content.decode()[:2000]
    assert not Membership.objects.filter(member=kavita).exists()
    event = AuditEvent.objects.get(action="membership.remove")
    assert (event.actor, event.data) == (asha, {"group": booth_2.code, "role": "admin"})


def test_posts_in_the_admin_are_assigned_and_ended_through_the_services(
    asha_client, asha, tree, kavita
):
    booth = tree.mandrem_booths[0]
    data = current_form(kavita, **inline_management("posts", 1, 0))
    data.update({"posts-0-group": str(booth.pk), "posts-0-office": "booth_president",
                 "posts-0-title": "", "posts-0-starts_on": "2026-01-01",
                 "posts-0-ends_on": ""})  # fmt: skip

    assert asha_client.post(change_url(kavita), data).status_code == 302
    post = Post.objects.get(member=kavita)
    assert AuditEvent.objects.filter(action="post.assign", target_id=str(kavita.pk)).exists()

    ended_form = current_form(kavita, **{"posts-0-ends_on": "2026-06-30"})
    ended = asha_client.post(change_url(kavita), ended_form)
    assert ended.status_code == 302
    post.refresh_from_db()
    assert post.ends_on.isoformat() == "2026-06-30"
    assert AuditEvent.objects.get(action="post.end").data["post"] == post.pk

    moved = asha_client.post(
        change_url(kavita), current_form(kavita, **{"posts-0-office": "booth_agent"})
    )
    assert moved.status_code == 200
    assert "end the term and add the new post" in moved.content.decode()
    post.refresh_from_db()
    assert post.office == "booth_president"


def test_admin_log_entries_are_readable_by_superusers_only_and_hold_no_full_phone(
    client, asha_client, asha, tree, kavita
):
    asha_client.post(change_url(kavita), current_form(kavita, phone="98123 45643",
                                                      full_name="Kavita D."))  # fmt: skip
    asha_client.post(ADD_URL, member_form(tree.mandrem_booths[1], phone="9812345677"))
    entries = list(LogEntry.objects.order_by("pk"))
    assert len(entries) == 2
    for entry in entries:
        for number in ["9812345621", "9812345643", "9812345677"]:
            assert number not in entry.object_repr
            assert number not in entry.change_message
            assert number not in entry.get_change_message()

    listing = asha_client.get("/admin/admin/logentry/")
    detail = asha_client.get(f"/admin/admin/logentry/{entries[0].pk}/change/")
    assert listing.status_code == 200 and "Kavita D. (+91 98xxxxxx43)" in listing.content.decode()
    assert detail.status_code == 200
    assert 'name="object_repr"' not in detail.content.decode()  # read-only
    assert asha_client.post(f"/admin/admin/logentry/{entries[0].pk}/change/",
                            {"object_repr": "forged"}).status_code == 403  # fmt: skip
    assert asha_client.post(f"/admin/admin/logentry/{entries[0].pk}/delete/",
                            {"post": "yes"}).status_code == 403  # fmt: skip
    assert LogEntry.objects.count() == 2

    staff = UserFactory(email="staff@cadreconnect.example", is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename="view_logentry"))
    group_services.assignment_add(actor=None, user=staff, group=tree.india, role=Role.LEAD)
    client.force_login(staff)
    assert client.get("/admin/admin/logentry/").status_code == 403

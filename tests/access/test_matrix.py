"""The permission table as a matrix: each role of issue 9's table, the superuser and an anonymous
visitor, against each action, through the pages a person uses. Each action has an allowed and a
refused case; refused writes change nothing; targets outside the user's area answer 404.

The cast holds its roles at the North Goa district (S05-D-01): Mandrem's booths are inside,
Ponda's (South Goa) and Tripura are outside.
"""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from cadreconnect import permissions
from cadreconnect.exceptions import ApplicationError
from cadreconnect.models import AuditEvent
from cadreconnect.permissions import Action, OutsideArea
from groups import services as group_services
from groups.models import Assignment, Group, Kind, Role
from members import services as member_services
from members.models import Consent, Member, Membership, Post
from tests.factories import UserFactory

ROLES = ["lead", "organiser", "approver", "editor", "viewer"]
CAST = [*ROLES, "superuser", "anonymous"]
INSIDE_PHONE, OUTSIDE_PHONE = "+919811100001", "+919822200002"

# What the table says each of the cast may do (issue 9).
ALLOWED = {
    "member_write": {"lead", "organiser", "superuser"},
    "contact_see": {"lead", "organiser", "superuser"},
    "member_import": {"lead", "organiser", "superuser"},
    "member_export": {"lead", "superuser"},
    "member_merge": {"lead", "superuser"},
    "tree_change": {"lead", "superuser"},
    # Content (issue 12): editors draft, approvers decide, leads do both and trust authors.
    "content_draft": {"lead", "editor", "superuser"},
    "content_decide": {"lead", "approver", "superuser"},
    "content_trust": {"lead", "superuser"},
}


@pytest.fixture
def cast(tree, asha) -> dict:
    users = {"superuser": asha, "anonymous": None}
    for role in ROLES:
        user = UserFactory(email=f"{role}@north-goa.example", full_name=f"North Goa {role}")
        group_services.assignment_add(actor=None, user=user, group=tree.north_goa, role=role)
        users[role] = user
    return users


@pytest.fixture
def inside(asha, tree) -> Member:
    return member_services.member_create(
        actor=asha, full_name="Ravi Naik", phone=INSIDE_PHONE, epic="GOA1234567",
        booth=tree.mandrem_booths[0],
    )  # fmt: skip


@pytest.fixture
def outside(asha, tree) -> Member:
    return member_services.member_create(
        actor=asha, full_name="Sita Gaonkar", phone=OUTSIDE_PHONE, epic="GOA7654321",
        booth=tree.ponda_booth,
    )  # fmt: skip


def client_for(client, cast: dict, who: str):
    """A fresh client signed in as `who` (the fixture's client is only a default)."""
    fresh = Client()
    if cast[who] is not None:
        fresh.force_login(cast[who])
    return fresh


def assert_refused(response, who: str) -> None:
    """Anonymous visitors are sent to sign in; signed-in users get 403 naming the roles."""
    if who == "anonymous":
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]
    else:
        assert response.status_code == 403
        assert "you need one of these roles" in response.content.decode()


def member_form(booth: Group, **fields) -> dict:
    data = {"full_name": "Meera Shet", "name_local": "", "phone": "98113 00005",
            "whatsapp_number": "", "email": "", "gender": "f", "birth_year": "1990", "epic": "",
            "booth": booth.code, "status": "active", "joined_on": "2026-01-15",
            "recruited_by_phone": "", "notes": ""}  # fmt: skip
    data.update(fields)
    return data


# --- The table itself -------------------------------------------------------------------------


def test_the_table_reads_as_issue_9_says():
    for action, allowed in ALLOWED.items():
        roles = {role.value for role in permissions.roles_for(action)}
        assert roles == allowed - {"superuser"}, action
    assert {role.value for role in permissions.roles_for(Action.VIEW)} == set(ROLES)


# --- Seeing -------------------------------------------------------------------------------


def test_everyone_with_a_role_sees_the_group_and_its_members(client, cast, tree, inside):
    for who in CAST:
        client = client_for(client, cast, who)

        pages = [f"/groups/{tree.mandrem.pk}/", "/members/", f"/members/{inside.pk}/"]
        for url in pages:
            response = client.get(url)
            if who == "anonymous":
                assert response.status_code == 302
            else:
                assert response.status_code == 200, url


def test_nobody_sees_a_member_outside_their_area(client, cast, outside):
    for who in ROLES:
        client = client_for(client, cast, who)

        assert client.get(f"/members/{outside.pk}/").status_code == 404
        assert client.get(f"/members/{outside.pk}/edit/").status_code == 404
        assert client.post(f"/members/{outside.pk}/reveal/").status_code == 404
        assert outside.full_name not in client.get("/members/").content.decode()


def test_lists_and_details_show_masked_numbers(client, cast, inside):
    for who in CAST:
        client = client_for(client, cast, who)
        if who == "anonymous":
            continue  # covered above: sent to sign in

        listing = client.get("/members/").content.decode()
        detail = client.get(f"/members/{inside.pk}/").content.decode()

        for page in (listing, detail):
            assert "+91 98xxxxxx01" in page
            assert "9811100001" not in page.replace(" ", "")
        assert "GOAxxxxx67" in detail
        assert "GOA1234567" not in detail


def test_revealing_a_number_is_for_leads_and_organisers_and_audited(client, cast, inside):
    for who in CAST:
        client = client_for(client, cast, who)

        response = client.post(f"/members/{inside.pk}/reveal/")

        reveals = AuditEvent.objects.filter(action="member.reveal", target_id=str(inside.pk))
        if who in ALLOWED["contact_see"]:
            page = response.content.decode()
            assert response.status_code == 200
            assert "+91 98111 00001" in page
            assert "GOA1234567" in page
            event = reveals.get(actor=cast[who])
            assert "9811100001" not in str(event.data) + event.target_repr
        else:
            assert_refused(response, who)
            if cast[who] is not None:
                assert not reveals.filter(actor=cast[who]).exists()


def test_the_reveal_button_shows_only_to_those_who_may(client, cast, inside):
    for who in CAST:
        if who == "anonymous":
            continue
        page = client_for(client, cast, who).get(f"/members/{inside.pk}/").content.decode()

        assert (f"/members/{inside.pk}/reveal/" in page) == (who in ALLOWED["contact_see"])


# --- Registering and editing --------------------------------------------------------------


def test_registering_a_member(client, cast, tree):
    for number, who in enumerate(CAST):
        client = client_for(client, cast, who)
        phone = f"98113 0{number:04d}"

        response = client.post("/members/new/", member_form(tree.mandrem_booths[0], phone=phone))

        created = Member.objects.filter(phone=f"+9198113{number:05d}")
        if who in ALLOWED["member_write"]:
            assert response.status_code == 302
            assert created.get().booth == tree.mandrem_booths[0]
            assert AuditEvent.objects.filter(action="member.create", actor=cast[who]).exists()
        else:
            assert_refused(response, who)
            assert not created.exists()


def test_a_forged_booth_from_another_area_is_refused(client, cast, tree):
    for who in ["lead", "organiser"]:
        client = client_for(client, cast, who)

        response = client.post("/members/new/", member_form(tree.ponda_booth))

        assert response.status_code == 200
        assert "in your area" in response.content.decode()
        assert not Member.objects.filter(phone="+919811300005").exists()


def test_editing_a_member(client, cast, tree, inside):
    for who in CAST:
        Member.objects.filter(pk=inside.pk).update(full_name="Ravi Naik")
        client = client_for(client, cast, who)
        form = member_form(tree.mandrem_booths[0], full_name="Ravi Naik Jr", phone=INSIDE_PHONE)

        response = client.post(f"/members/{inside.pk}/edit/", form)

        inside.refresh_from_db()
        if who in ALLOWED["member_write"]:
            assert response.status_code == 302
            assert inside.full_name == "Ravi Naik Jr"
        else:
            assert_refused(response, who)
            assert inside.full_name == "Ravi Naik"
            if who != "anonymous":
                assert client.get(f"/members/{inside.pk}/edit/").status_code == 403


def test_moving_a_member_to_another_areas_booth_is_refused(client, cast, tree, inside):
    for who in ["lead", "organiser"]:
        client = client_for(client, cast, who)
        form = member_form(tree.ponda_booth, full_name="Ravi Naik", phone=INSIDE_PHONE)

        response = client.post(f"/members/{inside.pk}/edit/", form)

        inside.refresh_from_db()
        assert response.status_code == 200
        assert inside.booth == tree.mandrem_booths[0]


def test_recording_and_withdrawing_consent(client, cast, inside):
    for who in CAST:
        client = client_for(client, cast, who)

        granted = client.post(
            f"/members/{inside.pk}/consents/", {"purpose": "whatsapp", "notice_version": "2026-1"}
        )
        live = Consent.objects.filter(member=inside, purpose="whatsapp", withdrawn_at__isnull=True)
        if who in ALLOWED["member_write"]:
            assert granted.status_code == 302
            assert live.exists()
            withdrawn = client.post(f"/members/{inside.pk}/consents/whatsapp/withdraw/")
            assert withdrawn.status_code == 302
            assert not live.exists()
        else:
            assert_refused(granted, who)
            assert not live.exists()


# --- Import, export, merge ------------------------------------------------------------------


def test_opening_the_import(client, cast):
    for who in CAST:
        response = client_for(client, cast, who).get("/members/import/")

        if who in ALLOWED["member_import"]:
            assert response.status_code == 200
        else:
            assert_refused(response, who)


def test_exporting(client, cast, inside, outside):
    for who in CAST:
        client = client_for(client, cast, who)

        for url in ("/members/export.csv", "/members/export.xlsx"):
            response = client.get(url)
            if who in ALLOWED["member_export"]:
                assert response.status_code == 200
            else:
                assert_refused(response, who)


def test_an_export_holds_only_the_area_where_the_user_may_export(client, tree, inside, outside):
    """Lead in North Goa, viewer in South Goa: sees both, exports only North Goa."""
    user = UserFactory(email="two-hats@example.org")
    group_services.assignment_add(actor=None, user=user, group=tree.north_goa, role=Role.LEAD)
    group_services.assignment_add(actor=None, user=user, group=tree.south_goa, role=Role.VIEWER)
    client.force_login(user)

    content = b"".join(client.get("/members/export.csv").streaming_content).decode("utf-8-sig")

    names = [row["full_name"] for row in csv.DictReader(io.StringIO(content))]
    assert names == ["Ravi Naik"]
    assert "Sita Gaonkar" in client.get("/members/").content.decode()


def test_merging(client, cast, asha, tree, inside):
    for number, who in enumerate(CAST):
        twin = member_services.member_create(
            actor=asha, full_name="Ravi Naik", phone=f"+9198114{number:05d}",
            booth=tree.mandrem_booths[1],
        )  # fmt: skip
        client = client_for(client, cast, who)
        pair = {"first": inside.pk, "second": twin.pk, "survivor": inside.pk}

        response = client.post("/members/duplicates/merge/", pair)

        if who in ALLOWED["member_merge"]:
            assert response.status_code == 302
            assert not Member.objects.filter(pk=twin.pk).exists()
        else:
            assert_refused(response, who)
            assert Member.objects.filter(pk=twin.pk).exists()


def test_a_merge_with_a_member_outside_the_area_is_404(client, cast, inside, outside):
    client = client_for(client, cast, "lead")

    response = client.post(
        "/members/duplicates/merge/",
        {"first": inside.pk, "second": outside.pk, "survivor": inside.pk},
    )

    assert response.status_code == 404
    assert Member.objects.filter(pk=outside.pk).exists()


# --- The tree -----------------------------------------------------------------------------


def test_changing_the_tree(client, cast, tree):
    for number, who in enumerate(CAST):
        client = client_for(client, cast, who)
        code = f"S05-AC-001-B-{50 + number:04d}"
        data = {"kind": Kind.BOOTH, "name": "New booth", "name_local": "", "code": code,
                "whatsapp_invite_link": "", "telegram_chat_id": ""}  # fmt: skip

        response = client.post(f"/groups/{tree.mandrem.pk}/children/new/", data)

        created = Group.objects.filter(code=code)
        if who in ALLOWED["tree_change"]:
            assert response.status_code == 302
            assert created.exists()
        else:
            assert_refused(response, who)
            assert not created.exists()


def test_changing_the_tree_outside_the_area_is_404(client, cast, tree):
    for who in ROLES:
        client = client_for(client, cast, who)

        assert client.get(f"/groups/{tree.ponda.pk}/edit/").status_code == 404
        assert client.post(f"/groups/{tree.ponda.pk}/deactivate/").status_code == 404
        assert Group.objects.get(pk=tree.ponda.pk).is_active


# --- Roles --------------------------------------------------------------------------------


GRANTS = [
    ("north_goa", Role.ORGANISER, True),  # any role but lead at their node
    ("north_goa", Role.VIEWER, True),
    ("north_goa", Role.LEAD, False),  # a role as high as their own, at their node
    ("mandrem", Role.LEAD, True),  # any role below their node
    ("goa", Role.VIEWER, False),  # above their node: outside their area
    ("ponda", Role.VIEWER, False),  # outside their area
]


def test_a_lead_gives_roles_below_and_at_their_node_but_no_higher(cast, tree):
    for number, (where, role, allowed) in enumerate(GRANTS):
        newcomer = UserFactory(email=f"newcomer{number}@example.org")
        group = getattr(tree, where)

        if allowed:
            group_services.assignment_add(actor=cast["lead"], user=newcomer, group=group, role=role)
            assert Assignment.objects.filter(user=newcomer, group=group, role=role).exists()
            event = AuditEvent.objects.get(action="assignment.add", data__user=newcomer.pk)
            assert event.actor == cast["lead"]
            assert event.data == {"user": newcomer.pk, "role": role, "group": group.code}
        else:
            expected = OutsideArea if where in {"goa", "ponda"} else ApplicationError
            with pytest.raises(expected):
                group_services.assignment_add(
                    actor=cast["lead"], user=newcomer, group=group, role=role
                )
            assert not Assignment.objects.filter(user=newcomer).exists()


def test_only_leads_give_roles(cast, tree):
    for who in ["organiser", "approver", "editor", "viewer"]:
        newcomer = UserFactory(email="newcomer@example.org")

        with pytest.raises(permissions.Forbidden):
            group_services.assignment_add(
                actor=cast[who], user=newcomer, group=tree.mandrem, role=Role.VIEWER
            )
        assert not Assignment.objects.filter(user=newcomer).exists()


def test_a_lead_removes_a_role_they_could_give_and_it_is_audited(cast, tree):
    assignment = Assignment.objects.get(user=cast["viewer"])

    group_services.assignment_remove(actor=cast["lead"], assignment=assignment)

    assert not Assignment.objects.filter(pk=assignment.pk).exists()
    assert AuditEvent.objects.filter(action="assignment.remove", actor=cast["lead"]).exists()
    lead_assignment = Assignment.objects.get(user=cast["lead"])
    with pytest.raises(Exception, match="any role but lead at it"):
        group_services.assignment_remove(actor=cast["lead"], assignment=lead_assignment)


# --- The API --------------------------------------------------------------------------------


def test_the_api_lists_groups_in_the_area_only(client, cast, tree):
    for who in CAST:
        response = client_for(client, cast, who).get("/api/groups/", {"q": "Ponda"})

        if who == "anonymous":
            assert response.status_code == 403
            continue
        codes = {group["code"] for group in response.json()["results"]}
        assert ("S05-AC-021" in codes) == (who == "superuser")


# --- Groups and offices of a member (the admin's inlines call these services) ---------------


def test_memberships_and_posts_follow_the_table_and_the_area(cast, asha, tree, inside):
    booth = tree.mandrem_booths[0]
    for who in ROLES:
        actor = cast[who]
        if who in ALLOWED["member_write"]:
            membership = member_services.membership_add(
                actor=actor, member=inside, group=booth, role="admin"
            )
            post = member_services.post_assign(
                actor=actor, member=inside, group=booth, office="booth_president"
            )
            member_services.post_end(actor=actor, post=post)
            member_services.membership_remove(actor=actor, membership=membership)
            # A group outside the area, for a member inside it: does not exist for them.
            with pytest.raises(OutsideArea):
                member_services.membership_add(
                    actor=actor, member=inside, group=tree.ponda_booth, role="member"
                )
            with pytest.raises(OutsideArea):
                member_services.post_assign(
                    actor=actor, member=inside, group=tree.ponda_booth, office="booth_agent"
                )
        else:
            with pytest.raises(permissions.Forbidden):
                member_services.membership_add(
                    actor=actor, member=inside, group=booth, role="member"
                )
            with pytest.raises(permissions.Forbidden):
                member_services.post_assign(
                    actor=actor, member=inside, group=booth, office="booth_agent"
                )
    assert not Membership.objects.filter(member=inside).exists()
    assert not Post.objects.filter(member=inside, ends_on__isnull=True).exists()
    assert not Post.objects.filter(group=tree.ponda_booth).exists()


# --- Content ------------------------------------------------------------------------------


def test_drafting_and_deciding_content(cast, tree):
    """Through the services: editors and leads draft, approvers and leads decide (their
    pages come later); a refusal writes nothing."""
    from content import services as content_services
    from content.models import Content
    from content.services import VariantInput

    author = UserFactory(email="author@goa.example")
    group_services.assignment_add(actor=None, user=author, group=tree.goa, role=Role.EDITOR)
    text = [VariantInput(language="en", body="Rally on Sunday")]
    for who in CAST:
        actor = cast[who]
        if who in ALLOWED["content_draft"]:
            content_services.content_create(
                actor=actor, title=f"by {who}", variants=text, targets=[tree.mandrem]
            )
        else:
            with pytest.raises(permissions.Forbidden):
                content_services.content_create(
                    actor=actor, title=f"by {who}", variants=text, targets=[tree.mandrem]
                )
        assert Content.objects.filter(title=f"by {who}").exists() == (
            who in ALLOWED["content_draft"]
        )

        content = content_services.content_submit(
            actor=author,
            content=content_services.content_create(
                actor=author, title=f"for {who}", variants=text, targets=[tree.north_goa]
            ),
        )
        if who in ALLOWED["content_decide"]:
            content_services.content_decide(actor=actor, content=content, decision="approve")
            assert Content.objects.get(pk=content.pk).state == "approved"
        else:
            with pytest.raises(permissions.Forbidden):
                content_services.content_decide(actor=actor, content=content, decision="approve")
            assert Content.objects.get(pk=content.pk).state == "in_review"

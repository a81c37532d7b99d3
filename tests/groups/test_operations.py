"""Changing the tree: create, rename, move, deactivate, merge. Each checks permission, keeps
the nested sets sound, refuses bad input with a clear message and records who did it."""

from __future__ import annotations

import pytest

from cadreconnect.models import AuditEvent
from groups import selectors, services
from groups import tree as nested
from groups.models import Assignment, Group, Kind, Role

WHATSAPP = "https://chat.whatsapp.com/AbCdEfGhIjKlMnOpQrStUv"


@pytest.fixture
def naveen_client(client, naveen):
    client.force_login(naveen)
    return client


def assert_sound() -> None:
    assert nested.check_integrity() == []


def add_child(client, parent: Group, **fields):
    data = {"kind": Kind.BOOTH, "name": "New booth", "name_local": "", "code": "S05-AC-001-B-0050",
            "whatsapp_invite_link": "", "telegram_chat_id": ""}  # fmt: skip
    data.update(fields)
    return client.post(f"/groups/{parent.pk}/children/new/", data)


# --- Create ---------------------------------------------------------------------------------


def test_lead_adds_a_booth_in_order_and_it_is_audited(naveen_client, naveen, tree):
    response = add_child(naveen_client, tree.mandrem, name="Mandrem school", name_local="मांद्रे",
                         code="s05-ac-001-b-0002", whatsapp_invite_link=WHATSAPP)  # fmt: skip

    # The code S05-AC-001-B-0002 is taken: the form says so and nothing is written.
    assert response.status_code == 200
    assert "already in use" in response.content.decode()

    response = add_child(naveen_client, tree.mandrem, name="Mandrem school", name_local="मांद्रे",
                         code="s05-ac-001-b-0004", whatsapp_invite_link=WHATSAPP)  # fmt: skip

    booth = Group.objects.get(code="S05-AC-001-B-0004")
    assert response.status_code == 302
    assert response["Location"] == f"/groups/{booth.pk}/"
    assert booth.parent_id == tree.mandrem.pk
    assert booth.name_local == "मांद्रे"
    assert [child.code for child in tree.fresh(tree.mandrem).get_children()] == [
        "S05-AC-001-B-0001", "S05-AC-001-B-0002", "S05-AC-001-B-0003", "S05-AC-001-B-0004",
    ]  # fmt: skip
    event = AuditEvent.objects.get(action="group.create", target_id=str(booth.pk))
    assert event.actor == naveen
    assert event.data["parent"] == "S05-AC-001"
    assert_sound()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": Kind.DISTRICT}, "Select a valid choice"),
        ({"kind": "not-a-number"}, "Select a valid choice"),
        ({"code": "S05 AC 001"}, "capital letters and digits"),
        ({"code": "S05--1"}, "capital letters and digits"),
        ({"code": ""}, "This field is required"),
        ({"code": "S" * 65}, "at most 64 characters"),
        ({"name": "   "}, "This field is required"),
        ({"name": "x" * 201}, "at most 200 characters"),
        ({"whatsapp_invite_link": "https://evil.example/join"}, "WhatsApp group invite link"),
        ({"whatsapp_invite_link": "javascript:alert(1)"}, "WhatsApp group invite link"),
        ({"telegram_chat_id": "chat-42"}, "whole number"),
        ({"telegram_chat_id": str(10**18)}, "less than or equal"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(naveen_client, tree, fields, message):
    before = Group.objects.count()

    response = add_child(naveen_client, tree.mandrem, **fields)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert Group.objects.count() == before


def test_service_refuses_a_kind_that_is_not_deeper(naveen, tree):
    with pytest.raises(services.ApplicationError, match="cannot sit under"):
        services.group_create_child(actor=naveen, parent=tree.mandrem, name="X",
                                    code="S05-X-1", kind=Kind.MANDAL - 20)  # fmt: skip

    assert not Group.objects.filter(code="S05-X-1").exists()


def test_hostile_text_is_stored_as_text_and_escaped(naveen_client, tree):
    add_child(naveen_client, tree.mandrem, name="<script>alert('x')</script>",
              code="S05-AC-001-B-0009")  # fmt: skip

    booth = Group.objects.get(code="S05-AC-001-B-0009")
    page = naveen_client.get(f"/groups/{booth.pk}/").content.decode()
    assert booth.name == "<script>alert('x')</script>"
    assert "<script>alert('x')</script>" not in page
    assert "&lt;script&gt;" in page


def test_viewer_cannot_change_what_they_can_see(client, vikram, tree):
    client.force_login(vikram)

    assert client.get(f"/groups/{tree.mandrem.pk}/").status_code == 200
    assert add_child(client, tree.mandrem).status_code == 403
    assert client.post(f"/groups/{tree.mandrem.pk}/deactivate/").status_code == 403
    assert client.get(f"/groups/{tree.mandrem.pk}/move/").status_code == 403
    assert not Group.objects.filter(code="S05-AC-001-B-0050").exists()
    assert Group.objects.get(pk=tree.mandrem.pk).is_active


def test_superuser_adds_a_state_under_the_national_node_as_a_new_tree(client, asha, tree):
    client.force_login(asha)

    response = add_child(client, tree.india, kind=Kind.STATE, name="Telangana", code="S29")

    telangana = Group.objects.get(code="S29")
    assert response.status_code == 302
    assert telangana.parent is None
    assert telangana.tree_id not in {tree.goa.tree_id, tree.tripura.tree_id, tree.india.tree_id}
    assert_sound()


# --- Rename ---------------------------------------------------------------------------------


def test_lead_renames_and_sets_links(naveen_client, naveen, tree):
    response = naveen_client.post(
        f"/groups/{tree.mandrem.pk}/edit/",
        {"name": "Mandrem (North)", "name_local": "मांद्रे", "whatsapp_invite_link": WHATSAPP,
         "telegram_chat_id": "-1001234567890"},
    )  # fmt: skip

    assert response.status_code == 302
    mandrem = tree.fresh(tree.mandrem)
    assert (mandrem.name, mandrem.telegram_chat_id) == ("Mandrem (North)", -1001234567890)
    event = AuditEvent.objects.get(action="group.update")
    assert event.data["name"] == ["Mandrem", "Mandrem (North)"]
    assert event.actor == naveen


# --- Move -----------------------------------------------------------------------------------


def test_state_lead_moves_an_assembly_constituency_to_the_other_district(client, gopal, tree):
    client.force_login(gopal)
    south_pc = Group.objects.get(code="S05-PC-02")

    response = client.post(f"/groups/{tree.mandrem.pk}/move/", {"new_parent": "s05-pc-02"})

    assert response.status_code == 302
    mandrem = tree.fresh(tree.mandrem)
    assert mandrem.upper_id == south_pc.pk
    booths = tree.fresh(tree.mandrem).get_children()
    assert [b.code for b in booths] == [b.code for b in tree.mandrem_booths]
    assert AuditEvent.objects.filter(action="group.move", target_id=str(mandrem.pk)).exists()
    assert_sound()


def test_district_lead_cannot_move_into_another_district(naveen_client, tree):
    response = naveen_client.post(f"/groups/{tree.mandrem.pk}/move/", {"new_parent": "S05-PC-02"})

    # South Goa is outside Naveen's scope: it does not exist for him.
    assert response.status_code == 200
    assert "No group with the code S05-PC-02 in your area" in response.content.decode()
    assert tree.fresh(tree.mandrem).parent_id == tree.mandrem.parent_id


def test_a_node_cannot_move_under_its_own_descendant(client, gopal, tree):
    client.force_login(gopal)

    response = client.post(f"/groups/{tree.north_goa.pk}/move/", {"new_parent": "S05-AC-001"})

    assert "the tree would have a loop" in response.content.decode()
    assert tree.fresh(tree.north_goa).parent_id == tree.goa.pk
    assert_sound()


def test_a_node_cannot_move_under_itself(gopal, tree):
    with pytest.raises(services.ApplicationError, match="loop"):
        services.group_move(actor=gopal, group=tree.north_goa, new_parent=tree.north_goa)


def test_a_move_must_keep_kinds_in_order(client, gopal, tree):
    client.force_login(gopal)

    response = client.post(f"/groups/{tree.mandrem_booths[0].pk}/move/", {"new_parent": "S05"})
    assert response.status_code == 302  # a booth may sit right under its state (levels skipped)

    response = client.post(f"/groups/{tree.north_goa.pk}/move/", {"new_parent": "S05-AC-021"})
    assert "cannot sit under" in response.content.decode()
    assert_sound()


def test_moving_between_states_moves_the_whole_subtree(asha, tree):
    services.group_move(actor=asha, group=tree.north_goa, new_parent=tree.tripura)

    district = tree.fresh(tree.north_goa)
    assert district.tree_id == tree.tripura.tree_id
    assert selectors.group_subtree(district).filter(kind=Kind.BOOTH).count() == 3
    assert not Group.objects.filter(
        tree_id=tree.goa.tree_id, code__startswith="S05-AC-001"
    ).exists()
    assert_sound()


def test_the_national_node_cannot_move_or_be_deactivated(asha, tree):
    with pytest.raises(services.ApplicationError, match="national level cannot be moved"):
        services.group_move(actor=asha, group=tree.india, new_parent=tree.goa)
    with pytest.raises(services.ApplicationError, match="cannot be deactivated"):
        services.group_deactivate(actor=asha, group=tree.india)


# --- Deactivate -----------------------------------------------------------------------------


def test_deactivating_a_node_deactivates_its_subtree(naveen_client, tree):
    response = naveen_client.post(f"/groups/{tree.mandrem.pk}/deactivate/", follow=True)

    assert "Deactivated 4 groups." in response.content.decode()
    assert not Group.objects.filter(parent=tree.mandrem, is_active=True).exists()
    assert Group.objects.get(pk=tree.ponda.pk).is_active
    assert AuditEvent.objects.get(action="group.deactivate").data == {"nodes": 4}


def test_a_child_cannot_be_added_under_a_deactivated_node(naveen, tree):
    services.group_deactivate(actor=naveen, group=tree.mandrem)

    with pytest.raises(services.ApplicationError, match="deactivated"):
        services.group_create_child(actor=naveen, parent=tree.mandrem, name="Late",
                                    code="S05-AC-001-B-0099", kind=Kind.BOOTH)  # fmt: skip


def test_deactivate_needs_post(naveen_client, tree):
    assert naveen_client.get(f"/groups/{tree.mandrem.pk}/deactivate/").status_code == 405


# --- Merge ----------------------------------------------------------------------------------


def test_merging_two_booths_moves_their_staff_to_the_survivor(naveen_client, naveen, tree):
    source, survivor = tree.mandrem_booths[0], tree.mandrem_booths[1]
    from tests.factories import UserFactory

    agent = UserFactory(email="agent@cadreconnect.example")
    services.assignment_add(actor=None, user=agent, group=source, role=Role.VIEWER)

    response = naveen_client.post(f"/groups/{source.pk}/merge/", {"survivor": survivor.code})

    assert response.status_code == 302
    source = tree.fresh(source)
    assert not source.is_active
    assert source.merged_into_id == survivor.pk
    assert Assignment.objects.get(user=agent).group_id == survivor.pk
    event = AuditEvent.objects.get(action="group.merge")
    assert event.data["merged"] == source.code
    assert_sound()


def test_only_booths_merge_and_never_into_themselves(naveen_client, tree):
    booth = tree.mandrem_booths[0]

    into_self = naveen_client.post(f"/groups/{booth.pk}/merge/", {"survivor": booth.code})
    into_ac = naveen_client.post(f"/groups/{booth.pk}/merge/", {"survivor": "S05-AC-001"})

    assert "cannot be merged into itself" in into_self.content.decode()
    assert "Only two polling booths can be merged" in into_ac.content.decode()
    assert tree.fresh(booth).is_active

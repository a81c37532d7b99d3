"""Booths left for placement: the booths of a retired constituency that the mapping could not
place (no booth-level order), which a lead places, one by one, in an active constituency of
their area. Nothing is guessed: until a lead places a booth it stays, deactivated, under its
retired constituency, and its members count there."""

from __future__ import annotations

import re

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from cadreconnect import permissions
from cadreconnect.exceptions import ApplicationError
from cadreconnect.permissions import Action
from cadreconnect.services import audit_record
from groups import tree
from groups.delimitation import applying
from groups.models import BoothPlacement, Group, Kind
from groups.services import group_figures_stale

MAX_BOOTH_NUMBER = 9999


def delimitation_booths_waiting(*, user: User) -> QuerySet[BoothPlacement]:
    """The booths waiting for placement that the user may place: inside the area where they
    may change the tree."""
    scope = permissions.action_scope(user, Action.TREE_CHANGE)
    return (
        BoothPlacement.objects.filter(placed_at__isnull=True)
        .filter(scope.q(prefix="booth__"))
        .select_related("booth")
        .order_by("booth__code")
    )


def delimitation_constituencies_for_placing(*, user: User) -> QuerySet[Group]:
    """The active assembly constituencies the user may place a booth in."""
    scope = permissions.action_scope(user, Action.TREE_CHANGE)
    return Group.objects.filter(scope.q(), kind=Kind.ASSEMBLY, is_active=True).order_by("code")


def delimitation_booth_place(*, actor: User, booth: Group, constituency: Group) -> Group:
    """Place a booth waiting since a delimitation in an active assembly constituency of the
    actor's area: it moves there with its members, takes the constituency's next booth
    number, and is active again. Both must be where the actor may change the tree."""
    permissions.require(actor, Action.TREE_CHANGE, booth)
    permissions.require(actor, Action.TREE_CHANGE, constituency)
    if constituency.kind != Kind.ASSEMBLY:
        raise ApplicationError(
            _("Choose an assembly constituency to place the booth in."),
            code="not_a_constituency",
        )
    with transaction.atomic():
        tree.lock_trees(booth.tree_id, constituency.tree_id)
        booth = Group.objects.get(pk=booth.pk)
        constituency = Group.objects.get(pk=constituency.pk)
        # Numbers may have moved between reading and locking: lock what they are now.
        tree.lock_trees(booth.tree_id, constituency.tree_id)
        placement = (
            BoothPlacement.objects.select_for_update()
            .filter(booth=booth, placed_at__isnull=True)
            .first()
        )
        if placement is None:
            raise ApplicationError(
                _("%(booth)s is not waiting to be placed.") % {"booth": booth.name},
                code="booth_not_waiting",
            )
        if not constituency.is_active:
            raise ApplicationError(
                _("%(group)s is deactivated; choose an active constituency.")
                % {"group": constituency.name},
                code="group_inactive",
            )
        old_code, old_tree = booth.code, booth.tree_id
        code = _next_booth_code(constituency)
        Group.objects.filter(pk=booth.pk).update(
            parent=constituency, code=code, is_active=True, updated_at=timezone.now()
        )
        roots = Group.objects.filter(
            parent__isnull=True, tree_id__in={old_tree, constituency.tree_id}
        ).values_list("pk", flat=True)
        tree.rebuild_trees(root_ids=list(roots))
        # Its members follow it: their tree and state are the constituency's now.
        state_id = applying.states_of_trees([constituency.tree_id]).get(constituency.tree_id)
        moved = sum(
            receiver(tree_ids=[constituency.tree_id], state_id=state_id)
            for receiver in applying.FOLLOW_RECEIVERS
        )
        for receiver in applying.RESTRUCTURE_RECEIVERS:
            receiver(tree_ids=sorted({old_tree, constituency.tree_id}))
        BoothPlacement.objects.filter(pk=placement.pk).update(
            placed_at=timezone.now(), placed_by=actor, placed_into=constituency, placed_code=code
        )
        booth.refresh_from_db()
        audit_record(
            actor=actor,
            action="delimitation.place",
            target=booth,
            data={"from": old_code, "to": code, "into": constituency.code, "members": moved},
        )
        group_figures_stale(old_tree, constituency.tree_id)
    return booth


def _next_booth_code(constituency: Group) -> str:
    prefix = f"{constituency.code}-B-"
    pattern = re.compile(re.escape(prefix) + r"(\d{4})$")
    numbers = [
        int(found.group(1))
        for code in Group.objects.filter(code__startswith=prefix).values_list("code", flat=True)
        if (found := pattern.match(code))
    ]
    number = max(numbers, default=0) + 1
    if number > MAX_BOOTH_NUMBER:
        raise ApplicationError(
            _("%(group)s has booth numbers up to %(max)s taken; place the booth elsewhere.")
            % {"group": constituency.name, "max": MAX_BOOTH_NUMBER},
            code="booth_numbers_full",
        )
    return f"{prefix}{number:04d}"

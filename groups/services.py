"""Every change to the group tree, with its permission check, lock and audit event.

Writes to one tree are serialised by its advisory lock (groups.tree.lock_trees): mptt
renumbers the nodes of a tree on every insert or move and concurrent writes would corrupt it.
Nodes are re-read after the lock is held, because the numbers of an object read earlier may
be stale by then.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max

from accounts.models import User
from cadreconnect.exceptions import ApplicationError
from cadreconnect.services import audit_record
from groups import selectors, tree
from groups.models import Assignment, Group, Kind, Role


class PermissionDenied(ApplicationError):
    """The user may see the node but not change it this way."""


def _require_manage(actor: User, *groups: Group) -> None:
    for group in groups:
        if not selectors.group_can_manage(user=actor, group=group):
            raise PermissionDenied(
                f"You are not a lead of {group.name} or of a group above it, so you cannot "
                "change it."
            )


def _is_national(group: Group) -> bool:
    return group.kind == Kind.NATIONAL and group.parent_id is None


def _locked(group: Group) -> Group:
    """Lock the node's tree and return the node as it is now (retrying if it moved trees)."""
    for _attempt in range(5):
        tree.lock_trees(group.tree_id)
        fresh = Group.objects.get(pk=group.pk)
        if fresh.tree_id == group.tree_id:
            return fresh
        group = fresh
    raise ApplicationError("The tree is changing too fast to edit; try again.")


def _validate(group: Group, *, exclude: list[str] | None = None) -> None:
    try:
        group.full_clean(exclude=["parent", "lft", "rght", "tree_id", "level", *(exclude or [])])
    except ValidationError as error:
        raise ApplicationError(_validation_message(error), extra=error.message_dict) from error


def _validation_message(error: ValidationError) -> str:
    parts = []
    for field_name, messages in error.message_dict.items():
        label = field_name.replace("_", " ")
        parts.append(f"{label}: {' '.join(messages)}")
    return "; ".join(parts)


def _check_kind_below(parent: Group, kind: int) -> None:
    if kind <= parent.kind:
        raise ApplicationError(
            f"A {Kind(kind).label} cannot sit under a {Kind(parent.kind).label}: each level must "
            "be deeper than the one above it."
        )


def group_create_child(
    *,
    actor: User,
    parent: Group,
    name: str,
    code: str,
    kind: int,
    name_local: str = "",
    whatsapp_invite_link: str = "",
    telegram_chat_id: int | None = None,
) -> Group:
    """Add a node under `parent`; under the national node that is a new root (a new tree)."""
    _require_manage(actor, parent)
    _check_kind_below(parent, kind)
    group = Group(
        name=name.strip(),
        name_local=name_local.strip(),
        code=code.strip().upper(),
        kind=kind,
        whatsapp_invite_link=whatsapp_invite_link.strip(),
        telegram_chat_id=telegram_chat_id,
    )
    _validate(group)
    with transaction.atomic():
        if _is_national(parent):
            group = _root_create(group)
        else:
            parent = _locked(parent)
            if not parent.is_active:
                raise ApplicationError(f"{parent.name} is deactivated; reactivate it first.")
            group.parent = parent
            _save_unique(group)
        audit_record(
            actor=actor, action="group.create", target=group,
            data={"parent": parent.code, "kind": int(kind)},
        )  # fmt: skip
    transaction.on_commit(lambda: _refresh_figures(group.tree_id))
    return group


def _root_create(group: Group) -> Group:
    """The one way a new root (a state's tree) comes to be: tree ids are handed out under a
    lock, so two roots never share one."""
    tree.lock_trees(tree.ROOTS_LOCK)
    next_tree_id = (Group.objects.aggregate(highest=Max("tree_id"))["highest"] or 0) + 1
    group.parent = None
    # mptt would pick this tree id too, but only we hold the lock that makes it safe.
    group.tree_id = next_tree_id
    group.lft, group.rght, group.level = 1, 2, 0
    _save_unique(group, raw=True)
    return group


def _save_unique(group: Group, *, raw: bool = False) -> None:
    try:
        with transaction.atomic():
            if raw:
                # Numbers set by the caller; Model.save skips mptt's insert logic.
                super(Group, group).save()
            else:
                group.save()
    except IntegrityError as error:
        if Group.objects.filter(code=group.code).exists():
            raise ApplicationError(f"The code {group.code} is already in use.") from error
        raise


def group_update(
    *,
    actor: User,
    group: Group,
    name: str,
    name_local: str = "",
    whatsapp_invite_link: str = "",
    telegram_chat_id: int | None = None,
) -> Group:
    """Rename a node and set its group links. The code and kind never change."""
    _require_manage(actor, group)
    with transaction.atomic():
        group = _locked(group)
        before = {
            "name": group.name, "name_local": group.name_local,
            "whatsapp_invite_link": group.whatsapp_invite_link,
            "telegram_chat_id": group.telegram_chat_id,
        }  # fmt: skip
        group.name = name.strip()
        group.name_local = name_local.strip()
        group.whatsapp_invite_link = whatsapp_invite_link.strip()
        group.telegram_chat_id = telegram_chat_id
        _validate(group, exclude=["code"])
        after = {key: getattr(group, key) for key in before}
        if after == before:
            return group
        Group.objects.filter(pk=group.pk).update(**after)
        changes = {key: [before[key], after[key]] for key in before if before[key] != after[key]}
        audit_record(actor=actor, action="group.update", target=group, data=changes)
    transaction.on_commit(lambda: _refresh_figures(group.tree_id))
    return group


def group_move(*, actor: User, group: Group, new_parent: Group) -> Group:
    """Move a node and its whole subtree under another node (to the national node: it becomes
    a tree of its own)."""
    if _is_national(group):
        raise ApplicationError("The national level cannot be moved.")
    _require_manage(actor, group, new_parent)
    with transaction.atomic():
        tree.lock_trees(tree.ROOTS_LOCK, group.tree_id, new_parent.tree_id)
        group = Group.objects.get(pk=group.pk)
        new_parent = Group.objects.get(pk=new_parent.pk)
        # Numbers may have moved between reading and locking: lock what they are now.
        tree.lock_trees(group.tree_id, new_parent.tree_id)
        if new_parent.pk == group.pk or (
            new_parent.tree_id == group.tree_id
            and group.lft <= new_parent.lft
            and new_parent.rght <= group.rght
        ):
            raise ApplicationError(
                f"{group.name} cannot move under {new_parent.name}, which is inside it: the "
                "tree would have a loop."
            )
        _check_kind_below(new_parent, group.kind)
        if not new_parent.is_active:
            raise ApplicationError(f"{new_parent.name} is deactivated; reactivate it first.")
        old_parent_code = group.parent.code if group.parent_id else None
        old_tree_id = group.tree_id
        if _is_national(new_parent):
            if group.parent_id is None:
                return group
            group.move_to(None)
        elif group.parent_id == new_parent.pk:
            return group
        else:
            group.parent = new_parent
            group.save()
        group.refresh_from_db()
        audit_record(
            actor=actor, action="group.move", target=group,
            data={"from": old_parent_code, "to": new_parent.code},
        )  # fmt: skip
    for tree_id in {old_tree_id, group.tree_id}:
        transaction.on_commit(lambda tree_id=tree_id: _refresh_figures(tree_id))
    return group


def group_deactivate(*, actor: User, group: Group) -> int:
    """Deactivate a node and everything under it; returns how many nodes were deactivated."""
    if _is_national(group):
        raise ApplicationError("The national level cannot be deactivated.")
    _require_manage(actor, group)
    with transaction.atomic():
        group = _locked(group)
        count = Group.objects.filter(
            tree_id=group.tree_id, lft__range=(group.lft, group.rght), is_active=True
        ).update(is_active=False)
        audit_record(actor=actor, action="group.deactivate", target=group, data={"nodes": count})
    transaction.on_commit(lambda: _refresh_figures(group.tree_id))
    return count


def group_reactivate(*, actor: User, group: Group) -> Group:
    """Reactivate one node (not its subtree, which may have been deactivated for reasons of
    its own); its parent must be active."""
    _require_manage(actor, group)
    with transaction.atomic():
        group = _locked(group)
        if group.parent_id and not group.parent.is_active:
            raise ApplicationError(f"{group.parent.name} is deactivated; reactivate it first.")
        if group.merged_into_id:
            raise ApplicationError(f"{group.name} was merged into another booth.")
        Group.objects.filter(pk=group.pk).update(is_active=True)
        group.is_active = True
        audit_record(actor=actor, action="group.reactivate", target=group)
    transaction.on_commit(lambda: _refresh_figures(group.tree_id))
    return group


def group_merge_booths(*, actor: User, source: Group, survivor: Group) -> Group:
    """Merge booth `source` into booth `survivor`: what belonged to the source moves to the
    survivor, and the source is deactivated and marked as merged (its code stays reserved)."""
    if source.pk == survivor.pk:
        raise ApplicationError("A booth cannot be merged into itself.")
    if source.kind != Kind.BOOTH or survivor.kind != Kind.BOOTH:
        raise ApplicationError("Only two polling booths can be merged.")
    _require_manage(actor, source, survivor)
    with transaction.atomic():
        tree.lock_trees(source.tree_id, survivor.tree_id)
        source = Group.objects.get(pk=source.pk)
        survivor = Group.objects.get(pk=survivor.pk)
        if source.merged_into_id:
            raise ApplicationError(f"{source.name} was already merged.")
        if not survivor.is_active:
            raise ApplicationError(f"{survivor.name} is deactivated; it cannot take a merge.")
        moved = 0
        for assignment in Assignment.objects.filter(group=source):
            if not Assignment.objects.filter(
                user=assignment.user_id, group=survivor, role=assignment.role
            ).exists():
                Assignment.objects.filter(pk=assignment.pk).update(group=survivor)
                moved += 1
        Assignment.objects.filter(group=source).delete()
        for receiver in MERGE_RECEIVERS:
            moved += receiver(source=source, survivor=survivor)
        Group.objects.filter(pk=source.pk).update(is_active=False, merged_into=survivor)
        audit_record(
            actor=actor, action="group.merge", target=survivor,
            data={"merged": source.code, "moved": moved},
        )  # fmt: skip
    for tree_id in {source.tree_id, survivor.tree_id}:
        transaction.on_commit(lambda tree_id=tree_id: _refresh_figures(tree_id))
    survivor.refresh_from_db()
    return survivor


# Apps holding rows that point at a booth (members' memberships, once the register exists)
# add a function here: receiver(source=..., survivor=...) -> rows moved.
MERGE_RECEIVERS: list = []


def assignment_add(*, actor: User | None, user: User, group: Group, role: str) -> Assignment:
    if actor is not None:
        _require_manage(actor, group)
    if role not in Role.values:
        raise ApplicationError(f"Unknown role {role!r}; use one of {', '.join(Role.values)}.")
    with transaction.atomic():
        assignment, created = Assignment.objects.get_or_create(user=user, group=group, role=role)
        if created:
            audit_record(
                actor=actor, action="assignment.add", target=group,
                data={"user": user.email, "role": role},
            )  # fmt: skip
    return assignment


def _refresh_figures(tree_id: int) -> None:
    from groups.tasks import group_figures_refresh

    group_figures_refresh.delay(tree_id)


def group_figures_refresh(*, tree_id: int) -> int:
    """Recount the figures of every node of one tree, set-wise; returns the nodes counted.

    Booth counts come from the tree itself. The national node's figures are the sum of the
    roots'. Member counts are filled in by the member register (members.figures).
    """
    from django.db import connection
    from django.utils import timezone

    from groups.models import GroupFigures

    now = timezone.now()
    with transaction.atomic():
        tree.lock_figures(tree_id)
        GroupFigures.objects.filter(group__tree_id=tree_id).delete()
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO groups_groupfigures (group_id, booths, booths_with_whatsapp, members,
                    active_members, booths_with_active_member, updated_at)
                SELECT node.id,
                       COUNT(booth.id),
                       COUNT(booth.id) FILTER (WHERE booth.whatsapp_invite_link <> ''),
                       0, 0, 0, %s
                FROM groups_group node
                LEFT JOIN groups_group booth
                  ON booth.tree_id = node.tree_id
                 -- lft within [lft, rght] is the whole subtree, and a bounded index range.
                 AND booth.lft BETWEEN node.lft AND node.rght
                 AND booth.kind = %s AND booth.is_active
                WHERE node.tree_id = %s
                GROUP BY node.id
                """,
                [now, int(Kind.BOOTH), tree_id],
            )
            counted = cursor.rowcount
        for receiver in FIGURES_RECEIVERS:
            receiver(tree_id=tree_id)
        _national_figures_refresh(now)
    return counted


def _national_figures_refresh(now) -> None:
    from django.db.models import Sum

    from groups.models import GroupFigures

    national = selectors.national_get()
    if national is None:
        return
    tree.lock_figures(national.tree_id)
    fields = ["booths", "booths_with_whatsapp", "members", "active_members",
              "booths_with_active_member"]  # fmt: skip
    totals = (
        GroupFigures.objects.filter(group__parent__isnull=True)
        .exclude(group=national)
        .aggregate(**{name: Sum(name) for name in fields})
    )
    GroupFigures.objects.update_or_create(
        group=national, defaults={name: totals[name] or 0 for name in fields}
    )


def group_figures_refresh_all() -> int:
    trees = Group.objects.filter(parent__isnull=True).exclude(kind=Kind.NATIONAL)
    return sum(
        group_figures_refresh(tree_id=tree_id)
        for tree_id in trees.values_list("tree_id", flat=True)
    )


# Apps that count things per node (the member register) add receiver(tree_id=...) here; each
# updates the figures rows of that tree, which exist by then.
FIGURES_RECEIVERS: list = []

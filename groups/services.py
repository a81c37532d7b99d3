"""Every change to the group tree, with its permission check, lock and audit event.

Writes to one tree are serialised by its advisory lock (groups.tree.lock_trees): mptt
renumbers the nodes of a tree on every insert or move and concurrent writes would corrupt it.
Nodes are re-read after the lock is held, because the numbers of an object read earlier may
be stale by then.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from cadreconnect import permissions
from cadreconnect.exceptions import ApplicationError
from cadreconnect.permissions import Action, Forbidden
from cadreconnect.services import audit_record
from groups import selectors, tree
from groups.models import TREE_ROOT_KINDS, Assignment, Group, Kind, Role, StaleFigures

# Refusals come from the one permission table (403 inside the user's area, 404 outside it).
PermissionDenied = Forbidden


def _require_manage(actor: User, *groups: Group) -> None:
    for group in groups:
        permissions.require(actor, Action.TREE_CHANGE, group)


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
    raise ApplicationError(_("The tree is changing too fast to edit; try again."), code="tree_busy")


def _validate(group: Group, *, exclude: list[str] | None = None) -> None:
    try:
        group.full_clean(exclude=["parent", "lft", "rght", "tree_id", "level", *(exclude or [])])
    except ValidationError as error:
        raise ApplicationError(
            _validation_message(error), code="invalid", extra=error.message_dict
        ) from error


def _validation_message(error: ValidationError) -> str:
    parts = []
    for field_name, messages in error.message_dict.items():
        try:
            label = str(Group._meta.get_field(field_name).verbose_name)
        except FieldDoesNotExist:  # a non-field error (NON_FIELD_ERRORS)
            label = field_name.replace("_", " ")
        problems = " ".join(messages)
        parts.append(_("%(field)s: %(problems)s") % {"field": label, "problems": problems})
    return "; ".join(parts)


def _check_kind_below(parent: Group, kind: int) -> None:
    if kind <= parent.kind:
        raise ApplicationError(
            _(
                "A %(kind)s cannot sit under a %(parent_kind)s: each level must be deeper than "
                "the one above it."
            )
            % {"kind": Kind(kind).label, "parent_kind": Kind(parent.kind).label},
            code="kind_not_below",
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
            group = _root_create(group, upper=None)
        elif kind in TREE_ROOT_KINDS:
            parent = _locked(parent)
            if not parent.is_active:
                raise ApplicationError(
                    _("%(group)s is deactivated; reactivate it first.") % {"group": parent.name},
                    code="group_inactive",
                )
            group = _root_create(group, upper=parent)
        else:
            parent = _locked(parent)
            if not parent.is_active:
                raise ApplicationError(
                    _("%(group)s is deactivated; reactivate it first.") % {"group": parent.name},
                    code="group_inactive",
                )
            group.parent = parent
            _save_unique(group)
        audit_record(
            actor=actor, action="group.create", target=group,
            data={"parent": parent.code, "kind": int(kind)},
        )  # fmt: skip
        group_figures_stale(group.tree_id)
    return group


def _root_create(group: Group, *, upper: Group | None) -> Group:
    """The one way a new tree comes to be (a state, or an assembly constituency hanging below
    `upper`): tree ids are handed out under a lock, so two roots never share one."""
    tree.lock_trees(tree.ROOTS_LOCK)
    next_tree_id = (Group.objects.aggregate(highest=Max("tree_id"))["highest"] or 0) + 1
    group.parent = None
    group.upper = upper
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
            raise ApplicationError(
                _("The code %(code)s is already in use.") % {"code": group.code},
                code="code_taken",
            ) from error
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
        group_figures_stale(group.tree_id)
    return group


def group_move(*, actor: User, group: Group, new_parent: Group) -> Group:
    """Move a node and everything below it under another node.

    A node that starts a tree below a state (an assembly constituency) only changes the node
    it hangs from; any other node moves within or between trees through mptt. Under the
    national node a node becomes a tree of its own.
    """
    if _is_national(group):
        raise ApplicationError(_("The national level cannot be moved."), code="national_fixed")
    _require_manage(actor, group, new_parent)
    with transaction.atomic():
        tree.lock_trees(tree.ROOTS_LOCK, group.tree_id, new_parent.tree_id)
        group = Group.objects.get(pk=group.pk)
        new_parent = Group.objects.get(pk=new_parent.pk)
        # Numbers may have moved between reading and locking: lock what they are now.
        tree.lock_trees(group.tree_id, new_parent.tree_id)
        if (
            new_parent.pk == group.pk
            or selectors.group_subtree(group).filter(pk=new_parent.pk).exists()
        ):
            raise ApplicationError(
                _(
                    "%(group)s cannot move under %(parent)s, which is inside it: the tree would "
                    "have a loop."
                )
                % {"group": group.name, "parent": new_parent.name},
                code="move_into_itself",
            )
        _check_kind_below(new_parent, group.kind)
        if not new_parent.is_active:
            raise ApplicationError(
                _("%(group)s is deactivated; reactivate it first.") % {"group": new_parent.name},
                code="group_inactive",
            )
        old_above = selectors.group_above(group)
        old_trees = {group.tree_id, old_above.tree_id if old_above else group.tree_id}
        if old_above is not None and old_above.pk == new_parent.pk:
            return group
        if group.parent_id is None and group.upper_id is None and _is_national(new_parent):
            return group
        if group.parent_id is None and group.upper_id is not None:
            # The root of a lower tree: only what it hangs from changes.
            if _is_national(new_parent):
                Group.objects.filter(pk=group.pk).update(upper=None)
            else:
                Group.objects.filter(pk=group.pk).update(upper=new_parent)
        elif _is_national(new_parent):
            group.move_to(None)
        else:
            group.parent = new_parent
            group.save()
        group.refresh_from_db()
        for receiver in MOVE_RECEIVERS:
            receiver(group=group)
        audit_record(
            actor=actor, action="group.move", target=group,
            data={"from": old_above.code if old_above else None, "to": new_parent.code},
        )  # fmt: skip
        group_figures_stale(*old_trees, group.tree_id, new_parent.tree_id)
    return group


def group_deactivate(*, actor: User, group: Group) -> int:
    """Deactivate a node and everything under it; returns how many nodes were deactivated."""
    if _is_national(group):
        raise ApplicationError(
            _("The national level cannot be deactivated."), code="national_fixed"
        )
    _require_manage(actor, group)
    with transaction.atomic():
        group = _locked(group)
        count = selectors.group_subtree(group).filter(is_active=True).update(is_active=False)
        audit_record(actor=actor, action="group.deactivate", target=group, data={"nodes": count})
        group_figures_stale(group.tree_id)
    return count


def group_reactivate(*, actor: User, group: Group) -> Group:
    """Reactivate one node (not its subtree, which may have been deactivated for reasons of
    its own); its parent must be active."""
    _require_manage(actor, group)
    with transaction.atomic():
        group = _locked(group)
        above = selectors.group_above(group)
        if above is not None and not above.is_active:
            raise ApplicationError(
                _("%(group)s is deactivated; reactivate it first.") % {"group": above.name},
                code="group_inactive",
            )
        if group.merged_into_id:
            raise ApplicationError(
                _("%(group)s was merged into another booth.") % {"group": group.name},
                code="booth_merged",
            )
        Group.objects.filter(pk=group.pk).update(is_active=True)
        group.is_active = True
        audit_record(actor=actor, action="group.reactivate", target=group)
        group_figures_stale(group.tree_id)
    return group


def group_merge_booths(*, actor: User, source: Group, survivor: Group) -> Group:
    """Merge booth `source` into booth `survivor`: what belonged to the source moves to the
    survivor, and the source is deactivated and marked as merged (its code stays reserved)."""
    if source.pk == survivor.pk:
        raise ApplicationError(_("A booth cannot be merged into itself."), code="merge_self")
    if source.kind != Kind.BOOTH or survivor.kind != Kind.BOOTH:
        raise ApplicationError(_("Only two polling booths can be merged."), code="merge_not_booths")
    _require_manage(actor, source, survivor)
    with transaction.atomic():
        tree.lock_trees(source.tree_id, survivor.tree_id)
        source = Group.objects.get(pk=source.pk)
        survivor = Group.objects.get(pk=survivor.pk)
        if source.merged_into_id:
            raise ApplicationError(
                _("%(group)s was already merged.") % {"group": source.name}, code="booth_merged"
            )
        if not survivor.is_active:
            raise ApplicationError(
                _("%(group)s is deactivated; it cannot take a merge.") % {"group": survivor.name},
                code="group_inactive",
            )
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
        group_figures_stale(source.tree_id, survivor.tree_id)
    survivor.refresh_from_db()
    return survivor


# Apps holding rows that point at a booth (the member register) add a function here:
# receiver(source=..., survivor=...) -> rows moved.
MERGE_RECEIVERS: list = []
# Apps that keep copies of where a node sits (members' tree and state) add a function here:
# receiver(group=...) runs inside the move's transaction, after the move.
MOVE_RECEIVERS: list = []


def assignment_add(*, actor: User | None, user: User, group: Group, role: str) -> Assignment:
    """Give a user a role at a node (and so over its subtree). `actor` None is the system
    (reference loads, demo data); a person needs the table's "give and remove roles" there,
    and only a role they may give (permissions.role_grant_allowed)."""
    if role not in Role.values:
        raise ApplicationError(
            _("Unknown role %(role)s.") % {"role": str(role)[:32]}, code="unknown_role"
        )
    if actor is not None:
        permissions.require_role_grant(actor, group=group, role=role)
    if not user.is_active:
        raise ApplicationError(
            _("%(user)s is deactivated and cannot be given a role.") % {"user": user.email},
            code="user_inactive",
        )
    with transaction.atomic():
        assignment, created = Assignment.objects.get_or_create(user=user, group=group, role=role)
        if created:
            audit_record(
                actor=actor, action="assignment.add", target=group,
                data={"user": user.pk, "role": role, "group": group.code},
            )  # fmt: skip
    return assignment


def assignment_remove(*, actor: User | None, assignment: Assignment) -> None:
    """Take a role away, with the same rule as giving it."""
    group = assignment.group
    if actor is not None:
        permissions.require_role_grant(actor, group=group, role=assignment.role)
    with transaction.atomic():
        deleted, _rows = Assignment.objects.filter(pk=assignment.pk).delete()
        if deleted:
            audit_record(
                actor=actor, action="assignment.remove", target=group,
                data={"user": assignment.user_id, "role": assignment.role, "group": group.code},
            )  # fmt: skip


def role_give(
    *, actor: User, group: Group, email: str, full_name: str, role: str
) -> tuple[Assignment, bool]:
    """Give the person with this e-mail address a role at a node (the roles page): an existing
    account, or a new one (then the caller sends its owner the mail to set a password). The
    actor's right to give that role there is checked before anything is written. Returns the
    assignment and whether the account was created."""
    from accounts.services import user_get_or_invite

    if role not in Role.values:
        raise ApplicationError(
            _("Unknown role %(role)s.") % {"role": str(role)[:32]}, code="unknown_role"
        )
    permissions.require_role_grant(actor, group=group, role=role)
    with transaction.atomic():
        user, created = user_get_or_invite(actor=actor, email=email, full_name=full_name)
        if Assignment.objects.filter(user=user, group=group, role=role).exists():
            raise ApplicationError(
                _("%(user)s already has the role of %(role)s here.")
                % {"user": user.email, "role": str(Role(role).label).lower()},
                code="role_held",
            )
        assignment = assignment_add(actor=actor, user=user, group=group, role=role)
    return assignment, created


# --- Figures ---------------------------------------------------------------------------------
#
# The figures are recounted by a worker, never in the request that changed the rows, and they
# follow the README's "Background work: the pattern":
# - a change marks its trees stale (StaleFigures) in its own transaction, holding each tree's
#   stale lock shared until it commits, and sends a recount after the commit only when it set
#   the mark (a burst of saves in one tree sends one message); with the broker down the message
#   is lost, not the mark;
# - a recount holds the figures claim (tree.figures_claim: one at a time, since the recounts of
#   two constituencies write the same state's and national rows), takes the marks of the trees
#   with no writer in flight (a try-lock each, so it never waits on a writer nor a writer on
#   it) and sets them `counting` in a transaction of its own: every change that found its tree
#   marked has committed before the count reads, and a change after that finds the mark
#   `counting` and sets it back. It counts in one transaction, then drops the marks still
#   `counting`. A recount is a pure function of the rows, so running one twice (a redelivered
#   message) changes nothing; one killed mid-way leaves its marks `counting`, and the next
#   takes them again;
# - a recount that finds the claim taken leaves its tree to the holder, which looks for marks
#   again before and after it lets the claim go; beat's round (GROUP_FIGURES_CATCH_UP_SECONDS)
#   recounts whatever is still marked, so a lost message costs at most that long.

# The mark for every tree at once (an import touched many; the six-hourly recount).
ALL_TREES = 0
# Trees recounted together, set-wise, in one round (and advisory locks taken in one transaction).
STALE_ROUND_TREES = 200
# A recount starts no new round after this long; beat's next round goes on with what is left.
# One round of constituencies takes well under a second; a recount of every tree about 40 s
# with 2 million members on the full tree (932,000 nodes; PostgreSQL, 2 cores), and a few
# minutes with 10 million, so a task's time limit (groups.tasks) holds one more.
STALE_ROUND_BUDGET_SECONDS = 5 * 60


def group_figures_stale(*tree_ids: int) -> None:
    """Mark these trees' figures stale in the caller's transaction, and have a worker recount
    them once it commits (once per tree, however many rows the transaction changes). A change
    to more trees than a round recounts (a booth list for the whole country) marks them all."""
    if len(set(tree_ids)) > STALE_ROUND_TREES:
        tree_ids = (ALL_TREES,)
    marked = _stale_mark(tree_ids)
    if not marked:
        return
    db = transaction.get_connection()
    pending = getattr(db, "figures_pending", None)
    # The callback is still to run unless the transaction (or the savepoint it was added in)
    # rolled back, which drops it from the connection's list.
    if pending is None or not any(entry[1] is pending for entry in db.run_on_commit):
        pending = db.figures_pending = _PendingRecounts()
        pending.tree_ids.update(marked)
        transaction.on_commit(pending, robust=True)
    else:
        pending.tree_ids.update(marked)


class _PendingRecounts:
    """The trees a transaction marked stale, sent to a worker once it commits."""

    def __init__(self) -> None:
        self.tree_ids: set[int] = set()

    def __call__(self) -> None:
        from cadreconnect.queue import enqueue_or_log
        from groups.tasks import group_figures_refresh

        for tree_id in sorted(self.tree_ids):
            if enqueue_or_log(group_figures_refresh, tree_id) is None:
                break  # the broker is down: the marks stay, and beat's round recounts them


def _stale_mark(tree_ids: Iterable[int]) -> list[int]:
    """Mark the trees that are not marked already (or whose mark a recount is counting);
    returns those. The shared lock, held until the caller's transaction ends, keeps a recount
    from taking the mark before this change is committed."""
    wanted = sorted(set(tree_ids))
    if not wanted:
        return []
    with transaction.atomic():
        tree.advisory_locks(tree.STALE_LOCK_NAMESPACE, wanted, shared=True)
        waiting = set(
            StaleFigures.objects.filter(tree_id__in=wanted, counting=False).values_list(
                "tree_id", flat=True
            )
        )
        marked = [tree_id for tree_id in wanted if tree_id not in waiting]
        now = timezone.now()
        StaleFigures.objects.bulk_create(
            [StaleFigures(tree_id=tree_id, since=now, counting=False) for tree_id in marked],
            update_conflicts=True,
            unique_fields=["tree_id"],
            update_fields=["since", "counting"],
        )
    return marked


def group_figures_refresh(*, tree_id: int) -> int | None:
    """Recount one tree's figures, the tree it hangs from and the national node's, with every
    other tree marked stale; returns the nodes counted, or None when another recount holds the
    claim (the tree is marked, and that recount counts it)."""
    _stale_mark([tree_id])
    return group_figures_refresh_stale()


def group_figures_refresh_all() -> int | None:
    """Recount every node (the lower trees first, then the trees they hang from, set-wise);
    None when another recount holds the claim, which then counts everything once more."""
    _stale_mark([ALL_TREES])
    return group_figures_refresh_stale()


def group_figures_refresh_stale() -> int | None:
    """Recount every tree marked stale, in rounds of up to STALE_ROUND_TREES trees, until none
    is left or STALE_ROUND_BUDGET_SECONDS have gone (beat's round); returns the nodes counted,
    or None when another recount holds the claim."""
    deadline = time.monotonic() + STALE_ROUND_BUDGET_SECONDS
    counted = None
    while True:
        with tree.figures_claim() as held:
            if not held:
                return counted
            nodes, finished = _stale_rounds(deadline)
            counted = (counted or 0) + nodes
        # A recount asked for while the claim was held found it taken and left its mark to us.
        if not finished or not StaleFigures.objects.exists():
            return counted


def _stale_rounds(deadline: float) -> tuple[int, bool]:
    """Rounds until no tree is marked (True) or the budget is spent, or the marked trees all
    have a writer in flight for a while (False: the writers' messages or beat come back)."""
    counted = idle = 0
    while time.monotonic() < deadline:
        taken, nodes = _stale_round()
        if taken is None:
            return counted, True
        if not taken:
            idle += 1
            if idle > 10:
                return counted, False
            time.sleep(0.1)  # a writer's transaction is about to end
            continue
        counted += nodes
    return counted, False


def _stale_round() -> tuple[list[int] | None, int]:
    """Take up to STALE_ROUND_TREES marks, count their trees, drop the marks; returns the trees
    taken (None: nothing was marked) and the nodes counted."""
    with transaction.atomic():
        marked = list(
            StaleFigures.objects.order_by("tree_id").values_list("tree_id", flat=True)[
                :STALE_ROUND_TREES
            ]
        )
        if not marked:
            return None, 0
        taken = tree.advisory_locks_try(tree.STALE_LOCK_NAMESPACE, marked)
        StaleFigures.objects.filter(tree_id__in=taken).update(counting=True)
    if not taken:
        return [], 0
    with transaction.atomic():
        counted = _figures_count(taken)
    with transaction.atomic():
        # A mark set back by a change meanwhile stays, and so does one whose tree has a writer
        # in flight (counted once more, never missed).
        done = tree.advisory_locks_try(tree.STALE_LOCK_NAMESPACE, taken)
        StaleFigures.objects.filter(tree_id__in=done, counting=True).delete()
    return taken, counted


def _figures_count(tree_ids: list[int]) -> int:
    """Recount these trees, the trees they hang from and the national node."""
    if ALL_TREES in tree_ids:
        counted = _recount(LOWER_TREES_SQL, {})
        counted += _recount(UPPER_TREES_SQL, {"national": int(Kind.NATIONAL)})
        for receiver in FIGURES_RECEIVERS:
            receiver(tree_ids=None)
        _national_figures_refresh()
        return counted
    lower: set[int] = set()
    upper: set[int] = set()
    roots = Group.objects.filter(tree_id__in=tree_ids, parent__isnull=True).values_list(
        "tree_id", "upper__tree_id", "kind"
    )
    for tree_id, upper_tree_id, kind in roots:
        if upper_tree_id is not None:
            lower.add(tree_id)
            upper.add(upper_tree_id)
        elif kind != Kind.NATIONAL:
            upper.add(tree_id)
    counted = 0
    for trees in (sorted(lower), sorted(upper)):  # lower trees first
        if trees:
            counted += _recount(*tree_ids_sql(trees))
            for receiver in FIGURES_RECEIVERS:
                receiver(tree_ids=trees)
    _national_figures_refresh()
    return counted


def tree_ids_sql(tree_ids: Sequence[int]) -> tuple[str, dict]:
    """A list of tree ids for `IN (...)` in the figures' SQL: placeholders and their values."""
    params = {f"tree_{index}": tree_id for index, tree_id in enumerate(tree_ids)}
    return ", ".join(f"%({name})s" for name in params), params


_RECOUNT_SQL = """
    INSERT INTO groups_groupfigures (group_id, booths, booths_with_whatsapp, members,
        active_members, booths_with_active_member, updated_at)
    SELECT node.id,
        (SELECT COUNT(*) FROM groups_group booth
          WHERE booth.tree_id = node.tree_id AND booth.lft BETWEEN node.lft AND node.rght
            AND booth.kind = %(booth)s AND booth.is_active)
        + COALESCE((SELECT SUM(figures.booths) FROM groups_group inside
            JOIN groups_group lower_root ON lower_root.upper_id = inside.id
            JOIN groups_groupfigures figures ON figures.group_id = lower_root.id
          WHERE inside.tree_id = node.tree_id AND inside.lft BETWEEN node.lft AND node.rght), 0),
        (SELECT COUNT(*) FROM groups_group booth
          WHERE booth.tree_id = node.tree_id AND booth.lft BETWEEN node.lft AND node.rght
            AND booth.kind = %(booth)s AND booth.is_active AND booth.whatsapp_invite_link <> '')
        + COALESCE((SELECT SUM(figures.booths_with_whatsapp) FROM groups_group inside
            JOIN groups_group lower_root ON lower_root.upper_id = inside.id
            JOIN groups_groupfigures figures ON figures.group_id = lower_root.id
          WHERE inside.tree_id = node.tree_id AND inside.lft BETWEEN node.lft AND node.rght), 0),
        0, 0, 0, %(now)s
    FROM groups_group node
    WHERE node.tree_id IN ({trees})
"""
# Trees that hang below another tree (assembly constituencies), and the others (the national
# tree aside). Receivers that count per node (members.figures) use them too, in this order.
LOWER_TREES_SQL = (
    "SELECT tree_id FROM groups_group WHERE parent_id IS NULL AND upper_id IS NOT NULL"
)
UPPER_TREES_SQL = (
    "SELECT tree_id FROM groups_group"
    " WHERE parent_id IS NULL AND upper_id IS NULL AND kind <> %(national)s"
)


def _recount(trees_sql: str, params: dict) -> int:
    """Recount the figures of every node of the trees `trees_sql` selects. A node counts the
    active booths in its own range plus the figures of the trees hanging below that range, so
    lower trees are counted before the trees they hang from."""
    from django.db import connection

    params = {**params, "booth": int(Kind.BOOTH), "now": timezone.now()}
    # trees_sql is one of this module's constant subqueries; values go in as parameters.
    in_trees = f"SELECT id FROM groups_group WHERE tree_id IN ({trees_sql})"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM groups_groupfigures WHERE group_id IN ({in_trees})", params)  # noqa: S608
        cursor.execute(_RECOUNT_SQL.format(trees=trees_sql), params)
        return cursor.rowcount


def _national_figures_refresh() -> None:
    from django.db.models import Sum

    from groups.models import GroupFigures

    national = selectors.national_get()
    if national is None:
        return
    fields = ["booths", "booths_with_whatsapp", "members", "active_members",
              "booths_with_active_member"]  # fmt: skip
    totals = (
        GroupFigures.objects.filter(group__parent__isnull=True, group__upper__isnull=True)
        .exclude(group=national)
        .aggregate(**{name: Sum(name) for name in fields})
    )
    GroupFigures.objects.update_or_create(
        group=national, defaults={name: totals[name] or 0 for name in fields}
    )


# Apps that count things per node (the member register) add receiver(tree_ids=...) here; each
# updates the figures rows of those trees (None: of every tree, the lower trees first), which
# exist by then.
FIGURES_RECEIVERS: list = []

"""Keeping the targets' paths right when the group tree changes (hooks in groups.services
and groups.delimitation).

A target's `path` is "/" and the ids of every node above its node, top first, then its own,
each followed by "/" (`node_paths`). Renumbering a tree changes no path; a node moving (a
group move, a delimitation) changes the paths of the targets under it, which the receivers
here rewrite.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db.models import Q, QuerySet

from content.models import Target
from groups.models import Group

# Deeper than any tree (national to booth is eight levels): a cycle would stop here.
MAX_DEPTH = 32


def node_path(group: Group, lineage: Sequence[Group]) -> str:
    """The path of a node, given every node above it, top first (groups.selectors.group_lineage)."""
    return "/" + "".join(f"{node.pk}/" for node in [*lineage, group])


def node_paths(group_ids: Iterable[int]) -> dict[int, str]:
    """The path of each node, by id: one query per level above them, whatever their number.
    The node above a node is its parent or, for a tree's root, the node it hangs from."""
    wanted = set(group_ids)
    above: dict[int, int | None] = {}
    frontier = set(wanted)
    for _level in range(MAX_DEPTH):
        if not frontier:
            break
        rows = Group.objects.filter(pk__in=frontier).values_list("pk", "parent_id", "upper_id")
        for pk, parent_id, upper_id in rows:
            above[pk] = parent_id or upper_id
        frontier = {pk for pk in above.values() if pk is not None and pk not in above}
    paths: dict[int, str] = {}
    for group_id in wanted:
        chain: list[int] = []
        node: int | None = group_id
        while node is not None and len(chain) < MAX_DEPTH:
            chain.append(node)
            node = above.get(node)
        paths[group_id] = "/" + "".join(f"{pk}/" for pk in reversed(chain))
    return paths


def targets_follow(targets: QuerySet[Target]) -> int:
    """Rewrite the paths of these targets that no longer say where their node sits; returns
    how many changed."""
    rows = list(targets.values_list("pk", "group_id", "path"))
    paths = node_paths({group_id for _pk, group_id, _path in rows})
    changed = [
        Target(pk=pk, path=paths[group_id])
        for pk, group_id, path in rows
        if path != paths[group_id]
    ]
    Target.objects.bulk_update(changed, ["path"], batch_size=500)
    return len(changed)


def targets_follow_move(*, group: Group) -> None:
    """A subtree moved: the targets under its top, whose paths all hold its id, follow."""
    targets_follow(Target.objects.filter(path__contains=f"/{group.pk}/"))


def targets_follow_restructured(*, tree_ids: list[int]) -> int:
    """A delimitation moved nodes in, out of or within these trees: the targets in them and
    in the trees hanging below their nodes follow."""
    if not tree_ids:
        return 0
    lower = Group.objects.filter(parent__isnull=True, upper__tree_id__in=tree_ids).values("tree_id")
    groups = Group.objects.filter(Q(tree_id__in=tree_ids) | Q(tree_id__in=lower)).values("pk")
    return targets_follow(Target.objects.filter(group_id__in=groups))

"""Reads of the group tree, always through the user's scope.

A staff user's scope is the union of the subtrees under their assignments; superusers and
anyone assigned at the national node see everything. Every page, export and API endpoint asks
here: a node outside the scope does not exist for that user (404), and is never counted,
searched or suggested.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.http import Http404

from accounts.models import User
from groups.models import Assignment, Group, GroupFigures, Kind, Role


@dataclass(frozen=True)
class Scope:
    """Subtrees a user may see: `everything`, or (tree_id, lft, rght) ranges plus whole trees
    that hang below those ranges (assembly constituencies and their booths)."""

    everything: bool
    ranges: tuple[tuple[int, int, int], ...] = ()
    tree_ids: frozenset[int] = frozenset()

    def q(self, prefix: str = "") -> Q:
        """A filter on Group (or, with a prefix such as "booth__", on a model pointing at one)."""
        if self.everything:
            return Q()
        if not self.ranges and not self.tree_ids:
            return Q(pk__in=[])
        condition = Q(**{f"{prefix}tree_id__in": sorted(self.tree_ids)}) if self.tree_ids else Q()
        for tree_id, lft, rght in self.ranges:
            # A node is in the subtree when its lft lies in [lft, rght]: one bounded range of
            # the (tree_id, lft) index.
            condition |= Q(**{f"{prefix}tree_id": tree_id, f"{prefix}lft__range": (lft, rght)})
        return condition

    def contains(self, group: Group) -> bool:
        return self.contains_position(group.tree_id, group.lft)

    def contains_position(self, tree_id: int, lft: int) -> bool:
        """Whether the node at (tree_id, lft) is in the scope (for rows read without a model
        instance)."""
        if self.everything or tree_id in self.tree_ids:
            return True
        return any(
            tree_id == inside_tree and low <= lft <= high for inside_tree, low, high in self.ranges
        )


def scope_of(nodes: list[tuple[int, int, int, int]]) -> Scope:
    """The scope under some nodes, given as (kind, tree_id, lft, rght)."""
    if any(kind == Kind.NATIONAL for kind, *_ in nodes):
        return Scope(everything=True)
    ranges = _outermost(nodes)
    below = Scope(everything=False, ranges=ranges).q(prefix="upper__")
    tree_ids = frozenset(
        Group.objects.filter(below, parent__isnull=True, upper__isnull=False).values_list(
            "tree_id", flat=True
        )
    ) if ranges else frozenset()  # fmt: skip
    return Scope(everything=False, ranges=ranges, tree_ids=tree_ids)


def user_scope(user: User) -> Scope:
    """The user's scope, worked out once per request (cached on the user object)."""
    cached = getattr(user, "_group_scope", None)
    if cached is not None:
        return cached
    if not user.is_authenticated or not user.is_active:
        scope = Scope(everything=False)
    elif user.is_superuser:
        scope = Scope(everything=True)
    else:
        nodes = [node for _role, *node in user_assignment_nodes(user)]
        scope = scope_of(nodes) if nodes else Scope(everything=False)
    user._group_scope = scope
    return scope


def user_assignment_nodes(
    user: User, *, active_only: bool = False
) -> list[tuple[str, int, int, int, int]]:
    """(role, kind, tree_id, lft, rght) of each of the user's assignments, read once per
    request (cached on the user object): the scope and the permission table both use it.

    `active_only`: only assignments at active nodes. A role at a node that was retired (a
    delimitation, a deactivation) still lets its holder see what was theirs, but allows no
    write until they are given a role somewhere else (cadreconnect.permissions)."""
    cached = getattr(user, "_assignment_rows", None)
    if cached is None:
        cached = [
            tuple(row)
            for row in Assignment.objects.filter(user=user).values_list(
                "role", "group__kind", "group__tree_id", "group__lft", "group__rght",
                "group__is_active",
            )
        ]  # fmt: skip
        user._assignment_rows = cached
    return [row[:5] for row in cached if row[5] or not active_only]


def _outermost(nodes: list[tuple[int, int, int, int]]) -> tuple[tuple[int, int, int], ...]:
    """Drop ranges nested in another range of the list."""
    ranges = sorted({(tree_id, lft, rght) for _, tree_id, lft, rght in nodes})
    kept: list[tuple[int, int, int]] = []
    for tree_id, lft, rght in ranges:
        if kept and kept[-1][0] == tree_id and kept[-1][1] <= lft and rght <= kept[-1][2]:
            continue
        kept.append((tree_id, lft, rght))
    return tuple(kept)


def group_subtree(group: Group) -> QuerySet[Group]:
    """The node and everything below it, across the trees that hang below it (no scope check:
    callers have checked the node itself)."""
    if group.kind == Kind.NATIONAL and group.parent_id is None:
        return Group.objects.all()
    return Group.objects.filter(scope_of([(group.kind, group.tree_id, group.lft, group.rght)]).q())


def group_lineage(group: Group) -> list[Group]:
    """Every node above this one, top first, across the tree it hangs from (not the virtual
    national root)."""
    chain = list(group.get_ancestors())
    top = chain[0] if chain else group
    if top.upper_id:
        above = Group.objects.get(pk=top.upper_id)
        chain = [*above.get_ancestors(), above, *chain]
    return chain


def group_above(group: Group) -> Group | None:
    """The node directly above: the mptt parent, or the node a tree root hangs from."""
    above_id = group.above_id
    return Group.objects.filter(pk=above_id).first() if above_id else None


def groups_visible_to(user: User) -> QuerySet[Group]:
    scope = user_scope(user)
    queryset = Group.objects.filter(scope.q())
    if not scope.everything:
        # The national node is a tree of its own; only national scope includes it.
        queryset = queryset.exclude(kind=Kind.NATIONAL)
    return queryset


def group_get_for_user(*, user: User, pk: int) -> Group:
    """The node if the user may see it; Http404 otherwise (never 403, which would confirm it)."""
    try:
        return groups_visible_to(user).get(pk=pk)
    except (Group.DoesNotExist, ValueError, TypeError, OverflowError) as missing:
        raise Http404("No such group.") from missing


def national_get() -> Group | None:
    return Group.objects.filter(kind=Kind.NATIONAL, parent__isnull=True).order_by("pk").first()


def group_children(*, user: User, group: Group) -> QuerySet[Group]:
    """Children in code order. The national node's children are the other roots."""
    if group.kind == Kind.NATIONAL and group.parent_id is None:
        children = Group.objects.filter(parent__isnull=True, upper__isnull=True).exclude(
            pk=group.pk
        )
    else:
        children = Group.objects.filter(Q(parent=group) | Q(upper=group))
    return children.filter(user_scope(user).q()).order_by("code")


def group_scope_tops(*, user: User) -> list[Group]:
    """Where the user's view of the tree starts: the national node, or their assignments."""
    scope = user_scope(user)
    if scope.everything:
        national = national_get()
        if national is not None:
            return [national]
        return list(Group.objects.filter(parent__isnull=True).order_by("code"))
    condition = Q(pk__in=[])
    for tree_id, lft, _rght in scope.ranges:
        condition |= Q(tree_id=tree_id, lft=lft)
    tops = list(Group.objects.filter(condition))
    # An assignment inside a tree that hangs below a state: that tree's top node, unless
    # another assignment already covers it.
    covered = Scope(everything=False, ranges=scope.ranges)
    lower_roots = Group.objects.filter(
        tree_id__in=sorted(scope.tree_ids), parent__isnull=True
    ).select_related("upper")
    tops += [root for root in lower_roots if not (root.upper and covered.contains(root.upper))]
    return sorted(tops, key=lambda group: group.code)


def group_breadcrumb(*, user: User, group: Group) -> list[Group]:
    """Ancestors from the top of the user's scope down to (not including) the group."""
    scope = user_scope(user)
    ancestors = [node for node in group_lineage(group) if scope.contains(node)]
    if scope.everything and group.kind != Kind.NATIONAL:
        national = national_get()
        if national is not None:
            ancestors.insert(0, national)
    return ancestors


def groups_search(*, user: User, query: str, limit: int = 50) -> QuerySet[Group]:
    """Nodes in scope whose name (either script) contains the query or whose code starts with
    it, by level and then by code: the numbers in codes are zero-padded (S24-AC-403-B-0002),
    so booth 2 comes before booth 10, which names ("... booth 10") would not give. On
    PostgreSQL trigram indexes serve the name match."""
    query = query.strip()[:100]
    if not query:
        return Group.objects.none()
    matches = (
        Q(name__icontains=query)
        | Q(name_local__icontains=query)
        | Q(code__startswith=query.upper())
    )
    return (
        groups_visible_to(user)
        .filter(matches)
        .select_related("parent", "upper")
        .order_by("kind", "code")[:limit]
    )


def group_can_manage(*, user: User, group: Group) -> bool:
    """May the user change the tree at this node (the permission table's "change the tree")?"""
    from cadreconnect.permissions import Action, user_may

    return user_may(user, Action.TREE_CHANGE, group)


def group_leads(*, group: Group) -> QuerySet[Assignment]:
    return (
        Assignment.objects.filter(group=group, role=Role.LEAD)
        .select_related("user")
        .order_by("user__email")
    )


def group_figures(*, group: Group) -> GroupFigures | None:
    return GroupFigures.objects.filter(group=group).first()


def group_roles(*, group: Group) -> list[Assignment]:
    """The roles held at the node itself (not below it), lead first, then by e-mail."""
    order = {role.value: index for index, role in enumerate(Role)}
    assignments = Assignment.objects.filter(group=group).select_related("user")
    return sorted(assignments, key=lambda a: (order.get(a.role, len(order)), a.user.email))

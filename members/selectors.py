"""Reads of the register, always through the user's scope (groups.selectors.user_scope).

How names are matched, and the PostgreSQL that takes, is members.name_search."""

from __future__ import annotations

import contextlib
import itertools
import json
from collections import defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import (
    CharField,
    Count,
    Exists,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
)
from django.db.models.functions import Lower
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from groups.models import Group, Kind
from groups.selectors import Scope, user_scope
from members import name_search
from members.models import Consent, Member, MemberImport, Post, Tag
from members.validation import epic_normalise, phone_normalise


def scope_q(scope: Scope) -> Q:
    """Members whose home booth is in the scope. Whole trees (an assembly constituency and
    what hangs below a state) go by the member's own indexed `tree_id`; a range inside a tree
    by the booths in it, a subquery (a join to the booth would be made for every member read,
    those of whole trees too)."""
    if scope.everything:
        return Q()
    # Whole trees in one list: one index condition (an OR of two would be a filter instead,
    # and the planner may then read an entire index to apply it).
    whole_trees, inside = _scope_parts(scope)
    condition = Q(tree_id__in=sorted(whole_trees)) if whole_trees else Q(pk__in=[])
    for tree_id, lft, rght in inside:
        booths = Group.objects.filter(tree_id=tree_id, lft__range=(lft, rght), kind=Kind.BOOTH)
        condition |= Q(tree_id=tree_id, booth_id__in=booths.values("id"))
    return condition


def _scope_parts(scope: Scope) -> tuple[set[int], list[tuple[int, int, int]]]:
    """The scope's whole trees (a range from a root is one too), and its ranges inside the
    other trees."""
    whole_trees = set(scope.tree_ids)
    whole_trees.update(tree_id for tree_id, lft, _ in scope.ranges if lft == 1)
    inside = [part for part in scope.ranges if part[0] not in whole_trees]
    return whole_trees, inside


def members_visible_to(user: User) -> QuerySet[Member]:
    return Member.objects.filter(scope_q(user_scope(user)))


def members_for_action(user: User, action: str) -> QuerySet[Member]:
    """Members on whom the user may take an action of the permission table (an export, an
    import's matching by phone): those in the subtrees where a role of theirs allows it."""
    from cadreconnect.permissions import action_scope

    return Member.objects.filter(scope_q(action_scope(user, action)))


def member_get_for_user(*, user: User, pk: int) -> Member:
    try:
        return members_visible_to(user).select_related("booth", "state", "recruited_by").get(pk=pk)
    except (Member.DoesNotExist, ValueError, TypeError, OverflowError) as missing:
        raise Http404("No such member.") from missing


@dataclass
class MemberFilters:
    query: str = ""
    status: str = ""
    verified: str = ""  # "yes", "no" or ""
    group: Group | None = None
    post: str = ""  # a Post.Office value: members holding that office now
    tag: Tag | None = None


def members_search(
    *, user: User, filters: MemberFilters, name_index: bool = True, action: str | None = None
) -> QuerySet[Member]:
    """The user's members narrowed by a free-text query (a name in any script, a phone in any
    written form, a voter id), status, verification and a group subtree. With `name_index`
    False, PostgreSQL checks names member by member instead of through their index. With an
    `action`, only the members on whom the user may take it (an export)."""
    members = members_visible_to(user) if action is None else members_for_action(user, action)
    query = filters.query.strip()[:100]
    if query:
        members = members.filter(_query_q(query, name_index=name_index))
    if filters.status:
        members = members.filter(status=filters.status)
    if filters.verified == "yes":
        members = members.filter(phone_verified_at__isnull=False, epic_checked_at__isnull=False)
    elif filters.verified == "no":
        members = members.filter(
            Q(phone_verified_at__isnull=True) | Q(epic_checked_at__isnull=True)
        )
    if filters.group is not None:
        from groups.selectors import scope_of

        group = filters.group
        members = members.filter(
            scope_q(scope_of([(group.kind, group.tree_id, group.lft, group.rght)]))
        )
    # Subqueries rather than joins: a member with two posts or tags must still be one row.
    if filters.post:
        members = members.filter(Exists(_current_posts(office=filters.post)))
    if filters.tag is not None:
        members = members.filter(
            Exists(Member.tags.through.objects.filter(member=OuterRef("pk"), tag=filters.tag))
        )
    return members.select_related("booth").order_by("full_name", "id")


def _query_q(query: str, *, name_index: bool = True) -> Q:
    """A phone number (any written form) finds by phone, a voter id by voter id, anything else
    searches names in both scripts: one indexed lookup each, never an OR across all of them."""
    return _phone_or_epic(query) or name_search.name_search_q(query, index=name_index)


def _phone_or_epic(query: str) -> Q | None:
    digits = sum(character.isdigit() for character in query)
    if digits >= 7:
        with contextlib.suppress(ValidationError):
            return Q(phone=phone_normalise(query))
    with contextlib.suppress(ValidationError):
        epic = epic_normalise(query)
        if epic:
            return Q(epic=epic)
    return None


def is_name_search(filters: MemberFilters) -> bool:
    query = filters.query.strip()[:100]
    return bool(query) and _phone_or_epic(query) is None


# The list counts matching members up to this many; beyond it, it says "more than".
COUNT_LIMIT = 10_000


@dataclass
class MemberPage:
    """One page of the member list."""

    members: list[Member]
    number: int
    per_page: int
    count: int  # exact up to COUNT_LIMIT
    more_than: bool  # more than COUNT_LIMIT match
    sorted: bool = True  # by name; False when too many names match to sort them

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.sorted and self.number * self.per_page < self.count

    @property
    def num_pages(self) -> int:
        return max(1, -(-self.count // self.per_page))

    @property
    def start_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.members else 0

    @property
    def end_index(self) -> int:
        return self.start_index + len(self.members) - 1 if self.members else 0


def members_page(*, user: User, filters: MemberFilters, number: int, per_page: int) -> MemberPage:
    """A page of the user's members as filtered, sorted by name, and how many match.

    Built for ten million members: the count stops at COUNT_LIMIT. A name search on
    PostgreSQL goes through the full-text index (the planner cannot estimate word starts and
    might otherwise read the whole table for a rare name), unless its words are common
    (_first_found). When more than COUNT_LIMIT members match (a common first name across the
    country), sorting them all would take seconds, so the page shows the first matches found,
    unsorted, and asks to narrow the search.
    """
    members = members_search(user=user, filters=filters)
    by_name = is_name_search(filters)
    if by_name:
        # The matches' ids, read once: their number, and the page from them.
        with name_search.name_search_plans(enabled=True):
            first_found = _first_found(members, user=user, filters=filters)
            count = min(len(first_found), COUNT_LIMIT)
            more_than = len(first_found) > COUNT_LIMIT
            if more_than:  # too many to sort: the first found
                number = 1
                ids = first_found[:per_page]
            else:  # all of them: sorting their ids is cheaper than searching again
                number = _page_number(number, count=count, per_page=per_page)
                start = (number - 1) * per_page
                matches = Member.objects.filter(pk__in=first_found).order_by("full_name", "id")
                ids = list(matches.values_list("id", flat=True)[start : start + per_page])
        page = _members_in_order(ids)
    else:
        count = members.order_by().values("id")[: COUNT_LIMIT + 1].count()
        more_than = count > COUNT_LIMIT
        count = min(count, COUNT_LIMIT)
        number = _page_number(number, count=count, per_page=per_page)
        start = (number - 1) * per_page
        if connection.vendor != "postgresql":
            page = list(members[start : start + per_page])
        elif _few(members, more_than=more_than):
            members = members.order_by(SortedInFull(F("full_name")), "id")
            page = list(members[start : start + per_page])
        else:
            # The page's ids first: for an area, from the name index alone (member_name_order
            # holds the tree), without reading the row of each member passed over.
            ids = list(members.values_list("id", flat=True)[start : start + per_page])
            page = _members_in_order(ids)
    return MemberPage(
        members=page,
        number=number,
        per_page=per_page,
        count=count,
        more_than=more_than,
        sorted=not (by_name and more_than),
    )


def _page_number(number: int, *, count: int, per_page: int) -> int:
    """The page asked for, within the pages there are (the last one when beyond them)."""
    return min(max(1, number), max(1, -(-count // per_page)))


def _members_in_order(ids: list[int]) -> list[Member]:
    found = Member.objects.select_related("booth").in_bulk(ids)
    return [found[pk] for pk in ids if pk in found]


# Up to this many members (PostgreSQL's estimate), a page of the list is sorted from all of
# them rather than read in name order from the index of everyone's names.
SORTED_IN_FULL = 100_000


def _few(members: QuerySet[Member], *, more_than: bool) -> bool:
    """Whether the list is few enough members (a Lok Sabha constituency's twenty
    thousand, out of ten million) to be read whole through the indexes of its area and
    filters, and sorted: walking everyone's names in order to pick out its members passes
    over hundreds of thousands of others when its names sort late (measured: 110 to 300 ms,
    against 30). The planner misjudges this, since it takes names to be spread evenly over
    areas."""
    return not more_than or _estimated_rows(members) <= SORTED_IN_FULL


class SortedInFull(Func):
    """A text column, sorting as itself, in a form no index matches: the rows are sorted
    after they are read, never read in the order of an index."""

    template = "(%(expressions)s || '')"
    output_field = CharField()


def _estimated_rows(members: QuerySet[Member]) -> float:
    plan = json.loads(members.order_by().values("id").explain(format="json"))
    return float(plan[0]["Plan"]["Plan Rows"])


def _first_found(members: QuerySet[Member], *, user: User, filters: MemberFilters) -> list[int]:
    """The ids of up to COUNT_LIMIT + 1 of the members matching a name search, as found.
    (Searches narrowed further, by status, post, tag or verification, go through the index:
    the share of members they match is not known.)"""
    narrowed = filters.status or filters.verified or filters.post or filters.tag is not None
    if (
        connection.vendor == "postgresql"
        and not narrowed
        and name_search.name_words_share(filters.query) >= name_search.COMMON_NAME_SHARE
    ):
        one_by_one = members_search(user=user, filters=filters, name_index=False)
        scope = user_scope(user)
        # Reading the whole table is for searches of the whole country only: within a part of
        # the tree, its index finds the members to check. An area of whole trees (a state) is
        # read tree by tree from that index, stopping at the limit, rather than first mapping
        # all of its members (1.6 million entries for Uttar Pradesh: 60 ms before any name is
        # checked); an area with a range inside a tree needs the map, to combine the two.
        everywhere = scope.everything and filters.group is None
        whole_trees = filters.group is None and _whole_trees_only(scope)
        settings = {
            **name_search.COMMON_NAME_SETTINGS,
            "enable_seqscan": "on" if everywhere else "off",
            "enable_bitmapscan": "off" if whole_trees else "on",
        }
        found = name_search.read_one_by_one(one_by_one, limit=COUNT_LIMIT + 1, settings=settings)
        if found is not None:
            return found
    return list(members.order_by().values_list("id", flat=True)[: COUNT_LIMIT + 1])


def _whole_trees_only(scope: Scope) -> bool:
    """An area made of whole trees only, as scope_q writes it: one IN list of tree ids."""
    return not scope.everything and not _scope_parts(scope)[1]


def members_with_live_consent(*, purpose: str) -> QuerySet[Member]:
    """Active members who may be contacted for `purpose` now."""
    return Member.objects.filter(
        status=Member.Status.ACTIVE,
        consents__purpose=purpose,
        consents__withdrawn_at__isnull=True,
    ).distinct()


def _current_posts(*, office: str) -> QuerySet[Post]:
    """The outer member's posts of `office` held today: begun, and with no end or an end still
    ahead (post_end() ends a term today by default, so a term ending today is over)."""
    today = timezone.localdate()
    return Post.objects.filter(
        Q(ends_on__isnull=True) | Q(ends_on__gt=today),
        member=OuterRef("pk"),
        office=office,
        starts_on__lte=today,
    )


def member_consents(*, member: Member) -> QuerySet[Consent]:
    return member.consents.select_related("recorded_by").order_by("-granted_at", "-id")


def member_referral_chain_up(*, member: Member, limit: int = 20) -> list[Member]:
    """Who recruited this member, who recruited them, ... (stops at a loop or the limit)."""
    chain: list[Member] = []
    seen = {member.pk}
    current = member.recruited_by
    while current is not None and current.pk not in seen and len(chain) < limit:
        chain.append(current)
        seen.add(current.pk)
        current = current.recruited_by
    return chain


def members_with_same_epic(*, member: Member) -> QuerySet[Member]:
    if not member.epic:
        return Member.objects.none()
    return Member.objects.filter(epic=member.epic).exclude(pk=member.pk)


# Groups of each kind shown on the duplicates page at a time; merging them brings up the next.
DUPLICATE_GROUPS_LIMIT = 200
# Merge forms are offered for every pair of a group's first ten members (45 pairs at most).
DUPLICATE_PAIR_MEMBERS = 10


@dataclass
class DuplicateGroup:
    """Members who are probably one person: the same voter id, or the same name in one booth."""

    members: list[Member]
    same_epic: str = ""
    same_name: str = ""
    pairs: list[tuple[Member, Member]] = field(default_factory=list)


def member_duplicate_groups(
    user: User, *, limit: int = DUPLICATE_GROUPS_LIMIT
) -> list[DuplicateGroup]:
    """Probable duplicates among the members the user may see (both sides in scope): the same
    non-empty voter id anywhere, or the same full name (any case) in the same booth. A phone
    cannot repeat: the database refuses it."""
    visible = members_visible_to(user)
    epics = {
        row["epic"]
        for row in visible.exclude(epic="")
        .values("epic")
        .annotate(count=Count("id"))
        .filter(count__gt=1)
        .order_by("epic")[:limit]
    }
    names = {
        (row["name_key"], row["booth_id"])
        for row in visible.annotate(name_key=Lower("full_name"))
        .values("name_key", "booth_id")
        .annotate(count=Count("id"))
        .filter(count__gt=1)
        .order_by("name_key", "booth_id")[:limit]
    }
    if not epics and not names:
        return []
    condition = Q(epic__in=sorted(epics)) if epics else Q(pk__in=[])
    for name_key, booth_id in names:
        condition |= Q(name_key=name_key, booth_id=booth_id)
    members = (
        visible.annotate(name_key=Lower("full_name"))
        .filter(condition)
        .select_related("booth")
        .order_by("pk")
    )
    by_epic: dict[str, list[Member]] = defaultdict(list)
    by_name: dict[tuple[str, int], list[Member]] = defaultdict(list)
    for member in members:
        if member.epic in epics:
            by_epic[member.epic].append(member)
        if (member.name_key, member.booth_id) in names:
            by_name[(member.name_key, member.booth_id)].append(member)
    # The same members may match on both counts: they are shown once, with both reasons.
    groups: dict[tuple[int, ...], DuplicateGroup] = {}
    for epic, matching in by_epic.items():
        group = groups.setdefault(_member_ids(matching), DuplicateGroup(members=matching))
        group.same_epic = epic
    for matching in by_name.values():
        group = groups.setdefault(_member_ids(matching), DuplicateGroup(members=matching))
        group.same_name = matching[0].full_name
    for group in groups.values():
        group.pairs = list(itertools.combinations(group.members[:DUPLICATE_PAIR_MEMBERS], 2))
    return sorted(
        groups.values(), key=lambda group: (group.members[0].full_name.lower(), group.members[0].pk)
    )


def _member_ids(members: list[Member]) -> tuple[int, ...]:
    return tuple(member.pk for member in members)


# --- Imports --------------------------------------------------------------------------------


def member_imports_watched_by(user: User) -> QuerySet[MemberImport]:
    """The imports whose progress the user follows and may cancel: everyone's for whoever
    oversees imports (a lead at the national node, a superuser), the user's own otherwise.
    Forbidden (403) for a user who may not import at all."""
    from cadreconnect import permissions
    from cadreconnect.permissions import Action
    from members.services import imports_overseen_by  # services read through this module

    imports = MemberImport.objects.select_related("created_by")
    if imports_overseen_by(user):
        return imports
    permissions.require_somewhere(user, Action.MEMBER_IMPORT)
    return imports.filter(created_by=user)


@dataclass
class ImportInProgress:
    """A check or an import queued or running, as the page of imports in progress shows it."""

    member_import: MemberImport
    queued: bool  # no task holds it yet: its message waits for a worker
    silent_for: int | None  # seconds since its last sign of life, once that is too long
    own: bool  # the user's own import (its page is theirs to open)


def member_imports_in_progress(*, user: User) -> list[ImportInProgress]:
    """Checks and imports queued or running that the user watches, oldest first, each with
    how long its task has been silent when that is longer than MEMBER_IMPORT_STALE_SECONDS
    (its worker died: beat sends its message again, and the next task resumes it)."""
    from django.conf import settings

    now = timezone.now()
    running = member_imports_watched_by(user).filter(
        status__in=[MemberImport.Status.CHECKING, MemberImport.Status.IMPORTING]
    ).order_by("started_at", "pk")  # fmt: skip
    shown = []
    for member_import in running:
        heartbeat = member_import.heartbeat_at
        silent = (now - heartbeat).total_seconds() if heartbeat is not None else 0
        shown.append(ImportInProgress(
            member_import=member_import,
            queued=not member_import.run_token,
            silent_for=int(silent) if silent > settings.MEMBER_IMPORT_STALE_SECONDS else None,
            own=user.is_superuser or member_import.created_by_id == user.pk,
        ))  # fmt: skip
    return shown

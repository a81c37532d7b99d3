"""Reads of content, always through the user's reach.

Who sees what (README, "Content: the workflow"):

- a user sees the content they wrote, in every state;
- content submitted for review reaches a user when a target of its submitted revision lies in
  their subtree or above it (material meant for their state reaches their district); those who
  decide content there (leads, approvers) see it in every state from review on, everyone else
  only once it is approved or scheduled (the library);
- anything else does not exist for them (`content_get_for_user` answers 404).

The scope is a filter over the targets themselves: their paths (`Target.path`, the ids of the
nodes above each target's node) starting with the path of one of the user's subtree tops, a
range of the `target_path` index each, plus the few nodes above those tops by id
(`target_group_revision`); then from the targets to their revisions' content. Going through
the group tree instead (the nodes in the user's subtrees, then their targets) reads a state's
160,000 nodes with its booths for every queue (bench/content.py).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from cadreconnect.permissions import TABLE, Action, action_scope
from content.models import Content, Decision, Event, Revision, Target
from content.receivers import node_path
from groups.models import Assignment, Group, Kind
from groups.selectors import Scope, group_lineage, national_get, scope_of, user_scope

# Past the review: what the library shows (approved content, waiting for its send-at or not).
LIBRARY_STATES = frozenset({Content.State.APPROVED, Content.State.SCHEDULED})
# Every state a submitted content can be in: what the deciders of its areas see.
SUBMITTED_STATES = frozenset(set(Content.State) - {Content.State.DRAFT})


def _targets_q(prefixes: Iterable[str], node_ids: Iterable[int] = ()) -> Q:
    """A filter on Target: its path starting with one of the prefixes, or its node one of
    these."""
    conditions = [Q(path__startswith=prefix) for prefix in sorted(prefixes)]
    if node_ids:
        conditions.append(Q(group_id__in=sorted(node_ids)))
    if not conditions:
        return Q(pk__in=[])
    condition = conditions[0]
    for more in conditions[1:]:
        condition |= more
    return condition


@dataclass(frozen=True)
class Reach:
    """Nodes whose content reaches a user: a scope (their subtrees) and the nodes above it."""

    scope: Scope
    above_ids: frozenset[int] = frozenset()
    # The paths of the nodes the scope is made of (their subtrees, with the trees hanging
    # below them): a target is in the scope when its path starts with one of them.
    prefixes: tuple[str, ...] = ()

    def q(self, prefix: str = "group__") -> Q:
        """A filter on Group (no prefix) or on a model pointing at one ("group__")."""
        condition = self.scope.q(prefix)
        if self.scope.everything:
            return condition
        if self.above_ids:
            field = f"{prefix.removesuffix('__')}_id__in" if prefix else "pk__in"
            condition |= Q(**{field: sorted(self.above_ids)})
        return condition

    def target_q(self) -> Q:
        """A filter on Target: its node in reach, by its path or its node's id."""
        if self.scope.everything:
            return Q()
        return _targets_q(self.prefixes, self.above_ids)

    def revisions(self, **target_filters) -> QuerySet:
        """The revisions with a target in reach, as a subquery: the targets by their paths
        (`target_path`) and by the nodes above (`target_group_revision`), so that neither
        the group tree, the targets nor the content are read whole."""
        return Target.objects.filter(self.target_q(), **target_filters).values("revision_id")

    def contains(self, group: Group) -> bool:
        return self.scope.contains(group) or group.pk in self.above_ids


def _active(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def user_reach(user: User, action: Action = Action.VIEW) -> Reach:
    """Where content reaches the user for an action: the subtrees where they may take it,
    and every node above those (cached on the user per request)."""
    cache: dict[Action, Reach] = getattr(user, "_content_reach", None) or {}
    if action in cache:
        return cache[action]
    if not _active(user):
        reach = Reach(scope=Scope(everything=False))
    elif user.is_superuser:
        reach = Reach(scope=Scope(everything=True))
    else:
        scope = user_scope(user) if action == Action.VIEW else action_scope(user, action)
        assignments = Assignment.objects.filter(user=user, role__in=TABLE[action])
        if action != Action.VIEW:
            assignments = assignments.filter(group__is_active=True)
        above: set[int] = set()
        prefixes: set[str] = set()
        groups = [assignment.group for assignment in assignments.select_related("group")]
        for group in groups:
            lineage = group_lineage(group)
            above.update(node.pk for node in lineage)
            prefixes.add(node_path(group, lineage))
        national = national_get() if groups else None
        if national is not None:
            above.add(national.pk)  # material for the whole country reaches everyone
        reach = Reach(scope=scope, above_ids=frozenset(above), prefixes=tuple(sorted(prefixes)))
    cache[action] = reach
    user._content_reach = cache
    return reach


def content_visible_to(user: User) -> QuerySet[Content]:
    """Every content the user may see (see the module docstring)."""
    if not _active(user):
        return Content.objects.none()
    if user.is_superuser:
        return Content.objects.all()
    deciding = user_reach(user, Action.CONTENT_DECIDE)
    viewing = user_reach(user, Action.VIEW)
    # Each reach is one hashed subquery of revisions, computed once per query (PostgreSQL:
    # "hashed SubPlan"), not a correlated EXISTS per content row.
    return Content.objects.filter(
        Q(author=user)
        | Q(submitted_revision_id__in=deciding.revisions(), state__in=sorted(SUBMITTED_STATES))
        | Q(submitted_revision_id__in=viewing.revisions(), state__in=sorted(LIBRARY_STATES))
    )


def content_library(user: User) -> QuerySet[Content]:
    """The approved material that reaches the user (approved or scheduled, not expired)."""
    if not _active(user):
        return Content.objects.none()
    library = Content.objects.filter(state__in=sorted(LIBRARY_STATES)).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
    )
    if user.is_superuser:
        return library
    # Every role reads the library, so the deciding reach is inside this one. "Wrote it or in
    # reach" as one set of submitted revisions (content in the library has one, its own), so
    # that the content is found by its submitted revision's index, not read whole for an OR.
    reached = user_reach(user, Action.VIEW).revisions().order_by()
    own = Content.objects.filter(author=user, submitted_revision__isnull=False).order_by()
    return library.filter(
        submitted_revision_id__in=reached.union(own.values("submitted_revision_id"))
    )


def content_drafts(user: User) -> QuerySet[Content]:
    """The user's own content that waits for them: drafts and content sent back for changes,
    most recently changed first."""
    return Content.objects.filter(
        author=user, state__in=[Content.State.DRAFT, Content.State.CHANGES_REQUESTED]
    ).order_by("-updated_at", "-id")


def content_reaches(user: User, content: Content) -> bool:
    """Whether the user may see this one content: the rule of `content_visible_to`, asked of
    its submitted revision's few targets instead of every content's."""
    if not _active(user):
        return False
    if user.is_superuser or content.author_id == user.pk:
        return True
    if content.submitted_revision_id is None:
        return False
    if content.state in LIBRARY_STATES:
        reach = user_reach(user, Action.VIEW)  # every role's; holds the deciding reach
    elif content.state in SUBMITTED_STATES:
        reach = user_reach(user, Action.CONTENT_DECIDE)
    else:
        return False
    return (
        Target.objects.filter(revision_id=content.submitted_revision_id).filter(reach.q()).exists()
    )


def content_get_for_user(user: User, pk: int) -> Content:
    """The content if the user may see it; Http404 otherwise (never 403, which would confirm
    it exists)."""
    try:
        content = Content.objects.select_related("author").filter(pk=pk).first()
    except (ValueError, TypeError, OverflowError) as missing:
        raise Http404("No such content.") from missing
    if content is None or not content_reaches(user, content):
        raise Http404("No such content.")
    return content


def approval_min_kind() -> Kind:
    return Kind(settings.CONTENT_APPROVAL_MIN_KIND)


def decider_assignments(user: User) -> list[Assignment]:
    """The user's roles that may decide content: lead or approver, at an active node of
    CONTENT_APPROVAL_MIN_KIND or above (a district, by default)."""
    if not _active(user):
        return []
    cached = getattr(user, "_content_decider_assignments", None)
    if cached is None:
        cached = list(
            Assignment.objects.filter(
                user=user, role__in=TABLE[Action.CONTENT_DECIDE], group__is_active=True,
                group__kind__lte=approval_min_kind(),
            ).select_related("group").order_by("group__kind", "group__code")
        )  # fmt: skip
        user._content_decider_assignments = cached
    return cached


def decider_scope(user: User) -> Scope:
    """The subtrees where the user may decide content."""
    if _active(user) and user.is_superuser:
        return Scope(everything=True)
    nodes = [
        (a.group.kind, a.group.tree_id, a.group.lft, a.group.rght)
        for a in decider_assignments(user)
    ]
    return scope_of(nodes) if nodes else Scope(everything=False)


def decider_targets(user: User) -> Q:
    """A filter on Target: its node in the subtrees where the user may decide content
    (decider_scope), by the paths of the user's deciding nodes (cached on the user per
    request). No query for the trees hanging below them: their targets' paths start with
    those paths too."""
    cached = getattr(user, "_content_decider_targets", None)
    if cached is None:
        assignments = decider_assignments(user)
        if user.is_superuser or any(a.group.kind == Kind.NATIONAL for a in assignments):
            cached = Q()
        else:
            cached = _targets_q({node_path(a.group, group_lineage(a.group)) for a in assignments})
        user._content_decider_targets = cached
    return cached


def content_review_queue(user: User) -> QuerySet[Content]:
    """Content in review that waits for this user: a target of its submitted revision in
    their deciding scope has no approval yet, they did not write it and have not decided this
    revision. Oldest submission first."""
    if not _active(user):
        return Content.objects.none()
    waiting = Target.objects.filter(decider_targets(user), approval__isnull=True)
    waiting = waiting.values("revision_id")
    # Their own decisions only: an approval given by their trust in the author (of part of
    # the targets) leaves the rest waiting for them.
    decided = Decision.objects.filter(approver=user, trust__isnull=True).values("revision_id")
    return (
        Content.objects.filter(state=Content.State.IN_REVIEW, submitted_revision_id__in=waiting)
        .exclude(author=user)
        .exclude(submitted_revision_id__in=decided)
        .select_related("author")
        .order_by("submitted_at", "id")
    )


def content_sendable(*, now=None) -> QuerySet[Content]:
    """Content cleared to go out now: approved (a scheduled one is released at its send-at
    time first) and not past its expiry."""
    now = now or timezone.now()
    return Content.objects.filter(state=Content.State.APPROVED).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )


def content_timeline(content: Content) -> QuerySet[Event]:
    return content.events.select_related("actor", "revision").order_by("created_at", "id")


def revision_targets(revision: Revision) -> QuerySet[Target]:
    """The revision's targets with the approval that covers each (none: still waiting)."""
    return revision.targets.select_related("group", "approval__approver", "approval__node")


def target_deciders(target: Target, *, author: User | None = None) -> QuerySet[User]:
    """Who may decide a target: leads and approvers at its node or above it, at a node of
    CONTENT_APPROVAL_MIN_KIND or above, never the content's author."""
    node_ids = [node.pk for node in group_lineage(target.group)] + [target.group_id]
    national = national_get()
    if national is not None:
        node_ids.append(national.pk)
    users = User.objects.filter(
        assignments__group_id__in=node_ids,
        assignments__group__kind__lte=approval_min_kind(),
        assignments__group__is_active=True,
        assignments__role__in=TABLE[Action.CONTENT_DECIDE],
        is_active=True,
    ).distinct()
    if author is not None:
        users = users.exclude(pk=author.pk)
    return users.order_by("full_name", "email")


def revision_text(revision: Revision) -> str:
    """The whole of a revision as plain text, line by line, for the diff between revisions
    (the working draft's fields are the content's own, until it is submitted)."""
    snapshot = revision.snapshot if revision.is_submitted else revision.content.fields_snapshot()
    lines = [
        f"title: {snapshot.get('title', '')}",
        f"kind: {snapshot.get('kind', '')}",
        f"priority: {snapshot.get('priority', '')}",
        f"send at: {snapshot.get('send_at') or '-'}",
        f"expires at: {snapshot.get('expires_at') or '-'}",
        "campaign tags: " + " ".join(snapshot.get("campaign_tags", [])),
        "hashtags: " + " ".join(f"#{tag}" for tag in snapshot.get("hashtags", [])),
    ]
    for target in revision.targets.select_related("group").order_by("group__code", "post"):
        only = f" (only {target.post})" if target.post else ""
        lines.append(f"target: {target.group.code} {target.group.name}{only}")
    for variant in revision.variants.order_by("-is_default", "language"):
        default = " (default)" if variant.is_default else ""
        lines.append(f"[{variant.language}{default}]")
        lines.extend(variant.body.splitlines() or [""])
        if variant.media:
            lines.append(f"media: {variant.media.name} {variant.media_type}")
            lines.append(f"caption: {variant.media_caption}")
    return "\n".join(lines)


def revision_previous(revision: Revision) -> Revision | None:
    """The submitted revision before this one."""
    return (
        Revision.objects.filter(
            content_id=revision.content_id, number__lt=revision.number, submitted_at__isnull=False
        )
        .order_by("-number")
        .first()
    )


def revision_diff(revision: Revision) -> list[str]:
    """A unified diff of the revision against the submitted one before it (empty for the
    first); for the working draft, what was changed since the last submission."""
    previous = revision_previous(revision)
    if previous is None:
        return []
    return list(
        difflib.unified_diff(
            revision_text(previous).splitlines(),
            revision_text(revision).splitlines(),
            fromfile=f"r{previous.number}",
            tofile=f"r{revision.number}",
            lineterm="",
        )
    )


def content_authored(user: User, *, state: str = "") -> QuerySet[Content]:
    """Everything the user wrote (in one state, if given), most recently changed first: the
    "my content" page."""
    if not _active(user):
        return Content.objects.none()
    authored = Content.objects.filter(author=user)
    if state:
        authored = authored.filter(state=state)
    return authored.order_by("-updated_at", "-id")


def content_authored_counts(user: User) -> dict[str, int]:
    """How many of the user's content are in each state."""
    from django.db.models import Count

    if not _active(user):
        return {}
    rows = Content.objects.filter(author=user).values("state").annotate(count=Count("id"))
    return {row["state"]: row["count"] for row in rows.order_by()}


def _with_tag(contents: QuerySet[Content], tag: str) -> QuerySet[Content]:
    """The content whose campaign tags hold this one: JSON containment on PostgreSQL; SQLite
    has none, so there one of the array's values equals it."""
    if connection.vendor == "postgresql":
        return contents.filter(campaign_tags__contains=[tag])
    tagged = RawSQL(
        "EXISTS (SELECT 1 FROM json_each(content_content.campaign_tags)"
        " WHERE json_each.value = %s)",
        [tag],
        output_field=BooleanField(),
    )
    return contents.alias(tagged=tagged).filter(tagged=True)


def content_library_search(
    user: User, *, query: str = "", kind: str = "", language: str = "", tag: str = ""
) -> QuerySet[Content]:
    """The library (content_library) narrowed: title or text containing `query`, of a kind,
    with a text in a language, with a campaign tag. Newest approval first."""
    from content.models import Variant

    library = content_library(user)
    query = query.strip()
    if query:
        bodies = Variant.objects.filter(body__icontains=query).values("revision_id")
        library = library.filter(Q(title__icontains=query) | Q(submitted_revision_id__in=bodies))
    if kind:
        library = library.filter(kind=kind)
    if language:
        library = library.filter(
            submitted_revision_id__in=Variant.objects.filter(language=language)
            .exclude(body="", media="")
            .values("revision_id")
        )
    if tag:
        library = _with_tag(library, tag)
    return library.select_related("author").order_by("-state_changed_at", "-id")


def content_may_decide(user: User, content: Content) -> bool:
    """Whether the content waits for this user's decision (it is in their review queue)."""
    return (
        content.state == Content.State.IN_REVIEW
        and content_review_queue(user).filter(pk=content.pk).exists()
    )


def content_may_withdraw_as_decider(user: User, content: Content) -> bool:
    """Whether the user decides content at every target of the submitted revision (and so may
    withdraw it though they did not write it)."""
    if not _active(user) or content.submitted_revision_id is None:
        return False
    scope = decider_scope(user)
    targets = list(
        Target.objects.filter(revision_id=content.submitted_revision_id).select_related("group")
    )
    return bool(targets) and all(scope.contains(target.group) for target in targets)

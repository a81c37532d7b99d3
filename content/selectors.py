"""Reads of content, always through the user's reach.

Who sees what (README, "Content: the workflow"):

- a user sees the content they wrote, in every state;
- content submitted for review reaches a user when a target of its submitted revision lies in
  their subtree or above it (material meant for their state reaches their district); those who
  decide content there (leads, approvers) see it in every state from review on, everyone else
  only once it is approved or scheduled (the library);
- anything else does not exist for them (`content_get_for_user` answers 404).

The scope is a filter over the targets' nodes: their (tree_id, lft) ranges under the user's
assignments, through the group tree's (tree_id, lft) index, plus the few nodes above those
assignments by id, then from the targets to their revisions' content (`target_group_revision`).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import User
from cadreconnect.permissions import TABLE, Action, action_scope
from content.models import Content, Decision, Event, Revision, Target
from groups.models import Assignment, Group, Kind
from groups.selectors import Scope, group_lineage, national_get, scope_of, user_scope

# Past the review: what the library shows (approved content, waiting for its send-at or not).
LIBRARY_STATES = frozenset({Content.State.APPROVED, Content.State.SCHEDULED})
# Every state a submitted content can be in: what the deciders of its areas see.
SUBMITTED_STATES = frozenset(set(Content.State) - {Content.State.DRAFT})


@dataclass(frozen=True)
class Reach:
    """Nodes whose content reaches a user: a scope (their subtrees) and the nodes above it."""

    scope: Scope
    above_ids: frozenset[int] = frozenset()

    def q(self, prefix: str = "group__") -> Q:
        condition = self.scope.q(prefix)
        if self.scope.everything:
            return condition
        if self.above_ids:
            condition |= Q(**{f"{prefix.removesuffix('__')}_id__in": sorted(self.above_ids)})
        return condition

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
        groups = [assignment.group for assignment in assignments.select_related("group")]
        for group in groups:
            above.update(node.pk for node in group_lineage(group))
        national = national_get() if groups else None
        if national is not None:
            above.add(national.pk)  # material for the whole country reaches everyone
        reach = Reach(scope=scope, above_ids=frozenset(above))
    cache[action] = reach
    user._content_reach = cache
    return reach


def _targets_of_submitted(condition: Q) -> Exists:
    return Exists(Target.objects.filter(condition, revision=OuterRef("submitted_revision")))


def content_visible_to(user: User) -> QuerySet[Content]:
    """Every content the user may see (see the module docstring)."""
    if not _active(user):
        return Content.objects.none()
    if user.is_superuser:
        return Content.objects.all()
    deciding = user_reach(user, Action.CONTENT_DECIDE)
    viewing = user_reach(user, Action.VIEW)
    return Content.objects.filter(
        Q(author=user)
        | Q(_targets_of_submitted(deciding.q()), state__in=SUBMITTED_STATES)
        | Q(_targets_of_submitted(viewing.q()), state__in=LIBRARY_STATES)
    )


def content_library(user: User) -> QuerySet[Content]:
    """The approved material that reaches the user (approved or scheduled, not expired)."""
    now = timezone.now()
    return (
        content_visible_to(user)
        .filter(state__in=LIBRARY_STATES)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
    )


def content_drafts(user: User) -> QuerySet[Content]:
    """The user's own content that waits for them: drafts and content sent back for changes,
    most recently changed first."""
    return Content.objects.filter(
        author=user, state__in=[Content.State.DRAFT, Content.State.CHANGES_REQUESTED]
    ).order_by("-updated_at", "-id")


def content_get_for_user(user: User, pk: int) -> Content:
    """The content if the user may see it; Http404 otherwise (never 403, which would confirm
    it exists)."""
    try:
        return content_visible_to(user).select_related("author").get(pk=pk)
    except (Content.DoesNotExist, ValueError, TypeError, OverflowError) as missing:
        raise Http404("No such content.") from missing


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


def content_review_queue(user: User) -> QuerySet[Content]:
    """Content in review that waits for this user: a target of its submitted revision in
    their deciding scope has no approval yet, they did not write it and have not decided this
    revision. Oldest submission first."""
    if not _active(user):
        return Content.objects.none()
    waiting = Target.objects.filter(
        decider_scope(user).q("group__"),
        revision=OuterRef("submitted_revision"),
        approval__isnull=True,
    )
    decided = Decision.objects.filter(revision=OuterRef("submitted_revision"), approver=user)
    return (
        Content.objects.filter(Exists(waiting), state=Content.State.IN_REVIEW)
        .exclude(author=user)
        .exclude(Exists(decided))
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
    """The whole of a revision as plain text, line by line, for the diff between revisions."""
    snapshot = revision.snapshot or {}
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
    first)."""
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

"""Every change to content: drafting, submitting, deciding, withdrawing, trusting an author,
and the beat rounds that release scheduled content and expire what is past its expiry.

Each service that changes a content locks its row first (`select_for_update`) and checks the
state it finds then, never the one the caller read: two people acting at once are serialised,
so neither's write is lost and no transition happens twice (two approvers who approve the
last two targets at the same moment: the second sees the first's approval and makes the one
transition). The state itself is written by a conditional UPDATE on the state it was found
in (`_transition`). Each service writes one `Event`; a refused change raises
`ApplicationError` with a stable code and writes nothing.

The approval rule (README, "Content: the workflow"): each target of the submitted revision
needs an approval by a lead or approver holding the role at the target's node or above it,
at a node of CONTENT_APPROVAL_MIN_KIND or above; an approval at a node covers every target
in its subtree; the content is approved when every target is covered; any rejection rejects
it; a request for changes sends it back to its author. The author never decides their own
content. Editing submitted content makes a new revision, which needs every approval again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from cadreconnect import permissions
from cadreconnect.exceptions import ApplicationError
from cadreconnect.permissions import Action, OutsideArea
from cadreconnect.services import audit_record
from cadreconnect.validation import has_control_characters
from content import notifications, selectors
from content.media import StoredMedia
from content.models import (
    CLOSED_STATES,
    Content,
    Decision,
    Event,
    Revision,
    Target,
    TrustedAuthor,
    Variant,
)
from content.receivers import node_paths
from groups.models import Group, Kind, Role
from groups.selectors import national_get, scope_of
from members.models import Post

State = Content.State
Verdict = Decision.Verdict

# Which state each service may move a content from (and to). A change from any other state
# is refused with the code `wrong_state`.
EDITABLE_STATES = frozenset({State.DRAFT, State.CHANGES_REQUESTED})
# Editing these makes a new revision that goes straight back to review.
RESUBMIT_ON_EDIT_STATES = frozenset({State.IN_REVIEW, State.APPROVED, State.SCHEDULED})
SUBMITTABLE_STATES = frozenset({State.DRAFT, State.CHANGES_REQUESTED})
WITHDRAWABLE_STATES = frozenset(
    {State.DRAFT, State.IN_REVIEW, State.CHANGES_REQUESTED, State.APPROVED, State.SCHEDULED}
)
EXPIRING_STATES = frozenset(
    {State.IN_REVIEW, State.CHANGES_REQUESTED, State.APPROVED, State.SCHEDULED}
)
MEDIA_KINDS = frozenset({Content.Kind.IMAGE, Content.Kind.VIDEO, Content.Kind.DOCUMENT})

TAG_PATTERN = re.compile(r"^[^\s#,]{1,50}$")
MAX_TAGS = 20
MAX_TARGETS = 200
MAX_COMMENT_CHARS = 4000
URL_PATTERN = re.compile(r"https?://\S+")


class Refused(ApplicationError, PermissionDenied):
    """Inside the user's area, but the rule does not let them do it (a 403): deciding their
    own content, deciding below the approval level, editing someone else's content."""


@dataclass(frozen=True)
class VariantInput:
    """One language variant as a caller gives it. `media`: a new file (its type and size
    sniffed by content.media and passed in `media_type`, `media_size`), or the stored name of
    a file this content already has (kept from the revision before), or a file content.media's
    `media_store` has kept (`StoredMedia`: its generated name is recorded), or None."""

    language: str
    body: str = ""
    media: File | StoredMedia | str | None = None
    media_caption: str = ""
    media_type: str = ""
    media_size: int | None = None
    is_default: bool = False


@dataclass(frozen=True)
class TargetInput:
    group: Group
    post: str = ""


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET = _Unset()  # content_update: a field not given stays as it is


# --- Checking what the caller gives ---------------------------------------------------------


def _text(value: str, *, field: str, max_chars: int, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ApplicationError(_("Give the %(field)s.") % {"field": field}, code="required")
    if len(value) > max_chars:
        raise ApplicationError(
            _("The %(field)s is longer than %(max)s characters.")
            % {"field": field, "max": max_chars},
            code="too_long",
        )
    if has_control_characters(value):
        raise ApplicationError(
            _("The %(field)s holds a control character (such as a NUL byte); remove it.")
            % {"field": field},
            code="control_characters",
        )
    return value


def _tags(values: Iterable[str] | None, *, field: str, hashtags: bool = False) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        values = values.replace(",", " ").split()
    cleaned: list[str] = []
    for raw in values:
        tag = str(raw).strip()
        if hashtags:
            tag = tag.removeprefix("#")
        if not tag:
            continue
        if not TAG_PATTERN.match(tag) or has_control_characters(tag):
            raise ApplicationError(
                _(
                    "%(field)s: each is one word of at most 50 characters, without spaces, "
                    "commas or # inside."
                )
                % {"field": field},
                code="invalid_tag",
            )
        if tag.casefold() not in {seen.casefold() for seen in cleaned}:
            cleaned.append(tag)
    if len(cleaned) > MAX_TAGS:
        raise ApplicationError(
            _("%(field)s: at most %(max)s.") % {"field": field, "max": MAX_TAGS},
            code="too_many_tags",
        )
    return cleaned


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and timezone.is_naive(moment):
        return timezone.make_aware(moment)
    return moment


def _check_times(send_at: datetime | None, expires_at: datetime | None) -> None:
    now = timezone.now()
    if send_at is not None and send_at <= now:
        raise ApplicationError(
            _("The send time has passed; choose a time in the future."), code="send_at_past"
        )
    if expires_at is not None and expires_at <= now:
        raise ApplicationError(
            _("The expiry has passed; choose a time in the future."), code="expires_at_past"
        )
    if send_at is not None and expires_at is not None and expires_at <= send_at:
        raise ApplicationError(
            _("The content would expire before it is sent: set the expiry after the send time."),
            code="expires_before_send",
        )


def _variants(variants: Sequence[VariantInput], *, content: Content | None) -> list[VariantInput]:
    languages = dict(settings.CONTENT_LANGUAGES)
    if not variants:
        raise ApplicationError(_("Write the text in at least one language."), code="body_empty")
    seen: set[str] = set()
    cleaned: list[VariantInput] = []
    for variant in variants:
        if variant.language not in languages:
            raise ApplicationError(
                _("%(language)s is not a language content is written in.")
                % {"language": str(variant.language)[:20]},
                code="invalid_language",
            )
        if variant.language in seen:
            raise ApplicationError(
                _("There are two texts in %(language)s; keep one.")
                % {"language": languages[variant.language]},
                code="duplicate_language",
            )
        seen.add(variant.language)
        media = variant.media
        stored = isinstance(media, StoredMedia)
        if stored:  # kept by content.media.media_store under a name made there (the editor)
            media = media.name
        elif media and not isinstance(media, str) and not variant.media_type:
            # A new file is stored only once content.media has read its type from its bytes.
            raise ApplicationError(
                _("The file's type could not be read from its contents."),
                code="media_unchecked",
            )
        if isinstance(media, str) and media and not stored:
            # A file kept from an earlier revision: only one of this content's own files.
            owned = (
                content is not None
                and Variant.objects.filter(revision__content=content, media=media).exists()
            )
            if not owned:
                raise ApplicationError(_("No such media file."), code="invalid_media")
        cleaned.append(
            VariantInput(
                language=variant.language,
                body=_text(
                    variant.body, field=_("text"), max_chars=settings.CONTENT_BODY_MAX_CHARS
                ).replace("\r\n", "\n"),
                media=media or None,
                media_caption=_text(variant.media_caption, field=_("caption"), max_chars=1024),
                media_type=variant.media_type if media else "",
                media_size=variant.media_size if media else None,
                is_default=variant.is_default,
            )
        )
    defaults = [variant for variant in cleaned if variant.is_default]
    if len(defaults) > 1:
        raise ApplicationError(_("Only one language can be the default."), code="two_defaults")
    if not defaults:
        first = cleaned[0]
        cleaned[0] = VariantInput(**{**first.__dict__, "is_default": True})
    if not any(variant.body or variant.media for variant in cleaned):
        raise ApplicationError(
            _("The text is empty in every language; write it in at least one."),
            code="body_empty",
        )
    return cleaned


def _targets(actor: User, targets: Sequence[TargetInput | Group]) -> list[TargetInput]:
    """Each target must be a node where the actor may draft content: outside their area it
    does not exist for them (OutsideArea, a 404: a target forged in a form)."""
    if len(targets) > MAX_TARGETS:
        raise ApplicationError(
            _("At most %(max)s targets.") % {"max": MAX_TARGETS}, code="too_many_targets"
        )
    offices = set(Post.Office.values)
    cleaned: list[TargetInput] = []
    for target in targets:
        if isinstance(target, Group):
            target = TargetInput(group=target)
        group = Group.objects.filter(pk=target.group.pk).first()
        if group is None:
            raise OutsideArea("No such group.")
        permissions.require(actor, Action.CONTENT_DRAFT, group)
        if not group.is_active:
            raise ApplicationError(
                _("%(group)s is deactivated; content cannot be aimed at it.")
                % {"group": group.name},
                code="target_inactive",
            )
        post = target.post or ""
        if post and post not in offices:
            raise ApplicationError(_("No such office."), code="invalid_post")
        if (group.pk, post) not in {(t.group.pk, t.post) for t in cleaned}:
            cleaned.append(TargetInput(group=group, post=post))
    return cleaned


# --- Writing revisions ---------------------------------------------------------------------


def _write_variants(revision: Revision, variants: Sequence[VariantInput]) -> None:
    revision.variants.all().delete()
    for variant in variants:
        Variant.objects.create(
            revision=revision,
            language=variant.language,
            body=variant.body,
            media=variant.media or "",
            media_caption=variant.media_caption,
            media_type=variant.media_type,
            media_size=variant.media_size,
            is_default=variant.is_default,
        )


def _write_targets(revision: Revision, targets: Sequence[TargetInput]) -> None:
    revision.targets.all().delete()
    paths = node_paths(target.group.pk for target in targets)
    Target.objects.bulk_create(
        Target(revision=revision, group=target.group, post=target.post, path=paths[target.group.pk])
        for target in targets
    )


def _new_revision(content: Content, *, actor: User, copy_of: Revision | None) -> Revision:
    """The next revision, a copy of `copy_of`'s variants and targets (media files are shared,
    not copied: a stored file is never changed)."""
    number = (content.revisions.aggregate(last=Max("number"))["last"] or 0) + 1
    revision = Revision.objects.create(content=content, number=number, created_by=actor)
    if copy_of is not None:
        Variant.objects.bulk_create(
            Variant(
                revision=revision, language=v.language, body=v.body, media=v.media.name,
                media_caption=v.media_caption, media_type=v.media_type,
                media_size=v.media_size, is_default=v.is_default,
            )
            for v in copy_of.variants.all()
        )  # fmt: skip
        Target.objects.bulk_create(
            Target(revision=revision, group_id=t.group_id, post=t.post, path=t.path)
            for t in copy_of.targets.all()
        )
    Content.objects.filter(pk=content.pk).update(current_revision=revision)
    content.current_revision = revision
    return revision


# --- Locking, transitions and events --------------------------------------------------------


def _locked(content: Content) -> Content:
    """The content's row, locked for the rest of the transaction, as it is now."""
    return Content.objects.select_for_update().get(pk=content.pk)


def _transition(content: Content, to_state: str, **fields) -> None:
    """Write the new state, on condition that the row is still in the state it was read in
    (under the row lock it always is; the condition is the guard should a caller forget it)."""
    now = timezone.now()
    changed = Content.objects.filter(pk=content.pk, state=content.state).update(
        state=to_state, state_changed_at=now, updated_at=now, **fields
    )
    if changed != 1:
        raise ApplicationError(
            _("Someone else changed this content just now; look at it again."),
            code="changed_meanwhile",
        )
    for name, value in fields.items():
        setattr(content, name, value)
    content.state = to_state
    content.state_changed_at = now


def _event(
    content: Content, *, actor: User | None, kind: str, from_state: str, to_state: str,
    revision: Revision | None, comment: str = "", data: dict | None = None,
) -> Event:  # fmt: skip
    event = Event.objects.create(
        content=content, actor=actor, kind=kind, from_state=from_state, to_state=to_state,
        revision=revision, comment=comment, data=data or {},
    )  # fmt: skip
    notifications.event_recorded(event)  # the mail it owes, if any, sent after the commit
    return event


def _wrong_state(content: Content, doing: str) -> ApplicationError:
    messages = {
        "edit": _("This content is %(state)s: it cannot be edited now."),
        "submit": _("This content is %(state)s: it cannot be submitted now."),
        "decide": _("This content is %(state)s: it cannot be decided now."),
        "withdraw": _("This content is %(state)s: it cannot be withdrawn now."),
    }
    return ApplicationError(
        messages[doing] % {"state": str(State(content.state).label).lower()},
        code="wrong_state",
        extra={"state": content.state},
    )


def _require_author(actor: User, content: Content) -> None:
    if actor is None or actor.pk != content.author_id:
        raise Refused(
            _("Only the author of this content can change or submit it."), code="not_author"
        )


def _require_visible(actor: User, content: Content) -> None:
    if not selectors.content_reaches(actor, content):
        raise OutsideArea("No such content.")


# --- Create, edit, submit -------------------------------------------------------------------


def content_create(
    *,
    actor: User,
    title: str,
    variants: Sequence[VariantInput],
    targets: Sequence[TargetInput | Group] = (),
    kind: str = Content.Kind.TEXT,
    campaign_tags: Iterable[str] | None = None,
    hashtags: Iterable[str] | None = None,
    send_at: datetime | None = None,
    expires_at: datetime | None = None,
    priority: int = Content.Priority.NORMAL,
) -> Content:
    """A new draft by `actor`, who must be allowed to draft content at every target."""
    permissions.require_somewhere(actor, Action.CONTENT_DRAFT)
    fields = {
        "title": _text(title, field=_("title"), max_chars=200, required=True),
        "kind": _kind(kind),
        "priority": _priority(priority),
        "campaign_tags": _tags(campaign_tags, field=_("Campaign tags")),
        "hashtags": _tags(hashtags, field=_("Hashtags"), hashtags=True),
        "send_at": _aware(send_at),
        "expires_at": _aware(expires_at),
    }
    _check_times(fields["send_at"], fields["expires_at"])
    cleaned_variants = _variants(variants, content=None)
    cleaned_targets = _targets(actor, targets)
    with transaction.atomic():
        content = Content.objects.create(author=actor, state=State.DRAFT, **fields)
        revision = _new_revision(content, actor=actor, copy_of=None)
        _write_variants(revision, cleaned_variants)
        _write_targets(revision, cleaned_targets)
        _event(
            content, actor=actor, kind=Event.Kind.CREATED, from_state=State.DRAFT,
            to_state=State.DRAFT, revision=revision,
        )  # fmt: skip
    return content


def _kind(kind: str) -> str:
    if kind not in Content.Kind.values:
        raise ApplicationError(_("No such kind of content."), code="invalid_kind")
    return kind


def _priority(priority: int) -> int:
    try:
        priority = int(priority)
    except (TypeError, ValueError):
        priority = -1
    if priority not in Content.Priority.values:
        raise ApplicationError(_("No such priority."), code="invalid_priority")
    return priority


def content_update(
    *,
    actor: User,
    content: Content,
    title: str | _Unset = UNSET,
    variants: Sequence[VariantInput] | _Unset = UNSET,
    targets: Sequence[TargetInput | Group] | _Unset = UNSET,
    kind: str | _Unset = UNSET,
    campaign_tags: Iterable[str] | _Unset = UNSET,
    hashtags: Iterable[str] | _Unset = UNSET,
    send_at: datetime | _Unset | None = UNSET,
    expires_at: datetime | _Unset | None = UNSET,
    priority: int | _Unset = UNSET,
) -> Content:
    """The author edits their content; what is not given stays.

    A draft, or content sent back for changes, is edited in its working revision (a new one
    when the last was submitted). Content in review, approved or scheduled gets a new
    revision that goes straight back to review: the approvals of the one before do not carry
    over. Rejected, withdrawn and expired content is closed.
    """
    with transaction.atomic():
        locked = _locked(content)
        _require_visible(actor, locked)
        _require_author(actor, locked)
        if locked.state not in EDITABLE_STATES | RESUBMIT_ON_EDIT_STATES:
            raise _wrong_state(locked, "edit")
        fields: dict = {}
        if not isinstance(title, _Unset):
            fields["title"] = _text(title, field=_("title"), max_chars=200, required=True)
        if not isinstance(kind, _Unset):
            fields["kind"] = _kind(kind)
        if not isinstance(priority, _Unset):
            fields["priority"] = _priority(priority)
        if not isinstance(campaign_tags, _Unset):
            fields["campaign_tags"] = _tags(campaign_tags, field=_("Campaign tags"))
        if not isinstance(hashtags, _Unset):
            fields["hashtags"] = _tags(hashtags, field=_("Hashtags"), hashtags=True)
        if not isinstance(send_at, _Unset):
            fields["send_at"] = _aware(send_at)
        if not isinstance(expires_at, _Unset):
            fields["expires_at"] = _aware(expires_at)
        if "send_at" in fields or "expires_at" in fields:
            _check_times(
                fields.get("send_at", locked.send_at), fields.get("expires_at", locked.expires_at)
            )
        cleaned_variants = (
            None if isinstance(variants, _Unset) else _variants(variants, content=locked)
        )
        cleaned_targets = None if isinstance(targets, _Unset) else _targets(actor, targets)

        from_state = locked.state
        revision = locked.current_revision
        if revision is None or revision.is_submitted:
            revision = _new_revision(locked, actor=actor, copy_of=revision)
        if cleaned_variants is not None:
            _write_variants(revision, cleaned_variants)
        if cleaned_targets is not None:
            _write_targets(revision, cleaned_targets)
        for name, value in fields.items():
            setattr(locked, name, value)
        if fields:
            locked.save(update_fields=[*fields, "updated_at"])
        if from_state in RESUBMIT_ON_EDIT_STATES:
            trusts = _submit(locked, revision)
            _event(
                locked, actor=actor, kind=Event.Kind.EDITED, from_state=from_state,
                to_state=locked.state, revision=revision, data=_trust_data(trusts),
            )  # fmt: skip
        else:
            _event(
                locked, actor=actor, kind=Event.Kind.EDITED, from_state=from_state,
                to_state=from_state, revision=revision,
            )  # fmt: skip
    return locked


def content_submit(*, actor: User, content: Content) -> Content:
    """The author submits their draft (or content sent back for changes) for review: a new
    revision, kept as it is. Targets inside a subtree for which a lead trusts the author are
    approved at once, in that lead's name; if that is every target, so is the content."""
    with transaction.atomic():
        locked = _locked(content)
        _require_visible(actor, locked)
        _require_author(actor, locked)
        if locked.state not in SUBMITTABLE_STATES:
            raise _wrong_state(locked, "submit")
        from_state = locked.state
        revision = locked.current_revision
        if revision.is_submitted:
            # Sent back and submitted again without an edit: still a new revision, which
            # needs every approval again.
            revision = _new_revision(locked, actor=actor, copy_of=revision)
        trusts = _submit(locked, revision)
        _event(
            locked, actor=actor, kind=Event.Kind.SUBMITTED, from_state=from_state,
            to_state=locked.state, revision=revision, data=_trust_data(trusts),
        )  # fmt: skip
    return locked


def _check_submittable(content: Content, revision: Revision) -> None:
    if not revision.targets.exists():
        raise ApplicationError(
            _("Choose at least one area the content is meant for."), code="no_targets"
        )
    variants = list(revision.variants.all())
    if not any(variant.body.strip() or variant.media for variant in variants):
        raise ApplicationError(
            _("The text is empty in every language; write it in at least one."),
            code="body_empty",
        )
    if content.kind in MEDIA_KINDS and not any(v.media for v in variants if v.is_default):
        raise ApplicationError(
            _("Content of the kind %(kind)s needs its file in the default language.")
            % {"kind": str(Content.Kind(content.kind).label).lower()},
            code="media_missing",
        )
    if content.kind == Content.Kind.LINK and not any(URL_PATTERN.search(v.body) for v in variants):
        raise ApplicationError(
            _("Content of the kind link needs a web address (https://...) in its text."),
            code="link_missing",
        )
    _check_times(content.send_at, content.expires_at)


def _submit(content: Content, revision: Revision) -> list[TrustedAuthor]:
    """Submit `revision` of the locked `content` (in review from now, or approved by trust);
    returns the trusts that approved targets."""
    _check_submittable(content, revision)
    # The author's roles may have changed since the draft was written: every target must
    # still be in the area where they may draft.
    _targets(content.author, [TargetInput(t.group, t.post) for t in revision.targets.all()])
    now = timezone.now()
    Revision.objects.filter(pk=revision.pk).update(
        submitted_at=now, snapshot=content.fields_snapshot()
    )
    revision.submitted_at = now
    _transition(
        content, State.IN_REVIEW, submitted_revision=revision, submitted_at=now,
        current_revision=revision,
    )  # fmt: skip
    trusts = _apply_trusts(content, revision)
    if trusts and not _waiting(revision).exists():
        _transition(content, _approved_state(content))
    return trusts


def _trust_data(trusts: list[TrustedAuthor]) -> dict:
    if not trusts:
        return {}
    return {
        "trusted_by": [
            {"trust": trust.pk, "lead": trust.lead_id, "lead_name": trust.lead.full_name
             or trust.lead.email, "node": trust.node.code, "node_name": trust.node.name}
            for trust in trusts
        ]
    }  # fmt: skip


def _apply_trusts(content: Content, revision: Revision) -> list[TrustedAuthor]:
    """Approve, in a lead's name, the targets inside each node for which the lead trusts the
    author and may still decide content."""
    used = []
    trusts = TrustedAuthor.objects.filter(
        author_id=content.author_id, revoked_at__isnull=True, node__is_active=True
    ).select_related("lead", "node")
    for trust in trusts:
        if trust.lead_id == content.author_id or not _may_trust_at(trust.lead, trust.node):
            continue
        waiting = _waiting(revision).filter(_subtree_q(trust.node))
        if not waiting.exists():
            continue
        decision = Decision.objects.create(
            revision=revision, approver=trust.lead, node=trust.node, decision=Verdict.APPROVE,
            trust=trust,
        )  # fmt: skip
        waiting.update(approval=decision)
        used.append(trust)
    return used


def _approved_state(content: Content) -> str:
    return State.SCHEDULED if content.send_at is not None else State.APPROVED


# --- Deciding -------------------------------------------------------------------------------


def _waiting(revision: Revision):
    return Target.objects.filter(revision=revision, approval__isnull=True)


def _subtree_q(node: Group) -> Q:
    """Targets whose node is in `node`'s subtree (across the trees that hang below it)."""
    return scope_of([(node.kind, node.tree_id, node.lft, node.rght)]).q("group__")


def _covers(node: Group, group: Group) -> bool:
    return scope_of([(node.kind, node.tree_id, node.lft, node.rght)]).contains(group)


def _decider_nodes(actor: User) -> list[Group]:
    """Where the actor decides content: their deciding roles' nodes, outermost first (for a
    superuser, the national node)."""
    if actor.is_superuser:
        national = national_get()
        return [national] if national is not None else []
    return [assignment.group for assignment in selectors.decider_assignments(actor)]


def _may_trust_at(lead: User, node: Group) -> bool:
    """Does `lead` hold the lead role at `node` or above, at the approval level?"""
    if not lead.is_active:
        return False
    if lead.is_superuser:
        return True
    return any(
        assignment.role == Role.LEAD and _covers(assignment.group, node)
        for assignment in selectors.decider_assignments(lead)
    )


def _decision_nodes(actor: User, revision: Revision, target: Group | Target | None) -> list[Group]:
    """The nodes the actor decides at: the one asked for (a target's node or a node above
    targets, inside the actor's deciding scope), or every node of theirs that covers a
    target. Refusals: OutsideArea (404) outside their area, Forbidden (403) without the role,
    Refused (403) below the approval level."""
    targets = list(revision.targets.select_related("group"))
    if target is not None:
        node = target.group if isinstance(target, Target) else target
        node = Group.objects.filter(pk=node.pk).first()
        if node is None:
            raise OutsideArea("No such group.")
        permissions.require(actor, Action.CONTENT_DECIDE, node)
        if not any(_covers(held, node) for held in _decider_nodes(actor)):
            raise _below_level()
        if not any(_covers(node, t.group) for t in targets):
            raise ApplicationError(
                _("%(group)s is not a target of this content, nor above one.")
                % {"group": node.name},
                code="not_a_target",
            )
        return [node]
    if actor.is_superuser and national_get() is None:
        return list({t.group.pk: t.group for t in targets}.values())  # a tree with no top
    nodes = [held for held in _decider_nodes(actor) if any(_covers(held, t.group) for t in targets)]
    # Drop a node inside another chosen node: the outer one covers it already.
    outermost = [n for n in nodes if not any(o.pk != n.pk and _covers(o, n) for o in nodes)]
    if outermost:
        return outermost
    decide_scope = permissions.action_scope(actor, Action.CONTENT_DECIDE)
    if any(decide_scope.contains(t.group) for t in targets):
        raise _below_level()
    raise Refused(
        _("None of the areas this content is meant for is one where you decide content."),
        code="not_your_targets",
    )


def _below_level() -> Refused:
    return Refused(
        _(
            "Content is approved by leads and approvers at the level of a %(kind)s or above; "
            "your role here is below it."
        )
        % {"kind": str(Kind(settings.CONTENT_APPROVAL_MIN_KIND).label).lower()},
        code="decision_level",
    )


def content_decide(
    *,
    actor: User,
    content: Content,
    decision: str,
    comment: str = "",
    target: Group | Target | None = None,
    revision: Revision | None = None,
) -> Content:
    """An approver decides the submitted revision: approve, request changes or reject.

    `revision` (or, without it, the submitted revision of the `content` the caller read) is
    the one the actor looked at: a decision on any other revision is refused (`old_revision`).
    `target`: decide at that node only (a target's node, or a node above some targets);
    without it, at every node of the actor's that covers a target.
    """
    if decision not in Verdict.values:
        raise ApplicationError(_("No such decision."), code="invalid_decision")
    comment = _text(comment, field=_("comment"), max_chars=MAX_COMMENT_CHARS)
    if decision != Verdict.APPROVE and not comment:
        raise ApplicationError(
            _("Say what should change, or why it is rejected, in the comment."),
            code="comment_required",
        )
    # Before the content is looked up: a user who decides nowhere learns nothing about it.
    permissions.require_somewhere(actor, Action.CONTENT_DECIDE)
    looked_at = revision.pk if revision is not None else content.submitted_revision_id
    with transaction.atomic():
        locked = _locked(content)
        _require_visible(actor, locked)
        if actor.pk == locked.author_id:
            raise Refused(
                _("You wrote this content: someone else must decide it."), code="own_content"
            )
        if locked.state != State.IN_REVIEW:
            raise _wrong_state(locked, "decide")
        if looked_at != locked.submitted_revision_id:
            raise ApplicationError(
                _("This content was revised since you looked at it; decide the new revision."),
                code="old_revision",
            )
        current = locked.submitted_revision
        nodes = _decision_nodes(actor, current, target)
        if Decision.objects.filter(revision=current, approver=actor, node__in=nodes).exists():
            raise ApplicationError(
                _("You have already decided this revision."), code="already_decided"
            )
        decisions = []
        try:
            with transaction.atomic():
                for node in nodes:
                    made = Decision.objects.create(
                        revision=current, approver=actor, node=node, decision=decision,
                        comment=comment,
                    )  # fmt: skip
                    if decision == Verdict.APPROVE:
                        _waiting(current).filter(_subtree_q(node)).update(approval=made)
                    decisions.append(made)
        except IntegrityError as twice:
            raise ApplicationError(
                _("You have already decided this revision."), code="already_decided"
            ) from twice
        from_state = locked.state
        if decision == Verdict.REJECT:
            _transition(locked, State.REJECTED)
        elif decision == Verdict.REQUEST_CHANGES:
            _transition(locked, State.CHANGES_REQUESTED)
        elif not _waiting(current).exists():
            _transition(locked, _approved_state(locked))
        _event(
            locked, actor=actor, kind=decision, from_state=from_state, to_state=locked.state,
            revision=current, comment=comment,
            data={"decisions": [d.pk for d in decisions],
                  "nodes": [{"code": n.code, "name": n.name} for n in nodes]},
        )  # fmt: skip
    return locked


# --- Withdrawing ----------------------------------------------------------------------------


def content_withdraw(*, actor: User, content: Content, reason: str) -> Content:
    """The author takes their content back, or a decider of every target pulls it; it is
    closed from then on."""
    reason = _text(reason, field=_("reason"), max_chars=MAX_COMMENT_CHARS)
    if not reason:
        raise ApplicationError(_("Say why the content is withdrawn."), code="reason_required")
    with transaction.atomic():
        locked = _locked(content)
        _require_visible(actor, locked)
        if actor.pk != locked.author_id and not actor.is_superuser:
            targets = (
                list(locked.submitted_revision.targets.select_related("group"))
                if locked.submitted_revision
                else []
            )
            held = _decider_nodes(actor)
            if not targets or not all(any(_covers(n, t.group) for n in held) for t in targets):
                raise Refused(
                    _(
                        "Only its author, or a lead or approver of every area it is meant for, "
                        "can withdraw this content."
                    ),
                    code="withdraw_not_allowed",
                )
        if locked.state not in WITHDRAWABLE_STATES:
            raise _wrong_state(locked, "withdraw")
        from_state = locked.state
        _transition(locked, State.WITHDRAWN)
        _event(
            locked, actor=actor, kind=Event.Kind.WITHDRAWN, from_state=from_state,
            to_state=State.WITHDRAWN, revision=locked.current_revision, comment=reason,
        )  # fmt: skip
    return locked


# --- Trust ----------------------------------------------------------------------------------


def content_trust(*, actor: User, author: User, group: Group) -> TrustedAuthor:
    """A lead trusts an author for a node of the lead's own subtree: the author's content for
    targets inside it is approved on submission, in the lead's name."""
    group = Group.objects.filter(pk=group.pk).first()
    if group is None:
        raise OutsideArea("No such group.")
    permissions.require(actor, Action.CONTENT_TRUST, group)
    if not _may_trust_at(actor, group):
        raise _below_level()
    if author.pk == actor.pk:
        raise Refused(_("You cannot trust yourself."), code="trust_self")
    if not author.is_active:
        raise ApplicationError(_("This account is deactivated."), code="author_inactive")
    with transaction.atomic():
        try:
            with transaction.atomic():
                trust = TrustedAuthor.objects.create(lead=actor, author=author, node=group)
        except IntegrityError as twice:
            raise ApplicationError(
                _("You already trust %(author)s for %(group)s.")
                % {"author": author.full_name or author.email, "group": group.name},
                code="already_trusted",
            ) from twice
        audit_record(
            actor=actor, action="content.trust", target=trust,
            data={"author": author.pk, "group": group.code},
        )  # fmt: skip
    return trust


def content_trust_revoke(*, actor: User, trust: TrustedAuthor) -> TrustedAuthor:
    """The lead (or a lead above the node) ends a trust; content submitted from then on waits
    for approval again."""
    permissions.require(actor, Action.CONTENT_TRUST, trust.node)
    with transaction.atomic():
        now = timezone.now()
        revoked = TrustedAuthor.objects.filter(pk=trust.pk, revoked_at__isnull=True).update(
            revoked_at=now
        )
        if not revoked:
            raise ApplicationError(_("This trust has already ended."), code="trust_ended")
        trust.revoked_at = now
        audit_record(
            actor=actor, action="content.trust_revoke", target=trust,
            data={"author": trust.author_id, "group": trust.node.code},
        )  # fmt: skip
    return trust


# --- The beat rounds ------------------------------------------------------------------------

ROUND_BATCH = 500


def _round(queryset, *, to_state: str, kind: str, batch: int) -> int:
    """Move content from the queryset's rows to `to_state`, a batch per transaction, each row
    claimed with FOR UPDATE SKIP LOCKED (a row a person is changing is left to the next
    round; two rounds at once never move a row twice); one event per row."""
    moved = 0
    while True:
        with transaction.atomic():
            rows = list(
                queryset.select_for_update(skip_locked=True)
                .order_by("pk")
                .values_list("pk", "state", "submitted_revision_id")[:batch]
            )
            if not rows:
                break
            now = timezone.now()
            Content.objects.filter(pk__in=[pk for pk, *_ in rows]).update(
                state=to_state, state_changed_at=now, updated_at=now
            )
            Event.objects.bulk_create(
                Event(content_id=pk, revision_id=revision_id, actor=None, kind=kind,
                      from_state=state, to_state=to_state)
                for pk, state, revision_id in rows
            )  # fmt: skip
        moved += len(rows)
        if len(rows) < batch:
            break
    return moved


def content_release_due(*, now: datetime | None = None, batch: int = ROUND_BATCH) -> int:
    """Scheduled content whose send-at time has come is approved, for distribution to send
    (not what has expired meanwhile: content_expire_due closes that). Returns how many."""
    now = now or timezone.now()
    due = Content.objects.filter(state=State.SCHEDULED, send_at__lte=now).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )
    return _round(due, to_state=State.APPROVED, kind=Event.Kind.RELEASED, batch=batch)


def content_expire_due(*, now: datetime | None = None, batch: int = ROUND_BATCH) -> int:
    """Content past its expiry is closed: never sent, never shown in the library. Returns how
    many."""
    now = now or timezone.now()
    due = Content.objects.filter(state__in=EXPIRING_STATES, expires_at__lte=now)
    return _round(due, to_state=State.EXPIRED, kind=Event.Kind.EXPIRED, batch=batch)


__all__ = [
    "CLOSED_STATES",
    "UNSET",
    "Refused",
    "TargetInput",
    "VariantInput",
    "content_create",
    "content_decide",
    "content_expire_due",
    "content_release_due",
    "content_submit",
    "content_trust",
    "content_trust_revoke",
    "content_update",
    "content_withdraw",
]

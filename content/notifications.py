"""Mail about content: approvers are told when content awaits them, the author when it is
decided, and beat's round reminds approvers of content that has waited long.

- The services call `event_recorded(event)` for every event they write. An event that owes
  mail (a submission or an edit that puts a revision in review; a decision or a trust that
  moves the content to approved, scheduled, changes requested or rejected) gets a
  `content.Notice` in the same transaction, so the want is never lost; its task is sent after
  the commit (`enqueue_or_log`: a lost message is sent again by `notices_resend`).
- `notice_send` writes the notice's mails through `accounts.services.outgoing_mail_queue`
  (each mail kept until sent, never sent twice) and marks the notice done, in one
  transaction holding its row: a second delivery finds it done or held and writes nothing.
  It reads the content as it is then: content decided or revised meanwhile owes its approvers
  nothing more for that revision.
- `reminders_send` (beat, every CONTENT_REMIND_ROUND_SECONDS) reminds the approvers of content
  in review for more than CONTENT_REMIND_AFTER, once per interval of its wait: the n-th
  reminder of a revision is a Notice unique on (revision, step), inserted before its mails in
  the same transaction, so two rounds at once remind once.

Every mail is written in its recipient's language (`User.language`), and its free text
(titles, names, comments) goes through `cadreconnect.privacy.redact`: no full phone number
or voter id leaves in a mail.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone, translation
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from accounts.services import outgoing_mail_queue
from cadreconnect.privacy import redact
from cadreconnect.queue import enqueue_again, enqueue_or_log
from content.models import Content, Decision, Event, Notice, Revision, Target
from content.selectors import target_deciders

logger = logging.getLogger(__name__)

State = Content.State
AWAITING_EVENTS = frozenset({Event.Kind.SUBMITTED, Event.Kind.EDITED})
DECIDING_EVENTS = frozenset(
    {
        Event.Kind.APPROVE,
        Event.Kind.REQUEST_CHANGES,
        Event.Kind.REJECT,
        # A submission or edit approved at once by a lead's trust.
        Event.Kind.SUBMITTED,
        Event.Kind.EDITED,
    }
)
DECIDED_STATES = frozenset(
    {State.APPROVED, State.SCHEDULED, State.CHANGES_REQUESTED, State.REJECTED}
)
# Targets named in a mail; the rest are counted.
TARGETS_NAMED = 5
REMINDER_BATCH = 200
# A reminder round starts no batch after this long (the task's limits are in content.tasks).
REMINDER_ROUND_SECONDS = 4 * 60


# --- Recording what is owed (in the services' transaction) ---------------------------------


def _notice_kind(event: Event) -> str | None:
    if event.revision_id is None:
        return None
    if event.kind in AWAITING_EVENTS and event.to_state == State.IN_REVIEW:
        return Notice.Kind.AWAITING
    if event.kind in DECIDING_EVENTS and event.is_transition and event.to_state in DECIDED_STATES:
        return Notice.Kind.DECIDED
    return None


def awaiting_cache_key(user: User) -> str:
    """The cache's key of the menu's count of what awaits a user (content.context_processors);
    with the account's creation time, so that an id given again never finds another's."""
    return f"content:awaiting:{user.pk}:{user.date_joined.timestamp()}"


def event_recorded(event: Event) -> Notice | None:
    """Keep the mail this event owes, if any, and have a worker write it after the commit;
    the actor's count of what awaits them (the menu's) is counted afresh after it."""
    if event.actor is not None:
        key = awaiting_cache_key(event.actor)
        transaction.on_commit(lambda: cache.delete(key), robust=True)
    kind = _notice_kind(event)
    if kind is None:
        return None
    notice = Notice.objects.create(
        content_id=event.content_id, revision_id=event.revision_id, event=event, kind=kind,
        queued_at=timezone.now(),
    )  # fmt: skip
    transaction.on_commit(lambda: _enqueue(notice.pk), robust=True)
    return notice


def _enqueue(notice_id: int) -> None:
    from content.tasks import content_notice_send

    enqueue_or_log(content_notice_send, notice_id)


# --- Writing the mails (a task) -------------------------------------------------------------


def notice_send(*, notice_id: int) -> int:
    """Write the mails of a notice not written yet; returns how many (0 for a notice done,
    held by another task, or owing nothing any more)."""
    with transaction.atomic():
        notice = (
            Notice.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk=notice_id, done_at__isnull=True)
            .select_related("content__author", "revision", "event__actor")
            .first()
        )
        if notice is None:
            return 0
        if notice.kind == Notice.Kind.AWAITING:
            messages = _awaiting_mails(notice)
        elif notice.kind == Notice.Kind.DECIDED:
            messages = _decided_mails(notice)
        else:
            messages = []
        for message in messages:
            outgoing_mail_queue(message=message)
        Notice.objects.filter(pk=notice.pk).update(done_at=timezone.now(), mails=len(messages))
    return len(messages)


def notices_resend() -> int:
    """Beat's round: send again the message of each notice not done and not sent to the
    workers for MAIL_RESEND_SECONDS (its message was lost, or the broker was down). Returns
    how many were sent."""
    now = timezone.now()
    due = (
        Notice.objects.filter(
            done_at__isnull=True,
            queued_at__lt=now - timedelta(seconds=settings.MAIL_RESEND_SECONDS),
        )
        .order_by("queued_at")
        .values_list("pk", "queued_at")[:500]
    )
    from content.tasks import content_notice_send

    sent = enqueue_again(due, model=Notice, task=content_notice_send, now=now)
    if sent:
        logger.info("Sent %s content notices to the workers again.", sent)
    return sent


def waiting_deciders(content: Content, revision: Revision) -> dict[int, tuple[User, list[Target]]]:
    """Who the revision waits for, with the targets each may decide: the leads and approvers
    of each target not yet approved (at its node or above, at the approval level), except
    the author and whoever decided this revision already. As the review queue has it."""
    waiting = (
        Target.objects.filter(revision=revision, approval__isnull=True)
        .select_related("group")
        .order_by("group__code", "post")
    )
    decided = set(Decision.objects.filter(revision=revision).values_list("approver_id", flat=True))
    deciders: dict[int, tuple[User, list[Target]]] = {}
    by_group: dict[int, list[User]] = {}
    for target in waiting:
        if target.group_id not in by_group:
            by_group[target.group_id] = list(target_deciders(target, author=content.author))
        for user in by_group[target.group_id]:
            if user.pk in decided:
                continue
            deciders.setdefault(user.pk, (user, []))[1].append(target)
    return deciders


def _awaiting_mails(notice: Notice) -> list[EmailMessage]:
    content = notice.content
    if content.state != State.IN_REVIEW or content.submitted_revision_id != notice.revision_id:
        return []  # decided, withdrawn or revised since: nothing awaits them for this one
    messages = []
    for user, targets in waiting_deciders(content, notice.revision).values():
        with translation.override(_language(user)):
            subject = _("Content awaits your approval: %(title)s") % {"title": _title(content)}
            lines = [
                _greeting(user),
                "",
                _(
                    "%(author)s submitted “%(title)s” (revision %(number)s) for approval. It "
                    "is meant for %(targets)s and waits for a decision by you or another lead "
                    "or approver there."
                )
                % {
                    "author": _name(content.author),
                    "title": _title(content),
                    "number": notice.revision.number,
                    "targets": _targets_text(targets),
                },
                "",
                _("Review it: %(url)s") % {"url": content_url(content)},
                _("Everything awaiting you: %(url)s") % {"url": review_queue_url()},
                "",
                _footer(),
            ]
            messages.append(_message(user, subject, lines))
    return messages


def _decided_mails(notice: Notice) -> list[EmailMessage]:
    content, event = notice.content, notice.event
    author = content.author
    if event is None or not author.is_active or not author.email:
        return []
    with translation.override(_language(author)):
        title = _title(content)
        subjects = {
            State.APPROVED: _("Approved: %(title)s"),
            State.SCHEDULED: _("Approved and scheduled: %(title)s"),
            State.CHANGES_REQUESTED: _("Changes requested: %(title)s"),
            State.REJECTED: _("Rejected: %(title)s"),
        }
        subject = subjects[event.to_state] % {"title": title}
        lines = [_greeting(author), ""]
        if event.kind in AWAITING_EVENTS:
            leads = [
                redact(trust.get("lead_name", "")) for trust in event.data.get("trusted_by", [])
            ]
            lines.append(
                _("Your content “%(title)s” was approved on submission, by the trust of %(leads)s.")
                % {"title": title, "leads": ", ".join(leads) or "-"}
            )
        else:
            lines.append(
                _("%(approver)s decided your content “%(title)s”: %(decision)s.")
                % {
                    "approver": _name(event.actor) if event.actor else _("The portal"),
                    "title": title,
                    "decision": str(Event.Kind(event.kind).label),
                }
            )
        if event.to_state == State.SCHEDULED and content.send_at:
            local = timezone.localtime(content.send_at)
            lines.append(
                _("It will be released for sending at %(time)s.")
                % {"time": formats.date_format(local, "DATETIME_FORMAT")}
            )
        if event.to_state == State.CHANGES_REQUESTED:
            lines.append(_("Edit it and submit it again: every area approves the new revision."))
        if event.comment:
            lines.extend(["", _("Comment:"), redact(event.comment)])
        lines.extend(["", _("See it: %(url)s") % {"url": content_url(content)}, "", _footer()])
        return [_message(author, subject, lines)]


# --- Reminders (beat) -----------------------------------------------------------------------


def reminders_send(*, now: datetime | None = None, batch: int = REMINDER_BATCH) -> int:
    """Remind approvers of content in review for longer than CONTENT_REMIND_AFTER, once per
    interval of its wait: one mail per approver per round, listing what waits for them.
    Returns how many revisions were reminded of."""
    now = now or timezone.now()
    after = timedelta(seconds=settings.CONTENT_REMIND_AFTER)
    reminded_lately = Notice.objects.filter(
        revision_id=OuterRef("submitted_revision_id"),
        kind=Notice.Kind.REMINDER,
        created_at__gt=now - after,
    )
    due = (
        Content.objects.filter(state=State.IN_REVIEW, submitted_at__lte=now - after)
        .exclude(Exists(reminded_lately))
        .select_related("author", "submitted_revision")
        .order_by("submitted_at", "pk")
    )
    started = time.monotonic()
    reminded = 0
    last: tuple[datetime, int] | None = None
    while time.monotonic() - started < REMINDER_ROUND_SECONDS:
        page = due
        if last is not None:
            page = due.filter(Q(submitted_at__gt=last[0]) | Q(submitted_at=last[0], pk__gt=last[1]))
        with transaction.atomic():
            rows = list(page[:batch])
            if not rows:
                break
            last = (rows[-1].submitted_at, rows[-1].pk)
            claimed = [
                (notice, content)
                for content in rows
                if (notice := _reminder_claim(content, now=now, after=after)) is not None
            ]
            _reminder_mails(claimed, now=now)
        reminded += len(claimed)
        if len(rows) < batch:
            break
    if reminded:
        logger.info("Reminded approvers of %s content in review.", reminded)
    return reminded


def _reminder_claim(content: Content, *, now: datetime, after: timedelta) -> Notice | None:
    """The reminder of this step of the content's wait, if no other round wrote it (a second
    round's insert waits for the first's commit, then finds the row and skips)."""
    step = max(1, int((now - content.submitted_at) / after))
    try:
        with transaction.atomic():
            return Notice.objects.create(
                content=content, revision_id=content.submitted_revision_id,
                kind=Notice.Kind.REMINDER, step=step, queued_at=now, done_at=now,
            )  # fmt: skip
    except IntegrityError:
        return None


def _reminder_mails(claimed: Iterable[tuple[Notice, Content]], *, now: datetime) -> None:
    waiting_for: dict[int, tuple[User, list[Content]]] = {}
    mails_per_notice: dict[int, int] = defaultdict(int)
    for notice, content in claimed:
        for user, _targets in waiting_deciders(content, content.submitted_revision).values():
            waiting_for.setdefault(user.pk, (user, []))[1].append(content)
            mails_per_notice[notice.pk] += 1
    for user, contents in waiting_for.values():
        with translation.override(_language(user)):
            subject = ngettext(
                "Reminder: %(count)s content awaits your approval",
                "Reminder: %(count)s pieces of content await your approval",
                len(contents),
            ) % {"count": len(contents)}
            lines = [
                _greeting(user),
                "",
                _("These have waited for a decision for longer than %(wait)s:")
                % {"wait": timesince(now - timedelta(seconds=settings.CONTENT_REMIND_AFTER), now)},
                "",
            ]
            for content in contents:
                lines.append(
                    _("- “%(title)s” by %(author)s, waiting %(wait)s: %(url)s")
                    % {
                        "title": _title(content),
                        "author": _name(content.author),
                        "wait": timesince(content.submitted_at, now),
                        "url": content_url(content),
                    }
                )
            lines.extend(
                ["", _("Everything awaiting you: %(url)s") % {"url": review_queue_url()}, "",
                 _footer()]
            )  # fmt: skip
            outgoing_mail_queue(message=_message(user, subject, lines))
    for notice_id, count in mails_per_notice.items():
        Notice.objects.filter(pk=notice_id).update(mails=count)


# --- Pieces of a mail -----------------------------------------------------------------------


def portal_url(path: str) -> str:
    """An absolute address on the portal, for mails (PORTAL_URL: no request to ask)."""
    return settings.PORTAL_URL.rstrip("/") + "/" + path.lstrip("/")


def _path(names: Iterable[str], fallback: str, *args) -> str:
    for name in names:
        try:
            return reverse(name, args=args)
        except NoReverseMatch:
            continue
    return fallback


def content_url(content: Content) -> str:
    return portal_url(_path(("content:detail",), f"/content/{content.pk}/", content.pk))


def review_queue_path() -> str:
    return _path(("content:review", "content:review_queue"), "/content/review/")


def review_queue_url() -> str:
    return portal_url(review_queue_path())


def _language(user: User) -> str:
    codes = {code for code, _name in settings.LANGUAGES}
    return user.language if user.language in codes else settings.LANGUAGE_CODE


def _name(user: User | None) -> str:
    return redact(user.full_name or user.email) if user is not None else ""


def _title(content: Content) -> str:
    return redact(content.title)


def _greeting(user: User) -> str:
    return _("Hello %(name)s,") % {"name": _name(user)}


def _footer() -> str:
    return _(
        "You receive this mail because of your role on CadreConnect. Sign in to see the "
        "content: nothing in this mail needs an answer."
    )


def _targets_text(targets: list[Target]) -> str:
    names = []
    for target in targets[:TARGETS_NAMED]:
        name = redact(target.group.name)
        if target.post:
            name += f" ({target.get_post_display()})"
        names.append(name)
    more = len(targets) - TARGETS_NAMED
    if more > 0:
        names.append(ngettext("%(count)s more", "%(count)s more", more) % {"count": more})
    return ", ".join(names)


def _message(user: User, subject: str, lines: list[str]) -> EmailMessage:
    subject = " ".join(f"{settings.ACCOUNT_EMAIL_SUBJECT_PREFIX}{subject}".split())[:250]
    return EmailMessage(
        subject=subject, body="\n".join(lines) + "\n", from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
    )  # fmt: skip

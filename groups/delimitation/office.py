"""The delimitation pages' work: a mapping uploaded by the national office is kept in MEDIA
under its digest (so a worker reads the same bytes), its dry run shown, and its run sent to a
worker (groups.tasks.delimitation_apply_kept); the page follows the run through the engine's
ledger. Booths left for placement are listed with their members for the leads who place them,
and a lead whose node was retired is told at their next sign-in."""

from __future__ import annotations

import collections
import logging
import re
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from cadreconnect.exceptions import ApplicationError
from cadreconnect.queue import enqueue
from groups.delimitation import applying
from groups.delimitation.reading import file_digest
from groups.models import (
    BoothPlacement,
    Delimitation,
    DelimitationNotice,
    DelimitationStep,
    Group,
)

logger = logging.getLogger(__name__)

KEPT_DIRECTORY = "delimitations"
DIGEST = re.compile(r"[0-9a-f]{64}")


def _kept_path(digest: str) -> str:
    if not DIGEST.fullmatch(digest or ""):
        raise ApplicationError(_("No such mapping file."), code="no_such_mapping")
    return f"{KEPT_DIRECTORY}/{digest}.csv"


def delimitation_office_require(actor: User) -> None:
    """The national office's pages: TREE_CHANGE at the national node (403 for another role,
    404 for a lead of a state or below, who cannot see the national node)."""
    applying._require_national(actor)


def delimitation_upload_read(uploaded) -> bytes:
    """The uploaded file's bytes, bounded by GROUP_DELIMIT_MAX_BYTES (the reader checks the
    rest: encoding, NUL and control characters, the header, every row)."""
    limit = settings.GROUP_DELIMIT_MAX_BYTES
    if uploaded.size is not None and uploaded.size > limit:
        raise ApplicationError(
            _("The file is %(size)s bytes; a mapping may be at most %(limit)s bytes.")
            % {"size": f"{uploaded.size:,}", "limit": f"{limit:,}"},
            code="file_too_large",
        )
    data = uploaded.read(limit + 1)
    if len(data) > limit:
        raise ApplicationError(
            _("The file is larger than %(limit)s bytes, the limit for a mapping.")
            % {"limit": f"{limit:,}"},
            code="file_too_large",
        )
    return data


def delimitation_dry_run_kept(*, actor: User, data: bytes, file_name: str) -> applying.Outcome:
    """The dry run of an uploaded mapping (the engine checks the actor: TREE_CHANGE at the
    national node), and the file kept under its digest for the run, once it passed."""
    outcome = applying.delimitation_dry_run(actor=actor, data=data, file_name=file_name)
    path = _kept_path(file_digest(data))
    if not default_storage.exists(path):
        default_storage.save(path, ContentFile(data))
    return outcome


def delimitation_run_request(*, actor: User, digest: str, file_name: str) -> None:
    """Send the run of a kept mapping to a worker. QueueUnavailable when the broker cannot
    take it: nothing was started (the engine writes nothing until the worker runs it)."""
    from groups import tasks

    applying._require_national(actor)
    if not default_storage.exists(_kept_path(digest)):
        raise ApplicationError(
            _("This mapping file is no longer kept; upload it again."), code="no_such_mapping"
        )
    enqueue(tasks.delimitation_apply_kept, digest, file_name[:255], actor.pk)


def delimitation_run_kept(*, digest: str, file_name: str, actor_id: int) -> None:
    """The worker's run of a kept mapping. Safe to receive twice: a finished mapping changes
    nothing again, an unfinished one resumes from its ledger, and a run held by another
    process (the engine's claim) is left to it."""
    actor = User.objects.filter(pk=actor_id, is_active=True).first()
    if actor is None:
        logger.warning("Delimitation %s: its requester is gone; not applied", digest[:12])
        return
    with default_storage.open(_kept_path(digest), "rb") as kept:
        data = kept.read(settings.GROUP_DELIMIT_MAX_BYTES + 1)
    try:
        applying.delimitation_apply(actor=actor, data=data, file_name=file_name)
    except ApplicationError as error:
        # Busy: the holder applies it. A step refused: recorded as failed, the page says so.
        logger.warning("Delimitation %s not applied: %s", digest[:12], error.code)


@dataclass
class Progress:
    digest: str
    delimitation: Delimitation | None
    steps: list[DelimitationStep]

    @property
    def waiting(self) -> bool:
        return self.delimitation is None

    @property
    def running(self) -> bool:
        return self.delimitation is not None and self.delimitation.status == "running"


def delimitation_progress(*, actor: User, digest: str) -> Progress:
    """Where the run of a kept mapping is, from the engine's ledger (national office only)."""
    applying._require_national(actor)
    if not default_storage.exists(_kept_path(digest)):
        raise ApplicationError(_("No such mapping file."), code="no_such_mapping")
    delimitation = Delimitation.objects.filter(digest=digest).order_by("-created_at").first()
    steps = list(delimitation.steps.order_by("number")) if delimitation else []
    return Progress(digest=digest, delimitation=delimitation, steps=steps)


def delimitation_booths_waiting_with_members(*, user: User) -> list[tuple[BoothPlacement, int]]:
    """The booths the user may place, each with how many members wait in it."""
    from groups.delimitation import delimitation_booths_waiting

    placements = list(delimitation_booths_waiting(user=user)[:500])
    booths = Group.objects.filter(pk__in=[placement.booth_id for placement in placements])
    waiting: collections.Counter[int] = collections.Counter()
    for counter in applying.COUNT_RECEIVERS:  # one query each for all the booths
        waiting.update(counter(booths=booths))
    return [(placement, waiting[placement.booth_id]) for placement in placements]


def delimitation_waiting_count(*, user: User) -> int:
    from groups.delimitation import delimitation_booths_waiting

    return delimitation_booths_waiting(user=user).count()


def delimitation_notices_take(*, user: User) -> list[DelimitationNotice]:
    """The user's notices not yet shown, marked seen: each is shown once."""
    notices = list(
        DelimitationNotice.objects.filter(assignment__user=user, seen_at__isnull=True)
        .select_related("assignment")
        .order_by("created_at")
    )
    DelimitationNotice.objects.filter(pk__in=[notice.pk for notice in notices]).update(
        seen_at=timezone.now()
    )
    return notices

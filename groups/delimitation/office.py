"""The delimitation pages' work: a mapping uploaded by the national office is kept in MEDIA
under its digest (so a worker reads the same bytes), its dry run shown, and its run sent to a
worker (groups.tasks.delimitation_apply_kept); the page follows the run through the engine's
ledger. Booths left for placement are listed with their members for the leads who place them,
and a lead whose node was retired is told at their next sign-in."""

from __future__ import annotations

import collections
import logging
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as KombuOperationalError

from accounts.models import User
from cadreconnect.exceptions import ApplicationError
from cadreconnect.queue import RETRY_POLICY, QueueUnavailable, enqueue, enqueue_or_log
from groups import tree
from groups.delimitation import applying
from groups.delimitation.reading import MappingRefused, file_digest
from groups.models import (
    BoothPlacement,
    Delimitation,
    DelimitationCheck,
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


# --- The check: the dry run, by a worker --------------------------------------------------

# A check or a run asked for this long ago without a worker holding the delimitation claim
# (a dry run and a run hold it from start to end) has lost its worker or its message: the
# page offers to send it again. The dry run writes nothing and the run resumes from its
# ledger, so sending one twice is safe (the claim lets one through at a time).
STALLED_SECONDS = 60
# A check that finds the claim held (another check, a run) is sent again this much later.
BUSY_RETRY_SECONDS = 10
# How many codes that change the page shows; the full list is a CSV download.
CODES_SHOWN = 200

Status = DelimitationCheck.Status
Run = DelimitationCheck.Run


def delimitation_check_request(*, actor: User, data: bytes, file_name: str) -> DelimitationCheck:
    """Keep the uploaded mapping under its digest and send its dry run to a worker
    (groups.tasks.delimitation_check_kept). QueueUnavailable when the broker cannot take
    it: the check and a file kept for it alone are removed again, nothing is left."""
    from groups import tasks

    applying._require_national(actor)
    digest = file_digest(data)
    path = _kept_path(digest)
    kept_now = not default_storage.exists(path)
    if kept_now:
        default_storage.save(path, ContentFile(data))
    check = DelimitationCheck.objects.create(
        digest=digest, file_name=file_name[:255], requested_by=actor, queued_at=timezone.now()
    )
    try:
        enqueue(tasks.delimitation_check_kept, check.pk)
    except QueueUnavailable:
        check.delete()
        if kept_now and not DelimitationCheck.objects.filter(digest=digest).exists():
            default_storage.delete(path)
        raise
    return check


def delimitation_check_get(*, actor: User, pk: int) -> DelimitationCheck:
    """A check, for the national office only (403 / 404 as the office's pages); Http404 for
    one that does not exist."""
    applying._require_national(actor)
    check = DelimitationCheck.objects.filter(pk=pk).first()
    if check is None:
        raise Http404(_("No such mapping file."))
    return check


def _claim_held() -> bool:
    return tree.session_claim_held(applying.CLAIM_NAMESPACE)


def _silent_since(moment, *, seconds: float = STALLED_SECONDS) -> bool:
    return moment is None or moment < timezone.now() - timedelta(seconds=seconds)


def delimitation_check_stalled(check: DelimitationCheck) -> bool:
    """A check waiting or running with no worker on it for a minute: its message was lost or
    its worker died (no process holds the delimitation claim)."""
    if check.status == Status.WAITING:
        return _silent_since(check.queued_at)
    if check.status == Status.CHECKING:
        from groups.tasks import DELIMITATION_TIME_LIMIT

        # Past its time limit a check cannot be running, whoever holds the claim (a run).
        if _silent_since(check.started_at, seconds=DELIMITATION_TIME_LIMIT):
            return True
        return _silent_since(check.started_at) and not _claim_held()
    return False


def delimitation_check_run(*, check_id: int) -> None:
    """The worker's dry run of a kept mapping. Safe to receive twice: it runs a check that
    is waiting only, claimed by a token, and a dry run writes nothing but its answer here."""
    token = uuid.uuid4().hex
    claimed = DelimitationCheck.objects.filter(pk=check_id, status=Status.WAITING).update(
        status=Status.CHECKING, token=token, started_at=timezone.now()
    )
    if not claimed:
        return  # done, or being checked by the worker that claimed it
    check = DelimitationCheck.objects.select_related("requested_by").get(pk=check_id)

    def answer(status: str, **fields) -> None:
        DelimitationCheck.objects.filter(pk=check_id, token=token).update(
            status=status, token="", finished_at=timezone.now(), **fields
        )

    actor = check.requested_by
    if actor is None or not actor.is_active:
        answer(Status.FAILED, error=_("The person who uploaded the mapping has no account now."))
        return
    try:
        data = _kept_read(check.digest)
        outcome = applying.delimitation_dry_run(actor=actor, data=data, file_name=check.file_name)
    except MappingRefused as refused:
        answer(Status.REFUSED, problems=[list(problem) for problem in refused.problems])
    except ApplicationError as error:
        if error.code == "delimitation_busy":
            # Another check or a run holds the claim: this one waits its turn.
            DelimitationCheck.objects.filter(pk=check_id, token=token).update(
                status=Status.WAITING, token="", started_at=None, queued_at=timezone.now()
            )
            _send_later(check_id)
            return
        answer(Status.FAILED, error=error.message)  # the role gone, the file gone
    except Exception as error:
        answer(Status.FAILED, error=_unexpected(error))
        raise
    else:
        answer(
            Status.PASSED,
            report={
                "steps": outcome.steps,
                "already_applied": outcome.already_applied,
                "resumed": outcome.resumed,
                "failure": outcome.failure,
            },
        )


def _send_later(check_id: int) -> None:
    """The check's message again in BUSY_RETRY_SECONDS; when the broker cannot take it the
    check waits, and the page offers to send it again once it is stalled."""
    from groups import tasks

    try:
        tasks.delimitation_check_kept.apply_async(
            (check_id,), countdown=BUSY_RETRY_SECONDS, retry=True, retry_policy=RETRY_POLICY
        )
    except (KombuOperationalError, OSError) as error:
        logger.warning("Delimitation check %s not sent again: %s", check_id, type(error).__name__)


def _unexpected(error: Exception) -> str:
    return _("The worker stopped on an unexpected error (%(error)s); nothing was changed.") % {
        "error": type(error).__name__
    }


def _kept_read(digest: str) -> bytes:
    path = _kept_path(digest)
    if not default_storage.exists(path):
        raise ApplicationError(
            _("This mapping file is no longer kept; upload it again."), code="no_such_mapping"
        )
    with default_storage.open(path, "rb") as kept:
        return kept.read(settings.GROUP_DELIMIT_MAX_BYTES + 1)


def delimitation_check_again(*, actor: User, check: DelimitationCheck) -> DelimitationCheck:
    """Check a mapping again: one answered (the tree may have changed since) or one stalled
    (its worker died, its message was lost). Refused while a worker is on it."""
    from groups import tasks

    applying._require_national(actor)
    check.refresh_from_db()
    if check.status in (Status.WAITING, Status.CHECKING) and not delimitation_check_stalled(check):
        raise ApplicationError(_("This mapping is being checked."), code="check_running")
    fields = {
        "status": Status.WAITING, "token": "", "queued_at": timezone.now(), "started_at": None,
        "finished_at": None, "report": {}, "problems": [], "error": "",
    }  # fmt: skip
    before = {name: getattr(check, name) for name in fields}
    if not DelimitationCheck.objects.filter(
        pk=check.pk, status=check.status, token=check.token
    ).update(**fields):
        raise ApplicationError(_("This mapping is being checked."), code="check_running")
    try:
        enqueue(tasks.delimitation_check_kept, check.pk)
    except QueueUnavailable:
        DelimitationCheck.objects.filter(
            pk=check.pk, status=Status.WAITING, queued_at=fields["queued_at"]
        ).update(**before)
        raise
    check.refresh_from_db()
    return check


def delimitation_checks_resume() -> int:
    """Beat's round (GROUP_DELIMIT_CHECK_RESUME_SECONDS): a check stalled (its message lost,
    its worker dead: delimitation_check_stalled) is set waiting and sent again, once per
    round even with two beats (a conditional update). A dry run writes nothing, so sending
    it again is safe. Returns how many were sent."""
    from groups import tasks

    recent = timezone.now() - timedelta(days=1)  # older ones wait for "Check again"
    sent = 0
    candidates = DelimitationCheck.objects.filter(
        status__in=[Status.WAITING, Status.CHECKING], created_at__gte=recent
    ).order_by("pk")[:50]
    for check in candidates:
        if not delimitation_check_stalled(check):
            continue
        if not DelimitationCheck.objects.filter(
            pk=check.pk, status=check.status, queued_at=check.queued_at, token=check.token
        ).update(status=Status.WAITING, token="", started_at=None, queued_at=timezone.now()):
            continue
        if enqueue_or_log(tasks.delimitation_check_kept, check.pk) is None:
            break  # the broker is down: the next round tries again
        logger.info("Delimitation check %s: stalled, its message sent again.", check.pk)
        sent += 1
    return sent


def delimitation_report_bounded(report: dict, *, limit: int | None = None) -> list[dict]:
    """A report's steps with at most `limit` (CODES_SHOWN) codes that change in all (a
    booth-level order lists a million): each state says how many it leaves out."""
    budget = CODES_SHOWN if limit is None else limit
    steps = []
    for step in report.get("steps", []):
        states = []
        for state in step.get("by_state", []):
            codes = state.get("codes", [])[:budget]
            booth_codes = state.get("booth_codes", [])[: budget - len(codes)]
            budget -= len(codes) + len(booth_codes)
            hidden = len(state.get("codes", [])) + len(state.get("booth_codes", []))
            hidden -= len(codes) + len(booth_codes)
            states.append(
                {**state, "codes": codes, "booth_codes": booth_codes, "codes_hidden": hidden}
            )
        steps.append({**step, "by_state": states})
    return steps


def delimitation_report_codes(report: dict) -> Iterator[tuple]:
    """Every code a report changes: (step, state, code now, code after, booths following)."""
    for step in report.get("steps", []):
        for state in step.get("by_state", []):
            for old, new in state.get("codes", []):
                yield step.get("step"), state.get("code"), old, new, ""
            for old, new, count in state.get("booth_codes", []):
                yield step.get("step"), state.get("code"), old, new, count


# --- The run ------------------------------------------------------------------------------


def delimitation_run_request(*, actor: User, check: DelimitationCheck) -> None:
    """Send the run of a checked mapping to a worker (groups.tasks.delimitation_apply_kept);
    its answer is recorded on the check. QueueUnavailable when the broker cannot take it:
    nothing was started (the engine writes nothing until the worker runs it)."""
    from groups import tasks

    applying._require_national(actor)
    check.refresh_from_db()
    if check.status != Status.PASSED:
        raise ApplicationError(
            _("Check the mapping first: only a mapping whose dry run passed is applied."),
            code="mapping_not_checked",
        )
    if not default_storage.exists(_kept_path(check.digest)):
        raise ApplicationError(
            _("This mapping file is no longer kept; upload it again."), code="no_such_mapping"
        )
    if check.run in (Run.QUEUED, Run.STARTED) and not _run_stalled(check):
        raise ApplicationError(
            _("This mapping is being applied already."), code="delimitation_requested"
        )
    fields = {"run": Run.QUEUED, "run_requested_at": timezone.now(), "run_error": "",
              "run_problems": []}  # fmt: skip
    before = {name: getattr(check, name) for name in fields}
    if not DelimitationCheck.objects.filter(pk=check.pk, run=check.run).update(**fields):
        raise ApplicationError(
            _("This mapping is being applied already."), code="delimitation_requested"
        )
    try:
        enqueue(
            tasks.delimitation_apply_kept,
            check.digest,
            check.file_name,
            actor.pk,
            check_id=check.pk,
        )
    except QueueUnavailable:
        DelimitationCheck.objects.filter(
            pk=check.pk, run=Run.QUEUED, run_requested_at=fields["run_requested_at"]
        ).update(**before)
        raise


def _run_stalled(check: DelimitationCheck) -> bool:
    return _silent_since(check.run_requested_at) and not _claim_held()


def delimitation_run_kept(
    *, digest: str, file_name: str, actor_id: int, check_id: int | None = None
) -> None:
    """The worker's run of a kept mapping. Safe to receive twice: a finished mapping changes
    nothing again, an unfinished one resumes from its ledger, and a run held by another
    process (the engine's claim) is left to it. A refusal (the tree changed since the dry
    run: nothing written) or a failure is recorded on the check, where the page reads it."""
    checks = DelimitationCheck.objects.filter(pk=check_id)
    if check_id is not None and not checks.filter(run__in=[Run.QUEUED, Run.STARTED]).update(
        run=Run.STARTED
    ):
        return  # answered already: a second delivery
    actor = User.objects.filter(pk=actor_id, is_active=True).first()
    if actor is None:
        logger.warning("Delimitation %s: its requester is gone; not applied", digest[:12])
        checks.update(run=Run.FAILED, run_error=_("The person who asked for the run has no "
                                                  "account now; nothing was changed."))  # fmt: skip
        return
    try:
        data = _kept_read(digest)
        applying.delimitation_apply(actor=actor, data=data, file_name=file_name)
    except MappingRefused as refused:
        logger.warning("Delimitation %s refused at its run", digest[:12])
        checks.update(
            run=Run.REFUSED,
            run_error=refused.message,
            run_problems=[list(problem) for problem in refused.problems],
        )
    except ApplicationError as error:
        # Busy (the holder applies it), another mapping unfinished, a step refused (the
        # engine's ledger says which; its steps before are applied).
        logger.warning("Delimitation %s not applied: %s", digest[:12], error.code)
        checks.update(run=Run.FAILED, run_error=error.message)
    except Exception as error:
        checks.update(run=Run.FAILED, run_error=_unexpected(error))
        raise
    else:
        checks.update(run=Run.DONE)


@dataclass
class Progress:
    digest: str
    delimitation: Delimitation | None
    steps: list[DelimitationStep]
    check: DelimitationCheck | None
    running: bool = False  # a worker holds the claim on this delimitation's run
    waiting: bool = False  # asked for, no worker on it yet
    stalled: bool = False  # asked for, and no worker on it for a minute

    @property
    def refusal(self) -> DelimitationCheck | None:
        """The check whose run was refused or failed, when the ledger does not say it."""
        check = self.check
        if check is None or check.run not in (Run.REFUSED, Run.FAILED):
            return None
        if self.delimitation is not None and self.delimitation.error == check.run_error:
            return None
        return check

    @property
    def may_apply(self) -> bool:
        """Offer "Apply" again: a run stopped by a problem, refused, or whose worker is gone."""
        if self.running or (self.waiting and not self.stalled) or self.check is None:
            return False
        return self.delimitation is None or self.delimitation.status != "done"

    @property
    def refresh(self) -> bool:
        return (self.waiting and not self.stalled) or self.running


def delimitation_progress(*, actor: User, digest: str) -> Progress:
    """Where the run of a kept mapping is, from the engine's ledger and the check it was
    asked for from (national office only)."""
    applying._require_national(actor)
    _kept_path(digest)  # a forged digest: no such mapping
    checks = DelimitationCheck.objects.filter(digest=digest)
    check = (
        checks.exclude(run=Run.NONE).order_by("-run_requested_at").first()
        or checks.filter(status=Status.PASSED).first()
    )
    delimitation = Delimitation.objects.filter(digest=digest).order_by("-created_at").first()
    if check is None and delimitation is None:
        raise ApplicationError(_("No such mapping file."), code="no_such_mapping")
    steps = list(delimitation.steps.order_by("number")) if delimitation else []
    budget = CODES_SHOWN
    for step in steps:
        step.report = delimitation_report_bounded({"steps": [step.report]}, limit=budget)[0]
        for state in step.report["by_state"]:
            budget -= len(state["codes"]) + len(state["booth_codes"])
    asked = check is not None and check.run in (Run.QUEUED, Run.STARTED)
    engine_running = delimitation is not None and delimitation.status == "running"
    # A run killed mid-way leaves its delimitation "running": the claim tells a live one.
    held = _claim_held() if asked or engine_running else False
    running = held and engine_running
    return Progress(
        digest=digest,
        delimitation=delimitation,
        steps=steps,
        check=check,
        running=running,
        waiting=asked and not running,
        stalled=asked and not held and _silent_since(check.run_requested_at),
    )


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

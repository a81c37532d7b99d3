"""Every change to the register: validation, scope check, audit event."""

from __future__ import annotations

import contextlib
import datetime
import logging
import uuid
from pathlib import Path
from typing import Any

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import Error as DatabaseError
from django.db import IntegrityError, connections, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone, translation
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from accounts.models import User
from cadreconnect import permissions
from cadreconnect.exceptions import ApplicationError
from cadreconnect.permissions import Action
from cadreconnect.privacy import mask_epic, mask_phone, redact
from cadreconnect.queue import QueueUnavailable, enqueue, enqueue_or_log
from cadreconnect.services import audit_record
from groups import selectors as group_selectors
from groups.models import Group, Kind
from groups.services import group_figures_stale
from members import selectors
from members.models import Consent, Member, MemberImport, Membership, Post
from members.validation import (
    birth_year_check,
    epic_normalise,
    joined_on_check,
    phone_display,
    phone_normalise,
    refuse_control_characters,
)

logger = logging.getLogger(__name__)

EDITABLE_FIELDS = [
    "full_name", "name_local", "phone", "whatsapp_number", "email", "gender", "birth_year",
    "epic", "booth", "status", "joined_on", "recruited_by", "notes",
]  # fmt: skip


def _booth_location(booth: Group) -> tuple[int, Group | None]:
    """The member's denormalised columns for a home booth: its tree and its state."""
    lineage = group_selectors.group_lineage(booth)
    state = lineage[0] if lineage else None
    return booth.tree_id, state


def _check_booth(actor: User, booth: Group) -> None:
    if booth.kind != Kind.BOOTH:
        raise ApplicationError(
            _("%(booth)s is not a polling booth; choose the member's booth.")
            % {"booth": booth.name},
            code="not_a_booth",
        )
    permissions.require(actor, Action.MEMBER_WRITE, booth)
    if not booth.is_active:
        raise ApplicationError(
            _("%(booth)s is deactivated; choose an active booth.") % {"booth": booth.name},
            code="booth_inactive",
        )


# Free text of a member that the pages, the admin and the API all pass through the services.
TEXT_FIELDS = ["full_name", "name_local", "email", "notes"]


def _clean_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """The one check of a member's fields, whoever writes them (pages, admin, API): the form
    says the same, field by field; this stops anything that bypassed it."""
    cleaned = dict(fields)
    try:
        for name in TEXT_FIELDS:
            refuse_control_characters(fields.get(name) or "")
        cleaned["phone"] = phone_normalise(fields.get("phone", ""))
        if fields.get("whatsapp_number"):
            cleaned["whatsapp_number"] = phone_normalise(fields["whatsapp_number"])
            if cleaned["whatsapp_number"] == cleaned["phone"]:
                cleaned["whatsapp_number"] = ""
        cleaned["epic"] = epic_normalise(fields.get("epic", ""))
        cleaned["birth_year"] = birth_year_check(fields.get("birth_year"))
        if fields.get("joined_on") is not None:
            cleaned["joined_on"] = joined_on_check(fields["joined_on"])
    except ValidationError as error:
        raise ApplicationError(
            " ".join(error.messages), code=getattr(error, "code", None) or "invalid"
        ) from error
    cleaned["full_name"] = (fields.get("full_name") or "").strip()
    if not cleaned["full_name"]:
        raise ApplicationError(_("Enter the member's full name."), code="name_required")
    return cleaned


def member_create(*, actor: User, **fields: Any) -> Member:
    """Register a member in a booth of the actor's area. A repeated voter id is allowed (the
    Election Commission has issued duplicates) and shows on the duplicates screen."""
    cleaned = _clean_fields(fields)
    booth: Group = cleaned["booth"]
    _check_booth(actor, booth)
    member = Member(**{key: value for key, value in cleaned.items() if key in EDITABLE_FIELDS})
    member.tree_id, member.state = _booth_location(booth)
    _validate(member)
    with transaction.atomic():
        _save_unique_phone(member)
        audit_record(actor=actor, action="member.create", target=member,
                     data={"booth": booth.code})  # fmt: skip
        group_figures_stale(member.tree_id)
    return member


def member_update(*, actor: User, member: Member, **fields: Any) -> Member:
    permissions.require(actor, Action.MEMBER_WRITE, member.booth)
    cleaned = _clean_fields({**{name: getattr(member, name) for name in EDITABLE_FIELDS}, **fields})
    if cleaned["booth"].pk != member.booth_id:
        _check_booth(actor, cleaned["booth"])
    before = {name: _audited(name, getattr(member, name)) for name in EDITABLE_FIELDS}
    full = {name: _plain(getattr(member, name)) for name in EDITABLE_FIELDS}
    tree_before = member.tree_id
    for name in EDITABLE_FIELDS:
        setattr(member, name, cleaned[name])
    if member.recruited_by_id == member.pk:
        raise ApplicationError(
            _("A member cannot have recruited themselves."), code="recruited_self"
        )
    member.tree_id, member.state = _booth_location(member.booth)
    _validate(member)
    after = {name: _audited(name, getattr(member, name)) for name in EDITABLE_FIELDS}
    # Compared in full (a changed phone with the same masked form is still a change).
    changed = [name for name in EDITABLE_FIELDS if _plain(getattr(member, name)) != full[name]]
    changes = {name: [before[name], after[name]] for name in changed}
    if not changes:
        return member
    with transaction.atomic():
        _save_unique_phone(member)
        audit_record(actor=actor, action="member.update", target=member, data=changes)
        if "booth" in changes or "status" in changes:
            group_figures_stale(tree_before, member.tree_id)
    return member


# How an audit row keeps a member's contact fields: never in full (issue 9), and free text
# with any phone or voter id in it masked.
AUDIT_MASKS = {"phone": mask_phone, "whatsapp_number": mask_phone, "epic": mask_epic,
               "notes": redact}  # fmt: skip


def _audited(name: str, value: Any) -> Any:
    value = _plain(value)
    mask = AUDIT_MASKS.get(name)
    return mask(value) if mask and value else value


def _plain(value: Any) -> Any:
    if isinstance(value, Group | Member):
        return value.pk
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _validate(member: Member) -> None:
    try:
        member.full_clean(exclude=["phone", "booth", "tree_id", "state", "recruited_by"])
    except ValidationError as error:
        parts = [
            _("%(field)s: %(problems)s")
            % {"field": _field_label(field), "problems": " ".join(messages)}
            for field, messages in error.message_dict.items()
        ]
        raise ApplicationError(
            "; ".join(parts), code="invalid", extra=error.message_dict
        ) from error


def _field_label(name: str) -> str:
    try:
        return str(Member._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:  # a non-field error (NON_FIELD_ERRORS)
        return name.replace("_", " ")


def _save_unique_phone(member: Member) -> None:
    try:
        with transaction.atomic():
            member.save()
    except IntegrityError as error:
        if Member.objects.filter(phone=member.phone).exclude(pk=member.pk).exists():
            raise ApplicationError(
                _("The phone number %(phone)s is already registered to another member.")
                % {"phone": phone_display(member.phone)},
                code="phone_taken",
            ) from error
        raise


def member_reveal(*, actor: User, member: Member, via: str) -> None:
    """Record that the actor saw the member's full phone and voter id (the detail page's
    "show", the edit form). The audit row holds no number, only who saw whose."""
    permissions.require(actor, Action.CONTACT_SEE, member.booth)
    audit_record(actor=actor, action="member.reveal", target=member, data={"via": via})


def member_export_record(
    *, actor: User, filters: selectors.MemberFilters, file_format: str, rows: int, complete: bool
) -> None:
    """Audit an export once its rows are written: who, with which filters, how many rows, and
    whether the download finished. A phone or voter id searched for is kept masked."""
    audit_record(
        actor=actor, action="member.export", target=None,
        data={
            "format": file_format, "rows": rows, "complete": complete,
            "filters": {
                "query": _masked_query(filters.query), "status": filters.status,
                "verified": filters.verified,
                "group": filters.group.code if filters.group is not None else "",
                "post": filters.post, "tag": filters.tag.name if filters.tag is not None else "",
            },
        },
    )  # fmt: skip


def _masked_query(query: str) -> str:
    """A search as the audit keeps it: a phone or voter id (as the list reads the query)
    masked, any number in other text too."""
    with contextlib.suppress(ValidationError):
        if sum(character.isdigit() for character in query) >= 7:
            return mask_phone(phone_normalise(query))
    with contextlib.suppress(ValidationError):
        if epic := epic_normalise(query):
            return mask_epic(epic)
    return redact(query)


def consent_grant(
    *, actor: User | None, member: Member, purpose: str, source: str, notice_version: str
) -> Consent:
    """Record consent for a purpose; a live consent for it stays as it is. `actor` None is the
    member themselves (the member app) or the system."""
    if actor is not None:
        permissions.require(actor, Action.MEMBER_WRITE, member.booth)
    if purpose not in Consent.Purpose.values:
        raise ApplicationError(
            _("Unknown purpose %(purpose)s.") % {"purpose": str(purpose)[:32]},
            code="unknown_purpose",
        )
    if source not in Consent.Source.values:
        raise ApplicationError(
            _("Unknown source %(source)s.") % {"source": str(source)[:32]}, code="unknown_source"
        )
    if not notice_version.strip():
        raise ApplicationError(
            _("Say which version of the notice the member agreed to."), code="notice_required"
        )
    with transaction.atomic():
        live = (
            Consent.objects.select_for_update()
            .filter(member=member, purpose=purpose, withdrawn_at__isnull=True)
            .first()
        )
        if live is not None:
            return live
        consent = Consent.objects.create(
            member=member, purpose=purpose, source=source,
            notice_version=notice_version.strip()[:32], recorded_by=actor,
        )  # fmt: skip
        audit_record(
            actor=actor, action="consent.grant", target=member,
            data={"purpose": purpose, "source": source, "notice": notice_version},
        )  # fmt: skip
    return consent


def consent_withdraw(*, actor: User | None, member: Member, purpose: str) -> int:
    """Withdraw the live consent for a purpose; from now on the member is not messaged on it."""
    if actor is not None:
        permissions.require(actor, Action.MEMBER_WRITE, member.booth)
    with transaction.atomic():
        withdrawn = Consent.objects.filter(
            member=member, purpose=purpose, withdrawn_at__isnull=True
        ).update(withdrawn_at=timezone.now())
        if withdrawn:
            audit_record(actor=actor, action="consent.withdraw", target=member,
                         data={"purpose": purpose})  # fmt: skip
    return withdrawn


def membership_add(*, actor: User | None, member: Member, group: Group, role: str) -> Membership:
    if actor is not None:
        permissions.require(actor, Action.MEMBER_WRITE, member.booth)
        permissions.require(actor, Action.MEMBER_WRITE, group)
    if role not in Membership.Role.values:
        raise ApplicationError(
            _("Unknown role %(role)s.") % {"role": str(role)[:32]}, code="unknown_role"
        )
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(
            member=member, group=group, defaults={"role": role}
        )
        if not created and membership.role != role:
            Membership.objects.filter(pk=membership.pk).update(role=role)
            membership.role = role
        audit_record(actor=actor, action="membership.add", target=member,
                     data={"group": group.code, "role": role})  # fmt: skip
    return membership


def membership_remove(*, actor: User | None, membership: Membership) -> None:
    """Take a member out of a group node, with the same checks as adding them."""
    if actor is not None:
        permissions.require(actor, Action.MEMBER_WRITE, membership.member.booth)
        permissions.require(actor, Action.MEMBER_WRITE, membership.group)
    with transaction.atomic():
        deleted, _rows = Membership.objects.filter(pk=membership.pk).delete()
        if deleted:
            audit_record(
                actor=actor, action="membership.remove", target=membership.member,
                data={"group": membership.group.code, "role": membership.role},
            )  # fmt: skip


def post_assign(
    *, actor: User | None, member: Member, group: Group, office: str,
    starts_on: datetime.date | None = None, title: str = "",
) -> Post:  # fmt: skip
    if actor is not None:
        permissions.require(actor, Action.MEMBER_WRITE, member.booth)
        permissions.require(actor, Action.MEMBER_WRITE, group)
    if office not in Post.Office.values:
        raise ApplicationError(
            _("Unknown office %(office)s.") % {"office": str(office)[:32]}, code="unknown_office"
        )
    with transaction.atomic():
        post = Post.objects.create(
            member=member, group=group, office=office, title=title[:100],
            starts_on=starts_on or timezone.localdate(),
        )  # fmt: skip
        audit_record(actor=actor, action="post.assign", target=member,
                     data={"group": group.code, "office": office})  # fmt: skip
    return post


def post_end(*, actor: User | None, post: Post, ends_on: datetime.date | None = None) -> Post:
    """End a term (a handover): the post stays in the member's history."""
    if actor is not None:
        permissions.require(actor, Action.MEMBER_WRITE, post.member.booth)
    ends_on = ends_on or timezone.localdate()
    if ends_on < post.starts_on:
        raise ApplicationError(
            _("A term cannot end before it starts."), code="term_ends_before_start"
        )
    with transaction.atomic():
        Post.objects.filter(pk=post.pk).update(ends_on=ends_on)
        post.ends_on = ends_on
        audit_record(actor=actor, action="post.end", target=post.member,
                     data={"post": post.pk, "ends_on": ends_on.isoformat()})  # fmt: skip
    return post


# --- Imports --------------------------------------------------------------------------------


def _require_own_import(actor: User, member_import: MemberImport) -> None:
    """An import is its importer's (and a superuser's): to anyone else it does not exist."""
    permissions.require_somewhere(actor, Action.MEMBER_IMPORT)
    if not actor.is_superuser and member_import.created_by_id != actor.pk:
        raise permissions.OutsideArea("No such import.")


def imports_overseen_by(actor: User) -> bool:
    """Does the user see and cancel everyone's imports (a lead at the national node)?"""
    national = group_selectors.national_get()
    if national is None:
        return bool(actor.is_active and actor.is_superuser)
    return permissions.user_may(actor, Action.IMPORT_OVERSEE, national)


def member_import_create(*, actor: User, uploaded) -> MemberImport:
    """Keep an uploaded member list after checking it is a spreadsheet of allowed size, and
    queue the reading of its first rows. Here (the web request) the file is only stored and
    sniffed (its first bytes, a zip's directory); the worker reads it, within the limits."""
    from django.conf import settings

    from members import importing
    from members.tasks import member_import_read

    permissions.require_somewhere(actor, Action.MEMBER_IMPORT)
    limit = settings.MEMBER_IMPORT_MAX_BYTES
    if uploaded.size > limit:
        raise ApplicationError(
            _("The file is %(size)s MB; the limit is %(limit)s MB. Split it into smaller files.")
            % {"size": f"{uploaded.size / 1_048_576:.1f}", "limit": f"{limit / 1_048_576:.0f}"},
            code="file_too_large",
        )
    member_import = MemberImport(
        created_by=actor, original_name=uploaded.name[:255], language=get_language() or "",
        status=MemberImport.Status.READING,
    )  # fmt: skip
    member_import.file.save(f"{timezone.now():%Y%m%d-%H%M%S}-upload", uploaded, save=False)
    path = Path(member_import.file.path)
    try:
        member_import.file_kind = importing.sniff_kind(path)
    except ApplicationError:
        path.unlink(missing_ok=True)
        raise
    member_import.queued_at = timezone.now()
    with transaction.atomic():
        member_import.save()
        audit_record(actor=actor, action="member_import.upload", target=member_import,
                     data={"file": member_import.original_name})  # fmt: skip
    # When the broker cannot take the message, the file is kept and beat's resume round
    # sends it again: `queue_delayed` tells the page to say so.
    member_import.queue_delayed = enqueue_or_log(member_import_read, member_import.pk) is None
    return member_import


def member_import_read_file(*, import_id: int) -> None:
    """The worker's first look at an upload: its header and first rows for the column page,
    read within the limits. A file over a limit (or not a member list) is refused here, with
    the message shown on the column page, and deleted."""
    from members import importing

    member_import = MemberImport.objects.filter(pk=import_id).first()
    if member_import is None or member_import.status != MemberImport.Status.READING:
        return  # done already (a redelivered message)
    with translation.override(member_import.language or None):
        path = Path(member_import.file.path)
        try:
            headers, sample = importing.file_headers(path, member_import.file_kind)
        except ApplicationError as error:
            path.unlink(missing_ok=True)
            with transaction.atomic():
                MemberImport.objects.filter(pk=import_id).update(
                    status=MemberImport.Status.FAILED, error=error.message,
                    error_code=error.code, finished_at=timezone.now(),
                )  # fmt: skip
                audit_record(actor=member_import.created_by, action="member_import.refuse",
                             target=member_import, data={"code": error.code})  # fmt: skip
            return
    MemberImport.objects.filter(pk=import_id, status=MemberImport.Status.READING).update(
        status=MemberImport.Status.UPLOADED, headers=headers, sample=sample,
        mapping=importing.guess_mapping(headers),
    )  # fmt: skip


def member_import_configure(
    *, actor: User, member_import: MemberImport, mapping: dict[str, int], policy: str,
    notice_version: str, default_booth: Group | None = None,
) -> MemberImport:  # fmt: skip
    """Set the columns, the policy for members already registered and the booth for the
    whole file (one of the importer's area). Whatever the form sent is checked again here."""
    from members import importing

    _require_own_import(actor, member_import)
    if member_import.is_running:
        raise ApplicationError(_("This import is running; wait until it has finished."),
                               code="import_running")  # fmt: skip
    if member_import.batches.exists():
        raise ApplicationError(
            _("Part of this file is already imported: run the import again to finish it."),
            code="import_partly_written",
        )
    if member_import.status == MemberImport.Status.READING or not member_import.headers:
        raise ApplicationError(_("The file has not been read yet."), code="import_not_read")
    width = len(member_import.headers)
    if any(
        target not in importing.TARGETS or not isinstance(index, int) or not 0 <= index < width
        for target, index in mapping.items()
    ):
        raise ApplicationError(_("Choose the columns from the list."), code="mapping_invalid")
    if policy not in MemberImport.Policy.values:
        raise ApplicationError(_("Choose what happens to members already registered."),
                               code="policy_invalid")  # fmt: skip
    if default_booth is not None:
        if default_booth.kind != Kind.BOOTH or not default_booth.is_active:
            raise ApplicationError(
                _("%(name)s is not an active polling booth.") % {"name": default_booth.name},
                code="booth_invalid",
            )
        permissions.require(actor, Action.MEMBER_IMPORT, default_booth)
    missing = importing.missing_targets(mapping, default_booth=default_booth is not None)
    if missing:
        raise ApplicationError(
            _("Choose a column for: %(fields)s.")
            % {"fields": ", ".join(importing.column_label(target) for target in missing)},
            code="column_missing",
        )
    member_import.mapping = mapping
    member_import.policy = policy
    member_import.notice_version = notice_version.strip()[:32]
    member_import.default_booth = default_booth
    member_import.checked_at = None  # the check was of other columns
    member_import.save(
        update_fields=["mapping", "policy", "notice_version", "default_booth", "checked_at"]
    )
    return member_import


def member_import_start(*, actor: User, member_import: MemberImport, dry_run: bool) -> MemberImport:
    """Queue the check (dry run) or the import itself. The claim is a conditional UPDATE, so
    a double click starts one run, and the message is sent inside its transaction: when the
    broker cannot take it, nothing is marked and the user is told. The import runs after a
    check of the same columns that found rows to import, and again after a run that failed
    or was cancelled part-way, which it finishes (the batches written stay, and so do their
    counts)."""
    from members.tasks import member_import_run

    _require_own_import(actor, member_import)
    member_import.refresh_from_db()
    written = member_import.batches.exists()
    if dry_run:
        if written:
            raise ApplicationError(
                _("Part of this file is already imported: run the import again to finish it."),
                code="import_partly_written",
            )
        claim = MemberImport.objects.filter(
            pk=member_import.pk,
            status__in=[MemberImport.Status.UPLOADED, MemberImport.Status.CHECKED,
                        MemberImport.Status.FAILED],
        ).exclude(headers=[])  # fmt: skip
        refused = ApplicationError(_("This import is already running."), code="import_running")
    else:
        if member_import.status == MemberImport.Status.CHECKED and not member_import.valid_rows:
            raise ApplicationError(_("No row of the file can be imported."),
                                   code="nothing_to_import")  # fmt: skip
        claim = MemberImport.objects.filter(
            pk=member_import.pk, checked_at__isnull=False,
            status__in=[MemberImport.Status.CHECKED, MemberImport.Status.FAILED],
        )  # fmt: skip
        if member_import.is_running:
            refused = ApplicationError(_("This import is already running."),
                                       code="import_running")  # fmt: skip
        else:
            refused = ApplicationError(_("Check the file first."), code="import_not_checked")
    now = timezone.now()
    fields: dict[str, Any] = {
        "status": MemberImport.Status.CHECKING if dry_run else MemberImport.Status.IMPORTING,
        "run_token": "", "heartbeat_at": None, "queued_at": now, "error": "", "error_code": "",
        "finished_at": None,
    }  # fmt: skip
    fields["resumes"] = 0  # takeovers are counted per start from the page
    if not written:  # a fresh run (a resumed one keeps what its batches counted)
        fields.update(dict.fromkeys(COUNTS, 0), problems=[], started_at=now, batch_size=None)
    if dry_run:
        fields["checked_at"] = None
    before = {name: getattr(member_import, name) for name in fields}
    if not claim.update(**fields):
        raise refused
    # Sent once the claim is committed (a worker that took the message sooner would not see
    # it). When the broker cannot take it, the claim is undone: nothing changed. (Should this
    # process die in between, beat's resume round sends the message.)
    try:
        enqueue(member_import_run, member_import.pk, dry_run)
    except QueueUnavailable:
        MemberImport.objects.filter(
            pk=member_import.pk, status=fields["status"], run_token="", queued_at=now
        ).update(**before)  # fmt: skip
        raise
    if written:
        audit_record(actor=actor, action="member_import.restart", target=member_import,
                     data=_counts(member_import))  # fmt: skip
    member_import.refresh_from_db()
    return member_import


def member_import_cancel(*, actor: User, member_import: MemberImport) -> MemberImport:
    """Stop a check or an import in progress: its importer may, and so may whoever oversees
    every import (a lead at the national node). The batches already written stay (each is
    whole); the import ends failed, and running it again from its page finishes it. The task
    notices at its next batch or sign of life, and writes nothing more."""
    if not imports_overseen_by(actor):
        _require_own_import(actor, member_import)
    name = {"name": actor.get_full_name()}
    with transaction.atomic():
        stopped = MemberImport.objects.filter(
            pk=member_import.pk,
            status__in=[MemberImport.Status.CHECKING, MemberImport.Status.IMPORTING],
        ).update(
            status=MemberImport.Status.FAILED, run_token="", finished_at=timezone.now(),
            # A check writes nothing: it is checked again, not finished.
            error=Case(
                When(status=MemberImport.Status.CHECKING, then=Value(
                    _("Cancelled by %(name)s. Nothing was written; check the file again.") % name
                )),
                default=Value(_("Cancelled by %(name)s. Batches written so far are complete; "
                                "run the import again from this page to finish it.") % name),
            ),
            error_code="import_cancelled",
        )  # fmt: skip
        if not stopped:
            raise ApplicationError(_("This import is not running."), code="import_not_running")
        member_import.refresh_from_db()
        audit_record(actor=actor, action="member_import.cancel", target=member_import,
                     data=_counts(member_import))  # fmt: skip
    if member_import.checked_at is not None:  # an import (not a check) wrote members
        from groups.tasks import group_figures_refresh_all

        enqueue_or_log(group_figures_refresh_all)  # not in the request: a full recount
    return member_import


COUNTS = ("rows_processed", "created_count", "updated_count", "skipped_count", "rejected_count",
          "warning_count")  # fmt: skip


def member_import_execute(*, import_id: int, dry_run: bool) -> None:
    """The task's work: claim the import, then check or import it, then record the outcome.

    The claim is a compare-and-swap on the import's run token: a message for an import that
    a live task holds (a second delivery) leaves it alone; one for an import whose task went
    silent for MEMBER_IMPORT_STALE_SECONDS (its worker died) takes it over and goes on from
    the last batch written. Problems and messages are in the importer's language."""
    from django.conf import settings

    running = MemberImport.Status.CHECKING if dry_run else MemberImport.Status.IMPORTING
    found = MemberImport.objects.filter(pk=import_id, status=running).values(
        "run_token", "heartbeat_at"
    ).first()  # fmt: skip
    if found is None:
        return  # finished or cancelled (a redelivered message), or never claimed
    now = timezone.now()
    stale_before = now - datetime.timedelta(seconds=settings.MEMBER_IMPORT_STALE_SECONDS)
    previous = found["run_token"]
    if previous and found["heartbeat_at"] is not None and found["heartbeat_at"] >= stale_before:
        return  # a live run holds it
    token = uuid.uuid4().hex
    claim = MemberImport.objects.filter(pk=import_id, status=running, run_token=previous)
    if previous:
        claim = claim.filter(heartbeat_at__lt=stale_before)
    taking_over = bool(previous)
    if not claim.update(run_token=token, heartbeat_at=now,
                        resumes=F("resumes") + int(taking_over)):  # fmt: skip
        return  # another delivery claimed it first
    member_import = MemberImport.objects.select_related("created_by", "default_booth").get(
        pk=import_id
    )
    if taking_over and member_import.resumes > settings.MEMBER_IMPORT_MAX_RESUMES:
        # Its worker died every time (a file that takes it past its memory, say): stop
        # taking it over, and say so; running it again from its page is still possible.
        _fail(member_import, dry_run=dry_run, token=token, code="import_keeps_stopping",
              message=_("The import's worker stopped %(times)s times while running it, so it "
                        "was not started again. Batches written so far are complete; run it "
                        "again from this page, or tell the office if it stops again.")
              % {"times": member_import.resumes})  # fmt: skip
        return
    if taking_over:
        audit_record(
            actor=member_import.created_by,
            action="member_import.resume",
            target=member_import,
            data={"dry_run": dry_run, **_counts(member_import)},
        )
    with translation.override(member_import.language or None):
        _execute(member_import, dry_run=dry_run, token=token)


def _execute(member_import: MemberImport, *, dry_run: bool, token: str) -> None:
    from django.conf import settings

    from members import importing

    import_id = member_import.pk
    claim = importing.Claim(import_id, token)
    if dry_run or not member_import.batches.exists():
        # A check (which writes nothing) taken over starts again; so does an import that had
        # written no batch yet.
        claim.update(**dict.fromkeys(COUNTS, 0), problems=[])
        member_import.refresh_from_db()
    if not dry_run and member_import.batch_size is None:
        member_import.batch_size = max(1, settings.MEMBER_IMPORT_BATCH_SIZE)
        claim.update(batch_size=member_import.batch_size)
    try:
        with importing.Heartbeat(claim) as heartbeat:
            permissions.require_somewhere(member_import.created_by, Action.MEMBER_IMPORT)
            total = importing.count_rows(Path(member_import.file.path), member_import.file_kind)
            if total is not None:
                claim.update(rows_total=total)
            importing.member_import_rows(member_import=member_import, dry_run=dry_run,
                                         claim=claim, heartbeat=heartbeat)  # fmt: skip
    except importing.ClaimLost:
        logger.info("Import %s: its claim was taken (cancelled or taken over); stopped.", import_id)
        return
    except ApplicationError as error:
        _fail(member_import, dry_run=dry_run, token=token, message=error.message, code=error.code)
        return
    except Exception as error:
        _fail(member_import, dry_run=dry_run, token=token, code="import_stopped", message=_(
            "The import stopped (%(error)s). Batches written so far are complete; run it again "
            "from this page to finish it."
        ) % {"error": type(error).__name__})  # fmt: skip
        raise
    if dry_run:
        _finish(import_id, token, MemberImport.Status.CHECKED, checked_at=timezone.now())
        return
    if not _finish(import_id, token, MemberImport.Status.DONE):
        return
    member_import.refresh_from_db()
    audit_record(actor=member_import.created_by, action="member_import.run",
                 target=member_import, data=_counts(member_import))  # fmt: skip
    _figures_refresh_all()


def _counts(member_import: MemberImport) -> dict[str, int]:
    return {name: getattr(member_import, name) for name in COUNTS}


def _fail(member_import: MemberImport, *, dry_run: bool, token: str, message: str,
          code: str) -> None:  # fmt: skip
    """The import ends failed, saying why; the audit keeps how far it got (the rows it wrote:
    whole batches), which a run started again from its page finishes.

    Recorded on a fresh connection when the task's own is gone (the database restarted, or
    the connection was terminated): the import always ends failed or done, never stuck."""
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                if not _finish(member_import.pk, token, MemberImport.Status.FAILED,
                               error=message, error_code=code):  # fmt: skip
                    return  # cancelled or taken over meanwhile: the other side records it
                member_import.refresh_from_db()
                audit_record(
                    actor=member_import.created_by, action="member_import.fail",
                    target=member_import,
                    data={"dry_run": dry_run, "code": code, **_counts(member_import),
                          "rows_written": member_import.created_count
                          + member_import.updated_count},
                )  # fmt: skip
            break
        except DatabaseError:
            if attempt == 2:
                raise  # the database is down: the heartbeat goes silent, and beat resumes it
            connections.close_all()  # the next query opens a fresh connection
    if not dry_run:
        _figures_refresh_all()


def _finish(import_id: int, token: str, status: str, **fields: Any) -> bool:
    """End the run that holds the claim; False when it no longer does."""
    return bool(
        MemberImport.objects.filter(pk=import_id, run_token=token).update(
            status=status, finished_at=timezone.now(), run_token="", **fields
        )
    )


def _figures_refresh_all() -> None:
    """An import touches many trees: recount them all, set-wise, here in the task (a message
    for it could be lost with the broker; beat recounts anyway, later)."""
    from groups.services import group_figures_refresh_all

    try:
        group_figures_refresh_all()
    except DatabaseError:
        logger.exception("Figures recount after an import failed; beat will recount them.")
        connections.close_all()


def member_imports_resume() -> int:
    """Beat's look at imports in progress: one whose task went silent (its worker died), or
    whose message was never taken (the broker lost it), gets its message again, at most once
    per MEMBER_IMPORT_STALE_SECONDS; the task that takes it over resumes the import. Uploads
    whose reading was lost the same way are read again. Returns how many were sent."""
    from django.conf import settings

    from members.tasks import member_import_read, member_import_run

    stale_before = timezone.now() - datetime.timedelta(seconds=settings.MEMBER_IMPORT_STALE_SECONDS)
    silent = MemberImport.objects.filter(
        Q(status__in=[MemberImport.Status.CHECKING, MemberImport.Status.IMPORTING])
        & (Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=stale_before))
        | Q(status=MemberImport.Status.READING),
        Q(queued_at__isnull=True) | Q(queued_at__lt=stale_before),
    ).values_list("pk", "status", "queued_at")
    sent = 0
    for pk, status, queued_at in silent:
        # One sender per import even with two beats (a conditional update).
        if not MemberImport.objects.filter(pk=pk, status=status, queued_at=queued_at).update(
            queued_at=timezone.now()
        ):
            continue
        if status == MemberImport.Status.READING:
            result = enqueue_or_log(member_import_read, pk)
        else:
            result = enqueue_or_log(member_import_run, pk, status == MemberImport.Status.CHECKING)
        if result is None:
            break  # the broker is down: the next round tries again
        logger.info("Import %s (%s): silent, its message sent again.", pk, status)
        sent += 1
    return sent


# A survivor's empty fields are filled from the member merged into it.
MERGE_FILLED_FIELDS = ["name_local", "email", "epic", "whatsapp_number", "gender", "birth_year"]


def member_merge(*, actor: User, source: Member, survivor: Member) -> Member:
    """Merge `source` (a duplicate record of one person) into `survivor`, then delete it.

    Memberships move, except in groups the survivor is already in; posts and recruits move.
    Consents move too, so that their history stays: a live consent of the source for a purpose
    the survivor already has live consent for is withdrawn first (one live consent per purpose).
    The survivor's empty fields are filled from the source; the audit event keeps who the
    source was, since its row is gone.
    """
    permissions.require(actor, Action.MEMBER_MERGE, source.booth)
    permissions.require(actor, Action.MEMBER_MERGE, survivor.booth)
    if source.pk == survivor.pk:
        raise ApplicationError(_("A member cannot be merged into themselves."), code="merge_self")
    visible = selectors.members_visible_to(actor)
    if visible.filter(pk__in=[source.pk, survivor.pk]).count() != 2:
        raise ApplicationError(_("Both members must be in your area."), code="merge_outside_area")
    with transaction.atomic():
        # Locked in a fixed order, so that two merges of the same pair cannot deadlock.
        locked = {
            member.pk: member
            for member in Member.objects.select_for_update().filter(
                pk__in=[source.pk, survivor.pk]
            ).order_by("pk")
        }  # fmt: skip
        if len(locked) != 2:
            raise ApplicationError(
                _("One of the two members was merged or deleted meanwhile."), code="merge_gone"
            )
        source, survivor = locked[source.pk], locked[survivor.pk]
        moved = _merge_related_rows(source, survivor)
        filled = _merge_fill_fields(source, survivor)
        survivor.tags.add(*source.tags.all())
        source_record = {
            "source_id": source.pk, "source_name": source.full_name,
            "source_phone": mask_phone(source.phone), "source_epic": mask_epic(source.epic),
        }  # fmt: skip
        source_tree = source.tree_id
        source.delete()
        survivor.save(update_fields=[*filled, "updated_at"])
        group_figures_stale(source_tree, survivor.tree_id)
        audit_record(
            actor=actor, action="member.merge", target=survivor,
            data={**source_record, "moved": moved, "filled": filled},
        )  # fmt: skip
    return survivor


def _merge_related_rows(source: Member, survivor: Member) -> dict[str, int]:
    survivor_groups = Membership.objects.filter(member=survivor).values("group_id")
    memberships = (
        Membership.objects.filter(member=source)
        .exclude(group_id__in=survivor_groups)
        .update(member=survivor)
    )
    survivor_purposes = Consent.objects.filter(member=survivor, withdrawn_at__isnull=True).values(
        "purpose"
    )
    withdrawn = Consent.objects.filter(
        member=source, withdrawn_at__isnull=True, purpose__in=survivor_purposes
    ).update(withdrawn_at=timezone.now())
    consents = Consent.objects.filter(member=source).update(member=survivor)
    posts = Post.objects.filter(member=source).update(member=survivor)
    recruits = (
        Member.objects.filter(recruited_by=source).exclude(pk=survivor.pk)
        .update(recruited_by=survivor)
    )  # fmt: skip
    return {
        "memberships": memberships, "consents": consents, "consents_withdrawn": withdrawn,
        "posts": posts, "recruits": recruits,
    }  # fmt: skip


def _merge_fill_fields(source: Member, survivor: Member) -> list[str]:
    """Fill the survivor's empty fields from the source; returns the names of those filled."""
    filled = []
    for name in MERGE_FILLED_FIELDS:
        value = getattr(source, name)
        if getattr(survivor, name) in ("", None) and value not in ("", None):
            if name == "whatsapp_number" and value == survivor.phone:
                continue
            setattr(survivor, name, value)
            filled.append(name)
    if "epic" in filled and source.epic_checked_at is not None:
        # The check was of this voter id: it comes with it.
        survivor.epic_checked_at = source.epic_checked_at
        survivor.epic_checked_by_id = source.epic_checked_by_id
        filled += ["epic_checked_at", "epic_checked_by"]
    # Who recruited the source recruited the person; a survivor recruited by the source (or by
    # nobody) takes the source's recruiter, never itself.
    if survivor.recruited_by_id in (None, source.pk):
        recruiter = source.recruited_by_id
        if recruiter == survivor.pk:
            recruiter = None
        if survivor.recruited_by_id != recruiter:
            survivor.recruited_by_id = recruiter
            filled.append("recruited_by")
    return filled
